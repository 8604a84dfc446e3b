"""The permission matrix of roles and care teams (docs/web.md, "Roles and sharing").

Five callers: two clinicians of team A, one of team B, an integration token scoped to team A,
an integration token without a team, and an administrator. Each clinician makes one assessment;
then every caller tries every operation on every assessment.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mescc.api import access, accounts
from mescc.api.audit import Caller

from .conftest import BASE_URL, csrf_of
from .patients import EXAMPLE_PATIENT

# name: (role, team)
CALLERS = {
    "alice": ("clinician", "team-a"),
    "amir": ("clinician", "team-a"),
    "bea": ("clinician", "team-b"),
    "solo": ("clinician", None),
    "ehr-a": ("integration", "team-a"),
    "ehr-none": ("integration", None),
    "root": ("admin", None),
}
# Whose assessments each caller sees (every caller that may assess makes one).
SEES = {
    "alice": {"alice", "amir"},  # own + team A
    "amir": {"alice", "amir"},
    "bea": {"bea"},
    "solo": {"solo"},  # no team: own only
    "ehr-a": {"alice", "amir"},  # integration: its team's, read-only
    "ehr-none": set(),  # integration without a team: nothing
    "root": {"alice", "amir", "bea", "solo", "root"},  # admin: everything
}
MAY_ASSESS = {"alice", "amir", "bea", "solo", "root"}


@pytest.fixture
def clients(app: FastAPI) -> Iterator[dict[str, TestClient]]:
    made: dict[str, TestClient] = {}
    with app.state.session_factory() as session:
        for name, (role, team) in CALLERS.items():
            accounts.create_user(session, name, "long-enough-pw", role=role, care_team=team)
            token = accounts.create_token(session, name)
            made[name] = TestClient(
                app, base_url=BASE_URL, headers={"Authorization": f"Bearer {token}"}
            )
    for client in made.values():
        client.__enter__()
    yield made
    for client in made.values():
        client.__exit__(None, None, None)


def test_the_permission_matrix(clients: dict[str, TestClient]) -> None:
    created: dict[str, int] = {}
    for name, client in clients.items():
        response = client.post("/api/v1/assessments", json={**EXAMPLE_PATIENT, "id": name})
        if name in MAY_ASSESS:
            assert response.status_code == 201, (name, response.text)
            created[name] = response.json()["id"]
        else:
            assert response.status_code == 403, name
            assert response.json()["detail"][0]["field"] == "role"
    for viewer, client in clients.items():
        expected = SEES[viewer]
        listed = client.get("/api/v1/assessments", params={"limit": 200}).json()
        seen = {item["patient_ref"] for item in listed["items"]}
        assert seen == expected, viewer
        assert listed["total"] == len(expected)
        for maker, assessment_id in created.items():
            for suffix in ("", "/rerun"):
                status = client.get(f"/api/v1/assessments/{assessment_id}{suffix}").status_code
                assert status == (200 if maker in expected else 404), (viewer, maker, suffix)
        # Everyone with a token may read the knowledge base and the dose calculator.
        assert client.get("/api/v1/instruments").status_code == 200


def test_a_filter_cannot_reach_beyond_the_scope(clients: dict[str, TestClient]) -> None:
    clients["bea"].post("/api/v1/assessments", json={**EXAMPLE_PATIENT, "id": "MRN-b"})
    for viewer in ("alice", "ehr-a", "ehr-none"):
        found = clients[viewer].get(
            "/api/v1/assessments", params={"patient_ref": "MRN-b", "user": "bea"}
        )
        assert found.json()["total"] == 0, viewer
    assert (
        clients["root"].get("/api/v1/assessments", params={"patient_ref": "MRN-b"}).json()["total"]
        == 1
    )


def test_the_web_app_applies_the_same_scope(app: FastAPI, clients: dict[str, TestClient]) -> None:
    made = clients["bea"].post("/api/v1/assessments", json={**EXAMPLE_PATIENT, "id": "MRN-b"})
    other_team = made.json()["id"]
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as browser:
        page = browser.get("/login")
        browser.post(
            "/login",
            data={
                "username": "alice",
                "password": "long-enough-pw",
                "csrf_token": csrf_of(page.text),
            },
        )
        assert browser.get("/assessments/new").status_code == 200
        for path in ("", "/summary", "/rerun", "/report.pdf"):
            assert browser.get(f"/assessments/{other_team}{path}").status_code == 404, path
        history = browser.get("/assessments")
        assert "MRN-b" not in history.text
        assert browser.get("/assessments/new", params={"from": other_team}).status_code == 200


def test_the_documented_roles_are_the_ones_enforced() -> None:
    assert set(access.PERMISSIONS) == {"clinician", "integration", "admin"}
    assert not access.may(access_caller("integration"), "assess")
    assert access.may(access_caller("clinician"), "assess")
    assert access.may(access_caller("admin"), "read_all")


def access_caller(role: str) -> Caller:
    return Caller(id=1, username="x", role=role)
