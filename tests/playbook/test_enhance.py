"""Enhance: the curve fit against scipy's, and the reallocation against a brute-force search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from marketing360.errors import ParameterError
from marketing360.incrementality import mrr
from marketing360.playbook import CampaignReadout, design_campaign, fit_curve, reallocate, response

TRUE = {"display": (0.08, 0.3), "video": (0.05, 0.05), "search": (0.02, np.inf)}  # beta, kappa per channel
PLAN = pd.DataFrame({"channel": list(TRUE), "audience": "aud", "budget": [4000.0, 4000.0, 4000.0]})


def test_curve_fit_matches_scipy_on_noisy_points():
    rng = np.random.default_rng(0)
    s = np.array([0.1, 0.3, 0.6, 1.2])
    y = response(s, 0.5, 0.4) + rng.normal(0, 0.01, 4)
    sd = np.array([0.01, 0.02, 0.01, 0.03])
    (beta, kappa), _ = fit_curve(s, y, np.diag(sd ** 2))
    ref, _ = optimize.curve_fit(lambda x, b, k: b * x / (x + k), s, y, p0=[0.5, 0.4], sigma=sd, absolute_sigma=True)
    assert beta == pytest.approx(ref[0], rel=1e-4) and kappa == pytest.approx(ref[1], rel=1e-4)


def test_curve_fit_limits():
    s = np.array([1.0, 3.0])
    (beta, kappa), loss = fit_curve(s, np.array([0.5, 0.75]), np.diag([1e-4, 1e-4]))
    assert (beta, kappa) == (pytest.approx(1.0, rel=1e-6), pytest.approx(1.0, rel=1e-6)) and loss < 1e-12
    (beta, kappa), _ = fit_curve(s, np.array([0.2, 0.6]), np.diag([1e-4, 1e-4]))  # a line: no saturation
    assert np.isinf(kappa) and beta == pytest.approx(0.2)
    (beta, _), _ = fit_curve(s, np.array([-0.2, -0.1]), np.diag([1e-4, 1e-4]))  # harm: no response
    assert beta == 0.0


def _readout(design, noise: float = 1e-7, shift: np.ndarray | None = None, shared: bool = True) -> CampaignReadout:
    """A readout whose arms lie on the TRUE curves (plus ``shift``, one value per dose arm); ``shared``: the dose
    arms share their control's variance."""
    arms = design.arms[design.arms.dose > 0]
    est = [float(response(r.spend_per_consumer, *TRUE[r.channel])) for r in arms.itertuples()]
    est = np.asarray(est) + (0.0 if shift is None else shift)
    frame = pd.DataFrame({"scope": "channel", "channel": arms.channel.to_numpy(), "audience": arms.audience.to_numpy(),
                          "arm": arms.arm.to_numpy(), "estimate": est, "std_error": noise,
                          "consumers": arms.consumers.to_numpy(), "budget": arms.budget.to_numpy(),
                          "spend_per_consumer": arms.spend_per_consumer.to_numpy(),
                          "control_variance": noise ** 2 / 4 if shared else 0.0})
    frame["incremental_conversions"] = frame.estimate * frame.consumers
    money = mrr(pd.DataFrame({"channel": list(TRUE), "estimate": 1.0, "std_error": 0.1, "cost": 1.0}))
    return CampaignReadout(frame, design=design, flows=pd.DataFrame(), mrr=money, brand="A",
                           start=pd.Timestamp("2025-03-01"), end=pd.Timestamp("2025-03-21"), alpha=0.05)


@pytest.fixture(scope="module")
def design():
    return design_campaign(PLAN, {"aud": np.arange(30_000)}, min_size=100)


def test_reallocation_finds_the_best_split_a_grid_search_finds(design):
    r = reallocate(_readout(design), bounds=(0.0, 3.0), n_draws=50)
    n = 30_000
    B = 12_000.0

    def total(b):
        return sum(n * response(x / n, *TRUE[c]) for c, x in zip(TRUE, b))

    grid = np.linspace(0, B, 241)
    best = max(total((x, y, B - x - y)) for x in grid for y in grid if x + y <= B)
    t = r.table().set_index("channel").loc[list(TRUE)]
    assert t.optimal.sum() == pytest.approx(B)
    assert total(t.optimal.to_numpy()) == pytest.approx(best, rel=1e-3)
    assert total(t.optimal.to_numpy()) >= best - 1e-6 * best
    assert r.gain == pytest.approx(total(t.optimal.to_numpy()) - total(PLAN.budget.to_numpy()), rel=1e-6)
    assert r.gain_lower <= r.gain <= r.gain_upper and r.gain_upper - r.gain_lower < 1e-2 * r.gain
    # the next round's design: same audiences and arms, the new budgets
    nxt = r.design.table().set_index("channel").budget
    assert nxt.loc[list(TRUE)].to_numpy() == pytest.approx(t.optimal.to_numpy())
    pd.testing.assert_frame_equal(r.design.assignment, design.assignment)


