"""Quantiles of many numeric columns in one pass, with the Greenwald-Khanna rank guarantee.

Examples
--------
>>> import pandas as pd
>>> from marketing360.prep import approx_quantile
>>> df = pd.DataFrame({"a": [5.0, 1.0, 3.0, None, float("nan")], "b": [10, 20, 30, 40, 50]})
>>> approx_quantile(df, ["a", "b"], [0.0, 0.5, 1.0])
             a     b
probability
0.0        1.0  10.0
0.5        3.0  30.0
1.0        5.0  50.0
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..engine import engine_of
from ..engine.columnstats import check_numeric_columns, check_probabilities, check_relative_error
from ..errors import ParameterError
from ..inputs import open_table
from ..types import TableLike

__all__ = ["approx_quantile"]


def approx_quantile(data: TableLike, columns: Sequence[str], probabilities: Sequence[float], *,
                    relative_error: float = 0.001) -> pd.DataFrame:
    """The ``probabilities`` quantiles of each of ``columns``, all computed in one pass.

    Spark's ``DataFrame.stat.approxQuantile`` semantics: nulls and NaN are
    ignored (infinities count), and the answer for probability ``q`` over
    ``n`` values is a value of the column whose rank lies within
    ``relative_error * n`` of ``ceil(q * n)`` (the Greenwald-Khanna
    guarantee; 0 asks for the exact value of that rank, SQL's
    ``percentile_disc``). Spark answers from its Greenwald-Khanna summaries;
    DuckDB computes every quantile exactly in one aggregation, which meets
    any bound.

    Parameters
    ----------
    data : table
        Anything :meth:`Engine.table <marketing360.engine.Engine.table>` accepts.
    columns : list of str
        Numeric columns.
    probabilities : list of float
        Each in [0, 1].
    relative_error : float
        In [0, 1].

    Returns
    -------
    pandas.DataFrame
        One row per probability (the index, named ``probability``), one column per input column.

    Raises
    ------
    SchemaError
        A column is missing, not numeric, or has no value that is not null or NaN.
    ParameterError
        A probability outside [0, 1], an impossible ``relative_error``.
    """
    table = open_table(data, what="approx_quantile")
    if isinstance(columns, str):
        raise ParameterError(f"approx_quantile: columns must be a list of column names; found {columns!r}")
    columns = check_numeric_columns(table, columns, what="approx_quantile")
    probs = check_probabilities(probabilities)
    check_relative_error(relative_error)
    found = engine_of(table).capability("approx_quantile")(table, columns, probs, relative_error)
    return pd.DataFrame(found, index=pd.Index(probs, name="probability"))[columns]
