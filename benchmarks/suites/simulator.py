"""Suite ``simulator``: events per second of :func:`marketing360.datasets.simulate`.

``truth="none"`` on 4 blocks of 16,384 consumers x 90 days with ``n_jobs=1``
(the baseline) and ``n_jobs=2`` (each also with ``OPENBLAS_NUM_THREADS=1``:
numpy's OpenBLAS threads otherwise compete with the worker processes), and
``truth="incremental"`` on one block against ``truth="none"`` on the same
block (the cost of counterfactual truth). The events are written to parquet
(``out=``) inside the timed call. Every repeat runs in a fresh subprocess;
peak memory is that process tree's. Repeats of different cases are
interleaved, so that a noisy neighbour slows them alike. The events of every
4-block case and the observed events of the ``none`` and ``incremental`` runs
of a block must be identical (same seed): the suite checks it.

The ``simulate`` worker also makes the cached worlds of the other suites
(:func:`harness.cached_world`), with :func:`world_channels` for the
attribution world.
"""

from __future__ import annotations

import math
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import harness as h
from harness import BLOCK_USERS, DATA

NAME = "simulator"
#: the package sources this suite measures (a change of them during a run spoils it)
MEASURED = ("datasets",)
DEFAULTS = {"repeats": 3, "quick_repeats": 1, "seed": 0, "wait_quiet": 120.0}
OK_TEXT = "deterministic events across repeats, n_jobs and truth"


def world_channels(n: int, rate_scale: float = 0.25) -> dict[str, Any]:
    """``n`` ad channels ``ch00, ch01, ...``: the simulator's default channels' parameters repeated,
    at ``rate_scale`` of their delivery rate (the attribution world: 16 channels)."""
    from dataclasses import replace

    from marketing360.datasets.world import DEFAULT_CHANNELS

    base = list(DEFAULT_CHANNELS.values())
    return {f"ch{i:02d}": replace(base[i % len(base)], rate=base[i % len(base)].rate * rate_scale)
            for i in range(n)}


# ============================================================================ worker (in a subprocess)


def _work_simulate(spec: dict[str, Any]) -> dict[str, Any]:
    import resource

    t0 = time.perf_counter()
    from marketing360.datasets import simulate

    t_import = time.perf_counter() - t0
    out = Path(spec["out"])
    t0 = time.perf_counter()
    kw = {"channels": world_channels(spec["channels"])} if spec.get("channels") else {}
    world = simulate(n_users=spec["users"], n_days=spec["days"], truth=spec["truth"],
                     seed=spec["seed"], out=out, n_jobs=spec["n_jobs"], **kw)
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
        "self_maxrss_kb": h.maxrss_kb(resource.RUSAGE_SELF),
        "children_maxrss_kb": h.maxrss_kb(resource.RUSAGE_CHILDREN),
    }


WORKERS = {"simulate": _work_simulate}


# ============================================================================ the suite (parent)


def simulator_cases(quick: bool) -> list[dict[str, Any]]:
    if quick:  # two (unequal) blocks, so that n_jobs=2 really runs two processes
        big, small, days = 20_000, 4_096, 14
    else:
        big, small, days = 4 * BLOCK_USERS, BLOCK_USERS, 90
    nb = lambda u: math.ceil(u / BLOCK_USERS)
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
    cases = simulator_cases(quick)
    runs: dict[str, list[dict[str, Any]]] = {c["case"]: [] for c in cases}
    timeout = 600 if quick else 3600
    for r in range(repeats):  # interleaved: r-th repeat of every case, then the next
        for c in cases:
            out = DATA / "sim" / c["case"]
            spec = {"kind": "simulate", "users": c["users"], "days": c["days"], "truth": c["truth"],
                    "n_jobs": c["n_jobs"], "seed": seed, "out": str(out), "env": c["env"]}
            print(f"  simulator {c['case']} repeat {r + 1}/{repeats} ...", flush=True)
            res = h.run_case(f"sim-{c['case']}-r{r}", spec, timeout=timeout, quiet=quiet)
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
    payload = {"benchmark": "simulator", "quick": quick,
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
            f"{r['events']:,} | {h.fmt_s(r['median_seconds'])} ({len(r['repeats_seconds'])}) | "
            f"{r['events_per_second']:,.0f} | {base} | {r['cores_used_median']:.2f} | {h.mib(r['maxrss_kb'])} | "
            f"{h.mib(r['tree_peak_pss_kb_sampled'])} | {r['background_cores_median']:.2f} |")
    return head + "\n".join(lines) + "\n"



def run(a: Any) -> tuple[dict[str, Any], bool]:
    return bench_simulator(a.quick, a.repeats, a.seed, a.quiet)
