"""The personalised treatment plan: regimen, surgery, supportive care, re-irradiation.

``build_plan(assessment, kb)`` turns an assessed patient into a frozen :class:`Plan` whose
``as_dict()`` is the contract's ``plan`` object. Every element carries its reasons (code, one
sentence of decision-support text, evidence ids resolved to citations, the inputs that produced
it and a verification label). The rules are small functions in ``prognosis``, ``radiotherapy``,
``surgery``, ``supportive`` and ``reirradiation``; the numbers and mappings they use are read by
name from ``kb/evidence/*.yaml`` (including the plan's own ``plan_rules.yaml``).

Clinical traps guarded: the wording offers and explains, never orders; an unverified instrument
never moves the ranking unless the user opted in, and then the plan says so; uncertainty is
stated next to the option it affects; when survival prognosis is unknown the options carry no
ranking claim; missing inputs that could change the answer are listed first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mescc.kb.evidence import Evidence, load_evidence
from mescc.kb.loader import KnowledgeBase
from mescc.plan.core import PlanCore, build_core, missing_of, timing_dict, views_of
from mescc.plan.decisive_unknowns import DecisiveUnknown, find_decisive_unknowns, scope_note
from mescc.plan.reasons import Reason, citer_for
from mescc.plan.rules import checked_rules

if TYPE_CHECKING:
    import polars as pl

    from mescc.assessment import Assessment

__all__ = ["Plan", "Reason", "build_plan", "recommended_regimens_for_table"]


@dataclass(frozen=True)
class Plan:
    """The treatment plan of one assessed patient (frozen; ``as_dict()`` for the contract)."""

    core: PlanCore
    decisive_unknowns: tuple[DecisiveUnknown, ...]
    allow_unverified: bool
    disclaimer: str
    timing: dict[str, Any]
    basis_note: str
    evidence_version: str
    reirradiation_citation: str | None

    @property
    def recommended_regimen(self) -> str | None:
        """The recommended regimen label (first radiotherapy entry), or None without a claim."""
        return self.core.recommended_regimen

    @property
    def consider_surgery(self) -> bool:
        """``surgery.consider``."""
        return self.core.surgery.consider

    def as_dict(self) -> dict[str, Any]:
        """The contract's ``plan`` object."""
        c = self.core
        rt = c.radiotherapy
        top = rt.options[0].regimen_id if rt.options else None
        return {
            "radiotherapy": [o.as_dict() for o in rt.options],
            "recommended_regimen": self.recommended_regimen,
            "recommended_option": rt.recommended_option,
            "ranking_claim": rt.ranking_claim,
            "ranking_class": rt.ranking_class,
            "priority": rt.priority,
            "other_options": [dict(o) for o in rt.other_options],
            "surgery": c.surgery.as_dict(),
            "stereotactic_radiotherapy": (
                c.stereotactic.as_dict() if c.stereotactic is not None else None
            ),
            "corticosteroids": c.corticosteroids.as_dict(),
            "bone_modifying_agents": c.bone_modifying_agents.as_dict(),
            "reirradiation": (
                c.reirradiation.as_dict(top, self.reirradiation_citation or "")
                if c.reirradiation is not None
                else None
            ),
            "prognosis": c.prognosis.as_dict(),
            "timing": {**self.timing, **_timing_applies(rt.recommended_option, c)},
            "decisive_unknowns": [d.as_dict() for d in self.decisive_unknowns],
            "decisive_unknowns_scope": scope_note(),
            "input_warnings": [d.as_dict() for d in c.discrepancies],
            "warnings": list(c.warnings),
            "allow_unverified": self.allow_unverified,
            "basis_note": self.basis_note,
            "evidence_version": self.evidence_version,
            "disclaimer": self.disclaimer,
        }


def _timing_applies(option: dict[str, Any] | None, core: PlanCore) -> dict[str, Any]:
    """Whether the radiotherapy start target applies: only when a regimen is recommended."""
    if option is not None and option["kind"] == "radiotherapy":
        return {"applies": True, "note": None}
    if option is not None:
        why = f"{option['label']} leads; the target applies only if radiotherapy is given."
    elif core.reirradiation is not None and core.radiotherapy.ranking_claim:
        why = (
            "No regimen stays within the re-irradiation limits, so no radiotherapy start target "
            "is shown; the re-irradiation decision needs a specialist review first."
        )
    else:
        why = "No regimen is recommended (no ranking claim); the target applies once one is chosen."
    return {"applies": False, "note": why}


def build_plan(
    assessment: Assessment,
    kb: KnowledgeBase,
    *,
    allow_unverified: bool = False,
    evidence: Evidence | None = None,
    decisive_unknowns: bool = True,
) -> Plan:
    """Build the treatment plan of an assessed patient.

    Parameters
    ----------
    assessment : the patient and every instrument result (``mescc.assess`` without the plan)
    kb : the knowledge base the instruments were evaluated with
    allow_unverified : let unverified instruments decide (the plan then warns)
    evidence : the evidence knowledge base (default: the packaged one)
    decisive_unknowns : search the missing inputs that could change the plan (default True)

    Returns
    -------
    Plan, frozen; ``plan.as_dict()`` is the contract's ``plan`` JSON.

    References
    ----------
    Rades D, Schild SE. Personalization of Radiation Therapy in the Primary Treatment of
    Malignant Epidural Spinal Cord Compression (MESCC). Semin Radiat Oncol 2023;33(2):148-158.
    DOI 10.1016/j.semradonc.2022.11.005
    """
    evidence = evidence or load_evidence()
    rules = checked_rules(kb, evidence)
    citer = citer_for(evidence, kb)
    core = build_core(
        assessment.patient,
        views_of(assessment.instruments),
        kb,
        evidence,
        rules,
        citer,
        allow_unverified=allow_unverified,
        missing=missing_of(assessment.instruments),
    )
    unknowns = (
        find_decisive_unknowns(
            assessment, core, kb, evidence, rules, citer, allow_unverified=allow_unverified
        )
        if decisive_unknowns
        else ()
    )
    reirr = core.reirradiation
    return Plan(
        core=core,
        decisive_unknowns=unknowns,
        allow_unverified=allow_unverified,
        disclaimer=" ".join(rules.disclaimer.split()),
        timing=timing_dict(evidence, citer),
        basis_note=" ".join(evidence.ranking.basis_note.split()),
        evidence_version=evidence.digest,
        reirradiation_citation=citer.citation(reirr.rule_set.source) if reirr else None,
    )


def recommended_regimens_for_table(
    frame: pl.DataFrame,
    kb: KnowledgeBase | None = None,
    *,
    allow_unverified: bool = False,
    evidence: Evidence | None = None,
) -> pl.Series:
    """The recommended regimen of every row of a batch table (see :mod:`mescc.plan.table`).

    Imported lazily so that ``import mescc.plan`` does not import polars.
    """
    from mescc.plan.table import recommended_regimens_for_table as impl

    return impl(frame, kb, allow_unverified=allow_unverified, evidence=evidence)
