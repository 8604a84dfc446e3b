"""Models of an instrument definition file (see docs/instrument-format.md).

Frozen, format-free, self-validating: they know nothing of YAML or of the engine. What can be
proved from one file alone is proved here (labels, ranges, citations); what needs the contract's
input domains (coverage of every allowed value, reachable totals) is proved in ``kb.loader``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Verification = Literal["primary", "secondary", "site-supplied", "site-derived", "unverified"]
#: Strength of a verification label (higher = stronger); ranks are contiguous from 0 because
#: the table driver gathers labels by rank. ``site-derived`` (a site's own derivation by the
#: published method, ``mescc derive``) is weaker than ``site-supplied`` (a published table a
#: site verified) and stronger than ``unverified``.
VERIFICATION_ORDER: dict[str, int] = {
    "primary": 4,
    "secondary": 3,
    "site-supplied": 2,
    "site-derived": 1,
    "unverified": 0,
}
PrognosisClass = Literal["poor", "intermediate", "favourable"]

_M = ConfigDict(extra="forbid", frozen=True, defer_build=True)
_GROUP_LABEL = re.compile(r"^\d+-\d+$")


class Predicate(BaseModel):
    """Conditions on one input; all given conditions must hold."""

    model_config = _M
    in_: tuple[Any, ...] | None = Field(default=None, alias="in")
    not_in: tuple[Any, ...] | None = None
    lt: float | None = None
    le: float | None = None
    gt: float | None = None
    ge: float | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Predicate:
        if all(v is None for v in (self.in_, self.not_in, self.lt, self.le, self.gt, self.ge)):
            raise ValueError("a predicate needs at least one of in, not_in, lt, le, gt, ge")
        return self

    def holds(self, value: Any) -> bool:
        """Whether a known (non-None) value satisfies the predicate."""
        if self.in_ is not None and value not in self.in_:
            return False
        if self.not_in is not None and value in self.not_in:
            return False
        if self.lt is not None and not value < self.lt:
            return False
        if self.le is not None and not value <= self.le:
            return False
        if self.gt is not None and not value > self.gt:
            return False
        return not (self.ge is not None and not value >= self.ge)


class Category(BaseModel):
    """One scored category of an item: when it applies and its points."""

    model_config = _M
    label: str
    when: dict[str, Predicate]
    points: int | None = None
    group: str | None = None  # classification instruments
    alternative_points: tuple[int, ...] | None = None
    conflict_note: str | None = None
    verification: Verification | None = None
    rate: float | None = None  # category rate (%) where the paper gives one (overlay check A6)
    note: str | None = None

    @model_validator(mode="after")
    def _conflict_has_note(self) -> Category:
        if self.alternative_points and not self.conflict_note:
            raise ValueError("alternative_points needs a conflict_note naming the open question")
        return self


class Undefined(BaseModel):
    """Allowed input values the source does not score: the instrument is not computable."""

    model_config = _M
    when: dict[str, Predicate]
    reason: str


class Item(BaseModel):
    """One factor of an instrument."""

    model_config = _M
    factor: str
    label: str
    inputs: tuple[str, ...] = ()
    convert: dict[str, str] | None = None
    verification: Verification | None = None
    categories: tuple[Category, ...] = ()
    undefined: tuple[Undefined, ...] = ()
    note: str | None = None
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _inputs_cover_conditions(self) -> Item:
        whens = [c.when for c in self.categories] + [u.when for u in self.undefined]
        for i, when in enumerate(whens):
            for key in when:
                if key not in self.inputs:
                    raise ValueError(f"entry {i} reads {key!r}, which is not in inputs")
        if self.convert:
            for target, source in self.convert.items():
                if target not in self.inputs:
                    raise ValueError(f"convert target {target!r} is not in inputs")
                if (target, source) not in (("kps", "ecog"), ("ecog", "kps")):
                    raise ValueError("convert supports only {kps: ecog} and {ecog: kps}")
        return self

    @property
    def is_scored(self) -> bool:
        """Whether every category has points (not a skeleton item)."""
        return bool(self.categories) and all(c.points is not None for c in self.categories)


class Outcome(BaseModel):
    """An outcome observed in a group of a cohort."""

    model_config = _M
    outcome: str
    value: float
    unit: Literal["proportion", "months", "weeks", "days", "ratio"]
    cohort: str | None = None
    n: int | None = None
    events: int | None = None
    ci95: tuple[float, float] | None = None
    verification: Verification
    note: str | None = None
    text: str | None = None

    @model_validator(mode="after")
    def _proportion_in_range(self) -> Outcome:
        if self.unit == "proportion" and not 0 <= self.value <= 1:
            raise ValueError(f"proportion {self.value} is outside 0..1")
        return self


class Group(BaseModel):
    """A published group: its range of totals (or member categories), label and outcomes."""

    model_config = _M
    label: str
    range: tuple[int, int] | None = None
    members: tuple[str, ...] | None = None
    category: str
    text: str | None = None
    prognosis: PrognosisClass | None = None
    prognosis_basis: str | None = None
    outcomes: tuple[Outcome, ...] = ()
    recommendation: str | None = None
    recommendation_verification: Verification | None = None
    verification: Verification | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Group:
        if self.range is not None:
            lo, hi = self.range
            if lo > hi:
                raise ValueError(f"range {lo}-{hi} is reversed")
            if not _GROUP_LABEL.match(self.label):
                raise ValueError(f'label "{self.label}" must be written lo-hi, e.g. "31-35"')
            if self.label != f"{lo}-{hi}":
                raise ValueError(f'label "{self.label}" does not match range [{lo}, {hi}]')
        if self.prognosis is not None and not self.prognosis_basis:
            raise ValueError("prognosis needs a prognosis_basis sentence")
        return self

    @property
    def estimate(self) -> Outcome | None:
        """The first proportion outcome: the group's estimate in results."""
        for o in self.outcomes:
            if o.unit == "proportion":
                return o
        return None


