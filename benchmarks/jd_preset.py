"""The JD paper's own simulation study (``datasets.simulate_jd_mta``): does the deep model recover its truth?

Standalone (not a ``run.py`` suite)::

    nice .venv/bin/python benchmarks/jd_preset.py            # 3 worlds x 3 training seeds, about 8 min on 2 cores
    .venv/bin/python benchmarks/jd_preset.py --quick         # 1 small world, 1 seed: checks that it runs

What it does, per world (``simulate_jd_mta(n_users, seed=world)``, the
published design: 2 brands, 5 days, 2 ad positions, Poisson(2) impressions,
the recurrent brand state, the sigmoid conversion):

* journeys per consumer x brand x day: ``journeys(anchor="calendar",
  lookback_days=1)`` with every consumer x brand in the population (no-ad
  days included: they fix the model's baseline). A day's purchase is stamped
  after all of that day's impressions, so a converting journey holds the whole
  day, as in the study, where day ``t``'s conversion answers day ``t``'s
  exposures;
* ``DeepMTA(players="channel")`` fitted with each training seed, with the
  consumer profile ``d`` as its consumer feature (the JD network's input) and,
  with ``--features``, other encodings of it (``log_profile``: ``log d``;
  ``none``: no consumer feature);
* last touch and linear (``rule_based``);
* each method's credit shares against the true incremental Shapley shares:
  per position over both brands (``attribution.score``'s ``share_error``, half
  the L1 distance of the shares: 0 = the true split, 1 = disjoint) and per
  brand x position (the same distance over the four cells), plus the
  within-brand split of each brand (position 1's share of the brand's credit)
  and, for the deep model, the total credited against the true incremental
  conversions.

Results: ``benchmarks/results/jd-preset.json`` (``-quick`` with ``--quick``)
and a markdown table on stdout. The figures are in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

FEATURES = ("profile", "log_profile", "none")


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--users", type=int, default=100_000, help="consumers per world (the study: 100,000)")
    ap.add_argument("--worlds", type=int, nargs="+", default=[0, 1, 2], help="world seeds")
    ap.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1, 2], help="DeepMTA random_state values")
    ap.add_argument("--features", nargs="+", default=["log_profile"], choices=FEATURES,
                    help="consumer feature of the deep model, one set of fits each: the profile d as it is "
                         "(profile), log d (log_profile, the default) or none")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=4096)
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--max-len", type=int, default=12,
                    help="touches a journey keeps (a consumer x brand x day has Poisson(4) impressions: "
                         "0.1%% have more than 12)")
    ap.add_argument("--jobs", type=int, default=2, help="worlds run at once, one process each (torch: 1 thread)")
    ap.add_argument("--name", default="jd-preset", help="results/<name>.json")
    ap.add_argument("--quick", action="store_true",
                    help="one world of 5,000 consumers, one training seed, 8 epochs of batch 1,024: that it runs")
    a = ap.parse_args(argv)
    if a.quick:
        a.users, a.worlds, a.train_seeds, a.epochs, a.batch_size, a.lr, a.jobs = 5_000, [0], [0], 8, 1024, 5e-3, 1
    return a


def _user_features(world: Any, how: str) -> Any:
    import numpy as np

    if how == "none":
        return None
    u = world.users[["user_id", "profile"]]
    return u.assign(profile=np.log(u.profile)) if how == "log_profile" else u


def _shares(credit: Any) -> dict[str, Any]:
    """Shares of a credit Series indexed by (brand, channel): per cell, per channel, within each brand."""
    total = float(credit.sum())
    by_channel = credit.groupby(level="channel").sum()
    by_brand = credit.groupby(level="brand").sum()
    nan = float("nan")  # a method that credits nothing (or nothing of a brand) has no shares
    return {
        "credited": total,
        "cell": {f"{b}/{c}": float(v / total) if total > 0 else nan for (b, c), v in credit.items()},
        "channel": {c: float(v / total) if total > 0 else nan for c, v in by_channel.items()},
        "within_brand": {f"{b}/{c}": float(v / by_brand[b]) if by_brand[b] > 0 else nan
                         for (b, c), v in credit.items()},
    }


def _distance(a: dict[str, float], b: dict[str, float]) -> float:
    """Half the L1 distance between two share vectors with the same keys."""
    return 0.5 * sum(abs(a[k] - b[k]) for k in b)


def run_world(seed: int, args: argparse.Namespace) -> dict[str, Any]:
    import pandas as pd
    import torch

    import marketing360 as m3
    from marketing360.attribution import Attribution, DeepMTA, score, touch_credit
    from marketing360.datasets import simulate_jd_mta

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    w = simulate_jd_mta(args.users, seed=seed)
    t_sim = time.perf_counter() - t0
    eng = m3.connect()
    j = m3.paths.journeys(eng.table(w.events), lookback_days=1, anchor="calendar",
                          population=eng.table(w.population()), end=w.end).cache()
    totals = j.totals()
    t_journeys = time.perf_counter() - t0 - t_sim
    truth = w.truth.set_index(["brand", "channel"]).conversions
    true = _shares(truth)
    out: dict[str, Any] = {
        "world_seed": seed, "n_users": args.users, "params": w.params.to_dict(), "totals": w.totals,
        "truth": w.truth.to_dict("records"), "coalitions": w.coalitions.to_dict("records"),
        "true_shares": true,
        "journeys": {"n": int(totals.journeys.sum()), "converting": float(totals.conversions.sum()),
                     "without_ads": int(totals.loc[~totals.has_touches, "journeys"].sum()),
                     "converting_without_ads": float(totals.loc[~totals.has_touches, "conversions"].sum())},
        "seconds": {"simulate": t_sim, "journeys": t_journeys}, "runs": []}

    def record(method: str, credit: Any, extra: dict[str, Any]) -> None:
        s = _shares(credit)
        a = Attribution(pd.DataFrame({"method": method, "channel": list(s["channel"]),
                                      "conversions": credit.groupby(level="channel").sum().to_numpy(),
                                      "value": 0.0}))
        out["runs"].append({
            "method": method, **extra, **s,
            "share_error": float(score(a, w.truth).table().share_error[0]),
            "cell_error": _distance(s["cell"], true["cell"]),
            "within_brand_error": {b: abs(s["within_brand"][f"{b}/{w.channels[0]}"]
                                          - true["within_brand"][f"{b}/{w.channels[0]}"]) for b in w.brands},
        })

    for rule in ("last_touch", "linear"):
        tc = touch_credit(j, rule=rule).table()
        record(rule, tc.groupby(["brand", "channel"]).credit.sum().reindex(truth.index, fill_value=0.0), {})
    for feats in args.features:
        for ts in args.train_seeds:
            t1 = time.perf_counter()
            m = DeepMTA(players="channel", epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                        max_len=args.max_len, random_state=ts, progress=False)
            m.fit(j, user_features=_user_features(w, feats))
            t_fit = time.perf_counter() - t1
            a = m.attribute()
            assert a.touch_credit is not None  # the deep model credits every touch
            credit = a.touch_credit.groupby(["brand", "channel"]).credit.sum().reindex(truth.index, fill_value=0.0)
            record("deep_rnn", credit, {
                "features": feats, "train_seed": ts, "loss": m.history_,
                "incremental_ratio": float(credit.sum() / w.totals["incremental_conversions"]),
                "seconds_fit": t_fit, "seconds_attribute": time.perf_counter() - t1 - t_fit})
            print(f"  world {seed} deep ({feats}, seed {ts}): share error {out['runs'][-1]['share_error']:.3f}, "
                  f"fit {t_fit:.0f} s", flush=True)
    return out


def _spread(xs: list[float]) -> str:
    if len(xs) == 1:
        return f"{xs[0]:.3f}"
    return f"{statistics.mean(xs):.3f} ± {statistics.stdev(xs):.3f}"


def table(worlds: list[dict[str, Any]]) -> str:
    """Markdown: per world and method, position 1's share (overall and within each brand) and the errors."""
    brands = sorted({k.split("/")[0] for k in worlds[0]["true_shares"]["cell"]})
    chans = sorted({k.split("/")[1] for k in worlds[0]["true_shares"]["cell"]})
    p1 = chans[0]
    head = ["world", "method", f"{p1} share", *[f"{p1} within {b}" for b in brands], "share error",
            "brand x position error", "credited / true incremental"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w in worlds:
        t = w["true_shares"]
        lines.append("| " + " | ".join([str(w["world_seed"]), "**truth**", f"{t['channel'][p1]:.3f}",
                                        *[f"{t['within_brand'][f'{b}/{p1}']:.3f}" for b in brands], "", "",
                                        "1"]) + " |")
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in w["runs"]:
            name = r["method"] + (f" ({r['features']})" if "features" in r else "")
            groups.setdefault(name, []).append(r)
        for name, rs in groups.items():
            ratio = _spread([r["incremental_ratio"] for r in rs]) if "incremental_ratio" in rs[0] else \
                f"{rs[0]['credited'] / w['totals']['incremental_conversions']:.2f} (all conversions)"
            lines.append("| " + " | ".join([
                "", name + (f" ×{len(rs)}" if len(rs) > 1 else ""), _spread([r["channel"][p1] for r in rs]),
                *[_spread([r["within_brand"][f"{b}/{p1}"] for r in rs]) for b in brands],
                _spread([r["share_error"] for r in rs]), _spread([r["cell_error"] for r in rs]), ratio]) + " |")
    return "\n".join(lines)


def summary(worlds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per method: mean and spread of the errors over every world and training run; wins over last touch."""
    out: dict[str, Any] = {}
    for w in worlds:
        last = next(r for r in w["runs"] if r["method"] == "last_touch")
        for r in w["runs"]:
            name = r["method"] + (f" ({r['features']})" if "features" in r else "")
            s = out.setdefault(name, {"share_error": [], "cell_error": [], "beats_last_touch": 0, "runs": 0})
            s["share_error"].append(r["share_error"])
            s["cell_error"].append(r["cell_error"])
            s["runs"] += 1
            s["beats_last_touch"] += int(r["cell_error"] < last["cell_error"])
    for s in out.values():
        for k in ("share_error", "cell_error"):
            xs = s.pop(k)
            s[k] = {"mean": statistics.mean(xs), "sd": statistics.stdev(xs) if len(xs) > 1 else 0.0,
                    "max": max(xs)}
    return out


def main(argv: list[str] | None = None) -> int:
    from harness import machine_info, write_json

    args = _args(argv)
    t0 = time.perf_counter()
    info = machine_info()
    print(f"worlds {args.worlds}: {args.users:,} consumers each, {args.jobs} at once", flush=True)
    if args.jobs > 1 and len(args.worlds) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            worlds = list(pool.map(run_world, args.worlds, [args] * len(args.worlds)))
    else:
        worlds = [run_world(seed, args) for seed in args.worlds]
    elapsed = time.perf_counter() - t0
    import os
    import resource

    cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    payload = {"suite": args.name, "config": vars(args), "machine": info, "seconds": elapsed,
               "cpu_seconds": cpu, "loadavg_at_end": list(os.getloadavg()),
               "summary": summary(worlds), "worlds": worlds}
    path = write_json(args.name, args.quick, payload)
    print()
    print(table(worlds))
    print()
    for name, s in payload["summary"].items():
        print(f"{name}: share error {s['share_error']['mean']:.3f} (sd {s['share_error']['sd']:.3f}), "
              f"brand x position error {s['cell_error']['mean']:.3f} (sd {s['cell_error']['sd']:.3f}); "
              f"beats last touch (brand x position) in {s['beats_last_touch']}/{s['runs']} runs")
    print(f"\n{elapsed / 60:.1f} min wall, {cpu / 60:.1f} min CPU (load average at the start "
          f"{info['loadavg_at_start'][0]:.1f}, at the end {payload['loadavg_at_end'][0]:.1f}); results in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
