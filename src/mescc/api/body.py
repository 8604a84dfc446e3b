"""The patient JSON of a request, parsed strictly by the one reader of ``mescc.loading``.

The body must be declared ``Content-Type: application/json`` (anything else is 415: a
``text/plain`` body is not accepted as JSON). It is then read exactly as ``mescc assess``
reads a ``.json`` file: strict decoding, no duplicate keys (both positions named), no NaN or
infinities, numbers without a machine value (>= 2^64, 1e400, 400 digits) refused naming their
field, nesting, key-count and size limits before any per-key work. Every refusal is a 422 in
the problem shape (``InputError``), never a 5xx.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError

from mescc.api.errors import problem
from mescc.loading import load_patient
from mescc.patient import Patient

JSON_MEDIA_TYPE = "application/json"


def require_json(request: Request) -> None:
    """Refuse (415) a body not declared as ``application/json`` (parameters such as charset
    are allowed; the bytes are decoded by their byte-order mark or as UTF-8)."""
    declared = request.headers.get("content-type", "")
    media_type = declared.split(";", 1)[0].strip().lower()
    if media_type != JSON_MEDIA_TYPE:
        shown = declared[:100] or "none"
        raise HTTPException(
            status_code=415,
            detail=[
                problem(
                    "content-type",
                    shown,
                    JSON_MEDIA_TYPE,
                    f"content-type: {shown!r} is not supported for this request; "
                    f"allowed: {JSON_MEDIA_TYPE}",
                )
            ],
        )


async def patient_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object: 415 unless JSON, 422 for anything the strict reader refuses
    or a body that is not an object."""
    require_json(request)
    raw = await request.body()
    value = load_patient(raw, source="body", syntax="json")
    if not isinstance(value, dict):
        raise RequestValidationError(
            [
                {
                    "type": "dict_type",
                    "loc": ("body",),
                    "msg": "Input should be a JSON object",
                    "input": value,
                }
            ]
        )
    return value


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with its local ``$defs`` references inlined (it is embedded in the OpenAPI
    document, where ``#/$defs/...`` would not resolve). The Patient model is not recursive."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(definitions[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def patient_request_body(example: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI request body: the library's Patient model, whose keys are the contract's."""
    return {
        "required": True,
        "description": "Patient object with the contract's keys; a missing key is unknown.",
        "content": {
            "application/json": {
                "schema": _inline_refs(Patient.model_json_schema()),
                "example": example,
            }
        },
    }
