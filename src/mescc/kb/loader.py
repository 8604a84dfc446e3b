"""Load the knowledge base: YAML definition files -> validated, frozen instruments.

The loader proves what it can and fails loudly. For every instrument it checks that

* the file is valid against ``kb.schema`` (errors carry file, line and path);
* every input key is a patient key, and every value named in a condition is allowed;
* the categories (plus declared ``undefined`` values) of each item cover every allowed input
  value exactly once: no gap, no overlap;
* the reachable minimum and maximum totals equal the published ``total_range``, every
  achievable total lies in a published group and every group is reachable.

A broken file stops the load: a silently missing instrument is worse than a crash.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mescc.errors import DefinitionError
from mescc.fields import FIELD_BY_KEY
from mescc.kb.schema import Instrument, Item, Predicate

KB_RELEASE = "2026.11"


@dataclass(frozen=True)
class KnowledgeBase:
    """Every instrument definition, the ECOG/KPS conversion and the version of the whole."""

    instruments: Mapping[str, Instrument]
    version: str
    ecog_to_kps: Mapping[int, tuple[int, ...]]
    conversion_citation: str
    overlay_dir: str | None = None
    overlay_ids: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)

    def __getitem__(self, instrument_id: str) -> Instrument:
        return self.instruments[instrument_id]

    def __iter__(self) -> Any:
        return iter(self.instruments.values())

    def __len__(self) -> int:
        return len(self.instruments)

    def __hash__(self) -> int:
        return hash(self.version)


# --------------------------------------------------------------------------- YAML with lines


def _line_map(text: str) -> dict[tuple[Any, ...], int]:
    """Map every path in a YAML document to its 1-based line."""
    lines: dict[tuple[Any, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value
                lines[(*path, key)] = k.start_mark.line + 1
                walk(v, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, (*path, i))

    if root is not None:
        walk(root, ())
    return lines


FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LazyLines(Mapping[tuple[Any, ...], int]):
    """The line map of a document, composed only when an error needs a line number."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._map: dict[tuple[Any, ...], int] | None = None

    def _get(self) -> dict[tuple[Any, ...], int]:
        if self._map is None:
            self._map = _line_map(self._text)
        return self._map

    def __getitem__(self, key: tuple[Any, ...]) -> int:
        return self._get()[key]

    def __iter__(self) -> Any:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __contains__(self, key: object) -> bool:
        return key in self._get()


