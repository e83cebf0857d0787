"""A targeted campaign as the simulator runs it: channel x audience x budget rows for one brand and a window.

The 4E playbook's Execute step plans a campaign; the simulator can run it,
and run any other plan under the same random numbers, so the loop's
recommendation can be scored against what really would have happened.

How a row is delivered
----------------------
A row ``(channel, audience, budget)`` buys ``budget / unit_cost`` expected
impressions, where ``unit_cost = cpm / 1000 + ctr * cpc`` is the channel's
expected cost per impression (a CPC channel is paid per click). They are
spread over the window's days and the audience's consumers in proportion to
each consumer's use of the channel (the simulator's per-consumer reach; a
consumer the channel cannot reach gets none), on top of the brand's own
flights: the row adds ``min(k * reach, 3)`` to the consumer-brand pair's
Poisson exposure rate on the channel every day of the window (a frequency
cap of 3 a day, :data:`FREQUENCY_CAP`), with ``k`` set so that the expected
impressions equal the budget's. Exposures of the campaign and
of the brand's flights share the channel's adstock and saturation.
Retargeting does not apply: the audience is the targeting.

Examples
--------
>>> import pandas as pd
>>> c = Campaign("Acme", "2025-02-01", "2025-02-14",
...              plan=pd.DataFrame({"channel": ["display", "social"], "audience": ["lapsed", "lapsed"],
...                                 "budget": [500.0, 500.0]}),
...              audiences={"lapsed": [1, 2, 3]})
>>> c.total_budget
1000.0
>>> c.with_budgets([800.0, 200.0]).plan.budget.tolist()
[800.0, 200.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import ParameterError

if TYPE_CHECKING:
    from .simcore import _Block, _BlockOut, _World

__all__ = ["Campaign", "FREQUENCY_CAP"]

#: the most expected exposures a campaign row gives one consumer a day (a frequency cap; the simulator's
#: Poisson draws are exact up to about a dozen a day)
FREQUENCY_CAP = 3.0


@dataclass(frozen=True)
class Campaign:
    """A campaign for one brand: rows of ``channel, audience, budget`` on air from ``start`` to ``end``.

    Parameters
    ----------
    brand : str
        The brand advertised.
    start, end : date
        First and last day on air (inclusive), within the simulated days.
    plan : pandas.DataFrame
        One row per line of the plan: ``channel`` (a channel of the world),
        ``audience`` (a key of ``audiences``) and ``budget`` (expected cost,
        non-negative). A (channel, audience) pair appears at most once.
    audiences : mapping of str to user ids
        The consumers each audience reaches: the *treated* consumers only
        (a holdout is kept out of the audience that is sent to the channel).
    name : str
        Prefix of the campaign names in the world's ``campaigns`` table and
        events (``"<name>-<channel>-<audience>"``).
    """

    brand: str
    start: Any
    end: Any
    plan: pd.DataFrame
    audiences: Mapping[str, Any]
    name: str = "4E"
    _users: dict[str, np.ndarray] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.brand, str) or not self.brand:
            raise ParameterError(f"campaign brand must be a brand name; found {self.brand!r}")
        try:
            start, end = pd.Timestamp(self.start), pd.Timestamp(self.end)
        except (TypeError, ValueError):
            raise ParameterError(f"campaign start and end must be dates; found {self.start!r}, {self.end!r}") from None
        if start is pd.NaT or end is pd.NaT or start.tzinfo is not None or end.tzinfo is not None:
            raise ParameterError(f"campaign start and end must be dates without a time zone; found {self.start!r}, "
                                 f"{self.end!r}")
        if end < start:
            raise ParameterError(f"campaign end ({end.date()}) is before its start ({start.date()})")
        object.__setattr__(self, "start", start.normalize())
        object.__setattr__(self, "end", end.normalize())
        plan, users = check_plan(self.plan, self.audiences, what="campaign")
        object.__setattr__(self, "plan", plan)
        object.__setattr__(self, "_users", users)

    @property
    def total_budget(self) -> float:
        """The sum of the rows' budgets."""
        return float(self.plan.budget.sum())

    @property
    def row_names(self) -> list[str]:
        """The campaign name of each row: ``<name>-<channel>-<audience>``."""
        return [f"{self.name}-{c}-{a}" for c, a in zip(self.plan.channel, self.plan.audience)]

    def users(self, audience: str) -> np.ndarray:
        """The sorted, distinct user ids of an audience."""
        if audience not in self._users:
            raise ParameterError(f"unknown audience {audience!r}; audiences are {sorted(self._users)}")
        return self._users[audience]

    def with_budgets(self, budgets: Sequence[float] | Mapping[Any, float]) -> "Campaign":
        """The same campaign with other budgets: one per row in order, or a mapping of channel (or
        ``(channel, audience)``) to budget, rows it does not name keeping theirs."""
        plan = self.plan.copy()
        if isinstance(budgets, Mapping):
            keys = [(c, a) for c, a in zip(plan.channel, plan.audience)]
            known = set(keys) | set(plan.channel)
            unknown = [k for k in budgets if k not in known]
            if unknown:
                raise ParameterError(f"budgets name {unknown}, which are not rows of the plan {keys}")
            plan["budget"] = [float(budgets.get((c, a), budgets.get(c, b))) for (c, a), b in zip(keys, plan.budget)]
        else:
            vals = np.asarray(budgets, dtype=float)
            if vals.shape != (len(plan),):
                raise ParameterError(f"budgets must give one number per plan row ({len(plan)}); found {vals.shape}")
            plan["budget"] = vals
        return replace(self, plan=plan)

    def summary_row(self) -> dict[str, Any]:
        """What a world's config records of the campaign."""
        return {"name": self.name, "brand": self.brand, "start": str(self.start.date()), "end": str(self.end.date()),
                "plan": self.plan.to_dict(orient="list"),
                "audience_sizes": {k: int(len(v)) for k, v in self._users.items()}}


