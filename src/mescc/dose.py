"""Linear-quadratic dose maths: BED and EQD2, no time factor.

``BED = n * d * (1 + d / (alpha/beta))`` and ``EQD2 = BED / (1 + 2 / (alpha/beta))``, for
``n`` fractions of ``d`` Gy. A mixed course is the sum of the BED of its parts. Pure functions;
they work on floats or numpy/polars-compatible arrays.

Traps guarded: alpha/beta is a tissue property (tumour 10 Gy; cervical/thoracic cord 2 Gy;
lumbar cord / cauda equina 4 Gy), so every figure carries the alpha/beta it was computed with;
BED values with different alpha/beta are never added or compared.

References
----------
Rades & Schild 2023 and the trials quoted in ``radiotherapy-evidence.md §3`` (LQ formulas,
alpha/beta conventions, numerical checks: Nieder 2006, RAMSES-01, PRE-MODE).
"""

from __future__ import annotations

import math


def _check(fractions: float, dose_per_fraction_gy: float, alpha_beta: float) -> None:
    for name, v in (
        ("fractions", fractions),
        ("dose_per_fraction_gy", dose_per_fraction_gy),
        ("alpha_beta", alpha_beta),
    ):
        if isinstance(v, int | float) and not math.isfinite(v):
            raise ValueError(f"{name}: {v} is not a finite number; allowed: a finite number")
    if isinstance(fractions, int | float) and fractions < 0:
        raise ValueError(f"fractions: {fractions} is out of range; allowed: >= 0")
    if isinstance(dose_per_fraction_gy, int | float) and dose_per_fraction_gy < 0:
        raise ValueError(
            f"dose_per_fraction_gy: {dose_per_fraction_gy} is out of range; allowed: >= 0"
        )
    if isinstance(alpha_beta, int | float) and alpha_beta <= 0:
        raise ValueError(f"alpha_beta: {alpha_beta} is out of range; allowed: > 0")


def bed(fractions: float, dose_per_fraction_gy: float, alpha_beta: float) -> float:
    """Biologically effective dose, ``BED = n*d*(1 + d/(alpha/beta))`` (Gy_alpha/beta).

    Parameters
    ----------
    fractions : number of fractions ``n``
    dose_per_fraction_gy : dose per fraction ``d`` in Gy
    alpha_beta : alpha/beta ratio of the tissue in Gy

    Returns
    -------
    BED in Gy (subscript alpha/beta), e.g. 10 x 3 Gy at alpha/beta 10 -> 39.0.
    """
    _check(fractions, dose_per_fraction_gy, alpha_beta)
    return fractions * dose_per_fraction_gy * (1 + dose_per_fraction_gy / alpha_beta)


def eqd2(fractions: float, dose_per_fraction_gy: float, alpha_beta: float) -> float:
    """Equivalent dose in 2-Gy fractions, ``EQD2 = BED / (1 + 2/(alpha/beta))`` (Gy).

    e.g. 10 x 3 Gy at alpha/beta 10 -> 32.5 Gy.
    """
    return bed(fractions, dose_per_fraction_gy, alpha_beta) / (1 + 2 / alpha_beta)


def eqd2_from_bed(bed_gy: float, alpha_beta: float) -> float:
    """EQD2 of a BED computed at the same alpha/beta: ``BED / (1 + 2/(alpha/beta))``."""
    return bed_gy / (1 + 2 / alpha_beta)
