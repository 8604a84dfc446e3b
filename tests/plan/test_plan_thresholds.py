"""Both sides of every cut-off the plan uses: each test fails if its threshold moves.

SINS 6 vs 7 and 12 vs 13, Bilsky 1c vs 2, complete paraplegia 48 vs 48.5 hours, two-month
mortality 23 vs 24 (and 19 as information only), the Nieder interval (5.9 vs 6 months), the
cumulative cord BED (just under / over 120 Gy2 and 135.5 Gy2), the per-course 98 Gy2, and the
HyTEC interval, cumulative EQD2 and SBRT share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

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
    assert {"radiosensitive_rt_first", "noms_radiosensitive"} <= set(codes(s["reasons"]))


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
    assert s["consider"] is False
    assert s["criteria_met"] is True
    assert s["surgery_acceptable"] is False
    assert codes(s["reasons"])[0] == "surgery_not_acceptable_to_patient"


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
    assert d24["ranking_class"] == "near_end_of_life"
    assert d24["prognosis"]["near_end_of_life"]["predicted"] is True
    assert d23["ranking_class"] != "near_end_of_life"
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


@pytest.mark.parametrize(
    ("dose", "status"),
    [
        (11.68, "within"),  # 79.89 + 40 = 119.89 Gy2
        (11.7, "above_no_myelopathy_limit"),  # 80.15 + 40 = 120.15 Gy2
        (12.85, "above_no_myelopathy_limit"),  # 95.41 + 40 = 135.41 Gy2
        (12.86, "outside_published_experience"),  # 95.55 + 40 = 135.55 Gy2
    ],
)
def test_nieder_cumulative_bed(
    dose: float, status: str, evidence: Evidence, rules: PlanRules
) -> None:
    r = assess_reirradiation(
        _patient({"fractions": 1, "dose_per_fraction_gy": dose, "months_before": 12}),
        evidence,
        rules,
    )
    assert r is not None
    chk = r.check_for("1x8")
    assert chk.status == status
    assert chk.within_limits is (status == "within")


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
    assert round(chk.cumulative_bed, 1) == 92.5  # 40 Gy4 + 52.5 Gy4
    assert round(chk.cumulative_bed_gy2, 1) == 135.0  # 60 Gy2 + 75 Gy2
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
    # Conventional 10 x 3 Gy (EQD2 37.5 Gy) + SBRT 1 x 6 Gy (12 Gy) + candidate.
    r = assess_reirradiation(
        _patient(
            {"fractions": 10, "dose_per_fraction_gy": 3, "months_before": 24},
            {"fractions": 1, "dose_per_fraction_gy": 6, "months_before": 12, "technique": SBRT},
        ),
        evidence,
        rules,
    )
    assert r is not None
    assert r.check_for("1x8").cumulative_eqd2_gy2 == pytest.approx(69.5)  # <= 70 Gy
    assert r.check_for("1x8").within_limits is True
    assert r.check_for("5x4").within_limits is False  # 79.5 Gy > 70 Gy
    # SBRT 1 x 9 Gy (24.75 Gy <= 25 Gy): share 24.75/44.75 = 0.55 with 1 x 8 Gy (> 0.5),
    # 24.75/54.75 = 0.45 with 5 x 4 Gy.
    share = assess_reirradiation(
        _patient(
            {"fractions": 1, "dose_per_fraction_gy": 9, "months_before": 12, "technique": SBRT}
        ),
        evidence,
        rules,
    )
    assert share is not None
    assert share.check_for("1x8").within_limits is False
    assert "SBRT share" in share.check_for("1x8").text
    assert share.check_for("5x4").within_limits is True
    # SBRT course above 25 Gy EQD2: 1 x 9.05 Gy = 25.0 Gy (just above).
    over = assess_reirradiation(
        _patient(
            {"fractions": 1, "dose_per_fraction_gy": 9.05, "months_before": 12, "technique": SBRT}
        ),
        evidence,
        rules,
    )
    assert over is not None
    assert "an SBRT course exceeds" in over.check_for("5x4").text
