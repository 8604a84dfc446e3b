"""``/login``: the login page of the web app (session cookie; CSRF token on the form)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mescc.api import access, accounts
from mescc.api.deps import DbDep, csrf_token, log_in, verify_csrf
from mescc.api.params import nul_problem
from mescc.settings import Settings

_FIELD_MAX_CHARS = 1024

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])


def safe_next(target: str | None) -> str:
    """Only a local path may follow a login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/assessments/new"


def _login_page(
    request: Request, *, next_url: str, error: str = "", username: str = "", status: int = 200
) -> HTMLResponse:
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request,
        "login.html",
        {
            "user": None,
            "csrf": csrf_token(request),
            "next_url": next_url,
            "error": error,
            "username": username,
        },
        status_code=status,
    )
    return response


@router.get("/login")
def login_form(request: Request, next: str = "") -> HTMLResponse:
    return _login_page(request, next_url=safe_next(next))


def _limits(request: Request) -> accounts.LoginLimits:
    settings: Settings = request.app.state.settings
    return accounts.LoginLimits(
        window=timedelta(seconds=settings.login_window_seconds),
        per_account=settings.login_max_failures_per_account,
        per_client=settings.login_max_failures_per_client,
    )


@router.post("/login")
def login(
    request: Request,
    db: DbDep,
    username: Annotated[str, Form(max_length=_FIELD_MAX_CHARS)] = "",
    password: Annotated[str, Form(max_length=_FIELD_MAX_CHARS)] = "",
    next: Annotated[str, Form(max_length=_FIELD_MAX_CHARS)] = "",
) -> Response:
    """Rate-limited per account and per client address (``mescc.api.accounts``): past the
    limit the login is refused with 429 and a message saying for how long, even with the
    right password, and the password is not checked."""
    limits = _limits(request)
    client = request.client.host if request.client else "unknown"
    shown_name = username if nul_problem(username) is None else ""
    refusal = accounts.login_refusal(db, username, client, limits)
    if refusal is not None:
        return _login_page(
            request, next_url=safe_next(next), error=refusal, username=shown_name, status=429
        )
    caller = accounts.authenticate(db, username, password)
    if caller is None or not access.may(caller, "web"):
        accounts.record_login_failure(db, username, client, limits)
        error = "Unknown user name or wrong password."
        if caller is not None:
            error = "This account is for systems (API tokens) and cannot log in to the web app."
        return _login_page(
            request, next_url=safe_next(next), error=error, username=shown_name, status=401
        )
    accounts.clear_login_failures(db, caller.username)
    log_in(request, db, caller)
    return RedirectResponse(safe_next(next), status_code=303)
