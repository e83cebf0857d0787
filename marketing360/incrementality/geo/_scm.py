"""The numerics of synthetic control: simplex-constrained weights, ridge augmentation, conformal and placebo tests.

Everything here works on plain arrays: ``x1`` the treated series (the average
of the treated locations, as GeoLift and augsynth average them), ``yc`` the
``periods x donors`` matrix of the donors, ``t0`` the number of pre-periods.
The definitions follow augsynth (Ben-Michael, Feller & Rothstein 2021,
``R/fit_synth.R``, ``R/ridge.R``, ``R/ridge_lambda.R``, ``R/format.R``,
``R/inference.R``) as GeoLift calls it (``R/post_test_analysis.R``):

* SCM weights: ``min ||z - X w||^2`` over ``w >= 0, sum(w) = 1`` on the
  pre-period (``X`` the donors, ``z`` the treated series), after removing
  each location's pre-period mean when ``fixed_effects`` (augsynth's
  ``fixedeff``; the counterfactual then adds the treated mean back);
* ridge augmentation: ``w + (A A' + lambda I)^-1 A r`` with ``A`` the donors
  centred per period, ``r`` the SCM's pre-period residual; ``lambda`` by
  leave-one-period-out cross-validation over 21 values from ``s_max(A)^2``
  down by a factor of 1e8, the largest within one standard error of the best;
* conformal test of a constant effect ``h0`` (Chernozhukov, Wuthrich & Zhu
  2021): subtract ``h0`` from the treated post-period, refit on all periods,
  permute the residuals (``iid`` draws or all ``block`` shifts) and compare the
  statistic of the post-period residuals; intervals invert the test on a grid.

The QP is solved by a primal active-set method (exact, warm-startable); a test
checks it against scipy's SLSQP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg as sla

from ...types import Alternative, ConformalType

__all__ = ["simplex_ls", "ScmFit", "fit_scm", "Refitter", "cv_lambda", "stat_function", "permutation_index",
           "invert", "Inversion", "ConformalTest", "jackknife_plus",
           "jackknife_bounds"]


def simplex_ls(G: np.ndarray, c: np.ndarray, w0: np.ndarray | None = None, *, tol: float = 1e-11) -> np.ndarray:
    """``argmin 0.5 w'Gw - c'w`` over the simplex ``w >= 0, sum(w) = 1`` (``G`` positive semi-definite).

    A primal active-set method: equality-constrained solves on the free set,
    steps to the first blocking bound, and a free index added where its
    multiplier is negative. ``w0`` (a feasible point, e.g. a previous solution)
    warm-starts it.
    """
    n = c.shape[0]
    if n == 1:
        return np.ones(1)
    scale = float(np.trace(G)) / n
    if not np.isfinite(scale) or scale <= 0:
        scale = 1.0
    G = G / scale
    c = c / scale
    if w0 is None:
        w = np.zeros(n)
        w[int(np.argmin(0.5 * np.diag(G) - c))] = 1.0
    else:
        w = np.clip(np.asarray(w0, dtype=float), 0.0, None)
        total = w.sum()
        if total <= 0:
            w = np.full(n, 1.0 / n)
        else:
            w = w / total
    free = w > 0
    for _ in range(20 * n + 100):
        F = np.flatnonzero(free)
        k = F.size
        K = np.empty((k + 1, k + 1))
        K[:k, :k] = G[np.ix_(F, F)]
        K[:k, k] = 1.0
        K[k, :k] = 1.0
        K[k, k] = 0.0
        rhs = np.empty(k + 1)
        rhs[:k] = c[F]
        rhs[k] = 1.0
        try:
            sol = np.linalg.solve(K, rhs)
        except np.linalg.LinAlgError:
            sol = np.linalg.lstsq(K, rhs, rcond=None)[0]
        z = sol[:k]
        mu = sol[k]
        neg = z < -1e-14
        if neg.any():
            wF = w[F]
            ratios = wF[neg] / (wF[neg] - z[neg])
            j = int(np.argmin(ratios))
            t = ratios[j]
            w[F] = wF + t * (z - wF)
            out = F[neg][j]
            w[out] = 0.0
            free[out] = False
            small = free & (w <= 0)
            w[small] = 0.0
            free[small] = False
            if not free.any():  # cannot happen for a consistent system; restart from the best vertex
                w[:] = 0.0
                w[int(np.argmin(0.5 * np.diag(G) - c))] = 1.0
                free = w > 0
            continue
        w[:] = 0.0
        w[F] = np.maximum(z, 0.0)
        if k == n:
            break
        mult = G @ w - c + mu
        mult[F] = np.inf
        j = int(np.argmin(mult))
        if mult[j] >= -tol * (1.0 + abs(mu)):
            break
        free[j] = True
    else:  # pragma: no cover - the method terminates on every problem it has met
        raise RuntimeError("the synthetic control weights did not converge")
    return w / w.sum()


# ---------------------------------------------------------------------------------------------- ridge penalty
def _lambda_grid(A: np.ndarray, n_lambda: int = 20, min_ratio: float = 1e-8) -> np.ndarray:
    """augsynth's lambdas: ``s_max(A)^2 * (min_ratio^(1/n_lambda))^k`` for ``k = 0..n_lambda``."""
    top = float(np.linalg.svd(A, compute_uv=False)[0]) ** 2
    return top * (min_ratio ** (1.0 / n_lambda)) ** np.arange(n_lambda + 1)


