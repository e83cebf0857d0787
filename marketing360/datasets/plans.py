"""Campaigns in the simulator: attach one to a world, and run other plans under the same random numbers.

:func:`~marketing360.datasets.simulate` runs a world with a
:class:`~marketing360.datasets.Campaign` (``campaign=``) and records its truth;
:func:`evaluate_campaigns` re-runs the same world with other plans instead
(other budgets, channels or audiences for the same brand and window) and
gives each plan's true conversions, revenue and spend. Only the campaign
brand's consumer-brand pairs are simulated again, with the draws of the
whole world, so each plan's figures are those a full re-simulation would give.

Examples
--------
>>> import pandas as pd
>>> from marketing360.datasets import Campaign, simulate
>>> w = simulate(n_users=400, n_days=28, seed=3, truth="none", n_brands=3, n_categories=1)
>>> fans = w.users.user_id[:200]
>>> c = Campaign("Acme", "2025-01-08", "2025-01-21", audiences={"fans": fans},
...              plan=pd.DataFrame({"channel": ["display"], "audience": ["fans"], "budget": [300.0]}))
>>> out = evaluate_campaigns(w, [c, c.with_budgets([0.0])])
>>> float(out.loc[1, "incremental_conversions"])
0.0
>>> bool(out.loc[0, "incremental_spend"] > 0)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import ParameterError
from .campaign import Campaign, PlanArrays, resolve, row_rates, unit_cost
from .simcore import _build_block, _World

if TYPE_CHECKING:
    from .result import SimulationResult

__all__ = ["attach", "evaluate_campaigns", "campaign_worlds"]


def attach(w: _World, campaign: Campaign, budgets: np.ndarray | None = None) -> np.ndarray:
    """Resolve ``campaign`` against the world ``w`` (in place: ``w.plan`` and its rows in ``w.campaigns``).

    ``budgets`` (``(worlds, rows)``) are the budgets the worlds give the rows, by default those planned.
    Returns the worlds' rates per unit of reach (:func:`~.campaign.row_rates`), which the simulation core
    takes; a budget the audience cannot absorb raises :class:`ParameterError`.
    """
    arrays = resolve(campaign, brands=w.brands.brand.tolist(), channels=w.channels, start=w.start,
                     n_days=w.n_days, burn_in=w.burn_in, first_code=len(w.campaigns))
    arrays.reach = _reach(w, arrays)
    rates = row_rates(arrays, arrays.budget[None, :] if budgets is None else budgets,
                      unit_cost(w.cpm, w.cpc, w.ctr), campaign.row_names)
    w.plan = arrays
    rows = pd.DataFrame({"campaign": campaign.row_names, "brand": campaign.brand,
                         "channel": campaign.plan.channel.to_numpy(), "start": campaign.start,
                         "end": campaign.end, "budget": campaign.plan.budget.to_numpy()})
    w.campaigns = rows if w.campaigns.empty else pd.concat([w.campaigns, rows], ignore_index=True)
    return rates


def _reach(w: _World, arrays: PlanArrays) -> list[np.ndarray]:
    """Per row: the channel reach of the audience's pairs with the brand that have any, sorted descending."""
    R = len(arrays.channel)
    parts: list[list[np.ndarray]] = [[] for _ in range(R)]
    n_blocks = (w.n_users + w.block_users - 1) // w.block_users
    for b in range(n_blocks):
        blk = _build_block(w, b)
        on = blk.pair_brand == arrays.brand
        ids = blk.user_id[blk.pair_user[on]]
        reach = blk.reach[on]
        for r in range(R):
            x = reach[np.isin(ids, arrays.users[r]), arrays.channel[r]]
            parts[r].append(x[x > 0])
    return [-np.sort(-np.concatenate(p)).astype(np.float64) for p in parts]


def campaign_worlds(campaign: Campaign, channels: list[str]) -> tuple[np.ndarray, list[str]]:
    """The worlds the truth of a campaign needs beyond the observed one: without the campaign, and without
    each of its channels' rows. Returns their budgets (``(worlds, rows)``) and names."""
    planned = campaign.plan.budget.to_numpy(float)
    names = ["without"]
    budgets = [np.zeros_like(planned)]
    for c in dict.fromkeys(campaign.plan.channel):
        names.append(f"without {c}")
        budgets.append(np.where(campaign.plan.channel == c, 0.0, planned))
    return np.array(budgets), names


