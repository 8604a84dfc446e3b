"""Scale-out on Spark: the same compiled instruments over Arrow batches with ``mapInArrow``.

``score_spark(df)`` maps every Arrow record batch of a Spark DataFrame through
:func:`mescc.batch.score_frame` (the vectorised polars path, unchanged): no row-wise UDF, no
per-row Python. The output schema is the polars path's output for the input's schema, with
enums and categoricals as strings (Spark has no enum type). Each executor loads the knowledge
base once (``load_kb`` is cached per process) from the packaged files or the overlay folder
named by ``kb_overlay``, which must be readable on every executor.

Row numbers in ``input_error`` count rows within the Spark partition (``row N of partition P``);
the ``id`` column, when given, names the row.

Library call::

    from pyspark.sql import SparkSession
    from mescc.batch.spark import score_spark

    spark = SparkSession.builder.getOrCreate()
    scored = score_spark(spark.read.parquet("registry.parquet"))
    scored.write.parquet("scored.parquet")
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mescc.batch.columns import check_columns

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa


def spark_types(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with enums/categoricals as strings (lists of them as lists of strings)."""
    import polars as pl

    exprs = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Enum | pl.Categorical):
            exprs.append(pl.col(name).cast(pl.String))
        elif isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Enum | pl.Categorical):
            exprs.append(pl.col(name).cast(pl.List(pl.String)))
        else:
            exprs.append(pl.col(name))
    return frame.select(exprs)


def to_spark_arrow(frame: pl.DataFrame) -> pa.Table:
    """The frame as an Arrow table with the types Spark reads (32-bit offsets, no views)."""
    import pyarrow as pa

    table = frame.to_arrow()

    def small(t: pa.DataType) -> pa.DataType:
        if pa.types.is_large_list(t) or pa.types.is_list(t):
            return pa.list_(small(t.value_type))
        if pa.types.is_large_string(t) or pa.types.is_string_view(t):
            return pa.string()
        return t

    schema = pa.schema([pa.field(f.name, small(f.type), f.nullable) for f in table.schema])
    return table.cast(schema)


def _score_batches(
    batches: Iterator[pa.RecordBatch], kb_overlay: str | None, typed_inputs: bool
) -> Iterator[pa.RecordBatch]:
    import polars as pl
    from pyspark import TaskContext

    from mescc.batch import score_frame
    from mescc.kb.loader import load_kb

    kb = load_kb(Path(kb_overlay) if kb_overlay else None)
    ctx = TaskContext.get()
    partition = ctx.partitionId() if ctx is not None else 0
    offset = 0
    for batch in batches:
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        out = score_frame(frame, kb, offset, typed_inputs=typed_inputs)
        if out["input_error"].is_not_null().any():
            out = out.with_columns(
                pl.col("input_error").str.replace(r"^row (\d+)", f"row $1 of partition {partition}")
            )
        offset += frame.height
        yield from to_spark_arrow(spark_types(out)).to_batches()


def score_spark(df: Any, kb_overlay: Path | None = None, *, typed_inputs: bool = True) -> Any:
    """Score a Spark DataFrame of patients (batch columns) with the vectorised path.

    Parameters
    ----------
    df : pyspark.sql.DataFrame whose columns are batch columns (``mescc.batch.columns``)
    kb_overlay : folder of site-supplied tables, readable on every executor
    typed_inputs : return the input columns typed (default) rather than as given

    Returns
    -------
    pyspark.sql.DataFrame with the batch output columns, computed lazily by Spark.
    """
    import polars as pl
    from pyspark.sql.pandas.types import from_arrow_schema

    from mescc.batch import score_frame
    from mescc.kb.loader import load_kb

    check_columns(df.columns)
    empty = pl.from_arrow(df.limit(0).toArrow())
    assert isinstance(empty, pl.DataFrame)
    kb = load_kb(kb_overlay)
    template = spark_types(score_frame(empty, kb, typed_inputs=typed_inputs))
    schema = from_arrow_schema(to_spark_arrow(template).schema)
    overlay = str(kb_overlay) if kb_overlay else None

    def fn(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield from _score_batches(batches, overlay, typed_inputs)

    return df.mapInArrow(fn, schema)


def read_spark(spark: Any, path: Path) -> Any:
    """A batch input as a Spark DataFrame: CSV as text columns (malformed rows fail), parquet."""
    if path.suffix == ".csv":
        return (
            spark.read.option("header", True)
            .option("mode", "FAILFAST")
            .option("enforceSchema", False)
            .option("multiLine", True)
            .option("escape", '"')
            .csv(str(path))
        )
    return spark.read.parquet(str(path))


def local_session(threads: int = 1) -> Any:
    """A local-mode Spark session (for the CLI's ``--engine spark`` and the tests).

    The Python workers run this interpreter (``PYSPARK_PYTHON`` unless set), so they import
    the same mescc.
    """
    import os
    import sys

    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    session = (
        SparkSession.builder.master(f"local[{threads}]")
        .appName("mescc-batch")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "100000")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session
