"""Suite ``groupby``: one scan + group-by over a >= 10M-event parquet world, on every engine.

The DuckDB engine (ibis), raw DuckDB SQL (no ibis), the Spark engine (the
same ibis expressions, local[2]), pandas (``read_parquet`` + ``groupby``) and
polars (``scan_parquet`` + ``group_by``). Two queries: Q1 is
:func:`marketing360.overview.event_counts` (per event type: events, distinct
users, purchase revenue, mean review rating and cost), Q2 is per (brand,
event_type): events and sum of value. Each engine runs in its own subprocess: start-up (import + connect;
the SparkSession and its JVM for Spark) is timed apart, then each query runs
once to warm up and ``--repeats`` times timed (median reported). Each timed
query includes opening the parquet files, and for the package's engines its
check against the canonical schema (one aggregation); ``duckdb-opened-once``
opens and checks the table once at start-up (``m3.as_table``), as a notebook
that analyses one table many times does, so its Q1 is the analysis alone.
All engines must agree (counts exactly, sums to 1e-6 relative) or the run
fails.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness as h
from harness import BLOCK_USERS

NAME = "groupby"
MEASURED = ("engine", "overview.py", "inputs.py")
DEFAULTS = {"repeats": 3, "quick_repeats": 2, "seed": 0, "wait_quiet": 120.0}
OK_TEXT = "all engines agree"

ENGINES = ("duckdb", "duckdb-opened-once", "duckdb-sql", "spark", "pandas", "polars")
ENGINE_VIA = {
    "duckdb": "m3.connect('duckdb') + ibis",
    "duckdb-opened-once": "the same, table checked once at start-up (m3.as_table)",
    "duckdb-sql": "duckdb SQL, no ibis",
    "spark": "m3.connect('spark') + ibis, local[2]",
    "pandas": "pd.read_parquet + groupby",
    "polars": "pl.scan_parquet + group_by (lazy)",
}


# ============================================================================ worker (in a subprocess)


def _q2_cols() -> tuple[str, ...]:
    return ("brand", "event_type", "events", "value")


Q1_COLUMNS = ("event_type", "events", "users", "revenue", "mean_rating", "cost")
Q1_KEYS, Q1_EXACT, Q1_APPROX = ("event_type",), ("events", "users"), ("revenue", "mean_rating", "cost")
Q2_KEYS, Q2_EXACT, Q2_APPROX = ("brand", "event_type"), ("events",), ("value",)


def _engine_queries(engine: str, path: str) -> tuple[dict[str, float], dict[str, Callable[[], Any]],
                                                        Callable[[], Any], Callable[[], list[dict]]]:
    """(start-up timings, queries, to_records, close) of one engine."""
    glob = str(Path(path) / "*.parquet")
    startup: dict[str, float] = {}
    if engine in ("duckdb", "duckdb-opened-once", "spark"):
        t0 = time.perf_counter()
        import marketing360 as m3
        from marketing360.overview import event_counts

        startup["import"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        eng = m3.connect("spark" if engine == "spark" else "duckdb")
        opened = m3.as_table(eng.table(path)) if engine == "duckdb-opened-once" else None
        startup["connect"] = time.perf_counter() - t0

        def q1() -> Any:  # a result object (its check of the events included, unless opened once)
            res = event_counts(eng.table(path) if opened is None else opened)
            return res.table() if callable(getattr(res, "table", None)) else eng.to_pandas(res)

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
                           f"CASE WHEN event_type = 'purchase' THEN coalesce(sum(value), 0.0) END AS revenue, "
                           f"CASE WHEN event_type = 'review' THEN avg(value) END AS mean_rating, "
                           f"coalesce(sum(cost), 0.0) AS cost FROM {src} GROUP BY event_type").fetchall()

        def q2() -> Any:
            return con.sql(f"SELECT brand, event_type, count(*) AS events, "
                           f"coalesce(sum(value), 0.0) AS value FROM {src} "
                           f"GROUP BY brand, event_type").fetchall()

        def records(rows: Any) -> list[dict]:
            cols = Q1_COLUMNS if len(rows[0]) == len(Q1_COLUMNS) else _q2_cols()
            return [dict(zip(cols, r)) for r in rows]

        return startup, {"q1": q1, "q2": q2}, records, con.close
    if engine == "pandas":
        t0 = time.perf_counter()
        import pandas as pd

        startup["import"] = time.perf_counter() - t0
        startup["connect"] = 0.0

        def q1() -> Any:
            df = pd.read_parquet(path, columns=["event_type", "user_id", "value", "cost"])
            g = df.groupby("event_type", observed=True, sort=False).agg(
                events=("user_id", "size"), users=("user_id", "nunique"), revenue=("value", "sum"),
                mean_rating=("value", "mean"), cost=("cost", "sum")).reset_index()
            et = g.event_type.astype(str)
            return g.assign(revenue=g.revenue.where(et == "purchase"), mean_rating=g.mean_rating.where(et == "review"))

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
            et = pl.col("event_type").cast(pl.String)
            return pl.scan_parquet(glob).group_by("event_type").agg(
                pl.len().alias("events"), pl.col("user_id").n_unique().alias("users"),
                pl.col("value").sum().alias("revenue"), pl.col("value").mean().alias("mean_rating"),
                pl.col("cost").sum()).with_columns(
                revenue=pl.when(et == "purchase").then(pl.col("revenue")),
                mean_rating=pl.when(et == "review").then(pl.col("mean_rating"))).collect()

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
    res["children"] = h.children_memory()  # the Spark driver JVM, while it lives
    res["self_maxrss_kb"] = h.maxrss_kb(resource.RUSAGE_SELF)
    close()
    return res


WORKERS = {"groupby": _work_groupby}


# ============================================================================ the suite (parent)


def groupby_world(quick: bool, seed: int, min_events: int, fresh: bool = False) -> dict[str, Any]:
    """The parquet world of the group-by benchmark, simulated once and cached under benchmarks/data."""
    users, days = (4_096, 14) if quick else (4 * BLOCK_USERS, 90)
    return h.cached_world(users, days, seed, 0 if quick else min_events, fresh)



def bench_groupby(quick: bool, repeats: int, seed: int, engines: list[str],
                  min_events: int, quiet: float, fresh: bool = False) -> tuple[dict[str, Any], bool]:
    world = groupby_world(quick, seed, min_events, fresh)
    path = world["path"]
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for eng in engines:
        print(f"  groupby on {eng} ...", flush=True)
        spec = {"kind": "groupby", "engine": eng, "path": path, "warmup": 1, "repeats": repeats}
        try:
            res = h.run_case(f"groupby-{eng}", spec, timeout=900 if quick else 3600, quiet=quiet)
        except h.CaseFailed as exc:
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
            problems += h.compare_records(f"{r['engine']} Q1", ref["queries"]["q1"]["result"],
                                 r["queries"]["q1"]["result"], Q1_KEYS, Q1_EXACT, Q1_APPROX)
            problems += h.compare_records(f"{r['engine']} Q2", ref["queries"]["q2"]["result"],
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
    payload = {"benchmark": "groupby", "quick": quick,
               "parameters": {"repeats": repeats, "warmup": 1, "seed": seed, "engines": engines,
                              "wait_quiet": quiet,
                              "baseline": baseline, "min_events": min_events, "world": world,
                              "queries": {"q1": "marketing360.overview.event_counts: per event_type "
                                                "count(*), count(distinct user_id), revenue (sum of value, "
                                                "purchases), mean_rating (mean value, reviews), sum(cost)",
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
        mark = lambda q: "**1.00×**" if r["engine"] == baseline else f"{q['vs_baseline']:.2f}×"
        lines.append(
            f"| {r['engine']} | {ENGINE_VIA.get(r['engine'], '')} | {r['startup_seconds']:.2f} | "
            f"{h.fmt_s(q1['warmup'][0]) if q1['warmup'] else 'n/a'} | {h.fmt_s(q1['median'])} | {mark(q1)} | "
            f"{h.fmt_s(q2['median'])} | {mark(q2)} | "
            f"{h.mib(r['maxrss_kb'])} | {h.mib(r.get('jvm_hwm_kb')) if r['engine'] == 'spark' else '–'} | "
            f"{h.mib(r['tree_peak_pss_kb_sampled'])} | {r['background_cores']:.2f} |")
    return head + "\n".join(lines) + "\n"



def add_arguments(p: Any) -> None:
    p.add_argument("--engines", default=",".join(ENGINES),
                   help=f"groupby: comma-separated engines, the first is the reference (default {','.join(ENGINES)})")
    p.add_argument("--min-events", type=int, default=10_000_000,
                   help="groupby: fewest events of the world (full mode); consumers are scaled up to reach it")


def check_arguments(a: Any) -> str | None:
    unknown = [e for e in engine_list(a) if e not in ENGINES]
    return f"unknown engine(s) {unknown}; choose from {ENGINES}" if unknown else None


def engine_list(a: Any) -> list[str]:
    return [e.strip() for e in a.engines.split(",") if e.strip()]


def run(a: Any) -> tuple[dict[str, Any], bool]:
    return bench_groupby(a.quick, a.repeats, a.seed, engine_list(a), a.min_events, a.quiet, a.fresh_data)


def report(payload: dict[str, Any]) -> list[str]:
    w = payload["parameters"]["world"]
    return [f"data: {w['events']:,} events ({w['users']:,} users × {w['days']} days, "
            f"{w['files']} files, {w['bytes'] / 2**20:,.0f} MiB) at {w['path']}"]
