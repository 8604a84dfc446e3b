"""A stand-in for ``mescc.document`` used ONLY while the library's functions are placeholders.

``install()`` patches the three document functions when, and only when, calling the real
``assessment_document`` raises ``NotImplementedError``; once the engine exists the tests run
against it unchanged. The fake holds no clinical knowledge: its numbers are arbitrary and only
exercise the service's plumbing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from mescc import document
from mescc.errors import InputError, Problem

_ALLOWED_KEYS = {
    "id", "age_years", "sex", "primary_tumor", "months_from_cancer_diagnosis",
    "other_bone_metastases", "visceral_metastases", "ambulatory_status", "motor_deficit_days",
    "ecog", "kps", "involved_vertebrae", "sensory_deficits", "sphincter_dysfunction",
    "escc_grade", "sins", "frankel_grade", "extraspinal_bone_metastases",
    "vertebral_body_metastases", "visceral_metastases_resectable", "extraskeletal_metastases",
    "hepatic_metastases", "prior_palliative_chemotherapy_courses",
    "hospitalized_last_3_months", "prior_radiotherapy", "preferences",
}  # fmt: skip


def core_is_placeholder() -> bool:
    try:
        document.assessment_document({})
    except NotImplementedError:
        return True
    except Exception:
        return False
    return False


def _option(fractions: int, dose: float, rank: int) -> dict[str, Any]:
    total = fractions * dose
    bed = total * (1 + dose / 10)
    return {
        "regimen": f"{fractions} x {dose:g} Gy",
        "fractions": fractions,
        "dose_per_fraction_gy": dose,
        "total_dose_gy": total,
        "bed_gy10": round(bed, 2),
        "eqd2_gy10": round(bed / 1.2, 2),
        "rationale": [{"code": f"fake_rank_{rank}", "text": "Fake ranking.", "evidence": []}],
    }


def fake_assessment_document(
    data: Mapping[str, Any], *, kb: Any = None, allow_unverified: bool = False
) -> dict[str, Any]:
    problems = [
        Problem(key, None, "a key of the patient contract", f"{key}: unknown key")
        for key in data
        if key not in _ALLOWED_KEYS
    ]
    age = data.get("age_years")
    if age is not None and (not isinstance(age, int) or not 18 <= age <= 120):
        problems.append(
            Problem("age_years", age, "integer 18-120", f"age_years: {age} is out of range")
        )
    kps = data.get("kps")
    if kps is not None and (not isinstance(kps, int) or kps % 10 or not 0 <= kps <= 100):
        problems.append(Problem("kps", kps, "0-100 in steps of 10", f"kps: {kps} not allowed"))
    if problems:
        raise InputError(problems)
    ecog = data.get("ecog")
    options = [_option(10, 3.0, 1), _option(5, 4.0, 2), _option(1, 8.0, 3)]
    if isinstance(ecog, int) and ecog >= 3:
        options = [options[2], options[1], options[0]]
    return {
        "schema_version": "1",
        "knowledge_base_version": "fake",
        "patient": dict(data),
        "instruments": {
            "fake_instrument_2000": {
                "status": "computed" if ecog is not None else "not_computable",
                "points": ecog,
                "group": None,
                "category": None,
                "estimate": None,
                "items": [],
                "missing": [] if ecog is not None else ["ecog"],
                "verification": "unverified",
                "citation": "Fake instrument for tests.",
            }
        },
        "plan": {
            "radiotherapy": options,
            "surgery": {"consider": False, "reasons": []},
            "corticosteroids": {},
            "bone_modifying_agents": {},
            "reirradiation": None,
            "warnings": [],
            "decisive_unknowns": [],
        },
        "allow_unverified": allow_unverified,
    }


def fake_instruments_document(*, kb: Any = None) -> list[dict[str, Any]]:
    return [{"id": "fake_instrument_2000", "name": "Fake", "verification": "unverified"}]


def fake_dose_document(
    fractions: int, dose_per_fraction_gy: float, alpha_beta: float = 10.0
) -> dict[str, Any]:
    bed = fractions * dose_per_fraction_gy * (1 + dose_per_fraction_gy / alpha_beta)
    return {"bed_gy": bed, "eqd2_gy": bed / (1 + 2 / alpha_beta)}


def install(monkeypatch: pytest.MonkeyPatch) -> bool:
    """Patch the placeholders; return whether the fake is in use."""
    if not core_is_placeholder():
        return False
    monkeypatch.setattr(document, "assessment_document", fake_assessment_document)
    monkeypatch.setattr(document, "instruments_document", fake_instruments_document)
    monkeypatch.setattr(document, "dose_document", fake_dose_document)
    return True
