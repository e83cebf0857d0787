"""marketing360: Jupyter-first marketing science on DuckDB and Spark.

The 4A consumer-asset model, multi-touch attribution, econometric
incrementality, shopping paths and the 4E loop, as composable functions that
run unchanged on an embedded DuckDB engine or on Apache Spark.

The subpackages (``m3.assets``, ``m3.attribution``, ``m3.paths``, ``m3.viz``
...) are imported on first use, so ``import marketing360`` stays quick and tab
completion lists them all.

Examples
--------
>>> import marketing360 as m3
>>> world = m3.datasets.simulate(n_users=200, n_days=14, seed=1)
>>> stages = m3.assets.snapshot(world.events, "2025-01-14")   # a pandas frame goes to DuckDB
>>> int(stages.table().level.max()) <= 4
True
"""

from __future__ import annotations

import importlib
from typing import Any

from . import datasets, schema
from .engine import Engine, connect, default_engine
from .errors import (
    EngineError,
    Marketing360Error,
    MissingDependencyError,
    NotFittedError,
    ParameterError,
    SchemaError,
)
from .inputs import as_table
from .schema import EVENT_TYPES, validate

__version__ = "0.1.0"

#: subpackages and modules reachable as attributes, imported on first use
SUBMODULES: tuple[str, ...] = ("assets", "attribution", "paths", "overview", "viz", "report", "models", "results",
                               "inputs", "estimators", "types", "testing", "engine", "errors",
                               "incrementality", "playbook", "prep")

__all__ = [
    "__version__",
    "connect",
    "default_engine",
    "as_table",
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
__all__ += list(SUBMODULES)


def __getattr__(name: str) -> Any:
    if name in SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'marketing360' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(SUBMODULES))
