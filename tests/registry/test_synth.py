"""``mescc synth``: deterministic synthetic cohorts, labelled synthetic everywhere, marginals
from the reference (each cited, or stated as an ASSUMPTION), bad arguments refused.

SYNTHETIC DATA - NEVER EVIDENCE.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from mescc.cli import app
from mescc.kb.loader import load_kb
from mescc.registry import synth
from mescc.registry.derive import read_categories

REFERENCE_FILES = ("radiotherapy-evidence.md", "rades-instruments.md", "conversions.yaml")


def test_every_marginal_names_its_source_or_says_assumption() -> None:
    for m in synth.MARGINALS:
        src = m["source"]
        assert any(ref in src for ref in REFERENCE_FILES) or src.startswith("ASSUMPTION"), (
            f"marginal {m['column']}: cite shared/reference or say ASSUMPTION ({src!r})"
        )


def test_inferred_targets_are_the_reference_arithmetic() -> None:
    # rades-instruments.md §4: n and 6-month OS per group; 1422 of 2096 ambulatory after RT
    assert (
        pytest.approx((23.34 + 86.18 + 127.26 + 223.26 + 706.8) / 2096, abs=1e-6)
        == synth.TARGET_OS6
    )
    assert pytest.approx(1422 / 2096) == synth.TARGET_AMBULATORY


def test_same_seed_same_cohort_other_seed_other_cohort() -> None:
    a, b, c = synth.synth_frame(300, 1), synth.synth_frame(300, 1), synth.synth_frame(300, 2)
    assert a.equals(b)
    assert not a.equals(c)


def test_labels_in_column_metadata_and_sidecar(small_cohort: Path) -> None:
    frame = pl.read_parquet(small_cohort)
    assert frame["synthetic"].all()
    meta = pq.read_schema(small_cohort).metadata
    assert meta[b"mescc.synthetic"] == b"true"
    assert b"never evidence" in meta[b"mescc.synthetic_label"]
    side = json.loads(small_cohort.with_name("cohort.synthetic.json").read_text())
    assert side["synthetic"] is True and "never evidence" in side["label"]
    assert side["rows"] == 4000 and side["seed"] == 11
    cats = small_cohort.with_name("cohort.categories.yaml").read_text()
    assert cats.startswith("# SYNTHETIC DATA")
    assert yaml.safe_load(cats)["synthetic"] is True


def test_published_marginals_are_reproduced() -> None:
    f = synth.synth_frame(20_000, 3)
    share = f["primary_tumor"].drop_nulls().value_counts(normalize=True)
    got = dict(zip(share["primary_tumor"], share["proportion"], strict=True))
    assert got["prostate"] == pytest.approx(0.44, abs=0.015)  # SCORAD Table 1
    assert got["breast"] == pytest.approx(0.12, abs=0.01)
    assert got["lung_nsclc"] + got["lung_sclc"] == pytest.approx(0.19, abs=0.01)
    male = (f["sex"].drop_nulls() == "male").mean()
    assert male == pytest.approx(0.73, abs=0.015)
    amb = f["ambulatory_status"].drop_nulls().value_counts(normalize=True)
    amb_share = dict(zip(amb["ambulatory_status"], amb["proportion"], strict=True))
    assert amb_share["ambulatory_with_aid"] == pytest.approx(0.44, abs=0.015)
    assert f["age_years"].drop_nulls().median() == pytest.approx(70, abs=1)
    # about 5% of each value missing at random (stated assumption)
    assert f["visceral_metastases"].null_count() / f.height == pytest.approx(0.05, abs=0.01)
    # the planted outcome model's overall rates: INFERRED targets
    assert f["ambulatory_after_rt"].mean() == pytest.approx(synth.TARGET_AMBULATORY, abs=0.015)


def test_planted_categories_are_a_valid_category_file(tmp_path: Path) -> None:
    path = tmp_path / "cats.yaml"
    path.write_text(yaml.safe_dump(synth.categories_document()))
    items, source, synthetic = read_categories(path, load_kb(None)[synth.PLANTED_INSTRUMENT])
    assert [i["factor"] for i in items] == list(synth.PLANTED_CATEGORIES)
    assert synthetic is True and "SYNTHETIC" in source


def test_cli_writes_csv_with_the_label(tmp_path: Path) -> None:
    out = tmp_path / "demo.csv"
    result = CliRunner().invoke(app, ["synth", "--n", "50", "--seed", "4", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("SYNTHETIC cohort (never evidence): 50 patients")
    frame = pl.read_csv(out)
    assert frame.height == 50 and frame["synthetic"].all()
    assert (tmp_path / "demo.synthetic.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--n", "0", "--seed", "1", "-o", "x.csv"],
            "--n: 0 is out of range; allowed: an integer >= 1",
        ),
        (
            ["--n", "5", "--seed", "1", "-o", "x.xlsx"],
            "-o: x.xlsx has an unsupported extension; allowed: .csv or .parquet",
        ),
    ],
    ids=["size", "extension"],
)
def test_cli_refuses_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    args = [a if not a.startswith("x.") else str(tmp_path / a) for a in args]
    result = CliRunner().invoke(app, ["synth", *args])
    assert result.exit_code == 2
    assert message.replace("x.xlsx", str(tmp_path / "x.xlsx").rsplit("/", 1)[-1]) in result.stderr
    assert "Traceback" not in result.output


def test_category_document_is_a_copy() -> None:
    doc = synth.categories_document()
    doc["factors"]["tumor_type"]["categories"][0]["when"]["primary_tumor"]["in"].append("colon")
    assert synth.PLANTED_CATEGORIES["tumor_type"][0]["when"] == {
        "primary_tumor": {"in": ["breast"]}
    }
