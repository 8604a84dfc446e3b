"""Did-you-mean hints for a mistyped key or value: one rule for every input path.

``mescc assess``, the API and the batch ``input_error`` texts all name the allowed spelling a
typo most likely meant ("brest" -> "breast", "Breast" -> "breast", "1C" -> "1c"). A hint is
only a hint: the value is still refused, never replaced. Clinical trap guarded: an ambiguous
typo gets no hint ("lung" is as close to ``lung_sclc`` as to ``lung_nsclc``; "1" to ``1a``,
``1b`` and ``1c``), so a hint never picks one of two clinically different values; and a hint
never flips a negation ("ambulatory" is closest to ``not_ambulatory``, "non mechanical" to
``mechanical``: neither gets that hint). ``None``, ``NULL`` or ``n/a`` get no hint either: they
usually mean "unknown" (write null or leave the key out), not the value ``none`` (no collapse).
"""

from __future__ import annotations

from collections.abc import Collection
from difflib import SequenceMatcher

#: Least similarity (difflib ratio, 0-1) of a value typo to its hint ("brest": 0.91).
VALUE_CUTOFF = 0.75
#: Least similarity of a key typo to its hint ("ecgo" -> "ecog": 0.75).
KEY_CUTOFF = 0.6
#: The best match must beat the second best by this much, else the typo is ambiguous.
MARGIN = 0.1
#: Longest part of a given text that is compared (a hint is for typos, not for essays).
_COMPARED = 100


def _fold(text: str) -> str:
    """Case, surrounding spaces and the separators ``-`` and space do not matter."""
    return text.strip().lower().replace("-", "_").replace(" ", "_")


#: Words that negate what follows (``not_ambulatory``, ``occasional_non_mechanical``, ``none``).
_NEGATIONS = ("no", "not", "non", "none", "without")


#: Texts that usually mean "unknown" (as written in Python, SQL or a spreadsheet).
_NULL_WORDS = frozenset({"none", "null", "nil", "nan", "n/a", "na", "unknown"})


def _negated(folded: str) -> bool:
    return any(
        word in _NEGATIONS or word.startswith(("non", "not", "without"))
        for word in folded.split("_")
    )


def closest(given: str, allowed: Collection[str], *, cutoff: float = VALUE_CUTOFF) -> str | None:
    """The allowed spelling ``given`` most likely meant, or None.

    A value equal to an allowed one but for case, spaces or hyphens wins outright; otherwise
    the most similar allowed value of the same polarity (negated or not), when it is similar
    enough and clearly the most similar.
    """
    if _fold(given) in _NULL_WORDS and given not in allowed:
        return None
    folded: dict[str, str] = {}
    for value in allowed:
        folded.setdefault(_fold(value), value)
    key = _fold(given[:_COMPARED])
    if key in folded:
        return folded[key]
    matcher = SequenceMatcher(b=key, autojunk=False)
    scores: list[tuple[float, str]] = []
    negated = _negated(key)
    for candidate in folded:
        if _negated(candidate) != negated:
            continue
        matcher.set_seq1(candidate)
        scores.append((matcher.ratio(), candidate))
    scores.sort(reverse=True)
    if not scores or scores[0][0] < cutoff:
        return None
    if len(scores) > 1 and scores[0][0] - scores[1][0] < MARGIN:
        return None
    return folded[scores[0][1]]


def hint(given: object, allowed: Collection[str]) -> str:
    """``' (did you mean "breast"?)'`` for a mistyped text value, else ``''``."""
    if not isinstance(given, str):
        return ""
    match = closest(given, allowed)
    if match is None or match == given:
        return ""
    return f' (did you mean "{match}"?)'


def bool_hint(given: object) -> str:
    """``' (did you mean true?)'`` for ``"True"`` or ``"FALSE"`` where a boolean belongs.

    Only for a spelling of ``true``/``false`` itself: "yes", "1" or "on" get no hint (what
    they mean is not for mescc to guess).
    """
    if not isinstance(given, str):
        return ""
    spelt = given.strip().lower()
    if spelt not in ("true", "false") or spelt == given:
        return ""
    return f" (did you mean {spelt}?)"
