"""Spark local mode: the same compiled instruments through ``mapInArrow`` equal the polars path.

Needs a Java runtime (``scripts/services.sh`` installs Debian's when missing) and the pinned
pyspark. One local session for the module (starting Spark takes seconds).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from mescc.batch import score_frame
from mescc.batch.spark import local_session, score_spark, spark_types
from mescc.cli import app
from mescc.kb.loader import KnowledgeBase

ROWS = [
    {"id": "a", "age_years": "71", "primary_tumor": "breast", "kps": "70", "ecog": "1",
     "visceral_metastases": "false", "other_bone_metastases": "true",
     "months_from_cancer_diagnosis": "40", "ambulatory_status": "ambulatory_with_aid",
     "motor_deficit_days": "10", "prior_rt_1_fractions": "5",
     "prior_rt_1_dose_per_fraction_gy": "4", "prior_rt_1_months_before": "14",
     "preference_priority": "fewest_visits", "spinal_level": "thoracic"},
    {"id": "b", "age_years": "64", "primary_tumor": "lung_nsclc", "kps": "50",
     "visceral_metastases": "true", "ambulatory_status": "not_ambulatory",
     "motor_deficit_days": "3", "months_from_cancer_diagnosis": "10"},
    {"id": "bad", "kps": "75", "visceral_metastases": "yes", "prior_rt_1_fractions": "NaN"},
    {"id": "c", "primary_tumor": "myeloma", "ecog": "2", "prior_rt_courses": "0",
     "preference_surgery_acceptable": "false"},
]  # fmt: skip


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = local_session()
    yield session
    session.stop()


def text_frame() -> pl.DataFrame:
    columns = list(dict.fromkeys(k for r in ROWS for k in r))
    return pl.DataFrame([{c: r.get(c, "") for c in columns} for r in ROWS])


def without_partition(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("input_error").str.replace(r" of partition \d+", ""))


def test_spark_equals_polars(spark: Any, kb: KnowledgeBase, tmp_path: Path) -> None:
    raw = text_frame()
    src = tmp_path / "in.parquet"
    raw.write_parquet(src)
    df = spark.read.parquet(str(src)).repartition(1)
    got = pl.from_arrow(score_spark(df).toArrow())
    assert isinstance(got, pl.DataFrame)
    want = spark_types(score_frame(raw, kb))
    assert got.columns == want.columns
    assert without_partition(got).sort("id").equals(want.sort("id"))
    bad = got.filter(pl.col("id") == "bad")["input_error"].item()
    assert bad.startswith("row ") and "of partition 0" in bad and "kps: 75 is not allowed" in bad
    assert got.filter(pl.col("id") == "bad")["sins_2010__status"].item() is None


def test_cli_engine_spark(kb: KnowledgeBase, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    text_frame().write_csv(src)
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(app, ["batch", str(src), "-o", str(out), "--engine", "spark"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[0] == "4 rows read, 3 scored, 1 with input errors"
    assert out.is_dir()
    got = pl.read_parquet(out / "*.parquet").sort("id")
    want = spark_types(score_frame(pl.read_csv(src, infer_schema=False), kb)).sort("id")
    assert without_partition(got).select(want.columns).equals(without_partition(want))
