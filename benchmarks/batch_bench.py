"""Batch benchmarks (issue 12): the batch against the read+write floor of its own output, one
core, peak memory, CSV/parquet readers (polars, pyarrow, DuckDB) and Spark local mode.

Every figure is measured in a subprocess with ``POLARS_MAX_THREADS=1`` (one core), and both
wall-clock and CPU time are reported: the machine is shared, so CPU time is the steadier figure.
Used by ``benchmarks/run.py``; never asserted in tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]


def registry_frame(rows: int, seed: int = 7) -> pl.DataFrame:
    """Synthetic patients (``run.synthetic_frame``) plus what a registry adds: an earlier course
    in about 5% of rows, preferences in about 20%."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from run import synthetic_frame

    frame = synthetic_frame(rows, seed)
    rng = np.random.default_rng(seed + 1)
    has_course = rng.random(rows) < 0.05
    has_pref = rng.random(rows) < 0.2

    def pick(values: list[Any], mask: np.ndarray, dtype: Any) -> pl.Series:
        drawn = np.array(values, dtype=object)[rng.integers(0, len(values), rows)]
        return pl.Series([v if m else None for v, m in zip(drawn, mask, strict=True)], dtype=dtype)

    return frame.with_columns(
        pick([1, 5, 10], has_course, pl.Int64).alias("prior_rt_1_fractions"),
        pick([8.0, 4.0, 3.0], has_course, pl.Float64).alias("prior_rt_1_dose_per_fraction_gy"),
        pick([3.0, 6.0, 12.0, 24.0], has_course, pl.Float64).alias("prior_rt_1_months_before"),
        pick(["balanced", "fewest_visits", "durable_local_control"], has_pref, pl.String).alias(
            "preference_priority"
        ),
        pick([True, False], has_pref, pl.Boolean).alias("preference_surgery_acceptable"),
    )


