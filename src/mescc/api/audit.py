"""The audit store: every assessment, append-only.

The only write is :func:`record_assessment`. There is no update or delete path; a session guard
refuses to flush a changed or deleted :class:`AssessmentRecord`, and the database triggers of the
first migration refuse UPDATE and DELETE underneath.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mescc import __version__
from mescc.api import access
from mescc.api.chain import GENESIS, row_digest
from mescc.api.models import AssessmentRecord
from mescc.api.params import nul_problem
from mescc.api.responses import dumps
from mescc.errors import InputError, Problem


class AuditViolation(RuntimeError):
    """Something tried to change or delete a stored assessment."""


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated user of a request: role and care team decide what it may see and do
    (:mod:`mescc.api.access`)."""

    id: int
    username: str
    role: str = "clinician"
    care_team: str | None = None


@dataclass(frozen=True, slots=True)
class StoredAssessment:
    """One assessment as stored: inputs and document exactly as received and returned."""

    id: int
    created_at: datetime
    username: str
    patient_ref: str | None
    recommended_regimen: str | None
    knowledge_base_version: str | None
    software_version: str
    allow_unverified: bool
    inputs: dict[str, Any]
    document: dict[str, Any]
    document_sha256: str
    care_team: str | None = None

    def audit(self) -> dict[str, Any]:
        """The provenance block added next to the document in API responses."""
        return {
            "user": self.username,
            "software_version": self.software_version,
            "knowledge_base_version": self.knowledge_base_version,
            "allow_unverified": self.allow_unverified,
            "document_sha256": self.document_sha256,
            "inputs": self.inputs,
        }


@dataclass(frozen=True, slots=True)
class AssessmentFilter:
    created_after: datetime | None = None
    created_before: datetime | None = None
    user: str | None = None
    regimen: str | None = None
    patient_ref: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[StoredAssessment]
    total: int
    limit: int
    offset: int


def canonical_json(value: Any) -> str:
    """The stored text of a JSON value (stable key order; UTF-8, compact)."""
    return dumps(value, sort_keys=True).decode("utf-8")


def recommended_regimen(document: Mapping[str, Any]) -> str | None:
    """The recommended regimen of a document (None when the plan recommends none), as every
    other output reads it (:func:`mescc.summary.recommendation`): not the first listed option,
    which a plan without a ranking claim still lists (issue 10)."""
    from mescc.summary import recommended_regimen as of_document

    return of_document(document)


_INT64 = range(-(2**63), 2**63)


def _wide_integers(value: Any, path: str = "") -> list[tuple[str, int]]:
    """Every integer in ``value`` beyond 64 bits, with its dotted path (the stored JSON text
    is written by orjson, which holds 64-bit integers only)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [] if value in _INT64 else [(path or "body", value)]
    if isinstance(value, Mapping):
        return [w for k, v in value.items() for w in _wide_integers(v, f"{path}.{k}".strip("."))]
    if isinstance(value, list):
        return [w for i, v in enumerate(value) for w in _wide_integers(v, f"{path}[{i}]")]
    return []


def _refuse_unstorable_inputs(inputs: Mapping[str, Any]) -> None:
    """A narrow guard of the store: integers it cannot write are refused (nothing is stored).
    The patient model's field ranges refuse them first once every field has a range."""
    wide = _wide_integers(inputs)
    if wide:
        problems = []
        for path, number in wide:
            digits = str(number)
            shown = digits if len(digits) <= 40 else digits[:40] + "..."
            problems.append(
                Problem(
                    field=path,
                    value=shown,
                    allowed="an integer within 64 bits",
                    message=f"{path}: {shown} is beyond 64 bits and cannot be stored; "
                    "allowed: an integer within 64 bits",
                )
            )
        raise InputError(problems)


def _refuse_unstorable_ref(patient_ref: Any) -> None:
    """The patient reference is indexed as text: a NUL in it is refused (nothing is stored)."""
    if not isinstance(patient_ref, str):
        return
    reason = nul_problem(patient_ref)
    if reason is not None:
        raise InputError(
            [
                Problem(
                    field="id",
                    value=patient_ref,
                    allowed="text without NUL characters",
                    message=f"id: {json.dumps(patient_ref)[:200]} {reason}; "
                    "allowed: text without NUL characters",
                )
            ]
        )


_INSERT = insert(AssessmentRecord)
_HEAD = (
    select(AssessmentRecord.id, AssessmentRecord.row_sha256)
    .order_by(AssessmentRecord.id.desc())
    .limit(1)
)
# The PostgreSQL advisory lock held while a row is appended (released at commit).
_CHAIN_LOCK_ID = 0x6D65_7364
_APPEND_ATTEMPTS = 5