def check_plan(plan: Any, audiences: Any, *, what: str) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """A plan (``channel, audience, budget``) and its audiences (name -> integer user ids), checked.

    Returns the plan's three columns (strings, float budgets) and each audience's sorted distinct ids.

    Raises
    ------
    ParameterError
        Not a frame, missing columns, no rows, budgets that are not finite numbers >= 0, a repeated
        (channel, audience) row, an audience the plan names but ``audiences`` lacks, ids that are not integers.
    """
    if not isinstance(plan, pd.DataFrame):
        raise ParameterError(f"{what} plan must be a pandas DataFrame of channel, audience, budget; found "
                             f"{type(plan).__name__}")
    missing = [c for c in ("channel", "audience", "budget") if c not in plan.columns]
    if missing:
        raise ParameterError(f"{what} plan lacks column(s) {missing}; it needs channel, audience, budget")
    if plan.empty:
        raise ParameterError(f"{what} plan has no rows")
    out = plan[["channel", "audience", "budget"]].reset_index(drop=True).copy()
    try:
        out["budget"] = pd.to_numeric(out.budget).astype(float)
    except (TypeError, ValueError):
        raise ParameterError(f"{what} budgets must be numbers; found {plan.budget.tolist()}") from None
    bad = out.budget[~np.isfinite(out.budget) | (out.budget < 0)]
    if len(bad):
        raise ParameterError(f"{what} budgets must be finite and non-negative; found {bad.tolist()}")
    out["channel"] = out.channel.astype(str)
    out["audience"] = out.audience.astype(str)
    dup = out[out.duplicated(["channel", "audience"])]
    if len(dup):
        raise ParameterError(f"{what} plan repeats (channel, audience) "
                             f"{list(map(tuple, dup[['channel', 'audience']].to_numpy()))}: one row each")
    if not isinstance(audiences, Mapping):
        raise ParameterError(f"{what} audiences must map audience names to user ids; found "
                             f"{type(audiences).__name__}")
    unknown = sorted(set(out.audience) - set(map(str, audiences)))
    if unknown:
        raise ParameterError(f"{what} plan names audience(s) {unknown} that audiences does not hold "
                             f"({sorted(map(str, audiences))})")
    users: dict[str, np.ndarray] = {}
    for key, ids in audiences.items():
        arr = np.asarray(ids.to_numpy() if isinstance(ids, pd.Series) else ids)
        if arr.ndim != 1 or (len(arr) and not np.issubdtype(arr.dtype, np.integer)):
            raise ParameterError(f"audience {key!r} must be a list of integer user ids; found dtype {arr.dtype}")
        users[str(key)] = np.unique(arr.astype(np.int64))
    return out, users


