"""The FHIR <-> patient-key mapping table (``fhir_mapping.yaml``), loaded and checked once.

Every key the table names must be a patient key of ``mescc.fields`` (so a renamed key cannot
leave a dead mapping), every number carries a UCUM unit, and every standard code is one that
``shared/reference/interoperability.md`` marks VERIFIED (the table says which). The import
(``fhir_in``), the export (``fhir_out``) and ``docs/fhir.md`` all read this one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from mescc.fields import FIELD_BY_KEY, PREFERENCE_FIELDS, FieldSpec

_PREFERENCES = {f.key: f for f in PREFERENCE_FIELDS}


@dataclass(frozen=True, slots=True)
class ObservationMap:
    """One Observation code and the patient key (``a.b`` for a nested key) it carries."""

    key: str
    system: str
    code: str
    display: str
    kind: str
    unit: str | None
    current: bool
    answers: dict[str, int]
    status: str
    spec: FieldSpec | None
    #: The code system of a coded answer (enum keys): the value system + ``:`` + the key.
    value_system: str


@dataclass(frozen=True, slots=True)
class FhirMapping:
    systems: dict[str, str]
    current_max_age_days: float
    observations: tuple[ObservationMap, ...]
    primary_tumor_system: str
    metastasis_system: str
    metastasis_code: str
    metastasis_display: str
    metastasis_site_system: str
    metastasis_sites: dict[str, str]
    course_system: str
    course_code: str
    course_display: str
    region_system: str
    region_code: str
    fractions_url: str
    dose_url: str
    months_before_url: str
    dose_unit: str
    technique_system: str
    index: dict[tuple[str, str], ObservationMap]

    def observation(self, system: str, code: str) -> ObservationMap | None:
        """The mapping of an Observation coding, or None when the table has none."""
        return self.index.get((system, code))

    def by_key(self, key: str) -> ObservationMap:
        return next(o for o in self.observations if o.key == key)


def _spec(key: str) -> FieldSpec | None:
    if key.startswith("preferences."):
        return _PREFERENCES[key.removeprefix("preferences.")]
    if key.startswith("sins."):
        return FIELD_BY_KEY["sins_" + key.removeprefix("sins.")]
    return FIELD_BY_KEY.get(key)


def _load(data: dict[str, Any]) -> FhirMapping:
    systems: dict[str, str] = dict(data["systems"])
    observations = []
    for raw in data["observations"]:
        key = raw["key"]
        spec = _spec(key)
        kind = raw.get("value_kind") or (spec.kind if spec else None)
        if kind is None:
            raise ValueError(f"fhir_mapping.yaml: {key} is not a patient key")
        unit = raw.get("unit")
        if kind == "number" and not unit:
            raise ValueError(f"fhir_mapping.yaml: {key} is a number and needs a UCUM unit")
        if spec is not None and spec.unit and unit is None and kind == "number":
            raise ValueError(f"fhir_mapping.yaml: {key} needs its unit")
        observations.append(
            ObservationMap(
                key=key,
                system=systems[raw.get("system", "finding")],
                code=str(raw.get("code", key)),
                display=str(raw.get("display", spec.description if spec else key)),
                kind=kind,
                unit=unit,
                current=bool(raw["current"]),
                answers={str(k): int(v) for k, v in (raw.get("answers") or {}).items()},
                status=str(raw.get("status", "project-local code")),
                spec=spec,
                value_system=f"{systems['value']}:{key}",
            )
        )
    meta = data["metastasis"]
    for key in meta["sites"].values():
        if FIELD_BY_KEY[key].kind != "bool":
            raise ValueError(f"fhir_mapping.yaml: metastasis site key {key} is not a boolean")
    course = data["radiotherapy_course"]
    ext = systems["extension"]
    return FhirMapping(
        systems=systems,
        current_max_age_days=float(data["freshness"]["current_max_age_days"]),
        observations=tuple(observations),
        primary_tumor_system=systems[data["primary_tumor"]["system"]],
        metastasis_system=systems[meta["code"]["system"]],
        metastasis_code=str(meta["code"]["code"]),
        metastasis_display=str(meta["code"]["display"]),
        metastasis_site_system=systems[meta["site_system"]],
        metastasis_sites=dict(meta["sites"]),
        course_system=systems[course["code"]["system"]],
        course_code=str(course["code"]["code"]),
        course_display=str(course["code"]["display"]),
        region_system=systems[course["region_system"]],
        region_code=str(course["region_code"]),
        fractions_url=f"{ext}:{course['fractions_extension']}",
        dose_url=f"{ext}:{course['dose_per_fraction_extension']}",
        months_before_url=f"{ext}:{course['months_before_extension']}",
        dose_unit=str(course["dose_unit"]),
        technique_system=systems[course["technique_system"]],
        index={(o.system, o.code): o for o in observations},
    )


@cache
def mapping() -> FhirMapping:
    """The packaged mapping table (loaded once)."""
    text = resources.files("mescc.adapters").joinpath("fhir_mapping.yaml").read_text("utf-8")
    return _load(yaml.safe_load(text))
