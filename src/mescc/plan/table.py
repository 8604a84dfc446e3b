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

The ranking also reads three patient keys (``prior_radiotherapy`` and ``spinal_level`` through
the re-irradiation check, ``preferences.priority``): the caller passes the columns that hold them
and a function building the patient part from a row, and the plan runs once per distinct
combination of (canonical views, patient part).

Every plan-derived column is read from the plan's result by ONE helper below
(:func:`recommended_regimen`, :func:`prognosis_class`, :func:`prognosis_ranking_class`,
:func:`deciding_instruments`); they take a ``PlanCore`` (``build_plan(...).core``) or the
ranking part of it that this table path computes, so one place says what a column means for
both paths.

Clinical trap guarded: a row whose patient part is unknown (no course columns) ranks exactly as
``mescc assess`` ranks the same patient without those keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl

from mescc.engine.compile import CompiledInstrument, compile_kb
from mescc.kb.evidence import Evidence, load_evidence
from mescc.kb.loader import KnowledgeBase, load_kb
from mescc.kb.schema import VERIFICATION_ORDER
from mescc.patient import Patient
from mescc.plan.core import rank_for
from mescc.plan.prognosis import (
    CLASSES,
    NEAR_END_OF_LIFE,
    UNKNOWN,
    Prognosis,
    ResultView,
    classify_prognosis,
)
from mescc.plan.radiotherapy import RadiotherapyRanking
from mescc.plan.reasons import citer_for
from mescc.plan.rules import PlanRules, checked_rules

OUTPUT = "recommended_regimen"
PROGNOSIS_CLASS = "prognosis_class"
RANKING_CLASS = "prognosis_ranking_class"
DECIDING = "prognosis_deciding_instruments"
PLAN_COLUMNS = (OUTPUT, PROGNOSIS_CLASS, RANKING_CLASS, DECIDING)
_LABEL_OF_RANK = {v: k for k, v in VERIFICATION_ORDER.items()}
#: The patient keys the regimen ranking reads (re-irradiation check and priority).
RANKING_PATIENT_KEYS = ("prior_radiotherapy", "spinal_level", "preferences.priority")
PatientPart = Callable[[Mapping[str, Any]], Patient | None]


class RankedPlan(Protocol):
    """What the plan columns read: a ``PlanCore`` or the table path's ranking part of it."""

    @property
    def prognosis(self) -> Prognosis: ...

    @property
    def radiotherapy(self) -> RadiotherapyRanking: ...


@dataclass(frozen=True)
class _Ranked:
    """The part of a ``PlanCore`` the table path computes (radiotherapy: None where only the
    prognosis columns are read)."""

    prognosis: Prognosis
    radiotherapy: Any


def recommended_regimen(core: RankedPlan) -> str | None:
    """Column ``recommended_regimen``: the first ranked regimen (None without a claim)."""
    rec = core.radiotherapy.recommended
    return rec.label if rec is not None else None


def prognosis_class(core: RankedPlan) -> str | None:
    """Column ``prognosis_class``: the survival class (poor / intermediate / favourable)."""
    return core.prognosis.prognosis_class


def prognosis_ranking_class(core: RankedPlan) -> str:
    """Column ``prognosis_ranking_class``: the class the ranking used (with near end of life,
    unknown)."""
    return core.prognosis.ranking_class


def deciding_instruments(core: RankedPlan) -> tuple[str, ...]:
    """Column ``prognosis_deciding_instruments``: the instruments the class was decided by."""
    src = core.prognosis.source_instrument
    return (src,) if src else ()


def plan_column_types(kb: KnowledgeBase) -> dict[str, Any]:
    """The polars dtype of every plan column."""
    return {
        OUTPUT: pl.Categorical(),
        PROGNOSIS_CLASS: pl.Enum(list(CLASSES)),
        RANKING_CLASS: pl.Enum([*CLASSES, NEAR_END_OF_LIFE, UNKNOWN]),
        DECIDING: pl.List(pl.Enum(list(kb.instruments))),
    }


def _plan_values(core: RankedPlan) -> tuple[Any, ...]:
    return (
        recommended_regimen(core),
        prognosis_class(core),
        prognosis_ranking_class(core),
        list(deciding_instruments(core)),
    )


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
    out = plan_columns_for_table(frame, kb, allow_unverified=allow_unverified, evidence=evidence)
    return out.get_column(OUTPUT).cast(pl.String)


