"""The cited evidence knowledge base: regimens, ranking rules, re-irradiation, supportive care.

The data live in ``mescc/kb/evidence/*.yaml`` (package data, read with ``importlib.resources``);
this module holds the frozen models of those files and :func:`load_evidence`, which reads them
once, validates every file and proves the cross-references between them.

What the loader proves (a broken file stops the load with ``file:line path: message``):

* every ``source`` / ``evidence`` id resolves to an entry of ``sources.yaml``;
* every regimen id named anywhere (outcome arms, comparisons, ranking rules) is in the catalogue,
  and each regimen's label is written from its fractions and dose (``"15 x 2.5 Gy"``);
* verification labels are ``primary`` or ``secondary`` for every cited figure (an UNVERIFIED
  figure is never encoded; the only ``unverified`` label is the NOMS "not classified" class);
* proportions lie in 0..1, and stated counts agree with them;
* an outcome of a pooled arm (SCORE-1 short/long course, the dose-escalation 15 x 2.5 / 20 x 2
  Gy arm, RAMSES-01) is listed identically under every regimen of that arm;
* for every prognosis class, every priority order is a permutation of the supported regimens,
  ``fewest_visits`` is sorted by visits, and every catalogue regimen is either supported or
  listed as not supported with a reason; trial regimens are never supported;
* the NOMS radiosensitivity classes partition the contract's ``primary_tumor`` values and the
  ECOG->KPS mapping partitions KPS 10-100.

Clinical traps this module guards against:

* **Endpoint definitions differ between studies.** "Ambulatory" is grade 1-2 on SCORAD's
  4-point scale, the modified Tomita score in ICORG 05-03 and "two steps with each foot" in
  Patchell 2005; JCO 2005 reports cumulative in-field recurrence, the Rades matched pairs local
  control, RAMSES-01 local progression-free survival. Every figure keeps its own ``endpoint``
  and ``definition`` and is never compared with a figure of another endpoint.
* **COMPUTED vs cited values.** BED and EQD2 are computed by :mod:`mescc.dose` from fractions
  and dose per fraction; they are never stored here as if they were cited. Cited figures carry
  the verification label of their source (``primary`` = the paper's abstract or record,
  ``secondary`` = a summary, review table or citing paper).
* **Project decisions are not evidence.** No verified table maps prognostic score groups to
  regimens (rades-instruments Q15): every ranking rule says ``basis: project_decision``.
* **Non-randomised designs.** Matched-pair results (dose escalation, zoledronic acid) keep their
  design label next to the figure.
* **Rule sets are never mixed.** Each re-irradiation rule set has its own interval, metric and
  alpha/beta; a case beyond its range is "outside published experience", not a risk estimate.

References
----------
Rades D, Schild SE. Semin Radiat Oncol 2023;33(2):148-158. DOI 10.1016/j.semradonc.2022.11.005
(the clinical frame); the curated references ``radiotherapy-evidence.md``,
``spine-instruments.md`` and ``rades-instruments.md`` (every number comes from them).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mescc.errors import DefinitionError
from mescc.fields import FIELD_BY_KEY, TOP_LEVEL_KEYS

__all__ = [
    "EVIDENCE_FILES",
    "PRIORITIES",
    "PROGNOSIS_CLASSES",
    "BoneAgentsFile",
    "ClassRanking",
    "Comparison",
    "ConversionsFile",
    "Evidence",
    "Figure",
    "Finding",
    "NotSupported",
    "Outcome",
    "Priority",
    "PrognosisClass",
    "RankingFile",
    "Regimen",
    "RegimensFile",
    "ReirradiationFile",
    "RuleSet",
    "Source",
    "SourcesFile",
    "SteroidsFile",
    "SurgeryFile",
    "TimingFile",
    "load_evidence",
    "parse_evidence",
    "read_evidence_texts",
    "regimen_id",
    "regimen_label",
]

Verification = Literal["primary", "secondary"]
ClassVerification = Literal["primary", "secondary", "unverified"]
CourseLength = Literal["single_fraction", "short_course", "longer_course"]
PrognosisClass = Literal[
    "poor",
    "intermediate",
    "favourable",
    "near_end_of_life",
    "near_end_of_life_no_benefit",
    "unknown",
]
Population = Literal["all", "poor", "intermediate", "favourable", "near_end_of_life"]
Priority = Literal["balanced", "fewest_visits", "durable_local_control"]
Basis = Literal["project_decision", "source_statement"]
SpinalLevel = Literal["cervical", "thoracic", "lumbar", "all"]
StatisticKind = Literal[
    "risk_ratio", "hazard_ratio", "odds_ratio", "risk_difference", "mean_difference"
]
Strength = Literal["strong", "conditional"]
EvidenceQuality = Literal["high", "moderate", "low"]
EsccGrade = Literal["0", "1a", "1b", "1c", "2", "3"]

PROGNOSIS_CLASSES: tuple[PrognosisClass, ...] = (
    "poor",
    "intermediate",
    "favourable",
    "near_end_of_life",
    "near_end_of_life_no_benefit",
    "unknown",
)
PRIORITIES: tuple[Priority, ...] = ("balanced", "fewest_visits", "durable_local_control")

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
_M = ConfigDict(extra="forbid", frozen=True, defer_build=True)

# A stated count (events / n) and the rounded percentage it was printed as may differ by
# rounding of the published percentage (e.g. 115/166 = 69.28% printed as 69.3%).
_COUNT_TOLERANCE = 0.006


def _format_dose(dose_gy: float) -> str:
    """A dose as the literature writes it: integers without decimals (8, 2.5, 2.633)."""
    return f"{dose_gy:g}"


def regimen_label(fractions: int, dose_per_fraction_gy: float) -> str:
    """The display label of a regimen, e.g. ``regimen_label(10, 3.0) == "10 x 3 Gy"``."""
    return f"{fractions} x {_format_dose(dose_per_fraction_gy)} Gy"


def regimen_id(fractions: int, dose_per_fraction_gy: float) -> str:
    """The catalogue id of a regimen, e.g. ``regimen_id(15, 2.5) == "15x2.5"``."""
    return f"{fractions}x{_format_dose(dose_per_fraction_gy)}"


class _Frozen(BaseModel):
    model_config = _M


# --------------------------------------------------------------------------- shared models


class NotEncoded(_Frozen):
    """An item of the reference deliberately left out, and why (usually UNVERIFIED)."""

    item: str
    reason: str
    open_question: str | None = None


class Statistic(_Frozen):
    """A between-arm statistic as published (RR, HR, OR, difference), with its interval."""

    kind: StatisticKind
    value: float | None = None
    unit: str | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: str | None = None
    margin: float | None = None

    @model_validator(mode="after")
    def _interval_contains_value(self) -> Statistic:
        if self.value is None and self.ci_low is None and self.ci_high is None:
            raise ValueError("a statistic needs a value or a confidence interval")
        if self.ci_low is not None and self.ci_high is not None and self.ci_low > self.ci_high:
            raise ValueError(f"ci_low {self.ci_low} is above ci_high {self.ci_high}")
        if self.value is not None:
            if self.ci_low is not None and self.value < self.ci_low:
                raise ValueError(f"value {self.value} is below ci_low {self.ci_low}")
            if self.ci_high is not None and self.value > self.ci_high:
                raise ValueError(f"value {self.value} is above ci_high {self.ci_high}")
        return self


def _check_count(value: float | None, events: int | None, n: int | None) -> None:
    if events is not None and n is not None:
        if events > n:
            raise ValueError(f"events {events} exceed n {n}")
        if value is not None and abs(events / n - value) > _COUNT_TOLERANCE:
            raise ValueError(f"value {value} does not match events/n = {events}/{n}")


class ArmValue(_Frozen):
    """One arm of a figure: a proportion (0..1) and/or its count."""

    label: str
    value: float | None = Field(default=None, ge=0, le=1)
    events: int | None = Field(default=None, ge=0)
    n: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _value_or_count(self) -> ArmValue:
        if self.value is None and (self.events is None or self.n is None):
            raise ValueError("an arm needs a value (0..1) or both events and n")
        _check_count(self.value, self.events, self.n)
        return self


class Figure(_Frozen):
    """A cited figure outside the regimen catalogue (steroids, bone agents, surgery, timing)."""

    endpoint: str
    definition: str
    arms: tuple[ArmValue, ...] = Field(min_length=1)
    statistic: Statistic | None = None
    p_value: str | None = None
    verification: Verification


class Finding(_Frozen):
    """A cited statement, with its design label and, where verified, its figures."""

    id: str
    source: str
    statement: str
    design: str | None = None
    agent: str | None = None
    figures: tuple[Figure, ...] = ()
    verification: Verification

    @field_validator("id")
    @classmethod
    def _snake_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f'id "{value}" must be snake_case')
        return value


class GuidelineRecommendation(_Frozen):
    """One guideline recommendation as verified, with strength and evidence quality if given."""

    id: str
    source: str
    recommendation: str
    population: str
    text: str
    strength: Strength | None = None
    evidence_quality: EvidenceQuality | None = None
    verification: Verification


# --------------------------------------------------------------------------- sources.yaml


class Source(_Frozen):
    """A citable source: the citation as verified, identifiers only where verified."""

    id: str
    text: str
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    nct: str | None = None
    design: str
    verification: Verification
    verified_from: str
    citation_note: str | None = None
    reference: str

    @field_validator("id")
    @classmethod
    def _snake_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f'id "{value}" must be snake_case')
        return value

    @field_validator("doi")
    @classmethod
    def _doi(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^10\.\d{4,9}/\S+$", value):
            raise ValueError(f'doi "{value}" is not a DOI (10.xxxx/...)')
        return value

    @field_validator("pmid")
    @classmethod
    def _pmid(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^\d{1,9}$", value):
            raise ValueError(f'pmid "{value}" must be digits (write it in quotes)')
        return value

    @field_validator("pmcid")
    @classmethod
    def _pmcid(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^PMC\d+$", value):
            raise ValueError(f'pmcid "{value}" must look like PMC1234567')
        return value

    @field_validator("nct")
    @classmethod
    def _nct(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^NCT\d{8}$", value):
            raise ValueError(f'nct "{value}" must look like NCT01234567')
        return value

    @property
    def citation(self) -> str:
        """The citation text followed by its verified identifiers."""
        parts = [self.text.strip()]
        if self.doi:
            parts.append(f"DOI {self.doi}.")
        if self.pmid:
            parts.append(f"PMID {self.pmid}.")
        return " ".join(parts)


class SourcesFile(_Frozen):
    """``sources.yaml``."""

    reference: str
    sources: tuple[Source, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> SourcesFile:
        _require_unique([s.id for s in self.sources], "source id")
        return self


# --------------------------------------------------------------------------- regimens.yaml


class Endpoint(_Frozen):
    """An endpoint key of the glossary: label and the general definition."""

    label: str
    definition: str


class OverallTime(_Frozen):
    """The overall treatment time as a source states it (e.g. "2 weeks")."""

    label: str
    source: str
    verification: Verification


class GuidelineSupport(_Frozen):
    """A guideline listing the regimen, with the strength of the recommendation."""

    source: str
    statement: str
    population: str
    strength: Strength
    evidence_quality: EvidenceQuality
    verification: Verification


class Outcome(_Frozen):
    """One cited per-arm outcome of a regimen (a proportion 0..1) with its own definition."""

    source: str
    endpoint: str
    value: float = Field(ge=0, le=1)
    n: int | None = Field(default=None, ge=1)
    events: int | None = Field(default=None, ge=0)
    count_verification: Verification | None = None
    arm_regimens: tuple[str, ...] = ()
    population: Population
    population_note: str | None = None
    comparison: str
    comparison_id: str | None = None
    definition: str
    verification: Verification

    @model_validator(mode="after")
    def _counts(self) -> Outcome:
        _check_count(self.value, self.events, self.n)
        if self.count_verification is not None and self.events is None and self.n is None:
            raise ValueError("count_verification given without events or n")
        return self

    @property
    def pooled(self) -> bool:
        """True when the figure belongs to an arm pooling several regimens."""
        return len(self.arm_regimens) > 1


class Regimen(_Frozen):
    """A radiotherapy regimen of the catalogue, with its cited outcomes."""

    id: str
    label: str
    fractions: int = Field(ge=1)
    dose_per_fraction_gy: float = Field(gt=0)
    course_length: CourseLength
    course_length_note: str
    score1_group: Literal["short", "long"] | None = None
    visits: int = Field(ge=1)
    trial_regimen: bool
    trial_note: str | None = None
    overall_time: OverallTime | None = None
    guideline_support: tuple[GuidelineSupport, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Regimen:
        label = regimen_label(self.fractions, self.dose_per_fraction_gy)
        if self.label != label:
            raise ValueError(
                f'label "{self.label}" does not match {self.fractions} fractions of '
                f'{_format_dose(self.dose_per_fraction_gy)} Gy; write "{label}"'
            )
        rid = regimen_id(self.fractions, self.dose_per_fraction_gy)
        if self.id != rid:
            raise ValueError(f'id "{self.id}" does not match the regimen; write "{rid}"')
        if self.visits != self.fractions:
            raise ValueError(f"visits {self.visits} differ from fractions {self.fractions}")
        if self.trial_regimen and not self.trial_note:
            raise ValueError("a trial regimen needs a trial_note naming the trial")
        for i, outcome in enumerate(self.outcomes):
            if outcome.arm_regimens and self.id not in outcome.arm_regimens:
                raise ValueError(
                    f"outcomes[{i}].arm_regimens {list(outcome.arm_regimens)} "
                    f'does not include this regimen "{self.id}"'
                )
        return self

    @property
    def total_dose_gy(self) -> float:
        """Total physical dose ``n * d`` in Gy (BED/EQD2: use :mod:`mescc.dose`)."""
        return self.fractions * self.dose_per_fraction_gy

    def arm_of(self, outcome: Outcome) -> tuple[str, ...]:
        """The regimen ids of the arm an outcome belongs to (this regimen if not pooled)."""
        return outcome.arm_regimens or (self.id,)


class ComparisonArm(_Frozen):
    """One arm of a comparison: a label and the catalogue regimens it contains."""

    label: str
    regimens: tuple[str, ...] = Field(min_length=1)


class Comparison(_Frozen):
    """A between-arm comparison as published (statistic, p value, conclusion)."""

    id: str
    source: str
    endpoint: str
    population: Population
    population_note: str | None = None
    arms: tuple[ComparisonArm, ...] = Field(min_length=2)
    statistic: Statistic | None = None
    p_value: str | None = None
    conclusion: str
    verification: Verification


class RegimensFile(_Frozen):
    """``regimens.yaml``."""

    reference: str
    endpoints: dict[str, Endpoint]
    regimens: tuple[Regimen, ...] = Field(min_length=1)
    comparisons: tuple[Comparison, ...] = ()
    not_encoded: tuple[NotEncoded, ...] = ()

    @model_validator(mode="after")
    def _within_file(self) -> RegimensFile:
        _require_unique([r.id for r in self.regimens], "regimen id")
        _require_unique([r.label for r in self.regimens], "regimen label")
        _require_unique([c.id for c in self.comparisons], "comparison id")
        for key in self.endpoints:
            if not _SNAKE.match(key):
                raise ValueError(f'endpoint key "{key}" must be snake_case')
        return self


# --------------------------------------------------------------------------- ranking.yaml


class RegimenRule(_Frozen):
    """A regimen the rule supports for a prognosis class, and why."""

    regimen: str
    rationale: str
    evidence: tuple[str, ...] = Field(min_length=1)
    basis: Basis


class NotSupported(_Frozen):
    """A catalogue regimen the rule does not support for a class, with the reason to show."""

    regimen: str
    reason_code: str
    reason: str
    evidence: tuple[str, ...] = Field(min_length=1)
    basis: Basis


class OtherOption(_Frozen):
    """A non-radiotherapy option shown next to the regimens (e.g. best supportive care)."""

    id: str
    label: str
    rationale: str
    evidence: tuple[str, ...] = Field(min_length=1)
    basis: Basis


class ClassRanking(_Frozen):
    """The ranking rule of one prognosis class."""

    label: str
    preferred_course_lengths: tuple[CourseLength, ...] = Field(min_length=1)
    rationale: str
    evidence: tuple[str, ...] = Field(min_length=1)
    basis: Basis
    supported: tuple[RegimenRule, ...] = Field(min_length=1)
    order: dict[Priority, tuple[str, ...]]
    order_notes: dict[Priority, str] = Field(default_factory=dict)
    not_supported: tuple[NotSupported, ...] = ()
    other_options: tuple[OtherOption, ...] = ()
    warnings: tuple[str, ...] = ()
    # A patient's priority never puts first a regimen with more fractions than the balanced
    # order's first (checked against the catalogue when the files are cross-checked).
    preferences_never_lengthen: bool = False
    # An ``other_options`` id that leads instead of any regimen (e.g. best supportive care);
    # the regimens are then listed as what may still be offered, none as recommended.
    lead_option: str | None = None

    @model_validator(mode="after")
    def _orders(self) -> ClassRanking:
        if self.lead_option is not None and self.lead_option not in {
            o.id for o in self.other_options
        }:
            raise ValueError(f'lead_option "{self.lead_option}" is not an id of other_options')
        supported = [r.regimen for r in self.supported]
        _require_unique(supported, "supported regimen")
        not_supported = [r.regimen for r in self.not_supported]
        _require_unique(not_supported, "not_supported regimen")
        both = sorted(set(supported) & set(not_supported))
        if both:
            raise ValueError(f"regimens both supported and not supported: {both}")
        for priority in PRIORITIES:
            if priority not in self.order:
                raise ValueError(f"order.{priority} is missing")
            if sorted(self.order[priority]) != sorted(supported):
                raise ValueError(
                    f"order.{priority} {list(self.order[priority])} is not a permutation of "
                    f"the supported regimens {supported}"
                )
        return self

    @property
    def supported_ids(self) -> tuple[str, ...]:
        """The supported regimen ids, in the ``balanced`` order."""
        return self.order["balanced"]

    def rule_for(self, regimen: str) -> RegimenRule | NotSupported | None:
        """The supported rule or the not-supported reason of a regimen id, if any."""
        for rule in self.supported:
            if rule.regimen == regimen:
                return rule
        for reason in self.not_supported:
            if reason.regimen == regimen:
                return reason
        return None


class RankingFile(_Frozen):
    """``ranking.yaml``."""

    reference: str
    basis_note: str
    priorities: dict[Priority, str]
    classes: dict[PrognosisClass, ClassRanking]

    @model_validator(mode="after")
    def _complete(self) -> RankingFile:
        missing = [c for c in PROGNOSIS_CLASSES if c not in self.classes]
        if missing:
            raise ValueError(f"prognosis classes missing: {missing}")
        missing_p = [p for p in PRIORITIES if p not in self.priorities]
        if missing_p:
            raise ValueError(f"priorities missing: {missing_p}")
        return self


# --------------------------------------------------------------------------- reirradiation.yaml


class RuleSet(_Frozen):
    """A named re-irradiation (or tolerance) rule set; never mixed with another one."""

    label: str
    role: Literal["rule", "information"]
    setting: Literal[
        "conventional_reirradiation",
        "sbrt_reirradiation",
        "single_course_tolerance",
        "de_novo_sbrt",
        "de_novo_conventional",
    ]
    metric: str
    metric_label: str
    alpha_beta_gy: dict[SpinalLevel, float]
    parameters: dict[str, float] = Field(min_length=1)
    approximate: tuple[str, ...] = ()
    parameter_notes: dict[str, str] = Field(default_factory=dict)
    statement: str
    source: str
    evidence: tuple[str, ...] = ()
    verification: Verification
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _parameters(self) -> RuleSet:
        levels = set(self.alpha_beta_gy)
        if levels and levels != {"all"} and levels != {"cervical", "thoracic", "lumbar"}:
            raise ValueError(
                "alpha_beta_gy must be {all: x} or give cervical, thoracic and lumbar; "
                f"got {sorted(levels)}"
            )
        if self.role == "rule" and not levels:
            raise ValueError("a rule set needs alpha_beta_gy")
        for level, ab in self.alpha_beta_gy.items():
            if ab <= 0:
                raise ValueError(f"alpha_beta_gy.{level} must be > 0")
        for key, value in self.parameters.items():
            if not _SNAKE.match(key):
                raise ValueError(f'parameter "{key}" must be snake_case')
            if value < 0 or math.isnan(value):
                raise ValueError(f"parameter {key} = {value} must be >= 0")
        for key in (*self.approximate, *self.parameter_notes):
            if key not in self.parameters:
                raise ValueError(f'"{key}" is not a parameter of this rule set')
        return self

    def alpha_beta_for(self, level: Literal["cervical", "thoracic", "lumbar"]) -> float:
        """The alpha/beta this rule set uses at a spinal level."""
        if "all" in self.alpha_beta_gy:
            return self.alpha_beta_gy["all"]
        return self.alpha_beta_gy[level]


class ReirradiationFile(_Frozen):
    """``reirradiation.yaml``."""

    reference: str
    beyond_range_phrase: Literal["outside published experience"]
    rule_sets: dict[str, RuleSet] = Field(min_length=1)
    findings: tuple[Finding, ...] = ()
    not_encoded: tuple[NotEncoded, ...] = ()


# --------------------------------------------------------------------------- steroids.yaml


class StartingDose(_Frozen):
    """The dexamethasone starting dose, attributed to the guideline that states it."""

    source: str
    recommendation: str
    drug: str
    initial_dose_mg: float = Field(gt=0)
    daily_dose_mg: float | None = Field(default=None, gt=0)
    route: str
    timing: str
    population: str
    attribution: str
    verification: Verification


class SteroidsFile(_Frozen):
    """``steroids.yaml``."""

    reference: str
    display_label_nice: str
    recommendations: tuple[GuidelineRecommendation, ...] = Field(min_length=1)
    starting_dose: StartingDose
    haematological_starting_dose: StartingDose
    high_dose_evidence: tuple[Finding, ...] = ()
    cautions: tuple[Finding, ...] = ()
    contraindication_policy: str
    not_encoded: tuple[NotEncoded, ...] = ()


# --------------------------------------------------------------------------- bone_agents.yaml


class BoneAgentsFile(_Frozen):
    """``bone_agents.yaml``."""

    reference: str
    findings: tuple[Finding, ...] = Field(min_length=1)
    not_encoded: tuple[NotEncoded, ...] = ()


# --------------------------------------------------------------------------- surgery.yaml


class SourcedStatement(_Frozen):
    """A sentence a source states, with its verification."""

    source: str
    statement: str
    verification: Verification


class BilskyGroup(_Frozen):
    """A group of Bilsky ESCC grades and its use."""

    id: str
    label: str
    grades: tuple[EsccGrade, ...] = Field(min_length=1)
    use: str
    evidence: tuple[str, ...] = Field(min_length=1)
    verification: Verification


class ScoreBand(_Frozen):
    """A SINS band (total range) and whether it warrants surgical consultation."""

    label: str
    range: tuple[int, int]
    surgical_consultation: bool
    action: str | None = None
    evidence: tuple[str, ...] = Field(min_length=1)
    verification: Verification


class RadiosensitivityClass(_Frozen):
    """A NOMS radiosensitivity class and the contract ``primary_tumor`` values in it."""

    id: Literal["radiosensitive", "radioresistant", "not_classified"]
    label: str
    histologies: str
    primary_tumors: tuple[str, ...]
    evidence: tuple[str, ...] = Field(min_length=1)
    verification: ClassVerification


class NomsRule(_Frozen):
    """One NOMS decision rule."""

    id: str
    step: Literal["neurologic_oncologic", "mechanical", "systemic"]
    radiosensitivity: Literal["radiosensitive", "radioresistant"] | None = None
    escc: Literal["any", "not_high_grade", "high_grade"] | None = None
    condition: str | None = None
    recommendation: str
    source: str
    verification: Verification

    @model_validator(mode="after")
    def _complete(self) -> NomsRule:
        if self.step == "neurologic_oncologic":
            if self.radiosensitivity is None or self.escc is None:
                raise ValueError("a neurologic_oncologic rule needs radiosensitivity and escc")
        elif self.condition is None:
            raise ValueError(f"a {self.step} rule needs a condition")
        return self


class Noms(_Frozen):
    """The NOMS framework: radiosensitivity classes and decision rules."""

    evidence: tuple[str, ...] = Field(min_length=1)
    radiosensitivity: tuple[RadiosensitivityClass, ...] = Field(min_length=1)
    rules: tuple[NomsRule, ...] = Field(min_length=1)
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _partition(self) -> Noms:
        allowed = _enum_values("primary_tumor")
        seen: dict[str, str] = {}
        for cls in self.radiosensitivity:
            for tumor in cls.primary_tumors:
                if tumor not in allowed:
                    raise ValueError(f'primary_tumor "{tumor}" is not a contract value')
                if tumor in seen:
                    raise ValueError(f'primary_tumor "{tumor}" is in {seen[tumor]} and {cls.id}')
                seen[tumor] = cls.id
        missing = [t for t in allowed if t not in seen]
        if missing:
            raise ValueError(f"primary_tumor values without a radiosensitivity class: {missing}")
        return self


class EligibilityCriterion(_Frozen):
    """One Patchell 2005 eligibility criterion, with the patient key it would read."""

    id: str
    kind: Literal["inclusion", "exclusion"]
    label: str
    patient_key: str | None
    key_note: str | None = None
    threshold: float | None = None
    threshold_unit: str | None = None
    values: tuple[str, ...] = ()
    verification: Verification

    @model_validator(mode="after")
    def _key(self) -> EligibilityCriterion:
        if self.patient_key is not None and self.patient_key not in TOP_LEVEL_KEYS:
            raise ValueError(f'patient_key "{self.patient_key}" is not a patient key')
        if self.values:
            if self.patient_key is None:
                raise ValueError("values given without a patient_key")
            allowed = _enum_values(self.patient_key)
            bad = [v for v in self.values if v not in allowed]
            if bad:
                raise ValueError(f"values {bad} are not allowed for {self.patient_key}")
        if (self.threshold is None) != (self.threshold_unit is None):
            raise ValueError("threshold and threshold_unit go together")
        return self


class TextResult(_Frozen):
    """A verified result stated in words."""

    text: str
    verification: Verification


class Patchell(_Frozen):
    """Patchell 2005: design, eligibility as a screening aid, headline results."""

    source: str
    design: str
    use: str
    ambulatory_definition: TextResult
    eligibility: tuple[EligibilityCriterion, ...] = Field(min_length=1)
    results: tuple[Figure, ...] = Field(min_length=1)
    other_results: tuple[TextResult, ...] = ()


class ScoreGroup(_Frozen):
    """A published score group and the recommendation of its abstract."""

    range: tuple[int, int]
    label: str
    recommendation: str
    surgical_candidate: bool
    verification: Verification

    @model_validator(mode="after")
    def _label(self) -> ScoreGroup:
        lo, hi = self.range
        if lo > hi or self.label != f"{lo}-{hi}":
            raise ValueError(f'label "{self.label}" must be "{lo}-{hi}" with lo <= hi')
        return self


class ScoreGroups(_Frozen):
    """Group recommendations of a Rades instrument, usable only with a site-supplied table."""

    source: str
    applies_when: str
    groups: tuple[ScoreGroup, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _contiguous(self) -> ScoreGroups:
        _require_contiguous([g.range for g in self.groups], "groups")
        return self


class ReviewFactor(_Frozen):
    """A factor the 2023 review names for choosing surgery, with what the verified sources say."""

    id: str
    label: str
    patient_key: str | None = None
    instrument: str | None = None
    finding: str | None = None
    favours_rt_alone_over_days: float | None = None
    statement: str
    source: str
    verification: Verification

    @model_validator(mode="after")
    def _key(self) -> ReviewFactor:
        if self.patient_key is not None and self.patient_key not in TOP_LEVEL_KEYS:
            raise ValueError(f'patient_key "{self.patient_key}" is not a patient key')
        return self


class HistologyNote(_Frozen):
    """What the plan says about a histology class in the surgery decision."""

    statement: str
    evidence: tuple[str, ...] = Field(min_length=1)
    verification: ClassVerification


class HistologyNotes(_Frozen):
    """Notes for haematological and for unclassified histologies."""

    haematological: HistologyNote
    not_classified: HistologyNote


class Stereotactic(_Frozen):
    """The limits of the evidence for SRS / SBRT, said wherever it is an option to discuss."""

    limits: str
    evidence: tuple[str, ...] = Field(min_length=1)
    verification: Verification


class SurgeryFile(_Frozen):
    """``surgery.yaml``."""

    reference: str
    review_statement: SourcedStatement
    bilsky_groups: tuple[BilskyGroup, ...] = Field(min_length=1)
    bilsky_note: str
    sins_bands: tuple[ScoreBand, ...] = Field(min_length=1)
    noms: Noms
    patchell: Patchell
    rades_ambulatory_2008_groups: ScoreGroups
    guideline: tuple[GuidelineRecommendation, ...] = ()
    review_factors: tuple[ReviewFactor, ...] = ()
    histology_notes: HistologyNotes
    stereotactic: Stereotactic
    not_encoded: tuple[NotEncoded, ...] = ()

    @model_validator(mode="after")
    def _partitions(self) -> SurgeryFile:
        grades = [g for group in self.bilsky_groups for g in group.grades]
        _require_unique(grades, "Bilsky grade")
        all_grades = ("0", "1a", "1b", "1c", "2", "3")
        missing = [g for g in all_grades if g not in grades]
        if missing:
            raise ValueError(f"Bilsky grades without a group: {missing}")
        _require_contiguous([b.range for b in self.sins_bands], "sins_bands")
        return self


# --------------------------------------------------------------------------- timing.yaml


class RtStartTarget(_Frozen):
    """How quickly radiotherapy should start, and from which reference point."""

    source: str
    statement: str
    hours: float = Field(gt=0)
    reference_point: str
    population: str
    verification: Verification


class TimingFile(_Frozen):
    """``timing.yaml``."""

    reference: str
    rt_start_target: RtStartTarget
    motor_deficit_findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()
    not_encoded: tuple[NotEncoded, ...] = ()


# --------------------------------------------------------------------------- conversions.yaml


class ConversionCitation(_Frozen):
    """The citation of the ECOG->KPS mapping (written without the unverified first author)."""

    text: str
    doi: str
    pmid: str


class OtherPairing(_Frozen):
    """The other ECOG-KPS pairing in use (CONFLICT, Q12): bounds, never conversions."""

    ecog_to_kps: dict[int, tuple[int, ...]]
    verification: Verification
    note: str


class ConversionsFile(_Frozen):
    """``conversions.yaml`` (also read directly by ``mescc.kb.loader``)."""

    ecog_to_kps: dict[int, tuple[int, ...]]
    other_pairing: OtherPairing | None = None
    citation: ConversionCitation
    verification: Verification
    source: str
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _partition(self) -> ConversionsFile:
        if sorted(self.ecog_to_kps) != [0, 1, 2, 3, 4]:
            raise ValueError(f"ecog_to_kps must map ECOG 0-4; got {sorted(self.ecog_to_kps)}")
        kps = [k for values in self.ecog_to_kps.values() for k in values]
        _require_unique([str(k) for k in kps], "KPS value")
        if sorted(kps) != list(range(10, 101, 10)):
            raise ValueError(f"ecog_to_kps must cover KPS 10-100 exactly once; got {sorted(kps)}")
        for ecog in range(4):
            if min(self.ecog_to_kps[ecog]) <= max(self.ecog_to_kps[ecog + 1]):
                raise ValueError(f"KPS of ECOG {ecog} must be above KPS of ECOG {ecog + 1}")
        return self


# --------------------------------------------------------------------------- the whole


class Evidence(_Frozen):
    """Every evidence file, validated and cross-checked. Build with :func:`load_evidence`."""

    sources: SourcesFile
    regimens: RegimensFile
    ranking: RankingFile
    reirradiation: ReirradiationFile
    steroids: SteroidsFile
    bone_agents: BoneAgentsFile
    surgery: SurgeryFile
    timing: TimingFile
    conversions: ConversionsFile
    digest: str

    def source(self, source_id: str) -> Source:
        """The source with this id; ``KeyError`` naming the id if there is none."""
        for src in self.sources.sources:
            if src.id == source_id:
                return src
        raise KeyError(f'unknown evidence source "{source_id}"')

    def cite(self, source_id: str) -> str:
        """The printable citation of a source (text, DOI and PMID where verified)."""
        return self.source(source_id).citation

    def regimen(self, regimen_id: str) -> Regimen:
        """The catalogue regimen with this id (e.g. ``"10x3"``)."""
        for reg in self.regimens.regimens:
            if reg.id == regimen_id:
                return reg
        raise KeyError(f'unknown regimen "{regimen_id}"')

    def regimen_by_label(self, label: str) -> Regimen:
        """The catalogue regimen with this label (e.g. ``"10 x 3 Gy"``)."""
        for reg in self.regimens.regimens:
            if reg.label == label:
                return reg
        raise KeyError(f'unknown regimen label "{label}"')

    def ranking_for(self, prognosis_class: PrognosisClass) -> ClassRanking:
        """The ranking rule of a prognosis class."""
        return self.ranking.classes[prognosis_class]

    def ranked_regimens(
        self, prognosis_class: PrognosisClass, priority: Priority = "balanced"
    ) -> tuple[Regimen, ...]:
        """The supported regimens of a class, in the order of the patient's priority."""
        order = self.ranking.classes[prognosis_class].order[priority]
        return tuple(self.regimen(rid) for rid in order)

    def outcomes_for(
        self, regimen_id: str, population: Population | None = None
    ) -> tuple[Outcome, ...]:
        """The cited outcomes of a regimen, optionally only those of one population."""
        outcomes = self.regimen(regimen_id).outcomes
        if population is None:
            return outcomes
        return tuple(o for o in outcomes if o.population == population)

    def comparison(self, comparison_id: str) -> Comparison:
        """The comparison with this id."""
        for comp in self.regimens.comparisons:
            if comp.id == comparison_id:
                return comp
        raise KeyError(f'unknown comparison "{comparison_id}"')

    def rule_set(self, rule_set_id: str) -> RuleSet:
        """A re-irradiation rule set by name (e.g. ``"nieder_2006_conventional"``)."""
        return self.reirradiation.rule_sets[rule_set_id]

    def radiosensitivity_of(self, primary_tumor: str) -> RadiosensitivityClass:
        """The NOMS radiosensitivity class of a contract ``primary_tumor`` value."""
        for cls in self.surgery.noms.radiosensitivity:
            if primary_tumor in cls.primary_tumors:
                return cls
        raise KeyError(f'unknown primary_tumor "{primary_tumor}"')


