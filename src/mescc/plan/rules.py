"""The plan's own rule data: ``kb/evidence/plan_rules.yaml`` as frozen, checked models.

The evidence files (``sources``, ``regimens``, ``ranking``, ``reirradiation``, ``steroids``,
``bone_agents``, ``surgery``, ``timing``) hold what the sources say. A few rules the plan needs
are not in them: which survival instrument leads (and why), the tumour alpha/beta used for the
COMPUTED BED/EQD2 columns, how recorded findings answer the Patchell criteria, which primary
tumours are haematological, which re-irradiation rule set applies. They live in
``plan_rules.yaml`` so that no clinical number or mapping is a literal in Python.

:func:`check_plan_rules` proves the cross-references: every instrument id is in the knowledge
base, every source id in ``sources.yaml``, every regimen id in the catalogue, every rule set in
``reirradiation.yaml``, every patient key and value allowed by the contract.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mescc.errors import DefinitionError
from mescc.fields import FIELD_BY_KEY
from mescc.kb.evidence import Evidence
from mescc.kb.loader import KnowledgeBase

FILE = "plan_rules.yaml"

_M = ConfigDict(extra="forbid", frozen=True, defer_build=True)
Basis = Literal["project_decision", "source_statement"]
CriterionStatus = Literal["met", "not_met", "unknown"]


class TumourAlphaBeta(BaseModel):
    """The tumour alpha/beta of the COMPUTED regimen columns, with its source."""

    model_config = _M
    value_gy: float = Field(gt=0)
    statement: str
    evidence: tuple[str, ...] = Field(min_length=1)
    verification: Literal["primary", "secondary"]
    basis: Basis


class Tier(BaseModel):
    """One tier of the survival-instrument order: its instruments and why they rank there.

    Instruments of tiers that share a ``family`` give one vote between them (the first member
    computed, in the order of the tiers); an instrument of a tier without a family votes alone.
    """

    model_config = _M
    id: str
    family: str | None = None
    label: str
    rationale: str
    instruments: tuple[str, ...] = Field(min_length=1)


class ConsensusRule(BaseModel):
    """How the votes of the survival instruments make one class (documented project decision)."""

    model_config = _M
    basis: Basis
    statement: str
    reasons: str
    evidence: tuple[str, ...] = Field(min_length=1)


class HistologyFloor(BaseModel):
    """Tumour-specific scores that bound the class from below when none of them is computed."""

    model_config = _M
    basis: Basis
    tiers: tuple[str, ...] = Field(min_length=1)
    statement: str
    evidence: tuple[str, ...] = Field(min_length=1)


class InstrumentRule(BaseModel):
    """A rule naming one instrument (two-month mortality, end of life)."""

    model_config = _M
    instrument: str
    statement: str | None = None
    extrapolation: str | None = None
    evidence: tuple[str, ...] = Field(min_length=1)
    # End of life only: the groups after which best supportive care leads, and the ranking class.
    best_supportive_care_groups: tuple[str, ...] = ()
    best_supportive_care_class: str | None = None
    best_supportive_care_statement: str | None = None


class PrognosisRules(BaseModel):
    """Which instrument classifies survival prognosis, in which order, and with what levels."""

    model_config = _M
    basis: Basis
    statement: str
    evidence: tuple[str, ...] = Field(min_length=1)
    deciding_levels: tuple[Literal["primary", "secondary", "site-supplied"], ...]
    consensus: ConsensusRule
    histology_floor: HistologyFloor
    tiers: tuple[Tier, ...] = Field(min_length=1)
    instrument_notes: dict[str, str] = Field(default_factory=dict)
    two_month_mortality: InstrumentRule
    end_of_life: InstrumentRule

    @property
    def order(self) -> tuple[str, ...]:
        """Every classifying instrument id, best fit first."""
        return tuple(i for tier in self.tiers for i in tier.instruments)

    def tier_of(self, instrument_id: str) -> Tier:
        """The tier an instrument belongs to."""
        for tier in self.tiers:
            if instrument_id in tier.instruments:
                return tier
        raise KeyError(instrument_id)

    def tier(self, tier_id: str) -> Tier:
        """The tier with this id."""
        return next(t for t in self.tiers if t.id == tier_id)


class ExpectedSurvival(BaseModel):
    """How the prognosis class answers Patchell's expected survival of at least 3 months."""

    model_config = _M
    criterion: str
    basis: Basis
    by_class: dict[
        Literal["favourable", "intermediate", "poor", "near_end_of_life"], CriterionStatus
    ]
    statement: str
    evidence: tuple[str, ...] = Field(min_length=1)


class GradeReading(BaseModel):
    """Bilsky grades read as meeting / not meeting Patchell's cord displacement criterion."""

    model_config = _M
    met: tuple[str, ...]
    not_met: tuple[str, ...]
    statement: str


class PainReading(BaseModel):
    """SINS pain entries that record pain (Patchell counted pain as a symptom)."""

    model_config = _M
    sins_pain: tuple[str, ...]
    statement: str


