"""The Jinja2 environment shared by pages and the PDF report (autoescaped)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates

from mescc import __version__
from mescc.api import presentation

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def _omit(value: Any, *keys: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {}
    return {k: v for k, v in value.items() if k not in keys}


_LONG_TEXT = 60
_STATUS_ORDER = {"computed": 0, "not_computable": 1, "not_applicable": 2}


def _split_fields(value: Any) -> dict[str, Any]:
    """Short scalars, long texts and nested structures of a mapping (None and empties dropped)."""
    short: list[tuple[str, Any]] = []
    long: list[tuple[str, Any]] = []
    nested: dict[str, Any] = {}
    if isinstance(value, Mapping):
        for key, item in value.items():
            if item is None or (isinstance(item, Mapping | list | tuple) and not item):
                continue
            if isinstance(item, Mapping | list | tuple):
                nested[key] = item
            elif isinstance(item, str) and len(item) > _LONG_TEXT:
                long.append((key, item))
            else:
                short.append((key, item))
    return {"short": short, "long": long, "nested": nested}


def _by_status(instruments: Any) -> list[tuple[str, Any]]:
    """Instruments with computed ones first (stable within a status)."""
    if not isinstance(instruments, Mapping):
        return []
    items = list(instruments.items())

    def rank(pair: tuple[str, Any]) -> int:
        status = pair[1].get("status") if isinstance(pair[1], Mapping) else None
        return _STATUS_ORDER.get(str(status), 3)

    return sorted(items, key=rank)


def create_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.autoescape = True
    env.filters.update(
        fmt=presentation.fmt,
        humanize=presentation.humanize,
        verification_label=presentation.verification_label,
        verification_text=presentation.verification_text,
        omit=_omit,
        split_fields=_split_fields,
        by_status=_by_status,
    )
    env.tests["listlike"] = presentation.is_sequence
    env.globals.update(
        banner=presentation.EMERGENCY_BANNER,
        intended_use=presentation.INTENDED_USE,
        software_version=__version__,
    )
    return templates
