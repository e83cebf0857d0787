"""The engine interface: one analysis, written once as ibis expressions, runs on any engine.

An :class:`Engine` wraps an ibis backend. :meth:`Engine.table` accepts the
usual containers of tabular data and returns a lazy ibis table bound to the
engine; :meth:`Engine.to_pandas` / :meth:`Engine.to_polars` bring results
back. Native algorithms of an engine (Spark ML's multi-column ``Imputer``,
say) are offered as *capabilities*: an analysis asks
``engine.capability("imputer")`` and never checks which engine it runs on.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

import pandas as pd
import pyarrow as pa
from ibis.expr.types import Column, Scalar, Table

from ..errors import EngineError
from ..types import Output

__all__ = ["Engine", "capability", "fetch", "cache", "compiles", "engine_of"]


_names = itertools.count()
#: prefix of the names of tables opened without a name
AUTO_PREFIX = "m360_t"
#: a string that starts with a URI scheme (``s3://``, ``hdfs://``, ``file://``): read as it is, never as a local Path
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")


def fetch(expr: Any, output: Output = "pandas") -> Any:
    """Run an ibis expression on the backend it is bound to; the one way the package executes a query.

    Parameters
    ----------
    expr : ibis Table, Column or Scalar
    output : {"pandas", "polars", "arrow"}
        A table comes back as a pandas DataFrame (through Arrow, so SQL NULLs
        become ``None`` / ``NaN`` / ``NaT``), a polars DataFrame or an Arrow
        table; a scalar expression comes back as a Python value.
    """
    if output not in ("pandas", "polars", "arrow"):
        raise EngineError(f"output must be 'pandas', 'polars' or 'arrow'; found {output!r}")
    if isinstance(expr, Scalar):
        return expr.to_pyarrow().as_py()
    if isinstance(expr, Column):
        expr = expr.as_table()
    if not isinstance(expr, Table):
        raise EngineError(f"fetch runs ibis expressions; found a {type(expr).__name__}")
    arrow = expr.to_pyarrow()
    if output == "arrow":
        return arrow
    if output == "polars":
        import polars as pl

        return pl.from_arrow(arrow)
    return arrow.to_pandas()


def compiles(expr: Table) -> bool:
    """Whether the engine of ``expr`` can run it: a probe for SQL features some engines lack.

    Used where two expressions give the same answer and one is much cheaper (an ordered string
    aggregate on DuckDB; ibis 12 cannot write it for Spark).
    """
    from ibis.common.exceptions import TranslationError

    try:
        backend = expr._find_backend()
    except Exception:  # memtables only: they run on ibis's default backend, DuckDB
        return True
    try:
        backend.compile(expr)
    except TranslationError:  # UnsupportedOperationError, OperationNotDefinedError, UnsupportedBackendType
        return False
    return True


def cache(expr: Table) -> Table:
    """``expr`` computed once and kept by its engine (a DuckDB temporary table, a Spark cache).

    The one way the package caches: ibis 12's Spark backend does not register the
    in-memory tables (``ibis.memtable``) an expression uses before caching it, so
    that is done here first.
    """
    try:
        backend = expr._find_backend()
    except Exception:  # an expression of memtables only: any backend
        return expr
    hooks = getattr(backend, "_run_pre_execute_hooks", None)
    if hooks is not None:
        hooks(expr)
    return expr.cache()


_ARROW_OF_KIND: dict[str, pa.DataType] = {
    "id": pa.string(), "string": pa.string(), "event_type": pa.string(), "timestamp": pa.timestamp("us"),
    "date": pa.timestamp("us"), "float": pa.float64(), "int": pa.int64(),
}


@functools.cache
def _canonical_types() -> dict[str, pa.DataType]:
    """Column name -> Arrow type, for the columns of the canonical tables (``schema.TABLES``).

    A name used with two different types by two tables would get neither (none is today).
    """
    from ..schema import TABLES

    seen: dict[str, set[pa.DataType]] = {}
    for schema in TABLES.values():
        for col in schema.columns:
            seen.setdefault(col.name, set()).add(_ARROW_OF_KIND[col.kind])
    return {name: next(iter(types)) for name, types in seen.items() if len(types) == 1}


def _typed(table: pa.Table) -> pa.Table:
    """Columns of Arrow's ``null`` type (all missing, e.g. a pandas column of None) given a real type.

    Engines have no column type for "nothing": DuckDB reads it as an opaque NULL
    type that compares with nothing, Spark refuses it. A column named like a
    column of a canonical table gets that column's type (``value`` and ``cost``
    of the events: float64; ``ts``: timestamp), so an events frame whose optional
    amounts are all missing still checks as events; any other column becomes string.
    """
    for i, f in enumerate(table.schema):
        if pa.types.is_null(f.type):
            typ = _canonical_types().get(f.name, pa.string())
            table = table.set_column(i, pa.field(f.name, typ), pa.nulls(len(table), typ))
    return table


def _format_of(name: str) -> str | None:
    """``"parquet"``, ``"csv"`` or None (unknown), from the suffixes of a file name or glob."""
    suffixes = "".join(PurePosixPath(name).suffixes).lower()
    if ".parquet" in suffixes or suffixes.endswith(".pq"):
        return "parquet"
    if any(s in suffixes for s in (".csv", ".tsv", ".txt")):
        return "csv"
    return None


def capability(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark an engine method as the engine's implementation of capability ``name``."""

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__m360_capability__ = name  # type: ignore[attr-defined]
        return fn

    return mark


