"""Preprocessing statistics of many columns in one pass against a column-at-a-time loop (``marketing360.prep``).

The issue's speed goal: preprocessing 100 columns x 10M rows, one pass against one call per column, at least
20x on Spark (the JD figure; SPARK-21690, apache/spark#18902, reports 39x for the mean of 100 columns with an RDD
aggregation and 13.3x with the DataFrame one, 7.2x and 3.6x for the median, on 10,000 cached rows, where one column's
job takes 70 ms), and DuckDB at least as fast as Spark ML's native multi-column path. Measured side by side in one
run, per statistic:

* ``spark one pass``: ``marketing360.prep`` on the Spark engine (local[2]) over all K columns: Spark ML's
  multi-column ``Imputer`` / ``DataFrame.stat.approxQuantile`` on every column at once;
* ``spark loop``: the same statistic with one Spark ML call per column, the pre-SPARK-21690 way
  (``pyspark.ml.feature.Imputer(inputCols=[c])`` / ``QuantileDiscretizer(inputCol=c)`` fitted once per column,
  on ``spark.read.parquet`` of the same files);
* ``spark-ml one pass`` (a reference, with ``--spark-ml``): Spark ML's multi-column estimator called directly on
  ``spark.read.parquet``, to show what our wrapper adds;
* ``spark scan`` (a reference, with ``--spark-scan``): every column of the same Spark DataFrame read and
  decoded, no statistic (``sdf.write.format("noop")``): the floor under any one pass, so loop / scan is the most a
  one pass could gain on that source;
* ``duckdb one pass``: ``marketing360.prep`` on the DuckDB engine over all K columns (one aggregation);
* ``duckdb loop``: the same, one call per column (``columns=[c]``);
* ``duckdb sql one pass`` (a reference, ``--no-duckdb-sql`` leaves it out): the same one aggregation written by
  hand in DuckDB SQL, NaN made null with ``CASE`` where ``marketing360`` (ibis's ``where=``) writes a ``FILTER``
  clause per aggregate, which DuckDB pays for with every column once per aggregate (K^2).

Statistics: ``median`` (``Imputer(strategy="median")``, relative error 0.001: Spark's Greenwald-Khanna
summaries, DuckDB's exact ``quantile_disc``), ``mean`` (``Imputer(strategy="mean")``) and ``discretizer``
(``QuantileDiscretizer(num_buckets=10)``, relative error 0.001: 11 quantiles per column).

Data: K double columns (normal, log-normal, uniform and Poisson counts, 2-6% nulls and 1% NaN each), made
deterministically from the seed with numpy and written once as parquet (files of 1,048,576 rows, row groups of
131,072) under ``benchmarks/data/prep-onepass/`` (git-ignored); both engines read the same files. The loops may
run on the first k of the K columns (``--loop-columns``); their time is then scaled by K/k, which the table and
the JSON say.

Source (``--source``): ``parquet`` (the default, above) or ``csv``: the same values also written once as CSV
(pyarrow's writer: a quoted header, shortest round-trip decimals, ``nan`` for NaN, an empty field for null; one
file per parquet file, under ``<the size's folder>/csv/``), and then every variant of both engines reads the CSV
files instead, each with an explicit all-double schema (no inference pass, which would cost the one pass and each
loop call an extra scan): Spark through ``spark.read.schema(...).csv(folder, header=True, nanValue="nan",
mode="FAILFAST")``, handed to ``marketing360`` as that Spark DataFrame (``SparkEngine.table`` of a CSV path
infers the schema, so it is not used) and to the Spark ML loop as it is; DuckDB through ``read_csv`` with
``columns={...: DOUBLE}`` and ``auto_detect=false`` (ibis's ``read_csv`` for ``marketing360``, the same in the
hand-written SQL); the rank checks count on the CSV too. Parquet is columnar, so a per-column job reads its one
column and the loop does not multiply the scan; a row-oriented source makes every per-column job tokenize every
row. Results go to ``results/prep-onepass-csv.json`` unless ``--name``. ``cached``: SPARK-21690's own setting,
the parquet data held in memory before the timings (``spark.read.parquet(...).cache()``, counted once; a DuckDB
table in memory), where the per-column jobs cost mostly their fixed overhead at small sizes; results in
``results/prep-onepass-cached.json``.

Timing: per repeat (``--repeats``, default 2), a fresh process per engine (DuckDB: per engine and statistic, so
that no memory it keeps outlives a statistic) runs that engine's variants one after the other, after an untimed
warm-up of every statistic: every variant once on a small copy of the data (``WARM_ROWS`` rows, the same columns and
source, dropped from memory before the timings where it was held there), so that each timed run finds its own
plan's generated code compiled and hot in the JIT; with ``--cold``,
``marketing360.prep`` on one column of the data only (the protocol before 5 December), so that the timed 100-column
fits pay what a first call in a fresh process pays (on Spark, about 10-17 s of JIT warm-up for the compiled
100-column mean on 2 cores). Every other round the engines and the variants go in the reverse order. The files
are read into the page cache first.
The ratios use the best (smallest) time; the JSON keeps every repeat and the median. Peak memory: the peak RSS of
the measured Python process (DuckDB runs inside it, ``memory_limit`` 12GB unless ``--duckdb-memory-limit``) and
of Spark's driver JVM during each variant (``VmHWM``, reset before it through ``/proc/<pid>/clear_refs``).
``others' CPU``: the cores the rest of the machine used meanwhile (it is shared: high values make a row
doubtful).

Checks (not timed): the loop gives the same statistics as the one pass on each engine; Spark's and DuckDB's means
agree to 1e-9; every Spark median and quantile split lies within the relative error's rank bound of the exact one
(ranks counted on DuckDB; over 1e8 cells, on the first max(k, 20) columns only).

Run:  .venv/bin/python benchmarks/prep_onepass.py              # 100k and 1M rows x 100 columns (about 15 min)
      .venv/bin/python benchmarks/prep_onepass.py --rows 10000000 --stats median mean --name prep-onepass-10m
      .venv/bin/python benchmarks/prep_onepass.py --rows 100000 --columns 20 --quick   # a smoke test (1 min)
      .venv/bin/python benchmarks/prep_onepass.py --source csv --rows 100000 1000000 --stats median mean \
          --loop-columns 10   # every variant reads CSV
      .venv/bin/python benchmarks/prep_onepass.py --source cached --rows 10000 100000 1000000 --stats median mean
(writes results/<name>.json, prep-onepass or prep-onepass-csv by default; the data is made on the first run, then
reused)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import (  # noqa: E402
    _cpu_snapshot,
    _proc_cpu_seconds,
    children_memory,
    fmt_ratio,
    machine_info,
    md_table,
    source_hash,
    wait_quiet,
    write_json,
)

DATA = HERE / "data" / "prep-onepass"
#: the package sources measured (hashed before and after each size: a change during a run is a failed check)
MEASURED = ("prep", "engine/columnstats.py", "engine/duckdb.py", "engine/spark.py", "engine/base.py")
FILE_ROWS = 1 << 20
#: rows of the warm-up copy of the data (the same columns and source): every variant runs on it once, untimed, so
#: that the timed run finds its own plan's generated code compiled and hot in the JIT
WARM_ROWS = 200_000
ROW_GROUP = 1 << 17
STATS = ("median", "mean", "discretizer")
SPARK_GOAL = 20.0
#: what each variant reads, per --source (kept in the JSON)
READS = {
    "parquet": {
        "summary": "every variant reads the same parquet files",
        "spark one pass": "marketing360 SparkEngine.table(<parquet folder>) (spark.read.parquet)",
        "spark loop": "spark.read.parquet(<parquet folder>)",
        "spark-ml one pass": "spark.read.parquet(<parquet folder>)",
        "spark scan": "spark.read.parquet(<parquet folder>)",
        "duckdb one pass": "marketing360 DuckDBEngine.table(<parquet folder>) (read_parquet)",
        "duckdb loop": "marketing360 DuckDBEngine.table(<parquet folder>) (read_parquet)",
        "duckdb sql one pass": "read_parquet('<parquet folder>/*.parquet')",
        "checks": "DuckDB, read_parquet of the same files"},
    "csv": {
        "summary": "every variant (Spark and DuckDB) reads the same CSV files, with an explicit all-double schema",
        "spark one pass": "marketing360 SparkEngine.table(spark.read.schema(<all doubles>).csv(<csv folder>, "
                          "header=True, nanValue='nan', mode='FAILFAST'))",
        "spark loop": "spark.read.schema(<all doubles>).csv(<csv folder>, header=True, nanValue='nan', "
                      "mode='FAILFAST')",
        "spark-ml one pass": "the same Spark DataFrame as the loop",
        "spark scan": "the same Spark DataFrame as the loop",
        "duckdb one pass": "marketing360 DuckDBEngine.table(ibis read_csv(<csv folder>/*.csv, columns=<all DOUBLE>, "
                           "header=True, auto_detect=False))",
        "duckdb loop": "the same table as the DuckDB one pass",
        "duckdb sql one pass": "read_csv('<csv folder>/*.csv', header=true, auto_detect=false, "
                               "columns={<all DOUBLE>})",
        "checks": "DuckDB, the same read_csv as the DuckDB one pass"},
    "cached": {
        "summary": "every variant reads the data held in memory: Spark's cache of the parquet files (filled before "
                   "the timings), a DuckDB table in memory",
        "spark one pass": "marketing360 SparkEngine.table(spark.read.parquet(<parquet folder>).cache()), counted "
                          "once before the timings",
        "spark loop": "the same cached Spark DataFrame",
        "spark-ml one pass": "the same cached Spark DataFrame",
        "spark scan": "the same cached Spark DataFrame",
        "duckdb one pass": "marketing360 DuckDBEngine.table of an in-memory table (CREATE TABLE data AS SELECT * "
                           "FROM read_parquet(<parquet folder>))",
        "duckdb loop": "the same table as the DuckDB one pass",
        "duckdb sql one pass": "the same in-memory table",
        "checks": "DuckDB, read_parquet of the same files"},
}


# ============================================================================ data


def make_data(rows: int, columns: int, seed: int, fresh: bool = False) -> dict[str, Any]:
    """A parquet folder of ``rows`` x ``columns`` doubles, made once from ``seed`` (files of FILE_ROWS rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = DATA / f"{rows}x{columns}-s{seed}"
    marker, parts = root / "benchmark.json", root / "parts"  # the parquet files alone in their folder
    made = _made_before(marker, parts, ".parquet", fresh)
    if made is not None:
        return made
    print(f"  writing {rows:,} rows x {columns} columns -> {root} ...", flush=True)
    t0 = time.perf_counter()
    names = [f"c{j:03d}" for j in range(columns)]
    for part, start in enumerate(range(0, rows, FILE_ROWS)):
        n = min(FILE_ROWS, rows - start)
        rng = np.random.default_rng([seed, part])
        arrays = []
        for j in range(columns):
            kind = j % 4
            if kind == 0:
                x = rng.normal(j, 1 + j % 7, n)
            elif kind == 1:
                x = rng.lognormal(0.0, 1.0, n) * (1 + j)
            elif kind == 2:
                x = rng.uniform(-1000.0, 1000.0, n)
            else:
                x = rng.poisson(50 + j, n).astype(np.float64)
            u = rng.random(n)
            x[u < 0.01] = np.nan
            arrays.append(pa.array(x, mask=(u >= 0.01) & (u < 0.03 + 0.01 * (j % 5))))
        pq.write_table(pa.Table.from_arrays(arrays, names=names), parts / f"part-{part:05d}.parquet",
                       row_group_size=ROW_GROUP, compression="snappy")
    return _written(marker, parts, ".parquet", t0, rows=rows, columns=columns, seed=seed, file_rows=FILE_ROWS,
                    row_group_rows=ROW_GROUP)


def _made_before(marker: Path, folder: Path, suffix: str, fresh: bool) -> dict[str, Any] | None:
    """The description of files made by an earlier run (``marker``), or None after clearing ``folder`` for new ones."""
    if marker.exists() and not fresh:
        info = json.loads(marker.read_text())
        print(f"  reusing {folder} ({info['bytes'] / 2**30:.2f} GiB)", flush=True)
        return info
    marker.unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"*{suffix}"):
        old.unlink()
    return None


