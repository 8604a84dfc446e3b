"""``mescc assess --fhir``, ``--fhir-server URL --patient ID`` and ``--format fhir``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from fhir.resources.R4B.bundle import Bundle
from typer.testing import CliRunner

from api.fhir_server import fhir_server
from mescc.adapters.fhir_in import bundle_resources, fhir_assessment_document, import_bundle
from mescc.cli import app
from mescc.document import assessment_document
from mescc.kb.loader import KnowledgeBase
from mescc.render.json_view import json_view

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "examples" / "fhir"
runner = CliRunner()


def _json(args: list[str]) -> tuple[int, Any, str]:
    result = runner.invoke(app, args)
    out = json.loads(result.stdout) if result.exit_code == 0 else None
    return result.exit_code, out, result.stderr


def test_assess_fhir_bundle_equals_the_library(kb: KnowledgeBase) -> None:
    path = SAMPLES / "intermediate_breast.json"
    code, doc, _ = _json(["assess", "--fhir", str(path), "--format", "json", "--detail", "full"])
    assert code == 0
    imported = import_bundle(json.loads(path.read_text()), origin=str(path))
    expected = fhir_assessment_document(imported, kb=kb)
    assert doc == expected
    # the default (summary) view of the same document
    code, view, _ = _json(["assess", "--fhir", str(path), "--format", "json"])
    assert code == 0
    assert view == json_view(expected, "summary")
    assert doc["input_provenance"]["inputs"]["ecog"]["resource"].startswith("Observation/")


def test_assess_fhir_reports_the_resources_not_used_on_stderr() -> None:
    path = SAMPLES / "intermediate_breast_conflicting.json"
    code, doc, err = _json(["assess", "--fhir", str(path), "--format", "json"])
    assert code == 0
    assert "fhir: conflicting: ecog:" in err
    assert "Observation/example-intermediate-breast-ecog-second-reader" in err
    assert {i["kind"] for i in doc["input_provenance"]["issues"]} >= {"conflicting", "stale"}


def test_assess_format_fhir_prints_a_valid_r4_bundle(kb: KnowledgeBase) -> None:
    code, bundle, _ = _json(
        ["assess", str(REPO / "examples/poor_prognosis.yaml"), "--format", "fhir"]
    )
    assert code == 0
    Bundle.model_validate(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    document = assessment_document(
        yaml.safe_load((REPO / "examples/poor_prognosis.yaml").read_text()), kb=kb
    )
    computed = [i for i, r in document["instruments"].items() if r["status"] == "computed"]
    assert kinds.count("RiskAssessment") == len(computed)
    assert kinds.count("ServiceRequest") == 1


def test_assess_fhir_server_reads_the_patient_over_http(kb: KnowledgeBase) -> None:
    sample = json.loads((SAMPLES / "prior_rt_within.json").read_text())
    resources = [{k: v for k, v in r.items() if k != "__fullUrl"} for r in bundle_resources(sample)]
    pid = resources[0]["id"]
    with fhir_server(resources, token="cli-token") as (url, store):
        result = runner.invoke(
            app,
            [
                "assess",
                "--fhir-server",
                url,
                "--patient",
                pid,
                "--format",
                "json",
                "--max-age-days",
                "100000",
            ],
            env={"MESCC_FHIR_TOKEN": "cli-token"},
        )
        refused = runner.invoke(app, ["assess", "--fhir-server", url, "--patient", pid])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["input_provenance"]["origin"] == url
    assert doc["patient"]["prior_radiotherapy"][0]["fractions"] == 5
    assert any(r.startswith("/fhir/Procedure?") for r in store.requests)
    assert refused.exit_code == 2 and "HTTP 401" in refused.stderr


def test_bad_fhir_input_exits_2_naming_the_problem(tmp_path: Path) -> None:
    not_bundle = tmp_path / "patient.json"
    not_bundle.write_text(json.dumps({"resourceType": "Patient", "id": "p1"}))
    result = runner.invoke(app, ["assess", "--fhir", str(not_bundle)])
    assert result.exit_code == 2
    assert 'resourceType: "Patient" is not a Bundle' in result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert runner.invoke(app, ["assess", "--fhir", str(broken)]).exit_code == 2
    both = runner.invoke(app, ["assess", "x.yaml", "--fhir", str(broken)])
    assert both.exit_code == 2 and "give patient FILE(s)" in both.stderr
    no_patient = runner.invoke(app, ["assess", "--fhir-server", "http://127.0.0.1:9"])
    assert no_patient.exit_code == 2 and "--patient" in no_patient.stderr


def test_the_text_output_shows_each_input_source_and_the_resources_not_used() -> None:
    path = SAMPLES / "intermediate_breast_conflicting.json"
    result = runner.invoke(
        app, ["assess", "--fhir", str(path), "--detail", "full"], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 0
    assert "Inputs read from FHIR" in result.stdout
    assert "kps = 60: Observation/example-intermediate-breast-kps" in result.stdout
    assert "stale: Observation/example-intermediate-breast-escc-grade" in result.stdout
