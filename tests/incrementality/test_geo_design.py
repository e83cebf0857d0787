"""Geo test design: GeoLift's power simulation and market selection against the published walkthrough.

Published figures: facebookincubator/GeoLift at commit db34ea42, vignettes/GeoLift_Walkthrough.md (line numbers
cited at each figure); the walkthrough runs GeoLiftMarketSelection on GeoLift_PreTest (40 cities x 90 days).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketing360.errors import ParameterError
from marketing360.incrementality.geo import _scm
from marketing360.incrementality.geo.design import (
    GeoPower,
    MarketSelection,
    correlation_groups,
    geo_power,
    market_selection,
    minimum_detectable_effect,
)
from marketing360.incrementality.geo.panel import GeoPanel, geo_panel
from marketing360.incrementality.geo.synth import synthetic_control


@pytest.fixture(scope="module")
def pretest(need) -> GeoPanel:
    return geo_panel(need("geolift", "GeoLift_PreTest.csv"))


def test_walkthrough_market_selection_table(pretest) -> None:
    ms = market_selection(pretest, n_markets=[2, 3, 4, 5], durations=[10, 15],
                          effect_sizes=[0.0, 0.05, 0.1, 0.15, 0.2], include=["chicago"], exclude=["honolulu"],
                          cpic=7.5, budget=100_000, alpha=0.1, random_state=0)
    assert isinstance(ms, MarketSelection)
    top = ms.table().head(6)
    # GeoLift_Walkthrough.md lines 369-389: the six best designs
    published = pd.DataFrame({
        "location": ["chicago, cincinnati, houston, portland", "chicago, portland",
                     "chicago, cincinnati, houston, portland", "chicago, portland", "chicago, houston, portland",
                     "chicago, cincinnati, houston, nashville, san diego"],
        "duration": [15, 15, 10, 10, 10, 15], "effect_size": [0.05, 0.10, 0.10, 0.10, 0.10, 0.05],
        "power": [1.0] * 6,
        "scaled_l2_imbalance": [0.1971864, 0.1738778, 0.1966996, 0.1682310, 0.2305628, 0.2699167],
        "investment": [74118.38, 64563.75, 99027.75, 43646.25, 75389.25, 95755.50],
        "att": [159.3627, 290.0071, 316.6204, 300.9401, 350.3142, 146.7975],
        "detected_lift": [0.04829913, 0.10117316, 0.09552879, 0.10378013, 0.10502968, 0.04282215],
        "proportion_total_y": [0.07576405, 0.03306537, 0.07576405, 0.03306537, 0.05797087, 0.09801138],
        "abs_lift_in_zero": [0.002, 0.001, 0.004, 0.004, 0.005, 0.007],
        "holdout": [0.9242359, 0.9669346, 0.9242359, 0.9669346, 0.9420291, 0.9019886],
        "rank": [1, 1, 3, 3, 5, 6],
        "correlation": [0.9144814, 0.9321104, 0.9144814, 0.9321104, 0.9139549, 0.8992280]})
    assert top["location"].tolist() == published["location"].tolist()
    assert top["duration"].tolist() == published["duration"].tolist()
    assert top["rank"].tolist() == published["rank"].tolist()
    for col, tol in (("effect_size", 1e-9), ("power", 1e-9), ("scaled_l2_imbalance", 1e-6), ("investment", 0.01),
                     ("att", 1e-3), ("detected_lift", 1e-6), ("proportion_total_y", 1e-7),
                     ("abs_lift_in_zero", 1e-9), ("holdout", 1e-6), ("correlation", 1e-6)):
        np.testing.assert_allclose(top[col].to_numpy(float), published[col].to_numpy(float), atol=tol, err_msg=col)
    # every design holds chicago and not honolulu; the investment stays under the budget
    assert ms.table()["location"].str.contains("chicago").all()
    assert not ms.table()["location"].str.contains("honolulu").any()
    assert (ms.table()["investment"] < 100_000).all()


def test_walkthrough_simulated_lift_of_chicago_portland(pretest, need) -> None:
    # GeoLift_Walkthrough.md lines 543-566: plot(MarketSelections, market_ID = 2) runs GeoLift on the pre-test data
    # with chicago and portland lifted by 10% over the last 15 days: ATT 290.007, lift 10.1%, incremental 8700,
    # L2 imbalance 868.598, scaled 0.1739, weights cincinnati 0.2429, miami 0.2056, baton rouge 0.1511
    long = pd.read_csv(need("geolift", "GeoLift_PreTest.csv"))
    long["Y"] = long["Y"].astype(float)
    dates = sorted(long["date"].unique())
    lifted = long["location"].isin(["chicago", "portland"]) & long["date"].isin(dates[75:])
    long.loc[lifted, "Y"] = long.loc[lifted, "Y"] * 1.1
    sc = synthetic_control(long, treated=["chicago", "portland"], start=76, random_state=0, pointwise=False)
    t = sc.table().set_index("effect")
    assert round(t.loc["att", "estimate"], 3) == 290.007
    assert t.loc["percent_lift", "estimate"] == pytest.approx(10.1, abs=0.05)
    assert round(t.loc["incremental", "estimate"]) == 8700
    assert sc.l2_imbalance == pytest.approx(868.598, abs=1e-3)
    assert round(sc.scaled_l2_imbalance, 4) == 0.1739
    assert sc.weights.round(4)[["cincinnati", "miami", "baton rouge"]].tolist() == [0.2429, 0.2056, 0.1511]
    assert t.loc["att", "p_value"] < 0.01  # line 546: P-value 0
    # the same simulation inside geo_power: same ATT and detected lift (market selection row 2 above)
    pw = geo_power(pretest, treated=["chicago", "portland"], durations=15, effect_sizes=[0.1], random_state=0)
    row = pw.table().iloc[0]
    assert row["att"] == pytest.approx(t.loc["att", "estimate"], rel=1e-9)
    assert row["detected_lift"] == pytest.approx(0.10117316, abs=1e-7)


def test_walkthrough_weights_on_the_full_pretest(pretest) -> None:
    # GeoLift_Walkthrough.md lines 585-606: GetWeights(chicago, portland, pretreatment_end_time = 90, fixed effects)
    ti = pretest.index_of(["chicago", "portland"])
    donors = [i for i in range(pretest.n_locations) if i not in ti]
    fit = _scm.fit_scm(pretest.y[:, ti].mean(axis=1), pretest.y[:, donors], 90, fixed_effects=True, ridge=False)
    w = pd.Series(fit.weights, index=[pretest.locations[i] for i in donors]).sort_values(ascending=False)
    published = {"cincinnati": 0.22717797, "miami": 0.20276981, "baton rouge": 0.13353743,
                 "minneapolis": 0.08997973, "dallas": 0.07392298, "nashville": 0.06853184}
    assert w.index[:6].tolist() == list(published)
    np.testing.assert_allclose(w.iloc[:6].to_numpy(), list(published.values()), atol=2e-6)


def test_power_p_values_are_synthetic_controls_on_the_lifted_history(pretest) -> None:
    # with block permutations the test is deterministic: each simulated p-value equals synthetic_control's on the
    # history with the effect injected by hand (window 2 of 2: the test ends one period before the last)
    pw = geo_power(pretest, treated=["denver"], durations=10, effect_sizes=[-0.1, 0.05], lookback=2,
                   conformal_type="block", side="one-sided")
    assert isinstance(pw, GeoPower)
    sims = pw.simulations.set_index(["window", "effect_size"])
    y = pretest.y[:89].copy()
    d = pretest.locations.index("denver")
    for es, alternative in ((-0.1, "less"), (0.05, "greater")):
        yy = y.copy()
        yy[79:89, d] *= 1 + es
        panel = GeoPanel(y=yy, dates=pretest.dates[:89], locations=pretest.locations)
        sc = synthetic_control(panel, treated="denver", start=80, conformal_type="block", alternative=alternative,
                               pointwise=False)
        t = sc.table().set_index("effect")
        assert sims.loc[(2, es), "p_value"] == pytest.approx(t.loc["att", "p_value"], abs=1e-12)
        assert sims.loc[(2, es), "att"] == pytest.approx(t.loc["att", "estimate"], rel=1e-9)
        assert sims.loc[(2, es), "investment"] == pytest.approx(es * pretest.y[79:89, d].sum())
    assert pw.table()["n_windows"].tolist() == [2, 2]
    assert sims.loc[(2, 0.05), "treatment_start"] == pretest.dates[79]


def test_power_curve_and_mde(pretest) -> None:
    pw = geo_power(pretest, treated=["chicago", "portland"], durations=[10, 15], effect_sizes=[0, 0.025, 0.05, 0.1],
                   lookback=3, random_state=1, alpha=0.1)
    t = pw.table()
    assert set(t["duration"]) == {10, 15} and len(t) == 8
    # power is the share of the three windows with p < alpha, recomputed from the simulations
    sims = pw.simulations
    again = (sims["p_value"] < 0.1).groupby([sims["duration"], sims["effect_size"]]).mean()
    np.testing.assert_allclose(t.set_index(["duration", "effect_size"])["power"], again)
    # the MDE of each length follows GeoLift's rule on its curve
    for d, g in t.groupby("duration"):
        assert pw.mde[d] == minimum_detectable_effect(g) or (np.isnan(pw.mde[d]) and
                                                             np.isnan(minimum_detectable_effect(g)))
    assert pw.mde[15] <= 0.1
    assert "MDE" in str(pw.summary())


def test_minimum_detectable_effect_rule() -> None:
    curve = lambda es, p: pd.DataFrame({"effect_size": es, "power": p})  # noqa: E731
    # GeoLiftMarketSelection step 4: smallest positive and largest negative effect with power > 0.8; the negative
    # one only when strictly smaller in absolute value
    assert minimum_detectable_effect(curve([-0.1, -0.05, 0, 0.05, 0.1], [1, 0.9, 0.1, 0.85, 1])) == 0.05
    assert minimum_detectable_effect(curve([-0.1, -0.05, 0, 0.05, 0.1], [1, 0.9, 0.1, 0.5, 1])) == -0.05
    assert minimum_detectable_effect(curve([0, 0.05, 0.1], [0.1, 0.8, 0.81])) == 0.1   # 0.8 is not above 0.8
    assert np.isnan(minimum_detectable_effect(curve([0, 0.05], [0.1, 0.2])))


def test_single_market_selection_over_every_location(pretest) -> None:
    ms = market_selection(pretest, n_markets=1, durations=10, effect_sizes=[-0.1, -0.05, 0, 0.05, 0.1],
                          random_state=0)
    curves = ms.power_curves
    assert curves["location"].nunique() == 40 and (curves["n_markets"] == 1).all()
    t = ms.table()
    assert (t["rank"].diff().dropna() >= 0).all()
    # rank recomputed from its definition: mean of dense ranks of |MDE|, -power and abs_lift_in_zero
    score = (t["effect_size"].abs().rank(method="dense") + (-t["power"]).rank(method="dense")
             + t["abs_lift_in_zero"].rank(method="dense")) / 3
    assert t["rank"].tolist() == score.rank(method="min").astype(int).tolist()
    # proportion of the outcome, by hand
    first = t.iloc[0]
    share = pretest.y[:, pretest.locations.index(first["location"])].sum() / pretest.y.sum()
    assert first["proportion_total_y"] == pytest.approx(share)
    assert first["holdout"] == pytest.approx(1 - share if first["effect_size"] > 0 else share)


def test_correlation_groups_match_pandas(pretest) -> None:
    wide = pd.DataFrame(pretest.y, columns=pretest.locations)
    corr = wide.corr()
    groups = correlation_groups(pretest, 3, pretest.locations)
    expected = {tuple(sorted([loc, *corr[loc].drop(loc).sort_values(ascending=False).index[:2]]))
                for loc in pretest.locations}
    assert {tuple(g) for g in groups} == expected
    assert len(groups) == len(expected)


def test_design_errors_are_clear(pretest) -> None:
    with pytest.raises(ParameterError, match="fewer than 5 pre-periods"):
        geo_power(pretest, treated="chicago", durations=80, lookback=10)
    with pytest.raises(ParameterError, match="lookback"):
        geo_power(pretest, treated="chicago", lookback=0)
    with pytest.raises(ParameterError, match="durations"):
        geo_power(pretest, treated="chicago", durations=[0])
    with pytest.raises(ParameterError, match="effect_sizes"):
        geo_power(pretest, treated="chicago", effect_sizes=[-1.5])
    with pytest.raises(ParameterError, match="effect_sizes"):
        geo_power(pretest, treated="chicago", effect_sizes="5%")
    with pytest.raises(ParameterError, match="not in the panel"):
        geo_power(pretest, treated="atlantis")
    with pytest.raises(ParameterError, match="no donors"):
        geo_power(pretest, treated=pretest.locations)
    with pytest.raises(ParameterError, match="side"):
        geo_power(pretest, treated="chicago", side="both")
    with pytest.raises(ParameterError, match="overlap"):
        market_selection(pretest, include=["chicago"], exclude=["chicago"])
    with pytest.raises(ParameterError, match="n_markets"):
        market_selection(pretest, n_markets=40)
    with pytest.raises(ParameterError, match="include"):
        market_selection(pretest, n_markets=1, include=["chicago", "portland"])
    with pytest.raises(ParameterError, match="holdout"):
        market_selection(pretest, holdout=(0.9, 0.5))


def _small_panel(names: list[str], seed: int = 0, T: int = 40) -> GeoPanel:
    rng = np.random.default_rng(seed)
    f = rng.normal(0, 1, (T, 2)).cumsum(0)
    y = 100 + f @ rng.uniform(0.5, 1.5, (2, len(names))) * 3 + rng.normal(0, 1, (T, len(names)))
    return GeoPanel(y=y, dates=pd.RangeIndex(1, T + 1), locations=names)


def test_market_selection_with_commas_in_location_names() -> None:
    # DMA names hold ", " ("washington, dc (hagerstown, md)"): a design's name joins its locations with ", ", so
    # the locations must not be recovered by splitting the name
    names = ["austin", "boston", "denver", "miami, fl", "reno", "tulsa", "washington, dc (hagerstown, md)"]
    panel = _small_panel(names)
    designs = [["washington, dc (hagerstown, md)"], ["miami, fl", "reno"], ["austin"]]
    ms = market_selection(panel, candidates=designs, durations=5, effect_sizes=[0.0, 0.5], n_permutations=200,
                          random_state=0)
    t = ms.table().set_index("location")
    assert set(t.index) == {"washington, dc (hagerstown, md)", "miami, fl, reno", "austin"}
    totals = panel.y.sum(axis=0)
    for name, locs in (("washington, dc (hagerstown, md)", [6]), ("miami, fl, reno", [3, 4])):
        # by hand: the design's share of the outcome, and the correlation of its total with the others' total
        assert t.loc[name, "proportion_total_y"] == pytest.approx(totals[locs].sum() / totals.sum())
        rest = np.delete(panel.y, locs, axis=1).sum(axis=1)
        assert t.loc[name, "correlation"] == pytest.approx(np.corrcoef(panel.y[:, locs].sum(axis=1), rest)[0, 1])


def test_investment_of_a_negative_mde_is_positive_as_in_geolift() -> None:
    # GeoLiftMarketSelection step 10 (R/pre_test_power.R at db34ea42): a negative effect's investment
    # (cpic x effect x outcome, negative) is negated: the table reports what the lift, or the holdout, costs
    names = ["a", "b", "c", "d", "e", "f"]
    panel = _small_panel(names, seed=3)
    ms = market_selection(panel, candidates=[["a"], ["b", "c"]], durations=5, effect_sizes=[-0.5, 0.0], cpic=2.0,
                          n_permutations=200, random_state=0)
    t = ms.table().set_index("location")
    assert (t["effect_size"] == -0.5).all()
    for name, idx in (("a", [0]), ("b, c", [1, 2])):
        assert t.loc[name, "investment"] == pytest.approx(2.0 * 0.5 * panel.y[35:, idx].sum())  # by hand, > 0
    with pytest.raises(ParameterError, match="cpic"):
        market_selection(panel, candidates=[["a"]], durations=5, cpic=float("nan"))
    with pytest.raises(ParameterError, match="budget"):
        market_selection(panel, candidates=[["a"]], durations=5, budget=float("nan"))
    with pytest.raises(ParameterError, match="power"):
        geo_power(panel, treated="a", durations=5, power="high")


def test_design_refuses_repeated_designs_and_ridge_on_one_donor() -> None:
    panel = _small_panel(["a", "b", "c", "d"])
    with pytest.raises(ParameterError, match=r"candidates repeat a design: \[\['a', 'b'\]\]"):
        market_selection(panel, candidates=[["a", "b"], ["c"], ["b", "a"]], durations=5, effect_sizes=[0.1])
    # a ridge augmentation needs two donors that differ (else its penalty grid is all zero): a clear error
    two = GeoPanel(y=panel.y[:, :2], dates=panel.dates, locations=["a", "b"])
    with pytest.raises(ParameterError, match="method='ascm'"):
        geo_power(two, treated="a", durations=5, effect_sizes=[0.1], method="ascm")


def test_power_plots(pretest) -> None:
    import matplotlib.pyplot as plt

    pw = geo_power(pretest, treated=["chicago"], durations=[10, 15], effect_sizes=[0, 0.1], random_state=0)
    fig = pw.plot()
    ax = fig.axes[0]
    assert len([ln for ln in ax.lines if ln.get_label().startswith("duration")]) == 2
    np.testing.assert_allclose(ax.lines[0].get_ydata(), pw.table().query("duration == 10")["power"])
    plt.close(fig)
