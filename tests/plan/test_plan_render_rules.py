"""The plan's text rendering and the plan-rules data file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rich.console import Console

from mescc.errors import DefinitionError
from mescc.kb.evidence import Evidence
from mescc.kb.loader import KnowledgeBase
from mescc.plan import Plan
from mescc.plan.rules import check_plan_rules, load_plan_rules
from mescc.render.plan_text import plan_renderables

NAMES = (
    "poor_prognosis",
    "intermediate_breast",
    "favourable_prostate",
    "radioresistant_unstable",
    "paraplegic",
    "elderly",
    "prior_rt_within",
    "prior_rt_beyond",
    "near_end_of_life",
)


def _text(plan: Plan) -> str:
    console = Console(width=120, record=True, color_system=None)
    for part in plan_renderables(plan.as_dict()):
        console.print(part)
    return console.export_text()


@pytest.mark.parametrize("name", NAMES)
def test_every_example_renders_plan_first(
    name: str, plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    text = _text(plan_of(example(name)))
    lines = text.splitlines()
    assert lines[0].startswith("Treatment plan (decision support)")
    first = "What leads" if "What leads" in text else "Radiotherapy"
    assert text.index(first) < text.index("Surgery") < text.index("Supportive care")
    assert "Decision support only" in text
    assert "[" in text  # citation keys
    for order in ("you must", "administer ", "prescribe "):
        assert order not in text.lower()


def test_rendering_names_the_recommended_regimen_and_its_sources(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    text = _text(plan_of(example("intermediate_breast")))
    assert "Consider 5 x 4 Gy" in text
    assert "ranked first" in text
    assert "rades_matched_2018" in text
    assert "Consider dexamethasone 16 mg" in text
    assert "(COMPUTED)" in text


def test_rendering_without_ranking_claim_and_with_reirradiation(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    assert "No ranking claim" in _text(plan_of({"primary_tumor": "breast"}))
    text = _text(plan_of(example("prior_rt_within")))
    assert "Re-irradiation" in text and "within limits" in text and "nieder_2006" in text


def test_plan_rules_cross_references_hold(kb: KnowledgeBase, evidence: Evidence) -> None:
    check_plan_rules(load_plan_rules(), kb, evidence)


def test_plan_rules_reject_an_unknown_instrument(kb: KnowledgeBase, evidence: Evidence) -> None:
    rules = load_plan_rules()
    tier = rules.prognosis.tiers[0].model_copy(update={"instruments": ("no_such_score_2000",)})
    broken = rules.model_copy(
        update={"prognosis": rules.prognosis.model_copy(update={"tiers": (tier,)})}
    )
    with pytest.raises(DefinitionError, match="no_such_score_2000"):
        check_plan_rules(broken, kb, evidence)


def test_plan_rules_reject_an_unknown_source(kb: KnowledgeBase, evidence: Evidence) -> None:
    rules = load_plan_rules()
    broken = rules.model_copy(
        update={
            "tumour_alpha_beta": rules.tumour_alpha_beta.model_copy(
                update={"evidence": ("nobody_2099",)}
            )
        }
    )
    with pytest.raises(DefinitionError, match="nobody_2099"):
        check_plan_rules(broken, kb, evidence)


def test_tumour_alpha_beta_drives_the_computed_columns(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    by = {o["regimen"]: o for o in plan_of(example("poor_prognosis")).as_dict()["radiotherapy"]}
    # radiotherapy-evidence.md 3.3 (COMPUTED, alpha/beta 10 Gy).
    assert (by["10 x 3 Gy"]["bed_gy10"], by["10 x 3 Gy"]["eqd2_gy10"]) == (39.0, 32.5)
    assert (by["1 x 8 Gy"]["bed_gy10"], by["1 x 8 Gy"]["eqd2_gy10"]) == (14.4, 12.0)
    assert (by["15 x 2.5 Gy"]["bed_gy10"], by["15 x 2.5 Gy"]["eqd2_gy10"]) == (46.9, 39.1)
    assert by["10 x 3 Gy"]["total_dose_gy"] == 30.0
    assert by["10 x 3 Gy"]["overall_time_days"] == 14
