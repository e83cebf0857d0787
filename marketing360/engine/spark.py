"""The Spark engine: a local SparkSession, a cluster, or Spark Connect, through ibis."""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa
from ibis.expr.types import Table

from .._optional import import_optional
from .._progress import Progress, show
from ..errors import EngineError, SchemaError
from ..types import ImputeStrategy
from .base import Engine, capability
from .columnstats import check_impute_args, check_numeric_columns, check_probabilities, check_relative_error
from .prefixspan import check_prefixspan_args

__all__ = ["SparkEngine", "java_available"]

#: the widest plan (in fields) that a one-pass fit compiles by whole-stage code generation. Spark's default
#: (``spark.sql.codegen.maxFields``, 100) leaves a mean over more than 50 columns interpreted; 200 is the mean of
#: 100 columns, whose per-row method (7.4 KB) HotSpot still compiles; past about 105 columns it would not (below),
#: so a wider plan is left to Spark's interpretation instead of being generated and thrown away
WIDE_CODEGEN_FIELDS = 200

#: the largest method (bytes of bytecode) that HotSpot compiles to machine code (``-XX:HugeMethodLimit``): a
#: larger generated method runs in the JVM's bytecode interpreter, slower than Spark's own interpretation. Spark's
#: guard (``spark.sql.codegen.hugeMethodLimit``) defaults to 65535; its documentation suggests 8000 on HotSpot. The
#: partial mean's per-row method is 7.4 KB for 100 columns and passes 8000 near 105
HOTSPOT_HUGE_METHOD = 8000

#: settings of a session that marketing360 starts itself (a passed or already running session is left as it is)
DEFAULT_CONFIG: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "4g",
    "spark.sql.ansi.enabled": "false",
}


def _quietly(start: Any, log_path: Path) -> Any:
    """Call ``start`` with file descriptor 2 pointed at ``log_path``: the JVM it launches keeps it."""
    sys.stderr.flush()
    saved = os.dup(2)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(fd, 2)
        return start()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)


_UTC = {"utc", "etc/utc", "gmt", "etc/gmt", "z", "+00:00", "zulu", "universal"}


def _same_setting(key: str, have: str | None, want: str) -> bool:
    if have is None:
        return False
    if key == "spark.sql.session.timeZone" and want.lower() in _UTC:
        return have.strip().lower() in _UTC
    return have.strip().lower() == want.strip().lower()


def _setting(session: Any, key: str) -> str | None:
    try:
        return session.conf.get(key, None)
    except Exception:  # a setting a Spark Connect server will not show
        return None


def _running_session() -> Any:
    """The SparkSession already running in this process (the one ``builder.getOrCreate()`` would return), or None."""
    from pyspark.sql import SparkSession

    try:
        session = SparkSession.getActiveSession()
        if session is None:
            session = getattr(SparkSession, "_instantiatedSession", None)
            if session is not None and getattr(getattr(session, "_sc", None), "_jsc", None) is None:
                session = None  # stopped
    except Exception:
        return None
    return session


def _warn_if_not_utc(session: Any) -> None:
    zone = _setting(session, "spark.sql.session.timeZone")
    if zone is not None and not _same_setting("spark.sql.session.timeZone", zone, "UTC"):
        warnings.warn(
            f"the SparkSession's spark.sql.session.timeZone is {zone!r}, not UTC: marketing360 reads timestamps "
            "as UTC, and Spark computes dates and casts of timestamps in the session's zone; "
            "set it with spark.conf.set('spark.sql.session.timeZone', 'UTC')",
            UserWarning, stacklevel=4,
        )


