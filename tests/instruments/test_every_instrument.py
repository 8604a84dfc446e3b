"""Invariants over the whole registry; each failure says how to fix it (conventions §3.12).

Reachability is proved end to end: for every computable instrument, patients are built from the
contract domains whose totals hit the published minimum, maximum and every group, and the engine
must score them so.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from mescc.assessment import assess_instruments
from mescc.engine.evaluate import POINTS_NOT_SUPPLIED
from mescc.errors import InputError
from mescc.fields import FIELDS
from mescc.kb.loader import KnowledgeBase, load_kb, sample_values
from mescc.kb.schema import Category, Instrument, Item
from mescc.patient import Patient
from patient_strategies import repair_contradictions

LABELS = ("primary", "secondary", "site-supplied", "unverified")
VECTORS = Path(__file__).parent / "vectors"

KB = load_kb(None)
ALL_IDS = sorted(KB.instruments)
COMPUTABLE = sorted(i for i, inst in KB.instruments.items() if not inst.is_skeleton)
SCORES = sorted(i for i in COMPUTABLE if KB[i].kind == "score")
SKELETONS = sorted(i for i, inst in KB.instruments.items() if inst.is_skeleton)


def package_files() -> list[tuple[str, str]]:
    folder = resources.files("mescc.kb").joinpath("instruments")
    return sorted(
        (e.name, e.read_text(encoding="utf-8"))
        for e in folder.iterdir()
        if e.name.endswith(".yaml")
    )


def test_every_contract_instrument_is_registered(
    kb: KnowledgeBase, contract_ids: tuple[str, ...]
) -> None:
    missing = [i for i in contract_ids if i not in kb.instruments]
    assert not missing, f"{missing} missing: add src/mescc/kb/instruments/<id>.yaml for each"


@pytest.mark.parametrize(("name", "text"), package_files(), ids=[n for n, _ in package_files()])
def test_id_equals_file_stem(name: str, text: str) -> None:
    data = yaml.safe_load(text)
    stem = name.removesuffix(".yaml")
    assert data["id"] == stem, f"{name} has id {data['id']!r}; rename the file or the id to match"


def test_every_file_is_loaded(kb: KnowledgeBase) -> None:
    stems = {n.removesuffix(".yaml") for n, _ in package_files()}
    assert stems == set(kb.instruments), "a definition file was skipped or an id is duplicated"


def _labels(inst: Instrument) -> Iterator[tuple[str, str | None]]:
    yield "verification", inst.verification
    for i, item in enumerate(inst.items):
        yield f"items[{i}].verification", item.verification
        for j, cat in enumerate(item.categories):
            yield f"items[{i}].categories[{j}].verification", cat.verification
    for g, group in enumerate(inst.groups):
        yield f"groups[{g}].verification", group.verification
        yield f"groups[{g}].recommendation_verification", group.recommendation_verification
        for o, outcome in enumerate(group.outcomes):
            yield f"groups[{g}].outcomes[{o}].verification", outcome.verification
    for t, th in enumerate(inst.thresholds):
        yield f"thresholds[{t}].verification", th.verification


@pytest.mark.parametrize("iid", ALL_IDS)
def test_verification_labels_are_valid(kb: KnowledgeBase, iid: str) -> None:
    for path, label in _labels(kb[iid]):
        assert label is None or label in LABELS, (
            f"{iid} {path} is {label!r}; use one of {', '.join(LABELS)}"
        )
    assert kb[iid].verification_note.strip(), f"{iid}: write a verification_note"


@pytest.mark.parametrize("iid", ALL_IDS)
def test_every_instrument_cites_its_source(kb: KnowledgeBase, iid: str) -> None:
    c = kb[iid].citation
    assert c.text.strip(), f"{iid} has no citation text; add citation.text"
    assert c.locator.strip(), f"{iid} has no locator; name the table or figure in citation.locator"
    assert c.doi or c.pmid or c.pmc or (c.identifier_note or "").strip(), (
        f"{iid} has no DOI or PMID; add citation.doi or citation.pmid (verified only), or an "
        "identifier_note saying why none is printed"
    )
    assert kb[iid].reference.strip(), (
        f"{iid}: name the section of ../shared/reference in 'reference'"
    )


def must_supply(inst: Instrument) -> tuple[str, ...]:
    """What a site must supply because the reference does not confirm it."""
    return inst.site_constraints.must_supply if inst.site_constraints else ()


@pytest.mark.parametrize("iid", [i for i in ALL_IDS if KB[i].kind == "score"])
def test_score_groups_are_lo_hi_and_tile_the_range(kb: KnowledgeBase, iid: str) -> None:
    inst = kb[iid]
    if inst.total_range is None:
        assert inst.is_skeleton and "total_range" in must_supply(inst), (
            f"{iid}: add total_range [min, max] (published), or for a skeleton list "
            "'total_range' in site_constraints.must_supply"
        )
        assert not inst.groups or "groups" in must_supply(inst)
        return
    assert inst.direction is not None, f"{iid}: add direction (higher_is_better / higher_is_worse)"
    covered: list[int] = []
    for g in inst.groups:
        assert g.range is not None, f"{iid} group {g.label}: add range [lo, hi]"
        assert g.label == f"{g.range[0]}-{g.range[1]}", f"{iid}: write group {g.label!r} as lo-hi"
        covered += range(g.range[0], g.range[1] + 1)
    lo, hi = inst.total_range
    holes = sorted(set(range(lo, hi + 1)) - set(covered))
    assert sorted(covered) == sorted(set(covered)), f"{iid}: groups overlap"
    assert set(holes) <= set(inst.unreachable_totals), f"{iid}: totals {holes} are in no group"


@pytest.mark.parametrize("iid", SKELETONS)
def test_skeletons_report_points_table_not_supplied(kb: KnowledgeBase, iid: str) -> None:
    r = assess_instruments({}, kb).instruments[iid]
    assert r.status == "not_computable", f"{iid}: a skeleton must never be computed"
    assert r.reason == POINTS_NOT_SUPPLIED == "points table not supplied"
    assert (r.points, r.group) == (None, None)
    inst = kb[iid]
    assert inst.groups or "groups" in must_supply(inst), (
        f"{iid}: a skeleton keeps its published groups, or lists 'groups' in "
        "site_constraints.must_supply when the reference does not confirm them"
    )
    assert inst.items or "factors" in must_supply(inst), (
        f"{iid}: a skeleton keeps its confirmed factors, or lists 'factors' in "
        "site_constraints.must_supply"
    )
    assert all(c.points is None for i in inst.items for c in i.categories) or inst.points_from, (
        f"{iid}: a skeleton must not carry unverified points; remove them"
    )


def test_contract_skeletons_are_the_rades_point_scores(kb: KnowledgeBase) -> None:
    for iid in ("rades_survival_2008", "rades_survival_2010", "rades_ambulatory_2008"):
        assert kb[iid].is_skeleton, f"{iid} ships without verified points (reference §2-§4)"
    for iid in ("rades_two_month_mortality_2013", "rades_end_of_life_2022", "sins_2010"):
        assert not kb[iid].is_skeleton, f"{iid} ships computable (reference)"


# --------------------------------------------------------------------------- reachability


def _resolve(item: Item, values: dict[str, Any]) -> Category | None:
    hits = [
        c
        for c in item.categories
        if all(values.get(k) is not None and p.holds(values[k]) for k, p in c.when.items())
    ]
    return hits[0] if len(hits) == 1 else None


def _components(inst: Instrument) -> list[list[Item]]:
    """Items grouped so that no two groups share an input."""
    groups: list[list[Item]] = []
    for item in inst.items:
        joined = [g for g in groups if any(set(item.inputs) & set(i.inputs) for i in g)]
        merged = [item, *(i for g in joined for i in g)]
        groups = [g for g in groups if g not in joined] + [merged]
    return groups


def _valid(values: dict[str, Any]) -> bool:
    data: dict[str, Any] = {}
    for k, v in values.items():
        if k.startswith("sins_"):
            data.setdefault("sins", {})[k.removeprefix("sins_")] = v
        elif v is not None:
            data[k] = v
    try:
        Patient.from_data(data)
    except InputError:
        return False
    return True


def witnesses(inst: Instrument) -> dict[int, tuple[int, dict[str, Any]]]:
    """total -> (number of CONFLICT categories used, input values reaching it), fewest first."""
    best: dict[int, tuple[int, dict[str, Any]]] = {0: (0, {})}
    for component in _components(inst):
        keys = list(dict.fromkeys(k for item in component for k in item.inputs))
        domains = [(*sample_values(k, component), None) for k in keys]
        local: dict[int, tuple[int, dict[str, Any]]] = {}
        for combo in itertools.product(*domains):
            values = dict(zip(keys, combo, strict=True))
            cats = [_resolve(item, values) for item in component]
            if any(c is None for c in cats) or not _valid(values):
                continue
            total = sum(c.points or 0 for c in cats if c is not None)
            conflicts = sum(1 for c in cats if c is not None and c.alternative_points)
            if total not in local or conflicts < local[total][0]:
                local[total] = (conflicts, values)
        merged: dict[int, tuple[int, dict[str, Any]]] = {}
        for t1, (c1, v1) in best.items():
            for t2, (c2, v2) in local.items():
                t, c = t1 + t2, c1 + c2
                if t not in merged or c < merged[t][0]:
                    merged[t] = (c, {**v1, **v2})
        best = merged
    return best


def _patient(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        if v is None:
            continue
        if k.startswith("sins_"):
            out.setdefault("sins", {})[k.removeprefix("sins_")] = v
        else:
            out[k] = v
    return out


@pytest.fixture(scope="module")
def reach() -> dict[str, dict[int, tuple[int, dict[str, Any]]]]:
    return {iid: witnesses(KB[iid]) for iid in SCORES}


@pytest.mark.parametrize("iid", SCORES)
def test_computable_instruments_reach_exactly_total_range(
    kb: KnowledgeBase, reach: dict[str, dict[int, tuple[int, dict[str, Any]]]], iid: str
) -> None:
    inst = kb[iid]
    assert inst.total_range is not None
    lo, hi = inst.total_range
    totals = reach[iid]
    assert min(totals) == lo, f"{iid}: lowest reachable total {min(totals)}, published {lo}"
    assert max(totals) == hi, f"{iid}: highest reachable total {max(totals)}, published {hi}"
    for end in (lo, hi):
        _, values = totals[end]
        r = assess_instruments(_patient(values), kb).instruments[iid]
        assert (r.status, r.points) == ("computed", end), (
            f"{iid}: patient {_patient(values)} should score {end}; got {r.status} {r.points} "
            f"({r.reason})"
        )


@pytest.mark.parametrize("iid", SCORES)
def test_every_group_is_reachable(
    kb: KnowledgeBase, reach: dict[str, dict[int, tuple[int, dict[str, Any]]]], iid: str
) -> None:
    totals = reach[iid]
    for g in kb[iid].groups:
        assert g.range is not None
        inside = [t for t in range(g.range[0], g.range[1] + 1) if t in totals]
        assert inside, f"{iid}: group {g.label} contains no reachable total; fix points or groups"
        t = min(inside, key=lambda x: (totals[x][0], x))
        conflicts, values = totals[t]
        r = assess_instruments(_patient(values), kb).instruments[iid]
        if conflicts == 0:
            assert (r.status, r.points, r.group) == ("computed", t, g.label), (
                f"{iid}: {_patient(values)} should score {t} in group {g.label}; got "
                f"{r.status} {r.points} {r.group} ({r.reason})"
            )
        else:
            assert r.status == "computed" or (r.reason or "").startswith("item in CONFLICT")


@pytest.mark.parametrize("iid", [i for i in COMPUTABLE if KB[i].kind == "classification"])
def test_every_classification_group_is_reachable(kb: KnowledgeBase, iid: str) -> None:
    inst = kb[iid]
    item = inst.items[0]
    (key,) = item.inputs
    seen = set()
    for value in sample_values(key, [item]):
        r = assess_instruments(_patient({key: value}), kb).instruments[iid]
        assert r.status == "computed", f"{iid}: {key}={value!r} gave {r.status} ({r.reason})"
        seen.add(r.group)
    assert seen == {g.label for g in inst.groups}, f"{iid}: groups {seen} reached"


def test_tokuhashi_higher_total_never_shorter_survival(kb: KnowledgeBase) -> None:
    # reference Q3b: the NICE CG75 bands, never the inverted neurosurgerynotes table
    months = {
        "Predicted survival < 6 months": 0,
        "Predicted survival >= 6 months": 6,
        "Predicted survival >= 1 year": 12,
    }
    inst = kb["tokuhashi_revised_2005"]
    assert inst.direction == "higher_is_better"
    floor = -1
    for total in range(15 + 1):
        group = next(g for g in inst.groups if g.range and g.range[0] <= total <= g.range[1])
        assert group.text in months, f"unknown band wording {group.text!r}"
        assert months[group.text] >= floor, (
            f"total {total} maps to a shorter survival ({group.text}); use the CG75 bands (Q3b)"
        )
        floor = months[group.text]
    assert [g.category for g in inst.groups] == [
        "survival_under_6_months",
        "survival_6_months_or_more",
        "survival_1_year_or_more",
    ]


def test_sins_minimum_0_maximum_18(kb: KnowledgeBase) -> None:
    # reference Q1: pain 3 / 1 / 0 (never the neurosurgerynotes 3 / 2 / 1 table)
    inst = kb["sins_2010"]
    assert inst.total_range == (0, 18)
    pain = next(i for i in inst.items if i.factor == "pain")
    assert sorted(c.points for c in pain.categories if c.points is not None) == [0, 1, 3]
    mins = sum(min(c.points or 0 for c in i.categories) for i in inst.items)
    maxs = sum(max(c.points or 0 for c in i.categories) for i in inst.items)
    assert (mins, maxs) == (0, 18)


# --------------------------------------------------------------------------- full patients

DEFINED_REASONS = ("category not defined by the source: ", "item in CONFLICT changes the group: ")


#: Values to draw again when a drawn row holds a contradiction (numbers: their minimum).
DOMAINS = {f.key: f.domain() or ((f.minimum,) if f.minimum is not None else None) for f in FIELDS}


def full_patients(n: int, seed: int = 2) -> list[dict[str, Any]]:
    """Patients with every scalar key present (deterministic)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        row: dict[str, Any] = {}
        for f in FIELDS:
            domain = f.domain()
            if domain is not None:
                row[f.key] = rng.choice(domain)
            elif f.kind == "text":
                row[f.key] = "x"
            elif f.kind == "int":
                row[f.key] = rng.choice([int(f.minimum or 0), 1, 2, 3, 5])
            else:
                row[f.key] = rng.choice([0.0, 7.0, 7.5, 14.0, 15.0, 15.5, 30.0])
        repair_contradictions(row, lambda k, r=rng: r.choice(DOMAINS[k] or (None,)))
        if row["visceral_metastases"] is False:
            row["visceral_metastases_resectable"] = None
            row["visceral_metastases_treatable"] = None
        out.append(_patient(row))
    return out


