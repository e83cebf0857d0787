"""Adstock and saturation: the carry-over and diminishing returns of media, with their derivatives.

Adstock spreads a period's spend over the following ``l_max`` periods with
weights ``w_0 .. w_{l_max-1}`` (a causal convolution: periods before the first
count as zero spend); saturation bends the adstocked spend into a response in
[0, 1). Every function takes arrays of any shape whose first axis is time.

Adstock weights, lag ``i = 0 .. l_max - 1`` (``normalize=True`` divides them by
their sum, so the adstock is a weighted average of recent spend, in spend units):

* ``"geometric"`` (``theta``): ``theta ** i`` — Robyn's and PyMC-Marketing's geometric adstock;
* ``"weibull_cdf"`` (``shape``, ``scale``): ``w_i = prod_{j=1..i} S(j)`` with ``S`` the Weibull survival
  function ``exp(-(j / scale) ** shape)`` (``w_0 = 1``) — the decay slows or speeds up with the lag;
* ``"weibull_pdf"`` (``shape``, ``scale``): the Weibull density at ``i + 1`` over its largest value — a
  delayed peak when ``shape > 1``.

Saturation of an adstock ``a >= 0``:

* ``"hill"`` (``half``, ``slope``): ``a ** slope / (a ** slope + half ** slope)`` — ``half`` is the adstock
  at half of the maximum effect (an S-curve when ``slope > 1``);
* ``"logistic"`` (``lam``): ``(1 - exp(-lam a)) / (1 + exp(-lam a))`` — PyMC-Marketing's logistic saturation.

Examples
--------
>>> import numpy as np
>>> w = adstock_weights("geometric", {"theta": 0.5}, l_max=3, normalize=False)
>>> w.tolist()
[1.0, 0.5, 0.25]
>>> adstock(np.array([4.0, 0.0, 0.0, 0.0]), w).tolist()
[4.0, 2.0, 1.0, 0.0]
>>> float(saturation("hill", np.array([2.0]), {"half": 2.0, "slope": 3.0})[0])
0.5
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ...errors import ParameterError

__all__ = ["AdstockKind", "SaturationKind", "ADSTOCK_PARAMS", "SATURATION_PARAMS", "adstock_weights",
           "adstock_weight_grads", "adstock", "saturation", "saturation_grad"]

AdstockKind = Literal["geometric", "weibull_cdf", "weibull_pdf"]
SaturationKind = Literal["hill", "logistic"]

#: the parameters of each adstock, in order
ADSTOCK_PARAMS: dict[str, tuple[str, ...]] = {
    "geometric": ("theta",), "weibull_cdf": ("shape", "scale"), "weibull_pdf": ("shape", "scale"),
}
#: the parameters of each saturation, in order
SATURATION_PARAMS: dict[str, tuple[str, ...]] = {"hill": ("half", "slope"), "logistic": ("lam",)}


def _kind(kind: str, table: dict[str, tuple[str, ...]], what: str) -> tuple[str, ...]:
    if kind not in table:
        raise ParameterError(f"{what} must be one of {sorted(table)}; found {kind!r}")
    return table[kind]


def _raw_weights(kind: str, p: dict[str, float], l_max: int) -> np.ndarray:
    lag = np.arange(l_max, dtype=np.float64)
    if kind == "geometric":
        return np.power(p["theta"], lag)
    shape, scale = p["shape"], p["scale"]
    if kind == "weibull_cdf":
        survival = np.exp(-np.power(lag[1:] / scale, shape))
        return np.concatenate([[1.0], np.cumprod(survival)])
    t = lag + 1.0  # weibull_pdf: the density at 1 .. l_max, over its largest value
    log_pdf = np.log(shape / scale) + (shape - 1.0) * np.log(t / scale) - np.power(t / scale, shape)
    return np.exp(log_pdf - log_pdf.max())


def adstock_weights(kind: AdstockKind, params: dict[str, float], *, l_max: int, normalize: bool = True
                    ) -> np.ndarray:
    """The ``l_max`` lag weights of an adstock (lag 0 first).

    Parameters
    ----------
    kind : {"geometric", "weibull_cdf", "weibull_pdf"}
    params : dict
        ``theta`` in [0, 1) for geometric; ``shape`` > 0 and ``scale`` > 0 (in periods) for Weibull.
    l_max : int
        Number of lags, the current period included (>= 1).
    normalize : bool
        Divide the weights by their sum.

    Examples
    --------
    >>> adstock_weights("weibull_cdf", {"shape": 1.0, "scale": 1.0}, l_max=3, normalize=False).round(4).tolist()
    [1.0, 0.3679, 0.0498]
    """
    names = _kind(kind, ADSTOCK_PARAMS, "adstock")
    if not isinstance(l_max, (int, np.integer)) or isinstance(l_max, bool) or l_max < 1:
        raise ParameterError(f"l_max must be a whole number of periods >= 1; found {l_max!r}")
    missing = [n for n in names if n not in params]
    if missing:
        raise ParameterError(f"{kind} adstock needs {list(names)}; missing {missing}")
    p = {n: float(params[n]) for n in names}
    if kind == "geometric" and not 0 <= p["theta"] < 1:
        raise ParameterError(f"geometric adstock: theta must be in [0, 1); found {p['theta']!r}")
    if kind != "geometric" and not (p["shape"] > 0 and p["scale"] > 0):
        raise ParameterError(f"{kind} adstock: shape and scale must be > 0; found {p}")
    w = _raw_weights(kind, p, int(l_max))
    return w / w.sum() if normalize else w


def adstock_weight_grads(kind: AdstockKind, params: dict[str, float], *, l_max: int, normalize: bool = True
                         ) -> dict[str, np.ndarray]:
    """The derivative of each adstock weight in each parameter (analytic for geometric, central differences
    with a relative step of 1e-6 for Weibull).

    Examples
    --------
    >>> adstock_weight_grads("geometric", {"theta": 0.5}, l_max=3, normalize=False)["theta"].tolist()
    [0.0, 1.0, 1.0]
    """
    if kind == "geometric":
        theta = float(params["theta"])
        lag = np.arange(l_max, dtype=np.float64)
        w = np.power(theta, lag)
        dw = lag * np.power(theta, np.maximum(lag - 1, 0))
        if normalize:
            dw = (dw * w.sum() - w * dw.sum()) / w.sum() ** 2
        return {"theta": dw}
    out = {}
    for name in ADSTOCK_PARAMS[kind]:
        h = 1e-6 * max(abs(float(params[name])), 1e-3)
        up, down = dict(params), dict(params)
        up[name], down[name] = float(params[name]) + h, float(params[name]) - h
        out[name] = (adstock_weights(kind, up, l_max=l_max, normalize=normalize)
                     - adstock_weights(kind, down, l_max=l_max, normalize=normalize)) / (2 * h)
    return out


def adstock(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The causal convolution ``a_t = sum_i w_i x_{t-i}`` along the first axis (zero before the start)."""
    x = np.asarray(x, dtype=np.float64)
    out = weights[0] * x
    for i in range(1, min(len(weights), x.shape[0])):
        out[i:] += weights[i] * x[:-i]
    return out


