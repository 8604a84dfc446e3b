"""``/api/v1/assessments``: create, fetch, list, PDF, re-run, and every error's shape."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mescc import __version__
from mescc import document as core

from ..patients import EXAMPLE_PATIENT, INVALID_FIELDS, INVALID_PATIENT, POOR_PROGNOSIS_PATIENT

ADDED_KEYS = {"id", "created_at", "audit"}


def _document_part(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ADDED_KEYS}


def _assert_problem_shape(body: dict[str, Any]) -> list[dict[str, Any]]:
    assert set(body) == {"detail"}
    assert isinstance(body["detail"], list) and body["detail"]
    for item in body["detail"]:
        assert set(item) == {"field", "value", "allowed", "message"}
        assert isinstance(item["message"], str) and item["message"]
    return list(body["detail"])


def test_create_returns_the_contract_document_and_stores_it(api: TestClient) -> None:
    response = api.post("/api/v1/assessments", json=EXAMPLE_PATIENT)
    assert response.status_code == 201, response.text
    body = response.json()
    assert isinstance(body["id"], int)
    assert response.headers["location"] == f"/api/v1/assessments/{body['id']}"
    # Identical to `mescc assess --format json` for the same patient.
    assert _document_part(body) == json.loads(json.dumps(core.assessment_document(EXAMPLE_PATIENT)))
    assert body["audit"]["user"] == "dr-test"
    assert body["audit"]["software_version"] == __version__
    assert body["audit"]["knowledge_base_version"] == body["knowledge_base_version"]
    assert body["audit"]["inputs"] == EXAMPLE_PATIENT

    fetched = api.get(f"/api/v1/assessments/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == body


def test_allow_unverified_is_passed_on_and_recorded(api: TestClient) -> None:
    response = api.post("/api/v1/assessments?allow_unverified=true", json=EXAMPLE_PATIENT)
    assert response.status_code == 201
    body = response.json()
    expected = core.assessment_document(EXAMPLE_PATIENT, allow_unverified=True)
    assert _document_part(body) == json.loads(json.dumps(expected))
    assert body["audit"]["allow_unverified"] is True


def test_invalid_input_is_422_naming_every_field(api: TestClient) -> None:
    response = api.post("/api/v1/assessments", json=INVALID_PATIENT)
    assert response.status_code == 422
    problems = _assert_problem_shape(response.json())
    assert {p["field"] for p in problems} >= INVALID_FIELDS
    assert api.get("/api/v1/assessments").json()["total"] == 0  # nothing stored


def test_malformed_json_is_422_in_the_same_shape(api: TestClient) -> None:
    response = api.post(
        "/api/v1/assessments",
        content=b'{"age_years": 64,',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    (problem,) = _assert_problem_shape(response.json())
    assert problem["field"] == "body"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"months_from_cancer_diagnosis": NaN}', "months_from_cancer_diagnosis"),
        (b'{"motor_deficit_days": Infinity}', "motor_deficit_days"),
        (b'{"age_years": 1e400}', "age_years"),
        (b'{"id": "\\ud800"}', "id"),
        (b"", "body"),
    ],
    ids=["nan", "infinity", "overflow", "lone-surrogate", "empty"],
)
def test_what_python_accepts_but_json_does_not_is_422(
    api: TestClient, body: bytes, field: str
) -> None:
    # refused naming the field where there is one (issue 9), the body where there is none
    response = api.post(
        "/api/v1/assessments", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    (problem,) = _assert_problem_shape(response.json())
    assert problem["field"] == field


def test_openapi_documents_the_patient_body(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    body = schema["paths"]["/api/v1/assessments"]["post"]["requestBody"]
    properties = body["content"]["application/json"]["schema"]["properties"]
    assert {"age_years", "primary_tumor", "sins", "prior_radiotherapy"} <= set(properties)


@pytest.mark.parametrize("payload", [[1, 2], "text", 3, None])
def test_a_body_that_is_not_an_object_is_422(api: TestClient, payload: Any) -> None:
    response = api.post(
        "/api/v1/assessments",
        content=json.dumps(payload),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    _assert_problem_shape(response.json())


def test_wrong_query_types_are_422_in_the_same_shape(api: TestClient) -> None:
    response = api.get("/api/v1/assessments?limit=many&created_after=yesterday")
    assert response.status_code == 422
    fields = {p["field"] for p in _assert_problem_shape(response.json())}
    assert fields == {"limit", "created_after"}


def test_unknown_assessment_is_404_in_the_problem_shape(api: TestClient) -> None:
    response = api.get("/api/v1/assessments/999999")
    assert response.status_code == 404
    (problem,) = _assert_problem_shape(response.json())
    assert problem["field"] == "id"


def test_list_pages_newest_first(api: TestClient) -> None:
    ids = []
    for index in range(5):
        patient = {**EXAMPLE_PATIENT, "id": f"paging-{index}"}
        ids.append(api.post("/api/v1/assessments", json=patient).json()["id"])
    first = api.get("/api/v1/assessments?limit=2").json()
    assert first["total"] == 5
    assert [item["id"] for item in first["items"]] == ids[::-1][:2]
    assert first["next"] is not None
    second = api.get(first["next"]).json()
    assert [item["id"] for item in second["items"]] == ids[::-1][2:4]
    last = api.get("/api/v1/assessments?limit=2&offset=4").json()
    assert [item["id"] for item in last["items"]] == ids[:1]
    assert last["next"] is None
    item = first["items"][0]
    assert item["user"] == "dr-test"
    assert item["patient_ref"] == "paging-4"
    assert item["url"] == f"/api/v1/assessments/{item['id']}"


def test_list_filters(api: TestClient) -> None:
    a = api.post("/api/v1/assessments", json=EXAMPLE_PATIENT).json()
    b = api.post("/api/v1/assessments", json=POOR_PROGNOSIS_PATIENT).json()
    regimen_a = a["plan"]["radiotherapy"][0]["regimen"]
    by_regimen = api.get("/api/v1/assessments", params={"regimen": regimen_a}).json()
    assert a["id"] in {item["id"] for item in by_regimen["items"]}
    assert all(item["recommended_regimen"] == regimen_a for item in by_regimen["items"])

    assert api.get("/api/v1/assessments", params={"user": "dr-test"}).json()["total"] == 2
    assert api.get("/api/v1/assessments", params={"user": "someone"}).json()["total"] == 0
    by_ref = api.get("/api/v1/assessments", params={"patient_ref": "case-18"}).json()
    assert [item["id"] for item in by_ref["items"]] == [b["id"]]

    created = a["created_at"]
    after = api.get("/api/v1/assessments", params={"created_after": created}).json()
    assert {item["id"] for item in after["items"]} == {a["id"], b["id"]}
    future = api.get("/api/v1/assessments", params={"created_after": "2999-01-01"}).json()
    assert future["total"] == 0
    past = api.get("/api/v1/assessments", params={"created_before": "2000-01-01"}).json()
    assert past["total"] == 0


def test_report_pdf(api: TestClient) -> None:
    created = api.post("/api/v1/assessments", json=EXAMPLE_PATIENT).json()
    response = api.get(f"/api/v1/assessments/{created['id']}/report.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_rerun_on_an_unchanged_knowledge_base_shows_no_change(api: TestClient) -> None:
    created = api.post("/api/v1/assessments", json=EXAMPLE_PATIENT).json()
    response = api.get(f"/api/v1/assessments/{created['id']}/rerun")
    assert response.status_code == 200
    body = response.json()
    assert body["changed"] is False
    assert body["changes"] == []
    assert body["current"]["document"] == _document_part(created)


def test_rerun_shows_what_changed(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    created = api.post("/api/v1/assessments", json=EXAMPLE_PATIENT).json()
    real = core.assessment_document

    def newer_knowledge_base(data: Any, **kwargs: Any) -> dict[str, Any]:
        document = copy.deepcopy(real(data, **kwargs))
        document["knowledge_base_version"] = "newer"
        return document

    monkeypatch.setattr(core, "assessment_document", newer_knowledge_base)
    body = api.get(f"/api/v1/assessments/{created['id']}/rerun").json()
    assert body["changed"] is True
    assert body["changes"] == [
        {
            "path": "knowledge_base_version",
            "kind": "changed",
            "before": created["knowledge_base_version"],
            "after": "newer",
        }
    ]
    # The stored assessment itself is untouched.
    assert api.get(f"/api/v1/assessments/{created['id']}").json() == created