def plan_columns_for_table(
    frame: pl.DataFrame,
    kb: KnowledgeBase | None = None,
    *,
    allow_unverified: bool = False,
    evidence: Evidence | None = None,
    patient_columns: Sequence[str] = (),
    patient_part: PatientPart | None = None,
) -> pl.DataFrame:
    """The plan columns of every row: ``PLAN_COLUMNS`` (types: :func:`plan_column_types`).

    ``patient_columns`` are the columns of ``frame`` holding the patient keys the ranking reads
    (``RANKING_PATIENT_KEYS``) and ``patient_part`` builds that part of the patient from a row of
    them (None: unknown). Each row equals the helpers applied to ``build_plan`` of the same
    patient (a property test checks it).
    """
    kb = kb or load_kb()
    evidence = evidence or load_evidence()
    rules = checked_rules(kb, evidence)
    citer = citer_for(evidence, kb)
    cis = {ci.id: ci for ci in compile_kb(kb)}
    ids, keys = regimen_columns(kb, rules)
    types = plan_column_types(kb)
    if frame.height == 0:
        return pl.DataFrame(schema=types)
    part_cols = [c for c in patient_columns if c in frame.columns]
    if patient_part is None:
        part_cols = []
    pid, parts = _patient_parts(frame, part_cols, patient_part)
    if all(f"{i}__verification" in frame.columns for i in ids):
        packed, decode, _ = _canonical_keys(frame, cis, ids, rules, allow_unverified)
    else:
        packed, decode, _ = _distinct_view_keys(frame, cis, ids, keys)
    ks, k_index = _dense(packed)
    # the columns that depend on the views alone: once per distinct (canonical) view key
    prognoses = [
        classify_prognosis(decode(k), kb, rules, allow_unverified=allow_unverified) for k in ks
    ]
    classes = list(dict.fromkeys(p.ranking_class for p in prognoses))
    first_of_class = {
        c: next(i for i, p in enumerate(prognoses) if p.ranking_class == c) for c in classes
    }
    cls_index = pl.Series([classes.index(p.ranking_class) for p in prognoses], dtype=pl.Int64)
    # the regimen reads the prognosis through its ranking class (and the patient part): once
    # per distinct (ranking class, patient part), through ``rank_for``
    n_parts = len(parts)
    joint = cls_index.gather(k_index) * n_parts + pid
    js, j_index = _dense(joint)
    regimens: list[str | None] = []
    for j in js:
        c, p = divmod(j, n_parts)
        row = parts[p]
        memo_key = (
            evidence.digest,
            kb.version,
            id(rules),
            allow_unverified,
            getattr(patient_part, "__qualname__", None),
            classes[c],
            tuple(sorted(row.items())) if row is not None else (),
        )
        hit = _REGIMEN_MEMO.get(memo_key)
        if hit is None:
            k = first_of_class[classes[c]]
            patient = patient_part(row) if row is not None and patient_part else None
            prognosis, _, ranking = rank_for(
                patient,
                decode(ks[k]),
                kb,
                evidence,
                rules,
                citer,
                allow_unverified=allow_unverified,
            )
            if len(_REGIMEN_MEMO) > _MEMO_LIMIT:
                _REGIMEN_MEMO.clear()
            hit = _REGIMEN_MEMO[memo_key] = (
                rules,
                recommended_regimen(_Ranked(prognosis, ranking)),
            )
        regimens.append(hit[1])
    by_view = [
        pl.Series(PROGNOSIS_CLASS, [prognosis_class(_Ranked(p, None)) for p in prognoses]),
        pl.Series(RANKING_CLASS, [prognosis_ranking_class(_Ranked(p, None)) for p in prognoses]),
        pl.Series(DECIDING, [list(deciding_instruments(_Ranked(p, None))) for p in prognoses]),
    ]
    columns = [pl.Series(OUTPUT, regimens).cast(types[OUTPUT]).gather(j_index)]
    columns += [c.cast(types[c.name]).gather(k_index) for c in by_view]
    return pl.DataFrame(columns)


