"""Speed and memory benchmarks of the core; writes benchmarks/results.md.

Targets (issue #2): single assessment in-process p50 < 200 us for all instruments; CLI cold
start of ``assess`` < 400 ms; batch of 1,000,000 synthetic rows parquet -> parquet
>= 500,000 patients/s on one core with peak memory < 1.5 GB; and the ratio of the batch path
to a loop of single assessments. Measured, never asserted: machines here are shared and noisy.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/run.py [--rows N]``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from mescc.assessment import assess, assess_instruments  # noqa: E402
from mescc.fields import FIELDS  # noqa: E402
from mescc.kb import load_kb  # noqa: E402
from mescc.patient import Patient  # noqa: E402

EXAMPLE = ROOT / "examples" / "intermediate_breast.yaml"


def synthetic_frame(rows: int, seed: int = 7, missing: float = 0.1) -> pl.DataFrame:
    """Random patients over the contract's domains, about 10% of values missing."""
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    for f in FIELDS:
        if f.kind == "text":
            if f.key == "id":
                cols["id"] = pl.Series("id", [f"p{i}" for i in range(rows)], dtype=pl.String)
            continue
        if f.key in (
            "visceral_metastases_resectable",
            "visceral_metastases_treatable",
            "steroid_contraindication",
            "bone_agent_contraindication",
        ):
            continue  # dependent/plan-only keys: left absent
        dom = f.domain()
        if dom is not None:
            idx = rng.integers(0, len(dom), rows)
            values = np.array(dom, dtype=object)[idx]
            if f.kind == "bool":
                s = pl.Series(f.key, values.astype(bool), dtype=pl.Boolean)
            elif f.kind == "int":
                s = pl.Series(f.key, values.astype(np.int64), dtype=pl.Int64)
            else:
                s = pl.Series(f.key, values.astype(str), dtype=pl.String)
        elif f.kind == "int":
            lo = int(f.minimum or 0)
            s = pl.Series(f.key, rng.integers(lo, lo + 6, rows), dtype=pl.Int64)
        else:
            s = pl.Series(f.key, np.round(rng.uniform(0, 60, rows), 1), dtype=pl.Float64)
        mask = pl.Series(rng.random(rows) < missing)
        cols[f.key] = s.scatter(mask.arg_true(), None) if mask.any() else s
    return consistent(pl.DataFrame(cols))


