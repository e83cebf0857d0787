"""The same checks over every attribution method, on every engine.

Each method must: credit exactly what it promises (path methods: the
conversions and value of the journeys with touches; incremental methods:
their lift), not care what the channels are called, give the same answer
twice, handle a single channel, and refuse bad input with a clear error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import marketing360 as m3
from marketing360.attribution import (
    RULES,
    BaggedLogisticAttribution,
    CausalAttribution,
    DeepMTA,
    markov,
    probabilistic,
    rule_based,
    shapley,
)
from marketing360.errors import ParameterError
from marketing360.paths import journeys


def _deep(arch: str):
    def run(j):
        pytest.importorskip("torch")
        return DeepMTA(arch=arch, epochs=1, hidden=4, embed=4, max_len=8, progress=False).fit(j).attribute()
    return run


#: method name -> (attribution of journeys, kind): "path" methods credit every conversion with touches,
#: "incremental" ones the lift over no ads
METHODS = {
    **{r: ((lambda j, r=r: rule_based(j, rules=r)), "path") for r in RULES},
    "markov": (lambda j: markov(j), "path"),
    "markov_2": (lambda j: markov(j, order=2), "path"),
    "shapley": (lambda j: shapley(j), "path"),
    "shapley_rate": (lambda j: shapley(j, worth="rate"), "path"),
    "probabilistic": (lambda j: probabilistic(j), "path"),
    "bagged_logistic": (lambda j: BaggedLogisticAttribution(n_bags=4).fit(j).attribute(), "path"),
    "causal_shapley": (lambda j: CausalAttribution().fit(j).attribute(), "incremental"),
    "deep_rnn": (_deep("rnn"), "incremental"),
}
#: methods whose fit draws random numbers per channel index: invariant to renaming that keeps the order
ORDER_SENSITIVE = {"bagged_logistic", "deep_rnn"}


@pytest.fixture(scope="module")
def world():
    return m3.datasets.simulate(n_users=300, n_days=42, seed=8, truth="none", channels=["search", "display",
                                                                                     "video"])


def _journeys(engine, events, users):
    t = engine.table(events)
    brands = engine.table(pd.DataFrame({"brand": sorted(events.brand.dropna().unique())}))
    population = engine.table(users[["user_id"]]).cross_join(brands)
    return journeys(t, lookback_days=14, anchor="calendar", population=population)


#: channel renamings: one that changes the alphabetical order, one that keeps it
SHUFFLED = {"display": "zz", "search": "aa", "video": "mm"}
KEPT = {"display": "a_display", "search": "b_search", "video": "c_video"}


@pytest.fixture(scope="module")
def built(world):
    """Journeys per engine and variant, built once and kept by the engine (the methods only read them)."""
    cache: dict = {}

    def get(engine, variant="events"):
        if (engine.name, variant) not in cache:
            ev = world.events
            if variant in ("shuffled", "kept"):
                names = SHUFFLED if variant == "shuffled" else KEPT
                ev = ev.assign(channel=ev.channel.map(lambda c: names.get(c, c)))
            cache[engine.name, variant] = _journeys(engine, ev, world.users).cache()
        return cache[engine.name, variant]
    return get


def _credited(a) -> pd.Series:
    return a.table().set_index("channel").conversions


@pytest.mark.parametrize("name", list(METHODS))
def test_credits_add_up_to_what_the_method_promises(engine, built, name):
    j = built(engine)
    run, kind = METHODS[name]
    a = run(j)
    tot = j.totals()
    with_touches = tot[tot.has_touches]
    if kind == "path":
        assert a.table().conversions.sum() == pytest.approx(float(with_touches.conversions.sum()), rel=1e-9)
        assert a.table().value.sum() == pytest.approx(float(with_touches.value.sum()), rel=1e-6)
        assert (a.table().conversions >= -1e-12).all()
    elif name == "causal_shapley":
        model = CausalAttribution().fit(j)
        r = model.rates_
        lift = float((r.journeys * (r.used - model.baseline_)).sum())  # Shapley efficiency per set
        assert a.table().conversions.sum() == pytest.approx(lift, rel=1e-9)
    else:  # deep: each conversion's incremental part (f - f0)+ / f, all >= 0
        assert (a.table().conversions >= 0).all()
        assert a.table().conversions.sum() <= float(with_touches.conversions.sum()) + 1e-9


@pytest.mark.parametrize("name", list(METHODS))
def test_renaming_channels_renames_credits_and_is_deterministic(engine, built, name):
    run, _ = METHODS[name]
    # "display" < "search" < "video" alphabetically becomes, unless the order must be kept, another order
    variant = "kept" if name in ORDER_SENSITIVE else "shuffled"
    names = KEPT if variant == "kept" else SHUFFLED
    a = _credited(run(built(engine)))
    b = _credited(run(built(engine, variant)))
    again = _credited(run(built(engine)))
    pd.testing.assert_series_equal(a, again)
    b.index = [next((k for k, v in names.items() if v == c), c) for c in b.index]
    np.testing.assert_allclose(b.reindex(a.index).to_numpy(), a.to_numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", list(METHODS))
def test_one_channel_gets_everything(duckdb_engine, world, name):
    ev = world.events
    one = ev[(ev.channel == "search") | ~ev.event_type.isin(["impression", "click"])]
    run, kind = METHODS[name]
    a = run(_journeys(duckdb_engine, one, world.users)).table()
    credited = a[a.conversions.abs() > 0]
    assert set(credited.channel) == {"search"}


@pytest.mark.parametrize("name", list(METHODS))
def test_bad_input_raises_a_clear_error(duckdb_engine, world, name):
    run, _ = METHODS[name]
    with pytest.raises(ParameterError, match="Journeys"):
        run(world.events)  # a frame of events, not journeys
    no_ads = world.events[~world.events.event_type.isin(["impression", "click"])]
    with pytest.raises(ParameterError, match="touchpoint|nothing to|no conversions|needs"):
        run(_journeys(duckdb_engine, no_ads, world.users))
    no_sales = world.events[world.events.event_type != "purchase"]
    with pytest.raises(ParameterError, match="convert|no conversions|nothing to|needs"):
        run(_journeys(duckdb_engine, no_sales, world.users))


@pytest.mark.parametrize("name", ["first_touch", "markov", "shapley", "probabilistic", "causal_shapley"])
def test_intervals_cover_the_estimate_and_shrink_with_more_journeys(duckdb_engine, world, name):
    run, _ = METHODS[name]
    j = _journeys(duckdb_engine, world.events, world.users)
    ci = run(j).conf_int(n_boot=60)
    assert (ci.conversions_lower <= ci.conversions + 1e-9).all()
    assert (ci.conversions <= ci.conversions_upper + 1e-9).all()
    assert (ci.conversions_upper > ci.conversions_lower).any()
    # four times the journeys (the same world, consumers copied under new ids): intervals about half as wide
    ev, users = world.events, world.users
    big_ev = pd.concat([ev.assign(user_id=ev.user_id + k * 10**6) for k in range(4)], ignore_index=True)
    big_users = pd.concat([users.assign(user_id=users.user_id + k * 10**6) for k in range(4)], ignore_index=True)
    big = run(_journeys(duckdb_engine, big_ev, big_users)).conf_int(n_boot=60)
    w_small = (ci.conversions_upper - ci.conversions_lower).sum()
    w_big = (big.conversions_upper - big.conversions_lower).sum() / 4  # credits are 4x larger
    assert 0.3 < w_big / w_small < 0.8
