"""A bounded, deterministic fuzz of ``mescc assess`` (issue 9, "How it is checked").

Generated inputs (``tests/input_fuzz.py``): JSON and YAML files and standard input, in UTF-8,
UTF-8 with BOM, UTF-16 with BOM and refused encodings, with deep nesting, huge numbers,
duplicate keys, nulls in lists, YAML 1.1 quirks, tags and aliases, hidden characters ... Each
input carries the verdict of an independent oracle (valid by construction, or with a known
defect). Asserted for every input: no traceback (no exception escapes the command), exit 0
or 2 only, exit 0 exactly when the oracle says valid, and then the patient echoed back is
exactly the input (no value dropped, defaulted or altered): no bad value is ever scored.
The larger run is ``benchmarks/fuzz_input.py`` (counts in ``benchmarks/results_fuzz_input.md``).
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from input_fuzz import Case, generate_case
from mescc.cli import app

RUNNER = CliRunner()
HIDDEN_OUTPUT = ("\x1b", "\u202e", "\u2066", "\x00", "\x9b")


def run_case(case: Case, folder: Path) -> tuple[int, str, str, BaseException | None]:
    """Exit code, stdout, stderr and any exception that escaped ``mescc assess``."""
    if case.name == "-":
        result = RUNNER.invoke(app, ["assess", "-", "--format", "json"], input=case.data)
    else:
        path = folder / case.name
        path.write_bytes(case.data)
        result = RUNNER.invoke(app, ["assess", str(path), "--format", "json"])
    escaped = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.stdout, result.stderr, escaped


def check_case(case: Case, folder: Path) -> None:
    code, stdout, stderr, escaped = run_case(case, folder)
    label = f"{case.defects or 'valid'} {case.name} {case.data[:120]!r}"
    assert escaped is None, f"{label}: {escaped!r} escaped (a traceback)"
    assert "Traceback" not in stderr, label
    assert code in (0, 2), f"{label}: exit {code}: {stderr[:300]}"
    if code == 0:
        assert case.valid, f"{label}: a bad input was scored"
        assert json.loads(stdout)["patient"] == case.expected, f"{label}: input altered"
    else:
        assert not case.valid, f"{label}: a valid input was refused: {stderr[:300]}"
        lines = stderr.splitlines()
        assert lines and len(lines) <= 51, label
        assert all(len(line) < 1200 for line in lines), label
        assert not any(h in stderr for h in HIDDEN_OUTPUT), f"{label}: raw hidden character"


@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.randoms(use_true_random=False))
def test_generated_inputs_never_crash_and_no_bad_value_is_scored(rng: random.Random) -> None:
    with tempfile.TemporaryDirectory() as folder:
        check_case(generate_case(rng), Path(folder))


def test_the_generator_makes_both_verdicts_and_every_defect() -> None:
    # The fuzz is only as good as its inputs: both verdicts and every defect class occur.
    from input_fuzz import BYTE_DEFECTS, DOCUMENT_DEFECTS

    rng = random.Random(9)
    cases = [generate_case(rng) for _ in range(600)]
    valid = sum(c.valid for c in cases)
    assert 100 < valid < 500
    seen = {d for c in cases for d in c.defects}
    assert seen >= set(DOCUMENT_DEFECTS) | set(BYTE_DEFECTS), sorted(
        (set(DOCUMENT_DEFECTS) | set(BYTE_DEFECTS)) - seen
    )
