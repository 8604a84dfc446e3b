"""Survival statistics of a cohort validation: Kaplan-Meier, concordance, AUC, Brier, calibration.

Estimators and where they come from:

* **Kaplan-Meier** survival with 95% CI: lifelines ``KaplanMeierFitter`` (Greenwood variance,
  exponential/log(-log) interval, lifelines' default). Kaplan EL, Meier P. J Am Stat Assoc
  1958;53:457-481. The value at a horizon ``h`` is the step function at ``h``; it is *not
  estimable* when no patient of the group is followed to ``h`` and the curve has not reached 0
  (never extrapolated).
* **Harrell's C** and **Uno's C**: one pair-counting routine (``concordance``), exact for the
  integer point totals the instruments produce, O(k n log n) for k distinct totals.
  A pair (i, j) is comparable when i had the event and ``T_j > T_i`` (or ``T_j = T_i`` and j is
  censored); it is concordant when i has the higher risk, half when the risks tie.
  Harrell: every comparable pair weighs 1 (Harrell FE et al. Stat Med 1996;15:361-387).
  Uno: pair weight ``1 / G(T_i)^2`` with G the Kaplan-Meier estimate of the censoring
  distribution and only ``T_i < tau`` (Uno H et al. Stat Med 2011;30:1105-1117). The weights
  are scikit-survival's ``CensoringDistributionEstimator.predict_ipcw``, so the result equals
  ``sksurv.metrics.concordance_index_ipcw`` (tests check both against the references); its own
  pair loop is quadratic (31 s for 100,000 patients here), hence the counting routine.
* **Time-dependent AUC** (cumulative/dynamic, IPCW) and **Brier score** at a time ``t``:
  ``sksurv.metrics.cumulative_dynamic_auc`` and ``sksurv.metrics.brier_score`` (Graf E et al.
  Stat Med 1999;18:2529-2545). The Brier score needs a predicted survival probability per
  patient: the published probability of the patient's group at ``t``; where the instrument
  publishes none at ``t``, the score is *not available* (stated, never imputed).
* **Calibration at the horizon** (own implementation): for each group, the predicted
  probability (the published figure of the group) against the observed one (Kaplan-Meier for
  survival, the proportion for binary outcomes) with its 95% CI; the difference; a Wald
  chi-square over the groups ``X2 = sum_g ((obs_g - pred_g) / se_g)^2`` (se from Greenwood or
  the binomial variance; groups with se = 0 are left out and named) with G degrees of freedom;
  calibration-in-the-large (patient-weighted mean predicted vs the cohort's observed) and the
  observed/expected ratio of events by the horizon.
* **Binary outcomes** (ambulatory after RT): proportions with Wilson 95% intervals (Wilson EB.
  J Am Stat Assoc 1927;22:209-212) and the ROC AUC of the points (Mann-Whitney, ties = 1/2).

Trap guarded: "ambulatory" is defined differently from study to study (reference); the report
keeps each published figure's own definition beside the registry column it is compared with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

Z95 = 1.959963984540054  # standard normal 97.5% quantile


@dataclass(frozen=True)
class Estimate:
    """A probability with its 95% CI and the number of patients it rests on."""

    value: float | None
    low: float | None
    high: float | None
    n: int
    events: int | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": _r(self.value),
            "ci95": [_r(self.low), _r(self.high)] if self.value is not None else None,
            "n": self.n,
        }
        if self.events is not None:
            out["events"] = self.events
        if self.note:
            out["note"] = self.note
        return out

    @property
    def se(self) -> float | None:
        """Standard error implied by the CI on the probability scale (for the Wald sum)."""
        if self.value is None or self.low is None or self.high is None:
            return None
        return (self.high - self.low) / (2 * Z95)


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


@dataclass(frozen=True)
class Curve:
    """A Kaplan-Meier step curve: times, survival, CI bounds (for plots) and estimates."""

    times: NDArray[np.float64]
    survival: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]
    n: int
    events: int
    max_time: float

    def at(self, h: float) -> Estimate:
        """Survival at ``h`` with CI, or not estimable when follow-up stops before ``h``."""
        if self.n == 0:
            return Estimate(None, None, None, 0, 0, "no patients")
        idx = int(np.searchsorted(self.times, h, side="right")) - 1
        value = float(self.survival[idx]) if idx >= 0 else 1.0
        if self.max_time < h and value > 0:
            return Estimate(
                None, None, None, self.n, self.events, f"no patient followed to {h:g} months"
            )
        low = float(self.low[idx]) if idx >= 0 else 1.0
        high = float(self.high[idx]) if idx >= 0 else 1.0
        return Estimate(value, low, high, self.n, self.events)

    def median(self) -> Estimate:
        """Median survival (months) with its 95% CI (lifelines' rule on the CI curves)."""
        if self.n == 0:
            return Estimate(None, None, None, 0, 0, "no patients")

        def first_below(s: NDArray[np.float64]) -> float | None:
            hit = np.flatnonzero(s <= 0.5)
            return float(self.times[hit[0]]) if hit.size else None

        value = first_below(self.survival)
        note = None if value is not None else "median not reached"
        return Estimate(value, first_below(self.low), first_below(self.high), self.n, None, note)


def kaplan_meier(time: NDArray[np.float64], event: NDArray[np.bool_]) -> Curve:
    """Kaplan-Meier curve with 95% CI (lifelines ``KaplanMeierFitter``)."""
    n = int(time.size)
    if n == 0:
        empty = np.zeros(0)
        return Curve(empty, empty, empty, empty, 0, 0, 0.0)
    from lifelines import KaplanMeierFitter

    kmf = KaplanMeierFitter(alpha=0.05)
    kmf.fit(time, event_observed=event)
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_survival_function_
    times = sf.index.to_numpy(dtype=float)
    return Curve(
        times=times,
        survival=sf.to_numpy(dtype=float),
        low=ci.iloc[:, 0].to_numpy(dtype=float),
        high=ci.iloc[:, 1].to_numpy(dtype=float),
        n=n,
        events=int(np.count_nonzero(event)),
        max_time=float(time.max()),
    )


def wilson(successes: int, n: int) -> Estimate:
    """A proportion with its Wilson 95% interval."""
    if n == 0:
        return Estimate(None, None, None, 0, 0, "no patients with the outcome recorded")
    p = successes / n
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half), n, successes)


