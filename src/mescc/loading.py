"""Patient records from bytes: the one strict reader of ``mescc assess`` and the API body.

``load_patient(data, source=..., syntax="json" | "yaml")`` turns the bytes of a file, of
standard input or of a request body into plain JSON values (dict, list, str, int, float, bool,
None) or raises :class:`~mescc.errors.InputError` with one clear line per problem. What it
refuses, and why (each was a measured defect, issue 9):

* **Size and shape limits first**, before any per-key work: at most :data:`MAX_INPUT_BYTES`,
  nesting of at most :data:`MAX_DEPTH` levels, :data:`MAX_KEYS_PER_OBJECT` keys per object,
  :data:`MAX_ITEMS_PER_LIST` items per list, :data:`MAX_VALUES` values in all and
  :data:`MAX_TEXT_CHARS` characters per text. A patient record needs 3 levels and about 40
  keys; a 2,000-level document or 12,000 unknown keys is refused in milliseconds.
* **Encoding, strictly.** UTF-8, with or without a byte-order mark. UTF-16 is accepted only
  with its byte-order mark (what Windows editors and PowerShell write as "Unicode"; YAML 1.2
  allows it, and the mark makes it unambiguous). UTF-32, UTF-16 without a mark, invalid UTF-8,
  lone surrogates (also as ``\\ud800`` escapes) and NUL characters are refused with one line
  naming the place.
* **YAML restricted to JSON's types (YAML 1.2 style).** Plain scalars resolve to ``null``
  (``null``, ``~`` or empty), booleans (exactly ``true``/``false``: ``mescc.fields.BOOLEAN_TEXT``),
  decimal integers, decimal floats (and ``.inf``/``.nan``, which the field checks refuse) and
  otherwise text. So ``1:00`` is the text "1:00" (YAML 1.1: 60), ``yes``/``no``/``on``/``off``
  and ``True`` are text (refused where a boolean is expected), ``2024-01-01`` is text, ``010``
  is 10 (YAML 1.1: 8). Explicit tags (``!!binary``, ``!!set``, ``!!timestamp``, ``!custom``),
  anchors and aliases (so no "billion laughs" expansion and no recursive structure), complex
  keys and more than one document are refused.
* **Duplicate keys** (YAML and JSON) are refused with both positions, ``line:column``; the
  last value never silently wins.
* **Numbers without a faithful machine value** (integers of 20 digits or more, ``1e400``, the
  non-JSON ``NaN``/``Infinity``) are kept as :class:`~mescc.fields.OversizedNumber`, so the
  field check refuses them naming the field (a 5,000-digit integer is never converted).

Whole-document problems are reported under the ``source`` name (the file, ``stdin``, or
``body`` for the API); problems at a place in the document under its path (``kps``,
``prior_radiotherapy[0].fractions``).
"""

from __future__ import annotations

import bisect
import codecs
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

import yaml

from mescc.errors import InputError, Problem
from mescc.fields import BOOLEAN_TEXT, OversizedNumber, describe_value, display_key
from mescc.text_safety import neutralise

Syntax = Literal["json", "yaml"]

#: Largest input accepted, in bytes (a patient record is a few kilobytes).
MAX_INPUT_BYTES = 64 * 1024
#: Deepest nesting of objects and lists (a patient record needs 3: patient, list, course).
MAX_DEPTH = 10
#: Most keys in one object (the contract has about 40 top-level keys).
MAX_KEYS_PER_OBJECT = 100
#: Most items in one list (the field table caps prior courses lower, with a clinical reason).
MAX_ITEMS_PER_LIST = 100
#: Most values (scalars, objects and lists) in one document.
MAX_VALUES = 5_000
#: Longest text (the field table caps each free text lower).
MAX_TEXT_CHARS = 10_000
#: Integers with more digits than this are not converted (2^64 has 20 digits).
MAX_INTEGER_DIGITS = 19

_ALLOWED_TEXT = (
    "UTF-8 text (with or without a byte-order mark) or UTF-16 text with a byte-order mark"
)
_KIB = MAX_INPUT_BYTES // 1024


def _fail(source: str, what: str, allowed: str) -> NoReturn:
    raise InputError([Problem(source, None, allowed, f"{source}: {what}; allowed: {allowed}")])


