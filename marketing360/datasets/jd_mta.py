"""The simulation study of JD's causal multi-touch attribution paper, as a simulator preset with its exact truth.

Du, Zhong, Nair, Cui & Shou (2019), *Causally Driven Incremental Multi Touch
Attribution Using a Recurrent Neural Network*, check their RNN on a small
simulated world (described in the paper's repository, jd-ads-data/jd-mta; the
design and parameters are taken from there, the code is ours). Consumers
``i`` see ads of ``B`` brands on ``T`` days in ``P`` ad positions:

* ``x[i, t, b, k] ~ Poisson(a)`` impressions of brand ``b``'s ads in position ``k`` on day ``t``;
* a brand profile (their "price index") ``r[t, b] ~ |lognormal(0, 1)|``, drawn once per world and
  shared by every consumer; a consumer profile ``d[i] ~ U(0, 1)``;
* a recurrent brand state ``h[i, 0, b] ~ N(0, h0_sd^2)`` moved by each day's exposures:
  ``h[t+1] = lambda1 * sigmoid(alpha0 + x[t, b] . alpha1[b] + r[t, b] * alpha2[b]) + (1 - lambda1) * h[t]``;
* ``u[t, b] = b0 * d + x[t, b] . b1[b] + b2[b] * h[t+1] + r[t, b] * b3[b]``; the consumer buys brand
  ``b`` on day ``t`` with probability ``p = sigmoid(u)`` (a Bernoulli draw per day and brand).

Published values: ``B = 2``, ``T = 5``, ``P = 2``, ``a = 2``, 100,000 consumers,
``lambda1 = 0.5``, ``alpha0 = 1``, ``alpha1 ~ |lognormal(0, 1)|`` (brand x
position), ``alpha2 ~ lognormal(0, 1)`` (per brand), ``b0 = -200``, ``b1 ~ U(0.1, 0.9)``
(brand x position), ``b2 = 0.01``, ``b3 ~ lognormal(0, 1)`` (per brand). With
``b0 = -200`` a consumer buys with a non-negligible probability only when
``d`` is below a few hundredths: the consumer profile decides who converts,
the ads how often.

One difference from their script: it draws the initial state for brand 0 only
(``h[0]`` of brand 0, and a second value that the day-1 update overwrites), so
brand 1 starts every consumer at 0. Here every brand starts at ``N(0, 1)``, as
their description says.

The truth
---------
Per consumer, brand and day, the worth of a set ``S`` of positions is the
conversion probability in the world where the positions outside ``S`` never
showed an ad (their impressions zeroed from day 1 on, in ``u`` and in the
recurrence), minus the probability with no ads at all; every world uses the
same draws (``x``, ``r``, ``h0``, ``d``). The exact Shapley value of each
position over the ``2^P`` sets, summed over consumers and days, is its true
incremental conversions (in expectation: probabilities, not Bernoulli draws);
per brand and in total.

Examples
--------
>>> w = simulate_jd_mta(n_users=2_000, seed=0)
>>> w
<JDMTAWorld: 2,000 consumers, 2 brands, 2 positions, 5 days, 79,927 events>
>>> w.truth[["brand", "channel"]].assign(share=w.truth.share.round(3))
     brand     channel  share
0  brand_1  position_1  0.218
1  brand_1  position_2  0.228
2  brand_2  position_1  0.224
3  brand_2  position_2  0.330
>>> round(w.totals["incremental_conversions"], 1), round(w.totals["expected_conversions"], 1)
(199.3, 330.0)
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.special import expit

from ..errors import ParameterError
from ..estimators import check_random_state
from ..models.shapley import exact_shapley

__all__ = ["JDMTAParams", "JDMTAWorld", "simulate_jd_mta", "MAX_POSITIONS"]

#: the most ad positions a world may have (the truth evaluates all 2^P sets of positions)
MAX_POSITIONS = 10

#: the random parameters, in the order they are drawn (see JDMTAParams.draw)
_RANDOM = ("alpha1", "alpha2", "b1", "b3", "brand_profile")
#: the shape of each array parameter, in brands B, days T and positions P
_SHAPES = {"alpha1": ("B", "P"), "alpha2": ("B",), "b1": ("B", "P"), "b2": ("B",), "b3": ("B",),
           "brand_profile": ("T", "B")}


def _positive_int(name: str, v: Any, most: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or int(v) < 1 or (most is not None and int(v) > most):
        allowed = "a positive integer" + (f" up to {most}" if most is not None else "")
        raise ParameterError(f"{name} must be {allowed}; found {v!r}")
    return int(v)


def _real(name: str, v: Any, *, low: float = -math.inf, high: float = math.inf, open_low: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(float(v)) \
            or not (low < float(v) if open_low else low <= float(v)) or float(v) > high:
        rng = ("a finite number" if low == -math.inf and high == math.inf else
               f"a number {'>' if open_low else '>='} {low:g}" + (f" and <= {high:g}" if high < math.inf else ""))
        raise ParameterError(f"{name} must be {rng}; found {v!r}")
    return float(v)


@dataclass(frozen=True, eq=False)
class JDMTAParams:
    """The parameters of the JD simulation study; the published values by default.

    The random parameters (``alpha1``, ``alpha2``, ``b1``, ``b3``,
    ``brand_profile``) are drawn from the world's seed where left as None
    (:meth:`draw`); give an array (or a number, repeated) to fix one. Shapes:
    ``(n_brands, n_positions)`` for ``alpha1`` and ``b1``, ``(n_brands,)`` for
    ``alpha2``, ``b2`` and ``b3``, ``(n_days, n_brands)`` for ``brand_profile``.

    Parameters
    ----------
    n_brands, n_days, n_positions : int
        Brands, days and ad positions (at most :data:`MAX_POSITIONS`).
    mean_impressions : float
        ``a``: mean Poisson impressions per consumer, day, brand and position.
    lambda1 : float
        Weight of the day's exposure in the recurrent state, in [0, 1].
    alpha0 : float
        Intercept of the state update.
    alpha1 : array, optional
        Effect of each position's impressions on the state (``|lognormal(0, 1)|``).
    alpha2 : array, optional
        Effect of the brand profile on the state (``lognormal(0, 1)``).
    b0 : float
        Effect of the consumer profile ``d ~ U(0, 1)`` on the conversion logit.
    b1 : array, optional
        Effect of each position's impressions on the conversion logit (``U(0.1, 0.9)``).
    b2 : array or float
        Effect of the recurrent state on the conversion logit.
    b3 : array, optional
        Effect of the brand profile on the conversion logit (``lognormal(0, 1)``).
    brand_profile : array, optional
        ``r``, per day and brand (``|lognormal(0, 1)|``).
    h0_sd : float
        Standard deviation of the initial state ``h0 ~ N(0, h0_sd^2)``.

    Examples
    --------
    >>> p = JDMTAParams(b1=[[0.5, 0.0], [0.2, 0.3]]).draw(0)
    >>> p.b1.tolist(), p.alpha1.shape, p.is_drawn
    ([[0.5, 0.0], [0.2, 0.3]], (2, 2), True)
    """

    n_brands: int = 2
    n_days: int = 5
    n_positions: int = 2
    mean_impressions: float = 2.0
    lambda1: float = 0.5
    alpha0: float = 1.0
    alpha1: ArrayLike | None = None
    alpha2: ArrayLike | None = None
    b0: float = -200.0
    b1: ArrayLike | None = None
    b2: ArrayLike = 0.01
    b3: ArrayLike | None = None
    brand_profile: ArrayLike | None = None
    h0_sd: float = 1.0

    def __post_init__(self) -> None:
        dims = {"B": _positive_int("n_brands", self.n_brands), "T": _positive_int("n_days", self.n_days),
                "P": _positive_int("n_positions", self.n_positions, MAX_POSITIONS)}
        scalars = {"mean_impressions": _real("mean_impressions", self.mean_impressions, low=0, open_low=True),
                   "lambda1": _real("lambda1", self.lambda1, low=0, high=1),
                   "alpha0": _real("alpha0", self.alpha0), "b0": _real("b0", self.b0),
                   "h0_sd": _real("h0_sd", self.h0_sd, low=0)}
        for name, v in scalars.items():
            object.__setattr__(self, name, v)
        for name, v in zip(("n_brands", "n_days", "n_positions"), dims.values(), strict=True):
            object.__setattr__(self, name, v)
        for name, dim_names in _SHAPES.items():
            v = getattr(self, name)
            if v is None and name in _RANDOM:
                continue  # drawn from the world's seed
            shape = tuple(dims[d] for d in dim_names)
            try:
                arr = np.asarray(v, dtype=float)
            except (TypeError, ValueError):
                raise ParameterError(f"{name} must be numbers of shape {shape} ({' x '.join(dim_names)}); "
                                     f"found {v!r}") from None
            if arr.ndim == 0:
                arr = np.full(shape, float(arr))
            if arr.shape != shape:
                labels = {"B": "brands", "T": "days", "P": "positions"}
                raise ParameterError(f"{name} must have shape {shape} ({' x '.join(labels[d] for d in dim_names)}) "
                                     f"or be one number; found shape {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise ParameterError(f"{name} must be finite numbers; found {arr.tolist()}")
            if name == "brand_profile" and (arr < 0).any():
                raise ParameterError(f"brand_profile must be >= 0 (an index); found {arr.tolist()}")
            arr = arr.copy()
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def is_drawn(self) -> bool:
        """Whether every random parameter has a value (the parameters of a simulated world)."""
        return all(getattr(self, n) is not None for n in _RANDOM)

    @property
    def brands(self) -> list[str]:
        """``brand_1``, ``brand_2``, ..."""
        return [f"brand_{b + 1}" for b in range(self.n_brands)]

    @property
    def channels(self) -> list[str]:
        """The ad positions as channels: ``position_1``, ``position_2``, ..."""
        return [f"position_{k + 1}" for k in range(self.n_positions)]

    def draw(self, seed: int | np.random.Generator | None = 0) -> "JDMTAParams":
        """These parameters with every random one that is None drawn from ``seed``.

        All five are always drawn, in the order ``alpha1, alpha2, b1, b3,
        brand_profile``, and the given ones kept: fixing one parameter leaves
        the draws of the others as they were.
        """
        rng = check_random_state(seed)
        B, T, P = self.n_brands, self.n_days, self.n_positions
        drawn: dict[str, Any] = {
            "alpha1": np.abs(rng.lognormal(0.0, 1.0, (B, P))), "alpha2": rng.lognormal(0.0, 1.0, B),
            "b1": rng.uniform(0.1, 0.9, (B, P)), "b3": rng.lognormal(0.0, 1.0, B),
            "brand_profile": np.abs(rng.lognormal(0.0, 1.0, (T, B)))}
        return replace(self, **{n: v for n, v in drawn.items() if getattr(self, n) is None})

    def to_dict(self) -> dict[str, Any]:
        """Every parameter, arrays as (nested) lists: JSON-ready."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.init:
                v = getattr(self, f.name)
                out[f.name] = v.tolist() if isinstance(v, np.ndarray) else v
        return out

    def table(self) -> pd.DataFrame:
        """The parameters as a tidy frame: ``parameter, brand, channel, day, value`` (None where not indexed)."""
        rows: list[dict[str, Any]] = []
        for f in fields(self):
            if not f.init or f.name in ("n_brands", "n_days", "n_positions"):
                continue
            v = getattr(self, f.name)
            if v is None:
                continue
            if not isinstance(v, np.ndarray):
                rows.append({"parameter": f.name, "value": float(v)})
                continue
            for idx in np.ndindex(v.shape):
                row: dict[str, Any] = {"parameter": f.name, "value": float(v[idx])}
                for d, i in zip(_SHAPES[f.name], idx, strict=True):
                    if d == "B":
                        row["brand"] = self.brands[i]
                    elif d == "P":
                        row["channel"] = self.channels[i]
                    else:
                        row["day"] = i + 1
                rows.append(row)
        out = pd.DataFrame(rows, columns=["parameter", "brand", "channel", "day", "value"])
        out["day"] = out["day"].astype("Int64")
        return out.astype({"brand": object, "channel": object}).where(out.notna(), None)


