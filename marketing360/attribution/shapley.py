"""Shapley-value attribution over channel coalitions (Zhao, Mahboobi & Bagheri 2018).

The journeys are grouped by their **channel set** ``T`` (the distinct
channels touched, order ignored). Each set has a worth ``w(T)``: its
conversions (``worth="conversions"``) or its conversion rate,
conversions / journeys (``worth="rate"``). A coalition ``S`` is worth what
the journeys inside it achieve, ``v(S) = sum of w(T) over T ⊆ S``. For this
game the Shapley value has a closed form (each ``T`` is a unanimity game):

    phi_j = sum over T containing j of w(T) / |T|

which is exact, needs no enumeration of the ``2^n`` coalitions, and so handles
any number of channels (the engine computes the sets as 63-bit masks).
With rates the values are rescaled to the conversions of the journeys with
touches. The **ordered** Shapley value splits each channel's share of ``T``
by the position (1st, 2nd ... distinct channel) at which it entered the
converting journeys of ``T``. ``value`` uses conversion value as the worth.

Examples
--------
>>> import pandas as pd
>>> from marketing360.attribution import from_paths, shapley
>>> j = from_paths(pd.DataFrame({"path": ["a > b", "b > a > a", "a", "c"], "conversions": [2, 1, 1, 0],
...                              "value": [20.0, 8.0, 5.0, 0.0], "nulls": [1, 3, 1, 4]}))
>>> shapley(j).table().round(3)
        shapley
channel
a           2.5
b           1.5
c           0.0
"""

from __future__ import annotations

from typing import Any, Literal

import ibis
import numpy as np
import pandas as pd

from ..errors import ParameterError
from .journeys import JOURNEY_KEY, Journeys
from ..models.shapley import exact_shapley, popcount
from .result import Attribution

__all__ = ["shapley", "channel_sets", "exact_shapley", "ShapleyAttribution", "MAX_CHANNELS"]

#: channels a coalition mask can hold (a signed 64-bit integer)
MAX_CHANNELS = 63


def _channel_bits(journeys: Journeys) -> tuple[list[str], Any]:
    channels = journeys.channels()
    if not channels:
        raise ParameterError("shapley: the journeys have no touchpoints")
    if len(channels) > MAX_CHANNELS:
        raise ParameterError(f"shapley: {len(channels)} channels; at most {MAX_CHANNELS} fit a coalition mask "
                             "(group rare channels together first)")
    bits = ibis.memtable(pd.DataFrame({"_ch": channels, "_bit": [1 << i for i in range(len(channels))]}))
    return channels, bits


def channel_sets(journeys: Journeys, *, ordered: bool = False) -> tuple[list[str], pd.DataFrame]:
    """Journeys grouped by channel set: ``mask, conversions, nulls, value`` (bit ``i`` = ``channels[i]``).

    With ``ordered=True``, also per channel and entry position: ``mask, channel, position,
    conversions, value`` over the converting journeys (position 1 = the first distinct channel).
    """
    channels, bits = _channel_bits(journeys)
    t = journeys.touches
    per = t.group_by([*JOURNEY_KEY, "channel"]).agg(
        _first=t.touch.min(), conversions=t.conversions.max(), nulls=t.nulls.max(), value=t.value.max())
    per = per.join(bits, per.channel == bits._ch)
    w = ibis.window(group_by=list(JOURNEY_KEY))
    per = per.mutate(mask=per._bit.sum().over(w))  # distinct channels: sum of bits == bitwise or
    if not ordered:
        one = per.group_by([*JOURNEY_KEY, "mask"]).agg(
            conversions=per.conversions.max(), nulls=per.nulls.max(), value=per.value.max())
        g = one.group_by("mask").agg(conversions=one.conversions.sum(), nulls=one.nulls.sum(),
                                     value=one.value.sum())
        return channels, g.order_by("mask").to_pyarrow().to_pandas()
    per = per.filter(per.conversions > 0)
    per = per.mutate(position=(ibis.row_number().over(
        ibis.window(group_by=list(JOURNEY_KEY), order_by=[per._first, per.channel])) + 1).cast("int64"))
    g = per.group_by(["mask", "channel", "position"]).agg(conversions=per.conversions.sum(),
                                                          value=per.value.sum())
    return channels, g.order_by(["mask", "channel", "position"]).to_pyarrow().to_pandas()