def cv_lambda(A: np.ndarray, z: np.ndarray, *, min_1se: bool = True) -> tuple[float, np.ndarray, np.ndarray,
                                                                                    np.ndarray]:
    """Ridge penalty by augsynth's leave-one-period-out cross-validation.

    ``A`` is ``donors x pre-periods`` (centred per period), ``z`` the treated
    pre-period (centred alike). Each fold drops one of the first ``t0 - 1``
    periods, refits the SCM weights, and scores every lambda's augmented
    weights on the dropped period. Returns the chosen lambda, the lambdas,
    the mean squared errors and their standard errors.
    """
    n0, t0 = A.shape
    lambdas = _lambda_grid(A)
    errors = np.empty((t0 - 1, lambdas.size))
    keep = np.ones(t0, dtype=bool)
    w = None
    for i in range(t0 - 1):
        keep[i] = False
        A0 = A[:, keep]
        z0 = z[keep]
        K = A0 @ A0.T
        w = simplex_ls(K, A0 @ z0, w)
        r = z0 - A0.T @ w
        s, U = sla.eigh(K)  # scipy's: numpy's eigh is ~40x slower on these small matrices
        a = U.T @ (A0 @ r)
        ridge = U @ (a[:, None] / (np.clip(s, 0.0, None)[:, None] + lambdas[None, :]))  # donors x lambdas
        pred = A[:, i] @ (w[:, None] + ridge)
        errors[i] = (z[i] - pred) ** 2
        keep[i] = True
    mean = errors.mean(axis=0)
    se = errors.std(axis=0, ddof=1) / np.sqrt(errors.shape[0]) if errors.shape[0] > 1 else np.zeros_like(mean)
    best = int(np.argmin(mean))
    lam = float(lambdas[mean <= mean[best] + se[best]].max()) if min_1se else float(lambdas[best])
    return lam, lambdas, mean, se


# ---------------------------------------------------------------------------------------------- the fit
@dataclass
class ScmFit:
    """One synthetic control fit on ``periods`` (every period of the panel window)."""

    weights: np.ndarray          # donor weights (SCM, plus the ridge adjustment when augmented)
    scm_weights: np.ndarray      # the simplex-constrained part
    observed: np.ndarray         # treated series (average of the treated locations)
    synthetic: np.ndarray        # counterfactual of the treated series
    t0: int
    l2_imbalance: float
    scaled_l2_imbalance: float
    ridge_lambda: float | None = None
    bias: float | None = None    # mean estimated bias over the post-period (ridge only, as augsynth reports it)
    cv: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def att(self) -> np.ndarray:
        return self.observed - self.synthetic

    @property
    def pre_rmse(self) -> float:
        return float(np.sqrt(np.mean(self.att[:self.t0] ** 2)))


def _demean(x1: np.ndarray, yc: np.ndarray, rows: slice | np.ndarray, fixed_effects: bool
            ) -> tuple[np.ndarray, np.ndarray, float]:
    if not fixed_effects:
        return x1, yc, 0.0
    m1 = float(x1[rows].mean())
    return x1 - m1, yc - yc[rows].mean(axis=0), m1


