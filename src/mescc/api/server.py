"""The HTTP server's own guards: header-read timeout, header-size limit, connection shedding,
and an access log without query strings.

Traps guarded (issue 9): uvicorn's httptools protocol has no timeout for a request's headers
(its keep-alive timer starts only after a first response) and no limit on their size: 21,000
idle partial-header connections made ``/health`` unreachable and a 64 MB header was buffered
and answered 200. And the access log printed ``?patient_ref=MRN-...``.

:class:`GuardedHttpToolsProtocol` (what ``mescc serve`` runs) adds, per connection:

- a header deadline (``MESCC_HEADER_TIMEOUT_SECONDS``, default 10 s) from the connection's
  opening, or from the first byte of each later request, to the end of that request's headers:
  past it the connection gets ``408`` and is closed;
- a header-size limit (``MESCC_MAX_HEADER_BYTES``, default 32 KiB: request line and headers):
  past it ``431`` and the connection is closed, long before 64 MB is read;
- a cap on open connections (``MESCC_MAX_CONNECTIONS``, kept below the open-file limit, which
  ``serve`` raises): beyond it the *oldest connection still sending its headers* is closed, so
  a flood of idle connections costs the flood its oldest members, not a new client's request.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

logger = logging.getLogger("mescc.api")


@cache
def _limits() -> tuple[float, int, int]:
    """(header timeout s, max header bytes, max connections), read once per process."""
    from mescc.settings import Settings

    settings = Settings()
    return settings.header_timeout_seconds, settings.max_header_bytes, settings.max_connections


def _response(status: bytes) -> bytes:
    return b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


# Connections of this process still sending a request's headers, oldest first.
_PENDING: OrderedDict[GuardedHttpToolsProtocol, None] = OrderedDict()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline, a header-size cap and shedding."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout, self._max_header_bytes, self._max_connections = _limits()
        self._header_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None

    # -- the header deadline ---------------------------------------------------------------
    def _await_headers(self) -> None:
        self._header_bytes = 0
        _PENDING[self] = None
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self._header_timeout, self._headers_late)

    def _headers_done(self) -> None:
        _PENDING.pop(self, None)
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        self._refuse(b"408 Request Timeout")

    def _refuse(self, status: bytes) -> None:
        _PENDING.pop(self, None)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_response(status))
            self.transport.close()

    # -- protocol events -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()
        if len(self.connections) > self._max_connections:
            oldest = next(iter(_PENDING))
            if oldest is self:
                self._refuse(b"503 Service Unavailable")
            else:
                oldest._refuse(b"503 Service Unavailable")

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_done()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        super().data_received(data)
        # httptools buffers a header until it is complete (on_header is called once), so the
        # bytes of a request still without its headers are counted as they arrive.
        if self in _PENDING:
            self._header_bytes += len(data)
            if self._header_bytes > self._max_header_bytes:
                self._refuse(b"431 Request Header Fields Too Large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._await_headers()

    def on_headers_complete(self) -> None:
        self._headers_done()
        super().on_headers_complete()


# ---- the access log -------------------------------------------------------------------

_QUERY = re.compile(r"\?.*$", re.DOTALL)


class AccessLogRedaction(logging.Filter):
    """Drop the query string from uvicorn's access-log lines (``?patient_ref=...`` is patient
    data); the path is kept: it holds only route names and assessment ids."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = args[2]
            if "?" in path:
                record.args = (*args[:2], _QUERY.sub("?[query removed]", path), *args[3:])
        return True


def install_access_log_redaction() -> None:
    """Attach the filter to uvicorn's access logger (and its handlers, set up later by the
    log config ``serve`` passes)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogRedaction) for f in access.filters):
        access.addFilter(AccessLogRedaction())


__all__ = [
    "AccessLogRedaction",
    "GuardedHttpToolsProtocol",
    "install_access_log_redaction",
]
