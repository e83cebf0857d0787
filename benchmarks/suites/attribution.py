"""Suite ``attribution``: events -> journeys -> Markov and Shapley credits, against ChannelAttribution.

1. **Touch-level events to credits** (DuckDB engine, one process, ``--repeats``
   runs with a fresh engine each): a simulated world with ``--channels`` ad
   channels (16 by default: the six default channels' parameters repeated, at a
   quarter of their delivery rate) and enough consumers for at least 1M
   journeys with touches; ``journeys(events).cache()`` (30-day look-back),
   ``markov(order=1)``, ``shapley()`` and ``markov(order=2)``, each timed.
2. **The path table from the events** (what a ChannelAttribution user must
   build first): ours (``journeys(events).paths()``) and the baselines of
   :mod:`suites.path_tables` (DuckDB SQL two ways, polars, pandas), each in its
   own process, ``--repeats`` timed runs. Every baseline must give exactly our
   table (paths and counts exactly, values to 1e-9 relative).
3. **ChannelAttribution side by side** (when ``benchmarks/.ca-venv`` exists, see
   ``channelattribution_reference.py``), in its own process under that venv:
   ``markov_model(order=1)`` with its default simulation settings (seeds 0, 10,
   20) and ``transition_matrix`` on our path table. End to end, ours (events to
   Markov + Shapley credits) is compared with the fastest baseline's path table
   plus ``markov_model``. Our removal effects must lie within its simulation
   noise.
4. **Markov from an in-memory path table** (what ChannelAttribution's users
   already have): ``markov(from_paths(df))`` on the same ``pd.read_csv`` frame
   that ``markov_model`` gets, split into loading (``from_paths``), unnesting
   and counting (``transitions``: the path strings split into touches and the
   transitions counted) and solving (``markov`` less ``transitions`` on the same
   journeys), against ``transition_matrix`` (parse + count) and the rest of
   ``markov_model`` (its simulation).
   Its credits must equal ours from the journeys.
5. **Deep model** (:class:`~marketing360.attribution.DeepMTA`, ``arch="rnn"``,
   default sizes, max_len 30) on calendar journeys of a ``--deep-users`` world:
   training throughput in journeys per second (one and two torch threads) and
   inference latency per journey at batch size 1 on one core (p50 / p99 over
   2,000 journeys: sequence arrays in, probability out).
"""

from __future__ import annotations

import time
from typing import Any

import harness as h

from suites import path_tables

NAME = "attribution"
#: "paths": where journeys and path tables are moving
MEASURED = ("attribution", "paths", "engine", "schema.py", "inputs.py", "datasets/readers")
DEFAULTS = {"repeats": 2, "quick_repeats": 1, "seed": 1, "wait_quiet": 30.0}
OK_TEXT = ("every baseline gives exactly our path table; our removal effects lie within ChannelAttribution's "
           "noise; Markov from the path table = Markov from the journeys")

CA_PYTHON = h.HERE / ".ca-venv" / "bin" / "python"
CA_SEEDS = (0, 10, 20)  # ChannelAttribution folds use seed + r (r < 10): seeds 10 apart share no stream
#: quick: consumers of the world and of the deep model's world
QUICK = {"users": 3_000, "deep_users": 400}
#: our removal effects must lie within Z_TOLERANCE standard deviations of ChannelAttribution's runs,
#: plus ABS_TOLERANCE (its runs can agree closely by chance)
Z_TOLERANCE, ABS_TOLERANCE = 4.0, 0.005


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


# ============================================================================ workers (in subprocesses)


