"""Clinician-facing labels for every input key and enum value (issue 10: no raw key or enum
value in any output: "Ecog", "ambulatory_with_aid", "1c" alone).

Every key of the field table (``mescc.fields``) has a short label here; every enum value has
the words a clinician uses. Bilsky grades use the definitions of the reference (Bilsky 2010,
as reproduced in Uei et al., Spine 2018); SINS categories those of Fisher 2010 (Spine
2010;35(22):E1221-E1229, DOI 10.1097/BRS.0b013e3181e16ae2). A test checks that no key or
value is missing, so a key added to the field table without a label fails.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from mescc.fields import COURSE_FIELDS, FIELD_BY_KEY, PREFERENCE_FIELDS, FieldSpec

#: Short labels (a form field, a table row); the field table's description is the long form.
FIELD_LABELS: Mapping[str, str] = {
    "id": "Patient reference",
    "age_years": "Age",
    "sex": "Sex",
    "primary_tumor": "Primary tumour",
    "months_from_cancer_diagnosis": "Time from cancer diagnosis to MESCC",
    "other_bone_metastases": "Other bone metastases",
    "visceral_metastases": "Visceral metastases",
    "ambulatory_status": "Ambulatory status before treatment",
    "motor_deficit_days": "Time developing motor deficits",
    "ecog": "ECOG performance status",
    "kps": "Karnofsky performance status (KPS)",
    "involved_vertebrae": "Involved vertebrae",
    "sensory_deficits": "Sensory deficits",
    "sphincter_dysfunction": "Sphincter dysfunction",
    "escc_grade": "Bilsky ESCC grade",
    "sins_location": "SINS: location",
    "sins_pain": "SINS: pain",
    "sins_bone_lesion": "SINS: bone lesion",
    "sins_alignment": "SINS: spinal alignment",
    "sins_collapse": "SINS: vertebral body collapse",
    "sins_posterolateral": "SINS: posterolateral involvement",
    "frankel_grade": "Frankel grade",
    "extraspinal_bone_metastases": "Bone metastases outside the spine",
    "vertebral_body_metastases": "Vertebral bodies with metastases",
    "visceral_metastases_resectable": "Visceral metastases resectable",
    "extraskeletal_metastases": "Metastases outside the skeleton",
    "hepatic_metastases": "Liver metastases",
    "prior_palliative_chemotherapy_courses": "Prior palliative chemotherapy courses",
    "hospitalized_last_3_months": "Hospitalised in the last 3 months",
    "visceral_metastases_treatable": "Visceral metastases treatable",
    "spinal_level": "Spinal level",
    "neurological_signs": "Neurological symptoms or signs",
    "steroid_contraindication": "Contraindication to corticosteroids",
    "steroid_contraindication_note": "Corticosteroid contraindication: reason",
    "bone_agent_contraindication": "Contraindication to bone-modifying agents",
    "compression_single_area": "Compression in a single area",
    "paraplegia_hours": "Duration of complete paraplegia",
    "medically_operable": "Medically operable",
    # a course of earlier radiotherapy
    "fractions": "Fractions",
    "dose_per_fraction_gy": "Dose per fraction",
    "months_before": "Months ago",
    "technique": "Technique",
    "cord_max_dose_gy": "Maximum cord dose",
    "cord_max_dose_percent": "Maximum cord dose (% of prescription)",
    # the patient's preferences
    "priority": "What matters most to the patient",
    "surgery_acceptable": "Upfront surgery acceptable to the patient",
    # objects
    "sins": "SINS",
    "prior_radiotherapy": "Earlier radiotherapy to this region",
    "preferences": "Patient preferences",
}

#: The words for every enum value, by key.
VALUE_LABELS: Mapping[str, Mapping[str, str]] = {
    "sex": {"female": "female", "male": "male", "other": "other"},
    "primary_tumor": {
        "breast": "breast cancer",
        "prostate": "prostate cancer",
        "lung_nsclc": "non-small-cell lung cancer",
        "lung_sclc": "small-cell lung cancer",
        "myeloma": "myeloma",
        "lymphoma": "lymphoma",
        "renal": "renal cell carcinoma",
        "colon": "colon cancer",
        "rectum": "rectal cancer",
        "bladder": "bladder cancer",
        "esophagus": "oesophageal cancer",
        "stomach": "gastric cancer",
        "pancreas": "pancreatic cancer",
        "liver": "liver cancer",
        "gallbladder": "gallbladder cancer",
        "thyroid": "thyroid cancer",
        "uterus": "uterine cancer",
        "carcinoid": "carcinoid tumour",
        "melanoma": "melanoma",
        "osteosarcoma": "osteosarcoma",
        "sarcoma_other": "other sarcoma",
        "head_neck": "head and neck cancer",
        "unknown_primary": "cancer of unknown primary",
        "other": "other tumour",
    },
    "ambulatory_status": {
        "ambulatory_without_aid": "walks without aid",
        "ambulatory_with_aid": "walks with aid",
        "not_ambulatory": "not ambulatory",
        "paraplegic": "paraplegic",
    },
    "escc_grade": {
        "0": "grade 0 (bone-only disease)",
        "1a": "grade 1a (epidural impingement, thecal sac not deformed)",
        "1b": "grade 1b (thecal sac deformed, cord not abutted)",
        "1c": "grade 1c (thecal sac deformed, cord abutted, not compressed)",
        "2": "grade 2 (cord compressed, CSF visible)",
        "3": "grade 3 (cord compressed, no CSF visible)",
    },
    "sins_location": {
        "junctional": "junctional (occiput-C2, C7-T2, T11-L1, L5-S1)",
        "mobile": "mobile spine (C3-C6, L2-L4)",
        "semirigid": "semirigid (T3-T10)",
        "rigid": "rigid (S2-S5)",
    },
    "sins_pain": {
        "mechanical": "mechanical pain",
        "occasional_non_mechanical": "occasional, non-mechanical pain",
        "pain_free": "pain-free lesion",
    },
    "sins_bone_lesion": {"lytic": "lytic", "mixed": "mixed (lytic/blastic)", "blastic": "blastic"},
    "sins_alignment": {
        "subluxation_translation": "subluxation or translation",
        "de_novo_deformity": "de novo deformity (kyphosis or scoliosis)",
        "normal": "normal alignment",
    },
    "sins_collapse": {
        "over_50": "more than 50% collapse",
        "under_50": "less than 50% collapse",
        "none_over_50_involved": "no collapse, more than 50% of the body involved",
        "none": "none of these",
    },
    "sins_posterolateral": {"bilateral": "bilateral", "unilateral": "unilateral", "none": "none"},
    "frankel_grade": {
        "A": "A (complete)",
        "B": "B (sensory only)",
        "C": "C (motor useless)",
        "D": "D (motor useful)",
        "E": "E (normal)",
    },
    "spinal_level": {"cervical": "cervical", "thoracic": "thoracic", "lumbar": "lumbar"},
    "technique": {"conventional": "conventional", "sbrt": "stereotactic (SBRT)"},
    "priority": {
        "balanced": "balanced",
        "fewest_visits": "fewest hospital visits",
        "durable_local_control": "durable local control",
    },
}

_SPECS: dict[str, FieldSpec] = {
    **FIELD_BY_KEY,
    **{s.key: s for s in COURSE_FIELDS},
    **{s.key: s for s in PREFERENCE_FIELDS},
}


def field_label(key: str) -> str:
    """The clinician's label of an input key (``prior_radiotherapy[0].fractions`` too)."""
    base = key.rsplit(".", 1)[-1]
    if "[" in key and "." in key:
        head = key.split("[", 1)[0]
        index = int(key[key.index("[") + 1 : key.index("]")])
        return f"{FIELD_LABELS.get(head, head)}, course {index + 1}: {field_label(base)}"
    if key in FIELD_LABELS:
        return FIELD_LABELS[key]
    spec = _SPECS.get(key)
    return spec.description if spec is not None else key.replace("_", " ")


