"""Bucketizer and QuantileDiscretizer: a numpy reference and Spark ML's own transformers, on every engine."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from adversarial_columns import adversarial

from marketing360.errors import NotFittedError, ParameterError, SchemaError
from marketing360.prep import Bucketizer, QuantileDiscretizer

INF = math.inf


def reference(x: np.ndarray, splits: list[float], keep: bool) -> np.ndarray:
    """Bucket i holds splits[i] <= x < splits[i+1]; the last also its upper edge; NaN to len(splits) - 1;
    -0.0 below a split at 0.0 (Java's order of doubles)."""
    s = np.asarray(splits)
    b = np.searchsorted(s, x, side="right") - 1.0
    negzero = (x == 0) & np.signbit(x)
    b[negzero] = np.searchsorted(s, -1e-300, side="right") - 1.0
    b[x == s[-1]] = len(s) - 2
    b[np.isnan(x)] = len(s) - 1 if keep else np.nan
    return b


def frame() -> pa.Table:
    """x with NaN (kept as NaN: an Arrow table, not pandas, whose NaN would arrive as null), a null, ±inf, ±0.0."""
    rng = np.random.default_rng(2)
    n = 300
    x = rng.normal(0, 2, n).round(1)
    x[rng.choice(n, 20, replace=False)] = np.nan
    x[:5] = [-INF, INF, 0.0, 1.0, -0.0]
    y = rng.integers(0, 10, n).astype(float)
    return pa.table({"k": np.arange(n), "x": pa.array(x, from_pandas=False),
                     "y": pa.array(y, mask=np.arange(n) == 5)})


def in_place(out: pd.DataFrame, renames: dict[str, str], columns: list[str]) -> pd.DataFrame:
    """Spark ML's output columns put in place of its inputs (Spark refuses to overwrite them), sorted by k."""
    out = out.drop(columns=list(renames.values())).rename(columns=renames)[columns]
    return out.sort_values("k").reset_index(drop=True)


SPLITS = {"x": [-INF, -1.0, 0.0, 1.0, INF], "y": [0.0, 2.5, 5.0, 9.0]}


@pytest.mark.parametrize("handle", ["keep", "skip"])
def test_bucketizer_matches_a_numpy_reference(engine, handle):
    data = frame()
    df = data.to_pandas()
    out = engine.to_pandas(Bucketizer(splits=SPLITS, handle_invalid=handle, output_columns=["bx", "by"])
                           .transform(engine.table(data))).sort_values("k")
    kept = df if handle == "keep" else df[df.x.notna() & df.y.notna()]
    assert out.k.tolist() == kept.k.tolist()
    np.testing.assert_array_equal(out.bx.to_numpy(), reference(kept.x.to_numpy(), SPLITS["x"], keep=True))
    by = reference(kept.y.to_numpy(), SPLITS["y"], keep=False)  # the null y stays null
    np.testing.assert_array_equal(out.by.to_numpy(), by)
    assert (handle == "skip") or np.isnan(out.by.to_numpy()[5])


@pytest.mark.spark
@pytest.mark.parametrize("handle", ["keep", "skip", "error"])
def test_bucketizer_equals_spark_mls_own(duckdb_engine, spark_engine, handle):
    from pyspark.ml.feature import Bucketizer as SparkBucketizer

    data = frame()
    if handle == "error":
        data = data.set_column(1, "x", pa.array(np.nan_to_num(data["x"].to_numpy(), nan=0.5)))
    sdf = spark_engine.to_spark(spark_engine.table(data))
    ref = SparkBucketizer(inputCols=["x", "y"], outputCols=["bx", "by"], splitsArray=list(SPLITS.values()),
                          handleInvalid=handle).transform(sdf).toPandas()
    ref = in_place(ref, {"bx": "x", "by": "y"}, data.column_names)
    for eng in (duckdb_engine, spark_engine):
        got = eng.to_pandas(Bucketizer(splits=SPLITS, handle_invalid=handle).transform(eng.table(data)))
        pd.testing.assert_frame_equal(got.sort_values("k").reset_index(drop=True), ref)


def test_bucketizer_refuses_values_outside_the_splits_and_nan_in_error_mode(engine):
    df = frame()
    with pytest.raises(SchemaError, match=r"column 'y' has values outside its splits \[0.0, 8.0\]: 0 below .*above "
                                          r"\(largest 9.0\)"):
        Bucketizer(splits={"y": [0, 4, 8]}, handle_invalid="keep").transform(engine.table(df))
    with pytest.raises(SchemaError, match="column 'x' holds 20 NaN value"):
        Bucketizer(splits=SPLITS).transform(engine.table(df))


@pytest.mark.parametrize("splits, message", [
    ({"x": [0, 1]}, "at least 3 points"),
    ({"x": [0, 2, 1]}, "strictly increasing"),
    ({"x": [0, 1, 1, 2]}, "strictly increasing"),
    ({"x": [0, math.nan, 2]}, "not NaN"),
    ([0, 1, 2], "must map each column"),
    ({"x": ["a", "b", "c"]}, "must be numbers"),
])
def test_bad_splits_are_named(splits, message):
    with pytest.raises(ParameterError, match=message):
        Bucketizer(splits=splits).fit()


def test_bucketizer_checks_columns_and_handle_invalid(engine):
    t = engine.table(frame().to_pandas().assign(s="a"))
    with pytest.raises(SchemaError, match="column 's' must be numeric"):
        Bucketizer(splits={"s": [0, 1, 2]}).transform(t)
    with pytest.raises(ParameterError, match="handle_invalid must be one of"):
        Bucketizer(splits=SPLITS, handle_invalid="ignore").transform(t)


def test_quantile_discretizer_equals_spark_mls_own_at_zero_error(duckdb_engine, spark_engine):
    from pyspark.ml.feature import QuantileDiscretizer as SparkQD

    cols = adversarial(3000)
    cols.pop("constant")  # Spark keeps two buckets there ([-inf, c, inf]); checked below
    df = pd.DataFrame(cols).assign(k=np.arange(3000))
    names = list(cols)
    buckets = [4, 5, 10, 3, 7]
    sdf = spark_engine.session.createDataFrame(df)
    ref_model = SparkQD(inputCols=names, outputCols=[f"b_{c}" for c in names], numBucketsArray=buckets,
                        relativeError=0.0, handleInvalid="keep").fit(sdf)
    ref = in_place(ref_model.transform(sdf).toPandas(), {f"b_{c}": c for c in names}, list(df.columns))
    for eng in (duckdb_engine, spark_engine):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            qd = QuantileDiscretizer(columns=names, num_buckets=dict(zip(names, buckets)), relative_error=0.0,
                                     handle_invalid="keep").fit(eng.table(df))
        assert qd.splits_ == dict(zip(names, [list(s) for s in ref_model.getSplitsArray()]))
        assert any("column 'ties' gets 3 buckets, not 10" in str(w.message) for w in caught)
        got = eng.to_pandas(qd.transform(eng.table(df))).sort_values("k").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, ref)


