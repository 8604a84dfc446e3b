"""The patient input keys of the public contract, as data.

One table (``FIELDS``) says, for every key a patient record may carry, its type, its allowed
values and what it means. The pydantic ``Patient`` model, the batch reader's vectorised checks,
the instrument loader's coverage proof and ``mescc instruments`` all read this table, so an
allowed range is written down once.

Clinical traps guarded here:

* a missing key means "unknown", never a default: nothing here has a default value;
* KPS comes in steps of 10 and ECOG in whole grades: 75 or 1.5 are refused, never rounded;
* ``True`` is an ``int`` in Python; booleans are refused where a number is expected;
* every number has a lower and an upper bound, so an impossible value (9.2e18 involved
  vertebrae, 0 Gy per fraction) is refused, never scored; where a bound is a project decision
  rather than published, ``basis`` says so (``docs/patient.md`` prints it);
* a boolean is spelt exactly ``true`` or ``false`` in every input format (:data:`BOOLEAN_TEXT`):
  ``yes``, ``True``, ``1`` or ``on`` are refused, never read as true;
* free text is bounded in length and refused when it holds characters that do not show as
  themselves (control, bidi, invisible formatting: ``mescc.text_safety``);
* a number that has no faithful machine value (an integer of 20 digits or more, ``1e400``,
  ``NaN``) reaches the checks as an :class:`OversizedNumber` and is refused naming its field;
* an error never echoes a value at length (:data:`MAX_VALUE_ECHO`).
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mescc.errors import Problem
from mescc.suggest import KEY_CUTOFF, bool_hint, closest, hint
from mescc.text_safety import code_point, hidden_characters, neutralise

Kind = Literal["int", "number", "bool", "enum", "text"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One input key: its type, allowed values, unit and meaning."""

    key: str
    kind: Kind
    description: str
    minimum: float | None = None
    maximum: float | None = None
    step: int | None = None
    values: tuple[str, ...] | None = None
    unit: str | None = None
    source: str = "contract"
    #: Longest text allowed (``text`` keys).
    max_length: int | None = None
    #: A ``text`` key that may hold TAB and LF (a note); never other hidden characters.
    multiline: bool = False
    #: Where the bounds come from when they are not the contract's (e.g. a project decision).
    basis: str | None = None

    @property
    def allowed(self) -> str:
        """What is allowed, in the words of an error message."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "enum":
            assert self.values is not None
            return "one of " + ", ".join(self.values)
        if self.kind == "text":
            if self.max_length is None:
                return "text"
            return (
                f"text of at most {self.max_length} characters, without control, bidi or "
                "invisible formatting characters"
            )
        noun = "integer" if self.kind == "int" else "number"
        if self.minimum is not None and self.maximum is not None:
            rng = f"{_num(self.minimum)}-{_num(self.maximum)}"
            if self.step:
                return f"{rng} in steps of {self.step}"
            return f"{noun} {rng}"
        if self.minimum is not None:
            return f"{noun} >= {_num(self.minimum)}"
        return noun

    def domain(self) -> tuple[Any, ...] | None:
        """Every allowed value when the set is finite and small, else None."""
        if self.kind == "bool":
            return (False, True)
        if self.kind == "enum":
            return self.values
        if (
            self.kind == "int"
            and self.minimum is not None
            and self.maximum is not None
            and (self.maximum - self.minimum) / (self.step or 1) <= 200
        ):
            return tuple(range(int(self.minimum), int(self.maximum) + 1, self.step or 1))
        return None


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


_TUMORS = (
    "breast",
    "prostate",
    "lung_nsclc",
    "lung_sclc",
    "myeloma",
    "lymphoma",
    "renal",
    "colon",
    "rectum",
    "bladder",
    "esophagus",
    "stomach",
    "pancreas",
    "liver",
    "gallbladder",
    "thyroid",
    "uterus",
    "carcinoid",
    "melanoma",
    "osteosarcoma",
    "sarcoma_other",
    "head_neck",
    "unknown_primary",
    "other",
)

_F = FieldSpec

# Bounds that are project decisions (no published maximum exists); each is far outside any
# value an instrument or the plan distinguishes, so it only refuses what cannot be true.
_MONTHS_MAX = 1440  # 120 years: the contract's maximum age, in months
_YEARS_10_DAYS = 3650
_YEARS_10_HOURS = 87600
_VERTEBRAE = (
    "project decision from anatomy: a spine has 33 vertebrae counting the 5 sacral and 4 "
    "coccygeal segments one by one (7 cervical, 12 thoracic, 5 lumbar); the rare spine with "
    "more segments is not provided for"
)
_TIME_BOUND = "project decision: a sanity bound of 120 years (the contract's maximum age)"

#: Scalar patient keys, in the contract's order, then the keys instruments and the plan add.
FIELDS: tuple[FieldSpec, ...] = (
    _F(
        "id",
        "text",
        "Pseudonymous identifier (free text)",
        max_length=100,
        basis="project decision: length bound",
    ),
    _F("age_years", "int", "Age", 18, 120, unit="years"),
    _F("sex", "enum", "Sex", values=("female", "male", "other")),
    _F("primary_tumor", "enum", "Primary tumour", values=_TUMORS),
    _F(
        "months_from_cancer_diagnosis",
        "number",
        "Interval from first diagnosis of the cancer to MESCC",
        0,
        _MONTHS_MAX,
        unit="months",
        basis=_TIME_BOUND,
    ),
    _F("other_bone_metastases", "bool", "Bone metastases besides the MESCC site"),
    _F("visceral_metastases", "bool", "Visceral metastases"),
    _F(
        "ambulatory_status",
        "enum",
        "Ambulatory status before treatment",
        values=("ambulatory_without_aid", "ambulatory_with_aid", "not_ambulatory", "paraplegic"),
    ),
    _F(
        "motor_deficit_days",
        "number",
        "Time over which motor deficits developed before radiotherapy",
        0,
        _YEARS_10_DAYS,
        unit="days",
        basis="project decision: a sanity bound of 10 years (the instruments cut at 7 and 14 days)",
    ),
    _F("ecog", "int", "ECOG performance status", 0, 4),
    _F("kps", "int", "Karnofsky performance status", 0, 100, step=10, unit="%"),
    _F("involved_vertebrae", "int", "Number of involved vertebrae", 1, 33, basis=_VERTEBRAE),
    _F("sensory_deficits", "bool", "Sensory deficits"),
    _F("sphincter_dysfunction", "bool", "Sphincter dysfunction"),
    _F(
        "escc_grade",
        "enum",
        "Bilsky epidural spinal cord compression grade",
        values=("0", "1a", "1b", "1c", "2", "3"),
    ),
    _F(
        "sins_location",
        "enum",
        "SINS location",
        values=("junctional", "mobile", "semirigid", "rigid"),
    ),
    _F(
        "sins_pain",
        "enum",
        "SINS pain",
        values=("mechanical", "occasional_non_mechanical", "pain_free"),
    ),
    _F("sins_bone_lesion", "enum", "SINS bone lesion", values=("lytic", "mixed", "blastic")),
    _F(
        "sins_alignment",
        "enum",
        "SINS radiographic spinal alignment",
        values=("subluxation_translation", "de_novo_deformity", "normal"),
    ),
    _F(
        "sins_collapse",
        "enum",
        "SINS vertebral body collapse",
        values=("over_50", "under_50", "none_over_50_involved", "none"),
    ),
    _F(
        "sins_posterolateral",
        "enum",
        "SINS posterolateral involvement",
        values=("bilateral", "unilateral", "none"),
    ),
    _F("frankel_grade", "enum", "Frankel grade", values=("A", "B", "C", "D", "E")),
    _F(
        "extraspinal_bone_metastases",
        "int",
        "Number of bone metastasis foci outside the spine",
        0,
        1000,
        basis="project decision: a sanity bound (the instruments cut at 1 and 3 foci)",
    ),
    _F(
        "vertebral_body_metastases",
        "int",
        "Number of vertebral bodies with metastases",
        1,
        33,
        basis=_VERTEBRAE,
    ),
    _F(
        "visceral_metastases_resectable",
        "bool",
        "Visceral metastases resectable (meaningful only with visceral_metastases: true)",
    ),
    _F(
        "extraskeletal_metastases",
        "bool",
        "Any metastasis outside the skeleton (visceral, nodal, brain ...)",
    ),
    _F("hepatic_metastases", "bool", "Hepatic metastases"),
    _F(
        "prior_palliative_chemotherapy_courses",
        "int",
        "Number of prior palliative chemotherapy courses",
        0,
        30,
        basis="project decision: a sanity bound (TEACHH cuts at more than 1 course)",
    ),
    _F("hospitalized_last_3_months", "bool", "Hospitalised within the last 3 months"),
    # Keys added beyond the contract (documented in `mescc instruments` and docs/patient.md).
    _F(
        "visceral_metastases_treatable",
        "bool",
        "Visceral metastases treatable (Tomita 2001 'treatable' vs 'untreatable'; meaningful "
        "only with visceral_metastases: true)",
        source="tomita_2001",
    ),
    _F(
        "spinal_level",
        "enum",
        "Spinal level of the compression (cord alpha/beta 2 for cervical/thoracic, 4 for lumbar)",
        values=("cervical", "thoracic", "lumbar"),
        source="plan: re-irradiation",
    ),
    _F(
        "neurological_signs",
        "bool",
        "Neurological symptoms or signs of MESCC (motor, sensory or sphincter)",
        source="plan: corticosteroids",
    ),
    _F(
        "steroid_contraindication",
        "bool",
        "The clinician has recorded a contraindication to corticosteroids",
        source="plan: corticosteroids",
    ),
    _F(
        "steroid_contraindication_note",
        "text",
        "Free-text reason for the recorded corticosteroid contraindication",
        source="plan: corticosteroids",
        max_length=1000,
        multiline=True,
        basis="project decision: length bound; TAB and line breaks allowed",
    ),
    _F(
        "bone_agent_contraindication",
        "bool",
        "The clinician has recorded a contraindication to bisphosphonates / RANK-ligand inhibitors",
        source="plan: bone-modifying agents",
    ),
    _F(
        "compression_single_area",
        "bool",
        "Compression restricted to a single area (one level or contiguous segments)",
        source="plan: surgery (Patchell 2005 eligibility)",
    ),
    _F(
        "paraplegia_hours",
        "number",
        "Duration of complete paraplegia before assessment",
        0,
        _YEARS_10_HOURS,
        unit="hours",
        source="plan: surgery (Patchell 2005 eligibility)",
        basis="project decision: a sanity bound of 10 years (Patchell 2005 cuts at 48 hours)",
    ),
    _F(
        "medically_operable",
        "bool",
        "Medically operable (surgeon's and anaesthetist's view)",
        source="plan: surgery (Patchell 2005 eligibility)",
    ),
)

FIELD_BY_KEY: dict[str, FieldSpec] = {f.key: f for f in FIELDS}

#: The nested ``sins`` object's keys and their flattened column names.
SINS_PARTS: tuple[str, ...] = (
    "location",
    "pain",
    "bone_lesion",
    "alignment",
    "collapse",
    "posterolateral",
)

COURSE_FIELDS: tuple[FieldSpec, ...] = (
    _F(
        "fractions",
        "int",
        "Number of fractions",
        1,
        100,
        basis="project decision: a sanity bound far above every regimen in the reference "
        "(at most 20 fractions)",
    ),
    _F(
        "dose_per_fraction_gy",
        "number",
        "Dose per fraction",
        0.1,
        30,
        unit="Gy",
        basis="project decision: 0 Gy is no course; 30 Gy is above every dose per fraction in "
        "the reference (8 Gy conventional; HyTEC single-fraction cord Dmax 12.4-14 Gy)",
    ),
    _F(
        "months_before",
        "number",
        "Months between that course and now",
        0,
        _MONTHS_MAX,
        unit="months",
        basis=_TIME_BOUND,
    ),
    _F("technique", "enum", "Technique of that course", values=("conventional", "sbrt")),
    _F(
        "cord_max_dose_gy",
        "number",
        "Maximum spinal cord dose of that course (thecal sac for SBRT), total over its "
        "fractions, from its treatment plan",
        0.1,
        100,
        unit="Gy",
        source="plan: re-irradiation (cord dose of an earlier course)",
        basis="project decision: a sanity bound above every cumulative cord dose in the "
        "reference (Doi 2021: cumulative cord EQD2 Dmax up to 114.8 Gy over several courses; "
        "one course here)",
    ),
    _F(
        "cord_max_dose_percent",
        "number",
        "Maximum spinal cord dose of that course as a percentage of its prescription",
        1,
        150,
        unit="%",
        source="plan: re-irradiation (cord dose of an earlier course)",
        basis="project decision: a sanity bound (the protocols in the reference cap the cord "
        "at 101.5% of prescription)",
    ),
)

#: At most this many earlier courses to the same spinal region (project decision: the
#: re-irradiation evidence in the reference reaches a third course, Nieder's repeat
#: re-irradiation survey; ten leaves room and refuses a list that cannot be a history).
MAX_PRIOR_COURSES = 10

#: The alpha/beta ratio of ``mescc dose`` (``alpha_beta``) and the API's ``/dose``.
ALPHA_BETA = _F(
    "alpha_beta",
    "number",
    "alpha/beta ratio of the tissue",
    0.5,
    20,
    unit="Gy",
    source="dose",
    basis="project decision: covers every alpha/beta in the reference (0.87 Gy cord in "
    "QUANTEC; 2 and 4 Gy cord; 10 Gy tumour)",
)

#: The three inputs of a BED/EQD2 calculation, checked like patient fields.
REGIMEN_FIELDS: tuple[FieldSpec, ...] = (COURSE_FIELDS[0], COURSE_FIELDS[1], ALPHA_BETA)

PREFERENCE_FIELDS: tuple[FieldSpec, ...] = (
    _F(
        "priority",
        "enum",
        "What matters most to the patient",
        values=("balanced", "fewest_visits", "durable_local_control"),
    ),
    _F("surgery_acceptable", "bool", "Upfront surgery acceptable to the patient"),
)

#: Keys that are objects or lists (not batch columns, except sins which is flattened).
NESTED_KEYS = ("sins", "prior_radiotherapy", "preferences")

#: Every top-level key a patient record may carry.
TOP_LEVEL_KEYS: tuple[str, ...] = tuple(
    [f.key for f in FIELDS if not f.key.startswith("sins_")] + list(NESTED_KEYS)
)


#: The one spelling of a boolean in every input format (JSON and YAML scalars, CSV text):
#: exactly lowercase ``true`` or ``false``. ``yes``/``no``, ``on``/``off``, ``True``, ``1``
#: ... are refused with the standard message, never read as a boolean (YAML 1.1 reads
#: ``no`` as false; a CSV writer may write ``True``).
BOOLEAN_TEXT: Mapping[str, bool] = {"true": True, "false": False}


def boolean_from_text(text: str) -> bool | None:
    """The boolean spelt by ``text`` under :data:`BOOLEAN_TEXT`, or None if it spells none.

    None means "not a boolean" (refuse it with ``check_value``), not "unknown".
    """
    return BOOLEAN_TEXT.get(text)


@dataclass(frozen=True, slots=True)
class OversizedNumber:
    """A number as written that has no faithful machine value: an integer of 20 digits or
    more (>= 2^64 is beyond every database and serialiser used), a literal that overflows a
    float (``1e400``) or a non-JSON constant (``NaN``, ``Infinity``).

    The strict reader (``mescc.loading``) keeps it as text so that the field check can refuse
    it naming the field; it is never a number anywhere.
    """

    text: str

    @property
    def not_a_number(self) -> bool:
        return self.text.lstrip("+-").lower() in ("nan", "infinity", "inf", ".inf", ".nan")

    def __repr__(self) -> str:
        return _truncate(self.text, "digits")


#: Longest echo of a value in an error message (the rest is counted, not printed).
MAX_VALUE_ECHO = 60

_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4
_REPR.maxstring = _REPR.maxother = 40


def _truncate(text: str, unit: str = "characters") -> str:
    if len(text) <= MAX_VALUE_ECHO:
        return text
    return f"{text[:MAX_VALUE_ECHO]}... ({len(text)} {unit})"


def describe_value(value: Any) -> str:
    """A value as the user wrote it, for an error message: short, and with every hidden
    character (control, bidi, invisible formatting) shown as ``[U+XXXX]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = '"' + neutralise(value[:MAX_VALUE_ECHO], keep_layout=False) + '"'
        return shown if len(value) <= MAX_VALUE_ECHO else f"{shown}... ({len(value)} characters)"
    if value is None:
        return "null"
    if isinstance(value, OversizedNumber):
        return neutralise(repr(value), keep_layout=False)
    if isinstance(value, int):
        if value.bit_length() > 200:  # str() of a huge int is slow or refused (4300 digits)
            digits = int(value.bit_length() * 0.30103) + 1
            return f"{'-' if value < 0 else ''}an integer of about {digits} digits"
        return _truncate(str(value), "digits")
    if isinstance(value, float):
        return _num(value) if abs(value) < 1e15 else repr(value)
    return neutralise(_REPR.repr(value), keep_layout=False)


