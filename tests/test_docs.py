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
