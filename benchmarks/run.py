#!/usr/bin/env python
"""marketing360 benchmarks: measured side by side in one run, written as JSON.

Usage
-----
    python benchmarks/run.py [SUITE|all] [--quick] [--repeats N] [--seed N] [--wait-quiet SECONDS]
                             [--fresh-data] [suite options]

Suites (one module each under ``benchmarks/suites/``; ``all`` runs them in this order):

simulator
    events per second of ``marketing360.datasets.simulate`` (n_jobs, BLAS threads, counterfactual truth)
groupby
    one scan + group-by over a >= 10M-event parquet world on DuckDB (ibis and plain SQL), Spark, pandas, polars
assets
    the 4A goals on >= 100M events: DuckDB, Spark, hand-written PySpark, the dashboard's query latency
attribution
    events -> journeys -> Markov + Shapley credits against ChannelAttribution (path table built by pandas,
    polars and DuckDB SQL), Markov from an in-memory path table, the deep model's speed
attribution-accuracy
    every attribution method against the simulator's true incremental conversions
incrementality
    issue 9's speed goals: synthetic control + conformal inference, market selection, experiment() on 100M events
incrementality-accuracy
    coverage of every incrementality estimator's 95% intervals over simulated holdouts and geo tests
mmm, mmm-accuracy, attribution-heldout
    issue 10: the MMM's speed and accuracy, attribution on held-out worlds
paths
    issue 11: sessions + top paths + a 5-step funnel on 100M events (DuckDB), our Spark path against a
    hand-written PySpark job

``--quick`` runs a suite (or ``all``) on tiny data: it checks that everything
runs and agrees, its timings mean nothing. Every measurement runs in its own
subprocess (``run.py _worker SPEC OUT``, see ``harness.run_case``). Results go
to ``benchmarks/results/<suite>.json`` (``<suite>-quick.json`` with
``--quick``), a copy of each run to ``benchmarks/data/runs/``, and a markdown
table is printed. The exit status is 1 when a check fails or a suite breaks.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # harness and suites, also when imported

import harness as h
from suites import SUITES, WORKERS


def _worker_main(spec_path: str, out_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    h.write_worker_result(out_path, WORKERS[spec["kind"]](spec))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("suite", nargs="?", default="all", choices=[*SUITES, "all"], metavar="SUITE",
                   help=f"one of {', '.join(SUITES)}, or all (default)")
    p.add_argument("--quick", action="store_true",
                   help="tiny data: checks that every suite runs and agrees (all: 2-4 min)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed repeats per measurement (default per suite: simulator 3, groupby 3, assets 3, "
                        "attribution 2; with --quick 1, groupby 2)")
    p.add_argument("--seed", type=int, default=None, help="world seed (default 0; attribution 1)")
    p.add_argument("--wait-quiet", type=float, default=None, metavar="SECONDS",
                   help="before each measured process, wait up to SECONDS for the rest of the machine to use "
                        "under 0.3 cores (default 120; attribution 30; 0 with --quick)")
    p.add_argument("--fresh-data", action="store_true",
                   help="simulate the cached worlds again even if benchmarks/data holds them")
    p.add_argument("--accuracy", action="store_true",
                   help="with `attribution`: run attribution-accuracy instead (the old attribution.py --accuracy)")
    for mod in SUITES.values():
        if hasattr(mod, "add_arguments"):
            mod.add_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_worker":
        return _worker_main(argv[1], argv[2])
    p = parser()
    args = p.parse_args(argv)
    if args.accuracy:
        if args.suite != "attribution":
            p.error("--accuracy goes with the attribution suite")
        args.suite = "attribution-accuracy"
    todo = list(SUITES) if args.suite == "all" else [args.suite]
    for name in todo:
        check = getattr(SUITES[name], "check_arguments", None)
        problem = check(args) if check else None
        if problem:
            p.error(problem)
    h.DATA.mkdir(parents=True, exist_ok=True)
    measured = {n: m.MEASURED for n, m in SUITES.items()}
    ok = True
    summary = []
    for name in todo:
        mod = SUITES[name]
        d = mod.DEFAULTS
        a = argparse.Namespace(**vars(args))
        a.repeats = args.repeats or (d["quick_repeats"] if args.quick else d["repeats"])
        a.seed = d["seed"] if args.seed is None else args.seed
        a.quiet = args.wait_quiet if args.wait_quiet is not None else (0.0 if args.quick else d["wait_quiet"])
        t0 = time.perf_counter()
        print(f"== {name}{' (quick)' if args.quick else ''}", flush=True)
        try:
            machine = h.machine_info(measured)
            payload, good = mod.run(a)
        except Exception as exc:  # noqa: BLE001 - report, go on with the next suite, fail at the end
            traceback.print_exc()
            print(f"SUITE {name} FAILED: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}\n", flush=True)
            summary.append((name, "FAILED (broke)", time.perf_counter() - t0, None))
            ok = False
            continue
        payload = {"benchmark": payload.pop("benchmark", name), "quick": payload.pop("quick", args.quick),
                   "machine": machine, **payload}
        payload["elapsed_seconds"] = time.perf_counter() - t0
        machine["loadavg_at_end"] = list(os.getloadavg())
        if h.source_hash(*mod.MEASURED) != machine["measured_source_sha256"][name]:
            machine["measured_sources_changed_during_run"] = True
            print(f"WARNING: the sources this benchmark measures (marketing360/"
                  f"{{{','.join(mod.MEASURED)}}}) changed while it ran; run it again")
            good = False
        path = h.write_json(name, args.quick, payload)
        print()
        print(payload["table_markdown"])
        for line in getattr(mod, "report", lambda _: [])(payload):
            print(line)
        checks = payload.get("parity") or payload.get("checks")
        if checks["ok"]:
            print(f"checks: OK ({checks.get('ok_text', mod.OK_TEXT)})")
        else:
            print("CHECKS FAILED:")
            for prob in checks["problems"][:50]:
                print("  - " + prob)
        ok = ok and good and checks["ok"]
        summary.append((name, "OK" if good and checks["ok"] else "CHECKS FAILED", payload["elapsed_seconds"], path))
        print(f"wrote {path.relative_to(h.REPO)} in {payload['elapsed_seconds']:.0f} s\n", flush=True)
    h.clean_scratch()
    if len(todo) > 1:
        print(h.md_table(["suite", "result", "seconds", "JSON"],
                         [(n, r, f"{s:.0f}", p.relative_to(h.REPO) if p else "–") for n, r, s, p in summary], "llrl"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
