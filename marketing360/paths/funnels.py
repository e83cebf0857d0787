"""Funnels: how far each consumer gets through ordered steps within a time window (ClickHouse's ``windowFunnel``).

Each consumer's events that match a step are read in time order (one event
matching several steps counts for each, earlier steps first). A chain starts
at an event of step 1; an event of step ``k`` extends a chain that has reached
step ``k - 1`` when it comes at most ``window`` after the chain's start; the
consumer's level is the longest chain's length (ClickHouse's algorithm, which
keeps for each step the latest start that reached it). Two of ClickHouse's
modes:

* ``strict_order``: once a chain has started, an event that matches no step,
  or a step whose previous step has not been reached yet, ends the search (in
  ``A > B > D > C`` the funnel ``A, B, C`` stops at ``D`` with level 2);
* ``strict_deduplication``: an event of a step already reached (other than
  the first step, whose repeats restart the chain) ends the search.

The search runs on the engine, with windows only: for each step one running
maximum over the consumer's matching events carries the latest chain start,
so the level of every consumer comes out of one sort. On DuckDB the plain mode
runs as one in-process pass instead (the engine's ``funnel_levels``
capability, :mod:`marketing360.engine.pathkernels`): one sort of the events'
columns and one walk through them, with the same result.

:func:`funnel` returns per step the consumers who reached it, the conversion
from the previous and from the first step, the drop-off and the time to reach
it (from the chain's start to the first event that reached it), per segment of
a consumer attribute; :meth:`Funnel.compare` sets two funnels (periods) or two
segments side by side with an interval on each difference of conversion rates.

Examples
--------
>>> import pandas as pd
>>> from marketing360.paths import funnel
>>> ev = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 3],
...     "ts": pd.to_datetime(["2025-03-01 10:00", "2025-03-01 10:05", "2025-03-01 10:30",
...                           "2025-03-01 09:00", "2025-03-03 09:00", "2025-03-01 12:00"]),
...     "event_type": ["browse", "cart", "purchase", "browse", "cart", "browse"]})
>>> f = funnel(ev, ["browse", "cart", "purchase"], window="1D")
>>> f.table()[["step", "name", "consumers", "rate_from_previous", "median_minutes"]].round(3)
   step      name  consumers  rate_from_previous  median_minutes
0     1    browse          3               1.000             0.0
1     2      cart          1               0.333             5.0
2     3  purchase          1               1.000            30.0
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import ibis
import numpy as np
import pandas as pd
from ibis.expr.types import BooleanValue, Table
from scipy import stats

from ..engine import cache, engine_of, fetch
from ..errors import ParameterError, SchemaError
from ..inputs import as_table, open_table, require_columns
from ..results import Result
from ..schema import EVENT_TYPES
from ..types import TableLike
from ._concat import label_codes

__all__ = ["Funnel", "FunnelComparison", "funnel", "FunnelRate"]

#: a step: an event type, a mapping of column to value(s) that must all match, or a callable on the events table
Step = str | Mapping[str, Any] | Callable[[Table], BooleanValue]
FunnelRate = Literal["from_first", "from_previous"]
#: the segment of consumers the segments table does not list
NO_SEGMENT = "(none)"
_MAX_STEPS = 32
#: the time-to-step quantiles each funnel reports (p25, median, p75, p90)
_QUANTILES = (0.25, 0.5, 0.75, 0.9)


class Funnel(Result):
    """A funnel: per (segment and) step, ``consumers`` who reached it, ``rate_from_previous``,
    ``rate_from_first``, ``drop_off`` (consumers of the previous step who did not reach it) and the time to reach
    it from the chain's start (``median_minutes``, ``p25_minutes``, ``p75_minutes``, ``p90_minutes``).

    Attributes
    ----------
    levels : ibis Table
        One row per consumer (x brand): ``user_id``, ``brand``, ``segment``, ``level`` (steps reached, 0 to n)
        and ``minutes_1`` .. ``minutes_n`` (time from the chain's start to the step; null when not reached).
    steps : list of str
        The steps' names.
    window : pandas.Timedelta or None
    strict_order, strict_deduplication : bool
    population : dict of str to int
        Consumers (x brand) with at least one event in the period, per segment.
    """

    title = "funnel"
    keys = ("segment", "step")

    def __init__(self, frame: pd.DataFrame, *, levels: Table, steps: Sequence[str], window: pd.Timedelta | None,
                 strict_order: bool, strict_deduplication: bool, population: Mapping[str, int],
                 segmented: bool, by: str | None) -> None:
        super().__init__(frame)
        self.levels = levels
        self.steps = list(steps)
        self.window = window
        self.strict_order = strict_order
        self.strict_deduplication = strict_deduplication
        self.population = dict(population)
        self.segmented = segmented
        self.by = by

    def _notes(self) -> list[str]:
        modes = [m for m, on in (("strict_order", self.strict_order),
                                 ("strict_deduplication", self.strict_deduplication)) if on] or ["plain"]
        unit = f"consumer x {self.by}" if self.by else "consumer"
        pop = ", ".join(f"{k}: {v:,}" for k, v in self.population.items())
        within = f"within {self.window} of the first" if self.window is not None else "with no time limit"
        return [f"{len(self.steps)} steps {within}, per {unit}; mode {' + '.join(modes)}",
                f"consumers with events in the period: {pop}"]

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """Bars of the consumers at each step (per segment), with the conversion from the previous step."""
        from ..viz.paths import plot_funnel

        return plot_funnel(self.table(), ax=ax, **kwargs)

    def times(self, step: int) -> pd.Series:
        """Minutes from the chain's start to ``step`` (1-based) for every consumer who reached it (fetched)."""
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or not 1 <= step <= len(self.steps):
            raise ParameterError(f"step must be 1 to {len(self.steps)}; found {step!r}")
        col = f"minutes_{int(step)}"
        t = self.levels
        return fetch(t.filter(t[col].notnull()).select(col))[col].astype("float64")

    def compare(self, other: "Funnel | None" = None, *, segments: tuple[str, str] | None = None,
                rate: FunnelRate = "from_first", alpha: float = 0.05) -> "FunnelComparison":
        """Conversion rates side by side: this funnel vs ``other`` (another period), or two of its ``segments``.

        The difference (second minus first) gets Newcombe's hybrid score interval (from the two Wilson intervals),
        which keeps its coverage for rates near 0 or 1 and small counts.

        Parameters
        ----------
        other : Funnel, optional
            The same steps over another period or population (unsegmented, or compared segment by segment).
        segments : (str, str), optional
            Two segments of this funnel, instead of ``other``.
        rate : {"from_first", "from_previous"}
            Conversion from the first step or from the previous one.
        alpha : float
            1 - the intervals' confidence.
        """
        if rate not in ("from_first", "from_previous"):
            raise ParameterError(f"rate must be 'from_first' or 'from_previous'; found {rate!r}")
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < float(alpha) < 1:
            raise ParameterError(f"alpha must be in (0, 1); found {alpha!r}")
        a = self.table()
        if (other is None) == (segments is None):
            raise ParameterError("compare: give either another funnel (other=) or two segments (segments=)")
        if other is not None:
            if not isinstance(other, Funnel):
                raise ParameterError(f"compare: other must be a Funnel; found {type(other).__name__}")
            if other.steps != self.steps:
                raise ParameterError(f"compare: the funnels have different steps: {self.steps} vs {other.steps}")
            b = other.table()
            labels = ("first", "second")
        else:
            if not isinstance(segments, tuple) or len(segments) != 2:
                raise ParameterError(f"compare: segments must be a pair of segment names; found {segments!r}")
            known = a["segment"].astype(str).unique().tolist()
            bad = [s for s in segments if s not in known]
            if bad:
                raise ParameterError(f"compare: unknown segment(s) {bad}; the funnel's segments are {known}")
            b = a[a["segment"] == segments[1]]
            a = a[a["segment"] == segments[0]]
            labels = (str(segments[0]), str(segments[1]))
        rows = []
        for (_, ra), (_, rb) in zip(_by_segment(a, other is not None), _by_segment(b, other is not None)):
            for i in range(len(self.steps)):
                base = 0 if rate == "from_first" else max(i - 1, 0)
                xa, na = int(ra["consumers"].iloc[i]), int(ra["consumers"].iloc[base])
                xb, nb = int(rb["consumers"].iloc[i]), int(rb["consumers"].iloc[base])
                pa = xa / na if na else np.nan
                pb = xb / nb if nb else np.nan
                lo, hi = newcombe_interval(xb, nb, xa, na, alpha)
                rows.append({"segment": ra["segment"].iloc[0] if other is not None else f"{labels[1]} vs {labels[0]}",
                             "step": i + 1, "name": self.steps[i], "consumers_a": na, "converted_a": xa,
                             "rate_a": pa, "consumers_b": nb, "converted_b": xb, "rate_b": pb,
                             "difference": pb - pa, "lower": lo, "upper": hi})
        return FunnelComparison(pd.DataFrame(rows), rate=rate, alpha=float(alpha), labels=labels)


class FunnelComparison(Result):
    """Two funnels' conversion rates per step: ``rate_a``, ``rate_b`` (with the consumers they are out of),
    ``difference`` (b - a) and its ``lower`` / ``upper`` bounds (Newcombe's hybrid score interval)."""

    title = "funnel comparison"
    keys = ("segment", "step")

    def __init__(self, frame: pd.DataFrame, *, rate: FunnelRate, alpha: float, labels: tuple[str, str]) -> None:
        super().__init__(frame)
        self.rate = rate
        self.alpha = alpha
        self.labels = labels

    def _notes(self) -> list[str]:
        return [f"conversion {self.rate.replace('_', ' ')} step; b = {self.labels[1]}, a = {self.labels[0]}; "
                f"{1 - self.alpha:.0%} intervals on b - a (Newcombe hybrid score)"]

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """The interval bounds of each difference (at the comparison's ``alpha`` unless another is given)."""
        df = self.table()
        if alpha is None or alpha == self.alpha:
            return df[["segment", "step", "lower", "upper"]]
        lo_hi = [newcombe_interval(int(r.converted_b), int(r.consumers_b), int(r.converted_a), int(r.consumers_a),
                                   alpha) for r in df.itertuples()]
        return df[["segment", "step"]].assign(lower=[x[0] for x in lo_hi], upper=[x[1] for x in lo_hi])


def _by_segment(df: pd.DataFrame, split: bool) -> list[tuple[Any, pd.DataFrame]]:
    if not split:
        return [(None, df.sort_values("step"))]
    return [(k, g.sort_values("step")) for k, g in df.groupby("segment", observed=True, sort=True)]


def wilson_interval(x: int, n: int, alpha: float) -> tuple[float, float]:
    """Wilson's score interval for a proportion ``x / n`` (NaN for n = 0)."""
    if n == 0:
        return np.nan, np.nan
    z = float(stats.norm.ppf(1 - alpha / 2))
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def newcombe_interval(x1: int, n1: int, x2: int, n2: int, alpha: float) -> tuple[float, float]:
    """Newcombe's hybrid score interval (his method 10) for ``x1 / n1 - x2 / n2``."""
    if n1 == 0 or n2 == 0:
        return np.nan, np.nan
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, alpha)
    l2, u2 = wilson_interval(x2, n2, alpha)
    d = p1 - p2
    return d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def _window(window: Any) -> pd.Timedelta | None:
    if window is None:
        return None
    try:
        w = pd.Timedelta(seconds=float(window)) if isinstance(window, numbers.Real) and not isinstance(
            window, bool) else pd.Timedelta(window)
    except (TypeError, ValueError):
        raise ParameterError(f"window must be a duration ('7D', '30min', a pandas Timedelta) or seconds; "
                             f"found {window!r}") from None
    if pd.isna(w) or w < pd.Timedelta(0):
        raise ParameterError(f"window must be a duration >= 0; found {window!r}")
    return w


