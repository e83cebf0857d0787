"""Geo panels: the long ``date, location, Y`` layout of GeoLift and trimmed_match users, as a checked matrix.

Every geo estimator reads its data through :func:`geo_panel`, which accepts
any table :func:`~marketing360.inputs.open_table` opens (a pandas frame, a
CSV / parquet path, an engine table) in the long layout that GeoLift
(``location, Y, date``), trimmed_match (``date, geo, response, cost``) and
the canonical ``outcomes`` table (``date, geo, conversions, revenue``) share,
and returns a :class:`GeoPanel`: the outcome (and optionally the cost) as a
periods × locations matrix with its labels. The aggregation to one row per
(date, location) runs on the engine; only the panel comes back.

Examples
--------
>>> import pandas as pd
>>> long = pd.DataFrame({"location": ["a", "a", "b", "b"], "Y": [1.0, 2.0, 3.0, 4.0],
...                      "date": ["2021-01-01", "2021-01-02"] * 2})
>>> p = geo_panel(long)
>>> p.y.tolist()
[[1.0, 3.0], [2.0, 4.0]]
>>> p.locations, p.n_periods
(['a', 'b'], 2)
>>> p.period_of("2021-01-02")
1
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..._days import as_day
from ...errors import ParameterError, SchemaError
from ...results import Result
from ...types import TableLike

__all__ = ["GeoPanel", "geo_panel", "resolve_locations", "geo_outcomes", "GeoOutcomes", "pick_column",
           "DATE_NAMES", "LOCATION_NAMES", "OUTCOME_NAMES"]

_WHAT = "geo_panel"


@dataclass(frozen=True)
class GeoPanel:
    """An outcome (and optionally a cost) per period and location, as matrices.

    Attributes
    ----------
    y : numpy.ndarray
        ``periods x locations`` outcome.
    dates : pandas.DatetimeIndex or pandas.Index
        The periods, in order (dates, or integer time indices).
    locations : list of str
        The locations, sorted, in the column order of ``y``.
    cost : numpy.ndarray or None
        ``periods x locations`` cost (spend), where a cost column was given.
    outcome : str
        Name of the outcome column the panel was read from.
    """

    y: np.ndarray
    dates: pd.Index
    locations: list[str]
    cost: np.ndarray | None = None
    outcome: str = "Y"
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def n_periods(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_locations(self) -> int:
        return int(self.y.shape[1])

    def index_of(self, locations: Sequence[str] | str, *, what: str = "treated") -> np.ndarray:
        """Column positions of ``locations`` (case-insensitive); unknown names raise naming them."""
        names = resolve_locations(self, locations, what=what)
        pos = {loc: i for i, loc in enumerate(self.locations)}
        return np.array([pos[n] for n in names], dtype=int)

    def period_of(self, when: Any, *, what: str = "period") -> int:
        """Position of a period given as a date (or date string) or, for integer periods, its value.

        GeoLift counts periods from 1 (``treatment_start_time=91``): pass such positions to
        :meth:`position` instead.
        """
        if isinstance(self.dates, pd.DatetimeIndex):
            try:
                ts = pd.Timestamp(when)
            except (TypeError, ValueError):
                raise ParameterError(f"{what} must be a date of the panel; found {when!r}") from None
            hits = np.flatnonzero(self.dates == ts)
        else:
            hits = np.flatnonzero(np.asarray(self.dates) == when)
        if not len(hits):
            first, last = self.dates[0], self.dates[-1]
            raise ParameterError(f"{what} {when!r} is not a period of the panel ({first} .. {last})")
        return int(hits[0])

    def position(self, time: int, *, what: str = "time") -> int:
        """Position (from 0) of GeoLift's 1-based period number ``time``; out of range raises."""
        if not isinstance(time, (int, np.integer)) or isinstance(time, bool) or not 1 <= time <= self.n_periods:
            raise ParameterError(f"{what} must be a period number from 1 to {self.n_periods} (GeoLift counts "
                                 f"from 1); found {time!r}")
        return int(time) - 1

    def frame(self) -> pd.DataFrame:
        """The outcome as a wide frame: periods as rows (indexed by date), locations as columns."""
        return pd.DataFrame(self.y, index=self.dates, columns=self.locations)


