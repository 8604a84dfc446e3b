"""The patient input keys of the public contract, as data.

One table (``FIELDS``) says, for every key a patient record may carry, its type, its allowed
values and what it means. The pydantic ``Patient`` model, the batch reader's vectorised checks,
the instrument loader's coverage proof and ``mescc instruments`` all read this table, so an
allowed range is written down once.

Clinical traps guarded here:

* a missing key means "unknown", never a default: nothing here has a default value;
* KPS comes in steps of 10 and ECOG in whole grades: 75 or 1.5 are refused, never rounded;
* ``True`` is an ``int`` in Python; booleans are refused where a number is expected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, Literal

from mescc.errors import Problem

Kind = Literal["int", "number", "bool", "enum", "text"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One input key: its type, allowed values, unit and meaning."""

    key: str
    kind: Kind
    description: str
    minimum: float | None = None
    maximum: float | None = None
    step: int | None = None
    values: tuple[str, ...] | None = None
    unit: str | None = None
    source: str = "contract"

    @property
    def allowed(self) -> str:
        """What is allowed, in the words of an error message."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "enum":
            assert self.values is not None
            return "one of " + ", ".join(self.values)
        if self.kind == "text":
            return "text"
        noun = "integer" if self.kind == "int" else "number"
        if self.minimum is not None and self.maximum is not None:
            rng = f"{_num(self.minimum)}-{_num(self.maximum)}"
            if self.step:
                return f"{rng} in steps of {self.step}"
            return f"{noun} {rng}"
        if self.minimum is not None:
            return f"{noun} >= {_num(self.minimum)}"
        return noun

    def domain(self) -> tuple[Any, ...] | None:
        """Every allowed value when the set is finite and small, else None."""
        if self.kind == "bool":
            return (False, True)
        if self.kind == "enum":
            return self.values
        if (
            self.kind == "int"
            and self.minimum is not None
            and self.maximum is not None
            and (self.maximum - self.minimum) / (self.step or 1) <= 200
        ):
            return tuple(range(int(self.minimum), int(self.maximum) + 1, self.step or 1))
        return None


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


_TUMORS = (
    "breast", "prostate", "lung_nsclc", "lung_sclc", "myeloma", "lymphoma", "renal", "colon",
    "rectum", "bladder", "esophagus", "stomach", "pancreas", "liver", "gallbladder", "thyroid",
    "uterus", "carcinoid", "melanoma", "osteosarcoma", "sarcoma_other", "head_neck",
    "unknown_primary", "other",
)  # fmt: skip

_F = FieldSpec

#: Scalar patient keys, in the contract's order, then the keys instruments and the plan add.
FIELDS: tuple[FieldSpec, ...] = (
    _F("id", "text", "Pseudonymous identifier (free text)"),
    _F("age_years", "int", "Age", 18, 120, unit="years"),
    _F("sex", "enum", "Sex", values=("female", "male", "other")),
    _F("primary_tumor", "enum", "Primary tumour", values=_TUMORS),
    _F("months_from_cancer_diagnosis", "number",
       "Interval from first diagnosis of the cancer to MESCC", 0, unit="months"),
    _F("other_bone_metastases", "bool", "Bone metastases besides the MESCC site"),
    _F("visceral_metastases", "bool", "Visceral metastases"),
    _F("ambulatory_status", "enum", "Ambulatory status before treatment",
       values=("ambulatory_without_aid", "ambulatory_with_aid", "not_ambulatory", "paraplegic")),
    _F("motor_deficit_days", "number",
       "Time over which motor deficits developed before radiotherapy", 0, unit="days"),
    _F("ecog", "int", "ECOG performance status", 0, 4),
    _F("kps", "int", "Karnofsky performance status", 0, 100, step=10, unit="%"),
    _F("involved_vertebrae", "int", "Number of involved vertebrae", 1),
    _F("sensory_deficits", "bool", "Sensory deficits"),
    _F("sphincter_dysfunction", "bool", "Sphincter dysfunction"),
    _F("escc_grade", "enum", "Bilsky epidural spinal cord compression grade",
       values=("0", "1a", "1b", "1c", "2", "3")),
    _F("sins_location", "enum", "SINS location",
       values=("junctional", "mobile", "semirigid", "rigid")),
    _F("sins_pain", "enum", "SINS pain",
       values=("mechanical", "occasional_non_mechanical", "pain_free")),
    _F("sins_bone_lesion", "enum", "SINS bone lesion", values=("lytic", "mixed", "blastic")),
    _F("sins_alignment", "enum", "SINS radiographic spinal alignment",
       values=("subluxation_translation", "de_novo_deformity", "normal")),
    _F("sins_collapse", "enum", "SINS vertebral body collapse",
       values=("over_50", "under_50", "none_over_50_involved", "none")),
    _F("sins_posterolateral", "enum", "SINS posterolateral involvement",
       values=("bilateral", "unilateral", "none")),
    _F("frankel_grade", "enum", "Frankel grade", values=("A", "B", "C", "D", "E")),
    _F("extraspinal_bone_metastases", "int",
       "Number of bone metastasis foci outside the spine", 0),
    _F("vertebral_body_metastases", "int",
       "Number of vertebral bodies with metastases", 1),
    _F("visceral_metastases_resectable", "bool",
       "Visceral metastases resectable (meaningful only with visceral_metastases: true)"),
    _F("extraskeletal_metastases", "bool",
       "Any metastasis outside the skeleton (visceral, nodal, brain ...)"),
    _F("hepatic_metastases", "bool", "Hepatic metastases"),
    _F("prior_palliative_chemotherapy_courses", "int",
       "Number of prior palliative chemotherapy courses", 0),
    _F("hospitalized_last_3_months", "bool", "Hospitalised within the last 3 months"),
    # Keys added beyond the contract (documented in `mescc instruments` and docs/patient.md).
    _F("visceral_metastases_treatable", "bool",
       "Visceral metastases treatable (Tomita 2001 'treatable' vs 'untreatable'; meaningful "
       "only with visceral_metastases: true)", source="tomita_2001"),
    _F("spinal_level", "enum",
       "Spinal level of the compression (cord alpha/beta 2 for cervical/thoracic, 4 for lumbar)",
       values=("cervical", "thoracic", "lumbar"), source="plan: re-irradiation"),
    _F("neurological_signs", "bool",
       "Neurological symptoms or signs of MESCC (motor, sensory or sphincter)",
       source="plan: corticosteroids"),
    _F("steroid_contraindication", "bool",
       "The clinician has recorded a contraindication to corticosteroids",
       source="plan: corticosteroids"),
    _F("steroid_contraindication_note", "text",
       "Free-text reason for the recorded corticosteroid contraindication",
       source="plan: corticosteroids"),
    _F("bone_agent_contraindication", "bool",
       "The clinician has recorded a contraindication to bisphosphonates / RANK-ligand inhibitors",
       source="plan: bone-modifying agents"),
    _F("compression_single_area", "bool",
       "Compression restricted to a single area (one level or contiguous segments)",
       source="plan: surgery (Patchell 2005 eligibility)"),
    _F("paraplegia_hours", "number",
       "Duration of complete paraplegia before assessment", 0, unit="hours",
       source="plan: surgery (Patchell 2005 eligibility)"),
    _F("medically_operable", "bool", "Medically operable (surgeon's and anaesthetist's view)",
       source="plan: surgery (Patchell 2005 eligibility)"),
)  # fmt: skip

FIELD_BY_KEY: dict[str, FieldSpec] = {f.key: f for f in FIELDS}

#: The nested ``sins`` object's keys and their flattened column names.
SINS_PARTS: tuple[str, ...] = (
    "location", "pain", "bone_lesion", "alignment", "collapse", "posterolateral",
)  # fmt: skip

COURSE_FIELDS: tuple[FieldSpec, ...] = (
    _F("fractions", "int", "Number of fractions", 1, 100),
    _F("dose_per_fraction_gy", "number", "Dose per fraction", 0.1, 30, unit="Gy"),
    _F("months_before", "number", "Months between that course and now", 0, unit="months"),
    _F("technique", "enum", "Technique of that course", values=("conventional", "sbrt")),
    _F("cord_max_dose_gy", "number",
       "Maximum spinal cord dose of that course (thecal sac for SBRT), total over its fractions, "
       "from its treatment plan", 0.1, 100, unit="Gy",
       source="plan: re-irradiation (cord dose of an earlier course)"),
    _F("cord_max_dose_percent", "number",
       "Maximum spinal cord dose of that course as a percentage of its prescription", 1, 150,
       unit="%", source="plan: re-irradiation (cord dose of an earlier course)"),
)  # fmt: skip

PREFERENCE_FIELDS: tuple[FieldSpec, ...] = (
    _F("priority", "enum", "What matters most to the patient",
       values=("balanced", "fewest_visits", "durable_local_control")),
    _F("surgery_acceptable", "bool", "Upfront surgery acceptable to the patient"),
)  # fmt: skip

#: Keys that are objects or lists (not batch columns, except sins which is flattened).
NESTED_KEYS = ("sins", "prior_radiotherapy", "preferences")

#: Every top-level key a patient record may carry.
TOP_LEVEL_KEYS: tuple[str, ...] = tuple(
    [f.key for f in FIELDS if not f.key.startswith("sins_")] + list(NESTED_KEYS)
)


def describe_value(value: Any) -> str:
    """A value as the user wrote it, for an error message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "null"
    return repr(value) if not isinstance(value, int | float) else _num(value)


