"""The field table (``mescc.fields.FIELDS``): one place where every allowed range is written.

The contract's types and ranges are restated here by hand, so a slip in the table (a wrong
bound, a missing enum value) fails a test instead of silently changing what is accepted.
"""

from __future__ import annotations

import math
import typing
from typing import Any

import pytest

from mescc.fields import (
    BOOLEAN_TEXT,
    COURSE_FIELDS,
    FIELD_BY_KEY,
    FIELDS,
    MAX_PRIOR_COURSES,
    NESTED_KEYS,
    PREFERENCE_FIELDS,
    REGIMEN_FIELDS,
    SINS_PARTS,
    TOP_LEVEL_KEYS,
    FieldSpec,
    OversizedNumber,
    boolean_from_text,
    check_object,
    check_value,
    describe_value,
    sins_spec,
    unknown_key_problem,
)
from mescc.patient import Patient, RadiotherapyCourse, Sins

TUMORS = (
    "breast", "prostate", "lung_nsclc", "lung_sclc", "myeloma", "lymphoma", "renal", "colon",
    "rectum", "bladder", "esophagus", "stomach", "pancreas", "liver", "gallbladder", "thyroid",
    "uterus", "carcinoid", "melanoma", "osteosarcoma", "sarcoma_other", "head_neck",
    "unknown_primary", "other",
)  # fmt: skip

#: The contract table, restated: key -> (kind, minimum, maximum, step, enum values). Upper
#: bounds the contract leaves open are the project's (issue 9), each with its basis.
CONTRACT: dict[str, tuple[str, float | None, float | None, int | None, tuple[str, ...] | None]] = {
    "id": ("text", None, None, None, None),
    "age_years": ("int", 18, 120, None, None),
    "sex": ("enum", None, None, None, ("female", "male", "other")),
    "primary_tumor": ("enum", None, None, None, TUMORS),
    "months_from_cancer_diagnosis": ("number", 0, 1440, None, None),
    "other_bone_metastases": ("bool", None, None, None, None),
    "visceral_metastases": ("bool", None, None, None, None),
    "ambulatory_status": (
        "enum", None, None, None,
        ("ambulatory_without_aid", "ambulatory_with_aid", "not_ambulatory", "paraplegic"),
    ),
    "motor_deficit_days": ("number", 0, 3650, None, None),
    "ecog": ("int", 0, 4, None, None),
    "kps": ("int", 0, 100, 10, None),
    "involved_vertebrae": ("int", 1, 33, None, None),
    "sensory_deficits": ("bool", None, None, None, None),
    "sphincter_dysfunction": ("bool", None, None, None, None),
    "escc_grade": ("enum", None, None, None, ("0", "1a", "1b", "1c", "2", "3")),
    "sins_location": ("enum", None, None, None, ("junctional", "mobile", "semirigid", "rigid")),
    "sins_pain": (
        "enum", None, None, None, ("mechanical", "occasional_non_mechanical", "pain_free"),
    ),
    "sins_bone_lesion": ("enum", None, None, None, ("lytic", "mixed", "blastic")),
    "sins_alignment": (
        "enum", None, None, None, ("subluxation_translation", "de_novo_deformity", "normal"),
    ),
    "sins_collapse": (
        "enum", None, None, None, ("over_50", "under_50", "none_over_50_involved", "none"),
    ),
    "sins_posterolateral": ("enum", None, None, None, ("bilateral", "unilateral", "none")),
    "frankel_grade": ("enum", None, None, None, ("A", "B", "C", "D", "E")),
    "extraspinal_bone_metastases": ("int", 0, 1000, None, None),
    "vertebral_body_metastases": ("int", 1, 33, None, None),
    "visceral_metastases_resectable": ("bool", None, None, None, None),
    "extraskeletal_metastases": ("bool", None, None, None, None),
    "hepatic_metastases": ("bool", None, None, None, None),
    "prior_palliative_chemotherapy_courses": ("int", 0, 30, None, None),
    "hospitalized_last_3_months": ("bool", None, None, None, None),
}  # fmt: skip


@pytest.mark.parametrize("key", sorted(CONTRACT))
def test_field_spec_matches_the_contract(key: str) -> None:
    kind, lo, hi, step, values = CONTRACT[key]
    spec = FIELD_BY_KEY[key]
    assert spec.source == "contract"
    assert (spec.kind, spec.minimum, spec.maximum, spec.step) == (kind, lo, hi, step)
    assert spec.values == values


def test_contract_keys_come_first_in_contract_order() -> None:
    contract_rows = [f.key for f in FIELDS if f.source == "contract"]
    assert contract_rows == list(CONTRACT)
    assert [f.key for f in FIELDS[: len(CONTRACT)]] == list(CONTRACT)