@dataclass(frozen=True, eq=False, repr=False)
class JDMTAWorld:
    """A world of the JD simulation study (:func:`simulate_jd_mta`) and its exact truth.

    Attributes
    ----------
    events : pandas.DataFrame
        Canonical events: one ``impression`` row per impression (``channel``
        ``position_k``, ``brand``, a time drawn uniformly within its day) and
        one ``purchase`` row per conversion (at the day's last microsecond,
        after every impression of the day: a day's conversion answers that
        day's exposures). Sorted by consumer and time.
    users : pandas.DataFrame
        ``user_id, profile`` (the consumer profile ``d``).
    latent : pandas.DataFrame
        Per consumer, brand and day (1 to ``n_days``): ``h_prev`` (the state
        entering the day; day 1: ``h0``), ``h`` (after the day's exposures),
        ``impressions`` (all positions), ``p`` (conversion probability) and
        ``converted``.
    truth : pandas.DataFrame
        ``brand, channel, conversions, share``: each position's exact Shapley
        share of the expected incremental conversions of each brand, and its
        share of all of them (summed per channel it is what
        :func:`~marketing360.attribution.score` reads).
    coalitions : pandas.DataFrame
        ``brand, coalition, positions, conversions``: the expected conversions
        with only the positions of each set showing ads (``coalition`` is the
        bit mask, position ``k`` bit ``k - 1``).
    totals : dict
        ``conversions`` (drawn), ``expected_conversions`` (sum of ``p``),
        ``baseline_conversions`` (no ads), ``incremental_conversions``,
        ``units`` (consumer x brand x day).
    params : JDMTAParams
        The parameters with the random ones drawn.
    config : dict
        ``n_users, seed, start, n_days``.
    """

    events: pd.DataFrame
    users: pd.DataFrame
    latent: pd.DataFrame
    truth: pd.DataFrame
    coalitions: pd.DataFrame
    totals: dict[str, float]
    params: JDMTAParams
    config: dict[str, Any]

    @property
    def brands(self) -> list[str]:
        return self.params.brands

    @property
    def channels(self) -> list[str]:
        return self.params.channels

    @property
    def start(self) -> pd.Timestamp:
        """Midnight of day 1."""
        return pd.Timestamp(self.config["start"])

    @property
    def end(self) -> pd.Timestamp:
        """Midnight after the last day (where calendar journeys end)."""
        return self.start + pd.Timedelta(days=self.params.n_days)

    def truth_by_channel(self) -> pd.DataFrame:
        """``channel, conversions, share``: the true incremental conversions of each position over all brands."""
        t = self.truth.groupby("channel", sort=False, as_index=False)["conversions"].sum()
        total = t.conversions.sum()
        return t.assign(share=t.conversions / total if total != 0 else np.nan)

    def population(self) -> pd.DataFrame:
        """Every consumer x brand (``user_id, brand``): the journeys' population, no-ad pairs included."""
        return self.users[["user_id"]].merge(pd.DataFrame({"brand": self.brands}), how="cross")

    def __repr__(self) -> str:
        p = self.params
        return (f"<JDMTAWorld: {len(self.users):,} consumers, {p.n_brands} brands, {p.n_positions} positions, "
                f"{p.n_days} days, {len(self.events):,} events>")


