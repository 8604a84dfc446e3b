"""Rank the radiotherapy regimens of the catalogue for a patient.

The ranking rules are data (``kb/evidence/ranking.yaml``): for each prognosis class the
regimens it supports, each with its rationale and evidence ids, the order for each priority
(``balanced``, ``fewest_visits``, ``durable_local_control``) and the regimens it does not
support, with the reason. This module only applies them:

* the class is the prognosis module's ``ranking_class`` (poor, intermediate, favourable,
  near_end_of_life, unknown); ``unknown`` lists the options without a ranking claim;
* the patient's ``priority`` picks the order among the supported regimens only; an unsupported
  regimen is never promoted, and when it would suit the priority better the plan says why it is
  not offered;
* with earlier radiotherapy, a regimen beyond the re-irradiation limits is marked not supported
  (with the reason) and moves below the supported ones.

BED and EQD2 are COMPUTED (``mescc.dose``): ``BED = n*d*(1 + d/(alpha/beta))``,
``EQD2 = BED / (1 + 2/(alpha/beta))`` at the tumour alpha/beta of ``plan_rules.yaml``.

Evidence ids: those of ``ranking.yaml`` (``rades_schild_2023``, ``rades_jco_2005``,
``score1_final_2011``, ``scorad_2019``, ``rades_matched_2015``, ``rades_matched_2018``,
``rades_escalation_2011``, ``icorg_0503_2020``, ``maranzano_2009_cochrane``,
``donovan_2019``, ``astro_2024``, ``rades_two_month_mortality_2013``,
``rades_end_of_life_2022``, ...).

Clinical traps guarded: every outcome figure keeps its own endpoint definition and population
(an "ambulatory" rate of SCORAD is not one of JCO 2005); pooled arms are labelled; no mapping of
score groups to regimens is presented as a source's own statement (Q15: project decision).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from mescc.dose import bed, eqd2
from mescc.kb.evidence import ClassRanking, Evidence, NotSupported, Regimen, RegimenRule
from mescc.plan.prognosis import UNKNOWN, Prognosis
from mescc.plan.reasons import PROJECT_DECISION, Citer, Reason
from mescc.plan.reirradiation import Reirradiation
from mescc.plan.rules import PlanRules

PRIORITY_WORDS = {
    "balanced": "a balanced choice",
    "fewest_visits": "the fewest treatment visits",
    "durable_local_control": "durable local control",
}


def _r1(x: float) -> float:
    return round(x + 0.0, 1)


def overall_time_days(label: str | None) -> int | None:
    """Days of an overall time stated as "1 day" or "N week(s)" by its source; else None."""
    if not label:
        return None
    m = re.fullmatch(r"(\d+)\s+(day|days|week|weeks)", label.strip())
    if m is None:
        return None
    n = int(m.group(1))
    return n if m.group(2).startswith("day") else n * 7


@dataclass(frozen=True)
class RegimenOption:
    """One regimen as offered (or not supported) for this patient."""

    regimen_id: str
    label: str
    fractions: int
    dose_per_fraction_gy: float
    alpha_beta_gy: float
    visits: int
    overall_time: str | None
    course_length: str
    trial_regimen: bool
    supported: bool
    rationale: tuple[Reason, ...]
    # Shared between plans (built once per regimen, ``Citer.derived``): read-only mappings.
    outcomes: tuple[Mapping[str, Any], ...]
    guidelines: tuple[Mapping[str, Any], ...]

    @property
    def total_dose_gy(self) -> float:
        """Total physical dose ``n * d``."""
        return self.fractions * self.dose_per_fraction_gy

    @property
    def bed_gy10(self) -> float:
        """BED at the tumour alpha/beta (COMPUTED)."""
        return bed(self.fractions, self.dose_per_fraction_gy, self.alpha_beta_gy)

    @property
    def eqd2_gy10(self) -> float:
        """EQD2 at the tumour alpha/beta (COMPUTED)."""
        return eqd2(self.fractions, self.dose_per_fraction_gy, self.alpha_beta_gy)

    def as_dict(self) -> dict[str, Any]:
        """The contract's radiotherapy entry."""
        return {
            "regimen": self.label,
            "regimen_id": self.regimen_id,
            "fractions": self.fractions,
            "dose_per_fraction_gy": self.dose_per_fraction_gy,
            "total_dose_gy": _r1(self.total_dose_gy),
            "bed_gy10": _r1(self.bed_gy10),
            "eqd2_gy10": _r1(self.eqd2_gy10),
            "dose_basis": (
                f"COMPUTED: linear-quadratic model, alpha/beta {self.alpha_beta_gy:g} Gy, no time "
                "factor (BED = n*d*(1 + d/(alpha/beta)); EQD2 = BED/(1 + 2/(alpha/beta)))"
            ),
            "visits": self.visits,
            "overall_time": self.overall_time,
            "overall_time_days": overall_time_days(self.overall_time),
            "course_length": self.course_length,
            "trial_regimen": self.trial_regimen,
            "supported": self.supported,
            "rationale": [r.as_dict() for r in self.rationale],
            "outcomes": [
                {**o, "pooled_arm": None if o["pooled_arm"] is None else list(o["pooled_arm"])}
                for o in self.outcomes
            ],
            "guidelines": [dict(g) for g in self.guidelines],
        }


