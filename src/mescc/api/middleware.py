"""Pure ASGI middleware: security headers, the request-size limit and a last-resort error shield.

The shield logs only the exception type and the route, never the message, body or query: an
exception raised while handling patient data may carry that data in its message.
"""

from __future__ import annotations

import json
import logging

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("mescc.api")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeadersMiddleware:
    """Add the security headers to every response, and ``no-store`` to all but static files.

    ``Strict-Transport-Security`` is sent too (browsers heed it only over HTTPS, so it is
    harmless on plain-HTTP local use); ``hsts_max_age=0`` leaves it out.
    """

    def __init__(self, app: ASGIApp, hsts_max_age: int = 365 * 24 * 3600) -> None:
        self.app = app
        self.headers = list(SECURITY_HEADERS)
        if hsts_max_age > 0:
            value = f"max-age={hsts_max_age}; includeSubDomains".encode()
            self.headers.append((b"strict-transport-security", value))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in self.headers if h[0] not in present)
                if not static and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _BodyTooLarge(HTTPException):
    """Raised while the body streams in; an HTTPException, so FastAPI's body reader passes it
    on to the error handlers (413 in the problem shape) instead of turning it into a 400."""


async def _send_json(send: Send, status: int, body: dict[str, object]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodySizeLimitMiddleware:
    """Refuse request bodies larger than ``max_bytes`` with 413 (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> dict[str, object]:
        message = (
            f"body: request larger than {self.max_bytes} bytes; "
            f"allowed: at most {self.max_bytes} bytes"
        )
        return {
            "detail": [
                {
                    "field": "body",
                    "value": None,
                    "allowed": f"at most {self.max_bytes} bytes",
                    "message": message,
                }
            ]
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    await _send_json(send, 413, self._too_large())
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge(413, detail=self._too_large()["detail"])
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _send_json(send, 413, self._too_large())


class ErrorShieldMiddleware:
    """Turn an unexpected exception into a bare 500 and log it without its message."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            route = scope.get("route")
            where = getattr(route, "path", None) or "unmatched route"
            logger.error("internal error %s in %s %s", type(exc).__name__, scope["method"], where)
            if not started:
                await _send_json(
                    send,
                    500,
                    {
                        "detail": [
                            {
                                "field": None,
                                "value": None,
                                "allowed": None,
                                "message": "internal error; it has been logged without "
                                "patient data",
                            }
                        ]
                    },
                )
