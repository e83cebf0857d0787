"""Priors read off a marketing-mix model: the marginal curve's half point by hand, and against the planted truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketing360.datasets import simulate_mmm
from marketing360.errors import NotFittedError, ParameterError
from marketing360.incrementality import MMM
from marketing360.playbook import mmm_prior


@pytest.fixture(scope="module")
def fitted():
    w = simulate_mmm(n_periods=156, channels=3, noise=0.02, seed=4)
    return w, MMM(n_starts=8).fit(w.data)


def _half_by_hand(x0: float, half: float, slope: float) -> float:
    """Extra spend on top of x0 at which beta * x^s / (x^s + h^s) gains half of what is left (closed form)."""
    g0 = x0 ** slope / (x0 ** slope + half ** slope)
    t = (1 + g0) / 2
    return half * (t / (1 - t)) ** (1 / slope) - x0


def test_the_prior_is_the_marginal_curves_half_point_per_consumer(fitted):
    w, mmm = fitted
    pr = mmm_prior(mmm, days=21, population=2e5, sd=0.5).set_index("channel")
    par = mmm.parameters().table().set_index(["channel", "parameter"]).estimate
    now = w.data.spend.groupby("channel").spend.sum() / w.data.spend.date.nunique()
    for c in pr.index:
        d = _half_by_hand(now[c], par[(c, "half")], par[(c, "slope")])
        assert pr.half_spend[c] == pytest.approx(d, rel=1e-6)
        assert pr.current_spend[c] == pytest.approx(now[c], rel=1e-9)
        assert pr.kappa[c] == pytest.approx(d * 21 / 7 / 2e5, rel=1e-6)  # weekly data: 3 periods over 2e5 consumers
        assert pr.sd[c] == pytest.approx(np.hypot(pr.model_sd[c], 0.5))


def test_the_prior_holds_the_planted_curves_half_point(fitted):
    w, mmm = fitted
    pr = mmm_prior(mmm, days=7, population=1.0, sd=1e-9).set_index("channel")
    truth = w.truth.params.set_index("channel")
    now = w.data.spend.groupby("channel").spend.sum() / w.data.spend.date.nunique()
    for c in pr.index:
        true = _half_by_hand(now[c], truth.half[c], truth.slope[c])
        assert abs(np.log(pr.half_spend[c] / true)) < 3 * pr.model_sd[c]


def test_bad_input(fitted):
    _, mmm = fitted
    for kw, match in [(dict(days=0, population=1.0), "days"), (dict(days=7, population=-1.0), "population"),
                      (dict(days=7, population=1.0, sd=np.inf), "sd"), (dict(days="7", population=1.0), "days")]:
        with pytest.raises(ParameterError, match=match):
            mmm_prior(mmm, **kw)
    with pytest.raises(ParameterError, match="MMM"):
        mmm_prior(pd.DataFrame(), days=7, population=1.0)
    with pytest.raises(NotFittedError):
        mmm_prior(MMM(), days=7, population=1.0)


def test_a_channel_without_effect_gets_no_prior():
    w = simulate_mmm(n_periods=104, channels=2, seed=3, saturation="logistic")
    mmm = MMM(saturation="logistic", n_starts=4).fit(w.data)
    par = mmm.parameters().table().set_index(["channel", "parameter"]).estimate
    assert par[("c0", "beta")] == 0.0  # the fit finds no effect of c0
    with pytest.warns(UserWarning, match=r"\['c0'\]"):
        pr = mmm_prior(mmm, days=7, population=1.0).set_index("channel")
    assert pr.index.tolist() == ["c1"]
    # logistic tanh(lam x / 2): the marginal half point in closed form
    lam, x0 = par[("c1", "lam")], pr.current_spend["c1"]
    t = (1 + np.tanh(0.5 * lam * x0)) / 2
    assert pr.half_spend["c1"] == pytest.approx(2 * np.arctanh(t) / lam - x0, rel=1e-6)
