"""The validated patient: exactly the contract's keys, nothing defaulted.

``Patient.from_data(mapping)`` checks every key against ``mescc.fields`` and raises one
``InputError`` listing every bad field (value given and what is allowed), including unknown
keys with a suggestion (a typo must not silently drop a finding). A missing key is unknown:
``None`` here, and "not computable: missing X" in the instruments, never a default. A null or
malformed element of a list is an input error, never dropped (``[null]`` is not ``[]``).

The pydantic bounds below are read from the field table (``_bounds``), so the model, its JSON
schema (the API's OpenAPI document) and the checks can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from mescc.consistency import contradictions
from mescc.errors import InputError, Problem
from mescc.fields import (
    COURSE_FIELDS,
    FIELD_BY_KEY,
    FIELDS,
    MAX_PRIOR_COURSES,
    PREFERENCE_FIELDS,
    SINS_PARTS,
    TOP_LEVEL_KEYS,
    FieldSpec,
    check_list_of_objects,
    check_object,
    check_value,
    describe_value,
    sins_spec,
    unknown_key_problem,
)

_FROZEN = ConfigDict(extra="forbid", frozen=True)
_COURSE_BY_KEY = {s.key: s for s in COURSE_FIELDS}


def _bounds(spec: FieldSpec, *, required: bool = False) -> Any:
    """A pydantic ``Field`` with the bounds of the field table (default None unless required)."""
    limits: dict[str, Any] = {}
    if spec.minimum is not None:
        limits["ge"] = spec.minimum
    if spec.maximum is not None:
        limits["le"] = spec.maximum
    if spec.step:
        limits["multiple_of"] = spec.step
    if spec.max_length is not None:
        limits["max_length"] = spec.max_length
    if spec.kind == "number":
        limits["allow_inf_nan"] = False
    return Field(**limits) if required else Field(default=None, **limits)


def _limits(key: str) -> Any:
    """``_bounds`` of a top-level key."""
    return _bounds(FIELD_BY_KEY[key])


class Sins(BaseModel):
    """The six SINS components as read by the clinician (Fisher, Spine 2010)."""

    model_config = _FROZEN
    location: Literal["junctional", "mobile", "semirigid", "rigid"] | None = None
    pain: Literal["mechanical", "occasional_non_mechanical", "pain_free"] | None = None
    bone_lesion: Literal["lytic", "mixed", "blastic"] | None = None
    alignment: Literal["subluxation_translation", "de_novo_deformity", "normal"] | None = None
    collapse: Literal["over_50", "under_50", "none_over_50_involved", "none"] | None = None
    posterolateral: Literal["bilateral", "unilateral", "none"] | None = None


class RadiotherapyCourse(BaseModel):
    """One earlier course of radiotherapy to the same spinal region."""

    model_config = _FROZEN
    # A course without its fractions or dose cannot be checked: both are required (never 0).
    fractions: int = _bounds(_COURSE_BY_KEY["fractions"], required=True)
    dose_per_fraction_gy: float = _bounds(_COURSE_BY_KEY["dose_per_fraction_gy"], required=True)
    months_before: float | None = _bounds(_COURSE_BY_KEY["months_before"])
    technique: Literal["conventional", "sbrt"] | None = None
    # The cord maximum of that course, when known from its plan (one of the two, not both).
    cord_max_dose_gy: float | None = _bounds(_COURSE_BY_KEY["cord_max_dose_gy"])
    cord_max_dose_percent: float | None = _bounds(_COURSE_BY_KEY["cord_max_dose_percent"])


class Preferences(BaseModel):
    """What the patient wants weighed: visits vs durable local control, and surgery."""

    model_config = _FROZEN
    priority: Literal["balanced", "fewest_visits", "durable_local_control"] | None = None
    surgery_acceptable: bool | None = None


Tumor = Literal[
    "breast", "prostate", "lung_nsclc", "lung_sclc", "myeloma", "lymphoma", "renal", "colon",
    "rectum", "bladder", "esophagus", "stomach", "pancreas", "liver", "gallbladder", "thyroid",
    "uterus", "carcinoid", "melanoma", "osteosarcoma", "sarcoma_other", "head_neck",
    "unknown_primary", "other",
]  # fmt: skip


class Patient(BaseModel):
    """A patient's findings before treatment, keyed exactly as ``shared/contract.md``.

    Build it with :meth:`from_data` to get every problem at once as an ``InputError``.
    """

    model_config = _FROZEN

    id: str | None = _limits("id")
    age_years: int | None = _limits("age_years")
    sex: Literal["female", "male", "other"] | None = None
    primary_tumor: Tumor | None = None
    months_from_cancer_diagnosis: float | None = _limits("months_from_cancer_diagnosis")
    other_bone_metastases: bool | None = None
    visceral_metastases: bool | None = None
    ambulatory_status: (
        Literal["ambulatory_without_aid", "ambulatory_with_aid", "not_ambulatory", "paraplegic"]
        | None
    ) = None
    motor_deficit_days: float | None = _limits("motor_deficit_days")
    ecog: int | None = _limits("ecog")
    kps: int | None = _limits("kps")
    involved_vertebrae: int | None = _limits("involved_vertebrae")
    sensory_deficits: bool | None = None
    sphincter_dysfunction: bool | None = None
    escc_grade: Literal["0", "1a", "1b", "1c", "2", "3"] | None = None
    sins: Sins | None = None
    frankel_grade: Literal["A", "B", "C", "D", "E"] | None = None
    extraspinal_bone_metastases: int | None = _limits("extraspinal_bone_metastases")
    vertebral_body_metastases: int | None = _limits("vertebral_body_metastases")
    visceral_metastases_resectable: bool | None = None
    extraskeletal_metastases: bool | None = None
    hepatic_metastases: bool | None = None
    prior_palliative_chemotherapy_courses: int | None = _limits(
        "prior_palliative_chemotherapy_courses"
    )
    hospitalized_last_3_months: bool | None = None
    prior_radiotherapy: tuple[RadiotherapyCourse, ...] | None = Field(
        default=None, max_length=MAX_PRIOR_COURSES
    )
    preferences: Preferences | None = None
    # Added keys (see mescc.fields): instruments and plan inputs beyond the contract table.
    visceral_metastases_treatable: bool | None = None
    spinal_level: Literal["cervical", "thoracic", "lumbar"] | None = None
    neurological_signs: bool | None = None
    steroid_contraindication: bool | None = None
    steroid_contraindication_note: str | None = _limits("steroid_contraindication_note")
    bone_agent_contraindication: bool | None = None
    compression_single_area: bool | None = None
    paraplegia_hours: float | None = _limits("paraplegia_hours")
    medically_operable: bool | None = None

    _row: dict[str, Any] | None = PrivateAttr(default=None)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Patient:
        """Validate raw input (JSON/YAML object); raise ``InputError`` listing every problem."""
        return cls.model_validate(clean_patient_data(data))

    def to_row(self) -> dict[str, Any]:
        """The flat record the instruments read: scalar keys, ``sins`` as ``sins_<part>``."""
        row = self._row
        if row is None:
            row = {f.key: getattr(self, f.key) for f in FIELDS if not f.key.startswith("sins_")}
            sins = self.sins
            for part in SINS_PARTS:
                row[f"sins_{part}"] = getattr(sins, part) if sins is not None else None
            self._row = row
        return row

    def with_value(self, key: str, value: Any) -> Patient:
        """The same patient with one flat key set (``sins_<part>`` sets a SINS component).

        For "what if" questions (decisive unknowns): ``value`` must be an allowed value of the
        key; it is not re-validated.
        """
        if key.startswith("sins_"):
            sins = self.sins or Sins()
            update: dict[str, Any] = {"sins": sins.model_copy(update={key[5:]: value})}
        else:
            update = {key: value}
        copy = self.model_copy(update=update)
        copy._row = None
        return copy

    def given(self) -> dict[str, Any]:
        """The keys the user gave (for echoing inputs with an assessment)."""
        return self.model_dump(exclude_none=True, mode="json")


def clean_patient_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Check a raw patient mapping key by key; return clean values or raise ``InputError``."""
    if not isinstance(data, Mapping):
        raise InputError(
            [
                Problem(
                    "patient",
                    data,
                    "a JSON/YAML object",
                    f"patient: {describe_value(data)} is not an object of patient keys; "
                    "allowed: a JSON/YAML object",
                )
            ]
        )
    problems: list[Problem] = []
    clean: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = str(raw_key)
        if key == "sins":
            sins_problems: list[Problem] = []
            sins = _check_sins(value, sins_problems)
            problems.extend(sins_problems)
            if sins is not None and not sins_problems:
                clean["sins"] = sins
            continue
        if key == "preferences":
            prefs = check_object("preferences", value, PREFERENCE_FIELDS, problems)
            if prefs is not None:
                clean["preferences"] = prefs
            continue
        if key == "prior_radiotherapy":
            courses = _check_courses(value, problems)
            if courses is not None:
                clean["prior_radiotherapy"] = courses
            continue
        spec = FIELD_BY_KEY.get(key)
        if spec is None or key.startswith("sins_"):
            problems.append(unknown_key_problem(key, list(TOP_LEVEL_KEYS)))
            continue
        ok, problem = check_value(key, value, spec)
        if problem is not None:
            problems.append(problem)
        elif ok is not None:
            clean[key] = ok
    if clean.get("visceral_metastases") is False:
        for dependent in ("visceral_metastases_resectable", "visceral_metastases_treatable"):
            if clean.get(dependent) is not None:
                problems.append(
                    Problem(
                        dependent,
                        clean[dependent],
                        "only with visceral_metastases: true",
                        f"{dependent}: {describe_value(clean[dependent])} contradicts "
                        "visceral_metastases: false; allowed: only with visceral_metastases: true",
                    )
                )
    if not problems:
        problems.extend(contradictions(_flat(clean)))
    if problems:
        raise InputError(problems)
    return clean


