"""The patient form: its layout, and the translation between form fields and patient JSON.

The layout groups the contract's patient keys the way a clinician works through a case. It holds
no ranges: the library is the one judge of what is allowed, and its problems are shown inline.
It only translates: text is converted to a number where the key is numeric, an empty field is
left out (unknown, never a default), and anything that does not convert is passed on as typed so
that the library's validation names it. The choices are the contract's (shared/contract.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FieldKind = Literal["integer", "number", "choice", "boolean", "text"]

PRIOR_RT_ROWS = 2
UNKNOWN_LABEL = "Unknown / not assessed"


@dataclass(frozen=True, slots=True)
class FormField:
    key: str  # dotted form name: "age_years", "sins.location", "prior_radiotherapy.0.fractions"
    label: str
    kind: FieldKind
    unit: str = ""
    hint: str = ""
    options: tuple[tuple[str, str], ...] = ()

    @property
    def html_id(self) -> str:
        return "f-" + self.key.replace(".", "-").replace("_", "-")


@dataclass(frozen=True, slots=True)
class Fieldset:
    legend: str
    fields: tuple[FormField, ...]
    description: str = ""
    rows: tuple[tuple[FormField, ...], ...] = field(default=())


def _choices(*values: str | tuple[str, str]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for value in values:
        if isinstance(value, tuple):
            out.append(value)
        else:
            out.append((value, value.replace("_", " ").capitalize()))
    return tuple(out)


_YES_NO = _choices(("true", "Yes"), ("false", "No"))

_TUMOURS = _choices(
    "breast",
    "prostate",
    ("lung_nsclc", "Lung, non-small cell (NSCLC)"),
    ("lung_sclc", "Lung, small cell (SCLC)"),
    "myeloma",
    "lymphoma",
    ("renal", "Renal cell"),
    "colon",
    "rectum",
    "bladder",
    ("esophagus", "Oesophagus"),
    "stomach",
    "pancreas",
    "liver",
    "gallbladder",
    "thyroid",
    ("uterus", "Uterus"),
    "carcinoid",
    "melanoma",
    "osteosarcoma",
    ("sarcoma_other", "Sarcoma, other"),
    ("head_neck", "Head and neck"),
    ("unknown_primary", "Unknown primary (CUP)"),
    "other",
)


def _prior_rt_row(index: int) -> tuple[FormField, ...]:
    prefix = f"prior_radiotherapy.{index}"
    return (
        FormField(f"{prefix}.fractions", "Fractions", "integer"),
        FormField(f"{prefix}.dose_per_fraction_gy", "Dose per fraction", "number", unit="Gy"),
        FormField(f"{prefix}.months_before", "Months before now", "number", unit="months"),
    )


PATIENT_FORM: tuple[Fieldset, ...] = (
    Fieldset(
        "Patient and tumour",
        (
            FormField(
                "id",
                "Pseudonymous reference",
                "text",
                hint="Free text; do not enter names or record numbers.",
            ),
            FormField("age_years", "Age", "integer", unit="years"),
            FormField("sex", "Sex", "choice", options=_choices("female", "male", "other")),
            FormField("primary_tumor", "Primary tumour", "choice", options=_TUMOURS),
            FormField(
                "months_from_cancer_diagnosis",
                "Time from first cancer diagnosis to MESCC",
                "number",
                unit="months",
            ),
            FormField(
                "other_bone_metastases",
                "Other bone metastases",
                "boolean",
                hint="Besides the MESCC site.",
                options=_YES_NO,
            ),
            FormField(
                "extraspinal_bone_metastases", "Extraspinal bone metastases", "integer", unit="foci"
            ),
            FormField("visceral_metastases", "Visceral metastases", "boolean", options=_YES_NO),
            FormField(
                "visceral_metastases_resectable",
                "Visceral metastases resectable",
                "boolean",
                hint="Only with visceral metastases.",
                options=_YES_NO,
            ),
            FormField("hepatic_metastases", "Liver metastases", "boolean", options=_YES_NO),
            FormField(
                "extraskeletal_metastases",
                "Any metastasis outside the skeleton",
                "boolean",
                hint="Visceral, nodal, brain ...",
                options=_YES_NO,
            ),
            FormField(
                "prior_palliative_chemotherapy_courses",
                "Prior palliative chemotherapy courses",
                "integer",
                unit="courses",
            ),
        ),
    ),
    Fieldset(
        "Neurology",
        (
            FormField(
                "ambulatory_status",
                "Ambulatory status before treatment",
                "choice",
                options=_choices(
                    ("ambulatory_without_aid", "Walks without aid"),
                    ("ambulatory_with_aid", "Walks with aid"),
                    ("not_ambulatory", "Not ambulatory"),
                    ("paraplegic", "Paraplegic"),
                ),
            ),
            FormField(
                "motor_deficit_days",
                "Time over which motor deficits developed",
                "number",
                unit="days",
            ),
            FormField(
                "frankel_grade",
                "Frankel grade",
                "choice",
                options=_choices("A", "B", "C", "D", "E"),
            ),
            FormField("sensory_deficits", "Sensory deficits", "boolean", options=_YES_NO),
            FormField("sphincter_dysfunction", "Sphincter dysfunction", "boolean", options=_YES_NO),
        ),
    ),
    Fieldset(
        "Imaging: epidural compression (Bilsky) and spinal stability (SINS)",
        (
            FormField(
                "escc_grade",
                "Bilsky ESCC grade",
                "choice",
                options=_choices(
                    ("0", "0: bone only"),
                    ("1a", "1a: epidural, no thecal sac deformation"),
                    ("1b", "1b: thecal sac deformed, cord not abutted"),
                    ("1c", "1c: cord abutted, not compressed"),
                    ("2", "2: cord compressed, CSF visible"),
                    ("3", "3: cord compressed, no CSF visible"),
                ),
            ),
            FormField(
                "involved_vertebrae",
                "Vertebrae involved by the compression",
                "integer",
                unit="vertebrae",
            ),
            FormField(
                "vertebral_body_metastases",
                "Vertebral bodies with metastases",
                "integer",
                unit="vertebrae",
            ),
            FormField(
                "sins.location",
                "SINS: location",
                "choice",
                options=_choices(
                    ("junctional", "Junctional (occiput-C2, C7-T2, T11-L1, L5-S1)"),
                    ("mobile", "Mobile spine (C3-C6, L2-L4)"),
                    ("semirigid", "Semi-rigid (T3-T10)"),
                    ("rigid", "Rigid (S2-S5)"),
                ),
            ),
            FormField(
                "sins.pain",
                "SINS: pain",
                "choice",
                options=_choices(
                    "mechanical",
                    ("occasional_non_mechanical", "Occasional, non-mechanical"),
                    ("pain_free", "Pain-free"),
                ),
            ),
            FormField(
                "sins.bone_lesion",
                "SINS: bone lesion",
                "choice",
                options=_choices("lytic", ("mixed", "Mixed lytic/blastic"), "blastic"),
            ),
            FormField(
                "sins.alignment",
                "SINS: radiographic alignment",
                "choice",
                options=_choices(
                    ("subluxation_translation", "Subluxation/translation"),
                    ("de_novo_deformity", "De novo deformity (kyphosis/scoliosis)"),
                    ("normal", "Normal"),
                ),
            ),
            FormField(
                "sins.collapse",
                "SINS: vertebral body collapse",
                "choice",
                options=_choices(
                    ("over_50", "> 50 % collapse"),
                    ("under_50", "< 50 % collapse"),
                    ("none_over_50_involved", "No collapse, > 50 % of body involved"),
                    ("none", "None of the above"),
                ),
            ),
            FormField(
                "sins.posterolateral",
                "SINS: posterolateral involvement",
                "choice",
                options=_choices("bilateral", "unilateral", ("none", "None")),
            ),
        ),
        description="Entered by the clinician from the report; mescc does not read images.",
    ),
    Fieldset(
        "Performance status",
        (
            FormField("ecog", "ECOG performance status", "integer"),
            FormField("kps", "Karnofsky performance status", "integer", unit="%"),
            FormField(
                "hospitalized_last_3_months",
                "Hospitalised in the last 3 months",
                "boolean",
                options=_YES_NO,
            ),
        ),
    ),
    Fieldset(
        "Prior radiotherapy to the same spinal region",
        (),
        description="One row per course; leave empty if none or unknown.",
        rows=tuple(_prior_rt_row(i) for i in range(PRIOR_RT_ROWS)),
    ),
    Fieldset(
        "Preferences",
        (
            FormField(
                "preferences.priority",
                "Patient's priority",
                "choice",
                options=_choices(
                    "balanced",
                    ("fewest_visits", "Fewest hospital visits"),
                    ("durable_local_control", "Durable local control"),
                ),
            ),
            FormField(
                "preferences.surgery_acceptable",
                "Surgery acceptable to the patient",
                "boolean",
                options=_YES_NO,
            ),
        ),
    ),
)


def all_fields() -> list[FormField]:
    fields: list[FormField] = []
    for fieldset in PATIENT_FORM:
        fields.extend(fieldset.fields)
        for row in fieldset.rows:
            fields.extend(row)
    return fields


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _convert(form_field: FormField, raw: str) -> Any:
    text = raw.strip()
    if form_field.kind == "integer":
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        return float(text) if _NUMBER.match(text) else text
    if form_field.kind == "number":
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        return float(text) if _NUMBER.match(text) else text
    if form_field.kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    return text


def _set(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node: Any = target
    for index, part in enumerate(parts[:-1]):
        following_is_index = parts[index + 1].isdigit()
        if isinstance(node, list):
            slot = int(part)
            while len(node) <= slot:
                node.append({})
            node = node[slot]
            continue
        if part not in node:
            node[part] = [] if following_is_index else {}
        node = node[part]
    node[parts[-1]] = value


def patient_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """Patient JSON from submitted form values; empty fields are left out (unknown)."""
    patient: dict[str, Any] = {}
    for form_field in all_fields():
        raw = form.get(form_field.key, "")
        if not raw or not raw.strip():
            continue
        _set(patient, form_field.key, _convert(form_field, raw))
    courses = patient.get("prior_radiotherapy")
    if isinstance(courses, list):
        kept = [course for course in courses if course]
        if kept:
            patient["prior_radiotherapy"] = kept
        else:
            del patient["prior_radiotherapy"]
    return patient


def form_values(inputs: Mapping[str, Any]) -> dict[str, str]:
    """Form values that show ``inputs`` again (to edit a stored assessment)."""
    values: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list):
            for index, sub in enumerate(value):
                walk(f"{prefix}.{index}", sub)
        elif isinstance(value, bool):
            values[prefix] = "true" if value else "false"
        elif value is not None:
            values[prefix] = str(value)

    walk("", inputs)
    return values


def problem_key(field_name: str) -> str:
    """A problem's field in form-name spelling: ``prior_radiotherapy[0].fractions`` -> dotted."""
    return re.sub(r"\[(\d+)\]", r".\1", field_name).strip(".")
