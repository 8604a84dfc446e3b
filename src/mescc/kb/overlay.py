"""Site-supplied point tables: check them against their skeleton (``mescc kb check``).

A hospital that holds a paper may complete a skeleton without touching the package. Its table
is accepted only if every acceptance constraint of ``rades-instruments.md §1.2`` holds:

A1 provenance (``site`` block: who verified it, when, from which table and page);
A2 exactly the skeleton's factors; A3 exclusive, exhaustive categories with integer points;
A4 the published minimum and maximum totals reproduced exactly; A5 every published group
reachable, every achievable total inside a group (and equal to a published list of achievable
totals where one exists); A6 points = rate / 10 under one rounding rule where rates are given;
A7 the published direction. Groups and their outcomes must be the skeleton's, unchanged.

Trap guarded: informally circulating tables (e.g. Rades 2008 totals 18-47 vs published 20-45)
fail A4 with a precise message instead of being used.

Site-derived tables (``mescc derive``, verification ``site-derived``) are a site's own
derivation by the published construction rule (reference §1.1: points = the category's rate
in % / 10) on its own registry. They are never the published table, so the constraints apply
as follows (``check_derived``):

* A1 applies as a ``derived`` block: registry, who derived it and when, the cohort's dates and
  size, the split (held-out fraction, seed), the method and the source of the category
  definitions; a ``site`` block is refused on the same file;
* A2 applies: exactly the skeleton's factors;
* A3 applies: exclusive, exhaustive categories with integer points (the site's own category
  definitions of the instrument's own factors, never another instrument's);
* A4 does not apply as an equality: the derived range is this registry's, and
  ``mescc kb check`` states how it compares with the published range (``range_comparison``);
* A5 applies to the derived groups: they are the published cut-offs laid on the derived range
  (``derived_group_ranges``); every derived group is reachable and every achievable total is
  in one; a published group no derived total reaches is dropped and named;
* A6 applies strictly: every category carries its rate and its points are rate / 10 under the
  table's declared rounding rule;
* A7 applies: the published direction.

Whether a site-derived result may decide the plan is the site's choice
(``site_derived_may_decide``); without it such results are shown, never used to decide.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mescc.errors import DefinitionError, OverlayError
from mescc.kb.loader import (
    Report,
    achievable_totals,
    check_instrument,
    parse_instrument,
    parse_instrument_problems,
    with_line,
)
from mescc.kb.schema import Group, Instrument

#: Environment variable that lets site-derived tables decide the plan (``true`` / ``false``).
ALLOW_SITE_DERIVED_ENV = "MESCC_ALLOW_SITE_DERIVED"
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off", "")


def site_derived_may_decide(allow: bool | None = None, *, synthetic: bool = False) -> bool:
    """Whether results labelled ``site-derived`` may decide the plan.

    ``allow`` (a caller's explicit choice, e.g. a CLI flag or an API setting) wins; otherwise
    the site's setting ``MESCC_ALLOW_SITE_DERIVED`` (``true``/``false``; unset = false). The
    default is false: a table derived on a site's own registry decides only where the site
    enabled it, and every output must then say so. A table derived on a SYNTHETIC cohort
    (``synthetic``: ``result.site["synthetic"]`` / ``instrument.derived.synthetic``) never
    decides: it is a demonstration, never evidence.

    Raises
    ------
    DefinitionError
        When the variable holds anything but a boolean word (never guessed).
    """
    if synthetic:
        return False
    if allow is not None:
        return allow
    raw = os.environ.get(ALLOW_SITE_DERIVED_ENV, "")
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise DefinitionError(
        ALLOW_SITE_DERIVED_ENV,
        "",
        f"{raw!r} is not a boolean; allowed: true or false",
    )


def site_derived_decides(*, synthetic: bool = False) -> bool:
    """:func:`site_derived_may_decide` on the site's setting, a bad setting reported as an
    input error naming the variable (what the assessment paths raise: exit 2, a 422)."""
    from mescc.errors import InputError, Problem

    try:
        return site_derived_may_decide(synthetic=synthetic)
    except DefinitionError as exc:
        problem = Problem(
            ALLOW_SITE_DERIVED_ENV, None, "true or false", f"{ALLOW_SITE_DERIVED_ENV}: {exc.detail}"
        )
        raise InputError([problem]) from None


def check_overlay(text: str, file: str, shipped: Mapping[str, Instrument]) -> Instrument:
    """Validate a site table against the shipped definition it completes; return it.

    Raises
    ------
    OverlayError
        With the first constraint that fails, e.g. ``maximum total 47, published 45``
        (:func:`overlay_problems` lists every one).
    """
    site = parse_instrument(text, file) if _stem_matches(text, file) else _parse_any(text, file)
    base = shipped.get(site.id)
    if site.derived is not None:
        derived = check_derived(site, base, file, text)
        assert derived is not None  # every failure raised
        return derived
    checked = _check_site_table(site, base, file, text, _raise)
    assert checked is not None  # every failure raised
    return checked


def overlay_problems(
    text: str, file: str, shipped: Mapping[str, Instrument]
) -> tuple[Instrument | None, list[DefinitionError]]:
    """Every problem of a site table at once (``mescc kb check``): ``(table, problems)``.

    The table is the checked instrument when there is no problem. Each problem carries its
    file, line and path. A file that is not a definition at all (malformed YAML, schema
    errors) lists those problems only: the constraints need a parsed table.
    """
    problems: list[DefinitionError] = []
    named = _named_as_id(text, file)
    site, found = parse_instrument_problems(text, named)
    problems += [_refiled(p, file) for p in found]
    if site is None:
        return None, problems
    base = shipped.get(site.id)
    if site.derived is not None:
        checked = check_derived(site, base, file, text, report=problems.append)
    else:
        checked = _check_site_table(site, base, file, text, problems.append)
    problems = _distinct([with_line(p, text) for p in problems])
    return (checked if not problems else None), problems


_CONSTRAINT = re.compile(r"^A\d(/A\d)*: ")


def _distinct(problems: list[DefinitionError]) -> list[DefinitionError]:
    """Each fact once: the shared proofs restate A4 ("maximum total 47, published 45")."""
    seen: set[str] = set()
    out: list[DefinitionError] = []
    for problem in problems:
        fact = _CONSTRAINT.sub("", problem.detail)
        if fact not in seen:
            seen.add(fact)
            out.append(problem)
    return out


def _factor_problem(base: Instrument, site: Instrument, file: str) -> OverlayError | None:
    """A2: a site table scores exactly the factors of the published instrument (None: it does)."""
    base_factors = [i.factor for i in base.items]
    site_factors = [i.factor for i in site.items]
    if sorted(base_factors) == sorted(site_factors):
        return None
    missing = sorted(set(base_factors) - set(site_factors))
    extra = sorted(set(site_factors) - set(base_factors))
    return OverlayError(
        file,
        "items",
        f"A2: factors must be exactly {base_factors}; missing {missing}, "
        f"not in the published instrument {extra}",
    )


def _raise(error: DefinitionError) -> None:
    raise error


#: What :func:`_load_yaml` returns for text that is not YAML (its own error is reported elsewhere).
_UNPARSABLE = object()


def _load_yaml(text: str) -> Any:
    """A site table's text parsed, or ``_UNPARSABLE``."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return _UNPARSABLE


def _named_as_id(text: str, file: str) -> str:
    """``file`` renamed after the table's id (a site file may be named otherwise)."""
    from pathlib import Path

    data = _load_yaml(text)
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return file
    return str(Path(file).with_name(f"{data['id']}.yaml"))


def _refiled(problem: DefinitionError, file: str) -> OverlayError:
    return OverlayError(file, problem.path, problem.detail, problem.line)


def _as_constraint(report: Report, file: str) -> Report:
    """``report`` for the shared proofs, whose problems are constraints A3/A5 here."""

    def wrapped(error: DefinitionError) -> None:
        if isinstance(error, OverlayError):
            report(error)
        else:
            report(OverlayError(file, error.path, f"A3/A5: {error.detail}", error.line))

    return wrapped


def _check_site_table(
    site: Instrument, base: Instrument | None, file: str, text: str, report: Report
) -> Instrument | None:
    """The constraints A1-A7 on a site-supplied table, each failure reported; the merged
    instrument, or None when the table has no complete points to check further."""
    if site.site is None:
        report(
            OverlayError(
                file,
                "site",
                "A1: a site table needs a site block "
                "(verified_by, verified_on, source with table and page)",
            )
        )
    if base is None:
        # A new instrument: it must prove itself like a packaged one.
        check_instrument(site, file, text, report=None if report is _raise else report)
        return site
    if not base.is_skeleton and not (site.site is not None and site.site.redefines_verified):
        report(
            OverlayError(
                file,
                "id",
                f"{site.id} ships with verified points; a site table may redefine it only with "
                "site.redefines_verified: true",
            )
        )
    factors = _factor_problem(base, site, file)
    if base.items and factors is not None:
        report(factors)
    if site.is_skeleton:
        report(OverlayError(file, "items", "A3: every category needs integer points"))
        return None
    if base.total_range is not None:
        reach = achievable_totals(site)
        lo, hi = min(reach), max(reach)
        if lo != base.total_range[0]:
            report(
                OverlayError(
                    file, "items", f"A4: minimum total {lo}, published {base.total_range[0]}"
                )
            )
        if hi != base.total_range[1]:
            report(
                OverlayError(
                    file, "items", f"A4: maximum total {hi}, published {base.total_range[1]}"
                )
            )
    if base.groups and _groups_key(site) != _groups_key(base):
        report(
            OverlayError(
                file,
                "groups",
                "groups and their outcomes must equal the published ones of "
                f"{base.id} (labels {[g.label for g in base.groups]})",
            )
        )
    if base.direction and site.direction != base.direction:
        report(
            OverlayError(
                file, "direction", f"A7: direction {site.direction}, published {base.direction}"
            )
        )
    merged = site.model_copy(
        update={
            "total_range": base.total_range,
            "unreachable_totals": base.unreachable_totals,
            "achievable_totals": base.achievable_totals,
            "groups": base.groups or site.groups,
            "verification": "site-supplied",
        }
    )
    check_instrument(merged, file, text, report=_as_constraint(report, file))
    _check_rates(merged, file, report)
    return merged


def _stem_matches(text: str, file: str) -> bool:
    from pathlib import Path

    data = _load_yaml(text)
    return data is _UNPARSABLE or (isinstance(data, dict) and data.get("id") == Path(file).stem)


def _parse_any(text: str, file: str) -> Instrument:
    """Parse a site file whose name differs from its id (allowed for overlays)."""
    from pathlib import Path

    import yaml

    data = yaml.safe_load(text)
    fake = str(Path(file).with_name(f"{data.get('id', 'unknown')}.yaml"))
    try:
        return parse_instrument(text, fake)
    except Exception as exc:
        raise OverlayError(
            file,
            getattr(exc, "path", ""),
            str(getattr(exc, "detail", exc)),
            getattr(exc, "line", None),
        ) from None


def _groups_key(inst: Instrument) -> list[tuple[object, ...]]:
    return [
        (g.label, g.range, tuple((o.outcome, o.value, o.cohort) for o in g.outcomes))
        for g in inst.groups
    ]


def _check_rates(inst: Instrument, file: str, report: Report = _raise) -> None:
    """A6: where rates are given, points equal rate/10 under one rounding rule for all rows."""
    rows = [(c.rate, c.points) for i in inst.items for c in i.categories if c.rate is not None]
    if not rows:
        return
    rules = rounding_rules()
    fitting = [name for name, f in rules.items() if all(f(rate) == pts for rate, pts in rows)]
    declared = inst.site.rounding if inst.site else None
    if not fitting or (declared is not None and declared not in fitting):
        report(
            OverlayError(
                file,
                "items",
                "A6: points are not rate/10 under one rounding rule "
                f"(rules that fit every row: {fitting or 'none'})",
            )
        )


# --------------------------------------------------------------------------- site-derived


def rounding_rules() -> dict[str, Callable[[float], int]]:
    """Rate (%) -> points under each rounding rule of A6 (``nearest`` rounds halves up)."""
    return {
        "nearest": lambda r: math.floor(r / 10 + 0.5),
        "floor": lambda r: math.floor(r / 10),
        "ceil": lambda r: math.ceil(r / 10),
    }


def derived_group_ranges(
    published: Sequence[Group], reach: set[int]
) -> tuple[list[tuple[Group, int, int]], list[str], list[int]]:
    """The published groups laid on a derived range: ``(group, lo, hi)``, dropped labels and the
    totals of dropped groups (unreachable).

    Rule: points are rates / 10 on the published scale, so a total means the same sum of rates
    in both tables. Each published lower cut-off is kept; the lowest group starts at the derived
    minimum and the highest ends at the derived maximum (extended or shortened); a published gap
    between groups goes to the group below; a group that no derived total reaches is dropped
    (its totals are unreachable). Returns the kept groups in published order.
    """
    lo_all, hi_all = min(reach), max(reach)
    ranged = [g for g in published if g.range is not None]
    spans: list[tuple[Group, int, int]] = []
    for k, g in enumerate(ranged):
        assert g.range is not None
        lo = lo_all if k == 0 else max(g.range[0], lo_all)
        nxt = ranged[k + 1].range if k + 1 < len(ranged) else None
        hi = hi_all if nxt is None else min(nxt[0] - 1, hi_all)
        spans.append((g, lo, hi))
    kept: list[tuple[Group, int, int]] = []
    dropped: list[str] = []
    unreachable: list[int] = []
    for g, lo, hi in spans:
        if lo > hi:
            dropped.append(g.label)
        elif not any(lo <= t <= hi for t in reach):
            dropped.append(g.label)
            unreachable += list(range(lo, hi + 1))
        else:
            kept.append((g, lo, hi))
    return kept, dropped, unreachable


def follower_groups(
    inst: Instrument, reach: set[int]
) -> tuple[tuple[Group, ...], list[str], list[int]]:
    """Groups of an instrument that takes its points from a site-derived table
    (``points_from``): its own published cut-offs on the derived range, without the published
    outcomes (they belong to the published points, not to this site's)."""
    kept, dropped, unreachable = derived_group_ranges(inst.groups, reach)
    groups = tuple(
        Group(
            label=f"{lo}-{hi}",
            range=(lo, hi),
            category=g.category,
            text=(
                f"published group {g.label} ({g.text or g.category}) laid on the site-derived "
                "range; the published outcomes belong to the published points and are not shown "
                "(see the validation report of the derivation)"
            ),
            prognosis=g.prognosis,
            prognosis_basis=(
                f"inherited from the published group {g.label}: {g.prognosis_basis}"
                if g.prognosis
                else None
            ),
            verification="site-derived",
        )
        for g, lo, hi in kept
    )
    return groups, dropped, unreachable


def range_comparison(inst: Instrument, published: tuple[int, int] | None) -> str:
    """How a derived table's range compares with the published one, in one sentence."""
    reach = achievable_totals(inst)
    lo, hi = min(reach), max(reach)
    if published is None:
        return f"derived range {lo}-{hi}; no published range to compare with"
    plo, phi = published
    if (lo, hi) == (plo, phi):
        return f"derived range {lo}-{hi} equals the published range {plo}-{phi}"

    def side(name: str, got: int, pub: int) -> str:
        if got == pub:
            return f"{name} equal"
        return f"{name} {abs(got - pub)} {'lower' if got < pub else 'higher'}"

    return (
        f"derived range {lo}-{hi} differs from the published range {plo}-{phi} "
        f"({side('minimum', lo, plo)}, {side('maximum', hi, phi)}); A4 is stated, not enforced, "
        "for a site-derived table"
    )


def check_derived(
    site: Instrument,
    base: Instrument | None,
    file: str,
    text: str | None = None,
    report: Report = _raise,
) -> Instrument | None:
    """Validate a site-derived table (``mescc derive``) against its skeleton; return it.

    Which of A1-A7 apply, and how, is in the module docstring. Each failure goes to
    ``report`` (by default raised); None when the table cannot be checked further.
    """
    derived = site.derived
    assert derived is not None
    if base is None:
        report(
            OverlayError(
                file,
                "id",
                f"{site.id} is not a shipped instrument; a site-derived table completes "
                "a shipped skeleton",
            )
        )
        return None
    if not base.is_skeleton:
        report(
            OverlayError(
                file,
                "id",
                f"{site.id} ships with verified points; a site-derived table may complete only "
                "a skeleton",
            )
        )
    factors = _factor_problem(base, site, file)
    if factors is not None:
        report(factors)
    if site.is_skeleton:
        report(OverlayError(file, "items", "A3: every category needs integer points"))
        return None
    if base.direction and site.direction != base.direction:
        report(
            OverlayError(
                file, "direction", f"A7: direction {site.direction}, published {base.direction}"
            )
        )
    if site.outcome != base.outcome:
        report(OverlayError(file, "outcome", f"outcome {site.outcome}, published {base.outcome}"))
    reach = achievable_totals(site)
    lo, hi = min(reach), max(reach)
    if tuple(derived.derived_range) != (lo, hi) or site.total_range != (lo, hi):
        report(
            OverlayError(
                file,
                "derived.derived_range",
                f"derived_range {list(derived.derived_range)} and total_range "
                f"{list(site.total_range or ())} must both be the achievable range [{lo}, {hi}]",
            )
        )
    if derived.published_range != base.total_range:
        report(
            OverlayError(
                file,
                "derived.published_range",
                f"published_range {derived.published_range}, published {base.total_range}",
            )
        )
    kept, dropped, unreachable = derived_group_ranges(base.groups, reach)
    expected = [(f"{lo_}-{hi_}", g.category) for g, lo_, hi_ in kept]
    got = [(g.label, g.category) for g in site.groups]
    if got != expected:
        report(
            OverlayError(
                file,
                "groups",
                "A5: groups must be the published cut-offs laid on the derived range: expected "
                f"{[e[0] for e in expected]}, got {[g[0] for g in got]}",
            )
        )
    if sorted(derived.dropped_groups) != sorted(dropped):
        report(
            OverlayError(
                file,
                "derived.dropped_groups",
                f"dropped_groups {list(derived.dropped_groups)}, by the rule {dropped}",
            )
        )
    merged = site.model_copy(update={"unreachable_totals": tuple(unreachable)})
    check_instrument(merged, file, text, report=_as_constraint(report, file))
    rule = rounding_rules()[derived.rounding]
    for i, item in enumerate(site.items):
        for j, cat in enumerate(item.categories):
            if cat.rate is None:
                report(
                    OverlayError(
                        file,
                        f"items[{i}].categories[{j}]",
                        f"A6: {item.factor} / {cat.label}: a site-derived category needs its rate",
                    )
                )
            elif rule(cat.rate) != cat.points:
                report(
                    OverlayError(
                        file,
                        f"items[{i}].categories[{j}]",
                        f"A6: {item.factor} / {cat.label}: points {cat.points}, but rate "
                        f"{cat.rate:g}% / 10 rounded {derived.rounding} is {rule(cat.rate)}",
                    )
                )
    return merged


def describe_accepted(inst: Instrument, shipped: Mapping[str, Instrument]) -> str:
    """What ``mescc kb check`` prints for an accepted site-derived table (range compared)."""
    d = inst.derived
    if d is None:
        return f"accepted: {inst.id} ({inst.verification})"
    base = shipped.get(inst.id)
    dropped = (
        f"; published groups not reached and dropped: {', '.join(d.dropped_groups)}"
        if d.dropped_groups
        else ""
    )
    synthetic = " SYNTHETIC COHORT - a demonstration, never evidence;" if d.synthetic else ""
    return (
        f"accepted as site-derived table for {inst.id}:{synthetic} registry {d.registry}, "
        f"{d.cohort_n} patients ({d.cohort_from} to {d.cohort_to}), derived by {d.derived_by} "
        f"on {d.derived_on} ({d.derivation_n} derivation, {d.validation_n} held out); "
        f"{range_comparison(inst, base.total_range if base else None)}{dropped}; "
        "not the published table: results are labelled site-derived and decide the plan only "
        f"where the site enables it ({ALLOW_SITE_DERIVED_ENV}=true)"
    )
