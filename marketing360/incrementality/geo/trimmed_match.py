"""Trimmed Match: a robust iROAS for randomised paired geo experiments (Chen & Au, 2022).

In a paired design each pair holds one treatment and one control geo. Over
the test period each pair gives the differences (treatment - control) of the
response, ``dr``, and of the cost, ``dc``. The iROAS ``theta`` makes the
residuals ``dr - theta * dc`` centred: Trimmed Match solves

    trimmed mean of {dr_i - theta * dc_i} = 0

with a share ``trim_rate`` of the residuals trimmed from each tail (with no
trimming, the ratio ``sum(dr) / sum(dc)``). As ``theta`` moves, the residuals
change order only where two of them cross, at ``theta_ij = (dr_i - dr_j) /
(dc_i - dc_j)``; between two crossings the trimmed mean is linear, so every
root is found exactly, and where several exist the one with the smallest
trimmed symmetric norm wins. This follows Google's ``trimmed_match`` package
(``trimmed_match/core/geox_data_util.cc``, ``estimator.cc``):

* standard error: eq. (8.2) of the paper, the winsorised sum of squared
  residuals over the squared trimmed mean of ``dc``;
* trim rate: the candidates ``0, 1/n, 2/n, ...`` up to ``max_trim_rate``
  (at most ``0.5 - 1/n`` and 0.3); the smallest whose standard error is within
  ``1 + 0.25 / sqrt(n)`` of the smallest one;
* interval: the ``theta`` whose studentised trimmed mean of the residuals is
  within a critical value of 0 (a quadratic inequality between two
  crossings), its convex hull; where that is wider than ``1e6`` standard
  errors, ``estimate -/+ 3 c se``;
* the package's default confidence is 0.80 (``alpha=0.2`` here).

The package takes the normal quantile as the critical value
(``inference="normal"`` here). With ten pairs that is too small twice over:
the studentised trimmed mean of a handful of residuals has heavier tails than
the normal, and the trim rate with the smallest standard error is chosen from
the same data, so its standard error is the one most likely to be too small.
On 200 simulated ten-pair tests the package's 95% intervals covered the true
iROAS 83-87% of the time. By default (``inference="bootstrap"``) the critical
value comes from a wild bootstrap of the whole procedure: the residuals at
the estimate get random signs, each replicate is fitted again, choosing its
own trim rate, and the critical value is the ``1 - alpha`` quantile of the
replicates' ``|studentised trimmed mean|`` at the estimate. Flipping every
sign gives the same statistic (the fit mirrors around the estimate), so the
first pair keeps its sign: all ``2**(n-1)`` patterns are used when there are
at most ``n_bootstrap`` (up to 10 pairs by default), else that many random
ones. The p-value compares the statistic at iROAS = 0 with the same
distribution, ``(1 + replicates at least as large) / (1 + replicates)``. On
the same 200 ten-pair tests it covered 92-93%; on other worlds
(``benchmarks/trimmed_match_check.py``) 94-97% with 12 pairs and 88-96% with 8
(the normal quantile: 86-91% and 81-89%), at 1.3-1.7 times the width.

:func:`trimmed_match` reads the long ``date, geo, response, cost, pair,
assignment`` table of the package's post-analysis colab (assignment 1 =
treatment, 2 = control) and reports the iROAS and the incremental response;
:func:`fit_trimmed_match` runs the estimator on the pair differences alone.

Examples
--------
>>> fit = fit_trimmed_match([1.0, 10.0, 3.0, 8.0], [1.0, 5.0, 2.0, 5.0], alpha=0.1, inference="normal")
>>> round(fit.estimate, 3), round(fit.std_error, 3), fit.trim_rate
(1.571, 0.041, 0.25)
>>> round(fit.lower, 2), round(fit.upper, 3)
(-29.37, 1.619)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from ...errors import ParameterError, SchemaError
from ...estimators import check_random_state
from ...types import TableLike, TrimmedMatchInference, TrimmedMatchPlot
from ..effects import Effects, check_alpha, check_count
from .panel import LOCATION_NAMES, GeoPanel, pick_column, resolve_locations
from .tbr import _after, _arms, _as_panel, _geo_values, _same, _window

__all__ = ["TrimmedMatchEffects", "TrimmedMatchFit", "fit_trimmed_match", "trimmed_match", "TrimmedMatchPlot"]


#: most pairs :func:`fit_trimmed_match` takes: the crossing table holds pairs^3 bytes (1,000 pairs: about 1 GiB)
MAX_PAIRS = 1_000
_MIN_COST_GAP = 1e-10        # at least one pair must differ in cost by more than this (as the package)
_MAX_TRIM = 0.30             # the package's ceiling on the trim rate
_BOUND = 1e10                # |iROAS| bound of the interval search (kBoundIroas)
_EXTREME_WIDTH = 1e6         # an interval wider than this many standard errors ...
_WIDE_MULTIPLIER = 3.0       # ... is replaced by estimate -/+ 3 z se
_CHUNK = 1 << 21             # residual cells handled at once


@dataclass(frozen=True)
class TrimmedMatchFit:
    """The Trimmed Match estimate from pair differences.

    Attributes
    ----------
    estimate, std_error : float
        iROAS and its standard error (eq. 8.2 of Chen & Au).
    trim_rate : float
        Share of the pairs trimmed from each tail.
    lower, upper : float
        The ``1 - alpha`` interval (inverted studentised trimmed mean).
    alpha : float
    p_value : float
        Two-sided p-value of the studentised trimmed mean of ``delta_response`` (iROAS = 0): against
        the bootstrap distribution, or the normal.
    candidates : pandas.DataFrame
        ``trim_rate, iroas, std_error`` of every candidate trim rate examined.
    epsilons : numpy.ndarray
        ``delta_response - estimate * delta_cost`` per pair, in input order.
    trimmed : numpy.ndarray
        Whether each pair (input order) is trimmed at the estimate.
    n_trim : int
        Pairs trimmed from each tail (``ceil(trim_rate * n)``).
    inference : {"bootstrap", "normal"}
    critical_value : float
        The critical value of the ``1 - alpha`` interval (the normal quantile, or the bootstrap's).
    delta_response, delta_cost : numpy.ndarray
        The pair differences the fit was made from (input order).
    null_statistics : numpy.ndarray
        The bootstrap replicates' ``|studentised trimmed mean|`` at the estimate, sorted (empty for
        ``inference="normal"``).
    exhaustive : bool
        Whether the replicates are every sign pattern (else random ones).
    """

    estimate: float
    std_error: float
    trim_rate: float
    lower: float
    upper: float
    alpha: float
    p_value: float
    candidates: pd.DataFrame
    epsilons: np.ndarray
    trimmed: np.ndarray
    n_trim: int
    inference: TrimmedMatchInference
    critical_value: float
    delta_response: np.ndarray = field(repr=False)
    delta_cost: np.ndarray = field(repr=False)
    null_statistics: np.ndarray = field(repr=False)
    exhaustive: bool = False

    def interval(self, alpha: float) -> tuple[float, float]:
        """The ``1 - alpha`` interval, the test inverted again at that level (at the chosen trim rate).

        Examples
        --------
        >>> fit = fit_trimmed_match([1.0, 10.0, 3.0, 8.0], [1.0, 5.0, 2.0, 5.0], trim_rate=0.0, alpha=0.1,
        ...                         inference="normal")
        >>> [round(b, 3) for b in fit.interval(0.1)], [round(b, 3) for b in fit.interval(0.05)]
        ([1.25, 1.905], [1.056, 1.941])
        """
        a = check_alpha(alpha)
        crit = _critical(self.null_statistics, a) if self.inference == "bootstrap" else _normal(a)
        return _Core(self.delta_response, self.delta_cost).interval(self.n_trim, crit, self.estimate,
                                                                    self.std_error)


class _Core:
    """Pairs sorted by cost difference, the crossings of their residual lines, and the residual order
    between two consecutive crossings (one row per such interval)."""

    def __init__(self, dr: np.ndarray, dc: np.ndarray) -> None:
        n = len(dr)
        o = np.lexsort((dr, dc))
        self.n, self.r, self.c = n, dr[o], dc[o]
        i, j = np.triu_indices(n, 1)
        gap = self.c[j] - self.c[i]
        keep = gap > 0  # equal cost differences never cross
        self.bps = np.unique((self.r[j] - self.r[i])[keep] / gap[keep])
        b = self.bps
        if len(b):
            mids = np.concatenate([[b[0] - 1.0], (b[:-1] + b[1:]) / 2, [b[-1] + 1.0]])
        else:
            mids = np.zeros(1)
        self.lo = np.concatenate([[-np.inf], b])
        self.hi = np.concatenate([b, [np.inf]])
        dtype = np.int16 if n < np.iinfo(np.int16).max else np.int32
        self.order = np.empty((len(mids), n), dtype=dtype)
        for s in self._chunks():
            res = self.r[None, :] - mids[s, None] * self.c[None, :]
            self.order[s] = np.argsort(res, axis=1, kind="stable")
        self._k = 0
        self._tr = self._tc = np.zeros(0)

    def _chunks(self) -> list[slice]:
        m = len(self.lo)
        step = max(1, _CHUNK // max(self.n, 1))
        return [slice(k, min(m, k + step)) for k in range(0, m, step)]

    def _tail_sums(self, n1: int) -> tuple[np.ndarray, np.ndarray]:
        """Per interval, the response and cost differences summed over the ``n1`` lowest and ``n1`` highest
        residuals (kept from the previous call, so the candidate trim rates cost one column each)."""
        if n1 < self._k:
            self._k = 0
        if self._k == 0:
            self._tr = np.zeros(len(self.lo))
            self._tc = np.zeros(len(self.lo))
        for k in range(self._k, n1):
            ends = self.order[:, [k, self.n - 1 - k]]
            self._tr += self.r[ends].sum(axis=1)
            self._tc += self.c[ends].sum(axis=1)
        self._k = n1
        return self._tr, self._tc

    def iroas(self, n1: int) -> float | None:
        """The root of the trimmed-mean equation (None if none exists)."""
        if n1 == 0:
            total = float(self.c.sum())
            return float(self.r.sum()) / total if total != 0 else None
        tr, tc = self._tail_sums(n1)
        sr, sc = self.r.sum() - tr, self.c.sum() - tc
        with np.errstate(divide="ignore", invalid="ignore"):
            cand = np.where(sc != 0, sr / np.where(sc != 0, sc, 1.0), np.nan)
        roots = np.unique(cand[(cand >= self.lo) & (cand <= self.hi)])
        if len(roots) <= 1:
            return float(roots[0]) if len(roots) else None
        norms = [_symmetric_norm(self.r - t * self.c, n1) for t in roots]
        return float(roots[int(np.argmin(norms))])

    def std_error(self, n1: int, iroas: float) -> float:
        """Eq. (8.2): winsorised squared residuals over the squared trimmed mean cost difference."""
        res = self.r - iroas * self.c
        o = np.argsort(res, kind="stable")
        rs, cs = res[o], self.c[o]
        n2 = self.n - 1 - n1
        ss = n1 * (rs[n1] ** 2 + rs[n2] ** 2) + float(np.sum(rs[n1:n2 + 1] ** 2))
        mean_dc = float(cs[n1:n2 + 1].sum()) / self.n
        if mean_dc == 0:
            return float("inf")
        return float(np.sqrt(ss / (mean_dc ** 2 * self.n) / self.n))

    def interval(self, n1: int, z: float, iroas: float, se: float) -> tuple[float, float]:
        """Hull of the iROAS values whose studentised trimmed mean of residuals is within ``z`` of 0."""
        n, m = self.n, self.n - 2 * n1
        if not np.isfinite(z):
            return -np.inf, np.inf
        h = z * z * m / (m - 1)
        lows, ups = [], []
        for s in self._chunks():
            od = self.order[s]
            body = od[:, n1:n - n1]
            left, right = od[:, n1], od[:, n - 1 - n1]
            r, c = self.r, self.c
            x1, y1 = c[body].sum(axis=1), r[body].sum(axis=1)
            x2 = (c[body] ** 2).sum(axis=1) + n1 * (c[left] ** 2 + c[right] ** 2)
            y2 = (r[body] ** 2).sum(axis=1) + n1 * (r[left] ** 2 + r[right] ** 2)
            zz = (c[body] * r[body]).sum(axis=1) + n1 * (c[left] * r[left] + c[right] * r[right])
            x1w, y1w = x1 + n1 * (c[left] + c[right]), y1 + n1 * (r[left] + r[right])
            qa = h * (x2 - x1w ** 2 / n) - x1 ** 2
            qb = h * (zz - x1w * y1w / n) - x1 * y1
            qc = h * (y2 - y1w ** 2 / n) - y1 ** 2
            lo, up = _solve(qa, qb, qc, self.lo[s], self.hi[s])
            ok = ~np.isnan(lo)
            lows.extend(lo[ok].tolist())
            ups.extend(up[ok].tolist())
        if not lows:
            return float("nan"), float("nan")
        low, high = float(min(lows)), float(max(ups))
        if high - low > _EXTREME_WIDTH * se:
            width = se * z * _WIDE_MULTIPLIER
            return iroas - width, iroas + width
        return low, high


def _symmetric_norm(res: np.ndarray, n1: int) -> float:
    """Mean of |x_(i) + x_(n-1-i)| over the untrimmed order statistics."""
    s = np.sort(res)
    n = len(s)
    return float(np.abs(s[n1:n - n1] + s[::-1][n1:n - n1]).sum() / (n - 2 * n1))


def _studentized_trimmed_mean(res: np.ndarray, n1: int) -> np.ndarray:
    """Trimmed mean over its winsorised standard error, of each row of ``res`` (the last axis)."""
    s = np.sort(res, axis=-1)
    n = s.shape[-1]
    m = n - 2 * n1
    trim_sum = s[..., n1:n - n1].sum(axis=-1)
    w = s.copy()
    w[..., :n1] = s[..., n1:n1 + 1]
    w[..., n - n1:] = s[..., n - 1 - n1:n - n1]
    ssw = np.sum((w - w.mean(axis=-1, keepdims=True)) ** 2, axis=-1)
    flat = ssw <= 1e-12 * np.sum(w * w, axis=-1)  # equal values, up to rounding
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (trim_sum / m) / np.sqrt(ssw / m / (m - 1))
        return np.where(flat, np.where(trim_sum == 0, 0.0, np.sign(trim_sum) * np.inf), t)


def _solve(a: np.ndarray, b: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """Per interval, the smallest and largest x in [lo, hi] (and |x| <= 1e10) with a x^2 - 2 b x + c >= 0."""
    mn, mx = np.maximum(-_BOUND, lo), np.minimum(_BOUND, hi)
    f1, f2 = a * mn * mn - 2 * b * mn + c, a * mx * mx - 2 * b * mx + c
    raw = b * b - a * c
    eps = 32 * np.finfo(float).eps
    close = np.abs(raw) <= np.maximum(eps * np.maximum(np.abs(b * b), np.abs(a * c)), eps)
    disc = np.where(close, 0.0, raw)
    root = np.sqrt(np.maximum(raw, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        linear = np.where(b != 0, 0.5 * c / np.where(b != 0, b, 1.0), np.nan)
        small = np.where(a == 0, linear, (b - root) / np.where(a == 0, 1.0, a))
        large = np.where(a == 0, linear, (b + root) / np.where(a == 0, 1.0, a))
        center = np.where(a != 0, b / np.where(a != 0, a, 1.0), np.nan)
        shift = np.where(a != 0, np.sqrt(np.maximum(disc, 0.0)) / np.where(a != 0, a, 1.0), np.nan)
    low = np.full(len(a), np.nan)
    up = np.full(len(a), np.nan)
    both = (f1 >= 0) & (f2 >= 0)
    first = (f1 >= 0) & (f2 < 0)
    last = (f1 < 0) & (f2 >= 0)
    inner = (f1 < 0) & (f2 < 0) & (disc >= 0) & (a < 0) & (center >= mn) & (center <= mx)
    low[both], up[both] = mn[both], mx[both]
    low[first], up[first] = mn[first], small[first]
    low[last], up[last] = large[last], mx[last]
    low[inner], up[inner] = center[inner] + shift[inner], center[inner] - shift[inner]
    return low, up


def _n_trimmed(rate: float, n: int) -> int:
    """Pairs trimmed from each tail at ``rate`` (``ceil(rate * n)``, free of floating-point excess)."""
    return int(np.ceil(rate * n - 1e-9))


def _n_rates(cap: float, n: int) -> int:
    """How many candidate trim rates ``0, 1/n, 2/n, ...`` lie in ``[0, cap]``."""
    return int(np.floor(cap * n + 1e-9)) + 1


def _candidates(core: _Core, cap: float) -> list[tuple[float, float, float, int]]:
    """``(trim_rate, iroas, std_error, n_trim)`` of the trim rates ``0, 1/n, ...`` up to ``cap`` that have a root."""
    rows = []
    for i in range(_n_rates(cap, core.n)):
        est = core.iroas(i)
        if est is None:  # no root at this rate (the package would stop here): not a candidate
            continue
        rows.append((i / core.n, est, core.std_error(i, est), i))
    return rows


def _check_inference(inference: Any, n_bootstrap: Any, what: str | None = None) -> None:
    if inference not in ("bootstrap", "normal"):
        raise ParameterError(f"{what + ': ' if what else ''}inference must be 'bootstrap' or 'normal'; found "
                             f"{inference!r}")
    check_count(n_bootstrap, "n_bootstrap", 100, what=what)


def _chosen(rows: list[tuple[float, float, float, int]], n: int) -> tuple[float, float, float, int]:
    """The package's choice: the smallest trim rate whose standard error is within ``1 + 0.25 / sqrt(n)`` of the
    smallest."""
    best = min(r[2] for r in rows)
    return next(r for r in rows if r[2] <= (1.0 + 0.25 / np.sqrt(n)) * best)


def _sign_patterns(n: int, n_max: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Sign patterns (rows of +-1) with the first sign +1: all ``2**(n-1)`` when there are at most ``n_max``, else
    ``n_max`` random ones (flipping every sign gives the same statistic)."""
    if n < 64 and 2 ** (n - 1) <= n_max:
        bits = (np.arange(2 ** (n - 1))[:, None] >> np.arange(n - 1)) & 1
        rest = 1.0 - 2.0 * bits
        exhaustive = True
    else:
        rest = rng.choice(np.array([-1.0, 1.0]), size=(n_max, n - 1))
        exhaustive = False
    return np.column_stack([np.ones(len(rest)), rest]), exhaustive


