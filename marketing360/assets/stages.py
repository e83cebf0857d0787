"""4A stages: the stage of every consumer-brand pair on a date (``snapshot``) or on many dates
(``snapshots``), written once as ibis expressions that run unchanged on DuckDB and Spark.

``snapshot`` reads the events once. ``snapshots`` reads them once too: it first
folds them into one row per consumer, brand and active day (the count of each
rule's qualifying events), then evaluates every date on that much smaller table,
so a series of dates costs no rescan of the events.

Examples
--------
>>> import pandas as pd, marketing360 as m3
>>> from marketing360.assets import snapshot
>>> eng = m3.connect()
>>> ev = eng.table(m3.validate(pd.DataFrame({
...     "user_id": [1, 1, 2, 2],
...     "ts": ["2025-03-01 09:00", "2025-03-03 20:00", "2025-03-02 10:00", "2025-03-02 10:05"],
...     "brand": ["Acme", "Acme", "Acme", "Acme"],
...     "event_type": ["browse", "browse", "impression", "purchase"]})))
>>> eng.to_pandas(snapshot(ev, "2025-03-03"))[["user_id", "stage"]].to_dict("list")
{'user_id': [1, 2], 'stage': ['appeal', 'act']}
"""

from __future__ import annotations

from typing import Any, Sequence

import ibis
import pandas as pd
from ibis.expr.types import Table

from ..errors import ParameterError, SchemaError
from .rules import STAGES, StageRules

__all__ = ["snapshot", "snapshots"]

_NEEDED = ("user_id", "ts", "brand", "event_type", "value")


def _day(date: Any) -> pd.Timestamp:
    try:
        d = pd.Timestamp(date)
    except (ValueError, TypeError):
        raise ParameterError(f"date must be a date; found {date!r}") from None
    if d.tzinfo is not None:
        d = d.tz_convert("UTC").tz_localize(None)
    return d.normalize()


def _check(events: Table) -> None:
    missing = [c for c in _NEEDED if c not in events.columns]
    if missing:
        raise SchemaError(f"snapshot: the events table lacks column(s) {missing}; found "
                          f"{list(events.columns)}", table="events", column=missing[0])
    if not events.ts.type().is_timestamp():
        raise SchemaError(f"snapshot: events.ts must be a timestamp; found {events.ts.type()} "
                          "(run marketing360.validate first)", table="events", column="ts")


def _rules(rules: StageRules | None) -> StageRules:
    rules = rules or StageRules()
    if not isinstance(rules, StageRules):
        raise ParameterError(f"rules must be a StageRules; found {type(rules).__name__}")
    return rules


def _criteria(rules: StageRules) -> list[tuple[Any, Any, str]]:
    """(rule, criterion, column name) for every criterion of every stage."""
    return [(rule, crit, f"_{rule.stage}_{i}") for rule in rules.rules for i, crit in enumerate(rule.criteria)]


def _matches(ev: Table, crit: Any) -> Any:
    cond = ev.event_type.isin(list(crit.event_types))
    if crit.min_value is not None:
        cond = cond & (ev.value >= crit.min_value)
    return cond


def _with_level(g: Table, rules: StageRules, keys: list[str]) -> Table:
    """From per-criterion counts to the stage: the highest stage with a criterion met."""
    def holds(rule: Any) -> Any:
        out = None
        for r, crit, name in _criteria(rules):
            if r is rule:
                c = g[name] >= crit.min_count
                out = c if out is None else out | c
        return out

    level = ibis.cases(
        (holds(rules.advocate), 4), (holds(rules.act), 3), (holds(rules.appeal), 2),
        (holds(rules.aware), 1), else_=0,
    ).cast("int8")
    out = g.select(*keys, level=level)
    names = ibis.cases(*[(out.level == i, STAGES[i]) for i in range(1, 5)], else_=STAGES[0])
    return out.filter(out.level > 0).mutate(stage=names)


