"""The decisive-unknown search's shortcuts give the answers of the full plan.

``find_decisive_unknowns`` asks "what if this missing input had that value?" about fifty times
per patient, so it takes shortcuts: only the instruments reading the key are re-evaluated, the
prognosis and the decision are memoised per distinct change of instrument results, the surgery
flag comes from ``surgery_decision`` (no reasons), the re-irradiation check is redone only for
the keys in ``REIRRADIATION_INPUTS``, and a key outside ``DECISION_INPUTS`` acts only through
the instrument results.

Here every one of those answers is recomputed the slow way — the substituted patient validated
again, every instrument re-assessed, the whole plan core built with reasons — and the two must
agree, over generated patients (earlier radiotherapy and preferences included) and the examples.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from mescc.assessment import Assessment, assess_instruments
from mescc.kb.evidence import Evidence
from mescc.kb.loader import KnowledgeBase
from mescc.patient import Patient
from mescc.plan import build_plan
from mescc.plan import decisive_unknowns as du
from mescc.plan.core import PlanCore, build_core, views_of
from mescc.plan.prognosis import ResultView
from mescc.plan.reasons import Citer
from mescc.plan.reirradiation import REIRRADIATION_INPUTS
from mescc.plan.rules import PlanRules
from mescc.plan.surgery import DECISION_INPUTS
from patient_strategies import plan_patients

Decision = tuple[str | None, bool, bool]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class SlowPlan:
    """The reference: every "what if" answered by the full path."""

    def __init__(self, kb: KnowledgeBase, evidence: Evidence, rules: PlanRules, citer: Citer):
        self.kb, self.evidence, self.rules, self.citer = kb, evidence, rules, citer

    def decision(self, patient: Patient) -> Decision:
        views = views_of(assess_instruments(patient, self.kb).instruments)
        return self.core(patient, views).decision

    def core(self, patient: Patient, views: dict[str, ResultView]) -> PlanCore:
        return build_core(patient, views, self.kb, self.evidence, self.rules, self.citer)

    def search(self, assessment: Assessment, core: PlanCore) -> dict[str, tuple[Any, ...]]:
        """input (or instrument id) -> (could_change, detail), as the fast search reports."""
        patient = assessment.patient
        base = core.decision
        cuts = du._plan_cuts(self.evidence, self.rules, core)
        out: dict[str, tuple[Any, ...]] = {}
        for key in du._missing_keys(assessment, core, patient):
            values = du.values_for(key, patient, self.kb, cuts)
            fill = du.with_value if key.startswith("prior_radiotherapy[") else Patient.with_value
            outcomes = [(v, self.decision(fill(patient, key, v))) for v in values]
            changes, detail = du._detail(key, base, outcomes)
            out[key] = (changes, detail if changes else du.QUIET)
        decisive = {k for k, (changes, _) in out.items() if changes}
        views = views_of(assessment.instruments)
        for iid, result in assessment.instruments.items():
            if (
                result.status != "not_computable"
                or len(result.missing) < 2
                or not result.possible_groups
                or decisive.intersection(result.missing)
            ):
                continue
            inst = self.kb.instruments[iid]
            group_outcomes = []
            for label in result.possible_groups:
                points = du._points_in(inst.groups, label, result.possible_points)
                view = ResultView(iid, "computed", points, label, inst.verification)
                core_g = self.core(patient, {**views, iid: view})
                group_outcomes.append((f"group {label}", core_g.decision))
            changes, detail = du._detail(inst.name, base, group_outcomes)
            if changes:
                out[iid] = (changes, f"If {', '.join(result.missing)} were known: {detail}")
        return out


def fast_search(patient: Patient, kb: KnowledgeBase) -> tuple[Assessment, PlanCore, dict]:
    assessment = assess_instruments(patient, kb)
    plan = build_plan(assessment, kb)
    found = {(u.instrument or u.input): (u.could_change, u.detail) for u in plan.decisive_unknowns}
    return assessment, plan.core, found


@pytest.fixture(scope="module")
def slow(kb: KnowledgeBase, evidence: Evidence, rules: PlanRules, citer: Citer) -> SlowPlan:
    return SlowPlan(kb, evidence, rules, citer)


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(plan_patients())
def test_fast_search_equals_the_full_plan(
    kb: KnowledgeBase, slow: SlowPlan, patient: Patient
) -> None:
    assessment, core, found = fast_search(patient, kb)
    assert found == slow.search(assessment, core)


def variants(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The record, and the record without each input the decision or the re-irradiation check
    reads itself (so that the search has to fill exactly that input in)."""
    yield "as recorded", data
    for key in sorted((DECISION_INPUTS | REIRRADIATION_INPUTS) & set(data)):
        if key == "prior_radiotherapy":
            courses = [dict(c) for c in data[key]]
            for course in courses:
                course.pop("months_before", None)
            yield "without months_before", {**data, key: courses}
        else:
            yield f"without {key}", {k: v for k, v in data.items() if k != key}


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_examples_and_their_decision_inputs(
    kb: KnowledgeBase, slow: SlowPlan, example: Any, name: str
) -> None:
    """Each example, and each example without one of the decision's own inputs, agree."""
    for label, data in variants(example(name)):
        assessment, core, found = fast_search(Patient.from_data(data), kb)
        assert found == slow.search(assessment, core), f"{name}, {label}"


def _vignette(example: Any, name: str, change: dict[str, Any], drop: str) -> dict[str, Any]:
    data = {**example(name), **change}
    data.pop(drop, None)
    return data


@pytest.mark.parametrize(
    ("name", "change", "drop", "decisive"),
    [
        # Paraplegic with high-grade compression: > 48 h of paraplegia rules surgery out.
        (
            "intermediate_breast",
            {"escc_grade": "3", "ambulatory_status": "paraplegic", "frankel_grade": "A"},
            "paraplegia_hours",
            "paraplegia_hours",
        ),
        # An indication for surgery: inoperability would rule it out.
        ("intermediate_breast", {"escc_grade": "3"}, "medically_operable", "medically_operable"),
        # The histology decides radiosensitivity, hence whether compression is an indication.
        ("intermediate_breast", {"escc_grade": "3"}, "primary_tumor", "primary_tumor"),
        # The level sets the cord's alpha/beta of the re-irradiation check.
        (
            "prior_rt_within",
            {
                "prior_radiotherapy": [
                    {"fractions": 10, "dose_per_fraction_gy": 4.0, "months_before": 6}
                ]
            },
            "spinal_level",
            "spinal_level",
        ),
    ],
)
def test_each_input_the_decision_reads_is_searched_as_such(
    kb: KnowledgeBase,
    slow: SlowPlan,
    example: Any,
    name: str,
    change: dict[str, Any],
    drop: str,
    decisive: str,
) -> None:
    """Records where one of the decision's own inputs is missing and decisive."""
    assessment, core, found = fast_search(
        Patient.from_data(_vignette(example, name, change, drop)), kb
    )
    expected = slow.search(assessment, core)
    assert expected[decisive][0], f"{decisive} should be decisive in this record"
    assert found == expected
