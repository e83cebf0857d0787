"""Issue 13, point 3: how much of a calibration margin in ``deep_vs_logistic.py`` would another test half move?

``deep_vs_logistic.py`` saves each model's test predictions (``pred-<seed>-<users>[-by-consumers]-<model>.npz``
beside its cached features). This script reads them back for two models, a baseline and a challenger, and resamples
the test consumers with replacement (a consumer drawn twice counts twice; every one of its rows goes with it), then
scores both models' gaps to the true chances on each draw with the benchmark's own ``gaps``. Per seed (purchases,
or ``--tasks``) it reports the observed binned gaps and, over the draws, the mean and standard deviation of the
baseline's binned gap minus the challenger's and the share of draws in which the challenger's is the smaller. The
models stay as they were fitted: this measures the test half's composition, not the training sample's noise.

Run:  .venv/bin/python benchmarks/calibration_bootstrap.py --users 16000 --seeds 1 2 3 --split consumers \\
        --models logistic esmm-platt-cf5-grp-decay --cache /tmp/featcache16k --name NAME
      (after ``deep_vs_logistic.py`` ran the same seeds, users, split, models and cache; writes results/NAME.json)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from deep_vs_logistic import MODELS, TASKS, clipped, features, gaps, scored_rows
from harness import machine_info, md_table, write_json


def draws_of(truth: np.ndarray, preds: dict[str, np.ndarray], consumer: np.ndarray, draws: int,
             rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The binned gap of each model's ``preds`` to ``truth`` on ``draws`` consumer bootstrap samples.

    ``consumer``: each row's consumer as 0 .. c-1. Rows are repeated as often as their consumer is drawn, in each
    model's stable sort order of its predictions, so ``gaps`` sees the same bins as on the resampled rows themselves.
    """
    c = int(consumer.max()) + 1
    order = {m: np.argsort(p, kind="stable") for m, p in preds.items()}
    out = {m: np.empty(draws) for m in preds}
    for i in range(draws):
        times = rng.multinomial(c, np.full(c, 1.0 / c))[consumer]
        for m, o in order.items():
            rows = np.repeat(o, times[o])
            out[m][i] = gaps(truth[rows], preds[m][rows])["binned_err_truth"]
    return out


def run_seed(seed: int, args: argparse.Namespace) -> dict[str, Any]:
    tag = "-by-consumers" if args.split == "consumers" else ""
    paths = {m: Path(args.cache) / f"pred-{seed}-{args.users}{tag}-{m}.npz" for m in args.models}
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        raise SystemExit(f"seed {seed}: no saved predictions {', '.join(missing)}; run deep_vs_logistic.py with the "
                         "same --seeds, --users, --split, --models and --cache first")
    saved = {m: np.load(p) for m, p in paths.items()}
    f, _, _ = features(seed, args.users, Path(args.cache))
    te = f[scored_rows(f, seed, args.split)]
    del f
    consumer = np.unique(te.user_id.to_numpy(), return_inverse=True)[1]
    base, challenger = args.models
    out: dict[str, Any] = {"seed": seed, "test_rows": len(te), "test_consumers": int(consumer.max()) + 1}
    for task in args.tasks:
        truth_col = TASKS[task][1]
        truth = te[truth_col].to_numpy(np.float64)
        preds = {m: clipped(saved[m][task]) for m in args.models}
        if any(len(p) != len(truth) for p in preds.values()):
            raise SystemExit(f"seed {seed}: the saved {task} predictions do not match the test rows; rerun "
                             "deep_vs_logistic.py with the same --users, --split and --cache")
        observed = {m: gaps(truth, p)["binned_err_truth"] for m, p in preds.items()}
        drawn = draws_of(truth, preds, consumer, args.draws, np.random.default_rng([seed, args.draws]))
        gain = drawn[base] - drawn[challenger]
        out[task] = {"binned_err_truth": observed, "reduction": observed[base] - observed[challenger],
                     "reduction_draws_mean": float(gain.mean()), "reduction_draws_sd": float(gain.std(ddof=1)),
                     "challenger_wins_share": float(np.mean(gain > 0))}
    return out


def table(per_seed: list[dict[str, Any]], models: list[str], task: str) -> str:
    base, challenger = models
    rows = [[r["seed"], f"{r[task]['binned_err_truth'][base] * 1e5:.2f}",
             f"{r[task]['binned_err_truth'][challenger] * 1e5:.2f}", f"{r[task]['reduction'] * 1e5:+.2f}",
             f"{r[task]['reduction_draws_mean'] * 1e5:+.2f}", f"{r[task]['reduction_draws_sd'] * 1e5:.2f}",
             f"{r[task]['challenger_wins_share']:.0%}"] for r in per_seed]
    return md_table(["seed", f"{base} ×1e-5", f"{challenger} ×1e-5", "reduction", "draws: mean", "sd",
                     f"{challenger} smaller"], rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--seeds", type=int, nargs="+", required=True)
    ap.add_argument("--users", type=int, required=True)
    ap.add_argument("--split", choices=["date", "consumers"], default="consumers")
    ap.add_argument("--models", nargs=2, required=True, choices=MODELS, metavar=("BASELINE", "CHALLENGER"))
    ap.add_argument("--tasks", nargs="+", choices=list(TASKS), default=["purchase"])
    ap.add_argument("--draws", type=int, default=100, help="bootstrap samples of the test consumers")
    ap.add_argument("--cache", required=True, help="deep_vs_logistic.py's --cache")
    ap.add_argument("--name", default="calibration-bootstrap", help="results/<name>.json")
    args = ap.parse_args(argv)
    if args.draws < 2:
        ap.error(f"--draws must be at least 2; found {args.draws}")
    if args.models[0] == args.models[1]:
        ap.error("--models needs two different models")
    t0 = time.perf_counter()
    per_seed = []
    for seed in args.seeds:
        per_seed.append(run_seed(seed, args))
        print(f"seed {seed} done ({time.perf_counter() - t0:.0f} s)", flush=True)
    for task in args.tasks:
        print(f"\n{task}: binned gap to the truth, and over {args.draws} draws of the test consumers")
        print(table(per_seed, args.models, task))
    path = write_json(args.name, False, {"benchmark": "calibration_bootstrap", "config": vars(args),
                                         "machine": machine_info(), "seconds": round(time.perf_counter() - t0, 1),
                                         "per_seed": per_seed})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
