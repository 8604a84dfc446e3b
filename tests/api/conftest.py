"""Fixtures of the service tests: the real app on a real database file.

Every test that takes ``client``/``api``/``web`` runs against SQLite (a file under tmp_path) and,
when ``MESCC_TEST_POSTGRES_URL`` is set (``scripts/services.sh`` prints it), against PostgreSQL
too, each test in a schema of its own. The PostgreSQL parametrization only exists when the
variable is set; ``test_ci_services.py`` fails in CI when it is missing, so CI cannot silently
lose the PostgreSQL run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mescc.api import accounts
from mescc.api.app import create_app
from mescc.api.audit import Caller
from mescc.settings import Settings

POSTGRES_URL = os.environ.get("MESCC_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", *(["postgres"] if POSTGRES_URL else [])]

# HTTPS, as in production: session cookies are Secure by default (MESCC_SECURE_COOKIES).
BASE_URL = "https://testserver"
USERNAME = "dr-test"
PASSWORD = "correct horse battery"


def _postgres_schema_url(schema: str) -> str:
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'mescc.sqlite3'}"
        return
    from sqlalchemy import create_engine, text

    schema = "t_" + secrets.token_hex(6)
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: os.PathLike[str]) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        secret_key="test-secret-key-not-for-production",
        audit_key="test-audit-key-not-for-production",
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """No credentials."""
    with TestClient(app, base_url=BASE_URL) as test_client:
        yield test_client


@pytest.fixture
def user(app: FastAPI) -> Caller:
    with app.state.session_factory() as session:
        return accounts.create_user(session, USERNAME, PASSWORD)


@pytest.fixture
def token(app: FastAPI, user: Caller) -> str:
    with app.state.session_factory() as session:
        return accounts.create_token(session, user.username, "tests")


@pytest.fixture
def api(app: FastAPI, token: str) -> Iterator[TestClient]:
    """A client sending the bearer token."""
    with TestClient(
        app, base_url=BASE_URL, headers={"Authorization": f"Bearer {token}"}
    ) as test_client:
        yield test_client


def csrf_of(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


@pytest.fixture
def web(app: FastAPI, user: Caller) -> Iterator[TestClient]:
    """A browser-like client, logged in through the login form."""
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as test_client:
        page = test_client.get("/login")
        response = test_client.post(
            "/login",
            data={
                "username": USERNAME,
                "password": PASSWORD,
                "csrf_token": csrf_of(page.text),
                "next": "/assessments/new",
            },
        )
        assert response.status_code == 303, response.text
        yield test_client
