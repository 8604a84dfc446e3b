"""Users, API tokens and the append-only assessment audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mescc.api.models.base import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER assessments_no_update BEFORE UPDATE ON assessments
    BEGIN SELECT RAISE(ABORT, 'assessments are append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER assessments_no_delete BEFORE DELETE ON assessments
    BEGIN SELECT RAISE(ABORT, 'assessments are append-only: DELETE refused'); END
    """,
]

_POSTGRES_TRIGGERS = [
    """
    CREATE FUNCTION mescc_assessments_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'assessments are append-only: % refused', TG_OP;
    END
    $$
    """,
    """
    CREATE TRIGGER assessments_append_only BEFORE UPDATE OR DELETE ON assessments
    FOR EACH ROW EXECUTE FUNCTION mescc_assessments_append_only()
    """,
    """
    CREATE TRIGGER assessments_no_truncate BEFORE TRUNCATE ON assessments
    FOR EACH STATEMENT EXECUTE FUNCTION mescc_assessments_append_only()
    """,
]


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(150), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("username", sa.String(150), nullable=False),
        sa.Column("patient_ref", sa.String(200), nullable=True),
        sa.Column("recommended_regimen", sa.String(100), nullable=True),
        sa.Column("schema_version", sa.String(20), nullable=True),
        sa.Column("knowledge_base_version", sa.String(200), nullable=True),
        sa.Column("software_version", sa.String(50), nullable=False),
        sa.Column("allow_unverified", sa.Boolean(), nullable=False),
        sa.Column("inputs_json", sa.Text(), nullable=False),
        sa.Column("document_json", sa.Text(), nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=False),
    )
    op.create_index("ix_assessments_created_at", "assessments", ["created_at"])
    op.create_index("ix_assessments_username", "assessments", ["username"])
    op.create_index("ix_assessments_recommended_regimen", "assessments", ["recommended_regimen"])

    dialect = op.get_bind().dialect.name
    statements = {"sqlite": _SQLITE_TRIGGERS, "postgresql": _POSTGRES_TRIGGERS}.get(dialect, [])
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS assessments_no_truncate ON assessments")
        op.execute("DROP TRIGGER IF EXISTS assessments_append_only ON assessments")
        op.execute("DROP FUNCTION IF EXISTS mescc_assessments_append_only()")
    op.drop_table("assessments")
    op.drop_table("api_tokens")
    op.drop_table("users")
