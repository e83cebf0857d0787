"""The marketing-mix model: published truths recovered, decomposition and curves consistent, engines agree,
the budget optimiser against a brute-force search, lift calibration, and bad input named."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from marketing360.datasets import read_meridian, read_pymc_mmm, read_robyn, simulate_mmm
from marketing360.errors import NotFittedError, ParameterError, SchemaError
from marketing360.incrementality.mmm import MMM, lift_test, lift_tests, mmm_panel

pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")


# ---------------------------------------------------------------------------------------------- published truth
def _carry(x: np.ndarray, alpha: float) -> np.ndarray:
    w = alpha ** np.arange(8)
    return np.convolve(x, w / w.sum())[: len(x)]


def _logistic(x: np.ndarray, lam: float) -> np.ndarray:
    return (1 - np.exp(-lam * x)) / (1 + np.exp(-lam * x))


def _pymc_media(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each channel's weekly contribution in PyMC-Marketing's published generating process, written here with
    numpy: geometric adstock (l_max 8, normalised) alpha 0.4 / 0.2, logistic saturation lam 4 / 3, betas 3 / 2
    times the amplitude 1000 the file's y carries."""
    return {"x1": 3000 * _logistic(_carry(frame.x1.to_numpy(), 0.4), 4.0),
            "x2": 2000 * _logistic(_carry(frame.x2.to_numpy(), 0.2), 3.0)}


def _pymc_truth(frame: pd.DataFrame) -> dict[str, float]:
    """The true ROAS of PyMC-Marketing's example."""
    return {ch: float(c.sum() / frame[ch].sum()) for ch, c in _pymc_media(frame).items()}


def _pymc_noise(frame: pd.DataFrame) -> np.ndarray:
    """Each week's noise in the published process (y minus intercept, trend, season, events and media)."""
    n = len(frame)
    doy = pd.to_datetime(frame.date_week).dt.dayofyear.to_numpy()
    trend = (np.linspace(0, 50, n) + 10) ** 0.25 - 1
    season = 0.5 * (-np.sin(2 * 2 * np.pi * doy / 365.5) + np.cos(2 * np.pi * doy / 365.5))
    media = sum(_pymc_media(frame).values())
    base = 1000 * (2 + trend + season + 1.5 * frame.event_1.to_numpy() + 2.5 * frame.event_2.to_numpy())
    return frame.y.to_numpy() - base - media


@pytest.fixture(scope="module")
def pymc_fit():
    data = read_pymc_mmm()
    return data, MMM(saturation="logistic", random_state=0).fit(data, controls=["event_1", "event_2"])


def test_pymc_example_true_parameters_lie_in_the_intervals(pymc_fit):
    _, mmm = pymc_fit
    t = mmm.parameters().table().set_index(["channel", "parameter"])
    truth = {("x1", "theta"): 0.4, ("x2", "theta"): 0.2, ("x1", "lam"): 4.0, ("x2", "lam"): 3.0,
             ("x1", "beta"): 3000.0, ("x2", "beta"): 2000.0}
    for key, value in truth.items():
        assert t.loc[key, "lower"] <= value <= t.loc[key, "upper"], (key, t.loc[key].to_dict())
    assert mmm.r2_ > 0.9
    # the baseline's published effects: the two events add 1.5 and 2.5 (times the amplitude 1000); a one-week
    # dummy also takes that week's noise, so the identifiable effect is the published one plus it
    raw = pd.read_csv(pymc_fit[0].meta["path"])
    noise = _pymc_noise(raw)
    assert abs(noise.std() - 250) < 40  # the process is read right: its noise sd is 0.25 x 1000
    for event, value in (("event_1", 1500.0), ("event_2", 2500.0)):
        row = t.loc[("(baseline)", event)]
        week = int(np.flatnonzero(raw[event].to_numpy() == 1)[0])
        assert row["lower"] <= value + noise[week] <= row["upper"], (event, row.to_dict())
    dec = mmm.contributions().totals().set_index("component")["contribution"]
    assert dec["event_1"] == pytest.approx(t.loc[("(baseline)", "event_1"), "estimate"])


