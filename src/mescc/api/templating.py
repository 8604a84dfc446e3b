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
    )
    env.tests["listlike"] = presentation.is_sequence
    env.globals.update(
        banner=presentation.EMERGENCY_BANNER,
        intended_use=presentation.INTENDED_USE,
        software_version=__version__,
    )
    return templates
