"""The patient form: its layout, and the translation between form fields and patient JSON.

The fields, their types, units and allowed choices come from the library's table of patient keys
(``mescc.fields``), their labels from ``mescc.render.labels``; this module only groups them the
way a clinician works through a case (neurology and performance status first) and picks how
each is shown (ECOG and KPS as labelled choices). Any key the table has and the layout does not
place is still shown, under "Further inputs", so the form never silently lacks an input.

It holds no ranges: the library is the one judge of what is allowed, and its problems are shown
inline. It only translates: text becomes a number where the key is numeric, an empty field is
left out (unknown, never a default), and anything that does not convert is passed on as typed so
that the library's validation names it. The one judgement it makes is its own field of earlier
radiotherapy: "none" (``[]``), unknown (left out) or the courses, which must agree with the
course rows filled in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mescc.api.form_help import scale_choices
from mescc.errors import InputError, Problem
from mescc.fields import (
    COURSE_FIELDS,
    FIELDS,
    MAX_PRIOR_COURSES,
    PREFERENCE_FIELDS,
    SINS_PARTS,
    FieldSpec,
    describe_value,
)
from mescc.render.labels import field_label, value_label

FieldKind = Literal["integer", "number", "choice", "boolean", "text"]
#: How a field is shown: a text input, a drop-down, or radio buttons (every choice visible).
Widget = Literal["input", "textarea", "select", "radios"]

#: Course rows shown on a new form; "Add another course" adds one, up to MAX_PRIOR_COURSES.
DEFAULT_COURSE_ROWS = 1
UNKNOWN_LABEL = "Unknown / not assessed"

#: The form's own field saying whether there was earlier radiotherapy (absent = unknown).
PRIOR_RT = "prior_radiotherapy"
PRIOR_RT_NONE = "none"
PRIOR_RT_GIVEN = "given"
#: The hidden field carrying how many course rows the form shows, and the add-row button.
COURSE_ROWS_FIELD = "course_rows"
ACTION_FIELD = "action"
ADD_COURSE = "add_course"

_KINDS: dict[str, FieldKind] = {
    "int": "integer",
    "number": "number",
    "bool": "boolean",
    "enum": "choice",
    "text": "text",
}


@dataclass(frozen=True, slots=True)
class FormField:
    key: str  # dotted form name: "age_years", "sins.location", "prior_radiotherapy.0.fractions"
    label: str
    kind: FieldKind
    unit: str = ""
    hint: str = ""
    options: tuple[tuple[str, str], ...] = ()
    widget: Widget = "input"

    @property
    def html_id(self) -> str:
        return "f-" + self.key.replace(".", "-").replace("_", "-")

    def option_id(self, value: str) -> str:
        """The id of one radio button (``value`` "" is the unknown choice)."""
        return f"{self.html_id}-{value or 'unknown'}"


@dataclass(frozen=True, slots=True)
class Fieldset:
    legend: str
    fields: tuple[FormField, ...]
    description: str = ""
    #: The fieldset of earlier radiotherapy courses (rows are added per request).
    courses: bool = False


# Hints beyond the label (the labels themselves come from mescc.render.labels).
_HINTS: dict[str, str] = {
    "id": "Pseudonymous; do not enter names or record numbers.",
    "motor_deficit_days": "From the first motor symptom to now.",
    "paraplegia_hours": "Only when paraplegia is complete.",
    "neurological_signs": "Motor, sensory or sphincter.",
    "months_from_cancer_diagnosis": "From the first diagnosis of the cancer.",
    "other_bone_metastases": "Besides the MESCC site.",
    "visceral_metastases_resectable": "Only with visceral metastases.",
    "visceral_metastases_treatable": "Only with visceral metastases (Tomita).",
    "extraskeletal_metastases": "Visceral, nodal, brain ...",
    "compression_single_area": "One level or contiguous segments.",
    "medically_operable": "The surgeon's and anaesthetist's view.",
    "bone_agent_contraindication": "Bisphosphonates / RANK-ligand inhibitors.",
    "cord_max_dose_gy": "From that course's plan; total over its fractions (thecal sac for SBRT).",
    "cord_max_dose_percent": "Instead of the dose in Gy, when only the percentage is known.",
}

# Groups, in the order a clinician works through a case: (legend, description, keys).
_LAYOUT: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Neurology",
        "",
        (
            "ambulatory_status",
            "motor_deficit_days",
            "frankel_grade",
            "sensory_deficits",
            "sphincter_dysfunction",
            "neurological_signs",
            "paraplegia_hours",
        ),
    ),
    (
        "Performance status",
        "Give each scale recorded for the patient. When only one is known, an instrument "
        "needing the other uses a converted value and the result says so.",
        ("ecog", "kps", "hospitalized_last_3_months"),
    ),
    (
        "Patient and tumour",
        "",
        (
            "id",
            "age_years",
            "sex",
            "primary_tumor",
            "months_from_cancer_diagnosis",
            "prior_palliative_chemotherapy_courses",
        ),
    ),
    (
        "Metastatic spread",
        "",
        (
            "other_bone_metastases",
            "extraspinal_bone_metastases",
            "vertebral_body_metastases",
            "visceral_metastases",
            "visceral_metastases_resectable",
            "visceral_metastases_treatable",
            "hepatic_metastases",
            "extraskeletal_metastases",
        ),
    ),
    (
        "Imaging: epidural compression (Bilsky) and spinal stability (SINS)",
        "Entered by the clinician from the imaging report; mescc does not read images.",
        (
            "escc_grade",
            "spinal_level",
            "involved_vertebrae",
            "compression_single_area",
            *(f"sins.{part}" for part in SINS_PARTS),
        ),
    ),
    (
        "Prior radiotherapy to the same spinal region",
        "Choose \u201cNo earlier radiotherapy\u201d only when it is known that there was none; "
        "leave \u201cUnknown\u201d when it has not been checked. One course per row.",
        (PRIOR_RT,),
    ),
    (
        "Treatment considerations",
        "",
        (
            "medically_operable",
            "steroid_contraindication",
            "steroid_contraindication_note",
            "bone_agent_contraindication",
        ),
    ),
    (
        "Preferences",
        "",
        tuple(f"preferences.{spec.key}" for spec in PREFERENCE_FIELDS),
    ),
)

_RADIOS = {"ecog", "kps"}


def _spec(key: str) -> FieldSpec | None:
    """The library's spec of a dotted form key."""
    parts = key.split(".")
    if parts[0] == "sins" and len(parts) == 2:
        return _TOP.get(f"sins_{parts[1]}")
    if parts[0] == "preferences" and len(parts) == 2:
        return _PREFERENCES.get(parts[1])
    if parts[0] == "prior_radiotherapy" and len(parts) == 3:
        return _COURSE.get(parts[2])
    return _TOP.get(key) if len(parts) == 1 else None


