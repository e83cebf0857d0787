"""marketing360: Jupyter-first marketing science on DuckDB and Spark.

The 4A consumer-asset model, multi-touch attribution, econometric
incrementality, shopping paths and the 4E loop, as composable functions that
run unchanged on an embedded DuckDB engine or on Apache Spark.

Examples
--------
>>> import marketing360 as m3
>>> eng = m3.connect()                      # DuckDB, in memory
>>> world = m3.datasets.simulate(n_users=200, n_days=14, seed=1)
>>> events = eng.table(world.events)
>>> int(eng.to_pandas(events.count().name("n").as_table())["n"].iloc[0]) == len(world.events)
True
"""

from __future__ import annotations

from . import datasets, schema
from .engine import Engine, connect
from .errors import (
    EngineError,
    Marketing360Error,
    MissingDependencyError,
    NotFittedError,
    ParameterError,
    SchemaError,
)
from .schema import EVENT_TYPES, validate

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "connect",
    "Engine",
    "validate",
    "EVENT_TYPES",
    "datasets",
    "schema",
    "Marketing360Error",
    "SchemaError",
    "ParameterError",
    "EngineError",
    "MissingDependencyError",
    "NotFittedError",
]
