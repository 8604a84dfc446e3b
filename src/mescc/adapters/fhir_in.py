"""FHIR R4 in: a Bundle (or the resources of a FHIR server) -> the contract's patient keys.

Translation only: each resource is read through the one mapping table (``fhir_mapping.yaml``,
``docs/fhir.md``) and the result is validated by ``Patient.from_data``. Nothing is inferred:

* a resource the table does not map, a value of the wrong type or unit, an observation that is
  not final, a condition that is only provisional: reported (``unmapped`` / ``invalid`` /
  ``not_used``) with its resource id, and the key stays unknown;
* two current values of one key that disagree: ``conflicting``, the key stays unknown; the same
  value twice: ``duplicated`` (used once); an older value of a key that has a newer one:
  ``superseded`` (the newest effective time is the current finding);
* an observation of a current finding (performance status, neurology, imaging grades ...) older
  than the freshness window, or without an effective time: ``stale``, not used (CDS Hooks 2.0,
  security: guard against stale data);
* a resource about another patient: ``other_patient``, not used.

Every imported value keeps its provenance (resource id, element, effective time) in
:attr:`FhirImport.provenance`, which goes into the assessment document (``input_provenance``)
and from there into the text, JSON, FHIR and CDS Hooks outputs.

Dates become numbers only where the arithmetic is exact and documented: ``age_years`` is the
completed years from ``Patient.birthDate`` to the reference time; a prior course's
``months_before`` is the calendar months (two decimals) from the end of the course to the
reference time. The reference time is ``Bundle.timestamp``, or the time of the call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from mescc.adapters.fhir_codes import FhirMapping, ObservationMap, mapping
from mescc.errors import InputError, MesccError, Problem
from mescc.fields import check_value, describe_value
from mescc.patient import Patient

IssueKind = Literal[
    "unmapped",
    "invalid",
    "not_used",
    "duplicated",
    "conflicting",
    "superseded",
    "stale",
    "other_patient",
]

#: FHIR ``id``: 1-64 of A-Z a-z 0-9 - . (FHIR R4 datatypes).
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_FINAL_OBSERVATION = {"final", "amended", "corrected"}
_ACTIVE_CONDITION = {"active", "recurrence", "relapse"}
#: Clock difference tolerated between the record and this service (a technical allowance).
_CLOCK_SKEW = timedelta(minutes=5)
#: Server search pages followed at most (a guard against a paging loop, not a data limit).
MAX_SEARCH_PAGES = 50


class FhirImportError(MesccError, ValueError):
    """The FHIR input cannot be read at all (not a Bundle, no or several patients ...)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(p.message for p in self.problems)

    def __reduce__(self) -> tuple[Any, ...]:
        return (FhirImportError, (self.problems,))


def _problem(field_: str, value: Any, allowed: str, wrong: str) -> Problem:
    return Problem(field_, value, allowed, f"{field_}: {wrong}; allowed: {allowed}")


@dataclass(frozen=True, slots=True)
class Source:
    """Where one imported value came from."""

    key: str
    value: Any
    resource: str
    element: str
    effective: str | None
    coding: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "resource": self.resource,
            "element": self.element,
            "effective": self.effective,
            "coding": self.coding,
        }


@dataclass(frozen=True, slots=True)
class Issue:
    """A resource (or several) that was not used as given, and why."""

    kind: IssueKind
    resources: tuple[str, ...]
    key: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "resources": list(self.resources),
            "key": self.key,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class FhirImport:
    """The patient built from FHIR, the provenance of every value and what was not used."""

    patient: Patient
    patient_data: dict[str, Any]
    patient_reference: str | None
    reference_time: datetime
    provenance: tuple[Source, ...]
    issues: tuple[Issue, ...]
    origin: str
    max_age_days: float

    def as_dict(self) -> dict[str, Any]:
        """The document's ``input_provenance`` block."""
        return {
            "source": "fhir",
            "origin": self.origin,
            "patient": self.patient_reference,
            "reference_time": self.reference_time.isoformat(),
            "freshness_max_age_days": self.max_age_days,
            "inputs": {s.key: s.as_dict() for s in self.provenance},
            "issues": [i.as_dict() for i in self.issues],
        }


# --------------------------------------------------------------------------- FHIR primitives