def consistent(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every hard contradiction (``mescc.consistency``) resolved by making its
    second finding unknown: independent random columns contradict each other in most rows
    (paraplegic with Frankel E ...), which a registry does not, and ``mescc batch`` refuses."""
    from mescc.consistency import CONTRADICTIONS

    for _ in range(len(CONTRADICTIONS)):
        changed = False
        for c in CONTRADICTIONS:
            if not set(c.keys) <= set(frame.columns):
                continue
            clash = (c.first.expr() & c.second.expr()).fill_null(False)
            if frame.select(clash.any()).item():
                changed = True
                key = c.second.key
                frame = frame.with_columns(
                    pl.when(clash).then(None).otherwise(pl.col(key)).alias(key)
                )
        if not changed:
            return frame
    return frame


def bench_single(n: int = 3000) -> dict[str, float]:
    kb = load_kb()
    data = Patient.from_data(_example_data()).model_dump(exclude_none=True, mode="json")
    patient = Patient.from_data(data)
    for _ in range(200):
        assess_instruments(patient, kb)
    out: dict[str, float] = {}
    for label, fn in (
        ("instruments_validated_patient", lambda: assess_instruments(patient, kb)),
        ("instruments_from_raw_dict", lambda: assess_instruments(data, kb)),
        ("instruments_and_plan", lambda: assess(patient, kb)),
    ):
        times = []
        reps = n if label != "instruments_and_plan" else max(200, n // 10)
        for _ in range(reps):
            t0 = time.perf_counter_ns()
            fn()
            times.append((time.perf_counter_ns() - t0) / 1000)
        times.sort()
        out[f"{label}_p50_us"] = statistics.median(times)
        out[f"{label}_p99_us"] = times[int(len(times) * 0.99) - 1]
    return out


def _example_data() -> dict[str, Any]:
    import yaml

    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    return data


def bench_cold_start(n: int = 15) -> dict[str, float]:
    exe = ROOT / ".venv" / "bin" / "mescc"
    cmd = [str(exe), "assess", str(EXAMPLE), "--format", "json"]
    subprocess.run(cmd, check=True, capture_output=True)  # warm the OS file cache
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append((time.perf_counter() - t0) * 1000)
    return {"cli_assess_p50_ms": statistics.median(times), "cli_assess_min_ms": min(times)}


def bench_batch(rows: int, workdir: Path) -> dict[str, float]:
    src = workdir / "synthetic.parquet"
    dst = workdir / "scored.parquet"
    synthetic_frame(rows).write_parquet(src)
    env = dict(os.environ, POLARS_MAX_THREADS="1")
    code = (
        "import resource, sys, time\n"
        "from pathlib import Path\n"
        "from mescc.batch import run_batch\n"
        "from mescc.kb import load_kb\n"
        "kb = load_kb()\n"
        "t0 = time.perf_counter()\n"
        f"s = run_batch(Path({str(src)!r}), Path({str(dst)!r}), kb)\n"
        "dt = time.perf_counter() - t0\n"
        "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(dt, rss, s.rows, s.bad)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    dt, rss, nrows, nbad = proc.stdout.split()
    return {
        "batch_rows": float(nrows),
        "batch_bad_rows": float(nbad),
        "batch_seconds": float(dt),
        "batch_patients_per_s": float(nrows) / float(dt),
        "batch_peak_rss_mb": float(rss),
    }


def bench_loop_ratio(rows: int = 5000) -> dict[str, float]:
    kb = load_kb()
    frame = synthetic_frame(rows, seed=11)
    from mescc.batch import score_frame

    records = frame.to_dicts()
    patients = []
    for r in records:
        sins = {k[5:]: r.pop(k) for k in list(r) if k.startswith("sins_")}
        clean = {k: v for k, v in r.items() if v is not None}
        clean["sins"] = {k: v for k, v in sins.items() if v is not None}
        patients.append(clean)
    t0 = time.perf_counter()
    for p in patients:
        assess(p, kb)
    loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    score_frame(frame, kb)
    table = time.perf_counter() - t0
    return {
        "loop_rows": float(rows),
        "loop_single_assess_per_s": rows / loop,
        "table_path_per_s": rows / table,
        "batch_vs_loop_ratio": loop / table,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--spark-rows", type=int, default=10_000_000, help="0: skip Spark")
    args = parser.parse_args()
    from batch_bench import batch_lines, bench_batch_floor, bench_readers, bench_spark

    results: dict[str, float] = {}
    results.update(bench_single())
    results.update(bench_cold_start())
    with tempfile.TemporaryDirectory() as tmp:
        results.update(bench_batch(args.rows, Path(tmp)))
        plain = bench_batch_floor(args.rows, Path(tmp), registry=False)
        floor = bench_batch_floor(args.rows, Path(tmp))
        readers = bench_readers(args.rows, Path(tmp))
        spark = bench_spark(args.spark_rows, Path(tmp)) if args.spark_rows else None
    results.update(bench_loop_ratio())
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, polars {pl.__version__}. "
        f"Written by `benchmarks/run.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "Shared, noisy machine: figures are indicative; targets are checked here, never in tests.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| single assessment, all instruments, validated Patient, p50 | "
        f"{results['instruments_validated_patient_p50_us']:.0f} us | < 200 us |",
        f"| same, p99 | {results['instruments_validated_patient_p99_us']:.0f} us | |",
        f"| single assessment from a raw dict (validation included), p50 | "
        f"{results['instruments_from_raw_dict_p50_us']:.0f} us | |",
        f"| single assessment with the treatment plan, p50 | "
        f"{results['instruments_and_plan_p50_us']:.0f} us | |",
        f"| CLI cold start `mescc assess --format json`, p50 | "
        f"{results['cli_assess_p50_ms']:.0f} ms | < 400 ms |",
        f"| batch {results['batch_rows']:.0f} rows parquet -> parquet, one core "
        f"(POLARS_MAX_THREADS=1) | {results['batch_patients_per_s']:,.0f} patients/s "
        f"({results['batch_seconds']:.2f} s) | >= 500,000 patients/s |",
        f"| batch peak memory (RSS) | {results['batch_peak_rss_mb']:.0f} MB | < 1,500 MB |",
        f"| loop of single assessments (with plan) | "
        f"{results['loop_single_assess_per_s']:,.0f} patients/s | |",
        f"| table path on the same {results['loop_rows']:.0f} rows | "
        f"{results['table_path_per_s']:,.0f} patients/s | |",
        f"| ratio batch / loop | {results['batch_vs_loop_ratio']:.0f} x | |",
        *batch_lines(plain, floor, readers, spark),
    ]
    out = ROOT / "benchmarks" / "results.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
