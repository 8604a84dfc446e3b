"""Survival prognosis: classify poor / intermediate / favourable from the computed instruments.

The class of a computed instrument is the ``prognosis`` field of its published group in the
instrument file (data, with its ``prognosis_basis``); which instrument leads is the order of
``plan_rules.yaml`` (tumour-specific and elderly Rades scores first, then the general Rades
score, then the shipped instruments with confirmed points), each tier with its rationale. The
others are shown beside the leading one, and a disagreement is said in plain words.

Rules (evidence ids: ``rades_schild_2023``, ``rades_two_month_mortality_2013``,
``rades_end_of_life_2022`` and each instrument's own citation):

* only results labelled ``primary``, ``secondary`` or ``site-supplied`` decide; an
  ``unverified`` result decides only with ``allow_unverified`` and the plan then warns;
* the two-month mortality score predicts death within 2 months only at the cut-off marked
  ``decision: true`` in its file (>= 24); other cut-offs (>= 19) are information (Q1);
* the end-of-life score is offered only when death within 2 months is predicted, and the
  extrapolation is stated (Q13).

Clinical traps guarded: a missing input never classifies a patient (a not computable
instrument is skipped and its missing inputs are named); a group without a ``prognosis`` field
(e.g. the two-month score below its cut-off) says nothing about the class; the mapping of
groups to classes is a project decision and is labelled as such (rades-instruments Q15).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mescc.engine.result import InstrumentResult
from mescc.kb.loader import KnowledgeBase
from mescc.kb.schema import Group, Instrument, Threshold
from mescc.plan.reasons import PROJECT_DECISION, Reason
from mescc.plan.rules import PlanRules

CLASSES = ("poor", "intermediate", "favourable")
NEAR_END_OF_LIFE = "near_end_of_life"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ResultView:
    """The fields of an instrument result the plan reads: status, points, group, verification.

    Keeping the plan to these fields (plus patient keys and the knowledge-base definitions) is
    what lets the batch path rebuild a plan from ``<id>__status/points/group`` columns.
    """

    id: str
    status: str
    points: int | None
    group: str | None
    verification: str

    @classmethod
    def of(cls, result: InstrumentResult) -> ResultView:
        """The view of a full result."""
        return cls(result.id, result.status, result.points, result.group, result.verification)

    @property
    def computed(self) -> bool:
        """Whether the instrument was computed (every input known and scored)."""
        return self.status == "computed" and self.group is not None


def group_of(inst: Instrument, label: str | None) -> Group | None:
    """The published group with this label, if any."""
    if label is None:
        return None
    for g in inst.groups:
        if g.label == label:
            return g
    return None


def threshold_met(threshold: Threshold, points: int | None) -> bool | None:
    """Whether a total reaches a published cut-off (None when the total is unknown)."""
    if points is None:
        return None
    if threshold.ge is not None and points < threshold.ge:
        return False
    return not (threshold.le is not None and points > threshold.le)


@dataclass(frozen=True)
class InstrumentClass:
    """One survival instrument as the plan read it."""

    instrument: str
    name: str
    tier: str
    status: str
    points: int | None
    group: str | None
    prognosis_class: str | None
    verification: str
    decides: bool
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "name": self.name,
            "tier": self.tier,
            "status": self.status,
            "points": self.points,
            "group": self.group,
            "class": self.prognosis_class,
            "verification": self.verification,
            "decides": self.decides,
            "note": self.note,
        }


@dataclass(frozen=True)
class TwoMonthMortality:
    """The two-month mortality score as read by the plan (Q1: one decision threshold)."""

    instrument: str
    status: str
    points: int | None
    group: str | None
    verification: str
    decision_threshold: str
    death_within_2_months_very_likely: bool | None
    information: tuple[dict[str, Any], ...]
    missing: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "status": self.status,
            "points": self.points,
            "group": self.group,
            "verification": self.verification,
            "decision_threshold": self.decision_threshold,
            "death_within_2_months_very_likely": self.death_within_2_months_very_likely,
            "information": [dict(i) for i in self.information],
            "missing": list(self.missing),
        }


@dataclass(frozen=True)
class EndOfLife:
    """The end-of-life score, offered only when death within 2 months is predicted (Q13)."""

    instrument: str
    applied: bool
    status: str
    points: int | None
    group: str | None
    text: str | None
    recommendation: str | None
    outcomes: tuple[dict[str, Any], ...]
    extrapolation: str
    missing: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "applied": self.applied,
            "status": self.status,
            "points": self.points,
            "group": self.group,
            "text": self.text,
            "recommendation": self.recommendation,
            "outcomes": [dict(o) for o in self.outcomes],
            "extrapolation": self.extrapolation,
            "missing": list(self.missing),
        }


@dataclass(frozen=True)
class Prognosis:
    """The survival prognosis of the plan, with the instruments beside it and its reasons."""

    prognosis_class: str | None
    source_instrument: str | None
    source_group: str | None
    source_verification: str | None
    source_name: str | None
    ranking_class: str
    others: tuple[InstrumentClass, ...]
    disagreement: str | None
    two_month: TwoMonthMortality
    end_of_life: EndOfLife
    missing_to_classify: tuple[tuple[str, tuple[str, ...]], ...]
    reasons: tuple[Reason, ...]
    warnings: tuple[str, ...]

    @property
    def near_end_of_life(self) -> bool:
        """Whether death within 2 months is predicted (two-month score at its decision cut-off)."""
        return self.ranking_class == NEAR_END_OF_LIFE

    def as_dict(self) -> dict[str, Any]:
        return {
            "class": self.prognosis_class,
            "source_instrument": self.source_instrument,
            "source_name": self.source_name,
            "source_group": self.source_group,
            "source_verification": self.source_verification,
            "ranking_class": self.ranking_class,
            "others": [o.as_dict() for o in self.others],
            "disagreement": self.disagreement,
            "two_month_mortality": self.two_month.as_dict(),
            "near_end_of_life": {
                "predicted": self.near_end_of_life,
                "end_of_life_score": self.end_of_life.as_dict(),
            },
            "missing_to_classify": [
                {"instrument": i, "missing": list(m)} for i, m in self.missing_to_classify
            ],
            "reasons": [r.as_dict() for r in self.reasons],
        }


def _may_decide(verification: str, rules: PlanRules, allow_unverified: bool) -> bool:
    return verification in rules.prognosis.deciding_levels or (
        allow_unverified and verification == "unverified"
    )


def _describe(inst: Instrument, view: ResultView) -> str:
    pts = f"{view.points} points, " if view.points is not None else ""
    return f"{inst.name} ({pts}group {view.group})"


def read_instruments(
    results: Mapping[str, ResultView],
    kb: KnowledgeBase,
    rules: PlanRules,
    allow_unverified: bool,
) -> tuple[InstrumentClass, ...]:
    """Every computed survival instrument in order, with its class and whether it decides."""
    out: list[InstrumentClass] = []
    for iid in rules.prognosis.order:
        view = results.get(iid)
        inst = kb.instruments.get(iid)
        if view is None or inst is None or not view.computed:
            continue
        group = group_of(inst, view.group)
        cls = group.prognosis if group is not None else None
        decides = cls is not None and _may_decide(view.verification, rules, allow_unverified)
        note = None
        if cls is not None and not decides:
            note = (
                f"{view.verification} result: shown, not used to classify "
                "(use --allow-unverified to let it decide)"
            )
        elif cls is None:
            note = "this group has no prognosis class"
        out.append(
            InstrumentClass(
                instrument=iid,
                name=inst.name,
                tier=rules.prognosis.tier_of(iid).id,
                status=view.status,
                points=view.points,
                group=view.group,
                prognosis_class=cls,
                verification=view.verification,
                decides=decides,
                note=note,
            )
        )
    return tuple(out)


def read_two_month(
    results: Mapping[str, ResultView],
    missing: Mapping[str, tuple[str, ...]],
    kb: KnowledgeBase,
    rules: PlanRules,
    allow_unverified: bool,
) -> tuple[TwoMonthMortality, list[Reason]]:
    """The two-month score against its one decision threshold, plus information cut-offs (Q1)."""
    iid = rules.prognosis.two_month_mortality.instrument
    inst = kb.instruments[iid]
    view = results.get(iid) or ResultView(iid, "not_computable", None, None, inst.verification)
    decision = next(t for t in inst.thresholds if t.decision)
    reasons: list[Reason] = []
    very_likely: bool | None = None
    info: list[dict[str, Any]] = []
    if view.computed:
        met = threshold_met(decision, view.points)
        very_likely = bool(met) and _may_decide(view.verification, rules, allow_unverified)
        group = group_of(inst, view.group)
        if very_likely:
            rec = f" {group.recommendation}." if group and group.recommendation else ""
            reasons.append(
                Reason(
                    "two_month_mortality_decision_cut_off",
                    f"The two-month mortality score is {view.points} points, at or above the "
                    f"{decision.label} cut-off: {decision.text}.{rec}",
                    (iid,),
                    {f"{iid}.points": view.points},
                    decision.verification,
                )
            )
        for t in inst.thresholds:
            if t.decision:
                continue
            t_met = threshold_met(t, view.points)
            info.append(
                {
                    "label": t.label,
                    "met": t_met,
                    "text": t.text,
                    "verification": t.verification,
                    "decision": False,
                }
            )
            if t_met and not very_likely:
                reasons.append(
                    Reason(
                        "two_month_mortality_information",
                        f"The two-month mortality score is {view.points} points, at or above "
                        f"the {t.label} cut-off: {t.text}. Shown as information only; it does "
                        "not change the plan (only the decision cut-off does).",
                        (iid,),
                        {f"{iid}.points": view.points},
                        t.verification,
                    )
                )
    return (
        TwoMonthMortality(
            instrument=iid,
            status=view.status,
            points=view.points,
            group=view.group,
            verification=view.verification,
            decision_threshold=decision.label,
            death_within_2_months_very_likely=very_likely,
            information=tuple(info),
            missing=missing.get(iid, ()),
        ),
        reasons,
    )


def read_end_of_life(
    results: Mapping[str, ResultView],
    missing: Mapping[str, tuple[str, ...]],
    kb: KnowledgeBase,
    rules: PlanRules,
    near_end_of_life: bool,
) -> tuple[EndOfLife, list[Reason]]:
    """The end-of-life score, applied only when death within 2 months is predicted (Q13)."""
    rule = rules.prognosis.end_of_life
    iid = rule.instrument
    inst = kb.instruments[iid]
    view = results.get(iid) or ResultView(iid, "not_computable", None, None, inst.verification)
    group = group_of(inst, view.group) if view.computed else None
    extrapolation = rule.extrapolation or ""
    reasons: list[Reason] = []
    applied = near_end_of_life and view.computed
    outcomes = tuple(
        {
            "outcome": o.outcome,
            "value": o.value,
            "unit": o.unit,
            "cohort": o.cohort,
            "verification": o.verification,
        }
        for o in (group.outcomes if group is not None else ())
    )
    if applied and group is not None:
        rec = f" {group.recommendation}." if group.recommendation else ""
        reasons.append(
            Reason(
                "end_of_life_score",
                f"The end-of-life score is {view.points} points (group {view.group}): "
                f"{group.text}.{rec} {extrapolation}",
                (iid, *rule.evidence),
                {f"{iid}.points": view.points},
                view.verification,
            )
        )
    elif near_end_of_life:
        gap = ", ".join(missing.get(iid, ())) or "its inputs"
        reasons.append(
            Reason(
                "end_of_life_score_not_computable",
                "Death within 2 months is predicted, but the end-of-life score (which patients "
                f"may still benefit from radiotherapy) is not computable: enter {gap}.",
                (iid,),
                {},
                view.verification,
            )
        )
    elif view.computed:
        reasons.append(
            Reason(
                "end_of_life_score_not_applied",
                "The end-of-life score is not applied: it presupposes a predicted death within "
                "2 months, which the two-month mortality score does not predict.",
                (iid,),
                {},
                view.verification,
            )
        )
    return (
        EndOfLife(
            instrument=iid,
            applied=applied,
            status=view.status,
            points=view.points,
            group=view.group,
            text=group.text if group is not None else None,
            recommendation=group.recommendation if group is not None else None,
            outcomes=outcomes,
            extrapolation=extrapolation,
            missing=missing.get(iid, ()),
        ),
        reasons,
    )


def _missing_to_classify(
    results: Mapping[str, ResultView],
    missing: Mapping[str, tuple[str, ...]],
    kb: KnowledgeBase,
    rules: PlanRules,
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not missing:
        return ()
    out: list[tuple[str, tuple[str, ...]]] = []
    for iid in rules.prognosis.order:
        view = results.get(iid)
        inst = kb.instruments.get(iid)
        if view is None or inst is None or view.status != "not_computable" or inst.is_skeleton:
            continue
        keys = missing.get(iid, ())
        if keys:
            out.append((iid, keys))
    return tuple(out)


def classify_prognosis(
    results: Mapping[str, ResultView],
    kb: KnowledgeBase,
    rules: PlanRules,
    *,
    allow_unverified: bool = False,
    missing: Mapping[str, tuple[str, ...]] | None = None,
) -> Prognosis:
    """Classify survival prognosis from the computed instruments.

    The first instrument of the plan's order (``plan_rules.yaml``: tumour-specific/elderly
    Rades, general Rades, then revised Tokuhashi, TEACHH, Chow, van der Linden) that is
    computed, whose group has a ``prognosis`` class and whose verification may decide, leads.
    A two-month mortality score at its decision cut-off makes the ranking class
    ``near_end_of_life`` (and the class ``poor`` when nothing else classifies).

    Parameters
    ----------
    results : instrument id -> :class:`ResultView`
    kb : the knowledge base (group -> prognosis class, thresholds)
    rules : the plan rules (instrument order, deciding verification levels)
    allow_unverified : let ``unverified`` results decide (the plan then warns)
    missing : instrument id -> missing inputs, to say which inputs would allow a class

    Returns
    -------
    Prognosis, whose ``ranking_class`` is poor | intermediate | favourable |
    near_end_of_life | unknown.

    References
    ----------
    Rades D, Schild SE. Semin Radiat Oncol 2023;33(2):148-158. DOI 10.1016/j.semradonc.2022.11.005
    """
    missing = missing or {}
    read = read_instruments(results, kb, rules, allow_unverified)
    deciding = [c for c in read if c.decides]
    lead = deciding[0] if deciding else None
    reasons: list[Reason] = []
    warnings: list[str] = []
    two_month, tm_reasons = read_two_month(results, missing, kb, rules, allow_unverified)
    near_eol = bool(two_month.death_within_2_months_very_likely)

    prognosis_class = lead.prognosis_class if lead else None
    source = lead.instrument if lead else None
    source_group = lead.group if lead else None
    source_verification = lead.verification if lead else None
    if lead is not None:
        inst = kb.instruments[lead.instrument]
        tier = rules.prognosis.tier_of(lead.instrument)
        why = rules.prognosis.instrument_notes.get(lead.instrument) or tier.rationale
        view = results[lead.instrument]
        reasons.append(
            Reason(
                "prognosis_class",
                f"Survival prognosis is classed {lead.prognosis_class} from "
                f"{_describe(inst, view)}, the best-fitting instrument that could be computed. "
                f"{why}",
                (lead.instrument, *rules.prognosis.evidence),
                {f"{lead.instrument}.group": lead.group},
                lead.verification,
            )
        )
        group = group_of(inst, lead.group)
        if group is not None and group.prognosis_basis:
            reasons.append(
                Reason(
                    "prognosis_mapping",
                    f"Group {lead.group} of {inst.name} maps to {lead.prognosis_class}: "
                    f"{group.prognosis_basis}",
                    (lead.instrument,),
                    {},
                    PROJECT_DECISION,
                )
            )
        if lead.verification == "unverified":
            warnings.append(
                f"Survival prognosis comes from {inst.name}, an UNVERIFIED result, because "
                "unverified instruments were allowed (--allow-unverified)."
            )
            reasons.append(
                Reason(
                    "unverified_instrument_decides",
                    f"{inst.name} is unverified and decides only because the user allowed "
                    "unverified instruments; the ranking inherits that uncertainty.",
                    (lead.instrument,),
                    {},
                    "unverified",
                )
            )
    elif near_eol:
        inst = kb.instruments[two_month.instrument]
        group = group_of(inst, two_month.group)
        prognosis_class = group.prognosis if group is not None else None
        source, source_group = two_month.instrument, two_month.group
        source_verification = two_month.verification

    disagreement = _disagreement(lead, read, prognosis_class, near_eol, kb, two_month)
    if disagreement:
        reasons.append(
            Reason(
                "prognosis_instruments_disagree",
                disagreement,
                tuple(c.instrument for c in read if c.prognosis_class is not None),
                {c.instrument: c.prognosis_class for c in read if c.prognosis_class},
                PROJECT_DECISION,
            )
        )
    elif lead is not None and len([c for c in read if c.prognosis_class]) > 1:
        names = ", ".join(kb.instruments[c.instrument].name for c in read if c.prognosis_class)
        reasons.append(
            Reason(
                "prognosis_instruments_agree",
                f"The survival instruments computed agree ({names}: {prognosis_class}).",
                tuple(c.instrument for c in read if c.prognosis_class),
                {},
                PROJECT_DECISION,
            )
        )
    reasons.extend(tm_reasons)
    eol, eol_reasons = read_end_of_life(results, missing, kb, rules, near_eol)
    reasons.extend(eol_reasons)

    gaps = _missing_to_classify(results, missing, kb, rules)
    if prognosis_class is None:
        if gaps:
            wanted = "; ".join(
                f"{kb.instruments[i].name}: enter {', '.join(keys)}" for i, keys in gaps
            )
            text = f"No survival instrument could classify the patient. {wanted}."
        else:
            text = "No survival instrument could classify the patient."
        unverified = [c for c in read if c.prognosis_class and not c.decides]
        if unverified:
            text += " Only unverified results were available; they do not decide by default."
        reasons.append(
            Reason(
                "prognosis_not_classified",
                text + " The options below are shown without a ranking claim.",
                tuple(rules.prognosis.evidence),
                {},
                PROJECT_DECISION,
            )
        )
    ranking_class = NEAR_END_OF_LIFE if near_eol else (prognosis_class or UNKNOWN)
    others = tuple(c for c in read if lead is None or c.instrument != lead.instrument)
    return Prognosis(
        prognosis_class=prognosis_class,
        source_instrument=source,
        source_group=source_group,
        source_verification=source_verification,
        source_name=kb.instruments[source].name if source else None,
        ranking_class=ranking_class,
        others=others,
        disagreement=disagreement,
        two_month=two_month,
        end_of_life=eol,
        missing_to_classify=gaps,
        reasons=tuple(reasons),
        warnings=tuple(warnings),
    )


def _disagreement(
    lead: InstrumentClass | None,
    read: tuple[InstrumentClass, ...],
    prognosis_class: str | None,
    near_eol: bool,
    kb: KnowledgeBase,
    two_month: TwoMonthMortality,
) -> str | None:
    parts: list[str] = []
    if lead is not None:
        lead_name = kb.instruments[lead.instrument].name
        for c in read:
            if c is lead or c.prognosis_class is None or c.prognosis_class == lead.prognosis_class:
                continue
            label = "" if c.decides else f", {c.verification} result"
            parts.append(
                f"{kb.instruments[c.instrument].name} (group {c.group}{label}) classes "
                f"{c.prognosis_class}"
            )
        if parts:
            return (
                f"The survival instruments disagree: {lead_name} (group {lead.group}) classes "
                f"{lead.prognosis_class}, while " + "; ".join(parts) + f". The plan follows "
                f"{lead_name} as the better-fitting instrument; the ranking carries this "
                "uncertainty."
            )
    if near_eol and prognosis_class in ("intermediate", "favourable"):
        return (
            f"The two-month mortality score ({two_month.points} points) predicts death within 2 "
            f"months although the survival class is {prognosis_class}; the plan follows the "
            "two-month score's high-specificity cut-off for the regimen and states the conflict."
        )
    return None