def parse_fhir_datetime(text: Any) -> datetime | None:
    """A FHIR date / dateTime / instant as an aware datetime (a partial date: its first day)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        if re.fullmatch(r"\d{4}", text):
            return datetime(int(text), 1, 1, tzinfo=UTC)
        if re.fullmatch(r"\d{4}-\d{2}", text):
            return datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=UTC)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _add_months(value: datetime, months: int) -> datetime:
    year, month0 = divmod(value.month - 1 + months, 12)
    year += value.year
    month = month0 + 1
    days = (date(year + (month == 12), month % 12 + 1, 1) - date(year, month, 1)).days
    return value.replace(year=year, month=month, day=min(value.day, days))


def calendar_months(start: datetime, end: datetime) -> float:
    """Calendar months from ``start`` to ``end``: whole months plus the elapsed share of the
    next one, rounded to two decimals (12 months from 2025-03-15 to 2026-03-15 exactly)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    anchor = _add_months(start, months)
    if anchor > end:
        months -= 1
        anchor = _add_months(start, months)
    following = _add_months(start, months + 1)
    share = (end - anchor) / (following - anchor)
    return round(months + share, 2)


def completed_years(birth: date, on: date) -> int:
    """Completed years of age on ``on``."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _codings(concept: Any) -> list[Mapping[str, Any]]:
    if not isinstance(concept, Mapping):
        return []
    raw = concept.get("coding")
    return [c for c in raw if isinstance(c, Mapping)] if isinstance(raw, list) else []


def _coding_text(coding: Mapping[str, Any]) -> str:
    return f"{coding.get('system', '')}|{coding.get('code', '')}"


def _concept_text(concept: Any) -> str:
    codings = _codings(concept)
    if codings:
        return ", ".join(_coding_text(c) for c in codings)
    if isinstance(concept, Mapping) and isinstance(concept.get("text"), str):
        return f'text "{concept["text"][:80]}"'
    return "no coding"


def _status_code(concept: Any, system: str) -> str | None:
    for coding in _codings(concept):
        if coding.get("system") == system and isinstance(coding.get("code"), str):
            return str(coding["code"])
    return None


def resource_ref(resource: Mapping[str, Any], index: int | None = None) -> str:
    """``Type/id`` of a resource (``Type/#n`` when it has no valid id)."""
    kind = resource.get("resourceType", "?")
    rid = resource.get("id")
    if isinstance(rid, str) and _FHIR_ID.match(rid):
        return f"{kind}/{rid}"
    return f"{kind}/#{index}" if index is not None else f"{kind}/#?"


def _subject_id(resource: Mapping[str, Any]) -> str | None:
    ref = resource.get("subject") or resource.get("patient")
    if not isinstance(ref, Mapping) or not isinstance(ref.get("reference"), str):
        return None
    text = str(ref["reference"]).split("/_history/")[0]
    if text.startswith("urn:uuid:"):
        return text
    parts = text.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == "Patient":
        return parts[-1]
    return None


def bundle_resources(bundle: Any) -> list[dict[str, Any]]:
    """The resources of a Bundle (nested Bundles, e.g. prefetched searchsets, flattened)."""
    if not isinstance(bundle, Mapping):
        return []
    if bundle.get("resourceType") != "Bundle":
        return [dict(bundle)]
    out: list[dict[str, Any]] = []
    entries = bundle.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("resource"), Mapping):
            continue
        resource = entry["resource"]
        if resource.get("resourceType") == "Bundle":
            out.extend(bundle_resources(resource))
        else:
            item = dict(resource)
            if isinstance(entry.get("fullUrl"), str):
                item["__fullUrl"] = entry["fullUrl"]
            search = entry.get("search")
            if isinstance(search, Mapping) and search.get("mode") == "outcome":
                continue  # an OperationOutcome about the search, not patient data
            out.append(item)
    return out


# --------------------------------------------------------------------------- the importer


@dataclass(slots=True)
class _Candidate:
    key: str
    value: Any
    source: Source
    when: datetime | None
    current: bool