def fit_scm(x1: np.ndarray, yc: np.ndarray, t0: int, *, fixed_effects: bool, ridge: bool,
            lam: float | None = None) -> ScmFit:
    """Fit the (augmented) synthetic control of ``x1`` on the donors ``yc`` over the first ``t0`` periods."""
    x1d, ycd, m1 = _demean(x1, yc, slice(0, t0), fixed_effects)
    X = ycd[:t0]
    z = x1d[:t0]
    syn = simplex_ls(X.T @ X, X.T @ z)
    w = syn
    cv: dict[str, np.ndarray] = {}
    bias = None
    if ridge:
        mbar = X.mean(axis=1)
        A = (X - mbar[:, None]).T
        zc = z - mbar
        if lam is None:
            lam, lambdas, errs, ses = cv_lambda(A, zc)
            cv = {"lambdas": lambdas, "errors": errs, "std_errors": ses}
        r = zc - A.T @ syn
        adj = np.linalg.solve(A @ A.T + lam * np.eye(A.shape[0]), A @ r)
        w = syn + adj
        if ycd.shape[0] > t0:
            bias = float(np.mean(ycd[t0:] @ adj))
    synthetic = m1 + ycd @ w
    l2 = float(np.linalg.norm(X @ w - z))
    uniform = float(np.linalg.norm(X.mean(axis=1) - z))
    scaled = l2 / uniform if uniform > 0 else (0.0 if l2 == 0 else float("inf"))
    return ScmFit(weights=w, scm_weights=syn, observed=x1.copy(), synthetic=synthetic, t0=t0, l2_imbalance=l2,
                  scaled_l2_imbalance=scaled, ridge_lambda=lam if ridge else None, bias=bias, cv=cv)


class Refitter:
    """Residuals of the fit on every period after moving the treated series by ``-h0 * direction``.

    ``direction`` is the post-period indicator for a constant effect ``h0`` (the conformal null), or the
    treated post-period itself for a relative one (a power simulation's injected lift). The donor Gram
    matrix does not change with ``h0`` (only the treated series does), so each refit is one warm-started QP.
    """

    def __init__(self, x1: np.ndarray, yc: np.ndarray, direction: np.ndarray, *, fixed_effects: bool,
                 lam: float | None) -> None:
        d = direction.astype(float)
        if fixed_effects:
            self.z0 = x1 - x1.mean()
            self.d = d - d.mean()
            self.ycd = yc - yc.mean(axis=0)
        else:
            self.z0, self.d, self.ycd = x1.astype(float), d, yc
        self.G = self.ycd.T @ self.ycd
        self.c0 = self.ycd.T @ self.z0
        self.cd = self.ycd.T @ self.d
        self.ridge: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        if lam is not None:
            mbar = self.ycd.mean(axis=1)
            A = (self.ycd - mbar[:, None]).T
            self.ridge = (mbar, A, np.linalg.solve(A @ A.T + lam * np.eye(A.shape[0]), A))
        self._w: np.ndarray | None = None

    def residuals(self, h0: float) -> np.ndarray:
        z = self.z0 - h0 * self.d
        syn = simplex_ls(self.G, self.c0 - h0 * self.cd, self._w)
        self._w = syn
        w = syn
        if self.ridge is not None:
            mbar, A, K = self.ridge
            w = syn + K @ ((z - mbar) - A.T @ syn)
        return z - self.ycd @ w


# ---------------------------------------------------------------------------------------------- conformal tests
def stat_function(alternative: Alternative) -> Callable[[np.ndarray], np.ndarray]:
    """GeoLift's test statistics over the last axis: ``sum(|x|)`` (two-sided), ``sum(x)`` (greater), ``-sum(x)``."""
    if alternative == "two-sided":
        return lambda x: np.abs(x).sum(axis=-1)
    if alternative == "greater":
        return lambda x: x.sum(axis=-1)
    return lambda x: -x.sum(axis=-1)


def permutation_index(n: int, post: int, kind: ConformalType, ns: int, rng: np.random.Generator) -> np.ndarray:
    """Positions the permuted post-period takes: ``ns`` random draws (iid) or the ``n`` cyclic shifts (block)."""
    if kind == "block":
        base = np.arange(n - post, n)
        return (base[None, :] + np.arange(n)[:, None]) % n
    return np.argsort(rng.random((ns, n)), axis=1)[:, n - post:]


def conformal_pvalue(resid: np.ndarray, post_idx: np.ndarray, perms: np.ndarray,
                     stat: Callable[[np.ndarray], np.ndarray]) -> float:
    """Share of permutations whose statistic is at least the observed one (the observed counts when drawn)."""
    obs = stat(resid[post_idx])
    perm = stat(resid[perms])
    slack = 1e-9 * (1.0 + abs(float(obs)))
    return float(np.mean(perm >= obs - slack))


class ConformalTest:
    """The conformal p-value of a constant effect ``h0``: refit, permute the residuals, compare the statistic.

    A callable object (not a closure) so that a result can keep it, and pickle it, to invert the test again at
    another level.
    """

    def __init__(self, refit: Refitter, post_idx: np.ndarray, perms: np.ndarray, alternative: Alternative) -> None:
        self.refit = refit
        self.post_idx = post_idx
        self.perms = perms
        self.alternative: Alternative = alternative

    def __call__(self, h0: float) -> float:
        return conformal_pvalue(self.refit.residuals(h0), self.post_idx, self.perms, stat_function(self.alternative))


