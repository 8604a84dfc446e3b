"""``mescc assess`` on hostile input (issue 9): never a traceback, exit 2 with one clear line per
problem, and no bad value ever scored; ``mescc dose`` refuses impossible regimens.

Every case goes through the command line, the way a user meets it.
"""

from __future__ import annotations

import codecs
import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from mescc import document as core
from mescc.cli import app
from mescc.fields import COURSE_FIELDS
from mescc.render.text import render_text

#: The keys of a course, as the messages list them (the table may gain keys).
COURSE_KEYS = ", ".join(f.key for f in COURSE_FIELDS)

GOOD = {
    "id": "case-9",
    "age_years": 64,
    "primary_tumor": "breast",
    "ecog": 1,
    "ambulatory_status": "ambulatory_without_aid",
    "visceral_metastases": False,
}


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def assess(runner: CliRunner, tmp_path: Path, data: bytes, name: str) -> Any:
    path = tmp_path / name
    path.write_bytes(data)
    result = runner.invoke(app, ["assess", str(path), "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    return result


def refused(runner: CliRunner, tmp_path: Path, data: bytes, name: str = "p.yaml") -> list[str]:
    result = assess(runner, tmp_path, data, name)
    assert result.exit_code == 2, result.stdout[:300]
    assert result.stdout == ""
    lines: list[str] = result.stderr.splitlines()
    return [line.replace(str(tmp_path / name), name) for line in lines]


# --------------------------------------------------------------------------- unknown stays unknown


@pytest.mark.parametrize(
    ("text", "messages"),
    [
        (
            "prior_radiotherapy: [null, null]\n",
            [
                "prior_radiotherapy[0]: null is not a course; allowed: an object with keys "
                f"{COURSE_KEYS}",
                "prior_radiotherapy[1]: null is not a course; allowed: an object with keys "
                f"{COURSE_KEYS}",
            ],
        ),
        (
            "prior_radiotherapy: [{fractions: 5, dose_per_fraction_gy: 4}, null]\n",
            [
                "prior_radiotherapy[1]: null is not a course; allowed: an object with keys "
                f"{COURSE_KEYS}"
            ],
        ),
        (
            "prior_radiotherapy: [5]\n",
            [
                "prior_radiotherapy[0]: 5 is not an object; allowed: an object with keys "
                f"{COURSE_KEYS}"
            ],
        ),
        (
            "prior_radiotherapy: [[]]\n",
            [
                "prior_radiotherapy[0]: [] is not an object; allowed: an object with keys "
                f"{COURSE_KEYS}"
            ],
        ),
        (
            "prior_radiotherapy:\n" + "  - {fractions: 5, dose_per_fraction_gy: 4}\n" * 11,
            [
                "prior_radiotherapy: 11 courses are too many; allowed: a list of at most 10 "
                f"courses, each an object with keys {COURSE_KEYS}"
            ],
        ),
    ],
    ids=["two-nulls", "one-null", "number", "list", "eleven-courses"],
)
def test_null_or_malformed_list_elements_are_input_errors(
    runner: CliRunner, tmp_path: Path, text: str, messages: list[str]
) -> None:
    assert refused(runner, tmp_path, text.encode()) == messages


def test_an_empty_course_list_is_a_known_negative_and_a_missing_one_unknown(
    runner: CliRunner, tmp_path: Path
) -> None:
    empty = assess(
        runner, tmp_path, json.dumps({**GOOD, "prior_radiotherapy": []}).encode(), "a.json"
    )
    missing = assess(runner, tmp_path, json.dumps(GOOD).encode(), "b.json")
    assert empty.exit_code == missing.exit_code == 0
    assert json.loads(empty.stdout)["patient"]["prior_radiotherapy"] == []
    assert "prior_radiotherapy" not in json.loads(missing.stdout)["patient"]


# --------------------------------------------------------------------------- read as written


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("age_years: 1:00\n", 'age_years: "1:00" is not an integer; allowed: integer 18-120'),
        ("visceral_metastases: yes\n",
         'visceral_metastases: "yes" is not a boolean; allowed: true or false'),
        ("sensory_deficits: no\n",
         'sensory_deficits: "no" is not a boolean; allowed: true or false'),
        ("hepatic_metastases: on\n",
         'hepatic_metastases: "on" is not a boolean; allowed: true or false'),
        ("sphincter_dysfunction: True\n",
         'sphincter_dysfunction: "True" is not a boolean (did you mean true?); allowed: true or '
         'false'),
        ("sphincter_dysfunction: 1\n",
         "sphincter_dysfunction: 1 is not a boolean; allowed: true or false"),
        ("age_years: 0x40\n", 'age_years: "0x40" is not an integer; allowed: integer 18-120'),
        ("id: !!binary aGVsbG8=\n", "p.yaml: a YAML tag (tag:yaml.org,2002:binary) at line 1, "
         "column 5 (id); allowed: plain JSON-compatible values (no tags)"),
    ],
)  # fmt: skip
def test_yaml_1_1_quirks_are_refused_never_read_as_something_else(
    runner: CliRunner, tmp_path: Path, text: str, message: str
) -> None:
    assert refused(runner, tmp_path, text.encode()) == [message]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("p.yaml", b"kps: 70\necog: 1\nkps: 80\n",
         "kps: duplicate key (at line 1, column 1 and line 3, column 1); allowed: each key once"),
        ("p.json", b'{"kps": 70,\n "ecog": 1,\n "kps": 80}',
         "kps: duplicate key (at line 1, column 2 and line 3, column 2); allowed: each key once"),
        ("p.yaml", b"sins:\n  pain: mechanical\n  pain: pain_free\n",
         "sins.pain: duplicate key (at line 2, column 3 and line 3, column 3); allowed: each key "
         "once"),
    ],
)  # fmt: skip
def test_duplicate_keys_are_refused_naming_both_positions(
    runner: CliRunner, tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    assert refused(runner, tmp_path, data, name) == [message]


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF8 + b"age_years: 64\n",
        codecs.BOM_UTF16_LE + "age_years: 64\n".encode("utf-16-le"),
        codecs.BOM_UTF16_BE + "age_years: 64\n".encode("utf-16-be"),
    ],
    ids=["utf-8-bom", "utf-16-le-bom", "utf-16-be-bom"],
)
def test_files_with_a_byte_order_mark_are_read(
    runner: CliRunner, tmp_path: Path, data: bytes
) -> None:
    result = assess(runner, tmp_path, data, "p.yaml")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["patient"] == {"age_years": 64}