@dataclass(slots=True)
class _Reader:
    table: FhirMapping
    reference_time: datetime
    max_age: timedelta
    issues: list[Issue] = field(default_factory=list)
    candidates: list[_Candidate] = field(default_factory=list)
    condition_candidates: list[_Candidate] = field(default_factory=list)
    courses: list[tuple[dict[str, Any], Source, tuple[Any, ...]]] = field(default_factory=list)

    def issue(self, kind: IssueKind, refs: Sequence[str], key: str | None, message: str) -> None:
        self.issues.append(Issue(kind, tuple(refs), key, message))

    # ---- values

    def _value(
        self, item: ObservationMap, element: Mapping[str, Any], ref: str
    ) -> tuple[bool, Any, str]:
        """(ok, value, element name) of an observation's value[x] for ``item``."""
        kind = item.kind
        if kind == "int":
            raw = element.get("valueInteger")
            if isinstance(raw, int) and not isinstance(raw, bool):
                return True, raw, "valueInteger"
            for coding in _codings(element.get("valueCodeableConcept")):
                code = coding.get("code")
                if coding.get("system") == item.system and code in item.answers:
                    return True, item.answers[str(code)], f"valueCodeableConcept {code}"
            return (
                False,
                None,
                "an integer (valueInteger)"
                + (
                    " or a listed answer code (" + ", ".join(item.answers) + ")"
                    if item.answers
                    else ""
                ),
            )
        if kind == "number":
            quantity = element.get("valueQuantity")
            if isinstance(quantity, Mapping):
                number = quantity.get("value")
                system = quantity.get("system")
                if (
                    isinstance(number, int | float)
                    and not isinstance(number, bool)
                    and quantity.get("code") == item.unit
                    and system in (None, self.table.systems["ucum"])
                ):
                    return True, number, f"valueQuantity {item.unit}"
            return False, None, f"valueQuantity in UCUM {item.unit!r} (no other unit is converted)"
        if kind == "bool":
            raw = element.get("valueBoolean")
            if isinstance(raw, bool):
                return True, raw, "valueBoolean"
            return False, None, "valueBoolean"
        if kind == "enum":
            for coding in _codings(element.get("valueCodeableConcept")):
                if coding.get("system") == item.value_system:
                    return True, coding.get("code"), "valueCodeableConcept"
            return False, None, f"valueCodeableConcept of {item.value_system}"
        raw = element.get("valueString")
        if isinstance(raw, str):
            return True, raw, "valueString"
        return False, None, "valueString"

    def _given(self, element: Mapping[str, Any]) -> str:
        keys = [k for k in element if k.startswith("value")]
        return ", ".join(f"{k} {describe_value(element[k])}" for k in keys) or "no value"

    # ---- resources

    def observation(self, resource: Mapping[str, Any], ref: str) -> None:
        status = resource.get("status")
        when_text, when = _effective(resource)
        elements: list[tuple[str, Mapping[str, Any], ObservationMap]] = []
        unmapped: list[str] = []
        for label, element in [("", resource)] + [
            (f"component[{i}] ", c)
            for i, c in enumerate(resource.get("component") or [])
            if isinstance(c, Mapping)
        ]:
            matches = {
                m.key: m
                for c in _codings(element.get("code"))
                if (m := self.table.observation(str(c.get("system")), str(c.get("code"))))
            }
            if len(matches) == 1:
                elements.append((label, element, next(iter(matches.values()))))
            elif len(matches) > 1:
                self.issue(
                    "unmapped",
                    [ref],
                    None,
                    f"{ref} {label}code maps to several keys ({', '.join(sorted(matches))}); "
                    "not used",
                )
            elif label:
                unmapped.append(f"{label.strip()} {_concept_text(element.get('code'))}")
        if not elements:
            self.issue(
                "unmapped",
                [ref],
                None,
                f"{ref}: code {_concept_text(resource.get('code'))} is not in the mapping "
                "table (docs/fhir.md); not used",
            )
            return
        if unmapped:
            self.issue(
                "unmapped",
                [ref],
                None,
                f"{ref}: {'; '.join(unmapped)} not in the mapping table; not used",
            )
        if status not in _FINAL_OBSERVATION:
            keys = ", ".join(m.key for _, _, m in elements)
            self.issue(
                "not_used",
                [ref],
                keys,
                f"{ref} ({keys}): status {describe_value(status)} is not final, amended or "
                "corrected; not used",
            )
            return
        for label, element, item in elements:
            where = f"{ref}{' ' + label.strip() if label else ''}"
            if "dataAbsentReason" in element:
                self.issue(
                    "not_used",
                    [ref],
                    item.key,
                    f"{where} ({item.key}): data absent "
                    f"({_concept_text(element.get('dataAbsentReason'))}); the key stays unknown",
                )
                continue
            ok, value, how = self._value(item, element, ref)
            if not ok:
                self.issue(
                    "invalid",
                    [ref],
                    item.key,
                    f"{item.key}: {self._given(element)} in {where} is not allowed; allowed: {how}",
                )
                continue
            if not self._fresh(item.key, item.current, when, when_text, ref):
                continue
            source = Source(
                key=item.key,
                value=value,
                resource=ref,
                element=(label.strip() + " " if label else "") + how,
                effective=when_text,
                coding=f"{item.system}|{item.code}",
            )
            self.candidates.append(_Candidate(item.key, value, source, when, item.current))

    def _fresh(
        self, key: str, current: bool, when: datetime | None, when_text: str | None, ref: str
    ) -> bool:
        if when is not None and when > self.reference_time + _CLOCK_SKEW:
            self.issue(
                "invalid",
                [ref],
                key,
                f"{ref} ({key}): effective time {when_text} is after the reference time "
                f"{self.reference_time.isoformat()}; not used",
            )
            return False
        if not current:
            return True
        if when is None:
            self.issue(
                "stale",
                [ref],
                key,
                f"{ref} ({key}): no effective time, so its freshness cannot be checked; not used",
            )
            return False
        if self.reference_time - when > self.max_age:
            days = (self.reference_time - when).total_seconds() / 86400
            self.issue(
                "stale",
                [ref],
                key,
                f"{ref} ({key}): effective {when_text}, {days:.0f} days before the reference "
                f"time, older than the {self.max_age.days}-day freshness window; not used",
            )
            return False
        return True

    def condition(self, resource: Mapping[str, Any], ref: str) -> None:
        table = self.table
        codings = _codings(resource.get("code"))
        verification = _status_code(resource.get("verificationStatus"), _VER_STATUS)
        clinical = _status_code(resource.get("clinicalStatus"), _CLINICAL_STATUS)
        when_text = _first_text(resource, ("onsetDateTime", "recordedDate"))
        if verification == "entered-in-error":
            self.issue("not_used", [ref], None, f"{ref}: entered in error; not used")
            return
        primaries = [c for c in codings if c.get("system") == table.primary_tumor_system]
        is_metastasis = any(
            c.get("system") == table.metastasis_system and c.get("code") == table.metastasis_code
            for c in codings
        )
        if primaries:
            if len(primaries) > 1:
                self.issue(
                    "conflicting",
                    [ref],
                    "primary_tumor",
                    f"{ref}: {len(primaries)} primary-tumour codings; not used",
                )
                return
            if verification not in (None, "confirmed"):
                self.issue(
                    "not_used",
                    [ref],
                    "primary_tumor",
                    f"{ref} (primary_tumor): verificationStatus {verification} is not "
                    "confirmed; not used",
                )
                return
            value = primaries[0].get("code")
            source = Source(
                "primary_tumor", value, ref, "code", when_text, _coding_text(primaries[0])
            )
            self.condition_candidates.append(
                _Candidate("primary_tumor", value, source, None, False)
            )
            return
        if not is_metastasis:
            self.issue(
                "unmapped",
                [ref],
                None,
                f"{ref}: code {_concept_text(resource.get('code'))} is not a primary-tumour "
                f"coding of {table.primary_tumor_system} nor SNOMED CT {table.metastasis_code} "
                "(docs/fhir.md); not used",
            )
            return
        sites = [
            (c, table.metastasis_sites.get(str(c.get("code"))))
            for site in resource.get("bodySite") or []
            for c in _codings(site)
            if c.get("system") == table.metastasis_site_system
        ]
        keys = [(c, k) for c, k in sites if k is not None]
        if len(keys) != 1:
            self.issue(
                "unmapped",
                [ref],
                None,
                f"{ref}: metastatic disease without exactly one bodySite of "
                f"{table.metastasis_site_system} ({', '.join(table.metastasis_sites)}); "
                "not used",
            )
            return
        coding, key = keys[0]
        assert key is not None
        if verification == "refuted":
            value = False
        elif verification in (None, "confirmed"):
            if clinical is not None and clinical not in _ACTIVE_CONDITION:
                self.issue(
                    "not_used",
                    [ref],
                    key,
                    f"{ref} ({key}): clinicalStatus {clinical} is not active; not used",
                )
                return
            value = True
        else:
            self.issue(
                "not_used",
                [ref],
                key,
                f"{ref} ({key}): verificationStatus {verification} is neither confirmed nor "
                "refuted; not used",
            )
            return
        element = f"bodySite {coding.get('code')}, verificationStatus {verification or 'absent'}"
        source = Source(key, value, ref, element, when_text, f"{table.metastasis_system}|"
                        f"{table.metastasis_code}")  # fmt: skip
        self.condition_candidates.append(_Candidate(key, value, source, None, False))

    def procedure(self, resource: Mapping[str, Any], ref: str) -> None:
        table = self.table
        if not any(
            c.get("system") == table.course_system and c.get("code") == table.course_code
            for c in _codings(resource.get("code"))
        ):
            self.issue(
                "unmapped",
                [ref],
                None,
                f"{ref}: code {_concept_text(resource.get('code'))} is not SNOMED CT "
                f"{table.course_code} (radiotherapy course); not used",
            )
            return
        key = "prior_radiotherapy"
        status = resource.get("status")
        if status != "completed":
            self.issue(
                "not_used",
                [ref],
                key,
                f"{ref} ({key}): status {describe_value(status)} is not completed; not counted "
                "as a prior course",
            )
            return
        in_region = any(
            c.get("system") == table.region_system and c.get("code") == table.region_code
            for site in resource.get("bodySite") or []
            for c in _codings(site)
        )
        if not in_region:
            self.issue(
                "not_used",
                [ref],
                key,
                f"{ref} ({key}): bodySite does not say {table.region_system}|"
                f"{table.region_code} (the region of this MESCC); not counted as a course to "
                "that region",
            )
            return
        extensions = {
            e.get("url"): e for e in resource.get("extension") or [] if isinstance(e, Mapping)
        }
        fractions_ext = extensions.get(table.fractions_url) or {}
        fractions = next(
            (
                fractions_ext[k]
                for k in ("valuePositiveInt", "valueUnsignedInt", "valueInteger")
                if k in fractions_ext
            ),
            None,
        )
        dose_q = (extensions.get(table.dose_url) or {}).get("valueQuantity")
        dose = dose_q.get("value") if isinstance(dose_q, Mapping) else None
        problems = []
        if not isinstance(fractions, int) or isinstance(fractions, bool):
            problems.append(f"extension {table.fractions_url} (an integer) is missing")
        if (
            not isinstance(dose_q, Mapping)
            or dose_q.get("code") != table.dose_unit
            or not isinstance(dose, int | float)
            or isinstance(dose, bool)
        ):
            problems.append(
                f"extension {table.dose_url} (valueQuantity in {table.dose_unit}) is missing "
                "or not in Gy"
            )
        if problems:
            self.issue(
                "invalid",
                [ref],
                key,
                f"{ref} ({key}): {'; '.join(problems)}; a course without its fractions and dose "
                "cannot be checked, so prior_radiotherapy stays unknown",
            )
            self.courses.append(({}, Source(key, None, ref, "invalid", None), ("invalid", ref)))
            return
        period = resource.get("performedPeriod")
        end_text = (
            period.get("end") or period.get("start") if isinstance(period, Mapping) else None
        ) or resource.get("performedDateTime")
        end = parse_fhir_datetime(end_text)
        course: dict[str, Any] = {"fractions": fractions, "dose_per_fraction_gy": dose}
        months_ext = (extensions.get(table.months_before_url) or {}).get("valueDecimal")
        if isinstance(months_ext, int | float) and not isinstance(months_ext, bool):
            if end is not None and calendar_months(end, self.reference_time) != months_ext:
                self.issue(
                    "invalid",
                    [ref],
                    key,
                    f"{ref} ({key}): months-before {months_ext} disagrees with performed "
                    f"{end_text}; a course with an uncertain date cannot be checked, so "
                    "prior_radiotherapy stays unknown",
                )
                self.courses.append(({}, Source(key, None, ref, "invalid", None), ("invalid", ref)))
                return
            course["months_before"] = months_ext
        elif end is not None:
            if end > self.reference_time + _CLOCK_SKEW:
                self.issue(
                    "invalid",
                    [ref],
                    key,
                    f"{ref} ({key}): performed {end_text}, after the reference time; not used",
                )
                return
            course["months_before"] = calendar_months(end, self.reference_time)
        technique = extensions.get(f"{table.systems['extension']}:technique")
        if isinstance(technique, Mapping):
            for coding in _codings(technique.get("valueCodeableConcept")):
                if coding.get("system") == table.technique_system:
                    course["technique"] = coding.get("code")
        source = Source(
            key,
            course,
            ref,
            "extension fractions, dose-per-fraction" + (", performed" if end else ""),
            str(end_text) if end_text else None,
            f"{table.course_system}|{table.course_code}",
        )
        identity = (fractions, dose, end_text, course.get("technique"))
        self.courses.append((course, source, identity))