def test_keys_are_unique_and_indexed() -> None:
    keys = [f.key for f in FIELDS]
    assert len(keys) == len(set(keys))
    assert {f.key: f for f in FIELDS} == FIELD_BY_KEY


def test_added_keys_name_their_source() -> None:
    for f in FIELDS:
        if f.key not in CONTRACT:
            assert f.source != "contract", f"{f.key} is not in the contract; name its source"
            assert f.description


def test_sins_parts_are_the_flattened_columns() -> None:
    assert [f"sins_{p}" for p in SINS_PARTS] == [f.key for f in FIELDS if f.key.startswith("sins_")]
    for part in SINS_PARTS:
        assert sins_spec(part) is FIELD_BY_KEY[f"sins_{part}"]


def test_top_level_keys_are_the_patient_model_fields() -> None:
    assert set(TOP_LEVEL_KEYS) == set(Patient.model_fields)
    assert not any(k.startswith("sins_") for k in TOP_LEVEL_KEYS)
    assert set(NESTED_KEYS) <= set(TOP_LEVEL_KEYS)


def test_nothing_in_the_patient_model_has_a_default_value() -> None:
    for name, info in Patient.model_fields.items():
        assert info.default is None, f"{name} defaults to {info.default!r}"
    for name, info in Sins.model_fields.items():
        assert info.default is None, f"sins.{name} defaults to {info.default!r}"


@pytest.mark.parametrize("part", SINS_PARTS)
def test_sins_model_values_equal_the_field_table(part: str) -> None:
    annotation = Sins.model_fields[part].annotation
    literal = next(a for a in typing.get_args(annotation) if a is not type(None))
    assert tuple(typing.get_args(literal)) == sins_spec(part).values


@pytest.mark.parametrize("spec", [f for f in FIELDS if f.kind == "enum"], ids=lambda f: f.key)
def test_every_enum_value_is_accepted_by_the_patient_model(spec: FieldSpec) -> None:
    assert spec.values is not None
    for value in spec.values:
        if spec.key.startswith("sins_"):
            data: dict[str, Any] = {"sins": {spec.key.removeprefix("sins_"): value}}
        else:
            data = {spec.key: value}
        assert Patient.from_data(data).to_row()[spec.key] == value


@pytest.mark.parametrize(
    ("key", "allowed"),
    [
        ("kps", "0-100 in steps of 10"),
        ("ecog", "integer 0-4"),
        ("age_years", "integer 18-120"),
        ("involved_vertebrae", "integer 1-33"),
        ("months_from_cancer_diagnosis", "number 0-1440"),
        ("visceral_metastases", "true or false"),
        ("sex", "one of female, male, other"),
        (
            "id",
            "text of at most 100 characters, without control, bidi or invisible formatting "
            "characters",
        ),
    ],
)
def test_allowed_text(key: str, allowed: str) -> None:
    assert FIELD_BY_KEY[key].allowed == allowed


def test_course_and_preference_specs() -> None:
    course = {f.key: f for f in COURSE_FIELDS}
    assert course["fractions"].allowed == "integer 1-100"
    assert course["dose_per_fraction_gy"].allowed == "number 0.1-30"
    assert course["dose_per_fraction_gy"].unit == "Gy"
    assert course["months_before"].allowed == "number 0-1440"
    prefs = {f.key: f for f in PREFERENCE_FIELDS}
    assert prefs["priority"].values == ("balanced", "fewest_visits", "durable_local_control")
    assert prefs["surgery_acceptable"].kind == "bool"


def test_units_are_in_the_names() -> None:
    assert FIELD_BY_KEY["months_from_cancer_diagnosis"].unit == "months"
    assert FIELD_BY_KEY["motor_deficit_days"].unit == "days"
    assert FIELD_BY_KEY["age_years"].unit == "years"


@pytest.mark.parametrize(
    ("key", "domain"),
    [
        ("kps", tuple(range(0, 101, 10))),
        ("ecog", (0, 1, 2, 3, 4)),
        ("age_years", tuple(range(18, 121))),
        ("visceral_metastases", (False, True)),
        ("escc_grade", ("0", "1a", "1b", "1c", "2", "3")),
        ("months_from_cancer_diagnosis", None),
        ("extraspinal_bone_metastases", None),
        ("id", None),
    ],
)
def test_domain(key: str, domain: tuple[Any, ...] | None) -> None:
    assert FIELD_BY_KEY[key].domain() == domain


def test_check_value_none_is_unknown_for_every_key() -> None:
    for spec in FIELDS:
        assert check_value(spec.key, None, spec) == (None, None)