def test_pymc_example_true_roas_lies_in_the_intervals(pymc_fit):
    data, mmm = pymc_fit
    raw = pd.read_csv(data.meta["path"])
    truth = _pymc_truth(raw)
    r = mmm.roas().table().set_index("channel")
    for ch, value in truth.items():
        assert r.loc[ch, "lower"] <= value <= r.loc[ch, "upper"]
        assert abs(r.loc[ch, "estimate"] / value - 1) < 0.1
    # the table's arithmetic: ROAS is contribution over spend, shares sum to one, cost is the inverse
    np.testing.assert_allclose(r["estimate"], r["contribution"] / r["spend"])
    np.testing.assert_allclose(r["share_of_spend"].sum(), 1.0)
    np.testing.assert_allclose(r["cost_per_incremental"], 1 / r["estimate"])


def test_regularised_fit_keeps_the_published_truth(pymc_fit):
    data, _ = pymc_fit
    mmm = MMM(saturation="logistic", prior_sd=0.5, random_state=0).fit(data, controls=["event_1", "event_2"])
    t = mmm.parameters().table().set_index(["channel", "parameter"])
    for key, value in {("x1", "lam"): 4.0, ("x2", "lam"): 3.0, ("x1", "theta"): 0.4, ("x2", "theta"): 0.2}.items():
        assert t.loc[key, "lower"] <= value <= t.loc[key, "upper"], key
    assert "regularised" in str(mmm.roas().summary())
    with pytest.raises(ParameterError, match="prior_sd must be a positive number"):
        MMM(prior_sd=0).fit(data)


def test_decomposition_adds_up_to_the_fit(pymc_fit):
    data, mmm = pymc_fit
    dec = mmm.contributions()
    total = dec.table().groupby("date")["contribution"].sum().to_numpy()
    np.testing.assert_allclose(total, mmm.predict()["fitted"].to_numpy(), rtol=1e-9)
    per_channel = dec.totals().set_index("component")["contribution"]
    r = mmm.roas().table().set_index("channel")
    np.testing.assert_allclose(per_channel[["x1", "x2"]].to_numpy(), r.loc[["x1", "x2"], "contribution"].to_numpy())
    # residuals sum to zero around each geo's intercept
    pred = mmm.predict()
    assert abs((pred["actual"] - pred["fitted"]).mean()) < 1e-6 * pred["actual"].mean()


def test_response_curve_slope_is_the_marginal_roas(pymc_fit):
    _, mmm = pymc_fit
    cur = mmm.current_spend()
    r = mmm.roas().table().set_index("channel")
    p = mmm.solution_.p
    for c, ch in enumerate(mmm.panel_.channels):
        h = 1e-5 * cur[ch]
        slope = (mmm.steady_response(p, c, np.array(cur[ch] + h)) - mmm.steady_response(p, c, np.array(cur[ch] - h)))
        assert float(slope) / (2 * h) == pytest.approx(r.loc[ch, "mroas"], rel=1e-5)
    curves = mmm.response_curves(points=11).table()
    assert (curves.groupby("channel")["response"].apply(lambda s: s.is_monotonic_increasing)).all()
    assert (curves["lower"] <= curves["response"]).all() and (curves["response"] <= curves["upper"]).all()
    assert curves.loc[curves.spend == 0, "response"].abs().max() < 1e-9


# ---------------------------------------------------------------------------------------------- simulated truth
@pytest.fixture(scope="module")
def geo_world():
    return simulate_mmm(n_periods=104, channels=3, geos=12, seed=7)


def test_geo_model_recovers_planted_roas(geo_world):
    mmm = MMM(level="geo", random_state=0).fit(geo_world.data, controls=["event", "price"])
    r = mmm.roas().table().set_index("channel")
    truth = geo_world.truth.roas
    rel = (r["estimate"] / truth - 1).abs()
    assert (rel < 0.25).all(), rel.to_dict()
    assert ((r["lower"] <= truth) & (truth <= r["upper"])).sum() >= 2
    # the population control sizes the geos; it is not a regressor
    assert "population" not in mmm.baseline_names_ and mmm.panel_.size.std() > 0


