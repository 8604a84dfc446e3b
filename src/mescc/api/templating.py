"""The Jinja2 environment shared by pages and the PDF report (autoescaped).

Every value printed by a template (``{{ ... }}``) first has its control, bidi and invisible
formatting characters made visible (``finalize`` = :func:`visible_output`, then autoescape):
a U+202E in a note cannot reverse the fixed sentence after it in a page or the PDF. The
replacement ``[U+202E]`` holds no HTML-special character, so it is safe in escaped text and in
markup alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates

from mescc import __version__
from mescc.api import presentation
from mescc.api.board import board, patient_options
from mescc.summary import recommendation
from mescc.text_safety import neutralise

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
            if key in presentation.HIDDEN_KEYS:
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


def _idle_split(instruments: Any) -> dict[str, list[tuple[str, Any]]]:
    """Instruments that produced a score and those that did not (not computable or not
    applicable): the idle ones are listed on one line, not as rows of "unknown"."""
    out: dict[str, list[tuple[str, Any]]] = {"computed": [], "idle": []}
    for iid, inst in _by_status(instruments):
        computed = isinstance(inst, Mapping) and inst.get("status") == "computed"
        out["computed" if computed else "idle"].append((iid, inst))
    return out


_REF_MEMO: list[tuple[Any, dict[str, int]]] = []


def _ref_index(document: Any) -> dict[str, int]:
    """Reference number (1-based, order of the reference list) of each evidence id."""
    for doc, index in _REF_MEMO:
        if doc is document:
            return index
    index = {rid: n for n, (rid, _) in enumerate(_references(document), start=1)}
    _REF_MEMO[:] = [(document, index)]
    return index


def _references(document: Any) -> list[tuple[str, str]]:
    """(id, citation) pairs found anywhere in a document, in order of first appearance.

    Pairs come from reasons that carry parallel ``evidence`` (ids) and ``citation`` (texts)
    lists, and from objects with a ``source`` or ``id`` next to a ``citation`` text.
    """
    found: dict[str, str] = {}

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            evidence, citation = value.get("evidence"), value.get("citation")
            if (
                isinstance(evidence, list)
                and isinstance(citation, list)
                and len(evidence) == len(citation)
            ):
                for rid, text in zip(evidence, citation, strict=True):
                    if isinstance(rid, str) and isinstance(text, str):
                        found.setdefault(rid, text)
            elif isinstance(citation, str):
                rid = value.get("source") or value.get("id")
                if isinstance(rid, str):
                    found.setdefault(rid, citation)
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(document)
    first = _board_order(document)  # the sources the board summary cites come first
    return sorted(found.items(), key=lambda item: first.get(item[0], len(first)))


def _board_order(document: Any) -> dict[str, int]:
    """Evidence ids in the order the board summary cites them (recommendation first)."""
    if not isinstance(document, Mapping):
        return {}
    view = board(document)
    ids = [*view.basis_evidence, *(e for line in view.lines for e in line.evidence)]
    return {rid: n for n, rid in enumerate(dict.fromkeys(ids))}


def _is_records(value: Any) -> bool:
    """A non-empty list of flat mappings (scalars or lists of scalars): printable as a table."""
    if not isinstance(value, list | tuple) or not value:
        return False
    for row in value:
        if not isinstance(row, Mapping):
            return False
        for item in row.values():
            if isinstance(item, Mapping):
                return False
            if isinstance(item, list | tuple) and any(
                isinstance(x, Mapping | list | tuple) for x in item
            ):
                return False
    return True


def _record_columns(rows: Any) -> list[str]:
    """Columns of a records table: keys with a value in some row; citations go to References."""
    columns: list[str] = []
    for row in rows:
        for key, item in row.items():
            if (
                key not in columns
                and key not in ("citation", *presentation.HIDDEN_KEYS)
                and item not in (None, [], "")
            ):
                columns.append(key)
    return columns


def visible_output(value: Any) -> Any:
    """``finalize`` of the environment: strings (markup too) with hidden characters shown."""
    if hasattr(value, "__html__") and isinstance(value, str):  # markupsafe.Markup
        return type(value)(neutralise(str(value)))
    if isinstance(value, str):
        return neutralise(value)
    return value


def create_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.autoescape = True
    env.finalize = visible_output
    env.filters.update(
        fmt=presentation.fmt,
        humanize=presentation.humanize,
        label=presentation.label,
        display=presentation.display,
        input_value=presentation.input_value,
        prose=presentation.prose,
        idle_split=_idle_split,
        ref_index=_ref_index,
        verification_label=presentation.verification_label,
        verification_text=presentation.verification_text,
        omit=_omit,
        split_fields=_split_fields,
        by_status=_by_status,
        references=_references,
        record_columns=_record_columns,
        visible=neutralise,
    )
    env.tests["listlike"] = presentation.is_sequence
    env.tests["records"] = _is_records
    env.globals.update(
        banner=presentation.EMERGENCY_BANNER,
        intended_use=presentation.INTENDED_USE,
        software_version=__version__,
        recommendation=recommendation,
        board=board,
        patient_options=patient_options,
    )
    return templates