class NotParaplegicReading(BaseModel):
    """Ambulatory statuses that mean the patient is not paraplegic."""

    model_config = _M
    ambulatory_status: tuple[str, ...]
    statement: str


class PatchellRules(BaseModel):
    """The plan's reading of the Patchell 2005 eligibility criteria from recorded findings."""

    model_config = _M
    study_regimen: str
    study_regimen_statement: str
    expected_survival: ExpectedSurvival
    cord_displacement_by_escc_grade: GradeReading
    pain_counts_as_symptom: PainReading
    not_paraplegic: NotParaplegicReading


class HaematologicalMalignancy(BaseModel):
    """Primary tumour values that are haematological malignancies (NICE NG234 1.8.5)."""

    model_config = _M
    primary_tumors: tuple[str, ...] = Field(min_length=1)
    basis: Basis
    statement: str
    evidence: tuple[str, ...] = Field(min_length=1)


class NeurologicalSigns(BaseModel):
    """Recorded findings that establish neurological signs when the key itself is not given."""

    model_config = _M
    basis: Basis
    statement: str
    implied_by: dict[str, tuple[Any, ...]] = Field(min_length=1)


class CourseSpec(BaseModel):
    """A regimen given as fractions and dose per fraction."""

    model_config = _M
    fractions: int = Field(ge=1)
    dose_per_fraction_gy: float = Field(gt=0)


class AstroReirradiation(BaseModel):
    """The ASTRO 2024 conventional re-irradiation regimens."""

    model_config = _M
    source: str
    statement: str
    regimens: tuple[CourseSpec, ...] = Field(min_length=1)


class PlannedCordHotSpot(BaseModel):
    """The cord maximum assumed for the course being planned, as a share of the prescription."""

    model_config = _M
    percent_of_prescription: float = Field(gt=0)
    statement: str
    evidence: tuple[str, ...] = Field(min_length=1)
    verification: Literal["primary", "secondary"]


class EarlierCordDose(BaseModel):
    """The cord dose of an earlier course without a recorded cord maximum."""

    model_config = _M
    conventional_percent_of_prescription: float = Field(gt=0)
    statement: str
    evidence: tuple[str, ...] = Field(min_length=1)


class ReirradiationRules(BaseModel):
    """Which named rule set applies to a re-irradiation, and the cord-dose assumptions."""

    model_config = _M
    conventional_rule_set: str
    sbrt_rule_set: str
    supporting_rule_sets: tuple[str, ...] = ()
    statement: str
    sbrt_dose_note: str
    planned_cord_hot_spot: PlannedCordHotSpot
    earlier_cord_dose: EarlierCordDose
    astro_reirradiation_regimens: AstroReirradiation


class PlanRules(BaseModel):
    """``plan_rules.yaml``."""

    model_config = _M
    reference: str
    tumour_alpha_beta: TumourAlphaBeta
    prognosis: PrognosisRules
    patchell: PatchellRules
    haematological_malignancy: HaematologicalMalignancy
    neurological_signs: NeurologicalSigns
    reirradiation: ReirradiationRules
    disclaimer: str


def parse_plan_rules(text: str) -> PlanRules:
    """Validate the text of ``plan_rules.yaml``; ``DefinitionError`` names the path if bad."""
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise DefinitionError(FILE, "", f"not valid YAML: {exc}") from None
    try:
        return PlanRules.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = ".".join(str(p) for p in err["loc"])
        raise DefinitionError(FILE, path, err["msg"]) from None


@lru_cache(maxsize=1)
def load_plan_rules() -> PlanRules:
    """The packaged plan rules (cached per process, and on disk keyed by the file's text and
    the parsing code: ``mescc.kb.cache``)."""
    from mescc.kb.cache import cached

    text = resources.files("mescc.kb").joinpath("evidence", FILE).read_text(encoding="utf-8")
    return cached("plan-rules", [text], lambda: parse_plan_rules(text))


def _source_ids(rules: PlanRules) -> list[tuple[str, str]]:
    p = rules.prognosis
    return [
        *(("tumour_alpha_beta.evidence", s) for s in rules.tumour_alpha_beta.evidence),
        *(("prognosis.evidence", s) for s in p.evidence),
        *(("prognosis.consensus.evidence", s) for s in p.consensus.evidence),
        *(("prognosis.histology_floor.evidence", s) for s in p.histology_floor.evidence),
        *(("prognosis.two_month_mortality.evidence", s) for s in p.two_month_mortality.evidence),
        *(("prognosis.end_of_life.evidence", s) for s in p.end_of_life.evidence),
        *(
            ("patchell.expected_survival.evidence", s)
            for s in rules.patchell.expected_survival.evidence
        ),
        *(
            ("haematological_malignancy.evidence", s)
            for s in rules.haematological_malignancy.evidence
        ),
        (
            "reirradiation.astro_reirradiation_regimens.source",
            rules.reirradiation.astro_reirradiation_regimens.source,
        ),
        *(
            ("reirradiation.planned_cord_hot_spot.evidence", s)
            for s in rules.reirradiation.planned_cord_hot_spot.evidence
        ),
        *(
            ("reirradiation.earlier_cord_dose.evidence", s)
            for s in rules.reirradiation.earlier_cord_dose.evidence
        ),
    ]


