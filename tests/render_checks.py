"""Checks shared by the renderer tests: no code or raw enum value reaches the reader."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from mescc.fields import COURSE_FIELDS, FIELDS, PREFERENCE_FIELDS


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def _coded(node: Any) -> Iterator[str]:
    """The ``code`` and ``id`` values anywhere in the plan (reason codes, criterion ids...)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in ("code", "id", "kind", "status", "why") and isinstance(value, str):
                yield value
            yield from _coded(value)
    elif isinstance(node, list):
        for value in node:
            yield from _coded(value)


def codes(doc: Mapping[str, Any]) -> set[str]:
    """Every code the reader must not see: enum values and keys of the field table with an
    underscore, and the summary's codes (reason codes, criterion and evidence ids, regimen
    ids, instrument ids, statuses)."""
    out = {iid for iid in doc["instruments"]}
    for spec in (*FIELDS, *COURSE_FIELDS, *PREFERENCE_FIELDS):
        out.add(spec.key)
        out.update(str(v) for v in spec.values or () if "_" in str(v))
    out.update(s for s in _strings(doc["summary"]) if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", s))
    out.update(s for s in _strings(doc["summary"]) if re.fullmatch(r"\d+x[\d.]+", s))
    out.update(_coded(doc["plan"]))
    return {c for c in out if "_" in c or re.fullmatch(r"\d+x[\d.]+", c)}


def leaked(text: str, doc: Mapping[str, Any]) -> list[str]:
    """The codes of ``doc`` that appear in ``text`` as words."""
    flat = " ".join(text.split())
    return sorted(c for c in codes(doc) if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", flat))
