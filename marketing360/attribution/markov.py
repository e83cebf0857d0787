"""Markov-chain attribution (Anderl et al. 2016) with exact removal effects.

Journeys are read as walks of a Markov chain of order ``k``: a state is a
window of ``k`` consecutive channels (as in ChannelAttribution), every
journey starts in ``(start)`` and ends in ``(conversion)`` or ``(null)``. The
probability of reaching ``(conversion)`` from ``(start)`` solves the
absorbing-chain system ``(I - Q) x = r`` (``Q``: transitions between
transient states, ``r``: the one-step conversion probability). The **removal
effect** of a channel is the relative drop of that probability when every
state containing the channel sends its walkers to ``(null)``; conversions are
shared in proportion to the removal effects.

ChannelAttribution estimates the same quantities by simulating walks; here
they come from sparse LU solves, so there is no simulation noise. The engine
(DuckDB or Spark) reduces the journeys to their path table (one row per
distinct path); the chain is built from that table with integer arrays.

Examples
--------
>>> import pandas as pd
>>> from marketing360.attribution import markov
>>> from marketing360.paths import from_paths
>>> j = from_paths(pd.DataFrame({"path": ["a > b", "b", "a"], "conversions": [1, 1, 0],
...                              "value": [10.0, 30.0, 0.0], "nulls": [1, 1, 2]}))
>>> m = markov(j)
>>> m.removal_effects
  channel  removal_effect  removal_effect_value
0       a             0.5                   0.5
1       b             1.0                   1.0
>>> m.table()[["channel", "conversions", "value"]].round(3)
  channel  conversions   value
0       a        0.667  13.333
1       b        1.333  26.667
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from ..errors import Marketing360Error, ParameterError
from ..paths import Journeys
from ..paths.parsed import States, chain_states, parse_journeys
from .result import Attribution, Bootstrap

__all__ = ["markov", "transitions", "MarkovAttribution", "START", "CONVERSION", "NULL"]

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
_SEP = "\x1f"  # joins the channels of a higher-order state


def _order(order: Any) -> int:
    if not isinstance(order, (int, np.integer)) or isinstance(order, bool) or not 1 <= order <= 4:
        raise ParameterError(f"order must be 1, 2, 3 or 4; found {order!r}")
    return int(order)


class _Chain:
    """The absorbing chain of given path counts: move counts per edge, exits per state."""

    def __init__(self, states: States, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray) -> None:
        self.states = states
        n = len(states.names) + 1  # transient states and (start), last
        weight = states.edge_weights(conversions + nulls)
        self.n = n
        self.edge_w = weight
        self.exit_conv = np.bincount(states.last, conversions, n)
        self.exit_null = np.bincount(states.last, nulls, n)
        self.exit_value = np.bincount(states.last, value, n)

    def solve(self) -> tuple[float, float, np.ndarray, np.ndarray]:
        """P(conversion) and expected value from (start), and each channel's removal effects."""
        s = self.states
        fr, to, w = s.edge_from, s.edge_to, self.edge_w
        out = np.bincount(fr, w, self.n) + self.exit_conv + self.exit_null
        live = w > 0
        fr, to, w = fr[live], to[live], w[live]
        with np.errstate(divide="ignore", invalid="ignore"):
            probs = w / out[fr]
            rhs = np.column_stack([np.where(out > 0, self.exit_conv / out, 0.0),
                                   np.where(out > 0, self.exit_value / out, 0.0)])
        start = self.n - 1
        base = _solve(self.n, fr, to, probs, rhs)
        p_conv, e_value = base[start]
        members = np.vstack([s.members, np.zeros((1, s.members.shape[1]), dtype=bool)])  # (start) holds none
        re_c = np.zeros(members.shape[1])
        re_v = np.zeros(members.shape[1])
        for c in range(members.shape[1]):
            pc, ev = _solve(self.n, fr, to, probs, rhs, keep=~members[:, c])[start]
            re_c[c] = max(0.0, 1.0 - pc / p_conv) if p_conv > 0 else 0.0
            re_v[c] = max(0.0, 1.0 - ev / e_value) if e_value > 0 else 0.0
        return float(p_conv), float(e_value), re_c, re_v

    def credits(self) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray]:
        total_c, total_v = self.exit_conv.sum(), self.exit_value.sum()
        p_conv, _, re_c, re_v = self.solve()
        conv = total_c * re_c / re_c.sum() if re_c.sum() > 0 else np.zeros(len(re_c))
        val = total_v * re_v / re_v.sum() if re_v.sum() > 0 else np.zeros(len(re_v))
        return conv, val, p_conv, re_c, re_v


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


