"""Suite ``assets``: the 4A goals on a simulated world of >= 100M events.

524,288 consumers x 90 days, parquet. (1) The 4A job: ``snapshot(events,
last day)`` materialized as volumes per brand x stage, plus ``flows(events,
day 60, last day).table()``, on the DuckDB engine (goal: under 60 s) and on
the Spark engine (local[2], ``spark.driver.memory=8g``; reported as a ratio
to DuckDB). (2) The same computation as a hand-written PySpark DataFrame job
(:mod:`suites.assets_hand`) in the same Spark session set-up: the overhead of
our abstraction, ours / hand-written (goal: at most 1.2x); a second, tuned
hand-written job (the per-day fold, both flow dates in one aggregate) is
reported as a ratio too. Spark runs on the full world unless our job takes
longer than ``--spark-limit`` there; then every Spark figure and its DuckDB
reference come from a subset of whole part files (>= ``--subset-events``), and
the output says so. (3) The dashboard: ``snapshots(events, weekly dates)``
joined with the consumers' ``member_level`` is stored in a DuckDB file; then
``--queries`` random (brand, date, member_level) queries return consumers per
stage and penetration (consumers / consumers of that member level), through
the package (ibis + ``assets.penetration``) and as plain SQL (goal: p95 under
200 ms). Every job runs in its own subprocess, after a warm-up run on the
quick world (full mode). DuckDB, our Spark path and both hand-written jobs must
give exactly the same volumes and flows, the flows must end in the snapshot's
volumes, and the two dashboard paths must agree.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import harness as h
from harness import BLOCK_USERS, DATA

from suites.assets_hand import (
    FLOW_FROM_NAMES,
    FLOW_TO_NAMES,
    STAGE_NAMES,
    hand_flows,
    hand_flows_fold,
    hand_rules_match_defaults,
    hand_volumes,
    hand_volumes_fold,
)

NAME = "assets"
MEASURED = ("assets", "engine", "results.py", "inputs.py")
DEFAULTS = {"repeats": 3, "quick_repeats": 1, "seed": 0, "wait_quiet": 120.0}
OK_TEXT = ("DuckDB, our Spark path and both hand-written PySpark jobs agree exactly; flows agree with the "
           "snapshot; dashboard package = SQL")


# ============================================================================ workers (in subprocesses)


def _frame(result: Any) -> Any:
    """A result object's tidy pandas frame (``.table()``; ``.to_frame()`` before the result protocol)."""
    return result.table() if callable(getattr(result, "table", None)) else result.to_frame()


def _expr(result: Any) -> Any:
    """A result object's lazy ibis table (the result itself when it is one)."""
    return getattr(result, "expr", None) if getattr(result, "expr", None) is not None else result


def _work_assets_job(spec: dict[str, Any]) -> dict[str, Any]:
    """The 4A job: snapshot (materialized as volumes per brand x stage) + flows, timed apart."""
    import resource

    # "duckdb" | "spark" (ours, through ibis) | "pyspark" (hand-written, the rules' direct
    # translation) | "pyspark-fold" (hand-written, tuned: the day fold) | "duckdb-snapshots" (a
    # diagnostic: the snapshot as snapshots(events, [day]), the one-date case of the series);
    # spec["impls"]: several Spark ones in turn in one session (--quick: one JVM start instead of three)
    impls = spec.get("impls") or [spec["impl"]]
    startup: dict[str, float] = {}
    t0 = time.perf_counter()
    import marketing360 as m3
    from marketing360.assets import flows, snapshot, snapshots, volumes

    startup["import"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    duck = impls[0].startswith("duckdb")
    if any(i.startswith("duckdb") != duck for i in impls):
        raise ValueError(f"one process runs DuckDB or Spark jobs, not both: {impls}")
    eng = m3.connect("duckdb") if duck else m3.connect("spark", config=spec["spark_config"])
    startup["connect"] = time.perf_counter() - t0
    day = _dt.date.fromisoformat(spec["snapshot_date"])
    start, end = (_dt.date.fromisoformat(spec[k]) for k in ("flows_start", "flows_end"))

    def run(impl: str, path: str) -> dict[str, Any]:
        t0 = time.perf_counter()
        hand = impl.startswith("pyspark")
        if hand:
            df = eng.session.read.parquet(path)
            vol = (hand_volumes_fold if impl == "pyspark-fold" else hand_volumes)(df, day).toPandas()
        else:
            ev = eng.table(path)
            stages = snapshots(ev, [day]) if impl == "duckdb-snapshots" else snapshot(ev, day)
            vol = _frame(volumes(stages))
        t1 = time.perf_counter()
        if hand:
            fl = (hand_flows_fold if impl == "pyspark-fold" else hand_flows)(df, start, end).toPandas()
        else:
            fl = _frame(flows(ev, start, end))
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

    timing = ("snapshot_seconds", "flows_seconds", "total_seconds")
    out: dict[str, dict[str, Any]] = {}
    for impl in impls:
        warm = [run(impl, p) for p in spec.get("warmup_paths", [])]
        runs = [run(impl, spec["path"]) for _ in range(spec["repeats"])]
        res: dict[str, Any] = {
            "impl": impl, "startup": startup, "startup_seconds": sum(startup.values()),
            "warmup": [{k: w[k] for k in timing} for w in warm], "repeats": [{k: r[k] for k in timing} for r in runs],
            "volumes": runs[-1]["volumes"], "flows": runs[-1]["flows"],
            "deterministic": all(r["volumes"] == runs[0]["volumes"] and r["flows"] == runs[0]["flows"]
                                 for r in runs),
        }
        if impl.startswith("pyspark"):
            res["hand_rules_match_defaults"] = hand_rules_match_defaults()
        if not duck:
            res["spark_conf"] = {k: eng.session.conf.get(k, None) for k in (
                "spark.master", "spark.driver.memory", "spark.sql.shuffle.partitions",
                "spark.sql.session.timeZone", "spark.sql.adaptive.enabled")}
        out[impl] = res
    whole: dict[str, Any] = out[impls[0]] if "impls" not in spec else {"impls": out}
    whole["children"] = h.children_memory()  # the Spark driver JVM, while it lives
    whole["self_maxrss_kb"] = h.maxrss_kb(resource.RUSAGE_SELF)
    eng.close()
    return whole


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
    s = _expr(snapshots(ev, dates))
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
            "db_bytes": db.stat().st_size, "self_maxrss_kb": h.maxrss_kb(resource.RUSAGE_SELF)}


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
        df = _frame(penetration(s, u.filter(u.member_level == member)))
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
            "self_maxrss_kb": h.maxrss_kb(resource.RUSAGE_SELF)}



