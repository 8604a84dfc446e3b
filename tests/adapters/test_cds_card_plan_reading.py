"""The CDS Hooks card reads the plan's decision as it is: what leads, or that nothing does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mescc.adapters.cds_hooks import SUMMARY_LIMIT, card_content
from mescc.document import assessment_document
from mescc.summary import MAX_ALTERNATIVES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def doc(name: str) -> dict:  # type: ignore[type-arg]
    return assessment_document(yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text()))


@pytest.mark.parametrize(
    ("name", "start", "must_not"),
    [
        ("near_end_of_life", "MESCC: Best supportive care leads", "Consider"),
        ("prior_rt_beyond", "MESCC: no regimen within the re-irradiation limits", "Consider"),
        ("intermediate_breast", "Consider 5 x 4 Gy", "no regimen"),
        ("radioresistant_unstable", "Consider 5 x 4 Gy", "no regimen"),
    ],
)
def test_card_summary_follows_what_leads(name: str, start: str, must_not: str) -> None:
    card = card_content(doc(name))
    assert card.summary.startswith(start), card.summary
    assert must_not not in card.summary
    assert len(card.summary) < SUMMARY_LIMIT


def test_card_names_each_surgical_opinion() -> None:
    card = card_content(doc("radioresistant_unstable"))
    assert "decompression and stability opinion suggested" in card.summary
    assert card.indicator == "warning"
    near = card_content(doc("near_end_of_life"))
    assert "at most: 1 x 8 Gy" in near.detail


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_card_names_at_most_two_supported_alternatives(name: str) -> None:
    """With a ranking claim the card lists the alternatives the board summary names (at most
    MAX_ALTERNATIVES supported ones, in rank order) and counts the rest (issue 10: no list of
    nine options ending in 15 x 2.633 Gy); without one it lists every option."""
    document = doc(name)
    plan = document["plan"]
    detail = card_content(document).detail
    line = next((x for x in detail.splitlines() if x.startswith("**Other options")), "")
    chosen = plan["recommended_regimen"] or next(
        (o["regimen"] for o in plan["radiotherapy"] if o["supported"]), None
    )
    others = [o for o in plan["radiotherapy"] if o["regimen"] != chosen]
    if not plan["ranking_claim"]:
        assert all(f"{o['regimen']} (" in line for o in others)
        return
    named = [a["regimen"] for a in document["summary"]["recommendation"]["alternatives"]]
    want = [o["regimen"] for o in others if o["regimen"] in named]
    assert len(want) <= MAX_ALTERNATIVES and all(
        o["supported"] for o in others if o["regimen"] in want
    )
    listed = [o["regimen"] for o in others if f"{o['regimen']} (" in line]
    assert listed == want, line
    rest = len(others) - len(want)
    assert (f"{rest} further option" in line) == bool(rest), line
