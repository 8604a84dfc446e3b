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
from mescc.plan.reasons import Citer
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
    citer = Citer(evidence, kb)
    cis = {ci.id: ci for ci in compile_kb(kb)}
    ids, keys = regimen_columns(kb, rules)
    if all(f"{i}__verification" in frame.columns for i in ids):
        # the table path computed each result's verification: its inputs are not needed, and
        # points matter only where the instrument has a published threshold
        wanted = [
            f"{i}__{s}"
            for i in ids
            for s in ("status", "group", "verification")
            + (("points",) if cis[i].definition.thresholds else ())
        ]
    else:
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
