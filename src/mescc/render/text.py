"""The clinician's text summary of an assessment (rich).

Plan first (recommended regimen, alternatives, surgery, supportive care), then prognosis and
every instrument with its points, group, verification level and citation; missing inputs and
what they could change are said, never hidden. Renders the contract's JSON document, so the
text and the JSON can never disagree.

Every string of the document has its control, bidi and invisible formatting characters made
visible (``mescc.text_safety.neutralise_document``) before anything is printed: an ANSI escape
in a patient id or a U+202E in a note cannot recolour the terminal or reverse the sentence
printed after it.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console, RenderableType
from rich.panel import Panel
from rich.text import Text

from mescc.text_safety import neutralise_document

BANNER = "MESCC is an emergency. Do not delay MRI, steroids or referral for this software."

_STATUS_STYLE = {"computed": "green", "not_computable": "yellow", "not_applicable": "dim"}
_VERIFICATION_TEXT = {
    "primary": "primary source",
    "secondary": "secondary sources only",
    "site-supplied": "site-supplied points",
    "site-derived": "SITE-DERIVED points (this site's registry, not the published table)",
    "unverified": "UNVERIFIED",
}


def _estimate_text(r: dict[str, Any]) -> str:
    est = r.get("estimate_source") or r.get("estimate")
    if not est:
        return ""
    value = est.get("value")
    pct = f"{value * 100:.0f}%" if isinstance(value, int | float) else str(value)
    cohort = f", {est['cohort']} cohort" if est.get("cohort") else ""
    return f"{est.get('outcome', '').replace('_', ' ')} {pct}{cohort}"


def citation_key(citation: str) -> str:
    """A short citation key: first author, journal year and the verified identifier."""
    ident = re.search(r"(DOI \S+?|PMID \d+|PMC\d+)\.?$", citation.strip())
    first = citation.split(",")[0].split(".")[0].strip()
    year = re.search(r"\b(19|20)\d\d\b", citation)
    parts = (
        [] if len(first) > 30 else [first + " et al." if "," in citation.split(".")[0] else first]
    )
    if year:
        parts.append(year.group(0))
    if ident:
        parts.append(ident.group(1))
    return ", ".join(parts)


def instrument_lines(doc: dict[str, Any]) -> list[RenderableType]:
    """Every instrument: computed ones with points, group, estimate, items and citation;
    not computable ones with the reason and what the gap could change; skeletons and
    instruments that do not apply summarised in one line each."""
    out: list[RenderableType] = [Text("Prognostic and classification instruments", style="bold")]
    skeletons: list[str] = []
    not_applicable: list[str] = []
    for iid, r in doc["instruments"].items():
        status = r["status"]
        ver = _VERIFICATION_TEXT.get(r["verification"], r["verification"])
        if status == "not_applicable":
            not_applicable.append(iid)
            continue
        if status == "not_computable" and r.get("reason") == "points table not supplied":
            skeletons.append(iid)
            continue
        name = r.get("name", iid)
        if status == "computed":
            n = r["points"]
            pts = "" if n is None else f"{n} point{'' if n == 1 else 's'}, "
            head = f"[green]\u2713[/green] [bold]{name}[/bold]: {pts}group {r['group']}"
            est = _estimate_text(r)
            if est:
                head += f" ({est})"
        else:
            head = f"[yellow]?[/yellow] [bold]{name}[/bold]: not computable - {r.get('reason')}"
            if r.get("possible_groups"):
                pp = r.get("possible_points")
                rng = f"totals {pp[0]}-{pp[1]}; " if pp else ""
                head += f" [{rng}possible groups {', '.join(r['possible_groups'])}]"
        lines = [head + f"  [dim]\\[{ver}][/dim]"]
        if r["items"]:
            parts = []
            for item in r["items"]:
                pts_i = "" if item["points"] is None else f" {item['points']}"
                conv = f" ({item['converted_from']})" if item.get("converted_from") else ""
                parts.append(f"{item['factor'].replace('_', ' ')}: {item['category']}{pts_i}{conv}")
            lines.append("    " + "; ".join(parts))
        if r.get("conflict"):
            lines.append(f"    [yellow]conflict: {r['conflict']}[/yellow]")
        for flag in r.get("flags") or []:
            lines.append(f"    [yellow]{flag}[/yellow]")
        lines.append(f"    [dim]source: {iid}, {citation_key(r['citation'])}[/dim]")
        out.append(Text.from_markup("\n".join(lines)))
    if skeletons:
        out.append(
            Text(
                "Points table not supplied (skeletons; a site may supply a verified table): "
                + ", ".join(skeletons),
                style="dim",
            )
        )
    if not_applicable:
        out.append(
            Text("Not applicable to this patient: " + ", ".join(not_applicable), style="dim")
        )
    return out


def render_text(doc: dict[str, Any], console: Console) -> None:
    """Print the assessment document for a clinician (hidden characters made visible)."""
    doc = neutralise_document(doc)
    console.print(Panel(Text(BANNER, style="bold"), style="red"))
    pid = doc.get("patient", {}).get("id")
    head = f"MESCC assessment{f' - patient {pid}' if pid else ''}"
    console.print(Text(head, style="bold"))
    derived = doc.get("site_derived")
    if derived:
        console.print(Text(derived["statement"], style="bold yellow"))
    plan = doc.get("plan")
    if plan is not None:
        from mescc.render.plan_text import plan_renderables

        for part in plan_renderables(plan):
            console.print(part)
    for part in instrument_lines(doc):
        console.print(part)
    from mescc.render.provenance_text import provenance_lines

    for part in provenance_lines(doc):
        console.print(part, markup=False, highlight=False)
    console.print(
        Text(
            f"Knowledge base {doc['knowledge_base_version']} - mescc {doc.get('software_version')}"
            f" - {doc.get('disclaimer', '')}",
            style="dim",
        )
    )
