"""The README's example output is the real output of ``mescc assess`` (never edited by hand)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "readme_example.py"


def test_readme_example_is_the_real_output() -> None:
    spec = importlib.util.spec_from_file_location("readme_example", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = module.README.read_text(encoding="utf-8")
    assert current == module.readme_with(module.example_output()), (
        "README.md example is stale: run .venv/bin/python scripts/readme_example.py"
    )
