"""Geo panels: the long layouts of GeoLift and trimmed_match, and outcomes by geo built from events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketing360.datasets import simulate
from marketing360.errors import ParameterError, SchemaError
from marketing360.incrementality.geo import geo_outcomes, geo_panel


def test_reads_geolift_and_trimmed_match_layouts(need):
    raw = pd.read_csv(need("geolift", "GeoLift_Test.csv"))
    p = geo_panel(raw)
    ref = raw.pivot(index="date", columns="location", values="Y").sort_index()
    assert p.locations == sorted(raw.location.unique())
    assert np.array_equal(p.y, ref[p.locations].to_numpy(float))
    assert p.n_periods == 105 and p.position(91) == 90 and p.period_of("2021-04-01") == 90
    assert list(p.index_of(["Chicago", "portland"])) == [p.locations.index("chicago"), p.locations.index("portland")]
    tm = pd.read_csv(need("trimmed_match", "example_data_for_post_analysis.csv"))
    q = geo_panel(tm, cost="cost")
    assert q.y.shape == (tm.date.nunique(), tm.geo.nunique())
    assert q.cost is not None and q.cost.sum() == pytest.approx(tm.cost.sum())
    assert q.y.sum() == pytest.approx(tm.response.sum())


def test_bad_panels_are_named():
    ok = pd.DataFrame({"location": ["a", "a", "b", "b"], "Y": [1.0, 2.0, 3.0, 4.0],
                       "date": ["2021-01-01", "2021-01-02"] * 2})
    with pytest.raises(SchemaError, match="unbalanced"):
        geo_panel(ok.iloc[:3])
    with pytest.raises(SchemaError, match="must be non-negative"):
        geo_panel(ok.assign(Y=[1.0, -2.0, 3.0, 4.0]), nonnegative=True)
    with pytest.raises(SchemaError, match="missing values"):
        geo_panel(ok.assign(Y=[1.0, None, 3.0, 4.0]))
    with pytest.raises(SchemaError, match="no outcome column"):
        geo_panel(ok.rename(columns={"Y": "z"}))
    with pytest.raises(SchemaError, match="must hold dates"):
        geo_panel(ok.assign(date=["x", "y", "x", "y"]))
    with pytest.raises(SchemaError, match="must be numeric"):
        geo_panel(ok.assign(Y=["1", "2", "3", "4"]))
    with pytest.raises(SchemaError, match="empty"):
        geo_panel(ok.iloc[:0])
    p = geo_panel(ok)
    with pytest.raises(ParameterError, match=r"\['c'\] are not in the panel"):
        p.index_of(["c"])
    with pytest.raises(ParameterError, match="from 1 to 2"):
        p.position(3)


def test_geo_outcomes_equal_the_simulators_outcomes(engine):
    w = simulate(n_users=1500, n_days=20, n_geos=4, seed=9, truth="none", freq="D")
    got = geo_outcomes(engine.table(w.events), engine.table(w.users)).table()
    ref = w.outcomes.assign(date=lambda d: d.date.astype("datetime64[ns]")).sort_values(["date", "geo"])
    got = got.assign(date=got.date.astype("datetime64[ns]"))
    assert len(got) == 20 * 4
    assert (got.conversions.to_numpy() == ref.conversions.to_numpy()).all()
    assert got.revenue.to_numpy() == pytest.approx(ref.revenue.to_numpy(), abs=0.01)
    weekly = geo_outcomes(w.events, w.users, freq="W").table()
    assert weekly.conversions.sum() == ref.conversions.sum() and weekly.date.nunique() == 3
    # the panel reads it directly
    p = geo_panel(geo_outcomes(w.events, w.users))
    assert p.y.sum() == ref.conversions.sum() and p.n_locations == 4


def test_geo_panel_on_engines(engine):
    rng = np.random.default_rng(1)
    long = pd.DataFrame({"date": np.repeat(pd.date_range("2024-01-01", periods=30), 5),
                         "geo": np.tile(["a", "b", "c", "d", "e"], 30), "response": rng.gamma(3, 10, 150),
                         "cost": rng.gamma(2, 5, 150)})
    ref = geo_panel(long, cost="cost")
    got = geo_panel(engine.table(long), cost="cost")
    assert got.locations == ref.locations and (got.dates == ref.dates).all()
    assert got.y == pytest.approx(ref.y, rel=1e-12) and got.cost == pytest.approx(ref.cost, rel=1e-12)
    assert ref.y[:, 0] == pytest.approx(long[long.geo == "a"].response.to_numpy())


def test_geo_outcomes_days_users_and_engines(engine):
    ev = pd.DataFrame({"user_id": [1, 2, 2, 3, 1], "event_type": ["purchase", "purchase", "browse", "purchase",
                                                                  "purchase"],
                       "ts": pd.to_datetime(["2025-01-01 10:00", "2025-01-02 09:00", "2025-01-02 12:00",
                                             "2025-01-03 01:00", "2025-01-04 23:00"]),
                       "value": [10.0, 5.0, None, 7.0, 1.0]})
    users = pd.DataFrame({"user_id": [1, 2, 3], "geo": ["north", "south", "south"]})
    # a pandas users table next to events on the engine; a start with a time of day counts its whole day
    # (the periods were counted from 12:00, so the purchase of Jan 2, 09:00 landed on Jan 1)
    got = geo_outcomes(engine.table(ev), users, start="2025-01-01 12:00", end="2025-01-03").table()
    got = got.assign(date=got.date.astype("datetime64[ns]").dt.strftime("%m-%d"))
    assert got.values.tolist() == [["01-01", "north", 1, 10.0], ["01-01", "south", 0, 0.0],
                                   ["01-02", "north", 0, 0.0], ["01-02", "south", 1, 5.0],
                                   ["01-03", "north", 0, 0.0], ["01-03", "south", 1, 7.0]]
    # a time-zone-aware start is read in UTC, as the event times are
    tz = geo_outcomes(engine.table(ev), users, start=pd.Timestamp("2025-01-03 03:00", tz="Asia/Shanghai")).table()
    assert tz.date.astype("datetime64[ns]").min() == pd.Timestamp("2025-01-02") and tz.conversions.sum() == 3
    # purchases that no geo would count are named, not dropped
    with pytest.raises(SchemaError, match="1 purchase\\(s\\) by users who are not in the users table"):
        geo_outcomes(engine.table(ev), users.iloc[:2])
    with pytest.raises(SchemaError, match="or have no geo"):
        geo_outcomes(engine.table(ev), users.assign(geo=["north", "south", None]))
    with pytest.raises(SchemaError, match="user_id is string in users but int64 in the events"):
        geo_outcomes(engine.table(ev), users.assign(user_id=users.user_id.astype(str)))
    with pytest.raises(ParameterError, match="start must be a date"):
        geo_outcomes(engine.table(ev), users, start="soon")
