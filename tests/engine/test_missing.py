"""Missing is a status, not a default (conventions §3.6).

A missing input makes an instrument ``not_computable`` with ``missing`` naming it and the range
of totals (and groups) still possible; ECOG/KPS conversion is marked on the item and refused
where the converted range straddles a cut-point; conflicting codings that change the group are
not computable and show both.
"""

from __future__ import annotations

from typing import Any

import pytest

from mescc.assessment import assess_instruments, assess_table
from mescc.engine.evaluate import POINTS_NOT_SUPPLIED
from mescc.engine.result import InstrumentResult
from mescc.kb.loader import KnowledgeBase

SINS_ALL_BUT_PAIN = {
    "sins": {
        "location": "junctional",
        "bone_lesion": "lytic",
        "alignment": "normal",
        "collapse": "none",
        "posterolateral": "none",
    }
}
CONVERSION = "empirical ECOG-KPS mapping, Eur J Cancer 2010, PMID 20674334"


def result(kb: KnowledgeBase, patient: dict[str, Any], iid: str) -> InstrumentResult:
    return assess_instruments(patient, kb).instruments[iid]


def table_row(
    kb: KnowledgeBase, frame_of: Any, patient: dict[str, Any], iid: str
) -> tuple[Any, ...]:
    row = assess_table(frame_of([patient]), kb).row(0, named=True)
    return row[f"{iid}__status"], row[f"{iid}__points"], row[f"{iid}__group"]


def test_missing_input_is_not_scored_as_absent(kb: KnowledgeBase, frame_of: Any) -> None:
    r = result(kb, SINS_ALL_BUT_PAIN, "sins_2010")
    assert r.status == "not_computable"
    assert (r.points, r.group, r.category, r.estimate) == (None, None, None, None)
    assert r.missing == ("sins_pain",)
    assert r.reason == "missing sins_pain"
    # 3 + 2 + 0 + 0 + 0 = 5 known; pain adds 0, 1 or 3
    assert r.possible_points == (5, 8)
    assert r.possible_groups == ("0-6", "7-12")
    assert [(i.factor, i.points) for i in r.items] == [
        ("location", 3),
        ("bone_lesion", 2),
        ("alignment", 0),
        ("collapse", 0),
        ("posterolateral", 0),
    ]
    assert table_row(kb, frame_of, SINS_ALL_BUT_PAIN, "sins_2010") == ("not_computable", None, None)


def test_missing_input_that_does_not_change_the_group_is_still_missing(kb: KnowledgeBase) -> None:
    # van der Linden: KPS 80 (2) + breast (3) = 5; visceral adds 0 or 1 -> groups 4-5 or 6-6
    r = result(kb, {"kps": 80, "primary_tumor": "breast"}, "van_der_linden_2005")
    assert (r.status, r.missing, r.possible_points, r.possible_groups) == (
        "not_computable",
        ("visceral_metastases",),
        (5, 6),
        ("4-5", "6-6"),
    )
    # Bauer: the missing item cannot move the total out of 3-4, it is still not computed
    r = result(
        kb,
        {"primary_tumor": "breast", "visceral_metastases": False},
        "bauer_modified_2008",
    )
    assert r.status == "not_computable"
    assert r.missing == ("other_bone_metastases",)
    assert r.possible_points == (3, 4)
    assert r.possible_groups == ("3-4",)
    assert r.points is None and r.group is None


def test_nothing_known_lists_every_input(kb: KnowledgeBase) -> None:
    r = result(kb, {}, "tokuhashi_revised_2005")
    assert r.status == "not_computable"
    assert r.missing == (
        "kps",
        "extraspinal_bone_metastases",
        "vertebral_body_metastases",
        "visceral_metastases",
        "visceral_metastases_resectable",
        "primary_tumor",
        "frankel_grade",
    )
    assert r.possible_points == (0, 15)
    assert r.possible_groups == ("0-8", "9-11", "12-15")
    assert r.items == ()


def test_missing_classification_lists_possible_groups(kb: KnowledgeBase) -> None:
    r = result(kb, {}, "bilsky_escc_2010")
    assert (r.status, r.missing, r.possible_points) == ("not_computable", ("escc_grade",), None)
    assert r.possible_groups == ("0-1b", "1c", "2-3")


