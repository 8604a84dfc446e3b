"""Reasons: the unit of explanation of every element of the plan.

A :class:`Reason` is one sentence of decision-support text with a machine code, the ids of the
evidence it rests on (``kb/evidence/sources.yaml`` ids or instrument ids), the patient inputs
that produced it and the verification level of what it cites. Plan rules return reasons with
``evidence_ids`` only; the plan builder resolves the ids to printable citations with a
:class:`Citer` before the plan is frozen, so a reason never travels without its source.

Clinical traps guarded here:

* a reason never orders: its text offers and explains ("consider", "supported by",
  "ranked first because"); the wording is the rule's, this module only carries it;
* a citation is resolved from the knowledge base by id, never typed into the text, so a source
  cannot be cited without being a verified entry of the knowledge base (an unknown id raises).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from mescc.kb.evidence import Evidence
from mescc.kb.loader import KnowledgeBase

#: Verification of a reason beyond the four instrument levels: COMPUTED values (linear-quadratic
#: maths) and project decisions (rules no source states, e.g. score group -> regimen, Q15).
COMPUTED = "computed"
T = TypeVar("T")
PROJECT_DECISION = "project_decision"


def _frozen_inputs(inputs: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(inputs or {}))


@dataclass(frozen=True)
class Reason:
    """One explained step of the plan.

    Parameters
    ----------
    code : machine-readable code of the rule that fired (e.g. ``"escc_high_grade"``)
    text : one sentence of decision-support wording
    evidence_ids : ids in ``sources.yaml`` or instrument ids the sentence rests on
    inputs : the patient inputs (or instrument results) that produced the reason
    verification : ``primary`` | ``secondary`` | ``site-supplied`` | ``unverified`` |
        ``computed`` | ``project_decision`` (weakest level of what the sentence relies on)
    citations : printable citations of ``evidence_ids`` (filled by :class:`Citer`)
    """

    code: str
    text: str
    evidence_ids: tuple[str, ...] = ()
    inputs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    verification: str | None = None
    citations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.inputs, MappingProxyType):
            object.__setattr__(self, "inputs", _frozen_inputs(self.inputs))
        object.__setattr__(self, "evidence_ids", tuple(dict.fromkeys(self.evidence_ids)))

    def as_dict(self) -> dict[str, Any]:
        """The contract's reason object."""
        return {
            "code": self.code,
            "text": self.text,
            "evidence": list(self.evidence_ids),
            "citation": list(self.citations),
            "inputs": {k: _plain(v) for k, v in self.inputs.items()},
            "verification": self.verification,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Citer:
    """Resolves evidence ids to short printable citations (sources first, then instruments)."""

    evidence: Evidence
    kb: KnowledgeBase
    _cache: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _derived: dict[Hashable, Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def citation(self, evidence_id: str) -> str:
        """The printable citation of a source id or an instrument id; ``KeyError`` if neither."""
        cached = self._cache.get(evidence_id)
        if cached is not None:
            return cached
        try:
            text = self.evidence.cite(evidence_id)
        except KeyError:
            inst = self.kb.instruments.get(evidence_id)
            if inst is None:
                raise KeyError(
                    f'"{evidence_id}" is neither an evidence source nor an instrument'
                ) from None
            text = inst.citation.short()
        self._cache[evidence_id] = text
        return text

    def resolve(self, reason: Reason) -> Reason:
        """The reason with its citations filled in."""
        return Reason(
            reason.code,
            reason.text,
            reason.evidence_ids,
            reason.inputs,
            reason.verification,
            tuple(self.citation(e) for e in reason.evidence_ids),
        )

    def derived(self, key: Hashable, build: Callable[[], T]) -> T:
        """A value built once from this knowledge base and evidence (e.g. a regimen's cited
        outcome figures), kept with the citations it contains."""
        if key not in self._derived:
            self._derived[key] = build()
        value: T = self._derived[key]
        return value

    def all(self, reasons: Iterable[Reason]) -> tuple[Reason, ...]:
        """Every reason resolved, in order."""
        return tuple(self.resolve(r) for r in reasons)


_CITERS: dict[tuple[int, int], Citer] = {}


def citer_for(evidence: Evidence, kb: KnowledgeBase) -> Citer:
    """The shared :class:`Citer` of an evidence base and a knowledge base (a few are kept; each
    holds its two bases, so the ids that key it cannot be reused while it is kept)."""
    key = (id(evidence), id(kb))
    citer = _CITERS.get(key)
    if citer is None or citer.evidence is not evidence or citer.kb is not kb:
        if len(_CITERS) >= 8:
            _CITERS.pop(next(iter(_CITERS)))
        citer = _CITERS[key] = Citer(evidence, kb)
    return citer


def reasons_as_dicts(reasons: Iterable[Reason]) -> list[dict[str, Any]]:
    """A sequence of reasons as contract objects."""
    return [r.as_dict() for r in reasons]
