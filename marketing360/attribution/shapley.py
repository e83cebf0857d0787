"""Shapley-value attribution over channel coalitions (Zhao, Mahboobi & Bagheri 2018).

The journeys are grouped by their **channel set** ``T`` (the distinct
channels touched, order ignored). Each set has a worth ``w(T)``: its
conversions (``worth="conversions"``) or its conversion rate,
conversions / journeys (``worth="rate"``). A coalition ``S`` is worth what
the journeys inside it achieve, ``v(S) = sum of w(T) over T ⊆ S``. For this
game the Shapley value has a closed form (each ``T`` is a unanimity game):

    phi_j = sum over T containing j of w(T) / |T|

which is exact, needs no enumeration of the ``2^n`` coalitions, and so handles
any number of channels up to 63 (the sets are 63-bit masks). The engine
reduces the journeys to their path table; the sets come from it.
With rates the values are rescaled to the conversions of the journeys with
touches. The **ordered** Shapley value splits each channel's share of ``T``
by the position (1st, 2nd ... distinct channel) at which it entered the
converting journeys of ``T``. ``value`` uses conversion value as the worth.

Examples
--------
>>> import pandas as pd
>>> from marketing360.attribution import shapley
>>> from marketing360.paths import from_paths
>>> j = from_paths(pd.DataFrame({"path": ["a > b", "b > a > a", "a", "c"], "conversions": [2, 1, 1, 0],
...                              "value": [20.0, 8.0, 5.0, 0.0], "nulls": [1, 3, 1, 4]}))
>>> shapley(j).wide().round(3)
         shapley
channel
a           2.5
b           1.5
c           0.0
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..models.shapley import popcount
from ..paths import Journeys
from ..paths.parsed import ParsedPaths, parse_journeys
from ..types import Worth
from .result import Attribution, Bootstrap

__all__ = ["shapley", "channel_sets", "ShapleyAttribution", "MAX_CHANNELS"]

#: channels a coalition mask can hold (a signed 64-bit integer)
MAX_CHANNELS = 63


def _parsed(journeys: Journeys) -> ParsedPaths:
    p = parse_journeys(journeys, what="shapley")
    if len(p.channels) > MAX_CHANNELS:
        raise ParameterError(f"shapley: {len(p.channels)} channels; at most {MAX_CHANNELS} fit a coalition mask "
                             "(group rare channels together first)")
    return p


def _sets(p: ParsedPaths) -> tuple[np.ndarray, np.ndarray]:
    """The distinct channel sets (masks) and each path's set."""
    masks, inverse = np.unique(p.masks(), return_inverse=True)
    return masks, inverse.ravel()


def channel_sets(journeys: Journeys, *, ordered: bool = False) -> tuple[list[str], pd.DataFrame]:
    """Journeys grouped by channel set: ``mask, conversions, nulls, value`` (bit ``i`` = ``channels[i]``).

    With ``ordered=True``, also per channel and entry position: ``mask, channel, position,
    conversions, value`` over the converting journeys (position 1 = the first distinct channel).
    """
    p = _parsed(journeys)
    masks, of = _sets(p)
    if not ordered:
        k = len(masks)
        return p.channels, pd.DataFrame({"mask": masks, "conversions": np.bincount(of, p.conversions, k),
                                         "nulls": np.bincount(of, p.nulls, k), "value": np.bincount(of, p.value, k)})
    path, code, position = p.first_entries()
    conv = p.conversions[path]
    keep = conv > 0
    df = pd.DataFrame({"mask": masks[of[path[keep]]], "channel": np.asarray(p.channels, dtype=object)[code[keep]],
                       "position": position[keep].astype("int64"), "conversions": conv[keep],
                       "value": p.value[path[keep]]})
    g = df.groupby(["mask", "channel", "position"], as_index=False)[["conversions", "value"]].sum()
    return p.channels, g


