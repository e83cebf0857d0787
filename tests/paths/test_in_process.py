"""The DuckDB engine's in-process passes (``session_paths``, ``funnel_levels``) against the relational plan they
replace and the plain-pandas references, on randomised events built to reach every branch of the kernels:
ties, gaps exactly at the limit, midnights, timestamps before 1970 and below the second, ids far apart or
strings, brands missing, labels missing or many, sessions longer than one packed word."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reference_paths import random_shopping_events, reference_sessions, reference_top_paths

import marketing360 as m3
from marketing360.engine.duckdb import DuckDBEngine
from marketing360.paths import funnel, path_coverage, sessions, top_paths

pytestmark = pytest.mark.duckdb


@pytest.fixture
def relational(monkeypatch):
    """Run a call with the DuckDB engine's in-process capabilities hidden: the relational plan."""

    def run(fn, *args, **kwargs):
        with monkeypatch.context() as m:
            real = DuckDBEngine.supports
            m.setattr(DuckDBEngine, "supports", lambda self, name: name not in (
                "session_paths", "funnel_levels") and real(self, name))
            return fn(*args, **kwargs)

    return run


def _varied(seed: int, ids: str = "small", ts: str = "minutes", many_labels: bool = False) -> pd.DataFrame:
    ev = random_shopping_events(seed, n_users=50)
    rng = np.random.default_rng(seed + 100)
    if ids == "far":  # ids far apart: codes by hashing, not by offset
        ev["user_id"] = ev["user_id"].astype("int64") * 10**12 - 7
    elif ids == "string":
        ev["user_id"] = "u" + ev["user_id"].astype(str)
    if ts == "micros":  # below the second, and ties kept
        ev["ts"] = ev["ts"] + pd.to_timedelta(rng.choice([0, 0, 1, 999_999], len(ev)), unit="us")
    elif ts == "1960":  # before the epoch: negative microseconds, midnights still by the calendar
        ev["ts"] = ev["ts"] - pd.Timedelta(days=365 * 65 + 16)
    if seed % 2:  # rows in no particular order: the sort does the work
        ev = ev.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    if many_labels:  # more labels than a CASE codes (a join), 7 bits a step: long paths exceed one word
        ev["channel"] = [None if rng.random() < .1 else f"c{int(rng.integers(0, 90)):02d}" for _ in range(len(ev))]
    return ev


def _long_sessions(seed: int) -> pd.DataFrame:
    """Consumers with sessions of 10 to 40 steps one minute apart (beyond a packed word of 15 event types)."""
    rng = np.random.default_rng(seed)
    rows = []
    types = ["impression", "click", "browse", "cart", "purchase"]
    for u in range(12):
        t = pd.Timestamp("2025-05-01") + pd.Timedelta(hours=u)
        for _ in range(int(rng.integers(10, 41))):
            t += pd.Timedelta(minutes=1)
            et = str(rng.choice(types[:3] if u % 3 else types))
            rows.append({"user_id": u % 5, "ts": t, "brand": "A", "event_type": et, "channel": "search",
                         "value": 10.0 if et == "purchase" else None})
    return pd.DataFrame(rows)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=False, rtol=1e-12)


SESSION_CASES = [
    ("small", "minutes", False, {}),
    ("far", "minutes", False, {"by_day": True}),
    ("string", "micros", False, {"gap_minutes": 0.5}),
    ("small", "1960", False, {"by_day": True, "gap_minutes": 45}),
    ("small", "minutes", False, {"gap_minutes": None, "by": None}),
    ("far", "micros", False, {"level": "channel"}),
    ("small", "minutes", True, {"level": "channel", "by": None}),
    ("string", "minutes", False, {"level": "channel", "mapping": {"video": "media", "email": None},
                                  "event_types": ["browse", "search", "cart", "purchase"]}),
    ("small", "minutes", False, {"conversion": "cart"}),
]