def _number(value: float) -> str:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def value_label(key: str, value: Any) -> str:
    """A recorded value in a clinician's words (enum label, yes/no, number with its unit;
    ``unknown`` for a missing value)."""
    if value is None:
        return "unknown"
    base = key.rsplit(".", 1)[-1]
    if isinstance(value, bool):
        return "yes" if value else "no"
    labels = VALUE_LABELS.get(base)
    if labels is not None and str(value) in labels:
        return labels[str(value)]
    if isinstance(value, int | float):
        spec = _SPECS.get(base)
        unit = spec.unit if spec is not None else None
        if base == "ecog":
            return f"ECOG {_number(value)}"
        if unit == "%":
            return f"{_number(value)}%"
        return f"{_number(value)} {unit}" if unit else _number(value)
    return str(value)


#: Words for the plan's own enum values (issue 10), by what they describe.
PLAN_VALUE_LABELS: Mapping[str, Mapping[str, str]] = {
    "prognosis_class": {
        "favourable": "favourable",
        "intermediate": "intermediate",
        "poor": "poor",
        "near_end_of_life": "death within 2 months predicted",
        "near_end_of_life_no_benefit": (
            "death within 2 months predicted, little benefit expected from radiotherapy"
        ),
        "unknown": "not estimated",
    },
    "course_length": {
        "single_fraction": "single fraction",
        "short_course": "short course",
        "longer_course": "longer course",
        "long_course": "long course",
    },
    "could_change": {
        "recommended_regimen": "the regimen ranked first",
        "decompression": "the decompression question",
        "stabilisation": "the stabilisation question",
        "surgery": "the surgical questions",
        "corticosteroids": "corticosteroids",
        "reirradiation": "re-irradiation",
    },
    "reirradiation_status": {
        "within": "within the limits",
        "above_no_myelopathy_limit": "above the cumulative dose without reported myelopathy",
        "outside_published_experience": "outside published experience",
        "undetermined": "undetermined",
    },
    "criterion_status": {
        "met": "met",
        "not_met": "not met",
        "unknown": "not known",
        "not_recorded": "not recorded",
        "not_applicable": "not applicable",
    },
    # an exclusion is satisfied (met) when it is absent
    "exclusion_status": {
        "met": "absent",
        "not_met": "present",
        "unknown": "not known",
        "not_recorded": "not recorded",
    },
}


