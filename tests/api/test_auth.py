"""Every route but ``/health`` (and the login page and static files) needs credentials."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from mescc.api.models import ApiToken

PUBLIC = {"/health", "/login", "/openapi.json"}


def _walk(routes: list[Any], prefix: str = "") -> list[APIRoute | tuple[str, APIRoute]]:
    """Every APIRoute with its full path; included routers are walked (old and new FastAPI)."""
    found: list[Any] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append((prefix + route.path, route))
        elif hasattr(route, "original_router"):  # FastAPI's lazily included router
            context = getattr(route, "include_context", None)
            found.extend(
                _walk(route.original_router.routes, prefix + getattr(context, "prefix", ""))
            )
    return found


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    out = []
    for path, route in _walk(list(app.routes)):
        if path not in PUBLIC:
            for method in sorted(route.methods - {"HEAD"}):
                out.append((method, path.replace("{assessment_id}", "1")))
    return out


def test_the_route_table_is_what_we_test(app: FastAPI) -> None:
    paths = {path for _, path in _routes(app)}
    assert "/api/v1/assessments" in paths and "/assessments/new" in paths
    assert len(paths) >= 14


def test_every_api_route_needs_a_token(app: FastAPI, client: TestClient) -> None:
    for method, path in _routes(app):
        if not path.startswith("/api/"):
            continue
        response = client.request(method, path, json={})
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"
        (problem,) = response.json()["detail"]
        assert problem["field"] == "Authorization"


def test_every_page_needs_a_login(app: FastAPI, client: TestClient) -> None:
    for method, path in _routes(app):
        if path.startswith(("/api/", "/cds-services")):
            continue
        response = client.request(method, path, follow_redirects=False)
        assert response.status_code in {303, 403}, (method, path)
        if method == "GET":
            assert response.headers["location"].startswith("/login?next="), path


def test_every_cds_hooks_route_needs_a_client_jwt(
    app: FastAPI, client: TestClient, token: str
) -> None:
    paths = [(m, p) for m, p in _routes(app) if p.startswith("/cds-services")]
    assert len(paths) == 3
    for method, path in paths:
        for headers in ({}, {"Authorization": f"Bearer {token}"}):  # an API token is no JWT
            response = client.request(method, path, json={}, headers=headers)
            assert response.status_code == 401, (method, path)
            assert response.json()["detail"][0]["field"] == "Authorization"


@pytest.mark.parametrize("header", ["Bearer wrong", "Basic ZHI6cHc=", "Bearer", "mescc_x"])
def test_bad_credentials_are_401(api: TestClient, header: str) -> None:
    response = api.get("/api/v1/assessments", headers={"Authorization": header})
    assert response.status_code == 401


def test_a_session_cookie_does_not_open_the_api(web: TestClient) -> None:
    assert web.get("/api/v1/assessments").status_code == 401


def test_tokens_are_stored_hashed(app: FastAPI, token: str) -> None:
    with app.state.session_factory() as session:
        stored = session.scalars(select(ApiToken.token_sha256)).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in stored
