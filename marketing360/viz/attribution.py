"""Plots of attribution: methods side by side per channel, and the Markov transition graph.

Every method has one colour in every plot (:func:`~marketing360.viz.colors.method_color`),
and the truth is drawn in black.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._base import new_axes, thousands
from .colors import TRUTH_COLOR, method_color
from .transition_graph import plot_transition_graph

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_attribution", "plot_transition_graph"]


def plot_attribution(table: pd.DataFrame, *, ylabel: str = "conversions", truth: pd.Series | None = None,
                     title: str = "Attribution by method", ax: Axes | None = None) -> Figure:
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
        ax.bar(x + (i - (k - 1) / 2) * width, table[m].to_numpy(float), width, label=str(m),
               color=method_color(str(m)))
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
