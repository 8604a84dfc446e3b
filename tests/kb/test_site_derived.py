"""Whether site-derived results may decide: ``site_derived_may_decide`` (the one function the
plan calls), ``MESCC_ALLOW_SITE_DERIVED``, ``--allow-site-derived`` and what outputs say.

TEST FIXTURE - NOT CLINICAL DATA: the "registry" below is a synthetic cohort with its
synthetic column removed, so that the derived table is treated as a site's own; its points
mean nothing.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mescc.cli import app
from mescc.document import assessment_document
from mescc.errors import DefinitionError, InputError
from mescc.kb.loader import load_kb
from mescc.kb.overlay import ALLOW_SITE_DERIVED_ENV, site_derived_may_decide
from mescc.registry import synth
from mescc.registry.cohort import OutcomeColumns
from mescc.registry.derive import Provenance, run_derive

PATIENT = {
    "primary_tumor": "prostate",
    "months_from_cancer_diagnosis": 40,
    "other_bone_metastases": False,
    "visceral_metastases": False,
    "ambulatory_status": "ambulatory_without_aid",
    "motor_deficit_days": 30,
}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (None, False),
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("false", False),
        ("0", False),
        ("", False),
    ],
)
def test_setting_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: str | None, expected: bool
) -> None:
    if env is None:
        monkeypatch.delenv(ALLOW_SITE_DERIVED_ENV, raising=False)
    else:
        monkeypatch.setenv(ALLOW_SITE_DERIVED_ENV, env)
    assert site_derived_may_decide() is expected


def test_explicit_choice_wins_and_synthetic_never_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_SITE_DERIVED_ENV, "true")
    assert site_derived_may_decide(False) is False
    assert site_derived_may_decide(synthetic=True) is False
    monkeypatch.setenv(ALLOW_SITE_DERIVED_ENV, "false")
    assert site_derived_may_decide(True) is True
    assert site_derived_may_decide(True, synthetic=True) is False


def test_a_bad_setting_is_an_error_not_a_guess(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_SITE_DERIVED_ENV, "maybe")
    with pytest.raises(DefinitionError) as caught:
        site_derived_may_decide()
    assert (
        str(caught.value)
        == "MESCC_ALLOW_SITE_DERIVED: 'maybe' is not a boolean; allowed: true or false"
    )


@pytest.fixture(scope="module")
def site_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    cohort = folder / "registry.csv"
    synth.synth_frame(4000, 21).drop("synthetic").write_csv(cohort)
    doc = synth.categories_document()
    doc["synthetic"] = False
    doc["source"] = "TEST FIXTURE category definitions (pytest)"
    cats = folder / "categories.yaml"
    cats.write_text(yaml.safe_dump(doc))
    result = run_derive(
        cohort,
        OutcomeColumns(synth.TIME_COLUMN, synth.EVENT_COLUMN),
        synth.PLANTED_INSTRUMENT,
        cats,
        folder / "overlay",
        Provenance("TEST FIXTURE registry", "pytest", date(2018, 1, 1), date(2019, 12, 31)),
        ignore=(synth.AMBULATORY_COLUMN,),
    )
    assert result.synthetic is False
    return folder / "overlay"


def _doc(overlay: Path) -> dict[str, Any]:
    return assessment_document(PATIENT, kb=load_kb(overlay))


def test_outputs_say_whether_site_derived_decides(
    site_table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOW_SITE_DERIVED_ENV, raising=False)
    off = _doc(site_table)["site_derived"]
    assert off["may_decide"] is False and off["synthetic"] == []
    assert off["statement"].endswith("they are shown but do not decide the plan.")
    monkeypatch.setenv(ALLOW_SITE_DERIVED_ENV, "true")
    on = _doc(site_table)["site_derived"]
    assert on["may_decide"] is True
    assert on["statement"].endswith("the site has enabled them to decide the plan.")
    monkeypatch.setenv(ALLOW_SITE_DERIVED_ENV, "perhaps")
    with pytest.raises(InputError) as caught:
        _doc(site_table)
    assert caught.value.problems[0].message.startswith("MESCC_ALLOW_SITE_DERIVED: 'perhaps'")


def test_no_statement_without_a_site_derived_table() -> None:
    assert "site_derived" not in assessment_document(PATIENT, kb=load_kb(None))


def test_cli_flag_enables_it(
    site_table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOW_SITE_DERIVED_ENV, raising=False)
    patient = tmp_path / "p.json"
    patient.write_text(json.dumps(PATIENT))
    base = ["--kb-overlay", str(site_table)]
    tail = ["assess", str(patient), "--format", "json"]
    off = CliRunner().invoke(app, [*base, *tail])
    on = CliRunner().invoke(app, [*base, "--allow-site-derived", *tail])
    assert off.exit_code == on.exit_code == 0, off.stderr + on.stderr
    assert json.loads(off.stdout)["site_derived"]["may_decide"] is False
    assert json.loads(on.stdout)["site_derived"]["may_decide"] is True
    monkeypatch.delenv(ALLOW_SITE_DERIVED_ENV, raising=False)  # the flag set it for the process
