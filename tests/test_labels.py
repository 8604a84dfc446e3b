"""Every input key and enum value has a clinician's label (issue 10): adding a key or a value
to the field table without one fails here."""

from __future__ import annotations

from mescc.fields import COURSE_FIELDS, FIELDS, PREFERENCE_FIELDS
from mescc.render.labels import FIELD_LABELS, VALUE_LABELS, field_label, value_label

SPECS = (*FIELDS, *COURSE_FIELDS, *PREFERENCE_FIELDS)


def test_every_key_has_a_label_that_is_not_the_key() -> None:
    missing = [s.key for s in SPECS if s.key not in FIELD_LABELS]
    assert not missing, f"add {missing} to mescc.render.labels.FIELD_LABELS"
    for s in SPECS:
        assert "_" not in field_label(s.key), s.key


def test_every_enum_value_has_words() -> None:
    for s in SPECS:
        if s.values is None:
            continue
        labels = VALUE_LABELS.get(s.key, {})
        missing = [v for v in s.values if v not in labels]
        assert not missing, f"add {s.key} values {missing} to mescc.render.labels.VALUE_LABELS"
        assert set(labels) == set(s.values), f"{s.key}: labels for values that do not exist"
        for v in s.values:
            assert "_" not in value_label(s.key, v), (s.key, v)


def test_values_read_as_a_clinician_writes_them() -> None:
    assert value_label("ecog", 2) == "ECOG 2"
    assert value_label("kps", 70) == "70%"
    assert value_label("motor_deficit_days", 10.0) == "10 days"
    assert value_label("visceral_metastases", False) == "no"
    assert value_label("escc_grade", None) == "unknown"
    assert value_label("prior_radiotherapy[1].technique", "sbrt") == "stereotactic (SBRT)"
    assert field_label("prior_radiotherapy[1].fractions") == (
        "Earlier radiotherapy to this region, course 2: Fractions"
    )
