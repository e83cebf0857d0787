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
events live on (DuckDB or Spark), and :meth:`Journeys.paths` writes the
ChannelAttribution path table (``"A > B > C"``, conversions, value, nulls).
:func:`from_paths` turns such a path table back into journeys.

Examples
--------
>>> import pandas as pd, marketing360 as m3
>>> from marketing360.attribution import journeys
>>> eng = m3.connect()
>>> ev = eng.table(m3.validate(pd.DataFrame({
...     "user_id": [1, 1, 1, 2, 2],
...     "ts": ["2025-03-01", "2025-03-02", "2025-03-03", "2025-03-01", "2025-03-05"],
...     "brand": "Acme", "channel": ["video", "search", None, "display", "display"],
...     "event_type": ["impression", "click", "purchase", "impression", "impression"],
...     "value": [None, None, 30.0, None, None]})))
>>> j = journeys(ev)
>>> eng.to_pandas(j.paths())
                 path  conversions  value  nulls
0  display > display          0.0    0.0    1.0
1     video > search          1.0   30.0    0.0
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import ibis
import numpy as np
import pandas as pd
from ibis.expr.types import Table

from ..errors import ParameterError, SchemaError
from ..schema import EVENT_TYPES, validate

__all__ = ["Journeys", "journeys", "from_paths", "JOURNEY_KEY", "PATH_SEP"]

#: the columns that identify a journey (for journeys made from a path table: user_id = the path's rank)
JOURNEY_KEY: tuple[str, ...] = ("user_id", "brand", "journey")
#: how channels are joined in a path string (ChannelAttribution's layout)
PATH_SEP = " > "


@dataclass
class Journeys:
    """Journeys on an engine: one table of journeys and one of their touchpoints.

    Attributes
    ----------
    table : ibis Table
        One row per journey: ``user_id, brand, journey`` (the key), ``conversions``
        (1 for a converting journey, 0 otherwise; a path table's count),
        ``nulls`` (the journeys that did not convert), ``value`` (conversion
        value), ``n_touches``, ``start_ts`` (first touch), ``end_ts`` (the
        conversion, or the end of the data), ``window_start`` / ``window_days``
        (the time the journey had: since the consumer's previous conversion, at
        most the look-back), ``cost`` (media cost of the touches).
    touches : ibis Table
        One row per touchpoint: the key, ``touch`` (1 to ``n_touches``, in time
        order), ``n_touches``, ``ts``, ``channel`` (the value of the attribution
        key, see ``key``), ``campaign``, ``event_type``, ``cost``, ``hours``
        (hours before the journey's end), and the journey's ``conversions``,
        ``nulls``, ``value``.
    key : str
        What a touchpoint is credited to: ``"channel"`` or ``"campaign"`` (its
        values are in the ``channel`` column of ``touches``).
    meta : dict
        How the journeys were built (look-back, conversion event, ...).
    """

    table: Table
    touches: Table
    key: str = "channel"
    meta: dict[str, Any] = field(default_factory=dict)

    def cache(self) -> "Journeys":
        """The same journeys computed once and kept by the engine (a DuckDB temp table, a Spark cache).

        Each analysis re-reads the events otherwise: cache before running several methods.
        """
        return Journeys(table=self.table.cache(), touches=self.touches.cache(), key=self.key, meta=dict(self.meta))

    def paths(self) -> Table:
        """The journeys with at least one touch as a ChannelAttribution path table.

        ``path`` (channels in time order joined by ``" > "``), ``conversions``,
        ``value``, ``nulls``; one row per distinct path, ordered by path.
        """
        t = self.touches
        # order the channels by a zero-padded touch number, then strip it (no lambdas: DuckDB 2 and
        # Spark disagree on their syntax)
        tagged = t.touch.cast("string").lpad(9, "0") + "\x1f" + t.channel
        per = t.group_by(list(JOURNEY_KEY)).agg(
            _seq=tagged.collect(), conversions=t.conversions.max(), value=t.value.max(), nulls=t.nulls.max())
        per = per.mutate(path=per._seq.sort().join(PATH_SEP).re_replace("[0-9]{9}\x1f", ""))
        out = per.group_by("path").agg(
            conversions=per.conversions.sum().cast("float64"),
            value=per.value.sum().cast("float64"),
            nulls=per.nulls.sum().cast("float64"))
        return out.order_by("path")

    def fetch(self, touches: Table, *columns: str) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
        """Journeys (key + ``columns``, in key order) and ``touches`` as pandas, with each touch's journey row.

        The models read journeys this way: one row per journey, touches placed by row.
        """
        key = list(JOURNEY_KEY)
        tp = touches.to_pyarrow().to_pandas()
        jt = self.table.select(*key, *columns).to_pyarrow().to_pandas()
        if jt.empty:
            raise ParameterError("the journeys table is empty")
        jt = jt.sort_values(key, kind="mergesort").reset_index(drop=True)
        row = pd.MultiIndex.from_frame(jt[key].astype(str)).get_indexer(pd.MultiIndex.from_frame(tp[key].astype(str)))
        if (row < 0).any():
            raise ParameterError("some touches belong to no journey of the journeys table")
        return jt, tp, row

    def channels(self) -> list[str]:
        """The distinct touchpoint keys (channels), sorted (runs a small query)."""
        t = self.touches
        df = t.select("channel").distinct().order_by("channel").to_pyarrow()
        return [str(c) for c in df.column("channel").to_pylist()]

    def summary(self) -> pd.DataFrame:
        """Journeys, conversions and touches, split by whether the journey has touches."""
        t = self.table
        g = t.group_by(has_touches=t.n_touches > 0).agg(
            journeys=(t.conversions + t.nulls).sum(), conversions=t.conversions.sum(),
            nulls=t.nulls.sum(), value=t.value.sum(), touches=(t.n_touches * (t.conversions + t.nulls)).sum())
        df = g.order_by("has_touches").to_pyarrow().to_pandas()
        return df


