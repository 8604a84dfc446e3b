"""Write the README's CDS Hooks card example from real output.

The card is what ``POST /cds-services/mescc-rt-advisor`` returns for the synthetic bundle
``examples/fhir/intermediate_breast.json`` (the ``make demo`` patient), built by the same
function the service uses (``mescc.adapters.cds_hooks.card``), with fixed uuids and an example
host so that it is reproducible. ``tests/test_readme_card.py`` checks the README holds exactly
this; after a change to the plan or the card, run:

    .venv/bin/python scripts/readme_card.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mescc.adapters.cds_hooks import card
from mescc.adapters.fhir_in import fhir_assessment_document, import_bundle

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
BEGIN = "<!-- cds-card:begin (scripts/readme_card.py writes this part) -->"
END = "<!-- cds-card:end -->"
HOST = "https://mescc.hospital.example"


def section() -> str:
    bundle = json.loads((REPO / "examples/fhir/intermediate_breast.json").read_text("utf-8"))
    document = fhir_assessment_document(import_bundle(bundle))
    built = card(
        document,
        card_uuid="3f5c1a9e-8d2b-4c7e-9a61-2b7d0e4f6a10",
        assessment_url=f"{HOST}/assessments/1",
        source_url=f"{HOST}/instruments",
        patient_id=bundle["entry"][0]["resource"]["id"],
        suggestion_uuid="9b2e4d6f-1a3c-4e5b-8d7f-0c2a4e6b8d10",
        authored_on=bundle["timestamp"],
    )
    detail = built["detail"]
    built["detail"] = "(the Markdown below)"
    return "\n".join(
        [
            BEGIN,
            "```json",
            json.dumps({"cards": [built]}, indent=2, ensure_ascii=False),
            "```",
            "",
            "The card's `detail` (GitHub-flavoured Markdown), as a CDS client renders it:",
            "",
            *(f"> {line}".rstrip() for line in detail.rstrip("\n").split("\n")),
            END,
        ]
    )


def current() -> str | None:
    text = README.read_text(encoding="utf-8")
    match = re.search(re.escape(BEGIN) + r".*?" + re.escape(END), text, re.S)
    return match.group(0) if match else None


def main() -> None:
    text = README.read_text(encoding="utf-8")
    old = current()
    if old is None:
        raise SystemExit(f"README.md has no {BEGIN} ... {END} section")
    README.write_text(text.replace(old, section()), encoding="utf-8")
    print("README.md: CDS Hooks card updated")


if __name__ == "__main__":
    main()
