"""Linear and logistic regression on hashed sparse features, trained with vector-free L-BFGS (OWL-QN for L1).

The objective is Spark ML's (with ``standardization=False``)::

    sum_i w_i loss(y_i, b + x_i . coef) / sum_i w_i  +  l2 / 2 |coef|^2  +  l1 |coef|_1

with the logistic loss (labels 0 / 1) or half the squared error; the
intercept ``b`` is not penalised. scikit-learn's ``LogisticRegression(C=)``
is the same problem with ``l2 = 1 / (C * n)``; ``Lasso(alpha=)`` with
``l1 = alpha``.

Examples
--------
>>> import numpy as np
>>> x = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
>>> m = SparseLogisticRegression(l2=0.0).fit(x, np.array([1, 0, 1, 1]))
>>> np.round(m.predict_proba(x)[:, 1], 4).tolist()
[0.5, 0.5, 1.0, 1.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

from ..errors import ParameterError
from ..estimators import Estimator
from .sparse import Rows, rows_from
from .vlbfgs import NumpySpace, minimize

__all__ = ["SparseLogisticRegression", "SparseLinearRegression"]


class _SparseLinear(Estimator):
    _loss: str = "logistic"

    def __init__(self, *, l2: float = 0.0, l1: float = 0.0, fit_intercept: bool = True,
                 num_features: int | None = None, memory: int = 10, max_iter: int = 500, tol: float = 1e-12,
                 gtol: float = 1e-9, features: str = "features", label: str = "label",
                 weight: str | None = None) -> None:
        self.l2 = l2
        self.l1 = l1
        self.fit_intercept = fit_intercept
        self.num_features = num_features
        self.memory = memory
        self.max_iter = max_iter
        self.tol = tol
        self.gtol = gtol
        self.features = features
        self.label = label
        self.weight = weight

    def _check(self) -> None:
        name = type(self).__name__
        for key in ("l2", "l1"):
            v = getattr(self, key)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v) or v < 0:
                raise ParameterError(f"{name}: {key} must be a finite number >= 0; found {v!r}")
        for key, low in (("memory", 1), ("max_iter", 1)):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                raise ParameterError(f"{name}: {key} must be an integer >= {low}; found {v!r}")
        n = self.num_features
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
            raise ParameterError(f"{name}: num_features must be an integer >= 1 or None; found {n!r}")
        if not isinstance(self.fit_intercept, bool):
            raise ParameterError(f"{name}: fit_intercept must be True or False; found {self.fit_intercept!r}")

    def _rows(self, x: Any, y: Any, sample_weight: Any) -> Rows:
        return rows_from(x, y, sample_weight, features=self.features, label=self.label, weight=self.weight,
                         n_features=self.num_features, loss=self._loss)

    def fit(self, x: Any, y: Any = None, sample_weight: Any = None) -> "_SparseLinear":
        """Fit on a feature matrix (scipy sparse or dense, with ``y``) or on a table of hashed features.

        A table (an Arrow table, a pandas / polars frame, an ibis table, or
        the path of a parquet file or folder, streamed batch by batch) holds
        list columns ``{features}_index`` / ``{features}_value`` (what
        :class:`~marketing360.prep.FeatureHasher` writes), the ``label``
        column and optionally the ``weight`` column.

        A Spark DataFrame in that layout is fitted on Spark
        (:mod:`~marketing360.models.vlbfgs_spark`): the coefficients stay
        split in blocks over the cluster (as many as the context's default
        parallelism), the driver receives ``O(m)`` scalars per iteration and
        the fitted coefficients once, at the end. The iterates are those of
        the local fit (up to rounding).
        """
        self._check()
        if type(x).__module__.startswith("pyspark"):
            if y is not None or sample_weight is not None:
                raise ParameterError("with a table, name the label and weight columns (label=, weight=) instead of "
                                     "passing y / sample_weight")
            return self._fit_spark(x)
        rows = self._rows(x, y, sample_weight)
        if self._loss == "logistic" and len(np.unique(rows.labels)) < 2:
            raise ParameterError(f"{type(self).__name__}: the labels hold one class only; both 0 and 1 are needed")
        l2, intercept = float(self.l2), self.fit_intercept

        def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
            loss, grad = rows.loss_grad(theta, self._loss)
            coef = theta[1:]
            if l2:
                loss += 0.5 * l2 * float(coef @ coef)
                grad[1:] += l2 * coef
            if not intercept:
                grad[0] = 0.0
            return loss, grad

        res = minimize(fun, np.zeros(rows.n_features + 1), space=NumpySpace(), memory=self.memory,
                       l1=float(self.l1), max_iter=self.max_iter, tol=self.tol, gtol=self.gtol)
        return self._store(res, res.x, rows.n_features, res.scalars_per_iter)

    def _fit_spark(self, df: Any) -> "_SparseLinear":
        """Fit on a Spark DataFrame with vector-free L-BFGS on Spark: the model stays split over the cluster.

        The coefficients are split in as many blocks as the context's default
        parallelism; the driver receives ``O(m)`` scalars per iteration and
        the coefficients once, at the end.
        """
        from .vlbfgs_spark import SparkRows, SparkSpace

        rows = SparkRows(df, features=self.features, label=self.label, weight=self.weight,
                         n_features=self.num_features, loss=self._loss)
        space = None
        try:
            if self._loss == "logistic" and len(rows.classes) < 2:
                raise ParameterError(f"{type(self).__name__}: the labels hold one class only; both 0 and 1 are needed")
            space = SparkSpace(rows.sc, rows.n_features + 1)
            fun = rows.objective(space, l2=float(self.l2), fit_intercept=self.fit_intercept)
            res = minimize(fun, space.zeros(), space=space, memory=self.memory, l1=float(self.l1),
                           max_iter=self.max_iter, tol=self.tol, gtol=self.gtol)
            theta = space.to_numpy(res.x)
            self._store(res, theta, rows.n_features, res.scalars_per_iter)
            #: everything the driver received per iteration on Spark (dot products, losses, norms)
            self.driver_scalars_per_iter_ = space.scalars / max(res.n_iter, 1)
            self.spark_jobs_ = space.jobs
            return self
        finally:
            if space is not None:
                space.close()
            rows.close()

    def _store(self, res: Any, theta: np.ndarray, n_features: int, scalars: float) -> "_SparseLinear":
        self.intercept_ = float(theta[0])
        self.coef_ = theta[1:]
        self.n_features_in_ = n_features
        self.n_iter_ = res.n_iter
        self.converged_ = res.converged
        self.objective_ = res.fun
        self.history_ = res.history
        self.scalars_per_iter_ = scalars
        return self

    def decision_function(self, x: Any) -> np.ndarray:
        """``intercept_ + x . coef_`` for a matrix or a table of hashed features."""
        self._check_fitted()
        if type(x).__module__.startswith("pyspark"):
            raise ParameterError(f"{type(self).__name__}: scoring a Spark DataFrame is not available yet; pass "
                                 "engine.to_arrow(table) or the parquet folder, or score it with Spark from coef_ / "
                                 "intercept_")
        if isinstance(x, np.ndarray) or hasattr(x, "tocsr"):
            import scipy.sparse as sp

            m = sp.csr_matrix(x, dtype=np.float64)
            if m.shape[1] != len(self.coef_):
                raise ParameterError(f"x has {m.shape[1]} columns; the model has {len(self.coef_)}")
            return self.intercept_ + np.asarray(m @ self.coef_).ravel()
        rows = rows_from(x, features=self.features, label=None, n_features=len(self.coef_), loss="squared")
        return rows.margins(np.r_[self.intercept_, self.coef_])


class SparseLogisticRegression(_SparseLinear):
    """Logistic regression (labels 0 / 1) on hashed sparse features; L2 and L1 (OWL-QN) penalties.

    Parameters
    ----------
    l2, l1 : float
        Penalties on the coefficients (not the intercept), Spark ML's scale:
        ``regParam * (1 - elasticNetParam)`` and ``regParam * elasticNetParam``.
    fit_intercept : bool
    num_features : int, optional
        Size of the hashed feature space; by default the largest index + 1.
    memory : int
        L-BFGS pairs kept (``m``): each iteration ships ``O(m)`` scalars.
    max_iter, tol, gtol :
        Iterations; relative objective change and (pseudo-)gradient norm to stop at.
    features, label, weight : str
        Column names when fitting on a table.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_, converged_, objective_, history_ :
        Iterations, whether a stopping rule was met, the final objective and its path.
    scalars_per_iter_ : float
        Dot products the optimiser asked of its vectors per iteration (what a
        driver would receive where the vectors are split over machines,
        besides one loss per evaluation).
    driver_scalars_per_iter_, spark_jobs_ :
        Fitted on a Spark DataFrame only: every number the driver received
        per iteration (dot products, plus the loss and the norms of each
        evaluation), and the Spark jobs run.
    """

    _loss = "logistic"

    def predict_proba(self, x: Any) -> np.ndarray:
        """``[P(y=0), P(y=1)]`` per row."""
        p = expit(self.decision_function(x))
        return np.column_stack([1 - p, p])

    def predict(self, x: Any) -> np.ndarray:
        """0 / 1 labels (probability above one half)."""
        return (self.decision_function(x) > 0).astype(int)


class SparseLinearRegression(_SparseLinear):
    """Least squares (half the mean squared error) on hashed sparse features; L2 (ridge) and L1 (lasso).

    Parameters and attributes as :class:`SparseLogisticRegression`.
    """

    _loss = "squared"

    def predict(self, x: Any) -> np.ndarray:
        return self.decision_function(x)

