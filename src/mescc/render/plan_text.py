"""The treatment plan as rich renderables, for the clinician's text summary.

Renders the contract's ``plan`` object (never the Python objects), plan first: the recommended
regimen with the reasons it is ranked first, the alternatives, upfront surgery, supportive
care, re-irradiation, the decisive unknowns and the warnings; then a short prognosis summary
(``prognosis_renderables``). Every line carries its citation keys (evidence ids in brackets,
resolvable in ``kb/evidence/sources.yaml`` or the instrument files) and its verification label.

This module translates and presents; it never branches on a clinical value to decide anything
(every decision is already in the plan object). Wording is the plan's: decision support
("consider", "supported by", "ranked first because"), never an order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

_VERIFICATION = {
    "primary": "primary",
    "secondary": "secondary",
    "site-supplied": "site-supplied",
    "site-derived": "SITE-DERIVED",
    "unverified": "UNVERIFIED",
    "computed": "COMPUTED",
    "project_decision": "project decision",
}


#: Reasons that explain the order or its uncertainty rather than the regimen itself.
_CONTEXT_CODES = frozenset(
    {
        "ranked_first",
        "priority_reorders_supported",
        "order_note",
        "prognosis_uncertain",
        "ranking_rests_on_unverified",
        "end_of_life_score",
        "end_of_life_score_not_computable",
    }
)


def _keys(ids: Iterable[str]) -> str:
    ids = list(ids)
    return f" [dim]\\[{escape(', '.join(ids))}][/dim]" if ids else ""


def _label(verification: str | None) -> str:
    if not verification:
        return ""
    text = _VERIFICATION.get(verification, verification)
    style = "yellow" if verification == "unverified" else "dim"
    return f" [{style}]({escape(text)})[/{style}]"


def reason_line(reason: Mapping[str, Any], bullet: str = "-") -> Text:
    """One reason: its sentence, citation keys and verification label."""
    return Text.from_markup(
        f"  {bullet} {escape(reason['text'])}"
        + _keys(reason.get("evidence") or ())
        + _label(reason.get("verification"))
    )


def _reasons(reasons: Sequence[Mapping[str, Any]], skip: Iterable[str] = ()) -> list[Text]:
    skipped = set(skip)
    return [reason_line(r) for r in reasons if r["code"] not in skipped]


def _num(value: Any) -> str:
    return (
        "?" if value is None else (f"{value:g}" if isinstance(value, int | float) else str(value))
    )


def _dose(option: Mapping[str, Any]) -> str:
    return f"BED10 {option['bed_gy10']:g} Gy, EQD2(10) {option['eqd2_gy10']:g} Gy (COMPUTED)"


def _visits(option: Mapping[str, Any]) -> str:
    n = option["visits"]
    time = f", {option['overall_time']}" if option.get("overall_time") else ""
    return f"{n} visit{'s' if n != 1 else ''}{time}"


def _prognosis_line(plan: Mapping[str, Any]) -> Text:
    p = plan["prognosis"]
    if p["class"] is None:
        return Text.from_markup("[bold]Survival prognosis:[/bold] not classified (see below)")
    near = " - death within 2 months predicted" if p["near_end_of_life"]["predicted"] else ""
    c = p.get("consensus")
    if c:
        basis = (
            f"consensus: {c['agreeing']} of {c['voting']} instruments give {c['instruments_class']}"
        )
        if c.get("lowered_by"):
            basis += f"; lowered by incomplete {', '.join(c['lowered_by'])}"
        floor = c.get("histology_floor")
        if floor and floor.get("raised"):
            basis += f"; raised to {floor['class']} by the tumour-specific evidence"
        return Text.from_markup(
            f"[bold]Survival prognosis:[/bold] {escape(p['class'])} ({escape(basis)}){near}"
            + _keys(p.get("deciding_instruments") or ())
            + _label("project_decision")
        )
    src = p["source_instrument"]
    name = p.get("source_name") or src
    return Text.from_markup(
        f"[bold]Survival prognosis:[/bold] {escape(p['class'])} "
        f"(from {escape(str(name))}, group {escape(str(p['source_group']))}){near}"
        + _keys([src] if src else [])
        + _label(p.get("source_verification"))
    )


def recommendation_renderables(plan: Mapping[str, Any]) -> list[RenderableType]:
    """The recommended regimen (or the options without a ranking claim) and why."""
    options = plan["radiotherapy"]
    out: list[RenderableType] = [_prognosis_line(plan)]
    first = options[0] if options else None
    lead = plan.get("recommended_option") or {}
    if lead.get("kind") == "other_option":
        other = next((o for o in plan.get("other_options") or () if o["id"] == lead["id"]), None)
        body: list[RenderableType] = [
            Text.from_markup(f"[bold green]{escape(lead['label'])} leads[/bold green]")
        ]
        if other is not None:
            body.append(
                Text.from_markup(
                    "  - " + escape(" ".join(other["rationale"].split())) + _keys(other["evidence"])
                )
            )
        if first is not None and first["supported"]:
            body.append(
                Text.from_markup(
                    f"  If radiotherapy is given, at most: [bold]{escape(first['regimen'])}"
                    f"[/bold] ({_visits(first)}; {_dose(first)})"
                )
            )
            body.extend(_reasons(first["rationale"]))
        out.append(Panel(Group(*body), title="What leads", title_align="left"))
        return out
    if plan["recommended_regimen"] and first is not None:
        head = Text.from_markup(
            f"[bold green]Consider {escape(first['regimen'])}[/bold green] "
            f"({_visits(first)}; {_dose(first)})"
        )
        body = [head, *_reasons(first["rationale"])]
        out.append(Panel(Group(*body), title="Radiotherapy: ranked first", title_align="left"))
    elif not plan["ranking_claim"]:
        names = ", ".join(o["regimen"] for o in options if o["supported"])
        body = [
            Text.from_markup(
                "[bold yellow]No ranking claim[/bold yellow]: survival prognosis could not be "
                f"estimated. Options supported by the evidence for this situation: {escape(names)}."
            ),
            *_reasons(plan["prognosis"]["reasons"]),
        ]
        out.append(Panel(Group(*body), title="Radiotherapy", title_align="left"))
    else:
        body = [
            Text.from_markup(
                "[bold red]No regimen is within the re-irradiation limits[/bold red]: no "
                "radiotherapy course is suggested; the decision needs a specialist review of "
                "the actual cord dose (see re-irradiation)."
            )
        ]
        r = plan.get("reirradiation") or {}
        body.extend(
            _reasons(
                [
                    x
                    for x in r.get("reasons") or ()
                    if x["code"]
                    in ("reirradiation_earlier_courses_exceed", "reirradiation_no_regimen_within")
                ]
            )
        )
        out.append(Panel(Group(*body), title="Radiotherapy", title_align="left"))
    for other in plan.get("other_options") or ():
        out.append(
            Text.from_markup(
                f"  Also consider: [bold]{escape(other['label'])}[/bold] - "
                f"{escape(' '.join(other['rationale'].split()))}" + _keys(other["evidence"])
            )
        )
    return out


def _why(option: Mapping[str, Any]) -> Mapping[str, Any] | None:
    rationale: Sequence[Mapping[str, Any]] = option["rationale"]
    for r in rationale:
        if r["code"] == "reirradiation_exceeds_limits":
            return r
    for r in rationale:
        if r["code"] not in _CONTEXT_CODES:
            return r
    return rationale[0] if rationale else None


def alternatives_renderables(plan: Mapping[str, Any]) -> list[RenderableType]:
    """Every other regimen: visits, COMPUTED doses, supported or not, and the main reason."""
    options = plan["radiotherapy"]
    rest = options[1:] if plan["recommended_regimen"] else options
    if not rest:
        return []
    lines: list[RenderableType] = []
    trials = [o for o in rest if o.get("trial_regimen") and not o["supported"]]
    for o in rest:
        if o in trials:
            continue
        why = _why(o)
        status = "[green]supported[/green]" if o["supported"] else "[red]not supported[/red]"
        if o.get("trial_regimen"):
            status += " (trial regimen)"
        lines.append(
            Text.from_markup(
                f"  [bold]{escape(o['regimen'])}[/bold] - {_visits(o)}; {_dose(o)} - {status}"
            )
        )
        if why is not None:
            lines.append(reason_line(why, bullet="   "))
    if trials:
        keys: list[str] = []
        for o in trials:
            why = _why(o)
            keys += [k for k in (why or {}).get("evidence", ()) if k not in keys]
        lines.append(
            Text.from_markup(
                "  [bold]Trial regimens[/bold] (not supported outside a trial or site protocol; "
                "reasons in the JSON output): "
                + escape(", ".join(o["regimen"] for o in trials))
                + _keys(keys)
            )
        )
    title = "Alternatives" if plan["recommended_regimen"] else "Options"
    return [Panel(Group(*lines), title=title, title_align="left")]


def _criterion_status(criterion: Mapping[str, Any]) -> str:
    """An inclusion criterion is met / not met; an exclusion is absent / present."""
    status = str(criterion["status"])
    if criterion.get("kind") == "exclusion":
        return {"met": "absent", "not_met": "present"}.get(status, status.replace("_", " "))
    return status.replace("_", " ")


def _question_head(q: Mapping[str, Any], name: str) -> str:
    if q["consider"]:
        return f"[bold green]{name}: consider a surgical opinion[/bold green]"
    if q["criteria_met"]:
        return f"[bold]{name}: not suggested[/bold], although criteria are met"
    return f"[bold]{name}: not suggested[/bold]"


def surgery_renderables(plan: Mapping[str, Any]) -> list[RenderableType]:
    """Surgery as two questions (decompression, stabilisation), the criteria and what is missing."""
    s = plan["surgery"]
    body: list[RenderableType] = []
    acc = s.get("surgery_acceptable")
    for key, name in (("decompression", "Decompression"), ("stabilisation", "Stabilisation")):
        q = s.get(key)
        if not q:
            continue
        body.append(Text.from_markup(_question_head(q, name)))
        body.extend(_reasons(q["reasons"]))
        factors = [c for c in q.get("criteria") or () if c.get("kind") == "review_factor"]
        if factors:
            body.append(
                Text(
                    "  Review factors without a verified cut-off: "
                    + "; ".join(
                        f"{c['label']}: {str(c['status']).replace('_', ' ')}" for c in factors
                    ),
                    style="dim",
                )
            )
        if q["missing"]:
            body.append(
                Text.from_markup(
                    "  [yellow]Missing (could change this):[/yellow] "
                    + escape(", ".join(q["missing"]))
                )
            )
    if acc is not None:
        body.append(Text(f"  Surgery acceptable to the patient: {'yes' if acc else 'no'}"))
    pe = s.get("patchell_eligibility") or {}
    if pe:
        crit = ", ".join(
            f"{c['id'].replace('_', ' ')}: {_criterion_status(c)}"
            for c in pe.get("criteria", ())
            if c["status"] != "not_recorded"
        )
        body.append(
            Text.from_markup(
                f"  Patchell 2005 screening: {escape(pe['status'].replace('_', ' '))} "
                f"({escape(crit)})" + _keys(["patchell_2005"]) + _label("secondary")
            )
        )
    st = plan.get("stereotactic_radiotherapy") or {}
    if st.get("discuss"):
        body.append(Text.from_markup("[bold]Stereotactic radiotherapy (option to discuss)[/bold]"))
        for o in st["options"]:
            body.append(Text.from_markup(f"  [bold]{escape(o['label'])}[/bold]"))
            body.append(reason_line(o["basis"], bullet="   -"))
        body.extend(_reasons(st["reasons"]))
    return [Panel(Group(*body), title="Surgery", title_align="left")]


def supportive_renderables(plan: Mapping[str, Any]) -> list[RenderableType]:
    """Corticosteroids and bone-modifying agents."""
    c = plan["corticosteroids"]
    b = plan["bone_modifying_agents"]
    if c["contraindication_recorded"]:
        steroid_head = "[bold]Corticosteroids: not suggested[/bold] (contraindication recorded)"
    elif c["suggest"]:
        dose = c["starting_dose"] or {}
        then = (
            f"then {dose['daily_dose_mg']:g} mg daily"
            if dose.get("daily_dose_mg")
            else escape(str(dose.get("timing") or ""))
        )
        steroid_head = (
            f"[bold green]Consider dexamethasone {dose.get('initial_dose_mg', 0):g} mg"
            f"[/bold green], {then} ({escape(str(dose.get('attribution')))})"
        )
    elif c["suggest"] is False:
        steroid_head = "[bold]Corticosteroids: not routinely suggested[/bold]"
    else:
        steroid_head = "[bold]Corticosteroids: undetermined[/bold]"
    body: list[RenderableType] = [Text.from_markup(steroid_head), *_reasons(c["reasons"])]
    body.append(
        Text.from_markup(
            f"  [dim]{escape(c['contraindication_policy'])} No taper schedule is shown "
            "(not verified).[/dim]"
        )
    )
    bone_head = (
        "[bold green]Consider a bone-modifying agent[/bold green]"
        if b["suggest"]
        else "[bold]Bone-modifying agents: not suggested[/bold]"
        + (" (contraindication recorded)" if b["contraindication_recorded"] else "")
    )
    body.extend([Text.from_markup(bone_head), *_reasons(b["reasons"])])
    return [Panel(Group(*body), title="Supportive care", title_align="left")]


def reirradiation_renderables(plan: Mapping[str, Any]) -> list[RenderableType]:
    """The re-irradiation check (only with earlier radiotherapy)."""
    r = plan.get("reirradiation")
    if not r:
        return []
    courses = "; ".join(
        f"{c['regimen']} {_num(c['months_before'])} months "
        f"ago ({c['technique'] or 'technique not recorded'}): cord BED {c['bed']:g} "
        f"Gy{c['alpha_beta']:g}"
        for c in r["courses"]
    )
    within = {True: "[green]within limits[/green]", False: "[red]not within limits[/red]"}.get(
        r["within_limits"], "[yellow]undetermined[/yellow]"
    )
    body: list[RenderableType] = [
        Text.from_markup(
            f"[bold]Rule set:[/bold] {escape(r['rule_set_label'])}"
            + _keys([r["source"]])
            + _label(r["verification"])
        ),
        Text(f"  Earlier course(s): {courses}; interval {_num(r['interval_months'])} months"),
        Text.from_markup(
            f"  For {escape(str(r['regimen']))}: cumulative {_num(r['cumulative_cord_bed'])} "
            f"{escape(r['unit'])} - {within}"
        ),
        Text("  Regimens within the limits: " + (", ".join(r["regimens_within_limits"]) or "none")),
        *_reasons(r["reasons"]),
    ]
    return [Panel(Group(*body), title="Re-irradiation", title_align="left")]


def unknowns_renderables(plan: Mapping[str, Any]) -> list[RenderableType]:
    """Missing inputs that could change the regimen or surgery (decisive ones listed first)."""
    decisive = [u for u in plan.get("decisive_unknowns") or () if u["could_change"]]
    quiet = [u["input"] for u in plan.get("decisive_unknowns") or () if not u["could_change"]]
    if not decisive and not quiet:
        return []
    lines: list[RenderableType] = []
    for u in decisive:
        lines.append(
            Text.from_markup(
                f"  [yellow]![/yellow] [bold]{escape(u['input'])}[/bold] could change "
                f"{escape(' and '.join(x.replace('_', ' ') for x in u['could_change']))}: "
                f"{escape(u['detail'])}"
            )
        )
    if quiet:
        lines.append(
            Text("  Missing but not decisive on their own: " + ", ".join(quiet), style="dim")
        )
    if plan.get("decisive_unknowns_scope"):
        lines.append(Text("  " + plan["decisive_unknowns_scope"], style="dim"))
    return [Panel(Group(*lines), title="Decisive unknowns", title_align="left")]


def prognosis_renderables(plan: Mapping[str, Any]) -> list[RenderableType]:
    """The survival prognosis: the leading instrument, the others beside it, the two-month score."""
    p = plan["prognosis"]
    body: list[RenderableType] = [_prognosis_line(plan), *_reasons(p["reasons"])]
    for o in p["others"]:
        group = o["group"] or ", ".join(o.get("possible_groups") or ()) or "-"
        body.append(
            Text.from_markup(
                f"  {escape(o['name'])}: group {escape(str(group))} -> "
                f"{escape(str(o['class'] or ' to '.join(o.get('possible_classes') or ()) or '-'))}"
                + _keys([o["instrument"]])
                + _label(o["verification"])
                + (f" [dim]{escape(o['note'])}[/dim]" if o.get("note") else "")
            )
        )
    return [Panel(Group(*body), title="Survival prognosis", title_align="left")]


def plan_renderables(plan: Mapping[str, Any]) -> list[RenderableType]:
    """The plan, in reading order, as rich renderables (plan first, then a prognosis summary)."""
    out: list[RenderableType] = [Text("Treatment plan (decision support)", style="bold underline")]
    shown = set()
    for d in plan.get("input_warnings") or ():
        out.append(
            Text.from_markup(f"[bold yellow]Check the record:[/bold yellow] {escape(d['text'])}")
        )
        shown.add(" ".join(d["text"].split()))
    out.extend(recommendation_renderables(plan))
    out.extend(alternatives_renderables(plan))
    out.extend(surgery_renderables(plan))
    out.extend(supportive_renderables(plan))
    out.extend(reirradiation_renderables(plan))
    timing = plan.get("timing")
    if timing and timing.get("applies", True):
        out.append(
            Text.from_markup(
                f"Timing: {escape(timing['statement'])}"
                + _keys([timing["source"]])
                + _label(timing["verification"])
            )
        )
    elif timing and timing.get("note"):
        out.append(Text.from_markup(f"Timing: {escape(timing['note'])}"))
    out.extend(unknowns_renderables(plan))
    for w in plan.get("warnings") or ():
        if w not in shown:
            out.append(Text.from_markup(f"[yellow]Warning:[/yellow] {escape(w)}"))
    out.extend(prognosis_renderables(plan))
    out.append(Text(plan.get("disclaimer", ""), style="dim italic"))
    return out
