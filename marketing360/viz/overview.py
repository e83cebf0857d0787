"""Plots of a first look at a world: activity over time, spend and outcomes, the planted truth."""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["plot_daily_events", "plot_spend_outcomes", "plot_truth"]


def _plt() -> Any:
    import matplotlib

    if matplotlib.get_backend().lower() not in ("module://matplotlib_inline.backend_inline", "nbagg"):
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _done(ax: Any, own: bool) -> Any:
    """The axes' figure; one made here is released from pyplot, so a notebook shows it once."""
    fig = ax.figure
    if own:
        _plt().close(fig)
    return fig


def plot_daily_events(daily: pd.DataFrame, *, by: str = "event_type", log: bool = True,
                      ax: Any = None) -> Any:
    """Lines of events per day for each value of ``by`` (output of :func:`daily_events`)."""
    plt = _plt()
    own = ax is None
    if own:
        _, ax = plt.subplots(figsize=(9, 4))
    wide = daily.pivot_table(index="date", columns=by, values="events", aggfunc="sum",
                             fill_value=0).sort_index()
    wide = wide[wide.sum().sort_values(ascending=False).index]
    for col in wide.columns:
        ax.plot(wide.index, wide[col].to_numpy(), lw=1.5, label=str(col))
    if log:
        ax.set_yscale("symlog", linthresh=1)  # days without an event of a type stay on the plot
    ax.figure.autofmt_xdate()
    ax.set_ylabel("events per day" + (" (log)" if log else ""))
    ax.legend(ncol=1, fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set_title("Daily activity")
    return _done(ax, own)


def plot_spend_outcomes(spend: pd.DataFrame, outcomes: pd.DataFrame, *, ax: Any = None) -> Any:
    """Stacked spend by channel (bars) and revenue (line) per period, all geos summed."""
    plt = _plt()
    own = ax is None
    if own:
        _, ax = plt.subplots(figsize=(9, 4))
    s = spend.pivot_table(index="date", columns="channel", values="spend", aggfunc="sum").sort_index()
    x = range(len(s))
    bottom = None
    for col in s.columns:
        ax.bar(x, s[col].to_numpy(), 0.8, bottom=bottom, label=str(col), alpha=0.85)
        bottom = s[col].to_numpy() if bottom is None else bottom + s[col].to_numpy()
    ax.set_xticks(list(x), [d.strftime("%m-%d") for d in s.index], rotation=90, fontsize=7)
    ax.set_ylabel("spend")
    ax2 = ax.twinx()
    rev = outcomes.groupby("date")["revenue"].sum().reindex(s.index)
    ax2.plot(list(x), rev.to_numpy(), color="black", marker="o", lw=1.5, label="revenue")
    ax2.set_ylabel("revenue")
    ax.legend(fontsize=8, ncol=3, frameon=False, loc="upper left")
    ax2.legend(fontsize=8, frameon=False, loc="upper right")
    ax.set_title("Media spend and revenue")
    return _done(ax, own)


def plot_truth(incremental: pd.DataFrame, shapley: pd.DataFrame | None = None, *,
               value: str = "conversions", ax: Any = None) -> Any:
    """Bars of each channel's true incremental conversions (and Shapley split when given)."""
    plt = _plt()
    own = ax is None
    if own:
        _, ax = plt.subplots(figsize=(7, 3.5))
    df = incremental.set_index("channel")[[value]].rename(columns={value: "switch-off increment"})
    if shapley is not None:
        df["Shapley share of the total"] = shapley.set_index("channel")[value]
    df = df.sort_values(df.columns[0], ascending=False)
    width = 0.8 / len(df.columns)
    for i, col in enumerate(df.columns):
        ax.bar([k + i * width for k in range(len(df))], df[col].to_numpy(), width, label=col)
    ax.set_xticks([k + width * (len(df.columns) - 1) / 2 for k in range(len(df))], list(df.index))
    ax.set_ylabel(f"true incremental {value}")
    ax.set_xlabel("")
    ax.set_title("Planted truth per channel")
    ax.legend(frameon=False, fontsize=8)
    return _done(ax, own)
