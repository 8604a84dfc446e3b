"""Regenerate the README's console examples from the real output of their commands.

A console example is a fenced ``console`` block: lines starting with ``$ `` are commands (run
with bash from the repository root, ``mescc`` being this checkout's, at 80 columns without
colour), the lines after each one are its output (stdout and stderr, as a terminal shows
them). Run ``.venv/bin/python scripts/readme_console.py`` after a change that alters one;
``tests/cli/test_readme_console.py`` fails until the README shows what the commands print.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PROMPT = "$ "
#: A fenced block: its info string and its body.
BLOCK = re.compile(r"^```([^\n`]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def run(command: str) -> list[str]:
    """The output lines of one console command, as the README shows them."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "COLUMNS": "80",
        "NO_COLOR": "1",
        "TERM": "dumb",
    }
    env.pop("MESCC_KB_OVERLAY", None)
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )
    return [line.rstrip() for line in done.stdout.rstrip("\n").splitlines()]


def commands(body: str) -> list[str]:
    """The commands of a console block's body."""
    return [line[len(PROMPT) :] for line in body.splitlines() if line.startswith(PROMPT)]


def console_body(body: str) -> str:
    """A console block's body with every command followed by its real output."""
    lines: list[str] = []
    for command in commands(body):
        lines.append(PROMPT + command)
        lines += run(command)
    return "\n".join(lines) + "\n"


def regenerated(text: str) -> str:
    """``text`` (the README) with every console block's output made real."""

    def replace(match: re.Match[str]) -> str:
        info, body = match.group(1), match.group(2)
        if info.strip() != "console":
            return match.group(0)
        return f"```{info}\n{console_body(body)}```"

    return BLOCK.sub(replace, text)


if __name__ == "__main__":
    README.write_text(regenerated(README.read_text(encoding="utf-8")), encoding="utf-8")
    print("README.md console examples updated")
