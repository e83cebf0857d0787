"""Multi-column imputation, shared by the engines that have no native imputer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ibis.expr.types import Table

from ..errors import ParameterError, SchemaError

if TYPE_CHECKING:
    from .base import Engine

IMPUTE_STRATEGIES = ("mean", "median", "mode")


def check_impute_args(table: Table, columns: list[str], strategy: str) -> None:
    """Raise a clear error for an unknown strategy or a missing / non-numeric column."""
    if strategy not in IMPUTE_STRATEGIES:
        raise ParameterError(f"strategy must be one of {IMPUTE_STRATEGIES}; found {strategy!r}")
    if not columns:
        raise ParameterError("columns must name at least one column to impute")
    schema = table.schema()
    for c in columns:
        if c not in schema:
            raise SchemaError(f"impute: no column {c!r}; found {list(schema.names)}", column=c)
        if not schema[c].is_numeric():
            raise SchemaError(f"impute: column {c!r} must be numeric; found {schema[c]}", column=c)


def impute_with_ibis(engine: "Engine", table: Table, columns: list[str], strategy: str
                     ) -> tuple[Table, dict[str, float]]:
    """Impute with plain ibis aggregates (exact median: the mean of the two middle values)."""
    check_impute_args(table, columns, strategy)
    aggs = {}
    for c in columns:
        col = table[c]
        if strategy == "mean":
            aggs[c] = col.mean()
        elif strategy == "median":
            aggs[c] = col.median()
        else:  # the most frequent value; ties go to the smallest, like Spark ML
            present = table.filter(col.notnull())
            counts = present.group_by(c).agg(n=present.count())
            top = counts.order_by([counts.n.desc(), counts[c]]).limit(1)
            aggs[c] = top  # resolved below
    fills: dict[str, float] = {}
    scalars = {c: a for c, a in aggs.items() if not isinstance(a, Table)}
    if scalars:
        row = engine.to_pandas(table.aggregate(**scalars)).iloc[0]
        fills.update({c: float(row[c]) for c in scalars})
    for c, a in aggs.items():
        if isinstance(a, Table):
            top = engine.to_pandas(a)[c]
            fills[c] = float(top.iloc[0]) if len(top) else float("nan")  # no row: the column is all null
    empty = [c for c, v in fills.items() if v != v]
    if empty:
        raise SchemaError(f"impute: column(s) {empty} have no non-null value to impute from",
                          column=empty[0])
    filled = table.mutate(**{c: table[c].fill_null(fills[c]).cast("float64") for c in columns})
    return filled, fills
