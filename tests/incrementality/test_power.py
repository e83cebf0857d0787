"""Power analysis against R's power.prop.test formula, statsmodels' NormalIndPower and simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower

from marketing360.errors import ParameterError
from marketing360.incrementality.power import power_analysis


def _r_power_prop_n(p1: float, p2: float, alpha: float, power: float) -> float:
    """R's power.prop.test(p1, p2, power=) sample size, its closed form (strict=FALSE: one tail)."""
    pbar = (p1 + p2) / 2
    num = stats.norm.ppf(1 - alpha / 2) * np.sqrt(2 * pbar * (1 - pbar)) \
        + stats.norm.ppf(power) * np.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return num ** 2 / (p2 - p1) ** 2


def test_proportions_match_r_formula():
    # R's documented example: power.prop.test(p1 = .50, p2 = .75, power = .90)  => n = 76.7
    r = power_analysis(baseline=0.5, mde=0.25, relative=False, power=0.9).table().iloc[0]
    assert r.n_control == pytest.approx(76.7, abs=0.05)
    # for small effects the second tail is negligible (R: n = 3840.847 without it)
    r = power_analysis(baseline=0.10, mde=0.20, power=0.8).table().iloc[0]
    assert r.n_control == pytest.approx(_r_power_prop_n(0.10, 0.12, 0.05, 0.8), rel=1e-5)
    assert r.mde == pytest.approx(0.02)
    # round trip: the power at that n is 0.8, and the mde at that n is 20%
    p = power_analysis(baseline=0.10, mde=0.20, n=r.n_control).table().iloc[0]
    assert p.power == pytest.approx(0.8, abs=1e-9)
    m = power_analysis(baseline=0.10, n=r.n_control, power=0.8).table().iloc[0]
    assert m.mde_relative == pytest.approx(0.20, rel=1e-7)


def test_means_match_statsmodels():
    sd, delta = 12.0, 1.5
    r = power_analysis(baseline=50.0, sd=sd, mde=delta, relative=False, power=0.8, ratio=2.0).table().iloc[0]
    ref = NormalIndPower().solve_power(effect_size=delta / sd, power=0.8, alpha=0.05, ratio=2.0)
    assert r.n_control == pytest.approx(ref, rel=1e-6)
    assert r.n_treatment == pytest.approx(2 * ref, rel=1e-6)
    # CUPED: removing 40% of the variance needs 40% fewer units
    v = power_analysis(baseline=50.0, sd=sd, mde=delta, relative=False, power=0.8, ratio=2.0,
                       variance_reduction=0.4).table().iloc[0]
    assert v.n_control == pytest.approx(0.6 * ref, rel=1e-6)
    # one-sided, three arms with Bonferroni
    one = power_analysis(baseline=50.0, sd=sd, mde=delta, relative=False, n=400, arms=3,
                         alternative="greater").table().iloc[0]
    ref_p = NormalIndPower().power(effect_size=delta / sd, nobs1=400, alpha=0.05 / 3, alternative="larger")
    assert one.power == pytest.approx(ref_p, rel=1e-9)


def test_power_by_simulation():
    n = 3000
    design = power_analysis(baseline=0.08, mde=0.25, n=n).table().iloc[0]
    rng = np.random.default_rng(0)
    hits = 0
    reps = 2000
    a = rng.binomial(n, 0.08, reps) / n
    b = rng.binomial(n, 0.10, reps) / n
    pooled = (a + b) / 2
    z = (b - a) / np.sqrt(pooled * (1 - pooled) * 2 / n)
    hits = (np.abs(z) > stats.norm.ppf(0.975)).mean()
    assert hits == pytest.approx(design.power, abs=3 * np.sqrt(design.power * (1 - design.power) / reps))


