"""What a marketing-mix model reports: returns per channel, parameters, decomposition, response curves, a plan.

Every class speaks the package's result protocol (``table()``, ``summary()``,
``plot()``; ``conf_int()`` for the :class:`~..effects.Effects` ones).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...results import Result
from ..effects import Effects

__all__ = ["MMMChannels", "MMMParameters", "Decomposition", "ResponseCurves", "BudgetPlan"]


class MMMChannels(Effects):
    """Return per channel: ``spend``, ``contribution`` (with bounds), ROAS (``estimate``, ``std_error``,
    ``lower``, ``upper``), marginal ROAS (``mroas`` with bounds), ``cost_per_incremental`` (with bounds) and the
    channel's shares of spend and effect.

    Attributes
    ----------
    target : str
        The outcome (``"revenue"``: ROAS in money per unit of spend; ``"conversions"``: conversions per unit of
        spend, and ``cost_per_incremental`` is the cost per incremental conversion).
    """

    title: ClassVar[str] = "marketing-mix model: return per channel"
    keys = ("channel",)

    def __init__(self, frame: pd.DataFrame, *, alpha: float, dof: float, notes: list[str], target: str) -> None:
        self.target = target
        super().__init__(frame, alpha=alpha, dof=dof, notes=notes)

    def _interval(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = super()._interval(alpha)
        return np.maximum(lo, 0.0), hi  # a ROAS is not negative (betas are), as in the table

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """ROAS per channel with its interval, and the marginal ROAS beside it."""
        from ...viz.mmm import plot_roas

        return plot_roas(self.table(), ax=ax, target=self.target, **kwargs)


class MMMParameters(Effects):
    """Each channel's ``beta``, adstock and saturation parameters with intervals (``at_bound``: the estimate
    sits on the search's bound, so its interval is not to be trusted); intervals stay within the search's
    bounds (columns ``bound_low``, ``bound_high``) at every level."""

    title: ClassVar[str] = "marketing-mix model: parameters"
    keys = ("channel", "parameter")

    def _interval(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = super()._interval(alpha)
        df = self._computed()
        return np.maximum(lo, df["bound_low"].to_numpy(float)), np.minimum(hi, df["bound_high"].to_numpy(float))


class Decomposition(Result):
    """The fitted outcome per period and geo, one row per component (baseline terms and channels).

    Attributes
    ----------
    actual : pandas.DataFrame
        ``date, geo, actual``.
    channels : list of str
    target : str
    """

    title = "marketing-mix model: decomposition"
    keys = ("date", "geo", "component")

    def __init__(self, frame: pd.DataFrame, *, actual: pd.DataFrame, channels: list[str], target: str) -> None:
        self.actual, self.channels, self.target = actual, channels, target
        super().__init__(frame)

    def totals(self) -> pd.DataFrame:
        """Each component's total over all periods and geos, and its share of the fitted outcome."""
        t = self.table().groupby("component", sort=False)["contribution"].sum().reset_index()
        t["share"] = t["contribution"] / t["contribution"].sum()
        return t

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """Stacked contributions over time (geos summed), with the actual outcome as a line."""
        from ...viz.mmm import plot_decomposition

        return plot_decomposition(self.table(), self.actual, channels=self.channels, ax=ax, **kwargs)


class ResponseCurves(Result):
    """Outcome per period against a steady spend per period, per channel: ``channel, spend, response, lower,
    upper, current``.

    Attributes
    ----------
    current : pandas.Series
        Each channel's mean spend per period over the data.
    alpha : float
    """

    title = "marketing-mix model: response curves"
    keys = ("channel", "spend")

    def __init__(self, frame: pd.DataFrame, *, current: pd.Series, alpha: float) -> None:
        self.current, self.alpha = current, alpha
        super().__init__(frame)

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """One curve per channel with its band; a dot at the current spend."""
        from ...viz.mmm import plot_response_curves

        return plot_response_curves(self.table(), self.current, ax=ax, **kwargs)


class BudgetPlan(Result):
    """A budget allocation: per channel the ``current`` and ``optimal`` spend per period, their bounds, the
    response at each and the marginal ROAS at each.

    Attributes
    ----------
    budget : float
        Total spend per period of the plan.
    gain : float
        Outcome per period of the plan minus that of the current allocation.
    gain_lower, gain_upper : float
        Its ``1 - alpha`` interval (delta method over the model's parameters).
    spend_change : float
        Total spend per period of the plan minus the current total (0 for a fixed budget at the current total;
        a ``target_mroas`` plan may spend more or less).
    net_gain : float
        ``gain - spend_change``: the outcome gained net of the extra spend (meaningful when the outcome is
        revenue).
    mode : str
        ``"budget"`` (a fixed total) or ``"target_mroas"``.
    """

    title = "marketing-mix model: budget plan"
    keys = ("channel",)

    def __init__(self, frame: pd.DataFrame, *, budget: float, gain: float, gain_lower: float, gain_upper: float,
                 mode: str, notes: list[str]) -> None:
        self.budget, self.gain, self.gain_lower, self.gain_upper = budget, gain, gain_lower, gain_upper
        self.spend_change = float(frame["optimal"].sum() - frame["current"].sum())
        self.net_gain = gain - self.spend_change
        self.mode, self._notes_list = mode, notes
        super().__init__(frame)

    def _notes(self) -> list[str]:
        return [*self._notes_list, f"total spend per period {self.budget:,.2f} ({self.spend_change:+,.2f}); outcome "
                f"per period {self.gain:+,.2f} against the current allocation [{self.gain_lower:,.2f}, "
                f"{self.gain_upper:,.2f}], {self.net_gain:+,.2f} net of the spend change"]

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """Current against optimal spend per channel, with the bounds."""
        from ...viz.mmm import plot_budget

        return plot_budget(self.table(), ax=ax, **kwargs)
