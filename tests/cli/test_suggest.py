"""A mistyped value gets a did-you-mean hint, as a mistyped key does: in ``mescc assess`` and in
the batch ``input_error`` text, by one rule (``mescc.suggest``), never a silent correction."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from mescc.batch.validate import validate_frame
from mescc.cli import app
from mescc.fields import FIELD_BY_KEY
from mescc.suggest import closest, hint

TUMORS = ", ".join(FIELD_BY_KEY["primary_tumor"].values or ())
GRADES = ", ".join(FIELD_BY_KEY["escc_grade"].values or ())

#: (key, value as written, the hint's allowed spelling or None).
CASES = [
    ("primary_tumor", "brest", "breast"),
    ("primary_tumor", "Breast", "breast"),
    ("primary_tumor", "BREAST", "breast"),
    ("primary_tumor", "prostrate", "prostate"),
    ("primary_tumor", "lung nsclc", "lung_nsclc"),
    ("primary_tumor", "Head-Neck", "head_neck"),
    ("escc_grade", "1C", "1c"),
    ("frankel_grade", "d", "D"),
    ("ambulatory_status", "ambulatory with aid", "ambulatory_with_aid"),
    ("ambulatory_status", "non ambulatory", "not_ambulatory"),
    ("sins_collapse", "over 50", "over_50"),
    # ambiguous: as close to lung_sclc as to lung_nsclc; to 1a, 1b and 1c
    ("primary_tumor", "lung", None),
    ("escc_grade", "1", None),
    ("escc_grade", "1d", None),
    # a hint never flips a negation
    ("ambulatory_status", "ambulatory", None),
    ("sins_pain", "non mechanical", None),
    # "None" means unknown, not the value none (no collapse)
    ("sins_collapse", "None", None),
    ("primary_tumor", "kidney", None),
]


@pytest.mark.parametrize(("key", "given", "meant"), CASES)
def test_closest_allowed_spelling(key: str, given: str, meant: str | None) -> None:
    assert closest(given, FIELD_BY_KEY[key].values or ()) == meant


def test_no_hint_for_an_allowed_value_or_a_number() -> None:
    assert hint("breast", ("breast", "prostate")) == ""
    assert hint(1, ("1a", "1b")) == ""


def _assess_errors(tmp_path: Path, text: str) -> tuple[int, list[str]]:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["assess", str(path), "--format", "json"])
    return result.exit_code, result.stderr.splitlines()


def test_assess_names_field_value_hint_and_allowed(tmp_path: Path) -> None:
    code, lines = _assess_errors(
        tmp_path, "id: p1\nprimary_tumor: brest\nescc_grade: 1C\nvisceral_metastases: True\n"
    )
    assert code == 2
    assert lines == [
        f'primary_tumor: "brest" is not an allowed value (did you mean "breast"?); allowed: '
        f"one of {TUMORS}",
        f'escc_grade: "1C" is not an allowed value (did you mean "1c"?); allowed: one of {GRADES}',
        'visceral_metastases: "True" is not a boolean (did you mean true?); allowed: true or false',
    ]


def test_assess_case_typo(tmp_path: Path) -> None:
    code, lines = _assess_errors(tmp_path, "id: p1\nprimary_tumor: Breast\n")
    assert code == 2
    assert lines == [
        f'primary_tumor: "Breast" is not an allowed value (did you mean "breast"?); allowed: '
        f"one of {TUMORS}"
    ]


def test_an_ambiguous_value_gets_no_hint(tmp_path: Path) -> None:
    _, lines = _assess_errors(tmp_path, "id: p1\nprimary_tumor: lung\nvisceral_metastases: yes\n")
    assert lines == [
        f'primary_tumor: "lung" is not an allowed value; allowed: one of {TUMORS}',
        'visceral_metastases: "yes" is not a boolean; allowed: true or false',
    ]


def test_batch_input_error_has_the_same_hints(tmp_path: Path) -> None:
    raw = pl.DataFrame(
        {
            "id": ["p1", "p2", "p3"],
            "primary_tumor": ["brest", "Breast", "lung"],
            "escc_grade": ["1C", "1c", "1"],
            "visceral_metastases": ["True", "false", "yes"],
        }
    )
    _, errors = validate_frame(raw)
    assert errors.to_list() == [
        f'primary_tumor: "brest" is not an allowed value (did you mean "breast"?); allowed: '
        f'one of {TUMORS}; escc_grade: "1C" is not an allowed value (did you mean "1c"?); '
        f'allowed: one of {GRADES}; visceral_metastases: "True" is not a boolean (did you mean '
        "true?); allowed: true or false",
        f'primary_tumor: "Breast" is not an allowed value (did you mean "breast"?); allowed: '
        f"one of {TUMORS}",
        f'primary_tumor: "lung" is not an allowed value; allowed: one of {TUMORS}; escc_grade: '
        f'"1" is not an allowed value; allowed: one of {GRADES}; visceral_metastases: "yes" is '
        "not a boolean; allowed: true or false",
    ]


@pytest.mark.parametrize("given", ["brest", "Breast", "lung", "1C"])
def test_batch_and_assess_write_the_same_sentence(tmp_path: Path, given: str) -> None:
    key = "escc_grade" if given == "1C" else "primary_tumor"
    _, lines = _assess_errors(tmp_path, f"id: p1\n{key}: {given}\n")
    _, errors = validate_frame(pl.DataFrame({"id": ["p1"], key: [given]}))
    assert errors.to_list() == lines


def test_a_key_typo_still_gets_its_hint(tmp_path: Path) -> None:
    _, lines = _assess_errors(tmp_path, "id: p1\necgo: 2\nPrimary_Tumor: breast\n")
    assert lines == [
        'ecgo: unknown key; did you mean "ecog"?',
        'Primary_Tumor: unknown key; did you mean "primary_tumor"?',
    ]
