"""Helpers the templates use to lay out an assessment document. Layout only, no judgement."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mescc.render.labels import FIELD_LABELS, VALUE_LABELS, code_label, key_label, value_label

EMERGENCY_BANNER = (
    "MESCC is an emergency. Do not delay MRI, steroids or referral for this software."
)

INTENDED_USE = (
    "Decision support for healthcare professionals treating adults with malignant epidural "
    "spinal cord compression. It explains options and their published basis; it does not "
    "replace clinical judgement and nothing here is an order."
)

_VERIFICATION_LABELS = {
    "primary": "VERIFIED-P",
    "secondary": "VERIFIED-S",
    "site-supplied": "SITE-SUPPLIED",
    "site-derived": "SITE-DERIVED",
    "unverified": "UNVERIFIED",
    "conflict": "CONFLICT",
}

_VERIFICATION_TEXT = {
    "primary": "checked against the primary publication",
    "secondary": "checked against a secondary source only",
    "site-supplied": "table supplied by this site",
    "site-derived": "table derived from this site's own registry (mescc derive); not the "
    "published table",
    "unverified": "not verified; does not drive the suggested option",
    "conflict": "sources disagree; does not drive the suggested option",
}


def verification_label(level: Any) -> str:
    return _VERIFICATION_LABELS.get(str(level), str(level).upper() if level else "UNKNOWN")


def verification_text(level: Any) -> str:
    return _VERIFICATION_TEXT.get(str(level), "verification level not stated")


def humanize(key: Any) -> str:
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else text


def fmt(value: Any) -> str:
    """A value for display: numbers without noise, booleans as yes/no, None as unknown."""
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        text = f"{value:.2f}".rstrip("0").rstrip(".")
        return text if text not in {"-0", ""} else "0"
    return str(value)


_CODE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")
_REGIMEN_ID = re.compile(r"(\d+)x(\d+(?:\.\d+)?)")
#: Keys whose values are internal identifiers, never shown in the generic detail views.
HIDDEN_KEYS = ("regimen_id", "code", "id")


_PROSE_TOKEN = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
_SCALE = re.compile(r"\b(?:kps|ecog|sins)\b")
_ANY_VALUE = {
    v: words for labels in VALUE_LABELS.values() for v, words in labels.items() if "_" in v
}


@functools.cache
def _instrument_names() -> dict[str, str]:
    """Instrument id -> name (the bundled knowledge base), for ids quoted in plan prose."""
    from mescc import document as core

    return {str(i["id"]): str(i["name"]) for i in core.instruments_document()}


def prose(text: Any) -> str:
    """A sentence written by the plan with its input keys and enum values in words
    ("primary_tumor in unknown_primary" -> "Primary tumour in cancer of unknown primary")."""

    def word(match: re.Match[str]) -> str:
        token = match.group(0)
        return (
            FIELD_LABELS.get(token)
            or _ANY_VALUE.get(token)
            or _instrument_names().get(token, token)
        )

    return _SCALE.sub(lambda m: m.group(0).upper(), _PROSE_TOKEN.sub(word, str(text)))


def label(key: Any) -> str:
    """A document key as a clinician reads it ("ecog" -> "ECOG performance status")."""
    return key_label(str(key))


def display(value: Any, key: Any = None) -> str:
    """A value for display in words: enum values and plan codes labelled (never
    ``ambulatory_with_aid`` or ``longer_course``), field values with their unit, else
    :func:`fmt`."""
    name = str(key).rsplit(".", 1)[-1] if key is not None else None
    if isinstance(value, str):
        if name is not None and name in VALUE_LABELS:
            return value_label(name, value)
        regimen = _REGIMEN_ID.fullmatch(value)
        if regimen is not None:
            return f"{regimen.group(1)} x {regimen.group(2)} Gy"
        return code_label(value, name) if _CODE.fullmatch(value) else prose(value)
    if name in ("ecog", "kps") and isinstance(value, int | float) and not isinstance(value, bool):
        return value_label(name, value)
    return fmt(value)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def input_value(value: Any, key: str) -> str:
    """An input as entered, on one line: SINS items and earlier courses as "label: value"."""
    if isinstance(value, Mapping):
        prefix = "sins_" if key == "sins" else ""
        keys = [(prefix + str(k), v) for k, v in value.items()]
        return "; ".join(
            f"{_capital(key_label(k).removeprefix('SINS: '))}: {input_value(v, k)}" for k, v in keys
        )
    if isinstance(value, list | tuple):
        if not value:
            return "none"
        return " | ".join(
            (f"course {n}: " if len(value) > 1 else "") + input_value(v, key)
            for n, v in enumerate(value, start=1)
        )
    return value_label(key, value) if not isinstance(value, str) or key in VALUE_LABELS else value


def is_mapping(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    series: str
    value: float
    x: float
    y: float
    width: float
    height: float
    recommended: bool


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_width: int
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, str], ...]
    labels: tuple[tuple[float, str, bool], ...]
    description: str


_SERIES = (("bed_gy10", "BED, α/β 10 Gy"), ("eqd2_gy10", "EQD2, α/β 10 Gy"))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def regimen_chart(options: Any) -> Chart | None:
    """Bar geometry for BED10 and EQD2 of each radiotherapy option, suggested option first."""
    if not is_sequence(options):
        return None
    rows: list[tuple[str, list[tuple[str, float]], bool]] = []
    for index, option in enumerate(options):
        if not isinstance(option, Mapping):
            continue
        values = [
            (name, number)
            for key, name in _SERIES
            if (number := _number(option.get(key))) is not None
        ]
        if values:
            rows.append((str(option.get("regimen", f"option {index + 1}")), values, index == 0))
    if not rows:
        return None
    top = max(value for _, values, _ in rows for _, value in values)
    scale_max = _nice_ceiling(top)
    longest = max(len(label) + (12 if recommended else 0) for label, _, recommended in rows)
    plot_left = min(max(120, int(longest * 7.5) + 16), 320)
    plot_width, bar_height, gap, header = 440, 14, 16, 10
    bars: list[Bar] = []
    labels: list[tuple[float, str, bool]] = []
    y = float(header)
    for label, values, recommended in rows:
        labels.append((y + bar_height * len(values) / 2 + 4, label, recommended))
        for series, value in values:
            bars.append(
                Bar(
                    label=label,
                    series=series,
                    value=value,
                    x=plot_left,
                    y=y,
                    width=max(plot_width * value / scale_max, 1.0),
                    height=bar_height - 2,
                    recommended=recommended,
                )
            )
            y += bar_height
        y += gap
    ticks = tuple(
        (plot_left + plot_width * step / 4, fmt(scale_max * step / 4)) for step in range(5)
    )
    description = "; ".join(
        f"{label}: " + ", ".join(f"{series} {fmt(value)} Gy" for series, value in values)
        for label, values, _ in rows
    )
    return Chart(
        width=plot_left + plot_width + 60,
        height=int(y) + 30,
        plot_left=plot_left,
        plot_width=plot_width,
        bars=tuple(bars),
        ticks=ticks,
        labels=tuple(labels),
        description=description,
    )


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = float(10.0 ** math.floor(math.log10(value)))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude
