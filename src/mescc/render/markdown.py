"""The assessment as Markdown, for pasting into the medical record (issue 10).

Headings and bullet lists only: no box-drawing characters, no tables. ``summary`` detail is the
board summary (the same statements as the terminal, ``summary_text.summary_sections``);
``full`` adds every section of the plan with its reasons and citations, the prognosis and every
instrument. Like the terminal report, it decides nothing and reads the document only; every
string has its hidden characters made visible and Markdown's special characters escaped, so a
patient reference cannot turn into a link or a heading.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mescc.render.labels import field_label, plan_value_label
from mescc.render.summary_text import (
    BANNER,
    footer,
    short_citation,
    summary_sections,
    title,
)
from mescc.text_safety import neutralise_document

#: Characters Markdown reads inside a line (emphasis, code, links, HTML); statements never
#: start a line (each follows "- " or a heading mark), so block markers need no escape.
_SPECIAL = re.compile(r"([\\`*_\[\]<])")
_VERIFICATION = {
    "primary": "primary source",
    "secondary": "secondary sources only",
    "site-supplied": "site-supplied points",
    "site-derived": "SITE-DERIVED points (this site's registry, not the published table)",
    "unverified": "UNVERIFIED",
    "computed": "computed",
    "project_decision": "project decision",
}


def md(text: Any) -> str:
    """``text`` with Markdown's special characters escaped (on one line)."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else []


def summary_markdown(doc: Mapping[str, Any]) -> list[str]:
    """The board summary as Markdown lines."""
    out = [f"## {md(title(doc))}", "", f"> {md(BANNER)}", ""]
    derived = _map(doc.get("site_derived")).get("statement")
    if derived:
        out += [f"**{md(derived)}**", ""]
    for section in summary_sections(doc):
        out.append(f"### {md(section.title)}")
        out.append("")
        for line in section.lines:
            basis = f" ({md(line.basis)})" if line.basis else ""
            text = f"**{md(line.text)}**" if line.tone == "suggest" else md(line.text)
            out.append(f"- {text}{basis}")
        out.append("")
    out += [f"_{md(footer(doc))}_", ""]
    return out


def _cites(reason: Mapping[str, Any]) -> str:
    cites = [short_citation(str(c)) for c in _list(reason.get("citation"))]
    verification = reason.get("verification")
    parts = list(dict.fromkeys(cites))
    if verification:
        parts.append(_VERIFICATION.get(str(verification), str(verification)))
    return f" ({md('; '.join(parts))})" if parts else ""


def _reasons(reasons: Iterable[Any], indent: str = "") -> list[str]:
    return [
        f"{indent}- {md(r.get('text'))}{_cites(r)}"
        for r in reasons
        if isinstance(r, Mapping) and r.get("text")
    ]


def _radiotherapy(plan: Mapping[str, Any]) -> list[str]:
    out = ["### Radiotherapy options", ""]
    for o in _list(plan.get("radiotherapy")):
        if not isinstance(o, Mapping):
            continue
        status = "supported" if o.get("supported") else "not supported"
        if o.get("trial_regimen"):
            status += " (trial regimen)"
        visits = o.get("visits")
        out.append(
            f"- **{md(o.get('regimen'))}**: {md(visits)} visit{'' if visits == 1 else 's'}; BED10 "
            f"{md(o.get('bed_gy10'))} Gy, EQD2 {md(o.get('eqd2_gy10'))} Gy (computed); {status}"
        )
        out += _reasons(_list(o.get("rationale")), "  ")
    for other in _list(plan.get("other_options")):
        if isinstance(other, Mapping):
            out.append(f"- **{md(other.get('label'))}**: {md(other.get('rationale'))}")
    return [*out, ""]


def _criterion(c: Mapping[str, Any]) -> str:
    kind = "exclusion_status" if c.get("kind") == "exclusion" else "criterion_status"
    return f"{md(c.get('label'))}: {md(plan_value_label(kind, c.get('status')))}"


def _surgery(plan: Mapping[str, Any]) -> list[str]:
    out = ["### Surgery", ""]
    s = _map(plan.get("surgery"))
    for key, name in (("decompression", "Decompression"), ("stabilisation", "Stabilisation")):
        q = _map(s.get(key))
        if not q:
            continue
        head = "consider a surgical opinion" if q.get("consider") else "not suggested"
        out.append(f"- **{name}**: {head}")
        out += _reasons(_list(q.get("reasons")), "  ")
        crit = [_criterion(c) for c in _list(q.get("criteria")) if isinstance(c, Mapping)]
        if crit:
            out.append(f"  - Criteria: {'; '.join(crit)}")
        if _list(q.get("missing")):
            missing = ", ".join(md(field_label(str(m))) for m in q["missing"])
            out.append(f"  - Missing (could change this): {missing}")
    st = _map(plan.get("stereotactic_radiotherapy"))
    if st.get("discuss"):
        out.append("- **Stereotactic radiotherapy** (option to discuss)")
        for o in _list(st.get("options")):
            if isinstance(o, Mapping):
                out.append(f"  - {md(o.get('label'))}")
        out += _reasons(_list(st.get("reasons")), "  ")
    return [*out, ""]