def test_national_and_geo_panels_agree_on_totals(geo_world):
    nat = mmm_panel(geo_world.data, level="national")
    geo = mmm_panel(geo_world.data, level="geo")
    np.testing.assert_allclose(nat.x[:, 0, :], geo.x.sum(axis=1))
    np.testing.assert_allclose(nat.y[:, 0], geo.y.sum(axis=1))
    assert list(nat.size) == [1.0] and len(geo.size) == 12


def test_engines_agree_with_pandas(engine, geo_world):
    d = geo_world.data
    ref = MMM(level="geo", n_starts=4, random_state=0).fit(d.spend, d.outcomes)
    got = MMM(level="geo", n_starts=4, random_state=0).fit(engine.table(d.spend), engine.table(d.outcomes))
    np.testing.assert_allclose(got.panel_.x, ref.panel_.x)
    np.testing.assert_allclose(got.panel_.y, ref.panel_.y)
    pd.testing.assert_frame_equal(got.roas().table(), ref.roas().table())


# ---------------------------------------------------------------------------------------------- budget optimiser
def test_budget_plan_beats_a_brute_force_grid(pymc_fit):
    _, mmm = pymc_fit
    cur = mmm.current_spend()
    plan = mmm.optimize_budget(bounds=(0.2, 3.0))
    t = plan.table().set_index("channel")
    budget = cur.sum()
    assert t["optimal"].sum() == pytest.approx(budget, rel=1e-6)
    p = mmm.solution_.p
    best = -np.inf
    for share in np.linspace(0, 1, 2001):  # independent search over the budget line
        s = np.array([share * budget, (1 - share) * budget])
        if np.all(s >= 0.2 * cur.to_numpy()) and np.all(s <= 3.0 * cur.to_numpy()):
            best = max(best, sum(float(mmm.steady_response(p, c, np.array(s[c]))) for c in range(2)))
    assert t["response_optimal"].sum() >= best - 1e-6 * abs(best)
    assert plan.gain >= 0 and plan.gain_lower <= plan.gain <= plan.gain_upper
    # the optimum is interior here, and there the marginal returns are equal
    assert ((t["optimal"] > t["low"] * 1.001) & (t["optimal"] < t["high"] * 0.999)).all()
    assert t["mroas_optimal"].iloc[0] == pytest.approx(t["mroas_optimal"].iloc[1], rel=1e-3)


def test_budget_plan_with_three_channels_and_s_curves_beats_the_grid():
    w = simulate_mmm(n_periods=104, channels=3, geos=1, seed=3)
    mmm = MMM(random_state=0, n_starts=8).fit(w.data, controls=["event", "price"])
    cur = mmm.current_spend().to_numpy()
    plan = mmm.optimize_budget(bounds={"c0": (0.0, 3 * cur[0])}).table().set_index("channel")
    p = mmm.solution_.p
    lo = np.array([0.0, 0.5 * cur[1], 0.5 * cur[2]])
    hi = np.array([3 * cur[0], 2 * cur[1], 2 * cur[2]])
    best = -np.inf
    for a, b in itertools.product(np.linspace(lo[0], hi[0], 121), np.linspace(lo[1], hi[1], 121)):
        c = cur.sum() - a - b
        if lo[2] <= c <= hi[2]:
            best = max(best, sum(float(mmm.steady_response(p, k, np.array(v))) for k, v in enumerate((a, b, c))))
    assert plan["response_optimal"].sum() >= best - 1e-4 * abs(best)


def test_target_marginal_roas_plan(pymc_fit):
    _, mmm = pymc_fit
    res = mmm.optimize_budget(target_mroas=2500.0, bounds=(0.0, 5.0))
    assert res.mode == "target_mroas"
    assert res.spend_change == pytest.approx(res.table()["optimal"].sum() - mmm.current_spend().sum())
    assert res.net_gain == pytest.approx(res.gain - res.spend_change)
    plan = res.table().set_index("channel")
    assert (plan["optimal"] > 0).all()
    for _, row in plan.iterrows():
        if row["low"] < row["optimal"] < row["high"]:
            assert row["mroas_optimal"] == pytest.approx(2500.0, rel=1e-4)
        elif row["optimal"] == row["high"]:
            assert row["mroas_optimal"] >= 2500.0