@dataclass(frozen=True)
class RadiotherapyRanking:
    """The ranked regimens, whether the ranking is a claim, and what goes with it."""

    options: tuple[RegimenOption, ...]
    ranking_class: str
    priority: str
    ranking_claim: bool
    other_options: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...]
    lead_option: dict[str, Any] | None = None

    @property
    def recommended(self) -> RegimenOption | None:
        """The first option when the plan makes a ranking claim, it is supported and no other
        option (best supportive care) leads."""
        if (
            self.lead_option is not None
            or not self.ranking_claim
            or not self.options
            or not self.options[0].supported
        ):
            return None
        return self.options[0]

    @property
    def recommended_option(self) -> dict[str, Any] | None:
        """What leads: a regimen, best supportive care, or None (no claim / none supported)."""
        if self.lead_option is not None:
            return {"kind": "other_option", "id": self.lead_option["id"],
                    "label": self.lead_option["label"]}  # fmt: skip
        rec = self.recommended
        if rec is not None:
            return {"kind": "radiotherapy", "id": rec.regimen_id, "label": rec.label}
        return None


def _outcome_dicts(reg: Regimen, evidence: Evidence, citer: Citer) -> tuple[Mapping[str, Any], ...]:
    endpoints = evidence.regimens.endpoints
    out = []
    for o in reg.outcomes:
        ep = endpoints.get(o.endpoint)
        figure = {
            "endpoint": o.endpoint,
            "label": ep.label if ep else o.endpoint,
            "value": o.value,
            "n": o.n,
            "events": o.events,
            "population": o.population,
            "population_note": o.population_note,
            "pooled_arm": tuple(o.arm_regimens) if o.pooled else None,
            "comparison": o.comparison,
            "definition": o.definition,
            "source": o.source,
            "citation": citer.citation(o.source),
            "verification": o.verification,
        }
        out.append(MappingProxyType(figure))
    return tuple(out)


def _guideline_dicts(reg: Regimen, citer: Citer) -> tuple[Mapping[str, Any], ...]:
    return tuple(
        MappingProxyType(
            {
                "source": g.source,
                "statement": g.statement,
                "population": g.population,
                "strength": g.strength,
                "evidence_quality": g.evidence_quality,
                "citation": citer.citation(g.source),
                "verification": g.verification,
            }
        )
        for g in reg.guideline_support
    )


def _basis(rule: RegimenRule | NotSupported) -> str:
    return PROJECT_DECISION if rule.basis == "project_decision" else "primary"


def _supported_reason(cr: ClassRanking, rule: RegimenRule, claim: bool) -> Reason:
    if claim:
        text = f"Supported for {cr.label.lower()}: {rule.rationale}"
        code = "supported_for_class"
    else:
        text = (
            "Listed without a ranking claim because survival prognosis could not be estimated: "
            f"{rule.rationale}"
        )
        code = "no_ranking_claim"
    return Reason(code, text, rule.evidence, {}, _basis(rule))


