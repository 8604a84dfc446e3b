"""Several patient files at once (issue 10): each assessed, a refused one reported on stderr
naming the file and every bad field while the others are printed; exit 2 if any failed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mescc.cli import app

GOOD_A = {"id": "file-a", "primary_tumor": "breast", "ecog": 2, "escc_grade": "2"}
GOOD_C = {"id": "file-c", "primary_tumor": "prostate", "kps": 80}
BAD = {"kps": 75, "ecgo": 1}
BAD_LINES = ["kps: 75 is not allowed; allowed: 0-100 in steps of 10",
             'ecgo: unknown key; did you mean "ecog"?']  # fmt: skip


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture()
def files(tmp_path: Path) -> list[str]:
    out = []
    for name, data in (("a.json", GOOD_A), ("b.json", BAD), ("c.yaml", GOOD_C)):
        path = tmp_path / name
        path.write_text(json.dumps(data), encoding="utf-8")
        out.append(str(path))
    return out


def test_an_invalid_file_is_reported_and_the_others_printed(
    runner: CliRunner, files: list[str]
) -> None:
    result = runner.invoke(app, ["assess", *files], env={"COLUMNS": "100"})
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"{files[1]}: {line}" for line in BAD_LINES]
    out = result.stdout
    assert "patient file-a" in out and "patient file-c" in out
    assert out.index(files[0]) < out.index("patient file-a") < out.index(files[2])
    assert files[1] not in out


def test_json_of_several_files_is_an_array_with_null_for_a_refused_one(
    runner: CliRunner, files: list[str]
) -> None:
    result = runner.invoke(app, ["assess", *files, "--format", "json"])
    assert result.exit_code == 2
    docs = json.loads(result.stdout)
    assert [d and d["patient"]["id"] for d in docs] == ["file-a", None, "file-c"]


def test_several_valid_files_exit_0(runner: CliRunner, files: list[str]) -> None:
    good = [files[0], files[2]]
    result = runner.invoke(app, ["assess", *good, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert [d["patient"]["id"] for d in json.loads(result.stdout)] == ["file-a", "file-c"]
    markdown = runner.invoke(app, ["assess", *good, "--format", "markdown"])
    assert markdown.exit_code == 0, markdown.stderr
    heads = [line for line in markdown.stdout.splitlines() if line.startswith("# ")]
    assert len(heads) == 2 and "a.json" in heads[0] and "c.yaml" in heads[1]


def test_one_file_is_one_document_not_an_array(runner: CliRunner, files: list[str]) -> None:
    result = runner.invoke(app, ["assess", files[0], "--format", "json"])
    assert result.exit_code == 0
    doc: Any = json.loads(result.stdout)
    assert isinstance(doc, dict) and doc["patient"]["id"] == "file-a"


def test_a_single_invalid_file_prints_nothing_on_stdout(
    runner: CliRunner, files: list[str]
) -> None:
    for fmt in ("text", "json", "markdown"):
        result = runner.invoke(app, ["assess", files[1], "--format", fmt])
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr.splitlines() == BAD_LINES


def test_a_missing_file_among_several_is_named_once(
    runner: CliRunner, files: list[str], tmp_path: Path
) -> None:
    missing = str(tmp_path / "absent.json")
    result = runner.invoke(app, ["assess", files[0], missing, "--format", "json"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"{missing}: cannot read (No such file or directory)"]
    assert [d and d["patient"]["id"] for d in json.loads(result.stdout)] == ["file-a", None]


def test_standard_input_among_files(runner: CliRunner, files: list[str]) -> None:
    result = runner.invoke(
        app, ["assess", files[0], "-", "--format", "json"], input=json.dumps(GOOD_C)
    )
    assert result.exit_code == 0, result.stderr
    assert [d["patient"]["id"] for d in json.loads(result.stdout)] == ["file-a", "file-c"]


def test_the_default_text_is_the_board_summary_within_40_lines(
    runner: CliRunner, files: list[str]
) -> None:
    summary = runner.invoke(app, ["assess", files[0]], env={"COLUMNS": "100"})
    full = runner.invoke(app, ["assess", files[0], "--detail", "full"], env={"COLUMNS": "100"})
    assert summary.exit_code == full.exit_code == 0
    assert len(summary.stdout.splitlines()) <= 40 < len(full.stdout.splitlines())
    assert "Prognostic and classification instruments" in full.stdout
    assert "Prognostic and classification instruments" not in summary.stdout