def test_budget_errors(pymc_fit):
    _, mmm = pymc_fit
    cur = mmm.current_spend()
    with pytest.raises(ParameterError, match="below the sum of the channels' minimum spend"):
        mmm.optimize_budget(budget=0.1 * cur.sum())
    with pytest.raises(ParameterError, match="above the sum"):
        mmm.optimize_budget(budget=10 * cur.sum())
    with pytest.raises(ParameterError, match="unknown channel"):
        mmm.optimize_budget(bounds={"tv": (0, 1)})
    with pytest.raises(ParameterError, match="not both"):
        mmm.optimize_budget(budget=1.0, target_mroas=1.0)
    with pytest.raises(ParameterError, match="target_mroas must be > 0"):
        mmm.optimize_budget(target_mroas=-1)
    with pytest.raises(ParameterError, match="low <= high"):
        mmm.optimize_budget(bounds=(2.0, 1.0))


# ---------------------------------------------------------------------------------------------- lift calibration
def test_a_precise_lift_test_pulls_the_model_to_it():
    w = simulate_mmm(n_periods=104, channels=3, geos=1, seed=11)
    d = w.data
    base = MMM(random_state=0, n_starts=8).fit(d, controls=["event", "price"])
    # the true lift of removing c1's spend over 8 weeks (from the planted contributions of the world)
    c1 = w.truth.contributions[w.truth.contributions.channel == "c1"]
    window = (d.spend.date >= "2022-06-06") & (d.spend.date <= "2022-07-25") & (d.spend.channel == "c1")
    spent = float(d.spend.loc[window, "spend"].sum())
    tests = lift_tests([{"channel": "c1", "start": "2022-06-06", "end": "2022-07-25", "delta_spend": spent,
                         "lift": 1.0, "std_error": 1.0}])
    # a lift of ~0 with a tiny error: the calibrated model's own lift must come close to it
    cal = MMM(random_state=0, n_starts=8).fit(d, controls=["event", "price"], lift_tests=tests)
    before = base.roas().table().set_index("channel").loc["c1", "estimate"]
    after = cal.roas().table().set_index("channel").loc["c1", "estimate"]
    assert abs(cal.lift_tests_["model_lift"].iloc[0] - 1.0) < 0.2 * abs(c1.contribution.sum()) / 13
    assert after < 0.5 * before
    # lift(): the uncalibrated model's prediction of the test, with an interval; the calibrated model's equals
    # the lift it was fitted to
    pred = base.lift(tests).iloc[0]
    assert pred["model_lower"] <= pred["model_lift"] <= pred["model_upper"] and pred["model_lift"] > 10
    assert cal.lift(tests)["model_lift"].iloc[0] == pytest.approx(cal.lift_tests_["model_lift"].iloc[0])
    assert "calibrated with 1 lift test" in str(cal.roas().summary())


def test_lift_test_from_an_effects_result():
    from marketing360.incrementality import Effects

    class Fake(Effects):
        keys = ("metric",)
        incremental_cost = -500.0

    res = Fake(pd.DataFrame({"metric": ["iroas", "incremental_response"], "estimate": [2.0, -1000.0],
                             "std_error": [0.5, 250.0]}))
    row = lift_test(res, channel="tv", start="2024-01-01", end="2024-01-28")
    assert row[["lift", "std_error", "delta_spend"]].iloc[0].tolist() == [-1000.0, 250.0, -500.0]
    noise = Effects(pd.DataFrame({"effect": ["incremental"], "estimate": [10.0], "std_error": [np.nan],
                                  "lower": [6.08], "upper": [13.92]}))
    assert lift_test(noise, channel="tv", start="2024-01-01", end="2024-01-28", delta_spend=5.0)[
        "std_error"].iloc[0] == pytest.approx(2.0, rel=1e-3)
    with pytest.raises(ParameterError, match="delta_spend"):
        lift_test(noise, channel="tv", start="2024-01-01", end="2024-01-28")


# ---------------------------------------------------------------------------------------------- other layouts
def test_robyn_and_meridian_layouts_fit():
    robyn = MMM(random_state=0, n_starts=8).fit(read_robyn(), controls=["competitor_sales_B", "newsletter"])
    assert robyn.r2_ > 0.8 and set(robyn.panel_.channels) == {"tv", "ooh", "print", "search", "facebook"}
    mer = MMM(level="geo", target="conversions", random_state=0, n_starts=6).fit(read_meridian())
    t = mer.roas().table()
    assert len(mer.panel_.geos) == 20 and mer.r2_ > 0.8
    assert (t["cost_per_incremental"] > 0).all() and "population" not in mer.baseline_names_


