"""Prior response curves for Enhance, read off a fitted marketing-mix model.

A marketing-mix model (:class:`~marketing360.incrementality.MMM`) knows how
each channel saturates as the brand spends more per period; a campaign's
dose arms measure a plan row's response at two spends per consumer, too
few to place a curve's bend. :func:`mmm_prior` turns the model's curves into
priors on the bend, ``kappa``, of :func:`~marketing360.playbook.reallocate`'s
curves ``y(s) = beta * s / (s + kappa)`` (``s``: spend per consumer over the
campaign).

The campaign spends on top of what the channel spends already, so the
model's curve that matters is its *marginal* one: the extra outcome per
period ``R(x0 + d) - R(x0)`` of ``d`` more spend per period on top of the
model's current spend ``x0``. It reaches half its maximum at ``d_half``
(for a Hill curve of shape 1 with half-saturation ``h``: ``d_half = x0 + h``).
Spread over the ``population`` the channel's spend reaches, ``d_half`` per
period is ``d_half / population`` per consumer and period, and over a
campaign of ``days`` days

    kappa = d_half * days / (period_days * population).

The translation assumes that the response saturates per consumer reached
(the same exposure per consumer saturates alike in the model's data and in
the campaign): the prior's ``sd`` (of ``log kappa``) adds the model's own
uncertainty about ``d_half`` (delta method over the channel's parameters) to
a spread for that assumption.

Examples
--------
>>> from marketing360.datasets import simulate_mmm
>>> from marketing360.incrementality import MMM
>>> w = simulate_mmm(n_periods=104, channels=2, seed=1)
>>> mmm = MMM(seasonality=0, n_starts=4).fit(w.data)
>>> mmm_prior(mmm, days=21, population=1e6).columns.tolist()
['channel', 'kappa', 'sd', 'half_spend', 'current_spend', 'model_sd']
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from ..errors import ParameterError

__all__ = ["mmm_prior"]


def mmm_prior(mmm: Any, *, days: float, population: float, sd: float = 0.5) -> pd.DataFrame:
    """Priors on each channel's curve bend per consumer, from a fitted marketing-mix model (see the module).

    Parameters
    ----------
    mmm : MMM
        A fitted :class:`~marketing360.incrementality.MMM` whose channels are named as the plan's.
    days : float
        The campaign's length in days (its spend per consumer is spent over them).
    population : float
        Consumers the channel's spend in the model's data reaches (the same for every channel).
    sd : float
        Standard deviation of ``log kappa`` for the translation from the model's spend per period to spend per
        consumer (added in quadrature to the model's own).

    Returns
    -------
    pandas.DataFrame
        ``channel, kappa, sd`` (what :func:`~marketing360.playbook.reallocate` reads as ``prior=``) and
        ``half_spend`` (``d_half``, spend per period), ``current_spend`` (``x0``) and ``model_sd`` (the model's
        standard error of ``log d_half``).

    Raises
    ------
    ParameterError
        Not a fitted MMM; ``days``, ``population`` or ``sd`` not a finite number > 0; no channel whose curve has
        a response left to gain.

    Warns
    -----
    UserWarning
        Channels whose curve has nothing left to gain above the current spend (no effect, or saturated) get no
        prior and are named.
    """
    from ..incrementality.mmm.model import MMM

    if not isinstance(mmm, MMM):
        raise ParameterError(f"mmm must be a marketing360 MMM; found {type(mmm).__name__}")
    mmm._check_fitted()
    for name, v in (("days", days), ("population", population), ("sd", sd)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not (
                np.isfinite(v) and v > 0):
            raise ParameterError(f"{name} must be a finite number > 0; found {v!r}")
    m, now = mmm.model_, mmm.current_spend()
    periods = float(days) / mmm.panel_.period_days
    rows, flat = [], []
    for c, ch in enumerate(mmm.panel_.channels):
        s = m.channel_slice(c)
        x0 = float(now[ch])
        scale = max(x0, float(mmm.x_scale_[c]))
        if _half(mmm, mmm.solution_.p, c, x0, scale) is None:
            flat.append(ch)
            continue
        log_half, se = mmm._delta(lambda q, c=c, x0=x0, scale=scale: float(np.log(_half(mmm, q, c, x0, scale)
                                                                                  or np.nan)),
                                  range(s.start, s.stop))
        half = float(np.exp(log_half))
        if not np.isfinite(se):
            warnings.warn(f"mmm_prior: the model's uncertainty about channel {ch!r}'s curve could not be computed "
                          f"(its curve turns flat within a step of its parameters): its prior's sd is sd={sd} alone",
                          stacklevel=2)
        rows.append({"channel": ch, "kappa": half * periods / float(population),
                     "sd": float(np.hypot(se, sd)) if np.isfinite(se) else float(sd),
                     "half_spend": half, "current_spend": x0, "model_sd": se})
    if flat:
        warnings.warn(f"mmm_prior: the model's curve of {flat} has nothing left to gain above the current spend (no "
                      "effect, or saturated): no prior for it; its rows are fitted by their arms alone", stacklevel=2)
    if not rows:
        raise ParameterError(f"mmm_prior: no channel of the model has a response left to gain ({flat})")
    return pd.DataFrame(rows)


def _half(mmm: Any, q: np.ndarray, c: int, x0: float, scale: float) -> float | None:
    """The extra spend per period ``d`` on top of ``x0`` at which channel ``c``'s extra outcome reaches half of
    what it can still gain (the saturation families reach 1), under parameters ``q``; None if nothing is left."""
    s = mmm.model_.channel_slice(c)
    base = float(mmm.steady_response(q, c, x0))
    top = float(mmm.y_scale_ * q[s.start] * mmm.panel_.size.sum()) - base
    if not top > 0:
        return None

    def f(d: float) -> float:
        return float(mmm.steady_response(q, c, x0 + d)) - base - top / 2

    hi = scale
    for _ in range(200):
        if f(hi) > 0:
            break
        hi *= 2
    else:
        return None
    return float(optimize.brentq(f, 0.0, hi, xtol=1e-14 * hi, rtol=1e-14))
