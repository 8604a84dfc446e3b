"""The document's ``summary`` (issue 10): the board summary as data, read from the plan, and
the one reading of what leads that every renderer uses."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from mescc.assessment import assess
from mescc.document import assessment_to_dict
from mescc.kb.loader import KnowledgeBase
from mescc.patient import Patient
from mescc.summary import board_summary, recommendation
from patient_strategies import patients


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients())
def test_the_summary_says_what_the_plan_decided(kb: KnowledgeBase, patient: Patient) -> None:
    a = assess(patient, kb)
    assert a.plan is not None
    doc = assessment_to_dict(a)
    plan = doc["plan"]
    s = doc["summary"]
    assert s == board_summary(doc), "the stored summary is a function of the document"
    rec = s["recommendation"]
    assert rec["regimen"] == a.plan.recommended_regimen == plan["recommended_regimen"]
    lead = plan["recommended_option"]
    assert (rec["kind"] == "none") == (lead is None)
    if rec["kind"] == "radiotherapy":
        assert rec["course"]["regimen"] == rec["regimen"]
        assert rec["basis"]["code"] and rec["basis"]["evidence"]
    else:
        assert rec["course"] is None and rec["regimen"] is None
    assert rec["regimen"] not in [alt["regimen"] for alt in rec["alternatives"]]
    p = s["prognosis"]
    assert p["class"] == plan["prognosis"]["class"]
    assert p["ranking_class"] == plan["prognosis"]["ranking_class"]
    assert p["agreeing"] is None or p["agreeing"] <= p["voting"]
    for question in ("decompression", "stabilisation"):
        assert s["surgery"][question]["consider"] == plan["surgery"][question]["consider"]
        if s["surgery"][question]["consider"]:
            assert s["surgery"][question]["deciding"], "a suggested opinion names its criterion"
    sins = a.instruments["sins_2010"]
    if sins.status == "computed" and sins.points is not None and sins.points >= 7:
        assert s["surgery"]["stabilisation"]["consider"] is True
    assert [u["input"] for u in s["decisive_unknowns"]] == [
        u["input"] for u in plan["decisive_unknowns"]
    ]


def test_a_converted_input_used_by_the_plan_is_a_warning(kb: KnowledgeBase) -> None:
    doc = assessment_to_dict(
        assess({"primary_tumor": "breast", "ecog": 2, "visceral_metastases": False}, kb)
    )
    converted = [w for w in doc["summary"]["warnings"] if w["kind"] == "converted_input"]
    assert converted, "van der Linden scored a KPS converted from ECOG"
    voters = {v["instrument"] for v in doc["plan"]["prognosis"]["consensus"]["votes"]}
    assert {w["instrument"] for w in converted} <= voters
    assert any("converted from ecog 2" in w["conversion"] for w in converted)


def test_best_supportive_care_leads_without_a_regimen(kb: KnowledgeBase) -> None:
    from pathlib import Path

    from mescc.loading import load_patient

    example = Path(__file__).resolve().parents[1] / "examples" / "near_end_of_life.yaml"
    data: Any = load_patient(example.read_bytes(), source=example.name, syntax="yaml")
    rec = assessment_to_dict(assess(data, kb))["summary"]["recommendation"]
    assert rec["kind"] == "other" and rec["id"] == "best_supportive_care"
    assert rec["regimen"] is None


def test_recommendation_of_an_empty_or_foreign_plan_suggests_nothing() -> None:
    for plan in ({}, {"radiotherapy": "not a list"}, {"recommended_option": "x"}):
        assert recommendation(plan)["kind"] == "none"


def test_an_exclusion_the_patient_passes_never_decides(kb: KnowledgeBase) -> None:
    """Criterion ``met`` means satisfied: a breast cancer (not radiosensitive) with Bilsky 1c
    is decided by the low compression grade, not by the radiosensitive-tumour exclusion."""
    data = {"primary_tumor": "breast", "escc_grade": "1c", "prior_radiotherapy": []}
    deciding = assessment_to_dict(assess(data, kb))["summary"]["surgery"]["decompression"]
    ids = [c["id"] for c in deciding["deciding"]]
    assert "high_grade_compression" in ids
    assert "radiosensitive_tumour" not in ids and "previous_rt_prevents_study_dose" not in ids
    lymphoma = assessment_to_dict(assess({**data, "primary_tumor": "lymphoma"}, kb))
    ids = [c["id"] for c in lymphoma["summary"]["surgery"]["decompression"]["deciding"]]
    assert "radiosensitive_tumour" in ids or "not_radiosensitive" in ids
