#!/usr/bin/env python
"""marketing360 benchmarks: measured side by side in one run, written as JSON.

Usage
-----
    python benchmarks/run.py [simulator|groupby|all] [--quick] [--repeats N]
                             [--engines duckdb,spark,...] [--min-events N]
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


def _worker_main(spec_path: str, out_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    fn = {"simulate": _work_simulate, "groupby": _work_groupby}[spec["kind"]]
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
    spec_path, out_path, log_path = tmp / f"{name}.spec.json", tmp / f"{name}.out.json", logs / f"{name}.log"
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
MEASURED_SOURCES = {"simulator": ("datasets",), "groupby": ("engine", "overview.py")}


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
    """The parquet world of the group-by benchmark, simulated once and cached under benchmarks/data.

    The cache is kept when the simulator changes (this benchmark measures the
    engines, not the simulator); the code that made it is recorded, and
    ``fresh`` (``--fresh-data``) simulates it again.
    """
    users, days = (4_096, 14) if quick else (4 * BLOCK_USERS, 90)
    target = 0 if quick else min_events
    code = source_hash("datasets")
    while True:
        root = DATA / f"world-{users}x{days}-s{seed}"
        marker = root / "benchmark.json"
        if fresh and marker.exists():
            marker.unlink()
        info = json.loads(marker.read_text()) if marker.exists() else {}
        if info:
            print(f"  reusing {root} ({info['events']:,} events)", flush=True)
        else:
            print(f"  simulating {users:,} users × {days} days (truth='none', n_jobs=2) -> {root} ...",
                  flush=True)
            spec = {"kind": "simulate", "users": users, "days": days, "truth": "none", "n_jobs": 2,
                    "seed": seed, "out": str(root)}
            res = run_case(f"world-{users}x{days}", spec, timeout=3600)
            info = {"users": users, "days": days, "seed": seed, "truth": "none",
                    "events": res["events"], "files": res["files"], "bytes": res["bytes"],
                    "path": str(root / "events"), "simulate_seconds": res["seconds"],
                    "simulator_source_sha256": code, "git_commit": _git_commit(),
                    "made_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
            marker.write_text(json.dumps(info, indent=1))
        if info["events"] >= target:
            return info
        # too few events: scale the consumers up (to whole 1,024s) and simulate again
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


# ============================================================================ main


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_worker":
        return _worker_main(argv[1], argv[2])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("benchmark", nargs="?", default="all", choices=["simulator", "groupby", "all"])
    p.add_argument("--quick", action="store_true", help="tiny data: checks the harness in about a minute")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed repeats per measurement (default 3; 1 simulator / 2 groupby with --quick)")
    p.add_argument("--engines", default=",".join(ENGINES),
                   help=f"comma-separated group-by engines, the first is the reference (default {','.join(ENGINES)})")
    p.add_argument("--min-events", type=int, default=10_000_000,
                   help="fewest events of the group-by world (full mode); consumers are scaled up to reach it")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fresh-data", action="store_true",
                   help="simulate the group-by world again even if benchmarks/data holds it")
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
    todo = ["simulator", "groupby"] if args.benchmark == "all" else [args.benchmark]
    for name in todo:
        t0 = time.perf_counter()
        print(f"== {name}{' (quick)' if args.quick else ''}", flush=True)
        if name == "simulator":
            reps = args.repeats or (1 if args.quick else 3)
            payload, good = bench_simulator(args.quick, reps, args.seed, quiet)
        else:
            reps = args.repeats or (2 if args.quick else 3)
            payload, good = bench_groupby(args.quick, reps, args.seed, engines, args.min_events, quiet,
                                          args.fresh_data)
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
        checks = payload.get("parity") or payload.get("checks")
        if checks["ok"]:
            print("checks: OK" + (" (all engines agree)" if name == "groupby" else
                                  " (deterministic events across repeats, n_jobs and truth)"))
        else:
            print("CHECKS FAILED:")
            for prob in checks["problems"][:50]:
                print("  - " + prob)
            ok = False
        print(f"wrote {path.relative_to(REPO)} in {payload['elapsed_seconds']:.0f} s\n", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
