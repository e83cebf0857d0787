"""Critical nodes of the shopping path: which steps conversion depends on, read three ways.

For each step label (node) of the sessions' paths — the steps before the
session's first conversion, the conversion steps themselves left out —
:func:`critical_nodes` gives

* the **removal effect**: the relative drop of the conversion probability of
  the order-``k`` absorbing Markov chain of the paths when the node sends its
  walkers to ``(null)`` (the exact solver of :func:`~marketing360.attribution.markov`);
* the **odds ratio** of converting for sessions that pass through the node
  against those that do not, with Woolf's interval (0.5 added to every cell
  when one is empty);
* the **betweenness** of the node in the first-order transition graph
  (Brandes' algorithm on shortest paths whose length is ``-log`` of the
  transition probability: the most likely routes), normalised to [0, 1];

ranked by removal effect (then odds ratio), with the most frequent paths
through each node (:meth:`CriticalNodes.paths_through`).
:func:`transition_matrix` gives the order-``k`` transition probabilities.

Examples
--------
>>> import pandas as pd
>>> from marketing360.paths import critical_nodes
>>> ev = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 3, 4, 4], "brand": "A",
...     "ts": pd.to_datetime(["2025-03-01 10:00", "2025-03-01 10:01", "2025-03-01 10:02", "2025-03-01 10:00",
...                           "2025-03-01 10:01", "2025-03-01 10:00", "2025-03-01 10:00", "2025-03-01 10:03"]),
...     "event_type": ["browse", "cart", "purchase", "browse", "cart", "browse", "search", "purchase"]})
>>> critical_nodes(ev).table()[["node", "sessions", "converting", "removal_effect"]]
     node  sessions  converting  removal_effect
0  search         1           1             0.5
1    cart         2           1             0.5
2  browse         3           1             0.5
"""

from __future__ import annotations

import heapq
import numbers
from collections.abc import Mapping
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from ..engine import fetch
from ..errors import ParameterError
from ..results import Result
from ..schema import PATH_SEP
from ..types import TableLike
from ._concat import ordered_concat
from .sessions import Sessions, as_sessions

__all__ = ["CriticalNodes", "critical_nodes", "transition_matrix", "betweenness"]


class CriticalNodes(Result):
    """Per node: ``node``, ``sessions`` through it, ``converting`` among them, ``rate_through`` and
    ``rate_without`` (conversion rate of sessions through it and of the others), ``odds_ratio`` with ``or_lower``
    / ``or_upper``, ``removal_effect``, ``betweenness``; ranked (``rank`` 1 = most critical).

    Attributes
    ----------
    paths : pandas.DataFrame
        The path table the nodes were read from (``path, conversions, nulls, value``; paths before the first
        conversion).
    order : int
    alpha : float
    conversion_probability : float
        P(conversion) of the chain from ``(start)``.
    """

    title = "critical path nodes"
    keys = ("rank",)

    def __init__(self, frame: pd.DataFrame, *, paths: pd.DataFrame, order: int, alpha: float,
                 conversion_probability: float) -> None:
        super().__init__(frame)
        self.paths = paths
        self.order = order
        self.alpha = alpha
        self.conversion_probability = conversion_probability

    def _notes(self) -> list[str]:
        return [f"order-{self.order} chain over {int((self.paths.conversions + self.paths.nulls).sum()):,} sessions "
                f"({len(self.paths):,} distinct paths); P(conversion) = {self.conversion_probability:.4f}; odds "
                f"ratios with {1 - self.alpha:.0%} Woolf intervals; betweenness on -log transition probabilities"]

    def paths_through(self, node: str, *, n: int = 5) -> pd.DataFrame:
        """The ``n`` most frequent paths that pass through ``node``, with their sessions and conversion rate."""
        if node not in set(self._computed()["node"]):
            raise ParameterError(f"unknown node {node!r}; the nodes are {sorted(self._computed()['node'])}")
        p = self.paths
        hit = p[p["path"].str.split(PATH_SEP, regex=False).map(lambda steps: node in steps)]
        out = hit.assign(sessions=hit.conversions + hit.nulls)
        out = out.assign(conversion_rate=out.conversions / out.sessions)
        out = out.sort_values(["sessions", "path"], ascending=[False, True], kind="mergesort")
        return out[["path", "sessions", "conversions", "conversion_rate"]].head(n).reset_index(drop=True)

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """The nodes' removal effects, with their odds ratios beside them."""
        from ..viz.paths import plot_critical_nodes

        return plot_critical_nodes(self.table(), ax=ax, **kwargs)


