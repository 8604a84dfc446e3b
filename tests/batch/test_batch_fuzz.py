"""A bounded fuzz of ``mescc batch`` (issue 9): malformed CSV and parquet inputs.

Asserts for every generated input: exit 0 or 2 only, no traceback, and no bad value ever
scored (every row without ``input_error`` is a patient ``Patient.from_data`` accepts). The
bigger run's counts are in ``benchmarks/results_fuzz_batch.md`` (``benchmarks/fuzz_batch.py``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fuzz_inputs import batch_inputs, check_run
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from mescc.cli import app


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch_inputs)
def test_batch_fuzz(case: tuple[str, bytes]) -> None:
    suffix, data = case
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"in{suffix}"
        src.write_bytes(data)
        out = Path(tmp) / "out.csv"
        result = CliRunner().invoke(app, ["batch", str(src), "-o", str(out)])
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(
            result.exception
        )
        check_run(src, out, result.exit_code, result.output)
