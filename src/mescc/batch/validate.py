"""Vectorised validation of a batch table: typed values, and a sentence for every bad value.

Each column's check is one small integer code per row (0 = allowed or missing) computed by the
same expression on every row; only the rows it flags get their sentences, built from the code.
The verdicts and the sentences read the field table (``mescc.fields`` via
:mod:`mescc.batch.columns`), so a value ``mescc assess`` refuses is refused here with the same
sentence: ``<column>: <value as given> <what is wrong>; allowed: <what is allowed>``.

Clinical traps guarded:

* nothing is silently nulled: ``NaN``, ``inf``, ``1e400``, integers beyond 64 bits (text or
  parquet, signed or unsigned) are bad values, never "unknown";
* one rule for booleans in every format: the text ``true`` / ``false`` (lowercase) or a native
  boolean; ``yes``, ``1``, ``True`` are refused, never read as true;
* KPS 75 or ECOG 1.5 are refused, never rounded;
* a course with some values but no fractions or dose per fraction is refused (never 0).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from mescc.batch.columns import (
    BATCH_SPECS,
    COURSE_COUNT,
    COURSE_SPECS,
    MAX_COURSES,
    REQUIRED_COURSE_KEYS,
    course_column,
)
from mescc.consistency import contradiction_flag, contradictions
from mescc.fields import COURSE_FIELDS, FieldSpec, check_value
from mescc.suggest import bool_hint, hint
from mescc.text_safety import neutralise

if TYPE_CHECKING:
    import polars as pl

OK = 0
NOT_NUMBER = 1
NOT_FINITE = 2
NOT_INTEGER = 3
TOO_LARGE = 4
OUT_OF_RANGE = 5
OFF_STEP = 6
NOT_BOOLEAN = 7
NOT_ALLOWED = 8
NOT_TEXT = 9
TOO_LONG = 10
HIDDEN = 11

#: What each code says (``{noun}``: "an integer" or "a number").
WHAT = {
    NOT_NUMBER: "is not {noun}",
    NOT_FINITE: "is not a finite number",
    NOT_INTEGER: "is not an integer",
    TOO_LARGE: "is too large for a 64-bit integer",
    OUT_OF_RANGE: "is out of range",
    OFF_STEP: "is not allowed",
    NOT_BOOLEAN: "is not a boolean",
    NOT_ALLOWED: "is not an allowed value",
    NOT_TEXT: "is not text",
    TOO_LONG: "is too long",
    HIDDEN: "contains a control, bidi or invisible formatting character",
}
#: The characters ``mescc.text_safety`` refuses (general categories Cc, Cf, Cs, Zl, Zp; Cs
#: cannot occur in a decoded string), as a regular expression; multi-line notes may hold TAB
#: and line feeds (``text_safety.LAYOUT_CHARACTERS``).
_HIDDEN = r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]"
_HIDDEN_MULTILINE = r"[[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]--[\t\n]]"
_INT_LIMIT = 2.0**63
_EXACT = 2.0**53


def _is_text(dtype: Any) -> bool:
    import polars as pl

    return dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)


def _num_text(expr: pl.Expr) -> pl.Expr:
    """A float as ``describe_value`` writes it (integral values without ``.0``)."""
    import polars as pl

    integral = (expr == expr.round(0)) & (expr.abs() < _EXACT)
    return (
        pl.when(integral)
        .then(expr.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(expr.cast(pl.String))
    )


def field_rules(spec: FieldSpec, dtype: Any) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(typed value, code, the value as shown in a message) for one column of ``dtype``.

    The typed value is null where the code is not ``OK``; missing (null or empty text) is
    ``OK`` with a null value.
    """
    import polars as pl

    col = pl.col(spec.key)
    text_in = _is_text(dtype)
    text = col.cast(pl.String) if text_in else None
    code: pl.Expr
    value: pl.Expr
    if text is not None:
        present = text.is_not_null() & (text != "")
        quoted = pl.concat_str([pl.lit('"'), text, pl.lit('"')])
    else:
        present = col.is_not_null()
        quoted = col.cast(pl.String)
    if spec.kind == "text":
        if dtype == pl.Null:
            return pl.lit(None, dtype=pl.String), pl.lit(OK, dtype=pl.UInt8), quoted
        if text is not None:
            # the field table's text rule (``fields.check_value``): length, hidden characters
            code = pl.when(~present).then(OK)
            if spec.max_length is not None:
                code = code.when(text.str.len_chars() > spec.max_length).then(TOO_LONG)
            hidden = _HIDDEN_MULTILINE if spec.multiline else _HIDDEN
            code = code.when(text.str.contains(hidden)).then(HIDDEN).otherwise(OK)
            value = pl.when(present & (code == OK)).then(text)
            return value, code.cast(pl.UInt8), quoted
        # a number or boolean column where text belongs (as ``mescc assess`` refuses "id": 1)
        shown = _bool_text(col) if dtype == pl.Boolean else quoted
        code = pl.when(present).then(NOT_TEXT).otherwise(OK)
        return pl.lit(None, dtype=pl.String), code.cast(pl.UInt8), shown
    if spec.kind == "bool":
        if dtype == pl.Boolean:
            return col, pl.lit(OK, dtype=pl.UInt8), _bool_text(col)
        if text is None:  # a number where a boolean is expected
            code = pl.when(present).then(NOT_BOOLEAN).otherwise(OK)
            return pl.lit(None, dtype=pl.Boolean), code.cast(pl.UInt8), quoted
        value = (
            pl.when(text == "true").then(True).when(text == "false").then(False).otherwise(None)
        ).cast(pl.Boolean)
        code = pl.when(present & value.is_null()).then(NOT_BOOLEAN).otherwise(OK)
        return value, code.cast(pl.UInt8), quoted
    if spec.kind == "enum":
        assert spec.values is not None
        enum_t = pl.Enum(list(spec.values))
        if dtype == enum_t:
            return col, pl.lit(OK, dtype=pl.UInt8), col.cast(pl.String)
        if dtype == pl.Boolean:
            code = pl.when(present).then(NOT_ALLOWED).otherwise(OK)
            return pl.lit(None, dtype=enum_t), code.cast(pl.UInt8), _bool_text(col)
        as_text = text if text is not None else col.cast(pl.String)
        value = pl.when(present).then(as_text).cast(enum_t, strict=False)
        code = pl.when(present & value.is_null()).then(NOT_ALLOWED).otherwise(OK)
        return value, code.cast(pl.UInt8), quoted if text is not None else as_text
    return _number_rules(spec, dtype, col, text, present, quoted)


