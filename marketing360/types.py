"""The option types of marketing360, in one place: ``Literal`` aliases for every string option.

Editors complete them and type checkers verify them; every public function
that takes a string option is annotated with one of these.

Examples
--------
>>> from typing import get_args
>>> get_args(Anchor)
('conversion', 'calendar')
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal, TypeAlias, Union

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    import pyarrow as pa
    import pyspark.sql
    from ibis.expr.types import Table

    from .results import Result

__all__ = [
    "TableLike", "EngineName", "Output", "TableName", "Stage", "Anchor", "Rule", "Worth", "CreditKey",
    "Architecture", "Players", "CountUnit", "ImputeStrategy",
]

#: what every analysis takes as data: anything :meth:`Engine.table <marketing360.engine.Engine.table>`
#: opens (a frame, an Arrow table, a parquet / CSV path, an ibis table, a Spark DataFrame) or a result
TableLike: TypeAlias = Union["pd.DataFrame", "pl.DataFrame", "pl.LazyFrame", "pa.Table", "Table",
                             "pyspark.sql.DataFrame", "Result", str, "os.PathLike[str]"]
#: engines :func:`marketing360.connect` can open
EngineName = Literal["duckdb", "spark"]
#: the libraries results can be returned in
Output = Literal["pandas", "polars", "arrow"]
#: the canonical tables of :mod:`marketing360.schema`
TableName = Literal["events", "spend", "outcomes", "users", "paths"]
#: the 4A stages a consumer-brand pair can be in (``unaware`` is not listed in results)
Stage = Literal["aware", "appeal", "act", "advocate"]
#: how journeys are cut: at each conversion, or in calendar windows
Anchor = Literal["conversion", "calendar"]
#: rule-based attribution rules
Rule = Literal["first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based"]
#: the worth of a channel set in Shapley attribution
Worth = Literal["conversions", "rate"]
#: what a touchpoint is credited to
CreditKey = Literal["channel", "campaign"]
#: network architectures of the deep attribution model
Architecture = Literal["rnn", "attention"]
#: Shapley players of the deep attribution model
Players = Literal["touch", "channel"]
#: how a 4A criterion counts qualifying events
CountUnit = Literal["days", "events"]
#: statistics of the multi-column imputer
ImputeStrategy = Literal["mean", "median", "mode"]
