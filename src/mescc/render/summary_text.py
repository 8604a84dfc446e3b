"""The board summary: one screen a tumour board or an on-call clinician reads first (issue 10).

Everything comes from the document's ``summary`` object (``mescc.summary.board_summary``), the
one reading of what leads; this module decides nothing. Names and citations of the evidence
ids it shows are looked up in the same document (instrument names, the citations of the
plan's reasons). The order is the summary's: recommendation and its basis, survival
prognosis, the two surgical questions, corticosteroids, bone-modifying agent, re-irradiation,
decisive unknowns, warnings.

The content is built once as :class:`Section` rows (:func:`summary_sections`) so the terminal
(:func:`render_summary`, rich) and Markdown (``mescc.render.markdown``) show the same
statements. Every sentence is a template of :data:`TEMPLATES`; every value is worded by
``mescc.render.labels``, so no code or raw enum value reaches the reader. Wording offers and
explains ("consider", "ranked first"), never orders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from mescc.render.labels import field_label, plan_value_label, value_label
from mescc.text_safety import neutralise_document

BANNER = "MESCC is an emergency. Do not delay MRI, steroids or referral for this software."

#: Every sentence of the board summary (one place; ``{name}`` fields are filled by the builder).
TEMPLATES: Mapping[str, str] = {
    "title": "MESCC board summary{patient}",
    "footer": "Decision support, not an order. Full report: --detail full. KB {kb}, "
    "mescc {version}.",
    # recommendation (summary.recommendation.why)
    "rec.ranked_first": "Suggested first: {regimen} ({course})",
    "rec.ranked_first.basis": "Ranked first for {ranking_class} survival prognosis{priority}",
    "rec.other_option_leads": "{label} leads; no radiotherapy course is ranked first",
    "rec.other_option_leads.basis": "Death within 2 months is predicted and the end-of-life "
    "score is in its best-supportive-care group",
    "rec.other_option_leads.basis_other": "The plan's reasons are in the full report",
    "rec.no_ranking_claim": "No option is ranked first: the survival prognosis could not be "
    "estimated",
    "rec.no_ranking_claim.basis": "A ranking needs a survival estimate; complete {missing} "
    "(options the evidence supports: full report)",
    "rec.no_regimen_within_reirradiation_limits": "No option is ranked first: no regimen is "
    "within the re-irradiation limits",
    "rec.no_regimen_within_reirradiation_limits.basis": "The decision needs a specialist review "
    "of the actual cord dose",
    "rec.alternatives": "Alternatives: {alternatives}",
    "rec.alternatives.other": "If radiotherapy is given: {alternatives}",
    "rec.timing": "Timing target: radiotherapy within {hours:g} hours of the {reference} when "
    "surgery is not suitable",
    "rec.sbrt": "Stereotactic options to discuss at a specialist centre: {options}",
    "course": "{visits} visit{s}{time}; BED10 {bed:g} Gy, EQD2 {eqd2:g} Gy",
    # prognosis
    "prog.class": "{klass} survival prognosis: {agreeing} of {voting} instruments agree",
    "prog.class.single": "{klass} survival prognosis: {agreeing} of {voting} instrument (one "
    "instrument votes)",
    "prog.none": "Not classified: missing {missing}",
    "prog.none.nothing": "Not classified",
    "prog.votes": "Agree: {votes}",
    "prog.disagree": "Disagree: {votes}",
    "prog.lowered": "Lowered by incomplete {names}",
    "prog.floor": "Raised to {klass} by the tumour-specific evidence",
    "prog.near_end": "Death within 2 months predicted",
    # surgery
    "surg.consider": "Consider a surgical opinion",
    "surg.met_not_suggested": "Not suggested, although an indication is met",
    "surg.not_suggested": "No surgical opinion suggested",
    "surg.declined": "The patient does not accept upfront surgery",
    "surg.criterion": "{label}: {status}{value}",
    "surg.none": "No deciding criterion recorded",
    # supportive care
    "steroids.suggest": "Consider dexamethasone {initial:g} mg, then {daily:g} mg daily",
    "steroids.suggest_no_daily": "Consider dexamethasone {initial:g} mg",
    "steroids.contraindicated": "Not suggested",
    "steroids.no": "Not routinely suggested",
    "steroids.unknown": "Undetermined",
    "bone.suggest": "Consider a bisphosphonate or a RANK-ligand inhibitor",
    "bone.contraindicated": "Not suggested",
    "bone.no": "Not suggested",
    "bone.unknown": "Undetermined",
    # re-irradiation
    "reirr.none": "Not applicable: no earlier radiotherapy to this region recorded",
    "reirr.unknown": "Earlier radiotherapy to this region not recorded; the check needs it",
    "reirr.within": "{courses} earlier course{s}; at least one regimen is within the limits",
    "reirr.beyond": "{courses} earlier course{s}; no regimen is within the limits",
    "reirr.beyond_undetermined": "{courses} earlier course{s}; no regimen is known to be within "
    "the limits (some checks undetermined)",
    "reirr.undetermined": "{courses} earlier course{s}; undetermined",
    "reirr.top": "For {regimen}: {status}",
    "reirr.missing": "Missing: {missing}",
    # unknowns and warnings
    "unknown.decisive": "{inputs} could change {what}",
    "unknown.decisive_each": "{inputs} could each change {what}",
    "unknown.quiet": "Missing, not decisive alone: {inputs}",
    "unknown.none": "None",
    "warn.converted": "{conversion}, used by {instruments}",
    "warn.ecog_kps_apart": "ECOG {ecog} and KPS {kps} are further apart than the published "
    "pairings allow: confirm both",
    "warn.ecog_ambulatory_apart": "{ecog} and ambulatory status '{ambulatory_status}' disagree: "
    "confirm when each was recorded",
    "warn.not_ambulatory_without_signs": "Not ambulatory but recorded without neurological "
    "signs: the corticosteroid suggestion rests on that absence",
    "warn.discrepancy": "Check the record: {fields}",
    "warn.unverified": "Rests on an instrument of lower verification: {names}",
    "warn.allow_unverified": "Unverified instruments were allowed to decide",
    "warn.fhir": "{n} value{s} from FHIR not used as given (stale, conflicting or unreadable)",
    "warn.more": "{n} further note{s} in the full report",
    "warn.none": "None",
    "left_out": "{n} further statement{s} left out for length (in the full report). ",
    "more": "and {n} more",
}

#: The basis (a few words) of each reason code the summary names; the citation follows.
REASON_TEMPLATES: Mapping[str, str] = {
    "steroids_neurological_signs": "neurological signs of MESCC",
    "steroids_haematological_malignancy": "haematological malignancy: further steroids with "
    "the haematology team",
    "steroids_no_neurological_signs": "no neurological signs recorded",
    "steroids_neurological_signs_unknown": "whether neurological signs are present is not recorded",
    "steroid_contraindication_recorded": "contraindication recorded by the clinician",
    "bone_agents_may_improve_local_control": "may improve local control",
    "bone_agents_not_near_end_of_life": "death within 2 months predicted; no verified benefit "
    "within 2 months",
    "bone_agent_contraindication_recorded": "contraindication recorded by the clinician",
    "stability_unknown": "stability to be assessed before radiotherapy",
}

#: The board summary fits this many lines (at 100 columns) on a terminal.
MAX_LINES = 40
#: Decisive unknowns and warnings listed before "and N more".
MAX_UNKNOWNS = 3
MAX_QUIET = 4
MAX_WARNINGS = 3
#: Deciding criteria of a surgical question shown (one when they are long).
MAX_CRITERIA = 2
#: Verification levels a board is warned about.
_WEAK = ("unverified", "site-derived")
_CONVERSION = re.compile(r"^(\w+) converted from (\w+) (\S+) \((.*)\)$")


@dataclass(frozen=True)
class Line:
    """One statement: its text, the basis in brief and a tone (``suggest``, ``caution``)."""

    text: str
    basis: str = ""
    tone: str = ""
    #: 0: always shown; otherwise left out, highest first, when the screen would overflow
    drop: int = 0


@dataclass(frozen=True)
class Section:
    """A titled group of statements."""

    title: str
    lines: tuple[Line, ...]


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else []


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def short_citation(citation: str) -> str:
    """A short form of a citation: first author (et al.) and year, or the guideline code."""
    text = " ".join(citation.split())
    nice = re.search(r"\b(NG\d+|QS\d+)\b", text)
    if text.startswith("National Institute for Health and Care Excellence") and nice:
        return f"NICE {nice.group(1)}"
    years = re.findall(r"\b((?:19|20)\d\d)(?!\d)", text) or re.findall(
        r"\b(20\d\d)(?=\d\d\.\d)",
        text,  # a preprint number (202403.0108)
    )
    year = f" {years[0]}" if years else ""
    head = text.split(". ", 1)[0]
    author = re.match(r"^([A-Z][^\s,.]+(?: [a-z]+ [A-Z][^\s,.]+)?)(?: [A-Z]{1,4})?(,|$)", head)
    if author and len(head) < 400 and not head.endswith(")"):
        two = head.count(",") == 1 and "et al" not in head
        if two:
            second = head.split(",")[1].strip().split(" ")[0]
            return f"{author.group(1)} and {second}{year}"
        more = "," in head
        return f"{author.group(1)}{' et al.' if more else ''}{year}"
    if len(head) <= 40 and "," not in head:  # an organisation or group ("Rades group")
        return f"{head}{year}"
    journal = next(
        (
            p[: p.index(years[0]) + 4].strip()
            for p in text.split(". ")[1:]
            if years and years[0] in p
        ),
        "",
    )
    return journal if journal else f"{head[:40]}...{year}"


class _Names:
    """Instrument names and short citations of the evidence ids of one document."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.instruments = _map(document.get("instruments"))
        self.citations: dict[str, str] = {}
        for rid, ref in _map(document.get("references")).items():  # a references table, if any
            text = (
                ref if isinstance(ref, str) else _map(ref).get("citation") or _map(ref).get("text")
            )
            if isinstance(text, str):
                self.citations[str(rid)] = text
        self._collect(document.get("plan"))

    def _collect(self, node: Any) -> None:
        if isinstance(node, Mapping):
            ids, cites = node.get("evidence"), node.get("citation")
            if isinstance(ids, list) and isinstance(cites, list) and len(ids) == len(cites):
                for i, c in zip(ids, cites, strict=True):
                    if isinstance(i, str) and isinstance(c, str):
                        self.citations.setdefault(i, c)
            source = node.get("source")
            if isinstance(source, str) and isinstance(cites, str):
                self.citations.setdefault(source, cites)
            for value in node.values():
                self._collect(value)
        elif isinstance(node, list):
            for value in node:
                self._collect(value)

    def instrument(self, iid: Any) -> str:
        name = _map(self.instruments.get(iid)).get("name")
        return str(name) if name else "an instrument"

    def cite(self, ids: Iterable[Any], limit: int = 2) -> str:
        """Short forms of the first ``limit`` evidence ids (instruments by name)."""
        out: list[str] = []
        for i in ids:
            if i in self.instruments:
                text = self.instrument(i)
            elif i in self.citations:
                text = short_citation(self.citations[i])
            else:
                continue
            if text not in out:
                out.append(text)
        more = len(out) - limit
        shown = "; ".join(out[:limit])
        return f"{shown}; +{more} more" if more > 0 else shown


