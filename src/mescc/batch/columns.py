"""The batch table's columns: the patient contract flattened to one row per patient.

Scalar patient keys are columns of the same name (``sins`` flattened as ``sins_location`` ...).
The nested keys become numbered columns derived from the field table, so that a key added to a
prior course (``fields.COURSE_FIELDS``) or to the preferences becomes a batch column with no
change here:

* ``prior_rt_<n>_<course key>`` for courses ``n = 1 .. MAX_COURSES`` (e.g.
  ``prior_rt_1_fractions``, ``prior_rt_1_dose_per_fraction_gy``, ``prior_rt_1_months_before``,
  ``prior_rt_1_technique``);
* ``prior_rt_courses``: the number of earlier courses; ``0`` records "no earlier radiotherapy"
  (an empty ``prior_radiotherapy`` list), which a row without any course column cannot say
  (there, earlier radiotherapy is unknown, as a missing ``prior_radiotherapy`` key is);
* ``preference_<key>`` (``preference_priority``, ``preference_surgery_acceptable``).

Every column has a ``FieldSpec`` read from ``mescc.fields`` (ranges, allowed values), renamed to
the column, so batch refuses exactly what ``mescc assess`` refuses, in the same sentence shape.

Clinical trap guarded: a typo in a column name must not silently drop a finding: unknown
columns are refused, with a suggestion.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from mescc import fields
from mescc.errors import InputError, Problem
from mescc.fields import COURSE_FIELDS, FIELDS, PREFERENCE_FIELDS, FieldSpec, unknown_key_problem

#: Course columns are numbered 1..MAX_COURSES: the field table's cap on prior courses where it
#: defines one, else 3 (a third course is the furthest the curated re-irradiation evidence
#: goes: Nieder et al., repeat reirradiation of the spinal cord, radiotherapy-evidence.md).
MAX_COURSES: int = int(getattr(fields, "MAX_PRIOR_COURSES", 3))
COURSE_PREFIX = "prior_rt_"
COURSE_COUNT = "prior_rt_courses"
PREFERENCE_PREFIX = "preference_"
#: Output columns an input may carry (a re-scored output): dropped on reading, recomputed.
RESULT_NAMES = (
    "input_error",
    "recommended_regimen",
    "prognosis_class",
    "prognosis_ranking_class",
    "prognosis_deciding_instruments",
    "decisive_unknowns_count",
    "knowledge_base_version",
)


def course_column(n: int, key: str) -> str:
    """The column of course ``n`` (1-based) and course key ``key``."""
    return f"{COURSE_PREFIX}{n}_{key}"


def _renamed(spec: FieldSpec, column: str, description: str) -> FieldSpec:
    return dataclasses.replace(spec, key=column, description=description)


def _course_specs() -> dict[str, FieldSpec]:
    out: dict[str, FieldSpec] = {}
    for n in range(1, MAX_COURSES + 1):
        for spec in COURSE_FIELDS:
            col = course_column(n, spec.key)
            out[col] = _renamed(spec, col, f"Prior radiotherapy course {n}: {spec.description}")
    return out


#: Every batch input column and its spec (key = the column name, for the messages).
SCALAR_SPECS: dict[str, FieldSpec] = {f.key: f for f in FIELDS}
COURSE_SPECS: dict[str, FieldSpec] = _course_specs()
COUNT_SPEC = FieldSpec(
    COURSE_COUNT,
    "int",
    "Number of earlier radiotherapy courses to the same region (0 = none)",
    0,
    MAX_COURSES,
)
PREFERENCE_SPECS: dict[str, FieldSpec] = {
    f"{PREFERENCE_PREFIX}{s.key}": _renamed(
        s, f"{PREFERENCE_PREFIX}{s.key}", f"Preference: {s.description}"
    )
    for s in PREFERENCE_FIELDS
}
BATCH_SPECS: dict[str, FieldSpec] = {
    **SCALAR_SPECS,
    **COURSE_SPECS,
    COURSE_COUNT: COUNT_SPEC,
    **PREFERENCE_SPECS,
}
BATCH_COLUMNS: tuple[str, ...] = tuple(BATCH_SPECS)
#: Required keys of a course (a course without them cannot be checked; never defaulted).
REQUIRED_COURSE_KEYS: tuple[str, ...] = ("fractions", "dose_per_fraction_gy")
NOT_BATCH = ("prior_radiotherapy", "preferences", "sins")


def check_columns(columns: Sequence[str]) -> None:
    """Refuse unknown or repeated columns (a typo must not silently drop a finding)."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, col in enumerate(columns):
        if col in seen:
            problems.append(
                Problem(
                    col,
                    None,
                    "each column once",
                    f"{col}: column appears twice (columns {seen[col] + 1} and {i + 1}); "
                    "allowed: each column once",
                )
            )
            continue
        seen[col] = i
        if col in NOT_BATCH:
            problems.append(
                Problem(
                    col,
                    None,
                    "scalar patient keys; sins flattened as sins_<part>",
                    f"{col}: not a batch column; allowed: the scalar patient keys "
                    "(sins flattened as sins_location, sins_pain, ...; prior courses as "
                    f"{course_column(1, 'fractions')}, ...; preferences as "
                    f"{next(iter(PREFERENCE_SPECS))}, ...)",
                )
            )
        elif col not in BATCH_SPECS and col not in RESULT_NAMES:
            problems.append(unknown_key_problem(col, list(BATCH_COLUMNS)))
    if problems:
        raise InputError(problems)


def patient_data(row: Mapping[str, Any]) -> dict[str, Any]:
    """The patient mapping (``Patient.from_data`` input) of one validated, typed batch row.

    Null is unknown: the key is left out. Courses are listed in column order, skipping course
    numbers with no value; ``prior_rt_courses: 0`` gives an empty list.
    """
    data: dict[str, Any] = {}
    sins: dict[str, Any] = {}
    for key in SCALAR_SPECS:
        value = row.get(key)
        if value is None:
            continue
        if key.startswith("sins_"):
            sins[key.removeprefix("sins_")] = value
        else:
            data[key] = value
    if sins:
        data["sins"] = sins
    courses = []
    for n in range(1, MAX_COURSES + 1):
        course = {
            s.key: row[course_column(n, s.key)]
            for s in COURSE_FIELDS
            if row.get(course_column(n, s.key)) is not None
        }
        if course:
            courses.append(course)
    if courses or row.get(COURSE_COUNT) == 0:
        data["prior_radiotherapy"] = courses
    prefs = {
        s.key: row[f"{PREFERENCE_PREFIX}{s.key}"]
        for s in PREFERENCE_FIELDS
        if row.get(f"{PREFERENCE_PREFIX}{s.key}") is not None
    }
    if prefs:
        data["preferences"] = prefs
    return data
