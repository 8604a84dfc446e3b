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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
    bed: float
    bed_gy2: float
    eqd2_gy2: float

    def as_dict(self, alpha_beta: float) -> dict[str, Any]:
        return {
            "regimen": regimen_label(self.fractions, self.dose_per_fraction_gy),
            "fractions": self.fractions,
            "dose_per_fraction_gy": self.dose_per_fraction_gy,
            "months_before": self.months_before,
            "technique": self.technique,
            "bed_gy2": _r1(self.bed_gy2),
            "eqd2_gy2": _r1(self.eqd2_gy2),
            "bed": _r1(self.bed),
            "alpha_beta": alpha_beta,
        }


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "regimen": self.regimen,
            "candidate_bed": _r1(self.candidate_bed),
            "cumulative_bed": _r1(self.cumulative_bed),
            "cumulative_cord_bed_gy2": _r1(self.cumulative_bed_gy2),
            "cumulative_cord_eqd2_gy2": _r1(self.cumulative_eqd2_gy2),
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

    def check_for(self, regimen_id: str) -> RegimenCheck:
        """The check of a catalogue regimen id (e.g. ``"10x3"``)."""
        return self.checks[regimen_id]

    @property
    def unit(self) -> str:
        """The unit of the cumulative figure the rule set compares."""
        if self.rule_set.metric == "cord_bed":
            return f"Gy{self.alpha_beta:g} (BED, alpha/beta {self.alpha_beta:g} Gy)"
        return "Gy (EQD2, alpha/beta 2 Gy)"

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
            "courses": [c.as_dict(self.alpha_beta) for c in self.courses],
            "regimen": top.regimen if top else None,
            "cumulative_cord_bed_gy2": _r1(top.cumulative_bed_gy2) if top else None,
            "cumulative_cord_bed": _r1(top.cumulative_bed) if top else None,
            "cumulative_cord_eqd2_gy2": _r1(top.cumulative_eqd2_gy2) if top else None,
            "unit": self.unit,
            "within_limits": top.within_limits if top else None,
            "status": top.status if top else None,
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


def _check_nieder(
    rs: RuleSet,
    courses: Sequence[CourseDose],
    interval: float | None,
    n: int,
    d: float,
    ab: float,
    label: str,
) -> RegimenCheck:
    cand = bed(n, d, ab)
    cum = sum(c.bed for c in courses) + cand
    cum2 = sum(c.bed_gy2 for c in courses) + bed(n, d, _gy2_alpha_beta(rs))
    cum_eqd2 = sum(c.eqd2_gy2 for c in courses) + eqd2(n, d, _gy2_alpha_beta(rs))
    interval_min = _p(rs, "interval_months_min")
    per_course_max = _p(rs, "per_course_bed_max_gy2")
    no_rm = _p(rs, "cumulative_bed_no_rm_gy2")
    small_risk = _p(rs, "cumulative_bed_small_risk_gy2")
    unit = f"Gy{ab:g}"
    verdict = partial(RegimenCheck, label, n, d, cand, cum, cum2, cum_eqd2)
    problems: list[str] = []
    if interval is not None and interval < interval_min:
        problems.append(
            f"the interval of {interval:g} months is below the rule set's minimum of "
            f"{interval_min:g} months"
        )
    too_high = [c for c in courses if c.bed > per_course_max]
    if too_high or cand > per_course_max:
        problems.append(f"a single course exceeds {per_course_max:g} {unit}")
    if cum > small_risk:
        problems.append(
            f"the cumulative BED of {_r1(cum):g} {unit} is above {small_risk:g} {unit}, the "
            "highest cumulative dose the rule set describes"
        )
    if problems:
        return verdict(
            OUTSIDE,
            False,
            f"{label}: outside published experience: " + "; ".join(problems) + ".",
        )
    if interval is None:
        return verdict(
            UNDETERMINED,
            None,
            f"{label}: cumulative BED {_r1(cum):g} {unit}, but the interval since the "
            "earlier course is not recorded, so the check is undetermined.",
        )
    if cum > no_rm:
        return verdict(
            ABOVE_NO_RM_LIMIT,
            False,
            f"{label}: cumulative BED {_r1(cum):g} {unit} is above {no_rm:g} {unit} "
            f"(no myelopathy reported up to it); the risk appears small up to "
            f"{small_risk:g} {unit} (not within the limit).",
        )
    return verdict(
        WITHIN,
        True,
        f"{label}: cumulative BED {_r1(cum):g} {unit} is within {no_rm:g} {unit} "
        f"with an interval of {interval:g} months (>= {interval_min:g}).",
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
) -> RegimenCheck:
    ab = _gy2_alpha_beta(rs)
    cand_eqd2 = eqd2(n, d, ab)
    cum_eqd2 = sum(c.eqd2_gy2 for c in courses) + cand_eqd2
    cum2 = sum(c.bed_gy2 for c in courses) + bed(n, d, ab)
    sbrt_part = sum(c.eqd2_gy2 for c in courses if c.technique == "sbrt")
    interval_min = _p(rs, "interval_months_min")
    sbrt_max = _p(rs, "sbrt_eqd2_dmax_max_gy")
    cum_max = _p(rs, "cumulative_eqd2_dmax_max_gy")
    ratio_max = _p(rs, "sbrt_to_cumulative_ratio_max")
    verdict = partial(RegimenCheck, label, n, d, cand_eqd2, cum_eqd2, cum2, cum_eqd2)
    problems: list[str] = []
    if interval is not None and interval < interval_min:
        problems.append(
            f"the interval of {interval:g} months is below the minimum of {interval_min:g} months"
        )
    if any(c.technique == "sbrt" and c.eqd2_gy2 > sbrt_max for c in courses):
        problems.append(f"an SBRT course exceeds {sbrt_max:g} Gy EQD2")
    if cum_eqd2 > cum_max:
        problems.append(f"the cumulative EQD2 of {_r1(cum_eqd2):g} Gy is above {cum_max:g} Gy")
    if cum_eqd2 > 0 and sbrt_part / cum_eqd2 > ratio_max:
        problems.append(f"the SBRT share of the cumulative dose is above {ratio_max:g}")
    if problems:
        return verdict(
            OUTSIDE,
            False,
            f"{label}: outside published experience: " + "; ".join(problems) + ".",
        )
    if interval is None:
        return verdict(
            UNDETERMINED,
            None,
            f"{label}: cumulative EQD2 {_r1(cum_eqd2):g} Gy, but the interval is not "
            "recorded, so the check is undetermined.",
        )
    return verdict(
        WITHIN,
        True,
        f"{label}: cumulative EQD2 {_r1(cum_eqd2):g} Gy is within {cum_max:g} Gy "
        f"with an interval of {interval:g} months (>= {interval_min:g}).",
    )