# --------------------------------------------------------------------------- concordance


@dataclass(frozen=True)
class Concordance:
    """A C statistic with its pair counts (Harrell: weights 1; Uno: IPCW, truncated at tau)."""

    value: float | None
    comparable: int
    concordant: int
    tied_risk: int
    tau: float | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": _r(self.value),
            "comparable_pairs": self.comparable,
            "concordant_pairs": self.concordant,
            "tied_risk_pairs": self.tied_risk,
        }
        if self.tau is not None:
            out["tau_months"] = self.tau
        if self.note:
            out["note"] = self.note
        return out


def concordance(
    time: NDArray[np.float64],
    event: NDArray[np.bool_],
    risk: NDArray[np.float64],
    weights: NDArray[np.float64] | None = None,
    chunk: int = 50_000,
) -> Concordance:
    """Weighted concordance of ``risk`` (higher = earlier event) with right-censored times.

    ``C = sum_i w_i (conc_i + ties_i / 2) / sum_i w_i comp_i`` over events i, where comp_i
    counts j with ``T_j > T_i`` or (``T_j = T_i`` and j censored), conc_i those with lower
    risk and ties_i those with equal risk. ``weights`` None = Harrell (all 1).
    Exact; memory O(chunk x k) for k distinct risk values.
    """
    codes, levels = _codes(risk)
    k = levels.size
    by_code = [np.sort(time[codes == v]) for v in range(k)]
    cens_by_code = [np.sort(time[(codes == v) & ~event]) for v in range(k)]
    ev_idx = np.flatnonzero(event)
    w_all = np.ones(time.size) if weights is None else weights
    num = den = 0.0
    comparable = concordant = tied = 0
    for start in range(0, ev_idx.size, chunk):
        idx = ev_idx[start : start + chunk]
        ti = time[idx]
        counts = np.empty((idx.size, k), dtype=np.int64)
        for v in range(k):
            a, c = by_code[v], cens_by_code[v]
            later = a.size - np.searchsorted(a, ti, side="right")
            same_censored = np.searchsorted(c, ti, side="right") - np.searchsorted(
                c, ti, side="left"
            )
            counts[:, v] = later + same_censored
        cum = np.cumsum(counts, axis=1)
        ci = codes[idx]
        rows = np.arange(idx.size)
        below = np.where(ci > 0, cum[rows, np.maximum(ci - 1, 0)], 0)
        ties = counts[rows, ci]
        comp = cum[:, -1]
        w = w_all[idx]
        num += float(np.sum(w * (below + 0.5 * ties)))
        den += float(np.sum(w * comp))
        comparable += int(comp.sum())
        concordant += int(below.sum())
        tied += int(ties.sum())
    if comparable == 0 or den == 0:
        return Concordance(None, 0, 0, 0, note="no comparable pairs")
    return Concordance(num / den, comparable, concordant, tied)


