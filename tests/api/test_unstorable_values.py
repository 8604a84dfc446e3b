"""Values the database cannot hold are refused (4xx), never a 500, on every route.

Issue 9: ids and offsets >= 2^63, date-times that overflow in UTC, NUL characters (PostgreSQL
refuses them in text), 5,000-digit form fields and integers beyond 64 bits in stored inputs.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from .conftest import PASSWORD, USERNAME, csrf_of
from .patients import EXAMPLE_PATIENT

HUGE_IDS = [str(2**63), str(2**64 + 5), "9" * 40, "-1", "0", "abc", "1e3"]
ID_ROUTES_API = [
    "/api/v1/assessments/{id}",
    "/api/v1/assessments/{id}/report.pdf",
    "/api/v1/assessments/{id}/rerun",
]
ID_ROUTES_PAGES = [
    "/assessments/{id}",
    "/assessments/{id}/summary",
    "/assessments/{id}/report.pdf",
    "/assessments/{id}/rerun",
]


@pytest.mark.parametrize("route", ID_ROUTES_API)
@pytest.mark.parametrize("value", HUGE_IDS)
def test_api_ids_beyond_64_bits_or_malformed_are_422_or_404(
    api: TestClient, route: str, value: str
) -> None:
    response = api.get(route.format(id=value))
    assert response.status_code in {404, 422}, response.text
    assert response.json()["detail"][0]["message"]


@pytest.mark.parametrize("route", ID_ROUTES_PAGES)
@pytest.mark.parametrize("value", [str(2**63), "9" * 40, "-1"])
def test_page_ids_beyond_64_bits_are_refused(web: TestClient, route: str, value: str) -> None:
    assert web.get(route.format(id=value)).status_code in {404, 422}


@pytest.mark.parametrize("value", [str(2**63), "9" * 5000, "-1"])
def test_prefill_from_an_impossible_id_is_an_empty_form(web: TestClient, value: str) -> None:
    assert web.get("/assessments/new", params={"from": value}).status_code == 200


@pytest.mark.parametrize("offset", [str(2**63), str(10**9 + 1), "-1", "x"])
def test_offsets_beyond_the_limit_are_422(api: TestClient, web: TestClient, offset: str) -> None:
    response = api.get("/api/v1/assessments", params={"offset": offset})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "offset"
    assert web.get("/assessments", params={"offset": offset}).status_code == 422


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00+05:00",  # before year 1 in UTC
        "9999-12-31T23:00:00-05:00",  # after year 9999 in UTC
        "2026-13-01",
        "2026-01-01T00:00:00+25:00",
        "yesterday",
    ],
)
@pytest.mark.parametrize("name", ["created_after", "created_before"])
def test_out_of_range_datetimes_are_422(api: TestClient, name: str, moment: str) -> None:
    response = api.get("/api/v1/assessments", params={name: moment})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == name


@pytest.mark.parametrize(
    "moment",
    [
        "0166-04-21T08:54:19-17:53",
        "2026-01-01T00:00:00+14:00",
        "2026-01-01T00:00:00-23:59",
        "2026-06-01",
    ],
)
def test_unusual_offsets_are_converted_to_utc(api: TestClient, moment: str) -> None:
    api.post("/api/v1/assessments", json=EXAMPLE_PATIENT)
    for name in ("created_after", "created_before"):
        assert api.get("/api/v1/assessments", params={name: moment}).status_code == 200


@pytest.mark.parametrize("name", ["user", "regimen", "patient_ref"])
def test_nul_in_a_filter_is_422(api: TestClient, web: TestClient, name: str) -> None:
    response = api.get("/api/v1/assessments", params={name: "a\x00b"})
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["field"] == name
    assert "NUL" in problem["message"]
    assert web.get("/assessments", params={name: "a\x00b"}).status_code == 422


def test_an_overlong_filter_is_422(api: TestClient) -> None:
    response = api.get("/api/v1/assessments", params={"patient_ref": "x" * 201})
    assert response.status_code == 422


def test_nul_in_the_patient_reference_is_422_and_nothing_is_stored(api: TestClient) -> None:
    response = api.post("/api/v1/assessments", json={**EXAMPLE_PATIENT, "id": "case\x0017"})
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["field"] == "id"
    assert "NUL" in problem["message"]
    assert api.get("/api/v1/assessments").json()["total"] == 0


def test_integers_beyond_64_bits_are_422_and_nothing_is_stored(api: TestClient) -> None:
    response = api.post(
        "/api/v1/assessments", json={**EXAMPLE_PATIENT, "vertebral_body_metastases": 2**80}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "vertebral_body_metastases"
    assert api.get("/api/v1/assessments").json()["total"] == 0


@pytest.mark.parametrize(
    ("username", "password"),
    [("dr\x00test", PASSWORD), (USERNAME, "pw\x00"), ("\x00", "\x00"), ("x" * 5000, "y")],
)
def test_unauthenticated_login_with_nul_is_a_plain_refusal(
    client: TestClient, username: str, password: str
) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code in {401, 422}
    assert "mescc_session" not in response.headers.get("set-cookie", "") or (
        response.status_code != 303
    )


@pytest.mark.parametrize("field", ["age_years", "kps", "motor_deficit_days", "fractions"])
def test_5000_digit_form_fields_are_form_errors(web: TestClient, field: str) -> None:
    page = web.get("/assessments/new")
    name = "prior_radiotherapy.0.fractions" if field == "fractions" else field
    response = web.post("/assessments", data={name: "9" * 5000, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 422
    assert "is not allowed" in response.text or "allowed" in response.text


def test_nul_in_a_form_reference_is_a_form_error(web: TestClient) -> None:
    page = web.get("/assessments/new")
    response = web.post(
        "/assessments", data={"id": "a\x00b", "age_years": "60", "csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 422
    assert "U+0000" in response.text


def test_a_database_refusal_is_never_a_500(app: FastAPI, api: TestClient) -> None:
    """The safety net: a value the parameter types let through and the database refuses."""
    from sqlalchemy.exc import DataError

    from mescc.api import audit

    def refuse(*args: object, **kwargs: object) -> object:
        raise DataError("SELECT", {}, ValueError("value out of range"))

    original = audit.list_assessments
    audit.list_assessments = refuse  # type: ignore[assignment]
    try:
        response = api.get("/api/v1/assessments")
    finally:
        audit.list_assessments = original
    assert response.status_code == 422