def _problem(name: str, value: Any, spec: FieldSpec, what: str) -> Problem:
    return Problem(
        field=name,
        value=value,
        allowed=spec.allowed,
        message=f"{name}: {describe_value(value)} {what}; allowed: {spec.allowed}",
    )


def check_value(name: str, value: Any, spec: FieldSpec) -> tuple[Any, Problem | None]:
    """Check one value against its spec; return the clean value or a problem.

    ``None`` is accepted as "unknown" for every key. Integral floats (``60.0``) are accepted
    for integer keys; anything else that is not exactly allowed is refused, never rounded.
    """
    if value is None:
        return None, None
    kind = spec.kind
    if kind == "bool":
        if isinstance(value, bool):
            return value, None
        return None, _problem(name, value, spec, "is not a boolean")
    if kind == "enum":
        assert spec.values is not None
        if isinstance(value, bool) or not isinstance(value, str | int):
            return None, _problem(name, value, spec, "is not an allowed value")
        text = str(value)
        if text in spec.values:
            return text, None
        return None, _problem(name, value, spec, "is not an allowed value")
    if kind == "text":
        if isinstance(value, str):
            return value, None
        return None, _problem(name, value, spec, "is not text")
    # numbers
    if isinstance(value, bool) or not isinstance(value, int | float):
        noun = "an integer" if kind == "int" else "a number"
        return None, _problem(name, value, spec, f"is not {noun}")
    if isinstance(value, float) and not math.isfinite(value):
        return None, _problem(name, value, spec, "is not a finite number")
    if kind == "int" and isinstance(value, float):
        if not value.is_integer():
            return None, _problem(name, value, spec, "is not an integer")
        value = int(value)
    if spec.minimum is not None and value < spec.minimum:
        return None, _problem(name, value, spec, "is out of range")
    if spec.maximum is not None and value > spec.maximum:
        return None, _problem(name, value, spec, "is out of range")
    if spec.step and (value - (spec.minimum or 0)) % spec.step != 0:
        return None, _problem(name, value, spec, "is not allowed")
    return value, None