def _bool_text(col: pl.Expr) -> pl.Expr:
    import polars as pl

    return pl.when(col).then(pl.lit("true")).otherwise(pl.lit("false"))


def _number_rules(
    spec: FieldSpec,
    dtype: Any,
    col: pl.Expr,
    text: pl.Expr | None,
    present: pl.Expr,
    quoted: pl.Expr,
) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    import polars as pl

    integer = spec.kind == "int"
    target = pl.Int64 if integer else pl.Float64
    if dtype == pl.Boolean:
        code = pl.when(present).then(NOT_NUMBER).otherwise(OK)
        return pl.lit(None, dtype=target), code.cast(pl.UInt8), _bool_text(col)
    if text is None and dtype.is_integer():
        # native integers: nothing to parse; only the 64-bit limit (uint64) and the ranges
        exact_int = col.cast(pl.Int64, strict=False)
        code = pl.when(present & exact_int.is_null()).then(TOO_LARGE)
        if spec.minimum is not None:
            code = code.when(exact_int < spec.minimum).then(OUT_OF_RANGE)
        if spec.maximum is not None:
            code = code.when(exact_int > spec.maximum).then(OUT_OF_RANGE)
        if spec.step:
            code = code.when(((exact_int - int(spec.minimum or 0)) % spec.step) != 0).then(OFF_STEP)
        int_code = code.otherwise(OK).cast(pl.UInt8)
        int_value = pl.when(int_code == OK).then(exact_int).cast(target)
        return int_value, int_code, col.cast(pl.String)
    exact: pl.Expr | None = None  # an exact integer reading, where the input has one
    if text is not None:
        num = text.cast(pl.Float64, strict=False)
        if integer:
            exact = text.cast(pl.Int64, strict=False)
        unparsable = present & num.is_null()
        finite_shown = _num_text(num)
        shown = (
            pl.when(unparsable)
            .then(quoted)
            .when(num.is_finite() & (num.abs() < _EXACT))
            .then(finite_shown)
            .otherwise(text)
        )
    else:
        if dtype.is_integer():
            exact = col.cast(pl.Int64, strict=False)
            num = col.cast(pl.Float64)
        else:
            num = col.cast(pl.Float64)
        unparsable = pl.lit(False)
        shown = pl.when(num.is_finite()).then(_num_text(num)).otherwise(col.cast(pl.String))
        if dtype.is_integer():
            shown = col.cast(pl.String)
    finite = num.is_finite()
    code = pl.when(unparsable).then(NOT_NUMBER).when(present & ~finite).then(NOT_FINITE)
    if integer:
        code = code.when(present & (num != num.round(0))).then(NOT_INTEGER)
    if spec.minimum is not None:
        code = code.when(num < spec.minimum).then(OUT_OF_RANGE)
    if spec.maximum is not None:
        code = code.when(num > spec.maximum).then(OUT_OF_RANGE)
    value = num
    if integer:
        # beyond 64 bits: a float reading exists, an exact 64-bit one does not
        value = pl.when(num.abs() < _INT_LIMIT).then(num.cast(pl.Int64, strict=False))
        if exact is not None:
            value = pl.coalesce(exact, value)
        code = code.when(present & value.is_null()).then(TOO_LARGE)
    if spec.step:
        code = code.when(((value - (spec.minimum or 0)) % spec.step) != 0).then(OFF_STEP)
    code = code.otherwise(OK).cast(pl.UInt8)
    value = pl.when(code == OK).then(value).cast(target)
    return value, code, shown


