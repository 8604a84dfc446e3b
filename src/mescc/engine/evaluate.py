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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from mescc.engine.compile import (
    CompiledInstrument,
    CompiledItem,
    Conds,
    Resolution,
    _holds3,
    tabulate,
)
from mescc.engine.result import Estimate, InstrumentResult, ItemScore
from mescc.fields import FIELD_BY_KEY
from mescc.kb.schema import VERIFICATION_ORDER, Predicate

if TYPE_CHECKING:
    import polars as pl

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
        ranks = tuple(VERIFICATION_ORDER[c.verification] for c in item.categories)
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
        return None
    return tuple(site.model_dump(mode="json").items())


def _site(ci: CompiledInstrument) -> dict[str, Any] | None:
    """Who verified a site-supplied table, when, and from which source (A1)."""
    items = _site_cached(ci)
    return dict(items) if items is not None else None


# --------------------------------------------------------------------------- table driver

STATUSES = ("computed", "not_computable", "not_applicable")


def _pred_expr(key: str, pred: Predicate) -> pl.Expr:
    import polars as pl

    col = pl.col(key)
    spec = FIELD_BY_KEY[key]
    parts: list[pl.Expr] = []
    if pred.in_ is not None:
        if spec.kind == "bool":
            vals = set(pred.in_)
            parts.append(
                col if vals == {True} else (~col if vals == {False} else col.is_not_null())
            )
        else:
            values = [float(v) for v in pred.in_] if spec.kind == "number" else list(pred.in_)
            parts.append(col.is_in(values))
    if pred.not_in is not None:
        values = [float(v) for v in pred.not_in] if spec.kind == "number" else list(pred.not_in)
        parts.append(~col.is_in(values))
    for op in ("lt", "le", "gt", "ge"):
        v = getattr(pred, op)
        if v is not None:
            parts.append(getattr(col, op)(v))
    expr = parts[0]
    for p in parts[1:]:
        expr = expr & p
    # keep nulls null: is_in on a null value must stay unknown
    return pl.when(col.is_null()).then(None).otherwise(expr)


def _conds_expr(conds: Sequence[tuple[str, Predicate]]) -> pl.Expr:
    import polars as pl

    if not conds:
        return pl.lit(True)
    expr = _pred_expr(*conds[0])
    for c in conds[1:]:
        expr = expr & _pred_expr(*c)
    return expr


def _item_exprs(item: CompiledItem) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """(points, alternative points, undefined flag, category label, verification rank)."""
    import polars as pl

    branches: list[tuple[pl.Expr, Any, Any, Any, Any]] = []
    for cat in item.categories:
        pts = cat.points or 0
        alt = cat.alt_points if cat.alt_points is not None else pts
        branches.append(
            (_conds_expr(cat.conds), pts, alt, cat.group, VERIFICATION_ORDER[cat.verification])
        )
    undef_terms = [_conds_expr(c).fill_null(False) for c, _ in item.undefined]
    if item.convert_target and item.convert_source:
        branches += _conversion_branches(item, undef_terms)

    def chain(pick: int) -> pl.Expr:
        if not branches:
            return pl.lit(None, dtype=pl.Int32)
        first = branches[0]
        expr: Any = pl.when(first[0]).then(pl.lit(first[pick]))
        for branch in branches[1:]:
            expr = expr.when(branch[0]).then(pl.lit(branch[pick]))
        result: pl.Expr = expr.otherwise(None)
        return result

    points_expr = chain(1).cast(pl.Int32)
    alt_expr = chain(2).cast(pl.Int32)
    label = (
        chain(3).cast(pl.String)
        if item.categories and item.categories[0].group
        else (pl.lit(None, dtype=pl.String))
    )
    undefined = pl.any_horizontal(undef_terms) if undef_terms else pl.lit(False)
    rank = chain(4).cast(pl.Int8)
    return points_expr, alt_expr, undefined, label, rank


def _fixed_conds(conds: Conds, key: str, value: Any) -> pl.Expr | None:
    """Conditions with ``key`` fixed to ``value``: None when that part is false."""
    import polars as pl

    rest = []
    for k, pred in conds:
        if k == key:
            if not pred.holds(value):
                return None
        else:
            rest.append((k, pred))
    return _conds_expr(rest) if rest else pl.lit(True)


def _conversion_branches(
    item: CompiledItem, undef_terms: list[pl.Expr]
) -> list[tuple[pl.Expr, Any, Any, Any, Any]]:
    """Branches for rows whose target is missing and whose source converts.

    As in the scalar driver, a converted value scores only when every candidate value of the
    conversion lands in the same category (given the item's other inputs); otherwise the item
    stays unresolved.
    """
    import polars as pl

    assert item.convert_target is not None and item.convert_source is not None
    tgt_key, src_key = item.convert_target, item.convert_source
    tgt, src = pl.col(tgt_key), pl.col(src_key)
    out: list[tuple[pl.Expr, Any, Any, Any, Any]] = []
    for value, candidates in item.conversion.items():
        base = tgt.is_null() & (src == value)
        # category index reached for each candidate value (null when none)
        idx_exprs = []
        undef_all: list[pl.Expr] = []
        for cand in candidates:
            expr: Any = None
            for i, cat in enumerate(item.categories):
                cond = _fixed_conds(cat.conds, tgt_key, cand)
                if cond is None:
                    continue
                expr = (pl.when(cond) if expr is None else expr.when(cond)).then(pl.lit(i))
            idx_exprs.append(
                expr.otherwise(None) if expr is not None else pl.lit(None, dtype=pl.Int32)
            )
            undef_terms_c = [
                c
                for c in (_fixed_conds(conds, tgt_key, cand) for conds, _ in item.undefined)
                if c is not None
            ]
            undef_all.append(pl.any_horizontal(undef_terms_c) if undef_terms_c else pl.lit(False))
        if not candidates:
            undef_terms.append(base.fill_null(False))
            continue
        agreed = pl.all_horizontal([(e == idx_exprs[0]).fill_null(False) for e in idx_exprs])
        for i, cat in enumerate(item.categories):
            pts = cat.points or 0
            alt = cat.alt_points if cat.alt_points is not None else pts
            rank = VERIFICATION_ORDER[cat.verification]
            out.append((base & agreed & (idx_exprs[0] == i), pts, alt, cat.group, rank))
        undef_terms.append((base & pl.all_horizontal(undef_all)).fill_null(False))
    convertible = list(item.conversion)
    undef_terms.append(
        (tgt.is_null() & src.is_not_null() & ~src.is_in(convertible)).fill_null(False)
    )
    return out


