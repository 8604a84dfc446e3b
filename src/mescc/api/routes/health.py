"""``GET /health``: liveness and database reachability; the one route without authentication."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from mescc import __version__
from mescc.api.deps import DbDep
from mescc.api.responses import JSONBody
from mescc.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(db: DbDep) -> JSONBody:
    try:
        db.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONBody(
            {"status": "unavailable", "version": __version__, "database": "unreachable"},
            status_code=503,
        )
    return JSONBody({"status": "ok", "version": __version__, "database": "ok"})
