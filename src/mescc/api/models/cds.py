"""CDS Hooks tables: the cards handed out, the feedback on them (append-only, part of the audit
trail) and the JWT ids already seen (replay protection)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mescc.api.models.base import Base, UTCDateTime


class CdsCard(Base):
    """A card returned to a CDS client, tied to the stored assessment it shows (append-only)."""

    __tablename__ = "cds_cards"

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    service_id: Mapped[str] = mapped_column(String(100))
    hook_instance: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(500))


class CdsFeedback(Base):
    """One feedback item of a CDS client on a card (append-only)."""

    __tablename__ = "cds_feedback"
    __table_args__ = (Index("ix_cds_feedback_card_uuid", "card_uuid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issuer: Mapped[str] = mapped_column(String(500))
    service_id: Mapped[str] = mapped_column(String(100))
    card_uuid: Mapped[str] = mapped_column(ForeignKey("cds_cards.uuid"))
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"))
    outcome: Mapped[str] = mapped_column(String(20))
    outcome_timestamp: Mapped[str] = mapped_column(String(64))
    feedback_json: Mapped[str] = mapped_column(Text)


class CdsJwtId(Base):
    """A JWT id (``jti``) already accepted from an issuer, kept until the token expires."""

    __tablename__ = "cds_jwt_ids"
    __table_args__ = (UniqueConstraint("issuer", "jti", name="uq_cds_jwt_ids_issuer_jti"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    jti: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