def _course(course: Mapping[str, Any]) -> str:
    visits = course.get("visits")
    time = course.get("overall_time")
    return TEMPLATES["course"].format(
        visits=visits,
        s="" if visits == 1 else "s",
        time=f" over {time}" if time and visits != 1 else "",
        bed=course.get("bed_gy10") or 0,
        eqd2=course.get("eqd2_gy10") or 0,
    )


def _alternatives(alts: Sequence[Any]) -> str:
    return ", ".join(
        f"{a.get('regimen')} ({plan_value_label('course_length', a.get('course_length'))})"
        for a in alts
        if isinstance(a, Mapping)
    )


def _labels(keys: Iterable[Any], limit: int | None = None) -> str:
    names = [field_label(str(k)) for k in keys]
    if limit is not None and len(names) > limit:
        rest = len(names) - limit
        names = [*names[:limit], TEMPLATES["more"].format(n=rest)]
    return ", ".join(names)


def _recommendation(s: Mapping[str, Any], doc: Mapping[str, Any], names: _Names) -> Section:
    rec = _map(s.get("recommendation"))
    prognosis = _map(s.get("prognosis"))
    why = rec.get("why")
    lines: list[Line] = []
    basis = _map(rec.get("basis"))
    if rec.get("kind") == "radiotherapy":
        course = _map(rec.get("course"))
        lines.append(
            Line(
                TEMPLATES["rec.ranked_first"].format(
                    regimen=rec.get("regimen"), course=_course(course)
                ),
                tone="suggest",
            )
        )
        priority = rec.get("priority")
        lines.append(
            Line(
                TEMPLATES["rec.ranked_first.basis"].format(
                    ranking_class=plan_value_label("prognosis_class", rec.get("ranking_class")),
                    priority=""
                    if priority in (None, "balanced")
                    else f" and the patient's priority ({value_label('priority', priority)})",
                ),
                names.cite(_list(basis.get("evidence"))),
            )
        )
    elif rec.get("kind") == "other":
        lines.append(
            Line(TEMPLATES["rec.other_option_leads"].format(label=rec.get("label")), tone="suggest")
        )
        other = next(
            (
                o
                for o in _list(_map(doc.get("plan")).get("other_options"))
                if isinstance(o, Mapping) and o.get("id") == rec.get("id")
            ),
            {},
        )
        bsc = prognosis.get("best_supportive_care_leads")
        key = "rec.other_option_leads.basis" if bsc else "rec.other_option_leads.basis_other"
        lines.append(Line(TEMPLATES[key], names.cite(_list(other.get("evidence")))))
    elif why == "no_regimen_within_reirradiation_limits":
        lines.append(Line(TEMPLATES["rec.no_regimen_within_reirradiation_limits"], tone="caution"))
        lines.append(Line(TEMPLATES["rec.no_regimen_within_reirradiation_limits.basis"]))
    else:
        lines.append(Line(TEMPLATES["rec.no_ranking_claim"], tone="caution"))
        missing = _missing_keys(_list(prognosis.get("missing_to_classify")))
        lines.append(
            Line(
                TEMPLATES["rec.no_ranking_claim.basis"].format(
                    missing=_labels(missing, 4) if missing else "the survival instruments"
                )
            )
        )
    alts = _list(rec.get("alternatives"))
    if alts and rec.get("kind") != "none":
        key = "rec.alternatives" if rec.get("kind") == "radiotherapy" else "rec.alternatives.other"
        lines.append(Line(TEMPLATES[key].format(alternatives=_alternatives(alts)), drop=2))
    timing = _map(s.get("timing"))
    if timing.get("applies") and rec.get("kind") == "radiotherapy" and timing.get("hours"):
        lines.append(
            Line(
                TEMPLATES["rec.timing"].format(
                    hours=timing["hours"], reference=timing.get("reference_point") or "decision"
                ),
                names.cite([timing.get("source")]),
                drop=3,
            )
        )
    sbrt = _map(s.get("stereotactic_radiotherapy"))
    if sbrt.get("discuss"):
        plan_sbrt = _map(_map(doc.get("plan")).get("stereotactic_radiotherapy"))
        labels = {
            o.get("id"): o.get("label")
            for o in _list(plan_sbrt.get("options"))
            if isinstance(o, Mapping)
        }
        opts = [str(labels.get(i) or "an option") for i in _list(sbrt.get("options"))]
        lines.append(Line(TEMPLATES["rec.sbrt"].format(options="; ".join(opts))))
    return Section("Radiotherapy", tuple(lines))


