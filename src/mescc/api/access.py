"""Roles and the sharing model: who may see and do what (docs/web.md, "Roles and sharing").

Traps guarded (issue 9): any token could list every patient of every user. Now:

- ``clinician``: assesses; sees the assessments they made and those of their care team (the
  team recorded on each assessment is its creator's team when it was made).
- ``integration`` (a system, read-only): cannot create assessments or log in to the web app;
  its scope is its care team: it sees that team's assessments only (none without a team).
- ``admin``: sees every assessment; may assess.

An assessment the caller may not see answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, false, or_, true

from mescc.api.models import AssessmentRecord

if TYPE_CHECKING:
    from mescc.api.audit import Caller

CLINICIAN = "clinician"
INTEGRATION = "integration"
ADMIN = "admin"

#: What each role may do, for the documentation and the permission-matrix test.
PERMISSIONS: dict[str, frozenset[str]] = {
    CLINICIAN: frozenset({"assess", "read", "web"}),
    INTEGRATION: frozenset({"read"}),
    ADMIN: frozenset({"assess", "read", "web", "read_all"}),
}


def may(caller: Caller, action: str) -> bool:
    return action in PERMISSIONS.get(caller.role, frozenset())


def may_see(caller: Caller, owner_id: int, care_team: str | None) -> bool:
    """Whether ``caller`` may see an assessment made by ``owner_id`` for ``care_team``."""
    if may(caller, "read_all"):
        return True
    if not may(caller, "read"):
        return False
    same_team = caller.care_team is not None and care_team == caller.care_team
    if caller.role == INTEGRATION:
        return same_team
    return owner_id == caller.id or same_team


def visible_rows(caller: Caller) -> ColumnElement[bool]:
    """The SQL condition for the assessments ``caller`` may see (as :func:`may_see`)."""
    if may(caller, "read_all"):
        return true()
    if not may(caller, "read"):
        return false()
    team = (
        AssessmentRecord.care_team == caller.care_team if caller.care_team is not None else false()
    )
    if caller.role == INTEGRATION:
        return team
    return or_(AssessmentRecord.user_id == caller.id, team)