_TOP = {spec.key: spec for spec in FIELDS}
_COURSE = {spec.key: spec for spec in COURSE_FIELDS}
_PREFERENCES = {spec.key: spec for spec in PREFERENCE_FIELDS}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _field(key: str, spec: FieldSpec) -> FormField:
    options: tuple[tuple[str, str], ...] = ()
    widget: Widget = "input"
    if key in _RADIOS:
        options, widget = scale_choices(key), "radios"
    elif spec.kind == "enum" and spec.values:
        options = tuple((value, _capital(value_label(spec.key, value))) for value in spec.values)
        widget = "select"
    elif spec.kind == "bool":
        options, widget = (("true", "Yes"), ("false", "No")), "select"
    elif spec.multiline:
        widget = "textarea"
    label = field_label(spec.key)
    unit = spec.unit or ""
    if key in _RADIOS or unit.lower() in label.lower():  # "Months ago", "(% of prescription)"
        unit = ""
    return FormField(
        key=key,
        label=label,
        kind=_KINDS.get(spec.kind, "text"),
        unit=unit,
        hint=_HINTS.get(key) or _HINTS.get(spec.key, ""),
        options=options,
        widget=widget,
    )


PRIOR_RT_FIELD = FormField(
    key=PRIOR_RT,
    label=field_label(PRIOR_RT),
    kind="choice",
    options=(
        (PRIOR_RT_NONE, "No earlier radiotherapy to this region"),
        (PRIOR_RT_GIVEN, "Yes: the courses below"),
    ),
    widget="radios",
)


def course_fields(index: int) -> tuple[FormField, ...]:
    """The inputs of course row ``index`` (0-based)."""
    return tuple(_field(f"prior_radiotherapy.{index}.{spec.key}", spec) for spec in COURSE_FIELDS)


