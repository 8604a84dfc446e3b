"""The clinician web app: patient form, result, history, patient summary, PDF, re-run.

Server-rendered and usable without JavaScript. Every page needs a login session (the router's
dependency) and every form post a CSRF token.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mescc import document as core
from mescc.api import assessing, audit, form_help, forms
from mescc.api.audit import AssessmentFilter, Caller, StoredAssessment
from mescc.api.deps import DbDep, KnowledgeBaseDep, WebUserDep, csrf_token, log_out
from mescc.api.params import (
    DATABASE_INTEGER_MAX,
    FILTER_MAX_CHARS,
    AssessmentIdPath,
    OffsetQuery,
    ReportDetailQuery,
    StoredText,
)
from mescc.api.presentation import regimen_chart
from mescc.errors import InputError
from mescc.fields import MAX_PRIOR_COURSES
from mescc.patient import clean_patient_data

router = APIRouter()

HISTORY_PAGE_SIZE = 25


async def submitted_form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FormDep = Annotated[dict[str, str], Depends(submitted_form)]


def render(
    request: Request,
    name: str,
    user: Caller,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request,
        name,
        {"user": user, "csrf": csrf_token(request), **context},
        status_code=status_code,
    )
    return response


def stored_or_404(db: DbDep, assessment_id: int, viewer: Caller) -> StoredAssessment:
    """The assessment, or 404 when it does not exist or ``viewer`` may not see it."""
    record = audit.get_assessment(db, assessment_id, viewer=viewer)
    if record is None:
        raise HTTPException(status_code=404, detail="Assessment not found")
    return record


def _chart(record: StoredAssessment) -> Any:
    plan = record.document.get("plan")
    return regimen_chart(plan.get("radiotherapy") if isinstance(plan, dict) else None)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/assessments/new", status_code=303)


@router.post("/logout")
def logout(request: Request, db: DbDep) -> RedirectResponse:
    log_out(request, db)
    return RedirectResponse("/login", status_code=303)


def _form_page(
    request: Request,
    user: Caller,
    knowledge_base: Any,
    *,
    values: dict[str, str],
    course_rows: int,
    problems: list[dict[str, Any]] | None = None,
    allow_unverified: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    known = {f.key: f.html_id for f in forms.all_fields()}
    errors: dict[str, str] = {}
    shown: list[dict[str, Any]] = []
    for item in problems or []:
        key = forms.problem_key(str(item.get("field") or ""))
        anchor = known.get(key)
        message = forms.shown_message(item)
        if anchor is not None and key not in errors:
            errors[key] = message
        shown.append({**item, "anchor": anchor, "shown": message})
    return render(
        request,
        "form.html",
        user,
        {
            "fieldsets": forms.PATIENT_FORM,
            "course_rows": [forms.course_fields(index) for index in range(course_rows)],
            "can_add_course": course_rows < MAX_PRIOR_COURSES,
            "help": form_help.inline_help(knowledge_base),
            "values": values,
            "errors": errors,
            "problems": shown,
            "allow_unverified": allow_unverified,
            "unknown_label": forms.UNKNOWN_LABEL,
        },
        status_code=status_code,
    )


@router.get("/assessments/new")
def new_assessment(
    request: Request,
    user: WebUserDep,
    db: DbDep,
    knowledge_base: KnowledgeBaseDep,
    source: Annotated[str, Query(alias="from", description="Prefill from this assessment")] = "",
) -> HTMLResponse:
    values: dict[str, str] = {}
    allow_unverified = False
    if source.isdigit() and len(source) <= 19 and int(source) <= DATABASE_INTEGER_MAX:
        record = audit.get_assessment(db, int(source), viewer=user)
        if record is not None:
            values = forms.form_values(record.inputs)
            allow_unverified = record.allow_unverified
    return _form_page(
        request,
        user,
        knowledge_base,
        values=values,
        course_rows=forms.rows_for(values),
        allow_unverified=allow_unverified,
    )


@router.post("/assessments")
def create_assessment(
    request: Request,
    user: WebUserDep,
    db: DbDep,
    knowledge_base: KnowledgeBaseDep,
    form: FormDep,
) -> Response:
    reading = forms.read_form(form)
    allow_unverified = form.get("allow_unverified") == "true"
    if form.get(forms.ACTION_FIELD) == forms.ADD_COURSE:
        # "Add another course" (no JavaScript): the same form with one more row, nothing assessed.
        return _form_page(
            request,
            user,
            knowledge_base,
            values=reading.values,
            course_rows=forms.shown_rows(reading.course_rows + 1),
            allow_unverified=allow_unverified,
        )
    try:
        if reading.problems:
            # The form's own problems, and every problem the library finds besides them.
            problems = list(reading.problems)
            try:
                clean_patient_data(reading.patient)
            except InputError as error:
                problems.extend(error.problems)
            raise InputError(problems)
        record = assessing.assess_and_record(
            db,
            caller=user,
            inputs=reading.patient,
            knowledge_base=knowledge_base,
            allow_unverified=allow_unverified,
        )
    except InputError as error:
        return _form_page(
            request,
            user,
            knowledge_base,
            values=reading.values,
            course_rows=reading.course_rows,
            problems=[p.as_dict() for p in error.problems],
            allow_unverified=allow_unverified,
            status_code=422,
        )
    request.app.state.storage_health.record_success()
    return RedirectResponse(f"/assessments/{record.id}", status_code=303)


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


@router.get("/assessments")
def history(
    request: Request,
    user: WebUserDep,
    db: DbDep,
    created_after: Annotated[str, Query(max_length=FILTER_MAX_CHARS)] = "",
    who: Annotated[StoredText, Query(alias="user", max_length=FILTER_MAX_CHARS)] = "",
    regimen: Annotated[StoredText, Query(max_length=FILTER_MAX_CHARS)] = "",
    patient_ref: Annotated[StoredText, Query(max_length=FILTER_MAX_CHARS)] = "",
    offset: OffsetQuery = 0,
) -> HTMLResponse:
    day = _parse_day(created_after)
    where = AssessmentFilter(
        created_after=datetime.combine(day, time(0), tzinfo=UTC) if day else None,
        user=who or None,
        regimen=regimen or None,
        patient_ref=patient_ref or None,
    )
    page = audit.list_assessments(db, where, viewer=user, limit=HISTORY_PAGE_SIZE, offset=offset)
    filters = {
        "created_after": day.isoformat() if day else "",
        "user": who,
        "regimen": regimen,
        "patient_ref": patient_ref,
    }
    base = {k: v for k, v in filters.items() if v}

    def link(new_offset: int) -> str:
        return "/assessments?" + urlencode({**base, "offset": new_offset})

    return render(
        request,
        "history.html",
        user,
        {
            "page": page,
            "filters": filters,
            "choices": audit.distinct_values(db, viewer=user),
            "prev_url": link(max(offset - HISTORY_PAGE_SIZE, 0)) if offset > 0 else None,
            "next_url": link(offset + HISTORY_PAGE_SIZE)
            if offset + HISTORY_PAGE_SIZE < page.total
            else None,
        },
    )


@router.get("/assessments/{assessment_id}")
def result(
    request: Request, user: WebUserDep, db: DbDep, assessment_id: AssessmentIdPath
) -> HTMLResponse:
    record = stored_or_404(db, assessment_id, user)
    return render(request, "result.html", user, {"record": record, "chart": _chart(record)})


@router.get("/assessments/{assessment_id}/summary")
def patient_summary(
    request: Request, user: WebUserDep, db: DbDep, assessment_id: AssessmentIdPath
) -> HTMLResponse:
    record = stored_or_404(db, assessment_id, user)
    return render(request, "summary.html", user, {"record": record})


@router.get("/assessments/{assessment_id}/report.pdf")
async def report(
    request: Request,
    user: WebUserDep,
    db: DbDep,
    assessment_id: AssessmentIdPath,
    detail: ReportDetailQuery = "summary",
) -> Response:
    record = stored_or_404(db, assessment_id, user)
    pdf = await request.app.state.pdf_renderer.render(request.app.state.templates, record, detail)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="mescc-assessment-{record.id}.pdf"'},
    )


@router.get("/assessments/{assessment_id}/rerun")
def rerun(
    request: Request,
    user: WebUserDep,
    db: DbDep,
    knowledge_base: KnowledgeBaseDep,
    assessment_id: AssessmentIdPath,
) -> HTMLResponse:
    record = stored_or_404(db, assessment_id, user)
    try:
        outcome = assessing.rerun(record, knowledge_base=knowledge_base)
    except InputError as error:
        return render(
            request,
            "error.html",
            user,
            {
                "status_code": 422,
                "title": "The stored inputs are no longer accepted by the current version",
                "problems": [
                    {**p.as_dict(), "shown": forms.shown_message(p.as_dict())}
                    for p in error.problems
                ],
            },
            status_code=422,
        )
    return render(
        request,
        "rerun.html",
        user,
        {
            "record": record,
            "current": outcome.current,
            "current_regimen": audit.recommended_regimen(outcome.current),
            "changes": outcome.changes,
        },
    )


@router.get("/instruments")
def instruments(
    request: Request, user: WebUserDep, knowledge_base: KnowledgeBaseDep
) -> HTMLResponse:
    return render(
        request,
        "instruments.html",
        user,
        {"instruments": core.instruments_document(kb=knowledge_base)},
    )