def _prognosis(s: Mapping[str, Any], names: _Names) -> Section:
    p = _map(s.get("prognosis"))
    lines: list[Line] = []
    if p.get("class") is None:
        missing = _missing_keys(_list(p.get("missing_to_classify")))
        text = (
            TEMPLATES["prog.none"].format(missing=_labels(missing, 5))
            if missing
            else TEMPLATES["prog.none.nothing"]
        )
        return Section("Survival", (Line(text, tone="caution"),))
    votes = [v for v in _list(p.get("votes")) if isinstance(v, Mapping)]
    # the votes the agreement counts (instruments computed or determined; not lower bounds)
    counted = [v for v in votes if v.get("vote") in ("computed", "determined") and v.get("class")]
    voting_class = _agreeing_class(counted, p)
    klass = plan_value_label("prognosis_class", p.get("class"))
    lines.append(
        Line(
            TEMPLATES["prog.class.single" if p.get("voting") == 1 else "prog.class"].format(
                klass=_capital(klass), agreeing=p.get("agreeing"), voting=p.get("voting")
            ),
            tone="caution" if p.get("class") == "poor" else "",
        )
    )

    def vote(v: Mapping[str, Any], with_class: bool) -> str:
        group = f" {v.get('group')}" if v.get("group") else ""
        cls = f": {plan_value_label('prognosis_class', v.get('class'))}" if with_class else ""
        return f"{names.instrument(v.get('instrument'))}{group}{cls}"

    agree = [vote(v, False) for v in counted if v.get("class") == voting_class]
    disagree = [vote(v, True) for v in counted if v.get("class") != voting_class]
    if agree:
        lines.append(Line(TEMPLATES["prog.votes"].format(votes="; ".join(agree)), drop=3))
    if disagree:
        lines.append(
            Line(TEMPLATES["prog.disagree"].format(votes="; ".join(disagree)), tone="caution")
        )
    if p.get("lowered_by"):
        lowered = ", ".join(names.instrument(i) for i in _list(p.get("lowered_by")))
        lines.append(Line(TEMPLATES["prog.lowered"].format(names=lowered), drop=2))
    floor = _map(p.get("histology_floor"))
    if floor.get("raised"):
        lines.append(
            Line(
                TEMPLATES["prog.floor"].format(
                    klass=plan_value_label("prognosis_class", floor.get("class"))
                ),
                names.cite(_list(floor.get("instruments"))),
            )
        )
    if p.get("near_end_of_life"):
        lines.append(Line(TEMPLATES["prog.near_end"], tone="caution", drop=2))
    return Section("Survival", tuple(lines))


