"""Evolve: a brand's consumer assets against its category, and where it loses consumers.

One page per brand: the 4A volumes and penetration among the category's
shoppers against the category benchmark (the mean over its brands), how each
stage moved over the period (the share that moved up, and the share lost),
the bottleneck (the stage whose move-up rate trails the category most), the
growth decomposition (assets retained, new, lost; net growth) and, on
request, the critical nodes of the brand's shopping paths.

Examples
--------
>>> from marketing360.datasets import simulate
>>> w = simulate(n_users=1500, n_days=60, seed=4, truth="none")
>>> d = diagnose(w.events, "Acme", date="2025-03-01", brands=w.brands)
>>> d.bottleneck in ("aware", "appeal", "act")
True
>>> sorted(d.growth)
['end', 'lost', 'net', 'new', 'retained', 'start']
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._days import as_day
from ..assets import flows, penetration, shoppers, snapshot
from ..assets.rules import STAGES, StageRules
from ..engine import fetch
from ..errors import ParameterError
from ..inputs import as_table
from ..results import Result, Summary
from ..types import TableLike

__all__ = ["diagnose", "Diagnosis"]

#: the stages a consumer can move up from (advocate is the top)
_MOVABLE = ("aware", "appeal", "act")


class Diagnosis(Result):
    """A brand against its category, one row per 4A stage: ``stage, consumers``, ``penetration`` and
    ``category_penetration`` (share of the category's shoppers; the category's value is the mean over its
    brands) with ``penetration_index`` (brand / category); over the period, ``up_rate`` (share of the
    stage's consumers at the start who were in a higher stage at the end), ``lost_rate`` (no longer in the
    brand's assets) and their category means and ``up_index``.

    Attributes
    ----------
    brand, category : str
    start, end : pandas.Timestamp
    bottleneck : str
        The stage whose ``up_index`` is lowest: where the brand loses most against its category.
    growth : dict
        ``start`` and ``end`` assets (consumers in any stage), ``retained``, ``new``, ``lost``, ``net``.
    flows : AssetFlows
        The period's transitions, every brand of the category.
    critical : CriticalNodes or None
        The critical nodes of the brand's shopping paths over the period (``paths=True``).
    """

    title: ClassVar[str] = "brand diagnosis"
    keys = ("stage",)

    def __init__(self, frame: pd.DataFrame, *, brand: str, category: str, start: pd.Timestamp, end: pd.Timestamp,
                 bottleneck: str, growth: dict[str, int], flows: Any, critical: Any) -> None:
        super().__init__(frame)
        self.brand, self.category, self.start, self.end = brand, category, start, end
        self.bottleneck, self.growth, self.flows, self.critical = bottleneck, growth, flows, critical

    def _notes(self) -> list[str]:
        g = self.growth
        nxt = STAGES[STAGES.index(self.bottleneck) + 1]
        row = self.table().set_index("stage").loc[self.bottleneck]
        notes = [f"{self.brand} in {self.category}, {self.start.date()} .. {self.end.date()}",
                 f"assets {g['start']:,} -> {g['end']:,}: retained {g['retained']:,}, new {g['new']:,}, lost "
                 f"{g['lost']:,} (net {g['net']:+,})",
                 f"bottleneck: {self.bottleneck} -> {nxt} ({row.up_rate:.1%} moved up, category "
                 f"{row.category_up_rate:.1%})"]
        if self.critical is not None and len(self.critical):
            top = self.critical.table().iloc[0]
            notes.append(f"most critical path node: {top.node} (removal effect {top.removal_effect:.3f})")
        return notes

    def summary(self) -> Summary:
        return Summary(self.title, notes=self._notes(), tables=[("stages", self.table())])

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """Penetration and move-up rates of the brand against its category, the bottleneck marked."""
        from ..viz.playbook import plot_diagnosis

        return plot_diagnosis(self, ax=ax, **kwargs)


def diagnose(events: TableLike, brand: str, *, date: Any, period: int = 30, brands: TableLike | None = None,
             rules: StageRules | None = None, tz: str = "UTC", paths: bool = False) -> Diagnosis:
    """Diagnose a brand's consumer assets against its category over the ``period`` days up to ``date``.

    Parameters
    ----------
    events : table
        Canonical events on any engine.
    brand : str
        The brand diagnosed.
    date : date-like
        The last day of the period (the snapshot the volumes are taken on).
    period : int
        Days from the first snapshot (``date - period``) to ``date``.
    brands : table, optional
        ``brand, category``: the brand's category and its peers. By default every brand of the events is one
        category (``"all"``).
    rules : StageRules, optional
        The 4A stage rules.
    tz : str
        Time zone of the calendar days.
    paths : bool
        Also rank the critical nodes of the brand's shopping paths (sessions of its events in the period).

    Returns
    -------
    Diagnosis

    Raises
    ------
    ParameterError
        A brand without events (or outside ``brands``), a period that is not a whole number >= 1.
    """
    if isinstance(period, bool) or not isinstance(period, (int, np.integer)) or period < 1:
        raise ParameterError(f"period must be a whole number of days >= 1; found {period!r}")
    ev = as_table(events, "events", need=["brand"], what="diagnose")
    end = as_day(date, "date")
    start = end - pd.Timedelta(days=int(period))
    first = fetch(ev.ts.min())
    if first is not None and pd.Timestamp(first).tz_localize(None).normalize() > start:
        raise ParameterError(f"the period starts on {start.date()}, before the first event "
                             f"({pd.Timestamp(first).date()}): everyone would look new; choose a shorter period "
                             "or a later date")
    known = set(fetch(ev.select("brand").distinct(), "pandas").brand.dropna())
    if brand not in known:
        raise ParameterError(f"brand {brand!r} has no events; brands are {sorted(known)[:20]}")
    if brands is None:
        cat_table = pd.DataFrame({"brand": sorted(known), "category": "all"})
    else:
        cat_table = fetch(_brands(brands), "pandas")
    if brand not in set(cat_table.brand):
        raise ParameterError(f"brand {brand!r} is not in the brands table")
    category = str(cat_table.set_index("brand").category[brand])
    peers = sorted(cat_table.brand[cat_table.category == category])
    ev_cat = ev.filter(ev.brand.isin(peers))
    snap = snapshot(ev_cat, end, rules=rules, tz=tz)
    pen = penetration(snap, shoppers(ev_cat.filter(ev_cat.ts < end + pd.Timedelta(days=1))),
                      brands=cat_table.assign(category=cat_table.category.astype(str))).table()
    pen = pen[pen.brand == brand].set_index("stage")
    fl = flows(ev_cat, start, end, rules=rules, tz=tz)
    moves = _moves(fl, peers)
    mine, cat = moves.loc[brand], moves.groupby(level="stage").mean()
    rows = []
    for s in STAGES[1:]:
        p = pen.loc[s] if s in pen.index else None
        rows.append({"stage": s, "consumers": int(p.consumers) if p is not None else 0,
                     "penetration": float(p.penetration) if p is not None else 0.0,
                     "category_penetration": float(p.category_penetration) if p is not None else np.nan,
                     "up_rate": mine.up_rate.get(s, np.nan), "category_up_rate": cat.up_rate.get(s, np.nan),
                     "lost_rate": mine.lost_rate.get(s, np.nan), "category_lost_rate": cat.lost_rate.get(s, np.nan)})
    frame = pd.DataFrame(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["penetration_index"] = frame.penetration / frame.category_penetration
        frame["up_index"] = frame.up_rate / frame.category_up_rate
    movable = frame[frame.stage.isin(_MOVABLE) & frame.up_index.notna()]
    if movable.empty:
        raise ParameterError(f"brand {brand!r} has no consumers in aware, appeal or act on {start.date()}: "
                             "no move-up rate to diagnose (choose a later date or a longer period)")
    bottleneck = str(movable.sort_values("up_index", kind="mergesort").stage.iloc[0])
    m = fl.matrix(brand)
    total_start = int(m.drop(index="new").to_numpy().sum())
    lost = int(m["lost"].drop(index="new").sum())
    new = int(m.loc["new"].drop("lost").sum())
    growth = {"start": total_start, "end": int(m.drop(columns="lost").to_numpy().sum()), "retained": total_start - lost,
              "new": new, "lost": lost, "net": new - lost}
    critical = None
    if paths:
        from ..paths import critical_nodes, sessions

        mine_ev = ev.filter((ev.brand == brand) & (ev.ts >= start) & (ev.ts < end + pd.Timedelta(days=1)))
        critical = critical_nodes(sessions(mine_ev))
    return Diagnosis(frame, brand=brand, category=category, start=start, end=end, bottleneck=bottleneck,
                     growth=growth, flows=fl, critical=critical)


def _brands(brands: TableLike) -> Any:
    from ..inputs import open_table, require_columns

    t = open_table(brands, what="diagnose brands")
    require_columns(t, ["brand", "category"], what="diagnose", table_name="brands")
    return t.select("brand", "category")


def _moves(fl: Any, peers: list[str]) -> pd.DataFrame:
    """Per brand and starting stage: the share that moved up and the share lost over the period (the rows of
    the flows' rate matrix)."""
    rows = []
    present = set(fl.table().brand)
    for b in peers:
        if b not in present:
            continue
        m = fl.matrix(b, rates=True)
        for s in _MOVABLE + ("advocate",):
            row = m.loc[s]
            if row.isna().all():  # nobody in the stage at the start
                continue
            higher = list(STAGES[STAGES.index(s) + 1:])
            rows.append({"brand": b, "stage": s, "up_rate": float(row[higher].sum()) if higher else np.nan,
                         "lost_rate": float(row["lost"])})
    return pd.DataFrame(rows, columns=["brand", "stage", "up_rate", "lost_rate"]).set_index(["brand", "stage"])
