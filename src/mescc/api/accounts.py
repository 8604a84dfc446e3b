"""Users, API tokens, web sessions and the login rate limit.

Passwords are hashed with argon2; API tokens and session ids are random and only their SHA-256
digest is kept, so a copy of the database does not hand out working credentials.

Traps guarded (issue 9): tokens never expired and could not be listed or revoked; logout left
the cookie working for 12 h; 60 wrong passwords and then the right one logged in. Now tokens
expire (``MESCC_TOKEN_MAX_AGE_DAYS``), record when they were last used and can be revoked;
sessions live in the database and logout, ``users disable`` and ``users set-password`` end
them; failed logins are counted per account and per client address, and past the limit
(``MESCC_LOGIN_MAX_FAILURES_PER_ACCOUNT`` / ``..._PER_CLIENT`` within
``MESCC_LOGIN_WINDOW_SECONDS``) every login is refused, even with the right password, until
the window has passed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from mescc.api.audit import Caller
from mescc.api.models import ROLES, ApiToken, LoginFailure, User, WebSession
from mescc.api.params import nul_problem

TOKEN_PREFIX = "mescc_"
MIN_PASSWORD_LENGTH = 8
USERNAME_MAX_CHARS = 150
TEAM_MAX_CHARS = 100
#: A token's last-used time is written at most this often (a write per request would cost an
#: fsync'd commit on every API call).
LAST_USED_RESOLUTION = timedelta(minutes=1)

_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A user or token request that cannot be carried out (the message says why)."""


def _now() -> datetime:
    return datetime.now(UTC)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _caller(user: User) -> Caller:
    return Caller(id=user.id, username=user.username, role=user.role, care_team=user.care_team)


def _check_text(what: str, value: str, limit: int) -> None:
    if len(value) > limit or nul_problem(value):
        raise AccountError(f"{what} must have at most {limit} characters and no NUL character")


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError(f"no user {username!r}; add one with `mescc users add {username}`")
    return user


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    role: str = "clinician",
    care_team: str | None = None,
) -> Caller:
    username = username.strip()
    if not username:
        raise AccountError("username must not be empty")
    _check_text("username", username, USERNAME_MAX_CHARS)
    if role not in ROLES:
        raise AccountError(f"role {role!r} is not known; allowed: {', '.join(ROLES)}")
    if care_team is not None:
        care_team = care_team.strip() or None
        if care_team is not None:
            _check_text("care team", care_team, TEAM_MAX_CHARS)
    _check_password(password)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=_hasher.hash(password),
        is_active=True,
        created_at=_now(),
        role=role,
        care_team=care_team,
    )
    session.add(user)
    session.commit()
    return _caller(user)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")


@dataclass(frozen=True, slots=True)
class UserInfo:
    username: str
    role: str
    care_team: str | None
    is_active: bool
    created_at: datetime
    active_tokens: int


def list_users(session: Session) -> list[UserInfo]:
    now = _now()
    live = (
        select(func.count(ApiToken.id))
        .where(
            ApiToken.user_id == User.id,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
        )
        .scalar_subquery()
    )
    rows = session.execute(select(User, live).order_by(User.username)).all()
    return [
        UserInfo(u.username, u.role, u.care_team, u.is_active, u.created_at, int(n or 0))
        for u, n in rows
    ]


def end_sessions(session: Session, user_id: int) -> int:
    """Revoke every open web session of a user; how many were open."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=_now())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def disable_user(session: Session, username: str) -> None:
    """The user can no longer log in or use a token; their sessions end now."""
    user = _user(session, username)
    user.is_active = False
    end_sessions(session, user.id)
    session.commit()


def enable_user(session: Session, username: str) -> None:
    user = _user(session, username)
    user.is_active = True
    session.commit()


def set_password(session: Session, username: str, password: str) -> None:
    """A new password; the user's open sessions end (tokens are revoked separately)."""
    _check_password(password)
    user = _user(session, username)
    user.password_hash = _hasher.hash(password)
    end_sessions(session, user.id)
    session.commit()


def authenticate(session: Session, username: str, password: str) -> Caller | None:
    """The user if ``password`` is theirs and they are active, else None."""
    # A name the database cannot hold (a NUL) is no one's name: it is not looked up at all.
    storable = nul_problem(username) is None and len(username) <= USERNAME_MAX_CHARS
    user = session.scalar(select(User).where(User.username == username)) if storable else None
    stored = user.password_hash if user is not None else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.is_active:
        return None
    return _caller(user)


def active_user(session: Session, user_id: int) -> Caller | None:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    return _caller(user)


# ---- login rate limit -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoginLimits:
    window: timedelta
    per_account: int
    per_client: int


def _client_key(client: str) -> str:
    return client[:100] if nul_problem(client) is None else "unknown"


def login_refusal(session: Session, username: str, client: str, limits: LoginLimits) -> str | None:
    """Why a login attempt is refused before the password is checked, or None."""
    since = _now() - limits.window
    minutes = max(1, round(limits.window.total_seconds() / 60))
    if nul_problem(username) is None and len(username) <= USERNAME_MAX_CHARS:
        failures = session.scalar(
            select(func.count(LoginFailure.id)).where(
                LoginFailure.username == username, LoginFailure.at >= since
            )
        )
        if (failures or 0) >= limits.per_account:
            return (
                f"Too many failed logins for this account ({limits.per_account} within "
                f"{minutes} min): it is locked for up to {minutes} minutes. "
                "Ask an administrator if you have forgotten the password."
            )
    failures = session.scalar(
        select(func.count(LoginFailure.id)).where(
            LoginFailure.client == _client_key(client), LoginFailure.at >= since
        )
    )
    if (failures or 0) >= limits.per_client:
        return (
            f"Too many failed logins from this address ({limits.per_client} within "
            f"{minutes} min): logins from it are refused for up to {minutes} minutes."
        )
    return None


