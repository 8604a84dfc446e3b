"""``mescc instruments`` reads at 80 columns: every id in full, nothing cut, a few lines each."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from typer.testing import CliRunner

from mescc.cli import app
from mescc.kb.loader import KnowledgeBase
from mescc.render.instruments_text import VERIFICATION_TEXT


def _text(columns: int) -> str:
    result = CliRunner().invoke(app, ["instruments"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_every_instrument_is_listed_in_full_at_80_columns(kb: KnowledgeBase) -> None:
    text = _text(80)
    lines = text.splitlines()
    assert "…" not in text and "..." not in text
    assert max(len(line) for line in lines) <= 80
    starts = {line.split()[0] for line in lines if line and not line.startswith(" ")}
    assert set(kb.instruments) <= starts  # each id starts a line, whole
    rows = json.loads(CliRunner().invoke(app, ["instruments", "--format", "json"]).stdout)
    flat = _squash(text)
    for row in rows:
        head = next(line for line in lines if line.split()[:1] == [row["id"]])
        state = "computable" if row["computable"] else "skeleton"
        assert head.split()[1] == state
        assert head.endswith(VERIFICATION_TEXT[row["verification"]])
        assert _squash(f"{row['name']}: {row['outcome_text']}") in flat


def test_the_listing_is_compact(kb: KnowledgeBase) -> None:
    lines = _text(80).splitlines()
    # one line for the id, name and outcome wrapped under it (at most three lines: the
    # longest run to 177 characters), a header and a footer: 96 lines where a table took 614
    assert len(lines) <= 100
    ids = [
        i for i, line in enumerate(lines) if line.split()[:1] and line.split()[0] in kb.instruments
    ]
    assert all(b - a <= 4 for a, b in itertools.pairwise(ids))


@pytest.mark.parametrize("columns", [40, 200])
def test_ids_are_never_cut_at_any_width(kb: KnowledgeBase, columns: int) -> None:
    lines = _text(columns).splitlines()
    starts = {line.split()[0] for line in lines if line and not line.startswith(" ")}
    assert set(kb.instruments) <= starts


def test_the_header_counts_computable_and_skeletons(kb: KnowledgeBase) -> None:
    rows = json.loads(CliRunner().invoke(app, ["instruments", "--format", "json"]).stdout)
    computable = sum(1 for r in rows if r["computable"])
    header = " ".join(_text(80).split("\n\n")[0].split())
    assert f"{len(rows)} instruments" in header
    assert f"{computable} computable, {len(rows) - computable} skeletons" in header
    assert kb.version in header


def test_a_long_verification_label_wraps_under_the_whole_id() -> None:
    from mescc.render.instruments_text import instruments_text

    row = {
        "id": "rades_elderly_ambulatory_2014",
        "computable": True,
        "verification": "site-derived",
        "name": "Rades score for elderly patients",
        "outcome_text": "Ambulatory status after RT",
    }
    lines = instruments_text([row], "2026.11+000000000000.site", 80)
    assert max(len(line) for line in lines) <= 80
    head = next(i for i, line in enumerate(lines) if line.startswith(row["id"] + " "))
    assert "SITE-DERIVED points" in lines[head]
    assert _squash(VERIFICATION_TEXT["site-derived"]) in _squash(" ".join(lines[head:]))