def test_dependent_input_missing(kb: KnowledgeBase, frame_of: Any) -> None:
    patient = {
        "kps": 80,
        "extraspinal_bone_metastases": 0,
        "vertebral_body_metastases": 3,
        "visceral_metastases": True,
        "primary_tumor": "breast",
        "frankel_grade": "E",
    }
    r = result(kb, patient, "tokuhashi_revised_2005")
    assert r.status == "not_computable"
    assert r.missing == ("visceral_metastases_resectable",)
    assert r.possible_points == (11, 12)
    assert r.possible_groups == ("9-11", "12-15")
    assert table_row(kb, frame_of, patient, "tokuhashi_revised_2005")[0] == "not_computable"
    # with visceral_metastases false, resectability is not needed
    r = result(kb, {**patient, "visceral_metastases": False}, "tokuhashi_revised_2005")
    assert (r.status, r.points, r.group) == ("computed", 13, "12-15")


def test_skeleton_lists_inputs_and_says_points_not_supplied(kb: KnowledgeBase) -> None:
    r = result(kb, {"primary_tumor": "breast"}, "rades_survival_2008")
    assert r.status == "not_computable"
    assert r.reason == POINTS_NOT_SUPPLIED == "points table not supplied"
    assert r.missing == (
        "months_from_cancer_diagnosis",
        "other_bone_metastases",
        "visceral_metastases",
        "ambulatory_status",
        "motor_deficit_days",
    )
    assert r.possible_points is None and r.possible_groups == ()


def test_outside_the_population_is_not_applicable(kb: KnowledgeBase, frame_of: Any) -> None:
    patient = {"age_years": 50, "primary_tumor": "breast"}
    r = result(kb, patient, "rades_elderly_breast_2015")
    assert r.status == "not_applicable"
    assert r.reason == (
        "outside the instrument's population: age_years >= 65 required, "
        "primary_tumor in breast required"
    )
    assert table_row(kb, frame_of, patient, "rades_elderly_breast_2015")[0] == "not_applicable"
    # age unknown: it might apply, so it is not computable and age is missing
    r = result(kb, {"primary_tumor": "breast"}, "rades_elderly_breast_2015")
    assert r.status == "not_computable"
    assert "age_years" in r.missing


# --------------------------------------------------------------------------- ECOG <-> KPS


@pytest.mark.parametrize(
    ("iid", "patient", "factor", "note", "points"),
    [
        (
            "chow_nrf_2008",
            {"primary_tumor": "breast", "extraskeletal_metastases": False, "ecog": 0},
            "karnofsky_performance_status",
            "kps converted from ecog 0",
            0,
        ),
        (
            "tokuhashi_revised_2005",
            {
                "ecog": 1,
                "extraspinal_bone_metastases": 0,
                "vertebral_body_metastases": 3,
                "visceral_metastases": False,
                "primary_tumor": "breast",
                "frankel_grade": "E",
            },
            "general_condition",
            "kps converted from ecog 1",
            13,
        ),
        (
            "teachh_2014",
            {
                "primary_tumor": "breast",
                "kps": 90,
                "age_years": 50,
                "prior_palliative_chemotherapy_courses": 0,
                "hospitalized_last_3_months": False,
                "hepatic_metastases": False,
            },
            "ecog_performance_status",
            "ecog converted from kps 90",
            0,
        ),
        (
            "rades_two_month_mortality_2013",
            {
                "kps": 30,
                "primary_tumor": "lung_nsclc",
                "other_bone_metastases": True,
                "visceral_metastases": True,
                "months_from_cancer_diagnosis": 3,
                "ambulatory_status": "paraplegic",
                "motor_deficit_days": 2,
            },
            "ecog_performance_status",
            "ecog converted from kps 30",
            25,
        ),
    ],
    ids=["chow-ecog0", "tokuhashi-ecog1", "teachh-kps90", "rades2013-kps30"],
)
def test_conversion_marks_the_item(
    kb: KnowledgeBase,
    frame_of: Any,
    iid: str,
    patient: dict[str, Any],
    factor: str,
    note: str,
    points: int,
) -> None:
    r = result(kb, patient, iid)
    assert r.status == "computed"
    assert r.points == points
    converted = [i for i in r.items if i.converted_from]
    assert [i.factor for i in converted] == [factor]
    assert converted[0].converted_from == f"{note} ({CONVERSION})"
    assert converted[0].as_dict()["converted_from"] == converted[0].converted_from
    assert table_row(kb, frame_of, patient, iid) == (r.status, r.points, r.group)


