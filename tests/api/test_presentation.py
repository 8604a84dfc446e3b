"""Layout helpers: the regimen chart and the document diff (no clinical content)."""

from __future__ import annotations

from mescc.api.diff import diff_documents
from mescc.api.presentation import fmt, regimen_chart, verification_label


def test_chart_has_one_bar_per_series_and_marks_the_first_option() -> None:
    chart = regimen_chart(
        [
            {"regimen": "A", "bed_gy10": 39.0, "eqd2_gy10": 32.5},
            {"regimen": "B", "bed_gy10": 28.0, "eqd2_gy10": None},
            {"regimen": "C"},
            "not a mapping",
        ]
    )
    assert chart is not None
    assert [(b.label, b.series, b.recommended) for b in chart.bars] == [
        ("A", "BED, α/β 10 Gy", True),
        ("A", "EQD2, α/β 10 Gy", True),
        ("B", "BED, α/β 10 Gy", False),
    ]
    widest = max(chart.bars, key=lambda b: b.value)
    assert widest.width <= chart.plot_width


def test_no_chart_without_numbers() -> None:
    assert regimen_chart(None) is None
    assert regimen_chart([{"regimen": "A"}]) is None


def test_diff_paths() -> None:
    before = {"a": 1, "plan": {"radiotherapy": [{"regimen": "X"}, {"regimen": "Y"}]}, "gone": 1}
    after = {"a": 1.0, "plan": {"radiotherapy": [{"regimen": "Y"}]}, "new": True}
    changes = [c.as_dict() for c in diff_documents(before, after)]
    assert changes == [
        {"path": "plan.radiotherapy[0].regimen", "kind": "changed", "before": "X", "after": "Y"},
        {
            "path": "plan.radiotherapy[1]",
            "kind": "removed",
            "before": {"regimen": "Y"},
            "after": None,
        },
        {"path": "gone", "kind": "removed", "before": 1, "after": None},
        {"path": "new", "kind": "added", "before": None, "after": True},
    ]
    assert diff_documents({"x": True}, {"x": 1})[0].kind == "changed"


def test_labels() -> None:
    assert verification_label("primary") == "VERIFIED-P"
    assert verification_label("unverified") == "UNVERIFIED"
    assert fmt(39.0) == "39" and fmt(32.5) == "32.5" and fmt(None) == "unknown"
    assert fmt(True) == "yes"
