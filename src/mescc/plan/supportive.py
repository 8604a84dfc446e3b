"""Supportive care with radiotherapy: corticosteroids and bone-modifying agents.

**Corticosteroids** (``steroids.yaml``; evidence ids ``nice_ng234``, ``astro_2024``,
``sorensen_1994``, ``heimdal_1992``, ``graham_2006``, ``kumar_steroid_review``):

* a contraindication recorded by the clinician (``steroid_contraindication: true``) means no
  steroid is suggested; the plan says so and repeats the clinician's note;
* confirmed haematological malignancy (``plan_rules.yaml``: lymphoma, myeloma): NICE NG234
  1.8.5, the 16 mg starting dose, then a discussion with the haematology MDT;
* neurological symptoms or signs (recorded, or implied by a recorded deficit): NICE NG234
  1.8.1, dexamethasone 16 mg as soon as possible, then 16 mg daily (the dose is NICE's, read from
  ``starting_dose``);
* no neurological signs recorded: NICE 1.8.7 (not routinely, unless part of an RT regimen);
* the high-dose (96 mg) evidence is shown with its toxicity; no taper schedule, glucose
  monitoring or contraindication list is shown as guidance (R6: UNVERIFIED).

**Bone-modifying agents** (``bone_agents.yaml``; ``rades_zoledronic_2012``, ``score1_prelim``,
``rades_schild_2023``, ``nice_ng234``): the review's "may improve local control"; the
zoledronic-acid figures with their matched-pair (non-randomised) design label; RANK-ligand
inhibitors qualitatively only (R7); a recorded contraindication is honoured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mescc.kb.evidence import Evidence, Finding
from mescc.patient import Patient
from mescc.plan.reasons import PROJECT_DECISION, Citer, Reason
from mescc.plan.rules import PlanRules
from mescc.plan.surgery import neurological_signs


def _finding_dict(f: Finding, citer: Citer) -> dict[str, Any]:
    return {
        "id": f.id,
        "statement": " ".join(f.statement.split()),
        "design": f.design,
        "agent": f.agent,
        "figures": [
            {
                "endpoint": fig.endpoint,
                "definition": fig.definition,
                "arms": [a.model_dump(exclude_none=True) for a in fig.arms],
                "p_value": fig.p_value,
                "verification": fig.verification,
            }
            for fig in f.figures
        ],
        "source": f.source,
        "citation": citer.citation(f.source),
        "verification": f.verification,
    }


@dataclass(frozen=True)
class Corticosteroids:
    """The corticosteroid element of the plan."""

    suggest: bool | None
    contraindication_recorded: bool
    contraindication_note: str | None
    starting_dose: dict[str, Any] | None
    recommendations: tuple[dict[str, Any], ...]
    high_dose_evidence: tuple[dict[str, Any], ...]
    cautions: tuple[dict[str, Any], ...]
    contraindication_policy: str
    not_shown: tuple[dict[str, Any], ...]
    reasons: tuple[Reason, ...]
    missing: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "suggest": self.suggest,
            "drug": "dexamethasone" if self.starting_dose else None,
            "starting_dose": self.starting_dose,
            "contraindication_recorded": self.contraindication_recorded,
            "contraindication_note": self.contraindication_note,
            "contraindication_policy": self.contraindication_policy,
            "recommendations": [dict(r) for r in self.recommendations],
            "high_dose_evidence": [dict(h) for h in self.high_dose_evidence],
            "cautions": [dict(c) for c in self.cautions],
            "not_shown": [dict(n) for n in self.not_shown],
            "reasons": [r.as_dict() for r in self.reasons],
            "missing": list(self.missing),
        }


@dataclass(frozen=True)
class BoneModifyingAgents:
    """The bone-modifying agent element of the plan."""

    suggest: bool
    contraindication_recorded: bool
    agents: tuple[str, ...]
    evidence: tuple[dict[str, Any], ...]
    checks: tuple[str, ...]
    not_shown: tuple[dict[str, Any], ...]
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "suggest": self.suggest,
            "contraindication_recorded": self.contraindication_recorded,
            "agents": list(self.agents),
            "evidence": [dict(e) for e in self.evidence],
            "checks": list(self.checks),
            "not_shown": [dict(n) for n in self.not_shown],
            "reasons": [r.as_dict() for r in self.reasons],
        }


def _rec(evidence: Evidence, rec_id: str) -> Any:
    return next(r for r in evidence.steroids.recommendations if r.id == rec_id)


def assess_corticosteroids(
    patient: Patient, evidence: Evidence, rules: PlanRules, citer: Citer
) -> Corticosteroids:
    """Corticosteroids if safely possible: NICE NG234 dose and cautions, contraindication honoured.

    References
    ----------
    NICE NG234 (2023), recommendations 1.8.1, 1.8.2, 1.8.5, 1.8.7 (secondary summary).
    Heimdal K, et al. J Neurooncol 1992;12(2):141-144. DOI 10.1007/BF00172664.
    Sørensen PS, et al. Eur J Cancer 1994;30A(1):22-27. DOI 10.1016/s0959-8049(05)80011-5.
    """
    st = evidence.steroids
    label = st.display_label_nice
    dose = st.starting_dose
    reasons: list[Reason] = []
    missing: list[str] = []
    neuro, neuro_key = neurological_signs(patient, rules)
    haem = patient.primary_tumor in rules.haematological_malignancy.primary_tumors
    contraindicated = patient.steroid_contraindication is True
    suggest: bool | None
    rec_ids: list[str] = []

    if contraindicated:
        suggest = False
        note = patient.steroid_contraindication_note
        reasons.append(
            Reason(
                "steroid_contraindication_recorded",
                "The clinician recorded a contraindication to corticosteroids"
                + (f" ({note})" if note else " (no note given)")
                + "; no corticosteroid is suggested. "
                + st.contraindication_policy,
                (dose.source,),
                {"steroid_contraindication": True, "steroid_contraindication_note": note},
                PROJECT_DECISION,
            )
        )
    elif haem:
        suggest = True
        rec = _rec(evidence, "nice_ng234_1_8_5")
        rec_ids.append(rec.id)
        reasons.append(
            Reason(
                "steroids_haematological_malignancy",
                f"Confirmed haematological malignancy ({patient.primary_tumor}): NICE NG234 "
                f"{rec.recommendation} supports {rec.text[0].lower()}{rec.text[1:]} [{label}]",
                (rec.source, *rules.haematological_malignancy.evidence),
                {"primary_tumor": patient.primary_tumor},
                rec.verification,
            )
        )
    elif neuro is True:
        suggest = True
        rec = _rec(evidence, "nice_ng234_1_8_1")
        rec_ids.append(rec.id)
        via = "" if neuro_key == "neurological_signs" else f" (implied by {neuro_key})"
        daily = f"{dose.daily_dose_mg:g} mg daily" if dose.daily_dose_mg else "daily"
        reasons.append(
            Reason(
                "steroids_neurological_signs",
                f"Neurological signs of MESCC{via}: consider dexamethasone "
                f"{dose.initial_dose_mg:g} mg {dose.route} as soon as possible, then "
                f"{daily} while awaiting surgery or radiotherapy, as "
                f"{dose.attribution} [{label}].",
                (dose.source,),
                {neuro_key or "neurological_signs": True},
                dose.verification,
            )
        )
    elif neuro is False:
        suggest = False
        rec = _rec(evidence, "nice_ng234_1_8_7")
        rec_ids.append(rec.id)
        reasons.append(
            Reason(
                "steroids_no_neurological_signs",
                f"No neurological signs recorded: NICE NG234 {rec.recommendation}: {rec.text} "
                f"[{label}]",
                (rec.source,),
                {"neurological_signs": False},
                rec.verification,
            )
        )
    else:
        suggest = None
        missing.append("neurological_signs")
        reasons.append(
            Reason(
                "steroids_neurological_signs_unknown",
                "Whether neurological symptoms or signs of MESCC are present is not recorded; "
                "it decides whether NICE NG234 supports dexamethasone.",
                (dose.source,),
                {},
                dose.verification,
            )
        )
    if suggest:
        astro = _rec(evidence, "astro_2024_rt_with_dexamethasone")
        rec_ids.append(astro.id)
        reasons.append(
            Reason(
                "steroids_with_rt",
                f"{astro.recommendation}: {astro.text.rstrip('.')} ({astro.strength} "
                f"recommendation, {astro.evidence_quality}-quality evidence).",
                (astro.source,),
                {},
                astro.verification,
            )
        )
        stop = _rec(evidence, "nice_ng234_1_8_2")
        rec_ids.append(stop.id)
        high = next((c for c in st.cautions if c.id == "high_dose_gi_toxicity"), None)
        if high is not None:
            reasons.append(
                Reason(
                    "high_dose_toxicity",
                    f"Caution: {' '.join(high.statement.split())}",
                    (high.source, "sorensen_1994"),
                    {},
                    high.verification,
                )
            )
    recommendations = tuple(
        {
            "id": r.id,
            "recommendation": r.recommendation,
            "population": r.population,
            "text": " ".join(r.text.split()),
            "source": r.source,
            "citation": citer.citation(r.source),
            "verification": r.verification,
            "display_label": label if r.source == dose.source else r.verification,
            "applies": r.id in rec_ids,
        }
        for r in st.recommendations
    )
    if haem and not contraindicated:
        dose = st.haematological_starting_dose
    starting = {
        "drug": dose.drug,
        "initial_dose_mg": dose.initial_dose_mg,
        "daily_dose_mg": dose.daily_dose_mg,
        "route": dose.route,
        "timing": dose.timing,
        "population": dose.population,
        "attribution": dose.attribution,
        "recommendation": dose.recommendation,
        "verification": dose.verification,
        "display_label": label,
    }
    return Corticosteroids(
        suggest=suggest,
        contraindication_recorded=contraindicated,
        contraindication_note=patient.steroid_contraindication_note if contraindicated else None,
        starting_dose=starting if suggest else None,
        recommendations=recommendations,
        high_dose_evidence=tuple(_finding_dict(f, citer) for f in st.high_dose_evidence),
        cautions=tuple(_finding_dict(f, citer) for f in st.cautions),
        contraindication_policy=" ".join(st.contraindication_policy.split()),
        not_shown=tuple(n.model_dump(exclude_none=True) for n in st.not_encoded),
        reasons=citer.all(reasons),
        missing=tuple(missing),
    )


def assess_bone_modifying_agents(
    patient: Patient, evidence: Evidence, citer: Citer, near_end_of_life: bool = False
) -> BoneModifyingAgents:
    """Bisphosphonates / RANK-ligand inhibitors: the review's suggestion with its evidence.

    References
    ----------
    Rades D, et al. Strahlenther Onkol 2012;188(10):910-916 (zoledronic acid, matched pair).
    Rades D, Schild SE. Semin Radiat Oncol 2023;33(2):148-158. DOI 10.1016/j.semradonc.2022.11.005
    """
    ba = evidence.bone_agents
    findings = {f.id: f for f in ba.findings}
    review = findings.get("review_bone_agents")
    zol = findings.get("zoledronic_acid_local_control")
    contraindicated = patient.bone_agent_contraindication is True
    reasons: list[Reason] = []
    if near_end_of_life and not contraindicated:
        reasons.append(
            Reason(
                "bone_agents_not_near_end_of_life",
                "Death within 2 months is predicted: the evidence for bone-modifying agents "
                "concerns local control over a year (zoledronic acid, 1-year local control) and "
                "the review's qualitative statement; no verified source shows a benefit within "
                "2 months, so none is suggested for that reason here (an agent given for another "
                "indication is outside this plan's evidence).",
                tuple(
                    s for s in (review.source if review else None, zol.source if zol else None) if s
                ),
                {},
                PROJECT_DECISION,
            )
        )
    elif contraindicated:
        reasons.append(
            Reason(
                "bone_agent_contraindication_recorded",
                "The clinician recorded a contraindication to bisphosphonates / RANK-ligand "
                "inhibitors; none is suggested.",
                (review.source,) if review else (),
                {"bone_agent_contraindication": True},
                PROJECT_DECISION,
            )
        )
    else:
        if review is not None:
            reasons.append(
                Reason(
                    "bone_agents_may_improve_local_control",
                    "Consider a bisphosphonate or a RANK-ligand inhibitor: "
                    f"{review.statement.rstrip('.')} (the review; no effect size is given for "
                    "RANK-ligand inhibitors).",
                    (review.source,),
                    {},
                    review.verification,
                )
            )
        if zol is not None:
            lc = next((fig for fig in zol.figures if fig.endpoint == "local_control_1y"), None)
            arms = (
                "; ".join(f"{a.label} {round((a.value or 0) * 100):d}%" for a in lc.arms)
                if lc
                else ""
            )
            p = f", p = {lc.p_value}" if lc and lc.p_value else ""
            reasons.append(
                Reason(
                    "zoledronic_acid_matched_pair",
                    f"Zoledronic acid ({zol.design}): 1-year local control {arms}{p}.",
                    (zol.source,),
                    {},
                    zol.verification,
                )
            )
    return BoneModifyingAgents(
        suggest=not contraindicated and not near_end_of_life,
        contraindication_recorded=contraindicated,
        agents=(
            "bisphosphonate (zoledronic acid studied)",
            "RANK-ligand inhibitor (qualitative only)",
        ),
        evidence=tuple(_finding_dict(f, citer) for f in ba.findings),
        checks=(
            "Record a contraindication to bone-modifying agents if one is present "
            "(bone_agent_contraindication); no verified list of checks is encoded.",
        ),
        not_shown=tuple(n.model_dump(exclude_none=True) for n in ba.not_encoded),
        reasons=citer.all(reasons),
    )
