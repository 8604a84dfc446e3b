"""The hazard log (safety/hazard-log.yaml) names tests that exist (conventions §3.13).

Each control names pytest node ids; the test files are parsed (``ast``) for the functions they
name, so a renamed or deleted test cannot leave a hazard with a phantom control.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
LOG = REPO / "safety" / "hazard-log.yaml"
REQUIRED = {
    "silent default",
    "naked result",
    "threshold flip",
    "unit mismatch",
    "unverified figure driving advice",
    "guideline drift",
    "overlay mistakes",
    "conflicting sources",
}


def hazards() -> list[dict[str, Any]]:
    data = yaml.safe_load(LOG.read_text(encoding="utf-8"))
    out: list[dict[str, Any]] = data["hazards"]
    return out


def node_ids() -> list[str]:
    return sorted({t for h in hazards() for c in h["controls"] for t in c["tests"]})


@cache
def defined_tests(path: Path) -> frozenset[str]:
    """``name`` and ``Class::name`` of every test function defined in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(f"{node.name}::{sub.name}")
    return frozenset(n for n in names if n.split("::")[-1].startswith("test"))


def test_log_lists_the_required_hazards() -> None:
    names = {h["name"] for h in hazards()}
    missing = REQUIRED - names
    assert not missing, f"add hazards {sorted(missing)} to {LOG.relative_to(REPO)}"


def test_hazard_ids_are_unique_and_every_hazard_is_controlled() -> None:
    ids = [h["id"] for h in hazards()]
    assert len(ids) == len(set(ids)), "hazard ids must be unique"
    for h in hazards():
        assert h.get("cause") and h.get("harm"), f"{h['id']}: write its cause and harm"
        assert h["controls"], f"{h['id']} has no control"
        for c in h["controls"]:
            assert c["control"].strip(), f"{h['id']}: a control without text"
            assert c["tests"], f"{h['id']}: control {c['control']!r} names no test"


@pytest.mark.parametrize("node_id", node_ids())
def test_every_named_test_exists(node_id: str) -> None:
    path_text, _, name = node_id.partition("::")
    assert name, f"{node_id}: write it as tests/<file>.py::<test name>"
    path = REPO / path_text
    assert path.is_file(), f"{node_id}: {path_text} does not exist"
    name = name.split("[", 1)[0]
    assert name in defined_tests(path), f"{node_id}: no test {name!r} in {path_text}"


def test_the_checker_can_fail() -> None:
    assert "test_missing_is_none" in defined_tests(REPO / "tests" / "test_patient.py")
    assert "test_no_such_thing" not in defined_tests(REPO / "tests" / "test_patient.py")