def unknown_key_problem(name: str, candidates: tuple[str, ...] | list[str]) -> Problem:
    """Problem for a key the contract does not know, with a suggestion when one is close."""
    leaf = name.rsplit(".", 1)[-1]
    close = get_close_matches(leaf, list(candidates), n=1, cutoff=0.6)
    hint = f'did you mean "{close[0]}"?' if close else "see `mescc instruments` for the keys"
    return Problem(
        field=name,
        value=None,
        allowed="a key of the patient contract",
        message=f"{name}: unknown key; {hint}",
    )


def check_object(
    prefix: str, data: Any, specs: tuple[FieldSpec, ...], problems: list[Problem]
) -> dict[str, Any] | None:
    """Check a nested object (``sins``, ``preferences``, a prior course) key by key."""
    if data is None:
        return None
    if not isinstance(data, Mapping):
        problems.append(
            Problem(
                prefix,
                data,
                "an object",
                f"{prefix}: {describe_value(data)} is not an object; allowed: an object with "
                "keys " + ", ".join(s.key for s in specs),
            )
        )
        return None
    by_key = {s.key: s for s in specs}
    clean: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}"
        spec = by_key.get(str(key))
        if spec is None:
            problems.append(unknown_key_problem(name, list(by_key)))
            continue
        ok, problem = check_value(name, value, spec)
        if problem is not None:
            problems.append(problem)
        else:
            clean[str(key)] = ok
    return clean


def sins_spec(part: str) -> FieldSpec:
    """The spec of one part of the ``sins`` object (stored under its flattened column name)."""
    return FIELD_BY_KEY[f"sins_{part}"]