def _work_credits(spec: dict[str, Any]) -> dict[str, Any]:
    """Events -> journeys -> Markov + Shapley credits, ``repeats`` runs with a fresh engine each; writes
    our path table (ChannelAttribution's layout) for the other measurements."""
    import resource

    import marketing360 as m3
    from marketing360.datasets import write_channelattribution_paths
    from suites import m3api

    M = m3api.models_api()
    runs = []
    for _ in range(spec["repeats"]):
        eng = m3.connect()
        r: dict[str, Any] = {}
        t_all = time.perf_counter()
        ev = eng.table(spec["events"])
        r["journeys_seconds"], j = timed(lambda: m3api.journeys(ev, spec["lookback_days"]).cache())
        r["markov_seconds"], m1 = timed(lambda: M.markov(j))
        r["shapley_seconds"], sh = timed(lambda: M.shapley(j))
        r["total_seconds"] = time.perf_counter() - t_all
        r["markov2_seconds"], _ = timed(lambda: M.markov(j, order=2))
        r.update(m3api.journey_counts(j))
        r["channels"] = m3api.n_channels(sh)
        r["paths_seconds"], paths = timed(lambda: m3api.path_table(j))
        r["distinct_paths"] = len(paths)
        canonical = paths.rename(columns={v: k for k, v in m3api.CA_COLUMNS.items()})
        r["model_only_markov_seconds"], _ = timed(lambda: M.markov(m3api.from_paths(eng.table(canonical))))
        r["removal_effects"] = m3api.removal_effects(m1)
        r["markov_conversions"] = m3api.credited(m1)
        r["shapley_conversions"] = m3api.credited(sh)
        j = m1 = sh = None  # drop the cached journeys while the engine lives (closing it first orphans them)
        runs.append(r)
        print(f"journeys {r['journeys_seconds']:.2f} s + markov {r['markov_seconds']:.2f} s + shapley "
              f"{r['shapley_seconds']:.2f} s = {r['total_seconds']:.2f} s", flush=True)
    write_channelattribution_paths(canonical, spec["csv"])
    return {"runs": runs, "csv": spec["csv"], "self_maxrss_kb": h.maxrss_kb(resource.RUSAGE_SELF)}


def _work_path_table(spec: dict[str, Any]) -> dict[str, Any]:
    """One implementation of events -> path table: start-up apart, then ``repeats`` timed runs; the
    last table is written to ``spec["out"]`` (parquet) for the comparison."""
    import resource

    label, setup = path_tables.IMPLEMENTATIONS[spec["impl"]]
    startup, run = timed(setup)
    times, out = [], None
    for _ in range(spec["repeats"]):
        t, out = timed(lambda: run(spec["events"], spec["lookback_days"]))
        times.append(t)
        print(f"{spec['impl']}: {t:.3f} s, {len(out):,} paths", flush=True)
    out.to_parquet(spec["out"], index=False)
    return {"impl": spec["impl"], "via": label, "startup_seconds": startup, "repeats": times,
            "median": h.median(times), "rows": len(out), "self_maxrss_kb": h.maxrss_kb(resource.RUSAGE_SELF)}


def _work_compare_paths(spec: dict[str, Any]) -> dict[str, Any]:
    """Every path table against the reference (not timed)."""
    import pandas as pd

    ref = pd.read_parquet(spec["reference"])
    return {"comparisons": {name: path_tables.compare(ref, pd.read_parquet(p)) for name, p in spec["others"].items()}}


def _work_markov_paths(spec: dict[str, Any]) -> dict[str, Any]:
    """Our exact Markov from an in-memory ChannelAttribution path table, split into its steps."""
    import resource

    import pandas as pd

    from suites import m3api

    M = m3api.models_api()
    df = pd.read_csv(spec["csv"], sep=";")  # what markov_model gets too
    as_is = m3api.accepts_ca_columns()
    first, _ = timed(lambda: M.markov(m3api.from_ca_frame(df, as_is)))  # warm-up, as ChannelAttribution's
    runs, m = [], None
    for _ in range(spec["repeats"]):
        r: dict[str, Any] = {}
        r["total_seconds"], m = timed(lambda: M.markov(m3api.from_ca_frame(df, as_is)))  # the user's call
        r["load_seconds"], j = timed(lambda: m3api.from_ca_frame(df, as_is))
        r["count_seconds"], _ = timed(lambda: M.transitions(j))
        r["markov_seconds"], _ = timed(lambda: M.markov(j))
        r["solve_seconds"] = max(0.0, r["markov_seconds"] - r["count_seconds"])
        runs.append(r)
        j = None
        print(f"markov(from_paths(df)) {r['total_seconds']:.3f} s: load {r['load_seconds']:.3f} + unnest and count "
              f"{r['count_seconds']:.3f} + solve {r['solve_seconds']:.3f}", flush=True)
    med = {k: h.median(r[k] for r in runs) for k in runs[0]}
    return {"runs": runs, "median": med, "first_call_seconds": first, "rows": len(df),
            "ca_columns_accepted_as_is": as_is,
            "removal_effects": m3api.removal_effects(m), "markov_conversions": m3api.credited(m),
            "self_maxrss_kb": h.maxrss_kb(resource.RUSAGE_SELF)}


