"""Site-derived tables (``mescc derive``): a Rades skeleton completed on a site's own registry
by the published construction rule, written as an overlay labelled ``site-derived``.

Method (reference ``rades-instruments.md`` §1.1, VERIFIED-P for the family):

1. the rows with a usable outcome and no input error are shuffled with
   ``numpy.random.default_rng(seed)``; the first ``round(n x holdout)`` form the held-out
   validation part, the rest the derivation part (documented split, fixed seed);
2. for each of the skeleton's confirmed factors and each category, the derivation part's rate:
   the Kaplan-Meier survival at the instrument's horizon (6 months; 12 for the myeloma scores)
   for survival scores, the proportion ambulatory after RT for ambulatory scores; a patient
   whose factor input is unknown is left out of that factor only (counted);
3. points = rate (%) / 10 rounded by the stated rule (``nearest``: halves up; or ``floor`` /
   ``ceil``), the rate being stored with two decimals and the points computed from the stored
   value (so constraint A6 can be re-checked from the file);
4. range = sums of the per-factor minima and maxima; groups = the published cut-offs laid on
   the derived range (``kb.overlay.derived_group_ranges``), each with this site's observed
   outcome in the derivation part, labelled ``site-derived``;
5. the file is re-read through ``kb.overlay.check_overlay`` (what ``mescc kb check`` runs)
   before it is written, and the validation report (``mescc validate``) is run on the held-out
   part with the derived table loaded.

Category definitions: a skeleton's categories are not confirmed (the reference gives factors
only), so the site must supply them in a small YAML file (``--categories``; format below). They
define the instrument's own factors, read the skeleton's own input keys (a factor the skeleton
attaches to no key, e.g. the graded motor function of the ambulatory score, must name its keys),
and must cover every allowed value exactly once; they are never borrowed from another
instrument. Where a skeleton does carry confirmed categories, those are used and the file may
not redefine them.

```yaml
instrument: rades_survival_2008
source: "Registry X category definitions, protocol v2 (2024), section 3"
factors:
  tumor_type:
    categories:
      - {label: breast, when: {primary_tumor: {in: [breast]}}}
      - {label: other, when: {primary_tumor: {not_in: [breast]}}}
  ...
```

Trap guarded: the reference forbids reconstructing *the published* points from rates (Q5);
a site-derived table is not that. It is this registry's own table, never labelled ``primary``,
``secondary`` or ``site-supplied``, and it decides the plan only where the site enables it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mescc.errors import InputError, OverlayError, Problem
from mescc.registry.cohort import Cohort, OutcomeColumns, read_cohort
from mescc.registry.survival import Estimate, kaplan_meier, wilson
from mescc.registry.validate import observable

if TYPE_CHECKING:
    import polars as pl
    from numpy.typing import NDArray

    from mescc.kb.loader import KnowledgeBase
    from mescc.kb.schema import Instrument, Predicate

DEFAULT_SEED = 20240601
DEFAULT_HOLDOUT = 0.3
SMALL_CATEGORY = 30


@dataclass(frozen=True)
class Provenance:
    """Who derives the table, on which registry, over which period (constraint A1)."""

    registry: str
    derived_by: str
    cohort_from: date
    cohort_to: date
    derived_on: date | None = None


@dataclass(frozen=True)
class DeriveResult:
    """What ``mescc derive`` wrote and found."""

    table: Path
    report_html: Path | None
    report_json: Path | None
    instrument: Instrument
    rates: dict[str, list[dict[str, Any]]]
    range_statement: str
    derivation_n: int
    validation_n: int
    synthetic: bool


def _problem(field: str, value: Any, allowed: str, what: str) -> Problem:
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    return Problem(field, value, allowed, f"{field}: {shown} {what}; allowed: {allowed}")


def derivable(inst: Instrument) -> tuple[str, float | None]:
    """The outcome kind (``survival`` or ``binary``) and horizon of a derivable skeleton.

    Raises ``InputError`` naming why an instrument cannot be derived by ``mescc derive``.
    """
    allowed = "a Rades skeleton built by the rate / 10 rule (survival or ambulatory outcome)"
    if not inst.is_skeleton:
        raise InputError(
            [
                _problem(
                    "--instrument",
                    inst.id,
                    allowed,
                    "ships with points; a site-derived table completes only a skeleton",
                )
            ]
        )
    rule = inst.site_constraints.rate_rule if inst.site_constraints else None
    if not rule or "/ 10" not in rule:
        raise InputError(
            [
                _problem(
                    "--instrument",
                    inst.id,
                    allowed,
                    "is not built by the rate / 10 rule (reference §1.1)",
                )
            ]
        )
    if not inst.items or inst.total_range is None or not inst.groups:
        raise InputError(
            [
                _problem(
                    "--instrument",
                    inst.id,
                    allowed,
                    "has no confirmed factor list, range or groups",
                )
            ]
        )
    obs = observable(inst.outcome)
    if obs is None or obs.kind not in ("survival", "binary"):
        raise InputError(
            [
                _problem(
                    "--instrument",
                    inst.id,
                    allowed,
                    f"outcome {inst.outcome} is not one a registry records here "
                    "(survival at a horizon, ambulatory after RT)",
                )
            ]
        )
    return obs.kind, obs.months


# --------------------------------------------------------------------------- categories


def read_categories(path: Path, inst: Instrument) -> tuple[list[dict[str, Any]], str, bool]:
    """The site's category definitions as item dicts (no points yet), their source, and
    whether the file says it is synthetic. Raises ``InputError`` with every problem."""
    import yaml
    from pydantic import ValidationError

    from mescc.fields import FIELD_BY_KEY
    from mescc.kb.loader import item_outcomes
    from mescc.kb.schema import Item

    name = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(
            [
                _problem(
                    "--categories",
                    str(path),
                    "a readable YAML file",
                    f"cannot be read ({exc.strerror})",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(
            [_problem("--categories", name, "a YAML mapping", f"is not valid YAML ({exc})")]
        ) from None
    if not isinstance(data, dict):
        raise InputError([_problem("--categories", name, "a YAML mapping", "is not a mapping")])
    problems: list[Problem] = []
    if data.get("instrument") != inst.id:
        problems.append(
            _problem(
                f"{name} instrument",
                data.get("instrument"),
                inst.id,
                "is not the instrument being derived",
            )
        )
    source = data.get("source")
    if not isinstance(source, str) or not source.strip():
        problems.append(
            _problem(
                f"{name} source",
                source,
                "text naming where the definitions come from (A1)",
                "is missing",
            )
        )
    factors = data.get("factors")
    if not isinstance(factors, dict):
        raise InputError(
            [
                *problems,
                _problem(
                    f"{name} factors", factors, "a mapping factor -> categories", "is missing"
                ),
            ]
        )
    wanted = [i.factor for i in inst.items]
    for f in factors:
        if f not in wanted:
            problems.append(
                _problem(
                    f"{name} factors.{f}",
                    f,
                    ", ".join(wanted),
                    f"is not a factor of {inst.id} (A2)",
                )
            )
    items: list[dict[str, Any]] = []
    for base in inst.items:
        spec = factors.get(base.factor)
        where = f"{name} factors.{base.factor}"
        if base.categories:
            if spec is not None:
                problems.append(
                    _problem(
                        where,
                        "categories",
                        "none (the instrument's own)",
                        "redefines confirmed categories",
                    )
                )
                continue
            items.append(base.model_dump(mode="json", by_alias=True, exclude_none=True))
            continue
        if not isinstance(spec, dict) or not isinstance(spec.get("categories"), list):
            problems.append(
                _problem(
                    where,
                    None,
                    "a list of categories with label and when",
                    "is missing: the skeleton's categories are not confirmed, "
                    "so the site must define them",
                )
            )
            continue
        inputs = list(base.inputs)
        given = spec.get("inputs")
        if given is not None:
            if inputs and list(given) != inputs:
                problems.append(
                    _problem(
                        f"{where}.inputs", given, str(inputs), "differs from the skeleton's inputs"
                    )
                )
                continue
            bad = [k for k in given if k not in FIELD_BY_KEY]
            if bad:
                problems.append(
                    _problem(f"{where}.inputs", bad, "patient keys", "are not patient keys")
                )
                continue
            inputs = list(given)
        if not inputs:
            problems.append(
                _problem(
                    f"{where}.inputs",
                    None,
                    "patient keys",
                    "are needed: the skeleton attaches no key to this factor",
                )
            )
            continue
        cats = []
        for j, c in enumerate(spec["categories"]):
            if not isinstance(c, dict) or "label" not in c or "when" not in c:
                problems.append(
                    _problem(f"{where}.categories[{j}]", c, "{label, when}", "is not a category")
                )
                continue
            cats.append({"label": str(c["label"]), "when": c["when"]})
        item = {
            "factor": base.factor,
            "label": base.label,
            "inputs": inputs,
            "categories": cats,
            "verification": "site-derived",
        }
        try:
            model = Item.model_validate({**item, "categories": [{**c, "points": 0} for c in cats]})
            item_outcomes(model)
        except ValidationError as exc:
            msg = "; ".join(
                f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            problems.append(
                _problem(
                    f"{where}.categories",
                    "definitions",
                    "categories with label and when (in, not_in, lt, le, gt, ge)",
                    msg,
                )
            )
            continue
        except ValueError as exc:
            msg = str(exc)
            problems.append(
                _problem(
                    f"{where}.categories",
                    "definitions",
                    "mutually exclusive, exhaustive categories (A3)",
                    msg,
                )
            )
            continue
        items.append(item)
    if problems:
        raise InputError(problems)
    return items, str(source), bool(data.get("synthetic", False))


def _pred_expr(key: str, pred: Predicate) -> pl.Expr:
    import polars as pl

    col = pl.col(key)
    expr = pl.lit(True)
    if pred.in_ is not None:
        expr = expr & col.is_in(list(pred.in_))
    if pred.not_in is not None:
        expr = expr & ~col.is_in(list(pred.not_in))
    for op, value in (("lt", pred.lt), ("le", pred.le), ("gt", pred.gt), ("ge", pred.ge)):
        if value is not None:
            expr = expr & getattr(col, op)(value)
    return expr


def category_codes(frame: pl.DataFrame, item: Mapping[str, Any]) -> NDArray[np.int64]:
    """Per row, the index of the item's category that applies; -1 where an input is unknown."""
    import polars as pl

    from mescc.kb.schema import Predicate

    keys = list(item["inputs"])
    known = pl.all_horizontal([pl.col(k).is_not_null() for k in keys])
    expr: pl.Expr = pl.lit(-1, dtype=pl.Int64)
    for idx in range(len(item["categories"]) - 1, -1, -1):
        when = item["categories"][idx]["when"]
        cond = pl.all_horizontal(
            [_pred_expr(k, Predicate.model_validate(p)) for k, p in when.items()]
        )
        expr = pl.when(known & cond).then(idx).otherwise(expr)
    cols = {
        k: frame[k] if k in frame.columns else pl.Series(k, [None] * frame.height) for k in keys
    }
    sub = pl.DataFrame(cols)
    return np.asarray(sub.select(expr.alias("c"))["c"].to_numpy(), dtype=np.int64)