@pytest.mark.parametrize("iid", COMPUTABLE)
def test_full_patient_is_computed_or_gives_a_defined_reason(kb: KnowledgeBase, iid: str) -> None:
    inst = kb[iid]
    seen: set[str] = set()
    for patient in full_patients(150):
        r = assess_instruments(patient, kb).instruments[iid]
        seen.add(r.status)
        if r.status == "computed":
            if inst.kind == "score":
                assert r.points is not None and r.group is not None
                lo, hi = (int(x) for x in r.group.split("-"))
                assert lo <= r.points <= hi
            else:
                assert r.group in {g.label for g in inst.groups}
            assert r.missing == ()
        elif r.status == "not_computable":
            assert r.missing == (), f"{iid}: every input was given but {r.missing} are missing"
            assert (r.reason or "").startswith(DEFINED_REASONS), (
                f"{iid}: not computable without a defined reason: {r.reason!r}"
            )
        else:
            assert r.status == "not_applicable" and inst.applies_to
    assert "computed" in seen, f"{iid} was never computed for a full patient"


@pytest.mark.parametrize("iid", ALL_IDS)
def test_results_carry_their_provenance(kb: KnowledgeBase, iid: str) -> None:
    """A score never travels without its source, verification level and KB version."""
    for patient in [*full_patients(10, seed=5), {}]:
        r = assess_instruments(patient, kb).instruments[iid]
        d = r.as_dict()
        assert d["citation"] == kb[iid].citation.short() and d["citation"]
        assert d["verification"] in LABELS
        assert r.kb_version == kb.version
        assert {"status", "points", "group", "category", "estimate", "items", "missing"} <= set(d)
        if kb[iid].flags:
            assert d["flags"] == list(kb[iid].flags)


@pytest.mark.parametrize("iid", ALL_IDS)
def test_conflicting_categories_are_flagged_and_unverified(kb: KnowledgeBase, iid: str) -> None:
    inst = kb[iid]
    for item in inst.items:
        for cat in item.categories:
            if cat.alternative_points:
                level = cat.verification or item.verification or inst.verification
                assert level == "unverified", (
                    f"{iid} {item.factor}/{cat.label} is in CONFLICT; label it verification: "
                    "unverified"
                )
                assert inst.flags, f"{iid}: add a flag naming the item in CONFLICT"


@pytest.mark.parametrize("iid", COMPUTABLE)
def test_every_computable_instrument_has_test_vectors(iid: str) -> None:
    path = VECTORS / f"{iid}.csv"
    assert path.is_file(), (
        f"{iid} has no test vectors; add tests/instruments/vectors/{iid}.csv (one row per "
        "published table row, with its source)"
    )