def load_patient(data: bytes, *, source: str, syntax: Syntax) -> Any:
    """The JSON values of a patient record (not yet checked as a patient).

    Raises
    ------
    mescc.errors.InputError
        When the bytes are too large, not strictly decodable, not well-formed JSON/YAML, or
        break a shape limit, a type rule or the duplicate-key rule (every problem listed).
    """
    text = decode_text(data, source)
    value = parse_json(text, source) if syntax == "json" else parse_yaml(text, source)
    check_shape(value, source)
    return value


# --------------------------------------------------------------------------- decoding


def decode_text(data: bytes, source: str) -> str:
    """``data`` decoded strictly (see the module docstring for what is accepted)."""
    if len(data) > MAX_INPUT_BYTES:
        _fail(
            source,
            f"is larger than {_KIB} KiB",
            f"at most {MAX_INPUT_BYTES} bytes (a patient record is a few kilobytes)",
        )
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        _fail(source, "is UTF-32 text", _ALLOWED_TEXT)
    if data.startswith(codecs.BOM_UTF8):
        encoding, name, body = "utf-8", "UTF-8", data[len(codecs.BOM_UTF8) :]
    elif data.startswith(codecs.BOM_UTF16_LE):
        encoding, name, body = "utf-16-le", "UTF-16", data[2:]
    elif data.startswith(codecs.BOM_UTF16_BE):
        encoding, name, body = "utf-16-be", "UTF-16", data[2:]
    else:
        encoding, name, body = "utf-8", "UTF-8", data
    try:
        text = body.decode(encoding)  # strict: invalid bytes and lone surrogates fail
    except UnicodeDecodeError as error:
        line = body[: error.start].decode(encoding, "replace").count("\n") + 1
        offset = error.start + len(data) - len(body)
        hint = ""
        if encoding == "utf-8" and b"\x00" in body[:64]:
            hint = " (it looks like UTF-16 or UTF-32 without a byte-order mark)"
        _fail(
            source,
            f"is not valid {name} text (byte {offset}, line {line}: {error.reason}){hint}",
            _ALLOWED_TEXT,
        )
    nul = text.find("\x00")
    if nul >= 0:
        line, column = _line_column(text, nul)
        hint = ""
        if encoding == "utf-8" and text.count("\x00") * 4 >= len(text):
            hint = " (it looks like UTF-16 or UTF-32 without a byte-order mark)"
        _fail(
            source,
            f"contains a NUL character (line {line}, column {column}){hint}",
            "text without NUL characters: " + _ALLOWED_TEXT,
        )
    return text


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


# --------------------------------------------------------------------------- JSON


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def _json_depth_ok(text: str, source: str) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH`` before the recursive parser sees it."""
    depth = 0
    for match in _BRACKETS.finditer(_JSON_STRING.sub('""', text)):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_DEPTH:
            _fail(
                source,
                f"nests objects or lists deeper than {MAX_DEPTH} levels",
                f"at most {MAX_DEPTH} levels (a patient record needs 3)",
            )


def _json_int(text: str) -> int | OversizedNumber:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        return OversizedNumber(text)
    return int(text)


def _json_float(text: str) -> float | OversizedNumber:
    value = float(text)
    return value if math.isfinite(value) else OversizedNumber(text)


def parse_json(text: str, source: str) -> Any:
    """JSON text to values; duplicate keys refused with both positions."""
    _json_depth_ok(text, source)
    duplicated = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicated
        out = dict(items)
        if len(out) != len(items):
            duplicated = True
        return out

    try:
        value = json.loads(
            text,
            object_pairs_hook=pairs,
            parse_int=_json_int,
            parse_float=_json_float,
            parse_constant=OversizedNumber,
        )
    except json.JSONDecodeError as error:
        _fail(
            source,
            f"is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})",
            "a JSON object of patient keys",
        )
    except RecursionError:  # pragma: no cover - the depth check comes first
        _fail(source, "nests too deeply", f"at most {MAX_DEPTH} levels")
    if duplicated:
        raise InputError(_json_duplicates(text))
    return value


_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.DOTALL)


@dataclass
class _Frame:
    """One open object or list while a document is walked (JSON duplicates, YAML build)."""

    path: str
    container: dict[str, Any] | list[Any]
    keys: dict[str, tuple[int, int]] = field(default_factory=dict)
    key: str | None = None
    index: int = 0


def _child(parent: _Frame | None, root: str = "") -> str:
    if parent is None:
        return root
    if isinstance(parent.container, list):
        return f"{parent.path}[{parent.index}]"
    key = parent.key or ""
    return f"{parent.path}.{key}" if parent.path else key


def _duplicate(path: str, first: tuple[int, int], second: tuple[int, int]) -> Problem:
    where = f"line {first[0]}, column {first[1]} and line {second[0]}, column {second[1]}"
    return Problem(
        path,
        None,
        "each key once",
        f"{display_key(path)}: duplicate key (at {where}); allowed: each key once",
    )


def _json_duplicates(text: str) -> list[Problem]:
    """Every duplicate key of well-formed JSON ``text``, with both positions and its path."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(starts, offset)
        return line, offset - starts[line - 1] + 1

    problems: list[Problem] = []
    stack: list[_Frame] = []
    expect_key = False
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        top = stack[-1] if stack else None
        if token in ("{", "["):
            path = _child(top)
            stack.append(_Frame(path, {} if token == "{" else []))
            expect_key = token == "{"
        elif token in ("}", "]"):
            stack.pop()
            expect_key = False
        elif token == ",":
            if top is not None and isinstance(top.container, dict):
                expect_key = True
            elif top is not None:
                top.index += 1
        elif token == ":":
            expect_key = False
        elif expect_key and top is not None and token.startswith('"'):
            key = json.loads(token)
            here = position(match.start())
            path = f"{top.path}.{key}" if top.path else key
            if key in top.keys:
                problems.append(_duplicate(path, top.keys[key], here))
            else:
                top.keys[key] = here
            top.key = key
    return problems


