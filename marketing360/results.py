"""Result objects: a lazy ibis expression plus what is needed to show it (statsmodels-style).

``to_frame()`` runs the expression once (on the engine the events live on) and
caches the frame; ``_repr_html_`` shows it in a notebook; ``plot()`` draws it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from ibis.expr.types import Table

__all__ = ["Result", "run"]


def run(expr: Table) -> pd.DataFrame:
    """Execute an ibis expression on its own backend and return pandas (through Arrow)."""
    return expr.to_pyarrow().to_pandas()


class Result:
    """Base of lazy analysis results.

    Attributes
    ----------
    expr : ibis Table
        The lazy expression: compose it further, or run it on its engine.
    """

    title = "result"

    def __init__(self, expr: Table, **meta: Any) -> None:
        self.expr = expr
        self.meta = meta
        self._frame: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        """The result as a pandas DataFrame (computed once, then cached)."""
        if self._frame is None:
            self._frame = self._finish(run(self.expr))
        return self._frame.copy()

    def _finish(self, df: pd.DataFrame) -> pd.DataFrame:
        return df

    def summary(self) -> str:
        return f"{self.title}\n{self.to_frame().to_string(index=False)}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.title}>"

    def _repr_html_(self) -> str:
        return f"<b>{self.title}</b>" + self.to_frame().to_html(index=False, max_rows=40, float_format="{:,.4g}".format)
