"""Bucketing numeric columns, with Spark ML's ``Bucketizer`` and ``QuantileDiscretizer`` semantics.

Examples
--------
>>> import pandas as pd
>>> from marketing360.prep import Bucketizer, QuantileDiscretizer
>>> df = pd.DataFrame({"price": [0.5, 1.0, 7.0, float("nan")], "age": [18, 35, 70, 20]})
>>> b = Bucketizer(splits={"price": [0, 1, 5, float("inf")], "age": [0, 25, 50, 120]}, handle_invalid="keep")
>>> b.transform(df).to_pandas().values.tolist()  # a pandas NaN arrives as null: a null bucket, as in Spark
[[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [nan, 0.0]]
>>> QuantileDiscretizer(columns=["age"], num_buckets=2).fit(df).splits_
{'age': [-inf, 20.0, inf]}
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import ibis
from ibis.expr.types import Table

from ..engine.columnstats import as_double, check_numeric_columns, check_relative_error
from ..errors import ParameterError, SchemaError
from ..inputs import open_table
from ..types import HandleInvalid, TableLike
from ._base import ColumnTransformer, check_handle_invalid

__all__ = ["Bucketizer", "QuantileDiscretizer"]


def check_splits(splits: Any, what: str) -> dict[str, list[float]]:
    """Spark's rule: per column at least three split points, strictly increasing, none NaN."""
    if not isinstance(splits, Mapping) or not splits:
        raise ParameterError(f"{what}: splits must map each column to its split points, e.g. "
                             f"{{'price': [-inf, 0, 10, inf]}}; found {splits!r}")
    out = {}
    for col, pts in splits.items():
        try:
            s = [float(p) for p in pts]
        except (TypeError, ValueError):
            raise ParameterError(f"{what}: the splits of {col!r} must be numbers; found {pts!r}") from None
        if len(s) < 3:
            raise ParameterError(f"{what}: the splits of {col!r} need at least 3 points (2 buckets); found {s}")
        if any(math.isnan(p) for p in s) or any(a >= b for a, b in zip(s, s[1:])):
            raise ParameterError(f"{what}: the splits of {col!r} must be strictly increasing and not NaN; found {s}")
        out[str(col)] = s
    return out


def _at_or_above(x: Any, split: float) -> Any:
    """``x >= split`` in Java's order of doubles (Spark's binary search), where -0.0 lies below 0.0."""
    if split == 0 and math.copysign(1.0, split) > 0:
        return (x > 0) | ((x == 0) & ~x.cast("string").startswith("-"))  # the sign of a zero, on every engine
    return x >= split


def _invalid(x: Any) -> Any:
    d = as_double(x)
    return d.isnull() | d.isnan()


