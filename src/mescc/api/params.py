"""Path, query and stored-text values the database can hold, refused (422) when it cannot.

Traps guarded (issue 9): an id or offset >= 2^63 overflows SQLite's and PostgreSQL's 64-bit
integers (a 500, not a 404); a date-time near year 1 or 9999 with a zone offset overflows when
it is converted to UTC; PostgreSQL refuses a NUL character (U+0000) in any text value, so a
NUL in a filter, a user name or a patient reference was a 500 on one backend and a silent
mismatch on the other. Every such value is refused before it reaches the database, the same way
on both backends, with the message shape of the contract.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Path, Query
from pydantic import AfterValidator

#: The largest integer a 64-bit signed database column holds (SQLite INTEGER, PostgreSQL BIGINT).
DATABASE_INTEGER_MAX = 2**63 - 1
#: The deepest page offset accepted: far beyond any real history, far from any overflow.
OFFSET_MAX = 10**9
#: The longest text filter accepted (the longest stored text column is 200 characters).
FILTER_MAX_CHARS = 200

NUL = "\x00"


def nul_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, or None when it can."""
    if NUL in value:
        return "contains a NUL character (U+0000), which the database cannot store"
    return None


def _storable(value: str) -> str:
    reason = nul_problem(value)
    if reason is not None:
        raise ValueError(reason)
    return value


def _utc_in_range(value: datetime) -> datetime:
    """The value in UTC (a value without a zone is UTC); refused when that overflows."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside years 1-9999 once converted to UTC") from None


StoredText = Annotated[str, AfterValidator(_storable)]
UTCDateTimeParam = Annotated[datetime, AfterValidator(_utc_in_range)]

AssessmentIdPath = Annotated[
    int,
    Path(
        ge=1,
        le=DATABASE_INTEGER_MAX,
        description="The id of a stored assessment (a positive 64-bit integer)",
    ),
]
OffsetQuery = Annotated[int, Query(ge=0, le=OFFSET_MAX, description="Items to skip")]


def text_filter(description: str) -> object:
    """A text filter: at most FILTER_MAX_CHARS characters, no NUL."""
    return Query(description=description, max_length=FILTER_MAX_CHARS)


ReportDetailQuery = Annotated[
    Literal["summary", "full"],
    Query(
        description="summary: the board summary report (at most 2 pages); full: the same, "
        "then the whole assessment as an appendix"
    ),
]