def _supportive(plan: Mapping[str, Any]) -> list[str]:
    c = _map(plan.get("corticosteroids"))
    b = _map(plan.get("bone_modifying_agents"))
    out = ["### Supportive care", "", "- **Corticosteroids**"]
    out += _reasons(_list(c.get("reasons")), "  ")
    if c.get("contraindication_policy"):
        out.append(f"  - {md(c['contraindication_policy'])}")
    out.append("- **Bone-modifying agents**")
    out += _reasons(_list(b.get("reasons")), "  ")
    return [*out, ""]


def _reirradiation(plan: Mapping[str, Any]) -> list[str]:
    r = _map(plan.get("reirradiation"))
    if not r:
        return []
    within = ", ".join(md(x) for x in _list(r.get("regimens_within_limits"))) or "none"
    out = [
        "### Re-irradiation",
        "",
        f"- Rule set: {md(r.get('rule_set_label'))} ({md(short_citation(str(r.get('citation'))))})",
        f"- Regimens within the limits: {within}",
    ]
    out += _reasons(_list(r.get("reasons")))
    return [*out, ""]


def _unknowns_and_warnings(plan: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    timing = _map(plan.get("timing"))
    if timing:
        text = timing.get("statement") if timing.get("applies", True) else timing.get("note")
        if text:
            out += ["### Timing", "", f"- {md(text)}", ""]
    unknowns = [u for u in _list(plan.get("decisive_unknowns")) if isinstance(u, Mapping)]
    if unknowns:
        out += ["### Decisive unknowns", ""]
        for u in unknowns:
            keys = [k.strip() for k in str(u.get("input")).split(",") if k.strip()]
            names = ", ".join(md(field_label(k)) for k in keys)
            changes = [plan_value_label("could_change", c) for c in _list(u.get("could_change"))]
            if changes:
                out.append(
                    f"- {names} could change {md(' and '.join(changes))}: {md(u.get('detail'))}"
                )
            else:
                out.append(f"- {names}: missing, not decisive on its own")
        out.append("")
    notes = [
        *(d.get("text") for d in _list(plan.get("input_warnings")) if isinstance(d, Mapping)),
        *(w for w in _list(plan.get("warnings")) if isinstance(w, str)),
    ]
    if notes:
        out += ["### Warnings", "", *(f"- {md(n)}" for n in dict.fromkeys(notes)), ""]
    return out


def _prognosis(plan: Mapping[str, Any]) -> list[str]:
    p = _map(plan.get("prognosis"))
    out = ["### Survival prognosis", ""]
    out.append(f"- Class: {md(plan_value_label('prognosis_class', p.get('class')))}")
    out += _reasons(_list(p.get("reasons")))
    for o in _list(p.get("others")):
        if isinstance(o, Mapping):
            group = o.get("group") or ", ".join(_list(o.get("possible_groups"))) or "none"
            cls = o.get("class") or " to ".join(_list(o.get("possible_classes"))) or "none"
            out.append(
                f"- {md(o.get('name'))}: group {md(group)}, "
                f"{md(plan_value_label('prognosis_class', cls))}"
            )
    return [*out, ""]


def _instruments(doc: Mapping[str, Any]) -> list[str]:
    out = ["### Instruments", ""]
    skipped: list[str] = []
    for r in _map(doc.get("instruments")).values():
        if not isinstance(r, Mapping):
            continue
        name = md(r.get("name"))
        ver = _VERIFICATION.get(str(r.get("verification")), str(r.get("verification")))
        cite = md(short_citation(str(r.get("citation") or "")))
        if r.get("status") == "computed":
            pts = "" if r.get("points") is None else f"{r['points']} points, "
            out.append(f"- **{name}**: {pts}group {md(r.get('group'))} ({md(ver)}; {cite})")
        elif r.get("status") == "not_computable" and r.get("reason") != "points table not supplied":
            reason = str(r.get("reason"))
            if reason.startswith("missing "):
                keys = reason.removeprefix("missing ").split(", ")
                reason = "missing " + ", ".join(field_label(k) for k in keys)
            out.append(f"- **{name}**: not computable: {md(reason)} ({md(ver)}; {cite})")
        else:
            skipped.append(name)
    if skipped:
        out.append(f"- Not applicable or no points table supplied: {', '.join(skipped)}")
    provenance = _map(doc.get("input_provenance"))
    if provenance:
        from mescc.render.provenance_text import provenance_lines

        out += ["", "### Inputs read from FHIR", ""]
        for line in provenance_lines(doc):
            plain = getattr(line, "plain", "")
            if plain:
                out.append(f"- {md(plain)}")
    return [*out, ""]


def full_markdown(doc: Mapping[str, Any]) -> list[str]:
    """Everything of the plan and the instruments, after the board summary."""
    plan = _map(doc.get("plan"))
    out = summary_markdown(doc)
    out += ["## Full report", ""]
    if plan:
        out += _radiotherapy(plan) + _surgery(plan) + _supportive(plan) + _reirradiation(plan)
        out += _unknowns_and_warnings(plan) + _prognosis(plan)
    out += _instruments(doc)
    out += [f"_{md(doc.get('disclaimer', ''))}_", ""]
    return out


def render_markdown(document: Mapping[str, Any], detail: str = "summary") -> str:
    """The document as Markdown at ``detail`` (``summary`` or ``full``)."""
    doc = neutralise_document(dict(document))
    lines = full_markdown(doc) if detail == "full" else summary_markdown(doc)
    return "\n".join(lines).rstrip("\n") + "\n"
