"""Imputer: the statistics of a plain numpy reference and of Spark ML's own Imputer, on every engine."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from marketing360.errors import NotFittedError, ParameterError, SchemaError
from marketing360.prep import Imputer


def reference(values: pd.Series, strategy: str, missing_value: float = math.nan) -> float:
    v = values.astype(float).to_numpy()
    v = v[~np.isnan(v) & (v != missing_value)]
    if strategy == "mean":
        return float(v.mean())
    if strategy == "median":
        return float(np.sort(v)[math.ceil(len(v) / 2) - 1])
    vals, counts = np.unique(v, return_counts=True)
    return float(vals[counts == counts.max()].min())


@pytest.mark.parametrize("strategy", ["mean", "median", "mode"])
@pytest.mark.parametrize("missing_value", [math.nan, 3.0])
def test_statistics_and_fill_match_a_numpy_reference(engine, mixed, strategy, missing_value):
    df = mixed.replace([np.inf, -np.inf], 7.0)
    imp = Imputer(columns=["a", "i", "g"], strategy=strategy, missing_value=missing_value,
                  relative_error=0.0).fit(engine.table(df))
    for c in ["a", "i", "g"]:
        assert imp.statistics_[c] == pytest.approx(reference(df[c], strategy, missing_value), rel=1e-12)
    out = engine.to_pandas(imp.transform(engine.table(df)))
    assert out.dtypes["i"] == df.dtypes["i"] and out.dtypes["g"] == np.float32
    for c in ["a", "i", "g"]:
        fill = imp.statistics_[c]
        x = df[c].astype(float)
        miss = x.isna() | (x == missing_value)
        want = np.where(miss, math.trunc(fill) if c == "i" else fill, x).astype(df.dtypes[c])
        np.testing.assert_array_equal(np.sort(out[c].to_numpy()), np.sort(want))


@pytest.mark.spark
@pytest.mark.parametrize("strategy", ["mean", "median", "mode"])
def test_equals_spark_mls_own_imputer(duckdb_engine, spark_engine, strategy):
    from pyspark.ml.feature import Imputer as SparkImputer

    rng = np.random.default_rng(5)
    n = 301  # odd: the approximate median of Spark ML is exact on so few values
    df = pd.DataFrame({"k": np.arange(n), "x": rng.integers(0, 9, n).astype(float), "y": rng.normal(size=n)})
    df.loc[rng.choice(n, 40, replace=False), "x"] = np.nan
    df.loc[rng.choice(n, 25, replace=False), "y"] = -1.0
    sdf = spark_engine.session.createDataFrame(df)
    ref = SparkImputer(inputCols=["x", "y"], outputCols=["x", "y"], strategy=strategy, missingValue=-1.0).fit(sdf)
    want = ref.transform(sdf).toPandas().sort_values("k").reset_index(drop=True)
    surrogates = ref.surrogateDF.toPandas().iloc[0].to_dict()
    for eng in (duckdb_engine, spark_engine):
        imp = Imputer(columns=["x", "y"], strategy=strategy, missing_value=-1.0).fit(eng.table(df))
        assert imp.statistics_ == pytest.approx(surrogates, rel=1e-12)
        got = eng.to_pandas(imp.transform(eng.table(df))).sort_values("k").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)


@pytest.mark.spark
def test_a_wide_mean_is_compiled_and_the_sessions_setting_comes_back(spark_engine):
    from pyspark.ml.feature import Imputer as SparkImputer
    from pyspark.sql import functions as F

    from marketing360.engine.spark import HOTSPOT_HUGE_METHOD, WIDE_CODEGEN_FIELDS

    key, conf = "spark.sql.codegen.maxFields", spark_engine.session.conf
    huge = "spark.sql.codegen.hugeMethodLimit"
    before, huge_before = conf.get(key), conf.get(huge)
    rng = np.random.default_rng(3)
    df = pd.DataFrame(rng.normal(size=(200, 80)), columns=[f"c{i}" for i in range(80)])
    df.iloc[::7, ::3] = np.nan
    sdf = spark_engine.session.createDataFrame(df)
    ref = SparkImputer(inputCols=list(df.columns), outputCols=[f"o{i}" for i in range(80)]).fit(sdf)
    imp = Imputer(strategy="mean").fit(spark_engine.table(df))
    assert imp.statistics_ == pytest.approx(ref.surrogateDF.toPandas().iloc[0].to_dict(), rel=1e-12)
    assert conf.get(key) == before

    def compiled() -> bool:  # Spark's own plan: the partial aggregate of 80 means (160 fields) in a codegen stage
        q = sdf.select(*[F.avg(c) for c in df.columns])
        q.collect()
        return "*(1) HashAggregate" in q._jdf.queryExecution().executedPlan().toString()

    assert not compiled()
    with spark_engine._wide_codegen(160):
        assert conf.get(key) == "160" and compiled()
        assert conf.get(huge) == str(min(int(huge_before), HOTSPOT_HUGE_METHOD))
    assert conf.get(key) == before and conf.get(huge) == huge_before
    with spark_engine._wide_codegen(WIDE_CODEGEN_FIELDS):
        assert conf.get(key) == str(WIDE_CODEGEN_FIELDS)
    with spark_engine._wide_codegen(WIDE_CODEGEN_FIELDS + 1):  # too wide to compile: the session's value stays
        assert conf.get(key) == before
    conf.set(key, "5000")
    try:
        with spark_engine._wide_codegen(160):
            assert conf.get(key) == "5000"
    finally:
        conf.set(key, before)


@pytest.mark.parametrize("strategy", ["mean", "median"])
def test_awkward_column_names(engine, strategy):
    # spaces, a dot and a backtick: Spark reads the columns through one SQL projection, which must quote them
    names = ["price (usd)", "a.b", "odd`name"]
    df = pd.DataFrame({n: [1.0, None, 4.0, float("nan"), 10.0 * (j + 1)] for j, n in enumerate(names)})
    imp = Imputer(columns=names, strategy=strategy).fit(engine.table(df))
    assert imp.statistics_ == {n: pytest.approx(reference(df[n], strategy), rel=1e-12) for n in names}


def test_integer_columns_keep_their_type_and_truncate_like_spark(engine):
    df = pd.DataFrame({"n": pd.array([1, 2, None, 2, 6], dtype="Int64")})
    imp = Imputer(strategy="mean", output_columns=["n_filled"]).fit(engine.table(df))
    assert imp.statistics_ == {"n": 2.75}
    out = engine.to_pandas(imp.transform(engine.table(df)))
    assert sorted(out["n_filled"].tolist()) == [1, 2, 2, 2, 6] and out["n"].isna().sum() == 1


def test_bad_input_and_settings_are_named(engine, mixed):
    t = engine.table(mixed)
    with pytest.raises(SchemaError, match="column 'name' must be numeric"):
        Imputer(columns=["a", "name"]).fit(t)
    with pytest.raises(ParameterError, match="strategy must be one of"):
        Imputer(strategy="average").fit(t)
    with pytest.raises(ParameterError, match="missing_value must be a finite number or NaN"):
        Imputer(missing_value=math.inf).fit(t)
    with pytest.raises(ParameterError, match="output_columns must name one column per input column"):
        Imputer(columns=["a", "i"], output_columns=["a2"]).fit(t)
    with pytest.raises(NotFittedError):
        Imputer().transform(t)
    empty = engine.table(pd.DataFrame({"e": [np.nan, 2.0, 2.0], "ok": [1.0, 2.0, 3.0]}))
    for strategy in ("mean", "median", "mode"):
        with pytest.raises(SchemaError, match=r"column\(s\) \['e'\] have no value that is not null, NaN or the "):
            Imputer(strategy=strategy, missing_value=2.0).fit(empty)


def test_follows_scikit_learns_contract():
    from sklearn.base import clone

    imp = Imputer(columns=["a"], strategy="mode")
    params, want = clone(imp).get_params(), imp.get_params()
    assert math.isnan(params.pop("missing_value")) and math.isnan(want.pop("missing_value")) and params == want
    assert repr(imp) == "Imputer(columns=['a'], strategy='mode')"
    assert repr(Imputer(missing_value=-1.0)) == "Imputer(missing_value=-1.0)"


@pytest.mark.spark
def test_the_sessions_settings_come_back_after_an_error(spark_engine):
    key, conf = "spark.sql.codegen.maxFields", spark_engine.session.conf
    before = conf.get(key)
    with pytest.raises(RuntimeError, match="inside"):
        with spark_engine._settings({key: "123"}):
            assert conf.get(key) == "123"
            raise RuntimeError("inside")
    assert conf.get(key) == before
