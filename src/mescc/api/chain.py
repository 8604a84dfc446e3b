"""The audit trail as a hash chain: each row's hash covers its content and the previous row's.

Traps guarded (issue 9): append-only triggers are tamper-*resistant* only. SQLite's
``INSERT OR REPLACE`` went around them, the table owner on PostgreSQL can disable them, and an
attacker who rewrote a row also recomputed its document SHA-256. The chain makes tampering
*evident*: changing, replacing, deleting or reordering any row breaks the link of the next row,
and the row hash is keyed (HMAC-SHA256 with the audit key, which is not in the database), so
someone with write access to the database alone cannot recompute the chain after the change.

Definition (version 1):

- rows are chained in ascending ``id``;
- ``previous_sha256`` of the first row is :data:`GENESIS` (64 zeros); of every later row, the
  ``row_sha256`` of the row before it;
- ``row_sha256 = HMAC-SHA256(audit key, canonical JSON of the chained columns)``, the
  canonical JSON having sorted keys, no spaces, UTF-8, and ``created_at`` written as
  ISO 8601 UTC with microseconds (``2026-11-25T10:00:00.123456+00:00``);
- the chained columns are :data:`CHAINED_COLUMNS`, ``previous_sha256`` included.

What the chain cannot show by itself is the loss of the newest rows (the tail cut off):
``mescc audit verify`` prints the head (row count, last id, last hash) so it can be recorded
elsewhere and compared later (``--expect-head``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, select

from mescc.api.models import AssessmentRecord

GENESIS = "0" * 64
CHAIN_VERSION = 1
CHAINED_COLUMNS: tuple[str, ...] = (
    "id",
    "created_at",
    "user_id",
    "username",
    "patient_ref",
    "care_team",
    "recommended_regimen",
    "schema_version",
    "knowledge_base_version",
    "software_version",
    "allow_unverified",
    "inputs_json",
    "document_json",
    "document_sha256",
    "previous_sha256",
)


def _timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def row_digest(key: bytes, values: Mapping[str, Any]) -> str:
    """The keyed hash of one row (``values`` holds at least :data:`CHAINED_COLUMNS`)."""
    content: dict[str, Any] = {"chain_version": CHAIN_VERSION}
    for column in CHAINED_COLUMNS:
        value = values[column]
        content[column] = _timestamp(value) if isinstance(value, datetime) else value
    text = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    return hmac.new(key, text, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class BrokenRow:
    """The first row whose link or hash does not hold, and why."""

    id: int
    reason: str

    def __str__(self) -> str:
        return f"row id {self.id}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of walking the whole chain."""

    rows: int
    head_id: int | None
    head_sha256: str
    broken: BrokenRow | None

    @property
    def intact(self) -> bool:
        return self.broken is None

    @property
    def head(self) -> str:
        """``<rows>:<last id>:<last hash>``, to be recorded outside the database."""
        return f"{self.rows}:{self.head_id or 0}:{self.head_sha256}"


def _rows(connection: Connection, batch: int = 500) -> Iterator[Mapping[str, Any]]:
    columns = [getattr(AssessmentRecord, name) for name in CHAINED_COLUMNS]
    query = select(*columns, AssessmentRecord.row_sha256).order_by(AssessmentRecord.id)
    result = connection.execution_options(yield_per=batch).execute(query)
    for row in result:
        yield dict(row._mapping)


def verify_chain(connection: Connection, key: bytes) -> ChainReport:
    """Walk every row in ``id`` order; stop at the first broken one."""
    previous = GENESIS
    count = 0
    head_id: int | None = None
    for row in _rows(connection):
        count += 1
        row_id = int(row["id"])
        if row["previous_sha256"] != previous:
            reason = (
                "its link to the previous row does not match (a row before it was changed, "
                "replaced, removed or inserted)"
                if row["previous_sha256"]
                else "it has no link to the previous row"
            )
            return ChainReport(count, row_id, previous, BrokenRow(row_id, reason))
        expected = row_digest(key, row)
        if not row["row_sha256"] or not hmac.compare_digest(expected, str(row["row_sha256"])):
            return ChainReport(
                count,
                row_id,
                previous,
                BrokenRow(row_id, "its content does not match its hash (the row was changed)"),
            )
        previous = expected
        head_id = row_id
    return ChainReport(count, head_id, previous, None)