def _agreeing_class(votes: Sequence[Mapping[str, Any]], p: Mapping[str, Any]) -> Any:
    """The class the ``agreeing`` count refers to (the prognosis class when it is one)."""
    counts: dict[Any, int] = {}
    for v in votes:
        counts[v.get("class")] = counts.get(v.get("class"), 0) + 1
    if counts.get(p.get("class")) == p.get("agreeing"):
        return p.get("class")
    return next((c for c, n in counts.items() if n == p.get("agreeing")), p.get("class"))


def _criterion(c: Mapping[str, Any]) -> str:
    kind = "exclusion_status" if c.get("kind") == "exclusion" else "criterion_status"
    status = plan_value_label(kind, c.get("status"))
    key, value = c.get("input"), c.get("value")
    shown = ""
    if key and value is not None and not isinstance(value, Mapping):
        field = field_label(str(key))
        words = value_label(str(key), value).split(" (")[0]  # "grade 1c", not its definition
        # the criterion names the input already ("SINS 7-18", "Bilsky 2-3"): the value alone
        named = field.split(" ")[0].rstrip(":").lower() in str(c.get("label")).lower()
        shown = f" ({words})" if named else f" ({field}: {words})"
    elif key is None and isinstance(value, str):
        shown = f" (survival: {plan_value_label('prognosis_class', value)})"
    return TEMPLATES["surg.criterion"].format(
        label=str(c.get("label") or "criterion"), status=status, value=shown
    )