def _work_channelattribution(spec: dict[str, Any]) -> dict[str, Any]:
    """ChannelAttribution (its own venv): ``transition_matrix`` and ``markov_model`` on the path table."""
    import contextlib
    import io
    import resource
    from importlib import metadata

    import pandas as pd

    with contextlib.redirect_stdout(io.StringIO()):  # it prints a banner on import
        from ChannelAttribution import markov_model, transition_matrix

    df = pd.read_csv(spec["csv"], sep=";")
    args = (df, "path", "total_conversions")
    tm_times, times, runs, out = [], [], [], None
    with contextlib.redirect_stdout(io.StringIO()):  # warm-up (untimed in the figures), as ours
        first, _ = timed(lambda: markov_model(*args, var_value="total_conversion_value", var_null="total_null",
                                              order=1, seed=spec["seeds"][0], verbose=False))
    for seed in spec["seeds"]:
        with contextlib.redirect_stdout(io.StringIO()):
            t, _ = timed(lambda: transition_matrix(*args, var_null="total_null", order=1))
            tm_times.append(t)
            t, out = timed(lambda: markov_model(*args, var_value="total_conversion_value", var_null="total_null",
                                                order=1, out_more=True, seed=seed, verbose=False))
        times.append(t)
        runs.append(out["removal_effects"].set_index("channel_name")["removal_effects_conversion"].to_dict())
        print(f"ChannelAttribution seed {seed}: transition_matrix {tm_times[-1]:.3f} s, markov_model {t:.3f} s",
              flush=True)
    return {"version": metadata.version("ChannelAttribution"), "seconds": times, "seeds": list(spec["seeds"]),
            "first_call_seconds": first,
            "transition_matrix_seconds": tm_times, "rows": len(df), "result": out["result"].to_dict("list"),
            "removal_effects": out["removal_effects"].to_dict("list"), "removal_effects_runs": runs,
            "self_maxrss_kb": h.maxrss_kb(resource.RUSAGE_SELF)}


