"""A registry cohort: patient columns (the batch contract) plus observed outcome columns.

The patient columns are checked and typed exactly as ``mescc batch`` does
(``mescc.batch.check_columns`` / ``validate_frame``): a row with a bad patient value gets an
``input_error``, is never scored and is counted in the report. The outcome columns are checked
here: a bad outcome value (negative or non-numeric time, an event that is not a boolean) stops
the run with every problem listed, because a wrong unit or column would corrupt every
estimate; a *missing* outcome only excludes that row from the analyses that need it, and is
counted. Nothing is defaulted or guessed.

A cohort made by ``mescc synth`` carries a ``synthetic`` column (and parquet metadata); the
reports then say SYNTHETIC everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mescc.errors import InputError, Problem

if TYPE_CHECKING:
    import polars as pl
    from numpy.typing import NDArray

    from mescc.kb.loader import KnowledgeBase

TimeUnit = Literal["months", "weeks", "days", "years"]
#: Months per unit: a month is 365.25 / 12 days (the convention of the Rades papers' months
#: is not stated; this one is the usual registry conversion, stated in every report).
MONTHS_PER: dict[str, float] = {
    "months": 1.0,
    "weeks": 7 / (365.25 / 12),
    "days": 1 / (365.25 / 12),
    "years": 12.0,
}
SYNTHETIC_COLUMN = "synthetic"
SYNTHETIC_METADATA_KEY = "mescc.synthetic"
MAX_LISTED = 20


@dataclass(frozen=True)
class OutcomeColumns:
    """Which columns hold the observed outcomes, and the time unit."""

    time: str
    event: str
    ambulatory_after: str | None = None
    time_unit: TimeUnit = "months"


@dataclass(frozen=True)
class Cohort:
    """A checked cohort: typed patient columns, row errors and outcomes as arrays."""

    path: str
    rows: int
    patients: pl.DataFrame
    input_error: pl.Series
    time_months: NDArray[np.float64]  # nan where unknown
    event: NDArray[np.bool_]
    outcome_known: NDArray[np.bool_]  # time and event both present
    ambulatory_after: NDArray[np.float64] | None  # 1.0 / 0.0 / nan
    outcomes: OutcomeColumns
    synthetic: bool

    def subset(self, rows: NDArray[np.bool_], label: str) -> Cohort:
        """The rows where ``rows`` is true, as a cohort of its own (``label`` names the part)."""
        import polars as pl

        idx = np.flatnonzero(rows)
        series = pl.Series(idx)
        return Cohort(
            path=f"{self.path} ({label})",
            rows=int(idx.size),
            patients=self.patients[series],
            input_error=self.input_error[series],
            time_months=self.time_months[idx],
            event=self.event[idx],
            outcome_known=self.outcome_known[idx],
            ambulatory_after=None if self.ambulatory_after is None else self.ambulatory_after[idx],
            outcomes=self.outcomes,
            synthetic=self.synthetic,
        )

    @property
    def valid(self) -> NDArray[np.bool_]:
        """Rows without a patient input error."""
        return np.asarray(self.input_error.is_null().to_numpy(), dtype=bool)

    def summary(self) -> dict[str, Any]:
        valid = self.valid
        out: dict[str, Any] = {
            "file": self.path,
            "rows": self.rows,
            "rows_with_input_errors": int((~valid).sum()),
            "input_error_examples": self.input_error.drop_nulls().head(MAX_LISTED).to_list(),
            "rows_with_survival_outcome": int((valid & self.outcome_known).sum()),
            "rows_without_survival_outcome": int((valid & ~self.outcome_known).sum()),
            "time_column": self.outcomes.time,
            "event_column": self.outcomes.event,
            "time_unit": self.outcomes.time_unit,
            "months_per_unit": MONTHS_PER[self.outcomes.time_unit],
            "ambulatory_after_column": self.outcomes.ambulatory_after,
            "synthetic": self.synthetic,
        }
        if self.ambulatory_after is not None:
            known = valid & ~np.isnan(self.ambulatory_after)
            out["rows_with_ambulatory_outcome"] = int(known.sum())
            out["rows_without_ambulatory_outcome"] = int((valid & ~known).sum())
        return out


def _problem(field: str, value: Any, allowed: str, what: str) -> Problem:
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    return Problem(field, value, allowed, f"{field}: {shown} {what}; allowed: {allowed}")


def read_table(path: Path) -> pl.DataFrame:
    """Read a ``.csv`` (every column as text, as ``mescc batch``) or ``.parquet`` file."""
    import polars as pl

    if not path.exists():
        raise InputError(
            [_problem("COHORT", str(path), "an existing .csv or .parquet file", "does not exist")]
        )
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    if path.suffix == ".csv":
        return pl.read_csv(path, infer_schema=False)
    raise InputError(
        [_problem("COHORT", path.name, ".csv or .parquet", "has an unsupported extension")]
    )


def _is_synthetic(path: Path, frame: pl.DataFrame) -> bool:
    import polars as pl

    if SYNTHETIC_COLUMN in frame.columns:
        col = frame[SYNTHETIC_COLUMN].cast(pl.String).str.to_lowercase()
        if col.is_in(["true", "1"]).any():
            return True
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        meta = pq.read_schema(path).metadata or {}
        return bool(meta.get(SYNTHETIC_METADATA_KEY.encode(), b"").lower() == b"true")
    return False


def _column_exists(name: str, option: str, columns: Sequence[str]) -> Problem | None:
    if name in columns:
        return None
    from mescc.suggest import KEY_CUTOFF, closest

    close = closest(name, columns, cutoff=KEY_CUTOFF)
    hint = f' (did you mean "{close}"?)' if close else ""
    return Problem(
        option,
        name,
        "a column of COHORT",
        f'{option}: column "{name}" is not in COHORT{hint}; allowed: one of ' + ", ".join(columns),
    )


def _numbers(frame: pl.DataFrame, col: str) -> tuple[NDArray[np.float64], list[Problem]]:
    """A numeric column as floats (nan = missing) and a problem for every bad value."""
    import polars as pl

    s = frame[col]
    problems: list[Problem] = []
    if s.dtype == pl.Boolean:
        raise InputError([_problem(col, "true/false", "a number >= 0", "is not a number")])
    text = s.cast(pl.String)
    num = text.str.strip_chars().cast(pl.Float64, strict=False)
    present = text.is_not_null() & (text.str.strip_chars() != "")
    allowed = "a number >= 0"
    bad_parse = (present & num.is_null()).arg_true().to_list()
    for i in bad_parse[:MAX_LISTED]:
        problems.append(_problem(col, text[i], allowed, f"is not a number (row {i + 1})"))
    values = num.fill_null(float("nan")).to_numpy().astype(float)
    bad = np.flatnonzero(~np.isnan(values) & (~np.isfinite(values) | (values < 0)))
    for i in bad[:MAX_LISTED]:
        problems.append(_problem(col, _fmt(values[i]), allowed, f"is out of range (row {i + 1})"))
    extra = len(bad_parse) + bad.size - len(problems)
    if extra > 0:
        problems.append(Problem(col, None, allowed, f"{col}: ... and {extra} more bad values"))
    return values, problems


def _fmt(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def _booleans(frame: pl.DataFrame, col: str) -> tuple[NDArray[np.float64], list[Problem]]:
    """A boolean column as 1.0 / 0.0 (nan = missing): true/false/1/0, case-insensitive."""
    import polars as pl

    s = frame[col]
    allowed = "true, false, 1 or 0"
    if s.dtype == pl.Boolean:
        return s.cast(pl.Float64).fill_null(float("nan")).to_numpy().astype(float), []
    text = s.cast(pl.String).str.strip_chars().str.to_lowercase()
    text = text.str.replace(r"\.0$", "")
    mapping = {"true": 1.0, "1": 1.0, "false": 0.0, "0": 0.0}
    values = text.replace_strict(mapping, default=None, return_dtype=pl.Float64)
    present = text.is_not_null() & (text != "")
    bad = (present & values.is_null()).arg_true().to_list()
    raw = s.cast(pl.String)
    problems = [
        _problem(col, raw[i], allowed, f"is not a boolean (row {i + 1})") for i in bad[:MAX_LISTED]
    ]
    if len(bad) > MAX_LISTED:
        problems.append(
            Problem(col, None, allowed, f"{col}: ... and {len(bad) - MAX_LISTED} more bad values")
        )
    return values.fill_null(float("nan")).to_numpy().astype(float), problems


def read_cohort(path: Path, outcomes: OutcomeColumns, ignore: Sequence[str] = ()) -> Cohort:
    """Read and check a cohort file; raise ``InputError`` listing every column problem.

    Columns: the batch contract's patient keys, the named outcome columns, ``synthetic`` and
    the ``ignore`` list (e.g. registry dates); any other column is refused (a typo must not
    silently drop a finding).
    """
    from mescc.batch import check_columns, row_errors, validate_frame

    raw = read_table(path)
    named = [
        ("--time", outcomes.time),
        ("--event", outcomes.event),
        *([("--ambulatory-after", outcomes.ambulatory_after)] if outcomes.ambulatory_after else []),
    ]
    problems = [p for opt, col in named if (p := _column_exists(col, opt, raw.columns))]
    problems += [
        p for col in ignore if (p := _column_exists(col, "--ignore", raw.columns)) is not None
    ]
    if problems:
        raise InputError(problems)
    outcome_cols = {col for _, col in named}
    patient_cols = [
        c
        for c in raw.columns
        if c not in outcome_cols and c not in ignore and c != SYNTHETIC_COLUMN
    ]
    if not patient_cols:
        raise InputError(
            [
                _problem(
                    "COHORT",
                    path.name,
                    "the patient keys of the batch contract",
                    "has no patient columns",
                )
            ]
        )
    try:
        check_columns(patient_cols)
    except InputError as exc:
        hint = Problem(
            "COHORT",
            None,
            "patient keys, the outcome columns named by --time/--event/--ambulatory-after, "
            "and columns left out with --ignore",
            "COHORT: a column that is not a patient key must be named as an outcome column "
            "or left out with --ignore COL; allowed: patient keys, --time/--event/"
            "--ambulatory-after columns, --ignore columns",
        )
        raise InputError([*exc.problems, hint]) from None
    time_raw, p1 = _numbers(raw, outcomes.time)
    event_raw, p2 = _booleans(raw, outcomes.event)
    amb = None
    p3: list[Problem] = []
    if outcomes.ambulatory_after:
        amb, p3 = _booleans(raw, outcomes.ambulatory_after)
    if p1 or p2 or p3:
        raise InputError(p1 + p2 + p3)
    typed, input_error = validate_frame(raw.select(patient_cols))
    input_error = row_errors(raw, input_error)  # the sentence shape of mescc batch
    known = ~np.isnan(time_raw) & ~np.isnan(event_raw)
    return Cohort(
        path=str(path),
        rows=raw.height,
        patients=typed,
        input_error=input_error,
        time_months=time_raw * MONTHS_PER[outcomes.time_unit],
        event=np.nan_to_num(event_raw, nan=0.0) > 0.5,
        outcome_known=known,
        ambulatory_after=amb,
        outcomes=outcomes,
        synthetic=_is_synthetic(path, raw),
    )


def score_cohort(cohort: Cohort, kb: KnowledgeBase) -> pl.DataFrame:
    """Every instrument over the cohort through the table driver (``assess_table``): status,
    points, group and verification per row; rows with input errors are left unscored."""
    import polars as pl

    from mescc.assessment import assess_table

    results = assess_table(cohort.patients, kb, with_verification=True)
    bad = cohort.input_error.is_not_null()
    if bad.any():
        results = results.with_columns(
            [pl.when(pl.lit(bad)).then(None).otherwise(pl.col(c)).alias(c) for c in results.columns]
        )
    return results
