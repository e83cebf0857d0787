"""The long panel the difference-in-differences estimators read: units, periods, outcome and treatment, checked.

:func:`load_panel` opens any table :func:`~marketing360.inputs.open_table` opens, keeps the periods in
their own order (dates, numbers, or the categories of an ordered categorical), and codes units,
periods and cohorts (the first treated period; NaN / inf / never for units never treated) for
:func:`~marketing360.incrementality.did` and :func:`~marketing360.incrementality.staggered_did`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..engine.base import fetch
from ..errors import ParameterError, SchemaError
from ..inputs import open_table, require_columns
from ..types import TableLike

__all__ = ["Panel", "load_panel"]


@dataclass
class Panel:
    """A checked panel: integer codes of units and periods, the outcome, the treatment and the clusters."""

    unit: np.ndarray  # codes 0..n_units-1
    period: np.ndarray  # positions 0..n_periods-1 in time order
    y: np.ndarray
    d: np.ndarray  # 0/1 treated in that period
    cohort: np.ndarray  # per unit: the period position of adoption, -1 for never treated
    cluster: np.ndarray  # codes 0..G-1
    x: np.ndarray  # covariates, (n, k)
    covariates: list[str]
    unit_labels: np.ndarray
    period_labels: np.ndarray
    balanced: bool
    #: the categories of an (ordered) categorical time column, in their order; None otherwise
    period_order: list[Any] | None = None

    @property
    def n_units(self) -> int:
        return len(self.unit_labels)

    @property
    def n_periods(self) -> int:
        return len(self.period_labels)

    @property
    def n_clusters(self) -> int:
        return int(self.cluster.max()) + 1

    def labels(self, positions: Any) -> Any:
        """The period labels at ``positions``: an ordered categorical when the time column was one (so results
        sort in time order, not alphabetically), else an array."""
        values = self.period_labels[np.asarray(positions, dtype=np.int64)]
        if self.period_order is None:
            return values
        return pd.Categorical(values, categories=self.period_order, ordered=True)


def _never(values: pd.Series) -> np.ndarray:
    """Which cohort values mean "never treated": missing, 0 or infinite."""
    miss = values.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(values):
        v = values.to_numpy(float)
        with np.errstate(invalid="ignore"):
            miss = miss | (v == 0) | np.isinf(v)
    return np.asarray(miss, dtype=bool)


def load_panel(data: TableLike, *, unit: str, time: str, outcome: str, treated: str | None, cohort: str | None,
               cluster: str | None, covariates: tuple[str, ...] | list[str] = (), what: str,
               absorbing: bool = False) -> Panel:
    """Open ``data``, check it and code it as a :class:`Panel`; every problem is one clear error."""
    if (treated is None) == (cohort is None):
        raise ParameterError(f"{what}: give the treatment as exactly one of treated= (a 0/1 column) or cohort= "
                             f"(the first treated period of each unit); found treated={treated!r}, cohort={cohort!r}")
    named = {"unit": unit, "time": time, "outcome": outcome, "treated": treated, "cohort": cohort, "cluster": cluster}
    for k, v in named.items():
        if v is not None and not isinstance(v, str):
            raise ParameterError(f"{what}: {k}= names a column (a string); found {v!r}")
    covs = [covariates] if isinstance(covariates, str) else list(covariates)
    cols = list(dict.fromkeys([unit, time, outcome, *(c for c in (treated, cohort, cluster) if c), *covs]))
    if len({unit, time, outcome, treated or cohort}) < 4:
        raise ParameterError(f"{what}: unit=, time=, outcome= and the treatment must be four different columns; "
                             f"found {unit!r}, {time!r}, {outcome!r}, {treated or cohort!r}")
    order = _period_order(data, time)
    t = open_table(data, what=what)
    require_columns(t, cols, what=what, table_name="panel")
    df = fetch(t.select(*cols), "pandas")
    if df.empty:
        raise SchemaError(f"{what}: the panel is empty (0 rows)", table="panel")
    for c in [unit, time, outcome, *(x for x in (treated, cluster) if x), *covs]:
        n_null = int(df[c].isna().sum())
        if n_null:
            raise SchemaError(f"{what}: column {c!r} has {n_null} missing value(s) (NaN / null); drop or fill them",
                              table="panel", column=c)
    for c in [outcome, *covs]:
        if pd.api.types.is_bool_dtype(df[c]):  # a 0/1 flag (converted, holiday ...)
            df[c] = df[c].astype(float)
        if not pd.api.types.is_numeric_dtype(df[c]):
            raise SchemaError(f"{what}: column {c!r} must be numeric; found {df[c].dtype}", table="panel", column=c)
        if not np.isfinite(df[c].to_numpy(float)).all():
            raise SchemaError(f"{what}: column {c!r} has infinite values", table="panel", column=c)
    df, shown = _align_periods(df, time, cohort, order, what)
    dup = df.duplicated([unit, time], keep=False)  # after the periods are aligned (a date and its timestamp ...)
    if dup.any():
        first = df.loc[dup].iloc[0]
        when = first[time] if shown is None else shown[int(first[time])]
        raise SchemaError(f"{what}: the panel has {int(dup.sum())} rows for repeated ({unit}, {time}) pairs, e.g. "
                          f"{unit}={first[unit]!r}, {time}={when!r}: one row per unit and period",
                          table="panel", column=time)
    period_keys = np.sort(df[time].unique())
    period_labels = period_keys if shown is None else shown[period_keys.astype(np.int64)]
    if len(period_keys) < 2:
        raise SchemaError(f"{what}: the panel has a single period ({time}={period_labels[0]!r}); DiD needs "
                          "periods before and after the treatment", table="panel", column=time)
    unit_labels, ucode = np.unique(df[unit].to_numpy(), return_inverse=True)
    pcode = np.searchsorted(period_keys, df[time].to_numpy())
    n_u, n_p = len(unit_labels), len(period_labels)
    if treated is not None:
        d = _treated(df[treated], treated, what)
        first = np.full(n_u, n_p, dtype=np.int64)
        np.minimum.at(first, ucode[d == 1], pcode[d == 1])
        if absorbing:
            back = (d == 0) & (pcode > first[ucode])
            if back.any():
                i = int(np.flatnonzero(back)[0])
                raise SchemaError(
                    f"{what}: treatment must be absorbing (once treated, treated in every later period); "
                    f"{unit}={unit_labels[ucode[i]]!r} is treated at {time}={period_labels[first[ucode[i]]]!r} "
                    f"but not at {time}={period_labels[pcode[i]]!r}", table="panel", column=treated)
        coh = np.where(first < n_p, first, -1)
    else:
        assert cohort is not None
        coh, d = _cohorts(df, cohort, unit, time, ucode, pcode, unit_labels, period_keys, period_labels, shown,
                          what)
    if not d.any():
        raise SchemaError(f"{what}: no unit is ever treated (column {treated or cohort!r})", table="panel",
                          column=treated or cohort)
    if d.all():
        raise SchemaError(f"{what}: every row is treated: there is no untreated period to compare with",
                          table="panel", column=treated or cohort)
    y = df[outcome].to_numpy(float)
    if np.ptp(y) == 0:
        raise SchemaError(f"{what}: the outcome {outcome!r} is constant ({y[0]:g} on every row)", table="panel",
                          column=outcome)
    cl = np.unique(df[cluster].to_numpy(), return_inverse=True)[1] if cluster else ucode
    x = df[covs].to_numpy(float) if covs else np.empty((len(df), 0))
    return Panel(unit=ucode.astype(np.int64), period=pcode.astype(np.int64), y=y, d=d, cohort=coh,
                 cluster=np.asarray(cl, dtype=np.int64), x=x, covariates=covs, unit_labels=unit_labels,
                 period_labels=period_labels, balanced=len(df) == n_u * n_p, period_order=order)


def _period_order(data: Any, time: str) -> list[Any] | None:
    """The categories, in order, of a categorical time column of a pandas or polars frame (None otherwise).

    A categorical's order is lost when the table is opened on the engine (it arrives as its values), so it
    is read here first: the periods then follow it (``"Jan" < "Feb"``), as pandas sorts a categorical.
    """
    if isinstance(data, pd.DataFrame) and time in data.columns and isinstance(data[time].dtype, pd.CategoricalDtype):
        return list(data[time].cat.categories)
    if type(data).__module__.startswith("polars"):
        schema = data.collect_schema() if hasattr(data, "collect_schema") else getattr(data, "schema", {})
        dtype = schema.get(time) if hasattr(schema, "get") else None
        if dtype is not None and type(dtype).__name__ == "Enum":
            return list(dtype.categories.to_list())
    return None


def _is_dates(s: pd.Series) -> bool:
    """Whether ``s`` holds dates or timestamps (datetime64, or Python / Arrow date objects)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return True
    return s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("date", "datetime")


