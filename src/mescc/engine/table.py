"""The table driver: every instrument over a whole table with polars, no per-row Python.

Each input column is turned once into a small integer index: its position in the allowed values
(enums, booleans, small integer ranges) or the region between the published cut-offs that any
instrument applies to it (numbers), with one extra index for "missing". Each item then has a
lookup table over the combinations of its inputs' indices, built once by the scalar driver's own
``CompiledItem.resolve`` (three-valued logic, ECOG/KPS conversion, undefined values), so the two
drivers cannot disagree on an item. Per row, an item is one multiply-add and one gather; an
instrument is the sum of its items' gathered values, where a missing or undefined item adds a
sentinel far above any published total.

Traps guarded: a value outside the validated domains is refused here (``ValueError``) rather
than indexing a neighbouring category; a total outside every group is never snapped.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from mescc.engine.compile import CompiledInstrument, CompiledItem, _holds3
from mescc.fields import FIELD_BY_KEY
from mescc.kb.schema import VERIFICATION_ORDER

if TYPE_CHECKING:
    import polars as pl

UNKNOWN = 1_000
UNDEFINED = 1_000_000
STATUSES = ("computed", "not_computable", "not_applicable")
_LABELS_BY_RANK = [label for label, _ in sorted(VERIFICATION_ORDER.items(), key=lambda kv: kv[1])]


@dataclass(frozen=True)
class InputCoding:
    """How one input column becomes an index: representatives; missing = len(representatives)."""

    key: str
    representatives: tuple[Any, ...]
    cuts: tuple[float, ...] | None  # numeric regions, else None (finite domain)

    @property
    def size(self) -> int:
        return len(self.representatives) + 1


def _cuts_for(key: str, items: Sequence[CompiledItem], applies: Sequence[Any]) -> list[float]:
    cuts: set[float] = set()
    conds = [c for it in items for cat in it.categories for c in cat.conds]
    conds += [c for it in items for u, _ in it.undefined for c in u]
    conds += list(applies)
    for k, pred in conds:
        if k != key:
            continue
        for v in (pred.lt, pred.le, pred.gt, pred.ge, *(pred.in_ or ()), *(pred.not_in or ())):
            if v is not None:
                cuts.add(float(v))
    return sorted(cuts)


def _coding(key: str, items: Sequence[CompiledItem], applies: Sequence[Any]) -> InputCoding:
    spec = FIELD_BY_KEY[key]
    dom = spec.domain()
    if dom is not None:
        return InputCoding(key, tuple(dom), None)
    cuts = _cuts_for(key, items, applies)
    if not cuts:
        return InputCoding(key, (spec.minimum or 0,), ())
    lo = spec.minimum if spec.minimum is not None else float("-inf")
    hi = spec.maximum if spec.maximum is not None else float("inf")
    integer = spec.kind == "int"

    def inside(a: float, b: float, fallback: float) -> float:
        """A value strictly between a and b that the input can take; else ``fallback``
        (the region is then unreachable and its table entries are never read)."""
        if integer:
            cand = float(int(a) + 1) if a != float("-inf") else b - 1
            return cand if a < cand < b and lo <= cand <= hi else fallback
        mid = (
            (a + b) / 2
            if a != float("-inf") and b != float("inf")
            else (b - 1 if a == float("-inf") else a + 1)
        )
        return mid if lo <= mid <= hi else fallback

    reps: list[float] = [inside(float("-inf"), cuts[0], cuts[0])]
    for i, c in enumerate(cuts):
        reps.append(c)
        nxt = cuts[i + 1] if i + 1 < len(cuts) else float("inf")
        reps.append(inside(c, nxt, c))
    return InputCoding(key, tuple(reps), tuple(cuts))


def _index_expr(coding: InputCoding, dtype: Any) -> pl.Expr:
    import polars as pl

    col = pl.col(coding.key)
    spec = FIELD_BY_KEY[coding.key]
    missing = coding.size - 1
    if coding.cuts is not None:
        if not coding.cuts:
            idx = pl.lit(0, dtype=pl.Int64)
        else:
            parts = [(col > c).cast(pl.Int64) + (col >= c).cast(pl.Int64) for c in coding.cuts]
            idx = pl.sum_horizontal(parts)
        return pl.when(col.is_null()).then(missing).otherwise(idx).cast(pl.Int64)
    if spec.kind == "bool":
        return col.cast(pl.Int64).fill_null(missing)
    if spec.kind == "enum":
        enum_t = pl.Enum(list(coding.representatives))
        typed = col if dtype == enum_t else col.cast(pl.String).cast(enum_t)
        return typed.to_physical().cast(pl.Int64).fill_null(missing)
    lo, step = int(spec.minimum or 0), int(spec.step or 1)
    return ((col.cast(pl.Int64) - lo) // step).fill_null(missing)


def _check_domain(frame: pl.DataFrame, coding: InputCoding) -> None:
    """Refuse values an index would misread (the batch reader validates before this)."""
    import polars as pl

    spec = FIELD_BY_KEY[coding.key]
    if coding.cuts is not None or spec.kind in ("bool", "enum"):
        return
    col = pl.col(coding.key)
    ok = col.is_null() | col.is_in(list(coding.representatives))
    bad = frame.select((~ok).sum()).item()
    if bad:
        raise ValueError(
            f"{coding.key}: {bad} value(s) outside {spec.allowed}; validate the table first "
            "(mescc.batch.validate_frame)"
        )


@dataclass(frozen=True)
class ItemTable:
    keys: tuple[str, ...]
    strides: tuple[int, ...]
    value: tuple[int, ...]  # points, or UNKNOWN / UNDEFINED sentinels (classification: group)
    delta: tuple[int, ...] | None  # alternative minus encoded points, conflict items only
    rank: tuple[int, ...] | None  # verification rank where categories differ in label
    # Fewest and most points still possible (unknown inputs: over the categories still
    # possible, as the scalar driver's ``possible_points``); scores only.
    lo: tuple[int, ...] | None = None
    hi: tuple[int, ...] | None = None
    missing: tuple[int, ...] = ()  # index into ``patterns`` (0 = nothing missing)
    patterns: tuple[tuple[str, ...], ...] = ((),)  # the item's distinct missing-input tuples


def _item_table(
    item: CompiledItem, codings: Mapping[str, InputCoding], group_index: Mapping[str, int] | None
) -> ItemTable:
    keys = list(item.inputs)
    if item.convert_source and item.convert_source not in keys:
        keys.append(item.convert_source)
    sizes = [codings[k].size for k in keys]
    strides = []
    acc = 1
    for size in reversed(sizes):
        strides.append(acc)
        acc *= size
    strides.reverse()
    values: list[int] = []
    deltas: list[int] = []
    ranks: list[int] = []
    los: list[int] = []
    his: list[int] = []
    patterns: dict[tuple[str, ...], int] = {(): 0}
    missing: list[int] = []
    varying = len({c.scored_verification for c in item.categories}) > 1
    conflict = any(c.alt_points is not None for c in item.categories)
    domains = [(*codings[k].representatives, None) for k in keys]
    for combo in itertools.product(*domains):
        res = item.resolve(dict(zip(keys, combo, strict=True)))
        missing.append(patterns.setdefault(res.missing, len(patterns)))
        if res.kind == "category":
            cat = item.categories[res.index]
            if group_index is not None:
                values.append(group_index[cat.group or ""])
            else:
                values.append(cat.points or 0)
            alt = cat.alt_points if cat.alt_points is not None else (cat.points or 0)
            deltas.append(alt - (cat.points or 0))
            ranks.append(VERIFICATION_ORDER[cat.scored_verification])
            los.append(cat.points or 0)
            his.append(cat.points or 0)
        else:
            values.append(UNDEFINED if res.kind == "undefined" else UNKNOWN)
            deltas.append(0)
            ranks.append(VERIFICATION_ORDER["primary"])
            options = [item.categories[i].points or 0 for i in res.possible] or [0]
            los.append(min(options))
            his.append(max(options))
    return ItemTable(
        tuple(keys),
        tuple(strides),
        tuple(values),
        tuple(deltas) if conflict else None,
        tuple(ranks) if varying else None,
        tuple(los) if group_index is None else None,
        tuple(his) if group_index is None else None,
        tuple(missing),
        tuple(patterns),
    )


@dataclass(frozen=True)
class TablePlan:
    """Everything the table driver needs for a knowledge base, built once."""

    codings: Mapping[str, InputCoding]
    items: Mapping[str, tuple[ItemTable, ...]]  # by instrument id
    applies: Mapping[str, ItemTable]  # value 0 applies, 1 excluded, 2 unknown


@lru_cache(maxsize=8)
def table_plan(cis: tuple[CompiledInstrument, ...]) -> TablePlan:
    all_items = [it for ci in cis for it in ci.items]
    all_applies = [c for ci in cis for c in ci.applies]
    keys: dict[str, None] = {}
    for ci in cis:
        for it in ci.items:
            for k in (*it.inputs, *([it.convert_source] if it.convert_source else [])):
                keys[k] = None
        for k, _ in ci.applies:
            keys[k] = None
    codings = {k: _coding(k, all_items, all_applies) for k in keys}
    items: dict[str, tuple[ItemTable, ...]] = {}
    applies: dict[str, ItemTable] = {}
    for ci in cis:
        gidx = (
            {g.label: i for i, g in enumerate(ci.groups)} if ci.kind == "classification" else None
        )
        items[ci.id] = tuple(_item_table(it, codings, gidx) for it in ci.items)
        if ci.applies:
            applies[ci.id] = _applies_table(ci, codings)
    return TablePlan(codings, items, applies)


def _applies_table(ci: CompiledInstrument, codings: Mapping[str, InputCoding]) -> ItemTable:
    keys = list(dict.fromkeys(k for k, _ in ci.applies))
    sizes = [codings[k].size for k in keys]
    strides, acc = [], 1
    for size in reversed(sizes):
        strides.append(acc)
        acc *= size
    strides.reverse()
    values = []
    for combo in itertools.product(*[(*codings[k].representatives, None) for k in keys]):
        r = _holds3(ci.applies, dict(zip(keys, combo, strict=True)))
        values.append(0 if r is True else (1 if r is False else 2))
    return ItemTable(tuple(keys), tuple(strides), tuple(values), None, None)


def _gather(values: Sequence[int], code: pl.Expr) -> pl.Expr:
    import polars as pl

    return pl.lit(pl.Series(values, dtype=pl.Int64)).gather(code)


def _code(table: ItemTable, index: Mapping[str, pl.Expr]) -> pl.Expr:
    expr = index[table.keys[0]] * table.strides[0]
    for k, s in zip(table.keys[1:], table.strides[1:], strict=True):
        expr = expr + index[k] * s
    return expr


def _stage_sums(
    ci: CompiledInstrument, plan: TablePlan, index: Mapping[str, pl.Expr], with_verification: bool
) -> list[pl.Expr]:
    """Stage 1: per instrument, the sum of its items' gathered values (and conflict deltas,
    applicability and verification rank) as temporary columns."""
    import polars as pl

    out: list[pl.Expr] = []
    applies = plan.applies.get(ci.id)
    if applies is not None:
        out.append(_gather(applies.value, _code(applies, index)).alias(f"__a_{ci.id}"))
    if ci.skeleton:
        return out
    tables = plan.items[ci.id]
    codes = [_code(t, index) for t in tables]
    gathered = [_gather(t.value, c) for t, c in zip(tables, codes, strict=True)]
    total = pl.sum_horizontal(gathered) if len(gathered) > 1 else gathered[0]
    out.append(total.alias(f"__t_{ci.id}"))
    deltas = [
        _gather(t.delta, c) for t, c in zip(tables, codes, strict=True) if t.delta is not None
    ]
    if deltas:
        out.append(
            (pl.sum_horizontal(deltas) if len(deltas) > 1 else deltas[0]).alias(f"__d_{ci.id}")
        )
    if with_verification and ci.kind != "classification":
        lo_parts = [_gather(t.lo, c) for t, c in zip(tables, codes, strict=True) if t.lo]
        hi_parts = [_gather(t.hi, c) for t, c in zip(tables, codes, strict=True) if t.hi]
        if lo_parts:
            out.append(pl.sum_horizontal(lo_parts).alias(f"__lo_{ci.id}"))
            out.append(pl.sum_horizontal(hi_parts).alias(f"__hi_{ci.id}"))
    if with_verification:
        ranks = [
            _gather(t.rank, c) for t, c in zip(tables, codes, strict=True) if t.rank is not None
        ]
        base = min(
            [VERIFICATION_ORDER[ci.verification]]
            + [
                VERIFICATION_ORDER[it.categories[0].verification]
                for it, t in zip(ci.items, tables, strict=True)
                if t.rank is None and it.categories
            ]
        )
        rank = pl.min_horizontal([pl.lit(base, dtype=pl.Int64), *ranks]) if ranks else pl.lit(base)
        out.append(rank.cast(pl.Int64).alias(f"__r_{ci.id}"))
    return out


def _stage_state(ci: CompiledInstrument) -> list[pl.Expr]:
    """Stage 2: the group index when computed (null otherwise) and the status index."""
    import polars as pl

    app = pl.col(f"__a_{ci.id}") if ci.applies else None
    if ci.skeleton:
        state = pl.lit(1, dtype=pl.Int64) if app is None else pl.when(app == 1).then(2).otherwise(1)
        return [state.cast(pl.Int64).alias(f"__s_{ci.id}")]
    total = pl.col(f"__t_{ci.id}")
    computed = total < UNKNOWN
    if ci.kind == "classification":
        gidx = total
    else:
        lookup = pl.Series(
            [ci.group_of_total.get(t) for t in range(ci.total_lo, ci.total_hi + 1)], dtype=pl.Int64
        )
        safe = pl.when(computed).then(total - ci.total_lo)
        gidx = pl.lit(lookup).gather(safe)
        if ci.has_conflict:
            alt = pl.when(computed).then(total + pl.col(f"__d_{ci.id}") - ci.total_lo)
            computed = computed & (gidx == pl.lit(lookup).gather(alt)).fill_null(False)
    if app is not None:
        computed = computed & (app == 0)
    state = pl.when(computed).then(0).otherwise(1)
    if app is not None:
        state = pl.when(app == 1).then(2).otherwise(state)
    return [
        state.cast(pl.Int64).alias(f"__s_{ci.id}"),
        pl.when(computed).then(gidx).alias(f"__g_{ci.id}"),
    ]


def _stage_output(ci: CompiledInstrument, with_verification: bool) -> list[pl.Expr]:
    """Stage 3: the contract's columns from the stage-2 columns."""
    import polars as pl

    status_t = pl.Enum(STATUSES)
    labels = [g.label for g in ci.groups]
    group_t = pl.Enum(labels) if labels else pl.String
    state = pl.col(f"__s_{ci.id}")
    out = [pl.lit(pl.Series(STATUSES, dtype=status_t)).gather(state).alias(f"{ci.id}__status")]
    if ci.skeleton:
        out += [
            pl.lit(None, dtype=pl.Int32).alias(f"{ci.id}__points"),
            pl.lit(None, dtype=group_t).alias(f"{ci.id}__group"),
        ]
        if with_verification:
            out.append(pl.lit(None, dtype=pl.Enum(_LABELS_BY_RANK)).alias(f"{ci.id}__verification"))
        return out
    computed = state == 0
    points = (
        pl.lit(None, dtype=pl.Int32)
        if ci.kind == "classification"
        else pl.when(computed).then(pl.col(f"__t_{ci.id}")).cast(pl.Int32)
    )
    group = pl.lit(pl.Series(labels, dtype=group_t)).gather(pl.col(f"__g_{ci.id}"))
    out += [points.alias(f"{ci.id}__points"), group.alias(f"{ci.id}__group")]
    if with_verification:
        total = pl.col(f"__t_{ci.id}")
        # Not computable because inputs are missing (no undefined item, not excluded): the
        # scalar driver reports possible points there; so does this (``__possible_lo/hi``).
        missing_items = (total >= UNKNOWN) & (total < UNDEFINED)
        app_unknown = pl.col(f"__a_{ci.id}") == 2 if ci.applies else pl.lit(False)
        undetermined = (
            (state == 1) & (missing_items | (app_unknown & (total < UNKNOWN)))
            if ci.kind != "classification"
            else pl.lit(False)
        )
        label = pl.lit(pl.Series(_LABELS_BY_RANK, dtype=pl.Enum(_LABELS_BY_RANK))).gather(
            pl.when(computed | undetermined).then(pl.col(f"__r_{ci.id}"))
        )
        out.append(label.alias(f"{ci.id}__verification"))
        if ci.kind != "classification":
            lo = pl.col(f"__lo_{ci.id}") if ci.items else pl.lit(None)
            hi = pl.col(f"__hi_{ci.id}") if ci.items else pl.lit(None)
            out.append(pl.when(undetermined).then(lo).cast(pl.Int32).alias(f"{ci.id}__possible_lo"))
            out.append(pl.when(undetermined).then(hi).cast(pl.Int32).alias(f"{ci.id}__possible_hi"))
    return out


