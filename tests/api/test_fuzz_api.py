"""Schemathesis over every operation of the real app (real database file; PostgreSQL too).

Generated requests, valid and invalid, for every operation of the OpenAPI schema, sent through
the ASGI app with a real bearer token. No response may be a 5xx and every response must conform
to the schema (status code, content type, body). The example count is bounded (a couple of
minutes at most on the shared machine); ``MESCC_FUZZ_EXAMPLES`` raises it for a deeper run.

The web forms and the unauthenticated login are not in the schema; hypothesis sends them
arbitrary text (NUL characters, 5,000-digit numbers, lone surrogates ...) the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mescc.api.forms import all_fields

from .conftest import csrf_of

EXAMPLES = int(os.environ.get("MESCC_FUZZ_EXAMPLES", "60"))
# Each existing id costs a WeasyPrint render (seconds of CPU): fewer examples there.
FEW_EXAMPLES = {"GET /api/v1/assessments/{assessment_id}/report.pdf": max(3, EXAMPLES // 5)}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class FuzzRun:
    requests: int = 0
    server_errors: int = 0
    failures: list[str] = field(default_factory=list)
    unsatisfiable: list[str] = field(default_factory=list)


def fuzz(app: FastAPI, token: str) -> FuzzRun:
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=headers)
    run = FuzzRun()
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        examples = FEW_EXAMPLES.get(label, EXAMPLES)
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            _run_operation(
                run,
                operation.as_strategy(generation_mode=mode),
                examples,
                f"{label} [{mode.value}]",
                headers,
            )
    return run


def _run_operation(
    run: FuzzRun, strategy: Any, examples: int, label: str, headers: dict[str, str]
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def one(case: Any) -> None:
        response = case.call(headers=headers)
        run.requests += 1
        if response.status_code >= 500:
            run.server_errors += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as error:  # collected, reported at the end
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            kept = [line for line in lines if line.startswith(("- ST", "Received", "curl", "["))]
            run.failures.append(f"{label}:\n  " + "\n  ".join(kept))

    try:
        one()
    except Unsatisfiable:
        # Negative mode of an operation without parameters: nothing can be made invalid.
        run.unsatisfiable.append(label)


def test_no_5xx_and_every_response_conforms(app: FastAPI, token: str) -> None:
    run = fuzz(app, token)
    assert run.requests > 0
    report = f"{run.requests} requests, {run.server_errors} 5xx, {len(run.failures)} failures"
    print(f"\nschemathesis: {report}")
    assert not run.failures, report + "\n\n" + "\n\n".join(run.failures[:30])
    assert run.server_errors == 0, report


# ---- the web forms (not in the OpenAPI schema) ------------------------------------------

_FORM_KEYS = [f.key for f in all_fields()]
_NASTY_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["\x00", "a\x00b", "9" * 5000, "-" + "9" * 30, "1e400", "nan", "\ud800"]),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@given(form=st.dictionaries(st.sampled_from(_FORM_KEYS), _NASTY_TEXT, max_size=8))
def test_the_patient_form_never_answers_5xx(web: TestClient, form: dict[str, str]) -> None:
    page = web.get("/assessments/new")
    data = {
        k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in form.items()
    }
    response = web.post("/assessments", data={**data, "csrf_token": csrf_of(page.text)})
    assert response.status_code in {303, 422}, response.text[:500]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@given(username=_NASTY_TEXT, password=_NASTY_TEXT, next_url=_NASTY_TEXT)
def test_the_unauthenticated_login_never_answers_5xx(
    client: TestClient, username: str, password: str, next_url: str
) -> None:
    def clean(value: str) -> str:
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")

    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": clean(username),
            "password": clean(password),
            "next": clean(next_url),
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert response.status_code in {303, 401, 422, 429}
