"""The audit trail: one append-only row per assessment.

A row keeps the inputs exactly as received, the output document exactly as returned, the
knowledge-base and software versions, the user and the time. Rows are never updated or deleted:
the store has no such path, a session guard refuses to flush a change, and database triggers
(migration 0001) refuse UPDATE and DELETE on SQLite and PostgreSQL alike. Every row is a link
of a keyed hash chain (migration 0002, :mod:`mescc.api.chain`), so a change made around those
guards is detected by ``mescc audit verify``.
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
        # One successor per row: two appends that read the same head cannot both commit.
        Index("ux_assessments_previous_sha256", "previous_sha256", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The name is copied so the trail reads on its own, whatever happens to the user later.
    username: Mapped[str] = mapped_column(String(150))
    patient_ref: Mapped[str | None] = mapped_column(String(200))
    # The creator's care team when it was made: who else may see it (docs/web.md, sharing).
    care_team: Mapped[str | None] = mapped_column(String(100))
    recommended_regimen: Mapped[str | None] = mapped_column(String(100))
    schema_version: Mapped[str | None] = mapped_column(String(20))
    knowledge_base_version: Mapped[str | None] = mapped_column(String(200))
    software_version: Mapped[str] = mapped_column(String(50))
    allow_unverified: Mapped[bool] = mapped_column(default=False)
    inputs_json: Mapped[str] = mapped_column(Text)
    document_json: Mapped[str] = mapped_column(Text)
    document_sha256: Mapped[str] = mapped_column(String(64))
    # The hash chain (mescc.api.chain; migration 0002): the previous row's hash, this row's.
    previous_sha256: Mapped[str | None] = mapped_column(String(64))
    row_sha256: Mapped[str | None] = mapped_column(String(64))
