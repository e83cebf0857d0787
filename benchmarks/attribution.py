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
times, out = [], None
for i in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    out = markov_model(df, "path", "total_conversions", var_value="total_conversion_value",
                       var_null="total_null", order=1, out_more=True, seed=10 * i, verbose=False)
    times.append(time.perf_counter() - t0)
res = out["result"] if isinstance(out, dict) else out
re = out["removal_effects"] if isinstance(out, dict) else None
print(json.dumps({"seconds": times, "rows": len(df),
                  "result": res.to_dict("list"), "removal_effects": None if re is None else re.to_dict("list")}))
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
        r["model_only_markov_seconds"], _ = timed(lambda: markov(from_paths(csv)))
        r["removal_effects"] = m1.removal_effects.set_index("channel").removal_effect.to_dict()
        r["markov_conversions"] = m1.to_frame().set_index("channel").conversions.to_dict()
        r["background_cores_before"] = q["background_cores_before"]
        del j, m1, sh  # the cached journeys go with the engine (closing it first would orphan them)
        runs.append(r)
        print(f"    journeys {r['journeys_seconds']:.2f} s + markov {r['markov_seconds']:.2f} s + shapley "
              f"{r['shapley_seconds']:.2f} s = {r['total_seconds']:.2f} s ({r['journeys_with_touches']:,.0f} "
              f"journeys, {r['distinct_paths']:,} paths)", flush=True)
    return {"runs": runs, "csv": str(harness.DATA / "mta-paths.csv"),
            "maxrss_kb": harness._maxrss_kb(resource.RUSAGE_SELF)}


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
    a = p.parse_args(argv)
    if a.quick:
        a.users, a.repeats, a.deep_users = 20_000, 1, 5_000
    t0 = time.perf_counter()
    machine = harness.machine_info()
    print("== attribution", flush=True)
    path = make_world(a.users, a.days, a.channels, a.seed)
    credits = bench_credits(path, a.repeats, a.wait_quiet)
    ca = bench_channelattribution(credits["csv"], 3)
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

        ca_med = float(np.median(ca["seconds"]))
        theirs = dict(zip(ca["result"]["channel_name"], ca["result"]["total_conversions"], strict=True))
        ours = r0["markov_conversions"]
        diff = {c: (ours[c] - theirs[c]) / theirs[c] for c in theirs if theirs[c] > 0}
        payload["comparison"] = {"channelattribution_median_seconds": ca_med,
                                 "ours_end_to_end_over_ca": med["total_seconds"] / ca_med,
                                 "ours_model_only_over_ca": med["model_only_markov_seconds"] / ca_med,
                                 "max_abs_relative_difference_in_credits": max(abs(v) for v in diff.values()),
                                 "relative_difference_in_credits": diff}
        lines += [f"| ChannelAttribution markov_model (path table given) | {ca_med:.2f} |",
                  "", f"ours end to end / CA: {med['total_seconds'] / ca_med:.2f}×; ours model only / CA: "
                      f"{med['model_only_markov_seconds'] / ca_med:.2f}×; largest credit difference "
                      f"{max(abs(v) for v in diff.values()):.2%}"]
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