def display_key(name: str) -> str:
    """A key or path as given, shortened and with hidden characters made visible."""
    return neutralise(_truncate(name), keep_layout=False)


def _problem(name: str, value: Any, spec: FieldSpec, what: str) -> Problem:
    return Problem(
        field=name,
        value=value,
        allowed=spec.allowed,
        message=f"{display_key(name)}: {describe_value(value)} {what}; allowed: {spec.allowed}",
    )


def _check_text(name: str, value: str, spec: FieldSpec) -> Problem | None:
    if spec.max_length is not None and len(value) > spec.max_length:
        return _problem(name, value, spec, f"is too long ({len(value)} characters)")
    hidden = hidden_characters(value, multiline=spec.multiline)
    if hidden:
        where, ch = hidden[0]
        more = f" and {len(hidden) - 1} more" if len(hidden) > 1 else ""
        return _problem(
            name,
            value,
            spec,
            f"contains a control, bidi or invisible formatting character ({code_point(ch)} at "
            f"position {where + 1}{more})",
        )
    return None


def check_value(name: str, value: Any, spec: FieldSpec) -> tuple[Any, Problem | None]:
    """Check one value against its spec; return the clean value or a problem.

    ``None`` is accepted as "unknown" for every key. Integral floats (``60.0``) are accepted
    for integer keys; anything else that is not exactly allowed is refused, never rounded.
    """
    if value is None:
        return None, None
    kind = spec.kind
    if kind == "bool":
        if isinstance(value, bool):
            return value, None
        return None, _problem(name, value, spec, "is not a boolean" + bool_hint(value))
    if kind == "enum":
        assert spec.values is not None
        if isinstance(value, bool) or not isinstance(value, str | int):
            return None, _problem(name, value, spec, "is not an allowed value")
        if isinstance(value, int) and value.bit_length() > 64:
            return None, _problem(name, value, spec, "is not an allowed value")
        text = str(value)
        if text in spec.values:
            return text, None
        return None, _problem(
            name, value, spec, "is not an allowed value" + hint(value, spec.values)
        )
    if kind == "text":
        if isinstance(value, str):
            problem = _check_text(name, value, spec)
            return (None, problem) if problem else (value, None)
        return None, _problem(name, value, spec, "is not text")
    # numbers
    if isinstance(value, OversizedNumber):
        what = "is not a finite number" if value.not_a_number else "is out of range"
        return None, _problem(name, value, spec, what)
    if isinstance(value, bool) or not isinstance(value, int | float):
        noun = "an integer" if kind == "int" else "a number"
        return None, _problem(name, value, spec, f"is not {noun}")
    if isinstance(value, float) and not math.isfinite(value):
        return None, _problem(name, value, spec, "is not a finite number")
    if kind == "int" and isinstance(value, float):
        if not value.is_integer():
            return None, _problem(name, value, spec, "is not an integer")
        value = int(value)
    if spec.minimum is not None and value < spec.minimum:
        return None, _problem(name, value, spec, "is out of range")
    if spec.maximum is not None and value > spec.maximum:
        return None, _problem(name, value, spec, "is out of range")
    if spec.step and (value - (spec.minimum or 0)) % spec.step != 0:
        return None, _problem(name, value, spec, "is not allowed")
    return value, None