def test_bad_parameters_and_plot():
    with pytest.raises(ParameterError, match="exactly two of n, mde and power"):
        power_analysis(baseline=0.1)
    with pytest.raises(ParameterError, match="leave one out"):
        power_analysis(baseline=0.1, n=100, mde=0.1, power=0.8)
    with pytest.raises(ParameterError, match="conversion rate in"):
        power_analysis(baseline=3.0, mde=0.1)
    with pytest.raises(ParameterError, match="baseline \\+ mde must be a rate"):
        power_analysis(baseline=0.9, mde=0.5)
    with pytest.raises(ParameterError, match="variance_reduction applies"):
        power_analysis(baseline=0.1, mde=0.1, variance_reduction=0.2)
    with pytest.raises(ParameterError, match="sd must be positive"):
        power_analysis(baseline=1.0, sd=-1, mde=0.1)
    r = power_analysis(baseline=0.1, mde=0.1)
    curve = r.curve()
    assert curve.power.is_monotonic_increasing
    fig = r.plot()
    assert fig.axes[0].get_ylabel() == "power"
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert len(labels) >= 3 and "10,000" in labels  # 1, 2, 5 per decade, with thousands separators
    import matplotlib.pyplot as plt

    plt.close(fig)
    assert "conversion rate, baseline 0.1" in str(r.summary())


def test_far_tail_unequal_arms_and_one_sided():
    # two-sided power counts the far tail too: at a small effect it is a visible part of the power
    ref = NormalIndPower().power(effect_size=0.05, nobs1=100, alpha=0.05, ratio=1.0, alternative="two-sided")
    got = power_analysis(baseline=10.0, sd=1.0, mde=0.05, relative=False, n=100).table().power.iloc[0]
    assert got == pytest.approx(ref, rel=1e-9) and ref > 0.06
    # unequal arms for proportions: Fleiss, Tytun & Ury (1980)'s sample size without continuity correction,
    # n_control = (z_a sqrt(pbar qbar (1 + 1/k)) + z_b sqrt(p1 q1 + p2 q2 / k))^2 / delta^2, pbar weighted by arm
    p1, p2, k = 0.10, 0.13, 3.0
    pbar = (p1 + k * p2) / (1 + k)
    n = (stats.norm.ppf(0.975) * np.sqrt(pbar * (1 - pbar) * (1 + 1 / k))
         + stats.norm.ppf(0.8) * np.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / k)) ** 2 / (p2 - p1) ** 2
    got = power_analysis(baseline=p1, mde=p2 - p1, relative=False, ratio=k).table().iloc[0]
    assert got.n_control == pytest.approx(n, rel=1e-5) and got.n_treatment == pytest.approx(k * n, rel=1e-5)


def test_impossible_designs_are_named():
    # a one-sided test for an increase cannot detect a decrease (it reported the power of the opposite test)
    with pytest.raises(ParameterError, match="mde must be positive"):
        power_analysis(baseline=0.1, mde=-0.2, n=5000, alternative="greater")
    with pytest.raises(ParameterError, match="mde must be negative"):
        power_analysis(baseline=0.1, mde=0.2, n=5000, alternative="less")
    # a test for a decrease has the power of the mirrored test for an increase (means: symmetric)
    down = power_analysis(baseline=50.0, sd=10.0, mde=-1.0, relative=False, n=800, alternative="less")
    up = power_analysis(baseline=50.0, sd=10.0, mde=1.0, relative=False, n=800, alternative="greater")
    assert down.table().power.iloc[0] == pytest.approx(up.table().power.iloc[0], rel=1e-12)
    assert up.table().power.iloc[0] == pytest.approx(
        NormalIndPower().power(effect_size=0.1, nobs1=800, alpha=0.05, alternative="larger"), rel=1e-9)
    # a power below the significance level is reached by no effect at all (the solver failed with its own error)
    with pytest.raises(ParameterError, match="power must exceed the significance level"):
        power_analysis(baseline=0.1, n=1000, power=0.01)
    with pytest.raises(ParameterError, match="power must exceed the significance level of each test \\(0.025\\)"):
        power_analysis(baseline=0.1, mde=0.1, power=0.02, arms=2)
    # an effect so large that one unit per arm already has the power
    with pytest.raises(ParameterError, match="one unit per arm already has power"):
        power_analysis(baseline=10.0, sd=1.0, mde=5.0)
    for bad in ({"n": "100"}, {"n": float("nan")}, {"sd": float("inf")}):
        with pytest.raises(ParameterError, match="must be a finite number"):
            power_analysis(baseline=1.0, **{"sd": 1.0, "mde": 0.1, **bad})
