"""The most frequent session paths, and how many distinct paths it takes to cover the consumers.

:func:`top_paths` ranks the distinct paths of a :class:`~marketing360.paths.Sessions`
by their sessions (ties by path) and gives, for the top ``n``, their sessions,
consumers, converting sessions, conversion rate and value; everything else
goes to one ``(other)`` row, so the sessions, converting sessions and value of
the rows add up to the totals exactly. Sessions with no step (events without a
label) are the path ``(no steps)``. ``max_steps`` truncates every path after
that many steps (``a > b > ...``), which merges the long tail before ranking.

:func:`path_coverage` gives the coverage curve: the share of consumers (or of
sessions) covered by the ``k`` most frequent paths, for every ``k``. A
consumer is covered once any of their sessions follows one of the ``k`` paths
(paths ranked by their consumers); a session once its path is among them
(ranked by sessions). :attr:`PathCoverage.needed` reads off how many paths
cover 50, 80 and 95%.

Examples
--------
>>> import pandas as pd
>>> from marketing360.paths import sessions, top_paths, path_coverage
>>> ev = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 4], "brand": "A",
...     "ts": pd.to_datetime(["2025-03-01 10:00", "2025-03-01 10:05", "2025-03-01 09:00", "2025-03-01 09:01",
...                           "2025-03-02 08:00", "2025-03-02 08:00"]),
...     "event_type": ["browse", "purchase", "browse", "purchase", "browse", "search"]})
>>> s = sessions(ev)
>>> top_paths(s, n=1).table()[["rank", "path", "sessions", "consumers", "conversion_rate"]]
   rank                path  sessions  consumers  conversion_rate
0   1.0  browse > purchase         2          2              1.0
1   NaN             (other)         2          2              0.0
>>> path_coverage(s).needed
{0.5: 1, 0.8: 3, 0.95: 3}
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Literal

import ibis
import numpy as np
import pandas as pd
from ibis.expr.types import Table

from ..engine import cache, engine_of, fetch
from ..errors import ParameterError
from ..results import Result
from ..schema import PATH_SEP
from ..types import TableLike
from ._concat import ordered_concat
from .sessions import SESSION_KEY, Sessions, as_sessions

__all__ = ["TopPaths", "PathCoverage", "top_paths", "path_coverage", "OTHER_PATH", "NO_STEPS", "MORE_STEPS"]

#: the row of a top-paths table that holds every path below the top n
OTHER_PATH = "(other)"
#: the path of a session none of whose events has a step label
NO_STEPS = "(no steps)"
#: the last step of a path truncated by ``max_steps``
MORE_STEPS = "..."

CoverageUnit = Literal["consumers", "sessions"]


class TopPaths(Result):
    """The top paths: ``rank`` (1 = most sessions; empty for ``(other)``), ``path``, ``n_steps``, ``sessions``,
    ``share_sessions``, ``consumers`` (distinct consumers with a session on the path), ``share_consumers`` (of
    all consumers; a consumer on several paths counts on each), ``converting`` (sessions with a conversion),
    ``conversion_rate`` and ``value``.

    Attributes
    ----------
    n : int
        Paths listed before ``(other)``.
    max_steps : int or None
    total_sessions, total_consumers, distinct_paths : int
    """

    title = "top paths"

    def __init__(self, frame: pd.DataFrame, *, n: int, max_steps: int | None, total_sessions: int,
                 total_consumers: int, distinct_paths: int, notes: Sequence[str] = ()) -> None:
        super().__init__(frame)
        self.n = n
        self.max_steps = max_steps
        self.total_sessions = total_sessions
        self.total_consumers = total_consumers
        self.distinct_paths = distinct_paths
        self._extra_notes = list(notes)

    def _notes(self) -> list[str]:
        cut = f", truncated after {self.max_steps} steps" if self.max_steps else ""
        return [f"{self.distinct_paths:,} distinct paths{cut} over {self.total_sessions:,} sessions of "
                f"{self.total_consumers:,} consumers; the top {self.n} shown, the rest in {OTHER_PATH!r}",
                *self._extra_notes]

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """Horizontal bars of the top paths' sessions, coloured by their conversion rate."""
        from ..viz.paths import plot_top_paths

        return plot_top_paths(self.table(), ax=ax, **kwargs)


