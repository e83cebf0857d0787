"""Standardising numeric columns with Spark ML's ``StandardScaler`` semantics, fitted in one aggregation.

Examples
--------
>>> import pandas as pd
>>> from marketing360.prep import StandardScaler
>>> df = pd.DataFrame({"spend": [1.0, 2.0, 3.0, None], "flat": [5, 5, 5, 5]})
>>> sc = StandardScaler(with_mean=True).fit(df)
>>> sc.mean_, sc.std_
({'spend': 2.0, 'flat': 5.0}, {'spend': 1.0, 'flat': 0.0})
>>> sc.transform(df).to_pandas().values.tolist()
[[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0], [nan, 0.0]]
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
from ibis.expr.types import Table

from ..engine.columnstats import as_double
from ..errors import ParameterError, SchemaError
from ..types import TableLike
from ._base import ColumnTransformer

__all__ = ["StandardScaler"]


class StandardScaler(ColumnTransformer):
    """Scale numeric columns by their standard deviation, optionally centring them first.

    Spark ML's semantics: the standard deviation is the sample one (divided
    by ``n - 1``; 0 for a single value), a column whose deviation is 0 scales
    to 0, and by default values are scaled but not centred
    (``with_mean=False``: sparse data stays sparse). Nulls are left out of
    the statistics and stay null; NaN or infinite values are an error (they
    would turn every statistic into NaN). Every column's mean and deviation
    come from one aggregation.

    Parameters
    ----------
    columns : list of str, optional
        Numeric columns; all numeric columns by default.
    with_mean : bool
        Subtract the mean.
    with_std : bool
        Divide by the standard deviation.
    output_columns : list of str, optional
        Names of the scaled columns (doubles); by default they replace the inputs.

    Attributes
    ----------
    columns_ : list of str
    mean_, std_ : dict of str to float
    n_ : dict of str to int
        Non-null values per column.
    """

    def __init__(self, *, columns: Sequence[str] | None = None, with_mean: bool = False, with_std: bool = True,
                 output_columns: Sequence[str] | None = None) -> None:
        self.columns = columns
        self.with_mean = with_mean
        self.with_std = with_std
        self.output_columns = output_columns

    def fit(self, data: TableLike, y: object = None) -> "StandardScaler":
        """The mean and sample standard deviation of every column, in one aggregation."""
        for name in ("with_mean", "with_std"):
            if not isinstance(getattr(self, name), bool):
                raise ParameterError(f"StandardScaler: {name} must be True or False; found {getattr(self, name)!r}")
        table, engine = self._open(data)
        columns = self._input_columns(table)
        self._output_names(columns)
        aggs = {}
        for i, c in enumerate(columns):
            x = as_double(table[c])
            aggs[f"n{i}"] = x.count()
            # x - x is NaN exactly for NaN and ±inf (ibis 12 writes isinf() as FALSE on Spark)
            aggs[f"bad{i}"] = x.count(where=(x - x).isnan())
            aggs[f"m{i}"] = x.mean()
            aggs[f"s{i}"] = x.std(how="sample")
        row = engine.to_pandas(table.aggregate(**aggs)).iloc[0]
        bad = [c for i, c in enumerate(columns) if row[f"bad{i}"]]
        if bad:
            raise SchemaError(f"StandardScaler: column(s) {bad} hold NaN or infinite values; impute or drop them "
                              "first (marketing360.prep.Imputer)", column=bad[0])
        empty = [c for i, c in enumerate(columns) if not row[f"n{i}"]]
        if empty:
            raise SchemaError(f"StandardScaler: column(s) {empty} have no non-null value", column=empty[0])
        self.columns_ = columns
        self.n_ = {c: int(row[f"n{i}"]) for i, c in enumerate(columns)}
        self.mean_ = {c: float(row[f"m{i}"]) for i, c in enumerate(columns)}
        self.std_ = {c: 0.0 if self.n_[c] < 2 else float(row[f"s{i}"]) for i, c in enumerate(columns)}
        return self

    def transform(self, data: TableLike) -> Table:
        """``data`` with the fitted columns scaled (doubles; lazy)."""
        table, _ = self._open(data)
        columns = self._fitted_columns(table)
        out = {}
        for c, name in zip(columns, self._output_names(columns)):
            x = as_double(table[c])
            if self.with_mean:
                x = x - self.mean_[c]
            if self.with_std:
                std = self.std_[c]
                x = x / std if std != 0 else ibis.ifelse(x.isnull(), ibis.null("float64"), 0.0)
            out[name] = x.cast("float64")
        return table.mutate(**out)
