"""The board summary in a clinician's words, for the web page, the PDF's page 1 and the patient
summary (issue 10).

It reads the document's ``summary`` (:func:`mescc.summary.board_summary`, rebuilt from the
document for a record stored before that key existed) and turns its codes into short sentences:
it never decides anything itself, so every page says what the plan said. Words for codes come
from :mod:`mescc.render.labels`; the plan's own long reasons stay in the detail sections.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mescc.render.labels import (
    CHANGE_TARGET_LABELS,
    COURSE_LENGTH_LABELS,
    CRITERION_STATUS_LABELS,
    PROGNOSIS_CLASS_LABELS,
    code_label,
    field_label,
    value_label,
)
from mescc.summary import board_summary

#: Verification levels that do not drive the ranking unless the user opted in.
_UNVERIFIED = {"unverified", "conflict"}
#: At most this many decisive unknowns are named on the first screen (the rest: details).
MAX_UNKNOWNS = 3

_REASON_WORDS = {
    "no_decompression_indication": "no indication met",
    "decompression_criteria_met_but_excluded": "not suggested: an indication is met, but the "
    "patient is outside the trial population",
    "consider_decompression": "a surgical opinion is worth considering",
    "consider_stability_opinion": "a surgical stability opinion is worth considering",
    "spine_stable_by_sins": "stable by SINS",
    "stability_unknown": "stability undetermined (SINS incomplete)",
    "steroids_neurological_signs": "neurological signs are recorded",
    "steroids_no_neurological_signs": "no neurological signs are recorded",
    "steroids_neurological_signs_unknown": "whether there are neurological signs is not recorded",
    "bone_agents_may_improve_local_control": "may improve local control",
    "bone_agents_not_near_end_of_life": "not suggested near the end of life",
}


#: Short forms of a criterion's input value on the first screen (the label names the scale).
_SHORT_VALUE = {"escc_grade": "Bilsky {}", "sins": "SINS {}"}


@dataclass(frozen=True, slots=True)
class Line:
    """One row of the board summary: a heading, one sentence and the evidence ids behind it."""

    key: str
    heading: str
    text: str
    evidence: tuple[str, ...] = ()
    attention: bool = False


@dataclass(frozen=True, slots=True)
class Board:
    """What the first screen shows, in order (recommendation first)."""

    kind: str  # radiotherapy | other | none (mescc.summary.recommendation)
    label: str | None  # the recommended regimen or the option that leads
    headline: str
    basis: str
    basis_evidence: tuple[str, ...]
    course: str | None
    alternatives: tuple[str, ...]
    alternative_regimens: tuple[str, ...]
    lines: tuple[Line, ...]
    unknowns: tuple[str, ...]
    more_unknowns: int
    warnings: tuple[str, ...] = field(default=())


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list | tuple) else []


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _instrument_name(document: Mapping[str, Any], iid: Any) -> str:
    inst = _map(_map(document.get("instruments")).get(str(iid)))
    return str(inst.get("name") or code_label(str(iid)))


def _ids(reason: Any) -> tuple[str, ...]:
    return tuple(str(e) for e in _list(_map(reason).get("evidence")))


def _course(course: Mapping[str, Any]) -> str:
    parts = []
    if course.get("total_dose_gy") is not None:
        parts.append(f"{_num(course['total_dose_gy'])} Gy")
    if course.get("visits") is not None:
        visits = course["visits"]
        parts.append(f"{visits} visit{'s' if visits != 1 else ''}")
    if course.get("overall_time"):
        parts.append(f"over {course['overall_time']}")
    if course.get("bed_gy10") is not None:
        parts.append(f"BED10 {_num(course['bed_gy10'])} Gy")
    if course.get("eqd2_gy10") is not None:
        parts.append(f"EQD2 {_num(course['eqd2_gy10'])} Gy")
    return ", ".join(parts)


def _class(code: Any) -> str:
    return PROGNOSIS_CLASS_LABELS.get(str(code), code_label(str(code))) if code else "unknown"


def _recommendation(rec: Mapping[str, Any], prognosis: Mapping[str, Any]) -> dict[str, Any]:
    kind = str(rec.get("kind") or "none")
    agree = f" ({_agree(prognosis)})" if prognosis.get("voting") else ""
    priority = rec.get("priority")
    wish = ""
    if priority and priority != "balanced":
        wish = f", with the patient's priority: {value_label('priority', priority)}"
    if kind == "radiotherapy":
        headline = "Suggested option"
        basis = (
            f"Ranked first for the survival prognosis, {_class(rec.get('ranking_class'))}"
            f"{agree}{wish}."
        )
    elif kind == "other":
        headline = f"{rec.get('label')} leads; no radiotherapy regimen is suggested first"
        basis = (
            "Death within two months is predicted and the end-of-life score predicts little "
            f"benefit from radiotherapy{agree}."
        )
    elif rec.get("why") == "no_regimen_within_reirradiation_limits":
        headline = "No option is suggested"
        basis = "No regimen stays within the re-irradiation limits (see re-irradiation)."
    else:
        headline = "No option is suggested"
        basis = (
            "The survival prognosis could not be classified, so the options carry no ranking "
            "claim; entering the decisive unknowns below could change this."
        )
    course = _map(rec.get("course"))
    alternatives = tuple(
        f"{a.get('regimen')}"
        + (
            f" ({COURSE_LENGTH_LABELS.get(str(a.get('course_length')), '')})"
            if a.get("course_length") in COURSE_LENGTH_LABELS
            else ""
        )
        for a in _list(rec.get("alternatives"))
        if isinstance(a, Mapping) and a.get("regimen")
    )
    return {
        "alternative_regimens": tuple(
            str(a.get("regimen"))
            for a in _list(rec.get("alternatives"))
            if isinstance(a, Mapping) and a.get("regimen")
        ),
        "kind": kind,
        "label": rec.get("label") if kind != "none" else None,
        "headline": headline,
        "basis": basis,
        "basis_evidence": _ids(rec.get("basis")),
        "course": _course(course) if course else None,
        "alternatives": alternatives,
    }


def _agree(p: Mapping[str, Any]) -> str:
    agreeing, voting = p.get("agreeing"), p.get("voting")
    return f"{agreeing} of {voting} instrument{'s' if voting != 1 else ''} agree" + (
        "s" if agreeing == 1 else ""
    )


def _short_name(document: Mapping[str, Any], iid: Any) -> str:
    return _instrument_name(document, iid).split(" (", 1)[0]


def _prognosis(document: Mapping[str, Any], p: Mapping[str, Any], converted: bool) -> Line:
    votes = [v for v in _list(p.get("votes")) if isinstance(v, Mapping) and v.get("class")]
    named = "; ".join(
        f"{_short_name(document, v.get('instrument'))}: {_class(v.get('class'))}"
        for v in votes
        if v.get("class") != p.get("class")
    )
    if p.get("class") is None:
        missing = len(_list(p.get("missing_to_classify")))
        text = "Not classifiable: " + (
            f"{missing} instrument{'s' if missing != 1 else ''} lack inputs (see decisive "
            "unknowns)."
            if missing
            else "no instrument could be computed."
        )
        return Line("prognosis", "Survival prognosis", text, attention=True)
    text = f"{_class(p.get('class')).capitalize()}"
    if p.get("voting"):
        text += f": {_agree(p)}"
    text += f" (other: {named})." if named else "."
    floor = _map(p.get("histology_floor"))
    if floor.get("class") and floor.get("raised"):
        names = ", ".join(_short_name(document, i) for i in _list(floor.get("instruments")))
        text += f" Raised to {_class(floor.get('class'))} by histology-specific scores ({names})."
    if p.get("lowered_by"):
        text += " Lowered by instruments that could not be computed (see prognosis)."
    if p.get("near_end_of_life"):
        text += " Death within two months is predicted."
    if converted:
        text += " Uses a converted input (see warnings)."
    ids = tuple(str(i) for i in _list(p.get("deciding_instruments")))
    return Line("prognosis", "Survival prognosis", text, ids, attention=converted)


def _criterion(c: Mapping[str, Any]) -> str:
    status = CRITERION_STATUS_LABELS.get(str(c.get("status")), code_label(str(c.get("status"))))
    text = f"{c.get('label')}: {status}"
    key, value = c.get("input"), c.get("value")
    shown = isinstance(key, str) and key != "prior_radiotherapy" and value is not None
    if shown and not isinstance(value, Mapping | list):
        words = _SHORT_VALUE.get(str(key), "{}").format(value)
        if str(key) not in _SHORT_VALUE:
            words = f"{field_label(str(key))}: {value_label(str(key), value)}"
        text += f" ({words})"
    return text


def _surgery(question: str, q: Mapping[str, Any]) -> Line:
    heading = "Decompression" if question == "decompression" else "Stabilisation"
    reason = _map(q.get("reason"))
    code = str(reason.get("code") or "")
    consider = q.get("consider")
    lead = _REASON_WORDS.get(code) or (
        "a surgical opinion is worth considering" if consider else "not indicated by the rules"
    )
    deciding = [c for c in _list(q.get("deciding")) if isinstance(c, Mapping)]
    # exclusions read ambiguously out of context: the first screen names indications and
    # inclusions only (the detail section lists every criterion with its status)
    preferred = [c for c in deciding if c.get("kind") in ("indication", "inclusion")]
    open_ = ("unknown", "not_recorded")
    if not consider and preferred and all(c.get("status") in open_ for c in preferred):
        lead = "not suggested; what decides it is not recorded"  # the plan's answer, and why
    criteria = "; ".join(_criterion(c) for c in preferred[:2])
    text = lead[:1].upper() + lead[1:] + (f": {criteria}." if criteria else ".")
    return Line(question, heading, text, _ids(reason), attention=bool(consider))


def _steroids(s: Mapping[str, Any], note: Any = None) -> Line:
    code = str(_map(s.get("reason")).get("code") or "")
    why = _REASON_WORDS.get(code, "")
    if s.get("suggest"):
        drug = str(s.get("drug") or "a corticosteroid").capitalize()
        dose = ""
        if s.get("initial_dose_mg") is not None:
            dose = f" {_num(s.get('initial_dose_mg'))} mg"
            if s.get("daily_dose_mg") is not None:
                dose += f", then {_num(s.get('daily_dose_mg'))} mg daily"
        text = f"{drug}{dose}" + (f" ({why})." if why else ".")
    elif s.get("suggest") is False:
        text = "Not suggested" + (f": {why}." if why else ".")
    else:
        text = "Undetermined" + (f": {why}." if why else ".")
    if s.get("contraindication_recorded"):
        text += " A contraindication is recorded" + (f": {note}." if note else ".")
    return Line("corticosteroids", "Corticosteroids", text, _ids(s.get("reason")))


def _bone(b: Mapping[str, Any]) -> Line:
    code = str(_map(b.get("reason")).get("code") or "")
    why = _REASON_WORDS.get(code, "")
    if b.get("suggest"):
        text = "Worth considering" + (f": {why}." if why else ".")
    elif b.get("suggest") is False:
        text = why[:1].upper() + why[1:] + "." if why else "Not suggested."
    else:
        text = "Undetermined."
    if b.get("contraindication_recorded"):
        text += " A contraindication is recorded."
    return Line("bone_modifying_agents", "Bone-modifying agent", text, _ids(b.get("reason")))


def _reirradiation(document: Mapping[str, Any], r: Mapping[str, Any] | None) -> Line:
    if not r:
        recorded = _map(document.get("patient")).get("prior_radiotherapy")
        text = (
            "No earlier radiotherapy to this region is recorded."
            if recorded == []
            else "Earlier radiotherapy to this region is not recorded (unknown)."
        )
        return Line("reirradiation", "Re-irradiation", text, attention=recorded != [])
    n = r.get("courses") or 0
    courses = f"{n} earlier course{'s' if n != 1 else ''}"
    if r.get("any_regimen_within_limits") is False:
        text = f"{courses}: no regimen stays within the cumulative cord-dose limits."
    elif r.get("any_regimen_within_limits"):
        text = f"{courses}: at least one regimen stays within the cumulative cord-dose limits."
    else:
        text = f"{courses}: whether a regimen stays within the limits is undetermined."
    if r.get("missing"):
        text += " Missing: " + ", ".join(field_label(str(m)) for m in r["missing"]) + "."
    return Line("reirradiation", "Re-irradiation", text, attention=True)


def _inputs(text: str) -> str:
    keys = [k.strip() for k in text.split(",") if k.strip()]
    if len(keys) > 1 and all(k.startswith("sins_") for k in keys):
        return "SINS items"
    return ", ".join(field_label(k) for k in keys)


def _unknowns(items: Sequence[Any]) -> tuple[tuple[str, ...], int]:
    decisive = [u for u in items if isinstance(u, Mapping) and _list(u.get("could_change"))]
    shown = []
    for u in decisive[:MAX_UNKNOWNS]:
        targets = ", ".join(
            CHANGE_TARGET_LABELS.get(str(t), code_label(str(t))) for t in u["could_change"]
        )
        shown.append(f"{_inputs(str(u.get('input') or ''))} (could change {targets})")
    rest = len([u for u in items if isinstance(u, Mapping)]) - len(shown)
    return tuple(shown), rest


_CONVERSION = re.compile(r"^(\w+) converted from (\w+) (\S+)(.*)$")


def _conversion(text: str) -> str:
    match = _CONVERSION.match(text)
    if match is None:
        return text
    to, source, value, rest = match.groups()
    return f"{to.upper()} converted from {source.upper()} {value}{rest}"


def _plan_text(items: Any, code: Any) -> str | None:
    for item in _list(items):
        if isinstance(item, Mapping) and item.get("code") == code:
            text = item.get("text") or item.get("message")
            return str(text) if text else None
    return None


def _warnings(
    document: Mapping[str, Any], summary: Mapping[str, Any], allow_unverified: bool
) -> tuple[str, ...]:
    plan = _map(document.get("plan"))
    out: list[str] = []
    for w in _list(summary.get("warnings")):
        if not isinstance(w, Mapping):
            continue
        kind = w.get("kind")
        if kind == "converted_input":
            out.append(
                f"Converted input: {_conversion(str(w.get('conversion')))}, used by "
                f"{_instrument_name(document, w.get('instrument'))}."
            )
        elif kind == "input_discrepancy":
            text = _plan_text(plan.get("input_warnings"), w.get("code"))
            fields = ", ".join(field_label(str(f)) for f in _list(w.get("fields")))
            out.append(
                f"Inputs disagree ({fields}): {text}" if text else f"Inputs disagree: {fields}."
            )
        elif kind == "plan_warning":
            text = _plan_text(plan.get("warnings"), w.get("code"))
            out.append(text or code_label(str(w.get("code"))))
    # plan warnings written as plain sentences (mescc.summary keeps only coded ones)
    out += [w for w in _list(plan.get("warnings")) if isinstance(w, str) and w not in out]
    instruments = _map(document.get("instruments"))
    deciding = _list(_map(summary.get("prognosis")).get("deciding_instruments"))
    weak = [
        _instrument_name(document, i)
        for i in deciding
        if str(_map(instruments.get(str(i))).get("verification")) in _UNVERIFIED
    ]
    if weak:
        out.append("Unverified source behind the prognosis: " + ", ".join(weak) + ".")
    if allow_unverified:
        out.append("Unverified instruments were allowed to influence the ranking (user's choice).")
    return tuple(out)


def summary_of(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """The document's board summary (rebuilt for a document stored before it existed)."""
    summary = document.get("summary")
    return summary if isinstance(summary, Mapping) else board_summary(document)