def saturation(kind: SaturationKind, a: np.ndarray, params: dict[str, float]) -> np.ndarray:
    """The saturation of adstock ``a`` (>= 0): 0 at 0, rising to 1."""
    names = _kind(kind, SATURATION_PARAMS, "saturation")
    missing = [n for n in names if n not in params]
    if missing:
        raise ParameterError(f"{kind} saturation needs {list(names)}; missing {missing}")
    bad = {n: params[n] for n in names if not float(params[n]) > 0}
    if bad:
        raise ParameterError(f"{kind} saturation: {list(names)} must be > 0; found {bad}")
    a = np.asarray(a, dtype=np.float64)
    if kind == "logistic":
        return np.tanh(0.5 * params["lam"] * a)
    half, slope = params["half"], params["slope"]
    pos = a > 0
    z = slope * (np.log(np.where(pos, a, 1.0)) - np.log(half))  # logit of the saturation
    return np.where(pos, 0.5 * (1.0 + np.tanh(0.5 * z)), 0.0)


def saturation_grad(kind: SaturationKind, a: np.ndarray, params: dict[str, float]
                    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The saturation's derivative in ``a`` and in each of its parameters, at ``a``.

    Examples
    --------
    >>> import numpy as np
    >>> d_a, d_p = saturation_grad("logistic", np.array([0.0]), {"lam": 2.0})
    >>> float(d_a[0]), float(d_p["lam"][0])
    (1.0, 0.0)
    """
    a = np.asarray(a, dtype=np.float64)
    s = saturation(kind, a, params)
    if kind == "logistic":
        lam = params["lam"]
        sech2 = 1.0 - s * s
        return 0.5 * lam * sech2, {"lam": 0.5 * a * sech2}
    half, slope = params["half"], params["slope"]
    core = s * (1.0 - s)  # d s / d log(a / half)^slope
    pos = a > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        d_a = np.where(pos, slope * core / np.where(pos, a, 1.0), 0.0)
        log_ratio = np.where(pos, np.log(np.where(pos, a, 1.0) / half), 0.0)
    if slope == 1:  # the limit at 0: 1 / half (0 when slope > 1; infinite when slope < 1, left at 0)
        d_a = np.where(pos, d_a, 1.0 / half)
    return d_a, {"half": -slope * core / half, "slope": core * log_ratio}
