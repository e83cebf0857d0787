"""Funnels: ClickHouse's documented windowFunnel results, a plain-Python reading of its algorithm on random
events (DuckDB and Spark), segments and the comparison interval against statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reference_paths import engine_named, on_engines, reference_window_funnel

from marketing360.errors import ParameterError, SchemaError
from marketing360.paths import funnel

EPOCH = pd.Timestamp("2019-01-01")


def _events(rows, users=None) -> pd.DataFrame:
    """(seconds, event id[, user]) rows as canonical events with an ``event_id`` column."""
    return pd.DataFrame({"user_id": users if users is not None else 1,
                         "ts": [EPOCH + pd.Timedelta(seconds=s) for s, *_ in rows],
                         "event_type": "browse", "event_id": [r[1] for r in rows]})


def _level(ev, ids, window, **modes) -> int:
    t = funnel(ev, [{"event_id": i} for i in ids], window=window, **modes).levels.execute()
    return int(t.level.iloc[0])


def test_the_documented_example():
    # ClickHouse docs, windowFunnel: the user logs in, orders, searches a phone, orders again -> level 4
    ev = pd.DataFrame({"user_id": 1, "event_type": "browse", "product": "phone",
                       "ts": pd.to_datetime(["2019-01-29 10:00", "2019-01-31 09:00", "2019-01-30 08:00",
                                             "2019-02-01 08:00"]),
                       "event_id": [1003, 1007, 1009, 1010]})
    f = funnel(ev, [{"event_id": 1003}, {"event_id": 1009}, {"event_id": 1007}, {"event_id": 1010}], window=None,
               start="2019-01-01", end="2019-02-03")
    assert f.levels.execute().level.tolist() == [4]
    assert f.table().consumers.tolist() == [1, 1, 1, 1]


SEQ = [(i, 1000 + i) for i in range(9)]  # ClickHouse's funnel_test: event 1000 + i at second i


@pytest.mark.parametrize("window,ids,expected", [
    (10000, [1000], 1), (10000, [1000, 1001], 2), (10000, [1000, 1001, 1002], 3),
    (10000, [1000, 1001, 1002, 1008], 4), (1, [1000], 1),
    (2, [1003, 1004, 1005, 1006, 1007], 3), (3, [1003, 1004, 1005, 1006, 1007], 4),
    (4, [1003, 1004, 1005, 1006, 1007], 5),
    (10000, [1008, 1001], 1),
])
def test_clickhouse_window_examples(window, ids, expected):
    assert _level(_events(SEQ), ids, window) == expected


def test_clickhouse_predicate_steps_and_one_event_for_several_steps():
    ev = _events([(s, e) for s, e in SEQ if e >= 1001])
    steps = [lambda t: t.event_id <= 1007, lambda t: t.event_id >= 1002, lambda t: t.event_id <= 1006,
             lambda t: t.event_id >= 1004]
    assert int(funnel(ev, steps, window=4).levels.execute().level.iloc[0]) == 4
    # one event matching three steps climbs all three (ClickHouse: windowFunnel(event = 1004 x 3) = 3)
    ev = _events([(0, 1000), (1, 1001), (1, 1002), (1, 1003), (2, 1004)])
    assert _level(ev, [1004, 1004, 1004], 10000) == 3


def test_clickhouse_strict_deduplication_example():
    rows = [(0, 1000), (10, 1001), (20, 1002), (30, 1003), (40, 1004), (50, 1005), (51, 1005), (60, 1006),
            (70, 1007), (80, 1008)]
    ids = list(range(1000, 1007))
    assert _level(_events(rows), ids, 10000, strict_deduplication=True) == 6
    assert _level(_events(rows), ids, 10000) == 7
    # a-b-c-b-d: the repeated b ends the search at level 3 (ClickHouse issue 27469)
    assert _level(_events([(1, 1), (2, 2), (3, 3), (4, 2), (5, 4)]), [1, 2, 3, 4], 86400,
                  strict_deduplication=True) == 3


STRICT_ORDER_USERS = {1: "abc", 2: "adbc", 3: "aabbcc", 4: "aaaabbcc", 5: "aabbdcc", 6: "ccbbaa"}


@pytest.mark.parametrize("engine_name,case", on_engines([
    ({}, [3, 3, 3, 3, 3, 1]),
    ({"strict_order": True}, [3, 1, 3, 3, 2, 1]),
    ({"strict_order": True, "strict_deduplication": True}, [3, 1, 2, 2, 2, 1]),
], spark=[2]))
def test_clickhouse_strict_order_examples(request, engine_name, case):
    engine = engine_named(request, engine_name)
    modes, expected = case
    rows, users = [], []
    for u, seq in STRICT_ORDER_USERS.items():
        rows += [(i + 1, ord(c)) for i, c in enumerate(seq)]
        users += [u] * len(seq)
    ev = engine.table(pd.DataFrame({"user_id": users, "ts": [EPOCH + pd.Timedelta(seconds=s) for s, _ in rows],
                                    "event_type": "browse", "page": [chr(e) for _, e in rows]}))
    f = funnel(ev, [{"page": "a"}, {"page": "b"}, {"page": "c"}], window=86400, **modes)
    got = engine.to_pandas(f.levels).sort_values("user_id")
    assert got.level.tolist() == expected
    # user 7: a, c, b in 10 s -> 1
    ev7 = pd.DataFrame({"user_id": 7, "ts": [EPOCH + pd.Timedelta(seconds=s) for s in (1, 2, 3)],
                        "event_type": "browse", "page": list("acb")})
    assert funnel(ev7, [{"page": "a"}, {"page": "b"}, {"page": "c"}], window=10,
                  strict_order=True).levels.execute().level.tolist() == [1]


def _random_events(seed: int, n_users: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(1, n_users + 1):
        t = 0
        for _ in range(int(rng.integers(0, 14))):
            t += int(rng.choice([0, 0, 30, 60, 300, 3600, 7200]))
            rows.append({"user_id": u, "ts": EPOCH + pd.Timedelta(seconds=t),
                         "event_type": str(rng.choice(["browse", "search", "cart", "purchase", "follow"],
                                                      p=[.35, .15, .25, .15, .1])),
                         "brand": str(rng.choice(["A", "B"]))})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("engine_name,case", on_engines([(3600, {}), (600, {}), (None, {}),
                                                         (7200, {"strict_order": True}),
                                                         (7200, {"strict_deduplication": True}),
                                                         (3600, {"strict_order": True, "strict_deduplication": True})],
                                                        spark=[0, 2, 5]))
def test_levels_and_times_match_the_algorithm(request, engine_name, case):
    engine = engine_named(request, engine_name)
    window, modes = case
    ev = _random_events(4)
    steps = ["browse", "cart", "purchase"]
    f = funnel(engine.table(ev), steps, window=window, **modes)
    got = engine.to_pandas(f.levels).set_index("user_id").sort_index()
    conds = [lambda e, s=s: e["event_type"] == s for s in steps]
    want, want_times = {}, {}
    for u, g in ev.groupby("user_id"):
        times: dict = {}
        rows = [((r.ts - EPOCH).total_seconds(), {"event_type": r.event_type}) for r in g.itertuples()]
        want[u] = reference_window_funnel(rows, conds, window, times=times, **modes)
        want_times[u] = times
    assert got.level.to_dict() == want
    for k in range(1, 4):
        ref = pd.Series({u: t[k] / 60 for u, t in want_times.items() if k in t and want[u] >= k}, dtype=float)
        mine = got[f"minutes_{k}"].dropna()
        assert mine.sort_index().to_numpy() == pytest.approx(ref.sort_index().to_numpy())
        assert list(mine.sort_index().index) == list(ref.sort_index().index)
    # the step table: consumers reaching each step, and the median time among them
    t = f.table()
    levels = np.array(list(want.values()))
    assert t.consumers.tolist() == [(levels >= k).sum() for k in (1, 2, 3)]
    assert t.drop_off.tolist() == [0, (levels == 1).sum(), (levels == 2).sum()]
    for col, q in (("p25_minutes", 25), ("median_minutes", 50), ("p75_minutes", 75), ("p90_minutes", 90)):
        want_q = [np.percentile([v[k] / 60 for u, v in want_times.items() if k in v], q) if (levels >= k).any()
                  else np.nan for k in (1, 2, 3)]
        assert t[col].to_numpy() == pytest.approx(np.array(want_q), nan_ok=True), col


@pytest.mark.parametrize("engine_name,window", on_engines(["1h"], spark=[0]))
def test_a_step_nobody_reaches_has_no_times(request, engine_name, window):
    engine = engine_named(request, engine_name)
    ev = pd.DataFrame({"user_id": [1, 1, 2, 2], "event_type": ["browse", "cart", "browse", "purchase"],
                       "ts": EPOCH + pd.to_timedelta([0, 600, 0, 60], unit="s")})
    t = funnel(engine.table(ev), ["browse", "cart", "purchase"], window=window).table()
    assert t.consumers.tolist() == [2, 1, 0]
    assert t.median_minutes.tolist()[:2] == [0.0, 10.0] and t.p90_minutes.tolist()[:2] == [0.0, 10.0]
    assert t[["p25_minutes", "median_minutes", "p75_minutes", "p90_minutes"]].iloc[2].isna().all()


def test_per_brand_segments_and_comparison():
    from statsmodels.stats.proportion import confint_proportions_2indep

    ev = _random_events(9, n_users=120)
    seg = pd.DataFrame({"user_id": range(1, 121), "tier": ["gold" if u % 3 == 0 else "basic" for u in range(1, 121)]})
    f = funnel(ev, ["browse", "cart"], window=7200, by="brand", segments=seg.iloc[:100], segment="tier")
    t = f.table()
    assert set(t.segment) == {"basic", "gold", "(none)"}
    lv = f.levels.execute()
    assert lv.groupby(["user_id", "brand"]).size().max() == 1 and set(lv.brand) == {"A", "B"}
    cmp = f.compare(segments=("basic", "gold"), rate="from_previous").table()
    row = cmp[cmp.step == 2].iloc[0]
    lo, hi = confint_proportions_2indep(row.converted_b, row.consumers_b, row.converted_a, row.consumers_a,
                                        method="newcomb", compare="diff", alpha=0.05)
    assert (row.lower, row.upper) == pytest.approx((lo, hi))
    assert row.difference == pytest.approx(row.converted_b / row.consumers_b - row.converted_a / row.consumers_a)
    # two periods
    early = funnel(ev, ["browse", "cart"], window=7200, end=EPOCH + pd.Timedelta(hours=3))
    late = funnel(ev, ["browse", "cart"], window=7200, start=EPOCH + pd.Timedelta(hours=3))
    c2 = early.compare(late).table()
    assert c2.consumers_a.iloc[0] == early.table().consumers.iloc[0]
    assert c2.rate_b.iloc[1] == pytest.approx(late.table().rate_from_first.iloc[1])
    assert f.plot().axes[0].get_ylabel() == "consumers"


@pytest.mark.parametrize("kwargs,error,match", [
    ({"steps": "browse"}, ParameterError, "list of steps"),
    ({"steps": []}, ParameterError, "1 to 32"),
    ({"steps": ["visit"]}, ParameterError, "not an event type"),
    ({"steps": [{"page": "a"}]}, SchemaError, "page"),
    ({"steps": [{}]}, ParameterError, "empty mapping"),
    ({"steps": [lambda t: t.ts]}, ParameterError, "boolean"),
    ({"window": "soon"}, ParameterError, "window"),
    ({"window": -5}, ParameterError, "window"),
    ({"strict_order": "yes"}, ParameterError, "strict_order"),
    ({"by": "channel"}, ParameterError, "by must"),
    ({"segment": "tier"}, ParameterError, "together"),
    ({"start": "2019-02-01", "end": "2019-01-01"}, ParameterError, "after start"),
])
def test_bad_input_is_named(kwargs, error, match):
    ev = _random_events(1, n_users=5)
    args = {"steps": ["browse", "cart"], "window": 60, **kwargs}
    with pytest.raises(error, match=match):
        funnel(ev, **args)


def test_bad_segments_and_comparisons():
    ev = _random_events(2, n_users=10)
    with pytest.raises(SchemaError, match="repeat a consumer"):
        funnel(ev, ["browse"], window=60, segments=pd.DataFrame({"user_id": [1, 1], "s": ["a", "b"]}), segment="s")
    with pytest.raises(SchemaError, match="tier"):
        funnel(ev, ["browse"], window=60, segments=pd.DataFrame({"user_id": [1]}), segment="tier")
    f = funnel(ev, ["browse", "cart"], window=60)
    with pytest.raises(ParameterError, match="different steps"):
        f.compare(funnel(ev, ["browse", "purchase"], window=60))
    with pytest.raises(ParameterError, match="unknown segment"):
        f.compare(segments=("all", "gold"))
    with pytest.raises(ParameterError, match="either"):
        f.compare()


def test_the_funnel_recovers_the_simulators_planted_ladder():
    """Consumer-days through browse, engage and purchase: the counts the funnel finds in the events against the
    simulator's own chances of each step (its truth), within sampling error for every brand and step."""
    from marketing360.datasets import simulate

    world = simulate(n_users=1500, n_days=21, seed=8, truth="none", progress=False)
    ev = world.events
    day = (ev.ts - ev.ts.min().normalize()).dt.days
    days = ev.assign(user_id=ev.user_id * 1000 + day)  # a consumer's day is the funnel's unit
    steps = ["browse", {"event_type": ["search", "follow", "cart", "ask"]}, "purchase"]
    f = funnel(days, steps, window=None, by="brand")
    levels = f.levels.to_pandas()
    truth = world.truth.funnel.set_index(["brand", "step"])
    z = [(int((g.level >= k).sum()) - truth.loc[(b, k), "expected"]) / np.sqrt(truth.loc[(b, k), "variance"])
         for b, g in levels.groupby("brand") for k in (1, 2, 3)]
    assert len(z) == 3 * world.brands.shape[0]
    assert np.max(np.abs(z)) < 4
    # all brands together: each step's conversion rate within four standard errors of the planted one
    planted = world.truth.funnel.groupby("step").expected.sum()
    got = f.table().set_index("step")
    for k in (2, 3):
        rate = planted[k] / planted[k - 1]
        se = np.sqrt(rate * (1 - rate) / got.consumers[k - 1])
        assert abs(got.rate_from_previous[k] - rate) < 4 * se
    assert got.consumers[1] == pytest.approx(planted[1], rel=0.05)
