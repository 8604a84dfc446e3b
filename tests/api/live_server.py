"""A real ``mescc serve`` in a subprocess, for the durability and browser tests.

Run as a script it starts the service through the CLI's ``serve`` command (uvicorn), with the
real engine.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

HERE = Path(__file__).resolve().parent
LIVE_SERVER_AUDIT_KEY = b"live-server-audit-key"
REPO = HERE.parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """Start, SIGKILL and restart the service on a database URL (loopback only)."""

    def __init__(
        self, database_url: str, data_dir: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.extra_env = dict(extra_env or {})
        self.database_url = database_url
        self.data_dir = data_dir
        self.log_path = data_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, startup_limit_s: float = 60.0) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "MESCC_DATA_DIR": str(self.data_dir),
            "MESCC_SECRET_KEY": "live-server-test-secret",
            "MESCC_AUDIT_KEY": LIVE_SERVER_AUDIT_KEY.decode(),
            # Plain HTTP on loopback: the documented local-development setting.
            "MESCC_SECURE_COOKIES": "false",
            **self.extra_env,
            "PYTHONPATH": os.pathsep.join(
                [str(REPO / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
        }
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), str(self.port), self.database_url],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + startup_limit_s  # a hang guard, not a speed check
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited at start:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not answer /health:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing; the process just stops."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._close_log()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._close_log()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def _main(port: int, database_url: str) -> None:
    from mescc.api.cli import serve

    access_log = os.environ.get("MESCC_TEST_ACCESS_LOG") == "1"
    serve(host="127.0.0.1", port=port, database_url=database_url, access_log=access_log)


if __name__ == "__main__":
    _main(int(sys.argv[1]), sys.argv[2])