def bucketize(table: Table, splits: dict[str, list[float]], outputs: dict[str, str], handle_invalid: str,
              what: str) -> Table:
    """``table`` with each column's bucket index (a double, as in Spark) under its output name.

    Bucket ``i`` holds ``splits[i] <= x < splits[i + 1]``, the last one also its upper edge. Values
    outside the outer splits raise (Spark raises too); NaN raises with ``"error"`` and goes to an extra
    bucket ``len(splits) - 1`` with ``"keep"``; a null gives a null bucket with both (as in Spark 4);
    ``"skip"`` drops the rows with a null or NaN in any of the columns. -0.0 lies below a split at 0.0,
    as in Spark's binary search. The checks cost one aggregation, run only where some value could break them.
    """
    columns = list(splits)
    if handle_invalid == "skip":
        keep = ibis.literal(True)
        for c in columns:
            keep &= ~_invalid(table[c])
        table = table.filter(keep)
    checks: dict[str, Any] = {}
    for i, c in enumerate(columns):
        x = as_double(table[c])
        lo, hi = splits[c][0], splits[c][-1]
        if lo > -math.inf:
            checks[f"b{i}"] = (x < lo).sum()
            checks[f"lo{i}"] = x.min(where=~x.isnan())
        if hi < math.inf:
            checks[f"a{i}"] = (x > hi).sum(where=~x.isnan())
            checks[f"hi{i}"] = x.max(where=~x.isnan())
        if handle_invalid == "error" and table[c].type().is_floating():
            checks[f"n{i}"] = x.isnan().sum()
    if checks:
        row = table.aggregate(**checks).to_pyarrow().to_pylist()[0]
        for i, c in enumerate(columns):
            below, above = row.get(f"b{i}") or 0, row.get(f"a{i}") or 0
            if below or above:
                raise SchemaError(
                    f"{what}: column {c!r} has values outside its splits [{splits[c][0]}, {splits[c][-1]}]: "
                    f"{below} below (smallest {row.get(f'lo{i}')}), {above} above (largest {row.get(f'hi{i}')}); "
                    "widen the outer splits (-inf and inf take everything)", column=c)
            if row.get(f"n{i}"):
                raise SchemaError(f"{what}: column {c!r} holds {row[f'n{i}']} NaN value(s); set "
                                  "handle_invalid='keep' (an extra bucket) or 'skip' (drop those rows)", column=c)
    out = {}
    for c in columns:
        s = splits[c]
        x = as_double(table[c])
        branches = []
        if handle_invalid == "keep":  # NaN to the extra bucket; a null stays null, as in Spark
            branches.append((x.isnan(), float(len(s) - 1)))
        branches += [(_at_or_above(x, s[i]), float(i)) for i in range(len(s) - 2, -1, -1)]
        out[outputs[c]] = ibis.cases(*branches, else_=ibis.null("float64")).cast("float64")
    return table.mutate(**out)


class Bucketizer(ColumnTransformer):
    """Map numeric columns to bucket indices by fixed split points (Spark ML's multi-column ``Bucketizer``).

    Stateless: :meth:`transform` needs no :meth:`fit`. Bucket ``i`` holds
    ``splits[i] <= x < splits[i + 1]`` and the last bucket also its upper
    edge; put ``-inf`` and ``inf`` at the ends to take every value (a value
    outside the outer splits is an error, as in Spark).

    Parameters
    ----------
    splits : dict of str to list of float
        Per column, at least three strictly increasing split points.
    handle_invalid : {"error", "skip", "keep"}
        NaN values: ``"error"`` raises, ``"keep"`` puts them in an extra
        bucket ``len(splits) - 1``; a null gives a null bucket with both (as
        in Spark 4; a pandas NaN arrives on the engines as a null). ``"skip"``
        drops the rows with a null or NaN in any of the columns.
    output_columns : list of str, optional
        Names of the bucket columns (doubles, as in Spark), in the order of
        ``splits``; by default they replace the inputs.
    """

    def __init__(self, *, splits: Mapping[str, Sequence[float]] | None = None, handle_invalid: HandleInvalid = "error",
                 output_columns: Sequence[str] | None = None) -> None:
        self.splits = splits
        self.handle_invalid = handle_invalid
        self.output_columns = output_columns

    def fit(self, data: TableLike | None = None, y: object = None) -> "Bucketizer":
        """Check the settings (and, given data, the columns); nothing is learnt."""
        splits = check_splits(self.splits, "Bucketizer")
        check_handle_invalid(self.handle_invalid, "Bucketizer")
        self._output_names(list(splits))
        if data is not None:
            check_numeric_columns(open_table(data, what="Bucketizer"), list(splits), what="Bucketizer")
        self.splits_ = splits
        return self

    def transform(self, data: TableLike) -> Table:
        """``data`` with each column's bucket index (lazy; one aggregation first checks the bounds)."""
        splits = check_splits(self.splits, "Bucketizer")
        handle = check_handle_invalid(self.handle_invalid, "Bucketizer")
        table = open_table(data, what="Bucketizer")
        columns = check_numeric_columns(table, list(splits), what="Bucketizer")
        outputs = dict(zip(columns, self._output_names(columns)))
        return bucketize(table, splits, outputs, handle, "Bucketizer")


