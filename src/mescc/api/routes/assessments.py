"""``/api/v1/assessments``: create (assess and store), fetch, list, PDF report, re-run."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from mescc.api import assessing, audit
from mescc.api.audit import AssessmentFilter, Caller, StoredAssessment
from mescc.api.body import patient_json, patient_request_body
from mescc.api.deps import CallerDep, DbDep, KnowledgeBaseDep, require_permission
from mescc.api.errors import problem
from mescc.api.params import (
    AssessmentIdPath,
    OffsetQuery,
    ReportDetailQuery,
    StoredText,
    UTCDateTimeParam,
    text_filter,
)
from mescc.api.responses import JSONBody
from mescc.api.schemas import AssessmentPage, AssessmentResponse, RerunResponse, error_responses

router = APIRouter(prefix="/assessments", tags=["assessments"])

_EXAMPLE_PATIENT = {
    "id": "case-17",
    "age_years": 64,
    "primary_tumor": "breast",
    "ambulatory_status": "ambulatory_without_aid",
    "ecog": 1,
    "motor_deficit_days": 10,
    "visceral_metastases": False,
    "other_bone_metastases": True,
    "escc_grade": "2",
}


def load_or_404(db: DbDep, assessment_id: int, viewer: Caller) -> StoredAssessment:
    """The assessment, or 404 when it does not exist or ``viewer`` may not see it."""
    record = audit.get_assessment(db, assessment_id, viewer=viewer)
    if record is None:
        raise HTTPException(
            status_code=404,
            detail=[
                problem(
                    "id",
                    assessment_id,
                    "the id of a stored assessment",
                    f"id: {assessment_id} is not a stored assessment; "
                    "allowed: the id of a stored assessment",
                )
            ],
        )
    return record


@router.post(
    "",
    status_code=201,
    response_model=AssessmentResponse,
    responses=error_responses(401, 403, 413, 415, 422, 503),
    summary="Assess a patient and store the assessment",
    openapi_extra={"requestBody": patient_request_body(_EXAMPLE_PATIENT)},
)
async def create_assessment(
    request: Request,
    patient: Annotated[dict[str, Any], Depends(patient_json)],
    caller: Annotated[Caller, require_permission("assess")],
    db: DbDep,
    knowledge_base: KnowledgeBaseDep,
    allow_unverified: Annotated[
        bool, Query(description="Let unverified instruments influence the ranking")
    ] = False,
) -> JSONBody:
    """The contract's assessment document (as `mescc assess --format json`), plus `id`,
    `created_at` and an `audit` block. Nothing is stored when the input is invalid (422)."""
    # Run on the event loop, not in the thread pool: the work is CPU-bound (a few ms of
    # Python, which holds the GIL whichever thread runs it) and the one wait, the audit commit,
    # is shorter than the thread hand-offs it would save (1 ms of CPU per request measured,
    # benchmarks/results_api.md). Parallelism comes from worker processes (`--workers`).
    record = assessing.assess_and_record(
        db,
        caller=caller,
        inputs=patient,
        knowledge_base=knowledge_base,
        allow_unverified=allow_unverified,
    )
    request.app.state.storage_health.record_success()
    return JSONBody(
        assessing.api_view(record),
        status_code=201,
        headers={"Location": f"/api/v1/assessments/{record.id}"},
    )


@router.get(
    "",
    response_model=AssessmentPage,
    responses=error_responses(401, 422),
    summary="List stored assessments, newest first",
)
def list_assessments(
    request: Request,
    db: DbDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: OffsetQuery = 0,
    created_after: Annotated[
        UTCDateTimeParam | None, Query(description="ISO date or date-time (UTC if no zone)")
    ] = None,
    created_before: Annotated[
        UTCDateTimeParam | None, Query(description="ISO date or date-time (UTC if no zone)")
    ] = None,
    user: Annotated[StoredText | None, text_filter("User name")] = None,
    regimen: Annotated[
        StoredText | None, text_filter("Recommended regimen, e.g. `5 x 4 Gy`")
    ] = None,
    patient_ref: Annotated[StoredText | None, text_filter("The patient's `id` field")] = None,
) -> JSONBody:
    where = AssessmentFilter(
        created_after=created_after,
        created_before=created_before,
        user=user,
        regimen=regimen,
        patient_ref=patient_ref,
    )
    page = audit.list_assessments(db, where, viewer=caller, limit=limit, offset=offset)
    next_url = None
    if offset + limit < page.total:
        params = {k: v for k, v in request.query_params.items() if k != "offset"}
        params["offset"] = str(offset + limit)
        next_url = f"/api/v1/assessments?{urlencode(params)}"
    return JSONBody(
        {
            "items": [assessing.summary_view(item) for item in page.items],
            "total": page.total,
            "limit": page.limit,
            "offset": page.offset,
            "next": next_url,
        }
    )


@router.get(
    "/{assessment_id}",
    response_model=AssessmentResponse,
    responses=error_responses(401, 404, 422),
    summary="One stored assessment, exactly as it was returned when made",
)
def get_assessment(assessment_id: AssessmentIdPath, db: DbDep, caller: CallerDep) -> JSONBody:
    return JSONBody(assessing.api_view(load_or_404(db, assessment_id, caller)))


@router.get(
    "/{assessment_id}/report.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The PDF report"},
        **error_responses(401, 404, 422, 503),
    },
    summary="Printable PDF report of a stored assessment",
)
async def get_report(
    assessment_id: AssessmentIdPath,
    request: Request,
    db: DbDep,
    caller: CallerDep,
    detail: ReportDetailQuery = "summary",
) -> Response:
    """Rendered in the bounded renderer pool (503 with Retry-After when it is full)."""
    record = load_or_404(db, assessment_id, caller)
    pdf = await request.app.state.pdf_renderer.render(request.app.state.templates, record, detail)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="mescc-assessment-{record.id}.pdf"'},
    )


@router.get(
    "/{assessment_id}/fhir",
    response_class=Response,
    responses={
        200: {"content": {"application/fhir+json": {}}, "description": "An R4 Bundle"},
        **error_responses(401, 404, 422),
    },
    summary="A stored assessment as an R4 Bundle (RiskAssessments and the proposed course)",
)
def get_fhir(
    assessment_id: AssessmentIdPath, db: DbDep, caller: CallerDep, knowledge_base: KnowledgeBaseDep
) -> JSONBody:
    """One RiskAssessment per computed instrument and, when the plan recommends a regimen, a
    ServiceRequest proposal of the radiotherapy course (``mescc assess --format fhir``)."""
    from mescc.adapters.fhir_out import assessment_bundle
    from mescc.document import instruments_document

    record = load_or_404(db, assessment_id, caller)
    bundle = assessment_bundle(
        record.document,
        instruments_document(kb=knowledge_base),
        assessed_at=record.created_at,
        assessment_ref=f"mescc-assessment-{record.id}",
    )
    return JSONBody(bundle, media_type="application/fhir+json")


@router.get(
    "/{assessment_id}/rerun",
    response_model=RerunResponse,
    responses=error_responses(401, 404, 422),
    summary="Re-run the stored inputs on the current knowledge base and show what changed",
)
def rerun_assessment(
    assessment_id: AssessmentIdPath,
    db: DbDep,
    caller: CallerDep,
    knowledge_base: KnowledgeBaseDep,
) -> JSONBody:
    """Nothing is stored; the stored assessment is never changed."""
    record = load_or_404(db, assessment_id, caller)
    return JSONBody(assessing.rerun(record, knowledge_base=knowledge_base).as_dict())
