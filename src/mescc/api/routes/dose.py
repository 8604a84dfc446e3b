"""``/api/v1/dose``: BED and EQD2 of one regimen (as `mescc dose --format json`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from mescc import document as core
from mescc.api.errors import problems_response
from mescc.api.responses import JSONBody
from mescc.api.schemas import error_responses
from mescc.errors import InputError

router = APIRouter(prefix="/dose", tags=["dose"])


@router.get(
    "",
    response_model=dict[str, Any],
    responses=error_responses(401, 422),
    summary="BED and EQD2 (linear-quadratic model, no time factor)",
)
def dose(
    fractions: Annotated[int, Query(ge=1, description="Number of fractions")],
    dose_per_fraction_gy: Annotated[float, Query(gt=0, description="Dose per fraction (Gy)")],
    alpha_beta: Annotated[float, Query(gt=0, description="α/β ratio (Gy)")] = 10.0,
) -> JSONBody:
    try:
        return JSONBody(core.dose_document(fractions, dose_per_fraction_gy, alpha_beta))
    except InputError:
        raise
    except ValueError as exc:
        message = f"dose: {exc}; allowed: a regimen the linear-quadratic model accepts"
        return problems_response(
            422, [{"field": None, "value": None, "allowed": None, "message": message}]
        )
