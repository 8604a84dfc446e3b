"""Assemble the plan's elements from a patient and the instrument results it reads.

:func:`build_core` runs the plan rules in order (prognosis -> re-irradiation -> radiotherapy
ranking -> surgery -> corticosteroids -> bone-modifying agents) on a :class:`Patient` and the
:class:`~mescc.plan.prognosis.ResultView` of each instrument (status, points, group,
verification). It is the one function behind ``build_plan`` (one patient), the decisive-unknown
search (the same patient with one input filled in) and the batch column (one plan per distinct
combination of the columns the ranking reads), so the three cannot disagree.

Clinical trap guarded: the plan reads only those four fields of an instrument result, plus
patient keys and the knowledge-base definitions; anything else it shows (missing inputs,
citations) is presentation and never moves a decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from mescc.engine.result import InstrumentResult
from mescc.kb.evidence import Evidence
from mescc.kb.loader import KnowledgeBase
from mescc.patient import Patient
from mescc.plan.discrepancies import Discrepancy, find_discrepancies
from mescc.plan.prognosis import Prognosis, ResultView, classify_prognosis
from mescc.plan.radiotherapy import RadiotherapyRanking, rank_regimens
from mescc.plan.reasons import Citer
from mescc.plan.reirradiation import Reirradiation, assess_reirradiation
from mescc.plan.rules import PlanRules
from mescc.plan.stereotactic import Stereotactic, assess_stereotactic
from mescc.plan.supportive import (
    BoneModifyingAgents,
    Corticosteroids,
    assess_bone_modifying_agents,
    assess_corticosteroids,
)
from mescc.plan.surgery import Surgery, assess_surgery, neurological_signs, surgery_decision


@dataclass(frozen=True)
class PlanCore:
    """Every element of the plan except the decisive-unknown search."""

    prognosis: Prognosis
    radiotherapy: RadiotherapyRanking
    surgery: Surgery
    corticosteroids: Corticosteroids
    bone_modifying_agents: BoneModifyingAgents
    reirradiation: Reirradiation | None
    warnings: tuple[str, ...]
    discrepancies: tuple[Discrepancy, ...] = ()
    stereotactic: Stereotactic | None = None

    @property
    def recommended_regimen(self) -> str | None:
        """The label of the recommended regimen, or None without a ranking claim."""
        rec = self.radiotherapy.recommended
        return rec.label if rec is not None else None

    @property
    def recommended_label(self) -> str | None:
        """The label of what leads: a regimen or best supportive care (None without a claim)."""
        opt = self.radiotherapy.recommended_option
        return opt["label"] if opt is not None else None

    @property
    def decision(self) -> tuple[str | None, bool, bool]:
        """What the decisive-unknown search compares: (what leads, decompression, stabilisation)."""
        return (
            self.recommended_label,
            self.surgery.decompression.consider,
            self.surgery.stabilisation.consider,
        )


def views_of(results: Mapping[str, InstrumentResult]) -> dict[str, ResultView]:
    """The plan's view of every instrument result."""
    return {iid: ResultView.of(r) for iid, r in results.items()}


def missing_of(results: Mapping[str, InstrumentResult]) -> dict[str, tuple[str, ...]]:
    """The missing inputs of every instrument result (presentation only)."""
    return {iid: r.missing for iid, r in results.items()}


def rank_for(
    patient: Patient | None,
    views: Mapping[str, ResultView],
    kb: KnowledgeBase,
    evidence: Evidence,
    rules: PlanRules,
    citer: Citer,
    *,
    allow_unverified: bool,
    missing: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[Prognosis, Reirradiation | None, RadiotherapyRanking]:
    """Prognosis, re-irradiation check and the regimen ranking (the batch path stops here)."""
    prognosis = classify_prognosis(
        views, kb, rules, allow_unverified=allow_unverified, missing=missing
    )
    prognosis = replace(prognosis, reasons=citer.all(prognosis.reasons))
    reirradiation = assess_reirradiation(patient, evidence, rules) if patient else None
    if reirradiation is not None:
        reirradiation = replace(reirradiation, reasons=citer.all(reirradiation.reasons))
    priority = patient.preferences.priority if patient and patient.preferences else None
    ranking = rank_regimens(prognosis, priority, evidence, rules, citer, reirradiation)
    return prognosis, reirradiation, ranking


def build_core(
    patient: Patient,
    views: Mapping[str, ResultView],
    kb: KnowledgeBase,
    evidence: Evidence,
    rules: PlanRules,
    citer: Citer,
    *,
    allow_unverified: bool = False,
    missing: Mapping[str, tuple[str, ...]] | None = None,
) -> PlanCore:
    """Run every plan rule for one patient; see the module docstring for the order."""
    prognosis, reirradiation, ranking = rank_for(
        patient,
        views,
        kb,
        evidence,
        rules,
        citer,
        allow_unverified=allow_unverified,
        missing=missing,
    )
    surgery = assess_surgery(patient, views, prognosis, kb, evidence, rules, citer, reirradiation)
    stereotactic = assess_stereotactic(
        patient,
        surgery_decision(patient, views, prognosis, kb, evidence, rules),
        neurological_signs(patient, rules)[0],
        evidence,
        citer,
    )
    steroids = assess_corticosteroids(patient, evidence, rules, citer)
    bone = assess_bone_modifying_agents(
        patient, evidence, citer, near_end_of_life=prognosis.near_end_of_life
    )
    discrepancies = tuple(find_discrepancies(patient, kb, evidence))
    warnings: list[str] = [
        *(d.text for d in discrepancies),
        *prognosis.warnings,
        *ranking.warnings,
    ]
    if surgery.decompression.consider:
        study = evidence.regimen(rules.patchell.study_regimen).label
        warnings.append(
            "A decompression opinion is suggested: if surgery is done, the radiotherapy options "
            f"above apply to postoperative radiotherapy (both Patchell 2005 arms received {study})"
            + (
                f"; for this histology NOMS suggests: {surgery.radiosensitivity['recommendation']}"
                if surgery.radiosensitivity and surgery.radiosensitivity.get("recommendation")
                else ""
            )
            + "."
        )
    rec = ranking.recommended
    if reirradiation is not None and rec is not None:
        chk = reirradiation.check_for(rec.regimen_id)
        if chk.within_limits is None:
            warnings.append(
                f"The re-irradiation check of {rec.label}, ranked first, is undetermined: "
                f"{chk.text} Confirm the cord dose and the interval before choosing it."
            )
    if allow_unverified:
        warnings.append(
            "Unverified instruments were allowed to decide (--allow-unverified); any result "
            "they produced is labelled unverified where it is used."
        )
    return PlanCore(
        prognosis=prognosis,
        radiotherapy=ranking,
        surgery=surgery,
        corticosteroids=steroids,
        bone_modifying_agents=bone,
        reirradiation=reirradiation,
        warnings=tuple(dict.fromkeys(" ".join(w.split()) for w in warnings)),
        discrepancies=discrepancies,
        stereotactic=stereotactic,
    )


def timing_dict(evidence: Evidence, citer: Citer) -> dict[str, Any]:
    """How quickly radiotherapy should start (NICE QS56), with its citation."""
    t = evidence.timing.rt_start_target
    return {
        "statement": " ".join(t.statement.split()),
        "hours": t.hours,
        "reference_point": t.reference_point,
        "population": t.population,
        "source": t.source,
        "citation": citer.citation(t.source),
        "verification": t.verification,
    }
