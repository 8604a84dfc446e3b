"""The patient form: its layout, and the translation between form fields and patient JSON.

The fields, their types, units and allowed choices come from the library's table of patient keys
(``mescc.fields``); this module only groups them the way a clinician works through a case and
gives them readable labels. Any key the table has and the layout does not place is still shown,
under "Further inputs", so the form never silently lacks an input.

It holds no ranges: the library is the one judge of what is allowed, and its problems are shown
inline. It only translates: text becomes a number where the key is numeric, an empty field is
left out (unknown, never a default), and anything that does not convert is passed on as typed so
that the library's validation names it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mescc.fields import COURSE_FIELDS, FIELDS, PREFERENCE_FIELDS, SINS_PARTS, FieldSpec

FieldKind = Literal["integer", "number", "choice", "boolean", "text"]

PRIOR_RT_ROWS = 2
UNKNOWN_LABEL = "Unknown / not assessed"

_KINDS: dict[str, FieldKind] = {
    "int": "integer",
    "number": "number",
    "bool": "boolean",
    "enum": "choice",
    "text": "text",
}


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
    rows: tuple[tuple[FormField, ...], ...] = ()


# Readable labels (the table's description is used where none is given here).
_LABELS: dict[str, str] = {
    "id": "Pseudonymous reference",
    "months_from_cancer_diagnosis": "Time from first cancer diagnosis to MESCC",
    "other_bone_metastases": "Other bone metastases (besides the MESCC site)",
    "extraspinal_bone_metastases": "Bone metastasis foci outside the spine",
    "vertebral_body_metastases": "Vertebral bodies with metastases",
    "hepatic_metastases": "Liver metastases",
    "extraskeletal_metastases": "Any metastasis outside the skeleton",
    "prior_palliative_chemotherapy_courses": "Prior palliative chemotherapy courses",
    "motor_deficit_days": "Time over which motor deficits developed",
    "involved_vertebrae": "Vertebrae involved by the compression",
    "escc_grade": "Bilsky ESCC grade",
    "hospitalized_last_3_months": "Hospitalised in the last 3 months",
    "sins.location": "SINS: location",
    "sins.pain": "SINS: pain",
    "sins.bone_lesion": "SINS: bone lesion",
    "sins.alignment": "SINS: radiographic alignment",
    "sins.collapse": "SINS: vertebral body collapse",
    "sins.posterolateral": "SINS: posterolateral involvement",
    "fractions": "Fractions",
    "months_before": "Months before now",
    "visceral_metastases_resectable": "Visceral metastases resectable",
    "visceral_metastases_treatable": "Visceral metastases treatable (Tomita)",
    "neurological_signs": "Neurological symptoms or signs of MESCC",
    "paraplegia_hours": "Duration of complete paraplegia",
    "spinal_level": "Spinal level of the compression",
    "compression_single_area": "Compression restricted to a single area",
    "medically_operable": "Medically operable",
    "steroid_contraindication": "Contraindication to corticosteroids recorded",
    "steroid_contraindication_note": "Reason for the corticosteroid contraindication",
    "bone_agent_contraindication": "Contraindication to bone-modifying agents recorded",
    "preferences.priority": "Patient's priority",
    "preferences.surgery_acceptable": "Upfront surgery acceptable to the patient",
}

_HINTS: dict[str, str] = {
    "id": "Free text; do not enter names or record numbers.",
    "visceral_metastases_resectable": "Only with visceral metastases.",
    "visceral_metastases_treatable": "Only with visceral metastases.",
    "extraskeletal_metastases": "Visceral, nodal, brain ...",
    "neurological_signs": "Motor, sensory or sphincter.",
    "compression_single_area": "One level or contiguous segments.",
    "medically_operable": "The surgeon's and anaesthetist's view.",
    "bone_agent_contraindication": "Bisphosphonates / RANK-ligand inhibitors.",
}

_OPTION_LABELS: dict[str, dict[str, str]] = {
    "primary_tumor": {
        "lung_nsclc": "Lung, non-small cell (NSCLC)",
        "lung_sclc": "Lung, small cell (SCLC)",
        "renal": "Renal cell",
        "esophagus": "Oesophagus",
        "sarcoma_other": "Sarcoma, other",
        "head_neck": "Head and neck",
        "unknown_primary": "Unknown primary (CUP)",
    },
    "ambulatory_status": {
        "ambulatory_without_aid": "Walks without aid",
        "ambulatory_with_aid": "Walks with aid",
        "not_ambulatory": "Not ambulatory",
        "paraplegic": "Paraplegic",
    },
    "escc_grade": {
        "0": "0: bone only",
        "1a": "1a: epidural, no thecal sac deformation",
        "1b": "1b: thecal sac deformed, cord not abutted",
        "1c": "1c: cord abutted, not compressed",
        "2": "2: cord compressed, CSF visible",
        "3": "3: cord compressed, no CSF visible",
    },
    "sins.location": {
        "junctional": "Junctional (occiput-C2, C7-T2, T11-L1, L5-S1)",
        "mobile": "Mobile spine (C3-C6, L2-L4)",
        "semirigid": "Semi-rigid (T3-T10)",
        "rigid": "Rigid (S2-S5)",
    },
    "sins.pain": {
        "occasional_non_mechanical": "Occasional, non-mechanical",
        "pain_free": "Pain-free",
    },
    "sins.bone_lesion": {"mixed": "Mixed lytic/blastic"},
    "sins.alignment": {
        "subluxation_translation": "Subluxation/translation",
        "de_novo_deformity": "De novo deformity (kyphosis/scoliosis)",
    },
    "sins.collapse": {
        "over_50": "> 50 % collapse",
        "under_50": "< 50 % collapse",
        "none_over_50_involved": "No collapse, > 50 % of body involved",
        "none": "None of the above",
    },
    "preferences.priority": {
        "fewest_visits": "Fewest hospital visits",
        "durable_local_control": "Durable local control",
    },
    "prior_radiotherapy.technique": {"sbrt": "SBRT / stereotactic"},
}

# Groups, in the order a clinician works through a case: (legend, description, keys).
_LAYOUT: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Patient and tumour",
        "",
        (
            "id",
            "age_years",
            "sex",
            "primary_tumor",
            "months_from_cancer_diagnosis",
            "prior_palliative_chemotherapy_courses",
        ),
    ),
    (
        "Metastatic spread",
        "",
        (
            "other_bone_metastases",
            "extraspinal_bone_metastases",
            "vertebral_body_metastases",
            "visceral_metastases",
            "visceral_metastases_resectable",
            "visceral_metastases_treatable",
            "hepatic_metastases",
            "extraskeletal_metastases",
        ),
    ),
    (
        "Neurology",
        "",
        (
            "ambulatory_status",
            "motor_deficit_days",
            "frankel_grade",
            "sensory_deficits",
            "sphincter_dysfunction",
            "neurological_signs",
            "paraplegia_hours",
        ),
    ),
    (
        "Imaging: epidural compression (Bilsky) and spinal stability (SINS)",
        "Entered by the clinician from the imaging report; mescc does not read images.",
        (
            "escc_grade",
            "spinal_level",
            "involved_vertebrae",
            "compression_single_area",
            *(f"sins.{part}" for part in SINS_PARTS),
        ),
    ),
    ("Performance status", "", ("ecog", "kps", "hospitalized_last_3_months")),
    (
        "Treatment considerations",
        "",
        (
            "medically_operable",
            "steroid_contraindication",
            "steroid_contraindication_note",
            "bone_agent_contraindication",
        ),
    ),
    (
        "Preferences",
        "",
        tuple(f"preferences.{spec.key}" for spec in PREFERENCE_FIELDS),
    ),
)


def _spec(key: str) -> FieldSpec | None:
    """The library's spec of a dotted form key."""
    parts = key.split(".")
    if parts[0] == "sins" and len(parts) == 2:
        return _TOP.get(f"sins_{parts[1]}")
    if parts[0] == "preferences" and len(parts) == 2:
        return _PREFERENCES.get(parts[1])
    if parts[0] == "prior_radiotherapy" and len(parts) == 3:
        return _COURSE.get(parts[2])
    return _TOP.get(key) if len(parts) == 1 else None


