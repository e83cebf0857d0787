"""Multi-column imputation with Spark ML's ``Imputer`` semantics, fitted in one pass on any engine.

Examples
--------
>>> import pandas as pd
>>> from marketing360.prep import Imputer
>>> df = pd.DataFrame({"price": [1.0, None, 3.0, float("nan")], "qty": [2, 4, None, 4]})
>>> imp = Imputer(strategy="median").fit(df)
>>> imp.statistics_
{'price': 1.0, 'qty': 4.0}
>>> imp.transform(df).to_pandas().values.tolist()
[[1.0, 2.0], [1.0, 4.0], [3.0, 4.0], [1.0, 4.0]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import ibis
from ibis.expr.types import Table

from ..engine.columnstats import as_double, check_impute_args
from ..types import ImputeStrategy, TableLike
from ._base import ColumnTransformer

__all__ = ["Imputer"]


class Imputer(ColumnTransformer):
    """Replace missing values of numeric columns by each column's mean, median or mode.

    A value is missing when it is null, NaN or equal to ``missing_value``
    (Spark ML's ``Imputer``): the statistics are computed without them, all
    columns in one pass (Spark ML's multi-column ``Imputer`` on Spark, one
    aggregation on DuckDB), and ``transform`` fills them, keeping each
    column's type (an integer column gets the statistic truncated toward
    zero, as Spark casts it).

    Parameters
    ----------
    columns : list of str, optional
        Numeric columns to impute; all numeric columns by default.
    strategy : {"mean", "median", "mode"}
        The median is the value of rank ``ceil(n / 2)`` (exact on DuckDB; on
        Spark within ``relative_error`` in rank); the mode is the most
        frequent value, the smallest among ties.
    missing_value : float
        A value that also means "missing" (NaN by default: only null and NaN).
    relative_error : float
        Rank error allowed to the median, in [0, 1] (Spark ML's default 0.001).
    output_columns : list of str, optional
        Names of the imputed columns; by default they replace the inputs.

    Attributes
    ----------
    columns_ : list of str
    statistics_ : dict of str to float
        Each column's surrogate (Spark ML's ``surrogateDF``).
    """

    def __init__(self, *, columns: Sequence[str] | None = None, strategy: ImputeStrategy = "mean",
                 missing_value: float = math.nan, relative_error: float = 0.001,
                 output_columns: Sequence[str] | None = None) -> None:
        self.columns = columns
        self.strategy = strategy
        self.missing_value = missing_value
        self.relative_error = relative_error
        self.output_columns = output_columns

    def fit(self, data: TableLike, y: object = None) -> "Imputer":
        """Compute every column's surrogate in one pass over ``data``."""
        table, engine = self._open(data)
        columns = check_impute_args(table, self._input_columns(table), self.strategy, self.missing_value,
                                    self.relative_error)
        self._output_names(columns)
        stats = engine.capability("imputer")(table, columns, self.strategy, missing_value=self.missing_value,
                                             relative_error=self.relative_error)
        self.columns_ = columns
        self.statistics_ = stats
        return self

    def transform(self, data: TableLike) -> Table:
        """``data`` with the missing values of the fitted columns filled (lazy, on the data's engine)."""
        table, _ = self._open(data)
        columns = self._fitted_columns(table)
        mv = self.missing_value
        out = {}
        for c, name in zip(columns, self._output_names(columns)):
            x = table[c]
            typ = x.type()
            fill = self.statistics_[c]
            if typ.is_integer():
                fill = math.trunc(fill)
            missing = x.isnull()
            if math.isnan(mv):
                missing |= as_double(x).isnan() if typ.is_floating() else ibis.literal(False)
            else:
                missing |= as_double(x) == float(mv)
            out[name] = ibis.ifelse(missing, ibis.literal(fill).cast(typ), x).cast(typ)
        return table.mutate(**out)
