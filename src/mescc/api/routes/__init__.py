"""All routers, aggregated in one place: the token-protected API, the login-protected pages,
the login page and the unauthenticated health check."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from mescc.api.deps import require_caller, require_json_body, require_web_user, verify_csrf
from mescc.api.routes import assessments, cds_hooks, dose, health, instruments, login, pages

api_router = APIRouter(
    prefix="/api/v1", dependencies=[Depends(require_caller), Depends(require_json_body)]
)
api_router.include_router(assessments.router)
api_router.include_router(instruments.router)
api_router.include_router(dose.router)

pages_router = APIRouter(
    dependencies=[Depends(require_web_user), Depends(verify_csrf)], include_in_schema=False
)
pages_router.include_router(pages.router)

public_router = APIRouter()
public_router.include_router(health.router)
public_router.include_router(login.router)

#: CDS Hooks 2.0: authenticated by the calling EHR's JWT (``cds_hooks.require_cds_client``).
cds_router = APIRouter()
cds_router.include_router(cds_hooks.router)

__all__ = ["api_router", "cds_router", "pages_router", "public_router"]
