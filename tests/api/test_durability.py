"""Assessments written while the server is SIGKILLed are all there after a restart, intact.

A real ``mescc serve`` (uvicorn, SQLite in WAL mode with synchronous=FULL) takes assessments
from four writer threads; once some have been acknowledged it is killed with SIGKILL while the
writers are still sending. After a restart every acknowledged assessment (HTTP 201 received)
must read back exactly as it was returned, every stored row must parse and match its checksum,
and the database must pass ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import httpx

from mescc.api import accounts
from mescc.api.chain import verify_chain
from mescc.api.database import create_db_engine, create_session_factory, migrate

from .live_server import LIVE_SERVER_AUDIT_KEY, LiveServer
from .patients import EXAMPLE_PATIENT

WRITERS = 4
MAX_PER_WRITER = 500  # bounded: the loop stops by itself
KILL_AFTER_ACKNOWLEDGED = 60
HANG_GUARD_S = 300


def _user_and_token(database_url: str) -> str:
    engine = create_db_engine(database_url)
    migrate(engine, audit_key=LIVE_SERVER_AUDIT_KEY)
    with create_session_factory(engine, audit_key=LIVE_SERVER_AUDIT_KEY)() as session:
        accounts.create_user(session, "durable", "durable-password")
        token = accounts.create_token(session, "durable")
    engine.dispose()
    return token


def test_acknowledged_assessments_survive_sigkill(tmp_path: Path) -> None:
    db_file = tmp_path / "durable.sqlite3"
    database_url = f"sqlite:///{db_file}"
    headers = {"Authorization": f"Bearer {_user_and_token(database_url)}"}
    server = LiveServer(database_url, tmp_path)
    server.start()

    acknowledged: dict[int, dict[str, Any]] = {}
    lock = threading.Lock()
    enough = threading.Event()
    errors_after_kill: list[str] = []

    def writer(number: int) -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            for index in range(MAX_PER_WRITER):
                patient = {
                    **EXAMPLE_PATIENT,
                    "id": f"w{number}-{index}",
                    "age_years": 40 + index % 60,
                }
                try:
                    response = client.post("/api/v1/assessments", json=patient)
                except httpx.HTTPError as error:
                    errors_after_kill.append(type(error).__name__)
                    return
                if response.status_code == 201:
                    body = response.json()
                    with lock:
                        acknowledged[body["id"]] = body
                        if len(acknowledged) >= KILL_AFTER_ACKNOWLEDGED:
                            enough.set()
        enough.set()

    threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(WRITERS)]
    try:
        for thread in threads:
            thread.start()
        assert enough.wait(HANG_GUARD_S), f"writers stalled:\n{server.log()}"
        server.kill()  # mid-stream: the writers are still sending
        for thread in threads:
            thread.join(HANG_GUARD_S)
        with lock:
            survivors = dict(acknowledged)
        assert len(survivors) >= KILL_AFTER_ACKNOWLEDGED
        assert errors_after_kill, "the kill should have cut off requests in flight"

        server.start()
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            for assessment_id, body in survivors.items():
                response = client.get(f"/api/v1/assessments/{assessment_id}")
                assert response.status_code == 200, assessment_id
                assert response.json() == body
            total = client.get("/api/v1/assessments?limit=1").json()["total"]
        assert total >= len(survivors)
    finally:
        server.stop()

    connection = sqlite3.connect(db_file)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = connection.execute(
            "SELECT id, inputs_json, document_json, document_sha256 FROM assessments"
        ).fetchall()
    finally:
        connection.close()
    assert len(rows) == total
    for _, inputs_json, document_json, digest in rows:
        json.loads(inputs_json)
        json.loads(document_json)
        assert hashlib.sha256(document_json.encode()).hexdigest() == digest
    # The hash chain holds across the kill: no half-appended link, no fork.
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            report = verify_chain(connection, LIVE_SERVER_AUDIT_KEY)
    finally:
        engine.dispose()
    assert report.intact, report.broken
    assert report.rows == total
