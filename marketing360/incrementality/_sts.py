"""The structural time-series model behind :func:`~marketing360.incrementality.causal_impact`.

statsmodels' ``UnobservedComponents`` (a local level or local linear trend, optional seasonality, the
control series as regressors in the state) fitted on the standardised pre-period, with R CausalImpact's
(bsts') priors on the variances added to the likelihood and importance-sampled around the posterior
mode (``estimation="posterior"``), or plain maximum likelihood (``"mle"``); counterfactual trajectories
are simulated from the predicted state at the end of the pre-period.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import EngineError

#: bsts' weight of the residual variance's prior with a static regression (50 observations), the level prior's
#: weight, and the weak default of the other variances
_REG_DF, _LEVEL_DF, _WEAK_DF = 50.0, 32.0, 0.01
_MAX_PROPOSAL_SD = 2.0  # the proposal's largest standard deviation of a log-variance
_MODELS = {"local_level": "local level", "local_linear_trend": "local linear trend"}
_WHAT = "causal_impact"


@dataclass(frozen=True)
class _Data:
    y: np.ndarray           # response, pre-period start .. post-period end
    x: np.ndarray           # controls, same rows (n x k)
    index: pd.Index         # dates or integer periods of those rows
    n_pre: int              # rows of the pre-period
    post_start: int         # first row of the post-period (> n_pre - 1 when there is a gap)
    y_name: str
    x_names: list[str]



# ------------------------------------------------------------------ the model


@dataclass
class _Fit:
    model: Any                  # the UnobservedComponents model of the standardised pre-period
    params: np.ndarray          # variances at the mode (posterior) or the maximum likelihood
    draws: list[tuple[np.ndarray, int]]  # (variances, trajectories to simulate from them)
    ess: float                  # effective sample size of the importance weights (n_sims for "mle")
    mu: float
    sd: float
    xs: np.ndarray              # standardised controls, all rows


def _priors(names: list[str], resid: float | None, level_sd: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prior weight (observations), guessed variance and upper limit of each variance, on the standardised scale.

    ``resid``: the guess of the residual variance with controls (None without)."""
    known = {"sigma2.irregular": (_REG_DF, resid, 1.44) if resid is not None else (_WEAK_DF, 1.0, 1.44),
             "sigma2.level": (_LEVEL_DF, level_sd ** 2, 1.0)}
    rows = np.array([known.get(n, (_WEAK_DF, 1e-4, 1.0)) for n in names])  # slope, seasonal: bsts' weak defaults
    return rows[:, 0], rows[:, 1], rows[:, 2]


def adjusted_r2(y: np.ndarray, x: np.ndarray, base: np.ndarray | None = None) -> float:
    """The adjusted R² of the least squares of ``y`` on an intercept and the columns of ``x`` (missing ``y``
    skipped), clipped to [0, 0.99]; NaN with fewer than 2 residual degrees of freedom.

    With ``base`` (more columns, e.g. season dummies) it is partial: the share of the residual variance of
    ``y`` on the intercept and ``base`` that ``x`` explains besides, each variance per residual degree of
    freedom."""
    ok = np.isfinite(y)
    n = int(ok.sum())
    z = np.ones((n, 1)) if base is None else np.column_stack([np.ones(n), base[ok]])
    k = z.shape[1] + x.shape[1]
    if n - k < 2:
        return float("nan")

    def rss(a: np.ndarray) -> float:
        beta, *_ = np.linalg.lstsq(a, y[ok], rcond=None)
        resid = y[ok] - a @ beta
        return float(resid @ resid)

    full = rss(np.column_stack([z, x[ok]])) / (n - k)
    reduced = float(np.var(y[ok], ddof=1)) if base is None else rss(z) / (n - z.shape[1])
    if reduced == 0:
        return float("nan")
    return float(np.clip(1 - full / reduced, 0.0, 0.99))


def _log_prior(u: np.ndarray, df: np.ndarray, guess: np.ndarray) -> np.ndarray:
    """Log density of log-variances ``u`` (last axis) whose precisions are Gamma(df / 2, df * guess / 2)."""
    return np.sum(-df / 2 * u - df * guess / 2 * np.exp(-u), axis=-1)