_TOUCH_COLS = ("user_id", "ts", "event_type")


def _check_events(events: Table, key: str, by: str | None) -> None:
    if not isinstance(events, Table):
        raise ParameterError(f"events must be an ibis table (engine.table(...)); found {type(events).__name__}")
    need = [*_TOUCH_COLS, key] + ([by] if by else [])
    missing = [c for c in need if c not in events.columns]
    if missing:
        raise SchemaError(f"journeys: the events table lacks column(s) {missing}; found {list(events.columns)}",
                          table="events", column=missing[0])
    if not events.ts.type().is_timestamp():
        raise SchemaError(f"journeys: events.ts must be a timestamp; found {events.ts.type()} "
                          "(run marketing360.validate first)", table="events", column="ts")


def _event_types(name: str, values: Sequence[str] | str) -> list[str]:
    vals = [values] if isinstance(values, str) else list(values)
    bad = [v for v in vals if v not in EVENT_TYPES]
    if bad or not vals:
        raise ParameterError(f"{name} must name event types from {list(EVENT_TYPES)}; found {vals}")
    return vals


def journeys(events: Table, *, lookback_days: float = 30, conversion: str = "purchase",
             touch_types: Sequence[str] = ("impression", "click"), key: str = "channel",
             by: str | None = "brand", end: Any = None, population: Table | None = None,
             anchor: Literal["conversion", "calendar"] = "conversion") -> Journeys:
    """Build journeys from canonical events on their engine.

    Parameters
    ----------
    events : ibis Table
        Canonical events (``user_id, ts, event_type``, the ``key`` column and,
        with ``by``, the ``by`` column; ``value`` and ``cost`` when present).
    lookback_days : float
        Touches more than this many days before a journey's end do not count.
    conversion : str
        The event type that converts (``"purchase"``).
    touch_types : sequence of str
        Event types that are touchpoints (ads: ``impression`` and ``click``);
        events of these types without a ``key`` value are not touchpoints.
    key : str
        The column touchpoints are credited to: ``"channel"`` or ``"campaign"``.
    by : str or None
        Journeys per consumer and this column (``"brand"``: a conversion of a
        brand is credited to that brand's ads); ``None`` pools all brands.
    end : datetime-like, optional
        End of the data, where non-converting journeys end (the last event by default).
    population : ibis Table, optional
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
    _check_events(events, key, by)
    if anchor not in ("conversion", "calendar"):
        raise ParameterError(f"anchor must be 'conversion' or 'calendar'; found {anchor!r}")
    if isinstance(lookback_days, bool) or not isinstance(lookback_days, numbers.Real) or not lookback_days > 0:
        raise ParameterError(f"lookback_days must be a positive number; found {lookback_days!r}")
    lookback_days = float(lookback_days)
    if not isinstance(conversion, str):
        raise ParameterError(f"conversion must be one event type name, e.g. 'purchase'; found {conversion!r}")
    conversion = _event_types("conversion", [conversion])[0]
    touch_types = _event_types("touch_types", touch_types)
    if conversion in touch_types:
        raise ParameterError(f"conversion {conversion!r} cannot also be a touch type")
    group = ["user_id"] + ([by] if by else [])
    look = ibis.interval(seconds=int(round(lookback_days * 86400)))
    has_value, has_cost = "value" in events.columns, "cost" in events.columns
    has_campaign = "campaign" in events.columns

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
    if by:
        ev = ev.filter(ev[by].notnull())
    ev = ev.select(
        *group, "ts",
        channel=ev[key].cast("string"),
        campaign=ev.campaign.cast("string") if has_campaign else ibis.null("string"),
        event_type=ev.event_type,
        _conv=(ev.event_type == conversion).cast("int64"),
        _value=(ev.value.cast("float64") if has_value else ibis.literal(0.0)),
        cost=(ev.cost.cast("float64") if has_cost else ibis.null("float64")),
    )
    if population is not None:  # the population's consumers only
        ev = ev.semi_join(_population(ev, group, population), group)
    if anchor == "calendar":
        return _calendar_journeys(events, ev, group, by, key, lookback_days, population, end,
                                  {"lookback_days": lookback_days, "conversion": conversion,
                                   "touch_types": touch_types, "by": by, "source": "events", "anchor": anchor,
                                   "campaigns": has_campaign})
    # journey number = conversions strictly before the event (a conversion closes its own journey);
    # ties: touches before the conversion at the same instant
    w = ibis.cumulative_window(group_by=group, order_by=[ev.ts, ev._conv, ev._value, ev.channel])
    ev = ev.mutate(journey=ev._conv.sum().over(w) - ev._conv)

    conv = ev.filter(ev._conv == 1)
    conv = conv.select(*group, "journey", end_ts=conv.ts, value=conv._value.fill_null(0.0))
    touch = ev.filter(ev._conv == 0).drop("_conv", "_value")
    j = touch.left_join(conv, [*group, "journey"]).cross_join(ends)
    j = j.select(*group, "journey", "ts", "channel", "campaign", "event_type", "cost",
                 end_ts=j.end_ts.fill_null(j._end), converted=j.end_ts.notnull(),
                 value=j.value.fill_null(0.0))
    j = j.filter((j.ts >= j.end_ts - look) & (j.ts <= j.end_ts))
    touches, per, conv = _touches_and_sizes(j, conv, by)

    # journey table: every conversion, plus one non-converting journey per consumer (x by)
    pop = _population(ev, group, population)
    nconv = conv.group_by(group).agg(_n=conv.journey.count(), _prev=conv.end_ts.max())
    tails = pop.left_join(nconv, group).select(*group, "_prev", journey=ibis.coalesce(ibis._._n, 0).cast("int64"))
    tails = tails.cross_join(ends).rename(end_ts="_end").mutate(
        conversions=ibis.literal(0.0), nulls=ibis.literal(1.0), value=ibis.literal(0.0))
    if not by:
        tails = tails.mutate(brand=ibis.null("string"))
    conv = conv.mutate(_prev=conv.end_ts.lag().over(ibis.window(group_by=group, order_by=conv.journey)))
    closed = conv.select(*JOURNEY_KEY, "end_ts", "_prev", conversions=ibis.literal(1.0), nulls=ibis.literal(0.0),
                         value=conv.value)
    allj = tails.select(*JOURNEY_KEY, "end_ts", "_prev", "conversions", "nulls", "value").union(closed)
    # the journey's window: after the consumer's previous conversion, at most lookback_days long
    since = allj.end_ts - look
    allj = allj.mutate(window_start=ibis.ifelse(allj._prev.isnull() | (allj._prev < since), since, allj._prev))
    table = _journey_table(allj, per, group)
    meta = {"lookback_days": lookback_days, "conversion": conversion, "touch_types": touch_types,
            "by": by, "source": "events", "anchor": anchor, "campaigns": has_campaign}
    return Journeys(table=table, touches=touches.drop("end_ts"), key=key, meta=meta)


def _calendar_journeys(events: Table, ev: Table, group: list[str], by: str | None, key: str,
                       lookback_days: float, population: Table | None, end: Any, meta: dict[str, Any]) -> Journeys:
    """Journeys per consumer (x by) and calendar window of ``lookback_days`` (see :func:`journeys`)."""
    bounds = events.aggregate(lo=events.ts.min(), hi=events.ts.max()).to_pyarrow().to_pylist()[0]
    if bounds["lo"] is None:
        raise ParameterError("journeys: the events table is empty")
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
    convs = ev.filter(ev._conv == 1)
    conv = convs.group_by([*group, "journey"]).agg(end_ts=convs.ts.min(), value=convs._value.argmin(convs.ts))
    touch = ev.filter(ev._conv == 0).drop("_conv", "_value")
    j = touch.left_join(conv, [*group, "journey"]).join(windows, "journey")
    j = j.filter(j.end_ts.isnull() | (j.ts <= j.end_ts))
    j = j.select(*group, "journey", "ts", "channel", "campaign", "event_type", "cost",
                 end_ts=ibis.coalesce(j.end_ts, j.window_end), converted=j.end_ts.notnull(),
                 value=j.value.fill_null(0.0))
    touches, per, conv = _touches_and_sizes(j, conv, by)
    pop = _population(ev, group, population)
    allj = pop.cross_join(windows)
    if not by:
        allj = allj.mutate(brand=ibis.null("string"))
    on = [*group, "journey"]
    allj = allj.left_join(conv.select(*on, "end_ts", "value"), on)
    allj = allj.select(*JOURNEY_KEY, "window_start", end_ts=ibis.coalesce(allj.end_ts, allj.window_end),
                       conversions=allj.end_ts.notnull().cast("float64"),
                       nulls=allj.end_ts.isnull().cast("float64"), value=allj.value.fill_null(0.0))
    table = _journey_table(allj, per, group)
    meta = {**meta, "windows": n_windows, "first": str(first)}
    return Journeys(table=table, touches=touches.drop("end_ts"), key=key, meta=meta)


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
    """Numbered touches, per-journey size / first touch / cost, and conversions keyed like journeys."""
    if not by:
        j = j.mutate(brand=ibis.null("string"))
        conv = conv.mutate(brand=ibis.null("string"))
    touches = _number_touches(j)
    per = touches.group_by(list(JOURNEY_KEY)).agg(
        n_touches=touches.touch.max(), start_ts=touches.ts.min(), cost=touches.cost.sum())
    return touches, per, conv


def _number_touches(j: Table) -> Table:
    """Touch numbers in time order, journey sizes and hours before each journey's end."""
    wj = ibis.window(group_by=list(JOURNEY_KEY), order_by=[j.ts, j.channel, j.campaign, j.event_type])
    return j.select(
        *JOURNEY_KEY,
        touch=(ibis.row_number().over(wj) + 1).cast("int64"),
        n_touches=j.count().over(ibis.window(group_by=list(JOURNEY_KEY))).cast("int64"),
        ts=j.ts, channel=j.channel, campaign=j.campaign, event_type=j.event_type, cost=j.cost,
        hours=(j.end_ts.epoch_seconds() - j.ts.epoch_seconds()).cast("float64") / 3600.0,
        conversions=j.converted.cast("float64"), nulls=(~j.converted).cast("float64"), value=j.value,
        end_ts=j.end_ts,
    )


