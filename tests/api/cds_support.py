"""Shared pieces of the CDS Hooks tests: a prefetch built from an example patient (dated now,
since the service's reference time is the time of the call), and request bodies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from mescc.adapters.fhir_out import patient_resources
from mescc.patient import Patient

REPO = Path(__file__).resolve().parents[2]
SERVICE = "mescc-rt-advisor"


def example_resources(stem: str, when: datetime | None = None) -> list[dict[str, Any]]:
    data = yaml.safe_load((REPO / "examples" / f"{stem}.yaml").read_text(encoding="utf-8"))
    patient = Patient.from_data(data).given()
    return patient_resources(patient, reference_time=when or datetime.now(UTC))


def searchset(resources: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources if r["resourceType"] == kind],
    }


def prefetch_of(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "patient": resources[0],
        "conditions": searchset(resources, "Condition"),
        "observations": searchset(resources, "Observation"),
        "procedures": searchset(resources, "Procedure"),
    }


def hook_body(patient_id: str, prefetch: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/dr-test", "patientId": patient_id},
        **extra,
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def fhir_authorization(token: str) -> dict[str, Any]:
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/Patient.read patient/Observation.read patient/Condition.read",
        "subject": "mescc-cds-service",
    }


def assert_card_conforms(card: dict[str, Any]) -> None:
    """The CDS Hooks 2.0 card fields: required ones present and typed, optional ones valid."""
    assert isinstance(card["summary"], str) and 0 < len(card["summary"]) < 140
    assert card["indicator"] in {"info", "warning", "critical"}
    assert isinstance(card["source"]["label"], str) and card["source"]["label"]
    assert isinstance(card["detail"], str) and card["detail"].strip()
    uuid.UUID(card["uuid"])
    for link in card.get("links", []):
        assert link["label"] and link["url"] and link["type"] in {"absolute", "smart"}
        if link["type"] == "absolute":
            assert link["url"].startswith(("http://", "https://"))
            assert "appContext" not in link
    if "suggestions" in card:
        assert card["selectionBehavior"] in {"at-most-one", "any"}
        for suggestion in card["suggestions"]:
            assert suggestion["label"]
            for action in suggestion["actions"]:
                assert action["type"] in {"create", "update", "delete"}
                assert action["description"]
                if action["type"] == "create":
                    assert action["resource"]["resourceType"]
    for reason in card.get("overrideReasons", []):
        assert reason["display"]
    for value in card.values():
        assert value not in (None, "", [], {}), "the spec forbids null or empty elements"
