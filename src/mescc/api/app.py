"""``create_app(settings)``: the one place the web service is assembled.

Migrations are applied here, before the first request, so ``mescc serve`` on an empty or older
database just works.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from mescc import __version__
from mescc.api.cds_auth import CdsSecurity
from mescc.api.database import create_session_factory, prepare_database
from mescc.api.deps import LoginRequired, require_caller
from mescc.api.errors import install_error_handlers
from mescc.api.middleware import (
    BodySizeLimitMiddleware,
    ErrorShieldMiddleware,
    SecurityHeadersMiddleware,
)
from mescc.api.pdf import PdfRenderer
from mescc.api.routes import api_router, cds_router, pages_router, public_router
from mescc.api.storage import StorageHealth
from mescc.api.templating import STATIC_DIR, create_templates
from mescc.assessment import assess
from mescc.patient import Patient
from mescc.settings import Settings

DESCRIPTION = """
Clinical decision support for radiotherapy of malignant epidural spinal cord compression (MESCC).

**MESCC is an emergency. Do not delay MRI, steroids or referral for this software.**

Every route except `/health` needs `Authorization: Bearer <token>` (`mescc tokens create`).
Errors are `{"detail": [{"field", "value", "allowed", "message"}, ...]}`.
"""


def load_knowledge_base(settings: Settings) -> Any:
    """The knowledge base (with the site overlay of ``MESCC_KB_OVERLAY``), loaded and proved
    once at start, so a broken definition stops the service instead of a request."""
    from mescc.kb.loader import load_kb

    return load_kb(overlay=settings.kb_overlay)


def install_private_openapi(app: FastAPI) -> None:
    """``/openapi.json`` for token holders only (``MESCC_PUBLIC_OPENAPI=true`` makes it public)."""
    from fastapi import Depends

    from mescc.api.responses import JSONBody

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require_caller)])
    def openapi_document() -> JSONBody:
        return JSONBody(app.openapi())


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service: database (migrated), routers, error shapes, middleware."""
    settings = settings or Settings()
    engine, chain = prepare_database(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Everything loaded at start (knowledge base, evidence, compiled instruments, templates)
        # lives as long as the process: move it out of the cyclic collector's reach, so that a
        # full collection walks only what requests allocate (a full collection over the loaded
        # knowledge base took up to 30 ms, a latency spike for whichever request it hit).
        # A first assessment of an empty record loads the rest (evidence, plan rules, compiled
        # instruments) before the first patient's request, and before the freeze.
        assess(Patient.from_data({}), _app.state.knowledge_base)
        gc.collect()
        gc.freeze()
        yield
        _app.state.pdf_renderer.shutdown()
        engine.dispose()

    app = FastAPI(
        title="mescc",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        # Served by a route of its own: with a token, or public only if configured.
        openapi_url="/openapi.json" if settings.public_openapi else None,
        lifespan=lifespan,
    )
    templates = create_templates()
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = create_session_factory(engine, audit_key=settings.audit_chain_key())
    app.state.audit_chain = (
        "verified by mescc serve"
        if chain is None
        else ("intact at start" if chain.intact else f"broken at start: {chain.broken}")
    )
    app.state.pdf_renderer = PdfRenderer(workers=settings.pdf_workers, queue=settings.pdf_queue)
    app.state.templates = templates
    app.state.storage_health = StorageHealth(settings.database_url)
    app.state.knowledge_base = load_knowledge_base(settings)
    app.state.cds_security = CdsSecurity.from_settings(settings)

    install_error_handlers(app, templates)

    async def on_login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        from urllib.parse import urlencode

        return RedirectResponse("/login?" + urlencode({"next": exc.next_url}), status_code=303)

    app.add_exception_handler(LoginRequired, on_login_required)

    if not settings.public_openapi:
        install_private_openapi(app)
    app.include_router(public_router)
    app.include_router(api_router)
    app.include_router(cds_router)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    # Added innermost first: the security headers wrap everything, 413 and 500 included.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret(),
        session_cookie="mescc_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(ErrorShieldMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(SecurityHeadersMiddleware, hsts_max_age=settings.hsts_max_age_seconds)
    return app