def _work_deep(spec: dict[str, Any]) -> dict[str, Any]:
    """DeepMTA: training throughput (1 and 2 torch threads) and inference latency at batch size 1."""
    import resource

    import numpy as np
    import pandas as pd
    import torch

    import marketing360 as m3
    from suites import m3api

    w = m3.datasets.simulate(n_users=spec["users"], n_days=60, truth="none", seed=7)
    eng = m3.connect()
    brands = sorted(w.events.brand.dropna().unique())
    pop = eng.table(w.users[["user_id"]].merge(pd.DataFrame({"brand": brands}), how="cross"))
    seq = m3api.journey_sequences(m3api.journeys(eng.table(w.events), 30, population=pop, anchor="calendar"),
                                  max_len=30)
    out: dict[str, Any] = {"journeys": len(seq), "mean_touches": float(seq.lengths.mean()), "train": {}}
    epochs = spec["epochs"]
    for threads in (1, 2):
        torch.set_num_threads(threads)
        h.wait_quiet(spec["quiet"])
        t, model = timed(lambda: m3api.deep_model(epochs, 0).fit(seq, user_features=w.users))
        # each journey is seen once per epoch as converted and/or as not converted
        rows = int((seq.conversions > 0).sum() + (seq.nulls > 0).sum())
        out["train"][threads] = {"seconds": t, "epochs": epochs, "rows_per_epoch": rows,
                                 "journeys_per_second": epochs * rows / t,
                                 "final_loss": m3api.deep_history(model)[-1]}
        print(f"DeepMTA training, {threads} thread(s): {epochs * rows / t:,.0f} journeys/s", flush=True)
    torch.set_num_threads(1)
    one = m3api.deep_one_journey(model, seq, w.users)
    rng = np.random.default_rng(0)
    pick = rng.choice(np.flatnonzero(seq.lengths > 0), size=spec["latency_journeys"], replace=True)
    for r in pick[:50]:  # warm-up
        one(r)
    h.wait_quiet(spec["quiet"])
    lat = []
    for r in pick:
        t0 = time.perf_counter()
        one(r)
        lat.append((time.perf_counter() - t0) * 1000)
    lat_a = np.array(lat)
    out["inference_ms"] = {q: float(np.percentile(lat_a, p)) for q, p in (("p50", 50), ("p95", 95), ("p99", 99))}
    out["inference_ms"]["max"] = float(lat_a.max())
    t, _ = timed(lambda: model.attribute(seq, w.users))
    out["attribute_seconds"] = t
    out["converting_journeys"] = int(((seq.conversions > 0) & (seq.lengths > 0)).sum())
    out["self_maxrss_kb"] = h.maxrss_kb(resource.RUSAGE_SELF)
    return out


WORKERS = {"attr_credits": _work_credits, "attr_path_table": _work_path_table,
           "attr_compare_paths": _work_compare_paths, "attr_markov_paths": _work_markov_paths,
           "attr_channelattribution": _work_channelattribution, "attr_deep": _work_deep}


# ============================================================================ the suite (parent)


def removal_effect_agreement(ours: dict[str, float], ca_runs: list[dict[str, float]]) -> dict[str, Any]:
    """Our exact removal effects against ChannelAttribution's simulated runs: z-scores and problems."""
    chans = sorted(set(ours) | {c for r in ca_runs for c in r})
    z, problems = {}, []
    for c in chans:
        xs = [r.get(c, 0.0) for r in ca_runs]
        mean = sum(xs) / len(xs)
        sd = (sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) ** 0.5 if len(xs) > 1 else 0.0
        mine = ours.get(c, 0.0)
        if sd > 0:
            z[c] = (mine - mean) / sd
        if abs(mine - mean) > Z_TOLERANCE * sd + ABS_TOLERANCE:
            problems.append(f"removal effect of {c}: ours {mine:.4f}, ChannelAttribution {mean:.4f} ± {sd:.4f} "
                            f"over {len(xs)} runs")
    return {"z": z, "max_abs_z": max((abs(v) for v in z.values()), default=0.0), "problems": problems}