def _first_text(resource: Mapping[str, Any], names: Iterable[str]) -> str | None:
    for name in names:
        if isinstance(resource.get(name), str):
            return str(resource[name])
    return None


def _effective(resource: Mapping[str, Any]) -> tuple[str | None, datetime | None]:
    text = _first_text(resource, ("effectiveDateTime", "effectiveInstant"))
    period = resource.get("effectivePeriod")
    if text is None and isinstance(period, Mapping):
        text = period.get("end") or period.get("start")
    return (str(text) if text else None), parse_fhir_datetime(text)


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    if "." in key:
        head, tail = key.split(".", 1)
        data.setdefault(head, {})[tail] = value
    else:
        data[key] = value


def _resolve(reader: _Reader) -> tuple[dict[str, Any], list[Source]]:
    """Pick one value per key (newest effective time wins; disagreement is a conflict)."""
    data: dict[str, Any] = {}
    used: list[Source] = []
    by_key: dict[str, list[_Candidate]] = {}
    for cand in reader.candidates + reader.condition_candidates:
        by_key.setdefault(cand.key, []).append(cand)
    for key, cands in by_key.items():
        ordered = sorted(cands, key=lambda c: c.when or datetime.min.replace(tzinfo=UTC))
        latest_time = ordered[-1].when
        latest = [c for c in ordered if c.when == latest_time]
        older = [c for c in ordered if c.when != latest_time]
        values = {repr(c.value) for c in latest}
        refs = [c.source.resource for c in latest]
        if older:
            reader.issue(
                "superseded",
                [c.source.resource for c in older],
                key,
                f"{key}: {', '.join(c.source.resource for c in older)} older than "
                f"{', '.join(refs)} (effective {latest[0].source.effective}); only the newest "
                "effective time is read",
            )
        if len(values) > 1:
            shown = ", ".join(f"{c.source.resource} {describe_value(c.value)}" for c in latest)
            reader.issue(
                "conflicting",
                refs,
                key,
                f"{key}: {shown} disagree"
                + (f" (all effective {latest[0].source.effective})" if latest_time else "")
                + "; not used, the key stays unknown",
            )
            continue
        if len(latest) > 1:
            reader.issue(
                "duplicated",
                refs,
                key,
                f"{key}: {', '.join(refs)} give the same value {describe_value(latest[0].value)}; "
                f"used once (provenance: {refs[0]})",
            )
        chosen = latest[0]
        _set(data, key, chosen.value)
        used.append(chosen.source)
    return data, used


