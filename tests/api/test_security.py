"""Security headers, the request-size limit, and no patient data in the logs."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from .patients import EXAMPLE_PATIENT, INVALID_PATIENT, SECRET_REF


@pytest.mark.parametrize("path", ["/login", "/api/v1/assessments", "/static/style.css"])
def test_security_headers_on_every_response(api: TestClient, path: str) -> None:
    headers = api.get(path).headers
    assert headers["content-security-policy"].startswith("default-src 'self'")
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"


def test_pages_with_patient_data_are_not_cached(api: TestClient) -> None:
    created = api.post("/api/v1/assessments", json=EXAMPLE_PATIENT)
    assert created.headers["cache-control"] == "no-store"


def test_a_declared_oversized_body_is_413(api: TestClient) -> None:
    big = {"id": "x" * (300 * 1024)}
    response = api.post("/api/v1/assessments", json=big)
    assert response.status_code == 413
    (problem,) = response.json()["detail"]
    assert problem["field"] == "body"
    assert response.headers["x-frame-options"] == "DENY"


def test_a_streamed_oversized_body_is_413(api: TestClient) -> None:
    def chunks() -> object:
        for _ in range(40):
            yield b"x" * 8192

    response = api.post(
        "/api/v1/assessments", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_no_patient_data_in_the_logs(api: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    patient = {**EXAMPLE_PATIENT, "id": SECRET_REF}
    created = api.post("/api/v1/assessments", json=patient)
    assert created.status_code == 201
    api.get(f"/api/v1/assessments/{created.json()['id']}")
    api.post("/api/v1/assessments", json={**INVALID_PATIENT, "id": SECRET_REF})
    api.post(
        "/api/v1/assessments",
        content=f'{{"id": "{SECRET_REF}", '.encode(),
        headers={"content-type": "application/json"},
    )
    assert SECRET_REF not in caplog.text
    for record in caplog.records:
        assert SECRET_REF not in str(record.args)


def test_an_unexpected_error_is_a_bare_500_logged_without_its_message(
    api: TestClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mescc import document

    def broken(data: object, **kwargs: object) -> dict[str, object]:
        raise RuntimeError(f"boom with {SECRET_REF}")

    monkeypatch.setattr(document, "assessment_document", broken)
    caplog.set_level(logging.DEBUG)
    with TestClient(api.app, headers=dict(api.headers), raise_server_exceptions=False) as c:
        response = c.post("/api/v1/assessments", json={"id": SECRET_REF})
    assert response.status_code == 500
    assert SECRET_REF not in response.text
    assert SECRET_REF not in caplog.text
    assert "RuntimeError" in caplog.text
