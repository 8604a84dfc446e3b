"""CDS Hooks 2.0 in the app (in-process, SQLite and PostgreSQL): discovery, the patient-view
call with and without prefetch, 412, the client JWT rules (401), the card and the feedback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from mescc.api.app import create_app
from mescc.api.models import AssessmentRecord, CdsCard, CdsFeedback
from mescc.settings import CdsClient, Settings

from ..cds_keys import TestClientKeys
from ..cds_support import (
    SERVICE,
    assert_card_conforms,
    example_resources,
    fhir_authorization,
    hook_body,
    prefetch_of,
)
from ..fhir_server import fhir_server

BASE = "http://testserver"
SERVICE_URL = f"{BASE}/cds-services/{SERVICE}"


@pytest.fixture
def keys() -> TestClientKeys:
    return TestClientKeys()


@pytest.fixture
def cds_app(settings: Settings, keys: TestClientKeys) -> Iterator[FastAPI]:
    configured = Settings(
        database_url=settings.database_url,
        data_dir=settings.data_dir,
        secret_key="test-secret-key-not-for-production",
        cds_clients=[CdsClient.model_validate(keys.client_config())],
    )
    application = create_app(configured)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def cds(cds_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(cds_app) as client:
        yield client


def _call(cds: TestClient, keys: TestClientKeys, body: dict[str, Any], **claims: Any) -> Any:
    return cds.post(
        f"/cds-services/{SERVICE}", json=body, headers=keys.headers(SERVICE_URL, **claims)
    )


def test_discovery_lists_the_patient_view_service_with_its_prefetch(
    cds: TestClient, keys: TestClientKeys
) -> None:
    response = cds.get("/cds-services", headers=keys.headers(f"{BASE}/cds-services"))
    assert response.status_code == 200
    (service,) = response.json()["services"]
    assert service["hook"] == "patient-view" and service["id"] == SERVICE
    assert service["title"] and service["description"]
    prefetch = service["prefetch"]
    assert prefetch["patient"] == "Patient/{{context.patientId}}"
    assert "http://loinc.org|89247-1" in prefetch["observations"]
    assert "http://loinc.org|89243-0" in prefetch["observations"]
    assert all("{{context.patientId}}" in q for q in prefetch.values())


def test_patient_view_with_prefetch_returns_the_plan_as_one_card(
    cds: TestClient, keys: TestClientKeys, cds_app: FastAPI
) -> None:
    resources = example_resources("intermediate_breast")
    pid = resources[0]["id"]
    response = _call(cds, keys, hook_body(pid, prefetch_of(resources)))
    assert response.status_code == 200, response.text
    (card,) = response.json()["cards"]
    assert_card_conforms(card)
    assert card["summary"].startswith("Consider 5 x 4 Gy")
    assert card["indicator"] == "info"
    assert "VERIFIED-S" in card["detail"] and "Observation/" in card["detail"]
    (suggestion,) = card["suggestions"]
    proposal = suggestion["actions"][0]["resource"]
    assert proposal["resourceType"] == "ServiceRequest" and proposal["intent"] == "proposal"
    assert proposal["subject"] == {"reference": f"Patient/{pid}"}
    link = card["links"][0]
    assert link["type"] == "absolute" and link["url"].startswith(f"{BASE}/assessments/")
    assessment_id = int(link["url"].rsplit("/", 1)[1])
    with cds_app.state.session_factory() as session:
        record = session.get(AssessmentRecord, assessment_id)
        assert record is not None and record.username.startswith("cds:")
        stored = json.loads(record.document_json)
        assert stored["cds_hooks"]["card"] == card["uuid"]
        assert stored["input_provenance"]["patient"] == f"Patient/{pid}"
        assert session.get(CdsCard, card["uuid"]) is not None


def test_a_suggested_surgical_opinion_makes_the_card_a_warning(
    cds: TestClient, keys: TestClientKeys
) -> None:
    resources = example_resources("radioresistant_unstable")
    response = _call(cds, keys, hook_body(resources[0]["id"], prefetch_of(resources)))
    (card,) = response.json()["cards"]
    assert card["indicator"] == "warning"
    assert "decompression and stability opinion suggested" in card["summary"]


def test_no_regimen_and_no_suggestion_without_a_ranking_claim(
    cds: TestClient, keys: TestClientKeys
) -> None:
    resources = example_resources("prior_rt_beyond")
    response = _call(cds, keys, hook_body(resources[0]["id"], prefetch_of(resources)))
    (card,) = response.json()["cards"]
    assert_card_conforms(card)
    assert "no regimen within the re-irradiation limits" in card["summary"]
    assert "suggestions" not in card and "selectionBehavior" not in card


def test_missing_prefetch_is_fetched_from_the_fhir_server_with_the_token(
    cds: TestClient, keys: TestClientKeys
) -> None:
    resources = example_resources("poor_prognosis")
    pid = resources[0]["id"]
    partial = prefetch_of(resources)
    del partial["observations"]
    with fhir_server(resources, token="fhir-access-token") as (url, store):
        body = hook_body(
            pid, partial, fhirServer=url, fhirAuthorization=fhir_authorization("fhir-access-token")
        )
        response = _call(cds, keys, body)
    assert response.status_code == 200, response.text
    assert all(r.startswith("/fhir/Observation?") for r in store.requests)
    assert len(store.requests) > 1, "the searchset was paged and every page read"
    (card,) = response.json()["cards"]
    assert card["summary"].startswith("Consider 1 x 8 Gy")


def test_neither_prefetch_nor_fhir_server_is_412(cds: TestClient, keys: TestClientKeys) -> None:
    resources = example_resources("poor_prognosis")
    partial = prefetch_of(resources)
    del partial["conditions"]
    response = _call(cds, keys, hook_body(resources[0]["id"], partial))
    assert response.status_code == 412
    assert response.json()["detail"][0]["value"] == ["conditions"]


def test_a_fhir_server_that_refuses_is_412(cds: TestClient, keys: TestClientKeys) -> None:
    resources = example_resources("poor_prognosis")
    with fhir_server(resources, token="the-right-token") as (url, _store):
        body = hook_body(
            resources[0]["id"], {}, fhirServer=url, fhirAuthorization=fhir_authorization("wrong")
        )
        response = _call(cds, keys, body)
    assert response.status_code == 412
    assert "HTTP 401" in response.json()["detail"][0]["message"]


def test_a_null_prefetch_key_means_no_data(cds: TestClient, keys: TestClientKeys) -> None:
    resources = example_resources("poor_prognosis")
    prefetch = prefetch_of(resources)
    prefetch["procedures"] = None
    response = _call(cds, keys, hook_body(resources[0]["id"], prefetch))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "case",
    ["missing", "garbage", "other_key", "untrusted_issuer", "wrong_audience", "expired",
     "no_jti", "too_long", "hs256", "no_kid", "foreign_jku"],
)  # fmt: skip
def test_a_bad_client_jwt_is_401(cds: TestClient, keys: TestClientKeys, case: str) -> None:
    resources = example_resources("poor_prognosis")
    body = hook_body(resources[0]["id"], prefetch_of(resources))
    now = int(time.time())
    if case == "missing":
        headers: dict[str, str] = {}
    elif case == "garbage":
        headers = {"Authorization": "Bearer not-a-jwt"}
    elif case == "other_key":
        headers = TestClientKeys().headers(SERVICE_URL)  # same issuer and kid, another key
    elif case == "untrusted_issuer":
        headers = TestClientKeys(issuer="https://evil.invalid/").headers(SERVICE_URL)
    elif case == "wrong_audience":
        headers = keys.headers(f"{BASE}/cds-services/another-service")
    elif case == "expired":
        headers = keys.headers(SERVICE_URL, iat=now - 4000, exp=now - 3000)
    elif case == "no_jti":
        headers = keys.headers(SERVICE_URL, jti=None)
    elif case == "too_long":
        headers = keys.headers(SERVICE_URL, exp=now + 86400)
    elif case == "hs256":
        token = jwt.encode(
            {"iss": keys.issuer, "aud": SERVICE_URL, "iat": now, "exp": now + 60, "jti": "x"},
            "a shared secret that is long enough",
            algorithm="HS256",
            headers={"kid": keys.kid, "typ": "JWT"},
        )
        headers = {"Authorization": f"Bearer {token}"}
    elif case == "no_kid":
        token = jwt.encode(
            {"iss": keys.issuer, "aud": SERVICE_URL, "iat": now, "exp": now + 60, "jti": "y"},
            keys.private_key,
            algorithm="ES384",
            headers={"typ": "JWT"},
        )
        headers = {"Authorization": f"Bearer {token}"}
    else:
        token = jwt.encode(
            {"iss": keys.issuer, "aud": SERVICE_URL, "iat": now, "exp": now + 60, "jti": "z"},
            keys.private_key,
            algorithm="ES384",
            headers={"typ": "JWT", "kid": keys.kid, "jku": "https://evil.invalid/jwks"},
        )
        headers = {"Authorization": f"Bearer {token}"}
    response = cds.post(f"/cds-services/{SERVICE}", json=body, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["detail"][0]["field"] == "Authorization"


def test_a_replayed_jwt_is_401(cds: TestClient, keys: TestClientKeys) -> None:
    headers = keys.headers(f"{BASE}/cds-services")
    assert cds.get("/cds-services", headers=headers).status_code == 200
    replay = cds.get("/cds-services", headers=headers)
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"][0]["message"]


def test_discovery_without_a_jwt_is_401(cds: TestClient) -> None:
    assert cds.get("/cds-services").status_code == 401


def test_stale_record_data_is_named_in_the_card(cds: TestClient, keys: TestClientKeys) -> None:
    resources = example_resources("intermediate_breast")
    ecog = next(r for r in resources if r["id"].endswith("-ecog"))
    ecog["effectiveDateTime"] = "2020-01-01T00:00:00Z"
    response = _call(cds, keys, hook_body(resources[0]["id"], prefetch_of(resources)))
    (card,) = response.json()["cards"]
    assert "stale" in card["detail"] and ecog["id"] in card["detail"]


def test_feedback_is_appended_to_the_audit_trail(
    cds: TestClient, keys: TestClientKeys, cds_app: FastAPI
) -> None:
    resources = example_resources("intermediate_breast")
    (card,) = _call(cds, keys, hook_body(resources[0]["id"], prefetch_of(resources))).json()[
        "cards"
    ]
    feedback = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "overrideReason": {
                    "reason": card["overrideReasons"][1],
                    "userComment": "Discussed at the tumour board",
                },
                "outcomeTimestamp": "2026-12-02T10:00:00Z",
            }
        ]
    }
    url = f"{SERVICE_URL}/feedback"
    response = cds.post(
        f"/cds-services/{SERVICE}/feedback", json=feedback, headers=keys.headers(url)
    )
    assert response.status_code == 200, response.text
    with cds_app.state.session_factory() as session:
        (row,) = session.scalars(select(CdsFeedback)).all()
        assert row.card_uuid == card["uuid"] and row.outcome == "overridden"
        assert json.loads(row.feedback_json)["overrideReason"]["userComment"] == (
            "Discussed at the tumour board"
        )
        with pytest.raises(Exception, match="append-only"):
            session.execute(text("DELETE FROM cds_feedback"))
            session.commit()
    unknown = {"feedback": [{**feedback["feedback"][0], "card": "00000000-0000-4000-8000-0000"}]}
    response = cds.post(
        f"/cds-services/{SERVICE}/feedback", json=unknown, headers=keys.headers(url)
    )
    assert response.status_code == 404


def test_feedback_on_another_clients_card_is_refused(
    cds: TestClient, keys: TestClientKeys, cds_app: FastAPI
) -> None:
    resources = example_resources("intermediate_breast")
    (card,) = _call(cds, keys, hook_body(resources[0]["id"], prefetch_of(resources))).json()[
        "cards"
    ]
    other = TestClientKeys(issuer="https://other-ehr.invalid/", kid="other")
    cds_app.state.cds_security.clients[other.issuer] = CdsClient.model_validate(
        other.client_config()
    )
    url = f"{SERVICE_URL}/feedback"
    item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-12-02T10:00Z"}
    response = cds.post(
        f"/cds-services/{SERVICE}/feedback", json={"feedback": [item]}, headers=other.headers(url)
    )
    assert response.status_code == 404


def test_the_card_link_opens_for_the_clients_care_team_only(
    settings: Settings, keys: TestClientKeys
) -> None:
    from mescc.api import accounts

    configured = Settings(
        database_url=settings.database_url,
        data_dir=settings.data_dir,
        secret_key="test-secret-key-not-for-production",
        cds_clients=[CdsClient.model_validate({**keys.client_config(), "care_team": "spine"})],
    )
    application = create_app(configured)
    try:
        with TestClient(application) as client:
            resources = example_resources("intermediate_breast")
            response = _call(client, keys, hook_body(resources[0]["id"], prefetch_of(resources)))
            assert response.status_code == 200, response.text
            url = response.json()["cards"][0]["links"][0]["url"]
            assessment_id = int(url.rsplit("/", 1)[1])
            status = {}
            with application.state.session_factory() as session:
                for name, team in (("in-team", "spine"), ("outside", "breast")):
                    accounts.create_user(session, name, "long-enough-pw", care_team=team)
                    token = accounts.create_token(session, name)
                    status[name] = client.get(
                        f"/api/v1/assessments/{assessment_id}",
                        headers={"Authorization": f"Bearer {token}"},
                    ).status_code
            assert status == {"in-team": 200, "outside": 404}
    finally:
        application.state.engine.dispose()


def test_a_body_that_is_not_utf8_is_422_naming_the_body(
    cds: TestClient, keys: TestClientKeys
) -> None:
    # schemathesis: FastAPI's body reader answered a bare 400, undocumented
    response = cds.post(
        f"/cds-services/{SERVICE}",
        content=b'{"hook": "\xff"}',
        headers={**keys.headers(SERVICE_URL), "content-type": "application/json"},
    )
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["field"] == "body" and "UTF-8" in problem["message"]
