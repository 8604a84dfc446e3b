"""Issue 9, accounts and access: a private OpenAPI schema, a private SQLite file, HSTS, Secure
cookies by default, JSON-only bodies on the API, an access log without query strings, and
bounded error responses."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mescc.api import accounts
from mescc.api.app import create_app
from mescc.api.errors import MAX_PROBLEMS, capped, problem
from mescc.api.server import AccessLogRedaction
from mescc.settings import Settings

from .conftest import BASE_URL, csrf_of
from .live_server import LiveServer
from .patients import EXAMPLE_PATIENT, SECRET_REF


def test_openapi_needs_a_token(client: TestClient, api: TestClient) -> None:
    assert client.get("/openapi.json").status_code == 401
    schema = api.get("/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/assessments" in schema.json()["paths"]


def test_openapi_is_public_only_when_configured(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"public_openapi": True}))
    try:
        with TestClient(app, base_url=BASE_URL) as client:
            assert client.get("/openapi.json").status_code == 200
    finally:
        app.state.engine.dispose()


def test_the_sqlite_file_is_private(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'data' / 'private.sqlite3'}",
        data_dir=tmp_path / "data",
        secret_key="k",
        audit_key="a",
    )
    app = create_app(settings)
    try:
        with TestClient(app, base_url=BASE_URL) as client:
            client.get("/health")
        for name in ("private.sqlite3", "private.sqlite3-wal"):
            path = tmp_path / "data" / name
            if path.exists():
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
        assert stat.S_IMODE((tmp_path / "data").stat().st_mode) & 0o077 == 0
    finally:
        app.state.engine.dispose()


def test_a_world_readable_database_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    path.touch()
    os.chmod(path, 0o644)
    settings = Settings(database_url=f"sqlite:///{path}", data_dir=tmp_path, secret_key="k")
    create_app(settings).state.engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_hsts_on_every_response(client: TestClient) -> None:
    for path in ("/health", "/login", "/static/style.css", "/api/v1/assessments"):
        value = client.get(path).headers["strict-transport-security"]
        assert value == "max-age=31536000; includeSubDomains", path


def test_session_cookies_are_secure_by_default(app: FastAPI, client: TestClient) -> None:
    with app.state.session_factory() as session:
        accounts.create_user(session, "cookie", "long-enough-pw")
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "cookie", "password": "long-enough-pw", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_secure_cookies_can_be_turned_off_for_plain_http(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"secure_cookies": False}))
    try:
        with TestClient(app, base_url="http://testserver") as client:
            cookie = client.get("/login").headers["set-cookie"].lower()
        assert "secure" not in cookie
    finally:
        app.state.engine.dispose()


def test_text_plain_is_refused_for_json(api: TestClient) -> None:
    for media in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        response = api.post(
            "/api/v1/assessments",
            content=b'{"age_years": 60}',
            headers={"content-type": media},
        )
        assert response.status_code == 415, media
        assert response.json()["detail"][0]["field"] == "content-type"
    ok = api.post(
        "/api/v1/assessments",
        content=b'{"age_years": 60}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert ok.status_code == 201


def test_forms_refuse_a_text_plain_post(web: TestClient) -> None:
    page = web.get("/assessments/new")
    body = f"csrf_token={csrf_of(page.text)}&age_years=60".encode()
    response = web.post("/assessments", content=body, headers={"content-type": "text/plain"})
    assert response.status_code == 403


def test_an_error_response_lists_a_bounded_number_of_problems(api: TestClient) -> None:
    body = {f"unknown_{index}": index for index in range(12_000)}
    response = api.post("/api/v1/assessments", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert len(detail) <= MAX_PROBLEMS + 1
    assert detail[0]["field"] == "body" and "64 KiB" in detail[0]["message"]
    assert len(response.content) < 20_000
    many = [problem(f"f{n}", n, "x", f"f{n}: {n} is not allowed; allowed: x") for n in range(60)]
    listed = capped(many)
    assert listed[:MAX_PROBLEMS] == many[:MAX_PROBLEMS]
    assert len(listed) == MAX_PROBLEMS + 1
    assert "10 more problems not listed" in listed[-1]["message"]


def test_the_access_log_filter_drops_query_strings() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/api/v1/assessments?patient_ref={SECRET_REF}", "1.1", 200),
        None,
    )
    assert AccessLogRedaction().filter(record)
    assert SECRET_REF not in record.getMessage()
    assert "/api/v1/assessments?[query removed]" in record.getMessage()


def test_the_served_access_log_has_no_patient_identifiers(tmp_path: Path) -> None:
    """A real `mescc serve` with its access log on."""
    database_url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    server = LiveServer(database_url, tmp_path, extra_env={"MESCC_TEST_ACCESS_LOG": "1"})
    server.start()
    try:
        from mescc.api.database import create_db_engine, create_session_factory

        engine = create_db_engine(database_url)
        with create_session_factory(engine)() as session:
            accounts.create_user(session, "logger", "long-enough-pw")
            token = accounts.create_token(session, "logger")
        engine.dispose()
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
            assert http.post("/api/v1/assessments", json=EXAMPLE_PATIENT).status_code == 201
            listed = http.get("/api/v1/assessments", params={"patient_ref": SECRET_REF})
            assert listed.status_code == 200
    finally:
        server.stop()
    log = server.log()
    assert "GET /api/v1/assessments?[query removed]" in log
    assert SECRET_REF not in log
