"""The printable report of one assessment: HTML from a template, PDF by WeasyPrint."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.templating import Jinja2Templates

from mescc.api.audit import StoredAssessment
from mescc.api.presentation import regimen_chart


def report_html(templates: Jinja2Templates, record: StoredAssessment) -> str:
    plan = record.document.get("plan")
    options = plan.get("radiotherapy") if isinstance(plan, dict) else None
    template = templates.env.get_template("report.html")
    return template.render(
        record=record,
        chart=regimen_chart(options),
        generated_at=datetime.now(UTC),
        compact=True,  # the printout: ids for the basis, a reference list, folds summarised
    )


def report_pdf(templates: Jinja2Templates, record: StoredAssessment) -> bytes:
    """The PDF report (inputs, plan, basis, citations, versions, timestamps)."""
    from weasyprint import HTML  # heavy import, only where a PDF is made

    pdf: bytes = HTML(string=report_html(templates, record)).write_pdf()
    return pdf