def resolve_locations(panel: GeoPanel, locations: Sequence[str] | str, *, what: str = "treated") -> list[str]:
    """The panel's own spelling of ``locations`` (matched case-insensitively, order kept, no repeats)."""
    if isinstance(locations, str):
        locations = [locations]
    names = [str(x) for x in locations]
    if not names:
        raise ParameterError(f"{what} locations: none given")
    lower = {loc.lower(): loc for loc in panel.locations}
    unknown = [n for n in names if n.lower() not in lower]
    if unknown:
        shown = panel.locations[:10]
        more = f" ... ({panel.n_locations} in all)" if panel.n_locations > 10 else ""
        raise ParameterError(f"{what} location(s) {unknown} are not in the panel; its locations are {shown}{more}")
    out = [lower[n.lower()] for n in names]
    if len(set(out)) != len(out):
        raise ParameterError(f"{what} locations repeat a name: {names}")
    return out


#: the usual names of the date, location and outcome columns of a long geo table, in order of preference
DATE_NAMES: tuple[str, ...] = ("date", "time", "week", "day")
LOCATION_NAMES: tuple[str, ...] = ("location", "geo", "market", "dma", "region")
OUTCOME_NAMES: tuple[str, ...] = ("y", "response", "conversions", "revenue", "sales", "outcome")


def pick_column(columns: Sequence[str], given: str | None, candidates: Sequence[str], role: str, *,
                what: str = _WHAT, option: str | None = None) -> str:
    """The column of a table that plays ``role``: ``given`` if named, else the first of ``candidates`` present.

    Parameters
    ----------
    columns : sequence of str
        The table's columns.
    given : str or None
        The name the caller passed (checked to exist, case-sensitively).
    candidates : sequence of str
        Usual names, lower case, in order of preference (matched case-insensitively).
    role : str
        What the column is, in words (``"date"``, ``"location"``, ``"outcome"``).
    what : str
        The analysis, named at the start of an error message.
    option : str, optional
        The keyword that names the column (default: ``role``), suggested when none is found.

    Returns
    -------
    str
        The column name, as the table spells it.

    Raises
    ------
    SchemaError
        ``given`` is not a column, or no candidate is.

    Examples
    --------
    >>> pick_column(["Date", "geo", "Y"], None, LOCATION_NAMES, "location")
    'geo'
    >>> pick_column(["Date", "geo", "Y"], None, DATE_NAMES, "date")
    'Date'
    """
    cols = list(columns)
    if given is not None:
        if given not in cols:
            raise SchemaError(f"{what}: {role} column {given!r} is not in the table; found {cols}", column=given)
        return given
    lower = {c.lower(): c for c in cols}
    for c in candidates:
        if c in lower:
            return lower[c]
    raise SchemaError(f"{what}: no {role} column (looked for {list(candidates)}; name it with "
                      f"{option or role}=...); found {cols}", column=role)


def _pick(columns: list[str], given: str | None, candidates: Sequence[str], role: str) -> str:
    # geo_panel names its outcome column with y=
    return pick_column(columns, given, candidates, role, option="y" if role == "outcome" else None)


