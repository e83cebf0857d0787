"""4A stages: the stage of every consumer-brand pair on a date (``snapshot``) or on many dates
(``snapshots``), written once as ibis expressions that run unchanged on DuckDB and Spark.

Both read the events once: they first fold them into one row per consumer,
brand and active day (the count of each rule's qualifying events), then
evaluate the date (or every date of a series) on that much smaller table, so
a series costs no rescan of the events and no COUNT(DISTINCT) is needed.

Examples
--------
>>> import pandas as pd
>>> from marketing360.assets import snapshot
>>> ev = pd.DataFrame({
...     "user_id": [1, 1, 2, 2],
...     "ts": ["2025-03-01 09:00", "2025-03-03 20:00", "2025-03-02 10:00", "2025-03-02 10:05"],
...     "brand": ["Acme", "Acme", "Acme", "Acme"],
...     "event_type": ["browse", "browse", "impression", "purchase"]})
>>> snapshot(ev, "2025-03-03").table()[["user_id", "stage"]].astype(str).to_dict("list")
{'user_id': ['1', '2'], 'stage': ['appeal', 'act']}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import ibis
import numpy as np
import pandas as pd
from ibis.expr.types import Table

from .._days import as_day
from ..errors import ParameterError, SchemaError
from ..inputs import as_table_with_counts
from ..results import Result
from ..types import TableLike
from .rules import STAGES, StageRules

__all__ = ["snapshot", "snapshots", "stage_pairs", "Stages"]


class Stages(Result):
    """The 4A stage of consumer-brand pairs: ``[date,] user_id, brand, level, stage``.

    ``level`` is 1 to 4 (aware to advocate), ``stage`` its name (an ordered
    categorical); unaware pairs are not listed. Compose further with
    :func:`~marketing360.assets.volumes`, :func:`~marketing360.assets.penetration`
    or on the engine through :attr:`expr`.

    Attributes
    ----------
    dates : list of pandas.Timestamp
        The snapshot day(s).
    rules : StageRules
    tz : str
    """

    expr: Table  # computed on an engine

    title: ClassVar[str] = "4A stages"

    def __init__(self, expr: Table, *, dates: Sequence[pd.Timestamp], rules: StageRules, tz: str) -> None:
        super().__init__(expr)
        self.dates = list(dates)
        self.rules = rules
        self.tz = tz
        self.keys = ("date", "user_id", "brand") if len(self.dates) > 1 or "date" in expr.columns else \
            ("user_id", "brand")

    def _notes(self) -> list[str]:
        days = (str(self.dates[0].date()) if len(self.dates) == 1 else
                f"{len(self.dates)} days from {self.dates[0].date()} to {self.dates[-1].date()}")
        return [f"on {days} (calendar days in {self.tz})",
                "windows: " + ", ".join(f"{r.stage} {r.window} days" for r in self.rules.rules)]

    def _summary_table(self) -> pd.DataFrame:
        df = self._computed()
        keys = [c for c in ("date",) if c in df.columns]
        return df.groupby([*keys, "stage"], observed=True).size().rename("pairs").reset_index()

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """Stacked pairs per stage (over time for a series), through :func:`~marketing360.assets.volumes`."""
        from .volumes import volumes

        return volumes(self).plot(ax=ax, **kwargs)


def _events(events: TableLike, what: str) -> Table:
    ev, counts = as_table_with_counts(events, "events", need=["brand"], what=what)
    if counts["_rows"] and not counts["brand"]:
        raise SchemaError(f"{what}: no event has a brand; 4A stages are per consumer and brand "
                          "(fill the brand column)", table="events", column="brand")
    return ev


def _local_events(events: Table, tz: str, lo: pd.Timestamp, hi: pd.Timestamp) -> Table:
    """Events with a brand whose local time (column ``_lts``) lies in ``[lo, hi)``.

    ``ts`` is UTC; ``tz`` names the time zone whose calendar days the rules count in.
    The UTC offset is applied piecewise between the zone's transitions (found at
    15-minute resolution, where every real-world transition falls), so daylight
    saving time is exact and no engine-specific time-zone function is needed.
    """
    if tz == "UTC":
        ev = events.filter((events.ts >= ibis.literal(lo, type="timestamp"))
                           & (events.ts < ibis.literal(hi, type="timestamp")) & events.brand.notnull())
        return ev.mutate(_lts=ev.ts)
    try:
        grid = pd.date_range(lo - pd.Timedelta(days=2), hi + pd.Timedelta(days=2), freq="15min", tz="UTC")
        local = grid.tz_convert(tz)
    except Exception:
        raise ParameterError(f"tz must be an IANA time zone such as 'Asia/Shanghai'; found {tz!r}") from None
    offset = (local.tz_localize(None) - grid.tz_localize(None)).total_seconds().astype("int64")
    change = np.flatnonzero(np.diff(offset)) + 1
    utc = grid.tz_localize(None)
    ev = events.filter((events.ts >= ibis.literal(utc[0], type="timestamp"))
                       & (events.ts < ibis.literal(utc[-1], type="timestamp")) & events.brand.notnull())
    if len(change) == 0:
        seconds: Any = ibis.literal(int(offset[0]), type="int64")
    else:
        branches = [(ev.ts < ibis.literal(utc[i], type="timestamp"), int(offset[i - 1])) for i in change]
        seconds = ibis.cases(*branches, else_=int(offset[-1]))
    ev = ev.mutate(_lts=ev.ts + seconds.as_interval("s"))
    return ev.filter((ev._lts >= ibis.literal(lo, type="timestamp")) & (ev._lts < ibis.literal(hi, type="timestamp")))


def scoring_days(dates: Any, tz: str) -> list[pd.Timestamp]:
    """The distinct days of a sequence of date-likes, sorted; at least one."""
    if isinstance(dates, (str, pd.Timestamp)) or not hasattr(dates, "__iter__"):
        raise ParameterError(f"dates must be a sequence of dates (e.g. pd.date_range(...)); found {dates!r}")
    days = sorted({as_day(d, "date", tz=tz) for d in dates})
    if not days:
        raise ParameterError("dates must name at least one day")
    return days


def _tz(tz: Any) -> str:
    if not isinstance(tz, str):
        raise ParameterError(f"tz must be an IANA time zone name such as 'Asia/Shanghai'; found {tz!r}")
    try:
        pd.Timestamp("2025-01-01", tz=tz)
    except Exception:
        raise ParameterError(f"tz must be an IANA time zone such as 'Asia/Shanghai'; found {tz!r}") from None
    return tz


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


def _daily(events: Table, rules: StageRules, first: pd.Timestamp, last: pd.Timestamp, tz: str) -> Table:
    """One row per consumer, brand and active (local) day, with each criterion's event count.

    Counting distinct days afterwards is a sum over these rows: no COUNT(DISTINCT), which is
    what makes a snapshot of 100M events fast and lean.
    """
    ev = _local_events(events, tz, first - pd.Timedelta(days=rules.max_window - 1), last + pd.Timedelta(days=1))
    ev = ev.mutate(_day=ev._lts.date())
    return ev.group_by(["user_id", "brand", "_day"]).agg(
        **{name: ev.count(where=_matches(ev, crit)) for _, crit, name in _criteria(rules)})


def _window_counts(t: Table, rules: StageRules, start: dict[str, Any], *, end: Any = None,
                   suffix: str = "") -> dict[str, Any]:
    """Per criterion: qualifying days (or events) of ``t`` from ``start[stage]`` (to ``end``) on."""
    aggs = {}
    for rule, crit, name in _criteria(rules):
        inside = t._day >= start[rule.stage]
        if end is not None:
            inside = inside & (t._day <= end)
        if crit.count == "days":
            aggs[name + suffix] = (inside & (t[name] > 0)).cast("int64").sum()
        else:
            aggs[name + suffix] = ibis.ifelse(inside, t[name], 0).sum()
    return aggs


def _level(g: Table, rules: StageRules, suffix: str = "") -> Any:
    """The stage level (0 to 4) from per-criterion counts: the highest stage with a criterion met."""
    def holds(rule: Any) -> Any:
        out = None
        for r, crit, name in _criteria(rules):
            if r is rule:
                c = g[name + suffix] >= crit.min_count
                out = c if out is None else out | c
        return out

    return ibis.cases(
        (holds(rules.advocate), 4), (holds(rules.act), 3), (holds(rules.appeal), 2),
        (holds(rules.aware), 1), else_=0,
    ).cast("int8")


def _window_starts(rules: StageRules, d: pd.Timestamp) -> dict[str, Any]:
    return {rule.stage: ibis.literal((d - pd.Timedelta(days=rule.window - 1)).date()) for rule in rules.rules}


def _with_level(g: Table, rules: StageRules, keys: list[str]) -> Table:
    out = g.select(*keys, level=_level(g, rules))
    names = ibis.cases(*[(out.level == i, STAGES[i]) for i in range(1, 5)], else_=STAGES[0])
    return out.filter(out.level > 0).mutate(stage=names)


def stage_pairs(events: TableLike, start: Any, end: Any, *, rules: StageRules | None = None, tz: str = "UTC") -> Table:
    """Each pair's stage level on two dates (``from_level``, ``to_level``; 0 = unaware), in one aggregation.

    Pairs unaware on both dates are left out. This is what :func:`~marketing360.assets.flows`
    counts; it needs no join, so it stays cheap on Spark.
    """
    events = _events(events, "flows")
    rules = _rules(rules)
    tz = _tz(tz)
    d0, d1 = as_day(start, "start", tz=tz), as_day(end, "end", tz=tz)
    daily = _daily(events, rules, d0, d1, tz)
    aggs = {**_window_counts(daily, rules, _window_starts(rules, d0), end=ibis.literal(d0.date()), suffix="_0"),
            **_window_counts(daily, rules, _window_starts(rules, d1), suffix="_1")}
    g = daily.group_by(["user_id", "brand"]).agg(**aggs)
    out = g.select("user_id", "brand", from_level=_level(g, rules, "_0"), to_level=_level(g, rules, "_1"))
    return out.filter((out.from_level > 0) | (out.to_level > 0))


def snapshot(events: TableLike, date: Any, *, rules: StageRules | None = None, tz: str = "UTC") -> Stages:
    """The 4A stage of every consumer-brand pair that is at least Aware at the end of ``date``.

    Parameters
    ----------
    events : table
        Canonical events (``user_id, ts, brand, event_type, value``): a frame
        or a table on any engine (see :func:`~marketing360.inputs.as_table`);
        ``ts`` in UTC.
    date : date-like
        The snapshot day: its events count, later ones do not. A rule with a
        window of ``w`` days looks at the days ``date - w + 1`` to ``date``. A
        timestamp with an offset names the day it falls on in ``tz``.
    rules : StageRules, optional
        The stage rules (JD's definitions by default).
    tz : str
        Time zone whose calendar days the windows count (``ts`` stays UTC):
        ``"Asia/Shanghai"`` makes a browse at 07:00 local on 1 March count on
        1 March, not on 28 February (UTC). Daylight saving is handled exactly.

    Returns
    -------
    Stages
        ``user_id, brand, level, stage``: ``level`` 1 to 4 (aware to advocate),
        the highest stage whose rule holds. Pairs with no qualifying
        behaviour (unaware) are not listed; events without a brand are ignored.
    """
    events = _events(events, "snapshot")
    rules = _rules(rules)
    tz = _tz(tz)
    d = as_day(date, "date", tz=tz)
    daily = _daily(events, rules, d, d, tz)
    g = daily.group_by(["user_id", "brand"]).agg(**_window_counts(daily, rules, _window_starts(rules, d)))
    return Stages(_with_level(g, rules, ["user_id", "brand"]).order_by(["user_id", "brand"]), dates=[d],
                  rules=rules, tz=tz)


def snapshots(events: TableLike, dates: Sequence[Any] | pd.DatetimeIndex, *, rules: StageRules | None = None,
              tz: str = "UTC") -> Stages:
    """The 4A stage of every pair on each of ``dates``: ``snapshot`` for many days in one pass.

    Parameters
    ----------
    events : table
        Canonical events, a frame or a table on any engine.
    dates : sequence of date-like
        Snapshot days, e.g. ``pd.date_range("2025-01-07", "2025-03-31", freq="7D")``.
    rules : StageRules, optional
        The stage rules.
    tz : str
        Time zone of the calendar days (see :func:`snapshot`).

    Returns
    -------
    Stages
        ``date, user_id, brand, level, stage`` for the pairs at least Aware on each date;
        for every date, the same rows as ``snapshot(events, date, rules=rules)``.
    """
    events = _events(events, "snapshots")
    rules = _rules(rules)
    tz = _tz(tz)
    days = scoring_days(dates, tz)
    first, last = days[0], days[-1]
    daily = _daily(events, rules, first, last, tz)
    # one row per date, with the first day of each stage's window: no date arithmetic in the engine
    cal = pd.DataFrame({"date": [d.date() for d in days]})
    for rule in rules.rules:
        cal[f"_from_{rule.stage}"] = [(d - pd.Timedelta(days=rule.window - 1)).date() for d in days]
    calendar = ibis.memtable(cal)
    widest = max(rules.rules, key=lambda r: r.window).stage
    j = daily.join(calendar, (daily._day <= calendar.date) & (daily._day >= calendar[f"_from_{widest}"]))
    aggs = _window_counts(j, rules, {rule.stage: j[f"_from_{rule.stage}"] for rule in rules.rules})
    g = j.group_by(["date", "user_id", "brand"]).agg(**aggs)
    out = _with_level(g, rules, ["date", "user_id", "brand"]).order_by(["date", "user_id", "brand"])
    return Stages(out, dates=days, rules=rules, tz=tz)
