"""SQLAlchemy 2 typed models of the service's tables."""

from mescc.api.models.assessment import AssessmentRecord
from mescc.api.models.base import Base
from mescc.api.models.cds import CdsCard, CdsFeedback, CdsJwtId
from mescc.api.models.user import ROLES, ApiToken, LoginFailure, User, WebSession

__all__ = [
    "ROLES",
    "ApiToken",
    "AssessmentRecord",
    "Base",
    "CdsCard",
    "CdsFeedback",
    "CdsJwtId",
    "LoginFailure",
    "User",
    "WebSession",
]