def board(document: Mapping[str, Any], *, allow_unverified: bool = False) -> Board:
    """The board summary of ``document`` in words (see the module docstring)."""
    s = summary_of(document)
    prognosis = _map(s.get("prognosis"))
    rec = _recommendation(_map(s.get("recommendation")), prognosis)
    surgery = _map(s.get("surgery"))
    lines = [
        _prognosis(
            document,
            prognosis,
            any(
                isinstance(w, Mapping) and w.get("kind") == "converted_input"
                for w in _list(s.get("warnings"))
            ),
        ),
        _surgery("decompression", _map(surgery.get("decompression"))),
        _surgery("stabilisation", _map(surgery.get("stabilisation"))),
        _steroids(
            _map(s.get("corticosteroids")),
            _map(_map(document.get("plan")).get("corticosteroids")).get("contraindication_note"),
        ),
        _bone(_map(s.get("bone_modifying_agents"))),
    ]
    sbrt = _map(s.get("stereotactic_radiotherapy"))
    if sbrt.get("discuss"):
        plan_sbrt = _map(_map(document.get("plan")).get("stereotactic_radiotherapy"))
        labels = [
            str(o.get("label") or code_label(str(o.get("id"))))
            for o in _list(plan_sbrt.get("options"))
            if isinstance(o, Mapping)
        ]
        lines.append(
            Line("sbrt", "Stereotactic RT", "Worth discussing: " + "; ".join(labels) + ".")
        )
    lines.append(_reirradiation(document, s.get("reirradiation")))
    timing = _map(s.get("timing"))
    if timing.get("applies") and timing.get("hours") is not None:
        lines.append(
            Line(
                "timing",
                "Timing",
                f"Start within {_num(timing['hours'])} hours of the "
                f"{timing.get('reference_point') or 'decision to treat'}.",
                (str(timing["source"]),) if timing.get("source") else (),
            )
        )
    unknowns, more = _unknowns(_list(s.get("decisive_unknowns")))
    return Board(
        lines=tuple(lines),
        unknowns=unknowns,
        more_unknowns=more,
        warnings=_warnings(document, s, allow_unverified),
        **rec,
    )


def patient_options(document: Mapping[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    """(recommended regimen, at most two alternatives) for the patient summary; (None, ())
    when the plan suggests no regimen (no alternative is named without a ranking claim)."""
    rec = _map(summary_of(document).get("recommendation"))
    if rec.get("kind") != "radiotherapy":
        return None, ()
    alternatives = tuple(
        str(a.get("regimen"))
        for a in _list(rec.get("alternatives"))[:2]
        if isinstance(a, Mapping) and a.get("regimen")
    )
    return str(rec.get("label")), alternatives
