"""Soft discrepancies in the record: values that can both be true but rarely are.

Hard contradictions (values that cannot both be true) are input errors
(:mod:`mescc.consistency`). The ones here are warnings shown at the top of the plan, because
each can happen (performance status rated on another day, a patient not walking because of
pain), but each changes which instrument reads which value:

* ECOG and KPS further apart than either published ECOG-KPS pairing allows (the empirical
  mapping of ``conversions.yaml`` and the other pairing in use, spine-instruments §15c, Q12):
  each instrument reads its own scale, so they may then classify the same patient apart;
* ECOG 0-1 (ambulatory by definition) for a patient recorded as not ambulatory or paraplegic,
  and ECOG 4 (confined to bed or chair) for one recorded as walking without aid (ECOG grade
  wording, spine-instruments §15a, VERIFIED-P);
* not ambulatory with ``neurological_signs: false`` (possible with pain; steroids then rest on
  the recorded absence of signs).

The clinician confirms the record; the plan never picks one of the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mescc.kb.evidence import Evidence
from mescc.kb.loader import KnowledgeBase
from mescc.patient import Patient


@dataclass(frozen=True)
class Discrepancy:
    """One soft discrepancy: its code, the fields involved, the sentence and its basis."""

    code: str
    fields: tuple[str, ...]
    text: str
    basis: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "fields": list(self.fields),
            "text": self.text,
            "basis": self.basis,
        }


def _span(values: tuple[int, ...]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def _readers(kb: KnowledgeBase, key: str) -> list[str]:
    """Names of the computable instruments that read ``key`` natively."""
    return [
        inst.name
        for inst in kb.instruments.values()
        if not inst.is_skeleton and any(key in item.inputs for item in inst.items)
    ]


def find_discrepancies(
    patient: Patient, kb: KnowledgeBase, evidence: Evidence
) -> list[Discrepancy]:
    """Every soft discrepancy of the record (see the module docstring)."""
    out: list[Discrepancy] = []
    ecog, kps, amb = patient.ecog, patient.kps, patient.ambulatory_status
    conv = evidence.conversions
    if ecog is not None and kps is not None:
        empirical = conv.ecog_to_kps.get(ecog, ())
        other = conv.other_pairing.ecog_to_kps.get(ecog, ()) if conv.other_pairing else ()
        if kps not in (*empirical, *other):
            alt = f", or KPS {_span(other)} in the other pairing in use" if other else ""
            out.append(
                Discrepancy(
                    "ecog_kps_apart",
                    ("ecog", "kps"),
                    f"ECOG {ecog} and KPS {kps} are further apart than the published ECOG-KPS "
                    f"pairings allow (ECOG {ecog} is about KPS {_span(empirical)} in the "
                    f"empirical mapping{alt}). Each instrument reads its own scale (ECOG: "
                    f"{', '.join(_readers(kb, 'ecog'))}; KPS: {', '.join(_readers(kb, 'kps'))}), "
                    "so they may class the patient apart: confirm both values.",
                    "spine-instruments 15c (Q12); conversions.yaml",
                )
            )
    if ecog is not None and amb is not None:
        if ecog <= 1 and amb in ("not_ambulatory", "paraplegic"):
            out.append(
                Discrepancy(
                    "ecog_ambulatory_apart",
                    ("ecog", "ambulatory_status"),
                    f"ECOG {ecog} describes an ambulatory patient, but the ambulatory status is "
                    f"{amb.replace('_', ' ')}: confirm when each was recorded (performance "
                    "status before the compression?).",
                    "ECOG grade wording, spine-instruments 15a (VERIFIED-P)",
                )
            )
        if ecog == 4 and amb == "ambulatory_without_aid":
            out.append(
                Discrepancy(
                    "ecog_ambulatory_apart",
                    ("ecog", "ambulatory_status"),
                    "ECOG 4 describes a patient totally confined to bed or chair, but the "
                    "patient is recorded as walking without aid: confirm both values.",
                    "ECOG grade wording, spine-instruments 15a (VERIFIED-P)",
                )
            )
    if amb == "not_ambulatory" and patient.neurological_signs is False:
        out.append(
            Discrepancy(
                "not_ambulatory_without_signs",
                ("ambulatory_status", "neurological_signs"),
                "The patient is not ambulatory but recorded without neurological signs of MESCC "
                "(possible, e.g. with pain); the corticosteroid suggestion rests on that "
                "recorded absence: confirm it.",
                "NICE NG234 1.8.1 / 1.8.7 (steroids by neurological signs)",
            )
        )
    return out
