"""Data-driven attribution: Shao & Li (2011) and Dalessandro et al. (2012).

All three read the journeys as a matrix of channel touch counts (one row per
journey, converting or not), fetched once from the engine.

* :class:`BaggedLogisticAttribution` (Shao & Li's bagged logistic
  regression): logistic regressions on channel indicators fitted to bootstrap
  samples of journeys and random subsets of channels, coefficients averaged
  (which stabilises them); each conversion is shared among the channels of
  its journey in proportion to their positive coefficients.
* :func:`probabilistic` (Shao & Li's probabilistic model): a channel's
  contribution is its conversion rate plus half its average pairwise
  interaction, ``C(i) = P(y|i) + 1/(2(N-1)) * sum_j [P(y|i,j) - P(y|i) - P(y|j)]``;
  each conversion is shared in proportion to the contributions (clipped at 0).
* :class:`CausalAttribution` (Dalessandro et al.'s causally motivated
  attribution): for every journey, the Shapley values of its channels in the
  game ``v(S) = P(y|S) - P(y|{})``, so only the lift over the no-ad baseline
  is distributed; summed over all journeys, the credits estimate incremental
  conversions. ``P(y|S)`` is the observed conversion rate of journeys whose
  channel set is exactly ``S``, shrunk towards a logistic model's prediction
  by ``shrinkage`` pseudo-journeys (sets never seen take the model's value).
  Given the events (``fit(journeys, events=..., brands=...)``), it first
  removes three selections that make ``P(y|S)`` compare different consumers
  rather than the ads' effect: out-of-market pairs, channel sets cut at the
  conversion, retargeting (see the class).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..engine import fetch
from ..errors import ParameterError
from ..estimators import Estimator, check_random_state
from ..models import fit_logistic
from ..models.shapley import exact_shapley, popcount
from ..paths import JOURNEY_KEY, JourneyMatrix, Journeys, journey_matrix
from ..types import TableLike
from .result import Attribution, Bootstrap

__all__ = ["BaggedLogisticAttribution", "probabilistic", "CausalAttribution", "BASELINE"]

#: the pseudo-channel holding conversions a model credits to no channel
BASELINE = "(baseline)"
#: which consumer-brand pairs :class:`CausalAttribution` compares
Population = Literal["auto", "all", "in_market"]
#: a journey's channels for :class:`CausalAttribution`: up to its conversion or over its whole window
ChannelSets = Literal["auto", "to_conversion", "whole_window"]
#: 4A levels an exposure can be shown at (0 unaware ... 4 advocate)
_N_LEVELS = 5


def _matrix(journeys: Journeys | JourneyMatrix) -> JourneyMatrix:
    if isinstance(journeys, JourneyMatrix):
        return journeys
    if not isinstance(journeys, Journeys):
        raise ParameterError(f"journeys must be a Journeys (from journeys() or from_paths()) or a JourneyMatrix; "
                             f"found {type(journeys).__name__}")
    return journey_matrix(journeys)


def _weighted_rows(m: JourneyMatrix) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Stack converting and non-converting weights: features, labels, sample weights."""
    pres = m.presence
    x = sp.vstack([pres, pres]).tocsr()
    y = np.r_[np.ones(len(m.conversions)), np.zeros(len(m.nulls))]
    w = np.r_[m.conversions, m.nulls]
    keep = w > 0
    return x[keep], y[keep], w[keep]


def _share_matrix(m: JourneyMatrix, score: np.ndarray) -> sp.csr_matrix:
    """Journeys x (channels + baseline): each touched journey's split by ``score`` (>= 0) of its channels.

    A touched journey whose channels all score 0 goes to :data:`BASELINE`.
    """
    pres = m.presence.multiply(np.clip(score, 0.0, None)[None, :]).tocsr()
    tot = np.asarray(pres.sum(axis=1)).ravel()
    share = sp.diags(np.divide(1.0, tot, out=np.zeros_like(tot), where=tot > 0)) @ pres
    touched = np.asarray(m.presence.sum(axis=1)).ravel() > 0
    left = (touched & (tot == 0)).astype(float)
    return sp.hstack([share, sp.csr_matrix(left[:, None])]).tocsr()


def _shared(m: JourneyMatrix, share: sp.csr_matrix, method: str, *, held_fixed: str | None = None,
            **kwargs: Any) -> Attribution:
    """The attribution of a share matrix, with a bootstrap that resamples the journeys."""
    channels = [*m.channels, BASELINE]
    st = share.T.tocsr()
    conv, val = st @ m.conversions, st @ m.value
    frame = pd.DataFrame({"method": method, "channel": channels, "conversions": conv, "value": val})
    frame = frame[(frame.channel != BASELINE) | (frame.conversions > 0)]
    # the split is fixed: journeys that carry no credit cannot change the credits
    rows = np.flatnonzero((m.conversions > 0) & (np.asarray(share.sum(axis=1)).ravel() > 0))
    sub = share[rows].T.tocsr()
    boot = Bootstrap(channels, m.conversions[rows], np.zeros(len(rows)), m.value[rows],
                     lambda c, n, v: (sub @ c, sub @ v), held_fixed=held_fixed)
    return Attribution(frame, key=m.key, bootstrap={method: boot}, **kwargs)


