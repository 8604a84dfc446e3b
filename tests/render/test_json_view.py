"""The two views of the assessment document (``mescc.render.json_view``).

Over every bundled example and generated patients: ``full`` is the document; ``summary`` keeps
every contract key with the document's value, the ranked options in the same order, the board
summary and what leads unchanged; every ``$ref`` and evidence id resolves in ``references``;
every citation it leaves out is in ``references``; and it is much smaller than the document.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from mescc.document import assessment_document
from mescc.kb.loader import KnowledgeBase, load_kb
from mescc.patient import Patient
from mescc.render.json_view import SHORT_TEXT_MAX, compact_json, json_view
from mescc.summary import recommendation
from patient_strategies import plan_patients

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))
#: The compact summary view of every bundled example stays under this many bytes (issue 10).
SUMMARY_MAX_BYTES = 40_000
#: The contract's keys of an instrument result (shared/contract.md, "Assessment output").
INSTRUMENT_KEYS = (
    "status",
    "points",
    "group",
    "category",
    "estimate",
    "items",
    "missing",
    "verification",
    "citation",
)
#: The contract's keys of a radiotherapy option, and the plan keys kept with their value.
OPTION_KEYS = (
    "regimen",
    "fractions",
    "dose_per_fraction_gy",
    "total_dose_gy",
    "bed_gy10",
    "eqd2_gy10",
)
PLAN_VALUE_KEYS = (
    "recommended_regimen",
    "recommended_option",
    "ranking_claim",
    "ranking_class",
    "priority",
    "warnings",
)


@cache
def _kb() -> KnowledgeBase:
    return load_kb(None)


@cache
def _example_document(name: str) -> str:
    path = next(p for p in EXAMPLES if p.stem == name)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return json.dumps(assessment_document(data, kb=_kb()))


def example(name: str) -> dict[str, Any]:
    """A fresh copy of an example's full document."""
    doc: dict[str, Any] = json.loads(_example_document(name))
    return doc


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, Mapping):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def _reasons(value: Any) -> Iterator[Mapping[str, Any]]:
    for v in _walk(value):
        if isinstance(v, Mapping) and isinstance(v.get("code"), str) and "evidence" in v:
            yield v


def check_views(doc: dict[str, Any]) -> dict[str, Any]:
    """Every property of the two views of ``doc``; returns the summary view."""
    original = copy.deepcopy(doc)
    assert json_view(doc, "full") == doc
    view = json_view(doc, "summary")
    assert doc == original, "json_view modified the document"
    json.loads(compact_json(view))  # plain JSON (no NaN, no tuples)
    assert view["detail"] == "summary"
    refs = view["references"]

    # contract keys, with the document's values
    for key in ("schema_version", "knowledge_base_version", "summary", "patient", "disclaimer"):
        assert view.get(key) == doc.get(key), key
    assert set(view["instruments"]) == set(doc["instruments"])
    for iid, result in doc["instruments"].items():
        for key in INSTRUMENT_KEYS:
            assert view["instruments"][iid][key] == result[key], f"{iid}.{key}"
    plan, full_plan = view["plan"], doc["plan"]
    for key in PLAN_VALUE_KEYS:
        assert plan[key] == full_plan[key], f"plan.{key}"
    assert recommendation(plan)["regimen"] == recommendation(full_plan)["regimen"]
    assert recommendation(plan)["kind"] == recommendation(full_plan)["kind"]
    # ranked: the same options in the same order, each with its course and rationale codes
    assert len(plan["radiotherapy"]) == len(full_plan["radiotherapy"])
    for short, option in zip(plan["radiotherapy"], full_plan["radiotherapy"], strict=True):
        for key in OPTION_KEYS:
            assert short[key] == option[key], key
        assert [r["code"] for r in _resolved(short["rationale"], refs)] == [
            r["code"] for r in option["rationale"]
        ]
    surgery = plan["surgery"]
    assert surgery["consider"] == full_plan["surgery"]["consider"]
    assert [r["code"] for r in _resolved(surgery["reasons"], refs)] == [
        r["code"] for r in full_plan["surgery"]["reasons"]
    ]
    for key in ("corticosteroids", "bone_modifying_agents"):
        assert plan[key]["suggest"] == full_plan[key]["suggest"], key
    assert (plan["reirradiation"] is None) == (full_plan["reirradiation"] is None)

    # every reference resolves; a reason keeps its code, evidence, inputs and verification
    for v in _walk(view):
        if isinstance(v, Mapping) and "$ref" in v:
            assert v["$ref"] in refs, v
    for reason in _reasons([view["plan"], refs]):
        for evidence_id in reason["evidence"]:
            assert evidence_id in refs, evidence_id
        assert "citation" not in reason
        assert len(reason.get("text", "")) <= SHORT_TEXT_MAX

    # a reason is one of the document's: same code, evidence, inputs and verification
    def key(r: Mapping[str, Any]) -> str:
        return json.dumps(
            [r["code"], r["evidence"], r.get("inputs") or {}, r.get("verification")],
            sort_keys=True,
        )

    full_keys = {key(r) for r in _reasons(doc["plan"])}
    for reason in _reasons([view["plan"], refs]):
        assert key(reason) in full_keys, reason
        if "text" in reason:
            assert any(r.get("text") == reason["text"] for r in _reasons(doc["plan"]))
    # every citation in references is the document's citation of that id
    cited: dict[str, set[str]] = {}
    for v in _walk(doc["plan"]):
        if isinstance(v, Mapping) and isinstance(v.get("citation"), list):
            for evidence_id, citation in zip(v.get("evidence", []), v["citation"], strict=True):
                cited.setdefault(evidence_id, set()).add(citation)
        elif isinstance(v, Mapping) and isinstance(v.get("source"), str) and "citation" in v:
            cited.setdefault(v["source"], set()).add(v["citation"])
    for ref, entry in refs.items():
        if "instrument" in entry:
            assert (
                ref in cited and doc["instruments"][entry["instrument"]]["citation"] in cited[ref]
            )
        elif "citation" in entry:
            assert entry["citation"] in cited[ref], ref
    # what is left out is said
    assert view["omitted"], "the summary view names what --detail full adds"
    for path, keys in view["omitted"].items():
        assert isinstance(path, str) and keys and all(isinstance(k, str) for k in keys)
    return view


