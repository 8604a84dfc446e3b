"""One compiled instrument, two drivers: the single-patient and the table path agree.

conventions §3.5: a property test over generated patients (every contract key either missing or
drawn from its allowed domain, numbers near the published cut-offs) proves that
``assess_instruments(patient)`` equals the patient's row of ``assess_table`` for status, points
and group of every instrument.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mescc.assessment import assess_instruments, assess_table
from mescc.kb.loader import KnowledgeBase
from mescc.patient import Patient
from patient_strategies import patients


def as_columns(patient: Patient, kb: KnowledgeBase) -> dict[str, tuple[Any, Any, Any]]:
    results = assess_instruments(patient, kb).instruments
    return {iid: (r.status, r.points, r.group) for iid, r in results.items()}


def pick_instrument_columns(row: dict[str, Any], ids: list[str]) -> dict[str, tuple[Any, Any, Any]]:
    return {i: (row[f"{i}__status"], row[f"{i}__points"], row[f"{i}__group"]) for i in ids}


@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(patients(), min_size=1, max_size=4))
def test_one_patient_equals_its_row(kb: KnowledgeBase, frame_of: Any, group: list[Patient]) -> None:
    table = assess_table(frame_of(group), kb)
    assert table.height == len(group)
    ids = list(kb.instruments)
    for i, patient in enumerate(group):
        single = as_columns(patient, kb)
        row = pick_instrument_columns(table.row(i, named=True), ids)
        assert single == row, {
            iid: (single[iid], row[iid]) for iid in ids if single[iid] != row[iid]
        }


def test_table_columns_are_named_and_typed(kb: KnowledgeBase, frame_of: Any) -> None:
    table = assess_table(frame_of([{}]), kb)
    expected = [f"{i}__{part}" for i in kb.instruments for part in ("status", "points", "group")]
    assert table.columns == expected
    for iid, inst in kb.instruments.items():
        assert table.schema[f"{iid}__points"] == pl.Int32
        status = table.schema[f"{iid}__status"]
        assert isinstance(status, pl.Enum)
        assert list(status.categories) == ["computed", "not_computable", "not_applicable"]
        group = table.schema[f"{iid}__group"]
        if inst.groups:
            assert isinstance(group, pl.Enum)
            assert list(group.categories) == [g.label for g in inst.groups]


def test_empty_table(kb: KnowledgeBase, frame_of: Any) -> None:
    table = assess_table(frame_of([]), kb)
    assert table.height == 0
    assert len(table.columns) == 3 * len(kb.instruments)


def test_table_without_some_columns_treats_them_as_missing(kb: KnowledgeBase) -> None:
    frame = pl.DataFrame(
        {
            "sins_location": ["junctional"],
            "sins_pain": ["mechanical"],
            "sins_bone_lesion": ["lytic"],
            "sins_alignment": ["normal"],
            "sins_collapse": ["none"],
            "sins_posterolateral": ["none"],
        }
    )
    row = assess_table(frame, kb).row(0, named=True)
    assert (row["sins_2010__status"], row["sins_2010__points"], row["sins_2010__group"]) == (
        "computed",
        8,
        "7-12",
    )
    assert row["tokuhashi_revised_2005__status"] == "not_computable"
    assert row["tokuhashi_revised_2005__points"] is None


def test_rows_do_not_leak_into_each_other(kb: KnowledgeBase, frame_of: Any) -> None:
    full = {
        "primary_tumor": "breast",
        "visceral_metastases": False,
        "other_bone_metastases": False,
    }
    table = assess_table(frame_of([full, {}, full]), kb)
    col = table["bauer_modified_2008__points"].to_list()
    assert col == [4, None, 4]
    assert table["bauer_modified_2008__status"].to_list() == [
        "computed",
        "not_computable",
        "computed",
    ]


# Synthetic instrument (not a real one; numbers mean nothing) with a population restriction:
# computable items plus ``applies_to``, as a site-completed elderly skeleton would be.
RESTRICTED = """\
id: toy_elderly_2000
name: Toy elderly score
kind: score
outcome: survival
outcome_text: "Toy outcome"
direction: higher_is_better
reference: "synthetic test fixture"
citation: {text: "Author A. Toy. J Example 2000;1:1-10.", doi: "10.0000/example.1", locator: "T1"}
verification: secondary
verification_note: "synthetic test fixture"
applies_to:
  age_years: {ge: 65}
total_range: [0, 3]
items:
  - factor: performance
    label: "ECOG"
    inputs: [ecog]
    categories:
      - {label: "ECOG 0-1", when: {ecog: {in: [0, 1]}}, points: 2}
      - {label: "ECOG 2-4", when: {ecog: {in: [2, 3, 4]}}, points: 0}
  - factor: visceral
    label: "Visceral metastases"
    inputs: [visceral_metastases]
    categories:
      - {label: "No", when: {visceral_metastases: {in: [false]}}, points: 1}
      - {label: "Yes", when: {visceral_metastases: {in: [true]}}, points: 0}
groups:
  - {label: "0-1", range: [0, 1], category: poor}
  - {label: "2-3", range: [2, 3], category: good}
