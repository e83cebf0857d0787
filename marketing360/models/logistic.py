"""Weighted, L2-penalised logistic regression on sparse features, fitted with L-BFGS.

Examples
--------
>>> import numpy as np
>>> from marketing360.models import fit_logistic
>>> x = np.array([[0.0], [1.0], [0.0], [1.0]])
>>> fit = fit_logistic(x, np.array([0, 1, 1, 0]), np.array([3.0, 3.0, 1.0, 1.0]), l2=0.0)
>>> round(float(fit.predict(np.array([[0.0], [1.0]]))[0]), 4), round(float(fit.predict(np.array([[1.0]]))[0]), 4)
(0.25, 0.75)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import expit, log1p

from ..errors import Marketing360Error, ParameterError

__all__ = ["fit_logistic", "LogisticFit"]


@dataclass
class LogisticFit:
    """``P(y = 1 | x) = expit(intercept + x @ coef)``."""

    intercept: float
    coef: np.ndarray
    converged: bool

    def predict(self, x: Any) -> np.ndarray:
        return expit(self.intercept + np.asarray(x @ self.coef).ravel())


def fit_logistic(x: Any, y: np.ndarray, w: np.ndarray | None = None, *, l2: float = 1e-3,
                 max_iter: int = 500) -> LogisticFit:
    """Minimise the weighted log loss / sum(w) + l2/2 * |coef|^2 (the intercept is not penalised).

    Parameters
    ----------
    x : array or sparse matrix, shape (n, k)
    y : array of 0/1, shape (n,)
    w : array, shape (n,), optional
        Sample weights (counts); ones by default.
    l2 : float
        Ridge penalty (>= 0).
    """
    xs = sp.csr_matrix(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, k = xs.shape
    w = np.ones(n) if w is None else np.asarray(w, dtype=float)
    if len(y) != n or len(w) != n:
        raise ParameterError(f"x has {n} rows but y has {len(y)} and w {len(w)}")
    if not l2 >= 0:
        raise ParameterError(f"l2 must be >= 0; found {l2!r}")
    if not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise ParameterError("sample weights must be >= 0 with a positive sum")
    if sp.issparse(xs) and not np.all(np.isfinite(xs.data)):
        raise ParameterError("x holds NaN or infinite values")
    if not set(np.unique(y[w > 0])) <= {0.0, 1.0}:
        raise ParameterError("y must hold 0 and 1 only")
    if len(np.unique(y[w > 0])) < 2:
        raise ParameterError("logistic regression needs both outcomes (y = 0 and y = 1) with positive weight")
    sw = w / w.sum()
    xt = xs.T.tocsr()

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] + xs @ theta[1:]
        # log(1 + e^z) - y z, stable for large |z|
        f = np.where(z > 0, z + log1p(np.exp(-z)), log1p(np.exp(z))) - y * z
        r = (expit(z) - y) * sw
        grad = np.r_[r.sum(), xt @ r + l2 * theta[1:]]
        return float(sw @ f + 0.5 * l2 * theta[1:] @ theta[1:]), grad

    res = minimize(loss, np.zeros(k + 1), jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "gtol": 1e-10, "ftol": 1e-14})
    if not np.all(np.isfinite(res.x)):
        raise Marketing360Error("logistic regression diverged (perfect separation without a penalty?)")
    return LogisticFit(float(res.x[0]), res.x[1:].copy(), bool(res.success))
