"""Clinical vignettes (examples/*.yaml): ranking, surgery flag and the reasons' codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mescc.dose import bed
from mescc.kb.evidence import Evidence
from mescc.plan import Plan


def codes(reasons: Any) -> list[str]:
    return [r["code"] for r in reasons]


def _regimens(plan: dict[str, Any]) -> list[str]:
    return [o["regimen"] for o in plan["radiotherapy"]]


def _supported(plan: dict[str, Any]) -> list[str]:
    return [o["regimen"] for o in plan["radiotherapy"] if o["supported"]]


def _labels(evidence: Evidence, ids: tuple[str, ...]) -> list[str]:
    return [evidence.regimen(i).label for i in ids]


def test_poor_prognosis_ranks_single_fraction_first(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]], evidence: Evidence
) -> None:
    d = plan_of(example("poor_prognosis")).as_dict()
    assert d["prognosis"]["class"] == "poor"
    assert d["ranking_class"] == "poor"
    assert d["recommended_regimen"] == "1 x 8 Gy"
    assert _supported(d) == _labels(evidence, evidence.ranking_for("poor").order["balanced"])
    assert "ranked_first" in codes(d["radiotherapy"][0]["rationale"])
    # 19 points: the >= 19 cut-off is shown as information, never as a decision (Q1).
    assert d["prognosis"]["two_month_mortality"]["points"] == 19
    assert d["prognosis"]["two_month_mortality"]["death_within_2_months_very_likely"] is False
    assert "two_month_mortality_information" in codes(d["prognosis"]["reasons"])
    assert d["surgery"]["consider"] is False
    assert "expected_survival_below_patchell" in codes(d["surgery"]["reasons"])
    assert d["corticosteroids"]["suggest"] is True


def test_intermediate_breast_ranks_the_short_course_first_and_states_disagreement(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    d = plan_of(example("intermediate_breast")).as_dict()
    assert d["prognosis"]["class"] == "intermediate"
    c = d["prognosis"]["consensus"]
    assert (c["agreeing"], c["voting"]) == (3, 4)  # TEACHH alone says favourable
    assert d["recommended_regimen"] == "5 x 4 Gy"
    assert _supported(d) == ["5 x 4 Gy", "10 x 3 Gy"]
    assert d["prognosis"]["disagreement"] is not None
    assert "TEACHH" in d["prognosis"]["disagreement"]
    first = codes(d["radiotherapy"][0]["rationale"])
    assert first[:2] == ["ranked_first", "prognosis_uncertain"]
    assert d["surgery"]["consider"] is False
    assert {"escc_grade_1c", "sins_stable"} <= set(codes(d["surgery"]["reasons"]))
    assert "steroids_neurological_signs" in codes(d["corticosteroids"]["reasons"])
    assert d["corticosteroids"]["starting_dose"]["initial_dose_mg"] == 16
    assert d["reirradiation"] is None


def test_favourable_prostate_ranks_longer_course_first(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    d = plan_of(example("favourable_prostate")).as_dict()
    assert d["prognosis"]["class"] == "favourable"
    assert d["recommended_regimen"] == "15 x 2.5 Gy"
    assert _supported(d) == ["15 x 2.5 Gy", "20 x 2 Gy", "10 x 3 Gy"]
    not_supported = {o["regimen"]: codes(o["rationale"]) for o in d["radiotherapy"][3:]}
    assert "inferior_local_control" in not_supported["1 x 8 Gy"]
    assert "trial_regimen" in not_supported["15 x 2.633 Gy"]
    assert d["surgery"]["consider"] is False
    assert d["corticosteroids"]["suggest"] is False
    assert "steroids_no_neurological_signs" in codes(d["corticosteroids"]["reasons"])


def test_radioresistant_unstable_high_grade_compression_considers_surgery(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    d = plan_of(example("radioresistant_unstable")).as_dict()
    s = d["surgery"]
    assert s["consider"] is True
    assert s["criteria_met"] is True
    c = codes(s["reasons"])
    assert c[:2] == ["consider_decompression", "consider_stability_opinion"]
    assert s["decompression"]["consider"] and s["stabilisation"]["consider"]
    assert {
        "escc_high_grade",
        "sins_surgical_consultation",
        "noms_radioresistant",
        "noms_radioresistant_high_grade",
        "patchell_result",
    } <= set(c)
    st = d["stereotactic_radiotherapy"]
    assert st["discuss"] is True
    assert [o["id"] for o in st["options"]] == ["separation_surgery_then_srs"]
    assert s["radiosensitivity"]["class"] == "radioresistant"
    assert s["patchell_eligibility"]["status"] == "eligible_on_recorded_criteria"
    assert d["recommended_regimen"] is not None


def test_paraplegic_over_48_hours_keeps_surgery_off(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    d = plan_of(example("paraplegic")).as_dict()
    s = d["surgery"]
    assert s["consider"] is False
    assert s["criteria_met"] is False
    assert "paraplegic_over_48h" in codes(s["reasons"])
    assert s["patchell_eligibility"]["status"] == "not_eligible"
    # Neurological signs are implied by the recorded deficits (paraplegia, sphincter).
    assert d["corticosteroids"]["suggest"] is True


def test_elderly_uses_shipped_instruments_and_fewest_visits(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    d = plan_of(example("elderly")).as_dict()
    # The elderly Rades instruments ship without points: not computed, so they do not lead.
    assert d["prognosis"]["source_instrument"] == "tokuhashi_revised_2005"
    assert d["prognosis"]["class"] == "intermediate"
    assert d["priority"] == "fewest_visits"
    assert d["recommended_regimen"] == "5 x 4 Gy"
    assert "priority_reorders_supported" in codes(d["radiotherapy"][0]["rationale"])
    assert any("does not promote 1 x 8 Gy" in w for w in d["warnings"])


def test_prior_rt_within_limits(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]], evidence: Evidence
) -> None:
    d = plan_of(example("prior_rt_within")).as_dict()
    r = d["reirradiation"]
    assert r["rule_set"] == "nieder_2006_conventional"
    assert r["alpha_beta"] == 2
    assert r["interval_months"] == 12
    assert r["courses"][0]["bed_gy2"] == 60.0
    assert r["regimen"] == "1 x 8 Gy"
    hot = r["planned_cord_hot_spot_percent"] / 100
    assert r["cumulative_cord_bed_gy2"] == pytest.approx(60 + bed(1, 8 * hot, 2), abs=0.05)
    assert r["within_limits"] is True
    limit = r["limits"]["cumulative_bed_no_rm_gy2"]
    expected = {
        reg.label
        for reg in evidence.regimens.regimens
        if 60 + bed(reg.fractions, reg.dose_per_fraction_gy * hot, 2) <= limit
    }
    assert set(r["regimens_within_limits"]) == expected and "1 x 8 Gy" in expected
    assert d["recommended_regimen"] == "1 x 8 Gy"
    by = {o["regimen"]: o for o in d["radiotherapy"]}
    assert by["2 x 8 Gy"]["supported"] is False
    assert "reirradiation_exceeds_limits" in codes(by["2 x 8 Gy"]["rationale"])
    assert "reirradiation_within_limits" in codes(by["1 x 8 Gy"]["rationale"])


def test_prior_rt_beyond_limits(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    d = plan_of(example("prior_rt_beyond")).as_dict()
    r = d["reirradiation"]
    assert r["within_limits"] is False
    assert r["status"] == "outside_published_experience"
    assert r["regimens_within_limits"] == []
    assert not _supported(d)
    assert d["recommended_regimen"] is None
    assert any("re-irradiation limits" in w for w in d["warnings"])
    assert "outside published experience" in d["radiotherapy"][0]["rationale"][-1]["text"]


def test_near_end_of_life_offers_best_supportive_care_or_single_fraction(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    d = plan_of(example("near_end_of_life")).as_dict()
    p = d["prognosis"]
    assert p["two_month_mortality"]["points"] == 25
    assert p["two_month_mortality"]["death_within_2_months_very_likely"] is True
    assert p["near_end_of_life"]["predicted"] is True
    assert p["near_end_of_life"]["end_of_life_score"]["applied"] is True
    assert p["near_end_of_life"]["end_of_life_score"]["group"] == "0-0"
    # best supportive care leads; at most a single fraction is offered
    assert d["ranking_class"] == "near_end_of_life_no_benefit"
    assert d["recommended_regimen"] is None
    assert d["recommended_option"] == {
        "kind": "other_option",
        "id": "best_supportive_care",
        "label": "Best supportive care",
    }
    assert [o["id"] for o in d["other_options"]] == ["best_supportive_care"]
    assert _supported(d) == ["1 x 8 Gy"]
    assert "best_supportive_care_leads" in codes(p["reasons"])
    first = codes(d["radiotherapy"][0]["rationale"])
    assert first[0] == "offered_at_most"
    assert "end_of_life_score" in first
    assert d["bone_modifying_agents"]["suggest"] is False
    assert d["timing"]["applies"] is False
    eol = next(r for r in d["radiotherapy"][0]["rationale"] if r["code"] == "end_of_life_score")
    assert "extrapolation" in eol["text"]
    assert d["surgery"]["consider"] is False
    assert d["surgery"]["criteria_met"] is True


@pytest.mark.parametrize(
    "name",
    [
        "poor_prognosis",
        "intermediate_breast",
        "favourable_prostate",
        "radioresistant_unstable",
        "paraplegic",
        "elderly",
        "prior_rt_within",
        "prior_rt_beyond",
        "near_end_of_life",
    ],
)
def test_every_reason_is_cited_and_worded_as_support(
    name: str, plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    d = plan_of(example(name)).as_dict()
    reasons: list[dict[str, Any]] = []
    for o in d["radiotherapy"]:
        reasons += o["rationale"]
    for key in ("surgery", "corticosteroids", "bone_modifying_agents", "prognosis"):
        reasons += d[key]["reasons"]
    if d["reirradiation"]:
        reasons += d["reirradiation"]["reasons"]
    assert reasons
    for r in reasons:
        assert set(r) == {"code", "text", "evidence", "citation", "inputs", "verification"}
        assert r["evidence"], r["code"]
        assert len(r["citation"]) == len(r["evidence"])
        text = r["text"].lower()
        for order in ("you must", "must be given", "administer ", "prescribe "):
            assert order not in text, (r["code"], r["text"])
    assert d["disclaimer"].startswith("Decision support only")
