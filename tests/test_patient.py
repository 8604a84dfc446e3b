"""The patient model: exactly the contract's keys, every bad field named, nothing defaulted.

Each contract key is tried with a wrong type, an out-of-range value and (for enums) an unknown
value; the message must be the one sentence shape of conventions §3.9:
``<field>: <value as given> <what is wrong>; allowed: <what is allowed>``.
"""

from __future__ import annotations

import pickle
import re
from typing import Any

import pytest

from mescc.errors import InputError, Problem
from mescc.fields import COURSE_FIELDS, FIELDS, TOP_LEVEL_KEYS
from mescc.patient import Patient

TUMORS = (
    "breast, prostate, lung_nsclc, lung_sclc, myeloma, lymphoma, renal, colon, rectum, bladder, "
    "esophagus, stomach, pancreas, liver, gallbladder, thyroid, uterus, carcinoid, melanoma, "
    "osteosarcoma, sarcoma_other, head_neck, unknown_primary, other"
)
AMBULATORY = "ambulatory_without_aid, ambulatory_with_aid, not_ambulatory, paraplegic"
BOOL = "true or false"

#: (key, value as given, exact message). Every contract key appears at least once.
BAD_VALUES: list[tuple[str, Any, str]] = [
    (
        "id",
        5,
        "id: 5 is not text; allowed: text of at most 100 characters, without control, bidi "
        "or invisible formatting characters",
    ),
    ("age_years", "70", 'age_years: "70" is not an integer; allowed: integer 18-120'),
    ("age_years", 17, "age_years: 17 is out of range; allowed: integer 18-120"),
    ("age_years", 121, "age_years: 121 is out of range; allowed: integer 18-120"),
    ("age_years", 70.5, "age_years: 70.5 is not an integer; allowed: integer 18-120"),
    ("age_years", True, "age_years: true is not an integer; allowed: integer 18-120"),
    ("sex", "f", 'sex: "f" is not an allowed value; allowed: one of female, male, other'),
    ("sex", 1, "sex: 1 is not an allowed value; allowed: one of female, male, other"),
    (
        "primary_tumor",
        "lung",
        f'primary_tumor: "lung" is not an allowed value; allowed: one of {TUMORS}',
    ),
    (
        "primary_tumor",
        True,
        f"primary_tumor: true is not an allowed value; allowed: one of {TUMORS}",
    ),
    (
        "months_from_cancer_diagnosis",
        "12",
        'months_from_cancer_diagnosis: "12" is not a number; allowed: number 0-1440',
    ),
    (
        "months_from_cancer_diagnosis",
        -1,
        "months_from_cancer_diagnosis: -1 is out of range; allowed: number 0-1440",
    ),
    (
        "months_from_cancer_diagnosis",
        float("nan"),
        "months_from_cancer_diagnosis: nan is not a finite number; allowed: number 0-1440",
    ),
    (
        "other_bone_metastases",
        "yes",
        f'other_bone_metastases: "yes" is not a boolean; allowed: {BOOL}',
    ),
    ("other_bone_metastases", 1, f"other_bone_metastases: 1 is not a boolean; allowed: {BOOL}"),
    (
        "visceral_metastases",
        "true",
        f'visceral_metastases: "true" is not a boolean; allowed: {BOOL}',
    ),
    (
        "ambulatory_status",
        "walking",
        f'ambulatory_status: "walking" is not an allowed value; allowed: one of {AMBULATORY}',
    ),
    (
        "ambulatory_status",
        2,
        f"ambulatory_status: 2 is not an allowed value; allowed: one of {AMBULATORY}",
    ),
    (
        "motor_deficit_days",
        -0.5,
        "motor_deficit_days: -0.5 is out of range; allowed: number 0-3650",
    ),
    ("motor_deficit_days", "3", 'motor_deficit_days: "3" is not a number; allowed: number 0-3650'),
    ("ecog", 5, "ecog: 5 is out of range; allowed: integer 0-4"),
    ("ecog", -1, "ecog: -1 is out of range; allowed: integer 0-4"),
    ("ecog", 1.5, "ecog: 1.5 is not an integer; allowed: integer 0-4"),
    ("ecog", "2", 'ecog: "2" is not an integer; allowed: integer 0-4'),
    ("kps", 75, "kps: 75 is not allowed; allowed: 0-100 in steps of 10"),
    ("kps", 110, "kps: 110 is out of range; allowed: 0-100 in steps of 10"),
    ("kps", -10, "kps: -10 is out of range; allowed: 0-100 in steps of 10"),
    ("kps", "70", 'kps: "70" is not an integer; allowed: 0-100 in steps of 10'),
    ("kps", True, "kps: true is not an integer; allowed: 0-100 in steps of 10"),
    ("kps", float("inf"), "kps: inf is not a finite number; allowed: 0-100 in steps of 10"),
    ("involved_vertebrae", 0, "involved_vertebrae: 0 is out of range; allowed: integer 1-33"),
    ("involved_vertebrae", 1.5, "involved_vertebrae: 1.5 is not an integer; allowed: integer 1-33"),
    ("sensory_deficits", "no", f'sensory_deficits: "no" is not a boolean; allowed: {BOOL}'),
    ("sphincter_dysfunction", 0, f"sphincter_dysfunction: 0 is not a boolean; allowed: {BOOL}"),
    (
        "escc_grade",
        "4",
        'escc_grade: "4" is not an allowed value; allowed: one of 0, 1a, 1b, 1c, 2, 3',
    ),
    (
        "escc_grade",
        "1d",
        'escc_grade: "1d" is not an allowed value; allowed: one of 0, 1a, 1b, 1c, 2, 3',
    ),
    (
        "escc_grade",
        1.5,
        "escc_grade: 1.5 is not an allowed value; allowed: one of 0, 1a, 1b, 1c, 2, 3",
    ),
    (
        "frankel_grade",
        "a",
        'frankel_grade: "a" is not an allowed value (did you mean "A"?); allowed: one of A, B, C, '
        "D, E",
    ),
    (
        "frankel_grade",
        "F",
        'frankel_grade: "F" is not an allowed value; allowed: one of A, B, C, D, E',
    ),
    (
        "extraspinal_bone_metastases",
        -1,
        "extraspinal_bone_metastases: -1 is out of range; allowed: integer 0-1000",
    ),
    (
        "extraspinal_bone_metastases",
        "many",
        'extraspinal_bone_metastases: "many" is not an integer; allowed: integer 0-1000',
    ),
    (
        "vertebral_body_metastases",
        0,
        "vertebral_body_metastases: 0 is out of range; allowed: integer 1-33",
    ),
    (
        "visceral_metastases_resectable",
        "yes",
        f'visceral_metastases_resectable: "yes" is not a boolean; allowed: {BOOL}',
    ),
    (
        "extraskeletal_metastases",
        "yes",
        f'extraskeletal_metastases: "yes" is not a boolean; allowed: {BOOL}',
    ),
    ("hepatic_metastases", 2, f"hepatic_metastases: 2 is not a boolean; allowed: {BOOL}"),
    (
        "prior_palliative_chemotherapy_courses",
        -1,
        "prior_palliative_chemotherapy_courses: -1 is out of range; allowed: integer 0-30",
    ),
    (
        "prior_palliative_chemotherapy_courses",
        1.5,
        "prior_palliative_chemotherapy_courses: 1.5 is not an integer; allowed: integer 0-30",
    ),
    (
        "hospitalized_last_3_months",
        "n",
        f'hospitalized_last_3_months: "n" is not a boolean; allowed: {BOOL}',
    ),
]