def test_bounds_and_budget_hold(design):
    r = reallocate(_readout(design), bounds=(0.5, 1.5), budget=13_000.0, n_draws=20)
    t = r.table()
    assert t.optimal.sum() == pytest.approx(13_000.0)
    assert (t.optimal >= 0.5 * t.current - 1e-6).all() and (t.optimal <= 1.5 * t.current + 1e-6).all()
    with pytest.raises(ParameterError, match="outside what the bounds allow"):
        reallocate(_readout(design), bounds=(0.5, 1.5), budget=30_000.0)
    with pytest.raises(ParameterError, match="not in the plan"):
        reallocate(_readout(design), bounds={"radio": (0.0, 1.0)})
    with pytest.raises(ParameterError, match="CampaignReadout"):
        reallocate(design)
    with pytest.raises(ParameterError, match="n_draws"):
        reallocate(_readout(design), n_draws=3)


def test_noise_widens_the_gain_interval(design):
    tight = reallocate(_readout(design, 1e-6), bounds=(0.0, 3.0), n_draws=100)
    loose = reallocate(_readout(design, 3e-3), bounds=(0.0, 3.0), n_draws=100)
    assert loose.gain_upper - loose.gain_lower > 50 * (tight.gain_upper - tight.gain_lower)


def test_history_pools_the_rounds_arms_into_one_fit():
    aud = {"aud": np.arange(30_000)}
    one = design_campaign(PLAN, aud, doses=(1.0,), min_size=100, name="round 1")
    two = one.with_budgets({"display": 8000.0, "video": 2000.0, "search": 6000.0}, name="round 2")
    assert not one.assignment.arm.equals(two.assignment.arm)  # another name: drawn afresh
    # one arm per row cannot place a curve of two parameters; the two rounds' arms place it exactly
    r = reallocate(_readout(two), history=[_readout(one)], bounds=(0.0, 3.0), n_draws=50)
    got = r.curves.set_index("channel")
    for c in ("display", "video"):
        assert (got.beta[c], got.kappa[c]) == (pytest.approx(TRUE[c][0], rel=1e-4), pytest.approx(TRUE[c][1], rel=1e-4))
    assert np.isinf(got.kappa["search"]) and got.beta["search"] == pytest.approx(TRUE["search"][0], rel=1e-4)
    assert sorted(set(r.points.design)) == ["round 1", "round 2"] and len(r.points) == 6
    # noisy arms, independent rounds (no shared control): the fit is scipy's weighted fit through all the points
    rng = np.random.default_rng(3)
    sd = 2e-3
    noisy = [_readout(d, sd, rng.normal(0, sd, 3), shared=False) for d in (one, two)]
    r = reallocate(noisy[1], history=[noisy[0]], bounds=(0.0, 3.0), n_draws=50)
    p = r.points[r.points.channel == "display"]
    ref, _ = optimize.curve_fit(lambda x, b, k: b * x / (x + k), p.spend_per_consumer, p.estimate, p0=[0.08, 0.3],
                                sigma=p.std_error, absolute_sigma=True, bounds=([0, 1e-6], [np.inf, np.inf]))
    fit = r.curves.set_index("channel").loc["display"]
    assert fit.beta == pytest.approx(ref[0], rel=1e-3) and fit.kappa == pytest.approx(ref[1], rel=1e-3)


def test_history_must_be_other_randomisations_of_the_same_audiences(design):
    with pytest.raises(ParameterError, match="share a randomisation"):
        reallocate(_readout(design), history=[_readout(design)])
    other = design_campaign(PLAN, {"aud": np.arange(20_000)}, min_size=100, name="small")
    with pytest.raises(ParameterError, match="must share their audiences"):
        reallocate(_readout(design), history=[_readout(other)])
    with pytest.raises(ParameterError, match="CampaignReadouts"):
        reallocate(_readout(design), history=[design])


def test_a_prior_on_the_bend_places_a_curve_one_arm_cannot():
    k0, b0 = 0.4, 0.5
    s, y = np.array([1.0]), response(np.array([1.0]), b0, k0)
    (beta, kappa), loss = fit_curve(s, y, np.diag([1e-6]), prior=(k0, 0.3))
    assert (beta, kappa) == (pytest.approx(b0, rel=1e-6), pytest.approx(k0, rel=1e-6)) and loss < 1e-12
    # noisy arms: the penalised weighted fit is scipy's minimum of the same loss over (beta, log kappa)
    rng = np.random.default_rng(1)
    s = np.array([0.2, 0.6, 1.4])
    sd = np.array([0.02, 0.03, 0.02])
    y = response(s, b0, k0) + rng.normal(0, sd)
    prior = (1.5, 0.4)

    def loss_of(z):
        return float((((y - response(s, z[0], np.exp(z[1]))) / sd) ** 2).sum() + ((z[1] - np.log(prior[0])) / 0.4) ** 2)

    ref = optimize.minimize(loss_of, [0.5, 0.0], method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14})
    (beta, kappa), loss = fit_curve(s, y, np.diag(sd ** 2), prior=prior)
    assert beta == pytest.approx(ref.x[0], rel=1e-4) and np.log(kappa) == pytest.approx(ref.x[1], abs=1e-4)
    assert loss == pytest.approx(ref.fun, rel=1e-6)
    free, _ = fit_curve(s, y, np.diag(sd ** 2))
    assert abs(np.log(kappa / prior[0])) < abs(np.log(free[1] / prior[0]))  # pulled towards the prior
    with pytest.raises(ParameterError, match="curve prior"):
        fit_curve(s, y, np.diag(sd ** 2), prior=(0.0, 1.0))


