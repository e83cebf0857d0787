"""Synthetic control for geo tests: GeoLift's published walkthrough figures, the QP against scipy, inference, errors.

Published figures come from facebookincubator/GeoLift at commit db34ea42 (the commit the shared data were taken
from): vignettes/GeoLift_Walkthrough.md, vignettes/GeoLift_MultiCell_Walkthrough.md and
website/docs/Methodology/Confidence_Interval_Explanation.md (line numbers cited at each figure).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from marketing360.errors import ParameterError, SchemaError
from marketing360.incrementality.geo import _scm
from marketing360.incrementality.geo.panel import GeoPanel, geo_panel
from marketing360.incrementality.geo.synth import SyntheticControl, synthetic_control

CHI_POR = ["chicago", "portland"]


@pytest.fixture(scope="module")
def test_panel(need) -> GeoPanel:
    return geo_panel(need("geolift", "GeoLift_Test.csv"))


@pytest.fixture(scope="module")
def walkthrough(test_panel) -> SyntheticControl:
    with pytest.warns(UserWarning, match="jackknife"):
        return synthetic_control(test_panel, treated=CHI_POR, start=91, end=105, random_state=7, alpha=0.1)


def _slsqp(G: np.ndarray, c: np.ndarray) -> np.ndarray:
    n = c.size
    scale = np.trace(G) / n
    G, c = G / scale, c / scale
    res = minimize(lambda w: 0.5 * w @ G @ w - c @ w, np.full(n, 1 / n), jac=lambda w: G @ w - c,
                   bounds=[(0, None)] * n, constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
                   method="SLSQP", options={"ftol": 1e-15, "maxiter": 1000})
    return res.x


# ---------------------------------------------------------------------------------------------- the QP
@pytest.mark.parametrize("seed", range(6))
def test_simplex_weights_match_scipy_slsqp(seed) -> None:
    rng = np.random.default_rng(seed)
    t0, n0 = 60, 12 + 3 * seed
    X = rng.normal(0, 1, (t0, 3)) @ rng.uniform(0, 1, (3, n0)) + rng.normal(0, 0.3, (t0, n0))
    z = X[:, :4] @ rng.dirichlet(np.ones(4)) + rng.normal(0, 0.5, t0) + 0.3 * seed
    G, c = X.T @ X, X.T @ z
    w = _scm.simplex_ls(G, c)
    ref = _slsqp(G, c)
    assert w.min() >= 0 and w.sum() == pytest.approx(1, abs=1e-12)
    np.testing.assert_allclose(w, ref, atol=1e-6)
    # a warm start from another feasible point reaches the same solution
    np.testing.assert_allclose(_scm.simplex_ls(G, c, np.full(n0, 1 / n0)), w, atol=1e-9)


def test_simplex_weights_more_donors_than_periods_reach_the_optimum() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(0, 1, (8, 25))
    z = rng.normal(0, 1, 8) * 3
    G, c = X.T @ X, X.T @ z
    w = _scm.simplex_ls(G, c)
    ref = _slsqp(G, c)
    obj = lambda v: float(np.sum((X @ v - z) ** 2))  # noqa: E731 - the solution need not be unique here
    assert w.min() >= 0 and w.sum() == pytest.approx(1)
    assert obj(w) <= obj(ref) + 1e-8


def test_fit_without_fixed_effects_matches_a_direct_slsqp_fit() -> None:
    rng = np.random.default_rng(11)
    T, t0, n0 = 40, 30, 8
    yc = 20 + rng.normal(0, 1, (T, 2)).cumsum(0) @ rng.uniform(0.5, 1.5, (2, n0)) + rng.normal(0, 0.5, (T, n0))
    x1 = yc[:, :3] @ np.array([0.5, 0.3, 0.2]) + rng.normal(0, 0.5, T)
    fit = _scm.fit_scm(x1, yc, t0, fixed_effects=False, ridge=False)
    w = _slsqp(yc[:t0].T @ yc[:t0], yc[:t0].T @ x1[:t0])
    np.testing.assert_allclose(fit.weights, w, atol=1e-6)
    np.testing.assert_allclose(fit.synthetic, yc @ w, atol=1e-4)
    assert fit.l2_imbalance == pytest.approx(np.linalg.norm(yc[:t0] @ w - x1[:t0]), rel=1e-6)


def test_ridge_weights_follow_augsynth_formula_for_a_given_lambda() -> None:
    # augsynth R/ridge.R fit_ridgeaug_inner: w = syn + t(t(X_1) - t(X_c) syn) (t(X_c) X_c + lambda I)^-1 t(X_c),
    # with X_c the donors (units x periods) centred per period; solved here in that t0 x t0 form
    rng = np.random.default_rng(5)
    T, t0, n0, lam = 50, 40, 10, 3.0
    yc = rng.normal(0, 1, (T, 3)).cumsum(0) @ rng.uniform(0.5, 1.5, (3, n0)) + rng.normal(0, 0.5, (T, n0))
    x1 = yc @ rng.dirichlet(np.ones(n0)) + 0.8 + rng.normal(0, 0.3, T)
    fit = _scm.fit_scm(x1, yc, t0, fixed_effects=True, ridge=True, lam=lam)
    Xd = (yc - yc[:t0].mean(0))[:t0]
    zd = (x1 - x1[:t0].mean())[:t0]
    Xc = (Xd - Xd.mean(1, keepdims=True)).T          # units x periods
    X1 = zd - Xd.mean(1)
    syn = _slsqp(Xd.T @ Xd, Xd.T @ zd)
    ridge = (X1 - Xc.T @ syn) @ np.linalg.solve(Xc.T @ Xc + lam * np.eye(t0), Xc.T)
    np.testing.assert_allclose(fit.weights, syn + ridge, atol=1e-6)
    assert fit.weights.sum() == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------- GeoLift walkthrough
def test_walkthrough_att_lift_and_incremental(walkthrough) -> None:
    t = walkthrough.table().set_index("effect")
    # GeoLift_Walkthrough.md lines 747-749: Average ATT 155.556, Percent Lift 5.4%, Incremental Y 4667
    assert t.loc["att", "estimate"] == pytest.approx(155.556, rel=0.02)
    assert t.loc["percent_lift", "estimate"] == pytest.approx(5.4, rel=0.02)
    assert t.loc["incremental", "estimate"] == pytest.approx(4667, rel=0.02)
    # and to the printed precision
    assert round(t.loc["att", "estimate"], 3) == 155.556
    assert round(t.loc["incremental", "estimate"]) == 4667
    # lines 756-757: L2 Imbalance 909.489, Scaled L2 Imbalance 0.1636
    assert walkthrough.l2_imbalance == pytest.approx(909.489, abs=1e-3)
    assert round(walkthrough.scaled_l2_imbalance, 4) == 0.1636
    # lines 768-780: the model weights
    published = {"cincinnati": 0.2272, "miami": 0.2028, "baton rouge": 0.1335, "minneapolis": 0.09,
                 "dallas": 0.0739, "nashville": 0.0685, "honolulu": 0.0673, "austin": 0.0465, "san diego": 0.0451,
                 "reno": 0.0306, "san antonio": 0.0054, "new york": 0.0046, "houston": 0.0046}
    w = walkthrough.weights
    assert {k: round(v, 4) for k, v in w[w.round(4) > 0].items()} == published
    assert (w >= 0).all() and w.sum() == pytest.approx(1)


def test_walkthrough_p_value_and_jackknife_interval(walkthrough) -> None:
    t = walkthrough.table().set_index("effect")
    # line 750: P-value 0.01; Confidence_Interval_Explanation.md line 72: "1.2% chance" (random iid permutations)
    assert t.loc["att", "p_value"] <= 0.03
    # Confidence_Interval_Explanation.md lines 50 and 66: the conformal interval fails, GeoLift falls back to
    # jackknife+: 90% Confidence Interval (-2450.734, 11349.93) of the incremental Y
    assert (t["interval_method"] == "jackknife+").all()
    assert t.loc["incremental", "lower"] == pytest.approx(-2450.734, abs=0.01)
    assert t.loc["incremental", "upper"] == pytest.approx(11349.93, abs=0.01)
    # the same bounds per period and location (lines 522 and 529: 378.330998, -81.69113)
    assert t.loc["att", "lower"] == pytest.approx(-81.69113, abs=1e-3)
    assert t.loc["att", "upper"] == pytest.approx(378.330998, abs=1e-3)
    # the conformal test indeed rejects every constant effect: its best p-value is below alpha
    assert walkthrough.cell().interval.inversion.pvalues.max() < 0.1


def test_walkthrough_pointwise_day_91(walkthrough) -> None:
    day = walkthrough.series.loc[pd.Timestamp("2021-04-01")]
    # Confidence_Interval_Explanation.md line 332: day 91 Estimate 108.8099, (-82.98491, 300.6048), p 0.2857143
    assert day["att"] == pytest.approx(108.8099, abs=1e-3)
    assert day["p_value"] == pytest.approx(0.2857143, abs=1e-7)
    # GeoLift's bounds are the extreme accepted points of a 50-point grid (+-2 sd); ours are refined between
    # grid points, so they lie outside GeoLift's by less than one grid step
    post_att = walkthrough.series.loc[walkthrough.series["post"], "att"]
    step = 4 * np.sqrt(np.mean(post_att ** 2)) / 49
    assert -82.98491 - step <= day["lower"] <= -82.98491
    assert 300.6048 <= day["upper"] <= 300.6048 + step


def test_walkthrough_ridge_augmented(test_panel) -> None:
    with pytest.warns(UserWarning, match="jackknife"):
        sc = synthetic_control(test_panel, treated=CHI_POR, start=91, end=105, method="ascm", random_state=3,
                               pointwise=False)
    t = sc.table().set_index("effect")
    # GeoLift_Walkthrough.md lines 923-935 (model = "best" selected ridge): ATT 156.805, lift 5.5%,
    # incremental 4704, L2 903.525, scaled 0.1626, average estimated bias -1.249
    assert round(t.loc["att", "estimate"], 3) == 156.805
    assert t.loc["percent_lift", "estimate"] == pytest.approx(5.5, rel=0.02)
    assert round(t.loc["incremental", "estimate"]) == 4704
    assert sc.l2_imbalance == pytest.approx(903.525, abs=1e-3)
    assert round(sc.scaled_l2_imbalance, 4) == 0.1626
    assert round(sc.cell().bias, 3) == -1.249
    assert sc.ridge_lambda is not None and sc.ridge_lambda > 0


def test_start_as_date_equals_geolift_period_number(test_panel, walkthrough) -> None:
    by_date = synthetic_control(test_panel, treated=["Chicago", "Portland"], start="2021-04-01",
                                end=pd.Timestamp("2021-04-15"), inference="none")
    assert by_date.table()["lower"].isna().all() and (by_date.table()["interval_method"] == "none").all()
    np.testing.assert_allclose(by_date.estimate.to_numpy(), walkthrough.estimate.to_numpy())


def test_multicell_published_figures(need) -> None:
    cells = {"cell_1": ["chicago", "cincinnati"], "cell_2": ["honolulu", "indianapolis"]}
    sc = synthetic_control(need("geolift", "GeoLift_Test_MultiCell.csv"), treated=cells, start=91, end=105,
                           method="ascm", alternative="greater", conformal_type="block", pointwise=False)
    t = sc.table().set_index(["cell", "effect"])
    # GeoLift_MultiCell_Walkthrough.md lines 500-513 (cell 1) and 562-575 (cell 2), model "best" = ridge
    for cell, att, lift, incr, l2, scaled, bias in (("cell_1", 673.819, 22.8, 20215, 956.678, 0.1694, -0.441),
                                                    ("cell_2", 216.423, 7.1, 6493, 1508.472, 0.326, 11.782)):
        assert round(t.loc[(cell, "att"), "estimate"], 3) == att
        assert t.loc[(cell, "percent_lift"), "estimate"] == pytest.approx(lift, abs=0.05)
        assert round(t.loc[(cell, "incremental"), "estimate"]) == incr
        c = sc.cell(cell)
        assert c.l2_imbalance == pytest.approx(l2, abs=1e-3)
        assert round(c.scaled_l2_imbalance, 4 if cell == "cell_1" else 3) == scaled
        assert round(c.bias, 3) == bias
        assert not set(c.donors) & {loc for ls in cells.values() for loc in ls}
    # cell weights (lines 522, 584): portland 0.2121 in cell 1, austin 0.3567 in cell 2
    assert round(sc.cell("cell_1").weights["portland"], 4) == 0.2121
    assert round(sc.cell("cell_2").weights["austin"], 4) == 0.3567
    # 90% intervals (lines 504, 566; one-sided "Positive" test, GeoLift's ConfIntervals with block permutations at
    # that commit): the extreme accepted points of the 250-point grid, times 15 periods x 2 locations
    for cell, lower, upper in (("cell_1", 16673.879, 146162.255), ("cell_2", 8745.226, 118669.618)):
        inv = sc.cell(cell).interval.inversion
        lo, hi = inv.grid_bounds(0.1)
        assert lo * 30 == pytest.approx(lower, abs=0.01)
        assert hi * 30 == pytest.approx(upper, abs=0.1)
        # ours: refined below the grid point, and open above for a one-sided "greater" test
        assert t.loc[(cell, "incremental"), "lower"] <= lower
        assert t.loc[(cell, "incremental"), "upper"] == np.inf
        assert t.loc[(cell, "att"), "p_value"] < 0.01


# ---------------------------------------------------------------------------------------------- inference
def _factor_panel(seed: int, effect: float, n: int = 15, T: int = 60, t0: int = 48) -> GeoPanel:
    """Two random-walk factors; the treated location is a convex mix of four donors' loadings (SCM holds)."""
    rng = np.random.default_rng(seed)
    f = rng.normal(0, 1, (T, 2)).cumsum(0)
    load = rng.uniform(0.5, 1.5, (n, 2))
    y = 50 + f @ load.T + rng.normal(0, 1, (T, n))
    mix = rng.dirichlet(np.ones(4)) @ load[rng.choice(np.arange(1, n), 4, replace=False)]
    y[:, 0] = 50 + f @ mix + rng.normal(0, 1, T)
    y[t0:, 0] += effect
    return GeoPanel(y=y, dates=pd.RangeIndex(1, T + 1), locations=[f"g{i:02d}" for i in range(n)])


