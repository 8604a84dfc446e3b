"""Generated patient files for the fuzz of ``mescc assess``, each with an independent verdict.

Shared by ``tests/cli/test_fuzz_assess.py`` (a few hundred examples) and
``benchmarks/fuzz_input.py`` (the larger run whose counts go to
``benchmarks/results_fuzz_input.md``).

The oracle does not call mescc. The allowed values are restated here from ``docs/patient.md``
(contract ranges plus the project's bounds), and every document is built either from allowed
values only (valid: ``mescc assess`` must exit 0 and echo exactly these values) or with at
least one known defect from issue 9 (invalid: it must exit 2). So validity is known by
construction, not by asking the code under test. Valid documents avoid combinations a
cross-field check could call contradictory (one of ECOG/KPS; intervals shorter than the age;
tumours of either sex), so that they stay valid as such checks are added.
"""

from __future__ import annotations

import codecs
import json
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# --------------------------------------------------------------------------- the oracle's table

INT_RANGES: dict[str, tuple[int, int]] = {
    "age_years": (18, 120),
    "involved_vertebrae": (1, 33),
    "prior_palliative_chemotherapy_courses": (0, 30),
    "ecog": (0, 4),
}
#: Number keys with the range the generator draws valid values from (inside the allowed one).
NUMBER_RANGES: dict[str, tuple[float, float]] = {
    "months_from_cancer_diagnosis": (0, 200),
    "motor_deficit_days": (0, 60),
}
#: The allowed ranges of the number keys (to build out-of-range values).
NUMBER_ALLOWED: dict[str, tuple[float, float]] = {
    "months_from_cancer_diagnosis": (0, 1440),
    "motor_deficit_days": (0, 3650),
}
BOOLS = ("sensory_deficits", "hospitalized_last_3_months")
ENUMS: dict[str, tuple[str, ...]] = {
    "primary_tumor": (
        "lung_nsclc", "lung_sclc", "myeloma", "lymphoma", "renal", "colon", "bladder",
        "melanoma", "unknown_primary", "other",
    ),
    "escc_grade": ("0", "1a", "1b", "1c", "2", "3"),
}  # fmt: skip
SINS: dict[str, tuple[str, ...]] = {
    "location": ("junctional", "mobile", "semirigid", "rigid"),
    "pain": ("mechanical", "occasional_non_mechanical", "pain_free"),
    "bone_lesion": ("lytic", "mixed", "blastic"),
}
PRIORITIES = ("balanced", "fewest_visits", "durable_local_control")
ID_MAX = 100
COURSES_MAX = 10
MAX_BYTES = 64 * 1024
HIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")
VISIBLE_EXTRA = "éüßÄ漢字й€µ😀 -_./#"
HIDDEN_SAMPLES = (
    "\x1b", "\x1b[2J", "\u202e", "\u202d", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c",
    "\u200b", "\ufeff", "\x00", "\x07", "\r", "\n", "\t", "\x85", "\x9b", "\u2028",
)  # fmt: skip


@dataclass(frozen=True)
class Raw:
    """Text written verbatim into the document (a quirk, a huge number, deep nesting)."""

    text: str


class Obj(list[tuple[str, Any]]):
    """An object as a list of (key, value) pairs, so that a key can appear twice."""


@dataclass
class Case:
    """One generated input: its bytes, how it is given, and the oracle's verdict."""

    data: bytes
    name: str  # a file name (``.json`` is JSON, else YAML) or ``-`` for standard input
    valid: bool
    expected: dict[str, Any] | None  # the patient echo a valid input must give back
    defects: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- emitters


_PLAIN_WORD = re.compile(r"[a-z][a-z0-9_]*|[0-9][a-z]")


def _is_hidden(ch: str) -> bool:
    return unicodedata.category(ch) in HIDDEN_CATEGORIES