class PathCoverage(Result):
    """The coverage curve: ``paths`` (k), ``path`` (the k-th path), ``covered`` (consumers or sessions the
    k-th path adds), ``coverage`` (share covered by the top k paths).

    Attributes
    ----------
    unit : {"consumers", "sessions"}
    needed : dict of float to int
        The fewest paths that cover each level (0.5, 0.8, 0.95 by default).
    total : int
        Consumers or sessions in all.
    """

    title = "path coverage"
    keys = ("paths",)

    def __init__(self, frame: pd.DataFrame, *, unit: CoverageUnit, levels: Sequence[float], total: int) -> None:
        super().__init__(frame)
        self.unit = unit
        self.total = total
        cov = frame["coverage"].to_numpy(float)
        self.needed = {float(q): int(np.searchsorted(cov, q - 1e-12) + 1) for q in levels}

    def _notes(self) -> list[str]:
        reads = ", ".join(f"{q:.0%} by {k:,}" for q, k in self.needed.items())
        return [f"{len(self._computed()):,} distinct paths cover {self.total:,} {self.unit}; covered: {reads} paths"]

    def _summary_table(self) -> pd.DataFrame:
        return self._computed().head(20)

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """The coverage curve (log-scaled number of paths), with the levels of :attr:`needed` marked."""
        from ..viz.paths import plot_coverage

        return plot_coverage(self.table(), self.needed, unit=self.unit, ax=ax, **kwargs)


def _session_paths(s: Sessions, max_steps: int | None) -> Table:
    """The session table with ``path`` (truncated after ``max_steps``) and ``n_steps``; no-step sessions named."""
    t = s.expr
    if max_steps is not None:
        st = s.steps
        key = list(SESSION_KEY)
        cut = ordered_concat(st.filter(st.step <= max_steps), key, "step", "label", name="_cut")
        on = ["user_id", "session"] + (["brand"] if s.by else [])
        t = t.left_join(cut.select(*on, "_cut"), on)
        more = t.n_steps > max_steps
        t = t.mutate(path=ibis.ifelse(more, t._cut + (PATH_SEP + MORE_STEPS), t.path),
                     n_steps=ibis.ifelse(more, max_steps + 1, t.n_steps)).drop("_cut")
    return t.mutate(path=ibis.ifelse(t.n_steps == 0, ibis.literal(NO_STEPS), t.path))


def _path_users(s: Sessions, max_steps: int | None) -> Table:
    """One row per path and consumer (sessions, converting sessions, value, steps), computed once and cached:
    every figure of the top paths and the coverage curve reads this small table, not the sessions again.
    An engine with the ``session_paths`` capability computes it from the events in process."""
    if max_steps is None and s._columnar is not None:
        events, options = s._columnar
        eng = engine_of(events)
        if eng.supports("session_paths"):
            return eng.capability("session_paths")(events, **options, sep=PATH_SEP, empty=NO_STEPS)
    t = _session_paths(s, max_steps)
    pu = t.group_by(["path", "user_id"]).agg(_sessions=t.count(), _converting=t.converted.cast("int64").sum(),
                                             _value=t.value.sum(), _n_steps=t.n_steps.max())
    return cache(pu)


def _count(value: Any, name: str, *, none: bool = False) -> int | None:
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ParameterError(f"{name} must be a whole number >= 1{' (or None)' if none else ''}; found {value!r}")
    return int(value)


