"""Screenshots of the web app for the README: ``make screenshots``.

Starts ``mescc serve`` on a throw-away SQLite database, logs in with Debian's chromium
(scripts/services.sh installs it; JavaScript off, as in the browser test), assesses the
intermediate-prognosis breast example and writes

  docs/screenshots/result-desktop.png  the result page as it opens at 1366x768
  docs/screenshots/result-mobile.png   the same at 390x844 (a phone)
  docs/screenshots/form.png            the top of the patient form, 1366 px wide

Only this script writes those files; the tests write their screenshots under tmp_path.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.api.browser import (  # noqa: E402
    DESKTOP,
    MOBILE,
    assess,
    chromium,
    logged_in,
    running_server,
)

EXAMPLE = REPO / "examples" / "intermediate_breast.yaml"
FORM_HEIGHT = 1150


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    patient = yaml.safe_load(EXAMPLE.read_text("utf-8"))
    with (
        tempfile.TemporaryDirectory() as temp,
        running_server(Path(temp)) as (server, _),
        chromium() as browser,
    ):
        desktop = logged_in(browser, server.url, DESKTOP)
        page = desktop.new_page()
        page.goto("/assessments/new")
        # The first two groups: neurology, then performance status (ECOG's choices).
        page.screenshot(
            path=str(out / "form.png"),
            full_page=True,
            clip={"x": 0, "y": 0, "width": DESKTOP["width"], "height": FORM_HEIGHT},
        )
        assessment_id = assess(page, patient)
        page.screenshot(path=str(out / "result-desktop.png"))
        desktop.close()
        mobile = logged_in(browser, server.url, MOBILE)
        page = mobile.new_page()
        page.goto(f"/assessments/{assessment_id}")
        page.screenshot(path=str(out / "result-mobile.png"))
        mobile.close()
    for name in ("result-desktop.png", "result-mobile.png", "form.png"):
        print(out / name)


if __name__ == "__main__":
    main()
