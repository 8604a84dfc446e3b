"""Models that document the API's responses in the OpenAPI schema.

The assessment document itself is the contract's (``shared/contract.md``) and is passed through
unchanged; these models describe only what the API adds around it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ProblemModel(BaseModel):
    field: str | None = Field(description="The input field, dotted for nested keys")
    value: Any = Field(description="The value as given")
    allowed: str | None = Field(description="What is allowed")
    message: str = Field(description="`<field>: <value> <what is wrong>; allowed: <allowed>`")


class ProblemResponse(BaseModel):
    detail: list[ProblemModel]


class AuditBlock(BaseModel):
    user: str
    software_version: str
    knowledge_base_version: str | None
    allow_unverified: bool
    document_sha256: str
    inputs: dict[str, Any]


class AssessmentResponse(BaseModel):
    """The contract's assessment document, plus ``id``, ``created_at`` and ``audit``."""

    model_config = {"extra": "allow"}

    id: int
    created_at: str
    schema_version: str | None = None
    knowledge_base_version: str | None = None
    instruments: dict[str, Any] = Field(default_factory=dict)
    plan: dict[str, Any] = Field(default_factory=dict)
    audit: AuditBlock


class AssessmentSummary(BaseModel):
    id: int
    created_at: str
    user: str
    patient_ref: str | None
    recommended_regimen: str | None
    knowledge_base_version: str | None
    software_version: str
    url: str


class AssessmentPage(BaseModel):
    items: list[AssessmentSummary]
    total: int
    limit: int
    offset: int
    next: str | None


class Change(BaseModel):
    path: str
    kind: str
    before: Any
    after: Any


class RerunResponse(BaseModel):
    id: int
    changed: bool
    stored: dict[str, Any]
    current: dict[str, Any]
    changes: list[Change]


class Health(BaseModel):
    status: str = Field(description="`ok`, `degraded` (writes failing) or `unavailable`")
    version: str
    database: str = Field(description="`ok` or `unreachable`")
    writes: str = Field(description="`ok` or `failing: <reason>`")
    audit_trail: str = Field(
        description="`intact at start`, `broken at start: <row>` (only with "
        "MESCC_AUDIT_ON_BROKEN_CHAIN=warn) or `verified by mescc serve`"
    )


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        401: "Missing, unknown, expired or revoked bearer token",
        403: "The caller's role does not allow this",
        404: "No such assessment",
        412: "CDS Hooks: the FHIR data needed is neither prefetched nor reachable",
        413: "Request body too large",
        415: "Request body is not declared as application/json",
        503: "Service unavailable: writes failing (disk full ...) or the PDF queue is full",
        422: "Invalid input: every bad field with its value and what is allowed",
    }
    return {
        code: {"model": ProblemResponse, "description": descriptions.get(code, "Error")}
        for code in codes
    }