def _courses(reader: _Reader, data: dict[str, Any], used: list[Source]) -> None:
    key = "prior_radiotherapy"
    stated = data.pop(key, None)
    stated_source = next((s for s in used if s.key == key), None)
    if stated_source is not None:
        used.remove(stated_source)
    if any(identity[0] == "invalid" for _, _, identity in reader.courses):
        return  # an unreadable course: the history is unknown (reported with the course)
    seen: dict[tuple[Any, ...], Source] = {}
    courses: list[tuple[dict[str, Any], Source]] = []
    for course, source, identity in reader.courses:
        if identity in seen:
            reader.issue(
                "duplicated",
                [seen[identity].resource, source.resource],
                key,
                f"{key}: {seen[identity].resource} and {source.resource} record the same course "
                "(fractions, dose, date and technique); counted once",
            )
            continue
        seen[identity] = source
        courses.append((course, source))
    if courses and stated is False:
        refs = [stated_source.resource if stated_source else "?"] + [s.resource for _, s in courses]
        reader.issue(
            "conflicting",
            refs,
            key,
            f"{key}: {refs[0]} says no earlier radiotherapy to this region, but "
            f"{', '.join(refs[1:])} record courses to it; not used, the key stays unknown",
        )
        return
    if courses:
        data[key] = [c for c, _ in courses]
        used.extend(
            Source(f"{key}[{i}]", c, s.resource, s.element, s.effective, s.coding)
            for i, (c, s) in enumerate(courses)
        )
        return
    if stated is False and stated_source is not None:
        data[key] = []
        used.append(stated_source)
    elif stated is True and stated_source is not None:
        reader.issue(
            "not_used",
            [stated_source.resource],
            key,
            f"{key}: {stated_source.resource} says there was earlier radiotherapy to this region "
            "but no completed course Procedure with its fractions and dose was found; the key "
            "stays unknown",
        )