@pytest.mark.parametrize(
    ("key", "value", "clean"),
    [
        ("kps", 70.0, 70),
        ("kps", 0, 0),
        ("kps", 100, 100),
        ("ecog", 4, 4),
        ("age_years", 18, 18),
        ("age_years", 120, 120),
        ("months_from_cancer_diagnosis", 0, 0),
        ("months_from_cancer_diagnosis", 15.5, 15.5),
        ("escc_grade", 2, "2"),
        ("escc_grade", "1c", "1c"),
        ("visceral_metastases", False, False),
        ("id", "abc", "abc"),
    ],
)
def test_check_value_accepts_allowed_values(key: str, value: Any, clean: Any) -> None:
    ok, problem = check_value(key, value, FIELD_BY_KEY[key])
    assert problem is None
    assert ok == clean and type(ok) is type(clean)


@pytest.mark.parametrize(
    ("key", "value", "what"),
    [
        ("kps", 75, "is not allowed"),
        ("kps", 101, "is out of range"),
        ("kps", 69.9, "is not an integer"),
        ("kps", False, "is not an integer"),
        ("ecog", math.nan, "is not a finite number"),
        ("months_from_cancer_diagnosis", True, "is not a number"),
        ("months_from_cancer_diagnosis", -0.01, "is out of range"),
        ("months_from_cancer_diagnosis", -math.inf, "is not a finite number"),
        ("visceral_metastases", "false", "is not a boolean"),
        ("visceral_metastases", 0, "is not a boolean"),
        ("escc_grade", True, "is not an allowed value"),
        ("escc_grade", ["2"], "is not an allowed value"),
        ("id", 1, "is not text"),
    ],
)
def test_check_value_refuses_never_rounds(key: str, value: Any, what: str) -> None:
    spec = FIELD_BY_KEY[key]
    ok, problem = check_value(key, value, spec)
    assert ok is None
    assert problem is not None
    assert problem.field == key
    assert problem.value is value or (isinstance(value, float) and math.isnan(value))
    assert problem.allowed == spec.allowed
    assert problem.message == f"{key}: {describe_value(value)} {what}; allowed: {spec.allowed}"


@pytest.mark.parametrize(
    ("value", "shown"),
    [(True, "true"), (False, "false"), ("x", '"x"'), (None, "null"), (3.0, "3"), (1.5, "1.5"),
     (75, "75"), ([1], "[1]")],
)  # fmt: skip
def test_describe_value_shows_the_value_as_given(value: Any, shown: str) -> None:
    assert describe_value(value) == shown


def test_unknown_key_problem() -> None:
    p = unknown_key_problem("sins.pian", ["location", "pain"])
    assert p.message == 'sins.pian: unknown key; did you mean "pain"?'
    assert p.field == "sins.pian"
    far = unknown_key_problem("zzz", ["location", "pain"])
    assert far.message == "zzz: unknown key; see `mescc instruments` for the keys"


def test_check_object_lists_every_problem_and_keeps_good_values() -> None:
    problems: list[Any] = []
    clean = check_object(
        "preferences",
        {"priority": "balanced", "surgery_acceptable": "no", "extra": 1},
        PREFERENCE_FIELDS,
        problems,
    )
    assert clean == {"priority": "balanced"}
    assert [p.field for p in problems] == ["preferences.surgery_acceptable", "preferences.extra"]
    assert check_object("preferences", None, PREFERENCE_FIELDS, problems) is None


# --------------------------------------------------------------------------- issue 9: bounds

NUMERIC = [f for f in (*FIELDS, *COURSE_FIELDS, *REGIMEN_FIELDS) if f.kind in ("int", "number")]
#: Keys whose both bounds the contract itself states.
CONTRACT_BOUNDED = {"age_years", "ecog", "kps"}


@pytest.mark.parametrize("spec", NUMERIC, ids=lambda f: f.key)
def test_every_number_has_both_bounds_and_says_where_they_come_from(spec: FieldSpec) -> None:
    assert spec.minimum is not None and spec.maximum is not None, (
        f"{spec.key}: give it a published or clinically sane range (issue 9)"
    )
    assert spec.minimum <= spec.maximum
    assert spec.allowed.endswith(f"{_n(spec.minimum)}-{_n(spec.maximum)}") or spec.step
    if spec.key not in CONTRACT_BOUNDED:
        assert spec.basis, (
            f"{spec.key}: say in basis where its bounds come from (a citation, or 'project "
            "decision: ...')"
        )


