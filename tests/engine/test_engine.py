"""The engine interface on DuckDB and on Spark, each checked against plain pandas."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import marketing360 as m3
from marketing360.errors import EngineError, ParameterError, SchemaError
from marketing360.testing import assert_frame_matches

FRAME = pd.DataFrame({
    "user_id": [1, 1, 2, 3, 3, 3],
    "brand": ["a", "b", "a", "a", None, "b"],
    "value": [1.5, np.nan, 2.0, 4.0, 8.0, np.nan],
    "ts": pd.to_datetime(["2025-01-01 08:00", "2025-01-01 09:00", "2025-01-02 10:00",
                          "2025-01-03 00:00", "2025-01-03 23:59", "2025-01-04 12:00"]),
})


def by_brand(t):
    return t.group_by("brand").agg(n=t.count(), total=t.value.sum(), users=t.user_id.nunique(),
                                   last=t.ts.max())


def by_brand_reference(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby("brand", dropna=False)
    return pd.DataFrame({"n": g.size(), "total": g.value.sum(min_count=1), "users": g.user_id.nunique(),
                         "last": g.ts.max()}).reset_index()


@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow", "parquet", "glob", "folder", "csv",
                                  "tsv", "memtable"])
def test_every_input_gives_the_pandas_answer(engine, kind, tmp_path):
    if kind == "pandas":
        data = FRAME
    elif kind == "polars":
        data = pl.from_pandas(FRAME)
    elif kind == "arrow":
        data = pa.Table.from_pandas(FRAME)
    elif kind in ("parquet", "glob", "folder"):
        folder = tmp_path / "ev"
        folder.mkdir()
        pq.write_table(pa.Table.from_pandas(FRAME.iloc[:3]), folder / "a.parquet", coerce_timestamps="us")
        pq.write_table(pa.Table.from_pandas(FRAME.iloc[3:]), folder / "b.parquet", coerce_timestamps="us")
        if kind == "parquet":
            pq.write_table(pa.Table.from_pandas(FRAME), tmp_path / "all.parquet", coerce_timestamps="us")
            data = tmp_path / "all.parquet"
        else:
            data = str(folder / "*.parquet") if kind == "glob" else folder
    elif kind in ("csv", "tsv"):
        FRAME.to_csv(tmp_path / f"ev.{kind}", index=False, sep="," if kind == "csv" else "\t")
        data = str(tmp_path / f"ev.{kind}")
    else:
        data = ibis.memtable(FRAME)
    t = engine.table(data)
    assert_frame_matches(engine.to_pandas(by_brand(t)), by_brand_reference(FRAME), sort_by=["brand"])


def test_nan_becomes_null_on_every_engine(engine):
    # pandas marks missing floats with NaN; SQL sums must skip them, not return NaN
    t = engine.table(FRAME)
    out = engine.to_pandas(t.aggregate(s=t.value.sum(), nulls=t.value.isnull().sum()))
    assert out["s"].iloc[0] == pytest.approx(15.5)
    assert int(out["nulls"].iloc[0]) == 2


def test_results_as_polars_and_arrow(engine):
    t = engine.table(FRAME)
    expr = t.filter(t.value > 1.9).select("user_id", "value")
    pol = engine.to_polars(expr)
    arr = engine.to_arrow(expr)
    assert isinstance(pol, pl.DataFrame) and isinstance(arr, pa.Table)
    assert sorted(pol["value"].to_list()) == [2.0, 4.0, 8.0]
    assert sorted(arr.column("value").to_pylist()) == [2.0, 4.0, 8.0]
    assert m3.engine.fetch(t.value.sum()) == pytest.approx(15.5)  # a scalar comes back as a number
    with pytest.raises(EngineError, match="output must be"):
        m3.engine.fetch(expr, "excel")


def test_a_table_of_another_engine_is_moved(duckdb_engine, spark_engine):
    t = duckdb_engine.table(FRAME)
    moved = spark_engine.table(t.filter(t.user_id == 3))
    assert spark_engine.to_pandas(moved.count().name("n").as_table())["n"].iloc[0] == 3


def test_spark_dataframe_in(spark_engine):
    sdf = spark_engine.session.createDataFrame(pa.Table.from_pandas(FRAME))
    t = spark_engine.table(sdf)
    assert_frame_matches(spark_engine.to_pandas(by_brand(t)), by_brand_reference(FRAME), sort_by=["brand"])
    with pytest.raises(EngineError, match="only be opened by the Spark engine"):
        m3.connect().table(sdf)


def test_wrap_an_existing_spark_session(spark_engine):
    wrapped = m3.connect(spark_engine.session)
    assert wrapped.name == "spark" and wrapped.session is spark_engine.session
    wrapped.close()  # must not stop a session it did not start
    assert spark_engine.session.range(3).count() == 3


def test_nanosecond_parquet_on_spark_says_how_to_fix(spark_engine, tmp_path):
    pq.write_table(pa.Table.from_pandas(FRAME), tmp_path / "ns.parquet", version="2.6")
    with pytest.raises(EngineError, match="nanosecond timestamps"):
        spark_engine.table(tmp_path / "ns.parquet")


def test_bad_inputs(engine, tmp_path):
    with pytest.raises(EngineError, match="cannot open a builtins.list"):
        engine.table([1, 2, 3])
    with pytest.raises(EngineError, match="no such file"):
        engine.table(tmp_path / "nope.parquet")
    (tmp_path / "x.xlsx").write_text("x")
    with pytest.raises(EngineError, match="cannot tell the format"):
        engine.table(tmp_path / "x.xlsx")


def test_connect_arguments():
    assert m3.connect().name == "duckdb"
    with pytest.raises(ParameterError, match="engine must be"):
        m3.connect("oracle")
    with pytest.raises(ParameterError, match="Spark engine only"):
        m3.connect("duckdb", config={"a": "b"})
    with pytest.raises(ParameterError, match="DuckDB engine only"):
        m3.connect("spark", threads=2)


def test_duckdb_file_database(tmp_path):
    path = tmp_path / "m360.duckdb"
    with m3.connect(path=path) as eng:
        eng.backend.create_table("kept", FRAME)
    with m3.connect(path=path) as eng:
        assert eng.to_pandas(eng.backend.table("kept").count().name("n").as_table())["n"].iloc[0] == 6


# ------------------------------------------------------------------ capabilities


# odd numbers of present values, so that Spark's approximate median is exact too
IMPUTE = pd.DataFrame({"a": [1.0, None, 3.0, 10.0, None, None], "b": [None, 2.0, 2.0, 5.0, 7.0, 8.0],
                       "k": ["x", "y", "z", "w", "v", "u"]})


@pytest.mark.parametrize("strategy", ["mean", "median", "mode"])
def test_imputer_capability_matches_pandas(engine, strategy):
    assert engine.supports("imputer") and "imputer" in engine.capabilities
    t = engine.table(IMPUTE)
    fills = engine.capability("imputer")(t, ["a", "b"], strategy)
    if strategy == "mean":
        ref = IMPUTE[["a", "b"]].mean()
    elif strategy == "median":  # odd counts: exact on every engine (Spark's is approximate)
        ref = IMPUTE[["a", "b"]].median()
    else:
        ref = IMPUTE[["a", "b"]].mode().iloc[0]  # smallest of the most frequent
    assert fills == pytest.approx(ref.to_dict())


def test_approx_quantile_capability_matches_numpy(engine):
    t = engine.table(IMPUTE)
    got = engine.capability("approx_quantile")(t, ["a", "b"], [0.0, 0.5, 1.0], 0.0)
    assert got == {"a": [1.0, 3.0, 10.0], "b": [2.0, 5.0, 8.0]}


def test_capability_errors(engine):
    with pytest.raises(EngineError, match="no capability 'teleport'"):
        engine.capability("teleport")
    t = engine.table(IMPUTE)
    with pytest.raises(SchemaError, match="must be numeric"):
        engine.capability("imputer")(t, ["k"], "mean")
    with pytest.raises(SchemaError, match="no column 'zz'"):
        engine.capability("imputer")(t, ["zz"], "mean")
    with pytest.raises(ParameterError, match="strategy must be"):
        engine.capability("imputer")(t, ["a"], "mean-ish")
    with pytest.raises(SchemaError, match="must be numeric"):
        engine.capability("approx_quantile")(t, ["k"], [0.5])


def test_frames_opened_without_a_name_are_freed_when_unused():
    import gc

    eng = m3.connect()
    big = pd.DataFrame({"user_id": range(1000), "ts": pd.Timestamp("2025-01-01"), "event_type": "browse"})
    for _ in range(5):  # a notebook calling an analysis on the same frame again and again
        m3.overview.event_counts(big.assign(brand="A")).table()
    kept = eng.table(big)
    gc.collect()
    m3.default_engine().table(pd.DataFrame({"x": [1]}))  # the next call releases what nothing uses
    assert len(m3.default_engine().registered) <= 2
    assert eng.to_pandas(kept.count().as_table()).iloc[0, 0] == 1000  # what is used stays
    named = eng.table(big, name="events")
    del named
    gc.collect()
    eng.table(pd.DataFrame({"x": [1]}))
    assert "events" in eng.registered  # a table given a name is the user's to keep