# --------------------------------------------------------------------------- loading

#: The evidence files, in load order (``sources.yaml`` first).
EVIDENCE_FILES: tuple[str, ...] = (
    "sources.yaml",
    "regimens.yaml",
    "ranking.yaml",
    "reirradiation.yaml",
    "steroids.yaml",
    "bone_agents.yaml",
    "surgery.yaml",
    "timing.yaml",
    "conversions.yaml",
)

_SOURCE_FIELDS = frozenset({"source", "evidence"})
_REGIMEN_FIELDS = frozenset({"regimen", "regimens", "arm_regimens"})

_Loc = tuple[str | int, ...]
_T = TypeVar("_T", bound=_Frozen)


def _require_unique(values: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f'{what} "{value}" appears twice')
        seen.add(value)


def _require_contiguous(ranges: Sequence[tuple[int, int]], what: str) -> None:
    for lo, hi in ranges:
        if lo > hi:
            raise ValueError(f"{what}: range [{lo}, {hi}] has lo > hi")
    for (_, hi), (lo, _) in itertools.pairwise(ranges):
        if lo != hi + 1:
            raise ValueError(f"{what}: ranges must tile without gaps or overlaps ({hi} -> {lo})")


def _enum_values(key: str) -> tuple[str, ...]:
    spec = FIELD_BY_KEY.get(key)
    if spec is None or spec.values is None:
        raise ValueError(f'"{key}" is not an enumerated patient key')
    return spec.values