def _run(code: str, env: dict[str, str] | None = None) -> dict[str, float]:
    env = dict(os.environ, POLARS_MAX_THREADS="1", **(env or {}))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{proc.stderr[-4000:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


_TIMER = (
    "import json, resource, time\n"
    "from pathlib import Path\n"
    "def clock():\n"
    "    return time.perf_counter(), time.process_time()\n"
    "def since(t):\n"
    "    w, c = clock()\n"
    "    return w - t[0], c - t[1]\n"
)


def bench_batch_floor(rows: int, workdir: Path, registry: bool = True) -> dict[str, float]:
    """``run_batch`` parquet -> parquet, then the floor (read the input, write the same output).

    ``registry``: the registry frame (courses, preferences); else the plain synthetic patients.
    """
    src = workdir / "registry.parquet"
    dst = workdir / "scored.parquet"
    if registry:
        registry_frame(rows).write_parquet(src)
    else:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from run import synthetic_frame

        synthetic_frame(rows).write_parquet(src)
    code = _TIMER + (
        "import polars as pl\n"
        "from mescc.batch import run_batch\n"
        "from mescc.kb import load_kb\n"
        "kb = load_kb()\n"
        "t = clock()\n"
        f"s = run_batch(Path({str(src)!r}), Path({str(dst)!r}), kb)\n"
        "bw, bc = since(t)\n"
        "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        f"out = pl.read_parquet({str(dst)!r})\n"
        "t = clock()\n"
        f"inp = pl.read_parquet({str(src)!r})\n"
        f"out.write_parquet({str(workdir / 'floor.parquet')!r}, compression='lz4')\n"
        "fw, fc = since(t)\n"
        "print(json.dumps({'rows': s.rows, 'bad': s.bad, 'batch_wall': bw, 'batch_cpu': bc,\n"
        "  'rss_mb': rss, 'floor_wall': fw, 'floor_cpu': fc, 'columns': out.width}))\n"
    )
    return _run(code)


def bench_readers(rows: int, workdir: Path) -> dict[str, float]:
    """Reading a large CSV (all text) and parquet: polars, pyarrow (the batch reader), DuckDB."""
    csv_path = workdir / "registry.csv"
    pq_path = workdir / "registry_in.parquet"
    frame = registry_frame(rows, seed=3)
    frame.write_csv(csv_path)
    frame.write_parquet(pq_path)
    code = _TIMER + (
        "import duckdb, polars as pl\n"
        "from mescc.batch.read import read_chunks\n"
        "res = {}\n"
        "t = clock()\n"
        f"pl.scan_csv({str(csv_path)!r}, infer_schema=False).collect()\n"
        "res['csv_polars'] = since(t)[1]\n"
        "t = clock()\n"
        f"n = sum(f.height for f in read_chunks(Path({str(csv_path)!r}), 250_000))\n"
        "res['csv_pyarrow_batch_reader'] = since(t)[1]\n"
        "con = duckdb.connect(); con.execute('SET threads=1')\n"
        "t = clock()\n"
        f"pl.from_arrow(con.sql(\"SELECT * FROM read_csv('{csv_path}', all_varchar=true, "
        'strict_mode=true)").to_arrow_table())\n'
        "res['csv_duckdb'] = since(t)[1]\n"
        "t = clock()\n"
        f"pl.read_parquet({str(pq_path)!r})\n"
        "res['parquet_polars'] = since(t)[1]\n"
        "t = clock()\n"
        f"pl.from_arrow(con.sql(\"SELECT * FROM read_parquet('{pq_path}')\").to_arrow_table())\n"
        "res['parquet_duckdb'] = since(t)[1]\n"
        "print(json.dumps(res))\n"
    )
    return _run(code)


def bench_spark(rows: int, workdir: Path, files: int = 10) -> dict[str, float]:
    """Spark local mode (one core) vs the polars path over the same ``rows`` (scoring only:
    Spark's ``noop`` sink and a discarded polars frame, so neither pays for writing)."""
    folder = workdir / "spark_in"
    folder.mkdir(exist_ok=True)
    part = registry_frame(rows // files)
    for i in range(files):
        part.with_columns(pl.col("id") + f"-{i}").write_parquet(folder / f"part-{i}.parquet")
    polars_code = _TIMER + (
        "import polars as pl\n"
        "from mescc.batch import score_frame\n"
        "from mescc.kb import load_kb\n"
        "kb = load_kb()\n"
        "t = clock(); n = 0\n"
        f"for chunk in pl.scan_parquet({str(folder / '*.parquet')!r})"
        ".collect_batches(chunk_size=250_000):\n"
        "    n += score_frame(chunk, kb, n).height\n"
        "w, c = since(t)\n"
        "print(json.dumps({'rows': n, 'wall': w, 'cpu': c}))\n"
    )
    spark_code = _TIMER + (
        "from mescc.batch.spark import local_session, score_spark\n"
        "spark = local_session(1)\n"
        f"df = spark.read.parquet({str(folder)!r})\n"
        "n = df.count()\n"
        "t = clock()\n"
        "score_spark(df).write.format('noop').mode('overwrite').save()\n"
        "w, c = since(t)\n"
        "spark.stop()\n"
        "print(json.dumps({'rows': n, 'wall': w}))\n"
    )
    p = _run(polars_code)
    s = _run(spark_code)
    return {
        "spark_rows": s["rows"],
        "spark_wall": s["wall"],
        "polars_rows": p["rows"],
        "polars_wall": p["wall"],
        "polars_cpu": p["cpu"],
    }


def _floor_rows(label: str, floor: dict[str, float]) -> list[str]:
    rows = floor["rows"]
    return [
        f"| {label}: batch | {floor['batch_wall']:.2f} s ({rows / floor['batch_wall']:,.0f}/s) | "
        f"{floor['batch_cpu']:.2f} s ({rows / floor['batch_cpu']:,.0f}/s) | >= 500,000/s |",
        f"| {label}: read + write floor | {floor['floor_wall']:.2f} s | "
        f"{floor['floor_cpu']:.2f} s | |",
        f"| {label}: batch / floor | {floor['batch_wall'] / floor['floor_wall']:.2f} x | "
        f"{floor['batch_cpu'] / floor['floor_cpu']:.2f} x | <= 1.2 x |",
        f"| {label}: peak memory (RSS) | {floor['rss_mb']:.0f} MB | | < 1,500 MB |",
    ]


def batch_lines(
    plain: dict[str, float],
    floor: dict[str, float],
    readers: dict[str, float],
    spark: dict[str, float] | None,
) -> list[str]:
    """The batch section of ``results.md``."""
    rows = floor["rows"]
    lines = [
        "",
        "## Batch (issue 12): typed output, against its own read+write floor",
        "",
        f"{rows:,.0f} rows, parquet -> parquet, one core (`POLARS_MAX_THREADS=1`), "
        f"{floor['columns']:.0f} typed output columns (integers, enums, booleans; "
        f"{plain['columns']:.0f} without the course and preference columns). *synthetic*: the "
        "patients of `run.synthetic_frame` (the figure the issue measured); *registry*: the same "
        "plus an earlier course in 5% and preferences in 20% of rows "
        "(`batch_bench.registry_frame`). The floor reads the same input and writes the same "
        "output frame with the same options, in the same process.",
        "",
        "| measure | wall clock | CPU time | target |",
        "|---|---|---|---|",
        *_floor_rows("synthetic", plain),
        *_floor_rows("registry", floor),
        "",
        "Readers, CPU seconds for the same "
        f"{rows:,.0f} registry rows (one thread each; DuckDB `SET threads=1`):",
        "",
        "| input | polars | pyarrow (the batch reader) | DuckDB |",
        "|---|---|---|---|",
        f"| CSV, every column as text | {readers['csv_polars']:.2f} s | "
        f"{readers['csv_pyarrow_batch_reader']:.2f} s | {readers['csv_duckdb']:.2f} s |",
        f"| parquet | {readers['parquet_polars']:.2f} s | - | {readers['parquet_duckdb']:.2f} s |",
        "",
    ]
    if spark is not None:
        lines += [
            "Spark local mode (`local[1]`, `mapInArrow` over the vectorised path) vs polars, "
            f"{spark['spark_rows']:,.0f} registry rows, scoring only (Spark `noop` sink; polars "
            "frame discarded):",
            "",
            "| engine | wall clock | rows/s |",
            "|---|---|---|",
            f"| polars, one core | {spark['polars_wall']:.1f} s (CPU {spark['polars_cpu']:.1f} s) "
            f"| {spark['polars_rows'] / spark['polars_wall']:,.0f} |",
            f"| Spark local[1] | {spark['spark_wall']:.1f} s | "
            f"{spark['spark_rows'] / spark['spark_wall']:,.0f} |",
            "",
        ]
    return lines
