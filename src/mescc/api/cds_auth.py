"""Trusting CDS clients (CDS Hooks 2.0 security): the JWT on every CDS Hooks call.

Every call (discovery, service, feedback) must carry ``Authorization: Bearer <JWT>`` signed by
an EHR this service trusts (``MESCC_CDS_CLIENTS``): the header names ``alg`` (asymmetric only:
the spec forbids ``none`` and every symmetric algorithm), ``kid`` (the key in the client's JWK
Set) and ``typ`` ``JWT``; an optional ``jku`` must be the client's configured ``jwks_url``
(a JWK Set is never fetched from a URL the token names). The payload must carry ``iss`` (an
allow-listed issuer), ``aud`` (the URL of the endpoint called), ``exp``, ``iat`` and ``jti``; a
``jti`` is accepted once (replay protection, kept in the database until the token expires);
``sub``, when the client is configured with a ``client_id``, must equal it. Anything else: 401.

The spec text checked is the CDS Hooks specification's "Trusting CDS Clients" section
(github.com/cds-hooks/docs, docs/specification/current.md, as stored): it lists ``iss``, ``aud``,
``exp``, ``iat``, ``jti`` (required) and ``tenant`` (optional); the 1.0 text also required
``sub``, hence the optional ``client_id`` check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mescc.api.models import CdsJwtId
from mescc.settings import CdsClient, Settings

#: Asymmetric JWS algorithms accepted (RFC 7518); ``none`` and HMAC are refused by the spec.
ALLOWED_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
)  # fmt: skip


class CdsAuthError(Exception):
    """The JWT is missing or not acceptable; the message says why (answered with 401)."""


@dataclass(frozen=True, slots=True)
class CdsCaller:
    """The authenticated CDS client of one call."""

    issuer: str
    subject: str | None
    tenant: str | None
    jti: str
    expires_at: datetime
    client: CdsClient


class JwksCache:
    """JWK Sets fetched from the configured ``jwks_url`` of trusted clients, kept a while."""

    def __init__(self, max_age_seconds: float, timeout: float) -> None:
        self.max_age = max_age_seconds
        self.timeout = timeout
        self._sets: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, url: str, *, refresh: bool = False) -> dict[str, Any]:
        with self._lock:
            cached = self._sets.get(url)
        if cached is not None and not refresh and time.monotonic() - cached[0] < self.max_age:
            return cached[1]
        try:
            response = httpx.get(url, timeout=self.timeout)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise CdsAuthError(
                f"the JWK Set at {url} cannot be read ({type(exc).__name__})"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise CdsAuthError(f"{url} is not a JWK Set")
        with self._lock:
            self._sets[url] = (time.monotonic(), data)
        return data


def _keys_of(client: CdsClient, cache: JwksCache, refresh: bool) -> list[Mapping[str, Any]]:
    keys: list[Mapping[str, Any]] = []
    if client.jwks is not None:
        keys += [k for k in client.jwks.get("keys") or [] if isinstance(k, Mapping)]
    if client.jwks_url is not None:
        keys += [
            k for k in cache.get(client.jwks_url, refresh=refresh)["keys"] if isinstance(k, Mapping)
        ]
    return keys


def verify_client_jwt(
    token: str,
    *,
    audiences: list[str],
    clients: Mapping[str, CdsClient],
    cache: JwksCache,
    leeway_seconds: int,
    max_lifetime_seconds: int,
) -> CdsCaller:
    """Verify a CDS client's JWT; return the caller or raise :class:`CdsAuthError`."""
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise CdsAuthError(f"not a JWT ({exc})") from None
    alg = header.get("alg")
    if alg not in ALLOWED_ALGORITHMS:
        raise CdsAuthError(f"alg {alg!r} is not accepted; allowed: {', '.join(ALLOWED_ALGORITHMS)}")
    if header.get("typ") != "JWT":
        raise CdsAuthError(f"typ {header.get('typ')!r} is not JWT")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise CdsAuthError("the JWT header has no kid")
    issuer = unverified.get("iss")
    client = clients.get(issuer) if isinstance(issuer, str) else None
    if client is None:
        raise CdsAuthError(f"iss {issuer!r} is not a trusted CDS client")
    jku = header.get("jku")
    if jku is not None and jku != client.jwks_url:
        raise CdsAuthError(f"jku {jku!r} is not the JWK Set configured for {issuer}")
    key_data = None
    for refresh in (False, True):
        key_data = next((k for k in _keys_of(client, cache, refresh) if k.get("kid") == kid), None)
        if key_data is not None or client.jwks_url is None:
            break
    if key_data is None:
        raise CdsAuthError(f"kid {kid!r} is not a key of {issuer}")
    if key_data.get("alg") not in (None, alg):
        raise CdsAuthError(f"key {kid!r} is for {key_data.get('alg')}, not {alg}")
    try:
        key = jwt.PyJWK(dict(key_data), algorithm=alg)
        claims = jwt.decode(
            token,
            key=key.key,
            algorithms=[alg],
            audience=audiences,
            issuer=issuer,
            leeway=leeway_seconds,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.PyJWTError as exc:
        raise CdsAuthError(f"JWT refused: {exc}") from None
    lifetime = float(claims["exp"]) - float(claims["iat"])
    if lifetime > max_lifetime_seconds:
        raise CdsAuthError(
            f"exp - iat is {lifetime:.0f} s; allowed: at most {max_lifetime_seconds} s"
        )
    subject = claims.get("sub")
    if client.client_id is not None and subject != client.client_id:
        raise CdsAuthError(f"sub {subject!r} is not the client id configured for {issuer}")
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > 200:
        raise CdsAuthError("jti must be a string of 1-200 characters")
    return CdsCaller(
        issuer=client.issuer,
        subject=subject if isinstance(subject, str) else None,
        tenant=claims.get("tenant") if isinstance(claims.get("tenant"), str) else None,
        jti=jti,
        expires_at=datetime.fromtimestamp(float(claims["exp"]), UTC),
        client=client,
    )


class ReplayGuard:
    """Accept each (issuer, jti) once; expired ids are pruned at most once a minute."""

    def __init__(self, leeway_seconds: int) -> None:
        self.leeway = timedelta(seconds=leeway_seconds)
        self._pruned = 0.0

    def accept(self, session: Session, caller: CdsCaller) -> None:
        now = datetime.now(UTC)
        if time.monotonic() - self._pruned > 60:
            session.execute(delete(CdsJwtId).where(CdsJwtId.expires_at < now - self.leeway))
            self._pruned = time.monotonic()
        session.add(
            CdsJwtId(
                issuer=caller.issuer[:500],
                jti=caller.jti,
                expires_at=caller.expires_at + self.leeway,
            )
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise CdsAuthError(f"jti {caller.jti!r} was already used (replay refused)") from None


@dataclass(slots=True)
class CdsSecurity:
    """What the app keeps to check CDS clients: the allow-list, the key cache, the guard."""

    clients: dict[str, CdsClient]
    cache: JwksCache
    replay: ReplayGuard
    leeway_seconds: int
    max_lifetime_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings) -> CdsSecurity:
        clients = {c.issuer: c for c in settings.trusted_cds_clients()}
        return cls(
            clients=clients,
            cache=JwksCache(settings.cds_jwks_cache_seconds, settings.fhir_timeout_seconds),
            replay=ReplayGuard(settings.cds_jwt_leeway_seconds),
            leeway_seconds=settings.cds_jwt_leeway_seconds,
            max_lifetime_seconds=settings.cds_jwt_max_lifetime_seconds,
        )
