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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import NotFittedError, ParameterError
from .journeys import JOURNEY_KEY, Journeys
from .result import Attribution
from ..models.shapley import exact_shapley

__all__ = ["JourneyMatrix", "journey_matrix", "BaggedLogisticAttribution", "probabilistic",
           "CausalAttribution", "BASELINE"]

#: the pseudo-channel holding conversions a model credits to no channel
BASELINE = "(baseline)"


@dataclass
class JourneyMatrix:
    """Journeys as touch counts: ``counts`` (journeys x ``channels``, sparse) with their outcomes.

    ``conversions`` / ``nulls`` are the journeys' weights as converted / not
    (0/1 for journeys built from events, counts for a path table).
    """

    channels: list[str]
    counts: sp.csr_matrix
    conversions: np.ndarray
    nulls: np.ndarray
    value: np.ndarray

    @property
    def presence(self) -> sp.csr_matrix:
        p = self.counts.copy()
        p.data = np.ones_like(p.data)
        return p

    def masks(self) -> np.ndarray:
        """Channel set of each journey as an integer bit mask (bit i = channels[i]); at most 63 channels."""
        if len(self.channels) > 63:
            raise ParameterError(f"{len(self.channels)} channels; channel-set masks hold at most 63 "
                                 "(group rare channels together first)")
        p = self.presence.tocoo()
        out = np.zeros(self.counts.shape[0], dtype=np.int64)
        np.bitwise_or.at(out, p.row, (np.int64(1) << p.col.astype(np.int64)))
        return out


def journey_matrix(journeys: Journeys) -> JourneyMatrix:
    """Fetch the journeys from their engine as a :class:`JourneyMatrix`."""
    if not isinstance(journeys, Journeys):
        raise ParameterError(f"journeys must be a Journeys; found {type(journeys).__name__}")
    t = journeys.touches
    jt, cnt, row = journeys.fetch(t.group_by([*JOURNEY_KEY, "channel"]).agg(n=t.count()),
                                  "conversions", "nulls", "value")
    channels = sorted(cnt.channel.astype(str).unique())
    col = pd.Index(channels).get_indexer(cnt.channel.astype(str))
    counts = sp.csr_matrix((cnt.n.to_numpy(float), (row, col)), shape=(len(jt), len(channels)))
    return JourneyMatrix(channels, counts, jt.conversions.to_numpy(float), jt.nulls.to_numpy(float),
                         jt.value.fillna(0.0).to_numpy(float))


def _weighted_rows(m: JourneyMatrix) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Stack converting and non-converting weights: features, labels, sample weights."""
    pres = m.presence
    x = sp.vstack([pres, pres]).tocsr()
    y = np.r_[np.ones(len(m.conversions)), np.zeros(len(m.nulls))]
    w = np.r_[m.conversions, m.nulls]
    keep = w > 0
    return x[keep], y[keep], w[keep]


def _fit_logit(x: sp.csr_matrix, y: np.ndarray, w: np.ndarray, l2: float) -> tuple[float, np.ndarray]:
    from ..models import fit_logistic

    fit = fit_logistic(x, y, w, l2=l2)
    return fit.intercept, fit.coef


def _share(m: JourneyMatrix, score: np.ndarray, method: str, **meta: Any) -> Attribution:
    """Share each converting journey's conversions and value by ``score`` of its channels (>= 0)."""
    pres = m.presence.multiply(np.clip(score, 0.0, None)[None, :]).tocsr()
    tot = np.asarray(pres.sum(axis=1)).ravel()
    share = sp.diags(np.divide(1.0, tot, out=np.zeros_like(tot), where=tot > 0)) @ pres
    conv = share.T @ m.conversions
    val = share.T @ m.value
    touched = np.asarray(m.presence.sum(axis=1)).ravel() > 0
    left = touched & (tot == 0)
    frame = pd.DataFrame({"method": method, "channel": m.channels, "conversions": conv, "value": val})
    if left.any():
        frame = pd.concat([frame, pd.DataFrame({"method": [method], "channel": [BASELINE],
                                                "conversions": [m.conversions[left].sum()],
                                                "value": [m.value[left].sum()]})], ignore_index=True)
    return Attribution(frame, **meta)


