"""Plots of experiment readouts and designs: effects with their intervals (a forest plot), power curves."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._base import new_axes

__all__ = ["plot_effects", "plot_power"]


def plot_effects(table: pd.DataFrame, *, relative: bool = False, alpha: float = 0.05, ax: Any = None,
                 **kwargs: Any) -> Any:
    """Forest plot: one row per metric, estimand and arm, the estimate and its interval; returns the figure.

    ``table`` is an :class:`~marketing360.incrementality.Experiment` table; with ``relative`` the lift over
    the control mean is drawn (in percent).
    """
    fig, ax = new_axes(ax, kwargs.pop("figsize", (6.5, 1.0 + 0.45 * len(table))))
    df = table.reset_index(drop=True)
    if relative:
        est, lo, hi = (100 * df[c].to_numpy(float) for c in ("relative", "relative_lower", "relative_upper"))
        label = "lift over control (%)"
    else:
        est, lo, hi = (df[c].to_numpy(float) for c in ("estimate", "lower", "upper"))
        label = "difference from control"
    y = np.arange(len(df))[::-1]
    sig = (lo > 0) | (hi < 0)
    colors = np.where(sig, "#1f77b4", "#7f7f7f")
    ax.hlines(y, lo, hi, colors=colors, lw=2)
    ax.scatter(est, y, c=colors, zorder=3, s=28)
    ax.axvline(0, color="black", lw=0.8)
    names = [f"{r.metric} · {r.arm}" + ("" if r.estimand == "itt" else f" ({r.estimand})")
             for r in df.itertuples()]
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.set_xlabel(f"{label}, {100 * (1 - alpha):g}% interval")
    ax.set_title(kwargs.pop("title", "experiment readout"))
    return fig


def plot_power(curve: pd.DataFrame, *, n: float, power: float, mde: float, ax: Any = None, **kwargs: Any) -> Any:
    """Power against units per control arm (``curve``: ``n_control, power``), the design marked; returns the figure."""
    fig, ax = new_axes(ax, kwargs.pop("figsize", (6.5, 4)))
    ax.plot(curve["n_control"], curve["power"], color="#1f77b4", lw=2)
    ax.axhline(power, color="grey", lw=0.8, ls="--")
    ax.axvline(n, color="grey", lw=0.8, ls="--")
    ax.scatter([n], [power], color="black", zorder=3)
    ax.set_xscale("log")
    from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter

    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 1, 2, 5 per decade: labelled, not crowded
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(0, 1)
    ax.set_xlabel("units in the control arm")
    ax.set_ylabel("power")
    ax.set_title(kwargs.pop("title", f"power to detect {mde:.4g} (n = {n:,.0f} for power {power:.2f})"))
    return fig
