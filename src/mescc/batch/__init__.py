"""Batch scoring: CSV or parquet in, the same table with every instrument's results and the plan.

One patient a row; the columns are the patient keys (:mod:`mescc.batch.columns`: ``sins``
flattened as ``sins_location`` ..., prior courses as ``prior_rt_<n>_<key>``, preferences as
``preference_<key>``). Validation is vectorised over the same field table and sentence shape as
the single-patient path (:mod:`mescc.batch.validate`). A bad row is never silently scored: it
gets an ``input_error`` naming each bad field and value, no scores, and is counted on stderr. The
input is processed in chunks, so memory stays bounded on registry-sized files.

The output keeps every input column and adds, per instrument, ``<id>__status``,
``<id>__points``, ``<id>__group`` and ``<id>__missing``, then the plan's columns
(``recommended_regimen``, ``prognosis_class``, ``prognosis_ranking_class``,
``prognosis_deciding_instruments``; ``decisive_unknowns_count`` on request),
``knowledge_base_version`` and ``input_error``. Every result equals ``mescc assess`` of the same
patient (a property test checks every column that has an assess counterpart).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mescc.batch.columns import (
    BATCH_SPECS,
    COURSE_COUNT,
    COURSE_SPECS,
    PREFERENCE_PREFIX,
    RESULT_NAMES,
    SCALAR_SPECS,
    check_columns,
    patient_data,
)
from mescc.batch.read import (
    check_input_path,
    check_output_path,
    count_rows,
    empty_frame,
    input_columns,
    read_chunks,
)
from mescc.batch.validate import validate_frame
from mescc.errors import InputError, Problem
from mescc.text_safety import neutralise

if TYPE_CHECKING:
    import polars as pl

    from mescc.kb.loader import KnowledgeBase

__all__ = [
    "BatchSummary",
    "check_columns",
    "count_rows",
    "run_batch",
    "score_frame",
    "validate_frame",
]

CHUNK_ROWS = 250_000
DECISIVE = "decisive_unknowns_count"
KB_VERSION = "knowledge_base_version"
#: Columns of a row the regimen ranking reads besides the instrument results.
RANKING_COLUMNS = (*COURSE_SPECS, COURSE_COUNT, "spinal_level", f"{PREFERENCE_PREFIX}priority")


@dataclass
class BatchSummary:
    """What a batch run did: rows read, rows scored, bad rows (first few listed)."""

    rows: int = 0
    scored: int = 0
    bad: int = 0
    examples: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{self.rows} rows read, {self.scored} scored, {self.bad} with input errors"]
        out += self.examples
        if self.bad > len(self.examples):
            out.append(f"... and {self.bad - len(self.examples)} more (see input_error column)")
        return out


def _ranking_patient(row: Mapping[str, Any]) -> Any:
    """The part of the patient the ranking reads, from the ranking columns of a row.

    A row the validator flagged (e.g. a course without its dose) has no patient part: its
    results are nulled anyway.
    """
    from mescc.patient import Patient

    data = patient_data(row)
    if not data:
        return None
    try:
        return Patient.from_data(data)
    except InputError:
        return None


def row_errors(raw: pl.DataFrame, input_error: pl.Series, offset: int = 0) -> pl.Series:
    """``input_error`` in the sentence shape of every table path: ``row N (id X): ...`` (N
    counts data rows from 1 across the file; ``offset`` is the chunk's first row)."""
    import polars as pl

    if not input_error.is_not_null().any():
        return input_error
    ids = (
        pl.concat_str([pl.lit(" (id "), pl.col("id").cast(pl.String), pl.lit(")")])
        if "id" in raw.columns
        else pl.lit("")
    )
    prefix = pl.concat_str(
        [
            pl.lit("row "),
            (pl.int_range(pl.len()) + offset + 1).cast(pl.String),
            ids.fill_null(""),
            pl.lit(": "),
        ]
    )
    prefixed = raw.select(
        pl.when(pl.lit(input_error).is_not_null())
        .then(pl.concat_str([prefix, pl.lit(input_error)]))
        .alias("input_error")
    )["input_error"]
    # the id is quoted as given: hidden characters are shown as [U+XXXX], never written out
    return prefixed.map_elements(
        lambda m: neutralise(m, keep_layout=False), return_dtype=pl.String
    ).alias("input_error")


def score_frame(
    raw: pl.DataFrame,
    kb: KnowledgeBase,
    offset: int = 0,
    *,
    typed_inputs: bool = True,
    decisive_unknowns: bool = False,
) -> pl.DataFrame:
    """Validate, score and plan one chunk: input columns + results + plan + ``input_error``.

    ``input_error`` reads ``row N (id X): <field>: <value> ...; allowed: ...`` (N counts data
    rows from 1 across the whole file; ``offset`` is the chunk's first row). With
    ``typed_inputs`` the input columns are returned typed (a bad value null: it is quoted in
    ``input_error``), else as given.
    """
    import polars as pl

    from mescc.assessment import assess_table
    from mescc.plan.table import plan_columns_for_table

    raw = raw.drop([c for c in RESULT_NAMES if c in raw.columns])
    typed, input_error = validate_frame(raw)
    input_error = row_errors(raw, input_error, offset)
    bad = input_error.is_not_null()
    patients = typed.select([c for c in typed.columns if c in SCALAR_SPECS])
    if not patients.columns:  # only course/preference columns: keep the row count
        patients = pl.DataFrame({"id": pl.repeat(None, raw.height, dtype=pl.String, eager=True)})
    results = assess_table(patients, kb, with_verification=True, with_missing=True)
    plan = plan_columns_for_table(
        typed.hstack(results),
        kb,
        patient_columns=[c for c in RANKING_COLUMNS if c in typed.columns],
        patient_part=_ranking_patient,
    )
    results = results.select(
        [
            c
            for c in results.columns
            if not c.endswith(("__verification", "__possible_lo", "__possible_hi"))
        ]
    )
    added = results.hstack(plan)
    if decisive_unknowns:
        added = added.hstack([_decisive_counts(typed, bad, kb)])
    if bad.any():
        added = added.with_columns(
            [pl.when(pl.lit(bad)).then(None).otherwise(pl.col(c)).alias(c) for c in added.columns]
        )
    added = added.with_columns(pl.lit(kb.version, dtype=pl.Enum([kb.version])).alias(KB_VERSION))
    inputs = typed if typed_inputs else raw.select([c for c in raw.columns if c in BATCH_SPECS])
    return inputs.hstack(added).with_columns(input_error.alias("input_error"))


def _decisive_counts(typed: pl.DataFrame, bad: pl.Series, kb: KnowledgeBase) -> pl.Series:
    """``decisive_unknowns_count``: the plan's missing inputs that could change the regimen or
    surgery, from ``mescc.assess`` itself, once per distinct valid patient row."""
    import polars as pl

    from mescc.assessment import assess

    counts: dict[tuple[Any, ...], int] = {}
    out: list[int | None] = []
    for is_bad, row in zip(bad, typed.iter_rows(named=True), strict=True):
        if is_bad:
            out.append(None)
            continue
        key = tuple(v for k, v in row.items() if k != "id")
        if key not in counts:
            plan = assess(patient_data(row), kb).plan
            assert plan is not None
            counts[key] = sum(1 for d in plan.decisive_unknowns if d.could_change)
        out.append(counts[key])
    return pl.Series(DECISIVE, out, dtype=pl.Int32)


def _write_csv(frame: pl.DataFrame, path: Path, header: bool) -> None:
    from mescc.batch.output import as_csv_frame

    with path.open("ab" if not header else "wb") as fh:
        as_csv_frame(frame).write_csv(fh, include_header=header)


def run_batch(
    input_path: Path,
    output_path: Path,
    kb: KnowledgeBase,
    *,
    strict: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
    decisive_unknowns: bool = False,
) -> BatchSummary:
    """Score every row of ``input_path`` into ``output_path`` (``.csv`` or ``.parquet``).

    Unreadable inputs, unknown or repeated columns and unusable output paths raise
    ``InputError`` before anything is written. With ``strict`` any bad row fails the run with
    ``InputError`` and no output is written. The output is written to a temporary file beside
    it and renamed at the end, so a failed run never leaves a partial file.
    """
    import polars as pl

    check_input_path(input_path)
    check_output_path(output_path, input_path)
    check_columns(input_columns(input_path))
    to_csv = output_path.suffix == ".csv"
    summary = BatchSummary()
    tmp = output_path.with_name(output_path.name + ".partial")
    parts: list[pl.DataFrame] = []
    offset = 0

    def score(chunk: pl.DataFrame, at: int) -> pl.DataFrame:
        return score_frame(
            chunk, kb, at, typed_inputs=not to_csv, decisive_unknowns=decisive_unknowns
        )

    try:
        for chunk in _chunks(input_path, chunk_rows):
            out = score(chunk, offset)
            errs = out["input_error"]
            n_bad = int(errs.is_not_null().sum())
            if n_bad:
                room = max(0, 20 - len(summary.examples))
                summary.examples += errs.drop_nulls().head(room).to_list()
                if strict:
                    raise InputError(
                        [Problem("row", None, "valid rows", line) for line in summary.examples]
                    )
            summary.rows += out.height
            summary.bad += n_bad
            summary.scored += out.height - n_bad
            if to_csv:
                _write_csv(out, tmp, header=offset == 0)
            else:
                parts.append(out)
            offset += out.height
            if progress is not None:
                progress(out.height)
        if offset == 0:  # header only: a header-only output with every output column
            empty = score(empty_frame(input_path), 0)
            if to_csv:
                _write_csv(empty, tmp, header=True)
            else:
                parts.append(empty)
        if not to_csv:
            # one polars write: several times faster than pyarrow's writer per chunk
            pl.concat(parts, how="vertical", rechunk=False).write_parquet(tmp, compression="lz4")
            parts.clear()
        tmp.replace(output_path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return summary


def _chunks(path: Path, chunk_rows: int) -> Iterator[pl.DataFrame]:
    yield from read_chunks(path, chunk_rows)