def record_login_failure(session: Session, username: str, client: str, limits: LoginLimits) -> None:
    storable = nul_problem(username) is None and len(username) <= USERNAME_MAX_CHARS
    now = _now()
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - limits.window))
    session.add(
        LoginFailure(username=username if storable else None, client=_client_key(client), at=now)
    )
    session.commit()


def clear_login_failures(session: Session, username: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    session.commit()


# ---- web sessions -----------------------------------------------------------------------


def open_session(session: Session, caller: Caller, max_age: timedelta) -> str:
    """A new server-side session; the returned id goes in the (signed) cookie only."""
    session_id = secrets.token_urlsafe(32)
    now = _now()
    session.add(
        WebSession(
            session_sha256=token_digest(session_id),
            user_id=caller.id,
            created_at=now,
            expires_at=now + max_age,
        )
    )
    session.commit()
    return session_id


def session_user(session: Session, session_id: str) -> Caller | None:
    """The active user of an open, unexpired session, or None."""
    row = session.execute(
        select(User)
        .join(WebSession, WebSession.user_id == User.id)
        .where(
            WebSession.session_sha256 == token_digest(session_id),
            WebSession.revoked_at.is_(None),
            WebSession.expires_at > _now(),
        )
    ).scalar_one_or_none()
    if row is None or not row.is_active:
        return None
    return _caller(row)


def close_session(session: Session, session_id: str) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.session_sha256 == token_digest(session_id))
        .values(revoked_at=_now())
    )
    session.commit()


# ---- API tokens -------------------------------------------------------------------------


def create_token(
    session: Session, username: str, label: str = "", *, max_age_days: int = 90
) -> str:
    """A new token for ``username``; the token itself is returned once and never stored."""
    _check_text("label", label, 200)
    user = _user(session, username)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = _now()
    session.add(
        ApiToken(
            user_id=user.id,
            token_sha256=token_digest(token),
            label=label,
            created_at=now,
            expires_at=now + timedelta(days=max_age_days),
        )
    )
    session.commit()
    return token


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    username: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= _now():
            return "expired"
        return "active"


def list_tokens(session: Session, username: str | None = None) -> list[TokenInfo]:
    query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
    if username is not None:
        query = query.where(User.username == username)
    rows = session.execute(query.order_by(ApiToken.id)).all()
    return [
        TokenInfo(t.id, name, t.label, t.created_at, t.expires_at, t.last_used_at, t.revoked_at)
        for t, name in rows
    ]


def revoke_token(session: Session, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise AccountError(f"no token with id {token_id}; see `mescc tokens list`")
    if token.revoked_at is None:
        token.revoked_at = _now()
    session.commit()


def revoke_user_tokens(session: Session, username: str) -> int:
    user = _user(session, username)
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=_now())
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


# Core, not ORM: this runs on every API request (a fraction of the ORM path's cost).
_CALLER_OF_DIGEST = (
    select(
        User.id,
        User.username,
        User.is_active,
        User.role,
        User.care_team,
        ApiToken.id.label("token_id"),
        ApiToken.expires_at,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
    )
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_sha256 == bindparam("digest"))
)
_TOUCH = (
    update(ApiToken)
    .where(ApiToken.id == bindparam("token_id"))
    .values(last_used_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


def caller_for_token(session: Session, token: str) -> Caller | None:
    """The active user of a live (unexpired, unrevoked) bearer token, or None.

    The token's last-used time is written at most once a minute, in its own short commit.
    """
    row = session.connection().execute(_CALLER_OF_DIGEST, {"digest": token_digest(token)}).first()
    if row is None or not row.is_active or row.revoked_at is not None:
        return None
    now = _now()
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        session.connection().execute(_TOUCH, {"token_id": row.token_id, "now": now})
        session.commit()
    return Caller(id=row.id, username=row.username, role=row.role, care_team=row.care_team)


def service_caller(session: Session, name: str, care_team: str | None = None) -> Caller:
    """The user a system (e.g. a CDS client, by issuer) records its assessments as; created
    on first use with the clinician role (it assesses; it sees only its own assessments). It
    cannot log in: its password hash is not a hash (every check fails). ``care_team`` is the
    configured team of the system (kept in step with the configuration), so that the team's
    clinicians may open what it recorded."""
    username = name if len(name) <= 150 else name[:133] + "-" + token_digest(name)[:16]
    existing = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if existing is not None:
        if existing.care_team != care_team:
            existing.care_team = care_team
            session.commit()
        return Caller(
            id=existing.id,
            username=existing.username,
            role=existing.role,
            care_team=existing.care_team,
        )
    user = User(
        username=username,
        password_hash="!service account: no password",
        is_active=True,
        created_at=datetime.now(UTC),
        role="clinician",
        care_team=care_team,
    )
    session.add(user)
    session.commit()
    return Caller(id=user.id, username=user.username, role=user.role, care_team=user.care_team)
