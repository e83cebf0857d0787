"""4A snapshots: the stage of every consumer-brand pair on a date, in one scan of the events.

Written once as an ibis expression, so it runs unchanged on DuckDB and Spark.

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

from typing import Any

import ibis
import pandas as pd
from ibis.expr.types import Table

from ..errors import ParameterError, SchemaError
from .rules import STAGES, StageRules

__all__ = ["snapshot"]

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
    rules = rules or StageRules()
    if not isinstance(rules, StageRules):
        raise ParameterError(f"rules must be a StageRules; found {type(rules).__name__}")
    d = _day(date)
    end = ibis.literal(d + pd.Timedelta(days=1), type="timestamp")

    def since(window: int) -> Any:
        return ibis.literal(d - pd.Timedelta(days=window - 1), type="timestamp")

    ev = events.filter((events.ts >= since(rules.max_window)) & (events.ts < end) & events.brand.notnull())
    ev = ev.mutate(_day=ev.ts.date())
    aggs: dict[str, Any] = {}
    holds: dict[str, Any] = {}
    for rule in rules.rules:
        conds = []
        for i, crit in enumerate(rule.criteria):
            cond = ev.event_type.isin(list(crit.event_types)) & (ev.ts >= since(rule.window))
            if crit.min_value is not None:
                cond = cond & (ev.value >= crit.min_value)
            name = f"_{rule.stage}_{i}"
            aggs[name] = ev._day.nunique(where=cond) if crit.count == "days" else ev.count(where=cond)
            conds.append((name, crit.min_count))
        holds[rule.stage] = conds
    g = ev.group_by(["user_id", "brand"]).agg(**aggs)

    def rule_holds(stage: str) -> Any:
        out = None
        for name, k in holds[stage]:
            c = g[name] >= k
            out = c if out is None else out | c
        return out

    level = ibis.cases(
        (rule_holds("advocate"), 4), (rule_holds("act"), 3), (rule_holds("appeal"), 2),
        (rule_holds("aware"), 1), else_=0,
    ).cast("int8")
    out = g.select("user_id", "brand", level=level)
    names = ibis.cases(*[(out.level == i, STAGES[i]) for i in range(1, 5)], else_=STAGES[0])
    return out.filter(out.level > 0).mutate(stage=names).order_by(["user_id", "brand"])