def rank_regimens(
    prognosis: Prognosis,
    priority: str | None,
    evidence: Evidence,
    rules: PlanRules,
    citer: Citer,
    reirradiation: Reirradiation | None = None,
) -> RadiotherapyRanking:
    """Rank every catalogue regimen for the patient's prognosis class and priority.

    Parameters
    ----------
    prognosis : the classified prognosis (its ``ranking_class`` picks the ranking rule)
    priority : ``balanced`` | ``fewest_visits`` | ``durable_local_control`` (None = balanced)
    evidence : the evidence knowledge base (regimens, ranking rules)
    rules : the plan rules (tumour alpha/beta)
    citer : resolves evidence ids to citations
    reirradiation : the re-irradiation check, when earlier radiotherapy is recorded

    Returns
    -------
    RadiotherapyRanking: supported regimens first (in the priority's order), then those not
    supported, each with its reasons; ``ranking_claim`` is False when prognosis is unknown.
    """
    cls = prognosis.ranking_class
    cr = evidence.ranking_for(cls)  # type: ignore[arg-type]
    prio = priority or "balanced"
    claim = cls != UNKNOWN
    ab = rules.tumour_alpha_beta.value_gy
    by_id = {r.id: r for r in evidence.regimens.regimens}
    warnings: list[str] = list(cr.warnings)

    def option(reg: Regimen, supported: bool, reasons: list[Reason]) -> RegimenOption:
        return RegimenOption(
            regimen_id=reg.id,
            label=reg.label,
            fractions=reg.fractions,
            dose_per_fraction_gy=reg.dose_per_fraction_gy,
            alpha_beta_gy=ab,
            visits=reg.visits,
            overall_time=reg.overall_time.label if reg.overall_time else None,
            course_length=reg.course_length,
            trial_regimen=reg.trial_regimen,
            supported=supported,
            rationale=citer.all(reasons),
            outcomes=citer.derived(
                ("outcomes", reg.id), lambda: _outcome_dicts(reg, evidence, citer)
            ),
            guidelines=citer.derived(("guidelines", reg.id), lambda: _guideline_dicts(reg, citer)),
        )

    ordered = list(cr.order[prio])  # type: ignore[index]
    capped = False
    if prio != "balanced" and not prognosis.preferences_may_lengthen:
        balanced = list(cr.order["balanced"])
        if by_id[ordered[0]].fractions > by_id[balanced[0]].fractions:
            ordered, capped = balanced, True
    kept: list[tuple[str, list[Reason]]] = []
    demoted: list[tuple[str, list[Reason]]] = []
    for rid in ordered:
        rule = cr.rule_for(rid)
        assert isinstance(rule, RegimenRule)
        reasons = [_supported_reason(cr, rule, claim)]
        if reirradiation is not None:
            chk = reirradiation.check_for(rid)
            src = (reirradiation.rule_set.source,)
            if chk.within_limits is False:
                reasons.append(
                    Reason(
                        "reirradiation_exceeds_limits",
                        chk.text,
                        src,
                        {},
                        reirradiation.rule_set.verification,
                    )
                )
                demoted.append((rid, reasons))
                continue
            code = (
                "reirradiation_within_limits" if chk.within_limits else "reirradiation_undetermined"
            )
            reasons.append(Reason(code, chk.text, src, {}, reirradiation.rule_set.verification))
        kept.append((rid, reasons))

    lead_other = next((o for o in cr.other_options if o.id == cr.lead_option), None)
    if kept and claim:
        first_id, first_reasons = kept[0]
        label = by_id[first_id].label
        if lead_other is not None:
            first = Reason(
                "offered_at_most",
                f"{lead_other.label} leads for {cr.label.lower()} because "
                f"{_lower_first(cr.rationale)} If radiotherapy is given, {label} is the most "
                "this plan offers.",
                cr.evidence,
                {"ranking_class": cls},
                PROJECT_DECISION,
            )
        else:
            first = Reason(
                "ranked_first",
                f"{label} is ranked first for {cr.label.lower()} because "
                f"{_lower_first(cr.rationale)}",
                cr.evidence,
                {"ranking_class": cls},
                PROJECT_DECISION,
            )
        lead = [first]
        if capped:
            lead.append(
                Reason(
                    "priority_not_lengthening",
                    f"The patient's priority ({PRIORITY_WORDS.get(prio, prio)}) would put a "
                    "regimen with more fractions first, but the survival class was raised above "
                    "the general instruments' own by the tumour-specific evidence, so the "
                    f"default order is kept and {label} stays first.",
                    cr.evidence,
                    {"preferences.priority": prio},
                    PROJECT_DECISION,
                )
            )
        elif prio != "balanced":
            note = cr.order_notes.get(prio)  # type: ignore[call-overload]
            lead.append(
                Reason(
                    "priority_reorders_supported",
                    f"The patient's priority ({PRIORITY_WORDS.get(prio, prio)}) orders only the "
                    f"regimens supported for this prognosis and puts {label} first."
                    + (f" {note}" if note else ""),
                    cr.evidence,
                    {"preferences.priority": prio},
                    PROJECT_DECISION,
                )
            )
        elif note := cr.order_notes.get("balanced"):
            lead.append(Reason("order_note", note, cr.evidence, {}, PROJECT_DECISION))
        lead.extend(_uncertainty(prognosis))
        if first_id in by_id and prognosis.near_end_of_life:
            lead.extend(r for r in prognosis.reasons if r.code.startswith("end_of_life"))
        kept[0] = (first_id, lead + first_reasons)

    options: list[RegimenOption] = [option(by_id[rid], True, rs) for rid, rs in kept]
    options += [option(by_id[rid], False, rs) for rid, rs in demoted]
    for ns in cr.not_supported:
        text = f"Not supported for {cr.label.lower()}: {ns.reason}"
        reasons = [Reason(ns.reason_code, text, ns.evidence, {}, _basis(ns))]
        if reirradiation is not None:
            chk = reirradiation.check_for(ns.regimen)
            reasons.append(
                Reason(
                    "reirradiation_check",
                    chk.text,
                    (reirradiation.rule_set.source,),
                    {},
                    reirradiation.rule_set.verification,
                )
            )
        options.append(option(by_id[ns.regimen], False, reasons))

    if reirradiation is not None and not kept:
        warnings.append(
            "No regimen supported for this prognosis stays within the re-irradiation limits of "
            f"the {reirradiation.rule_set.label} rule set; every listed option is outside them "
            "or outside published experience (see re-irradiation)."
        )
    warnings.extend(_priority_notes(prio, kept, cr, by_id))
    other = tuple(
        {
            "id": o.id,
            "label": o.label,
            "rationale": o.rationale,
            "evidence": list(o.evidence),
            "citation": [citer.citation(e) for e in o.evidence],
            "basis": o.basis,
        }
        for o in cr.other_options
    )
    return RadiotherapyRanking(
        options=tuple(options),
        ranking_class=cls,
        priority=prio,
        ranking_claim=claim,
        other_options=other,
        warnings=tuple(warnings),
        lead_option=next((o for o in other if o["id"] == cr.lead_option), None),
    )