# ---------------------------------------------------------------------------------------------- contract and errors
def test_estimator_contract():
    m = MMM(l_max=4, seasonality=0)
    assert clone(m).get_params() == m.get_params()
    with pytest.raises(NotFittedError):
        m.roas()
    with pytest.raises(ParameterError, match="no parameter .lags."):
        m.set_params(lags=3)


def _frames(channels=("tv", "search"), weeks=40, seed=0):
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=weeks, freq="7D")
    spend = pd.DataFrame([{"date": d, "geo": "national", "channel": c, "spend": float(rng.uniform(0, 100))}
                          for d in dates for c in channels])
    out = pd.DataFrame({"date": dates, "geo": "national", "revenue": rng.uniform(900, 1100, weeks)})
    return spend, out


def test_bad_input_is_named():
    spend, out = _frames()
    zero = spend.assign(spend=np.where(spend.channel == "tv", 0.0, spend.spend))
    with pytest.raises(ParameterError, match=r"\['tv'\] have zero spend"):
        MMM().fit(zero, out)
    twin = spend.copy()
    tv = twin.channel == "tv"
    twin.loc[tv, "spend"] = 2 * twin.loc[twin.channel == "search", "spend"].to_numpy()
    with pytest.raises(ParameterError, match="'search' and 'tv' are collinear"):
        MMM().fit(twin, out)
    with pytest.raises(ParameterError, match="unknown channel 'radio'"):
        MMM().fit(spend, out, lift_tests=[{"channel": "radio", "start": "2024-02-05", "end": "2024-02-26",
                                           "delta_spend": 10.0, "lift": 5.0, "std_error": 1.0}])
    with pytest.raises(ParameterError, match="holds no period"):
        MMM().fit(spend, out, lift_tests=[{"channel": "tv", "start": "2030-01-01", "end": "2030-02-01",
                                           "delta_spend": 10.0, "lift": 5.0, "std_error": 1.0}])
    with pytest.raises(ParameterError, match="is more than the"):
        MMM().fit(spend, out, lift_tests=[{"channel": "tv", "start": "2024-02-05", "end": "2024-02-12",
                                           "delta_spend": 1e6, "lift": 5.0, "std_error": 1.0}])
    with pytest.raises(SchemaError, match="std_error must be > 0"):
        lift_tests([{"channel": "tv", "start": "2024-02-05", "end": "2024-02-12", "delta_spend": 1.0, "lift": 1.0,
                     "std_error": 0.0}])
    with pytest.raises(SchemaError, match="negative|non-negative|>= 0"):
        MMM().fit(spend.assign(spend=-spend.spend), out)
    with pytest.raises(SchemaError, match="missing"):
        MMM().fit(spend.drop(columns="channel"), out)
    with pytest.raises(SchemaError, match="empty"):
        MMM().fit(spend.iloc[:0], out)
    with pytest.raises(SchemaError, match="not evenly spaced"):
        MMM().fit(spend, out.drop(index=5))
    with pytest.raises(SchemaError, match="fall outside"):
        MMM().fit(spend, out.iloc[:-3])
    two = pd.concat([out, out.assign(geo="north")]).iloc[:-1]
    with pytest.raises(SchemaError, match="1 .period, geo. cells of the outcome have no row"):
        MMM(level="geo").fit(spend, two)
    with pytest.raises(ParameterError, match="adstock must be one of"):
        MMM(adstock="delayed").fit(spend, out)
    with pytest.raises(ParameterError, match="n_starts"):
        MMM(n_starts=0).fit(spend, out)
    with pytest.raises(ParameterError, match="target must be"):
        MMM(target="profit").fit(spend, out)
    with pytest.raises(ParameterError, match="observations for"):
        MMM(seasonality=8).fit(*_frames(weeks=12))
    fitted = MMM(n_starts=2).fit(spend, out)
    with pytest.raises(ParameterError, match="unknown channel 'radio'"):
        fitted.response_curves(channels=["radio"])