# --------------------------------------------------------------------------- YAML

_YAML_NULL = frozenset({"null", "~", ""})
_YAML_INT = re.compile(r"[-+]?[0-9]+")
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_YAML_SPECIAL_FLOAT = {
    ".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan,
    ".Inf": math.inf, "+.Inf": math.inf, "-.Inf": -math.inf, ".NaN": math.nan,
    ".INF": math.inf, "+.INF": math.inf, "-.INF": -math.inf, ".NAN": math.nan,
}  # fmt: skip


def _yaml_scalar(event: yaml.ScalarEvent) -> Any:
    """A scalar under the JSON-compatible YAML 1.2 rules of the module docstring."""
    value: str = event.value
    if not event.implicit[0]:  # quoted or block scalar: always text
        return value
    if value in _YAML_NULL:
        return None
    if value in BOOLEAN_TEXT:
        return BOOLEAN_TEXT[value]
    if _YAML_INT.fullmatch(value):
        digits = value.lstrip("+-")
        if len(digits) > MAX_INTEGER_DIGITS:
            return OversizedNumber(value)
        return int(value)
    if _YAML_FLOAT.fullmatch(value):
        number = float(value)
        return number if math.isfinite(number) else OversizedNumber(value)
    if value in _YAML_SPECIAL_FLOAT:
        return _YAML_SPECIAL_FLOAT[value]
    return value


def _yaml_events(text: str) -> Iterator[yaml.Event]:
    loader_class: Callable[[str], Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    try:
        while True:
            event = loader.get_event()
            yield event
            if isinstance(event, yaml.StreamEndEvent):
                return
    finally:
        loader.dispose()


def _mark(event: yaml.Event) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)