def test_native_value_wins_over_conversion(kb: KnowledgeBase) -> None:
    # KPS 40 given: poor (0), even though ECOG 1 would convert to good
    patient = {
        "kps": 40,
        "ecog": 1,
        "extraspinal_bone_metastases": 0,
        "vertebral_body_metastases": 3,
        "visceral_metastases": False,
        "primary_tumor": "breast",
        "frankel_grade": "E",
    }
    r = result(kb, patient, "tokuhashi_revised_2005")
    assert (r.status, r.points) == ("computed", 11)
    assert not any(i.converted_from for i in r.items)


@pytest.mark.parametrize(
    ("iid", "patient", "target", "possible_points", "possible_groups"),
    [
        (
            "chow_nrf_2008",
            {"primary_tumor": "breast", "extraskeletal_metastases": False, "ecog": 2},
            "kps",
            (0, 1),
            ("0-1",),
        ),
        (
            "tokuhashi_revised_2005",
            {
                "ecog": 3,
                "extraspinal_bone_metastases": 3,
                "vertebral_body_metastases": 3,
                "visceral_metastases": False,
                "primary_tumor": "prostate",
                "frankel_grade": "E",
            },
            "kps",
            (9, 10),
            ("9-11",),
        ),
        (
            "van_der_linden_2005",
            {"ecog": 3, "primary_tumor": "breast", "visceral_metastases": False},
            "kps",
            (4, 5),
            ("4-5",),
        ),
    ],
    ids=["chow-ecog2", "tokuhashi-ecog3", "vdl-ecog3"],
)
def test_straddling_conversion_is_not_computable(
    kb: KnowledgeBase,
    frame_of: Any,
    iid: str,
    patient: dict[str, Any],
    target: str,
    possible_points: tuple[int, int],
    possible_groups: tuple[str, ...],
) -> None:
    r = result(kb, patient, iid)
    assert r.status == "not_computable"
    assert r.missing == (target,)
    src = "ecog"
    assert r.reason == (
        f"missing {target}; {target} converted from {src} {patient[src]} ({CONVERSION}) "
        f"straddles a cut-point of this item; enter {target} to decide"
    )
    assert r.possible_points == possible_points
    assert r.possible_groups == possible_groups
    assert table_row(kb, frame_of, patient, iid) == ("not_computable", None, None)


def test_conversion_into_an_undefined_value_is_not_computable(kb: KnowledgeBase) -> None:
    # KPS 90 -> ECOG 1, which Rades 2013 does not score (reference Q2)
    patient = {
        "kps": 90,
        "primary_tumor": "breast",
        "other_bone_metastases": False,
        "visceral_metastases": False,
        "months_from_cancer_diagnosis": 24,
        "ambulatory_status": "ambulatory_without_aid",
        "motor_deficit_days": 10,
    }
    r = result(kb, patient, "rades_two_month_mortality_2013")
    assert r.status == "not_computable"
    assert r.missing == ()
    assert r.reason == (
        "category not defined by the source: ECOG performance status: ECOG 0-1 is not a "
        "category defined by the source (reference Q2)"
    )


def test_kps_0_has_no_ecog_equivalent(kb: KnowledgeBase, frame_of: Any) -> None:
    patient = {
        "kps": 0,
        "primary_tumor": "breast",
        "age_years": 50,
        "prior_palliative_chemotherapy_courses": 0,
        "hospitalized_last_3_months": False,
        "hepatic_metastases": False,
    }
    r = result(kb, patient, "teachh_2014")
    assert r.status == "not_computable"
    assert r.reason is not None and "kps 0 has no ecog equivalent" in r.reason
    assert table_row(kb, frame_of, patient, "teachh_2014") == ("not_computable", None, None)


# --------------------------------------------------------------------------- conflicts

TEACHH_TWO_COURSES = {
    "primary_tumor": "breast",
    "ecog": 1,
    "age_years": 65,
    "prior_palliative_chemotherapy_courses": 2,
    "hospitalized_last_3_months": False,
    "hepatic_metastases": False,
}


