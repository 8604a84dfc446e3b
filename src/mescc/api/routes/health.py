"""``GET /health``: liveness and database reachability; the one route without authentication."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from mescc import __version__
from mescc.api.deps import DbDep
from mescc.api.responses import JSONBody
from mescc.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "Database unreachable or writes failing"}},
)
def health(request: Request, db: DbDep) -> JSONBody:
    """``database``: reachable; ``writes``: ``ok`` or ``failing: <reason>`` (disk full,
    read-only storage ...); ``audit_trail``: what the start-up check of the hash chain found.
    Any of them failing answers 503, so a load balancer takes the instance out."""
    trail: str = request.app.state.audit_chain
    try:
        db.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONBody(
            {
                "status": "unavailable",
                "version": __version__,
                "database": "unreachable",
                "writes": "failing: the database is unreachable",
                "audit_trail": trail,
            },
            status_code=503,
        )
    failing = request.app.state.storage_health.writes()
    broken = trail.startswith("broken")
    body = {
        "status": "degraded" if failing is not None or broken else "ok",
        "version": __version__,
        "database": "ok",
        "writes": f"failing: {failing}" if failing is not None else "ok",
        "audit_trail": trail,
    }
    return JSONBody(body, status_code=503 if failing is not None or broken else 200)
