"""Data-driven attribution (Shao & Li, Dalessandro et al.) against hand computations and statsmodels."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from reference_mta import shapley_of_game

import marketing360 as m3
from marketing360.attribution import BASELINE, BaggedLogisticAttribution, CausalAttribution, probabilistic
from marketing360.errors import NotFittedError, ParameterError
from marketing360.models import fit_logistic
from marketing360.paths import from_paths, journey_matrix


def _paths(rows):
    return pd.DataFrame(rows, columns=["path", "conversions", "nulls", "value"])


def test_logistic_fit_equals_statsmodels():
    import statsmodels.api as sm

    rng = np.random.default_rng(0)
    x = (rng.random((400, 5)) < 0.4).astype(float)
    p = 1 / (1 + np.exp(-(-1.0 + x @ np.array([0.8, -0.5, 0.3, 0.0, 1.2]))))
    y = (rng.random(400) < p).astype(float)
    w = rng.integers(1, 4, 400).astype(float)
    fit = fit_logistic(x, y, w, l2=0.0)
    ref = sm.GLM(y, sm.add_constant(x), family=sm.families.Binomial(), freq_weights=w).fit()
    np.testing.assert_allclose(np.r_[fit.intercept, fit.coef], ref.params, atol=1e-5)
    with pytest.raises(ParameterError, match="both outcomes"):
        fit_logistic(x, np.zeros(400))
    with pytest.raises(ParameterError, match="rows"):
        fit_logistic(x, y[:10])


def test_probabilistic_model_by_hand(duckdb_engine):
    df = _paths([("a", 2, 2, 20.0), ("b", 1, 3, 5.0), ("a > b", 3, 1, 30.0), ("c", 0, 4, 0.0)])
    got = probabilistic(from_paths(duckdb_engine.table(df)))
    # P(y|a) = 5/8, P(y|b) = 4/8, P(y|c) = 0; P(y|a,b) = 3/4; pairs with c never seen
    c_a = 5 / 8 + (3 / 4 - 5 / 8 - 4 / 8) / (2 * 2)
    c_b = 4 / 8 + (3 / 4 - 5 / 8 - 4 / 8) / (2 * 2)
    assert got.scores.to_dict() == pytest.approx({"a": c_a, "b": c_b, "c": 0.0})
    f = got.table().set_index("channel")
    # "a" alone: 2 conversions to a; "b" alone: 1 to b; "a > b": 3 split c_a : c_b
    assert f.loc["a", "conversions"] == pytest.approx(2 + 3 * c_a / (c_a + c_b))
    assert f.loc["b", "conversions"] == pytest.approx(1 + 3 * c_b / (c_a + c_b))
    assert f.loc["a", "value"] == pytest.approx(20 + 30 * c_a / (c_a + c_b))
    assert f.conversions.sum() == pytest.approx(6)


def test_bagged_logistic(duckdb_engine):
    rng = np.random.default_rng(5)
    rows = []
    for chans in itertools.chain.from_iterable(itertools.combinations("abcd", r) for r in range(1, 5)):
        lift = 0.05 + 0.25 * ("a" in chans) + 0.1 * ("b" in chans) - 0.03 * ("d" in chans)
        n = 400
        conv = rng.binomial(n, min(max(lift, 0.01), 0.95))
        rows.append((" > ".join(chans), conv, n - conv, 10.0 * conv))
    j = from_paths(duckdb_engine.table(_paths(rows)))
    with pytest.raises(NotFittedError):
        BaggedLogisticAttribution().attribute()
    model = BaggedLogisticAttribution(n_bags=20, random_state=1).fit(j)
    # the averaged coefficients are close to one fit on all the data (statsmodels-checked fit_logistic)
    m = journey_matrix(j)
    pres = m.presence.toarray()
    full = fit_logistic(np.vstack([pres, pres]), np.r_[np.ones(len(pres)), np.zeros(len(pres))],
                        np.r_[m.conversions, m.nulls], l2=1e-3)
    np.testing.assert_allclose(model.coef_.to_numpy(), full.coef, atol=0.15)
    assert model.coef_["a"] > model.coef_["b"] > 0 > model.coef_["d"]
    f = model.attribute().table().set_index("channel")
    assert f.loc["d", "conversions"] == 0.0  # a negative coefficient earns nothing
    # journeys without a channel of positive coefficient ("d" alone at least) go to the baseline row
    positive = set(model.coef_[model.coef_ > 0].index)
    left = sum(r[1] for r in rows if not positive & set(r[0].split(" > ")))
    assert left >= [r for r in rows if r[0] == "d"][0][1] > 0
    assert f.loc[BASELINE, "conversions"] == pytest.approx(left)
    assert f.conversions.sum() == pytest.approx(sum(r[1] for r in rows))
    with pytest.raises(ParameterError, match="n_bags"):
        BaggedLogisticAttribution(n_bags=0).fit(j)


def test_causal_attribution_is_the_shapley_split_of_the_lift(duckdb_engine):
    import scipy.sparse as sp

    rng = np.random.default_rng(9)
    rate, rows = {}, []
    for chans in itertools.chain.from_iterable(itertools.combinations("abc", r) for r in range(1, 4)):
        n = int(rng.integers(50, 200))
        conv = int(rng.integers(0, n // 2))
        rate[frozenset(chans)] = conv / n
        rows.append((" > ".join(chans), conv, n - conv, 0.0))
    df = _paths(rows)
    # journeys with no ad (30 of 120 convert): a path table cannot hold them, so add a row to the matrix
    m = journey_matrix(from_paths(duckdb_engine.table(df)))
    m.counts = sp.vstack([m.counts, sp.csr_matrix((1, len(m.channels)))]).tocsr()
    m.conversions, m.nulls, m.value = np.r_[m.conversions, 30.0], np.r_[m.nulls, 90.0], np.r_[m.value, 0.0]
    rate[frozenset()] = 30 / 120
    model = CausalAttribution(shrinkage=0.0).fit(m)
    assert model.baseline_ == pytest.approx(rate[frozenset()])
    got = model.attribute().table().set_index("channel").conversions
    expect = dict.fromkeys("abc", 0.0)
    for r in df.itertuples():
        s = frozenset(r.path.split(" > "))
        phi = shapley_of_game(lambda t: rate[t & s] - rate[frozenset()], sorted(s))
        for c, v in phi.items():
            expect[c] += (r.conversions + r.nulls) * v
    assert got.to_dict() == pytest.approx(expect, rel=1e-9)
    # efficiency: the credits add up to the lift, sum over journeys of P(y|S) - P(y|{})
    total = sum((r.conversions + r.nulls) * (rate[frozenset(r.path.split(" > "))] - rate[frozenset()])
                for r in df.itertuples())
    assert got.sum() == pytest.approx(total)
    with pytest.raises(ParameterError, match="no-ad baseline"):
        CausalAttribution().fit(from_paths(duckdb_engine.table(df)))


def test_returns_and_channel_costs(duckdb_engine):
    from marketing360.attribution import Attribution, channel_costs, returns

    ev = pd.DataFrame({"user_id": [1, 1, 2, 2], "ts": pd.to_datetime(["2025-01-01"] * 4),
                       "event_type": ["impression", "click", "impression", "purchase"],
                       "channel": ["video", "search", "video", "search"], "cost": [0.5, 2.0, 0.25, None]})
    costs = channel_costs(duckdb_engine.table(ev))
    assert costs.series().to_dict() == {"search": 2.0, "video": 0.75}  # the purchase's channel costs nothing
    a = Attribution(pd.DataFrame({"method": "m", "channel": ["search", "video", BASELINE],
                                  "conversions": [4.0, 0.0, 1.0], "value": [10.0, 3.0, 5.0]}))
    r = returns(a, costs).table().set_index("channel")
    assert list(r.index) == ["search", "video"]  # the baseline pseudo-channel has no cost and is left out
    assert r.loc["search", "roas"] == 5.0 and r.loc["search", "cost_per_conversion"] == 0.5
    assert r.loc["video", "roas"] == 4.0 and np.isnan(r.loc["video", "cost_per_conversion"])
    with pytest.raises(ParameterError, match="no cost"):
        returns(a, pd.Series({"search": 1.0}))
    with pytest.raises(ParameterError, match="non-negative"):
        returns(a, pd.Series({"search": -1.0, "video": 1.0}))


# ---------------------------------------------------------------- CausalAttribution's selection corrections

BRANDS = pd.DataFrame({"brand": ["A", "B", "C"], "category": ["x", "x", "y"]})


def _causal_events():
    rows = [  # user, ts, brand, event_type, channel, value; two calendar windows of 10 days from 1 January
        (3, "2025-01-01 08:00", "C", "browse", None, None),
        (1, "2025-01-02 10:00", "A", "impression", "display", None),
        (1, "2025-01-03 12:00", "A", "purchase", None, 50.0),
        (1, "2025-01-05 09:00", "A", "impression", "search", None),  # after the conversion, same window; Act
        (2, "2025-01-06 10:00", "B", "impression", "search", None),  # unaware
        (3, "2025-01-04 10:00", "C", "purchase", None, 20.0),  # no ad of category y ever: out of the market
        (2, "2025-01-12 10:00", "B", "impression", "display", None),
        (4, "2025-01-15 10:00", "C", "impression", "display", None),
        (4, "2025-01-16 10:00", "C", "purchase", None, 30.0),
        (4, "2025-01-20 10:00", "C", "browse", None, None),
    ]
    ev = pd.DataFrame(rows, columns=["user_id", "ts", "brand", "event_type", "channel", "value"])
    ev["ts"] = pd.to_datetime(ev.ts)
    return ev


@pytest.fixture
def calendar(duckdb_engine):
    from marketing360.paths import journeys

    ev = duckdb_engine.table(_causal_events())
    pop = duckdb_engine.table(pd.DataFrame({"user_id": [1, 2, 3, 4]}).merge(BRANDS[["brand"]], how="cross"))
    return ev, journeys(ev, lookback_days=10, population=pop, anchor="calendar")


def _rates(model) -> dict:
    """(window, channel set) -> (journeys, conversions) from rates_."""
    chans = model.channels_
    r = model.rates_
    win = r["window"] if "window" in r else np.zeros(len(r), int)
    return {(int(w), tuple(c for i, c in enumerate(chans) if int(mk) >> i & 1)): (n, c_)
            for w, mk, n, c_ in zip(win, r["mask"], r.journeys, r.conversions)}


def test_causal_corrections_by_hand(calendar):
    ev, jc = calendar
    # as the journeys hold them: 24 journeys (4 consumers x 3 brands x 2 windows), sets cut at the conversion
    plain = CausalAttribution(shrinkage=0.0).fit(jc)
    assert _rates(plain) == {(0, ()): (20, 1), (0, ("display",)): (3, 2), (0, ("search",)): (1, 0)}
    assert plain.baseline_ == pytest.approx(1 / 20)  # consumer 3's purchase without an ad
    # read from the events with no correction on (an empty retargeting map thins nothing): the same sets
    same = CausalAttribution(shrinkage=0.0, population="all", channel_sets="to_conversion", retargeting={},
                             per_window=False).fit(jc, events=ev)
    assert _rates(same) == _rates(plain)
    np.testing.assert_allclose(same.attribute().table().conversions, plain.attribute().table().conversions)
    # in the market: consumers 1 and 2 saw ads of category x (brands A, B), 4 of y (C); consumer 3 none
    pw = CausalAttribution(shrinkage=0.0, population="in_market", channel_sets="whole_window", retargeting=None,
                           per_window=False)
    pw.fit(jc, events=ev, brands=BRANDS)
    assert pw.pairs_ == {"in_market": 5, "out_of_market": 7, "used": 5}
    # the whole window: consumer 1's conversion holds the search ad after it
    assert _rates(pw) == {(0, ()): (6, 0), (0, ("display",)): (2, 1), (0, ("search",)): (1, 0),
                          (0, ("display", "search")): (1, 1)}
    # one set function per window, from the journeys alone
    by_window = CausalAttribution(shrinkage=0.0, per_window=True).fit(jc)
    assert _rates(by_window) == {(0, ()): (10, 1), (0, ("display",)): (1, 1), (0, ("search",)): (1, 0),
                                 (1, ()): (10, 0), (1, ("display",)): (2, 1)}
    assert by_window.baseline_ == pytest.approx((12 * 0.1 + 12 * 0.0) / 24)  # windows weighted by journeys
    # retargeting: the search ad came while (1, A) was at Act (level 3, it bought on 3 January); shown 4x as
    # often there, it is kept 1 time in 4, so the journey is 3/4 {display}, 1/4 {display, search}
    full = CausalAttribution(shrinkage=0.0, population="in_market", channel_sets="whole_window",
                             retargeting={"search": {"act": 4.0}}, per_window=True).fit(jc, events=ev, brands=BRANDS)
    r = _rates(full)
    assert r[0, ("display",)] == pytest.approx((0.75, 0.75))
    assert r[0, ("display", "search")] == pytest.approx((0.25, 0.25))
    assert r[0, ("search",)] == (1, 0) and r[1, ("display",)] == (2, 1) and r[1, ()] == (3, 0)
    rt = full.retargeting_.set_index(["channel", "level"])
    assert rt.loc[("search", 3), "keep"] == 0.25 and rt.loc[("display", 3), "keep"] == 1.0
    # window 0: P(y|{d}) = P(y|{d,s}) = 1, P(y|{s}) = P(y|{}) = 0, so display earns 0.75 + 0.25; window 1:
    # P(y|{d}) = 1/2 over 2 journeys: 1 more
    got = full.attribute().table().set_index("channel").conversions
    assert got.to_dict() == pytest.approx({"display": 2.0, "search": 0.0})
    # one set function for both windows: P(y|{d}) = 1.75 / 2.75, P(y|{d,s}) = 1, P(y|{s}) = P(y|{}) = 0
    pooled = CausalAttribution(shrinkage=0.0, population="in_market", channel_sets="whole_window",
                               retargeting={"search": {3: 4.0}}, per_window=False).fit(jc, events=ev, brands=BRANDS)
    p_d = 1.75 / 2.75
    phi_d, phi_s = (p_d + 1.0) / 2, (1.0 - p_d) / 2
    got = pooled.attribute().table().set_index("channel").conversions
    assert got.to_dict() == pytest.approx({"display": 2.75 * p_d + 0.25 * phi_d, "search": 0.25 * phi_s})


def test_causal_corrections_defaults_and_errors(calendar):
    ev, jc = calendar
    off = {"population": "all", "channel_sets": "to_conversion", "retargeting": None, "per_window": False}
    assert CausalAttribution().fit(jc).settings_ == off  # the journeys alone: as published
    on = CausalAttribution().fit(jc, events=ev, brands=BRANDS)
    assert on.settings_ == {"population": "in_market", "channel_sets": "whole_window", "retargeting": "estimate",
                            "per_window": True}
    assert on.retargeting_ is not None and on.pairs_["used"] == 5
    # without brands the pairs cannot be told in or out of the market: all are kept
    assert CausalAttribution().fit(jc, events=ev).settings_["population"] == "all"
    with pytest.raises(ParameterError, match="needs brands"):
        CausalAttribution(population="in_market").fit(jc, events=ev)
    with pytest.raises(ParameterError, match="read.*the events"):
        CausalAttribution(channel_sets="whole_window").fit(jc)
    with pytest.raises(ParameterError, match="all three are set off"):
        CausalAttribution(population="all", channel_sets="to_conversion", retargeting=None).fit(jc, events=ev)
    with pytest.raises(ParameterError, match="go with events"):
        CausalAttribution().fit(jc, brands=BRANDS)
    with pytest.raises(ParameterError, match="rules= sets the 4A levels"):
        CausalAttribution(retargeting=None).fit(jc, events=ev, brands=BRANDS, rules=m3.assets.StageRules())
    for bad, match in [({"population": "market"}, "population must be one of"),
                       ({"channel_sets": "all"}, "channel_sets must be one of"),
                       ({"per_window": 1}, "per_window must be one of"),
                       ({"max_iter": 0}, "max_iter must be a positive integer"),
                       ({"retargeting": "yes"}, "retargeting must be"),
                       ({"retargeting": {"search": 4.0}}, "must map 4A levels"),
                       ({"retargeting": {"search": {7: 2.0}}}, "levels are 0-4"),
                       ({"retargeting": {"search": {"act": 0.0}}}, "multipliers positive")]:
        with pytest.raises(ParameterError, match=match):
            CausalAttribution(**bad).fit(jc, events=ev, brands=BRANDS)
    with pytest.raises(ParameterError, match="no touch of the journeys has"):
        CausalAttribution(retargeting={"video": {3: 2.0}}).fit(jc, events=ev, brands=BRANDS)
    with pytest.raises(ParameterError, match="calendar journeys built from the events"):
        CausalAttribution().fit(journey_matrix(jc), events=ev, brands=BRANDS)
    with pytest.raises(ParameterError, match="calendar Journeys"):
        CausalAttribution(per_window=True).fit(journey_matrix(jc))
    with pytest.raises(ParameterError, match="fitted with events"):
        on.attribute(jc)


def test_retargeting_multipliers_recover_the_simulated_ones():
    from marketing360.paths import journeys

    w = m3.datasets.simulate(n_users=2000, n_days=60, channels=["display", "search", "video"], truth="none",
                             seed=0, progress=False)
    eng = m3.connect()
    ev = eng.table(w.events)
    pop = eng.table(w.users[["user_id"]].merge(w.brands[["brand"]], how="cross"))
    jc = journeys(ev, lookback_days=30, population=pop, anchor="calendar")
    model = CausalAttribution(population="all", channel_sets="to_conversion", per_window=False)
    rt = model.fit(jc, events=ev, brands=w.brands).retargeting_.set_index(["channel", "level"])
    assert rt.converged.all()
    # planted: exposures x (1 + retarget) from Appeal (level 2) on: display 1 + 1, search 1 + 8, video 1 + 0.
    # Over seeds 0-5 the estimates fell in display 1.90-2.31, search 6.92-9.80, video 0.77-1.08 (levels 2-4)
    # and 0.85-1.10 (level 1); the bounds leave a margin around those.
    m = rt.multiplier.unstack()
    assert (m[0] == 1.0).all() and m[1].between(0.75, 1.25).all()
    assert m.loc["display", [2, 3, 4]].between(1.7, 2.5).all()
    assert m.loc["search", [2, 3, 4]].between(6.0, 11.5).all()
    assert m.loc["video", [2, 3, 4]].between(0.65, 1.3).all()
    np.testing.assert_allclose(rt.keep, np.minimum(1.0, 1.0 / rt.multiplier))