def bench_attribution(a: Any) -> tuple[dict[str, Any], bool]:
    quick, reps, quiet = a.quick, a.repeats, a.quiet
    users = a.users or (QUICK["users"] if quick else 240_000)
    deep_users = a.deep_users or (QUICK["deep_users"] if quick else 20_000)
    baselines = [b.strip() for b in a.baselines.split(",") if b.strip()]
    timeout = 900 if quick else 3600
    problems: list[str] = []
    notes: list[str] = []
    world = h.cached_world(users, a.days, a.seed, fresh=a.fresh_data, channels=a.channels)
    events = world["path"]
    csv = h.scratch("mta-paths.csv")

    print("  attribution: events -> journeys -> Markov + Shapley credits ...", flush=True)
    cred = h.run_case("attr-credits", {"kind": "attr_credits", "events": events, "repeats": reps,
                                       "lookback_days": a.lookback_days, "csv": str(csv)},
                      timeout=timeout, quiet=quiet)
    runs = cred["runs"]
    for r in runs:
        print(f"    journeys {r['journeys_seconds']:.2f} s + markov {r['markov_seconds']:.2f} s + shapley "
              f"{r['shapley_seconds']:.2f} s = {r['total_seconds']:.2f} s ({r['journeys_with_touches']:,.0f} "
              f"journeys, {r['distinct_paths']:,} paths)", flush=True)
    med = {k: h.median(r[k] for r in runs) for k in
           ("journeys_seconds", "markov_seconds", "shapley_seconds", "total_seconds", "markov2_seconds",
            "paths_seconds", "model_only_markov_seconds")}

    # the path table from the events: ours and the baselines, each in its own process
    tables: dict[str, dict[str, Any]] = {}
    files: dict[str, str] = {}
    for impl in ["ours", *baselines]:
        files[impl] = str(h.scratch(f"paths-{impl}.parquet"))
        print(f"  path table from the events: {impl} ...", flush=True)
        try:
            res = h.run_case(f"attr-paths-{impl}", {"kind": "attr_path_table", "impl": impl, "events": events,
                                                    "lookback_days": a.lookback_days, "repeats": reps,
                                                    "out": files[impl]}, timeout=timeout, quiet=quiet)
        except h.CaseFailed as exc:
            problems.append(str(exc).splitlines()[0])
            print(f"    FAILED: {exc}", flush=True)
            continue
        tables[impl] = res
        print(f"    {', '.join(f'{s:.2f}' for s in res['repeats'])} s, {res['rows']:,} paths (peak RSS "
              f"{h.mib(res['maxrss_kb'])})", flush=True)
    if "ours" in tables:
        cmp = h.run_case("attr-compare-paths", {"kind": "attr_compare_paths", "reference": files["ours"],
                                                "others": {k: files[k] for k in tables if k != "ours"}},
                         timeout=timeout)
        for impl, c in cmp["comparisons"].items():
            tables[impl]["equal_to_ours"] = not c["problems"]
            tables[impl]["comparison"] = c
            problems += [f"path table {impl} vs ours: {p}" for p in c["problems"]]
    done = [b for b in baselines if tables.get(b, {}).get("equal_to_ours")]  # a wrong table is no baseline
    fastest = min(done, key=lambda b: tables[b]["median"]) if done else None
    for t in tables.values():
        t["vs_fastest_baseline"] = t["median"] / tables[fastest]["median"] if fastest else None

    # ChannelAttribution, and our Markov from its in-memory path table
    ca = None
    if CA_PYTHON.exists():
        print("  ChannelAttribution markov_model / transition_matrix on our path table ...", flush=True)
        ca = h.run_case("attr-channelattribution", {"kind": "attr_channelattribution", "csv": str(csv),
                                                    "seeds": list(CA_SEEDS)},
                        timeout=timeout, quiet=quiet, python=CA_PYTHON)
        print(f"    markov_model {', '.join(f'{s:.2f}' for s in ca['seconds'])} s; transition_matrix "
              f"{', '.join(f'{s:.2f}' for s in ca['transition_matrix_seconds'])} s", flush=True)
        if "pandas" in tables:  # the old layout's fields
            ca["pandas_paths_seconds"] = tables["pandas"]["median"]
            ca["pandas_paths_equal_ours"] = tables["pandas"].get("equal_to_ours")
    else:
        notes.append("ChannelAttribution was not measured: benchmarks/.ca-venv is missing "
                     "(see benchmarks/channelattribution_reference.py for how to make it)")
        print(f"  NOTE: {notes[-1]}", flush=True)
    print("  markov(from_paths(df)) on the in-memory path table ...", flush=True)
    mp = h.run_case("attr-markov-paths", {"kind": "attr_markov_paths", "csv": str(csv),
                                          "repeats": reps if quick else max(reps, 3)}, timeout=timeout, quiet=quiet)
    print(f"    {h.fmt_s(mp['median']['total_seconds'])} s (load {h.fmt_s(mp['median']['load_seconds'])}, unnest "
          f"and count {h.fmt_s(mp['median']['count_seconds'])}, solve "
          f"{h.fmt_s(mp['median']['solve_seconds'])})", flush=True)
    ours_conv = runs[-1]["markov_conversions"]
    bad = [c for c in ours_conv if abs(mp["markov_conversions"].get(c, 0.0) - ours_conv[c])
           > 1e-6 * max(1.0, abs(ours_conv[c]))]
    if bad or set(mp["markov_conversions"]) != set(ours_conv):
        problems.append(f"markov(from_paths(path table)) credits differ from markov(journeys) for {bad[:5]}")

    print("  DeepMTA training and inference ...", flush=True)
    deep = h.run_case("attr-deep", {"kind": "attr_deep", "users": deep_users, "epochs": 1 if quick else 3,
                                    "latency_journeys": 200 if quick else 2000, "quiet": quiet}, timeout=timeout)

    payload: dict[str, Any] = {
        "benchmark": "attribution", "quick": quick,
        "parameters": {"users": users, "days": a.days, "channels": a.channels, "repeats": reps, "seed": a.seed,
                       "deep_users": deep_users, "lookback_days": a.lookback_days, "wait_quiet": quiet,
                       "baselines": baselines, "world": world,
                       "timed": "each measurement in its own process; imports and connections apart; the path "
                                "tables from the events parquet folder (page cache) to a pandas frame ordered "
                                "by path; ChannelAttribution from the pandas frame read from our path table"},
        "credits": cred, "median": med, "path_tables": tables, "fastest_baseline": fastest,
        "channelattribution": ca, "markov_from_paths": mp, "deep": deep, "notes": notes}
    if ca:
        ca_med = h.median(ca["seconds"])
        ca_tm = h.median(ca["transition_matrix_seconds"])
        e2e = {b: tables[b]["median"] + ca_med for b in done}
        theirs = dict(zip(ca["result"]["channel_name"], ca["result"]["total_conversions"], strict=True))
        diff = {c: (ours_conv[c] - theirs[c]) / theirs[c] for c in theirs if theirs[c] > 0 and c in ours_conv}
        ours_re = runs[-1]["removal_effects"]
        agree = removal_effect_agreement(ours_re, ca["removal_effects_runs"])
        problems += agree["problems"]
        theirs_re = dict(zip(ca["removal_effects"]["channel_name"],
                             ca["removal_effects"]["removal_effects_conversion"], strict=True))
        mpm = mp["median"]
        payload["comparison"] = {
            "channelattribution_median_seconds": ca_med,
            "channelattribution_transition_matrix_median_seconds": ca_tm,
            "fastest_baseline": fastest,
            "channelattribution_end_to_end_seconds": e2e.get(fastest),
            "channelattribution_end_to_end_seconds_by_baseline": e2e,
            "ours_end_to_end_over_ca_end_to_end": med["total_seconds"] / e2e[fastest] if fastest else None,
            "ours_end_to_end_over_ca_end_to_end_by_baseline": {b: med["total_seconds"] / v for b, v in e2e.items()},
            "ours_markov_on_journeys_over_ca": med["markov_seconds"] / ca_med,
            "ours_model_only_over_ca": med["model_only_markov_seconds"] / ca_med,
            "markov_from_in_memory_paths": {
                "ours_seconds": mpm["total_seconds"], "ca_seconds": ca_med,
                "ours_over_ca": mpm["total_seconds"] / ca_med,
                "ours_load_unnest_count_seconds": mpm["load_seconds"] + mpm["count_seconds"],
                "ca_transition_matrix_seconds": ca_tm,
                "ours_solve_seconds": mpm["solve_seconds"], "ca_rest_seconds": max(0.0, ca_med - ca_tm)},
            "max_abs_relative_difference_in_credits": max((abs(v) for v in diff.values()), default=0.0),
            "relative_difference_in_credits": diff,
            "removal_effect_difference": {c: ours_re.get(c, 0.0) - float(v) for c, v in theirs_re.items()},
            "removal_effect_z_vs_ca_runs": agree["z"], "max_abs_z": agree["max_abs_z"],
            "removal_effect_tolerance": f"|ours - mean| <= {Z_TOLERANCE} sd + {ABS_TOLERANCE}"}
    payload["checks"] = {"ok": not problems, "problems": problems}
    if not ca:
        payload["checks"]["ok_text"] = ("every baseline gives exactly our path table; Markov from the path table = "
                                        "Markov from the journeys; ChannelAttribution NOT compared (no .ca-venv)")
    payload["table_markdown"] = attribution_table(payload)
    return payload, not problems


