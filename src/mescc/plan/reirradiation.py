"""Re-irradiation: cumulative spinal-cord dose of each candidate regimen against a named rule set.

For every earlier course to the same region (``prior_radiotherapy``) the cord BED is computed
with the linear-quadratic model, ``BED = n*d*(1 + d/(alpha/beta))``; the cumulative BED of a
candidate regimen is the sum over the earlier courses plus the candidate. The rule set is named
in ``plan_rules.yaml`` and its parameters are read by name from ``reirradiation.yaml``:

* ``nieder_2006_conventional`` (every earlier course conventional or not recorded): interval
  >= ``interval_months_min``, each course <= ``per_course_bed_max_gy2``, no myelopathy reported
  up to ``cumulative_bed_no_rm_gy2`` (within limits), risk "appears small" up to
  ``cumulative_bed_small_risk_gy2``; alpha/beta 2 (cervical/thoracic) or 4 (lumbar);
  supported by ``rades_2008_conventional`` (safe and effective up to its cumulative limit);
* ``hytec_2021_sbrt_reirradiation`` (an earlier course was SBRT): cord EQD2 (alpha/beta 2),
  cumulative <= ``cumulative_eqd2_dmax_max_gy``, SBRT part <= ``sbrt_eqd2_dmax_max_gy`` and
  <= ``sbrt_to_cumulative_ratio_max`` of the cumulative, interval >= ``interval_months_min``.

Cord doses (``plan_rules.yaml`` ``reirradiation``): an earlier course's cord dose per fraction
is its recorded cord maximum (``cord_max_dose_gy`` / fractions, or ``cord_max_dose_percent`` of
the prescription); without one, a conventional course is taken at 100% of its prescription
(said), and an SBRT course's prescription is only an upper bound (a check that passes at that
bound passes; one that fails even without that course's dose fails; otherwise undetermined).
The planned course is taken at the protocols' cord hot spot (101.5% of prescription), and each
check states the highest hot spot at which the regimen would still be within the limit.

Evidence ids: ``nieder_2006``, ``nieder_2005``, ``doi_2021``, ``rades_reirradiation_2008``,
``hytec_2021``, ``sahgal_2012``.

Clinical traps guarded (reference R5): rule sets are never mixed; a case beyond a rule set's
range is "outside published experience", never a risk estimate; BED values at different
alpha/beta are never added (the applied alpha/beta is shown with every figure); when the
spinal level is unknown the lowest alpha/beta of the rule set (highest BED) is used and said;
the interval is the shortest ``months_before`` (the most recent course); a missing interval
leaves the check undetermined rather than passed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal

from mescc.dose import bed, eqd2
from mescc.kb.evidence import Evidence, RuleSet, regimen_label
from mescc.patient import Patient, RadiotherapyCourse
from mescc.plan.reasons import COMPUTED, Reason
from mescc.plan.rules import PlanRules

SpinalLevel = Literal["cervical", "thoracic", "lumbar"]

WITHIN = "within"
ABOVE_NO_RM_LIMIT = "above_no_myelopathy_limit"
OUTSIDE = "outside_published_experience"
UNDETERMINED = "undetermined"


def _r1(x: float) -> float:
    return round(x + 0.0, 1)


@dataclass(frozen=True)
class CourseDose:
    """One earlier course with its cord dose at the applied alpha/beta (COMPUTED)."""

    fractions: int
    dose_per_fraction_gy: float
    months_before: float | None
    technique: str | None
    cord_dose_per_fraction_gy: float  # the dose used (an upper bound when not known)
    cord_dose_basis: str  # recorded_gy | recorded_percent | assumed_prescription | upper_bound
    bed: float
    bed_gy2: float
    eqd2_gy2: float

    @property
    def cord_dose_known(self) -> bool:
        """Whether the dose used is the course's cord dose rather than an upper bound of it."""
        return self.cord_dose_basis != UPPER_BOUND

    def as_dict(self, alpha_beta: float) -> dict[str, Any]:
        return {
            "regimen": regimen_label(self.fractions, self.dose_per_fraction_gy),
            "fractions": self.fractions,
            "dose_per_fraction_gy": self.dose_per_fraction_gy,
            "months_before": self.months_before,
            "technique": self.technique,
            "cord_dose_per_fraction_gy": round(self.cord_dose_per_fraction_gy, 3),
            "cord_dose_basis": self.cord_dose_basis,
            "bed_gy2": _r1(self.bed_gy2),
            "eqd2_gy2": _r1(self.eqd2_gy2),
            "bed": _r1(self.bed),
            "alpha_beta": alpha_beta,
        }

    def without_dose(self) -> CourseDose:
        """The course with no cord dose: the lower bound of an unrecorded SBRT cord dose."""
        return replace(self, cord_dose_per_fraction_gy=0.0, bed=0.0, bed_gy2=0.0, eqd2_gy2=0.0)