def _message(spec: FieldSpec, dtype: Any, code: pl.Expr, shown: pl.Expr) -> pl.Expr:
    """The sentence of a flagged value (null when the code is ``OK``)."""
    import polars as pl

    noun = "an integer" if spec.kind == "int" else "a number"
    expr: Any = pl
    if spec.kind == "text":
        # the same sentence as ``mescc assess`` (length, the hidden character and its position,
        # the value with hidden characters made visible)
        expr = expr.when(code.is_in([TOO_LONG, HIDDEN])).then(
            pl.col(spec.key)
            .cast(pl.String)
            .map_elements(lambda v: _text_message(spec, v), return_dtype=pl.String)
        )
    hints = _hints(spec, dtype)
    for c, what in WHAT.items():
        parts = [pl.lit(f"{spec.key}: "), shown, pl.lit(f" {what.format(noun=noun)}")]
        if c in hints:
            parts.append(hints[c])
        parts.append(pl.lit(f"; allowed: {spec.allowed}"))
        expr = expr.when(code == c).then(pl.concat_str(parts))
    result: pl.Expr = expr.otherwise(None)
    return result


def _hints(spec: FieldSpec, dtype: Any) -> dict[int, pl.Expr]:
    """The did-you-mean hint of a mistyped value (``mescc.suggest``, as ``mescc assess``
    writes it), per code; "" where there is none. Only flagged rows reach this; only text
    cells can hold a typo (a number or a native boolean gets no hint, as in assess)."""
    import polars as pl

    values = spec.values
    if not _is_text(dtype):
        return {}
    suggest: Callable[[str], str]
    if spec.kind == "enum" and values is not None:
        code, suggest = NOT_ALLOWED, partial(_enum_hint, values=values)
    elif spec.kind == "bool":
        code, suggest = NOT_BOOLEAN, _bool_hint
    else:
        return {}
    column = pl.col(spec.key)
    text = column.cast(pl.String).map_elements(suggest, return_dtype=pl.String)
    return {code: text.fill_null("")}


