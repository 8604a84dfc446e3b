"""The contract's documents: patient data in, JSON-ready dicts out.

These are the functions the adapters (CLI, web, API) call. They hold no clinical logic: they
validate, call ``assess`` / ``bed`` / the knowledge base, and lay the results out as
``shared/contract.md`` specifies. Every instrument result keeps its citation, verification
level, items and missing inputs (a score never travels without its source).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mescc import __version__
from mescc.assessment import SCHEMA_VERSION, Assessment, assess
from mescc.dose import bed, eqd2
from mescc.errors import InputError, Problem
from mescc.fields import FIELD_BY_KEY, REGIMEN_FIELDS, check_value
from mescc.kb.loader import KnowledgeBase, load_kb
from mescc.patient import Patient

DISCLAIMER = (
    "Decision support for healthcare professionals treating MESCC; it does not replace "
    "clinical judgement. MESCC is an emergency: do not delay MRI, steroids or referral for "
    "this software."
)


def assessment_to_dict(a: Assessment) -> dict[str, Any]:
    """Lay out an assessment as the contract's JSON document."""
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "knowledge_base_version": a.knowledge_base_version,
        "software_version": __version__,
        "patient": a.patient.given(),
        "instruments": {iid: r.as_dict() for iid, r in a.instruments.items()},
        "plan": a.plan.as_dict() if a.plan is not None else None,
        "allow_unverified": a.allow_unverified,
        "disclaimer": DISCLAIMER,
    }
    derived = site_derived_statement(a)
    if derived is not None:
        doc["site_derived"] = derived
    if a.plan is not None:
        from mescc.summary import board_summary

        # the board summary as data, right after the patient (what a reader looks at first)
        summary = board_summary(doc)
        doc = {k: v for k, v in doc.items() if k in ("schema_version", "knowledge_base_version",
               "software_version", "patient")} | {"summary": summary} | doc  # fmt: skip
    return doc


def site_derived_statement(a: Assessment) -> dict[str, Any] | None:
    """What every output says when a site-derived table (``mescc derive``) was used: which
    instruments, whether they may decide the plan (``MESCC_ALLOW_SITE_DERIVED``), one sentence.
    None when no result is site-derived."""
    from mescc.kb.overlay import site_derived_decides

    ids = [iid for iid, r in a.instruments.items() if r.verification == "site-derived"]
    if not ids:
        return None
    synthetic = [iid for iid in ids if (a.instruments[iid].site or {}).get("synthetic")]
    allowed = site_derived_decides(synthetic=bool(synthetic))
    may = allowed
    statement = (
        f"SITE-DERIVED tables in use ({', '.join(ids)}): points derived on this site's own "
        "registry by the published method, not the published tables; "
        + (
            "the site has enabled them to decide the plan."
            if may
            else "they are shown but do not decide the plan"
            + (" (derived on a SYNTHETIC cohort: never evidence)." if synthetic else ".")
        )
    )
    return {"instruments": ids, "may_decide": may, "synthetic": synthetic, "statement": statement}


def assessment_document(
    data: Mapping[str, Any] | Patient,
    *,
    kb: KnowledgeBase | None = None,
    allow_unverified: bool = False,
) -> dict[str, Any]:
    """Validate ``data`` as a Patient, assess it, build the plan and return the contract JSON.

    Raises
    ------
    mescc.errors.InputError
        When any field is not allowed (``.problems`` lists every one).
    """
    kb = kb or load_kb()
    patient = data if isinstance(data, Patient) else Patient.from_data(data)
    return assessment_to_dict(assess(patient, kb, allow_unverified=allow_unverified))


def instruments_document(*, kb: KnowledgeBase | None = None) -> list[dict[str, Any]]:
    """Every instrument with id, name, outcome, citation, verification and needed inputs."""
    kb = kb or load_kb()
    out = []
    for inst in kb.instruments.values():
        inputs = list(inst.inputs)
        out.append(
            {
                "id": inst.id,
                "name": inst.name,
                "kind": inst.kind,
                "outcome": inst.outcome,
                "outcome_text": inst.outcome_text,
                "direction": inst.direction,
                "citation": inst.citation.short(),
                "locator": inst.citation.locator,
                "verification": inst.verification,
                "verification_note": inst.verification_note,
                "computable": not inst.is_skeleton,
                "status_note": (
                    "points table not supplied: a site may supply one (mescc kb check)"
                    if inst.is_skeleton
                    else None
                ),
                "inputs": inputs,
                "added_inputs": [
                    {"key": k, "description": FIELD_BY_KEY[k].description}
                    for k in inputs
                    if FIELD_BY_KEY[k].source != "contract"
                ],
                "total_range": list(inst.total_range) if inst.total_range else None,
                "groups": [g.label for g in inst.groups],
                "flags": list(inst.flags),
                "site": inst.site.model_dump(mode="json") if inst.site else None,
                "derived": inst.derived.model_dump(mode="json") if inst.derived else None,
                "knowledge_base_version": kb.version,
            }
        )
    return out


def dose_document(
    fractions: int, dose_per_fraction_gy: float, alpha_beta: float = 10.0
) -> dict[str, Any]:
    """BED and EQD2 of one regimen (linear-quadratic, no time factor), as a JSON dict.

    Raises
    ------
    mescc.errors.InputError
        When a value is outside its range in ``mescc.fields.REGIMEN_FIELDS`` (0 Gy, inf,
        NaN, an impossible number of fractions): every problem listed, nothing computed, so
        a BED is never infinite or null.
    """
    problems: list[Problem] = []
    for spec, value in zip(
        REGIMEN_FIELDS, (fractions, dose_per_fraction_gy, alpha_beta), strict=True
    ):
        _, problem = check_value(spec.key, value, spec)
        if problem is not None:
            problems.append(problem)
    if problems:
        raise InputError(problems)
    b = bed(fractions, dose_per_fraction_gy, alpha_beta)
    e = eqd2(fractions, dose_per_fraction_gy, alpha_beta)
    return {
        "fractions": fractions,
        "dose_per_fraction_gy": dose_per_fraction_gy,
        "total_dose_gy": round(fractions * dose_per_fraction_gy, 4),
        "alpha_beta_gy": alpha_beta,
        "bed_gy": round(b, 2),
        "eqd2_gy": round(e, 2),
        "model": "linear-quadratic, no time factor: BED = n*d*(1 + d/(alpha/beta)); "
        "EQD2 = BED/(1 + 2/(alpha/beta))",
    }