def _population(ev: Table, group: list[str], population: Table | None) -> Table:
    if population is None:
        return ev.select(*group).distinct()
    miss = [c for c in group if c not in population.columns]
    if miss:
        raise SchemaError(f"journeys: the population table lacks column(s) {miss}", table="users", column=miss[0])
    return population.select(*group).distinct()


def from_paths(paths: Any, engine: Any = None) -> Journeys:
    """Journeys from a ChannelAttribution path table (``path, conversions, value, nulls``).

    Each row becomes one weighted journey: its touches are the path's channels
    (``user_id`` = the path's rank in path order, ``brand`` null), its ``conversions`` / ``nulls`` /
    ``value`` the row's totals. Touch times are unknown (``ts`` and ``hours``
    are null), so time-decay attribution needs journeys built from events.

    Parameters
    ----------
    paths : pandas.DataFrame, str or path-like, or ibis Table
        A ``paths`` table, a ChannelAttribution file (read with
        :func:`~marketing360.datasets.read_channelattribution_paths`), or an
        ibis table with the ``paths`` columns.
    engine : Engine, optional
        Where to put a frame or a file (DuckDB by default).

    Returns
    -------
    Journeys

    Examples
    --------
    >>> import pandas as pd
    >>> from marketing360.attribution import from_paths
    >>> j = from_paths(pd.DataFrame({"path": ["a > b", "b"], "conversions": [2, 1],
    ...                              "value": [20.0, 5.0], "nulls": [1, 3]}))
    >>> j.paths().to_pyarrow().to_pandas()
        path  conversions  value  nulls
    0  a > b          2.0   20.0    1.0
    1      b          1.0    5.0    3.0
    """
    import os

    if isinstance(paths, Table):
        t = paths
        missing = [c for c in ("path", "conversions") if c not in t.columns]
        if missing:
            raise SchemaError(f"from_paths: the paths table lacks column(s) {missing}", table="paths",
                              column=missing[0])
    else:
        if isinstance(paths, (str, os.PathLike)):
            from ..datasets import read_channelattribution_paths

            df = read_channelattribution_paths(paths)
        elif isinstance(paths, pd.DataFrame):
            from ..datasets.readers import normalize_path

            df = validate(paths, "paths")
            df = df.assign(path=normalize_path(df["path"]))  # "a>b" -> "a > b"; an empty channel name raises
        else:
            raise ParameterError(f"paths must be a DataFrame, a file or an ibis table; found {type(paths).__name__}")
        if engine is None:
            from ..engine import connect

            engine = connect()
        t = engine.table(df)
    t = t.select(
        user_id=ibis.row_number().over(order_by=t.path).cast("int64"),  # a short key: the path's rank
        brand=ibis.null("string"),
        journey=ibis.literal(0, "int64"),
        conversions=t.conversions.cast("float64"),
        nulls=(t.nulls.cast("float64").fill_null(0.0) if "nulls" in t.columns else ibis.literal(0.0)),
        value=(t.value.cast("float64").fill_null(0.0) if "value" in t.columns else ibis.literal(0.0)),
        _ch=t.path.cast("string").split(PATH_SEP),
    )
    n = t._ch.length().cast("int64")
    table = t.select(*JOURNEY_KEY, "conversions", "nulls", "value", n_touches=n,
                     start_ts=ibis.null("timestamp"), end_ts=ibis.null("timestamp"),
                     window_start=ibis.null("timestamp"), window_days=ibis.null("float64"), cost=ibis.null("float64"))
    u = t.mutate(n_touches=n).unnest("_ch", offset="_pos")
    touches = u.select(
        *JOURNEY_KEY, touch=(u._pos + 1).cast("int64"), n_touches=u.n_touches, ts=ibis.null("timestamp"),
        channel=u._ch.strip(), campaign=ibis.null("string"), event_type=ibis.null("string"),
        cost=ibis.null("float64"), hours=ibis.null("float64"),
        conversions=u.conversions, nulls=u.nulls, value=u.value)
    return Journeys(table=table, touches=touches, key="channel", meta={"source": "paths"})
