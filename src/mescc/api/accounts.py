"""Users and API tokens.

Passwords are hashed with argon2; API tokens are random and only their SHA-256 digest is kept,
so a copy of the database does not hand out working tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mescc.api.audit import Caller
from mescc.api.models import ApiToken, User
from mescc.api.params import nul_problem

TOKEN_PREFIX = "mescc_"
MIN_PASSWORD_LENGTH = 8
USERNAME_MAX_CHARS = 150

_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A user or token request that cannot be carried out (the message says why)."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_user(session: Session, username: str, password: str) -> Caller:
    username = username.strip()
    if not username:
        raise AccountError("username must not be empty")
    if len(username) > USERNAME_MAX_CHARS or nul_problem(username):
        raise AccountError(
            f"username must have at most {USERNAME_MAX_CHARS} characters and no NUL character"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=_hasher.hash(password),
        is_active=True,
        created_at=datetime.now(UTC),
    )
    session.add(user)
    session.commit()
    return Caller(id=user.id, username=user.username)


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
    return Caller(id=user.id, username=user.username)


def active_user(session: Session, user_id: int) -> Caller | None:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    return Caller(id=user.id, username=user.username)


def create_token(session: Session, username: str, label: str = "") -> str:
    """A new token for ``username``; the token itself is returned once and never stored."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError(f"no user {username!r}; add one with `mescc users add {username}`")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            token_sha256=token_digest(token),
            label=label,
            created_at=datetime.now(UTC),
        )
    )
    session.commit()
    return token


# Core, not ORM: this runs on every API request (a fraction of the ORM path's cost).
_CALLER_OF_DIGEST = (
    select(User.id, User.username, User.is_active)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_sha256 == bindparam("digest"))
)


def caller_for_token(session: Session, token: str) -> Caller | None:
    """The active user a bearer token belongs to, or None."""
    row = session.connection().execute(_CALLER_OF_DIGEST, {"digest": token_digest(token)}).first()
    if row is None or not row.is_active:
        return None
    return Caller(id=row.id, username=row.username)