# The patient keys ``assess_reirradiation`` reads (the decisive-unknown search re-checks only
# when one of them changes; tests/plan/test_plan_decision_inputs.py checks it).
REIRRADIATION_INPUTS = frozenset({"prior_radiotherapy", "spinal_level"})


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
    rs_id = choose_rule_set(prior, rules)
    rs = evidence.rule_set(rs_id)
    ab, ab_basis = alpha_beta_at(rs, patient.spinal_level)
    ab2 = _gy2_alpha_beta(rs)
    courses = tuple(
        CourseDose(
            fractions=c.fractions,
            dose_per_fraction_gy=c.dose_per_fraction_gy,
            months_before=c.months_before,
            technique=c.technique,
            bed=bed(c.fractions, c.dose_per_fraction_gy, ab),
            bed_gy2=bed(c.fractions, c.dose_per_fraction_gy, ab2),
            eqd2_gy2=eqd2(c.fractions, c.dose_per_fraction_gy, ab2),
        )
        for c in prior
    )
    missing = tuple(
        f"prior_radiotherapy[{i}].months_before"
        for i, c in enumerate(prior)
        if c.months_before is None
    )
    interval = (
        None if missing else min(c.months_before for c in courses if c.months_before is not None)
    )

    def check(n: int, d: float) -> RegimenCheck:
        label = regimen_label(n, d)
        if rs.metric == "cord_bed":
            return _check_nieder(rs, courses, interval, n, d, ab, label)
        return _check_hytec(rs, courses, interval, n, d, label)

    checks = {r.id: check(r.fractions, r.dose_per_fraction_gy) for r in evidence.regimens.regimens}
    astro = rules.reirradiation.astro_reirradiation_regimens
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
    if rs.metric == "cord_bed" and ab != ab2:
        for note in rs.notes[:1]:
            reasons.append(
                Reason(
                    "reirradiation_lumbar_limits", note, (rs.source,), level_inputs, rs.verification
                )
            )
    if rs_id == rules.reirradiation.sbrt_rule_set:
        reasons.append(
            Reason(
                "reirradiation_sbrt_dose_assumption",
                rules.reirradiation.sbrt_dose_note,
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
    if missing:
        reasons.append(
            Reason(
                "reirradiation_interval_unknown",
                f"The interval since an earlier course is not recorded ({', '.join(missing)}); "
                "the limits cannot be confirmed without it.",
                (rs.source,),
                {},
                rs.verification,
            )
        )
    for sid in rules.reirradiation.supporting_rule_sets:
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
    )