def attribution_table(p: dict[str, Any]) -> str:
    med, runs, tables = p["median"], p["credits"]["runs"], p["path_tables"]
    r0 = runs[-1]
    n = len(runs)
    out = [f"{r0['journeys_with_touches']:,.0f} journeys with touches ({r0['touches']:,.0f} touches, "
           f"{r0['channels']} channels, {r0['distinct_paths']:,} distinct paths); medians of {n} run(s)\n"]
    steps = [("journeys_seconds", "`journeys(events).cache()` (from parquet)"),
             ("markov_seconds", "`markov(j)` (order 1, exact)"), ("shapley_seconds", "`shapley(j)`"),
             ("total_seconds", "**events → Markov + Shapley credits**"),
             ("markov2_seconds", "`markov(j, order=2)`"), ("paths_seconds", "`j.paths()` to pandas (from the cache)"),
             ("model_only_markov_seconds", "`markov(from_paths(ibis table))` from the path table")]
    out.append(h.md_table(["step", "seconds"], [(label, h.fmt_s(med[k])) for k, label in steps]))
    fastest = p["fastest_baseline"]
    rows = []
    for impl, t in tables.items():
        same = "reference" if impl == "ours" else ("yes" if t.get("equal_to_ours") else "NO")
        rows.append((f"{impl}: {t['via']}", h.fmt_s(t["median"]), h.fmt_ratio(t["vs_fastest_baseline"],
                                                                               impl == fastest),
                     f"{t['startup_seconds']:.2f}", h.mib(t["maxrss_kb"]), same))
    out += ["", f"The path table from the events (each in its own process, median of "
                f"{len(next(iter(tables.values()))['repeats']) if tables else 0}; fastest baseline: {fastest})\n",
            h.md_table(["implementation", "seconds", "vs fastest baseline", "start-up s", "peak RSS",
                        "same table as ours"], rows, "lrrrrl")]
    c = p.get("comparison")
    if c:
        ca = p["channelattribution"]
        e2e = c["channelattribution_end_to_end_seconds_by_baseline"]
        rows = [("ours: events → journeys → exact Markov + Shapley (DuckDB)", h.fmt_s(med["total_seconds"]),
                 h.fmt_ratio(c["ours_end_to_end_over_ca_end_to_end"]))]
        rows += [(f"ChannelAttribution {ca['version']}: {b} path table + `markov_model`", h.fmt_s(v),
                  h.fmt_ratio(e2e[fastest] / v if b != fastest else None, b == fastest))
                 for b, v in sorted(e2e.items(), key=lambda kv: kv[1])]
        out += ["", "End to end, events → Markov credits (ratios to ChannelAttribution with the fastest "
                    "baseline's path table)\n",
                h.md_table(["job", "seconds", "vs ChannelAttribution (fastest baseline)"], rows)]
    mpr = p["markov_from_paths"]
    mp, ca = mpr["median"], p["channelattribution"]
    m = c["markov_from_in_memory_paths"] if c else None
    na = "n/a (no .ca-venv)"

    def theirs(key: str) -> str:
        return h.fmt_s(m[key]) if m else na

    def vs(ours: float, key: str) -> str:
        return h.fmt_ratio(ours / m[key] if m and m[key] else None) if m else ""

    load_count = mp["load_seconds"] + mp["count_seconds"]
    rows = [("load: `from_paths(df)`" + ("" if mpr["ca_columns_accepted_as_is"] else " (columns renamed first)"),
             h.fmt_s(mp["load_seconds"]), "", ""),
            ("unnest + count: `transitions(j)`", h.fmt_s(mp["count_seconds"]), "", ""),
            ("**load + unnest + count** vs `transition_matrix`", h.fmt_s(load_count),
             theirs("ca_transition_matrix_seconds"), vs(load_count, "ca_transition_matrix_seconds")),
            ("**solve**: `markov(j)` − `transitions(j)` vs `markov_model` − `transition_matrix`",
             h.fmt_s(mp["solve_seconds"]), theirs("ca_rest_seconds"), vs(mp["solve_seconds"], "ca_rest_seconds")),
            ("**total**: `markov(from_paths(df))` vs `markov_model(df)`", h.fmt_s(mp["total_seconds"]),
             theirs("ca_seconds"), vs(mp["total_seconds"], "ca_seconds")),
            ("first call (a warm-up, not in the figures above)", h.fmt_s(mpr["first_call_seconds"]),
             h.fmt_s(ca["first_call_seconds"]) if ca else na,
             h.fmt_ratio(mpr["first_call_seconds"] / ca["first_call_seconds"]) if ca else "")]
    how = (f"ChannelAttribution order 1, default simulation, seeds {', '.join(map(str, ca['seeds']))}; medians of "
           f"{len(mpr['runs'])} and {len(ca['seconds'])} runs after one warm-up call each" if ca else
           f"medians of {len(mpr['runs'])} runs after one warm-up call")
    out += ["", f"Exact Markov from an in-memory path table ({mpr['rows']:,} paths, `pd.read_csv` frame; {how})\n",
            h.md_table(["step", "ours s", "ChannelAttribution s", "ours / CA"], rows)]
    if c:
        out += ["", f"ours / ChannelAttribution: Markov on the same journeys "
                    f"{c['ours_markov_on_journeys_over_ca']:.2f}×; credits differ by at most "
                    f"{c['max_abs_relative_difference_in_credits']:.2%} (its last run against our exact values); "
                    f"our removal effects lie within {c['max_abs_z']:.1f} sd of its {len(ca['seconds'])} runs"]
    d = p["deep"]
    dl = d["inference_ms"]
    tr = d["train"]
    one, two = tr.get("1") or tr.get(1), tr.get("2") or tr.get(2)
    out += ["", f"DeepMTA ({d['journeys']:,} calendar journeys): training {one['journeys_per_second']:,.0f} "
                f"journeys/s (1 thread), {two['journeys_per_second']:,.0f} (2 threads); inference batch 1 on one "
                f"core p50 {dl['p50']:.3f} ms, p99 {dl['p99']:.3f} ms; attribution of "
                f"{d['converting_journeys']:,} conversions {d['attribute_seconds']:.1f} s"]
    return "\n".join(out) + "\n"


