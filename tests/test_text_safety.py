"""Characters that do not show as themselves (``mescc.text_safety``): found, and made visible."""

from __future__ import annotations

import pytest

from mescc.text_safety import hidden_characters, neutralise, neutralise_document

#: Every class the issue names, with a representative of each range's ends.
HIDDEN = [
    "\x00", "\x07", "\x08", "\x0b", "\x0c", "\r", "\x1b", "\x7f",  # C0 and DEL
    "\x80", "\x85", "\x9b", "\x9f",  # C1 (0x9B is the one-byte CSI)
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",  # embeddings and overrides
    "\u2066", "\u2067", "\u2068", "\u2069",  # isolates
    "\u200e", "\u200f", "\u061c",  # marks
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad",  # zero-width and invisible
    "\u2028", "\u2029",  # line and paragraph separators
    "\ud800", "\udfff",  # lone surrogates
    "\U000e0041",  # a tag character
]  # fmt: skip

VISIBLE = ["a", "Ä", "é", "ß", "€", "µ", "漢", "й", "ש", "ع", "😀", " ", "\u00a0", "-", "[", "<"]


@pytest.mark.parametrize("ch", HIDDEN, ids=lambda c: f"U+{ord(c):04X}")
def test_every_hidden_class_is_found_and_made_visible(ch: str) -> None:
    text = f"a{ch}b"
    assert hidden_characters(text) == [(1, ch)]
    shown = neutralise(text)
    assert shown == f"a[U+{ord(ch):04X}]b"
    assert hidden_characters(shown) == []


@pytest.mark.parametrize("ch", VISIBLE)
def test_visible_characters_pass_unchanged(ch: str) -> None:
    assert hidden_characters(f"a{ch}b") == []
    assert neutralise(f"a{ch}b") == f"a{ch}b"


def test_tab_and_line_feed_are_layout_in_a_multiline_text_only() -> None:
    assert hidden_characters("a\tb\nc", multiline=True) == []
    assert hidden_characters("a\tb\nc") == [(1, "\t"), (3, "\n")]
    assert hidden_characters("a\r\nb", multiline=True) == [(1, "\r")]
    assert neutralise("a\tb\nc") == "a\tb\nc"
    assert neutralise("a\tb\nc", keep_layout=False) == "a[U+0009]b[U+000A]c"


def test_a_document_is_neutralised_everywhere_and_not_changed_in_place() -> None:
    doc = {"id": "x\u202e", "\x1bkey": [1, None, {"note": "\x9b31m"}], "n": 2.5, "b": True}
    shown = neutralise_document(doc)
    assert shown == {
        "id": "x[U+202E]",
        "[U+001B]key": [1, None, {"note": "[U+009B]31m"}],
        "n": 2.5,
        "b": True,
    }
    assert doc["id"] == "x\u202e"