def geo_panel(data: TableLike, *, date: str | None = None, location: str | None = None, y: str | None = None,
              cost: str | None = None, nonnegative: bool = False) -> GeoPanel:
    """Read a long ``date, location, Y`` table as a :class:`GeoPanel` (one value per period and location).

    Parameters
    ----------
    data : table-like
        Long layout: one row per date and location (several rows of a pair are summed, on the engine).
    date, location, y : str, optional
        Column names; found by their usual names when omitted (``date`` / ``time``; ``location`` / ``geo``;
        ``Y`` / ``response`` / ``conversions`` / ``revenue`` / ``sales``).
    cost : str, optional
        A cost (spend) column to read alongside (trimmed_match's ``cost``).
    nonnegative : bool
        Refuse negative outcomes (counts, sales).

    Returns
    -------
    GeoPanel

    Raises
    ------
    SchemaError
        A missing or non-numeric column, missing values, an empty table, or a location without a value
        in some period (the panel must be balanced: the message names the first gaps).
    """
    from ...engine import fetch
    from ...inputs import open_table

    t = open_table(data, what=_WHAT)
    cols = list(t.columns)
    dcol = _pick(cols, date, ("date", "time", "week", "day"), "date")
    lcol = _pick(cols, location, ("location", "geo", "market", "dma", "region"), "location")
    ycol = _pick(cols, y, ("y", "response", "conversions", "revenue", "sales", "outcome"), "outcome")
    value_cols = [ycol] + ([cost] if cost is not None else [])
    if cost is not None and cost not in cols:
        raise SchemaError(f"{_WHAT}: cost column {cost!r} is not in the table; found {cols}", column=cost)
    if len({dcol, lcol, *value_cols}) < 2 + len(value_cols):
        raise ParameterError(f"{_WHAT}: date, location and value columns must differ; found {dcol!r}, {lcol!r}, "
                             f"{value_cols}")
    for c in value_cols:
        if not t[c].type().is_numeric():
            raise SchemaError(f"{_WHAT}: column {c!r} must be numeric; found {t[c].type()}", column=c)
    agg = {c: t[c].sum() for c in value_cols}
    agg.update({f"_n_{c}": t[c].count() for c in value_cols})
    g = t.group_by([t[dcol].name(dcol), t[lcol].cast("string").name(lcol)]).aggregate(n_rows=t.count(), **agg)
    df = fetch(g, "pandas")
    if df.empty:
        raise SchemaError(f"{_WHAT}: the table is empty", column=None)
    if df[dcol].isna().any() or df[lcol].isna().any():
        bad = dcol if df[dcol].isna().any() else lcol
        raise SchemaError(f"{_WHAT}: column {bad!r} has missing values", column=bad)
    for c in value_cols:
        if (df[f"_n_{c}"] < df["n_rows"]).any():
            raise SchemaError(f"{_WHAT}: column {c!r} has missing values", column=c)
        v = df[c].to_numpy(dtype=float)
        if not np.isfinite(v).all():
            raise SchemaError(f"{_WHAT}: column {c!r} has infinite or NaN values", column=c)
    if nonnegative and (df[ycol] < 0).any():
        row = df.loc[df[ycol] < 0].iloc[0]
        raise SchemaError(f"{_WHAT}: outcome {ycol!r} must be non-negative; found {row[ycol]} for "
                          f"{row[lcol]!r} on {row[dcol]}", column=ycol)
    if cost is not None and (df[cost] < 0).any():
        raise SchemaError(f"{_WHAT}: cost {cost!r} must be non-negative", column=cost)
    dates = _as_periods(df[dcol], dcol)
    df = df.assign(**{dcol: dates})
    wide = df.pivot(index=dcol, columns=lcol, values=ycol).sort_index()
    wide = wide.reindex(columns=sorted(wide.columns))
    if wide.isna().any().any():
        gaps = wide.isna().stack()
        gaps = gaps[gaps].index[:5].tolist()
        n_gaps = int(wide.isna().sum().sum())
        raise SchemaError(f"{_WHAT}: the panel is unbalanced: {n_gaps} (date, location) cells have no row, e.g. "
                          f"{[(str(d), loc) for d, loc in gaps]}; give every location a value in every period",
                          column=lcol)
    cost_m = None
    if cost is not None:
        cost_m = df.pivot(index=dcol, columns=lcol, values=cost).reindex(index=wide.index,
                                                                         columns=wide.columns).to_numpy(float)
    index = pd.DatetimeIndex(wide.index) if pd.api.types.is_datetime64_any_dtype(wide.index) else wide.index
    return GeoPanel(y=wide.to_numpy(dtype=float), dates=index, locations=[str(c) for c in wide.columns],
                    cost=cost_m, outcome=ycol)


def _as_periods(s: pd.Series, name: str) -> pd.Series:
    """Dates as naive timestamps, integer periods as integers; anything else is refused."""
    if pd.api.types.is_integer_dtype(s):
        return s.astype("int64")
    if pd.api.types.is_datetime64_any_dtype(s):
        out = pd.to_datetime(s)
        return out.dt.tz_convert("UTC").dt.tz_localize(None) if out.dt.tz is not None else out
    try:
        out = pd.to_datetime(s, format="ISO8601")
    except (ValueError, TypeError):
        raise SchemaError(f"{_WHAT}: column {name!r} must hold dates (ISO 8601) or integer periods; found "
                          f"values such as {s.iloc[0]!r}", column=name) from None
    if out.dt.tz is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out


class GeoOutcomes(Result):
    """Purchases and revenue per period and geo, in the canonical ``outcomes`` layout (``date, geo,
    conversions, revenue``), computed on the engine; every geo estimator reads it as a long panel."""

    title = "outcomes by geo"
    keys = ("date", "geo")


