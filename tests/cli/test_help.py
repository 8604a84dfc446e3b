"""Every command's ``--help`` is readable at 80 columns: nothing cut, nothing past the edge."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from mescc.cli import build_app


def _commands() -> list[tuple[list[str], Any]]:
    """Every command and group of the full ``mescc`` app, as (argv path, click command)."""
    root = typer.main.get_command(build_app())
    found: list[tuple[list[str], Any]] = []

    def walk(path: list[str], command: Any) -> None:
        found.append((path, command))
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            for name, sub in sorted(command.commands.items()):
                walk([*path, name], sub)

    walk([], root)
    return found


COMMANDS = _commands()


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_full_app_has_the_web_commands() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"assess", "instruments", "kb check", "serve", "users add", "db migrate"} <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_fits_80_columns_uncut(path: list[str], command: Any) -> None:
    result = CliRunner().invoke(
        build_app(), [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80
    )
    assert result.exit_code == 0, result.output
    text = result.output
    assert "…" not in text
    too_wide = [line for line in text.splitlines() if len(line) > 80]
    assert not too_wide, too_wide
    flat = _squash(text)
    for param in command.params:
        for opt in (*param.opts, *param.secondary_opts):
            if opt.startswith("-"):
                assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", text), opt
        help_text = getattr(param, "help", None)
        if help_text:
            assert _squash(help_text) in flat, f"help of {param.name} is cut"
    if command.help:
        first = command.help.split("\n\n")[0]
        assert _squash(first) in flat
    for sub in getattr(command, "commands", {}).values():  # a group lists its commands whole
        if sub.help:
            assert _squash(sub.help.split("\n\n")[0]) in flat, f"{sub.name}: short help cut"
    metavars = {f"{p.name}..." for p in command.params} | {"ARGS..."}
    cut = [
        m.group()
        for m in re.finditer(r"\S*\.\.\.", text)
        if m.group().lstrip("[").replace("]", "") not in metavars
    ]
    assert not cut, f"text cut with ...: {cut}"


def test_serve_help_shows_every_default() -> None:
    from mescc.settings import Settings

    fields = Settings.model_fields
    result = CliRunner().invoke(build_app(), ["serve", "--help"], env={"COLUMNS": "80"})
    flat = " ".join(result.output.split())
    options = ["--host", "--port", "--workers", "--database-url", "--access-log"]
    options += ["--limit-concurrency", "--help"]
    for option, following in itertools.pairwise(options):
        block = flat.split(f"{option} ", 1)[1].split(f"{following} ", 1)[0]
        assert "[default:" in block, option
    assert f"else {fields['host'].default}]" in flat
    assert f"else {fields['port'].default}]" in flat
    assert f"(default {fields['data_dir'].default})" in flat


def test_the_installed_script_prints_uncut_help_at_80_columns() -> None:
    env = {**os.environ, "COLUMNS": "80"}
    exe = os.path.join(os.path.dirname(sys.executable), "mescc")
    out = subprocess.run(
        [exe, "assess", "--help"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "--allow-unverified / --no-allow-unverified" in out
    assert max(len(line) for line in out.splitlines()) <= 80