def java_available() -> bool:
    """Whether a Java runtime is found (Spark needs one)."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None


class SparkEngine(Engine):
    """Spark through ibis.

    Parameters
    ----------
    session : pyspark.sql.SparkSession, optional
        An existing session (a cluster, Spark Connect) to wrap. It is not
        stopped by :meth:`close`, and its settings are not changed (a warning
        says so when its time zone is not UTC).
    master : str
        Master URL of a session started here (``"local[2]"`` by default).
    config : mapping, optional
        Extra Spark settings for a session started here; they override
        :data:`DEFAULT_CONFIG`.
    progress : bool or "auto"
        Say when the JVM starts and when it is ready (``"auto"``: in a notebook).
    quiet : bool
        Send the JVM's own console output (start-up banners, log4j) of a
        session started here to the file :attr:`log_path` instead of the
        terminal or notebook. Errors still reach Python as exceptions.

    Notes
    -----
    Without ``session``, when a SparkSession is already running in this process
    (a notebook's ``spark``, a Databricks cluster, an earlier engine not yet
    closed), that session is used as it is, like a passed one: nothing is
    started, :meth:`close` does not stop it, and none of its settings is
    changed (``SparkSession.builder.getOrCreate()`` would silently apply
    ``DEFAULT_CONFIG`` and ``config`` to it, changing its time zone, shuffle
    partitions and ANSI mode for the user's other work). A ``UserWarning``
    names each of those settings whose value in the running session differs,
    so they can be set by hand (``spark.conf.set``) or the session stopped
    first.
    """

    log_path: Path | None = None

    name = "spark"

    def __init__(self, session: Any = None, *, master: str = "local[2]",
                 config: Mapping[str, str] | None = None, quiet: bool = True, progress: Progress = "auto") -> None:
        import_optional("pyspark", purpose="the Spark engine")
        say = show(progress)
        self._owns_session = False
        self._warehouse: str | None = None
        if session is not None:
            _warn_if_not_utc(session)
        else:
            running = _running_session()
            if running is not None:
                session = running
                self._use_running(session, {**DEFAULT_CONFIG, **dict(config or {})})
        if session is None:
            if not java_available():
                raise EngineError(
                    "the Spark engine needs Java (JDK 17 or 21), which was not found on PATH or "
                    "in JAVA_HOME; install it (e.g. apt-get install openjdk-17-jre-headless) or "
                    "use the default DuckDB engine"
                )
            from pyspark import SparkContext
            from pyspark.sql import SparkSession

            # a SparkContext started without a session is the user's: the session made on it is not ours to stop
            self._owns_session = SparkContext._active_spark_context is None
            self._warehouse = tempfile.mkdtemp(prefix="m360-spark-")
            builder = SparkSession.builder.master(master).appName("marketing360")
            # Python workers (UDFs, RDD passes) run this interpreter and its packages, unless the user named one:
            # PySpark reads only the environment variable, when the context starts
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            settings = {**DEFAULT_CONFIG, "spark.sql.warehouse.dir": self._warehouse, **dict(config or {})}
            for k, v in settings.items():
                builder = builder.config(k, v)
            self.log_path = Path(self._warehouse) / "spark.log"
            started = time.perf_counter()
            if say:
                print(f"starting Spark ({master}); the JVM takes a few seconds ...", flush=True)
            session = _quietly(builder.getOrCreate, self.log_path) if quiet else builder.getOrCreate()
            session.sparkContext.setLogLevel("ERROR")
            if say:
                print(f"Spark {session.version} ready in {time.perf_counter() - started:.1f} s", flush=True)
        self.session = session
        self.backend = ibis.pyspark.connect(session)

    @staticmethod
    def _use_running(session: Any, wanted: Mapping[str, str]) -> None:
        """Warn about each setting of ``wanted`` that the running ``session`` has otherwise; change none."""
        have = {k: _setting(session, k) for k in wanted}
        differ = {k: have[k] for k, v in wanted.items() if not _same_setting(k, have[k], v)}
        if differ:
            listed = "; ".join(f"{k} is {now!r} (marketing360 would set {wanted[k]!r})" for k, now in differ.items())
            warnings.warn(
                "a SparkSession is already running in this process: marketing360 uses it as it is and changes "
                f"none of its settings. These differ from the ones it would start a session with: {listed}. "
                "Set the runtime ones yourself (spark.conf.set(key, value)), or stop the session "
                "(spark.stop()) before connect('spark') to start one with these settings.",
                UserWarning, stacklevel=4,
            )

    # ------------------------------------------------------------------ data in

    def _view(self, sdf: Any, name: str) -> Table:
        sdf.createOrReplaceTempView(name)
        return self.backend.table(name)

    def _from_arrow(self, table: pa.Table, name: str) -> Table:
        if table.num_rows == 0:
            # Spark cannot infer types from no rows: give it the schema explicitly
            from pyspark.sql.pandas.types import from_arrow_schema

            sdf = self.session.createDataFrame([], schema=from_arrow_schema(table.schema))
        else:
            sdf = self.session.createDataFrame(table)
        return self._view(sdf, name)

    def _from_spark(self, sdf: Any, name: str) -> Table:
        return self._view(sdf, name)

    def _read_parquet(self, path: str, name: str) -> Table:
        try:
            sdf = self.session.read.parquet(path)
        except Exception as exc:
            if "PARQUET_TYPE_ILLEGAL" in str(exc) and "NANOS" in str(exc):
                raise EngineError(
                    f"spark engine: {path} stores nanosecond timestamps, which Spark cannot read; "
                    "write the files with microsecond timestamps (pyarrow: coerce_timestamps='us', "
                    "pandas: df.to_parquet(..., coerce_timestamps='us', allow_truncated_timestamps=True))"
                ) from None
            raise
        return self._view(sdf, name)

    def _read_parquet_dir(self, path: str, name: str) -> Table:
        return self._read_parquet(path, name)

    def _read_csv(self, path: str, name: str) -> Table:
        sep = "\t" if path.lower().rstrip("*").endswith((".tsv", ".tsv.gz")) else ","
        sdf = self.session.read.csv(path, header=True, inferSchema=True, sep=sep)
        return self._view(sdf, name)

    def to_spark(self, expr: Table) -> Any:
        """The Spark DataFrame behind an expression."""
        return self.session.sql(self.backend.compile(expr))

    # ------------------------------------------------------------------ capabilities

    def _doubles(self, table: Table, columns: Sequence[str]) -> tuple[Any, list[str]]:
        """The Spark DataFrame of ``columns`` cast to double (Spark ML casts its inputs so) under plain positional
        names (Spark ML reads a dot in a name as a struct field), and those names; one SQL projection (three JVM
        calls per column otherwise: 0.45 s for 100 columns)."""
        safe = [f"_m360_c{i}" for i in range(len(columns))]
        quoted = ["`" + c.replace("`", "``") + "`" for c in columns]
        return self.to_spark(table).selectExpr(*[f"CAST({q} AS DOUBLE) AS {s}" for q, s in zip(quoted, safe)]), safe

    @staticmethod
    def _empty_columns(sdf: Any, safe: Sequence[str], columns: Sequence[str], missing_value: float) -> list[str]:
        """The ``columns`` (read as ``safe`` in ``sdf``) without a value that is not null, NaN or ``missing_value``."""
        from pyspark.sql import functions as F

        def ok(c: str) -> Any:
            x = F.col(c)
            keep = x.isNotNull() & ~F.isnan(x)
            return keep & (x != F.lit(missing_value)) if not math.isnan(missing_value) else keep

        row = sdf.select(*[F.count(F.when(ok(c), 1)).alias(c) for c in safe]).collect()[0]
        return [c for c, s in zip(columns, safe) if row[s] == 0]

    @contextmanager
    def _settings(self, values: Mapping[str, str]) -> Iterator[None]:
        """The session's runtime SQL settings ``values`` while the block runs; its own values come back after."""
        conf = self.session.conf
        before = {key: conf.get(key) for key in values}
        for key, value in values.items():
            conf.set(key, str(value))
        try:
            yield
        finally:
            for key, value in before.items():
                conf.set(key, value)

    @contextmanager
    def _wide_codegen(self, fields: int) -> Iterator[None]:
        """Whole-stage code generation for a plan ``fields`` wide while the block runs: Spark interprets any
        operator whose input or output has more than ``spark.sql.codegen.maxFields`` fields (100), as the partial
        aggregate of a mean over 51 columns (a sum and a count each). Meanwhile a stage whose generated method is
        too large for HotSpot to compile (:data:`HOTSPOT_HUGE_METHOD`; a plan that feeds the aggregate more than
        its columns can make it so) falls back to Spark's interpretation, as it would have run anyway. Nothing
        changes where the session already compiles that width, or where it is above :data:`WIDE_CODEGEN_FIELDS`;
        the session's own values come back after."""
        conf = self.session.conf
        wide, huge = "spark.sql.codegen.maxFields", "spark.sql.codegen.hugeMethodLimit"
        if int(fields) <= int(conf.get(wide)) or int(fields) > WIDE_CODEGEN_FIELDS:
            yield
            return
        with self._settings({wide: str(int(fields)), huge: str(min(int(conf.get(huge)), HOTSPOT_HUGE_METHOD))}):
            yield

    @capability("imputer")
    def imputer(self, table: Table, columns: Sequence[str], strategy: ImputeStrategy = "mean", *,
                missing_value: float = float("nan"), relative_error: float = 0.001) -> dict[str, float]:
        """Each column's surrogate, from Spark ML's multi-column ``Imputer`` (one pass; its median is
        ``approxQuantile``'s, within ``relative_error``)."""
        from pyspark.ml.feature import Imputer

        columns = check_impute_args(table, columns, strategy, missing_value, relative_error)
        sdf, safe = self._doubles(table, columns)
        imp = Imputer(inputCols=safe, outputCols=[f"_m360_imp_{i}" for i in range(len(columns))],
                      strategy=strategy, missingValue=float(missing_value), relativeError=float(relative_error))
        try:
            # the mean's partial aggregate, a sum and a count per column, compiled (the width measured for it)
            with self._wide_codegen(2 * len(columns)) if strategy == "mean" else nullcontext():
                model = imp.fit(sdf)
        except Exception as exc:  # Spark refuses columns with nothing to impute from: name them
            empty = self._empty_columns(sdf, safe, columns, missing_value)
            if empty:
                raise SchemaError(f"impute: column(s) {empty} have no value that is not null, NaN or the missing "
                                  "value", column=empty[0]) from None
            raise EngineError(f"impute: Spark's Imputer failed on {list(columns)}: {exc}") from exc
        surrogate = model.surrogateDF.collect()[0].asDict()
        return {c: float(surrogate[s]) for c, s in zip(columns, safe)}

    @capability("approx_quantile")
    def approx_quantile(self, table: Table, columns: Sequence[str], probabilities: Sequence[float],
                        relative_error: float = 0.001) -> dict[str, list[float]]:
        """Spark's ``DataFrame.stat.approxQuantile`` over every column at once (Greenwald-Khanna summaries:
        the rank of each answer is within ``relative_error * n`` of the asked one; 0 is exact and costly)."""
        columns = check_numeric_columns(table, columns, what="approx_quantile")
        probs = check_probabilities(probabilities)
        check_relative_error(relative_error)
        sdf, safe = self._doubles(table, columns)
        found = sdf.stat.approxQuantile(safe, probs, float(relative_error))
        empty = [c for c, v in zip(columns, found) if not v]
        if empty:
            raise SchemaError(f"approx_quantile: column(s) {empty} have no value that is not null, NaN or the "
                              "missing value", column=empty[0])
        return {c: [float(x) for x in v] for c, v in zip(columns, found)}

    @capability("prefixspan")
    def prefixspan(self, items: Table, *, key: list[str], itemset: str, item: str, min_support: float,
                   max_pattern_length: int) -> tuple[pd.DataFrame, int]:
        """Spark MLlib's ``PrefixSpan`` on the sequences in ``items`` (one row per item; sequences by ``key``,
        itemsets by the integer ``itemset``, in its order). Returns ``pattern``, ``freq`` and the number of
        sequences."""
        from pyspark.ml.fpm import PrefixSpan
        from pyspark.sql import functions as F

        check_prefixspan_args(min_support, max_pattern_length)
        sdf = self.to_spark(items.select(*key, itemset, item))
        members = F.array_sort(F.collect_set(F.col(item).cast("string")))
        sets = sdf.groupBy(*key, itemset).agg(members.alias("_m360_items"))
        pairs = F.array_sort(F.collect_list(F.struct(F.col(itemset).alias("_k"), F.col("_m360_items").alias("_v"))))
        seqs = sets.groupBy(*key).agg(pairs.alias("_m360_pairs"))
        seqs = seqs.select(F.transform("_m360_pairs", lambda p: p["_v"]).alias("sequence")).cache()
        try:
            n = seqs.count()
            found = PrefixSpan(minSupport=float(min_support), maxPatternLength=int(max_pattern_length),
                               sequenceCol="sequence").findFrequentSequentialPatterns(seqs).collect()
        finally:
            seqs.unpersist()
        return pd.DataFrame({"pattern": [[sorted(its) for its in r["sequence"]] for r in found],
                             "freq": [int(r["freq"]) for r in found]}), int(n)

    # ------------------------------------------------------------------ life cycle

    def close(self) -> None:
        if self.closed:
            return
        self._forget_cached()
        if self._owns_session:
            self.session.stop()
        if self._warehouse:
            shutil.rmtree(self._warehouse, ignore_errors=True)
        self.closed = True
