"""``mescc derive``: a site-derived table by the published rule (rate / 10), its checks, its
labels through the engine and every output, and its refusals.

SYNTHETIC DATA - NEVER EVIDENCE: the cohorts come from ``mescc synth`` with a planted model
whose category rates are known exactly (``synth.expected_rates``); the derived tables are
fixtures of the machinery, never a Rades table.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from mescc.assessment import assess_instruments, assess_table
from mescc.cli import app
from mescc.document import assessment_document
from mescc.errors import InputError, OverlayError
from mescc.kb.loader import load_kb
from mescc.kb.overlay import check_overlay
from mescc.registry import synth
from mescc.registry.cohort import OutcomeColumns
from mescc.registry.derive import Provenance, run_derive

ID = synth.PLANTED_INSTRUMENT
OUTCOMES = OutcomeColumns(synth.TIME_COLUMN, synth.EVENT_COLUMN)
IGNORE = (synth.AMBULATORY_COLUMN,)
PROV = Provenance("test registry", "pytest", date(2015, 1, 1), date(2022, 12, 31))
PATIENT = {
    "primary_tumor": "breast",
    "months_from_cancer_diagnosis": 30,
    "other_bone_metastases": True,
    "visceral_metastases": False,
    "ambulatory_status": "ambulatory_with_aid",
    "motor_deficit_days": 20,
}


def categories(folder: Path, mutate: Any = None) -> Path:
    doc = synth.categories_document()
    if mutate is not None:
        mutate(doc)
    path = folder / "categories.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def derived(large_cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("derived")
    return run_derive(
        large_cohort, OUTCOMES, ID, categories(folder), folder / "overlay", PROV, ignore=IGNORE
    )


def test_derive_recovers_the_planted_points(derived: Any) -> None:
    expected = synth.expected_rates()
    checked = 0
    for factor, rows in expected.items():
        got = {r["label"]: r for r in derived.rates[factor]}
        for row in rows:
            d = got[row["label"]]
            true = row["rate_percent"] / 100
            se = 100 * math.sqrt(true * (1 - true) / d["n"])  # percentage points
            assert abs(d["rate_percent"] - row["rate_percent"]) < 4 * se, (factor, row, d)
            boundary = min(abs(row["rate_percent"] - (10 * k + 5)) for k in range(10))
            if boundary > 3 * se:  # far enough from a rounding edge to be decided by the data
                assert d["points"] == row["planted_points"], (factor, row, d)
                checked += 1
    assert checked >= 14, "too few categories far from a rounding edge: enlarge the cohort"


def test_derived_range_groups_and_split(derived: Any) -> None:
    inst = derived.instrument
    assert inst.verification == "site-derived"
    d = inst.derived
    assert d.published_range == (20, 45)
    assert d.derived_range == (24, 41)  # planted points: 3+5+5+4+3+4 .. 8+6+6+7+7+7
    assert [g.label for g in inst.groups] == ["24-25", "26-30", "31-35", "36-40", "41-41"]
    assert all(g.verification == "site-derived" for g in inst.groups)
    assert all(o.verification == "site-derived" for g in inst.groups for o in g.outcomes)
    assert d.derivation_n + d.validation_n == d.cohort_n
    assert d.validation_n == round(d.cohort_n * 0.3)
    assert d.seed == 20240601 and d.synthetic is True
    assert d.registry.startswith("SYNTHETIC COHORT - ")
    assert derived.range_statement == (
        "derived range 24-41 differs from the published range 20-45 (minimum 4 higher, "
        "maximum 4 lower); A4 is stated, not enforced, for a site-derived table"
    )


def test_every_point_is_its_rate_over_ten(derived: Any) -> None:
    for item in derived.instrument.items:
        for cat in item.categories:
            assert cat.points == math.floor(cat.rate / 10 + 0.5), (item.factor, cat.label)
            assert cat.verification == "site-derived"


def test_held_out_validation_report_is_written_and_says_synthetic(derived: Any) -> None:
    summary = json.loads(derived.report_json.read_text())
    assert summary["synthetic"] is True
    assert summary["cohort"]["rows"] == derived.validation_n
    assert set(summary["instruments"]) == {ID, "rades_survival_2010"}
    r = summary["instruments"][ID]
    assert r["verification"] == "site-derived"
    assert r["derived"]["validation_report"] == derived.report_html.name
    assert r["discrimination"]["harrell_c"]["value"] > 0.6
    html = derived.report_html.read_text()
    assert html.count("SYNTHETIC") >= 4


def test_kb_check_states_the_range_comparison(derived: Any) -> None:
    result = CliRunner().invoke(app, ["kb", "check", str(derived.table)])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "accepted as site-derived table for rades_survival_2008" in out
    assert "SYNTHETIC COHORT" in out
    assert "derived range 24-41 differs from the published range 20-45" in out
    assert "MESCC_ALLOW_SITE_DERIVED=true" in out


def test_label_flows_through_engine_follower_and_outputs(derived: Any) -> None:
    kb = load_kb(derived.table.parent)
    one = assess_instruments(PATIENT, kb).instruments
    for iid in (ID, "rades_survival_2010"):
        r = one[iid]
        assert r.status == "computed" and r.verification == "site-derived"
        assert r.site is not None and r.site["kind"] == "site-derived"
        assert r.site["synthetic"] is True
    assert one[ID].estimate is not None and one[ID].estimate.cohort == "site derivation"
    follower = kb["rades_survival_2010"]
    assert [g.label for g in follower.groups] == ["24-30", "31-35", "36-41"]
    assert all(not g.outcomes for g in follower.groups)  # published figures are not its own
    row = pl.DataFrame({k: [v] for k, v in PATIENT.items()})
    table = assess_table(row, kb, with_verification=True)
    assert table[f"{ID}__verification"][0] == "site-derived"
    assert table[f"{ID}__points"][0] == one[ID].points
    doc = assessment_document(PATIENT, kb=kb)
    assert doc["instruments"][ID]["verification"] == "site-derived"
    assert doc["site_derived"]["instruments"] == [ID, "rades_survival_2010"]
    assert doc["site_derived"]["may_decide"] is False  # synthetic: never decides
    assert "SITE-DERIVED" in doc["site_derived"]["statement"]


def test_text_output_says_site_derived(derived: Any, tmp_path: Path) -> None:
    patient = tmp_path / "p.json"
    patient.write_text(json.dumps(PATIENT))
    result = CliRunner().invoke(
        app, ["--kb-overlay", str(derived.table.parent), "assess", str(patient)]
    )
    assert result.exit_code == 0, result.stderr
    summary = " ".join(result.stdout.split())
    assert "SITE-DERIVED tables in use (rades_survival_2008, rades_survival_2010)" in summary
    result = CliRunner().invoke(
        app,
        ["--kb-overlay", str(derived.table.parent), "assess", str(patient), "--detail", "full"],
    )
    assert result.exit_code == 0, result.stderr
    flat = " ".join(result.stdout.split())
    assert "SITE-DERIVED tables in use (rades_survival_2008, rades_survival_2010)" in flat
    assert "SITE-DERIVED points (this site's registry, not the published table)" in flat


def _edit(derived: Any, mutate: Any) -> str:
    doc = yaml.safe_load(derived.table.read_text())
    mutate(doc)
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["items"][0]["categories"][1].update(points=7),
            "A6: tumor_type / prostate: points 7, but rate ",
        ),
        (
            lambda d: d.update(
                groups=[{**d["groups"][0], "label": "24-30", "range": [24, 30]}, *d["groups"][2:]]
            ),
            "A5: groups must be the published cut-offs laid on the derived range: expected "
            "['24-25', '26-30', '31-35', '36-40', '41-41'], got ['24-30', '31-35', '36-40', "
            "'41-41']",
        ),
        (
            lambda d: d.update(direction="higher_is_worse"),
            "A7: direction higher_is_worse, published higher_is_better",
        ),
        (lambda d: d.update(items=d["items"][:-1]), "A2: factors must be exactly"),
        (
            lambda d: d["items"][0]["categories"][0].pop("rate"),
            "A6: tumor_type / breast: a site-derived category needs its rate",
        ),
        (
            lambda d: d["derived"].update(derived_range=[20, 45]),
            "derived_range [20, 45] and total_range [24, 41] must both be the achievable range",
        ),
    ],
    ids=["A6-points", "A5-groups", "A7-direction", "A2-factor", "A6-rate", "range"],
)
def test_an_edited_derived_table_is_refused(derived: Any, mutate: Any, message: str) -> None:
    text = _edit(derived, mutate)
    with pytest.raises(OverlayError) as caught:
        check_overlay(text, str(derived.table), load_kb(None).instruments)
    assert message in caught.value.detail


def test_a_derived_table_cannot_also_claim_site_supplied(derived: Any) -> None:
    def both(d: dict[str, Any]) -> None:
        d["site"] = {"verified_by": "x", "verified_on": "2026-01-01", "source": "y"}

    with pytest.raises(Exception, match="a file with a site block must have verification: site"):
        check_overlay(_edit(derived, both), str(derived.table), load_kb(None).instruments)


def test_site_derived_needs_its_derived_block(derived: Any) -> None:
    def strip(d: dict[str, Any]) -> None:
        del d["derived"]

    with pytest.raises(Exception, match="site-derived needs a derived block"):
        check_overlay(_edit(derived, strip), str(derived.table), load_kb(None).instruments)


# --------------------------------------------------------------------------- refusals


def _derive(cohort: Path, tmp: Path, **kw: Any) -> InputError:
    args: dict[str, Any] = {"ignore": IGNORE}
    args.update(kw)
    instrument = args.pop("instrument", ID)
    cats = args.pop("cats", None) or categories(tmp)
    with pytest.raises(InputError) as caught:
        run_derive(
            cohort, args.pop("outcomes", OUTCOMES), instrument, cats, tmp / "o", PROV, **args
        )
    return caught.value


def _messages(err: InputError) -> list[str]:
    return [p.message for p in err.problems]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["factors"]["tumor_type"]["categories"].pop(),
            'categories.yaml factors.tumor_type.categories: "definitions" no category matches '
            "primary_tumor='renal'; allowed: mutually exclusive, exhaustive categories (A3)",
        ),
        (
            lambda d: d["factors"]["tumor_type"]["categories"][0]["when"]["primary_tumor"].update(
                {"in": ["breast", "prostate"]}
            ),
            'categories.yaml factors.tumor_type.categories: "definitions" '
            "primary_tumor='prostate' matches more than one entry: ['breast', 'prostate']; "
            "allowed: mutually exclusive, exhaustive categories (A3)",
        ),
        (
            lambda d: d["factors"].pop("visceral_metastases"),
            "categories.yaml factors.visceral_metastases: None is missing: the skeleton's "
            "categories are not confirmed, so the site must define them; allowed: a list of "
            "categories with label and when",
        ),
        (
            lambda d: d["factors"].update(ecog={"categories": []}),
            'categories.yaml factors.ecog: "ecog" is not a factor of rades_survival_2008 (A2)',
        ),
        (
            lambda d: d.update(instrument="rades_nsclc_2012"),
            'categories.yaml instrument: "rades_nsclc_2012" is not the instrument being derived',
        ),
        (lambda d: d.pop("source"), "categories.yaml source: None is missing"),
    ],
    ids=["gap", "overlap", "factor-missing", "factor-extra", "instrument", "source"],
)
def test_bad_category_definitions_are_refused(
    small_cohort: Path, tmp_path: Path, mutate: Any, message: str
) -> None:
    err = _derive(small_cohort, tmp_path, cats=categories(tmp_path, mutate))
    assert any(m.startswith(message) for m in _messages(err)), _messages(err)


@pytest.mark.parametrize(
    ("instrument", "message"),
    [
        ("sins_2010", '--instrument: "sins_2010" ships with points'),
        (
            "rades_lpfs_2018",
            '--instrument: "rades_lpfs_2018" outcome '
            "local_progression_free_survival_6_months is not one a registry records here",
        ),
        (
            "rades_long_term_survivor_2013",
            '--instrument: "rades_long_term_survivor_2013" is not built by the rate / 10 rule',
        ),
        ("nonsense_2020", '--instrument: "nonsense_2020" is not an instrument'),
    ],
    ids=["verified", "lpfs", "other-construction", "unknown"],
)
def test_instruments_that_cannot_be_derived(
    small_cohort: Path, tmp_path: Path, instrument: str, message: str
) -> None:
    err = _derive(small_cohort, tmp_path, instrument=instrument)
    assert any(m.startswith(message) for m in _messages(err)), _messages(err)


def test_ambulatory_score_needs_the_ambulatory_column(small_cohort: Path, tmp_path: Path) -> None:
    err = _derive(small_cohort, tmp_path, instrument="rades_ambulatory_2022")
    assert _messages(err) == [
        "--ambulatory-after: None is required for rades_ambulatory_2022; allowed: the column "
        "of ambulatory status after RT"
    ]


def test_holdout_must_leave_both_parts(small_cohort: Path, tmp_path: Path) -> None:
    err = _derive(small_cohort, tmp_path, holdout=0.0)
    assert _messages(err) == ["--holdout: 0.0 is out of range; allowed: a fraction > 0 and < 1"]


def test_existing_table_is_not_overwritten(small_cohort: Path, tmp_path: Path) -> None:
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / f"{ID}.yaml").write_text("keep")
    err = _derive(small_cohort, tmp_path)
    assert "exists" in _messages(err)[0]
    assert (tmp_path / "o" / f"{ID}.yaml").read_text() == "keep"


def test_cli_derive_and_bad_date(small_cohort: Path, tmp_path: Path) -> None:
    base = [
        "derive",
        str(small_cohort),
        "--instrument",
        ID,
        "--time",
        "os_months",
        "--event",
        "death",
        "--categories",
        str(categories(tmp_path)),
        "--registry",
        "r",
        "--derived-by",
        "pytest",
        "--ignore",
        "ambulatory_after_rt",
        "-o",
        str(tmp_path / "ov"),
    ]
    bad = CliRunner().invoke(
        app, [*base, "--cohort-from", "2020-13-01", "--cohort-to", "2021-01-01"]
    )
    assert bad.exit_code == 2
    assert "--cohort-from: 2020-13-01 is not a date; allowed: YYYY-MM-DD" in bad.stderr
    ok = CliRunner().invoke(
        app, [*base, "--cohort-from", "2020-01-01", "--cohort-to", "2021-01-01"]
    )
    assert ok.exit_code == 0, ok.stderr
    assert ok.stdout.startswith("SYNTHETIC cohort (never evidence): site-derived table")
    assert (tmp_path / "ov" / f"{ID}.yaml").exists()
    assert (tmp_path / "ov" / f"{ID}.validation.html").exists()