def unknown_key_problem(name: str, candidates: tuple[str, ...] | list[str]) -> Problem:
    """Problem for a key the contract does not know, with a suggestion when one is close."""
    leaf = name.rsplit(".", 1)[-1]
    close = closest(leaf, candidates, cutoff=KEY_CUTOFF)
    advice = f'did you mean "{close}"?' if close else "see `mescc instruments` for the keys"
    return Problem(
        field=name,
        value=None,
        allowed="a key of the patient contract",
        message=f"{display_key(name)}: unknown key; {advice}",
    )


def check_object(
    prefix: str, data: Any, specs: tuple[FieldSpec, ...], problems: list[Problem]
) -> dict[str, Any] | None:
    """Check a nested object (``sins``, ``preferences``, a prior course) key by key.

    ``None`` is "unknown" (None is returned); anything that is not an object is a problem.
    """
    if data is None:
        return None
    if not isinstance(data, Mapping):
        problems.append(
            Problem(
                prefix,
                data,
                "an object",
                f"{prefix}: {describe_value(data)} is not an object; allowed: an object with "
                "keys " + ", ".join(s.key for s in specs),
            )
        )
        return None
    by_key = {s.key: s for s in specs}
    clean: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}"
        spec = by_key.get(str(key))
        if spec is None:
            problems.append(unknown_key_problem(name, list(by_key)))
            continue
        ok, problem = check_value(name, value, spec)
        if problem is not None:
            problems.append(problem)
        else:
            clean[str(key)] = ok
    return clean


