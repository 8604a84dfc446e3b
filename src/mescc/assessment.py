"""From a validated patient to an assessment: every instrument, then the plan.

``assess(patient, kb)`` evaluates every instrument of the knowledge base for one patient with
the scalar driver; ``assess_table(frame, kb)`` evaluates the same compiled definitions over a
table with polars. Both read the same compiled instruments (``engine.compile``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mescc.engine.compile import compile_kb
from mescc.engine.evaluate import evaluate
from mescc.engine.result import InstrumentResult
from mescc.engine.table import evaluate_frame
from mescc.kb.loader import KnowledgeBase, load_kb
from mescc.patient import Patient

if TYPE_CHECKING:
    import polars as pl

    from mescc.plan import Plan

SCHEMA_VERSION = "1"


@dataclass(frozen=True)
class Assessment:
    """A patient, every instrument's result and (optionally) the treatment plan."""

    patient: Patient
    instruments: Mapping[str, InstrumentResult]
    knowledge_base_version: str
    plan: Plan | None = None
    allow_unverified: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _as_patient(patient: Patient | Mapping[str, Any]) -> Patient:
    return patient if isinstance(patient, Patient) else Patient.from_data(patient)


def assess_instruments(
    patient: Patient | Mapping[str, Any], kb: KnowledgeBase | None = None
) -> Assessment:
    """Evaluate every instrument for one patient (no plan)."""
    kb = kb or load_kb()
    p = _as_patient(patient)
    row = p.to_row()
    version = kb.version
    results = {ci.id: evaluate(ci, row, version) for ci in compile_kb(kb)}
    return Assessment(patient=p, instruments=results, knowledge_base_version=version)


def assess(
    patient: Patient | Mapping[str, Any],
    kb: KnowledgeBase | None = None,
    *,
    allow_unverified: bool = False,
    with_plan: bool = True,
) -> Assessment:
    """Assess one patient: every instrument, then the plan built on them.

    Raises ``mescc.errors.InputError`` (every bad field listed) when given raw data.
    """
    kb = kb or load_kb()
    a = assess_instruments(patient, kb)
    if not with_plan:
        return a
    from mescc.plan import build_plan

    plan = build_plan(a, kb, allow_unverified=allow_unverified)
    return Assessment(
        patient=a.patient,
        instruments=a.instruments,
        knowledge_base_version=a.knowledge_base_version,
        plan=plan,
        allow_unverified=allow_unverified,
    )


def assess_table(
    frame: pl.DataFrame,
    kb: KnowledgeBase | None = None,
    *,
    with_verification: bool = False,
    with_missing: bool = False,
) -> pl.DataFrame:
    """Evaluate every instrument over a typed table of patients (one row each).

    Returns ``<id>__status``, ``<id>__points`` and ``<id>__group`` columns for every instrument,
    row-aligned with ``frame`` (and ``<id>__verification`` with ``with_verification``,
    ``<id>__missing``, the list of missing inputs, with ``with_missing``).
    """
    kb = kb or load_kb()
    return evaluate_frame(compile_kb(kb), frame, with_verification, with_missing)