def _counts_frame(chain: _Chain) -> pd.DataFrame:
    s = chain.states
    names = np.array([*s.names, START], dtype=object)
    live = chain.edge_w > 0
    moves = pd.DataFrame({"from_state": names[s.edge_from[live]], "to_state": names[s.edge_to[live]],
                          "weight": chain.edge_w[live], "value": 0.0})
    idx = np.arange(chain.n)
    conv = idx[chain.exit_conv > 0]
    null = idx[chain.exit_null > 0]
    out = pd.concat([moves,
                     pd.DataFrame({"from_state": names[conv], "to_state": CONVERSION,
                                   "weight": chain.exit_conv[conv], "value": chain.exit_value[conv]}),
                     pd.DataFrame({"from_state": names[null], "to_state": NULL, "weight": chain.exit_null[null],
                                   "value": 0.0})], ignore_index=True)
    return out.sort_values(["from_state", "to_state"], kind="mergesort").reset_index(drop=True)


def transitions(journeys: Journeys, *, order: int = 1) -> pd.DataFrame:
    """Transition counts of the order-``order`` chain.

    ``from_state, to_state, weight, value``: journeys (conversions + nulls)
    that moved from one state to the next; ``to_state`` is ``(conversion)``
    (``value``: their conversion value) or ``(null)`` at a journey's end.

    States follow ChannelAttribution: a state is a window of ``order``
    consecutive channels sliding one touch at a time (a journey shorter than
    ``order`` is one state), and a state equal to the one before it is merged
    (so a repeated channel makes no self-transition). States of order > 1
    join channels with ``"\\x1f"``.
    """
    p = parse_journeys(journeys, what="markov")
    chain = _Chain(chain_states(p, _order(order), sep=_SEP), p.conversions, p.nulls, p.value)
    return _counts_frame(chain)


class MarkovAttribution(Attribution):
    """Markov attribution: credits plus the chain behind them.

    Attributes
    ----------
    order : int
    removal_effects : pandas.DataFrame
        ``channel, removal_effect, removal_effect_value``: the relative drop of
        the conversion probability (and of the expected conversion value) when
        the channel is removed.
    conversion_probability : float
        Probability that a journey converts, from ``(start)``.
    transitions : pandas.DataFrame
        The transition counts (``from_state, to_state, weight, value``).
    """

    title = "Markov attribution"

    def __init__(self, frame: pd.DataFrame, *, order: int, removal_effects: pd.DataFrame,
                 transitions: pd.DataFrame, conversion_probability: float, **kwargs: Any) -> None:
        super().__init__(frame, **kwargs)
        self.order = order
        self.removal_effects = removal_effects
        self.transitions = transitions
        self.conversion_probability = conversion_probability

    def transition_matrix(self) -> pd.DataFrame:
        """Transition probabilities, states x states (absorbing states as columns only)."""
        c = self.transitions.assign(from_state=lambda d: d.from_state.str.replace(_SEP, ","),
                                    to_state=lambda d: d.to_state.str.replace(_SEP, ","))
        m = c.pivot_table(index="from_state", columns="to_state", values="weight", aggfunc="sum", fill_value=0.0)
        return m.div(m.sum(axis=1), axis=0)

    def plot_graph(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """The transition graph: channels as nodes, edges weighted by probability; returns the figure.

        A chain of order 2 or more is drawn from the first-order moves of the
        same journeys (its histories are not channels), as its title says.
        """
        from ..viz.transition_graph import first_order_matrix, plot_transition_graph

        matrix = self.transition_matrix() if self.order == 1 else first_order_matrix(self.transitions, sep=_SEP)
        return plot_transition_graph(matrix, order=self.order, ax=ax, **kwargs)

    def _notes(self) -> list[str]:
        return [*super()._notes(), f"P(conversion) from (start): {self.conversion_probability:.4g}"]


def markov(journeys: Journeys, *, order: int = 1) -> MarkovAttribution:
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
        :meth:`~Attribution.conf_int` resamples the journeys (Poisson counts
        per distinct path) and re-solves the chain.

    Raises
    ------
    ParameterError
        A bad order, journeys without touchpoints, or none that converts.
    """
    order = _order(order)
    p = parse_journeys(journeys, what="markov")
    states = chain_states(p, order, sep=_SEP)
    chain = _Chain(states, p.conversions, p.nulls, p.value)
    if chain.exit_conv.sum() <= 0:
        raise ParameterError("markov: no journey with touchpoints converts; nothing to attribute")
    conv, val, p_conv, re_c, re_v = chain.credits()
    method = f"markov_{order}" if order > 1 else "markov"
    frame = pd.DataFrame({"method": method, "channel": p.channels, "conversions": conv, "value": val})
    removal = pd.DataFrame({"channel": p.channels, "removal_effect": re_c, "removal_effect_value": re_v})

    def statistic(c: np.ndarray, n: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _Chain(states, c, n, v).credits()[:2]

    boot = Bootstrap(p.channels, p.conversions, p.nulls, p.value, statistic)
    return MarkovAttribution(frame, order=order, removal_effects=removal, transitions=_counts_frame(chain),
                             conversion_probability=p_conv, key=journeys.key, params={method: {"order": order}},
                             bootstrap={method: boot})
