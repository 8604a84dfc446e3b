"""A bigger fuzz of ``mescc batch`` than the test suite's; writes benchmarks/results_fuzz_batch.md.

The same generator and oracle as ``tests/batch/test_batch_fuzz.py`` (``tests/batch/
fuzz_inputs.py``): malformed CSV and parquet inputs; every run must exit 0 or 2, never print a
traceback, and never score a bad value. Run: ``.venv/bin/python benchmarks/fuzz_batch.py [N]``.
"""

from __future__ import annotations

import collections
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "batch"))

from fuzz_inputs import batch_inputs, check_run  # noqa: E402

from mescc.cli import app  # noqa: E402

LAST_RESORT = "refused by the CLI's last-resort handler (an unforeseen reader error)"


def main(n: int) -> None:
    counts: collections.Counter[str] = collections.Counter()
    defects: list[str] = []

    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(batch_inputs)
    def one(case: tuple[str, bytes]) -> None:
        suffix, data = case
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / f"in{suffix}"
            src.write_bytes(data)
            out = Path(tmp) / ("out.csv" if len(data) % 2 else "out.parquet")
            result = CliRunner().invoke(app, ["batch", str(src), "-o", str(out)])
            counts[f"inputs ({suffix})"] += 1
            counts["inputs"] += 1
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                counts["tracebacks"] += 1
                defects.append(f"{suffix}: {result.exception!r}")
                return
            try:
                outcome, scored, flagged = check_run(src, out, result.exit_code, result.output)
            except AssertionError as exc:
                counts["defects"] += 1
                defects.append(f"{suffix}: {str(exc)[:300]}")
                return
            if "could not be processed" in result.output:
                counts[LAST_RESORT] += 1
                defects.append(f"{suffix}: last-resort handler: {result.output.strip()[:200]}")
            counts[
                f"exit 2 (refused with one message), {suffix}"
                if outcome == "refused"
                else f"exit 0, {suffix}"
            ] += 1
            counts["rows scored (all valid)"] += scored
            counts["rows flagged with input_error"] += flagged

    t0 = time.perf_counter()
    one()
    elapsed = time.perf_counter() - t0
    lines = [
        "# Batch fuzz results",
        "",
        f"Written by `benchmarks/fuzz_batch.py {n}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} ({elapsed:.0f} s).",
        "Generator and oracle: `tests/batch/fuzz_inputs.py` (malformed CSV and parquet: NaN, inf,",
        "1e400, 20-digit and uint64-max integers, booleans other than true/false, formula cells,",
        "control characters, ragged rows, unbalanced quotes, non-UTF-8 and UTF-16 bytes, truncated",
        "files, repeated and unknown columns, list/binary/duration/struct/date parquet columns).",
        "Oracle: exit 0 or 2 only, no traceback, every row without `input_error` a valid patient.",
        "",
        "| count | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in sorted(counts.items())),
        f"| tracebacks | {counts['tracebacks']} |" if "tracebacks" not in counts else "",
        f"| {LAST_RESORT} | {counts[LAST_RESORT]} |",
        f"| bad values scored / other defects | {counts['defects']} |",
        "",
    ]
    if defects:
        lines += ["## Defects", "", *(f"- {d}" for d in defects[:50]), ""]
    text = "\n".join(lines)
    (ROOT / "benchmarks" / "results_fuzz_batch.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