def _patient_values(
    reader: _Reader, patient: Mapping[str, Any] | None, ref: str | None
) -> tuple[dict[str, Any], list[Source]]:
    data: dict[str, Any] = {}
    used: list[Source] = []
    if patient is None or ref is None:
        return data, used
    rid = patient.get("id")
    if isinstance(rid, str):
        data["id"] = rid
        used.append(Source("id", rid, ref, "id", None))
    gender = patient.get("gender")
    if gender in ("female", "male", "other"):
        data["sex"] = gender
        used.append(Source("sex", gender, ref, "gender", None))
    elif gender is not None:
        reader.issue(
            "unmapped",
            [ref],
            "sex",
            f"{ref}: gender {describe_value(gender)} is not female, male or other; sex stays "
            "unknown",
        )
    birth = patient.get("birthDate")
    if isinstance(birth, str):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", birth):
            age = completed_years(date.fromisoformat(birth), reader.reference_time.date())
            data["age_years"] = age
            used.append(Source("age_years", age, ref, f"birthDate {birth}", None))
        else:
            reader.issue(
                "invalid",
                [ref],
                "age_years",
                f"{ref}: birthDate {birth!r} is not a full date, so the completed years are not "
                "exact; age_years stays unknown",
            )
    return data, used


def import_resources(
    resources: Iterable[Mapping[str, Any]],
    *,
    patient_id: str | None = None,
    reference_time: datetime | None = None,
    max_age_days: float | None = None,
    origin: str = "bundle",
) -> FhirImport:
    """Build the patient from FHIR resources (see the module docstring for the rules).

    Raises
    ------
    FhirImportError
        When no patient can be identified (no Patient resource and no ``patient_id``, several
        Patient resources, or ``patient_id`` not among them).
    """
    table = mapping()
    now = reference_time or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    max_age = max_age_days if max_age_days is not None else table.current_max_age_days
    reader = _Reader(table, now, timedelta(days=max_age))
    items = [r for r in resources if isinstance(r, Mapping)]
    patients = [r for r in items if r.get("resourceType") == "Patient"]
    if patient_id is not None:
        chosen = [p for p in patients if p.get("id") == patient_id]
    else:
        chosen = patients
    if patient_id is None and len(chosen) != 1:
        ids = ", ".join(resource_ref(p) for p in patients) or "none"
        raise FhirImportError(
            [
                _problem(
                    "patient",
                    ids,
                    "exactly one Patient resource, or --patient ID",
                    f"{len(chosen)} Patient resources ({ids})",
                )
            ]
        )
    patient = chosen[0] if chosen else None
    pid = patient_id if patient_id is not None else str(patient.get("id")) if patient else None
    if pid is None or not _FHIR_ID.match(pid):
        raise FhirImportError(
            [
                _problem(
                    "patient",
                    pid,
                    "a FHIR id (1-64 of A-Z a-z 0-9 - .)",
                    f"{describe_value(pid)} is not a FHIR id",
                )
            ]
        )
    patient_ref = f"Patient/{pid}"
    patient_urls = {patient.get("__fullUrl")} if patient else set()
    for index, resource in enumerate(items):
        kind = resource.get("resourceType")
        ref = resource_ref(resource, index)
        if kind == "Patient":
            if resource is not patient:
                reader.issue("other_patient", [ref], None, f"{ref}: another patient; not used")
            continue
        if "/#" in ref:
            reader.issue(
                "unmapped",
                [ref],
                None,
                f"{ref}: a {kind} without a valid id (its provenance cannot be kept); not used",
            )
            continue
        subject = _subject_id(resource)
        if subject is None or (subject != pid and subject not in patient_urls):
            reader.issue(
                "other_patient",
                [ref],
                None,
                f"{ref}: subject {describe_value(subject)} is not {patient_ref}; not used",
            )
            continue
        if kind == "Observation":
            reader.observation(resource, ref)
        elif kind == "Condition":
            reader.condition(resource, ref)
        elif kind == "Procedure":
            reader.procedure(resource, ref)
        elif kind != "OperationOutcome":
            reader.issue("unmapped", [ref], None, f"{ref}: {kind} is not read; not used")
    data, used = _patient_values(reader, patient, patient_ref if patient else None)
    found, found_used = _resolve(reader)
    _courses(reader, found, found_used)
    data.update({k: v for k, v in found.items() if k not in ("sins", "preferences")})
    for nested in ("sins", "preferences"):
        if nested in found:
            data[nested] = found[nested]
    used.extend(found_used)
    return _validated(reader, data, used, patient_ref, origin)


