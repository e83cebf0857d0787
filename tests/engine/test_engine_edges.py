"""Edges of the engine interface: all-null columns, life cycle, SQL, remote paths, settings."""

from __future__ import annotations

import warnings

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ibis.common.exceptions import OperationNotDefinedError, UnsupportedOperationError

import marketing360 as m3
import marketing360.engine as engine_mod
from marketing360.engine import DuckDBEngine, compiles
from marketing360.errors import ParameterError, SchemaError

EVENTS = pd.DataFrame({
    "user_id": [1, 1, 2],
    "ts": pd.to_datetime(["2025-03-01 10:00", "2025-03-02 10:00", "2025-03-02 11:00"]),
    "brand": ["A", "A", "B"],
    "event_type": ["browse", "purchase", "impression"],
    "value": [None, None, None],  # all missing: pandas object column, Arrow null type
    "cost": [None, None, None],
    "note": [None, None, None],  # not a canonical column
})


def _check_null_columns(eng):
    t = eng.table(EVENTS)
    schema = t.schema()
    assert schema["value"].is_float64() and schema["cost"].is_float64()
    assert schema["note"].is_string()
    checked = m3.as_table(t)  # raised "events.value: expected numbers; found string"
    out = eng.to_pandas(checked.aggregate(n=checked.count(), v=checked.value.sum(), c=checked.cost.count()))
    assert int(out["n"].iloc[0]) == 3 and pd.isna(out["v"].iloc[0]) and int(out["c"].iloc[0]) == 0


# ------------------------------------------------------------------ all-null columns (#8)


def test_all_null_canonical_columns_keep_their_type_on_duckdb():
    _check_null_columns(m3.connect())


def test_all_null_columns_of_other_canonical_tables():
    eng = m3.connect()
    spend = pd.DataFrame({"date": [None, None], "geo": ["x", "y"], "channel": ["tv", "tv"], "spend": [1.0, 2.0],
                          "impressions": [None, None]})
    schema = eng.table(spend).schema()
    assert schema["date"].is_timestamp() and schema["impressions"].is_float64()
    polars = pytest.importorskip("polars")
    frame = polars.DataFrame({"conversions": [None, None], "x": [None, None]})  # polars' Null dtype
    schema = eng.table(frame).schema()
    assert schema["conversions"].is_float64() and schema["x"].is_string()


@pytest.mark.spark
def test_all_null_canonical_columns_keep_their_type_on_spark(spark_engine):
    _check_null_columns(spark_engine)


# ------------------------------------------------------------------ closed engines (#9)


def test_a_closed_default_engine_is_replaced(monkeypatch):
    monkeypatch.setattr(engine_mod, "_DEFAULT", [])  # leave the session's real default engine alone
    first = m3.default_engine()
    assert first.closed is False and m3.default_engine() is first
    first.close()
    assert first.closed is True
    first.close()  # twice is harmless
    second = m3.default_engine()
    assert second is not first and not second.closed
    counts = m3.overview.event_counts(EVENTS.drop(columns=["note"])).table()  # "Connection already closed!"
    assert int(counts["events"].sum()) == 3
    second.close()


def test_closed_is_set_by_every_close():
    eng = DuckDBEngine()
    with eng:
        assert not eng.closed
    assert eng.closed


# ------------------------------------------------------------------ sql (#10)


def test_sql_on_duckdb_is_a_lazy_table():
    eng = m3.connect()
    eng.table(EVENTS, name="ev")
    t = eng.sql("select brand, count(*) as n from ev group by brand;")
    assert isinstance(t, ibis.expr.types.Table)
    out = eng.to_pandas(t.filter(t.n > 1))  # composes like any table
    assert out.to_dict("records") == [{"brand": "A", "n": 2}]
    assert eng.to_pandas(eng.sql("select 1 + 1 as two"))["two"].tolist() == [2]
    with pytest.raises(Exception, match="nope"):  # a bad query fails at once, naming what is wrong
        eng.sql("select * from nope")


@pytest.mark.spark
def test_sql_on_spark(spark_engine):
    spark_engine.table(EVENTS[["user_id", "brand"]], name="ev_sql")
    t = spark_engine.sql("select brand, count(*) as n from ev_sql group by brand")
    out = spark_engine.to_pandas(t.filter(t.n > 1))
    assert out.to_dict("records") == [{"brand": "A", "n": 2}]


# ------------------------------------------------------------------ remote paths (#11)


@pytest.mark.parametrize(("uri", "reader"), [
    ("s3://bucket/world/events.parquet", "_read_parquet"),
    ("hdfs://nn:8020/data/events/*.parquet", "_read_parquet"),
    ("abfss://c@acct.dfs.core.windows.net/ev.csv", "_read_csv"),
    ("gs://bucket/world/events/", "_read_parquet_dir"),
    ("s3://bucket/world/events", "_read_parquet_dir"),
])
def test_a_uri_reaches_the_reader_unchanged(monkeypatch, uri, reader):
    eng = m3.connect()
    seen = []
    for method in ("_read_parquet", "_read_csv", "_read_parquet_dir"):
        monkeypatch.setattr(eng, method, lambda path, name, method=method: seen.append((method, path)))
    eng.table(uri)
    assert seen == [(reader, uri)]


