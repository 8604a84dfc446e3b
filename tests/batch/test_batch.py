"""Batch scoring as the contract states it: CSV or parquet in and out, bad rows never scored.

OUTPUT keeps every input column and adds ``<id>__status``, ``<id>__points``, ``<id>__group`` for
every instrument, ``recommended_regimen`` and ``input_error``. A bad row gets an ``input_error``
naming the field and value, no scores, and is counted on stderr; ``--strict`` fails the run with
exit 2. The results equal those of the single-patient path.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from mescc.assessment import assess_instruments
from mescc.batch import BatchSummary, check_columns, run_batch, validate_frame
from mescc.cli import app
from mescc.errors import InputError
from mescc.fields import FIELD_BY_KEY
from mescc.kb.loader import KnowledgeBase
from mescc.patient import Patient

COLUMNS = [
    "id", "age_years", "primary_tumor", "kps", "ecog", "visceral_metastases",
    "visceral_metastases_resectable", "other_bone_metastases", "extraskeletal_metastases",
    "extraspinal_bone_metastases", "vertebral_body_metastases", "frankel_grade",
    "months_from_cancer_diagnosis", "ambulatory_status", "motor_deficit_days", "escc_grade",
    "sins_location", "sins_pain", "sins_bone_lesion", "sins_alignment", "sins_collapse",
    "sins_posterolateral",
]  # fmt: skip
GOOD_1 = ["p1", "71", "breast", "70", "", "false", "", "true", "false", "2", "3", "D", "40",
          "ambulatory_with_aid", "10", "2", "junctional", "mechanical", "lytic", "normal",
          "under_50", "unilateral"]  # fmt: skip
BAD_2 = ["p2", "65", "lung_nsclc", "75", "", "maybe", "", "true", "true", "", "", "", "3",
         "paraplegic", "2", "", "", "", "", "", "", ""]  # fmt: skip
GOOD_3 = ["p3", "", "", "", "2", "true", "true", "", "", "", "1", "", "15.5", "", "7", "1c",
          "", "", "", "", "", ""]  # fmt: skip
BAD_4 = ["p4", "17", "prostate", "", "", "false", "true", "", "", "", "", "", "", "", "", "",
         "", "", "", "", "", ""]  # fmt: skip
ROWS = [GOOD_1, BAD_2, GOOD_3, BAD_4]
ERRORS = {
    "p2": [
        "kps: 75 is not allowed; allowed: 0-100 in steps of 10",
        'visceral_metastases: "maybe" is not a boolean; allowed: true or false',
    ],
    "p4": [
        "age_years: 17 is out of range; allowed: integer 18-120",
        "visceral_metastases_resectable: true contradicts visceral_metastases: false; "
        "allowed: only with visceral_metastases: true",
    ],
}


def write_csv(path: Path, columns: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        w.writerows(rows)
    return path


def parse(key: str, text: str) -> Any:
    if text == "":
        return None
    kind = FIELD_BY_KEY[key].kind
    if kind == "bool":
        return {"true": True, "false": False}[text]
    if kind == "int":
        return int(text)
    if kind == "number":
        return float(text)
    return text


def patient_of(columns: list[str], row: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, text in zip(columns, row, strict=True):
        value = parse(key, text)
        if value is None:
            continue
        if key.startswith("sins_"):
            data.setdefault("sins", {})[key.removeprefix("sins_")] = value
        else:
            data[key] = value
    return data


def typed_input(columns: list[str], rows: list[list[str]]) -> pl.DataFrame:
    """The good rows as a typed frame (what a parquet file from a registry would hold)."""
    dtypes = {"int": pl.Int64, "number": pl.Float64, "bool": pl.Boolean}
    schema = {c: dtypes.get(FIELD_BY_KEY[c].kind, pl.String) for c in columns}
    data = [[parse(c, t) for c, t in zip(columns, r, strict=True)] for r in rows]
    return pl.DataFrame(data, schema=schema, orient="row")


def read_output(path: Path) -> pl.DataFrame:
    if path.suffix == ".csv":
        return pl.read_csv(path, infer_schema=False)
    return pl.read_parquet(path)


def result_columns(kb: KnowledgeBase) -> list[str]:
    return [f"{i}__{p}" for i in kb.instruments for p in ("status", "points", "group", "missing")]


PLAN_OUTPUT = [
    "recommended_regimen",
    "prognosis_class",
    "prognosis_ranking_class",
    "prognosis_deciding_instruments",
]


def output_columns(kb: KnowledgeBase, inputs: list[str]) -> list[str]:
    return [*inputs, *result_columns(kb), *PLAN_OUTPUT, "knowledge_base_version", "input_error"]


def as_text(value: Any) -> str | None:
    return None if value is None else str(value)


def assert_equals_single_path(out: pl.DataFrame, kb: KnowledgeBase, rows: list[list[str]]) -> None:
    by_id = {r["id"]: r for r in out.iter_rows(named=True)}
    for row in rows:
        pid = row[0]
        got = by_id[pid]
        if pid in ERRORS:
            continue
        results = assess_instruments(patient_of(COLUMNS, row), kb).instruments
        for iid, r in results.items():
            want = (r.status, as_text(r.points), r.group)
            have = tuple(as_text(got[f"{iid}__{p}"]) for p in ("status", "points", "group"))
            assert have == want, f"{pid} {iid}: batch {have} != assess {want}"


@pytest.fixture()
def csv_input(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "in.csv", COLUMNS, ROWS)


@pytest.mark.parametrize("out_suffix", [".csv", ".parquet"])
def test_csv_in(kb: KnowledgeBase, csv_input: Path, tmp_path: Path, out_suffix: str) -> None:
    out_path = tmp_path / f"out{out_suffix}"
    summary = run_batch(csv_input, out_path, kb)
    assert isinstance(summary, BatchSummary)
    assert (summary.rows, summary.scored, summary.bad) == (4, 2, 2)
    out = read_output(out_path)
    assert out.columns == output_columns(kb, COLUMNS)
    assert out.height == 4
    # every input column kept: as given in CSV, typed in parquet (a bad value is null there and
    # quoted in input_error)
    kept = ["70", "75", "", ""] if out_suffix == ".csv" else ["70", "", "", ""]
    assert [as_text(v) or "" for v in out["kps"].to_list()] == kept
    assert out["id"].to_list() == ["p1", "p2", "p3", "p4"]
    assert_equals_single_path(out, kb, ROWS)


@pytest.mark.parametrize("out_suffix", [".csv", ".parquet"])
def test_parquet_in(kb: KnowledgeBase, tmp_path: Path, out_suffix: str) -> None:
    good = [GOOD_1, GOOD_3]
    in_path = tmp_path / "in.parquet"
    typed_input(COLUMNS, good).write_parquet(in_path)
    out_path = tmp_path / f"out{out_suffix}"
    summary = run_batch(in_path, out_path, kb)
    assert (summary.rows, summary.scored, summary.bad) == (2, 2, 0)
    out = read_output(out_path)
    assert out.columns[: len(COLUMNS)] == COLUMNS
    assert set(result_columns(kb)) <= set(out.columns)
    assert out["input_error"].null_count() == 2
    assert_equals_single_path(out, kb, good)


def test_bad_row_gets_input_error_and_no_scores(
    kb: KnowledgeBase, csv_input: Path, tmp_path: Path
) -> None:
    out_path = tmp_path / "out.parquet"
    run_batch(csv_input, out_path, kb)
    out = read_output(out_path)
    for row in out.iter_rows(named=True):
        pid = row["id"]
        if pid in ERRORS:
            assert row["input_error"] is not None
            for message in ERRORS[pid]:
                assert message in row["input_error"], f"{pid}: {message!r} not named"
            for col in [*result_columns(kb), *PLAN_OUTPUT]:
                assert row[col] is None, f"{pid}: bad row was scored ({col} = {row[col]!r})"
            assert row["recommended_regimen"] is None
        else:
            assert row["input_error"] is None, f"{pid}: {row['input_error']}"
            assert row["sins_2010__status"] is not None


def test_summary_counts_and_names_bad_rows(
    kb: KnowledgeBase, csv_input: Path, tmp_path: Path
) -> None:
    summary = run_batch(csv_input, tmp_path / "out.csv", kb)
    lines = summary.lines()
    assert lines[0] == "4 rows read, 2 scored, 2 with input errors"
    assert lines[1].startswith("row 2 (id p2): ")
    assert lines[2].startswith("row 4 (id p4): ")
    assert all(m in lines[1] for m in ERRORS["p2"])


def test_strict_fails_without_writing(kb: KnowledgeBase, csv_input: Path, tmp_path: Path) -> None:
    out_path = tmp_path / "out.csv"
    with pytest.raises(InputError) as caught:
        run_batch(csv_input, out_path, kb, strict=True)
    assert any("row 2 (id p2)" in p.message for p in caught.value.problems)
    assert not out_path.exists()
    assert list(tmp_path.iterdir()) == [csv_input]


def test_chunks_give_the_same_output(kb: KnowledgeBase, csv_input: Path, tmp_path: Path) -> None:
    run_batch(csv_input, tmp_path / "one.csv", kb)
    run_batch(csv_input, tmp_path / "many.csv", kb, chunk_rows=1)
    assert (tmp_path / "one.csv").read_text() == (tmp_path / "many.csv").read_text()


# --------------------------------------------------------------------------- validation


def test_validate_frame_gives_one_error_cell_per_row() -> None:
    # regression: without the visceral detail columns the row-error column must still have
    # one cell per row (it was built from a single literal)
    raw = pl.DataFrame({"id": ["a", "b", "c"], "kps": ["70", "75", ""]})
    typed, errors = validate_frame(raw)
    assert errors.len() == typed.height == 3
    assert errors.to_list() == [None, "kps: 75 is not allowed; allowed: 0-100 in steps of 10", None]


def test_one_bad_row_is_reported_not_a_crash(kb: KnowledgeBase, tmp_path: Path) -> None:
    in_path = write_csv(tmp_path / "in.csv", ["id", "kps"], [["only", "75"]])
    summary = run_batch(in_path, tmp_path / "out.csv", kb)
    assert (summary.rows, summary.scored, summary.bad) == (1, 0, 1)
    assert summary.examples == [
        "row 1 (id only): kps: 75 is not allowed; allowed: 0-100 in steps of 10"
    ]


@pytest.mark.parametrize(
    ("column", "text", "given"),
    [
        ("kps", "75", 75),
        ("kps", "110", 110),
        ("kps", "abc", "abc"),
        ("ecog", "1.5", 1.5),
        ("age_years", "17", 17),
        ("months_from_cancer_diagnosis", "-1", -1),
        ("sex", "f", "f"),
        ("visceral_metastases", "yes", "yes"),
        ("escc_grade", "4", "4"),
        ("primary_tumor", "lung", "lung"),
        ("frankel_grade", "a", "a"),
    ],
)
def test_batch_messages_equal_the_patient_messages(column: str, text: str, given: Any) -> None:
    raw = pl.DataFrame({column: [text, ""]})
    typed, errors = validate_frame(raw)
    with pytest.raises(InputError) as caught:
        Patient.from_data({column: given})
    assert errors.to_list() == [caught.value.problems[0].message, None]
    assert typed[column].to_list() == [None, None]


def test_validate_frame_types_good_values() -> None:
    raw = pl.DataFrame(
        {
            "kps": ["70", "", "100"],
            "visceral_metastases": ["true", "false", ""],
            "months_from_cancer_diagnosis": ["15.5", "0", ""],
            "escc_grade": ["1c", "", "0"],
        }
    )
    typed, errors = validate_frame(raw)
    assert errors.to_list() == [None, None, None]
    assert typed.schema["kps"] == pl.Int64
    assert typed["kps"].to_list() == [70, None, 100]
    assert typed["visceral_metastases"].to_list() == [True, False, None]
    assert typed["months_from_cancer_diagnosis"].to_list() == [15.5, 0.0, None]
    assert typed["escc_grade"].to_list() == ["1c", None, "0"]


def test_validate_frame_lists_every_problem_of_a_row() -> None:
    raw = pl.DataFrame({"kps": ["75"], "ecog": ["7"], "sex": ["x"]})
    _, errors = validate_frame(raw)
    assert errors.to_list() == [
        "kps: 75 is not allowed; allowed: 0-100 in steps of 10; "
        "ecog: 7 is out of range; allowed: integer 0-4; "
        'sex: "x" is not an allowed value; allowed: one of female, male, other'
    ]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (["kpss"], 'kpss: unknown key; did you mean "kps"?'),
        (
            ["sins"],
            "sins: not a batch column; allowed: the scalar patient keys (sins flattened as "
            "sins_location, sins_pain, ...; prior courses as prior_rt_1_fractions, ...; "
            "preferences as preference_priority, ...)",
        ),
        (["prior_radiotherapy"], "prior_radiotherapy: not a batch column"),
        (["preferences"], "preferences: not a batch column"),
    ],
)
def test_unknown_columns_are_refused(columns: list[str], message: str) -> None:
    with pytest.raises(InputError) as caught:
        check_columns(["id", *columns])
    assert [p.field for p in caught.value.problems] == columns
    assert caught.value.problems[0].message.startswith(message)


def test_known_columns_pass() -> None:
    check_columns([*COLUMNS, "input_error", "recommended_regimen"])


# --------------------------------------------------------------------------- the command


def test_cli_batch_csv(kb: KnowledgeBase, csv_input: Path, tmp_path: Path) -> None:
    out_path = tmp_path / "out.parquet"
    result = CliRunner().invoke(app, ["batch", str(csv_input), "-o", str(out_path)])
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "4 rows read, 2 scored, 2 with input errors"
    assert any(line.startswith("row 2 (id p2): kps: 75 is not allowed") for line in lines)
    out = read_output(out_path)
    assert out.height == 4
    assert_equals_single_path(out, kb, ROWS)


def test_cli_batch_strict_exits_2(csv_input: Path, tmp_path: Path) -> None:
    out_path = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["batch", str(csv_input), "-o", str(out_path), "--strict"])
    assert result.exit_code == 2
    assert "row 2 (id p2)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out_path.exists()


def test_cli_batch_strict_passes_a_clean_file(tmp_path: Path) -> None:
    in_path = write_csv(tmp_path / "in.csv", COLUMNS, [GOOD_1, GOOD_3])
    out_path = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["batch", str(in_path), "-o", str(out_path), "--strict"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[0] == "2 rows read, 2 scored, 0 with input errors"
    assert read_output(out_path).height == 2


def test_cli_batch_unknown_column_exits_2(tmp_path: Path) -> None:
    in_path = write_csv(tmp_path / "in.csv", ["id", "kpss"], [["a", "70"]])
    result = CliRunner().invoke(app, ["batch", str(in_path), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
    assert result.stderr.strip() == 'kpss: unknown key; did you mean "kps"?'


@pytest.mark.parametrize(
    ("input_name", "output_name", "message"),
    [
        (
            "in.csv",
            "out.xlsx",
            "OUTPUT: out.xlsx has an unsupported extension; allowed: .csv or .parquet",
        ),
        (
            "in.txt",
            "out.csv",
            "INPUT: in.txt has an unsupported extension; allowed: .csv or .parquet",
        ),
    ],
)
def test_cli_batch_unsupported_extension(
    tmp_path: Path, input_name: str, output_name: str, message: str
) -> None:
    in_path = write_csv(tmp_path / input_name, ["id"], [["a"]])
    result = CliRunner().invoke(app, ["batch", str(in_path), "-o", str(tmp_path / output_name)])
    assert result.exit_code == 2
    assert message in result.stderr


def test_cli_batch_missing_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["batch", str(tmp_path / "none.csv"), "-o", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
