"""Load benchmark of assessment creation (``POST /api/v1/assessments``) over loopback.

Starts a real ``mescc serve`` (uvicorn, one worker) on a fresh database, then offers an
open-loop load at increasing rates; each rate runs for a fixed time. Latency is measured from
the moment a request was *scheduled* to be sent, so a server that falls behind is charged for
the queueing it causes (no coordinated omission). Results go to ``benchmarks/results_api.md``.

    .venv/bin/python benchmarks/load_api.py                      # SQLite (WAL, synchronous=FULL)
    .venv/bin/python benchmarks/load_api.py --database-url postgresql+psycopg://...

Only loopback is used; every loop is bounded in count and time. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import uvloop
import yaml

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results_api.md"
REQUEST_TIMEOUT_S = 10.0  # a request not answered by then counts as an error

PATIENT = {
    "id": "bench",
    "age_years": 64,
    "sex": "female",
    "primary_tumor": "breast",
    "months_from_cancer_diagnosis": 30,
    "other_bone_metastases": True,
    "visceral_metastases": False,
    "ambulatory_status": "ambulatory_without_aid",
    "motor_deficit_days": 10,
    "ecog": 1,
    "kps": 80,
    "escc_grade": "2",
    "sins": {"location": "semirigid", "pain": "mechanical", "bone_lesion": "mixed"},
    "preferences": {"priority": "balanced", "surgery_acceptable": True},
}
# The load cycles through this record (several inputs missing, so the decisive-unknown search
# has work to do) and every example patient, earlier radiotherapy included.
PATIENTS = [
    PATIENT,
    *(
        yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted((REPO / "examples").glob("*.yaml"))
    ),
]


@dataclass
class Step:
    rate: float
    sent: int
    ok: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    server_cpu_s: float = float("nan")
    client_cpu_s: float = float("nan")

    def cpu_ms_per_request(self, cpu_s: float) -> float:
        return cpu_s * 1000 / self.ok if self.ok else float("nan")

    def pct(self, q: float) -> float:
        data = sorted(self.latencies_ms)
        if not data:
            return float("nan")
        index = min(len(data) - 1, max(0, round(q / 100 * len(data)) - 1))
        return data[index]


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its descendants (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += stats.get(current, (0, 0.0))[1]
        todo.extend(child for child, (parent, _) in stats.items() if parent == current)
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(database_url: str) -> str:
    from mescc.api import accounts
    from mescc.api.database import create_db_engine, create_session_factory, migrate

    engine = create_db_engine(database_url)
    migrate(engine)
    with create_session_factory(engine)() as session:
        name = f"bench-{os.getpid()}-{int(time.time())}"
        accounts.create_user(session, name, "benchmark-password")
        token = accounts.create_token(session, name, "load benchmark")
    engine.dispose()
    return token


def serve_with_stub_engine(port: int) -> None:
    """Run ``serve`` with ``assessment_document`` replaced by a precomputed document.

    Measures the service alone (HTTP, token, JSON, audit commit), without the engine's cost.
    """
    import copy

    from mescc import document
    from mescc.api.cli import serve

    fixed = document.assessment_document(PATIENT)

    def stub(data: object, **_kwargs: object) -> dict[str, object]:
        return copy.copy(fixed)

    document.assessment_document = stub  # type: ignore[assignment]
    serve(host="127.0.0.1", port=port, access_log=False)


def start_server(
    database_url: str, data_dir: Path, port: int, workers: int, stub_engine: bool = False
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MESCC_DATABASE_URL": database_url,
        "MESCC_DATA_DIR": str(data_dir),
        "MESCC_SECRET_KEY": "benchmark-secret",
    }
    command = [
        sys.executable,
        "-m",
        "mescc.api",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
    ]
    if stub_engine:
        command = [sys.executable, str(Path(__file__).resolve()), "--serve-stub", str(port)]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("server did not start")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def engine_time_ms(rounds: int = 20) -> float:
    """Median time of the library's assessment_document over the load's patients, in-process."""
    from mescc.document import assessment_document

    times = []
    for patient in PATIENTS:
        assessment_document(patient)
        for _ in range(rounds):
            start = time.perf_counter()
            assessment_document(patient)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


class Client:
    """A minimal HTTP/1.1 keep-alive client for the load generator (asyncio streams).

    The generator shares the two cores with the server, so it must cost little: httpx spent
    about 2 ms of CPU per request here. This one writes pre-encoded requests, reads the status
    line, the headers and ``Content-Length`` bytes, and reuses idle connections. It speaks only
    to this server (uvicorn always sends ``Content-Length``).
    """

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.head = (
            "POST /api/v1/assessments HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\n"
        ).encode()
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, body: bytes) -> int:
        """Send one request; the response status (the body is read and dropped)."""
        request = self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body
        reused = bool(self.idle)
        reader, writer = (
            self.idle.pop() if reused else await asyncio.open_connection(self.host, self.port)
        )
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
        except (ConnectionError, asyncio.IncompleteReadError):
            writer.close()
            if not reused:
                raise
            return await self.post(body)  # an idle connection the server had closed: retry once
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in lines[1:]
            if line[:15].lower() == b"content-length:"
        )
        await reader.readexactly(length)
        self.idle.append((reader, writer))
        return status

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


def request_bodies(count: int) -> list[bytes]:
    """One JSON body per request, cycling through the patients (each with its own id)."""
    return [orjson.dumps({**PATIENTS[i % len(PATIENTS)], "id": f"bench-{i}"}) for i in range(count)]


async def run_step(host: str, port: int, token: str, rate: float, seconds: float) -> Step:
    client = Client(host, port, token)
    latencies: list[float] = []
    errors = 0
    count = int(rate * seconds)
    bodies = request_bodies(count)

    async def one(index: int, scheduled: float) -> None:
        nonlocal errors
        try:
            status = await asyncio.wait_for(client.post(bodies[index]), REQUEST_TIMEOUT_S)
            if status == 201:
                latencies.append((time.perf_counter() - scheduled) * 1000)
            else:
                errors += 1
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            errors += 1

    start = time.perf_counter() + 0.05
    tasks = []
    for index in range(count):
        scheduled = start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    client.close()
    return Step(rate, count, len(latencies), errors, elapsed, latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--rates", default="10,20,50,100,200", help="req/s, comma-separated")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each rate")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--stub-engine",
        action="store_true",
        help="replace assessment_document by a precomputed document (the service alone)",
    )
    parser.add_argument("--append", action="store_true", help="append to the output file")
    parser.add_argument("--serve-stub", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stub:
        serve_with_stub_engine(args.serve_stub)
        return
    if args.stub_engine and args.workers != 1:
        parser.error("--stub-engine patches one process: use --workers 1")

    engine_ms = engine_time_ms()
    print(f"assessment_document alone: median {engine_ms:.2f} ms", flush=True)
    steps = []
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        database_url = args.database_url or f"sqlite:///{data_dir / 'bench.sqlite3'}"
        token = prepare(database_url)
        for rate in [float(r) for r in args.rates.split(",")]:
            # A fresh server per rate, so a backlog left by a saturated step cannot leak on.
            port = free_port()
            server = start_server(database_url, data_dir, port, args.workers, args.stub_engine)
            try:
                uvloop.run(run_step("127.0.0.1", port, token, 20, 1))  # warm-up, not reported
                server_cpu, client_cpu = tree_cpu_seconds(server.pid), time.process_time()
                step = uvloop.run(run_step("127.0.0.1", port, token, rate, args.seconds))
                step.server_cpu_s = tree_cpu_seconds(server.pid) - server_cpu
                step.client_cpu_s = time.process_time() - client_cpu
            finally:
                stop_server(server)
            steps.append(step)
            print(
                f"{rate:>6.0f} req/s offered: {step.ok / step.seconds:7.1f} req/s done, "
                f"p50 {step.pct(50):8.2f} ms, p99 {step.pct(99):8.2f} ms, "
                f"errors {step.errors}, CPU ms/request server "
                f"{step.cpu_ms_per_request(step.server_cpu_s):.2f} "
                f"client {step.cpu_ms_per_request(step.client_cpu_s):.2f}",
                flush=True,
            )
    write_report(
        args.output,
        database_url,
        args.seconds,
        args.workers,
        engine_ms,
        steps,
        stub_engine=args.stub_engine,
        append=args.append,
    )


def write_report(
    path: Path,
    database_url: str,
    seconds: float,
    workers: int,
    engine_ms: float,
    steps: list[Step],
    *,
    stub_engine: bool = False,
    append: bool = False,
) -> None:
    backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite (WAL, FULL)"
    title = "The service alone (engine stubbed)" if stub_engine else "With the real engine"
    lines = [
        *([] if append else ["# Load benchmark: POST /api/v1/assessments", ""]),
        f"## {title}: {workers} worker(s), {backend}",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `benchmarks/load_api.py` on "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"`mescc serve` (uvicorn, {workers} worker(s), access log off) on {backend}; the load "
        "generator "
        "(a minimal asyncio HTTP/1.1 client with keep-alive, uvloop, same machine) shares the "
        "cores with the server; it cycles through the example patients and one record with "
        "missing inputs.",
        "",
        "Open-loop load over loopback: requests are sent on a fixed schedule whatever the "
        "server's pace, and latency is counted from the scheduled send time. Each request "
        "authenticates a bearer token, validates and assesses one patient (instruments and "
        "plan), and commits the audit row (fsync) before the 201 is sent. CPU per request is "
        "user + system time of the server's processes (and of the load generator) over the "
        "step, divided by the completed requests.",
        "",
        *(
            [
                "The PostgreSQL server runs on the same 2 cores; its processes are not counted "
                "in the server CPU column.",
                "",
            ]
            if backend == "PostgreSQL"
            else []
        ),
        f"Each rate runs {seconds:g} s on a freshly started server; a request not answered "
        f"within {REQUEST_TIMEOUT_S:g} s counts as an error.",
        "",
        (
            "Here `assessment_document` is replaced inside the server by a precomputed document "
            f"(the real call takes {engine_ms:.2f} ms): what remains is the service itself "
            "(HTTP, token check, JSON of a ~130 KB document, the audit commit with fsync)."
            if stub_engine
            else f"For scale: the library call `assessment_document` alone takes "
            f"{engine_ms:.2f} ms (median over the same patients, in-process); everything above "
            "that is the service (HTTP, token check, JSON, the audit commit) plus queueing."
        ),
        "",
        "| offered req/s | completed req/s | requests | errors "
        "| p50 ms | p90 ms | p99 ms | max ms | server CPU ms/req | client CPU ms/req |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in steps:
        lines.append(
            f"| {s.rate:.0f} | {s.ok / s.seconds:.1f} | {s.sent} | {s.errors} | "
            f"{s.pct(50):.2f} | {s.pct(90):.2f} | {s.pct(99):.2f} | "
            f"{max(s.latencies_ms, default=float('nan')):.2f} | "
            f"{s.cpu_ms_per_request(s.server_cpu_s):.2f} | "
            f"{s.cpu_ms_per_request(s.client_cpu_s):.2f} |"
        )
    mean = [statistics.fmean(s.latencies_ms) for s in steps if s.latencies_ms]
    lines += ["", f"Mean latency per step (ms): {', '.join(f'{m:.2f}' for m in mean)}.", ""]
    text = "\n".join(lines)
    if append and path.exists():
        text = path.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + text
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
