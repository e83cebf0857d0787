"""The JD paper's simulation study as a preset: its exact truth against a brute-force computation.

The reference below is written separately from the module: a plain Python
loop per consumer, brand and day with ``math.exp``, every set of positions
re-simulated by zeroing the other positions' impressions (read back from the
events), and Shapley values from their permutation definition.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

import marketing360 as m3
from marketing360.datasets import JDMTAParams, JDMTAWorld, simulate_jd_mta
from marketing360.errors import ParameterError


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def _impressions(w: JDMTAWorld) -> np.ndarray:
    """Impressions per consumer, day, brand and position, counted from the events."""
    p = w.params
    x = np.zeros((len(w.users), p.n_days, p.n_brands, p.n_positions), dtype=int)
    imp = w.events[w.events.event_type == "impression"]
    day = ((imp.ts - w.start) // pd.Timedelta(days=1)).to_numpy()
    b = imp.brand.map({n: i for i, n in enumerate(w.brands)}).to_numpy()
    k = imp.channel.map({n: i for i, n in enumerate(w.channels)}).to_numpy()
    np.add.at(x, (imp.user_id.to_numpy(), day, b, k), 1)
    return x


def _brute_force(w: JDMTAWorld) -> tuple[dict[tuple[str, str], float], float]:
    """True incremental conversions per (brand, position) and in total, one consumer at a time."""
    p = w.params
    x = _impressions(w)
    d = w.users.set_index("user_id").profile
    h0 = w.latent[w.latent.day == 1].set_index(["user_id", "brand"]).h_prev
    P = p.n_positions
    players = list(range(P))
    credit = {(b, c): 0.0 for b in w.brands for c in w.channels}
    total = 0.0
    for i in range(len(w.users)):
        for bi, brand in enumerate(w.brands):
            def worth(coalition: frozenset[int]) -> list[float]:
                h = h0[(i, brand)]
                out = []
                for t in range(p.n_days):
                    xs = [x[i, t, bi, k] if k in coalition else 0 for k in players]
                    r = p.brand_profile[t][bi]
                    h = (p.lambda1 * _sigmoid(p.alpha0 + sum(xs[k] * p.alpha1[bi][k] for k in players)
                                              + r * p.alpha2[bi]) + (1 - p.lambda1) * h)
                    u = (p.b0 * d[i] + sum(xs[k] * p.b1[bi][k] for k in players) + p.b2[bi] * h
                         + r * p.b3[bi])
                    out.append(_sigmoid(u))
                return out

            v = {frozenset(s): worth(frozenset(s)) for n in range(P + 1) for s in itertools.combinations(players, n)}
            for t in range(p.n_days):
                total += v[frozenset(players)][t] - v[frozenset()][t]
                for order in itertools.permutations(players):  # Shapley: mean marginal contribution over orders
                    have: frozenset[int] = frozenset()
                    for k in order:
                        credit[(brand, w.channels[k])] += (v[have | {k}][t] - v[have][t]) / math.factorial(P)
                        have = have | {k}
    return credit, total


@pytest.fixture(scope="module")
def world() -> JDMTAWorld:
    return simulate_jd_mta(n_users=3_000, seed=11)


def test_truth_equals_a_brute_force_computation():
    w = simulate_jd_mta(n_users=150, seed=3, params=JDMTAParams(b0=-20.0))  # many consumers convert
    credit, total = _brute_force(w)
    got = w.truth.set_index(["brand", "channel"]).conversions
    assert got.to_dict() == pytest.approx(credit, rel=1e-9, abs=1e-12)
    assert w.totals["incremental_conversions"] == pytest.approx(total, rel=1e-9)
    assert w.truth.share.to_numpy() == pytest.approx(got.to_numpy() / total, rel=1e-9)


def test_truth_with_three_positions_equals_the_brute_force():
    w = simulate_jd_mta(n_users=40, seed=4, params=JDMTAParams(n_positions=3, n_days=3, b0=-10.0))
    credit, total = _brute_force(w)
    assert w.truth.set_index(["brand", "channel"]).conversions.to_dict() == pytest.approx(credit, rel=1e-9)
    assert w.totals["incremental_conversions"] == pytest.approx(total, rel=1e-9)


def test_latent_probabilities_match_the_published_recurrence(world):
    w = world
    p = w.params
    lat = w.latent.set_index(["user_id", "brand", "day"])
    x = _impressions(w)
    for i in (0, 7, 123):
        for bi, brand in enumerate(w.brands):
            h = lat.loc[(i, brand, 1), "h_prev"]
            for t in range(p.n_days):
                r = p.brand_profile[t][bi]
                h = p.lambda1 * _sigmoid(p.alpha0 + x[i, t, bi] @ p.alpha1[bi] + r * p.alpha2[bi]) \
                    + (1 - p.lambda1) * h
                u = p.b0 * w.users.profile[i] + x[i, t, bi] @ p.b1[bi] + p.b2[bi] * h + r * p.b3[bi]
                assert lat.loc[(i, brand, t + 1), "h"] == pytest.approx(h, rel=1e-12)
                assert lat.loc[(i, brand, t + 1), "p"] == pytest.approx(_sigmoid(u), rel=1e-9, abs=1e-300)
                assert lat.loc[(i, brand, t + 1), "impressions"] == x[i, t, bi].sum()


def test_conversions_match_the_mean_probability(world):
    w = world
    lat = w.latent
    bought = w.events[w.events.event_type == "purchase"]
    assert len(bought) == w.totals["conversions"] == lat.converted.sum()
    expected = lat.p.sum()
    assert w.totals["expected_conversions"] == pytest.approx(expected, rel=1e-12)
    sd = math.sqrt((lat.p * (1 - lat.p)).sum())
    assert abs(len(bought) - expected) < 4 * sd
    # the purchases are the converted (consumer, brand, day) cells
    day = (bought.ts - w.start) // pd.Timedelta(days=1) + 1
    got = set(zip(bought.user_id, bought.brand, day, strict=True))
    want = set(lat.loc[lat.converted, ["user_id", "brand", "day"]].itertuples(index=False, name=None))
    assert got == want


def test_shapley_efficiency_and_coalition_worths(world):
    w = world
    co = w.coalitions.set_index(["brand", "coalition"]).conversions
    full = (1 << w.params.n_positions) - 1
    for b in w.brands:
        lift = co[(b, full)] - co[(b, 0)]
        assert w.truth[w.truth.brand == b].conversions.sum() == pytest.approx(lift, rel=1e-12)
        # the published parameters (alpha1, b1, b2 >= 0): more positions showing ads, more conversions
        assert co[(b, 0)] < co[(b, 1)] < co[(b, full)]
        assert co[(b, 0)] < co[(b, 2)] < co[(b, full)]
    assert w.totals["expected_conversions"] == pytest.approx(co.xs(full, level="coalition").sum(), rel=1e-12)
    assert w.totals["baseline_conversions"] == pytest.approx(co.xs(0, level="coalition").sum(), rel=1e-12)
    assert w.truth.share.sum() == pytest.approx(1.0)
    by = w.truth_by_channel()
    assert by.conversions.sum() == pytest.approx(w.totals["incremental_conversions"])
    score = m3.attribution.score(m3.attribution.Attribution(
        by.assign(method="truth", value=0.0)), w.truth)
    assert score.table().share_error[0] == pytest.approx(0.0, abs=1e-12)


def test_a_position_without_effect_gets_no_credit():
    zero = JDMTAParams(alpha1=[[1.0, 0.0], [0.5, 0.0]], b1=[[0.6, 0.0], [0.3, 0.0]])
    w = simulate_jd_mta(n_users=500, seed=2, params=zero)
    t = w.truth.set_index(["brand", "channel"]).conversions
    assert t.xs("position_2", level="channel").tolist() == [0.0, 0.0]
    assert (t.xs("position_1", level="channel") > 0).all()
    co = w.coalitions.set_index(["brand", "coalition"]).conversions
    for b in w.brands:  # position 2 changes nothing, with or without position 1
        assert co[(b, 2)] == co[(b, 0)] and co[(b, 3)] == co[(b, 1)]


def test_fixing_one_parameter_keeps_the_other_draws():
    a = JDMTAParams().draw(5)
    b = JDMTAParams(b1=0.5).draw(5)
    assert b.b1.tolist() == [[0.5, 0.5], [0.5, 0.5]]
    for name in ("alpha1", "alpha2", "b3", "brand_profile"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert (a.alpha1 > 0).all() and ((0.1 <= a.b1) & (a.b1 <= 0.9)).all() and a.b2.tolist() == [0.01, 0.01]
    assert JDMTAParams(alpha2=[1.0, 2.0]).draw(1).alpha2.tolist() == [1.0, 2.0]
    assert not JDMTAParams().is_drawn and a.is_drawn
    assert set(a.table().parameter) >= {"alpha1", "b1", "brand_profile", "b0"}
    assert len(a.table()) == 5 + 4 + 2 + 4 + 2 + 2 + 10  # scalars, alpha1, alpha2, b1, b2, b3, brand profile


def test_same_seed_same_world():
    a, b = simulate_jd_mta(200, seed=9), simulate_jd_mta(200, seed=9)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not a.events.equals(simulate_jd_mta(200, seed=10).events)


def test_events_are_canonical_and_make_calendar_journeys(world):
    w = world
    ev = m3.validate(w.events, "events")
    assert len(ev) == len(w.events)
    assert set(ev.event_type) == {"impression", "purchase"}
    assert set(ev.channel.dropna()) == set(w.channels)
    assert ev.ts.min() >= w.start and ev.ts.max() < w.end
    m3.validate(w.users, "users")
    imp = ev[ev.event_type == "impression"]
    assert len(imp) == _impressions(w).sum()
    # a purchase comes after all of its day's impressions
    buy = ev[ev.event_type == "purchase"]
    assert (buy.ts.dt.hour == 23).all() and (imp.ts < imp.ts.dt.normalize() + pd.Timedelta(days=1)).all()
    j = m3.paths.journeys(w.events, lookback_days=1, anchor="calendar", population=w.population(), end=w.end)
    tab = j.table()
    assert len(tab) == len(w.users) * w.params.n_brands * w.params.n_days
    assert tab.conversions.sum() == w.totals["conversions"]
    assert (tab.n_touches * (tab.conversions + tab.nulls)).sum() == len(imp)
    assert np.allclose(tab.window_days, 1.0, atol=1e-9)  # converting journeys last as long as the others


@pytest.mark.parametrize("kwargs, match", [
    ({"n_users": 0}, "n_users must be a positive integer"),
    ({"n_users": 2.5}, "n_users must be a positive integer"),
    ({"n_users": True}, "n_users must be a positive integer"),
    ({"seed": "a"}, "random_state must be None"),
    ({"start": "not a date"}, "start must be a date"),
    ({"start": "2026-01-01 10:00"}, "start must be a midnight"),
    ({"params": {"b0": -200}}, "params must be a JDMTAParams"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        simulate_jd_mta(**{"n_users": 10, **kwargs})


@pytest.mark.parametrize("kwargs, match", [
    ({"n_brands": 0}, "n_brands must be a positive integer"),
    ({"n_days": 1.5}, "n_days must be a positive integer"),
    ({"n_positions": 11}, "n_positions must be a positive integer up to 10"),
    ({"mean_impressions": 0}, "mean_impressions must be a number > 0"),
    ({"lambda1": 1.5}, r"lambda1 must be a number >= 0 and <= 1"),
    ({"h0_sd": -1}, "h0_sd must be a number >= 0"),
    ({"b0": float("nan")}, "b0 must be a finite number"),
    ({"alpha0": "1"}, "alpha0 must be a finite number"),
    ({"alpha1": [1.0, 2.0]}, r"alpha1 must have shape \(2, 2\) \(brands x positions\) or be one number; "
                             r"found shape \(2,\)"),
    ({"b1": [[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]]}, r"b1 must have shape \(2, 2\)"),
    ({"b3": [1.0, np.inf]}, "b3 must be finite numbers"),
    ({"brand_profile": np.ones((4, 2))}, r"brand_profile must have shape \(5, 2\) \(days x brands\)"),
    ({"brand_profile": -1.0}, "brand_profile must be >= 0"),
    ({"b2": "x"}, "b2 must be numbers of shape"),
])
def test_bad_parameters_are_named(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        JDMTAParams(**kwargs)