def _surgery(s: Mapping[str, Any], names: _Names) -> list[Section]:
    surgery = _map(s.get("surgery"))
    out = []
    for key, title in (("decompression", "Decompression"), ("stabilisation", "Stabilisation")):
        q = _map(surgery.get(key))
        if q.get("consider"):
            head, tone = TEMPLATES["surg.consider"], "suggest"
        elif q.get("criteria_met"):
            head, tone = TEMPLATES["surg.met_not_suggested"], ""
        else:
            head, tone = TEMPLATES["surg.not_suggested"], ""
        reason = _map(q.get("reason"))
        deciding = [c for c in _list(q.get("deciding")) if isinstance(c, Mapping)]
        shown = [_criterion(c) for c in deciding[:MAX_CRITERIA]]
        if len("; ".join(shown)) > 120:
            shown = shown[:1]
        criterion = "; ".join(shown) or TEMPLATES["surg.none"]
        if len(deciding) > len(shown):
            criterion += f"; {TEMPLATES['more'].format(n=len(deciding) - len(shown))}"
        lines = [Line(head, tone=tone), Line(criterion, names.cite(_list(reason.get("evidence"))))]
        out.append(Section(title, tuple(lines)))
    if surgery.get("surgery_acceptable") is False:
        out[0] = Section(out[0].title, (*out[0].lines, Line(TEMPLATES["surg.declined"])))
    return out


def _reason_basis(reason: Mapping[str, Any], names: _Names) -> tuple[str, str]:
    words = REASON_TEMPLATES.get(str(reason.get("code")), "")
    return words, names.cite(_list(reason.get("evidence")))


