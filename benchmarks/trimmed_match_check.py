"""Trimmed Match's 95% intervals with few pairs, on worlds unlike the simulator's: the package's normal quantile
against the default wild bootstrap.

Each of ``--reps`` experiments per setting: ``--pairs`` pairs with pair sizes ``lognormal(3, 0.5)``, a cost
difference ``size * uniform(0.05, 0.15)`` and a response difference ``iROAS * cost difference + 0.15 * size *
noise`` (iROAS 2); the noise normal, or Student t with 3 degrees of freedom (a few outlying pairs, the case
trimming is for). The interval should cover the iROAS in about 95% of the experiments.

    .venv/bin/python benchmarks/trimmed_match_check.py --reps 200 --seed 0

prints, per number of pairs and noise: coverage with each interval, the median width ratio (bootstrap / normal)
and the trim rates chosen.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from marketing360.incrementality.geo.trimmed_match import fit_trimmed_match


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pairs", type=int, nargs="+", default=[8, 12])
    a = ap.parse_args()
    print(f"{'pairs':>5} {'noise':>6} {'normal':>7} {'bootstrap':>9} {'width ratio':>11}  trim rates chosen  seconds")
    for n in a.pairs:
        for noise in ("normal", "t3"):
            rng = np.random.default_rng([a.seed, n, noise == "t3"])
            hits = {"normal": 0, "bootstrap": 0}
            ratios, rates = [], []
            t0 = time.perf_counter()
            for r in range(a.reps):
                size = rng.lognormal(3, 0.5, n)
                dc = size * rng.uniform(0.05, 0.15, n)
                e = rng.standard_t(3, n) if noise == "t3" else rng.standard_normal(n)
                dr = 2.0 * dc + 0.15 * size * e
                fits = {k: fit_trimmed_match(dr, dc, inference=k, random_state=np.random.default_rng([a.seed, r]))
                        for k in hits}
                for k, f in fits.items():
                    hits[k] += f.lower <= 2.0 <= f.upper
                ratios.append((fits["bootstrap"].upper - fits["bootstrap"].lower)
                              / (fits["normal"].upper - fits["normal"].lower))
                rates.append(fits["normal"].trim_rate)
            vals, counts = np.unique(np.round(rates, 3), return_counts=True)
            chosen = ", ".join(f"{v:g}: {c}" for v, c in zip(vals, counts))
            print(f"{n:>5} {noise:>6} {hits['normal'] / a.reps:>7.1%} {hits['bootstrap'] / a.reps:>9.1%} "
                  f"{np.median(ratios):>11.2f}  {chosen}  {time.perf_counter() - t0:.0f}", flush=True)


if __name__ == "__main__":
    main()