def _flat(clean: Mapping[str, Any]) -> dict[str, Any]:
    """The checked values as a flat row (``sins`` as ``sins_<part>``) for cross-field checks."""
    row = {k: v for k, v in clean.items() if k not in ("sins", "preferences", "prior_radiotherapy")}
    for part, value in (clean.get("sins") or {}).items():
        row[f"sins_{part}"] = value
    return row


def _check_sins(value: Any, problems: list[Problem]) -> dict[str, Any] | None:
    from mescc.fields import FieldSpec

    specs = tuple(
        FieldSpec(
            key=part,
            kind="enum",
            description=sins_spec(part).description,
            values=sins_spec(part).values,
        )
        for part in SINS_PARTS
    )
    return check_object("sins", value, specs, problems)


def _check_courses(value: Any, problems: list[Problem]) -> list[dict[str, Any]] | None:
    checked = check_list_of_objects(
        "prior_radiotherapy",
        value,
        COURSE_FIELDS,
        problems,
        max_items=MAX_PRIOR_COURSES,
        noun="course",
    )
    if checked is None:
        return None
    courses: list[dict[str, Any]] = []
    for i, course, clean in checked:
        if (
            course.get("cord_max_dose_gy") is not None
            and course.get("cord_max_dose_percent") is not None
        ):
            problems.append(
                Problem(
                    f"prior_radiotherapy[{i}].cord_max_dose_percent",
                    course.get("cord_max_dose_percent"),
                    "only one of cord_max_dose_gy and cord_max_dose_percent",
                    f"prior_radiotherapy[{i}].cord_max_dose_percent: "
                    f"{describe_value(course.get('cord_max_dose_percent'))} given together with "
                    f"cord_max_dose_gy {describe_value(course.get('cord_max_dose_gy'))}; "
                    "allowed: only one of cord_max_dose_gy and cord_max_dose_percent",
                )
            )
        for required in ("fractions", "dose_per_fraction_gy"):
            if course.get(required) is None:
                spec = _COURSE_BY_KEY[required]
                problems.append(
                    Problem(
                        f"prior_radiotherapy[{i}].{required}",
                        None,
                        spec.allowed,
                        f"prior_radiotherapy[{i}].{required}: missing; a course needs it; "
                        f"allowed: {spec.allowed}",
                    )
                )
        courses.append(clean)
    return courses
