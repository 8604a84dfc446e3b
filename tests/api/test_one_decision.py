"""Every output reads the same decision (issue 10): a plan that suggests nothing is never shown
with a suggested option, in the API list, the history page, its regimen filter, the result
page, the PDF report's HTML, the re-run page or the patient summary."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mescc.api import audit
from mescc.api.audit import Caller
from mescc.api.pdf import report_html

from .conftest import csrf_of

# Nothing known: no instrument is computable, the plan has no ranking claim but lists options.
NO_CLAIM: dict[str, Any] = {"id": "no-claim", "primary_tumor": "breast"}
# Known poor prognosis: a regimen is recommended.
POOR: dict[str, Any] = {
    "id": "poor",
    "primary_tumor": "lung_nsclc",
    "ecog": 3,
    "ambulatory_status": "not_ambulatory",
    "visceral_metastases": True,
    "motor_deficit_days": 2,
}


def _create(api: TestClient, patient: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/v1/assessments", json=patient)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_no_suggestion_anywhere_for_a_plan_without_a_ranking_claim(
    api: TestClient, web: TestClient, app: FastAPI, user: Caller
) -> None:
    made = _create(api, NO_CLAIM)
    plan = made["plan"]
    assert plan["ranking_claim"] is False and plan["recommended_option"] is None
    assert plan["radiotherapy"], "the options are still listed (without a claim)"
    first_listed = plan["radiotherapy"][0]["regimen"]
    aid = made["id"]

    listed = api.get("/api/v1/assessments").json()["items"]
    assert [i["recommended_regimen"] for i in listed if i["id"] == aid] == [None]

    history = web.get("/assessments").text
    row = history[history.index(f"/assessments/{aid}") :].split("</tr>", 1)[0]
    assert first_listed not in row
    assert f">{first_listed}<" not in history.split("<select", 1)[-1].split("</select>", 1)[0]

    page = web.get(f"/assessments/{aid}").text
    assert "Suggested option" not in page and 'id="no-suggestion"' in page

    with app.state.session_factory() as session:
        record = audit.get_assessment(session, aid, viewer=user)
    assert record is not None and record.recommended_regimen is None
    html = report_html(app.state.templates, record)
    assert "Suggested option" not in html and "No option is suggested" in html

    summary = web.get(f"/assessments/{aid}/summary").text
    assert "considering first" not in summary and first_listed not in summary

    rerun = web.get(f"/assessments/{aid}/rerun").text
    assert first_listed not in rerun.split("Suggested regimen", 1)[1].split("</tr>", 1)[0]


def test_a_recommended_regimen_is_shown_the_same_everywhere(
    api: TestClient, web: TestClient
) -> None:
    made = _create(api, POOR)
    plan = made["plan"]
    regimen = plan["recommended_regimen"]
    assert regimen is not None
    aid = made["id"]
    listed = api.get("/api/v1/assessments").json()["items"]
    assert [i["recommended_regimen"] for i in listed if i["id"] == aid] == [regimen]
    page = web.get(f"/assessments/{aid}").text
    assert f'id="recommended-regimen">{regimen}<' in page
    assert regimen in web.get("/assessments", params={"regimen": regimen}).text


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        # documents stored before ``recommended_option`` existed
        ({"ranking_claim": False, "radiotherapy": [{"regimen": "5 x 4 Gy"}]}, None),
        ({"ranking_claim": True, "radiotherapy": [{"regimen": "5 x 4 Gy"}]}, "5 x 4 Gy"),
        (
            {
                "recommended_regimen": None,
                "ranking_claim": True,
                "radiotherapy": [{"regimen": "5 x 4 Gy"}],
            },
            None,
        ),
    ],
)
def test_stored_documents_without_the_new_keys_read_the_same_rule(
    plan: dict[str, Any], expected: str | None
) -> None:
    assert audit.recommended_regimen({"plan": plan}) == expected


def test_the_form_path_stores_what_the_plan_recommends(web: TestClient) -> None:
    page = web.get("/assessments/new")
    response = web.post(
        "/assessments",
        data={"id": "form-no-claim", "primary_tumor": "breast", "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303, response.text
    result = web.get(response.headers["location"]).text
    assert "Suggested option" not in result
