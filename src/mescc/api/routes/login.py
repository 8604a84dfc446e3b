"""``/login``: the login page of the web app (session cookie; CSRF token on the form)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mescc.api import accounts
from mescc.api.deps import DbDep, csrf_token, log_in, verify_csrf

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


@router.post("/login")
def login(
    request: Request,
    db: DbDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    caller = accounts.authenticate(db, username, password)
    if caller is None:
        return _login_page(
            request,
            next_url=safe_next(next),
            error="Unknown user name or wrong password.",
            username=username,
            status=401,
        )
    log_in(request, caller)
    return RedirectResponse(safe_next(next), status_code=303)
