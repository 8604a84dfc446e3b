"""Hypothesis strategies for patients, shared by the property tests.

Every contract key is missing about a third of the time, else drawn from its allowed domain
(numbers near the published cut-offs). ``plan_patients`` adds what only the plan reads:
preferences and earlier radiotherapy courses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from mescc.fields import FIELDS, FieldSpec
from mescc.patient import Patient

# Numbers around the published cut-offs (Rades 7 / 14 / 15, Chow KPS 60, TEACHH age 60, ...).
NUMBER_EDGES = (0, 0.5, 1, 6.9, 7, 7.5, 8, 13.5, 14, 14.5, 15, 15.5, 16, 24, 100, 1000)
INT_EDGES = (0, 1, 2, 3, 4, 5, 10)


def value_strategy(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """Allowed values of one key (its whole domain when finite)."""
    domain = spec.domain()
    if domain is not None:
        return st.sampled_from(domain)
    if spec.kind == "text":  # visible characters only (hidden ones are refused at input)
        visible = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))
        return st.text(visible, min_size=1, max_size=8)
    lo = spec.minimum or 0
    if spec.kind == "int":
        edges = [v for v in INT_EDGES if v >= lo]
        return st.sampled_from(edges) | st.integers(min_value=int(lo), max_value=60)
    edges_f = [float(v) for v in NUMBER_EDGES if v >= lo]
    return st.sampled_from(edges_f) | st.floats(
        min_value=lo, max_value=400, allow_nan=False, allow_infinity=False
    )


#: Every key: missing (None) about a third of the time, else an allowed value.
KEY_STRATEGIES = {f.key: st.none() | value_strategy(f) | value_strategy(f) for f in FIELDS}
#: Every key present (complete records; contradictions are repaired by drawing again).
COMPLETE_STRATEGIES = {f.key: value_strategy(f) for f in FIELDS}


def repair_contradictions(
    row: dict[str, Any], choose: Callable[[str], Any] | None = None
) -> dict[str, Any]:
    """Make a drawn row consistent; return it.

    The patient model refuses contradictory findings (``mescc.consistency``). For each hard
    contradiction the second key is drawn again with ``choose(key)`` (a value of its domain)
    until no rule holds, or made unknown when ``choose`` is not given (or after a few tries),
    so every combination that can be true is still generated.
    """
    from mescc.consistency import CONTRADICTIONS

    for attempt in range(60):
        clash = next((c for c in CONTRADICTIONS if c.holds(row)), None)
        if clash is None:
            return row
        key = clash.second.key if attempt % 2 == 0 else clash.first.key
        row[key] = choose(key) if choose is not None and attempt < 50 else None
    for c in CONTRADICTIONS:
        if c.holds(row):
            row[c.second.key] = None
    return row


@st.composite
def patients(draw: st.DrawFn, complete: bool = False) -> Patient:
    strategies = COMPLETE_STRATEGIES if complete else KEY_STRATEGIES
    row = {key: draw(strategy) for key, strategy in strategies.items()}
    repair_contradictions(row, (lambda k: draw(COMPLETE_STRATEGIES[k])) if complete else None)
    if row["visceral_metastases"] is False:  # refused by the patient model (and meaningless)
        row["visceral_metastases_resectable"] = None
        row["visceral_metastases_treatable"] = None
    data: dict[str, Any] = {}
    sins: dict[str, Any] = {}
    for key, value in row.items():
        if value is None:
            continue
        if key.startswith("sins_"):
            sins[key.removeprefix("sins_")] = value
        else:
            data[key] = value
    if sins:
        data["sins"] = sins
    return Patient.from_data(data)


@st.composite
def plan_patients(draw: st.DrawFn) -> Patient:
    """A patient of ``patients`` with, sometimes, preferences and earlier radiotherapy."""
    data = draw(patients()).model_dump(exclude_none=True)
    if draw(st.booleans()):
        data["preferences"] = {
            "priority": draw(
                st.sampled_from([None, "balanced", "fewest_visits", "durable_local_control"])
            ),
            "surgery_acceptable": draw(st.sampled_from([None, True, False])),
        }
    courses = draw(
        st.none()
        | st.lists(
            st.fixed_dictionaries(
                {
                    "fractions": st.sampled_from([1, 5, 10, 20]),
                    "dose_per_fraction_gy": st.sampled_from([2.0, 3.0, 4.0, 8.0]),
                },
                optional={"months_before": st.sampled_from([1.0, 5.0, 6.0, 12.0, 30.0])},
            ),
            max_size=2,
        )
    )
    if courses is not None:
        data["prior_radiotherapy"] = courses
    return Patient.from_data(data)