def _step_condition(step: Any, ev: Table, i: int) -> tuple[str, BooleanValue]:
    if isinstance(step, str):
        if step not in EVENT_TYPES:
            raise ParameterError(f"step {i}: {step!r} is not an event type; allowed: {list(EVENT_TYPES)} (or give "
                                 "a dict of column values, or a callable on the events table)")
        return step, ev.event_type == step
    if isinstance(step, Mapping):
        if not step:
            raise ParameterError(f"step {i}: an empty mapping matches every event; name at least one column")
        conds = []
        for col, value in step.items():
            if col not in ev.columns:
                raise SchemaError(f"funnel step {i}: {col!r} is not a column of the events; they have "
                                  f"{list(ev.columns)}", table="events", column=str(col))
            values = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
            conds.append(ev[col].isin(values).fill_null(False))
        cond = conds[0]
        for c in conds[1:]:
            cond = cond & c
        name = " & ".join(f"{k}={v}" for k, v in step.items()) if len(step) > 1 or "event_type" not in step \
            else str(step["event_type"])
        return name, cond
    if callable(step):
        try:
            cond = step(ev)
        except Exception as exc:  # noqa: BLE001 - a user's callable: name the step
            raise ParameterError(f"step {i}: the callable failed on the events table: {exc}") from exc
        if not isinstance(cond, BooleanValue):
            raise ParameterError(f"step {i}: the callable must return a boolean column expression; found "
                                 f"{type(cond).__name__}")
        return getattr(step, "__name__", f"step {i}"), cond.fill_null(False)
    raise ParameterError(f"step {i}: give an event type, a dict of column values or a callable; found "
                         f"{type(step).__name__}")


