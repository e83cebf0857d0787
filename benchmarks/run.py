#!/usr/bin/env python
"""marketing360 benchmarks: measured side by side in one run, written as JSON.

Usage
-----
    python benchmarks/run.py [simulator|groupby|assets|all] [--quick] [--repeats N]
                             [--engines duckdb,spark,...] [--min-events N]
                             [--assets-min-events N] [--spark-repeats N]
                             [--spark-scope auto|full|subset] [--spark-limit SECONDS]
                             [--subset-events N] [--queries N]
                             [--wait-quiet SECONDS] [--fresh-data] [--seed N]

Benchmarks
----------
simulator
    Throughput of :func:`marketing360.datasets.simulate` in events per second
    (events written to parquet with ``out=``): ``truth="none"`` on 4 blocks of
    16,384 consumers x 90 days with ``n_jobs=1`` (the baseline) and
    ``n_jobs=2`` (each also with ``OPENBLAS_NUM_THREADS=1``: numpy's
    OpenBLAS threads otherwise compete with the worker processes), and
    ``truth="incremental"`` on one block against ``truth="none"`` on the same
    block (the cost of counterfactual truth).
    Every repeat runs in a fresh subprocess; peak memory is that process
    tree's. Repeats of different cases are interleaved, so that a noisy
    neighbour slows them alike. The events of every 4-block case and the
    observed events of the ``none`` and ``incremental`` runs of a block must
    be identical (same seed): the harness checks it.

groupby
    One scan + group-by over the same parquet world (>= 10M events) on the
    DuckDB engine (ibis), raw DuckDB SQL (no ibis), the Spark engine (the
    same ibis expressions, local[2]), pandas (``read_parquet`` + ``groupby``)
    and polars (``scan_parquet`` + ``group_by``). Two queries: Q1 is
    :func:`marketing360.overview.event_counts` (per event type: events,
    distinct users, sum of value and cost), Q2 is per (brand, event_type):
    events and sum of value. Each engine runs in its own subprocess: start-up
    (import + connect; the SparkSession and its JVM for Spark) is timed
    apart, then each query runs once to warm up and ``--repeats`` times
    timed (median reported). Each timed query includes opening the parquet
    files. All engines must agree (counts exactly, sums to 1e-6 relative)
    or the run fails.

assets
    The 4A goals on a simulated world of >= 100M events (524,288 consumers x
    90 days, parquet). (1) The 4A job: ``snapshot(events, last day)``
    materialized as volumes per brand x stage, plus ``flows(events, day 60,
    last day).to_frame()``, on the DuckDB engine (goal: under 60 s) and on
    the Spark engine (local[2], ``spark.driver.memory=8g``; reported as a
    ratio to DuckDB). (2) The same computation as a hand-written PySpark
    DataFrame job (``pyspark.sql.functions``, the default rules written out
    in :data:`HAND_RULES`) in the same Spark session set-up: the overhead of
    our abstraction, ours / hand-written (goal: at most 1.2x); a second,
    tuned hand-written job (the per-day fold, both flow dates in one
    aggregate) is reported as a ratio too. Spark runs on
    the full world unless our job takes longer than ``--spark-limit`` there;
    then every Spark figure and its DuckDB reference come from a subset of
    whole part files (>= ``--subset-events``), and the output says so. (3)
    The dashboard: ``snapshots(events, weekly dates)`` joined with the
    consumers' ``member_level`` is stored in a DuckDB file; then ``--queries``
    random (brand, date, member_level) queries return consumers per stage and
    penetration (consumers / consumers of that member level), through the
    package (ibis + ``assets.penetration``) and as plain SQL (goal: p95 under
    200 ms). Every job runs in its own subprocess, after a warm-up run on the
    quick world (full mode). DuckDB, our Spark path and both hand-written jobs
    must give exactly the same volumes and flows, the flows must end in the
    snapshot's volumes, and the two dashboard paths must agree.

Results go to ``benchmarks/results/<name>.json`` (``<name>-quick.json`` with
``--quick``) and a markdown table is printed. Generated data lives under
``benchmarks/data/`` (git-ignored). Memory: ``ru_maxrss`` of each worker
(os.wait4: the largest single process, forked simulator workers included),
``VmHWM`` of the Spark driver JVM (read from /proc before the session
stops) and a sampled peak of the summed PSS of the whole process tree.

The machine may be shared: before each measured process the harness waits
(``--wait-quiet``, up to 120 s) for other processes to use under 0.3 cores,
and records the cores the rest of the machine used during each measurement
(from /proc/stat, less the worker's and the JVM's own CPU time).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = HERE / "data"
RESULTS = HERE / "results"
BLOCK_USERS = 16_384  # marketing360.datasets.simulator.BLOCK_USERS (not imported: keep the parent light)

ENGINES = ("duckdb", "duckdb-sql", "spark", "pandas", "polars")
ENGINE_VIA = {
    "duckdb": "m3.connect('duckdb') + ibis",
    "duckdb-sql": "duckdb SQL, no ibis",
    "spark": "m3.connect('spark') + ibis, local[2]",
    "pandas": "pd.read_parquet + groupby",
    "polars": "pl.scan_parquet + group_by (lazy)",
}

# ============================================================================ /proc helpers


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, comm) of every live process."""
    out: dict[int, tuple[int, str]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            raw = Path("/proc", d, "stat").read_text()
        except OSError:
            continue
        lp, rp = raw.find("("), raw.rfind(")")
        comm = raw[lp + 1:rp]
        fields = raw[rp + 2:].split()
        out[int(d)] = (int(fields[1]), comm)
    return out


def _descendants(root: int, table: dict[int, tuple[int, str]] | None = None) -> list[int]:
    table = table if table is not None else _proc_table()
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def _status_kb(pid: int, *fields: str) -> dict[str, int]:
    res: dict[str, int] = {}
    try:
        for line in Path("/proc", str(pid), "status").read_text().splitlines():
            k, _, v = line.partition(":")
            if k in fields:
                res[k] = int(v.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return res


def _pss_kb(pid: int) -> int:
    try:
        for line in Path("/proc", str(pid), "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (its reaped children included)."""
    try:
        raw = Path("/proc", str(pid), "stat").read_text()
        f = raw[raw.rfind(")") + 2:].split()
        return sum(int(x) for x in f[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime
    except (OSError, ValueError, IndexError):
        return 0.0


def _children_memory() -> list[dict[str, Any]]:
    """Peak (VmHWM), current RSS and CPU time of every live descendant of this process."""
    table = _proc_table()
    out = []
    for pid in _descendants(os.getpid(), table):
        st = _status_kb(pid, "VmHWM", "VmRSS")
        if st:
            out.append({"pid": pid, "comm": table[pid][1], "hwm_kb": st.get("VmHWM", 0),
                        "rss_kb": st.get("VmRSS", 0), "cpu_seconds": _proc_cpu_seconds(pid)})
    return out


def _cpu_snapshot() -> tuple[float, float, float]:
    """(wall clock, busy CPU seconds of the whole machine, steal seconds) from /proc/stat."""
    hz = os.sysconf("SC_CLK_TCK")
    f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = f[:7]
    steal = f[7] if len(f) > 7 else 0
    return time.perf_counter(), (user + nice + system + irq + softirq) / hz, steal / hz


def background_cpu(seconds: float = 2.0) -> float:
    """Cores kept busy by everything else on the machine over ``seconds`` (we run nothing)."""
    a = _cpu_snapshot()
    me = sum(os.times()[:2])
    time.sleep(seconds)
    b = _cpu_snapshot()
    return max(0.0, (b[1] - a[1] - (sum(os.times()[:2]) - me)) / (b[0] - a[0]))


def wait_quiet(max_wait: float, threshold: float = 0.3) -> dict[str, float]:
    """Wait (at most ``max_wait`` s) until other processes use under ``threshold`` cores."""
    t0 = time.perf_counter()
    load = background_cpu(1.0)
    while load >= threshold and time.perf_counter() - t0 < max_wait:
        load = background_cpu(2.0)
    return {"waited_seconds": time.perf_counter() - t0, "background_cores_before": load}


def _maxrss_kb(who: int) -> int:
    import resource

    return int(resource.getrusage(who).ru_maxrss)  # KiB on Linux


# ============================================================================ workers (in subprocesses)


def _work_simulate(spec: dict[str, Any]) -> dict[str, Any]:
    import resource

    t0 = time.perf_counter()
    from marketing360.datasets import simulate

    t_import = time.perf_counter() - t0
    out = Path(spec["out"])
    t0 = time.perf_counter()
    world = simulate(n_users=spec["users"], n_days=spec["days"], truth=spec["truth"],
                     seed=spec["seed"], out=out, n_jobs=spec["n_jobs"])
    seconds = time.perf_counter() - t0
    if spec.get("write_world"):  # the other tables too (users, brands, ...): not timed
        world.write(out)
    # outside the timed region: count and fingerprint the events written
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    files = sorted((out / "events").glob("*.parquet"))
    events = 0
    digest = {"user_id": 0, "ts": 0, "value": 0.0, "cost": 0.0, "value_n": 0, "cost_n": 0}
    for f in files:
        t = pq.read_table(f, columns=["user_id", "ts", "value", "cost"])
        events += t.num_rows
        digest["user_id"] += int(pc.sum(t["user_id"]).as_py() or 0)
        digest["ts"] += int(pc.sum(t["ts"].cast("int64")).as_py() or 0)
        for c in ("value", "cost"):
            digest[c] += float(pc.sum(t[c]).as_py() or 0.0)
            digest[c + "_n"] += int(pc.count(t[c]).as_py())
    return {
        "seconds": seconds, "import_seconds": t_import, "events": events, "files": len(files),
        "bytes": sum(f.stat().st_size for f in files), "digest": digest,
        "totals": {k: float(v) for k, v in world.truth.totals.items()},
        "self_maxrss_kb": _maxrss_kb(resource.RUSAGE_SELF),
        "children_maxrss_kb": _maxrss_kb(resource.RUSAGE_CHILDREN),
    }


def _q2_cols() -> tuple[str, ...]:
    return ("brand", "event_type", "events", "value")


Q1_KEYS, Q1_EXACT, Q1_APPROX = ("event_type",), ("events", "users"), ("value", "cost")
Q2_KEYS, Q2_EXACT, Q2_APPROX = ("brand", "event_type"), ("events",), ("value",)


def _engine_queries(engine: str, path: str) -> tuple[dict[str, float], dict[str, Callable[[], Any]],
                                                        Callable[[], Any], Callable[[], list[dict]]]:
    """(start-up timings, queries, to_records, close) of one engine."""
    glob = str(Path(path) / "*.parquet")
    startup: dict[str, float] = {}
    if engine in ("duckdb", "spark"):
        t0 = time.perf_counter()
        import marketing360 as m3
        from marketing360.overview import event_counts

        startup["import"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        eng = m3.connect(engine)
        startup["connect"] = time.perf_counter() - t0

        def q1() -> Any:
            return eng.to_pandas(event_counts(eng.table(path)))

        def q2() -> Any:
            ev = eng.table(path)
            return eng.to_pandas(ev.group_by(["brand", "event_type"]).agg(
                events=ev.count(), value=ev.value.sum().fill_null(0.0)))

        return startup, {"q1": q1, "q2": q2}, lambda df: df.to_dict("records"), eng.close
    if engine == "duckdb-sql":
        t0 = time.perf_counter()
        import duckdb

        startup["import"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        con = duckdb.connect()
        startup["connect"] = time.perf_counter() - t0
        src = f"read_parquet('{glob}')"

        def q1() -> Any:
            return con.sql(f"SELECT event_type, count(*) AS events, count(DISTINCT user_id) AS users, "
                           f"coalesce(sum(value), 0.0) AS value, coalesce(sum(cost), 0.0) AS cost "
                           f"FROM {src} GROUP BY event_type").fetchall()

        def q2() -> Any:
            return con.sql(f"SELECT brand, event_type, count(*) AS events, "
                           f"coalesce(sum(value), 0.0) AS value FROM {src} "
                           f"GROUP BY brand, event_type").fetchall()

        def records(rows: Any) -> list[dict]:
            cols = ("event_type", "events", "users", "value", "cost") if len(rows[0]) == 5 \
                else _q2_cols()
            return [dict(zip(cols, r)) for r in rows]

        return startup, {"q1": q1, "q2": q2}, records, con.close
    if engine == "pandas":
        t0 = time.perf_counter()
        import pandas as pd

        startup["import"] = time.perf_counter() - t0
        startup["connect"] = 0.0

        def q1() -> Any:
            df = pd.read_parquet(path, columns=["event_type", "user_id", "value", "cost"])
            return df.groupby("event_type", observed=True, sort=False).agg(
                events=("user_id", "size"), users=("user_id", "nunique"),
                value=("value", "sum"), cost=("cost", "sum")).reset_index()

        def q2() -> Any:
            df = pd.read_parquet(path, columns=["brand", "event_type", "value"])
            return df.groupby(["brand", "event_type"], observed=True, sort=False).agg(
                events=("value", "size"), value=("value", "sum")).reset_index()

        return startup, {"q1": q1, "q2": q2}, lambda df: df.to_dict("records"), lambda: None
    if engine == "polars":
        t0 = time.perf_counter()
        import polars as pl

        startup["import"] = time.perf_counter() - t0
        startup["connect"] = 0.0

        def q1() -> Any:
            return pl.scan_parquet(glob).group_by("event_type").agg(
                pl.len().alias("events"), pl.col("user_id").n_unique().alias("users"),
                pl.col("value").sum(), pl.col("cost").sum()).collect()

        def q2() -> Any:
            return pl.scan_parquet(glob).group_by(["brand", "event_type"]).agg(
                pl.len().alias("events"), pl.col("value").sum()).collect()

        return startup, {"q1": q1, "q2": q2}, lambda df: df.to_dicts(), lambda: None
    raise SystemExit(f"unknown engine {engine!r}")


def _normalise(records: list[dict], keys: tuple[str, ...], exact: tuple[str, ...],
               approx: tuple[str, ...]) -> list[dict]:
    out = []
    for r in records:
        row: dict[str, Any] = {k: str(r[k]) for k in keys}
        row.update({c: int(r[c]) for c in exact})
        row.update({c: float(r[c]) if r[c] is not None and r[c] == r[c] else 0.0 for c in approx})
        out.append(row)
    return sorted(out, key=lambda d: tuple(d[k] for k in keys))


def _work_groupby(spec: dict[str, Any]) -> dict[str, Any]:
    import resource

    engine, path = spec["engine"], spec["path"]
    startup, queries, to_records, close = _engine_queries(engine, path)
    res: dict[str, Any] = {"engine": engine, "startup": startup,
                           "startup_seconds": sum(startup.values()), "queries": {}}
    shapes = {"q1": (Q1_KEYS, Q1_EXACT, Q1_APPROX), "q2": (Q2_KEYS, Q2_EXACT, Q2_APPROX)}
    for name, fn in queries.items():
        warm = []
        for _ in range(spec["warmup"]):
            t0 = time.perf_counter()
            fn()
            warm.append(time.perf_counter() - t0)
        times, out = [], None
        for _ in range(spec["repeats"]):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        res["queries"][name] = {"warmup": warm, "repeats": times, "median": statistics.median(times),
                                "result": _normalise(to_records(out), *shapes[name])}
    res["children"] = _children_memory()  # the Spark driver JVM, while it lives
    res["self_maxrss_kb"] = _maxrss_kb(resource.RUSAGE_SELF)
    close()
    return res


# ---------------------------------------------------------------------------- assets (4A) workers

#: the default 4A rules (JD's definitions), written out independently of marketing360.assets.rules
#: for the hand-written PySpark job: (stage, level, window days, [(event types, min distinct days,
#: min value)]); the worker checks that they equal ``StageRules()``
HAND_RULES: tuple[tuple[str, int, int, tuple[tuple[tuple[str, ...], int, float | None], ...]], ...] = (
    ("aware", 1, 30, ((("impression", "click", "browse"), 1, None),)),
    ("appeal", 2, 30, ((("browse",), 2, None), (("search", "follow", "cart", "ask"), 1, None))),
    ("act", 3, 90, ((("purchase", "review", "service"), 1, None),)),
    ("advocate", 4, 180, ((("purchase",), 2, None), (("review",), 1, 4.0), (("share",), 1, None))),
)
STAGE_NAMES = ("unaware", "aware", "appeal", "act", "advocate")
FLOW_FROM_NAMES = ("new", "aware", "appeal", "act", "advocate")
FLOW_TO_NAMES = ("lost", "aware", "appeal", "act", "advocate")


def _rules_as_hand() -> tuple:
    """``StageRules()`` in the shape of :data:`HAND_RULES` (to check the hand-written job's rules)."""
    from marketing360.assets import STAGE_LEVEL, StageRules

    out = []
    for rule in StageRules().rules:
        if any(c.count != "days" for c in rule.criteria):
            return ("StageRules() counts events, not days, in", rule.stage)
        out.append((rule.stage, STAGE_LEVEL[rule.stage], rule.window,
                    tuple((tuple(c.event_types), c.min_count, c.min_value) for c in rule.criteria)))
    return tuple(out)


def _hand_levels(df: Any, day: _dt.date) -> Any:
    """Hand-written PySpark: ``user_id, brand, level`` on ``day`` (level 0 = unaware included).

    One group-by per (user_id, brand) over the events of the longest window:
    per criterion, the distinct days with a qualifying event inside the
    criterion's stage window; the level is the highest stage with a criterion met.
    """
    from pyspark.sql import functions as F

    first = day - _dt.timedelta(days=max(w for _, _, w, _ in HAND_RULES) - 1)
    ev = (df.where(F.col("brand").isNotNull())
          .withColumn("day", F.to_date("ts"))
          .where((F.col("day") >= F.lit(first)) & (F.col("day") <= F.lit(day))))
    aggs, holds = [], {}
    for stage, level, window, crits in HAND_RULES:
        since = day - _dt.timedelta(days=window - 1)
        met = None
        for i, (types, min_days, min_value) in enumerate(crits):
            cond = F.col("event_type").isin(*types) & (F.col("day") >= F.lit(since))
            if min_value is not None:
                cond = cond & (F.col("value") >= min_value)
            name = f"{stage}_{i}"
            aggs.append(F.count_distinct(F.when(cond, F.col("day"))).alias(name))
            met = (F.col(name) >= min_days) if met is None else met | (F.col(name) >= min_days)
        holds[level] = met
    level = F.when(holds[4], 4).when(holds[3], 3).when(holds[2], 2).when(holds[1], 1).otherwise(0)
    return ev.groupBy("user_id", "brand").agg(*aggs).select("user_id", "brand", level.alias("level"))


def _hand_volumes(df: Any, day: _dt.date) -> Any:
    """Hand-written PySpark: consumers per (brand, level) of the snapshot on ``day``."""
    from pyspark.sql import functions as F

    s = _hand_levels(df, day).where(F.col("level") > 0)
    return s.groupBy("brand", "level").agg(F.count(F.lit(1)).alias("consumers"))


def _hand_flows(df: Any, start: _dt.date, end: _dt.date) -> Any:
    """Hand-written PySpark: consumers per (brand, level on start, level on end); 0 = new / lost."""
    from pyspark.sql import functions as F

    a = _hand_levels(df, start).where(F.col("level") > 0).withColumnRenamed("level", "from_level")
    b = _hand_levels(df, end).where(F.col("level") > 0).withColumnRenamed("level", "to_level")
    j = a.join(b, ["user_id", "brand"], "full_outer").fillna(0, ["from_level", "to_level"])
    return j.groupBy("brand", "from_level", "to_level").agg(F.count(F.lit(1)).alias("consumers"))


def _hand_fold_levels(df: Any, days: list[_dt.date]) -> Any:
    """Hand-written PySpark, tuned: ``user_id, brand, level_0, level_1, ...`` on each of ``days``.

    The plan of ``marketing360.assets.snapshots`` written by hand: fold the
    events to one row per (user_id, brand, day) with the count of each
    criterion's events, then one group-by per (user_id, brand) counts, per
    date and criterion, the days inside the stage window with such events.
    No distinct aggregates, one scan and two group-bys whatever the number
    of dates.
    """
    from pyspark.sql import functions as F

    first = min(days) - _dt.timedelta(days=max(w for _, _, w, _ in HAND_RULES) - 1)
    ev = (df.where(F.col("brand").isNotNull())
          .withColumn("day", F.to_date("ts"))
          .where((F.col("day") >= F.lit(first)) & (F.col("day") <= F.lit(max(days)))))
    crits = []
    for stage, level, window, cs in HAND_RULES:
        for i, (types, min_days, min_value) in enumerate(cs):
            cond = F.col("event_type").isin(*types)
            if min_value is not None:
                cond = cond & (F.col("value") >= min_value)
            crits.append((f"{stage}_{i}", level, window, min_days, cond))
    daily = ev.groupBy("user_id", "brand", "day").agg(
        *[F.sum(F.when(cond, 1).otherwise(0)).alias(name) for name, _, _, _, cond in crits])
    aggs, levels = [], []
    for k, day in enumerate(days):
        holds: dict[int, Any] = {}
        for name, level, window, min_days, _ in crits:
            since = day - _dt.timedelta(days=window - 1)
            inside = (F.col("day") >= F.lit(since)) & (F.col("day") <= F.lit(day)) & (F.col(name) > 0)
            aggs.append(F.sum(F.when(inside, 1).otherwise(0)).alias(f"d{k}_{name}"))
            met = F.col(f"d{k}_{name}") >= min_days
            holds[level] = met if level not in holds else holds[level] | met
        levels.append(F.when(holds[4], 4).when(holds[3], 3).when(holds[2], 2).when(holds[1], 1)
                      .otherwise(0).alias(f"level_{k}"))
    return daily.groupBy("user_id", "brand").agg(*aggs).select("user_id", "brand", *levels)


def _hand_volumes_fold(df: Any, day: _dt.date) -> Any:
    from pyspark.sql import functions as F

    s = _hand_fold_levels(df, [day]).where(F.col("level_0") > 0)
    return s.groupBy("brand", F.col("level_0").alias("level")).agg(F.count(F.lit(1)).alias("consumers"))


def _hand_flows_fold(df: Any, start: _dt.date, end: _dt.date) -> Any:
    """Both dates' levels from one fold and one group-by: no join."""
    from pyspark.sql import functions as F

    s = _hand_fold_levels(df, [start, end]).where((F.col("level_0") > 0) | (F.col("level_1") > 0))
    return s.groupBy("brand", F.col("level_0").alias("from_level"), F.col("level_1").alias("to_level")).agg(
        F.count(F.lit(1)).alias("consumers"))


def _work_assets_job(spec: dict[str, Any]) -> dict[str, Any]:
    """The 4A job: snapshot (materialized as volumes per brand x stage) + flows, timed apart."""
    import resource

    # "duckdb" | "spark" (ours, through ibis) | "pyspark" (hand-written, the rules' direct
    # translation) | "pyspark-fold" (hand-written, tuned: the day fold) | "duckdb-snapshots" (a
    # diagnostic: the snapshot as snapshots(events, [day]), the one-date case of the series)
    impl = spec["impl"]
    startup: dict[str, float] = {}
    t0 = time.perf_counter()
    import marketing360 as m3
    from marketing360.assets import flows, snapshot, snapshots, volumes

    startup["import"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    duck = impl.startswith("duckdb")
    eng = m3.connect("duckdb") if duck else m3.connect("spark", config=spec["spark_config"])
    startup["connect"] = time.perf_counter() - t0
    day = _dt.date.fromisoformat(spec["snapshot_date"])
    start, end = (_dt.date.fromisoformat(spec[k]) for k in ("flows_start", "flows_end"))

    def run(path: str) -> dict[str, Any]:
        t0 = time.perf_counter()
        hand = impl.startswith("pyspark")
        if hand:
            df = eng.session.read.parquet(path)
            vol = (_hand_volumes_fold if impl == "pyspark-fold" else _hand_volumes)(df, day).toPandas()
        else:
            ev = eng.table(path)
            stages = snapshots(ev, [day]) if impl == "duckdb-snapshots" else snapshot(ev, day)
            vol = volumes(stages).to_frame()
        t1 = time.perf_counter()
        if hand:
            fl = (_hand_flows_fold if impl == "pyspark-fold" else _hand_flows)(df, start, end).toPandas()
        else:
            fl = flows(ev, start, end).to_frame()
        t2 = time.perf_counter()
        if hand:
            v = [{"brand": r.brand, "stage": STAGE_NAMES[int(r.level)], "consumers": int(r.consumers)}
                 for r in vol.itertuples()]
            f = [{"brand": r.brand, "from_stage": FLOW_FROM_NAMES[int(r.from_level)],
                  "to_stage": FLOW_TO_NAMES[int(r.to_level)], "consumers": int(r.consumers)}
                 for r in fl.itertuples()]
        else:
            v = [{"brand": r.brand, "stage": r.stage, "consumers": int(r.consumers)}
                 for r in vol.itertuples()]
            bad = [r for r in vol.itertuples() if STAGE_NAMES[int(r.level)] != r.stage]
            if bad:
                raise RuntimeError(f"volumes: level and stage disagree in {bad[:3]}")
            f = [{"brand": r.brand, "from_stage": r.from_stage, "to_stage": r.to_stage,
                  "consumers": int(r.consumers)} for r in fl.itertuples()]
        return {"snapshot_seconds": t1 - t0, "flows_seconds": t2 - t1, "total_seconds": t2 - t0,
                "volumes": sorted(v, key=lambda r: (r["brand"], r["stage"])),
                "flows": sorted(f, key=lambda r: (r["brand"], r["from_stage"], r["to_stage"]))}

    warm = [run(p) for p in spec.get("warmup_paths", [])]
    runs = [run(spec["path"]) for _ in range(spec["repeats"])]
    res: dict[str, Any] = {
        "impl": impl, "startup": startup, "startup_seconds": sum(startup.values()),
        "warmup": [{k: w[k] for k in ("snapshot_seconds", "flows_seconds", "total_seconds")} for w in warm],
        "repeats": [{k: r[k] for k in ("snapshot_seconds", "flows_seconds", "total_seconds")} for r in runs],
        "volumes": runs[-1]["volumes"], "flows": runs[-1]["flows"],
        "deterministic": all(r["volumes"] == runs[0]["volumes"] and r["flows"] == runs[0]["flows"]
                             for r in runs),
    }
    if impl.startswith("pyspark"):
        res["hand_rules_match_defaults"] = _rules_as_hand() == tuple(
            (s, lv, w, tuple((tuple(t), n, v) for t, n, v in c)) for s, lv, w, c in HAND_RULES)
    if not duck:
        res["spark_conf"] = {k: eng.session.conf.get(k, None) for k in (
            "spark.master", "spark.driver.memory", "spark.sql.shuffle.partitions",
            "spark.sql.session.timeZone", "spark.sql.adaptive.enabled")}
    res["children"] = _children_memory()  # the Spark driver JVM, while it lives
    res["self_maxrss_kb"] = _maxrss_kb(resource.RUSAGE_SELF)
    eng.close()
    return res


def _work_assets_precompute(spec: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's table: the weekly snapshot series joined with member_level, in a DuckDB file."""
    import resource

    import marketing360 as m3
    from marketing360.assets import snapshots

    db = Path(spec["db"])
    for f in (db, db.with_name(db.name + ".wal")):
        f.unlink(missing_ok=True)
    eng = m3.connect("duckdb", path=db)
    dates = [_dt.date.fromisoformat(d) for d in spec["dates"]]
    t0 = time.perf_counter()
    ev = eng.table(spec["path"])
    users = eng.table(spec["users_path"]).select("user_id", "member_level")
    s = snapshots(ev, dates)
    j = s.join(users, "user_id")
    j = j.select("date", "brand", "member_level", "user_id", "level", "stage")
    # laid out by the dashboard's filters: DuckDB skips row groups by their min/max
    eng.backend.create_table("dash_stages", j.order_by(["date", "brand", "member_level"]), overwrite=True)
    eng.backend.create_table("dash_users", users, overwrite=True)
    eng.connection.execute("CHECKPOINT")
    seconds = time.perf_counter() - t0
    con = eng.connection
    rows = con.execute("SELECT count(*) FROM dash_stages").fetchone()[0]
    per_date = con.execute("SELECT date, count(*) FROM dash_stages GROUP BY 1 ORDER BY 1").fetchall()
    n_users = con.execute("SELECT count(*) FROM dash_users").fetchone()[0]
    brands = [r[0] for r in con.execute("SELECT DISTINCT brand FROM dash_stages ORDER BY 1").fetchall()]
    levels = [r[0] for r in con.execute("SELECT DISTINCT member_level FROM dash_users ORDER BY 1").fetchall()]
    eng.close()
    return {"seconds": seconds, "rows": rows, "rows_per_date": {str(d): n for d, n in per_date},
            "users": n_users, "brands": brands, "member_levels": levels,
            "db_bytes": db.stat().st_size, "self_maxrss_kb": _maxrss_kb(resource.RUSAGE_SELF)}


DASH_SQL = """
SELECT s.stage, s.level, count(*) AS consumers, p.population,
       count(*)::DOUBLE / p.population AS penetration
FROM dash_stages AS s,
     (SELECT count(*) AS population FROM dash_users WHERE member_level = $member_level) AS p
WHERE s.brand = $brand AND s.date = $date AND s.member_level = $member_level
GROUP BY s.stage, s.level, p.population
ORDER BY s.level
"""


def _work_assets_dashboard(spec: dict[str, Any]) -> dict[str, Any]:
    """Random dashboard queries (brand x date x member_level) on the precomputed table."""
    import random
    import resource

    t0 = time.perf_counter()
    import marketing360 as m3
    from marketing360.assets import penetration

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    eng = m3.connect("duckdb", path=spec["db"])
    t = eng.backend.table("dash_stages")
    u = eng.backend.table("dash_users")
    t_open = time.perf_counter() - t0
    con = eng.connection
    rng = random.Random(spec["seed"])
    dates = [_dt.date.fromisoformat(d) for d in spec["dates"]]
    queries = [(rng.choice(spec["brands"]), rng.choice(dates), rng.choice(spec["member_levels"]))
               for _ in range(spec["warmup"] + spec["queries"])]

    def via_package(brand: str, date: _dt.date, member: str) -> list[tuple]:
        s = t.filter((t.brand == brand) & (t.date == date) & (t.member_level == member))
        df = penetration(s, u.filter(u.member_level == member)).to_frame()
        return [(r.stage, int(r.level), int(r.consumers), int(r.population), float(r.penetration))
                for r in df.itertuples()]

    def via_sql(brand: str, date: _dt.date, member: str) -> list[tuple]:
        rows = con.execute(DASH_SQL, {"brand": brand, "date": date, "member_level": member}).fetchall()
        return [(st, int(lv), int(c), int(p), float(x)) for st, lv, c, p, x in rows]

    lat: dict[str, list[float]] = {"package": [], "sql": []}
    first: dict[str, float] = {}
    mismatches, empty = [], 0
    for i, q in enumerate(queries):
        out = {}
        for name, fn in (("package", via_package), ("sql", via_sql)) if i % 2 == 0 else \
                (("sql", via_sql), ("package", via_package)):  # alternate which goes first
            t0 = time.perf_counter()
            out[name] = fn(*q)
            dt = time.perf_counter() - t0
            if i == 0:
                first[name] = dt
            if i >= spec["warmup"]:
                lat[name].append(dt)
        a = sorted(out["package"], key=lambda r: r[1])
        b = sorted(out["sql"], key=lambda r: r[1])
        if [r[:4] for r in a] != [r[:4] for r in b] or any(
                abs(x[4] - y[4]) > 1e-12 for x, y in zip(a, b)):
            mismatches.append({"query": [q[0], str(q[1]), q[2]], "package": a, "sql": b})
        empty += not a
    eng.close()
    return {"import_seconds": t_import, "open_seconds": t_open, "first_query_seconds": first,
            "latency_seconds": lat, "queries": [[b, str(d), m] for b, d, m in queries[spec["warmup"]:]],
            "mismatches": mismatches[:20], "n_mismatches": len(mismatches), "empty_results": empty,
            "self_maxrss_kb": _maxrss_kb(resource.RUSAGE_SELF)}


def _worker_main(spec_path: str, out_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    fn = {"simulate": _work_simulate, "groupby": _work_groupby, "assets_job": _work_assets_job,
          "assets_precompute": _work_assets_precompute,
          "assets_dashboard": _work_assets_dashboard}[spec["kind"]]
    res = fn(spec)
    tmp = Path(out_path + ".tmp")
    tmp.write_text(json.dumps(res))
    os.replace(tmp, out_path)
    return 0


# ============================================================================ parent: run a case


class CaseFailed(RuntimeError):
    pass


def run_case(name: str, spec: dict[str, Any], *, timeout: float, interval: float = 0.2,
             quiet: float = 0.0) -> dict[str, Any]:
    """Run one worker subprocess; add its wall time, memory and the machine's other load.

    ``quiet``: first wait up to that many seconds for the other processes of
    the machine to calm down (it is shared).
    """
    tmp = DATA / "tmp"
    logs = DATA / "logs"
    work = DATA / "work"
    for d in (tmp, logs, work):
        d.mkdir(parents=True, exist_ok=True)
    # the harness's pid in the names: two runs at once (a shared machine) must not read each other's files
    run_id = f"{name}.{os.getpid()}"
    spec_path, out_path, log_path = tmp / f"{run_id}.spec.json", tmp / f"{run_id}.out.json", logs / f"{name}.log"
    spec_path.write_text(json.dumps(spec))
    out_path.unlink(missing_ok=True)
    calm = wait_quiet(quiet) if quiet > 0 else {}
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable,
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
               **spec.get("env", {}))
    with open(log_path, "w") as log:
        cpu0, me0 = _cpu_snapshot(), sum(os.times()[:2])
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "_worker",
                                 str(spec_path), str(out_path)], stdout=log, stderr=subprocess.STDOUT,
                                cwd=work, env=env, start_new_session=True)
        peak_pss = peak_rss = 0
        status, ru = 0, None
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                os.killpg(proc.pid, signal.SIGKILL)  # the worker's own process group
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                raise CaseFailed(f"{name}: timed out after {timeout:.0f} s (log: {log_path})")
            table = _proc_table()
            tree = [proc.pid] + _descendants(proc.pid, table)
            peak_pss = max(peak_pss, sum(_pss_kb(p) for p in tree))
            peak_rss = max(peak_rss, sum(_status_kb(p, "VmRSS").get("VmRSS", 0) for p in tree))
            time.sleep(interval)
        wall = time.perf_counter() - t0
        cpu1, me1 = _cpu_snapshot(), sum(os.times()[:2])
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 or not out_path.exists():
        tail = log_path.read_text()[-3000:]
        raise CaseFailed(f"{name}: worker exited with {proc.returncode}; log {log_path}:\n{tail}")
    res = json.loads(out_path.read_text())
    spec_path.unlink(missing_ok=True)
    out_path.unlink(missing_ok=True)
    # a JVM outlives its Python parent a moment: make sure the ones we started are gone
    for child in res.get("children", []):
        if child["comm"] == "java":
            _reap(child["pid"])
    ours = ru.ru_utime + ru.ru_stime + (me1 - me0) + sum(
        c.get("cpu_seconds", 0.0) for c in res.get("children", []))  # worker, its JVM, this sampler
    span = cpu1[0] - cpu0[0]
    res.update(process_wall_seconds=wall, maxrss_kb=int(ru.ru_maxrss),
               tree_peak_pss_kb_sampled=peak_pss, tree_peak_rss_kb_sampled=peak_rss,
               cpu_seconds=ru.ru_utime + ru.ru_stime,
               background_cores=max(0.0, (cpu1[1] - cpu0[1] - ours) / span),
               steal_cores=(cpu1[2] - cpu0[2]) / span, **calm)
    return res


def _reap(pid: int, wait: float = 15.0) -> None:
    t0 = time.time()
    while Path("/proc", str(pid)).exists() and time.time() - t0 < wait:
        time.sleep(0.2)
    if Path("/proc", str(pid)).exists():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# ============================================================================ machine info, output


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


#: the package sources each benchmark measures (a change of them during a run spoils it)
MEASURED_SOURCES = {"simulator": ("datasets",), "groupby": ("engine", "overview.py"),
                    "assets": ("assets", "engine", "results.py")}


def source_hash(*subs: str) -> str:
    """sha256 (first 16 hex digits) of the package's Python sources under ``marketing360/<sub>``."""
    import hashlib

    h = hashlib.sha256()
    root = REPO / "marketing360"
    files = sorted({f for sub in (subs or ("",)) for f in
                    ([root / sub] if sub.endswith(".py") else (root / sub).rglob("*.py"))})
    for f in files:
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=30).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "date_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)),
        "loadavg_at_start": list(os.getloadavg()),
    }
    try:
        cpu = [ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
               if ln.startswith("model name")]
        info["cpu_model"] = cpu[0] if cpu else None
        mem = [ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")]
        info["mem_total_gib"] = round(int(mem[0].split()[1]) / 2**20, 1)
    except OSError:
        pass
    cgroup = Path("/sys/fs/cgroup/cpu.max")
    if cgroup.exists():
        info["cgroup_cpu_max"] = cgroup.read_text().strip()
    try:
        jv = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30)
        info["java"] = (jv.stderr or jv.stdout).splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        info["java"] = None
    try:
        info["git_commit"] = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"],
                                            capture_output=True, text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "marketing360"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
        info["package_modified_since_commit"] = bool(dirty)
    except (OSError, subprocess.SubprocessError):
        info["git_commit"] = None
    info["package_source_sha256"] = source_hash()
    info["measured_source_sha256"] = {k: source_hash(*v) for k, v in MEASURED_SOURCES.items()}
    info["versions"] = {d: _version(d) for d in (
        "marketing360", "ibis-framework", "duckdb", "pyspark", "pandas", "polars", "pyarrow", "numpy",
        "scipy", "sqlglot")}
    return info


def _mib(kb: float | None) -> str:
    return "n/a" if not kb else f"{kb / 1024:,.0f} MiB"  # 0: the process ended before a sample


def _fmt_s(s: float) -> str:
    return f"{s:.3f}" if s < 10 else f"{s:.1f}"


def write_json(name: str, quick: bool, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}{'-quick' if quick else ''}.json"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    os.replace(tmp, path)
    return path


# ============================================================================ benchmark 1: simulator


def simulator_cases(quick: bool) -> list[dict[str, Any]]:
    if quick:  # two (unequal) blocks, so that n_jobs=2 really runs two processes
        big, small, days = 20_000, 4_096, 14
    else:
        big, small, days = 4 * BLOCK_USERS, BLOCK_USERS, 90
    nb = lambda u: math.ceil(u / BLOCK_USERS)  # noqa: E731
    one_blas = {"OPENBLAS_NUM_THREADS": "1"}  # numpy's OpenBLAS otherwise threads the per-day matmul
    base = f"none-{nb(big)}blk-j1"
    return [
        {"case": base, "users": big, "days": days, "truth": "none", "n_jobs": 1, "baseline": None, "env": {}},
        {"case": f"none-{nb(big)}blk-j2", "users": big, "days": days, "truth": "none", "n_jobs": 2,
         "baseline": base, "env": {}},
        {"case": f"none-{nb(big)}blk-j1-blas1", "users": big, "days": days, "truth": "none", "n_jobs": 1,
         "baseline": base, "env": one_blas},
        {"case": f"none-{nb(big)}blk-j2-blas1", "users": big, "days": days, "truth": "none", "n_jobs": 2,
         "baseline": base, "env": one_blas},
        {"case": f"none-{nb(small)}blk-j1", "users": small, "days": days, "truth": "none", "n_jobs": 1,
         "baseline": base, "env": {}},
        {"case": f"incremental-{nb(small)}blk-j1", "users": small, "days": days, "truth": "incremental",
         "n_jobs": 1, "baseline": f"none-{nb(small)}blk-j1", "env": {}},
    ]


def _digest_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, float) or isinstance(y, float):
            if abs(x - y) > 1e-9 * max(abs(x), abs(y), 1.0):
                return False
        elif x != y:
            return False
    return True


def bench_simulator(quick: bool, repeats: int, seed: int, quiet: float) -> tuple[dict[str, Any], bool]:
    machine = machine_info()
    cases = simulator_cases(quick)
    runs: dict[str, list[dict[str, Any]]] = {c["case"]: [] for c in cases}
    timeout = 600 if quick else 3600
    for r in range(repeats):  # interleaved: r-th repeat of every case, then the next
        for c in cases:
            out = DATA / "sim" / c["case"]
            spec = {"kind": "simulate", "users": c["users"], "days": c["days"], "truth": c["truth"],
                    "n_jobs": c["n_jobs"], "seed": seed, "out": str(out), "env": c["env"]}
            print(f"  simulator {c['case']} repeat {r + 1}/{repeats} ...", flush=True)
            res = run_case(f"sim-{c['case']}-r{r}", spec, timeout=timeout, quiet=quiet)
            print(f"    {res['events']:,} events in {res['seconds']:.2f} s (others used "
                  f"{res['background_cores']:.2f} cores)", flush=True)
            runs[c["case"]].append(res)
            shutil.rmtree(out, ignore_errors=True)
    rows, problems = [], []
    for c in cases:
        rs = runs[c["case"]]
        secs = [x["seconds"] for x in rs]
        events = rs[0]["events"]
        if any(x["events"] != events or not _digest_equal(x["digest"], rs[0]["digest"]) for x in rs):
            problems.append(f"{c['case']}: repeats wrote different events (non-deterministic)")
        med = statistics.median(secs)
        rows.append({**c, "events": events, "bytes": rs[0]["bytes"], "repeats_seconds": secs,
                     "median_seconds": med, "events_per_second": events / med,
                     "maxrss_kb": max(x["maxrss_kb"] for x in rs),
                     "tree_peak_pss_kb_sampled": max(x["tree_peak_pss_kb_sampled"] for x in rs),
                     "tree_peak_rss_kb_sampled": max(x["tree_peak_rss_kb_sampled"] for x in rs),
                     "min_seconds": min(secs),
                     "cores_used_median": statistics.median(x["cpu_seconds"] / x["process_wall_seconds"]
                                                            for x in rs),
                     "background_cores_median": statistics.median(x["background_cores"] for x in rs),
                     "digest": rs[0]["digest"], "totals": rs[0]["totals"], "runs": rs})
    by = {r["case"]: r for r in rows}
    for r in rows:
        b = by.get(r["baseline"]) if r["baseline"] else r
        r["speed_vs_baseline"] = r["events_per_second"] / b["events_per_second"]
        r["time_vs_baseline"] = r["median_seconds"] / b["median_seconds"]
    # the same seed must give the same observed events whatever n_jobs, threads and truth are
    j1 = by[cases[0]["case"]]
    n1, inc = by[cases[-2]["case"]], by[cases[-1]["case"]]
    for r in rows[1:-2]:
        if not (j1["events"] == r["events"] and _digest_equal(j1["digest"], r["digest"])):
            problems.append(f"{j1['case']} and {r['case']} wrote different events: "
                            f"{j1['digest']} vs {r['digest']}")
    if not (n1["events"] == inc["events"] and _digest_equal(n1["digest"], inc["digest"])):
        problems.append(f"truth='none' and truth='incremental' wrote different observed events: "
                        f"{n1['digest']} vs {inc['digest']}")
    for k in ("conversions", "revenue"):
        if abs(n1["totals"][k] - inc["totals"][k]) > 1e-6 * max(1.0, abs(n1["totals"][k])):
            problems.append(f"observed {k} differ between truth='none' and 'incremental': "
                            f"{n1['totals'][k]} vs {inc['totals'][k]}")
    table = simulator_table(rows)
    payload = {"benchmark": "simulator", "quick": quick, "machine": machine,
               "parameters": {"repeats": repeats, "seed": seed, "cases": cases, "wait_quiet": quiet,
                              "timed": "simulate(..., out=DIR) including writing events parquet; "
                                       "not the interpreter start-up nor the imports"},
               "checks": {"ok": not problems, "problems": problems},
               "results": rows, "table_markdown": table}
    return payload, not problems


def simulator_table(rows: list[dict[str, Any]]) -> str:
    head = ("| case | truth | users × days | n_jobs | events | median s (repeats) | events/s | "
            "events/s vs baseline | cores used | peak RSS (largest process) | "
            "peak PSS (process tree, sampled) | others' CPU (cores) |\n"
            "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    lines = []
    for r in rows:
        base = "**baseline**" if r["baseline"] is None else f"{r['speed_vs_baseline']:.2f}× ({r['baseline']})"
        lines.append(
            f"| {r['case']} | {r['truth']} | {r['users']:,} × {r['days']} | {r['n_jobs']} | "
            f"{r['events']:,} | {_fmt_s(r['median_seconds'])} ({len(r['repeats_seconds'])}) | "
            f"{r['events_per_second']:,.0f} | {base} | {r['cores_used_median']:.2f} | {_mib(r['maxrss_kb'])} | "
            f"{_mib(r['tree_peak_pss_kb_sampled'])} | {r['background_cores_median']:.2f} |")
    return head + "\n".join(lines) + "\n"


# ============================================================================ benchmark 2: groupby


def groupby_world(quick: bool, seed: int, min_events: int, fresh: bool = False) -> dict[str, Any]:
    """The parquet world of the group-by benchmark, simulated once and cached under benchmarks/data."""
    users, days = (4_096, 14) if quick else (4 * BLOCK_USERS, 90)
    return cached_world(users, days, seed, 0 if quick else min_events, fresh)


def cached_world(users: int, days: int, seed: int, target: int = 0, fresh: bool = False,
                 tables: bool = False) -> dict[str, Any]:
    """A simulated parquet world (``truth="none"``), made once and cached under benchmarks/data.

    The cache is kept when the simulator changes (the benchmarks that use it
    measure the engines, not the simulator); the code that made it is
    recorded, and ``fresh`` (``--fresh-data``) simulates it again. With
    fewer than ``target`` events, the consumers are scaled up (to whole
    1,024s) and the world simulated again. ``tables``: the world's other
    tables (``users.parquet``, ``brands.parquet``, ...) are needed too.
    """
    code = source_hash("datasets")
    while True:
        root = DATA / f"world-{users}x{days}-s{seed}"
        marker = root / "benchmark.json"
        if marker.exists() and (fresh or (tables and not (root / "users.parquet").exists())):
            marker.unlink()
        info = json.loads(marker.read_text()) if marker.exists() else {}
        if info:
            print(f"  reusing {root} ({info['events']:,} events)", flush=True)
        else:
            print(f"  simulating {users:,} users × {days} days (truth='none', n_jobs=2) -> {root} ...",
                  flush=True)
            spec = {"kind": "simulate", "users": users, "days": days, "truth": "none", "n_jobs": 2,
                    "seed": seed, "out": str(root), "write_world": tables}
            res = run_case(f"world-{users}x{days}", spec, timeout=3600)
            info = {"users": users, "days": days, "seed": seed, "truth": "none",
                    "events": res["events"], "files": res["files"], "bytes": res["bytes"],
                    "path": str(root / "events"), "simulate_seconds": res["seconds"],
                    "simulator_source_sha256": code, "git_commit": _git_commit(),
                    "made_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
            if tables:
                info["users_path"] = str(root / "users.parquet")
            marker.write_text(json.dumps(info, indent=1))
        if tables and "users_path" not in info:  # an events-only world that has the tables by now
            info["users_path"] = str(root / "users.parquet")
        if info["events"] >= target:
            return info
        users = int(math.ceil(users * target / info["events"] * 1.02 / 1024) * 1024)
        print(f"  {info['events']:,} < {target:,} events: trying {users:,} users", flush=True)


def _compare(name: str, ref: list[dict], other: list[dict], keys: tuple[str, ...],
             exact: tuple[str, ...], approx: tuple[str, ...], rtol: float = 1e-6) -> list[str]:
    bad = []
    rk = {tuple(r[k] for k in keys): r for r in ref}
    ok = {tuple(r[k] for k in keys): r for r in other}
    if set(rk) != set(ok):
        bad.append(f"{name}: groups differ: only in reference {sorted(set(rk) - set(ok))}, "
                   f"only here {sorted(set(ok) - set(rk))}")
    for key in sorted(set(rk) & set(ok)):
        a, b = rk[key], ok[key]
        for c in exact:
            if a[c] != b[c]:
                bad.append(f"{name} {key} {c}: {b[c]} != reference {a[c]}")
        for c in approx:
            if abs(a[c] - b[c]) > rtol * max(abs(a[c]), abs(b[c])) + 1e-9:
                bad.append(f"{name} {key} {c}: {b[c]!r} != reference {a[c]!r} "
                           f"(relative {abs(a[c] - b[c]) / max(abs(a[c]), 1e-300):.3g})")
    return bad


def bench_groupby(quick: bool, repeats: int, seed: int, engines: list[str],
                  min_events: int, quiet: float, fresh: bool = False) -> tuple[dict[str, Any], bool]:
    machine = machine_info()
    world = groupby_world(quick, seed, min_events, fresh)
    path = world["path"]
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for eng in engines:
        print(f"  groupby on {eng} ...", flush=True)
        spec = {"kind": "groupby", "engine": eng, "path": path, "warmup": 1, "repeats": repeats}
        try:
            res = run_case(f"groupby-{eng}", spec, timeout=900 if quick else 3600, quiet=quiet)
        except CaseFailed as exc:
            failures.append(str(exc))
            print(f"    FAILED: {exc}", flush=True)
            continue
        jvm = [c for c in res.get("children", []) if c["comm"] == "java"]
        res["jvm_hwm_kb"] = max((c["hwm_kb"] for c in jvm), default=None)
        print(f"    start-up {res['startup_seconds']:.2f} s; " + ", ".join(
            f"{q} median {v['median']:.3f} s" for q, v in res["queries"].items())
            + f" (others used {res['background_cores']:.2f} cores)", flush=True)
        rows.append(res)
    # parity: every engine against the first (DuckDB when it ran)
    problems: list[str] = list(failures)
    if rows:
        ref = rows[0]
        for r in rows:
            q2_events = sum(x["events"] for x in r["queries"]["q2"]["result"])
            q1_events = sum(x["events"] for x in r["queries"]["q1"]["result"])
            if q1_events != world["events"] or q2_events != world["events"]:
                problems.append(f"{r['engine']}: counted {q1_events:,} (Q1) / {q2_events:,} (Q2) events; "
                                f"the files hold {world['events']:,}")
            if r is ref:
                continue
            problems += _compare(f"{r['engine']} Q1", ref["queries"]["q1"]["result"],
                                 r["queries"]["q1"]["result"], Q1_KEYS, Q1_EXACT, Q1_APPROX)
            problems += _compare(f"{r['engine']} Q2", ref["queries"]["q2"]["result"],
                                 r["queries"]["q2"]["result"], Q2_KEYS, Q2_EXACT, Q2_APPROX)
        base = next((r for r in rows if r["engine"] == "duckdb"), rows[0])
        for r in rows:
            for q in ("q1", "q2"):
                r["queries"][q]["vs_baseline"] = r["queries"][q]["median"] / base["queries"][q]["median"]
            r["total_median"] = r["queries"]["q1"]["median"] + r["queries"]["q2"]["median"]
            r["total_vs_baseline"] = r["total_median"] / (base["queries"]["q1"]["median"]
                                                          + base["queries"]["q2"]["median"])
        baseline = base["engine"]
    else:
        baseline = None
    table = groupby_table(rows, baseline)
    payload = {"benchmark": "groupby", "quick": quick, "machine": machine,
               "parameters": {"repeats": repeats, "warmup": 1, "seed": seed, "engines": engines,
                              "wait_quiet": quiet,
                              "baseline": baseline, "min_events": min_events, "world": world,
                              "queries": {"q1": "marketing360.overview.event_counts: per event_type "
                                                "count(*), count(distinct user_id), sum(value), sum(cost)",
                                          "q2": "per (brand, event_type): count(*), sum(value)"},
                              "timed": "per query: open the parquet folder + run + collect the result "
                                       "(pandas for the ibis engines, polars for polars, Python rows "
                                       "for raw DuckDB); start-up (import + connect) timed apart",
                              "parity": "every engine vs the first: groups and counts exactly, sums to "
                                        "1e-6 relative; both queries must count every event"},
               "parity": {"ok": not problems, "problems": problems},
               "results": rows, "table_markdown": table}
    return payload, not problems


def groupby_table(rows: list[dict[str, Any]], baseline: str | None) -> str:
    head = (f"| engine | via | start-up s | first Q1 s (warm-up) | Q1 event_counts median s | Q1 vs {baseline} | "
            f"Q2 brand×type median s | Q2 vs {baseline} | peak RSS Python | peak RSS JVM | "
            "peak PSS tree (sampled) | others' CPU (cores) |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    lines = []
    for r in rows:
        q1, q2 = r["queries"]["q1"], r["queries"]["q2"]
        mark = lambda q: "**1.00×**" if r["engine"] == baseline else f"{q['vs_baseline']:.2f}×"  # noqa: E731
        lines.append(
            f"| {r['engine']} | {ENGINE_VIA.get(r['engine'], '')} | {r['startup_seconds']:.2f} | "
            f"{_fmt_s(q1['warmup'][0]) if q1['warmup'] else 'n/a'} | {_fmt_s(q1['median'])} | {mark(q1)} | {_fmt_s(q2['median'])} | {mark(q2)} | "
            f"{_mib(r['maxrss_kb'])} | {_mib(r.get('jvm_hwm_kb')) if r['engine'] == 'spark' else '–'} | "
            f"{_mib(r['tree_peak_pss_kb_sampled'])} | {r['background_cores']:.2f} |")
    return head + "\n".join(lines) + "\n"


# ============================================================================ benchmark 3: assets


ASSETS_WORLD = {True: (1_024, 90), False: (32 * BLOCK_USERS, 90)}  # quick / full: users, days
ASSETS_GOALS = {"duckdb_seconds": 60.0, "ours_vs_hand": 1.2, "dashboard_p95_ms": 200.0}
SPARK_CONFIG = {"spark.driver.memory": "8g"}  # on top of marketing360's DEFAULT_CONFIG


def assets_dates(world: dict[str, Any]) -> dict[str, Any]:
    """The snapshot day (the last day), the flows' days (day 60 -> the last day), the weekly series."""
    meta = json.loads((Path(world["path"]).parent / "world.json").read_text())
    start = _dt.date.fromisoformat(meta["config"]["start"])
    days = int(meta["config"]["n_days"])
    last = start + _dt.timedelta(days=days - 1)
    weekly = sorted(last - _dt.timedelta(days=7 * k) for k in range(days // 7 + 1)
                    if last - _dt.timedelta(days=7 * k) >= start)
    return {"start": str(start), "snapshot_date": str(last),
            "flows_start": str(start + _dt.timedelta(days=59 if days > 60 else days // 2)),  # day 60
            "flows_end": str(last),
            "weekly": [str(d) for d in weekly]}


def events_subset(world: dict[str, Any], min_events: int) -> dict[str, Any]:
    """The first part files of the world holding >= ``min_events`` events (whole blocks of
    consumers, with all their events), hard-linked into a folder of their own."""
    import pyarrow.parquet as pq

    files = sorted(Path(world["path"]).glob("*.parquet"))
    chosen, n = [], 0
    for f in files:
        if n >= min_events:
            break
        chosen.append(f)
        n += pq.ParquetFile(f).metadata.num_rows
    folder = Path(world["path"]).parent / f"events-first{len(chosen)}"
    if not folder.exists() or sorted(p.name for p in folder.glob("*.parquet")) != [f.name for f in chosen]:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for f in chosen:
            os.link(f, folder / f.name)
    return {"path": str(folder), "events": n, "files": len(chosen),
            "users_in_subset": min(len(chosen) * BLOCK_USERS, world["users"])}


def _assets_summary(name: str, impl: str, scope: str, events: int, runs: list[dict[str, Any]]
                    ) -> dict[str, Any]:
    reps = [r for res in runs for r in res["repeats"]]
    med = {k: statistics.median(r[k] for r in reps) for k in ("snapshot_seconds", "flows_seconds",
                                                              "total_seconds")}
    jvm = [max((c["hwm_kb"] for c in res.get("children", []) if c["comm"] == "java"), default=0)
           for res in runs]
    return {"case": name, "impl": impl, "scope": scope, "events": events, "processes": len(runs),
            "repeats": reps, "median": med,
            "warmup": [w for res in runs for w in res["warmup"]],
            "startup_seconds": statistics.median(res["startup_seconds"] for res in runs),
            "maxrss_kb": max(res["maxrss_kb"] for res in runs),
            "jvm_hwm_kb": max(jvm) if not impl.startswith("duckdb") else None,
            "python_plus_jvm_kb": max(res["maxrss_kb"] + j for res, j in zip(runs, jvm)),
            "tree_peak_pss_kb_sampled": max(res["tree_peak_pss_kb_sampled"] for res in runs),
            "background_cores": max(res["background_cores"] for res in runs),
            "volumes": runs[-1]["volumes"], "flows": runs[-1]["flows"],
            "deterministic": all(res["deterministic"] and res["volumes"] == runs[0]["volumes"]
                                 and res["flows"] == runs[0]["flows"] for res in runs),
            "hand_rules_match_defaults": runs[-1].get("hand_rules_match_defaults"),
            "spark_conf": runs[-1].get("spark_conf"), "runs": runs}


def _assets_parity(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    tag = f"{b['case']} vs {a['case']}"
    return (_compare(f"{tag} volumes", a["volumes"], b["volumes"], ("brand", "stage"), ("consumers",), ())
            + _compare(f"{tag} flows", a["flows"], b["flows"], ("brand", "from_stage", "to_stage"),
                       ("consumers",), ()))


def _flows_match_snapshot(r: dict[str, Any]) -> list[str]:
    """The flows end on the snapshot day: per brand and stage, the consumers flowing into a stage
    must be the snapshot's volume (``snapshots`` against ``snapshot``)."""
    into: dict[tuple[str, str], int] = {}
    for f in r["flows"]:
        if f["to_stage"] != "lost":
            into[(f["brand"], f["to_stage"])] = into.get((f["brand"], f["to_stage"]), 0) + f["consumers"]
    vol = {(v["brand"], v["stage"]): v["consumers"] for v in r["volumes"]}
    return [f"{r['case']}: {k} has {vol.get(k, 0):,} consumers in the snapshot but {into.get(k, 0):,} "
            f"in the flows into it" for k in sorted(set(into) | set(vol)) if into.get(k, 0) != vol.get(k, 0)]


def _pct(xs: list[float], q: float) -> float:
    """Percentile with linear interpolation (numpy's default)."""
    s = sorted(xs)
    k = (len(s) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def bench_assets(quick: bool, repeats: int, spark_repeats: int, seed: int, min_events: int,
                 quiet: float, fresh: bool = False, spark_scope: str = "auto", spark_limit: float = 600.0,
                 subset_events: int = 25_000_000, queries: int = 200) -> tuple[dict[str, Any], bool]:
    machine = machine_info()
    users, days = ASSETS_WORLD[quick]
    world = cached_world(users, days, seed, 0 if quick else min_events, fresh, tables=True)
    warm_world = world if quick else cached_world(*ASSETS_WORLD[True], seed, tables=True)
    dates = assets_dates(world)
    timeout = 600 if quick else 3600
    problems: list[str] = []
    notes: list[str] = []

    def job(name: str, impl: str, path: str, reps: int, limit: float) -> dict[str, Any]:
        spec = {"kind": "assets_job", "impl": impl, "path": path, "repeats": reps,
                "warmup_paths": [] if quick else [warm_world["path"]], "spark_config": SPARK_CONFIG,
                **{k: dates[k] for k in ("snapshot_date", "flows_start", "flows_end")}}
        print(f"  {name} ...", flush=True)
        res = run_case(name, spec, timeout=limit, quiet=quiet)
        jvm = max((c["hwm_kb"] for c in res.get("children", []) if c["comm"] == "java"), default=0)
        print("    " + "; ".join(f"snapshot {r['snapshot_seconds']:.2f} s + flows {r['flows_seconds']:.2f} s "
                                  f"= {r['total_seconds']:.2f} s" for r in res["repeats"])
              + f" (peak RSS {_mib(res['maxrss_kb'])}" + (f" + JVM {_mib(jvm)}" if jvm else "")
              + f"; others used {res['background_cores']:.2f} cores)", flush=True)
        return res

    rows: list[dict[str, Any]] = []
    full_scope = f"full world ({world['events']:,} events)"
    # goal 1: DuckDB on the full world
    duck = job("assets-duckdb", "duckdb", world["path"], repeats, timeout)
    rows.append(_assets_summary("duckdb", "duckdb", full_scope, world["events"], [duck]))
    # a diagnostic, not a goal: the same with the snapshot computed as snapshots(events, [day])
    diag = job("assets-duckdb-snapshots", "duckdb-snapshots", world["path"], repeats, timeout)
    rows.append(_assets_summary("duckdb, snapshot as snapshots([day]) (diagnostic)", "duckdb-snapshots",
                                full_scope, world["events"], [diag]))
    # goal 1: our Spark path on the full world, unless it is too slow (or told otherwise)
    spark_full: dict[str, Any] | None = None
    spark_failed = None
    if spark_scope in ("auto", "full"):
        limit = timeout if (quick or spark_scope == "full") else spark_limit + 240  # start-up + warm-up
        try:
            spark_full = job("assets-spark", "spark", world["path"], 1, limit)
        except CaseFailed as exc:
            spark_failed = str(exc).splitlines()[0]
            print(f"    {spark_failed}", flush=True)
    why = None
    if spark_scope == "subset":
        why = "--spark-scope subset was given"
    elif spark_full is None:
        why = f"on the full world our Spark job failed: {spark_failed}"
    elif spark_scope == "auto" and not quick and spark_full["repeats"][0]["total_seconds"] > spark_limit:
        why = (f"on the full world our Spark job took {spark_full['repeats'][0]['total_seconds']:.0f} s, "
               f"over the limit of {spark_limit:.0f} s (--spark-limit)")
    if why:
        sub = events_subset(world, subset_events)
        scope = (f"subset: the first {sub['files']} part files ({sub['events']:,} events, "
                 f"{sub['users_in_subset']:,} consumers)")
        notes.append(f"Spark measured on a SUBSET, not the full world: {scope}, because {why}. "
                     f"DuckDB was measured on the same subset for the Spark/DuckDB ratio.")
        print(f"  NOTE: {notes[-1]}", flush=True)
        if spark_full is not None:
            rows.append(_assets_summary("spark (full world, one run)", "spark", full_scope,
                                        world["events"], [spark_full]))
            spark_full = None
        duck_sub = job("assets-duckdb-subset", "duckdb", sub["path"], repeats, timeout)
        rows.append(_assets_summary("duckdb (subset)", "duckdb", scope, sub["events"], [duck_sub]))
        spark_path, spark_events, spark_scope_used = sub["path"], sub["events"], scope
        ref_name = "duckdb (subset)"
    else:
        spark_path, spark_events, spark_scope_used = world["path"], world["events"], full_scope
        ref_name = "duckdb"
    # goals 1 and 2: our Spark path and the two hand-written jobs, alternating processes
    ours_runs = [spark_full] if spark_full is not None else []
    hand_runs: list[dict[str, Any]] = []
    fold_runs: list[dict[str, Any]] = []
    for r in range(spark_repeats):
        if len(ours_runs) <= r:
            ours_runs.append(job(f"assets-spark-r{r}", "spark", spark_path, 1, timeout))
        hand_runs.append(job(f"assets-pyspark-r{r}", "pyspark", spark_path, 1, timeout))
        fold_runs.append(job(f"assets-pyspark-fold-r{r}", "pyspark-fold", spark_path, 1, timeout))
    sfx = "" if ref_name == "duckdb" else " (subset)"
    rows.append(_assets_summary("spark" + sfx, "spark", spark_scope_used, spark_events, ours_runs))
    rows.append(_assets_summary("pyspark hand-written" + sfx, "pyspark", spark_scope_used, spark_events,
                                hand_runs))
    rows.append(_assets_summary("pyspark hand-written, tuned (day fold)" + sfx, "pyspark-fold",
                                spark_scope_used, spark_events, fold_runs))
    by = {r["case"]: r for r in rows}
    ref = by[ref_name]
    ours, hand = by["spark" + sfx], by["pyspark hand-written" + sfx]
    fold = by["pyspark hand-written, tuned (day fold)" + sfx]
    # parity: exactly the same volumes and flows
    for r in rows:
        if r is not by["duckdb"] and r["scope"] == by["duckdb"]["scope"]:
            problems += _assets_parity(by["duckdb"], r)
    if ref is not by["duckdb"]:
        problems += _assets_parity(ref, ours) + _assets_parity(ref, hand) + _assets_parity(ref, fold)
    for r in rows:
        problems += _flows_match_snapshot(r)
        if not r["deterministic"]:
            problems.append(f"{r['case']}: different results across repeats")
    if hand["hand_rules_match_defaults"] is False or fold["hand_rules_match_defaults"] is False:
        problems.append("the hand-written job's rules (HAND_RULES) differ from StageRules() defaults")
    for r in rows:
        base = ref if r["scope"] == ref["scope"] else by["duckdb"]
        r["vs_duckdb"] = {k: r["median"][k] / base["median"][k] for k in r["median"]}
    ratio = {k: ours["median"][k] / hand["median"][k] for k in ours["median"]}
    ratio_tuned = {k: ours["median"][k] / fold["median"][k] for k in ours["median"]}
    # goal 3: the dashboard
    db = DATA / "work" / f"dashboard-{users}x{days}-s{seed}.{os.getpid()}.duckdb"  # deleted at the end
    print("  assets-precompute (weekly snapshots + member_level -> DuckDB file) ...", flush=True)
    pre = run_case("assets-precompute", {"kind": "assets_precompute", "path": world["path"],
                                         "users_path": world["users_path"], "dates": dates["weekly"],
                                         "db": str(db)}, timeout=timeout, quiet=quiet)
    print(f"    {pre['rows']:,} rows in {pre['seconds']:.1f} s (peak RSS {_mib(pre['maxrss_kb'])})", flush=True)
    print(f"  assets-dashboard ({queries} random queries, each via the package and via SQL) ...", flush=True)
    dash = run_case("assets-dashboard", {"kind": "assets_dashboard", "db": str(db), "dates": dates["weekly"],
                                         "brands": pre["brands"], "member_levels": pre["member_levels"],
                                         "queries": queries, "warmup": 5, "seed": seed},
                    timeout=timeout, quiet=quiet)
    for f in (db, db.with_name(db.name + ".wal")):
        f.unlink(missing_ok=True)
    lat = {}
    for path_name, xs in dash["latency_seconds"].items():
        ms = [x * 1000 for x in xs]
        lat[path_name] = {"n": len(ms), "p50_ms": _pct(ms, 0.5), "p95_ms": _pct(ms, 0.95),
                          "p99_ms": _pct(ms, 0.99), "max_ms": max(ms), "mean_ms": statistics.fmean(ms),
                          "first_query_ms": dash["first_query_seconds"][path_name] * 1000}
        print(f"    {path_name}: p50 {lat[path_name]['p50_ms']:.1f} ms, p95 {lat[path_name]['p95_ms']:.1f} ms, "
              f"p99 {lat[path_name]['p99_ms']:.1f} ms", flush=True)
    if dash["n_mismatches"]:
        problems.append(f"dashboard: the package and SQL disagree on {dash['n_mismatches']} queries, e.g. "
                        f"{dash['mismatches'][:2]}")
    goals = {
        "duckdb_under_60s": {"goal": f"< {ASSETS_GOALS['duckdb_seconds']:.0f} s",
                             "value": by["duckdb"]["median"]["total_seconds"],
                             "met": by["duckdb"]["median"]["total_seconds"] < ASSETS_GOALS["duckdb_seconds"]},
        "spark_vs_duckdb": {"goal": "reported", "value": ours["vs_duckdb"]["total_seconds"],
                            "scope": spark_scope_used},
        "ours_vs_hand_written": {"goal": f"<= {ASSETS_GOALS['ours_vs_hand']}×", "value": ratio["total_seconds"],
                                 "met": ratio["total_seconds"] <= ASSETS_GOALS["ours_vs_hand"],
                                 "scope": spark_scope_used, "per_part": ratio},
        "ours_vs_hand_tuned": {"goal": f"<= {ASSETS_GOALS['ours_vs_hand']}× (informative)",
                               "value": ratio_tuned["total_seconds"],
                               "met": ratio_tuned["total_seconds"] <= ASSETS_GOALS["ours_vs_hand"],
                               "scope": spark_scope_used, "per_part": ratio_tuned},
        "dashboard_p95": {"goal": f"< {ASSETS_GOALS['dashboard_p95_ms']:.0f} ms",
                          "value": lat["package"]["p95_ms"],
                          "met": lat["package"]["p95_ms"] < ASSETS_GOALS["dashboard_p95_ms"],
                          "sql_value": lat["sql"]["p95_ms"]},
    }
    table = assets_table(rows, ratio, pre, dash, lat, goals, dates)
    payload = {"benchmark": "assets", "quick": quick, "machine": machine,
               "parameters": {"repeats": repeats, "spark_repeats": spark_repeats, "seed": seed,
                              "wait_quiet": quiet, "world": world, "dates": dates,
                              "spark_config": SPARK_CONFIG, "spark_scope": spark_scope,
                              "spark_limit_seconds": spark_limit, "subset_events": subset_events,
                              "warmup_world": None if quick else warm_world["path"],
                              "goals": ASSETS_GOALS,
                              "timed": "job = open the events parquet folder + snapshot(events, last day) "
                                       "materialized as volumes per brand x stage (to pandas) + "
                                       "flows(events, day 60, last day).to_frame(); start-up (import, "
                                       "connect) and a warm-up run on the quick world (full mode) apart",
                              "hand_written": "pyspark.sql.functions: per (user_id, brand) count_distinct of "
                                              "days per criterion inside its stage window, highest stage; "
                                              "flows = two such snapshots, full outer join, group-by",
                              "hand_written_tuned": "pyspark.sql.functions, the day fold: group-by (user_id, "
                                                    "brand, day) with per-criterion event counts, then one "
                                                    "group-by (user_id, brand) summing the days inside each "
                                                    "window, for every date at once (flows: both dates in "
                                                    "one pass, no join)",
                              "dashboard": "DuckDB file with dash_stages = snapshots(events, weekly dates) "
                                           "joined with users.member_level (ordered by date, brand, "
                                           "member_level) and dash_users; per query a random (brand, date, "
                                           "member_level): consumers per stage and penetration = consumers / "
                                           "users of that member_level; 'package' = ibis filter + "
                                           "marketing360.assets.penetration(...).to_frame(), 'sql' = one "
                                           "parameterized DuckDB statement; latency = build + run + fetch"},
               "notes": notes, "goals": goals, "ours_vs_hand_written": ratio,
               "ours_vs_hand_written_tuned": ratio_tuned,
               "parity": {"ok": not problems, "problems": problems},
               "results": rows, "precompute": pre, "dashboard": {**dash, "latency": lat},
               "table_markdown": table}
    return payload, not problems


def assets_table(rows: list[dict[str, Any]], ratio: dict[str, float], pre: dict[str, Any],
                 dash: dict[str, Any], lat: dict[str, Any], goals: dict[str, Any],
                 dates: dict[str, Any]) -> str:
    out = [(f"4A job: snapshot on {dates['snapshot_date']} -> volumes per brand × stage, plus flows "
            f"{dates['flows_start']} -> {dates['flows_end']}\n"),
           ("| case | data | snapshot s | flows s | total s | vs DuckDB (same data) | runs | start-up s | "
            "peak RSS Python | peak RSS JVM | Python + JVM | peak PSS tree (sampled) | others' CPU (cores) |"),
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        m = r["median"]
        out.append(f"| {r['case']} | {r['events']:,} events | {_fmt_s(m['snapshot_seconds'])} | "
                   f"{_fmt_s(m['flows_seconds'])} | {_fmt_s(m['total_seconds'])} | "
                   f"{r['vs_duckdb']['total_seconds']:.2f}× | {len(r['repeats'])} | {r['startup_seconds']:.1f} | "
                   f"{_mib(r['maxrss_kb'])} | {_mib(r['jvm_hwm_kb']) if r['jvm_hwm_kb'] else '–'} | "
                   f"{_mib(r['python_plus_jvm_kb'])} | {_mib(r['tree_peak_pss_kb_sampled'])} | "
                   f"{r['background_cores']:.2f} |")
    yes = lambda g: "yes" if g["met"] else "NO"  # noqa: E731
    g1, g2, g3, g4, g5 = (goals[k] for k in ("duckdb_under_60s", "spark_vs_duckdb", "ours_vs_hand_written",
                                             "dashboard_p95", "ours_vs_hand_tuned"))
    out += ["", "| goal | target | measured | met |", "|---|---|---:|---|",
            f"| DuckDB snapshot + flows, full world | {g1['goal']} | {g1['value']:.1f} s | {yes(g1)} |",
            f"| Spark / DuckDB ({g2['scope']}) | reported | {g2['value']:.2f}× | – |",
            (f"| ours (Spark) / hand-written PySpark ({g3['scope']}) | {g3['goal']} | "
             f"{ratio['total_seconds']:.2f}× (snapshot {ratio['snapshot_seconds']:.2f}×, "
             f"flows {ratio['flows_seconds']:.2f}×) | {yes(g3)} |"),
            (f"| ours (Spark) / hand-written PySpark, tuned (day fold) | {g5['goal']} | "
             f"{g5['value']:.2f}× (snapshot {g5['per_part']['snapshot_seconds']:.2f}×, "
             f"flows {g5['per_part']['flows_seconds']:.2f}×) | {yes(g5)} |"),
            f"| dashboard p95 (package path) | {g4['goal']} | {g4['value']:.1f} ms | {yes(g4)} |",
            "",
            (f"Dashboard: {pre['rows']:,} precomputed rows ({len(dates['weekly'])} weekly dates, "
             f"precomputed in {pre['seconds']:.1f} s, file {pre['db_bytes'] / 2**20:,.0f} MiB); "
             f"{lat['package']['n']} random brand × date × member_level queries after 5 warm-up ones; "
             f"peak RSS {_mib(dash['maxrss_kb'])}\n"),
            "| path | p50 ms | p95 ms | p99 ms | max ms | first query ms |",
            "|---|---:|---:|---:|---:|---:|"]
    for name, label in (("package", "package: ibis filter + assets.penetration().to_frame()"),
                        ("sql", "raw DuckDB SQL (parameterized)")):
        v = lat[name]
        out.append(f"| {label} | {v['p50_ms']:.1f} | {v['p95_ms']:.1f} | {v['p99_ms']:.1f} | "
                   f"{v['max_ms']:.1f} | {v['first_query_ms']:.1f} |")
    return "\n".join(out) + "\n"


# ============================================================================ main


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_worker":
        return _worker_main(argv[1], argv[2])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("benchmark", nargs="?", default="all", choices=["simulator", "groupby", "assets", "all"])
    p.add_argument("--quick", action="store_true", help="tiny data: checks the harness in about a minute")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed repeats per measurement (default 3; 1 simulator / 2 groupby with --quick)")
    p.add_argument("--engines", default=",".join(ENGINES),
                   help=f"comma-separated group-by engines, the first is the reference (default {','.join(ENGINES)})")
    p.add_argument("--min-events", type=int, default=10_000_000,
                   help="fewest events of the group-by world (full mode); consumers are scaled up to reach it")
    p.add_argument("--assets-min-events", type=int, default=100_000_000,
                   help="fewest events of the assets world (full mode; default 100,000,000)")
    p.add_argument("--spark-repeats", type=int, default=None,
                   help="assets: Spark processes per implementation (ours, hand-written, tuned "
                        "hand-written), alternating (default 2; 1 with --quick)")
    p.add_argument("--spark-scope", choices=["auto", "full", "subset"], default="auto",
                   help="assets: the data of the Spark runs; auto = the full world unless our Spark job "
                        "takes longer than --spark-limit there, then a subset of --subset-events")
    p.add_argument("--spark-limit", type=float, default=600.0, metavar="SECONDS",
                   help="assets: the longest our Spark job may take on the full world (default 600)")
    p.add_argument("--subset-events", type=int, default=25_000_000,
                   help="assets: fewest events of the Spark subset (whole part files; default 25,000,000)")
    p.add_argument("--queries", type=int, default=200, help="assets: timed dashboard queries (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fresh-data", action="store_true",
                   help="simulate the group-by / assets world again even if benchmarks/data holds it")
    p.add_argument("--wait-quiet", type=float, default=None, metavar="SECONDS",
                   help="before each measured process, wait up to SECONDS for the rest of the machine "
                        "to use under 0.3 cores (default 120; 0 with --quick)")
    args = p.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        p.error(f"unknown engine(s) {unknown}; choose from {ENGINES}")
    DATA.mkdir(parents=True, exist_ok=True)
    quiet = args.wait_quiet if args.wait_quiet is not None else (0.0 if args.quick else 120.0)
    ok = True
    todo = ["simulator", "groupby", "assets"] if args.benchmark == "all" else [args.benchmark]
    for name in todo:
        t0 = time.perf_counter()
        print(f"== {name}{' (quick)' if args.quick else ''}", flush=True)
        if name == "simulator":
            reps = args.repeats or (1 if args.quick else 3)
            payload, good = bench_simulator(args.quick, reps, args.seed, quiet)
        elif name == "groupby":
            reps = args.repeats or (2 if args.quick else 3)
            payload, good = bench_groupby(args.quick, reps, args.seed, engines, args.min_events, quiet,
                                          args.fresh_data)
        else:
            reps = args.repeats or (1 if args.quick else 3)
            payload, good = bench_assets(args.quick, reps, args.spark_repeats or (1 if args.quick else 2),
                                         args.seed, args.assets_min_events, quiet, args.fresh_data,
                                         args.spark_scope, args.spark_limit, args.subset_events,
                                         args.queries)
        payload["elapsed_seconds"] = time.perf_counter() - t0
        payload["machine"]["loadavg_at_end"] = list(os.getloadavg())
        if source_hash(*MEASURED_SOURCES[name]) != payload["machine"]["measured_source_sha256"][name]:
            payload["machine"]["measured_sources_changed_during_run"] = True
            print(f"WARNING: the sources this benchmark measures (marketing360/"
                  f"{{{','.join(MEASURED_SOURCES[name])}}}) changed while it ran; run it again")
            ok = False
        path = write_json(name, args.quick, payload)
        print()
        print(payload["table_markdown"])
        if name == "groupby":
            w = payload["parameters"]["world"]
            print(f"data: {w['events']:,} events ({w['users']:,} users × {w['days']} days, "
                  f"{w['files']} files, {w['bytes'] / 2**20:,.0f} MiB) at {w['path']}")
        if name == "assets":
            w = payload["parameters"]["world"]
            print(f"data: {w['events']:,} events ({w['users']:,} users × {w['days']} days, "
                  f"{w['files']} files, {w['bytes'] / 2**20:,.0f} MiB) at {w['path']}")
            for note in payload["notes"]:
                print(f"NOTE: {note}")
        checks = payload.get("parity") or payload.get("checks")
        if checks["ok"]:
            print("checks: OK" + {"groupby": " (all engines agree)",
                                  "assets": " (DuckDB, our Spark path and both hand-written PySpark jobs agree "
                                            "exactly; flows agree with the snapshot; dashboard package = SQL)",
                                  }.get(name, " (deterministic events across repeats, n_jobs and truth)"))
        else:
            print("CHECKS FAILED:")
            for prob in checks["problems"][:50]:
                print("  - " + prob)
            ok = False
        print(f"wrote {path.relative_to(REPO)} in {payload['elapsed_seconds']:.0f} s\n", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