@pytest.mark.parametrize("case", range(len(SESSION_CASES)))
def test_top_paths_and_coverage_equal_the_relational_plan_and_the_reference(relational, case):
    ids, ts, many, options = SESSION_CASES[case]
    ev = _varied(case, ids=ids, ts=ts, many_labels=many)
    eng = m3.connect("duckdb")
    s = sessions(eng.table(ev), **options)
    assert s._columnar is not None
    got = top_paths(s, n=1000)
    want = relational(top_paths, s, n=1000)
    _same(got.table(), want.table())
    assert (got.total_sessions, got.total_consumers, got.distinct_paths) == (
        want.total_sessions, want.total_consumers, want.distinct_paths)
    ref = reference_top_paths(reference_sessions(ev, **options), n=1000)
    assert got.table()["path"].tolist() == ref["path"].tolist()
    assert got.table()["sessions"].tolist() == ref["sessions"].tolist()
    assert got.table()["consumers"].tolist() == ref["consumers"].tolist()
    for unit in ("consumers", "sessions"):
        _same(path_coverage(s, unit=unit).table(), relational(path_coverage, s, unit=unit).table())
    eng.close()


@pytest.mark.parametrize("level", ["event_type", "channel"])
def test_paths_longer_than_one_packed_word(relational, level):
    ev = _long_sessions(3)
    eng = m3.connect("duckdb")
    s = sessions(eng.table(ev), level=level, gap_minutes=5)
    got = top_paths(s, n=50).table()
    _same(got, relational(top_paths, s, n=50).table())
    ref = reference_top_paths(reference_sessions(ev, level=level, gap_minutes=5), n=50)
    assert got["path"].tolist() == ref["path"].tolist()
    assert got["n_steps"].max() >= 30  # some paths span three packed words of event types
    eng.close()


def test_empty_events_have_no_sessions_on_both_plans(relational):
    ev = random_shopping_events(1, n_users=5)
    eng = m3.connect("duckdb")
    s = sessions(eng.table(ev), event_types=["review"])
    for run in (lambda f, *a, **k: f(*a, **k), relational):
        with pytest.raises(m3.errors.ParameterError, match="no sessions"):
            run(top_paths, s)
    eng.close()


FUNNEL_CASES = [
    (["browse", "cart", "purchase"], {"window": "1h", "by": "brand"}),
    (["impression", "click", "browse", "cart", "purchase"], {"window": "7D", "by": "brand"}),
    (["browse", "cart", "purchase"], {"window": None}),
    (["search", "browse", "search", "cart"], {"window": "30min"}),
    ([{"event_type": "browse", "channel": ["search", "email"]}, "cart", lambda t: t.value >= 20],
     {"window": "2h", "by": "brand"}),
    (["browse", "purchase"], {"window": 0}),
    (["click", "cart"], {"window": "1D", "start": "2025-03-02", "end": "2025-03-03 12:00"}),
]


# every funnel case on three kinds of data (but a period of 2025 on events moved to 1960: none would fall in it)
FUNNEL_RUNS = [(case, ids, ts) for case in range(len(FUNNEL_CASES))
               for ids, ts in (("small", "minutes"), ("string", "micros"), ("far", "1960"))
               if not (ts == "1960" and "start" in FUNNEL_CASES[case][1])]


@pytest.mark.parametrize("case,ids,ts", FUNNEL_RUNS)
def test_funnel_levels_equal_the_relational_plan(relational, case, ids, ts):
    steps, options = FUNNEL_CASES[case]
    ev = _varied(case + 20, ids=ids, ts=ts)
    eng = m3.connect("duckdb")
    t = eng.table(ev)
    got = funnel(t, steps, **options)
    want = relational(funnel, t, steps, **options)
    key = ["user_id", "brand"]
    a = eng.to_pandas(got.levels).sort_values(key).reset_index(drop=True)
    b = eng.to_pandas(want.levels).sort_values(key).reset_index(drop=True)
    _same(a, b)
    _same(got.table(), want.table())
    assert got.population == want.population
    assert a["level"].max() >= (1 if options["window"] == 0 else 2)  # the case reaches past the first step
    eng.close()


def test_funnel_segments_and_an_empty_period(relational):
    ev = _varied(7)
    eng = m3.connect("duckdb")
    seg = pd.DataFrame({"user_id": range(1, 30), "tier": ["gold", "silver", "bronze"] * 9 + ["gold", "silver"]})
    kw = {"window": "1D", "by": "brand", "segments": eng.table(seg), "segment": "tier"}
    t = eng.table(ev)
    _same(funnel(t, ["browse", "cart"], **kw).table(), relational(funnel, t, ["browse", "cart"], **kw).table())
    late = {"window": "1D", "start": "2030-01-01"}
    got = funnel(t, ["browse", "cart"], **late)
    assert got.table().empty and got.population == {} == relational(funnel, t, ["browse", "cart"], **late).population
    eng.close()
