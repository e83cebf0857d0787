"""First look at canonical events: counts by type, by day, by channel.

Relational analyses written once as ibis expressions: they run unchanged on
every engine (DuckDB, Spark) and return lazy results.

Examples
--------
>>> import pandas as pd
>>> ev = pd.DataFrame({
...     "user_id": [1, 1, 2], "ts": ["2025-01-01 10:00", "2025-01-02 09:00", "2025-01-02 11:00"],
...     "event_type": ["impression", "purchase", "purchase"], "value": [None, 10.0, 5.0]})
>>> event_counts(ev).table()["events"].tolist()
[1, 2]
"""

from __future__ import annotations

from typing import Any, ClassVar

import ibis
from ibis.expr.types import Table

from .inputs import as_table
from .results import Result
from .schema import AD_EVENT_TYPES
from .types import TableLike

__all__ = ["channel_summary", "daily_events", "event_counts", "EventCounts", "DailyEvents", "ChannelSummary"]


class EventCounts(Result):
    """Per event type: ``events, users, revenue, mean_rating, cost``."""

    expr: Table  # computed on an engine

    title: ClassVar[str] = "events by type"
    keys = ("event_type",)


class DailyEvents(Result):
    """Events per UTC day and a column: ``date, <by>, events``.

    Attributes
    ----------
    by : str
    """

    expr: Table  # computed on an engine

    title: ClassVar[str] = "events per day"

    def __init__(self, expr: Table, *, by: str) -> None:
        super().__init__(expr)
        self.by = by
        self.keys = ("date", by)

    def plot(self, *, log: bool = True, ax: Any = None, **kwargs: Any) -> Any:
        """One line per value of ``by``; returns the figure."""
        from .viz.overview import plot_daily_events

        return plot_daily_events(self.table(), by=self.by, log=log, ax=ax, **kwargs)


class ChannelSummary(Result):
    """Per ad channel: ``impressions, clicks, cost, ctr, cpm``."""

    expr: Table  # computed on an engine

    title: ClassVar[str] = "ad delivery by channel"
    keys = ("channel",)


def event_counts(events: TableLike) -> EventCounts:
    """Per event type: events, distinct users, purchase revenue, mean review rating and ad cost.

    The ``value`` column means different things for different event types (a
    purchase's value, a review's rating), so it is never summed across types:
    ``revenue`` sums it over purchases and ``mean_rating`` averages it over
    reviews.

    Parameters
    ----------
    events : table
        Canonical events (a frame or a table on any engine).

    Returns
    -------
    EventCounts
        One row per event type, ordered by it: ``events`` and ``users``
        (integers); ``revenue`` (float: the sum of ``value`` on the
        ``purchase`` row, 0.0 when no purchase has a value, null on every other
        row); ``mean_rating`` (float: the mean ``value`` of reviews with a
        rating on the ``review`` row, null elsewhere and when no review has a
        rating); ``cost`` (float: the sum of ``cost``, 0.0 when none).

    Raises
    ------
    SchemaError
        When a needed column is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({
    ...     "user_id": [1, 1, 2, 2], "event_type": ["purchase", "review", "purchase", "review"],
    ...     "ts": ["2025-01-01"] * 4, "value": [100.0, 4.0, 50.0, 5.0]})
    >>> event_counts(ev).table()[["event_type", "revenue", "mean_rating"]].values.tolist()
    [['purchase', 150.0, nan], ['review', nan, 4.5]]
    """
    events = as_table(events, "events", what="event_counts")
    is_purchase = events.event_type == "purchase"
    is_review = events.event_type == "review"
    value = events.value.cast("float64")
    g = events.group_by("event_type").agg(
        events=events.count(),
        users=events.user_id.nunique(),
        _revenue=value.sum(where=is_purchase),
        mean_rating=value.mean(where=is_review),
        cost=events.cost.cast("float64").sum().fill_null(0.0),
    )
    revenue = ibis.ifelse(g.event_type == "purchase", g._revenue.fill_null(0.0), ibis.null("float64"))
    return EventCounts(g.select("event_type", "events", "users", revenue.name("revenue"), "mean_rating", "cost"
                                ).order_by("event_type"))


def daily_events(events: TableLike, *, by: str = "event_type") -> DailyEvents:
    """Events per UTC day and ``by`` column (``date, <by>, events``)."""
    events = as_table(events, "events", need=[by] if by in ("brand", "channel", "campaign") else [],
                      what="daily_events")
    from .inputs import require_columns

    require_columns(events, [by], what="daily_events", table_name="events")
    t = events.mutate(date=events.ts.truncate("D"))
    return DailyEvents(t.group_by(["date", by]).agg(events=t.count()).order_by(["date", by]), by=by)


def channel_summary(events: TableLike) -> ChannelSummary:
    """Per ad channel: impressions, clicks, click-through rate, cost and cost per thousand impressions."""
    events = as_table(events, "events", need=["channel"], what="channel_summary")
    ads = events.filter(events.event_type.isin(list(AD_EVENT_TYPES)) & events.channel.notnull())
    is_imp = (ads.event_type == "impression").cast("int64")
    is_clk = (ads.event_type == "click").cast("int64")
    g = ads.group_by("channel").agg(
        impressions=is_imp.sum(), clicks=is_clk.sum(), cost=ads.cost.sum().fill_null(0.0))
    return ChannelSummary(g.mutate(
        ctr=(g.clicks.cast("float64") / g.impressions.nullif(0)),
        cpm=(g.cost * 1000.0 / g.impressions.nullif(0)),
    ).order_by("channel"))
