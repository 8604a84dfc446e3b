"""``GET /api/v1/assessments/{id}/fhir``: the stored assessment as an R4 Bundle."""

from __future__ import annotations

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle

from ..patients import EXAMPLE_PATIENT


def test_a_stored_assessment_as_an_r4_bundle(api: TestClient) -> None:
    created = api.post("/api/v1/assessments", json=EXAMPLE_PATIENT).json()
    response = api.get(f"/api/v1/assessments/{created['id']}/fhir")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = response.json()
    Bundle.model_validate(bundle)
    assert bundle["identifier"]["value"] == f"mescc-assessment-{created['id']}"
    risks = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RiskAssessment"
    ]
    computed = sorted(i for i, r in created["instruments"].items() if r["status"] == "computed")
    assert sorted(r["method"]["coding"][0]["code"] for r in risks) == computed
    assert all(r["occurrenceDateTime"].startswith(created["created_at"][:19]) for r in risks)


def test_fhir_export_needs_the_token_and_a_stored_id(api: TestClient, client: TestClient) -> None:
    assert client.get("/api/v1/assessments/1/fhir").status_code == 401
    assert api.get("/api/v1/assessments/999/fhir").status_code == 404
