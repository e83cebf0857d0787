"""Plots of uplift models: the Qini or uplift curve against random targeting and the perfect ranking."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ._base import new_axes, thousands
from .colors import TRUTH_COLOR, method_color

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_uplift_curve"]

_YLABEL = {"uplift": "uplift x rows targeted", "qini": "incremental outcomes (Qini)"}


def plot_uplift_curve(table: pd.DataFrame, *, kind: str = "uplift", score: float | None = None,
                      label: str = "model", baselines: bool = True, title: str | None = None,
                      ax: Axes | None = None) -> Figure:
    """The model's curve, with the random line (dotted) and the perfect curve (dashed) when present.

    Parameters
    ----------
    table : pandas.DataFrame
        ``curve, n, value`` with ``curve`` in ``"model"``, ``"perfect"``,
        ``"random"`` (``UpliftCurve.table()`` / ``QiniCurve.table()``).
    kind : {"uplift", "qini"}
        Names the y axis.
    score : float, optional
        The normalised area, shown in the legend.
    label : str, default "model"
        The model's name in the legend (and its colour,
        :func:`~marketing360.viz.colors.method_color`).
    baselines : bool, default True
        Draw the random and perfect curves (False to add a second model to an axes that has them).
    title : str, optional
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When ``table`` has no model curve.

    Examples
    --------
    >>> from marketing360.incrementality.uplift_eval import qini_curve
    >>> c = qini_curve([1, 0, 0, 1, 1, 0], [0.9, 0.5, 0.4, 0.1, 0.3, 0.2], [1, 1, 0, 0, 1, 0])
    >>> fig = plot_uplift_curve(c.table(), kind="qini", score=c.score)
    >>> [line.get_label() for line in fig.axes[0].get_lines() if not line.get_label().startswith("_")]
    ['model (score 0.692)', 'perfect', 'random']
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    if "curve" not in table.columns or not (table["curve"] == "model").any():
        raise ValueError("nothing to plot: the table has no 'model' curve")
    fig, ax = new_axes(ax, (6.5, 4.2))
    parts = {str(name): part for name, part in table.groupby("curve", observed=True, sort=False)}
    model = parts["model"]
    name = label if score is None else f"{label} (score {score:.3f})"
    ax.plot(model["n"], model["value"], color=method_color(label), lw=1.8, label=name, zorder=3)
    if baselines:
        if "perfect" in parts:
            ax.plot(parts["perfect"]["n"], parts["perfect"]["value"], color="#7f7f7f", lw=1.2, ls="--",
                    label="perfect", zorder=2)
        if "random" in parts:
            ax.plot(parts["random"]["n"], parts["random"]["value"], color=TRUTH_COLOR, lw=1.0, ls=":",
                    label="random", zorder=2)
    ax.axhline(0.0, color="#cccccc", lw=0.8, zorder=1)
    ax.set_xlabel("rows targeted, highest predicted uplift first")
    ax.set_ylabel(_YLABEL.get(kind, "value"))
    thousands(ax.xaxis)
    ax.set_title(title if title is not None else ("Qini curve" if kind == "qini" else "Uplift curve"))
    ax.legend(frameon=False, fontsize=8, loc="best")
    return fig
