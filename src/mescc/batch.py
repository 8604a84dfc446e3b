"""Batch scoring: CSV or parquet in, the same table with every instrument's results out.

One patient a row, columns named as the patient keys (``sins`` flattened as ``sins_location``
...). Validation is vectorised and uses the same field table (``mescc.fields``) and the same
sentence shape as the single-patient path. A bad row is never silently scored: it gets an
``input_error`` text naming each bad field and value, no scores, and is counted on stderr.
The input is processed in chunks, so memory stays bounded on registry-sized files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mescc.consistency import contradiction_flag, contradictions
from mescc.errors import InputError, Problem
from mescc.fields import FIELD_BY_KEY, FIELDS, FieldSpec, unknown_key_problem

if TYPE_CHECKING:
    import polars as pl

    from mescc.kb.loader import KnowledgeBase

BATCH_KEYS: tuple[str, ...] = tuple(f.key for f in FIELDS)
NOT_BATCH = ("prior_radiotherapy", "preferences", "sins")
CHUNK_ROWS = 250_000


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


def check_columns(columns: list[str]) -> None:
    """Refuse unknown columns (a typo must not silently drop a finding)."""
    problems: list[Problem] = []
    for col in columns:
        if col in NOT_BATCH:
            problems.append(
                Problem(
                    col,
                    None,
                    "scalar patient keys; sins flattened as sins_<part>",
                    f"{col}: not a batch column; allowed: the scalar patient keys "
                    "(sins flattened as sins_location, sins_pain, ...)",
                )
            )
        elif col not in FIELD_BY_KEY and col not in ("input_error", "recommended_regimen"):
            problems.append(unknown_key_problem(col, list(BATCH_KEYS)))
    if problems:
        raise InputError(problems)


def _fmt_number(expr: pl.Expr) -> pl.Expr:
    import polars as pl

    return (
        pl.when(expr == expr.round(0))
        .then(expr.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(expr.cast(pl.String))
    )


def _column_rules(spec: FieldSpec, dtype: Any) -> tuple[pl.Expr, pl.Expr]:
    """(clean typed value, error message or null) for one input column."""
    import polars as pl

    name = spec.key
    col = pl.col(name)
    allowed = spec.allowed

    def err(cond: pl.Expr, shown: pl.Expr, what: str) -> Any:
        return pl.when(cond).then(
            pl.concat_str([pl.lit(f"{name}: "), shown, pl.lit(f" {what}; allowed: {allowed}")])
        )

    is_text = dtype == pl.String
    raw_text = col.cast(pl.String) if not is_text else col
    present = raw_text.is_not_null() & (raw_text != "")
    quoted = pl.concat_str([pl.lit('"'), raw_text, pl.lit('"')])
    if spec.kind == "bool":
        if dtype == pl.Boolean:
            return col, pl.lit(None, dtype=pl.String)
        low = raw_text.str.to_lowercase()
        value: Any = pl.when(low == "true").then(True).when(low == "false").then(False)
        bad = present & ~low.is_in(["true", "false"])
        return value.otherwise(None), err(bad, quoted, "is not a boolean").otherwise(None)
    if spec.kind == "enum":
        assert spec.values is not None
        value = pl.when(present).then(raw_text).otherwise(None)
        bad = present & ~raw_text.is_in(list(spec.values))
        return (
            pl.when(bad).then(None).otherwise(value),
            err(bad, quoted, "is not an allowed value").otherwise(None),
        )
    if spec.kind == "text":
        return pl.when(present).then(raw_text).otherwise(None), pl.lit(None, dtype=pl.String)
    # numbers
    if dtype == pl.Boolean:
        num = pl.lit(None, dtype=pl.Float64)
        unparsable = col.is_not_null()
        shown = pl.when(col).then(pl.lit("true")).otherwise(pl.lit("false"))
    elif is_text:
        num = raw_text.cast(pl.Float64, strict=False)
        unparsable = present & num.is_null()
        shown = quoted
    else:
        num = col.cast(pl.Float64)
        unparsable = pl.lit(False)
        shown = quoted
    noun = "an integer" if spec.kind == "int" else "a number"
    finite = num.is_finite()
    shown_num = _fmt_number(num)
    errors = (
        err(unparsable, shown, f"is not {noun}")
        .when(num.is_not_null() & ~finite)
        .then(
            pl.concat_str(
                [
                    pl.lit(f"{name}: "),
                    shown_num,
                    pl.lit(f" is not a finite number; allowed: {allowed}"),
                ]
            )
        )
    )
    bad = unparsable | (num.is_not_null() & ~finite)
    if spec.kind == "int":
        non_int = num.is_not_null() & finite & (num != num.round(0))
        errors = errors.when(non_int).then(
            pl.concat_str(
                [pl.lit(f"{name}: "), shown_num, pl.lit(f" is not an integer; allowed: {allowed}")]
            )
        )
        bad = bad | non_int
    out_of_range = pl.lit(False)
    if spec.minimum is not None:
        out_of_range = out_of_range | (num < spec.minimum)
    if spec.maximum is not None:
        out_of_range = out_of_range | (num > spec.maximum)
    out_of_range = out_of_range.fill_null(False) & ~bad
    errors = errors.when(out_of_range).then(
        pl.concat_str(
            [pl.lit(f"{name}: "), shown_num, pl.lit(f" is out of range; allowed: {allowed}")]
        )
    )
    bad = bad | out_of_range
    if spec.step:
        off_step = (((num - (spec.minimum or 0)) % spec.step) != 0).fill_null(False) & ~bad
        errors = errors.when(off_step).then(
            pl.concat_str(
                [pl.lit(f"{name}: "), shown_num, pl.lit(f" is not allowed; allowed: {allowed}")]
            )
        )
        bad = bad | off_step
    target = pl.Int64 if spec.kind == "int" else pl.Float64
    value = pl.when(bad).then(None).otherwise(num).cast(target)
    return value, errors.otherwise(None)


def _join(parts: list[pl.Expr]) -> pl.Expr:
    """Join non-null messages with "; "; null when there is none."""
    import polars as pl

    if not parts:
        return pl.lit(None, dtype=pl.String)
    joined = pl.concat_str(parts, separator="; ", ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined)


def _fast_rules(spec: FieldSpec, dtype: Any) -> tuple[pl.Expr, pl.Expr]:
    """(typed value, value is allowed or missing): the cheap check run on every row.

    Rows it flags get their messages from ``_column_rules`` (same verdicts, with sentences).
    """
    import polars as pl

    col = pl.col(spec.key)
    if spec.kind == "text":
        return col.cast(pl.String), pl.lit(True)
    if spec.kind == "bool":
        if dtype == pl.Boolean:
            return col, pl.lit(True)
        text = col.cast(pl.String)
        low = text.str.to_lowercase()
        value = pl.when(low == "true").then(True).when(low == "false").then(False)
        missing = text.is_null() | (text == "")
        return value.otherwise(None), missing | low.is_in(["true", "false"])
    if spec.kind == "enum":
        assert spec.values is not None
        enum_t = pl.Enum(list(spec.values))
        if dtype == enum_t:
            return col, pl.lit(True)
        text = col.cast(pl.String)
        enum_value = text.cast(enum_t, strict=False)
        return enum_value, text.is_null() | (text == "") | enum_value.is_not_null()
    if dtype in (pl.String, pl.Boolean):
        text = col.cast(pl.String)
        num = text.cast(pl.Float64, strict=False)
        missing = text.is_null() | (text == "")
    else:
        num = col.cast(pl.Float64)
        missing = col.is_null()
    ok = num.is_finite()
    if spec.minimum is not None:
        ok = ok & (num >= spec.minimum)
    if spec.maximum is not None:
        ok = ok & (num <= spec.maximum)
    if spec.kind == "int":
        ok = ok & (num == num.round(0))
    if spec.step:
        ok = ok & (((num - (spec.minimum or 0)) % spec.step) == 0)
    target = pl.Int64 if spec.kind == "int" else pl.Float64
    return num.cast(target, strict=False), missing | ok.fill_null(False)


def validate_frame(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """Typed patient columns (bad values null) and the ``input_error`` text of every row.

    A cheap vectorised check runs on every row; sentences are built only for the rows it
    flags. Every value of a flagged row is set to null, so nothing of it is scored.
    """
    import polars as pl

    values = []
    oks = []
    for col, dtype in raw.schema.items():
        spec = FIELD_BY_KEY.get(col)
        if spec is None:
            continue
        v, ok = _fast_rules(spec, dtype)
        values.append(v.alias(col))
        oks.append(ok)
    cross = [
        (pl.col("visceral_metastases").not_() & pl.col(dep).is_not_null()).fill_null(False)
        for dep in ("visceral_metastases_resectable", "visceral_metastases_treatable")
        if dep in raw.columns and "visceral_metastases" in raw.columns
    ]
    typed = raw.select(values)
    bad = raw.select(~pl.all_horizontal(oks) if oks else pl.lit(False))[:, 0]
    if cross:
        bad = bad | typed.select(pl.any_horizontal(cross))[:, 0]
    clash = contradiction_flag(set(typed.columns))
    if clash is not None:
        bad = bad | typed.select(clash.fill_null(False))[:, 0]
    if not bad.any():
        return typed, pl.Series("input_error", [None] * raw.height, dtype=pl.String)
    rows = bad.arg_true()
    _, messages = _validate_with_messages(raw[rows])
    errors = pl.Series("input_error", [None] * raw.height, dtype=pl.String).scatter(rows, messages)
    typed = typed.with_columns(
        [pl.when(pl.lit(bad)).then(None).otherwise(pl.col(c)).alias(c) for c in typed.columns]
    )
    return typed, errors


def _validate_with_messages(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """Typed columns and the full sentences (the slow path, for flagged rows only)."""
    import polars as pl

    values: list[pl.Expr] = []
    errors: list[pl.Expr] = []
    for col, dtype in raw.schema.items():
        spec = FIELD_BY_KEY.get(col)
        if spec is None:
            continue
        v, e = _column_rules(spec, dtype)
        values.append(v.alias(col))
        errors.append(e)
    typed = raw.select(values)
    cross: list[pl.Expr] = []
    for dep in ("visceral_metastases_resectable", "visceral_metastases_treatable"):
        if dep in typed.columns and "visceral_metastases" in typed.columns:
            clash = pl.col("visceral_metastases").not_() & pl.col(dep).is_not_null()
            shown = pl.when(pl.col(dep)).then(pl.lit("true")).otherwise(pl.lit("false"))
            cross.append(
                pl.when(clash).then(
                    pl.concat_str(
                        [
                            pl.lit(f"{dep}: "),
                            shown,
                            pl.lit(
                                " contradicts visceral_metastases: false; allowed: "
                                "only with visceral_metastases: true"
                            ),
                        ]
                    )
                )
            )
    nulls = pl.Series([None] * raw.height, dtype=pl.String)
    raw_errors = raw.select(_join(errors).alias("a"))["a"] if errors else nulls
    cross_errors = typed.select(_join(cross).alias("b"))["b"] if cross else nulls
    # Hard contradictions (mescc.consistency), the same sentences as ``mescc assess``; only for
    # rows whose own values are valid, as the patient model checks them after the fields.
    clash_messages = [
        "; ".join(p.message for p in contradictions(row)) or None
        for row in typed.iter_rows(named=True)
    ]
    clash_errors = pl.Series("c", clash_messages, dtype=pl.String)
    both = pl.DataFrame({"a": raw_errors, "b": cross_errors, "c": clash_errors}).select(
        pl.when(pl.col("a").is_null() & pl.col("b").is_null())
        .then(pl.col("c"))
        .otherwise(_join([pl.col("a"), pl.col("b")]))
        .alias("input_error")
    )["input_error"]
    return typed, both.alias("input_error")


def score_frame(raw: pl.DataFrame, kb: KnowledgeBase, offset: int = 0) -> pl.DataFrame:
    """Validate, score and plan one chunk; return input columns + results + input_error.

    ``input_error`` reads ``row N (id X): <field>: <value> ...; allowed: ...`` (N counts data
    rows from 1 across the whole file; ``offset`` is the chunk's first row).
    """
    import polars as pl

    from mescc.assessment import assess_table

    typed, input_error = validate_frame(raw)
    if input_error.is_not_null().any():
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
        input_error = raw.select(
            pl.when(pl.lit(input_error).is_not_null())
            .then(pl.concat_str([prefix, pl.lit(input_error)]))
            .alias("input_error")
        )["input_error"]
    results = assess_table(typed, kb, with_verification=True)
    bad = input_error.is_not_null()
    if bad.any():
        results = results.with_columns(
            [pl.when(pl.lit(bad)).then(None).otherwise(pl.col(c)).alias(c) for c in results.columns]
        )
    regimen = _recommended(typed.hstack(results), kb)
    regimen = pl.select(pl.when(pl.lit(bad)).then(None).otherwise(pl.lit(regimen)))[:, 0]
    results = results.select(
        [
            c
            for c in results.columns
            if not c.endswith(("__verification", "__possible_lo", "__possible_hi"))
        ]
    )
    return raw.hstack(results).with_columns(
        regimen.alias("recommended_regimen"), input_error.alias("input_error")
    )


def _recommended(frame: pl.DataFrame, kb: KnowledgeBase) -> pl.Series:

    from mescc.plan import recommended_regimens_for_table

    series: pl.Series = recommended_regimens_for_table(frame, kb)
    return series


def _chunks(path: Path, chunk_rows: int) -> Iterator[pl.DataFrame]:
    import polars as pl

    if path.suffix == ".parquet":
        lf = pl.scan_parquet(path)
    elif path.suffix == ".csv":
        lf = pl.scan_csv(path, infer_schema=False)
    else:
        raise InputError(
            [
                Problem(
                    "INPUT",
                    str(path),
                    ".csv or .parquet",
                    f"INPUT: {path.name} has an unsupported extension; allowed: .csv or .parquet",
                )
            ]
        )
    yield from lf.collect_batches(chunk_size=chunk_rows)


def count_rows(path: Path) -> int:
    """Number of data rows of a CSV or parquet file (for the progress bar)."""
    import polars as pl

    if path.suffix == ".parquet":
        return int(pl.scan_parquet(path).select(pl.len()).collect().item())
    return int(pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item())


def run_batch(
    input_path: Path,
    output_path: Path,
    kb: KnowledgeBase,
    *,
    strict: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
) -> BatchSummary:
    """Score every row of ``input_path`` into ``output_path`` (``.csv`` or ``.parquet``).

    With ``strict`` any bad row fails the run with ``InputError`` and no output is written.
    """
    import polars as pl

    if output_path.suffix not in (".csv", ".parquet"):
        raise InputError(
            [
                Problem(
                    "OUTPUT",
                    str(output_path),
                    ".csv or .parquet",
                    f"OUTPUT: {output_path.name} has an unsupported extension; "
                    "allowed: .csv or .parquet",
                )
            ]
        )
    summary = BatchSummary()
    tmp = output_path.with_name(output_path.name + ".partial")
    parts: list[pl.DataFrame] = []
    offset = 0
    try:
        for chunk in _chunks(input_path, chunk_rows):
            if offset == 0:
                check_columns(chunk.columns)
            out = score_frame(chunk, kb, offset)
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
            if output_path.suffix == ".parquet":
                parts.append(out)
            else:
                with tmp.open("ab" if offset else "wb") as fh:
                    out.write_csv(fh, include_header=offset == 0)
            offset += out.height
            if progress is not None:
                progress(out.height)
        if output_path.suffix == ".parquet" and not parts:
            empty = (
                pl.scan_parquet(input_path)
                if input_path.suffix == ".parquet"
                else pl.scan_csv(input_path, infer_schema=False)
            ).collect_schema()
            parts.append(score_frame(pl.DataFrame(schema=empty), kb))
        if output_path.suffix == ".parquet":
            # one polars write: several times faster than pyarrow's writer per chunk
            pl.concat(parts, how="vertical", rechunk=False).write_parquet(tmp, compression="lz4")
            parts.clear()
        if offset == 0 and output_path.suffix == ".csv":
            tmp.write_text("")
        tmp.replace(output_path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return summary
