"""Plots of a marketing-mix model: ROAS per channel, the decomposition, response curves and a budget plan.

Each function draws a result's table (it computes nothing) and returns the figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._base import date_axis, new_axes, thousands

__all__ = ["plot_roas", "plot_decomposition", "plot_response_curves", "plot_budget", "plot_mrr"]

_BASE_GREY = "#c9c9c9"


def _palette(n: int) -> list[Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def plot_roas(table: pd.DataFrame, *, ax: Any = None, target: str = "revenue", truth: pd.Series | None = None
              ) -> Any:
    """Horizontal bars of ROAS per channel with their intervals, the marginal ROAS as a diamond, and optionally
    the true ROAS as a cross (``truth``: a Series by channel).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"channel": ["tv", "search"], "estimate": [2.0, 3.0], "lower": [1.5, 2.0],
    ...                   "upper": [2.5, 4.0], "mroas": [1.2, 2.5]})
    >>> plot_roas(t).axes[0].get_xlabel()
    'revenue per unit of spend'
    """
    fig, ax = new_axes(ax, (7, 0.5 * len(table) + 1.5))
    y = np.arange(len(table))[::-1]
    est = table["estimate"].to_numpy(float)
    err = np.vstack([est - table["lower"].to_numpy(float), table["upper"].to_numpy(float) - est])
    ax.barh(y, est, color="#8fb3de", label="ROAS")
    ax.errorbar(est, y, xerr=err, fmt="none", ecolor="#1f3b5c", capsize=3, label="interval")
    if "mroas" in table.columns:
        ax.scatter(table["mroas"], y, marker="D", color="#d62728", zorder=3, label="marginal ROAS")
    if truth is not None:
        ax.scatter(truth.reindex(table["channel"]).to_numpy(float), y, marker="x", s=60, color="black", zorder=4,
                   label="true ROAS")
    ax.axvline(1.0 if target == "revenue" else 0.0, color="#888888", lw=0.8, ls="--")
    ax.set_yticks(y, table["channel"].astype(str))
    ax.set_xlabel(f"{target} per unit of spend")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_decomposition(table: pd.DataFrame, actual: pd.DataFrame, *, channels: list[str], ax: Any = None) -> Any:
    """Stacked areas of the baseline (grey) and each channel over time, geos summed; the actual outcome on top."""
    fig, ax = new_axes(ax, (10, 4.5))
    wide = table.pivot_table(index="date", columns="component", values="contribution", aggfunc="sum",
                             observed=True).sort_index()
    base_cols = [c for c in wide.columns if c not in channels]
    base = wide[base_cols].sum(axis=1) if base_cols else pd.Series(0.0, index=wide.index)
    layers = [base] + [wide[c] for c in channels if c in wide.columns]
    labels = ["baseline"] + [c for c in channels if c in wide.columns]
    colors = [_BASE_GREY] + _palette(len(labels) - 1)
    ax.stackplot(wide.index, *[v.to_numpy() for v in layers], labels=labels, colors=colors, alpha=0.9)
    act = actual.groupby("date")["actual"].sum().sort_index()
    ax.plot(act.index, act.to_numpy(), color="black", lw=1.0, label="actual")
    ax.legend(loc="upper left", fontsize=8, ncol=min(4, len(labels) + 1))
    date_axis(ax)
    thousands(ax.yaxis)
    return fig


def plot_response_curves(table: pd.DataFrame, current: pd.Series, *, ax: Any = None) -> Any:
    """One response curve per channel with its band; a dot at the channel's current spend."""
    fig, ax = new_axes(ax, (8, 4.5))
    chans = list(pd.unique(table["channel"].astype(str)))
    for ch, col in zip(chans, _palette(len(chans)), strict=True):
        t = table[table["channel"].astype(str) == ch].sort_values("spend")
        ax.plot(t["spend"], t["response"], color=col, label=ch)
        ax.fill_between(t["spend"], t["lower"], t["upper"], color=col, alpha=0.15, lw=0)
        x0 = float(current[ch])
        ax.scatter([x0], [np.interp(x0, t["spend"], t["response"])], color=col, edgecolor="black", zorder=3)
    ax.set_xlabel("spend per period")
    ax.set_ylabel("outcome per period")
    ax.legend(fontsize=8)
    thousands(ax.xaxis)
    thousands(ax.yaxis)
    return fig


def plot_budget(table: pd.DataFrame, *, ax: Any = None) -> Any:
    """Current and optimal spend per channel side by side, the bounds as whiskers on the optimal bar."""
    fig, ax = new_axes(ax, (8, 0.5 * len(table) + 1.8))
    y = np.arange(len(table))[::-1]
    h = 0.38
    ax.barh(y + h / 2, table["current"], height=h, color="#c9c9c9", label="current")
    ax.barh(y - h / 2, table["optimal"], height=h, color="#2ca02c", label="optimal")
    ax.hlines(y - h / 2, table["low"], table["high"], color="#1b5e20", lw=1)
    ax.set_yticks(y, table["channel"].astype(str))
    ax.set_xlabel("spend per period")
    thousands(ax.xaxis)
    ax.legend(fontsize=8)
    return fig


def plot_mrr(table: pd.DataFrame, *, key: str, ax: Any = None) -> Any:
    """MRR per row with its interval; break-even (1) dashed, the benchmark dotted where there is one."""
    fig, ax = new_axes(ax, (7, 0.5 * len(table) + 1.5))
    y = np.arange(len(table))[::-1]
    est = table["estimate"].to_numpy(float)
    err = np.vstack([est - table["lower"].to_numpy(float), table["upper"].to_numpy(float) - est])
    ax.errorbar(est, y, xerr=err, fmt="o", color="#1f5fa8", capsize=3, label="MRR")
    ax.axvline(1.0, color="#888888", lw=0.8, ls="--", label="break-even")
    if "benchmark" in table.columns and table["benchmark"].notna().any():
        ax.scatter(table["benchmark"], y, marker="|", s=300, color="#d62728", label="benchmark")
    ax.set_yticks(y, table[key].astype(str))
    ax.set_xlabel("incremental margin per unit of cost (MRR)")
    ax.legend(fontsize=8)
    return fig