def _null_statistics(dc: np.ndarray, est: float, eps: np.ndarray, n_trim: int | None, cap: float,
                     signs: np.ndarray) -> np.ndarray:
    """The wild bootstrap: ``|studentised trimmed mean|`` at ``est`` of each replicate ``est * dc + sign * eps``,
    at the trim rate the replicate's own fit takes (``n_trim`` when the rate is fixed), sorted. A replicate with
    no root at any trim rate is left out."""
    flipped = signs * eps
    if n_trim is not None:
        return np.sort(np.abs(_studentized_trimmed_mean(flipped, n_trim)))
    out = np.full(len(flipped), np.nan)
    for b, e in enumerate(flipped):
        rows = _candidates(_Core(est * dc + e, dc), cap)
        if rows:
            out[b] = abs(float(_studentized_trimmed_mean(e, _chosen(rows, len(dc))[3])))
    return np.sort(out[~np.isnan(out)])


def _critical(null: np.ndarray, alpha: float) -> float:
    """The ``1 - alpha`` quantile of the bootstrap's ``|statistic|`` (the next replicate up)."""
    return float(np.quantile(null, 1 - alpha, method="higher"))


def _normal(alpha: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2))


def fit_trimmed_match(delta_response: Sequence[float] | np.ndarray, delta_cost: Sequence[float] | np.ndarray, *,
                      max_trim_rate: float = 0.25, trim_rate: float | None = None, alpha: float = 0.05,
                      inference: TrimmedMatchInference = "bootstrap", n_bootstrap: int = 1000,
                      random_state: Any = None) -> TrimmedMatchFit:
    """Trimmed Match on the pair differences (treatment - control) of response and cost.

    Parameters
    ----------
    delta_response, delta_cost : sequence of float
        One value per pair.
    max_trim_rate : float, default 0.25
        Largest share of pairs trimmed from each tail (capped at ``0.5 - 1/n`` and 0.3, as the package).
    trim_rate : float, optional
        A fixed trim rate in ``[0, max_trim_rate]``; by default chosen from the data.
    alpha : float, default 0.05
        ``1 - confidence`` of the interval (95%, as every estimator of marketing360; the trimmed_match
        package's default confidence is 0.8: ``alpha=0.2``).
    inference : {"bootstrap", "normal"}, default "bootstrap"
        The critical value of the interval and the p-value: the wild bootstrap of the whole fit
        (trim-rate choice included), or the package's normal quantile (which reproduces its figures,
        and covers less than it claims with few pairs: see the module notes).
    n_bootstrap : int, default 1000
        Bootstrap replicates: every sign pattern (with the first pair's sign fixed) when there are at
        most this many (up to 10 pairs), else this many random ones. A replicate costs a fit: the
        default takes about 0.3 s with 10 pairs, 3 s with 55 and minutes with 160 or more, where the
        normal quantile is close and ``inference="normal"`` much faster. With one candidate trim rate
        (a fixed one, or fewer than 4 pairs) the replicates need no fit and cost nothing. Random
        patterns leave Monte Carlo error in the critical value (about +-0.05 at 1,000 on Google's
        55-pair example): raise ``n_bootstrap`` for a verdict close to ``alpha``.
    random_state : int, numpy Generator or None
        Seeds the random sign patterns (unused when all are enumerated).

    Returns
    -------
    TrimmedMatchFit

    Raises
    ------
    ParameterError
        Lengths differ, fewer than 2 pairs, NaN, every cost difference 0 (iROAS undefined), a trim
        rate out of range, no root of the trimmed-mean equation at a fixed trim rate, an unknown
        ``inference``, or ``n_bootstrap`` below 100.

    Examples
    --------
    >>> fit = fit_trimmed_match([1.0, 10.0, 3.0, 8.0, 4.0, 6.0], [1.0, 5.0, 2.0, 5.0, 2.0, 3.0])
    >>> fit.inference, len(fit.null_statistics), fit.exhaustive  # all 2**5 sign patterns (first sign fixed)
    ('bootstrap', 32, True)
    >>> round(fit.critical_value, 2) > round(float(stats.norm.ppf(0.975)), 2)
    True
    """
    a = check_alpha(alpha)
    _check_inference(inference, n_bootstrap)
    rng = check_random_state(random_state)
    dr, dc = np.asarray(delta_response, dtype=float), np.asarray(delta_cost, dtype=float)
    if dr.ndim != 1 or dr.shape != dc.shape:
        raise ParameterError(f"delta_response and delta_cost must be two 1-d sequences of one length; found "
                             f"shapes {dr.shape} and {dc.shape}")
    n = len(dr)
    if n < 2:
        raise ParameterError(f"Trimmed Match needs at least 2 pairs; found {n}")
    if n > MAX_PAIRS:
        gib = n ** 3 / 2 ** 30
        raise ParameterError(f"Trimmed Match here handles at most {MAX_PAIRS:,} pairs (its exact crossing table "
                             f"grows as pairs^3: {n:,} pairs would need about {gib:,.0f} GiB); found {n:,}: pair "
                             "geos into fewer, larger units")
    if not (np.isfinite(dr).all() and np.isfinite(dc).all()):
        raise ParameterError("delta_response and delta_cost must be finite (no NaN or infinity)")
    if np.max(np.abs(dc)) < _MIN_COST_GAP:
        raise ParameterError("every pair has the same cost in treatment and control: the iROAS (incremental "
                             "response per unit of incremental cost) is undefined")
    try:
        mtr = float(max_trim_rate)
    except (TypeError, ValueError):
        raise ParameterError(f"max_trim_rate must be a number in [0, 0.5); found {max_trim_rate!r}") from None
    if not 0 <= mtr < 0.5:
        raise ParameterError(f"max_trim_rate must be in [0, 0.5); found {max_trim_rate!r}")
    cap = min(mtr, 0.5 - 1.0 / n, _MAX_TRIM)
    cap = max(cap, 0.0)
    core = _Core(dr, dc)
    rows: list[tuple[float, float, float, int]] = []
    if trim_rate is not None:
        rate = float(trim_rate)
        if not 0 <= rate <= cap + 1e-12:
            raise ParameterError(f"trim_rate must be in [0, {cap:.4g}] (max_trim_rate, at most 0.5 - 1/n with "
                                 f"{n} pairs, and 0.3); found {trim_rate!r}")
        n1 = _n_trimmed(rate, n)
        if n < 2 * n1 + 2:
            raise ParameterError(f"trim_rate {rate} trims {n1} of {n} pairs from each tail: at least 2 must stay")
        est = core.iroas(n1)
        if est is None:
            raise ParameterError(f"the trimmed-mean equation has no root at trim_rate {rate} (the untrimmed pairs' "
                                 "cost differences sum to 0); choose another trim rate")
        rows.append((rate, est, core.std_error(n1, est), n1))
        chosen = rows[0]
    else:
        rows = _candidates(core, cap)
        if not rows:
            raise ParameterError("the trimmed-mean equation has no root at any trim rate: the untrimmed pairs' "
                                 "cost differences sum to 0")
        chosen = _chosen(rows, n)
    rate, est, se, n1 = chosen
    eps = dr - est * dc
    t0 = float(_studentized_trimmed_mean(dr, n1))
    if inference == "normal":
        null, exact = np.zeros(0), False
        crit = _normal(a)
        p_value = float(2 * stats.norm.sf(abs(t0)))
    else:
        signs, exact = _sign_patterns(n, int(n_bootstrap), rng)
        one_rate = trim_rate is not None or _n_rates(cap, n) == 1  # replicates take this fit's rate
        null = _null_statistics(dc, est, eps, n1 if one_rate else None, cap, signs)
        if len(null) < len(signs) / 2:
            raise ParameterError(f"the bootstrap failed: {len(signs) - len(null)} of {len(signs)} replicates have "
                                 "no root of the trimmed-mean equation at any trim rate; use inference='normal'")
        crit = _critical(null, a)
        hits = int(np.sum(null >= abs(t0) * (1 - 1e-12)))
        p_value = (1 + hits) / (1 + len(null))
    lower, upper = core.interval(n1, crit, est, se)
    ranks = np.empty(n, dtype=int)
    ranks[np.argsort(eps, kind="stable")] = np.arange(n)
    trimmed = (ranks < n1) | (ranks > n - 1 - n1)
    cands = pd.DataFrame([r[:3] for r in rows], columns=["trim_rate", "iroas", "std_error"])
    return TrimmedMatchFit(estimate=est, std_error=se, trim_rate=rate, lower=lower, upper=upper, alpha=a,
                           p_value=p_value, candidates=cands, epsilons=eps, trimmed=trimmed, n_trim=n1,
                           inference=inference, critical_value=crit, delta_response=dr.copy(), delta_cost=dc.copy(),
                           null_statistics=null, exhaustive=exact)


