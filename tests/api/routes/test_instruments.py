"""``GET /api/v1/instruments``."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from mescc import document as core


def test_instruments_equal_the_library_document(api: TestClient) -> None:
    response = api.get("/api/v1/instruments")
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(core.instruments_document()))
    assert all("verification" in item for item in response.json())
