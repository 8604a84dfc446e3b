"""``/api/v1/instruments``: every instrument with its citation and verification level."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mescc import document as core
from mescc.api.deps import KnowledgeBaseDep
from mescc.api.responses import JSONBody
from mescc.api.schemas import error_responses

router = APIRouter(prefix="/instruments", tags=["instruments"])


@router.get(
    "",
    response_model=list[dict[str, Any]],
    responses=error_responses(401),
    summary="Every instrument (as `mescc instruments --format json`)",
)
def list_instruments(knowledge_base: KnowledgeBaseDep) -> JSONBody:
    return JSONBody(core.instruments_document(kb=knowledge_base))