RECORDED_GY = "recorded_gy"
RECORDED_PERCENT = "recorded_percent"
ASSUMED = "assumed_prescription"
UPPER_BOUND = "upper_bound_prescription"


@dataclass(frozen=True)
class RegimenCheck:
    """A candidate regimen against the rule set."""

    regimen: str
    fractions: int
    dose_per_fraction_gy: float
    candidate_bed: float
    cumulative_bed: float
    cumulative_bed_gy2: float
    cumulative_eqd2_gy2: float
    status: str
    within_limits: bool | None
    text: str
    hot_spot_percent: float = 100.0
    max_hot_spot_percent: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "regimen": self.regimen,
            "candidate_bed": _r1(self.candidate_bed),
            "cumulative_bed": _r1(self.cumulative_bed),
            "cumulative_cord_bed_gy2": _r1(self.cumulative_bed_gy2),
            "cumulative_cord_eqd2_gy2": _r1(self.cumulative_eqd2_gy2),
            "planned_cord_hot_spot_percent": self.hot_spot_percent,
            "max_hot_spot_percent_within_limit": (
                _r1(self.max_hot_spot_percent) if self.max_hot_spot_percent is not None else None
            ),
            "status": self.status,
            "within_limits": self.within_limits,
            "text": self.text,
        }


@dataclass(frozen=True)
class Reirradiation:
    """The re-irradiation check of a patient with earlier radiotherapy to the region."""

    rule_set_id: str
    rule_set: RuleSet
    alpha_beta: float
    alpha_beta_basis: str
    spinal_level: str | None
    interval_months: float | None
    courses: tuple[CourseDose, ...]
    checks: Mapping[str, RegimenCheck]
    other_regimens: tuple[RegimenCheck, ...]
    reasons: tuple[Reason, ...]
    missing: tuple[str, ...]
    hot_spot_percent: float = 100.0
    earlier_cumulative: float = 0.0
    earlier_status: str = WITHIN

    def check_for(self, regimen_id: str) -> RegimenCheck:
        """The check of a catalogue regimen id (e.g. ``"10x3"``)."""
        return self.checks[regimen_id]

    @property
    def unit(self) -> str:
        """The unit of the cumulative figure the rule set compares."""
        if self.rule_set.metric == "cord_bed":
            return f"Gy{self.alpha_beta:g} (BED, alpha/beta {self.alpha_beta:g} Gy)"
        return "Gy (EQD2, alpha/beta 2 Gy)"

    @property
    def any_within(self) -> bool:
        """Whether some catalogue regimen stays within the limits."""
        return any(c.within_limits for c in self.checks.values())

    def as_dict(self, top_regimen_id: str | None, citation: str) -> dict[str, Any]:
        """The contract's ``plan.reirradiation`` object, reported for the top-ranked regimen."""
        top = self.checks.get(top_regimen_id) if top_regimen_id else None
        return {
            "rule_set": self.rule_set_id,
            "rule_set_label": self.rule_set.label,
            "source": self.rule_set.source,
            "rule_set_statement": self.rule_set.statement,
            "citation": citation,
            "verification": self.rule_set.verification,
            "metric": self.rule_set.metric_label,
            "limits": dict(self.rule_set.parameters),
            "alpha_beta": self.alpha_beta,
            "alpha_beta_basis": self.alpha_beta_basis,
            "spinal_level": self.spinal_level,
            "interval_months": self.interval_months,
            "planned_cord_hot_spot_percent": self.hot_spot_percent,
            "courses": [c.as_dict(self.alpha_beta) for c in self.courses],
            "earlier_courses_cumulative": _r1(self.earlier_cumulative),
            "earlier_courses_status": self.earlier_status,
            "regimen": top.regimen if top else None,
            "cumulative_cord_bed_gy2": _r1(top.cumulative_bed_gy2) if top else None,
            "cumulative_cord_bed": _r1(top.cumulative_bed) if top else None,
            "cumulative_cord_eqd2_gy2": _r1(top.cumulative_eqd2_gy2) if top else None,
            "unit": self.unit,
            "within_limits": top.within_limits if top else None,
            "status": top.status if top else None,
            "any_regimen_within_limits": self.any_within,
            "regimens_within_limits": [c.regimen for c in self.checks.values() if c.within_limits],
            "regimen_checks": [c.as_dict() for c in self.checks.values()],
            "other_regimens": [c.as_dict() for c in self.other_regimens],
            "reasons": [r.as_dict() for r in self.reasons],
            "missing": list(self.missing),
        }


