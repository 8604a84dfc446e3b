"""Availability under abuse, over loopback: does ``/health`` and a normal create stay responsive?

Starts a real ``mescc serve`` (uvicorn, one worker, SQLite in WAL mode with synchronous=FULL,
the header guards of ``mescc.api.server``) on a fresh database and runs four bounded phases,
probing all the while with one ``GET /health`` on a new connection and one
``POST /api/v1/assessments`` (keep-alive) every 100 ms:

1. ``baseline``: nothing else.
2. ``idle flood``: an attacker keeps 21,000 connections open, each having sent a partial
   request header and then nothing; whatever the server closes is reopened at once.
3. ``4 PDF clients``: four clients fetch PDF reports in a loop (WeasyPrint, ~3 s of CPU each,
   in the renderer pool; issue 9 measured create latency 383 ms when it ran in the server).
4. ``abusive clients``: the four PDF clients, plus one client streaming a 64 MB header and one
   posting 176 KB bodies of 12,000 unknown keys in a loop.

Results go to ``benchmarks/results_availability.md``. Loopback only; every loop is bounded in
count and time. Nothing here is asserted.

    .venv/bin/python benchmarks/availability.py [--flood 21000] [--seconds 25]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results_availability.md"
PROBE_INTERVAL_S = 0.1
PROBE_TIMEOUT_S = 10.0
PARTIAL = b"GET /health HTTP/1.1\r\nHost: bench\r\nX-Slow: "
PATIENT = {
    "id": "avail",
    "age_years": 64,
    "primary_tumor": "breast",
    "ambulatory_status": "ambulatory_without_aid",
    "ecog": 1,
    "motor_deficit_days": 10,
    "visceral_metastases": False,
    "other_bone_metastases": True,
    "escc_grade": "2",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raise_file_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limits in ((wanted, max(hard, wanted)), (min(wanted, hard), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, limits)
            return limits[0]
        except (ValueError, OSError):
            continue
    return soft


def prepare(database_url: str, data_dir: Path) -> str:
    from mescc.api import accounts
    from mescc.api.database import create_db_engine, create_session_factory, migrate
    from mescc.settings import Settings

    settings = Settings(database_url=database_url, data_dir=data_dir)
    engine = create_db_engine(database_url)
    migrate(engine, audit_key=settings.audit_chain_key())
    with create_session_factory(engine)() as session:
        accounts.create_user(session, "avail", "benchmark-password")
        token = accounts.create_token(session, "avail", "availability benchmark")
    engine.dispose()
    return token


def start_server(database_url: str, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MESCC_DATABASE_URL": database_url,
        "MESCC_DATA_DIR": str(data_dir),
        "MESCC_SECRET_KEY": "benchmark-secret",
        "MESCC_SECURE_COOKIES": "false",
    }
    command = [sys.executable, "-m", "mescc.api", "serve", "--port", str(port), "--no-access-log"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("server did not start")


@dataclass
class Probes:
    health_ms: list[float] = field(default_factory=list)
    create_ms: list[float] = field(default_factory=list)
    health_errors: int = 0
    create_errors: int = 0


def _health_once(port: int) -> float | None:
    """One GET /health on a new connection; latency in ms (connect included) or None."""
    start = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT_S) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            answer = b""
            while b"\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
    except OSError:
        return None
    if not answer.startswith(b"HTTP/1.1 200"):
        return None
    return (time.perf_counter() - start) * 1000


def probe(port: int, token: str, seconds: float, probes: Probes) -> None:
    body = orjson.dumps(PATIENT)
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
    deadline = time.monotonic() + seconds
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=PROBE_TIMEOUT_S
    ) as client:
        while time.monotonic() < deadline:
            tick = time.monotonic()
            latency = _health_once(port)
            if latency is None:
                probes.health_errors += 1
            else:
                probes.health_ms.append(latency)
            start = time.perf_counter()
            try:
                ok = client.post("/api/v1/assessments", content=body).status_code == 201
            except httpx.HTTPError:
                ok = False
            if ok:
                probes.create_ms.append((time.perf_counter() - start) * 1000)
            else:
                probes.create_errors += 1
            time.sleep(max(0.0, PROBE_INTERVAL_S - (time.monotonic() - tick)))


@dataclass
class FloodStats:
    opened: int = 0
    closed_by_server: int = 0
    connect_errors: int = 0
    peak_open: int = 0


def idle_flood(port: int, target: int, seconds: float, stats: FloodStats) -> None:
    """Keep ``target`` partial-header connections open; reopen what the server closes."""
    selector = selectors.DefaultSelector()
    open_now = 0
    deadline = time.monotonic() + seconds

    def open_one() -> None:
        nonlocal open_now
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        if sock.connect_ex(("127.0.0.1", port)) not in (0, 115):  # EINPROGRESS
            stats.connect_errors += 1
            sock.close()
            return
        selector.register(sock, selectors.EVENT_WRITE)
        open_now += 1
        stats.opened += 1

    while time.monotonic() < deadline:
        burst = 0
        while open_now < target and burst < 500 and time.monotonic() < deadline:
            try:
                open_one()
            except OSError:
                stats.connect_errors += 1
                break
            burst += 1
        stats.peak_open = max(stats.peak_open, open_now)
        for key, mask in selector.select(timeout=0.05):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if mask & selectors.EVENT_WRITE:
                try:
                    sock.send(PARTIAL)
                    selector.modify(sock, selectors.EVENT_READ)
                except OSError:
                    selector.unregister(sock)
                    sock.close()
                    open_now -= 1
                continue
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                stats.closed_by_server += 1
                selector.unregister(sock)
                sock.close()
                open_now -= 1
    for key in list(selector.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]
    selector.close()


def flood_process(port: int, target: int, seconds: float, results: Any) -> None:
    raise_file_limit(target + 512)
    stats = FloodStats()
    idle_flood(port, target, seconds, stats)
    results.put(stats)


def big_header(port: int, seconds: float, outcome: list[str]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sent = 0
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
                chunk = b"a" * 65536
                while sent < 64 * 1024 * 1024 and time.monotonic() < deadline:
                    sock.sendall(chunk)
                    sent += len(chunk)
                answer = sock.recv(64)
        except OSError:
            answer = b"(reset)"
        outcome.append(f"{sent // 1024} KiB sent, answer {answer[:12]!r}")


def unknown_keys(port: int, token: str, seconds: float, statuses: list[int]) -> None:
    body = orjson.dumps({f"k{n:05d}": n for n in range(12_000)})  # ~176 KB
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
        while time.monotonic() < deadline:
            try:
                statuses.append(client.post("/api/v1/assessments", content=body).status_code)
            except httpx.HTTPError:
                statuses.append(0)


def pdf_client(
    port: int, token: str, seconds: float, assessment_id: int, statuses: list[int]
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client:
        while time.monotonic() < deadline:
            try:
                response = client.get(f"/api/v1/assessments/{assessment_id}/report.pdf")
                statuses.append(response.status_code)
                if response.status_code == 503:
                    time.sleep(0.5)
            except httpx.HTTPError:
                statuses.append(0)


def summary(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{statistics.median(ordered):.1f} / {ordered[int(len(ordered) * 0.9)]:.1f} / "
        f"{p99:.1f} / {ordered[-1]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flood", type=int, default=21_000)
    parser.add_argument("--seconds", type=float, default=25.0)
    args = parser.parse_args()
    client_limit = raise_file_limit(args.flood + 1024)
    flood_target = args.flood

    rows: list[tuple[str, Probes, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        database_url = f"sqlite:///{data_dir / 'avail.sqlite3'}"
        token = prepare(database_url, data_dir)
        port = free_port()
        server = start_server(database_url, data_dir, port)
        try:
            base = Probes()
            probe(port, token, min(10.0, args.seconds), base)
            rows.append(("baseline", base, "nothing else running"))

            # One attacker process per file-limit's worth of sockets.
            per_process = max(1, client_limit - 512)
            shares = [per_process] * (flood_target // per_process)
            if flood_target % per_process:
                shares.append(flood_target % per_process)
            context = multiprocessing.get_context("spawn")
            results: Any = context.Queue()
            attackers = [
                context.Process(target=flood_process, args=(port, share, args.seconds + 5, results))
                for share in shares
            ]
            for attacker in attackers:
                attacker.start()
            time.sleep(5)  # let the flood build up before probing
            during = Probes()
            probe(port, token, args.seconds, during)
            flood = FloodStats()
            for _ in attackers:
                part = results.get(timeout=120)
                flood.opened += part.opened
                flood.closed_by_server += part.closed_by_server
                flood.connect_errors += part.connect_errors
                flood.peak_open += part.peak_open
            for attacker in attackers:
                attacker.join(60)
            rows.append(
                (
                    f"idle flood ({flood_target:,} partial-header connections)",
                    during,
                    f"peak {flood.peak_open:,} open; {flood.opened:,} opened, "
                    f"{flood.closed_by_server:,} closed by the server (408 at the header "
                    f"deadline or shed as oldest), {flood.connect_errors} connect errors",
                )
            )

            created = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/assessments",
                json=PATIENT,
                headers={"Authorization": f"Bearer {token}"},
            ).json()["id"]
            for phase in ("pdf", "abusive"):
                big: list[str] = []
                keys: list[int] = []
                pdfs: list[int] = []
                abusers = [
                    threading.Thread(
                        target=pdf_client, args=(port, token, args.seconds, created, pdfs)
                    )
                    for _ in range(4)
                ]
                if phase == "abusive":
                    abusers += [
                        threading.Thread(target=big_header, args=(port, args.seconds, big)),
                        threading.Thread(
                            target=unknown_keys, args=(port, token, args.seconds, keys)
                        ),
                    ]
                for thread in abusers:
                    thread.start()
                abused = Probes()
                probe(port, token, args.seconds - 1, abused)
                for thread in abusers:
                    thread.join()
                pdf_note = (
                    f"PDFs: {pdfs.count(200)} rendered, {pdfs.count(503)} refused 503 (queue full)"
                )
                if phase == "pdf":
                    rows.append(("4 PDF clients", abused, pdf_note))
                    continue
                rows.append(
                    (
                        "abusive clients (64 MB header, 12,000-key bodies, 4 PDF clients)",
                        abused,
                        f"64 MB header: {big[0] if big else '-'} ({len(big)} tries); "
                        f"12,000-key bodies: {len(keys)} answered "
                        f"{sorted(set(keys))}; {pdf_note}",
                    )
                )
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()

    lines = [
        "# Availability under abuse (loopback)",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} cores, shared), Python {platform.python_version()}; "
        "`mescc serve` with one worker, SQLite (WAL, synchronous=FULL), default settings "
        "(header deadline 10 s, 32 KiB headers, 20,000 connections, PDF pool 1 + queue 4). "
        "The attacker and the probes run on the same two cores as the server. Produced by "
        "`benchmarks/availability.py`; nothing is asserted.",
        "",
        "Probes every 100 ms: `GET /health` on a new connection (connect included) and a "
        "`POST /api/v1/assessments` on a keep-alive connection. Latency in ms, "
        "p50 / p90 / p99 / max.",
        "",
        "| phase | /health | health failures | create | create failures | notes |",
        "|---|---|---|---|---|---|",
    ]
    for name, probes, notes in rows:
        lines.append(
            f"| {name} | {summary(probes.health_ms)} | {probes.health_errors} of "
            f"{len(probes.health_ms) + probes.health_errors} | {summary(probes.create_ms)} | "
            f"{probes.create_errors} of {len(probes.create_ms) + probes.create_errors} | "
            f"{notes} |"
        )
    lines += [
        "",
        f"The idle flood ran in {len(shares)} attacker process(es) (open-file limit "
        f"{client_limit:,} each); the server's own limit is the same, so it holds at most "
        "`MESCC_MAX_CONNECTIONS` (20,000, lowered to fit the limit) and sheds the oldest "
        "header-incomplete connection beyond that. Peak open is the attackers' sum.",
    ]
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
