"""Vector-free L-BFGS (Chen, Wang & Zhou, NIPS 2014) and its OWL-QN variant for L1 (Andrew & Gao, ICML 2007).

L-BFGS's two-loop recursion touches its ``2m + 1`` vectors (the last ``m``
steps ``s``, gradient changes ``y`` and the gradient ``g``) only through
their dot products and one final linear combination. Written on the
``(2m+1) x (2m+1)`` matrix of those dot products, the recursion runs on
scalars alone: where the vectors are split over machines, each iteration
ships ``O(m)`` new dot products to the driver and a ``2m + 1`` coefficient
vector back, never the model. The optimiser here works on any
:class:`VectorSpace` (numpy arrays locally; blocks on Spark), so the same
iterates come out wherever the vectors live.

Examples
--------
>>> import numpy as np
>>> a = np.diag([1.0, 10.0, 100.0])
>>> res = minimize(lambda x: (0.5 * x @ a @ x - x.sum(), a @ x - 1), np.zeros(3), space=NumpySpace(), memory=5)
>>> np.round(res.x, 6).tolist(), res.converged
([1.0, 0.1, 0.01], True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..errors import Marketing360Error, ParameterError

__all__ = ["two_loop_coefficients", "minimize", "VectorSpace", "NumpySpace", "OptimizeResult"]


def two_loop_coefficients(gram: np.ndarray, k: int) -> np.ndarray:
    """The L-BFGS direction ``d = -H g`` as coefficients over the basis ``[s_0..s_{k-1}, y_0..y_{k-1}, g]``.

    ``gram`` is the ``(2k+1) x (2k+1)`` matrix of dot products of the basis
    (oldest pair first). The two loops of Nocedal's recursion run on the
    coefficients: a dot product with the current direction is the
    coefficients times a column of ``gram``. With ``k = 0`` the direction is
    ``-g``. Equal, in exact arithmetic, to the vector recursion.

    Examples
    --------
    >>> s, y, g = np.array([1.0, 0.0]), np.array([2.0, 0.0]), np.array([4.0, 2.0])
    >>> basis = np.array([s, y, g])
    >>> delta = two_loop_coefficients(basis @ basis.T, 1)
    >>> (delta @ basis).tolist()   # H scales by s.y / y.y = 0.5 and solves along s exactly
    [-2.0, -1.0]
    """
    n = 2 * k + 1
    if gram.shape != (n, n):
        raise ParameterError(f"gram must be {n} x {n} for {k} pairs; found {gram.shape}")
    delta = np.zeros(n)
    delta[2 * k] = -1.0
    alpha = np.zeros(k)
    for i in range(k - 1, -1, -1):
        alpha[i] = (delta @ gram[:, i]) / gram[i, k + i]
        delta[k + i] -= alpha[i]
    if k:
        delta *= gram[k - 1, 2 * k - 1] / gram[2 * k - 1, 2 * k - 1]
    for i in range(k):
        beta = (delta @ gram[:, k + i]) / gram[i, k + i]
        delta[i] += alpha[i] - beta
    return delta


class VectorSpace(Protocol):
    """The vector operations the optimiser needs; vectors are opaque to it."""

    def dot(self, a: Any, b: Any) -> float: ...

    def dots(self, a: Any, others: list[Any]) -> np.ndarray:
        """``[a . o for o in others]`` (one pass where the vectors are distributed)."""
        ...

    def cross_dots(self, left: list[Any], right: list[Any]) -> np.ndarray:
        """The matrix ``[[l . r for r in right] for l in left]`` (one pass)."""
        ...

    def combine(self, coefs: np.ndarray, vectors: list[Any]) -> Any:
        """``sum(c * v)``."""
        ...

    def axpy(self, t: float, d: Any, x: Any) -> Any:
        """``x + t * d``."""
        ...

    def sub(self, a: Any, b: Any) -> Any: ...

    def pseudo_gradient(self, x: Any, g: Any, l1: float) -> Any:
        """OWL-QN's pseudo-gradient of ``f + l1 * |x[1:]|_1`` (coordinate 0, the intercept, is not penalised)."""
        ...

    def align(self, d: Any, pg: Any) -> Any:
        """``d`` with the coordinates whose sign differs from ``-pg`` set to 0 (OWL-QN)."""
        ...

    def project(self, x_new: Any, x: Any, pg: Any) -> Any:
        """``x_new`` with coordinates that left the orthant of ``x`` (or of ``-pg`` where ``x`` is 0) set to 0."""
        ...

    def l1_norm(self, x: Any) -> float:
        """``|x[1:]|_1``."""
        ...