class TrimmedMatchEffects(Effects):
    """Trimmed Match: the iROAS of a paired geo experiment and the incremental response it implies.

    Rows (``metric``): ``iroas`` and ``incremental_response`` (iROAS times the incremental cost,
    its bounds scaled the same way, as the package reports it). Intervals invert the studentised
    trimmed mean against its bootstrap (or normal) critical value; the p-value is that statistic's
    at iROAS = 0.

    Attributes
    ----------
    fit : TrimmedMatchFit
        The estimator's report (trim rate, candidates, residuals).
    trim_rate : float
    pairs : pandas.DataFrame
        One row per pair: ``pair, treatment_geo, control_geo, treatment_response, control_response,
        treatment_cost, control_cost, delta_response, delta_cost, epsilon, trimmed`` (and the
        pre-period responses where ``pre`` was given).
    candidates : pandas.DataFrame
        ``trim_rate, iroas, std_error`` of the candidate trim rates.
    trimmed_pairs : list
        The pairs trimmed at the estimate.
    incremental_cost, incremental_response, treatment_response, control_response : float
    """

    title: ClassVar[str] = "Trimmed Match (paired geo experiment)"
    keys = ("metric",)

    @property
    def interval_kind(self) -> str:  # type: ignore[override]
        if self.fit.inference == "normal":
            return "inverted studentised trimmed mean, normal quantile (Chen & Au)"
        return "inverted studentised trimmed mean, wild-bootstrap critical value"

    def __init__(self, frame: pd.DataFrame, *, fit: TrimmedMatchFit, pairs: pd.DataFrame, incremental_cost: float,
                 treatment_response: float, control_response: float, notes: list[str]) -> None:
        super().__init__(frame, alpha=fit.alpha, notes=notes)
        self.fit = fit
        self.trim_rate = fit.trim_rate
        self.pairs = pairs
        self.candidates = fit.candidates
        self.trimmed_pairs = pairs.loc[pairs["trimmed"], "pair"].tolist()
        self.incremental_cost = incremental_cost
        self.incremental_response = fit.estimate * incremental_cost
        self.treatment_response = treatment_response
        self.control_response = control_response

    def _interval(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.fit.interval(alpha)
        out = []
        for m in self._computed()["metric"]:
            out.append((lo, hi) if m == "iroas" else _scaled(lo, hi, self.incremental_cost))
        return np.array([o[0] for o in out]), np.array([o[1] for o in out])

    def plot(self, *, ax: Any = None, kind: TrimmedMatchPlot = "pairs", **kwargs: Any) -> Any:
        """``kind="pairs"``: the pairs and the iROAS line; ``kind="trim_rates"``: standard error per trim rate."""
        from ...viz.geo_paired import plot_trim_rates, plot_trimmed_match

        if kind == "pairs":
            return plot_trimmed_match(self.pairs, estimate=self.fit.estimate, lower=self.fit.lower,
                                      upper=self.fit.upper, ax=ax, **kwargs)
        if kind == "trim_rates":
            return plot_trim_rates(self.candidates, chosen=self.trim_rate, ax=ax, **kwargs)
        raise ParameterError(f"kind must be 'pairs' or 'trim_rates'; found {kind!r}")


def _inference_note(fit: TrimmedMatchFit) -> str:
    if fit.inference == "normal":
        return f"critical value {fit.critical_value:.3g} (normal quantile, as the trimmed_match package)"
    k = len(fit.null_statistics)
    scope = f"all {k} sign patterns, the first pair's fixed" if fit.exhaustive else f"{k} random sign patterns"
    choice = "; the trim rate chosen again in each replicate" if len(fit.candidates) > 1 else ""
    return (f"critical value {fit.critical_value:.3g} from a wild bootstrap ({scope}{choice}); the normal "
            f"quantile would be {_normal(fit.alpha):.3g}")


def _scaled(lo: float, hi: float, cost: float) -> tuple[float, float]:
    return (lo * cost, hi * cost) if cost >= 0 else (hi * cost, lo * cost)


def _excluded(exclude_pairs: Any) -> list[Any]:
    """``exclude_pairs`` as a list of pair ids (one id alone, a string included, is one pair)."""
    if exclude_pairs is None:
        return []
    if isinstance(exclude_pairs, (str, bytes)) or not isinstance(exclude_pairs, Iterable):
        return [exclude_pairs]
    return list(exclude_pairs)


def _design(data: TableLike | GeoPanel, pairs: TableLike | None, *, location: str | None, pair: str,
            assignment: str, what: str) -> pd.DataFrame:
    """Per geo: its pair and arm, from a separate pairs table or the long table's per-geo columns."""
    if pairs is not None:
        from ...engine import fetch
        from ...inputs import open_table

        t = open_table(pairs, what=f"{what} pairs")
        cols = list(t.columns)
        lcol = pick_column(cols, location, LOCATION_NAMES, "location", what=f"{what} pairs table")
        for c in (pair, assignment):
            if c not in cols:
                raise SchemaError(f"{what}: the pairs table has no column {c!r}; found {cols}", column=c)
        df = fetch(t.select(t[lcol].cast("string").name("_loc"), t[pair], t[assignment]), "pandas")
        if df.empty:
            raise SchemaError(f"{what}: the pairs table is empty", column=None)
        if df[[pair, assignment]].isna().any().any():
            raise SchemaError(f"{what}: the pairs table has missing values", column=pair)
        dup = df["_loc"][df["_loc"].duplicated()].unique().tolist()
        if dup:
            raise SchemaError(f"{what}: geos {dup[:5]} appear more than once in the pairs table (a geo belongs to "
                              "one pair)", column=lcol)
        return df.set_index("_loc")
    if isinstance(data, GeoPanel):
        raise ParameterError(f"{what}: a GeoPanel has no pair and assignment columns: pass pairs=<table with "
                             "geo, pair, assignment>")
    return _geo_values(data, location=location, columns=[pair, assignment], what=what)


def trimmed_match(data: TableLike | GeoPanel, *, test: tuple[Any, Any], pairs: TableLike | None = None,
                  pair: str = "pair", assignment: str = "assignment", labels: tuple[Any, Any] = (1, 2),
                  pre: tuple[Any, Any] | None = None, cooldown_end: Any = None,
                  exclude_pairs: Any = (), max_trim_rate: float = 0.25, trim_rate: float | None = None,
                  alpha: float = 0.05, inference: TrimmedMatchInference = "bootstrap", n_bootstrap: int = 1000,
                  random_state: Any = None, cost: str = "cost", date: str | None = None,
                  location: str | None = None, y: str | None = None) -> TrimmedMatchEffects:
    """Trimmed Match analysis of a randomised paired geo experiment (iROAS, its interval, the trim rate).

    Parameters
    ----------
    data : table-like or GeoPanel
        The long table of trimmed_match's post-analysis colab: ``date, geo, response, cost, pair,
        assignment`` (one row per date and geo), or a :class:`GeoPanel` with a cost plus ``pairs=``.
    test : (start, end)
        The test period, both ends included: the response and cost are summed over it per geo.
    pairs : table-like, optional
        A separate ``geo, pair, assignment`` table (e.g. ``example_geo_pairs.csv``); by default the
        ``pair`` and ``assignment`` columns of ``data`` (one value per geo).
    pair, assignment : str
        Their column names.
    labels : (treatment, control), default (1, 2)
        The assignment values of the two arms (the package's ``GeoAssignment``: 1 treatment,
        2 control). Any other value is refused: drop those geos first.
    pre : (start, end), optional
        The design-evaluation (pretest) period: its per-pair responses are added to :attr:`pairs`
        to check the pairing. It does not change the estimate (the package's estimator uses the
        test period only).
    cooldown_end : date, optional
        Also sum the periods after the test up to this date (the colab's "include the cooldown").
    exclude_pairs : pair id or sequence of pair ids, optional
        Pairs left out of the analysis (the colab's ``pairs_exclude``); ``41`` matches ``41.0`` and
        ``"41"``. An id that is not a pair of the design is refused.
    max_trim_rate : float, default 0.25
    trim_rate : float, optional
        A fixed trim rate; by default chosen from the data.
    alpha : float, default 0.05
        ``1 - confidence`` (95% intervals, as every estimator of marketing360; the trimmed_match package
        reports 80% by default: ``alpha=0.2``).
    inference : {"bootstrap", "normal"}, default "bootstrap"
        The interval's critical value: a wild bootstrap of the whole fit, or the package's normal
        quantile (``"normal"`` reproduces the package's figures); see :func:`fit_trimmed_match`.
    n_bootstrap : int, default 1000
    random_state : int, numpy Generator or None
        Bootstrap settings (every sign pattern is used when there are at most ``n_bootstrap``).
    cost : str, default "cost"
        The cost column of the long table.
    date, location, y : str, optional
        Column names of the long table (found by their usual names when omitted).

    Returns
    -------
    TrimmedMatchEffects

    Raises
    ------
    SchemaError
        Missing columns; a pair without exactly one treatment and one control geo; assignment values
        other than the two arms; a geo in several pairs; no cost difference in any pair.
    ParameterError
        A test window out of the panel's range; fewer than 2 pairs; a trim rate out of range; an
        ``exclude_pairs`` id that is not a pair of the design; bad bootstrap settings.
    """
    what = "trimmed_match"
    a = check_alpha(alpha)
    _check_inference(inference, n_bootstrap, what)
    if isinstance(data, GeoPanel):
        panel = data
        if date is not None or location is not None or y is not None:
            raise ParameterError(f"{what}: date=, location= and y= name columns of a long table; the data is "
                                 "already a GeoPanel")
    else:
        panel = _as_panel(data, date=date, location=location, y=y, cost=cost, what=what)
    if panel.cost is None:
        raise ParameterError(f"{what}: the GeoPanel has no cost: read it with geo_panel(..., cost='cost')")
    design = _design(data, pairs, location=location, pair=pair, assignment=assignment, what=what)
    excluded = _excluded(exclude_pairs)
    n_excluded = 0
    if excluded:
        unknown = [e for e in excluded if not any(_same(v, e) for v in design[pair].unique())]
        if unknown:
            known = sorted(design[pair].unique().tolist(), key=str)
            raise ParameterError(f"{what}: exclude_pairs names pairs {unknown} that are not in the design; its "
                                 f"pairs are {known[:20]}" + (f" ... ({len(known)} in all)" if len(known) > 20 else ""))
        drop = design[pair].map(lambda v: any(_same(v, e) for e in excluded)).astype(bool)
        n_excluded = int(design.loc[drop, pair].nunique())
        design = design[~drop]
        if design.empty:
            raise ParameterError(f"{what}: exclude_pairs={excluded} leaves no pair")
    geos = resolve_locations(panel, list(design.index), what="design")
    design.index = pd.Index(geos)
    treated, controls = _arms(design[assignment], labels, column=assignment, what=what)
    arm = pd.Series("control", index=design.index)
    arm[treated] = "treatment"

    # one treatment and one control geo per pair
    groups = design.groupby(pair, sort=True)
    size = groups.size()
    bad = size[size != 2]
    if len(bad):
        shown = {k: design.index[design[pair] == k].tolist() for k in bad.index[:5]}
        raise SchemaError(f"{what}: every pair must hold exactly 2 geos (one treatment, one control); "
                          f"{len(bad)} pair(s) do not, e.g. {shown}", column=pair)
    n_treated = arm.eq("treatment").groupby(design[pair]).sum()
    same = n_treated[n_treated != 1]
    if len(same):
        shown = {k: design.index[design[pair] == k].tolist() for k in same.index[:5]}
        raise SchemaError(f"{what}: {len(same)} pair(s) have both geos in the same arm, e.g. {shown}: each pair "
                          "needs one treatment and one control geo", column=assignment)

    test_m = _window(panel, test, "test")
    eff_m = test_m if cooldown_end is None else test_m | _after(panel, test_m, cooldown_end, "cooldown_end")
    resp = pd.Series(panel.y[eff_m].sum(axis=0), index=panel.locations)
    spend = pd.Series(panel.cost[eff_m].sum(axis=0), index=panel.locations)
    pre_resp = None
    if pre is not None:
        pre_m = _window(panel, pre, "pre")
        if (pre_m & eff_m).any():
            raise ParameterError(f"{what}: the pre period {tuple(pre)!r} overlaps the test period {tuple(test)!r}")
        pre_resp = pd.Series(panel.y[pre_m].sum(axis=0), index=panel.locations)

    rows = []
    for key, members in groups.groups.items():
        t_geo = next(g for g in members if arm[g] == "treatment")
        c_geo = next(g for g in members if arm[g] == "control")
        row = {"pair": key, "treatment_geo": t_geo, "control_geo": c_geo,
               "treatment_response": resp[t_geo], "control_response": resp[c_geo],
               "treatment_cost": spend[t_geo], "control_cost": spend[c_geo]}
        if pre_resp is not None:
            row["pre_treatment_response"], row["pre_control_response"] = pre_resp[t_geo], pre_resp[c_geo]
        rows.append(row)
    table = pd.DataFrame(rows)
    table["delta_response"] = table["treatment_response"] - table["control_response"]
    table["delta_cost"] = table["treatment_cost"] - table["control_cost"]
    if np.max(np.abs(table["delta_cost"])) < _MIN_COST_GAP:
        raise SchemaError(f"{what}: no pair differs in cost between its treatment and control geo over the test: "
                          "the iROAS is undefined", column=cost)
    fit = fit_trimmed_match(table["delta_response"], table["delta_cost"], max_trim_rate=max_trim_rate,
                            trim_rate=trim_rate, alpha=a, inference=inference, n_bootstrap=n_bootstrap,
                            random_state=random_state)
    table["epsilon"] = fit.epsilons
    table["trimmed"] = fit.trimmed

    incr_cost = float(table["treatment_cost"].sum() - table["control_cost"].sum())
    lo_r, hi_r = _scaled(fit.lower, fit.upper, incr_cost)
    common = {"p_value": fit.p_value, "trim_rate": fit.trim_rate, "pairs": len(table),
              "incremental_cost": incr_cost}
    frame = pd.DataFrame([
        {"metric": "iroas", "estimate": fit.estimate, "std_error": fit.std_error, "lower": fit.lower,
         "upper": fit.upper, **common},
        {"metric": "incremental_response", "estimate": fit.estimate * incr_cost,
         "std_error": fit.std_error * abs(incr_cost), "lower": lo_r, "upper": hi_r, **common},
    ])
    notes = [f"{len(table)} pairs" + (f" ({n_excluded} excluded)" if n_excluded else "")
             + f"; trim rate {fit.trim_rate:.3g} ({fit.n_trim} pair(s) trimmed from each tail)",
             f"incremental cost {incr_cost:,.4g}; treatment response {table['treatment_response'].sum():,.4g}",
             _inference_note(fit)]
    return TrimmedMatchEffects(frame, fit=fit, pairs=table, incremental_cost=incr_cost,
                               treatment_response=float(table["treatment_response"].sum()),
                               control_response=float(table["control_response"].sum()), notes=notes)
