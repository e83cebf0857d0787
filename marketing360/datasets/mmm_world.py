"""Marketing-mix worlds with a planted truth: weekly spend and outcomes per geo, and every channel's true return.

:func:`simulate_mmm` draws a world in the aggregate form marketing-mix models
assume (the form of Meridian's and PyMC-Marketing's simulated examples):

``y[t, g] = size_g * (base_g + trend_t + season_t + controls_t + sum_c beta_c * sat_c(adstock_c(x_c / size_g))[t])
+ noise``

with flighted spend (each channel on in a random share of weeks, at a
log-normal level that follows a shared seasonal budget cycle, so channels are
correlated as real budgets are), an adstock and a saturation per channel with
random parameters, each channel's ROAS drawn in a range and its effect sized
to match it, spend scaled so that media drives a chosen share of the outcome,
and Gaussian noise. The truth is exact: each channel's contribution
per period and geo, its ROAS over the window, and its marginal ROAS at its
mean spend. The transformations are written here independently of
:mod:`marketing360.incrementality.mmm`, so a fit is scored against code it does
not share.

Examples
--------
>>> w = simulate_mmm(n_periods=52, channels=3, seed=1)
>>> w.data.spend.channel.unique().tolist(), len(w.data.outcomes)
(['c0', 'c1', 'c2'], 52)
>>> sorted(w.truth.roas.index) == ['c0', 'c1', 'c2']
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ParameterError
from .readers.mmm import MMMData

__all__ = ["simulate_mmm", "MMMWorld", "MMMTruth"]


@dataclass(frozen=True)
class MMMTruth:
    """The planted truth of a marketing-mix world.

    Attributes
    ----------
    params : pandas.DataFrame
        One row per channel: ``channel, beta`` (outcome per period per unit of size at full saturation),
        the adstock parameters (``theta`` or ``shape, scale``) and the saturation ones (``half, slope`` in
        spend per period per unit of size, or ``lam`` per unit of spend per unit of size). A geo's size has
        mean 1 over the geos; its ``population`` control is size x 100,000, so a geo-level ``MMM``, which
        works per person, reports ``beta`` and ``half`` 100,000 times smaller (and ``lam`` that much larger).
    contributions : pandas.DataFrame
        ``date, geo, channel, contribution``: each channel's exact contribution.
    roas : pandas.Series
        Contribution over spend, per channel, over the whole window.
    mroas : pandas.Series
        Marginal ROAS at each channel's mean spend per period, spent steadily (geo split as in the data).
    adstock, saturation : str
    l_max : int
    """

    params: pd.DataFrame
    contributions: pd.DataFrame
    roas: pd.Series
    mroas: pd.Series
    adstock: str
    saturation: str
    l_max: int


@dataclass(frozen=True)
class MMMWorld:
    """A simulated marketing-mix dataset (:class:`~marketing360.datasets.MMMData`) and its truth."""

    data: MMMData
    truth: MMMTruth


def _weights(kind: str, p: dict[str, float], l_max: int) -> np.ndarray:
    lags = np.arange(l_max, dtype=float)
    if kind == "geometric":
        w = p["theta"] ** lags
    elif kind == "weibull_cdf":
        w = np.ones(l_max)
        for i in range(1, l_max):
            w[i] = w[i - 1] * np.exp(-((i / p["scale"]) ** p["shape"]))
    else:  # weibull_pdf
        t = lags + 1
        k, lam = p["shape"], p["scale"]
        w = (k / lam) * (t / lam) ** (k - 1) * np.exp(-((t / lam) ** k))
        w = w / w.max()
    return w / w.sum()


def _carry(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Causal convolution of each column of ``x`` with ``w``."""
    return np.stack([np.convolve(x[:, j], w)[: x.shape[0]] for j in range(x.shape[1])], axis=1)


def _sat(kind: str, a: np.ndarray, p: dict[str, float]) -> np.ndarray:
    if kind == "logistic":
        return (1 - np.exp(-p["lam"] * a)) / (1 + np.exp(-p["lam"] * a))
    return a ** p["slope"] / (a ** p["slope"] + p["half"] ** p["slope"])