class NumpySpace:
    """Vectors as numpy float64 arrays in this process."""

    def dot(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(a @ b)

    def dots(self, a: np.ndarray, others: list[np.ndarray]) -> np.ndarray:
        return np.array([float(a @ o) for o in others])

    def cross_dots(self, left: list[np.ndarray], right: list[np.ndarray]) -> np.ndarray:
        return np.array([[float(a @ b) for b in right] for a in left])

    def combine(self, coefs: np.ndarray, vectors: list[np.ndarray]) -> np.ndarray:
        out = coefs[0] * vectors[0]
        for c, v in zip(coefs[1:], vectors[1:]):
            if c:
                out += c * v
        return out

    def axpy(self, t: float, d: np.ndarray, x: np.ndarray) -> np.ndarray:
        return x + t * d

    def sub(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a - b

    def pseudo_gradient(self, x: np.ndarray, g: np.ndarray, l1: float) -> np.ndarray:
        pg = g.copy()
        w, gw = x[1:], g[1:]
        right, left = gw + l1, gw - l1
        pg[1:] = np.where(w > 0, right, np.where(w < 0, left, np.where(left > 0, left, np.where(right < 0, right,
                                                                                             0.0))))
        return pg

    def align(self, d: np.ndarray, pg: np.ndarray) -> np.ndarray:
        return np.where(d * pg < 0, d, 0.0)

    def project(self, x_new: np.ndarray, x: np.ndarray, pg: np.ndarray) -> np.ndarray:
        orthant = np.where(x != 0, np.sign(x), -np.sign(pg))
        out = np.where(np.sign(x_new) == orthant, x_new, 0.0)
        out[0] = x_new[0]
        return out

    def l1_norm(self, x: np.ndarray) -> float:
        return float(np.abs(x[1:]).sum())



@dataclass
class OptimizeResult:
    """What :func:`minimize` found: the point, the objective (with the L1 term), and how it got there."""

    x: Any
    fun: float
    converged: bool
    n_iter: int
    n_evals: int
    message: str
    history: list[float] = field(default_factory=list)
    #: scalars the driver received from the vector space per iteration (dot products), for the traffic claim
    scalars_per_iter: float = 0.0
    #: the iterates, when asked (``keep_iterates=True``)
    iterates: list[Any] = field(default_factory=list)


class _Counting:
    """Counts the dot products the optimiser asks for (each is one scalar shipped to the driver)."""

    def __init__(self, space: Any) -> None:
        self.space = space
        self.scalars = 0

    def dot(self, a: Any, b: Any) -> float:
        self.scalars += 1
        return float(self.space.dot(a, b))

    def dots(self, a: Any, others: list[Any]) -> np.ndarray:
        self.scalars += len(others)
        return np.asarray(self.space.dots(a, others), dtype=float)

    def cross_dots(self, left: list[Any], right: list[Any]) -> np.ndarray:
        self.scalars += len(left) * len(right)
        return np.asarray(self.space.cross_dots(left, right), dtype=float)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.space, name)


def minimize(fun: Callable[[Any], tuple[float, Any]], x0: Any, *, space: Any, memory: int = 10, l1: float = 0.0,
             max_iter: int = 200, tol: float = 1e-10, gtol: float = 1e-8, max_evals: int | None = None,
             keep_iterates: bool = False, callback: Callable[[int, float], None] | None = None) -> OptimizeResult:
    """Minimise ``fun(x) + l1 * |x[1:]|_1`` with vector-free L-BFGS (OWL-QN when ``l1 > 0``).

    Parameters
    ----------
    fun : callable
        ``x -> (f(x), grad f(x))`` of the smooth part (one pass over the data).
    x0 : vector
        The start, in ``space``.
    space : VectorSpace
        Where the vectors live (:class:`NumpySpace` in this process).
    memory : int
        Pairs ``(s, y)`` kept (``m``).
    l1 : float
        L1 penalty on every coordinate but the first (the intercept).
    max_iter, max_evals : int
        Iterations and evaluations of ``fun`` allowed.
    tol : float
        Stop when the objective falls by less than ``tol * max(|f|, |f_new|, 1)``.
    gtol : float
        Stop when the (pseudo-)gradient's Euclidean norm is below ``gtol``.

    Notes
    -----
    The step satisfies the weak Wolfe conditions (bisection of Lewis & Overton)
    without L1, so every stored pair has ``s . y > 0``; with L1 it is OWL-QN's
    backtracking on the orthant. The first step is scaled to length 1.
    """
    if not isinstance(memory, int) or memory < 1:
        raise ParameterError(f"memory must be an integer >= 1; found {memory!r}")
    if not l1 >= 0:
        raise ParameterError(f"l1 must be >= 0; found {l1!r}")
    sp = _Counting(space)
    max_evals = max_evals or 20 * max_iter
    x = x0
    f, g = fun(x)
    evals = 1
    obj = f + l1 * sp.l1_norm(x) if l1 else f
    ss: list[Any] = []
    ys: list[Any] = []
    # the gram matrix of [s_0..s_{k-1}, y_0..y_{k-1}] (k = len(ss)), kept across iterations
    sy_gram = np.zeros((0, 0))
    history = [obj]
    iterates = [x] if keep_iterates else []
    message, converged, it = "maximum iterations reached", False, 0
    scalars_start = 0
    for it in range(1, max_iter + 1):
        if it == 2:
            scalars_start = sp.scalars
        pg = sp.pseudo_gradient(x, g, l1) if l1 else g
        k = len(ss)
        basis = [*ss, *ys, pg]
        gram = np.zeros((2 * k + 1, 2 * k + 1))
        gram[:2 * k, :2 * k] = sy_gram
        gdots = sp.dots(pg, basis)
        if np.sqrt(gdots[-1]) < gtol:  # |pg|, from the dot products the recursion needs anyway
            message, converged, it = "gradient below gtol", True, it - 1
            break
        gram[2 * k, :] = gdots
        gram[:, 2 * k] = gdots
        delta = two_loop_coefficients(gram, k)
        if k == 0:  # first step (or after a reset): length 1 along -g
            delta = delta / np.sqrt(gram[0, 0])
        d = sp.combine(delta, basis)
        if l1:
            d = sp.align(d, pg)
        dg = float(delta @ gdots) if not l1 else sp.dot(d, pg)
        if not dg < 0:  # not a descent direction (rounding): forget the memory, go down the gradient
            ss, ys, sy_gram = [], [], np.zeros((0, 0))
            d = sp.combine(np.array([-1.0 / np.sqrt(gram[2 * k, 2 * k])]), [pg])
            dg = -float(np.sqrt(gram[2 * k, 2 * k]))
            if not dg < 0:
                message, converged = "no descent direction", True
                break
        if l1:
            step = _backtrack_orthant(fun, sp, x, d, pg, obj, l1)
        else:
            step = _weak_wolfe(fun, sp, x, d, f, dg)
        if step is None:
            message = "line search failed"
            break
        x_new, f_new, g_new, n = step
        evals += n
        obj_new = f_new + l1 * sp.l1_norm(x_new) if l1 else f_new
        s, y = sp.sub(x_new, x), sp.sub(g_new, g)
        # new dot products: s and y against the kept pairs and each other (O(m) scalars)
        kept_s, kept_y = (ss[1:], ys[1:]) if len(ss) == memory else (ss, ys)
        old = [*kept_s, *kept_y]
        both = sp.cross_dots([s, y], [*old, s, y])  # one pass: s and y against the kept pairs and each other
        s_dots, y_dots = both[0], np.r_[both[1][:len(old)], both[1][-1]]
        sy = s_dots[-1]
        x, f, g, obj_old, obj = x_new, f_new, g_new, obj, obj_new
        history.append(obj)
        if keep_iterates:
            iterates.append(x)
        if callback is not None:
            callback(it, obj)
        if sy > 1e-12 * float(np.sqrt(s_dots[-2] * y_dots[-1])):
            drop = len(ss) == memory
            if drop:
                ss, ys = ss[1:], ys[1:]
                keep = [i for i in range(2 * memory) if i not in (0, memory)]
                sy_gram = sy_gram[np.ix_(keep, keep)]
            kk = len(ss)
            new = np.zeros((2 * kk + 2, 2 * kk + 2))
            idx_old = [*range(kk), *range(kk + 1, 2 * kk + 1)]
            new[np.ix_(idx_old, idx_old)] = sy_gram
            srow = np.r_[s_dots[:kk], s_dots[-2], s_dots[kk:2 * kk], s_dots[-1]]
            yrow = np.r_[y_dots[:kk], s_dots[-1], y_dots[kk:2 * kk], y_dots[-1]]
            new[kk, :], new[:, kk] = srow, srow
            new[2 * kk + 1, :], new[:, 2 * kk + 1] = yrow, yrow
            ss, ys, sy_gram = [*ss, s], [*ys, y], new
        if abs(obj_old - obj) <= tol * max(abs(obj_old), abs(obj), 1.0):
            message, converged = "objective change below tol", True
            break
        if evals >= max_evals:
            message = "maximum evaluations reached"
            break
    if not np.isfinite(obj):
        raise Marketing360Error("the optimisation diverged (the objective is not finite)")
    n_it = max(it - 1, 1)
    return OptimizeResult(x=x, fun=float(obj), converged=converged, n_iter=it, n_evals=evals, message=message,
                          history=history, scalars_per_iter=(sp.scalars - scalars_start) / n_it,
                          iterates=iterates)


def _weak_wolfe(fun: Callable[[Any], tuple[float, Any]], sp: Any, x: Any, d: Any, f: float, dg: float,
                c1: float = 1e-4, c2: float = 0.9, max_tries: int = 60) -> tuple[Any, float, Any, int] | None:
    """A step satisfying the weak Wolfe conditions, by bracketing and bisection (Lewis & Overton 2013)."""
    lo, hi, t = 0.0, np.inf, 1.0
    for n in range(1, max_tries + 1):
        x_t = sp.axpy(t, d, x)
        f_t, g_t = fun(x_t)
        if not np.isfinite(f_t) or f_t > f + c1 * t * dg:
            hi = t
        elif sp.dot(g_t, d) < c2 * dg:
            lo = t
        else:
            return x_t, float(f_t), g_t, n
        t = (lo + hi) / 2 if np.isfinite(hi) else 2 * lo
    return None


def _backtrack_orthant(fun: Callable[[Any], tuple[float, Any]], sp: Any, x: Any, d: Any, pg: Any, obj: float,
                       l1: float, c1: float = 1e-4, max_tries: int = 60) -> tuple[Any, float, Any, int] | None:
    """OWL-QN's step: halve until the point projected on the orthant decreases the objective enough."""
    t = 1.0
    for n in range(1, max_tries + 1):
        x_t = sp.project(sp.axpy(t, d, x), x, pg)
        f_t, g_t = fun(x_t)
        obj_t = f_t + l1 * sp.l1_norm(x_t)
        if np.isfinite(obj_t) and obj_t <= obj + c1 * sp.dot(pg, sp.sub(x_t, x)):
            return x_t, float(f_t), g_t, n
        t /= 2
    return None
