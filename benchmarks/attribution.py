#!/usr/bin/env python
"""Attribution benchmark: events -> journeys -> Markov and Shapley credits, against ChannelAttribution.

Usage
-----
    .venv/bin/python benchmarks/attribution.py [--users N] [--days N] [--channels N]
                                               [--repeats N] [--quick] [--wait-quiet SECONDS]

1. **Touch-level events to credits** (DuckDB engine, one process): a simulated
   world with ``--channels`` ad channels (16 by default: the six default
   channels' parameters repeated, at a quarter of their delivery rate) and
   enough consumers for at least 1M journeys with touches; then
   ``journeys(events).cache()`` (30-day look-back), ``markov(order=1)``,
   ``shapley()`` and ``markov(order=2)``, each timed.
2. **ChannelAttribution side by side** (when ``benchmarks/.ca-venv`` exists,
   see ``channelattribution_reference.py``): the same journeys as a
   ChannelAttribution path table; ``markov_model(order=1)`` with its default
   simulation settings, timed in its own process, against ``markov(from_paths(...))``
   (model only) and against our whole events-to-credits run. ChannelAttribution
   gets the path table for free: building it from events is ours to do.
   The credits must agree within ChannelAttribution's simulation noise.
3. **Deep model** (:class:`~marketing360.attribution.DeepMTA`, ``arch="rnn"``,
   default sizes, max_len 30) on calendar journeys of a 20,000-consumer world:
   training throughput in journeys per second (one and two torch threads) and
   inference latency per journey at batch size 1 on one core (p50 / p99 over
   2,000 journeys: sequence arrays in, probability out).

4. **Accuracy** (``--accuracy``, written to ``results/attribution-accuracy.json``):
   every method's credits against the simulator's true incremental
   conversions (exact Shapley split over the channels), on the sample world
   (whose search and affiliate ads are retargeted at consumers about to buy)
   and on a world built to fool last touch (an upper-funnel video channel
   with real lift and few, early exposures; display everywhere with little
   lift); the causal models on calendar journeys, the deep model trained with
   several seeds.

Results go to ``benchmarks/results/attribution.json`` and a table is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run as harness  # noqa: E402  (the shared harness: machine info, quiet waits, JSON output)

CA_PYTHON = HERE / ".ca-venv" / "bin" / "python"

CA_SCRIPT = r"""
import json, sys, time
import pandas as pd
from ChannelAttribution import markov_model
df = pd.read_csv(sys.argv[1], sep=";")
times, out, runs = [], None, []
for i in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    out = markov_model(df, "path", "total_conversions", var_value="total_conversion_value",
                       var_null="total_null", order=1, out_more=True, seed=10 * i, verbose=False)
    times.append(time.perf_counter() - t0)
    runs.append(out["removal_effects"].set_index("channel_name")["removal_effects_conversion"].to_dict())
res, re = out["result"], out["removal_effects"]
print(json.dumps({"seconds": times, "rows": len(df), "result": res.to_dict("list"),
                  "removal_effects": re.to_dict("list"), "removal_effects_runs": runs}))
