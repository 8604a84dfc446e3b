"""Site-supplied point tables: ``check_overlay``, ``load_kb(overlay)`` and ``mescc kb check``.

SYNTHETIC FIXTURE - NOT CLINICAL DATA. The point values below are made up so that they satisfy
the published constraints of ``rades_survival_2008`` (rades-instruments.md §1.2, A1-A7: six
factors, totals 20-45, every group reachable). They are not the Rades 2008 points and must never
be used for a patient; they only prove that the checks accept a valid table and refuse each kind
of broken one with a precise message.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mescc.assessment import assess_instruments, assess_table
from mescc.cli import app
from mescc.errors import DefinitionError, MesccError, OverlayError
from mescc.kb.loader import KnowledgeBase, load_kb
from mescc.kb.overlay import check_overlay

ID = "rades_survival_2008"
FACTORS = [
    "tumor_type",
    "interval_diagnosis_to_mscc",
    "other_bone_metastases",
    "visceral_metastases",
    "ambulatory_status",
    "time_developing_motor_deficits",
]
SITE = {
    "verified_by": "SYNTHETIC TEST FIXTURE (pytest)",
    "verified_on": "2026-01-01",
    "source": "SYNTHETIC TEST FIXTURE - made-up points, not clinical data, not Rades 2008",
}

# SYNTHETIC FIXTURE - NOT CLINICAL DATA (see module docstring). Minima 3+4+3+2+3+5 = 20,
# maxima 8+7+6+8+9+7 = 45.
SYNTHETIC_ITEMS: list[dict[str, Any]] = [
    {
        "factor": "tumor_type",
        "label": "Tumor type (synthetic)",
        "inputs": ["primary_tumor"],
        "categories": [
            {
                "label": "synthetic A",
                "when": {"primary_tumor": {"in": ["breast", "prostate", "myeloma", "lymphoma"]}},
                "points": 8,
            },
            {
                "label": "synthetic B",
                "when": {
                    "primary_tumor": {"not_in": ["breast", "prostate", "myeloma", "lymphoma"]}
                },
                "points": 3,
            },
        ],
    },
    {
        "factor": "interval_diagnosis_to_mscc",
        "label": "Interval (synthetic)",
        "inputs": ["months_from_cancer_diagnosis"],
        "categories": [
            {
                "label": "> 15 months",
                "when": {"months_from_cancer_diagnosis": {"gt": 15}},
                "points": 7,
            },
            {
                "label": "<= 15 months",
                "when": {"months_from_cancer_diagnosis": {"le": 15}},
                "points": 4,
            },
        ],
    },
    {
        "factor": "other_bone_metastases",
        "label": "Other bone metastases (synthetic)",
        "inputs": ["other_bone_metastases"],
        "categories": [
            {"label": "No", "when": {"other_bone_metastases": {"in": [False]}}, "points": 6},
            {"label": "Yes", "when": {"other_bone_metastases": {"in": [True]}}, "points": 3},
        ],
    },
    {
        "factor": "visceral_metastases",
        "label": "Visceral metastases (synthetic)",
        "inputs": ["visceral_metastases"],
        "categories": [
            {"label": "No", "when": {"visceral_metastases": {"in": [False]}}, "points": 8},
            {"label": "Yes", "when": {"visceral_metastases": {"in": [True]}}, "points": 2},
        ],
    },
    {
        "factor": "ambulatory_status",
        "label": "Ambulatory status (synthetic)",
        "inputs": ["ambulatory_status"],
        "categories": [
            {
                "label": "Ambulatory",
                "when": {
                    "ambulatory_status": {"in": ["ambulatory_without_aid", "ambulatory_with_aid"]}
                },
                "points": 9,
            },
            {
                "label": "Not ambulatory",
                "when": {"ambulatory_status": {"in": ["not_ambulatory"]}},
                "points": 5,
            },
            {
                "label": "Paraplegic",
                "when": {"ambulatory_status": {"in": ["paraplegic"]}},
                "points": 3,
            },
        ],
    },
    {
        "factor": "time_developing_motor_deficits",
        "label": "Time developing motor deficits (synthetic)",
        "inputs": ["motor_deficit_days"],
        "categories": [
            {"label": "> 14 days", "when": {"motor_deficit_days": {"gt": 14}}, "points": 7},
            {
                "label": "8-14 days",
                "when": {"motor_deficit_days": {"gt": 7, "le": 14}},
                "points": 6,
            },
            {"label": "<= 7 days", "when": {"motor_deficit_days": {"le": 7}}, "points": 5},
        ],
    },
]

BEST = {
    "primary_tumor": "breast",
    "months_from_cancer_diagnosis": 24,
    "other_bone_metastases": False,
    "visceral_metastases": False,
    "ambulatory_status": "ambulatory_without_aid",
    "motor_deficit_days": 20,
}
WORST = {
    "primary_tumor": "lung_nsclc",
    "months_from_cancer_diagnosis": 3,
    "other_bone_metastases": True,
    "visceral_metastases": True,
    "ambulatory_status": "paraplegic",
    "motor_deficit_days": 2,
}


def skeleton() -> dict[str, Any]:
    text = resources.files("mescc.kb").joinpath("instruments", f"{ID}.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def synthetic_table() -> dict[str, Any]:
    """The skeleton completed with the synthetic points (SYNTHETIC FIXTURE, not clinical)."""
    data = skeleton()
    data["items"] = copy.deepcopy(SYNTHETIC_ITEMS)
    data["verification"] = "site-supplied"
    data["site"] = dict(SITE)
    return data


def write(folder: Path, data: dict[str, Any], name: str = f"{ID}.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def points(data: dict[str, Any], factor: str, label: str, value: int) -> None:
    item = next(i for i in data["items"] if i["factor"] == factor)
    next(c for c in item["categories"] if c["label"] == label)["points"] = value


@pytest.fixture(scope="module")
def shipped() -> KnowledgeBase:
    return load_kb(None)


def check(data: dict[str, Any], kb: KnowledgeBase, file: str = f"/site/{ID}.yaml") -> Any:
    return check_overlay(yaml.safe_dump(data, sort_keys=False), file, kb.instruments)


def refusal(data: dict[str, Any], kb: KnowledgeBase) -> MesccError:
    with pytest.raises(MesccError) as caught:
        check(data, kb)
    return caught.value


def test_shipped_skeleton_has_no_points(shipped: KnowledgeBase) -> None:
    inst = shipped[ID]
    assert inst.is_skeleton
    assert [i.factor for i in inst.items] == FACTORS
    assert inst.total_range == (20, 45)


def test_synthetic_table_passes_every_constraint(shipped: KnowledgeBase) -> None:
    inst = check(synthetic_table(), shipped)
    assert inst.id == ID
    assert inst.verification == "site-supplied"
    assert inst.site is not None and inst.site.verified_by == SITE["verified_by"]
    assert inst.total_range == (20, 45)
    assert [g.label for g in inst.groups] == ["20-25", "26-30", "31-35", "36-40", "41-45"]


def _drop_site(d: dict[str, Any]) -> None:
    del d["site"]
    d["verification"] = "unverified"


def _drop_factor(d: dict[str, Any]) -> None:
    d["items"] = d["items"][:-1]


def _rename_factor(d: dict[str, Any]) -> None:
    d["items"][0]["factor"] = "tumour_type"


def _null_points(d: dict[str, Any]) -> None:
    d["items"][0]["categories"][1]["points"] = None


def _max_47(d: dict[str, Any]) -> None:
    points(d, "tumor_type", "synthetic A", 10)


def _min_18(d: dict[str, Any]) -> None:
    points(d, "tumor_type", "synthetic B", 1)


def _informal_18_47(d: dict[str, Any]) -> None:
    points(d, "tumor_type", "synthetic A", 10)
    points(d, "tumor_type", "synthetic B", 1)


def _unreachable_groups(d: dict[str, Any]) -> None:
    # totals only 20 and 45: groups 26-30 .. 36-40 cannot be reached
    for item in d["items"][1:]:
        for cat in item["categories"]:
            cat["points"] = 1
    points(d, "tumor_type", "synthetic A", 40)
    points(d, "tumor_type", "synthetic B", 15)


def _changed_outcome(d: dict[str, Any]) -> None:
    d["groups"][0]["outcomes"][0]["value"] = 0.05


def _direction(d: dict[str, Any]) -> None:
    d["direction"] = "higher_is_worse"


def _rates_without_one_rounding_rule(d: dict[str, Any]) -> None:
    # 8 points for 84% fits nearest/floor; 3 points for 21% fits only ceil
    d["items"][0]["categories"][0]["rate"] = 84
    d["items"][0]["categories"][1]["rate"] = 21


FACTOR_LIST = str(FACTORS)
REFUSALS: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    (
        "A1-no-site-block",
        _drop_site,
        "site",
        "A1: a site table needs a site block (verified_by, verified_on, source with table "
        "and page)",
    ),
    (
        "A2-factor-dropped",
        _drop_factor,
        "items",
        f"A2: factors must be exactly {FACTOR_LIST}; missing ['time_developing_motor_deficits'], "
        "not in the published instrument []",
    ),
    (
        "A2-factor-renamed",
        _rename_factor,
        "items",
        f"A2: factors must be exactly {FACTOR_LIST}; missing ['tumor_type'], not in the published "
        "instrument ['tumour_type']",
    ),
    ("A3-points-missing", _null_points, "items", "A3: every category needs integer points"),
    ("A4-maximum", _max_47, "items", "A4: maximum total 47, published 45"),
    ("A4-minimum", _min_18, "items", "A4: minimum total 18, published 20"),
    ("A4-informal-18-47", _informal_18_47, "items", "A4: minimum total 18, published 20"),
    (
        "groups-changed",
        _changed_outcome,
        "groups",
        "groups and their outcomes must equal the published ones of rades_survival_2008 "
        "(labels ['20-25', '26-30', '31-35', '36-40', '41-45'])",
    ),
    ("A7-direction", _direction, "direction",
     "A7: direction higher_is_worse, published higher_is_better"),
    (
        "A6-rates",
        _rates_without_one_rounding_rule,
        "items",
        "A6: points are not rate/10 under one rounding rule (rules that fit every row: none)",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mutate", "path", "message"),
    [r[1:] for r in REFUSALS],
    ids=[r[0] for r in REFUSALS],
)
def test_broken_table_is_refused_with_the_constraint(
    shipped: KnowledgeBase, mutate: Callable[[dict[str, Any]], None], path: str, message: str
) -> None:
    data = synthetic_table()
    mutate(data)
    err = refusal(data, shipped)
    assert isinstance(err, OverlayError)
    assert err.path == path
    assert err.detail == message
    assert str(err) == f"/site/{ID}.yaml {path}: {message}"


@pytest.mark.parametrize(
    ("mutate", "path", "detail"),
    [
        (
            _unreachable_groups,
            "groups[1]",
            "group 26-30 contains no achievable total",
        ),
        (
            lambda d: d["items"][0]["categories"][1].update(
                when={"primary_tumor": {"not_in": ["breast"]}}
            ),
            "items[0].categories",
            "primary_tumor='prostate' matches more than one entry: ['synthetic A', 'synthetic B']",
        ),
        (
            lambda d: d["items"][0]["categories"][1].update(
                when={"primary_tumor": {"in": ["colon"]}}
            ),
            "items[0].categories",
            "no category matches primary_tumor='lung_nsclc'",
        ),
    ],
    ids=["A5-group-unreachable", "A3-overlap", "A3-gap"],
)
def test_category_and_group_proofs_refuse_the_table(
    shipped: KnowledgeBase, mutate: Callable[[dict[str, Any]], None], path: str, detail: str
) -> None:
    data = synthetic_table()
    mutate(data)
    err = refusal(data, shipped)
    assert isinstance(err, OverlayError)
    assert err.path == path
    assert err.detail.startswith("A3/A5: ")
    assert err.detail == f"A3/A5: {detail}"
    assert str(err).endswith(f"{path}: A3/A5: {detail}")


def test_overlay_error_names_the_file_once(shipped: KnowledgeBase) -> None:
    data = synthetic_table()
    _unreachable_groups(data)
    err = refusal(data, shipped)
    text = str(err)
    assert text.count(f"/site/{ID}.yaml") == 1, (
        f"the file and path are repeated inside the message: {text!r}"
    )


def test_rates_that_fit_one_rounding_rule_pass(shipped: KnowledgeBase) -> None:
    data = synthetic_table()
    for item in data["items"]:
        for cat in item["categories"]:
            cat["rate"] = cat["points"] * 10 + 4  # e.g. 84% -> 8 points (nearest and floor)
    inst = check(data, shipped)
    assert inst.verification == "site-supplied"


def test_site_block_needs_a_valid_date(shipped: KnowledgeBase) -> None:
    data = synthetic_table()
    data["site"]["verified_on"] = "yesterday"
    err = refusal(data, shipped)
    assert isinstance(err, DefinitionError)
    assert err.path == "site.verified_on"


def test_site_block_needs_its_source(shipped: KnowledgeBase) -> None:
    data = synthetic_table()
    del data["site"]["source"]
    err = refusal(data, shipped)
    assert err.path == "site.source"
    assert err.detail == "Field required"


def test_verified_instrument_is_not_redefined_silently(shipped: KnowledgeBase) -> None:
    text = resources.files("mescc.kb").joinpath("instruments", "sins_2010.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    data["verification"] = "site-supplied"
    data["site"] = dict(SITE)
    with pytest.raises(OverlayError) as caught:
        check(data, shipped, "/site/sins_2010.yaml")
    assert caught.value.detail == (
        "sins_2010 ships with verified points; a site table may redefine it only with "
        "site.redefines_verified: true"
    )
    data["site"]["redefines_verified"] = True
    assert check(data, shipped, "/site/sins_2010.yaml").verification == "site-supplied"


def test_load_kb_labels_results_site_supplied(tmp_path: Path) -> None:
    write(tmp_path, synthetic_table())
    kb = load_kb(tmp_path)
    assert kb.overlay_ids == (ID,)
    assert kb.version.endswith(".site")
    assert kb[ID].verification == "site-supplied"
    a = assess_instruments(BEST, kb)
    r = a.instruments[ID]
    assert (r.status, r.points, r.group) == ("computed", 45, "41-45")
    assert r.verification == "site-supplied"
    assert r.kb_version == kb.version
    w = assess_instruments(WORST, kb).instruments[ID]
    assert (w.status, w.points, w.group) == ("computed", 20, "20-25")
    # outcomes stay those of the skeleton (validation 2010: 90% at 41-45)
    assert r.estimate is not None and r.estimate.value == 0.90


def test_rades_survival_2010_follows_via_points_from(tmp_path: Path) -> None:
    write(tmp_path, synthetic_table())
    kb = load_kb(tmp_path)
    follower = kb["rades_survival_2010"]
    assert follower.points_from == ID
    assert follower.verification == "site-supplied"
    assert follower.site is not None and follower.site.verified_by == SITE["verified_by"]
    expected_group = {"20-25": "20-30", "26-30": "20-30", "31-35": "31-35"}
    patients = [
        BEST,
        WORST,
        {**BEST, "visceral_metastases": True, "ambulatory_status": "paraplegic"},
        {**WORST, "primary_tumor": "prostate", "months_from_cancer_diagnosis": 40},
        {**BEST, "motor_deficit_days": 10, "other_bone_metastases": True},
    ]
    for patient in patients:
        res = assess_instruments(patient, kb).instruments
        base, simple = res[ID], res["rades_survival_2010"]
        assert simple.status == base.status == "computed"
        assert simple.points == base.points
        assert base.group is not None
        assert simple.group == expected_group.get(base.group, "36-45")
        assert simple.verification == "site-supplied"


def test_without_overlay_both_survival_scores_stay_not_computable(shipped: KnowledgeBase) -> None:
    res = assess_instruments(BEST, shipped).instruments
    for iid in (ID, "rades_survival_2010"):
        assert res[iid].status == "not_computable"
        assert res[iid].reason == "points table not supplied"
        assert res[iid].points is None


def test_table_path_reads_the_overlay_too(tmp_path: Path, frame_of: Any) -> None:
    write(tmp_path, synthetic_table())
    kb = load_kb(tmp_path)
    patients = [BEST, WORST, {**BEST, "motor_deficit_days": None}]
    table = assess_table(frame_of(patients), kb)
    for i, patient in enumerate(patients):
        row = table.row(i, named=True)
        for iid in (ID, "rades_survival_2010"):
            single = assess_instruments({k: v for k, v in patient.items() if v is not None}, kb)
            r = single.instruments[iid]
            assert (row[f"{iid}__status"], row[f"{iid}__points"], row[f"{iid}__group"]) == (
                r.status,
                r.points,
                r.group,
            )


def test_site_supplied_result_names_who_verified_it_and_when(tmp_path: Path) -> None:
    # issue 2: "Output from an overlay is labelled site-supplied with who verified it and when"
    write(tmp_path, synthetic_table())
    kb = load_kb(tmp_path)
    shown = json.dumps(assess_instruments(BEST, kb).instruments[ID].as_dict())
    assert SITE["verified_by"] in shown, "the result does not say who verified the site table"
    assert SITE["verified_on"] in shown, "the result does not say when the site table was verified"


def test_broken_overlay_stops_the_load(tmp_path: Path) -> None:
    data = synthetic_table()
    _max_47(data)
    write(tmp_path, data)
    with pytest.raises(OverlayError) as caught:
        load_kb(tmp_path)
    assert caught.value.detail == "A4: maximum total 47, published 45"


def test_missing_overlay_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_kb(tmp_path / "nowhere")
    assert caught.value.detail == "overlay folder does not exist"


def test_overlay_folder_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, synthetic_table())
    monkeypatch.setenv("MESCC_KB_OVERLAY", str(tmp_path))
    kb = load_kb()
    assert kb.overlay_ids == (ID,)


# --------------------------------------------------------------------------- mescc kb check


def test_cli_kb_check_accepts_a_valid_table(tmp_path: Path) -> None:
    path = write(tmp_path, synthetic_table())
    result = CliRunner().invoke(app, ["kb", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"{path}: accepted as site-supplied table for {ID} (verified by "
        f"{SITE['verified_by']}, {SITE['verified_on']}; source: {SITE['source']})"
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [(_max_47, "A4: maximum total 47, published 45"), (_drop_site, "A1: a site table needs")],
    ids=["A4", "A1"],
)
def test_cli_kb_check_refuses_with_exit_2(
    tmp_path: Path, mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    data = synthetic_table()
    mutate(data)
    path = write(tmp_path, data)
    result = CliRunner().invoke(app, ["kb", "check", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:")
    assert result.stderr.splitlines()[-1].startswith(f"{path}: rejected (")
    assert message in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert result.stdout == ""


def test_cli_kb_check_unreadable_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["kb", "check", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_cli_assess_with_overlay_option(tmp_path: Path) -> None:
    write(tmp_path / "site", synthetic_table())
    patient = tmp_path / "p.json"
    patient.write_text(json.dumps(BEST))
    result = CliRunner().invoke(
        app, ["assess", str(patient), "--format", "json", "--kb-overlay", str(tmp_path / "site")]
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    got = doc["instruments"][ID]
    assert (got["status"], got["points"], got["group"], got["verification"]) == (
        "computed",
        45,
        "41-45",
        "site-supplied",
    )
    assert doc["knowledge_base_version"].endswith(".site")


def test_cli_assess_with_a_broken_overlay_exits_2(tmp_path: Path) -> None:
    data = synthetic_table()
    _max_47(data)
    write(tmp_path / "site", data)
    patient = tmp_path / "p.json"
    patient.write_text(json.dumps(BEST))
    result = CliRunner().invoke(
        app, ["assess", str(patient), "--format", "json", "--kb-overlay", str(tmp_path / "site")]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("knowledge base: ")
    assert "A4: maximum total 47, published 45" in result.stderr


def test_cli_global_overlay_option_and_environment(tmp_path: Path) -> None:
    write(tmp_path / "site", synthetic_table())
    folder = str(tmp_path / "site")
    for args, env in (
        (["--kb-overlay", folder, "instruments", "--format", "json"], {}),
        (["instruments", "--format", "json"], {"MESCC_KB_OVERLAY": folder}),
    ):
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 0, result.stderr
        row = next(r for r in json.loads(result.stdout) if r["id"] == ID)
        assert row["verification"] == "site-supplied"
        assert row["computable"] is True
        assert row["site"]["verified_by"] == SITE["verified_by"]
        assert row["site"]["verified_on"] == SITE["verified_on"]
