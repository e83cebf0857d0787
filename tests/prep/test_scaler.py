"""StandardScaler: numpy's sample statistics and Spark ML's own StandardScaler."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketing360.errors import NotFittedError, ParameterError, SchemaError
from marketing360.prep import StandardScaler


def data() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 200
    return pd.DataFrame({"k": np.arange(n), "spend": rng.gamma(2, 50, n), "clicks": rng.integers(0, 30, n),
                         "flat": np.full(n, 3.0)})


@pytest.mark.parametrize("with_mean", [False, True])
def test_matches_numpy_and_keeps_nulls(engine, with_mean):
    df = data()
    df.loc[[3, 8], "spend"] = None
    sc = StandardScaler(columns=["spend", "clicks", "flat"], with_mean=with_mean).fit(engine.table(df))
    spend = df.spend.dropna().to_numpy()
    assert sc.mean_["spend"] == pytest.approx(spend.mean(), rel=1e-12)
    assert sc.std_["spend"] == pytest.approx(spend.std(ddof=1), rel=1e-12)
    assert sc.std_["flat"] == 0.0 and sc.n_ == {"spend": 198, "clicks": 200, "flat": 200}
    out = engine.to_pandas(sc.transform(engine.table(df))).sort_values("k")
    want = (df.spend - (spend.mean() if with_mean else 0)) / spend.std(ddof=1)
    np.testing.assert_allclose(out.spend.to_numpy(), want.to_numpy(), rtol=1e-12)
    assert out.spend.isna().sum() == 2 and (out.flat == 0.0).all()  # no spread: 0, as in Spark


@pytest.mark.spark
@pytest.mark.parametrize("with_mean", [False, True])
def test_equals_spark_mls_own_scaler(duckdb_engine, spark_engine, with_mean):
    from pyspark.ml.feature import StandardScaler as SparkScaler
    from pyspark.ml.feature import VectorAssembler
    from pyspark.ml.functions import vector_to_array

    df = data()
    cols = ["spend", "clicks", "flat"]
    sdf = VectorAssembler(inputCols=cols, outputCol="v").transform(spark_engine.session.createDataFrame(df))
    model = SparkScaler(inputCol="v", outputCol="s", withMean=with_mean, withStd=True).fit(sdf)
    ref = model.transform(sdf).select("k", vector_to_array("s").alias("s")).toPandas().sort_values("k")
    ref = np.vstack(ref.s.to_numpy())
    for eng in (duckdb_engine, spark_engine):
        sc = StandardScaler(columns=cols, with_mean=with_mean).fit(eng.table(df))
        np.testing.assert_allclose([sc.std_[c] for c in cols], model.std.toArray(), rtol=1e-12)
        np.testing.assert_allclose([sc.mean_[c] for c in cols], model.mean.toArray(), rtol=1e-12)
        got = eng.to_pandas(sc.transform(eng.table(df))).sort_values("k")[cols].to_numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)


def test_bad_input_is_named(engine):
    df = data()
    with pytest.raises(SchemaError, match=r"column\(s\) \['spend'\] hold NaN or infinite values"):
        StandardScaler(columns=["spend"]).fit(engine.table(df.assign(spend=np.r_[np.inf, df.spend[1:]])))
    with pytest.raises(SchemaError, match="column 'name' must be numeric"):
        StandardScaler(columns=["name"]).fit(engine.table(df.assign(name="a")))
    with pytest.raises(SchemaError, match=r"column\(s\) \['e'\] have no non-null value"):
        StandardScaler(columns=["e"]).fit(engine.table(df.assign(e=np.nan)))
    with pytest.raises(ParameterError, match="with_mean must be True or False"):
        StandardScaler(with_mean="yes").fit(engine.table(df))
    with pytest.raises(NotFittedError):
        StandardScaler().transform(engine.table(df))
    with pytest.raises(SchemaError, match="no column 'spend'"):
        StandardScaler(columns=["spend"]).fit(engine.table(df)).transform(engine.table(df.drop(columns="spend")))