"""


def world_channels(n: int) -> dict[str, Any]:
    from marketing360.datasets.world import DEFAULT_CHANNELS

    base = list(DEFAULT_CHANNELS.values())
    return {f"ch{i:02d}": replace(base[i % len(base)], rate=base[i % len(base)].rate * 0.25) for i in range(n)}


def make_world(users: int, days: int, channels: int, seed: int) -> Path:
    import marketing360 as m3

    path = harness.DATA / f"mta-{users}x{days}-c{channels}-s{seed}"
    if (path / "events").exists():
        print(f"  reusing {path}", flush=True)
        return path
    t0 = time.perf_counter()
    m3.datasets.simulate(n_users=users, n_days=days, channels=world_channels(channels), truth="none",
                         seed=seed, out=path, n_jobs=2)
    print(f"  simulated {path} in {time.perf_counter() - t0:.1f} s", flush=True)
    return path


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def bench_credits(path: Path, repeats: int, quiet: float) -> dict[str, Any]:
    import marketing360 as m3
    from marketing360.attribution import from_paths, journeys, markov, shapley
    from marketing360.datasets import write_channelattribution_paths

    runs = []
    for _ in range(repeats):
        q = harness.wait_quiet(quiet)
        eng = m3.connect()
        r: dict[str, Any] = {}
        t_all = time.perf_counter()
        ev = eng.table(path / "events")
        r["journeys_seconds"], j = timed(lambda: journeys(ev, lookback_days=30).cache())
        r["markov_seconds"], m1 = timed(lambda: markov(j))
        r["shapley_seconds"], sh = timed(lambda: shapley(j))
        r["total_seconds"] = time.perf_counter() - t_all
        r["markov2_seconds"], _ = timed(lambda: markov(j, order=2))
        summary = j.summary()
        r["journeys_with_touches"] = float(summary.loc[summary.has_touches, "journeys"].sum())
        r["touches"] = float(summary.touches.sum())
        r["conversions"] = float(summary.loc[summary.has_touches, "conversions"].sum())
        r["channels"] = len(sh.to_frame())
        r["paths_seconds"], paths = timed(lambda: eng.to_pandas(j.paths()))
        r["distinct_paths"] = len(paths)
        csv = harness.DATA / "mta-paths.csv"
        write_channelattribution_paths(paths, csv)
        r["model_only_markov_seconds"], _ = timed(lambda: markov(from_paths(eng.table(paths))))
        r["removal_effects"] = m1.removal_effects.set_index("channel").removal_effect.to_dict()
        r["markov_conversions"] = m1.to_frame().set_index("channel").conversions.to_dict()
        r["background_cores_before"] = q["background_cores_before"]
        j = m1 = sh = None  # drop the cached journeys while the engine lives (closing it first orphans them)
        runs.append(r)
        print(f"    journeys {r['journeys_seconds']:.2f} s + markov {r['markov_seconds']:.2f} s + shapley "
              f"{r['shapley_seconds']:.2f} s = {r['total_seconds']:.2f} s ({r['journeys_with_touches']:,.0f} "
              f"journeys, {r['distinct_paths']:,} paths)", flush=True)
    return {"runs": runs, "csv": str(harness.DATA / "mta-paths.csv"),
            "maxrss_kb": harness._maxrss_kb(resource.RUSAGE_SELF)}


def pandas_paths(events_dir: Path, lookback_days: float = 30) -> Any:
    """The path table a ChannelAttribution user builds from the events with pandas (our journey definition)."""
    import pandas as pd

    ev = pd.read_parquet(events_dir, columns=["user_id", "ts", "brand", "event_type", "channel", "value"])
    # categorical columns as parquet gives them; group only the combinations present (observed=True)
    end = ev.ts.max()
    ev = ev[((ev.event_type.isin(["impression", "click"]) & ev.channel.notna()) | (ev.event_type == "purchase"))
            & ev.brand.notna()]
    ev = ev.assign(conv=(ev.event_type == "purchase").astype("int64"), value=ev.value.fillna(0.0))
    ev = ev.sort_values(["user_id", "brand", "ts", "conv", "value", "channel"], kind="stable")
    ev["journey"] = ev.groupby(["user_id", "brand"], sort=False, observed=True).conv.cumsum() - ev.conv
    key = ["user_id", "brand", "journey"]
    conv = ev.loc[ev.conv == 1, [*key, "ts", "value"]].rename(columns={"ts": "end"})
    t = ev.loc[ev.conv == 0, [*key, "ts", "channel"]].merge(conv, on=key, how="left")
    t["converted"] = t.end.notna()
    t["end"] = t.end.fillna(end)
    t = t[t.ts >= t.end - pd.Timedelta(days=lookback_days)]
    t = t.sort_values([*key, "ts", "channel"], kind="stable")
    per = t.groupby(key, sort=False, observed=True).agg(path=("channel", " > ".join), converted=("converted", "first"),
                                         value=("value", "first"))
    per["value"] = per.value.fillna(0.0)
    per["converted"] = per.converted.astype(bool)
    per["nulls"] = (~per.converted).astype("int64")
    per["conversions"] = per.converted.astype("int64")
    return per.groupby("path", as_index=False).agg(total_conversions=("conversions", "sum"),
                                                   total_conversion_value=("value", "sum"),
                                                   total_null=("nulls", "sum"))


def bench_channelattribution(csv: str, repeats: int) -> dict[str, Any] | None:
    if not CA_PYTHON.exists():
        print("  ChannelAttribution: benchmarks/.ca-venv not found (see channelattribution_reference.py)")
        return None
    p = subprocess.run([str(CA_PYTHON), "-c", CA_SCRIPT, csv, str(repeats)], capture_output=True, text=True,
                       timeout=3600)
    if p.returncode != 0:
        raise RuntimeError(f"ChannelAttribution failed: {p.stderr[-2000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    print(f"    ChannelAttribution markov_model: {', '.join(f'{s:.2f}' for s in out['seconds'])} s", flush=True)
    return out


def bench_deep(quiet: float, n_users: int) -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    import torch

    import marketing360 as m3
    from marketing360.attribution import DeepMTA, journey_sequences, journeys

    w = m3.datasets.simulate(n_users=n_users, n_days=60, truth="none", seed=7)
    eng = m3.connect()
    brands = sorted(w.events.brand.dropna().unique())
    pop = eng.table(w.users[["user_id"]].merge(pd.DataFrame({"brand": brands}), how="cross"))
    seq = journey_sequences(journeys(eng.table(w.events), lookback_days=30, population=pop, anchor="calendar"),
                            max_len=30)
    out: dict[str, Any] = {"journeys": len(seq), "mean_touches": float(seq.lengths.mean()), "train": {}}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        harness.wait_quiet(quiet)
        t, model = timed(lambda: DeepMTA(epochs=3, progress=False, seed=0).fit(seq, user_features=w.users))
        # each journey is seen once per epoch as converted and/or as not converted
        rows = int((seq.conversions > 0).sum() + (seq.nulls > 0).sum())
        out["train"][threads] = {"seconds": t, "epochs": 3, "rows_per_epoch": rows,
                                 "journeys_per_second": 3 * rows / t, "final_loss": model.history_[-1]}
        print(f"    DeepMTA training, {threads} thread(s): {3 * rows / t:,.0f} journeys/s", flush=True)
    torch.set_num_threads(1)
    user = model._users(seq, w.users)
    rng = np.random.default_rng(0)
    pick = rng.choice(np.flatnonzero(seq.lengths > 0), size=2000, replace=True)
    for r in pick[:50]:  # warm-up
        model._prob(torch, seq.tokens[r:r + 1], seq.hours[r:r + 1], seq.lengths[r:r + 1], user[r:r + 1])
    harness.wait_quiet(quiet)
    lat = []
    for r in pick:
        t0 = time.perf_counter()
        model._prob(torch, seq.tokens[r:r + 1], seq.hours[r:r + 1], seq.lengths[r:r + 1], user[r:r + 1])
        lat.append((time.perf_counter() - t0) * 1000)
    lat_a = np.array(lat)
    out["inference_ms"] = {q: float(np.percentile(lat_a, p)) for q, p in (("p50", 50), ("p95", 95), ("p99", 99))}
    out["inference_ms"]["max"] = float(lat_a.max())
    print(f"    DeepMTA inference, batch 1, 1 thread: p50 {out['inference_ms']['p50']:.3f} ms, "
          f"p99 {out['inference_ms']['p99']:.3f} ms", flush=True)
    t, _ = timed(lambda: model.attribute(seq, w.users, players="channel"))
    out["attribute_seconds"] = t
    out["converting_journeys"] = int(((seq.conversions > 0) & (seq.lengths > 0)).sum())
    return out


def fool_last_touch_channels() -> dict[str, Any]:
    """A world built to fool last touch: video lifts the funnel but comes last rarely (few, early
    exposures); display is everywhere, often last, with little lift; search is mildly retargeted."""
    from marketing360.datasets.world import DEFAULT_CHANNELS as d

    return {"video": replace(d["video"], beta=(0.10, 0.08, 0.03, 0.0), rate=0.04, reach=0.7, retarget=0.0),
            "display": replace(d["display"], beta=(0.008, 0.004, 0.002, 0.0), rate=0.8, reach=0.9, retarget=0.0),
            "search": replace(d["search"], beta=(0.0, 0.01, 0.012, 0.0), retarget=2.0)}


def bench_accuracy(n_users: int, seeds: list[int]) -> dict[str, Any]:
    """Every method's error against the true incremental conversions, on the sample world and on a
    world built to fool last touch; the deep model is trained with several seeds."""
    import pandas as pd
    import torch

    import marketing360 as m3
    from marketing360.attribution import (BaggedLogisticAttribution, CausalAttribution, DeepMTA, compare,
                                          journey_sequences, journeys, markov, probabilistic, rule_based, score,
                                          shapley)
    from marketing360.datasets import load_sample

    torch.set_num_threads(1)
    worlds = {"sample world (retargeted search / affiliate)": load_sample(),
              "fool-last-touch world": m3.datasets.simulate(n_users=n_users, n_days=60,
                                                            channels=fool_last_touch_channels(), truth="full",
                                                            seed=5)}
    out: dict[str, Any] = {}
    for name, w in worlds.items():
        t0 = time.perf_counter()
        eng = m3.connect()
        ev = eng.table(w.events)
        brands = sorted(w.events.brand.dropna().unique())
        pop = eng.table(w.users[["user_id"]].merge(pd.DataFrame({"brand": brands}), how="cross"))
        j = journeys(ev, lookback_days=30, population=pop).cache()
        jc = journeys(ev, lookback_days=30, population=pop, anchor="calendar").cache()
        res = [rule_based(j, ["first_touch", "last_touch", "linear", "time_decay", "position_based"]), markov(j),
               shapley(j), probabilistic(j), BaggedLogisticAttribution(n_bags=10).fit(j).attribute(),
               CausalAttribution().fit(jc).attribute()]
        seq = journey_sequences(jc, max_len=30)
        for sd in seeds:
            dm = DeepMTA(epochs=4, progress=False, seed=sd).fit(seq, user_features=w.users)
            res.append(dm.attribute(seq, w.users, players="channel").renamed(f"deep_rnn_seed{sd}"))
        table = score(compare(*res), w.truth.shapley)
        deep = table[table.index.str.startswith("deep_rnn")]
        out[name] = {"score": table.reset_index().to_dict("list"),
                     "truth": w.truth.shapley.to_dict("list"), "seconds": time.perf_counter() - t0,
                     "deep_share_error_mean": float(deep.share_error.mean()),
                     "deep_share_error_sd": float(deep.share_error.std()),
                     "last_touch_share_error": float(table.loc["last_touch", "share_error"])}
        print(f"  {name}: last touch share error {table.loc['last_touch', 'share_error']:.3f}, deep "
              f"{deep.share_error.mean():.3f} ± {deep.share_error.std():.3f}, causal Shapley "
              f"{table.loc['causal_shapley', 'share_error']:.3f}", flush=True)
    return out


def accuracy_markdown(acc: dict[str, Any]) -> str:
    import pandas as pd

    lines = []
    for name, r in acc.items():
        t = pd.DataFrame(r["score"]).set_index("method")
        lines += [f"**{name}** (truth: {sum(r['truth']['conversions']):,.0f} incremental conversions)", "",
                  "| method | credited | share error | relative error |", "|---|---:|---:|---:|"]
        lines += [f"| {m} | {row.credited:,.0f} | {row.share_error:.3f} | {row.relative_error:.2f} |"
                  for m, row in t.iterrows()]
        lines += ["", f"deep_rnn over {len([m for m in t.index if m.startswith('deep')])} seeds: share error "
                      f"{r['deep_share_error_mean']:.3f} ± {r['deep_share_error_sd']:.3f}; last touch "
                      f"{r['last_touch_share_error']:.3f}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=240_000)
    p.add_argument("--days", type=int, default=60)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--deep-users", type=int, default=20_000)
    p.add_argument("--quick", action="store_true", help="20,000 consumers, 1 repeat")
    p.add_argument("--wait-quiet", type=float, default=30.0)
    p.add_argument("--accuracy", action="store_true",
                   help="instead: every method's error against the truth (results/attribution-accuracy.json)")
    p.add_argument("--accuracy-users", type=int, default=20_000)
    p.add_argument("--accuracy-seeds", type=int, nargs="+", default=[0, 1, 2])
    a = p.parse_args(argv)
    if a.quick:
        a.users, a.repeats, a.deep_users = 20_000, 1, 5_000
    t0 = time.perf_counter()
    machine = harness.machine_info()
    if a.accuracy:
        print("== attribution accuracy", flush=True)
        acc = bench_accuracy(a.accuracy_users, a.accuracy_seeds)
        payload = {"benchmark": "attribution-accuracy", "machine": machine, "parameters": vars(a),
                   "worlds": acc, "table_markdown": accuracy_markdown(acc),
                   "elapsed_seconds": time.perf_counter() - t0}
        out = harness.write_json("attribution-accuracy", False, payload)
        print("\n" + payload["table_markdown"])
        print(f"wrote {out.relative_to(harness.REPO)} in {payload['elapsed_seconds']:.0f} s")
        return 0
    print("== attribution", flush=True)
    path = make_world(a.users, a.days, a.channels, a.seed)
    credits = bench_credits(path, a.repeats, a.wait_quiet)
    ca = None
    if CA_PYTHON.exists():
        import pandas as pd

        harness.wait_quiet(a.wait_quiet)
        t_pd, pp = timed(lambda: pandas_paths(path / "events"))
        print(f"    pandas path table (a ChannelAttribution user's step): {t_pd:.1f} s, {len(pp):,} paths", flush=True)
        ours_paths = pd.read_csv(credits["csv"], sep=";")
        same = (len(pp) == len(ours_paths) and pp.total_conversions.sum() == ours_paths.total_conversions.sum()
                and pp.total_null.sum() == ours_paths.total_null.sum())
        ca = bench_channelattribution(credits["csv"], 3)
        ca["pandas_paths_seconds"] = t_pd
        ca["pandas_paths_equal_ours"] = bool(same)
    deep = bench_deep(a.wait_quiet, a.deep_users)
    runs = credits["runs"]
    med = {k: sorted(r[k] for r in runs)[len(runs) // 2] for k in
           ("journeys_seconds", "markov_seconds", "shapley_seconds", "total_seconds", "markov2_seconds",
            "paths_seconds", "model_only_markov_seconds")}
    payload: dict[str, Any] = {"benchmark": "attribution", "quick": a.quick, "machine": machine,
                               "parameters": vars(a), "credits": credits, "median": med,
                               "channelattribution": ca, "deep": deep}
    lines = ["| step | seconds |", "|---|---:|"]
    for k in ("journeys_seconds", "markov_seconds", "shapley_seconds", "total_seconds", "markov2_seconds",
              "paths_seconds", "model_only_markov_seconds"):
        lines.append(f"| {k.replace('_seconds', '').replace('_', ' ')} | {med[k]:.2f} |")
    r0 = runs[-1]
    lines.insert(0, f"{r0['journeys_with_touches']:,.0f} journeys with touches ({r0['touches']:,.0f} touches, "
                    f"{r0['channels']} channels, {r0['distinct_paths']:,} distinct paths)\n")
    if ca:
        import numpy as np
        import pandas as pd

        ca_med = float(np.median(ca["seconds"]))
        ca_e2e = ca["pandas_paths_seconds"] + ca_med
        re_runs = np.array(ca["removal_effects"]["removal_effects_conversion"], dtype=float) \
            if ca.get("removal_effects") else None
        theirs = dict(zip(ca["result"]["channel_name"], ca["result"]["total_conversions"], strict=True))
        ours = r0["markov_conversions"]
        diff = {c: (ours[c] - theirs[c]) / theirs[c] for c in theirs if theirs[c] > 0}
        ours_re = r0["removal_effects"]
        theirs_re = dict(zip(ca["removal_effects"]["channel_name"], re_runs, strict=True)) if re_runs is not None else {}
        runs_re = pd.DataFrame(ca["removal_effects_runs"])  # one row per ChannelAttribution run (seeds 0, 10, 20)
        z = {c: (ours_re[c] - runs_re[c].mean()) / runs_re[c].std() for c in runs_re.columns if runs_re[c].std() > 0}
        payload["comparison"] = {"channelattribution_median_seconds": ca_med,
                                 "channelattribution_end_to_end_seconds": ca_e2e,
                                 "ours_end_to_end_over_ca_end_to_end": med["total_seconds"] / ca_e2e,
                                 "ours_markov_on_journeys_over_ca": med["markov_seconds"] / ca_med,
                                 "ours_model_only_over_ca": med["model_only_markov_seconds"] / ca_med,
                                 "max_abs_relative_difference_in_credits": max(abs(v) for v in diff.values()),
                                 "relative_difference_in_credits": diff,
                                 "removal_effect_difference": {c: ours_re[c] - theirs_re[c] for c in theirs_re},
                                 "removal_effect_z_vs_ca_runs": z,
                                 "max_abs_z": max(abs(v) for v in z.values())}
        lines += [f"| pandas path table from the events (ChannelAttribution needs one) | {ca['pandas_paths_seconds']:.2f} |",
                  f"| ChannelAttribution markov_model (order 1, default simulations) | {ca_med:.2f} |",
                  f"| ChannelAttribution end to end (pandas paths + markov_model) | {ca_e2e:.2f} |",
                  "", f"ours / ChannelAttribution: end to end {med['total_seconds'] / ca_e2e:.2f}×, Markov on the "
                      f"same journeys {med['markov_seconds'] / ca_med:.2f}×, from an in-memory path table "
                      f"{med['model_only_markov_seconds'] / ca_med:.2f}×; credits differ by at most "
                      f"{max(abs(v) for v in diff.values()):.2%} (its last run against our exact values); our "
                      f"removal effects lie within {max(abs(v) for v in z.values()):.1f} sd of its 3 runs"]
    dl = deep["inference_ms"]
    lines += ["", f"DeepMTA ({deep['journeys']:,} calendar journeys): training "
                  f"{deep['train'][1]['journeys_per_second']:,.0f} journeys/s (1 thread), "
                  f"{deep['train'][2]['journeys_per_second']:,.0f} (2 threads); inference batch 1 on one core "
                  f"p50 {dl['p50']:.3f} ms, p99 {dl['p99']:.3f} ms; attribution of "
                  f"{deep['converting_journeys']:,} conversions {deep['attribute_seconds']:.1f} s"]
    payload["table_markdown"] = "\n".join(lines)
    payload["elapsed_seconds"] = time.perf_counter() - t0
    payload["machine"]["loadavg_at_end"] = list(os.getloadavg())
    out = harness.write_json("attribution", a.quick, payload)
    print("\n" + payload["table_markdown"])
    print(f"wrote {out.relative_to(harness.REPO)} in {payload['elapsed_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
