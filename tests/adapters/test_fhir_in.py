"""FHIR import: round trips of every example, and every problem reported with its resource id."""

from __future__ import annotations

import copy
import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from mescc.adapters.fhir_in import (
    FhirImportError,
    calendar_months,
    fhir_assessment_document,
    import_bundle,
)
from mescc.adapters.fhir_out import patient_bundle
from mescc.document import assessment_document
from mescc.kb.loader import KnowledgeBase
from mescc.patient import Patient

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "examples" / "fhir"
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "fhir_examples", REPO / "scripts/fhir_examples.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sample(stem: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / f"{stem}.json").read_text(encoding="utf-8"))
    return data


def _direct(path: Path) -> Patient:
    return Patient.from_data(yaml.safe_load(path.read_text(encoding="utf-8")))


def _issues(stem: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for issue in import_bundle(_sample(stem)).issues:
        out.setdefault(issue.kind, []).append(issue.as_dict())
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_bundle_gives_the_same_assessment_as_the_patient_entered(
    path: Path, kb: KnowledgeBase
) -> None:
    imported = import_bundle(_sample(path.stem))
    assert imported.issues == ()
    assert imported.patient == _direct(path)
    from_fhir = fhir_assessment_document(imported, kb=kb)
    entered = assessment_document(_direct(path), kb=kb)
    assert from_fhir.pop("input_provenance")["inputs"]
    assert from_fhir == entered


def test_sample_bundles_are_what_the_script_writes() -> None:
    script = _script()
    bundles = script.bundles()
    on_disk = sorted(p.stem for p in SAMPLES.glob("*.json"))
    assert on_disk == sorted(bundles), "run .venv/bin/python scripts/fhir_examples.py"
    for stem, bundle in bundles.items():
        text = (SAMPLES / f"{stem}.json").read_text(encoding="utf-8")
        assert text == script.text_of(bundle), (
            f"examples/fhir/{stem}.json is out of date: run scripts/fhir_examples.py"
        )


def test_sample_bundles_are_labelled_synthetic() -> None:
    for path in SAMPLES.glob("*.json"):
        tags = json.loads(path.read_text(encoding="utf-8"))["meta"]["tag"]
        assert any(t["code"] == "synthetic" and "SYNTHETIC" in t["display"] for t in tags), path


def test_every_value_keeps_its_resource_and_effective_time() -> None:
    imported = import_bundle(_sample("intermediate_breast"))
    inputs = imported.as_dict()["inputs"]
    given = imported.patient.given()
    assert inputs["ecog"] == {
        "value": 2,
        "resource": "Observation/example-intermediate-breast-ecog",
        "element": "valueInteger",
        "effective": "2026-11-19T09:00:00Z",
        "coding": "http://loinc.org|89247-1",
    }
    assert inputs["sins.location"]["resource"].startswith("Observation/")
    assert inputs["primary_tumor"]["resource"] == (
        "Condition/example-intermediate-breast-primary-tumor"
    )
    assert inputs["age_years"]["element"].startswith("birthDate ")
    flat = {k for k in given if k not in ("sins", "prior_radiotherapy", "preferences")}
    flat |= {f"sins.{k}" for k in given.get("sins", {})}
    assert flat <= set(inputs), f"no provenance for {flat - set(inputs)}"


def test_conflicting_bundle_reports_every_problem_with_its_resource_ids() -> None:
    issues = _issues("intermediate_breast_conflicting")
    pid = "example-intermediate-breast"

    def refs(kind: str) -> set[str]:
        return {r for i in issues[kind] for r in i["resources"]}

    assert refs("conflicting") == {
        f"Observation/{pid}-ecog",
        f"Observation/{pid}-ecog-second-reader",
    }
    assert f"Observation/{pid}-ecog-earlier" in refs("superseded")
    assert f"Observation/{pid}-kps-odd" in refs("superseded")
    assert refs("duplicated") == {f"Observation/{pid}-kps", f"Observation/{pid}-kps-copy"}
    assert refs("stale") == {f"Observation/{pid}-escc-grade"}
    assert refs("not_used") == {f"Observation/{pid}-frankel-grade"}
    assert refs("unmapped") == {f"Observation/{pid}-pain-score"}
    assert refs("other_patient") == {"Observation/another-patient-ecog"}
    assert refs("invalid") == {f"Observation/{pid}-motor-deficit-days"}
    assert "no other unit is converted" in issues["invalid"][0]["message"]


def test_conflicting_and_stale_values_are_unknown_never_guessed(kb: KnowledgeBase) -> None:
    imported = import_bundle(_sample("intermediate_breast_conflicting"))
    patient = imported.patient
    assert patient.ecog is None  # two current values disagree
    assert patient.escc_grade is None  # stale
    assert patient.frankel_grade is None  # preliminary
    assert patient.motor_deficit_days is None  # weeks are not converted
    assert patient.kps == 60  # the duplicate agrees; the older odd value is superseded
    document = fhir_assessment_document(imported, kb=kb)
    assert (
        "ecog" not in document["patient"] and "ecog" not in document["input_provenance"]["inputs"]
    )
    assert document["instruments"]["bilsky_escc_2010"]["status"] == "not_computable"


def test_missing_resources_make_instruments_not_computable(kb: KnowledgeBase) -> None:
    imported = import_bundle(_sample("intermediate_breast_missing"))
    assert imported.patient.ecog is None and imported.patient.kps is None
    assert imported.patient.sins is not None and imported.patient.sins.pain is None
    document = fhir_assessment_document(imported, kb=kb)
    assert document["instruments"]["sins_2010"]["status"] == "not_computable"
    assert "sins_pain" in document["instruments"]["sins_2010"]["missing"]
    assert document["instruments"]["chow_nrf_2008"]["missing"] == ["kps"]


def _bundle_of(patient: dict[str, Any], when: datetime) -> dict[str, Any]:
    return patient_bundle(patient, reference_time=when)


WHEN = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _observation(bundle: dict[str, Any], suffix: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["id"].endswith(suffix)
    )
    return found


def test_the_freshness_window_is_configurable() -> None:
    bundle = _bundle_of({"id": "p1", "ecog": 1}, WHEN)
    _observation(bundle, "-ecog")["effectiveDateTime"] = "2026-11-01T09:00:00Z"
    assert import_bundle(bundle).patient.ecog is None
    assert import_bundle(bundle, max_age_days=30).patient.ecog == 1


def test_a_current_finding_without_an_effective_time_is_not_used() -> None:
    bundle = _bundle_of({"id": "p1", "ecog": 1, "prior_palliative_chemotherapy_courses": 2}, WHEN)
    for entry in bundle["entry"]:
        entry["resource"].pop("effectiveDateTime", None)
    imported = import_bundle(bundle)
    assert imported.patient.ecog is None
    assert imported.patient.prior_palliative_chemotherapy_courses == 2  # not a current finding
    assert [i.kind for i in imported.issues] == ["stale"]


def test_a_value_out_of_range_is_reported_with_its_resource_not_clamped() -> None:
    bundle = _bundle_of({"id": "p1", "ecog": 1}, WHEN)
    _observation(bundle, "-ecog")["valueInteger"] = 5
    imported = import_bundle(bundle)
    assert imported.patient.ecog is None
    (issue,) = imported.issues
    assert issue.kind == "invalid" and issue.resources == ("Observation/p1-ecog",)
    assert issue.message.startswith("ecog: 5 is out of range; allowed: integer 0-4")


def test_a_contradiction_between_findings_drops_the_contradicted_key() -> None:
    bundle = _bundle_of({"id": "p1", "visceral_metastases": True}, WHEN)
    extra = _bundle_of(
        {"id": "p1", "visceral_metastases": True, "visceral_metastases_resectable": True}, WHEN
    )
    bundle["entry"] = extra["entry"]
    condition = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "p1-metastasis-visceral"
    )
    condition["verificationStatus"]["coding"][0]["code"] = "refuted"
    imported = import_bundle(bundle)
    assert imported.patient.visceral_metastases is False
    assert imported.patient.visceral_metastases_resectable is None
    assert any(
        i.kind == "invalid" and i.key == "visceral_metastases_resectable" for i in imported.issues
    )


