"""Layout helpers: the regimen chart and the document diff (no clinical content)."""

from __future__ import annotations

import re

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


# --- The board summary in words (issue 10) ----------------------------------------------------


def test_values_and_plan_prose_read_in_words() -> None:
    from mescc.api.presentation import display, input_value, label, prose

    assert display("ambulatory_with_aid") == "walks with aid"
    assert display("1c", "escc_grade").startswith("grade 1c")
    assert display("longer_course") == "longer course"
    assert display("group_ii") == "group II"
    assert display("10x3") == "10 x 3 Gy" and display("15x2.5") == "15 x 2.5 Gy"
    assert display(60, "kps") == "60%" and display(2, "ecog") == "ECOG 2"
    assert display("5 x 4 Gy") == "5 x 4 Gy"
    assert label("ranking_class") == "Prognosis class used for the ranking"
    assert label("ecog") == "ECOG performance status" and label("sins") == "SINS"
    assert prose("primary_tumor in unknown_primary required") == (
        "Primary tumour in cancer of unknown primary required"
    )
    assert input_value({"location": "semirigid", "pain": "mechanical"}, "sins") == (
        "Location: semirigid (T3-T10); Pain: mechanical pain"
    )
    assert (
        prose("missing kps; kps converted from ecog 3") == "missing KPS; KPS converted from ECOG 3"
    )
    assert input_value([], "prior_radiotherapy") == "none"
    assert input_value(10, "motor_deficit_days") == "10 days"


def test_the_board_reads_the_summary_and_decides_nothing() -> None:
    from mescc import document as core
    from mescc.api.board import board, patient_options

    patient = {"id": "b", "primary_tumor": "breast"}
    document = core.assessment_document(patient)
    view = board(document)
    assert view.kind == "none" and view.label is None and view.alternatives == ()
    assert view.headline == "No option is suggested"
    assert patient_options(document) == (None, ())
    # a summary that says otherwise is what the board shows: it reads, it does not re-decide
    document["summary"]["recommendation"].update(
        kind="radiotherapy", label="X Gy", ranking_class="poor", alternatives=[]
    )
    assert board(document).label == "X Gy"
    assert patient_options(document) == ("X Gy", ())
    # a stored document without a summary is summarised from its plan
    del document["summary"]
    assert board(document).kind == "none"


def test_the_board_names_the_deciding_criterion_and_counts_agreement() -> None:
    from mescc import document as core
    from mescc.api.board import board

    patient = {
        "id": "c",
        "primary_tumor": "renal",
        "escc_grade": "3",
        "ecog": 1,
        "kps": 80,
        "ambulatory_status": "ambulatory_with_aid",
        "neurological_signs": True,
        "medically_operable": True,
        "compression_single_area": True,
    }
    document = core.assessment_document(patient)
    summary = document["summary"]
    view = board(document)
    lines = {line.key: line for line in view.lines}
    decompression = summary["surgery"]["decompression"]
    if decompression["consider"]:
        assert lines["decompression"].attention
        for criterion in decompression["deciding"][:1]:
            assert criterion["label"] in lines["decompression"].text
    prognosis = summary["prognosis"]
    if prognosis["voting"]:
        assert f"{prognosis['agreeing']} of {prognosis['voting']}" in lines["prognosis"].text
    assert "Dexamethasone 16 mg" in lines["corticosteroids"].text
    assert all("_" not in line.text for line in view.lines), [line.text for line in view.lines]


def test_no_board_text_holds_a_code_for_any_example() -> None:
    from pathlib import Path

    import yaml

    from mescc import document as core
    from mescc.api.board import board

    examples = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
    patients = [yaml.safe_load(p.read_text()) for p in examples]
    patients += [{"id": "m", "primary_tumor": "lung_nsclc", "ecog": 3}, {"id": "n"}]
    for patient in patients:
        view = board(core.assessment_document(patient))
        texts = [view.headline, view.basis, view.course or "", *view.alternatives]
        texts += [line.text for line in view.lines] + list(view.unknowns) + list(view.warnings)
        leaked = [t for t in texts if re.search(r"\b[a-z0-9]+_[a-z0-9_]+\b", t)]
        assert not leaked, (patient["id"], leaked)