@dataclass
class PlanArrays:
    """A campaign resolved against a world: what the simulation core needs.

    A pair's rate from row ``r`` on a day on air is ``min(k * reach, cap)``, with ``k`` set by the row's
    budget (:func:`row_rates`); worlds give each row a budget of their own to run other plans under the same
    draws.
    """

    brand: int
    first: int  # internal day (burn-in included) of the first day on air
    last: int  # ... and the last (inclusive)
    t0: int  # observed day of the first day on air
    channel: np.ndarray  # (R,) channel index
    users: list[np.ndarray]  # (R,) sorted user ids
    reach: list[np.ndarray]  # (R,) the reach of the row's pairs that have any, sorted descending
    code: np.ndarray  # (R,) campaign code of the row in the world's campaigns table
    budget: np.ndarray  # (R,) the budgets as planned


def unit_cost(cpm: np.ndarray, cpc: np.ndarray, ctr: np.ndarray) -> np.ndarray:
    """Expected cost of one impression per channel: ``cpm`` (already per impression) plus ``ctr * cpc``."""
    return np.asarray(cpm) + np.asarray(ctr) * np.asarray(cpc)


def resolve(campaign: Campaign, *, brands: list[str], channels: list[str], start: pd.Timestamp, n_days: int,
            burn_in: int, first_code: int) -> PlanArrays:
    """Check a campaign against a world and lay out its rows (the rates are set later, from the reach)."""
    if not isinstance(campaign, Campaign):
        raise ParameterError(f"campaign must be a Campaign (marketing360.datasets.Campaign); found "
                             f"{type(campaign).__name__}")
    if campaign.brand not in brands:
        raise ParameterError(f"campaign brand {campaign.brand!r} is not a brand of this world: {brands}")
    unknown = sorted(set(campaign.plan.channel) - set(channels))
    if unknown:
        raise ParameterError(f"campaign plan names unknown channel(s) {unknown}; channels are {channels}")
    last_day = start + pd.Timedelta(days=n_days - 1)
    if not (start <= campaign.start and campaign.end <= last_day):
        raise ParameterError(f"campaign window {campaign.start.date()} .. {campaign.end.date()} must lie within "
                             f"the simulated days {start.date()} .. {last_day.date()}")
    t0 = (campaign.start - start).days
    t1 = (campaign.end - start).days
    R = len(campaign.plan)
    return PlanArrays(
        brand=brands.index(campaign.brand), first=burn_in + t0, last=burn_in + t1, t0=t0,
        channel=np.array([channels.index(c) for c in campaign.plan.channel], np.int64),
        users=[campaign.users(a) for a in campaign.plan.audience], reach=[np.zeros(0)] * R,
        code=np.arange(first_code, first_code + R, dtype=np.int32),
        budget=campaign.plan.budget.to_numpy(float))


def _fill(reach_desc: np.ndarray, target: float, cap: float) -> float:
    """``k`` with ``sum(min(k * reach, cap)) == target`` (``reach`` positive, sorted descending)."""
    if target <= 0:
        return 0.0
    suffix = np.cumsum(reach_desc[::-1])[::-1]  # suffix[j]: the reach of all but the j largest
    k = (target - np.arange(len(reach_desc)) * cap) / suffix  # the j largest at the cap, the rest k * reach
    return float(k[np.argmax(k * reach_desc <= cap * (1 + 1e-9))])


