"""The batch output: typed columns for parquet, plain text for CSV with formula cells escaped.

Parquet keeps types: ``<id>__points`` are integers, statuses, groups and classes are enums,
booleans are booleans, missing inputs and deciding instruments are lists. CSV is text: lists are
written ``a; b``, and a text cell that a spreadsheet would run as a formula is escaped.

CSV injection (OWASP, "CSV Injection"): a cell beginning with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return is prefixed with a single quote (``'=HYPERLINK(...)``), and the writer
quotes any cell holding a separator or a quote (doubling embedded quotes). Only text cells are
touched: a cell that is a plain number (``-1``, ``+2.5``, ``1e-3``) is left as it is, so numeric
columns stay numeric when the file is opened in a spreadsheet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
LIST_SEPARATOR = "; "


def escape_formula(expr: pl.Expr) -> pl.Expr:
    """Prefix ``'`` to a text cell that starts like a formula (and is not a plain number)."""
    import polars as pl

    starts = pl.any_horizontal([expr.str.starts_with(c) for c in FORMULA_START])
    risky = starts & ~expr.str.contains(_NUMBER)
    return pl.when(risky.fill_null(False)).then(pl.lit("'") + expr).otherwise(expr)


def as_csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as CSV text: lists joined with ``; ``, text cells escaped, enums as text."""
    import polars as pl

    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.List):
            exprs.append(col.cast(pl.List(pl.String)).list.join(LIST_SEPARATOR).alias(name))
        elif dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
            text = col.cast(pl.String)
            # an empty cell stays empty (polars would write an empty string as "")
            exprs.append(escape_formula(pl.when(text != "").then(text)).alias(name))
        else:
            exprs.append(col)
    return frame.select(exprs)
