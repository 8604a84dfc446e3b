"""The PDF report (issue 10): a summary report of at most 2 pages for every bundled example, the
full report (more pages) on request, no word broken across lines, and no suggestion where the
plan made none. Pages and text are read from the PDF itself (pypdf)."""

from __future__ import annotations

import io
import itertools
import re
from datetime import UTC, datetime
from html import escape, unescape
from pathlib import Path
from typing import Any

import pytest
import yaml
from pypdf import PdfReader

from mescc import document as core
from mescc.api.audit import StoredAssessment, recommended_regimen
from mescc.api.pdf import pdf_from_html, report_html, report_pdf
from mescc.api.templating import create_templates
from render_checks import leaked

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
MINIMAL = {"id": "p-minimal", "primary_tumor": "lung_nsclc", "ecog": 3}
NO_CLAIM = {"id": "p-no-claim", "primary_tumor": "breast"}
TEMPLATES = create_templates()


def record(patient: dict[str, Any]) -> StoredAssessment:
    document = core.assessment_document(patient)
    return StoredAssessment(
        id=3,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        username="dr-test",
        patient_ref=str(patient.get("id")),
        recommended_regimen=recommended_regimen(document),
        knowledge_base_version=document.get("knowledge_base_version"),
        software_version="0",
        allow_unverified=False,
        inputs=patient,
        document=document,
        document_sha256="0" * 64,
    )


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def broken_words(text: str, html: str) -> list[str]:
    """Words split across two lines of the PDF text: the end of one line and the start of the
    next join into a word of the source HTML, while neither piece is a word of it."""
    source = unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", " ", html, flags=re.S)))
    words = set(re.findall(r"[A-Za-z]{2,}", source))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    found = []
    for first, second in itertools.pairwise(lines):
        tail = re.search(r"([A-Za-z]+)$", first)
        head = re.match(r"([a-z]+)", second)
        if tail is None or head is None:
            continue
        joined = tail.group(1) + head.group(1)
        if joined in words and tail.group(1) not in words and head.group(1) not in words:
            found.append(f"{tail.group(1)}|{head.group(1)}")
    return found


def patient_of(path: Path) -> dict[str, Any]:
    patient: dict[str, Any] = yaml.safe_load(path.read_text())
    return patient


@pytest.mark.parametrize("path", [*EXAMPLES, None], ids=[p.stem for p in EXAMPLES] + ["minimal"])
def test_the_default_report_is_at_most_two_pages_with_no_broken_word(path: Path | None) -> None:
    patient = MINIMAL if path is None else patient_of(path)
    rec = record(patient)
    html = report_html(TEMPLATES, rec)
    pages = pages_text(pdf_from_html(html))
    assert 1 <= len(pages) <= 2, f"{len(pages)} pages"
    text = "\n".join(pages)
    assert "MESCC is an emergency" in text
    assert broken_words(text, html) == []
    regimen = rec.recommended_regimen
    if regimen is not None:
        assert f"Suggested option: {regimen}" in re.sub(r"\s+", " ", text)
    else:
        assert "Suggested option" not in text


def test_the_full_report_is_the_summary_then_everything_as_an_appendix() -> None:
    rec = record(patient_of(EXAMPLES[0]))
    summary = pages_text(report_pdf(TEMPLATES, rec))
    full = pages_text(report_pdf(TEMPLATES, rec, "full"))
    assert len(full) > len(summary)
    assert "Appendix: full report" in "\n".join(full)
    assert "Appendix" not in "\n".join(summary)
    # the appendix holds what the summary leaves out: every option's outcomes, each instrument
    plan = rec.document["plan"]
    html = report_html(TEMPLATES, rec, "full")
    for option in plan["radiotherapy"]:
        assert option["regimen"] in html
    for inst in rec.document["instruments"].values():
        assert escape(inst["name"]) in html


def test_no_suggestion_in_either_report_without_a_ranking_claim() -> None:
    rec = record(NO_CLAIM)
    assert rec.document["plan"]["ranking_claim"] is False
    first_listed = rec.document["plan"]["radiotherapy"][0]["regimen"]
    for detail in ("summary", "full"):
        text = re.sub(r"\s+", " ", "\n".join(pages_text(report_pdf(TEMPLATES, rec, detail))))
        assert "Suggested option" not in text and "No option is suggested" in text
        assert "suggested" not in text.split("not ranked", 1)[0].split("Radiotherapy:", 1)[-1]
    assert f"Suggested option: {first_listed}" not in report_html(TEMPLATES, rec, "full")


def test_the_broken_word_check_finds_a_word_broken_by_the_old_table_style() -> None:
    # The check above must be able to fail: the old records style broke words anywhere.
    word = "radiotherapy"
    html = (
        "<table style='width:18mm;table-layout:fixed'><tr>"
        f"<td style='overflow-wrap:anywhere'>{word}</td></tr></table><p>{word}</p>"
    )
    text = "\n".join(pages_text(pdf_from_html(html)))
    assert broken_words(text, html)


def _citations(node: Any) -> set[str]:
    """Every citation text of a document: quoted verbatim (a title may hold "5x4 Gy")."""
    if isinstance(node, dict):
        out = set()
        for key, value in node.items():
            if key == "citation" and isinstance(value, str):
                out.add(value)
            elif key == "citation" and isinstance(value, list):
                out |= {v for v in value if isinstance(v, str)}
            else:
                out |= _citations(value)
        return out
    if isinstance(node, list):
        return set().union(*(_citations(v) for v in node)) if node else set()
    return set()


@pytest.mark.parametrize("path", [*EXAMPLES, None], ids=[p.stem for p in EXAMPLES] + ["minimal"])
def test_no_code_of_the_document_reaches_either_report(path: Path | None) -> None:

    rec = record(MINIMAL if path is None else patient_of(path))
    for detail in ("summary", "full"):
        html = report_html(TEMPLATES, rec, detail)  # type: ignore[arg-type]
        body = re.sub(r"<style.*?</style>", " ", html.split("<body", 1)[1], flags=re.S)
        text = " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())
        for citation in _citations(rec.document):
            text = text.replace(" ".join(escape(citation, quote=False).split()), " ")
            text = text.replace(" ".join(citation.split()), " ")
        assert leaked(text, rec.document) == [], detail