def geo_outcomes(events: TableLike, users: TableLike, *, freq: str = "D", brand: str | None = None,
                 start: Any = None, end: Any = None) -> GeoOutcomes:
    """Conversions (purchases) and revenue per day (or week) and geo, from canonical events and the users' geos.

    Every (period, geo) from the first to the last period of the events (or ``start`` / ``end``) gets a row,
    zeros included, so the panel is balanced.

    Parameters
    ----------
    events : table-like
        Canonical events.
    users : table-like
        ``user_id`` and ``geo`` per consumer (the canonical ``users`` table).
    freq : {"D", "W"}
        Days, or weeks starting on the first day (the last week is partial unless the days counted are a
        whole number of weeks: pass ``end`` to make them one).
    brand : str, optional
        Count one brand's purchases only.
    start, end : date, optional
        The first and last day (inclusive) counted; by default those of the events. A time of day is
        dropped; a time-zone-aware date is read in UTC, as event times are.

    Returns
    -------
    GeoOutcomes

    Raises
    ------
    SchemaError
        A purchase by a user who is not in ``users`` or has no geo (it would be lost from every geo).

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"user_id": [1, 2, 2], "ts": ["2025-01-01 10:00", "2025-01-02 09:00", "2025-01-02 12:00"],
    ...                    "event_type": ["purchase", "purchase", "browse"], "value": [10.0, 5.0, None]})
    >>> users = pd.DataFrame({"user_id": [1, 2], "geo": ["north", "south"]})
    >>> geo_outcomes(ev, users).table()[["geo", "conversions", "revenue"]].values.tolist()
    [['north', 1, 10.0], ['south', 0, 0.0], ['north', 0, 0.0], ['south', 1, 5.0]]
    """
    import ibis

    from ...engine import fetch
    from ...inputs import as_table, open_table, require_columns, require_unique

    what = "geo_outcomes"
    if freq not in ("D", "W"):
        raise ParameterError(f"freq must be 'D' or 'W'; found {freq!r}")
    ev = as_table(events, "events", what=what)
    us = open_table(users, what=what)
    try:
        if us._find_backend() is not ev._find_backend():  # a pandas users table next to events on Spark
            us = ibis.memtable(fetch(us, "arrow"))
    except Exception:  # in-memory tables only (ibis.memtable): they run anywhere
        pass
    require_columns(us, ["user_id", "geo"], what=what, table_name="users")
    require_unique(us, ["user_id"], what=what, table_name="users")
    ut, et = us.user_id.type(), ev.user_id.type()
    if not ((ut.is_numeric() and et.is_numeric()) or (ut.is_string() and et.is_string())
            or ut.copy(nullable=True) == et.copy(nullable=True)):
        raise SchemaError(f"{what}: user_id is {ut} in users but {et} in the events: they cannot be matched; cast "
                          "one of them", table="users", column="user_id")
    day = ev.ts.truncate("D")
    lo = as_day(start, "start", what="geo_outcomes") if start is not None else None
    hi = as_day(end, "end", what="geo_outcomes") if end is not None else None
    if lo is None or hi is None:  # the events' first and last days: one query
        span = fetch(ev.aggregate(lo=day.min(), hi=day.max()), "pandas").iloc[0]
        lo = pd.Timestamp(span["lo"]) if lo is None else lo
        hi = pd.Timestamp(span["hi"]) if hi is None else hi
    if hi < lo:
        raise ParameterError(f"end ({hi.date()}) is before start ({lo.date()})")
    buy = ev.filter((ev.event_type == "purchase") & (day >= lo.to_pydatetime()) & (day <= hi.to_pydatetime()))
    if brand is not None:
        buy = buy.filter(buy.brand == brand)
    step = 7 if freq == "W" else 1
    offset = ((buy.ts.truncate("D").epoch_seconds() - int(lo.timestamp())) // 86400 // step).cast("int64")
    geo_of = us.select("user_id", geo=us.geo.cast("string"))
    j = buy.select(user_id=buy.user_id, period=offset, value=buy.value.fill_null(0.0)).left_join(
        geo_of, "user_id")
    lost = int(fetch(j.filter(j.geo.isnull()).count()))
    if lost:
        raise SchemaError(f"{what}: {lost} purchase(s) by users who are not in the users table or have no geo: "
                          "they would be counted in no geo; complete users (user_id, geo) or filter the events",
                          table="users", column="geo")
    j = j.drop("user_id_right") if "user_id_right" in j.columns else j
    agg = j.group_by(["period", "geo"]).aggregate(conversions=j.count(), revenue=j.value.sum())
    n_per = (hi - lo).days // step + 1
    periods = ibis.memtable({"period": list(range(n_per)),
                             "date": list(pd.date_range(lo, periods=n_per, freq=f"{step}D"))})
    geos = geo_of.filter(geo_of.geo.notnull()).select("geo").distinct()
    grid = periods.cross_join(geos)
    out = grid.left_join(agg, ["period", "geo"])
    out = out.select(date=out.date.cast("date"), geo=out.geo,
                     conversions=ibis.coalesce(out.conversions, 0).cast("int64"),
                     revenue=ibis.coalesce(out.revenue, 0.0).cast("float64")).order_by(["date", "geo"])
    return GeoOutcomes(out)