def _yaml_quote(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif _is_hidden(ch) or ord(ch) < 0x20:
            code = ord(ch)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def emit_json(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Obj):
        return "{" + ", ".join(f"{json.dumps(k)}: {emit_json(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(emit_json(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _emit_yaml_flow(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Obj):
        return "{" + ", ".join(f"{_yaml_quote(k)}: {_emit_yaml_flow(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_emit_yaml_flow(v) for v in value) + "]"
    if isinstance(value, str):
        return _yaml_quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def emit_yaml(doc: Any, rng: random.Random) -> str:
    if not isinstance(doc, Obj) or rng.random() < 0.25:
        return _emit_yaml_flow(doc) + "\n"
    lines = ["# generated patient"] if rng.random() < 0.5 else []
    for key, value in doc:
        plain_key = key.isidentifier() and key.isascii()
        shown_key = key if plain_key and rng.random() < 0.8 else _yaml_quote(key)
        if isinstance(value, list) and not isinstance(value, Obj) and value and rng.random() < 0.5:
            lines.append(f"{shown_key}:")
            lines.extend(f"  - {_emit_yaml_flow(item)}" for item in value)
        elif (
            isinstance(value, str)
            and _PLAIN_WORD.fullmatch(value)
            and value not in ("true", "false", "null")
            and rng.random() < 0.5
        ):
            lines.append(f"{shown_key}: {value}")  # plain: a word stays text (digits: a number)
        else:
            lines.append(f"{shown_key}: {_emit_yaml_flow(value)}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- valid documents


def _visible_text(rng: random.Random, size: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789ABC" + VISIBLE_EXTRA
    return "".join(rng.choice(alphabet) for _ in range(size)).strip() or "p"


def _int_value(rng: random.Random, lo: int, hi: int) -> int:
    return rng.choice([lo, hi, rng.randint(lo, hi), rng.randint(lo, hi)])


def _number_value(rng: random.Random, lo: float, hi: float) -> float | int:
    return rng.choice([lo, hi, round(rng.uniform(lo, hi), 2), int(rng.uniform(lo, hi))])


def valid_document(rng: random.Random) -> tuple[Obj, dict[str, Any]]:
    """A valid patient as pairs, and the echo ``mescc assess`` must give for it."""
    doc = Obj()
    expected: dict[str, Any] = {}

    def put(key: str, written: Any, echoed: Any) -> None:
        doc.append((key, written))
        if echoed is not None:
            expected[key] = echoed

    if rng.random() < 0.7:
        text = _visible_text(rng, rng.randint(1, 20))
        put("id", text, text)
    for key, (lo, hi) in INT_RANGES.items():
        if key == "ecog" and rng.random() < 0.5:
            value = rng.randrange(0, 101, 10)
            put("kps", value, value)
            continue
        if rng.random() < 0.6:
            value = _int_value(rng, lo, hi)
            as_float = rng.random() < 0.15  # 64.0 is an allowed way to write 64
            put(key, float(value) if as_float else value, value)
    months = None
    for key, (lo, hi) in NUMBER_RANGES.items():
        if rng.random() < 0.6:
            number = _number_value(rng, lo, hi)
            put(key, number, number)
            if key == "months_from_cancer_diagnosis":
                months = number
    for key in BOOLS:
        if rng.random() < 0.5:
            flag = rng.random() < 0.5
            put(key, flag, flag)
    for key, values in ENUMS.items():
        if rng.random() < 0.6:
            word = rng.choice(values)
            put(key, word, word)
    if rng.random() < 0.5:
        parts = Obj((p, rng.choice(v)) for p, v in SINS.items() if rng.random() < 0.6)
        if parts:
            put("sins", parts, dict(parts))
    if rng.random() < 0.5:
        courses: list[Any] = []
        echoed: list[dict[str, Any]] = []
        for _ in range(rng.randint(0, 3)):
            fractions = _int_value(rng, 1, 100)
            dose = rng.choice([0.1, 30.0, 2.0, 3.0, 4.0, 8.0, round(rng.uniform(0.1, 30), 2)])
            course = Obj([("fractions", fractions), ("dose_per_fraction_gy", dose)])
            echo: dict[str, Any] = {"fractions": fractions, "dose_per_fraction_gy": dose}
            if rng.random() < 0.5:
                before = _number_value(rng, 0, months if months is not None else 100)
                course.append(("months_before", before))
                echo["months_before"] = before
            courses.append(course)
            echoed.append(echo)
        put("prior_radiotherapy", courses, echoed)
    if rng.random() < 0.3:
        priority = rng.choice(PRIORITIES)
        put("preferences", Obj([("priority", priority)]), {"priority": priority})
    if rng.random() < 0.2:
        put("spinal_level", None, None)  # an explicit null is unknown, not an error
    rng.shuffle(doc)
    return doc, expected


# --------------------------------------------------------------------------- defects

Defect = Callable[[Obj, random.Random, str], Obj | bytes | None]


def _set(doc: Obj, key: str, value: Any) -> Obj:
    out = Obj((k, v) for k, v in doc if k != key)
    out.append((key, value))
    return out


def _out_of_range(doc: Obj, rng: random.Random, syntax: str) -> Obj:
    ranges = {**INT_RANGES, **NUMBER_ALLOWED, "kps": (0, 100)}
    key = rng.choice(sorted(ranges))
    lo, hi = ranges[key]
    value = rng.choice(
        [lo - 1, hi + 1, hi + 0.5, 2**63 - 1, 2**63, 2**64, -(2**64), -1e6,
         Raw("9" * rng.choice([20, 400, 5000])), Raw("-" + "9" * 30)]
    )  # fmt: skip
    return _set(doc, key, value)


def _non_finite(doc: Obj, rng: random.Random, syntax: str) -> Obj:
    key = rng.choice(sorted({**INT_RANGES, **NUMBER_ALLOWED}))
    options = ["1e400", "-1e400", "1e999"] + (
        ["NaN", "Infinity", "-Infinity"] if syntax == "json" else [".nan", ".inf", "-.inf", ".NaN"]
    )
    return _set(doc, key, Raw(rng.choice(options)))


def _bool_spelling(doc: Obj, rng: random.Random, syntax: str) -> Obj:
    words = ["yes", "no", "True", "False", "TRUE", "on", "off", "y", "n", "1", "0", "Yes"]
    word = rng.choice(words)
    value = Raw(word) if rng.random() < 0.7 else word  # as written, or quoted text
    return _set(doc, rng.choice(BOOLS), value)


def _yaml_11_number(doc: Obj, rng: random.Random, syntax: str) -> Obj:
    text = rng.choice(["1:00", "1:30:00", "0x40", "0o17", "1_000", "2024-01-01", "+.5e3x"])
    return _set(doc, rng.choice(sorted(INT_RANGES)), Raw(text) if syntax == "yaml" else text)


def _wrong_type(doc: Obj, rng: random.Random, syntax: str) -> Obj:
    choice = rng.randrange(4)
    if choice == 0:
        return _set(doc, rng.choice(sorted(INT_RANGES)), rng.choice(["70", True, [70], Obj()]))
    if choice == 1:
        return _set(doc, rng.choice(BOOLS), rng.choice([1, 0, "true", "false"]))
    if choice == 2:
        return _set(doc, rng.choice(sorted(ENUMS)), rng.choice([3.5, True, "not-a-value", []]))
    return _set(doc, "id", rng.choice([5, 1.5, True, ["a"], Obj([("a", 1)])]))


def _course() -> Obj:
    return Obj([("fractions", 5), ("dose_per_fraction_gy", 4.0)])


def _bad_course_list(doc: Obj, rng: random.Random, syntax: str) -> Obj:
    courses: list[Any] = [_course() for _ in range(rng.randint(0, 2))]
    bad = rng.choice(
        [None, None, 5, "x", [], [None], Obj([("dose_per_fraction_gy", 3.0)]),
         Obj([("fractions", 5), ("dose_per_fraction_gy", 0)]),
         Obj([("fractions", 0), ("dose_per_fraction_gy", 4.0)]),
         Obj([("fractions", 5), ("dose_per_fraction_gy", 1e308)]),
         Obj([("fractions", 5), ("dose_per_fraction_gy", 4.0), ("months_before", -1)]),
         Obj([("fractions", 5), ("dose_per_fraction_gy", 4.0), ("dose", 4)])]
    )  # fmt: skip
    courses.insert(rng.randint(0, len(courses)), bad)
    if rng.random() < 0.3:
        courses = [None] * rng.randint(1, 3)
    return _set(doc, "prior_radiotherapy", courses)


def _too_many_courses(doc: Obj, rng: random.Random, syntax: str) -> Obj:
    return _set(doc, "prior_radiotherapy", [_course() for _ in range(rng.randint(11, 40))])


def _duplicate_key(doc: Obj, rng: random.Random, syntax: str) -> Obj:
    out = Obj(doc)
    if out and rng.random() < 0.7:
        key, value = rng.choice(list(out))
        out.insert(rng.randint(0, len(out)), (key, value if rng.random() < 0.5 else None))
    else:
        part = rng.choice(sorted(SINS))
        out = _set(out, "sins", Obj([(part, SINS[part][0]), (part, SINS[part][-1])]))
    return out


def _unknown_key(doc: Obj, rng: random.Random, syntax: str) -> Obj:
    key = rng.choice(["ecgo", "kps ", "Age_years", "primary_tumour", "\u202eid", "x" * 300, ""])
    out = Obj(doc)
    out.insert(rng.randint(0, len(out)), (key, rng.choice([1, "a", None, True])))
    if rng.random() < 0.2:  # far more keys than a patient has
        out.extend((f"unknown_{i}", i) for i in range(rng.randint(60, 400)))
    return out


def _deep_nesting(doc: Obj, rng: random.Random, syntax: str) -> Obj:
    depth = rng.choice([11, 12, 50, 1000, 3000])
    opening, closing = rng.choice([("[", "]"), ('{"a": ', "}")])
    if syntax == "yaml" and opening != "[":
        opening = "{a: "
    return _set(
        doc, rng.choice(["sins", "prior_radiotherapy"]), Raw(opening * depth + closing * depth)
    )


def _hidden_character(doc: Obj, rng: random.Random, syntax: str) -> Obj:
    hidden = rng.choice(HIDDEN_SAMPLES)
    text = _visible_text(rng, 5) + hidden + _visible_text(rng, 3)
    return _set(doc, "id", text)


def _long_text(doc: Obj, rng: random.Random, syntax: str) -> Obj:
    return _set(doc, "id", "x" * rng.choice([ID_MAX + 1, 1000, 20_000]))


def _lone_surrogate(doc: Obj, rng: random.Random, syntax: str) -> Obj:
    return _set(doc, "id", Raw(rng.choice(['"a\\ud800b"', '"\\udfff"', '"x\\ud83d"'])))


def _yaml_tag_or_alias(doc: Obj, rng: random.Random, syntax: str) -> Obj:
    if syntax == "json":
        return _set(doc, "age_years", Raw("!!int 64"))  # not JSON at all
    choice = rng.randrange(3)
    if choice == 0:
        tag = rng.choice(["!!str 64", "!!int 64", "!!binary aGk=", "!!set {a, b}", "!x 1",
                          "!!timestamp 2024-01-01", "!!python/tuple [1]"])  # fmt: skip
        return _set(doc, rng.choice(["age_years", "id", "sins"]), Raw(tag))
    if choice == 1:
        out = _set(doc, "sins", Raw("&s {location: mobile}"))
        return _set(out, "preferences", Raw("*s"))
    laughs = Obj([("lol0", Raw('&a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'))])
    for i in range(1, rng.randint(2, 9)):
        laughs.append((f"lol{i}", Raw(f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")))
    return Obj([*laughs, *doc])


def _wrong_root(doc: Obj, rng: random.Random, syntax: str) -> Any:
    return Raw(rng.choice(["[1, 2]", "42", "null", '"text"', "[]", "true"]))


def _sins_not_object(doc: Obj, rng: random.Random, syntax: str) -> Obj:
    return _set(doc, rng.choice(["sins", "preferences"]), rng.choice(["mobile", 3, [], True]))


def _enum_value(doc: Obj, rng: random.Random, syntax: str) -> Obj:
    key = rng.choice(sorted(ENUMS))
    return _set(doc, key, rng.choice(["1d", "4", "lung", "BREAST", " breast", "breast\u200b"]))


#: Defects of the document structure (applied before it is written).
DOCUMENT_DEFECTS: dict[str, Defect] = {
    "out_of_range": _out_of_range,
    "non_finite": _non_finite,
    "bool_spelling": _bool_spelling,
    "yaml_1_1_number": _yaml_11_number,
    "wrong_type": _wrong_type,
    "bad_course_list": _bad_course_list,
    "too_many_courses": _too_many_courses,
    "duplicate_key": _duplicate_key,
    "unknown_key": _unknown_key,
    "deep_nesting": _deep_nesting,
    "hidden_character": _hidden_character,
    "long_text": _long_text,
    "lone_surrogate": _lone_surrogate,
    "yaml_tag_or_alias": _yaml_tag_or_alias,
    "wrong_root": _wrong_root,
    "not_an_object": _sins_not_object,
    "enum_value": _enum_value,
}

#: Defects of the bytes (applied after the document is written).
BYTE_DEFECTS = ("latin_1", "utf16_no_bom", "utf32", "truncated_json", "trailing_garbage_json",
                "oversize", "empty", "invalid_utf8")  # fmt: skip

VALID_ENCODINGS = ("utf-8", "utf-8", "utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom")


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-8-bom":
        return codecs.BOM_UTF8 + text.encode()
    if encoding == "utf-16-le-bom":
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    if encoding == "utf-16-be-bom":
        return codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    return text.encode()


def generate_case(rng: random.Random) -> Case:
    """One input: valid about a third of the time, else with one to three known defects."""
    doc, expected = valid_document(rng)
    name = rng.choice(["patient.json", "patient.yaml", "patient.yml", "patient.txt", "-"])
    syntax = "json" if name.endswith(".json") else "yaml"
    defects: list[str] = []
    document: Any = doc
    byte_defect: str | None = None
    if rng.random() < 0.65:
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            if rng.random() < 0.2:
                byte_defect = rng.choice(BYTE_DEFECTS)
                continue
            label = rng.choice(sorted(DOCUMENT_DEFECTS))
            if not isinstance(document, Obj):
                continue
            document = DOCUMENT_DEFECTS[label](document, rng, syntax)
            defects.append(label)
    if byte_defect in ("truncated_json", "trailing_garbage_json") and syntax != "json":
        byte_defect = None
    text = emit_json(document) if syntax == "json" else emit_yaml(document, rng)
    encoding = rng.choice(VALID_ENCODINGS)
    data = _encode(text, encoding)
    if byte_defect == "latin_1":  # an ü written in Latin-1 is not UTF-8
        tail = "\n# Müller\n" if syntax == "yaml" else " \u00fc"
        data = (text.rstrip("\n") + tail).encode("latin-1", "replace")
    elif byte_defect == "utf16_no_bom":
        data = text.encode("utf-16-le")
    elif byte_defect == "utf32":
        data = text.encode("utf-32")
    elif byte_defect == "truncated_json":
        cut = rng.randint(1, max(1, len(text) - 1))
        data = text.encode()[: len(text.encode()) - cut]
    elif byte_defect == "trailing_garbage_json":
        data = text.encode() + rng.choice([b"x", b"}", b"{}", b" 1"])
    elif byte_defect == "oversize":
        padding = ("\n# " + "x" * 1000) * 70 if syntax == "yaml" else " " * (MAX_BYTES + 1)
        data = (text + padding).encode() if syntax == "yaml" else (padding + text).encode()
    elif byte_defect == "empty":
        data = rng.choice([b"", b"\n", b"   "])
    elif byte_defect == "invalid_utf8":
        data = text.encode()
        position = rng.randint(0, len(data))
        bad = rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80", b"\xf5\x80\x80\x80"])
        data = data[:position] + bad + data[position:]
    if byte_defect is not None:
        defects.append(byte_defect)
    valid = not defects
    return Case(data, name, valid, expected if valid else None, defects)
