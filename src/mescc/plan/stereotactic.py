"""Stereotactic radiosurgery / SBRT: an option to discuss, where the verified evidence says so.

NOMS (``noms_review_2010``, VERIFIED-P) routes a radioresistant histology without high-grade
compression to high-dose stereotactic radiosurgery (SRS), and with high-grade compression to
separation surgery followed by SRS; ASTRO 2024 (``astro_2024``) conditionally recommends SBRT
over conventional RT for selected patients with good performance status, without surgery and
without neurological symptoms or signs. Only those routes are listed, each with its basis; the
limits of the evidence (``surgery.yaml`` ``stereotactic``: no completed MESCC trial with confirmed
results, dose by specialist protocol) are said with every option.

Clinical traps guarded: SRS/SBRT is never a default and never replaces the ranked conventional
course for MESCC with neurological deficits; "radioresistant" is read only from the verified
NOMS classes (an unclassified histology is not radioresistant); ASTRO's "good performance
status" has no verified cut-off, so the performance status is shown, not judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mescc.kb.evidence import Evidence
from mescc.patient import Patient
from mescc.plan.reasons import Citer, Reason
from mescc.plan.surgery import SurgeryDecision


@dataclass(frozen=True)
class StereotacticOption:
    """One stereotactic route to discuss, with its basis."""

    id: str
    label: str
    reason: Reason

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "basis": self.reason.as_dict()}


@dataclass(frozen=True)
class Stereotactic:
    """The stereotactic element of the plan."""

    discuss: bool
    options: tuple[StereotacticOption, ...]
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "discuss": self.discuss,
            "options": [o.as_dict() for o in self.options],
            "reasons": [r.as_dict() for r in self.reasons],
        }


def assess_stereotactic(
    patient: Patient,
    decision: SurgeryDecision,
    neuro_signs: bool | None,
    evidence: Evidence,
    citer: Citer,
) -> Stereotactic:
    """The stereotactic routes the verified sources support for this patient, if any.

    References
    ----------
    Laufer I, et al. The NOMS framework. Oncologist 2013. PMID 23709750.
    Alcorn S, et al. ASTRO guideline 2024. Pract Radiat Oncol. DOI 10.1016/j.prro.2024.04.018.
    """
    surgery = evidence.surgery
    rules = {r.id: r for r in surgery.noms.rules}
    options: list[StereotacticOption] = []
    radio, escc = decision.radiosensitivity, decision.escc_group
    if radio == "radioresistant" and escc is not None:
        if escc != "high_grade" and "radioresistant_low_grade" in rules:
            rule = rules["radioresistant_low_grade"]
            options.append(
                StereotacticOption(
                    "srs",
                    "Stereotactic radiosurgery (SRS) at a specialist centre",
                    Reason(
                        "noms_srs_radioresistant",
                        f"NOMS (radioresistant histology {patient.primary_tumor}, no high-grade "
                        f"compression): {rule.recommendation}",
                        (rule.source,),
                        {"primary_tumor": patient.primary_tumor, "escc_grade": patient.escc_grade},
                        rule.verification,
                    ),
                )
            )
        elif escc == "high_grade" and "radioresistant_high_grade" in rules:
            rule = rules["radioresistant_high_grade"]
            route = (
                "the decompression opinion above can weigh it"
                if decision.decompression
                else "it needs surgery, which is not suggested for this patient (see surgery)"
            )
            options.append(
                StereotacticOption(
                    "separation_surgery_then_srs",
                    "Separation surgery, then postoperative SRS",
                    Reason(
                        "noms_separation_surgery_srs",
                        f"NOMS (radioresistant histology {patient.primary_tumor}, high-grade "
                        f"compression): {rule.recommendation} ({route}).",
                        (rule.source,),
                        {"primary_tumor": patient.primary_tumor, "escc_grade": patient.escc_grade},
                        rule.verification,
                    ),
                )
            )
    astro = next((g for g in surgery.guideline if g.id == "astro_2024_sbrt_selected"), None)
    if neuro_signs is False and astro is not None:
        ps = (
            f"ECOG {patient.ecog}"
            if patient.ecog is not None
            else (f"KPS {patient.kps}" if patient.kps is not None else "not recorded")
        )
        options.append(
            StereotacticOption(
                "sbrt_no_neurological_signs",
                "SBRT instead of conventional RT (selected patients)",
                Reason(
                    "astro_sbrt_selected",
                    f"{astro.recommendation}: {astro.text.rstrip('.')} for "
                    f"{astro.population[:1].lower()}{astro.population[1:]} "
                    f"({astro.strength} recommendation). Performance status here: {ps}; no "
                    "verified cut-off defines 'good'.",
                    (astro.source,),
                    {"neurological_signs": False},
                    astro.verification,
                ),
            )
        )
    reasons: list[Reason] = []
    if options:
        limits = surgery.stereotactic
        reasons.append(
            Reason(
                "stereotactic_limits",
                " ".join(limits.limits.split()),
                limits.evidence,
                {},
                limits.verification,
            )
        )
    resolved = tuple(StereotacticOption(o.id, o.label, citer.resolve(o.reason)) for o in options)
    return Stereotactic(discuss=bool(options), options=resolved, reasons=citer.all(reasons))
