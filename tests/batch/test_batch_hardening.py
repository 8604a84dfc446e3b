"""Batch hardening (issue 9): no bad value scored, no traceback, one clear message, exit 2.

Value defects are flagged bad rows (``input_error`` naming the column and value, no scores,
counted in the summary); file defects stop the run with one line on stderr and exit 2; CSV output
escapes formula-like text cells.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from mescc.batch import run_batch, score_frame
from mescc.cli import app
from mescc.kb.loader import KnowledgeBase

GOOD = {"id": "g", "kps": "70", "ecog": "1", "visceral_metastases": "false"}


def run_cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["batch", *args])


def result_columns(out: pl.DataFrame) -> list[str]:
    return [c for c in out.columns if "__" in c or c.startswith(("recommended", "prognosis_"))]


@pytest.mark.parametrize(
    ("column", "text", "message"),
    [
        ("involved_vertebrae", "NaN", "involved_vertebrae: NaN is not a finite number"),
        (
            "months_from_cancer_diagnosis",
            "inf",
            "months_from_cancer_diagnosis: inf is not a finite",
        ),
        ("months_from_cancer_diagnosis", "-inf", "months_from_cancer_diagnosis: -inf is not"),
        ("motor_deficit_days", "1e400", "motor_deficit_days: 1e400 is not a finite number"),
        (
            "involved_vertebrae",
            "99999999999999999999",
            "involved_vertebrae: 99999999999999999999 is out of range; allowed: integer 1-33",
        ),
        ("kps", "18446744073709551615", "kps: 18446744073709551615 is out of range"),
        ("visceral_metastases", "True", 'visceral_metastases: "True" is not a boolean'),
        ("visceral_metastases", "yes", 'visceral_metastases: "yes" is not a boolean'),
        ("visceral_metastases", "1", 'visceral_metastases: "1" is not a boolean'),
        ("prior_rt_1_fractions", "0", "prior_rt_1_fractions: 0 is out of range"),
        ("prior_rt_1_months_before", "NaN", "prior_rt_1_months_before: NaN is not a finite"),
        ("preference_surgery_acceptable", "yes", 'preference_surgery_acceptable: "yes" is not'),
        ("preference_priority", "fast", 'preference_priority: "fast" is not an allowed value'),
    ],
)
def test_bad_values_are_flagged_never_scored(
    kb: KnowledgeBase, column: str, text: str, message: str
) -> None:
    raw = pl.DataFrame(
        [GOOD, {**GOOD, "id": "b", column: text}], schema=dict.fromkeys([*GOOD, column], pl.String)
    )
    out = score_frame(raw, kb)
    good, bad = out.row(0, named=True), out.row(1, named=True)
    assert good["input_error"] is None
    assert bad["input_error"] is not None and message in bad["input_error"]
    assert bad["input_error"].startswith("row 2 (id b): ")
    for col in result_columns(out):
        assert bad[col] is None, f"bad row scored: {col} = {bad[col]!r}"
    assert good["sins_2010__status"] is not None


def test_parquet_nan_inf_and_uint64_max_are_flagged(kb: KnowledgeBase, tmp_path: Path) -> None:
    src = tmp_path / "in.parquet"
    pl.DataFrame(
        {
            "id": ["a", "b", "c", "ok"],
            "involved_vertebrae": pl.Series([2**64 - 1, 2, 2, 2], dtype=pl.UInt64),
            "months_from_cancer_diagnosis": [1.0, float("nan"), float("inf"), 3.0],
        }
    ).write_parquet(src)
    summary = run_batch(src, tmp_path / "out.parquet", kb)
    assert (summary.rows, summary.scored, summary.bad) == (4, 1, 3)
    out = pl.read_parquet(tmp_path / "out.parquet")
    errors = out["input_error"].to_list()
    assert "involved_vertebrae: 18446744073709551615 is too large" in errors[0]
    assert "months_from_cancer_diagnosis: NaN is not a finite number" in errors[1]
    assert "months_from_cancer_diagnosis: inf is not a finite number" in errors[2]
    assert errors[3] is None
    assert out["sins_2010__status"].to_list()[:3] == [None, None, None]


def test_parquet_booleans_must_be_native_or_the_lowercase_text(kb: KnowledgeBase) -> None:
    raw = pl.DataFrame({"visceral_metastases": pl.Series([1, 0, None], dtype=pl.Int64)})
    out = score_frame(raw, kb)
    assert out["input_error"].to_list()[:2] == [
        "row 1: visceral_metastases: 1 is not a boolean; allowed: true or false",
        "row 2: visceral_metastases: 0 is not a boolean; allowed: true or false",
    ]
    native = score_frame(pl.DataFrame({"visceral_metastases": [True, False]}), kb)
    assert native["input_error"].to_list() == [None, None]


def test_a_course_needs_fractions_and_dose_and_the_count_must_agree(kb: KnowledgeBase) -> None:
    raw = pl.DataFrame(
        {"prior_rt_1_months_before": ["6", ""], "prior_rt_courses": ["", "1"]},
    )
    errors = score_frame(raw, kb)["input_error"].to_list()
    assert "prior_rt_1_fractions: missing; a course needs it" in errors[0]
    assert "prior_rt_1_dose_per_fraction_gy: missing; a course needs it" in errors[0]
    assert "prior_rt_courses: 1 disagrees with the 0 course(s) given" in errors[1]


def test_a_course_has_one_cord_maximum_as_in_assess(kb: KnowledgeBase) -> None:
    raw = pl.DataFrame(
        {
            "prior_rt_1_fractions": ["5", "5"],
            "prior_rt_1_dose_per_fraction_gy": ["4", "4"],
            "prior_rt_1_cord_max_dose_gy": ["20", ""],
            "prior_rt_1_cord_max_dose_percent": ["100", "100"],
        }
    )
    errors = score_frame(raw, kb)["input_error"].to_list()
    assert errors[0] is not None and "prior_rt_1_cord_max_dose_percent: 100" in errors[0]
    assert "allowed: only one of cord_max_dose_gy and cord_max_dose_percent" in errors[0]
    assert errors[1] is None


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "INPUT: empty.csv is empty (no header row)"),
        ("ragged.csv", b"id,kps\na,70\nb\n", "INPUT: ragged.csv has a row with 1 field(s) where"),
        ("long.csv", b"id,kps\na,70,1\n", "INPUT: long.csv has a row with 3 field(s) where"),
        ("quote.csv", b'id,kps\n"a,70\n', "(a ragged row or an unbalanced quote)"),
        ("latin.csv", b"id,kps\n\xe9,70\n", "INPUT: latin.csv is not UTF-8 text"),
        ("latinhead.csv", b"\xe9d,kps\n", "INPUT: latinhead.csv is not UTF-8 text"),
        ("dup.csv", b"id,kps,kps\na,70,80\n", "kps: column appears twice (columns 2 and 3)"),
        ("trunc.parquet", b"PAR1\x00\x00", "INPUT: trunc.parquet is not a readable parquet file"),
    ],
)
def test_unreadable_files_are_one_message_exit_2(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    src = write(tmp_path / name, data)
    out = tmp_path / "out.csv"
    result = run_cli(str(src), "-o", str(out))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert not out.exists() and not (tmp_path / "out.csv.partial").exists()


@pytest.mark.parametrize(
    ("values", "type_name"),
    [
        ([[1, 2]], "List(Int64)"),
        ([b"x"], "Binary"),
        ([dt.timedelta(days=1)], "Duration"),
        ([{"a": 1}], "Struct"),
        ([{"a": 1}], "Struct"),
    ],
)
def test_parquet_columns_that_cannot_hold_a_value_are_refused(
    tmp_path: Path, values: list[Any], type_name: str
) -> None:
    src = tmp_path / "in.parquet"
    pl.DataFrame({"id": ["a"], "kps": values}).write_parquet(src)
    result = run_cli(str(src), "-o", str(tmp_path / "out.parquet"))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"kps: column of type {type_name}")


def test_paths_are_checked(tmp_path: Path) -> None:
    src = write(tmp_path / "in.csv", b"id,kps\na,70\n")
    (tmp_path / "adir.csv").mkdir()
    cases = [
        ((str(tmp_path / "adir.csv"), "-o", str(tmp_path / "o.csv")), "is a directory"),
        ((str(src), "-o", str(src)), "is the input file (it would be overwritten)"),
        ((str(src), "-o", str(tmp_path / "nodir" / "o.csv")), "directory that does not exist"),
    ]
    for args, message in cases:
        result = run_cli(*args)
        assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert src.read_bytes() == b"id,kps\na,70\n"


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_header_only_input_gives_a_header_only_output(tmp_path: Path, suffix: str) -> None:
    src = write(tmp_path / "in.csv", b"id,kps\n")
    out = tmp_path / f"out{suffix}"
    result = run_cli(str(src), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    frame = pl.read_csv(out) if suffix == ".csv" else pl.read_parquet(out)
    assert frame.height == 0
    assert {"id", "kps", "sins_2010__status", "recommended_regimen", "input_error"} <= set(
        frame.columns
    )


def test_csv_output_escapes_formula_cells(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        'id,kps,months_from_cancer_diagnosis\n"=HYPERLINK(""http://x"")",70,12\n'
        "@SUM(1),70,-1\n+cmd,70,3\n-2+3,70,4\n\tx,70,5\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    assert run_cli(str(src), "-o", str(out)).exit_code == 0
    frame = pl.read_csv(out, infer_schema=False)
    assert frame["id"].to_list() == [
        '\'=HYPERLINK("http://x")',
        "'@SUM(1)",
        "'+cmd",
        "'-2+3",
        "'\tx",
    ]
    # numbers stay numbers, also a negative one (refused as out of range, shown as given)
    assert frame["months_from_cancer_diagnosis"].to_list() == ["12", "-1", "3", "4", "5"]
    assert frame["kps"].to_list() == ["70"] * 5


def test_parquet_output_is_typed(kb: KnowledgeBase, tmp_path: Path) -> None:
    src = write(
        tmp_path / "in.csv",
        b"id,kps,visceral_metastases,escc_grade,prior_rt_1_fractions,prior_rt_1_dose_per_fraction_gy\n"
        b"a,70,true,2,5,4\n",
    )
    run_batch(src, tmp_path / "out.parquet", kb)
    schema = pl.read_parquet_schema(tmp_path / "out.parquet")
    assert schema["kps"] == pl.Int64
    assert schema["visceral_metastases"] == pl.Boolean
    assert schema["prior_rt_1_dose_per_fraction_gy"] == pl.Float64
    assert schema["sins_2010__points"] == pl.Int32
    assert isinstance(schema["sins_2010__status"], pl.Enum)
    assert isinstance(schema["escc_grade"], pl.Enum)
    assert isinstance(schema["prognosis_class"], pl.Enum)
    assert isinstance(schema["sins_2010__missing"], pl.Enum)
    deciding = schema["prognosis_deciding_instruments"]
    assert isinstance(deciding, pl.List) and isinstance(deciding.inner, pl.Enum)


def test_summary_lines_are_not_wrapped(tmp_path: Path) -> None:
    # a long input_error must stay one line on stderr (rich wrapped it at the console width)
    src = write(tmp_path / "in.csv", b"id,kps,ecog,sex\n" + b"x" * 60 + b",75,7,q\n")
    result = run_cli(str(src), "-o", str(tmp_path / "out.csv"))
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert lines[0] == "1 rows read, 0 scored, 1 with input errors"
    assert len(lines) == 2 and len(lines[1]) > 120
    assert lines[1].endswith(
        'sex: "q" is not an allowed value; allowed: one of female, male, other'
    )


def test_text_columns_follow_the_field_tables_text_rule(kb: KnowledgeBase) -> None:
    # the fuzz found an id with U+001F scored in batch and refused by mescc assess
    raw = pl.DataFrame(
        {
            "id": ["a\x1fb", "x" * 101, "ok", "c"],
            "primary_tumor": ["breast", "breast", "breast", "breast\x1f"],
            "steroid_contraindication_note": [None, None, "line one\n\tline two", None],
        }
    )
    errors = score_frame(raw, kb)["input_error"].to_list()
    assert errors[0] is not None and "id: " in errors[0] and "U+001F at position 2" in errors[0]
    assert "\x1f" not in errors[0]
    assert errors[1] is not None and "is too long (101 characters)" in errors[1]
    assert errors[2] is None  # a note may hold TAB and line breaks
    assert errors[3] is not None and "\x1f" not in errors[3] and "[U+001F]" in errors[3]