def snapshot(events: Table, date: Any, rules: StageRules | None = None) -> Table:
    """The 4A stage of every consumer-brand pair that is at least Aware at the end of ``date``.

    Parameters
    ----------
    events : ibis Table
        Canonical events (``user_id, ts, brand, event_type, value``) on any engine;
        ``ts`` in UTC, days are UTC days.
    date : date-like
        The snapshot day: its events count, later ones do not. A rule with a
        window of ``w`` days looks at the days ``date - w + 1`` to ``date``.
    rules : StageRules, optional
        The stage rules (JD's definitions by default).

    Returns
    -------
    ibis Table
        ``user_id, brand, level, stage``: ``level`` 1 to 4 (aware to advocate),
        the highest stage whose rule holds. Pairs with no qualifying
        behaviour (unaware) are not listed; events without a brand are ignored.
    """
    _check(events)
    rules = _rules(rules)
    d = _day(date)
    end = ibis.literal(d + pd.Timedelta(days=1), type="timestamp")

    def since(window: int) -> Any:
        return ibis.literal(d - pd.Timedelta(days=window - 1), type="timestamp")

    ev = events.filter((events.ts >= since(rules.max_window)) & (events.ts < end) & events.brand.notnull())
    ev = ev.mutate(_day=ev.ts.date())
    aggs = {}
    for rule, crit, name in _criteria(rules):
        cond = _matches(ev, crit) & (ev.ts >= since(rule.window))
        aggs[name] = ev._day.nunique(where=cond) if crit.count == "days" else ev.count(where=cond)
    g = ev.group_by(["user_id", "brand"]).agg(**aggs)
    return _with_level(g, rules, ["user_id", "brand"]).order_by(["user_id", "brand"])


def snapshots(events: Table, dates: Sequence[Any] | pd.DatetimeIndex, rules: StageRules | None = None
              ) -> Table:
    """The 4A stage of every pair on each of ``dates``: ``snapshot`` for many days in one pass.

    Parameters
    ----------
    events : ibis Table
        Canonical events on any engine.
    dates : sequence of date-like
        Snapshot days, e.g. ``pd.date_range("2025-01-07", "2025-03-31", freq="7D")``.
    rules : StageRules, optional
        The stage rules.

    Returns
    -------
    ibis Table
        ``date, user_id, brand, level, stage`` for the pairs at least Aware on each date;
        for every date, the same rows as ``snapshot(events, date, rules)``.
    """
    _check(events)
    rules = _rules(rules)
    days = sorted({_day(d) for d in dates})
    if not days:
        raise ParameterError("dates must name at least one day")
    first, last = days[0], days[-1]
    lo = ibis.literal(first - pd.Timedelta(days=rules.max_window - 1), type="timestamp")
    hi = ibis.literal(last + pd.Timedelta(days=1), type="timestamp")
    ev = events.filter((events.ts >= lo) & (events.ts < hi) & events.brand.notnull())
    ev = ev.mutate(_day=ev.ts.date())
    crits = _criteria(rules)
    daily = ev.group_by(["user_id", "brand", "_day"]).agg(
        **{name: ev.count(where=_matches(ev, crit)) for _, crit, name in crits})
    # one row per date, with the first day of each stage's window: no date arithmetic in the engine
    cal = pd.DataFrame({"date": [d.date() for d in days]})
    for rule in rules.rules:
        cal[f"_from_{rule.stage}"] = [(d - pd.Timedelta(days=rule.window - 1)).date() for d in days]
    calendar = ibis.memtable(cal)
    j = daily.join(calendar, (daily._day <= calendar.date)
                   & (daily._day >= calendar[f"_from_{max(rules.rules, key=lambda r: r.window).stage}"]))
    aggs = {}
    for rule, crit, name in crits:
        inside = j._day >= j[f"_from_{rule.stage}"]
        if crit.count == "days":
            aggs[name] = (inside & (j[name] > 0)).cast("int64").sum()
        else:
            aggs[name] = ibis.ifelse(inside, j[name], 0).sum()
    g = j.group_by(["date", "user_id", "brand"]).agg(**aggs)
    return _with_level(g, rules, ["date", "user_id", "brand"]).order_by(["date", "user_id", "brand"])