def choose_rule_set(courses: Sequence[RadiotherapyCourse], rules: PlanRules) -> str:
    """HyTEC when an earlier course was SBRT, otherwise the conventional (Nieder) rule set."""
    r = rules.reirradiation
    return (
        r.sbrt_rule_set if any(c.technique == "sbrt" for c in courses) else r.conventional_rule_set
    )


def alpha_beta_at(rule_set: RuleSet, level: SpinalLevel | None) -> tuple[float, str]:
    """The cord alpha/beta of a rule set at a spinal level, and why (unknown -> lowest)."""
    values = rule_set.alpha_beta_gy
    if "all" in values:
        return values["all"], f"alpha/beta {values['all']:g} Gy for every level in this rule set"
    if level is not None:
        ab = rule_set.alpha_beta_for(level)
        return ab, f"alpha/beta {ab:g} Gy for the {level} cord in this rule set"
    lowest = min(values.values())
    return lowest, (
        f"spinal level unknown: alpha/beta {lowest:g} Gy (the lowest of this rule set, giving the "
        "highest BED) is used as the conservative choice"
    )


def _p(rule_set: RuleSet, name: str) -> float:
    return rule_set.parameters[name]


def _max_dose_per_fraction(room: float, n: int, ab: float) -> float | None:
    """The largest d with ``n*d*(1 + d/ab) <= room`` (None when there is no room)."""
    if room <= 0:
        return None
    return (-ab + math.sqrt(ab * ab + 4 * room * ab / n)) / 2


def _check_nieder(
    rs: RuleSet,
    courses: Sequence[CourseDose],
    interval: float | None,
    n: int,
    d: float,
    ab: float,
    label: str,
    hot: float,
) -> RegimenCheck:
    dc = d * hot / 100
    cand = bed(n, dc, ab)
    earlier = sum(c.bed for c in courses)
    cum = earlier + cand
    ab2 = _gy2_alpha_beta(rs)
    cum2 = sum(c.bed_gy2 for c in courses) + bed(n, dc, ab2)
    cum_eqd2 = sum(c.eqd2_gy2 for c in courses) + eqd2(n, dc, ab2)
    interval_min = _p(rs, "interval_months_min")
    per_course_max = _p(rs, "per_course_bed_max_gy2")
    no_rm = _p(rs, "cumulative_bed_no_rm_gy2")
    small_risk = _p(rs, "cumulative_bed_small_risk_gy2")
    unit = f"Gy{ab:g}"
    room = min(no_rm - earlier, per_course_max)
    dmax = _max_dose_per_fraction(room, n, ab)
    max_hot = dmax / d * 100 if dmax is not None else None
    verdict = partial(RegimenCheck, label, n, d, cand, cum, cum2, cum_eqd2)
    at = f" with the planned cord maximum at {hot:g}% of prescription"
    problems: list[str] = []
    if interval is not None and interval < interval_min:
        problems.append(
            f"the interval of {interval:g} months is below the rule set's minimum of "
            f"{interval_min:g} months"
        )
    too_high = [c for c in courses if c.bed > per_course_max]
    if too_high or cand > per_course_max:
        problems.append(f"a single course exceeds {per_course_max:g} {unit}")
    if earlier > small_risk:
        problems.append(
            f"the earlier courses alone reach {_r1(earlier):g} {unit}, above {small_risk:g} "
            f"{unit}, the highest cumulative dose the rule set describes"
        )
    elif cum > small_risk:
        problems.append(
            f"the cumulative BED of {_r1(cum):g} {unit}{at} is above {small_risk:g} {unit}, the "
            "highest cumulative dose the rule set describes" + _only_with(max_hot)
        )
    if problems:
        return verdict(
            OUTSIDE,
            False,
            f"{label}: outside published experience: " + "; ".join(problems) + ".",
            hot,
            max_hot,
        )
    if interval is None:
        return verdict(
            UNDETERMINED,
            None,
            f"{label}: cumulative BED {_r1(cum):g} {unit}{at}, but the interval since the "
            "earlier course is not recorded, so the check is undetermined.",
            hot,
            max_hot,
        )
    if cum > no_rm:
        return verdict(
            ABOVE_NO_RM_LIMIT,
            False,
            f"{label}: cumulative BED {_r1(cum):g} {unit}{at} is above {no_rm:g} {unit} "
            f"(no myelopathy reported up to it); the risk appears small up to "
            f"{small_risk:g} {unit} (not within the limit{_only_with(max_hot)}).",
            hot,
            max_hot,
        )
    margin = (
        f"; it stays within up to a cord maximum of {_r1(max_hot):g}% of prescription"
        if max_hot is not None
        else ""
    )
    return verdict(
        WITHIN,
        True,
        f"{label}: cumulative BED {_r1(cum):g} {unit}{at} is within {no_rm:g} {unit} "
        f"with an interval of {interval:g} months (>= {interval_min:g}){margin}.",
        hot,
        max_hot,
    )