#: Nested keys: (raw patient, exact messages in order).
BAD_NESTED: list[tuple[dict[str, Any], list[str]]] = [
    (
        {"sins": {"location": "cervical"}},
        [
            'sins.location: "cervical" is not an allowed value; '
            "allowed: one of junctional, mobile, semirigid, rigid"
        ],
    ),
    (
        {"sins": {"pain": "x", "bone_lesion": "sclerotic"}},
        [
            'sins.pain: "x" is not an allowed value; '
            "allowed: one of mechanical, occasional_non_mechanical, pain_free",
            'sins.bone_lesion: "sclerotic" is not an allowed value; '
            "allowed: one of lytic, mixed, blastic",
        ],
    ),
    (
        {"sins": {"alignment": 1, "collapse": "50", "posterolateral": True}},
        [
            "sins.alignment: 1 is not an allowed value; "
            "allowed: one of subluxation_translation, de_novo_deformity, normal",
            'sins.collapse: "50" is not an allowed value; '
            "allowed: one of over_50, under_50, none_over_50_involved, none",
            "sins.posterolateral: true is not an allowed value; "
            "allowed: one of bilateral, unilateral, none",
        ],
    ),
    (
        {"sins": {"locaton": "mobile"}},
        ['sins.locaton: unknown key; did you mean "location"?'],
    ),
    (
        {"preferences": {"priority": "fast", "surgery_acceptable": "yes"}},
        [
            'preferences.priority: "fast" is not an allowed value; '
            "allowed: one of balanced, fewest_visits, durable_local_control",
            f'preferences.surgery_acceptable: "yes" is not a boolean; allowed: {BOOL}',
        ],
    ),
    (
        {"preferences": {"prio": "balanced"}},
        ['preferences.prio: unknown key; did you mean "priority"?'],
    ),
    (
        {"prior_radiotherapy": [{"fractions": 0, "dose_per_fraction_gy": 3}]},
        ["prior_radiotherapy[0].fractions: 0 is out of range; allowed: integer 1-100"],
    ),
    (
        {
            "prior_radiotherapy": [
                {"fractions": 10, "dose_per_fraction_gy": 3, "months_before": 12},
                {"fractions": 5, "dose_per_fraction_gy": 31, "months_before": -1},
            ]
        },
        [
            "prior_radiotherapy[1].dose_per_fraction_gy: 31 is out of range; "
            "allowed: number 0.1-30",
            "prior_radiotherapy[1].months_before: -1 is out of range; allowed: number 0-1440",
        ],
    ),
    (
        {"prior_radiotherapy": [{"dose_per_fraction_gy": 3}]},
        ["prior_radiotherapy[0].fractions: missing; a course needs it; allowed: integer 1-100"],
    ),
    (
        {"prior_radiotherapy": [{"fractions": 10, "dose_per_fraction_gy": 3, "technique": "imrt"}]},
        [
            'prior_radiotherapy[0].technique: "imrt" is not an allowed value; '
            "allowed: one of conventional, sbrt"
        ],
    ),
    (
        {"prior_radiotherapy": [{"fractions": 10, "dose_per_fraction": 3}]},
        [
            "prior_radiotherapy[0].dose_per_fraction: unknown key; "
            'did you mean "dose_per_fraction_gy"?',
            "prior_radiotherapy[0].dose_per_fraction_gy: missing; a course needs it; "
            "allowed: number 0.1-30",
        ],
    ),
    (
        {"prior_radiotherapy": 5},
        [
            "prior_radiotherapy: 5 is not a list; allowed: a list of at most 10 courses, "
            "each an object with keys " + ", ".join(f.key for f in COURSE_FIELDS)
        ],
    ),
]

