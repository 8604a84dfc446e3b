"""Example patients for the service tests (contract keys only)."""

from __future__ import annotations

from typing import Any

EXAMPLE_PATIENT: dict[str, Any] = {
    "id": "case-17",
    "age_years": 64,
    "sex": "female",
    "primary_tumor": "breast",
    "months_from_cancer_diagnosis": 30,
    "other_bone_metastases": True,
    "visceral_metastases": False,
    "ambulatory_status": "ambulatory_without_aid",
    "motor_deficit_days": 10,
    "ecog": 1,
    "kps": 80,
    "escc_grade": "2",
    "sins": {"location": "semirigid", "pain": "mechanical", "bone_lesion": "mixed"},
    "preferences": {"priority": "balanced", "surgery_acceptable": True},
}

POOR_PROGNOSIS_PATIENT: dict[str, Any] = {
    "id": "case-18",
    "age_years": 78,
    "sex": "male",
    "primary_tumor": "lung_nsclc",
    "months_from_cancer_diagnosis": 3,
    "other_bone_metastases": True,
    "visceral_metastases": True,
    "ambulatory_status": "not_ambulatory",
    "motor_deficit_days": 3,
    "ecog": 3,
    "kps": 40,
    "escc_grade": "3",
}

# Three problems: out of range, an unknown key (a typo) and a KPS that is not a step of 10.
INVALID_PATIENT: dict[str, Any] = {"age_years": 5, "ecgo": 1, "kps": 75}
INVALID_FIELDS = {"age_years", "ecgo", "kps"}

# A value that must never appear in a log line.
SECRET_REF = "PSEUDONYM-7f3a9c-do-not-log"
