"""The strict reader (``mescc.loading``): every refusal class of issue 9, with its exact line.

Each case is the class of a measured defect, not only its sample: encodings, YAML 1.1 quirks,
tags, aliases, duplicate keys, numbers without a machine value, shape limits and texts that a
database or serialiser cannot hold.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

import pytest

from mescc import loading
from mescc.errors import InputError
from mescc.fields import OversizedNumber
from mescc.loading import load_patient

ALLOWED_TEXT = (
    "UTF-8 text (with or without a byte-order mark) or UTF-16 text with a byte-order mark"
)


def refused(data: bytes, syntax: loading.Syntax = "yaml", source: str = "p.yaml") -> list[str]:
    with pytest.raises(InputError) as caught:
        load_patient(data, source=source, syntax=syntax)
    return [p.message for p in caught.value.problems]


def loaded(data: bytes, syntax: loading.Syntax = "yaml") -> Any:
    return load_patient(data, source="p", syntax=syntax)


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    "data",
    [
        'kps: 70\nid: "Müller"\n'.encode(),
        codecs.BOM_UTF8 + 'kps: 70\nid: "Müller"\n'.encode(),
        codecs.BOM_UTF16_LE + 'kps: 70\nid: "Müller"\n'.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + 'kps: 70\nid: "Müller"\n'.encode("utf-16-be"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom"],
)
def test_utf8_with_or_without_bom_and_utf16_with_bom_are_read(data: bytes) -> None:
    assert loaded(data) == {"kps": 70, "id": "Müller"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            'id: "Müller"\n'.encode("latin-1"),
            "p.yaml: is not valid UTF-8 text (byte 6, line 1: invalid start byte); "
            f"allowed: {ALLOWED_TEXT}",
        ),
        (
            b'kps: 70\nid: "\xed\xa0\x80"\n',  # a surrogate encoded as UTF-8 bytes
            "p.yaml: is not valid UTF-8 text (byte 13, line 2: invalid continuation byte); "
            f"allowed: {ALLOWED_TEXT}",
        ),
        (
            "kps: 70\n".encode("utf-16-le"),
            "p.yaml: contains a NUL character (line 1, column 2) (it looks like UTF-16 or "
            f"UTF-32 without a byte-order mark); allowed: text without NUL characters: "
            f"{ALLOWED_TEXT}",
        ),
        (
            codecs.BOM_UTF32_LE + "kps: 70\n".encode("utf-32-le"),
            f"p.yaml: is UTF-32 text; allowed: {ALLOWED_TEXT}",
        ),
        (
            codecs.BOM_UTF16_LE + b"k\x00\x00\xd8",  # a lone high surrogate in UTF-16
            "p.yaml: is not valid UTF-16 text (byte 4, line 1: unexpected end of data); "
            f"allowed: {ALLOWED_TEXT}",
        ),
        (
            b"kps: 70\x00\n",
            "p.yaml: contains a NUL character (line 1, column 8); allowed: text without NUL "
            f"characters: {ALLOWED_TEXT}",
        ),
    ],
    ids=["latin-1", "utf8-surrogate", "utf16-no-bom", "utf32", "utf16-lone-surrogate", "nul"],
)
def test_other_encodings_are_refused_in_one_line(data: bytes, message: str) -> None:
    assert refused(data) == [message]


def test_escaped_lone_surrogate_and_nul_are_refused_naming_the_field() -> None:
    assert refused(b'{"id": "a\\ud800"}', "json") == [
        "id: a lone surrogate (U+D800 at position 2) is not a character; "
        "allowed: valid Unicode text"
    ]
    assert refused(b'{"id": "a\\u0000b"}', "json") == [
        'id: "a[U+0000]b" contains a NUL character; allowed: text without NUL characters'
    ]
    assert refused(b'{"k\\u0000": 1}', "json") == [
        'k[U+0000]: "k[U+0000]" contains a NUL character; allowed: text without NUL characters'
    ]


# --------------------------------------------------------------------------- YAML types


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1:00", "1:00"),  # YAML 1.1: 60 (base 60)
        ("yes", "yes"),  # YAML 1.1: true
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("True", "True"),  # only lowercase true/false are booleans
        ("FALSE", "FALSE"),
        ("2024-01-01", "2024-01-01"),  # YAML 1.1: a date
        ("2024-01-01 10:00:00", "2024-01-01 10:00:00"),
        ("0x1A", "0x1A"),  # hexadecimal is not JSON
        ("0o17", "0o17"),
        ("010", 10),  # YAML 1.1: octal 8
        ("true", True),
        ("false", False),
        ("null", None),
        ("~", None),
        ("", None),
        ("70", 70),
        ("-3", -3),
        ("7.5", 7.5),
        ("1e3", 1000.0),
        ('"true"', "true"),  # quoted: always text
        ("'70'", "70"),
    ],
)
def test_yaml_plain_values_resolve_to_json_types_only(text: str, value: Any) -> None:
    got = loaded(f"v: {text}\n".encode())["v"]
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("v: !!binary aGVsbG8=\n", "a YAML tag (tag:yaml.org,2002:binary) at line 1, column 4 (v)"),
        ("v: !!set {a, b}\n", "a YAML tag (tag:yaml.org,2002:set) at line 1, column 4 (v)"),
        ("v: !!timestamp 2024-01-01\n", "a YAML tag (tag:yaml.org,2002:timestamp) at line 1, "
         "column 4 (v)"),
        ("v: !!str 70\n", "a YAML tag (tag:yaml.org,2002:str) at line 1, column 4 (v)"),
        ("v: !custom x\n", "a YAML tag (!custom) at line 1, column 4 (v)"),
        ("v: !!python/object/apply:os.system [ls]\n",
         "a YAML tag (tag:yaml.org,2002:python/object/apply:os.system) at line 1, column 4 (v)"),
    ],
)  # fmt: skip
def test_yaml_tags_are_refused(text: str, what: str) -> None:
    assert refused(text.encode()) == [
        f"p.yaml: {what}; allowed: plain JSON-compatible values (no tags)"
    ]


def test_yaml_anchors_and_aliases_are_refused_so_billion_laughs_fails_fast() -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ", ".join([f"*{previous}"] * 9) + "]")
    # 9^9 = 387 million strings if expanded; refused at the first anchor, before any alias
    messages = refused("\n".join(lines).encode())
    assert messages == [
        "p.yaml: a YAML anchor (&a) at line 1, column 4 (a); allowed: plain values (no "
        "anchors/aliases)"
    ]
    assert refused(b"a: *x\n") != []  # an alias alone (undefined anchor) is refused too


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "kps: 70\n---\nkps: 80\n",
            "p.yaml: a second YAML document at line 2, column 1 (patient); allowed: one "
            "document (one patient per file)",
        ),
        (
            "? [a, b]\n: 1\n",
            "p.yaml: a key that is an object or a list at line 1, column 3 (patient); "
            "allowed: text keys",
        ),
    ],
)
def test_yaml_structures_json_cannot_hold_are_refused(text: str, message: str) -> None:
    assert refused(text.encode()) == [message]


def test_yaml_merge_key_is_only_an_unknown_text_key() -> None:
    assert loaded(b"<<: {kps: 70}\n") == {"<<": {"kps": 70}}


def test_json_read_as_yaml_gives_the_same_values() -> None:
    text = json.dumps({"id": "a/b", "kps": 70, "visceral_metastases": False, "sins": {}})
    assert loaded(text.encode(), "yaml") == loaded(text.encode(), "json")


# --------------------------------------------------------------------------- duplicates


def test_duplicate_keys_are_refused_in_json_with_both_positions_and_the_path() -> None:
    text = (
        b'{"kps": 70,\n "sins": {"pain": "mechanical",\n          "pain": "pain_free"},\n'
        b' "prior_radiotherapy": [{"fractions": 5}, {"fractions": 5, "fractions": 6}],\n'
        b' "kps": 80}'
    )
    assert refused(text, "json") == [
        "sins.pain: duplicate key (at line 2, column 11 and line 3, column 11); "
        "allowed: each key once",
        "prior_radiotherapy[1].fractions: duplicate key (at line 4, column 44 and line 4, "
        "column 60); allowed: each key once",
        "kps: duplicate key (at line 1, column 2 and line 5, column 2); allowed: each key once",
    ]


def test_duplicate_keys_are_refused_in_yaml_with_both_positions_and_the_path() -> None:
    text = (
        b"kps: 70\nsins:\n  pain: mechanical\n  'pain': pain_free\n"
        b"prior_radiotherapy:\n  - {fractions: 5, fractions: 6}\nkps: 80\n"
    )
    assert refused(text) == [
        "sins.pain: duplicate key (at line 3, column 3 and line 4, column 3); "
        "allowed: each key once",
        "prior_radiotherapy[0].fractions: duplicate key (at line 6, column 6 and line 6, "
        "column 20); allowed: each key once",
        "kps: duplicate key (at line 1, column 1 and line 7, column 1); allowed: each key once",
    ]


def test_same_key_in_different_objects_is_not_a_duplicate() -> None:
    text = b'{"prior_radiotherapy": [{"fractions": 5}, {"fractions": 6}], "sins": {"x": 1}}'
    assert loaded(text, "json")["prior_radiotherapy"] == [{"fractions": 5}, {"fractions": 6}]


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("syntax", ["json", "yaml"])
@pytest.mark.parametrize(
    "text",
    ["18446744073709551616", "-18446744073709551616", "9" * 400, "9" * 5000, "1e400", "-1e400"],
    ids=["2^64", "-2^64", "400-digits", "5000-digits", "1e400", "-1e400"],
)
def test_numbers_without_a_machine_value_are_kept_as_text_for_the_field_check(
    syntax: loading.Syntax, text: str
) -> None:
    value = loaded(f'{{"kps": {text}}}'.encode(), syntax)["kps"]
    assert value == OversizedNumber(text)


def test_the_largest_integers_still_read_as_integers() -> None:
    assert loaded(b'{"kps": 9999999999999999999}', "json")["kps"] == 9999999999999999999


def test_json_constants_that_are_not_json_are_marked() -> None:
    value = loaded(b'{"a": NaN, "b": Infinity, "c": -Infinity}', "json")
    assert value == {
        "a": OversizedNumber("NaN"),
        "b": OversizedNumber("Infinity"),
        "c": OversizedNumber("-Infinity"),
    }
    assert all(v.not_a_number for v in value.values())


# --------------------------------------------------------------------------- limits


def test_input_larger_than_the_limit_is_refused_before_parsing() -> None:
    data = b"# comment\n" * (loading.MAX_INPUT_BYTES // 10 + 1)
    assert refused(data) == [
        "p.yaml: is larger than 64 KiB; allowed: at most 65536 bytes (a patient record is a "
        "few kilobytes)"
    ]


@pytest.mark.parametrize("syntax", ["json", "yaml"])
@pytest.mark.parametrize("depth", [11, 2000])
def test_nesting_deeper_than_the_limit_is_refused(syntax: loading.Syntax, depth: int) -> None:
    (message,) = refused(b"[" * depth + b"]" * depth, syntax)
    assert message.startswith("p.yaml: nest")
    assert message.endswith("allowed: at most 10 levels (a patient record needs 3)")


def test_deep_block_yaml_is_refused_naming_the_path() -> None:
    text = "".join("  " * i + f"k{i}:\n" for i in range(12)).encode()
    assert refused(text) == [
        "p.yaml: nesting deeper than 10 levels at line 11, column 21 "
        "(k0.k1.k2.k3.k4.k5.k6.k7.k8.k9); allowed: at most 10 levels (a patient record needs 3)"
    ]


def test_ten_levels_are_read() -> None:
    assert loaded(b"[" * 10 + b"]" * 10, "json") is not None


@pytest.mark.parametrize("syntax", ["json", "yaml"])
def test_an_object_with_too_many_keys_is_refused_before_any_per_key_work(
    syntax: loading.Syntax,
) -> None:
    body = "{" + ", ".join(f'"k{i}": 1' for i in range(loading.MAX_KEYS_PER_OBJECT + 1)) + "}"
    assert refused(body.encode(), syntax) == [
        "patient: an object of 101 keys; allowed: at most 100 keys (the contract has about 40)"
    ]


def test_a_list_with_too_many_items_is_refused() -> None:
    body = '{"prior_radiotherapy": [' + ", ".join(["{}"] * 101) + "]}"
    assert refused(body.encode(), "json") == [
        "prior_radiotherapy: a list of 101 items; allowed: at most 100 items"
    ]


def test_too_many_values_are_refused() -> None:
    body = json.dumps({"a": [[0] * 99] * 60})
    assert refused(body.encode(), "json") == [
        "p.yaml: holds more than 5000 values; allowed: at most 5000 values"
    ]
    assert refused(body.encode(), "yaml") == [
        "p.yaml: more than 5000 values at line 1, column 14948 (a[49][96]); allowed: at most "
        "5000 values"
    ]


def test_a_text_longer_than_the_limit_is_refused_without_echoing_it() -> None:
    body = json.dumps({"id": "x" * 20_000})
    assert refused(body.encode(), "json") == [
        "id: a text of 20000 characters; allowed: at most 10000 characters"
    ]


@pytest.mark.parametrize(
    ("data", "syntax", "start"),
    [
        (b'{"kps": 70,', "json", "p.yaml: is not valid JSON (line 1, column 12"),
        (b"", "json", "p.yaml: is not valid JSON (line 1, column 1: Expecting value)"),
        (b"kps: [70\n", "yaml", "p.yaml: is not valid YAML (line 2, column 1"),
        (b"\x1b[31m: 1\n", "yaml", "p.yaml: is not valid YAML ("),
    ],
)
def test_malformed_text_is_one_line_naming_the_place(
    data: bytes, syntax: loading.Syntax, start: str
) -> None:
    (message,) = refused(data, syntax)
    assert message.startswith(start)
    assert "\x1b" not in message and len(message) < 400
