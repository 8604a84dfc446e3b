"""The recommended regimen of every row of a batch table, without per-row Python.

The batch table holds the patient columns and, for every instrument, ``<id>__status``,
``<id>__points`` and ``<id>__group``. The regimen ranking reads, of all that, only the results
of the survival instruments (plus the two-month mortality and end-of-life scores) and the
verification of each computed result. Verification is the instrument's level lowered by any
scored category with a weaker label (e.g. the revised Tokuhashi vertebral-body item in CONFLICT),
so the patient inputs of those items are read too.

The plan is computed once per DISTINCT combination of those columns (``unique()``, a Python
loop over the combinations, then a join back to the rows), with the same functions as
``build_plan``; a test proves the two agree.

Clinical trap guarded: a batch row has no ``prior_radiotherapy`` or ``preferences`` column, so
its ranking is the balanced order without a re-irradiation check, exactly as ``mescc assess``
ranks the same patient without those keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from mescc.engine.compile import CompiledInstrument, compile_kb
from mescc.kb.evidence import Evidence, load_evidence
from mescc.kb.loader import KnowledgeBase, load_kb
from mescc.kb.schema import VERIFICATION_ORDER
from mescc.plan.core import rank_for
from mescc.plan.prognosis import ResultView
from mescc.plan.reasons import Citer, citer_for
from mescc.plan.rules import PlanRules, checked_rules

OUTPUT = "recommended_regimen"
_LABEL_OF_RANK = {v: k for k, v in VERIFICATION_ORDER.items()}


def ranking_instruments(rules: PlanRules) -> tuple[str, ...]:
    """The instrument ids whose results the regimen ranking reads."""
    p = rules.prognosis
    return tuple(
        dict.fromkeys((*p.order, p.two_month_mortality.instrument, p.end_of_life.instrument))
    )


def _varying_items(ci: CompiledInstrument) -> list[int]:
    return [
        i for i, item in enumerate(ci.items) if len({c.verification for c in item.categories}) > 1
    ]


def verification_keys(ci: CompiledInstrument) -> tuple[str, ...]:
    """Patient keys that decide the verification label of a computed result."""
    keys: dict[str, None] = {}
    for i in _varying_items(ci):
        item = ci.items[i]
        for k in item.inputs:
            keys[k] = None
        if item.convert_source:
            keys[item.convert_source] = None
    return tuple(keys)


def result_verification(ci: CompiledInstrument, row: Mapping[str, Any]) -> str:
    """The verification label of a computed result, as the engine assigns it.

    The instrument's level, lowered to the weakest label of the categories that scored (only
    items whose categories differ in label need the patient's values).
    """
    rank = VERIFICATION_ORDER[ci.verification]
    varying = set(_varying_items(ci))
    for i, item in enumerate(ci.items):
        if i in varying:
            res = item.resolve(row)
            if res.kind == "category":
                rank = min(rank, VERIFICATION_ORDER[item.categories[res.index].verification])
        elif item.categories:
            rank = min(rank, VERIFICATION_ORDER[item.categories[0].verification])
    return _LABEL_OF_RANK[rank]


def regimen_columns(kb: KnowledgeBase, rules: PlanRules) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(instrument ids, patient keys) the recommended regimen depends on."""
    cis = {ci.id: ci for ci in compile_kb(kb)}
    ids = tuple(i for i in ranking_instruments(rules) if i in cis)
    keys: dict[str, None] = {}
    for iid in ids:
        for k in verification_keys(cis[iid]):
            keys[k] = None
    return ids, tuple(keys)


def _view(ci: CompiledInstrument, row: Mapping[str, Any]) -> ResultView:
    status = row.get(f"{ci.id}__status") or "not_computable"
    points = row.get(f"{ci.id}__points")
    group = row.get(f"{ci.id}__group")
    verification = ci.verification
    if status == "computed":
        given = row.get(f"{ci.id}__verification")
        verification = str(given) if given is not None else result_verification(ci, row)
    return ResultView(
        ci.id, str(status), None if points is None else int(points), group, verification
    )


