"""Journeys on every engine against a plain-Python reading of the definition; path tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reference_mta import random_events, reference_calendar_journeys, reference_journeys, reference_paths

import marketing360 as m3
from marketing360.datasets import read_channelattribution_paths
from marketing360.errors import ParameterError, SchemaError
from marketing360.paths import from_paths, journeys
from marketing360.testing import assert_frame_matches


@pytest.fixture(scope="module")
def events():
    return random_events(7)


@pytest.mark.parametrize("lookback,by", [(30, "brand"), (3, "brand"), (2.5, None)])
def test_paths_match_the_reference(engine, events, lookback, by):
    j = journeys(engine.table(events), lookback_days=lookback, by=by)
    got = j.paths().table()
    ref = reference_paths(reference_journeys(events, lookback_days=lookback, by=by))
    assert len(ref) >= 10
    assert_frame_matches(got, ref, sort_by=["path"])


def test_journey_table_counts_every_conversion_and_one_tail_per_consumer(engine, events):
    j = journeys(engine.table(events), lookback_days=5)
    table = j.table()
    ref = reference_journeys(events, lookback_days=5)
    assert table.conversions.sum() == sum(r["converted"] for r in ref) == (events.event_type == "purchase").sum() \
        - events[(events.event_type == "purchase") & events.brand.isna()].shape[0]
    assert table.nulls.sum() == sum(not r["converted"] for r in ref)
    ref_n = sorted(len(r["touches"]) for r in ref)
    assert sorted(table.n_touches.tolist()) == ref_n
    assert table.value.sum() == pytest.approx(sum(r["value"] for r in ref))
    # touches: positions 1..n in time order, hours before the journey's end never negative
    t = engine.to_pandas(j.touches)
    assert (t.hours >= 0).all() and (t.hours <= 5 * 24).all()
    assert (t.groupby(["user_id", "brand", "journey"]).touch.max() == t.groupby(
        ["user_id", "brand", "journey"]).n_touches.first()).all()
    assert t.cost.sum() == pytest.approx(0.5 * len(t))


def test_hand_made_journeys(duckdb_engine):
    ev = m3.validate(pd.DataFrame({
        "user_id": [1, 1, 1, 1, 1, 1, 2],
        "ts": ["2025-01-01", "2025-01-20", "2025-02-15", "2025-02-15", "2025-02-16", "2025-02-20", "2025-02-01"],
        "brand": "A",
        "channel": ["video", "display", "search", "email", "direct", "video", "search"],
        "event_type": ["impression", "impression", "click", "purchase", "purchase", "impression", "purchase"],
        "value": [None, None, None, 40.0, 15.0, None, 9.0]}))
    j = journeys(duckdb_engine.table(ev), lookback_days=30)
    table = j.table().sort_values(["user_id", "journey"]).reset_index(drop=True)
    # user 1: video (46 days before) is out of the window; the touch at the purchase's instant counts;
    # the second purchase has no touch; the tail holds the last impression; user 2 bought with no ad
    assert table[["user_id", "journey", "conversions", "nulls", "value", "n_touches"]].values.tolist() == [
        [1, 0, 1.0, 0.0, 40.0, 2], [1, 1, 1.0, 0.0, 15.0, 0], [1, 2, 0.0, 1.0, 0.0, 1],
        [2, 0, 1.0, 0.0, 9.0, 0], [2, 1, 0.0, 1.0, 0.0, 0]]
    paths = j.paths().table()
    assert paths.values.tolist() == [["display > search", 1.0, 40.0, 0.0], ["video", 0.0, 0.0, 1.0]]
    hours = duckdb_engine.to_pandas(j.touches.order_by(["journey", "touch"])).hours.tolist()
    assert hours == [26 * 24, 0.0, 0.0]  # display 26 days before, search at the purchase, tail at the end


def test_population_adds_empty_tails(duckdb_engine, events):
    users = pd.DataFrame({"user_id": np.arange(100), "brand": "A"})
    j = journeys(duckdb_engine.table(events), population=duckdb_engine.table(users))
    table = j.table()
    tails = table[table.nulls > 0]
    assert sorted(tails.user_id) == list(range(100))
    assert set(tails.brand) == {"A"}


@pytest.mark.shared_data
def test_paths_round_trip_through_the_channelattribution_layout(engine, tmp_path):
    df = read_channelattribution_paths()
    j = from_paths(engine.table(df))
    got = j.paths().table()
    assert_frame_matches(got, df.fillna({"value": 0.0, "nulls": 0.0}), sort_by=["path"])
    t = engine.to_pandas(j.touches)
    assert len(t) == int(df.path.str.count(" > ").sum() + len(df))


def test_bad_input(duckdb_engine, events):
    t = duckdb_engine.table(events)
    with pytest.raises(SchemaError, match="channel"):
        journeys(t.drop("channel"))
    with pytest.raises(ParameterError, match="lookback_days"):
        journeys(t, lookback_days=0)
    with pytest.raises(ParameterError, match="touch_types"):
        journeys(t, touch_types=["impresion"])
    with pytest.raises(ParameterError, match="conversion"):
        journeys(t, conversion="purchase", touch_types=["purchase"])
    with pytest.raises(ParameterError, match="end"):
        journeys(t, end="not a date")
    with pytest.raises(SchemaError, match="ts"):
        journeys(duckdb_engine.table(events.assign(ts=events.ts.astype(str))))
    with pytest.raises(ParameterError, match="expected a table"):
        journeys(42)
    with pytest.raises(SchemaError, match="conversions"):
        from_paths(pd.DataFrame({"path": ["a"]}))


def test_calendar_journeys_match_the_reference(engine, events):
    j = journeys(engine.table(events), lookback_days=10, anchor="calendar")
    ref = reference_calendar_journeys(events, window_days=10)
    assert_frame_matches(j.paths().table(), reference_paths(ref), sort_by=["path"])
    table = j.table()
    # one journey per consumer x brand (with a touch or conversion) and window: 2 whole windows in 25 days
    assert len(table) == len(ref) and len(ref) % 2 == 0 and table.journey.isin([0, 1]).all()
    assert table.conversions.sum() == sum(r["converted"] for r in ref)
    assert table.value.sum() == pytest.approx(sum(r["value"] for r in ref))
    assert ((table.window_days > 0) & (table.window_days <= 10)).all()
    assert (table.loc[table.nulls > 0, "window_days"] == 10).all()
    with pytest.raises(ParameterError, match="anchor"):
        journeys(engine.table(events), anchor="weekly")
    with pytest.raises(ParameterError, match="less than one window"):
        journeys(engine.table(events), lookback_days=40, anchor="calendar")


def test_pooled_brands_an_explicit_end_and_a_population_that_leaves_consumers_out(engine, events):
    t = engine.table(events)
    pooled = journeys(t, lookback_days=3, by=None).table()
    ref = reference_journeys(events, lookback_days=3, by=None)
    assert sorted(pooled.n_touches) == sorted(len(r["touches"]) for r in ref)  # the null brand still joins
    cal = journeys(t, lookback_days=10, by=None, anchor="calendar").table()
    assert cal.conversions.sum() > 0
    end = events.ts.max() + pd.Timedelta(days=2)
    tab = journeys(t, end=str(end)).table()
    assert (tab.loc[tab.nulls > 0, "end_ts"] == end).all()
    users = pd.DataFrame({"user_id": [0, 1, 999], "brand": "A"})
    j = journeys(t, population=engine.table(users))
    assert set(m3.engine.fetch(j.touches).user_id) <= {0, 1}
    assert set(j.table().user_id) == {0, 1, 999}


def test_a_log_without_brands_gives_pooled_journeys(engine):
    ev = pd.DataFrame({"user_id": [1, 1, 1, 2], "ts": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03",
                                                                        "2025-01-02"]),
                       "event_type": ["impression", "click", "purchase", "impression"],
                       "channel": ["video", "search", None, "video"]})
    for data in (ev, ev.assign(brand=None)):  # no brand column at all, or one without values
        j = journeys(engine.table(m3.validate(data)))
        assert j.by is None and "pooled" in str(j.summary())
        assert j.paths().table().path.tolist() == ["video", "video > search"]


@pytest.mark.shared_data
def test_the_touch_journeys_reader_gives_journeys(duckdb_engine):
    # was: no journeys (the rows have no brand) and "the journeys have no touchpoints" from Markov
    ev = m3.datasets.read_touch_journeys()
    j = journeys(duckdb_engine.table(ev))
    touches = int(m3.engine.fetch(j.touches.count()))
    assert touches > 50_000
    m = m3.attribution.markov(j)
    assert m.table().conversions.sum() == pytest.approx(float(j.totals().query("has_touches").conversions.sum()))