#: the engines opened in this process, to find the one an expression runs on
_LIVE: "weakref.WeakSet[Engine]" = weakref.WeakSet()


def engine_of(expr: Table) -> "Engine":
    """The open marketing360 engine an ibis expression runs on (to ask it for a capability).

    Raises
    ------
    EngineError
        The expression's backend belongs to no open engine (an ibis connection made outside marketing360).
    """
    import ibis

    backend = ibis.get_backend(expr)
    for eng in list(_LIVE):
        if eng.backend is backend and not eng.closed:
            return eng
    raise EngineError("the table belongs to no open marketing360 engine: open it with an engine's table() (or "
                      "marketing360.connect(...).table(...)) to use this analysis")


class Engine(ABC):
    """Base class of marketing360 engines.

    Subclasses set :attr:`name`, build :attr:`backend` (an ibis backend) and
    implement the hooks that load data. Methods decorated with
    :func:`capability` become the engine's capabilities.
    """

    #: short name of the engine ("duckdb", "spark")
    name: ClassVar[str]
    #: capability name -> method name, collected from the methods marked with :func:`capability`
    _capability_methods: ClassVar[dict[str, str]] = {}
    #: whether :meth:`close` was called (:func:`marketing360.default_engine` then opens a new one)
    closed: bool = False

    @property
    def backend(self) -> Any:
        """The ibis backend the engine wraps."""
        return self._backend

    @backend.setter
    def backend(self, value: Any) -> None:
        self._backend = value
        _LIVE.add(self)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        caps: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for attr, fn in vars(klass).items():
                cap = getattr(fn, "__m360_capability__", None)
                if cap:
                    caps[cap] = attr
        cls._capability_methods = caps

    # ------------------------------------------------------------------ data in

    def table(self, data: Any, *, name: str | None = None) -> Table:
        """Open ``data`` as a lazy ibis table bound to this engine.

        Parameters
        ----------
        data : pandas.DataFrame, polars.DataFrame, pyarrow.Table, str or Path, ibis Table, \
Spark DataFrame
            A path may be a parquet or CSV file, a glob (``"world/events/*.parquet"``)
            or a folder of parquet files (Hive partitions are read as columns).
            A string with a URI scheme (``"s3://bucket/events/"``, ``"hdfs://nn:8020/ev.parquet"``,
            ``"gs://..."``, ``"abfss://..."``, ``"file:///data/ev.csv"``) goes to the engine's reader
            as it is, unchecked here: the format comes from its suffix, and one that ends in ``/``
            or has no suffix is read as a folder of parquet files. The engine must be able to
            reach the store (DuckDB: the ``httpfs`` extension and credentials for ``s3://``;
            Spark: the cluster's file systems).
            A Spark DataFrame is accepted by the Spark engine only.
        name : str, optional
            Name under which the table is registered (a fresh one by default).

        Returns
        -------
        ibis.expr.types.Table
        """
        name = name or f"{AUTO_PREFIX}{next(_names)}"
        if isinstance(data, Table):
            return self._from_ibis(data, name)
        if isinstance(data, str) and _URI.match(data):
            return self._from_uri(data, name)
        if isinstance(data, (str, os.PathLike)):
            return self._from_path(Path(data), name)
        if isinstance(data, pd.DataFrame):
            # through Arrow, so that pandas' NaN markers become SQL NULLs on every engine
            return self._from_arrow(_typed(pa.Table.from_pandas(data, preserve_index=False)), name)
        if isinstance(data, pa.Table):
            return self._from_arrow(_typed(data), name)
        if isinstance(data, pa.RecordBatch):
            return self._from_arrow(_typed(pa.Table.from_batches([data])), name)
        mod = type(data).__module__.split(".")[0]
        if mod == "polars":
            import polars as pl

            if isinstance(data, pl.LazyFrame):
                data = data.collect()
            return self._from_arrow(_typed(data.to_arrow()), name)
        if mod == "pyspark":
            return self._from_spark(data, name)
        raise EngineError(
            f"{self.name} engine: cannot open a {type(data).__module__}.{type(data).__name__}; "
            "pass a pandas or polars DataFrame, a pyarrow Table, a parquet/CSV path or glob, "
            "an ibis table or (Spark engine) a Spark DataFrame"
        )

    def _from_ibis(self, t: Table, name: str) -> Table:
        try:
            backend = t._find_backend()
        except Exception:  # an unbound memtable: any backend can run it
            return t
        if backend is self.backend:
            return t
        # bound to another backend: move the data through Arrow
        return self._from_arrow(t.to_pyarrow(), name)

    def _from_path(self, path: Path, name: str) -> Table:
        text = str(path)
        has_glob = any(ch in text for ch in "*?[")
        if not has_glob and not path.exists():
            raise EngineError(f"{self.name} engine: no such file or folder: {text}")
        return self._read_located(text, name, folder=path.is_dir(), file_name=path.name)

    def _from_uri(self, uri: str, name: str) -> Table:
        """A remote (or ``file://``) location, passed to the reader unchanged: ``Path`` would fold its ``//``."""
        last = uri.split("://", 1)[1].rstrip("/").rsplit("/", 1)[-1]
        folder = _format_of(last) is None and (uri.endswith("/") or not any(ch in last for ch in ".*?["))
        return self._read_located(uri, name, folder=folder, file_name=last)

    def _read_located(self, location: str, name: str, *, folder: bool, file_name: str) -> Table:
        """Read a folder of parquet files, or a file (or glob) whose format its name's suffix tells."""
        if folder:
            return self._read_parquet_dir(location, name)
        fmt = _format_of(file_name)
        if fmt == "parquet":
            return self._read_parquet(location, name)
        if fmt == "csv":
            return self._read_csv(location, name)
        raise EngineError(
            f"{self.name} engine: cannot tell the format of {location!r}; "
            "expected a .parquet or .csv file, a glob of them, or a folder of parquet files (a URI ending in '/')"
        )

    def _from_spark(self, sdf: Any, name: str) -> Table:
        raise EngineError(
            f"{self.name} engine: a Spark DataFrame can only be opened by the Spark engine "
            "(marketing360.connect('spark')); convert it first with .toPandas() or .toArrow()"
        )

    @abstractmethod
    def _from_arrow(self, table: pa.Table, name: str) -> Table: ...

    @abstractmethod
    def _read_parquet(self, path: str, name: str) -> Table: ...

    @abstractmethod
    def _read_parquet_dir(self, path: str, name: str) -> Table: ...

    @abstractmethod
    def _read_csv(self, path: str, name: str) -> Table: ...

    # ------------------------------------------------------------------ results out

    def to_pandas(self, expr: Table) -> pd.DataFrame:
        """Run an expression bound to this engine and return a pandas DataFrame (see :func:`fetch`)."""
        return fetch(self._own(expr), "pandas")

    def to_polars(self, expr: Table) -> Any:
        """Run an expression bound to this engine and return a polars DataFrame."""
        return fetch(self._own(expr), "polars")

    def to_arrow(self, expr: Table) -> pa.Table:
        """Run an expression bound to this engine and return an Arrow table."""
        return fetch(self._own(expr), "arrow")

    def _own(self, expr: Any) -> Any:
        """``expr`` if it runs on this engine (or on none in particular); an error otherwise."""
        try:
            backend = expr._find_backend()
        except Exception:  # an unbound memtable: any backend runs it
            return expr
        if backend is not self.backend:
            raise EngineError(f"this expression is bound to another engine, not this {self.name} engine; "
                              "open its data here with engine.table(...) first")
        return expr

    def sql(self, query: str) -> Table:
        """A lazy table from SQL in the engine's own dialect; tables opened with a ``name`` can be used by it."""
        return self.backend.sql(query)

    # ------------------------------------------------------------------ capabilities

    @property
    def capabilities(self) -> tuple[str, ...]:
        """Names of the native capabilities of this engine."""
        return tuple(sorted(self._capability_methods))

    def supports(self, name: str) -> bool:
        """Whether the engine offers capability ``name``."""
        return name in self._capability_methods

    def capability(self, name: str) -> Callable[..., Any]:
        """The engine's implementation of capability ``name``.

        Raises
        ------
        EngineError
            If the engine does not offer it; the message lists what it offers.
        """
        try:
            return getattr(self, self._capability_methods[name])
        except KeyError:
            raise EngineError(
                f"the {self.name} engine has no capability {name!r}; "
                f"it offers {list(self.capabilities)}"
            ) from None

    # ------------------------------------------------------------------ life cycle

    def close(self) -> None:
        """Release the engine's resources; the engine cannot be used afterwards (:attr:`closed`)."""
        self.closed = True

    def _forget_cached(self) -> None:
        """Let go of the tables ibis cached here: once the engine is closed, nothing is left to drop."""
        entries = getattr(self.backend, "_cache_name_to_entry", {})
        for entry in list(entries.values()):
            entry.finalizer.detach()
        entries.clear()
        getattr(self.backend, "_cache_op_to_entry", {}).clear()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<marketing360 {self.name} engine>"

    def _repr_html_(self) -> str:
        return (f"<b>marketing360 {self.name} engine</b> &middot; capabilities: "
                f"{', '.join(self.capabilities) or 'none'}")