WORKERS = {"assets_job": _work_assets_job, "assets_precompute": _work_assets_precompute,
           "assets_dashboard": _work_assets_dashboard}


# ============================================================================ the suite (parent)


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
    return (h.compare_records(f"{tag} volumes", a["volumes"], b["volumes"], ("brand", "stage"), ("consumers",), ())
            + h.compare_records(f"{tag} flows", a["flows"], b["flows"], ("brand", "from_stage", "to_stage"),
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


def bench_assets(quick: bool, repeats: int, spark_repeats: int, seed: int, min_events: int,
                 quiet: float, fresh: bool = False, spark_scope: str = "auto", spark_limit: float = 600.0,
                 subset_events: int = 25_000_000, queries: int = 200) -> tuple[dict[str, Any], bool]:
    users, days = ASSETS_WORLD[quick]
    world = h.cached_world(users, days, seed, 0 if quick else min_events, fresh, tables=True)
    warm_world = world if quick else h.cached_world(*ASSETS_WORLD[True], seed, tables=True)
    dates = assets_dates(world)
    timeout = 600 if quick else 3600
    problems: list[str] = []
    notes: list[str] = []

    def job(name: str, impl: str | list[str], path: str, reps: int, limit: float) -> Any:
        """One process running ``impl``; with a list, those jobs in turn in one session, returned
        per impl (each with the process's memory and load figures)."""
        many = isinstance(impl, list)
        spec = {"kind": "assets_job", ("impls" if many else "impl"): impl, "path": path, "repeats": reps,
                "warmup_paths": [] if quick else [warm_world["path"]], "spark_config": SPARK_CONFIG,
                **{k: dates[k] for k in ("snapshot_date", "flows_start", "flows_end")}}
        print(f"  {name} ...", flush=True)
        res = h.run_case(name, spec, timeout=limit, quiet=quiet)
        jvm = max((c["hwm_kb"] for c in res.get("children", []) if c["comm"] == "java"), default=0)
        parts = {i: {**{k: v for k, v in res.items() if k != "impls"}, **r} for i, r in res["impls"].items()} \
            if many else {impl: res}
        for i, r in parts.items():
            print("    " + (f"{i}: " if many else "") + "; ".join(
                f"snapshot {x['snapshot_seconds']:.2f} s + flows {x['flows_seconds']:.2f} s = "
                f"{x['total_seconds']:.2f} s" for x in r["repeats"])
                + f" (peak RSS {h.mib(r['maxrss_kb'])}" + (f" + JVM {h.mib(jvm)}" if jvm else "")
                + f"; others used {r['background_cores']:.2f} cores)", flush=True)
        return parts if many else res

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
    shared: dict[str, Any] = {}  # --quick: the three Spark jobs of the first round in one process (one JVM)
    spark_failed = None
    if spark_scope in ("auto", "full"):
        limit = timeout if (quick or spark_scope == "full") else spark_limit + 240  # start-up + warm-up
        try:
            if quick:
                shared = job("assets-spark-shared", ["spark", "pyspark", "pyspark-fold"], world["path"], 1, limit)
                spark_full = shared["spark"]
                notes.append("--quick: our Spark job and the two hand-written ones ran in turn in one process "
                             "(one JVM start); ours ran first and bore the JVM's warm-up, so the Spark ratios "
                             "mean nothing")
            else:
                spark_full = job("assets-spark", "spark", world["path"], 1, limit)
        except h.CaseFailed as exc:
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
        if r == 0 and shared and spark_full is not None:
            hand_runs.append(shared["pyspark"])
            fold_runs.append(shared["pyspark-fold"])
            continue
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
    pre = h.run_case("assets-precompute", {"kind": "assets_precompute", "path": world["path"],
                                         "users_path": world["users_path"], "dates": dates["weekly"],
                                         "db": str(db)}, timeout=timeout, quiet=quiet)
    print(f"    {pre['rows']:,} rows in {pre['seconds']:.1f} s (peak RSS {h.mib(pre['maxrss_kb'])})", flush=True)
    print(f"  assets-dashboard ({queries} random queries, each via the package and via SQL) ...", flush=True)
    dash = h.run_case("assets-dashboard", {"kind": "assets_dashboard", "db": str(db), "dates": dates["weekly"],
                                         "brands": pre["brands"], "member_levels": pre["member_levels"],
                                         "queries": queries, "warmup": 5, "seed": seed},
                    timeout=timeout, quiet=quiet)
    for f in (db, db.with_name(db.name + ".wal")):
        f.unlink(missing_ok=True)
    lat = {}
    for path_name, xs in dash["latency_seconds"].items():
        ms = [x * 1000 for x in xs]
        lat[path_name] = {"n": len(ms), "p50_ms": h.pct(ms, 0.5), "p95_ms": h.pct(ms, 0.95),
                          "p99_ms": h.pct(ms, 0.99), "max_ms": max(ms), "mean_ms": statistics.fmean(ms),
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
    payload = {"benchmark": "assets", "quick": quick,
               "parameters": {"repeats": repeats, "spark_repeats": spark_repeats, "seed": seed,
                              "wait_quiet": quiet, "world": world, "dates": dates,
                              "spark_config": SPARK_CONFIG, "spark_scope": spark_scope,
                              "spark_limit_seconds": spark_limit, "subset_events": subset_events,
                              "warmup_world": None if quick else warm_world["path"],
                              "goals": ASSETS_GOALS,
                              "timed": "job = open the events parquet folder + snapshot(events, last day) "
                                       "materialized as volumes per brand x stage (to pandas) + "
                                       "flows(events, day 60, last day).table(); start-up (import, "
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
                                           "marketing360.assets.penetration(...).table(), 'sql' = one "
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
        out.append(f"| {r['case']} | {r['events']:,} events | {h.fmt_s(m['snapshot_seconds'])} | "
                   f"{h.fmt_s(m['flows_seconds'])} | {h.fmt_s(m['total_seconds'])} | "
                   f"{r['vs_duckdb']['total_seconds']:.2f}× | {len(r['repeats'])} | {r['startup_seconds']:.1f} | "
                   f"{h.mib(r['maxrss_kb'])} | {h.mib(r['jvm_hwm_kb']) if r['jvm_hwm_kb'] else '–'} | "
                   f"{h.mib(r['python_plus_jvm_kb'])} | {h.mib(r['tree_peak_pss_kb_sampled'])} | "
                   f"{r['background_cores']:.2f} |")
    yes = lambda g: "yes" if g["met"] else "NO"
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
             f"peak RSS {h.mib(dash['maxrss_kb'])}\n"),
            "| path | p50 ms | p95 ms | p99 ms | max ms | first query ms |",
            "|---|---:|---:|---:|---:|---:|"]
    for name, label in (("package", "package: ibis filter + assets.penetration().table()"),
                        ("sql", "raw DuckDB SQL (parameterized)")):
        v = lat[name]
        out.append(f"| {label} | {v['p50_ms']:.1f} | {v['p95_ms']:.1f} | {v['p99_ms']:.1f} | "
                   f"{v['max_ms']:.1f} | {v['first_query_ms']:.1f} |")
    return "\n".join(out) + "\n"



def add_arguments(p: Any) -> None:
    p.add_argument("--assets-min-events", type=int, default=100_000_000,
                   help="assets: fewest events of the world (full mode; default 100,000,000)")
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
    p.add_argument("--queries", type=int, default=None,
                   help="assets: timed dashboard queries (default 200; 50 with --quick)")


def run(a: Any) -> tuple[dict[str, Any], bool]:
    return bench_assets(a.quick, a.repeats, a.spark_repeats or (1 if a.quick else 2), a.seed,
                        a.assets_min_events, a.quiet, a.fresh_data, a.spark_scope, a.spark_limit,
                        a.subset_events, a.queries or (50 if a.quick else 200))


def report(payload: dict[str, Any]) -> list[str]:
    w = payload["parameters"]["world"]
    return [f"data: {w['events']:,} events ({w['users']:,} users × {w['days']} days, "
            f"{w['files']} files, {w['bytes'] / 2**20:,.0f} MiB) at {w['path']}"] + \
        [f"NOTE: {note}" for note in payload["notes"]]
