"""Sessions and their paths: each consumer's events cut at inactivity gaps, one path of steps per session.

A session is a run of one consumer's events (per brand, by default) in time
order in which no two consecutive events are more than ``gap_minutes`` apart;
an event exactly ``gap_minutes`` after the previous one stays in its session.
With ``by_day=True`` a session also ends at midnight (UTC), as in Google
Analytics; with ``gap_minutes=None`` (and no day split) a consumer's whole
history is one session: the journey.

Each event becomes a step labelled by its ``level`` (the event type, the
channel, the brand, the campaign, or any column of the events), optionally
renamed by a ``mapping``; the session's path joins the steps in time order with
``" > "`` (events at the same instant in funnel order of their type, then by
label). Events without a label are left out of the path but not of the
session. ``collapse_repeats`` merges consecutive equal steps; ``start_at`` /
``end_at`` cut every session's path at the first event of a type (what happens
after a first visit, before a purchase), and drop the sessions without one.

Everything runs on the engine the events live on: one sort, steps collected as small integers. The DuckDB
engine computes what :func:`~marketing360.paths.top_paths` and
:func:`~marketing360.paths.path_coverage` read of plain sessions (no ``start_at``, ``end_at`` or
``collapse_repeats``) in one in-process pass (:mod:`marketing360.engine.pathkernels`).

Examples
--------
>>> import pandas as pd
>>> from marketing360.paths import sessions
>>> ev = pd.DataFrame({"user_id": [1, 1, 1, 1, 2], "brand": "Acme",
...     "ts": ["2025-03-01 10:00", "2025-03-01 10:20", "2025-03-01 10:50", "2025-03-01 12:00", "2025-03-01 09:00"],
...     "event_type": ["browse", "cart", "purchase", "browse", "browse"], "value": [None, None, 30.0, None, None]})
>>> s = sessions(ev, gap_minutes=30)
>>> s.table()[["user_id", "session", "path", "n_events", "converted", "value"]]
   user_id  session                       path  n_events  converted  value
0        1        1  browse > cart > purchase         3       True   30.0
1        1        2                     browse         1      False    0.0
2        2        1                     browse         1      False    0.0
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import pandas as pd
from ibis.expr.types import Table

from ..engine import cache, fetch
from ..errors import ParameterError, SchemaError
from ..inputs import as_table_with_counts
from ..results import Result, Summary
from ..schema import EVENT_TYPES
from ..types import TableLike
from ._concat import decode, label_codes, ordered_concat

__all__ = ["Sessions", "sessions", "as_sessions", "SESSION_KEY"]

#: the columns that identify a session
SESSION_KEY: tuple[str, ...] = ("user_id", "brand", "session")
#: microseconds per minute
_US_PER_MINUTE = 60_000_000


class Sessions(Result):
    """Sessions on an engine: one row per session (:attr:`expr`) and one per step (:attr:`steps`).

    The tidy table (:meth:`table`) has ``user_id, brand, session`` (the key;
    sessions numbered from 1 in time order per consumer and brand), ``start_ts``,
    ``end_ts``, ``minutes`` (end minus start), ``n_events`` (every event of the
    session), ``n_steps`` (the steps of its path), ``path``, ``converted`` (the
    session holds a ``conversion`` event), ``conversions`` and ``value`` (their
    number and value).

    Attributes
    ----------
    expr : ibis Table
        The session table, lazy.
    steps : ibis Table
        One row per step of a path: the key, ``step`` (1 to ``n_steps``), ``ts``, ``event_type``, ``label``.
    level, gap_minutes, by_day, by, conversion, collapse_repeats, start_at, end_at :
        How they were built (``by``: ``"brand"`` or None when brands are pooled).
    """

    expr: Table  # computed on an engine
    #: the events' columns and options for an engine's in-process pass over the sessions (plain cut only)
    _columnar: tuple[Table, dict[str, Any]] | None = None

    title = "sessions"
    keys = SESSION_KEY

    def __init__(self, table: Table, steps: Table, *, level: str, gap_minutes: float | None, by_day: bool,
                 by: str | None, conversion: str, collapse_repeats: bool, start_at: str | None,
                 end_at: str | None, notes: Sequence[str] = ()) -> None:
        super().__init__(table)
        self.steps = steps
        self.level = level
        self.gap_minutes = gap_minutes
        self.by_day = by_day
        self.by = by
        self.conversion = conversion
        self.collapse_repeats = collapse_repeats
        self.start_at = start_at
        self.end_at = end_at
        self._extra_notes = list(notes)

    def cache(self) -> "Sessions":
        """The same sessions computed once and kept by the engine (run several analyses on them)."""
        out = Sessions(cache(self.expr), cache(self.steps), level=self.level, gap_minutes=self.gap_minutes,
                       by_day=self.by_day, by=self.by, conversion=self.conversion,
                       collapse_repeats=self.collapse_repeats, start_at=self.start_at, end_at=self.end_at,
                       notes=self._extra_notes)
        out._columnar = self._columnar
        return out

    def totals(self) -> pd.DataFrame:
        """Sessions, consumers, converting sessions, events and steps (one row)."""
        t = self.expr
        out = fetch(t.aggregate(sessions=t.count(), consumers=t.user_id.nunique(),
                                converting=t.converted.cast("int64").sum(), events=t.n_events.sum(),
                                steps=t.n_steps.sum(), value=t.value.sum()))
        counts = ("sessions", "consumers", "converting", "events", "steps")
        return out.fillna({c: 0 for c in (*counts, "value")}).astype({c: "int64" for c in counts})

    def _notes(self) -> list[str]:
        ends = ([f"after {self.gap_minutes:g} minutes without an event"] if self.gap_minutes is not None else []) + \
            (["at midnight (UTC)"] if self.by_day else [])
        split = f"per consumer and {self.by}" if self.by else "per consumer (brands pooled)"
        cut = f"a session ends {' or '.join(ends)}" if ends else "one session per consumer (no time limit)"
        extra = [f"paths from the first {self.start_at!r}" if self.start_at else "",
                 f"paths to the first {self.end_at!r}" if self.end_at else "",
                 "repeated steps collapsed" if self.collapse_repeats else ""]
        return [f"{split}; {cut}; steps: {self.level}" + "".join(f"; {e}" for e in extra if e), *self._extra_notes]

    def summary(self) -> Summary:
        return Summary(self.title, notes=self._notes(), tables=[(None, self.totals())])

    def __repr__(self) -> str:
        return f"<Sessions: steps {self.level}, {self._shape()}>"


def _positive_minutes(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < float(value) < 1e8:
        raise ParameterError(f"{name} must be a positive number of minutes (or None); found {value!r}")
    return float(value)


def _event_type(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in EVENT_TYPES:
        raise ParameterError(f"{name} must be one event type from {list(EVENT_TYPES)} (or None); found {value!r}")
    return value


def sessions(events: TableLike, *, gap_minutes: float | None = 30, by_day: bool = False,
             by: str | None = "brand", level: str = "event_type", mapping: Mapping[Any, str] | None = None,
             event_types: Sequence[str] | None = None, conversion: str = "purchase",
             collapse_repeats: bool = False, start_at: str | None = None,
             end_at: str | None = None) -> Sessions:
    """Cut canonical events into sessions, each with its path of steps.

    Parameters
    ----------
    events : table
        Canonical events (anything :func:`~marketing360.inputs.as_table` opens): ``user_id, ts, event_type``,
        the ``level`` column and, with ``by``, the brand.
    gap_minutes : float or None
        A session ends when the next event comes more than this many minutes later (30, Google Analytics'
        default); None: no inactivity limit.
    by_day : bool
        Sessions also end at midnight (UTC).
    by : {"brand", None}
        Sessions per consumer and brand (events without a brand are left out) or pooled over brands.
    level : str
        What a step is: ``"event_type"``, ``"channel"``, ``"brand"``, ``"campaign"`` or any other column of the
        events (an item category, a page type).
    mapping : mapping, optional
        Level values to step labels (e.g. categories to departments); values it does not list keep their own
        name, values mapped to None are left out of the paths.
    event_types : sequence of str, optional
        The event types that make sessions (all by default; ``["browse", "search", "cart", "purchase"]``
        leaves the ads out).
    conversion : str
        The event type that makes a session converting.
    collapse_repeats : bool
        Merge consecutive equal steps into one (``browse > browse > cart`` becomes ``browse > cart``).
    start_at, end_at : str, optional
        Event types: each path starts at the session's first ``start_at`` event and ends at the first
        ``end_at`` event from there (both included); sessions without one are dropped.

    Returns
    -------
    Sessions
    """
    gap = None if gap_minutes is None else _positive_minutes(gap_minutes, "gap_minutes")
    if not isinstance(by_day, bool) or not isinstance(collapse_repeats, bool):
        raise ParameterError(f"by_day and collapse_repeats must be True or False; found {by_day!r}, "
                             f"{collapse_repeats!r}")
    if by not in ("brand", None):
        raise ParameterError(f"by must be 'brand' (sessions per consumer and brand) or None (pooled); found {by!r}")
    if not isinstance(level, str) or level in ("user_id", "ts"):
        raise ParameterError(f"level must name a column of the events other than user_id and ts (event_type, "
                             f"channel, brand, campaign, a category column); found {level!r}")
    if mapping is not None and not isinstance(mapping, Mapping):
        raise ParameterError(f"mapping must be a dict of level values to step labels; found {type(mapping).__name__}")
    conversion = _event_type(conversion, "conversion") or ""
    if not conversion:
        raise ParameterError("conversion must be one event type, e.g. 'purchase'")
    start_at, end_at = _event_type(start_at, "start_at"), _event_type(end_at, "end_at")
    types = None
    if event_types is not None:
        types = [event_types] if isinstance(event_types, str) else list(event_types)
        bad = [t for t in types if t not in EVENT_TYPES]
        if bad or not types:
            raise ParameterError(f"event_types must name event types from {list(EVENT_TYPES)}; found {types}")
        for name, anchor in (("start_at", start_at), ("end_at", end_at)):
            if anchor and anchor not in types:
                raise ParameterError(f"{name} {anchor!r} is not among event_types {types}")
    canonical = {"event_type", "channel", "brand", "campaign"}
    ev, counts = as_table_with_counts(events, "events", need=[level] if level in canonical - {"event_type"} else [],
                                      what="sessions")
    if level not in ev.columns:
        raise SchemaError(f"sessions: level {level!r} is not a column of the events; they have {list(ev.columns)}",
                          table="events", column=level)
    notes: list[str] = []
    if by and counts.get(by) == 0:
        notes.append(f"no event has a {by}: sessions are pooled over the whole log")
        by = None
    group = ["user_id"] + ([by] if by else [])
    if types is not None:
        ev = ev.filter(ev.event_type.isin(types))
    if by:
        ev = ev.filter(ev[by].notnull())
    label = ev[level].cast("string")
    if mapping:
        cases = [(ev[level].cast("string") == str(k), ibis.literal(v, type="string") if v is not None
                  else ibis.null("string")) for k, v in mapping.items()]
        label = ibis.cases(*cases, else_=label)
    funnel = ibis.cases(*[(ev.event_type == t, i) for i, t in enumerate(EVENT_TYPES)], else_=len(EVENT_TYPES))
    ev = ev.select(*group, "ts", "event_type", label=label, _funnel=funnel,
                   _conv=(ev.event_type == conversion).cast("int64"), _value=ev.value.cast("float64").fill_null(0.0))
    # ties in label order, sorted and packed as integers; event types are coded by their funnel place (checked
    # events hold no other type), so one expression serves both
    if level == "event_type" and not mapping:
        ev, labels = ev.mutate(_code=ev._funnel), list(EVENT_TYPES)
    else:
        ev, labels = label_codes(ev, "label")
    if by:  # sessions per consumer and brand code: integer keys sort faster than strings
        ev, brands = label_codes(ev, by, name="_bc")
        ev = ev.drop(by)
        group = ["user_id", "_bc"]
    cut = bool(start_at or end_at)
    # the columns an engine's in-process pass reads (the DuckDB engine's ``session_paths``), for the plain cut
    columnar = None if cut or collapse_repeats else (ev.select(
        "user_id", "ts", _b=ev._bc.cast("int32") if by else ibis.literal(0, type="int32"),
        _funnel=ev._funnel.cast("int8"), _code=ev._code.cast("int32").fill_null(-1), _value=ev._value),
        {"labels": labels, "conversion": EVENT_TYPES.index(conversion), "by_day": by_day,
         "gap_us": None if gap is None else int(round(gap * _US_PER_MINUTE))})
    w = ibis.window(group_by=group, order_by=[ev.ts, ev._funnel, ev._code])
    prev_ts = ev.ts.lag().over(w)
    new = prev_ts.isnull()
    if gap is not None:  # timestamp + interval: exact to the microsecond on every engine
        new = new | (ev.ts > prev_ts + ibis.interval(microseconds=int(round(gap * _US_PER_MINUTE))))
    if by_day:
        new = new | (ev.ts.date() != prev_ts.date())
    ev = ev.mutate(_new=new.cast("int64"), _rank=ibis.row_number().over(w))
    # the sessions begun so far, over the same order as w (engines need not sort again): a range frame counts
    # all tied events together, so ties (only the first of which can begin a session) share their session
    cw = ibis.window(group_by=group, order_by=[ev.ts, ev._funnel, ev._code], range=(None, 0))
    ev = ev.mutate(session=ev._new.sum().over(cw).cast("int64"))
    key = [*group, "session"]
    stats = dict(start_ts=ev.ts.min(), end_ts=ev.ts.max(), n_events=ev.count().cast("int64"),
                 conversions=ev._conv.sum().cast("int64"), value=(ev._value * ev._conv).sum())

    st = ev.filter(ev.label.notnull())
    if cut:  # the path's cut: first start_at, then the first end_at from there
        first = st.filter(st.event_type == start_at) if start_at else None
        if first is not None:
            lo = first.group_by(key).agg(_lo=first._rank.min())
            st = st.join(lo, key)
            st = st.filter(st._rank >= st._lo).drop("_lo")
        if end_at:
            last = st.filter(st.event_type == end_at)
            hi = last.group_by(key).agg(_hi=last._rank.min())
            st = st.join(hi, key)
            st = st.filter(st._rank <= st._hi).drop("_hi")
    if collapse_repeats:
        sw = ibis.window(group_by=key, order_by=[st._rank])
        st = st.mutate(_prev=st.label.lag().over(sw))  # a column first: Spark does not filter on a window
        st = st.filter(st._prev.isnull() | (st.label != st._prev)).drop("_prev")
    if cut or collapse_repeats:
        per = ev.group_by(key).agg(**stats)
        paths = ordered_concat(st, key, "_rank", "_code", labels=labels, n_steps=st.count().cast("int64"))
        # joined on the consumer (x brand) and session: a pooled (null) brand never equals itself in a join
        t = per.join(paths, key) if cut else per.left_join(paths, key)
    else:  # every labelled event is a step: one pass (collecting leaves the unlabelled events out)
        t = ordered_concat(ev, key, "_rank", "_code", labels=labels, **stats,
                           n_steps=ev._code.count().cast("int64"))
    sw = ibis.window(group_by=key, order_by=[st._rank])
    st = st.mutate(step=(ibis.row_number().over(sw) + 1).cast("int64"))
    if by:
        st = st.mutate(brand=decode(st._bc, brands))
        t = t.mutate(brand=decode(t._bc, brands))
    else:
        st = st.mutate(brand=ibis.null("string"))
        t = t.mutate(brand=ibis.null("string"))
    steps = st.select(*SESSION_KEY, "step", "ts", "event_type", "label")
    table = t.select(
        *SESSION_KEY, "start_ts", "end_ts",
        minutes=(t.end_ts.epoch_seconds() - t.start_ts.epoch_seconds()).cast("float64") / 60.0,
        n_events=t.n_events, n_steps=ibis.coalesce(t.n_steps, 0).cast("int64"),
        path=ibis.coalesce(t.path, ibis.literal("")), converted=t.conversions > 0,
        conversions=t.conversions, value=t.value)
    out = Sessions(table, steps, level=level, gap_minutes=gap, by_day=by_day, by=by, conversion=conversion,
                   collapse_repeats=collapse_repeats, start_at=start_at, end_at=end_at, notes=notes)
    out._columnar = columnar
    return out


def as_sessions(data: Sessions | TableLike) -> Sessions:
    """``data`` if it is already sessions, else canonical events cut with :func:`sessions`' defaults."""
    return data if isinstance(data, Sessions) else sessions(data)