def test_conformal_interval_coverage_and_size_on_simulated_panels() -> None:
    covered, rejected_null, rejected_effect = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for seed in range(30):
            sc = synthetic_control(_factor_panel(seed, 3.0), treated="g00", start=49, random_state=seed,
                                   pointwise=False, grid_size=100)
            att = sc.table().set_index("effect").loc["att"]
            covered.append(att["lower"] <= 3.0 <= att["upper"])
            rejected_effect.append(att["p_value"] < 0.1)
            sc0 = synthetic_control(_factor_panel(seed, 0.0), treated="g00", start=49, random_state=seed,
                                    pointwise=False, inference="conformal", grid_size=30)
            rejected_null.append(sc0.table()["p_value"].iloc[0] < 0.1)
    assert 0.75 <= np.mean(covered) <= 1.0       # nominal 90%
    assert np.mean(rejected_null) <= 0.25        # nominal 10%
    assert np.mean(rejected_effect) >= 0.5       # an effect of 3 noise sds over 12 periods is mostly found


def test_conformal_block_p_value_by_hand() -> None:
    panel = _factor_panel(1, 2.0)
    sc = synthetic_control(panel, treated="g00", start=49, conformal_type="block", pointwise=False,
                           inference="conformal")
    # by hand: refit on all 60 periods, residuals, every cyclic shift of them, sum |post residuals|
    x1, yc = panel.y[:, 0], panel.y[:, 1:]
    xd, ycd = x1 - x1.mean(), yc - yc.mean(0)
    w = _slsqp(ycd.T @ ycd, ycd.T @ xd)
    r = xd - ycd @ w
    obs = np.abs(r[48:]).sum()
    shifts = [np.abs(np.roll(r, -k)[48:]).sum() for k in range(60)]
    assert sc.table()["p_value"].iloc[0] == pytest.approx(np.mean(np.array(shifts) >= obs - 1e-9), abs=1e-12)


