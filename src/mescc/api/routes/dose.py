"""``/api/v1/dose``: BED and EQD2 of one regimen (as `mescc dose --format json`)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query

from mescc import document as core
from mescc.api.errors import problems_response
from mescc.api.responses import JSONBody
from mescc.api.schemas import error_responses
from mescc.errors import InputError
from mescc.fields import REGIMEN_FIELDS

router = APIRouter(prefix="/dose", tags=["dose"])

_FRACTIONS, _DOSE, _ALPHA_BETA = REGIMEN_FIELDS


def _refused(message: str) -> JSONBody:
    return problems_response(
        422, [{"field": None, "value": None, "allowed": None, "message": message}]
    )


@router.get(
    "",
    response_model=dict[str, Any],
    responses=error_responses(401, 422),
    summary="BED and EQD2 (linear-quadratic model, no time factor)",
)
def dose(
    fractions: Annotated[
        int,
        Query(ge=_FRACTIONS.minimum, le=_FRACTIONS.maximum, description="Number of fractions"),
    ],
    dose_per_fraction_gy: Annotated[
        float,
        Query(
            ge=_DOSE.minimum,
            le=_DOSE.maximum,
            allow_inf_nan=False,
            description="Dose per fraction (Gy)",
        ),
    ],
    alpha_beta: Annotated[
        float,
        Query(
            ge=_ALPHA_BETA.minimum,
            le=_ALPHA_BETA.maximum,
            allow_inf_nan=False,
            description="α/β ratio (Gy)",
        ),
    ] = 10.0,
) -> JSONBody:
    """The ranges are the field table's (``mescc.fields.REGIMEN_FIELDS``), checked again by
    the library (``InputError``, 422): an accepted regimen always has a finite BED."""
    try:
        document = core.dose_document(fractions, dose_per_fraction_gy, alpha_beta)
    except InputError:
        raise
    except (ValueError, ArithmeticError) as exc:
        return _refused(f"dose: {exc}; allowed: a regimen the linear-quadratic model accepts")
    if not all(
        math.isfinite(value)
        for value in document.values()
        if isinstance(value, float) and not isinstance(value, bool)
    ):
        return _refused(
            "alpha_beta: the BED of this regimen is not a finite number; "
            "allowed: an α/β ratio that gives a finite BED"
        )
    return JSONBody(document)