def _codes(risk: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    levels, codes = np.unique(risk, return_inverse=True)
    return codes.astype(np.int64), levels


def harrell_c(
    time: NDArray[np.float64], event: NDArray[np.bool_], risk: NDArray[np.float64]
) -> Concordance:
    """Harrell's C (all comparable pairs weigh 1)."""
    return concordance(time, event, risk)


def uno_c(
    time: NDArray[np.float64], event: NDArray[np.bool_], risk: NDArray[np.float64], tau: float
) -> Concordance:
    """Uno's C truncated at ``tau``: IPCW weights 1/G(T_i)^2 for events before ``tau``."""
    from sksurv.nonparametric import CensoringDistributionEstimator

    y = _surv(time, event)
    cens = CensoringDistributionEstimator().fit(y)
    mask = time < tau
    try:
        ipcw = np.zeros(time.size)
        ipcw[mask] = cens.predict_ipcw(y[mask])
    except ValueError as exc:
        return Concordance(None, 0, 0, 0, tau, f"not estimable: {exc}")
    res = concordance(time, event, risk, np.square(ipcw))
    return Concordance(res.value, res.comparable, res.concordant, res.tied_risk, tau, res.note)


def _surv(time: NDArray[np.float64], event: NDArray[np.bool_]) -> Any:
    from sksurv.util import Surv

    return Surv.from_arrays(event=event.astype(bool), time=time.astype(float))


# --------------------------------------------------------------------------- at a time point


def time_dependent_auc(
    time: NDArray[np.float64], event: NDArray[np.bool_], risk: NDArray[np.float64], t: float
) -> tuple[float | None, str | None]:
    """Cumulative/dynamic AUC at ``t`` (scikit-survival), or why it is not estimable."""
    from sksurv.metrics import cumulative_dynamic_auc

    if not (time.min() < t < time.max()):
        return None, f"not estimable: follow-up {time.min():g}-{time.max():g} months"
    if not np.any(event & (time <= t)):
        return None, f"not estimable: no event by {t:g} months"
    y = _surv(time, event)
    try:
        auc, _ = cumulative_dynamic_auc(y, y, risk, [t])
    except ValueError as exc:
        return None, f"not estimable: {exc}"
    return float(auc[0]), None


def brier(
    time: NDArray[np.float64],
    event: NDArray[np.bool_],
    predicted_survival: NDArray[np.float64],
    t: float,
) -> tuple[float | None, str | None]:
    """Brier score at ``t`` with IPCW (scikit-survival), or why it is not estimable."""
    from sksurv.metrics import brier_score

    if not (time.min() < t < time.max()):
        return None, f"not estimable: follow-up {time.min():g}-{time.max():g} months"
    y = _surv(time, event)
    try:
        _, score = brier_score(y, y, predicted_survival.reshape(-1, 1), [t])
    except ValueError as exc:
        return None, f"not estimable: {exc}"
    return float(score[0]), None


def roc_auc(score: NDArray[np.float64], positive: NDArray[np.bool_]) -> float | None:
    """ROC AUC of ``score`` for a binary outcome (Mann-Whitney; ties count 1/2)."""
    pos, neg = int(positive.sum()), int((~positive).sum())
    if pos == 0 or neg == 0:
        return None
    from scipy.stats import rankdata

    ranks = rankdata(score)
    return float((ranks[positive].sum() - pos * (pos + 1) / 2) / (pos * neg))


# --------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class CalibrationRow:
    group: str
    predicted: float | None
    predicted_source: str | None
    observed: Estimate

    def as_dict(self) -> dict[str, Any]:
        diff = (
            None
            if self.predicted is None or self.observed.value is None
            else self.observed.value - self.predicted
        )
        return {
            "group": self.group,
            "predicted": self.predicted,
            "predicted_source": self.predicted_source,
            "observed": self.observed.as_dict(),
            "observed_minus_predicted": _r(diff),
            "predicted_inside_ci": (
                None
                if self.predicted is None or self.observed.low is None
                else bool(self.observed.low <= self.predicted <= (self.observed.high or 1))
            ),
        }


def calibration_summary(
    rows: list[CalibrationRow], overall: Estimate, outcome_is_event: bool = False
) -> dict[str, Any]:
    """Wald chi-square over the groups, calibration-in-the-large and observed/expected.

    ``outcome_is_event``: the probabilities are of the event itself (e.g. death within 2
    months), not of being free of it; the O/E ratio then counts that event.
    """
    from scipy.stats import chi2

    used = [r for r in rows if r.predicted is not None and r.observed.value is not None]
    left_out = [r.group for r in rows if r not in used]
    x2 = 0.0
    df = 0
    zero_se: list[str] = []
    for r in used:
        se = r.observed.se
        if se is None or se <= 0:
            zero_se.append(r.group)
            continue
        assert r.observed.value is not None and r.predicted is not None
        x2 += ((r.observed.value - r.predicted) / se) ** 2
        df += 1
    n_used = sum(r.observed.n for r in used)
    mean_pred = sum(r.observed.n * (r.predicted or 0.0) for r in used) / n_used if n_used else None
    out: dict[str, Any] = {
        "groups_compared": [r.group for r in used],
        "groups_without_prediction_or_estimate": left_out,
        "groups_left_out_zero_se": zero_se,
        "wald_chi2": _r(x2) if df else None,
        "df": df,
        "p_value": _r(float(chi2.sf(x2, df))) if df else None,
        "mean_predicted": _r(mean_pred),
        "observed_overall": overall.as_dict(),
    }
    if mean_pred is not None and overall.value is not None:
        if outcome_is_event:
            expected, observed = mean_pred, overall.value
        else:
            expected, observed = 1 - mean_pred, 1 - overall.value
        out["observed_over_expected"] = _r(observed / expected) if expected > 0 else None
    return out
