"""Deconfounded MTA by the g-formula: its panel, its exposure model, its sampling and its credits against the
simulator's truth on a world where a retargeted channel does nothing."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

torch = pytest.importorskip("torch")

import marketing360 as m3  # noqa: E402
from marketing360.attribution import DeconfoundedMTA, compare, rule_based, score  # noqa: E402
from marketing360.attribution.gformula import (  # noqa: E402
    _binomial_quantile,
    _fit_exposures,
    _panel,
)
from marketing360.datasets.simcore import _poisson_inv  # noqa: E402
from marketing360.datasets.world import DEFAULT_CHANNELS  # noqa: E402
from marketing360.errors import NotFittedError, ParameterError, SchemaError  # noqa: E402
from marketing360.paths import journeys  # noqa: E402


def _events() -> pd.DataFrame:
    """Two consumers, two brands, three days: impressions, organic steps and a purchase with a review."""
    rows = [
        (1, "2025-01-01 08:00", "a", "impression", "video", None),
        (1, "2025-01-01 08:30", "a", "impression", "video", None),
        (1, "2025-01-01 15:00", "a", "browse", "organic", None),
        (1, "2025-01-02 09:00", "a", "impression", "search", None),
        (1, "2025-01-02 16:00", "a", "cart", "organic", None),
        (1, "2025-01-03 16:00", "a", "purchase", "organic", 30.0),
        (1, "2025-01-03 16:10", "a", "review", "organic", 5.0),
        (2, "2025-01-01 10:00", "b", "impression", "search", None),
        (2, "2025-01-03 11:00", "b", "purchase", "organic", 50.0),
        (2, "2025-01-02 12:00", "a", "search", "organic", None),
    ]
    df = pd.DataFrame(rows, columns=["user_id", "ts", "brand", "event_type", "channel", "value"])
    return df.assign(ts=pd.to_datetime(df.ts))


def _reference_panel(df: pd.DataFrame) -> tuple[dict, dict]:
    """Plain pandas: impressions per (user, brand, day, channel) and the deepest organic step per day."""
    day = (df.ts.dt.normalize() - df.ts.min().normalize()).dt.days
    d = df.assign(day=day)
    imp = d[d.event_type == "impression"].groupby(["user_id", "brand", "day", "channel"]).size().to_dict()
    rank = {"browse": 1, "search": 2, "follow": 2, "cart": 2, "ask": 2, "purchase": 3}
    steps: dict = {}
    for (u, b, t), g in d.groupby(["user_id", "brand", "day"]):
        s = max([rank.get(e, 0) for e in g.event_type])
        if s == 3 and g.event_type.isin(["review", "share"]).any():
            s = 4
        steps[(u, b, t)] = s
    return imp, steps


def _check_panel(p, df: pd.DataFrame) -> None:
    imp, steps = _reference_panel(df)
    pairs = list(zip(p.users, [p.brands[b] for b in p.brand]))
    for (u, b, t, c), n in imp.items():
        assert p.exposures[t, p.channels.index(c), pairs.index((u, b))] == n
    assert p.exposures.sum() == sum(imp.values())
    for (u, b, t), s in steps.items():
        assert p.step[t, pairs.index((u, b))] == s
    assert (p.step > 0).sum() == sum(s > 0 for s in steps.values())
    np.testing.assert_allclose(p.value, [30.0, 50.0])  # mean purchase value per brand (a, b)


def test_panel_equals_a_pandas_reading(duckdb_engine):
    df = _events()
    p = _panel(duckdb_engine.table(df), None, None, None)
    assert p.channels == ["search", "video"] and p.brands == ["a", "b"] and p.n_days == 3
    _check_panel(p, df)


@pytest.mark.spark
def test_panel_agrees_between_engines(spark_engine):
    df = _events()
    _check_panel(_panel(spark_engine.table(df), None, None, None), df)


def test_exposure_model_recovers_planted_rates():
    rng = np.random.default_rng(5)
    D, C, P, B = 40, 2, 3000, 2
    brand = rng.integers(0, B, P)
    stage = np.minimum(rng.integers(0, 5, (D, P)), 4).astype(np.int8)
    reach = rng.lognormal(0, 0.5, (C, P))
    flight = rng.uniform(0.5, 1.5, (C, B, D))
    effect = np.array([[1.0, 1.0, 3.0, 3.0, 3.0], [0.5, 1.0, 1.0, 1.0, 2.0]])
    lam = reach[:, :, None] * flight[:, brand, :] * effect[np.arange(C)[:, None, None], stage.T[None]]
    n = rng.poisson(lam.transpose(2, 0, 1)).astype(np.int16)  # (D, C, P)
    _, _, fitted = _fit_exposures(n, stage, brand.astype(np.int16), B)
    ref = np.argmax(np.bincount(stage.ravel(), minlength=5))
    np.testing.assert_allclose(fitted, effect / effect[:, [ref]], rtol=0.05)


def test_quantile_samplers_equal_scipy():
    rng = np.random.default_rng(0)
    u = rng.random(5000)
    lam = rng.uniform(0, 6, 5000)
    np.testing.assert_array_equal(_poisson_inv(u, lam, kmax=40), stats.poisson.ppf(u, lam))
    n = rng.integers(0, 15, 5000).astype(float)
    p = rng.uniform(0, 1, 5000)
    np.testing.assert_array_equal(_binomial_quantile(u, n, p), stats.binom.ppf(u, n, p))


@pytest.fixture(scope="module")
def retargeted_world():
    """Video works and is not retargeted; email does nothing but is shown eight times as often to consumers
    at Appeal or beyond (retargeting); display works a little."""
    d = DEFAULT_CHANNELS
    channels = {
        "video": replace(d["video"], retarget=0.0),
        "display": d["display"],
        "email": replace(d["email"], beta=(0.0, 0.0, 0.0, 0.0), retarget=8.0),
    }
    return m3.datasets.simulate(n_users=2500, n_days=40, channels=channels, seed=21, truth="full")


@pytest.fixture(scope="module")
def fitted(retargeted_world):
    w = retargeted_world
    return DeconfoundedMTA(hidden=(), max_iter=100, progress=False, random_state=1).fit(w.events, w.users)


def test_stage_effect_sees_the_retargeting(fitted):
    eff = fitted.stage_effect_
    assert eff.loc["email", "appeal"] / eff.loc["email", "aware"] > 5  # planted: 1 + 8
    assert 0.7 < eff.loc["video", "appeal"] / eff.loc["video", "aware"] < 1.4  # planted: 1


def test_credits_are_the_shapley_split_of_the_simulated_lift(fitted):
    a = fitted.attribute()
    coal = fitted.coalitions_
    assert len(coal) == 8 and coal.channels.iloc[0] == "(none)"
    total = a.table().conversions.sum()
    assert total == pytest.approx(coal.purchases.iloc[-1] - coal.purchases.iloc[0], rel=1e-9)
    obs, pred = fitted.natural_course_
    assert abs(pred / obs - 1) < 0.25  # the models reproduce the observed purchases (+19% here)


def test_deconfounding_beats_last_touch_on_the_retargeted_world(fitted, retargeted_world, duckdb_engine):
    w = retargeted_world
    lt = rule_based(journeys(duckdb_engine.table(w.events)), rules=["last_touch"])
    s = score(compare(lt, fitted.attribute()), w.truth.shapley).table().set_index("method")
    share = fitted.attribute().table().set_index("channel").conversions
    share = share / share.sum()
    lt_share = lt.table().set_index("channel").conversions
    lt_share = lt_share / lt_share.sum()
    assert lt_share["email"] > 0.12  # last touch credits the retargeted channel
    assert share["email"] < 0.1  # the truth gives it nothing
    assert s.loc["deconfounded", "share_error"] < s.loc["last_touch", "share_error"] - 0.02


def test_same_seed_same_credits(retargeted_world):
    w = retargeted_world
    ev = w.events[w.events.user_id < 600]
    a = DeconfoundedMTA(hidden=(), n_models=1, max_iter=50, progress=False, random_state=4).fit(ev).attribute()
    b = DeconfoundedMTA(hidden=(), n_models=1, max_iter=50, progress=False, random_state=4).fit(ev).attribute()
    pd.testing.assert_frame_equal(a.table(), b.table())


def test_more_draws_average_mirrored_paths(retargeted_world):
    w = retargeted_world
    ev = w.events[w.events.user_id < 600]
    one = DeconfoundedMTA(hidden=(), max_iter=30, n_draws=1, progress=False, random_state=5).fit(ev)
    one.attribute()
    two = DeconfoundedMTA(hidden=(), max_iter=30, n_draws=2, progress=False, random_state=5).fit(ev)
    two.attribute()
    mirrored = two._simulate(1)  # the second path: every uniform of the first replaced by 1 - u
    assert not np.allclose(mirrored.purchases, one.coalitions_.purchases)
    np.testing.assert_allclose(two.coalitions_.purchases, (one.coalitions_.purchases + mirrored.purchases) / 2)
    np.testing.assert_allclose(two.coalitions_.revenue, (one.coalitions_.revenue + mirrored.revenue) / 2)


def test_bad_input_is_named():
    df = _events()
    with pytest.raises(SchemaError, match="brand"):
        DeconfoundedMTA(progress=False).fit(df.drop(columns="brand"))
    with pytest.raises(ParameterError, match="channels \\['tv'\\]"):
        DeconfoundedMTA(progress=False).fit(df, channels=["search", "tv"])
    with pytest.raises(SchemaError, match="no purchase"):
        DeconfoundedMTA(progress=False).fit(df[df.event_type != "purchase"])
    with pytest.raises(SchemaError, match="no impressions"):
        DeconfoundedMTA(progress=False).fit(df, start="2026-01-01", end="2026-01-02")
    with pytest.raises(ParameterError, match="end"):
        DeconfoundedMTA(progress=False).fit(df, start="2025-01-03", end="2025-01-01")
    for kw, word in [({"decays": (0.5, 1.0)}, "decays"), ({"hidden": (0,)}, "hidden"), ({"n_models": 0}, "n_models"),
                     ({"n_draws": 0}, "n_draws"), ({"negative_rate": 0.0}, "negative_rate"), ({"alpha": -1.0}, "alpha"),
                     ({"rules": "x"}, "rules")]:
        with pytest.raises(ParameterError, match=word):
            DeconfoundedMTA(progress=False, **kw).fit(df)
    with pytest.raises(NotFittedError):
        DeconfoundedMTA().attribute()
