"""The board summary: what a tumour board reads first, as data (the document's ``summary``).

Every renderer (terminal, Markdown, web page, PDF page 1, patient summary, CDS card, the API
list and the history page) reads the decision from here, so that none can show a suggestion the
plan did not make. Issue 10 found the web page, the PDF, the history page and the patient
summary showing the first-listed option as "Suggested option" for a plan without a ranking
claim; :func:`recommendation` is now the one reading of "what leads".

The summary is built from the plan *document* (the contract's JSON), not from the ``Plan``
object, so that an assessment stored before this key existed renders the same way. It holds
codes, values and evidence ids only; sentences belong to the renderers.

Source of the order (recommendation, prognosis, surgery, supportive care, re-irradiation,
unknowns, warnings): Rades D, Schild SE. Semin Radiat Oncol 2023;33(2):148-158.
DOI 10.1016/j.semradonc.2022.11.005.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: ``recommendation.why``: why this is (or is not) what leads.
RANKED_FIRST = "ranked_first"
OTHER_OPTION_LEADS = "other_option_leads"  # e.g. best supportive care near end of life
NO_RANKING_CLAIM = "no_ranking_claim"
NO_REGIMEN_WITHIN_REIRRADIATION_LIMITS = "no_regimen_within_reirradiation_limits"

#: The course fields of a radiotherapy option the summary shows.
_COURSE_KEYS = (
    "regimen",
    "regimen_id",
    "fractions",
    "dose_per_fraction_gy",
    "total_dose_gy",
    "visits",
    "overall_time",
    "bed_gy10",
    "eqd2_gy10",
    "course_length",
)
#: At most this many alternatives are named in the summary (the full report lists them all).
MAX_ALTERNATIVES = 2


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else []


def _options(plan: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [o for o in _list(plan.get("radiotherapy")) if isinstance(o, Mapping)]


def _legacy_option(plan: Mapping[str, Any]) -> dict[str, Any] | None:
    """What led in a document written before ``recommended_option`` existed."""
    label = plan.get("recommended_regimen")
    if "recommended_regimen" not in plan:
        options = _options(plan)
        label = options[0].get("regimen") if options and plan.get("ranking_claim") else None
    if not isinstance(label, str):
        return None
    option = next((o for o in _options(plan) if o.get("regimen") == label), {})
    return {"kind": "radiotherapy", "id": option.get("regimen_id"), "label": label}


def recommendation(plan: Mapping[str, Any]) -> dict[str, Any]:
    """What leads in ``plan`` (the contract's ``plan`` object), the one reading for every output.

    Returns ``{"kind", "id", "label", "regimen", "why", "option"}``: ``kind`` is
    ``radiotherapy`` (a regimen is recommended), ``other`` (another option leads, e.g. best
    supportive care; ``regimen`` is None) or ``none`` (nothing is suggested; ``why`` says
    whether there is no ranking claim or no regimen within the re-irradiation limits);
    ``option`` is the recommended radiotherapy option's entry, if any.
    """
    plan = _map(plan)
    lead = plan.get("recommended_option") if "recommended_option" in plan else _legacy_option(plan)
    if isinstance(lead, Mapping) and lead.get("kind") == "radiotherapy":
        option = next(
            (o for o in _options(plan) if o.get("regimen_id") == lead.get("id")),
            next((o for o in _options(plan) if o.get("regimen") == lead.get("label")), None),
        )
        return {
            "kind": "radiotherapy",
            "id": lead.get("id"),
            "label": lead.get("label"),
            "regimen": lead.get("label"),
            "why": RANKED_FIRST,
            "option": option,
        }
    if isinstance(lead, Mapping):
        return {
            "kind": "other",
            "id": lead.get("id"),
            "label": lead.get("label"),
            "regimen": None,
            "why": OTHER_OPTION_LEADS,
            "option": None,
        }
    reirr = _map(plan.get("reirradiation"))
    beyond = bool(reirr) and plan.get("ranking_claim") is True
    beyond = beyond and reirr.get("any_regimen_within_limits") is False
    return {
        "kind": "none",
        "id": None,
        "label": None,
        "regimen": None,
        "why": NO_REGIMEN_WITHIN_REIRRADIATION_LIMITS if beyond else NO_RANKING_CLAIM,
        "option": None,
    }


def recommended_regimen(document: Mapping[str, Any]) -> str | None:
    """The recommended regimen label of an assessment document (None: none is recommended)."""
    regimen = recommendation(_map(document.get("plan")))["regimen"]
    return str(regimen) if regimen is not None else None


def _first_reason(reasons: Any) -> dict[str, Any] | None:
    for r in _list(reasons):
        if isinstance(r, Mapping):
            return {"code": r.get("code"), "evidence": list(_list(r.get("evidence")))}
    return None


def _recommendation_summary(plan: Mapping[str, Any]) -> dict[str, Any]:
    rec = recommendation(plan)
    option = rec.pop("option")
    course = {k: option.get(k) for k in _COURSE_KEYS} if option else None
    alternatives = [
        {
            "regimen": o.get("regimen"),
            "regimen_id": o.get("regimen_id"),
            "course_length": o.get("course_length"),
        }
        for o in _options(plan)
        if o.get("supported") and o is not option and not o.get("trial_regimen")
    ][:MAX_ALTERNATIVES]
    basis = _first_reason(option.get("rationale")) if option else None
    return {
        **rec,
        "ranking_claim": plan.get("ranking_claim"),
        "ranking_class": plan.get("ranking_class"),
        "priority": plan.get("priority"),
        "course": course,
        "basis": basis,
        "alternatives": alternatives if rec["kind"] != "none" else [],
    }


def _prognosis_summary(prognosis: Mapping[str, Any]) -> dict[str, Any]:
    consensus = _map(prognosis.get("consensus"))
    votes = [
        {
            "instrument": v.get("instrument"),
            "class": v.get("class"),
            "vote": v.get("vote"),
            "group": v.get("group"),
        }
        for v in _list(consensus.get("votes"))
        if isinstance(v, Mapping)
    ]
    near = _map(prognosis.get("near_end_of_life"))
    return {
        "class": prognosis.get("class"),
        "ranking_class": prognosis.get("ranking_class"),
        "agreeing": consensus.get("agreeing"),
        "voting": consensus.get("voting"),
        "votes": votes,
        "deciding_instruments": list(_list(prognosis.get("deciding_instruments"))),
        "lowered_by": list(_list(consensus.get("lowered_by"))),
        "histology_floor": consensus.get("histology_floor"),
        "near_end_of_life": bool(near.get("predicted")),
        "best_supportive_care_leads": bool(near.get("best_supportive_care_leads")),
        "missing_to_classify": list(_list(prognosis.get("missing_to_classify"))),
    }


def _deciding_criteria(question: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The criteria that decide a surgical question: the indications met when an opinion is
    suggested; otherwise the indications and inclusions not met and the exclusions present
    (then those still undetermined), so a reader sees why not and what could change it."""
    criteria = [c for c in _list(question.get("criteria")) if isinstance(c, Mapping)]

    def pick(c: Mapping[str, Any]) -> dict[str, Any]:
        return {k: c.get(k) for k in ("id", "kind", "label", "status", "input", "value")}

    if question.get("consider"):
        return [
            pick(c) for c in criteria if c.get("kind") == "indication" and c.get("status") == "met"
        ]
    # every criterion's ``met`` means the patient satisfies it: for an exclusion, that the
    # exclusion is absent; so an exclusion blocks when it is ``not_met`` (surgery.py)
    blocking = [
        pick(c)
        for c in criteria
        if c.get("kind") in ("indication", "inclusion", "exclusion")
        and c.get("status") == "not_met"
    ]
    open_ = [
        pick(c)
        for c in criteria
        if c.get("kind") in ("indication", "inclusion", "exclusion")
        and c.get("status") in ("unknown", "not_recorded")
    ]
    return blocking or open_


def _surgery_summary(surgery: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"surgery_acceptable": surgery.get("surgery_acceptable")}
    for question in ("decompression", "stabilisation"):
        q = _map(surgery.get(question))
        out[question] = {
            "consider": q.get("consider"),
            "criteria_met": q.get("criteria_met"),
            "deciding": _deciding_criteria(q),
            "reason": _first_reason(q.get("reasons")),
            "missing": list(_list(q.get("missing"))),
        }
    return out


def _reirradiation_summary(reirr: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not reirr:
        return None
    checks = [c for c in _list(reirr.get("regimen_checks")) if isinstance(c, Mapping)]
    return {
        "any_regimen_within_limits": reirr.get("any_regimen_within_limits"),
        "courses": len(_list(reirr.get("courses"))),
        "missing": list(_list(reirr.get("missing"))),
        "statuses": sorted({str(c.get("status")) for c in checks if c.get("status")}),
    }


def _converted_inputs(instruments: Mapping[str, Any], used: set[str]) -> list[dict[str, Any]]:
    """Items of the instruments the plan used that scored a converted input (KPS from ECOG)."""
    out = []
    for iid, result in instruments.items():
        if iid not in used or not isinstance(result, Mapping):
            continue
        for item in _list(result.get("items")):
            if isinstance(item, Mapping) and item.get("converted_from"):
                out.append(
                    {
                        "instrument": iid,
                        "factor": item.get("factor"),
                        "conversion": item.get("converted_from"),
                    }
                )
    return out


def board_summary(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document's ``summary`` object: the board summary as data (codes, values, ids).

    Parameters
    ----------
    document : an assessment document (``mescc assess --format json``), stored or new

    Returns
    -------
    dict with ``recommendation``, ``prognosis``, ``surgery``, ``corticosteroids``,
    ``bone_modifying_agents``, ``stereotactic_radiotherapy``, ``reirradiation``, ``timing``,
    ``decisive_unknowns`` and ``warnings`` (converted inputs, input discrepancies, plan
    warnings), in the order a board reads them.
    """
    plan = _map(document.get("plan"))
    prognosis = _map(plan.get("prognosis"))
    steroids = _map(plan.get("corticosteroids"))
    bone = _map(plan.get("bone_modifying_agents"))
    sbrt = _map(plan.get("stereotactic_radiotherapy"))
    timing = _map(plan.get("timing"))
    used = {
        str(v.get("instrument"))
        for v in _list(_map(prognosis.get("consensus")).get("votes"))
        if isinstance(v, Mapping)
    } | {str(i) for i in _list(prognosis.get("deciding_instruments"))}
    warnings: list[dict[str, Any]] = [
        {"kind": "converted_input", **c}
        for c in _converted_inputs(_map(document.get("instruments")), used)
    ]
    warnings += [
        {"kind": "input_discrepancy", "code": w.get("code"), "fields": list(_list(w.get("fields")))}
        for w in _list(plan.get("input_warnings"))
        if isinstance(w, Mapping)
    ]
    warnings += [
        {"kind": "plan_warning", "code": w.get("code"), "evidence": list(_list(w.get("evidence")))}
        for w in _list(plan.get("warnings"))
        if isinstance(w, Mapping)
    ]
    starting = _map(steroids.get("starting_dose"))
    return {
        "patient_id": _map(document.get("patient")).get("id"),
        "recommendation": _recommendation_summary(plan),
        "prognosis": _prognosis_summary(prognosis),
        "surgery": _surgery_summary(_map(plan.get("surgery"))),
        "corticosteroids": {
            "suggest": steroids.get("suggest"),
            "drug": steroids.get("drug"),
            "initial_dose_mg": starting.get("initial_dose_mg"),
            "daily_dose_mg": starting.get("daily_dose_mg"),
            "contraindication_recorded": steroids.get("contraindication_recorded"),
            "reason": _first_reason(steroids.get("reasons")),
        },
        "bone_modifying_agents": {
            "suggest": bone.get("suggest"),
            "contraindication_recorded": bone.get("contraindication_recorded"),
            "reason": _first_reason(bone.get("reasons")),
        },
        "stereotactic_radiotherapy": {
            "discuss": sbrt.get("discuss"),
            "options": [o.get("id") for o in _list(sbrt.get("options")) if isinstance(o, Mapping)],
        },
        "reirradiation": _reirradiation_summary(_map(plan.get("reirradiation")) or None),
        "timing": {
            "applies": timing.get("applies"),
            "hours": timing.get("hours"),
            "reference_point": timing.get("reference_point"),
            "source": timing.get("source"),
        },
        "decisive_unknowns": [
            {"input": u.get("input"), "could_change": list(_list(u.get("could_change")))}
            for u in _list(plan.get("decisive_unknowns"))
            if isinstance(u, Mapping)
        ],
        "warnings": warnings,
    }
