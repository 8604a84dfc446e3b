"""``mescc validate``: every instrument scored by the table driver, then KM, C, AUC, Brier,
calibration, binary outcomes and the missing-data profile; labels; bad input.

The constructed cohort below is a TEST FIXTURE (made-up patients and outcomes), checked
against lifelines directly; the synthetic cohort comes from ``mescc synth`` (never evidence).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import concordance_index
from typer.testing import CliRunner

from mescc.assessment import assess_table
from mescc.batch import validate_frame
from mescc.cli import app
from mescc.kb.loader import load_kb
from mescc.registry.cohort import OutcomeColumns, read_cohort
from mescc.registry.validate import validate_cohort

TWO = "rades_two_month_mortality_2013"


def constructed(n: int = 400, seed: int = 9) -> pl.DataFrame:
    """TEST FIXTURE: patients with every two-month-score input (ECOG 2-4), made-up outcomes
    whose hazard grows with the number of adverse findings; row 0 has a bad ECOG (input error)
    and rows 1-9 have no ECOG (not computable)."""
    rng = np.random.default_rng(seed)
    ecog = rng.choice([2, 3, 4], n)
    visceral = rng.random(n) < 0.5
    amb = rng.choice(["ambulatory_without_aid", "not_ambulatory"], n)
    hazard = 0.15 * np.exp(0.5 * (ecog > 2) + 0.6 * visceral + 0.5 * (amb == "not_ambulatory"))
    death = rng.exponential(1 / hazard)
    follow = rng.uniform(1, 24, n)
    rows: dict[str, Any] = {
        "id": [f"t{i}" for i in range(n)],
        "ecog": [str(x) for x in ecog],
        "primary_tumor": rng.choice(["breast", "prostate", "lung_nsclc", "myeloma"], n),
        "other_bone_metastases": rng.choice(["true", "false"], n),
        "visceral_metastases": np.where(visceral, "true", "false"),
        "months_from_cancer_diagnosis": [f"{x:.1f}" for x in rng.uniform(0, 60, n)],
        "motor_deficit_days": [f"{x:.0f}" for x in rng.uniform(1, 30, n)],
        "ambulatory_status": amb,
        "time": [f"{x:.3f}" for x in np.minimum(death, follow)],
        "dead": np.where(death <= follow, "1", "0"),
        "walks": rng.choice(["true", "false"], n),
    }
    frame = pl.DataFrame(rows)
    ecog_col = frame["ecog"].to_list()
    ecog_col[0] = "7"
    for i in range(1, 10):
        ecog_col[i] = ""
    return frame.with_columns(pl.Series("ecog", ecog_col))


@pytest.fixture(scope="module")
def fixture_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("constructed") / "cohort.csv"
    constructed().write_csv(path)
    return path


@pytest.fixture(scope="module")
def constructed_report(fixture_csv: Path) -> Any:
    cohort = read_cohort(fixture_csv, OutcomeColumns("time", "dead", "walks"))
    return cohort, validate_cohort(cohort, load_kb(None))


def test_groups_are_the_table_drivers_and_km_equals_lifelines(constructed_report: Any) -> None:
    _cohort, report = constructed_report
    raw = constructed()
    typed, errors = validate_frame(raw.drop(["time", "dead", "walks"]))
    groups = assess_table(typed, load_kb(None))[f"{TWO}__group"].cast(pl.String)
    valid = errors.is_null().to_numpy()
    t = raw["time"].cast(pl.Float64).to_numpy()
    e = raw["dead"].cast(pl.Int64).to_numpy() == 1
    r = report.summary["instruments"][TWO]
    assert r["horizon"] == {"kind": "event_by", "months": 2.0, "label": "death within 2 months"}
    seen = 0
    for g in r["groups"]:
        sel = valid & (groups == g["group"]).fill_null(False).to_numpy()
        assert g["n"] == int(sel.sum())
        if not sel.any():
            continue
        kmf = KaplanMeierFitter().fit(t[sel], e[sel])
        expected = 1 - float(kmf.survival_function_at_times(2.0).iloc[0])
        assert g["observed_at_horizon"]["value"] == pytest.approx(expected, abs=1e-4)
        seen += 1
    assert seen >= 1
    computed = valid & groups.is_not_null().to_numpy()
    pts = assess_table(typed, load_kb(None))[f"{TWO}__points"].to_numpy()
    ref = concordance_index(t[computed], -pts[computed], e[computed])  # higher = worse
    assert r["discrimination"]["harrell_c"]["value"] == pytest.approx(ref, abs=1e-4)
    assert r["discrimination"]["risk"] == "points"


def test_missing_profile_and_input_errors(constructed_report: Any) -> None:
    _cohort, report = constructed_report
    s = report.summary
    assert s["cohort"]["rows"] == 400
    assert s["cohort"]["rows_with_input_errors"] == 1
    assert s["cohort"]["input_error_examples"][0].startswith("row 1 (id t0): ecog: 7")
    m = s["instruments"][TWO]["missing_profile"]
    assert m["rows"] == 399
    assert m["not_computable"] == 9
    assert m["inputs_missing"][0] == {"input": "ecog", "missing_in_not_computable": 9}
    sk = s["instruments"]["rades_survival_2008"]
    assert sk["missing_profile"]["reason"].startswith("points table not supplied")
    assert sk["analysis"] == "not scored: points table not supplied"


def test_binary_outcome_and_published_figures(constructed_report: Any) -> None:
    _, report = constructed_report
    eol = report.summary["instruments"]["rades_end_of_life_2022"]
    g = eol["groups"][0]
    assert "ambulatory_after_observed" in g
    figs = {p["outcome"]: p for p in g["published"]}
    assert figs["ambulatory_after_rt"]["observed"] == g["ambulatory_after_observed"]
    assert figs["treatment_success"]["observed_note"] == "not in the registry (not estimated)"
    assert eol["ambulatory_after_roc_auc"]["n"] > 0


def test_calibration_compares_the_published_figure(constructed_report: Any) -> None:
    _, report = constructed_report
    cal = report.summary["instruments"][TWO]["calibration"]
    assert cal["outcome"] == "death within 2 months"
    published = [g for g in cal["groups"] if g["predicted"] is not None]
    assert published and published[0]["predicted_source"] == "derivation cohort, primary"


def test_real_cohort_report_does_not_say_synthetic(fixture_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    args = [
        "validate",
        str(fixture_csv),
        "--time",
        "time",
        "--event",
        "dead",
        "--ambulatory-after",
        "walks",
        "-o",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert "SYNTHETIC" not in out.read_text()
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["synthetic"] is False
    assert '<img alt="Kaplan-Meier curves of rades_two_month_mortality_2013' in out.read_text()


def test_synthetic_cohort_is_labelled_on_every_part(small_cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "syn.html"
    args = [
        "validate",
        str(small_cohort),
        "--time",
        "os_months",
        "--event",
        "death",
        "--ambulatory-after",
        "ambulatory_after_rt",
        "-o",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("SYNTHETIC cohort (never evidence)")
    html = out.read_text()
    assert "<title>SYNTHETIC - mescc cohort validation</title>" in html
    assert html.count('class="synthetic') >= 3  # fixed banner on every printed page, top, end
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["synthetic"] is True and "never evidence" in summary["data_label"]
    sections = html.count('<h2 id="')
    assert sections == len(summary["instruments"]) == len(load_kb(None).instruments)
    assert html.count('<h2 id="') == html.count("SYNTHETIC - <") - 0 or sections > 0
    for iid in summary["instruments"]:
        assert f'<h2 id="{iid}">SYNTHETIC - ' in html, f"{iid} section not labelled SYNTHETIC"


def _run(path: Path, *extra: str) -> Any:
    return CliRunner().invoke(
        app, ["validate", str(path), *extra, "-o", str(path.with_suffix(".html"))]
    )


@pytest.mark.parametrize(
    ("edit", "args", "message"),
    [
        (
            None,
            ["--time", "tme", "--event", "dead"],
            '--time: column "tme" is not in COHORT (did you mean "time"?); allowed: one of',
        ),
        (
            lambda f: f.with_columns(pl.lit("-3").alias("time")),
            ["--time", "time", "--event", "dead"],
            "time: -3 is out of range (row 1); allowed: a number >= 0",
        ),
        (
            lambda f: f.with_columns(pl.lit("soon").alias("time")),
            ["--time", "time", "--event", "dead"],
            'time: "soon" is not a number (row 1); allowed: a number >= 0',
        ),
        (
            lambda f: f.with_columns(pl.lit("maybe").alias("dead")),
            ["--time", "time", "--event", "dead"],
            'dead: "maybe" is not a boolean (row 1); allowed: true, false, 1 or 0',
        ),
        (
            lambda f: f.with_columns(pl.lit("x").alias("ecgo")),
            ["--time", "time", "--event", "dead"],
            'ecgo: unknown key; did you mean "ecog"?',
        ),
        (
            lambda f: f.with_columns(pl.lit("x").alias("prior_radiotherapy")),
            ["--time", "time", "--event", "dead"],
            "prior_radiotherapy: not a batch column",
        ),
        (
            None,
            ["--time", "time", "--event", "dead", "--instrument", "sins_2011"],
            "--instrument: sins_2011 is not an instrument; allowed:",
        ),
        (
            None,
            ["--time", "time", "--event", "dead", "--time-unit", "fortnights"],
            "--time-unit: fortnights is not a unit; allowed: months, weeks, days, years",
        ),
    ],
    ids=["column", "negative", "not-number", "event", "unknown", "not-batch", "instrument", "unit"],
)
def test_bad_input_is_a_clear_error(
    tmp_path: Path, edit: Any, args: list[str], message: str
) -> None:
    frame = constructed(30).drop("walks")
    frame = frame.filter(pl.col("ecog") != "7")
    if edit is not None:
        frame = edit(frame)
    path = tmp_path / "c.csv"
    frame.write_csv(path)
    result = _run(path, *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert any(line.startswith(message) for line in result.stderr.splitlines()), result.stderr
    assert not path.with_suffix(".html").exists()


def test_extra_columns_can_be_left_out_with_ignore(tmp_path: Path) -> None:
    frame = constructed(30).with_columns(pl.lit("2020-01-01").alias("rt_date"))
    path = tmp_path / "c.csv"
    frame.write_csv(path)
    refused = _run(path, "--time", "time", "--event", "dead", "--ambulatory-after", "walks")
    assert refused.exit_code == 2
    assert "left out with --ignore COL" in refused.stderr
    ok = _run(
        path,
        "--time",
        "time",
        "--event",
        "dead",
        "--ambulatory-after",
        "walks",
        "--ignore",
        "rt_date",
    )
    assert ok.exit_code == 0, ok.stderr


def test_time_unit_days_is_converted(tmp_path: Path) -> None:
    frame = constructed(200).drop("walks")
    days = frame.with_columns((pl.col("time").cast(pl.Float64) * 365.25 / 12).alias("time"))
    a, b = tmp_path / "m.csv", tmp_path / "d.csv"
    frame.write_csv(a)
    days.write_csv(b)
    kb = load_kb(None)
    ra = validate_cohort(read_cohort(a, OutcomeColumns("time", "dead")), kb, instruments=[TWO])
    rb = validate_cohort(
        read_cohort(b, OutcomeColumns("time", "dead", time_unit="days")), kb, instruments=[TWO]
    )
    ga = ra.summary["instruments"][TWO]["groups"]
    gb = rb.summary["instruments"][TWO]["groups"]
    assert [g.get("observed_at_horizon") for g in ga] == [g.get("observed_at_horizon") for g in gb]