def add_arguments(p: Any) -> None:
    p.add_argument("--users", type=int, default=None,
                   help=f"attribution: consumers of the world (default 240,000; {QUICK['users']:,} with --quick)")
    p.add_argument("--days", type=int, default=60, help="attribution: days of the world (default 60)")
    p.add_argument("--channels", type=int, default=16, help="attribution: ad channels (default 16)")
    p.add_argument("--lookback-days", type=float, default=30.0, help="attribution: journeys' look-back (30)")
    p.add_argument("--baselines", default=",".join(path_tables.BASELINES),
                   help="attribution: the path-table baselines to run (default "
                        f"{','.join(path_tables.BASELINES)})")
    p.add_argument("--deep-users", type=int, default=None,
                   help=f"attribution: consumers of the deep model's world (default 20,000; "
                        f"{QUICK['deep_users']:,} with --quick)")


def check_arguments(a: Any) -> str | None:
    bad = [b for b in a.baselines.split(",") if b.strip() and b.strip() not in path_tables.BASELINES]
    return f"unknown baseline(s) {bad}; choose from {path_tables.BASELINES}" if bad else None


def run(a: Any) -> tuple[dict[str, Any], bool]:
    return bench_attribution(a)


def report(payload: dict[str, Any]) -> list[str]:
    w = payload["parameters"]["world"]
    return [f"data: {w['events']:,} events ({w['users']:,} users × {w['days']} days, {w['channels']} channels, "
            f"{w['files']} files, {w['bytes'] / 2**20:,.0f} MiB) at {w['path']}"] + \
        [f"NOTE: {note}" for note in payload["notes"]]
