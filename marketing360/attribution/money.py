"""Money: attributed revenue against media cost (ROAS, cost per attributed conversion).

Examples
--------
>>> import pandas as pd
>>> from marketing360.attribution import Attribution, returns
>>> a = Attribution(pd.DataFrame({"method": "causal_shapley", "channel": ["search", "video"],
...                               "conversions": [20.0, 5.0], "value": [1000.0, 400.0]}))
>>> returns(a, pd.Series({"search": 500.0, "video": 800.0})).table()[["channel", "roas", "cost_per_conversion"]]
  channel  roas  cost_per_conversion
0  search   2.0                 25.0
1   video   0.5                160.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pandas as pd

from ..engine import fetch
from ..errors import ParameterError
from ..inputs import as_table
from ..results import Result
from ..schema import AD_EVENT_TYPES
from ..types import CreditKey, TableLike
from .result import Attribution

__all__ = ["returns", "channel_costs", "Returns", "ChannelCosts"]


class ChannelCosts(Result):
    """Media cost per channel (or campaign): ``channel, cost``."""

    title: ClassVar[str] = "media cost"
    keys = ("channel",)

    def series(self) -> pd.Series:
        """Cost indexed by channel."""
        return self.table().set_index("channel").cost


class Returns(Result):
    """Per method and channel: ``conversions, value, cost, roas, cost_per_conversion``."""

    title: ClassVar[str] = "returns on media cost"
    keys = ("method", "channel")


def channel_costs(events: TableLike, *, key: CreditKey = "channel", touch_types: Sequence[str] = AD_EVENT_TYPES
                  ) -> ChannelCosts:
    """Media cost per channel (or campaign) summed over the touch events, on the events' engine."""
    if key not in ("channel", "campaign"):
        raise ParameterError(f"key must be 'channel' or 'campaign'; found {key!r}")
    events = as_table(events, "events", need=[key, "cost"], what="channel_costs")
    ev = events.filter(events.event_type.isin(list(touch_types)) & events[key].notnull())
    df = fetch(ev.group_by(ev[key].cast("string").name("channel")).agg(cost=ev.cost.sum()))
    return ChannelCosts(df.assign(cost=df.cost.fillna(0.0)))


def returns(result: Attribution, costs: ChannelCosts | pd.Series | pd.DataFrame) -> Returns:
    """Per method and channel: credited conversions and value, cost, ROAS and cost per conversion.

    Parameters
    ----------
    result : Attribution
        Any attribution; with an incremental method (``causal_shapley``,
        ``deep_*``) the credited conversions are incremental ones, so
        ``cost_per_conversion`` is the cost per incremental conversion and
        ``roas`` the incremental ROAS.
    costs : ChannelCosts, pandas.Series or DataFrame
        Cost per channel: :func:`channel_costs`, a Series indexed by channel,
        or a frame with ``channel`` and ``cost`` (or ``spend``) columns.

    Returns
    -------
    Returns
        ``method, channel, conversions, value, cost, roas, cost_per_conversion``;
        ratios are NaN where the denominator is 0. Channels without a cost
        entry raise.
    """
    if not isinstance(result, Attribution):
        raise ParameterError(f"result must be an Attribution; found {type(result).__name__}")
    if isinstance(costs, ChannelCosts):
        costs = costs.series()
    if isinstance(costs, pd.DataFrame):
        col = "cost" if "cost" in costs.columns else "spend" if "spend" in costs.columns else None
        if "channel" not in costs.columns or col is None:
            raise ParameterError(f"costs needs columns 'channel' and 'cost' (or 'spend'); found {list(costs.columns)}")
        costs = costs.groupby("channel")[col].sum()
    if not isinstance(costs, pd.Series):
        raise ParameterError(f"costs must be a Series (channel -> cost) or a DataFrame; found {type(costs).__name__}")
    c = costs.astype(float)
    if (c < 0).any() or c.isna().any():
        raise ParameterError("costs must be non-negative numbers")
    df = result.table()
    df = df[df.channel.isin(c.index) | ~df.channel.str.startswith("(")]
    missing = sorted(set(df.channel) - set(c.index))
    if missing:
        raise ParameterError(f"no cost for channel(s) {missing}; costs has {sorted(c.index)}")
    df["cost"] = df.channel.map(c)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["roas"] = np.where(df.cost > 0, df.value / df.cost, np.nan)
        df["cost_per_conversion"] = np.where(df.conversions > 0, df.cost / df.conversions, np.nan)
    return Returns(df.reset_index(drop=True))
