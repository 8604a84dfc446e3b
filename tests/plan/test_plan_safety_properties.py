"""Safety properties of the plan, over thousands of generated patients (issue 8).

Each property is a rule the plan must keep for every patient, not only the review's cases:

* no patient whom more than half of the voting instruments class poor gets more than 5
  fractions first (nor a patient predicted to die within 2 months);
* a SINS of 7 or more always yields a stability opinion (whatever the expected survival);
* no regimen beyond the re-irradiation limits is ranked first or called supported;
* a patient's priority never puts a regimen with more fractions first for a poor class;
* a missing input never moves the patient to a longer course than every value it could take
  would, and never withholds a surgical opinion that every such value would give.

The generated patients (``patient_strategies``) have every key missing about a third of the
time, numbers around the published cut-offs, and sometimes earlier radiotherapy and preferences.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mescc.assessment import assess
from mescc.fields import FIELD_BY_KEY
from mescc.kb.loader import KnowledgeBase, load_kb
from mescc.patient import Patient
from mescc.plan import Plan, build_plan
from mescc.plan import decisive_unknowns as du
from mescc.plan.rules import checked_rules
from patient_strategies import patients, plan_patients

KB = load_kb(None)
MANY = settings(
    max_examples=2000,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEWER = settings(
    max_examples=400,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def plan_for(patient: Patient, kb: KnowledgeBase = KB) -> Plan:
    """The plan without the decisive-unknown search (it never changes the decision)."""
    return build_plan(assess(patient, kb, with_plan=False), kb, decisive_unknowns=False)


def lead_fractions(plan: Plan) -> int:
    """Fractions of what leads: a regimen's, or 0 (best supportive care, nothing supported)."""
    rec = plan.core.radiotherapy.recommended
    return rec.fractions if rec is not None else 0


@MANY
@given(plan_patients())
def test_majority_poor_or_dying_never_gets_more_than_five_fractions(patient: Patient) -> None:
    plan = plan_for(patient)
    p = plan.core.prognosis
    counted = p.consensus.counted if p.consensus is not None else ()
    poor = sum(1 for v in counted if v.prognosis_class == "poor")
    if (counted and poor * 2 > len(counted)) or p.near_end_of_life:
        assert lead_fractions(plan) <= 5, plan.as_dict()["prognosis"]["consensus"]
    if p.near_end_of_life:
        assert lead_fractions(plan) <= 1 or plan.core.radiotherapy.lead_option is not None


@MANY
@given(plan_patients())
def test_sins_seven_or_more_always_yields_a_stability_opinion(patient: Patient) -> None:
    plan = plan_for(patient)
    sins = assess(patient, KB, with_plan=False).instruments["sins_2010"]
    if sins.status == "computed" and sins.points is not None and sins.points >= 7:
        assert plan.core.surgery.stabilisation.consider is True
        assert plan.core.surgery.consider is True


@MANY
@given(plan_patients())
def test_nothing_beyond_the_reirradiation_limits_is_supported(patient: Patient) -> None:
    plan = plan_for(patient)
    reirr = plan.core.reirradiation
    if reirr is None:
        return
    for option in plan.core.radiotherapy.options:
        if option.supported:
            assert reirr.check_for(option.regimen_id).within_limits is not False, option.label


@MANY
@given(plan_patients())
def test_priorities_never_lengthen_a_poor_class(patient: Patient) -> None:
    plan = plan_for(patient)
    cls = plan.core.radiotherapy.ranking_class
    if cls not in ("poor", "near_end_of_life", "near_end_of_life_no_benefit"):
        return
    balanced = Patient.model_validate(
        {**patient.model_dump(exclude_none=True), "preferences": {"priority": "balanced"}}
    )
    assert lead_fractions(plan) <= lead_fractions(plan_for(balanced)) or (
        # re-irradiation may rule the balanced first out; never a longer one for priority alone
        plan.core.reirradiation is not None
    )


#: Keys whose absence the missing-input property is checked for (patient keys the plan and
#: the survival instruments read; numeric ones through their cut-off probes).
MISSING_KEYS = tuple(
    k
    for k in (
        "age_years", "primary_tumor", "months_from_cancer_diagnosis", "other_bone_metastases",
        "visceral_metastases", "ambulatory_status", "motor_deficit_days", "ecog", "kps",
        "extraspinal_bone_metastases", "vertebral_body_metastases", "frankel_grade",
        "hepatic_metastases", "extraskeletal_metastases", "hospitalized_last_3_months",
        "prior_palliative_chemotherapy_courses", "escc_grade", "medically_operable",
        "paraplegia_hours", "compression_single_area", "neurological_signs",
    )
    if k in FIELD_BY_KEY
)  # fmt: skip


def _without(patient: Patient, key: str) -> Patient | None:
    data = patient.model_dump(exclude_none=True)
    if key not in data:
        return None
    data.pop(key)
    return Patient.model_validate(data)


@FEWER
@given(plan_patients() | patients(complete=True), st.sampled_from(MISSING_KEYS))
def test_a_missing_input_never_lengthens_the_course_nor_withholds_an_opinion(
    patient: Patient, key: str
) -> None:
    gap = _without(patient, key)
    if gap is None:
        return
    missing_plan = plan_for(gap)
    a = assess(gap, KB, with_plan=False)
    rules = checked_rules(KB, missing_plan_evidence())
    cuts = du._plan_cuts(missing_plan_evidence(), rules, missing_plan.core)
    values = du.values_for(key, gap, KB, cuts)
    assert values, key
    completions = [plan_for(gap.with_value(key, v)) for v in values]
    # the course: never longer than the longest any value would give
    if missing_plan.core.radiotherapy.recommended is not None:
        assert lead_fractions(missing_plan) <= max(lead_fractions(c) for c in completions), (
            key,
            a.patient.given(),
        )
    # a surgical opinion every value would give is never withheld for the gap
    for question in ("decompression", "stabilisation"):
        if all(getattr(c.core.surgery, question).consider for c in completions):
            assert getattr(missing_plan.core.surgery, question).consider, (question, key)


def missing_plan_evidence() -> Any:
    from mescc.kb.evidence import load_evidence

    return load_evidence()
