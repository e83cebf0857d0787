"""Time-based regression: matched_markets' published R values, a statsmodels hand computation of the
cumulative effect and its variance, coverage on simulated geo experiments, and refusals."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from marketing360.errors import ParameterError, SchemaError
from marketing360.incrementality.geo.panel import geo_panel
from marketing360.incrementality.geo.tbr import tbr

PRE, TEST = ("2015-01-05", "2015-02-15"), ("2015-02-16", "2015-03-15")


# ------------------------------------------------------------------ matched_markets' published figures

def test_reproduces_matched_markets_r_values(salesandcost):
    # google/matched_markets, matched_markets/tests/test_tbr_iroas.py (commit 5e3cd95),
    # testFixedCostIROASSummary, "Summary values from R" (level 0.9, one tail, use_cooldown=False):
    #   estimate 2.946742, precision 0.120548, lower 2.826194, incremental response 147337.122,
    #   incremental cost 50000, probability 1.0, relative lift 0.173998 (lower 0.165686)
    # and tests/test_tbr.py: pre-period slope 0.9997001 "under the R package"
    r = tbr(salesandcost, assignment="assignment", pre=PRE, test=TEST, cost="cost", alpha=0.2)
    assert r.coef[1] == pytest.approx(0.9997001, abs=1e-7)
    assert r.scenario == "fixed"
    post = r.posterior(0.9, tails=1).set_index("metric")
    iroas = post.loc["iroas"]
    assert (iroas["estimate"], iroas["precision"], iroas["lower"]) == pytest.approx(
        (2.946742, 0.120548, 2.826194), abs=1e-6)
    assert iroas["upper"] == np.inf
    assert iroas["probability"] == pytest.approx(1.0, abs=1e-6)
    assert post.loc["incremental_response", "estimate"] == pytest.approx(147337.122, abs=1e-2)
    assert post.loc["incremental_response", "lower"] == pytest.approx(2.826194 * 50000, abs=0.1)
    assert r.incremental_cost == pytest.approx(50000, abs=1e-5)
    # R's lift is the median of simulated lifts (matched_markets draws 10,000): 1e-4 of it
    resp = r.table().set_index("metric").loc["incremental_response"]
    assert resp["relative_lift"] == pytest.approx(0.173998, abs=1e-4)
    assert resp["relative_lift_lower"] == pytest.approx(0.165686, abs=1e-4)  # two-sided 80% = one-sided 90%
    # the TBR+MM post-analysis colab guide (docs/Open Source TBR+MM post analysis colab guide.pdf, Cell 4) prints
    # 2.947 / 0.121 / 0.90 / 2.83 / [inf]; incremental cost = 50K; incremental response = 147K; 14.82%
    assert (round(iroas["estimate"], 3), round(iroas["precision"], 3), round(iroas["lower"], 2)) == (
        2.947, 0.121, 2.83)
    assert round(100 * resp["estimate"] / r.observed, 2) == 14.82
    # the guide's checksums (Cell 2): test treatment response 994276.4, pretest control 1007853.66
    assert r.observed == pytest.approx(994276.4)
    assert r.series.loc[r.series["period"] == "pre", "control"].sum() == pytest.approx(1007853.66)

    # testVariableCostIROASSummaryTwoTails (same file): level 0.9, two tails, R's values "treated as constants"
    # (R simulated them: the test allows 1e-2 on the iROAS and 1e-4 on the lift): lower 2.79135, upper 3.102936,
    # precision 0.1557932; relative lift 0.173998 [0.163273, 0.184885]
    two = r.posterior(0.9, tails=2).set_index("metric").loc["iroas"]
    assert (two["lower"], two["upper"], two["precision"]) == pytest.approx((2.79135, 3.102936, 0.1557932), abs=1e-3)
    r90 = tbr(salesandcost, assignment="assignment", pre=PRE, test=TEST, cost="cost", alpha=0.1)
    lift = r90.table().set_index("metric").loc["incremental_response"]
    assert (lift["relative_lift_lower"], lift["relative_lift_upper"]) == pytest.approx((0.163273, 0.184885), abs=1e-4)
    assert r90.conf_int(0.2).set_index("metric").loc["iroas", "lower"] == pytest.approx(iroas["lower"], rel=1e-12)


# ------------------------------------------------------------------ a hand computation with statsmodels

def _panel(seed, *, n_geos=8, days=70, start_test=50, effect=0.0, spend=None, control_spend=False):
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    factor = 100 + 15 * np.sin(2 * np.pi * t / 7) + 0.3 * t + np.cumsum(rng.normal(0, 2, days))
    rows = []
    for g in range(n_geos):
        treated = g < n_geos // 2
        w = rng.uniform(0.5, 1.5)
        y = w * factor + rng.normal(0, 3, days)
        cost = 5 + rng.uniform(0, 1, days) if control_spend else np.zeros(days)
        if treated:
            heavy_up = np.where(t >= start_test, spend or 0.0, 0.0)
            cost = cost + heavy_up
            y = y + np.where(t >= start_test, effect, 0.0) + 2.0 * heavy_up  # true iROAS 2
        rows.append(pd.DataFrame({"date": pd.date_range("2023-01-01", periods=days), "geo": f"g{g}",
                                  "response": y, "cost": cost, "assignment": 1 if treated else 2}))
    return pd.concat(rows, ignore_index=True)


def test_matches_a_statsmodels_hand_computation():
    data = _panel(0, effect=4.0)
    pre, test, cool = ("2023-01-01", "2023-02-19"), ("2023-02-20", "2023-03-06"), "2023-03-11"
    r = tbr(data, assignment="assignment", pre=pre, test=test, cooldown_end=cool, alpha=0.1)
    wide = data.pivot_table(index="date", columns="assignment", values="response", aggfunc="sum")
    y, x = wide[1], wide[2]
    pre_i, eff_i = (wide.index <= "2023-02-19"), (wide.index >= "2023-02-20") & (wide.index <= cool)
    fit = sm.OLS(y[pre_i].to_numpy(), sm.add_constant(x[pre_i].to_numpy())).fit()
    xe = sm.add_constant(x[eff_i].to_numpy())
    effect = y[eff_i].to_numpy() - fit.predict(xe)
    # Kerman et al. (2017) eq. 5: Var(sum of T effects) = s' V s + T sigma^2, s = the summed design rows
    s = xe.sum(axis=0)
    var = s @ fit.cov_params() @ s + len(effect) * fit.scale
    est, se, dof = effect.sum(), np.sqrt(var), fit.df_resid
    row = r.table().set_index("metric").loc["incremental_response"]
    assert (row["estimate"], row["std_error"]) == pytest.approx((est, se), rel=1e-10)
    q = stats.t.ppf(0.95, dof)
    assert (row["lower"], row["upper"]) == pytest.approx((est - q * se, est + q * se), rel=1e-10)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(est / se), dof), rel=1e-8)
    assert row["probability"] == pytest.approx(stats.t.sf(0, dof, loc=est, scale=se), rel=1e-10)
    assert r.dof == dof
    assert f"90% intervals (t with {dof:g} degrees of freedom)" in str(r.summary())
    # every cumulative point of the series, and the pointwise bands of statsmodels' predictions
    eff = r.series[r.series["period"] != "pre"]
    for k in (0, 7, len(eff) - 1):
        sk = xe[:k + 1].sum(axis=0)
        assert eff["cumulative"].iloc[k] == pytest.approx(effect[:k + 1].sum(), rel=1e-10)
        half = eff["cumulative_upper"].iloc[k] - eff["cumulative"].iloc[k]
        assert half == pytest.approx(q * np.sqrt(sk @ fit.cov_params() @ sk + (k + 1) * fit.scale), rel=1e-10)
    frame = fit.get_prediction(xe).summary_frame(alpha=0.1)
    assert eff["counterfactual"].to_numpy() == pytest.approx(frame["mean"].to_numpy(), rel=1e-10)
    assert eff["counterfactual_lower"].to_numpy() == pytest.approx(frame["obs_ci_lower"].to_numpy(), rel=1e-10)
    assert (r.series["period"] == "cooldown").sum() == 5
    # another level from the same t distribution
    ci = r.conf_int(0.3).set_index("metric").loc["incremental_response"]
    q70 = stats.t.ppf(0.85, dof)
    assert (ci["lower"], ci["upper"]) == pytest.approx((est - q70 * se, est + q70 * se), rel=1e-10)


def test_panel_and_explicit_locations_agree_with_the_assignment_column():
    data = _panel(1, effect=2.0)
    kw = {"pre": ("2023-01-01", "2023-02-19"), "test": ("2023-02-20", "2023-03-11")}
    a = tbr(data, assignment="assignment", **kw)
    b = tbr(data, treatment=["g0", "g1", "g2", "g3"], **kw)
    c = tbr(geo_panel(data), treatment=["G0", "g1", "g2", "g3"], control=["g4", "g5", "g6", "g7"], **kw)
    for r in (b, c):
        pd.testing.assert_frame_equal(a.table(), r.table())
    fig = a.plot()
    assert len(fig.axes) == 3
    plt.close(fig)
    fig = a.plot(panel="cumulative")
    assert len(fig.axes) == 1
    plt.close(fig)


def test_variable_cost_iroas_from_the_two_tbr_effects():
    data = _panel(2, spend=10.0, control_spend=True)  # true iROAS 2
    kw = {"assignment": "assignment", "pre": ("2023-01-01", "2023-02-19"), "test": ("2023-02-20", "2023-03-11"),
          "cost": "cost", "alpha": 0.1}
    r = tbr(data, random_state=5, **kw)
    assert r.scenario == "variable"
    t = r.table().set_index("metric")
    # the cost effect by hand: TBR of the treatment cost on the control cost over the test
    wide = data.pivot_table(index="date", columns="assignment", values="cost", aggfunc="sum")
    pre_i, test_i = wide.index <= "2023-02-19", wide.index >= "2023-02-20"
    fit = sm.OLS(wide[1][pre_i].to_numpy(), sm.add_constant(wide[2][pre_i].to_numpy())).fit()
    xe = sm.add_constant(wide[2][test_i].to_numpy())
    cost_effect = (wide[1][test_i].to_numpy() - fit.predict(xe)).sum()
    assert t.loc["incremental_cost", "estimate"] == pytest.approx(cost_effect, rel=1e-10)
    assert cost_effect == pytest.approx(10.0 * 4 * 20, rel=0.02)
    # the iROAS: mean and percentiles of draws of the ratio; an independent Monte Carlo agrees
    resp, cost = t.loc["incremental_response"], t.loc["incremental_cost"]
    rng = np.random.default_rng(123)
    ratio = (stats.t.rvs(r.dof, resp["estimate"], resp["std_error"], size=200_000, random_state=rng)
             / stats.t.rvs(r.dof, cost["estimate"], cost["std_error"], size=200_000, random_state=rng))
    assert t.loc["iroas", "estimate"] == pytest.approx(ratio.mean(), rel=0.01)
    assert (t.loc["iroas", "lower"], t.loc["iroas", "upper"]) == pytest.approx(
        tuple(np.percentile(ratio, [5, 95])), rel=0.02)
    assert t.loc["iroas", "lower"] < 2.0 < t.loc["iroas", "upper"]
    assert len(r.draws) == 10_000
    again = tbr(data, random_state=5, **kw)
    pd.testing.assert_frame_equal(r.table(), again.table())


def test_interval_covers_a_known_effect():
    # 30 simulated split-geo experiments with +3 per treated geo per test day (4 geos x 20 days = 240)
    hits, ests = 0, []
    for seed in range(30):
        data = _panel(100 + seed, effect=3.0)
        r = tbr(data, assignment="assignment", pre=("2023-01-01", "2023-02-19"), test=("2023-02-20", "2023-03-11"),
                alpha=0.1)
        row = r.table().iloc[0]
        hits += row["lower"] <= 240 <= row["upper"]
        ests.append(row["estimate"])
    assert hits >= 23  # 90% intervals: 27 expected; P(at most 22 of 30) < 1%
    assert abs(np.mean(ests) - 240) < 3 * np.std(ests) / np.sqrt(30)


def test_controls_that_do_not_move_with_the_treatment_are_flagged():
    # stationary geos with independent noise: the control sum says nothing about the treatment's day; the slope
    # is ~0, so the counterfactual is the treatment's pre-period mean, and a shared level shift in the test
    # (+10% everywhere) shows up as an effect that is not there
    rng = np.random.default_rng(3)
    days = pd.date_range("2024-01-01", periods=70)
    level = np.where(days >= days[49], 110.0, 100.0)
    rows = [{"date": d, "geo": f"g{g}", "Y": rng.poisson(lv)} for g in range(8) for d, lv in zip(days, level)]
    data = pd.DataFrame(rows)
    r2 = np.corrcoef(*(data[data.date < days[49]].assign(arm=lambda x: x.geo.isin(["g0", "g1", "g2", "g3"]))
                       .groupby(["arm", "date"]).Y.sum().unstack(0).to_numpy().T))[0, 1] ** 2
    with pytest.warns(UserWarning, match=f"the controls explain R² = {r2:.2f} of the treated series"):
        r = tbr(data, treatment=["g0", "g1", "g2", "g3"], pre=(days[0], days[48]), test=(days[49], days[69]))
    assert r2 < 0.2 and f"R² {r2:.3g})" in str(r.summary())
    assert r.table().iloc[0].estimate > 0.6 * 4 * 10 * 21  # most of the shared +10% read as an effect


# ------------------------------------------------------------------ refusals

@pytest.fixture(scope="module")
def small():
    return _panel(9)


def test_too_few_pre_periods_are_refused(small):
    with pytest.raises(ParameterError, match="at least 3 pre-periods; found 2"):
        tbr(small, assignment="assignment", pre=("2023-01-01", "2023-01-02"), test=("2023-02-20", "2023-03-11"))


def test_windows_out_of_range_or_overlapping_are_refused(small):
    with pytest.raises(ParameterError, match="out of the panel's range"):
        tbr(small, assignment="assignment", pre=("2023-01-01", "2023-02-19"), test=("2023-02-20", "2023-04-30"))
    with pytest.raises(ParameterError, match="must end before the test"):
        tbr(small, assignment="assignment", pre=("2023-01-01", "2023-02-25"), test=("2023-02-20", "2023-03-11"))
    with pytest.raises(ParameterError, match="cooldown_end"):
        tbr(small, assignment="assignment", pre=("2023-01-01", "2023-02-19"), test=("2023-02-20", "2023-03-01"),
            cooldown_end="2023-02-25")
    with pytest.raises(ParameterError, match=r"\(start, end\) pair"):
        tbr(small, assignment="assignment", pre="2023-01-01", test=("2023-02-20", "2023-03-01"))


def test_bad_arms_are_refused(small):
    kw = {"pre": ("2023-01-01", "2023-02-19"), "test": ("2023-02-20", "2023-03-11")}
    with pytest.raises(SchemaError, match=r"values \['0'\] besides treatment=1 and control=2"):
        tbr(small.assign(assignment=np.where(small["geo"] == "g7", 0, small["assignment"])),
            assignment="assignment", **kw)
    with pytest.raises(SchemaError, match="no location is assigned to control"):
        tbr(small.assign(assignment=1), assignment="assignment", **kw)
    with pytest.raises(ParameterError, match="give the treatment locations"):
        tbr(small, **kw)
    with pytest.raises(ParameterError, match=r"\['nowhere'\] are not in the panel"):
        tbr(small, treatment=["nowhere"], **kw)
    with pytest.raises(ParameterError, match="in both the treatment and the control"):
        tbr(small, treatment=["g0", "g1"], control=["g1", "g2"], **kw)
    with pytest.raises(ParameterError, match="either assignment= or treatment="):
        tbr(small, treatment=["g0"], assignment="assignment", **kw)


def test_degenerate_data_is_refused(small):
    kw = {"assignment": "assignment", "pre": ("2023-01-01", "2023-02-19"), "test": ("2023-02-20", "2023-03-11")}
    flat = small.assign(response=np.where(small["assignment"] == 2, 5.0, small["response"]))
    with pytest.raises(SchemaError, match="constant over the pre-period"):
        tbr(flat, **kw)
    with pytest.raises(SchemaError, match="iROAS is undefined"):
        tbr(small, cost="cost", **kw)  # nobody ever spends
    with pytest.raises(SchemaError, match="'spend' is not in the table"):
        tbr(small, cost="spend", **kw)
    with pytest.raises(ParameterError, match="n_draws"):
        tbr(small, n_draws=10, **kw)
    with pytest.raises(ParameterError, match="tails must be 1 or 2"):
        tbr(small, **kw).posterior(tails=3)


# ------------------------------------------------------------------ review fixes: edge inputs

def test_a_constant_treatment_series_is_refused(small):
    # a flat treatment series fits exactly (residual variance 0): the effect would come with a standard error of
    # rounding noise and a p-value made of it
    kw = {"assignment": "assignment", "pre": ("2023-01-01", "2023-02-19"), "test": ("2023-02-20", "2023-03-11")}
    flat = small.assign(response=np.where(small["assignment"] == 1, 7.0, small["response"]))
    with pytest.raises(SchemaError, match="treatment series of 'response' is constant over the pre-period"):
        tbr(flat, **kw)


def test_window_bounds_with_a_time_zone_or_a_number(small):
    kw = {"assignment": "assignment", "test": ("2023-02-20", "2023-03-11")}
    naive = tbr(small, pre=("2023-01-01", "2023-02-19"), **kw)
    # geo_panel keeps naive UTC times: a zoned bound is the same instant
    zoned = tbr(small, pre=(pd.Timestamp("2023-01-01", tz="UTC"), "2023-02-19"), **kw)
    pd.testing.assert_frame_equal(naive.table(), zoned.table())
    # integers on a panel of dates are GeoLift's period numbers, from 1 (as synthetic_control reads them)
    dates = pd.DatetimeIndex(sorted(pd.to_datetime(small.date.unique())))
    first, last = dates.get_loc(pd.Timestamp("2023-01-01")) + 1, dates.get_loc(pd.Timestamp("2023-02-19")) + 1
    numbered = tbr(small, pre=(first, last), **kw)
    pd.testing.assert_frame_equal(naive.table(), numbered.table())
    with pytest.raises(ParameterError, match="period number from 1"):
        tbr(small, pre=(0, 49), **kw)
    with pytest.raises(ParameterError, match="dates or period numbers"):
        tbr(small, pre=(1.5, 49), **kw)


def test_one_location_given_alone_and_integer_geo_ids(small):
    kw = {"pre": ("2023-01-01", "2023-02-19"), "test": ("2023-02-20", "2023-03-11")}
    ids = small.assign(geo=small["geo"].str[1:].astype(int))
    one = tbr(ids, treatment=3, control=[4, 5, 6, 7], **kw)
    listed = tbr(small, treatment=["g3"], control=["g4", "g5", "g6", "g7"], **kw)
    pd.testing.assert_frame_equal(one.table(), listed.table())
    assert one.treatment == ["3"]


def test_any_table_open_table_accepts(small):
    import ibis
    import polars as pl

    kw = {"assignment": "assignment", "pre": ("2023-01-01", "2023-02-19"), "test": ("2023-02-20", "2023-03-11"),
          "cost": "cost"}
    spend = small.assign(cost=np.where((small["assignment"] == 1) & (small["date"] >= "2023-02-20"), 10.0, 0.0))
    ref = tbr(spend, **kw).table()
    con = ibis.duckdb.connect()
    for data in (pl.from_pandas(spend), con.create_table("tbr_panel", spend),
                 spend.assign(date=spend["date"].dt.strftime("%Y-%m-%d"))):
        pd.testing.assert_frame_equal(tbr(data, **kw).table(), ref)


def _spend(data, *, control_test=0.0, flat_control=None):
    """Heavy-up of 10 a day in the treatment geos over the test; a flat daily control budget or test spend."""
    test = data["date"] >= "2023-02-20"
    treated = data["assignment"] == 1
    cost = np.where(treated & test, 10.0, 0.0)
    if control_test:
        cost = np.where(~treated & test, control_test, cost)
    if flat_control is not None:  # every control geo spends the same every day; the treatment's varies before
        rng = np.random.default_rng(4)
        cost = np.where(treated, cost + rng.uniform(1, 2, len(data)), flat_control)
    return data.assign(cost=cost)


def test_the_cost_effect_uses_its_own_regression(small):
    # a flat daily control budget: the cost regression's design has rank 1, so n_pre - 1 residual degrees of
    # freedom (statsmodels' df_resid), one more than the response regression's
    kw = {"assignment": "assignment", "pre": ("2023-01-01", "2023-02-19"), "test": ("2023-02-20", "2023-03-11"),
          "cost": "cost", "alpha": 0.1, "random_state": 0}
    data = _spend(small, flat_control=5.0)
    r = tbr(data, **kw)
    assert r.scenario == "variable"
    wide = data.pivot_table(index="date", columns="assignment", values="cost", aggfunc="sum")
    pre_i, test_i = wide.index <= "2023-02-19", wide.index >= "2023-02-20"
    with pytest.warns(UserWarning, match="rank-deficient"):  # statsmodels' pinv OLS, as matched_markets fits it
        fit = sm.OLS(wide[1][pre_i].to_numpy(), sm.add_constant(wide[2][pre_i].to_numpy(), has_constant="add")).fit()
    assert fit.df_resid == 49 and r.dof == 48
    xe = sm.add_constant(wide[2][test_i].to_numpy(), has_constant="add")
    est = (wide[1][test_i].to_numpy() - fit.predict(xe)).sum()
    s = xe.sum(axis=0)
    se = np.sqrt(s @ fit.cov_params() @ s + len(xe) * fit.scale)
    row = r.table().set_index("metric").loc["incremental_cost"]
    assert (row["estimate"], row["std_error"]) == pytest.approx((est, se), rel=1e-9)
    q = stats.t.ppf(0.95, 49)
    assert (row["lower"], row["upper"]) == pytest.approx((est - q * se, est + q * se), rel=1e-12)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(est / se, 49), rel=1e-9)
    ci = r.conf_int(0.05).set_index("metric").loc["incremental_cost"]
    q95 = stats.t.ppf(0.975, 49)
    assert (ci["lower"], ci["upper"]) == pytest.approx((est - q95 * se, est + q95 * se), rel=1e-12)


def test_a_cost_known_exactly(small):
    # nobody spends before the test, the control geos spend in it (so not a "fixed cost" design): the
    # counterfactual treatment spend is exactly 0 and the incremental cost the treatment's spend, 10 x 4 x 20
    kw = {"assignment": "assignment", "pre": ("2023-01-01", "2023-02-19"), "test": ("2023-02-20", "2023-03-11"),
          "cost": "cost", "alpha": 0.1, "random_state": 0}
    r = tbr(_spend(small, control_test=3.0), **kw)
    assert r.scenario == "variable"
    row = r.table().set_index("metric").loc["incremental_cost"]
    assert (row["estimate"], row["std_error"], row["lower"], row["upper"]) == (800.0, 0.0, 800.0, 800.0)
    assert row["probability"] == 1.0 and np.isnan(row["p_value"])  # a known value: no test
    ci = r.conf_int(0.05).set_index("metric")
    assert (ci.loc["incremental_cost", "lower"], ci.loc["incremental_cost", "upper"]) == (800.0, 800.0)
    # the iROAS draws are the response's over 800: its percentiles are the response's t quantiles / 800
    resp = r.table().set_index("metric").loc["incremental_response"]
    dist = stats.t(r.dof, loc=resp["estimate"] / 800, scale=resp["std_error"] / 800)
    # (10,000 draws: a 2.5% percentile is within 0.1 scale units with probability > 99.9%)
    assert (ci.loc["iroas", "lower"], ci.loc["iroas", "upper"]) == pytest.approx(
        (dist.ppf(0.025), dist.ppf(0.975)), abs=0.1 * resp["std_error"] / 800)
    post = r.posterior(0.9).set_index("metric")
    assert (post.loc["incremental_cost", "lower"], post.loc["incremental_cost", "probability"]) == (800.0, 1.0)


def test_plot_on_the_array_plt_subplots_returns():
    r = tbr(_panel(3, effect=2.0), assignment="assignment", pre=("2023-01-01", "2023-02-19"),
            test=("2023-02-20", "2023-03-11"))
    fig, axes = plt.subplots(3, 1)
    assert r.plot(ax=axes) is fig
    assert [a.get_title() for a in axes] == ["Treatment and its counterfactual", "Effect per period",
                                            "Cumulative effect"]
    plt.close(fig)
    fig, one = plt.subplots(1, 1, squeeze=False)
    assert r.plot(ax=one, panel="pointwise") is fig
    plt.close(fig)
    with pytest.raises(ParameterError, match="three panels"):
        r.plot(ax=np.array([1, 2]))