def _n(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@pytest.mark.parametrize(
    ("key", "lo", "hi"),
    [
        ("involved_vertebrae", 1, 33),
        ("vertebral_body_metastases", 1, 33),
        ("extraspinal_bone_metastases", 0, 1000),
        ("months_from_cancer_diagnosis", 0, 1440),
        ("motor_deficit_days", 0, 3650),
        ("paraplegia_hours", 0, 87600),
        ("prior_palliative_chemotherapy_courses", 0, 30),
    ],
)
def test_chosen_bounds(key: str, lo: float, hi: float) -> None:
    spec = FIELD_BY_KEY[key]
    assert (spec.minimum, spec.maximum) == (lo, hi)
    assert spec.basis and spec.basis.startswith("project decision")
    assert check_value(key, hi, spec)[1] is None
    assert check_value(key, hi + 1, spec)[1] is not None
    assert check_value(key, lo - 1, spec)[1] is not None


def test_course_and_dose_bounds_refuse_zero_gray_and_an_impossible_course() -> None:
    by_key = {f.key: f for f in COURSE_FIELDS}
    assert check_value("d", 0, by_key["dose_per_fraction_gy"])[1] is not None
    assert check_value("d", 0.1, by_key["dose_per_fraction_gy"])[1] is None
    assert check_value("f", 2**63 - 1, by_key["fractions"])[1] is not None
    assert [f.key for f in REGIMEN_FIELDS] == ["fractions", "dose_per_fraction_gy", "alpha_beta"]
    assert MAX_PRIOR_COURSES == 10


def _schema_bounds(schema: dict[str, Any], key: str) -> tuple[Any, Any, Any]:
    node = schema["properties"][key]
    for option in node.get("anyOf", [node]):
        if option.get("type") in ("integer", "number", "string"):
            return (
                option.get("minimum"),
                option.get("maximum"),
                option.get("multipleOf", option.get("maxLength")),
            )
    raise AssertionError(key)


@pytest.mark.parametrize(
    "spec", [f for f in FIELDS if f.kind in ("int", "number", "text")], ids=lambda f: f.key
)
def test_the_patient_model_has_the_bounds_of_the_field_table(spec: FieldSpec) -> None:
    lo, hi, extra = _schema_bounds(Patient.model_json_schema(), spec.key)
    assert (lo, hi) == (spec.minimum, spec.maximum)
    assert extra == (spec.step or spec.max_length)


@pytest.mark.parametrize("spec", [f for f in COURSE_FIELDS if f.kind != "enum"], ids=str)
def test_the_course_model_has_the_bounds_of_the_field_table(spec: FieldSpec) -> None:
    schema = RadiotherapyCourse.model_json_schema()
    assert _schema_bounds(schema, spec.key)[:2] == (spec.minimum, spec.maximum)
    courses = Patient.model_json_schema()["properties"]["prior_radiotherapy"]["anyOf"][0]
    assert courses["maxItems"] == MAX_PRIOR_COURSES


# --------------------------------------------------------------------------- issue 9: values


def test_one_boolean_rule_for_every_format() -> None:
    assert dict(BOOLEAN_TEXT) == {"true": True, "false": False}
    assert boolean_from_text("true") is True and boolean_from_text("false") is False
    for text in ("yes", "no", "True", "FALSE", "1", "0", "on", "off", "y", "n", " true", ""):
        assert boolean_from_text(text) is None, text
        assert check_value("b", text, FIELD_BY_KEY["visceral_metastases"])[1] is not None


@pytest.mark.parametrize(
    "spec", [f for f in FIELDS if f.kind in ("int", "number")], ids=lambda f: f.key
)
@pytest.mark.parametrize("text", ["18446744073709551616", "9" * 5000, "1e400", "NaN"])
def test_a_number_without_a_machine_value_is_refused_for_every_numeric_key(
    spec: FieldSpec, text: str
) -> None:
    ok, problem = check_value(spec.key, OversizedNumber(text), spec)
    assert ok is None and problem is not None
    assert problem.message.endswith(f"; allowed: {spec.allowed}")
    assert len(problem.message) < 300


def test_free_text_is_bounded_and_refuses_hidden_characters() -> None:
    spec = FIELD_BY_KEY["id"]
    assert spec.max_length == 100
    assert check_value("id", "x" * 100, spec) == ("x" * 100, None)
    assert check_value("id", "x" * 101, spec)[1] is not None
    assert check_value("id", "MRN\u202e1", spec)[1] is not None
    assert check_value("id", "MRN\n1", spec)[1] is not None
    note = FIELD_BY_KEY["steroid_contraindication_note"]
    assert note.multiline and note.max_length == 1000
    assert check_value("n", "a\n\tb", note) == ("a\n\tb", None)
    assert check_value("n", "a\rb", note)[1] is not None


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("x" * 61, '"' + "x" * 60 + '"... (61 characters)'),
        ("\x1b[2J", '"[U+001B][2J"'),
        (10**500, "an integer of about 501 digits"),
        (-(10**30), "-1000000000000000000000000000000"),
        (1e308, "1e+308"),
        (OversizedNumber("9" * 100), "9" * 60 + "... (100 digits)"),
        ([["deep"] * 10] * 10, "[" + "['deep', 'deep', 'deep', 'deep', ...], " * 4 + "...]"),
    ],
)
def test_describe_value_is_short_and_visible(value: Any, shown: str) -> None:
    assert describe_value(value) == shown
