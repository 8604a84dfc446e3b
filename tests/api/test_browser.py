"""The clinician's pages in Debian's chromium, driven by Playwright (JavaScript off).

Checks what a unit test cannot: where things land on a real screen (the board summary's
recommendation above the fold at 1366x768 and 390x844, no horizontal scrolling at 390 px),
that every page and the PDF read the document's one decision, and that the form round-trips
"no earlier radiotherapy" and several courses through "Edit inputs as a new assessment".
Screenshots go to tmp_path only: tests never write tracked files (``make screenshots`` does).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest

from mescc import document as core
from mescc.api import audit
from mescc.api.audit import Caller, StoredAssessment
from mescc.api.database import create_db_engine, create_session_factory
from mescc.summary import recommendation

from .browser import (
    CHROMIUM,
    DESKTOP,
    MOBILE,
    assess,
    chromium,
    course_rows,
    fill_patient_form,
    logged_in,
    page_width,
    running_server,
)
from .live_server import LiveServer
from .patients import EXAMPLE_PATIENT

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# The patient, and one the plan cannot rank (no instrument classifies the prognosis).
P_MINIMAL: dict[str, Any] = {"id": "p-minimal", "primary_tumor": "lung_nsclc", "ecog": 3}
NO_RANKING: dict[str, Any] = {"id": "p-no-ranking", "primary_tumor": "lung_nsclc"}
COURSES = [
    {"fractions": 5, "dose_per_fraction_gy": 4, "months_before": 8},
    {"fractions": 1, "dose_per_fraction_gy": 8, "months_before": 20, "technique": "conventional"},
    {"fractions": 3, "dose_per_fraction_gy": 9, "technique": "sbrt", "cord_max_dose_gy": 18},
]
VIEWPORTS = {"desktop": DESKTOP, "mobile": MOBILE}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Caller]]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/services.sh (installs Debian chromium)")
    with running_server(tmp_path_factory.mktemp("browser")) as served:
        yield served


@pytest.fixture(scope="module")
def browser(served: tuple[LiveServer, Caller]) -> Iterator[Browser]:
    with chromium() as started:
        yield started


def _stored(server: LiveServer, caller: Caller, assessment_id: int) -> StoredAssessment:
    engine = create_db_engine(server.database_url)
    try:
        with create_session_factory(engine)() as session:
            record = audit.get_assessment(session, assessment_id, viewer=caller)
    finally:
        engine.dispose()
    assert record is not None
    return record


def _pdf_text(body: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)


def test_clinician_flow_in_chromium(
    served: tuple[LiveServer, Caller], browser: Browser, tmp_path: Path
) -> None:
    server, _ = served
    plan = core.assessment_document(EXAMPLE_PATIENT)["plan"]
    expected = recommendation(plan)
    assert expected["kind"] == "radiotherapy"
    context = logged_in(browser, server.url, DESKTOP)
    page = context.new_page()
    page.goto("/assessments/new")
    fill_patient_form(page, EXAMPLE_PATIENT)
    # Enter in a text field presses the form's default button: Assess, not "Add another course".
    page.locator('[name="age_years"]').press("Enter")
    page.wait_for_url(re.compile(r".*/assessments/\d+$"))
    assert expected["label"] in page.get_by_test_id("recommendation").inner_text()
    assert "MESCC is an emergency" in page.content()

    href = page.locator("#pdf-link").get_attribute("href")
    assert href is not None
    pdf = context.request.get(f"{server.url}{href}")
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    page.screenshot(path=str(tmp_path / "result.png"))
    assert (tmp_path / "result.png").stat().st_size > 0
    context.close()


@pytest.mark.parametrize("patient", [EXAMPLE_PATIENT, NO_RANKING], ids=["ranked", "no-ranking"])
@pytest.mark.parametrize("viewport", list(VIEWPORTS), ids=list(VIEWPORTS))
def test_the_recommendation_is_above_the_fold(
    served: tuple[LiveServer, Caller], browser: Browser, viewport: str, patient: dict[str, Any]
) -> None:
    server, _ = served
    size = VIEWPORTS[viewport]
    context = logged_in(browser, server.url, size)
    page = context.new_page()
    assess(page, patient)
    box = page.get_by_test_id("recommendation").first.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= size["height"], (viewport, box)
    assert page_width(page) <= size["width"], (viewport, page_width(page))
    context.close()


def test_no_page_scrolls_sideways_at_390_px(
    served: tuple[LiveServer, Caller], browser: Browser
) -> None:
    server, _ = served
    context = logged_in(browser, server.url, DESKTOP)
    assessment_id = assess(context.new_page(), EXAMPLE_PATIENT)
    context.close()
    context = logged_in(browser, server.url, MOBILE)
    page = context.new_page()
    widths = {}
    for path in (
        "/assessments/new",
        f"/assessments/new?from={assessment_id}",
        f"/assessments/{assessment_id}/summary",
        "/assessments/424242",
        "/no-such-page",
    ):
        page.goto(path)
        widths[path] = page_width(page)
    assert all(width <= MOBILE["width"] for width in widths.values()), widths
    # Every inline help opens without JavaScript and stays within the screen.
    page.goto("/assessments/new")
    for summary in page.locator("details.help > summary").all():
        summary.click()
    assert page.locator("details.help[open]").count() == page.locator("details.help").count() > 0
    assert page_width(page) <= MOBILE["width"]
    context.close()


def test_the_history_page_does_not_scroll_sideways_at_390_px(
    served: tuple[LiveServer, Caller], browser: Browser
) -> None:
    server, _ = served
    context = logged_in(browser, server.url, MOBILE)
    page = context.new_page()
    assess(page, EXAMPLE_PATIENT)
    page.goto("/assessments")
    assert page.locator("table tbody tr").count() > 0
    assert page_width(page) <= MOBILE["width"], page_width(page)
    context.close()


@pytest.mark.parametrize("patient", [P_MINIMAL, NO_RANKING], ids=["p-minimal", "no-ranking"])
def test_every_page_and_the_pdf_read_the_documents_one_decision(
    served: tuple[LiveServer, Caller], browser: Browser, patient: dict[str, Any]
) -> None:
    server, caller = served
    context = logged_in(browser, server.url, DESKTOP)
    page = context.new_page()
    assessment_id = assess(page, patient)
    plan = _stored(server, caller, assessment_id).document["plan"]
    decision = recommendation(plan)
    regimens = [option["regimen"] for option in plan["radiotherapy"]]
    assert regimens, "the options are listed, ranked or not"

    shown = page.get_by_test_id("recommendation").inner_text()
    result_text = page.inner_text("main")
    page.goto("/assessments")
    row = page.locator(f'tr:has(a[href="/assessments/{assessment_id}"])').inner_text()
    offered = [o for o in page.locator("select#regimen option").all_inner_texts() if o != "Any"]
    listed_under = []  # the filter choices that list this assessment
    for regimen in offered:
        page.goto(f"/assessments?{urlencode({'regimen': regimen})}")
        if page.locator(f'a[href="/assessments/{assessment_id}"]').count():
            listed_under.append(regimen)
    page.goto(f"/assessments/{assessment_id}/summary")
    summary = page.inner_text("main")
    pdf = context.request.get(f"{server.url}/assessments/{assessment_id}/report.pdf")
    assert pdf.status == 200
    pdf_text = _pdf_text(pdf.body())
    context.close()

    if decision["kind"] == "radiotherapy":
        label = decision["label"]
        assert label in shown and label in row and listed_under == [label]
        assert label in summary and label in pdf_text
        return
    assert decision["kind"] == "none" and plan.get("ranking_claim") is False
    assert not any(regimen in shown for regimen in regimens), shown
    assert re.search(r"no option is suggested|no ranking", shown, re.I), shown
    assert "Suggested option" not in result_text
    assert not any(regimen in row for regimen in regimens), row
    assert listed_under == [], listed_under
    assert "considering first" not in summary
    assert not any(regimen in summary for regimen in regimens), summary
    assert "Suggested option" not in pdf_text
    assert re.search(r"no option is suggested|no ranking", pdf_text, re.I)


def test_the_form_round_trips_no_prior_radiotherapy_and_several_courses(
    served: tuple[LiveServer, Caller], browser: Browser
) -> None:
    server, caller = served
    context = logged_in(browser, server.url, DESKTOP)
    page = context.new_page()
    for prior in ([], COURSES):
        patient = {**EXAMPLE_PATIENT, "prior_radiotherapy": prior}
        first = assess(page, patient)
        assert _stored(server, caller, first).inputs["prior_radiotherapy"] == prior
        # "Edit inputs as a new assessment", then Assess unchanged: the same inputs again.
        page.locator(f'a[href="/assessments/new?from={first}"]').click()
        page.wait_for_url(f"**/assessments/new?from={first}")
        choice = "none" if not prior else "given"
        assert page.locator(f'input[name="prior_radiotherapy"][value="{choice}"]').is_checked()
        assert course_rows(page) >= len(prior)
        page.get_by_role("button", name="Assess").click()
        page.wait_for_url(re.compile(r".*/assessments/\d+$"))
        second = int(page.url.rsplit("/", 1)[1])
        assert second != first
        assert _stored(server, caller, second).inputs == _stored(server, caller, first).inputs
    context.close()
