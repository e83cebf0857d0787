"""What every plot function shares: where it draws, and how its figure shows in a notebook.

Plot functions never choose the matplotlib backend and never close a figure:
with ``ax=None`` they open a new figure through pyplot (so ``plt.show()`` in a
script shows it, and a notebook's inline backend shows it at the end of the
cell), with ``ax=`` they draw on the caller's axes; either way they return the
:class:`matplotlib.figure.Figure`.

A figure returned as the last value of a notebook cell would be shown twice
by the inline backend (once as the cell's value, once when the backend
flushes its open figures). Figures made here are a matplotlib ``Figure``
subclass (:class:`Figure`, named like matplotlib's so its text repr reads the
same) that shows itself once: when IPython displays it while the inline
backend still holds it, it is drawn and then handed back from pyplot (which
the inline backend would do at the end of the cell anyway), so the flush does
not draw it again.
"""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure as _MplFigure

__all__ = ["Figure", "date_axis", "new_axes", "root_figure", "thousands"]

_INLINE = "module://matplotlib_inline.backend_inline"


class Figure(_MplFigure):
    """A matplotlib Figure that a notebook shows once, whether returned from a cell or not."""

    @property
    def _ipython_display_(self) -> Any:  # looked up by IPython's display machinery only
        if getattr(self, "_m360_displaying", False):
            return None  # inside our own display call: IPython formats the figure as usual
        return self._display_once

    def _display_once(self) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        self._m360_displaying = True
        try:
            display(self)
        finally:
            self._m360_displaying = False
        if _inline_backend() and self.number in plt.get_fignums() and _inline_closes():
            plt.close(self)  # already shown: the inline backend would close it after this cell anyway

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = dict(super().__getstate__())  # type: ignore[call-overload]
        state.pop("_m360_displaying", None)
        return state


def _inline_backend() -> bool:
    """Whether pyplot draws with the notebook's inline backend (named ``inline`` in matplotlib >= 3.9)."""
    import matplotlib

    return matplotlib.get_backend().lower() in (_INLINE, "inline")


def _inline_closes() -> bool:
    """Whether the inline backend closes every figure after a cell (its default)."""
    try:
        from matplotlib_inline.config import InlineBackend

        return bool(InlineBackend.instance().close_figures)
    except (ImportError, AttributeError):  # pragma: no cover - an inline backend without its configuration
        return False


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[_MplFigure, Axes]:
    """The figure and axes to draw on: ``ax``'s, or a new pyplot figure of ``figsize`` inches.

    Parameters
    ----------
    ax : matplotlib Axes or None
        The caller's axes; ``None`` opens a new figure (left open, in pyplot's list).
    figsize : (float, float)
        Width and height of a new figure, in inches.

    Returns
    -------
    (Figure, Axes)
        The top-level figure (also when ``ax`` lives in a subfigure) and the axes.
    """
    if ax is not None:
        return root_figure(ax), ax
    import matplotlib.pyplot as plt

    fig, new = plt.subplots(figsize=figsize, FigureClass=Figure)
    return fig, new


def root_figure(ax: Axes) -> _MplFigure:
    """The top-level Figure holding ``ax`` (not a SubFigure)."""
    try:
        fig = ax.get_figure(root=True)
    except TypeError:  # matplotlib < 3.10: a (sub)figure's ``figure`` is the top-level one
        fig = ax.figure.figure
    if not isinstance(fig, _MplFigure):
        raise TypeError("the axes belong to no figure")
    return fig


def thousands(axis: Any) -> None:
    """Tick labels with thousands separators (``12,000``) on one axis (``ax.xaxis`` or ``ax.yaxis``)."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(_thousands_tick))


def _thousands_tick(v: float, _pos: Any = None) -> str:
    """A tick label: ``12,000``; small fractional ticks as ``0.5`` (a module function, so figures pickle)."""
    return f"{v:,.0f}" if abs(v) >= 10 or v == int(v) else f"{v:g}"


def date_axis(ax: Axes) -> None:
    """Concise date ticks on ``ax``'s x axis (no rotation, and no change to the other axes of its figure)."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    formatter = mdates.ConciseDateFormatter(locator)
    formatter.offset_formats = ["", "%Y", "%Y", "%Y", "%Y-%m-%d", "%Y-%m-%d %H:%M"]  # day ticks: just the year
    ax.xaxis.set_major_formatter(formatter)