_LABELS_BY_RANK = [label for label, _ in sorted(VERIFICATION_ORDER.items(), key=lambda kv: kv[1])]


def instrument_exprs(ci: CompiledInstrument, with_verification: bool = False) -> list[pl.Expr]:
    """Expressions for ``<id>__status``, ``<id>__points`` and ``<id>__group``.

    With ``with_verification`` also ``<id>__verification``: the label of a computed result (the
    instrument's level lowered by any scored category with a weaker label), null otherwise.
    """
    import polars as pl

    status_t = pl.Enum(STATUSES)
    labels = [g.label for g in ci.groups]
    group_t = pl.Enum(labels) if labels else pl.String
    not_applicable = _conds_expr(ci.applies).eq(False).fill_null(False) if ci.applies else None
    sid, pid, gid = f"{ci.id}__status", f"{ci.id}__points", f"{ci.id}__group"
    if ci.skeleton:
        status = pl.lit("not_computable")
        if not_applicable is not None:
            status = pl.when(not_applicable).then(pl.lit("not_applicable")).otherwise(status)
        out = [
            status.cast(status_t).alias(sid),
            pl.lit(None, dtype=pl.Int32).alias(pid),
            pl.lit(None, dtype=group_t).alias(gid),
        ]
        if with_verification:
            out.append(pl.lit(None, dtype=pl.String).alias(f"{ci.id}__verification"))
        return out
    parts = [_item_exprs(item) for item in ci.items]
    resolved = pl.all_horizontal([p[0].is_not_null() for p in parts])
    any_undefined = pl.any_horizontal([p[2] for p in parts])
    ok = resolved & ~any_undefined
    if ci.kind == "classification":
        group = parts[0][3]
        points = pl.lit(None, dtype=pl.Int32)
        computed = ok
    else:
        total = pl.sum_horizontal([p[0] for p in parts])
        totals = list(ci.group_of_total)
        names = [ci.groups[ci.group_of_total[t]].label for t in totals]
        group = total.replace_strict(totals, names, default=None, return_dtype=pl.String)
        computed = ok
        if ci.has_conflict:
            alt_total = pl.sum_horizontal([p[1] for p in parts])
            alt_group = alt_total.replace_strict(
                totals, names, default=None, return_dtype=pl.String
            )
            computed = ok & (group == alt_group)
    if not_applicable is not None:
        # an unknown population input (e.g. age for an elderly-only score) is not computable
        computed = computed & _conds_expr(ci.applies).fill_null(False)
    if ci.kind == "score":
        points = pl.when(computed).then(total).otherwise(None).cast(pl.Int32)
    status = pl.when(computed).then(pl.lit("computed")).otherwise(pl.lit("not_computable"))
    if not_applicable is not None:
        status = pl.when(not_applicable).then(pl.lit("not_applicable")).otherwise(status)
    group = pl.when(computed).then(group).otherwise(None).cast(group_t)
    out = [status.cast(status_t).alias(sid), points.cast(pl.Int32).alias(pid), group.alias(gid)]
    if with_verification:
        rank = pl.min_horizontal(
            [pl.lit(VERIFICATION_ORDER[ci.verification]), *(p[4] for p in parts)]
        )
        label = rank.replace_strict(list(range(len(_LABELS_BY_RANK))), _LABELS_BY_RANK)
        out.append(
            pl.when(computed)
            .then(label)
            .otherwise(None)
            .cast(pl.String)
            .alias(f"{ci.id}__verification")
        )
    return out


def evaluate_frame(
    cis: Sequence[CompiledInstrument], frame: pl.DataFrame, with_verification: bool = False
) -> pl.DataFrame:
    """Evaluate every instrument over a typed frame of patient columns (missing = null)."""
    import polars as pl

    needed = {k for ci in cis for k in ci.inputs}
    missing_cols = [
        pl.lit(None, dtype=_dtype(k)).alias(k) for k in sorted(needed) if k not in frame.columns
    ]
    work = frame.with_columns(missing_cols) if missing_cols else frame
    exprs = [e for ci in cis for e in instrument_exprs(ci, with_verification)]
    return work.select(exprs)


def _dtype(key: str) -> Any:
    import polars as pl

    kind = FIELD_BY_KEY[key].kind
    return {
        "int": pl.Int64,
        "number": pl.Float64,
        "bool": pl.Boolean,
        "enum": pl.String,
        "text": pl.String,
    }[kind]