def _path_text(path: Sequence[Any]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _path_parts(text: str) -> tuple[Any, ...]:
    """The inverse of ``_path_text``: ``items[0].categories`` -> ``("items", 0, "categories")``."""
    parts: list[Any] = []
    for piece in re.findall(r"[^.\[\]]+|\[\d+\]", text):
        parts.append(int(piece[1:-1]) if piece.startswith("[") else piece)
    return tuple(parts)


def with_line(error: DefinitionError, text: str) -> DefinitionError:
    """``error`` with the line of its path in ``text`` when it names none."""
    if error.line is not None or not error.path:
        return error
    line = _line_of(_LazyLines(text), _path_parts(error.path))
    return type(error)(error.file, error.path, error.detail, line)


def _line_of(lines: Mapping[tuple[Any, ...], int], path: Sequence[Any]) -> int | None:
    p = tuple(path)
    while p:
        if p in lines:
            return lines[p]
        p = p[:-1]
    return lines.get(())


def parse_instrument(text: str, file: str) -> Instrument:
    """Parse and validate one definition file's text; raise ``DefinitionError`` if malformed."""
    try:
        data = yaml.load(text, Loader=FAST_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise DefinitionError(file, "", f"not valid YAML: {exc}", line) from None
    lines = _LazyLines(text)
    if not isinstance(data, dict):
        raise DefinitionError(file, "", "a definition file must be a mapping", 1)
    try:
        inst = Instrument.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        loc = ["in" if p == "in_" else p for p in loc]
        msg = err["msg"].removeprefix("Value error, ")
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise DefinitionError(file, _path_text(loc), msg + more, _line_of(lines, loc)) from None
    stem = Path(file).stem
    if inst.id != stem:
        raise DefinitionError(file, "id", f'id "{inst.id}" must equal the file stem "{stem}"', 1)
    _check_inputs(inst, file, lines)
    try:
        inst.check_tiling()
    except ValueError as exc:
        _fail(file, lines, ("groups",), str(exc))
    return inst


# --------------------------------------------------------------------------- domain proofs


#: Receives each problem a check finds (``mescc kb check`` lists them all); without one, the
#: first problem is raised.
Report = Callable[[DefinitionError], None]


def _fail(
    file: str,
    lines: Mapping[tuple[Any, ...], int],
    path: Sequence[Any],
    msg: str,
    report: Report | None = None,
) -> None:
    error = DefinitionError(file, _path_text(path), msg, _line_of(lines, path))
    if report is None:
        raise error
    report(error)


def _check_inputs(
    inst: Instrument,
    file: str,
    lines: Mapping[tuple[Any, ...], int],
    report: Report | None = None,
) -> None:
    for i, item in enumerate(inst.items):
        for key in (*item.inputs, *(item.convert or {}).values()):
            if key not in FIELD_BY_KEY:
                _fail(file, lines, ("items", i, "inputs"), f'"{key}" is not a patient key', report)
        entries = [("categories", c.when) for c in item.categories] + [
            ("undefined", u.when) for u in item.undefined
        ]
        counters = {"categories": 0, "undefined": 0}
        for kind, when in entries:
            j = counters[kind]
            counters[kind] += 1
            for key, pred in when.items():
                where = ("items", i, kind, j, "when", key)
                if key in FIELD_BY_KEY:  # an unknown key is reported with the item's inputs
                    _check_predicate_values(key, pred, file, lines, where, report)
    for key, pred in (inst.applies_to or {}).items():
        if key not in FIELD_BY_KEY:
            _fail(file, lines, ("applies_to", key), f'"{key}" is not a patient key', report)
            continue
        _check_predicate_values(key, pred, file, lines, ("applies_to", key), report)


def _check_predicate_values(
    key: str,
    pred: Predicate,
    file: str,
    lines: Mapping[tuple[Any, ...], int],
    path: Sequence[Any],
    report: Report | None = None,
) -> None:
    spec = FIELD_BY_KEY[key]
    for values in (pred.in_, pred.not_in):
        for v in values or ():
            _, problem = _check_domain_value(key, v)
            if problem:
                message = f"{v!r} is not an allowed value of {key}; {problem}"
                _fail(file, lines, path, message, report)
    if spec.kind in ("enum", "bool", "text") and any(
        x is not None for x in (pred.lt, pred.le, pred.gt, pred.ge)
    ):
        _fail(file, lines, path, f"{key} is not numeric; use in/not_in", report)


def _check_domain_value(key: str, value: Any) -> tuple[Any, str | None]:
    from mescc.fields import check_value

    spec = FIELD_BY_KEY[key]
    if spec.kind == "enum" and not isinstance(value, str):
        return None, f'{spec.allowed} (write enum values as quoted text, e.g. "2")'
    ok, problem = check_value(key, value, spec)
    return ok, (problem.allowed if problem else None)


def sample_values(key: str, items: Iterable[Item]) -> tuple[Any, ...]:
    """Every allowed value of ``key`` if finite, else representative points around cut-offs."""
    spec = FIELD_BY_KEY[key]
    dom = spec.domain()
    if dom is not None:
        return dom
    cuts: set[float] = set()
    for item in items:
        for when in [c.when for c in item.categories] + [u.when for u in item.undefined]:
            pred = when.get(key)
            if pred is None:
                continue
            for v in (pred.lt, pred.le, pred.gt, pred.ge):
                if v is not None:
                    cuts.add(float(v))
            for v in (*(pred.in_ or ()), *(pred.not_in or ())):
                cuts.add(float(v))
    lo = spec.minimum if spec.minimum is not None else 0.0
    points: set[float] = {lo, lo + 0.5, lo + 1, 1e6}
    for c in cuts:
        points.update({c - 1, c - 0.5, c, c + 0.5, c + 1})
    if spec.kind == "int":
        points = {float(int(p)) for p in points if float(p).is_integer()}
    hi = spec.maximum
    out = sorted(p for p in points if p >= lo and (hi is None or p <= hi))
    return tuple(int(p) if spec.kind == "int" else p for p in out)


def item_outcomes(item: Item) -> dict[tuple[Any, ...], tuple[str, int]]:
    """For every combination of known input values: ('category'|'undefined', index).

    Raises ``ValueError`` naming the first combination matched by no entry or by two.
    """
    if not item.inputs:
        return {}
    domains = [sample_values(k, [item]) for k in item.inputs]
    table: dict[tuple[Any, ...], tuple[str, int]] = {}
    entries = [("category", i, c.when) for i, c in enumerate(item.categories)] + [
        ("undefined", i, u.when) for i, u in enumerate(item.undefined)
    ]
    for combo in itertools.product(*domains):
        values = dict(zip(item.inputs, combo, strict=True))
        hits = [
            (kind, i)
            for kind, i, when in entries
            if all(p.holds(values[k]) for k, p in when.items())
        ]
        shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
        if not hits:
            raise ValueError(f"no category matches {shown}")
        if len(hits) > 1:
            names = [
                item.categories[i].label if kind == "category" else f"undefined[{i}]"
                for kind, i in hits
            ]
            raise ValueError(f"{shown} matches more than one entry: {names}")
        table[combo] = hits[0]
    return table


def achievable_totals(inst: Instrument) -> set[int]:
    """Every total some patient can reach (undefined values excluded)."""
    totals = {0}
    for item in inst.items:
        pts = {c.points for c in item.categories if c.points is not None}
        totals = {t + p for t in totals for p in pts}
    return totals


def check_instrument(
    inst: Instrument, file: str, text: str | None = None, report: Report | None = None
) -> None:
    """Prove coverage and range facts of one instrument; raise ``DefinitionError`` if false.

    With ``report``, every false fact is reported and none raised.
    """
    lines: Mapping[tuple[Any, ...], int] = _LazyLines(text) if text else {}
    if inst.is_skeleton:
        return
    for i, item in enumerate(inst.items):
        try:
            item_outcomes(item)
        except ValueError as exc:
            _fail(file, lines, ("items", i, "categories"), str(exc), report)
    if inst.kind == "classification":
        labels = {g.label for g in inst.groups}
        for j, cat in enumerate(inst.items[0].categories):
            if cat.group not in labels:
                _fail(
                    file,
                    lines,
                    ("items", 0, "categories", j, "group"),
                    f'group "{cat.group}" is not a group label',
                    report,
                )
        return
    reach = achievable_totals(inst)
    lo, hi = min(reach), max(reach)
    if inst.total_range is None:
        _fail(file, lines, ("total_range",), "a scored instrument needs total_range", report)
        return
    for which, got, pub in (
        ("minimum", lo, inst.total_range[0]),
        ("maximum", hi, inst.total_range[1]),
    ):
        if got != pub:
            _fail(file, lines, ("total_range",), f"{which} total {got}, published {pub}", report)
    for j, g in enumerate(inst.groups):
        assert g.range is not None
        if not any(g.range[0] <= t <= g.range[1] for t in reach):
            message = f"group {g.label} contains no achievable total"
            _fail(file, lines, ("groups", j), message, report)
    in_groups = {t for g in inst.groups if g.range for t in range(g.range[0], g.range[1] + 1)}
    stray = sorted(reach - in_groups)
    if stray:
        message = f"achievable totals {stray} are in no published group"
        _fail(file, lines, ("groups",), message, report)
    if inst.achievable_totals is not None and set(inst.achievable_totals) != reach:
        _fail(
            file,
            lines,
            ("achievable_totals",),
            f"achievable totals {sorted(reach)} differ from the published list "
            f"{sorted(inst.achievable_totals)}",
            report,
        )


def parse_instrument_problems(
    text: str, file: str
) -> tuple[Instrument | None, list[DefinitionError]]:
    """Parse one definition file's text, collecting every problem (``mescc kb check``).

    The instrument is None when the file is not a valid definition at all (malformed YAML,
    not a mapping, or schema errors: each of those is listed, with its line).
    """
    problems: list[DefinitionError] = []
    try:
        data = yaml.load(text, Loader=FAST_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return None, [DefinitionError(file, "", f"not valid YAML: {exc}", line)]
    lines = _LazyLines(text)
    if not isinstance(data, dict):
        return None, [DefinitionError(file, "", "a definition file must be a mapping", 1)]
    try:
        inst = Instrument.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
            loc = ["in" if p == "in_" else p for p in loc]
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(DefinitionError(file, _path_text(loc), msg, _line_of(lines, loc)))
        return None, problems
    stem = Path(file).stem
    if inst.id != stem:
        problems.append(
            DefinitionError(file, "id", f'id "{inst.id}" must equal the file stem "{stem}"', 1)
        )
    _check_inputs(inst, file, lines, problems.append)
    try:
        inst.check_tiling()
    except ValueError as exc:
        _fail(file, lines, ("groups",), str(exc), problems.append)
    return inst, problems


# --------------------------------------------------------------------------- the whole KB


def _instrument_files() -> list[tuple[str, str]]:
    folder = resources.files("mescc.kb").joinpath("instruments")
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            out.append((f"instruments/{entry.name}", entry.read_text(encoding="utf-8")))
    return out


def _evidence_texts() -> list[tuple[str, str]]:
    """Every evidence file (regimens, ranking, plan rules, ...): part of the version."""
    folder = resources.files("mescc.kb").joinpath("evidence")
    return [
        (f"evidence/{e.name}", e.read_text(encoding="utf-8"))
        for e in sorted(folder.iterdir(), key=lambda e: e.name)
        if e.name.endswith(".yaml")
    ]


def _read_conversions() -> tuple[dict[int, tuple[int, ...]], str, str]:
    text = resources.files("mescc.kb").joinpath("evidence", "conversions.yaml").read_text("utf-8")
    data = yaml.load(text, Loader=FAST_LOADER)
    mapping = {int(k): tuple(int(x) for x in v) for k, v in data["ecog_to_kps"].items()}
    cit = data.get("citation")
    ident = ""
    if isinstance(cit, dict):
        ident = f"PMID {cit['pmid']}" if cit.get("pmid") else str(cit.get("doi") or "")
    return mapping, f"empirical ECOG-KPS mapping, Eur J Cancer 2010, {ident}".strip(", "), text


def _resolve_points_from(instruments: dict[str, Instrument], file_of: dict[str, str]) -> None:
    for iid, inst in list(instruments.items()):
        if inst.points_from is None:
            continue
        base = instruments.get(inst.points_from)
        if base is None:
            raise DefinitionError(
                file_of[iid], "points_from", f'"{inst.points_from}" is not an instrument'
            )
        if base.derived is not None:
            instruments[iid] = _follow_derived(inst, base, file_of[iid])
            continue
        if not base.is_skeleton or inst.is_skeleton:
            merged = inst.model_copy(update={"items": base.items})
            if base.site is not None:
                merged = merged.model_copy(
                    update={"site": base.site, "verification": "site-supplied"}
                )
            instruments[iid] = merged
            if not base.is_skeleton:
                check_instrument(merged, file_of[iid])


def _follow_derived(inst: Instrument, base: Instrument, file: str) -> Instrument:
    """An instrument taking its points from a site-derived table: the derived items, its own
    published cut-offs laid on the derived range (``kb.overlay.derived_group_ranges``), the
    ``site-derived`` label and the derivation's provenance."""
    from mescc.kb.overlay import follower_groups

    assert base.derived is not None
    reach = achievable_totals(base)
    groups, dropped, unreachable = follower_groups(inst, reach)
    derived = base.derived.model_copy(
        update={"published_range": inst.total_range, "dropped_groups": tuple(dropped)}
    )
    merged = inst.model_copy(
        update={
            "items": base.items,
            "groups": groups,
            "total_range": (min(reach), max(reach)),
            "unreachable_totals": tuple(unreachable),
            "achievable_totals": None,
            "verification": "site-derived",
            "verification_note": (
                f"points derived on this site's registry ({base.derived.registry}) by the "
                f"published method, taken from {base.id}; not the published table"
            ),
            "derived": derived,
        }
    )
    check_instrument(merged, file)
    return merged


def load_overlay_files(directory: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """The ``*.yaml`` files of a site overlay folder, as (path, text)."""
    path = Path(directory)
    if not path.is_dir():
        raise DefinitionError(str(path), "", "overlay folder does not exist")
    return [(str(p), p.read_text(encoding="utf-8")) for p in sorted(path.glob("*.yaml"))]


def build_kb(
    files: Sequence[tuple[str, str]],
    overlay: Sequence[tuple[str, str]] = (),
    overlay_dir: str | None = None,
) -> KnowledgeBase:
    """Build a knowledge base from definition texts plus an optional site overlay."""
    from mescc.kb.overlay import check_overlay

    instruments: dict[str, Instrument] = {}
    file_of: dict[str, str] = {}
    digest = hashlib.sha256()
    for name, text in files:
        inst = parse_instrument(text, name)
        check_instrument(inst, name, text)
        if inst.id in instruments:
            raise DefinitionError(name, "id", f'duplicate id "{inst.id}"')
        instruments[inst.id] = inst
        file_of[inst.id] = name
        digest.update(name.encode() + b"\0" + text.encode())
    conversions, conv_citation, _ = _read_conversions()
    for name, text in _evidence_texts():  # the plan's evidence and rules drive output too
        digest.update(name.encode() + b"\0" + text.encode())
    overlay_ids: list[str] = []
    for name, text in overlay:
        site_inst = check_overlay(text, name, instruments)
        instruments[site_inst.id] = site_inst
        file_of[site_inst.id] = name
        overlay_ids.append(site_inst.id)
        digest.update(b"overlay\0" + text.encode())
    _resolve_points_from(instruments, file_of)
    version = f"{KB_RELEASE}+{digest.hexdigest()[:12]}"
    if overlay_ids:
        version += ".site"
    return KnowledgeBase(
        instruments=dict(instruments),
        version=version,
        ecog_to_kps=conversions,
        conversion_citation=conv_citation,
        overlay_dir=overlay_dir,
        overlay_ids=tuple(overlay_ids),
    )


@lru_cache(maxsize=8)
def _load(overlay_dir: str | None) -> KnowledgeBase:
    from mescc.kb.cache import cached

    overlay = load_overlay_files(overlay_dir) if overlay_dir else []
    files = _instrument_files()
    parts = [t for pair in (*files, *overlay, *_evidence_texts()) for t in pair]
    parts.append(str(overlay_dir))
    return cached("kb", parts, lambda: build_kb(files, overlay, overlay_dir))


def load_kb(overlay: str | os.PathLike[str] | None = None) -> KnowledgeBase:
    """The packaged knowledge base, plus a site overlay folder (argument or MESCC_KB_OVERLAY).

    Cached per overlay folder: definitions are read and proved once per process.
    """
    if overlay is None:
        overlay = os.environ.get("MESCC_KB_OVERLAY") or None
    return _load(str(Path(overlay).resolve()) if overlay else None)
