"""Evaluate compiled instruments: one patient (scalar driver) or a whole table (polars).

Both drivers read the same compiled categories: the scalar driver looks up each item's
tabulated resolution (or resolves it on demand for numeric inputs); the table driver turns the
same conditions into polars expressions, with no per-row Python. A property test proves that
they agree on generated patients, missing values included.

Traps guarded: a missing input is never scored as "absent"; a total outside every published
group is an error, never snapped to the nearest group; where sources conflict on an item and the
codings put the patient in different groups, the instrument is not computable and shows both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from mescc.engine.compile import (
    CompiledInstrument,
    CompiledItem,
    Resolution,
    _holds3,
    tabulate,
)
from mescc.engine.result import Estimate, InstrumentResult, ItemScore
from mescc.kb.schema import VERIFICATION_ORDER, Predicate

if TYPE_CHECKING:
    pass

POINTS_NOT_SUPPLIED = "points table not supplied"


@dataclass(frozen=True)
class _FastItem:
    item: CompiledItem
    keys: tuple[str, ...]
    table: Mapping[tuple[Any, ...], Resolution] | None
    scores: tuple[ItemScore, ...]  # one prebuilt (shareable, frozen) score per category
    ranks: tuple[int, ...]


@lru_cache(maxsize=256)
def _fast_items(ci: CompiledInstrument) -> tuple[_FastItem, ...]:
    out = []
    for item in ci.items:
        keys = list(item.inputs)
        if item.convert_source and item.convert_source not in keys:
            keys.append(item.convert_source)
        scores = tuple(
            ItemScore(
                item.factor,
                c.label,
                c.points,
                c.verification,
                None,
                (c.alt_points,) if c.alt_points is not None else None,
                c.conflict_note,
            )
            for c in item.categories
        )
        ranks = tuple(VERIFICATION_ORDER[c.scored_verification] for c in item.categories)
        out.append(_FastItem(item, tuple(keys), tabulate(item), scores, ranks))
    return tuple(out)


@lru_cache(maxsize=256)
def _skeleton_inputs(ci: CompiledInstrument) -> tuple[str, ...]:
    return tuple(dict.fromkeys(k for it in ci.definition.items for k in it.inputs))


_RANK_LABEL = {v: k for k, v in VERIFICATION_ORDER.items()}


def _resolve(fast: _FastItem, row: Mapping[str, Any]) -> Resolution:
    if fast.table is not None:
        return fast.table[tuple([row.get(k) for k in fast.keys])]
    return fast.item.resolve(row)


def evaluate(ci: CompiledInstrument, row: Mapping[str, Any], kb_version: str) -> InstrumentResult:
    """Evaluate one compiled instrument for one patient row (``Patient.to_row()``)."""
    app_missing: tuple[str, ...] = ()
    if ci.applies:
        applies = _holds3(ci.applies, row)
        if applies is False:
            return _cached(ci, kb_version, "not_applicable", ())
        if applies is None:
            app_missing = tuple(k for k, _ in ci.applies if row.get(k) is None)
    if ci.skeleton:
        needed = _skeleton_inputs(ci)
        missing = tuple(dict.fromkeys([*app_missing, *(k for k in needed if row.get(k) is None)]))
        return _cached(ci, kb_version, "not_computable", missing)
    return _evaluate_items(ci, row, kb_version, app_missing)


_STATIC: dict[tuple[str, str, str, tuple[str, ...]], InstrumentResult] = {}


def _cached(
    ci: CompiledInstrument, kb_version: str, status: str, missing: tuple[str, ...]
) -> InstrumentResult:
    """Results that depend only on the instrument and the missing keys (skeletons, exclusions)."""
    key = (ci.id, kb_version, status, missing)
    hit = _STATIC.get(key)
    if hit is not None:
        return hit
    if status == "not_applicable":
        result = _result(
            ci,
            kb_version,
            "not_applicable",
            reason="outside the instrument's population: "
            + ", ".join(f"{k} {_pred_text(p)}" for k, p in ci.applies),
        )
    else:
        result = _result(
            ci, kb_version, "not_computable", missing=missing, reason=POINTS_NOT_SUPPLIED
        )
    if len(_STATIC) > 10_000:
        _STATIC.clear()
    _STATIC[key] = result
    return result


def _evaluate_items(
    ci: CompiledInstrument, row: Mapping[str, Any], kb_version: str, app_missing: tuple[str, ...]
) -> InstrumentResult:

    scores: list[ItemScore] = []
    undefined: list[str] = []
    unknown: list[tuple[CompiledItem, Resolution]] = []
    total = 0
    alt_total = 0
    conflict_items: list[str] = []
    rank = VERIFICATION_ORDER[ci.verification]
    category_label: str | None = None
    for fast in _fast_items(ci):
        item = fast.item
        res = _resolve(fast, row)
        if res.kind == "category":
            idx = res.index
            cat = item.categories[idx]
            pts = cat.points or 0
            total += pts
            if cat.alt_points is not None:
                alt_total += cat.alt_points
                conflict_items.append(
                    f"{item.label}: {cat.label} = {pts} (alternative "
                    f"{cat.alt_points}; {cat.conflict_note})"
                )
            else:
                alt_total += pts
            if fast.ranks[idx] < rank:
                rank = fast.ranks[idx]
            category_label = cat.group
            score = fast.scores[idx]
            if res.converted_from is not None:
                score = replace(score, converted_from=res.converted_from)
            scores.append(score)
        elif res.kind == "undefined":
            undefined.append(f"{item.label}: {res.reason}")
        else:
            unknown.append((item, res))

    verification = _RANK_LABEL[rank]
    missing = tuple(dict.fromkeys([*app_missing, *(k for _, r in unknown for k in r.missing)]))
    if undefined:
        return _result(
            ci,
            kb_version,
            "not_computable",
            items=tuple(scores),
            missing=missing,
            reason="category not defined by the source: " + "; ".join(undefined),
            verification=verification,
        )
    if unknown or app_missing:
        lo = hi = total
        for item, res in unknown:
            options = [item.categories[i].points or 0 for i in res.possible] or [0]
            lo += min(options)
            hi += max(options)
        reasons = [r.reason for _, r in unknown if r.reason]
        text = "missing " + ", ".join(missing) if missing else "inputs unknown"
        if reasons:
            text += "; " + "; ".join(reasons)
        possible_groups: tuple[str, ...] = ()
        possible_points: tuple[int, int] | None = None
        if ci.kind == "classification":
            labels = {it.categories[i].group for it, r in unknown for i in r.possible}
            possible_groups = tuple(g.label for g in ci.groups if g.label in labels)
        else:
            possible_points = (lo, hi)
            gidx = sorted(
                {ci.group_of_total[t] for t in range(lo, hi + 1) if t in ci.group_of_total}
            )
            possible_groups = tuple(ci.groups[i].label for i in gidx)
        return _result(
            ci,
            kb_version,
            "not_computable",
            items=tuple(scores),
            missing=missing,
            reason=text,
            possible_points=possible_points,
            possible_groups=possible_groups,
            verification=verification,
        )

    if ci.kind == "classification":
        gi = next(i for i, g in enumerate(ci.groups) if g.label == category_label)
        return _result(
            ci,
            kb_version,
            "computed",
            items=tuple(scores),
            group_index=gi,
            verification=verification,
        )
    gi = ci.group_index(total)
    conflict_text: str | None = None
    if alt_total != total:
        alt_gi = ci.group_index(alt_total)
        both = f"total {total} (encoded coding) or {alt_total} (alternative coding)"
        if alt_gi != gi:
            return _result(
                ci,
                kb_version,
                "not_computable",
                items=tuple(scores),
                reason=f"item in CONFLICT changes the group: {'; '.join(conflict_items)}; "
                f"{both} fall in groups {ci.groups[gi].label} and {ci.groups[alt_gi].label}",
                possible_points=(min(total, alt_total), max(total, alt_total)),
                possible_groups=tuple(ci.groups[i].label for i in sorted({gi, alt_gi})),
                conflict="; ".join(conflict_items),
                verification="unverified",
            )
        conflict_text = (
            f"{'; '.join(conflict_items)}; {both}, both in group "
            f"{ci.groups[gi].label}: the conflict does not change the group"
        )
    return _result(
        ci,
        kb_version,
        "computed",
        items=tuple(scores),
        points=total,
        group_index=gi,
        conflict=conflict_text,
        verification=verification,
    )


def _pred_text(p: Predicate) -> str:
    parts = []
    if p.in_ is not None:
        parts.append("in " + "/".join(str(v) for v in p.in_))
    for op, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        v = getattr(p, op)
        if v is not None:
            parts.append(f"{sym} {v:g}")
    return " and ".join(parts) + " required"


def _result(
    ci: CompiledInstrument,
    kb_version: str,
    status: Any,
    *,
    items: tuple[ItemScore, ...] = (),
    missing: tuple[str, ...] = (),
    reason: str | None = None,
    points: int | None = None,
    group_index: int | None = None,
    possible_points: tuple[int, int] | None = None,
    possible_groups: tuple[str, ...] = (),
    conflict: str | None = None,
    verification: str | None = None,
) -> InstrumentResult:
    group = ci.groups[group_index] if group_index is not None else None
    estimate = None
    if group is not None and (est := group.estimate) is not None:
        estimate = Estimate(est.outcome, est.value, est.cohort, est.verification)
    return InstrumentResult(
        id=ci.id,
        name=ci.name,
        status=status,
        points=points,
        group=group.label if group else None,
        category=group.category if group else None,
        estimate=estimate,
        items=items,
        missing=missing,
        verification=verification or ci.verification,
        citation=ci.citation,
        reason=reason,
        possible_points=possible_points,
        possible_groups=possible_groups,
        conflict=conflict,
        flags=ci.flags,
        prognosis=group.prognosis if group else None,
        kb_version=kb_version,
        site=_site(ci),
    )


@lru_cache(maxsize=256)
def _site_cached(ci: CompiledInstrument) -> tuple[tuple[str, Any], ...] | None:
    site = ci.definition.site
    if site is None:
        derived = ci.definition.derived
        if derived is None:
            return None
        # a site-derived table (mescc derive): its registry, cohort, dates and split
        return (("kind", "site-derived"), *derived.model_dump(mode="json").items())
    return tuple(site.model_dump(mode="json").items())


def _site(ci: CompiledInstrument) -> dict[str, Any] | None:
    """Who verified a site-supplied table, when, and from which source (A1); for a
    site-derived table, the derivation's provenance (registry, cohort, dates, split)."""
    items = _site_cached(ci)
    return dict(items) if items is not None else None
