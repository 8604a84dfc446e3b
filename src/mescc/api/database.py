"""Database engine, sessions and the migrations applied at start.

SQLite is opened in WAL mode with ``synchronous=FULL``: a commit is on disk before the request
is acknowledged, so an acknowledged assessment survives a killed process (and a power cut).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from mescc.api.audit import install_append_only_guard

if TYPE_CHECKING:
    from mescc.api.chain import ChainReport
    from mescc.settings import Settings

logger = logging.getLogger("mescc.api")


class StartupError(RuntimeError):
    """The service cannot start; the message is one line that says why and what to do."""


MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# An arbitrary constant: the PostgreSQL advisory lock taken while migrating, so that several
# workers starting at once do not race.
_MIGRATION_LOCK_ID = 0x6D65_7363


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # REPLACE's implicit delete fires the DELETE trigger too (append-only, migration 0001).
        cursor.execute("PRAGMA recursive_triggers=ON")
    finally:
        cursor.close()


def create_db_engine(database_url: str) -> Engine:
    """An engine for ``database_url``; SQLite files get their folder and their pragmas."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.query.get("mode"):
            _private_file(Path(url.database))
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=16,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=16)


def _private_file(path: Path) -> None:
    """The SQLite file (and its folder) readable by the service's user only: created 0600,
    tightened to 0600 if it was group- or world-readable. SQLite gives its -wal and -shm files
    the permissions of the database file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
            logger.warning("database file %s was readable by others; now 0600", path)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists() and companion.stat().st_mode & 0o077:
            os.chmod(companion, 0o600)


def create_session_factory(
    engine: Engine, *, audit_key: bytes | None = None
) -> sessionmaker[Session]:
    """Sessions of ``engine``; ``audit_key`` (the hash chain's) is needed to append assessments."""
    factory = sessionmaker(bind=engine, expire_on_commit=False, info={"audit_key": audit_key})
    install_append_only_guard(factory)
    return factory


def migrate(
    engine: Engine, *, audit_key: bytes | None = None, token_max_age_days: int = 90
) -> None:
    """Apply every Alembic migration up to head (idempotent).

    ``audit_key`` chains rows that existed before the hash chain (migration 0002)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["audit_key"] = audit_key
    config.attributes["token_max_age_days"] = token_max_age_days
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def verify_audit_chain(engine: Engine, key: bytes) -> ChainReport:
    from mescc.api.chain import verify_chain

    with engine.connect() as connection:
        return verify_chain(connection, key)


def _one_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return text[0] if text else type(error).__name__


def prepare_database(settings: Settings) -> tuple[Engine, ChainReport | None]:
    """Open, migrate and verify the database the service will use.

    Raises :class:`StartupError` (one line, no traceback) when the database cannot be opened
    or migrated (a read-only folder, a wrong URL ...) or, with ``audit_on_broken_chain=refuse``,
    when the audit trail's hash chain is broken. With ``warn`` a broken chain is logged as
    critical and returned, for ``/health`` to report.
    """
    where = _describe(settings.database_url)
    try:
        engine = create_db_engine(settings.database_url)
    except OSError as error:
        raise StartupError(
            f"mescc: cannot create the database at {where}: {error.strerror or error} "
            "(is the folder writable by this user? set MESCC_DATA_DIR or MESCC_DATABASE_URL)"
        ) from None
    if settings.start_checks_done:
        return engine, None
    key = settings.audit_chain_key()
    try:
        if settings.migrate_at_start:
            migrate(engine, audit_key=key, token_max_age_days=settings.token_max_age_days)
        report = verify_audit_chain(engine, key)
    except SQLAlchemyError as error:
        engine.dispose()
        raise StartupError(
            f"mescc: cannot open the database at {where}: {_one_line(error)} "
            "(is it writable by this user and reachable?)"
        ) from None
    if not report.intact:
        message = (
            f"mescc: the audit trail is broken at {report.broken}; "
            "run `mescc audit verify` and investigate before serving"
        )
        if settings.audit_on_broken_chain == "refuse":
            engine.dispose()
            raise StartupError(
                message + " (MESCC_AUDIT_ON_BROKEN_CHAIN=warn starts anyway, loudly)"
            )
        logger.critical(message)
    return engine, report


def _describe(database_url: str) -> str:
    """The database, for a message (no password)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    return url.render_as_string(hide_password=True)


#: What the service's own PostgreSQL role may do (docs/web.md, "PostgreSQL role split"): the
#: audit table INSERT and SELECT only; it owns nothing, so it cannot ALTER a table, drop or
#: disable a trigger, UPDATE, DELETE or TRUNCATE the trail.
_APP_GRANTS = (
    "GRANT USAGE ON SCHEMA {schema} TO {role}",
    "GRANT SELECT ON alembic_version TO {role}",
    "GRANT SELECT, INSERT ON assessments TO {role}",
    "GRANT SELECT, INSERT, UPDATE ON users, api_tokens, web_sessions TO {role}",
    "GRANT SELECT, INSERT, DELETE ON login_failures TO {role}",
    "GRANT SELECT, INSERT ON cds_cards, cds_feedback TO {role}",
    "GRANT SELECT, INSERT, DELETE ON cds_jwt_ids TO {role}",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
)


def grant_app_role(engine: Engine, role: str) -> None:
    """Grant ``role`` the service's privileges on the current schema (PostgreSQL, run by the
    owner that ran the migrations)."""
    if engine.dialect.name != "postgresql":
        raise StartupError("grant-app-role is for PostgreSQL (SQLite has no roles)")
    with engine.begin() as connection:
        preparer = connection.dialect.identifier_preparer
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        for statement in _APP_GRANTS:
            connection.execute(
                text(
                    statement.format(
                        schema=preparer.quote_identifier(str(schema)),
                        role=preparer.quote_identifier(role),
                    )
                )
            )