@pytest.mark.parametrize(
    ("data", "start"),
    [
        ("id: Müller\n".encode("latin-1"), "p.yaml: is not valid UTF-8 text (byte 5, line 1"),
        ("age_years: 64\n".encode("utf-16-le"), "p.yaml: contains a NUL character"),
        ("age_years: 64\n".encode("utf-32"), "p.yaml: is UTF-32 text"),
        (b'{"id": "\\ud800"}', "p.yaml: is not valid YAML (line 1, column 11: found invalid"),
        (b"\xff\xfe\x00\xd8", "p.yaml: is not valid UTF-16 text"),
    ],
    ids=["latin-1", "utf-16-no-bom", "utf-32", "escaped-surrogate", "utf-16-surrogate"],
)
def test_other_encodings_are_one_line_exit_2(
    runner: CliRunner, tmp_path: Path, data: bytes, start: str
) -> None:
    (line,) = refused(runner, tmp_path, data, "p.yaml")
    assert line.startswith(start)


def test_standard_input_is_read_by_the_same_strict_reader(runner: CliRunner) -> None:
    result = runner.invoke(app, ["assess", "-"], input=b"kps: 70\nkps: 80\n")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "kps: duplicate key (at line 1, column 1 and line 2, column 1); allowed: each key once"
    ]
    result = runner.invoke(app, ["assess", "-"], input="age_years: 64\n".encode("utf-16-le"))
    assert result.exit_code == 2
    assert result.stderr.startswith("stdin: contains a NUL character")


