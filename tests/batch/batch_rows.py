"""Helpers of the batch tests: a patient as a batch row, and raw CSV cells as a patient."""

from __future__ import annotations

from typing import Any

import polars as pl

from mescc.batch.columns import (
    BATCH_SPECS,
    COURSE_COUNT,
    PREFERENCE_PREFIX,
    SCALAR_SPECS,
    course_column,
)
from mescc.patient import Patient

DTYPES = {"int": pl.Int64, "number": pl.Float64, "bool": pl.Boolean}


def batch_row(patient: Patient) -> dict[str, Any]:
    """Every batch column of one patient (null = unknown)."""
    row: dict[str, Any] = dict.fromkeys(BATCH_SPECS)
    row.update(patient.to_row())
    courses = patient.prior_radiotherapy
    if courses is not None:
        row[COURSE_COUNT] = len(courses)
        for n, course in enumerate(courses, start=1):
            for key, value in course.model_dump().items():
                row[course_column(n, key)] = value
    if patient.preferences is not None:
        for key, value in patient.preferences.model_dump().items():
            row[f"{PREFERENCE_PREFIX}{key}"] = value
    return row


def batch_frame(patients: list[Patient]) -> pl.DataFrame:
    """A typed batch table (what a registry's parquet file would hold)."""
    schema = {c: DTYPES.get(s.kind, pl.String) for c, s in BATCH_SPECS.items()}
    return pl.DataFrame([batch_row(p) for p in patients], schema=schema, orient="row")


def strict_parse(column: str, text: str | None) -> Any:
    """A CSV cell as the one boolean rule and plain numbers read it (None = missing).

    Raises ValueError for a cell that is neither.
    """
    if text is None or text == "":
        return None
    kind = BATCH_SPECS[column].kind
    if kind == "bool":
        return {"true": True, "false": False}[text]
    if kind == "int":
        value = float(text)
        if not value.is_integer() or abs(value) >= 2**63:
            raise ValueError(text)
        return int(value)
    if kind == "number":
        return float(text)
    return text


def is_scalar(column: str) -> bool:
    return column in SCALAR_SPECS
