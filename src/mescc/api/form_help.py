"""What the patient form explains next to its inputs: performance-status grades, SINS and Bilsky.

The ECOG and Karnofsky definitions are those of the reference (spine-instruments.md §15a, the
ECOG-ACRIN wording of Oken 1982; §15b, the KPS wording five sources agree on). The SINS and
Bilsky help is read from the knowledge base's instrument definitions (``sins_2010``,
``bilsky_escc_2010``: component definitions, points, bands) and the value labels of
:mod:`mescc.render.labels`, so the form explains exactly what the instrument scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from mescc.fields import SINS_PARTS
from mescc.render.labels import value_label

#: ECOG performance status 0-4 (ECOG-ACRIN wording; grade 5, dead, is not an input).
ECOG_GRADES: Mapping[int, str] = {
    0: "Fully active, able to carry on all pre-disease performance without restriction",
    1: "Restricted in physically strenuous activity but ambulatory and able to carry out work "
    "of a light or sedentary nature, e.g. light house work, office work",
    2: "Ambulatory and capable of all selfcare but unable to carry out any work activities; "
    "up and about more than 50% of waking hours",
    3: "Capable of only limited selfcare; confined to bed or chair more than 50% of waking hours",
    4: "Completely disabled; cannot carry on any selfcare; totally confined to bed or chair",
}

#: Karnofsky performance status, 100 down to 0 in steps of 10.
KPS_LEVELS: Mapping[int, str] = {
    100: "Normal; no complaints; no evidence of disease",
    90: "Able to carry on normal activity; minor signs or symptoms of disease",
    80: "Normal activity with effort; some signs or symptoms of disease",
    70: "Cares for self; unable to carry on normal activity or to do active work",
    60: "Requires occasional assistance, but is able to care for most of own needs",
    50: "Requires considerable assistance and frequent medical care",
    40: "Disabled; requires special care and assistance",
    30: "Severely disabled; hospitalisation indicated although death not imminent",
    20: "Very sick; hospitalisation necessary; active supportive treatment necessary",
    10: "Moribund; fatal processes progressing rapidly",
    0: "Dead",
}


def scale_choices(key: str) -> tuple[tuple[str, str], ...]:
    """The labelled choices of ``ecog`` (0 to 4) or ``kps`` (100 down to 0)."""
    grades = ECOG_GRADES if key == "ecog" else KPS_LEVELS
    return tuple((str(v), f"{value_label(key, v)}: {text}") for v, text in grades.items())


@dataclass(frozen=True, slots=True)
class FieldHelp:
    """A short explanation shown in a ``<details>`` next to an input."""

    summary: str
    intro: str
    items: tuple[str, ...]


def _points(points: int | None) -> str:
    if points is None:
        return ""
    return f" ({points} point{'s' if points != 1 else ''})"


def _category_values(category: Any, column: str) -> tuple[Any, ...]:
    predicate = category.when.get(column)
    return tuple(predicate.in_ or ()) if predicate is not None else ()


def _sins_help(instrument: Any) -> dict[str, FieldHelp]:
    helps: dict[str, FieldHelp] = {}
    by_factor = {item.factor: item for item in instrument.items}
    for part in SINS_PARTS:
        item = by_factor.get(part)
        if item is None:
            continue
        column = f"sins_{part}"
        lines = []
        for category in item.categories:
            for value in _category_values(category, column):
                label = value_label(column, value)
                lines.append(f"{label[:1].upper()}{label[1:]}{_points(category.points)}")
        helps[f"sins.{part}"] = FieldHelp("What SINS scores", f"{item.label}.", tuple(lines))
    bands = tuple(
        f"{group.label}: {group.text}" for group in instrument.groups if group.text is not None
    )
    if bands and "sins.location" in helps:
        first = helps["sins.location"]
        helps["sins.location"] = FieldHelp(
            first.summary,
            first.intro + " SINS adds the six components (0-18): " + "; ".join(bands) + ".",
            first.items,
        )
    return helps


def _bilsky_help(instrument: Any) -> dict[str, FieldHelp]:
    if not instrument.items:
        return {}
    item = instrument.items[0]
    lines = [
        value_label("escc_grade", value)[:1].upper() + value_label("escc_grade", value)[1:]
        for category in item.categories
        for value in _category_values(category, "escc_grade")
    ]
    groups = "; ".join(group.text for group in instrument.groups if group.text is not None)
    intro = f"{item.label}." + (f" {groups}." if groups else "")
    return {"escc_grade": FieldHelp("What the grades mean", intro, tuple(lines))}


@cache
def inline_help(knowledge_base: Any) -> Mapping[str, FieldHelp]:
    """Help by form key (``escc_grade``, ``sins.location`` ...) from ``knowledge_base``."""
    instruments = knowledge_base.instruments
    helps: dict[str, FieldHelp] = {}
    if "bilsky_escc_2010" in instruments:
        helps.update(_bilsky_help(instruments["bilsky_escc_2010"]))
    if "sins_2010" in instruments:
        helps.update(_sins_help(instruments["sins_2010"]))
    return helps
