"""Shared fixtures of the core test suite.

* ``kb``: the packaged knowledge base (``load_kb(None)``, no site overlay), loaded once.
* ``frame_of``: a typed polars frame (one column per patient key, missing = null) built from
  patients or flat rows, as ``assess_table`` expects it.
* ``patient_rows``: the flat rows (``Patient.to_row()``) of raw patient mappings.
* ``table_result``: ``(status, points, group)`` of one instrument in one row of
  ``assess_table``'s output, to compare with ``assess_instruments``.
* A session check: the run fails when it changed a tracked file of the git checkout (the
  status and content of tracked files before and after; skipped outside a git checkout).

Everything here is deterministic and offline.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from mescc.fields import FIELDS
from mescc.kb.loader import KnowledgeBase, load_kb
from mescc.patient import Patient

#: Instrument ids of ``shared/contract.md`` (the public interface; never renamed).
CONTRACT_IDS: tuple[str, ...] = (
    "rades_survival_2008",
    "rades_survival_2010",
    "rades_ambulatory_2008",
    "rades_two_month_mortality_2013",
    "rades_end_of_life_2022",
    "sins_2010",
    "bilsky_escc_2010",
    "tokuhashi_revised_2005",
    "tomita_2001",
    "bauer_modified_2008",
    "van_der_linden_2005",
    "teachh_2014",
    "chow_nrf_2008",
)

REPO = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO.parent / "shared" / "reference"
VECTORS_DIR = REPO / "tests" / "instruments" / "vectors"

_DTYPES: dict[str, Any] = {
    "int": pl.Int64,
    "number": pl.Float64,
    "bool": pl.Boolean,
    "enum": pl.String,
    "text": pl.String,
}
#: The typed schema of a patient table: every scalar key of ``mescc.fields.FIELDS``.
FRAME_SCHEMA: dict[str, Any] = {f.key: _DTYPES[f.kind] for f in FIELDS}


def nest_sins(flat: Mapping[str, Any]) -> dict[str, Any]:
    """A raw patient mapping from a flat row: ``sins_<part>`` columns become ``sins``."""
    out: dict[str, Any] = {}
    sins: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None:
            continue
        if key.startswith("sins_"):
            sins[key.removeprefix("sins_")] = value
        else:
            out[key] = value
    if sins:
        out["sins"] = sins
    return out


def rows_of(patients: Iterable[Patient | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Flat rows (``Patient.to_row()``) of patients or raw patient mappings."""
    return [(p if isinstance(p, Patient) else Patient.from_data(p)).to_row() for p in patients]


def typed_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """A typed frame with every patient key as a column (absent keys are null)."""
    data = [{k: row.get(k) for k in FRAME_SCHEMA} for row in rows]
    return pl.DataFrame(data, schema=FRAME_SCHEMA, orient="row")


# A site overlay in the environment must not leak into the packaged-KB tests (nor into the
# CLI subprocesses they start); tests that want an overlay pass it explicitly.
os.environ.pop("MESCC_KB_OVERLAY", None)


# --------------------------------------------------------------------------- tracked files


