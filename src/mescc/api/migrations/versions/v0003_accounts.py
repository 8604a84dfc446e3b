"""Roles and care teams, token expiry / last use / revocation, server-side sessions, failed
logins (rate limit and lockout).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Existing users become clinicians without a care team (they see their own assessments only,
until an administrator gives them a team); existing tokens expire after the default lifetime
counted from this migration.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import context, op

from mescc.api.models.base import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("role", sa.String(20), nullable=False, server_default="clinician"),
    )
    op.add_column("users", sa.Column("care_team", sa.String(100), nullable=True))
    op.add_column("api_tokens", sa.Column("expires_at", UTCDateTime(), nullable=True))
    op.add_column("api_tokens", sa.Column("last_used_at", UTCDateTime(), nullable=True))
    op.add_column("api_tokens", sa.Column("revoked_at", UTCDateTime(), nullable=True))
    days = context.config.attributes.get("token_max_age_days", 90)
    tokens = sa.table("api_tokens", sa.column("expires_at", UTCDateTime()))
    op.execute(
        tokens.update()
        .where(tokens.c.expires_at.is_(None))
        .values(expires_at=datetime.now(UTC) + timedelta(days=int(days)))
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(150), nullable=True),
        sa.Column("client", sa.String(100), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_login_failures_username_at", "login_failures", ["username", "at"])
    op.create_index("ix_login_failures_client_at", "login_failures", ["client", "at"])


def downgrade() -> None:
    op.drop_table("login_failures")
    op.drop_table("web_sessions")
    op.drop_column("api_tokens", "revoked_at")
    op.drop_column("api_tokens", "last_used_at")
    op.drop_column("api_tokens", "expires_at")
    op.drop_column("users", "care_team")
    op.drop_column("users", "role")
