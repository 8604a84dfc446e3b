"""Every category's points in the YAML against the curated reference's markdown tables.

The reference (``../shared/reference``, located relative to the repository) is parsed; each
reference row's wording is mapped, by the explicit dictionaries below, to the contract input
values it stands for. For every such value the YAML category that matches must carry the
reference's points, and every YAML category must be matched by some reference row. A typo in a
YAML table (or a changed reference row) fails here.

Tables: SINS (§1), revised Tokuhashi (§3), Tomita (§4), modified Bauer (§5), van der Linden
(§9), TEACHH (§11), Chow (§12) of spine-instruments.md; Rades 2013 two-month mortality (§6) and
Rades 2022 end of life (§7) of rades-instruments.md. The published bands are compared as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mescc.fields import FIELD_BY_KEY
from mescc.kb.loader import KnowledgeBase
from mescc.kb.schema import Category, Instrument, Item

REFERENCE = Path(__file__).parents[2].parent / "shared" / "reference"
SPINE = "spine-instruments.md"
RADES = "rades-instruments.md"

TUMORS = FIELD_BY_KEY["primary_tumor"].values or ()
LUNG = ("lung_nsclc", "lung_sclc")


def others(*excluded: str) -> list[str]:
    return [t for t in TUMORS if t not in excluded]


@dataclass(frozen=True)
class Expect:
    """Reference points for some input values of one factor (``points=None``: undefined)."""

    factor: str
    samples: tuple[dict[str, Any], ...]
    points: int | None
    alternative: tuple[int, ...] | None = None


def each(factor: str, key: str, values: Any, points: int | None, **kw: Any) -> Expect:
    return Expect(factor, tuple({key: v} for v in values), points, **kw)


def points_of(cell: str) -> int | None:
    """``"3"`` -> 3, ``"4 (CONFLICT, Q4)"`` -> 4, ``"Not defined (Q2)"`` -> None."""
    m = re.match(r"^(\d+)\b", cell)
    return int(m.group(1)) if m else None


def match(item: Item, sample: dict[str, Any]) -> Category | str:
    """The YAML category (or ``"undefined"``) that a sample of input values falls in."""
    hits: list[Category | str] = []
    for cat in item.categories:
        if all(k in sample and p.holds(sample[k]) for k, p in cat.when.items()):
            hits.append(cat)
    for u in item.undefined:
        if all(k in sample and p.holds(sample[k]) for k, p in u.when.items()):
            hits.append("undefined")
    assert len(hits) == 1, f"{item.factor}: {sample} matches {len(hits)} entries"
    return hits[0]


def check(inst: Instrument, expectations: list[Expect]) -> None:
    items = {i.factor: i for i in inst.items}
    errors: list[str] = []
    hit: set[tuple[str, str]] = set()
    sampled: dict[tuple[str, str], set[Any]] = {}
    for exp in expectations:
        assert exp.factor in items, f"{inst.id}: no factor {exp.factor!r} in the YAML"
        item = items[exp.factor]
        for sample in exp.samples:
            if len(item.inputs) == 1:
                key = item.inputs[0]
                sampled.setdefault((exp.factor, key), set()).add(sample[key])
            got = match(item, sample)
            if exp.points is None:
                if got != "undefined":
                    errors.append(
                        f"{exp.factor} {sample}: reference says not defined, YAML "
                        f"scores {got.label!r} = {got.points}"
                    )  # type: ignore[union-attr]
                continue
            if got == "undefined":
                errors.append(f"{exp.factor} {sample}: YAML leaves it undefined, reference "
                              f"gives {exp.points}")  # fmt: skip
                continue
            assert isinstance(got, Category)
            hit.add((exp.factor, got.label))
            if got.points != exp.points:
                errors.append(f"{exp.factor} {sample}: YAML {got.label!r} = {got.points}, "
                              f"reference {exp.points}")  # fmt: skip
            if exp.alternative is not None and got.alternative_points != exp.alternative:
                errors.append(f"{exp.factor} {sample}: alternative points "
                              f"{got.alternative_points}, reference {exp.alternative}")  # fmt: skip
    for item in inst.items:
        for cat in item.categories:
            if (item.factor, cat.label) not in hit:
                errors.append(f"YAML category {item.factor}/{cat.label!r} is in no reference row")
        # every value of a finite single input is either in a reference row or undefined
        if len(item.inputs) == 1 and FIELD_BY_KEY[item.inputs[0]].kind in ("enum", "bool"):
            key = item.inputs[0]
            domain = FIELD_BY_KEY[key].domain() or ()
            unsampled = [v for v in domain if v not in sampled.get((item.factor, key), set())]
            for value in unsampled:
                if match(item, {key: value}) != "undefined":
                    errors.append(f"{item.factor}: {key}={value!r} is scored but in no "
                                  "reference row")  # fmt: skip
    assert not errors, f"{inst.id} differs from the reference:\n" + "\n".join(errors)


def label_of(cell: str, lo: int, hi: int) -> str:
    """A reference band (``0–6``, ``≤3``, ``≥38``, ``6``) as a ``lo-hi`` group label."""
    text = cell.replace(" ", "")
    if m := re.fullmatch(r"(\d+)–(\d+)", text):
        return f"{m[1]}-{m[2]}"
    if m := re.fullmatch(r"≤(\d+)", text):
        return f"{lo}-{m[1]}"
    if m := re.fullmatch(r"≥(\d+)", text):
        return f"{m[1]}-{hi}"
    if re.fullmatch(r"\d+", text):
        return f"{text}-{text}"
    raise AssertionError(f"band {cell!r} is not a range")


def check_bands(inst: Instrument, cells: list[str]) -> None:
    assert inst.total_range is not None
    lo, hi = inst.total_range
    expected = [label_of(c, lo, hi) for c in cells]
    assert [g.label for g in inst.groups] == expected, (
        f"{inst.id}: groups differ from the reference"
    )
    for g in inst.groups:
        assert g.range is not None
        assert g.label == f"{g.range[0]}-{g.range[1]}"
    assert (inst.groups[0].range[0], inst.groups[-1].range[1]) == (lo, hi)  # type: ignore[index]


def test_reference_is_where_the_tests_look() -> None:
    assert (REFERENCE / SPINE).is_file(), f"reference not found at {REFERENCE}"
    assert (REFERENCE / RADES).is_file()


# --------------------------------------------------------------------------- SINS (§1)

SINS_ROWS: dict[tuple[str, str], tuple[str, str]] = {
    ("Location", "Junctional (occiput–C2, C7–T2, T11–L1, L5–S1)"): ("location", "junctional"),
    ("Location", "Mobile spine (C3–C6, L2–L4)"): ("location", "mobile"),
    ("Location", "Semirigid (T3–T10)"): ("location", "semirigid"),
    ("Location", "Rigid (S2–S5)"): ("location", "rigid"),
    ("Pain", "Yes, mechanical pain"): ("pain", "mechanical"),
    ("Pain", "No (occasional pain, not mechanical)"): ("pain", "occasional_non_mechanical"),
    ("Pain", "Pain-free lesion"): ("pain", "pain_free"),
    ("Bone lesion", "Lytic"): ("bone_lesion", "lytic"),
    ("Bone lesion", "Mixed (lytic/blastic)"): ("bone_lesion", "mixed"),
    ("Bone lesion", "Blastic"): ("bone_lesion", "blastic"),
    ("Radiographic spinal alignment", "Subluxation/translation present"):
        ("alignment", "subluxation_translation"),
    ("Radiographic spinal alignment", "De novo deformity (kyphosis/scoliosis)"):
        ("alignment", "de_novo_deformity"),
    ("Radiographic spinal alignment", "Normal alignment"): ("alignment", "normal"),
    ("Vertebral body collapse", ">50% collapse"): ("collapse", "over_50"),
    ("Vertebral body collapse", "<50% collapse"): ("collapse", "under_50"),
    ("Vertebral body collapse", "No collapse with >50% of the body involved"):
        ("collapse", "none_over_50_involved"),
    ("Vertebral body collapse", "None of the above"): ("collapse", "none"),
    ("Posterolateral involvement", "Bilateral"): ("posterolateral", "bilateral"),
    ("Posterolateral involvement", "Unilateral"): ("posterolateral", "unilateral"),
    ("Posterolateral involvement", "None of the above"): ("posterolateral", "none"),
}  # fmt: skip


def test_sins_points(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(SPINE, "1. SINS", ("Component", "Category", "Points"))
    expectations = []
    for component, category, pts in rows:
        short = component.split(" (")[0]
        assert (short, category) in SINS_ROWS, f"reference row {component!r}/{category!r} unmapped"
        factor, value = SINS_ROWS[(short, category)]
        expectations.append(each(factor, f"sins_{factor}", [value], points_of(pts)))
    assert len(expectations) == len(SINS_ROWS)
    check(kb["sins_2010"], expectations)


def test_sins_bands(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(SPINE, "1. SINS", ("Total", "Category (original wording)"))
    check_bands(kb["sins_2010"], [r[0] for r in rows])


# --------------------------------------------------------------------------- Tokuhashi (§3)

TOK_ITEMS = {
    "General condition (performance status, KPS)": "general_condition",
    "Number of extraspinal bone metastasis foci": "extraspinal_bone_metastases",
    "Number of metastases in the vertebral body": "vertebral_body_metastases",
    "Metastases to the major internal organs": "internal_organ_metastases",
    "Primary site": "primary_site",
    "Palsy": "palsy",
}
TOK_SAMPLES: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("general_condition", "Poor (PS 10–40%)"): [{"kps": k} for k in (10, 20, 30, 40)],
    ("general_condition", "Moderate (PS 50–70%)"): [{"kps": k} for k in (50, 60, 70)],
    ("general_condition", "Good (PS 80–100%)"): [{"kps": k} for k in (80, 90, 100)],
    ("extraspinal_bone_metastases", "≥3"): [{"extraspinal_bone_metastases": n} for n in (3, 4, 12)],
    ("extraspinal_bone_metastases", "1–2"): [{"extraspinal_bone_metastases": n} for n in (1, 2)],
    ("extraspinal_bone_metastases", "0"): [{"extraspinal_bone_metastases": 0}],
    ("vertebral_body_metastases", "≥3"): [{"vertebral_body_metastases": n} for n in (3, 4, 9)],
    ("vertebral_body_metastases", "2"): [{"vertebral_body_metastases": 2}],
    ("vertebral_body_metastases", "1"): [{"vertebral_body_metastases": 1}],
    ("internal_organ_metastases", "Unremovable"):
        [{"visceral_metastases": True, "visceral_metastases_resectable": False}],
    ("internal_organ_metastases", "Removable"):
        [{"visceral_metastases": True, "visceral_metastases_resectable": True}],
    ("internal_organ_metastases", "No metastases"): [{"visceral_metastases": False}],
    ("primary_site", "Lung, osteosarcoma, stomach, bladder, oesophagus, pancreas"):
        [{"primary_tumor": t} for t in (*LUNG, "osteosarcoma", "stomach", "bladder", "esophagus",
                                        "pancreas")],
    ("primary_site", "Liver, gallbladder, unidentified"):
        [{"primary_tumor": t} for t in ("liver", "gallbladder", "unknown_primary")],
    ("primary_site", "Others"):
        [{"primary_tumor": t} for t in ("myeloma", "lymphoma", "colon", "melanoma",
                                        "sarcoma_other", "head_neck", "other")],
    ("primary_site", "Kidney, uterus"): [{"primary_tumor": t} for t in ("renal", "uterus")],
    ("primary_site", "Rectum"): [{"primary_tumor": "rectum"}],
    ("primary_site", "Thyroid, breast, prostate, carcinoid tumour"):
        [{"primary_tumor": t} for t in ("thyroid", "breast", "prostate", "carcinoid")],
    ("palsy", "Complete (Frankel A, B)"): [{"frankel_grade": g} for g in "AB"],
    ("palsy", "Incomplete (Frankel C, D)"): [{"frankel_grade": g} for g in "CD"],
    ("palsy", "None (Frankel E)"): [{"frankel_grade": "E"}],
}  # fmt: skip


def test_tokuhashi_points(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(SPINE, "3. Revised Tokuhashi", ("Item", "Category", "Points"))
    expectations = []
    for item, category, pts, _status in rows:
        assert item in TOK_ITEMS, f"reference item {item!r} unmapped"
        factor = TOK_ITEMS[item]
        assert (factor, category) in TOK_SAMPLES, f"reference row {item!r}/{category!r} unmapped"
        alternative = (1,) if (factor, category) == ("vertebral_body_metastases", "1") else None
        expectations.append(
            Expect(factor, tuple(TOK_SAMPLES[(factor, category)]), points_of(pts), alternative)
        )
    assert len(expectations) == len(TOK_SAMPLES) == 21
    check(kb["tokuhashi_revised_2005"], expectations)


def test_tokuhashi_bands(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(SPINE, "3. Revised Tokuhashi", ("Total", "Predicted prognosis"))
    assert [r[1] for r in rows] == ["< 6 months", "≥ 6 months", "≥ 1 year"]
    check_bands(kb["tokuhashi_revised_2005"], [r[0] for r in rows])


# --------------------------------------------------------------------------- Tomita (§4)


def test_tomita_points(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(SPINE, "4. Tomita", ("Item", "Category", "Points"))
    samples = {
        ("Primary tumour", "Slow growth (e.g. breast, thyroid, prostate)"):
            ("primary_tumor_growth",
             [{"primary_tumor": t} for t in ("breast", "thyroid", "prostate")]),
        ("Primary tumour", "Moderate growth (e.g. kidney, uterus)"):
            ("primary_tumor_growth", [{"primary_tumor": t} for t in ("renal", "uterus")]),
        # liver and colon as rapid examples are UNVERIFIED in the reference: not sampled
        ("Primary tumour", "Rapid growth (e.g. lung, liver, stomach, colon; unknown primary)"):
            ("primary_tumor_growth",
             [{"primary_tumor": t} for t in (*LUNG, "stomach", "unknown_primary")]),
        ("Visceral metastases", "None"): ("visceral_metastases", [{"visceral_metastases": False}]),
        ("Visceral metastases", "Treatable"):
            ("visceral_metastases",
             [{"visceral_metastases": True, "visceral_metastases_treatable": True}]),
        ("Visceral metastases", "Untreatable"):
            ("visceral_metastases",
             [{"visceral_metastases": True, "visceral_metastases_treatable": False}]),
        ("Bone metastases (including spine)", "Solitary or isolated"):
            ("bone_metastases", [{"other_bone_metastases": False}]),
        ("Bone metastases (including spine)", "Multiple"):
            ("bone_metastases", [{"other_bone_metastases": True}]),
    }  # fmt: skip
    expectations = []
    for item, category, pts in rows:
        assert (item, category) in samples, f"reference row {item!r}/{category!r} unmapped"
        factor, smp = samples[(item, category)]
        expectations.append(Expect(factor, tuple(smp), points_of(pts)))
    assert len(expectations) == len(samples)
    check(kb["tomita_2001"], expectations)


def test_tomita_bands(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(SPINE, "4. Tomita", ("Total", "Treatment goal"))
    check_bands(kb["tomita_2001"], [r[0] for r in rows])


# --------------------------------------------------------------------------- modified Bauer (§5)


def test_modified_bauer_points(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(SPINE, "5. Bauer", ("Item (1 point each; total 0–4)",))
    favourable = ("breast", "renal", "lymphoma", "myeloma")
    mapping = {
        "No visceral metastases": [
            each("no_visceral_metastases", "visceral_metastases", [False], 1),
            each("no_visceral_metastases", "visceral_metastases", [True], 0),
        ],
        "No lung cancer": [
            each("no_lung_cancer", "primary_tumor", others(*LUNG), 1),
            each("no_lung_cancer", "primary_tumor", LUNG, 0),
        ],
        "Primary is breast, kidney, lymphoma or multiple myeloma": [
            each("favourable_primary", "primary_tumor", favourable, 1),
            each("favourable_primary", "primary_tumor", others(*favourable), 0),
        ],
        "One solitary skeletal metastasis": [
            each("solitary_skeletal_metastasis", "other_bone_metastases", [False], 1),
            each("solitary_skeletal_metastasis", "other_bone_metastases", [True], 0),
        ],
    }
    expectations = []
    for (text,) in rows:
        assert text in mapping, f"reference row {text!r} unmapped"
        expectations += mapping[text]
    assert len(rows) == len(mapping)
    check(kb["bauer_modified_2008"], expectations)


def test_modified_bauer_bands(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(
        SPINE, "5. Bauer", ("Total", "Suggested treatment (VERIFIED-S, dss.dign.eu)")
    )
    check_bands(kb["bauer_modified_2008"], [r[0] for r in rows])


# --------------------------------------------------------------------------- van der Linden (§9)


def test_van_der_linden_points(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(SPINE, "9. van der Linden", ("Item", "Category", "Points"))
    kps, tumour, visceral = "karnofsky_performance_score", "primary_tumour", "visceral_metastases"
    samples: dict[tuple[str, str], tuple[str, str, Any]] = {
        ("Karnofsky performance score", "80–100 (good)"): (kps, "kps", (80, 90, 100)),
        ("Karnofsky performance score", "50–70 (fair)"): (kps, "kps", (50, 60, 70)),
        ("Karnofsky performance score", "20–40 (poor)"): (kps, "kps", (20, 30, 40)),
        ("Primary tumour", "Breast"): (tumour, "primary_tumor", ["breast"]),
        ("Primary tumour", "Prostate"): (tumour, "primary_tumor", ["prostate"]),
        ("Primary tumour", "Lung"): (tumour, "primary_tumor", LUNG),
        ("Primary tumour", "Other"):
            (tumour, "primary_tumor", others("breast", "prostate", *LUNG)),
        ("Visceral metastases", "Absent"): (visceral, "visceral_metastases", [False]),
        ("Visceral metastases", "Present"): (visceral, "visceral_metastases", [True]),
    }  # fmt: skip
    expectations = []
    for item, category, pts in rows:
        assert (item, category) in samples, f"reference row {item!r}/{category!r} unmapped"
        factor, key, values = samples[(item, category)]
        expectations.append(each(factor, key, values, points_of(pts)))
    assert len(expectations) == len(samples)
    check(kb["van_der_linden_2005"], expectations)


def test_van_der_linden_bands(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(SPINE, "9. van der Linden", ("Total", "Group"))
    assert [r[1] for r in rows] == ["A", "B", "C"]
    check_bands(kb["van_der_linden_2005"], [r[0] for r in rows])


# --------------------------------------------------------------------------- TEACHH (§11)


def test_teachh_points(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(
        SPINE, "11. TEACHH", ("Factor", "Adverse (1 point)", "Favourable (0)")
    )
    chemo = "prior_palliative_chemotherapy_courses"
    mapping: dict[str, tuple[list[Expect], list[Expect]]] = {
        "Type of cancer": (
            [each("type_of_cancer", "primary_tumor", others("breast", "prostate"), 1)],
            [each("type_of_cancer", "primary_tumor", ["breast", "prostate"], 0)],
        ),
        "ECOG performance status": (
            [each("ecog_performance_status", "ecog", [2, 3, 4], 1)],
            [each("ecog_performance_status", "ecog", [0, 1], 0)],
        ),
        "Age": (
            [each("age", "age_years", [61, 75, 120], 1)],
            [each("age", "age_years", [18, 45, 60], 0)],
        ),
        # Q10 CONFLICT: Table 2 (> 2 vs 0-2) encoded; exactly 2 courses carries the abstract's
        # coding (>= 2) as the alternative
        "Prior palliative Chemotherapy courses": (
            [each("prior_palliative_chemotherapy", chemo, [3, 4, 10], 1),
             each("prior_palliative_chemotherapy", chemo, [2], 0, alternative=(1,))],
            [each("prior_palliative_chemotherapy", chemo, [0, 1], 0)],
        ),
        "Hospitalisation within 3 months before RT": (
            [each("hospitalisation", "hospitalized_last_3_months", [True], 1)],
            [each("hospitalisation", "hospitalized_last_3_months", [False], 0)],
        ),
        "Hepatic (liver) metastases": (
            [each("hepatic_metastases", "hepatic_metastases", [True], 1)],
            [each("hepatic_metastases", "hepatic_metastases", [False], 0)],
        ),
    }  # fmt: skip
    cells = {
        "Type of cancer": ('Lung or "other"', "Breast or prostate"),
        "ECOG performance status": ("2–4", "0–1"),
        "Age": ("> 60 years", "≤ 60 years"),
        "Prior palliative Chemotherapy courses": (
            'CONFLICT (Q10): abstract "≥2 vs 0–1"; Table 2 NRF column ">2 vs 0–2"',
            "—",
        ),
        "Hospitalisation within 3 months before RT": ("Yes (≥1)", "No"),
        "Hepatic (liver) metastases": ("Present", "Absent"),
    }
    expectations: list[Expect] = []
    for factor, adverse, favourable in rows:
        assert factor in mapping, f"reference row {factor!r} unmapped"
        assert (adverse, favourable) == cells[factor], f"reference wording changed for {factor!r}"
        expectations += mapping[factor][0] + mapping[factor][1]
    assert len(rows) == len(mapping) == 6
    check(kb["teachh_2014"], expectations)


def test_teachh_groups(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(SPINE, "11. TEACHH", ("Group", "Risk factors"))
    assert [r[0] for r in rows] == ["A", "B", "C"]
    check_bands(kb["teachh_2014"], [r[1] for r in rows])


# --------------------------------------------------------------------------- Chow (§12)


def test_chow_points(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(SPINE, "12. Chow", ("Risk factor (1 point each; 0–3) — VERIFIED-P",))
    mapping = {
        "Non-breast primary cancer": [
            each("non_breast_primary", "primary_tumor", others("breast"), 1),
            each("non_breast_primary", "primary_tumor", ["breast"], 0),
        ],
        "Sites of metastases other than bone only": [
            each("metastases_other_than_bone_only", "extraskeletal_metastases", [True], 1),
            each("metastases_other_than_bone_only", "extraskeletal_metastases", [False], 0),
        ],
        "KPS ≤ 60 (the 2002 six-variable model used KPS < 60)": [
            each("karnofsky_performance_status", "kps", range(0, 61, 10), 1),
            each("karnofsky_performance_status", "kps", range(70, 101, 10), 0),
        ],
    }
    expectations = []
    for (text,) in rows:
        assert text in mapping, f"reference row {text!r} unmapped"
        expectations += mapping[text]
    assert len(rows) == len(mapping)
    check(kb["chow_nrf_2008"], expectations)


def test_chow_groups(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(SPINE, "12. Chow", ("Group", "Risk factors"))
    assert [r[0] for r in rows] == ["I", "II", "III"]
    check_bands(kb["chow_nrf_2008"], [r[1] for r in rows])


# --------------------------------------------------------------------------- Rades 2013 (§6)


def test_rades_two_month_mortality_points(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(
        RADES, "6. `rades_two_month_mortality_2013`", ("Factor", "Category", "Points")
    )
    amb = ("ambulatory_without_aid", "ambulatory_with_aid")
    not_amb = ("not_ambulatory", "paraplegic")
    factors = {
        "ECOG PS": "ecog_performance_status",
        "Tumor type": "tumor_type",
        "Other bone metastases": "other_bone_metastases",
        "Visceral metastases": "visceral_metastases",
        "Interval cancer diagnosis → MSCC": "interval_diagnosis_to_mscc",
        "Ambulatory status before therapy": "ambulatory_status",
        "Time developing motor deficits": "time_developing_motor_deficits",
    }
    samples: dict[tuple[str, str], tuple[str, list[Any]]] = {
        ("ECOG PS", "2"): ("ecog", [2]),
        ("ECOG PS", "3–4"): ("ecog", [3, 4]),
        ("ECOG PS", "0–1"): ("ecog", [0, 1]),
        ("Tumor type", "Breast"): ("primary_tumor", ["breast"]),
        ("Tumor type", "Prostate"): ("primary_tumor", ["prostate"]),
        ("Tumor type", "Myeloma / lymphoma"): ("primary_tumor", ["myeloma", "lymphoma"]),
        ("Tumor type", "Lung"): ("primary_tumor", list(LUNG)),
        ("Tumor type", "Other"):
            ("primary_tumor", others("breast", "prostate", "myeloma", "lymphoma", *LUNG)),
        ("Other bone metastases", "No"): ("other_bone_metastases", [False]),
        ("Other bone metastases", "Yes"): ("other_bone_metastases", [True]),
        ("Visceral metastases", "No"): ("visceral_metastases", [False]),
        ("Visceral metastases", "Yes"): ("visceral_metastases", [True]),
        ("Interval cancer diagnosis → MSCC", "> 15 months"):
            ("months_from_cancer_diagnosis", [15.01, 15.5, 16, 120]),
        ("Interval cancer diagnosis → MSCC", "≤ 15 months"):
            ("months_from_cancer_diagnosis", [0, 3, 14.99, 15]),
        ("Ambulatory status before therapy", "Ambulatory"): ("ambulatory_status", list(amb)),
        ("Ambulatory status before therapy", "Not ambulatory"):
            ("ambulatory_status", list(not_amb)),
        ("Time developing motor deficits", "> 7 days"):
            ("motor_deficit_days", [7.01, 7.5, 8, 60]),
        ("Time developing motor deficits", "≤ 7 days"):
            ("motor_deficit_days", [0, 1, 6.99, 7]),
    }  # fmt: skip
    expectations = []
    for factor, category, pts in rows:
        assert (factor, category) in samples, f"reference row {factor!r}/{category!r} unmapped"
        key, values = samples[(factor, category)]
        expectations.append(each(factors[factor], key, values, points_of(pts)))
    assert len(expectations) == len(samples)
    assert points_of("Not defined (Q2)") is None
    check(kb["rades_two_month_mortality_2013"], expectations)


def test_rades_two_month_mortality_range_and_cut_off(
    kb: KnowledgeBase, reference_table: Any
) -> None:
    _, rows = reference_table(
        RADES, "6. `rades_two_month_mortality_2013`", ("Item", "Value", "Label")
    )
    total = next(r[1] for r in rows if r[0] == "Total range")
    lo, hi = (int(x) for x in total.split("–"))
    _, cuts = reference_table(
        RADES, "6. `rades_two_month_mortality_2013`", ("Cut-off", "Performance")
    )
    decision = next(r for r in cuts if r[2] == "VERIFIED-P")
    cut = int(decision[0].removeprefix("≥").strip())
    inst = kb["rades_two_month_mortality_2013"]
    assert inst.total_range == (lo, hi) == (6, 25)
    assert [g.label for g in inst.groups] == [f"{lo}-{cut - 1}", f"{cut}-{hi}"]
    decisions = [t for t in inst.thresholds if t.decision]
    assert [(t.ge, t.verification) for t in decisions] == [(cut, "primary")]
    # the >= 19 cut-off is secondary only (reference Q1): shown, never a decision
    assert [(t.ge, t.decision) for t in inst.thresholds if t.verification == "secondary"] == [
        (19, False)
    ]


# --------------------------------------------------------------------------- Rades 2022 (§7)


def test_rades_end_of_life_points(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(
        RADES, "7. `rades_end_of_life_2022`", ("Factor", "1 point", "0 points")
    )
    mapping = {
        ("Tumor type", "Myeloma or lymphoma", "Other"): [
            each("tumor_type", "primary_tumor", ["myeloma", "lymphoma"], 1),
            each("tumor_type", "primary_tumor", others("myeloma", "lymphoma"), 0),
        ],
        ("Time developing motor deficits", "> 14 days", "≤ 14 days"): [
            each("time_developing_motor_deficits", "motor_deficit_days", [14.01, 15, 90], 1),
            each("time_developing_motor_deficits", "motor_deficit_days", [0, 13.99, 14], 0),
        ],
        ("Ambulatory status before treatment", "Ambulatory", "Not ambulatory"): [
            each("ambulatory_status", "ambulatory_status",
                 ["ambulatory_without_aid", "ambulatory_with_aid"], 1),
            each("ambulatory_status", "ambulatory_status", ["not_ambulatory", "paraplegic"], 0),
        ],
    }  # fmt: skip
    expectations = []
    for row in rows:
        assert tuple(row) in mapping, f"reference row {row} unmapped"
        expectations += mapping[tuple(row)]  # type: ignore[index]
    assert len(rows) == len(mapping)
    check(kb["rades_end_of_life_2022"], expectations)


def test_rades_end_of_life_groups(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(RADES, "7. `rades_end_of_life_2022`", ("Total", "Treatment success"))
    check_bands(kb["rades_end_of_life_2022"], [r[0] for r in rows])


# --------------------------------------------------------------------------- Bilsky (§2)


def test_bilsky_groups(kb: KnowledgeBase, reference_table: Any) -> None:
    _, rows = reference_table(SPINE, "2. Bilsky", ("Group", "Grades"))
    reference = {frozenset(g.strip() for g in r[1].split(",")) for r in rows}
    inst = kb["bilsky_escc_2010"]
    yaml_groups = {frozenset(g.members or ()) for g in inst.groups}
    assert yaml_groups == reference
    _, grades = reference_table(SPINE, "2. Bilsky", ("Grade", "Definition"))
    assert [c.label for c in inst.items[0].categories] == [r[0] for r in grades]


# --------------------------------------------------------------------------- the checker itself


def test_a_typo_in_a_yaml_table_fails(kb: KnowledgeBase, reference_table: Any) -> None:
    """The comparison is not vacuous: one changed point value is caught."""
    inst = kb["sins_2010"]
    pain = inst.items[1]
    bad_cat = pain.categories[1].model_copy(update={"points": 2})  # neurosurgerynotes (Q1)
    bad_item = pain.model_copy(
        update={"categories": (pain.categories[0], bad_cat, pain.categories[2])}
    )
    bad = inst.model_copy(update={"items": (inst.items[0], bad_item, *inst.items[2:])})
    _, rows = reference_table(SPINE, "1. SINS", ("Component", "Category", "Points"))
    expectations = []
    for component, category, pts in rows:
        factor, value = SINS_ROWS[(component.split(" (")[0], category)]
        expectations.append(each(factor, f"sins_{factor}", [value], points_of(pts)))
    with pytest.raises(AssertionError, match="reference 1"):
        check(bad, expectations)