def test_permutation_inference_by_hand(test_panel) -> None:
    sc = synthetic_control(test_panel, treated=CHI_POR, start=91, end=105, inference="permutation", alpha=0.1)
    t = sc.table().set_index("effect")
    pl = sc.cell().placebos
    s = sc.series
    gap = s["att"].to_numpy()
    post = s["post"].to_numpy()
    ratio = np.sqrt(np.mean(gap[post] ** 2)) / np.sqrt(np.mean(gap[~post] ** 2))
    assert len(pl) == 38
    p = (1 + np.sum(pl["statistic"] >= ratio)) / 39
    assert t.loc["att", "p_value"] == pytest.approx(p)
    # one placebo refitted independently: cincinnati against the other donors
    yc = test_panel.y[:, [test_panel.locations.index(d) for d in sc.cell().donors]]
    j = sc.cell().donors.index("cincinnati")
    x1, rest = yc[:, j], np.delete(yc, j, axis=1)
    xd, rd = x1 - x1[:90].mean(), rest - rest[:90].mean(0)
    w = _slsqp(rd[:90].T @ rd[:90], rd[:90].T @ xd[:90])
    g = xd - rd @ w
    assert pl.set_index("location").loc["cincinnati", "pre_rmspe"] == pytest.approx(np.sqrt(np.mean(g[:90] ** 2)),
                                                                                    rel=1e-5)
    # the interval's ends give the treated a ratio equal to the k-th largest placebo ratio (k = ceil(0.1 * 39) - 1)
    thr = np.sort(pl["statistic"].to_numpy())[::-1][int(np.ceil(0.1 * 39 - 1)) - 1]
    pre = np.sqrt(np.mean(gap[~post] ** 2))
    for end in ("lower", "upper"):
        h = t.loc["att", end]
        assert np.sqrt(np.mean((gap[post] - h) ** 2)) / pre == pytest.approx(thr, rel=1e-9)
    assert (t["interval_method"] == "permutation").all()