def _suggestion_line(
    item: Mapping[str, Any], prefix: str, names: _Names, suggest_head: str | None = None
) -> Line:
    """One supportive-care line (``<prefix>.contraindicated`` / ``.suggest`` / ``.no`` /
    ``.unknown`` templates) with the reason's words and citation."""
    if item.get("contraindication_recorded"):
        head, tone = TEMPLATES[f"{prefix}.contraindicated"], ""
    elif item.get("suggest"):
        head, tone = suggest_head or TEMPLATES[f"{prefix}.suggest"], "suggest"
    elif item.get("suggest") is False:
        head, tone = TEMPLATES[f"{prefix}.no"], ""
    else:
        head, tone = TEMPLATES[f"{prefix}.unknown"], "caution"
    words, cite = _reason_basis(_map(item.get("reason")), names)
    return Line(f"{head}: {words}" if words else head, cite, tone)


def _supportive(s: Mapping[str, Any], names: _Names) -> list[Section]:
    c = _map(s.get("corticosteroids"))
    if c.get("suggest") and not c.get("contraindication_recorded"):
        daily = c.get("daily_dose_mg")
        key = "steroids.suggest" if daily else "steroids.suggest_no_daily"
        head = TEMPLATES[key].format(initial=c.get("initial_dose_mg") or 0, daily=daily or 0)
        steroid = _suggestion_line(c, "steroids", names, suggest_head=head)
    else:
        steroid = _suggestion_line(c, "steroids", names)
    bone = _suggestion_line(_map(s.get("bone_modifying_agents")), "bone", names)
    return [Section("Corticosteroids", (steroid,)), Section("Bone agent", (bone,))]


def _reirradiation(s: Mapping[str, Any], doc: Mapping[str, Any], names: _Names) -> Section:
    r = s.get("reirradiation")
    if not isinstance(r, Mapping):
        given = _map(doc.get("patient")).get("prior_radiotherapy")
        key = "reirr.none" if isinstance(given, list) else "reirr.unknown"
        return Section(
            "Re-irradiation", (Line(TEMPLATES[key], tone="" if given == [] else "caution"),)
        )
    n = r.get("courses") or 0
    within = r.get("any_regimen_within_limits")
    key = "reirr.within" if within is True else "reirr.undetermined"
    if within is False:
        key = "reirr.beyond"
    if within is False and "undetermined" in _list(r.get("statuses")):
        key = "reirr.beyond_undetermined"
    plan_r = _map(_map(doc.get("plan")).get("reirradiation"))
    lines = [
        Line(
            TEMPLATES[key].format(courses=n, s="" if n == 1 else "s"),
            names.cite([plan_r.get("source")]),
            "" if within else "caution",
        )
    ]
    regimen = _map(s.get("recommendation")).get("regimen")
    if regimen and plan_r.get("regimen") == regimen and plan_r.get("status"):
        status = plan_value_label("reirradiation_status", plan_r.get("status"))
        lines.append(
            Line(
                TEMPLATES["reirr.top"].format(regimen=regimen, status=status),
                tone="" if plan_r.get("status") == "within" else "caution",
            )
        )
    if _list(r.get("missing")):
        missing = TEMPLATES["reirr.missing"].format(missing=_labels(r["missing"], 4))
        lines.append(Line(missing, drop=1))
    return Section("Re-irradiation", tuple(lines))


def _missing_keys(missing: Sequence[Any]) -> list[str]:
    """The input keys of ``missing_to_classify`` (per instrument, or plain keys), once each."""
    keys: list[str] = []
    for m in missing:
        for k in _list(m.get("missing")) if isinstance(m, Mapping) else [m]:
            if str(k) not in keys:
                keys.append(str(k))
    return keys


def _split_inputs(value: Any) -> list[str]:
    return [k.strip() for k in str(value).split(",") if k.strip()]


