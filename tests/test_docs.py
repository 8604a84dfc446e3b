"""The patient-key documentation lists every key of the field table, with its allowed values
and the basis of its bounds exactly as the table (and so every error message) states them."""

from pathlib import Path

from mescc import loading
from mescc.errors import MAX_PROBLEMS_LISTED
from mescc.fields import COURSE_FIELDS, FIELDS, PREFERENCE_FIELDS, REGIMEN_FIELDS, FieldSpec

DOC = Path(__file__).resolve().parents[1] / "docs" / "patient.md"


def _cell(spec: FieldSpec) -> str:
    if spec.key.startswith("sins_"):
        return f"`sins.{spec.key.removeprefix('sins_')}`"
    return f"`{spec.key}`"


def test_every_patient_key_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [
        f.key
        for f in (*FIELDS, *COURSE_FIELDS, *PREFERENCE_FIELDS)
        if f"`{f.key}`" not in text and f"`sins.{f.key.removeprefix('sins_')}" not in text
    ]
    assert not missing, f"add {missing} to docs/patient.md (regenerate from mescc.fields)"


def test_every_key_row_states_its_allowed_values_and_the_basis_of_its_bounds() -> None:
    rows = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    for spec in (*FIELDS, *COURSE_FIELDS, *PREFERENCE_FIELDS):
        row = next((r for r in rows if r.startswith(f"| {_cell(spec)}")), None)
        assert row is not None, f"docs/patient.md has no table row for {spec.key}"
        assert f"| {spec.allowed} |" in row, (
            f"docs/patient.md: the row of {spec.key} must state `{spec.allowed}` (the field "
            "table's allowed text)"
        )
        if spec.basis:
            assert spec.basis in row, f"docs/patient.md: state the basis of {spec.key}'s bounds"
    for spec in REGIMEN_FIELDS:
        assert any(spec.allowed in r and (spec.basis or "") in r for r in rows), spec.key


def test_the_reader_limits_are_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for stated in (
        f"at most {loading.MAX_INPUT_BYTES // 1024} KiB",
        f"{loading.MAX_DEPTH} levels of nesting",
        f"{loading.MAX_KEYS_PER_OBJECT} keys per object",
        f"{loading.MAX_ITEMS_PER_LIST} items per list",
        f"at most {MAX_PROBLEMS_LISTED} problems are listed",
        "UTF-16 is accepted **only with its byte-order mark**",
    ):
        assert stated in text, f"docs/patient.md must say {stated!r}"


def test_batch_doc_names_every_output_column_and_the_course_layout() -> None:
    from mescc.batch.columns import COURSE_COUNT, MAX_COURSES, PREFERENCE_SPECS, RESULT_NAMES

    text = (DOC.parent / "batch.md").read_text(encoding="utf-8")
    wanted = [*RESULT_NAMES, COURSE_COUNT, *PREFERENCE_SPECS, "prior_rt_<n>_<course key>"]
    wanted += [f"prior_rt_1_{f.key}" for f in COURSE_FIELDS]
    missing = [w for w in wanted if f"`{w}`" not in text]
    assert not missing, f"add {missing} to docs/batch.md"
    assert f"`n` = 1 .. {MAX_COURSES}" in text, "docs/batch.md: update the number of courses"
