"""SINS: all 1,296 combinations against the reference table (spine-instruments.md §1).

The expected points come from the markdown table of the curated reference, parsed here; its
category wording is mapped to the contract's enum values by the explicit dictionary below. The
expected group comes from the reference's bands table (0-6 / 7-12 / 13-18). Both drivers
(single patient and table) are checked on every combination.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest

from mescc.assessment import assess_instruments, assess_table
from mescc.fields import FIELD_BY_KEY, SINS_PARTS
from mescc.kb.loader import KnowledgeBase

FILE = "spine-instruments.md"
SECTION = "1. SINS"

#: Reference component wording -> contract input key.
COMPONENTS = {
    "Location": "sins_location",
    'Pain ("mechanical" = relief with recumbency and/or pain with movement or loading of the '
    "spine)": "sins_pain",
    "Bone lesion": "sins_bone_lesion",
    "Radiographic spinal alignment": "sins_alignment",
    "Vertebral body collapse": "sins_collapse",
    "Posterolateral involvement (facet, pedicle or costovertebral joint fracture or replacement "
    "by tumour)": "sins_posterolateral",
}

#: (input key, reference category wording) -> contract enum value.
CATEGORIES = {
    ("sins_location", "Junctional (occiput–C2, C7–T2, T11–L1, L5–S1)"): "junctional",
    ("sins_location", "Mobile spine (C3–C6, L2–L4)"): "mobile",
    ("sins_location", "Semirigid (T3–T10)"): "semirigid",
    ("sins_location", "Rigid (S2–S5)"): "rigid",
    ("sins_pain", "Yes, mechanical pain"): "mechanical",
    ("sins_pain", "No (occasional pain, not mechanical)"): "occasional_non_mechanical",
    ("sins_pain", "Pain-free lesion"): "pain_free",
    ("sins_bone_lesion", "Lytic"): "lytic",
    ("sins_bone_lesion", "Mixed (lytic/blastic)"): "mixed",
    ("sins_bone_lesion", "Blastic"): "blastic",
    ("sins_alignment", "Subluxation/translation present"): "subluxation_translation",
    ("sins_alignment", "De novo deformity (kyphosis/scoliosis)"): "de_novo_deformity",
    ("sins_alignment", "Normal alignment"): "normal",
    ("sins_collapse", ">50% collapse"): "over_50",
    ("sins_collapse", "<50% collapse"): "under_50",
    ("sins_collapse", "No collapse with >50% of the body involved"): "none_over_50_involved",
    ("sins_collapse", "None of the above"): "none",
    ("sins_posterolateral", "Bilateral"): "bilateral",
    ("sins_posterolateral", "Unilateral"): "unilateral",
    ("sins_posterolateral", "None of the above"): "none",
}


def reference_points(reference_table: Any) -> dict[str, dict[str, int]]:
    """input key -> enum value -> points, parsed from the reference table."""
    _, rows = reference_table(FILE, SECTION, ("Component", "Category", "Points"))
    out: dict[str, dict[str, int]] = {}
    for component, category, points in rows:
        assert component in COMPONENTS, f"reference component {component!r} is not mapped"
        key = COMPONENTS[component]
        assert (key, category) in CATEGORIES, f"reference category {category!r} is not mapped"
        out.setdefault(key, {})[CATEGORIES[(key, category)]] = int(points)
    return out


def reference_bands(reference_table: Any) -> list[tuple[int, int]]:
    _, rows = reference_table(FILE, SECTION, ("Total", "Category (original wording)"))
    bands = []
    for row in rows:
        lo, hi = re.fullmatch(r"(\d+)–(\d+)", row[0]).groups()  # type: ignore[union-attr]
        bands.append((int(lo), int(hi)))
    return bands


@pytest.fixture(scope="module")
def table(reference_table: Any) -> dict[str, dict[str, int]]:
    return reference_points(reference_table)


def test_reference_table_covers_every_contract_value(table: dict[str, dict[str, int]]) -> None:
    assert list(table) == [f"sins_{p}" for p in SINS_PARTS]
    for key, by_value in table.items():
        assert set(by_value) == set(FIELD_BY_KEY[key].values or ()), key


def test_reference_range_is_0_to_18(table: dict[str, dict[str, int]], reference_table: Any) -> None:
    assert sum(min(v.values()) for v in table.values()) == 0
    assert sum(max(v.values()) for v in table.values()) == 18
    bands = reference_bands(reference_table)
    assert bands == [(0, 6), (7, 12), (13, 18)]


def test_all_1296_combinations(
    kb: KnowledgeBase, frame_of: Any, table: dict[str, dict[str, int]], reference_table: Any
) -> None:
    keys = list(table)
    combos = list(itertools.product(*(list(table[k]) for k in keys)))
    assert len(combos) == 1296
    bands = reference_bands(reference_table)
    patients: list[dict[str, Any]] = [
        {"sins": {k.removeprefix("sins_"): v for k, v in zip(keys, combo, strict=True)}}
        for combo in combos
    ]
    out = assess_table(frame_of(patients), kb)
    status = out["sins_2010__status"].to_list()
    points = out["sins_2010__points"].to_list()
    groups = out["sins_2010__group"].to_list()
    wrong: list[str] = []
    for n, (combo, patient) in enumerate(zip(combos, patients, strict=True)):
        expected = sum(table[k][v] for k, v in zip(keys, combo, strict=True))
        lo, hi = next(b for b in bands if b[0] <= expected <= b[1])
        group = f"{lo}-{hi}"
        r = assess_instruments(patient, kb).instruments["sins_2010"]
        got_items = {i.factor: i.points for i in r.items}
        want_items = {
            k.removeprefix("sins_"): table[k][v] for k, v in zip(keys, combo, strict=True)
        }
        if (r.status, r.points, r.group) != (
            "computed",
            expected,
            group,
        ) or got_items != want_items:
            wrong.append(f"single {combo}: {(r.status, r.points, r.group)} != {expected} {group}")
        if (status[n], points[n], groups[n]) != ("computed", expected, group):
            wrong.append(
                f"table {combo}: {(status[n], points[n], groups[n])} != {expected} {group}"
            )
    assert not wrong, f"{len(wrong)} mismatches, first: {wrong[:5]}"


def test_minimum_and_maximum(kb: KnowledgeBase) -> None:
    low = {"location": "rigid", "pain": "pain_free", "bone_lesion": "blastic",
           "alignment": "normal", "collapse": "none", "posterolateral": "none"}  # fmt: skip
    high = {"location": "junctional", "pain": "mechanical", "bone_lesion": "lytic",
            "alignment": "subluxation_translation", "collapse": "over_50",
            "posterolateral": "bilateral"}  # fmt: skip
    lo = assess_instruments({"sins": low}, kb).instruments["sins_2010"]
    hi = assess_instruments({"sins": high}, kb).instruments["sins_2010"]
    assert (lo.status, lo.points, lo.group, lo.category) == ("computed", 0, "0-6", "stable")
    assert (hi.status, hi.points, hi.group, hi.category) == ("computed", 18, "13-18", "unstable")
