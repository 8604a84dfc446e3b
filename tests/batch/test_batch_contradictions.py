"""Contradictory findings are flagged batch rows with the same sentences as ``mescc assess``."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mescc.batch import run_batch
from mescc.errors import InputError
from mescc.kb.loader import KnowledgeBase
from mescc.patient import Patient

COLUMNS = ["id", "hepatic_metastases", "visceral_metastases", "ambulatory_status",
           "frankel_grade", "extraspinal_bone_metastases", "other_bone_metastases"]  # fmt: skip
ROWS = [
    ["ok", "true", "true", "ambulatory_with_aid", "D", "2", "true"],
    ["liver", "true", "false", "", "", "", ""],
    ["walks", "", "", "paraplegic", "E", "3", "false"],
]


def test_contradictions_are_flagged_with_the_assess_sentences(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    src = tmp_path / "in.csv"
    src.write_text("\n".join(",".join(r) for r in [COLUMNS, *ROWS]) + "\n", encoding="utf-8")
    out = tmp_path / "out.parquet"
    summary = run_batch(src, out, kb)
    frame = pl.read_parquet(out)
    errors = dict(zip(frame["id"], frame["input_error"], strict=True))
    assert errors["ok"] is None
    for pid, row in zip(("liver", "walks"), ROWS[1:], strict=True):
        data = {k: v for k, v in zip(COLUMNS, row, strict=True) if v and k != "id"}
        typed = {k: (v == "true") if v in ("true", "false") else v for k, v in data.items()}
        for k in ("extraspinal_bone_metastases",):
            if k in typed:
                typed[k] = int(typed[k])
        with pytest.raises(InputError) as info:
            Patient.from_data(typed)
        assert errors[pid] is not None
        for p in info.value.problems:
            assert p.message in errors[pid], (pid, p.message)
        scored = frame.filter(pl.col("id") == pid)["tokuhashi_revised_2005__status"][0]
        assert scored is None
    assert "2 with input errors" in summary.lines()[0]
