"""Two views of the assessment document for ``mescc assess --format json``.

``full`` is the contract document exactly as :func:`mescc.document.assessment_to_dict` builds
it (the web app and the API store and render that one). ``summary`` (the default) is what the
board summary rests on, as data, in under 40 KB for the bundled examples (the full document is
147-172 KB compact):

* every contract key stays, with its value: ``schema_version``, ``knowledge_base_version``,
  ``instruments.<id>`` status / points / group / category / estimate / items / missing /
  verification / citation, ``plan.radiotherapy[]`` in rank order (first = recommended) with its
  course and ``rationale``, ``recommended_regimen`` / ``recommended_option`` / ``ranking_claim``,
  ``plan.surgery.consider`` / ``reasons``, ``plan.corticosteroids``,
  ``plan.bone_modifying_agents``, ``plan.reirradiation``, ``plan.warnings``, and ``summary``
  (:func:`mescc.summary.board_summary`) unchanged;
* what the full document repeats is written once in the top-level ``references`` table, keyed
  by a stable id: the citation of a source (keyed by its evidence id; an instrument cited with
  its own citation is ``{"instrument": id}``: ``instruments.<id>.citation`` holds the text), a
  guideline statement (``gl-<hash>``), a reason given in several places (``why-<hash>``) and
  the dose basis (``dose-<hash>``). A reason keeps its ``evidence`` ids, each a key of
  ``references``; a guideline, repeated reason or dose basis is ``{"$ref": id}`` in its place;
* a reason keeps its code, evidence ids, the inputs it used, its verification and its sentence
  when that is short (at most :data:`SHORT_TEXT_MAX` characters);
* what only the full report needs is left out: the per-option outcome tables, criterion tables,
  guideline lists of options the summary does not name, derivations and the plan sections the
  board summary already shows (prognosis, decisive unknowns, timing). ``omitted`` maps each
  path to the keys left out there, so ``--detail full`` is known to add exactly those.

The view is a pure function of the document (it never reads the knowledge base), so a stored
document gives the same view.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from typing import Any, Literal

Detail = Literal["summary", "full"]
DETAILS: tuple[Detail, ...] = ("summary", "full")

#: A reason sentence at most this long is kept in the summary view (longer ones: full view).
SHORT_TEXT_MAX = 120
#: What ``omitted`` says of a reason sentence left out.
LONG_TEXT = f"text (sentences over {SHORT_TEXT_MAX} characters)"

#: Keys of a reason kept in the summary view (``citation`` moves to ``references``).
_REASON_KEYS = ("code", "text", "evidence", "citation", "inputs", "verification")
#: Where ``omitted`` names what is left out of reasons (they are in every plan section).
REASONS_PATH = "reasons (every plan section)"

#: Keys of every radiotherapy option (the contract's and the course's).
_OPTION_KEYS = (
    "regimen",
    "regimen_id",
    "fractions",
    "dose_per_fraction_gy",
    "total_dose_gy",
    "bed_gy10",
    "eqd2_gy10",
    "dose_basis",
    "visits",
    "overall_time",
    "course_length",
    "trial_regimen",
    "supported",
    "rationale",
)
#: Course keys kept only for the options the board summary names (the ranked-first option and
#: its alternatives); every option keeps the contract's dose keys and its rationale.
_NAMED_COURSE_KEYS = ("dose_basis", "visits", "overall_time", "course_length")
#: Kept in addition for the options the board summary names (the ranked-first option and the
#: alternatives it lists): the guideline statements (the same statement is written once).
_NAMED_OPTION_KEYS = ("guidelines",)

#: Per plan section, the keys the summary view keeps (the others are named in ``omitted``);
#: a section not listed is kept whole (its citations moved to ``references``).
_SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "surgery": (
        "consider",
        "surgery_acceptable",
        "criteria_met",
        "decompression",
        "stabilisation",
        "reasons",
        "radiosensitivity",
    ),
    "corticosteroids": (
        "suggest",
        "drug",
        "starting_dose",
        "contraindication_recorded",
        "contraindication_note",
        "reasons",
        "missing",
    ),
    "bone_modifying_agents": ("suggest", "contraindication_recorded", "agents", "reasons"),
    "reirradiation": (
        "rule_set",
        "source",
        "citation",
        "verification",
        "limits",
        "alpha_beta",
        "spinal_level",
        "interval_months",
        "courses",
        "regimen",
        "cumulative_cord_bed_gy2",
        "cumulative_cord_eqd2_gy2",
        "unit",
        "within_limits",
        "status",
        "any_regimen_within_limits",
        "regimens_within_limits",
        "reasons",
        "missing",
    ),
    "stereotactic_radiotherapy": ("discuss", "options", "reasons"),
}
#: Nested objects of a section and the keys kept of each (list items: ``name[]``).
_NESTED_KEYS: dict[str, tuple[str, ...]] = {
    "plan.surgery.decompression": ("question", "consider", "criteria_met", "reasons", "missing"),
    "plan.surgery.stabilisation": ("question", "consider", "criteria_met", "reasons", "missing"),
    "plan.surgery.radiosensitivity": ("class", "verification", "recommendation"),
    "plan.corticosteroids.starting_dose": (
        "drug",
        "initial_dose_mg",
        "daily_dose_mg",
        "route",
        "recommendation",
        "verification",
    ),
}
#: Plan keys left out of the summary view: the board summary (``summary.prognosis``,
#: ``summary.decisive_unknowns``, ``summary.timing``) shows what they decide.
_PLAN_DROP = ("prognosis", "decisive_unknowns", "decisive_unknowns_scope", "timing")
#: The contract's keys of an instrument result.
_INSTRUMENT_KEYS = (
    "status",
    "points",
    "group",
    "category",
    "estimate",
    "items",
    "missing",
    "verification",
    "citation",
)
#: Id prefix per kind of ``references`` entry (sources and instruments: their own ids).
_PREFIX = {"guideline": "gl", "dose_basis": "dose", "reason": "why"}


def json_view(document: Mapping[str, Any], detail: Detail = "summary") -> dict[str, Any]:
    """The ``detail`` view of an assessment document: ``summary`` or ``full``.

    ``full`` is a copy of ``document``; ``summary`` is described in the module docstring.
    ``document`` is never modified.

    Raises
    ------
    ValueError
        When ``detail`` is neither ``summary`` nor ``full``.
    """
    if detail == "full":
        return copy.deepcopy(dict(document))
    if detail != "summary":
        raise ValueError(f'detail "{detail}" is not allowed: use one of {", ".join(DETAILS)}')
    first = _SummaryView(document)
    first.build()  # counts the compacted reasons: one given twice is written once
    return _SummaryView(document, first.seen).build()


def compact_json(view: Any) -> str:
    """One-line JSON of a view, or of a list of views (None for a refused file)."""
    return json.dumps(view, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _stable_id(kind: str, value: Any) -> str:
    """``<prefix>-<hash of the content>``: the same content always gets the same id."""
    digest = hashlib.sha256(_canonical(value).encode("utf-8")).hexdigest()[:8]
    return f"{_PREFIX[kind]}-{digest}"


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _is_reason(value: Mapping[str, Any]) -> bool:
    """A reason object: ``{"code", "text", "evidence", "citation", "inputs", ...}``."""
    return isinstance(value.get("code"), str) and isinstance(value.get("evidence"), list)


class _SummaryView:
    """Builds the summary view of one document, collecting references and omitted keys."""

    def __init__(self, document: Mapping[str, Any], repeats: Counter[str] | None = None) -> None:
        self.document = document
        self.references: dict[str, Any] = {}
        self.omitted: dict[str, list[str]] = {}
        #: compacted reasons by content, counted by a first pass (None: this is that pass)
        self.repeats = repeats
        self.seen: Counter[str] = Counter()

    # -- bookkeeping -------------------------------------------------------------------------
    def _omit(self, path: str, what: str) -> None:
        left_out = self.omitted.setdefault(path, [])
        if what not in left_out:
            left_out.append(what)

    def _keep(self, obj: Mapping[str, Any], keys: tuple[str, ...], path: str) -> dict[str, Any]:
        """``obj`` restricted to ``keys`` (in ``obj``'s order); the others are omitted."""
        for k in obj:
            if k not in keys:
                self._omit(path, k)
        return {k: v for k, v in obj.items() if k in keys}

    def _source(self, source_id: str, citation: Any) -> bool:
        """Record ``citation`` as ``references[source_id]``; False if that holds another one.

        An instrument id cited with the instrument's own citation is recorded as
        ``{"instrument": id}``: ``instruments.<id>.citation`` holds the text."""
        inst = _map(_map(self.document.get("instruments")).get(source_id))
        entry: dict[str, Any]
        if inst and inst.get("citation") == citation:
            entry = {"instrument": source_id}
        else:
            entry = {"citation": citation}
        return bool(self.references.setdefault(source_id, entry) == entry)

    def _ref(self, kind: str, body: dict[str, Any]) -> dict[str, str]:
        """``body`` written once in ``references``; ``{"$ref": id}`` in its place."""
        ref = _stable_id(kind, body)
        while self.references.setdefault(ref, body) != body:  # a hash collision: lengthen
            ref += "x"
        return {"$ref": ref}

    # -- generic compaction ------------------------------------------------------------------
    def _cited(self, value: Any, path: str) -> Any:
        """``value`` with reasons compacted, citations moved to ``references`` and nested
        objects of :data:`_NESTED_KEYS` restricted to their keys."""
        if isinstance(value, list):
            return [self._cited(v, f"{path}[]") for v in value]
        if not isinstance(value, Mapping):
            return value
        if path in _NESTED_KEYS:
            value = self._keep(value, _NESTED_KEYS[path], path)
        if _is_reason(value):
            return self._reason(value, path)
        out: dict[str, Any] = {}
        source = value.get("source")
        moved = self._moved_citations(value)
        for k, v in value.items():
            if k == "citation" and (moved or (isinstance(source, str) and self._source(source, v))):
                continue  # references[source or evidence id] holds it
            out[k] = self._cited(v, f"{path}.{k}")
        return out

    def _moved_citations(self, obj: Mapping[str, Any]) -> bool:
        """True when ``obj["citation"]`` (a list) is now ``references[obj["evidence"][i]]``."""
        evidence, citations = obj.get("evidence"), obj.get("citation")
        if not (
            isinstance(evidence, list)
            and isinstance(citations, list)
            and len(evidence) == len(citations)
            and all(isinstance(e, str) for e in evidence)
        ):
            return False
        return all([self._source(e, c) for e, c in zip(evidence, citations, strict=True)])

    def _reason(self, reason: Mapping[str, Any], path: str) -> dict[str, Any]:
        """Code, evidence ids, inputs used, verification, and the sentence when short; a
        reason given in several places is written once in ``references``."""
        moved = self._moved_citations(reason)
        out: dict[str, Any] = {}
        for k, v in self._keep(reason, _REASON_KEYS, REASONS_PATH).items():
            if k == "citation" and moved:
                continue
            if k == "text" and isinstance(v, str) and len(v) > SHORT_TEXT_MAX:
                self._omit(REASONS_PATH, LONG_TEXT)
                continue
            if k == "inputs" and v == {}:
                continue  # no input used: nothing to show
            out[k] = self._cited(v, f"{path}.{k}")
        key = _canonical(out)
        self.seen[key] += 1
        return self._ref("reason", out) if self.repeats and self.repeats[key] > 1 else out

    # -- the document ------------------------------------------------------------------------
    def build(self) -> dict[str, Any]:
        """The summary view: the document's keys in order, then detail, references, omitted."""
        out: dict[str, Any] = {}
        for key, value in self.document.items():
            if key == "instruments" and isinstance(value, Mapping):
                out[key] = {
                    iid: self._keep(r, _INSTRUMENT_KEYS, "instruments.<id>")
                    if isinstance(r, Mapping)
                    else r
                    for iid, r in value.items()
                }
            elif key == "plan" and isinstance(value, Mapping):
                out[key] = self._plan(value)
            else:
                out[key] = value
        out["detail"] = "summary"
        out["references"] = dict(sorted(self.references.items()))
        out["omitted"] = self.omitted
        # the view shares no object with the document (the first pass needs no copy)
        return copy.deepcopy(out) if self.repeats is not None else out

    def _plan(self, plan: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in plan.items():
            path = f"plan.{key}"
            if key in _PLAN_DROP:
                self._omit("plan", key)
            elif key == "radiotherapy" and isinstance(value, list):
                out[key] = self._options(value, path)
            elif key in _SECTION_KEYS and isinstance(value, Mapping):
                out[key] = self._cited(self._keep(value, _SECTION_KEYS[key], path), path)
            else:
                out[key] = self._cited(value, path)
        return out

    def _options(self, options: list[Any], path: str) -> list[Any]:
        """Every option in rank order; guidelines of the options the board summary names."""
        named = _named_options(self.document)
        out: list[Any] = []
        for rank, option in enumerate(options):
            if not isinstance(option, Mapping):
                out.append(option)
                continue
            keys: tuple[str, ...]
            if rank == 0 or option.get("regimen_id") in named:
                keys = _OPTION_KEYS + _NAMED_OPTION_KEYS
                kept = self._keep(option, keys, f"{path}[] (options the summary names)")
            else:
                keys = tuple(k for k in _OPTION_KEYS if k not in _NAMED_COURSE_KEYS)
                kept = self._keep(option, keys, f"{path}[] (other options)")
            row: dict[str, Any] = {}
            for k, v in kept.items():
                if k == "guidelines" and isinstance(v, list):
                    row[k] = [
                        self._ref("guideline", self._cited(x, f"{path}[].{k}[]"))
                        if isinstance(x, Mapping)
                        else x
                        for x in v
                    ]
                elif k == "dose_basis" and isinstance(v, str):
                    row[k] = self._ref("dose_basis", {"statement": v})
                else:
                    row[k] = self._cited(v, f"{path}[].{k}")
            out.append(row)
        return out


def _named_options(document: Mapping[str, Any]) -> set[str]:
    """Regimen ids of the alternatives the board summary names."""
    rec = _map(_map(document.get("summary")).get("recommendation"))
    alternatives = rec.get("alternatives")
    return {
        a["regimen_id"]
        for a in (alternatives if isinstance(alternatives, list) else [])
        if isinstance(a, Mapping) and isinstance(a.get("regimen_id"), str)
    }