def test_reallocate_reads_a_prior_per_channel_or_row(design):
    one = design_campaign(PLAN, {"aud": np.arange(30_000)}, doses=(1.0,), min_size=100, name="one arm")
    prior = pd.DataFrame({"channel": ["display", "video"], "kappa": [TRUE["display"][1], TRUE["video"][1]],
                          "sd": 0.2})
    r = reallocate(_readout(one), prior=prior, bounds=(0.0, 3.0), n_draws=20)
    got = r.curves.set_index("channel")
    for c in ("display", "video"):  # one arm and the prior at the true bend: the true curve
        assert (got.beta[c], got.kappa[c]) == (pytest.approx(TRUE[c][0], rel=1e-4), pytest.approx(TRUE[c][1], rel=1e-4))
        assert got.prior_kappa[c] == TRUE[c][1] and got.prior_sd[c] == 0.2
    assert np.isnan(got.prior_kappa["search"])
    # a row's own prior comes before its channel's
    both = pd.concat([prior, pd.DataFrame({"channel": ["display"], "audience": ["aud"], "kappa": [0.9], "sd": [0.1]})])
    assert reallocate(_readout(one), prior=both, n_draws=20).curves.set_index("channel").prior_kappa["display"] == 0.9
    for bad, match in [(prior.drop(columns="sd"), "lacks column"), (prior.assign(sd=-1.0), "> 0"),
                       (prior.assign(channel=["display", "radio"]), "not in the plan"),
                       (pd.concat([prior, prior]), "twice"), ({"display": 1}, "DataFrame")]:
        with pytest.raises(ParameterError, match=match):
            reallocate(_readout(one), prior=bad, n_draws=20)


def _campaign_attribution(readout, credit: np.ndarray):
    from marketing360.attribution import Attribution

    names = readout.lifts(key="campaign").channel
    return Attribution(pd.DataFrame({"method": "last_touch", "channel": names, "conversions": credit,
                                     "value": 10 * credit}), key="campaign")


def test_the_calibrated_attribution_gives_the_arms_the_curves_go_through(design):
    rng = np.random.default_rng(5)
    noise = 2e-3
    readout = _readout(design, noise, rng.normal(0, noise, 6))
    lifts = readout.lifts(key="campaign")
    credit = np.abs(lifts.conversions.to_numpy()) * rng.uniform(0.5, 2.0, 6) + 5.0
    # the lifts alone (prior_cv = inf): the same reallocation as the arms' own
    alone = reallocate(readout, attribution=readout.calibrate(_campaign_attribution(readout, credit),
                                                               prior_cv=np.inf), n_draws=50)
    plain = reallocate(readout, n_draws=50)
    pd.testing.assert_frame_equal(alone.table(), plain.table())
    assert set(alone.points.source) == {"attribution"} and set(plain.points.source) == {"arms"}
    # the model's credit on its own scale (unmeasured="keep"): each arm is the precision-weighted mean, by hand
    cal = readout.calibrate(_campaign_attribution(readout, credit), prior_cv=0.5, unmeasured="keep")
    r = reallocate(readout, attribution=cal, n_draws=50)
    pv, v = (0.5 * credit) ** 2, lifts.std_error.to_numpy() ** 2
    post = np.maximum((credit / pv + lifts.conversions.to_numpy() / v) / (1 / pv + 1 / v), 0)
    n = readout.table().query("scope == 'channel'").consumers.to_numpy(float)
    np.testing.assert_allclose(r.points.estimate, post / n, rtol=1e-10)
    np.testing.assert_allclose(r.points.std_error, np.sqrt(pv * v / (pv + v)) / n, rtol=1e-10)
    # and each row's curve is the weighted fit through them, the arms' shared control scaled by the lifts' weights
    wgt = pv / (pv + v)
    for c in TRUE:
        j = (r.points.channel == c).to_numpy()
        cov = np.outer(wgt[j], wgt[j]) * noise ** 2 / 4
        np.fill_diagonal(cov, (np.sqrt(pv * v / (pv + v)) / n)[j] ** 2)
        ref, _ = fit_curve(r.points.spend_per_consumer.to_numpy()[j], (post / n)[j], cov)
        got = r.curves.set_index("channel").loc[c]
        assert got.beta == pytest.approx(ref[0], rel=1e-9) and got.kappa == pytest.approx(ref[1], rel=1e-9)
    with pytest.raises(ParameterError, match="not calibrated"):
        reallocate(readout, attribution=_campaign_attribution(readout, credit))
    with pytest.raises(ParameterError, match="one method"):
        from marketing360.attribution import compare

        reallocate(readout, attribution=compare(cal, readout.calibrate(_campaign_attribution(readout, credit),
                                                                       suffix="_again")))