class Threshold(BaseModel):
    """A published cut-off shown beside the groups."""

    model_config = _M
    label: str
    ge: int | None = None
    le: int | None = None
    text: str
    verification: Verification
    decision: bool = False
    note: str | None = None


class SiteConstraints(BaseModel):
    """What ``mescc kb check`` must verify for a site table, in the reference's words."""

    model_config = _M
    acceptance: str
    rate_rule: str | None = None
    must_supply: tuple[str, ...] = ()


class Citation(BaseModel):
    """The source of an instrument, at the level of its tables."""

    model_config = _M
    text: str
    doi: str | None = None
    pmid: str | None = None
    pmc: str | None = None
    identifier_note: str | None = None
    locator: str
    secondary_sources: tuple[str, ...] = ()
    url: str | None = None

    @model_validator(mode="after")
    def _identifier(self) -> Citation:
        if not (self.doi or self.pmid or self.pmc or self.identifier_note):
            raise ValueError(
                "add citation.doi or citation.pmid (verified only), or an identifier_note "
                "saying why none is printed"
            )
        return self

    @field_validator("pmid")
    @classmethod
    def _pmid_digits(cls, v: str | None) -> str | None:
        if v is not None and not v.isdigit():
            raise ValueError(f"pmid {v!r} must be digits")
        return v

    @field_validator("doi")
    @classmethod
    def _doi_shape(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("10."):
            raise ValueError(f"doi {v!r} must start with '10.'")
        return v

    def short(self) -> str:
        """Citation text with its verified identifier."""
        ident = (
            f" DOI {self.doi}."
            if self.doi
            else (f" PMID {self.pmid}." if self.pmid else (f" {self.pmc}." if self.pmc else ""))
        )
        return f"{self.text}{ident}"


class Cohort(BaseModel):
    """A derivation or validation cohort."""

    model_config = _M
    n: int | None = None
    text: str


class SiteInfo(BaseModel):
    """Who verified a site-supplied table, when, and from which source (constraint A1)."""

    model_config = _M
    verified_by: str
    verified_on: date
    source: str
    rounding: Literal["nearest", "floor", "ceil"] | None = None
    redefines_verified: bool = False


class SiteDerivation(BaseModel):
    """Provenance of a site-derived table (``mescc derive``): the site's own registry, the
    published construction rule applied to it, and the held-out validation.

    A site-derived table is never the published table: its points are this registry's
    category rates / 10, labelled ``site-derived`` in every output.
    """

    model_config = _M
    registry: str
    derived_by: str
    derived_on: date
    cohort_from: date
    cohort_to: date
    cohort_n: int = Field(ge=1)
    derivation_n: int = Field(ge=1)
    validation_n: int = Field(ge=0)
    holdout_fraction: float = Field(ge=0, lt=1)
    seed: int
    method: str
    rounding: Literal["nearest", "floor", "ceil"]
    outcome: str
    horizon_months: float | None = None
    categories_source: str
    published_range: tuple[int, int] | None = None
    derived_range: tuple[int, int]
    dropped_groups: tuple[str, ...] = ()
    synthetic: bool = False
    validation_report: str | None = None

    @model_validator(mode="after")
    def _check(self) -> SiteDerivation:
        if self.cohort_from > self.cohort_to:
            raise ValueError(f"cohort_from {self.cohort_from} is after cohort_to {self.cohort_to}")
        if self.derivation_n + self.validation_n != self.cohort_n:
            raise ValueError(
                f"derivation_n {self.derivation_n} + validation_n {self.validation_n} "
                f"!= cohort_n {self.cohort_n}"
            )
        return self


class Instrument(BaseModel):
    """One published instrument (score or classification), or its skeleton."""

    model_config = _M
    id: str
    name: str
    kind: Literal["score", "classification"] = "score"
    outcome: str
    outcome_text: str
    direction: Literal["higher_is_better", "higher_is_worse"] | None = None
    reference: str
    citation: Citation
    derivation: Cohort | None = None
    validation: Cohort | None = None
    verification: Verification
    verification_note: str
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    applies_to: dict[str, Predicate] | None = None
    total_range: tuple[int, int] | None = None
    unreachable_totals: tuple[int, ...] = ()
    achievable_totals: tuple[int, ...] | None = None
    points_from: str | None = None
    items: tuple[Item, ...] = ()
    groups: tuple[Group, ...] = ()
    thresholds: tuple[Threshold, ...] = ()
    site: SiteInfo | None = None
    derived: SiteDerivation | None = None
    site_constraints: SiteConstraints | None = None
    extra_inputs: tuple[str, ...] = ()

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*_\d{4}", v):
            raise ValueError(f"id {v!r} must look like <author or name>_<topic>_<year>")
        return v

    @model_validator(mode="after")
    def _check(self) -> Instrument:
        factors = [i.factor for i in self.items]
        if len(set(factors)) != len(factors):
            raise ValueError("factor keys must be unique")
        labels = [g.label for g in self.groups]
        if len(set(labels)) != len(labels):
            raise ValueError("group labels must be unique")
        if self.kind == "classification":
            if len(self.items) != 1:
                raise ValueError("a classification has exactly one item")
            for g in self.groups:
                if g.members is None:
                    raise ValueError(f"group {g.label}: a classification group needs members")
        else:
            for g in self.groups:
                if g.range is None:
                    raise ValueError(f"group {g.label}: a score group needs a range")
        if self.site is not None and self.verification != "site-supplied":
            raise ValueError("a file with a site block must have verification: site-supplied")
        if self.derived is not None:
            if self.site is not None:
                raise ValueError(
                    "a table is site-supplied (site) or site-derived (derived), not both"
                )
            if self.verification != "site-derived":
                raise ValueError("a file with a derived block must have verification: site-derived")
        elif self.verification == "site-derived":
            raise ValueError(
                "verification: site-derived needs a derived block (written by mescc derive)"
            )
        return self

    def check_tiling(self) -> None:
        """Groups tile ``total_range`` (holes only where ``unreachable_totals`` says so).

        Raises ``ValueError``; the loader adds file, line and path.
        """
        if self.kind != "score" or not self.groups or self.total_range is None:
            return
        assert self.total_range is not None
        lo, hi = self.total_range
        covered: dict[int, str] = {}
        for g in self.groups:
            assert g.range is not None
            for t in range(g.range[0], g.range[1] + 1):
                if t in covered:
                    raise ValueError(f"total {t} is in groups {covered[t]} and {g.label}")
                covered[t] = g.label
        holes = [t for t in range(lo, hi + 1) if t not in covered]
        undeclared = [t for t in holes if t not in self.unreachable_totals]
        if undeclared:
            raise ValueError(
                f"totals {undeclared} of the range {lo}-{hi} are in no group and not declared "
                "in unreachable_totals"
            )
        outside = [t for t in covered if t < lo or t > hi]
        if outside:
            raise ValueError(f"groups reach totals {sorted(outside)} outside total_range {lo}-{hi}")
        ends = (min(covered), max(covered)) if covered else None
        if ends is not None and ends != (lo, hi):
            raise ValueError(f"groups span {ends[0]}-{ends[1]} but total_range is {lo}-{hi}")

    @property
    def is_skeleton(self) -> bool:
        """No verified points: reports not computable until a site supplies a table."""
        if self.kind == "classification":
            return not self.items or not self.items[0].categories
        return not self.items or not all(i.is_scored for i in self.items)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every patient key the instrument reads (conversion sources included)."""
        seen: dict[str, None] = {}
        for item in self.items:
            for k in item.inputs:
                seen[k] = None
            for src in (item.convert or {}).values():
                seen[src] = None
        for k in self.applies_to or {}:
            seen[k] = None
        return tuple(seen)
