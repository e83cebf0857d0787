"""The numerical core of the marketing-mix model: the parameter layout, the prediction and its Jacobian, the fit.

Everything here works in scaled units: each geo's outcome and spend divided
by its size (per capita), the outcome by its mean, each channel's spend by
its mean positive value. The model of a period ``t`` and geo ``g`` is

``y[t, g] = a_g + Z[t, g] @ b + sum_c beta_c * sat_c(adstock_c(x[:, g, c]))[t] + e[t, g]``

with ``a_g`` an intercept per geo, ``Z`` the rest of the baseline (a trend,
yearly Fourier terms, the controls), ``beta_c >= 0``, and ``e`` independent
with a common variance. The intercepts are absorbed (every series is
centred on its geo's mean, which leaves the other estimates and their
covariance unchanged) and recovered after the fit. It is fitted by
non-linear least squares with the exact Jacobian
(Levenberg-Marquardt on the normal equations, bounds kept by an active set),
started from the best of several random draws of the adstock and saturation
parameters, each with its linear part solved exactly. Lift tests enter as
extra residuals ``sigma * (model lift - measured lift) / std_error`` — the
likelihood of the measured lift next to that of the data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from .transforms import (
    ADSTOCK_PARAMS,
    SATURATION_PARAMS,
    adstock,
    adstock_weight_grads,
    adstock_weights,
    saturation,
    saturation_grad,
)

__all__ = ["Spec", "MediaModel", "Lift", "fit_model", "Solution"]


@dataclass(frozen=True)
class Spec:
    """The media transformations: adstock and saturation kinds, the lags and whether weights sum to 1."""

    adstock: str
    saturation: str
    l_max: int
    normalize: bool

    @property
    def phi_names(self) -> tuple[str, ...]:
        return ADSTOCK_PARAMS[self.adstock] + SATURATION_PARAMS[self.saturation]


#: bounds of the adstock and saturation parameters in scaled units (spend in units of its mean positive value)
_PHI_BOUNDS: dict[str, tuple[float, float]] = {
    "theta": (0.0, 0.99), "shape": (0.2, 10.0), "half": (0.1, 10.0), "slope": (0.5, 3.0), "lam": (0.05, 20.0),
}


def _scale_bounds(l_max: int) -> tuple[float, float]:
    return 0.2, 3.0 * l_max


@dataclass
class Lift:
    """A lift test in the model's terms: its channel, the periods and geos it ran in, the spend it added there
    (scaled units; business as usual is the observed spend minus it), and the measured lift with its standard
    error (original units)."""

    channel: int
    t0: int
    t1: int  # last period of the window, inclusive
    geos: np.ndarray  # boolean (G,)
    delta: np.ndarray  # (t1 - t0 + 1, geos in the test): scaled spend the test added
    lift: float
    std_error: float
    label: str = ""


@dataclass
class Solution:
    """The fitted parameters, their covariance (scaled units) and the fit's statistics."""

    p: np.ndarray
    cov: np.ndarray
    sigma: float  # residual standard deviation, scaled units
    dof: int
    sse: float
    n_obs: int
    starts: int
    nfev: int
    at_bound: list[int] = field(default_factory=list)


