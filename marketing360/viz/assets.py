"""Plots of the 4A model: volumes over time, flow matrices, brand vs category penetration."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .overview import _done, _plt

__all__ = ["plot_volumes", "plot_flows", "plot_penetration", "STAGE_COLORS"]

STAGE_COLORS = {"aware": "#9ecae1", "appeal": "#4292c6", "act": "#fd8d3c", "advocate": "#d94801"}
_ORDER = list(STAGE_COLORS)


def plot_volumes(volumes: pd.DataFrame, *, brand: str | None = None, ax: Any = None) -> Any:
    """Stacked 4A volumes: over time for a series (one brand or all summed), else by brand."""
    plt = _plt()
    own = ax is None
    if own:
        _, ax = plt.subplots(figsize=(9, 4))
    df = volumes if brand is None else volumes[volumes.brand == brand]
    if df.empty:
        raise ValueError(f"no volumes to plot{' for brand ' + repr(brand) if brand else ''}")
    x = "date" if "date" in df.columns else "brand"
    wide = df.pivot_table(index=x, columns="stage", values="consumers", aggfunc="sum", fill_value=0)
    wide = wide.reindex(columns=[s for s in _ORDER if s in wide.columns])
    if x == "date":
        idx = pd.to_datetime(wide.index)
        ax.stackplot(idx, *[wide[s].to_numpy() for s in wide.columns], labels=list(wide.columns),
                     colors=[STAGE_COLORS[s] for s in wide.columns], alpha=0.9)
        ax.figure.autofmt_xdate()
    else:
        labels = [str(b) for b in wide.index]
        if all(lbl.isdigit() for lbl in labels):  # numeric ids (a category code as brand) in numeric order
            wide = wide.iloc[np.argsort([int(lbl) for lbl in labels], kind="stable")]
            labels = [str(b) for b in wide.index]
        bottom = np.zeros(len(wide))
        for s in wide.columns:
            ax.bar(labels, wide[s].to_numpy(), bottom=bottom, label=s, color=STAGE_COLORS[s])
            bottom += wide[s].to_numpy()
        ax.set_ylim(0, max(bottom.max(), 1) * 1.05)
    ax.set_ylabel("consumers")
    ax.set_title("4A consumer assets" + (f": {brand}" if brand else ""))
    ax.legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return _done(ax, own)


def plot_flows(matrix: pd.DataFrame, *, rates: bool = True, title: str = "4A flows", unit: str = "consumers",
               ax: Any = None) -> Any:
    """Heatmap of a flow matrix (from stage x to stage); cells show counts and row shares."""
    plt = _plt()
    own = ax is None
    if own:
        _, ax = plt.subplots(figsize=(6.5, 5))
    counts = matrix.to_numpy(dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    im = ax.imshow(share if rates else counts, cmap="Blues", vmin=0)
    ax.set_xticks(range(matrix.shape[1]), list(matrix.columns))
    ax.set_yticks(range(matrix.shape[0]), list(matrix.index))
    ax.set_xlabel("to")
    ax.set_ylabel("from")
    top = (share if rates else counts).max() or 1
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            v = share[i, j] if rates else counts[i, j]
            ax.text(j, i, f"{int(counts[i, j]):,}\n{share[i, j]:.0%}", ha="center", va="center", fontsize=7,
                    color="white" if v > 0.6 * top else "black")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, label="share of the row" if rates else unit)
    ax.set_title(f"{title} ({unit})")
    return _done(ax, own)


def plot_penetration(pen: pd.DataFrame, *, stage: str = "act", ax: Any = None) -> Any:
    """Bars of each brand's penetration in ``stage``, with its category's average as a marker."""
    plt = _plt()
    own = ax is None
    if own:
        _, ax = plt.subplots(figsize=(8, 3.8))
    df = pen[pen.stage == stage]
    if "date" in df.columns:
        df = df[df.date == df.date.max()]
    if df.empty:
        raise ValueError(f"no penetration rows for stage {stage!r}")
    df = df.sort_values(["category", "brand"] if "category" in df.columns else ["brand"])
    x = np.arange(len(df))
    ax.bar(x, df.penetration.to_numpy() * 100, color=STAGE_COLORS.get(stage, "#4292c6"), label="brand")
    if "category_penetration" in df.columns:
        ax.scatter(x, df.category_penetration.to_numpy() * 100, color="black", marker="_", s=400,
                   label="category average", zorder=3)
    labels = [f"{b}\n({c})" for b, c in zip(df.brand, df.category)] if "category" in df.columns else list(df.brand)
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel(f"{stage} penetration (%)")
    ax.set_title(f"Brand vs category: {stage} penetration")
    ax.legend(frameon=False, fontsize=8)
    return _done(ax, own)
