"""The Spark engine: a local SparkSession, a cluster, or Spark Connect, through ibis."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
from ibis.expr.types import Table

from .._optional import import_optional
from .._progress import Progress, show
from ..errors import EngineError
from ..types import ImputeStrategy
from .base import Engine, capability
from .impute import check_impute_args

__all__ = ["SparkEngine", "java_available"]

#: settings of a session that marketing360 starts itself (a passed session is left as it is)
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
        stopped by :meth:`close`.
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
    """

    log_path: Path | None = None

    name = "spark"

    def __init__(self, session: Any = None, *, master: str = "local[2]",
                 config: Mapping[str, str] | None = None, quiet: bool = True, progress: Progress = "auto") -> None:
        import_optional("pyspark", purpose="the Spark engine")
        say = show(progress)
        self._owns_session = session is None
        self._warehouse: str | None = None
        if session is None:
            if not java_available():
                raise EngineError(
                    "the Spark engine needs Java (JDK 17 or 21), which was not found on PATH or "
                    "in JAVA_HOME; install it (e.g. apt-get install openjdk-17-jre-headless) or "
                    "use the default DuckDB engine"
                )
            from pyspark.sql import SparkSession

            # getOrCreate hands back a session that is already running: then it is not ours to stop
            self._owns_session = SparkSession.getActiveSession() is None
            self._warehouse = tempfile.mkdtemp(prefix="m360-spark-")
            builder = SparkSession.builder.master(master).appName("marketing360")
            settings = {**DEFAULT_CONFIG, "spark.sql.warehouse.dir": self._warehouse,
                        **dict(config or {})}
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

    def _read_parquet_dir(self, path: Path, name: str) -> Table:
        return self._read_parquet(str(path), name)

    def _read_csv(self, path: str, name: str) -> Table:
        sep = "\t" if path.lower().rstrip("*").endswith((".tsv", ".tsv.gz")) else ","
        sdf = self.session.read.csv(path, header=True, inferSchema=True, sep=sep)
        return self._view(sdf, name)

    def to_spark(self, expr: Table) -> Any:
        """The Spark DataFrame behind an expression."""
        return self.session.sql(self.backend.compile(expr))

    # ------------------------------------------------------------------ capabilities

    @capability("impute")
    def impute(self, table: Table, columns: list[str], strategy: ImputeStrategy = "mean"
               ) -> tuple[Table, dict[str, float]]:
        """Spark ML's multi-column ``Imputer`` (its median is approximate: relative error 0.001)."""
        from pyspark.ml.feature import Imputer
        from pyspark.sql import functions as F

        check_impute_args(table, columns, strategy)
        sdf = self.to_spark(table)
        sdf = sdf.select(*[F.col(c).cast("double").alias(c) if c in columns else F.col(c)
                           for c in sdf.columns])
        tmp = [f"__m360_imp_{i}" for i in range(len(columns))]
        try:
            model = Imputer(inputCols=columns, outputCols=tmp, strategy=strategy).fit(sdf)
        except Exception as exc:  # Spark refuses columns with no non-null value
            raise EngineError(f"impute: Spark's Imputer failed on {columns}: {exc}") from exc
        surrogate = model.surrogateDF.collect()[0].asDict()
        out = model.transform(sdf)
        for c, t in zip(columns, tmp):
            out = out.withColumn(c, F.col(t)).drop(t)
        return self._view(out, f"m360_imputed_{id(out)}"), {c: float(surrogate[c]) for c in columns}

    # ------------------------------------------------------------------ life cycle

    def close(self) -> None:
        self._forget_cached()
        if self._owns_session:
            self.session.stop()
        if self._warehouse:
            shutil.rmtree(self._warehouse, ignore_errors=True)
