"""The board summary on the terminal (issue 10): one screen, read from the document's
``summary``, every statement with its basis, no code or raw enum value."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from rich.console import Console

from mescc.document import assessment_document
from mescc.kb.loader import KnowledgeBase
from mescc.loading import load_patient
from mescc.patient import Patient
from mescc.render.summary_text import (
    REASON_TEMPLATES,
    TEMPLATES,
    render_summary,
    summary_sections,
)
from patient_strategies import plan_patients
from render_checks import leaked

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
MAX_LINES = 40
NO_RANKING = {"id": "p-none", "primary_tumor": "lung_nsclc"}


def summary_text(doc: Mapping[str, Any], width: int = 100) -> str:
    out = io.StringIO()
    render_summary(doc, Console(file=out, width=width, color_system=None, legacy_windows=False))
    return out.getvalue()


def example(path: Path, kb: KnowledgeBase) -> dict[str, Any]:
    data = load_patient(path.read_bytes(), source=str(path), syntax="yaml")
    return assessment_document(data, kb=kb)


def check(doc: Mapping[str, Any]) -> str:
    text = summary_text(doc)
    lines = text.rstrip("\n").splitlines()
    assert len(lines) <= MAX_LINES, f"{len(lines)} lines:\n{text}"
    assert max(len(line) for line in lines) <= 100
    assert not leaked(text, doc), leaked(text, doc)
    flat = " ".join(text.split())
    rec = doc["summary"]["recommendation"]
    if rec["kind"] == "radiotherapy":
        assert f"Suggested first: {rec['regimen']} (" in flat
        assert "No option is ranked first" not in flat
    else:
        assert "Suggested first" not in flat
        if rec["kind"] == "other":
            assert f"{rec['label']} leads" in flat
        else:
            assert "No option is ranked first" in flat
            for option in doc["plan"]["radiotherapy"]:
                assert option["regimen"] not in flat, "no option is shown when none leads"
    return flat


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_fits_one_screen_without_codes(path: Path, kb: KnowledgeBase) -> None:
    doc = example(path, kb)
    flat = check(doc)
    for title in ("Radiotherapy", "Survival", "Decompression", "Stabilisation",
                  "Corticosteroids", "Bone agent", "Re-irradiation", "Decisive unknowns",
                  "Warnings"):  # fmt: skip
        assert title in flat
    order = [flat.index(t) for t in ("Radiotherapy", "Survival", "Decompression", "Warnings")]
    assert order == sorted(order), "the summary's reading order"
    sections = {s.title: s for s in summary_sections(doc)}
    for title in ("Decompression", "Stabilisation", "Corticosteroids", "Bone agent"):
        assert any(line.basis for line in sections[title].lines), f"{title} shows its basis"
    if doc["summary"]["recommendation"]["kind"] != "none":
        assert sections["Radiotherapy"].lines[1].basis, "the recommendation shows its basis"


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(plan_patients())
def test_any_patient_fits_one_screen_and_says_what_the_summary_says(
    kb: KnowledgeBase, patient: Patient
) -> None:
    doc = assessment_document(patient, kb=kb)
    flat = check(doc)
    p = doc["summary"]["prognosis"]
    if p["class"] is not None and p["voting"]:
        assert f"{p['agreeing']} of {p['voting']} instrument" in flat
        survival = next(s for s in summary_sections(doc) if s.title == "Survival")
        listed = {
            line.text.split(": ", 1)[0]: line.text.split(": ", 1)[1].split("; ")
            for line in survival.lines
            if line.text.startswith(("Agree: ", "Disagree: "))
        }
        assert len(listed.get("Agree", [])) == p["agreeing"]
        assert len(listed.get("Agree", [])) + len(listed.get("Disagree", [])) == p["voting"]
    for key in ("corticosteroids", "bone_modifying_agents"):
        reason = doc["summary"][key]["reason"]
        assert reason is None or reason["code"] in REASON_TEMPLATES, reason


def test_a_patient_without_a_ranking_is_never_shown_a_suggested_option(kb: KnowledgeBase) -> None:
    doc = assessment_document(NO_RANKING, kb=kb)
    assert doc["summary"]["recommendation"]["kind"] == "none"
    flat = check(doc)
    assert "No option is ranked first: the survival prognosis could not be estimated" in flat


def test_the_minimal_patient_shows_exactly_the_summary_decision(kb: KnowledgeBase) -> None:
    doc = assessment_document({"id": "p-minimal", "primary_tumor": "lung_nsclc", "ecog": 3}, kb=kb)
    check(doc)


def test_a_kps_converted_from_ecog_is_a_warning_naming_the_instrument(kb: KnowledgeBase) -> None:
    doc = assessment_document(
        {"primary_tumor": "breast", "ecog": 2, "visceral_metastases": False}, kb=kb
    )
    flat = check(doc)
    assert "KPS converted from ECOG 2 (empirical ECOG-KPS mapping" in flat
    users = {w["instrument"] for w in doc["summary"]["warnings"] if w["kind"] == "converted_input"}
    for iid in users:
        assert doc["instruments"][iid]["name"] in flat


def test_a_contradiction_is_a_warning(kb: KnowledgeBase) -> None:
    doc = assessment_document({"primary_tumor": "breast", "ecog": 1, "kps": 50}, kb=kb)
    assert any(w["kind"] == "input_discrepancy" for w in doc["summary"]["warnings"])
    assert "ECOG 1 and KPS 50 are further apart" in check(doc)


def test_every_reason_the_examples_name_has_its_words(kb: KnowledgeBase) -> None:
    for path in EXAMPLES:
        s = example(path, kb)["summary"]
        for key in ("corticosteroids", "bone_modifying_agents"):
            reason = s[key]["reason"]
            assert reason is None or reason["code"] in REASON_TEMPLATES, (path.name, reason)


def test_the_recommendation_shows_its_basis_with_a_citation(kb: KnowledgeBase) -> None:
    doc = example(EXAMPLES[[p.stem for p in EXAMPLES].index("intermediate_breast")], kb)
    flat = " ".join(summary_text(doc).split())
    assert "Suggested first: 5 x 4 Gy" in flat
    assert "Ranked first for intermediate survival prognosis [" in flat
    assert "[NICE NG234]" in flat, "corticosteroids with their guideline"


def test_values_not_used_from_fhir_are_a_warning() -> None:
    from typer.testing import CliRunner

    from mescc.cli import app

    bundle = EXAMPLES[0].parent / "fhir" / "intermediate_breast_conflicting.json"
    result = CliRunner().invoke(app, ["assess", "--fhir", str(bundle)], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) <= MAX_LINES
    assert re.search(r"\d+ values? from FHIR not used as given", " ".join(result.stdout.split()))


def test_optional_lines_give_way_and_essential_ones_stay(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mescc.render import summary_text as module

    doc = assessment_document(NO_RANKING, kb=kb)
    lines = [line for sec in module.summary_sections(doc) for line in sec.lines]
    assert any(line.drop for line in lines), "this patient has optional lines"
    monkeypatch.setattr(module, "MAX_LINES", 10)
    flat = " ".join(summary_text(doc).split())
    for line in lines:
        assert (" ".join(line.text.split()) in flat) == (line.drop == 0), line
    # what gave way is counted on the last line, not dropped unsaid
    dropped = sum(1 for line in lines if line.drop)
    s = "" if dropped == 1 else "s"
    assert f"{dropped} further statement{s} left out for length (in the full report)" in flat
    monkeypatch.setattr(module, "MAX_LINES", 1_000)
    assert "left out for length" not in summary_text(doc)


def test_the_code_check_finds_codes(kb: KnowledgeBase) -> None:
    doc = assessment_document({"primary_tumor": "lung_nsclc", "kps": 60}, kb=kb)
    found = leaked("a lung_nsclc patient, 5x4 ranked_first; van_der_linden_2005", doc)
    assert found == ["5x4", "lung_nsclc", "ranked_first", "van_der_linden_2005"]
    assert leaked("non-small-cell lung cancer, 5 x 4 Gy", doc) == []


def test_nothing_is_phrased_as_an_order() -> None:
    for template in (*TEMPLATES.values(), *REASON_TEMPLATES.values()):
        first = template.split(" ", 1)[0].strip("{}").lower()
        assert first not in {"give", "start", "offer", "stop", "treat", "operate", "do"}, template