def plan_value_label(kind: str, value: Any) -> str:
    """A plan value (prognosis class, course length, ...) in a clinician's words; an unknown
    value has its underscores replaced, never shown as a code."""
    if value is None:
        return "unknown"
    return PLAN_VALUE_LABELS.get(kind, {}).get(str(value), str(value).replace("_", " "))


# --- Plan and board-summary codes (issue 10: web page, PDF, patient summary) -----------------
# Words for the codes and enum values the plan document carries, so
# a renderer never shows "ranked_first", "longer_course" or "group_ii".

#: Survival-prognosis classes (``plan.prognosis.class`` and ``ranking_class``).
PROGNOSIS_CLASS_LABELS: Mapping[str, str] = PLAN_VALUE_LABELS["prognosis_class"]

#: ``course_length`` of a radiotherapy option.
COURSE_LENGTH_LABELS: Mapping[str, str] = PLAN_VALUE_LABELS["course_length"]

#: ``status`` of a surgical criterion.
CRITERION_STATUS_LABELS: Mapping[str, str] = PLAN_VALUE_LABELS["criterion_status"]

#: What a decisive unknown could change (``decisive_unknowns[].could_change``).
CHANGE_TARGET_LABELS: Mapping[str, str] = PLAN_VALUE_LABELS["could_change"]

