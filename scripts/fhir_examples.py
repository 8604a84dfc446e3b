"""Write the synthetic FHIR R4 sample bundles of ``examples/fhir/`` (SYNTHETIC test data).

One bundle per bundled example patient (``examples/*.yaml``), made with the same mapping table
the import reads (``mescc.adapters.fhir_out.patient_bundle``), plus variants with missing,
conflicting, duplicated, stale, unmapped and foreign resources. Every bundle is stamped
``REFERENCE_TIME``; ``tests/adapters/test_fhir_examples.py`` checks the files are what this
script writes (run it after changing the mapping table or an example):

    .venv/bin/python scripts/fhir_examples.py
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from mescc.adapters.fhir_codes import mapping
from mescc.adapters.fhir_out import patient_bundle
from mescc.patient import Patient

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
OUT = EXAMPLES / "fhir"
REFERENCE_TIME = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LABEL = "SYNTHETIC test data: a made-up patient, not a real person"


def example_patients() -> dict[str, dict[str, Any]]:
    """The bundled example patients (validated), by file stem."""
    return {
        path.stem: Patient.from_data(yaml.safe_load(path.read_text(encoding="utf-8"))).given()
        for path in sorted(EXAMPLES.glob("*.yaml"))
    }


def _entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = bundle["entry"]
    return entries


def _find(bundle: dict[str, Any], resource_id: str) -> dict[str, Any]:
    resource: dict[str, Any] = next(
        e["resource"] for e in _entries(bundle) if e["resource"]["id"] == resource_id
    )
    return resource


def _add(bundle: dict[str, Any], resource: dict[str, Any]) -> None:
    _entries(bundle).append({"fullUrl": f"urn:uuid:{_uuid(resource['id'])}", "resource": resource})


def _uuid(seed: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.UUID("0b7a3c1e-2f4d-4e6a-8b9c-0d1e2f3a4b5c"), seed))


def _missing(base: dict[str, Any]) -> dict[str, Any]:
    """ECOG, KPS and two SINS components absent: those instruments become not computable."""
    bundle = copy.deepcopy(base)
    bundle["id"] += "-missing"
    pid = _entries(bundle)[0]["resource"]["id"]
    gone = {f"{pid}-{key}".replace("_", "-") for key in ("ecog", "kps")} | {
        f"{pid}-sins.pain".replace("_", "-"),
        f"{pid}-sins.collapse".replace("_", "-"),
    }
    bundle["entry"] = [e for e in _entries(bundle) if e["resource"]["id"] not in gone]
    return bundle


def _conflicting(base: dict[str, Any]) -> dict[str, Any]:
    """Every problem the import reports, each with its resource id."""
    table = mapping()
    bundle = copy.deepcopy(base)
    bundle["id"] += "-conflicting"
    pid = _entries(bundle)[0]["resource"]["id"]
    ecog = _find(bundle, f"{pid}-ecog")
    kps = _find(bundle, f"{pid}-kps")
    bilsky = _find(bundle, f"{pid}-escc-grade")
    # conflicting: a second ECOG at the same time with another value
    second = copy.deepcopy(ecog)
    second["id"] = f"{pid}-ecog-second-reader"
    second["valueInteger"] = ecog["valueInteger"] + 1
    _add(bundle, second)
    # superseded: an older ECOG (the newest is the current finding)
    older = copy.deepcopy(ecog)
    older["id"] = f"{pid}-ecog-earlier"
    older["effectiveDateTime"] = "2026-11-16T09:00:00Z"
    older["valueInteger"] = 1
    _add(bundle, older)
    # duplicated: the same KPS entered twice
    twice = copy.deepcopy(kps)
    twice["id"] = f"{pid}-kps-copy"
    _add(bundle, twice)
    # stale: the Bilsky grade read from an MRI two months ago (older than the window)
    bilsky["effectiveDateTime"] = "2026-09-18T09:00:00Z"
    # not final: a preliminary Frankel grade
    frankel = _find(bundle, f"{pid}-frankel-grade")
    frankel["status"] = "preliminary"
    # invalid: a KPS that is not a multiple of 10, in another resource at an older time
    odd = copy.deepcopy(kps)
    odd["id"] = f"{pid}-kps-odd"
    odd["valueInteger"] = 65
    odd["effectiveDateTime"] = "2026-11-15T09:00:00Z"
    _add(bundle, odd)
    # unmapped: an observation coded only as text
    _add(
        bundle,
        {
            "resourceType": "Observation",
            "id": f"{pid}-pain-score",
            "status": "final",
            "code": {"text": "Pain score (numeric rating scale)"},
            "subject": {"reference": f"Patient/{pid}"},
            "effectiveDateTime": "2026-11-19T09:00:00Z",
            "valueInteger": 6,
        },
    )
    # other patient: an ECOG of someone else
    foreign = copy.deepcopy(ecog)
    foreign["id"] = "another-patient-ecog"
    foreign["subject"] = {"reference": "Patient/another-patient"}
    _add(bundle, foreign)
    # a unit that is not converted: motor deficits in weeks
    motor = _find(bundle, f"{pid}-motor-deficit-days")
    motor["valueQuantity"] = {
        "value": 1.5,
        "unit": "wk",
        "system": table.systems["ucum"],
        "code": "wk",
    }
    return bundle


def bundles() -> dict[str, dict[str, Any]]:
    """Every sample bundle, by file stem."""
    out: dict[str, dict[str, Any]] = {}
    for stem, patient in example_patients().items():
        out[stem] = patient_bundle(patient, reference_time=REFERENCE_TIME, label=LABEL)
    out["intermediate_breast_missing"] = _missing(out["intermediate_breast"])
    out["intermediate_breast_conflicting"] = _conflicting(out["intermediate_breast"])
    return out


def text_of(bundle: dict[str, Any]) -> str:
    return json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for stem, bundle in bundles().items():
        (OUT / f"{stem}.json").write_text(text_of(bundle), encoding="utf-8")
        print(f"wrote examples/fhir/{stem}.json")


if __name__ == "__main__":
    main()
