"""Plots of geo experiments: GeoLift's "Lift" and "ATT" plots, and power curves.

Viz never computes: these functions draw the frames the geo results keep
(``SyntheticControl.series``, ``GeoPower.table()``, ``MarketSelection.power_curves``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._base import date_axis, new_axes, root_figure, thousands

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_synthetic_control", "plot_power_curve"]

_OBSERVED = "#1f4e79"
_SYNTHETIC = "#c0504d"
_BAND = "#9dc3e6"


def _shade_test(ax: Axes, index: pd.Index, post: np.ndarray) -> None:
    if post.any():
        x = np.asarray(index)
        first = x[np.argmax(post)]
        ax.axvspan(first, x[-1], color="0.9", zorder=0, label="test period")
        ax.axvline(first, color="0.5", linestyle="--", linewidth=1)


def plot_synthetic_control(series: pd.DataFrame, *, kind: str = "both", title: str = "", level: float = 0.9,
                           ylabel: str = "Y", ax: Axes | Sequence[Axes] | None = None) -> Figure:
    """Observed vs synthetic treated series (``lift``), the ATT per period with its band (``att``), or both.

    Parameters
    ----------
    series : pandas.DataFrame
        Indexed by period, with ``observed, synthetic, att, lower, upper, post`` (``SyntheticControl.series``).
    kind : {"both", "lift", "att"}
    title : str
        Title of the (first) panel, as given; empty: "Observed vs synthetic" (lift) or none (att).
    level : float
        Confidence level of the band, for its label.
    ylabel : str
    ax : matplotlib Axes, or two Axes for ``kind="both"`` (a pair or an array of two), optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd, matplotlib.pyplot as plt
    >>> s = pd.DataFrame({"observed": [1.0, 2.0, 4.0], "synthetic": [1.0, 2.0, 3.0], "att": [0.0, 0.0, 1.0],
    ...                   "lower": [None, None, 0.5], "upper": [None, None, 1.5], "post": [False, False, True]})
    >>> fig = plot_synthetic_control(s)
    >>> len(fig.axes)
    2
    >>> plt.close(fig)
    """
    if kind not in ("both", "lift", "att"):
        raise ValueError(f"kind must be 'both', 'lift' or 'att'; found {kind!r}")
    missing = [c for c in ("observed", "synthetic", "att", "lower", "upper", "post") if c not in series.columns]
    if missing or series.empty:
        raise ValueError(f"nothing to plot: the series needs columns {missing or 'and rows'}")
    if kind == "both":
        if ax is None:
            import matplotlib.pyplot as plt

            from ._base import Figure as _Figure

            fig, axes = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True, FigureClass=_Figure)
            top, bottom = axes[0], axes[1]
        else:
            from matplotlib.axes import Axes as _Axes

            given = [] if isinstance(ax, _Axes) else list(np.ravel(np.asarray(ax, dtype=object)))
            if len(given) != 2 or not all(isinstance(a, _Axes) for a in given):
                raise ValueError("kind='both' draws on two axes: pass ax=(ax_lift, ax_att) (a pair, or the array "
                                 "plt.subplots(2) returns) or none")
            top, bottom = given
            fig = root_figure(top)
        _draw_lift(top, series, title, ylabel)
        _draw_att(bottom, series, "", level)
        return fig
    if ax is not None and (isinstance(ax, Sequence) or isinstance(ax, np.ndarray)):
        raise ValueError(f"kind={kind!r} draws on one axes")
    fig, one = new_axes(ax, (9, 4))
    if kind == "lift":
        _draw_lift(one, series, title, ylabel)
    else:
        _draw_att(one, series, title, level)
    return fig


def _draw_lift(ax: Axes, s: pd.DataFrame, title: str, ylabel: str) -> None:
    post = s["post"].to_numpy(bool)
    _shade_test(ax, s.index, post)
    ax.plot(s.index, s["observed"], color=_OBSERVED, label="treated (observed)")
    ax.plot(s.index, s["synthetic"], color=_SYNTHETIC, linestyle="--", label="synthetic control")
    ax.set_ylabel(ylabel)
    thousands(ax.yaxis)
    ax.set_title(title or "Observed vs synthetic")
    ax.legend(loc="best", frameon=False)
    if isinstance(s.index, pd.DatetimeIndex):
        date_axis(ax)


def _draw_att(ax: Axes, s: pd.DataFrame, title: str, level: float) -> None:
    post = s["post"].to_numpy(bool)
    _shade_test(ax, s.index, post)
    lo = s["lower"].to_numpy(float)
    hi = s["upper"].to_numpy(float)
    band = np.isfinite(lo) & np.isfinite(hi)
    if band.any():
        ax.fill_between(np.asarray(s.index)[band], lo[band], hi[band], color=_BAND, alpha=0.6,
                        label=f"{100 * level:g}% pointwise interval")
    ax.plot(s.index, s["att"], color=_OBSERVED, label="ATT")
    ax.axhline(0, color="0.3", linewidth=0.8)
    ax.set_ylabel("ATT (observed - synthetic)")
    if title:
        ax.set_title(title)
    ax.legend(loc="best", frameon=False)
    if isinstance(s.index, pd.DatetimeIndex):
        date_axis(ax)


def plot_power_curve(curves: pd.DataFrame, *, by: str = "duration", alpha: float | None = None,
                     title: str = "Power by effect size", ax: Axes | None = None, **kwargs: Any) -> Figure:
    """Power against the injected effect size, one line per value of ``by`` (test length by default).

    Parameters
    ----------
    curves : pandas.DataFrame
        ``effect_size``, ``power`` and the ``by`` column (``GeoPower.table()``).
    by : str, default "duration"
    alpha : float, optional
        Draws the test's level (the power at no effect should stay near it).
    title : str
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd, matplotlib.pyplot as plt
    >>> c = pd.DataFrame({"duration": [10, 10, 10], "effect_size": [0.0, 0.05, 0.1], "power": [0.1, 0.5, 1.0]})
    >>> fig = plot_power_curve(c, alpha=0.1)
    >>> len(fig.axes[0].lines)
    2
    >>> plt.close(fig)
    """
    missing = [c for c in ("effect_size", "power", by) if c not in curves.columns]
    if missing or curves.empty:
        raise ValueError(f"nothing to plot: the power curves need columns {missing or 'and rows'}")
    fig, ax = new_axes(ax, (7, 4))
    for key, g in curves.groupby(by, sort=True):
        g = g.sort_values("effect_size")
        ax.plot(100 * g["effect_size"], g["power"], marker="o", label=f"{by} {key}", **kwargs)
    if alpha is not None:
        ax.axhline(alpha, color="0.5", linestyle=":", linewidth=1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("effect size (%)")
    ax.set_ylabel("power")
    ax.set_title(title)
    ax.legend(loc="best", frameon=False)
    return fig