# --------------------------------------------------------------------------- impossible values


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"involved_vertebrae": 99999999999999999999}',
         "involved_vertebrae: 99999999999999999999 is out of range; allowed: integer 1-33"),
        (b'{"involved_vertebrae": 9223372036854775807}',
         "involved_vertebrae: 9223372036854775807 is out of range; allowed: integer 1-33"),
        (b'{"age_years": ' + b"9" * 400 + b"}",
         "age_years: " + "9" * 60 + "... (400 digits) is out of range; allowed: integer 18-120"),
        (b'{"motor_deficit_days": 1e400}',
         "motor_deficit_days: 1e400 is out of range; allowed: number 0-3650"),
        (b'{"kps": NaN}', "kps: NaN is not a finite number; allowed: 0-100 in steps of 10"),
        (b'{"vertebral_body_metastases": 34}',
         "vertebral_body_metastases: 34 is out of range; allowed: integer 1-33"),
        (b'{"extraspinal_bone_metastases": 1001}',
         "extraspinal_bone_metastases: 1001 is out of range; allowed: integer 0-1000"),
        (b'{"months_from_cancer_diagnosis": 1441}',
         "months_from_cancer_diagnosis: 1441 is out of range; allowed: number 0-1440"),
        (b'{"paraplegia_hours": 87601}',
         "paraplegia_hours: 87601 is out of range; allowed: number 0-87600"),
        (b'{"prior_palliative_chemotherapy_courses": 31}',
         "prior_palliative_chemotherapy_courses: 31 is out of range; allowed: integer 0-30"),
        (b'{"prior_radiotherapy": [{"fractions": 9223372036854775807, '
         b'"dose_per_fraction_gy": 0}]}',
         "prior_radiotherapy[0].fractions: 9223372036854775807 is out of range; allowed: "
         "integer 1-100\nprior_radiotherapy[0].dose_per_fraction_gy: 0 is out of range; "
         "allowed: number 0.1-30"),
        (b'{"prior_radiotherapy": [{"fractions": 1, "dose_per_fraction_gy": 1e308, '
         b'"months_before": 1e400}]}',
         "prior_radiotherapy[0].dose_per_fraction_gy: 1e+308 is out of range; allowed: number "
         "0.1-30\nprior_radiotherapy[0].months_before: 1e400 is out of range; allowed: number "
         "0-1440"),
    ],
)  # fmt: skip
def test_impossible_numbers_are_refused_naming_field_value_and_range(
    runner: CliRunner, tmp_path: Path, data: bytes, message: str
) -> None:
    assert refused(runner, tmp_path, data, "p.json") == message.splitlines()


# --------------------------------------------------------------------------- limits


def test_billion_laughs_fails_with_one_short_line(runner: CliRunner, tmp_path: Path) -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"{c}: &{c} [" + ", ".join([f"*{chr(ord(c) - 1)}"] * 9) + "]" for c in "bcdefghi"]
    (line,) = refused(runner, tmp_path, "\n".join(lines).encode())
    assert line == (
        "p.yaml: a YAML anchor (&a) at line 1, column 4 (a); allowed: plain values (no "
        "anchors/aliases)"
    )


@pytest.mark.parametrize("name", ["p.json", "p.yaml"])
def test_deep_nesting_is_one_line(runner: CliRunner, tmp_path: Path, name: str) -> None:
    (line,) = refused(runner, tmp_path, b'{"sins": ' + b"[" * 2000 + b"]" * 2000 + b"}", name)
    assert "deeper than 10 levels" in line


def test_thousands_of_unknown_keys_are_refused_before_per_key_work(
    runner: CliRunner, tmp_path: Path
) -> None:
    many = "{" + ",".join(f'"k{i}":1' for i in range(12_000)) + "}"
    assert refused(runner, tmp_path, many.encode(), "p.json") == [
        "p.json: is larger than 64 KiB; allowed: at most 65536 bytes (a patient record is a "
        "few kilobytes)"
    ]
    fewer = "{" + ",".join(f'"k{i}":1' for i in range(5_000)) + "}"
    assert refused(runner, tmp_path, fewer.encode(), "p.json") == [
        "patient: an object of 5000 keys; allowed: at most 100 keys (the contract has about 40)"
    ]


def test_at_most_fifty_problems_are_listed_then_how_many_more(
    runner: CliRunner, tmp_path: Path
) -> None:
    data = {f"unknown_{i}": 1 for i in range(90)}
    lines = refused(runner, tmp_path, json.dumps(data).encode(), "p.json")
    assert len(lines) == 51
    assert lines[-1].startswith("...: and 40 more problems not listed (in unknown_50, ")


def test_a_long_value_is_echoed_shortened(runner: CliRunner, tmp_path: Path) -> None:
    (line,) = refused(runner, tmp_path, json.dumps({"sex": "f" * 9000}).encode(), "p.json")
    assert line == (
        'sex: "' + "f" * 60 + '"... (9000 characters) is not an allowed value; allowed: one of '
        "female, male, other"
    )


