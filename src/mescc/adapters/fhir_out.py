"""FHIR R4 out: an assessment document -> an R4 Bundle (validated with ``fhir.resources`` R4B).

The Bundle (type ``collection``) holds:

* one ``RiskAssessment`` per computed instrument: ``method`` names the instrument (project-local
  code, display, citation as text), ``prediction`` its outcome with the group as
  ``qualitativeRisk`` and, where the instrument has one, the group's probability in its source
  cohort (``probabilityDecimal``); ``basis`` references the input resources; the verification
  level and knowledge-base version are carried in ``note`` and in project-local extensions
  (element names confirmed against the R4B models of fhir.resources 8.3.0, reference I1/I3);
* the plan as a proposal: a ``ServiceRequest`` with ``intent: proposal`` and ``status: draft``
  coded SNOMED CT 1217123003 (radiotherapy course, VERIFIED), the regimen as text. It is made
  only when the plan makes a ranking claim and names a recommended regimen: without one, no
  regimen is proposed (the plan's own decision, read here, never re-made);
* for a patient entered by hand (not read from FHIR) the Patient and the inputs as resources
  under the mapping table, so that every ``basis`` reference resolves inside the Bundle.

Only codes the interoperability reference marks VERIFIED are emitted as standard codes;
everything else is project-local (``docs/fhir.md``). No clinical logic: the document's values
are laid out, nothing is computed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from mescc.adapters.fhir_codes import FhirMapping, ObservationMap, mapping
from mescc.adapters.fhir_in import _add_months
from mescc.api.presentation import verification_label, verification_text

INSTRUMENT_SYSTEM = "urn:mescc:codesystem:instrument"
OUTCOME_SYSTEM = "urn:mescc:codesystem:instrument-outcome"
GROUP_SYSTEM = "urn:mescc:codesystem:instrument-group"
REGIMEN_SYSTEM = "urn:mescc:codesystem:regimen"
ASSESSMENT_IDENTIFIER = "urn:mescc:assessment"
_NAMESPACE = uuid.UUID("6f1d8e4e-5a7b-4c1e-9a39-6d2b8d8e1c11")


def fhir_id(text: str) -> str:
    """A valid FHIR id from free text (A-Z a-z 0-9 - ., at most 64 characters)."""
    cleaned = re.sub(r"[^A-Za-z0-9\-.]", "-", text).strip("-.") or "x"
    if len(cleaned) > 64:
        cleaned = cleaned[:47] + "-" + uuid.uuid5(_NAMESPACE, text).hex[:16]
    return cleaned


def _full_url(seed: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, seed)}"


def _ext(name: str) -> str:
    return f"{mapping().systems['extension']}:{name}"


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- inputs -> FHIR


def _observation_value(item: ObservationMap, value: Any, table: FhirMapping) -> dict[str, Any]:
    if item.kind == "int":
        return {"valueInteger": value}
    if item.kind == "number":
        return {
            "valueQuantity": {
                "value": value,
                "unit": item.unit,
                "system": table.systems["ucum"],
                "code": item.unit,
            }
        }
    if item.kind == "bool":
        return {"valueBoolean": value}
    if item.kind == "enum":
        return {"valueCodeableConcept": {"coding": [{"system": item.value_system, "code": value}]}}
    return {"valueString": value}


def patient_resources(
    patient: Mapping[str, Any],
    *,
    reference_time: datetime,
    patient_id: str | None = None,
) -> list[dict[str, Any]]:
    """The contract's patient keys as R4 resources under the mapping table (the inverse of
    ``fhir_in``): Patient, one Observation per finding, Conditions for the primary tumour and
    the metastasis sites, one Procedure per prior course.

    Current findings are dated the day before ``reference_time``; ``age_years`` becomes a
    birth date whose completed years on ``reference_time`` are the age.
    """
    table = mapping()
    pid = patient_id or fhir_id(str(patient.get("id") or "patient"))
    subject = {"reference": f"Patient/{pid}"}
    observed = _instant(reference_time - timedelta(days=1))
    out: list[dict[str, Any]] = []
    person: dict[str, Any] = {"resourceType": "Patient", "id": pid}
    if patient.get("sex") is not None:
        person["gender"] = patient["sex"]
    if patient.get("age_years") is not None:
        person["birthDate"] = _birth_date(reference_time.date(), int(patient["age_years"]))
    out.append(person)
    for item in table.observations:
        head, _, tail = item.key.partition(".")
        value = patient.get(head)
        if tail:
            value = value.get(tail) if isinstance(value, Mapping) else None
        if item.key == "prior_radiotherapy":
            if value is None:
                continue
            value = bool(value)
        if value is None:
            continue
        coding = {"system": item.system, "code": item.code, "display": item.display}
        out.append(
            {
                "resourceType": "Observation",
                "id": fhir_id(f"{pid}-{item.key}"),
                "status": "final",
                "code": {"coding": [coding]},
                "subject": subject,
                "effectiveDateTime": observed,
                **_observation_value(item, value, table),
            }
        )
    if patient.get("primary_tumor") is not None:
        out.append(
            {
                "resourceType": "Condition",
                "id": fhir_id(f"{pid}-primary-tumor"),
                "verificationStatus": _ver("confirmed"),
                "code": {
                    "coding": [
                        {"system": table.primary_tumor_system, "code": patient["primary_tumor"]}
                    ]
                },
                "subject": subject,
            }
        )
    for site, key in table.metastasis_sites.items():
        if patient.get(key) is None:
            continue
        out.append(
            {
                "resourceType": "Condition",
                "id": fhir_id(f"{pid}-metastasis-{site}"),
                "verificationStatus": _ver("confirmed" if patient[key] else "refuted"),
                "code": {
                    "coding": [
                        {
                            "system": table.metastasis_system,
                            "code": table.metastasis_code,
                            "display": table.metastasis_display,
                        }
                    ]
                },
                "bodySite": [{"coding": [{"system": table.metastasis_site_system, "code": site}]}],
                "subject": subject,
            }
        )
    for index, course in enumerate(patient.get("prior_radiotherapy") or []):
        out.append(_course_resource(course, index, pid, subject, reference_time, table))
    return out


def _ver(code: str) -> dict[str, Any]:
    return {
        "coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": code}
        ]
    }


def _birth_date(on: date, age: int) -> str:
    try:
        anniversary = on.replace(year=on.year - age)
    except ValueError:  # 29 February
        anniversary = on.replace(year=on.year - age, day=28)
    return (anniversary - timedelta(days=100)).isoformat()


def _course_resource(
    course: Mapping[str, Any],
    index: int,
    pid: str,
    subject: dict[str, Any],
    reference_time: datetime,
    table: FhirMapping,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": fhir_id(f"{pid}-prior-radiotherapy-{index + 1}"),
        "status": "completed",
        "code": {
            "coding": [
                {
                    "system": table.course_system,
                    "code": table.course_code,
                    "display": table.course_display,
                }
            ]
        },
        "subject": subject,
        "bodySite": [{"coding": [{"system": table.region_system, "code": table.region_code}]}],
        "extension": [
            {"url": table.fractions_url, "valuePositiveInt": course["fractions"]},
            {
                "url": table.dose_url,
                "valueQuantity": {
                    "value": course["dose_per_fraction_gy"],
                    "unit": table.dose_unit,
                    "system": table.systems["ucum"],
                    "code": table.dose_unit,
                },
            },
        ],
    }
    if course.get("technique") is not None:
        resource["extension"].append(
            {
                "url": _ext("technique"),
                "valueCodeableConcept": {
                    "coding": [{"system": table.technique_system, "code": course["technique"]}]
                },
            }
        )
    months = course.get("months_before")
    if months is not None and float(months).is_integer():
        end = _add_months(reference_time, -int(months))
        resource["performedPeriod"] = {"end": _instant(end)}
    elif months is not None:  # not a whole number of months: carried exactly, not as a date
        resource["extension"].append({"url": table.months_before_url, "valueDecimal": months})
    return resource


def patient_bundle(
    patient: Mapping[str, Any],
    *,
    reference_time: datetime,
    patient_id: str | None = None,
    label: str = "SYNTHETIC test data",
) -> dict[str, Any]:
    """A ``collection`` Bundle of :func:`patient_resources`, stamped ``reference_time``."""
    resources = patient_resources(patient, reference_time=reference_time, patient_id=patient_id)
    return {
        "resourceType": "Bundle",
        "id": fhir_id(f"{resources[0]['id']}-bundle"),
        "meta": {
            "tag": [
                {"system": "urn:mescc:codesystem:data-label", "code": "synthetic", "display": label}
            ]
        },
        "type": "collection",
        "timestamp": _instant(reference_time),
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid5(_NAMESPACE, r['resourceType'] + r['id'])}",
                "resource": r,
            }
            for r in resources
        ],
    }


# --------------------------------------------------------------------------- results -> FHIR


def _flat_to_provenance_keys(key: str, inputs: Mapping[str, Any]) -> list[str]:
    if key.startswith("sins_"):
        return [f"sins.{key.removeprefix('sins_')}"]
    if key == "prior_radiotherapy":
        return [k for k in inputs if k.startswith("prior_radiotherapy")]
    return [key]


def _basis(
    needed: Sequence[str], inputs: Mapping[str, Any], patient_ref: str
) -> list[dict[str, str]]:
    refs: list[str] = []
    for key in needed:
        for pkey in _flat_to_provenance_keys(key, inputs):
            source = inputs.get(pkey)
            if isinstance(source, Mapping) and isinstance(source.get("resource"), str):
                ref = str(source["resource"])
                if ref not in refs and ref != patient_ref:
                    refs.append(ref)
    return [{"reference": r} for r in refs]


def risk_assessment(
    instrument_id: str,
    result: Mapping[str, Any],
    meta: Mapping[str, Any],
    *,
    patient_ref: str,
    inputs: Mapping[str, Any],
    when: str,
    document: Mapping[str, Any],
    resource_id: str,
) -> dict[str, Any]:
    """One RiskAssessment for one computed instrument result of the document."""
    level = str(result.get("verification"))
    name = str(result.get("name") or meta.get("name") or instrument_id)
    outcome = str(meta.get("outcome") or "outcome")
    group = result.get("group")
    points = result.get("points")
    category = result.get("category")
    summary = ", ".join(
        part
        for part in (
            f"{points} points" if points is not None else None,
            f"group {group}" if group is not None else None,
            f"category {category}" if category else None,
        )
        if part
    )
    predictions: list[dict[str, Any]] = [
        {
            "outcome": {
                "coding": [{"system": OUTCOME_SYSTEM, "code": outcome}],
                "text": str(meta.get("outcome_text") or outcome),
            },
            "qualitativeRisk": {
                "coding": [{"system": f"{GROUP_SYSTEM}:{instrument_id}", "code": str(group)}],
                "text": f"{name}: {summary}",
            }
            if group is not None
            else {"text": f"{name}: {summary}"},
            "rationale": f"{name}: {summary} ({verification_label(level)})",
        }
    ]
    estimate = result.get("estimate_source") or result.get("estimate")
    if isinstance(estimate, Mapping) and isinstance(estimate.get("value"), int | float):
        cohort = estimate.get("cohort") or "source"
        est_level = str(estimate.get("verification") or level)
        predictions.append(
            {
                "outcome": {
                    "coding": [{"system": OUTCOME_SYSTEM, "code": str(estimate.get("outcome"))}],
                    "text": str(estimate.get("outcome")).replace("_", " "),
                },
                "probabilityDecimal": estimate["value"],
                "rationale": (
                    f"Proportion in group {group} of the {cohort} cohort "
                    f"({verification_label(est_level)}); a group figure, not an individual "
                    "prediction"
                ),
            }
        )
    items = "; ".join(
        f"{i.get('factor')}: {i.get('category')} {i.get('points')}"
        for i in result.get("items") or []
        if isinstance(i, Mapping)
    )
    kb_version = str(document.get("knowledge_base_version"))
    notes = [
        f"Verification: {verification_label(level)} ({verification_text(level)}).",
        f"Knowledge base {kb_version}; mescc {document.get('software_version')}.",
    ]
    if items:
        notes.append(f"Items: {items}.")
    if result.get("conflict"):
        notes.append(f"Conflict: {result['conflict']}")
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "id": resource_id,
        "extension": [
            {"url": _ext("verification"), "valueCode": level},
            {"url": _ext("knowledge-base-version"), "valueString": kb_version},
        ],
        "status": "final",
        "method": {
            "coding": [{"system": INSTRUMENT_SYSTEM, "code": instrument_id, "display": name}],
            "text": str(result.get("citation") or name),
        },
        "subject": {"reference": patient_ref},
        "occurrenceDateTime": when,
        "prediction": predictions,
        "note": [{"text": n} for n in notes],
    }
    basis = _basis(list(meta.get("inputs") or []), inputs, patient_ref)
    if basis:
        resource["basis"] = basis
    return resource


def proposed_course(
    plan: Mapping[str, Any],
    *,
    patient_ref: str,
    when: str,
    reasons: Sequence[str] = (),
    resource_id: str = "radiotherapy-course-proposal",
) -> dict[str, Any] | None:
    """The plan's recommended radiotherapy course as a ``ServiceRequest`` proposal, or None
    when the plan makes no ranking claim or names no recommended regimen (then nothing is
    proposed)."""
    regimen = plan.get("recommended_regimen")
    if not plan.get("ranking_claim") or not regimen:
        return None
    option = next(
        (o for o in plan.get("radiotherapy") or [] if o.get("regimen") == regimen),
        None,
    )
    if option is None:
        return None
    table = mapping()
    detail = (
        f"{option.get('fractions')} fractions of {option.get('dose_per_fraction_gy')} Gy, "
        f"total {option.get('total_dose_gy')} Gy (BED10 {option.get('bed_gy10')} Gy, "
        f"EQD2(10) {option.get('eqd2_gy10')} Gy; {option.get('dose_basis') or 'computed'})"
    )
    rationale = [
        str(r.get("text")) for r in option.get("rationale") or [] if isinstance(r, Mapping)
    ]
    notes = [
        "Decision support: a proposal for a qualified clinician to review, not an order.",
        *rationale,
    ]
    if plan.get("basis_note"):
        notes.append(str(plan["basis_note"]))
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": resource_id,
        "status": "draft",
        "intent": "proposal",
        "code": {
            "coding": [
                {
                    "system": table.course_system,
                    "code": table.course_code,
                    "display": table.course_display,
                }
            ],
            "text": f"Radiotherapy course {regimen}",
        },
        "orderDetail": [
            {
                "coding": [
                    {"system": REGIMEN_SYSTEM, "code": str(option.get("regimen_id") or regimen)}
                ],
                "text": detail,
            }
        ],
        "subject": {"reference": patient_ref},
        "authoredOn": when,
        "note": [{"text": n} for n in notes],
    }
    if reasons:
        resource["reasonReference"] = [{"reference": r} for r in reasons]
    return resource


def assessment_bundle(
    document: Mapping[str, Any],
    instruments: Sequence[Mapping[str, Any]],
    *,
    assessed_at: datetime | None = None,
    assessment_ref: str | None = None,
) -> dict[str, Any]:
    """The R4 Bundle of an assessment document (see the module docstring), validated.

    ``instruments`` is ``mescc.document.instruments_document(kb=...)`` (outcome and inputs of
    each instrument). Raises ``pydantic.ValidationError`` if a resource breaks the R4B model.
    """
    when_dt = assessed_at or datetime.now(UTC)
    when = _instant(when_dt)
    provenance = document.get("input_provenance")
    from_fhir = isinstance(provenance, Mapping) and provenance.get("source") == "fhir"
    entries: list[dict[str, Any]] = []
    if from_fhir:
        assert isinstance(provenance, Mapping)
        patient_ref = str(provenance.get("patient"))
        inputs: Mapping[str, Any] = provenance.get("inputs") or {}
    else:
        entered = patient_resources(document.get("patient") or {}, reference_time=when_dt)
        patient_ref = f"Patient/{entered[0]['id']}"
        inputs = _entered_inputs(entered)
        for resource in entered:
            resource.setdefault("meta", {})["tag"] = [
                {
                    "system": "urn:mescc:codesystem:data-label",
                    "code": "entered",
                    "display": "entered in mescc, not read from the record",
                }
            ]
            entries.append(resource)
    meta_by_id = {str(m.get("id")): m for m in instruments}
    prefix = fhir_id(assessment_ref or "assessment")
    risk_refs: list[str] = []
    for iid, result in (document.get("instruments") or {}).items():
        if not isinstance(result, Mapping) or result.get("status") != "computed":
            continue
        rid = fhir_id(f"{prefix}-{iid}")
        entries.append(
            risk_assessment(
                iid,
                result,
                meta_by_id.get(iid, {}),
                patient_ref=patient_ref,
                inputs=inputs,
                when=when,
                document=document,
                resource_id=rid,
            )
        )
        risk_refs.append(f"RiskAssessment/{rid}")
    plan = document.get("plan")
    if isinstance(plan, Mapping):
        course = proposed_course(
            plan,
            patient_ref=patient_ref,
            when=when,
            reasons=risk_refs,
            resource_id=fhir_id(f"{prefix}-radiotherapy-course"),
        )
        if course is not None:
            entries.append(course)
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": when,
        "entry": [
            {
                "fullUrl": _full_url(prefix + r["resourceType"] + r["id"]),
                "resource": r,
            }
            for r in entries
        ],
    }
    if assessment_ref:
        bundle["identifier"] = {"system": ASSESSMENT_IDENTIFIER, "value": assessment_ref}
    validate_bundle(bundle)
    return bundle


def _entered_inputs(resources: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``input_provenance.inputs``-like references for entered data (its generated resources)."""
    from mescc.adapters.fhir_in import import_resources

    imported = import_resources(
        resources,
        patient_id=str(resources[0]["id"]),
        origin="entered",
    )
    return {s.key: s.as_dict() for s in imported.provenance}


def validate_bundle(bundle: Mapping[str, Any]) -> None:
    """Parse ``bundle`` with the fhir.resources R4B models (raises on any model violation)."""
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(dict(bundle))


def validate_resource(resource: Mapping[str, Any]) -> None:
    """Parse one resource with its fhir.resources R4B model (raises on a model violation)."""
    from fhir.resources.R4B import get_fhir_model_class

    get_fhir_model_class(str(resource["resourceType"])).model_validate(dict(resource))
