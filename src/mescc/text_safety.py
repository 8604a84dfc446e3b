"""Characters that change what a reader sees: found at input, made visible at output.

A free text (the patient ``id``, a note) reaches the clinician's screen and the printed report.
Some characters in it do not show as themselves: control characters (C0 and C1, including the
ANSI escape ESC that recolours or clears a terminal, and CR that overwrites a line), bidi
overrides and isolates (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C; a U+202E in a
note reverses the fixed sentence printed after it) and other invisible formatting (zero-width
characters, U+FEFF, U+2028/U+2029 line and paragraph separators, lone surrogates).

Two lines of defence use the one definition here:

* input: :func:`hidden_characters` finds them, and ``mescc.fields.check_value`` refuses a text
  field that contains any (TAB and LF are allowed in multi-line notes only);
* output: :func:`neutralise` (one text) and :func:`neutralise_document` (every string of a
  document) replace each by a visible ``[U+XXXX]`` before a renderer (terminal, HTML, PDF) sees
  it. JSON output is data and is left as it is.

The categories are Unicode's: ``Cc`` (control), ``Cf`` (format, which holds every bidi control
and the zero-width characters), ``Cs`` (surrogates), ``Zl`` and ``Zp`` (line and paragraph
separators). Private-use and unassigned code points are not spoofing controls and pass.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

#: Unicode general categories of characters that do not show as themselves.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

#: Layout characters a multi-line note may hold (they show as what they are).
LAYOUT_CHARACTERS = frozenset({"\t", "\n"})


def is_hidden(character: str, *, multiline: bool = False) -> bool:
    """True when ``character`` does not show as itself (see the module docstring)."""
    if multiline and character in LAYOUT_CHARACTERS:
        return False
    return unicodedata.category(character) in HIDDEN_CATEGORIES


def hidden_characters(text: str, *, multiline: bool = False) -> list[tuple[int, str]]:
    """``(position, character)`` of every hidden character of ``text``, in order."""
    if text.isprintable():  # the common case, decided in C
        return []
    return [(i, ch) for i, ch in enumerate(text) if is_hidden(ch, multiline=multiline)]


def code_point(character: str) -> str:
    """``U+202E`` for a character."""
    return f"U+{ord(character):04X}"


def neutralise(text: str, *, keep_layout: bool = True) -> str:
    """``text`` with every hidden character replaced by a visible ``[U+XXXX]``.

    The replacement holds no character that HTML, rich markup or a terminal treats specially,
    so it is safe inside escaped and unescaped output alike. TAB and LF are kept when
    ``keep_layout`` (they show as layout, not as something else).
    """
    if text.isprintable():
        return text
    return "".join(
        f"[{code_point(ch)}]" if is_hidden(ch, multiline=keep_layout) else ch for ch in text
    )


def neutralise_document(value: Any) -> Any:
    """A copy of a JSON-like document with every string (keys too) neutralised."""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, Mapping):
        return {
            (neutralise(k) if isinstance(k, str) else k): neutralise_document(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [neutralise_document(v) for v in value]
    return value