class BaggedLogisticAttribution:
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
    seed : int
        Random seed.

    Attributes
    ----------
    coef_ : pandas.Series
        Averaged coefficient of each channel (over the bags that saw it).
    coef_std_ : pandas.Series
        Their standard deviation across bags (the stability Shao & Li measure).
    """

    def __init__(self, *, n_bags: int = 30, sample_fraction: float = 0.5, channel_fraction: float = 0.75,
                 l2: float = 1e-3, seed: int = 0) -> None:
        self.n_bags = n_bags
        self.sample_fraction = sample_fraction
        self.channel_fraction = channel_fraction
        self.l2 = l2
        self.seed = seed

    def fit(self, journeys: Journeys | JourneyMatrix) -> "BaggedLogisticAttribution":
        if not (isinstance(self.n_bags, int) and self.n_bags >= 1):
            raise ParameterError(f"n_bags must be a positive integer; found {self.n_bags!r}")
        for name in ("sample_fraction", "channel_fraction"):
            v = getattr(self, name)
            if not 0 < v <= 1:
                raise ParameterError(f"{name} must be in (0, 1]; found {v!r}")
        m = journeys if isinstance(journeys, JourneyMatrix) else journey_matrix(journeys)
        x, y, w = _weighted_rows(m)
        rng = np.random.default_rng(self.seed)
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
            _, c = _fit_logit(x[sel][:, cols], y[sel], sw[sel], self.l2)
            coefs[b, cols] = c
        if np.isnan(coefs).all():
            raise ParameterError("no bag held both converting and non-converting journeys")
        self.matrix_ = m
        self.coef_ = pd.Series(np.nanmean(coefs, axis=0), index=m.channels, name="coef")
        self.coef_std_ = pd.Series(np.nanstd(coefs, axis=0), index=m.channels, name="coef_std")
        return self

    def attribute(self) -> Attribution:
        """Each conversion shared among its journey's channels in proportion to their positive coefficients."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("BaggedLogisticAttribution is not fitted; call fit(journeys) first")
        return _share(self.matrix_, np.nan_to_num(self.coef_.to_numpy()), "bagged_logistic", n_bags=self.n_bags)


def probabilistic(journeys: Journeys | JourneyMatrix) -> Attribution:
    """Shao & Li's probabilistic model (first- and second-order conversion rates)."""
    m = journeys if isinstance(journeys, JourneyMatrix) else journey_matrix(journeys)
    pres = m.presence.tocsc()
    n = m.conversions + m.nulls
    pos = pres.T @ m.conversions  # conversions of journeys touching i
    tot = pres.T @ n
    p1 = np.divide(pos, tot, out=np.zeros_like(pos), where=tot > 0)
    pos2 = (pres.T @ sp.diags(m.conversions) @ pres).toarray()
    tot2 = (pres.T @ sp.diags(n) @ pres).toarray()
    p2 = np.divide(pos2, tot2, out=np.zeros_like(pos2), where=tot2 > 0)
    k = len(m.channels)
    if k == 0 or m.conversions.sum() <= 0:
        raise ParameterError("probabilistic: no conversions to attribute")
    inter = p2 - p1[:, None] - p1[None, :]
    seen = tot2 > 0  # pairs never seen together add nothing
    np.fill_diagonal(seen, False)
    contrib = p1 + (np.where(seen, inter, 0.0).sum(axis=1) / (2 * (k - 1)) if k > 1 else 0.0)
    out = _share(m, contrib, "probabilistic")
    out.meta["contribution"] = pd.Series(contrib, index=m.channels)
    return out