def check_list_of_objects(
    name: str,
    data: Any,
    specs: tuple[FieldSpec, ...],
    problems: list[Problem],
    *,
    max_items: int,
    noun: str,
) -> list[tuple[int, Any, dict[str, Any]]] | None:
    """Check a list of objects (``prior_radiotherapy``): ``(index, raw, clean)`` per element.

    ``None`` (the whole list) is "unknown"; ``[]`` is a known empty list. An element that is
    null or not an object is a problem, never dropped: dropping it would turn an unknown into
    a known negative (``[null]`` read as "no earlier course").
    """
    if data is None:
        return None
    allowed = f"a list of at most {max_items} {noun}s, each an object with keys " + ", ".join(
        s.key for s in specs
    )
    if not isinstance(data, list | tuple):
        problems.append(
            Problem(
                name,
                data,
                allowed,
                f"{name}: {describe_value(data)} is not a list; allowed: {allowed}",
            )
        )
        return None
    if len(data) > max_items:
        problems.append(
            Problem(
                name, None, allowed, f"{name}: {len(data)} {noun}s are too many; allowed: {allowed}"
            )
        )
        return None
    out: list[tuple[int, Any, dict[str, Any]]] = []
    for i, element in enumerate(data):
        where = f"{name}[{i}]"
        if element is None:
            problems.append(
                Problem(
                    where,
                    None,
                    allowed,
                    f"{where}: null is not a {noun}; allowed: an "
                    "object with keys " + ", ".join(s.key for s in specs),
                )
            )
            continue
        clean = check_object(where, element, specs, problems)
        if clean is not None:
            out.append((i, element, clean))
    return out


def sins_spec(part: str) -> FieldSpec:
    """The spec of one part of the ``sins`` object (stored under its flattened column name)."""
    return FIELD_BY_KEY[f"sins_{part}"]
