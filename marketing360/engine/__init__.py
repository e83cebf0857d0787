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
from .base import Engine, cache, capability, compiles, engine_of, fetch
from .duckdb import DuckDBEngine

__all__ = ["Engine", "DuckDBEngine", "SparkEngine", "connect", "default_engine", "fetch", "cache", "compiles",
           "engine_of",
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
    engine : {"duckdb", "spark"}, SparkSession or Engine
        ``"duckdb"`` (default) is embedded and in memory; ``"spark"`` starts a
        local SparkSession; an existing SparkSession (a cluster, Spark
        Connect) is wrapped as it is, its settings untouched. An
        :class:`Engine` is returned as it is, so functions can take either a
        name or an engine.
    path : str or Path, optional
        DuckDB only: a database file instead of memory.
    master, config, quiet, progress :
        Spark only: master URL and extra settings of a session started here,
        whether the JVM's console output goes to a log file, and whether to
        say when the JVM starts and is ready (``"auto"``: in a notebook).
        ``config`` applies only to a session marketing360 starts: passing it
        with a SparkSession or an Engine raises. With ``"spark"``, when a
        SparkSession is already running in this process, that session is used
        as it is and nothing is started (see :class:`SparkEngine`).
    threads, memory_limit :
        DuckDB only: worker threads and memory limit (``"8GB"``).

    Returns
    -------
    Engine

    Raises
    ------
    ParameterError
        For an unknown engine, or settings that the engine asked for would ignore.
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
        raise ParameterError(f"engine must be 'duckdb', 'spark', a SparkSession or an Engine; found {engine!r}")
    if type(engine).__module__.startswith("pyspark") or isinstance(engine, Engine):
        what = "an engine" if isinstance(engine, Engine) else "a SparkSession"
        ignored = [k for k, v in (("config", config), ("path", path), ("threads", threads),
                                  ("memory_limit", memory_limit)) if v is not None]
        if ignored:
            raise ParameterError(
                f"{', '.join(ignored)} cannot be applied to {what} that is already running: config applies "
                "to Spark sessions marketing360 creates (connect('spark', config=...)), path, threads and "
                "memory_limit to DuckDB engines it opens; set them on the session "
                "(spark.conf.set(key, value)) or when creating it"
            )
        if isinstance(engine, Engine):
            return engine
        from .spark import SparkEngine

        return SparkEngine(engine)
    raise ParameterError(
        f"engine must be 'duckdb', 'spark', a SparkSession or an Engine; found a {type(engine).__name__}"
    )


_DEFAULT: list[Engine] = []


def default_engine() -> Engine:
    """The engine a pandas / polars / Arrow table or a file goes to when no engine is named.

    An in-memory DuckDB engine, opened on first use and shared by the whole
    session (once it is closed, the next call opens a new one). Open data on
    another engine with ``engine.table(data)`` and pass the resulting table instead.

    Examples
    --------
    >>> default_engine() is default_engine()
    True
    """
    if not _DEFAULT or _DEFAULT[0].closed:
        _DEFAULT[:] = [DuckDBEngine()]
    return _DEFAULT[0]


def __getattr__(name: str) -> Any:
    if name == "SparkEngine":  # lazy: importing pyspark costs a second
        from .spark import SparkEngine

        return SparkEngine
    raise AttributeError(name)