def _top(key: str) -> str:
    return key.split(".")[0].split("[")[0]


def _validated(
    reader: _Reader, data: dict[str, Any], used: list[Source], ref: str, origin: str
) -> FhirImport:
    """Validate value by value (a bad value is reported with its resource and dropped), then
    the whole patient (a cross-field contradiction drops the fields it names)."""
    sources = {s.key: s for s in used}

    def drop(key: str, message: str) -> None:
        top = _top(key)
        nested = "." in key and top in ("sins", "preferences")
        sub = key.split(".", 1)[1] if nested else None
        gone = [k for k in sources if (k == key if nested else _top(k) == top)]
        refs = sorted({sources[k].resource for k in gone}) or ["?"]
        reader.issue("invalid", refs, key, f"{message} (from {', '.join(refs)}); not used")
        for k in gone:
            sources.pop(k)
        if nested and sub is not None:
            part = data.get(top)
            if isinstance(part, dict):
                part.pop(sub, None)
                if not part:
                    data.pop(top, None)
        else:
            data.pop(top, None)

    for item in mapping().observations:
        head, _, tail = item.key.partition(".")
        value = data.get(head, {}).get(tail) if tail else data.get(head)
        if value is None or item.key == "prior_radiotherapy" or item.spec is None:
            continue
        _ok, problem = check_value(item.key, value, item.spec)
        if problem is not None:
            drop(item.key, problem.message)
    for _ in range(len(data) + 2):
        try:
            patient = Patient.from_data(data)
        except InputError as exc:
            for p in exc.problems:
                drop(p.field, p.message)
            continue
        return FhirImport(
            patient=patient,
            patient_data=data,
            patient_reference=ref,
            reference_time=reader.reference_time,
            provenance=tuple(sources.values()),
            issues=tuple(reader.issues),
            origin=origin,
            max_age_days=reader.max_age.total_seconds() / 86400,
        )
    raise AssertionError("unreachable: every problem drops a key")  # pragma: no cover


