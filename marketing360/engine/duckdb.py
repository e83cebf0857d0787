"""The DuckDB engine: embedded, in memory or in a file, zero set-up. The default."""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
from ibis.expr.types import Table

from ..types import ImputeStrategy
from .base import AUTO_PREFIX, Engine, capability
from .impute import impute_with_ibis

__all__ = ["DuckDBEngine"]


class DuckDBEngine(Engine):
    """DuckDB through ibis.

    Parameters
    ----------
    path : str or Path, optional
        A database file; in memory when omitted.
    threads : int, optional
        Worker threads (DuckDB uses every core by default).
    memory_limit : str, optional
        DuckDB's ``memory_limit`` such as ``"8GB"``.

    Examples
    --------
    >>> import pandas as pd
    >>> eng = DuckDBEngine()
    >>> t = eng.table(pd.DataFrame({"x": [1, 2, 3]}))
    >>> int(eng.to_pandas(t.aggregate(s=t.x.sum()))["s"].iloc[0])
    6
    """

    name = "duckdb"

    def __init__(self, path: str | Path | None = None, *, threads: int | None = None,
                 memory_limit: str | None = None) -> None:
        config: dict[str, Any] = {}
        if threads is not None:
            config["threads"] = int(threads)
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        self.path = None if path is None else Path(path)
        self.backend = ibis.duckdb.connect(":memory:" if path is None else str(path), **config)
        # DuckDB draws a progress widget for long queries inside Jupyter: noise in saved notebooks
        self.backend.con.execute("SET enable_progress_bar = false")
        self._keep: dict[str, Any] = {}  # registered Arrow data must outlive its views
        self._unused: list[str] = []  # auto-named tables no expression uses any more

    @property
    def connection(self) -> Any:
        """The underlying ``duckdb.DuckDBPyConnection``."""
        return self.backend.con

    def _from_arrow(self, table: pa.Table, name: str) -> Table:
        self._release_unused()
        self._keep[name] = table
        self.backend.con.register(name, table)
        t = self.backend.table(name)
        if name.startswith(AUTO_PREFIX):
            # data opened without a name is freed once no expression uses it (a notebook that calls
            # analyses on a large frame again and again does not pile up copies); the release itself
            # waits for the next call, never runs inside a query
            weakref.finalize(t.op(), self._unused.append, name)
        return t

    def _release_unused(self) -> None:
        while self._unused:
            name = self._unused.pop()
            if self._keep.pop(name, None) is not None:
                self.backend.con.unregister(name)

    @property
    def registered(self) -> list[str]:
        """Names of the in-memory tables this engine holds (for checking that unused data is freed)."""
        self._release_unused()
        return sorted(self._keep)

    def _read_parquet(self, path: str, name: str) -> Table:
        return self.backend.read_parquet(path, table_name=name, hive_partitioning=True)

    def _read_parquet_dir(self, path: Path, name: str) -> Table:
        return self._read_parquet(str(path / "**" / "*.parquet"), name)

    def _read_csv(self, path: str, name: str) -> Table:
        return self.backend.read_csv(path, table_name=name)

    @capability("impute")
    def impute(self, table: Table, columns: list[str], strategy: ImputeStrategy = "mean"
               ) -> tuple[Table, dict[str, float]]:
        """Fill nulls of numeric ``columns`` with their mean, median or mode (exact)."""
        return impute_with_ibis(self, table, columns, strategy)

    def close(self) -> None:
        self._forget_cached()
        self.backend.disconnect()
        self._keep.clear()
