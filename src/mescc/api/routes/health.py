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
    read-only storage ...). Either failing answers 503, so a load balancer takes it out."""
    try:
        db.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONBody(
            {
                "status": "unavailable",
                "version": __version__,
                "database": "unreachable",
                "writes": "failing: the database is unreachable",
            },
            status_code=503,
        )
    failing = request.app.state.storage_health.writes()
    if failing is not None:
        return JSONBody(
            {
                "status": "degraded",
                "version": __version__,
                "database": "ok",
                "writes": f"failing: {failing}",
            },
            status_code=503,
        )
    return JSONBody({"status": "ok", "version": __version__, "database": "ok", "writes": "ok"})