@dataclass
class Inversion:
    """A confidence set found by inverting a test over a grid of constant effects.

    ``grid`` / ``pvalues`` are every point tested before refining (GeoLift's grid, its widenings and 0);
    ``test`` is the p-value function, kept to invert the same test at another level.
    """

    grid: np.ndarray
    pvalues: np.ndarray
    lower: float
    upper: float
    alpha: float
    open_low: bool = False    # a one-sided test that never rejects small effects ("less")
    open_high: bool = False   # ... or large ones ("greater")
    test: Callable[[float], float] | None = field(default=None, repr=False)
    step: float = float("nan")    # spacing of the regular grid (widenings step twice as far)
    size: int = 0                 # points of the regular grid
    refine: int = 12              # bisection steps at each edge
    _other: dict[float, tuple[float, float]] = field(default_factory=dict, repr=False)

    def at(self, alpha: float) -> tuple[float, float]:
        """Bounds at level ``alpha``: those found at the level inverted; at another level the same test inverted
        again (the grid's p-values reused, the grid widened while the set reaches its edge, each edge refined by
        bisection); NaN when no effect is accepted. Without the test, the extreme accepted grid points."""
        if np.isclose(alpha, self.alpha):
            return self.lower, self.upper
        if self.test is None:
            lo, hi = self.grid_bounds(alpha)
            if self.open_low and lo == self.grid.min():
                lo = -np.inf
            if self.open_high and hi == self.grid.max():
                hi = np.inf
            return lo, hi
        key = round(float(alpha), 12)
        if key not in self._other:
            grid, ps = _widen(self.test, self.grid, self.pvalues, self.step, self.size, alpha,
                              not self.open_low, not self.open_high)
            self._other[key] = _refine(self.test, grid, ps, alpha, self.refine)
        return self._other[key]

    def grid_bounds(self, alpha: float) -> tuple[float, float]:
        """The smallest and largest grid point whose p-value is at least ``alpha`` (GeoLift's ``ConfIntervals``)."""
        ok = self.pvalues >= alpha
        if not ok.any():
            return float("nan"), float("nan")
        return float(self.grid[ok].min()), float(self.grid[ok].max())


