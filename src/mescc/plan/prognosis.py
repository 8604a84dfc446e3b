"""Survival prognosis: the conservative consensus of every computable survival instrument.

Every survival instrument of ``plan_rules.yaml`` (``prognosis.tiers``) that fits the patient is
read; the class of a computed instrument is the ``prognosis`` field of its published group in the
instrument file (a project decision, rades-instruments Q15). The class of the patient is their
**consensus** (``prognosis.consensus``, a documented project decision):

* each voting instrument gives one vote (poor < intermediate < favourable); the instruments of
  one family (the Rades MSCC survival scores) give one vote, that of the first member computed;
* the consensus is the most favourable class that MORE THAN HALF of the votes reach (an even
  split goes to the less favourable side), so no single instrument moves a patient to a longer
  course against the others;
* an instrument that is not computable because inputs are missing (its possible groups are
  known) counts at its least favourable possible class, and only when that LOWERS the class: a
  gap in the record never lengthens the course; when every possible group has the same class,
  that class is determined and it votes as if computed;
* a result whose alternative coding of an item in CONFLICT changes the group (Q3, Q10), an
  undefined category or an ``unverified`` result (unless ``allow_unverified``) never votes;
* when Rades tumour-specific scores apply to the tumour but none is computed, their published
  groups bound the class from below (``prognosis.histology_floor``; e.g. every group of the
  myeloma score had a 12-month survival of about half or more), and preferences then never
  move the patient to more fractions.

Further rules (evidence ids ``rades_schild_2023``, ``rades_two_month_mortality_2013``,
``rades_end_of_life_2022``): the two-month mortality score predicts death within 2 months only
at the cut-off marked ``decision: true`` (>= 24; >= 19 is information, Q1); the end-of-life
score is applied only then, with the extrapolation stated (Q13), and in its lowest group best
supportive care leads.

Clinical traps guarded: a missing input never classifies a patient more favourably; a group
without a ``prognosis`` field (e.g. the two-month score below its cut-off) says nothing about
the class; disagreement between instruments is said in plain words next to the class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mescc.engine.result import InstrumentResult
from mescc.kb.loader import KnowledgeBase
from mescc.kb.schema import Group, Instrument, Threshold
from mescc.plan.reasons import PROJECT_DECISION, Reason
from mescc.plan.rules import PlanRules

CLASSES = ("poor", "intermediate", "favourable")
RANK = {c: i for i, c in enumerate(CLASSES)}
NEAR_END_OF_LIFE = "near_end_of_life"
UNKNOWN = "unknown"

# How an instrument's reading enters the consensus.
COMPUTED = "computed"  # computed, its group has a class, its verification may vote
DETERMINED = "determined"  # not computable, but every possible group has the same class
LOWER_BOUND = "lower_bound"  # not computable: its least favourable possible class may lower


@dataclass(frozen=True)
class ResultView:
    """The fields of an instrument result the plan reads.

    ``status``, ``points``, ``group`` and ``verification``, plus, for a result not computable
    because inputs are missing, the groups it can still reach (``possible_groups``). Keeping the
    plan to these fields (plus patient keys and the knowledge-base definitions) is what lets the
    batch path rebuild a plan from columns.
    """

    id: str
    status: str
    points: int | None
    group: str | None
    verification: str
    possible_groups: tuple[str, ...] = ()

    @classmethod
    def of(cls, result: InstrumentResult) -> ResultView:
        """The view of a full result (possible groups only when inputs are missing)."""
        possible = (
            result.possible_groups
            if result.status == "not_computable" and result.conflict is None
            else ()
        )
        return cls(
            result.id, result.status, result.points, result.group, result.verification, possible
        )

    @property
    def computed(self) -> bool:
        """Whether the instrument was computed (every input known and scored)."""
        return self.status == "computed" and self.group is not None

    @property
    def undetermined(self) -> bool:
        """Not computable because inputs are missing, with the groups still reachable known."""
        return self.status == "not_computable" and bool(self.possible_groups)


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
    """One survival instrument as the plan read it, and how it entered the consensus."""

    instrument: str
    name: str
    tier: str
    status: str
    points: int | None
    group: str | None
    prognosis_class: str | None
    verification: str
    decides: bool  # its vote counts in the consensus
    note: str | None = None
    vote: str | None = None  # computed | determined | lower_bound | None (no vote)
    possible_classes: tuple[str, ...] = ()
    possible_groups: tuple[str, ...] = ()

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
            "vote": self.vote,
            "possible_groups": list(self.possible_groups),
            "possible_classes": list(self.possible_classes),
            "note": self.note,
        }


@dataclass(frozen=True)
class Consensus:
    """The consensus of the voting instruments (``plan_rules.yaml`` ``prognosis.consensus``)."""

    prognosis_class: str | None
    computed_class: str | None  # the consensus of the computed/determined votes alone
    lowered_class: str | None  # after instruments with missing inputs may lower it
    votes: tuple[InstrumentClass, ...]
    lowered_by: tuple[str, ...]  # lower-bound instruments that lowered the class
    floor_class: str | None
    floor_instruments: tuple[str, ...]
    raised_by_floor: bool
    referral_class: str | None = None  # the most favourable class the record still allows

    @property
    def counted(self) -> tuple[InstrumentClass, ...]:
        """The computed and determined votes."""
        return tuple(v for v in self.votes if v.vote in (COMPUTED, DETERMINED))

    def as_dict(self) -> dict[str, Any]:
        counted = self.counted
        agree = sum(1 for v in counted if v.prognosis_class == self.computed_class)
        return {
            "class": self.prognosis_class,
            "instruments_class": self.computed_class,
            "after_missing_inputs": self.lowered_class,
            "for_referral": self.referral_class,
            "votes": [
                {
                    "instrument": v.instrument,
                    "class": v.prognosis_class,
                    "vote": v.vote,
                    "group": v.group,
                    "verification": v.verification,
                }
                for v in self.votes
            ],
            "agreeing": agree,
            "voting": len(counted),
            "lowered_by": list(self.lowered_by),
            "histology_floor": (
                {
                    "class": self.floor_class,
                    "instruments": list(self.floor_instruments),
                    "raised": self.raised_by_floor,
                }
                if self.floor_class is not None
                else None
            ),
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
    """The survival prognosis of the plan, the instruments it rests on and its reasons.

    ``source_*`` name the first voting instrument (in the plan's order) whose class equals the
    consensus, for a one-line display; the decision is the consensus of every vote
    (``consensus``), never of one instrument.
    """

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
    consensus: Consensus | None = None
    death_within_2_months_predicted: bool = False
    best_supportive_care_leads: bool = False

    @property
    def near_end_of_life(self) -> bool:
        """Whether death within 2 months is predicted (two-month score at its decision cut-off)."""
        return self.death_within_2_months_predicted

    @property
    def deciding_instruments(self) -> tuple[str, ...]:
        """The instruments whose votes made the class (computed, determined or lowering)."""
        if self.consensus is None:
            return (self.source_instrument,) if self.source_instrument else ()
        out = [v.instrument for v in self.consensus.counted]
        out += list(self.consensus.lowered_by)
        if self.consensus.raised_by_floor:
            out += list(self.consensus.floor_instruments)
        return tuple(dict.fromkeys(out))

    @property
    def referral_class(self) -> str | None:
        """The class the surgical (decompression) criteria read: missing inputs never lower it."""
        if self.consensus is not None and self.consensus.referral_class is not None:
            return self.consensus.referral_class
        return self.prognosis_class

    @property
    def preferences_may_lengthen(self) -> bool:
        """False when the class was raised by the histology floor above the instruments' own."""
        return not (self.consensus is not None and self.consensus.raised_by_floor)

    def as_dict(self) -> dict[str, Any]:
        return {
            "class": self.prognosis_class,
            "source_instrument": self.source_instrument,
            "source_name": self.source_name,
            "source_group": self.source_group,
            "source_verification": self.source_verification,
            "ranking_class": self.ranking_class,
            "deciding_instruments": list(self.deciding_instruments),
            "consensus": self.consensus.as_dict() if self.consensus is not None else None,
            "others": [o.as_dict() for o in self.others],
            "disagreement": self.disagreement,
            "two_month_mortality": self.two_month.as_dict(),
            "near_end_of_life": {
                "predicted": self.near_end_of_life,
                "best_supportive_care_leads": self.best_supportive_care_leads,
                "end_of_life_score": self.end_of_life.as_dict(),
            },
            "missing_to_classify": [
                {"instrument": i, "missing": list(m)} for i, m in self.missing_to_classify
            ],
            "reasons": [r.as_dict() for r in self.reasons],
        }


def may_vote(verification: str, inst: Instrument, rules: PlanRules, allow_unverified: bool) -> bool:
    """Whether a result of this instrument with this verification may vote.

    ``site-derived`` results (a table derived on the site's own registry, ``mescc derive``)
    vote only where the site enabled them (``MESCC_ALLOW_SITE_DERIVED``) and never when the
    table was derived on a synthetic cohort.
    """
    if verification == "site-derived":
        from mescc.kb.overlay import site_derived_decides

        derived = inst.derived
        return site_derived_decides(synthetic=bool(derived and derived.synthetic))
    return _may_decide(verification, rules, allow_unverified)


def _may_decide(verification: str, rules: PlanRules, allow_unverified: bool) -> bool:
    return verification in rules.prognosis.deciding_levels or (
        allow_unverified and verification == "unverified"
    )


def _describe(inst: Instrument, view: ResultView) -> str:
    pts = f"{view.points} points, " if view.points is not None else ""
    return f"{inst.name} ({pts}group {view.group})"


def _classes_of(inst: Instrument, labels: Sequence[str]) -> tuple[str, ...]:
    """The prognosis classes of these groups, least favourable first (classless groups skipped)."""
    found = {g.prognosis for g in inst.groups if g.label in labels and g.prognosis in RANK}
    return tuple(sorted((c for c in found if c is not None), key=RANK.__getitem__))


def read_instruments(
    results: Mapping[str, ResultView],
    kb: KnowledgeBase,
    rules: PlanRules,
    allow_unverified: bool,
) -> tuple[InstrumentClass, ...]:
    """Every survival instrument computed or undetermined, in order, with how it votes.

    Instruments of one family give one vote: the first member computed (or determined), else
    the first member counted at its least favourable possible class.
    """
    read: list[InstrumentClass] = []
    for iid in rules.prognosis.order:
        view = results.get(iid)
        inst = kb.instruments.get(iid)
        if view is None or inst is None:
            continue
        tier = rules.prognosis.tier_of(iid).id
        may = may_vote(view.verification, inst, rules, allow_unverified)
        if view.computed:
            group = group_of(inst, view.group)
            cls = group.prognosis if group is not None else None
            vote = COMPUTED if cls is not None and may else None
            note = None
            if cls is not None and not may:
                note = (
                    "site-derived result: shown, not used to classify (site-derived tables "
                    "decide only where the site enables them, never from a synthetic cohort)"
                    if view.verification == "site-derived"
                    else f"{view.verification} result: shown, not used to classify "
                    "(use --allow-unverified to let it decide)"
                )
            elif cls is None:
                note = "this group has no prognosis class"
            read.append(
                InstrumentClass(
                    iid, inst.name, tier, view.status, view.points, view.group, cls,
                    view.verification, vote is not None, note, vote,
                    (cls,) if cls else (), (view.group,) if view.group else (),
                )
            )  # fmt: skip
        elif view.undetermined:
            classes = _classes_of(inst, view.possible_groups)
            if not classes:
                continue
            if not may:
                vote, note = None, f"{view.verification} result: not counted"
            elif len(classes) == 1:
                vote = DETERMINED
                note = (
                    f"not computable, but every group it can still reach "
                    f"({', '.join(view.possible_groups)}) is {classes[0]}"
                )
            else:
                vote = LOWER_BOUND
                note = (
                    f"not computable (inputs missing); it can still reach "
                    f"{' to '.join((classes[0], classes[-1]))} and counts at {classes[0]} only "
                    "if that lowers the class"
                )
            read.append(
                InstrumentClass(
                    iid, inst.name, tier, view.status, None, None,
                    classes[0] if vote == DETERMINED else None, view.verification,
                    vote is not None, note, vote, classes, view.possible_groups,
                )
            )  # fmt: skip
    # One vote per family: the first full vote of the family, else its first lower bound.
    family_of = {t.id: t.family for t in rules.prognosis.tiers}
    chosen: dict[str, str] = {}
    for kind in ((COMPUTED, DETERMINED), (LOWER_BOUND,)):
        for c in read:
            fam = family_of.get(c.tier)
            if fam is not None and fam not in chosen and c.vote in kind:
                chosen[fam] = c.instrument
    out: list[InstrumentClass] = []
    for c in read:
        fam = family_of.get(c.tier)
        if fam is not None and c.vote is not None and chosen.get(fam) != c.instrument:
            c = InstrumentClass(
                c.instrument, c.name, c.tier, c.status, c.points, c.group, c.prognosis_class,
                c.verification, False,
                f"same family as {chosen[fam]}, which gives the family's one vote", None,
                c.possible_classes, c.possible_groups,
            )  # fmt: skip
        out.append(c)
    return tuple(out)


def lower_median(ranks: Sequence[int]) -> int:
    """The most favourable class more than half of the votes reach (ties: less favourable)."""
    ordered = sorted(ranks)
    return ordered[(len(ordered) - 1) // 2]


def consensus_of(read: Sequence[InstrumentClass]) -> tuple[int | None, int | None, list[str]]:
    """(consensus rank, rank of the full votes alone, lower-bound instruments that lowered it).

    ``F = min(C(V), C(V + L))`` with ``C`` the lower median, ``V`` the computed and determined
    votes and ``L`` the least favourable possible class of each undetermined instrument; None
    when no instrument is computed or determined.
    """
    full = [
        RANK[c.prognosis_class]
        for c in read
        if c.vote in (COMPUTED, DETERMINED) and c.prognosis_class is not None
    ]
    if not full:
        return None, None, []
    lower = [(RANK[c.possible_classes[0]], c.instrument) for c in read if c.vote == LOWER_BOUND]
    alone = lower_median(full)
    if not lower:
        return alone, alone, []
    with_lower = lower_median(full + [r for r, _ in lower])
    if with_lower >= alone:
        return alone, alone, []
    return with_lower, alone, [i for r, i in lower if r < alone]


def most_favourable_of(read: Sequence[InstrumentClass]) -> int | None:
    """The class a referral may rest on: ``max(C(V), C(V + U))`` with ``U`` the MOST favourable
    possible class of each undetermined instrument. A gap in the record can shorten the course
    (``consensus_of``) but never withholds a referral that the record could still justify."""
    full = [
        RANK[c.prognosis_class]
        for c in read
        if c.vote in (COMPUTED, DETERMINED) and c.prognosis_class is not None
    ]
    if not full:
        return None
    upper = [RANK[c.possible_classes[-1]] for c in read if c.vote == LOWER_BOUND]
    return max(lower_median(full), lower_median(full + upper))


def histology_floor(
    results: Mapping[str, ResultView], kb: KnowledgeBase, rules: PlanRules
) -> tuple[int | None, tuple[str, ...]]:
    """The class below which the tumour-specific scores' published groups do not go.

    Only when tumour-specific scores apply (or may apply) to the patient and none of them is
    computed: the least favourable class of all their groups, over all of them.
    """
    tiers = rules.prognosis.histology_floor.tiers
    ids = [i for t in tiers for i in rules.prognosis.tier(t).instruments]
    applicable: list[str] = []
    for iid in ids:
        view = results.get(iid)
        inst = kb.instruments.get(iid)
        if view is None or inst is None or view.status == "not_applicable":
            continue
        if view.computed:
            return None, ()
        applicable.append(iid)
    if not applicable:
        return None, ()
    lows = [min((RANK[g.prognosis] for g in kb.instruments[i].groups if g.prognosis in RANK),
                default=0) for i in applicable]  # fmt: skip
    return min(lows), tuple(applicable)


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
        very_likely = bool(met) and may_vote(view.verification, inst, rules, allow_unverified)
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
) -> tuple[EndOfLife, list[Reason], bool]:
    """The end-of-life score, applied only when death within 2 months is predicted (Q13).

    Returns the score, its reasons and whether best supportive care leads: the group (or, when
    the score is not computable, its least favourable possible group) is one of
    ``best_supportive_care_groups``.
    """
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
    bsc_groups = rule.best_supportive_care_groups
    # The group that decides: the computed one, else the least favourable still reachable
    # (groups are ordered by total; higher = better for this score).
    deciding = group
    if deciding is None and view.undetermined:
        reachable = [g for g in inst.groups if g.label in view.possible_groups]
        deciding = reachable[0] if reachable else None
    bsc = near_end_of_life and (
        (deciding is not None and deciding.label in bsc_groups)
        or (deciding is None and bool(bsc_groups))
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
                f"may still benefit from radiotherapy) is not computable: enter {gap}. Its "
                "least favourable possible group is used until then.",
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
    if bsc and rule.best_supportive_care_statement:
        shown = (
            f" (group {deciding.label}: {deciding.text}, in patients who died within 2 months)"
            if deciding is not None and deciding.text
            else ""
        )
        reasons.append(
            Reason(
                "best_supportive_care_leads",
                " ".join(rule.best_supportive_care_statement.split()) + shown,
                (iid, *rule.evidence),
                {f"{iid}.group": view.group},
                PROJECT_DECISION,
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
        bsc,
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
    """Classify survival prognosis as the conservative consensus of the survival instruments.

    See the module docstring for the rule (``plan_rules.yaml`` ``prognosis.consensus``). A
    two-month mortality score at its decision cut-off makes the ranking class
    ``near_end_of_life`` (or, with an end-of-life score in its lowest group,
    ``near_end_of_life_no_benefit``: best supportive care leads); the class is ``poor`` then
    when nothing else classifies.

    Parameters
    ----------
    results : instrument id -> :class:`ResultView`
    kb : the knowledge base (group -> prognosis class, thresholds)
    rules : the plan rules (instrument tiers and families, deciding verification levels)
    allow_unverified : let ``unverified`` results vote (the plan then warns)
    missing : instrument id -> missing inputs, to say which inputs would allow a class

    Returns
    -------
    Prognosis, whose ``ranking_class`` is poor | intermediate | favourable |
    near_end_of_life | near_end_of_life_no_benefit | unknown.

    References
    ----------
    Rades D, Schild SE. Semin Radiat Oncol 2023;33(2):148-158. DOI 10.1016/j.semradonc.2022.11.005
    """
    missing = missing or {}
    pr = rules.prognosis
    read = read_instruments(results, kb, rules, allow_unverified)
    rank, alone, lowered = consensus_of(read)
    floor, floor_ids = histology_floor(results, kb, rules) if rank is not None else (None, ())
    lowered_rank = rank
    raised = floor is not None and rank is not None and floor > rank
    if raised:
        rank = floor
    prognosis_class = CLASSES[rank] if rank is not None else None
    consensus = (
        Consensus(
            prognosis_class=prognosis_class,
            computed_class=CLASSES[alone] if alone is not None else None,
            lowered_class=CLASSES[lowered_rank] if lowered_rank is not None else None,
            votes=tuple(c for c in read if c.vote is not None),
            lowered_by=tuple(lowered),
            floor_class=CLASSES[floor] if floor is not None else None,
            floor_instruments=floor_ids,
            raised_by_floor=raised,
            referral_class=CLASSES[
                max(r for r in (most_favourable_of(read), rank) if r is not None)
            ],
        )
        if rank is not None
        else None
    )
    reasons: list[Reason] = []
    warnings: list[str] = []
    two_month, tm_reasons = read_two_month(results, missing, kb, rules, allow_unverified)
    near_eol = bool(two_month.death_within_2_months_very_likely)

    counted = [c for c in read if c.vote in (COMPUTED, DETERMINED)]
    source = next((c for c in counted if c.prognosis_class == prognosis_class), None)
    source_id = source.instrument if source else None
    source_group = source.group if source else None
    source_verification = source.verification if source else None
    if consensus is not None:
        reasons.extend(_consensus_reasons(consensus, read, kb, rules))
        derived = [c for c in counted if c.verification == "site-derived"]
        if derived:
            names = ", ".join(kb.instruments[c.instrument].name for c in derived)
            warnings.append(
                f"Survival prognosis counts {names}, a table derived on this site's own registry "
                "(site-derived), because the site enabled site-derived tables."
            )
            reasons.append(
                Reason(
                    "site_derived_instrument_votes",
                    f"{names} votes with a site-derived table (this site's registry, not the "
                    "published table), because the site enabled site-derived tables.",
                    tuple(c.instrument for c in derived),
                    {},
                    "site-derived",
                )
            )
        unverified = [c for c in counted if c.verification == "unverified"]
        if unverified:
            names = ", ".join(kb.instruments[c.instrument].name for c in unverified)
            warnings.append(
                f"Survival prognosis counts {names}, an UNVERIFIED result, because unverified "
                "instruments were allowed (--allow-unverified)."
            )
            reasons.append(
                Reason(
                    "unverified_instrument_decides",
                    f"{names} is unverified and votes only because the user allowed unverified "
                    "instruments; the ranking inherits that uncertainty.",
                    tuple(c.instrument for c in unverified),
                    {},
                    "unverified",
                )
            )
    elif near_eol:
        inst = kb.instruments[two_month.instrument]
        group = group_of(inst, two_month.group)
        prognosis_class = group.prognosis if group is not None else None
        source_id, source_group = two_month.instrument, two_month.group
        source_verification = two_month.verification

    disagreement = _disagreement(consensus, read, prognosis_class, near_eol, kb, two_month)
    if disagreement:
        reasons.append(
            Reason(
                "prognosis_instruments_disagree",
                disagreement,
                tuple(c.instrument for c in read if c.vote is not None),
                {c.instrument: c.prognosis_class for c in counted},
                PROJECT_DECISION,
            )
        )
    elif consensus is not None and len(counted) > 1:
        names = ", ".join(kb.instruments[c.instrument].name for c in counted)
        reasons.append(
            Reason(
                "prognosis_instruments_agree",
                f"The survival instruments computed agree ({names}: {prognosis_class}).",
                tuple(c.instrument for c in counted),
                {},
                PROJECT_DECISION,
            )
        )
    reasons.extend(tm_reasons)
    eol, eol_reasons, bsc = read_end_of_life(results, missing, kb, rules, near_eol)
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
        unverified_only = [c for c in read if c.prognosis_class and not c.decides]
        if unverified_only:
            text += " Only unverified results were available; they do not decide by default."
        reasons.append(
            Reason(
                "prognosis_not_classified",
                text + " The options below are shown without a ranking claim.",
                tuple(pr.evidence),
                {},
                PROJECT_DECISION,
            )
        )
    if near_eol:
        ranking_class = (
            pr.end_of_life.best_supportive_care_class
            if bsc and pr.end_of_life.best_supportive_care_class
            else NEAR_END_OF_LIFE
        )
    else:
        ranking_class = prognosis_class or UNKNOWN
    others = tuple(c for c in read if source is None or c.instrument != source.instrument)
    return Prognosis(
        prognosis_class=prognosis_class,
        source_instrument=source_id,
        source_group=source_group,
        source_verification=source_verification,
        source_name=kb.instruments[source_id].name if source_id else None,
        ranking_class=ranking_class,
        others=others,
        disagreement=disagreement,
        two_month=two_month,
        end_of_life=eol,
        missing_to_classify=gaps,
        reasons=tuple(reasons),
        warnings=tuple(warnings),
        consensus=consensus,
        death_within_2_months_predicted=near_eol,
        best_supportive_care_leads=bsc,
    )


def _vote_text(c: InstrumentClass, kb: KnowledgeBase) -> str:
    name = kb.instruments[c.instrument].name
    if c.vote == COMPUTED:
        pts = f"{c.points} points, " if c.points is not None else ""
        return f"{name} ({pts}group {c.group}): {c.prognosis_class}"
    if c.vote == DETERMINED:
        return f"{name} (not computable; every reachable group is {c.prognosis_class})"
    return f"{name} (not computable; {c.possible_classes[0]} to {c.possible_classes[-1]})"


def _consensus_reasons(
    consensus: Consensus, read: Sequence[InstrumentClass], kb: KnowledgeBase, rules: PlanRules
) -> list[Reason]:
    pr = rules.prognosis
    counted = consensus.counted
    agree = sum(1 for c in counted if c.prognosis_class == consensus.computed_class)
    votes = "; ".join(_vote_text(c, kb) for c in counted)
    text = (
        f"Survival prognosis is classed {consensus.computed_class} by the consensus of "
        f"{len(counted)} survival instrument{'s' if len(counted) != 1 else ''} "
        f"({agree} of {len(counted)} give this class): {votes}. "
        + " ".join(pr.consensus.statement.split())
    )
    if len(counted) == 1:
        text += " Only one instrument could vote, so the class rests on it alone."
    out = [
        Reason(
            "prognosis_consensus",
            text,
            (*[c.instrument for c in counted], *pr.consensus.evidence),
            {f"{c.instrument}.group": c.group for c in counted if c.group},
            PROJECT_DECISION,
        )
    ]
    if consensus.lowered_by:
        low = [c for c in read if c.instrument in consensus.lowered_by]
        parts = "; ".join(
            f"{kb.instruments[c.instrument].name} can still reach groups "
            f"{', '.join(c.possible_groups)} ({c.possible_classes[0]} to "
            f"{c.possible_classes[-1]})"
            for c in low
        )
        out.append(
            Reason(
                "prognosis_lowered_by_missing_inputs",
                f"The class is lowered to {consensus.lowered_class} because instruments "
                f"that cannot be computed yet could still be less favourable: {parts}. "
                "Their missing inputs are listed with the decisive unknowns; entering them may "
                "change the class.",
                tuple(c.instrument for c in low),
                {},
                PROJECT_DECISION,
            )
        )
    if consensus.raised_by_floor:
        names = ", ".join(kb.instruments[i].name for i in consensus.floor_instruments)
        lowest = "; ".join(
            f"{kb.instruments[i].name} lowest group {g.label}: {g.text}"
            for i in consensus.floor_instruments
            for g in kb.instruments[i].groups[:1]
        )
        out.append(
            Reason(
                "prognosis_histology_floor",
                f"The general instruments give {consensus.lowered_class}, but the "
                f"tumour-specific score(s) for this tumour ({names}; not computed) "
                f"report no group below {consensus.floor_class} ({lowest}). "
                + " ".join(pr.histology_floor.statement.split()),
                (*consensus.floor_instruments, *pr.histology_floor.evidence),
                {},
                PROJECT_DECISION,
            )
        )
    mapped = [c for c in counted if c.vote == COMPUTED]
    if mapped:
        out.append(
            Reason(
                "prognosis_mapping",
                "Which published group maps to which class is a project decision for each "
                "instrument (rades-instruments Q15); each group's basis is in its instrument file.",
                tuple(c.instrument for c in mapped),
                {},
                PROJECT_DECISION,
            )
        )
    return out


def _disagreement(
    consensus: Consensus | None,
    read: Sequence[InstrumentClass],
    prognosis_class: str | None,
    near_eol: bool,
    kb: KnowledgeBase,
    two_month: TwoMonthMortality,
) -> str | None:
    if consensus is not None:
        counted = consensus.counted
        classes = {c.prognosis_class for c in counted}
        if len(classes) > 1:
            votes = "; ".join(_vote_text(c, kb) for c in counted)
            return (
                f"The survival instruments disagree ({votes}). The plan follows their "
                f"conservative consensus ({consensus.computed_class}): a patient is not moved "
                "to a longer course by one instrument against the others; the alternatives "
                "remain reasonable and the ranking carries this uncertainty."
            )
    if near_eol and prognosis_class in ("intermediate", "favourable"):
        return (
            f"The two-month mortality score ({two_month.points} points) predicts death within 2 "
            f"months although the survival class is {prognosis_class}; the plan follows the "
            "two-month score's high-specificity cut-off for the regimen and states the conflict."
        )
    return None