class ShapleyAttribution(Attribution):
    """Shapley attribution; ``by_position`` holds the ordered values when asked for."""

    title = "Shapley attribution"

    def __init__(self, frame: pd.DataFrame, *, by_position: pd.DataFrame | None = None, **meta: Any) -> None:
        super().__init__(frame, **meta)
        self.by_position = by_position


def shapley(journeys: Journeys, *, worth: Literal["conversions", "rate"] = "conversions",
            ordered: bool = False) -> ShapleyAttribution:
    """Shapley values of the channels, exact, for any number of channels (up to 63).

    Parameters
    ----------
    journeys : Journeys
        Journeys with touches (empty journeys are not part of the game).
    worth : {"conversions", "rate"}
        Worth of a channel set: its conversions (values sum to the conversions
        of the journeys with touches), or its conversion rate (needs
        non-converting journeys; values rescaled to the same total).
    ordered : bool
        Also compute the ordered Shapley values: ``by_position`` holds
        ``channel, position, conversions, value`` (they sum to the unordered ones).

    Returns
    -------
    ShapleyAttribution
        Method ``shapley`` (``shapley_rate`` for rates); ``value`` uses
        conversion value as the worth (or value per journey with rates).
    """
    if not isinstance(journeys, Journeys):
        raise ParameterError(f"journeys must be a Journeys; found {type(journeys).__name__}")
    if worth not in ("conversions", "rate"):
        raise ParameterError(f"worth must be 'conversions' or 'rate'; found {worth!r}")
    channels, sets = channel_sets(journeys)
    masks = sets["mask"].to_numpy(np.int64)
    conv = sets["conversions"].to_numpy(float)
    val = sets["value"].to_numpy(float)
    total_c, total_v = conv.sum(), val.sum()
    if total_c <= 0:
        raise ParameterError("shapley: no journey with touchpoints converts; nothing to attribute")
    if worth == "rate":
        n = conv + sets["nulls"].to_numpy(float)  # a set seen in no journey (zero weights) is worth 0
        w_c = np.divide(conv, n, out=np.zeros_like(conv), where=n > 0)
        w_v = np.divide(val, n, out=np.zeros_like(val), where=n > 0)
    else:
        w_c, w_v = conv, val
    size = popcount(masks)
    member = ((masks[:, None] >> np.arange(len(channels))[None, :]) & 1).astype(float)  # sets x channels
    phi_c = member.T @ (w_c / size)
    phi_v = member.T @ (w_v / size)
    scale_c = total_c / phi_c.sum() if phi_c.sum() > 0 else 0.0
    scale_v = total_v / phi_v.sum() if phi_v.sum() > 0 else 0.0
    method = "shapley" if worth == "conversions" else "shapley_rate"
    frame = pd.DataFrame({"method": method, "channel": channels, "conversions": phi_c * scale_c,
                          "value": phi_v * scale_v})
    by_pos = None
    if ordered:
        _, o = channel_sets(journeys, ordered=True)
        idx = pd.Series(np.arange(len(masks)), index=masks)
        k = idx.loc[o["mask"].to_numpy(np.int64)].to_numpy()
        # share of T's worth per member, split by the member's entry position among T's conversions
        conv_t = conv[k]
        val_t = np.where(val[k] > 0, val[k], 1.0)
        frac_c = o["conversions"].to_numpy(float) / conv_t
        frac_v = np.where(val[k] > 0, o["value"].to_numpy(float) / val_t, frac_c)
        by_pos = pd.DataFrame({
            "channel": o["channel"].astype(str), "position": o["position"].astype("int64"),
            "conversions": (w_c[k] / size[k]) * frac_c * scale_c,
            "value": (w_v[k] / size[k]) * frac_v * scale_v,
        }).groupby(["channel", "position"], as_index=False).sum()
    return ShapleyAttribution(frame, by_position=by_pos, worth=worth, ordered=ordered, key=journeys.key,
                              n_channels=len(channels), n_sets=len(masks), total_conversions=total_c,
                              total_value=total_v)
