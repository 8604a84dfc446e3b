"""Preferences reorder only supported regimens; prognosis is the consensus of the instruments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mescc.kb.evidence import Evidence
from mescc.kb.loader import KnowledgeBase
from mescc.plan import Plan
from mescc.plan.prognosis import ResultView, classify_prognosis
from mescc.plan.radiotherapy import rank_regimens
from mescc.plan.reasons import Citer
from mescc.plan.rules import PlanRules

PRIORITIES = ("balanced", "fewest_visits", "durable_local_control")
CLASSES = ("poor", "intermediate", "favourable", "near_end_of_life_no_benefit")
CLASS_EXAMPLE = {
    "poor": "poor_prognosis",
    "intermediate": "intermediate_breast",
    "favourable": "favourable_prostate",
    "near_end_of_life_no_benefit": "near_end_of_life",
}


def codes(reasons: Any) -> list[str]:
    return [r["code"] for r in reasons]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("priority", PRIORITIES)
def test_priority_orders_only_supported_regimens(
    cls: str,
    priority: str,
    plan_of: Callable[..., Plan],
    example: Callable[[str], dict[str, Any]],
    evidence: Evidence,
) -> None:
    data = dict(example(CLASS_EXAMPLE[cls]), preferences={"priority": priority})
    d = plan_of(data).as_dict()
    assert d["ranking_class"] == cls
    order = evidence.ranking_for(cls).order[priority]  # type: ignore[arg-type]
    supported = [o["regimen_id"] for o in d["radiotherapy"] if o["supported"]]
    assert supported == list(order)
    # Supported options always come before unsupported ones: nothing is promoted.
    flags = [o["supported"] for o in d["radiotherapy"]]
    assert flags == sorted(flags, reverse=True)
    lead = evidence.ranking_for(cls).lead_option  # type: ignore[arg-type]
    if lead is None:
        assert d["recommended_regimen"] == evidence.regimen(order[0]).label
    else:  # best supportive care leads; the regimen is what may still be offered
        assert d["recommended_regimen"] is None
        assert d["recommended_option"]["id"] == lead
    first = codes(d["radiotherapy"][0]["rationale"])
    assert ("priority_reorders_supported" in first) is (priority != "balanced")


def test_fewest_visits_warns_instead_of_promoting(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    data = dict(example("favourable_prostate"), preferences={"priority": "fewest_visits"})
    d = plan_of(data).as_dict()
    assert d["recommended_regimen"] == "10 x 3 Gy"
    assert any("does not promote 1 x 8 Gy" in w for w in d["warnings"])
    one = next(o for o in d["radiotherapy"] if o["regimen"] == "1 x 8 Gy")
    assert one["supported"] is False


def _views(**groups: tuple[int | None, str, str]) -> dict[str, ResultView]:
    return {
        iid: ResultView(iid, "computed", pts, group, ver)
        for iid, (pts, group, ver) in groups.items()
    }


def test_a_rades_family_gives_one_vote(kb: KnowledgeBase, rules: PlanRules) -> None:
    views = _views(
        rades_elderly_breast_2015=(30, "28-39", "site-supplied"),
        rades_survival_2010=(38, "36-45", "site-supplied"),
        tokuhashi_revised_2005=(5, "0-8", "secondary"),
    )
    p = classify_prognosis(views, kb, rules)
    assert p.consensus is not None
    # the elderly tumour-specific score votes for the family; the 2010 score does not
    assert [v.instrument for v in p.consensus.counted] == [
        "rades_elderly_breast_2015",
        "tokuhashi_revised_2005",
    ]
    family = next(o for o in p.others if o.instrument == "rades_survival_2010")
    assert family.decides is False and "family" in (family.note or "")
    # intermediate vs poor, an even split: the less favourable class
    assert p.prognosis_class == "poor"
    assert p.disagreement is not None and "conservative consensus" in p.disagreement


def test_one_instrument_never_lengthens_the_course_against_the_others(
    kb: KnowledgeBase, rules: PlanRules
) -> None:
    views = _views(
        rades_survival_2010=(38, "36-45", "site-supplied"),  # favourable
        teachh_2014=(5, "5-6", "primary"),  # poor
        chow_nrf_2008=(3, "3-3", "primary"),  # poor
    )
    assert classify_prognosis(views, kb, rules).prognosis_class == "poor"
    views["chow_nrf_2008"] = ResultView("chow_nrf_2008", "computed", 2, "2-2", "primary")
    # favourable, intermediate, poor: the most favourable class more than half reach
    assert classify_prognosis(views, kb, rules).prognosis_class == "intermediate"


def test_an_incomplete_instrument_can_lower_never_raise(
    kb: KnowledgeBase, rules: PlanRules
) -> None:
    fav = _views(chow_nrf_2008=(0, "0-1", "primary"))
    could_be_poor = ResultView(
        "teachh_2014", "not_computable", None, None, "primary", ("2-4", "5-6")
    )
    could_be_fav = ResultView("teachh_2014", "not_computable", None, None, "primary", ("0-1",))
    lowered = classify_prognosis({**fav, "teachh_2014": could_be_poor}, kb, rules)
    assert lowered.prognosis_class == "poor"
    assert lowered.consensus is not None and lowered.consensus.lowered_by == ("teachh_2014",)
    assert "prognosis_lowered_by_missing_inputs" in [r.code for r in lowered.reasons]
    # a gap may shorten the course, never withhold a referral: surgery reads the best case
    assert lowered.referral_class == "favourable"
    determined = classify_prognosis({**fav, "teachh_2014": could_be_fav}, kb, rules)
    assert determined.prognosis_class == "favourable"
    vote = next(o for o in determined.consensus.votes if o.instrument == "teachh_2014")  # type: ignore[union-attr]
    assert vote.vote == "determined"
    alone = classify_prognosis({"teachh_2014": could_be_poor}, kb, rules)
    assert alone.prognosis_class is None and alone.ranking_class == "unknown"


def test_unverified_decides_only_with_opt_in(kb: KnowledgeBase, rules: PlanRules) -> None:
    views = _views(tokuhashi_revised_2005=(12, "12-15", "unverified"))
    default = classify_prognosis(views, kb, rules)
    assert default.prognosis_class is None
    tok = next(o for o in default.others if o.instrument == "tokuhashi_revised_2005")
    assert tok.decides is False and tok.note and "allow-unverified" in tok.note
    assert not default.warnings
    opted = classify_prognosis(views, kb, rules, allow_unverified=True)
    assert opted.prognosis_class == "favourable"
    assert opted.warnings and "UNVERIFIED" in opted.warnings[0]
    assert "unverified_instrument_decides" in [r.code for r in opted.reasons]
    views["chow_nrf_2008"] = ResultView("chow_nrf_2008", "computed", 3, "3-3", "primary")
    assert classify_prognosis(views, kb, rules).prognosis_class == "poor"
    # with the opt-in it votes, but one favourable vote does not outweigh a poor one
    assert classify_prognosis(views, kb, rules, allow_unverified=True).prognosis_class == "poor"


def test_unverified_opt_in_is_stated_next_to_the_ranking(
    kb: KnowledgeBase, rules: PlanRules, evidence: Evidence, citer: Citer
) -> None:
    views = _views(tokuhashi_revised_2005=(12, "12-15", "unverified"))
    p = classify_prognosis(views, kb, rules, allow_unverified=True)
    ranking = rank_regimens(p, None, evidence, rules, citer)
    assert "ranking_rests_on_unverified" in [r.code for r in ranking.options[0].rationale]


def test_no_classification_means_no_ranking_claim(
    plan_of: Callable[..., Plan], evidence: Evidence
) -> None:
    d = plan_of({"age_years": 67, "primary_tumor": "lung_nsclc"}).as_dict()
    assert d["prognosis"]["class"] is None
    assert d["ranking_claim"] is False
    assert d["recommended_regimen"] is None
    listed = [o for o in d["radiotherapy"] if o["supported"]]
    assert [o["regimen_id"] for o in listed] == list(
        evidence.ranking_for("unknown").order["balanced"]
    )
    for o in listed:
        assert codes(o["rationale"]) == ["no_ranking_claim"]
    reason = next(r for r in d["prognosis"]["reasons"] if r["code"] == "prognosis_not_classified")
    assert "kps" in reason["text"]  # an input that would allow Chow
    assert {m["instrument"] for m in d["prognosis"]["missing_to_classify"]} >= {"chow_nrf_2008"}


def test_end_of_life_score_only_after_two_month_prediction(
    kb: KnowledgeBase, rules: PlanRules
) -> None:
    base = {
        "tokuhashi_revised_2005": (3, "0-8", "secondary"),
        "rades_end_of_life_2022": (2, "2-3", "primary"),
    }
    without = classify_prognosis(_views(**base), kb, rules)
    assert without.end_of_life.applied is False
    assert "end_of_life_score_not_applied" in [r.code for r in without.reasons]
    near = classify_prognosis(
        _views(**base, rades_two_month_mortality_2013=(24, "24-25", "secondary")), kb, rules
    )
    assert near.end_of_life.applied is True
    eol = next(r for r in near.reasons if r.code == "end_of_life_score")
    assert "extrapolation" in eol.text and "benefit" in eol.text