def _build() -> tuple[Fieldset, ...]:
    placed: set[str] = set()
    fieldsets: list[Fieldset] = []
    for legend, description, keys in _LAYOUT:
        if keys == (PRIOR_RT,):
            fieldsets.append(Fieldset(legend, (PRIOR_RT_FIELD,), description, courses=True))
            continue
        fields = []
        for key in keys:
            spec = _spec(key)
            if spec is not None:
                fields.append(_field(key, spec))
                placed.add(key)
        fieldsets.append(Fieldset(legend, tuple(fields), description))
    leftovers = []
    for spec in FIELDS:
        key = f"sins.{spec.key[5:]}" if spec.key.startswith("sins_") else spec.key
        if key not in placed:
            leftovers.append(_field(key, spec))
    for pref in PREFERENCE_FIELDS:
        key = f"preferences.{pref.key}"
        if key not in placed:
            leftovers.append(_field(key, pref))
    if leftovers:
        fieldsets.append(Fieldset("Further inputs", tuple(leftovers)))
    return tuple(fieldsets)


PATIENT_FORM: tuple[Fieldset, ...] = _build()
_ALL_COURSES = tuple(course_fields(index) for index in range(MAX_PRIOR_COURSES))


def all_fields() -> list[FormField]:
    """Every input the form can show, course rows up to the most courses a patient may have."""
    fields: list[FormField] = []
    for fieldset in PATIENT_FORM:
        fields.extend(fieldset.fields)
    for row in _ALL_COURSES:
        fields.extend(row)
    return fields


_MAX_NUMERAL_CHARS = 64
_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _convert(form_field: FormField, raw: str) -> Any:
    text = raw.strip()
    if form_field.kind in {"integer", "number"}:
        # A numeral longer than any value a field allows is passed on as typed (the library
        # names it); converting 5,000 digits would hit Python's int limit (a 500) for nothing.
        if len(text) > _MAX_NUMERAL_CHARS:
            return text
        if _INTEGER.match(text):
            return int(text)
        if _NUMBER.match(text) and math.isfinite(number := float(text)):
            return number
        return text
    if form_field.kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    return text


