"""The whole clinician flow in Debian's chromium, driven by Playwright (no JavaScript needed).

Logs in, fills the form for an example patient, submits, sees the suggested regimen, fetches the
PDF and saves a screenshot in its tmp dir (a test never writes the tracked docs/screenshots/).
Chromium comes from scripts/services.sh.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mescc import document as core
from mescc.api import accounts, forms
from mescc.api.database import create_db_engine, create_session_factory, migrate

from .live_server import LiveServer
from .patients import EXAMPLE_PATIENT

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
USERNAME, PASSWORD = "dr-browser", "browser-password"


def test_clinician_flow_in_chromium(tmp_path: Path) -> None:
    screenshot = tmp_path / "screenshots" / "result.png"
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/services.sh (installs Debian chromium)")
    from playwright.sync_api import sync_playwright

    database_url = f"sqlite:///{tmp_path / 'browser.sqlite3'}"
    engine = create_db_engine(database_url)
    migrate(engine)
    with create_session_factory(engine)() as session:
        accounts.create_user(session, USERNAME, PASSWORD)
    engine.dispose()
    expected = core.assessment_document(EXAMPLE_PATIENT)["plan"]["radiotherapy"][0]["regimen"]

    server = LiveServer(database_url, tmp_path)
    server.start()
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"),
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_ARGS,
                java_script_enabled=False,  # the whole flow works without JavaScript
                viewport={"width": 1280, "height": 1500},
            )
            page = context.new_page()
            page.goto(f"{server.url}/assessments/new")
            assert "/login" in page.url
            page.get_by_label("User name").fill(USERNAME)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url("**/assessments/new")

            for key, value in forms.form_values(EXAMPLE_PATIENT).items():
                field = page.locator(f'[name="{key}"]')
                if field.evaluate("element => element.tagName") == "SELECT":
                    field.select_option(value)
                else:
                    field.fill(value)
            page.get_by_role("button", name="Assess").click()
            page.wait_for_url(re.compile(r".*/assessments/\d+$"))

            assert page.locator("#recommended-regimen").inner_text() == expected
            assert "MESCC is an emergency" in page.content()

            href = page.locator("#pdf-link").get_attribute("href")
            assert href is not None
            pdf = context.request.get(f"{server.url}{href}")
            assert pdf.status == 200
            assert pdf.headers["content-type"] == "application/pdf"
            assert pdf.body().startswith(b"%PDF")

            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
            context.close()
    finally:
        server.stop()
    assert screenshot.stat().st_size > 0
