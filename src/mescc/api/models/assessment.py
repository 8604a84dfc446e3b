"""The audit trail: one append-only row per assessment.

A row keeps the inputs exactly as received, the output document exactly as returned, the
knowledge-base and software versions, the user and the time. Rows are never updated or deleted:
the store has no such path, a session guard refuses to flush a change, and database triggers
(migration 0001) refuse UPDATE and DELETE on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mescc.api.models.base import Base, UTCDateTime


class AssessmentRecord(Base):
    """One stored assessment (append-only)."""

    __tablename__ = "assessments"
    __table_args__ = (
        Index("ix_assessments_created_at", "created_at"),
        Index("ix_assessments_username", "username"),
        Index("ix_assessments_recommended_regimen", "recommended_regimen"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The name is copied so the trail reads on its own, whatever happens to the user later.
    username: Mapped[str] = mapped_column(String(150))
    patient_ref: Mapped[str | None] = mapped_column(String(200))
    recommended_regimen: Mapped[str | None] = mapped_column(String(100))
    schema_version: Mapped[str | None] = mapped_column(String(20))
    knowledge_base_version: Mapped[str | None] = mapped_column(String(200))
    software_version: Mapped[str] = mapped_column(String(50))
    allow_unverified: Mapped[bool] = mapped_column(default=False)
    inputs_json: Mapped[str] = mapped_column(Text)
    document_json: Mapped[str] = mapped_column(Text)
    document_sha256: Mapped[str] = mapped_column(String(64))