def _fit(d: _Data, *, model: str, nseasons: int | None, estimation: str, level_sd: float, expected_r2: float,
         n_sims: int, rng: np.random.Generator) -> _Fit:
    from scipy import optimize
    from statsmodels.tools.numdiff import approx_hess3
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    pre_y = d.y[:d.n_pre]
    mu, sd = float(np.nanmean(pre_y)), float(np.nanstd(pre_y, ddof=1))
    xs = (d.x - d.x[:d.n_pre].mean(axis=0)) / d.x[:d.n_pre].std(axis=0, ddof=1)
    seasonal = {"seasonal": nseasons, "stochastic_seasonal": True} if nseasons else {}
    mod = UnobservedComponents((pre_y - mu) / sd, exog=xs[:d.n_pre] if xs.shape[1] else None, level=_MODELS[model],
                               mle_regression=False, **seasonal)
    names = list(mod.param_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter of the optimizer; failures are checked below
        if estimation == "mle":
            res = mod.fit(disp=False)
            params = np.asarray(res.params, dtype=float)
            if not np.isfinite(res.llf):
                raise EngineError(f"{_WHAT}: the maximum-likelihood fit failed (log-likelihood {res.llf})")
            return _Fit(mod, params, [(params, n_sims)], float(n_sims), mu, sd, xs)
        df, guess, upper = _priors(names, 1 - expected_r2 if xs.shape[1] else None, level_sd)
        upper, lower = np.log(upper), np.log(1e-10)

        def log_post(u: np.ndarray) -> float:
            if np.any(u > upper):
                return -np.inf
            ll = mod.loglike(np.exp(u))
            return float(ll + _log_prior(u, df, guess)) if np.isfinite(ll) else -np.inf

        start = np.clip(np.log(np.maximum(np.asarray(mod.start_params, dtype=float), 1e-10)), lower, upper)
        bounds = list(zip(np.full(len(names), lower), upper))
        opt = optimize.minimize(lambda u: -log_post(u), start, method="L-BFGS-B", bounds=bounds)
        mode = opt.x
        if not np.isfinite(opt.fun):
            raise EngineError(f"{_WHAT}: the model could not be fitted to the pre-period (no finite posterior)")
        hess = approx_hess3(mode, lambda u: -log_post(np.minimum(u, upper)))
    # a normal proposal at the mode; directions the data barely inform are capped at _MAX_PROPOSAL_SD
    vals, vecs = np.linalg.eigh((hess + hess.T) / 2) if np.all(np.isfinite(hess)) else (
        np.zeros(len(names)), np.eye(len(names)))
    vals = np.clip(vals, 1 / _MAX_PROPOSAL_SD ** 2, 1e12)
    cov = (vecs / vals) @ vecs.T
    k = min(n_sims, max(100, n_sims // 20))
    u = rng.multivariate_normal(mode, cov, size=k)
    prec = (vecs * vals) @ vecs.T
    diff = u - mode
    log_q = -0.5 * np.einsum("ij,jk,ik->i", diff, prec, diff)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log_p = np.array([log_post(v) for v in u])
    log_w = log_p - log_q
    if not np.isfinite(log_w).any():
        raise EngineError(f"{_WHAT}: no draw of the variances has a finite posterior; check the data")
    w = np.exp(log_w - np.max(log_w[np.isfinite(log_w)]))
    w[~np.isfinite(w)] = 0.0
    w /= w.sum()
    ess = float(1 / np.sum(w ** 2))
    counts = np.bincount(rng.choice(k, size=n_sims, p=w), minlength=k)
    draws = [(np.exp(u[i]), int(c)) for i, c in enumerate(counts) if c]
    return _Fit(mod, np.exp(mode), draws, ess, mu, sd, xs)


def _simulate(fit: _Fit, d: _Data, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Counterfactual signal (level + season + regression) and response trajectories, n_sims x horizon, in units."""
    h = len(d.y) - d.n_pre
    exog = fit.xs[d.n_pre:] if fit.xs.shape[1] else None
    names = list(fit.model.param_names)
    signal, noisy = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for params, count in fit.draws:
            kf = fit.model.filter(params, return_ssm=True)  # the predicted state after the pre-period, and its cov
            start = rng.multivariate_normal(kf.predicted_state[:, -1], kf.predicted_state_cov[:, :, -1], size=count)
            sim = fit.model.simulate(params, h, anchor="end", initial_state=start.T, repetitions=count, exog=exog,
                                     measurement_shocks=np.zeros((h, 1)), rng=rng)
            s = np.asarray(sim, dtype=float).reshape(h, count).T
            noise = rng.normal(0.0, np.sqrt(params[names.index("sigma2.irregular")]), size=s.shape)
            signal.append(s)
            noisy.append(s + noise)
    sig, ys = np.vstack(signal), np.vstack(noisy)
    if not (np.isfinite(sig).all() and np.isfinite(ys).all()):
        raise EngineError(f"{_WHAT}: the simulated counterfactuals are not finite; the model diverged")
    return sig * fit.sd + fit.mu, ys * fit.sd + fit.mu


def _in_sample(fit: _Fit, d: _Data, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pre-period fit (smoothed signal) and its 1 - alpha band including noise, at the mode's variances."""
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = fit.model.smooth(fit.params).get_prediction(information_set="smoothed")
    mean = np.asarray(pred.predicted_mean, dtype=float)
    se = np.sqrt(np.maximum(np.asarray(pred.var_pred_mean, dtype=float), 0.0))
    q = stats.norm.ppf(1 - alpha / 2)
    return mean * fit.sd + fit.mu, (mean - q * se) * fit.sd + fit.mu, (mean + q * se) * fit.sd + fit.mu


