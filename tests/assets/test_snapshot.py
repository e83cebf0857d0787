"""4A snapshots on every engine: against a plain pandas reading of the rules and the simulator's truth."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from reference_4a import reference_snapshot

import marketing360 as m3
from marketing360.assets import STAGES, Criterion, StageRule, StageRules, snapshot
from marketing360.errors import ParameterError, SchemaError
from marketing360.testing import assert_frame_matches


def edge_case_events() -> pd.DataFrame:
    rows = [
        # user 1, Acme: browsed on two days -> appeal; the earlier browse sits exactly on the 30-day edge
        (1, "2025-03-02 00:00:00", "Acme", "browse", None),
        (1, "2025-03-31 23:59:59", "Acme", "browse", None),
        # user 1, Bolt: the same consumer with another brand: one browse -> aware
        (1, "2025-03-31 08:00:00", "Bolt", "browse", None),
        # user 2, Acme: two browses on the same day (duplicated event) -> still aware, not appeal
        (2, "2025-03-20 10:00:00", "Acme", "browse", None),
        (2, "2025-03-20 10:00:00", "Acme", "browse", None),
        # user 2, Bolt: a browse one day before the window opens -> unaware
        (2, "2025-03-01 23:59:59", "Bolt", "browse", None),
        # user 3, Acme: purchases on two days -> advocate (repurchase)
        (3, "2025-01-10 12:00:00", "Acme", "purchase", 20.0),
        (3, "2025-03-30 12:00:00", "Acme", "purchase", 25.0),
        # user 3, Bolt: a negative review only counts as act; user 4: a positive one -> advocate
        (3, "2025-03-15 12:00:00", "Bolt", "review", 2.0),
        (4, "2025-03-15 12:00:00", "Bolt", "review", 5.0),
        # user 4, Acme: an event after the snapshot day does not count
        (4, "2025-04-01 00:00:00", "Acme", "purchase", 10.0),
        # user 5: an event without a brand is ignored; a cart -> appeal
        (5, "2025-03-31 10:00:00", None, "purchase", 5.0),
        (5, "2025-03-31 10:00:00", "Cosmo", "cart", None),
        # user 6: a purchase 91 days ago is out of the act window but within advocate's 180 days,
        # yet one purchase is no repurchase -> unaware (no other event)
        (6, "2024-12-30 12:00:00", "Acme", "purchase", 10.0),
    ]
    df = pd.DataFrame(rows, columns=["user_id", "ts", "brand", "event_type", "value"])
    return m3.validate(df)


def test_edge_cases_match_the_pandas_reading(engine):
    ev = edge_case_events()
    got = snapshot(engine.table(ev), "2025-03-31").table()
    ref = reference_snapshot(ev, "2025-03-31", StageRules())
    assert_frame_matches(got, ref, sort_by=["user_id", "brand"])
    by = {(r.user_id, r.brand): r.stage for r in got.itertuples()}
    assert by == {(1, "Acme"): "appeal", (1, "Bolt"): "aware", (2, "Acme"): "aware",
                  (3, "Acme"): "advocate", (3, "Bolt"): "act", (4, "Bolt"): "advocate",
                  (5, "Cosmo"): "appeal"}


def test_custom_rules(engine):
    ev = edge_case_events()
    rules = replace(StageRules(), appeal=StageRule("appeal", 30, (
        Criterion(("browse",), min_count=2, count="events"),)))
    got = snapshot(engine.table(ev), "2025-03-31", rules=rules).table()
    # counting events instead of days, the duplicated browse now makes user 2 appeal
    assert got.set_index(["user_id", "brand"]).stage[(2, "Acme")] == "appeal"
    assert_frame_matches(got, reference_snapshot(ev, "2025-03-31", rules=rules), sort_by=["user_id", "brand"])


@pytest.fixture(scope="module")
def stage_world():
    rules = StageRules.with_windows(aware=7, appeal=10, act=20, advocate=30)
    return m3.datasets.simulate(n_users=800, n_days=40, seed=21, truth="none", rules=rules)


@pytest.mark.parametrize("day", ["2025-01-05", "2025-01-25", "2025-02-09"])
def test_agrees_with_the_simulators_true_stages(engine, stage_world, day):
    world = stage_world
    got = snapshot(engine.table(world.events), day, rules=world.truth.rules).table()
    truth = world.truth.stages_on(day).assign(level=lambda t: t.stage.map(STAGES.index))
    assert len(truth) > 100
    assert_frame_matches(got, truth, sort_by=["user_id", "brand"])


def test_random_events_match_the_pandas_reading(engine):
    rng = np.random.default_rng(4)
    n = 3000
    ev = m3.validate(pd.DataFrame({
        "user_id": rng.integers(0, 60, n),
        "ts": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 200 * 86400, n), unit="s"),
        "brand": rng.choice(["A", "B", "C"], n),
        "event_type": rng.choice(["impression", "browse", "search", "cart", "purchase", "review", "share"],
                                 n, p=[0.4, 0.3, 0.05, 0.05, 0.1, 0.07, 0.03]),
        "value": rng.integers(1, 6, n).astype(float),
    }))
    t = engine.table(ev)
    for day in ["2025-02-15", "2025-05-01", "2025-07-19"]:
        assert_frame_matches(snapshot(t, day).table(), reference_snapshot(ev, day, StageRules()),
                             sort_by=["user_id", "brand"])


def test_bad_input():
    eng = m3.connect()
    ev = eng.table(edge_case_events())
    with pytest.raises(SchemaError, match=r"missing required column\(s\) \['brand'\]"):
        snapshot(ev.drop("brand"), "2025-03-01")
    with pytest.raises(ParameterError, match="date must be a date"):
        snapshot(ev, "someday")
    with pytest.raises(ParameterError, match="rules must be a StageRules"):
        snapshot(ev, "2025-03-01", rules={"aware": 3})
    with pytest.raises(ParameterError, match="window"):
        StageRules.with_windows(aware=0)
    with pytest.raises(ParameterError, match="event types"):
        Criterion(("teleport",))
    with pytest.raises(ParameterError, match="must be a StageRule for stage 'act'"):
        StageRules(act=StageRules().aware)
    raw = eng.table(pd.DataFrame({"user_id": [1], "ts": ["2025-01-01"], "brand": ["A"],
                                  "event_type": ["browse"], "value": [None]}))
    with pytest.raises(SchemaError, match="events.ts: expected timestamps; found string"):
        snapshot(raw, "2025-01-01")


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "America/New_York"])
def test_time_zones_count_local_days(engine, tz):
    """Local calendar days, daylight saving included: the same as shifting every event by hand."""
    rng = np.random.default_rng(7)
    n = 2500
    ev = m3.validate(pd.DataFrame({
        "user_id": rng.integers(0, 50, n),
        # around New York's switch to summer time (2025-03-09) and the days boundaries
        "ts": pd.Timestamp("2025-02-20") + pd.to_timedelta(rng.integers(0, 30 * 86400, n), unit="s"),
        "brand": rng.choice(["A", "B"], n),
        "event_type": rng.choice(["impression", "browse", "cart", "purchase", "share"], n,
                                 p=[0.4, 0.35, 0.1, 0.1, 0.05]),
        "value": rng.integers(1, 6, n).astype(float),
    }))
    local = ev.assign(ts=ev.ts.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None))
    rules = StageRules.with_windows(aware=3, appeal=5, act=7, advocate=9)
    t = engine.table(ev)
    for day in ["2025-03-08", "2025-03-09", "2025-03-12"]:
        got = snapshot(t, day, rules=rules, tz=tz).table()
        assert_frame_matches(got, reference_snapshot(local, day, rules=rules), sort_by=["user_id", "brand"])
    utc = snapshot(t, "2025-03-09", rules=rules).table()
    assert not utc.equals(snapshot(t, "2025-03-09", rules=rules, tz=tz).table())


def test_a_browse_before_dawn_in_shanghai_counts_on_the_local_day(engine):
    ev = m3.validate(pd.DataFrame({
        "user_id": [1, 1], "brand": ["A", "A"], "event_type": ["browse", "browse"],
        # 07:00 and 09:00 in Shanghai on 1 March: 23:00 on 28 February and 01:00 on 1 March in UTC
        "ts": ["2025-02-28 23:00", "2025-03-01 01:00"]}))
    t = engine.table(ev)
    assert snapshot(t, "2025-03-01").table()["stage"].tolist() == ["appeal"]  # two UTC days
    assert snapshot(t, "2025-03-01", tz="Asia/Shanghai").table()["stage"].tolist() == ["aware"]
    assert snapshot(t, "2025-02-28", tz="Asia/Shanghai").table().empty
    with pytest.raises(ParameterError, match="IANA time zone"):
        snapshot(t, "2025-03-01", tz="Mars/Olympus")


def test_a_brand_with_no_events(engine):
    from marketing360.assets import penetration, volumes

    ev = edge_case_events()
    brands = pd.DataFrame({"brand": ["Acme", "Bolt", "Cosmo", "Ghost"],
                           "category": ["x", "x", "y", "y"]})
    t = engine.table(ev)
    snap = snapshot(t, "2025-03-31")
    assert "Ghost" not in set(volumes(snap).table().brand)
    pen = penetration(snap, 10, brands=engine.table(brands)).table()
    cosmo = pen[(pen.brand == "Cosmo") & (pen.stage == "appeal")].iloc[0]
    # the category benchmark averages over both brands of y, Ghost counting as 0
    assert cosmo.penetration == pytest.approx(0.1)
    assert cosmo.category_penetration == pytest.approx(0.05)
    assert cosmo["index"] == pytest.approx(2.0)
