"""The contract's assessment document: patient data in, JSON-ready dict out.

This is the one function the adapters (CLI, web, API) call to turn raw patient data into the
assessment document of ``shared/contract.md``. It holds no clinical logic itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# NOTE: placeholder until the engine lands; the signature is stable.


def assessment_document(
    data: Mapping[str, Any],
    *,
    kb: Any = None,
    allow_unverified: bool = False,
) -> dict[str, Any]:
    """Validate ``data`` as a Patient, assess it, build the plan and return the contract JSON.

    Raises
    ------
    mescc.errors.InputError
        When any field is not allowed (``.problems`` lists every one).
    """
    raise NotImplementedError("engine not yet wired")


def instruments_document(*, kb: Any = None) -> list[dict[str, Any]]:
    """Every instrument with id, name, outcome, citation, verification and needed inputs."""
    raise NotImplementedError("engine not yet wired")


def dose_document(
    fractions: int, dose_per_fraction_gy: float, alpha_beta: float = 10.0
) -> dict[str, Any]:
    """``{"bed_gy": ..., "eqd2_gy": ..., ...}`` for one regimen (linear-quadratic, no time factor)."""
    raise NotImplementedError("engine not yet wired")