def check_plan_rules(rules: PlanRules, kb: KnowledgeBase, evidence: Evidence) -> None:
    """Prove every cross-reference of the plan rules; raise ``DefinitionError`` naming the path."""
    ids = {s.id for s in evidence.sources.sources}
    for path, sid in _source_ids(rules):
        if sid not in ids:
            raise DefinitionError(FILE, path, f'"{sid}" is not a source of sources.yaml')
    p = rules.prognosis
    seen: set[str] = set()
    for i, tier in enumerate(p.tiers):
        for iid in tier.instruments:
            if iid not in kb.instruments:
                raise DefinitionError(
                    FILE, f"prognosis.tiers[{i}]", f'"{iid}" is not an instrument'
                )
            if iid in seen:
                raise DefinitionError(FILE, f"prognosis.tiers[{i}]", f'"{iid}" is listed twice')
            seen.add(iid)
    tier_ids = {t.id for t in p.tiers}
    for tid in p.histology_floor.tiers:
        if tid not in tier_ids:
            raise DefinitionError(FILE, "prognosis.histology_floor.tiers", f'"{tid}" is not a tier')
    eol = kb.instruments.get(p.end_of_life.instrument)
    if eol is not None:
        labels = {g.label for g in eol.groups}
        for label in p.end_of_life.best_supportive_care_groups:
            if label not in labels:
                raise DefinitionError(
                    FILE,
                    "prognosis.end_of_life.best_supportive_care_groups",
                    f'"{label}" is not a group of {eol.id}',
                )
        bsc = p.end_of_life.best_supportive_care_class
        if bsc is not None and bsc not in evidence.ranking.classes:
            raise DefinitionError(
                FILE,
                "prognosis.end_of_life.best_supportive_care_class",
                f'"{bsc}" is not a class of ranking.yaml',
            )
    for iid in (*p.instrument_notes, p.two_month_mortality.instrument, p.end_of_life.instrument):
        if iid not in kb.instruments:
            raise DefinitionError(FILE, "prognosis", f'"{iid}" is not an instrument')
    two_month = kb.instruments[p.two_month_mortality.instrument]
    if sum(1 for t in two_month.thresholds if t.decision) != 1:
        raise DefinitionError(
            FILE,
            "prognosis.two_month_mortality",
            f"{two_month.id} must have exactly one threshold with decision: true",
        )
    try:
        evidence.regimen(rules.patchell.study_regimen)
    except KeyError:
        raise DefinitionError(
            FILE, "patchell.study_regimen", f'"{rules.patchell.study_regimen}" is not a regimen'
        ) from None
    _check_values(
        "patchell.cord_displacement_by_escc_grade",
        "escc_grade",
        (
            *rules.patchell.cord_displacement_by_escc_grade.met,
            *rules.patchell.cord_displacement_by_escc_grade.not_met,
        ),
    )
    _check_values(
        "patchell.pain_counts_as_symptom",
        "sins_pain",
        rules.patchell.pain_counts_as_symptom.sins_pain,
    )
    _check_values(
        "patchell.not_paraplegic",
        "ambulatory_status",
        rules.patchell.not_paraplegic.ambulatory_status,
    )
    _check_values(
        "haematological_malignancy", "primary_tumor", rules.haematological_malignancy.primary_tumors
    )
    for key, values in rules.neurological_signs.implied_by.items():
        if key not in FIELD_BY_KEY:
            raise DefinitionError(FILE, f"neurological_signs.implied_by.{key}", "not a patient key")
        _check_values(f"neurological_signs.implied_by.{key}", key, values)
    r = rules.reirradiation
    for name in (r.conventional_rule_set, r.sbrt_rule_set, *r.supporting_rule_sets):
        if name not in evidence.reirradiation.rule_sets:
            raise DefinitionError(FILE, "reirradiation", f'"{name}" is not a rule set')


def _check_values(path: str, key: str, values: tuple[Any, ...]) -> None:
    dom = FIELD_BY_KEY[key].domain()
    bad = [v for v in values if dom is None or v not in dom]
    if bad:
        raise DefinitionError(FILE, path, f"{bad} are not allowed values of {key}")


_CHECKED: dict[tuple[str, str], PlanRules] = {}


def checked_rules(kb: KnowledgeBase, evidence: Evidence) -> PlanRules:
    """The plan rules, cross-checked once per (knowledge base, evidence) version."""
    key = (kb.version, evidence.digest)
    rules = _CHECKED.get(key)
    if rules is None:
        rules = load_plan_rules()
        check_plan_rules(rules, kb, evidence)
        _CHECKED[key] = rules
    return rules