class QuantileDiscretizer(ColumnTransformer):
    """Bucket numeric columns at their quantiles (Spark ML's multi-column ``QuantileDiscretizer``).

    ``fit`` asks the engine for the quantiles ``0, 1/k, ..., 1`` of every
    column in one pass (:func:`~marketing360.prep.approx_quantile`), sets the
    outer splits to ``-inf`` and ``inf`` and drops repeated splits (a column
    with heavy ties gets fewer buckets, with a warning, as in Spark).

    Parameters
    ----------
    columns : list of str, optional
        Numeric columns; all numeric columns by default.
    num_buckets : int or dict of str to int
        Buckets per column (>= 2), one number for all or one per column.
    relative_error : float
        Rank error allowed to the quantiles (Spark ML's default 0.001; 0 is exact).
    handle_invalid : {"error", "skip", "keep"}
        As for :class:`Bucketizer`.
    output_columns : list of str, optional
        Names of the bucket columns; by default they replace the inputs.

    Attributes
    ----------
    columns_ : list of str
    splits_ : dict of str to list of float
    """

    def __init__(self, *, columns: Sequence[str] | None = None, num_buckets: int | Mapping[str, int] = 2,
                 relative_error: float = 0.001, handle_invalid: HandleInvalid = "error",
                 output_columns: Sequence[str] | None = None) -> None:
        self.columns = columns
        self.num_buckets = num_buckets
        self.relative_error = relative_error
        self.handle_invalid = handle_invalid
        self.output_columns = output_columns

    def _buckets(self, columns: list[str]) -> dict[str, int]:
        nb = self.num_buckets
        per = dict(nb) if isinstance(nb, Mapping) else {c: nb for c in columns}
        unknown = sorted(set(per) - set(columns))
        if unknown or set(columns) - set(per):
            raise ParameterError(f"QuantileDiscretizer: num_buckets must give a number for each column {columns}; "
                                 f"found {nb!r}")
        for c, k in per.items():
            if not isinstance(k, int) or isinstance(k, bool) or k < 2:
                raise ParameterError(f"QuantileDiscretizer: num_buckets must be an integer >= 2; found {k!r} for {c!r}")
        return {c: per[c] for c in columns}

    def fit(self, data: TableLike, y: object = None) -> "QuantileDiscretizer":
        """Learn each column's splits from one pass of quantiles."""
        table, engine = self._open(data)
        columns = self._input_columns(table)
        buckets = self._buckets(columns)
        check_relative_error(self.relative_error)
        handle = check_handle_invalid(self.handle_invalid, "QuantileDiscretizer")
        self._output_names(columns)
        probs = sorted({i / k for k in set(buckets.values()) for i in range(k + 1)})
        found = engine.capability("approx_quantile")(table, columns, probs, self.relative_error)
        splits = {}
        for c in columns:
            k = buckets[c]
            at = dict(zip(probs, found[c]))
            pts = [at[i / k] for i in range(k + 1)]
            pts[0], pts[-1] = -math.inf, math.inf
            distinct = sorted({0.0 if p == 0 else p for p in pts})  # -0.0 and 0.0 are one split, as in Spark
            if len(distinct) < 3:
                raise SchemaError(f"QuantileDiscretizer: column {c!r} leaves fewer than 2 buckets (its inner "
                                  f"quantiles are {pts[1:-1]}); it cannot be discretised", column=c)
            if len(distinct) < len(pts):
                warnings.warn(f"QuantileDiscretizer: column {c!r} gets {len(distinct) - 1} buckets, not {k}: "
                              "some of its quantiles are equal (heavy ties)", stacklevel=2)
            splits[c] = distinct
        self.columns_ = columns
        self.splits_ = splits
        self.bucketizer_ = Bucketizer(splits=splits, handle_invalid=handle, output_columns=self.output_columns)
        return self

    def transform(self, data: TableLike) -> Table:
        """``data`` with each column's bucket index (see :class:`Bucketizer`)."""
        self._check_fitted()
        return self.bucketizer_.transform(data)