def _unknowns(s: Mapping[str, Any]) -> Section:
    """Decisive unknowns grouped by what they could change; then the others, briefly."""
    items = [u for u in _list(s.get("decisive_unknowns")) if isinstance(u, Mapping)]
    by_change: dict[str, list[list[str]]] = {}
    quiet: list[str] = []
    for u in items:
        keys = _split_inputs(u.get("input"))
        changes = [str(c) for c in _list(u.get("could_change"))]
        if not changes:
            quiet += keys
            continue
        if "surgery" in changes and len(changes) > 1:
            changes.remove("surgery")
        what = " and ".join(plan_value_label("could_change", c) for c in changes)
        by_change.setdefault(what, []).append(keys)
    shown: set[str] = set()
    lines = []
    for what, groups in list(by_change.items())[:MAX_UNKNOWNS]:
        names = []
        for keys in groups:
            shown.update(keys)
            sins = len(keys) > 3 and all(k.startswith("sins_") for k in keys)
            names.append("the SINS items" if sins else " + ".join(field_label(k) for k in keys))
        if len(names) > MAX_UNKNOWNS:
            names = [*names[:MAX_UNKNOWNS], TEMPLATES["more"].format(n=len(names) - MAX_UNKNOWNS)]
        key = "unknown.decisive_each" if len(names) > 1 else "unknown.decisive"
        text = TEMPLATES[key].format(inputs=_capital("; ".join(names)), what=what)
        lines.append(Line(text, tone="caution"))
    if len(by_change) > MAX_UNKNOWNS:
        lines.append(Line(_capital(TEMPLATES["more"].format(n=len(by_change) - MAX_UNKNOWNS))))
    rest = [k for k in dict.fromkeys(quiet) if k not in shown]
    if rest:
        quiet_text = TEMPLATES["unknown.quiet"].format(inputs=_labels(rest, MAX_QUIET))
        lines.append(Line(quiet_text, drop=4))
    return Section("Decisive unknowns", tuple(lines) or (Line(TEMPLATES["unknown.none"]),))


def _number(value: str) -> Any:
    return float(value) if value.replace(".", "", 1).isdigit() else value


def _conversion(text: str) -> tuple[str, str]:
    """A conversion note in words, and its source ("kps converted from ecog 2 (mapping, ...)")."""
    m = _CONVERSION.match(text)
    if not m:
        return _capital(text), ""
    to, frm, value, source = m.groups()
    scale = {"kps": "KPS", "ecog": "ECOG"}
    shown = f"KPS {value}" if frm == "kps" else value_label(frm, _number(value))
    method, _, cite = source.partition(", ")
    return f"{scale.get(to, field_label(to))} converted from {shown} ({method})", cite


def _warnings(s: Mapping[str, Any], doc: Mapping[str, Any], names: _Names) -> Section:
    patient = _map(doc.get("patient"))
    lines: list[Line] = []
    converted: dict[str, list[str]] = {}
    for w in _list(s.get("warnings")):
        if not isinstance(w, Mapping):
            continue
        if w.get("kind") == "converted_input":
            converted.setdefault(str(w.get("conversion")), []).append(
                names.instrument(w.get("instrument"))
            )
        elif w.get("kind") == "input_discrepancy":
            lines.append(Line(_discrepancy(w, patient), tone="caution"))
    for conversion, users in converted.items():
        used = ", ".join(dict.fromkeys(users))
        words, cite = _conversion(conversion)
        text = TEMPLATES["warn.converted"].format(conversion=words, instruments=used)
        lines.insert(0, Line(text, cite, tone="caution"))
    prognosis = _map(s.get("prognosis"))
    deciding = _list(prognosis.get("deciding_instruments"))
    weak = [
        names.instrument(i)
        for i in deciding
        if _map(names.instruments.get(i)).get("verification") in _WEAK
    ]
    if weak:
        lines.append(
            Line(TEMPLATES["warn.unverified"].format(names=", ".join(weak)), tone="caution")
        )
    if doc.get("allow_unverified"):
        lines.append(Line(TEMPLATES["warn.allow_unverified"], tone="caution"))
    issues = _list(_map(doc.get("input_provenance")).get("issues"))
    if issues:
        n = len(issues)
        text = TEMPLATES["warn.fhir"].format(n=n, s="" if n == 1 else "s")
        lines.append(Line(text, tone="caution"))
    plan = _map(doc.get("plan"))
    discrepancy_texts = {
        " ".join(str(d.get("text")).split())
        for d in _list(plan.get("input_warnings"))
        if isinstance(d, Mapping)
    }
    notes = [
        w
        for w in _list(plan.get("warnings"))
        if isinstance(w, str) and " ".join(w.split()) not in discrepancy_texts
    ]
    if len(lines) > MAX_WARNINGS:
        extra = len(lines) - MAX_WARNINGS
        lines = lines[:MAX_WARNINGS]
    else:
        extra = 0
    extra += len(notes)
    if extra:
        lines.append(Line(TEMPLATES["warn.more"].format(n=extra, s="" if extra == 1 else "s")))
    return Section("Warnings", tuple(lines) or (Line(TEMPLATES["warn.none"]),))


