"""FHIR export: parsed back with fhir.resources R4B, one RiskAssessment per computed
instrument, a proposal only where the plan recommends a regimen, only VERIFIED standard codes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fhir.resources.R4B.bundle import Bundle

from mescc.adapters.fhir_in import fhir_assessment_document, import_bundle
from mescc.adapters.fhir_out import assessment_bundle, patient_resources, validate_resource
from mescc.document import assessment_document, instruments_document
from mescc.kb.loader import KnowledgeBase

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
REFERENCE = REPO.parent / "shared" / "reference" / "interoperability.md"
STANDARD = {"http://loinc.org": "LOINC", "http://snomed.info/sct": "SNOMED CT"}


def _entered(path: Path, kb: KnowledgeBase) -> dict[str, Any]:
    return assessment_document(yaml.safe_load(path.read_text(encoding="utf-8")), kb=kb)


def _from_fhir(stem: str, kb: KnowledgeBase) -> dict[str, Any]:
    bundle = json.loads((REPO / "examples" / "fhir" / f"{stem}.json").read_text("utf-8"))
    return fhir_assessment_document(import_bundle(bundle), kb=kb)


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _codings(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if "system" in value and "code" in value:
            yield value
        for item in value.values():
            yield from _codings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _codings(item)


def verified_codes() -> set[tuple[str, str]]:
    """(system, code) pairs that interoperability.md section 5 marks VERIFIED."""
    text = REFERENCE.read_text(encoding="utf-8")
    section = text[text.index("## 5. Codes") : text.index("## 6.")]
    out: set[tuple[str, str]] = set()
    for line in section.splitlines():
        cells = [c.strip().replace("*", "") for c in line.strip("|").split("|")]
        if len(cells) != 4 or not cells[3].startswith("VERIFIED"):
            continue
        for code in re.split(r"\s*/\s*", cells[2]):
            if code and code != "—":
                out.add((cells[1], code))
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("source", ["entered", "fhir"])
def test_export_parses_back_with_one_risk_assessment_per_computed_instrument(
    path: Path, source: str, kb: KnowledgeBase
) -> None:
    document = _entered(path, kb) if source == "entered" else _from_fhir(path.stem, kb)
    bundle = assessment_bundle(document, instruments_document(kb=kb))
    parsed = Bundle.model_validate_json(json.dumps(bundle))
    assert parsed.type == "collection"
    risks = _resources(bundle, "RiskAssessment")
    computed = [i for i, r in document["instruments"].items() if r["status"] == "computed"]
    assert sorted(r["method"]["coding"][0]["code"] for r in risks) == sorted(computed)
    for risk in risks:
        iid = risk["method"]["coding"][0]["code"]
        result = document["instruments"][iid]
        levels = {e["url"].rsplit(":", 1)[-1]: e for e in risk["extension"]}
        assert levels["verification"]["valueCode"] == result["verification"]
        assert levels["knowledge-base-version"]["valueString"] == document["knowledge_base_version"]
        assert risk["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] == result["group"]
        if result["estimate"] is not None:
            assert risk["prediction"][1]["probabilityDecimal"] == result["estimate"]["value"]
        else:
            assert len(risk["prediction"]) == 1
    inside = {f"{r['resourceType']}/{r['id']}" for r in (e["resource"] for e in bundle["entry"])}
    if source == "entered":
        for risk in risks:
            assert {b["reference"] for b in risk.get("basis", [])} <= inside
    else:
        given = {
            f"{e['resource']['resourceType']}/{e['resource']['id']}"
            for e in json.loads(
                (REPO / "examples" / "fhir" / f"{path.stem}.json").read_text("utf-8")
            )["entry"]
        }
        assert all(b["reference"] in given for r in risks for b in r.get("basis", []))
        assert any(r.get("basis") for r in risks)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_the_proposal_is_the_recommended_regimen_and_only_when_the_plan_claims_one(
    path: Path, kb: KnowledgeBase
) -> None:
    document = _entered(path, kb)
    plan = document["plan"]
    requests = _resources(
        assessment_bundle(document, instruments_document(kb=kb)), "ServiceRequest"
    )
    if plan["ranking_claim"] and plan["recommended_regimen"]:
        (request,) = requests
        assert request["intent"] == "proposal" and request["status"] == "draft"
        assert request["code"]["coding"][0] == {
            "system": "http://snomed.info/sct",
            "code": "1217123003",
            "display": "Radiotherapy course of treatment (regime/therapy)",
        }
        assert plan["recommended_regimen"] in request["code"]["text"]
    else:
        assert requests == []


def test_no_regimen_is_proposed_without_a_ranking_claim(kb: KnowledgeBase) -> None:
    document = assessment_document({}, kb=kb)
    assert document["plan"]["ranking_claim"] is False
    assert document["plan"]["radiotherapy"], "the options are listed, without a claim"
    bundle = assessment_bundle(document, instruments_document(kb=kb))
    assert _resources(bundle, "ServiceRequest") == []
    beyond = _entered(REPO / "examples" / "prior_rt_beyond.yaml", kb)
    assert beyond["plan"]["recommended_regimen"] is None
    assert (
        _resources(assessment_bundle(beyond, instruments_document(kb=kb)), "ServiceRequest") == []
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_only_codes_the_reference_marks_verified_are_emitted_as_standard_codes(
    path: Path, kb: KnowledgeBase
) -> None:
    allowed = verified_codes()
    assert ("LOINC", "89247-1") in allowed and ("SNOMED CT", "1217123003") in allowed
    bundle = assessment_bundle(_entered(path, kb), instruments_document(kb=kb))
    emitted = {
        (STANDARD[c["system"]], c["code"]) for c in _codings(bundle) if c["system"] in STANDARD
    }
    assert emitted <= allowed, f"not VERIFIED in the reference: {emitted - allowed}"
    assert all(
        c["system"] in STANDARD
        or c["system"].startswith("urn:mescc:")
        or c["system"].startswith("http://terminology.hl7.org/CodeSystem/")
        or c["system"] == "http://unitsofmeasure.org"
        for c in _codings(bundle)
    )


def test_r4_example_instances_round_trip_through_the_r4b_models() -> None:
    """Reference I1: R4 instances of the resources used parse identically in R4B."""
    patient = yaml.safe_load((REPO / "examples" / "prior_rt_within.yaml").read_text("utf-8"))
    from datetime import UTC, datetime

    resources = patient_resources(patient, reference_time=datetime(2026, 11, 20, tzinfo=UTC))
    kinds = {r["resourceType"] for r in resources}
    assert kinds == {"Patient", "Observation", "Condition", "Procedure"}
    from fhir.resources.R4B import get_fhir_model_class

    for resource in resources:
        model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert json.loads(model.model_dump_json(exclude_none=True)) == resource
        validate_resource(resource)


def test_exported_risk_assessments_and_proposals_round_trip_through_the_r4b_models(
    kb: KnowledgeBase,
) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    document = _entered(REPO / "examples" / "radioresistant_unstable.yaml", kb)
    bundle = assessment_bundle(document, instruments_document(kb=kb))
    kinds = set()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        kinds.add(resource["resourceType"])
        model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert json.loads(model.model_dump_json(exclude_none=True)) == resource
    assert {"RiskAssessment", "ServiceRequest"} <= kinds
