"""Plots of attribution: methods side by side per channel, and the Markov transition graph.

Every method has one colour in every plot (:func:`~marketing360.viz.colors.method_color`),
and the truth is drawn in black.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._base import new_axes, thousands
from .colors import TRUTH_COLOR, method_color
from .transition_graph import plot_transition_graph

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_attribution", "plot_score", "plot_transition_graph"]


def plot_attribution(table: pd.DataFrame, *, ylabel: str = "conversions", truth: pd.Series | None = None,
                     intervals: Mapping[str, pd.DataFrame] | None = None, title: str = "Attribution by method",
                     ax: Axes | None = None) -> Figure:
    """Grouped bars: channels on the x axis, one bar per method, each method in its own colour.

    Parameters
    ----------
    table : pandas.DataFrame
        Channels as rows, methods as columns (e.g. ``Attribution.table()``).
    ylabel : str, default "conversions"
        The y axis label; a label with ``share`` draws the axis in percent.
    truth : pandas.Series, optional
        The true amount per channel (e.g. a simulator's true incremental
        conversions), drawn as black markers across each channel's bars.
    intervals : mapping, optional
        ``{"lower": frame, "upper": frame}``, each channels x methods like
        ``table`` (e.g. from ``Attribution.conf_int``), drawn as error bars.
    title : str, default "Attribution by method"
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When ``table`` is empty.

    Examples
    --------
    >>> import pandas as pd
    >>> from marketing360.viz import method_color
    >>> tab = pd.DataFrame({"markov": [3.0, 1.0], "shapley": [2.0, 2.0]}, index=["search", "video"])
    >>> fig = plot_attribution(tab)
    >>> import matplotlib.colors as mc, matplotlib.pyplot as plt
    >>> mc.to_hex(fig.axes[0].containers[1][0].get_facecolor()) == method_color("shapley")
    True
    >>> plt.close(fig)
    """
    if table.empty:
        raise ValueError("nothing to plot: the attribution table is empty")
    fig, ax = new_axes(ax, (min(12.0, 4.0 + 1.2 * len(table)), 4))
    x = np.arange(len(table))
    k = len(table.columns)
    width = 0.8 / k
    for i, m in enumerate(table.columns):
        pos = x + (i - (k - 1) / 2) * width
        height = table[m].to_numpy(float)
        ax.bar(pos, height, width, label=str(m), color=method_color(str(m)))
        if intervals is not None and m in intervals["lower"].columns:
            lo = intervals["lower"][m].reindex(table.index).to_numpy(float)
            hi = intervals["upper"][m].reindex(table.index).to_numpy(float)
            ax.errorbar(pos, height, yerr=np.vstack([np.clip(height - lo, 0, None), np.clip(hi - height, 0, None)]),
                        fmt="none", ecolor="#333333", elinewidth=0.9, capsize=2, zorder=4)
    if truth is not None:
        t = truth.reindex(table.index)
        ax.scatter(x, t.to_numpy(float), marker="_", s=600, color=TRUTH_COLOR, linewidths=2.5, zorder=5,
                   label="truth")
    many = len(table) > 6
    ax.set_xticks(x, [str(c) for c in table.index], rotation=30 if many else 0, ha="right" if many else "center")
    ax.set_ylabel(ylabel)
    if "share" in ylabel.lower():
        from matplotlib.ticker import PercentFormatter

        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    else:
        thousands(ax.yaxis)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def plot_score(scores: pd.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Horizontal bars of each method's share error against the truth (lower is better), best on top.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``method, share_error`` (and ``relative_error``), e.g. ``score(...).table()``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if scores.empty:
        raise ValueError("nothing to plot: the score table is empty")
    df = scores.sort_values("share_error", ascending=False)
    fig, ax = new_axes(ax, (6.5, 0.8 + 0.38 * len(df)))
    y = np.arange(len(df))
    ax.barh(y, df.share_error.to_numpy(float), color=[method_color(str(m)) for m in df.method])
    for yi, v in zip(y, df.share_error.to_numpy(float)):
        ax.text(float(v), float(yi), f" {v:.0%}", va="center", fontsize=8)
    ax.set_yticks(y, [str(m) for m in df.method])
    from matplotlib.ticker import PercentFormatter

    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("share error (0: the true split; 100%: disjoint)")
    ax.set_title("Attribution against the truth")
    return fig