def test_quantile_discretizer_splits_are_the_rank_quantiles(engine):
    rng = np.random.default_rng(0)
    x = rng.exponential(size=1001)
    qd = QuantileDiscretizer(num_buckets=4, relative_error=0).fit(engine.table(pd.DataFrame({"x": x})))
    s = np.sort(x)
    assert qd.splits_["x"] == [-INF, s[math.ceil(0.25 * 1001) - 1], s[math.ceil(0.5 * 1001) - 1],
                               s[math.ceil(0.75 * 1001) - 1], INF]
    counts = engine.to_pandas(qd.transform(engine.table(pd.DataFrame({"x": x}))))["x"].value_counts().sort_index()
    assert counts.tolist() == [250, 250, 250, 251]  # ranks 1-250, 251-500, 501-750, 751-1001
    with pytest.warns(UserWarning, match="column 'c' gets 2 buckets, not 3"):
        const = QuantileDiscretizer(num_buckets=3, relative_error=0).fit(engine.table(pd.DataFrame({"c": [2.0] * 5})))
    assert const.splits_ == {"c": [-INF, 2.0, INF]}


def test_quantile_discretizer_bad_settings(engine):
    t = engine.table(frame())
    with pytest.raises(ParameterError, match="num_buckets must be an integer >= 2"):
        QuantileDiscretizer(columns=["x"], num_buckets=1).fit(t)
    with pytest.raises(ParameterError, match="num_buckets must give a number for each column"):
        QuantileDiscretizer(columns=["x", "y"], num_buckets={"x": 3}).fit(t)
    with pytest.raises(NotFittedError):
        QuantileDiscretizer().transform(t)
    inf = engine.table(pd.DataFrame({"z": [1.0, INF, INF, INF]}))
    with pytest.raises(SchemaError, match="column 'z' leaves fewer than 2 buckets"):
        QuantileDiscretizer(num_buckets=2, relative_error=0).fit(inf)
