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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from mescc.errors import DefinitionError, OverlayError
from mescc.kb.loader import achievable_totals, check_instrument, parse_instrument
from mescc.kb.schema import Instrument


def check_overlay(text: str, file: str, shipped: Mapping[str, Instrument]) -> Instrument:
    """Validate a site table against the shipped definition it completes; return it.

    Raises
    ------
    OverlayError
        With the first constraint that fails, e.g. ``maximum total 47, published 45``.
    """
    site = parse_instrument(text, file) if _stem_matches(text, file) else _parse_any(text, file)
    base = shipped.get(site.id)
    if site.site is None:
        raise OverlayError(
            file,
            "site",
            "A1: a site table needs a site block "
            "(verified_by, verified_on, source with table and page)",
        )
    if base is None:
        # A new instrument: it must prove itself like a packaged one.
        check_instrument(site, file, text)
        return site
    if not base.is_skeleton and not site.site.redefines_verified:
        raise OverlayError(
            file,
            "id",
            f"{site.id} ships with verified points; a site table may redefine it only with "
            "site.redefines_verified: true",
        )
    base_factors = [i.factor for i in base.items]
    site_factors = [i.factor for i in site.items]
    if base.items and sorted(base_factors) != sorted(site_factors):
        missing = sorted(set(base_factors) - set(site_factors))
        extra = sorted(set(site_factors) - set(base_factors))
        raise OverlayError(
            file,
            "items",
            f"A2: factors must be exactly {base_factors}; missing {missing}, "
            f"not in the published instrument {extra}",
        )
    if site.is_skeleton:
        raise OverlayError(file, "items", "A3: every category needs integer points")
    if base.total_range is not None:
        reach = achievable_totals(site)
        lo, hi = min(reach), max(reach)
        if lo != base.total_range[0]:
            raise OverlayError(
                file, "items", f"A4: minimum total {lo}, published {base.total_range[0]}"
            )
        if hi != base.total_range[1]:
            raise OverlayError(
                file, "items", f"A4: maximum total {hi}, published {base.total_range[1]}"
            )
    if base.groups and _groups_key(site) != _groups_key(base):
        raise OverlayError(
            file,
            "groups",
            "groups and their outcomes must equal the published ones of "
            f"{base.id} (labels {[g.label for g in base.groups]})",
        )
    if base.direction and site.direction != base.direction:
        raise OverlayError(
            file, "direction", f"A7: direction {site.direction}, published {base.direction}"
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
    try:
        check_instrument(merged, file, text)
    except OverlayError:
        raise
    except DefinitionError as exc:  # from the shared proofs
        raise OverlayError(file, exc.path, f"A3/A5: {exc.detail}", exc.line) from None
    _check_rates(merged, file)
    return merged


def _stem_matches(text: str, file: str) -> bool:
    from pathlib import Path

    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return True
    return isinstance(data, dict) and data.get("id") == Path(file).stem


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


def _check_rates(inst: Instrument, file: str) -> None:
    """A6: where rates are given, points equal rate/10 under one rounding rule for all rows."""
    rows = [(c.rate, c.points) for i in inst.items for c in i.categories if c.rate is not None]
    if not rows:
        return
    rules: dict[str, Callable[[float], int]] = {
        "nearest": lambda r: math.floor(r / 10 + 0.5),
        "floor": lambda r: math.floor(r / 10),
        "ceil": lambda r: math.ceil(r / 10),
    }
    fitting = [name for name, f in rules.items() if all(f(rate) == pts for rate, pts in rows)]
    declared = inst.site.rounding if inst.site else None
    if not fitting or (declared is not None and declared not in fitting):
        raise OverlayError(
            file,
            "items",
            "A6: points are not rate/10 under one rounding rule "
            f"(rules that fit every row: {fitting or 'none'})",
        )
