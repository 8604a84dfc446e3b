"""The audit trail is tamper-evident: a keyed hash chain, verified by ``mescc audit verify`` and
at start, appended safely by concurrent writers, and protected on PostgreSQL by a role split.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from mescc.api import accounts, audit
from mescc.api.app import create_app
from mescc.api.audit import Caller
from mescc.api.chain import GENESIS, verify_chain
from mescc.api.cli import register
from mescc.api.database import StartupError, create_db_engine, create_session_factory, migrate
from mescc.api.models import AssessmentRecord
from mescc.settings import Settings

from .conftest import BASE_URL
from .patients import EXAMPLE_PATIENT

KEY = b"test-audit-key-not-for-production"


def _append(api: TestClient, count: int) -> list[int]:
    ids = []
    for index in range(count):
        response = api.post("/api/v1/assessments", json={**EXAMPLE_PATIENT, "id": f"c-{index}"})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def _verify(engine: Engine) -> Any:
    with engine.connect() as connection:
        return verify_chain(connection, KEY)


def _cli_env(settings: Settings) -> dict[str, str]:
    return {
        "MESCC_DATABASE_URL": settings.database_url,
        "MESCC_DATA_DIR": str(settings.data_dir),
        "MESCC_AUDIT_KEY": KEY.decode(),
    }


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def _drop_guards(connection: Any) -> None:
    """What an attacker with the database file (SQLite) or the table owner (PostgreSQL) can do."""
    if connection.dialect.name == "sqlite":
        for name in ("assessments_no_update", "assessments_no_delete", "assessments_no_replace"):
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
    else:
        connection.execute(text("ALTER TABLE assessments DISABLE TRIGGER USER"))


def test_each_row_links_to_the_previous_one(app: FastAPI, api: TestClient) -> None:
    ids = _append(api, 4)
    with app.state.engine.connect() as connection:
        rows = connection.execute(
            select(
                AssessmentRecord.id,
                AssessmentRecord.previous_sha256,
                AssessmentRecord.row_sha256,
            ).order_by(AssessmentRecord.id)
        ).all()
    assert [r.id for r in rows] == ids
    assert rows[0].previous_sha256 == GENESIS
    for before, after in itertools.pairwise(rows):
        assert after.previous_sha256 == before.row_sha256
    report = _verify(app.state.engine)
    assert report.intact and report.rows == 4 and report.head_id == ids[-1]


def test_audit_verify_exits_0_on_an_intact_trail(
    app: FastAPI, api: TestClient, settings: Settings, cli: typer.Typer
) -> None:
    _append(api, 3)
    result = CliRunner().invoke(cli, ["audit", "verify"], env=_cli_env(settings))
    assert result.exit_code == 0, result.output
    assert "intact: 3 rows" in result.output
    head = result.output.strip().rsplit(" ", 1)[-1]
    again = CliRunner().invoke(
        cli, ["audit", "verify", "--expect-head", head], env=_cli_env(settings)
    )
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize("attack", ["update", "replace", "delete", "recompute_all"])
def test_tampering_that_recomputes_the_row_hash_is_detected(
    app: FastAPI, api: TestClient, settings: Settings, cli: typer.Typer, attack: str
) -> None:
    """The attacker changes a row and recomputes its document SHA-256 and a row hash (without
    the audit key, which is not in the database); `mescc audit verify` names the row."""
    ids = _append(api, 4)
    target = ids[1]
    forged_doc = '{"plan":{"radiotherapy":[{"regimen":"1 x 8 Gy"}]}}'
    forged_sha = hashlib.sha256(forged_doc.encode()).hexdigest()
    with app.state.engine.begin() as connection:
        _drop_guards(connection)
        row = (
            connection.execute(text("SELECT * FROM assessments WHERE id = :id"), {"id": target})
            .mappings()
            .one()
        )
        if attack == "update":
            connection.execute(
                text(
                    "UPDATE assessments SET document_json = :d, document_sha256 = :s, "
                    "row_sha256 = :h WHERE id = :id"
                ),
                {
                    "d": forged_doc,
                    "s": forged_sha,
                    "h": hashlib.sha256(b"x").hexdigest(),
                    "id": target,
                },
            )
        elif attack == "replace" and connection.dialect.name == "sqlite":
            values = {**row, "document_json": forged_doc, "document_sha256": forged_sha}
            columns = ", ".join(values)
            marks = ", ".join(f":{c}" for c in values)
            connection.execute(
                text(f"INSERT OR REPLACE INTO assessments ({columns}) VALUES ({marks})"), values
            )
        elif attack in {"delete", "replace"}:
            connection.execute(text("DELETE FROM assessments WHERE id = :id"), {"id": target})
        else:  # recompute every later link with plain SHA-256: still not the keyed hash
            previous = row["previous_sha256"]
            for row_id in ids[1:]:
                digest = hashlib.sha256(f"{previous}{row_id}".encode()).hexdigest()
                connection.execute(
                    text("UPDATE assessments SET previous_sha256 = NULL WHERE id = :id"),
                    {"id": row_id},
                )
                connection.execute(
                    text(
                        "UPDATE assessments SET previous_sha256 = :p, row_sha256 = :h, "
                        "document_json = CASE WHEN id = :t THEN :d ELSE document_json END "
                        "WHERE id = :id"
                    ),
                    {"p": previous, "h": digest, "id": row_id, "t": target, "d": forged_doc},
                )
                previous = digest
    report = _verify(app.state.engine)
    expected = (
        ids[2]
        if attack in {"delete"}
        or (attack == "replace" and app.state.engine.dialect.name != "sqlite")
        else target
    )
    assert not report.intact
    assert report.broken.id == expected
    result = CliRunner().invoke(cli, ["audit", "verify"], env=_cli_env(settings))
    assert result.exit_code == 2
    assert f"row id {expected}" in result.output


def test_insert_or_replace_is_refused_on_sqlite(app: FastAPI, api: TestClient) -> None:
    (target,) = _append(api, 1)
    with app.state.engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            with pytest.raises(DBAPIError):
                connection.execute(text("TRUNCATE assessments"))
            return
        row = dict(
            connection.execute(text("SELECT * FROM assessments WHERE id = :id"), {"id": target})
            .mappings()
            .one()
        )
        columns = ", ".join(row)
        marks = ", ".join(f":{c}" for c in row)
        with pytest.raises(DBAPIError, match="append-only"):
            connection.execute(
                text(f"INSERT OR REPLACE INTO assessments ({columns}) VALUES ({marks})"),
                {**row, "username": "mallory"},
            )
        connection.rollback()


def _break_the_chain(engine: Engine) -> None:
    with engine.begin() as connection:
        _drop_guards(connection)
        connection.execute(text("UPDATE assessments SET username = 'mallory' WHERE id = 1"))


def test_the_service_refuses_to_start_on_a_broken_chain(
    app: FastAPI, api: TestClient, settings: Settings, cli: typer.Typer
) -> None:
    _append(api, 2)
    _break_the_chain(app.state.engine)
    with pytest.raises(StartupError, match="audit trail is broken at row id 1"):
        create_app(settings)
    env = {**_cli_env(settings), "MESCC_SECRET_KEY": "x"}
    result = CliRunner().invoke(cli, ["serve", "--port", "1"], env=env)
    assert result.exit_code == 2
    assert "audit trail is broken at row id 1" in result.output
    assert "Traceback" not in result.output


def test_warn_mode_starts_and_health_reports_the_break(
    app: FastAPI, api: TestClient, settings: Settings
) -> None:
    _append(api, 2)
    _break_the_chain(app.state.engine)
    warned = create_app(settings.model_copy(update={"audit_on_broken_chain": "warn"}))
    try:
        with TestClient(warned, base_url=BASE_URL) as client:
            response = client.get("/health")
        assert response.status_code == 503
        assert response.json()["audit_trail"].startswith("broken at start: row id 1")
    finally:
        warned.state.engine.dispose()


def _writer(database_url: str, count: int, name: str) -> None:
    engine = create_db_engine(database_url)
    factory = create_session_factory(engine, audit_key=KEY)
    with factory() as session:
        caller = accounts.authenticate(session, "dr-test", "correct horse battery")
        assert caller is not None
        for index in range(count):
            audit.record_assessment(
                session,
                caller=caller,
                inputs={"id": f"{name}-{index}"},
                document={"schema_version": "1", "plan": {}},
                allow_unverified=False,
            )
    engine.dispose()


def test_concurrent_appends_from_threads_and_processes_keep_one_chain(
    app: FastAPI, user: Caller, settings: Settings
) -> None:
    """Four threads in this process and two worker processes append at once."""
    threads = [
        threading.Thread(target=_writer, args=(settings.database_url, 15, f"t{n}"))
        for n in range(4)
    ]
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_writer, args=(settings.database_url, 15, f"p{n}")) for n in range(2)
    ]
    for worker in [*threads, *processes]:
        worker.start()
    for thread in threads:
        thread.join(300)
    for process in processes:
        process.join(300)
        assert process.exitcode == 0
    report = _verify(app.state.engine)
    assert report.intact, report.broken
    assert report.rows == 6 * 15


def test_existing_rows_are_chained_by_the_migration(tmp_path: Path) -> None:
    """A database made before the chain (revision 0001, with rows) is migrated and verifies."""
    from alembic import command
    from alembic.config import Config

    from mescc.api.database import MIGRATIONS_DIR

    engine = create_db_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO users (id, username, password_hash, is_active, created_at) "
                "VALUES (1, 'old', 'x', 1, '2026-01-01 00:00:00.000000')"
            )
        )
        for row_id in (1, 2, 3):
            connection.execute(
                text(
                    "INSERT INTO assessments (id, created_at, user_id, username, "
                    "software_version, allow_unverified, inputs_json, document_json, "
                    "document_sha256) VALUES (:id, '2026-01-0' || :id || ' 10:00:00.123456', "
                    "1, 'old', '0.1.0', 0, '{}', '{}', 'd')"
                ),
                {"id": row_id},
            )
    migrate(engine, audit_key=KEY)
    report = _verify(engine)
    assert report.intact and report.rows == 3
    engine.dispose()


# ---- the PostgreSQL role split ----------------------------------------------------------

APP_ROLE = "mescc_test_app"


@pytest.fixture
def app_role_url(database_url: str) -> Iterator[str]:
    """The URL of the same schema as the app's own role (scripts/services.sh creates it)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield database_url
        return
    yield url.set(username=APP_ROLE, password=APP_ROLE).render_as_string(hide_password=False)


