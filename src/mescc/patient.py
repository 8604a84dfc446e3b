"""The validated patient: exactly the contract's keys, nothing defaulted.

``Patient.from_data(mapping)`` checks every key against ``mescc.fields`` and raises one
``InputError`` listing every bad field (value given and what is allowed), including unknown
keys with a suggestion (a typo must not silently drop a finding). A missing key is unknown:
``None`` here, and "not computable: missing X" in the instruments, never a default.
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
    PREFERENCE_FIELDS,
    SINS_PARTS,
    TOP_LEVEL_KEYS,
    check_object,
    check_value,
    describe_value,
    sins_spec,
    unknown_key_problem,
)

_FROZEN = ConfigDict(extra="forbid", frozen=True)


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
    fractions: int = Field(ge=1, le=100)
    dose_per_fraction_gy: float = Field(ge=0.1, le=30)
    months_before: float | None = Field(default=None, ge=0)
    technique: Literal["conventional", "sbrt"] | None = None
    # The cord maximum of that course, when known from its plan (one of the two, not both).
    cord_max_dose_gy: float | None = Field(default=None, ge=0.1, le=100)
    cord_max_dose_percent: float | None = Field(default=None, ge=1, le=150)


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

    id: str | None = None
    age_years: int | None = Field(default=None, ge=18, le=120)
    sex: Literal["female", "male", "other"] | None = None
    primary_tumor: Tumor | None = None
    months_from_cancer_diagnosis: float | None = Field(default=None, ge=0)
    other_bone_metastases: bool | None = None
    visceral_metastases: bool | None = None
    ambulatory_status: (
        Literal["ambulatory_without_aid", "ambulatory_with_aid", "not_ambulatory", "paraplegic"]
        | None
    ) = None
    motor_deficit_days: float | None = Field(default=None, ge=0)
    ecog: int | None = Field(default=None, ge=0, le=4)
    kps: int | None = Field(default=None, ge=0, le=100, multiple_of=10)
    involved_vertebrae: int | None = Field(default=None, ge=1)
    sensory_deficits: bool | None = None
    sphincter_dysfunction: bool | None = None
    escc_grade: Literal["0", "1a", "1b", "1c", "2", "3"] | None = None
    sins: Sins | None = None
    frankel_grade: Literal["A", "B", "C", "D", "E"] | None = None
    extraspinal_bone_metastases: int | None = Field(default=None, ge=0)
    vertebral_body_metastases: int | None = Field(default=None, ge=1)
    visceral_metastases_resectable: bool | None = None
    extraskeletal_metastases: bool | None = None
    hepatic_metastases: bool | None = None
    prior_palliative_chemotherapy_courses: int | None = Field(default=None, ge=0)
    hospitalized_last_3_months: bool | None = None
    prior_radiotherapy: tuple[RadiotherapyCourse, ...] | None = None
    preferences: Preferences | None = None
    # Added keys (see mescc.fields): instruments and plan inputs beyond the contract table.
    visceral_metastases_treatable: bool | None = None
    spinal_level: Literal["cervical", "thoracic", "lumbar"] | None = None
    neurological_signs: bool | None = None
    steroid_contraindication: bool | None = None
    steroid_contraindication_note: str | None = None
    bone_agent_contraindication: bool | None = None
    compression_single_area: bool | None = None
    paraplegia_hours: float | None = Field(default=None, ge=0)
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
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        problems.append(
            Problem(
                "prior_radiotherapy",
                value,
                "a list of courses",
                f"prior_radiotherapy: {describe_value(value)} is not a list; "
                "allowed: a list of courses {fractions, dose_per_fraction_gy, months_before}",
            )
        )
        return None
    courses: list[dict[str, Any]] = []
    for i, course in enumerate(value):
        clean = check_object(f"prior_radiotherapy[{i}]", course, COURSE_FIELDS, problems)
        if clean is None:
            continue
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
                spec = next(s for s in COURSE_FIELDS if s.key == required)
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