@lru_cache(maxsize=4096)
def _enum_hint(value: str, values: tuple[str, ...]) -> str:
    return hint(value, values)


@lru_cache(maxsize=4096)
def _bool_hint(value: str) -> str:
    return bool_hint(value)


def _text_message(spec: FieldSpec, value: str) -> str:
    _, problem = check_value(spec.key, value, spec)
    if problem is not None:
        return problem.message
    # the pattern and this Python's Unicode tables disagree on a character: still refused
    shown = neutralise(value[:200], keep_layout=False)
    return f'{spec.key}: "{shown}" {WHAT[HIDDEN]}; allowed: {spec.allowed}'


def _join(parts: list[pl.Expr]) -> pl.Expr:
    """Join non-null messages with "; "; null when there is none."""
    import polars as pl

    if not parts:
        return pl.lit(None, dtype=pl.String)
    joined = pl.concat_str(parts, separator="; ", ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined)


def _cross_rules(typed_columns: list[str]) -> list[tuple[pl.Expr, pl.Expr]]:
    """(row is contradictory, its sentence) for checks across columns.

    The same checks as ``patient.clean_patient_data``: a visceral detail given with
    ``visceral_metastases: false``; a course missing its fractions or dose, or with both a cord
    maximum in Gy and one in percent; a course count that disagrees with the courses given.
    """
    import polars as pl

    out: list[tuple[pl.Expr, pl.Expr]] = []
    cols = set(typed_columns)
    for dep in ("visceral_metastases_resectable", "visceral_metastases_treatable"):
        if dep in cols and "visceral_metastases" in cols:
            clash = (pl.col("visceral_metastases").not_() & pl.col(dep).is_not_null()).fill_null(
                False
            )
            shown = _bool_text(pl.col(dep))
            msg = pl.concat_str(
                [
                    pl.lit(f"{dep}: "),
                    shown,
                    pl.lit(
                        " contradicts visceral_metastases: false; allowed: "
                        "only with visceral_metastases: true"
                    ),
                ]
            )
            out.append((clash, msg))
    given: list[pl.Expr] = []
    for n in range(1, MAX_COURSES + 1):
        present = [
            pl.col(course_column(n, s.key)).is_not_null()
            for s in COURSE_FIELDS
            if course_column(n, s.key) in cols
        ]
        if not present:
            continue
        any_given = pl.any_horizontal(present)
        given.append(any_given)
        gy, percent = (
            course_column(n, "cord_max_dose_gy"),
            course_column(n, "cord_max_dose_percent"),
        )
        if gy in cols and percent in cols:
            both = (pl.col(gy).is_not_null() & pl.col(percent).is_not_null()).fill_null(False)
            msg = pl.concat_str(
                [
                    pl.lit(f"{percent}: "),
                    pl.col(percent).cast(pl.String),
                    pl.lit(f" given together with {gy} "),
                    pl.col(gy).cast(pl.String),
                    pl.lit("; allowed: only one of cord_max_dose_gy and cord_max_dose_percent"),
                ]
            )
            out.append((both, msg))
        for key in REQUIRED_COURSE_KEYS:
            column = course_column(n, key)
            spec = COURSE_SPECS[column]
            lacking = any_given & (pl.col(column).is_null() if column in cols else pl.lit(True))
            out.append(
                (
                    lacking,
                    pl.lit(f"{column}: missing; a course needs it; allowed: {spec.allowed}"),
                )
            )
    if COURSE_COUNT in cols:
        n_given = pl.sum_horizontal([g.cast(pl.Int64) for g in given]) if given else pl.lit(0)
        clash = (pl.col(COURSE_COUNT) != n_given).fill_null(False)
        msg = pl.concat_str(
            [
                pl.lit(f"{COURSE_COUNT}: "),
                pl.col(COURSE_COUNT).cast(pl.String),
                pl.lit(" disagrees with the "),
                n_given.cast(pl.String),
                pl.lit(" course(s) given; allowed: the number of courses given"),
            ]
        )
        out.append((clash, msg))
    return out


