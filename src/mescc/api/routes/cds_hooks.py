"""CDS Hooks 2.0 endpoints: ``GET /cds-services``, ``POST /cds-services/mescc-rt-advisor``
and ``POST /cds-services/mescc-rt-advisor/feedback``.

Every call needs the calling EHR's signed JWT (``mescc.api.cds_auth``); no API token or login
session is used here. A patient-view call reads the prefetched resources, fetches what the
client did not prefetch from ``fhirServer`` with ``fhirAuthorization``, answers 412 when neither
is possible, assesses the patient with the library (``mescc.adapters.fhir_in``), stores the
assessment in the audit trail (as the client's service user) and returns one card
(``mescc.adapters.cds_hooks``). Feedback is appended to the audit trail (``cds_feedback``).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, HTTPException, Request
from sqlalchemy import select

from mescc.adapters import cds_hooks, fhir_in
from mescc.adapters.fhir_server import FhirServerError, fetch, next_link, prefetch_templates
from mescc.api import accounts, audit
from mescc.api.cds_auth import CdsAuthError, CdsCaller, CdsSecurity, verify_client_jwt
from mescc.api.deps import DbDep, KnowledgeBaseDep, SettingsDep
from mescc.api.errors import problem
from mescc.api.models import CdsCard, CdsFeedback
from mescc.api.responses import JSONBody
from mescc.api.schemas import error_responses

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])

_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def public_base(request: Request, settings: Any) -> str:
    """The service's external base URL (``MESCC_PUBLIC_BASE_URL``, else the request's)."""
    base = settings.public_base_url or str(request.base_url)
    return str(base).rstrip("/")


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(
        status_code=401,
        detail=[
            problem(
                "Authorization",
                None,
                "Bearer <JWT signed by a trusted CDS client>",
                f"Authorization: {message}; allowed: a JWT signed by a trusted CDS client "
                "(CDS Hooks 2.0, Trusting CDS Clients)",
            )
        ],
        headers={"WWW-Authenticate": "Bearer"},
    )


def require_cds_client(request: Request, db: DbDep, settings: SettingsDep) -> CdsCaller:
    """The CDS client of this call, from its JWT (401 otherwise; a jti is accepted once)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorised("missing bearer JWT")
    security: CdsSecurity = request.app.state.cds_security
    called = public_base(request, settings) + request.url.path
    audiences = [called]
    if called.endswith("/feedback"):
        audiences.append(called.removesuffix("/feedback"))
    try:
        caller = verify_client_jwt(
            token.strip(),
            audiences=audiences,
            clients=security.clients,
            cache=security.cache,
            leeway_seconds=security.leeway_seconds,
            max_lifetime_seconds=security.max_lifetime_seconds,
        )
        security.replay.accept(db, caller)
    except CdsAuthError as exc:
        raise _unauthorised(str(exc)) from None
    return caller


CdsCallerDep = Annotated[CdsCaller, Depends(require_cds_client)]


def _not_found(service_id: str) -> HTTPException:
    return HTTPException(
        status_code=404,
        detail=[
            problem(
                "service",
                service_id,
                cds_hooks.SERVICE_ID,
                f"service: {service_id!r} is not a CDS service here; "
                f"allowed: {cds_hooks.SERVICE_ID}",
            )
        ],
    )


def _invalid(field: str, value: Any, allowed: str, wrong: str) -> HTTPException:
    return HTTPException(
        status_code=422,
        detail=[problem(field, value, allowed, f"{field}: {wrong}; allowed: {allowed}")],
    )


@router.get("", summary="CDS Hooks discovery", responses=error_responses(401))
def discovery(caller: CdsCallerDep) -> JSONBody:
    return JSONBody(cds_hooks.discovery())


