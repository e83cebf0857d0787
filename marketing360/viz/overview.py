"""Plots of a first look at a world: activity over time, spend and outcomes, the planted truth.

Like every plot function of the package, these draw on ``ax`` (a new pyplot
figure when it is ``None``), leave the backend and the figure alone, and return
the :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ._base import date_axis, new_axes, thousands

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_daily_events", "plot_spend_outcomes", "plot_truth"]

# the truth is drawn in black and greys in every plot (see viz.colors.TRUTH_COLOR)
_TRUTH_SHAPLEY, _TRUTH_SWITCH_OFF = "#252525", "#a3a3a3"


def plot_daily_events(daily: pd.DataFrame, *, by: str = "event_type", log: bool = True,
                      ax: Axes | None = None) -> Figure:
    """Lines of events per day for each value of ``by``.

    Parameters
    ----------
    daily : pandas.DataFrame
        ``date, <by>, events``, e.g. from :func:`marketing360.overview.daily_events`.
    by : str, default "event_type"
        The column whose values get one line each (the legend is ordered by total events).
    log : bool, default True
        A symmetric-log y axis, so rare event types stay visible and days without an event show 0.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = new_axes(ax, (9, 4))
    wide = daily.pivot_table(index="date", columns=by, values="events", aggfunc="sum",
                             fill_value=0).sort_index()
    wide = wide[wide.sum().sort_values(ascending=False).index]
    for col in wide.columns:
        ax.plot(pd.to_datetime(wide.index), wide[col].to_numpy(), lw=1.5, label=str(col))
    if log:
        ax.set_yscale("symlog", linthresh=1)  # days without an event of a type stay on the plot
    else:
        thousands(ax.yaxis)
    date_axis(ax)
    ax.set_ylabel("events per day" + (" (log scale)" if log else ""))
    ax.legend(ncol=1, fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set_title("Daily activity")
    return fig


def plot_spend_outcomes(spend: pd.DataFrame, outcomes: pd.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Stacked spend by channel (bars) and revenue (line) per period, all geos summed.

    Parameters
    ----------
    spend : pandas.DataFrame
        ``date, channel, spend`` (a canonical ``spend`` table; other columns are summed over).
    outcomes : pandas.DataFrame
        ``date, revenue`` (a canonical ``outcomes`` table).
    ax : matplotlib Axes, optional
        Where to draw the bars; the revenue line gets a twin y axis on the right.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = new_axes(ax, (9, 4))
    # a (date, channel) without a row spent nothing: 0, not NaN (a NaN base would hide the bars above it)
    s = spend.pivot_table(index="date", columns="channel", values="spend", aggfunc="sum",
                          fill_value=0.0).sort_index()
    x = range(len(s))
    bottom = None
    for col in s.columns:
        ax.bar(x, s[col].to_numpy(), 0.8, bottom=bottom, label=str(col), alpha=0.85)
        bottom = s[col].to_numpy() if bottom is None else bottom + s[col].to_numpy()
    ax.set_xticks(list(x), [pd.Timestamp(d).strftime("%m-%d") for d in s.index], rotation=90, fontsize=7)
    ax.set_ylabel("spend")
    thousands(ax.yaxis)
    ax2 = ax.twinx()
    rev = outcomes.groupby("date")["revenue"].sum().reindex(s.index)
    ax2.plot(list(x), rev.to_numpy(), color="black", marker="o", lw=1.5, label="revenue")
    ax2.set_ylabel("revenue")
    ax2.set_ylim(bottom=0)
    thousands(ax2.yaxis)
    ax.legend(fontsize=8, ncol=3, frameon=False, loc="upper left")
    ax2.legend(fontsize=8, frameon=False, loc="upper right")
    ax.set_title("Media spend and revenue")
    return fig


def plot_truth(incremental: pd.DataFrame, shapley: pd.DataFrame | None = None, *,
               value: str = "conversions", ax: Axes | None = None) -> Figure:
    """Bars of each channel's true incremental amount: switch-off increments and their Shapley split.

    Parameters
    ----------
    incremental : pandas.DataFrame
        ``channel, <value>``: what each channel adds when the others stay on
        (a simulator's ``truth.incremental``).
    shapley : pandas.DataFrame, optional
        ``channel, <value>``: the exact Shapley split of the total increment
        (a simulator's ``truth.shapley``); drawn in black, as the truth is in
        the attribution plots.
    value : {"conversions", "revenue"}, default "conversions"
        The column to draw.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = new_axes(ax, (7, 3.5))
    df = incremental.set_index("channel")[[value]].rename(columns={value: "switch-off increment"})
    colors = [_TRUTH_SWITCH_OFF]
    if shapley is not None:
        df["Shapley share of the total"] = shapley.set_index("channel")[value]
        colors.append(_TRUTH_SHAPLEY)
    df = df.sort_values(df.columns[0], ascending=False)
    width = 0.8 / len(df.columns)
    for i, col in enumerate(df.columns):
        ax.bar([k + i * width for k in range(len(df))], df[col].to_numpy(), width, label=col, color=colors[i])
    ax.set_xticks([k + width * (len(df.columns) - 1) / 2 for k in range(len(df))], list(df.index))
    ax.set_ylabel(f"true incremental {value}")
    thousands(ax.yaxis)
    ax.set_xlabel("")
    ax.set_title("Planted truth per channel")
    ax.legend(frameon=False, fontsize=8)
    return fig