# --------------------------------------------------------------------------- derivation


def _rate(kind: str, months: float | None, t: Any, e: Any, y: Any) -> Estimate:
    if kind == "survival":
        assert months is not None
        return kaplan_meier(t, e).at(months)
    return wilson(int(np.sum(y > 0.5)), int(y.size))


def split(usable: NDArray[np.bool_], holdout: float, seed: int) -> NDArray[np.bool_]:
    """True for the held-out rows: usable rows shuffled with default_rng(seed), the first
    round(n x holdout) held out."""
    idx = np.flatnonzero(usable)
    order = np.random.default_rng(seed).permutation(idx.size)
    held = np.zeros(usable.size, dtype=bool)
    held[idx[order[: round(idx.size * holdout)]]] = True
    return held


def derive_table(
    cohort: Cohort,
    shipped: KnowledgeBase,
    instrument: str,
    categories: Path,
    provenance: Provenance,
    *,
    holdout: float = DEFAULT_HOLDOUT,
    seed: int = DEFAULT_SEED,
    rounding: str = "nearest",
    table_path: Path,
) -> tuple[str, Instrument, dict[str, list[dict[str, Any]]], NDArray[np.bool_], NDArray[np.bool_]]:
    """Derive the table; return its YAML text, the checked instrument, the category rates and
    the derivation / held-out row masks. Raises ``InputError`` (bad input) or ``OverlayError``
    (a table that fails its own check, which would be a bug)."""
    import yaml

    from mescc.kb.overlay import check_overlay, derived_group_ranges, rounding_rules
    from mescc.kb.schema import Group, Instrument, Outcome, SiteDerivation

    if instrument not in shipped.instruments:
        raise InputError(
            [_problem("--instrument", instrument, "an instrument id", "is not an instrument")]
        )
    base = shipped[instrument]
    kind, months = derivable(base)
    if not 0 < holdout < 1:
        raise InputError(
            [_problem("--holdout", holdout, "a fraction > 0 and < 1", "is out of range")]
        )
    rules = rounding_rules()
    if rounding not in rules:
        raise InputError([_problem("--rounding", rounding, ", ".join(rules), "is not a rule")])
    if provenance.cohort_from > provenance.cohort_to:
        raise InputError(
            [
                _problem(
                    "--cohort-from",
                    str(provenance.cohort_from),
                    f"a date on or before --cohort-to {provenance.cohort_to}",
                    "is after --cohort-to",
                )
            ]
        )
    if kind == "binary" and cohort.ambulatory_after is None:
        raise InputError(
            [
                _problem(
                    "--ambulatory-after",
                    None,
                    "the column of ambulatory status after RT",
                    f"is required for {instrument}",
                )
            ]
        )
    items, cat_source, cats_synthetic = read_categories(categories, base)
    valid = cohort.valid
    if kind == "survival":
        usable = valid & cohort.outcome_known
        y_all = np.zeros(cohort.rows)
    else:
        assert cohort.ambulatory_after is not None
        usable = valid & ~np.isnan(cohort.ambulatory_after)
        y_all = cohort.ambulatory_after
    if usable.sum() < 2:
        raise InputError(
            [
                _problem(
                    "COHORT",
                    int(usable.sum()),
                    "at least 2 rows with the outcome and no input error",
                    "usable rows",
                )
            ]
        )
    held = split(usable, holdout, seed)
    deriv = usable & ~held
    t, e = cohort.time_months, cohort.event
    rule = rules[rounding]
    rates: dict[str, list[dict[str, Any]]] = {}
    codes_by_factor: dict[str, NDArray[np.int64]] = {}
    problems: list[Problem] = []
    for item in items:
        codes = category_codes(cohort.patients, item)
        codes_by_factor[item["factor"]] = codes
        rows = []
        for j, cat in enumerate(item["categories"]):
            sel = deriv & (codes == j)
            est = _rate(kind, months, t[sel], e[sel], y_all[sel])
            if est.value is None:
                problems.append(
                    _problem(
                        f"{item['factor']} / {cat['label']}",
                        int(sel.sum()),
                        "patients of the derivation part followed to the horizon",
                        f"cannot give a rate ({est.note})",
                    )
                )
                continue
            rate = round(100 * est.value, 2)
            cat["rate"] = rate
            cat["points"] = rule(rate)
            cat["verification"] = "site-derived"
            cat["note"] = (
                f"site-derived: {rate:g}% (95% CI {100 * (est.low or 0):.1f}-"
                f"{100 * (est.high or 0):.1f}%), n = {est.n} of the derivation part"
            )
            rows.append(
                {
                    "label": cat["label"],
                    "rate_percent": rate,
                    "points": cat["points"],
                    "n": est.n,
                    "ci95_percent": [
                        round(100 * (est.low or 0), 2),
                        round(100 * (est.high or 0), 2),
                    ],
                    "small": est.n < SMALL_CATEGORY,
                }
            )
        unknown = int((deriv & (codes < 0)).sum())
        rates[item["factor"]] = rows
        rates[item["factor"] + "__unknown_in_derivation"] = [{"n": unknown}]
    if problems:
        raise InputError(problems)
    # achievable totals and the groups on the derived range
    point_sets = [{c["points"] for c in it["categories"]} for it in items]
    reach = {0}
    for point_set in point_sets:
        reach = {a + b for a in reach for b in point_set}
    kept, dropped, unreachable = derived_group_ranges(base.groups, reach)
    lo, hi = min(reach), max(reach)
    totals = np.zeros(cohort.rows, dtype=np.int64)
    all_known = np.ones(cohort.rows, dtype=bool)
    for it in items:
        codes = codes_by_factor[it["factor"]]
        pts = np.array([c["points"] for c in it["categories"]], dtype=np.int64)
        all_known &= codes >= 0
        totals += np.where(codes >= 0, pts[np.maximum(codes, 0)], 0)
    groups = []
    for g, glo, ghi in kept:
        sel = deriv & all_known & (totals >= glo) & (totals <= ghi)
        group_est = _rate(kind, months, t[sel], e[sel], y_all[sel]) if sel.any() else None
        outcomes = []
        observed = "no patient of the derivation part in this group"
        if group_est is not None and group_est.value is not None:
            value = group_est.value
            outcomes.append(
                Outcome(
                    outcome=base.outcome,
                    value=round(value, 4),
                    unit="proportion",
                    cohort="site derivation",
                    n=group_est.n,
                    ci95=(round(group_est.low or 0, 4), round(group_est.high or 0, 4)),
                    verification="site-derived",
                    note="observed in this site's derivation part",
                )
            )
            observed = f"{100 * value:.1f}% (n = {group_est.n})"
        groups.append(
            Group(
                label=f"{glo}-{ghi}",
                range=(glo, ghi),
                category=g.category,
                text=f"this site (derivation part): {observed}; published group {g.label}: "
                f"{g.text or g.category}",
                prognosis=g.prognosis,
                prognosis_basis=(
                    f"inherited from the published group {g.label} ({g.prognosis_basis})"
                    if g.prognosis
                    else None
                ),
                outcomes=tuple(outcomes),
                verification="site-derived",
            )
        )
    synthetic = cohort.synthetic or cats_synthetic
    report_name = table_path.with_suffix("").name + ".validation.html"
    derivation = SiteDerivation(
        registry=("SYNTHETIC COHORT - " if synthetic else "") + provenance.registry,
        derived_by=provenance.derived_by,
        derived_on=provenance.derived_on or date.today(),
        cohort_from=provenance.cohort_from,
        cohort_to=provenance.cohort_to,
        cohort_n=int(usable.sum()),
        derivation_n=int(deriv.sum()),
        validation_n=int(held.sum()),
        holdout_fraction=holdout,
        seed=seed,
        method=(
            "points = category "
            + (
                "Kaplan-Meier survival at the horizon"
                if kind == "survival"
                else "proportion ambulatory after RT"
            )
            + f" (%) / 10 rounded {rounding} (rades-instruments.md §1.1); rows with the outcome "
            f"and no input error shuffled with numpy default_rng({seed}), the first "
            f"{holdout:.0%} held out for validation"
        ),
        rounding=rounding,  # type: ignore[arg-type]
        outcome=base.outcome,
        horizon_months=months,
        categories_source=cat_source,
        published_range=base.total_range,
        derived_range=(lo, hi),
        dropped_groups=tuple(dropped),
        synthetic=synthetic,
        validation_report=report_name,
    )
    notes = [
        "SITE-DERIVED TABLE: the points are this registry's own category rates / 10 by the "
        "published construction rule (rades-instruments.md §1.1); they are not the published "
        "points (not confirmed, Q5) and must never be presented as the published table.",
        f"Category definitions: {cat_source}.",
        f"Derived range {lo}-{hi}; published {base.total_range[0]}-{base.total_range[1]}"  # type: ignore[index]
        + (f"; published groups not reached: {', '.join(dropped)}" if dropped else "")
        + ".",
    ]
    if synthetic:
        notes.insert(0, "SYNTHETIC COHORT: a demonstration, never evidence.")
    inst = Instrument.model_validate(
        {
            **base.model_dump(
                mode="json",
                by_alias=True,
                exclude_none=True,
                exclude={"items", "groups", "notes", "verification", "verification_note", "site"},
            ),
            "items": items,
            "groups": [g.model_dump(mode="json", by_alias=True, exclude_none=True) for g in groups],
            "notes": notes,
            "total_range": [lo, hi],
            "unreachable_totals": unreachable,
            "achievable_totals": None,
            "verification": "site-derived",
            "verification_note": f"site-derived points ({derivation.registry}, "
            f"{derivation.cohort_n} patients, {derivation.cohort_from} to "
            f"{derivation.cohort_to}); not the published table",
            "derived": derivation.model_dump(mode="json"),
        }
    )
    doc = inst.model_dump(mode="json", by_alias=True, exclude_none=True)
    header = (
        f"# {inst.id}: SITE-DERIVED table written by mescc derive - not the published table.\n"
        + ("# SYNTHETIC COHORT: a demonstration, never evidence.\n" if synthetic else "")
    )
    text = header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    try:
        checked = check_overlay(text, str(table_path), shipped.instruments)
    except OverlayError:
        raise
    return text, checked, rates, deriv, held


