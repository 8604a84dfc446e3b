"""The tumour-board review's defect cases (issue 8), each as a regression test of its rule.

The JSON patients under ``cases/`` are those of the review. Each test checks the rule the defect
broke (a behaviour over the class of patients, with the case as its witness), not a frozen copy
of the plan's output.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from mescc.errors import InputError
from mescc.kb.evidence import Evidence
from mescc.patient import Patient
from mescc.plan import Plan
from mescc.render.plan_text import plan_renderables

CASES = Path(__file__).parent / "cases"
SHIPPED = ("tokuhashi_revised_2005", "teachh_2014", "chow_nrf_2008", "van_der_linden_2005")


def case(name: str) -> dict[str, Any]:
    data = json.loads((CASES / f"{name}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def first_fractions(d: dict[str, Any]) -> int:
    """Fractions of what leads (0 for best supportive care or no regimen)."""
    opt = d["recommended_option"]
    if opt is None or opt["kind"] != "radiotherapy":
        return 0
    return int(next(o["fractions"] for o in d["radiotherapy"] if o["regimen_id"] == opt["id"]))


def classes(d: dict[str, Any]) -> dict[str, str]:
    return {v["instrument"]: v["class"] for v in d["prognosis"]["consensus"]["votes"]}


def text_of(plan: Plan) -> str:
    console = Console(width=100, record=True, color_system=None)
    for part in plan_renderables(plan.as_dict()):
        console.print(part)
    return console.export_text()


# ------------------------------------------------------------------ defect 1: a dying patient


def test_v33_dying_patient_gets_a_short_course_from_the_instruments_consensus(
    plan_of: Callable[..., Plan],
) -> None:
    d = plan_of(case("v33")).as_dict()
    tok = d["prognosis"]["consensus"]["votes"]
    # revised Tokuhashi votes: 2 vertebral bodies score 1 point in both codings of Q3
    assert any(v["instrument"] == "tokuhashi_revised_2005" and v["vote"] == "computed" for v in tok)
    assert set(classes(d)) == set(SHIPPED)
    assert d["prognosis"]["class"] == "poor"
    assert first_fractions(d) <= 5
    one = next(o for o in d["radiotherapy"] if o["regimen_id"] == "1x8")
    assert one["supported"] is True


def test_v33_vertebral_count_2_or_3_gives_the_same_answer(plan_of: Callable[..., Plan]) -> None:
    two = plan_of(case("v33")).as_dict()
    three = plan_of({**case("v33"), "vertebral_body_metastases": 3}).as_dict()
    assert two["recommended_option"] == three["recommended_option"]
    assert two["prognosis"]["class"] == three["prognosis"]["class"] == "poor"


def test_v17_three_of_four_poor_is_poor(plan_of: Callable[..., Plan]) -> None:
    d = plan_of(case("v17")).as_dict()
    votes = classes(d)
    assert sum(1 for c in votes.values() if c == "poor") == 3
    assert d["prognosis"]["class"] == "poor"
    assert first_fractions(d) <= 5
    assert d["prognosis"]["disagreement"] is not None  # TEACHH's intermediate is stated


# ------------------------------------------------------------------ defect 2: intermediate


def test_intermediate_gets_the_short_course_first(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]], evidence: Evidence
) -> None:
    d = plan_of(example("intermediate_breast")).as_dict()
    assert d["ranking_class"] == "intermediate"
    assert d["recommended_regimen"] == "5 x 4 Gy"
    first = d["radiotherapy"][0]
    assert "rades_regimen_by_prognosis_2024" in first["rationale"][0]["evidence"]


# ------------------------------------------------------------------ defect 3: stability


def test_v31_stability_opinion_is_not_withheld_for_expected_survival(
    plan_of: Callable[..., Plan],
) -> None:
    s = plan_of(case("v31")).as_dict()["surgery"]
    assert s["stabilisation"]["consider"] is True
    assert s["consider"] is True
    head = s["stabilisation"]["reasons"][0]
    assert head["code"] == "consider_stability_opinion"
    assert "whatever the expected survival" in head["text"]


def test_myeloma_with_sins_13_gets_a_stability_opinion_and_no_decompression(
    plan_of: Callable[..., Plan],
) -> None:
    data = {
        **case("v31"),
        "primary_tumor": "myeloma",
        "escc_grade": "2",
        "sins": {"location": "semirigid", "pain": "mechanical", "bone_lesion": "lytic",
                 "alignment": "de_novo_deformity", "collapse": "under_50",
                 "posterolateral": "unilateral"},
    }  # fmt: skip
    d = plan_of(data).as_dict()
    s = d["surgery"]
    assert s["stabilisation"]["consider"] is True
    assert s["decompression"]["consider"] is False  # radiosensitive: cEBRT for compression
    assert "haematological_radiosensitive" in [r["code"] for r in s["decompression"]["reasons"]]


# ------------------------------------------------------------------ defect 4: histology


def test_myeloma_is_not_classed_below_its_own_score_groups(
    plan_of: Callable[..., Plan], evidence: Evidence
) -> None:
    data = {**case("v17"), "primary_tumor": "myeloma", "age_years": 60}
    d = plan_of(data).as_dict()
    floor = d["prognosis"]["consensus"]["histology_floor"]
    assert floor is not None and floor["instruments"] == ["rades_myeloma_2012"]
    assert d["prognosis"]["class"] == "intermediate"
    assert d["recommended_regimen"] == "5 x 4 Gy"
    # older than 65: the elderly myeloma score's lowest group (1-year OS 0%) gives no floor
    old = plan_of({**data, "age_years": 70}).as_dict()
    floor_old = old["prognosis"]["consensus"]["histology_floor"]
    assert floor_old["class"] == "poor" and floor_old["raised"] is False
    assert old["prognosis"]["class"] == "poor"


def test_unclassified_histology_states_where_the_evidence_stops(
    plan_of: Callable[..., Plan],
) -> None:
    data = {**case("v31"), "primary_tumor": "lung_sclc", "escc_grade": "3"}
    reasons = plan_of(data).as_dict()["surgery"]["decompression"]["reasons"]
    note = next(r for r in reasons if r["code"] == "radiosensitivity_not_classified")
    assert "cannot be checked" in note["text"] and note["verification"] == "unverified"


def test_lymphoma_points_to_haematology_and_nice_1_8_5(plan_of: Callable[..., Plan]) -> None:
    data = {**case("v31"), "primary_tumor": "lymphoma", "escc_grade": "3",
            "neurological_signs": False}  # fmt: skip
    d = plan_of(data).as_dict()
    note = next(
        r
        for r in d["surgery"]["decompression"]["reasons"]
        if r["code"] == "haematological_radiosensitive"
    )
    assert "haematology" in note["text"]
    dose = d["corticosteroids"]["starting_dose"]
    assert dose["recommendation"] == "1.8.5" and "1.8.5" in dose["attribution"]


# ------------------------------------------------------------------ defect 5: end of life


def test_v25_best_supportive_care_leads_with_the_figures(plan_of: Callable[..., Plan]) -> None:
    plan = plan_of(case("v25"))
    d = plan.as_dict()
    assert d["prognosis"]["two_month_mortality"]["death_within_2_months_very_likely"] is True
    assert d["prognosis"]["near_end_of_life"]["end_of_life_score"]["group"] == "0-0"
    assert d["recommended_option"]["id"] == "best_supportive_care"
    assert d["recommended_regimen"] is None
    assert first_fractions(d) == 0
    supported = [o["regimen_id"] for o in d["radiotherapy"] if o["supported"]]
    assert supported == ["1x8"]  # at most a single fraction
    lead = next(r for r in d["prognosis"]["reasons"] if r["code"] == "best_supportive_care_leads")
    assert "4%" in lead["text"]
    b = d["bone_modifying_agents"]
    assert b["suggest"] is False
    assert [r["code"] for r in b["reasons"]] == ["bone_agents_not_near_end_of_life"]
    assert "Best supportive care leads" in text_of(plan)


# ------------------------------------------------------------------ defect 6: re-irradiation


def test_v15_earlier_courses_alone_exceed_and_nothing_is_ranked_first(
    plan_of: Callable[..., Plan],
) -> None:
    plan = plan_of(case("v15"))
    d = plan.as_dict()
    r = d["reirradiation"]
    assert r["earlier_courses_cumulative"] == 140.0
    assert r["earlier_courses_status"] == "outside_published_experience"
    assert not r["any_regimen_within_limits"]
    assert d["recommended_regimen"] is None and d["recommended_option"] is None
    assert not [o for o in d["radiotherapy"] if o["supported"]]
    assert d["timing"]["applies"] is False
    text = text_of(plan)
    assert "ranked first" not in text and "within 24 hours" not in text
    assert "140 Gy2" in text


def test_prior_sbrt_without_cord_dose_is_undetermined_and_asks_for_it(
    plan_of: Callable[..., Plan],
) -> None:
    d = plan_of(case("probe-prior-sbrt")).as_dict()
    r = d["reirradiation"]
    assert r["courses"][0]["cord_dose_basis"] == "upper_bound_prescription"
    assert "prior_radiotherapy[0].cord_max_dose_gy" in r["missing"]
    assert {c["status"] for c in r["regimen_checks"]} == {"undetermined"}
    unknown = next(
        u for u in d["decisive_unknowns"] if u["input"] == "prior_radiotherapy[0].cord_max_dose_gy"
    )
    assert "recommended_regimen" in unknown["could_change"]
    recorded = dict(case("probe-prior-sbrt"))
    recorded["prior_radiotherapy"] = [
        {**recorded["prior_radiotherapy"][0], "cord_max_dose_gy": 10.0}
    ]
    r2 = plan_of(recorded).as_dict()["reirradiation"]
    assert r2["courses"][0]["cord_dose_basis"] == "recorded_gy"
    assert r2["any_regimen_within_limits"] is True


def test_every_check_states_the_planned_hot_spot(plan_of: Callable[..., Plan]) -> None:
    data = {**case("v15"), "prior_radiotherapy": [
        {"fractions": 5, "dose_per_fraction_gy": 4, "months_before": 12}]}  # fmt: skip
    r = plan_of(data).as_dict()["reirradiation"]
    assert r["planned_cord_hot_spot_percent"] == 101.5
    for c in r["regimen_checks"]:
        assert "101.5% of prescription" in c["text"]
        assert c["planned_cord_hot_spot_percent"] == 101.5


# ------------------------------------------------------------------ defect 7: SBRT


def test_sbrt_is_an_option_to_discuss_only_where_the_sources_support_it(
    plan_of: Callable[..., Plan],
) -> None:
    renal = {"primary_tumor": "renal", "escc_grade": "1b", "neurological_signs": False,
             "ecog": 1, "kps": 80}  # fmt: skip
    st = plan_of(renal).as_dict()["stereotactic_radiotherapy"]
    assert st["discuss"] is True
    assert {o["id"] for o in st["options"]} == {"srs", "sbrt_no_neurological_signs"}
    assert "not a default" in st["reasons"][0]["text"]
    deficits = plan_of(case("v33")).as_dict()["stereotactic_radiotherapy"]
    assert deficits["discuss"] is False  # breast, deficits: not a route of the sources


# ------------------------------------------------------------------ defect 8: contradictions


def test_probe_inconsistent_is_refused_naming_both_fields() -> None:
    with pytest.raises(InputError) as info:
        Patient.from_data(case("probe-inconsistent"))
    fields = {p.field for p in info.value.problems}
    assert {
        "hepatic_metastases + visceral_metastases",
        "extraspinal_bone_metastases + other_bone_metastases",
        "ambulatory_status + frankel_grade",
    } <= fields
    for p in info.value.problems:
        a, b = p.field.split(" + ")
        assert p.message.startswith(f"{a}: ") and f" contradicts {b}: " in p.message


def test_ecog_and_kps_far_apart_are_a_warning_at_the_top(plan_of: Callable[..., Plan]) -> None:
    plan = plan_of({**case("v31"), "ecog": 0, "kps": 30})
    d = plan.as_dict()
    assert [w["code"] for w in d["input_warnings"]] == ["ecog_kps_apart"]
    assert d["warnings"][0] == d["input_warnings"][0]["text"]
    text = text_of(plan).splitlines()
    assert text[1].startswith("Check the record:")


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"neurological_signs": False, "ambulatory_status": "paraplegic", "frankel_grade": "A"},
         "neurological_signs + ambulatory_status"),
        ({"hepatic_metastases": True, "extraskeletal_metastases": False},
         "hepatic_metastases + extraskeletal_metastases"),
        ({"paraplegia_hours": 12, "ambulatory_status": "not_ambulatory"},
         "paraplegia_hours + ambulatory_status"),
    ],
)  # fmt: skip
def test_other_contradictions_are_refused(change: dict[str, Any], fields: str) -> None:
    with pytest.raises(InputError) as info:
        Patient.from_data({**case("v31"), **change})
    assert fields in {p.field for p in info.value.problems}


# ------------------------------------------------------------------ defect 9: also seen


def test_slow_motor_deficits_and_age_enter_the_surgery_reasoning(
    plan_of: Callable[..., Plan],
) -> None:
    data = {**case("v31"), "age_years": 84, "motor_deficit_days": 30, "escc_grade": "3"}
    q = plan_of(data).as_dict()["surgery"]["decompression"]
    by = {c["id"]: c for c in q["criteria"]}
    assert by["motor_deficit_tempo"]["status"] == "favours_rt_alone"
    assert by["age"]["status"] == "recorded" and by["age"]["value"] == 84
    assert by["predicted_ambulatory_status"]["status"] == "not_available"
    codes = [r["code"] for r in q["reasons"]]
    assert {"review_factor_age", "review_factor_motor_deficit_tempo"} <= set(codes)