CONTRACT_KEYS = (
    "id", "age_years", "sex", "primary_tumor", "months_from_cancer_diagnosis",
    "other_bone_metastases", "visceral_metastases", "ambulatory_status", "motor_deficit_days",
    "ecog", "kps", "involved_vertebrae", "sensory_deficits", "sphincter_dysfunction",
    "escc_grade", "sins", "frankel_grade", "extraspinal_bone_metastases",
    "vertebral_body_metastases", "visceral_metastases_resectable", "extraskeletal_metastases",
    "hepatic_metastases", "prior_palliative_chemotherapy_courses", "hospitalized_last_3_months",
    "prior_radiotherapy", "preferences",
)  # fmt: skip

#: A problem message in the one sentence shape (or the unknown-key shape).
SHAPE = re.compile(r"^(?P<field>[\w.\[\]]+): (?P<rest>.+); allowed: (?P<allowed>.+)$")
UNKNOWN_SHAPE = re.compile(r'^[\w.\[\]]+: unknown key; (did you mean "\w+"\?|see `mescc .+)$')


def problems_of(data: Any) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        Patient.from_data(data)
    return caught.value.problems


@pytest.mark.parametrize(
    ("key", "value", "message"),
    BAD_VALUES,
    ids=[f"{k}={v!r}" for k, v, _ in BAD_VALUES],
)
def test_bad_value_is_named_with_value_and_allowed(key: str, value: Any, message: str) -> None:
    problems = problems_of({key: value})
    assert [p.message for p in problems] == [message]
    problem = problems[0]
    assert problem.field == key
    assert problem.message.endswith(f"; allowed: {problem.allowed}")
    assert str(problem) == message


