"""Database engine, sessions and the migrations applied at start.

SQLite is opened in WAL mode with ``synchronous=FULL``: a commit is on disk before the request
is acknowledged, so an acknowledged assessment survives a killed process (and a power cut).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from mescc.api.audit import install_append_only_guard

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
    finally:
        cursor.close()


def create_db_engine(database_url: str) -> Engine:
    """An engine for ``database_url``; SQLite files get their folder and their pragmas."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=16,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=16)


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    install_append_only_guard(factory)
    return factory


def migrate(engine: Engine) -> None:
    """Apply every Alembic migration up to head (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