#: Instrument status (``instruments.<id>.status``).
INSTRUMENT_STATUS_LABELS: Mapping[str, str] = {
    "computed": "computed",
    "not_computable": "not computable (inputs missing)",
    "not_applicable": "not applicable",
}

#: Document keys that are not input fields, as a clinician reads them (the rest: words).
DOCUMENT_KEY_LABELS: Mapping[str, str] = {
    "ranking_class": "Prognosis class used for the ranking",
    "ranking_claim": "Ranked by prognosis",
    "bed_gy10": "BED (α/β 10 Gy)",
    "eqd2_gy10": "EQD2 (α/β 10 Gy)",
    "total_dose_gy": "Total dose (Gy)",
    "course_length": "Course length",
    "overall_time": "Overall time",
    "overall_time_days": "Overall time (days)",
    "dose_basis": "Dose basis",
    "trial_regimen": "Trial regimen",
    "ecog": "ECOG performance status",
    "kps": "Karnofsky performance status (KPS)",
    "sins": "SINS",
    "escc": "Bilsky ESCC grade",
    "rt": "Radiotherapy",
    "sbrt": "Stereotactic radiotherapy (SBRT)",
    "srs": "Stereotactic radiosurgery",
    "nice": "NICE",
    "bsc": "Best supportive care",
}

#: Codes the plan writes as values (reasons, categories, statuses), in words.
CODE_LABELS: Mapping[str, str] = {
    "ranked_first": "ranked first for the survival prognosis",
    "below_cut_off": "below the cut-off",
    "above_cut_off": "above the cut-off",
    "project_decision": "project decision (documented in the plan rules)",
    "source_statement": "statement of the source",
    "lower_bound": "counted at its lowest possible class",
    "determined": "determined",
    **PROGNOSIS_CLASS_LABELS,
    **COURSE_LENGTH_LABELS,
    **CRITERION_STATUS_LABELS,
    **INSTRUMENT_STATUS_LABELS,
}

_ROMAN = {"i", "ii", "iii", "iv", "v", "vi"}
_ACRONYMS = {
    "ecog": "ECOG",
    "kps": "KPS",
    "sins": "SINS",
    "escc": "ESCC",
    "rt": "RT",
    "sbrt": "SBRT",
    "srs": "SRS",
    "bed": "BED",
    "eqd2": "EQD2",
    "nice": "NICE",
    "mri": "MRI",
    "noms": "NOMS",
    "mscc": "MSCC",
    "mescc": "MESCC",
    "ct": "CT",
    "cns": "CNS",
    "gy": "Gy",
    "gy10": "Gy10",
}


def words(code: str) -> str:
    """A snake_case code in words (``group_ii`` -> ``group II``, ``kps_from_ecog`` -> ``KPS
    from ECOG``): the fallback for a code with no label of its own."""
    out = []
    for part in code.split("_"):
        low = part.lower()
        out.append(low.upper() if low in _ROMAN else _ACRONYMS.get(low, part))
    return " ".join(out)


def key_label(key: str) -> str:
    """The label of any document key: an input field's label, a document key's, else words."""
    if key in FIELD_LABELS:
        return FIELD_LABELS[key]
    if key in DOCUMENT_KEY_LABELS:
        return DOCUMENT_KEY_LABELS[key]
    text = words(key)
    return text[:1].upper() + text[1:]


def code_label(code: str, key: str | None = None) -> str:
    """A code or enum value in words: the field's value label (``key`` given), the plan-code
    label, the label of the same value under any field, else :func:`words`."""
    if key is not None:
        labels = VALUE_LABELS.get(key.rsplit(".", 1)[-1])
        if labels is not None and code in labels:
            return labels[code]
    if code in CODE_LABELS:
        return CODE_LABELS[code]
    for labels in VALUE_LABELS.values():
        if code in labels and "_" in code:
            return labels[code]
    return words(code)