# --------------------------------------------------------------------------- output spoofing


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": "\x1b[2J\x1b[31mMRN-1"},
         'id: "[U+001B][2J[U+001B][31mMRN-1" contains a control, bidi or invisible formatting '
         "character (U+001B at position 1 and 1 more); allowed: text of at most 100 "
         "characters, without control, bidi or invisible formatting characters"),
        ({"steroid_contraindication": True,
          "steroid_contraindication_note": "diabetes\u202e ,yltnerruc dethgiew"},
         'steroid_contraindication_note: "diabetes[U+202E] ,yltnerruc dethgiew" contains a '
         "control, bidi or invisible formatting character (U+202E at position 9); allowed: "
         "text of at most 1000 characters, without control, bidi or invisible formatting "
         "characters"),
        ({"id": "a\u2066b\u2069"},
         'id: "a[U+2066]b[U+2069]" contains a control, bidi or invisible formatting character '
         "(U+2066 at position 2 and 1 more); allowed: text of at most 100 characters, without "
         "control, bidi or invisible formatting characters"),
        ({"id": "a\u200bb"},
         'id: "a[U+200B]b" contains a control, bidi or invisible formatting character (U+200B '
         "at position 2); allowed: text of at most 100 characters, without control, bidi or "
         "invisible formatting characters"),
        ({"\x1b[2Jkps": 70}, '[U+001B][2Jkps: unknown key; did you mean "kps"?'),
    ],
)  # fmt: skip
def test_hidden_characters_are_refused_and_never_printed_raw(
    runner: CliRunner, tmp_path: Path, data: dict[str, Any], message: str
) -> None:
    lines = refused(runner, tmp_path, json.dumps(data).encode(), "p.json")
    assert lines == [message]


def test_a_note_may_hold_line_breaks_and_tabs(runner: CliRunner, tmp_path: Path) -> None:
    note = "insulin-dependent diabetes\n\tHbA1c 9%"
    data = {**GOOD, "steroid_contraindication": True, "steroid_contraindication_note": note}
    result = assess(runner, tmp_path, json.dumps(data).encode(), "p.json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["patient"]["steroid_contraindication_note"] == note


def test_the_text_renderer_shows_hidden_characters_that_reach_it() -> None:
    # Defence in depth: a document made elsewhere (an older stored record) still renders safely.
    doc = core.assessment_document(
        {**GOOD, "steroid_contraindication": True, "steroid_contraindication_note": "x"}
    )
    doc = json.loads(
        json.dumps(doc)
        .replace('"case-9"', '"\\u001b[2Jcase\\u202e9"')
        .replace("(x)", "(x\\u202e\\u001b[31m)")
    )
    out = io.StringIO()
    render_text(doc, Console(file=out, width=120, color_system=None, force_terminal=False))
    text = out.getvalue()
    assert "\x1b" not in text and "\u202e" not in text
    assert "patient [U+001B][2Jcase[U+202E]9" in text
    assert "(x[U+202E][U+001B][31m)" in text


# --------------------------------------------------------------------------- crashes


def test_an_internal_error_is_one_line_exit_1_never_a_traceback(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(core, "assessment_document", broken)
    result = assess(runner, tmp_path, json.dumps(GOOD).encode(), "p.json")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["mescc: internal error (RuntimeError); please report it"]


def test_a_directory_or_missing_file_is_one_line(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["assess", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"{tmp_path}: cannot read (Is a directory)"


# --------------------------------------------------------------------------- mescc dose


@pytest.mark.parametrize(
    ("args", "messages"),
    [
        (["--fractions", "5", "--dose-per-fraction", "inf"],
         ["--dose-per-fraction: inf is not a finite number; allowed: number 0.1-30"]),
        (["--fractions", "5", "--dose-per-fraction", "nan"],
         ["--dose-per-fraction: nan is not a finite number; allowed: number 0.1-30"]),
        (["--fractions", "5", "--dose-per-fraction", "1e308"],
         ["--dose-per-fraction: 1e+308 is out of range; allowed: number 0.1-30"]),
        (["--fractions", "5", "--dose-per-fraction", "0"],
         ["--dose-per-fraction: 0 is out of range; allowed: number 0.1-30"]),
        (["--fractions", "5", "--dose-per-fraction", "-4"],
         ["--dose-per-fraction: -4 is out of range; allowed: number 0.1-30"]),
        (["--fractions", "9223372036854775807", "--dose-per-fraction", "4"],
         ["--fractions: 9223372036854775807 is out of range; allowed: integer 1-100"]),
        (["--fractions", "0", "--dose-per-fraction", "4", "--alpha-beta", "-inf"],
         ["--fractions: 0 is out of range; allowed: integer 1-100",
          "--alpha-beta: -inf is not a finite number; allowed: number 0.5-20"]),
    ],
)  # fmt: skip
def test_dose_refuses_impossible_regimens(
    runner: CliRunner, args: list[str], messages: list[str]
) -> None:
    for fmt in ("text", "json"):
        result = runner.invoke(app, ["dose", *args, "--format", fmt])
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr.splitlines() == messages


def test_dose_at_the_bounds_is_finite(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["dose", "--fractions", "100", "--dose-per-fraction", "30", "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["bed_gy"] == round(100 * 30 * (1 + 30 / 10), 2)
