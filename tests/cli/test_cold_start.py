"""The ``mescc assess`` path imports none of the heavy libraries (the cold start stays low).

Times are measured by ``benchmarks/cold_start.py``, never here: this checks what a real
``mescc assess`` process imports, in a subprocess started like the console script.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "intermediate_breast.yaml"
HEAVY = (
    "polars",
    "pyarrow",
    "fastapi",
    "starlette",
    "sqlalchemy",
    "fhir",
    "weasyprint",
    "matplotlib",
    "lifelines",
    "sklearn",
    "sksurv",
    "scipy",
    "pandas",
    "numpy",
    "uvicorn",
    "mescc.api",
)
#: Runs ``mescc._start.main`` (what the console script runs) and reports the modules loaded.
PROBE = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))
sys.argv = ["mescc", *sys.argv[1:]]
from mescc._start import main
main()
"""


def _imported(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return {m.split(".")[0] for m in modules} | set(modules)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_assess_imports_no_heavy_library(fmt: str) -> None:
    imported = _imported("assess", str(EXAMPLE), "--format", fmt)
    assert "mescc.assessment" in imported  # the probe really assessed
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


def test_the_console_script_starts_in_the_small_entry_module() -> None:
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'mescc = "mescc._start:main"' in text


def test_only_the_command_that_runs_is_built() -> None:
    from mescc.cli import build_app

    one = build_app("assess")
    assert [c.callback.__name__ for c in one.registered_commands if c.callback] == ["assess"]
    full = build_app(None)
    names = {
        c.name or (c.callback.__name__ if c.callback else "") for c in full.registered_commands
    }
    assert {"assess", "instruments", "serve"} <= names


def test_other_commands_still_run_through_the_entry_module() -> None:
    imported = _imported("dose", "--fractions", "5", "--dose-per-fraction", "4")
    assert "mescc.dose" in imported or "mescc.document" in imported
    assert not imported & {"polars", "fastapi", "mescc.api.cli"}


@pytest.mark.parametrize(
    ("args", "code", "shown"),
    [
        (
            ["--allow-site-derived", "dose", "--fractions", "1", "--dose-per-fraction", "8"],
            0,
            "BED",
        ),
        (["kb", "check", "absent.yaml"], 2, "absent.yaml: cannot read"),
        (["nosuch"], 2, "No such command 'nosuch'"),
        (["serve", "--help"], 0, "--limit-concurrency"),
    ],
)
def test_the_entry_module_runs_every_kind_of_command(
    args: list[str], code: int, shown: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys; sys.argv[0] = 'mescc'; "
         "from mescc._start import main; main()", *args],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    assert shown in done.stdout + done.stderr
