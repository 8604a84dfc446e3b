"""``GET /api/v1/dose``."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from mescc import document as core


def test_dose_equals_the_library_document(api: TestClient) -> None:
    response = api.get(
        "/api/v1/dose", params={"fractions": 5, "dose_per_fraction_gy": 4, "alpha_beta": 10}
    )
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(core.dose_document(5, 4.0, 10.0)))
    assert {"bed_gy", "eqd2_gy"} <= set(response.json())


def test_alpha_beta_defaults_to_ten(api: TestClient) -> None:
    response = api.get("/api/v1/dose", params={"fractions": 1, "dose_per_fraction_gy": 8})
    assert response.json() == json.loads(json.dumps(core.dose_document(1, 8.0)))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("fractions=0&dose_per_fraction_gy=4", "fractions"),
        ("fractions=five&dose_per_fraction_gy=4", "fractions"),
        ("fractions=5&dose_per_fraction_gy=-1", "dose_per_fraction_gy"),
        ("fractions=5", "dose_per_fraction_gy"),
        ("fractions=5&dose_per_fraction_gy=4&alpha_beta=0", "alpha_beta"),
    ],
)
def test_bad_dose_queries_are_422(api: TestClient, query: str, field: str) -> None:
    response = api.get(f"/api/v1/dose?{query}")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [p["field"] for p in detail] == [field]
    assert all(set(p) == {"field", "value", "allowed", "message"} for p in detail)
