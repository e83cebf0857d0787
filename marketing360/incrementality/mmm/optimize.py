"""Budget allocation on a fitted marketing-mix model: the most outcome for a budget, or spend to a target return.

The outcome of a plan is the sum over channels of each channel's steady
response (:meth:`MMM.steady_response`: the outcome per period when the
channel spends the same amount every period, split over geos as it was in
the data). Spend is per period, like the model's data.

* ``budget=B`` maximises the total response subject to ``sum(spend) = B``
  and each channel's bounds (SLSQP with exact gradients, from several
  starts: the curves may be S-shaped, so the problem need not be concave);
* ``target_mroas=m`` spends each channel up to where its marginal ROAS falls
  to ``m`` (the largest such spend within its bounds; its lower bound where
  even the first unit returns less).

Bounds are multiples of the current spend — ``(0.5, 2.0)`` for every channel,
Robyn's convention — or a dict giving some channels their own ``(low, high)``
spend per period in money.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize

from ...errors import ParameterError
from .results import BudgetPlan

if TYPE_CHECKING:
    from .model import MMM

__all__ = ["optimize_budget", "allocate", "budget_bounds"]


def budget_bounds(bounds: Any, current: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Low and high spend per channel: ``(low, high)`` multiples of ``current`` for every channel, or a dict of
    channel -> ``(low, high)`` spend (channels not named: ``(0.5, 2.0)`` times their current spend)."""
    chans = list(current.index)
    lo, hi = np.zeros(len(chans)), np.zeros(len(chans))
    if isinstance(bounds, Mapping):
        unknown = sorted(set(bounds) - set(chans))
        if unknown:
            raise ParameterError(f"bounds: unknown channel(s) {unknown}; the model's channels are {chans}")
        default = (0.5, 2.0)
        for i, ch in enumerate(chans):
            if ch in bounds:
                pair = bounds[ch]
                lo[i], hi[i] = _pair(pair, f"bounds[{ch!r}]")
            else:
                lo[i], hi[i] = default[0] * current[ch], default[1] * current[ch]
    else:
        a, b = _pair(bounds, "bounds")
        lo, hi = a * current.to_numpy(), b * current.to_numpy()
    bad = [ch for ch, x, y in zip(chans, lo, hi, strict=True) if x > y]
    if bad:
        raise ParameterError(f"bounds: the low bound is above the high one for {bad}")
    return lo, hi


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise ParameterError(f"{name} must be a number; found {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number; found {value!r}") from None


def _pair(pair: Any, name: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in pair)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a pair (low, high) of numbers; found {pair!r}") from None
    if not (np.isfinite(a) and np.isfinite(b)) or a < 0 or b < a:
        raise ParameterError(f"{name} must be 0 <= low <= high (finite); found {pair!r}")
    return a, b


def optimize_budget(mmm: MMM, *, budget: float | None = None, target_mroas: float | None = None,
                    bounds: Mapping[str, tuple[float, float]] | tuple[float, float] = (0.5, 2.0)) -> BudgetPlan:
    """The spend per period and channel that maximises the outcome.

    Parameters
    ----------
    mmm : MMM
        A fitted model.
    budget : float, optional
        Total spend per period to allocate (default: the current total, unless ``target_mroas`` is given).
    target_mroas : float, optional
        Spend each channel until its marginal ROAS falls to this (instead of a fixed budget).
    bounds : (low, high) or dict
        Multiples of each channel's current spend, or a dict of channel -> ``(low, high)`` spend per period
        (channels not named get ``(0.5, 2.0)`` times their current spend).

    Returns
    -------
    BudgetPlan

    Raises
    ------
    ParameterError
        Both ``budget`` and ``target_mroas`` given, a budget that is not a number >= 0 or lies below the sum of
        the low bounds or above the sum of the high ones, a target that is not a number > 0, bad bounds or an
        unknown channel.
    """
    current = mmm.current_spend()
    lo, hi = budget_bounds(bounds, current)
    chans = list(current.index)
    p = mmm.solution_.p
    if budget is not None and target_mroas is not None:
        raise ParameterError("optimize_budget: give budget= or target_mroas=, not both")

    def total(spend: np.ndarray, q: np.ndarray = p) -> float:
        return float(sum(mmm.steady_response(q, c, np.array(spend[c])) for c in range(len(chans))))

    def grad(spend: np.ndarray) -> np.ndarray:
        return np.array([float(mmm.steady_response(p, c, np.array(spend[c]), derivative=True))
                         for c in range(len(chans))])

    if target_mroas is not None:
        m = _number(target_mroas, "target_mroas")
        if not np.isfinite(m) or m <= 0:
            raise ParameterError(f"target_mroas must be > 0; found {target_mroas!r}")
        plan = np.array([_spend_at_mroas(mmm, c, m, lo[c], hi[c]) for c in range(len(chans))])
        mode, notes = "target_mroas", [f"each channel spends until its marginal ROAS falls to {m:g}"]
    else:
        b = float(current.sum()) if budget is None else _number(budget, "budget")
        if not np.isfinite(b) or b < 0:
            raise ParameterError(f"budget must be a non-negative number; found {budget!r}")
        if b < lo.sum() - 1e-9 * max(b, 1.0):
            raise ParameterError(f"budget {b:,.2f} is below the sum of the channels' minimum spend "
                                 f"{lo.sum():,.2f}: lower the low bounds or raise the budget")
        if b > hi.sum() + 1e-9 * max(b, 1.0):
            raise ParameterError(f"budget {b:,.2f} is above the sum of the channels' maximum spend "
                                 f"{hi.sum():,.2f}: raise the high bounds or lower the budget")
        plan = allocate(total, grad, b, lo, hi, current.to_numpy())
        mode, notes = "budget", ["maximises the outcome per period for a fixed total spend (SLSQP, several starts)"]
    now = current.to_numpy()
    gain = total(plan) - total(now)
    se = _gain_se(mmm, plan, now)
    q = mmm._t()
    resp_now = [float(mmm.steady_response(p, c, np.array(now[c]))) for c in range(len(chans))]
    resp_opt = [float(mmm.steady_response(p, c, np.array(plan[c]))) for c in range(len(chans))]
    frame = pd.DataFrame({"channel": chans, "current": now, "optimal": plan, "low": lo, "high": hi,
                          "change": plan - now, "response_current": resp_now, "response_optimal": resp_opt,
                          "mroas_current": grad(now), "mroas_optimal": grad(plan)})
    return BudgetPlan(frame, budget=float(plan.sum()), gain=gain, gain_lower=gain - q * se, gain_upper=gain + q * se,
                      mode=mode, notes=notes)


