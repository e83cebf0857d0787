"""Pluggable engines: DuckDB (the default) and Spark, behind one interface.

Examples
--------
>>> import marketing360 as m3
>>> eng = m3.connect()
>>> eng.name
'duckdb'
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._progress import Progress
from ..errors import ParameterError
from ..types import EngineName, Output
from .base import Engine, cache, capability, compiles, fetch
from .duckdb import DuckDBEngine

__all__ = ["Engine", "DuckDBEngine", "SparkEngine", "connect", "default_engine", "fetch", "cache", "compiles",
           "capability", "Output",
           "EngineName"]


def connect(
    engine: EngineName | Any = "duckdb",
    *,
    path: str | Path | None = None,
    master: str = "local[2]",
    config: Mapping[str, str] | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    quiet: bool = True,
    progress: Progress = "auto",
) -> Engine:
    """Open an engine.

    Parameters
    ----------
    engine : {"duckdb", "spark"} or SparkSession
        ``"duckdb"`` (default) is embedded and in memory; ``"spark"`` starts a
        local SparkSession; an existing SparkSession (a cluster, Spark
        Connect) is wrapped as it is.
    path : str or Path, optional
        DuckDB only: a database file instead of memory.
    master, config, quiet, progress :
        Spark only: master URL and extra settings of a session started here,
        whether the JVM's console output goes to a log file, and whether to
        say when the JVM starts and is ready (``"auto"``: in a notebook).
    threads, memory_limit :
        DuckDB only: worker threads and memory limit (``"8GB"``).

    Returns
    -------
    Engine
    """
    if isinstance(engine, str):
        key = engine.lower()
        if key == "duckdb":
            if config is not None:
                raise ParameterError("config applies to the Spark engine only")
            return DuckDBEngine(path, threads=threads, memory_limit=memory_limit)
        if key == "spark":
            if path is not None or threads is not None or memory_limit is not None:
                raise ParameterError(
                    "path, threads and memory_limit apply to the DuckDB engine only; "
                    "pass Spark settings in config"
                )
            from .spark import SparkEngine

            return SparkEngine(master=master, config=config, quiet=quiet, progress=progress)
        raise ParameterError(f"engine must be 'duckdb', 'spark' or a SparkSession; found {engine!r}")
    if type(engine).__module__.startswith("pyspark"):
        from .spark import SparkEngine

        return SparkEngine(engine)
    if isinstance(engine, Engine):
        return engine
    raise ParameterError(
        f"engine must be 'duckdb', 'spark' or a SparkSession; found a {type(engine).__name__}"
    )


_DEFAULT: list[Engine] = []


def default_engine() -> Engine:
    """The engine a pandas / polars / Arrow table or a file goes to when no engine is named.

    An in-memory DuckDB engine, opened on first use and shared by the whole
    session. Open data on another engine with ``engine.table(data)`` and pass
    the resulting table instead.

    Examples
    --------
    >>> default_engine() is default_engine()
    True
    """
    if not _DEFAULT or getattr(_DEFAULT[0], "closed", False):
        _DEFAULT[:] = [DuckDBEngine()]
    return _DEFAULT[0]


def __getattr__(name: str) -> Any:
    if name == "SparkEngine":  # lazy: importing pyspark costs a second
        from .spark import SparkEngine

        return SparkEngine
    raise AttributeError(name)