def _discrepancy(w: Mapping[str, Any], patient: Mapping[str, Any]) -> str:
    code = str(w.get("code"))
    fields = [str(f) for f in _list(w.get("fields"))]
    values = {k: value_label(k, patient.get(k)) for k in ("ecog", "kps", "ambulatory_status")}
    values["ecog"] = (
        values["ecog"].removeprefix("ECOG ") if code == "ecog_kps_apart" else values["ecog"]
    )
    values["kps"] = values["kps"].removesuffix("%")
    template = TEMPLATES.get(f"warn.{code}")
    if template is None:
        return TEMPLATES["warn.discrepancy"].format(fields=_labels(fields))
    return template.format(**values)


def summary_sections(document: Mapping[str, Any]) -> list[Section]:
    """The board summary of an assessment document as sections of statements (in order)."""
    s = _map(document.get("summary"))
    if not s:
        from mescc.summary import board_summary

        s = board_summary(document)
    names = _Names(document)
    return [
        _recommendation(s, document, names),
        _prognosis(s, names),
        *_surgery(s, names),
        *_supportive(s, names),
        _reirradiation(s, document, names),
        _unknowns(s),
        _warnings(s, document, names),
    ]


def title(document: Mapping[str, Any]) -> str:
    """The summary's heading (with the patient reference, if any)."""
    pid = _map(document.get("patient")).get("id")
    return TEMPLATES["title"].format(patient=f": patient {pid}" if pid else "")


def footer(document: Mapping[str, Any]) -> str:
    """The closing line: decision support, where the full report is, the versions."""
    return TEMPLATES["footer"].format(
        kb=document.get("knowledge_base_version"), version=document.get("software_version")
    )


_TONE = {"suggest": "bold green", "caution": "yellow"}


def _table(sections: Sequence[Section]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True, min_width=17)
    table.add_column(ratio=1)
    for section in sections:
        for i, line in enumerate(section.lines):
            text = Text(line.text, style=_TONE.get(line.tone, ""))
            if line.basis:
                text.append(f" [{line.basis}]", style="dim")
            table.add_row(section.title if i == 0 else "", text)
    return table


def _without_one(sections: list[Section]) -> list[Section] | None:
    """The sections less the last line of the highest ``drop`` (None: nothing to leave out)."""
    top = max((line.drop for sec in sections for line in sec.lines), default=0)
    if top == 0:
        return None
    for si in range(len(sections) - 1, -1, -1):
        lines = list(sections[si].lines)
        for li in range(len(lines) - 1, -1, -1):
            if lines[li].drop == top:
                del lines[li]
                out = list(sections)
                out[si] = Section(sections[si].title, tuple(lines))
                return out
    return None


def render_summary(document: Mapping[str, Any], console: Console) -> None:
    """Print the board summary (hidden characters in the document made visible first).

    At most :data:`MAX_LINES` lines at the console's width: when the statements would overflow
    it, the optional ones (the agreeing instruments, the timing target, the inputs missing but
    not decisive...) are left out, highest ``drop`` first; the full report keeps them all.
    """
    doc = neutralise_document(dict(document))
    head: list[Text] = [Text(title(doc), style="bold"), Text(BANNER, style="bold red")]
    derived = _map(doc.get("site_derived")).get("statement")
    if derived:
        head.append(Text(str(derived), style="bold yellow"))
    sections = summary_sections(doc)
    left_out = 0
    while True:
        # a statement left out for length is counted on the last line, never dropped unsaid
        note = TEMPLATES["left_out"].format(n=left_out, s="" if left_out == 1 else "s")
        tail = Text(note + footer(doc) if left_out else footer(doc), style="dim")
        body = Group(*head, _table(sections), tail)
        if len(console.render_lines(body, pad=False)) <= MAX_LINES:
            break
        fewer = _without_one(sections)
        if fewer is None:
            break
        sections, left_out = fewer, left_out + 1
    console.print(body)
