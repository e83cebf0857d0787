"""Plots of the 4A model: volumes over time, flow matrices, brand vs category penetration.

Each 4A stage has one colour in every plot (:data:`~marketing360.viz.colors.STAGE_COLORS`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._base import date_axis, new_axes, thousands
from .colors import STAGE_COLORS, stage_color

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["STAGE_COLORS", "plot_flows", "plot_penetration", "plot_volumes", "volume_unit"]

_ORDER = list(STAGE_COLORS)


def volume_unit(volumes: pd.DataFrame, brand: str | None = None) -> str:
    """What one unit of a (summed) 4A volume counts.

    A consumer can hold a stage for several brands at once, so volumes summed
    over brands count consumer-brand pairs, not consumers.

    Parameters
    ----------
    volumes : pandas.DataFrame
        A volumes frame with ``consumers`` (and ``brand`` when per brand).
    brand : str, optional
        The one brand shown.

    Returns
    -------
    str
        ``"consumer-brand pairs"`` when the rows of more than one brand are
        summed into one number, else ``"consumers"``.

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"brand": ["A", "B"], "stage": ["act", "act"], "consumers": [3, 4]})
    >>> volume_unit(v), volume_unit(v, "A")
    ('consumer-brand pairs', 'consumers')
    """
    if brand is None and "brand" in volumes.columns and volumes["brand"].nunique(dropna=False) > 1:
        return "consumer-brand pairs"
    return "consumers"


def plot_volumes(volumes: pd.DataFrame, *, brand: str | None = None, ax: Axes | None = None) -> Figure:
    """Stacked 4A volumes: over time for a series (one brand, or all brands summed), else by brand.

    Parameters
    ----------
    volumes : pandas.DataFrame
        ``[date,] brand, stage, consumers`` (an :class:`~marketing360.assets.AssetVolumes` frame).
    brand : str, optional
        Draw this brand only. Without it a series sums the brands, and the y
        axis counts consumer-brand pairs (a consumer in two brands' assets counts twice).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When there is nothing to draw (no rows, or none for ``brand``).
    """
    df = volumes if brand is None else volumes[volumes.brand == brand]
    if df.empty:
        raise ValueError(f"no volumes to plot{' for brand ' + repr(brand) if brand else ''}")
    fig, ax = new_axes(ax, (9, 4))
    x = "date" if "date" in df.columns else "brand"
    unit = volume_unit(df, brand) if x == "date" else "consumers"
    wide = df.pivot_table(index=x, columns="stage", values="consumers", aggfunc="sum", fill_value=0,
                          observed=True)
    wide = wide.reindex(columns=[s for s in _ORDER if s in wide.columns])
    if x == "date":
        idx = pd.to_datetime(wide.index)
        ax.stackplot(idx, *[wide[s].to_numpy() for s in wide.columns], labels=list(wide.columns),
                     colors=[stage_color(s) for s in wide.columns], alpha=0.9)
        date_axis(ax)
    else:
        labels = [str(b) for b in wide.index]
        if all(lbl.isdigit() for lbl in labels):  # numeric ids (a category code as brand) in numeric order
            wide = wide.iloc[np.argsort([int(lbl) for lbl in labels], kind="stable")]
            labels = [str(b) for b in wide.index]
        bottom = np.zeros(len(wide))
        for s in wide.columns:
            ax.bar(labels, wide[s].to_numpy(), bottom=bottom, label=s, color=stage_color(s))
            bottom += wide[s].to_numpy()
        ax.set_ylim(0, max(bottom.max(), 1) * 1.05)
    ax.set_ylabel(unit)
    thousands(ax.yaxis)
    what = f": {brand}" if brand else (", all brands summed" if unit != "consumers" else "")
    ax.set_title(f"4A consumer assets{what}")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], frameon=False, fontsize=8, loc="center left",
              bbox_to_anchor=(1.0, 0.5))  # top of the stack first
    return fig


def plot_flows(matrix: pd.DataFrame, *, rates: bool = True, title: str = "4A flows", unit: str = "consumers",
               ax: Axes | None = None) -> Figure:
    """Heatmap of a flow matrix (from stage x to stage); cells show counts and row shares.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Counts, rows ``from`` (``new`` and the stages), columns ``to`` (the
        stages and ``lost``), e.g. :meth:`~marketing360.assets.AssetFlows.matrix`.
    rates : bool, default True
        Colour by the share of the row (where a stage's consumers went); else by the count.
    title : str, default "4A flows"
        The title; the unit is added in brackets.
    unit : str, default "consumers"
        What one count is: pass ``"consumer-brand pairs"`` for a matrix summed over brands.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = new_axes(ax, (6.5, 5))
    counts = matrix.to_numpy(dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    shown = share if rates else counts
    im = ax.imshow(shown, cmap="Blues", vmin=0)
    ax.set_xticks(range(matrix.shape[1]), [str(c) for c in matrix.columns])
    ax.set_yticks(range(matrix.shape[0]), [str(r) for r in matrix.index])
    for lbl in [*ax.get_xticklabels(), *ax.get_yticklabels()]:  # stage names in their colours
        if lbl.get_text() in STAGE_COLORS:
            lbl.set_color(_darker(stage_color(lbl.get_text())))
            lbl.set_fontweight("bold")
    ax.set_xlabel("to")
    ax.set_ylabel("from")
    top = shown.max() or 1
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(j, i, f"{counts[i, j]:,.0f}\n{share[i, j]:.0%}", ha="center", va="center", fontsize=7,
                    color="white" if shown[i, j] > 0.6 * top else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of the row" if rates else unit)
    ax.set_title(f"{title} ({unit})" if unit not in title else title)
    return fig


def plot_penetration(pen: pd.DataFrame, *, stage: str = "act", ax: Axes | None = None) -> Figure:
    """Bars of each brand's penetration in ``stage``, with its category's average as a marker.

    Parameters
    ----------
    pen : pandas.DataFrame
        ``[date,] [category,] brand, stage, penetration[, category_penetration]``
        (a :class:`~marketing360.assets.Penetration` frame); the last date is drawn.
    stage : str, default "act"
        The stage to draw (bars in its colour).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When ``pen`` has no row for ``stage``.
    """
    df = pen[pen.stage == stage]
    if "date" in df.columns:
        df = df[df.date == df.date.max()]
    if df.empty:
        raise ValueError(f"no penetration rows for stage {stage!r}")
    fig, ax = new_axes(ax, (8, 3.8))
    df = df.sort_values(["category", "brand"] if "category" in df.columns else ["brand"])
    x = np.arange(len(df))
    ax.bar(x, df.penetration.to_numpy() * 100, color=stage_color(stage), label="brand")
    if "category_penetration" in df.columns:
        ax.scatter(x, df.category_penetration.to_numpy() * 100, color="black", marker="_", s=400,
                   label="category average", zorder=3)
    labels = [f"{b}\n({c})" for b, c in zip(df.brand, df.category)] if "category" in df.columns else list(df.brand)
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel(f"{stage} penetration (%)")
    ax.set_title(f"Brand vs category: {stage} penetration")
    ax.legend(frameon=False, fontsize=8)
    return fig


def _darker(color: str, f: float = 0.75) -> tuple[float, float, float]:
    import matplotlib.colors as mcolors

    r, g, b = mcolors.to_rgb(color)
    return (r * f, g * f, b * f)
