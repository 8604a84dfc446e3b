"""Both sides of every cut-off the plan uses: each test fails if its threshold moves.

SINS 6 vs 7 and 12 vs 13, Bilsky 1c vs 2, complete paraplegia 48 vs 48.5 hours, two-month
mortality 23 vs 24 (and 19 as information only), the Nieder interval (5.9 vs 6 months), the
cumulative cord BED (just under / over 120 Gy2 and 135.5 Gy2), the per-course 98 Gy2, and the
HyTEC interval, cumulative EQD2 and SBRT share.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from mescc.dose import bed, eqd2
from mescc.kb.evidence import Evidence
from mescc.kb.loader import KnowledgeBase
from mescc.patient import Patient
from mescc.plan import Plan
from mescc.plan.prognosis import ResultView, classify_prognosis
from mescc.plan.reirradiation import assess_reirradiation
from mescc.plan.rules import PlanRules


def codes(reasons: Any) -> list[str]:
    return [r["code"] for r in reasons]


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data = dict(base)
    data.update(changes)
    return data


# --------------------------------------------------------------------------- surgery


def test_sins_6_vs_7_changes_surgery(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    base = example("intermediate_breast")
    six = dict(base["sins"], pain="mechanical")  # 1 + 3 + 1 + 0 + 0 + 1 = 6
    seven = dict(six, collapse="none_over_50_involved")  # + 1 = 7
    p6 = plan_of(_with(base, sins=six))
    p7 = plan_of(_with(base, sins=seven))
    a6, a7 = p6.as_dict()["surgery"], p7.as_dict()["surgery"]
    assert a6["consider"] is False
    assert "sins_stable" in codes(a6["reasons"])
    assert a7["consider"] is True
    assert "sins_surgical_consultation" in codes(a7["reasons"])
    assert "7-12" in next(r["text"] for r in a7["reasons"] if r["code"].startswith("sins_"))


def test_sins_12_vs_13_band(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    base = example("intermediate_breast")
    twelve = {
        "location": "junctional",  # 3
        "pain": "mechanical",  # 3
        "bone_lesion": "lytic",  # 2
        "alignment": "de_novo_deformity",  # 2
        "collapse": "none_over_50_involved",  # 1
        "posterolateral": "unilateral",  # 1
    }
    thirteen = dict(twelve, collapse="under_50")  # 2
    t12 = plan_of(_with(base, sins=twelve)).as_dict()["surgery"]["reasons"]
    t13 = plan_of(_with(base, sins=thirteen)).as_dict()["surgery"]["reasons"]
    s12 = next(r["text"] for r in t12 if r["code"] == "sins_surgical_consultation")
    s13 = next(r["text"] for r in t13 if r["code"] == "sins_surgical_consultation")
    assert "SINS 12 (group 7-12" in s12
    assert "SINS 13 (group 13-18, unstable)" in s13


def test_bilsky_1c_vs_2_changes_surgery(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    base = example("intermediate_breast")
    low = plan_of(_with(base, escc_grade="1c")).as_dict()["surgery"]
    high = plan_of(_with(base, escc_grade="2")).as_dict()["surgery"]
    assert low["consider"] is False
    assert "escc_grade_1c" in codes(low["reasons"])
    assert high["consider"] is True
    assert "escc_high_grade" in codes(high["reasons"])


def test_radiosensitive_high_grade_is_not_a_surgical_indication(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    base = _with(example("intermediate_breast"), escc_grade="3", primary_tumor="myeloma")
    s = plan_of(base).as_dict()["surgery"]
    assert s["consider"] is False
    assert {"haematological_radiosensitive", "noms_radiosensitive"} <= set(codes(s["reasons"]))
    assert s["decompression"]["consider"] is False
    radio = next(c for c in s["decompression"]["criteria"] if c["id"] == "not_radiosensitive")
    assert radio["status"] == "not_met"


@pytest.mark.parametrize(("hours", "consider"), [(48, True), (48.5, False)])
def test_paraplegia_48_hours(
    hours: float,
    consider: bool,
    plan_of: Callable[..., Plan],
    example: Callable[[str], dict[str, Any]],
) -> None:
    base = _with(
        example("intermediate_breast"),
        escc_grade="3",
        ambulatory_status="paraplegic",
        frankel_grade="A",
        paraplegia_hours=hours,
    )
    d = plan_of(base).as_dict()
    assert d["prognosis"]["class"] in ("intermediate", "favourable")
    assert d["surgery"]["consider"] is consider
    assert ("paraplegic_over_48h" in codes(d["surgery"]["reasons"])) is not consider


def test_surgery_not_acceptable_keeps_it_off_but_states_criteria(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    data = _with(example("radioresistant_unstable"), preferences={"surgery_acceptable": False})
    s = plan_of(data).as_dict()["surgery"]
    assert s["decompression"]["consider"] is False
    assert s["decompression"]["criteria_met"] is True
    assert s["surgery_acceptable"] is False
    assert codes(s["reasons"])[0] == "decompression_not_acceptable_to_patient"
    # the stability question is separate: SINS 7-18 still warrants an opinion, said with the
    # patient's preference
    assert s["stabilisation"]["consider"] is True
    assert "stability_opinion_patient_declines_surgery" in codes(s["stabilisation"]["reasons"])


# --------------------------------------------------------------------------- two-month score


def _two_month_patient(tumour: str) -> dict[str, Any]:
    # ECOG 3-4 (4) + tumour + other bone mets (3) + visceral (4) + <= 15 months (3)
    # + not ambulatory (4) + <= 7 days (4): prostate 2 -> 24, breast 1 -> 23.
    return {
        "primary_tumor": tumour,
        "ecog": 3,
        "other_bone_metastases": True,
        "visceral_metastases": True,
        "months_from_cancer_diagnosis": 10,
        "ambulatory_status": "not_ambulatory",
        "motor_deficit_days": 3,
    }


def test_two_month_score_23_vs_24(plan_of: Callable[..., Plan]) -> None:
    d24 = plan_of(_two_month_patient("prostate")).as_dict()
    d23 = plan_of(_two_month_patient("breast")).as_dict()
    assert d24["prognosis"]["two_month_mortality"]["points"] == 24
    assert d23["prognosis"]["two_month_mortality"]["points"] == 23
    assert d24["ranking_class"].startswith("near_end_of_life")
    assert d24["prognosis"]["near_end_of_life"]["predicted"] is True
    assert not d23["ranking_class"].startswith("near_end_of_life")
    assert d23["prognosis"]["near_end_of_life"]["predicted"] is False


def _views(**groups: tuple[int | None, str, str]) -> dict[str, ResultView]:
    return {
        iid: ResultView(iid, "computed", pts, group, ver)
        for iid, (pts, group, ver) in groups.items()
    }


@pytest.mark.parametrize(("points", "group", "near"), [(23, "6-23", False), (24, "24-25", True)])
def test_two_month_decision_cut_off_at_view_level(
    points: int, group: str, near: bool, kb: KnowledgeBase, rules: PlanRules
) -> None:
    views = _views(
        tokuhashi_revised_2005=(10, "9-11", "secondary"),
        rades_two_month_mortality_2013=(points, group, "secondary"),
    )
    p = classify_prognosis(views, kb, rules)
    assert p.near_end_of_life is near
    assert p.prognosis_class == "intermediate"
    assert (p.disagreement is not None) is near


@pytest.mark.parametrize(("points", "info"), [(18, False), (19, True)])
def test_two_month_19_is_information_only(
    points: int, info: bool, kb: KnowledgeBase, rules: PlanRules
) -> None:
    views = _views(
        tokuhashi_revised_2005=(10, "9-11", "secondary"),
        rades_two_month_mortality_2013=(points, "6-23", "secondary"),
    )
    p = classify_prognosis(views, kb, rules)
    assert p.ranking_class == "intermediate"
    assert ("two_month_mortality_information" in [r.code for r in p.reasons]) is info
    shown = {i["label"]: i["met"] for i in p.two_month.information}
    assert shown == {">= 19": info}


# --------------------------------------------------------------------------- re-irradiation


def _patient(*courses: dict[str, Any], level: str | None = "thoracic") -> Patient:
    data: dict[str, Any] = {"prior_radiotherapy": list(courses)}
    if level:
        data["spinal_level"] = level
    return Patient.from_data(data)


@pytest.mark.parametrize(("months", "within"), [(5.9, False), (6, True)])
def test_nieder_interval(months: float, within: bool, evidence: Evidence, rules: PlanRules) -> None:
    r = assess_reirradiation(
        _patient({"fractions": 5, "dose_per_fraction_gy": 4, "months_before": months}),
        evidence,
        rules,
    )
    assert r is not None
    chk = r.check_for("1x8")
    assert chk.within_limits is within
    assert chk.status == ("within" if within else "outside_published_experience")


def _single_dose_for(limit: float, candidate: float) -> float:
    """The earlier single-fraction dose x with BED2(x) + candidate = limit (x*(1 + x/2))."""
    room = limit - candidate
    return -1 + math.sqrt(1 + 2 * room)


@pytest.mark.parametrize(
    ("limit_name", "below", "above"),
    [
        ("cumulative_bed_no_rm_gy2", "within", "above_no_myelopathy_limit"),
        ("cumulative_bed_small_risk_gy2", "above_no_myelopathy_limit",
         "outside_published_experience"),
    ],
)  # fmt: skip
def test_nieder_cumulative_bed(
    limit_name: str, below: str, above: str, evidence: Evidence, rules: PlanRules
) -> None:
    """Both sides of each cumulative limit, with the planned cord maximum at the protocol's
    hot spot (1 x 8 Gy at 101.5% of prescription)."""
    rs = evidence.rule_set("nieder_2006_conventional")
    hot = rules.reirradiation.planned_cord_hot_spot.percent_of_prescription / 100
    candidate = bed(1, 8 * hot, 2)
    x = _single_dose_for(rs.parameters[limit_name], candidate)
    for dose, status in ((round(x - 0.01, 2), below), (round(x + 0.01, 2), above)):
        r = assess_reirradiation(
            _patient({"fractions": 1, "dose_per_fraction_gy": dose, "months_before": 12}),
            evidence,
            rules,
        )
        assert r is not None
        chk = r.check_for("1x8")
        assert chk.status == status, (dose, chk.text)
        assert chk.within_limits is (status == "within")
        assert chk.cumulative_bed == pytest.approx(bed(1, dose, 2) + candidate)


def test_planned_hot_spot_and_its_margin_are_stated(evidence: Evidence, rules: PlanRules) -> None:
    r = assess_reirradiation(
        _patient({"fractions": 5, "dose_per_fraction_gy": 4, "months_before": 12}),
        evidence,
        rules,
    )
    assert r is not None
    hot = rules.reirradiation.planned_cord_hot_spot.percent_of_prescription
    chk = r.check_for("10x3")
    assert chk.hot_spot_percent == hot
    assert chk.cumulative_bed == pytest.approx(bed(5, 4, 2) + bed(10, 3 * hot / 100, 2))
    # the highest hot spot at which 10 x 3 Gy stays within the no-myelopathy limit
    assert chk.max_hot_spot_percent is not None
    d = 3 * chk.max_hot_spot_percent / 100
    assert bed(5, 4, 2) + bed(10, d, 2) == pytest.approx(
        evidence.rule_set("nieder_2006_conventional").parameters["cumulative_bed_no_rm_gy2"]
    )
    assert f"{round(chk.max_hot_spot_percent, 1):g}%" in chk.text
    assert "reirradiation_planned_hot_spot" in [x.code for x in r.reasons]


def test_earlier_courses_alone_beyond_the_limit(evidence: Evidence, rules: PlanRules) -> None:
    # 20 x 2 Gy (80 Gy2) + 5 x 4 Gy (60 Gy2) = 140 Gy2 > 135.5 Gy2 before any new course
    r = assess_reirradiation(
        _patient(
            {"fractions": 20, "dose_per_fraction_gy": 2, "months_before": 20},
            {"fractions": 5, "dose_per_fraction_gy": 4, "months_before": 8},
        ),
        evidence,
        rules,
    )
    assert r is not None
    assert r.earlier_cumulative == pytest.approx(140)
    assert not r.any_within
    assert all("earlier courses alone" in c.text for c in r.checks.values())
    assert {"reirradiation_earlier_courses_exceed", "reirradiation_no_regimen_within"} <= {
        x.code for x in r.reasons
    }


def test_recorded_cord_maximum_replaces_the_prescription(
    evidence: Evidence, rules: PlanRules
) -> None:
    course = {"fractions": 5, "dose_per_fraction_gy": 4, "months_before": 12}
    assumed = assess_reirradiation(_patient(course), evidence, rules)
    gy = assess_reirradiation(_patient({**course, "cord_max_dose_gy": 15.0}), evidence, rules)
    pct = assess_reirradiation(_patient({**course, "cord_max_dose_percent": 75}), evidence, rules)
    assert assumed is not None and gy is not None and pct is not None
    assert assumed.courses[0].cord_dose_basis == "assumed_prescription"
    assert gy.courses[0].bed == pytest.approx(bed(5, 3, 2))  # 15 Gy over 5 fractions
    assert pct.courses[0].bed == pytest.approx(bed(5, 3, 2))  # 75% of 4 Gy
    assert "reirradiation_earlier_cord_dose_assumed" in [x.code for x in assumed.reasons]
    assert "reirradiation_earlier_cord_dose_assumed" not in [x.code for x in gy.reasons]


def test_unrecorded_sbrt_cord_dose_is_an_upper_bound(evidence: Evidence, rules: PlanRules) -> None:
    sbrt = {"fractions": 2, "dose_per_fraction_gy": 12, "months_before": 14, "technique": SBRT}
    unknown = assess_reirradiation(_patient(sbrt), evidence, rules)
    low = assess_reirradiation(_patient({**sbrt, "cord_max_dose_gy": 10.0}), evidence, rules)
    assert unknown is not None and low is not None
    # at the prescription (24 Gy in 2) the SBRT course alone exceeds HyTEC's 25 Gy EQD2; without
    # its dose every regimen would pass: undetermined, and the cord maximum is asked for
    assert unknown.check_for("1x8").status == "undetermined"
    assert "prior_radiotherapy[0].cord_max_dose_gy" in unknown.missing
    assert low.check_for("1x8").within_limits is True  # 10 Gy in 2: EQD2 15 Gy


@pytest.mark.parametrize(("dose", "status"), [(13.03, "within"), (13.05, "outside")])
def test_nieder_per_course_bed(
    dose: float, status: str, evidence: Evidence, rules: PlanRules
) -> None:
    # 1 x 13.03 Gy = 97.92 Gy2 and 1 x 13.05 Gy = 98.20 Gy2 against the per-course 98 Gy2;
    # the cumulative limits are lifted here so that only the per-course limit can act.
    rs = evidence.rule_set("nieder_2006_conventional")
    params = dict(rs.parameters, cumulative_bed_no_rm_gy2=1e6, cumulative_bed_small_risk_gy2=1e6)
    lifted = evidence.model_copy(
        update={
            "reirradiation": evidence.reirradiation.model_copy(
                update={
                    "rule_sets": {
                        **evidence.reirradiation.rule_sets,
                        "nieder_2006_conventional": rs.model_copy(update={"parameters": params}),
                    }
                }
            )
        }
    )
    r = assess_reirradiation(
        _patient({"fractions": 1, "dose_per_fraction_gy": dose, "months_before": 12}),
        lifted,
        rules,
    )
    assert r is not None
    assert r.check_for("1x8").status.startswith(status)


def test_lumbar_uses_alpha_beta_4_and_unknown_level_2(evidence: Evidence, rules: PlanRules) -> None:
    course = {"fractions": 5, "dose_per_fraction_gy": 4, "months_before": 12}
    lumbar = assess_reirradiation(_patient(course, level="lumbar"), evidence, rules)
    unknown = assess_reirradiation(_patient(course, level=None), evidence, rules)
    assert lumbar is not None and unknown is not None
    assert lumbar.alpha_beta == 4
    chk = lumbar.check_for("10x3")
    hot = rules.reirradiation.planned_cord_hot_spot.percent_of_prescription / 100
    assert chk.cumulative_bed == pytest.approx(bed(5, 4, 4) + bed(10, 3 * hot, 4))  # Gy4
    assert chk.cumulative_bed_gy2 == pytest.approx(bed(5, 4, 2) + bed(10, 3 * hot, 2))
    assert unknown.alpha_beta == 2
    assert "spinal level unknown" in unknown.alpha_beta_basis
    assert "conservative" in unknown.alpha_beta_basis


def test_missing_interval_leaves_the_check_undetermined(
    plan_of: Callable[..., Plan], example: Callable[[str], dict[str, Any]]
) -> None:
    data = _with(
        example("prior_rt_within"),
        prior_radiotherapy=[{"fractions": 5, "dose_per_fraction_gy": 4}],
    )
    plan = plan_of(data)
    d = plan.as_dict()
    assert d["reirradiation"]["within_limits"] is None
    assert "reirradiation_interval_unknown" in codes(d["reirradiation"]["reasons"])
    unknowns = {u["input"]: u for u in d["decisive_unknowns"]}
    assert "recommended_regimen" in unknowns["prior_radiotherapy[0].months_before"]["could_change"]


SBRT = "sbrt"


@pytest.mark.parametrize(("months", "within"), [(4.9, False), (5, True)])
def test_hytec_interval(months: float, within: bool, evidence: Evidence, rules: PlanRules) -> None:
    r = assess_reirradiation(
        _patient(
            {"fractions": 1, "dose_per_fraction_gy": 6, "months_before": months, "technique": SBRT}
        ),
        evidence,
        rules,
    )
    assert r is not None
    assert r.rule_set_id == "hytec_2021_sbrt_reirradiation"
    assert r.check_for("1x8").within_limits is within


def test_hytec_cumulative_eqd2_and_sbrt_share(evidence: Evidence, rules: PlanRules) -> None:
    hot = rules.reirradiation.planned_cord_hot_spot.percent_of_prescription / 100
    limit = evidence.rule_set("hytec_2021_sbrt_reirradiation").parameters[
        "cumulative_eqd2_dmax_max_gy"
    ]
    sbrt5 = {"fractions": 1, "dose_per_fraction_gy": 5, "months_before": 12, "technique": SBRT,
             "cord_max_dose_percent": 100}  # fmt: skip
    # Conventional 10 x 3 Gy (EQD2 37.5 Gy) + SBRT 1 x 5 Gy (8.75 Gy) + the candidate.
    r = assess_reirradiation(
        _patient({"fractions": 10, "dose_per_fraction_gy": 3, "months_before": 24}, sbrt5),
        evidence,
        rules,
    )
    assert r is not None
    one = r.check_for("1x8")
    assert one.cumulative_eqd2_gy2 == pytest.approx(
        eqd2(10, 3, 2) + eqd2(1, 5, 2) + eqd2(1, 8 * hot, 2)
    )
    assert one.cumulative_eqd2_gy2 <= limit and one.within_limits is True
    five = r.check_for("5x4")
    assert five.cumulative_eqd2_gy2 > limit and five.within_limits is False
    # SBRT 1 x 9 Gy (24.75 Gy <= 25 Gy): with 1 x 8 Gy its share of the cumulative is above 0.5,
    # with 5 x 4 Gy below.
    share = assess_reirradiation(_patient({**sbrt5, "dose_per_fraction_gy": 9}), evidence, rules)
    assert share is not None
    s1 = eqd2(1, 9, 2) / (eqd2(1, 9, 2) + eqd2(1, 8 * hot, 2))
    s5 = eqd2(1, 9, 2) / (eqd2(1, 9, 2) + eqd2(5, 4 * hot, 2))
    assert s1 > 0.5 > s5
    assert share.check_for("1x8").within_limits is False
    assert "SBRT share" in share.check_for("1x8").text
    assert share.check_for("5x4").within_limits is True
    # SBRT course above 25 Gy EQD2: 1 x 9.05 Gy = 25.0 Gy (just above).
    over = assess_reirradiation(_patient({**sbrt5, "dose_per_fraction_gy": 9.05}), evidence, rules)
    assert over is not None
    assert "an SBRT course exceeds" in over.check_for("5x4").text