class BaggedLogisticAttribution(Estimator):
    """Shao & Li's bagged logistic regression.

    Parameters
    ----------
    n_bags : int
        Logistic regressions fitted on bootstrap samples.
    sample_fraction, channel_fraction : float
        Share of the journeys (drawn with replacement, by weight) and of the
        channels each regression sees.
    l2 : float
        Ridge penalty of each regression.
    random_state : int, Generator or None
        Draws the bags.

    Attributes
    ----------
    channels_ : list of str
    coef_ : pandas.Series
        Averaged coefficient of each channel (over the bags that saw it).
    coef_std_ : pandas.Series
        Their standard deviation across bags (the stability Shao & Li measure).
    """

    def __init__(self, *, n_bags: int = 30, sample_fraction: float = 0.5, channel_fraction: float = 0.75,
                 l2: float = 1e-3, random_state: Any = 0) -> None:
        self.n_bags = n_bags
        self.sample_fraction = sample_fraction
        self.channel_fraction = channel_fraction
        self.l2 = l2
        self.random_state = random_state

    def fit(self, journeys: Journeys | JourneyMatrix) -> "BaggedLogisticAttribution":
        """Fit the bags on converting and non-converting journeys; returns self."""
        if not (isinstance(self.n_bags, int) and not isinstance(self.n_bags, bool) and self.n_bags >= 1):
            raise ParameterError(f"n_bags must be a positive integer; found {self.n_bags!r}")
        for name in ("sample_fraction", "channel_fraction"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0 < v <= 1):
                raise ParameterError(f"{name} must be in (0, 1]; found {v!r}")
        m = _matrix(journeys)
        if not m.channels or m.conversions.sum() <= 0:
            raise ParameterError("bagged logistic: no journey with touchpoints converts; nothing to fit")
        x, y, w = _weighted_rows(m)
        rng = check_random_state(self.random_state)
        k = len(m.channels)
        coefs = np.full((self.n_bags, k), np.nan)
        n_rows = max(2, int(round(self.sample_fraction * w.sum())))
        p = w / w.sum()
        for b in range(self.n_bags):
            rows = rng.choice(len(w), size=n_rows, replace=True, p=p)
            cols = np.sort(rng.choice(k, size=max(1, int(round(self.channel_fraction * k))), replace=False))
            sw = np.bincount(rows, minlength=len(w)).astype(float)
            sel = sw > 0
            if len(np.unique(y[sel])) < 2:
                continue
            coefs[b, cols] = fit_logistic(x[sel][:, cols], y[sel], sw[sel], l2=self.l2).coef
        if np.isnan(coefs).all():
            raise ParameterError("no bag held both converting and non-converting journeys")
        self.channels_ = list(m.channels)
        self.coef_ = pd.Series(np.nanmean(coefs, axis=0), index=m.channels, name="coef")
        self.coef_std_ = pd.Series(np.nanstd(coefs, axis=0), index=m.channels, name="coef_std")
        self._matrix = m
        return self

    def attribute(self, journeys: Journeys | JourneyMatrix | None = None) -> Attribution:
        """Each conversion shared among its journey's channels in proportion to their positive coefficients.

        ``journeys`` default to the ones fitted on. The intervals of
        :meth:`~Attribution.conf_int` resample the journeys with the fitted
        coefficients held fixed.
        """
        self._check_fitted()
        m = self._matrix if journeys is None else _aligned(_matrix(journeys), self.channels_)
        score = np.nan_to_num(self.coef_.to_numpy())
        return _shared(m, _share_matrix(m, score), "bagged_logistic", held_fixed="the fitted coefficients",
                       params={"bagged_logistic": self.get_params()}, scores=self.coef_.copy())


def _aligned(m: JourneyMatrix, channels: list[str]) -> JourneyMatrix:
    """``m`` with its columns in the order of ``channels`` (unknown channels raise)."""
    unknown = sorted(set(m.channels) - set(channels))
    if unknown:
        raise ParameterError(f"channels {unknown} were not seen when the model was fitted; known: {channels}")
    col = pd.Index(channels).get_indexer(m.channels)
    counts = m.counts.tocoo()
    counts = sp.csr_matrix((counts.data, (counts.row, col[counts.col])), shape=(counts.shape[0], len(channels)))
    return JourneyMatrix(list(channels), counts, m.conversions, m.nulls, m.value, key=m.key)


def _contributions(m: JourneyMatrix, conversions: np.ndarray, nulls: np.ndarray) -> np.ndarray:
    """Shao & Li's first- and second-order contributions of each channel."""
    pres = m.presence.tocsc()
    n = conversions + nulls
    pos = pres.T @ conversions  # conversions of journeys touching i
    tot = pres.T @ n
    p1 = np.divide(pos, tot, out=np.zeros_like(pos), where=tot > 0)
    pos2 = (pres.T @ sp.diags(conversions) @ pres).toarray()
    tot2 = (pres.T @ sp.diags(n) @ pres).toarray()
    p2 = np.divide(pos2, tot2, out=np.zeros_like(pos2), where=tot2 > 0)
    k = len(m.channels)
    inter = p2 - p1[:, None] - p1[None, :]
    seen = tot2 > 0  # pairs never seen together add nothing
    np.fill_diagonal(seen, False)
    return p1 + (np.where(seen, inter, 0.0).sum(axis=1) / (2 * (k - 1)) if k > 1 else 0.0)