def test_conf_int_at_other_levels_nests() -> None:
    sc = synthetic_control(_factor_panel(2, 3.0), treated="g00", start=49, random_state=0, pointwise=False)
    levels = [sc.conf_int(a).set_index("effect") for a in (0.01, 0.05, 0.1, 0.2, 0.5)]
    for wide, narrow in zip(levels, levels[1:]):
        assert (wide["lower"] < narrow["lower"]).all() and (narrow["upper"] < wide["upper"]).all()
    # incremental = att x 12 periods x 1 location
    assert levels[2].loc["incremental", "lower"] == pytest.approx(12 * levels[2].loc["att", "lower"])
    # another panel where no constant effect reaches p >= 0.5: the 50% bounds fall back to jackknife+, and say so
    sc4 = synthetic_control(_factor_panel(4, 3.0), treated="g00", start=49, random_state=0, pointwise=False)
    assert sc4.cell().interval.inversion.pvalues.max() < 0.5
    with pytest.warns(UserWarning, match="jackknife"):
        sc4.conf_int(0.5)


@pytest.mark.parametrize("inference, alternative", [("conformal", "two-sided"), ("conformal", "greater"),
                                                    ("conformal", "less"), ("permutation", "two-sided")])
def test_conf_int_at_a_new_level_inverts_the_test_again(inference, alternative) -> None:
    # the reference is independent of conf_int: a fresh fit at that level (the same seed draws the same
    # permutations), which inverts its test at that level from scratch
    panel = _factor_panel(0, 2.0, n=30, T=40, t0=30)
    kw = dict(treated="g00", start=31, random_state=1, pointwise=False, grid_size=60, inference=inference,
              alternative=alternative)
    sc = synthetic_control(panel, **kw)
    assert sc.table()["std_error"].isna().all() and sc.table()["p_value"].notna().all()
    for a in (0.05, 0.2):
        ours = sc.conf_int(a).set_index("effect")
        fresh = synthetic_control(panel, alpha=a, **kw).table().set_index("effect")
        assert (fresh["interval_method"] == inference).all()
        np.testing.assert_allclose(ours["lower"], fresh["lower"], rtol=1e-9)
        np.testing.assert_allclose(ours["upper"], fresh["upper"], rtol=1e-9)
    # never the normal approximation of the NaN std_error: finite, ordered bounds on the closing sides
    att = {a: sc.conf_int(a).set_index("effect").loc["att"] for a in (0.05, 0.1, 0.2)}
    if alternative != "less":
        assert att[0.05]["lower"] < att[0.1]["lower"] < att[0.2]["lower"] < sc.estimate["att"]
    if alternative != "greater":
        assert att[0.05]["upper"] > att[0.1]["upper"] > att[0.2]["upper"] > sc.estimate["att"]


