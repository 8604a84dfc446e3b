"""Length and speed of what a clinician sees in the web app (issue 10), per bundled example.

For each ``examples/*.yaml`` (and the minimal ``p-minimal`` patient) the stored record is
rendered through the app's own templates, then measured:

- result page: height in CSS px in Debian's chromium (Playwright, JavaScript off, the app's
  stylesheet inlined) at 1366x768 and at 390x844; whether the recommendation (or the "nothing
  is suggested" line) is above the fold; horizontal overflow at 390 px;
- PDF report (WeasyPrint): pages and render time (median of ``--repeat`` runs, HTML + PDF), for
  the default report and for ``detail=full``;
- patient summary: how many radiotherapy regimens it names.

    .venv/bin/python benchmarks/web_output.py --label before
    .venv/bin/python benchmarks/web_output.py --label after --repeat 5

Results are appended to ``benchmarks/results_web_output.md``. Nothing here is asserted.
Chromium comes from ``scripts/services.sh``.
"""

from __future__ import annotations

import argparse
import inspect
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from mescc import document as core
from mescc.api import pdf
from mescc.api.audit import StoredAssessment, recommended_regimen
from mescc.api.presentation import regimen_chart
from mescc.api.templating import STATIC_DIR, create_templates

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results_web_output.md"
CHROMIUM = Path("/usr/bin/chromium")
VIEWPORTS = {"desktop": (1366, 768), "mobile": (390, 844)}
MINIMAL = {"id": "p-minimal", "primary_tumor": "lung_nsclc", "ecog": 3}
#: What marks the recommendation on the result page (either form, old or new markup).
RECOMMENDATION_SELECTORS = ("#recommended-regimen", "#no-suggestion")


def patients() -> list[tuple[str, dict[str, Any]]]:
    found = [(p.stem, yaml.safe_load(p.read_text())) for p in sorted(REPO.glob("examples/*.yaml"))]
    return [*found, ("p-minimal", MINIMAL)]


def record_of(patient: dict[str, Any]) -> StoredAssessment:
    document = core.assessment_document(patient)
    return StoredAssessment(
        id=1,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        username="bench",
        patient_ref=str(patient.get("id") or ""),
        recommended_regimen=recommended_regimen(document),
        knowledge_base_version=document.get("knowledge_base_version"),
        software_version=str(document.get("software_version")),
        allow_unverified=False,
        inputs=patient,
        document=document,
        document_sha256="0" * 64,
    )


def page_html(templates: Any, name: str, record: StoredAssessment) -> str:
    plan = record.document.get("plan") or {}
    html: str = templates.env.get_template(name).render(
        record=record,
        chart=regimen_chart(plan.get("radiotherapy")),
        user=None,
        csrf="",
    )
    css = (STATIC_DIR / "style.css").read_text()
    return html.replace('<link rel="stylesheet" href="/static/style.css">', f"<style>{css}</style>")