def _path_table(s: Sessions) -> pd.DataFrame:
    """Distinct paths of the steps before each session's first conversion (conversion steps left out)."""
    st = s.steps
    key = ["user_id", "session"] + (["brand"] if s.by else [])
    firsts = st.filter(st.event_type == s.conversion).group_by(key).agg(_first=ibis._.step.min())
    st = st.left_join(firsts, key)
    st = st.filter((st.event_type != s.conversion) & (st._first.isnull() | (st.step < st._first)))
    st = st.mutate(_k=ibis.row_number().over(ibis.window(group_by=key, order_by=st.step)))
    per = ordered_concat(st, key, "_k", "label", name="_p")
    t = s.expr.select(*key, "converted", "value").join(per, key)  # sessions with a step before converting
    g = t.group_by(path=t._p).agg(conversions=t.converted.cast("float64").sum(),
                               nulls=(~t.converted).cast("float64").sum(), value=t.value.sum())
    return fetch(g.order_by("path"))


def _woolf(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, alpha: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Odds ratios (a d) / (b c) with Woolf's logit interval; 0.5 added to all four cells where one is 0."""
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    a, b, c, d = (np.where(zero, x + 0.5, x).astype(float) for x in (a, b, c, d))
    log_or = np.log(a * d / (b * c))
    se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    z = float(stats.norm.ppf(1 - alpha / 2))
    return np.exp(log_or), np.exp(log_or - z * se), np.exp(log_or + z * se)


def betweenness(edges: pd.DataFrame, nodes: list[str]) -> dict[str, float]:
    """Betweenness of ``nodes`` in the directed graph of ``edges`` (``from_state, to_state, length``).

    Brandes' algorithm with Dijkstra (lengths >= 0), counting every pair of distinct nodes; normalised by
    ``(n - 1)(n - 2)``, as networkx does for directed graphs.
    """
    adj: dict[str, list[tuple[str, float]]] = {v: [] for v in nodes}
    for f, t, w in edges[["from_state", "to_state", "length"]].itertuples(index=False):
        if f in adj and t in adj and f != t:
            adj[f].append((t, float(w)))
    score = dict.fromkeys(nodes, 0.0)
    for s in nodes:
        dist: dict[str, float] = {s: 0.0}
        sigma = dict.fromkeys(nodes, 0.0)
        sigma[s] = 1.0
        preds: dict[str, list[str]] = {v: [] for v in nodes}
        order: list[str] = []
        seen: dict[str, float] = {s: 0.0}
        heap = [(0.0, s)]
        while heap:
            d, v = heapq.heappop(heap)
            if v in dist and v != s and dist[v] < d:
                continue
            if v in order:
                continue
            dist[v] = d
            order.append(v)
            for w, length in adj[v]:
                nd = d + length
                if w not in seen or nd < seen[w] - 1e-12:
                    seen[w] = nd
                    heapq.heappush(heap, (nd, w))
                    sigma[w] = sigma[v]
                    preds[w] = [v]
                elif abs(nd - seen[w]) <= 1e-12:
                    sigma[w] += sigma[v]
                    preds[w].append(v)
        delta = dict.fromkeys(nodes, 0.0)
        for w in reversed(order):
            for v in preds[w]:
                delta[v] += sigma[v] / sigma[w] * (1 + delta[w])
            if w != s:
                score[w] += delta[w]
    n = len(nodes)
    scale = 1.0 / ((n - 1) * (n - 2)) if n > 2 else 1.0
    return {v: score[v] * scale for v in nodes}


def _order_arg(order: Any) -> int:
    if isinstance(order, bool) or not isinstance(order, numbers.Integral) or not 1 <= int(order) <= 4:
        raise ParameterError(f"order must be 1, 2, 3 or 4; found {order!r}")
    return int(order)


def transition_matrix(data: Sessions | TableLike, *, order: int = 1) -> pd.DataFrame:
    """Order-``order`` transition probabilities of the sessions' paths (steps before the first conversion).

    ``from_state, to_state, sessions, probability``: states are windows of ``order`` steps (joined by
    ``" > "``), from ``(start)``, to ``(conversion)`` or ``(null)`` at a session's end (ChannelAttribution's
    layout; a state equal to the one before it is merged).
    """
    from ..attribution.markov import transitions  # attribution builds on paths: imported when used
    from .pathtable import from_paths

    order = _order_arg(order)
    paths = _path_table(as_sessions(data))
    if paths.empty:
        raise ParameterError("transition_matrix: no session has a step before its conversion")
    t = transitions(from_paths(paths), order=order)
    t = t.rename(columns={"weight": "sessions"}).drop(columns="value")
    for c in ("from_state", "to_state"):
        t[c] = t[c].str.replace("\x1f", PATH_SEP, regex=False)
    t["probability"] = t["sessions"] / t.groupby("from_state")["sessions"].transform("sum")
    return t.reset_index(drop=True)


def critical_nodes(data: Sessions | TableLike, *, order: int = 1, alpha: float = 0.05) -> CriticalNodes:
    """Rank the steps of the sessions' paths by how much conversion depends on them.

    Parameters
    ----------
    data : Sessions or table
        Sessions from :func:`~marketing360.paths.sessions` (their level is the node), or canonical events (cut
        with its defaults, nodes = event types).
    order : int
        Order of the Markov chain whose removal effects are reported (1 to 4).
    alpha : float
        1 - the odds ratios' interval confidence.

    Returns
    -------
    CriticalNodes
    """
    from ..attribution.markov import CONVERSION, NULL, START, markov, transitions  # builds on paths
    from .pathtable import from_paths

    order = _order_arg(order)
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < float(alpha) < 1:
        raise ParameterError(f"alpha must be in (0, 1); found {alpha!r}")
    paths = _path_table(as_sessions(data))
    if paths.empty or paths.conversions.sum() == 0:
        raise ParameterError("critical_nodes: no session converts after a step; there is nothing to explain")
    m = markov(from_paths(paths), order=order)
    removal: Mapping[str, float] = m.removal_effects.set_index("channel")["removal_effect"].to_dict()
    steps = paths["path"].str.split(PATH_SEP, regex=False)
    conv, null = paths["conversions"].to_numpy(float), paths["nulls"].to_numpy(float)
    nodes = sorted({x for s in steps for x in s})
    total_c, total_n = conv.sum(), null.sum()
    rows = []
    for node in nodes:
        through = steps.map(lambda s, node=node: node in s).to_numpy(bool)
        a, b = conv[through].sum(), null[through].sum()
        rows.append({"node": node, "sessions": int(a + b), "converting": int(a), "a": a, "b": b,
                     "c": total_c - a, "d": total_n - b})
    df = pd.DataFrame(rows)
    df["rate_through"] = df.a / (df.a + df.b)
    without = df.c + df.d
    df["rate_without"] = np.where(without > 0, df.c / without.where(without > 0, 1), np.nan)
    df["odds_ratio"], df["or_lower"], df["or_upper"] = _woolf(df.a.to_numpy(), df.b.to_numpy(), df.c.to_numpy(),
                                                              df.d.to_numpy(), float(alpha))
    df["removal_effect"] = df.node.map(removal).fillna(0.0).astype(float)
    first = m.transitions if order == 1 else transitions(from_paths(paths), order=1)
    graph = _edges(first)
    graph = graph[(graph.from_state != START) & ~graph.to_state.isin([CONVERSION, NULL])]
    df["betweenness"] = df.node.map(betweenness(graph, nodes))
    df = df.sort_values(["removal_effect", "odds_ratio", "node"], ascending=[False, False, True], kind="mergesort")
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    cols = ["rank", "node", "sessions", "converting", "rate_through", "rate_without", "odds_ratio", "or_lower",
            "or_upper", "removal_effect", "betweenness"]
    return CriticalNodes(df[cols].reset_index(drop=True), paths=paths, order=order, alpha=float(alpha),
                         conversion_probability=m.conversion_probability)


def _edges(counts: pd.DataFrame) -> pd.DataFrame:
    """First-order moves (``from_state, to_state, weight``) with ``length = -log(probability)``."""
    t = counts.copy()
    t["probability"] = t["weight"] / t.groupby("from_state")["weight"].transform("sum")
    t["length"] = -np.log(t["probability"])
    return t
