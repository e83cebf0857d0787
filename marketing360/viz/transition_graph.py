"""The Markov transition graph of a channel chain, readable from 2 to 20-odd channels.

How it reads
------------
* **Channels** sit on a circle, ordered so that channels with strong moves
  between them are neighbours (a spectral ordering of the symmetrised
  transition matrix), with their names outside the circle.
* **Node size** is the share of journeys whose first touch is the channel
  (``(start) -> channel``); **node colour** is the chance that the next step
  after the channel is a conversion (``channel -> (conversion)``). Both are also
  written under the name, so nothing needs to be read off a scale.
* **Arrows** are the likeliest moves between two different channels: at most
  ``max_edges`` of them, each with a probability of at least ``min_prob``; the
  title states the rule and how many moves it left out. Width and colour grow
  with the probability, which is also written on the arrow's middle.
* A chain of order 2 or more has histories (``"a,b"``) as states, which a
  graph of channels cannot show faithfully (a history's row is not a
  channel's row, and ``(start) -> "a,b"`` hides the move a -> b). It is drawn
  from the **first-order** moves of the same journeys
  (:func:`first_order_matrix` of its transition counts), and the title says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._base import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure

__all__ = ["circle_order", "first_order_matrix", "graph_edges", "plot_transition_graph"]

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
_SPECIAL = {START, CONVERSION, NULL}
_EDGE_CMAP, _NODE_CMAP = "Blues", "Greens"
_FLOOR = 0.35  # the smallest node's radius, as a share of the largest one


def first_order_matrix(transitions: pd.DataFrame, *, sep: str = ",") -> pd.DataFrame:
    """First-order transition probabilities of the journeys behind a Markov chain of any order.

    A chain of order k moves from ``(start)`` to the history of a journey's
    first k touches, then one touch at a time. Its counts therefore hold
    every first-order move: ``(start) -> "c1,c2,..."`` is a start at ``c1``
    plus the moves ``c1 -> c2 -> ...`` inside the history; ``"...,x" ->
    "...,y"`` is the move ``x -> y``; ``"...,x" -> (conversion)`` is ``x ->
    (conversion)``. A channel repeated in a row makes no move (as in a
    first-order chain, where a repeat is one state). The result equals the
    transition matrix of the first-order chain of the same journeys.

    Parameters
    ----------
    transitions : pandas.DataFrame
        ``from_state, to_state, weight``: the transition counts of a chain
        (``MarkovAttribution.transitions``), histories joined with ``sep``.
    sep : str, default ","
        The separator of the channels of a history.

    Returns
    -------
    pandas.DataFrame
        Transition probabilities, from-states (``(start)`` and the channels) as
        rows, to-states as columns, each row summing to 1.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"from_state": ["(start)", "a,b", "(start)"], "to_state": ["a,b", "(conversion)", "b"],
    ...                   "weight": [2.0, 2.0, 1.0]})
    >>> first_order_matrix(t).round(3).to_dict("index")["(start)"]
    {'(conversion)': 0.0, 'a': 0.667, 'b': 0.333}
    """
    moves: dict[tuple[str, str], float] = {}

    def add(a: str, b: str, w: float) -> None:
        moves[(a, b)] = moves.get((a, b), 0.0) + w

    grouped = transitions.groupby(["from_state", "to_state"], sort=False)["weight"].sum()
    for (src, dst), w in grouped.items():
        src, dst, w = str(src), str(dst), float(w)
        if dst in (CONVERSION, NULL):
            add(src if src == START else src.split(sep)[-1], dst, w)
        elif src == START:
            hist = dst.split(sep)
            add(START, hist[0], w)
            for a, b in zip(hist, hist[1:]):
                if a != b:
                    add(a, b, w)
        else:
            a, b = src.split(sep)[-1], dst.split(sep)[-1]
            if a != b:
                add(a, b, w)
    counts = pd.Series(moves, dtype=float)
    counts.index = counts.index.set_names(["from_state", "to_state"])
    m = counts.unstack("to_state", fill_value=0.0).sort_index().sort_index(axis=1)
    m.columns.name = m.index.name = None
    return m.div(m.sum(axis=1), axis=0)


def graph_edges(matrix: pd.DataFrame, *, min_prob: float = 0.05, max_edges: int | None = None) -> pd.DataFrame:
    """The channel-to-channel moves a transition graph draws, likeliest first.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Transition probabilities, from-states as rows and to-states as columns
        (``Markov.transition_matrix()``, first order).
    min_prob : float, default 0.05
        Moves less likely than this are left out.
    max_edges : int, optional
        At most this many moves are kept (ties broken by source, then target
        name). By default ``max(6, round(1.5 * channels))``.

    Returns
    -------
    pandas.DataFrame
        ``source, target, probability`` of the kept moves between two different
        channels, with ``attrs["candidates"]`` (moves with a probability above 0)
        and ``attrs["max_edges"]`` (the cap used).

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"a": [0.5, 0.0, 0.3], "b": [0.5, 0.6, 0.0], "(conversion)": [0.0, 0.4, 0.7]},
    ...                  index=["(start)", "a", "b"])
    >>> e = graph_edges(m, min_prob=0.5)
    >>> e.values.tolist(), e.attrs["candidates"]
    ([['a', 'b', 0.6]], 2)
    """
    channels = _channels(matrix)
    rows = [(s, t, float(matrix.at[s, t])) for s in channels if s in matrix.index
            for t in channels if t in matrix.columns and t != s and float(matrix.at[s, t]) > 0]
    cap = max(6, round(1.5 * len(channels))) if max_edges is None else int(max_edges)
    if cap < 0:
        raise ValueError(f"max_edges must be 0 or more; found {max_edges!r}")
    e = pd.DataFrame(rows, columns=["source", "target", "probability"])
    candidates = len(e)
    e = e[e.probability >= min_prob].sort_values(["probability", "source", "target"],
                                                 ascending=[False, True, True], kind="mergesort")
    e = e.head(cap).reset_index(drop=True)
    e.attrs.update(candidates=candidates, max_edges=cap)
    return e


def _channels(matrix: pd.DataFrame) -> list[str]:
    return sorted({str(s) for s in (*matrix.index, *matrix.columns)} - _SPECIAL)


def circle_order(matrix: pd.DataFrame, channels: list[str], first: str | None = None) -> list[str]:
    """Channels in an order around a circle that puts strongly linked channels side by side.

    The angle of each channel in the plane of the two leading non-trivial
    eigenvectors of the symmetrised graph Laplacian (a spectral circular
    ordering); the order starts at ``first`` and runs in the direction that
    puts the alphabetically smaller neighbour second, so it does not depend on
    the eigenvectors' signs. Fewer than four channels, or a graph without
    moves between channels, keep the alphabetical order.

    Examples
    --------
    >>> import pandas as pd
    >>> ch = ["a", "b", "c", "d", "e", "f"]
    >>> w = pd.DataFrame(0.0, index=ch, columns=ch)
    >>> for s, t in [("a", "d"), ("d", "b"), ("b", "e"), ("e", "c"), ("c", "f"), ("f", "a")]:
    ...     w.loc[s, t] = 0.9
    >>> circle_order(w, ch, first="a")
    ['a', 'd', 'b', 'e', 'c', 'f']
    """
    n = len(channels)
    if n < 4:
        return list(channels)
    w = matrix.reindex(index=channels, columns=channels).fillna(0.0).to_numpy(float)
    np.fill_diagonal(w, 0.0)
    w = w + w.T
    if not (w > 0).any():
        return list(channels)
    lap = np.diag(w.sum(axis=1)) - w
    _, vec = np.linalg.eigh(lap)
    angle = np.arctan2(vec[:, 2], vec[:, 1])
    order = [channels[i] for i in np.lexsort((np.array(channels), angle))]
    start = order.index(first) if first in order else 0
    order = order[start:] + order[:start]
    if order[-1] < order[1]:  # canonical direction
        order = [order[0], *order[:0:-1]]
    return order


def plot_transition_graph(matrix: pd.DataFrame, *, order: int = 1, min_prob: float = 0.05,
                          max_edges: int | None = None, title: str = "Markov transition graph",
                          ax: Axes | None = None) -> Figure:
    """Draw a Markov chain over channels: who starts journeys, who converts, and the likeliest moves.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Transition probabilities, from-states as rows (``(start)`` and the
        channels) and to-states as columns (the channels, ``(conversion)``,
        ``(null)``), e.g. ``Markov.transition_matrix()``.
    order : int, default 1
        The order of the chain the drawing stands for. The matrix itself is
        always first order (channels as states): for a chain of order 2 or
        more pass :func:`first_order_matrix` of its transition counts (as
        ``MarkovAttribution.plot_graph`` does); the title then says that the
        graph shows the first-order moves of the chain's journeys.
    min_prob : float, default 0.05
        Moves between channels less likely than this get no arrow.
    max_edges : int, optional
        At most this many arrows, the likeliest first; by default
        ``max(6, round(1.5 * channels))``. The title states the rule used.
    title : str, default "Markov transition graph"
    ax : matplotlib Axes, optional
        Where to draw; a new figure (sized to the number of channels) when omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When the matrix has no channel, or, with ``order`` above 1, has
        histories (``"a,b"``) as states.

    See Also
    --------
    graph_edges : the arrows drawn, as a table.
    """
    import matplotlib as mpl
    from matplotlib.patches import Circle, FancyArrowPatch
    from matplotlib.path import Path

    if order > 1:
        hist = sorted({str(x) for x in (*matrix.index, *matrix.columns) if "," in str(x)})
        if hist:
            raise ValueError(f"plot_transition_graph draws a first-order chain; this matrix has histories "
                             f"as states (e.g. {hist[:3]}), whose rows are not the channels' rows: pass "
                             "first_order_matrix(transitions) of the same chain (MarkovAttribution.plot_graph "
                             "does)")
    m = matrix.fillna(0.0)
    channels = _channels(m)
    n = len(channels)
    if n == 0:
        raise ValueError("plot_transition_graph: the transition matrix has no channel state; found states "
                         f"{sorted({*map(str, matrix.index), *map(str, matrix.columns)})}")
    start = pd.Series({c: float(m.at[START, c]) if START in m.index and c in m.columns else np.nan
                       for c in channels})
    conv = pd.Series({c: float(m.at[c, CONVERSION]) if CONVERSION in m.columns and c in m.index else 0.0
                      for c in channels})
    repeat = pd.Series({c: float(m.at[c, c]) if c in m.index and c in m.columns else 0.0 for c in channels})
    edges = graph_edges(m, min_prob=min_prob, max_edges=max_edges)

    own = ax is None
    fig, ax = new_axes(ax, (11.0, 7.6) if n <= 8 else (12.5, 8.8))
    if own:
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.9)
    # --- layout: channels on the unit circle, the likeliest first touch at the top
    first = start.idxmax() if start.notna().any() and start.max() > 0 else None
    ring = circle_order(m, channels, first=first)
    theta = {c: np.pi / 2 - 2 * np.pi * i / n for i, c in enumerate(ring)}
    pos = {c: np.array([np.cos(a), np.sin(a)]) for c, a in theta.items()} if n > 1 else {channels[0]: np.zeros(2)}
    chord = 2 * np.sin(np.pi / n) if n > 1 else 2.0
    r_max = min(0.2, 0.4 * chord)
    s_top = float(start.max()) if start.notna().any() and start.max() > 0 else 0.0

    def radius(p: float) -> float:  # node area proportional to the start share, with a visible floor
        if not s_top or np.isnan(p):
            return 0.7 * r_max
        return r_max * max(_FLOOR, float(np.sqrt(p / s_top)))

    rad = {c: radius(start[c]) for c in channels}
    # the frame: the circle and its labels fill the height; the corners hold the keys
    box = ax.get_position()
    w_in, h_in = box.width * fig.get_figwidth(), box.height * fig.get_figheight()
    # type sizes for a 7-inch-high drawing, smaller on smaller axes (never below 60%)
    font = (10.5 if n <= 8 else (10.0 if n <= 14 else 9.0)) * float(np.clip(min(h_in / 6.8, w_in / 9.5), 0.6, 1.0))
    half_h = 1.0 + r_max + 0.5
    half_w = max(half_h * w_in / h_in, half_h + 0.9)
    ax.set_xlim(-half_w, half_w)
    ax.set_ylim(-half_h, half_h)
    ax.set_aspect("equal")
    ax.axis("off")
    unit = min(w_in / (2 * half_w), h_in / (2 * half_h)) * 72.0  # points per data unit
    placer = _Placer(unit, [(pos[c], rad[c]) for c in channels])

    # --- arrows: quadratic curves bowed to their right (a->b and b->a never overlap), clipped at the nodes
    ecmap = mpl.colormaps[_EDGE_CMAP]

    def edge_style(p: float) -> tuple[float, tuple[float, ...]]:
        return 0.6 + 6.0 * p, ecmap(0.45 + 0.55 * min(p / 0.6, 1.0))

    labels = []
    for s, t, p in edges.itertuples(index=False):
        p0, p2 = pos[s], pos[t]
        d = p2 - p0
        bow = 0.12 if np.linalg.norm(d) > 1.2 else 0.2
        ctrl = (p0 + p2) / 2 + bow * np.array([d[1], -d[0]])
        tt = np.linspace(0.0, 1.0, 101)[:, None]
        curve = (1 - tt) ** 2 * p0 + 2 * (1 - tt) * tt * ctrl + tt ** 2 * p2
        keep = ((np.linalg.norm(curve - p0, axis=1) > rad[s] + 0.02)
                & (np.linalg.norm(curve - p2, axis=1) > rad[t] + 0.025))
        idx = np.flatnonzero(keep)
        if len(idx) < 2:
            continue
        lw, color = edge_style(p)
        ax.add_patch(FancyArrowPatch(path=Path(curve[idx]), arrowstyle=f"-|>,head_length={3 + lw:.1f},"
                                     f"head_width={1.6 + 0.6 * lw:.1f}", lw=lw, color=color, alpha=0.9,
                                     zorder=2, shrinkA=0, shrinkB=0, joinstyle="miter", capstyle="butt"))
        labels.append((curve[idx], f"{p:.0%}", color))
    for pts, text, color in labels:  # likeliest first: they get the middle of their arrow
        x, y = placer.place(pts, text, font - 1.5)
        ax.text(x, y, text, fontsize=font - 1.5, ha="center", va="center", color="#08306b", zorder=3,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": color, "lw": 0.6, "alpha": 0.95})

    # --- nodes, and their names and facts outside the circle
    ncmap = mpl.colormaps[_NODE_CMAP]
    c_top = _nice_ceiling(float(conv.max())) if conv.max() > 0 else 0.01
    norm = mpl.colors.Normalize(0.0, c_top)
    small = font - 1.5
    for c in channels:
        (x, y), r = pos[c], rad[c]
        ax.add_patch(Circle((x, y), r, facecolor=ncmap(0.08 + 0.92 * norm(conv[c])), edgecolor="#333333",
                            lw=1.0, zorder=4))
        a = theta[c]
        lx, ly = (np.linalg.norm(pos[c]) + r + 0.05) * np.cos(a), (np.linalg.norm(pos[c]) + r + 0.05) * np.sin(a)
        ha = "left" if np.cos(a) > 0.3 else ("right" if np.cos(a) < -0.3 else "center")
        facts = ([] if np.isnan(start[c]) else [f"start {start[c]:.0%}"]) + [f"conv {conv[c]:.1%}"]
        if repeat[c] >= 0.005:
            facts.append(f"repeat {repeat[c]:.0%}")
        if np.sin(a) > 0.3:  # upper half: the facts next to the node, the name above them
            spots = [(small * 1.35, "bottom", font, True), (0.0, "bottom", small, False)]
        elif np.sin(a) < -0.3:  # lower half: the name next to the node, the facts below it
            spots = [(0.0, "top", font, True), (-font * 1.35, "top", small, False)]
        else:  # the sides: the name just above the node's level, the facts just below
            spots = [(1.0, "bottom", font, True), (-1.0, "top", small, False)]
        for dy, va, size, is_name in spots:
            ax.annotate(c if is_name else " · ".join(facts), (lx, ly), xytext=(0, dy), textcoords="offset points",
                        ha=ha, va=va, fontsize=size, fontweight="bold" if is_name else "normal",
                        color="#1d2733" if is_name else "#4d5b69", zorder=5, annotation_clip=False)

    _keys(ax, half_w, half_h, unit, r_max, s_top, edges, edge_style, font)
    cax = ax.inset_axes((0.76, 0.05, 0.2, 0.022))
    cb = fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=_truncated(ncmap)), cax=cax, orientation="horizontal")
    cb.set_ticks(_ticks(c_top))
    cb.ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(_percent_tick))
    cb.ax.tick_params(labelsize=font - 2)
    cb.ax.set_title("node colour: next step\nis a conversion", fontsize=font - 1, loc="left")

    shown = len(edges)
    cand = edges.attrs["candidates"]
    if shown:
        rule = (f"Arrows: the {shown} likeliest of the {cand} moves between channels "
                f"(at most {edges.attrs['max_edges']} arrows, each with p ≥ {min_prob:.0%})")
    elif cand:
        rule = f"No arrows: none of the {cand} moves between channels has p ≥ {min_prob:.0%}"
    else:
        rule = "No arrows: the chain has no move between two channels"
    if repeat.max() >= 0.005:
        rule += "; repeats of a channel: 'repeat' in its label"
    head = title + (f" (order {order} chain: its journeys' first-order moves)" if order > 1 else "")
    ax.set_title(f"{head}\n{rule}", fontsize=font + 1, loc="center", pad=8, linespacing=1.5)
    return fig


class _Placer:
    """Puts each arrow's label on its arrow where it covers no node and no label placed before."""

    def __init__(self, unit: float, nodes: list[tuple[np.ndarray, float]]) -> None:
        self.unit = unit  # points per data unit
        self.nodes = nodes
        self.boxes: list[tuple[float, float, float, float]] = []

    def place(self, pts: np.ndarray, text: str, size: float) -> tuple[float, float]:
        """The spot on the polyline ``pts`` (near its middle) where a label of ``text`` collides least."""
        w = (0.62 * size * len(text) + 6) / self.unit / 2
        h = (1.25 * size + 4) / self.unit / 2
        n = len(pts)
        best, best_cost = pts[n // 2], np.inf
        for f in (0.5, 0.42, 0.58, 0.34, 0.66, 0.27, 0.73, 0.2, 0.8):
            x, y = pts[min(n - 1, round(f * (n - 1)))]
            cost = sum(_overlap((x, y, w, h), b) for b in self.boxes)
            cost += sum(_circle_overlap((x, y, w, h), c, r) for c, r in self.nodes)
            if cost < best_cost - 1e-12:
                best, best_cost = (x, y), cost
            if cost == 0:
                break
        self.boxes.append((float(best[0]), float(best[1]), w, h))
        return float(best[0]), float(best[1])


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Area shared by two boxes given as (centre x, centre y, half width, half height)."""
    dx = min(a[0] + a[2], b[0] + b[2]) - max(a[0] - a[2], b[0] - b[2])
    dy = min(a[1] + a[3], b[1] + b[3]) - max(a[1] - a[3], b[1] - b[3])
    return max(dx, 0.0) * max(dy, 0.0)


def _circle_overlap(a: tuple[float, float, float, float], c: np.ndarray, r: float) -> float:
    """How deep a box reaches into a circle (0 when apart), scaled like an area."""
    nx = min(max(c[0], a[0] - a[2]), a[0] + a[2])
    ny = min(max(c[1], a[1] - a[3]), a[1] + a[3])
    depth = r - float(np.hypot(nx - c[0], ny - c[1]))
    return max(depth, 0.0) * 4 * r


def _keys(ax: Axes, half_w: float, half_h: float, unit: float, r_max: float, s_top: float, edges: pd.DataFrame,
          edge_style: object, font: float) -> None:
    """The node-size key (top left) and the arrow key (bottom left), in data units so they match exactly."""
    from matplotlib.patches import Circle, FancyArrowPatch

    x0 = -half_w + 0.05
    y = half_h - 0.05
    ax.text(x0, y, "node size: journeys\nstarting there", fontsize=font - 1, va="top", color="#1d2733",
            linespacing=1.3)
    y -= (2 * 1.3 * (font - 1) + 6) / unit
    if s_top:
        x = x0
        floor = s_top * _FLOOR ** 2  # every share up to this one gets the smallest node
        keys = [(floor, f"≤ {_pct(floor)}")] + [(v, _pct(v)) for v in _size_steps(s_top, floor)]
        big = r_max * np.sqrt(keys[-1][0] / s_top)
        for v, text in keys:
            r = r_max * max(_FLOOR, np.sqrt(v / s_top))
            ax.add_patch(Circle((x + r, y - big), r, facecolor="#f0f0f0", edgecolor="#333333", lw=0.8))
            ax.text(x + r, y - 2 * big - 0.03, text, fontsize=font - 2, ha="center", va="top")
            x += 2 * r + 0.14
    else:
        ax.text(x0, y, "(no (start) row: one size)", fontsize=font - 2, va="top")
    top = float(edges.probability.max()) if len(edges) else 0.5
    steps = [v for v in (0.1, 0.25, 0.5, 0.75) if v <= max(top, 0.1) * 1.25][:3] or [0.1]
    y = -half_h + 0.08 + (len(steps) - 1) * 0.16
    ax.text(x0, y + 0.12, "arrow: chance that the\nnext step goes there", fontsize=font - 1, va="bottom",
            color="#1d2733", linespacing=1.3)
    for v in steps:
        lw, color = edge_style(v)  # type: ignore[operator]
        ax.add_patch(FancyArrowPatch((x0, y), (x0 + 0.45, y), arrowstyle=f"-|>,head_length={3 + lw:.1f},"
                                     f"head_width={1.6 + 0.6 * lw:.1f}", lw=lw, color=color, shrinkA=0, shrinkB=0))
        ax.text(x0 + 0.55, y, f"{v:.0%}", fontsize=font - 2, va="center")
        y -= 0.16


def _ticks(top: float) -> list[float]:
    """Colour-bar ticks from 0 to ``top`` (1, 2, 2.5 or 5 x 10^k) at round steps."""
    k = 10.0 ** np.floor(np.log10(top) + 1e-9)
    step = {1.0: 0.2, 2.0: 0.5, 2.5: 0.5, 5.0: 1.0, 10.0: 2.0}[round(top / k, 1)] * k
    return [round(i * step, 12) for i in range(round(top / step) + 1)]


def _size_steps(s_top: float, floor: float) -> list[float]:
    """Up to two round start shares above the smallest node's and up to the largest one, for the size key."""
    nice = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0]
    steps = [v for v in nice if floor * 1.5 < v <= s_top * 1.0001]
    return steps[-2:] or [s_top]


def _percent_tick(v: float, _pos: object = None) -> str:
    """A colour-bar tick: ``5%``, ``12.5%``."""
    return f"{100 * v:.3g}%"


def _pct(v: float) -> str:
    """A share as a short percentage (``4%``, ``0.5%``)."""
    return f"{100 * v:.0f}%" if v >= 0.0095 else f"{100 * v:.1g}%"


def _nice_ceiling(v: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above ``v`` (a colour scale's top)."""
    k = 10.0 ** np.floor(np.log10(v))
    for f in (1.0, 2.0, 2.5, 5.0, 10.0):
        if f * k >= v - 1e-12:
            return float(f * k)
    return float(10 * k)


def _truncated(cmap: Colormap) -> Colormap:
    """The colour map as the nodes use it (its lightest 8% left out, so a 0 node is not white)."""
    import matplotlib.colors as mcolors

    return mcolors.LinearSegmentedColormap.from_list("m360_nodes", cmap(np.linspace(0.08, 1.0, 256)))
