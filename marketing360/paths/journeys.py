"""Journeys: the ordered ad touchpoints before each conversion, and the journeys that did not convert.

A journey belongs to one consumer (and brand, by default). Every conversion
closes one: its touchpoints are the touches after the consumer's previous
conversion and at most ``lookback_days`` before it. The touches after a
consumer's last conversion, inside the last ``lookback_days`` of the data,
form one non-converting journey. A journey may be empty: a conversion no ad
preceded, or a consumer who saw no ad and did not buy; the causal models need
those to learn the no-ad baseline, path-based models leave them out. With
``anchor="calendar"`` the data is cut into windows of ``lookback_days``
instead, one journey per consumer and window, which is what the causal models
should be trained on (see :func:`journeys`).

Everything is an ibis expression, so journeys are built on the engine the
events live on (DuckDB or Spark), with a single sort of the events: one
window pass numbers each consumer's events and their journeys, and hash
aggregations do the rest. :meth:`Journeys.paths` writes the ChannelAttribution
path table (``"A > B > C"``, conversions, value, nulls);
:func:`~marketing360.paths.from_paths` turns such a table back into journeys.

Examples
--------
>>> import pandas as pd
>>> from marketing360.paths import journeys
>>> j = journeys(pd.DataFrame({
...     "user_id": [1, 1, 1, 2, 2],
...     "ts": ["2025-03-01", "2025-03-02", "2025-03-03", "2025-03-01", "2025-03-05"],
...     "brand": "Acme", "channel": ["video", "search", None, "display", "display"],
...     "event_type": ["impression", "click", "purchase", "impression", "impression"],
...     "value": [None, None, 30.0, None, None]}))
>>> j.paths().table()
                path  conversions  value  nulls
0  display > display          0.0    0.0    1.0
1     video > search          1.0   30.0    0.0
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd
from ibis.expr.types import Table

from ..engine import cache, fetch
from ..errors import ParameterError, SchemaError
from ..inputs import as_population, as_table_with_counts
from ..results import Result, Summary
from ..schema import AD_EVENT_TYPES, EVENT_TYPES, PATH_SEP
from ..types import Anchor, CreditKey, TableLike
from ._concat import ordered_concat

__all__ = ["Journeys", "PathTable", "journeys", "JOURNEY_KEY"]

#: the columns that identify a journey (for journeys made from a path table: user_id = the path's rank)
JOURNEY_KEY: tuple[str, ...] = ("user_id", "brand", "journey")


class PathTable(Result):
    """A ChannelAttribution path table: ``path, conversions, value, nulls``, one row per distinct path.

    The engine returns the rows ordered by path (sorted there, not again in pandas).
    """

    expr: Table  # computed on an engine

    title = "path table"
    keep_on_engine = False  # read by the path models in memory; one fetch, no copy on the engine


class Journeys(Result):
    """Journeys on an engine: one table of journeys (:attr:`expr`) and one of their touchpoints.

    The tidy table (:meth:`table`) has one row per journey: ``user_id, brand,
    journey`` (the key), ``conversions`` (1 for a converting journey, 0
    otherwise; a path table's count), ``nulls`` (the journeys that did not
    convert), ``value`` (conversion value), ``n_touches``, ``start_ts`` (first
    touch), ``end_ts`` (the conversion, or the end of the data),
    ``window_start`` / ``window_days`` (the time the journey had: since the
    consumer's previous conversion, at most the look-back) and ``cost`` (media
    cost of the touches).

    Attributes
    ----------
    expr : ibis Table
        The journey table, lazy.
    touches : ibis Table
        One row per touchpoint: the key, ``touch`` (1 to ``n_touches``, in time
        order), ``n_touches``, ``ts``, ``channel`` (the value of the attribution
        key, see :attr:`key`), ``campaign``, ``event_type``, ``cost``, ``hours``
        (hours before the journey's end), and the journey's ``conversions``,
        ``nulls``, ``value``.
    key : {"channel", "campaign"}
        What a touchpoint is credited to (its values are in ``touches.channel``).
    by : str or None
        The column journeys are split by besides the consumer (``"brand"``), or
        None when they are pooled.
    source : {"events", "paths"}
        Built from events (touch times known) or from a path table.
    lookback_days, anchor, conversion, touch_types, windows, first_window :
        How they were built (``windows``: the number of calendar windows,
        ``first_window``: when the first one starts).
    has_campaigns : bool
        Whether touches carry campaigns (credit by campaign is possible).
    """

    expr: Table  # computed on an engine

    title = "journeys"
    keys = JOURNEY_KEY

    def __init__(self, table: Table, touches: Table, *, key: CreditKey = "channel", by: str | None = "brand",
                 source: str = "events", lookback_days: float | None = None, anchor: Anchor | None = None,
                 conversion: str | None = None, touch_types: Sequence[str] = (), windows: int | None = None,
                 first_window: pd.Timestamp | None = None, has_campaigns: bool = False,
                 notes: Sequence[str] = ()) -> None:
        super().__init__(table)
        self.touches = touches
        self.key = key
        self.by = by
        self.source = source
        self.lookback_days = lookback_days
        self.anchor = anchor
        self.conversion = conversion
        self.touch_types = tuple(touch_types)
        self.windows = windows
        self.first_window = first_window
        self.has_campaigns = has_campaigns
        self._extra_notes = list(notes)
        self._paths: PathTable | None = None
        # the events numbered by the one sort, and how the two tables are built from them: cache() keeps
        # the numbered events once, so that the journey and touch tables do not sort the events twice
        self._base: Table | None = None
        self._build: Callable[[Table], tuple[Table, Table]] | None = None

    def _tidy(self, df: pd.DataFrame) -> pd.DataFrame:
        return df.sort_values(list(JOURNEY_KEY), kind="mergesort").reset_index(drop=True)

    def cache(self) -> "Journeys":
        """The same journeys computed once and kept by the engine (a DuckDB temp table, a Spark cache).

        Each analysis re-reads the events otherwise: cache before running several methods.
        """
        table, touches = self.expr, self.touches
        if self._base is not None and self._build is not None:
            table, touches = self._build(cache(self._base))
        out = self._replace(cache(table), cache(touches))
        if self.source == "paths" and self._paths is not None and self._paths.expr is not None:
            out._paths = PathTable(cache(self._paths.expr))
        return out

    def _replace(self, table: Table, touches: Table) -> "Journeys":
        return Journeys(table, touches, key=self.key, by=self.by, source=self.source,
                        lookback_days=self.lookback_days, anchor=self.anchor, conversion=self.conversion,
                        touch_types=self.touch_types, windows=self.windows, first_window=self.first_window,
                        has_campaigns=self.has_campaigns,
                        notes=self._extra_notes)

    def paths(self) -> PathTable:
        """The journeys with at least one touch as a ChannelAttribution path table.

        ``path`` (channels in time order joined by ``" > "``), ``conversions``,
        ``value``, ``nulls``; one row per distinct path, ordered by path. The
        same result object is returned each time, so the path models (Markov,
        Shapley) of one set of journeys compute it once.
        """
        if self._paths is None:
            self._paths = self._path_table()
        return self._paths

    def _path_table(self) -> PathTable:
        t = self.touches
        outcome = {"conversions": t.conversions.max(), "value": t.value.max(), "nulls": t.nulls.max()}
        per = ordered_concat(t, JOURNEY_KEY, "touch", "channel", **outcome)
        out = per.group_by("path").agg(
            conversions=per.conversions.sum().cast("float64"),
            value=per.value.sum().cast("float64"),
            nulls=per.nulls.sum().cast("float64"))
        return PathTable(out.order_by("path"))

    def fetch(self, touches: Table, *columns: str) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
        """Journeys (key + ``columns``, in key order) and ``touches`` as pandas, with each touch's journey row.

        The models read journeys this way: one row per journey, touches placed by row.
        """
        key = list(JOURNEY_KEY)
        tp = fetch(touches)
        jt = fetch(self.expr.select(*key, *columns))
        if jt.empty:
            raise ParameterError("the journeys table is empty")
        jt = jt.sort_values(key, kind="mergesort").reset_index(drop=True)
        row = pd.MultiIndex.from_frame(jt[key].astype(str)).get_indexer(pd.MultiIndex.from_frame(tp[key].astype(str)))
        if (row < 0).any():
            raise ParameterError("some touches belong to no journey of the journeys table")
        return jt, tp, row

    def channels(self) -> list[str]:
        """The distinct touchpoint keys (channels), sorted (runs a small query)."""
        df = fetch(self.touches.select("channel").distinct().order_by("channel"), "arrow")
        return [str(c) for c in df.column("channel").to_pylist()]

    def totals(self) -> pd.DataFrame:
        """Journeys, conversions, nulls, value and touches, split by whether the journey has touches."""
        t = self.expr
        g = t.group_by(has_touches=t.n_touches > 0).agg(
            journeys=(t.conversions + t.nulls).sum(), conversions=t.conversions.sum(),
            nulls=t.nulls.sum(), value=t.value.sum(), touches=(t.n_touches * (t.conversions + t.nulls)).sum())
        out = fetch(g.order_by("has_touches"))
        for c in ("journeys", "touches"):
            v = out[c].to_numpy(float)
            if np.all(v == np.floor(v)):
                out[c] = v.astype("int64")
        return out

    def _notes(self) -> list[str]:
        how = ("from a path table" if self.source == "paths" else
               f"from events; anchor {self.anchor!r}, look-back {self.lookback_days:g} days, "
               f"conversion {self.conversion!r}, touches {list(self.touch_types)}"
               + (f", {self.windows} calendar windows" if self.windows else ""))
        split = f"per consumer and {self.by}" if self.by else "per consumer (brands pooled)"
        return [f"{split}; credited to: {self.key}; built {how}", *self._extra_notes]

    def summary(self) -> Summary:
        return Summary(self.title, notes=self._notes(), tables=[("totals by whether a journey has touches",
                                                                 self.totals())])

    def __repr__(self) -> str:
        split = f"consumer x {self.by}" if self.by else "consumer"
        return f"<Journeys: per {split}, credited to {self.key}, from {self.source}; {self._shape()}>"


def _event_types(name: str, values: Sequence[str] | str) -> list[str]:
    vals = [values] if isinstance(values, str) else list(values)
    bad = [v for v in vals if v not in EVENT_TYPES]
    if bad or not vals:
        raise ParameterError(f"{name} must name event types from {list(EVENT_TYPES)}; found {vals}")
    return vals


def journeys(events: TableLike, *, lookback_days: float = 30, conversion: str = "purchase",
             touch_types: Sequence[str] = AD_EVENT_TYPES, key: CreditKey = "channel",
             by: str | None = "brand", end: Any = None, population: TableLike = None,
             anchor: Anchor = "conversion") -> Journeys:
    """Build journeys from canonical events on their engine.

    Parameters
    ----------
    events : table
        Canonical events (anything :func:`~marketing360.inputs.as_table` opens):
        ``user_id, ts, event_type``, the ``key`` column and, with ``by``, the
        ``by`` column; ``value`` and ``cost`` when present.
    lookback_days : float
        Touches more than this many days before a journey's end do not count.
    conversion : str
        The event type that converts (``"purchase"``).
    touch_types : sequence of str
        Event types that are touchpoints (ads: ``impression`` and ``click``);
        events of these types without a ``key`` value are not touchpoints.
    key : {"channel", "campaign"}
        The column touchpoints are credited to.
    by : {"brand", None}
        Journeys per consumer and brand (a conversion of a brand is credited
        to that brand's ads); ``None`` pools all brands.
        Events without a ``by`` value are left out; when no event has one
        (a log without brands), journeys are pooled and the summary says so.
    end : datetime-like, optional
        End of the data, where non-converting journeys end (the last event by
        default); events after it are left out.
    population : table, optional
        The consumers (``user_id``, and ``by`` if set) to build journeys for:
        each gets a non-converting journey even without events, and consumers
        outside it are left out; by default every consumer (x ``by``) with a
        touch or conversion.
    anchor : {"conversion", "calendar"}
        ``"conversion"``: every conversion closes a journey (touches since the
        previous one, at most ``lookback_days`` back) and the touches after the
        last conversion form one non-converting journey at the end of the data.
        ``"calendar"``: the data is cut into consecutive windows of
        ``lookback_days`` from the first day on (a partial last window is
        dropped); every consumer (x ``by``) of the population has one journey
        per window, which converts at the window's first conversion (touches up
        to it) or not (all its touches). Converting and non-converting journeys
        then spread evenly over time, which the causal models need: with
        ``"conversion"`` journeys without ads are mostly non-converting tails
        at the end of the data, after the campaigns, which biases the no-ad
        baseline low.

    Returns
    -------
    Journeys
    """
    if anchor not in ("conversion", "calendar"):
        raise ParameterError(f"anchor must be 'conversion' or 'calendar'; found {anchor!r}")
    if key not in ("channel", "campaign"):
        raise ParameterError(f"key must be 'channel' or 'campaign'; found {key!r}")
    if isinstance(lookback_days, bool) or not isinstance(lookback_days, numbers.Real) or \
            not 0 < lookback_days < 100_000:
        raise ParameterError(f"lookback_days must be a positive number of days (below 100,000); "
                             f"found {lookback_days!r}")
    lookback_days = float(lookback_days)
    if not isinstance(conversion, str):
        raise ParameterError(f"conversion must be one event type name, e.g. 'purchase'; found {conversion!r}")
    conversion = _event_types("conversion", [conversion])[0]
    touch_types = _event_types("touch_types", touch_types)
    if conversion in touch_types:
        raise ParameterError(f"conversion {conversion!r} cannot also be a touch type")
    if by not in ("brand", None):
        raise ParameterError(f"by must be 'brand' (journeys per consumer and brand) or None (pooled); found {by!r}")
    # the brand column may be absent: it is added as nulls and the journeys are pooled
    events, counts = as_table_with_counts(events, "events", need=[key], what="journeys")
    notes = []
    clashes = counts.get(f"{key} contains the separator", 0)
    if clashes:  # the paths would read such a name as several
        raise SchemaError(f"journeys: {clashes} {key} name(s) contain the path separator {PATH_SEP!r}; rename them "
                          f"first (e.g. replace ' > ' by ' / ')", table="events", column=key)
    if by and counts.get(by) == 0:
        notes.append(f"no event has a {by}: journeys are pooled over the whole log")
        by = None
    group = ["user_id"] + ([by] if by else [])
    look = ibis.interval(seconds=int(round(lookback_days * 86400)))
    has_campaign = counts.get("campaign", 0) > 0

    if end is None:  # a one-row table, cross-joined where needed (a scalar subquery would bind wrongly)
        ends = events.aggregate(_end=events.ts.max())
    else:
        try:
            end = pd.Timestamp(end)
        except (TypeError, ValueError):
            raise ParameterError(f"end must be a timestamp; found {end!r}") from None
        end = end.tz_convert("UTC").tz_localize(None) if end.tzinfo else end
        ends = ibis.memtable({"_end": [end]})
        ends = ends.select(_end=ends._end.cast(events.ts.type()))

    is_touch = events.event_type.isin(touch_types) & events[key].notnull()
    ev = events.filter(is_touch | (events.event_type == conversion))
    if end is not None:
        ev = ev.filter(ev.ts <= ibis.literal(end, type=events.ts.type()))
    if by:
        ev = ev.filter(ev[by].notnull())
    ev = ev.select(
        *group, "ts",
        channel=ev[key].cast("string"),
        campaign=ev.campaign.cast("string"),
        event_type=ev.event_type,
        _conv=(ev.event_type == conversion).cast("int64"),
        _value=ev.value.cast("float64").fill_null(0.0),
        cost=ev.cost.cast("float64"),
    )
    pop = None
    if population is not None:  # the population's consumers only
        pop = _population(population, group, events)
        ev = ev.semi_join(pop, group)
    settings = dict(key=key, by=by, lookback_days=lookback_days, conversion=conversion, touch_types=touch_types,
                    has_campaigns=has_campaign, notes=notes)
    if anchor == "calendar":
        return _calendar_journeys(events, ev, group, by, lookback_days, pop, end, settings)
    # the one sort: each consumer's events in time order (touches before a conversion at the same instant,
    # then by key; see _ORDER); journey number = conversions strictly before the event (a conversion closes
    # its own journey)
    w = ibis.cumulative_window(group_by=group, order_by=_order(ev))
    ev = ev.mutate(journey=ev._conv.sum().over(w) - ev._conv, _rank=ibis.row_number().over(w))

    def build(ev: Table) -> tuple[Table, Table]:
        conv = ev.filter(ev._conv == 1)
        conv = conv.select(*group, "journey", end_ts=conv.ts, value=conv._value)
        touch = ev.filter(ev._conv == 0).drop("_conv", "_value")
        j = touch.left_join(conv, [*group, "journey"]).cross_join(ends)
        j = j.select(*group, "journey", "ts", "channel", "campaign", "event_type", "cost", "_rank",
                     end_ts=j.end_ts.fill_null(j._end), converted=j.end_ts.notnull(),
                     value=j.value.fill_null(0.0))
        j = j.filter((j.ts >= j.end_ts - look) & (j.ts <= j.end_ts))
        touches, per, conv = _touches_and_sizes(j, conv, by)

        # journey table: every conversion, plus one non-converting journey per consumer (x by)
        consumers = pop if pop is not None else ev.select(*group).distinct()
        nconv = conv.group_by(group).agg(_n=conv.journey.count(), _last=conv.end_ts.max())
        tails = consumers.left_join(nconv, group).select(*group, _prev=ibis._._last,
                                                  journey=ibis.coalesce(ibis._._n, 0).cast("int64"))
        tails = tails.cross_join(ends).rename(end_ts="_end").mutate(
            conversions=ibis.literal(0.0), nulls=ibis.literal(1.0), value=ibis.literal(0.0))
        if not by:
            tails = tails.mutate(brand=ibis.null("string"))
        # the previous conversion of each conversion: the one numbered journey - 1 (a hash join, no second sort)
        prev = conv.select(*group, journey=conv.journey + 1, _prev=conv.end_ts)
        closed = conv.left_join(prev, [*group, "journey"])
        closed = closed.select(*JOURNEY_KEY, "end_ts", "_prev", conversions=ibis.literal(1.0), nulls=ibis.literal(0.0),
                               value=closed.value)
        allj = tails.select(*JOURNEY_KEY, "end_ts", "_prev", "conversions", "nulls", "value").union(closed)
        # the journey's window: after the consumer's previous conversion, at most lookback_days long
        since = allj.end_ts - look
        allj = allj.mutate(window_start=ibis.ifelse(allj._prev.isnull() | (allj._prev < since), since, allj._prev))
        return _journey_table(allj, per, group), touches

    table, touches = build(ev)
    out = Journeys(table, touches, anchor="conversion", **settings)
    out._base, out._build = ev, build
    return out


def _order(ev: Table) -> list[Any]:
    """The order of a consumer's events: time, touches before a conversion at the same instant, the
    credited key, then the value (which of two simultaneous conversions comes first).

    Two touches at the same instant with the same key keep no defined order between them: nothing
    credited per key (paths, rules, Markov, Shapley, the models) depends on it. Leaving campaign and
    event type out of the sort keys makes the sort (most of the cost of building journeys) about a
    third cheaper.
    """
    return [ev.ts, ev._conv, ev.channel, ev._value]


def _calendar_journeys(events: Table, ev: Table, group: list[str], by: str | None, lookback_days: float,
                       pop: Table | None, end: Any, settings: dict[str, Any]) -> Journeys:
    """Journeys per consumer (x by) and calendar window of ``lookback_days`` (see :func:`journeys`)."""
    bounds = fetch(events.aggregate(lo=events.ts.min(), hi=events.ts.max())).iloc[0]
    first = pd.Timestamp(bounds["lo"]).normalize()
    stop = pd.Timestamp(end) if end is not None else pd.Timestamp(bounds["hi"]).normalize() + pd.Timedelta(days=1)
    span = pd.Timedelta(seconds=round(lookback_days * 86400))
    n_windows = int((stop - first) // span)
    if n_windows < 1:
        raise ParameterError(f"journeys: the data spans {(stop - first).total_seconds() / 86400:.1f} days, "
                             f"less than one window of lookback_days={lookback_days}")
    starts = [first + i * span for i in range(n_windows)]
    windows = ibis.memtable(pd.DataFrame({"journey": np.arange(n_windows, dtype="int64"),
                                          "window_start": starts, "window_end": [s_ + span for s_ in starts]}))
    windows = windows.mutate(window_start=windows.window_start.cast("timestamp"),
                             window_end=windows.window_end.cast("timestamp"))
    seconds = int(span.total_seconds())
    k = ((ev.ts.epoch_seconds() - int(first.timestamp())) / seconds).floor().cast("int64")
    ev = ev.mutate(journey=k).filter((k >= 0) & (k < n_windows))
    w = ibis.window(group_by=group, order_by=_order(ev))
    ev = ev.mutate(_rank=ibis.row_number().over(w))
    def build(ev: Table) -> tuple[Table, Table]:
        convs = ev.filter(ev._conv == 1)
        conv = convs.group_by([*group, "journey"]).agg(end_ts=convs.ts.min(), value=convs._value.argmin(convs._rank))
        touch = ev.filter(ev._conv == 0).drop("_conv", "_value")
        j = touch.left_join(conv, [*group, "journey"]).join(windows, "journey")
        j = j.filter(j.end_ts.isnull() | (j.ts <= j.end_ts))
        j = j.select(*group, "journey", "ts", "channel", "campaign", "event_type", "cost", "_rank",
                     end_ts=ibis.coalesce(j.end_ts, j.window_end), converted=j.end_ts.notnull(),
                     value=j.value.fill_null(0.0))
        touches, per, conv = _touches_and_sizes(j, conv, by)
        consumers = pop if pop is not None else ev.select(*group).distinct()
        allj = consumers.cross_join(windows)
        if not by:
            allj = allj.mutate(brand=ibis.null("string"))
        on = [*group, "journey"]
        allj = allj.left_join(conv.select(*on, "end_ts", "value"), on)
        allj = allj.select(*JOURNEY_KEY, "window_start", end_ts=ibis.coalesce(allj.end_ts, allj.window_end),
                           conversions=allj.end_ts.notnull().cast("float64"),
                           nulls=allj.end_ts.isnull().cast("float64"), value=allj.value.fill_null(0.0))
        return _journey_table(allj, per, group), touches

    table, touches = build(ev)
    out = Journeys(table, touches, anchor="calendar", windows=n_windows, first_window=first, **settings)
    out._base, out._build = ev, build
    return out


def _journey_table(allj: Table, per: Table, group: list[str]) -> Table:
    """Journeys (``allj``) with their touch counts, first touch and cost (``per``), and days at risk."""
    on = [*group, "journey"]  # not a pooled (null) brand: NULL never equals NULL in a join
    t = allj.left_join(per.select(*on, "n_touches", "start_ts", "cost"), on)
    return t.select(
        *JOURNEY_KEY, "conversions", "nulls", "value",
        n_touches=ibis.coalesce(t.n_touches, 0).cast("int64"),
        start_ts=t.start_ts, end_ts=t.end_ts, window_start=t.window_start,
        window_days=(t.end_ts.epoch_seconds() - t.window_start.epoch_seconds()).cast("float64") / 86400.0,
        cost=t.cost)


def _touches_and_sizes(j: Table, conv: Table, by: str | None) -> tuple[Table, Table, Table]:
    """Numbered touches, per-journey size / first touch / cost, and conversions keyed like journeys.

    ``j`` holds each kept touch with ``_rank``, its position among the consumer's events in time
    order. A journey's touches are consecutive there (a conversion closes a journey, and the
    look-back drops a journey's earliest touches), so its touch number is ``_rank`` minus the
    journey's smallest kept ``_rank``, plus one: no second sort.
    """
    group = ["user_id"] + ([by] if by else [])
    on = [*group, "journey"]
    per = j.group_by(on).agg(_first=j._rank.min(), n_touches=j.count().cast("int64"), start_ts=j.ts.min(),
                             cost=j.cost.sum())
    t = j.join(per.select(*on, "_first", "n_touches"), on)
    touches = t.select(
        *group, "journey",
        touch=(t._rank - t._first + 1).cast("int64"), n_touches=t.n_touches,
        ts=t.ts, channel=t.channel, campaign=t.campaign, event_type=t.event_type, cost=t.cost,
        hours=(t.end_ts.epoch_seconds() - t.ts.epoch_seconds()).cast("float64") / 3600.0,
        conversions=t.converted.cast("float64"), nulls=(~t.converted).cast("float64"), value=t.value)
    if not by:
        touches = touches.mutate(brand=ibis.null("string"))
        per = per.mutate(brand=ibis.null("string"))
        conv = conv.mutate(brand=ibis.null("string"))
    touches = touches.select(*JOURNEY_KEY, *[c for c in touches.columns if c not in JOURNEY_KEY])
    return touches, per, conv


def _population(population: TableLike, group: list[str], events: Table) -> Table:
    pop = as_population(population, group, what="journeys population")
    for c in group:
        a, b = pop[c].type(), events[c].type()
        if a.is_string() != b.is_string():
            raise SchemaError(f"journeys population: {c} is {a} but the events' {c} is {b}; give both the same type",
                              table="users", column=c)
    return pop
