"""``mescc instruments`` as text: a compact listing that reads at 80 columns.

One line per instrument with its full id (never cut, whatever the width), whether it is
computable or a skeleton and its verification level; then its name and outcome, wrapped
(never cut) under an indent: 96 lines for 29 instruments at 80 columns, where a table took
614 and cut the ids. Citations, inputs and groups are in ``--format json``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from mescc.text_safety import neutralise

#: The verification level as a clinician reads it (one line).
VERIFICATION_TEXT = {
    "primary": "primary source",
    "secondary": "secondary sources only",
    "site-supplied": "site-supplied points",
    "site-derived": "SITE-DERIVED points (this site's registry, not the published table)",
    "unverified": "UNVERIFIED",
}
#: Text width used when the terminal's is not known.
DEFAULT_WIDTH = 100
_INDENT = "  "


def _wrap(text: str, width: int, indent: str) -> list[str]:
    return textwrap.wrap(
        text,
        width,
        initial_indent=indent,
        subsequent_indent=_INDENT,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _state(row: dict[str, Any]) -> str:
    return "computable" if row["computable"] else "skeleton"


def instruments_text(rows: Sequence[dict[str, Any]], kb_version: str, width: int) -> list[str]:
    """The lines of the listing for ``rows`` (``mescc.document.instruments_document``)."""
    width = max(width, 40)
    computable = sum(1 for r in rows if r["computable"])
    lines = textwrap.wrap(
        f"{len(rows)} instruments (knowledge base {kb_version}): {computable} computable, "
        f"{len(rows) - computable} skeletons (no points table: a site may supply one, "
        "mescc kb check).",
        width,
    )
    lines.append("")
    id_width = max((len(r["id"]) for r in rows), default=0)
    for r in rows:
        verification = VERIFICATION_TEXT.get(r["verification"], r["verification"])
        head = f"{r['id']:<{id_width}}  {_state(r):<10}  {verification}"
        about = neutralise(f"{r['name']}: {r['outcome_text']}", keep_layout=False)
        lines += _wrap(head, width, "")  # the id is the first word: never cut
        lines += _wrap(about, width, _INDENT)
    lines.append("")
    lines += textwrap.wrap(
        "Citations, inputs, groups and notes: mescc instruments --format json.",
        width,
    )
    return lines
