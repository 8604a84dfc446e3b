"""Turn a definition into a compiled instrument once per process.

A compiled item knows, for each combination of its inputs (known or missing), which category
applies, whether the value is one the source does not score, or which inputs are missing and
which categories are still possible (three-valued logic: a condition on a missing input is
unknown, not false). Finite input domains are tabulated up front; numeric inputs are evaluated
on demand by the same function. The table path (polars) reads the same compiled entries.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mescc.fields import FIELD_BY_KEY
from mescc.kb.loader import KnowledgeBase
from mescc.kb.schema import VERIFICATION_ORDER, Group, Instrument, Item, Predicate

Conds = tuple[tuple[str, Predicate], ...]


@dataclass(frozen=True, slots=True)
class CompiledCategory:
    label: str
    points: int | None
    alt_points: int | None
    conflict_note: str | None
    verification: str
    group: str | None
    conds: Conds
    # The label this category gives a computed result. A category in CONFLICT (alternative
    # points) is labelled unverified in its file, but its conflict is judged by comparing the
    # groups of both codings: when they differ the result is not computable (unverified); when
    # they agree the conflict cannot change the group and the item's own level applies (Q3, Q10).
    scored_verification: str = ""


@dataclass(frozen=True, slots=True)
class Resolution:
    """What an item's inputs say: a category, an undefined value, or not yet known."""

    kind: str  # "category" | "undefined" | "unknown"
    index: int = -1
    missing: tuple[str, ...] = ()
    possible: tuple[int, ...] = ()  # category indices still possible
    possible_undefined: bool = False
    converted_from: str | None = None
    reason: str | None = None


def _holds3(conds: Conds, values: Mapping[str, Any]) -> bool | None:
    """Kleene AND of the conditions: True, False, or None when an input is missing."""
    unknown = False
    for key, pred in conds:
        v = values.get(key)
        if v is None:
            unknown = True
        elif not pred.holds(v):
            return False
    return None if unknown else True


@dataclass(frozen=True, eq=False)
class CompiledItem:
    factor: str
    label: str
    inputs: tuple[str, ...]
    verification: str
    categories: tuple[CompiledCategory, ...]
    undefined: tuple[tuple[Conds, str], ...]
    convert_target: str | None
    convert_source: str | None
    conversion: Mapping[Any, tuple[Any, ...]]  # source value -> possible target values
    conversion_text: str

    def resolve_known(self, values: Mapping[str, Any]) -> Resolution:
        """Resolve without conversion."""
        possible: list[int] = []
        missing: set[str] = set()
        for i, cat in enumerate(self.categories):
            r = _holds3(cat.conds, values)
            if r is True:
                return Resolution("category", i)
            if r is None:
                possible.append(i)
                missing.update(k for k, _ in cat.conds if values.get(k) is None)
        undefined_possible = False
        for conds, reason in self.undefined:
            r = _holds3(conds, values)
            if r is True:
                return Resolution("undefined", reason=reason)
            if r is None:
                undefined_possible = True
                missing.update(k for k, _ in conds if values.get(k) is None)
        if not possible and not undefined_possible:
            raise AssertionError(f"{self.factor}: no category for {dict(values)}")  # loader-proved
        ordered = tuple(k for k in self.inputs if k in missing)
        return Resolution(
            "unknown",
            missing=ordered,
            possible=tuple(possible),
            possible_undefined=undefined_possible,
        )

    def resolve(self, row: Mapping[str, Any]) -> Resolution:
        """Resolve the item for one patient row, converting ECOG/KPS where allowed."""
        res = self.resolve_known(row)
        tgt, src = self.convert_target, self.convert_source
        if res.kind != "unknown" or tgt is None or tgt not in res.missing:
            return res
        src_value = row.get(src) if src else None
        if src_value is None:
            return res
        candidates = self.conversion.get(src_value, ())
        note = f"{tgt} converted from {src} {src_value} ({self.conversion_text})"
        if not candidates:
            return Resolution(
                "undefined",
                reason=f"{src} {src_value} has no {tgt} equivalent "
                f"in the conversion ({self.conversion_text})",
            )
        outcomes = []
        for cand in candidates:
            values = dict(row)
            values[tgt] = cand
            outcomes.append(self.resolve_known(values))
        kinds = {(o.kind, o.index, o.reason) for o in outcomes}
        if len(kinds) == 1:
            o = outcomes[0]
            return Resolution(
                o.kind,
                o.index,
                o.missing,
                o.possible,
                o.possible_undefined,
                converted_from=note,
                reason=o.reason,
            )
        poss = sorted({o.index for o in outcomes if o.kind == "category"})
        return Resolution(
            "unknown",
            missing=(tgt,),
            possible=tuple(poss),
            possible_undefined=any(o.kind == "undefined" for o in outcomes),
            converted_from=note,
            reason=f"{note} straddles a cut-point of this item; enter {tgt} to decide",
        )


