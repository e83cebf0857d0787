"""Plots of difference-in-differences: the event study, group-time effects, and treated vs control trends.

Every function draws a result's table as it is (viz never computes) on
``ax=`` (a new figure when omitted) and returns the figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._base import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_event_study", "plot_group_time", "plot_trends"]

PRE_COLOR, POST_COLOR, REFERENCE_COLOR = "#7f7f7f", "#1f77b4", "#000000"


def _bars(est: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.vstack([np.clip(est - lo, 0, None), np.clip(hi - est, 0, None)])


def plot_event_study(table: pd.DataFrame, *, reference: int | None = None, title: str = "Event study",
                     ylabel: str = "effect", ax: Axes | None = None) -> Figure:
    """Effects by event time: points with interval bars, a zero line, a dashed line at the adoption.

    Leads (event time < 0) are grey, lags blue; the ``reference`` event time,
    normalised to 0 by the estimator, is drawn as a hollow point at 0. The
    dashed line stands between the last period before adoption and the
    adoption period (event time -0.5).

    Parameters
    ----------
    table : pandas.DataFrame
        ``event_time, estimate, lower, upper`` (e.g. ``EventStudy.table()``).
    reference : int, optional
        The omitted event time, drawn at 0.
    title, ylabel : str
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd, matplotlib.pyplot as plt
    >>> t = pd.DataFrame({"event_time": [-2, 0, 1], "estimate": [0.1, 1.0, 1.5], "lower": [-0.2, 0.6, 1.0],
    ...                   "upper": [0.4, 1.4, 2.0]})
    >>> fig = plot_event_study(t, reference=-1)
    >>> [round(float(v), 1) for v in fig.axes[0].lines[-1].get_xdata()]  # the adoption line
    [-0.5, -0.5]
    >>> plt.close(fig)
    """
    if table.empty:
        raise ValueError("nothing to plot: the event-study table is empty")
    fig, ax = new_axes(ax, (7.0, 4.0))
    x = table["event_time"].to_numpy(float)
    est = table["estimate"].to_numpy(float)
    lo, hi = table["lower"].to_numpy(float), table["upper"].to_numpy(float)
    ax.axhline(0.0, color="#333333", linewidth=0.8, zorder=1)
    for mask, color, label in ((x < 0, PRE_COLOR, "before adoption"), (x >= 0, POST_COLOR, "after adoption")):
        if mask.any():
            ax.errorbar(x[mask], est[mask], yerr=_bars(est[mask], lo[mask], hi[mask]), fmt="o", color=color,
                        ecolor=color, elinewidth=1.2, capsize=3, markersize=5, label=label, zorder=3)
    if reference is not None:
        ax.plot([reference], [0.0], "o", markerfacecolor="white", markeredgecolor=REFERENCE_COLOR, markersize=6,
                zorder=4, label=f"reference ({reference})")
    ax.axvline(-0.5, color="#333333", linestyle="--", linewidth=1.0, zorder=2)
    ticks = np.unique(np.concatenate([x, [reference]] if reference is not None else [x])).astype(int)
    if len(ticks) <= 25:
        ax.set_xticks(ticks)
    ax.set_xlabel("periods since adoption (event time)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return fig


def plot_group_time(table: pd.DataFrame, *, title: str = "Group-time effects ATT(g, t)", ylabel: str = "effect",
                    ax: Axes | None = None) -> Figure:
    """ATT(g, t) over time, one line per cohort, with interval bars and a dashed line at each cohort's adoption.

    Parameters
    ----------
    table : pandas.DataFrame
        ``cohort, time, estimate, lower, upper`` (e.g. ``StaggeredDiD.table()``).
    title, ylabel : str
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if table.empty:
        raise ValueError("nothing to plot: the group-time table is empty")
    fig, ax = new_axes(ax, (8.0, 4.5))
    ax.axhline(0.0, color="#333333", linewidth=0.8, zorder=1)
    cohorts = list(pd.unique(table["cohort"]))
    k = len(cohorts)
    for i, (g, part) in enumerate(table.groupby("cohort", sort=True, observed=True)):
        color = f"C{i % 10}"
        est = part["estimate"].to_numpy(float)
        xs = part["time"].to_numpy()
        ax.errorbar(xs, est, yerr=_bars(est, part["lower"].to_numpy(float), part["upper"].to_numpy(float)),
                    fmt="o-", color=color, elinewidth=1.0, capsize=2, markersize=4, label=f"cohort {g}", zorder=3,
                    alpha=0.9 if k > 1 else 1.0)
        ax.axvline(g, color=color, linestyle="--", linewidth=0.9, zorder=2)
    if pd.api.types.is_integer_dtype(table["time"]):
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("period")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def plot_trends(trends: pd.DataFrame, *, title: str = "Mean outcome, treated vs control", ylabel: str = "outcome",
                ax: Axes | None = None) -> Figure:
    """The mean outcome per period of the treated and the control units (``DiDResult.trends``).

    Parameters
    ----------
    trends : pandas.DataFrame
        ``time, group, outcome``.
    title, ylabel : str
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if trends.empty:
        raise ValueError("nothing to plot: the trends table is empty")
    fig, ax = new_axes(ax, (7.0, 4.0))
    for group, color in (("control", PRE_COLOR), ("treated", POST_COLOR)):
        part = trends[trends["group"] == group]
        if len(part):
            ax.plot(part["time"], part["outcome"].to_numpy(float), "o-", color=color, label=group)
    ax.set_xlabel("period")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return fig
