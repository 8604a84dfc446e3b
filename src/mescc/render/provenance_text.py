"""Where the inputs came from: the FHIR provenance of every value and what was not used."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import RenderableType
from rich.text import Text


def provenance_lines(doc: Mapping[str, Any]) -> list[RenderableType]:
    """Lines for ``doc["input_provenance"]`` (nothing when the inputs were entered by hand)."""
    provenance = doc.get("input_provenance")
    if not isinstance(provenance, Mapping):
        return []
    out: list[RenderableType] = [
        Text(
            f"Inputs read from FHIR ({provenance.get('origin')}, {provenance.get('patient')}; "
            f"reference time {provenance.get('reference_time')}; current findings older than "
            f"{provenance.get('freshness_max_age_days')} days are not used)",
            style="bold",
        )
    ]
    for key, source in (provenance.get("inputs") or {}).items():
        if isinstance(source, Mapping):
            when = source.get("effective")
            out.append(
                Text(
                    f"  {key} = {source.get('value')}: {source.get('resource')} "
                    f"({source.get('element')}{', effective ' + str(when) if when else ''})",
                    style="dim",
                )
            )
    issues = [i for i in provenance.get("issues") or [] if isinstance(i, Mapping)]
    if issues:
        out.append(Text("Not used as given from FHIR:", style="bold yellow"))
        out += [Text(f"  {i.get('kind')}: {i.get('message')}", style="yellow") for i in issues]
    return out