@pytest.mark.parametrize(
    ("data", "messages"),
    BAD_NESTED,
    ids=[f"{next(iter(d))}-{i}" for i, (d, _) in enumerate(BAD_NESTED)],
)
def test_nested_objects_are_checked_key_by_key(data: dict[str, Any], messages: list[str]) -> None:
    assert [p.message for p in problems_of(data)] == messages


def test_every_contract_key_has_a_bad_value_case() -> None:
    tried = {k for k, _, _ in BAD_VALUES} | {k for data, _ in BAD_NESTED for k in data}
    missing = [k for k in CONTRACT_KEYS if k not in tried]
    assert not missing, f"add a bad-value case for {missing} to BAD_VALUES or BAD_NESTED"


def test_contract_keys_are_exactly_the_patient_keys() -> None:
    assert set(CONTRACT_KEYS) <= set(TOP_LEVEL_KEYS)
    assert set(CONTRACT_KEYS) <= set(Patient.model_fields)
    # keys beyond the contract are the documented additions of mescc.fields
    added = set(TOP_LEVEL_KEYS) - set(CONTRACT_KEYS)
    documented = {f.key for f in FIELDS if f.source != "contract"}
    assert added == documented


@pytest.mark.parametrize(
    ("key", "typo", "suggestion"),
    [
        ("ecog", "ecgo", "ecog"),
        ("kps", "kpss", "kps"),
        ("primary_tumor", "primary_tumour", "primary_tumor"),
        ("age_years", "age_year", "age_years"),
        ("visceral_metastases", "visceral_metastasis", "visceral_metastases"),
    ],
)
def test_unknown_key_suggests_the_close_key(key: str, typo: str, suggestion: str) -> None:
    problems = problems_of({typo: 1})
    assert [p.message for p in problems] == [f'{typo}: unknown key; did you mean "{suggestion}"?']
    assert problems[0].field == typo


def test_unknown_key_without_a_close_match_points_to_the_key_list() -> None:
    problems = problems_of({"xyzzy": 1})
    assert [p.message for p in problems] == [
        "xyzzy: unknown key; see `mescc instruments` for the keys"
    ]


def test_flattened_sins_key_is_not_a_patient_key() -> None:
    # sins is an object in patient input; the flat column name is for batch only
    problems = problems_of({"sins_location": "mobile"})
    assert [p.field for p in problems] == ["sins_location"]
    assert "unknown key" in problems[0].message


def test_every_problem_is_listed_at_once() -> None:
    data = {
        "kps": 75,
        "ecgo": 1,
        "age_years": 12,
        "sex": "f",
        "sins": {"pain": "x"},
        "visceral_metastases": "yes",
        "preferences": {"priority": "fast"},
        "prior_radiotherapy": [{"fractions": 0, "dose_per_fraction_gy": 3}],
        "primary_tumor": "breast",
    }
    problems = problems_of(data)
    assert [p.field for p in problems] == [
        "kps",
        "ecgo",
        "age_years",
        "sex",
        "sins.pain",
        "visceral_metastases",
        "preferences.priority",
        "prior_radiotherapy[0].fractions",
    ]
    text = str(InputError(problems))
    assert text.splitlines() == [p.message for p in problems]


def test_every_problem_of_a_prior_course_is_listed() -> None:
    # a course with a bad value that also lacks its required keys: all three are problems
    problems = problems_of({"prior_radiotherapy": [{"months_before": -1}]})
    assert [p.message for p in problems] == [
        "prior_radiotherapy[0].months_before: -1 is out of range; allowed: number 0-1440",
        "prior_radiotherapy[0].fractions: missing; a course needs it; allowed: integer 1-100",
        "prior_radiotherapy[0].dose_per_fraction_gy: missing; a course needs it; "
        "allowed: number 0.1-30",
    ]


def test_every_problem_message_has_the_one_sentence_shape() -> None:
    data: dict[str, Any] = {k: v for k, v, _ in BAD_VALUES}
    data.update({"ecgo": 1, "xyzzy": 2})
    problems = problems_of(data)
    assert len(problems) == len({k for k, _, _ in BAD_VALUES}) + 2
    for p in problems:
        if "unknown key" in p.message:
            assert UNKNOWN_SHAPE.match(p.message), p.message
            continue
        m = SHAPE.match(p.message)
        assert m, p.message
        assert m["field"] == p.field
        assert m["allowed"] == p.allowed


