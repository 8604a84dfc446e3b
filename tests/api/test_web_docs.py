"""docs/web.md documents every setting of the service and every service command."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.main import get_command

from mescc.api.cli import register
from mescc.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "web.md"
INTERNAL = {"start_checks_done", "host", "port"}  # set by `serve` itself / its options


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [
        f"MESCC_{name.upper()}"
        for name in Settings.model_fields
        if name not in INTERNAL and f"`MESCC_{name.upper()}`" not in text
    ]
    assert not missing, f"add {missing} to the settings table of docs/web.md"


def test_every_service_command_is_documented() -> None:
    app = typer.Typer()
    register(app)
    group = get_command(app)
    text = DOC.read_text(encoding="utf-8")
    missing = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        for sub in getattr(command, "commands", {}) or {}:
            if f"mescc {name} {sub}" not in text and f"`{sub} " not in text:
                missing.append(f"mescc {name} {sub}")
    assert not missing, f"document {missing} in docs/web.md"
