"""The data of a marketing-mix model: spend, outcome and controls per period and geo, as checked arrays.

:func:`mmm_panel` reads the canonical ``spend`` (``date, geo, channel, spend``)
and ``outcomes`` (``date, geo, conversions, revenue``) tables — any table
:func:`~marketing360.inputs.as_table` accepts, or an
:class:`~marketing360.datasets.MMMData` bundle from the Robyn, PyMC-Marketing
and Meridian readers — aggregates them on the engine to one row per (period,
geo, channel), and returns an :class:`MMMPanel`: periods × geos × channels of
spend, periods × geos of outcome, and the controls.

Examples
--------
>>> import pandas as pd
>>> spend = pd.DataFrame({"date": ["2024-01-01", "2024-01-08"] * 2, "geo": "national",
...                       "channel": ["tv", "tv", "search", "search"], "spend": [1.0, 2.0, 3.0, 0.0]})
>>> outcomes = pd.DataFrame({"date": ["2024-01-01", "2024-01-08"], "geo": "national", "revenue": [10.0, 12.0]})
>>> p = mmm_panel(spend, outcomes)
>>> p.channels, p.x[:, 0, :].tolist(), p.y[:, 0].tolist()
(['search', 'tv'], [[3.0, 1.0], [0.0, 2.0]], [10.0, 12.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ...errors import ParameterError, SchemaError
from ...types import TableLike

__all__ = ["MMMPanel", "mmm_panel", "Level", "Target"]

Level = Literal["national", "geo"]
Target = Literal["revenue", "conversions"]
_WHAT = "mmm"
#: a control of this name is each geo's size (Meridian's ``population``), not a regressor
SIZE_CONTROL = "population"


@dataclass(frozen=True)
class MMMPanel:
    """Spend, outcome and controls per period and geo.

    Attributes
    ----------
    x : numpy.ndarray
        ``periods x geos x channels`` spend.
    y : numpy.ndarray
        ``periods x geos`` outcome.
    controls : numpy.ndarray
        ``periods x geos x controls`` control values.
    dates : pandas.DatetimeIndex
        The periods (evenly spaced).
    geos, channels, control_names : list of str
    size : numpy.ndarray
        Each geo's size (its population where the data has one, else its mean outcome); 1 nationally.
    target : str
        The outcome column (``"revenue"`` or ``"conversions"``).
    """

    x: np.ndarray
    y: np.ndarray
    controls: np.ndarray
    dates: pd.DatetimeIndex
    geos: list[str]
    channels: list[str]
    control_names: list[str]
    size: np.ndarray
    target: str

    @property
    def n_periods(self) -> int:
        return int(self.y.shape[0])

    @property
    def period_days(self) -> int:
        """Days between periods (7 for weekly data)."""
        return int((self.dates[1] - self.dates[0]).days) if len(self.dates) > 1 else 7


def _fetch_long(data: TableLike, table: str, columns: list[str], keys: list[str]) -> pd.DataFrame:
    """``columns`` of canonical table ``table`` summed per ``keys``, on the engine, as pandas."""
    from ...engine import fetch
    from ...inputs import as_table

    t = as_table(data, table, need=columns, what=_WHAT)  # type: ignore[arg-type]
    agg = {c: t[c].sum() for c in columns}
    agg.update({f"_n_{c}": t[c].count() for c in columns})
    g = t.group_by([t[k] for k in keys]).aggregate(_rows=t.count(), **agg)
    df = fetch(g, "pandas")
    for c in columns:
        if (df[f"_n_{c}"] < df["_rows"]).any():
            raise SchemaError(f"{_WHAT}: column {c!r} of the {table} table has missing values", table=table,
                              column=c)
    df["date"] = pd.to_datetime(df["date"])
    df["geo"] = df["geo"].astype(str)
    return df.drop(columns=[c for c in df.columns if c.startswith("_")])


def _dates(values: pd.Series) -> pd.DatetimeIndex:
    dates = pd.DatetimeIndex(sorted(pd.unique(values)))
    if len(dates) < 2:
        return dates
    steps = np.unique(np.diff(dates.asi8))
    if len(steps) != 1:
        gaps = sorted({str(pd.Timedelta(int(s))) for s in steps})[:4]
        raise SchemaError(f"{_WHAT}: the outcome's periods are not evenly spaced (steps {gaps}); give every "
                          "period a row (weekly or daily)", table="outcomes", column="date")
    return dates


def mmm_panel(spend: Any, outcomes: TableLike | None = None, *, target: Target = "revenue",
              controls: TableLike | Sequence[str] | None = None, level: Level = "national") -> MMMPanel:
    """Read spend, outcomes and controls as an :class:`MMMPanel`.

    Parameters
    ----------
    spend : table-like or MMMData
        The canonical spend table; or an ``MMMData`` (its spend, outcomes and controls), in which case
        ``outcomes`` is not given and ``controls`` may name which of its controls to keep.
    outcomes : table-like
        The canonical outcomes table (its ``target`` column non-null in every row).
    target : {"revenue", "conversions"}
        The outcome modelled.
    controls : table-like or list of str, optional
        Controls as a long ``date, geo, name, value`` table (one value per period, geo and name; a control
        missing for a geo is an error), or the names to keep of an ``MMMData``'s controls (default: all).
        A control named ``population`` is each geo's size, not a regressor.
    level : {"national", "geo"}
        ``"national"`` sums spend and outcome over geos (and averages the controls); ``"geo"`` keeps them.

    Raises
    ------
    SchemaError
        A missing column, negative spend, missing outcome values, uneven periods, a (period, geo) of the
        outcome without a row, spend outside the outcome's periods or geos.
    ParameterError
        An unknown ``target`` / ``level`` or control name.
    """
    from ...datasets.readers.mmm import MMMData

    if target not in ("revenue", "conversions"):
        raise ParameterError(f"target must be 'revenue' or 'conversions'; found {target!r}")
    if level not in ("national", "geo"):
        raise ParameterError(f"level must be 'national' or 'geo'; found {level!r}")
    keep: list[str] | None = None
    if isinstance(spend, MMMData):
        if outcomes is not None:
            raise ParameterError("outcomes: an MMMData already holds the outcomes; pass it alone")
        if controls is not None and (isinstance(controls, str) or not isinstance(controls, Sequence)):
            raise ParameterError("controls: with an MMMData, give the names of its controls to keep (a list)")
        keep = None if controls is None else [str(c) for c in controls]
        data, outcomes, controls = spend, spend.outcomes, spend.controls
        unknown = sorted(set(keep or []) - set(data.controls["name"]))
        if unknown:
            raise ParameterError(f"controls {unknown} are not in the data; its controls are "
                                 f"{list(pd.unique(data.controls['name']))}")
        spend = data.spend
    elif outcomes is None:
        raise ParameterError("outcomes: give the outcomes table (date, geo, conversions / revenue)")
    elif isinstance(controls, Sequence) and not isinstance(controls, str):
        raise ParameterError("controls: a list of names needs an MMMData; give a long (date, geo, name, value) "
                             "table")

    sp = _fetch_long(spend, "spend", ["spend"], ["date", "geo", "channel"])
    out = _fetch_long(outcomes, "outcomes", [target], ["date", "geo"])
    if out.empty:
        raise SchemaError(f"{_WHAT}: the outcomes table is empty", table="outcomes", column=None)
    if sp.empty:
        raise SchemaError(f"{_WHAT}: the spend table is empty", table="spend", column=None)
    dates = _dates(out["date"])
    geos = sorted(pd.unique(out["geo"]))
    channels = sorted(pd.unique(sp["channel"].astype(str)))
    grid = pd.MultiIndex.from_product([dates, geos], names=["date", "geo"])
    y = out.set_index(["date", "geo"])[target].reindex(grid)
    if y.isna().any():
        gaps = [(str(d.date()), g) for d, g in y[y.isna()].index[:4]]
        raise SchemaError(f"{_WHAT}: {int(y.isna().sum())} (period, geo) cells of the outcome have no row, e.g. "
                          f"{gaps}; give every geo a {target} in every period", table="outcomes", column=target)
    outside = ~sp["date"].isin(dates) | ~sp["geo"].isin(geos)
    if outside.any():
        row = sp[outside].iloc[0]
        raise SchemaError(f"{_WHAT}: {int(outside.sum())} spend rows fall outside the outcome's periods and geos, "
                          f"e.g. {row['channel']!r} in {row['geo']!r} on {row['date'].date()}; the outcome runs "
                          f"{dates[0].date()} .. {dates[-1].date()} in geos {geos[:5]}", table="spend",
                          column="date")
    cube = sp.pivot_table(index=["date", "geo"], columns="channel", values="spend", aggfunc="sum", fill_value=0.0)
    x = cube.reindex(index=grid, columns=channels, fill_value=0.0).to_numpy(float)
    T, G, C = len(dates), len(geos), len(channels)
    x = x.reshape(T, G, C)
    yv = y.to_numpy(float).reshape(T, G)

    names, cv, size = _controls(controls, keep, grid, T, G)
    if level == "national" and G > 1:
        x, yv = x.sum(axis=1, keepdims=True), yv.sum(axis=1, keepdims=True)
        cv = cv.mean(axis=1, keepdims=True)
        geos = ["national"]
    if level == "national" or G == 1:
        size = np.ones(1)
    elif size is None:
        size = yv.mean(axis=0) if G > 1 else np.ones(1)
        if G > 1 and (size <= 0).any():
            raise SchemaError(f"{_WHAT}: geo {geos[int(np.argmin(size))]!r} has no {target}: a geo-level model "
                              "needs each geo's size (a population control) or a positive mean outcome",
                              table="outcomes", column=target)
    return MMMPanel(x=x, y=yv, controls=cv, dates=dates, geos=list(geos), channels=channels,
                    control_names=names, size=np.asarray(size, dtype=float), target=target)


def _controls(controls: Any, keep: list[str] | None, grid: pd.MultiIndex, T: int, G: int
              ) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    """Control names, their ``T x G x K`` values and the geo sizes (from a ``population`` control, if any)."""
    if controls is None:
        return [], np.zeros((T, G, 0)), None
    from ...engine import fetch
    from ...inputs import open_table, require_columns

    t = open_table(controls, what=_WHAT)
    require_columns(t, ["date", "geo", "name", "value"], what=_WHAT, table_name="controls")
    if not t.value.type().is_numeric():
        raise SchemaError(f"{_WHAT}: the controls' value column must be numeric; found {t.value.type()}",
                          table="controls", column="value")
    df = fetch(t.select("date", "geo", "name", "value"), "pandas")
    df["date"] = pd.to_datetime(df["date"])
    df["geo"], df["name"] = df["geo"].astype(str), df["name"].astype(str)
    if keep is not None:
        df = df[df["name"].isin([*keep, SIZE_CONTROL])]
    if df.duplicated(["date", "geo", "name"]).any():
        row = df[df.duplicated(["date", "geo", "name"])].iloc[0]
        raise SchemaError(f"{_WHAT}: control {row['name']!r} has two values for {row['geo']!r} on "
                          f"{row['date'].date()}", table="controls", column="name")
    names = [n for n in pd.unique(df["name"]) if n != SIZE_CONTROL]
    wide = df.pivot(index=["date", "geo"], columns="name", values="value").reindex(grid)
    missing = [n for n in wide.columns if wide[n].isna().any()]
    if missing:
        raise SchemaError(f"{_WHAT}: control(s) {missing} lack values for some (period, geo) of the outcome",
                          table="controls", column="value")
    size = None
    if SIZE_CONTROL in wide.columns:
        pop = wide[SIZE_CONTROL].to_numpy(float).reshape(T, G)
        size = pop.mean(axis=0)
        if (size <= 0).any():
            raise SchemaError(f"{_WHAT}: the population control must be positive", table="controls",
                              column="value")
    values = wide[names].to_numpy(float).reshape(T, G, len(names)) if names else np.zeros((T, G, 0))
    return list(names), values, size
