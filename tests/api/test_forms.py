"""The patient form covers every input key of the library and translates without judging."""

from __future__ import annotations

from mescc.api import forms
from mescc.fields import COURSE_FIELDS, FIELDS, PREFERENCE_FIELDS

from .patients import EXAMPLE_PATIENT


def test_every_patient_key_has_exactly_one_input() -> None:
    keys = [f.key for f in forms.all_fields()]
    assert len(keys) == len(set(keys))
    expected = {f"sins.{s.key[5:]}" if s.key.startswith("sins_") else s.key for s in FIELDS}
    expected |= {f"preferences.{s.key}" for s in PREFERENCE_FIELDS}
    expected |= {
        f"prior_radiotherapy.{row}.{s.key}"
        for row in range(forms.PRIOR_RT_ROWS)
        for s in COURSE_FIELDS
    }
    assert set(keys) == expected


def test_choices_are_the_library_values() -> None:
    specs = {s.key: s for s in FIELDS}
    for field in forms.all_fields():
        if field.kind == "choice" and "." not in field.key:
            assert tuple(v for v, _ in field.options) == specs[field.key].values


def test_round_trip_through_the_form() -> None:
    assert forms.patient_from_form(forms.form_values(EXAMPLE_PATIENT)) == EXAMPLE_PATIENT


def test_empty_fields_are_unknown_not_defaults() -> None:
    assert forms.patient_from_form({"age_years": "", "ecog": "  ", "sex": ""}) == {}


def test_text_that_is_not_a_number_is_passed_on_for_the_library_to_name() -> None:
    patient = forms.patient_from_form({"age_years": "sixty", "kps": "7.5", "ecog": "2"})
    assert patient == {"age_years": "sixty", "kps": 7.5, "ecog": 2}


def test_prior_radiotherapy_rows() -> None:
    patient = forms.patient_from_form(
        {
            "prior_radiotherapy.0.fractions": "5",
            "prior_radiotherapy.0.dose_per_fraction_gy": "4",
            "prior_radiotherapy.0.months_before": "8",
            "prior_radiotherapy.1.fractions": "",
        }
    )
    assert patient == {
        "prior_radiotherapy": [{"fractions": 5, "dose_per_fraction_gy": 4, "months_before": 8}]
    }


def test_problem_fields_map_to_form_names() -> None:
    assert forms.problem_key("prior_radiotherapy[1].fractions") == "prior_radiotherapy.1.fractions"
    assert forms.problem_key("sins.location") == "sins.location"
