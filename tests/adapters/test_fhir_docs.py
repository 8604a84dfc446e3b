"""docs/fhir.md lists every row of the mapping table and the prefetch templates."""

from __future__ import annotations

from pathlib import Path

from mescc.adapters.fhir_codes import mapping
from mescc.adapters.fhir_server import prefetch_templates

DOC = Path(__file__).resolve().parents[2] / "docs" / "fhir.md"


def test_every_mapping_row_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| Observation |")]
    missing = [
        o.key
        for o in mapping().observations
        if not any(f"`{o.system}`" in r and f"`{o.code}`" in r and f"`{o.key}`" in r for r in rows)
        or (o.unit and not any(f"`{o.unit}`" in r and f"`{o.key}`" in r for r in rows))
    ]
    assert not missing, f"add {missing} to the mapping table of docs/fhir.md"
    for key in mapping().metastasis_sites.values():
        assert f"`{key}`" in text


def test_the_prefetch_templates_are_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for template in prefetch_templates().values():
        assert f'"{template}"' in text