def test_review_fixes_intervals_names_windows_and_sources(pymc_fit):
    data, mmm = pymc_fit
    # intervals at another level keep the table's constraints: ROAS >= 0, parameters inside the search's bounds
    for alpha in (0.5, 0.01):
        ci = mmm.roas().conf_int(alpha)
        assert (ci["lower"] >= 0).all()
        par = mmm.parameters()
        pci = par.conf_int(alpha).set_index(["channel", "parameter"])
        t = par.table().set_index(["channel", "parameter"])
        assert (pci["lower"] >= t["bound_low"] - 1e-12).all() and (pci["upper"] <= t["bound_high"] + 1e-12).all()
    # a baseline of nothing but the intercept
    spend, out = _frames(weeks=60)
    MMM(trend=False, seasonality=0, n_starts=2).fit(spend, out)
    # a control named like a channel or a baseline term is refused (it would overwrite it in the decomposition)
    ctrl = pd.DataFrame({"date": out.date, "geo": "national", "name": "tv", "value": np.arange(60.0)})
    with pytest.raises(ParameterError, match=r"\['tv'\] are named like a channel"):
        MMM(n_starts=2).fit(spend, out, controls=ctrl)
    # a lift test window counts the periods it overlaps: a Wednesday-to-Tuesday test on Monday weeks
    fitted = MMM(n_starts=2).fit(spend, out)
    row = {"channel": "tv", "start": "2024-01-10", "end": "2024-01-16", "delta_spend": 1.0, "lift": 1.0,
           "std_error": 1.0}
    assert np.isfinite(fitted.lift([row])["model_lift"].iloc[0])
    from marketing360.incrementality.mmm.model import _lift
    lt = _lift(fitted.panel_, lift_tests([row]).iloc[0], fitted.x_scale_, fitted.spec_)
    assert (lt.t0, lt.t1) == (1, 2)  # the weeks of 01-08 and 01-15


def test_lift_test_reads_the_cumulative_effect_or_refuses():
    from marketing360.incrementality import Effects

    class Synth(Effects):
        keys = ("effect",)

    sc = Synth(pd.DataFrame({"effect": ["att", "incremental"], "estimate": [5.25, 52.5], "std_error": [1.0, 10.0]}))
    assert lift_test(sc, channel="tv", start="2024-01-01", end="2024-01-28", delta_spend=-100.0)[
        "lift"].iloc[0] == 52.5
    per_user = Effects(pd.DataFrame({"metric": ["purchases"], "estimate": [0.02], "std_error": [0.01]}))
    with pytest.raises(ParameterError, match="no cumulative incremental outcome"):
        lift_test(per_user, channel="tv", start="2024-01-01", end="2024-01-28", delta_spend=-100.0)
    with pytest.raises(ParameterError, match="give the result of a geo test"):
        lift_test(pd.DataFrame(), channel="tv", start="2024-01-01", end="2024-01-28")


def test_more_bad_input_is_named(pymc_fit):
    from marketing360.incrementality.mmm import saturation

    _, mmm = pymc_fit
    with pytest.raises(ParameterError, match="budget must be a number"):
        mmm.optimize_budget(budget="abc")
    with pytest.raises(ParameterError, match="target_mroas must be a number"):
        mmm.optimize_budget(target_mroas="x")
    with pytest.raises(ParameterError, match="finite number > 0"):
        mmm.response_curves(max_multiple=np.inf)
    assert set(mmm.response_curves(channels="x1", points=3).table().channel) == {"x1"}
    with pytest.raises(ParameterError, match="must be > 0"):
        saturation("hill", np.ones(2), {"half": -1.0, "slope": 1.0})
    with pytest.raises(ParameterError, match="missing"):
        saturation("hill", np.ones(2), {"half": 1.0})
    with pytest.raises(ParameterError, match="l_max must be"):
        simulate_mmm(l_max=0)
    with pytest.raises(ParameterError, match="on_share"):
        simulate_mmm(on_share=(0.0, 0.0))
    with pytest.raises(ParameterError, match="channels must be"):
        simulate_mmm(channels=2.0)  # type: ignore[arg-type]