def _gather(
    hook: cds_hooks.HookRequest, patient_id: str, timeout: float
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The resources of every prefetch key: as prefetched, else fetched (412 if neither)."""
    prefetch = hook.prefetch or {}
    sources: dict[str, str] = {}
    data: dict[str, Any] = {}
    wanted: list[str] = []
    for key in prefetch_templates():
        if key in prefetch and (prefetch[key] is None or next_link(prefetch[key]) is None):
            data[key] = prefetch[key]
            sources[key] = "prefetch" if prefetch[key] is not None else "prefetch: no data"
        else:
            wanted.append(key)
    if wanted:
        auth = hook.fhirAuthorization
        if not hook.fhirServer or auth is None:
            raise HTTPException(
                status_code=412,
                detail=[
                    problem(
                        "prefetch",
                        wanted,
                        "every prefetch key, or fhirServer with fhirAuthorization",
                        f"prefetch: {', '.join(wanted)} not prefetched (or paged) and no "
                        "fhirServer with fhirAuthorization to fetch them; allowed: every "
                        "prefetch key of the discovery document, or fhirServer with "
                        "fhirAuthorization",
                    )
                ],
            )
        try:
            fetched = fetch(
                hook.fhirServer, patient_id, keys=wanted, token=auth.access_token, timeout=timeout
            )
        except FhirServerError as exc:
            raise HTTPException(
                status_code=412,
                detail=[
                    problem(
                        "fhirServer",
                        hook.fhirServer,
                        "a FHIR server that answers the prefetch queries",
                        f"fhirServer: {exc}; allowed: a FHIR server that answers the "
                        "prefetch queries",
                    )
                ],
            ) from None
        data.update(fetched)
        sources.update({key: "fetched from fhirServer" for key in wanted})
    resources: list[dict[str, Any]] = []
    for value in data.values():
        resources.extend(fhir_in.bundle_resources(value))
    return resources, sources


@router.post(
    "/{service_id}",
    summary="Call the MESCC patient-view service",
    responses=error_responses(401, 404, 412, 413, 415, 422, 503),
)
def call_service(
    service_id: str,
    request: Request,
    hook: Annotated[cds_hooks.HookRequest, Body()],
    caller: CdsCallerDep,
    db: DbDep,
    knowledge_base: KnowledgeBaseDep,
    settings: SettingsDep,
) -> JSONBody:
    if service_id != cds_hooks.SERVICE_ID:
        raise _not_found(service_id)
    if hook.hook != cds_hooks.HOOK:
        raise _invalid("hook", hook.hook, cds_hooks.HOOK, f"{hook.hook!r} is not served here")
    patient_id = hook.context.get("patientId")
    if not isinstance(patient_id, str) or not _FHIR_ID.match(patient_id):
        raise _invalid(
            "context.patientId",
            patient_id,
            "a FHIR id (1-64 of A-Z a-z 0-9 - .)",
            f"{patient_id!r} is not a FHIR id",
        )
    resources, sources = _gather(hook, patient_id, settings.fhir_timeout_seconds)
    imported = fhir_in.import_resources(
        resources,
        patient_id=patient_id,
        max_age_days=settings.fhir_max_age_days,
        origin=hook.fhirServer or "prefetch",
    )
    document = fhir_in.fhir_assessment_document(imported, kb=knowledge_base)
    card_uuid = str(uuid.uuid4())
    document["cds_hooks"] = {
        "service": service_id,
        "hook": hook.hook,
        "hook_instance": hook.hookInstance,
        "issuer": caller.issuer,
        "user": hook.context.get("userId"),
        "encounter": hook.context.get("encounterId"),
        "data": sources,
        "card": card_uuid,
    }
    service_user = accounts.service_caller(
        db, f"cds:{caller.issuer}", care_team=caller.client.care_team
    )
    record = audit.record_assessment(
        db,
        caller=service_user,
        inputs=imported.patient_data,
        document=document,
        allow_unverified=False,
    )
    now = datetime.now(UTC)
    db.add(
        CdsCard(
            uuid=card_uuid,
            assessment_id=record.id,
            created_at=now,
            service_id=service_id,
            hook_instance=hook.hookInstance[:200],
            issuer=caller.issuer[:500],
        )
    )
    db.commit()
    base = public_base(request, settings)
    card = cds_hooks.card(
        document,
        card_uuid=card_uuid,
        assessment_url=f"{base}/assessments/{record.id}",
        source_url=f"{base}/instruments",
        patient_id=patient_id,
        suggestion_uuid=str(uuid.uuid4()),
        authored_on=now.isoformat(timespec="seconds").replace("+00:00", "Z"),
    )
    return JSONBody({"cards": [card]})


@router.post(
    "/{service_id}/feedback",
    summary="Feedback on a card (stored in the audit trail)",
    responses=error_responses(401, 404, 413, 415, 422, 503),
)
def feedback(
    service_id: str,
    body: Annotated[cds_hooks.FeedbackRequest, Body()],
    caller: CdsCallerDep,
    db: DbDep,
) -> JSONBody:
    if service_id != cds_hooks.SERVICE_ID:
        raise _not_found(service_id)
    uuids = {item.card for item in body.feedback}
    cards = {
        c.uuid: c
        for c in db.scalars(select(CdsCard).where(CdsCard.uuid.in_(uuids)))
        if c.issuer == caller.issuer[:500]
    }
    unknown = sorted(uuids - set(cards))
    if unknown:
        raise HTTPException(
            status_code=404,
            detail=[
                problem(
                    "feedback.card",
                    unknown,
                    "the uuid of a card this service returned to this client",
                    f"feedback.card: {', '.join(unknown)} not a card returned to this client; "
                    "allowed: the uuid of a card this service returned to this client "
                    "(nothing was stored)",
                )
            ],
        )
    now = datetime.now(UTC)
    for item in body.feedback:
        db.add(
            CdsFeedback(
                received_at=now,
                issuer=caller.issuer[:500],
                service_id=service_id,
                card_uuid=item.card,
                assessment_id=cards[item.card].assessment_id,
                outcome=item.outcome,
                outcome_timestamp=item.outcomeTimestamp[:64],
                feedback_json=orjson.dumps(
                    item.model_dump(mode="json", exclude_none=True)
                ).decode(),
            )
        )
    db.commit()
    return JSONBody({"received": len(body.feedback)})
