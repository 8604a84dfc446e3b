"""Driving the web app in Debian's chromium (Playwright, JavaScript off): for the browser test
and ``scripts/screenshots.py``.

Chromium comes from scripts/services.sh. Everything here goes through the pages as a clinician
would: the login form, the patient form (its "Add another course" button for each course
beyond the rows shown), the links of the result page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mescc.api import accounts, forms
from mescc.api.audit import Caller
from mescc.api.database import create_db_engine, create_session_factory, migrate

from .live_server import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1366, "height": 768}
MOBILE = {"width": 390, "height": 844}
USERNAME, PASSWORD = "dr-browser", "browser-password"


def database_with_user(directory: Path) -> tuple[str, Caller]:
    """A fresh SQLite database under ``directory`` holding the browser's user."""
    database_url = f"sqlite:///{directory / 'browser.sqlite3'}"
    engine = create_db_engine(database_url)
    migrate(engine)
    with create_session_factory(engine)() as session:
        caller = accounts.create_user(session, USERNAME, PASSWORD)
    engine.dispose()
    return database_url, caller


@contextmanager
def running_server(directory: Path) -> Iterator[tuple[LiveServer, Caller]]:
    """``mescc serve`` on a fresh database, stopped on exit."""
    database_url, caller = database_with_user(directory)
    server = LiveServer(database_url, directory)
    server.start()
    try:
        yield server, caller
    finally:
        server.stop()


@contextmanager
def chromium() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def logged_in(browser: Browser, base_url: str, viewport: Mapping[str, int]) -> BrowserContext:
    """A new browser context (JavaScript off) with a session of the browser's user."""
    context = browser.new_context(
        viewport={"width": viewport["width"], "height": viewport["height"]},
        java_script_enabled=False,  # the whole flow works without JavaScript
        base_url=base_url,
    )
    page = context.new_page()
    page.goto("/assessments/new")
    page.get_by_label("User name").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/assessments/new")
    page.close()
    return context


def course_rows(page: Page) -> int:
    return page.locator("fieldset.course").count()


def fill_patient_form(page: Page, patient: Mapping[str, Any]) -> None:
    """Fill the form shown on ``page`` with ``patient`` (adding course rows as needed)."""
    courses = patient.get("prior_radiotherapy") or []
    while course_rows(page) < len(courses):
        page.get_by_role("button", name="Add another course").click()
        page.wait_for_load_state()
    for key, value in forms.form_values(patient).items():
        field = page.locator(f'[name="{key}"]')
        kind = field.first.evaluate("e => e.tagName + ':' + (e.type || '')")
        if kind == "INPUT:radio":
            page.locator(f'input[name="{key}"][value="{value}"]').check()
        elif kind.startswith("SELECT"):
            field.select_option(value)
        else:
            field.fill(value)


def assess(page: Page, patient: Mapping[str, Any]) -> int:
    """Fill a new form with ``patient``, press Assess; the stored assessment's id."""
    page.goto("/assessments/new")
    fill_patient_form(page, patient)
    page.get_by_role("button", name="Assess").click()
    page.wait_for_url(re.compile(r".*/assessments/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def page_width(page: Page) -> int:
    """The width the page needs (more than the viewport = horizontal scrolling)."""
    return int(page.evaluate("document.documentElement.scrollWidth"))
