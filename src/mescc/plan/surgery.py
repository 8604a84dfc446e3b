"""Upfront decompressive surgery: whether to consider it, and why.

The 2023 review names the criteria (``surgery.yaml`` ``review_statement``): degree of
compression, myelopathy / motor deficits, radiosensitivity, spinal stability, post-treatment
ambulatory status, performance status and survival prognosis, plus patient preference. No
single surgery score exists, so each criterion is a small rule returning reasons:

* **compression** — the Bilsky ESCC group of ``bilsky_escc_2010`` matched to
  ``surgery.yaml`` ``bilsky_groups``: high-grade (2-3) is an indication unless the histology is
  radiosensitive; 1c is a grey zone; 0-1b favours RT first (``bilsky_2010``, ``laufer_noms_2013``);
* **radiosensitivity** — NOMS classes (``ao_radiosensitivity``; verified histologies only, every
  other tumour "not classified", Q14) and NOMS rules (``noms_review_2010``);
* **stability** — the ``sins_2010`` group matched to ``sins_bands`` (7-12 and 13-18 warrant
  surgical consultation, ``fisher_sins_2010``);
* **post-RT ambulatory status** — ``rades_ambulatory_2008`` groups, only with a site table;
* **performance status, motor deficits, prognosis** — shown for the surgeon, and the Patchell
  2005 eligibility criteria (``patchell_2005``) as a screening aid: single area, not paraplegic
  for more than 48 h, expected survival of at least 3 months (read from the prognosis class,
  ``plan_rules.yaml``), not radiosensitive, medically operable.

``consider`` is true when an indication is present, no exclusion applies and the patient has
not declined surgery. ``surgery_acceptable: false`` keeps surgery off the plan while saying that
the criteria were met.

Clinical traps guarded: Patchell's results cannot be extrapolated outside its criteria; its
time window is not quoted (Q13, R8); "radioresistant" is never inferred for an unclassified
histology; a missing input is named, never read as absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mescc.kb.evidence import (
    BilskyGroup,
    EligibilityCriterion,
    Evidence,
    Figure,
    ScoreBand,
    ScoreGroup,
)
from mescc.kb.loader import KnowledgeBase
from mescc.patient import Patient
from mescc.plan.prognosis import Prognosis, ResultView, group_of
from mescc.plan.reasons import PROJECT_DECISION, Citer, Reason
from mescc.plan.reirradiation import Reirradiation
from mescc.plan.rules import PlanRules

BILSKY = "bilsky_escc_2010"
SINS = "sins_2010"
AMBULATORY = "rades_ambulatory_2008"
PARAPLEGIA = "not_paraplegic_over_48h"
EXCLUDED_BY_SURVIVAL = "the expected survival"
EXCLUDED_BY_OPERABILITY = "medical inoperability"
SINS_KEYS = (
    "sins_location",
    "sins_pain",
    "sins_bone_lesion",
    "sins_alignment",
    "sins_collapse",
    "sins_posterolateral",
)


@dataclass(frozen=True)
class Criterion:
    """One Patchell eligibility criterion as the record answers it."""

    id: str
    kind: str
    label: str
    status: str  # met | not_met | unknown | not_recorded
    input: str | None
    value: Any
    note: str | None
    verification: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "label": self.label,
            "status": self.status,
            "input": self.input,
            "value": self.value,
            "note": self.note,
            "verification": self.verification,
        }


@dataclass(frozen=True)
class SurgicalQuestion:
    """One of the two separate surgical questions: decompression or stabilisation."""

    question: str  # decompression | stabilisation
    consider: bool
    criteria_met: bool
    criteria: tuple[Criterion, ...]
    reasons: tuple[Reason, ...]
    missing: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "consider": self.consider,
            "criteria_met": self.criteria_met,
            "criteria": [c.as_dict() for c in self.criteria],
            "reasons": [r.as_dict() for r in self.reasons],
            "missing": list(self.missing),
        }


@dataclass(frozen=True)
class Surgery:
    """The surgery element of the plan: decompression and stabilisation, asked separately.

    ``consider`` (the contract's flag) is true when either surgical opinion is suggested.
    """

    consider: bool
    surgery_acceptable: bool | None
    criteria_met: bool
    reasons: tuple[Reason, ...]
    missing: tuple[str, ...]
    patchell_status: str
    patchell_criteria: tuple[Criterion, ...]
    patchell_use: str
    patchell_results: tuple[dict[str, Any], ...]
    radiosensitivity: dict[str, Any] | None
    decompression: SurgicalQuestion
    stabilisation: SurgicalQuestion

    def as_dict(self) -> dict[str, Any]:
        return {
            "consider": self.consider,
            "surgery_acceptable": self.surgery_acceptable,
            "criteria_met": self.criteria_met,
            "decompression": self.decompression.as_dict(),
            "stabilisation": self.stabilisation.as_dict(),
            "reasons": [r.as_dict() for r in self.reasons],
            "missing": list(self.missing),
            "patchell_eligibility": {
                "status": self.patchell_status,
                "use": self.patchell_use,
                "criteria": [c.as_dict() for c in self.patchell_criteria],
                "results": [dict(r) for r in self.patchell_results],
            },
            "radiosensitivity": self.radiosensitivity,
        }


def _figure_text(fig: Figure) -> str:
    arms = "; ".join(
        f"{a.label} {round(a.value * 100):d}%"
        + (f" ({a.events}/{a.n})" if a.events is not None and a.n else "")
        for a in fig.arms
        if a.value is not None
    )
    p = f", p = {fig.p_value}" if fig.p_value else ""
    return f"{fig.definition} {arms}{p}"


# --------------------------------------------------------------------------- rules


def bilsky_group(
    view: ResultView | None, kb: KnowledgeBase, evidence: Evidence
) -> BilskyGroup | None:
    """The ``surgery.yaml`` Bilsky group (high-grade / 1c / low-grade) of a computed ESCC."""
    if view is None or not view.computed:
        return None
    group = group_of(kb.instruments[BILSKY], view.group)
    members = set(group.members or ()) if group else set()
    return next((bg for bg in evidence.surgery.bilsky_groups if set(bg.grades) == members), None)


def compression_rule(
    view: ResultView | None, kb: KnowledgeBase, evidence: Evidence
) -> tuple[str | None, Reason | None]:
    """Bilsky ESCC: the group id (high_grade / intermediate / low_grade) and its reason."""
    bg = bilsky_group(view, kb, evidence)
    if bg is None or view is None:
        return None, None
    code = {
        "high_grade": "escc_high_grade",
        "intermediate": "escc_grade_1c",
        "low_grade": "escc_low_grade",
    }.get(bg.id, f"escc_{bg.id}")
    return bg.id, Reason(
        code,
        f"Bilsky ESCC group {view.group} ({bg.label}): {bg.use}",
        bg.evidence,
        {"escc_grade": view.group},
        bg.verification,
    )


def sins_band(view: ResultView | None, evidence: Evidence) -> ScoreBand | None:
    """The ``surgery.yaml`` SINS band of a computed ``sins_2010`` group."""
    if view is None or not view.computed or view.points is None:
        return None
    for band in evidence.surgery.sins_bands:
        lo, hi = band.range
        if lo <= view.points <= hi and view.group == f"{lo}-{hi}":
            return band
    return None


def sins_consultation(view: ResultView | None, evidence: Evidence) -> bool | None:
    """Whether the SINS warrants a surgical (stability) opinion: from the computed total, or
    from the groups a partly known SINS can still reach (None when they disagree)."""
    band = sins_band(view, evidence)
    if band is not None:
        return band.surgical_consultation
    if view is None or not view.undetermined:
        return None
    by_label = {f"{b.range[0]}-{b.range[1]}": b for b in evidence.surgery.sins_bands}
    answers = {by_label[g].surgical_consultation for g in view.possible_groups if g in by_label}
    return answers.pop() if len(answers) == 1 else None


def stability_rule(
    view: ResultView | None, evidence: Evidence
) -> tuple[bool | None, Reason | None]:
    """SINS band of the ``sins_2010`` group: whether it warrants surgical consultation."""
    band = sins_band(view, evidence)
    if band is None or view is None:
        return None, None
    action = f" {band.action}" if band.action else ""
    code = "sins_surgical_consultation" if band.surgical_consultation else "sins_stable"
    return band.surgical_consultation, Reason(
        code,
        f"SINS {view.points} (group {view.group}, {band.label.lower()}).{action}",
        band.evidence,
        {"sins_2010.points": view.points},
        band.verification,
    )


def radiosensitivity_rule(
    patient: Patient, escc_group: str | None, evidence: Evidence
) -> tuple[str | None, list[Reason], dict[str, Any] | None]:
    """NOMS radiosensitivity of the histology and the matching NOMS rule."""
    tumour = patient.primary_tumor
    if tumour is None:
        return None, [], None
    rc = evidence.radiosensitivity_of(tumour)
    info = {
        "class": rc.id,
        "label": rc.label,
        "histologies": rc.histologies,
        "verification": rc.verification,
    }
    reasons = [
        Reason(
            f"noms_{rc.id}",
            f"Histology {tumour.replace('_', ' ')}: {rc.label}.",
            rc.evidence,
            {"primary_tumor": tumour},
            rc.verification,
        )
    ]
    if escc_group is not None:
        high = escc_group == "high_grade"
        for rule in evidence.surgery.noms.rules:
            if rule.step != "neurologic_oncologic" or rule.radiosensitivity != rc.id:
                continue
            if rule.escc == "any" or (rule.escc == "high_grade") == high:
                reasons.append(
                    Reason(
                        f"noms_{rule.id}",
                        f"NOMS ({rc.id.replace('_', ' ')}, "
                        f"{'high-grade' if high else 'not high-grade'} compression): "
                        f"{rule.recommendation}",
                        (rule.source,),
                        {"primary_tumor": tumour},
                        rule.verification,
                    )
                )
                info["recommendation"] = rule.recommendation
    return rc.id, reasons, info


def _criterion(
    ec: EligibilityCriterion, status: str, value: Any, note: str | None = None
) -> Criterion:
    return Criterion(
        ec.id,
        ec.kind,
        ec.label,
        status,
        ec.patient_key,
        value,
        note or ec.key_note,
        ec.verification,
    )


def _bool_status(value: bool | None, good: bool = True) -> str:
    if value is None:
        return "unknown"
    return "met" if value is good else "not_met"


def _paraplegia_status(patient: Patient, ec: EligibilityCriterion, rules: PlanRules) -> str:
    """Patchell "not paraplegic for more than 48 h": from the hours, else the walking status."""
    hours = patient.paraplegia_hours
    if hours is not None and ec.threshold is not None:
        return "met" if hours <= ec.threshold else "not_met"
    if patient.ambulatory_status in rules.patchell.not_paraplegic.ambulatory_status:
        return "met"
    return "unknown"


def _survival_status(prognosis: Prognosis, rules: PlanRules) -> tuple[str, str | None]:
    """Patchell expected survival, read from the prognosis class (``plan_rules.yaml``).

    The class read is the one missing inputs cannot lower (``Prognosis.referral_class``): a gap
    in the record may shorten the course, never withhold a decompression opinion.
    """
    cls = "near_end_of_life" if prognosis.near_end_of_life else prognosis.referral_class
    by_class = rules.patchell.expected_survival.by_class
    return (by_class.get(cls, "unknown") if cls else "unknown"), cls  # type: ignore[call-overload]


def patchell_criteria(
    patient: Patient,
    prognosis: Prognosis,
    neuro_signs: bool | None,
    reirradiation: Reirradiation | None,
    evidence: Evidence,
    rules: PlanRules,
) -> tuple[Criterion, ...]:
    """Answer each Patchell 2005 eligibility criterion from the record (a screening aid)."""
    pr = rules.patchell
    out: list[Criterion] = []
    for ec in evidence.surgery.patchell.eligibility:
        if ec.id == "mri_cord_displacement":
            g = patient.escc_grade
            reading = pr.cord_displacement_by_escc_grade
            st = (
                "unknown"
                if g is None or (g not in reading.met and g not in reading.not_met)
                else ("met" if g in reading.met else "not_met")
            )
            out.append(_criterion(ec, st, g, reading.statement))
        elif ec.id in ("single_area", "multiple_discrete_lesions"):
            out.append(
                _criterion(
                    ec,
                    _bool_status(patient.compression_single_area),
                    patient.compression_single_area,
                )
            )
        elif ec.id == "neurological_sign_or_symptom":
            pain = patient.sins.pain if patient.sins else None
            has_pain = pain in pr.pain_counts_as_symptom.sins_pain if pain else None
            st = "met" if (neuro_signs or has_pain) else "unknown"
            out.append(
                _criterion(
                    ec,
                    st,
                    {"neurological_signs": neuro_signs, "sins_pain": pain},
                    pr.pain_counts_as_symptom.statement,
                )
            )
        elif ec.id == PARAPLEGIA:
            st = _paraplegia_status(patient, ec, rules)
            out.append(_criterion(ec, st, patient.paraplegia_hours, pr.not_paraplegic.statement))
        elif ec.id == pr.expected_survival.criterion:
            st, cls = _survival_status(prognosis, rules)
            out.append(_criterion(ec, st, cls, pr.expected_survival.statement))
        elif ec.id == "medically_operable":
            out.append(
                _criterion(ec, _bool_status(patient.medically_operable), patient.medically_operable)
            )
        elif ec.id == "radiosensitive_tumour":
            t = patient.primary_tumor
            st = "unknown" if t is None else ("not_met" if t in ec.values else "met")
            out.append(_criterion(ec, st, t))
        elif ec.id == "previous_rt_prevents_study_dose":
            prior = patient.prior_radiotherapy
            if prior is None:
                st, note = "unknown", "prior_radiotherapy not recorded (an empty list records none)"
            elif not prior:
                st, note = "met", "no earlier radiotherapy recorded"
            elif reirradiation is not None:
                chk = reirradiation.check_for(pr.study_regimen)
                st = {True: "met", False: "not_met"}.get(chk.within_limits, "unknown")  # type: ignore[arg-type]
                note = f"{pr.study_regimen_statement} {chk.text}"
            else:
                st, note = "unknown", None
            out.append(_criterion(ec, st, len(prior) if prior is not None else None, note))
        else:
            out.append(_criterion(ec, "not_recorded", None))
    return tuple(out)


def _patchell_status(criteria: tuple[Criterion, ...]) -> str:
    statuses = {c.status for c in criteria}
    if "not_met" in statuses:
        return "not_eligible"
    if "unknown" in statuses:
        return "undetermined"
    return "eligible_on_recorded_criteria"


def ambulatory_group(view: ResultView | None, evidence: Evidence) -> ScoreGroup | None:
    """The ``rades_ambulatory_2008`` group (``surgery.yaml``) of a computed score."""
    if view is None or not view.computed or view.points is None:
        return None
    groups = evidence.surgery.rades_ambulatory_2008_groups.groups
    return next((g for g in groups if g.range[0] <= view.points <= g.range[1]), None)


# The patient keys ``surgery_decision`` and the regimen ranking read themselves (everything else
# reaches the decision through instrument results). The decisive-unknown search relies on it;
# tests/plan/test_plan_decision_inputs.py checks that no other key moves the decision.
DECISION_INPUTS = frozenset(
    {
        "primary_tumor",
        "paraplegia_hours",
        "ambulatory_status",
        "medically_operable",
        "preferences",
        "prior_radiotherapy",
    }
)


@dataclass(frozen=True, slots=True)
class SurgeryDecision:
    """What the two surgical flags rest on; :func:`assess_surgery` builds its reasons from it.

    Decompression and stabilisation are separate questions: Patchell's expected-survival and
    operability criteria concern decompression; a SINS of 7 or more warrants a surgical
    (stability) opinion in its own right (Fisher 2010), whatever the expected survival. The
    decisive-unknown search asks only for this (no reasons, no citations), so the flags it
    compares are computed by the same code as the plan's.
    """

    escc_group: str | None
    sins_consult: bool | None
    radiosensitivity: str | None
    ambulatory: ScoreGroup | None
    paraplegic_over_48h: bool
    excluded: tuple[str, ...]
    acceptable: bool | None

    @property
    def escc_indication(self) -> bool:
        """High-grade compression of a tumour not classed radiosensitive, within Patchell."""
        return (
            self.escc_group == "high_grade"
            and self.radiosensitivity != "radiosensitive"
            and not self.paraplegic_over_48h
        )

    @property
    def amb_candidate(self) -> bool:
        return self.ambulatory is not None and self.ambulatory.surgical_candidate

    @property
    def decompression_indicated(self) -> bool:
        """An indication for a decompression opinion (compression or ambulatory score)."""
        return self.escc_indication or self.amb_candidate

    @property
    def decompression(self) -> bool:
        """Whether a decompression opinion is suggested."""
        return self.decompression_indicated and not self.excluded and self.acceptable is not False

    @property
    def stabilisation(self) -> bool:
        """Whether a surgical (stability) opinion is suggested: SINS 7 or more, always."""
        return bool(self.sins_consult)

    @property
    def criteria_met(self) -> bool:
        return self.decompression_indicated or bool(self.sins_consult)

    @property
    def consider(self) -> bool:
        """The contract's ``surgery.consider``: either surgical opinion is suggested."""
        return self.decompression or self.stabilisation

    @property
    def flags(self) -> tuple[bool, bool]:
        """(decompression, stabilisation): what the decisive-unknown search compares."""
        return self.decompression, self.stabilisation


def surgery_decision(
    patient: Patient,
    results: Mapping[str, ResultView],
    prognosis: Prognosis,
    kb: KnowledgeBase,
    evidence: Evidence,
    rules: PlanRules,
) -> SurgeryDecision:
    """Indications (compression, stability, ambulatory score) and exclusions, without reasons."""
    escc = bilsky_group(results.get(BILSKY), kb, evidence)
    tumour = patient.primary_tumor
    eligibility = {ec.id: ec for ec in evidence.surgery.patchell.eligibility}
    para = eligibility.get(PARAPLEGIA)
    excluded: list[str] = []
    if (
        rules.patchell.expected_survival.criterion in eligibility
        and _survival_status(prognosis, rules)[0] == "not_met"
    ):
        excluded.append(EXCLUDED_BY_SURVIVAL)
    if "medically_operable" in eligibility and patient.medically_operable is False:
        excluded.append(EXCLUDED_BY_OPERABILITY)
    return SurgeryDecision(
        escc_group=escc.id if escc is not None else None,
        sins_consult=sins_consultation(results.get(SINS), evidence),
        radiosensitivity=evidence.radiosensitivity_of(tumour).id if tumour is not None else None,
        ambulatory=ambulatory_group(results.get(AMBULATORY), evidence),
        paraplegic_over_48h=para is not None
        and _paraplegia_status(patient, para, rules) == "not_met",
        excluded=tuple(excluded),
        acceptable=patient.preferences.surgery_acceptable if patient.preferences else None,
    )


def neurological_signs(patient: Patient, rules: PlanRules) -> tuple[bool | None, str | None]:
    """Neurological signs of MESCC: the recorded key, or a recorded finding that implies them."""
    if patient.neurological_signs is not None:
        return patient.neurological_signs, "neurological_signs"
    row = patient.to_row()
    for key, values in rules.neurological_signs.implied_by.items():
        if row.get(key) is not None and row.get(key) in values:
            return True, key
    return None, None


# --------------------------------------------------------------------------- the element


def _status_of(flag: bool | None) -> str:
    return "unknown" if flag is None else ("met" if flag else "not_met")


def review_factor_criteria(
    patient: Patient,
    results: Mapping[str, ResultView],
    evidence: Evidence,
    citer_finding: Mapping[str, Any],
) -> tuple[list[Criterion], list[Reason], list[str]]:
    """The review's factors without verified cut-offs: age, performance status, tempo of motor
    deficits, predicted ambulatory status; each answered from the record or named unknown."""
    criteria: list[Criterion] = []
    reasons: list[Reason] = []
    missing: list[str] = []
    for f in evidence.surgery.review_factors:
        statement = " ".join(f.statement.split())
        value: Any = None
        status = "unknown"
        code = f"review_factor_{f.id}"
        if f.instrument is not None:
            view = results.get(f.instrument)
            if view is not None and view.computed:
                status, value = "recorded", view.group
            else:
                status = "not_available"
        elif f.patient_key is not None:
            value = patient.to_row().get(f.patient_key)
            if f.id == "performance_status" and value is None and patient.kps is not None:
                value = f"KPS {patient.kps}"
            elif f.id == "performance_status" and value is not None:
                value = f"ECOG {value}"
            if value is None:
                missing.append(f.patient_key)
            else:
                status = "recorded"
                if f.favours_rt_alone_over_days is not None and isinstance(value, int | float):
                    slow = value > f.favours_rt_alone_over_days
                    status = "favours_rt_alone" if slow else "recorded"
                    finding = citer_finding.get(f.finding or "")
                    if finding:
                        statement += f" ({finding})"
        criteria.append(
            Criterion(f.id, "review_factor", f.label, status, f.patient_key or f.instrument,
                      value, statement, f.verification)
        )  # fmt: skip
        if status in ("recorded", "favours_rt_alone"):
            shown = value if not isinstance(value, float) else f"{value:g}"
            reasons.append(
                Reason(
                    code,
                    f"{f.label}: {shown}. {statement}",
                    (f.source,),
                    {f.patient_key or f.instrument or f.id: value},
                    f.verification,
                )
            )
    return criteria, reasons, missing


def assess_surgery(
    patient: Patient,
    results: Mapping[str, ResultView],
    prognosis: Prognosis,
    kb: KnowledgeBase,
    evidence: Evidence,
    rules: PlanRules,
    citer: Citer,
    reirradiation: Reirradiation | None = None,
) -> Surgery:
    """Two separate surgical questions, each with its criteria met / not met / unknown.

    * **Decompression** (upfront decompressive surgery, then RT): high-grade compression
      (Bilsky 2-3) of a tumour not classed radiosensitive (NOMS), or a site-supplied Rades
      ambulatory group naming surgical candidates; excluded by an expected survival below
      Patchell's 3 months, by recorded medical inoperability, by complete paraplegia for more
      than 48 h, or when the patient does not accept surgery.
    * **Stabilisation** (a surgical opinion on spinal stability): SINS 7-18, in its own right
      and whatever the expected survival (Fisher 2010: SINS 7-18 warrant surgical
      consultation).

    References
    ----------
    Patchell RA, et al. Lancet 2005;366(9486):643-648. DOI 10.1016/S0140-6736(05)66954-1.
    Fisher CG, et al. Spine 2010;35(22):E1221-E1229. DOI 10.1097/BRS.0b013e3181e16ae2.
    Bilsky MH, et al. J Neurosurg Spine 2010;13(3):324-328. DOI 10.3171/2010.3.SPINE09459.
    Laufer I, et al. Oncologist 2013 (NOMS). PMID 23709750.
    """
    surgery_data = evidence.surgery
    decision = surgery_decision(patient, results, prognosis, kb, evidence, rules)
    review = surgery_data.review_statement
    row = patient.to_row()

    # ----------------------------------------------------------------- shared findings
    escc_group, escc_reason = compression_rule(results.get(BILSKY), kb, evidence)
    _, sins_reason = stability_rule(results.get(SINS), evidence)
    radio, radio_reasons, radio_info = radiosensitivity_rule(patient, escc_group, evidence)
    neuro, neuro_key = neurological_signs(patient, rules)
    criteria = patchell_criteria(patient, prognosis, neuro, reirradiation, evidence, rules)
    by_id = {c.id: c for c in criteria}
    patchell_status = _patchell_status(criteria)
    high = next((g for g in surgery_data.bilsky_groups if g.id == "high_grade"), None)
    escc_label = (
        f"{_lower_first(high.label)} (Bilsky {', '.join(high.grades)})"
        if high
        else "high-grade compression"
    )
    consult_from = min(
        (b.range[0] for b in surgery_data.sins_bands if b.surgical_consultation), default=None
    )

    # ----------------------------------------------------------------- decompression
    d_reasons: list[Reason] = []
    d_missing: list[str] = []
    if escc_reason:
        d_reasons.append(escc_reason)
    else:
        d_missing.append("escc_grade")
    d_reasons.extend(radio_reasons)
    if radio is None:
        d_missing.append("primary_tumor")
    notes = surgery_data.histology_notes
    if radio == "radiosensitive":
        d_reasons.append(
            Reason(
                "haematological_radiosensitive",
                " ".join(notes.haematological.statement.split()),
                notes.haematological.evidence,
                {"primary_tumor": patient.primary_tumor},
                notes.haematological.verification,
            )
        )
    elif radio == "not_classified" and escc_group == "high_grade":
        d_reasons.append(
            Reason(
                "radiosensitivity_not_classified",
                " ".join(notes.not_classified.statement.split()),
                notes.not_classified.evidence,
                {"primary_tumor": patient.primary_tumor},
                notes.not_classified.verification,
            )
        )
    amb_view = results.get(AMBULATORY)
    amb_group = decision.ambulatory
    if amb_group is not None and amb_view is not None:
        d_reasons.append(
            Reason(
                "ambulatory_score_surgical_candidate"
                if amb_group.surgical_candidate
                else "ambulatory_score",
                f"Rades post-RT ambulatory score {amb_view.points} (group {amb_group.label}, "
                f"{amb_view.verification} points): {amb_group.recommendation}",
                (surgery_data.rades_ambulatory_2008_groups.source,),
                {f"{AMBULATORY}.points": amb_view.points},
                amb_view.verification,
            )
        )
    para = by_id.get(PARAPLEGIA)
    if decision.paraplegic_over_48h and para is not None:
        d_reasons.append(
            Reason(
                "paraplegic_over_48h",
                f"Complete paraplegia for {patient.paraplegia_hours:g} hours: outside the Patchell "
                f"2005 criteria ({para.label.lower()}), whose benefit cannot be extrapolated to "
                "this patient; compression alone is not counted as an indication for "
                "decompression.",
                (surgery_data.patchell.source,),
                {"paraplegia_hours": patient.paraplegia_hours},
                para.verification,
            )
        )
    survival = by_id.get(rules.patchell.expected_survival.criterion)
    operable = by_id.get("medically_operable")
    excluded = decision.excluded
    if EXCLUDED_BY_SURVIVAL in excluded and survival is not None:
        d_reasons.append(
            Reason(
                "expected_survival_below_patchell",
                f"Survival prognosis ({str(survival.value).replace('_', ' ')}) does not meet the "
                f'Patchell 2005 criterion "{survival.label.lower()}", which concerns '
                f"decompression. {rules.patchell.expected_survival.statement}",
                (*rules.patchell.expected_survival.evidence,),
                {"prognosis": survival.value},
                PROJECT_DECISION,
            )
        )
    if EXCLUDED_BY_OPERABILITY in excluded and operable is not None:
        d_reasons.append(
            Reason(
                "not_medically_operable",
                "Recorded as not medically operable.",
                (surgery_data.patchell.source, "noms_review_2010"),
                {"medically_operable": False},
                operable.verification,
            )
        )
    tempo = next(
        (f for f in evidence.timing.motor_deficit_findings
         if f.id == "rades_2002_motor_deficit_time"),
        None,
    )  # fmt: skip
    findings = {tempo.id: " ".join(tempo.statement.split())} if tempo is not None else {}
    factor_criteria, factor_reasons, factor_missing = review_factor_criteria(
        patient, results, evidence, findings
    )
    d_reasons.extend(factor_reasons)
    d_missing.extend(factor_missing)
    if amb_view is None or not amb_view.computed:
        d_missing.append("predicted post-RT ambulatory status (Rades score not available)")
    results_by_endpoint = {f.endpoint: f for f in surgery_data.patchell.results}
    amb = patient.ambulatory_status
    if decision.decompression_indicated and not excluded:
        fig = results_by_endpoint.get(
            "regained_walking"
            if amb in ("not_ambulatory", "paraplegic")
            else "able_to_walk_after_treatment"
        )
        if fig is not None:
            d_reasons.append(
                Reason(
                    "patchell_result",
                    f"Patchell 2005 (selected patients; surgery then RT vs RT alone): "
                    f"{_figure_text(fig)}. {surgery_data.patchell.use}",
                    (surgery_data.patchell.source,),
                    {"ambulatory_status": amb},
                    fig.verification,
                )
            )
    if amb is None:
        d_missing.append("ambulatory_status")
    for key in ("medically_operable", "compression_single_area"):
        if getattr(patient, key) is None:
            d_missing.append(key)
    if neuro is None:
        d_missing.append("neurological_signs")
    elif neuro_key and neuro_key != "neurological_signs":
        d_reasons.append(
            Reason(
                "neurological_signs_implied",
                f"Neurological signs of MESCC are taken as present from {neuro_key}. "
                f"{rules.neurological_signs.statement}",
                (surgery_data.patchell.source,),
                {neuro_key: row.get(neuro_key)},
                PROJECT_DECISION,
            )
        )
    if amb == "paraplegic" and patient.paraplegia_hours is None:
        d_missing.append("paraplegia_hours")
    if prognosis.prognosis_class is None and not prognosis.near_end_of_life:
        d_missing.append("survival prognosis (see prognosis)")

    acceptable = decision.acceptable
    indication_text = _indications(decision.escc_indication, False, decision.amb_candidate,
                                   escc_label)  # fmt: skip
    if decision.decompression_indicated and acceptable is False and not excluded:
        d_head = Reason(
            "decompression_not_acceptable_to_patient",
            f"Criteria for a decompression opinion are met ({indication_text}), but the patient "
            "does not accept surgery, so it is kept off the plan; radiotherapy options are "
            "listed. " + review.statement,
            (review.source,),
            {"preferences.surgery_acceptable": False},
            review.verification,
        )
    elif decision.decompression:
        d_head = Reason(
            "consider_decompression",
            f"Consider a surgical opinion on upfront decompression before radiotherapy: "
            f"{indication_text}.",
            (review.source, "astro_2024"),
            {},
            review.verification,
        )
        astro = next(
            (g for g in surgery_data.guideline if g.id == "astro_2024_surgery_plus_rt"), None
        )
        if astro is not None:
            d_reasons.append(
                Reason(
                    "astro_surgery_plus_rt",
                    f"{astro.recommendation}: {astro.text.rstrip('.')} ({astro.strength} "
                    f"recommendation, {astro.evidence_quality}-quality evidence).",
                    (astro.source,),
                    {},
                    astro.verification,
                )
            )
    elif decision.decompression_indicated and excluded:
        d_head = Reason(
            "decompression_criteria_met_but_excluded",
            f"An indication for decompression is present ({indication_text}) but a "
            "decompression opinion is not suggested because of "
            + " and ".join(excluded)
            + "; it remains the clinician's call.",
            (review.source,),
            {},
            PROJECT_DECISION,
        )
    else:
        d_head = Reason(
            "no_decompression_indication",
            _no_indication_text(escc_group, radio, escc_label),
            (review.source,),
            {},
            PROJECT_DECISION,
        )
    d_criteria = (
        Criterion("high_grade_compression", "indication", "High-grade compression (Bilsky 2-3)",
                  "unknown" if escc_group is None else
                  ("met" if escc_group == "high_grade" else "not_met"),
                  "escc_grade", patient.escc_grade,
                  "grade 1c is a grey zone (surgery vs stereotactic radiosurgery)"
                  if escc_group == "intermediate" else None,
                  high.verification if high else "secondary"),
        Criterion("not_radiosensitive", "indication",
                  "Tumour not highly radiosensitive (NOMS verified classes)",
                  {"radiosensitive": "not_met", "radioresistant": "met"}.get(radio or "",
                                                                            "unknown"),
                  "primary_tumor", patient.primary_tumor,
                  radio_info["label"] if radio_info else None,
                  radio_info["verification"] if radio_info else "secondary"),
        *criteria,
        *factor_criteria,
    )  # fmt: skip
    decompression = SurgicalQuestion(
        question="decompression",
        consider=decision.decompression,
        criteria_met=decision.decompression_indicated,
        criteria=d_criteria,
        reasons=citer.all([d_head, *d_reasons]),
        missing=tuple(dict.fromkeys(d_missing)),
    )

    # ----------------------------------------------------------------- stabilisation
    s_reasons: list[Reason] = []
    s_missing: list[str] = []
    consult = decision.sins_consult
    if sins_reason:
        s_reasons.append(sins_reason)
    elif consult is not None:
        view = results.get(SINS)
        groups = ", ".join(view.possible_groups) if view else ""
        s_reasons.append(
            Reason(
                "sins_partly_known",
                f"SINS is not complete, but every group it can still reach ({groups}) "
                + ("warrants" if consult else "does not warrant")
                + " a surgical consultation.",
                ("fisher_sins_2010",),
                {},
                "secondary",
            )
        )
    if sins_reason is None:
        s_missing.extend(k for k in SINS_KEYS if row.get(k) is None)
    mech = [r for r in surgery_data.noms.rules if r.step == "mechanical"]
    if consult:
        s_head = Reason(
            "consider_stability_opinion",
            f"Consider a surgical opinion on spinal stability before radiotherapy: SINS of "
            f"{consult_from} or more warrants surgical consultation in its own right, whatever "
            "the expected survival. "
            + " ".join(f"NOMS: {r.condition.lower() if r.condition else ''} -> "
                       f"{_lower_first(r.recommendation)}" for r in mech),
            ("fisher_sins_2010", *(r.source for r in mech)),
            {"sins_2010.points": results[SINS].points if SINS in results else None},
            "secondary",
        )  # fmt: skip
        if patient.medically_operable is False:
            s_reasons.append(
                Reason(
                    "stability_opinion_not_operable",
                    "Recorded as not medically operable: a stability opinion may still advise "
                    "on options other than open surgery, such as percutaneous cement "
                    "augmentation (NOMS, for mechanical pain without gross instability).",
                    ("noms_review_2010",),
                    {"medically_operable": False},
                    "primary",
                )
            )
        if acceptable is False:
            s_reasons.append(
                Reason(
                    "stability_opinion_patient_declines_surgery",
                    "The patient does not accept surgery; a stability opinion can still inform "
                    "care without open surgery (discuss with the patient).",
                    (review.source,),
                    {"preferences.surgery_acceptable": False},
                    review.verification,
                )
            )
        if prognosis.near_end_of_life:
            s_reasons.append(
                Reason(
                    "stability_opinion_near_end_of_life",
                    "Death within 2 months is predicted: the stability opinion is suggested "
                    "where it may change comfort, nursing or mobilisation.",
                    (prognosis.two_month.instrument,),
                    {},
                    PROJECT_DECISION,
                )
            )
    elif consult is False:
        s_head = Reason(
            "spine_stable_by_sins",
            f"No SINS of {consult_from} or more: no surgical opinion on stability is suggested "
            "on the SINS.",
            ("fisher_sins_2010",),
            {},
            "secondary",
        )
    else:
        stab = next(
            (g for g in surgery_data.guideline if g.id == "astro_2024_assess_stability"), None
        )
        s_head = Reason(
            "stability_unknown",
            "Spinal stability is not known (SINS incomplete): "
            + (f"{stab.recommendation}: {stab.text}" if stab else "assess it before RT."),
            (stab.source,) if stab else ("fisher_sins_2010",),
            {},
            stab.verification if stab else "secondary",
        )
    s_criteria = (
        Criterion("sins_consultation", "indication",
                  f"SINS {consult_from}-18 (surgical consultation)", _status_of(consult),
                  "sins", results[SINS].points if SINS in results else None, None, "secondary"),
    )  # fmt: skip
    stabilisation = SurgicalQuestion(
        question="stabilisation",
        consider=decision.stabilisation,
        criteria_met=bool(consult),
        criteria=s_criteria,
        reasons=citer.all([s_head, *s_reasons]),
        missing=tuple(dict.fromkeys(s_missing)),
    )

    results_out = tuple(
        {
            "endpoint": f.endpoint,
            "definition": f.definition,
            "arms": [a.model_dump(exclude_none=True) for a in f.arms],
            "p_value": f.p_value,
            "verification": f.verification,
        }
        for f in surgery_data.patchell.results
    )
    headline = [d_head, s_head]
    rest = [r for r in (*d_reasons, *s_reasons) if r not in headline]
    return Surgery(
        consider=decision.consider,
        surgery_acceptable=acceptable,
        criteria_met=decision.criteria_met,
        reasons=citer.all([*headline, *rest]),
        missing=tuple(dict.fromkeys([*d_missing, *s_missing])),
        patchell_status=patchell_status,
        patchell_criteria=criteria,
        patchell_use=surgery_data.patchell.use,
        patchell_results=results_out,
        radiosensitivity=radio_info,
        decompression=decompression,
        stabilisation=stabilisation,
    )


def _lower_first(text: str) -> str:
    """Lower-case the first letter unless the first word is an acronym (ESCC, NOMS)."""
    word = text.split(" ", 1)[0]
    return text if word.isupper() or not text else text[0].lower() + text[1:]


def _no_indication_text(escc_group: str | None, radio: str | None, escc_label: str) -> str:
    if escc_group == "high_grade":
        return (
            f"{escc_label[0].upper()}{escc_label[1:]} is present but is not counted as an "
            "indication for decompression for this patient (see the reasons below)."
        )
    if escc_group is not None:
        return (
            f"No indication for decompression is recorded (no {escc_label} of a tumour not "
            "classed radiosensitive)."
        )
    return (
        "No indication for decompression is recorded so far: the compression grade (Bilsky) "
        "is missing and could change this."
    )


def _indications(escc: bool, sins: bool | None, amb: bool, escc_label: str) -> str:
    parts = []
    if escc:
        parts.append(f"{escc_label} of a tumour not classed radiosensitive")
    if sins:
        parts.append("a SINS band that warrants surgical consultation")
    if amb:
        parts.append("a post-RT ambulatory score group named as surgical candidates")
    return "; ".join(parts)
