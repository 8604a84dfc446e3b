"""The web app: login, CSRF, the patient form with inline errors, result, history, summary."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from mescc import document as core
from mescc.api import forms
from mescc.api.presentation import EMERGENCY_BANNER

from ..conftest import PASSWORD, USERNAME, csrf_of
from ..patients import EXAMPLE_PATIENT


def _submit(web: TestClient, data: dict[str, str]) -> Any:
    page = web.get("/assessments/new")
    return web.post("/assessments", data={**data, "csrf_token": csrf_of(page.text)})


def _create(web: TestClient, patient: dict[str, Any] = EXAMPLE_PATIENT) -> int:
    response = _submit(web, forms.form_values(patient))
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/assessments/(\d+)", response.headers["location"])
    assert match is not None
    return int(match.group(1))


def test_pages_redirect_to_login_without_a_session(client: TestClient) -> None:
    response = client.get("/assessments/new", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fassessments%2Fnew"


def test_login_page_has_a_csrf_token_and_labels(client: TestClient) -> None:
    html = client.get("/login").text
    assert csrf_of(html)
    assert '<label for="username">' in html and '<label for="password">' in html
    assert EMERGENCY_BANNER in html


def test_login_without_csrf_token_is_refused(client: TestClient, user: object) -> None:
    client.get("/login")
    response = client.post(
        "/login", data={"username": USERNAME, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403


def test_wrong_password_is_refused(client: TestClient, user: object) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": USERNAME, "password": "wrong", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 401
    assert "Unknown user name or wrong password" in response.text
    assert client.get("/assessments", follow_redirects=False).status_code == 303


def test_login_does_not_redirect_off_site(client: TestClient, user: object) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": USERNAME,
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/assessments/new"


def test_form_is_grouped_labelled_and_has_a_csrf_token(web: TestClient) -> None:
    html = web.get("/assessments/new").text
    assert csrf_of(html)
    for legend in ("Patient and tumour", "Neurology", "Imaging", "Performance status",
                   "Prior radiotherapy", "Preferences"):  # fmt: skip
        assert f"<legend>{legend}" in html
    shown = [f for fs in forms.PATIENT_FORM for f in fs.fields]
    shown += [f for row in range(forms.DEFAULT_COURSE_ROWS) for f in forms.course_fields(row)]
    for field in shown:
        if field.widget == "radios":  # a group of choices: its legend names it
            assert f'id="{field.html_id}"' in html and f"<legend>{field.label}</legend>" in html
            continue
        assert f'<label for="{field.html_id}">' in html
        assert f'id="{field.html_id}"' in html
    assert "(years)" in html and "(months)" in html and "(Gy)" in html


def test_every_form_post_needs_the_csrf_token(web: TestClient) -> None:
    data = forms.form_values(EXAMPLE_PATIENT)
    assert web.post("/assessments", data=data).status_code == 403
    assert web.post("/assessments", data={**data, "csrf_token": "forged"}).status_code == 403
    assert web.post("/logout", data={}).status_code == 403


def test_invalid_form_shows_each_problem_next_to_its_input(web: TestClient) -> None:
    values = {**forms.form_values(EXAMPLE_PATIENT), "age_years": "5", "kps": "75"}
    response = _submit(web, values)
    assert response.status_code == 422
    html = response.text
    for label, html_id in (("Age", "f-age-years"), ("Karnofsky", "f-kps")):
        error = re.search(rf'<p class="error-message" id="{html_id}-error">(.*?)</p>', html, re.S)
        assert error is not None, label
        assert label in error.group(1) and "allowed" in error.group(1)
        assert f'aria-describedby="{html_id}-error"' in html
    assert 'class="error-summary"' in html
    assert 'value="5"' in html  # what was typed is kept


def test_submit_shows_the_result_page(web: TestClient) -> None:
    assessment_id = _create(web)
    html = web.get(f"/assessments/{assessment_id}").text
    document = core.assessment_document(EXAMPLE_PATIENT)
    options = document["plan"]["radiotherapy"]
    assert EMERGENCY_BANNER in html
    match = re.search(r'id="recommended-regimen">(.*?)</span>', html)
    assert match is not None and match.group(1) == options[0]["regimen"]
    for option in options[1:]:
        assert option["regimen"] in html
    # The suggested option comes before the alternatives, instruments after the plan.
    assert html.index("Suggested option") < html.index("Instruments</h2>")
    assert "<svg" in html and 'role="img"' in html
    for instrument_id in document["instruments"]:
        assert instrument_id in html
    assert f"/assessments/{assessment_id}/report.pdf" in html
    for heading in ("Surgery", "Supportive care", "Decisive unknowns", "Inputs"):
        assert f">{heading}</h2>" in html


def test_web_pdf_report(web: TestClient) -> None:
    assessment_id = _create(web)
    response = web.get(f"/assessments/{assessment_id}/report.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_history_lists_and_filters(web: TestClient) -> None:
    first = _create(web)
    second = _create(web, {**EXAMPLE_PATIENT, "id": "case-99"})
    html = web.get("/assessments").text
    assert f'href="/assessments/{first}"' in html and f'href="/assessments/{second}"' in html
    filtered = web.get("/assessments", params={"patient_ref": "case-99"}).text
    assert f'href="/assessments/{second}"' in filtered
    assert f'href="/assessments/{first}"' not in filtered
    assert web.get("/assessments", params={"created_after": "not a date"}).status_code == 200


def test_plain_language_summary(web: TestClient) -> None:
    assessment_id = _create(web)
    response = web.get(f"/assessments/{assessment_id}/summary")
    assert response.status_code == 200
    assert "Your radiotherapy: a summary" in response.text
    regimen = core.assessment_document(EXAMPLE_PATIENT)["plan"]["radiotherapy"][0]["regimen"]
    assert regimen in response.text


def test_rerun_page(web: TestClient) -> None:
    assessment_id = _create(web)
    response = web.get(f"/assessments/{assessment_id}/rerun")
    assert response.status_code == 200
    assert "No change" in response.text


def test_new_assessment_can_start_from_a_stored_one(web: TestClient) -> None:
    assessment_id = _create(web)
    html = web.get(f"/assessments/new?from={assessment_id}").text
    assert 'value="case-17"' in html
    assert '<option value="breast" selected>' in html


def test_instruments_page(web: TestClient) -> None:
    response = web.get("/instruments")
    assert response.status_code == 200
    for item in core.instruments_document():
        assert item["id"] in response.text


def test_unknown_assessment_page_is_404(web: TestClient) -> None:
    assert web.get("/assessments/424242").status_code == 404


def test_logout_ends_the_session(web: TestClient) -> None:
    page = web.get("/assessments/new")
    response = web.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    assert web.get("/assessments/new").status_code == 303