def measure_pages(htmls: dict[str, str]) -> dict[str, dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    out: dict[str, dict[str, Any]] = {name: {} for name in htmls}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        for view, (width, height) in VIEWPORTS.items():
            context = browser.new_context(
                viewport={"width": width, "height": height}, java_script_enabled=False
            )
            page = context.new_page()
            for name, html in htmls.items():
                page.set_content(html)
                size = page.evaluate(
                    "() => [document.documentElement.scrollHeight,"
                    " document.documentElement.scrollWidth]"
                )
                bottom = None
                for selector in RECOMMENDATION_SELECTORS:
                    box = (
                        page.locator(selector).first.bounding_box()
                        if page.locator(selector).count()
                        else None
                    )
                    if box is not None:
                        bottom = box["y"] + box["height"]
                        break
                board = page.locator("#board-summary")
                board_box = board.first.bounding_box() if board.count() else None
                out[name][view] = {
                    "board_above_fold": None
                    if board_box is None
                    else board_box["y"] + board_box["height"] <= height,
                    "height": size[0],
                    "width": size[1],
                    "overflow": size[1] > width,
                    "recommendation_bottom": bottom,
                    "above_fold": bottom is not None and bottom <= height,
                }
            context.close()
        browser.close()
    return out


def pdf_detail_supported() -> bool:
    return "detail" in inspect.signature(pdf.report_html).parameters


def measure_pdf(templates: Any, record: StoredAssessment, repeat: int, detail: str) -> Any:
    from weasyprint import HTML

    times, pages = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        if detail == "full":
            html = pdf.report_html(templates, record, detail="full")  # type: ignore[call-arg]
        else:
            html = pdf.report_html(templates, record)
        rendered = HTML(string=html).render()
        rendered.write_pdf()
        times.append(time.perf_counter() - start)
        pages = len(rendered.pages)
    return pages, statistics.median(times)


def alternatives_named(summary_html: str, record: StoredAssessment) -> int:
    """Regimens named in the patient summary (the label, e.g. '10 x 3 Gy')."""
    plan = record.document.get("plan") or {}
    body = summary_html.split("<article", 1)[-1].split("</article>", 1)[0]
    labels = {o.get("regimen") for o in plan.get("radiotherapy") or [] if o.get("regimen")}
    labels |= {o.get("regimen") for o in plan.get("other_options") or [] if o.get("regimen")}
    return sum(1 for label in labels if label in body)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="run")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    templates = create_templates()
    rows = []
    result_pages, records = {}, {}
    for name, patient in patients():
        record = record_of(patient)
        records[name] = record
        result_pages[name] = page_html(templates, "result.html", record)
    browser = measure_pages(result_pages) if CHROMIUM.exists() else {}
    cold = None
    for name, record in records.items():
        summary = page_html(templates, "summary.html", record)
        if cold is None:  # the first PDF of a fresh process (fonts, imports): reported apart
            cold = measure_pdf(templates, record, 1, "summary")[1]
        pages, seconds = measure_pdf(templates, record, args.repeat, "summary")
        full = measure_pdf(templates, record, 1, "full") if pdf_detail_supported() else None
        rows.append((name, browser.get(name, {}), pages, seconds, full,
                     alternatives_named(summary, record), record.recommended_regimen))  # fmt: skip
    lines = [
        f"\n## {args.label}: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n",
        f"`.venv/bin/python benchmarks/web_output.py --label {args.label} --repeat {args.repeat}`"
        f" · {platform.python_version()} · {os.cpu_count()} CPUs (shared) · PDF time = HTML + "
        f"WeasyPrint, median of {args.repeat}, one process, after a first (cold) PDF of "
        f"{cold or 0:.2f} s (fonts and imports; a server's renderer process pays it once)\n",
        "| patient | regimen | desktop px (1366x768) | rec. above fold | mobile px (390x844)"
        " | rec. above fold | overflow 390 | board summary above fold (desktop) | PDF pages"
        " | PDF s | full PDF pages (s) "
        "| summary regimens |",
        "|---|---|---:|:-:|---:|:-:|:-:|:-:|---:|---:|---:|---:|",
    ]
    for name, view, pages, seconds, full, alts, regimen in rows:
        d, m = view.get("desktop", {}), view.get("mobile", {})

        def yes(v: Any) -> str:
            return "-" if v is None else ("yes" if v else "no")

        lines.append(
            f"| {name} | {regimen or 'none'} | {d.get('height', '-')} | {yes(d.get('above_fold'))}"
            f" | {m.get('height', '-')} | {yes(m.get('above_fold'))} | {yes(m.get('overflow'))}"
            f" | {yes(d.get('board_above_fold'))} | {pages} | {seconds:.2f} | "
            + (f"{full[0]} ({full[1]:.2f})" if full else "-")
            + f" | {alts} |"
        )
    text = "\n".join(lines) + "\n"
    if not RESULTS.exists():
        RESULTS.write_text("# Web output: result page, PDF report, patient summary (issue 10)\n")
    with RESULTS.open("a") as handle:
        handle.write(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