_TOP = {spec.key: spec for spec in FIELDS}
_COURSE = {spec.key: spec for spec in COURSE_FIELDS}
_PREFERENCES = {spec.key: spec for spec in PREFERENCE_FIELDS}


def _label_from(description: str) -> str:
    return description[:1].upper() + description[1:]


def _field(key: str, spec: FieldSpec) -> FormField:
    generic = re.sub(r"\.\d+\.", ".", key)  # prior_radiotherapy.0.x -> prior_radiotherapy.x
    short = key.rsplit(".", 1)[-1]
    label = _LABELS.get(key) or _LABELS.get(short) or _label_from(spec.description)
    options: tuple[tuple[str, str], ...] = ()
    if spec.kind == "enum" and spec.values:
        names = _OPTION_LABELS.get(generic, {})
        options = tuple(
            (value, names.get(value, value.replace("_", " ").capitalize())) for value in spec.values
        )
    elif spec.kind == "bool":
        options = (("true", "Yes"), ("false", "No"))
    return FormField(
        key=key,
        label=label,
        kind=_KINDS.get(spec.kind, "text"),
        unit=spec.unit or "",
        hint=_HINTS.get(key, ""),
        options=options,
    )


def _build() -> tuple[Fieldset, ...]:
    placed: set[str] = set()
    fieldsets: list[Fieldset] = []
    for legend, description, keys in _LAYOUT:
        fields = []
        for key in keys:
            spec = _spec(key)
            if spec is not None:
                fields.append(_field(key, spec))
                placed.add(key)
        if legend == "Preferences":
            courses = tuple(
                tuple(
                    _field(f"prior_radiotherapy.{index}.{spec.key}", spec) for spec in COURSE_FIELDS
                )
                for index in range(PRIOR_RT_ROWS)
            )
            fieldsets.append(
                Fieldset(
                    "Prior radiotherapy to the same spinal region",
                    (),
                    "One course per row; leave empty if none or unknown.",
                    courses,
                )
            )
        fieldsets.append(Fieldset(legend, tuple(fields), description))
    leftovers = []
    for spec in FIELDS:
        key = f"sins.{spec.key[5:]}" if spec.key.startswith("sins_") else spec.key
        if key not in placed:
            leftovers.append(_field(key, spec))
    for pref in PREFERENCE_FIELDS:
        key = f"preferences.{pref.key}"
        if key not in placed:
            leftovers.append(_field(key, pref))
    if leftovers:
        fieldsets.append(Fieldset("Further inputs", tuple(leftovers)))
    return tuple(fieldsets)


PATIENT_FORM: tuple[Fieldset, ...] = _build()


def all_fields() -> list[FormField]:
    fields: list[FormField] = []
    for fieldset in PATIENT_FORM:
        fields.extend(fieldset.fields)
        for row in fieldset.rows:
            fields.extend(row)
    return fields


_MAX_NUMERAL_CHARS = 64
_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _convert(form_field: FormField, raw: str) -> Any:
    text = raw.strip()
    if form_field.kind in {"integer", "number"}:
        # A numeral longer than any value a field allows is passed on as typed (the library
        # names it); converting 5,000 digits would hit Python's int limit (a 500) for nothing.
        if len(text) > _MAX_NUMERAL_CHARS:
            return text
        if _INTEGER.match(text):
            return int(text)
        if _NUMBER.match(text) and math.isfinite(number := float(text)):
            return number
        return text
    if form_field.kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    return text


def _set(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node: Any = target
    for index, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            slot = int(part)
            while len(node) <= slot:
                node.append({})
            node = node[slot]
            continue
        if part not in node:
            node[part] = [] if parts[index + 1].isdigit() else {}
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