class CausalAttribution:
    """Dalessandro et al.'s causally motivated attribution (Shapley of the lift over no ads).

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
    baseline_ : float
        Estimated conversion probability with no ad.
    rates_ : pandas.DataFrame
        Per observed channel set: journeys, conversions, observed and used probability.
    """

    def __init__(self, *, shrinkage: float = 20.0, max_channels: int = 12, l2: float = 1e-3) -> None:
        self.shrinkage = shrinkage
        self.max_channels = max_channels
        self.l2 = l2

    def fit(self, journeys: Journeys | JourneyMatrix) -> "CausalAttribution":
        if not self.shrinkage >= 0:
            raise ParameterError(f"shrinkage must be >= 0; found {self.shrinkage!r}")
        m = journeys if isinstance(journeys, JourneyMatrix) else journey_matrix(journeys)
        masks = m.masks()
        n = m.conversions + m.nulls
        if n[masks == 0].sum() <= 0:
            raise ParameterError("causal attribution needs journeys without ads (the no-ad baseline): build "
                                 "them from events with population= (every consumer x brand) and anchor='calendar'")
        x, y, w = _weighted_rows(m)
        b0, coef = _fit_logit(x, y, w, self.l2)
        g = pd.DataFrame({"mask": masks, "n": n, "conv": m.conversions, "value": m.value}).groupby("mask").sum()
        too_big = [int(k).bit_count() for k in g.index if int(k).bit_count() > self.max_channels]
        if too_big:
            raise ParameterError(f"a journey touches {max(too_big)} channels; max_channels={self.max_channels}")
        self.matrix_, self.groups_ = m, g
        self.intercept_, self.coef_ = b0, coef
        self._cache: dict[int, float] = {}
        self.baseline_ = self._prob(0)
        self.rates_ = pd.DataFrame({"mask": g.index, "journeys": g.n.to_numpy(), "conversions": g.conv.to_numpy(),
                                    "observed": (g.conv / g.n).to_numpy(),
                                    "used": [self._prob(int(k)) for k in g.index]})
        return self

    def _prob(self, mask: int) -> float:
        if mask not in self._cache:
            bits = [i for i in range(len(self.coef_)) if mask >> i & 1]
            model = 1.0 / (1.0 + math.exp(-(self.intercept_ + self.coef_[bits].sum())))
            g = self.groups_
            if mask in g.index:
                n, c = float(g.at[mask, "n"]), float(g.at[mask, "conv"])
            else:
                n = c = 0.0
            self._cache[mask] = (c + self.shrinkage * model) / (n + self.shrinkage) if n + self.shrinkage > 0 else model
        return self._cache[mask]

    def attribute(self) -> Attribution:
        """Expected incremental conversions (and value) per channel, summed over all journeys.

        An incremental conversion of a channel set is valued at the mean
        conversion value of that set's journeys (the overall mean for sets
        that never converted). As in Dalessandro et al., a channel whose
        presence lowers the estimated conversion probability gets a negative
        credit: these are not clipped.
        """
        if not hasattr(self, "groups_"):
            raise NotFittedError("CausalAttribution is not fitted; call fit(journeys) first")
        m, g = self.matrix_, self.groups_
        k = len(m.channels)
        conv, val = np.zeros(k), np.zeros(k)
        mean_value = m.value.sum() / m.conversions.sum() if m.conversions.sum() > 0 else 0.0
        for mask, row in g.iterrows():
            mask = int(mask)
            if mask == 0:
                continue
            members = [i for i in range(k) if mask >> i & 1]
            # every sub-coalition of the set, as a local bit mask over its members
            local = np.arange(1 << len(members))
            sub = [sum(1 << members[b] for b in range(len(members)) if lm >> b & 1) for lm in local]
            phi = exact_shapley(np.array([self._prob(g) for g in sub]) - self.baseline_)
            # an incremental conversion is worth the set's mean conversion value (the overall mean if none)
            worth = row.value / row.conv if row.conv > 0 else mean_value
            conv[members] += row.n * phi
            val[members] += row.n * phi * worth
        frame = pd.DataFrame({"method": "causal_shapley", "channel": m.channels, "conversions": conv, "value": val})
        return Attribution(frame, baseline=self.baseline_, shrinkage=self.shrinkage)