def evaluate_campaigns(world: "SimulationResult", campaigns: Sequence[Campaign], *,
                       n_jobs: int = 1) -> pd.DataFrame:
    """Run the world again with each campaign instead of its own (if any), under the same random numbers.

    Parameters
    ----------
    world : SimulationResult
        A world :func:`~marketing360.datasets.simulate` returned in this session (a world read from disk
        cannot be re-simulated).
    campaigns : sequence of Campaign
        Plans for one brand and one window: other budgets, channels or audiences (an audience name means
        the same consumers in every plan).
    n_jobs : int
        Worker processes over blocks of consumers.

    Returns
    -------
    pandas.DataFrame
        One row per campaign, in order: ``budget`` (planned), ``conversions``, ``revenue`` and ``spend`` of
        the brand from the campaign's first day to the last simulated day, and ``incremental_conversions``,
        ``incremental_revenue``, ``incremental_spend`` over the same world with no campaign.

    Raises
    ------
    ParameterError
        No campaign, campaigns for other brands or windows, an audience name with other consumers, or a
        world that cannot be re-simulated.
    """
    w0 = getattr(world, "_world", None)
    if w0 is None:
        raise ParameterError("evaluate_campaigns needs the world simulate() returned in this session; a world "
                             "read from disk keeps no random state to run again: simulate it again")
    plans = list(campaigns)
    if not plans:
        raise ParameterError("evaluate_campaigns needs at least one campaign")
    bad = [type(c).__name__ for c in plans if not isinstance(c, Campaign)]
    if bad:
        raise ParameterError(f"campaigns must be Campaign objects; found {bad}")
    head = plans[0]
    for c in plans[1:]:
        if (c.brand, c.start, c.end) != (head.brand, head.start, head.end):
            raise ParameterError(f"every campaign must advertise one brand over one window ({head.brand}, "
                                 f"{head.start.date()} .. {head.end.date()}); found ({c.brand}, "
                                 f"{c.start.date()} .. {c.end.date()})")
    union, budgets = _union(plans)
    w = replace(w0, plan=None, campaigns=w0.campaigns.iloc[:0].copy())
    budgets = np.vstack([budgets, np.zeros(budgets.shape[1])])  # the last world runs no campaign
    rates = attach(w, union, budgets)
    K, C = len(budgets), len(w.channels)
    n_tests = 0 if w.geo_off is None else len(w.geo_off)
    masks = np.ones((K, C), dtype=bool)
    tests = np.ones((K, n_tests), dtype=bool)
    pairs = min(w.n_users, w.block_users) * 1.5 / len(w.cat_brands)
    chunk = int(max(1, min(K, 1.5e9 // max(1.0, pairs * C * 4 * 8))))
    n_blocks = (w.n_users + w.block_users - 1) // w.block_users
    jobs = [(w, b, masks, tests, None, chunk, rates, None, True) for b in range(n_blocks)]
    from .simulator import _run_jobs

    results = _run_jobs(jobs, n_jobs, False)
    conv, rev, spend = (np.sum([getattr(r, name) for r in results], axis=0)
                        for name in ("brand_conv", "brand_rev", "brand_spend"))
    out = pd.DataFrame({"budget": [c.total_budget for c in plans], "conversions": conv[:-1],
                        "revenue": rev[:-1], "spend": spend[:-1]})
    out["incremental_conversions"] = out.conversions - conv[-1]
    out["incremental_revenue"] = out.revenue - rev[-1]
    out["incremental_spend"] = out.spend - spend[-1]
    return out


def _union(plans: list[Campaign]) -> tuple[Campaign, np.ndarray]:
    """One campaign holding every plan's rows, and each plan's budgets over them (``(plans, rows)``)."""
    members: dict[str, np.ndarray] = {}
    keys: list[tuple[str, str]] = []
    for c in plans:
        for a in dict.fromkeys(c.plan.audience):
            ids = c.users(a)
            if a in members and not np.array_equal(members[a], ids):
                raise ParameterError(f"audience {a!r} holds other consumers in another campaign; give the "
                                     "audiences of different plans different names")
            members[a] = ids
        keys += [k for k in zip(c.plan.channel, c.plan.audience) if k not in keys]
    budgets = np.zeros((len(plans), len(keys)))
    for i, c in enumerate(plans):
        for ch, a, b in zip(c.plan.channel, c.plan.audience, c.plan.budget):
            budgets[i, keys.index((ch, a))] = b
    plan = pd.DataFrame({"channel": [k[0] for k in keys], "audience": [k[1] for k in keys], "budget": budgets[0]})
    return replace(plans[0], plan=plan, audiences=members), budgets
