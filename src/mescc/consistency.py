"""Contradictory findings: pairs of recorded values that cannot both be true.

A hard contradiction is an input error (exit 2 on the CLI, 422 in the API, a flagged row in
batch) naming both fields, because scoring it would silently pick one of the two findings (e.g.
``other_bone_metastases: false`` with four extraspinal bone metastases makes Bauer and Tomita
score "solitary"). Each rule is data: the conditions under which the two values clash, the
reason in words and where the definition comes from. Soft inconsistencies (values further apart
than a published mapping allows, such as ECOG and KPS) are not errors; the plan states them as
warnings (:func:`mescc.plan.consistency_warnings`).

Clinical trap guarded: a contradiction is never resolved by choosing one of the values; the
clinician corrects the record.

Sources of the definitions: the contract's key definitions (``shared/contract.md``); Frankel
grades (spine-instruments §15d, VERIFIED-S): A = no motor or sensory function, B = sensory only,
C = motor useless, D = motor useful (may walk), E = normal motor and sensory function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mescc.errors import Problem
from mescc.fields import describe_value

if TYPE_CHECKING:
    import polars as pl

Op = Literal["in", "gt", "ge", "gt_field", "gt_years", "known"]


@dataclass(frozen=True, slots=True)
class Condition:
    """One side of a contradiction: ``key`` is in ``values``, > or >= ``value``, greater than
    another key (or than 12 times another key's years), or simply recorded (``known``)."""

    key: str
    op: Op
    value: Any

    def holds(self, row: Mapping[str, Any]) -> bool:
        v = row.get(self.key)
        if v is None:
            return False
        if self.op == "known":
            return True
        if self.op == "in":
            return bool(v in self.value)
        if self.op == "gt":
            return bool(v > self.value)
        if self.op == "ge":
            return bool(v >= self.value)
        other = row.get(str(self.value))
        if other is None:
            return False
        if self.op == "gt_field":
            return bool(v > other)
        # gt_years: a number of months greater than another key's number of years
        return bool(v > other * 12)

    def expr(self) -> pl.Expr:
        import polars as pl

        col = pl.col(self.key)
        if self.op == "known":
            return col.is_not_null()
        if self.op == "in":
            return col.is_in(list(self.value))
        if self.op == "gt":
            return col > pl.lit(self.value)
        if self.op == "ge":
            return col >= pl.lit(self.value)
        if self.op == "gt_field":
            return col > pl.col(str(self.value))
        return col > pl.col(str(self.value)) * 12


@dataclass(frozen=True, slots=True)
class Contradiction:
    """Two findings that cannot both hold; ``reason`` says why, ``basis`` where from."""

    id: str
    first: Condition
    second: Condition
    reason: str
    basis: str

    @property
    def keys(self) -> tuple[str, ...]:
        keys = [self.first.key, self.second.key]
        for c in (self.first, self.second):
            if c.op in ("gt_field", "gt_years"):
                keys.append(str(c.value))
        return tuple(dict.fromkeys(keys))

    def holds(self, row: Mapping[str, Any]) -> bool:
        return self.first.holds(row) and self.second.holds(row)

    def problem(self, row: Mapping[str, Any]) -> Problem:
        a, b = self.first.key, self.second.key
        field = f"{a} + {b}"
        value = {a: row.get(a), b: row.get(b)}
        allowed = f"values of {a} and {b} that can both be true"
        return Problem(
            field=field,
            value=value,
            allowed=allowed,
            message=(
                f"{a}: {describe_value(row.get(a))} contradicts {b}: "
                f"{describe_value(row.get(b))} ({self.reason}); allowed: correct one of "
                f"{a} and {b}"
            ),
        )


def _in(key: str, *values: Any) -> Condition:
    return Condition(key, "in", tuple(values))


_FRANKEL = "Frankel grades, spine-instruments §15d (VERIFIED-S)"
_CONTRACT = "definitions of the patient keys (shared/contract.md)"

#: Every hard contradiction, checked on every patient in every input path.
CONTRADICTIONS: tuple[Contradiction, ...] = (
    Contradiction("hepatic_without_visceral", _in("hepatic_metastases", True),
                  _in("visceral_metastases", False),
                  "liver metastases are visceral metastases", _CONTRACT),
    Contradiction("visceral_without_extraskeletal", _in("visceral_metastases", True),
                  _in("extraskeletal_metastases", False),
                  "visceral metastases lie outside the skeleton", _CONTRACT),
    Contradiction("hepatic_without_extraskeletal", _in("hepatic_metastases", True),
                  _in("extraskeletal_metastases", False),
                  "liver metastases lie outside the skeleton", _CONTRACT),
    Contradiction("extraspinal_bone_without_other_bone",
                  Condition("extraspinal_bone_metastases", "ge", 1),
                  _in("other_bone_metastases", False),
                  "a bone metastasis outside the spine is a bone metastasis besides the MESCC "
                  "site", _CONTRACT),
    Contradiction("vertebral_bodies_without_other_bone",
                  Condition("vertebral_body_metastases", "gt_field", "involved_vertebrae"),
                  _in("other_bone_metastases", False),
                  "more vertebral bodies with metastases than vertebrae involved by the "
                  "compression means bone metastases besides the MESCC site", _CONTRACT),
    Contradiction("paraplegic_with_useful_motor_function", _in("ambulatory_status", "paraplegic"),
                  _in("frankel_grade", "D", "E"),
                  "Frankel D means useful motor function and E normal function", _FRANKEL),
    Contradiction("ambulatory_without_useful_motor_function",
                  _in("ambulatory_status", "ambulatory_without_aid", "ambulatory_with_aid"),
                  _in("frankel_grade", "A", "B", "C"),
                  "Frankel A-C means no useful motor function, so the patient cannot walk",
                  _FRANKEL),
    Contradiction("no_neurological_signs_but_paraplegic", _in("neurological_signs", False),
                  _in("ambulatory_status", "paraplegic"),
                  "paraplegia is a neurological sign", _CONTRACT),
    Contradiction("no_neurological_signs_but_frankel_deficit", _in("neurological_signs", False),
                  _in("frankel_grade", "A", "B", "C", "D"),
                  "Frankel A-D records a motor or sensory deficit", _FRANKEL),
    Contradiction("no_neurological_signs_but_sensory_deficit", _in("neurological_signs", False),
                  _in("sensory_deficits", True),
                  "a sensory deficit is a neurological sign", _CONTRACT),
    Contradiction("no_neurological_signs_but_sphincter_dysfunction",
                  _in("neurological_signs", False), _in("sphincter_dysfunction", True),
                  "sphincter dysfunction is a neurological sign", _CONTRACT),
    Contradiction("frankel_a_without_sensory_deficit", _in("frankel_grade", "A"),
                  _in("sensory_deficits", False),
                  "Frankel A means no sensory function below the lesion", _FRANKEL),
    Contradiction("frankel_e_with_sensory_deficit", _in("frankel_grade", "E"),
                  _in("sensory_deficits", True),
                  "Frankel E means normal sensory function", _FRANKEL),
    Contradiction("paraplegia_hours_but_not_paraplegic",
                  Condition("paraplegia_hours", "gt", 0),
                  _in("ambulatory_status", "ambulatory_without_aid", "ambulatory_with_aid",
                      "not_ambulatory"),
                  "a duration of complete paraplegia is recorded for a patient not recorded as "
                  "paraplegic", _CONTRACT),
    Contradiction("diagnosis_before_birth",
                  Condition("months_from_cancer_diagnosis", "gt_years", "age_years"),
                  Condition("age_years", "known", None),
                  "the interval from diagnosis is longer than the patient's age", _CONTRACT),
)  # fmt: skip


def contradictions(row: Mapping[str, Any]) -> list[Problem]:
    """Every hard contradiction of a flat patient row (``sins`` flattened), as problems."""
    return [c.problem(row) for c in CONTRADICTIONS if c.holds(row)]


def contradiction_flag(columns: set[str]) -> pl.Expr | None:
    """A polars expression true on rows with a hard contradiction (None if no rule applies)."""
    import polars as pl

    parts = [
        (c.first.expr() & c.second.expr()).fill_null(False)
        for c in CONTRADICTIONS
        if set(c.keys) <= columns
    ]
    return pl.any_horizontal(parts) if parts else None