def _lower_first(text: str) -> str:
    text = " ".join(text.split())
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _uncertainty(prognosis: Prognosis) -> list[Reason]:
    out: list[Reason] = []
    if prognosis.disagreement:
        out.append(
            Reason(
                "prognosis_uncertain",
                "Uncertainty: this ranking rests on a survival prognosis about which the "
                "instruments disagree (see prognosis); the alternatives below remain reasonable.",
                prognosis.deciding_instruments,
                {},
                PROJECT_DECISION,
            )
        )
    unverified = tuple(
        v.instrument
        for v in (prognosis.consensus.counted if prognosis.consensus is not None else ())
        if v.verification == "unverified"
    )
    if prognosis.consensus is None and prognosis.source_verification == "unverified":
        unverified = (prognosis.source_instrument,) if prognosis.source_instrument else ()
    if unverified:
        out.append(
            Reason(
                "ranking_rests_on_unverified",
                "Uncertainty: the prognosis behind this ranking counts an unverified "
                "instrument, used only because unverified instruments were allowed.",
                unverified,
                {},
                "unverified",
            )
        )
    if prognosis.consensus is not None and prognosis.consensus.lowered_by:
        out.append(
            Reason(
                "prognosis_lowered_by_missing_inputs",
                "Uncertainty: instruments that cannot be computed yet lowered the survival "
                "class (see prognosis); entering their missing inputs may allow a longer course.",
                prognosis.consensus.lowered_by,
                {},
                PROJECT_DECISION,
            )
        )
    return out


def _priority_notes(
    prio: str,
    kept: list[tuple[str, list[Reason]]],
    cr: ClassRanking,
    by_id: dict[str, Regimen],
) -> list[str]:
    if prio != "fewest_visits" or not kept:
        return []
    first = by_id[kept[0][0]]
    fewer = [
        ns
        for ns in cr.not_supported
        if not by_id[ns.regimen].trial_regimen and by_id[ns.regimen].visits < first.visits
    ]
    if not fewer:
        return []
    names = ", ".join(by_id[ns.regimen].label for ns in fewer)
    return [
        f"The fewest-visits priority does not promote {names}: fewer visits, but not supported "
        f"for {cr.label.lower()} (reasons listed with each); {first.label} is the supported "
        "option with the fewest visits."
    ]