def _lock_chain_head(connection: Connection) -> None:
    """Serialise appends across threads, workers and hosts, so each reads the true head.

    SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock before the head is read
    (busy_timeout waits for it). PostgreSQL: a transaction-scoped advisory lock. The unique
    index on ``previous_sha256`` refuses a fork even from a writer that skipped the lock.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CHAIN_LOCK_ID})


def _append(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    """Append one row as the new head of the chain and commit; the row as stored."""
    key = session.info.get("audit_key")
    if not isinstance(key, bytes):
        raise RuntimeError("the session factory has no audit key (create_session_factory)")
    session.commit()  # end this session's read transaction (the token check) first
    for attempt in range(_APPEND_ATTEMPTS):
        try:
            connection = session.connection()
            _lock_chain_head(connection)
            head = connection.execute(_HEAD).first()
            if head is not None and not head.row_sha256:
                raise AuditViolation(
                    f"assessment {head.id} has no chain hash; run `mescc audit verify`"
                )
            row = {
                **values,
                "id": head.id + 1 if head is not None else 1,
                "previous_sha256": head.row_sha256 if head is not None else GENESIS,
            }
            row["row_sha256"] = row_digest(key, row)
            connection.execute(_INSERT, row)
            session.commit()
            return row
        except IntegrityError:
            session.rollback()
            if attempt == _APPEND_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def record_assessment(
    session: Session,
    *,
    caller: Caller,
    inputs: Mapping[str, Any],
    document: Mapping[str, Any],
    allow_unverified: bool,
) -> StoredAssessment:
    """Append one assessment and commit; the returned value is what was stored.

    One Core INSERT (no unit of work is needed to append a row that is never loaded, changed
    or deleted again) as the new head of the hash chain (:mod:`mescc.api.chain`), then the
    commit. Raises :class:`~mescc.errors.InputError` (nothing stored) for values the store
    cannot hold.
    """
    _refuse_unstorable_inputs(inputs)
    patient_ref = inputs.get("id")
    _refuse_unstorable_ref(patient_ref)
    document_text = canonical_json(document)
    kb_version = document.get("knowledge_base_version")
    schema_version = document.get("schema_version")
    values: dict[str, Any] = {
        "created_at": datetime.now(UTC),
        "user_id": caller.id,
        "username": caller.username,
        "patient_ref": str(patient_ref)[:200] if patient_ref is not None else None,
        "care_team": caller.care_team,
        "recommended_regimen": recommended_regimen(document),
        "schema_version": str(schema_version) if schema_version is not None else None,
        "knowledge_base_version": str(kb_version) if kb_version is not None else None,
        "software_version": __version__,
        "allow_unverified": allow_unverified,
        "inputs_json": canonical_json(inputs),
        "document_json": document_text,
        "document_sha256": hashlib.sha256(document_text.encode("utf-8")).hexdigest(),
    }
    stored = _append(session, values)
    new_id = stored["id"]
    # What was stored, without parsing the document back: the same JSON values.
    return StoredAssessment(
        id=new_id,
        created_at=values["created_at"],
        username=caller.username,
        patient_ref=values["patient_ref"],
        recommended_regimen=values["recommended_regimen"],
        knowledge_base_version=values["knowledge_base_version"],
        software_version=__version__,
        allow_unverified=allow_unverified,
        inputs=orjson.loads(values["inputs_json"]),
        document=dict(document),
        document_sha256=values["document_sha256"],
        care_team=caller.care_team,
    )


def get_assessment(
    session: Session, assessment_id: int, *, viewer: Caller
) -> StoredAssessment | None:
    """The assessment if it exists and ``viewer`` may see it (else None: not even whether it
    exists is told)."""
    row = session.get(AssessmentRecord, assessment_id)
    if row is None or not access.may_see(viewer, row.user_id, row.care_team):
        return None
    return _stored(row)


def list_assessments(
    session: Session, where: AssessmentFilter, *, viewer: Caller, limit: int, offset: int
) -> Page:
    """Newest first, filtered to what ``viewer`` may see, one page."""
    query = select(AssessmentRecord).where(access.visible_rows(viewer))
    if where.created_after is not None:
        query = query.where(AssessmentRecord.created_at >= where.created_after)
    if where.created_before is not None:
        query = query.where(AssessmentRecord.created_at < where.created_before)
    if where.user:
        query = query.where(AssessmentRecord.username == where.user)
    if where.regimen:
        query = query.where(AssessmentRecord.recommended_regimen == where.regimen)
    if where.patient_ref:
        query = query.where(AssessmentRecord.patient_ref == where.patient_ref)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(AssessmentRecord.id.desc()).limit(limit).offset(offset)
    ).all()
    return Page(items=[_stored(row) for row in rows], total=total, limit=limit, offset=offset)


def distinct_values(session: Session, *, viewer: Caller) -> dict[str, list[str]]:
    """Users and regimens in the part of the trail ``viewer`` may see (filter choices)."""
    visible = access.visible_rows(viewer)
    users = session.scalars(select(AssessmentRecord.username).where(visible).distinct()).all()
    regimens = session.scalars(
        select(AssessmentRecord.recommended_regimen)
        .where(visible, AssessmentRecord.recommended_regimen.is_not(None))
        .distinct()
    ).all()
    return {"users": sorted(users), "regimens": sorted(r for r in regimens if r)}


def _stored(
    row: AssessmentRecord,
    *,
    inputs: dict[str, Any] | None = None,
    document: dict[str, Any] | None = None,
) -> StoredAssessment:
    return StoredAssessment(
        id=row.id,
        created_at=row.created_at,
        username=row.username,
        patient_ref=row.patient_ref,
        recommended_regimen=row.recommended_regimen,
        knowledge_base_version=row.knowledge_base_version,
        software_version=row.software_version,
        allow_unverified=row.allow_unverified,
        inputs=inputs if inputs is not None else orjson.loads(row.inputs_json),
        document=document if document is not None else orjson.loads(row.document_json),
        document_sha256=row.document_sha256,
        care_team=row.care_team,
    )


def _refuse_changes(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AssessmentRecord) and (
            obj in session.deleted or session.is_modified(obj)
        ):
            raise AuditViolation(f"assessment {obj.id} is append-only and cannot be changed")


def install_append_only_guard(factory: sessionmaker[Session]) -> None:
    """Make every session of ``factory`` refuse to flush a change to a stored assessment."""
    from sqlalchemy import event

    event.listen(factory, "before_flush", _refuse_changes)
