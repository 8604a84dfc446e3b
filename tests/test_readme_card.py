"""The README's CDS Hooks card is the real output of the service's card function."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_readme_card_is_generated_from_real_output() -> None:
    spec = importlib.util.spec_from_file_location("readme_card", REPO / "scripts/readme_card.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.current() == module.section(), (
        "README.md's CDS Hooks card is out of date: run .venv/bin/python scripts/readme_card.py"
    )
