"""Why ``causal_impact`` reads its expected R² from the pre-period: stationary A/A series with weak controls.

Each of ``--reps`` worlds: a shared AR(1) factor (0.7, sd 2) over 70 days; 20 series of sizes drawn in [5, 20],
each ``size * (1 + 0.02 * factor)`` plus noise of sd ``sqrt(size)``; the response is the sum of the first 10,
the other 10 are the controls; no effect. The 95% intervals of the cumulative effect over days 50-70 (49
pre-days) should cover 0 in about 95% of the worlds, with errors as spread as the intervals imply (ratio ~1).
``causal_impact`` with R's fixed expected R² (0.8) and with the default, and ``tbr`` on the same series, are
compared.

    .venv/bin/python benchmarks/impact_prior_check.py --reps 60 --seed 0

prints, per method: coverage of 0 and (sd of the estimates) / (median width / 3.92).
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd

from marketing360.incrementality import causal_impact, tbr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    found: dict[str, list[tuple[float, float, float]]] = {"causal_impact, R's expected R² 0.8": [],
                                                          "causal_impact, default": [], "tbr": []}
    for r in range(a.reps):
        f = np.zeros(70)
        for t in range(1, 70):
            f[t] = 0.7 * f[t - 1] + rng.normal(0, 2)
        sizes = rng.uniform(5, 20, 20)
        y = sizes[:, None] * (1 + 0.02 * f[None, :]) + rng.normal(0, 1, (20, 70)) * np.sqrt(sizes)[:, None]
        data = pd.DataFrame({"y": y[:10].sum(0), **{f"x{i}": y[10 + i] for i in range(10)}})
        kw = dict(pre_period=[0, 48], post_period=[49, 69], n_sims=500, random_state=r)
        for name, r2 in (("causal_impact, R's expected R² 0.8", 0.8), ("causal_impact, default", None)):
            row = causal_impact(data, **kw, expected_r2=r2).table().set_index("effect").loc["cumulative"]
            found[name].append((row.estimate, row.lower, row.upper))
        long = pd.DataFrame([{"date": t, "geo": f"g{g}", "Y": y[g, t]} for g in range(20) for t in range(70)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the weak-fit warning: this check measures what it warns about
            row = tbr(long, treatment=[f"g{g}" for g in range(10)], pre=(0, 48), test=(49, 69)).table().iloc[0]
        found["tbr"].append((row.estimate, row.lower, row.upper))
    for name, rows in found.items():
        e = np.array(rows)
        cover = np.mean((e[:, 1] <= 0) & (0 <= e[:, 2]))
        ratio = e[:, 0].std() / np.median((e[:, 2] - e[:, 1]) / 3.92)
        print(f"{name:36s} coverage of 0: {cover:.1%}   error sd / (width / 3.92): {ratio:.2f}")


if __name__ == "__main__":
    main()