def _only_with(max_hot: float | None) -> str:
    """What would keep the regimen within the limit: a lower cord maximum, if any."""
    if max_hot is None:
        return ""
    return (
        "; it would be within the limit only with a cord maximum of at most "
        f"{_r1(max_hot):g}% of prescription"
    )


def _gy2_alpha_beta(rs: RuleSet) -> float:
    """The alpha/beta of the 'Gy2' figures: the cervical/thoracic value (or the only value)."""
    values = rs.alpha_beta_gy
    return values["all"] if "all" in values else values["thoracic"]


def _check_hytec(
    rs: RuleSet,
    courses: Sequence[CourseDose],
    interval: float | None,
    n: int,
    d: float,
    label: str,
    hot: float,
) -> RegimenCheck:
    ab = _gy2_alpha_beta(rs)
    dc = d * hot / 100
    cand_eqd2 = eqd2(n, dc, ab)
    earlier = sum(c.eqd2_gy2 for c in courses)
    cum_eqd2 = earlier + cand_eqd2
    cum2 = sum(c.bed_gy2 for c in courses) + bed(n, dc, ab)
    sbrt_part = sum(c.eqd2_gy2 for c in courses if c.technique == "sbrt")
    interval_min = _p(rs, "interval_months_min")
    sbrt_max = _p(rs, "sbrt_eqd2_dmax_max_gy")
    cum_max = _p(rs, "cumulative_eqd2_dmax_max_gy")
    ratio_max = _p(rs, "sbrt_to_cumulative_ratio_max")
    # EQD2 = BED / (1 + 2/ab): the room in EQD2 is room * (1 + 2/ab) in BED
    dmax = _max_dose_per_fraction((cum_max - earlier) * (1 + 2 / ab), n, ab)
    max_hot = dmax / d * 100 if dmax is not None else None
    verdict = partial(RegimenCheck, label, n, d, cand_eqd2, cum_eqd2, cum2, cum_eqd2)
    at = f" with the planned cord maximum at {hot:g}% of prescription"
    problems: list[str] = []
    if interval is not None and interval < interval_min:
        problems.append(
            f"the interval of {interval:g} months is below the minimum of {interval_min:g} months"
        )
    if any(c.technique == "sbrt" and c.eqd2_gy2 > sbrt_max for c in courses):
        problems.append(f"an SBRT course exceeds {sbrt_max:g} Gy EQD2")
    if earlier > cum_max:
        problems.append(
            f"the earlier courses alone reach {_r1(earlier):g} Gy EQD2, above {cum_max:g} Gy"
        )
    elif cum_eqd2 > cum_max:
        problems.append(
            f"the cumulative EQD2 of {_r1(cum_eqd2):g} Gy{at} is above {cum_max:g} Gy"
            + _only_with(max_hot)
        )
    if cum_eqd2 > 0 and sbrt_part / cum_eqd2 > ratio_max:
        problems.append(f"the SBRT share of the cumulative dose is above {ratio_max:g}")
    if problems:
        return verdict(
            OUTSIDE,
            False,
            f"{label}: outside published experience: " + "; ".join(problems) + ".",
            hot,
            max_hot,
        )
    if interval is None:
        return verdict(
            UNDETERMINED,
            None,
            f"{label}: cumulative EQD2 {_r1(cum_eqd2):g} Gy{at}, but the interval is not "
            "recorded, so the check is undetermined.",
            hot,
            max_hot,
        )
    margin = (
        f"; it stays within up to a cord maximum of {_r1(max_hot):g}% of prescription"
        if max_hot is not None
        else ""
    )
    return verdict(
        WITHIN,
        True,
        f"{label}: cumulative EQD2 {_r1(cum_eqd2):g} Gy{at} is within {cum_max:g} Gy "
        f"with an interval of {interval:g} months (>= {interval_min:g}){margin}.",
        hot,
        max_hot,
    )