# ============================================================================ the model


def _probabilities(x: np.ndarray, d: np.ndarray, h0: np.ndarray, p: JDMTAParams,
                   mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """States ``(n, T + 1, B)`` and conversion probabilities ``(n, T, B)`` with only the positions in ``mask``.

    ``x`` is ``(n, T, B, P)`` impressions; the positions outside ``mask`` show
    nothing on any day (in the conversion logit and in the recurrence).
    """
    n, T, B, _ = x.shape
    alpha1, alpha2 = np.asarray(p.alpha1), np.asarray(p.alpha2)
    b1, b2, b3, r = np.asarray(p.b1), np.asarray(p.b2), np.asarray(p.b3), np.asarray(p.brand_profile)
    xs = x * mask.astype(float)
    h = np.empty((n, T + 1, B))
    h[:, 0] = h0
    prob = np.empty((n, T, B))
    for t in range(T):
        to_state = p.alpha0 + np.einsum("nbk,bk->nb", xs[:, t], alpha1) + r[t] * alpha2
        h[:, t + 1] = p.lambda1 * expit(to_state) + (1.0 - p.lambda1) * h[:, t]
        u = p.b0 * d[:, None] + np.einsum("nbk,bk->nb", xs[:, t], b1) + b2 * h[:, t + 1] + r[t] * b3
        prob[:, t] = expit(u)
    return h, prob


def simulate_jd_mta(n_users: int = 100_000, *, params: JDMTAParams | None = None,
                    seed: int | np.random.Generator | None = 0, start: Any = "2026-01-01") -> JDMTAWorld:
    """Simulate the JD paper's MTA study and compute its exact true incremental Shapley credit per position.

    Parameters
    ----------
    n_users : int
        Consumers (the study: 100,000).
    params : JDMTAParams, optional
        The published design by default; random parameters left as None are
        drawn from ``seed`` first.
    seed : int, numpy Generator or None
        Seeds everything: the random parameters, then impressions ``x``,
        profiles ``d``, initial states ``h0``, conversions and impression times.
    start : date-like
        Day 1 (a midnight, UTC).

    Returns
    -------
    JDMTAWorld
        Events, consumers, latent states, the exact truth and the parameters.

    Raises
    ------
    ParameterError
        ``n_users`` not a positive integer, ``params`` not a :class:`JDMTAParams`,
        a bad ``seed``, or ``start`` not a midnight.
    """
    n = _positive_int("n_users", n_users)
    if params is None:
        params = JDMTAParams()
    if not isinstance(params, JDMTAParams):
        raise ParameterError(f"params must be a JDMTAParams; found {type(params).__name__}")
    try:
        day1 = pd.Timestamp(start)
    except (TypeError, ValueError):
        raise ParameterError(f"start must be a date (e.g. '2026-01-01'); found {start!r}") from None
    if pd.isna(day1):
        raise ParameterError(f"start must be a date (e.g. '2026-01-01'); found {start!r}")
    if day1.tzinfo is not None:
        day1 = day1.tz_convert("UTC").tz_localize(None)
    if day1 != day1.normalize():
        raise ParameterError(f"start must be a midnight (day 1 starts there); found {day1}")
    rng = check_random_state(seed)
    p = params.draw(rng)
    B, T, P = p.n_brands, p.n_days, p.n_positions
    x = rng.poisson(p.mean_impressions, (n, T, B, P))
    d = rng.uniform(0.0, 1.0, n)
    h0 = rng.normal(0.0, p.h0_sd, (n, B))

    # every set of positions (bit k - 1 = position k): expected conversions per brand, same draws in each
    worth = np.empty((B, 1 << P))
    full = (1 << P) - 1
    for s in range(1 << P):
        mask = (s >> np.arange(P)) & 1 == 1
        h, prob = _probabilities(x, d, h0, p, mask)
        worth[:, s] = prob.sum(axis=(0, 1))
        if s == full:
            h_obs, p_obs = h, prob
    y = rng.random((n, T, B)) < p_obs

    shapley = np.stack([exact_shapley(worth[b]) for b in range(B)])  # brands x positions
    incremental = float(worth[:, full].sum() - worth[:, 0].sum())
    truth = pd.DataFrame({"brand": np.repeat(p.brands, P), "channel": np.tile(p.channels, B),
                          "conversions": shapley.ravel()})
    truth["share"] = truth.conversions / incremental if incremental != 0 else np.nan
    coalitions = pd.DataFrame({
        "brand": np.repeat(p.brands, 1 << P), "coalition": np.tile(np.arange(1 << P), B),
        "positions": np.tile([" + ".join(c for k, c in enumerate(p.channels) if s >> k & 1) or "(none)"
                              for s in range(1 << P)], B),
        "conversions": worth.ravel()})
    totals = {"conversions": float(y.sum()), "expected_conversions": float(worth[:, full].sum()),
              "baseline_conversions": float(worth[:, 0].sum()), "incremental_conversions": incremental,
              "units": float(n * T * B)}

    users = pd.DataFrame({"user_id": np.arange(n, dtype=np.int64), "profile": d})
    ui, ti, bi = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(T), np.arange(B), indexing="ij"))
    latent = pd.DataFrame({"user_id": ui.astype(np.int64), "brand": np.asarray(p.brands, dtype=object)[bi],
                           "day": (ti + 1).astype(np.int64), "h_prev": h_obs[:, :-1].ravel(),
                           "h": h_obs[:, 1:].ravel(), "impressions": x.sum(axis=3).ravel().astype(np.int64),
                           "p": p_obs.ravel(), "converted": y.ravel()})
    events = _events(x, y, p, day1, rng)
    config = {"n_users": n, "seed": seed if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
              else None, "start": str(day1.date()), "n_days": T}
    return JDMTAWorld(events=events, users=users, latent=latent, truth=truth, coalitions=coalitions,
                      totals=totals, params=p, config=config)


