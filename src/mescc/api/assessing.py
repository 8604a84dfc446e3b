"""Assess and record; re-run a stored assessment. The clinical work is the library's.

Every result comes from :func:`mescc.document.assessment_document`, looked up on the module at
call time (so the one function is used everywhere, tests included).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from mescc import __version__
from mescc import document as core
from mescc.api import audit
from mescc.api.audit import Caller, StoredAssessment
from mescc.api.diff import Change, diff_documents


def assess_and_record(
    db: Session,
    *,
    caller: Caller,
    inputs: Mapping[str, Any],
    knowledge_base: Any,
    allow_unverified: bool,
) -> StoredAssessment:
    """Assess ``inputs`` and append the result to the audit trail.

    Raises :class:`mescc.errors.InputError` (nothing is stored) when an input is not allowed.
    """
    document = core.assessment_document(
        inputs, kb=knowledge_base, allow_unverified=allow_unverified
    )
    return audit.record_assessment(
        db, caller=caller, inputs=inputs, document=document, allow_unverified=allow_unverified
    )


def api_view(record: StoredAssessment) -> dict[str, Any]:
    """The API body: the contract's document plus ``id``, ``created_at`` and ``audit``."""
    return {
        **record.document,
        "id": record.id,
        "created_at": record.created_at.isoformat(),
        "audit": record.audit(),
    }


def summary_view(record: StoredAssessment) -> dict[str, Any]:
    """One line of the list endpoint."""
    return {
        "id": record.id,
        "created_at": record.created_at.isoformat(),
        "user": record.username,
        "patient_ref": record.patient_ref,
        "recommended_regimen": record.recommended_regimen,
        "knowledge_base_version": record.knowledge_base_version,
        "software_version": record.software_version,
        "url": f"/api/v1/assessments/{record.id}",
    }


@dataclass(frozen=True, slots=True)
class Rerun:
    record: StoredAssessment
    current: dict[str, Any]
    changes: list[Change]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.record.id,
            "changed": bool(self.changes),
            "stored": {
                "created_at": self.record.created_at.isoformat(),
                "knowledge_base_version": self.record.knowledge_base_version,
                "software_version": self.record.software_version,
                "recommended_regimen": self.record.recommended_regimen,
            },
            "current": {
                "knowledge_base_version": self.current.get("knowledge_base_version"),
                "software_version": __version__,
                "recommended_regimen": audit.recommended_regimen(self.current),
                "document": self.current,
            },
            "changes": [change.as_dict() for change in self.changes],
        }


def rerun(record: StoredAssessment, *, knowledge_base: Any) -> Rerun:
    """Assess the stored inputs again on the current knowledge base (nothing is stored)."""
    current = core.assessment_document(
        record.inputs, kb=knowledge_base, allow_unverified=record.allow_unverified
    )
    # Where the stored inputs came from (FHIR provenance, the CDS Hooks call) is not re-made
    # by a re-run: it is carried over, so that only the assessment's changes are listed.
    for key in ("input_provenance", "cds_hooks"):
        if key in record.document:
            current[key] = record.document[key]
    return Rerun(record=record, current=current, changes=diff_documents(record.document, current))
