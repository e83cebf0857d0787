"""FeatureHasher: Spark ML's own FeatureHasher (same indices and values), scikit-learn's MurmurHash3."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketing360.errors import ParameterError, SchemaError
from marketing360.prep import FeatureHasher, murmur3_32
from marketing360.prep.hashing import java_str


def test_murmur3_equals_scikit_learns():
    from sklearn.utils import murmurhash3_32

    rng = np.random.default_rng(0)
    keys = ["", "a", "ab", "abc", "abcd", "abcde", "brand=acme", "品牌=京东", "x" * 37]
    keys += ["".join(rng.choice(list("abcdef=0123"), rng.integers(1, 20))) for _ in range(200)]
    for k in keys:
        for seed in (0, 42):
            assert murmur3_32(k.encode(), seed) == murmurhash3_32(k.encode(), seed=seed), (k, seed)


def test_java_str_writes_doubles_as_scala_does():
    assert [java_str(v) for v in (0.0, -0.0, 1.5, 100.0, 9999999.0, 1e7, 0.001, 0.00099, -2.5e-8, 1e21)] == [
        "0.0", "-0.0", "1.5", "100.0", "9999999.0", "1.0E7", "0.001", "9.9E-4", "-2.5E-8", "1.0E21"]
    assert [java_str(v) for v in (True, False, 7, np.int32(-3), "s")] == ["true", "false", "7", "-3", "s"]


def data() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 120
    df = pd.DataFrame({"k": np.arange(n), "price": rng.gamma(2, 10, n).round(2), "qty": rng.integers(1, 5, n),
                       "brand": rng.choice(["acme", "zeta", "京东"], n), "member": rng.choice([True, False], n),
                       "score": rng.choice([0.5, 1e-5, 2.0e8], n)})
    df.loc[[2, 9], "price"] = None
    df.loc[[4], "brand"] = None
    return df


@pytest.mark.spark
@pytest.mark.parametrize("n", [1 << 18, 1000, 7])
def test_equals_spark_mls_own_feature_hasher(duckdb_engine, spark_engine, n):
    from pyspark.ml.feature import FeatureHasher as SparkHasher

    df = data()
    cols = ["price", "qty", "brand", "member", "score"]
    sdf = spark_engine.to_spark(spark_engine.table(df))
    ref = SparkHasher(inputCols=cols, categoricalCols=["qty", "score"], outputCol="v", numFeatures=n).transform(sdf)
    ref = ref.select("k", "v").toPandas().sort_values("k")
    for eng in (duckdb_engine, spark_engine):
        out = eng.to_pandas(FeatureHasher(columns=cols, categorical_columns=["qty", "score"], num_features=n)
                            .transform(eng.table(df))).sort_values("k")
        assert out.k.tolist() == ref.k.tolist() and list(out.columns[:6]) == list(df.columns)
        for (_, row), v in zip(out.iterrows(), ref.v):
            assert len(row.features_index) == len(cols) and max(row.features_index) < n
            dense = np.zeros(n)
            np.add.at(dense, row.features_index, row.features_value)
            np.testing.assert_array_equal(dense, v.toArray())


def test_indices_are_spark_hashes_by_hand(engine):
    df = pd.DataFrame({"price": [2.5], "brand": ["acme"]})
    out = engine.to_pandas(FeatureHasher(num_features=1 << 10).transform(engine.table(df)))
    assert out.features_index[0].tolist() == [murmur3_32(b"price") % 1024, murmur3_32(b"brand=acme") % 1024]
    assert out.features_value[0].tolist() == [2.5, 1.0]


def test_bad_settings_are_named(engine):
    t = engine.table(data())
    with pytest.raises(ParameterError, match=r"num_features must be an integer in \[1, 2\*\*31 - 1\]"):
        FeatureHasher(num_features=0).transform(t)
    with pytest.raises(ParameterError, match=r"categorical_columns \['qty'\] are not among columns"):
        FeatureHasher(columns=["price"], categorical_columns=["qty"]).transform(t)
    with pytest.raises(SchemaError, match="no column 'zz'"):
        FeatureHasher(columns=["zz"]).transform(t)
    with pytest.raises(SchemaError, match="already has a column 'k_index'"):
        FeatureHasher(columns=["price"], output="k").transform(engine.table(data().assign(k_index=1)))
    dates = engine.table(pd.DataFrame({"d": pd.to_datetime(["2025-01-01"])}))
    with pytest.raises(SchemaError, match="column 'd' must be numeric, string or boolean"):
        FeatureHasher(columns=["d"]).transform(dates)
