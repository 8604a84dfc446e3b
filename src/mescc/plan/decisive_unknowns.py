"""Decisive unknowns: which missing inputs could change what leads or a surgical opinion.

For every input that is missing (an input some instrument reported as missing, or a key the
plan reads directly), the patient is re-assessed with each allowed value substituted in turn
(every value of a finite domain; for a numeric key, values on both sides of every cut-off the
instruments and the plan rules use), and the plan is rebuilt with the same rules. An input is
*decisive* when some value changes what leads (the recommended regimen, or best supportive
care), the decompression opinion or the stability opinion.

Because one missing key alone rarely completes an instrument with several missing items (e.g.
six SINS components), each such instrument is also tried at every group it can still reach
(``possible_groups`` of its result) and reported when that could change the plan.

Clinical trap guarded: an unknown is never filled with a default; the substitution only asks
"what if", and the answer is shown next to the input it concerns, decisive ones first.
Combinations of several separately missing inputs are not enumerated (only single inputs and
whole instruments); this is said in the output.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mescc.assessment import Assessment
from mescc.consistency import contradictions
from mescc.engine.compile import compile_kb
from mescc.engine.evaluate import evaluate
from mescc.fields import COURSE_FIELDS, FIELD_BY_KEY
from mescc.kb.evidence import Evidence
from mescc.kb.loader import KnowledgeBase
from mescc.kb.schema import Predicate
from mescc.patient import Patient
from mescc.plan.core import PlanCore, views_of
from mescc.plan.prognosis import Prognosis, ResultView, classify_prognosis
from mescc.plan.radiotherapy import rank_regimens
from mescc.plan.reasons import Citer
from mescc.plan.reirradiation import REIRRADIATION_INPUTS, Reirradiation, assess_reirradiation
from mescc.plan.rules import PlanRules
from mescc.plan.surgery import DECISION_INPUTS, surgery_decision

REGIMEN = "recommended_regimen"
SURGERY = "surgery"
DECOMPRESSION = "decompression"
STABILISATION = "stabilisation"
Decision = tuple[str | None, bool, bool]
SCOPE_NOTE = (
    "Each missing input was tried alone with every allowed value (numeric inputs on both sides "
    "of every cut-off), and each incomplete instrument at every group it can still reach; "
    "combinations of several separately missing inputs are not enumerated."
)
QUIET = "no single value changes what leads or a surgical opinion"
_SKIP = {"id", "steroid_contraindication_note"}


@dataclass(frozen=True)
class DecisiveUnknown:
    """A missing input and whether knowing it could change the plan."""

    input: str
    inputs: tuple[str, ...]
    could_change: tuple[str, ...]
    detail: str
    instrument: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "inputs": list(self.inputs),
            "could_change": list(self.could_change),
            "detail": self.detail,
            "instrument": self.instrument,
        }


def _cuts(key: str, kb: KnowledgeBase, rules_cuts: Iterable[float]) -> set[float]:
    cuts: set[float] = set(rules_cuts)

    def add(p: Predicate) -> None:
        for v in (p.lt, p.le, p.gt, p.ge):
            if v is not None:
                cuts.add(float(v))
        for v in (*(p.in_ or ()), *(p.not_in or ())):
            if isinstance(v, int | float) and not isinstance(v, bool):
                cuts.add(float(v))

    for inst in kb.instruments.values():
        if inst.applies_to and key in inst.applies_to:
            add(inst.applies_to[key])
        for item in inst.items:
            whens = [c.when for c in item.categories] + [u.when for u in item.undefined]
            for when in whens:
                if key in when:
                    add(when[key])
    return cuts


def candidate_values(
    key: str, kb: KnowledgeBase, extra_cuts: Iterable[float] = ()
) -> tuple[Any, ...]:
    """Values to try for a missing key: its finite domain, or points around every cut-off."""
    return _candidate_values(key, kb, tuple(extra_cuts))


@lru_cache(maxsize=1024)
def _candidate_values(
    key: str, kb: KnowledgeBase, extra_cuts: tuple[float, ...]
) -> tuple[Any, ...]:
    """``candidate_values``, once per (key, knowledge base, plan cut-offs)."""
    spec = FIELD_BY_KEY[key]
    if spec.kind in ("bool", "enum"):
        return spec.domain() or ()
    dom = spec.domain()
    if dom is not None and len(dom) <= 12:
        return dom
    lo = spec.minimum if spec.minimum is not None else 0.0
    hi = spec.maximum
    points: set[float] = {lo}
    for c in _cuts(key, kb, extra_cuts):
        points.update({c - 1, c, c + 1})
        if spec.kind == "number":
            points.update({c - 0.5, c + 0.5})
    points.add(max(points) + 10 if hi is None else hi)
    out = sorted(p for p in points if p >= lo and (hi is None or p <= hi))
    if spec.kind == "int":
        return tuple(dict.fromkeys(int(p) for p in out if float(p).is_integer()))
    return tuple(out)


def _first(
    prognosis: Prognosis,
    priority: str | None,
    evidence: Evidence,
    rules: PlanRules,
    citer: Citer,
    reirradiation: Reirradiation | None,
) -> str | None:
    ranked = rank_regimens(prognosis, priority, evidence, rules, citer, reirradiation)
    option = ranked.recommended_option
    return option["label"] if option is not None else None


# (evidence digest, plan rules, ranking class, priority) -> the recommended regimen's label,
# across calls. The rules object is kept in the value, so the id in the key cannot be reused.
_RANKED_FIRST: dict[tuple[str, int, str, str | None, bool], tuple[PlanRules, str | None]] = {}


def with_value(patient: Patient, key: str, value: Any) -> Patient:
    """The same patient with one key filled in (``sins_<part>`` fills the SINS object)."""
    data = patient.model_dump(exclude_none=True)
    if key.startswith("sins_"):
        sins = dict(data.get("sins") or {})
        sins[key.removeprefix("sins_")] = value
        data["sins"] = sins
    elif key.startswith("prior_radiotherapy["):
        index = int(key[key.index("[") + 1 : key.index("]")])
        field_name = key.rsplit(".", 1)[1]
        courses = [dict(c) for c in data.get("prior_radiotherapy") or ()]
        courses[index][field_name] = value
        data["prior_radiotherapy"] = courses
    else:
        data[key] = value
    return Patient.model_validate(data)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _detail(
    key: str,
    base: Decision,
    outcomes: Sequence[tuple[Any, Decision]],
) -> tuple[tuple[str, ...], str]:
    changes: list[str] = []
    parts: list[str] = []
    regimen_values = [(v, d) for v, d in outcomes if d[0] != base[0]]
    if regimen_values:
        changes.append(REGIMEN)
        by_result: dict[str | None, list[str]] = {}
        for v, d in regimen_values:
            by_result.setdefault(d[0], []).append(_show(v))
        for result, vals in by_result.items():
            shown = result or "no ranking claim"
            parts.append(f"{key} = {', '.join(vals)} would put {shown} first")
        parts[-1] += f" (now {base[0] or 'no ranking claim'})"
    for index, name, words in (
        (1, DECOMPRESSION, "a decompression opinion"),
        (2, STABILISATION, "a stability opinion"),
    ):
        flips = [(v, d) for v, d in outcomes if d[index] != base[index]]
        if not flips:
            continue
        changes.append(name)
        shown_values = ", ".join(_show(v) for v, _ in flips)
        if base[index]:
            parts.append(f"{key} = {shown_values} would no longer suggest {words} (now suggested)")
        else:
            parts.append(f"{key} = {shown_values} would suggest {words} (now not suggested)")
    if DECOMPRESSION in changes or STABILISATION in changes:
        changes.append(SURGERY)
    return tuple(changes), "; ".join(parts)


def _missing_keys(assessment: Assessment, core: PlanCore, patient: Patient) -> list[str]:
    row = patient.to_row()
    keys: dict[str, None] = {}
    for r in assessment.instruments.values():
        for k in r.missing:
            if k in FIELD_BY_KEY and row.get(k) is None:
                keys[k] = None
    plan_missing = (
        *core.surgery.missing,
        *core.corticosteroids.missing,
        *(core.reirradiation.missing if core.reirradiation else ()),
    )
    for k in plan_missing:
        if (k in FIELD_BY_KEY and row.get(k) is None) or k.startswith("prior_radiotherapy["):
            keys[k] = None
    if core.reirradiation is not None and patient.spinal_level is None:
        keys["spinal_level"] = None
    return [k for k in keys if k not in _SKIP]


def find_decisive_unknowns(
    assessment: Assessment,
    core: PlanCore,
    kb: KnowledgeBase,
    evidence: Evidence,
    rules: PlanRules,
    citer: Citer,
    *,
    allow_unverified: bool = False,
) -> tuple[DecisiveUnknown, ...]:
    """Every missing input with whether it could change the regimen or surgery; decisive first."""
    patient = assessment.patient
    base = core.decision
    views = views_of(assessment.instruments)
    plan_cuts = _plan_cuts(evidence, rules, core)
    decisive: list[DecisiveUnknown] = []
    quiet: list[DecisiveUnknown] = []
    decisive_keys: set[str] = set()

    prognoses: dict[tuple[tuple[str, ResultView], ...], Prognosis] = {}
    compiled = compile_kb(kb)
    row0 = patient.to_row()

    ranked_with_reirradiation: dict[tuple[int, str, str | None, bool], str | None] = {}

    def rebuild(
        p: Patient,
        v: Mapping[str, ResultView],
        changed: tuple[tuple[str, ResultView], ...],
        reirradiation: Reirradiation | None,
    ) -> Decision:
        """(what leads, decompression, stabilisation) with the same rules as ``build_core``.

        ``changed`` lists the views that differ from the patient's own. The prognosis depends
        on the views alone, so it is classified once per distinct ``changed``. The ranking
        depends only on the prognosis class, the priority and the re-irradiation check, so it
        is computed once per combination (without earlier radiotherapy, kept across calls,
        keyed by the evidence digest and the plan rules). The surgery flag comes from
        ``surgery_decision``, the function ``assess_surgery`` itself decides with; no reasons
        or citations are built.
        """
        prognosis = prognoses.get(changed)
        if prognosis is None:
            prognosis = classify_prognosis(v, kb, rules, allow_unverified=allow_unverified)
            prognoses[changed] = prognosis
        priority = p.preferences.priority if p.preferences else None
        cls = prognosis.ranking_class
        if reirradiation is None:
            key = (evidence.digest, id(rules), cls, priority, prognosis.preferences_may_lengthen)
            if key not in _RANKED_FIRST:
                first = _first(prognosis, priority, evidence, rules, citer, None)
                _RANKED_FIRST[key] = (rules, first)
            label = _RANKED_FIRST[key][1]
        else:
            rkey = (id(reirradiation), cls, priority, prognosis.preferences_may_lengthen)
            if rkey not in ranked_with_reirradiation:
                ranked_with_reirradiation[rkey] = _first(
                    prognosis, priority, evidence, rules, citer, reirradiation
                )
            label = ranked_with_reirradiation[rkey]
        flags = surgery_decision(p, v, prognosis, kb, evidence, rules).flags
        return label, flags[0], flags[1]

    decisions: dict[tuple[tuple[str, ResultView], ...], Decision] = {}

    def same_patient(
        v: Mapping[str, ResultView], changed: tuple[tuple[str, ResultView], ...]
    ) -> Decision:
        """``rebuild`` of the patient itself with other views: once per distinct ``changed``."""
        decision = decisions.get(changed)
        if decision is None:
            decision = decisions[changed] = rebuild(patient, v, changed, core.reirradiation)
        return decision

    reirradiations: list[Reirradiation | None] = []  # kept alive: their ids key the memo

    for key in _missing_keys(assessment, core, patient):
        values = values_for(key, patient, kb, plan_cuts)
        outcomes: list[tuple[Any, Decision]] = []
        readers = [ci for ci in compiled if key in ci.inputs]
        # A key the decision does not read itself acts only through the instruments' views.
        field_name = key.split("[", 1)[0]
        direct = field_name in DECISION_INPUTS or field_name in REIRRADIATION_INPUTS
        recheck = field_name in REIRRADIATION_INPUTS
        for value in values:
            row = dict(row0)
            row[key] = value
            v2 = dict(views)
            changed: list[tuple[str, ResultView]] = []
            for ci in readers:  # only the instruments that read this key can change
                view = ResultView.of(evaluate(ci, row, kb.version))
                if view != views[ci.id]:
                    v2[ci.id] = view
                    changed.append((ci.id, view))
            if direct:
                if key.startswith("prior_radiotherapy["):
                    p2 = with_value(patient, key, value)
                else:
                    p2 = patient.with_value(key, value)
                reirradiation = core.reirradiation
                if recheck:
                    reirradiation = assess_reirradiation(p2, evidence, rules)
                    reirradiations.append(reirradiation)
                outcomes.append((value, rebuild(p2, v2, tuple(changed), reirradiation)))
            else:
                outcomes.append((value, same_patient(v2, tuple(changed))))
        changes, detail = _detail(key, base, outcomes)
        if changes:
            decisive.append(DecisiveUnknown(key, (key,), changes, detail))
            decisive_keys.add(key)
        else:
            quiet.append(
                DecisiveUnknown(
                    key,
                    (key,),
                    (),
                    QUIET,
                )
            )

    for iid, result in assessment.instruments.items():
        if (
            result.status != "not_computable"
            or len(result.missing) < 2
            or not result.possible_groups
        ):
            continue
        if decisive_keys.intersection(result.missing):
            continue
        inst = kb.instruments[iid]
        outcomes_g: list[tuple[Any, Decision]] = []
        for label in result.possible_groups:
            points = _points_in(inst.groups, label, result.possible_points)
            v2 = dict(views)
            view = ResultView(iid, "computed", points, label, inst.verification)
            v2[iid] = view
            outcomes_g.append((f"group {label}", same_patient(v2, ((iid, view),))))
        changes, detail = _detail(inst.name, base, outcomes_g)
        if changes:
            keys = tuple(result.missing)
            decisive.append(
                DecisiveUnknown(
                    ", ".join(keys),
                    keys,
                    changes,
                    f"If {', '.join(keys)} were known: {detail}",
                    instrument=iid,
                )
            )
    return (*decisive, *quiet)


def _points_in(groups: Sequence[Any], label: str, possible: tuple[int, int] | None) -> int | None:
    for g in groups:
        if g.label == label and g.range is not None:
            lo, hi = g.range
            if possible is not None:
                lo, hi = max(lo, possible[0]), min(hi, possible[1])
            return int(lo)
    return None


def _plan_cuts(
    evidence: Evidence, rules: PlanRules, core: PlanCore
) -> dict[str, tuple[float, ...]]:
    cuts: dict[str, list[float]] = {}
    for ec in evidence.surgery.patchell.eligibility:
        if ec.patient_key and ec.threshold is not None and ec.patient_key in FIELD_BY_KEY:
            cuts.setdefault(ec.patient_key, []).append(ec.threshold)
    if core.reirradiation is not None:
        interval = core.reirradiation.rule_set.parameters.get("interval_months_min")
        if interval is not None:
            cuts.setdefault("months_before", []).append(interval)
    return {k: tuple(v) for k, v in cuts.items()}


def _interval_values(cuts: Mapping[str, tuple[float, ...]]) -> tuple[float, ...]:
    points: set[float] = {0.0}
    for c in cuts.get("months_before", ()):
        points.update({c - 1, c - 0.5, c, c + 0.5, c + 1, c * 4})
    return tuple(sorted(p for p in points if p >= 0))


def values_for(
    key: str, patient: Patient, kb: KnowledgeBase, plan_cuts: Mapping[str, tuple[float, ...]]
) -> tuple[Any, ...]:
    """The values a missing input is tried with: allowed, and consistent with the record.

    A value that would contradict another recorded finding (``mescc.consistency``, e.g. Frankel
    E for a paraplegic patient) is not a value the input could take, so it is not tried.
    """
    if key.startswith("prior_radiotherapy[") and key.endswith(".cord_max_dose_gy"):
        return _allowed_for_a_course("cord_max_dose_gy", _cord_dose_values(patient, key))
    if key.startswith("prior_radiotherapy["):
        return _allowed_for_a_course(key.rsplit(".", 1)[1], _interval_values(plan_cuts))
    values = candidate_values(key, kb, plan_cuts.get(key, ()))
    row = patient.to_row()
    return tuple(v for v in values if not contradictions({**row, key: v}))


_COURSE_FIELD = {spec.key: spec for spec in COURSE_FIELDS}


def _allowed_for_a_course(field: str, values: Iterable[float]) -> tuple[float, ...]:
    """The probe values within the course field's range (``mescc.fields.COURSE_FIELDS``): a
    value the record could not hold is not one the input could take. The range's top is
    tried instead of anything above it, so the search still reaches the highest value."""
    spec = _COURSE_FIELD[field]
    low = spec.minimum if spec.minimum is not None else float("-inf")
    high = spec.maximum if spec.maximum is not None else float("inf")
    kept = {min(max(v, low), high) for v in values}
    return tuple(sorted(kept))


def _cord_dose_values(patient: Patient, key: str) -> tuple[float, ...]:
    """Probe values of an earlier course's unrecorded cord maximum: quarters of its total dose
    (the prescription is the upper bound the check already used)."""
    index = int(key[key.index("[") + 1 : key.index("]")])
    course = (patient.prior_radiotherapy or ())[index]
    total = course.fractions * course.dose_per_fraction_gy
    return tuple(round(total * q / 4, 2) for q in (1, 2, 3, 4) if total * q / 4 >= 0.1)


def scope_note() -> str:
    """What the search covers, for the output."""
    return SCOPE_NOTE
