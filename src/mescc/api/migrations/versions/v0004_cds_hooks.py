"""CDS Hooks: cards handed out, feedback on them (append-only) and JWT ids seen.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mescc.api.models.base import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_APPEND_ONLY = ("cds_cards", "cds_feedback")


def _sqlite_triggers(table: str) -> list[str]:
    return [
        f"""
        CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END
        """,
        f"""
        CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END
        """,
    ]


def _postgres_triggers(table: str) -> list[str]:
    return [
        f"""
        CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION mescc_assessments_append_only()
        """,
        f"""
        CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION mescc_assessments_append_only()
        """,
    ]


def upgrade() -> None:
    op.create_table(
        "cds_cards",
        sa.Column("uuid", sa.String(36), primary_key=True),
        sa.Column("assessment_id", sa.Integer(), sa.ForeignKey("assessments.id"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("hook_instance", sa.String(200), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
    )
    op.create_index("ix_cds_cards_assessment_id", "cds_cards", ["assessment_id"])
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("card_uuid", sa.String(36), sa.ForeignKey("cds_cards.uuid"), nullable=False),
        sa.Column("assessment_id", sa.Integer(), sa.ForeignKey("assessments.id"), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("outcome_timestamp", sa.String(64), nullable=False),
        sa.Column("feedback_json", sa.Text(), nullable=False),
    )
    op.create_index("ix_cds_feedback_card_uuid", "cds_feedback", ["card_uuid"])
    op.create_table(
        "cds_jwt_ids",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("jti", sa.String(200), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("issuer", "jti", name="uq_cds_jwt_ids_issuer_jti"),
    )
    op.create_index("ix_cds_jwt_ids_expires_at", "cds_jwt_ids", ["expires_at"])
    dialect = op.get_bind().dialect.name
    for table in _APPEND_ONLY:
        if dialect == "sqlite":
            statements = _sqlite_triggers(table)
        elif dialect == "postgresql":
            statements = _postgres_triggers(table)
        else:
            statements = []
        for statement in statements:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.drop_table("cds_jwt_ids")
    op.drop_table("cds_feedback")
    op.drop_table("cds_cards")
