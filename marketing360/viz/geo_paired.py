"""Plots of geo experiments read by time-based regression (TBR) and Trimmed Match.

* :func:`plot_tbr` — the three TBR panels: the treatment series against its
  counterfactual, the effect per period, the cumulative effect, each with its
  band, and the test (and cooldown) period shaded.
* :func:`plot_trimmed_match` — one point per geo pair (incremental cost,
  incremental response), the trimmed pairs hollow, and the iROAS line through
  the origin with its interval.
* :func:`plot_trim_rates` — the standard error of the estimate at each
  candidate trim rate, and the rate chosen.

Viz never computes: each function draws the frames of a result
(``TBREffects.series``, ``TrimmedMatchEffects.pairs`` / ``.candidates``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ._base import Figure, date_axis, new_axes, root_figure, thousands

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure as MplFigure

__all__ = ["plot_tbr", "plot_trimmed_match", "plot_trim_rates"]

_OBSERVED, _COUNTERFACTUAL, _EFFECT = "#1f77b4", "#7f7f7f", "#d62728"
_PANELS = ("counterfactual", "pointwise", "cumulative")
_TBR_COLUMNS = ("date", "period", "treatment", "counterfactual", "counterfactual_lower", "counterfactual_upper",
                "effect", "effect_lower", "effect_upper", "cumulative", "cumulative_lower", "cumulative_upper")


def plot_tbr(series: pd.DataFrame, *, panel: str = "all", level: float | None = None, title: str | None = None,
             ax: Axes | Sequence[Axes] | np.ndarray | None = None) -> MplFigure:
    """The TBR panels: observed vs counterfactual, pointwise effect, cumulative effect.

    Parameters
    ----------
    series : pandas.DataFrame
        ``TBREffects.series``: one row per period with ``date, period`` (``pre`` / ``test`` /
        ``cooldown``), ``treatment``, ``counterfactual``, ``effect``, ``cumulative`` and their
        ``_lower`` / ``_upper`` bounds.
    panel : {"all", "counterfactual", "pointwise", "cumulative"}
        Which panel; ``"all"`` stacks the three.
    level : float, optional
        Level of the bands, for the legend.
    title : str, optional
        A title above the panels (the figure's, for ``panel="all"``).
    ax : matplotlib Axes, or three Axes for ``panel="all"`` (a list, or the array ``plt.subplots(3)`` returns)
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd, matplotlib.pyplot as plt
    >>> s = pd.DataFrame({"date": [1, 2, 3], "period": ["pre", "test", "test"], "treatment": [1.0, 3.0, 3.0],
    ...                   "counterfactual": [1.0, 1.0, 1.0], "effect": [0.0, 2.0, 2.0],
    ...                   "cumulative": [float("nan"), 2.0, 4.0]})
    >>> for c in ("counterfactual", "effect", "cumulative"):
    ...     s[c + "_lower"], s[c + "_upper"] = s[c] - 1, s[c] + 1
    >>> fig = plot_tbr(s)
    >>> len(fig.axes)
    3
    >>> plt.close(fig)
    """
    missing = [c for c in _TBR_COLUMNS if c not in series.columns]
    if missing:
        raise ParameterError(f"plot_tbr needs the columns {missing} (TBREffects.series); found {list(series.columns)}")
    if series.empty:
        raise ParameterError("nothing to plot: the TBR series is empty")
    if panel == "all":
        if ax is None:
            import matplotlib.pyplot as plt

            fig, axes = plt.subplots(3, 1, figsize=(9, 8.5), sharex=True, FigureClass=Figure)
            axes_list = list(axes)
        else:
            given = _axes_list(ax)
            if given is None or len(given) != 3:
                raise ParameterError("panel='all' draws three panels: pass ax=None or three axes (or choose one "
                                     f"panel: {list(_PANELS)}); found {type(ax).__name__}"
                                     + (f" of {len(given)} axes" if given is not None else ""))
            axes_list = given
            fig = root_figure(axes_list[0])
        for name, a in zip(_PANELS, axes_list):
            _tbr_panel(series, name, level, a)
        if title:
            fig.suptitle(title)
        return fig
    if panel not in _PANELS:
        raise ParameterError(f"panel must be 'all' or one of {list(_PANELS)}; found {panel!r}")
    several = _axes_list(ax)
    if several is not None and len(several) != 1:
        raise ParameterError(f"panel={panel!r} draws on one axes; found {len(several)}")
    target = several[0] if several is not None else cast("Axes | None", ax)  # one axes, or None
    fig, one = new_axes(target, (9, 3.2))
    _tbr_panel(series, panel, level, one)
    if title:
        one.set_title(title)
    return fig


def _axes_list(ax: Any) -> list[Axes] | None:
    """The axes of a list, tuple or array of axes (``plt.subplots`` returns an array); None for one axes."""
    if isinstance(ax, np.ndarray):
        return list(ax.ravel())
    if isinstance(ax, Sequence):
        return list(ax)
    return None


def _tbr_panel(s: pd.DataFrame, name: str, level: float | None, ax: Axes) -> None:
    x = s["date"]
    band = f"{100 * level:g}% band" if level is not None else "band"
    if name == "counterfactual":
        ax.plot(x, s["treatment"], color=_OBSERVED, label="treatment (observed)")
        ax.plot(x, s["counterfactual"], color=_COUNTERFACTUAL, ls="--", label="counterfactual")
        ax.fill_between(x, s["counterfactual_lower"], s["counterfactual_upper"], color=_COUNTERFACTUAL, alpha=0.2,
                        label=band)
        ax.set_title("Treatment and its counterfactual")
    elif name == "pointwise":
        ax.plot(x, s["effect"], color=_EFFECT, label="effect")
        ax.fill_between(x, s["effect_lower"], s["effect_upper"], color=_EFFECT, alpha=0.15, label=band)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_title("Effect per period")
    else:
        keep = s["period"] != "pre"
        ax.plot(x[keep], s.loc[keep, "cumulative"], color=_EFFECT, label="cumulative effect")
        ax.fill_between(x[keep], s.loc[keep, "cumulative_lower"], s.loc[keep, "cumulative_upper"], color=_EFFECT,
                        alpha=0.15, label=band)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_title("Cumulative effect")
    for period, shade in (("test", 0.12), ("cooldown", 0.05)):
        dates = x[s["period"] == period]
        if len(dates):
            ax.axvspan(dates.iloc[0], dates.iloc[-1], color="black", alpha=shade, lw=0)
    thousands(ax.yaxis)
    if pd.api.types.is_datetime64_any_dtype(x):
        date_axis(ax)
    ax.legend(loc="upper left", fontsize="small", frameon=False)


def plot_trimmed_match(pairs: pd.DataFrame, *, estimate: float, lower: float | None = None,
                       upper: float | None = None, title: str = "Trimmed Match: geo pairs",
                       ax: Axes | None = None) -> MplFigure:
    """Pairs as points (incremental cost, incremental response), the trimmed ones hollow; the iROAS line.

    Parameters
    ----------
    pairs : pandas.DataFrame
        ``TrimmedMatchEffects.pairs``: ``pair, delta_cost, delta_response, trimmed``.
    estimate, lower, upper : float
        The iROAS and its interval: lines through the origin of these slopes.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd, matplotlib.pyplot as plt
    >>> p = pd.DataFrame({"pair": [1, 2, 3], "delta_cost": [1.0, 2.0, 3.0], "delta_response": [2.0, 4.5, 30.0],
    ...                   "trimmed": [False, False, True]})
    >>> fig = plot_trimmed_match(p, estimate=2.1, lower=1.5, upper=2.6)
    >>> len(fig.axes[0].collections) >= 2
    True
    >>> plt.close(fig)
    """
    missing = [c for c in ("pair", "delta_cost", "delta_response", "trimmed") if c not in pairs.columns]
    if missing:
        raise ParameterError(f"plot_trimmed_match needs the columns {missing} (TrimmedMatchEffects.pairs); found "
                             f"{list(pairs.columns)}")
    if pairs.empty:
        raise ParameterError("nothing to plot: no pairs")
    fig, ax = new_axes(ax, (6.5, 5))
    kept, cut = pairs[~pairs["trimmed"].astype(bool)], pairs[pairs["trimmed"].astype(bool)]
    ax.scatter(kept["delta_cost"], kept["delta_response"], color=_OBSERVED, s=22, label="pairs kept")
    if len(cut):
        ax.scatter(cut["delta_cost"], cut["delta_response"], facecolors="none", edgecolors=_COUNTERFACTUAL, s=22,
                   label="pairs trimmed")
    lo_x, hi_x = float(min(0.0, pairs["delta_cost"].min())), float(max(0.0, pairs["delta_cost"].max()))
    xs = np.linspace(lo_x, hi_x, 50)
    ax.plot(xs, estimate * xs, color=_EFFECT, label=f"iROAS {estimate:.3g}")
    if lower is not None and upper is not None and np.isfinite(lower) and np.isfinite(upper):
        ax.fill_between(xs, lower * xs, upper * xs, color=_EFFECT, alpha=0.15,
                        label=f"interval [{lower:.3g}, {upper:.3g}]")
    ax.axhline(0, color="black", lw=0.6)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("incremental cost (treatment - control)")
    ax.set_ylabel("incremental response (treatment - control)")
    thousands(ax.xaxis)
    thousands(ax.yaxis)
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small", frameon=False)
    return fig


def plot_trim_rates(candidates: pd.DataFrame, *, chosen: float | None = None,
                    title: str = "Trimmed Match: trim rate", ax: Axes | None = None) -> MplFigure:
    """Standard error of the iROAS at each candidate trim rate, the chosen rate marked.

    Parameters
    ----------
    candidates : pandas.DataFrame
        ``TrimmedMatchEffects.candidates``: ``trim_rate, iroas, std_error``.
    chosen : float, optional
        The trim rate the estimate uses.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd, matplotlib.pyplot as plt
    >>> c = pd.DataFrame({"trim_rate": [0.0, 0.1, 0.2], "iroas": [2.0, 2.1, 2.1], "std_error": [0.3, 0.2, 0.25]})
    >>> fig = plot_trim_rates(c, chosen=0.1)
    >>> fig.axes[0].get_xlabel()
    'trim rate'
    >>> plt.close(fig)
    """
    missing = [c for c in ("trim_rate", "std_error") if c not in candidates.columns]
    if missing:
        raise ParameterError(f"plot_trim_rates needs the columns {missing}; found {list(candidates.columns)}")
    fig, ax = new_axes(ax, (6, 3.5))
    ax.plot(candidates["trim_rate"], candidates["std_error"], marker="o", color=_OBSERVED)
    if chosen is not None:
        ax.axvline(chosen, color=_EFFECT, ls="--", label=f"chosen trim rate {chosen:.3g}")
        ax.legend(loc="best", fontsize="small", frameon=False)
    ax.set_xlabel("trim rate")
    ax.set_ylabel("standard error of the iROAS")
    ax.set_title(title)
    return fig