def _yaml_error_text(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        what = error.problem or "malformed"
        text = f"line {mark.line + 1}, column {mark.column + 1}: {what}"
    else:
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return neutralise(text[:200], keep_layout=False)


def parse_yaml(text: str, source: str) -> Any:
    """YAML text to JSON values under the restricted rules of the module docstring."""
    try:
        return _build_yaml(_yaml_events(text), source)
    except yaml.YAMLError as error:
        _fail(
            source,
            f"is not valid YAML ({_yaml_error_text(error)})",
            "a YAML mapping (or JSON object) of patient keys",
        )


def _build_yaml(events: Iterator[yaml.Event], source: str) -> Any:
    """Build values from parser events, without recursion, refusing what JSON cannot hold."""
    root: Any = None
    stack: list[_Frame] = []
    documents = 0
    values = 0
    duplicates: list[Problem] = []

    def refuse(event: yaml.Event, what: str, allowed: str) -> NoReturn:
        line, column = _mark(event)
        path = display_key(_child(stack[-1] if stack else None) or "patient")
        _fail(source, f"{what} at line {line}, column {column} ({path})", allowed)

    def add(value: Any, event: yaml.Event) -> None:
        nonlocal root
        if not stack:
            root = value
            return
        top = stack[-1]
        if isinstance(top.container, list):
            top.container.append(value)
            top.index += 1
            return
        if top.key is None:  # this scalar is a key
            if not isinstance(event, yaml.ScalarEvent):
                refuse(event, "a key that is an object or a list", "text keys")
            key = event.value
            here = _mark(event)
            if key in top.keys:
                path = f"{top.path}.{key}" if top.path else key
                duplicates.append(_duplicate(path, top.keys[key], here))
            else:
                top.keys[key] = here
            top.key = key
            return
        top.container[top.key] = value
        top.key = None

    for event in events:
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                refuse(event, "a second YAML document", "one document (one patient per file)")
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            stack.pop()
            continue
        if not isinstance(event, yaml.NodeEvent):
            continue
        if isinstance(event, yaml.AliasEvent):
            refuse(event, f"a YAML alias (*{event.anchor})", "plain values (no anchors/aliases)")
        if event.anchor is not None:
            refuse(event, f"a YAML anchor (&{event.anchor})", "plain values (no anchors/aliases)")
        tag = getattr(event, "tag", None)
        if tag is not None:
            refuse(event, f"a YAML tag ({tag})", "plain JSON-compatible values (no tags)")
        values += 1
        if values > MAX_VALUES:
            refuse(event, f"more than {MAX_VALUES} values", f"at most {MAX_VALUES} values")
        if isinstance(event, yaml.ScalarEvent):
            add(_yaml_scalar(event), event)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            if len(stack) >= MAX_DEPTH:
                refuse(
                    event,
                    f"nesting deeper than {MAX_DEPTH} levels",
                    f"at most {MAX_DEPTH} levels (a patient record needs 3)",
                )
            top = stack[-1] if stack else None
            if top is not None and isinstance(top.container, dict) and top.key is None:
                refuse(event, "a key that is an object or a list", "text keys")
            container: dict[str, Any] | list[Any] = (
                {} if isinstance(event, yaml.MappingStartEvent) else []
            )
            path = _child(top)
            add(container, event)
            stack.append(_Frame(path, container))
    if duplicates:
        raise InputError(duplicates)
    return root


# --------------------------------------------------------------------------- shape


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_shape(value: Any, source: str) -> None:
    """Refuse documents beyond the shape limits, and texts with NUL or lone surrogates.

    Sizes are checked before the items of an object or a list are looked at, so an oversized
    document costs one ``len`` per container.
    """
    problems: list[Problem] = []
    count = 0

    def text_problem(path: str, text: str) -> None:
        name = display_key(path)
        if len(text) > MAX_TEXT_CHARS:
            problems.append(
                Problem(
                    path,
                    None,
                    f"at most {MAX_TEXT_CHARS} characters",
                    f"{name}: a text of {len(text)} characters; allowed: at most "
                    f"{MAX_TEXT_CHARS} characters",
                )
            )
            return
        surrogate = _SURROGATE.search(text)
        if surrogate:
            problems.append(
                Problem(
                    path,
                    None,
                    "valid Unicode text",
                    f"{name}: a lone surrogate (U+{ord(surrogate.group()):04X} at position "
                    f"{surrogate.start() + 1}) is not a character; allowed: valid Unicode "
                    "text",
                )
            )
        elif "\x00" in text:
            problems.append(
                Problem(
                    path,
                    None,
                    "text without NUL characters",
                    f"{name}: {describe_value(text)} contains a NUL character; allowed: "
                    "text without NUL characters",
                )
            )

    def walk(node: Any, path: str, depth: int) -> None:
        nonlocal count
        count += 1
        if count > MAX_VALUES:
            _fail(source, f"holds more than {MAX_VALUES} values", f"at most {MAX_VALUES} values")
        if depth > MAX_DEPTH:
            _fail(source, f"nests deeper than {MAX_DEPTH} levels", f"at most {MAX_DEPTH} levels")
        where = path or "patient"
        if isinstance(node, dict):
            if len(node) > MAX_KEYS_PER_OBJECT:
                _fail(
                    display_key(where),
                    f"an object of {len(node)} keys",
                    f"at most {MAX_KEYS_PER_OBJECT} keys (the contract has about 40)",
                )
            for key, item in node.items():
                child = f"{path}.{key}" if path else key
                text_problem(child, key)
                walk(item, child, depth + 1)
        elif isinstance(node, list):
            if len(node) > MAX_ITEMS_PER_LIST:
                _fail(
                    display_key(where),
                    f"a list of {len(node)} items",
                    f"at most {MAX_ITEMS_PER_LIST} items",
                )
            for index, item in enumerate(node):
                walk(item, f"{where}[{index}]", depth + 1)
        elif isinstance(node, str):
            text_problem(where, node)

    walk(value, "", 0)
    if problems:
        raise InputError(problems)
