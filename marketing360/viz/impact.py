"""Plots of time-series counterfactuals: CausalImpact's three panels.

The original series with its counterfactual prediction and band, the
pointwise effect with its band, and the cumulative effect with its band, one
above the other on a shared time axis, with a dashed vertical line where the
post-period starts (and one where the pre-period ends, when there is a gap).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._base import Figure, date_axis, root_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure as MplFigure

__all__ = ["plot_impact", "IMPACT_PANELS"]

#: the panels :func:`plot_impact` draws, in R's order
IMPACT_PANELS = ("original", "pointwise", "cumulative")
_BAND = "#8fb3de"
_LINE = "#1f5fa8"
_LABELS = {"original": "original", "pointwise": "pointwise effect", "cumulative": "cumulative effect"}


def plot_impact(frame: pd.DataFrame, *, panels: Sequence[str] = IMPACT_PANELS, ax: Any = None,
                title: str | None = None) -> MplFigure:
    """Draw CausalImpact's panels from a pointwise frame (``CausalImpact.pointwise``).

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``date, period, actual, predicted, predicted_lower, predicted_upper``,
        ``point_effect`` and ``cumulative_effect`` with their ``_lower`` / ``_upper`` bounds.
    panels : sequence of {"original", "pointwise", "cumulative"}
        Which panels, top to bottom.
    ax : matplotlib Axes or sequence of Axes, optional
        One axes per panel; a new figure (one row per panel, shared x axis) when omitted.
    title : str, optional
        Title above the first panel.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        An unknown panel, no panel, a frame without rows, or a number of axes that does not match.

    Examples
    --------
    >>> import pandas as pd, matplotlib.pyplot as plt
    >>> f = pd.DataFrame({"date": range(4), "period": ["pre", "pre", "post", "post"],
    ...                   "actual": [1.0, 2, 4, 5], "predicted": [1.0, 2, 3, 3]})
    >>> for c in ("predicted", "point_effect", "cumulative_effect"):
    ...     base = f["predicted"] if c == "predicted" else pd.Series([0.0, 0, 1, 3]) if c == "cumulative_effect" \\
    ...         else f["actual"] - f["predicted"]
    ...     f[c], f[c + "_lower"], f[c + "_upper"] = base, base - 1, base + 1
    >>> fig = plot_impact(f)
    >>> len(fig.axes), fig.axes[2].get_ylabel()
    (3, 'cumulative effect')
    >>> plt.close(fig)
    """
    panels = [panels] if isinstance(panels, str) else list(panels)
    unknown = [p for p in panels if p not in IMPACT_PANELS]
    if unknown or not panels:
        raise ValueError(f"panels must be some of {list(IMPACT_PANELS)}; found {panels}")
    if frame.empty:
        raise ValueError("nothing to plot: the pointwise frame is empty")
    axes = _axes(ax, len(panels))
    dates = frame["date"]
    # positional: the frame may be a slice of the pointwise frame, its index no longer 0, 1, ...
    x = pd.DatetimeIndex(dates) if pd.api.types.is_datetime64_any_dtype(dates) else dates.to_numpy()
    period = frame["period"].astype(str).to_numpy()
    post = np.flatnonzero(period == "post")
    gap = np.flatnonzero(period == "gap")
    lines = [x[post[0]]] if len(post) else []
    if len(gap):
        lines.insert(0, x[gap[0]])
    for a, panel in zip(axes, panels):
        if panel == "original":
            a.fill_between(x, frame["predicted_lower"], frame["predicted_upper"], color=_BAND, alpha=0.5, lw=0,
                           label="counterfactual interval")
            a.plot(x, frame["actual"], color="black", lw=1.2, label="actual")
            a.plot(x, frame["predicted"], color=_LINE, lw=1.2, ls="--", label="counterfactual")
            a.legend(loc="best", fontsize="small", frameon=False)
        else:
            col = "point_effect" if panel == "pointwise" else "cumulative_effect"
            a.fill_between(x, frame[f"{col}_lower"], frame[f"{col}_upper"], color=_BAND, alpha=0.5, lw=0)
            a.plot(x, frame[col], color=_LINE, lw=1.2, ls="--")
            a.axhline(0, color="grey", lw=0.8)
        for v in lines:
            a.axvline(v, color="grey", ls="--", lw=1)
        a.set_ylabel(_LABELS[panel])
        if isinstance(x, pd.DatetimeIndex):
            date_axis(a)
    if title:
        axes[0].set_title(title)
    return root_figure(axes[0])


def _axes(ax: Any, n: int) -> list[Axes]:
    if ax is None:
        import matplotlib.pyplot as plt

        fig, new = plt.subplots(n, 1, sharex=True, figsize=(9, 2.4 * n + 0.6), FigureClass=Figure, squeeze=False)
        fig.subplots_adjust(hspace=0.08)
        return list(new[:, 0])
    from matplotlib.axes import Axes as _Axes

    given = [ax] if isinstance(ax, _Axes) else list(np.ravel(np.asarray(ax, dtype=object)))
    if len(given) != n or not all(isinstance(a, _Axes) for a in given):
        raise ValueError(f"ax must hold one matplotlib Axes per panel ({n}); found {len(given)} item(s)")
    return given