def _resolved(items: list[Any], refs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [refs[x["$ref"]] if "$ref" in x else x for x in items]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_views(path: Path) -> None:
    doc = example(path.stem)
    view = check_views(doc)
    size = len(compact_json(view).encode("utf-8"))
    assert size < SUMMARY_MAX_BYTES, f"{path.name}: summary view is {size} bytes"
    assert size < len(compact_json(doc).encode("utf-8")) / 3


def test_summary_view_says_what_full_adds() -> None:
    doc = example("intermediate_breast")
    view = json_view(doc)
    assert all("outcomes" not in o for o in view["plan"]["radiotherapy"])
    assert "outcomes" in view["omitted"]["plan.radiotherapy[] (options the summary names)"]
    assert "guidelines" in view["omitted"]["plan.radiotherapy[] (other options)"]
    assert "high_dose_evidence" in view["omitted"]["plan.corticosteroids"]
    assert "criteria" in view["omitted"]["plan.surgery.decompression"]
    assert {"prognosis", "decisive_unknowns", "timing"} <= set(view["omitted"]["plan"])
    assert "prognosis" not in view["plan"]
    # the ranked-first option and the alternative the summary names keep their guidelines
    named = {a["regimen_id"] for a in view["summary"]["recommendation"]["alternatives"]}
    for option in view["plan"]["radiotherapy"]:
        named_here = option is view["plan"]["radiotherapy"][0] or option["regimen_id"] in named
        assert ("guidelines" in option) == named_here, option["regimen_id"]


def test_repeated_citations_and_reasons_are_written_once() -> None:
    doc = example("intermediate_breast")
    text = compact_json(json_view(doc))
    jco = next(
        c
        for r in _reasons(doc["plan"])
        for e, c in zip(r["evidence"], r["citation"], strict=True)
        if e == "rades_jco_2005"
    )
    assert compact_json(doc).count(jco) > 5
    assert text.count(jco) == 1
    # the surgery reasons given per question and again for surgery as a whole
    assert any(k.startswith("why-") for k in json.loads(text)["references"])


def test_the_views_share_nothing_with_the_document() -> None:
    doc = example("paraplegic")
    original = copy.deepcopy(doc)
    for detail in ("summary", "full"):
        view = json_view(doc, detail)  # type: ignore[arg-type]
        for value in _walk(view):
            if isinstance(value, dict):
                value["mutated"] = True
            elif isinstance(value, list):
                value.append("mutated")
    assert doc == original


def test_references_ids_are_stable() -> None:
    doc = example("prior_rt_within")
    assert json_view(doc) == json_view(json.loads(json.dumps(doc)))
    assert compact_json(json_view(doc)) == compact_json(json_view(example("prior_rt_within")))


def test_a_document_without_a_plan_or_with_unknown_keys_is_viewed() -> None:
    doc = {"schema_version": "1", "knowledge_base_version": "x", "instruments": {}, "plan": None}
    assert json_view(doc)["plan"] is None
    extra = example("poor_prognosis")
    extra["plan"]["new_section"] = {"flag": True}
    assert json_view(extra)["plan"]["new_section"] == {"flag": True}


def test_a_plan_without_a_ranking_claim_suggests_nothing_in_the_summary_view() -> None:
    # a patient on whom no survival instrument votes: the plan makes no ranking claim
    data = {"id": "p-minimal", "primary_tumor": "breast"}
    doc = assessment_document(data, kb=_kb())
    view = check_views(doc)
    assert view["plan"]["ranking_claim"] is False
    assert view["plan"]["recommended_regimen"] is None
    assert recommendation(view["plan"])["kind"] == "none"
    assert view["summary"]["recommendation"]["regimen"] is None


def test_unknown_detail_is_refused() -> None:
    with pytest.raises(ValueError, match='detail "brief" is not allowed: use one of summary, full'):
        json_view(example("elderly"), "brief")  # type: ignore[arg-type]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(plan_patients())
def test_generated_patients_views(patient: Patient) -> None:
    doc = assessment_document(patient, kb=_kb())
    check_views(doc)
