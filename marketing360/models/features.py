"""Consumer × brand × day features from the events, on the events' engine: what the propensity models learn from.

For each scoring day ``date`` and each consumer-brand pair active in the
look-back, :func:`pair_features` counts the pair's behaviours in the last
``windows`` days before ``date`` (the day itself is never seen), the days
since its last visit and purchase, its 4A stage entering the day, the
consumer's recent behaviour sequence (the brands of its last visits,
engagements, purchases and advocacies over all brands, for DIN's attention),
the consumer's attributes, and what the pair did in the ``horizon`` days from
``date`` on (the labels). One aggregation pass per part, in SQL, on DuckDB or
Spark alike.

Examples
--------
>>> import pandas as pd
>>> ev = pd.DataFrame({"user_id": [1, 1, 1, 2], "brand": ["a", "a", "b", "a"],
...                    "event_type": ["impression", "browse", "purchase", "browse"],
...                    "ts": pd.to_datetime(["2025-01-01 09:00", "2025-01-02 10:00", "2025-01-05 12:00",
...                                          "2025-01-04 08:00"])})
>>> f = pair_features(ev, ["2025-01-05"], windows=[7], horizon=1).table()
>>> f[["user_id", "brand", "level", "impression_7d", "visit_7d", "days_since_visit"]]
   user_id brand  level  impression_7d  visit_7d  days_since_visit
0        1     a      1              1         1                 3
1        2     a      1              0         1                 1
>>> f.next_purchase.tolist()    # pair (1, "b") bought on the day but had no event before it: not scored
[0, 0]
>>> f.sequence.tolist()
[['a'], ['a']]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import ibis
import pandas as pd
from ibis.expr.types import Table

from ..assets.rules import StageRules
from ..assets.stages import _events, _local_events, _rules, _tz, scoring_days, snapshots
from ..errors import ParameterError
from ..inputs import open_table
from ..results import Result
from ..types import TableLike

__all__ = ["pair_features", "PairFeatures", "BEHAVIOURS"]

#: the behaviours counted per pair, and the event types (and minimum value) that make each
BEHAVIOURS: dict[str, tuple[tuple[str, ...], float | None]] = {
    "impression": (("impression",), None),
    "click": (("click",), None),
    "visit": (("browse", "click"), None),
    "engage": (("search", "follow", "cart", "ask"), None),
    "purchase": (("purchase",), None),
    "advocate": (("share",), None),  # with the positive reviews below
}
_POSITIVE_REVIEW = 4.0
#: the behaviours of the sequence (what a consumer did, not what was shown to them)
_SEQUENCE_KINDS = ("browse", "click", "search", "follow", "cart", "ask", "purchase", "review", "share")
_LABELS = ("visit", "engage", "purchase", "advocate")


class PairFeatures(Result):
    """Per ``date, user_id, brand``: the features of :func:`pair_features` and the labels ``next_*``.

    Attributes
    ----------
    dates : list of pandas.Timestamp
    windows : list of int
    horizon : int
    labelled : list of pandas.Timestamp
        The dates whose ``horizon`` lies within the events (their labels are
        0 / 1; later dates have null labels).
    numeric : list of str
        The numeric feature columns (counts, recencies, level).
    """

    title: ClassVar[str] = "consumer-brand features"
    keys = ("date", "user_id", "brand")

    def __init__(self, expr: Table, *, dates: list[pd.Timestamp], windows: list[int], horizon: int,
                 labelled: list[pd.Timestamp], numeric: list[str]) -> None:
        super().__init__(expr)
        self.dates, self.windows, self.horizon = dates, windows, horizon
        self.labelled, self.numeric = labelled, numeric

    def _tidy(self, df: pd.DataFrame) -> pd.DataFrame:
        df = df.assign(date=pd.to_datetime(df["date"])).sort_values(list(self.keys), ignore_index=True)
        if "sequence" in df.columns:  # lists as lists of str on every engine
            df["sequence"] = [list(s) if s is not None else [] for s in df["sequence"]]
        return df

    def _notes(self) -> list[str]:
        return [f"{len(self.dates)} scoring day(s) from {self.dates[0].date()} to {self.dates[-1].date()}; "
                f"windows {self.windows} days; labels over the next {self.horizon} day(s), known for "
                f"{len(self.labelled)} of the days"]


def _check_ints(name: str, values: Any, low: int) -> list[int]:
    if isinstance(values, (int, str)) or not isinstance(values, Sequence) or not values:
        raise ParameterError(f"{name} must be a non-empty list of whole numbers of days; found {values!r}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ParameterError(f"{name} must hold whole numbers >= {low}; found {v!r}")
        out.append(int(v))
    return sorted(set(out))


def _check_flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ParameterError(f"{name} must be True or False; found {value!r}")
    return value


def _kind(ev: Table, name: str) -> Any:
    types, _ = BEHAVIOURS[name]
    cond = ev.event_type.isin(list(types))
    if name == "advocate":
        cond = cond | ((ev.event_type == "review") & (ev.value >= _POSITIVE_REVIEW))
    return cond


def pair_features(events: TableLike, dates: Sequence[Any] | pd.DatetimeIndex, *, users: TableLike | None = None,
                  windows: Sequence[int] = (7, 30), horizon: int = 1, sequence: int = 20,
                  channels: Sequence[str] = (), same_day: bool = False, consumer: bool = False,
                  rules: StageRules | None = None, tz: str = "UTC") -> PairFeatures:
    """Features and labels of every consumer-brand pair active in the look-back, on each scoring day.

    Parameters
    ----------
    events : table
        Canonical events (``user_id, ts, brand, event_type, value``), any table the engines take.
    dates : sequence of date-like
        Scoring days. Features use the events before each day; labels the
        events of the day and the ``horizon - 1`` days after it.
    users : table, optional
        Consumer attributes, one row per ``user_id`` (left-joined; their
        columns keep their names).
    windows : list of int
        Look-back windows in days: ``{behaviour}_{w}d`` counts the pair's
        events of each behaviour (impression, click, visit = browse or click,
        engage = search / follow / cart / ask, purchase, advocate = a share or
        a review rated 4 or more) in the ``w`` days before ``date``, and
        ``spend_{w}d`` sums the values of its purchases. The
        widest window is the look-back: a pair is scored on ``date`` if it has
        an event in it.
    horizon : int
        Days of the labels ``next_visit``, ``next_engage``, ``next_purchase``,
        ``next_advocate`` (1: the day itself). Null where the horizon passes
        the last event's day.
    channels : list of str
        Channels whose impressions and clicks are also counted apart:
        ``impression_{channel}_{w}d``, ``click_{channel}_{w}d`` (each
        channel's own adstock and saturation then show).
    same_day : bool
        Also count the impressions the pair receives on ``date`` itself
        (``impression_0d`` and per channel ``impression_{channel}_0d``): the
        exposures an ad server knows when it scores the day's requests. Leave
        it off to score before the day (audience tags).
    consumer : bool
        Also count what the consumer did with every brand in each window:
        ``consumer_{behaviour}_{w}d`` and ``consumer_spend_{w}d`` (the pair's
        own counts included). A consumer who buys often elsewhere shows a
        propensity that the pair's own few events do not.
    sequence : int
        The consumer's last ``sequence`` behaviours (all brands, oldest first)
        as a list of brands in column ``sequence`` (0: no column).
    rules, tz
        The 4A stage rules and the time zone of the calendar days (see
        :func:`~marketing360.assets.snapshot`): ``level`` (0 unaware to 4
        advocate) is the pair's stage at the end of the day before ``date``.

    Returns
    -------
    PairFeatures
        ``date, user_id, brand, level``, the counts ``{behaviour}_{w}d``, ``spend_{w}d``,
        with ``consumer`` their ``consumer_`` sums over brands,
        ``days_since_visit`` / ``days_since_purchase`` / ``days_since_event``
        (the look-back + 1 when none), the users' columns, ``sequence`` and
        the labels; lazy, on the events' engine.
    """
    ev = _events(events, "pair_features")
    rules = _rules(rules)
    tz = _tz(tz)
    days = scoring_days(dates, tz)
    wins = _check_ints("windows", list(windows) if not isinstance(windows, (int, str)) else windows, 1)
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ParameterError(f"horizon must be a whole number of days >= 1; found {horizon!r}")
    if isinstance(channels, str) or not isinstance(channels, Sequence) or not all(
            isinstance(c, str) and c for c in channels) or len(set(channels)) != len(channels):
        raise ParameterError(f"channels must be a list of distinct channel names; found {channels!r}")
    _check_flag("same_day", same_day)
    _check_flag("consumer", consumer)
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
        raise ParameterError(f"sequence must be a whole number of behaviours >= 0; found {sequence!r}")
    look = wins[-1]
    first, last = days[0], days[-1]
    local = _local_events(ev, tz, first - pd.Timedelta(days=look), last + pd.Timedelta(days=horizon))
    local = local.mutate(_day=local._lts.date())
    # labels are known for the days whose horizon ends by the last event's day
    end = ev.ts.max().execute()
    last_day = None if end is None or pd.isna(end) else _local_day(pd.Timestamp(end), tz)
    labelled = [d for d in days if last_day is not None and d + pd.Timedelta(days=horizon - 1) <= last_day]

    kinds = list(BEHAVIOURS)
    per_channel = {f"{k}_{c}": _kind(local, k) & (local.channel == c)
                   for c in channels for k in ("impression", "click")}
    daily = local.group_by(["user_id", "brand", "_day"]).agg(
        **{f"_n_{k}": local.count(where=_kind(local, k)) for k in kinds},
        **{f"_n_{k}": local.count(where=cond) for k, cond in per_channel.items()}, _n_any=local.count(),
        _spend=local.value.cast("float64").sum(where=_kind(local, "purchase")))
    counted = kinds + list(per_channel)
    cal_df = pd.DataFrame({"date": [d.date() for d in days],
                           "_horizon_end": [(d + pd.Timedelta(days=horizon - 1)).date() for d in days],
                           "_labelled": [d in labelled for d in days]})
    for w in wins:
        cal_df[f"_from_{w}"] = [(d - pd.Timedelta(days=w)).date() for d in days]
    cal = ibis.memtable(cal_df)

    # ---- features: the look-back before each date
    j = daily.join(cal, (daily._day < cal.date) & (daily._day >= cal[f"_from_{look}"]))
    aggs: dict[str, Any] = {}
    for w in wins:
        recent = j._day >= j[f"_from_{w}"]
        for k in counted:
            aggs[f"{k}_{w}d"] = j[f"_n_{k}"].sum(where=recent)
        aggs[f"spend_{w}d"] = j._spend.sum(where=recent)
    for k, col in (("visit", j._n_visit), ("purchase", j._n_purchase), ("event", j._n_any)):
        aggs[f"_last_{k}"] = j._day.max(where=col > 0)
    feats = j.group_by(["date", "user_id", "brand"]).agg(**aggs)
    gap = {}
    for k in ("visit", "purchase", "event"):
        since = (feats.date.cast("date").delta(feats[f"_last_{k}"], unit="day")).cast("int64")
        gap[f"days_since_{k}"] = since.fill_null(look + 1)
    feats = feats.mutate(**{f"{k}_{w}d": feats[f"{k}_{w}d"].fill_null(0).cast("int64") for w in wins for k in counted},
                         **{f"spend_{w}d": feats[f"spend_{w}d"].fill_null(0.0) for w in wins}, **gap)
    feats = feats.drop(*[f"_last_{k}" for k in ("visit", "purchase", "event")])
    # every event in a window belongs to a pair scored that day: the consumer's counts are the sums over brands
    totals = [*[f"{k}_{w}d" for w in wins for k in kinds], *[f"spend_{w}d" for w in wins]] if consumer else []
    if totals:
        each = ibis.window(group_by=[feats.date, feats.user_id])
        feats = feats.mutate(**{f"consumer_{c}": feats[c].sum().over(each) for c in totals})

    # ---- the day's own exposures
    exposures = ["impression", *[f"impression_{c}" for c in channels]] if same_day else []
    if same_day:
        today = daily.join(cal, daily._day == cal.date).select(
            _tdate=cal.date, _tuser=daily.user_id, _tbrand=daily.brand,
            **{f"_t_{k}": daily[f"_n_{k}"] for k in exposures})
        feats = feats.left_join(today, (feats.date == today._tdate) & (feats.user_id == today._tuser)
                                & (feats.brand == today._tbrand))
        feats = feats.mutate(**{f"{k}_0d": feats[f"_t_{k}"].fill_null(0).cast("int64") for k in exposures}).drop(
            "_tdate", "_tuser", "_tbrand", *[f"_t_{k}" for k in exposures])

    # ---- the stage entering the day: the snapshot of the day before
    st = snapshots(ev, [d - pd.Timedelta(days=1) for d in days], rules=rules, tz=tz).expr
    shift = ibis.memtable(pd.DataFrame({"_snap": [(d - pd.Timedelta(days=1)).date() for d in days],
                                        "_date": [d.date() for d in days]}))
    st = st.join(shift, st.date.cast("date") == shift._snap).select(
        _sdate=shift._date, _suser=st.user_id, _sbrand=st.brand, _level=st.level)
    feats = feats.left_join(st, (feats.date == st._sdate) & (feats.user_id == st._suser)
                            & (feats.brand == st._sbrand))
    feats = feats.mutate(level=feats._level.fill_null(0).cast("int64")).drop("_sdate", "_suser", "_sbrand",
                                                                               "_level")

    # ---- labels: what the pair does from the date on
    lj = daily.join(cal, (daily._day >= cal.date) & (daily._day <= cal._horizon_end))
    lab = lj.group_by(["date", "user_id", "brand"]).agg(
        **{f"_y_{k}": (lj[f"_n_{k}"] > 0).cast("int64").max() for k in _LABELS})
    lab = lab.rename(_ldate="date", _luser="user_id", _lbrand="brand")
    known = cal.select(_cdate=cal.date, _known=cal._labelled)
    feats = feats.left_join(known, feats.date == known._cdate)
    feats = feats.left_join(lab, (feats.date == lab._ldate) & (feats.user_id == lab._luser)
                            & (feats.brand == lab._lbrand))
    labels = {f"next_{k}": ibis.ifelse(feats._known, feats[f"_y_{k}"].fill_null(0), ibis.null("int64"))
              for k in _LABELS}
    feats = feats.mutate(**labels).drop("_cdate", "_known", "_ldate", "_luser", "_lbrand",
                                        *[f"_y_{k}" for k in _LABELS])

    # ---- the consumer's last behaviours over all brands
    if sequence:
        b = local.filter(local.event_type.isin(list(_SEQUENCE_KINDS)))
        bj = b.join(cal, (b._day < cal.date) & (b._day >= cal[f"_from_{look}"]))
        rank = ibis.row_number().over(group_by=[bj.user_id, bj.date],
                                      order_by=[bj._lts.desc(), bj.event_type.desc(), bj.brand.desc()])
        bj = bj.mutate(_rank=rank).filter(ibis._._rank < sequence)
        # collected as (time, type, brand) structs and sorted: Spark has no ordered collect
        seq = bj.group_by(["user_id", "date"]).agg(
            _steps=ibis.struct({"t": bj._lts, "e": bj.event_type, "b": bj.brand}).collect())
        seq = seq.mutate(sequence=seq._steps.sort().map(lambda step: step.b)).drop("_steps")
        seq = seq.rename(_quser="user_id", _qdate="date")
        feats = feats.left_join(seq, (feats.user_id == seq._quser) & (feats.date == seq._qdate)).drop(
            "_quser", "_qdate")

    numeric = ["level", *[f"{k}_0d" for k in exposures], *[f"{k}_{w}d" for w in wins for k in counted],
               *[f"spend_{w}d" for w in wins], *[f"consumer_{c}" for c in totals], "days_since_visit",
               "days_since_purchase", "days_since_event"]
    if users is not None:
        u = open_table(users, what="pair_features users")
        if "user_id" not in u.columns:
            raise ParameterError(f"pair_features: users needs a user_id column; it has {list(u.columns)}")
        clash = sorted(set(u.columns) & set(feats.columns) - {"user_id"})
        if clash:
            raise ParameterError(f"pair_features: users' column(s) {clash} clash with the feature columns")
        u = u.rename(_uuser="user_id")
        feats = feats.left_join(u, feats.user_id == u._uuser).drop("_uuser")
    order = ["date", "user_id", "brand", *numeric]
    feats = feats.select(*order, *[c for c in feats.columns if c not in order and not c.startswith("next_")],
                         *[f"next_{k}" for k in _LABELS])
    return PairFeatures(feats, dates=days, windows=wins, horizon=horizon, labelled=labelled, numeric=numeric)


def _local_day(ts: pd.Timestamp, tz: str) -> pd.Timestamp:
    if tz == "UTC":
        return ts.normalize()
    return ts.tz_localize("UTC").tz_convert(tz).tz_localize(None).normalize()