class ShapleyAttribution(Attribution):
    """Shapley attribution.

    Attributes
    ----------
    worth : {"conversions", "rate"}
    by_position : pandas.DataFrame or None
        The ordered values (``channel, position, conversions, value``) when asked for.
    """

    title = "Shapley attribution"

    def __init__(self, frame: pd.DataFrame, *, worth: str, by_position: pd.DataFrame | None = None,
                 **kwargs: Any) -> None:
        super().__init__(frame, **kwargs)
        self.worth = worth
        self.by_position = by_position


def _values(masks: np.ndarray, size: np.ndarray, member: np.ndarray, conv: np.ndarray, nulls: np.ndarray,
            val: np.ndarray, worth: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Closed-form Shapley values (conversions, value), rescaled to the totals; also the set worths and scales."""
    if worth == "rate":
        n = conv + nulls  # a set seen in no journey (zero weights) is worth 0
        w_c = np.divide(conv, n, out=np.zeros_like(conv), where=n > 0)
        w_v = np.divide(val, n, out=np.zeros_like(val), where=n > 0)
    else:
        w_c, w_v = conv, val
    phi_c = member.T @ (w_c / size)
    phi_v = member.T @ (w_v / size)
    scale_c = conv.sum() / phi_c.sum() if phi_c.sum() > 0 else 0.0
    scale_v = val.sum() / phi_v.sum() if phi_v.sum() > 0 else 0.0
    return phi_c * scale_c, phi_v * scale_v, w_c, w_v, scale_c, scale_v


def shapley(journeys: Journeys, *, worth: Worth = "conversions", ordered: bool = False) -> ShapleyAttribution:
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
        :meth:`~Attribution.conf_int` resamples the journeys (Poisson counts per
        channel set).
    """
    if worth not in ("conversions", "rate"):
        raise ParameterError(f"worth must be 'conversions' or 'rate'; found {worth!r}")
    p = _parsed(journeys)
    masks, of = _sets(p)
    k = len(masks)
    conv, nulls, val = (np.bincount(of, x, k) for x in (p.conversions, p.nulls, p.value))
    if conv.sum() <= 0:
        raise ParameterError("shapley: no journey with touchpoints converts; nothing to attribute")
    if worth == "rate" and nulls.sum() <= 0:
        raise ParameterError("shapley(worth='rate'): conversion rates need non-converting journeys (nulls); "
                             "these journeys have none (use worth='conversions')")
    size = popcount(masks)
    member = ((masks[:, None] >> np.arange(len(p.channels))[None, :]) & 1).astype(float)  # sets x channels
    phi_c, phi_v, w_c, w_v, scale_c, scale_v = _values(masks, size, member, conv, nulls, val, worth)
    method = "shapley" if worth == "conversions" else "shapley_rate"
    frame = pd.DataFrame({"method": method, "channel": p.channels, "conversions": phi_c, "value": phi_v})
    by_pos = None
    if ordered:
        _, o = channel_sets(journeys, ordered=True)
        idx = pd.Series(np.arange(k), index=masks)
        t = idx.loc[o["mask"].to_numpy(np.int64)].to_numpy()
        # share of T's worth per member, split by the member's entry position among T's conversions
        frac_c = o["conversions"].to_numpy(float) / conv[t]
        frac_v = np.where(val[t] > 0, o["value"].to_numpy(float) / np.where(val[t] > 0, val[t], 1.0), frac_c)
        by_pos = pd.DataFrame({
            "channel": o["channel"].astype(str), "position": o["position"].astype("int64"),
            "conversions": (w_c[t] / size[t]) * frac_c * scale_c,
            "value": (w_v[t] / size[t]) * frac_v * scale_v,
        }).groupby(["channel", "position"], as_index=False).sum()

    def statistic(c: np.ndarray, n: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _values(masks, size, member, c, n, v, worth)[:2]

    boot = Bootstrap(p.channels, conv, nulls, val, statistic)
    return ShapleyAttribution(frame, worth=worth, by_position=by_pos, key=journeys.key,
                              params={method: {"worth": worth, "ordered": ordered}}, bootstrap={method: boot})