def allocate(total: Any, grad: Any, budget: float, lo: np.ndarray, hi: np.ndarray, now: np.ndarray) -> np.ndarray:
    """Maximise ``total`` (with gradient ``grad``) over the simplex ``sum = budget`` within ``[lo, hi]``, from
    several starts (``now``, the bounds' proportional fill, each channel filled first); SLSQP."""
    span = hi - lo
    room = span.sum()
    if room <= 0:
        return lo.copy()
    starts = [lo + (budget - lo.sum()) * span / room]  # the bounds' proportional fill
    if lo.sum() <= now.sum() <= hi.sum() and np.isclose(now.sum(), budget):
        starts.append(np.clip(now, lo, hi))
    for c in range(len(lo)):  # one channel filled first: the S-curves' other corners
        x = lo.copy()
        x[c] = min(hi[c], lo[c] + budget - lo.sum())
        rest = budget - x.sum()
        if rest > 0:
            others = np.arange(len(lo)) != c
            x[others] += rest * span[others] / span[others].sum()
        starts.append(x)
    scale = max(budget, 1e-12)
    best = None
    for x0 in starts:
        res = optimize.minimize(lambda z: -total(z * scale) / scale, x0 / scale, jac=lambda z: -grad(z * scale),
                                method="SLSQP", bounds=list(zip(lo / scale, hi / scale, strict=True)),
                                constraints=[{"type": "eq", "fun": lambda z: z.sum() - budget / scale,
                                              "jac": lambda z: np.ones_like(z)}],
                                options={"maxiter": 500, "ftol": 1e-12})
        x = np.clip(res.x * scale, lo, hi)
        x *= budget / x.sum() if x.sum() > 0 else 1.0
        x = np.clip(x, lo, hi)
        if best is None or total(x) > total(best):
            best = x
    assert best is not None
    return best


def _spend_at_mroas(mmm: MMM, c: int, target: float, lo: float, hi: float) -> float:
    """The largest spend in ``[lo, hi]`` at which channel ``c``'s marginal ROAS is still >= ``target``."""
    p = mmm.solution_.p

    def slope(b: float) -> float:
        return float(mmm.steady_response(p, c, np.array(b), derivative=True)) - target

    grid = np.linspace(lo, hi, 201)
    vals = np.array([slope(b) for b in grid])
    ok = np.flatnonzero(vals >= 0)
    if not len(ok):
        return float(lo)
    i = int(ok[-1])
    if i == len(grid) - 1:
        return float(hi)
    return float(optimize.brentq(slope, grid[i], grid[i + 1]))


def _gain_se(mmm: MMM, plan: np.ndarray, now: np.ndarray) -> float:
    """Delta-method standard error of the plan's gain (the plan held fixed)."""
    m = mmm.model_
    idx = [j for c in range(m.C) for j in range(m.channel_slice(c).start, m.channel_slice(c).stop)]

    def gain(q: np.ndarray) -> float:
        return float(sum(mmm.steady_response(q, c, np.array(plan[c])) - mmm.steady_response(q, c, np.array(now[c]))
                         for c in range(m.C)))

    return mmm._delta(gain, idx)[1]
