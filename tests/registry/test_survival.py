"""Survival statistics against hand-checkable values and the reference implementations.

Hand values: Kaplan-Meier products and Greenwood sums written out below; Wilson's interval for
8/10 (0.4902-0.9433, Wilson 1927); concordance on three patients. References: lifelines
(``KaplanMeierFitter``, ``utils.concordance_index``) and scikit-survival
(``concordance_index_censored``, ``concordance_index_ipcw``) on random data with tied times
and tied risks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from lifelines.utils import concordance_index
from sksurv.metrics import concordance_index_censored, concordance_index_ipcw
from sksurv.util import Surv

from mescc.registry.survival import (
    Z95,
    CalibrationRow,
    calibration_summary,
    harrell_c,
    kaplan_meier,
    time_dependent_auc,
    uno_c,
    wilson,
)

TIMES = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
EVENTS = np.array([True, False, True, True, False])


def _loglog(s: float, greenwood: float) -> tuple[float, float]:
    c = Z95 * math.sqrt(greenwood) / abs(math.log(s))
    return s ** math.exp(c), s ** math.exp(-c)


def test_kaplan_meier_by_hand() -> None:
    curve = kaplan_meier(TIMES, EVENTS)
    # t=1: 4/5; t=3: 4/5 * 2/3; t=4: 4/5 * 2/3 * 1/2 (censored at 2 and 5)
    assert curve.at(0.5).value == 1.0
    assert curve.at(1).value == pytest.approx(0.8)
    assert curve.at(2.9).value == pytest.approx(0.8)
    assert curve.at(3.5).value == pytest.approx(0.8 * 2 / 3)
    assert curve.at(4.0).value == pytest.approx(0.8 * 2 / 3 * 1 / 2)
    # Greenwood sums 1/(5*4); + 1/(3*2); exponential (log-log) interval
    e1, e3 = curve.at(1), curve.at(3)
    assert (e1.low, e1.high) == pytest.approx(_loglog(0.8, 1 / 20))
    assert (e3.low, e3.high) == pytest.approx(_loglog(0.8 * 2 / 3, 1 / 20 + 1 / 6))
    assert (curve.n, curve.events) == (5, 3)


def test_kaplan_meier_never_extrapolates_past_follow_up() -> None:
    late = kaplan_meier(TIMES, EVENTS).at(6)
    assert late.value is None
    assert late.note == "no patient followed to 6 months"
    # a curve that reached 0 is known to stay there
    assert kaplan_meier(np.array([1.0, 2.0]), np.array([True, True])).at(6).value == 0.0


def test_median_survival_by_hand() -> None:
    assert kaplan_meier(TIMES, EVENTS).median().value == 4.0  # first time S <= 0.5
    never = kaplan_meier(np.array([1.0, 9.0]), np.array([False, False])).median()
    assert never.value is None and never.note == "median not reached"


def test_wilson_interval_of_8_of_10() -> None:
    e = wilson(8, 10)
    assert e.value == 0.8
    assert (round(e.low or 0, 4), round(e.high or 0, 4)) == (0.4902, 0.9433)
    assert wilson(0, 0).value is None


@pytest.mark.parametrize(
    ("risk", "expected"),
    [([3.0, 2.0, 1.0], 1.0), ([1.0, 2.0, 3.0], 0.0), ([1.0, 1.0, 1.0], 0.5)],
    ids=["concordant", "discordant", "tied"],
)
def test_harrell_c_by_hand(risk: list[float], expected: float) -> None:
    # events at 1 and 2, censored at 3: pairs (1,2), (1,3), (2,3) are comparable
    c = harrell_c(np.array([1.0, 2.0, 3.0]), np.array([True, True, False]), np.array(risk))
    assert c.value == expected
    assert c.comparable == 3


def test_tied_time_with_a_censored_patient_is_comparable() -> None:
    c = harrell_c(np.array([2.0, 2.0, 3.0]), np.array([True, False, True]), np.array([2.0, 1, 0]))
    assert (c.comparable, c.concordant, c.value) == (2, 2, 1.0)


def _random_cohort(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    risk = rng.integers(0, 7, n).astype(float)  # integer totals: many tied risks
    t = np.round(rng.exponential(8 * np.exp(-risk / 4)), 0) + 1  # whole months: tied times
    c = np.round(rng.uniform(0, 30, n)) + 1
    return np.minimum(t, c), t <= c, risk


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_harrell_c_equals_sksurv_and_lifelines(seed: int) -> None:
    time, event, risk = _random_cohort(700, seed)
    ours = harrell_c(time, event, risk)
    ref = concordance_index_censored(event, time, risk)
    assert ours.value == pytest.approx(ref[0], abs=1e-12)
    assert (ours.concordant, ours.tied_risk) == (ref[1], ref[3])
    assert ours.value == pytest.approx(concordance_index(time, -risk, event), abs=1e-12)


@pytest.mark.parametrize(("seed", "tau"), [(4, 12.0), (5, 6.0), (6, 20.0)])
def test_uno_c_equals_sksurv(seed: int, tau: float) -> None:
    time, event, risk = _random_cohort(700, seed)
    y = Surv.from_arrays(event=event, time=time)
    ref = concordance_index_ipcw(y, y, risk, tau=tau)
    ours = uno_c(time, event, risk, tau)
    assert ours.value == pytest.approx(ref[0], abs=1e-10)
    assert ours.tau == tau


def test_time_dependent_auc_separates_and_refuses_outside_follow_up() -> None:
    time = np.array([1.0, 2.0, 3.0, 8.0, 9.0, 10.0])
    event = np.array([True, True, True, False, False, False])
    risk = np.array([6.0, 5.0, 4.0, 3.0, 2.0, 1.0])  # the early deaths have the highest risk
    auc, note = time_dependent_auc(time, event, risk, 6.0)
    assert (auc, note) == (1.0, None)
    auc, note = time_dependent_auc(time, event, risk, 12.0)
    assert auc is None and note == "not estimable: follow-up 1-10 months"


def test_calibration_on_a_constructed_case() -> None:
    # group A: 10 patients, 2 die at 1 month, 8 censored at 12 -> KM(6) = 0.8, published 0.8
    # group B: 10 patients, 5 die at 1 month, 5 censored at 12 -> KM(6) = 0.5, published 0.1
    def group(deaths: int) -> tuple[np.ndarray, np.ndarray]:
        t = np.array([1.0] * deaths + [12.0] * (10 - deaths))
        return t, np.array([True] * deaths + [False] * (10 - deaths))

    (ta, ea), (tb, eb) = group(2), group(5)
    a, b = kaplan_meier(ta, ea).at(6), kaplan_meier(tb, eb).at(6)
    assert (a.value, b.value) == (pytest.approx(0.8), pytest.approx(0.5))
    overall = kaplan_meier(np.r_[ta, tb], np.r_[ea, eb]).at(6)
    rows = [CalibrationRow("A", 0.8, "test", a), CalibrationRow("B", 0.1, "test", b)]
    out = calibration_summary(rows, overall)
    assert b.se is not None
    assert out["wald_chi2"] == pytest.approx(round(((0.5 - 0.1) / b.se) ** 2, 4))
    assert out["df"] == 2
    assert out["mean_predicted"] == pytest.approx(0.45)  # (10 x 0.8 + 10 x 0.1) / 20
    assert out["observed_overall"]["value"] == pytest.approx(0.65)  # 13 of 20 alive
    assert out["observed_over_expected"] == pytest.approx(
        round(0.35 / 0.55, 4)
    )  # deaths by 6 months
    assert rows[0].as_dict()["observed_minus_predicted"] == pytest.approx(0.0)
    assert rows[1].as_dict()["predicted_inside_ci"] is False
