"""CDS Hooks 2.0: discovery, the ``patient-view`` request and its card (translation only).

The card is built from the assessment document by :func:`card_content`, the one function that
reads the plan (so that the document's coming ``summary`` object can replace it in one place).
It reads the plan's decisions and never re-makes them: the summary is the plan's recommended
regimen when the plan makes a ranking claim; ``indicator`` is ``warning`` when the plan suggests
a surgical or stability opinion (``plan.surgery.consider``), else ``info``; the suggestion (a
``ServiceRequest`` proposal of the recommended course) exists only where the plan recommends a
regimen.

Spec facts used (CDS Hooks 2.0, VERIFIED in the interoperability reference and the spec text):
discovery ``{"services": [...]}`` with ``hook``, ``description``, ``id``, ``title``, ``prefetch``;
card ``summary`` (< 140 characters), ``indicator`` (info | warning | critical), ``source.label``
(required), ``detail`` (GitHub-flavoured Markdown), ``suggestions`` with ``selectionBehavior``,
``links`` (``absolute`` or ``smart``), ``uuid``; feedback ``card``, ``outcome``
(accepted | overridden), ``acceptedSuggestions``, ``overrideReason``, ``outcomeTimestamp``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mescc.adapters.fhir_server import prefetch_templates
from mescc.api.presentation import EMERGENCY_BANNER, verification_label
from mescc.summary import board_summary

SERVICE_ID = "mescc-rt-advisor"
HOOK = "patient-view"
SUMMARY_LIMIT = 140
SOURCE_LABEL = "mescc: MESCC radiotherapy decision support"
OVERRIDE_SYSTEM = "urn:mescc:codesystem:cds-override-reason"
OVERRIDE_REASONS = (
    ("record-data-incorrect", "The findings read from the record are wrong or incomplete"),
    ("clinical-judgement", "Clinical judgement: another option fits this patient better"),
    ("patient-preference", "The patient prefers another option"),
)


# --------------------------------------------------------------------------- spec models


class _Spec(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class FhirAuthorization(_Spec):
    access_token: str = Field(min_length=1)
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    subject: str


class HookRequest(_Spec):
    """A CDS Hooks 2.0 service call."""

    hook: str
    hookInstance: str = Field(min_length=1)
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None


class Coding(_Spec):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class OverrideReason(_Spec):
    reason: Coding | None = None
    userComment: str | None = None


class AcceptedSuggestion(_Spec):
    id: str


class FeedbackItem(_Spec):
    card: str = Field(min_length=1)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: str = Field(min_length=1)


class FeedbackRequest(_Spec):
    feedback: list[FeedbackItem] = Field(min_length=1)


def discovery() -> dict[str, Any]:
    """The discovery document (``GET {base}/cds-services``)."""
    return {
        "services": [
            {
                "hook": HOOK,
                "id": SERVICE_ID,
                "title": "MESCC radiotherapy advisor",
                "description": (
                    "Decision support for radiotherapy of malignant epidural spinal cord "
                    "compression: every published prognostic and classification instrument "
                    "computable from the record, a ranked and explained radiotherapy plan, "
                    "and whether a surgical or stability opinion is suggested, each with its "
                    "basis, source and verification level. For healthcare professionals."
                ),
                "prefetch": prefetch_templates(),
            }
        ]
    }


# --------------------------------------------------------------------------- the card


@dataclass(frozen=True, slots=True)
class CardContent:
    summary: str
    indicator: Literal["info", "warning", "critical"]
    detail: str


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|~])")


def md(value: Any) -> str:
    """Text for GitHub-flavoured Markdown: special characters escaped, one line."""
    text = " ".join(str(value).split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def _label(level: Any) -> str:
    if level == "project_decision":
        return "project decision"
    return verification_label(level)


def _summary(text: str) -> str:
    if len(text) < SUMMARY_LIMIT:
        return text
    cut = text[: SUMMARY_LIMIT - 2].rsplit(" ", 1)[0]
    return cut + " …"


def card_content(document: Mapping[str, Any]) -> CardContent:
    """Summary, indicator and Markdown detail of the card, read from the assessment document.

    The one place that reads the plan for the card. Decisions are the plan's: the regimen is
    named only when ``plan.ranking_claim`` holds and ``plan.recommended_regimen`` is set; the
    indicator is ``warning`` exactly when ``plan.surgery.consider``.
    """
    plan: Mapping[str, Any] = document.get("plan") or {}
    surgery: Mapping[str, Any] = plan.get("surgery") or {}
    consider_surgery = surgery.get("consider") is True
    regimen = plan.get("recommended_regimen") if plan.get("ranking_claim") else None
    prognosis: Mapping[str, Any] = plan.get("prognosis") or {}
    klass = prognosis.get("class")
    option: Mapping[str, Any] = plan.get("recommended_option") or {}
    if regimen:
        head = f"Consider {regimen} radiotherapy for MESCC"
        head += f" (survival prognosis: {str(klass).replace('_', ' ')})" if klass else ""
    elif option.get("kind") == "other_option":
        head = f"MESCC: {option.get('label')} leads (death within 2 months predicted)"
    elif plan.get("ranking_claim") and plan.get("reirradiation"):
        head = "MESCC: no regimen within the re-irradiation limits (specialist review)"
    else:
        head = "MESCC: no radiotherapy regimen is ranked for this patient (see why)"
    opinions = [
        name
        for name in ("decompression", "stability")
        if ((surgery.get("stabilisation" if name == "stability" else name) or {}).get("consider"))
        is True
    ]
    if opinions:
        head += f"; {' and '.join(opinions)} opinion suggested"
    elif consider_surgery:
        head += "; surgical opinion suggested"
    lines: list[str] = [f"**{md(EMERGENCY_BANNER)}**", ""]
    summary = document.get("summary") or board_summary(document)
    named = [
        a.get("regimen") for a in (summary.get("recommendation") or {}).get("alternatives") or []
    ]
    lines += _plan_lines(plan, regimen, surgery, prognosis, named)
    lines += _instrument_lines(document)
    lines += _input_lines(document)
    lines += _unknown_lines(plan)
    lines.append("")
    lines.append(
        f"Knowledge base {md(document.get('knowledge_base_version'))}, mescc "
        f"{md(document.get('software_version'))}. {md(document.get('disclaimer') or '')}"
    )
    return CardContent(
        summary=_summary(head),
        indicator="warning" if consider_surgery else "info",
        detail="\n".join(lines).strip() + "\n",
    )


def _reason(reason: Any) -> str:
    if not isinstance(reason, Mapping):
        return md(reason)
    evidence = ", ".join(str(e) for e in reason.get("evidence") or [])
    tail = f" \\[{md(evidence)}\\]" if evidence else ""
    return f"{md(reason.get('text', ''))}{tail} ({md(_label(reason.get('verification')))})"


def _plan_lines(
    plan: Mapping[str, Any],
    regimen: Any,
    surgery: Mapping[str, Any],
    prognosis: Mapping[str, Any],
    named: Sequence[Any],
) -> list[str]:
    """The plan part of the card; ``named``: the alternatives the board summary names."""
    lines: list[str] = []
    options = [o for o in plan.get("radiotherapy") or [] if isinstance(o, Mapping)]
    chosen = next((o for o in options if o.get("regimen") == regimen), None)
    option: Mapping[str, Any] = plan.get("recommended_option") or {}
    if chosen is not None:
        lines.append(f"**Suggested radiotherapy: {md(regimen)}**")
        lines += [f"- {_reason(r)}" for r in chosen.get("rationale") or []]
    elif option.get("kind") == "other_option":
        first = next((o for o in options if o.get("supported")), None)
        lines.append(f"**{md(option.get('label'))} leads.**")
        if first is not None:
            lines.append(f"If radiotherapy is given, at most: {md(first.get('regimen'))}.")
            lines += [f"- {_reason(r)}" for r in first.get("rationale") or []]
        chosen = first
    elif plan.get("ranking_claim") and plan.get("reirradiation"):
        lines.append(
            "**No regimen is within the re-irradiation limits.** No course is suggested; the "
            "decision needs a specialist review of the cord dose."
        )
    else:
        lines.append("**No regimen is ranked first.** The options below carry no ranking claim.")
    others = [o for o in options if o is not chosen]
    # with a ranking claim, the alternatives the board summary names (mescc.summary: at most
    # two supported ones); without one, every option (none is preferred)
    shown = (
        [o for o in others if o.get("regimen") in named] if plan.get("ranking_claim") else others
    )
    rest = len(others) - len(shown)
    if others:
        lines.append("")
        listed = "; ".join(
            f"{md(o.get('regimen'))} ({'supported' if o.get('supported') else 'not supported'})"
            for o in shown
        )
        plural = "s" if rest != 1 else ""
        more = f"{rest} further option{plural} in the full assessment" if rest else ""
        lines.append("**Other options:** " + "; ".join(t for t in (listed, more) if t))
    lines.append("")
    source = prognosis.get("source_name")
    klass = prognosis.get("class")
    if klass:
        lines.append(
            f"**Survival prognosis:** {md(str(klass).replace('_', ' '))}"
            + (
                f", from {md(source)} group {md(prognosis.get('source_group'))} "
                f"({md(_label(prognosis.get('source_verification')))})"
                if source
                else ""
            )
        )
    else:
        lines.append("**Survival prognosis:** not estimated.")
    if prognosis.get("disagreement"):
        lines.append(f"- {md(prognosis['disagreement'])}")
    lines.append("")
    verdict = (
        "a surgical / spinal stability opinion is suggested"
        if surgery.get("consider") is True
        else "no surgical indication recorded"
    )
    lines.append(f"**Surgery:** {verdict}")
    lines += [f"- {_reason(r)}" for r in (surgery.get("reasons") or [])[:4]]
    warnings = [w for w in plan.get("warnings") or []]
    if warnings:
        lines.append("")
        lines.append("**Warnings**")
        lines += [f"- {md(w if isinstance(w, str) else w.get('text', w))}" for w in warnings]
    lines.append("")
    return lines


def _instrument_lines(document: Mapping[str, Any]) -> list[str]:
    rows = []
    for iid, r in (document.get("instruments") or {}).items():
        if not isinstance(r, Mapping) or r.get("status") != "computed":
            continue
        result = ", ".join(
            p
            for p in (
                f"{r.get('points')} points" if r.get("points") is not None else "",
                f"group {r.get('group')}" if r.get("group") is not None else "",
            )
            if p
        )
        rows.append(
            f"| {md(r.get('name') or iid)} | {md(result)} | {md(_label(r.get('verification')))} |"
        )
    if not rows:
        return ["**Instruments:** none computable from the available findings.", ""]
    return [
        "**Instruments computed**",
        "",
        "| instrument | result | verification |",
        "|---|---|---|",
        *rows,
        "",
    ]


def _input_lines(document: Mapping[str, Any]) -> list[str]:
    provenance = document.get("input_provenance")
    if not isinstance(provenance, Mapping):
        return ["**Inputs:** entered by hand (not read from the record).", ""]
    lines = [
        f"**Inputs read from the record** (reference time {md(provenance.get('reference_time'))};"
        f" current findings older than {md(provenance.get('freshness_max_age_days'))} days are "
        "not used)",
        "",
        "| input | value | resource | effective |",
        "|---|---|---|---|",
    ]
    inputs: Mapping[str, Any] = provenance.get("inputs") or {}
    for key, source in inputs.items():
        if not isinstance(source, Mapping):
            continue
        value = source.get("value")
        shown = (
            f"{value.get('fractions')} x {value.get('dose_per_fraction_gy')} Gy"
            if isinstance(value, Mapping)
            else value
        )
        lines.append(
            f"| {md(key)} | {md(shown)} | {md(source.get('resource'))} | "
            f"{md(source.get('effective') or '-')} |"
        )
    issues: Sequence[Any] = provenance.get("issues") or []
    lines.append("")
    if issues:
        lines.append("**Not used as given from the record**")
        lines += [
            f"- {md(i.get('kind'))}: {md(i.get('message'))}"
            for i in issues
            if isinstance(i, Mapping)
        ]
        lines.append("")
    return lines


def _unknown_lines(plan: Mapping[str, Any]) -> list[str]:
    deciding = [
        d
        for d in plan.get("decisive_unknowns") or []
        if isinstance(d, Mapping) and d.get("could_change")
    ]
    if not deciding:
        return []
    return [
        "**Missing inputs that could change the plan:** "
        + ", ".join(md(d.get("input")) for d in deciding),
    ]


def card(
    document: Mapping[str, Any],
    *,
    card_uuid: str,
    assessment_url: str,
    source_url: str,
    patient_id: str,
    suggestion_uuid: str,
    authored_on: str,
) -> dict[str, Any]:
    """The card of one assessment (spec-required fields always present)."""
    from mescc.adapters.fhir_out import proposed_course, validate_resource

    content = card_content(document)
    out: dict[str, Any] = {
        "uuid": card_uuid,
        "summary": content.summary,
        "indicator": content.indicator,
        "detail": content.detail,
        "source": {"label": SOURCE_LABEL, "url": source_url},
        "links": [
            {"label": "Full MESCC assessment in mescc", "url": assessment_url, "type": "absolute"}
        ],
        "overrideReasons": [
            {"system": OVERRIDE_SYSTEM, "code": code, "display": display}
            for code, display in OVERRIDE_REASONS
        ],
    }
    plan: Mapping[str, Any] = document.get("plan") or {}
    course = proposed_course(
        plan,
        patient_ref=f"Patient/{patient_id}",
        when=authored_on,
        resource_id=suggestion_uuid,
    )
    if course is not None:
        validate_resource(course)
        out["suggestions"] = [
            {
                "label": f"Propose {plan.get('recommended_regimen')} (draft for review)",
                "uuid": suggestion_uuid,
                "isRecommended": True,
                "actions": [
                    {
                        "type": "create",
                        "description": (
                            "Create a draft ServiceRequest (intent proposal) for the "
                            "radiotherapy course, for a clinician to review"
                        ),
                        "resource": course,
                    }
                ],
            }
        ]
        out["selectionBehavior"] = "at-most-one"
    return out