def _written(marker: Path, folder: Path, suffix: str, t0: float, **extra: Any) -> dict[str, Any]:
    """Describe the files just written to ``folder`` (the marker a later run reuses them by)."""
    files = list(folder.glob(f"*{suffix}"))
    size = sum(f.stat().st_size for f in files)
    info = {**extra, "path": str(folder), "bytes": size, "files": len(files), "write_seconds": time.perf_counter() - t0}
    marker.write_text(json.dumps(info, indent=1))
    print(f"  written in {info['write_seconds']:.0f} s ({size / 2**30:.2f} GiB)", flush=True)
    return info


def make_csv(info: dict[str, Any], fresh: bool = False) -> dict[str, Any]:
    """The parquet files of :func:`make_data` written again as CSV (one file each, a header, pyarrow's writer:
    shortest round-trip decimals, ``nan`` for NaN, an empty field for null), in ``<size folder>/csv/``."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    parts = Path(info["path"])
    root = parts.parent
    marker, folder = root / "csv.json", root / "csv"
    made = _made_before(marker, folder, ".csv", fresh)
    if made is not None:
        return made
    print(f"  writing the CSV -> {folder} ...", flush=True)
    t0 = time.perf_counter()
    for f in sorted(parts.glob("*.parquet")):
        pcsv.write_csv(pq.read_table(f), folder / (f.stem + ".csv"))
    return _written(marker, folder, ".csv", t0,
                    writer="pyarrow.csv.write_csv (quoted header, nan for NaN, empty field for null)")


def read_all(path: str, suffix: str = ".parquet") -> None:
    """Read every file once (the page cache: both engines then scan the same warm bytes)."""
    for f in sorted(Path(path).glob(f"*{suffix}")):
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass


def spark_source(session: Any, source: str, path: str, names: list[str]) -> Any:
    """The Spark DataFrame of the data: ``read.parquet`` (held in Spark's cache, filled now, for ``cached``), or
    ``read.csv`` with an explicit all-double schema."""
    if source == "parquet":
        return session.read.parquet(path)
    if source == "cached":
        df = session.read.parquet(path).cache()
        df.count()
        return df
    from pyspark.sql.types import DoubleType, StructField, StructType

    schema = StructType([StructField(c, DoubleType(), True) for c in names])
    return session.read.schema(schema).csv(path, header=True, nanValue="nan", mode="FAILFAST")


def duckdb_csv_sql(path: str, names: list[str]) -> str:
    """DuckDB's ``read_csv`` of the CSV folder with an explicit all-double schema (no sniffing)."""
    cols = ", ".join(f"'{c}': 'DOUBLE'" for c in names)
    return f"read_csv('{path}/*.csv', header=true, auto_detect=false, columns={{{cols}}})"


def duckdb_table(eng: Any, source: str, path: str, names: list[str], name: str = "data") -> Any:
    """The data on a ``marketing360`` DuckDB engine: the parquet folder, a copy of it in memory (``cached``, as
    table ``name``), or the CSV with an explicit schema."""
    if source == "parquet":
        return eng.table(path)
    if source == "cached":
        eng.connection.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM read_parquet('{path}/*.parquet')")
        return eng.table(eng.backend.table(name))
    return eng.table(eng.backend.read_csv(f"{path}/*.csv", columns={c: "DOUBLE" for c in names}, header=True,
                                          auto_detect=False))


# ============================================================================ measuring


class Meter:
    """Wall time, peak RSS (this process and the Spark driver JVM) and the machine's other load of one call."""

    def __init__(self) -> None:
        self.jvm: int | None = None

    def find_jvm(self) -> None:
        self.jvm = next((c["pid"] for c in children_memory() if c["comm"] == "java"), None)

    @staticmethod
    def _reset(pid: int | str) -> None:
        try:
            Path("/proc", str(pid), "clear_refs").write_text("5")  # resets VmHWM to the current RSS
        except OSError:
            pass

    @staticmethod
    def _hwm_kb(pid: int | str) -> int | None:
        try:
            for line in Path("/proc", str(pid), "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
        return None

    def _ours(self) -> float:
        return sum(os.times()[:2]) + (_proc_cpu_seconds(self.jvm) if self.jvm else 0.0)

    def measure(self, fn: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
        self._reset("self")
        if self.jvm:
            self._reset(self.jvm)
        cpu0, ours0 = _cpu_snapshot(), self._ours()
        t0 = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - t0
        cpu1, ours1 = _cpu_snapshot(), self._ours()
        span = max(cpu1[0] - cpu0[0], 1e-9)
        return out, {"seconds": seconds, "python_peak_rss_kb": self._hwm_kb("self"),
                     "jvm_peak_rss_kb": self._hwm_kb(self.jvm) if self.jvm else None,
                     "others_cores": max(0.0, (cpu1[1] - cpu0[1] - (ours1 - ours0)) / span)}


# ============================================================================ the variants


def _quiet(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # QuantileDiscretizer's warning about tied quantiles
        return fn()


def ours(stat: str, table: Any, columns: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """marketing360.prep over ``columns`` of ``table`` in one call: the statistic per column."""
    from marketing360.prep import Imputer, QuantileDiscretizer

    if stat == "discretizer":
        fitted = QuantileDiscretizer(columns=columns, num_buckets=args.buckets, relative_error=args.relative_error,
                                     handle_invalid="keep")
        return _quiet(lambda: fitted.fit(table)).splits_
    imp = Imputer(columns=columns, strategy=stat, relative_error=args.relative_error)
    return imp.fit(table).statistics_


def ours_loop(stat: str, table: Any, columns: list[str], args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in columns:
        out.update(ours(stat, table, [c], args))
    return out


def spark_ml(stat: str, sdf: Any, columns: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Spark ML's own estimator over ``columns`` in one call."""
    from pyspark.ml.feature import Imputer, QuantileDiscretizer

    outs = [f"{c}_out" for c in columns]
    if stat == "discretizer":
        if len(columns) == 1:
            qd = QuantileDiscretizer(inputCol=columns[0], outputCol=outs[0], numBuckets=args.buckets,
                                     relativeError=args.relative_error, handleInvalid="keep")
            return {columns[0]: list(qd.fit(sdf).getSplits())}
        qd = QuantileDiscretizer(inputCols=columns, outputCols=outs, numBuckets=args.buckets,
                                 relativeError=args.relative_error, handleInvalid="keep")
        return {c: list(s) for c, s in zip(columns, qd.fit(sdf).getSplitsArray())}
    imp = Imputer(inputCols=columns, outputCols=outs, strategy=stat, relativeError=args.relative_error)
    row = imp.fit(sdf).surrogateDF.collect()[0].asDict()
    return {c: float(row[c]) for c in columns}


def spark_ml_loop(stat: str, sdf: Any, columns: list[str], args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in columns:
        out.update(spark_ml(stat, sdf, [c], args))
    return out


def spark_scan(sdf: Any) -> dict[str, Any]:
    """Every column of ``sdf`` read and decoded, nothing computed (Spark's ``noop`` sink): no statistic."""
    sdf.write.format("noop").mode("overwrite").save()
    return {}


def duckdb_sql(stat: str, con: Any, source: str, columns: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """The same one pass as hand-written DuckDB SQL, NaN turned to null by ``CASE`` instead of ``FILTER``."""
    probs = [0.5] if stat == "median" else sorted({i / args.buckets for i in range(args.buckets + 1)})
    aggs = []
    for c in columns:
        x = f'CASE WHEN NOT isnan("{c}") THEN "{c}" END'
        aggs.append(f"avg({x})" if stat == "mean" else f"quantile_disc({x}, {probs})")
    row = con.execute(f"SELECT {', '.join(aggs)} FROM {source}").fetchall()[0]
    if stat != "discretizer":
        return {c: float(v if stat == "mean" else v[0]) for c, v in zip(columns, row)}
    out = {}
    for c, v in zip(columns, row):
        pts = [-math.inf, *v[1:-1], math.inf]
        out[c] = sorted({0.0 if p == 0 else p for p in pts})
    return out


# ============================================================================ checks


def _same(a: dict[str, Any], b: dict[str, Any], rtol: float = 0.0) -> list[str]:
    bad = []
    for c in b:
        x, y = np.asarray(a[c], dtype=float), np.asarray(b[c], dtype=float)
        if x.shape != y.shape or not np.allclose(x, y, rtol=rtol, atol=0.0, equal_nan=True):
            bad.append(f"{c}: {b[c]} != {a[c]}")
    return bad


def rank_check(duck: Any, table: Any, found: dict[str, dict[float, float]], eps: float) -> tuple[list[str], float]:
    """Problems where a value found for probability q of a column has no rank within ``eps * n`` of
    ``ceil(q * n)`` among the column's non-null, non-NaN values (counted exactly on DuckDB); and the largest
    rank error seen, as a share of n."""
    import ibis

    from marketing360.engine.columnstats import present

    def count(cond: Any) -> Any:  # SUM(CASE ...): DuckDB's FILTER clauses cost K^2 over K aggregates (see README)
        return ibis.ifelse(cond, 1, 0).sum()

    aggs, keys = {}, []
    for c, at in found.items():
        keep = present(table[c])
        aggs[f"n_{c}"] = count(keep)
        for i, v in enumerate(at.values()):
            if math.isfinite(v):
                aggs[f"lt_{c}_{i}"] = count(keep & (table[c] < ibis.literal(v)))
                aggs[f"le_{c}_{i}"] = count(keep & (table[c] <= ibis.literal(v)))
                keys.append((c, i))
    row = duck.to_pandas(table.aggregate(**aggs)).iloc[0]
    bad, worst = [], 0.0
    for c, i in keys:
        q, v = list(found[c].items())[i]
        n = int(row[f"n_{c}"])
        lo, hi = int(row[f"lt_{c}_{i}"]) + 1, int(row[f"le_{c}_{i}"])  # ranks the value holds (1-based)
        want = max(1, math.ceil(q * n))
        err = 0 if lo <= want <= hi else min(abs(lo - want), abs(hi - want))
        worst = max(worst, err / n)
        if err > eps * n + 1:
            bad.append(f"{c} q={q}: value {v} has ranks [{lo}, {hi}], asked {want} +- {eps * n:.0f}")
    return bad, worst


# ============================================================================ the measured processes

SPARK_VARIANTS = ("spark one pass", "spark loop", "spark-ml one pass", "spark scan")
DUCKDB_VARIANTS = ("duckdb one pass", "duckdb loop", "duckdb sql one pass")


def variants(eng: Any, spec: dict[str, Any], path: str, name: str = "data") -> dict[str, Callable[[str], Any]]:
    """The measured variants of ``spec``'s engine over the data at ``path`` (statistic -> result), ``one
    column``: ``marketing360.prep`` on its first column, and ``release``: the data's copy in memory dropped
    (``cached``; nothing otherwise)."""
    a = argparse.Namespace(**spec["args"])
    names, loop_cols, source = spec["names"], spec["loop_columns"], spec.get("source", "parquet")
    if spec["engine"] == "spark":
        sdf = spark_source(eng.session, source, path, names)
        # parquet: the engine's own reader; CSV: the explicitly typed DataFrame (its reader would infer a schema)
        table = eng.table(path) if source == "parquet" else eng.table(sdf)
        return {"one column": lambda s: ours(s, table, names[:1], a),
                "spark one pass": lambda s: ours(s, table, names, a),
                "spark loop": lambda s: spark_ml_loop(s, sdf, loop_cols, a),
                "spark-ml one pass": lambda s: spark_ml(s, sdf, names, a),
                "spark scan": lambda s: spark_scan(sdf),
                "release": lambda s: sdf.unpersist(blocking=True)}
    table = duckdb_table(eng, source, path, names, name)
    sql_from = {"parquet": f"read_parquet('{path}/*.parquet')", "cached": name}.get(
        source) or duckdb_csv_sql(path, names)
    return {"one column": lambda s: ours(s, table, names[:1], a),
            "duckdb one pass": lambda s: ours(s, table, names, a),
            "duckdb loop": lambda s: ours_loop(s, table, loop_cols, a),
            "duckdb sql one pass": lambda s: duckdb_sql(s, eng.connection, sql_from, names, a),
            "release": lambda s: eng.connection.execute(f"DROP TABLE IF EXISTS {name}")}


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One engine: for every statistic of ``spec["stats"]``, every variant of ``spec["variants"]`` once on the small
    warm-up copy of the data (untimed; with ``spec["cold"]``, ``marketing360.prep`` on one column of the data
    instead); the copy released; then per statistic each variant timed in order. Returns statistic -> variant ->
    measurement and result."""
    import marketing360 as m3

    a = argparse.Namespace(**spec["args"])
    meter = Meter()
    if spec["engine"] == "spark":
        eng = m3.connect("spark")
        meter.find_jvm()
    else:
        eng = m3.connect("duckdb", memory_limit=a.duckdb_memory_limit)
    warm = None if spec["cold"] else variants(eng, spec, spec["warm_path"], name="warm")
    fns = variants(eng, spec, spec["path"])
    for stat in spec["stats"]:
        if warm is None:  # cold: start-up alone
            fns["one column"](stat)
        else:  # start-up, and each variant's own plan generated, compiled and JIT-ed
            for v in spec["variants"]:
                warm[v](stat)
    if warm is not None:
        warm["release"]("")  # the copy in memory (cached) would otherwise share it with the timed runs
    out: dict[str, Any] = {}
    for stat in spec["stats"]:
        out[stat] = {}
        for v in spec["variants"]:
            calm = wait_quiet(a.wait_quiet) if a.wait_quiet > 0 else {}
            res, m = meter.measure(lambda: fns[v](stat))
            out[stat][v] = {**m, **calm, "result": res}
            print(f"  {spec['rows']:,} rows, {stat:<11} {v:<19} repeat {spec['repeat'] + 1}: {m['seconds']:7.2f} s"
                  f" (others' CPU {m['others_cores']:.2f})", flush=True)
    if spec["engine"] == "spark":
        eng.close()
    return out


def run_worker(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """:func:`worker` in a fresh process (``prep_onepass.py --worker SPEC OUT``), so that no engine's heap, caches
    or retained memory outlive it."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="prep-onepass-") as tmp:
        spec_path, out_path = Path(tmp, "spec.json"), Path(tmp, "out.json")
        spec_path.write_text(json.dumps(spec))
        env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
        subprocess.run([sys.executable, __file__, "--worker", str(spec_path), str(out_path)], check=True,
                       timeout=timeout, env=env)
        return json.loads(out_path.read_text())


# ============================================================================ one size


def run_size(rows: int, args: argparse.Namespace, duck: Any) -> dict[str, Any]:
    info = make_data(rows, args.columns, args.seed, args.fresh_data)
    names = [f"c{j:03d}" for j in range(args.columns)]
    k = args.loop_columns or (args.columns if rows * args.columns <= 100_000_000 else min(10, args.columns))
    k = min(k, args.columns)
    loop_cols = names[:k]
    scale = args.columns / k
    path = info["path"]
    warm = None if args.cold else make_data(WARM_ROWS, args.columns, args.seed, args.fresh_data)
    warm_path = warm and warm["path"]
    if args.source == "csv":
        info = {**info, "csv": make_csv(info, args.fresh_data)}
        path = info["csv"]["path"]
        warm_path = warm and make_csv(warm, args.fresh_data)["path"]
        read_all(path, ".csv")
    else:
        read_all(path)
    # for the checks: the same source as the variants (the parquet files behind the cached data)
    dt = duckdb_table(duck, "parquet" if args.source == "cached" else args.source, path, names)
    wanted = {"spark-ml one pass": args.spark_ml, "spark scan": args.spark_scan}
    per_engine = {"spark": [v for v in SPARK_VARIANTS if wanted.get(v, True)],
                  "duckdb": [v for v in DUCKDB_VARIANTS if args.duckdb_sql or v != "duckdb sql one pass"]}
    worker_args = {k_: getattr(args, k_) for k_ in ("buckets", "relative_error", "wait_quiet", "duckdb_memory_limit")}
    out: dict[str, Any] = {"data": info, "loop_columns": k, "loop_scale": scale, "stats": {}}
    problems: list[str] = []
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        stat: {v: [] for e in per_engine.values() for v in e} for stat in args.stats}
    found: dict[str, dict[str, Any]] = {stat: {} for stat in args.stats}
    for r in range(args.repeats):
        # every other round the engines and each engine's variants run in the reverse order; Spark measures every
        # statistic in one process (one JVM start), DuckDB one process per statistic (no memory kept between them)
        for engine in (["spark", "duckdb"] if r % 2 == 0 else ["duckdb", "spark"]):
            for stats in ([list(args.stats)] if engine == "spark" else [[st] for st in args.stats]):
                spec = {"engine": engine, "stats": stats, "rows": rows, "repeat": r, "path": path,
                        "warm_path": warm_path, "cold": args.cold,
                        "source": args.source, "names": names, "loop_columns": loop_cols, "args": worker_args,
                        "variants": per_engine[engine] if r % 2 == 0 else per_engine[engine][::-1]}
                for stat, got in run_worker(spec, args.timeout).items():
                    for v, m in got.items():
                        found[stat][v] = m.pop("result")
                        runs[stat][v].append(m)
    for stat in args.stats:
        results = found[stat]
        rec: dict[str, Any] = {}
        for v, ms in runs[stat].items():
            secs = [m["seconds"] for m in ms]
            loop = v.endswith("loop")
            rec[v] = {"seconds": secs, "best": min(secs), "median": statistics.median(secs),
                      "columns": k if loop else args.columns,
                      "best_for_all_columns": min(secs) * (scale if loop else 1.0),
                      "python_peak_rss_kb": max((m["python_peak_rss_kb"] or 0) for m in ms),
                      "jvm_peak_rss_kb": max((m["jvm_peak_rss_kb"] or 0) for m in ms),
                      "others_cores": max(m["others_cores"] for m in ms)}
        full = {v: rec[v]["best_for_all_columns"] for v in rec}
        rec["ratios"] = {"spark_loop_over_one_pass": full["spark loop"] / full["spark one pass"],
                         "duckdb_loop_over_one_pass": full["duckdb loop"] / full["duckdb one pass"],
                         "spark_one_pass_over_duckdb_one_pass": full["spark one pass"] / full["duckdb one pass"]}
        if "spark-ml one pass" in full:
            rec["ratios"]["ours_spark_over_spark_ml"] = full["spark one pass"] / full["spark-ml one pass"]
            # SPARK-21690's own comparison: Spark ML's loop against Spark ML's multi-column call
            rec["ratios"]["spark_loop_over_spark_ml_one_pass"] = full["spark loop"] / full["spark-ml one pass"]
            rec["ratios"]["spark_ml_one_pass_over_duckdb_one_pass"] = (full["spark-ml one pass"]
                                                                       / full["duckdb one pass"])
        if "spark scan" in full:  # the most a one pass could gain on this source, and what ours adds to the scan
            rec["ratios"]["spark_loop_over_scan"] = full["spark loop"] / full["spark scan"]
            rec["ratios"]["spark_one_pass_over_scan"] = full["spark one pass"] / full["spark scan"]
        if "duckdb sql one pass" in full:
            rec["ratios"]["duckdb_one_pass_over_hand_sql"] = full["duckdb one pass"] / full["duckdb sql one pass"]
            rec["ratios"]["spark_one_pass_over_duckdb_hand_sql"] = full["spark one pass"] / full["duckdb sql one pass"]
        # checks
        checks: list[str] = []
        if "duckdb sql one pass" in results:
            checks += [f"duckdb sql vs one pass {p}" for p in _same(results["duckdb one pass"],
                                                                    results["duckdb sql one pass"],
                                                                    1e-9 if stat == "mean" else 0.0)]
        checks += [f"duckdb loop vs one pass {p}" for p in _same(results["duckdb one pass"], results["duckdb loop"],
                                                                 1e-9 if stat == "mean" else 0.0)]
        spark_loop_diff = _same(results["spark one pass"], results["spark loop"])
        if stat == "mean":
            checks += [f"spark loop vs one pass {p}" for p in _same(results["spark one pass"], results["spark loop"],
                                                                     1e-9)]
            checks += [f"spark vs duckdb {p}" for p in _same(results["duckdb one pass"], results["spark one pass"],
                                                              1e-9)]
            if "spark-ml one pass" in results:
                checks += [f"ours vs spark-ml {p}" for p in _same(results["spark-ml one pass"],
                                                                  results["spark one pass"], 1e-12)]
            spark_loop_diff = []
        else:
            if "spark-ml one pass" in results:
                checks += [f"ours vs spark-ml {p}" for p in _same(results["spark-ml one pass"],
                                                                  results["spark one pass"])]
            probs = [0.5] if stat == "median" else [i / args.buckets for i in range(args.buckets + 1)]

            def at(found: dict[str, Any], cols: list[str]) -> dict[str, dict[float, float]]:
                if stat == "median":
                    return {c: {0.5: found[c]} for c in cols}
                return {c: dict(zip(probs[1:-1], found[c][1:-1])) for c in cols if len(found[c]) == len(probs)}

            t0 = time.perf_counter()
            checked = names if rows * args.columns <= 100_000_000 else names[:max(k, 20)]
            bad, worst = rank_check(duck, dt, at(results["spark one pass"], checked), args.relative_error)
            loop_bad, loop_worst = rank_check(duck, dt, at(results["spark loop"], loop_cols), args.relative_error)
            checks += [f"spark one pass rank {p}" for p in bad] + [f"spark loop rank {p}" for p in loop_bad]
            rec["spark_worst_rank_error"] = {"one_pass": worst, "loop": loop_worst}
            rec["rank_check_seconds"] = time.perf_counter() - t0
            rec["rank_checked_columns"] = {"one_pass": len(checked), "loop": k}
            if stat == "discretizer":
                rec["buckets_found"] = {e: sorted({len(s) - 1 for s in results[f"{e} one pass"].values()})
                                        for e in ("spark", "duckdb")}
        rec["spark_loop_differs_from_one_pass"] = spark_loop_diff  # within the rank bound, both; not an error
        rec["checks_failed"] = checks
        problems += [f"{rows:,} rows {stat}: {p}" for p in checks]
        out["stats"][stat] = rec
        print(f"  {stat}: checks {'pass' if not checks else 'FAIL: ' + '; '.join(checks[:5])}", flush=True)
    out["problems"] = problems
    return out


# ============================================================================ report


def _mem(kb: int | None) -> str:
    return "n/a" if not kb else f"{kb / 2**20:.1f} GiB" if kb >= 2**20 else f"{kb / 1024:.0f} MiB"


def report(sizes: list[dict[str, Any]], columns: int) -> str:
    """The printed (markdown) tables: times and ratios, then the memory and the machine's other load."""
    first = sizes[0]["stats"][next(iter(sizes[0]["stats"]))]
    spark_ml, hand, scan = "spark-ml one pass" in first, "duckdb sql one pass" in first, "spark scan" in first
    header = ["rows", "statistic", "spark one pass", "spark loop", "loop / one pass", "duckdb one pass",
              "duckdb loop", "loop / one pass", "spark / duckdb (one pass)"]
    if spark_ml:
        header.insert(3, "spark-ml one pass")
        header += ["loop / spark-ml one pass", "spark-ml / duckdb (one pass)"]
    if scan:
        header += ["spark scan", "loop / scan (the ceiling)", "one pass / scan"]
    if hand:
        header += ["duckdb SQL without FILTER", "spark / duckdb SQL"]
    rows = []
    for s in sizes:
        k, n = s["loop_columns"], s["data"]["rows"]
        for stat, r in s["stats"].items():
            def loop(v: str) -> str:
                if k == columns:
                    return f"{r[v]['best']:.2f} s"
                return f"{r[v]['best_for_all_columns']:.1f} s ({r[v]['best']:.2f} s for {k} cols x {columns / k:g})"
            ratios = r["ratios"]
            row = [f"{n:,}", stat, f"{r['spark one pass']['best']:.2f} s", loop("spark loop"),
                   f"**{ratios['spark_loop_over_one_pass']:.1f}×**", f"{r['duckdb one pass']['best']:.2f} s",
                   loop("duckdb loop"), f"{ratios['duckdb_loop_over_one_pass']:.1f}×",
                   f"**{fmt_ratio(ratios['spark_one_pass_over_duckdb_one_pass'])}**"]
            if spark_ml:
                row.insert(3, f"{r['spark-ml one pass']['best']:.2f} s")
                row += [f"{ratios['spark_loop_over_spark_ml_one_pass']:.1f}×",
                        fmt_ratio(ratios["spark_ml_one_pass_over_duckdb_one_pass"])]
            if scan:
                row += [f"{r['spark scan']['best']:.2f} s", f"{ratios['spark_loop_over_scan']:.1f}×",
                        f"{ratios['spark_one_pass_over_scan']:.2f}×"]
            if hand:
                row += [f"{r['duckdb sql one pass']['best']:.2f} s",
                        fmt_ratio(ratios["spark_one_pass_over_duckdb_hand_sql"])]
            rows.append(row)
    out = md_table(header, rows, "lr" + "r" * (len(header) - 2))
    mem_rows, variants = [], []
    for s in sizes:
        for stat, r in s["stats"].items():
            variants = [v for v in r if isinstance(r[v], dict) and "python_peak_rss_kb" in r[v]]
            mem_rows.append([f"{s['data']['rows']:,}", stat] + [
                f"{_mem(r[v]['python_peak_rss_kb'])} / {_mem(r[v]['jvm_peak_rss_kb'])} / {r[v]['others_cores']:.2f}"
                for v in variants])
    out += "\npeak RSS python / JVM / others' CPU (cores, worst repeat) during each variant:\n\n"
    out += md_table(["rows", "statistic"] + variants, mem_rows, "lr" + "r" * len(variants))
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:  # a measured process: --worker SPEC OUT
        res = worker(json.loads(Path(argv[1]).read_text()))
        Path(argv[2]).write_text(json.dumps(res))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000], help="sizes, in rows")
    ap.add_argument("--columns", type=int, default=100)
    ap.add_argument("--loop-columns", type=int, default=0,
                    help="columns the loops run on (time scaled to all); 0: all up to 1e8 cells, else 10")
    ap.add_argument("--stats", nargs="+", choices=STATS, default=list(STATS))
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--relative-error", type=float, default=0.001)
    ap.add_argument("--buckets", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-duckdb-sql", dest="duckdb_sql", action="store_false",
                    help="leave out the reference: the DuckDB one pass as hand-written SQL without FILTER clauses")
    ap.add_argument("--spark-ml", action="store_true",
                    help="also time the reference: Spark ML's multi-column estimator called directly")
    ap.add_argument("--cold", action="store_true",
                    help="warm up on one column of the data only (the protocol before 5 December): the timed "
                         "100-column fits then pay their plan's code generation and JIT warm-up, as a first call in "
                         "a fresh process does")
    ap.add_argument("--spark-scan", action="store_true",
                    help="also time the reference: every column read and decoded by Spark, nothing computed")
    ap.add_argument("--wait-quiet", type=float, default=0.0,
                    help="wait up to this many seconds before each measurement for the machine to calm down")
    ap.add_argument("--duckdb-memory-limit", default="12GB",
                    help="DuckDB's memory_limit (an exact median of 100 columns x 10M rows holds 8 GiB)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds allowed to each measured process")
    ap.add_argument("--source", choices=("parquet", "csv", "cached"), default="parquet",
                    help="what every variant reads: the parquet files, or the same values as CSV (explicit schema)")
    ap.add_argument("--fresh-data", action="store_true")
    ap.add_argument("--name", default=None,
                    help="results/<name>.json (default prep-onepass, or prep-onepass-csv with --source csv)")
    ap.add_argument("--quick", action="store_true", help="write results/<name>-quick.json (git-ignored) instead")
    args = ap.parse_args(argv)
    args.name = args.name or ("prep-onepass" if args.source == "parquet" else f"prep-onepass-{args.source}")

    import marketing360 as m3

    t_start = time.perf_counter()
    info = machine_info(measured={"prep": list(MEASURED)})
    duck = m3.connect("duckdb", memory_limit=args.duckdb_memory_limit)  # the checks only
    sizes = []
    for rows in args.rows:
        print(f"{rows:,} rows x {args.columns} columns", flush=True)
        before = source_hash(*MEASURED)
        size = run_size(rows, args, duck)
        size["measured_source_sha256"] = after = source_hash(*MEASURED)
        if after != before:
            size["problems"].append(f"{rows:,} rows: the measured package sources changed during the measurement "
                                    f"({before} -> {after}): run again")
        sizes.append(size)
    problems = [p for s in sizes for p in s["problems"]]
    goals = {}
    for s in sizes:
        for stat, r in s["stats"].items():
            key = f"{s['data']['rows']}x{args.columns} {stat}"
            ratios = r["ratios"]
            goals[key] = {"spark_loop_over_one_pass_at_least_20x": ratios["spark_loop_over_one_pass"] >= SPARK_GOAL,
                          "duckdb_at_least_as_fast_as_spark_ml": ratios["spark_one_pass_over_duckdb_one_pass"] >= 1}
    table = f"source: {args.source}: {READS[args.source]['summary']}\n\n" + report(sizes, args.columns)
    payload = {"suite": args.name, "config": vars(args), "machine": info, "source": args.source,
               "reads": READS[args.source],
               "timing": "best of the repeats (every repeat and the median kept); a loop run on k < K columns is "
                         "scaled by K/k (best_for_all_columns); " + ("cold: warmed up on one column of the data only"
                                                                     if args.cold else "every variant warmed up on "
                                                                     f"{WARM_ROWS:,} rows of the same source first"),
               "seconds": time.perf_counter() - t_start, "loadavg_at_end": list(os.getloadavg()),
               "goals": goals, "problems": problems, "sizes": sizes, "table": table}
    path = write_json(args.name, args.quick, payload)
    print()
    print(table)
    for key, g in goals.items():
        spark_ok, duck_ok = g["spark_loop_over_one_pass_at_least_20x"], g["duckdb_at_least_as_fast_as_spark_ml"]
        print(f"{key}: Spark loop / one pass >= {SPARK_GOAL:g}x: {'met' if spark_ok else 'NOT met'}; "
              f"DuckDB one pass at least as fast as Spark's: {'met' if duck_ok else 'NOT met'}")
    print(f"checks: {'all pass' if not problems else f'{len(problems)} FAILED'}")
    for p in problems[:20]:
        print("  " + p)
    print(f"{(time.perf_counter() - t_start) / 60:.1f} min; results in {path}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
