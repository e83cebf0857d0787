"""The DuckDB engine: embedded, in memory or in a file, zero set-up. The default."""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from ibis.expr.types import Table

from ..types import ImputeStrategy
from .base import AUTO_PREFIX, Engine, capability
from .columnstats import approx_quantile_duckdb, imputer_values_duckdb
from .prefixspan import check_prefixspan_args, prefixspan, sequences_of

__all__ = ["DuckDBEngine"]

_views = itertools.count()
#: prefix of the views :meth:`DuckDBEngine.sql` creates (not ``AUTO_PREFIX``: a view over a table the user
#: names may change when that table is registered again, so its checks must not be remembered)
SQL_PREFIX = "m360_sql"


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

    Notes
    -----
    The session time zone is UTC (``SET TimeZone = 'UTC'``), whatever the machine's
    zone: marketing360 stores naive UTC timestamps, and DuckDB computes casts,
    ``date()`` and comparisons of time-zone-aware timestamps in the session zone.

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
        # timestamps are naive UTC throughout; tz-aware ones must not be cast in the machine's zone
        # (ibis 12 sets this too, but that is ibis's choice, not a promise)
        self.backend.con.execute("SET TimeZone = 'UTC'")
        # ibis 12 writes list lambdas as ``x -> ...``, which DuckDB 1.5+ refuses unless told otherwise
        try:
            self.backend.con.execute("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'")
        except duckdb.Error:  # DuckDB before 1.3 has no such setting and takes the arrow anyway
            pass
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

    def _read_parquet_dir(self, path: str, name: str) -> Table:
        return self._read_parquet(path.rstrip("/") + "/**/*.parquet", name)

    def _read_csv(self, path: str, name: str) -> Table:
        return self.backend.read_csv(path, table_name=name)

    def sql(self, query: str) -> Table:
        """A lazy table from DuckDB SQL: a temporary view of ``query``, read through ibis.

        The view is bound (and ``query`` checked) now, and runs when the result is fetched.
        Tables opened with a ``name`` can be used in ``query``.

        Examples
        --------
        >>> eng = DuckDBEngine()
        >>> eng.to_pandas(eng.sql("select 1 + 1 as two"))["two"].tolist()
        [2]
        """
        name = f"{SQL_PREFIX}{next(_views)}"
        body = query.strip().rstrip(";")
        self.backend.con.execute(f'CREATE TEMP VIEW "{name}" AS {body}')
        return self.backend.table(name)

    @capability("imputer")
    def imputer(self, table: Table, columns: Sequence[str], strategy: ImputeStrategy = "mean", *,
                missing_value: float = float("nan"), relative_error: float = 0.001) -> dict[str, float]:
        """Each column's surrogate (mean, median or mode of the values that are not missing), in one pass.

        Spark ML's ``Imputer`` semantics (:mod:`~marketing360.engine.columnstats`); the median is exact.
        """
        return imputer_values_duckdb(self, table, columns, strategy, missing_value=missing_value,
                                     relative_error=relative_error)

    @capability("approx_quantile")
    def approx_quantile(self, table: Table, columns: Sequence[str], probabilities: Sequence[float],
                        relative_error: float = 0.001) -> dict[str, list[float]]:
        """Quantiles of each column (nulls and NaN ignored) in one aggregation; exact, so within any error bound."""
        return approx_quantile_duckdb(self, table, columns, probabilities, relative_error)

    @capability("prefixspan")
    def prefixspan(self, items: Table, *, key: list[str], itemset: str, item: str, min_support: float,
                   max_pattern_length: int) -> tuple[pd.DataFrame, int]:
        """Frequent sequential patterns (MLlib's semantics, :mod:`~marketing360.engine.prefixspan`) of the
        sequences in ``items``: one row per item, sequences by ``key``, itemsets by the integer ``itemset``
        (in its order). Returns ``pattern`` (list of itemsets), ``freq``, and the number of sequences."""
        check_prefixspan_args(min_support, max_pattern_length)
        df = self.to_pandas(items.order_by([*key, itemset]).select(*key, itemset, item))
        seqs = sequences_of(df.groupby(key, sort=False, dropna=False).ngroup().to_numpy(), df[itemset].to_numpy(),
                            df[item].to_numpy())
        found = prefixspan(seqs, min_support=min_support, max_pattern_length=max_pattern_length)
        return pd.DataFrame({"pattern": [p for p, _ in found], "freq": [f for _, f in found]}), len(seqs)

    def _columns(self, expr: Table) -> tuple[dict[str, np.ndarray], pa.DataType]:
        """The columns of ``expr`` as numpy arrays for the in-process kernels: ``ts`` in microseconds, ``user_id``
        as codes (``"_users"``: the ids back), the rest as they are (no nulls). Returns them and user_id's type."""
        from . import pathkernels as pk  # numba: imported when first used (half a second)

        # DuckDB's own Arrow result, without ibis's conversion of it (a copy of every column)
        self.backend._run_pre_execute_hooks(expr)
        tbl = self.backend.con.sql(str(self.backend.compile(expr))).to_arrow_table()
        out: dict[str, np.ndarray] = {}
        user_type = tbl.schema.field("user_id").type
        for name in tbl.column_names:
            col = tbl.column(name)
            tbl = tbl.drop_columns([name])  # each column's Arrow buffers go once it is converted
            if name == "ts":
                col = pc.cast(pc.cast(col, pa.timestamp("us")), pa.int64())
            if name == "user_id":
                codes, uniques = pk.user_codes(col.to_numpy())
                out["user"], out["_users"] = codes, uniques
            else:
                out[name] = col.to_numpy()
        return out, user_type

    @capability("session_paths")
    def session_paths(self, events: Table, *, labels: Sequence[str], conversion: int, gap_us: int | None,
                      by_day: bool, sep: str, empty: str) -> Table:
        """One row per path and consumer of the sessions of ``events``: ``path, user_id, _sessions, _converting,
        _value, _n_steps`` (see :func:`marketing360.paths.top_paths`), computed in process
        (:mod:`~marketing360.engine.pathkernels`) and held by the engine.

        ``events`` has ``user_id, ts``, ``_b`` (brand code from 0; one value when pooled), ``_funnel`` (the event
        type's funnel place), ``_code`` (the step's label code from 0, -1 for none) and ``_value``; events at one
        instant go in the order of ``_funnel``, then ``_code``; those of funnel place ``conversion`` convert.
        """
        from . import pathkernels as pk

        c, user_type = self._columns(events.select("user_id", "ts", "_b", "_funnel", "_code", "_value"))
        tie = pk.tie_order(c.pop("_funnel"), c.pop("_code"), len(labels) + 1)
        n_brands = int(c["_b"].max(initial=0)) + 1
        users = c.pop("_users")
        # only the conversions' values are read by the walk: they are sorted alongside
        srt = pk.sort_events(c.pop("user"), c.pop("_b"), c.pop("ts"), tie, n_users=len(users), n_brands=n_brands,
                             value=c.pop("_value"), keep=tie // (len(labels) + 1) == conversion)
        del tie
        sess = pk.cut_sessions(srt, conversion=conversion, gap=gap_us, by_day=by_day, n_labels=len(labels),
                               n_brands=n_brands)
        ids, names = pk.path_ids(sess, srt, list(labels), sep, empty)
        pu = pk.path_users(sess, ids, len(names))
        path = pa.DictionaryArray.from_arrays(pa.array(pu["path"], pa.int32()), pa.array(names, pa.string()))
        return self.table(pa.table({
            "path": path.cast(pa.string()), "user_id": pa.array(users[pu["user"]]).cast(user_type),
            "_sessions": pu["sessions"], "_converting": pu["converting"], "_value": pu["value"],
            "_n_steps": pu["n_steps"]}))

    @capability("funnel_levels")
    def funnel_levels(self, events: Table, *, n_steps: int, window_us: int | None, brand: str | None,
                      brands: Sequence[str]) -> Table:
        """The plain ``windowFunnel`` (:func:`marketing360.paths.funnel`) of every consumer (x brand) of
        ``events``: ``user_id, [brand,] level, minutes_1 .. minutes_n``, computed in process
        (:mod:`~marketing360.engine.pathkernels`) and held by the engine.

        ``events`` has ``user_id, ts``, ``_b`` (the code of the brand in ``brands``; one value when pooled) and
        ``_mask`` (bit ``k`` set when the event matches step ``k + 1``).
        """
        from . import pathkernels as pk

        c, user_type = self._columns(events.select("user_id", "ts", "_b", "_mask"))
        users = c.pop("_users")
        srt = pk.sort_events(c.pop("user"), c.pop("_b"), c.pop("ts"), c.pop("_mask"), n_users=len(users),
                             n_brands=len(brands))
        f = pk.funnel_levels(srt, n_steps=n_steps, window=window_us, n_brands=len(brands))
        cols: dict[str, Any] = {"user_id": pa.array(users[f["user"]]).cast(user_type)}
        if brand:
            cols[brand] = pa.array(np.asarray(brands, dtype=object)[f["brand"]], pa.string())
        cols["level"] = f["level"]
        for k in range(n_steps):
            m = f["minutes"][:, k]
            cols[f"minutes_{k + 1}"] = pa.array(m, pa.float64(), mask=np.isnan(m))
        return self.table(pa.table(cols))

    def close(self) -> None:
        if self.closed:
            return
        self._forget_cached()
        self.backend.disconnect()
        self._keep.clear()
        self.closed = True