def recommended_regimens_for_table(
    frame: pl.DataFrame,
    kb: KnowledgeBase | None = None,
    *,
    allow_unverified: bool = False,
    evidence: Evidence | None = None,
) -> pl.Series:
    """The recommended regimen label of every row (null when the plan makes no ranking claim).

    Parameters
    ----------
    frame : patient columns (contract names, null = missing) plus ``<id>__status``,
        ``<id>__points`` and ``<id>__group`` for every instrument (``assess_table`` output)
    kb : the knowledge base the results were computed with (default: the packaged one)
    allow_unverified : as ``build_plan``'s
    evidence : the evidence knowledge base (default: the packaged one)

    Returns
    -------
    polars.Series ``recommended_regimen`` (String), aligned with the rows of ``frame``; equal to
    ``build_plan(...).recommended_regimen`` of the same patient.
    """
    kb = kb or load_kb()
    evidence = evidence or load_evidence()
    rules = checked_rules(kb, evidence)
    citer = citer_for(evidence, kb)
    cis = {ci.id: ci for ci in compile_kb(kb)}
    ids, keys = regimen_columns(kb, rules)
    if frame.height and all(f"{i}__verification" in frame.columns for i in ids):
        return _canonical_ranking(frame, kb, evidence, rules, citer, cis, ids, allow_unverified)
    wanted = [f"{i}__{s}" for i in ids for s in ("status", "points", "group")] + list(keys)
    cols = [c for c in wanted if c in frame.columns]
    if frame.height == 0:
        return pl.Series(OUTPUT, [], dtype=pl.String)
    work = frame.select(
        [
            pl.col(c).cast(pl.String)
            if c.endswith(("__status", "__group", "__verification"))
            else pl.col(c)
            for c in cols
        ]
    )
    if not cols:
        work = pl.DataFrame({"__all": [0] * frame.height})
        cols = ["__all"]
    combos = work.unique(maintain_order=True)
    labels: list[str | None] = []
    for row in combos.iter_rows(named=True):
        views = {iid: _view(cis[iid], row) for iid in ids}
        _, _, ranking = rank_for(
            None, views, kb, evidence, rules, citer, allow_unverified=allow_unverified
        )
        rec = ranking.recommended
        labels.append(rec.label if rec is not None else None)
    combos = combos.with_columns(pl.Series(OUTPUT, labels, dtype=pl.String))
    joined = work.join(combos, on=cols, how="left", nulls_equal=True, maintain_order="left")
    return joined.get_column(OUTPUT)


