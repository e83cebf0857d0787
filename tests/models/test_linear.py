"""Sparse linear models: scikit-learn's and Spark ML's optima, in memory and out of core, with clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from marketing360.errors import NotFittedError, ParameterError, SchemaError
from marketing360.models import SparseLinearRegression, SparseLogisticRegression


def problem(seed: int = 0, n: int = 2000, d: int = 120):
    rng = np.random.default_rng(seed)
    x = sp.random(n, d, density=0.06, random_state=seed, format="csr")
    beta = rng.normal(0, 1.5, d)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x @ beta - 0.4)))).astype(float)
    return x, y, beta


def log_loss(x, y, coef, b, l2):
    z = b + x @ coef
    return float(np.mean(np.logaddexp(0, z) - y * z) + 0.5 * l2 * coef @ coef)


@pytest.mark.parametrize("seed, l2", [(0, 1e-2), (1, 1e-3), (2, 1e-4)])
def test_l2_logistic_reaches_scikit_learns_optimum(seed, l2):
    from sklearn.linear_model import LogisticRegression

    x, y, _ = problem(seed)
    m = SparseLogisticRegression(l2=l2).fit(x, y)
    ref = LogisticRegression(C=1 / (l2 * len(y)), tol=1e-12, max_iter=100000).fit(x, y)
    assert m.converged_
    rel = np.abs(m.coef_ - ref.coef_[0]).max() / np.abs(ref.coef_[0]).max()
    assert rel < 1e-4 and abs(m.intercept_ - ref.intercept_[0]) < 1e-4
    ours, theirs = log_loss(x, y, m.coef_, m.intercept_, l2), log_loss(x, y, ref.coef_[0], ref.intercept_[0], l2)
    assert ours == pytest.approx(m.objective_, abs=1e-12) and abs(ours - theirs) < 1e-8
    np.testing.assert_allclose(m.predict_proba(x), ref.predict_proba(x), atol=1e-4)


def test_weights_act_as_repeated_rows():
    x, y, _ = problem(3, n=300)
    w = np.random.default_rng(0).integers(1, 4, len(y))
    a = SparseLogisticRegression(l2=1e-3).fit(x, y, sample_weight=w)
    b = SparseLogisticRegression(l2=1e-3).fit(sp.csr_matrix(np.repeat(x.toarray(), w, axis=0)), np.repeat(y, w))
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-8)


def test_lasso_and_ridge_reach_scikit_learns_optimum():
    from sklearn.linear_model import Lasso, Ridge

    x, _, beta = problem(4)
    y = x @ beta + np.random.default_rng(4).normal(0, 0.1, x.shape[0])
    lasso = SparseLinearRegression(l1=2e-3).fit(x, y)
    ref = Lasso(alpha=2e-3, tol=1e-14, max_iter=1000000).fit(x, y)
    assert np.abs(lasso.coef_ - ref.coef_).max() / np.abs(ref.coef_).max() < 1e-4
    assert set(np.flatnonzero(lasso.coef_ == 0)) == set(np.flatnonzero(ref.coef_ == 0))
    ridge = SparseLinearRegression(l2=1e-2).fit(x, y)
    ref = Ridge(alpha=1e-2 * x.shape[0], tol=1e-14).fit(x, y)
    assert np.abs(ridge.coef_ - ref.coef_).max() / np.abs(ref.coef_).max() < 1e-4


def test_l1_logistic_reaches_scikit_learns_optimum():
    from sklearn.linear_model import LogisticRegression

    x, y, _ = problem(5)
    m = SparseLogisticRegression(l1=2e-3).fit(x, y)
    ref = LogisticRegression(l1_ratio=1.0, C=1 / (2e-3 * len(y)), solver="saga", tol=1e-12, max_iter=200000).fit(x, y)
    assert np.abs(m.coef_ - ref.coef_[0]).max() / np.abs(ref.coef_[0]).max() < 1e-4
    assert set(np.flatnonzero(m.coef_ == 0)) == set(np.flatnonzero(ref.coef_[0] == 0)) and (m.coef_ == 0).sum() > 10


@pytest.mark.spark
@pytest.mark.parametrize("reg, enet", [(1e-2, 0.0), (5e-3, 1.0), (1e-2, 0.5)])
def test_reaches_spark_mls_optimum(spark_engine, reg, enet):
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.linalg import SparseVector

    x, y, _ = problem(6, n=1500, d=60)
    rows = [(float(y[i]), SparseVector(x.shape[1], x[i].indices.tolist(), x[i].data.tolist())) for i in range(len(y))]
    sdf = spark_engine.session.createDataFrame(rows, ["label", "features"])
    ref = LogisticRegression(regParam=reg, elasticNetParam=enet, standardization=False, tol=1e-12,
                             maxIter=1000).fit(sdf)
    m = SparseLogisticRegression(l2=reg * (1 - enet), l1=reg * enet).fit(x, y)
    want = ref.coefficients.toArray()
    assert np.abs(m.coef_ - want).max() / np.abs(want).max() < 1e-4
    assert abs(m.intercept_ - ref.intercept) < 1e-4


def hashed_table(x, y) -> pa.Table:
    idx = [x[i].indices.astype(np.int64) for i in range(x.shape[0])]
    val = [x[i].data for i in range(x.shape[0])]
    return pa.table({"label": y, "features_index": idx, "features_value": val, "w": np.ones(len(y))})


def test_out_of_core_parquet_equals_in_memory(tmp_path):
    x, y, _ = problem(7)
    table = hashed_table(x, y)
    for i in range(4):  # a folder of four files, each streamed batch by batch
        pq.write_table(table.slice(i * 500, 500), tmp_path / f"part-{i}.parquet", row_group_size=128)
    mem = SparseLogisticRegression(l2=1e-3, num_features=x.shape[1]).fit(x, y)
    disk = SparseLogisticRegression(l2=1e-3, num_features=x.shape[1], weight="w").fit(tmp_path)
    arrow = SparseLogisticRegression(l2=1e-3, num_features=x.shape[1]).fit(table)
    np.testing.assert_allclose(disk.coef_, mem.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(arrow.coef_, mem.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(disk.decision_function(tmp_path), mem.decision_function(x), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(arrow.decision_function(table.drop_columns(["label"])), mem.decision_function(x),
                               rtol=1e-9, atol=1e-12)


def test_fits_on_what_the_feature_hasher_writes(duckdb_engine):
    from marketing360.prep import FeatureHasher

    rng = np.random.default_rng(8)
    n = 3000
    df = pd.DataFrame({"brand": rng.choice(["a", "b", "c", "d"], n), "price": rng.gamma(2, 1, n),
                       "member": rng.choice([True, False], n)})
    z = -1 + 1.5 * (df.brand == "b") - 1.0 * (df.brand == "d") + 0.8 * df.member - 0.3 * df.price
    df["label"] = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    hashed = duckdb_engine.to_arrow(FeatureHasher(columns=["brand", "price", "member"], num_features=1 << 12)
                                    .transform(duckdb_engine.table(df)))
    m = SparseLogisticRegression(l2=1e-5, num_features=1 << 12).fit(hashed)
    assert m.coef_.shape == (4096,) and np.count_nonzero(m.coef_) == 7  # 4 brands, price, member=true/false
    auc_order = np.argsort(m.decision_function(hashed))
    assert hashed["label"].to_numpy()[auc_order[-300:]].mean() > hashed["label"].to_numpy()[auc_order[:300]].mean()


def test_bad_input_is_named():
    x, y, _ = problem(9, n=50, d=5)
    with pytest.raises(SchemaError, match=r"labels in \{0, 1\}; found \[2.0\]"):
        SparseLogisticRegression().fit(x, np.where(y == 1, 2.0, 0.0))
    with pytest.raises(SchemaError, match="labels hold null, NaN"):
        SparseLogisticRegression().fit(x, np.r_[np.nan, y[1:]])
    with pytest.raises(ParameterError, match="one class only"):
        SparseLogisticRegression().fit(x, np.zeros(50))
    with pytest.raises(ParameterError, match="l2 must be a finite number >= 0"):
        SparseLogisticRegression(l2=-1).fit(x, y)
    with pytest.raises(ParameterError, match="x has 50 rows but y has 49"):
        SparseLogisticRegression().fit(x, y[1:])
    with pytest.raises(SchemaError, match="sample weights must be finite and >= 0"):
        SparseLogisticRegression().fit(x, y, sample_weight=-np.ones(50))
    bad = pa.table({"label": [0.0, 1.0], "features_index": [[0], [7]], "features_value": [[1.0], [1.0]]})
    with pytest.raises(SchemaError, match="feature index 7 is beyond num_features = 5"):
        SparseLogisticRegression(num_features=5).fit(bad)
    with pytest.raises(SchemaError, match=r"lacks column\(s\) \['label'\]"):
        SparseLogisticRegression().fit(bad.drop_columns(["label"]))
    with pytest.raises(ParameterError, match="name the label and weight columns"):
        SparseLogisticRegression().fit(bad, y[:2])
    with pytest.raises(NotFittedError):
        SparseLogisticRegression().decision_function(x)


@pytest.mark.spark
def test_scoring_a_spark_dataframe_is_refused_with_a_way_out(spark_engine):
    x, y, _ = problem(12, n=30, d=5)
    sdf = spark_engine.to_spark(spark_engine.table(hashed_table(x, y)))
    m = SparseLogisticRegression(l2=0.1).fit(x, y)
    with pytest.raises(ParameterError, match="scoring a Spark DataFrame is not available yet"):
        m.predict_proba(sdf)