def _bounded(
    check: Callable[[Sequence[CourseDose]], RegimenCheck], courses: Sequence[CourseDose]
) -> RegimenCheck:
    """The check when an earlier SBRT cord dose is only bounded: pass at the upper bound, fail
    without the course's dose, otherwise undetermined."""
    upper = check(courses)
    if all(c.cord_dose_known for c in courses) or upper.within_limits:
        return upper
    lower = check([c if c.cord_dose_known else c.without_dose() for c in courses])
    if lower.within_limits is False:
        return replace(
            lower,
            text=lower.text.rstrip(".")
            + ", even without the unrecorded cord dose of the earlier SBRT course.",
        )
    return replace(
        upper,
        status=UNDETERMINED,
        within_limits=None,
        text=(
            f"{upper.regimen}: undetermined: the cord (thecal-sac) maximum of the earlier SBRT "
            "course is not recorded; taking its prescription as the cord dose (an upper bound), "
            + upper.text.split(": ", 1)[1].rstrip(".")
            + "; record that course's cord maximum to check it."
        ),
    )


# The patient keys ``assess_reirradiation`` reads (the decisive-unknown search re-checks only
# when one of them changes; tests/plan/test_plan_decision_inputs.py checks it).
REIRRADIATION_INPUTS = frozenset({"prior_radiotherapy", "spinal_level"})


def course_dose(c: RadiotherapyCourse, ab: float, ab2: float, rules: PlanRules) -> CourseDose:
    """An earlier course's cord dose per fraction and how it was obtained."""
    if c.cord_max_dose_gy is not None:
        dc, basis = c.cord_max_dose_gy / c.fractions, RECORDED_GY
    elif c.cord_max_dose_percent is not None:
        dc, basis = c.dose_per_fraction_gy * c.cord_max_dose_percent / 100, RECORDED_PERCENT
    elif c.technique == "sbrt":
        dc, basis = c.dose_per_fraction_gy, UPPER_BOUND
    else:
        pct = rules.reirradiation.earlier_cord_dose.conventional_percent_of_prescription
        dc, basis = c.dose_per_fraction_gy * pct / 100, ASSUMED
    return CourseDose(
        fractions=c.fractions,
        dose_per_fraction_gy=c.dose_per_fraction_gy,
        months_before=c.months_before,
        technique=c.technique,
        cord_dose_per_fraction_gy=dc,
        cord_dose_basis=basis,
        bed=bed(c.fractions, dc, ab),
        bed_gy2=bed(c.fractions, dc, ab2),
        eqd2_gy2=eqd2(c.fractions, dc, ab2),
    )


