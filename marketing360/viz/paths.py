"""Plots of shopping paths: the top paths and the coverage curve.

Each function draws a result's table (it computes nothing) and returns the figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._base import new_axes, thousands

__all__ = ["plot_top_paths", "plot_coverage", "plot_funnel", "plot_critical_nodes"]


def plot_top_paths(table: pd.DataFrame, *, ax: Any = None, other: bool = False, max_label: int = 60) -> Any:
    """Horizontal bars of each top path's sessions (most frequent on top), coloured by conversion rate.

    ``other=True`` draws the ``(other)`` row too; labels longer than ``max_label`` characters are shortened in
    the middle.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"rank": [1.0, 2.0, None], "path": ["browse", "browse > cart", "(other)"],
    ...                   "sessions": [10, 4, 3], "conversion_rate": [0.1, 0.5, 0.0]})
    >>> len(plot_top_paths(t).axes[0].patches)
    2
    """
    import matplotlib
    from matplotlib.cm import ScalarMappable

    df = table if other else table[table["rank"].notna()]
    df = df.iloc[::-1]
    fig, ax = new_axes(ax, (8, 0.32 * len(df) + 1.6))
    rate = df["conversion_rate"].to_numpy(float)
    norm = matplotlib.colors.Normalize(vmin=0.0, vmax=max(float(np.nanmax(rate)) if len(rate) else 1.0, 1e-9))
    cmap = matplotlib.colormaps["viridis"]
    labels = [p if len(p) <= max_label else p[: max_label // 2 - 2] + " ... " + p[-(max_label // 2 - 3):]
              for p in df["path"].astype(str)]
    ax.barh(np.arange(len(df)), df["sessions"].to_numpy(float), color=cmap(norm(rate)))
    ax.set_yticks(np.arange(len(df)), labels, fontsize=8)
    ax.set_xlabel("sessions")
    thousands(ax.xaxis)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="conversion rate", fraction=0.04)
    ax.set_title("top paths")
    return fig


def plot_coverage(table: pd.DataFrame, needed: Mapping[float, int], *, unit: str = "consumers",
                  ax: Any = None) -> Any:
    """The share of ``unit`` covered by the k most frequent paths against k (log scale), levels marked.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"paths": [1, 2, 3], "coverage": [0.5, 0.8, 1.0]})
    >>> plot_coverage(t, {0.5: 1, 0.8: 2}).axes[0].get_xscale()
    'log'
    """
    fig, ax = new_axes(ax, (7, 4))
    ax.step(table["paths"], table["coverage"], where="post", color="#1f77b4")
    for q, k in needed.items():
        ax.plot([k, k], [0, q], color="#999999", lw=0.8, ls="--")
        ax.plot([1, k], [q, q], color="#999999", lw=0.8, ls="--")
        ax.annotate(f"{q:.0%}: {k:,} paths", (k, q), textcoords="offset points", xytext=(4, -12), fontsize=8)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("most frequent paths (k)")
    ax.set_ylabel(f"share of {unit} covered")
    ax.set_title("path coverage")
    return fig


def plot_funnel(table: pd.DataFrame, *, ax: Any = None) -> Any:
    """Bars of the consumers at each step, one group per segment, labelled with the conversion from the previous
    step.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"segment": "all", "step": [1, 2], "name": ["browse", "cart"], "consumers": [10, 4],
    ...                   "rate_from_previous": [1.0, 0.4]})
    >>> len(plot_funnel(t).axes[0].patches)
    2
    """
    segments = list(dict.fromkeys(table["segment"].astype(str)))
    names = list(dict.fromkeys(table["name"].astype(str)))
    fig, ax = new_axes(ax, (1.4 * len(names) + 2.5, 4))
    width = 0.8 / len(segments)
    for j, seg in enumerate(segments):
        d = table[table["segment"].astype(str) == seg].sort_values("step")
        x = np.arange(len(d)) + (j - (len(segments) - 1) / 2) * width
        bars = ax.bar(x, d["consumers"].to_numpy(float), width=width * 0.95,
                      label=seg if len(segments) > 1 else None)
        for b, r, k in zip(bars, d["rate_from_previous"], d["step"]):
            if k > 1 and pd.notna(r):
                ax.annotate(f"{r:.0%}", (b.get_x() + b.get_width() / 2, b.get_height()), ha="center",
                            va="bottom", fontsize=8)
    ax.set_xticks(np.arange(len(names)), names)
    ax.set_ylabel("consumers")
    thousands(ax.yaxis)
    if len(segments) > 1:
        ax.legend(title="segment", fontsize=8)
    ax.set_title("funnel (labels: conversion from the previous step)")
    return fig


def plot_critical_nodes(table: pd.DataFrame, *, ax: Any = None) -> Any:
    """Horizontal bars of each node's removal effect (most critical on top), its odds ratio written beside.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"rank": [1, 2], "node": ["cart", "browse"], "removal_effect": [0.8, 0.3],
    ...                   "odds_ratio": [5.0, 1.2]})
    >>> len(plot_critical_nodes(t).axes[0].patches)
    2
    """
    df = table.sort_values("rank").iloc[::-1]
    fig, ax = new_axes(ax, (7, 0.35 * len(df) + 1.5))
    bars = ax.barh(np.arange(len(df)), df["removal_effect"].to_numpy(float), color="#d62728")
    for b, orr in zip(bars, df["odds_ratio"]):
        ax.annotate(f"OR {orr:.2g}", (b.get_width(), b.get_y() + b.get_height() / 2), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(np.arange(len(df)), df["node"].astype(str), fontsize=8)
    ax.set_xlabel("removal effect (relative drop of P(conversion))")
    ax.set_xlim(0, max(1.0, float(df["removal_effect"].max()) * 1.15))
    ax.set_title("critical path nodes")
    return fig