@pytest.mark.parametrize(
    "data",
    [
        {"sins": 5},
        {"sins": "mobile"},
        {"preferences": "balanced"},
        {"prior_radiotherapy": [5]},
        [1, 2],
    ],
    ids=["sins=5", "sins=text", "preferences=text", "course=5", "patient=list"],
)
def test_a_value_that_is_not_an_object_names_what_is_allowed(data: Any) -> None:
    # conventions §3.9: every problem is "<field>: <value> <what is wrong>; allowed: <...>"
    problems = problems_of(data)
    assert len(problems) == 1
    assert SHAPE.match(problems[0].message), (
        f"{problems[0].message!r} does not say what is allowed (conventions §3.9)"
    )


@pytest.mark.parametrize(
    "dependent", ["visceral_metastases_resectable", "visceral_metastases_treatable"]
)
@pytest.mark.parametrize("value", [True, False])
def test_visceral_detail_without_visceral_metastases_is_refused(
    dependent: str, value: bool
) -> None:
    shown = "true" if value else "false"
    problems = problems_of({"visceral_metastases": False, dependent: value})
    assert [p.message for p in problems] == [
        f"{dependent}: {shown} contradicts visceral_metastases: false; "
        "allowed: only with visceral_metastases: true"
    ]
    assert problems[0].field == dependent


def test_visceral_detail_with_visceral_metastases_is_accepted() -> None:
    p = Patient.from_data({"visceral_metastases": True, "visceral_metastases_resectable": False})
    assert p.visceral_metastases is True
    assert p.visceral_metastases_resectable is False


def test_visceral_detail_with_visceral_unknown_is_kept() -> None:
    p = Patient.from_data({"visceral_metastases_resectable": True})
    assert p.visceral_metastases is None
    assert p.visceral_metastases_resectable is True


def test_missing_is_none() -> None:
    p = Patient.from_data({})
    for key in TOP_LEVEL_KEYS:
        assert getattr(p, key) is None, f"{key} was defaulted to {getattr(p, key)!r}"
    row = p.to_row()
    assert set(row) == {f.key for f in FIELDS}
    assert all(v is None for v in row.values()), {k: v for k, v in row.items() if v is not None}
    assert p.given() == {}


def test_explicit_null_is_unknown_not_a_value() -> None:
    p = Patient.from_data({"kps": None, "visceral_metastases": None, "sins": None})
    assert p.kps is None and p.visceral_metastases is None and p.sins is None
    assert p.given() == {}


def test_partial_sins_leaves_other_parts_unknown() -> None:
    row = Patient.from_data({"sins": {"location": "mobile"}}).to_row()
    assert row["sins_location"] == "mobile"
    for part in ("pain", "bone_lesion", "alignment", "collapse", "posterolateral"):
        assert row[f"sins_{part}"] is None


def test_false_is_kept_as_a_finding_not_dropped() -> None:
    p = Patient.from_data({"visceral_metastases": False, "other_bone_metastases": False})
    assert p.to_row()["visceral_metastases"] is False
    assert p.given() == {"visceral_metastases": False, "other_bone_metastases": False}


def test_integral_float_is_accepted_for_an_integer_key_and_never_rounded() -> None:
    p = Patient.from_data({"kps": 70.0, "ecog": 2.0})
    assert p.kps == 70 and isinstance(p.kps, int)
    assert p.ecog == 2 and isinstance(p.ecog, int)
    assert [x.field for x in problems_of({"kps": 70.5, "ecog": 1.0000001})] == ["kps", "ecog"]


def test_enum_value_written_as_a_number_is_read_as_its_text() -> None:
    assert Patient.from_data({"escc_grade": 2}).escc_grade == "2"
    assert Patient.from_data({"escc_grade": 0}).escc_grade == "0"