def _dense(keys: pl.Series) -> tuple[list[int], pl.Series]:
    """The distinct keys (first-seen order) and each row's index among them."""
    uniq = keys.unique(maintain_order=True)
    index = keys.replace_strict(uniq, pl.int_range(len(uniq), eager=True), return_dtype=pl.Int64)
    return [int(k) for k in uniq], index


def _patient_parts(
    frame: pl.DataFrame, cols: list[str], make: PatientPart | None
) -> tuple[pl.Series, list[dict[str, Any] | None]]:
    """Per row, the index of its distinct patient part, and those parts' column values
    (index 0 = all unknown)."""
    if not cols or make is None:
        return pl.repeat(0, frame.height, dtype=pl.Int64, eager=True).alias("p"), [None]
    part = frame.select(cols)
    known = part.select(pl.any_horizontal([pl.col(c).is_not_null() for c in cols]))[:, 0]
    if not known.any():
        return pl.repeat(0, frame.height, dtype=pl.Int64, eager=True).alias("p"), [None]
    uniq = part.filter(known).unique(maintain_order=True).with_row_index("p", offset=1)
    parts: list[dict[str, Any] | None] = [None, *uniq.drop("p").iter_rows(named=True)]
    pid = part.join(uniq, on=cols, how="left", nulls_equal=True, maintain_order="left")["p"]
    pid = pl.select(pl.when(pl.lit(known)).then(pl.lit(pid)).otherwise(0))[:, 0]
    return pid.cast(pl.Int64).alias("p"), parts


# (evidence digest, knowledge-base version, plan rules, allow_unverified, the patient-part
# builder, ranking class, patient part) -> the recommended regimen, across calls (chunks of a
# file, Arrow batches on Spark). The rules object is kept in the value, so its id in the key
# cannot be reused.
_REGIMEN_MEMO: dict[tuple[Any, ...], tuple[PlanRules, str | None]] = {}
_MEMO_LIMIT = 100_000


def _distinct_view_keys(
    frame: pl.DataFrame,
    cis: Mapping[str, CompiledInstrument],
    ids: tuple[str, ...],
    keys: tuple[str, ...],
) -> tuple[pl.Series, Callable[[int], dict[str, ResultView]], int]:
    """One key per distinct combination of the views' columns (no verification columns)."""
    wanted = [f"{i}__{s}" for i in ids for s in ("status", "points", "group")] + list(keys)
    cols = [c for c in wanted if c in frame.columns]
    work = frame.select(
        [
            pl.col(c).cast(pl.String)
            if c.endswith(("__status", "__group", "__verification"))
            else pl.col(c)
            for c in cols
        ]
    )
    if not cols:
        work = pl.DataFrame({"__all": pl.repeat(0, frame.height, dtype=pl.Int64, eager=True)})
        cols = ["__all"]
    combos = work.unique(maintain_order=True).with_row_index("__k")
    rows = list(combos.drop("__k").iter_rows(named=True))
    joined = work.join(combos, on=cols, how="left", nulls_equal=True, maintain_order="left")

    def decode(k: int) -> dict[str, ResultView]:
        return {iid: _view(cis[iid], rows[k]) for iid in ids}

    return joined.get_column("__k").cast(pl.Int64), decode, len(rows)


def _in_levels(schema: pl.Schema, column: str, levels: Sequence[str]) -> pl.Expr:
    """Whether a verification column's label is one of ``levels`` (on the enum's codes)."""
    dtype = schema[column]
    if isinstance(dtype, pl.Enum):
        codes = [i for i, c in enumerate(dtype.categories) if c in levels]
        return pl.col(column).to_physical().is_in(codes)
    return pl.col(column).cast(pl.String).is_in(list(levels))


def _canonical_keys(
    frame: pl.DataFrame,
    cis: Mapping[str, CompiledInstrument],
    ids: tuple[str, ...],
    rules: PlanRules,
    allow_unverified: bool,
) -> tuple[pl.Series, Callable[[int], dict[str, ResultView]], int]:
    """One packed key per row (below the returned bound) from canonical views.

    (The table path with verification columns.)

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
    schema = frame.schema
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
                    & _in_levels(schema, f"{iid}__verification", levels)
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
        allowed = _in_levels(schema, f"{iid}__verification", levels).cast(pl.Int64)
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

    def decode(packed: int) -> dict[str, ResultView]:
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
        return views

    return keys, decode, stride
