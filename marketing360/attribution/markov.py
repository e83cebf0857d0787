"""Markov-chain attribution (Anderl et al. 2016) with exact removal effects.

Journeys are read as walks of a Markov chain of order ``k``: a state is a
window of ``k`` consecutive channels (as in ChannelAttribution), every
journey starts in ``(start)`` and ends in ``(conversion)`` or ``(null)``. The probability of reaching ``(conversion)``
from ``(start)`` solves the absorbing-chain system ``(I - Q) x = r`` (``Q``:
transitions between transient states, ``r``: the one-step conversion
probability). The **removal effect** of a channel is the relative drop of that
probability when every state containing the channel sends its walkers to
``(null)``; conversions are shared in proportion to the removal effects.

ChannelAttribution estimates the same quantities by simulating walks; here
they come from sparse LU solves, so there is no simulation noise. The
transition counts are one ibis aggregation over the touchpoints, so the
engine (DuckDB or Spark) does the heavy part.

Examples
--------
>>> import pandas as pd
>>> from marketing360.attribution import from_paths, markov
>>> j = from_paths(pd.DataFrame({"path": ["a > b", "b", "a"], "conversions": [1, 1, 0],
...                              "value": [10.0, 30.0, 0.0], "nulls": [1, 1, 2]}))
>>> m = markov(j)
>>> m.removal_effects
  channel  removal_effect  removal_effect_value
0       a             0.5                   0.5
1       b             1.0                   1.0
>>> m.to_frame()[["channel", "conversions", "value"]].round(3)
  channel  conversions   value
0       a        0.667  13.333
1       b        1.333  26.667
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from ..errors import Marketing360Error, ParameterError
from .journeys import JOURNEY_KEY, Journeys
from .result import Attribution

__all__ = ["markov", "transitions", "MarkovAttribution", "START", "CONVERSION", "NULL"]

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
_SEP = "\x1f"  # joins the channels of a higher-order state on the engine


def _step_counts(journeys: Journeys, order: int) -> Any:
    """Per (previous state, state): moves, and the conversions / nulls / value of journeys ending there."""
    t = journeys.touches
    w = ibis.window(group_by=list(JOURNEY_KEY), order_by=t.touch)
    lags = {m: t.channel.lag(m).over(w) for m in range(1, order + 1)}  # one window pass for everything

    def window_ending(back: int) -> Any:  # the state `back` touches ago: channels back+order-1 .. back
        parts = [lags[m] if m else t.channel for m in range(back + order - 1, back - 1, -1)]
        return ibis.literal(_SEP).join(parts) if order > 1 else parts[0]

    state = window_ending(0)
    # the previous state is the window one touch earlier; a journey's first window (touch == order), or
    # its only state when it is shorter than the order, follows (start)
    prev = ibis.ifelse(t.touch > order, window_ending(1), START) if order > 1 else \
        ibis.coalesce(lags[1], START)
    t = t.mutate(_state=state, _prev=prev).filter((t.touch >= order) | (t.touch == t.n_touches))
    last = t.touch == t.n_touches
    # one aggregation: moves between states, and at each journey's last state its exits
    return t.group_by(from_state=t._prev, to_state=t._state).agg(
        weight=ibis.ifelse(t._prev != t._state, t.conversions + t.nulls, 0.0).sum(),
        conversions=ibis.ifelse(last, t.conversions, 0.0).sum(),
        nulls=ibis.ifelse(last, t.nulls, 0.0).sum(),
        value=ibis.ifelse(last, t.value, 0.0).sum())


def transitions(journeys: Journeys, order: int = 1) -> pd.DataFrame:
    """Transition counts of the order-``order`` chain (one aggregation on the journeys' engine).

    ``from_state, to_state, weight, value``: journeys (conversions + nulls)
    that moved from one state to the next; ``to_state`` is ``(conversion)``
    (``value``: their conversion value) or ``(null)`` at a journey's end.

    States follow ChannelAttribution: a state is a window of ``order``
    consecutive channels sliding one touch at a time (a journey shorter than
    ``order`` is one state), and a state equal to the one before it is merged
    (so a repeated channel makes no self-transition). States of order > 1
    join channels with ``"\\x1f"``.
    """
    g = _step_counts(journeys, _order(order)).to_pyarrow().to_pandas()
    moves = g.loc[g.weight > 0, ["from_state", "to_state", "weight"]].assign(value=0.0)
    ends = g.groupby("to_state", as_index=False)[["conversions", "nulls", "value"]].sum()
    conv = ends[ends.conversions > 0]
    null = ends[ends.nulls > 0]
    out = pd.concat([moves,
                     pd.DataFrame({"from_state": conv.to_state, "to_state": CONVERSION, "weight": conv.conversions,
                                   "value": conv.value}),
                     pd.DataFrame({"from_state": null.to_state, "to_state": NULL, "weight": null.nulls,
                                   "value": 0.0})], ignore_index=True)
    return out.sort_values(["from_state", "to_state"], kind="mergesort").reset_index(drop=True)


def _order(order: Any) -> int:
    if not isinstance(order, (int, np.integer)) or isinstance(order, bool) or not 1 <= order <= 4:
        raise ParameterError(f"order must be 1, 2, 3 or 4; found {order!r}")
    return int(order)


class MarkovAttribution(Attribution):
    """Markov attribution: credits plus the chain behind them.

    Attributes
    ----------
    removal_effects : pandas.DataFrame
        ``channel, removal_effect, removal_effect_value``: the relative drop of
        the conversion probability (and of the expected conversion value) when
        the channel is removed.
    conversion_probability : float
        Probability that a journey converts, from ``(start)``.
    counts : pandas.DataFrame
        The transition counts (``from_state, to_state, weight, value``).
    """

    title = "Markov attribution"

    def __init__(self, frame: pd.DataFrame, *, removal_effects: pd.DataFrame, counts: pd.DataFrame,
                 conversion_probability: float, **meta: Any) -> None:
        super().__init__(frame, **meta)
        self.removal_effects = removal_effects
        self.counts = counts
        self.conversion_probability = conversion_probability

    def transition_matrix(self) -> pd.DataFrame:
        """Transition probabilities, states x states (absorbing states as columns only)."""
        c = self.counts.assign(from_state=lambda d: d.from_state.str.replace(_SEP, ","),
                               to_state=lambda d: d.to_state.str.replace(_SEP, ","))
        m = c.pivot_table(index="from_state", columns="to_state", values="weight", aggfunc="sum", fill_value=0.0)
        return m.div(m.sum(axis=1), axis=0)

    def plot_graph(self, **kw: Any) -> Any:
        """The first-order transition graph: channels as nodes, edges weighted by probability."""
        from ..viz.attribution import plot_transition_graph

        return plot_transition_graph(self.transition_matrix(), order=self.meta["order"], **kw)


def _solve(n: int, rows: np.ndarray, cols: np.ndarray, probs: np.ndarray, rhs: np.ndarray,
           keep: np.ndarray | None = None) -> np.ndarray:
    """Absorption values x = (I - Q)^-1 rhs over the kept transient states (the others are 0)."""
    if keep is not None:
        sel = keep[rows] & keep[cols]
        rows, cols, probs = rows[sel], cols[sel], probs[sel]
    a = sp.identity(n, format="csc") - sp.csc_matrix((probs, (rows, cols)), shape=(n, n))
    b = rhs if keep is None else np.where(keep[:, None], rhs, 0.0)
    try:
        x = splu(a).solve(b)
    except RuntimeError as e:  # an exactly singular system: a closed loop no journey leaves
        raise Marketing360Error(f"markov: the absorbing chain is singular ({e}); some states never end "
                                "in (conversion) or (null)") from None
    if not np.all(np.isfinite(x)):
        raise Marketing360Error("markov: the absorbing chain could not be solved (non-finite result)")
    return x


def markov(journeys: Journeys, order: int = 1) -> MarkovAttribution:
    """Markov-chain attribution of order 1 to 4 with exact removal effects.

    Parameters
    ----------
    journeys : Journeys
        Converting and non-converting journeys (without non-converting ones
        every walk converts and each removal effect is 1 for a channel on
        every path, so include them when you have them).
    order : int
        Channels remembered by a state (1 to 4).

    Returns
    -------
    MarkovAttribution
        ``conversions`` (the conversions of journeys with touches, shared in
        proportion to the removal effects) and ``value`` (the conversion value,
        shared in proportion to the value removal effects), per channel.

    Raises
    ------
    ParameterError
        A bad order, or journeys without any conversion.
    """
    if not isinstance(journeys, Journeys):
        raise ParameterError(f"journeys must be a Journeys; found {type(journeys).__name__}")
    order = _order(order)
    counts = transitions(journeys, order)
    counts = counts[counts.weight > 0].reset_index(drop=True)
    if counts.empty:
        raise ParameterError("markov: the journeys have no touchpoints")
    total_conv = float(counts.loc[counts.to_state == CONVERSION, "weight"].sum())
    total_value = float(counts.loc[counts.to_state == CONVERSION, "value"].sum())
    if total_conv <= 0:
        raise ParameterError("markov: no journey with touchpoints converts; nothing to attribute")

    transient = pd.Index(sorted(set(counts.from_state)))
    n = len(transient)
    fr = transient.get_indexer(counts.from_state)
    out = np.bincount(fr, counts.weight.to_numpy(float), n)
    is_t = ~counts.to_state.isin([CONVERSION, NULL]).to_numpy()
    to = transient.get_indexer(counts.to_state.where(is_t, START))
    rows, cols = fr[is_t], to[is_t]
    if (cols < 0).any():  # a state entered but never left: only zero-weight journeys could do that
        dead = sorted(set(counts.to_state[is_t][to[is_t] < 0]))[:3]
        raise Marketing360Error(f"markov: state(s) {dead} are entered but never left; journeys need positive "
                                "conversions or nulls")
    probs = counts.weight.to_numpy(float)[is_t] / out[rows]
    is_c = (counts.to_state == CONVERSION).to_numpy()
    r_conv = np.bincount(fr[is_c], counts.weight.to_numpy(float)[is_c], n) / out
    r_value = np.bincount(fr[is_c], counts.value.to_numpy(float)[is_c], n) / out
    start = transient.get_loc(START)

    base = _solve(n, rows, cols, probs, np.column_stack([r_conv, r_value]))
    p_conv, e_value = base[start]
    channels = sorted({c for s in transient if s != START for c in s.split(_SEP)})
    parts = [s.split(_SEP) if s != START else [] for s in transient]
    re_c, re_v = [], []
    for ch in channels:
        keep = np.array([ch not in p for p in parts])
        x = _solve(n, rows, cols, probs, np.column_stack([r_conv, r_value]), keep)
        pc, ev = x[start]
        re_c.append(max(0.0, 1.0 - pc / p_conv))
        re_v.append(max(0.0, 1.0 - ev / e_value) if e_value > 0 else 0.0)
    re_c_a, re_v_a = np.array(re_c), np.array(re_v)
    conv = total_conv * re_c_a / re_c_a.sum() if re_c_a.sum() > 0 else np.zeros(len(channels))
    val = total_value * re_v_a / re_v_a.sum() if re_v_a.sum() > 0 else np.zeros(len(channels))
    frame = pd.DataFrame({"method": f"markov_{order}" if order > 1 else "markov", "channel": channels,
                          "conversions": conv, "value": val})
    removal = pd.DataFrame({"channel": channels, "removal_effect": re_c_a, "removal_effect_value": re_v_a})
    return MarkovAttribution(frame, removal_effects=removal, counts=counts, conversion_probability=float(p_conv),
                             order=order, key=journeys.key, total_conversions=total_conv,
                             total_value=total_value)
