"""4A flows: how consumers moved between stages from one date to another.

Examples
--------
>>> import pandas as pd
>>> from marketing360.assets import flows
>>> ev = pd.DataFrame({
...     "user_id": [1, 1, 2], "ts": ["2025-03-01", "2025-03-20", "2025-03-20"], "brand": ["A"] * 3,
...     "event_type": ["impression", "purchase", "browse"]})
>>> f = flows(ev, "2025-03-01", "2025-03-20")
>>> f.table()[["from_stage", "to_stage", "consumers"]].astype(str).values.tolist()
[['new', 'aware', '1'], ['aware', 'act', '1']]
"""

from __future__ import annotations

from typing import Any, ClassVar

import ibis
import pandas as pd
from ibis.expr.types import Table

from .._days import as_day
from ..errors import ParameterError
from ..results import Result
from ..types import TableLike
from .rules import STAGES, StageRules
from .stages import _tz, stage_pairs

__all__ = ["flows", "AssetFlows", "FLOW_FROM", "FLOW_TO"]

#: row labels of a flow matrix: "new" = not in the brand's assets on the first date
FLOW_FROM: tuple[str, ...] = ("new", *STAGES[1:])
#: column labels: "lost" = not in the brand's assets on the second date
FLOW_TO: tuple[str, ...] = (*STAGES[1:], "lost")


class AssetFlows(Result):
    """Stage-to-stage transitions between two dates, per brand: ``brand, from_stage, to_stage, consumers``.

    Attributes
    ----------
    start, end : pandas.Timestamp
        The two snapshot days.
    """

    expr: Table  # computed on an engine

    title: ClassVar[str] = "4A flows"
    keys = ("brand", "from_stage", "to_stage")

    def __init__(self, expr: Table, *, start: pd.Timestamp, end: pd.Timestamp) -> None:
        super().__init__(expr)
        self.start, self.end = start, end

    def _notes(self) -> list[str]:
        return [f"from {self.start.date()} to {self.end.date()}; 'new': not in the brand's assets on the first "
                "day, 'lost': not in them on the second"]

    def _summary_table(self) -> pd.DataFrame:
        return self.net_growth()

    def matrix(self, brand: str | None = None, *, rates: bool = False) -> pd.DataFrame:
        """The transition matrix (rows: from, columns: to) of one brand or all brands summed.

        With ``rates=True`` each row is divided by its total: the share of the
        consumers of a stage on the first date that went to each stage (the
        ``new`` row: shares of the newcomers).
        """
        df = self._computed()
        if brand is not None:
            if brand not in set(df.brand):
                raise ParameterError(f"no flows for brand {brand!r}; brands: {sorted(set(df.brand))}")
            df = df[df.brand == brand]
        m = df.pivot_table(index="from_stage", columns="to_stage", values="consumers", aggfunc="sum",
                           fill_value=0, observed=False).reindex(index=list(FLOW_FROM), columns=list(FLOW_TO),
                                                                 fill_value=0)
        m.index, m.columns = pd.Index(list(FLOW_FROM)), pd.Index(list(FLOW_TO))
        if rates:
            totals = m.sum(axis=1).replace(0, float("nan"))
            m = m.div(totals, axis=0)
        m.index.name, m.columns.name = "from", "to"
        return m

    def net_growth(self) -> pd.DataFrame:
        """Per brand and stage: consumers on each date and the change (in-flows minus out-flows)."""
        df = self._computed().astype({"from_stage": str, "to_stage": str})
        before = df[df.from_stage != "new"].groupby(["brand", "from_stage"]).consumers.sum()
        after = df[df.to_stage != "lost"].groupby(["brand", "to_stage"]).consumers.sum()
        before.index.names = after.index.names = ["brand", "stage"]
        out = pd.concat({"before": before, "after": after}, axis=1).fillna(0).astype("int64")
        out["net_growth"] = out["after"] - out["before"]
        out = out.reset_index()
        out["stage"] = pd.Categorical(out["stage"], list(STAGES[1:]), ordered=True)
        return out.sort_values(["brand", "stage"]).reset_index(drop=True)

    def plot(self, brand: str | None = None, *, rates: bool = True, ax: Any = None, **kwargs: Any) -> Any:
        """Heatmap of the flow matrix (one brand, or all summed); returns the figure."""
        from ..viz.assets import plot_flows

        kwargs.setdefault("unit", "consumers" if brand is not None or self._computed().brand.nunique() == 1
                          else "consumer-brand pairs")
        return plot_flows(self.matrix(brand, rates=False), rates=rates,
                          title=f"4A flows {self.start.date()} → {self.end.date()}"
                          + (f", {brand}" if brand else ""), ax=ax, **kwargs)


def flows(events: TableLike, start: Any, end: Any, *, rules: StageRules | None = None, tz: str = "UTC") -> AssetFlows:
    """Transitions of consumer-brand pairs between the stages of ``start`` and of ``end``.

    Parameters
    ----------
    events : table
        Canonical events, a frame or a table on any engine.
    start, end : date-like
        The two snapshot days (``start`` before ``end``).
    rules : StageRules, optional
        The stage rules.
    tz : str
        Time zone of the calendar days (see :func:`snapshot`).

    Returns
    -------
    AssetFlows
        ``brand, from_stage, to_stage, consumers``: ``from_stage`` is ``new``
        for pairs not at least Aware on ``start``; ``to_stage`` is ``lost``
        for pairs no longer at least Aware on ``end``.
    """
    tz = _tz(tz)
    d0, d1 = as_day(start, "start", tz=tz), as_day(end, "end", tz=tz)
    if d1 <= d0:
        raise ParameterError(f"end ({d1.date()}) must be after start ({d0.date()})")
    j = stage_pairs(events, d0, d1, rules=rules, tz=tz)
    names_from = ibis.cases(*[(j.from_level == i, FLOW_FROM[i]) for i in range(5)])
    names_to = ibis.cases(*[(j.to_level == i, STAGES[i]) for i in range(1, 5)], else_="lost")
    j = j.mutate(from_stage=names_from, to_stage=names_to)
    g = j.group_by(["brand", "from_stage", "to_stage"]).agg(consumers=j.count())
    return AssetFlows(g, start=d0, end=d1)
