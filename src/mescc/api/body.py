"""The patient JSON of a request, parsed strictly.

Python's JSON reader accepts ``NaN``, ``Infinity``, numbers that overflow to infinity and lone
surrogates, none of which is JSON or can be stored and returned as JSON. They are refused here
as malformed JSON (422 in the problem shape) before anything else sees them.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from mescc.patient import Patient


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text}")
    return value


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _malformed(reason: str) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "type": "json_invalid",
                "loc": ("body",),
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": reason},
            }
        ]
    )


async def patient_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object; 422 for malformed JSON or a body that is not an object."""
    raw = await request.body()
    try:
        value = json.loads(raw, parse_constant=_no_constants, parse_float=_finite)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # lone surrogates fail here
    except (ValueError, UnicodeError) as error:
        raise _malformed(str(error)) from None
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