def funnel(events: TableLike, steps: Sequence[Step], *, window: Any, strict_order: bool = False,
           strict_deduplication: bool = False, by: str | None = None, segments: TableLike | None = None,
           segment: str | None = None, start: Any = None, end: Any = None) -> Funnel:
    """How far consumers get through ordered ``steps`` within ``window`` of the first (``windowFunnel`` semantics).

    Parameters
    ----------
    events : table
        Canonical events: ``user_id, ts, event_type`` and the columns the steps name.
    steps : sequence
        2 to 32 steps, each an event type (``"cart"``), a dict of column values that must all match
        (``{"event_type": "browse", "channel": ["search", "email"]}``) or a callable that takes the events table
        and returns a boolean column (``lambda t: t.value >= 100``).
    window : duration or None
        Longest time from a chain's first step to its last (``"7D"``, ``"30min"``, a Timedelta, or seconds);
        None: no limit.
    strict_order, strict_deduplication : bool
        ClickHouse's modes (see the module's description).
    by : {"brand", None}
        Funnels per consumer and brand (events without a brand are left out), or per consumer.
    segments : table, optional
        A consumer attribute: ``user_id`` and the ``segment`` column (one row per consumer); consumers it does not
        list are segment ``(none)``.
    segment : str, optional
        The column of ``segments`` to break the funnel down by.
    start, end : datetime-like, optional
        Only events at or after ``start`` and before ``end``.

    Returns
    -------
    Funnel
    """
    if isinstance(steps, (str, Mapping)) or not isinstance(steps, Sequence):
        raise ParameterError(f"steps must be a list of steps; found {type(steps).__name__}")
    if not 1 <= len(steps) <= _MAX_STEPS:
        raise ParameterError(f"a funnel has 1 to {_MAX_STEPS} steps; found {len(steps)}")
    w = _window(window)
    for name, flag in (("strict_order", strict_order), ("strict_deduplication", strict_deduplication)):
        if not isinstance(flag, bool):
            raise ParameterError(f"{name} must be True or False; found {flag!r}")
    if by not in ("brand", None):
        raise ParameterError(f"by must be 'brand' or None; found {by!r}")
    if (segments is None) != (segment is None):
        raise ParameterError("give segments (a table of consumers) and segment (its column) together")
    ev = as_table(events, "events", need=["brand"] if by else [], what="funnel")
    bounds: list[pd.Timestamp | None] = []
    for name, value in (("start", start), ("end", end)):
        if value is None:
            bounds.append(None)
            continue
        try:
            ts = pd.Timestamp(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{name} must be a timestamp; found {value!r}") from None
        bounds.append(ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts)
    if bounds[0] is not None and bounds[1] is not None and bounds[1] <= bounds[0]:
        raise ParameterError(f"end {bounds[1]} must come after start {bounds[0]}")
    if bounds[0] is not None:
        ev = ev.filter(ev.ts >= ibis.literal(bounds[0], type=ev.ts.type()))
    if bounds[1] is not None:
        ev = ev.filter(ev.ts < ibis.literal(bounds[1], type=ev.ts.type()))
    if by:
        ev = ev.filter(ev[by].notnull())
    group = ["user_id"] + ([by] if by else [])
    named = [_step_condition(s, ev, i + 1) for i, s in enumerate(steps)]
    names = [n for n, _ in named]
    n = len(named)
    eng = engine_of(ev)
    if not (strict_order or strict_deduplication) and eng.supports("funnel_levels"):
        levels = _levels_in_process(eng, ev, [c for _, c in named], by, w)
    else:
        levels = _levels_relational(ev, named, group, w, strict_order, strict_deduplication)
    if not by:
        levels = levels.mutate(brand=ibis.null("string"))
    if segments is not None:
        seg = open_table(segments, what="funnel segments")
        require_columns(seg, ["user_id", str(segment)], what="funnel segments", table_name="segments")
        count = fetch(seg.aggregate(rows=seg.count(), consumers=seg.user_id.nunique())).iloc[0]
        if int(count["rows"]) != int(count["consumers"]):
            raise SchemaError(f"funnel segments: {int(count['rows']) - int(count['consumers'])} row(s) repeat a "
                              f"consumer; give one {segment} per consumer", table="segments", column="user_id")
        if seg.user_id.type().is_string() != levels.user_id.type().is_string():
            raise SchemaError(f"funnel segments: user_id is {seg.user_id.type()} but the events' is "
                              f"{levels.user_id.type()}", table="segments", column="user_id")
        seg = seg.select("user_id", _seg=seg[str(segment)].cast("string"))
        levels = levels.left_join(seg, "user_id").mutate(segment=ibis.coalesce(ibis._._seg, NO_SEGMENT)).drop("_seg")
    else:
        levels = levels.mutate(segment=ibis.literal("all"))
    levels = levels.select("user_id", "brand", "segment", "level", *[f"minutes_{k}" for k in range(1, n + 1)])
    frame, population = _summarise(levels, names)
    return Funnel(frame, levels=levels, steps=names, window=w, strict_order=strict_order,
                  strict_deduplication=strict_deduplication, population=population, segmented=segments is not None,
                  by=by)


def _levels_relational(ev: Table, named: list[tuple[str, BooleanValue]], group: list[str],
                       window: pd.Timedelta | None, strict_order: bool, strict_deduplication: bool) -> Table:
    """Every consumer's (x brand) level and minutes to each step, as relational expressions on any engine."""
    n = len(named)
    # one row per (event, step it matches); with strict_order also the events that match no step (step 0)
    parts = [ev.filter(cond).select(*group, "ts", _k=ibis.literal(i + 1, type="int64"))
             for i, (_, cond) in enumerate(named)]
    if strict_order or strict_deduplication:
        if strict_order:
            anyc = named[0][1]
            for _, c in named[1:]:
                anyc = anyc | c
            parts.append(ev.filter(~anyc).select(*group, "ts", _k=ibis.literal(0, type="int64")))
        pairs = parts[0]
        for p in parts[1:]:
            pairs = pairs.union(p, distinct=False)
        levels = _levels(pairs, group, n, window, strict_order, strict_deduplication)
    else:
        levels = _levels_plain(parts, group, window)
    consumers = ev.select(*group).distinct()
    return consumers.left_join(levels, group).select(
        *group, level=ibis.coalesce(ibis._.level, 0).cast("int64"),
        **{f"minutes_{k}": ibis._[f"minutes_{k}"] for k in range(1, n + 1)})


def _levels_in_process(eng: Any, ev: Table, conditions: list[BooleanValue], by: str | None,
                       window: pd.Timedelta | None) -> Table:
    """The plain mode's levels from the engine's in-process pass (``funnel_levels``): one sort, one walk."""
    mask = ibis.literal(0, type="int64")
    for k, cond in enumerate(conditions):  # bit k: the event matches step k + 1
        mask = mask + ibis.ifelse(cond, 1 << k, 0).cast("int64")
    if by:
        ev, brands = label_codes(ev, by, name="_b")
    else:
        ev, brands = ev.mutate(_b=ibis.literal(0, type="int64")), []
    events = ev.select("user_id", "ts", _b=ev._b.cast("int32"), _mask=mask.cast("int32" if len(conditions) < 32
                                                                               else "int64"))
    span = None if window is None else int(window / pd.Timedelta(microseconds=1))
    return eng.capability("funnel_levels")(events, n_steps=len(conditions), window_us=span, brand=by, brands=brands)


def _levels(pairs: Table, group: list[str], n: int, window: pd.Timedelta | None, strict_order: bool,
            strict_deduplication: bool) -> Table:
    """Each consumer's level and minutes to each step, from the (event, step) rows, with running windows only."""
    cw = ibis.cumulative_window(group_by=group, order_by=[pairs.ts, pairs._k])
    span = None if window is None else ibis.interval(microseconds=int(window / pd.Timedelta(microseconds=1)))
    t = pairs.mutate(_pos=ibis.row_number().over(cw), _s1=ibis.ifelse(pairs._k == 1, pairs.ts, ibis.null("timestamp")))
    for k in range(2, n + 1):  # the latest chain start that reached step k - 1, carried to step k's events
        t = t.mutate(**{f"_m{k}": t[f"_s{k - 1}"].max().over(cw)})
        m = t[f"_m{k}"]
        ok = (t._k == k) & m.notnull()
        if span is not None:
            ok = ok & (t.ts <= m + span)
        t = t.mutate(**{f"_s{k}": ibis.ifelse(ok, m, ibis.null("timestamp"))}).drop(f"_m{k}")
    valid = {k: t[f"_s{k}"].notnull().cast("int64") for k in range(1, n + 1)}
    stop = None
    if strict_order or strict_deduplication:
        # reached-before counts per step (the row itself excluded: it is of its own step)
        t = t.mutate(**{f"_r{k}": valid[k].sum().over(cw) - valid[k] for k in range(1, n + 1)})
        reached = {k: t[f"_r{k}"] > 0 for k in range(1, n + 1)}
        stops = []
        if strict_deduplication:  # a step (not the first) already reached
            stops += [(t._k == k) & reached[k] for k in range(2, n + 1)]
        if strict_order:  # after a start: an event of no step, or of a step whose previous one is not reached
            t = t.mutate(_f=(t._k == 1).cast("int64").sum().over(cw) - (t._k == 1).cast("int64"))
            started = t._f > 0
            stops += [started & (t._k == 0)]
            stops += [started & (t._k == k) & ~reached[k - 1] for k in range(2, n + 1)]
        stop = stops[0]
        for s in stops[1:]:
            stop = stop | s
        t = t.mutate(_stop=stop)
        first_stop = t.filter(t._stop).group_by(group).agg(_cut=ibis._._pos.min())
        t = t.left_join(first_stop, group)
        t = t.filter(t._cut.isnull() | (t._pos < t._cut))
    valid = {k: t[f"_s{k}"].notnull() for k in range(1, n + 1)}
    lev = ibis.cases(*[(valid[k], k) for k in range(n, 0, -1)], else_=0)
    minutes = {f"minutes_{k}": ibis.ifelse(valid[k], (t.ts.epoch_seconds() - t[f"_s{k}"].epoch_seconds())
                                           .cast("float64") / 60.0, ibis.null("float64")) for k in range(1, n + 1)}
    t = t.mutate(_lev=lev, **{f"_first{k}": ibis.ifelse(valid[k], t._pos, ibis.null("int64"))
                              for k in range(1, n + 1)}, **{f"_min{k}": v for k, v in
                                                             ((k, minutes[f"minutes_{k}"]) for k in range(1, n + 1))})
    aggs: dict[str, Any] = {"level": t._lev.max()}
    for k in range(1, n + 1):  # the first event that reached step k: its time from the chain's start
        aggs[f"minutes_{k}"] = t[f"_min{k}"].argmin(t[f"_first{k}"])
    return t.group_by(group).agg(**aggs)


def _levels_plain(parts: list[Table], group: list[str], window: pd.Timedelta | None) -> Table:
    """The plain mode step by step: each step's events joined only with the chains that reached the step before.

    A chain reaches step k at an event of step k when the latest start of a chain that reached step k - 1
    at or before it lies within the window; only the events of steps k - 1 and k take part in that running
    maximum, and only where the consumer has events of step k, so the engine sorts few rows (the result
    equals :func:`_levels`'s).
    """
    span = None if window is None else ibis.interval(microseconds=int(window / pd.Timedelta(microseconds=1)))
    first = parts[0]
    reached = first.select(*group, "ts", _s=first.ts)  # every event of step 1 starts a chain
    levels = first.group_by(group).agg(minutes_1=ibis.literal(0.0, type="float64"))
    for k in range(2, len(parts) + 1):
        step = parts[k - 1]
        # chains can only go on where the consumer has events of step k: not after the last, nor a window
        # before the first (a start that early is out of every window); this spares most of the sort
        rng = step.group_by(group).agg(_lo=step.ts.min(), _hi=step.ts.max())
        r = reached.join(rng, group)
        keep = r.ts <= r._hi
        if span is not None:
            keep = keep & (r.ts >= r._lo - span)
        reached = r.filter(keep).select(*group, "ts", "_s")
        later = step.select(*group, "ts", _s=ibis.null(reached._s.type()), _k=ibis.literal(1, type="int64"))
        u = reached.mutate(_k=ibis.literal(0, type="int64")).union(later, distinct=False)
        u = u.mutate(_m=u._s.max().over(ibis.cumulative_window(group_by=group, order_by=[u.ts, u._k])))
        ok = (u._k == 1) & u._m.notnull()
        if span is not None:
            ok = ok & (u.ts <= u._m + span)
        u = u.mutate(_ok=ok)  # a column first: Spark does not filter on a window
        reached = cache(u.filter(u._ok).select(*group, "ts", _s=u._m))
        minutes = (reached.ts.epoch_seconds() - reached._s.epoch_seconds()).cast("float64") / 60.0
        levels = levels.left_join(reached.group_by(group).agg(**{f"minutes_{k}": minutes.argmin(reached.ts)}),
                                  group).drop(*[f"{g}_right" for g in group])
    n = len(parts)
    lev = ibis.cases(*[(levels[f"minutes_{k}"].notnull(), k) for k in range(n, 0, -1)], else_=0)
    return levels.mutate(level=lev.cast("int64"))


def _summarise(levels: Table, names: list[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    n = len(names)
    t = levels
    aggs: dict[str, Any] = {"population": t.count()}
    for k in range(1, n + 1):  # the four quantiles of a step in one aggregate: one sort of its times, not four
        aggs[f"c{k}"] = (t.level >= k).cast("int64").sum()
        aggs[f"q{k}"] = t[f"minutes_{k}"].quantile(list(_QUANTILES))
    g = fetch(t.group_by("segment").agg(**aggs)).sort_values("segment").reset_index(drop=True)
    rows = []
    for r in g.itertuples(index=False):
        d = r._asdict()
        counts = [int(d[f"c{k}"]) for k in range(1, n + 1)]
        for k in range(1, n + 1):
            prev = counts[k - 2] if k > 1 else counts[0]
            q = d[f"q{k}"]  # null (no consumer reached the step) or the four quantiles
            q = [np.nan] * len(_QUANTILES) if q is None or np.ndim(q) == 0 else [
                np.nan if x is None else float(x) for x in q]
            rows.append({"segment": d["segment"], "step": k, "name": names[k - 1], "consumers": counts[k - 1],
                         "rate_from_previous": counts[k - 1] / prev if prev else np.nan,
                         "rate_from_first": counts[k - 1] / counts[0] if counts[0] else np.nan,
                         "drop_off": prev - counts[k - 1] if k > 1 else 0,
                         "median_minutes": q[1], "p25_minutes": q[0], "p75_minutes": q[2], "p90_minutes": q[3]})
    frame = pd.DataFrame(rows, columns=["segment", "step", "name", "consumers", "rate_from_previous",
                                        "rate_from_first", "drop_off", "median_minutes", "p25_minutes",
                                        "p75_minutes", "p90_minutes"])
    frame = frame.astype({c: "float64" for c in ("median_minutes", "p25_minutes", "p75_minutes", "p90_minutes")})
    return frame, {str(s): int(p) for s, p in zip(g["segment"], g["population"])}