def _events(x: np.ndarray, y: np.ndarray, p: JDMTAParams, day1: pd.Timestamp,
            rng: np.random.Generator) -> pd.DataFrame:
    """Impressions (one row each, a uniform second of their day) and purchases (the day's last microsecond)."""
    n, T, B, P = x.shape
    counts = x.ravel()
    cell = np.repeat(np.arange(counts.size), counts)  # one entry per impression: its (user, day, brand, position)
    iu, it, ib, ik = np.unravel_index(cell, x.shape)
    base = np.datetime64(day1.to_datetime64(), "us")
    day_us = np.int64(86_400_000_000)
    secs = rng.integers(0, 86_400, size=len(cell)).astype(np.int64) * 1_000_000
    imp_ts = base + (it.astype(np.int64) * day_us + secs).astype("timedelta64[us]")
    cu, ct, cb = np.nonzero(y)
    buy_ts = base + ((ct.astype(np.int64) + 1) * day_us - 1).astype("timedelta64[us]")
    brands = np.asarray(p.brands, dtype=object)
    channels = np.asarray(p.channels, dtype=object)
    n_imp, n_buy = len(cell), len(cu)
    ev = pd.DataFrame({
        "user_id": np.r_[iu, cu].astype(np.int64),
        "ts": np.r_[imp_ts, buy_ts],
        "brand": np.r_[brands[ib], brands[cb]],
        "event_type": np.r_[np.full(n_imp, "impression", dtype=object), np.full(n_buy, "purchase", dtype=object)],
        "channel": np.r_[channels[ik], np.full(n_buy, None, dtype=object)],
        "campaign": np.full(n_imp + n_buy, None, dtype=object),
        "value": np.full(n_imp + n_buy, np.nan),
        "cost": np.full(n_imp + n_buy, np.nan),
    })
    order = np.lexsort((ev["ts"].to_numpy(), ev["user_id"].to_numpy()))
    return ev.iloc[order].reset_index(drop=True)
