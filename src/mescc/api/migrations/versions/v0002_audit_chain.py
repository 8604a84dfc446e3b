"""The audit trail becomes a keyed hash chain (with the care team that may see each row);
INSERT OR REPLACE is refused on SQLite.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Existing rows are chained in id order with the audit key handed to the migration (the
service's, see ``Settings.audit_key``). The append-only triggers are dropped for the backfill
and created again, with a new SQLite trigger that refuses an INSERT onto an existing id (the
``INSERT OR REPLACE`` that went around them).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SQLITE_NO_REPLACE = """
CREATE TRIGGER assessments_no_replace BEFORE INSERT ON assessments
WHEN EXISTS (SELECT 1 FROM assessments WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'assessments are append-only: REPLACE refused'); END
"""
_SQLITE_TRIGGERS = {
    "assessments_no_update": """
    CREATE TRIGGER assessments_no_update BEFORE UPDATE ON assessments
    BEGIN SELECT RAISE(ABORT, 'assessments are append-only: UPDATE refused'); END
    """,
}


def _backfill() -> None:
    from mescc.api.chain import CHAINED_COLUMNS, GENESIS, row_digest

    key = context.config.attributes.get("audit_key")
    bind = op.get_bind()
    from mescc.api.models.base import UTCDateTime

    types: dict[str, Any] = {
        "created_at": UTCDateTime(),
        "id": sa.Integer(),
        "user_id": sa.Integer(),
        "allow_unverified": sa.Boolean(),
    }
    table = sa.table(
        "assessments",
        *(
            sa.column(name, types.get(name, sa.String()))
            for name in (*CHAINED_COLUMNS, "row_sha256")
        ),
    )
    rows = bind.execute(sa.select(table).order_by(table.c.id)).mappings().all()
    if rows and not isinstance(key, bytes):
        raise RuntimeError("migration 0002 needs the audit key to chain the existing rows")
    previous = GENESIS
    for row in rows:
        values = {**row, "previous_sha256": previous}
        assert isinstance(key, bytes)
        digest = row_digest(key, values)
        bind.execute(
            sa.update(table)
            .where(table.c.id == row["id"])
            .values(previous_sha256=previous, row_sha256=digest)
        )
        previous = digest


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column("assessments", sa.Column("care_team", sa.String(100), nullable=True))
    op.add_column("assessments", sa.Column("previous_sha256", sa.String(64), nullable=True))
    op.add_column("assessments", sa.Column("row_sha256", sa.String(64), nullable=True))
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS assessments_no_update")
    elif dialect == "postgresql":
        op.execute("ALTER TABLE assessments DISABLE TRIGGER assessments_append_only")
    _backfill()
    if dialect == "sqlite":
        for statement in _SQLITE_TRIGGERS.values():
            op.execute(statement)
        op.execute(_SQLITE_NO_REPLACE)
    elif dialect == "postgresql":
        op.execute("ALTER TABLE assessments ENABLE TRIGGER assessments_append_only")
    op.create_index(
        "ux_assessments_previous_sha256", "assessments", ["previous_sha256"], unique=True
    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index("ux_assessments_previous_sha256", "assessments")
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS assessments_no_replace")
    op.drop_column("assessments", "row_sha256")
    op.drop_column("assessments", "previous_sha256")
    op.drop_column("assessments", "care_team")