def simulate_mmm(*, n_periods: int = 156, channels: int | Sequence[str] = 5, geos: int = 1,
                 adstock: str = "geometric", saturation: str = "hill", l_max: int = 8, media_share: float = 0.3,
                 noise: float = 0.05, roas_range: tuple[float, float] = (0.5, 4.0),
                 on_share: tuple[float, float] = (0.5, 0.9), start: str = "2022-01-03",
                 seed: int = 0) -> MMMWorld:
    """Draw a weekly marketing-mix world with known adstock, saturation and returns.

    Parameters
    ----------
    n_periods : int
        Weeks (>= 2 * l_max).
    channels : int or list of str
        Number of channels (named ``c0, c1, ...``) or their names.
    geos : int
        Number of geos (1: one national series named ``"national"``); geo sizes are log-normal, and every geo
        has the ``population`` control.
    adstock : {"geometric", "weibull_cdf", "weibull_pdf"}
    saturation : {"hill", "logistic"}
    l_max : int
        Lags of the adstock.
    media_share : float
        Share of the outcome that media drives, in (0, 1).
    roas_range : (float, float)
        Range of the channels' planted ROAS (each drawn uniformly); the spend is scaled to match
        ``media_share``.
    noise : float
        Noise standard deviation as a share of each geo's mean outcome.
    on_share : (float, float)
        Range of the share of weeks each channel is on air.
    start : str
        First week (a Monday).
    seed : int

    Returns
    -------
    MMMWorld
    """
    if adstock not in ("geometric", "weibull_cdf", "weibull_pdf"):
        raise ParameterError(f"adstock must be 'geometric', 'weibull_cdf' or 'weibull_pdf'; found {adstock!r}")
    if saturation not in ("hill", "logistic"):
        raise ParameterError(f"saturation must be 'hill' or 'logistic'; found {saturation!r}")
    if isinstance(channels, bool) or not (isinstance(channels, int) or (isinstance(channels, Sequence)
                                                                        and not isinstance(channels, str))):
        raise ParameterError(f"channels must be a number of channels or a list of names; found {channels!r}")
    if isinstance(l_max, bool) or not isinstance(l_max, int) or l_max < 1:
        raise ParameterError(f"l_max must be a whole number of weeks >= 1; found {l_max!r}")
    lo_on, hi_on = on_share
    lo_r, hi_r = roas_range
    if not 0 < lo_on <= hi_on <= 1 or not 0 < lo_r <= hi_r:
        raise ParameterError(f"on_share must lie in (0, 1] and roas_range be positive, low <= high; found "
                             f"{on_share!r}, {roas_range!r}")
    names = [f"c{i}" for i in range(channels)] if isinstance(channels, int) else [str(c) for c in channels]
    if not names or len(set(names)) != len(names):
        raise ParameterError(f"channels: give a positive number or distinct names; found {channels!r}")
    if not isinstance(n_periods, int) or n_periods < 2 * l_max or not isinstance(geos, int) or geos < 1:
        raise ParameterError(f"n_periods must be >= 2 * l_max and geos >= 1; found {n_periods!r}, {geos!r}")
    if not 0 < media_share < 1 or noise < 0:
        raise ParameterError(f"media_share must be in (0, 1) and noise >= 0; found {media_share!r}, {noise!r}")
    rng = np.random.default_rng(seed)
    T, G, C = n_periods, geos, len(names)
    dates = pd.date_range(start, periods=T, freq="7D")
    size = np.ones(1) if G == 1 else np.exp(rng.normal(0, 0.5, G))
    size = size / size.mean()
    geo_names = ["national"] if G == 1 else [f"geo{g:02d}" for g in range(G)]
    doy = 2 * np.pi * dates.dayofyear.to_numpy() / 365.25
    cycle = 0.25 * np.sin(doy + rng.uniform(0, 2 * np.pi))  # the shared budget cycle

    # spend per capita: flights at log-normal levels riding the budget cycle, geo noise around each week's level
    level = np.exp(rng.normal(0, 0.6, C)) * 1000.0
    x_pc = np.zeros((T, G, C))
    for c in range(C):
        on = rng.uniform(size=T) < rng.uniform(*on_share)
        amount = level[c] * np.exp(cycle + rng.normal(0, 0.4, T))
        x_pc[:, :, c] = (on * amount)[:, None] * np.exp(rng.normal(0, 0.2, (T, G)))

    rows: list[dict[str, float]] = []
    sat = np.zeros((T, G, C))
    for c in range(C):
        p: dict[str, float] = {}
        if adstock == "geometric":
            p["theta"] = float(rng.uniform(0.1, 0.7))
        else:
            p["shape"], p["scale"] = float(rng.uniform(0.7, 2.5)), float(rng.uniform(1.0, 4.0))
        w = _weights(adstock, p, l_max)
        a = _carry(x_pc[:, :, c], w)
        pos = a[a > 0].mean()
        if saturation == "hill":
            p["half"], p["slope"] = float(rng.uniform(0.5, 2.0) * pos), float(rng.uniform(0.8, 2.5))
        else:
            p["lam"] = float(rng.uniform(0.5, 3.0) / pos)
        sat[:, :, c] = _sat(saturation, a, p)
        rows.append(p)
    base = 100.0 * np.exp(rng.normal(0, 0.2, G))
    trend = rng.uniform(-10, 20) * np.linspace(0, 1, T)
    season = sum(rng.normal(0, 6) * np.sin(k * doy) + rng.normal(0, 6) * np.cos(k * doy) for k in (1, 2))
    event = np.zeros(T)
    event[rng.choice(T, size=3, replace=False)] = 1.0
    price = np.zeros(T)
    for t in range(1, T):
        price[t] = 0.7 * price[t - 1] + rng.normal(0, 1)
    baseline = base[None, :] + (trend + season + 25.0 * event - 4.0 * price)[:, None]
    # planted returns: each channel's ROAS in roas_range; spend is scaled so that media drives media_share
    target = rng.uniform(*roas_range, C)
    media_total = media_share / (1 - media_share) * baseline.sum()  # per capita, summed over periods and geos
    scale = media_total / float((target * x_pc.sum(axis=(0, 1))).sum())
    x_pc *= scale
    for r in rows:
        if "half" in r:
            r["half"] *= scale
        if "lam" in r:
            r["lam"] /= scale
    beta = target * x_pc.sum(axis=(0, 1)) / np.maximum(sat.sum(axis=(0, 1)), 1e-12)
    x = x_pc * size[None, :, None]
    media_pc = sat * beta[None, None, :]
    mean_pc = baseline + media_pc.sum(axis=2)
    y = size[None, :] * (mean_pc + rng.normal(0, noise, (T, G)) * mean_pc.mean(axis=0)[None, :])
    y = np.maximum(y, 0.0)
    contrib = media_pc * size[None, :, None]
    for c, r in enumerate(rows):
        r["beta"] = float(beta[c])

    roas = pd.Series(contrib.sum(axis=(0, 1)) / x.sum(axis=(0, 1)), index=names, name="roas")
    mroas = pd.Series([_steady_slope(x[:, :, c], size, rows[c], adstock, saturation, l_max) for c in range(C)],
                      index=names, name="mroas")
    D, Gi = np.repeat(dates.values, G), np.tile(geo_names, T)
    spend = pd.concat([pd.DataFrame({"date": D, "geo": Gi, "channel": ch, "spend": x[:, :, c].ravel()})
                       for c, ch in enumerate(names)], ignore_index=True)
    spend["impressions"] = np.nan
    outcomes = pd.DataFrame({"date": D, "geo": Gi, "conversions": np.nan, "revenue": y.ravel()})
    controls = pd.concat([pd.DataFrame({"date": D, "geo": Gi, "name": "event", "value": np.repeat(event, G)}),
                          pd.DataFrame({"date": D, "geo": Gi, "name": "price", "value": np.repeat(price, G)}),
                          pd.DataFrame({"date": D, "geo": Gi, "name": "population",
                                        "value": np.tile(size * 1e5, T)})], ignore_index=True)
    contributions = pd.concat([pd.DataFrame({"date": D, "geo": Gi, "channel": ch, "contribution": contrib[:, :, c]
                                             .ravel()}) for c, ch in enumerate(names)], ignore_index=True)
    data = MMMData(spend=spend, outcomes=outcomes, controls=controls,
                   meta={"source": "simulate_mmm", "path": "", "level": "national" if G == 1 else "geo",
                         "geos": geo_names, "channels": names, "controls": ["event", "price", "population"],
                         "exposure": {}, "notes": f"simulate_mmm(seed={seed})"})
    params = pd.DataFrame(rows).assign(channel=names)[["channel", *rows[0]]]
    truth = MMMTruth(params=params, contributions=contributions, roas=roas, mroas=mroas,
                     adstock=adstock, saturation=saturation, l_max=l_max)
    return MMMWorld(data=data, truth=truth)


def _steady_slope(x: np.ndarray, size: np.ndarray, p: dict[str, float], adstock: str, saturation: str,
                  l_max: int) -> float:
    """d(outcome per period)/d(spend per period) at the channel's mean spend, spent steadily (numerically)."""
    share = x.sum(axis=0) / x.sum()
    mean = x.sum(axis=1).mean()

    def resp(b: float) -> float:
        a = b * share / size  # normalised weights: the steady adstock is the spend itself
        return float((p["beta"] * _sat(saturation, a, p) * size).sum())

    h = 1e-4 * mean
    return (resp(mean + h) - resp(mean - h)) / (2 * h)
