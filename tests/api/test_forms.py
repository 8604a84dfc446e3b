"""The patient form covers every input key of the library and translates without judging.

It shows every field and choice by its clinician label, asks neurology and performance status
first, records "no earlier radiotherapy" apart from "unknown" and takes as many courses as a
record may hold; the web tests at the end drive it through the app (no JavaScript).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mescc.api import audit, forms
from mescc.api.audit import Caller, StoredAssessment
from mescc.api.form_help import ECOG_GRADES, KPS_LEVELS, inline_help
from mescc.errors import InputError
from mescc.fields import (
    COURSE_FIELDS,
    FIELD_BY_KEY,
    FIELDS,
    MAX_PRIOR_COURSES,
    PREFERENCE_FIELDS,
    SINS_PARTS,
)
from mescc.kb.loader import load_kb
from mescc.patient import clean_patient_data
from mescc.render.labels import VALUE_LABELS, field_label

from .conftest import csrf_of
from .patients import EXAMPLE_PATIENT

COURSES = [
    {"fractions": 5, "dose_per_fraction_gy": 4, "months_before": 8},
    {"fractions": 1, "dose_per_fraction_gy": 8, "months_before": 20, "technique": "conventional"},
    {"fractions": 3, "dose_per_fraction_gy": 9, "technique": "sbrt", "cord_max_dose_gy": 18},
]


def test_every_patient_key_has_exactly_one_input() -> None:
    keys = [f.key for f in forms.all_fields()]
    assert len(keys) == len(set(keys))
    expected = {f"sins.{s.key[5:]}" if s.key.startswith("sins_") else s.key for s in FIELDS}
    expected |= {f"preferences.{s.key}" for s in PREFERENCE_FIELDS}
    expected |= {
        f"prior_radiotherapy.{row}.{s.key}"
        for row in range(MAX_PRIOR_COURSES)
        for s in COURSE_FIELDS
    }
    expected.add(forms.PRIOR_RT)  # none / unknown / courses
    assert set(keys) == expected


def test_neurology_and_performance_status_come_first() -> None:
    legends = [fs.legend for fs in forms.PATIENT_FORM]
    assert legends[:2] == ["Neurology", "Performance status"]
    order = [legends.index(name) for name in ("Patient and tumour", "Metastatic spread")]
    imaging = next(i for i, legend in enumerate(legends) if legend.startswith("Imaging"))
    prior = next(i for i, legend in enumerate(legends) if legend.startswith("Prior radio"))
    assert order[0] < order[1] < imaging < prior < legends.index("Preferences")
    first = [f.key for f in forms.PATIENT_FORM[0].fields]
    assert first[:3] == ["ambulatory_status", "motor_deficit_days", "frankel_grade"]
    assert {"sensory_deficits", "sphincter_dysfunction", "neurological_signs"} <= set(first)
    assert [f.key for f in forms.PATIENT_FORM[1].fields][:2] == ["ecog", "kps"]


def test_choices_are_the_library_values() -> None:
    for field in forms.all_fields():
        if field.kind == "choice" and "." not in field.key and field.key != forms.PRIOR_RT:
            assert tuple(v for v, _ in field.options) == FIELD_BY_KEY[field.key].values


def test_ecog_and_kps_are_labelled_choices_not_free_text() -> None:
    by_key = {f.key: f for f in forms.all_fields()}
    ecog, kps = by_key["ecog"], by_key["kps"]
    assert ecog.widget == kps.widget == "radios"
    assert [v for v, _ in ecog.options] == ["0", "1", "2", "3", "4"]
    assert [v for v, _ in kps.options] == [str(v) for v in range(100, -1, -10)]
    # Every allowed value is a choice, and nothing else is.
    assert {int(v) for v, _ in ecog.options} == set(FIELD_BY_KEY["ecog"].domain() or ())
    assert {int(v) for v, _ in kps.options} == set(FIELD_BY_KEY["kps"].domain() or ())
    assert dict(ecog.options)["3"] == f"ECOG 3: {ECOG_GRADES[3]}"
    assert dict(kps.options)["80"] == f"80%: {KPS_LEVELS[80]}"


def test_every_label_is_the_clinician_label_never_a_key_or_raw_value() -> None:
    for field in forms.all_fields():
        if field.key == forms.PRIOR_RT:
            assert field.label == field_label("prior_radiotherapy")
            continue
        spec_key = field.key.rsplit(".", 1)[-1]
        spec_key = f"sins_{spec_key}" if field.key.startswith("sins.") else spec_key
        assert field.label == field_label(spec_key)
        assert "_" not in field.label, field.key
        for value, label in field.options:
            assert "_" not in label, (field.key, value)
            if spec_key in VALUE_LABELS:
                assert label.lower() == VALUE_LABELS[spec_key][value].lower()


def test_round_trip_through_the_form() -> None:
    assert forms.patient_from_form(forms.form_values(EXAMPLE_PATIENT)) == EXAMPLE_PATIENT


@pytest.mark.parametrize(
    "prior", [[], COURSES[:1], COURSES, [COURSES[0]] * MAX_PRIOR_COURSES, None]
)
def test_prior_radiotherapy_round_trips_none_unknown_and_many_courses(prior: Any) -> None:
    patient = {**EXAMPLE_PATIENT, **({"prior_radiotherapy": prior} if prior is not None else {})}
    values = forms.form_values(patient)
    assert forms.patient_from_form(values) == patient
    if prior == []:
        assert values[forms.PRIOR_RT] == forms.PRIOR_RT_NONE
    elif prior is None:
        assert forms.PRIOR_RT not in values
    assert forms.rows_for(values) >= len(prior or [])


def test_none_and_unknown_are_different_records() -> None:
    assert forms.patient_from_form({forms.PRIOR_RT: "none"}) == {"prior_radiotherapy": []}
    assert forms.patient_from_form({forms.PRIOR_RT: ""}) == {}


def test_empty_fields_are_unknown_not_defaults() -> None:
    assert forms.patient_from_form({"age_years": "", "ecog": "  ", "sex": ""}) == {}


def test_text_that_is_not_a_number_is_passed_on_for_the_library_to_name() -> None:
    patient = forms.patient_from_form({"age_years": "sixty", "kps": "7.5", "ecog": "2"})
    assert patient == {"age_years": "sixty", "kps": 7.5, "ecog": 2}


def test_filled_rows_come_first_in_the_order_typed() -> None:
    reading = forms.read_form(
        {
            "prior_radiotherapy.1.fractions": "5",
            "prior_radiotherapy.1.dose_per_fraction_gy": "4",
            "prior_radiotherapy.1.months_before": "8",
            "prior_radiotherapy.3.fractions": "1",
            "prior_radiotherapy.3.dose_per_fraction_gy": "8",
            "prior_radiotherapy.4.fractions": "  ",
            "course_rows": "5",
        }
    )
    assert reading.patient == {
        "prior_radiotherapy": [
            {"fractions": 5, "dose_per_fraction_gy": 4, "months_before": 8},
            {"fractions": 1, "dose_per_fraction_gy": 8},
        ]
    }
    assert reading.values["prior_radiotherapy.0.months_before"] == "8"
    assert reading.values["prior_radiotherapy.1.dose_per_fraction_gy"] == "8"
    assert "prior_radiotherapy.3.fractions" not in reading.values
    assert reading.course_rows == 5


def test_a_partly_filled_row_is_passed_on_and_named_by_row_and_field() -> None:
    patient = forms.patient_from_form(
        {
            "prior_radiotherapy.0.fractions": "5",
            "prior_radiotherapy.0.dose_per_fraction_gy": "4",
            "prior_radiotherapy.2.months_before": "6",
        }
    )
    assert patient["prior_radiotherapy"][1] == {"months_before": 6}
    with pytest.raises(InputError) as raised:
        clean_patient_data(patient)
    shown = [forms.shown_message(p.as_dict()) for p in raised.value.problems]
    assert any(
        message.startswith("Earlier radiotherapy to this region, course 2: Fractions: missing")
        for message in shown
    ), shown
    assert all("prior_radiotherapy" not in message.split(";")[0] for message in shown)


@pytest.mark.parametrize(
    ("form", "words"),
    [
        (
            {"prior_radiotherapy": "none", "prior_radiotherapy.0.fractions": "5"},
            "no earlier radiotherapy",
        ),
        ({"prior_radiotherapy": "given"}, "no course row is filled in"),
        ({"prior_radiotherapy": "never"}, '"never" is not a choice'),
    ],
)
def test_a_choice_that_disagrees_with_the_rows_is_a_problem(
    form: dict[str, str], words: str
) -> None:
    with pytest.raises(InputError) as raised:
        forms.patient_from_form(form)
    (problem,) = raised.value.problems
    assert problem.field == forms.PRIOR_RT and words in problem.message
    shown = forms.shown_message(problem.as_dict())
    assert shown.startswith("Earlier radiotherapy to this region: ")
    assert "allowed: " in shown


def test_messages_name_the_field_by_its_label_and_keep_value_and_range() -> None:
    with pytest.raises(InputError) as raised:
        clean_patient_data({"age_years": 5, "kps": 75, "sins": {"location": "spine"}})
    shown = {p.field: forms.shown_message(p.as_dict()) for p in raised.value.problems}
    assert shown["age_years"].startswith("Age: 5 ")
    assert "allowed: " in shown["age_years"] and "18" in shown["age_years"]
    assert shown["kps"].startswith("Karnofsky performance status (KPS): 75 ")
    assert "steps of 10" in shown["kps"]
    assert shown["sins.location"].startswith('SINS: location: "spine"')


def test_rows_shown() -> None:
    assert forms.rows_for({}) == forms.DEFAULT_COURSE_ROWS
    values = forms.form_values({"prior_radiotherapy": COURSES})
    assert forms.rows_for(values) == len(COURSES) + 1  # each course and one blank row
    assert forms.shown_rows(MAX_PRIOR_COURSES + 5) == MAX_PRIOR_COURSES


def test_inline_help_for_bilsky_and_every_sins_item_from_the_knowledge_base() -> None:
    helps = inline_help(load_kb())
    bilsky = helps["escc_grade"]
    assert "axial T2" in bilsky.intro and "High-grade ESCC (grades 2, 3)" in bilsky.intro
    assert len(bilsky.items) == len(FIELD_BY_KEY["escc_grade"].values or ())
    assert any("cord abutted, not compressed" in line for line in bilsky.items)
    for part in SINS_PARTS:
        help_ = helps[f"sins.{part}"]
        values = FIELD_BY_KEY[f"sins_{part}"].values or ()
        assert len(help_.items) == len(values), part
        assert all(re.search(r"\(\d+ points?\)$", line) for line in help_.items), help_.items
        assert all("_" not in line for line in (help_.intro, *help_.items))
    assert "mechanical = relief with recumbency" in helps["sins.pain"].intro
    assert any(line == "Lytic (2 points)" for line in helps["sins.bone_lesion"].items)
    assert "13-18" in helps["sins.location"].intro


def test_problem_fields_map_to_form_names() -> None:
    assert forms.problem_key("prior_radiotherapy[1].fractions") == "prior_radiotherapy.1.fractions"
    assert forms.problem_key("sins.location") == "sins.location"


# ---- through the web app -------------------------------------------------------------------


def _post(web: TestClient, data: dict[str, str]) -> Any:
    page = web.get("/assessments/new")
    return web.post("/assessments", data={**data, "csrf_token": csrf_of(page.text)})


def _course_rows(html: str) -> int:
    return len(re.findall(r'<fieldset class="course" id="course-\d+">', html))


def _stored(app: FastAPI, user: Caller, response: Any) -> StoredAssessment:
    assert response.status_code == 303, response.text[:2000]
    assessment_id = int(response.headers["location"].rsplit("/", 1)[1])
    with app.state.session_factory() as session:
        record = audit.get_assessment(session, assessment_id, viewer=user)
    assert record is not None
    return record


def _stored_count(app: FastAPI, user: Caller) -> int:
    with app.state.session_factory() as session:
        return audit.list_assessments(
            session, audit.AssessmentFilter(), viewer=user, limit=10, offset=0
        ).total


def test_the_form_page_asks_neurology_first_with_choices_and_help(web: TestClient) -> None:
    html = web.get("/assessments/new").text
    legends = re.findall(r'<fieldset class="group" id="group-\d+">\s*<legend>(.*?)</legend>', html)
    assert legends[:3] == ["Neurology", "Performance status", "Patient and tumour"]
    assert '<link rel="stylesheet" href="/static/form.css">' in html
    assert html.count('type="radio" id="f-ecog-') == 6  # unknown and 0-4
    assert html.count('type="radio" id="f-kps-') == 12  # unknown and 100-0
    assert 'name="ecog" type="text"' not in html and 'name="kps" type="text"' not in html
    assert html.count('<details class="help"') == 1 + len(SINS_PARTS)
    assert _course_rows(html) == forms.DEFAULT_COURSE_ROWS
    assert 'value="none"' in html and "No earlier radiotherapy to this region" in html
    for raw in ("ambulatory_with_aid", "lung_nsclc", "occasional_non_mechanical", "over_50"):
        assert f">{raw}<" not in html and f"{raw} " not in html.replace(f'"{raw}"', "")
    assert web.get("/static/form.css").status_code == 200


def test_add_another_course_keeps_what_is_typed_and_assesses_nothing(
    web: TestClient, app: FastAPI, user: Caller
) -> None:
    data = {
        "course_rows": "2",
        "prior_radiotherapy.0.fractions": "5",
        "prior_radiotherapy.0.dose_per_fraction_gy": "4",
        "ecog": "2",
        "action": "add_course",
    }
    response = _post(web, data)
    assert response.status_code == 200
    assert _course_rows(response.text) == 3
    assert 'name="prior_radiotherapy.0.fractions" type="text" inputmode="numeric" value="5"' in (
        response.text
    )
    assert 'name="ecog" value="2" checked' in response.text
    assert "error-summary" not in response.text
    assert _stored_count(app, user) == 0


def test_no_prior_radiotherapy_survives_edit_as_a_new_assessment(
    web: TestClient, app: FastAPI, user: Caller
) -> None:
    response = _post(web, {**forms.form_values(EXAMPLE_PATIENT), "prior_radiotherapy": "none"})
    record = _stored(app, user, response)
    assert record.inputs["prior_radiotherapy"] == []
    html = web.get(f"/assessments/new?from={record.id}").text
    assert 'name="prior_radiotherapy" value="none" checked' in html
    again = _stored(app, user, _post(web, forms.form_values(record.inputs)))
    assert again.inputs == record.inputs
    unknown = _stored(app, user, _post(web, forms.form_values(EXAMPLE_PATIENT)))
    assert "prior_radiotherapy" not in unknown.inputs


def test_several_courses_survive_edit_as_a_new_assessment(
    web: TestClient, app: FastAPI, user: Caller
) -> None:
    patient = {**EXAMPLE_PATIENT, "prior_radiotherapy": COURSES}
    record = _stored(app, user, _post(web, forms.form_values(patient)))
    assert record.inputs["prior_radiotherapy"] == COURSES
    html = web.get(f"/assessments/new?from={record.id}").text
    assert _course_rows(html) == len(COURSES) + 1
    assert 'name="prior_radiotherapy" value="given" checked' in html
    assert 'name="prior_radiotherapy.2.cord_max_dose_gy" type="text"' in html
    assert '<option value="sbrt" selected>' in html


def test_a_partly_filled_row_is_an_error_naming_the_row_and_field(web: TestClient) -> None:
    data = {
        **forms.form_values(EXAMPLE_PATIENT),
        "prior_radiotherapy.0.fractions": "5",
        "prior_radiotherapy.0.dose_per_fraction_gy": "4",
        "prior_radiotherapy.1.months_before": "6",
    }
    response = _post(web, data)
    assert response.status_code == 422
    html = response.text
    error_id = "f-prior-radiotherapy-1-fractions-error"
    error = re.search(rf'<p class="error-message" id="{error_id}">(.*?)</p>', html, re.S)
    assert error is not None
    assert "Earlier radiotherapy to this region, course 2: Fractions: missing" in error.group(1)
    assert 'href="#f-prior-radiotherapy-1-dose-per-fraction-gy"' in html
    assert 'value="6"' in html  # what was typed is kept


def test_none_with_a_filled_row_is_refused_with_every_other_problem(web: TestClient) -> None:
    data = {"prior_radiotherapy": "none", "prior_radiotherapy.0.fractions": "5", "age_years": "5"}
    response = _post(web, data)
    assert response.status_code == 422
    assert 'href="#f-prior-radiotherapy"' in response.text
    assert 'href="#f-age-years"' in response.text
    assert "Age: 5 " in response.text


@pytest.mark.parametrize("path", ["/assessments/424242", "/no-such-page"])
def test_error_pages_have_the_navigation(web: TestClient, path: str) -> None:
    response = web.get(path)
    assert response.status_code == 404
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', response.text, re.S)
    assert nav is not None
    for href in ("/assessments/new", "/assessments", "/instruments"):
        assert f'href="{href}"' in nav.group(1)
    assert 'href="/"' in response.text
    if path.startswith("/assessments/"):  # a page of the signed-in user: their navigation
        assert "Log out (dr-test)" in nav.group(1) and 'name="csrf_token"' in nav.group(1)


def test_add_another_course_needs_the_csrf_token(web: TestClient) -> None:
    response = web.post("/assessments", data={"action": "add_course", "course_rows": "1"})
    assert response.status_code == 403


def test_error_pages_have_the_navigation_without_a_session(client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert '<nav aria-label="Main">' in response.text and 'href="/login"' in response.text
