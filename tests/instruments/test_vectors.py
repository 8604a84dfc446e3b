"""Every row of ``tests/instruments/vectors/<id>.csv`` through both drivers.

Each row holds patient inputs (columns named as the patient keys, ``sins`` flattened), the
expected status, points and group, and the published table it came from. An empty cell is a
missing input; booleans are ``true``/``false``; integers are parsed for integer keys (the kinds
come from ``mescc.fields``).
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from mescc.assessment import assess_instruments, assess_table
from mescc.fields import FIELD_BY_KEY, FIELDS
from mescc.kb.loader import KnowledgeBase

VECTORS = Path(__file__).parent / "vectors"
EXPECTED = ("expected_status", "expected_points", "expected_group", "source", "why")
STATUSES = ("computed", "not_computable", "not_applicable")


def parse_cell(key: str, text: str) -> Any:
    """One CSV cell as the patient value it stands for (empty = missing)."""
    if text == "":
        return None
    kind = FIELD_BY_KEY[key].kind
    if kind == "bool":
        if text not in ("true", "false"):
            raise ValueError(f"{key}: {text!r} is not true/false")
        return text == "true"
    if kind == "int":
        return int(text)
    if kind == "number":
        return float(text)
    return text


def read_vectors(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def patient_of(row: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    sins: dict[str, Any] = {}
    for key, text in row.items():
        if key in EXPECTED:
            continue
        value = parse_cell(key, text)
        if value is None:
            continue
        if key.startswith("sins_"):
            sins[key.removeprefix("sins_")] = value
        else:
            data[key] = value
    if sins:
        data["sins"] = sins
    return data


def expected_of(row: dict[str, str]) -> tuple[str, int | None, str | None]:
    points = int(row["expected_points"]) if row["expected_points"] else None
    return row["expected_status"], points, row["expected_group"] or None


FILES = sorted(VECTORS.glob("*.csv"))
CASES = [
    pytest.param(path.stem, i, id=f"{path.stem}:{row.get('id') or i}")
    for path in FILES
    for i, row in enumerate(read_vectors(path))
]


@lru_cache(maxsize=64)
def table_of(stem: str, kb: KnowledgeBase) -> pl.DataFrame:
    """``assess_table`` over every row of one vector file (computed once per file)."""
    from mescc.patient import Patient

    rows = [
        Patient.from_data(patient_of(r)).to_row() for r in read_vectors(VECTORS / f"{stem}.csv")
    ]
    schema = {
        f.key: {"int": pl.Int64, "number": pl.Float64, "bool": pl.Boolean}.get(f.kind, pl.String)
        for f in FIELDS
    }
    frame = pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema, orient="row")
    return assess_table(frame, kb)


def test_there_are_vector_files() -> None:
    assert FILES, f"no vector files in {VECTORS}"
    assert len(CASES) >= 100


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector_file_is_well_formed(kb: KnowledgeBase, path: Path) -> None:
    assert path.stem in kb.instruments, f"{path.name}: no instrument with id {path.stem}"
    rows = read_vectors(path)
    assert rows, f"{path.name} has no rows"
    columns = list(rows[0])
    assert columns[-5:] == list(EXPECTED), f"{path.name}: last columns must be {EXPECTED}"
    for col in columns[:-5]:
        assert col in FIELD_BY_KEY, f"{path.name}: column {col!r} is not a patient key"
    ids = [r["id"] for r in rows] if "id" in columns else []
    assert len(ids) == len(set(ids)), f"{path.name}: duplicate row ids"
    for r in rows:
        where = f"{path.name} row {r.get('id')}"
        assert r["expected_status"] in STATUSES, where
        assert r["source"].strip(), f"{where}: name the published table in 'source'"
        assert r["why"].strip(), f"{where}: explain the expected value in 'why'"
        if r["expected_status"] != "computed":
            assert r["expected_points"] == r["expected_group"] == "", where


@pytest.mark.parametrize(("stem", "index"), CASES)
def test_vector_row_single_patient(kb: KnowledgeBase, stem: str, index: int) -> None:
    row = read_vectors(VECTORS / f"{stem}.csv")[index]
    r = assess_instruments(patient_of(row), kb).instruments[stem]
    assert (r.status, r.points, r.group) == expected_of(row), (
        f"{stem} {row.get('id')}: {row['why']} (source: {row['source']}); reason: {r.reason}"
    )
    if r.points is not None:
        assert sum(i.points or 0 for i in r.items) == r.points, "items do not add up to the total"


@pytest.mark.parametrize(("stem", "index"), CASES)
def test_vector_row_table(kb: KnowledgeBase, stem: str, index: int) -> None:
    row = read_vectors(VECTORS / f"{stem}.csv")[index]
    out = table_of(stem, kb).row(index, named=True)
    got = (out[f"{stem}__status"], out[f"{stem}__points"], out[f"{stem}__group"])
    assert got == expected_of(row), f"{stem} {row.get('id')}: {row['why']}"


def test_parse_cell() -> None:
    assert parse_cell("visceral_metastases", "true") is True
    assert parse_cell("visceral_metastases", "false") is False
    assert parse_cell("kps", "70") == 70 and isinstance(parse_cell("kps", "70"), int)
    assert parse_cell("months_from_cancer_diagnosis", "15.5") == 15.5
    assert parse_cell("escc_grade", "0") == "0"
    assert parse_cell("kps", "") is None
    with pytest.raises(ValueError):
        parse_cell("visceral_metastases", "yes")
