"""What every preprocessing transformer shares: opening the table, choosing and checking columns, naming outputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ibis.expr.types import Table

from ..engine import Engine, engine_of
from ..engine.columnstats import check_numeric_columns
from ..errors import ParameterError, SchemaError
from ..estimators import Estimator
from ..inputs import open_table
from ..types import HandleInvalid, TableLike

__all__ = ["ColumnTransformer", "HANDLE_INVALID"]

#: what a bucketing transformer does with null and NaN values (Spark ML's ``handleInvalid``)
HANDLE_INVALID = ("error", "skip", "keep")


class ColumnTransformer(Estimator):
    """Base of the transformers of :mod:`marketing360.prep`: ``fit(data)`` returns self, ``transform(data)``
    returns a lazy ibis table on the data's engine, with the output columns replacing the inputs (or added
    under ``output_columns``)."""

    columns: Sequence[str] | None
    output_columns: Sequence[str] | None
    columns_: list[str]

    def _open(self, data: TableLike) -> tuple[Table, Engine]:
        """The data as an ibis table and the engine it runs on (a frame goes to the default engine)."""
        table = open_table(data, what=type(self).__name__)
        return table, engine_of(table)

    def _input_columns(self, table: Table) -> list[str]:
        """``columns``, checked to be numeric columns of ``table``; None: every numeric column."""
        what = type(self).__name__
        if self.columns is None:
            schema = table.schema()
            found = [c for c in schema.names if schema[c].is_numeric()]
            if not found:
                raise SchemaError(f"{what}: the table has no numeric column; found {dict(schema.items())}")
            return found
        if isinstance(self.columns, str):
            raise ParameterError(f"{what}: columns must be a list of column names; found the string "
                                 f"{self.columns!r} (write [{self.columns!r}])")
        return check_numeric_columns(table, self.columns, what=what)

    def _output_names(self, columns: list[str]) -> list[str]:
        """Where the outputs go: ``output_columns`` (one per input column) or the input columns themselves."""
        if self.output_columns is None:
            return list(columns)
        outs = list(self.output_columns)
        if isinstance(self.output_columns, str) or len(outs) != len(columns):
            raise ParameterError(f"{type(self).__name__}: output_columns must name one column per input column "
                                 f"({len(columns)}: {columns}); found {self.output_columns!r}")
        if len(set(outs)) != len(outs):
            raise ParameterError(f"{type(self).__name__}: output_columns names a column twice: {outs}")
        return outs

    def _fitted_columns(self, table: Table) -> list[str]:
        """The columns seen in ``fit``, checked to be numeric columns of the table being transformed."""
        self._check_fitted()
        return check_numeric_columns(table, self.columns_, what=f"{type(self).__name__}.transform")

    def fit_transform(self, data: TableLike, y: Any = None) -> Table:
        """``fit(data)`` then ``transform(data)``."""
        return self.fit(data).transform(data)  # type: ignore[attr-defined]


def check_handle_invalid(value: Any, what: str) -> HandleInvalid:
    if value not in HANDLE_INVALID:
        raise ParameterError(f"{what}: handle_invalid must be one of {HANDLE_INVALID}; found {value!r}")
    return value