def import_bundle(
    bundle: Any,
    *,
    patient_id: str | None = None,
    reference_time: datetime | None = None,
    max_age_days: float | None = None,
    origin: str = "bundle",
) -> FhirImport:
    """Build the patient from an R4 Bundle (reference time: ``Bundle.timestamp``, else now).

    Raises
    ------
    FhirImportError
        When ``bundle`` is not a Bundle or no single patient can be identified.
    """
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        given = bundle.get("resourceType") if isinstance(bundle, Mapping) else bundle
        raise FhirImportError(
            [
                _problem(
                    "resourceType",
                    given,
                    "an R4 Bundle (resourceType Bundle)",
                    f"{describe_value(given)} is not a Bundle",
                )
            ]
        )
    when = reference_time or parse_fhir_datetime(bundle.get("timestamp"))
    return import_resources(
        bundle_resources(bundle),
        patient_id=patient_id,
        reference_time=when,
        max_age_days=max_age_days,
        origin=origin,
    )


def fhir_assessment_document(
    imported: FhirImport, *, kb: Any = None, allow_unverified: bool = False
) -> dict[str, Any]:
    """The contract's assessment document of an imported patient, with ``input_provenance``
    (where every value came from, and every resource not used as given)."""
    from mescc.document import assessment_document

    document = assessment_document(imported.patient, kb=kb, allow_unverified=allow_unverified)
    document["input_provenance"] = imported.as_dict()
    return document
