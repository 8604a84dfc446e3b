"""Cold start of ``mescc assess`` (issue 10: target < 400 ms median).

Runs the installed console script (``.venv/bin/mescc``) N times for the README's example patient,
as text (the default) and as ``--format json``, interleaved, after one warm-up run each (the OS
file cache, never a mescc cache). Reports median, p90 and min wall-clock times, the load average
before and after (the machine is shared: 2 cores, other jobs; the CPU time of each run moves
less with the load than its wall-clock time), and how many modules the process imported.
Measured, never asserted; writes ``benchmarks/results_cold_start.md``.

Run: ``.venv/bin/python benchmarks/cold_start.py [--runs N] [--baseline TEXT]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results_cold_start.md"
EXE = ROOT / ".venv" / "bin" / "mescc"
EXAMPLE = "examples/intermediate_breast.yaml"
COMMANDS = {
    "text": [str(EXE), "assess", EXAMPLE],
    "json": [str(EXE), "assess", EXAMPLE, "--format", "json"],
}
#: Counts the modules a real ``mescc assess`` run imported (printed at exit, to stderr).
_COUNT_MODULES = (
    "import atexit, runpy, sys\n"
    "atexit.register(lambda: print('modules', len(sys.modules), file=sys.stderr))\n"
    "sys.argv = ['mescc', 'assess', sys.argv[1], '--format', 'json']\n"
    "runpy.run_path({exe!r}, run_name='__main__')\n"
)


def _once(cmd: list[str]) -> float:
    """Wall-clock ms of one run (its CPU ms go to ``_CPU``)."""
    env = {**os.environ, "COLUMNS": "100"}
    compare = env.pop("_COLD_START_COMPARE", None)
    if compare is not None and cmd[0] == sys.executable:
        env["PYTHONPATH"] = compare
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    _CPU.setdefault(" ".join(cmd), []).append(cpu * 1000)
    return wall


#: CPU time (user + system, ms) of each run, by command line.
_CPU: dict[str, list[float]] = {}


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def _modules() -> int:
    code = _COUNT_MODULES.format(exe=str(EXE))
    done = subprocess.run(
        [sys.executable, "-c", code, EXAMPLE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return int(done.stderr.split("modules")[-1].split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--baseline", default="", help="a line kept in the results (before)")
    parser.add_argument(
        "--compare-src",
        type=Path,
        help="the src/ folder of another version (e.g. `git archive REV src | tar -x -C DIR`), "
        "started as its console script did (`mescc.cli:main`), measured interleaved",
    )
    args = parser.parse_args()
    if args.compare_src is not None:
        old = [sys.executable, "-c", "import sys; from mescc.cli import main; sys.exit(main())"]
        for name, cmd in list(COMMANDS.items()):
            COMMANDS[f"{name}, {args.compare_src}"] = [*old, *cmd[1:]]
        os.environ["_COLD_START_COMPARE"] = str(args.compare_src.resolve())
    for cmd in COMMANDS.values():
        _once(cmd)  # warm the OS file cache
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, cmd in COMMANDS.items():
            times[name].append(_once(cmd))
    load_after = os.getloadavg()
    modules = _modules()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Cold start of `mescc assess`",
        "",
        f"Written by `benchmarks/cold_start.py` on {now}: {args.runs} runs of each command, "
        f"interleaved, after one warm-up run each. Machine: {platform.machine()}, "
        f"{os.cpu_count()} cores (shared), Python {platform.python_version()}. Load average "
        f"(1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after. Target: median "
        "< 400 ms. Indicative on a shared machine; never asserted in tests.",
        "",
        "| command | median | p90 | min | CPU time, median |",
        "|---|---|---|---|---|",
    ]
    for name, cmd in COMMANDS.items():
        shown = " ".join(["mescc", *(cmd[3:] if cmd[0] == sys.executable else cmd[1:])])
        values = times[name]
        lines.append(
            f"| `{shown}` ({name}) | {statistics.median(values):.0f} ms | "
            f"{_p90(values):.0f} ms | {min(values):.0f} ms | "
            f"{statistics.median(_CPU[' '.join(cmd)][1:]):.0f} ms |"
        )
    compiled = len(list((ROOT / "src" / "mescc").rglob("__pycache__/*.pyc")))
    lines += [
        "",
        f"Modules imported by one `--format json` run: {modules}. Bytecode files under "
        f"src/mescc: {compiled} (`make` compiles them at install; without them, as with "
        "PYTHONDONTWRITEBYTECODE=1 on a fresh checkout, every start compiles the package "
        "from source, about 80 ms more here). PYTHONDONTWRITEBYTECODE: "
        f"{os.environ.get('PYTHONDONTWRITEBYTECODE') or 'not set'}.",
    ]
    if args.baseline:
        lines += ["", f"Before: {args.baseline}"]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
