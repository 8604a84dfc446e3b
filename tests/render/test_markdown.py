"""Markdown for the medical record (issue 10): headings and bullets, no box characters, the
same statements as the terminal summary, special characters escaped."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from mescc.document import assessment_document
from mescc.kb.loader import KnowledgeBase
from mescc.loading import load_patient
from mescc.patient import Patient
from mescc.render.markdown import md, render_markdown
from mescc.render.summary_text import summary_sections
from patient_strategies import plan_patients
from render_checks import leaked

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
BOX = re.compile(r"[\u2500-\u259f]")  # box drawing and block elements


def example(path: Path, kb: KnowledgeBase) -> dict[str, Any]:
    return assessment_document(
        load_patient(path.read_bytes(), source=str(path), syntax="yaml"), kb=kb
    )


def structure_ok(text: str) -> None:
    assert not BOX.search(text), BOX.findall(text)
    for line in text.splitlines():
        assert line == "" or line.startswith(("#", "- ", "  - ", "> ", "_", "**")), line


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
@pytest.mark.parametrize("detail", ["summary", "full"])
def test_every_example_is_headings_and_bullets(path: Path, detail: str, kb: KnowledgeBase) -> None:
    doc = example(path, kb)
    text = render_markdown(doc, detail)
    structure_ok(text)
    for section in summary_sections(doc):
        assert f"### {section.title}" in text
        for line in section.lines:
            assert md(line.text) in text, line.text
    if detail == "summary":
        assert not leaked(text, doc), leaked(text, doc)
        assert "## Full report" not in text
    else:
        assert "## Full report" in text and "### Instruments" in text
        assert len(text) > 2 * len(render_markdown(doc, "summary"))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(plan_patients())
def test_any_patient_summary_has_no_box_and_no_code(kb: KnowledgeBase, patient: Patient) -> None:
    doc = assessment_document(patient, kb=kb)
    text = render_markdown(doc)
    structure_ok(text)
    assert not leaked(text, doc), leaked(text, doc)
    rec = doc["summary"]["recommendation"]
    assert ("Suggested first: " in text) == (rec["kind"] == "radiotherapy")


def test_a_patient_reference_cannot_become_a_link_or_emphasis(kb: KnowledgeBase) -> None:
    doc = assessment_document({"id": "*x* [a](http://e) <b>", "primary_tumor": "breast"}, kb=kb)
    text = render_markdown(doc)
    assert "patient \\*x\\* \\[a\\](http://e) \\<b>" in text
    assert "[a](" not in text and "<b>" not in text.replace("\\<b>", "")
