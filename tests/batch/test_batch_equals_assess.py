"""Batch equals assess: random patients with prior courses and preferences, every column.

``mescc.batch.score_frame`` (the vectorised path, several patients in one table) against
``mescc.assessment.assess`` with the plan (the single-patient path) for every output column that
has an assess counterpart: each instrument's status, points, group and missing inputs, the
recommended regimen, the prognosis class and ranking class, the deciding instruments, the
decisive-unknowns count and the knowledge-base version.
"""

from __future__ import annotations

from typing import Any

from batch_rows import batch_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mescc.assessment import assess
from mescc.batch import score_frame
from mescc.batch.columns import MAX_COURSES
from mescc.fields import COURSE_FIELDS, PREFERENCE_FIELDS, FieldSpec
from mescc.kb.loader import KnowledgeBase
from mescc.patient import Patient
from mescc.plan.table import deciding_instruments
from patient_strategies import patients


def _bounded(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """Allowed values of a course or preference key, read from the field table."""
    domain = spec.domain()
    if domain is not None:
        return st.sampled_from(domain)
    lo = spec.minimum if spec.minimum is not None else 0
    hi = spec.maximum if spec.maximum is not None else lo + 60
    if spec.kind == "int":
        return st.integers(int(lo), int(min(hi, lo + 40)))
    return st.sampled_from([float(lo), float(hi)]) | st.floats(lo, hi, allow_nan=False)


@st.composite
def registry_patients(draw: st.DrawFn) -> Patient:
    """A patient with, sometimes, preferences and up to the batch's cap of earlier courses
    (every course key of the field table, so a key added there is tested here)."""
    data = draw(patients()).model_dump(exclude_none=True)
    if draw(st.booleans()):
        data["preferences"] = {
            s.key: v for s in PREFERENCE_FIELDS if (v := draw(st.none() | _bounded(s))) is not None
        }
    if draw(st.integers(0, 2)):
        courses = []
        for _ in range(draw(st.integers(0, MAX_COURSES))):
            course = {}
            for s in COURSE_FIELDS:
                required = s.key in ("fractions", "dose_per_fraction_gy")
                value = draw(_bounded(s) if required else st.none() | _bounded(s))
                if value is not None:
                    course[s.key] = value
            if "cord_max_dose_gy" in course and "cord_max_dose_percent" in course:
                # one cord maximum per course (the patient model refuses both)
                del course[draw(st.sampled_from(["cord_max_dose_gy", "cord_max_dose_percent"]))]
            courses.append(course)
        data["prior_radiotherapy"] = courses
    return Patient.from_data(data)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(st.lists(registry_patients(), min_size=1, max_size=6))
def test_batch_equals_assess(kb: KnowledgeBase, group: list[Patient]) -> None:
    out = score_frame(batch_frame(group), kb, decisive_unknowns=True)
    for i, patient in enumerate(group):
        row = out.row(i, named=True)
        assert row["input_error"] is None, row["input_error"]
        a = assess(patient, kb)
        assert a.plan is not None
        for iid, r in a.instruments.items():
            got = tuple(row[f"{iid}__{p}"] for p in ("status", "points", "group"))
            assert got == (r.status, r.points, r.group), iid
            assert row[f"{iid}__missing"] == "; ".join(r.missing), iid
        prognosis = a.plan.as_dict()["prognosis"]
        assert row["recommended_regimen"] == a.plan.recommended_regimen
        assert row["prognosis_class"] == prognosis["class"]
        assert row["prognosis_ranking_class"] == prognosis["ranking_class"]
        assert row["prognosis_deciding_instruments"] == list(deciding_instruments(a.plan.core))
        decisive = sum(1 for d in a.plan.decisive_unknowns if d.could_change)
        assert row["decisive_unknowns_count"] == decisive
        assert row["knowledge_base_version"] == a.knowledge_base_version