def _set(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node: Any = target
    for index, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            slot = int(part)
            while len(node) <= slot:
                node.append({})
            node = node[slot]
            continue
        if part not in node:
            node[part] = [] if parts[index + 1].isdigit() else {}
        node = node[part]
    node[parts[-1]] = value


@dataclass(frozen=True, slots=True)
class FormReading:
    """A submitted form read: the patient, the form's own problems, the values to show again."""

    patient: dict[str, Any]
    problems: tuple[Problem, ...]
    #: The values as typed, course rows renumbered so that the filled ones come first (the
    #: numbering the patient's list and the library's problems use).
    values: dict[str, str]
    course_rows: int


def _filled(raw: str | None) -> bool:
    return bool(raw and raw.strip())


def _course_rows(form: Mapping[str, str]) -> list[dict[str, str]]:
    """The filled course rows as typed, in row order (a row is filled when any input is)."""
    rows: list[dict[str, str]] = []
    for row in _ALL_COURSES:
        typed = {f.key.rsplit(".", 1)[1]: form.get(f.key, "") for f in row}
        if any(_filled(raw) for raw in typed.values()):
            rows.append(typed)
    return rows


def _rows_shown(form: Mapping[str, str], filled: int) -> int:
    raw = form.get(COURSE_ROWS_FIELD, "")
    shown = int(raw) if raw.isdigit() and len(raw) <= 3 else DEFAULT_COURSE_ROWS
    return shown_rows(max(shown, filled))


def shown_rows(wanted: int) -> int:
    """Rows to show: at least the default, at most the most courses a patient may have."""
    return max(DEFAULT_COURSE_ROWS, min(wanted, MAX_PRIOR_COURSES))


def _prior_rt_problem(value: Any, what: str) -> Problem:
    allowed = (
        f"{UNKNOWN_LABEL}, {PRIOR_RT_FIELD.options[0][1]}, or {PRIOR_RT_FIELD.options[1][1]} "
        "with at least one course"
    )
    return Problem(PRIOR_RT, value, allowed, f"{PRIOR_RT}: {what}; allowed: {allowed}")


def read_form(form: Mapping[str, str]) -> FormReading:
    """Read a submitted form; empty fields are left out (unknown), nothing is defaulted.

    Earlier radiotherapy: "none" with no course row filled is the known empty list ``[]``;
    unknown with no row filled leaves the key out; filled rows are the courses (a partly
    filled row is passed on, so that the library names the missing input of that course).
    "None" together with a filled row, or "yes" without one, is a problem, never guessed.
    """
    patient: dict[str, Any] = {}
    problems: list[Problem] = []
    for fieldset in PATIENT_FORM:
        for form_field in fieldset.fields:
            raw = form.get(form_field.key, "")
            if form_field.key == PRIOR_RT or not _filled(raw):
                continue
            _set(patient, form_field.key, _convert(form_field, raw))
    rows = _course_rows(form)
    values = {
        k: v
        for k, v in form.items()
        if not k.startswith("prior_radiotherapy.") and k not in _NOT_VALUES
    }
    for index, typed in enumerate(rows):
        for name, raw in typed.items():
            if raw:
                values[f"prior_radiotherapy.{index}.{name}"] = raw
    status = form.get(PRIOR_RT, "").strip()
    courses = [
        {
            name: _convert(field, raw)
            for field, (name, raw) in zip(_ALL_COURSES[index], typed.items(), strict=True)
            if _filled(raw)
        }
        for index, typed in enumerate(rows)
    ]
    if status not in ("", PRIOR_RT_NONE, PRIOR_RT_GIVEN):
        problems.append(_prior_rt_problem(status, f"{describe_value(status)} is not a choice"))
    elif status == PRIOR_RT_NONE and courses:
        problems.append(
            _prior_rt_problem(
                "none",
                f"\u201cno earlier radiotherapy\u201d is chosen but {len(courses)} course "
                f"row{'s are' if len(courses) != 1 else ' is'} filled in",
            )
        )
    elif status == PRIOR_RT_GIVEN and not courses:
        problems.append(
            _prior_rt_problem("given", "\u201cyes\u201d is chosen but no course row is filled in")
        )
    if courses:
        patient["prior_radiotherapy"] = courses
    elif status == PRIOR_RT_NONE:
        patient["prior_radiotherapy"] = []
    return FormReading(patient, tuple(problems), values, _rows_shown(form, len(rows)))


_NOT_VALUES = {"csrf_token", COURSE_ROWS_FIELD, ACTION_FIELD}


def patient_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """Patient JSON from submitted form values; raise ``InputError`` for the form's problems."""
    reading = read_form(form)
    if reading.problems:
        raise InputError(list(reading.problems))
    return reading.patient


def form_values(inputs: Mapping[str, Any]) -> dict[str, str]:
    """Form values that show ``inputs`` again (to edit a stored assessment).

    A recorded ``prior_radiotherapy: []`` shows as "no earlier radiotherapy", never as unknown.
    """
    values: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list):
            for index, sub in enumerate(value):
                walk(f"{prefix}.{index}", sub)
        elif isinstance(value, bool):
            values[prefix] = "true" if value else "false"
        elif value is not None:
            values[prefix] = str(value)

    walk("", inputs)
    courses = inputs.get("prior_radiotherapy")
    if isinstance(courses, list):
        values[PRIOR_RT] = PRIOR_RT_GIVEN if courses else PRIOR_RT_NONE
    return values


def rows_for(values: Mapping[str, str]) -> int:
    """Course rows to show for ``values``: each filled course and one blank row."""
    filled = {int(k.split(".")[1]) for k in values if re.match(r"^prior_radiotherapy\.\d+\.", k)}
    return shown_rows(max(filled, default=-1) + 2)


def problem_key(field_name: str) -> str:
    """A problem's field in form-name spelling: ``prior_radiotherapy[0].fractions`` -> dotted."""
    return re.sub(r"\[(\d+)\]", r".\1", field_name).strip(".")


def shown_message(problem: Mapping[str, Any]) -> str:
    """A problem's sentence with its field named as the clinician reads it, not by its key.

    ``prior_radiotherapy[1].fractions: missing ...`` -> ``Earlier radiotherapy to this region,
    course 2: Fractions: missing ...``; the value and the allowed range are kept as they are.
    """
    message = str(problem.get("message", ""))
    field = str(problem.get("field") or "")
    if not field or not message.startswith(f"{field}: "):
        return message
    key = re.sub(r"^sins\.", "sins_", field)
    return f"{field_label(key)}: {message[len(field) + 2 :]}"