def _format_path(path: _Loc) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _line_of(root: yaml.Node | None, path: _Loc) -> int | None:
    """The 1-based line of the deepest node of ``path`` found in a composed YAML document."""
    if root is None:
        return None
    node: yaml.Node = root
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if str(key_node.value) == str(part):
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Document:
    """One file's text, composed node tree and name, for located error messages."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self._root: yaml.Node | None = None
        try:
            self.data: Any = yaml.load(text, Loader=_FAST_LOADER)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            raise DefinitionError(name, "", f"invalid YAML: {exc}", line) from None
        if not isinstance(self.data, dict):
            raise DefinitionError(name, "", "the document must be a mapping", 1)

    @property
    def root(self) -> yaml.Node | None:
        """The composed node tree, built only when an error needs a line number."""
        if self._root is None:
            self._root = yaml.compose(self.text, Loader=yaml.SafeLoader)
        return self._root

    def error(self, path: _Loc, message: str) -> DefinitionError:
        return DefinitionError(self.name, _format_path(path), message, _line_of(self.root, path))

    def validate(self, model: type[_T]) -> _T:
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            errors = exc.errors()
            first = errors[0]
            path: _Loc = tuple(p for p in first["loc"] if isinstance(p, str | int))
            message = str(first["msg"]).removeprefix("Value error, ")
            given = first.get("input")
            if first["type"] not in ("missing", "extra_forbidden") and not isinstance(
                given, dict | list
            ):
                message += f" (got {given!r})"
            if len(errors) > 1:
                message += f" (and {len(errors) - 1} more problem(s))"
            raise self.error(path, message) from None


def _walk(value: object, path: _Loc) -> Iterator[tuple[_Loc, str, object]]:
    """Every (path, field name, value) below a model, depth first."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            item = getattr(value, name)
            yield (*path, name), name, item
            yield from _walk(item, (*path, name))
    elif isinstance(value, tuple | list):
        for i, item in enumerate(value):
            yield from _walk(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, str(key)))


