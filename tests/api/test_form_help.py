"""The form's performance-status wording is the reference's (spine-instruments.md §15a, §15b)."""

from __future__ import annotations

from collections.abc import Callable

from mescc.api.form_help import ECOG_GRADES, KPS_LEVELS

Table = Callable[[str, str, tuple[str, ...]], tuple[list[str], list[list[str]]]]


def test_ecog_grades_are_the_reference_wording(reference_table: Table) -> None:
    _, rows = reference_table("spine-instruments.md", "15a.", ("Grade", "Definition"))
    want = {int(r[0]): r[1] for r in rows if r[0] != "5"}  # grade 5 (dead) is not an input
    assert dict(ECOG_GRADES) == want


def test_kps_levels_are_the_reference_wording(reference_table: Table) -> None:
    _, rows = reference_table("spine-instruments.md", "15b.", ("KPS", "Definition"))
    assert dict(KPS_LEVELS) == {int(r[0]): r[1] for r in rows}
