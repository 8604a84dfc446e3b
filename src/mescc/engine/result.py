"""Results of evaluating an instrument for one patient (frozen values)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["computed", "not_computable", "not_applicable"]


@dataclass(frozen=True, slots=True)
class ItemScore:
    """One factor as scored: the category that applied and its points."""

    factor: str
    category: str
    points: int | None
    verification: str
    converted_from: str | None = None
    alternative_points: tuple[int, ...] | None = None
    conflict_note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "factor": self.factor,
            "category": self.category,
            "points": self.points,
            "verification": self.verification,
        }
        if self.converted_from:
            out["converted_from"] = self.converted_from
        if self.alternative_points:
            out["alternative_points"] = list(self.alternative_points)
            out["conflict_note"] = self.conflict_note
        return out


@dataclass(frozen=True, slots=True)
class Estimate:
    """The group's outcome in its source cohort (a proportion)."""

    outcome: str
    value: float
    cohort: str | None
    verification: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "value": self.value,
            "cohort": self.cohort,
            "verification": self.verification,
        }


@dataclass(frozen=True, slots=True)
class InstrumentResult:
    """An instrument evaluated for one patient, with its provenance.

    ``status`` is ``computed`` only when every item is known and scored; otherwise ``reason``
    says why and, for missing inputs, ``possible_points`` / ``possible_groups`` show whether the
    gap matters.
    """

    id: str
    name: str
    status: Status
    points: int | None
    group: str | None
    category: str | None
    estimate: Estimate | None
    items: tuple[ItemScore, ...]
    missing: tuple[str, ...]
    verification: str
    citation: str
    reason: str | None = None
    possible_points: tuple[int, int] | None = None
    possible_groups: tuple[str, ...] = ()
    conflict: str | None = None
    flags: tuple[str, ...] = ()
    prognosis: str | None = None
    kb_version: str = ""
    site: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The contract's JSON shape for one instrument (plus explanatory fields)."""
        return {
            "status": self.status,
            "points": self.points,
            "group": self.group,
            "category": self.category,
            "estimate": (
                {"outcome": self.estimate.outcome, "value": self.estimate.value}
                if self.estimate
                else None
            ),
            "items": [i.as_dict() for i in self.items],
            "missing": list(self.missing),
            "verification": self.verification,
            "citation": self.citation,
            "name": self.name,
            "reason": self.reason,
            "possible_points": list(self.possible_points) if self.possible_points else None,
            "possible_groups": list(self.possible_groups),
            "conflict": self.conflict,
            "flags": list(self.flags),
            "prognosis": self.prognosis,
            "estimate_source": self.estimate.as_dict() if self.estimate else None,
            "site": self.site,
        }
