"""The patient-key documentation lists every key of the field table."""

from pathlib import Path

from mescc.fields import COURSE_FIELDS, FIELDS, PREFERENCE_FIELDS

DOC = Path(__file__).resolve().parents[1] / "docs" / "patient.md"


def test_every_patient_key_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [
        f.key
        for f in (*FIELDS, *COURSE_FIELDS, *PREFERENCE_FIELDS)
        if f"`{f.key}`" not in text and f"`sins.{f.key.removeprefix('sins_')}" not in text
    ]
    assert not missing, f"add {missing} to docs/patient.md (regenerate from mescc.fields)"


def test_batch_doc_names_every_output_column_and_the_course_layout() -> None:
    from mescc.batch.columns import COURSE_COUNT, MAX_COURSES, PREFERENCE_SPECS, RESULT_NAMES

    text = (DOC.parent / "batch.md").read_text(encoding="utf-8")
    wanted = [*RESULT_NAMES, COURSE_COUNT, *PREFERENCE_SPECS, "prior_rt_<n>_<course key>"]
    wanted += [f"prior_rt_1_{f.key}" for f in COURSE_FIELDS]
    missing = [w for w in wanted if f"`{w}`" not in text]
    assert not missing, f"add {missing} to docs/batch.md"
    assert f"`n` = 1 .. {MAX_COURSES}" in text, "docs/batch.md: update the number of courses"