def test_conflict_that_changes_the_group_shows_both(kb: KnowledgeBase, frame_of: Any) -> None:
    r = result(kb, TEACHH_TWO_COURSES, "teachh_2014")
    assert r.status == "not_computable"
    assert (r.points, r.group) == (None, None)
    assert r.possible_points == (1, 2)
    assert r.possible_groups == ("0-1", "2-4")
    assert r.verification == "unverified"
    assert r.conflict is not None and r.conflict.startswith("Prior palliative chemotherapy courses")
    assert r.reason is not None and r.reason.startswith("item in CONFLICT changes the group: ")
    assert r.reason.endswith(
        "total 1 (encoded coding) or 2 (alternative coding) fall in groups 0-1 and 2-4"
    )
    chemo = next(i for i in r.items if i.factor == "prior_palliative_chemotherapy")
    assert (chemo.points, chemo.alternative_points) == (0, (1,))
    assert table_row(kb, frame_of, TEACHH_TWO_COURSES, "teachh_2014") == (
        "not_computable",
        None,
        None,
    )


def test_conflict_that_keeps_the_group_is_computed_and_said(
    kb: KnowledgeBase, frame_of: Any
) -> None:
    patient = {**TEACHH_TWO_COURSES, "age_years": 50}
    r = result(kb, patient, "teachh_2014")
    assert (r.status, r.points, r.group) == ("computed", 0, "0-1")
    # the conflict cannot change the group, so the result keeps the instrument's level (Q10)
    assert r.verification == "primary"
    assert r.conflict is not None
    assert r.conflict.endswith(
        "total 0 (encoded coding) or 1 (alternative coding), both in group 0-1: "
        "the conflict does not change the group"
    )
    assert table_row(kb, frame_of, patient, "teachh_2014") == ("computed", 0, "0-1")


@pytest.mark.parametrize(
    ("patient", "status", "points", "groups"),
    [
        (  # 0+1+2+1+5+0 = 9 (9-11); alternative VB 1 gives 8 (0-8)
            {"kps": 40, "extraspinal_bone_metastases": 1, "vertebral_body_metastases": 1,
             "visceral_metastases": True, "visceral_metastases_resectable": True,
             "primary_tumor": "thyroid", "frankel_grade": "A"},
            "not_computable", None, ("0-8", "9-11"),
        ),
        (  # 2+2+2+2+5+2 = 15; alternative 14, same group
            {"kps": 100, "extraspinal_bone_metastases": 0, "vertebral_body_metastases": 1,
             "visceral_metastases": False, "primary_tumor": "breast", "frankel_grade": "E"},
            "computed", 15, (),
        ),
        (  # vertebral 2: both codings give 1 point, no conflict on the total
            {"kps": 100, "extraspinal_bone_metastases": 0, "vertebral_body_metastases": 2,
             "visceral_metastases": False, "primary_tumor": "breast", "frankel_grade": "E"},
            "computed", 14, (),
        ),
    ],
    ids=["changes-band", "same-band", "no-alternative"],
)  # fmt: skip
def test_tokuhashi_vertebral_conflict(
    kb: KnowledgeBase,
    frame_of: Any,
    patient: dict[str, Any],
    status: str,
    points: int | None,
    groups: tuple[str, ...],
) -> None:
    r = result(kb, patient, "tokuhashi_revised_2005")
    assert (r.status, r.points) == (status, points)
    assert r.possible_groups == groups
    assert table_row(kb, frame_of, patient, "tokuhashi_revised_2005")[:2] == (status, points)
    assert r.flags, "tokuhashi_revised_2005 must carry its CONFLICT flag with every result"


def test_undefined_category_is_not_computable_not_zero(kb: KnowledgeBase, frame_of: Any) -> None:
    patient = {
        "primary_tumor": "colon",
        "visceral_metastases": False,
        "other_bone_metastases": False,
    }
    r = result(kb, patient, "tomita_2001")
    assert r.status == "not_computable"
    assert r.points is None
    assert r.missing == ()
    assert r.reason is not None and r.reason.startswith("category not defined by the source: ")
    assert table_row(kb, frame_of, patient, "tomita_2001") == ("not_computable", None, None)


def test_not_computable_is_a_result_not_an_exception(kb: KnowledgeBase) -> None:
    a = assess_instruments({}, kb)
    assert set(a.instruments) == set(kb.instruments)
    for iid, r in a.instruments.items():
        assert r.status in ("not_computable", "not_applicable"), iid
        assert r.points is None and r.group is None, iid
