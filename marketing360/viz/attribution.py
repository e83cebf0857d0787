"""Plots of attribution: methods side by side per channel, and the Markov transition graph."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .overview import _done, _plt

__all__ = ["plot_attribution", "plot_transition_graph"]


def plot_attribution(table: pd.DataFrame, *, ylabel: str = "conversions", truth: pd.Series | None = None,
                     title: str = "Attribution by method", ax: Any = None) -> Any:
    """Grouped bars: channels on the x axis, one bar per method (columns of ``table``).

    ``truth`` (per channel) is drawn as black markers, e.g. a simulator's true incremental conversions.
    """
    plt = _plt()
    own = ax is None
    if own:
        _, ax = plt.subplots(figsize=(min(12.0, 4.0 + 1.2 * len(table)), 4))
    if table.empty:
        raise ValueError("nothing to plot: the attribution table is empty")
    x = np.arange(len(table))
    k = len(table.columns)
    width = 0.8 / k
    colors = plt.get_cmap("tab10" if k <= 10 else "tab20")
    for i, m in enumerate(table.columns):
        ax.bar(x + (i - (k - 1) / 2) * width, table[m].to_numpy(float), width, label=str(m),
               color=colors(i % (10 if k <= 10 else 20)))
    if truth is not None:
        t = truth.reindex(table.index)
        ax.scatter(x, t.to_numpy(float), marker="_", s=600, color="black", linewidths=2.5, zorder=5,
                   label="truth")
    ax.set_xticks(x, [str(c) for c in table.index], rotation=30 if len(table) > 6 else 0, ha="right"
                  if len(table) > 6 else "center")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return _done(ax, own)


def plot_transition_graph(matrix: pd.DataFrame, *, order: int = 1, min_prob: float = 0.1,
                          title: str = "Markov transition graph", ax: Any = None) -> Any:
    """Channels on a circle between ``(start)`` (left) and the absorbing states (right).

    Edges between channels with a transition probability of at least
    ``min_prob`` are drawn, thicker and darker for likelier moves; every edge
    into ``(conversion)`` is drawn (green) and labelled with its probability. Higher-order chains are shown by
    their last channel (the probabilities are averaged over the histories).
    """
    plt = _plt()
    own = ax is None
    if own:
        _, ax = plt.subplots(figsize=(8, 5))
    m = matrix.copy()
    if order > 1:  # collapse histories to their last channel, weighting rows equally
        m.index = [s.split(",")[-1] for s in m.index]
        m.columns = [s.split(",")[-1] for s in m.columns]
        m = m.T.groupby(level=0).sum().T.groupby(level=0).mean()
        m = m.div(m.sum(axis=1), axis=0)
    channels = sorted({*m.index, *m.columns} - {"(start)", "(conversion)", "(null)"})
    pos: dict[str, tuple[float, float]] = {"(start)": (-2.1, 0.0), "(conversion)": (2.3, 0.6),
                                           "(null)": (2.3, -0.6)}
    for i, c in enumerate(channels):
        a = 2 * np.pi * i / max(len(channels), 1) + np.pi / 2
        pos[c] = (0.9 * np.cos(a), 0.9 * np.sin(a))
    cmap = plt.get_cmap("Blues")
    conv = m["(conversion)"] if "(conversion)" in m.columns else pd.Series(0.0, index=m.index)
    top = float(conv.max()) if len(conv) and conv.max() > 0 else 1.0
    for src in m.index:
        for dst in m.columns:
            p = float(m.at[src, dst])
            if src == dst or src not in pos or dst not in pos or p <= 0:
                continue
            (x0, y0), (x1, y1) = pos[src], pos[dst]
            if dst == "(conversion)":
                style = dict(color="#238b45", lw=0.8 + 3 * p / top)
                mx, my = x0 + 0.45 * (x1 - x0), y0 + 0.45 * (y1 - y0)
                ax.text(mx, my, f"{p:.1%}", fontsize=6, color="#238b45", ha="center", va="center",
                        bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8), zorder=6)
            elif p >= min_prob:
                style = dict(color=cmap(0.35 + 0.65 * p), lw=0.5 + 4 * p)
            else:
                continue
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                        arrowprops=dict(arrowstyle="-|>", shrinkA=14, shrinkB=14, connectionstyle="arc3,rad=0.12",
                                        **style))
    for name, (x, y) in pos.items():
        face = {"(start)": "#dddddd", "(conversion)": "#74c476", "(null)": "#fb6a4a"}.get(name, "#fdd0a2")
        ax.scatter([x], [y], s=1300, color=face, edgecolors="black", zorder=3)
        ax.text(x, y, name.strip("()"), ha="center", va="center", fontsize=6.5, zorder=4)
    ax.set_xlim(-2.5, 2.7)
    ax.set_ylim(-1.25, 1.25)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title + f" (channel edges with p >= {min_prob:g}; green: into conversion)")
    return _done(ax, own)
