"""Every example's header says what its plan shows; the ``# expect:`` block is checked here.

The vignettes in ``examples/`` are read by clinicians as documentation, so their stated
expectations must not drift from the real output (a stale header was one of the review's
findings). Each header ends with a machine-readable block::

    # expect:
    #   ranking_class: intermediate
    #   recommended: 5 x 4 Gy        (what leads; "none" without a recommendation)
    #   decompression: false
    #   stabilisation: false
    #   stereotactic: true           (optional)
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mescc.assessment import assess
from mescc.kb.loader import load_kb

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))


def expectations(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    inside = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() == "# expect:":
            inside = True
            continue
        if inside:
            if not line.startswith("#   "):
                break
            key, _, value = line[4:].partition(":")
            out[key.strip()] = value.strip()
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_header_matches_its_plan(path: Path) -> None:
    expected = expectations(path)
    assert {"ranking_class", "recommended", "decompression", "stabilisation"} <= set(expected), (
        f"{path.name}: add an '# expect:' block to its header"
    )
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    plan = assess(data, load_kb(None)).plan
    assert plan is not None
    d = plan.as_dict()
    lead = d["recommended_option"]["label"] if d["recommended_option"] else "none"
    actual = {
        "ranking_class": d["ranking_class"],
        "recommended": lead,
        "decompression": str(d["surgery"]["decompression"]["consider"]).lower(),
        "stabilisation": str(d["surgery"]["stabilisation"]["consider"]).lower(),
        "stereotactic": str(d["stereotactic_radiotherapy"]["discuss"]).lower(),
    }
    for key, value in expected.items():
        assert actual[key] == value, f"{path.name}: header says {key}: {value}, plan {actual[key]}"