def assess_reirradiation(
    patient: Patient, evidence: Evidence, rules: PlanRules
) -> Reirradiation | None:
    """Check every catalogue regimen (and the ASTRO re-irradiation regimens) for a re-irradiation.

    Returns None when no earlier course is recorded (``prior_radiotherapy`` missing or empty).

    References
    ----------
    Nieder C, et al. Int J Radiat Oncol Biol Phys 2006;66(5):1446-1449. PMID 17084560.
    Sahgal A, et al. (HyTEC) Int J Radiat Oncol Biol Phys 2021;110(1):124-136.
    DOI 10.1016/j.ijrobp.2019.09.038.
    """
    prior = patient.prior_radiotherapy
    if not prior:
        return None
    rr = rules.reirradiation
    rs_id = choose_rule_set(prior, rules)
    rs = evidence.rule_set(rs_id)
    ab, ab_basis = alpha_beta_at(rs, patient.spinal_level)
    ab2 = _gy2_alpha_beta(rs)
    hot = rr.planned_cord_hot_spot.percent_of_prescription
    courses = tuple(course_dose(c, ab, ab2, rules) for c in prior)
    missing = tuple(
        f"prior_radiotherapy[{i}].months_before"
        for i, c in enumerate(prior)
        if c.months_before is None
    ) + tuple(
        f"prior_radiotherapy[{i}].cord_max_dose_gy"
        for i, c in enumerate(courses)
        if not c.cord_dose_known
    )
    interval = (
        None
        if any(c.months_before is None for c in prior)
        else min(c.months_before for c in courses if c.months_before is not None)
    )

    def check(n: int, d: float) -> RegimenCheck:
        label = regimen_label(n, d)
        if rs.metric == "cord_bed":
            return _bounded(
                lambda cs: _check_nieder(rs, cs, interval, n, d, ab, label, hot), courses
            )
        return _bounded(lambda cs: _check_hytec(rs, cs, interval, n, d, label, hot), courses)

    checks = {r.id: check(r.fractions, r.dose_per_fraction_gy) for r in evidence.regimens.regimens}
    astro = rr.astro_reirradiation_regimens
    others = tuple(check(s.fractions, s.dose_per_fraction_gy) for s in astro.regimens)

    reasons: list[Reason] = []
    level_inputs = {"spinal_level": patient.spinal_level}
    reasons.append(
        Reason(
            "reirradiation_rule_set",
            f"Earlier radiotherapy to the region is recorded, so every option is checked against "
            f"the {rs.label} rule set: {rs.statement}",
            (rs.source, *rs.evidence),
            {"prior_radiotherapy": [c.model_dump(exclude_none=True) for c in prior]},
            rs.verification,
        )
    )
    reasons.append(
        Reason(
            "reirradiation_alpha_beta",
            f"Cord doses are COMPUTED with the linear-quadratic model, {ab_basis}.",
            (rs.source,),
            level_inputs,
            COMPUTED,
        )
    )
    earlier, earlier_status = _earlier_courses(rs, courses)
    unit = f"Gy{ab:g}" if rs.metric == "cord_bed" else "Gy EQD2"
    if earlier_status != WITHIN:
        limit = (
            _p(rs, "cumulative_bed_small_risk_gy2")
            if rs.metric == "cord_bed" and earlier_status == OUTSIDE
            else _p(rs, "cumulative_bed_no_rm_gy2")
            if rs.metric == "cord_bed"
            else _p(rs, "cumulative_eqd2_dmax_max_gy")
        )
        bound = "" if all(c.cord_dose_known for c in courses) else " (at an upper bound)"
        reasons.append(
            Reason(
                "reirradiation_earlier_courses_exceed",
                f"The earlier courses alone already reach {_r1(earlier):g} {unit}{bound}, above "
                f"the rule set's {limit:g} {unit}: any further course adds to a cord dose "
                + (
                    "beyond the highest cumulative dose the rule set describes."
                    if earlier_status == OUTSIDE
                    else "above the limit without reported myelopathy."
                ),
                (rs.source,),
                {},
                COMPUTED,
            )
        )
    reasons.append(
        Reason(
            "reirradiation_planned_hot_spot",
            " ".join(rr.planned_cord_hot_spot.statement.split()),
            rr.planned_cord_hot_spot.evidence,
            {},
            rr.planned_cord_hot_spot.verification,
        )
    )
    bases = {c.cord_dose_basis for c in courses}
    if bases & {ASSUMED, UPPER_BOUND}:
        reasons.append(
            Reason(
                "reirradiation_earlier_cord_dose_assumed",
                " ".join(rr.earlier_cord_dose.statement.split())
                + " Record each earlier course's cord maximum (cord_max_dose_gy or "
                "cord_max_dose_percent) from its plan where available.",
                rr.earlier_cord_dose.evidence,
                {},
                COMPUTED,
            )
        )
    if rs.metric == "cord_bed" and ab != ab2:
        for note in rs.notes[:1]:
            reasons.append(
                Reason(
                    "reirradiation_lumbar_limits", note, (rs.source,), level_inputs, rs.verification
                )
            )
    if rs_id == rr.sbrt_rule_set:
        reasons.append(
            Reason(
                "reirradiation_sbrt_dose_assumption",
                " ".join(rr.sbrt_dose_note.split()),
                (rs.source,),
                {},
                COMPUTED,
            )
        )
    if any(c.technique is None for c in prior):
        reasons.append(
            Reason(
                "reirradiation_technique_not_recorded",
                "The technique of an earlier course is not recorded; it is treated as "
                "conventional radiotherapy.",
                (rs.source,),
                {},
                COMPUTED,
            )
        )
    if any(c.months_before is None for c in prior):
        gaps = [m for m in missing if m.endswith("months_before")]
        reasons.append(
            Reason(
                "reirradiation_interval_unknown",
                f"The interval since an earlier course is not recorded ({', '.join(gaps)}); "
                "the limits cannot be confirmed without it.",
                (rs.source,),
                {},
                rs.verification,
            )
        )
    for sid in rr.supporting_rule_sets:
        support = evidence.rule_set(sid)
        if support.setting == rs.setting:
            reasons.append(
                Reason(
                    "reirradiation_supporting_series",
                    f"Supporting series ({support.label}): {support.statement}",
                    (support.source, *support.evidence),
                    {},
                    support.verification,
                )
            )
    if not any(c.within_limits for c in checks.values()):
        high_precision = next(
            (
                f
                for f in evidence.reirradiation.findings
                if f.id == "rades_schild_2010_reirradiation"
            ),
            None,
        )
        reasons.append(
            Reason(
                "reirradiation_no_regimen_within",
                "No regimen of the catalogue stays within the limits"
                + (" (undetermined for some)" if any(
                    c.within_limits is None for c in checks.values()) else "")
                + ": a further course needs a specialist decision on the actual plan's cord "
                "dose"
                + (f"; {_lower(high_precision.statement)}" if high_precision else "")
                + " Surgery, a high-precision (SBRT) re-irradiation checked against the SBRT "
                "rule set with the plan's cord dose, or best supportive care are the "
                "alternatives to discuss.",
                (rs.source, *((high_precision.source,) if high_precision else ())),
                {},
                rs.verification,
            )
        )  # fmt: skip
    return Reirradiation(
        rule_set_id=rs_id,
        rule_set=rs,
        alpha_beta=ab,
        alpha_beta_basis=ab_basis,
        spinal_level=patient.spinal_level,
        interval_months=interval,
        courses=courses,
        checks=checks,
        other_regimens=others,
        reasons=tuple(reasons),
        missing=missing,
        hot_spot_percent=hot,
        earlier_cumulative=earlier,
        earlier_status=earlier_status,
    )


def _lower(text: str) -> str:
    text = " ".join(text.split())
    return text[:1].lower() + text[1:]


def _earlier_courses(rs: RuleSet, courses: Sequence[CourseDose]) -> tuple[float, str]:
    """The earlier courses' cumulative cord dose and whether it already exceeds a limit."""
    if rs.metric == "cord_bed":
        earlier = sum(c.bed for c in courses)
        if earlier > _p(rs, "cumulative_bed_small_risk_gy2"):
            return earlier, OUTSIDE
        if earlier > _p(rs, "cumulative_bed_no_rm_gy2"):
            return earlier, ABOVE_NO_RM_LIMIT
        return earlier, WITHIN
    earlier = sum(c.eqd2_gy2 for c in courses)
    return earlier, (OUTSIDE if earlier > _p(rs, "cumulative_eqd2_dmax_max_gy") else WITHIN)