def top_paths(data: Sessions | TableLike, *, n: int = 20, max_steps: int | None = None) -> TopPaths:
    """The ``n`` most frequent session paths, their consumers and conversion, and the rest in ``(other)``.

    Parameters
    ----------
    data : Sessions or table
        Sessions from :func:`~marketing360.paths.sessions`, or canonical events (cut with its defaults).
    n : int
        Paths listed before ``(other)``.
    max_steps : int, optional
        Truncate paths after this many steps (the rest becomes one ``...`` step).

    Returns
    -------
    TopPaths
    """
    n_ = _count(n, "n")
    assert n_ is not None
    max_steps = _count(max_steps, "max_steps", none=True)
    s = as_sessions(data)
    pu = _path_users(s, max_steps)
    per = pu.group_by("path").agg(sessions=pu._sessions.sum(), consumers=pu.count(),
                                  converting=pu._converting.sum(), value=pu._value.sum(), n_steps=pu._n_steps.max())
    top = fetch(per.order_by([ibis.desc(per.sessions), per.path]).limit(n_))
    if top.empty:
        raise ParameterError("top_paths: there are no sessions")
    rest = ~pu.path.isin(top["path"].tolist())
    totals = fetch(per.aggregate(paths=per.count()).cross_join(pu.aggregate(
        sessions=pu._sessions.sum(), consumers=pu.user_id.nunique(), o_sessions=pu._sessions.sum(where=rest),
        o_consumers=pu.user_id.nunique(where=rest), o_converting=pu._converting.sum(where=rest),
        o_value=pu._value.sum(where=rest)))).iloc[0]
    top.insert(0, "rank", np.arange(1, len(top) + 1, dtype="float64"))
    if totals["o_sessions"] > 0:
        other = {"rank": np.nan, "path": OTHER_PATH, "n_steps": np.nan, "sessions": totals["o_sessions"],
                 "consumers": totals["o_consumers"], "converting": totals["o_converting"], "value": totals["o_value"]}
        top = pd.concat([top, pd.DataFrame([other])], ignore_index=True)
    n_sessions, n_consumers = int(totals["sessions"]), int(totals["consumers"])
    top["share_sessions"] = top["sessions"] / n_sessions
    top["share_consumers"] = top["consumers"] / n_consumers
    top["conversion_rate"] = top["converting"] / top["sessions"]
    cols = ["rank", "path", "n_steps", "sessions", "share_sessions", "consumers", "share_consumers", "converting",
            "conversion_rate", "value"]
    top = top[cols].astype({"sessions": "int64", "consumers": "int64", "converting": "int64", "value": "float64"})
    return TopPaths(top, n=n_, max_steps=max_steps, total_sessions=n_sessions, total_consumers=n_consumers,
                    distinct_paths=int(totals["paths"]), notes=s._notes())


def path_coverage(data: Sessions | TableLike, *, unit: CoverageUnit = "consumers",
                  levels: Sequence[float] = (0.5, 0.8, 0.95), max_steps: int | None = None) -> PathCoverage:
    """The share of consumers (or sessions) the ``k`` most frequent paths cover, for every ``k``.

    Parameters
    ----------
    data : Sessions or table
        Sessions, or canonical events (cut with :func:`~marketing360.paths.sessions`' defaults).
    unit : {"consumers", "sessions"}
        Consumers: paths ranked by their consumers, a consumer covered once any of their sessions' paths is in
        the top k. Sessions: paths ranked by their sessions.
    levels : sequence of float
        Coverage levels in (0, 1] to read off (:attr:`PathCoverage.needed`).
    max_steps : int, optional
        Truncate paths first (see :func:`top_paths`).

    Returns
    -------
    PathCoverage
    """
    if unit not in ("consumers", "sessions"):
        raise ParameterError(f"unit must be 'consumers' or 'sessions'; found {unit!r}")
    lv = [float(q) for q in levels] if isinstance(levels, Sequence) and not isinstance(levels, str) else []
    if not lv or not all(0 < q <= 1 for q in lv):
        raise ParameterError(f"levels must be coverage shares in (0, 1]; found {levels!r}")
    max_steps = _count(max_steps, "max_steps", none=True)
    pu = _path_users(as_sessions(data), max_steps)
    if unit == "sessions":
        per = fetch(pu.group_by("path").agg(covered=pu._sessions.sum()))
    else:
        per = fetch(pu.group_by("path").agg(_w=pu.count()))
    if per.empty:
        raise ParameterError("path_coverage: there are no sessions")
    by = "covered" if unit == "sessions" else "_w"
    per = per.sort_values([by, "path"], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    per["paths"] = np.arange(1, len(per) + 1)
    if unit == "consumers":  # each consumer counts once, at the best-ranked of their paths
        ranks = ibis.memtable(per[["path", "paths"]])
        j = pu.select("user_id", "path").join(ranks, "path")
        best = j.group_by("user_id").agg(paths=j.paths.min())
        first = fetch(best.group_by("paths").agg(covered=best.count()))
        per = per.merge(first, on="paths", how="left").fillna({"covered": 0})
    total = int(per["covered"].sum())
    per["covered"] = per["covered"].astype("int64")
    per["coverage"] = per["covered"].cumsum() / total
    return PathCoverage(per[["paths", "path", "covered", "coverage"]], unit=unit, levels=lv, total=total)