def test_summary_and_plots(walkthrough) -> None:
    import matplotlib.pyplot as plt

    text = str(walkthrough.summary())
    assert "cincinnati" in text and "L2 imbalance 909.5" in text and "jackknife+" in text
    fig = walkthrough.plot()
    assert len(fig.axes) == 2
    observed = next(ln for ln in fig.axes[0].lines if ln.get_label() == "treated (observed)").get_ydata()
    np.testing.assert_allclose(observed, walkthrough.series["observed"])
    plt.close(fig)
    fig = walkthrough.plot(kind="att")
    assert len(fig.axes) == 1
    plt.close(fig)
    fig, axes = plt.subplots(2, 1)  # the array plt.subplots returns
    assert walkthrough.plot(ax=axes) is fig
    assert axes[1].get_ylabel().startswith("ATT")
    plt.close(fig)


# ---------------------------------------------------------------------------------------------- bad input
def _long(y: np.ndarray) -> pd.DataFrame:
    T, n = y.shape
    return pd.DataFrame({"date": np.repeat(np.arange(1, T + 1), n), "location": [f"g{i}" for i in range(n)] * T,
                         "Y": y.ravel()})


def test_bad_input_is_refused_clearly() -> None:
    panel = _factor_panel(0, 0.0, n=6, T=30, t0=25)
    with pytest.raises(ParameterError, match="pre-period"):
        synthetic_control(panel, treated="g00", start=4)
    with pytest.raises(ParameterError, match=r"\['nowhere'\] are not in the panel"):
        synthetic_control(panel, treated=["g00", "nowhere"], start=20)
    with pytest.raises(ParameterError, match="no donors"):
        synthetic_control(panel, treated=panel.locations, start=20)
    with pytest.raises(ParameterError, match=r"start 31 is not a period of the panel \(1 .. 30\)"):
        synthetic_control(panel, treated="g00", start=31)
    dated = GeoPanel(y=panel.y, dates=pd.date_range("2024-01-01", periods=30), locations=panel.locations)
    with pytest.raises(ParameterError, match="period number from 1 to 30"):
        synthetic_control(dated, treated="g00", start=31)
    with pytest.raises(ParameterError, match="integer periods"):
        synthetic_control(panel, treated="g00", start="2024-01-20")
    with pytest.raises(ParameterError, match="before start"):
        synthetic_control(panel, treated="g00", start=20, end=10)
    with pytest.raises(ParameterError, match="cells must be disjoint"):
        synthetic_control(panel, treated={"a": ["g00"], "b": ["g00", "g01"]}, start=20)
    with pytest.raises(ParameterError, match="method='ascm'"):
        synthetic_control(panel, treated="g00", start=20, ridge=1.0)
    with pytest.raises(ParameterError, match="alternative"):
        synthetic_control(panel, treated="g00", start=20, alternative="two_sided")
    with pytest.raises(ParameterError, match="alpha"):
        synthetic_control(panel, treated="g00", start=20, alpha=1.5)
    flat = np.full((30, 5), 7.0)
    with pytest.raises(SchemaError, match="constant over the pre-period"):
        synthetic_control(_long(flat), treated="g0", start=20)
    neg = np.abs(panel.y) + 1
    neg[3, 2] = -5
    with pytest.raises(SchemaError, match="non-negative"):
        synthetic_control(_long(neg), treated="g0", start=20, nonnegative=True)
    with pytest.raises(SchemaError, match="non-negative"):
        synthetic_control(GeoPanel(y=neg, dates=pd.RangeIndex(1, 31), locations=[f"g{i}" for i in range(6)]),
                          treated="g0", start=20, nonnegative=True)
    nan = panel.y.copy()
    nan[2, 1] = np.nan
    with pytest.raises(SchemaError, match="NaN"):
        synthetic_control(GeoPanel(y=nan, dates=pd.RangeIndex(1, 31), locations=panel.locations), treated="g00",
                          start=20)
    with pytest.raises(ParameterError, match="at least 2 donors"):
        synthetic_control(GeoPanel(y=panel.y[:, :2], dates=pd.RangeIndex(1, 31), locations=panel.locations[:2]),
                          treated="g00", start=20, inference="permutation")
    # ridge augmentation needs donors that differ: one donor, or donors a constant apart (equal once demeaned)
    with pytest.raises(ParameterError, match=r"method='ascm' .* 1 donor"):
        synthetic_control(GeoPanel(y=panel.y[:, :2], dates=pd.RangeIndex(1, 31), locations=panel.locations[:2]),
                          treated="g00", start=20, method="ascm")
    alike = panel.y[:, :3].copy()
    alike[:, 2] = alike[:, 1] + 10
    with pytest.raises(ParameterError, match="move alike"):
        synthetic_control(GeoPanel(y=alike, dates=pd.RangeIndex(1, 31), locations=panel.locations[:3]),
                          treated="g00", start=20, method="ascm")
    # cells whose names collide as text would overwrite one another
    with pytest.raises(ParameterError, match="cell names must differ"):
        synthetic_control(panel, treated={1: ["g00"], "1": ["g01"]}, start=20)