MAX_MISSING_PATTERNS = 1 << 16
MISSING_SEPARATOR = "; "


_Decoder = tuple[tuple[tuple[str, int], ...], tuple[int, ...], tuple[tuple[str, ...], ...]]
_DECODERS: dict[tuple[int, str], tuple[TablePlan, _Decoder]] = {}


def _missing_decoder(ci: CompiledInstrument, plan: TablePlan) -> _Decoder:
    """``_build_missing_decoder``, once per (table plan, instrument)."""
    key = (id(plan), ci.id)
    hit = _DECODERS.get(key)
    if hit is None or hit[0] is not plan:
        hit = _DECODERS[key] = (plan, _build_missing_decoder(ci, plan))
    return hit[1]


def _build_missing_decoder(ci: CompiledInstrument, plan: TablePlan) -> _Decoder:
    """How ``<id>__missing`` is packed: (null-bit keys and weights, item strides, decoded lists).

    The scalar driver's ``missing`` is ``dict.fromkeys(applies keys missing + every unknown
    item's missing keys, in item order)``. Each item's missing tuple is one of a few patterns
    (tabulated with the item by ``CompiledItem.resolve``); the instrument's is decoded here once
    for every combination of patterns, so a row needs one packed integer and one gather.
    """
    bit_keys: list[str] = []
    if ci.applies:
        bit_keys += [k for k, _ in ci.applies]
    skeleton_keys: list[str] = []
    if ci.skeleton:
        skeleton_keys = list(dict.fromkeys(k for it in ci.definition.items for k in it.inputs))
    tables = () if ci.skeleton else plan.items[ci.id]
    sizes = [len(t.patterns) for t in tables]
    n_bits = len(bit_keys) + len(skeleton_keys)
    total = (1 << n_bits) * int(math.prod(sizes))
    if total > MAX_MISSING_PATTERNS:
        raise ValueError(f"{ci.id}: too many missing-input patterns to tabulate ({total})")
    strides: list[int] = []
    acc = 1 << n_bits
    for size in sizes:
        strides.append(acc)
        acc *= size
    decoded: list[tuple[str, ...]] = []
    for code in range(total):
        bits = code % (1 << n_bits)
        keys: list[str] = [k for i, k in enumerate(bit_keys) if bits >> i & 1]
        keys += [k for i, k in enumerate(skeleton_keys) if bits >> (len(bit_keys) + i) & 1]
        for t, stride, size in zip(tables, strides, sizes, strict=True):
            keys += t.patterns[(code // stride) % size]
        decoded.append(tuple(dict.fromkeys(keys)))
    weights = tuple((k, 1 << i) for i, k in enumerate([*bit_keys, *skeleton_keys]))
    return weights, tuple(strides), tuple(decoded)


def _stage_missing(
    ci: CompiledInstrument, plan: TablePlan, index: Mapping[str, pl.Expr]
) -> pl.Expr:
    """``<id>__missing``: the inputs the instrument reported missing, in the scalar driver's
    order, joined with ``"; "`` (an enum of the instrument's possible lists; ``""`` when none,
    e.g. computed or not applicable)."""
    import polars as pl

    weights, strides, decoded = _missing_decoder(ci, plan)
    n_app = len(ci.applies) if ci.applies else 0
    code: pl.Expr = pl.lit(0, dtype=pl.Int64)
    varying = bool(weights)
    for i, (k, w) in enumerate(weights):
        is_missing = pl.col(f"__null_{k}")
        if i < n_app:  # applies keys count only while applicability is unknown
            is_missing = is_missing & (pl.col(f"__a_{ci.id}") == 2)
        code = code + is_missing.cast(pl.Int64) * w
    if not ci.skeleton:
        for t, stride in zip(plan.items[ci.id], strides, strict=True):
            if len(t.patterns) > 1:
                varying = True
                pattern = _gather(t.missing, _code(t, index))
                code = code + pattern * stride
    texts = [MISSING_SEPARATOR.join(d) for d in decoded]
    enum_t = pl.Enum(list(dict.fromkeys(["", *texts])))
    values = pl.Series(texts, dtype=enum_t)
    missing = pl.lit(values).gather(code) if varying else pl.lit(values).first()
    if ci.applies:
        empty = pl.lit(pl.Series([""], dtype=enum_t)).first()
        missing = pl.when(pl.col(f"__a_{ci.id}") == 1).then(empty).otherwise(missing)
    return missing.alias(f"{ci.id}__missing")


def evaluate_frame(
    cis: Sequence[CompiledInstrument],
    frame: pl.DataFrame,
    with_verification: bool = False,
    with_missing: bool = False,
) -> pl.DataFrame:
    """Evaluate every instrument over a typed frame of patient columns (missing = null).

    Returns ``<id>__status``, ``<id>__points`` and ``<id>__group`` per instrument (plus
    ``<id>__verification`` with ``with_verification`` and ``<id>__missing``, the missing input
    keys joined with ``"; "``, with ``with_missing``), row-aligned with ``frame``. Three
    selects (sums, states, outputs) so that no subexpression is evaluated twice.
    """
    import polars as pl

    plan = table_plan(tuple(cis))
    schema = frame.schema
    absent = [k for k in plan.codings if k not in schema]
    work = frame.with_columns([pl.lit(None, dtype=_dtype(k)).alias(k) for k in absent])
    for coding in plan.codings.values():
        if coding.key in schema:
            _check_domain(work, coding)
    indexed = work.select(
        [_index_expr(c, work.schema[k]).alias(f"__idx_{k}") for k, c in plan.codings.items()]
    )
    index = {k: pl.col(f"__idx_{k}") for k in plan.codings}
    sums = indexed.select(
        [e for ci in cis for e in _stage_sums(ci, plan, index, with_verification)]
    )
    if with_missing:
        applicability = [c for c in sums.get_columns() if c.name.startswith("__a_")]
        null_keys = dict.fromkeys(k for ci in cis for k, _ in _missing_decoder(ci, plan)[0])
        nulls = work.select(
            [
                (pl.col(k).is_null() if k in work.columns else pl.lit(True)).alias(f"__null_{k}")
                for k in null_keys
            ]
        )
        sums = sums.hstack(
            indexed.hstack(applicability)
            .hstack(nulls)
            .select([_stage_missing(ci, plan, index) for ci in cis])
        )
    states = sums.with_columns([e for ci in cis for e in _stage_state(ci)])
    out: list[pl.Expr] = []
    for ci in cis:
        out += _stage_output(ci, with_verification)
        if with_missing:
            out.append(pl.col(f"{ci.id}__missing"))
    return states.select(out)


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