def _align_periods(df: pd.DataFrame, time: str, cohort: str | None, order: list[Any] | None, what: str
                   ) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Periods and cohorts made comparable, in time order.

    * a categorical time column: both become positions ``1..K`` in the category order (the labels, returned,
      are put back on the results); a cohort that is not a category is refused;
    * dates: a time column of dates or timestamps becomes datetime64, and a cohort column of dates, timestamps
      or date strings too (a time column of date strings is parsed when the cohorts are dates);
    * cohort 0 means never treated: refused when 0 is also one of the periods (ambiguous).
    """
    df = df.copy()
    tcol = df[time]
    if cohort is not None and pd.api.types.is_numeric_dtype(tcol) and not pd.api.types.is_bool_dtype(tcol) \
            and pd.api.types.is_numeric_dtype(df[cohort]) and (tcol == 0).any() and (df[cohort] == 0).any():
        raise SchemaError(f"{what}: cohort 0 (column {cohort!r}) marks never-treated units, but 0 is also a period "
                          f"of {time!r}; mark the never-treated units with NaN (or inf) instead", table="panel",
                          column=cohort)
    if order is not None:
        pos = {**{str(v): i + 1 for i, v in enumerate(order)}, **{v: i + 1 for i, v in enumerate(order)}}
        keys = tcol.map(lambda v: pos.get(v, pos.get(str(v), np.nan)))
        if keys.isna().any():  # not expected: the values of a categorical are its categories
            raise SchemaError(f"{what}: time value {tcol[keys.isna()].iloc[0]!r} is not a category of {time!r}",
                              table="panel", column=time)
        df[time] = keys.astype(np.int64)
        if cohort is not None:
            never = _never(df[cohort])
            key = df[cohort].map(lambda v: pos.get(v, pos.get(str(v), np.nan)))
            unknown = ~never & key.isna().to_numpy()
            if unknown.any():
                raise SchemaError(f"{what}: cohort {df[cohort][unknown].iloc[0]!r} (column {cohort!r}) is not a "
                                  "category of the time column "
                                  f"{time!r} ({order[:6]}{' ...' if len(order) > 6 else ''})", table="panel",
                                  column=cohort)
            df[cohort] = key.where(~never).astype(float)
        return df, np.array([None, *order], dtype=object)
    if cohort is None:
        if _is_dates(tcol):
            df[time] = pd.to_datetime(tcol)
        return df, None
    gcol = df[cohort]
    numeric_g = pd.api.types.is_numeric_dtype(gcol) and not pd.api.types.is_bool_dtype(gcol)
    dates_t = _is_dates(tcol)
    if not dates_t and not numeric_g and _is_dates(gcol) and not pd.api.types.is_numeric_dtype(tcol):
        try:  # date strings as periods, dates as cohorts
            df[time] = pd.to_datetime(tcol)
            dates_t = True
        except (ValueError, TypeError):
            pass
    if dates_t:
        df[time] = pd.to_datetime(df[time])
        if not numeric_g:
            never = _never(gcol)
            try:
                parsed = pd.to_datetime(gcol.where(~never))
            except (ValueError, TypeError):
                shown = gcol[~never].iloc[0] if (~never).any() else None
                raise SchemaError(f"{what}: the periods of {time!r} are dates but cohort column {cohort!r} holds "
                                  f"{shown!r}, not a date", table="panel", column=cohort) from None
            df[cohort] = parsed
    return df, None


def _treated(s: pd.Series, name: str, what: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(bool).astype(np.int64)
    if not pd.api.types.is_numeric_dtype(s) or not np.isin(s.to_numpy(float), [0.0, 1.0]).all():
        shown = sorted(map(str, pd.unique(s)))[:5]
        raise SchemaError(f"{what}: treated column {name!r} must hold 0/1 (or booleans); found values {shown}",
                          table="panel", column=name)
    return s.to_numpy(float).astype(np.int64)


def _cohorts(df: pd.DataFrame, cohort: str, unit: str, time: str, ucode: np.ndarray, pcode: np.ndarray,
             unit_labels: np.ndarray, period_keys: np.ndarray, period_labels: np.ndarray, shown: np.ndarray | None,
             what: str) -> tuple[np.ndarray, np.ndarray]:
    """The adoption period (position) of each unit, -1 never; and each row's 0/1 treatment.

    ``period_keys`` are the sorted periods as compared (positions of a categorical), ``period_labels`` as shown;
    ``shown`` maps a position back to its category (None when the periods are their own labels).
    """

    def label(v: Any) -> Any:
        return v if shown is None or pd.isna(v) else shown[int(v)]

    s = df[cohort]
    never = _never(s)
    per_unit = pd.DataFrame({"u": ucode, "never": never, "g": s.where(~never)})
    n_distinct = per_unit.groupby("u")["g"].nunique(dropna=False)
    mixed = per_unit.groupby("u")["never"].nunique() > 1
    bad = (n_distinct > 1) | mixed
    if bad.any():
        u = int(bad[bad].index[0])
        raise SchemaError(f"{what}: cohort column {cohort!r} must be the same on every row of a unit; "
                          f"{unit}={unit_labels[u]!r} has {sorted(str(label(v)) for v in s[ucode == u].unique())}",
                          table="panel", column=cohort)
    first_rows = per_unit.drop_duplicates("u").set_index("u").sort_index()
    g_values = first_rows["g"]
    coh = np.full(len(unit_labels), -1, dtype=np.int64)
    known = ~first_rows["never"].to_numpy(bool)
    if known.any():
        vals = g_values[known].to_numpy()
        try:
            after = vals > period_keys[-1]
        except TypeError:
            raise SchemaError(f"{what}: cohort column {cohort!r} holds {s.dtype} values that cannot be compared with "
                              f"the periods of {time!r} ({df[time].dtype})", table="panel", column=cohort) from None
        pos = np.searchsorted(period_keys, vals)
        inside = ~after
        found = np.zeros(len(vals), dtype=bool)
        found[inside] = period_keys[np.minimum(pos[inside], len(period_keys) - 1)] == vals[inside]
        if (inside & ~found).any():
            v = label(vals[inside & ~found][0])
            raise SchemaError(f"{what}: cohort {v!r} (column {cohort!r}) is not one of the periods of {time!r} "
                              f"(from {period_labels[0]!r} to {period_labels[-1]!r}); cohorts name the first "
                              "treated period", table="panel", column=cohort)
        idx = np.flatnonzero(known)
        coh[idx[inside]] = pos[inside]  # a cohort after the last period: never treated within the panel
    g_row = coh[ucode]
    d = ((g_row >= 0) & (pcode >= g_row)).astype(np.int64)
    return coh, d


# ---------------------------------------------------------------------------------------------- TWFE