def test_locations_differing_only_in_case_are_refused() -> None:
    # "G0" (treated, +5 from period 21) and "g0" (untouched) are different columns; a case-insensitive match would
    # silently analyse one for the other
    panel = _factor_panel(0, 0.0, n=6, T=30, t0=25)
    y = np.abs(panel.y) + 1
    y[20:, 0] += 5
    long = _long(y).assign(location=lambda d: d["location"].map({"g0": "G0", "g1": "g0"}).fillna(d["location"]))
    with pytest.raises(SchemaError, match="'G0' and 'g0' differ only in case"):
        synthetic_control(long, treated="G0", start=21)
    with pytest.raises(SchemaError, match="differ only in case"):
        synthetic_control(GeoPanel(y=y, dates=pd.RangeIndex(1, 31), locations=["G0", "g0", "g2", "g3", "g4", "g5"]),
                          treated="G0", start=21)
    with pytest.raises(SchemaError, match="repeats a location"):
        synthetic_control(GeoPanel(y=y, dates=pd.RangeIndex(1, 31), locations=["g0", "g0", "g2", "g3", "g4", "g5"]),
                          treated="g2", start=21)


def test_a_test_of_the_last_period_only() -> None:
    # one test period, the panel's last: the block p-value by hand is the share of the T cyclic shifts whose
    # residual at the last position is at least as large (in absolute value) as the observed one
    panel = _factor_panel(7, 4.0, n=8, T=30, t0=29)
    sc = synthetic_control(panel, treated="g00", start=30, conformal_type="block", pointwise=False)
    t = sc.table().set_index("effect")
    x1, yc = panel.y[:, 0], panel.y[:, 1:]
    xd, ycd = x1 - x1.mean(), yc - yc.mean(0)
    r = xd - ycd @ _slsqp(ycd.T @ ycd, ycd.T @ xd)
    assert t.loc["att", "p_value"] == pytest.approx(np.mean(np.abs(r) >= np.abs(r[-1]) - 1e-9))
    assert t.loc["incremental", "estimate"] == pytest.approx(t.loc["att", "estimate"])
    assert (t["n_post"] == 1).all() and sc.series["post"].sum() == 1