def row_rates(arrays: PlanArrays, budgets: np.ndarray, cost: np.ndarray, row_labels: list[str],
              cap: float = FREQUENCY_CAP) -> np.ndarray:
    """Each world's rate per unit of reach for each row (``(worlds, rows)`` from budgets of the same shape).

    A row's expected impressions, ``budget / cost``, are spread over its days and its consumers in proportion
    to their reach, up to ``cap`` a consumer and day (a frequency cap, filled like water):
    ``sum over pairs of min(k * reach, cap) = budget / (cost * days)``.

    Raises
    ------
    ParameterError
        A budget its audience cannot absorb under the cap (or nobody in it can be reached).
    """
    days = arrays.last - arrays.first + 1
    out = np.zeros(budgets.shape)
    for r, reach in enumerate(arrays.reach):
        c = arrays.channel[r]
        room = len(reach) * cap * days * cost[c]
        top = float(budgets[:, r].max(initial=0.0))
        if top > room * (1 - 1e-9):
            who = "none of its audience can be reached (the channel reaches none of them, or none shops the " \
                  "brand's category)" if not len(reach) else \
                f"its {len(reach):,} reachable consumers take at most {room:,.2f} over {days} days at " \
                f"{cap:g} exposures a day each"
            raise ParameterError(f"campaign row {row_labels[r]!r} cannot spend a budget of {top:,.2f}: {who}; "
                                 "lower the budget or widen the audience or window")
        for k in range(len(budgets)):
            out[k, r] = _fill(reach, budgets[k, r] / (cost[c] * days), cap)
    return out


def plan_rates(pl: PlanArrays, blk: "_Block", rates: np.ndarray, C: int, on_brand: np.ndarray
                ) -> tuple[np.ndarray | None, np.ndarray]:
    """The campaign's exposure rate per channel, world and pair on a day on air (``(C, K, P)``; None when every
    world's is 0) from the worlds' rates per unit of reach (``(K, rows)``), capped per row at the frequency
    cap; and per channel and pair the row its exposures are labelled with in world 0 (``-1``: none)."""
    K, P = len(rates), len(blk.pair_user)
    rate = np.zeros((C, K, P), dtype=np.float32)
    code = np.full((C, P), -1, dtype=np.int32)
    best = np.zeros((C, P), dtype=np.float32)
    pair_ids = blk.user_id[blk.pair_user]
    for r in range(len(pl.channel)):
        c = int(pl.channel[r])
        m = blk.reach[:, c] * (on_brand & np.isin(pair_ids, pl.users[r]))  # (P,)
        row = np.minimum(rates[:, r, None] * m[None, :], FREQUENCY_CAP).astype(np.float32)  # (K, P)
        rate[c] += row
        take = row[0] > best[c]
        code[c, take] = pl.code[r]
        best[c, take] = row[0, take]
    return (rate if rate.any() else None), code


def count_campaign(out: "_BlockOut", blk: "_Block", b3: np.ndarray, value: np.ndarray, n_del: np.ndarray,
                    clicks: np.ndarray, w: "_World", on_brand: np.ndarray, roles: np.ndarray | None) -> None:
    """One observed day from the campaign's start: the campaign brand's conversions, revenue and ad spend per
    world, and per consumer in the worlds with a role."""
    assert out.brand_conv is not None and out.brand_rev is not None and out.brand_spend is not None
    hit = b3 & on_brand[None, :]  # (K, P)
    out.brand_conv += hit.sum(axis=1)
    out.brand_rev += (hit * value[None, :]).sum(axis=1)
    cost = (n_del[:, :, on_brand] * w.cpm[:, None, None]).sum(axis=(0, 2)) \
        + (clicks[:, :, on_brand] * w.cpc[:, None, None]).sum(axis=(0, 2))
    out.brand_spend += cost
    if roles is not None and out.campaign_users:
        U = len(blk.user_id)
        for k, role in enumerate(roles):
            if role:
                uc, ur = out.campaign_users[str(role)]
                pk = hit[k]
                uc += np.bincount(blk.pair_user[pk], minlength=U)
                ur += np.bincount(blk.pair_user[pk], weights=value[pk], minlength=U)