def test_the_apps_role_cannot_change_the_trail(
    settings: Settings, app_role_url: str, tmp_path: Path
) -> None:
    """PostgreSQL: the owner migrates and grants; the app's role can INSERT and SELECT the
    trail only. SQLite: the triggers refuse UPDATE, DELETE and REPLACE for everyone."""
    owner = create_db_engine(settings.database_url)
    migrate(owner, audit_key=KEY)
    is_postgres = owner.dialect.name == "postgresql"
    if is_postgres:
        from mescc.api.database import grant_app_role

        grant_app_role(owner, APP_ROLE)
    owner.dispose()
    app_settings = settings.model_copy(
        update={"database_url": app_role_url, "migrate_at_start": False}
    )
    service = create_app(app_settings)
    try:
        with service.state.session_factory() as session:
            accounts.create_user(session, "role-test", "long-enough-pw")
            token = accounts.create_token(session, "role-test")
        with TestClient(
            service, base_url=BASE_URL, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            assert client.post("/api/v1/assessments", json=EXAMPLE_PATIENT).status_code == 201
            assert client.get("/api/v1/assessments").json()["total"] == 1
        attacks = [
            "UPDATE assessments SET username = 'mallory'",
            "DELETE FROM assessments",
        ]
        if is_postgres:
            attacks += [
                "TRUNCATE assessments",
                "ALTER TABLE assessments DISABLE TRIGGER USER",
                "ALTER TABLE assessments DISABLE TRIGGER assessments_append_only",
                "DROP TRIGGER assessments_append_only ON assessments",
                "DROP TABLE assessments",
            ]
        engine = create_engine(app_role_url)
        for statement in attacks:
            with engine.connect() as connection, pytest.raises(DBAPIError) as refused:
                connection.execute(text(statement))
            message = str(refused.value.orig).lower()
            assert (
                "permission denied" in message
                or "must be owner" in message
                or ("append-only" in message)
            ), (statement, message)
        engine.dispose()
        report = _verify(service.state.engine)
        assert report.intact and report.rows == 1
    finally:
        service.state.engine.dispose()
