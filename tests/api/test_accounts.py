"""Tokens expire, record their last use and can be listed and revoked; users can be listed,
disabled and given a new password; logout and those commands end sessions on the server; failed
logins are rate-limited per account and per client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from mescc.api import accounts
from mescc.api.audit import Caller
from mescc.api.cli import register
from mescc.api.models import ApiToken, WebSession
from mescc.settings import Settings

from .conftest import BASE_URL, PASSWORD, USERNAME, csrf_of


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def _env(settings: Settings) -> dict[str, str]:
    return {
        "MESCC_DATABASE_URL": settings.database_url,
        "MESCC_DATA_DIR": str(settings.data_dir),
        "MESCC_AUDIT_KEY": "test-audit-key-not-for-production",
    }


def _login(client: TestClient, username: str = USERNAME, password: str = PASSWORD) -> int:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    return response.status_code


# ---- tokens ---------------------------------------------------------------------------


def test_a_token_expires(app: FastAPI, api: TestClient, token: str) -> None:
    assert api.get("/api/v1/assessments").status_code == 200
    with app.state.session_factory() as session:
        session.execute(
            update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        session.commit()
    response = api.get("/api/v1/assessments")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"][0]["message"]


def test_tokens_get_the_configured_lifetime(app: FastAPI, user: Caller) -> None:
    with app.state.session_factory() as session:
        accounts.create_token(session, user.username, max_age_days=7)
        (expires,) = session.scalars(select(ApiToken.expires_at)).all()
    assert expires is not None
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)


def test_last_use_is_recorded(app: FastAPI, api: TestClient) -> None:
    with app.state.session_factory() as session:
        assert session.scalars(select(ApiToken.last_used_at)).one() is None
    api.get("/api/v1/instruments")
    with app.state.session_factory() as session:
        used = session.scalars(select(ApiToken.last_used_at)).one()
    assert used is not None and datetime.now(UTC) - used < timedelta(minutes=1)


def test_tokens_list_and_revoke_from_the_cli(
    cli: typer.Typer, settings: Settings, api: TestClient, token: str
) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["tokens", "list"], env=_env(settings))
    assert listed.exit_code == 0, listed.output
    line = listed.stdout.strip().splitlines()[1]
    token_id, username, label, state = line.split("\t")[:4]
    assert (username, label, state) == (USERNAME, "tests", "active")
    assert token not in listed.output  # only the hash is stored, nothing to show
    revoked = runner.invoke(cli, ["tokens", "revoke", token_id], env=_env(settings))
    assert revoked.exit_code == 0, revoked.output
    assert api.get("/api/v1/assessments").status_code == 401
    after = runner.invoke(cli, ["tokens", "list", "--user", USERNAME], env=_env(settings))
    assert "\trevoked\t" in after.stdout
    missing = runner.invoke(cli, ["tokens", "revoke", "999"], env=_env(settings))
    assert missing.exit_code == 2 and "no token with id 999" in missing.output


def test_revoke_every_token_of_a_user(
    cli: typer.Typer, settings: Settings, api: TestClient
) -> None:
    result = CliRunner().invoke(cli, ["tokens", "revoke", "--user", USERNAME], env=_env(settings))
    assert result.exit_code == 0, result.output
    assert "1 token(s)" in result.output
    assert api.get("/api/v1/assessments").status_code == 401


# ---- users ----------------------------------------------------------------------------


def test_users_list_disable_enable(
    cli: typer.Typer, settings: Settings, api: TestClient, web: TestClient
) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["users", "list"], env=_env(settings))
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines()[1].split("\t")[:5] == [USERNAME, "clinician", "-", "yes", "1"]
    assert runner.invoke(cli, ["users", "disable", USERNAME], env=_env(settings)).exit_code == 0
    assert api.get("/api/v1/assessments").status_code == 401
    assert web.get("/assessments/new").status_code == 303  # the session ended
    assert _login(web) == 401
    assert runner.invoke(cli, ["users", "enable", USERNAME], env=_env(settings)).exit_code == 0
    assert _login(web) == 303
    unknown = runner.invoke(cli, ["users", "disable", "nobody"], env=_env(settings))
    assert unknown.exit_code == 2 and "no user" in unknown.output


def test_set_password_ends_sessions(cli: typer.Typer, settings: Settings, web: TestClient) -> None:
    result = CliRunner().invoke(
        cli,
        ["users", "set-password", USERNAME, "--password-stdin"],
        input="a-brand-new-password\n",
        env=_env(settings),
    )
    assert result.exit_code == 0, result.output
    assert web.get("/assessments/new").status_code == 303
    assert _login(web) == 401
    assert _login(web, password="a-brand-new-password") == 303


def test_users_add_with_a_role_and_a_team(cli: typer.Typer, settings: Settings) -> None:
    added = CliRunner().invoke(
        cli,
        ["users", "add", "ehr", "--password-stdin", "--role", "integration", "--team", "onc-a"],
        input="long-enough-pw\n",
        env=_env(settings),
    )
    assert added.exit_code == 0, added.output
    bad = CliRunner().invoke(
        cli,
        ["users", "add", "x", "--password-stdin", "--role", "root"],
        input="long-enough-pw\n",
        env=_env(settings),
    )
    assert bad.exit_code == 2 and "role 'root' is not known" in bad.output


# ---- sessions -------------------------------------------------------------------------


def test_logout_ends_the_session_on_the_server(app: FastAPI, web: TestClient) -> None:
    assert web.get("/assessments/new").status_code == 200
    stolen = dict(web.cookies)
    page = web.get("/assessments/new")
    assert web.post("/logout", data={"csrf_token": csrf_of(page.text)}).status_code == 303
    with TestClient(app, base_url=BASE_URL, follow_redirects=False, cookies=stolen) as replay:
        response = replay.get("/assessments/new")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    with app.state.session_factory() as session:
        assert session.scalars(select(WebSession.revoked_at)).one() is not None


def test_an_expired_session_is_refused(app: FastAPI, web: TestClient) -> None:
    with app.state.session_factory() as session:
        session.execute(
            update(WebSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        session.commit()
    assert web.get("/assessments/new").status_code == 303


# ---- login rate limit -----------------------------------------------------------------


def test_the_account_locks_after_repeated_failures(
    app: FastAPI, user: Caller, settings: Settings
) -> None:
    limit = settings.login_max_failures_per_account
    with TestClient(app, base_url=BASE_URL) as client:
        for _ in range(limit):
            assert _login(client, password="wrong password") == 401
        page = client.get("/login")
        locked = client.post(
            "/login",
            data={"username": USERNAME, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
    assert locked.status_code == 429  # even the right password
    assert "Too many failed logins for this account" in locked.text
    assert f"{limit} within 15 min" in locked.text


def test_the_lock_lifts_after_the_window(app: FastAPI, user: Caller, settings: Settings) -> None:
    from mescc.api.models import LoginFailure

    with TestClient(app, base_url=BASE_URL) as client:
        for _ in range(settings.login_max_failures_per_account):
            _login(client, password="wrong password")
        with app.state.session_factory() as session:
            session.execute(update(LoginFailure).values(at=datetime.now(UTC) - timedelta(hours=1)))
            session.commit()
        assert _login(client) == 303


def test_one_client_is_limited_across_accounts(
    app: FastAPI, user: Caller, settings: Settings
) -> None:
    with TestClient(app, base_url=BASE_URL) as client:
        for index in range(settings.login_max_failures_per_client):
            assert _login(client, username=f"guess-{index}", password="nope") == 401
        page = client.get("/login")
        refused = client.post(
            "/login",
            data={"username": USERNAME, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        )
    assert refused.status_code == 429
    assert "from this address" in refused.text


def test_integration_accounts_cannot_log_in_to_the_web_app(app: FastAPI) -> None:
    with app.state.session_factory() as session:
        accounts.create_user(session, "ehr", "long-enough-pw", role="integration")
    with TestClient(app, base_url=BASE_URL) as client:
        assert _login(client, "ehr", "long-enough-pw") == 401


def test_generated_keys_stay_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.audit_chain_key() == settings.audit_chain_key()
    assert (tmp_path / "audit_key").stat().st_mode & 0o077 == 0