def test_a_uri_of_unknown_format_says_so():
    with pytest.raises(m3.errors.EngineError, match="cannot tell the format"):
        m3.connect().table("s3://bucket/world/events.xlsx")


def test_file_uris_open_on_duckdb(tmp_path):
    folder = tmp_path / "ev"
    folder.mkdir()
    pq.write_table(pa.table({"x": [1, 2, 3]}), folder / "a.parquet")
    pq.write_table(pa.table({"x": [4]}), folder / "b.parquet")
    eng = m3.connect()
    one = eng.table((folder / "a.parquet").as_uri())
    assert eng.to_pandas(one)["x"].tolist() == [1, 2, 3]
    every = eng.table(folder.as_uri() + "/")
    assert sorted(eng.to_pandas(every)["x"].tolist()) == [1, 2, 3, 4]


@pytest.mark.spark
def test_file_uri_opens_on_spark(spark_engine, tmp_path):
    pq.write_table(pa.table({"x": [1, 2, 3]}), tmp_path / "a.parquet")
    t = spark_engine.table((tmp_path / "a.parquet").as_uri())
    assert sorted(spark_engine.to_pandas(t)["x"].tolist()) == [1, 2, 3]


# ------------------------------------------------------------------ impute (#12)


def test_mode_of_an_all_null_column_says_so():
    eng = m3.connect()
    t = eng.table(pd.DataFrame({"a": [None, None], "b": [1.0, 2.0]}, dtype="float64"))
    with pytest.raises(SchemaError, match=r"column\(s\) \['a'\] have no value that is not null"):
        eng.capability("imputer")(t, ["a", "b"], "mode")


# ------------------------------------------------------------------ compiles, connect (#13)


@pytest.mark.parametrize("error", [UnsupportedOperationError, OperationNotDefinedError])
def test_compiles_is_false_for_every_translation_error(monkeypatch, error):
    eng = m3.connect()
    t = eng.table(pd.DataFrame({"x": [1]}))
    assert compiles(t)

    def refuse(expr, *args, **kwargs):
        raise error("no")

    monkeypatch.setattr(eng.backend, "compile", refuse)
    assert compiles(t) is False


def test_connect_returns_an_engine_and_refuses_settings_it_would_ignore():
    eng = m3.connect()
    assert m3.connect(eng) is eng
    for kwargs in ({"threads": 2}, {"config": {"a": "b"}}):
        with pytest.raises(ParameterError, match="already running"):
            m3.connect(eng, **kwargs)


@pytest.mark.spark
def test_a_running_spark_session_is_used_as_it_is(spark_engine):
    session = spark_engine.session
    with pytest.raises(ParameterError, match="config applies to Spark sessions marketing360 creates"):
        m3.connect(session, config={"spark.sql.shuffle.partitions": "3"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the settings are those it would set: nothing to say
        again = m3.connect("spark")
    assert again.session is session
    again.close()  # not ours to stop
    assert session.range(2).count() == 2

    before = session.conf.get("spark.sql.shuffle.partitions")
    try:
        session.conf.set("spark.sql.shuffle.partitions", "3")
        with pytest.warns(UserWarning, match=r"spark\.sql\.shuffle\.partitions is '3'"):
            other = m3.connect("spark")
        assert session.conf.get("spark.sql.shuffle.partitions") == "3"  # left as the user set it
        other.close()
    finally:
        session.conf.set("spark.sql.shuffle.partitions", before)

    zone = session.conf.get("spark.sql.session.timeZone")
    try:
        session.conf.set("spark.sql.session.timeZone", "Asia/Shanghai")
        with pytest.warns(UserWarning, match="timeZone is 'Asia/Shanghai', not UTC"):
            m3.connect(session)
    finally:
        session.conf.set("spark.sql.session.timeZone", zone)


# ------------------------------------------------------------------ DuckDB's time zone


def test_duckdb_sessions_are_in_utc(monkeypatch):
    # whatever ibis does on connecting (it sets UTC today), the engine's session zone is UTC
    backend = type(ibis.duckdb.connect())
    post_connect = backend._post_connect

    def local_zone(self, *args, **kwargs):
        post_connect(self, *args, **kwargs)
        self.con.execute("SET TimeZone = 'Asia/Shanghai'")  # as DuckDB's own default on a laptop in China

    monkeypatch.setattr(backend, "_post_connect", local_zone)
    for eng in (m3.connect(), DuckDBEngine()):
        assert eng.connection.execute("select current_setting('TimeZone')").fetchone()[0] == "UTC"
        eng.close()
