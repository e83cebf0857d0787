"""Score attributions against a known truth (the simulator's incremental conversions per channel).

Examples
--------
>>> import pandas as pd
>>> from marketing360.attribution import Attribution, score
>>> a = Attribution(pd.DataFrame({"method": "last_touch", "channel": ["a", "b"],
...                               "conversions": [30.0, 10.0], "value": [0.0, 0.0]}))
>>> truth = pd.Series({"a": 10.0, "b": 10.0})
>>> score(a, truth).table()[["method", "abs_error", "relative_error", "share_error"]]
       method  abs_error  relative_error  share_error
0  last_touch       20.0             1.0         0.25
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..results import Result
from .result import Attribution, truth_series

__all__ = ["score", "Score"]


class Score(Result):
    """Each method's error against a truth: ``method, credited, truth, abs_error, relative_error,
    share_error, rank_correlation``, best split (lowest ``share_error``) first.

    Attributes
    ----------
    what : {"conversions", "value"}
    """

    title: ClassVar[str] = "attribution against the truth"

    def __init__(self, frame: pd.DataFrame, *, what: str) -> None:
        super().__init__(frame)
        self.what = what

    def _notes(self) -> list[str]:
        return [f"credited {self.what} per channel against the true amount; best split first"]

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """Share error per method (lower is better); returns the figure."""
        from ..viz.attribution import plot_score

        return plot_score(self.table(), ax=ax, **kwargs)


def score(result: Attribution, truth: Any, *, what: Literal["conversions", "value"] = "conversions") -> Score:
    """Errors of each method's credits against the true amount per channel.

    Parameters
    ----------
    result : Attribution
        One or more methods (e.g. :func:`~marketing360.attribution.compare` of several).
    truth : pandas.Series or DataFrame
        True amount per channel; a simulator's ``truth.shapley`` or
        ``truth.incremental`` frame (``channel, conversions, revenue``) works as is.
    what : {"conversions", "value"}
        Compare credited conversions (with truth ``conversions``) or value (with ``revenue``).

    Returns
    -------
    Score
        Per method, sorted best first by ``share_error``: ``credited`` and
        ``truth`` totals over the truth's channels, ``abs_error`` (sum of
        absolute differences per channel), ``relative_error`` (``abs_error``
        / true total), ``share_error`` (half the sum of absolute differences
        between credited and true shares: 0 = same split, 1 = disjoint) and
        ``rank_correlation`` (Spearman, of channels' amounts); a method that credits nothing has no
        shares, and a NaN share error (sorted last). Channels absent
        from the truth (e.g. ``(baseline)``) are left out; truth channels a
        method did not credit count as 0.
    """
    if not isinstance(result, Attribution):
        raise ParameterError(f"result must be an Attribution; found {type(result).__name__}")
    if what not in ("conversions", "value"):
        raise ParameterError(f"what must be 'conversions' or 'value'; found {what!r}")
    t = truth_series(truth, what)
    tab = result.wide(what).reindex(t.index).fillna(0.0)
    rows = []
    for m in tab.columns:
        c = tab[m].astype(float)
        share = c / c.sum() if c.sum() > 0 else c * np.nan
        rows.append({
            "method": m, "credited": float(c.sum()), "truth": float(t.sum()),
            "abs_error": float((c - t).abs().sum()),
            "relative_error": float((c - t).abs().sum() / t.sum()),
            # undefined (NaN) for a method that credits nothing: pandas would sum its NaN shares to 0, a perfect score
            "share_error": float((share - t / t.sum()).abs().sum() / 2) if c.sum() > 0 else np.nan,
            # Spearman; undefined (NaN) when either side gives every channel the same amount
            "rank_correlation": float(c.rank().corr(t.rank())) if c.nunique() > 1 and t.nunique() > 1 else np.nan,
        })
    return Score(pd.DataFrame(rows).sort_values("share_error", kind="mergesort"), what=what)