def run_derive(
    cohort_path: Path,
    outcomes: OutcomeColumns,
    instrument: str,
    categories: Path,
    output_dir: Path,
    provenance: Provenance,
    *,
    holdout: float = DEFAULT_HOLDOUT,
    seed: int = DEFAULT_SEED,
    rounding: str = "nearest",
    ignore: Sequence[str] = (),
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> DeriveResult:
    """Derive a site table from a cohort file, write it into ``output_dir`` (an overlay
    folder) with the validation report of its held-out part."""
    from mescc.kb.loader import _instrument_files, build_kb, load_kb
    from mescc.kb.overlay import range_comparison
    from mescc.registry.report import write_report
    from mescc.registry.validate import validate_cohort

    shipped = load_kb(None)
    table_path = output_dir / f"{instrument}.yaml"
    if table_path.exists() and not overwrite:
        raise InputError(
            [_problem("--output", str(table_path), "a new file (or --overwrite)", "exists")]
        )
    cohort = read_cohort(cohort_path, outcomes, ignore)
    text, inst, rates, _, held = derive_table(
        cohort,
        shipped,
        instrument,
        categories,
        provenance,
        holdout=holdout,
        seed=seed,
        rounding=rounding,
        table_path=table_path,
    )
    if progress:
        progress("derived")
    output_dir.mkdir(parents=True, exist_ok=True)
    table_path.write_text(text, encoding="utf-8")
    kb = build_kb(_instrument_files(), [(str(table_path), text)], str(output_dir))
    followers = [i.id for i in kb if i.points_from == instrument]
    report = validate_cohort(
        cohort.subset(held, "held-out validation part"),
        kb,
        instruments=[instrument, *followers],
        progress=progress,
        note=f"held-out part of the derivation of {instrument} (seed {seed}, "
        f"{holdout:.0%}); site-derived table {table_path.name}",
    )
    html = output_dir / f"{instrument}.validation.html"
    js = output_dir / f"{instrument}.validation.json"
    write_report(report, html, js)
    assert inst.derived is not None
    return DeriveResult(
        table=table_path,
        report_html=html,
        report_json=js,
        instrument=inst,
        rates=rates,
        range_statement=range_comparison(inst, shipped[instrument].total_range),
        derivation_n=inst.derived.derivation_n,
        validation_n=inst.derived.validation_n,
        synthetic=inst.derived.synthetic,
    )
