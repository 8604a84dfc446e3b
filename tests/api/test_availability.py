"""One client cannot take the service down: header deadline and size limit, connection
shedding, a bounded PDF pool, a clear 503 when storage fails, one clear line at start.

The live-server tests run a real ``mescc serve`` on loopback. They assert behaviour (a status,
a closed connection), never a latency: speed is measured by ``benchmarks/availability.py``.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event
from typer.testing import CliRunner

from mescc.api import accounts
from mescc.api.app import create_app
from mescc.api.cli import register
from mescc.api.database import StartupError, create_db_engine, create_session_factory
from mescc.settings import Settings

from .conftest import BASE_URL
from .live_server import LiveServer
from .patients import EXAMPLE_PATIENT

HANG_GUARD_S = 60  # a bound on waiting, not a speed check


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    database_url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    engine = create_db_engine(database_url)
    from mescc.api.database import migrate

    migrate(engine, audit_key=b"live-server-audit-key")
    with create_session_factory(engine)() as session:
        accounts.create_user(session, "avail", "long-enough-pw")
        token = accounts.create_token(session, "avail")
    engine.dispose()
    server = LiveServer(
        database_url,
        tmp_path,
        extra_env={
            "MESCC_HEADER_TIMEOUT_SECONDS": "1",
            "MESCC_MAX_CONNECTIONS": "300",
        },
    )
    server.start()
    try:
        yield server, {"Authorization": f"Bearer {token}"}
    finally:
        server.stop()


def _connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=HANG_GUARD_S)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_64_mb_header_is_refused_early(live: tuple[LiveServer, dict[str, str]]) -> None:
    server, _ = live
    sock = _connect(server)
    sent = 0
    try:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
        chunk = b"a" * 65536
        while sent < 64 * 1024 * 1024:
            sock.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    answer = _read_all(sock)
    sock.close()
    assert sent < 64 * 1024 * 1024, "the server kept reading a 64 MB header"
    assert answer.startswith(b"HTTP/1.1 431"), answer[:80]


def test_an_idle_partial_header_is_cut_off(live: tuple[LiveServer, dict[str, str]]) -> None:
    server, _ = live
    sock = _connect(server)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and then nothing
    answer = _read_all(sock)  # returns when the server closes (header deadline 1 s)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    silent = _connect(server)  # a connection that sends nothing at all
    assert _read_all(silent).startswith(b"HTTP/1.1 408")
    silent.close()


def test_health_and_create_answer_while_idle_connections_flood(
    live: tuple[LiveServer, dict[str, str]],
) -> None:
    """More idle partial-header connections than the server keeps (300 here): the oldest are
    shed, and /health and a normal create still answer."""
    server, headers = live
    idle = []
    for _ in range(450):
        sock = _connect(server)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        idle.append(sock)
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=HANG_GUARD_S) as http:
            assert http.get("/health").status_code == 200
            assert http.post("/api/v1/assessments", json=EXAMPLE_PATIENT).status_code == 201
        closed = 0
        for sock in idle[:100]:
            sock.settimeout(HANG_GUARD_S)
            if _read_all(sock).startswith(b"HTTP/1.1 "):
                closed += 1
        assert closed == 100  # shed (503) or cut off at the header deadline (408)
    finally:
        for sock in idle:
            sock.close()


# ---- the PDF pool ---------------------------------------------------------------------


def test_pdfs_are_rendered_in_the_bounded_pool(app: FastAPI, api: TestClient) -> None:
    created = api.post("/api/v1/assessments", json=EXAMPLE_PATIENT).json()
    response = api.get(f"/api/v1/assessments/{created['id']}/report.pdf")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    renderer = app.state.pdf_renderer
    assert renderer._pool is not None  # a process pool, not the event loop
    assert renderer._in_progress == 0


def test_a_full_pdf_queue_answers_503_at_once(app: FastAPI, api: TestClient) -> None:
    created = api.post("/api/v1/assessments", json=EXAMPLE_PATIENT).json()
    renderer = app.state.pdf_renderer
    renderer._in_progress = renderer.capacity  # as if workers + queue were all busy
    try:
        response = api.get(f"/api/v1/assessments/{created['id']}/report.pdf")
    finally:
        renderer._in_progress = 0
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "report.pdf" in response.json()["detail"][0]["message"]


# ---- storage failures -----------------------------------------------------------------


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[tuple[FastAPI, TestClient]]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'full.sqlite3'}",
        data_dir=tmp_path,
        secret_key="k",
        audit_key="a",
    )
    app = create_app(settings)
    with app.state.session_factory() as session:
        accounts.create_user(session, "full", "long-enough-pw")
        token = accounts.create_token(session, "full")
    with TestClient(app, base_url=BASE_URL, headers={"Authorization": f"Bearer {token}"}) as c:
        yield app, c
    app.state.engine.dispose()


def _disk_full(app: FastAPI, full: bool) -> None:
    """SQLite's own "database or disk is full" (SQLITE_FULL), as on a full disk."""
    engine = app.state.engine
    engine.dispose()

    def limit(connection: Any, _record: Any) -> None:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count={pages if full else 1073741823}")

    event.listen(engine, "connect", limit)


def test_disk_full_is_a_clear_503_and_health_says_writes_fail(
    sqlite_app: tuple[FastAPI, TestClient],
) -> None:
    app, client = sqlite_app
    assert client.post("/api/v1/assessments", json=EXAMPLE_PATIENT).status_code == 201
    _disk_full(app, True)
    response = client.post("/api/v1/assessments", json={**EXAMPLE_PATIENT, "id": "x" * 100})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    (problem,) = response.json()["detail"]
    assert problem["field"] == "database"
    assert "the disk is full; nothing was stored" in problem["message"]
    health = client.get("/health")
    assert health.status_code == 503
    assert health.json()["writes"] == "failing: the disk is full"
    assert client.get("/api/v1/assessments").status_code == 200  # reads still work
    _disk_full(app, False)
    assert client.post("/api/v1/assessments", json=EXAMPLE_PATIENT).status_code == 201
    assert client.get("/health").json()["writes"] == "ok"


def test_a_read_only_database_at_start_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "ro.sqlite3"
    sqlite3.connect(path).close()
    cli = typer.Typer()
    register(cli)
    env = {
        "MESCC_DATABASE_URL": f"sqlite:///file:{path}?mode=ro&uri=true",
        "MESCC_DATA_DIR": str(tmp_path),
        "MESCC_SECRET_KEY": "k",
    }
    result = CliRunner().invoke(cli, ["serve", "--port", "1"], env=env)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "cannot open the database" in lines[0]
    assert "readonly" in lines[0] or "read-only" in lines[0]
    assert "Traceback" not in result.output


def test_a_database_folder_that_cannot_be_made_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings = Settings(database_url=f"sqlite:///{blocker / 'db' / 'x.sqlite3'}", data_dir=tmp_path)
    with pytest.raises(StartupError) as refused:
        create_app(settings)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("mescc: cannot create the database at")


def test_a_read_only_folder_is_reported_by_health(
    sqlite_app: tuple[FastAPI, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    _app, client = sqlite_app
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: False if mode == os.W_OK else real_access(path, mode)
    )
    body = client.get("/health").json()
    assert body["writes"] == "failing: the database folder is read-only"
