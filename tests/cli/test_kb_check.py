"""``mescc kb check FILE`` lists every problem of a site table at once, then exits 2.

Each problem is one line ``file:line path: message``; the last line counts them. The synthetic
site table (SYNTHETIC FIXTURE, not clinical) is the one of ``tests/kb/test_overlay.py``.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from mescc.cli import app
from mescc.errors import OverlayError
from mescc.kb.loader import KnowledgeBase
from mescc.kb.overlay import check_overlay, overlay_problems


def _overlay_fixtures() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "kb" / "test_overlay.py"
    spec = importlib.util.spec_from_file_location("overlay_fixtures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIX = _overlay_fixtures()
LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+) (?P<path>\S+): (?P<message>.+)$")


def _broken() -> dict[str, Any]:
    """A table with four independent faults: A1, A4 (maximum), A7 and a stray total."""
    data: dict[str, Any] = FIX.synthetic_table()
    FIX._max_47(data)  # A4, and totals 46-47 in no published group
    FIX._drop_site(data)  # A1
    FIX._direction(data)  # A7
    return data


def _check(path: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["kb", "check", str(path)])
    assert "Traceback" not in result.output
    assert result.stdout == "" or result.exit_code == 0
    return result.exit_code, result.stderr.splitlines()


def test_every_problem_is_listed_at_once_with_file_line_and_path(tmp_path: Path) -> None:
    path = FIX.write(tmp_path, _broken())
    code, lines = _check(path)
    assert code == 2
    *problems, last = lines
    assert last == f"{path}: rejected (4 problems)"
    parsed = [LINE.match(line) for line in problems]
    assert all(parsed), problems
    assert {m["file"] for m in parsed if m} == {str(path)}
    text = path.read_text(encoding="utf-8").splitlines()
    by_path = {m["path"]: m for m in parsed if m}
    assert set(by_path) == {"site", "items", "direction", "groups"}
    assert by_path["site"]["message"].startswith("A1: a site table needs a site block")
    assert by_path["items"]["message"] == "A4: maximum total 47, published 45"
    assert by_path["direction"]["message"].startswith("A7: direction higher_is_worse")
    assert "achievable totals [46, 47] are in no published group" in by_path["groups"]["message"]
    # the line points into the file: the direction is on its own line
    assert text[int(by_path["direction"]["line"]) - 1].startswith("direction:")


def test_the_library_call_still_stops_at_the_first(shipped: KnowledgeBase, tmp_path: Path) -> None:
    path = FIX.write(tmp_path, _broken())
    with pytest.raises(OverlayError) as caught:
        check_overlay(path.read_text(encoding="utf-8"), str(path), shipped.instruments)
    assert caught.value.detail.startswith("A1:")
    table, problems = overlay_problems(
        path.read_text(encoding="utf-8"), str(path), shipped.instruments
    )
    assert table is None and len(problems) == 4


def test_schema_errors_are_all_listed(tmp_path: Path) -> None:
    path = tmp_path / "rades_survival_2008.yaml"
    path.write_text("id: rades_survival_2008\nname: 3\nitems: x\n", encoding="utf-8")
    code, lines = _check(path)
    assert code == 2
    assert f"{path}:2 name: Input should be a valid string" in lines
    assert f"{path}:3 items: Input should be a valid tuple" in lines
    assert any(line.endswith("outcome: Field required") for line in lines)
    assert lines[-1] == f"{path}: rejected ({len(lines) - 1} problems)"


def test_one_problem_is_counted_as_one(tmp_path: Path) -> None:
    data = FIX.synthetic_table()
    FIX._direction(data)
    code, lines = _check(FIX.write(tmp_path, data))
    assert code == 2
    assert len(lines) == 2 and lines[-1].endswith(": rejected (1 problem)")


def test_a_valid_table_is_accepted(tmp_path: Path) -> None:
    path = FIX.write(tmp_path, FIX.synthetic_table())
    result = CliRunner().invoke(app, ["kb", "check", str(path)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"{path}: accepted as site-supplied table for {FIX.ID}")


def test_malformed_yaml_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")
    code, lines = _check(path)
    assert code == 2
    assert lines[0].startswith(f"{path}:") and "not valid YAML" in lines[0]
    assert lines[-1] == f"{path}: rejected (1 problem)"


@pytest.fixture(scope="module")
def shipped() -> KnowledgeBase:
    from mescc.kb.loader import load_kb

    return load_kb(None)


def test_a_file_that_is_not_utf8_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_bytes(b"id: \xff\xfe\n")
    code, lines = _check(path)
    assert code == 2
    assert lines == [f"{path}: not UTF-8 text (invalid start byte at byte 4)"]
