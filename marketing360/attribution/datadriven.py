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
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import ParameterError
from ..estimators import Estimator, check_random_state
from ..models import fit_logistic
from ..models.shapley import exact_shapley, popcount
from ..paths import JourneyMatrix, Journeys, journey_matrix
from .result import Attribution, Bootstrap

__all__ = ["BaggedLogisticAttribution", "probabilistic", "CausalAttribution", "BASELINE"]

#: the pseudo-channel holding conversions a model credits to no channel
BASELINE = "(baseline)"


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

    Parameters
    ----------
    shrinkage : float
        Pseudo-journeys pulling a set's observed rate towards the logistic
        model's prediction (0: observed rates only, where observed).
    max_channels : int
        Largest channel set handled exactly (``2^k`` subsets); larger sets raise.
    l2 : float
        Ridge penalty of the logistic model.

    Attributes
    ----------
    channels_ : list of str
    baseline_ : float
        Estimated conversion probability with no ad.
    intercept_, coef_ : float, numpy.ndarray
        The logistic model on channel presence.
    rates_ : pandas.DataFrame
        Per observed channel set: journeys, conversions, observed and used probability.
    """

    def __init__(self, *, shrinkage: float = 20.0, max_channels: int = 12, l2: float = 1e-3) -> None:
        self.shrinkage = shrinkage
        self.max_channels = max_channels
        self.l2 = l2

    def fit(self, journeys: Journeys | JourneyMatrix) -> "CausalAttribution":
        """Fit the no-ad baseline, the logistic model and the per-set rates; returns self."""
        if not (isinstance(self.shrinkage, (int, float)) and self.shrinkage >= 0):
            raise ParameterError(f"shrinkage must be >= 0; found {self.shrinkage!r}")
        if not (isinstance(self.max_channels, int) and 1 <= self.max_channels <= 20):
            raise ParameterError(f"max_channels must be an integer from 1 to 20; found {self.max_channels!r}")
        m = _matrix(journeys)
        if not m.channels:
            raise ParameterError("causal attribution: the journeys have no touchpoints; nothing to attribute")
        if m.conversions.sum() <= 0 or m.nulls.sum() <= 0:
            raise ParameterError("causal attribution needs converting and non-converting journeys")
        groups = _groups(m)
        if groups.loc[groups.index == 0, "n"].sum() <= 0:
            raise ParameterError("causal attribution needs journeys without ads (the no-ad baseline): build "
                                 "them from events with population= (every consumer x brand) and anchor='calendar'")
        self._check_width(groups)
        model = _CausalModel(groups.index.to_numpy(), groups.n.to_numpy(), groups.conv.to_numpy(),
                             len(m.channels), self.shrinkage, self.l2)
        self.channels_ = list(m.channels)
        self.intercept_, self.coef_ = model.intercept, model.coef
        self.baseline_ = model.prob(0)
        self.rates_ = pd.DataFrame({"mask": groups.index, "journeys": groups.n.to_numpy(),
                                    "conversions": groups.conv.to_numpy(),
                                    "observed": (groups.conv / groups.n).to_numpy(),
                                    "used": [model.prob(int(k)) for k in groups.index]})
        self._groups, self._model, self._key = groups, model, m.key
        return self

    def _check_width(self, groups: pd.DataFrame) -> None:
        widest = int(popcount(groups.index.to_numpy()).max())
        if widest > self.max_channels:
            raise ParameterError(f"a journey touches {widest} channels; max_channels={self.max_channels} "
                                 f"(2^k subsets each)")

    def attribute(self, journeys: Journeys | JourneyMatrix | None = None) -> Attribution:
        """Expected incremental conversions (and value) per channel, summed over the journeys.

        ``journeys`` default to the ones fitted on. An incremental conversion
        of a channel set is valued at the mean conversion value of that set's
        journeys (the overall mean for sets that never converted). As in
        Dalessandro et al., a channel whose presence lowers the estimated
        conversion probability gets a negative credit: these are not clipped.
        :meth:`~Attribution.conf_int` resamples the journeys (Poisson counts per
        channel set) and refits the whole model on each replicate.
        """
        self._check_fitted()
        if journeys is None:
            groups, key = self._groups, self._key
        else:
            m = _aligned(_matrix(journeys), self.channels_)
            groups, key = _groups(m), m.key
            self._check_width(groups)
        masks, n, conv, value = (groups.index.to_numpy(), groups.n.to_numpy(float), groups.conv.to_numpy(float),
                                 groups.value.to_numpy(float))
        k = len(self.channels_)
        c_credit, v_credit = _causal_credits(self._model, masks, n, conv, value, k)
        frame = pd.DataFrame({"method": "causal_shapley", "channel": self.channels_, "conversions": c_credit,
                              "value": v_credit})
        shrinkage, l2, fitted = self.shrinkage, self.l2, self._groups

        def statistic(c: np.ndarray, nl: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            if journeys is None:  # refit on the resampled journeys
                model = _CausalModel(fitted.index.to_numpy(), c + nl, c, k, shrinkage, l2)
            else:
                model = self._model
            return _causal_credits(model, masks, c + nl, c, v, k)

        boot = Bootstrap(list(self.channels_), conv, n - conv, value, statistic,
                         held_fixed=None if journeys is None else "the model fitted on other journeys")
        return Attribution(frame, key=key, params={"causal_shapley": self.get_params()},
                           bootstrap={"causal_shapley": boot},
                           baseline=self.baseline_)


def _groups(m: JourneyMatrix) -> pd.DataFrame:
    """Journeys aggregated by channel set: ``n`` (journeys), ``conv``, ``value``, indexed by mask."""
    return pd.DataFrame({"mask": m.masks(), "n": m.conversions + m.nulls, "conv": m.conversions,
                         "value": m.value}).groupby("mask").sum()


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