def _widen(pvalue: Callable[[float], float], grid: np.ndarray, ps: np.ndarray, step: float, size: int, alpha: float,
           close_low: bool, close_high: bool, max_widen: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Add ``size // 2`` points (twice ``step`` apart) beyond each closing edge the accepted set reaches, up to
    ``max_widen`` times."""
    for _ in range(max_widen):
        ok = ps >= alpha
        widen_lo = bool(ok[0]) and close_low
        widen_hi = bool(ok[-1]) and close_high
        if not (widen_lo or widen_hi):
            break
        extra_lo = grid[0] - 2 * step * np.arange(size // 2, 0, -1) if widen_lo else np.empty(0)
        extra_hi = grid[-1] + 2 * step * np.arange(1, size // 2 + 1) if widen_hi else np.empty(0)
        p_lo = np.array([pvalue(float(h)) for h in extra_lo])
        p_hi = np.array([pvalue(float(h)) for h in extra_hi])
        grid = np.concatenate([extra_lo, grid, extra_hi])
        ps = np.concatenate([p_lo, ps, p_hi])
    return grid, ps


def _refine(pvalue: Callable[[float], float], grid: np.ndarray, ps: np.ndarray, alpha: float,
            refine: int) -> tuple[float, float]:
    """The accepted set's ends: the extreme accepted grid points, each moved by bisection towards the rejected
    neighbour. An end still at the (widened) grid's edge is infinite: the test rejected no effect that far out on
    that side, so no finite bound was found (reporting the grid's edge would pass the search range for a bound)."""
    ok = ps >= alpha
    if not ok.any():
        return float("nan"), float("nan")
    i_lo = int(np.flatnonzero(ok)[0])
    i_hi = int(np.flatnonzero(ok)[-1])
    lower = float(grid[i_lo])
    upper = float(grid[i_hi])
    if i_lo == 0:
        lower = -np.inf
    else:
        a, b = float(grid[i_lo - 1]), lower  # rejected, accepted
        for _ in range(refine):
            m = 0.5 * (a + b)
            if pvalue(m) >= alpha:
                b = m
            else:
                a = m
        lower = b
    if i_hi == grid.size - 1:
        upper = np.inf
    else:
        a, b = upper, float(grid[i_hi + 1])  # accepted, rejected
        for _ in range(refine):
            m = 0.5 * (a + b)
            if pvalue(m) >= alpha:
                a = m
            else:
                b = m
        upper = a
    return lower, upper


def invert(pvalue: Callable[[float], float], center: float, half_width: float, size: int, alpha: float,
           alternative: Alternative, *, refine: int = 12, max_widen: int = 4) -> Inversion:
    """The set ``{h0 : p(h0) >= alpha}``: a grid of ``size`` points ``center +- half_width`` (and 0, as GeoLift adds),
    widened while the set touches a finite edge, then each edge refined by bisection.

    The side a one-sided test cannot reject (above for ``greater``, below for ``less``) is open: its bound is
    infinite once the set reaches the grid's edge there. A closing side whose edge is still accepted after the
    widening is infinite too (the test has no power that far: a long test period against a short pre-period
    does that), never the grid's edge.

    Examples
    --------
    >>> lo, hi = invert(lambda h: float(abs(h - 1.0) < 2.0), center=1.0, half_width=5.0, size=51,
    ...                 alpha=0.05, alternative="two-sided").at(0.05)
    >>> round(lo, 3), round(hi, 3)
    (-1.0, 3.0)
    >>> invert(lambda h: 0.5, center=0.0, half_width=1.0, size=21, alpha=0.05, alternative="two-sided").at(0.05)
    (-inf, inf)
    """
    if not np.isfinite(half_width) or half_width <= 0:
        half_width = max(abs(center), 1.0)
    grid = np.linspace(center - half_width, center + half_width, size)
    step = float(grid[1] - grid[0])
    ps = np.array([pvalue(float(h)) for h in grid])
    # a two-sided test rejects far on both sides; "greater" only below (large effects are never rejected), "less"
    # only above: widen the grid on the closing sides while the accepted set reaches their edge
    close_low = alternative in ("two-sided", "greater")
    close_high = alternative in ("two-sided", "less")
    grid, ps = _widen(pvalue, grid, ps, step, size, alpha, close_low, close_high, max_widen)
    p0 = pvalue(0.0)
    order = np.argsort(np.append(grid, 0.0), kind="stable")
    grid = np.append(grid, 0.0)[order]
    ps = np.append(ps, p0)[order]
    lower, upper = _refine(pvalue, grid, ps, alpha, refine)
    return Inversion(grid, ps, lower, upper, alpha, not close_low, not close_high, test=pvalue, step=step, size=size,
                     refine=refine)


def jackknife_plus(x1: np.ndarray, yc: np.ndarray, t0: int, *, fixed_effects: bool, lam: float | None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """augsynth's time jackknife+: leave each pre-period out, refit, and record the held-out error.

    Returns ``errors`` (``t0``) and the counterfactuals ``estimates`` (``t0 x (post + 1)``: each post-period,
    then their mean) of each refit; :func:`jackknife_bounds` turns them into ATT bounds.
    """
    n = x1.shape[0]
    post = np.arange(t0, n)
    errors = np.empty(t0)
    estimates = np.empty((t0, post.size + 1))
    w = None
    for i in range(t0):
        rows = np.r_[np.arange(i), np.arange(i + 1, t0)]
        x1d, ycd, m1 = _demean(x1, yc, rows, fixed_effects)
        X = ycd[rows]
        z = x1d[rows]
        syn = simplex_ls(X.T @ X, X.T @ z, w)
        w = syn
        weights = syn
        if lam is not None:
            mbar = X.mean(axis=1)
            A = (X - mbar[:, None]).T
            weights = syn + np.linalg.solve(A @ A.T + lam * np.eye(A.shape[0]), A @ ((z - mbar) - A.T @ syn))
        cf = m1 + ycd @ weights
        errors[i] = x1[i] - cf[i]
        estimates[i, :-1] = cf[post]
        estimates[i, -1] = cf[post].mean()
    return errors, estimates


def jackknife_bounds(observed_post: np.ndarray, errors: np.ndarray, estimates: np.ndarray, alpha: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """ATT bounds (each post-period, then the average) from :func:`jackknife_plus` at level ``alpha``."""
    y1 = np.append(observed_post, observed_post.mean())
    e = np.abs(errors)[:, None]
    lb = np.quantile(estimates - e, alpha / 2, axis=0)
    ub = np.quantile(estimates + e, 1 - alpha / 2, axis=0)
    return y1 - ub, y1 - lb
