"""Malformed batch inputs for the fuzz test and ``benchmarks/fuzz_batch.py``, and the oracle.

An input is a CSV or parquet file built from a random subset of batch columns whose cells mix
allowed values with the values issue 9 found mishandled (``NaN``, ``inf``, ``1e400``, 20-digit
integers, ``True``/``yes``/``1``, formula cells, control characters ...), then sometimes damaged
(ragged rows, an unbalanced quote, non-UTF-8 bytes, UTF-16, truncation, repeated or unknown
columns, unusual parquet types).

The oracle (:func:`check_run`): exit 0 or 2 only, never a traceback, and no bad value scored:
every row without ``input_error`` must be a patient ``Patient.from_data`` accepts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import strategies as st

from mescc.batch.columns import BATCH_SPECS, COURSE_COUNT, MAX_COURSES, course_column
from mescc.batch.columns import patient_data as to_patient_data
from mescc.errors import InputError
from mescc.patient import Patient

NASTY = (
    "", "NaN", "nan", "inf", "-inf", "Infinity", "1e400", "-1e400", "99999999999999999999",
    "18446744073709551615", "-9223372036854775809", "1.5", "75", "-1", "0", "1", "True",
    "TRUE", "yes", "no", " true", "=HYPERLINK(\"http://x\")", "@SUM(1)", "+1+1", "\tx",
    "\x00", "é", "\u202e", "1,5", '"', "a\nb", "60.0", "1e3", "0x10",
)  # fmt: skip
COLUMNS = [*BATCH_SPECS, "kpss", "sins"]


def _valid(column: str) -> st.SearchStrategy[str]:
    spec = BATCH_SPECS.get(column)
    if spec is None:
        return st.just("1")
    dom = spec.domain()
    if dom is not None:
        return st.sampled_from(
            [
                ("true" if v else "false") if v in (True, False) and spec.kind == "bool" else str(v)
                for v in dom
            ]
        )
    if spec.kind == "text":
        return st.text(max_size=6)
    lo = spec.minimum or 0
    return st.sampled_from([str(int(lo)), str(int(lo) + 1), str(int(lo) + 10)])


@st.composite
def csv_bytes(draw: st.DrawFn) -> bytes:
    cols = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=8, unique=True))
    if "id" not in cols and draw(st.booleans()):
        cols.insert(0, "id")
    if draw(st.integers(0, 9)) == 0:
        cols.append(cols[0])  # a repeated column
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        row = [draw(_valid(c) | st.sampled_from(NASTY)) for c in cols]
        shape = draw(st.integers(0, 12))
        if shape == 0 and len(row) > 1:
            row = row[:-1]  # missing trailing field
        elif shape == 1:
            row = [*row, "extra"]
        rows.append(row)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    writer.writerows(rows)
    text = buf.getvalue()
    damage = draw(st.integers(0, 10))
    if damage == 0:
        return text.encode("utf-16")
    data = text.encode("utf-8")
    if damage == 1:
        return data[: draw(st.integers(0, len(data)))]
    if damage == 2:
        pos = draw(st.integers(0, len(data)))
        return data[:pos] + b"\xff\xfe" + data[pos:]
    if damage == 3:
        return data + b'"unbalanced,1\n'
    if damage == 4:
        return b""
    return data


_PARQUET_COLUMNS: dict[str, Any] = {
    "kps": [pl.Series([70, 75, None], dtype=pl.Int64), pl.Series([70.0, float("nan"), 1e308])],
    "involved_vertebrae": [
        pl.Series([2**64 - 1, 2, None], dtype=pl.UInt64),
        pl.Series([2**63 - 1, 1, 0], dtype=pl.Int64),
    ],
    "months_from_cancer_diagnosis": [
        pl.Series([float("inf"), -float("inf"), 3.0]),
        pl.Series([1.0, 2.0, 3.0], dtype=pl.Float32),
    ],
    "visceral_metastases": [
        pl.Series([True, None, False]),
        pl.Series([1, 0, 1], dtype=pl.Int8),
        pl.Series(["true", "yes", "True"]),
    ],
    "primary_tumor": [
        pl.Series(["breast", "lung", None]),
        pl.Series(["breast", "renal", "myeloma"], dtype=pl.Categorical),
    ],
    "sins_pain": [
        pl.Series([[1], [2], []]),
        pl.Series([b"a", b"b", b"c"]),
        pl.Series([dt.timedelta(1)] * 3),
        pl.Series([{"a": 1}] * 3),
        pl.Series([None, None, None], dtype=pl.Null),
        pl.Series([dt.date(2020, 1, 1)] * 3),
    ],
    "prior_rt_1_fractions": [pl.Series([5, 0, None], dtype=pl.Int16)],
    "prior_rt_1_dose_per_fraction_gy": [pl.Series([4.0, float("nan"), 1e308])],
    "preference_priority": [pl.Series(["balanced", "fast", None])],
    "id": [pl.Series(["=1+1", "@x", "a"]), pl.Series([1, 2, 3])],
}


@st.composite
def parquet_bytes(draw: st.DrawFn) -> bytes:
    keys = draw(
        st.lists(st.sampled_from(list(_PARQUET_COLUMNS)), min_size=1, max_size=5, unique=True)
    )
    frame = pl.DataFrame({k: draw(st.sampled_from(_PARQUET_COLUMNS[k])).alias(k) for k in keys})
    buf = io.BytesIO()
    frame.write_parquet(buf)
    data = buf.getvalue()
    if draw(st.integers(0, 6)) == 0:
        return data[: draw(st.integers(0, len(data) - 1))]
    return data


batch_inputs = st.one_of(
    st.tuples(st.just(".csv"), csv_bytes()), st.tuples(st.just(".parquet"), parquet_bytes())
)


def _raw_rows(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        return pl.read_parquet(path).to_dicts()
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return [dict(zip(header, r, strict=True)) for r in reader]


def _strict(column: str, value: Any) -> Any:
    """A raw cell as the one boolean rule and plain numbers read it; ValueError otherwise."""
    if value is None or value == "":
        return None
    spec = BATCH_SPECS[column]
    if not isinstance(value, str):
        return value
    if spec.kind == "bool":
        return {"true": True, "false": False}[value]
    if spec.kind == "int":
        f = float(value)
        if not f.is_integer():
            raise ValueError(value)
        return int(f)
    if spec.kind == "number":
        return float(value)
    return value


def scored_row_is_valid(raw: dict[str, Any]) -> str | None:
    """None when a scored row's raw values are a valid patient; else what is wrong."""
    try:
        row = {c: _strict(c, v) for c, v in raw.items() if c in BATCH_SPECS}
        Patient.from_data(to_patient_data(row))
    except (InputError, ValueError, KeyError) as exc:
        return f"{type(exc).__name__}: {exc}"
    courses = sum(
        1
        for n in range(1, MAX_COURSES + 1)
        if any(
            row.get(course_column(n, k)) is not None
            for k in ("fractions", "dose_per_fraction_gy", "months_before", "technique")
        )
    )
    if row.get(COURSE_COUNT) is not None and row[COURSE_COUNT] != courses:
        return "course count disagrees"
    return None


def check_run(src: Path, out: Path, exit_code: int, output: str) -> tuple[str, int, int]:
    """(outcome, rows scored, rows flagged); raises AssertionError on a defect."""
    assert "Traceback" not in output, output
    assert exit_code in (0, 2), (exit_code, output)
    if exit_code == 2:
        assert output.strip(), "exit 2 without a message"
        assert not out.exists()
        return "refused", 0, 0
    frame = pl.read_csv(out, infer_schema=False) if out.suffix == ".csv" else pl.read_parquet(out)
    raws = _raw_rows(src)
    assert frame.height == len(raws), (frame.height, len(raws))
    scored = flagged = 0
    for raw, error in zip(raws, frame["input_error"].to_list(), strict=True):
        if error is not None:
            flagged += 1
            continue
        scored += 1
        problem = scored_row_is_valid(raw)
        assert problem is None, f"bad value scored: {raw!r}: {problem}"
    return "scored", scored, flagged