def test_reads_pandas_polars_duckdb_and_files_alike(tmp_path) -> None:
    import ibis
    import polars as pl

    panel = _factor_panel(8, 2.0, n=8, T=36, t0=28)
    long = _long(panel.y).assign(date=lambda d: pd.Timestamp("2024-01-01") + pd.to_timedelta(d["date"] - 1, "D"))
    kw = dict(treated=["g0", "g1"], start="2024-01-29", inference="none")
    expected = synthetic_control(long, **kw).table()
    long.to_parquet(tmp_path / "long.parquet")
    con = ibis.duckdb.connect()
    for data in (pl.from_pandas(long), con.create_table("long", long), str(tmp_path / "long.parquet")):
        pd.testing.assert_frame_equal(synthetic_control(data, **kw).table(), expected)
    assert expected["n_post"].iloc[0] == 8


def test_numeric_location_ids_name_locations() -> None:
    # trimmed_match and DMA data carry integer geo ids; the panel reads them as text, treated=501 must find "501"
    panel = _factor_panel(6, 2.0, n=8, T=40, t0=30)
    long = _long(panel.y).assign(location=lambda d: d["location"].str[1:].astype(int) + 501)
    by_text = synthetic_control(long, treated=["501", "502"], start=31, inference="none").table()
    pd.testing.assert_frame_equal(synthetic_control(long, treated=[501, 502], start=31, inference="none").table(),
                                  by_text)
    pd.testing.assert_frame_equal(synthetic_control(long, treated={"a": np.array([501, 502])}, start=31,
                                                    inference="none").table(), by_text)
    one = synthetic_control(long, treated=np.int64(501), start=31, inference="none")
    assert one.cell().treated == ["501"]
    with pytest.raises(ParameterError, match=r"names \(text or integer ids\); found \[501.0\]"):
        synthetic_control(long, treated=501.0, start=31)


def test_integer_periods_are_the_panels_own() -> None:
    # an int start on a panel of integer periods is one of those periods: relabelling periods 1..40 as 0..39 or as
    # weeks 202101..202140 and naming the same period gives the same fit (GeoLift's time counts from 1)
    panel = _factor_panel(5, 2.0, n=8, T=40, t0=30)
    kw = dict(treated="g00", inference="none")
    ref = synthetic_control(panel, start=31, end=38, **kw).table()
    for first in (0, 202101):
        relabelled = GeoPanel(y=panel.y, dates=pd.RangeIndex(first, first + 40), locations=panel.locations)
        got = synthetic_control(relabelled, start=first + 30, end=first + 37, **kw).table()
        pd.testing.assert_frame_equal(got, ref)
        assert got["n_post"].iloc[0] == 8
    # the long table reads the same way
    long = _long(panel.y).assign(date=lambda d: d["date"] - 1)
    got = synthetic_control(long, start=30, end=37, treated="g0", inference="none").table()
    np.testing.assert_allclose(got["estimate"], ref["estimate"])
