"""The recommended regimen of every row of a batch table, without per-row Python.

The batch table holds the patient columns and, for every instrument, ``<id>__status``,
``<id>__points`` and ``<id>__group``. The regimen ranking reads, of all that, only the results
of the survival instruments (plus the two-month mortality and end-of-life scores) and the
verification of each computed result. Verification is the instrument's level lowered by any
scored category with a weaker label (e.g. the revised Tokuhashi vertebral-body item in CONFLICT),
so the patient inputs of those items are read too.

The plan is computed once per DISTINCT combination of those columns (``unique()``, a Python
loop over the combinations, then a join back to the rows), with the same functions as
``build_plan``; a test proves the two agree. An instrument not computable because inputs are
missing is read with the groups it can still reach (``<id>__possible_lo`` / ``__possible_hi``
of the table driver), because the prognosis consensus counts its least favourable possibility.

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
from mescc.kb.evidence import PROGNOSIS_CLASSES, Evidence, load_evidence
from mescc.kb.loader import KnowledgeBase, load_kb
from mescc.kb.schema import VERIFICATION_ORDER
from mescc.patient import Patient
from mescc.plan.core import rank_for
from mescc.plan.prognosis import (
    CLASSES,
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
    """Column ``prognosis_deciding_instruments``: the instruments whose votes decided the
    class (the consensus; the histology floor's score when it raised the class)."""
    return core.prognosis.deciding_instruments


def plan_column_types(kb: KnowledgeBase) -> dict[str, Any]:
    """The polars dtype of every plan column."""
    return {
        OUTPUT: pl.Categorical(),
        PROGNOSIS_CLASS: pl.Enum(list(CLASSES)),
        RANKING_CLASS: pl.Enum(list(PROGNOSIS_CLASSES)),
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
        i
        for i, item in enumerate(ci.items)
        if len({c.scored_verification for c in item.categories}) > 1
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
                rank = min(rank, VERIFICATION_ORDER[item.categories[res.index].scored_verification])
        elif item.categories:
            rank = min(rank, VERIFICATION_ORDER[item.categories[0].scored_verification])
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


def groups_between(ci: CompiledInstrument, lo: int, hi: int) -> tuple[str, ...]:
    """The labels of the groups a total between ``lo`` and ``hi`` can fall in (scalar rule)."""
    idx = sorted({ci.group_of_total[t] for t in range(lo, hi + 1) if t in ci.group_of_total})
    return tuple(ci.groups[i].label for i in idx)


def _view(ci: CompiledInstrument, row: Mapping[str, Any]) -> ResultView:
    status = row.get(f"{ci.id}__status") or "not_computable"
    points = row.get(f"{ci.id}__points")
    group = row.get(f"{ci.id}__group")
    verification = ci.verification
    given = row.get(f"{ci.id}__verification")
    if status == "computed":
        verification = str(given) if given is not None else result_verification(ci, row)
    elif given is not None:
        verification = str(given)
    lo, hi = row.get(f"{ci.id}__possible_lo"), row.get(f"{ci.id}__possible_hi")
    possible = (
        groups_between(ci, int(lo), int(hi))
        if status == "not_computable" and lo is not None and hi is not None
        else ()
    )
    return ResultView(
        ci.id, str(status), None if points is None else int(points), group, verification, possible
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
    ids, _ = regimen_columns(kb, rules)
    types = plan_column_types(kb)
    if frame.height == 0:
        return pl.DataFrame(schema=types)
    part_cols = [c for c in patient_columns if c in frame.columns]
    if patient_part is None:
        part_cols = []
    pid, parts = _patient_parts(frame, part_cols, patient_part)
    needed = [
        f"{i}__{s}"
        for i in ids
        if not cis[i].skeleton and cis[i].kind != "classification"
        for s in ("verification", "possible_lo", "possible_hi")
    ]
    if not all(c in frame.columns for c in needed):
        # The ranking needs each result's verification and possible groups: evaluate the
        # ranking instruments again on the patient columns (the table driver), which gives
        # exactly the results the frame holds plus those columns.
        from mescc.engine.table import evaluate_frame
        from mescc.fields import FIELD_BY_KEY

        patient_cols = [c for c in frame.columns if c in FIELD_BY_KEY]
        frame = evaluate_frame(
            [cis[i] for i in ids], frame.select(patient_cols), with_verification=True
        )
    packed, decode = _canonical_keys(frame, kb, cis, ids, rules, allow_unverified)
    ks, k_index = _dense(packed)
    # the columns that depend on the views alone: once per distinct (canonical) view key,
    # remembered across calls (the chunks of a file, Arrow batches on Spark)
    context = (evidence.digest, kb.version, id(rules), allow_unverified)
    reads: list[_ViewRead] = []
    for k in ks:
        memo = _VIEW_MEMO.get((*context, k))
        if memo is None:
            prognosis = classify_prognosis(decode(k), kb, rules, allow_unverified=allow_unverified)
            if len(_VIEW_MEMO) > _MEMO_LIMIT:
                _VIEW_MEMO.clear()
            memo = _VIEW_MEMO[(*context, k)] = (rules, _view_read(prognosis))
        reads.append(memo[1])
    # the regimen reads the prognosis only through its ranking class and whether preferences
    # may lengthen the course (and the patient part): once per distinct (those, patient
    # part), through ``rank_for``
    classes = list(dict.fromkeys(r.ranking_reads for r in reads))
    first_of_class = {
        c: next(i for i, r in enumerate(reads) if r.ranking_reads == c) for c in classes
    }
    cls_index = pl.Series([classes.index(r.ranking_reads) for r in reads], dtype=pl.Int64)
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
        pl.Series(PROGNOSIS_CLASS, [r.prognosis_class for r in reads]),
        pl.Series(RANKING_CLASS, [r.ranking_class for r in reads]),
    ]
    columns = [pl.Series(OUTPUT, regimens).cast(types[OUTPUT]).gather(j_index)]
    columns += [c.cast(types[c.name]).gather(k_index) for c in by_view]
    # the deciding instruments: few distinct lists, built once each, then gathered per row
    position: dict[tuple[str, ...], int] = {}
    for r in reads:
        position.setdefault(r.deciding, len(position))
    lists = list(position)
    list_index = pl.Series([position[r.deciding] for r in reads], dtype=pl.Int64)
    distinct = pl.Series(DECIDING, [list(d) for d in lists], dtype=types[DECIDING])
    columns.append(distinct.gather(list_index.gather(k_index)))
    return pl.DataFrame(columns)


@dataclass(frozen=True, slots=True)
class _ViewRead:
    """What the plan columns read of one canonical key's prognosis (through the helpers)."""

    prognosis_class: str | None
    ranking_class: str
    deciding: tuple[str, ...]
    ranking_reads: tuple[str, bool]  # what of the prognosis the regimen ranking reads


def _view_read(prognosis: Prognosis) -> _ViewRead:
    core = _Ranked(prognosis, None)
    return _ViewRead(
        prognosis_class(core),
        prognosis_ranking_class(core),
        deciding_instruments(core),
        (prognosis.ranking_class, prognosis.preferences_may_lengthen),
    )


# (evidence digest, knowledge-base version, plan rules, allow_unverified, canonical key) ->
# what the plan columns read of its prognosis, across calls; the rules object is kept in the
# value, so its id in the key cannot be reused.
_VIEW_MEMO: dict[tuple[Any, ...], tuple[PlanRules, _ViewRead]] = {}


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


def _class_range_table(ci: CompiledInstrument) -> tuple[list[int], int]:
    """A lookup over (possible_lo, possible_hi) -> 1 + 3*lowest + highest class rank (0: none)."""
    from mescc.plan.prognosis import RANK

    size = ci.total_hi - ci.total_lo + 1
    table = [0] * (size * size)
    for lo in range(ci.total_lo, ci.total_hi + 1):
        for hi in range(lo, ci.total_hi + 1):
            labels = groups_between(ci, lo, hi)
            ranks = [RANK[g.prognosis] for g in ci.groups if g.label in labels and g.prognosis]
            if ranks:
                idx = (lo - ci.total_lo) * size + (hi - ci.total_lo)
                table[idx] = 1 + 3 * min(ranks) + max(ranks)
    return table, size


def _canonical_keys(
    frame: pl.DataFrame,
    kb: KnowledgeBase,
    cis: Mapping[str, CompiledInstrument],
    ids: tuple[str, ...],
    rules: PlanRules,
    allow_unverified: bool,
) -> tuple[pl.Series, Callable[[int], dict[str, ResultView]]]:
    """One packed key per row, and the canonical views a key stands for.

    The prognosis consensus reads a survival instrument only through its status, whether it
    may vote (its verification), the class of its group when computed and the least and most
    favourable classes it can still reach when inputs are missing; the two-month score only
    through which of its published thresholds the total meets and its group's class; the
    end-of-life score through its group, or its least favourable reachable group. Each row's
    views are replaced by the canonical views that give the same answer (the first group of a
    class, one label per deciding level, the smallest total meeting the same thresholds), so the
    plan runs once per distinct canonical key. A property test proves the result equals
    ``build_plan`` for the same patient.
    """
    from mescc.plan.prognosis import (
        _may_decide,
        may_vote,
        threshold_met,
    )

    order = set(rules.prognosis.order)
    eol_id = rules.prognosis.end_of_life.instrument
    levels = [label for label in VERIFICATION_ORDER if _may_decide(label, rules, allow_unverified)]

    def levels_of(iid: str) -> list[str]:
        """The labels that may vote for this instrument (site-derived: per instrument)."""
        inst = kb.instruments[iid]
        extra = ["site-derived"] if may_vote("site-derived", inst, rules, allow_unverified) else []
        return [*levels, *extra]

    deciding_label = levels[0] if levels else "primary"
    other_label = next((v for v in VERIFICATION_ORDER if v not in levels), "unverified")
    status = {iid: pl.col(f"{iid}__status").cast(pl.String) for iid in ids}
    codes: list[tuple[str, pl.Expr, int]] = []  # (id, code expression, number of codes)
    for iid in ids:
        ci = cis[iid]
        st = status[iid]
        if iid in order:
            allowed = (
                pl.col(f"{iid}__verification")
                .cast(pl.String)
                .is_in(levels_of(iid))
                .fill_null(False)
            )
            code: pl.Expr = pl.when(st == "not_applicable").then(0).otherwise(1)
            if ci.groups and not ci.skeleton:
                cls_of_group = pl.Series(
                    [(CLASSES.index(g.prognosis) if g.prognosis else -1) for g in ci.groups],
                    dtype=pl.Int64,
                )
                gcls = pl.lit(cls_of_group).gather(pl.col(f"{iid}__group").to_physical())
                table, size = _class_range_table(ci)
                lo = pl.col(f"{iid}__possible_lo").cast(pl.Int64) - ci.total_lo
                hi = pl.col(f"{iid}__possible_hi").cast(pl.Int64) - ci.total_lo
                rng = pl.lit(pl.Series(table, dtype=pl.Int64)).gather(lo * size + hi)
                code = (
                    pl.when((st == "computed") & allowed & (gcls >= 0))
                    .then(2 + gcls)
                    .when((st == "not_computable") & allowed & lo.is_not_null() & (rng > 0))
                    .then(4 + rng)
                    .otherwise(code)
                )
            codes.append((iid, code.fill_null(1), 2 if ci.skeleton else 14))
        elif iid == eol_id and ci.groups and not ci.skeleton:
            ng = len(ci.groups)
            lowest = [0] * ((ci.total_hi - ci.total_lo + 1) ** 2)
            size = ci.total_hi - ci.total_lo + 1
            labels = [g.label for g in ci.groups]
            for lo_t in range(ci.total_lo, ci.total_hi + 1):
                for hi_t in range(lo_t, ci.total_hi + 1):
                    reach = groups_between(ci, lo_t, hi_t)
                    if reach:
                        lowest[(lo_t - ci.total_lo) * size + hi_t - ci.total_lo] = 1 + labels.index(
                            reach[0]
                        )
            lo = pl.col(f"{iid}__possible_lo").cast(pl.Int64) - ci.total_lo
            hi = pl.col(f"{iid}__possible_hi").cast(pl.Int64) - ci.total_lo
            reach_code = pl.lit(pl.Series(lowest, dtype=pl.Int64)).gather(lo * size + hi)
            code = (
                pl.when(st == "computed")
                .then(1 + pl.col(f"{iid}__group").to_physical().cast(pl.Int64))
                .when((st == "not_computable") & lo.is_not_null() & (reach_code > 0))
                .then(ng + reach_code)
                .otherwise(0)
            )
            codes.append((iid, code.fill_null(0), 1 + 2 * ng))
        elif ci.groups and not ci.skeleton:
            # the two-month score: group (canonical per class), verification, thresholds met
            ng = len(ci.groups)
            first_of_class: dict[str | None, int] = {}
            canon = [first_of_class.setdefault(g.prognosis, i) for i, g in enumerate(ci.groups)]
            cgroup = pl.lit(pl.Series(canon, dtype=pl.Int64)).gather(
                pl.col(f"{iid}__group").to_physical()
            )
            allowed_i = (
                pl.col(f"{iid}__verification").cast(pl.String).is_in(levels_of(iid)).cast(pl.Int64)
            )
            offset: pl.Expr = pl.lit(0, dtype=pl.Int64)
            npoints = 1
            thresholds = ci.definition.thresholds
            if thresholds and ci.total_hi >= ci.total_lo:
                npoints = ci.total_hi - ci.total_lo + 1
                canon_points: list[int] = []
                seen: dict[tuple[object, ...], int] = {}
                for t in range(ci.total_lo, ci.total_hi + 1):
                    k = (ci.group_of_total.get(t), *(threshold_met(th, t) for th in thresholds))
                    canon_points.append(seen.setdefault(k, t) - ci.total_lo)
                offset = pl.lit(pl.Series(canon_points, dtype=pl.Int64)).gather(
                    pl.col(f"{iid}__points").cast(pl.Int64) - ci.total_lo
                )
            code = pl.when(st == "computed").then(1 + cgroup + ng * allowed_i + 2 * ng * offset)
            codes.append((iid, code.fill_null(0), 1 + 2 * ng * npoints))
    codes = _only_what_the_columns_read(codes, kb, cis, rules, allow_unverified, order, eol_id,
                                        deciding_label, other_label)  # fmt: skip
    key: pl.Expr = pl.lit(0, dtype=pl.Int64)
    strides: list[tuple[str, int, int]] = []  # (id, stride, number of codes)
    stride = 1
    for iid, code, n in codes:
        key = key + code.cast(pl.Int64) * stride
        strides.append((iid, stride, n))
        stride *= n
        if stride > 2**62:
            raise ValueError("too many ranking instruments to pack into one key")
    packed = frame.select(key.alias("key"))["key"]

    absent = {
        iid: ResultView(iid, "not_computable", None, None, cis[iid].verification) for iid in ids
    }
    made: dict[tuple[str, int], ResultView] = {}  # the views are frozen: one per code

    def view(iid: str, code: int) -> ResultView:
        hit = made.get((iid, code))
        if hit is None:
            hit = made[(iid, code)] = _canonical_view(
                cis[iid], iid, code, order, eol_id, deciding_label, other_label
            )
        return hit

    def decode(value: int) -> dict[str, ResultView]:
        views = dict(absent)
        for iid, st, n in strides:
            views[iid] = view(iid, (value // st) % n)
        return views

    return packed, decode


def _only_what_the_columns_read(
    codes: list[tuple[str, pl.Expr, int]],
    kb: KnowledgeBase,
    cis: Mapping[str, CompiledInstrument],
    rules: PlanRules,
    allow_unverified: bool,
    order: set[str],
    eol_id: str,
    deciding_label: str,
    other_label: str,
) -> list[tuple[str, pl.Expr, int]]:
    """The codes with what no plan column reads folded away (fewer distinct keys).

    The two-month score reaches the columns only through whether death within 2 months is
    predicted and, then, its group's class (its information cut-offs are reasons only); the
    end-of-life score only when death within 2 months is predicted (``read_end_of_life``).
    Each two-month code is replaced by the first code read the same way (by ``read_two_month``
    itself), and the end-of-life code is 0 unless the two-month code predicts death.
    """
    from mescc.plan.prognosis import group_of, read_two_month

    tm_id = rules.prognosis.two_month_mortality.instrument
    tm = next(((e, n) for i, e, n in codes if i == tm_id), None)
    if tm is None:
        return codes
    tm_expr, n = tm
    first: dict[tuple[bool, str | None], int] = {}
    canon: list[int] = []
    near: list[bool] = []
    for code in range(n):
        view = _canonical_view(cis[tm_id], tm_id, code, order, eol_id, deciding_label,
                               other_label)  # fmt: skip
        reading, _ = read_two_month({tm_id: view}, {}, kb, rules, allow_unverified)
        likely = bool(reading.death_within_2_months_very_likely)
        group = group_of(kb.instruments[tm_id], view.group) if likely else None
        canon.append(first.setdefault((likely, group.prognosis if group else None), code))
        near.append(likely)
    tm_code = pl.lit(pl.Series(canon, dtype=pl.Int64)).gather(tm_expr.cast(pl.Int64))
    is_near = pl.lit(pl.Series(near, dtype=pl.Boolean)).gather(tm_expr.cast(pl.Int64))
    out: list[tuple[str, pl.Expr, int]] = []
    for iid, expr, size in codes:
        if iid == tm_id:
            expr = tm_code
        elif iid == eol_id:
            expr = pl.when(is_near).then(expr).otherwise(0)
        out.append((iid, expr, size))
    return out


def _first_of_class(ci: CompiledInstrument, cls: str) -> tuple[str, int | None]:
    g = next(g for g in ci.groups if g.prognosis == cls)
    return g.label, g.range[0] if g.range else None


def _canonical_view(
    ci: CompiledInstrument,
    iid: str,
    code: int,
    order: set[str],
    eol_id: str,
    deciding_label: str,
    other_label: str,
) -> ResultView:
    """The canonical view an instrument's code stands for (see ``_canonical_ranking``)."""
    from mescc.plan.prognosis import CLASSES

    if iid in order:
        if code == 0:
            return ResultView(iid, "not_applicable", None, None, ci.verification)
        if code == 1:
            return ResultView(iid, "not_computable", None, None, ci.verification)
        if code <= 4:
            label, points = _first_of_class(ci, CLASSES[code - 2])
            return ResultView(iid, "computed", points, label, deciding_label)
        rng = code - 4 - 1
        lo_cls, hi_cls = CLASSES[rng // 3], CLASSES[rng % 3]
        groups = tuple(dict.fromkeys((_first_of_class(ci, lo_cls)[0],
                                      _first_of_class(ci, hi_cls)[0])))  # fmt: skip
        return ResultView(iid, "not_computable", None, None, deciding_label, groups)
    labels = [g.label for g in ci.groups]
    ng = len(labels)
    if iid == eol_id:
        if code == 0:
            return ResultView(iid, "not_computable", None, None, ci.verification)
        if code <= ng:
            g = ci.groups[code - 1]
            return ResultView(iid, "computed", g.range[0] if g.range else None, g.label,
                              ci.verification)  # fmt: skip
        g = ci.groups[code - ng - 1]
        return ResultView(iid, "not_computable", None, None, ci.verification, (g.label,))
    if code == 0:
        return ResultView(iid, "not_computable", None, None, ci.verification)
    c = code - 1
    lo = ci.total_lo if ci.definition.thresholds and ci.total_hi >= ci.total_lo else None
    return ResultView(
        iid,
        "computed",
        None if lo is None else lo + c // (2 * ng),
        labels[c % ng],
        deciding_label if (c // ng) % 2 else other_label,
    )