"""


def test_population_input_unknown_gives_the_same_status_on_both_paths(frame_of: Any) -> None:
    from mescc.kb.loader import build_kb

    kb = build_kb([("instruments/toy_elderly_2000.yaml", RESTRICTED)])
    patients = [
        {"ecog": 1, "visceral_metastases": False},  # age unknown: may be outside the population
        {"ecog": 1, "visceral_metastases": False, "age_years": 50},
        {"ecog": 1, "visceral_metastases": False, "age_years": 70},
    ]
    table = assess_table(frame_of(patients), kb)
    single = [assess_instruments(p, kb).instruments["toy_elderly_2000"] for p in patients]
    assert [(r.status, r.points, r.group) for r in single] == [
        ("not_computable", None, None),
        ("not_applicable", None, None),
        ("computed", 3, "2-3"),
    ]
    assert single[0].missing == ("age_years",)
    rows = pick_instrument_columns
    for i, r in enumerate(single):
        row = rows(table.row(i, named=True), ["toy_elderly_2000"])["toy_elderly_2000"]
        assert row == (r.status, r.points, r.group), f"patient {patients[i]}: table {row}"


# Synthetic item shapes (not real instruments; numbers mean nothing) that the loader accepts
# and a site overlay may use: both drivers must agree on them too.
SHAPE_HEAD = """\
id: toy_shape_2000
name: Toy shape
kind: score
outcome: survival
outcome_text: "Toy"
direction: higher_is_better
reference: "synthetic test fixture"
citation: {text: "Author A. Toy. J Example 2000;1:1-10.", doi: "10.0000/example.1", locator: "T1"}
verification: secondary
verification_note: "synthetic test fixture"
"""
SHAPES: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "boolean-not-in": (
        """\
total_range: [0, 1]
items:
  - factor: v
    label: v
    inputs: [visceral_metastases]
    categories:
      - {label: "no", when: {visceral_metastases: {not_in: [true]}}, points: 1}
      - {label: "yes", when: {visceral_metastases: {not_in: [false]}}, points: 0}
groups:
  - {label: "0-1", range: [0, 1], category: x}
""",
        [{"visceral_metastases": True}, {"visceral_metastases": False}, {}],
    ),
    "two-enum-inputs": (
        """\
total_range: [0, 2]
items:
  - factor: t
    label: t
    inputs: [primary_tumor, sex]
    categories:
      - {label: "bf", when: {primary_tumor: {in: [breast]}, sex: {in: [female]}}, points: 2}
      - {label: "bo", when: {primary_tumor: {in: [breast]}, sex: {not_in: [female]}}, points: 1}
      - {label: "o", when: {primary_tumor: {not_in: [breast]}}, points: 0}
groups:
  - {label: "0-2", range: [0, 2], category: x}
""",
        [{"primary_tumor": "breast", "sex": "male"}, {"primary_tumor": "lung_nsclc"},
         {"primary_tumor": "breast"}],
    ),
    "in-on-a-number": (
        """\
total_range: [0, 1]
items:
  - factor: m
    label: m
    inputs: [months_from_cancer_diagnosis]
    categories:
      - {label: "at diagnosis", when: {months_from_cancer_diagnosis: {in: [0]}}, points: 0}
      - {label: "later", when: {months_from_cancer_diagnosis: {gt: 0}}, points: 1}
groups:
  - {label: "0-1", range: [0, 1], category: x}
""",
        [{"months_from_cancer_diagnosis": 0}, {"months_from_cancer_diagnosis": 0.5}],
    ),
    "conversion-in-a-two-input-item": (
        """\
total_range: [0, 3]
items:
  - factor: pk
    label: pk
    inputs: [kps, visceral_metastases]
    convert: {kps: ecog}
    categories:
      - {label: "good, none", when: {kps: {ge: 80}, visceral_metastases: {in: [false]}}, points: 3}
      - {label: "good, some", when: {kps: {ge: 80}, visceral_metastases: {in: [true]}}, points: 2}
      - {label: "poor", when: {kps: {le: 70}}, points: 0}
groups:
  - {label: "0-1", range: [0, 1], category: x}
  - {label: "2-3", range: [2, 3], category: y}
""",
        [{"ecog": 0, "visceral_metastases": False}, {"ecog": 0, "visceral_metastases": True},
         {"ecog": 3, "visceral_metastases": True}, {"kps": 90, "visceral_metastases": True}],
    ),
}  # fmt: skip


@pytest.mark.parametrize("shape", list(SHAPES))
def test_synthetic_item_shapes_agree(frame_of: Any, shape: str) -> None:
    from mescc.kb.loader import build_kb

    body, patients = SHAPES[shape]
    kb = build_kb([("instruments/toy_shape_2000.yaml", SHAPE_HEAD + body)])
    table = assess_table(frame_of(patients), kb)
    for i, patient in enumerate(patients):
        r = assess_instruments(patient, kb).instruments["toy_shape_2000"]
        row = pick_instrument_columns(table.row(i, named=True), ["toy_shape_2000"])
        assert row["toy_shape_2000"] == (r.status, r.points, r.group), f"{shape}: {patient}"
