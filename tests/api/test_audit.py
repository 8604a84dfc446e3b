"""The audit trail is append-only: no update path, a session guard, and database triggers."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from mescc.api import audit
from mescc.api.audit import AuditViolation, Caller
from mescc.api.models import AssessmentRecord

from .patients import EXAMPLE_PATIENT


@pytest.fixture
def stored_id(api: TestClient) -> int:
    response = api.post("/api/v1/assessments", json=EXAMPLE_PATIENT)
    assert response.status_code == 201
    return int(response.json()["id"])


def test_the_store_has_no_update_or_delete_path() -> None:
    public = {name for name in dir(audit) if not name.startswith("_")}
    assert not {n for n in public if n.startswith(("update", "delete", "remove", "edit"))}


def test_orm_changes_are_refused(app: FastAPI, stored_id: int) -> None:
    with app.state.session_factory() as session:
        row = session.get(AssessmentRecord, stored_id)
        assert row is not None
        row.document_json = "{}"
        with pytest.raises(AuditViolation):
            session.flush()
        session.rollback()
    with app.state.session_factory() as session:
        row = session.get(AssessmentRecord, stored_id)
        session.delete(row)
        with pytest.raises(AuditViolation):
            session.flush()


@pytest.mark.parametrize(
    "statement",
    [
        update(AssessmentRecord).values(document_json="{}"),
        delete(AssessmentRecord),
    ],
    ids=["update", "delete"],
)
def test_the_database_refuses_update_and_delete(
    app: FastAPI, stored_id: int, statement: object
) -> None:
    with app.state.engine.connect() as connection:
        with pytest.raises(DBAPIError, match="append-only"):
            connection.execute(statement)
        connection.rollback()


def test_stored_record_is_what_was_returned(
    app: FastAPI, api: TestClient, stored_id: int, user: Caller
) -> None:
    body = api.get(f"/api/v1/assessments/{stored_id}").json()
    with app.state.session_factory() as session:
        record = audit.get_assessment(session, stored_id, viewer=user)
    assert record is not None
    assert record.inputs == EXAMPLE_PATIENT
    assert record.document == {
        k: v for k, v in body.items() if k not in {"id", "created_at", "audit"}
    }
    assert record.username == "dr-test"


def test_raw_sql_bypassing_the_orm_is_refused_too(app: FastAPI, stored_id: int) -> None:
    with app.state.engine.connect() as connection:
        with pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text("UPDATE assessments SET username = 'mallory'"))
        connection.rollback()
