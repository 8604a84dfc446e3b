"""The patient form and error pages in a browser; writes benchmarks/results_web_form.md.

Measured in Debian's chromium (JavaScript off) against a real ``mescc serve``: the order of the
form's groups, how ECOG and KPS are entered, the earlier-radiotherapy choices and course rows,
the inline help, the page's width and height at 1366x768 and 390x844, the navigation of a 404
page, and the history page's width at 390 px. The same script runs on an older checkout (it
reads whatever the page shows), so "before" and "after" rows come from one procedure.

Run: ``.venv/bin/python benchmarks/web_form.py --label after`` (``--label before`` on the
older checkout, with PYTHONPATH pointing at its ``src``). Never asserted, only recorded.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.api.browser import (  # noqa: E402
    DESKTOP,
    MOBILE,
    assess,
    chromium,
    logged_in,
    page_width,
    running_server,
)
from tests.api.patients import EXAMPLE_PATIENT  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results_web_form.md"
COLUMNS = (
    "label",
    "commit",
    "first groups",
    "place of performance status",
    "ECOG / KPS input",
    "prior RT choices",
    "course rows / add button",
    "help (details)",
    "form width 390",
    "form height 1366 / 390",
    "404 nav links (signed in)",
    "history width 390",
)


def _kind(page: Any, name: str) -> str:
    kinds = page.eval_on_selector_all(
        f'[name="{name}"]', "els => els.map(e => e.tagName.toLowerCase() + ':' + (e.type || ''))"
    )
    return f"{len(kinds)} x {kinds[0]}" if kinds else "none"


def measure() -> dict[str, str]:
    row: dict[str, str] = {}
    with (
        tempfile.TemporaryDirectory() as temp,
        running_server(Path(temp)) as (server, _),
        chromium() as browser,
    ):
        heights = []
        for name, viewport in (("desktop", DESKTOP), ("mobile", MOBILE)):
            context = logged_in(browser, server.url, viewport)
            page = context.new_page()
            page.goto("/assessments/new")
            heights.append(str(page.evaluate("document.documentElement.scrollHeight")))
            if name == "desktop":
                legends = page.eval_on_selector_all(
                    "form.patient-form > fieldset > legend", "els => els.map(e => e.textContent)"
                )
                legends = [re.sub(r"\s+", " ", text).strip().split(":")[0] for text in legends]
                row["first groups"] = ", ".join(legends[:3])
                place = next((i for i, t in enumerate(legends) if t == "Performance status"), -1)
                row["place of performance status"] = f"{place + 1} of {len(legends)}"
                row["ECOG / KPS input"] = f"{_kind(page, 'ecog')} / {_kind(page, 'kps')}"
                choices = page.eval_on_selector_all(
                    'input[name="prior_radiotherapy"]', "els => els.map(e => e.value || 'unknown')"
                )
                row["prior RT choices"] = ", ".join(choices) or "none (empty = unknown)"
                adds = page.get_by_role("button", name="Add another course").count()
                rows = page.locator('[name$=".fractions"]').count()
                row["course rows / add button"] = f"{rows} / {'yes' if adds else 'no'}"
                row["help (details)"] = str(page.locator("form details").count())
                assess(page, EXAMPLE_PATIENT)
                page.goto("/assessments/424242")
                links = page.eval_on_selector_all(
                    "header nav a", "els => els.map(e => e.textContent.trim())"
                )
                row["404 nav links (signed in)"] = ", ".join(links) or "none"
            else:
                row["form width 390"] = f"{page_width(page)} px"
                page.goto("/assessments")
                row["history width 390"] = f"{page_width(page)} px"
            context.close()
        row["form height 1366 / 390"] = " / ".join(f"{h} px" for h in heights)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--label", default="after")
    args = parser.parse_args()
    row = measure()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    row = {"label": args.label, "commit": commit or "?", **row}
    lines = RESULTS.read_text("utf-8").splitlines() if RESULTS.exists() else []
    kept = [line for line in lines if line.startswith(f"| {args.label} |") is False]
    table = [line for line in kept if line.startswith("| ") and not line.startswith("| label")]
    table = [line for line in table if not line.startswith("| ---")]
    table.append("| " + " | ".join(row.get(c, "") for c in COLUMNS) + " |")
    header = [
        "# The patient form and error pages in a browser",
        "",
        "`benchmarks/web_form.py` (Debian chromium, JavaScript off, a real `mescc serve`).",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "| " + " | ".join("---" for _ in COLUMNS) + " |",
    ]
    RESULTS.write_text("\n".join([*header, *table]) + "\n", "utf-8")
    print(RESULTS.read_text("utf-8"))


if __name__ == "__main__":
    main()
