"""Data-driven attribution (Shao & Li, Dalessandro et al.) against hand computations and statsmodels."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from reference_mta import shapley_of_game

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
