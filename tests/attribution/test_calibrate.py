"""Experiment-calibrated attribution: hand-computed factors, the experiments' lifts read from a simulated holdout,
the bootstrap carrying the lifts' uncertainty, and bad input named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import marketing360 as m3
from marketing360.attribution import Attribution, calibrate, lifts_from_experiments, rule_based
from marketing360.errors import ParameterError, SchemaError
from marketing360.incrementality import experiment
from marketing360.paths import from_paths


def _att() -> Attribution:
    return Attribution(pd.DataFrame({"method": ["lt"] * 3 + ["lin"] * 3, "channel": ["a", "b", "c"] * 2,
                                     "conversions": [60.0, 30.0, 10.0, 40.0, 40.0, 20.0],
                                     "value": [600.0, 300.0, 100.0, 400.0, 400.0, 200.0]}))


def test_factors_by_hand():
    lifts = pd.DataFrame({"channel": ["a", "c"], "conversions": [12.0, 15.0]})
    got = calibrate(_att(), lifts).wide()
    # lt: a -> 12, c -> 15, b scaled by (12 + 15) / (60 + 10)
    assert got["lt_calibrated"].tolist() == pytest.approx([12.0, 30 * 27 / 70, 15.0])
    assert got["lin_calibrated"].tolist() == pytest.approx([12.0, 40 * 27 / 60, 15.0])
    kept = calibrate(_att(), lifts, unmeasured="keep", suffix="_k").wide()
    assert kept["lt_k"].tolist() == [12.0, 30.0, 15.0]
    vals = calibrate(_att(), lifts).wide("value")
    assert vals["lt_calibrated"].tolist() == pytest.approx([120.0, 300 * 27 / 70, 150.0])
    # a negative measured lift credits nothing (the pooled scale still counts it as measured)
    neg = calibrate(_att(), pd.Series({"a": -5.0, "c": 15.0})).wide()["lt_calibrated"]
    assert neg.tolist() == pytest.approx([0.0, 30 * 10 / 70, 15.0])
    assert calibrate(_att(), lifts).params["lt_calibrated"]["pooled_scale"] == pytest.approx(27 / 70, abs=1e-6)


def test_noisy_lifts_are_weighed_by_their_precision():
    lifts = pd.DataFrame({"channel": ["a", "c"], "conversions": [12.0, 15.0], "std_error": [12.0, 3.0]})
    got = calibrate(_att(), lifts, prior_cv=0.5).wide()["lt_calibrated"]
    # by hand: exp of log k's posterior mean under lift ~ N(k * credit, se^2), log k ~ N(0, 2^2), by quadrature
    from scipy import integrate

    a, lv, s = np.array([60.0, 10.0]), np.array([12.0, 15.0]), np.array([12.0, 3.0])

    def post(u: float) -> float:  # the posterior density of u = log k, unnormalised
        return float(np.exp(-0.5 * (((lv - np.exp(u) * a) / s) ** 2).sum() - 0.5 * (u / 2) ** 2))

    z = integrate.quad(post, -12, 12, points=[-2.0, -1.0, 0.0])[0]
    k = np.exp(integrate.quad(lambda u: u * post(u), -12, 12, points=[-2.0, -1.0, 0.0])[0] / z)
    t = k * a
    post = (t / (0.5 * t) ** 2 + lv / s ** 2) / (1 / (0.5 * t) ** 2 + 1 / s ** 2)
    assert got.tolist() == pytest.approx([post[0], 30 * k, post[1]])
    # a precise test pins its channel; a hopeless one leaves the model's (scaled) credit
    sharp = calibrate(_att(), pd.DataFrame({"channel": ["a"], "conversions": [12.0], "std_error": [1e-6]}))
    assert sharp.wide()["lt_calibrated"]["a"] == pytest.approx(12.0, rel=1e-6)
    vague = calibrate(_att(), pd.DataFrame({"channel": ["a"], "conversions": [-400.0], "std_error": [1e6]}))
    assert vague.wide()["lt_calibrated"].tolist() == pytest.approx([60.0, 30.0, 10.0], rel=1e-3)


def test_bootstrap_carries_the_lifts_uncertainty():
    j = from_paths(pd.DataFrame({"path": ["a > b", "b", "a", "a > c", "c > a"], "conversions": [30, 10, 5, 8, 12],
                                 "nulls": [20, 40, 30, 10, 5], "value": [3000.0, 900.0, 600.0, 700.0, 1300.0]}))
    lt = rule_based(j, rules="last_touch")
    exact = calibrate(lt, pd.DataFrame({"channel": ["a"], "conversions": [10.0], "std_error": [0.0]}))
    noisy = calibrate(lt, pd.DataFrame({"channel": ["a"], "conversions": [10.0], "std_error": [4.0]}))
    ci0 = exact.conf_int(n_boot=300).set_index("channel")
    ci1 = noisy.conf_int(n_boot=300).set_index("channel")
    # with an exact lift, channel a's credit does not move; with a noisy one (se 4, blended with the model's credit)
    # its interval opens to about the lift's +-1.96 * 4 (the resampled journeys move the model's side)
    assert ci0.loc["a", "conversions_upper"] - ci0.loc["a", "conversions_lower"] == pytest.approx(0.0, abs=1e-9)
    width = ci1.loc["a", "conversions_upper"] - ci1.loc["a", "conversions_lower"]
    assert 6.0 < width < 24.0


def test_lifts_from_a_simulated_holdout_match_the_truth():
    w = m3.datasets.simulate(n_users=3000, n_days=30, holdout={"search": 0.3}, truth="incremental", seed=4,
                             progress=False)
    first, last = w.events.ts.min().normalize(), w.events.ts.max().normalize()
    ex = experiment(w.events, w.experiment_assignment("search"), start=first, end=last, metrics=["purchases"],
                    cuped=False)
    lifts = lifts_from_experiments({"search": ex})
    t = w.truth.experiments.query("metric == 'purchases' and estimand == 'itt' and channel == 'search'").iloc[0]
    # the experiment's estimate of the treated arm's incremental purchases, against the simulator's exact count
    est, se = lifts["conversions"].iloc[0], lifts["std_error"].iloc[0]
    assert abs(est - t["incremental"]) < 3 * se
    row = ex.table().query("metric == 'purchases' and estimand == 'itt'").iloc[0]
    assert est == pytest.approx(row["estimate"] * row["n_treatment"])


def test_bad_input_is_named():
    with pytest.raises(ParameterError, match=r"channel\(s\) \['z'\] the attribution does not credit"):
        calibrate(_att(), pd.Series({"z": 1.0}))
    with pytest.raises(SchemaError, match="lack column"):
        calibrate(_att(), pd.DataFrame({"channel": ["a"]}))
    with pytest.raises(SchemaError, match="two lifts"):
        calibrate(_att(), pd.DataFrame({"channel": ["a", "a"], "conversions": [1.0, 2.0]}))
    with pytest.raises(SchemaError, match="finite"):
        calibrate(_att(), pd.DataFrame({"channel": ["a"], "conversions": [np.inf]}))
    with pytest.raises(ParameterError, match="unmeasured must be"):
        calibrate(_att(), pd.Series({"a": 1.0}), unmeasured="zero")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="prior_cv must be a positive number"):
        calibrate(_att(), pd.Series({"a": 1.0}), prior_cv=0)
    with pytest.raises(ParameterError, match="must be an Attribution"):
        calibrate(pd.DataFrame(), pd.Series({"a": 1.0}))


def test_a_method_crediting_nothing_has_no_share_error():
    from marketing360.attribution import score

    a = Attribution(pd.DataFrame({"method": ["zero", "zero", "half", "half"], "channel": ["a", "b"] * 2,
                                  "conversions": [0.0, 0.0, 1.0, 1.0], "value": [0.0, 0.0, 1.0, 1.0]}))
    t = score(a, pd.Series({"a": 3.0, "b": 1.0})).table().set_index("method")
    assert np.isnan(t.loc["zero", "share_error"]) and t.loc["half", "share_error"] == pytest.approx(0.25)
    assert list(t.index) == ["half", "zero"]


def test_a_measured_channel_the_model_credits_nothing_gets_its_lift():
    a = Attribution(pd.DataFrame({"method": "m", "channel": ["a", "b", "c"], "conversions": [60.0, 0.0, 40.0],
                                  "value": [600.0, 0.0, 400.0]}))
    got = calibrate(a, pd.DataFrame({"channel": ["b"], "conversions": [50.0], "std_error": [2.0]})).table()
    b = got.set_index("channel").loc["b"]
    assert (b["conversions"], b["value"]) == (50.0, 500.0)  # the method's average value per conversion
    inf = calibrate(a, pd.DataFrame({"channel": ["b"], "conversions": [50.0], "std_error": [2.0]}), prior_cv=np.inf)
    assert inf.table().set_index("channel").loc["b", "conversions"] == 50.0