def tracked_state(repo: Path = REPO) -> str | None:
    """The status and content digest of the checkout's tracked files; None outside git.

    ``git status --porcelain`` (untracked files left out) names what differs from HEAD, and a
    digest of ``git diff HEAD --binary`` catches a test rewriting an already modified file.
    """
    commands = (
        ["git", "status", "--porcelain", "--untracked-files=no"],
        ["git", "diff", "HEAD", "--binary"],
    )
    outputs: list[bytes] = []
    for command in commands:
        try:
            done = subprocess.run(command, cwd=repo, capture_output=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if done.returncode != 0:
            return None
        outputs.append(done.stdout)
    return outputs[0].decode(errors="replace") + hashlib.sha256(outputs[1]).hexdigest()


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controlling process only
        session.config.stash[_TRACKED] = tracked_state()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_TRACKED, None)
    if before is None:
        return
    after = tracked_state()
    if after is None or after == before:
        return
    changed = sorted(set(after.splitlines()[:-1]) ^ set(before.splitlines()[:-1])) or [
        "(content of an already modified file)"
    ]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = "the test run modified tracked files: " + ", ".join(c.strip() for c in changed)
    if reporter is not None:
        reporter.write_sep("=", f"ERROR: {message}", red=True, bold=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


_TRACKED = pytest.StashKey[str | None]()


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The packaged knowledge base without any site overlay."""
    return load_kb(None)


@pytest.fixture(scope="session")
def patient_rows() -> Callable[[Iterable[Patient | Mapping[str, Any]]], list[dict[str, Any]]]:
    """``patient_rows(patients)``: the flat rows the instruments read."""
    return rows_of


@pytest.fixture(scope="session")
def frame_of() -> Callable[[Iterable[Patient | Mapping[str, Any]]], pl.DataFrame]:
    """``frame_of(patients)``: the typed table of patients that ``assess_table`` takes."""

    def build(patients: Iterable[Patient | Mapping[str, Any]]) -> pl.DataFrame:
        return typed_frame(rows_of(patients))

    return build


@pytest.fixture(scope="session")
def table_result() -> Callable[[Mapping[str, Any], str], tuple[Any, Any, Any]]:
    """``table_result(row, id)``: ``(status, points, group)`` of an ``assess_table`` row."""

    def pick(row: Mapping[str, Any], instrument_id: str) -> tuple[Any, Any, Any]:
        return (
            row[f"{instrument_id}__status"],
            row[f"{instrument_id}__points"],
            row[f"{instrument_id}__group"],
        )

    return pick


@pytest.fixture(scope="session")
def contract_ids() -> tuple[str, ...]:
    """The instrument ids the public contract promises."""
    return CONTRACT_IDS


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``../shared/reference`` (the curated reference the numbers come from)."""
    return REFERENCE_DIR


# --------------------------------------------------------------------------- reference tables


def _clean_cell(cell: str) -> str:
    return cell.replace("**", "").strip()


def markdown_section(text: str, heading: str) -> str:
    """The text of the section whose heading starts with ``heading`` (up to the next one)."""
    lines = text.splitlines()

    def level(line: str) -> int:
        return len(line) - len(line.lstrip("#")) if line.startswith("#") else 0

    try:
        start = next(
            i
            for i, line in enumerate(lines)
            if level(line) and line.lstrip("#").strip().startswith(heading)
        )
    except StopIteration:
        raise AssertionError(f"no section {heading!r} in the reference") from None
    end = next(
        (j for j in range(start + 1, len(lines)) if 0 < level(lines[j]) <= level(lines[start])),
        len(lines),
    )
    return "\n".join(lines[start:end])


def markdown_tables(section: str) -> list[list[list[str]]]:
    """Every pipe table of a section: rows of cleaned cells, separator rows dropped."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in section.splitlines():
        if line.startswith("|"):
            cells = [_clean_cell(c) for c in line.strip().strip("|").split("|")]
            if all(c and set(c) <= set(":-") for c in cells):
                continue
            current.append(cells)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def read_reference_table(
    file: str, heading: str, header: tuple[str, ...]
) -> tuple[list[str], list[list[str]]]:
    """The table of ``file`` § ``heading`` whose header cells start with ``header``.

    Returns the header and the body rows; an empty first cell repeats the one above (the
    reference writes an item once and its categories below it).
    """
    text = (REFERENCE_DIR / file).read_text(encoding="utf-8")
    section = markdown_section(text, heading)
    for table in markdown_tables(section):
        head = table[0]
        if len(head) >= len(header) and all(
            cell.startswith(want) for cell, want in zip(head, header, strict=False)
        ):
            rows: list[list[str]] = []
            for cells in table[1:]:
                if rows and not cells[0]:
                    cells = [rows[-1][0], *cells[1:]]
                rows.append(cells)
            return head, rows
    raise AssertionError(f"{file} § {heading}: no table with header starting {header}")


@pytest.fixture(scope="session")
def reference_table() -> Callable[[str, str, tuple[str, ...]], tuple[list[str], list[list[str]]]]:
    """``reference_table(file, heading, header)``: one table of the curated reference."""
    return read_reference_table