class MediaModel:
    """The parameter layout, the prediction and the Jacobian of one model on one panel (scaled units)."""

    def __init__(self, spec: Spec, xs: np.ndarray, ys: np.ndarray, Z: np.ndarray, size: np.ndarray,
                 y_scale: float) -> None:
        self.spec = spec
        self.xs, self.ys, self.Z = xs, ys, Z
        self.T, self.G, self.C = xs.shape
        self.k = Z.shape[1]
        self.Zd = _centre(Z.reshape(self.T, self.G, self.k)).reshape(self.T * self.G, self.k)
        self.yd = _centre(ys).ravel()
        self.size, self.y_scale = size, y_scale
        self.n_phi = len(spec.phi_names)
        self.block = 1 + self.n_phi
        self.P = self.k + self.C * self.block
        self.lifts: list[Lift] = []
        self.lift_sigma = 1.0
        self.prior_sd: float | None = None  # weak log-normal priors on the saturation parameters (None: off)
        lo, hi = np.full(self.P, -np.inf), np.full(self.P, np.inf)
        for c in range(self.C):
            i = self.channel_slice(c).start
            lo[i] = 0.0
            for j, name in enumerate(spec.phi_names):
                lo[i + 1 + j], hi[i + 1 + j] = (_scale_bounds(spec.l_max) if name == "scale"
                                                else _PHI_BOUNDS[name])
        self.lo, self.hi = lo, hi

    # ------------------------------------------------------------------ layout
    def channel_slice(self, c: int) -> slice:
        """Positions of channel ``c``'s ``beta`` and adstock / saturation parameters in the vector."""
        start = self.k + c * self.block
        return slice(start, start + self.block)

    def phi(self, p: np.ndarray, c: int) -> dict[str, float]:
        s = self.channel_slice(c)
        return dict(zip(self.spec.phi_names, p[s.start + 1:s.stop], strict=True))

    # ------------------------------------------------------------------ the media term of one channel
    def saturated(self, x: np.ndarray, phi: dict[str, float], grad: bool = False
                  ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``sat(adstock(x))`` of a (periods x geos) scaled spend, and its derivative in each parameter."""
        sp = self.spec
        ad = {n: phi[n] for n in ADSTOCK_PARAMS[sp.adstock]}
        st = {n: phi[n] for n in SATURATION_PARAMS[sp.saturation]}
        a = adstock(x, adstock_weights(sp.adstock, ad, l_max=sp.l_max, normalize=sp.normalize))  # type: ignore
        s = saturation(sp.saturation, a, st)  # type: ignore[arg-type]
        if not grad:
            return s, {}
        d_a, d_st = saturation_grad(sp.saturation, a, st)  # type: ignore[arg-type]
        grads = dict(d_st)
        for name, dw in adstock_weight_grads(sp.adstock, ad, l_max=sp.l_max,  # type: ignore[arg-type]
                                             normalize=sp.normalize).items():
            grads[name] = d_a * adstock(x, dw)
        return s, grads

    def media(self, p: np.ndarray, c: int, x: np.ndarray | None = None) -> np.ndarray:
        """``beta_c * sat_c(adstock_c(x))`` (scaled units; ``x`` defaults to the panel's spend)."""
        s, _ = self.saturated(self.xs[:, :, c] if x is None else x, self.phi(p, c))
        return p[self.channel_slice(c).start] * s

    # ------------------------------------------------------------------ lift tests
    def lift_of(self, p: np.ndarray, lt: Lift) -> float:
        """The model's lift of test ``lt`` in original units (the carry-over after the window included)."""
        stop = min(self.T, lt.t1 + self.spec.l_max)
        x = self.xs[:stop, :, lt.channel][:, lt.geos]
        x_cf = x.copy()
        x_cf[lt.t0:lt.t1 + 1] -= lt.delta
        phi = self.phi(p, lt.channel)
        beta = p[self.channel_slice(lt.channel).start]
        diff = self.saturated(x, phi)[0][lt.t0:] - self.saturated(x_cf, phi)[0][lt.t0:]
        return float(self.y_scale * beta * (diff * self.size[lt.geos]).sum())

    def _lift_rows(self, p: np.ndarray, jac: bool) -> tuple[np.ndarray, np.ndarray]:
        r = np.empty(len(self.lifts))
        J = np.zeros((len(self.lifts), self.P)) if jac else np.empty((0, 0))
        for i, lt in enumerate(self.lifts):
            w = self.lift_sigma / lt.std_error
            r[i] = w * (self.lift_of(p, lt) - lt.lift)
            if jac:
                s = self.channel_slice(lt.channel)

                def lift(q: np.ndarray, lt: Lift = lt) -> float:
                    return self.lift_of(q, lt)

                for j in range(s.start, s.stop):
                    J[i, j] = w * _partial(lift, p, j, self.lo[j], self.hi[j])
        return r, J

    # ------------------------------------------------------------------ prediction, residuals, Jacobian
    def _no_intercept(self, p: np.ndarray) -> np.ndarray:
        pred = (self.Z @ p[:self.k]).reshape(self.T, self.G)
        for c in range(self.C):
            pred = pred + self.media(p, c)
        return pred

    def intercepts(self, p: np.ndarray) -> np.ndarray:
        """Each geo's intercept at ``p`` (the mean of what the rest of the model leaves), scaled."""
        return (self.ys - self._no_intercept(p)).mean(axis=0)

    def predict(self, p: np.ndarray) -> np.ndarray:
        """The fitted outcome, ``T x G`` scaled."""
        pred = self._no_intercept(p)
        return pred + (self.ys - pred).mean(axis=0)

    def residuals(self, p: np.ndarray, jac: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Residuals (data rows, then one per lift test) and, with ``jac``, their Jacobian."""
        n = self.T * self.G
        J = np.empty((n, self.P)) if jac else np.empty((0, 0))
        pred = self.Zd @ p[:self.k]
        if jac:
            J[:, :self.k] = self.Zd
        for c in range(self.C):
            s = self.channel_slice(c)
            beta = p[s.start]
            sat, grads = self.saturated(self.xs[:, :, c], self.phi(p, c), grad=jac)
            sat = _centre(sat).ravel()
            pred = pred + beta * sat
            if jac:
                J[:, s.start] = sat
                for j, name in enumerate(self.spec.phi_names):
                    J[:, s.start + 1 + j] = beta * _centre(grads[name]).ravel()
        r = pred - self.yd
        if self.lifts:
            rl, Jl = self._lift_rows(p, jac)
            r = np.concatenate([r, rl])
            if jac:
                J = np.vstack([J, Jl])
        if self.prior_sd:
            rp, Jp = self._prior_rows(p, jac)
            r = np.concatenate([r, rp])
            if jac:
                J = np.vstack([J, Jp])
        return r, J

    def _prior_idx(self) -> list[tuple[int, float]]:
        centre = {"half": 1.0, "slope": 1.5, "lam": 1.5}
        out = []
        for c in range(self.C):
            s = self.channel_slice(c)
            for j, name in enumerate(self.spec.phi_names):
                if name in centre:
                    out.append((s.start + 1 + j, centre[name]))
        return out

    def _prior_rows(self, p: np.ndarray, jac: bool) -> tuple[np.ndarray, np.ndarray]:
        idx = self._prior_idx()
        w = self.lift_sigma / float(self.prior_sd)  # type: ignore[arg-type]
        r = np.array([w * (np.log(p[k]) - np.log(c0)) for k, c0 in idx])
        J = np.zeros((len(idx), self.P)) if jac else np.empty((0, 0))
        if jac:
            for i, (k, _) in enumerate(idx):
                J[i, k] = w / p[k]
        return r, J

    # ------------------------------------------------------------------ starts
    def linear_solve(self, phi_all: np.ndarray) -> tuple[np.ndarray, float]:
        """The baseline coefficients and betas (>= 0) that fit best for fixed adstock / saturation parameters."""
        cols = [_centre(self.saturated(self.xs[:, :, c], dict(zip(self.spec.phi_names, phi_all[c], strict=True)))[0])
                .ravel() for c in range(self.C)]
        A = np.column_stack([self.Zd, *cols])
        y = self.yd
        # the data are tall: solve on the Cholesky factor of A'A (||A b - y||^2 = ||L' b - L^-1 A'y||^2 + const)
        gram = A.T @ A
        gram[np.diag_indices_from(gram)] += 1e-10 * max(1.0, float(np.trace(gram)) / len(gram))
        L = np.linalg.cholesky(gram)
        rhs = np.linalg.solve(L, A.T @ y)
        sol = np.linalg.solve(L.T, rhs)
        if (sol[self.k:] < 0).any():
            lb = np.concatenate([np.full(self.k, -np.inf), np.zeros(self.C)])
            sol = optimize.lsq_linear(L.T, rhs, bounds=(lb, np.inf), method="bvls").x
        return sol, float(np.sum((A @ sol - y) ** 2))

    def draw_phi(self, rng: np.random.Generator) -> np.ndarray:
        """One random draw of every channel's adstock and saturation parameters, inside sensible ranges."""
        ranges = {"theta": (0.0, 0.8), "shape": (0.5, 3.0), "scale": (0.5, max(1.0, self.spec.l_max / 2)),
                  "half": (0.3, 3.0), "slope": (0.8, 3.0), "lam": (0.3, 5.0)}
        logs = {"shape", "half", "lam"}
        out = np.empty((self.C, self.n_phi))
        for j, name in enumerate(self.spec.phi_names):
            lo, hi = ranges[name]
            u = rng.uniform(size=self.C)
            out[:, j] = np.exp(np.log(lo) + u * np.log(hi / lo)) if name in logs else lo + u * (hi - lo)
        return out

    def assemble(self, base_beta: np.ndarray, phi_all: np.ndarray) -> np.ndarray:
        p = np.empty(self.P)
        p[:self.k] = base_beta[:self.k]
        for c in range(self.C):
            s = self.channel_slice(c)
            p[s.start] = base_beta[self.k + c]
            p[s.start + 1:s.stop] = phi_all[c]
        return np.clip(p, self.lo, self.hi)


def _centre(a: np.ndarray) -> np.ndarray:
    """Each geo's series (axis 1) minus its mean over the periods (axis 0)."""
    return a - a.mean(axis=0, keepdims=True)


def _partial(f: Callable[[np.ndarray], float], p: np.ndarray, j: int, lo: float, hi: float) -> float:
    """Central difference of ``f`` in coordinate ``j`` (one-sided at a bound)."""
    h = 1e-6 * max(abs(p[j]), 1e-2)
    up, down = p.copy(), p.copy()
    up[j] = min(p[j] + h, hi)
    down[j] = max(p[j] - h, lo)
    return (f(up) - f(down)) / (up[j] - down[j])


def _solve(model: MediaModel, p0: np.ndarray, max_iter: int) -> tuple[np.ndarray, float, int]:
    """Levenberg-Marquardt on the normal equations (``J'J`` is small: the data are tall, the parameters few),
    with Marquardt's scaling, and bounds kept by an active set: a parameter on a bound whose gradient pushes
    it out stays there, the step of the others is clipped to the box."""
    lo, hi = model.lo, model.hi
    p = np.clip(p0, lo, hi)
    r, J = model.residuals(p)
    cost, lam, nfev = float(r @ r), 1e-3, 1
    for _ in range(max_iter):
        g, A = J.T @ r, J.T @ J
        free = ~(((p <= lo) & (g > 0)) | ((p >= hi) & (g < 0)))
        d = np.maximum(np.diag(A)[free], 1e-12 * max(1.0, float(np.diag(A).max())))
        Af, gf = A[np.ix_(free, free)], g[free]
        improved = False
        while lam < 1e12:
            step = np.zeros_like(p)
            try:
                step[free] = np.linalg.solve(Af + lam * np.diag(d), -gf)
            except np.linalg.LinAlgError:
                lam *= 10.0
                continue
            p_new = np.clip(p + step, lo, hi)
            r_new = model.residuals(p_new, jac=False)[0]
            nfev += 1
            cost_new = float(r_new @ r_new)
            if cost_new < cost:
                improved = True
                break
            lam *= 4.0
        if not improved:
            break
        moved = np.max(np.abs(p_new - p) / (np.abs(p) + 1e-8))
        drop = (cost - cost_new) / max(cost, 1e-300)
        p, cost, lam = p_new, cost_new, max(lam / 3.0, 1e-9)
        r, J = model.residuals(p)
        nfev += 1
        if drop < 1e-9 or moved < 1e-8:
            break
    return p, cost, nfev


def fit_model(model: MediaModel, *, n_starts: int, rng: np.random.Generator, n_polish: int = 3,
              max_iter: int = 300) -> Solution:
    """Fit by non-linear least squares from the best ``n_polish`` of ``n_starts`` random starts; lift tests
    (``model.lifts``) are weighed by the residual standard deviation of a fit without them, then refitted."""
    lifts, model.lifts = model.lifts, []
    prior, model.prior_sd = model.prior_sd, None
    draws = [np.array([[{"theta": 0.3, "shape": 1.0, "scale": 2.0, "half": 1.0, "slope": 1.5, "lam": 1.5}[n]
                        for n in model.spec.phi_names]] * model.C)]
    draws += [model.draw_phi(rng) for _ in range(max(0, n_starts - 1))]
    scored = []
    for phi_all in draws:
        sol, sse = model.linear_solve(phi_all)
        scored.append((sse, model.assemble(sol, phi_all)))
    scored.sort(key=lambda s: s[0])
    best, nfev = None, 0
    for _, p0 in scored[:n_polish]:
        p, sse, n = _solve(model, p0, max_iter)
        nfev += n
        if best is None or sse < best[1]:
            best = (p, sse)
    assert best is not None
    p, sse = best
    n_obs = model.T * model.G
    if lifts or prior:
        model.lifts, model.prior_sd = lifts, prior
        for _ in range(2):  # weigh the lifts by the data's residual sd, refit, weigh again
            r_data = model.residuals(p, jac=False)[0][:n_obs]
            model.lift_sigma = float(np.sqrt(np.sum(r_data ** 2) / max(1, n_obs - model.P - model.G)))
            p, _, n = _solve(model, p, max_iter)
            nfev += n
    r, J = model.residuals(p)
    sse = float(np.sum(r[:n_obs] ** 2))
    dof = max(1, n_obs - model.P - model.G)
    sigma = float(np.sqrt(sse / dof))
    if model.lifts or model.prior_sd:  # those rows were weighed by the sd before this fit: rescale them
        J[n_obs:] *= sigma / model.lift_sigma
    cov = sigma ** 2 * np.linalg.pinv(J.T @ J)
    span = model.hi - model.lo
    at = [j for j in range(model.P) if np.isfinite(span[j])
          and min(p[j] - model.lo[j], model.hi[j] - p[j]) < 1e-6 * span[j]]
    return Solution(p=p, cov=cov, sigma=sigma, dof=dof, sse=sse, n_obs=n_obs, starts=len(draws), nfev=nfev,
                    at_bound=at)