@dataclass(frozen=True, eq=False)
class CompiledInstrument:
    id: str
    name: str
    definition: Instrument
    kind: str
    skeleton: bool
    items: tuple[CompiledItem, ...]
    applies: Conds
    groups: tuple[Group, ...]
    group_of_total: Mapping[int, int]  # total -> group index
    total_lo: int
    total_hi: int
    verification: str
    citation: str
    flags: tuple[str, ...]
    has_conflict: bool
    inputs: tuple[str, ...]

    def group_index(self, total: int) -> int:
        idx = self.group_of_total.get(total)
        if idx is None:
            raise ValueError(
                f"{self.id}: total {total} lies in no published group; this is a data error, "
                "never assigned to the nearest group"
            )
        return idx


def weakest(*labels: str) -> str:
    """The weakest verification label of several."""
    return min(labels, key=lambda x: VERIFICATION_ORDER[x])


def _conds(when: Mapping[str, Predicate]) -> Conds:
    return tuple(when.items())


def _conversion(kb: KnowledgeBase, target: str, source: str) -> dict[Any, tuple[Any, ...]]:
    if (target, source) == ("kps", "ecog"):
        return {e: tuple(v) for e, v in kb.ecog_to_kps.items()}
    inverse: dict[Any, list[int]] = {}
    for e, kps_values in kb.ecog_to_kps.items():
        for k in kps_values:
            inverse.setdefault(k, []).append(e)
    return {k: tuple(v) for k, v in inverse.items()}


def compile_item(item: Item, inst: Instrument, kb: KnowledgeBase) -> CompiledItem:
    level = item.verification or inst.verification
    cats = tuple(
        CompiledCategory(
            label=c.label,
            points=c.points,
            alt_points=c.alternative_points[0] if c.alternative_points else None,
            conflict_note=c.conflict_note,
            verification=c.verification or level,
            group=c.group,
            conds=_conds(c.when),
            scored_verification=level if c.alternative_points else (c.verification or level),
        )
        for c in item.categories
    )
    target = source = None
    conversion: dict[Any, tuple[Any, ...]] = {}
    if item.convert:
        target, source = next(iter(item.convert.items()))
        conversion = _conversion(kb, target, source)
    return CompiledItem(
        factor=item.factor,
        label=item.label,
        inputs=item.inputs,
        verification=level,
        categories=cats,
        undefined=tuple((_conds(u.when), u.reason) for u in item.undefined),
        convert_target=target,
        convert_source=source,
        conversion=conversion,
        conversion_text=kb.conversion_citation,
    )


def compile_instrument(inst: Instrument, kb: KnowledgeBase) -> CompiledInstrument:
    items = tuple(compile_item(i, inst, kb) for i in inst.items) if not inst.is_skeleton else ()
    group_of: dict[int, int] = {}
    for gi, g in enumerate(inst.groups):
        if g.range is not None:
            for t in range(g.range[0], g.range[1] + 1):
                group_of[t] = gi
    lo, hi = inst.total_range if inst.total_range else (0, 0)
    return CompiledInstrument(
        id=inst.id,
        name=inst.name,
        definition=inst,
        kind=inst.kind,
        skeleton=inst.is_skeleton,
        items=items,
        applies=_conds(inst.applies_to or {}),
        groups=inst.groups,
        group_of_total=group_of,
        total_lo=lo,
        total_hi=hi,
        verification=inst.verification,
        citation=inst.citation.short(),
        flags=inst.flags,
        has_conflict=any(c.alt_points is not None for i in items for c in i.categories),
        inputs=inst.inputs,
    )


@lru_cache(maxsize=8)
def compile_kb(kb: KnowledgeBase) -> tuple[CompiledInstrument, ...]:
    """Every instrument of a knowledge base, compiled once (cached per knowledge base)."""
    return tuple(compile_instrument(inst, kb) for inst in kb.instruments.values())


def finite_domain(key: str) -> tuple[Any, ...] | None:
    """Allowed values of a key when finite (used to tabulate items)."""
    return FIELD_BY_KEY[key].domain()


def tabulate(item: CompiledItem) -> dict[tuple[Any, ...], Resolution] | None:
    """Resolution of every combination of an item's inputs (including missing), if finite."""
    keys = list(item.inputs)
    if item.convert_source and item.convert_source not in keys:
        keys.append(item.convert_source)
    domains = []
    for k in keys:
        dom = finite_domain(k)
        if dom is None:
            return None
        domains.append((*dom, None))
    table: dict[tuple[Any, ...], Resolution] = {}
    for combo in itertools.product(*domains):
        table[combo] = item.resolve(dict(zip(keys, combo, strict=True)))
    return table
