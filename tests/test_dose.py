"""Linear-quadratic BED and EQD2 against radiotherapy-evidence.md §3.3 (computed values).

The regimen table of the reference is parsed and every column recomputed; the reference says
its values are rounded to 0.1 Gy (tolerance 0.1 Gy).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from typer.testing import CliRunner

from mescc.cli import app
from mescc.document import dose_document
from mescc.dose import bed, eqd2, eqd2_from_bed


def test_ten_by_three_at_alpha_beta_10() -> None:
    assert bed(10, 3, 10) == pytest.approx(39.0)
    assert eqd2(10, 3, 10) == pytest.approx(32.5)


def test_single_eight_gy_at_alpha_beta_2() -> None:
    assert bed(1, 8, 2) == pytest.approx(40.0)
    assert eqd2(1, 8, 2) == pytest.approx(20.0)


def test_nieder_50_gy_in_2_gy_fractions() -> None:
    # 100 Gy2 at alpha/beta 2 corresponds to 75 Gy4 at alpha/beta 4 (Sminia / Nieder rules)
    assert bed(25, 2, 2) == pytest.approx(100.0)
    assert bed(25, 2, 4) == pytest.approx(75.0)
    # EQD2 of 2-Gy fractions is the physical dose whatever the alpha/beta
    for ab in (2, 3, 4, 10):
        assert eqd2(25, 2, ab) == pytest.approx(50.0)


def test_eqd2_from_bed_inverts() -> None:
    assert eqd2_from_bed(bed(5, 5, 10), 10) == pytest.approx(eqd2(5, 5, 10))
    assert eqd2_from_bed(100.0, 2) == pytest.approx(50.0)


def _regimens(reference_table: Any) -> list[tuple[str, list[tuple[int, float]], list[float]]]:
    header, rows = reference_table(
        "radiotherapy-evidence.md", "3.3 BED and EQD2", ("Regimen", "Total (Gy)")
    )
    assert header == [
        "Regimen",
        "Total (Gy)",
        "BED₁₀",
        "EQD2₁₀",
        "BED₂ (cord)",
        "EQD2₂ (cord)",
        "BED₄",
    ]
    out = []
    for row in rows:
        parts = [(int(n), float(d)) for n, d in re.findall(r"(\d+) × (\d+(?:\.\d+)?)", row[0])]
        out.append((row[0], parts, [float(x) for x in row[1:]]))
    return out


def test_reference_regimen_table(reference_table: Any) -> None:
    regimens = _regimens(reference_table)
    assert len(regimens) == 11
    for name, parts, (total, bed10, eqd10, bed2, eqd2_2, bed4) in regimens:
        assert parts, name
        # a split course is the sum of the BED of its parts
        got_total = sum(n * d for n, d in parts)
        got = {
            "BED10": sum(bed(n, d, 10) for n, d in parts),
            "EQD2_10": sum(eqd2(n, d, 10) for n, d in parts),
            "BED2": sum(bed(n, d, 2) for n, d in parts),
            "EQD2_2": sum(eqd2(n, d, 2) for n, d in parts),
            "BED4": sum(bed(n, d, 4) for n, d in parts),
        }
        want = {"BED10": bed10, "EQD2_10": eqd10, "BED2": bed2, "EQD2_2": eqd2_2, "BED4": bed4}
        assert got_total == pytest.approx(total, abs=0.1), name
        for key in want:
            assert got[key] == pytest.approx(want[key], abs=0.1), f"{name} {key}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 3, 10), "fractions: -1 is out of range; allowed: >= 0"),
        ((10, -3, 10), "dose_per_fraction_gy: -3 is out of range; allowed: >= 0"),
        ((10, 3, 0), "alpha_beta: 0 is out of range; allowed: > 0"),
        ((10, 3, -2), "alpha_beta: -2 is out of range; allowed: > 0"),
    ],
)
def test_invalid_inputs_raise_value_error(args: tuple[float, float, float], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        bed(*args)
    assert str(caught.value) == message
    with pytest.raises(ValueError):
        eqd2(*args)


@pytest.mark.parametrize(
    "args",
    [(math.nan, 3, 10), (10, math.nan, 10), (10, 3, math.nan)],
    ids=["nan-fractions", "nan-dose", "nan-alpha-beta"],
)
def test_nan_inputs_raise_value_error(args: tuple[float, float, float]) -> None:
    # NaN passes "< 0" checks; it must be refused, not returned as a NaN dose
    with pytest.raises(ValueError):
        bed(*args)


def test_dose_document() -> None:
    doc = dose_document(10, 3.0, 10.0)
    assert (doc["bed_gy"], doc["eqd2_gy"], doc["total_dose_gy"]) == (39.0, 32.5, 30.0)
    assert doc["alpha_beta_gy"] == 10.0
    assert "no time factor" in doc["model"]


@pytest.mark.parametrize(
    ("argv", "bed_gy", "eqd2_gy"),
    [
        (["--fractions", "10", "--dose-per-fraction", "3"], 39.0, 32.5),
        (["--fractions", "1", "--dose-per-fraction", "8", "--alpha-beta", "2"], 40.0, 20.0),
        (["--fractions", "5", "--dose-per-fraction", "5", "--alpha-beta", "10"], 37.5, 31.25),
    ],
)
def test_cli_dose_json(argv: list[str], bed_gy: float, eqd2_gy: float) -> None:
    result = CliRunner().invoke(app, ["dose", *argv, "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["bed_gy"], doc["eqd2_gy"]) == (bed_gy, eqd2_gy)


def test_cli_dose_text() -> None:
    result = CliRunner().invoke(app, ["dose", "--fractions", "10", "--dose-per-fraction", "3"])
    assert result.exit_code == 0
    assert "BED 39.00 Gy" in result.stdout and "EQD2 32.50 Gy" in result.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["--fractions", "0", "--dose-per-fraction", "3"],
        ["--fractions", "10", "--dose-per-fraction", "-1"],
        ["--fractions", "10", "--dose-per-fraction", "3", "--alpha-beta", "0"],
        ["--fractions", "ten", "--dose-per-fraction", "3"],
    ],
    ids=["zero-fractions", "negative-dose", "zero-alpha-beta", "text"],
)
def test_cli_dose_refuses_invalid_values(argv: list[str]) -> None:
    result = CliRunner().invoke(app, ["dose", *argv, "--format", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.output
