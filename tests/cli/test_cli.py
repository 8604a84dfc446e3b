"""The command line as the contract states it (shared/contract.md, "Command line").

Only the ``instruments`` part of ``assess --format json``, exit codes and stderr are asserted
here; the plan has its own tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mescc.assessment import assess_instruments
from mescc.cli import app
from mescc.kb.loader import KnowledgeBase

MESCC = Path(sys.executable).with_name("mescc")
CONTRACT_FIELDS = {
    "status", "points", "group", "category", "estimate", "items", "missing", "verification",
    "citation",
}  # fmt: skip

PATIENT: dict[str, Any] = {
    "id": "cli-1",
    "age_years": 71,
    "primary_tumor": "breast",
    "kps": 70,
    "ecog": 2,
    "visceral_metastases": False,
    "other_bone_metastases": True,
    "extraskeletal_metastases": False,
    "extraspinal_bone_metastases": 2,
    "vertebral_body_metastases": 3,
    "frankel_grade": "D",
    "escc_grade": "2",
    "months_from_cancer_diagnosis": 40,
    "ambulatory_status": "ambulatory_with_aid",
    "motor_deficit_days": 10,
    "sins": {
        "location": "junctional",
        "pain": "mechanical",
        "bone_lesion": "lytic",
        "alignment": "normal",
        "collapse": "under_50",
        "posterolateral": "unilateral",
    },
}
BAD = {"kps": 75, "ecgo": 1, "sex": "f", "sins": {"pain": "x"}}
BAD_LINES = [
    "kps: 75 is not allowed; allowed: 0-100 in steps of 10",
    'ecgo: unknown key; did you mean "ecog"?',
    'sex: "f" is not an allowed value; allowed: one of female, male, other',
    'sins.pain: "x" is not an allowed value; allowed: one of mechanical, '
    "occasional_non_mechanical, pain_free",
]


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def write_json(tmp_path: Path, data: Any, name: str = "patient.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def instruments_of(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = doc["instruments"]
    return out


def test_assess_json_lists_every_instrument(
    runner: CliRunner, tmp_path: Path, kb: KnowledgeBase, contract_ids: tuple[str, ...]
) -> None:
    result = runner.invoke(app, ["assess", str(write_json(tmp_path, PATIENT)), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == "1"
    assert doc["knowledge_base_version"] == kb.version
    got = instruments_of(doc)
    assert set(contract_ids) <= set(got)
    assert set(got) == set(kb.instruments)
    for iid, entry in got.items():
        assert set(entry) >= CONTRACT_FIELDS, f"{iid} lacks {CONTRACT_FIELDS - set(entry)}"
        assert entry["status"] in ("computed", "not_computable", "not_applicable")
        assert entry["verification"] in ("primary", "secondary", "site-supplied", "unverified")
        assert entry["citation"]


def test_assess_json_equals_the_library(
    runner: CliRunner, tmp_path: Path, kb: KnowledgeBase
) -> None:
    path = str(write_json(tmp_path, PATIENT))
    full = runner.invoke(app, ["assess", path, "--format", "json", "--detail", "full"])
    assert full.exit_code == 0, full.stderr
    result = runner.invoke(app, ["assess", path, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    got = instruments_of(json.loads(result.stdout))
    got_full = instruments_of(json.loads(full.stdout))
    want = assess_instruments(PATIENT, kb).instruments
    for iid, r in want.items():
        expected = json.loads(json.dumps(r.as_dict()))
        # --detail full: the library's result exactly; the default view: its contract keys
        assert got_full[iid] == expected, iid
        assert got[iid] == {k: expected[k] for k in CONTRACT_FIELDS}, iid
    sins = got["sins_2010"]
    assert (sins["status"], sins["points"], sins["group"]) == ("computed", 11, "7-12")
    assert sins["estimate"] is None
    assert [i["points"] for i in sins["items"]] == [3, 3, 2, 0, 2, 1]


def test_assess_reads_yaml(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "patient.yaml"
    path.write_text(yaml.safe_dump(PATIENT), encoding="utf-8")
    result = runner.invoke(app, ["assess", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert instruments_of(json.loads(result.stdout))["sins_2010"]["points"] == 11


def test_assess_reads_standard_input(runner: CliRunner) -> None:
    result = runner.invoke(app, ["assess", "-", "--format", "json"], input=json.dumps(PATIENT))
    assert result.exit_code == 0, result.stderr
    assert instruments_of(json.loads(result.stdout))["sins_2010"]["group"] == "7-12"


def test_assess_text_is_the_default(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["assess", str(write_json(tmp_path, PATIENT))])
    assert result.exit_code == 0, result.stderr
    assert "MESCC board summary: patient cli-1" in result.stdout
    assert "Spinal Instability Neoplastic Score" not in result.stdout, "the summary by default"
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout)
    full = runner.invoke(app, ["assess", str(write_json(tmp_path, PATIENT)), "--detail", "full"])
    assert full.exit_code == 0, full.stderr
    assert "Spinal Instability Neoplastic Score" in full.stdout


def test_invalid_file_exits_2_naming_every_bad_field(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["assess", str(write_json(tmp_path, BAD)), "--format", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == BAD_LINES
    assert "Traceback" not in result.stderr


def test_unknown_key_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    data = {**PATIENT, "primary_tumour": "breast"}
    result = runner.invoke(app, ["assess", str(write_json(tmp_path, data)), "--format", "json"])
    assert result.exit_code == 2
    assert result.stderr.strip() == 'primary_tumour: unknown key; did you mean "primary_tumor"?'


def test_several_files_prefix_each_problem_with_its_file(runner: CliRunner, tmp_path: Path) -> None:
    good = write_json(tmp_path, PATIENT, "good.json")
    bad = write_json(tmp_path, {"kps": 75}, "bad.json")
    worse = write_json(tmp_path, {"ecog": 9}, "worse.json")
    result = runner.invoke(app, ["assess", str(good), str(bad), str(worse), "--format", "json"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{bad}: kps: 75 is not allowed; allowed: 0-100 in steps of 10",
        f"{worse}: ecog: 9 is out of range; allowed: integer 0-4",
    ]


def test_several_valid_files_give_a_list(runner: CliRunner, tmp_path: Path) -> None:
    a = write_json(tmp_path, PATIENT, "a.json")
    b = write_json(tmp_path, {"primary_tumor": "lung_nsclc"}, "b.json")
    result = runner.invoke(app, ["assess", str(a), str(b), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    docs = json.loads(result.stdout)
    assert isinstance(docs, list) and len(docs) == 2
    assert instruments_of(docs[1])["sins_2010"]["status"] == "not_computable"


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("broken.json", "{kps: ", "broken.json: is not valid JSON (line 1, column 2"),
        ("broken.yaml", "kps: [70\n", "broken.yaml: is not valid YAML (line 2, column 1"),
        ("list.yaml", "- 1\n- 2\n", "patient: [1, 2] is not an object of patient keys"),
    ],
)
def test_unreadable_patient_exits_2(
    runner: CliRunner, tmp_path: Path, name: str, text: str, needle: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["assess", str(path), "--format", "json"])
    assert result.exit_code == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["assess", str(tmp_path / "absent.json")])
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"{tmp_path / 'absent.json'}: cannot read (No such file or directory)"
    )


def test_instruments_json(
    runner: CliRunner, kb: KnowledgeBase, contract_ids: tuple[str, ...]
) -> None:
    result = runner.invoke(app, ["instruments", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    by_id = {r["id"]: r for r in rows}
    assert set(contract_ids) <= set(by_id)
    assert set(by_id) == set(kb.instruments)
    for iid, r in by_id.items():
        for key in ("id", "name", "outcome", "citation", "verification"):
            assert r[key], f"{iid}: {key} is empty"
        assert r["verification"] in ("primary", "secondary", "site-supplied", "unverified")
        assert r["citation"] == kb[iid].citation.short()
        if kb[iid].is_skeleton:
            assert r["computable"] is False
            assert r["status_note"].startswith("points table not supplied")
    # keys an instrument adds beyond the contract are documented
    tomita = by_id["tomita_2001"]
    assert [a["key"] for a in tomita["added_inputs"]] == ["visceral_metastases_treatable"]


def test_instruments_text(runner: CliRunner) -> None:
    result = runner.invoke(app, ["instruments"])
    assert result.exit_code == 0, result.stderr
    assert "sins_2010" in result.stdout


# --------------------------------------------------------------------------- the real script


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MESCC), *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_script_invalid_input_has_no_traceback(tmp_path: Path) -> None:
    proc = run("assess", str(write_json(tmp_path, BAD)), "--format", "json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == BAD_LINES
    assert "Traceback" not in proc.stderr


def test_script_reads_standard_input(kb: KnowledgeBase) -> None:
    proc = run("assess", "-", "--format", "json", stdin=json.dumps(PATIENT))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["knowledge_base_version"] == kb.version
    got = instruments_of(doc)["tokuhashi_revised_2005"]
    want = assess_instruments(PATIENT, kb).instruments["tokuhashi_revised_2005"]
    assert (got["status"], got["points"], got["group"]) == (want.status, want.points, want.group)


def test_script_dose_json() -> None:
    proc = run("dose", "--fractions", "10", "--dose-per-fraction", "3", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["bed_gy"], doc["eqd2_gy"]) == (39.0, 32.5)
    proc = run("dose", "--fractions", "1", "--dose-per-fraction", "8", "--alpha-beta", "2",
               "--format", "json")  # fmt: skip
    assert json.loads(proc.stdout)["bed_gy"] == 40.0
