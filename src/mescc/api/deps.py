"""Annotated dependencies, so that handler signatures read like prose.

``CallerDep`` (bearer token) is a dependency of the whole API router and ``WebUserDep`` (login
session) of the whole pages router, so no route can forget authentication; ``verify_csrf`` guards
every form post.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from mescc.api import access, accounts
from mescc.api.audit import Caller
from mescc.api.body import require_json
from mescc.api.errors import problem
from mescc.settings import Settings

CSRF_FIELD = "csrf_token"
_SESSION_ID = "sid"
_SESSION_CSRF = "csrf"


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> AsyncIterator[Session]:
    """A session per request. Opening one does not touch the database (it connects on first
    use: the token check), so this runs on the event loop, with no thread hop."""
    with request.app.state.session_factory() as session:
        yield session


async def get_knowledge_base(request: Request) -> Any:
    """The knowledge base to assess with; None means the library's cached default."""
    return request.app.state.knowledge_base


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Session, Depends(get_db)]
KnowledgeBaseDep = Annotated[Any, Depends(get_knowledge_base)]

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token from `mescc tokens create --user NAME`.",
)


async def require_caller(
    db: DbDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Caller:
    """The user of a bearer token; 401 in the problem shape otherwise.

    The lookup is one indexed SELECT by the token's digest (a fraction of a millisecond), run
    on the event loop: a thread hop would cost more than the query.
    """
    caller = None
    if credentials is not None and credentials.scheme.lower() == "bearer":
        caller = accounts.caller_for_token(db, credentials.credentials)
    if caller is None:
        raise HTTPException(
            status_code=401,
            detail=[
                problem(
                    "Authorization",
                    None,
                    "Bearer <token from `mescc tokens create`>",
                    "Authorization: missing, unknown, expired or revoked bearer token; "
                    "allowed: Bearer <token from `mescc tokens create`>",
                )
            ],
            headers={"WWW-Authenticate": "Bearer"},
        )
    return caller


CallerDep = Annotated[Caller, Depends(require_caller)]


async def require_json_body(request: Request) -> None:
    """A request with a body on the API must say it is JSON (415 otherwise, by the one rule of
    :func:`mescc.api.body.require_json`): a form post or ``text/plain`` is a simple cross-site
    request that a browser sends without asking."""
    if request.method not in {"POST", "PUT", "PATCH"}:
        return
    no_body = request.headers.get("content-length", "0") == "0" and (
        "transfer-encoding" not in request.headers
    )
    if no_body and not request.headers.get("content-type"):
        return
    require_json(request)


def require_permission(action: str) -> Any:
    """A dependency refusing (403) a caller whose role does not allow ``action``."""

    async def check(caller: CallerDep) -> Caller:
        if not access.may(caller, action):
            raise HTTPException(
                status_code=403,
                detail=[
                    problem(
                        "role",
                        caller.role,
                        f"a role that may {action}",
                        f"role: {caller.role} may not {action}; allowed: "
                        + ", ".join(r for r, acts in access.PERMISSIONS.items() if action in acts),
                    )
                ],
            )
        return caller

    return Depends(check)


class LoginRequired(Exception):
    """Raised by the pages' dependency when no one is logged in; answered with a redirect."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def require_web_user(request: Request, db: DbDep) -> Caller:
    """The user of an open server-side session (logout, ``users disable`` and
    ``users set-password`` end it at once, whatever the cookie says)."""
    session_id = request.session.get(_SESSION_ID)
    caller = accounts.session_user(db, session_id) if isinstance(session_id, str) else None
    if caller is not None and not access.may(caller, "web"):
        caller = None
    if caller is None:
        request.session.pop(_SESSION_ID, None)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    request.state.web_user = caller  # an error page of this request shows the user's navigation
    return caller


WebUserDep = Annotated[Caller, Depends(require_web_user)]


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    token = request.session.get(_SESSION_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[_SESSION_CSRF] = token
    return token


async def verify_csrf(request: Request) -> None:
    """Refuse (403) any state-changing request whose form lacks this session's CSRF token."""
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    expected = request.session.get(_SESSION_CSRF)
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if (
        not isinstance(expected, str)
        or not isinstance(given, str)
        or not hmac.compare_digest(expected.encode(), given.encode())
    ):
        raise HTTPException(status_code=403, detail="Form expired or forged (CSRF check failed)")


def log_in(request: Request, db: Session, caller: Caller) -> None:
    """Start a fresh server-side session for ``caller`` (a new CSRF token too)."""
    settings: Settings = request.app.state.settings
    max_age = timedelta(seconds=settings.session_max_age_seconds)
    request.session.clear()
    request.session[_SESSION_ID] = accounts.open_session(db, caller, max_age)
    request.session[_SESSION_CSRF] = secrets.token_urlsafe(32)


def log_out(request: Request, db: Session) -> None:
    """End the session on the server too: the old cookie no longer opens anything."""
    session_id = request.session.get(_SESSION_ID)
    if isinstance(session_id, str):
        accounts.close_session(db, session_id)
    request.session.clear()