def test_the_standard_loinc_answer_code_is_read_and_an_unlisted_one_is_not() -> None:
    bundle = _bundle_of({"id": "p1", "ecog": 1}, WHEN)
    ecog = _observation(bundle, "-ecog")
    del ecog["valueInteger"]
    ecog["valueCodeableConcept"] = {"coding": [{"system": "http://loinc.org", "code": "LA9622-7"}]}
    assert import_bundle(copy.deepcopy(bundle)).patient.ecog == 0
    ecog["valueCodeableConcept"]["coding"][0]["code"] = "LA9623-5"
    imported = import_bundle(bundle)
    assert imported.patient.ecog is None
    assert imported.issues[0].kind == "invalid"


def test_prior_courses_and_a_statement_of_none_that_contradicts_them() -> None:
    courses = [{"fractions": 5, "dose_per_fraction_gy": 4.0, "months_before": 12}]
    bundle = _bundle_of({"id": "p1", "prior_radiotherapy": courses}, WHEN)
    imported = import_bundle(bundle)
    assert imported.patient_data["prior_radiotherapy"] == [
        {"fractions": 5, "dose_per_fraction_gy": 4.0, "months_before": 12.0}
    ]
    assert imported.as_dict()["inputs"]["prior_radiotherapy[0]"]["resource"] == (
        "Procedure/p1-prior-radiotherapy-1"
    )
    _observation(bundle, "-prior-radiotherapy")["valueBoolean"] = False
    imported = import_bundle(bundle)
    assert imported.patient.prior_radiotherapy is None
    assert [i.kind for i in imported.issues] == ["conflicting"]
    none_given = import_bundle(_bundle_of({"id": "p1", "prior_radiotherapy": []}, WHEN))
    assert none_given.patient.prior_radiotherapy == ()


