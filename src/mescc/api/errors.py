"""Error responses: every API error is ``{"detail": [{field, value, allowed, message}, ...]}``.

The same shape serves the library's :class:`~mescc.errors.InputError`, FastAPI's own request
validation (malformed JSON, wrong query types), authentication and missing resources, so a client
needs one parser. Web pages get an HTML page instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mescc.api.responses import JSONBody
from mescc.api.storage import storage_failure
from mescc.errors import MAX_PROBLEMS_LISTED, InputError

logger = logging.getLogger("mescc.api")

_LOCATIONS = {"body", "query", "path", "header", "cookie"}
_MAX_VALUE_CHARS = 200
#: At most this many problems are listed in one response; the last line counts the rest
#: (the library's rule, :data:`mescc.errors.MAX_PROBLEMS_LISTED`, so an ``InputError`` already
#: capped passes unchanged).
MAX_PROBLEMS = MAX_PROBLEMS_LISTED


def problem(field: str | None, value: Any, allowed: str | None, message: str) -> dict[str, Any]:
    return {"field": field, "value": value, "allowed": allowed, "message": message}


def capped(problems: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first :data:`MAX_PROBLEMS` problems and, if there were more, one line counting the
    rest (a body with 12,000 unknown keys answered with a 1.5 MB 422 before)."""
    if len(problems) <= MAX_PROBLEMS + 1:
        return list(problems)
    rest = len(problems) - MAX_PROBLEMS
    return [
        *problems[:MAX_PROBLEMS],
        problem(
            "...",
            rest,
            f"at most {MAX_PROBLEMS} problems are listed",
            f"...: and {rest} more problems not listed; allowed: at most {MAX_PROBLEMS} "
            "problems are listed per response (fix these and send again)",
        ),
    ]


def problems_response(
    status_code: int, problems: Sequence[dict[str, Any]], headers: dict[str, str] | None = None
) -> JSONBody:
    return JSONBody({"detail": capped(problems)}, status_code=status_code, headers=headers)


