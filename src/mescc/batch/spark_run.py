"""``mescc batch --engine spark``: a local-mode Spark run over files (OUTPUT is a folder).

The input and output paths are checked as on the polars path; a CSV input is checked locally
with the polars path's reader first (header, repeated or unknown columns, ragged rows, quotes,
UTF-8), so the same defects give the same messages. Spark writes OUTPUT as a folder
of part files (its own convention), in the format named by OUTPUT's extension.
"""

from __future__ import annotations

from pathlib import Path

from mescc.batch import BatchSummary
from mescc.batch.columns import check_columns
from mescc.batch.read import (
    check_input_path,
    check_output_path,
    file_problem,
    input_columns,
    read_chunks,
)


def run_spark(input_path: Path, output_path: Path, kb_overlay: Path | None = None) -> BatchSummary:
    """Score ``input_path`` into the folder ``output_path`` with Spark in local mode."""
    from mescc.batch.spark import local_session, read_spark, score_spark

    check_input_path(input_path)
    check_output_path(output_path, input_path)
    if output_path.exists():
        raise file_problem("OUTPUT", output_path, "exists", "a new folder for Spark's part files")
    check_columns(input_columns(input_path))
    if input_path.suffix == ".csv":
        # the structural check of the polars path (ragged rows, quotes, UTF-8): one clear
        # message instead of Spark's malformed-record failure
        for _ in read_chunks(input_path, 1_000_000):
            pass
    spark = local_session()
    scored = score_spark(
        read_spark(spark, input_path), kb_overlay, typed_inputs=output_path.suffix == ".parquet"
    ).cache()
    summary = BatchSummary(rows=scored.count())
    errors = scored.filter(scored.input_error.isNotNull())
    summary.bad = errors.count()
    summary.scored = summary.rows - summary.bad
    summary.examples = [r[0] for r in errors.select("input_error").limit(20).collect()]
    if output_path.suffix == ".csv":
        from pyspark.sql import functions as F

        cols = []
        for name, dtype in scored.dtypes:
            if dtype.startswith("array"):
                cols.append(F.array_join(F.col(name), "; ").alias(name))
            else:
                cols.append(F.col(name))
        scored.select(cols).write.option("header", True).csv(str(output_path))
    else:
        scored.write.parquet(str(output_path))
    scored.unpersist()
    return summary
