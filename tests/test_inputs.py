"""Tables in: every analysis takes what engine.table() takes, checks it at the entry, refuses what validate refuses."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import marketing360 as m3
from marketing360 import inputs
from marketing360.assets import snapshot, volumes
from marketing360.errors import ParameterError, SchemaError
from marketing360.paths import journeys
from marketing360.testing import assert_frame_matches

EVENTS = pd.DataFrame({
    "user_id": [1, 1, 2, 2, 3],
    "ts": ["2025-03-01 09:00", "2025-03-02 10:00", "2025-03-01 10:00", "2025-03-01 10:05", "2025-03-02 08:00"],
    "brand": ["A", "A", "A", "A", "B"],
    "event_type": ["pv", "pv", "impression", "buy", "impression"],
    "channel": [None, None, "video", None, "search"],
    "value": [None, None, None, 20.0, None],
})


def test_a_pandas_frame_goes_straight_into_an_analysis():
    # was: AttributeError: 'Series' object has no attribute 'type'
    got = snapshot(EVENTS, "2025-03-02").table()
    assert got[["user_id", "brand", "stage"]].astype(str).values.tolist() == [
        ["1", "A", "appeal"], ["2", "A", "act"], ["3", "B", "aware"]]
    vol = volumes(snapshot(EVENTS, "2025-03-02")).table()
    assert vol.consumers.tolist() == [1, 1, 1] and str(vol.consumers.dtype) == "int64"


def test_every_container_gives_the_same_answer(engine, tmp_path):
    ref = snapshot(EVENTS, "2025-03-02").table()
    valid = m3.validate(EVENTS)
    valid.to_parquet(tmp_path / "ev.parquet")
    for data in (pl.from_pandas(valid), pa.Table.from_pandas(valid), str(tmp_path / "ev.parquet"),
                 engine.table(valid)):
        assert_frame_matches(snapshot(data, "2025-03-02").table(), ref, sort_by=["user_id", "brand"])


def test_engine_tables_are_checked_on_the_engine(engine):
    ok = engine.table(m3.validate(EVENTS))
    for bad, message in [
        (EVENTS.assign(value=[None, None, None, -5.0, None]), "events.value: 1 negative value"),
        (EVENTS.assign(event_type=["pv", "pv", "impression", "teleport", "impression"]), "unknown event type"),
        (EVENTS.assign(user_id=[1, None, 2, 2, 3]), "events.user_id: 1 missing value"),
    ]:
        raw = bad.assign(ts=pd.to_datetime(bad.ts))
        with pytest.raises(SchemaError, match=message):
            snapshot(engine.table(raw), "2025-03-02")
        with pytest.raises(SchemaError, match=message.split(":")[-1].strip().split(" ")[0]):
            m3.validate(bad)  # the same problem, the same error, in memory
    # synonyms are mapped on the engine, as validate maps them
    raw = engine.table(EVENTS.assign(ts=pd.to_datetime(EVENTS.ts)))
    assert_frame_matches(snapshot(raw, "2025-03-02").table(), snapshot(ok, "2025-03-02").table())
    with pytest.raises(SchemaError, match="the table is empty"):
        journeys(ok.filter(ok.user_id < 0))  # was: IbisTypeError deep inside ibis


def test_a_table_is_checked_once(monkeypatch, duckdb_engine):
    t = duckdb_engine.table(m3.validate(EVENTS))
    calls = []
    real = inputs._check_on_engine
    monkeypatch.setattr(inputs, "_check_on_engine", lambda *a: calls.append(1) or real(*a))
    snapshot(t, "2025-03-01")
    snapshot(t, "2025-03-02")
    journeys(t)
    assert len(calls) == 1


def test_missing_user_ids_are_refused():
    # was: NaN user ids flowed into snapshot as a None consumer
    with pytest.raises(SchemaError, match="events.user_id: 1 missing value"):
        snapshot(EVENTS.assign(user_id=[1, None, 2, 2, 3]), "2025-03-02")


def test_blank_brands_are_no_brand(engine):
    ev = EVENTS.assign(brand=["A", "A", "", " ", "B"])
    got = snapshot(ev, "2025-03-02").table()  # a frame: validate reads blank names as missing
    assert set(got.brand) == {"A", "B"}  # was: "" counted as a brand
    on_engine = engine.table(ev.assign(ts=pd.to_datetime(ev.ts), brand=["A", "A", "", "", "B"]))
    assert set(snapshot(on_engine, "2025-03-02").table().brand) == {"A", "B"}  # on an engine: the empty string


def test_not_a_table_is_a_parameter_error():
    with pytest.raises(ParameterError, match="expected a table"):
        snapshot({"user_id": [1]}, "2025-03-01")


AMBIGUOUS = ["01/02/2025 10:00", "02/01/2025 10:00", "03/01/2025 11:00", "13/01/2025 12:00"]


def _ev(ts):
    return pd.DataFrame({"user_id": range(len(ts)), "ts": ts, "event_type": "browse"})


def test_one_column_of_dates_is_read_one_way():
    # was: 2 Jan, 1 Feb, 1 Mar and 13 Jan from one column
    got = m3.validate(_ev(AMBIGUOUS)).ts.dt.strftime("%Y-%m-%d").tolist()
    assert got == ["2025-02-01", "2025-01-02", "2025-01-03", "2025-01-13"]  # 13/01 can only be day first
    us = m3.validate(_ev(["01/13/2025", "02/01/2025"])).ts.dt.strftime("%Y-%m-%d").tolist()
    assert us == ["2025-01-13", "2025-02-01"]


def test_dates_that_cannot_be_told_apart_are_refused_until_the_user_says():
    with pytest.raises(SchemaError, match="pass dayfirst=True"):
        m3.validate(_ev(["01/02/2025", "02/01/2025"]))
    with pytest.raises(SchemaError, match="both day first .* and month first"):
        m3.validate(_ev(["13/01/2025", "01/13/2025"]))
    assert m3.validate(_ev(["01/02/2025"]), dayfirst=True).ts.iloc[0] == pd.Timestamp("2025-02-01")
    assert m3.validate(_ev(["01/02/2025"]), dayfirst=False).ts.iloc[0] == pd.Timestamp("2025-01-02")
    assert m3.validate(_ev(["01/02/2025 7h"]), ts_format="%d/%m/%Y %Hh").ts.iloc[0] == pd.Timestamp("2025-02-01 07:00")
    with pytest.raises(SchemaError, match="can only be read month first"):
        m3.validate(_ev(["01/13/2025"]), dayfirst=True)
    with pytest.raises(SchemaError, match="in format"):
        m3.validate(_ev(["2025-01-01"]), ts_format="%d/%m/%Y")
    with pytest.raises(SchemaError, match="pass dayfirst"):
        snapshot(_ev(["01/02/2025", "02/01/2025"]).assign(brand="A"), "2025-02-01")  # at an analysis's entry too


def test_a_checked_table_still_needs_what_the_analysis_needs():
    # was: m3.as_table(frame without brand) then snapshot gave an empty result (brand added as nulls, remembered)
    ev = m3.as_table(EVENTS.drop(columns="brand"))
    with pytest.raises(SchemaError, match=r"snapshot: events: missing required column\(s\) \['brand'\]"):
        snapshot(ev, "2025-03-02")
    # checked as events, then asked for as paths: checked again, as paths
    with pytest.raises(SchemaError, match="paths: missing required column"):
        inputs.as_table(ev, "paths")


def test_a_table_registered_again_under_its_own_name_is_checked_again(duckdb_engine):
    good = m3.validate(EVENTS)
    t1 = duckdb_engine.table(good, name="my_events")
    assert inputs.column_counts(inputs.as_table(t1))["brand"] == 5
    t2 = duckdb_engine.table(good.assign(event_type="teleport"), name="my_events")
    with pytest.raises(SchemaError, match="unknown event type"):  # was: the first table's check reused
        inputs.as_table(t2)


def test_nan_and_infinite_numbers_on_an_engine_read_as_validate_reads_them(engine):
    base = {"user_id": [1, 2, 3], "ts": pd.to_datetime(["2025-03-01"] * 3), "event_type": ["purchase"] * 3}
    nan = float("nan")
    # NaN amounts are missing values (Arrow keeps NaN apart from null, as a parquet file can)
    t = inputs.as_table(engine.table(pa.table({**base, "value": pa.array([nan, 3.0, 4.0])})))
    assert t.value.to_pyarrow().to_pylist() == [None, 3.0, 4.0]
    assert inputs.column_counts(t)["value"] == 2
    with pytest.raises(SchemaError, match="events.value: 1 infinite value"):
        inputs.as_table(engine.table(pa.table({**base, "value": pa.array([float("inf"), 3.0, 4.0])})))
    with pytest.raises(SchemaError, match="infinite values are not allowed"):
        m3.validate(pd.DataFrame({**base, "value": [float("inf"), 3.0, 4.0]}))
    # a NaN id is a missing id (was: a raw DuckDB ConversionException from the integrality check)
    ids = pa.array([1.0, nan, 3.0])
    with pytest.raises(SchemaError, match="events.user_id: 1 missing value"):
        inputs.as_table(engine.table(pa.table({**base, "user_id": ids})))
    with pytest.raises(SchemaError, match="non-integral"):
        inputs.as_table(engine.table(pa.table({**base, "user_id": pa.array([1.0, 2.5, 1e30])})))


def test_time_zone_aware_timestamps_on_an_engine_become_utc(engine):
    ts = pa.array(pd.to_datetime(["2025-03-01T20:00Z", "2025-03-01T23:00+08:00"], utc=True))
    ts = ts.cast(pa.timestamp("us", "UTC"))
    t = engine.table(pa.table({"user_id": [1, 2], "ts": ts, "event_type": ["browse", "purchase"]}))
    got = inputs.as_table(t).ts.to_pyarrow().to_pylist()
    assert [str(v) for v in got] == ["2025-03-01 20:00:00", "2025-03-01 15:00:00"]


def test_keyed_tables_on_an_engine_refuse_duplicate_keys_and_times_of_day(engine):
    spend = pd.DataFrame({"date": pd.to_datetime(["2025-03-01", "2025-03-01"]), "geo": "x", "channel": "tv",
                          "spend": [1.0, 2.0]})
    with pytest.raises(SchemaError, match="spend: the spend table has more than one row for date 2025-03-01"):
        inputs.as_table(engine.table(spend), "spend")
    with pytest.raises(SchemaError, match="must be unique"):
        m3.validate(spend, "spend")
    late = spend.assign(date=pd.to_datetime(["2025-03-01 00:00", "2025-03-02 10:00"]))
    with pytest.raises(SchemaError, match="spend.date: expected dates; found 1 time"):
        inputs.as_table(engine.table(late), "spend")


def test_a_frame_and_an_engine_table_name_the_analysis_alike(duckdb_engine):
    bad = EVENTS.assign(value=[None, None, None, -5.0, None])
    for data in (bad, duckdb_engine.table(bad.assign(ts=pd.to_datetime(bad.ts)))):
        with pytest.raises(SchemaError, match=r"^journeys: events.value: 1 negative value"):
            journeys(data)


def test_an_analysis_of_a_table_under_its_own_name_scans_it_once_for_its_checks(duckdb_engine, monkeypatch):
    t = duckdb_engine.table(m3.validate(EVENTS), name="own_events")
    queries = []
    real = inputs.fetch
    monkeypatch.setattr(inputs, "fetch", lambda *a, **k: queries.append(1) or real(*a, **k))
    journeys(t)
    snapshot(t, "2025-03-02")
    # one check per analysis (the table's name is the user's: not remembered); was: the check, then a second
    # scan for the column counts
    assert len(queries) == 2
