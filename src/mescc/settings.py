"""Settings of the web service, read from the environment with the ``MESCC_`` prefix.

``MESCC_DATABASE_URL``
    SQLAlchemy URL. Default: an SQLite file ``mescc.sqlite3`` under ``MESCC_DATA_DIR``
    (``./mescc-data``), opened in WAL mode with ``synchronous=FULL``. PostgreSQL works with
    ``postgresql+psycopg://user:password@host:5432/db``.
``MESCC_DATA_DIR``
    Folder for the default database and the generated secret key.
``MESCC_SECRET_KEY``
    Key that signs session cookies. When unset, a random key is generated once and kept in
    ``<data dir>/secret_key`` (mode 0600), so sessions survive a restart. Set it explicitly when
    several hosts share one database.
``MESCC_KB_OVERLAY``
    Folder of site-supplied instrument tables, passed to the knowledge-base loader.
``MESCC_ALLOW_SITE_DERIVED``
    ``true`` lets site-derived tables (``mescc derive``) decide the plan; default false. Read by
    ``mescc.kb.overlay.site_derived_may_decide`` (the one function the plan calls); every output
    then says so. A table derived on a synthetic cohort never decides.
``MESCC_MAX_REQUEST_BYTES``
    Largest accepted request body (default 256 KiB); larger requests get 413.
``MESCC_PUBLIC_BASE_URL``
    The service's external base URL (e.g. ``https://mescc.hospital.example``): the audience
    a CDS client's JWT must name and the base of the card links. Default: the request's URL.
``MESCC_CDS_CLIENTS`` / ``MESCC_CDS_CLIENTS_FILE``
    The CDS Hooks clients trusted (JSON list, or a JSON/YAML file of it): each with its
    ``issuer`` (the JWT ``iss``), its keys (``jwks``: a JWK Set, and/or ``jwks_url``: the only
    ``jku`` accepted) and optionally the ``client_id`` the JWT ``sub`` must equal. None by
    default: every CDS Hooks call is refused with 401 until a client is configured.
``MESCC_FHIR_MAX_AGE_DAYS``
    Freshness window of current findings read from FHIR (default: ``fhir_mapping.yaml``).
``MESCC_AUDIT_KEY``
    Key of the audit trail's hash chain (HMAC-SHA256). When unset, generated once into
    ``<data dir>/audit_key`` (mode 0600). Set it when several hosts share one database, and
    keep a copy: without it the chain cannot be verified.
``MESCC_AUDIT_ON_BROKEN_CHAIN``
    ``refuse`` (default): the service does not start on a broken chain; ``warn``: it starts,
    logs a critical line and ``/health`` reports the break.
``MESCC_SECURE_COOKIES``
    Session cookies carry ``Secure`` (default true); set false only for plain-HTTP local use.
See ``docs/web.md`` for every setting.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_FILE = "mescc.sqlite3"


class CdsClient(BaseModel):
    """A CDS Hooks client (an EHR) this service trusts, and the keys it signs its JWTs with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(min_length=1)
    jwks: dict[str, Any] | None = None
    jwks_url: str | None = None
    client_id: str | None = None
    label: str = ""
    #: The care team whose clinicians may open the assessments this client's calls made (the
    #: card's link); without one only an admin sees them (docs/fhir.md).
    care_team: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _has_keys(self) -> CdsClient:
        if self.jwks is None and self.jwks_url is None:
            raise ValueError(f"CDS client {self.issuer}: give jwks or jwks_url")
        return self


class Settings(BaseSettings):
    """Everything the service reads from its environment (prefix ``MESCC_``)."""

    model_config = SettingsConfigDict(env_prefix="MESCC_", extra="ignore")

    data_dir: Path = Path("mescc-data")
    database_url: str = ""
    secret_key: SecretStr | None = None
    kb_overlay: Path | None = None
    allow_site_derived: bool = False
    max_request_bytes: int = Field(default=256 * 1024, ge=1024)
    session_max_age_seconds: int = Field(default=12 * 3600, ge=60)
    secure_cookies: bool = True
    hsts_max_age_seconds: int = Field(default=365 * 24 * 3600, ge=0)
    public_openapi: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: str | None = None
    cds_clients: list[CdsClient] = Field(default_factory=list)
    cds_clients_file: Path | None = None
    cds_jwt_leeway_seconds: int = Field(default=60, ge=0, le=600)
    cds_jwt_max_lifetime_seconds: int = Field(default=900, ge=1)
    cds_jwks_cache_seconds: int = Field(default=300, ge=0)
    fhir_timeout_seconds: float = Field(default=3.0, gt=0)
    fhir_max_age_days: float | None = Field(default=None, ge=0)
    # Audit trail
    audit_key: SecretStr | None = None
    audit_on_broken_chain: Literal["refuse", "warn"] = "refuse"
    migrate_at_start: bool = True
    # Set by `mescc serve` for its workers once it has migrated and verified the trail.
    start_checks_done: bool = False
    # Accounts
    token_max_age_days: int = Field(default=90, ge=1, le=3650)
    login_window_seconds: int = Field(default=15 * 60, ge=10)
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_client: int = Field(default=20, ge=1)
    # Availability
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    max_header_bytes: int = Field(default=32 * 1024, ge=4096)
    max_connections: int = Field(default=20_000, ge=16)
    pdf_workers: int = Field(default=1, ge=1, le=8)
    pdf_queue: int = Field(default=4, ge=0)

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / DEFAULT_DATABASE_FILE).as_posix()}"
        return self

    def trusted_cds_clients(self) -> list[CdsClient]:
        """``cds_clients`` plus those of ``cds_clients_file`` (JSON or YAML list)."""
        clients = list(self.cds_clients)
        if self.cds_clients_file is not None:
            import yaml

            raw = yaml.safe_load(self.cds_clients_file.read_text(encoding="utf-8")) or []
            clients += [CdsClient.model_validate(item) for item in raw]
        return clients

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def session_secret(self) -> str:
        """The cookie-signing key: ``MESCC_SECRET_KEY`` or a key generated once under data_dir."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        return self._generated_key("secret_key")

    def audit_chain_key(self) -> bytes:
        """The audit chain's key: ``MESCC_AUDIT_KEY`` or a key generated once under data_dir."""
        if self.audit_key is not None and self.audit_key.get_secret_value():
            return self.audit_key.get_secret_value().encode("utf-8")
        return self._generated_key("audit_key").encode("ascii")

    def _generated_key(self, name: str) -> str:
        path = self.data_dir / name
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text(encoding="ascii").strip()
        key = secrets.token_urlsafe(48)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
        return key
