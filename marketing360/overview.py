"""First look at canonical events: counts by type, by day, by channel.

Relational analyses written once as ibis expressions: they run unchanged on
every engine (DuckDB, Spark) and return lazy tables.

Examples
--------
>>> import pandas as pd, marketing360 as m3
>>> eng = m3.connect()
>>> ev = eng.table(m3.validate(pd.DataFrame({
...     "user_id": [1, 1, 2], "ts": ["2025-01-01 10:00", "2025-01-02 09:00", "2025-01-02 11:00"],
...     "event_type": ["impression", "purchase", "purchase"], "value": [None, 10.0, 5.0]})))
>>> eng.to_pandas(event_counts(ev))["events"].tolist()
[1, 2]
"""

from __future__ import annotations

from ibis.expr.types import Table

from .errors import SchemaError

__all__ = ["event_counts", "daily_events", "channel_summary"]


def _need(t: Table, cols: list[str], what: str) -> None:
    missing = [c for c in cols if c not in t.columns]
    if missing:
        raise SchemaError(f"{what}: the events table lacks column(s) {missing}; found {list(t.columns)}",
                          table="events", column=missing[0])


def event_counts(events: Table) -> Table:
    """Per event type: number of events, distinct users, total value and cost."""
    _need(events, ["user_id", "event_type", "value", "cost"], "event_counts")
    return events.group_by("event_type").agg(
        events=events.count(),
        users=events.user_id.nunique(),
        value=events.value.sum().fill_null(0.0),
        cost=events.cost.sum().fill_null(0.0),
    ).order_by("event_type")


def daily_events(events: Table, by: str = "event_type") -> Table:
    """Events per UTC day and ``by`` column (``date, <by>, events``)."""
    _need(events, ["ts", by], "daily_events")
    t = events.mutate(date=events.ts.truncate("D"))
    return t.group_by(["date", by]).agg(events=t.count()).order_by(["date", by])


def channel_summary(events: Table) -> Table:
    """Per ad channel: impressions, clicks, click-through rate, cost and cost per thousand impressions."""
    _need(events, ["channel", "event_type", "cost"], "channel_summary")
    ads = events.filter(events.event_type.isin(["impression", "click"]) & events.channel.notnull())
    is_imp = (ads.event_type == "impression").cast("int64")
    is_clk = (ads.event_type == "click").cast("int64")
    g = ads.group_by("channel").agg(
        impressions=is_imp.sum(), clicks=is_clk.sum(), cost=ads.cost.sum().fill_null(0.0))
    return g.mutate(
        ctr=(g.clicks.cast("float64") / g.impressions.nullif(0)),
        cpm=(g.cost * 1000.0 / g.impressions.nullif(0)),
    ).order_by("channel")