def test_a_course_without_its_dose_or_outside_the_region_is_not_counted() -> None:
    courses = [{"fractions": 5, "dose_per_fraction_gy": 4.0, "months_before": 12}]
    bundle = _bundle_of({"id": "p1", "prior_radiotherapy": courses}, WHEN)
    procedure = _observation(bundle, "-prior-radiotherapy-1")
    procedure["extension"] = procedure["extension"][:1]
    imported = import_bundle(copy.deepcopy(bundle))
    assert imported.patient.prior_radiotherapy is None
    assert any(i.kind == "invalid" for i in imported.issues)
    bundle = _bundle_of({"id": "p1", "prior_radiotherapy": courses}, WHEN)
    _observation(bundle, "-prior-radiotherapy-1")["bodySite"] = []
    imported = import_bundle(bundle)
    assert imported.patient.prior_radiotherapy is None
    kinds = {i.kind for i in imported.issues}
    assert kinds == {"not_used"}


def test_a_bundle_with_no_or_two_patients_or_no_bundle_is_refused() -> None:
    with pytest.raises(FhirImportError, match="not a Bundle"):
        import_bundle({"resourceType": "Patient", "id": "p1"})
    two = _bundle_of({"id": "p1"}, WHEN)
    two["entry"].append({"resource": {"resourceType": "Patient", "id": "p2"}})
    with pytest.raises(FhirImportError, match="2 Patient resources"):
        import_bundle(two)
    chosen = import_bundle(two, patient_id="p2")
    assert chosen.patient_reference == "Patient/p2"
    assert any(i.kind == "other_patient" for i in chosen.issues)


def test_calendar_months_are_exact_for_whole_months() -> None:
    start = datetime(2026, 7, 20, 9, tzinfo=UTC)
    assert calendar_months(start, WHEN) == 4.0
    assert calendar_months(datetime(2025, 11, 20, 9, tzinfo=UTC), WHEN) == 12.0
    assert calendar_months(datetime(2026, 10, 5, 9, tzinfo=UTC), WHEN) == 1.5