def _canonical_ranking(
    frame: pl.DataFrame,
    kb: KnowledgeBase,
    evidence: Evidence,
    rules: PlanRules,
    citer: Citer,
    cis: Mapping[str, CompiledInstrument],
    ids: tuple[str, ...],
    allow_unverified: bool,
) -> pl.Series:
    """The recommended regimen from canonical views (table path with verification columns).

    The ranking reads a survival result only through whether it decides (computed, a group
    with a prognosis class, a deciding verification level) and that class, and reads only the
    first deciding instrument in the rules' order; the two-month score only through which of
    its published thresholds the total meets. Each row's views are therefore replaced by the
    canonical views that give the same answer (first group of the same class, one label per
    deciding level, the smallest total meeting the same thresholds, later instruments hidden
    once one decides), so the plan runs once per distinct canonical combination. A property
    test proves the result equals ``build_plan`` for the same patient.
    """
    from mescc.plan.prognosis import _may_decide, threshold_met

    order = [i for i in rules.prognosis.order if i in ids]
    levels = [label for label in VERIFICATION_ORDER if _may_decide(label, rules, allow_unverified)]
    deciding_label = levels[0] if levels else "primary"
    other_label = next((v for v in VERIFICATION_ORDER if v not in levels), "unverified")
    stage1: list[pl.Expr] = []
    for iid in ids:
        if iid in order:
            ci = cis[iid]
            if not ci.groups:
                stage1.append(pl.lit(False).alias(f"__decides_{iid}"))
                continue
            has_class = pl.Series([g.prognosis is not None for g in ci.groups], dtype=pl.Boolean)
            stage1.append(
                (
                    (pl.col(f"{iid}__status") == "computed")
                    & pl.lit(has_class).gather(pl.col(f"{iid}__group").to_physical())
                    & pl.col(f"{iid}__verification").cast(pl.String).is_in(levels)
                )
                .fill_null(False)
                .alias(f"__decides_{iid}")
            )
    base = frame.with_columns(stage1)
    stage2: list[pl.Expr] = []
    earlier: list[str] = []
    for iid in ids:
        visible = pl.col(f"{iid}__status") == "computed"
        if earlier:
            visible = visible & ~pl.any_horizontal([pl.col(c) for c in earlier])
        stage2.append(visible.fill_null(False).alias(f"__computed_{iid}"))
        if iid in order:
            earlier.append(f"__decides_{iid}")
    base = base.with_columns(stage2)
    # Pack each instrument's canonical view into one small integer (0 = not computed, else
    # 1 + group + n_groups * deciding + 2 * n_groups * points offset), and the row into one key.
    specs: list[
        tuple[str, int, int, int | None, list[str]]
    ] = []  # id, stride, n_groups, lo, labels
    key = pl.lit(0, dtype=pl.Int64)
    stride = 1
    for iid in ids:
        ci = cis[iid]
        labels_i = [g.label for g in ci.groups]
        ng = len(labels_i)
        if ng == 0:
            continue
        first_of_class: dict[str | None, int] = {}
        canon = [first_of_class.setdefault(g.prognosis, i) for i, g in enumerate(ci.groups)]
        cgroup = pl.lit(pl.Series(canon, dtype=pl.Int64)).gather(
            pl.col(f"{iid}__group").to_physical()
        )
        allowed = pl.col(f"{iid}__verification").cast(pl.String).is_in(levels).cast(pl.Int64)
        offset: pl.Expr = pl.lit(0, dtype=pl.Int64)
        npoints = 1
        lo: int | None = None
        thresholds = ci.definition.thresholds
        if thresholds and ci.total_hi >= ci.total_lo:
            lo = ci.total_lo
            npoints = ci.total_hi - ci.total_lo + 1
            canon_points: list[int] = []
            seen: dict[tuple[object, ...], int] = {}
            for t in range(ci.total_lo, ci.total_hi + 1):
                k = (ci.group_of_total.get(t), *(threshold_met(th, t) for th in thresholds))
                canon_points.append(seen.setdefault(k, t) - ci.total_lo)
            offset = pl.lit(pl.Series(canon_points, dtype=pl.Int64)).gather(
                pl.col(f"{iid}__points").cast(pl.Int64) - ci.total_lo
            )
        code = pl.when(pl.col(f"__computed_{iid}")).then(
            1 + cgroup + ng * allowed + 2 * ng * offset
        )
        key = key + code.fill_null(0) * stride
        specs.append((iid, stride, ng, lo, labels_i))
        stride *= 1 + 2 * ng * npoints
        if stride > 2**62:
            raise ValueError("too many ranking instruments to pack into one key")
    keys = base.select(key.alias("key"))["key"]
    unique_keys = keys.unique().to_list()
    by_class: dict[str, str | None] = {}
    labels: list[str | None] = []
    from mescc.plan.prognosis import classify_prognosis

    for packed in unique_keys:
        views = {
            iid: ResultView(iid, "not_computable", None, None, cis[iid].verification) for iid in ids
        }
        for iid, st, ng, lo, labels_i in specs:
            code_i = (packed // st) % (
                1 + 2 * ng * (cis[iid].total_hi - cis[iid].total_lo + 1 if lo is not None else 1)
            )
            if code_i == 0:
                continue
            c = code_i - 1
            views[iid] = ResultView(
                iid,
                "computed",
                None if lo is None else lo + c // (2 * ng),
                labels_i[c % ng],
                deciding_label if (c // ng) % 2 else other_label,
            )
        prognosis = classify_prognosis(views, kb, rules, allow_unverified=allow_unverified)
        if prognosis.ranking_class not in by_class:
            _, _, ranking = rank_for(
                None, views, kb, evidence, rules, citer, allow_unverified=allow_unverified
            )
            rec = ranking.recommended
            by_class[prognosis.ranking_class] = rec.label if rec is not None else None
        labels.append(by_class[prognosis.ranking_class])
    return keys.replace_strict(unique_keys, labels, return_dtype=pl.String).alias(OUTPUT)
