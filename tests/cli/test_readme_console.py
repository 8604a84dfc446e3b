"""Every README example of a ``mescc`` command shows that command's real output.

* Each ``console`` block is run (``scripts/readme_console.py``) and must print what it shows.
* Every other fenced block that shows a command or ``mescc`` output must be one of those, or
  a block another test generates: the assess example (``tests/test_readme_example.py``,
  ``scripts/readme_example.py``) and the CDS Hooks card (``tests/test_readme_card.py``).
* Every knowledge-base version the README quotes is the current one (never a stale hash).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from mescc.kb.loader import KnowledgeBase

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
#: Lines that show a command or what mescc prints (a block with one needs a test).
SHOWS_MESCC = re.compile(
    r"^(\$ |mescc |.*; allowed: |.*did you mean|.*[Kk]nowledge base \d{4}\.\d{2}\+|[╭│╰])",
    re.MULTILINE,
)
KB_VERSION = re.compile(r"[Kk]nowledge base:? (\d{4}\.\d{2}\+[0-9a-f]{12}(?:\.site)?)")


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CONSOLE = _script("readme_console")
TEXT = README.read_text(encoding="utf-8")
BLOCKS = [(m.start(), m.group(1).strip(), m.group(2)) for m in CONSOLE.BLOCK.finditer(TEXT)]


def _covered_elsewhere() -> list[tuple[int, int]]:
    """The README spans whose blocks other tests generate: (start, end) offsets."""
    spans = []
    example = _script("readme_example")
    start = TEXT.find(example.START)
    assert start >= 0, "README.md lost the assess example that tests/test_readme_example.py checks"
    spans.append((start, TEXT.find(example.END, start + len(example.START)) + len(example.END)))
    begin, end = TEXT.find("<!-- cds-card:begin"), TEXT.find("<!-- cds-card:end -->")
    assert 0 <= begin < end, (
        "README.md lost the CDS Hooks card that tests/test_readme_card.py checks"
    )
    spans.append((begin, end))
    return spans


def test_there_are_console_examples() -> None:
    consoles = [body for _, info, body in BLOCKS if info == "console"]
    assert len(consoles) >= 3
    assert all(CONSOLE.commands(body) for body in consoles)


@pytest.mark.parametrize(
    "body",
    [body for _, info, body in BLOCKS if info == "console"],
    ids=lambda body: CONSOLE.commands(body)[0][:40] if CONSOLE.commands(body) else "empty",
)
def test_console_block_shows_the_real_output(body: str) -> None:
    assert CONSOLE.console_body(body) == body, (
        "README.md console example is stale: run .venv/bin/python scripts/readme_console.py"
    )


def test_every_block_showing_mescc_is_tested() -> None:
    spans = _covered_elsewhere()
    untested = [
        body.splitlines()[0] if body else ""
        for start, info, body in BLOCKS
        if info != "console"
        and not any(a <= start < b for a, b in spans)
        and SHOWS_MESCC.search(body)
    ]
    assert not untested, (
        f"README blocks show mescc commands or output without a test: {untested}; write them "
        "as ```console blocks (`$ command`, then its output)"
    )


def test_every_knowledge_base_version_quoted_is_current(kb: KnowledgeBase) -> None:
    quoted = set(KB_VERSION.findall(TEXT))
    assert quoted, "the README quotes no knowledge-base version"
    assert quoted == {kb.version}, f"stale knowledge-base version in README.md: {quoted}"


def test_a_stale_console_block_is_caught() -> None:
    body = "$ mescc dose --fractions 5 --dose-per-fraction 4\n5 x 4 Gy = 21 Gy\n"
    assert CONSOLE.console_body(body) != body