def is_api_path(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path == "/cds-services" or path.startswith("/cds-services/")


def _json_safe(value: Any) -> Any:
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        text = json.dumps(repr(value))
        value = repr(value)
    if len(text) > _MAX_VALUE_CHARS:
        return text[:_MAX_VALUE_CHARS] + "..."
    return value


def _allowed(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    simple = {
        "json_invalid": "a well-formed JSON object",
        "dict_type": "a JSON object",
        "model_type": "a JSON object",
        "model_attributes_type": "a JSON object",
        "int_parsing": "an integer",
        "int_type": "an integer",
        "int_from_float": "an integer",
        "float_parsing": "a number",
        "float_type": "a number",
        "bool_parsing": "true or false",
        "bool_type": "true or false",
        "string_type": "a string",
        "missing": "a value (required)",
        "datetime_parsing": "an ISO 8601 date or date-time",
        "datetime_from_date_parsing": "an ISO 8601 date or date-time",
        "datetime_type": "an ISO 8601 date or date-time",
    }
    if kind in simple:
        return simple[kind]
    bounds = {
        "greater_than": "> {gt}",
        "greater_than_equal": ">= {ge}",
        "less_than": "< {lt}",
        "less_than_equal": "<= {le}",
    }
    if kind in bounds:
        try:
            return bounds[kind].format(**ctx)
        except KeyError:
            pass
    if "expected" in ctx:
        return str(ctx["expected"])
    return str(error.get("msg", "a valid value"))


def validation_problems(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI/pydantic validation errors in the contract's problem shape."""
    problems: list[dict[str, Any]] = []
    for raw in errors:
        error: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {"msg": str(raw)}
        loc = [str(part) for part in error.get("loc", ())]
        kind = str(error.get("type", ""))
        if kind == "json_invalid":
            field = "body"
        else:
            parts = loc[1:] if loc and loc[0] in _LOCATIONS else loc
            field = ".".join(parts) or (loc[0] if loc else "body")
        value = None if kind in {"missing", "json_invalid"} else _json_safe(error.get("input"))
        allowed = _allowed(error)
        msg = str(error.get("msg", "is not allowed"))
        if kind == "json_invalid":
            ctx = error.get("ctx")
            detail = ctx.get("error") if isinstance(ctx, dict) else None
            message = f"body: malformed JSON ({detail or msg}); allowed: {allowed}"
        elif kind == "missing":
            message = f"{field}: missing; allowed: {allowed}"
        else:
            message = f"{field}: {json.dumps(value)} is not allowed ({msg}); allowed: {allowed}"
        problems.append(problem(field, value, allowed, message))
    return problems


def input_error_problems(error: InputError) -> list[dict[str, Any]]:
    return [{**p.as_dict(), "value": _json_safe(p.value)} for p in error.problems]


#: The detail of the 400 FastAPI raises when it cannot decode a body it reads for a model.
_FASTAPI_BODY_PARSE_ERROR = "There was an error parsing the body"
_UNREADABLE_BODY = problem(
    "body",
    None,
    "a JSON object in UTF-8",
    "body: cannot be read as JSON (not UTF-8, or malformed); allowed: a JSON object in UTF-8",
)


def _page_user(request: Request) -> dict[str, Any]:
    """The signed-in user of a page request that failed after login (for the navigation)."""
    user = getattr(request.state, "web_user", None)
    if user is None:
        return {}
    from mescc.api.deps import csrf_token

    return {"user": user, "csrf": csrf_token(request)}


def _shown(p: Mapping[str, Any]) -> str:
    """A problem's message with its field named by its label (pages; the API keeps the key)."""
    from mescc.render.labels import key_label

    field = str(p.get("field") or "")
    message = str(p.get("message") or "")
    if field and message.startswith(f"{field}:"):
        return key_label(field) + message[len(field) :]
    return message


def install_error_handlers(app: FastAPI, templates: Jinja2Templates) -> None:
    """Register the handlers that give every error its documented shape."""

    async def on_input_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, InputError)
        return problems_response(422, input_error_problems(exc))

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = validation_problems(exc.errors())
        if is_api_path(request):
            return problems_response(422, problems)
        # a page names the parameter as a reader would ("Created after", not created_after)
        shown = [{**p, "shown": _shown(p)} for p in problems]
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status_code": 422, "title": "Invalid request", "problems": shown},
            status_code=422,
        )

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers) if exc.headers else None
        status_code, title = exc.status_code, str(exc.detail)
        if isinstance(exc.detail, list):
            problems = exc.detail
        elif exc.status_code == 400 and exc.detail == _FASTAPI_BODY_PARSE_ERROR:
            # FastAPI's own body reader (the CDS Hooks routes) answers a body that is not
            # UTF-8 with a bare 400; it is malformed JSON like any other: 422, field body.
            status_code, title, problems = 422, "Invalid request", [_UNREADABLE_BODY]
        else:
            problems = [problem(None, None, None, str(exc.detail))]
        if is_api_path(request) or request.url.path == "/health":
            return problems_response(status_code, problems, headers=headers)
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status_code": status_code, "title": title, "problems": [], **_page_user(request)},
            status_code=status_code,
            headers=headers,
        )

    async def on_database_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DBAPIError)
        failure = storage_failure(exc)
        if failure is None and isinstance(exc, DataError):
            # A value the database refused (the parameter types should have caught it first).
            logger.warning(
                "database refused a value (%s) in %s", type(exc.orig).__name__, request.url.path
            )
            return problems_response(
                422,
                [
                    problem(
                        None,
                        None,
                        "values the database can store",
                        "request: a value cannot be stored by the database; "
                        "allowed: values the database can store",
                    )
                ],
            )
        if failure is None:
            raise exc
        request.app.state.storage_health.record_failure(failure)
        logger.error("database write failed: %s (%s)", failure, type(exc.orig).__name__)
        message = (
            f"database: {failure}; nothing was stored; "
            "allowed: retry when the service reports writes ok at /health"
        )
        headers = {"Retry-After": "30"}
        if is_api_path(request):
            return problems_response(
                503, [problem("database", None, None, message)], headers=headers
            )
        return templates.TemplateResponse(
            request,
            "error.html",
            {
                "status_code": 503,
                "title": "The service cannot store data right now",
                "problems": [problem("database", None, None, message)],
            },
            status_code=503,
            headers=headers,
        )

    app.add_exception_handler(DBAPIError, on_database_error)
    app.add_exception_handler(InputError, on_input_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
