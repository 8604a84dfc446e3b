"""Regenerate the README's example output from the real ``mescc assess`` board summary (the
default text, 100 columns).

Run ``.venv/bin/python scripts/readme_example.py`` after a change to the plan, the renderers or
the knowledge base; ``tests/test_readme_example.py`` fails until the README shows the output the
code really prints.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EXAMPLE = "examples/intermediate_breast.yaml"
START = "markdown` the same for the medical record):\n\n```text\n"
END = "\n```\n"


def example_output() -> str:
    """The text ``mescc assess`` prints for the README's example at 100 columns."""
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    out = subprocess.run(
        [sys.executable, "-m", "mescc", "assess", EXAMPLE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return "\n".join(line.rstrip() for line in out.rstrip("\n").splitlines())


def readme_with(output: str) -> str:
    """The README text with its example block replaced by ``output``."""
    text = README.read_text(encoding="utf-8")
    head, sep, rest = text.partition(START)
    if not sep:
        raise SystemExit(f"README.md has no example block starting with {START!r}")
    _, sep2, tail = rest.partition(END)
    if not sep2:
        raise SystemExit("README.md example block is not closed")
    return head + START + output + END + tail


if __name__ == "__main__":
    README.write_text(readme_with(example_output()), encoding="utf-8")
    print("README.md example updated")
