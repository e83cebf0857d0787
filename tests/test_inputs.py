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
