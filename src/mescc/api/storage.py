"""Whether the database can take writes: failures classified, remembered and reported.

Traps guarded (issue 9): a full disk made every write a generic 500 while ``/health`` said
``ok``. A write that fails for lack of storage (disk full, read-only or failing storage, the
database gone) is answered 503 with the reason, and ``/health`` reports ``writes: failing``
until a write succeeds again. On SQLite ``/health`` also checks the database folder itself
(writable, free space), so a full disk is seen before the next write fails.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

# SQLite primary result codes (https://sqlite.org/rescode.html) meaning "storage unusable".
_SQLITE_STORAGE = {
    13: "the disk is full",  # SQLITE_FULL
    10: "the storage reports an I/O error",  # SQLITE_IOERR
    8: "the database is read-only",  # SQLITE_READONLY
    14: "the database file cannot be opened",  # SQLITE_CANTOPEN
}
# PostgreSQL SQLSTATE classes: 53 insufficient resources (53100 disk full), 58 system error,
# 08 connection exception; 25006 read-only transaction (a standby).
_POSTGRES_STORAGE = {
    "53100": "the disk is full",
    "53": "the database server lacks resources",
    "58": "the database server reports a system error",
    "08": "the database server is unreachable",
    "25006": "the database is read-only",
}
#: Below this much free space in the SQLite folder, /health reports writes as failing.
MIN_FREE_BYTES = 16 * 1024 * 1024


def storage_failure(error: DBAPIError) -> str | None:
    """Why the database cannot take writes, if that is what ``error`` says; else None."""
    original = error.orig
    if isinstance(original, sqlite3.Error):
        code = getattr(original, "sqlite_errorcode", None)
        if isinstance(code, int):
            return _SQLITE_STORAGE.get(code & 0xFF)
        text = str(original).lower()
        if "disk is full" in text or "readonly" in text or "disk i/o" in text:
            return "the storage refuses writes"
        return None
    sqlstate = getattr(original, "sqlstate", None)
    if isinstance(sqlstate, str):
        for prefix in (sqlstate, sqlstate[:2]):
            if prefix in _POSTGRES_STORAGE:
                return _POSTGRES_STORAGE[prefix]
    if error.connection_invalidated:
        return "the database connection was lost"
    return None


@dataclass
class StorageHealth:
    """The last write failure (cleared by a successful write) and the SQLite folder check."""

    database_url: str
    failure: str | None = None
    failed_at: float | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        url = make_url(self.database_url)
        database = url.database if url.get_backend_name() == "sqlite" else None
        self.folder = (
            Path(database).resolve().parent if database and database != ":memory:" else None
        )

    def record_failure(self, reason: str) -> None:
        with self._lock:
            self.failure = reason
            self.failed_at = time.time()

    def record_success(self) -> None:
        if self.failure is not None:
            with self._lock:
                self.failure = None
                self.failed_at = None

    def writes(self) -> str | None:
        """None when writes should succeed; otherwise why they fail."""
        if self.folder is not None:
            try:
                stats = os.statvfs(self.folder)
            except OSError:
                return "the database folder cannot be read"
            if stats.f_bavail * stats.f_frsize < MIN_FREE_BYTES:
                return "the disk is full"
            if not os.access(self.folder, os.W_OK):
                return "the database folder is read-only"
        return self.failure
