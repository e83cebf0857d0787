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

import ibis
from ibis.expr.types import Table

from .errors import SchemaError

__all__ = ["channel_summary", "daily_events", "event_counts"]


def _need(t: Table, cols: list[str], what: str) -> None:
    missing = [c for c in cols if c not in t.columns]
    if missing:
        raise SchemaError(f"{what}: the events table lacks column(s) {missing}; found {list(t.columns)}",
                          table="events", column=missing[0])


def event_counts(events: Table) -> Table:
    """Per event type: events, distinct users, purchase revenue, mean review rating and ad cost.

    The ``value`` column means different things for different event types (a
    purchase's value, a review's rating), so it is never summed across types:
    ``revenue`` sums it over purchases and ``mean_rating`` averages it over
    reviews.

    Parameters
    ----------
    events : ibis Table
        Canonical events with ``user_id``, ``event_type``, ``value`` and ``cost``.

    Returns
    -------
    ibis Table
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
    >>> import pandas as pd, marketing360 as m3
    >>> eng = m3.connect()
    >>> ev = eng.table(m3.validate(pd.DataFrame({
    ...     "user_id": [1, 1, 2, 2], "event_type": ["purchase", "review", "purchase", "review"],
    ...     "ts": ["2025-01-01"] * 4, "value": [100.0, 4.0, 50.0, 5.0]})))
    >>> eng.to_pandas(event_counts(ev))[["event_type", "revenue", "mean_rating"]].values.tolist()
    [['purchase', 150.0, nan], ['review', nan, 4.5]]
    """
    _need(events, ["user_id", "event_type", "value", "cost"], "event_counts")
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
    return g.select("event_type", "events", "users", revenue.name("revenue"), "mean_rating", "cost"
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