def probabilistic(journeys: Journeys | JourneyMatrix) -> Attribution:
    """Shao & Li's probabilistic model (first- and second-order conversion rates).

    A channel's contribution is ``C(i) = P(y|i) + 1/(2(N-1)) * sum_j [P(y|i,j) - P(y|i) - P(y|j)]``;
    each conversion is shared among its journey's channels in proportion to
    the contributions (clipped at 0). :meth:`~Attribution.conf_int` resamples
    the journeys and recomputes the contributions.
    """
    m = _matrix(journeys)
    if not m.channels or m.conversions.sum() <= 0:
        raise ParameterError("probabilistic: no conversions to attribute")
    if m.nulls.sum() <= 0:
        raise ParameterError("probabilistic: conversion rates need non-converting journeys (nulls); "
                             "these journeys have none")
    contrib = _contributions(m, m.conversions, m.nulls)
    out = _shared(m, _share_matrix(m, contrib), "probabilistic", scores=pd.Series(contrib, index=m.channels))
    st_channels = [*m.channels, BASELINE]

    def statistic(c: np.ndarray, n: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        st = _share_matrix(m, _contributions(m, c, n)).T.tocsr()
        return st @ c, st @ v

    out._bootstrap["probabilistic"] = Bootstrap(st_channels, m.conversions, m.nulls, m.value, statistic)
    return out


class CausalAttribution(Estimator):
    """Dalessandro et al.'s causally motivated attribution (Shapley of the lift over no ads).

    For every journey, the Shapley values of its channels in the game
    ``v(S) = P(y|S) - P(y|{})``, so only the lift over the no-ad baseline is
    distributed; summed over all journeys, the credits estimate incremental
    conversions. ``P(y|S)`` is the observed conversion rate of journeys whose
    channel set is exactly ``S``, shrunk towards a logistic model's prediction
    by ``shrinkage`` pseudo-journeys (sets never seen take the model's value).

    ``P(y|S)`` measures what the ads did only if journeys with different
    channel sets are otherwise alike. Read off the exposures as they happened
    they are not; each option below removes one selection. All but
    ``per_window`` read the events the calendar journeys were built from,
    ``fit(journeys, events=..., brands=...)``. Their ``"auto"`` defaults turn
    every correction on when the events are given (``population`` only with
    ``brands``) and off without them, which is the estimator as published.
    No correction helps alone (they remove biases that partly cancel), all
    of them together do (see Notes).

    * ``population="in_market"``: only consumer-brand pairs the campaigns
      reach: the consumer was shown an ad of some brand of the brand's
      category (``brands``). Pairs no campaign targets never see an ad and
      rarely buy; kept, they fill the no-ad journeys and pull the baseline
      down (93% of the no-ad journeys in a simulated world).
    * ``channel_sets="whole_window"``: a journey's set holds the channels of
      its whole calendar window, for converting journeys too. Cut at the
      conversion (the journeys' own sets), a quick converter has had less time
      to see ads than a non-converter, so small sets look better than large
      ones (immortal-time bias), which pushes the baseline up.
    * ``retargeting``: channels that show more ads further down the funnel
      reach consumers who would buy anyway. An exposure shown while the pair
      was at 4A level ``l`` (:func:`~marketing360.assets.snapshots` at the
      start of the day: 0 unaware, 1 aware, 2 appeal, 3 act, 4 advocate) is
      kept with chance ``min(1, 1 / multiplier[channel, l])``, so what is kept
      arrives at the unaware rate whatever the pair's intent (or purchase,
      which is what lets the whole window count). The sets are the exact
      expectation over this thinning: each journey is spread over the subsets
      of its channels, weighted by their chances (no random draw).
      ``"estimate"`` fits the multipliers per channel by Poisson maximum
      likelihood, ``exposures[pair, day] ~ consumer x brand-day x level``
      (unaware = 1; the consumer's propensity pooled over their brands), on
      the in-market pairs. Assumed: a channel's exposure rate depends on the
      pair only through a constant consumer propensity and the observed 4A
      level. A mapping gives known multipliers (a campaign's own rule).
    * ``per_window``: one ``P(y|S)`` per calendar window (demand and
      campaigns change over time).

    Parameters
    ----------
    shrinkage : float
        Pseudo-journeys pulling a set's observed rate towards the logistic
        model's prediction (0: observed rates only, where observed).
    max_channels : int
        Largest channel set handled exactly (``2^k`` subsets); larger sets raise.
    l2 : float
        Ridge penalty of the logistic model.
    population : {"auto", "all", "in_market"}
        The consumer-brand pairs compared. ``"auto"``: ``"in_market"`` with
        ``events`` and ``brands``, ``"all"`` otherwise.
    channel_sets : {"auto", "to_conversion", "whole_window"}
        A journey's channels: up to its conversion (as the journeys hold
        them) or over its whole window. ``"auto"``: ``"whole_window"`` with
        ``events``.
    retargeting : "auto", "estimate", None or mapping
        None: exposures as they happened. ``"estimate"``: thinned with
        multipliers estimated from the events. A mapping
        ``{channel: {level (0-4) or stage name: multiplier}}``: known
        multipliers, 1 where not named. ``"auto"``: ``"estimate"`` with ``events``.
    per_window : bool or "auto"
        One set function per calendar window (calendar journeys only).
        ``"auto"``: True with ``events``.
    max_iter : int
        Iterations of the exposure model's fit (``retargeting="estimate"``).

    Attributes
    ----------
    channels_ : list of str
    settings_ : dict
        The corrections used (``"auto"`` resolved).
    baseline_ : float
        Estimated conversion probability with no ad (per window: their mean
        weighted by journeys).
    intercept_, coef_ : float, numpy.ndarray
        The logistic model on channel presence (one row per window with ``per_window``).
    rates_ : pandas.DataFrame
        Per observed channel set (and ``window``): journeys, conversions,
        observed and used probability (after thinning, expected counts).
    retargeting_ : pandas.DataFrame or None
        Per channel and 4A level: ``multiplier`` (estimated or given; NaN
        where no exposure), ``keep`` (the chance an exposure there is kept),
        the ``pair_days`` and ``exposures`` behind the estimate, and whether
        its fit ``converged`` (a level few consumers were exposed at and
        below can diverge: check ``exposures``).
    pairs_ : dict or None
        With ``events``: consumer-brand pairs of the journeys ``in_market``
        and not (``out_of_market``), and those ``used``.

    Notes
    -----
    **When it fails.** Share errors (half the L1 distance between credited
    and true Shapley shares) on the six held-out worlds of the benchmark
    suite ``attribution-heldout``, fixed before any tuning (20,000 consumers
    x 60 days, 30-day calendar journeys; worlds default-a, default-b,
    fool-last-touch, long-carry-upper, no-retargeting, four-channels; script
    and tables in the issue-10 notes):

    ======================================  =====  =====  =====  =====  =====  =====
    method                                  def-a  def-b  fool   long   no-rt  four
    ======================================  =====  =====  =====  =====  =====  =====
    last touch                              0.159  0.224  0.270  0.475  0.096  0.288
    as published (no events)                0.351  0.247  0.182  0.405  0.091  0.380
    every correction (defaults, events)     0.179  0.053  0.053  0.141  0.063  0.105
    in-market, whole window, per window     0.317  0.350  0.344  0.405  0.065  0.505
    retargeting alone                       0.087  0.159  0.179  0.153  0.090  0.232
    every correction, in-market by own ads  0.255  0.075  0.483  0.348  0.067  0.513
    ======================================  =====  =====  =====  =====  =====  =====

    * As published it loses to last touch on 3 of the 6 worlds: the no-ad
      baseline is wrong (out-of-market pairs, sets cut at the conversion) and
      retargeted channels are credited for buyers they chase.
    * The corrections work only together. In-market pairs with sets cut at
      the conversion credit a negative total on every world; without
      ``retargeting`` the other three are no better than none on 4 of 6
      worlds (the two baseline biases partly cancel, the retargeting bias is
      left). Retargeting alone scores well because the two baseline biases it
      leaves happen to offset here; every correction together beats it on 5
      of 6 worlds.
      Pairs in the market by their own brand's ads select on the exposures
      themselves, hence ``brands`` is required.
    * Even corrected it loses to last touch on default-a, and its sampling
      noise is large: the 5-95% range of the share error over 100 Poisson
      bootstrap replicates (thinning held fixed) is 0.12-0.27, 0.05-0.15,
      0.02-0.39, 0.10-0.23, 0.06-0.22, 0.07-0.21 in the order above, against
      +-0.01 for last touch. At 20,000 consumers the win over last touch
      exceeds that range only on default-b, long-carry-upper and four-channels.
    * Targeting on consumer attributes that also predict buying is not
      undone: email reaches members twice as often, and members buy more;
      email gets 1.8-3.6x its true share on every world that has it.
    * A channel whose effect outlasts the window (video, adstock 0.7-0.9) is
      under-credited, 0.68-0.96x its true share on 5 of 6 worlds: its effect
      on the next window's journeys goes to the channels seen there.
    * Small channels can get negative credits (affiliate -19 for a true 86
      on default-a, search -2.5 for a true 79 on no-retargeting).
    * Retargeting is undone only as modelled (consumer x brand-day x 4A
      level). The held-out worlds retarget that way, with multipliers 1 to
      11 from Appeal on; the estimates come within 0.83-1.17x of them (9.7
      for 11, 7.5 for 9). Retargeting on other signals (site visits in the last days, cart
      abandonment, look-alike audiences) is neither undone nor tested, and a
      channel shown less further down the funnel (multiplier < 1) is left as is.
    * The in-market proxy assumes campaigns target by category.
    * Credits count converting windows (a pair's first conversion in a
      window), not purchases.
    * With ``events`` the fit reads every touch and the daily 4A level of
      every in-market pair: 23-60 s for 20,000 consumers x 8 brands x 60
      days (2 million impressions) on one core.

    Examples
    --------
    >>> import pandas as pd
    >>> from marketing360.paths import journeys
    >>> ev = pd.DataFrame({
    ...     "user_id": [3, 1, 1, 1, 2, 3, 2, 4, 4, 4],
    ...     "ts": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-05", "2025-01-06",
    ...                           "2025-01-04", "2025-01-12", "2025-01-15", "2025-01-16", "2025-01-20"]),
    ...     "brand": ["C", "A", "A", "A", "B", "C", "B", "C", "C", "C"],
    ...     "event_type": ["browse", "impression", "purchase", "impression", "impression", "purchase",
    ...                    "impression", "impression", "purchase", "browse"],
    ...     "channel": [None, "display", None, "search", "search", None, "display", "display", None, None]})
    >>> brands = pd.DataFrame({"brand": ["A", "B", "C"], "category": ["x", "x", "y"]})
    >>> pop = pd.DataFrame({"user_id": [1, 2, 3, 4]}).merge(brands[["brand"]], how="cross")
    >>> jc = journeys(ev, lookback_days=10, population=pop, anchor="calendar")
    >>> model = CausalAttribution(shrinkage=0.0, retargeting={"search": {"act": 4.0}})
    >>> model.fit(jc, events=ev, brands=brands).pairs_
    {'in_market': 5, 'out_of_market': 7, 'used': 5}
    >>> model.attribute().table()[["channel", "conversions"]].round(2)
       channel  conversions
    0  display          2.0
    1   search          0.0
    """

    def __init__(self, *, shrinkage: float = 20.0, max_channels: int = 12, l2: float = 1e-3,
                 population: Population = "auto", channel_sets: ChannelSets = "auto", retargeting: Any = "auto",
                 per_window: bool | Literal["auto"] = "auto", max_iter: int = 500) -> None:
        self.shrinkage = shrinkage
        self.max_channels = max_channels
        self.l2 = l2
        self.population = population
        self.channel_sets = channel_sets
        self.retargeting = retargeting
        self.per_window = per_window
        self.max_iter = max_iter

    def _settings(self, with_events: bool, with_brands: bool) -> dict[str, Any]:
        """Check the settings and resolve ``"auto"``: the corrections with events (in-market pairs with brands)."""
        if isinstance(self.shrinkage, bool) or not (isinstance(self.shrinkage, (int, float)) and self.shrinkage >= 0):
            raise ParameterError(f"shrinkage must be >= 0; found {self.shrinkage!r}")
        if not (isinstance(self.max_channels, int) and 1 <= self.max_channels <= 20):
            raise ParameterError(f"max_channels must be an integer from 1 to 20; found {self.max_channels!r}")
        if isinstance(self.max_iter, bool) or not (isinstance(self.max_iter, int) and self.max_iter >= 1):
            raise ParameterError(f"max_iter must be a positive integer; found {self.max_iter!r}")
        allowed: dict[str, tuple[Any, ...]] = {"population": ("auto", "all", "in_market"),
                                               "channel_sets": ("auto", "to_conversion", "whole_window"),
                                               "per_window": ("auto", True, False)}
        for name, values in allowed.items():
            v = getattr(self, name)
            if not any(v is a or (isinstance(a, str) and v == a) for a in values):
                raise ParameterError(f"{name} must be one of {list(values)}; found {v!r}")
        r = self.retargeting
        if not (r is None or (isinstance(r, str) and r in ("auto", "estimate")) or isinstance(r, Mapping)):
            raise ParameterError(f"retargeting must be 'auto', 'estimate', None or a mapping {{channel: {{level: "
                                 f"multiplier}}}}; found {r!r}")
        if isinstance(r, Mapping):
            _given_multipliers(r, None)  # the shape and values; the channels are checked against the data
        on = {"population": "in_market", "channel_sets": "whole_window", "retargeting": "estimate",
              "per_window": True}
        off = {"population": "all", "channel_sets": "to_conversion", "retargeting": None, "per_window": False}
        given = {name: getattr(self, name) for name in on}
        if not with_brands:
            on["population"] = "all"
        out = {name: (on if with_events else off)[name] if isinstance(v, str) and v == "auto" else v
               for name, v in given.items()}
        reading = [f"{name}={v!r}" for name, v in out.items() if name != "per_window" and v != off[name]]
        if not with_events and reading:
            raise ParameterError(f"{', '.join(reading)} read(s) the events: fit(journeys, events=...) with the "
                                 "events the calendar journeys were built from")
        if with_events and not reading:
            raise ParameterError("events= is read only by population, channel_sets and retargeting, and all three "
                                 "are set off ('all', 'to_conversion', None)")
        if out["population"] == "in_market" and not with_brands:
            raise ParameterError("population='in_market' needs brands= (brand, category): a consumer is in the "
                                 "market for a brand when shown an ad of its category (by the brand's own ads "
                                 "it would select on the exposures themselves)")
        return out

    def fit(self, journeys: Journeys | JourneyMatrix, *, events: TableLike | None = None,
            brands: TableLike | None = None, rules: Any = None) -> "CausalAttribution":
        """Fit the no-ad baseline, the logistic model and the per-set rates; returns self.

        Parameters
        ----------
        journeys : Journeys or JourneyMatrix
            Calendar journeys with every consumer x brand of the population
            (``journeys(events, population=..., anchor="calendar")``), which
            hold the journeys without ads the baseline needs.
        events : table, optional
            The events the journeys were built from. With them the ``"auto"``
            settings turn every correction on; without them, off (the
            journeys alone cannot support them).
        brands : table, optional
            ``brand, category``: a consumer shown an ad of one brand is in the
            market for every brand of its category (a brand missing from the
            table is its own category). Needed by ``population="in_market"``;
            the retargeting model is fitted on the in-market pairs (without
            the table: the pairs shown an ad of their own brand).
        rules : StageRules, optional
            The 4A stage rules the retargeting levels follow (the default ones otherwise).
        """
        use = self._settings(events is not None, brands is not None)
        if events is None:
            if brands is not None or rules is not None:
                raise ParameterError("brands= and rules= go with events= (population='in_market', retargeting)")
            m = _matrix(journeys)
            strata = _window_of_rows(journeys, len(m.conversions), "per_window=True") if use["per_window"] else None
            retargeting, pairs = None, None
        else:
            if rules is not None and use["retargeting"] is None:
                raise ParameterError("rules= sets the 4A levels of retargeting=, which is None")
            touches = _event_touches(journeys, events, brands)
            keep, retargeting = None, None
            if use["retargeting"] is not None:
                level = _stage_levels(touches, events, rules)
                if isinstance(use["retargeting"], str):
                    mult, exposures, converged = _retarget_multipliers(touches, level, self.max_iter)
                else:
                    mult, exposures, converged = _given_multipliers(use["retargeting"], touches.channels), None, None
                keep, retargeting = _keep_table(touches, level, mult, exposures, converged)
            in_market = use["population"] == "in_market"
            m, rows = _design_matrix(touches, keep, in_market=in_market,
                                     whole_window=use["channel_sets"] == "whole_window",
                                     max_channels=self.max_channels)
            strata = touches.jt.journey.to_numpy(np.int64)[rows] if use["per_window"] else None
            kept = touches.jt[touches.jt.in_market] if in_market else touches.jt
            pairs = {"in_market": touches.n_pairs, "out_of_market": touches.n_all_pairs - touches.n_pairs,
                     "used": int(len(kept[["user_id", "brand"]].drop_duplicates()))}
        return self._fit_sets(m, strata, use, retargeting, pairs)

    def _fit_sets(self, m: JourneyMatrix, strata: np.ndarray | None, settings: dict[str, Any],
                  retargeting: pd.DataFrame | None, pairs: dict[str, int] | None) -> "CausalAttribution":
        """The set functions, fitted on the journeys' channel sets (and windows); sets the fitted attributes."""
        if not m.channels:
            raise ParameterError("causal attribution: the journeys have no touchpoints; nothing to attribute")
        if m.conversions.sum() <= 0 or m.nulls.sum() <= 0:
            raise ParameterError("causal attribution needs converting and non-converting journeys")
        groups = _groups(m, strata)
        for st, g in groups.groupby("stratum"):
            if g.loc[g["mask"] == 0, "n"].sum() <= 0:
                where = f" (calendar window {st})" if settings["per_window"] else ""
                raise ParameterError(f"causal attribution needs journeys without ads (the no-ad baseline){where}: "
                                     "build them from events with population= (every consumer x brand) and "
                                     "anchor='calendar'")
        self._check_width(groups)
        k = len(m.channels)
        models = {int(st): _CausalModel(g["mask"].to_numpy(), g.n.to_numpy(), g.conv.to_numpy(), k, self.shrinkage,
                                        self.l2) for st, g in groups.groupby("stratum")}
        self.channels_ = list(m.channels)
        self.settings_, self.retargeting_, self.pairs_ = settings, retargeting, pairs
        self.intercept_: Any
        self.coef_: Any
        if settings["per_window"]:
            self.intercept_ = np.array([md.intercept for md in models.values()])
            self.coef_ = np.vstack([md.coef for md in models.values()])
        else:
            self.intercept_, self.coef_ = models[0].intercept, models[0].coef
        weight = groups.groupby("stratum").n.sum()
        self.baseline_ = float(sum(models[st].prob(0) * weight[st] for st in models) / weight.sum())
        self.rates_ = pd.DataFrame({"mask": groups["mask"].to_numpy(), "journeys": groups.n.to_numpy(),
                                    "conversions": groups.conv.to_numpy(),
                                    "observed": (groups.conv / groups.n).to_numpy(),
                                    "used": [models[int(st)].prob(int(mk))
                                             for st, mk in zip(groups.stratum, groups["mask"])]})
        if settings["per_window"]:
            self.rates_.insert(0, "window", groups.stratum.to_numpy())
        self._groups, self._models, self._key = groups, models, m.key
        return self

    def _check_width(self, groups: pd.DataFrame) -> None:
        widest = int(popcount(groups["mask"].to_numpy()).max())
        if widest > self.max_channels:
            raise ParameterError(f"a journey touches {widest} channels; max_channels={self.max_channels} "
                                 f"(2^k subsets each)")

    def attribute(self, journeys: Journeys | JourneyMatrix | None = None) -> Attribution:
        """Expected incremental conversions (and value) per channel, summed over the journeys.

        ``journeys`` default to the ones fitted on (with ``events``: as the
        corrections recast them; other journeys cannot be given then). An
        incremental conversion of a channel set is valued at the mean
        conversion value of that set's journeys (the overall mean for sets
        that never converted). As in Dalessandro et al., a channel whose
        presence lowers the estimated conversion probability gets a negative
        credit: these are not clipped. :meth:`~Attribution.conf_int` resamples
        the journeys (Poisson counts per channel set and window) and refits
        the set functions on each replicate (the retargeting multipliers and
        the in-market pairs held fixed).
        """
        self._check_fitted()
        if journeys is None:
            groups, key = self._groups, self._key
        else:
            if self.pairs_ is not None:
                raise ParameterError("this model was fitted with events= (its journeys recast by the corrections): "
                                     "attribute() credits those; fit a model on the other journeys and their events")
            m = _aligned(_matrix(journeys), self.channels_)
            strata = _window_of_rows(journeys, len(m.conversions), "attributing a per_window model") \
                if self.settings_["per_window"] else None
            groups, key = _groups(m, strata), m.key
            unknown = sorted(set(groups.stratum.astype(int)) - set(self._models))
            if unknown:
                raise ParameterError(f"calendar windows {unknown} were not seen when the model was fitted; "
                                     f"fitted: {sorted(self._models)}")
            self._check_width(groups)
        strata_ = groups.stratum.to_numpy(np.int64)
        masks, n, conv, value = (groups["mask"].to_numpy(), groups.n.to_numpy(float), groups.conv.to_numpy(float),
                                 groups.value.to_numpy(float))
        k = len(self.channels_)
        c_credit, v_credit = _stratified_credits(self._models, strata_, masks, n, conv, value, k)
        frame = pd.DataFrame({"method": "causal_shapley", "channel": self.channels_, "conversions": c_credit,
                              "value": v_credit})
        shrinkage, l2 = self.shrinkage, self.l2

        def statistic(c: np.ndarray, nl: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            if journeys is None:  # refit on the resampled journeys
                models = {int(st): _CausalModel(masks[strata_ == st], (c + nl)[strata_ == st], c[strata_ == st], k,
                                                shrinkage, l2) for st in np.unique(strata_)}
            else:
                models = self._models
            return _stratified_credits(models, strata_, masks, c + nl, c, v, k)

        held = "the model fitted on other journeys" if journeys is not None else \
            ("the thinning and the in-market pairs" if self.pairs_ is not None else None)
        boot = Bootstrap(list(self.channels_), conv, n - conv, value, statistic, held_fixed=held)
        return Attribution(frame, key=key, params={"causal_shapley": {**self.get_params(), **self.settings_}},
                           bootstrap={"causal_shapley": boot},
                           baseline=self.baseline_)


def _window_of_rows(journeys: Any, n_rows: int, what: str) -> np.ndarray:
    """The calendar window of each row of ``journey_matrix(journeys)`` (key order)."""
    if not isinstance(journeys, Journeys) or journeys.anchor != "calendar":
        raise ParameterError(f"{what} needs calendar Journeys (journeys(..., anchor='calendar')); found "
                             f"{type(journeys).__name__}"
                             + (f" anchored on {journeys.anchor!r}" if isinstance(journeys, Journeys) else ""))
    key = list(JOURNEY_KEY)
    jt = fetch(journeys.expr.select(*key)).sort_values(key, kind="mergesort")
    if len(jt) != n_rows:
        raise ParameterError(f"the journeys changed while being read ({len(jt)} rows, then {n_rows})")
    return jt.journey.to_numpy(np.int64)


def _groups(m: JourneyMatrix, strata: np.ndarray | None = None) -> pd.DataFrame:
    """Journeys aggregated by stratum and channel set: ``stratum, mask, n`` (journeys), ``conv``, ``value``."""
    st = np.zeros(len(m.conversions), dtype=np.int64) if strata is None else np.asarray(strata, dtype=np.int64)
    return pd.DataFrame({"stratum": st, "mask": m.masks(), "n": m.conversions + m.nulls, "conv": m.conversions,
                         "value": m.value}).groupby(["stratum", "mask"]).sum().reset_index()


def _stratified_credits(models: dict[int, "_CausalModel"], strata: np.ndarray, masks: np.ndarray, n: np.ndarray,
                        conv: np.ndarray, value: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_causal_credits` per stratum (each with its own set function), summed."""
    c_credit, v_credit = np.zeros(k), np.zeros(k)
    for st, model in models.items():
        sel = strata == st
        if sel.any():
            c, v = _causal_credits(model, masks[sel], n[sel], conv[sel], value[sel], k)
            c_credit += c
            v_credit += v
    return c_credit, v_credit


class _CausalModel:
    """P(y | channel set): observed rates shrunk towards a logistic model on channel presence.

    The logistic model is fitted on the channel sets with summed weights, which
    is the journey-level fit (journeys of one set share their features).
    """

    def __init__(self, masks: np.ndarray, n: np.ndarray, conv: np.ndarray, k: int, shrinkage: float,
                 l2: float) -> None:
        member = ((masks[:, None] >> np.arange(k)[None, :]) & 1).astype(float)
        x = sp.csr_matrix(np.vstack([member, member]))
        y = np.r_[np.ones(len(masks)), np.zeros(len(masks))]
        w = np.r_[conv, n - conv]
        keep = w > 0
        fit = fit_logistic(x[keep], y[keep], w[keep], l2=l2)
        self.intercept, self.coef = fit.intercept, fit.coef
        self.observed = {int(mk): (float(nn), float(cc)) for mk, nn, cc in zip(masks, n, conv)}
        self.shrinkage = shrinkage
        self._cache: dict[int, float] = {}

    def prob(self, mask: int) -> float:
        if mask not in self._cache:
            bits = [i for i in range(len(self.coef)) if mask >> i & 1]
            model = 1.0 / (1.0 + math.exp(-(self.intercept + self.coef[bits].sum())))
            n, c = self.observed.get(mask, (0.0, 0.0))
            self._cache[mask] = (c + self.shrinkage * model) / (n + self.shrinkage) if n + self.shrinkage > 0 \
                else model
        return self._cache[mask]


def _causal_credits(model: _CausalModel, masks: np.ndarray, n: np.ndarray, conv: np.ndarray, value: np.ndarray,
                    k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per channel: sum over channel sets of journeys x the Shapley split of the set's lift."""
    c_credit, v_credit = np.zeros(k), np.zeros(k)
    baseline = model.prob(0)
    total_conv = conv.sum()
    mean_value = value.sum() / total_conv if total_conv > 0 else 0.0
    for mask, nn, cc, vv in zip(masks, n, conv, value):
        mask = int(mask)
        if mask == 0 or nn <= 0:
            continue
        members = [i for i in range(k) if mask >> i & 1]
        # every sub-coalition of the set, as a local bit mask over its members
        sub = [sum(1 << members[b] for b in range(len(members)) if lm >> b & 1) for lm in range(1 << len(members))]
        phi = exact_shapley(np.array([model.prob(g) for g in sub]) - baseline)
        # an incremental conversion is worth the set's mean conversion value (the overall mean if none)
        worth = vv / cc if cc > 0 else mean_value
        c_credit[members] += nn * phi
        v_credit[members] += nn * phi * worth
    return c_credit, v_credit


# ------------------------------------------------------------------ the corrections that read the events


@dataclass
class _Touches:
    """Calendar journeys and the touches of their windows, read from the events.

    ``jt``: the journeys in key order (``user_id, brand, journey, conversions,
    nulls, value, end_ts``, ``in_market``, ``pid``: the pair's index among the
    in-market pairs or -1). ``tp``: one row per touch in the windows of a
    journey's pair (``row`` of ``jt``, ``pid``, ``c``: channel index, ``day``
    since ``first``, ``after``: after the journey's conversion).
    """

    jt: pd.DataFrame
    tp: pd.DataFrame
    channels: list[str]
    pairs: pd.DataFrame
    n_all_pairs: int
    first: pd.Timestamp
    n_days: int
    key: str

    @property
    def n_pairs(self) -> int:
        return len(self.pairs)


def _event_touches(journeys: Any, events: TableLike, brands: TableLike | None) -> _Touches:
    import ibis

    from ..assets.volumes import _brands
    from ..inputs import as_table

    if not isinstance(journeys, Journeys) or journeys.anchor != "calendar" or not journeys.windows \
            or journeys.lookback_days is None or journeys.first_window is None or journeys.source != "events":
        raise ParameterError("CausalAttribution.fit(journeys, events=...) needs the calendar journeys built from the "
                             "events: journeys(events, population=..., anchor='calendar')")
    if journeys.by != "brand":
        raise ParameterError("CausalAttribution.fit(journeys, events=...) needs journeys per consumer and brand "
                             "(by='brand')")
    first = pd.Timestamp(journeys.first_window)
    span = pd.Timedelta(seconds=round(float(journeys.lookback_days) * 86400))
    stop = first + int(journeys.windows) * span
    day = pd.Timedelta(days=1)
    n_days = int(math.ceil((stop - first) / day))
    key = list(JOURNEY_KEY)
    jt = fetch(journeys.expr.select(*key, "conversions", "nulls", "value", "end_ts"))
    if jt.empty:
        raise ParameterError("the journeys table is empty")
    jt = jt.sort_values(key, kind="mergesort").reset_index(drop=True)
    jt["brand"] = jt.brand.astype(str)
    ev = as_table(events, "events", need=[journeys.key, "brand"], what="CausalAttribution.fit")
    ts_type = ev.ts.type()
    t = ev.filter(ev.event_type.isin(list(journeys.touch_types)) & ev[journeys.key].notnull() & ev.brand.notnull()
                  & (ev.ts >= ibis.literal(first, type=ts_type)) & (ev.ts < ibis.literal(stop, type=ts_type)))
    tp = fetch(t.select("user_id", "brand", "ts", channel=t[journeys.key].cast("string")))
    if tp.empty:
        raise ParameterError("CausalAttribution.fit: no touch of the events falls in the journeys' calendar windows")
    tp["brand"] = tp.brand.astype(str)
    category: dict[str, str] = {}
    if brands is not None:
        bt = fetch(_brands(brands, "CausalAttribution.fit"))
        category = dict(zip(bt.brand.astype(str), bt.category.astype(str)))
    # a pair is in the market when its consumer was shown an ad of its category (a brand without one: its own)
    cat_tp = tp.brand.map(lambda b: "c:" + category[b] if b in category else "b:" + b)
    cat_jt = jt.brand.map(lambda b: "c:" + category[b] if b in category else "b:" + b)
    seen = pd.MultiIndex.from_arrays([tp.user_id.to_numpy(), cat_tp.to_numpy()]).unique()
    jt["in_market"] = pd.MultiIndex.from_arrays([jt.user_id.to_numpy(), cat_jt.to_numpy()]).isin(seen)
    all_pairs = jt[["user_id", "brand"]].drop_duplicates()
    pairs = jt.loc[jt.in_market, ["user_id", "brand"]].drop_duplicates().reset_index(drop=True)
    pair_ix = pd.MultiIndex.from_frame(pairs)
    jt["pid"] = pair_ix.get_indexer(pd.MultiIndex.from_frame(jt[["user_id", "brand"]]))
    since = pd.to_datetime(tp.ts) - first
    tp["journey"] = (since // span).astype(np.int64)
    tp["day"] = (since // day).astype(np.int64)
    tp["row"] = pd.MultiIndex.from_frame(jt[key]).get_indexer(pd.MultiIndex.from_frame(tp[key]))
    tp = tp[tp.row >= 0].reset_index(drop=True)  # touches of pairs outside the journeys' population
    channels = sorted(tp.channel.unique())
    rows = tp.row.to_numpy()
    end_ts = pd.to_datetime(jt.end_ts).to_numpy()[rows]
    converted = jt.conversions.to_numpy(float)[rows] > 0
    out = pd.DataFrame({"row": rows, "pid": jt.pid.to_numpy()[rows],
                        "c": pd.Index(channels).get_indexer(tp.channel), "day": tp.day.to_numpy(),
                        "after": converted & (pd.to_datetime(tp.ts).to_numpy() > end_ts)})
    return _Touches(jt, out, channels, pairs, len(all_pairs), first, n_days, journeys.key)


def _stage_levels(touches: _Touches, events: TableLike, rules: Any) -> np.ndarray:
    """The 4A level of every in-market pair at the start of every day (``pairs x days``, 0 = unaware).

    Also sets each touch's ``level`` in ``touches.tp``.
    """
    from ..assets import snapshots

    day = pd.Timedelta(days=1)
    first = touches.first
    dates = pd.date_range(first - day, periods=touches.n_days, freq="D")  # the end of the day before
    stg = fetch(snapshots(events, dates, rules=rules).expr.select("date", "user_id", "brand", "level"))
    level = np.zeros((touches.n_pairs, touches.n_days), dtype=np.int64)
    if len(stg):
        stg["brand"] = stg.brand.astype(str)
        pid = pd.MultiIndex.from_frame(touches.pairs).get_indexer(pd.MultiIndex.from_frame(stg[["user_id", "brand"]]))
        d = ((pd.to_datetime(stg.date) - first) // day).to_numpy(np.int64) + 1
        ok = (pid >= 0) & (d >= 0) & (d < touches.n_days)
        level[pid[ok], d[ok]] = stg.level.to_numpy(np.int64)[ok]
    touches.tp["level"] = level[touches.tp.pid.to_numpy(), touches.tp.day.to_numpy()]
    return level


def _retarget_multipliers(touches: _Touches, level: np.ndarray,
                          max_iter: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per channel and level, the exposure rate relative to unaware pairs; the exposures behind it; convergence.

    Poisson maximum likelihood of ``n[pair, day] ~ a[consumer] * f[brand, day] *
    mult[level[pair, day]]`` by iterative proportional fitting (``mult[0] = 1``;
    a level without pair-days or exposures gets NaN). The consumer's
    propensity is pooled over their brands: a pair's own effect would absorb
    the burst of ads that moved its level (the level is caused by past
    exposures) and pull the multipliers towards 1.
    """
    pairs, tp = touches.pairs, touches.tp
    n_pairs, n_days, k = touches.n_pairs, touches.n_days, len(touches.channels)
    bcode = pd.Categorical(pairs.brand).codes
    by_brand = sp.csr_matrix((np.ones(n_pairs), (bcode, np.arange(n_pairs))), shape=(bcode.max() + 1, n_pairs))
    ucode = pd.Categorical(pairs.user_id).codes
    by_user = sp.csr_matrix((np.ones(n_pairs), (ucode, np.arange(n_pairs))), shape=(ucode.max() + 1, n_pairs))
    flat = level.ravel()
    mult = np.full((k, _N_LEVELS), np.nan)
    shown = np.zeros((k, _N_LEVELS))
    converged = np.zeros(k, bool)
    for c in range(k):
        x = tp[tp.c == c]
        n = np.zeros((n_pairs, n_days))
        np.add.at(n, (x.pid.to_numpy(), x.day.to_numpy()), 1.0)
        tot_u = by_user @ n.sum(axis=1)
        n_brand = by_brand @ n
        num = np.bincount(flat, weights=n.ravel(), minlength=_N_LEVELS)
        shown[c] = num
        m = np.ones(_N_LEVELS)
        f = np.ones((by_brand.shape[0], n_days))
        den = np.zeros(_N_LEVELS, dtype=float)
        for _ in range(max_iter):
            ml = m[level]
            da_u = by_user @ (f[bcode] * ml).sum(axis=1)
            a = np.divide(tot_u, da_u, out=np.zeros(len(tot_u)), where=da_u > 0)[ucode]
            df = by_brand @ (a[:, None] * ml)
            f = np.divide(n_brand, df, out=np.zeros_like(df), where=df > 0)
            den = np.bincount(flat, weights=(a[:, None] * f[bcode]).ravel(), minlength=_N_LEVELS).astype(float)
            new = np.divide(num, den, out=np.full(_N_LEVELS, np.nan), where=den > 0)
            pos = np.isfinite(new) & (new > 0)
            if not pos[0]:  # no exposure of unaware pairs: no reference rate
                break
            new = np.where(pos, new / new[0], 1.0)
            step = np.abs(np.log(new) - np.log(m)).max()
            m = new
            if step < 1e-8:
                converged[c] = True
                break
        mult[c] = np.where((den > 0) & (num > 0), m, np.nan)
    return mult, shown, converged


def _given_multipliers(given: Mapping[Any, Any], channels: list[str] | None) -> np.ndarray:
    """Known multipliers ``{channel: {level or stage: multiplier}}`` as ``channels x levels`` (1 where not named)."""
    from ..assets import STAGE_LEVEL

    names = [] if channels is None else channels
    mult = np.ones((len(names), _N_LEVELS))
    for name, by_level in given.items():
        if not isinstance(by_level, Mapping):
            raise ParameterError(f"retargeting[{name!r}] must map 4A levels (0-4 or stage names) to multipliers; "
                                 f"found {by_level!r}")
        if channels is not None and name not in channels:
            raise ParameterError(f"retargeting names channel {name!r}, which no touch of the journeys has; "
                                 f"channels: {channels}")
        for lv, mu in by_level.items():
            lvl = STAGE_LEVEL.get(lv) if isinstance(lv, str) else lv
            ok_lv = isinstance(lvl, (int, np.integer)) and not isinstance(lvl, bool) and 0 <= lvl < _N_LEVELS
            ok_mu = isinstance(mu, (int, float, np.number)) and not isinstance(mu, bool) and 0 < mu < math.inf
            if not (ok_lv and ok_mu):
                raise ParameterError(f"retargeting[{name!r}]: levels are 0-4 or {list(STAGE_LEVEL)} and multipliers "
                                     f"positive numbers; found {lv!r}: {mu!r}")
            if channels is not None:
                mult[names.index(name), int(lvl)] = float(mu)  # type: ignore[arg-type]
    return mult


def _keep_table(touches: _Touches, level: np.ndarray, mult: np.ndarray, exposures: np.ndarray | None,
                converged: np.ndarray | None) -> tuple[np.ndarray, pd.DataFrame]:
    """The chance an exposure of each channel at each level is kept, and the table behind it."""
    from ..assets import STAGES

    keep = np.where(np.isfinite(mult), np.minimum(1.0, 1.0 / np.where(np.isfinite(mult), mult, 1.0)), 1.0)
    pair_days = np.bincount(level.ravel(), minlength=_N_LEVELS)
    rows = [{"channel": name, "level": lv, "stage": STAGES[lv], "multiplier": mult[c, lv], "keep": keep[c, lv],
             "pair_days": int(pair_days[lv]), "exposures": np.nan if exposures is None else int(exposures[c, lv]),
             "converged": True if converged is None else bool(converged[c])}
            for c, name in enumerate(touches.channels) for lv in range(_N_LEVELS)]
    return keep, pd.DataFrame(rows)


def _design_matrix(touches: _Touches, keep: np.ndarray | None, *, in_market: bool, whole_window: bool,
                   max_channels: int) -> tuple[JourneyMatrix, np.ndarray]:
    """The journeys as channel sets after the corrections: a weighted matrix and each row's journey.

    ``keep`` (``channels x levels``; the touches' ``level`` set): each touch
    kept with that chance; a journey becomes one row per subset of its
    channels it may keep, weighted by the chance of that subset.
    """
    jt, tp = touches.jt, touches.tp
    k = len(touches.channels)
    if not whole_window:
        tp = tp[~tp.after.to_numpy()]
    if in_market:
        jt_rows = np.flatnonzero(jt.in_market.to_numpy())
    else:
        jt_rows = np.arange(len(jt))
    pos = np.full(len(jt), -1)
    pos[jt_rows] = np.arange(len(jt_rows))
    r = pos[tp.row.to_numpy()]
    ok = r >= 0
    r, c = r[ok], tp.c.to_numpy()[ok]
    n_rows = len(jt_rows)
    touched = np.zeros((n_rows, k), bool)
    touched[r, c] = True
    if keep is None:
        prob = touched.astype(float)
    else:
        kp = keep[c, tp.level.to_numpy()[ok]]
        sure = np.zeros((n_rows, k), bool)
        sure[r[kp >= 1], c[kp >= 1]] = True
        log_miss = np.zeros((n_rows, k))
        thin = kp < 1
        np.add.at(log_miss, (r[thin], c[thin]), np.log1p(-kp[thin]))
        prob = np.where(sure, 1.0, np.where(touched, -np.expm1(log_miss), 0.0))
    raw = (touched * (np.int64(1) << np.arange(k, dtype=np.int64))).sum(axis=1)
    widest = int(popcount(raw).max()) if n_rows else 0
    if widest > max_channels:
        raise ParameterError(f"a journey touches {widest} channels; max_channels={max_channels} (2^k subsets each)")
    out_row, out_mask, out_w = [], [], []
    for r_mask, idx in pd.Series(np.arange(n_rows)).groupby(raw).indices.items():
        members = [i for i in range(k) if int(r_mask) >> i & 1]
        pp = prob[np.ix_(idx, members)]
        for lm in range(1 << len(members)):
            on = np.array([(lm >> b) & 1 for b in range(len(members))], bool)
            wgt = np.prod(np.where(on[None, :], pp, 1.0 - pp), axis=1)
            use = wgt > 1e-12
            if use.any():
                out_row.append(idx[use])
                out_mask.append(np.full(int(use.sum()), sum(1 << members[b] for b in range(len(members)) if on[b])))
                out_w.append(wgt[use])
    row = jt_rows[np.concatenate(out_row)]
    mask = np.concatenate(out_mask).astype(np.int64)
    wgt = np.concatenate(out_w)
    bits = ((mask[:, None] >> np.arange(k)) & 1).astype(bool)
    rr, cc = np.nonzero(bits)
    counts = sp.csr_matrix((np.ones(len(rr)), (rr, cc)), shape=(len(row), k))
    m = JourneyMatrix(list(touches.channels), counts, jt.conversions.to_numpy(float)[row] * wgt,
                      jt.nulls.to_numpy(float)[row] * wgt, jt.value.fillna(0.0).to_numpy(float)[row] * wgt,
                      key=touches.key)
    return m, row