def validate_frame(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """Typed batch columns (bad values null) and the ``input_error`` text of every row.

    Columns that are not batch columns are ignored here (``check_columns`` refuses them).
    """
    import polars as pl

    specs = [(BATCH_SPECS[c], dt) for c, dt in raw.schema.items() if c in BATCH_SPECS]
    rules = [field_rules(spec, dt) for spec, dt in specs]
    names = [s.key for s, _ in specs]
    # with_columns broadcasts literal rules (e.g. a number column where a boolean belongs)
    typed = raw.with_columns([v.alias(f"__v{i}") for i, (v, _, _) in enumerate(rules)]).select(
        [pl.col(f"__v{i}").alias(n) for i, n in enumerate(names)]
    )
    codes = raw.with_columns([c.alias(f"__c{i}") for i, (_, c, _) in enumerate(rules)]).select(
        [pl.col(f"__c{i}").alias(n) for i, n in enumerate(names)]
    )
    cross = _cross_rules(typed.columns)
    flags = [pl.col(c) != OK for c in codes.columns]
    bad = codes.select(pl.any_horizontal(flags) if flags else pl.lit(False))[:, 0]
    if cross:
        bad = bad | typed.select(pl.any_horizontal([f for f, _ in cross]))[:, 0]
    clash = contradiction_flag(set(typed.columns))
    if clash is not None:
        bad = bad | typed.select(clash.fill_null(False))[:, 0]
    nulls = pl.repeat(None, raw.height, dtype=pl.String, eager=True).alias("input_error")
    if not bad.any():
        return typed, nulls
    rows = bad.arg_true()
    sub_raw = raw[rows]
    value_msgs = sub_raw.with_columns(
        [
            _message(s, dt, c, shown).alias(f"__m{i}")
            for i, ((s, dt), (_, c, shown)) in enumerate(zip(specs, rules, strict=True))
        ]
    ).select([f"__m{i}" for i in range(len(specs))])
    cross_msgs = (
        typed[rows]
        .with_columns([pl.when(f).then(m).alias(f"__x{i}") for i, (f, m) in enumerate(cross)])
        .select([f"__x{i}" for i in range(len(cross))])
    )
    messages = value_msgs.hstack(cross_msgs).select(
        _join([pl.col(c) for c in (*value_msgs.columns, *cross_msgs.columns)]).alias("m")
    )["m"]
    # Hard contradictions (mescc.consistency), in the same sentences as ``mescc assess``; only
    # for rows whose own values are valid, as the patient model checks them after the fields.
    clash_msgs = pl.Series(
        "c",
        [
            "; ".join(p.message for p in contradictions(row)) or None
            for row in typed[rows].iter_rows(named=True)
        ],
        dtype=pl.String,
    )
    messages = pl.select(
        pl.when(pl.lit(messages).is_null()).then(pl.lit(clash_msgs)).otherwise(pl.lit(messages))
    )[:, 0]
    # a bad value is quoted in its message: hidden characters are shown as [U+XXXX], never
    # written out (only flagged rows reach this)
    messages = messages.map_elements(
        lambda m: neutralise(m, keep_layout=False), return_dtype=pl.String
    )
    return typed, nulls.scatter(rows, messages)