def _ids_at(path: _Loc, value: object) -> Iterator[tuple[_Loc, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            if isinstance(item, str):
                yield (*path, i), item


def _check_references(
    model: BaseModel, doc: _Document, source_ids: set[str], regimen_ids: set[str]
) -> None:
    for path, field, value in _walk(model, ()):
        if field in _SOURCE_FIELDS:
            for id_path, sid in _ids_at(path, value):
                if sid not in source_ids:
                    raise doc.error(id_path, f'"{sid}" is not a source id in sources.yaml')
        elif field in _REGIMEN_FIELDS:
            for id_path, rid in _ids_at(path, value):
                if rid not in regimen_ids:
                    raise doc.error(id_path, f'"{rid}" is not a regimen id in regimens.yaml')


def _check_regimens(reg: RegimensFile, doc: _Document) -> None:
    endpoints = set(reg.endpoints)
    comparisons = {c.id: c for c in reg.comparisons}
    pooled: dict[tuple[str, str, str, tuple[str, ...]], dict[str, Outcome]] = {}
    for i, regimen in enumerate(reg.regimens):
        for j, outcome in enumerate(regimen.outcomes):
            where: _Loc = ("regimens", i, "outcomes", j)
            if outcome.endpoint not in endpoints:
                raise doc.error(
                    (*where, "endpoint"), f'"{outcome.endpoint}" is not a key of endpoints'
                )
            if outcome.comparison_id is not None:
                comp = comparisons.get(outcome.comparison_id)
                if comp is None:
                    raise doc.error(
                        (*where, "comparison_id"),
                        f'"{outcome.comparison_id}" is not a comparison id',
                    )
                if comp.source != outcome.source:
                    raise doc.error(
                        (*where, "comparison_id"),
                        f'comparison "{comp.id}" is from {comp.source}, not {outcome.source}',
                    )
                arm_ids = {r for arm in comp.arms for r in arm.regimens}
                if regimen.id not in arm_ids:
                    raise doc.error(
                        (*where, "comparison_id"),
                        f'comparison "{comp.id}" has no arm with regimen "{regimen.id}"',
                    )
            if outcome.pooled:
                key = (
                    outcome.source,
                    outcome.endpoint,
                    outcome.population,
                    tuple(sorted(outcome.arm_regimens)),
                )
                pooled.setdefault(key, {})[regimen.id] = outcome
    for (src, endpoint, population, arm), holders in pooled.items():
        missing = [r for r in arm if r not in holders]
        if missing:
            raise doc.error(
                ("regimens",),
                f"pooled outcome {src}/{endpoint}/{population} of arm {list(arm)} "
                f"is missing under regimen(s) {missing}",
            )
        values = {(o.value, o.n, o.events) for o in holders.values()}
        if len(values) > 1:
            raise doc.error(
                ("regimens",),
                f"pooled outcome {src}/{endpoint}/{population} differs between regimens "
                f"{sorted(holders)}",
            )
    for k, comp in enumerate(reg.comparisons):
        if comp.endpoint not in endpoints:
            raise doc.error(
                ("comparisons", k, "endpoint"), f'"{comp.endpoint}" is not a key of endpoints'
            )


def _check_ranking(ranking: RankingFile, reg: RegimensFile, doc: _Document) -> None:
    catalogue = {r.id: r for r in reg.regimens}
    for cls, rule in ranking.classes.items():
        base: _Loc = ("classes", cls)
        listed = {r.regimen for r in rule.supported} | {r.regimen for r in rule.not_supported}
        unlisted = [rid for rid in catalogue if rid not in listed]
        if unlisted:
            raise doc.error(
                (*base, "not_supported"),
                f"regimens neither supported nor not_supported: {unlisted}",
            )
        for i, supported in enumerate(rule.supported):
            regimen = catalogue[supported.regimen]
            if regimen.trial_regimen:
                raise doc.error(
                    (*base, "supported", i, "regimen"),
                    f'trial regimen "{regimen.id}" cannot be supported; list it as not_supported',
                )
            if regimen.course_length not in rule.preferred_course_lengths:
                raise doc.error(
                    (*base, "supported", i, "regimen"),
                    f'"{regimen.id}" is {regimen.course_length}, not one of '
                    f"preferred_course_lengths {list(rule.preferred_course_lengths)}",
                )
        visits = [catalogue[rid].visits for rid in rule.order["fewest_visits"]]
        if visits != sorted(visits):
            raise doc.error(
                (*base, "order", "fewest_visits"),
                f"fewest_visits must be sorted by visits; got {visits}",
            )
        if rule.preferences_never_lengthen:
            first = catalogue[rule.order["balanced"][0]].fractions
            for priority, order in rule.order.items():
                if catalogue[order[0]].fractions > first:
                    raise doc.error(
                        (*base, "order", priority),
                        f"preferences_never_lengthen: {order[0]} has more fractions than the "
                        f"balanced first {rule.order['balanced'][0]}",
                    )


def _check_conversions(conv: ConversionsFile, sources: SourcesFile, doc: _Document) -> None:
    src = next(s for s in sources.sources if s.id == conv.source)
    if (src.doi, src.pmid) != (conv.citation.doi, conv.citation.pmid):
        raise doc.error(
            ("citation",),
            f"DOI/PMID differ from sources.yaml entry {src.id} ({src.doi}, {src.pmid})",
        )


def parse_evidence(texts: Mapping[str, str]) -> Evidence:
    """Validate the evidence files given as ``{file name: YAML text}`` and cross-check them.

    Raises
    ------
    mescc.errors.DefinitionError
        (a ``ValueError``) naming the file, line and path of the first problem found.
    """
    for name in EVIDENCE_FILES:
        if name not in texts:
            raise DefinitionError(name, "", "evidence file is missing")
    docs = {name: _Document(name, texts[name]) for name in EVIDENCE_FILES}

    sources = docs["sources.yaml"].validate(SourcesFile)
    regimens = docs["regimens.yaml"].validate(RegimensFile)
    ranking = docs["ranking.yaml"].validate(RankingFile)
    reirradiation = docs["reirradiation.yaml"].validate(ReirradiationFile)
    steroids = docs["steroids.yaml"].validate(SteroidsFile)
    bone_agents = docs["bone_agents.yaml"].validate(BoneAgentsFile)
    surgery = docs["surgery.yaml"].validate(SurgeryFile)
    timing = docs["timing.yaml"].validate(TimingFile)
    conversions = docs["conversions.yaml"].validate(ConversionsFile)

    source_ids = {s.id for s in sources.sources}
    regimen_ids = {r.id for r in regimens.regimens}
    files: tuple[tuple[str, BaseModel], ...] = (
        ("sources.yaml", sources),
        ("regimens.yaml", regimens),
        ("ranking.yaml", ranking),
        ("reirradiation.yaml", reirradiation),
        ("steroids.yaml", steroids),
        ("bone_agents.yaml", bone_agents),
        ("surgery.yaml", surgery),
        ("timing.yaml", timing),
        ("conversions.yaml", conversions),
    )
    for name, model in files:
        _check_references(model, docs[name], source_ids, regimen_ids)
    _check_regimens(regimens, docs["regimens.yaml"])
    _check_ranking(ranking, regimens, docs["ranking.yaml"])
    _check_conversions(conversions, sources, docs["conversions.yaml"])

    digest = hashlib.sha256()
    for name in EVIDENCE_FILES:
        digest.update(name.encode())
        digest.update(texts[name].encode("utf-8"))
    return Evidence(
        sources=sources,
        regimens=regimens,
        ranking=ranking,
        reirradiation=reirradiation,
        steroids=steroids,
        bone_agents=bone_agents,
        surgery=surgery,
        timing=timing,
        conversions=conversions,
        digest=digest.hexdigest()[:16],
    )


def read_evidence_texts() -> dict[str, str]:
    """The packaged evidence files as ``{file name: text}`` (``mescc/kb/evidence/*.yaml``)."""
    folder = resources.files("mescc.kb")
    return {
        name: folder.joinpath("evidence", name).read_text(encoding="utf-8")
        for name in EVIDENCE_FILES
    }


@lru_cache(maxsize=1)
def load_evidence() -> Evidence:
    """Load, validate and cross-check the packaged evidence files (cached per process).

    Raises
    ------
    mescc.errors.DefinitionError
        (a ``ValueError``) naming the file, line and path of the first problem found.
    """
    from mescc.kb.cache import cached

    texts = read_evidence_texts()
    return cached(
        "evidence", [t for kv in sorted(texts.items()) for t in kv], lambda: parse_evidence(texts)
    )