def test_valid_full_patient_round_trips() -> None:
    data = {
        "id": "p-001",
        "age_years": 67,
        "sex": "female",
        "primary_tumor": "breast",
        "months_from_cancer_diagnosis": 30.5,
        "other_bone_metastases": True,
        "visceral_metastases": True,
        "visceral_metastases_resectable": False,
        "ambulatory_status": "ambulatory_with_aid",
        "motor_deficit_days": 10,
        "ecog": 2,
        "kps": 60,
        "involved_vertebrae": 2,
        "sensory_deficits": False,
        "sphincter_dysfunction": False,
        "escc_grade": "1c",
        "sins": {
            "location": "junctional",
            "pain": "mechanical",
            "bone_lesion": "lytic",
            "alignment": "normal",
            "collapse": "none",
            "posterolateral": "unilateral",
        },
        "frankel_grade": "D",
        "extraspinal_bone_metastases": 2,
        "vertebral_body_metastases": 1,
        "extraskeletal_metastases": True,
        "hepatic_metastases": False,
        "prior_palliative_chemotherapy_courses": 1,
        "hospitalized_last_3_months": False,
        "prior_radiotherapy": [{"fractions": 1, "dose_per_fraction_gy": 8, "months_before": 9}],
        "preferences": {"priority": "fewest_visits", "surgery_acceptable": False},
    }
    p = Patient.from_data(data)
    given = p.given()
    assert given["sins"] == data["sins"]
    assert given["prior_radiotherapy"] == [
        {"fractions": 1, "dose_per_fraction_gy": 8.0, "months_before": 9.0}
    ]
    assert {k: v for k, v in given.items() if k not in ("sins", "prior_radiotherapy")} == {
        k: v for k, v in data.items() if k not in ("sins", "prior_radiotherapy")
    }
    assert p.to_row()["sins_posterolateral"] == "unilateral"


def test_input_error_pickles_with_every_problem() -> None:
    problems = problems_of({"kps": 75, "ecgo": 1})
    err = pickle.loads(pickle.dumps(InputError(problems)))
    assert isinstance(err, InputError)
    assert [p.message for p in err.problems] == [p.message for p in problems]
    assert str(err) == str(InputError(problems))


def test_problem_as_dict_has_field_value_allowed_and_message() -> None:
    (problem,) = problems_of({"kps": 75})
    assert problem.as_dict() == {
        "field": "kps",
        "value": 75,
        "allowed": "0-100 in steps of 10",
        "message": "kps: 75 is not allowed; allowed: 0-100 in steps of 10",
    }


def test_input_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Patient.from_data({"kps": 75})


# --------------------------------------------------------------------------- issue 9


@pytest.mark.parametrize(
    "courses",
    [[None], [None, None], [{"fractions": 5, "dose_per_fraction_gy": 4}, None], [5], ["x"], [[]]],
    ids=["null", "two-nulls", "good-and-null", "number", "text", "list"],
)
def test_a_null_or_malformed_course_is_an_error_never_dropped(courses: list[Any]) -> None:
    # dropping it would read [null] as [] ("no earlier radiotherapy": an unknown made negative)
    bad = [i for i, c in enumerate(courses) if not isinstance(c, dict)]
    problems = problems_of({"prior_radiotherapy": courses})
    assert [p.field for p in problems] == [f"prior_radiotherapy[{i}]" for i in bad]
    assert all(SHAPE.match(p.message) for p in problems)


def test_an_empty_course_list_stays_a_known_negative() -> None:
    assert Patient.from_data({"prior_radiotherapy": []}).prior_radiotherapy == ()
    assert Patient.from_data({"prior_radiotherapy": None}).prior_radiotherapy is None


def test_the_number_of_prior_courses_is_capped() -> None:
    course = {"fractions": 5, "dose_per_fraction_gy": 4}
    assert (
        len(Patient.from_data({"prior_radiotherapy": [course] * 10}).prior_radiotherapy or ()) == 10
    )
    (problem,) = problems_of({"prior_radiotherapy": [course] * 11})
    assert problem.message.startswith("prior_radiotherapy: 11 courses are too many; allowed: ")


def test_the_problem_list_is_capped_and_still_pickles() -> None:
    error = InputError(
        [
            Problem(f"k{i}", None, "x", f"k{i}: unknown key; see `mescc instruments`")
            for i in range(500)
        ]
    )
    assert len(error.problems) == 51
    assert error.problems[-1].message.startswith("...: and 450 more problems not listed")
    copy = pickle.loads(pickle.dumps(error))
    assert copy.problems == error.problems
