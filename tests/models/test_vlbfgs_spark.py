"""Vector-free L-BFGS on Spark: the local iterates and fit, O(m) scalars per iteration, the local errors."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp

from marketing360.errors import ParameterError, SchemaError
from marketing360.models import SparseLinearRegression, SparseLogisticRegression
from marketing360.models.sparse import ArrowRows
from marketing360.models.vlbfgs import NumpySpace, minimize

pytestmark = pytest.mark.spark

N, D = 2000, 500


def hashed(seed: int = 0, n: int = N, d: int = D, linear: bool = False) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = sp.random(n, d, density=0.02, random_state=seed, format="csr")
    beta = rng.normal(0, 1.5, d)
    z = x @ beta - 0.4
    y = z + rng.normal(0, 0.1, n) if linear else (rng.random(n) < 1 / (1 + np.exp(-z))).astype(float)
    return pa.table({"label": y, "features_index": [x[i].indices.astype(np.int64) for i in range(n)],
                     "features_value": [x[i].data for i in range(n)], "w": rng.integers(1, 4, n).astype(float)})


@pytest.fixture(scope="module")
def data(spark_engine):
    table = hashed()
    return table, spark_engine.session.createDataFrame(table).repartition(2)


@pytest.fixture(scope="module")
def spark_rows(data):
    from marketing360.models.vlbfgs_spark import SparkRows

    rows = SparkRows(data[1], n_features=D)  # read and checked once, cut in pieces once for both tests below
    yield rows
    rows.close()


def local_objective(table: pa.Table, l2: float):
    rows = ArrowRows(table, n_features=D)

    def fun(theta):
        loss, grad = rows.loss_grad(theta, "logistic")
        loss += 0.5 * l2 * float(theta[1:] @ theta[1:])
        grad[1:] += l2 * theta[1:]
        return loss, grad

    return fun


@pytest.mark.parametrize("l1", [0.0, 3e-3])
def test_spark_iterates_are_the_local_iterates(data, spark_rows, spark_engine, l1):
    from marketing360.models.vlbfgs_spark import SparkSpace

    table, _ = data
    space = SparkSpace(spark_engine.session.sparkContext, D + 1, blocks=3)  # blocks of 167 coordinates
    try:
        fun = spark_rows.objective(space, l2=1e-3)
        got = minimize(fun, space.zeros(), space=space, memory=2, l1=l1, max_iter=3, tol=0, gtol=0,
                       keep_iterates=True)
        want = minimize(local_objective(table, 1e-3), np.zeros(D + 1), space=NumpySpace(), memory=2, l1=l1,
                        max_iter=3, tol=0, gtol=0, keep_iterates=True)
        assert len(got.iterates) == len(want.iterates) == 4
        for it, (a, b) in enumerate(zip(got.iterates, want.iterates)):
            np.testing.assert_allclose(space.to_numpy(a), b, rtol=1e-8, atol=1e-10, err_msg=f"iterate {it}")
        np.testing.assert_allclose(got.history, want.history, rtol=1e-10)
        assert got.scalars_per_iter == want.scalars_per_iter  # the same dot products asked
        if l1:
            assert (space.to_numpy(got.x)[1:] == 0).sum() > 10
    finally:
        space.close()


def test_fit_on_a_spark_dataframe_equals_the_local_fit(data):
    table, sdf = data
    kw = dict(l2=3e-2, num_features=D, memory=4, tol=1e-7, gtol=1e-6, weight="w")
    local = SparseLogisticRegression(**kw).fit(table)
    spark = SparseLogisticRegression(**kw).fit(sdf)
    assert spark.n_iter_ == local.n_iter_ and spark.converged_ and local.converged_
    assert np.abs(spark.coef_ - local.coef_).max() <= 1e-6 * np.abs(local.coef_).max()
    assert spark.intercept_ == pytest.approx(local.intercept_, rel=1e-6, abs=1e-9)
    assert spark.objective_ == pytest.approx(local.objective_, rel=1e-10)
    assert spark.coef_.shape == (D,) and spark.n_features_in_ == D
    # O(m) scalars per iteration: the optimiser's dot products as locally, plus a loss and two norms per evaluation
    m = kw["memory"]
    assert spark.scalars_per_iter_ == local.scalars_per_iter_ <= 6 * m + 10
    assert spark.driver_scalars_per_iter_ <= 6 * m + 10


def test_lasso_on_spark_follows_the_local_path(spark_engine):
    table = hashed(1, n=1000, d=200, linear=True)
    sdf = spark_engine.session.createDataFrame(table)
    kw = dict(l1=2e-3, num_features=200, memory=2, max_iter=3)
    local = SparseLinearRegression(**kw).fit(table)
    spark = SparseLinearRegression(**kw).fit(sdf)
    np.testing.assert_allclose(spark.coef_, local.coef_, rtol=1e-8, atol=1e-10)
    assert set(np.flatnonzero(spark.coef_ == 0)) == set(np.flatnonzero(local.coef_ == 0))


def test_scalars_per_iteration_do_not_grow_with_the_number_of_features(data):
    table, sdf = data
    kw = dict(l2=1e-2, num_features=100 * D, memory=2, max_iter=3, tol=0, gtol=0)
    spark = SparseLogisticRegression(**kw).fit(sdf)  # a model of 50,001 coordinates; 500 in the test above
    local = SparseLogisticRegression(**kw).fit(table)
    assert spark.coef_.shape == (100 * D,)
    assert spark.scalars_per_iter_ == local.scalars_per_iter_ <= 6 * 2 + 10
    assert spark.driver_scalars_per_iter_ <= 6 * 2 + 10


def test_bad_input_gives_the_local_messages(spark_engine):
    session = spark_engine.session
    good = hashed(2, n=60, d=20)
    sdf = session.createDataFrame(good)
    with pytest.raises(SchemaError, match=r"lacks column\(s\) \['label'\]"):
        SparseLogisticRegression().fit(sdf.drop("label"))
    with pytest.raises(SchemaError, match=r"column 'label' must be numeric; found string"):
        SparseLogisticRegression().fit(sdf.withColumn("label", sdf["label"].cast("string")))
    with pytest.raises(SchemaError, match="'features_index' must hold lists of integers"):
        SparseLogisticRegression().fit(sdf.withColumn("features_index", sdf["label"]))
    with pytest.raises(ParameterError, match="name the label and weight columns"):
        SparseLogisticRegression().fit(sdf, np.zeros(60))
    bad = good.set_column(0, "label", pa.array(np.where(good["label"].to_numpy() == 1, 2.0, 0.0)))
    with pytest.raises(SchemaError, match=r"labels in \{0, 1\}; found \[2.0\]"):
        SparseLogisticRegression().fit(session.createDataFrame(bad))
    one = good.set_column(0, "label", pa.array(np.zeros(60)))
    with pytest.raises(ParameterError, match="one class only"):
        SparseLogisticRegression().fit(session.createDataFrame(one))
    with pytest.raises(SchemaError, match="feature index 4 is beyond num_features = 4"):
        SparseLogisticRegression(num_features=4).fit(session.createDataFrame(
            pa.table({"label": [0.0, 1.0], "features_index": [[0], [4]], "features_value": [[1.0], [1.0]]})))
    with pytest.raises(SchemaError, match="sample weights must be finite and >= 0"):
        SparseLogisticRegression(weight="w").fit(sdf.withColumn("w", -sdf["w"]))
    with pytest.raises(ParameterError, match="l2 must be a finite number >= 0"):
        SparseLogisticRegression(l2=-1.0).fit(sdf)
    fitted = SparseLogisticRegression(l2=1e-2, max_iter=2).fit(good)
    with pytest.raises(ParameterError, match="scoring a Spark DataFrame is not available yet"):
        fitted.predict_proba(sdf)
