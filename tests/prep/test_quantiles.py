"""approx_quantile: exact ranks on DuckDB, Spark's Greenwald-Khanna bound on adversarial columns."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from adversarial_columns import adversarial

from marketing360.errors import ParameterError, SchemaError
from marketing360.prep import approx_quantile

PROBS = [0.0, 0.01, 0.1, 0.25, 0.5, 0.77, 0.9, 0.999, 1.0]


def rank_ceil(values: np.ndarray, q: float) -> float:
    """The value of rank ceil(q n) among the values that are not NaN (the smallest for q = 0)."""
    v = np.sort(values[~np.isnan(values)])
    return float(v[max(1, math.ceil(q * len(v))) - 1])


def within_bound(values: np.ndarray, q: float, answer: float, eps: float) -> bool:
    """Spark's guarantee: some rank of ``answer`` lies in [floor((q - eps) n), ceil((q + eps) n)]."""
    v = values[~np.isnan(values)]
    n = len(v)
    lo_rank, hi_rank = int((v < answer).sum()) + 1, int((v <= answer).sum())
    return (answer in v) and hi_rank >= math.floor((q - eps) * n) and lo_rank <= math.ceil((q + eps) * n)


def test_exact_quantiles_match_the_rank_definition_on_every_engine(engine):
    cols = adversarial(3000)
    got = approx_quantile(engine.table(pd.DataFrame(cols)), list(cols), PROBS, relative_error=0.0)
    assert list(got.columns) == list(cols) and got.index.name == "probability"
    for c, v in cols.items():
        if c == "constant":
            assert got[c].tolist() == [4.2] * len(PROBS)
        for q in PROBS:
            assert got.loc[q, c] == rank_ceil(v, q), (c, q)


def test_awkward_column_names(engine):
    # a space, a dot and a backtick in the names (Spark reads the columns under positional aliases)
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"price (usd)": rng.normal(size=201), "a.b": rng.integers(0, 5, 201).astype(float),
                       "odd`name": rng.exponential(size=201)})
    got = approx_quantile(engine.table(df), list(df.columns), [0.1, 0.5, 0.9], relative_error=0.0)
    for c in df.columns:
        assert got[c].tolist() == [rank_ceil(df[c].to_numpy(), q) for q in (0.1, 0.5, 0.9)], c


@pytest.mark.spark
@pytest.mark.parametrize("eps", [0.001, 0.01, 0.05])
def test_spark_sketch_respects_the_relative_error_on_adversarial_columns(spark_engine, eps):
    cols = adversarial(20000)
    sdf = spark_engine.session.createDataFrame(pd.DataFrame(cols)).repartition(4)
    got = approx_quantile(spark_engine.table(sdf), list(cols), PROBS, relative_error=eps)
    for c, v in cols.items():
        for q in PROBS:
            assert within_bound(v, q, got.loc[q, c], eps), (c, q, got.loc[q, c])


def test_engines_agree_exactly_at_zero_error(duckdb_engine, spark_engine, mixed):
    cols = ["a", "i", "g"]
    d = approx_quantile(duckdb_engine.table(mixed), cols, PROBS, relative_error=0)
    s = approx_quantile(spark_engine.table(mixed), cols, PROBS, relative_error=0)
    pd.testing.assert_frame_equal(d, s)
    assert d.loc[1.0, "a"] == np.inf and d.loc[0.0, "a"] == -np.inf  # infinities count, NaN and null do not


def test_bad_input_is_named(engine, mixed):
    t = engine.table(mixed)
    with pytest.raises(SchemaError, match="column 'name' must be numeric"):
        approx_quantile(t, ["a", "name"], [0.5])
    with pytest.raises(SchemaError, match="no column 'zz'"):
        approx_quantile(t, ["zz"], [0.5])
    with pytest.raises(ParameterError, match=r"probabilities must be one or more numbers in \[0, 1\]"):
        approx_quantile(t, ["a"], [0.5, 1.5])
    with pytest.raises(ParameterError, match="relative_error"):
        approx_quantile(t, ["a"], [0.5], relative_error=-0.1)
    with pytest.raises(ParameterError, match="list of column names"):
        approx_quantile(t, "a", [0.5])
    empty = engine.table(pd.DataFrame({"e": [np.nan, None, np.nan], "ok": [1.0, 2.0, 3.0]}))
    with pytest.raises(SchemaError, match=r"column\(s\) \['e'\] have no value"):
        approx_quantile(empty, ["ok", "e"], [0.5])
