"""What a prior on the curves' bends (``reallocate(prior=...)``, e.g. from ``mmm_prior``) buys Enhance, and what a
wrong one costs.

Synthetic readouts, so that the true response curves are known exactly: three channels on one audience of
30,000 consumers, plan 0 splitting 12,000 evenly, dose arms at 0.5x and 1.5x (``design_campaign``'s defaults).
Per seed each channel's true curve ``beta * s / (s + kappa)`` has its bend ``kappa`` log-uniform between 0.2 and
5 times the rolled-out spend per consumer ``s0`` and an average return ``y(s0) / s0`` uniform in 0.01-0.04
conversions per unit; the arms' estimates are drawn around the truth with a standard error of ``noise`` times
``y(s0)`` (each arm; a quarter of the variance shared through the channel's control). Enhance then reallocates
within 0.5x-2x of each budget:

* ``arms``: the arms alone;
* ``right``: a prior at the true bend times ``exp(N(0, 0.3))`` (a model that is roughly right), sd 0.5;
* ``wrong``: a prior 3x too high or too low (a fair coin per channel), sd 0.5 (a confident wrong model);
* ``wrong-wide``: the same wrong prior with sd 1.5.

Score: the chosen plan's true incremental conversions as a share of the best plan's (true curves, same
bounds; plan 0's share for reference), over seeds; and how often the chosen plan loses to plan 0.
The seeds were fixed before the first run.

Run:  .venv/bin/python benchmarks/enhance_prior.py [--seeds 100]   (about 10 minutes; writes results/enhance-prior.json)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
N, BUDGET, CHANNELS = 30_000, 12_000.0, ["c0", "c1", "c2"]
VARIANTS = ["arms", "right", "wrong", "wrong-wide"]


def _readout(design, truth: dict, noise: float, rng: np.random.Generator):
    from marketing360.incrementality import mrr
    from marketing360.playbook import CampaignReadout, response

    arms = design.arms[design.arms.dose > 0]
    frames = []
    for c, g in arms.groupby("channel", sort=False):
        beta, kappa, s0 = truth[c]
        se = noise * float(response(s0, beta, kappa))
        cov = np.full((len(g), len(g)), se ** 2 / 4)
        np.fill_diagonal(cov, se ** 2)
        est = response(g.spend_per_consumer.to_numpy(float), beta, kappa) + rng.multivariate_normal(
            np.zeros(len(g)), cov)
        frames.append(pd.DataFrame({"scope": "channel", "channel": c, "audience": g.audience.to_numpy(),
                                    "arm": g.arm.to_numpy(), "estimate": est, "std_error": se,
                                    "consumers": g.consumers.to_numpy(), "budget": g.budget.to_numpy(),
                                    "spend_per_consumer": g.spend_per_consumer.to_numpy(),
                                    "control_variance": se ** 2 / 4}))
    frame = pd.concat(frames, ignore_index=True)
    frame["incremental_conversions"] = frame.estimate * frame.consumers
    money = mrr(pd.DataFrame({"channel": CHANNELS, "estimate": 1.0, "std_error": 0.1, "cost": 1.0}))
    return CampaignReadout(frame, design=design, flows=pd.DataFrame(), mrr=money, brand="A",
                           start=pd.Timestamp("2025-03-01"), end=pd.Timestamp("2025-03-21"), alpha=0.05)


def main() -> None:
    from marketing360.incrementality.mmm.optimize import allocate
    from marketing360.playbook import design_campaign, reallocate, response

    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--noise", type=float, nargs="*", default=[0.1, 0.3, 1.0])
    ap.add_argument("--out", default=str(HERE / "results" / "enhance-prior.json"))
    args = ap.parse_args()
    plan = pd.DataFrame({"channel": CHANNELS, "audience": "aud", "budget": BUDGET / 3})
    design = design_campaign(plan, {"aud": np.arange(N)}, min_size=100)
    s0 = BUDGET / 3 / N
    lo, hi = np.full(3, 0.5 * BUDGET / 3), np.full(3, 2.0 * BUDGET / 3)
    rows = []
    for noise in args.noise:
        for seed in range(args.seeds):
            rng = np.random.default_rng([20261202, seed])
            kappa = s0 * np.exp(rng.uniform(np.log(0.2), np.log(5.0), 3))
            ret = rng.uniform(0.01, 0.04, 3)
            beta = ret * s0 * (s0 + kappa) / s0  # y(s0) = ret * s0
            truth = {c: (beta[i], kappa[i], s0) for i, c in enumerate(CHANNELS)}

            def total(b: np.ndarray) -> float:
                return float(sum(N * response(b[i] / N, beta[i], kappa[i]) for i in range(3)))

            def grad(b: np.ndarray) -> np.ndarray:
                return np.array([beta[i] * kappa[i] / (b[i] / N + kappa[i]) ** 2 for i in range(3)])

            now = np.full(3, BUDGET / 3)
            best = total(allocate(total, grad, BUDGET, lo, hi, now))
            readout = _readout(design, truth, noise, rng)
            near = kappa * np.exp(rng.normal(0, 0.3, 3))
            off = kappa * 3.0 ** rng.choice([-1.0, 1.0], 3)
            priors = {"arms": None,
                      "right": pd.DataFrame({"channel": CHANNELS, "kappa": near, "sd": 0.5}),
                      "wrong": pd.DataFrame({"channel": CHANNELS, "kappa": off, "sd": 0.5}),
                      "wrong-wide": pd.DataFrame({"channel": CHANNELS, "kappa": off, "sd": 1.5})}
            for name, prior in priors.items():
                r = reallocate(readout, prior=prior, n_draws=20)
                got = total(r.table().set_index("channel").optimal.reindex(CHANNELS).to_numpy())
                rows.append({"noise": noise, "seed": seed, "variant": name, "share_of_best": got / best,
                             "plan0_share": total(now) / best, "loses_to_plan0": got < total(now)})
    df = pd.DataFrame(rows)
    summary = df.groupby(["noise", "variant"], sort=False).agg(
        plan0=("plan0_share", "mean"), mean=("share_of_best", "mean"), median=("share_of_best", "median"),
        p10=("share_of_best", lambda x: x.quantile(0.1)), worst=("share_of_best", "min"),
        loses=("loses_to_plan0", "mean")).reset_index()
    print(summary.round(3).to_string(index=False))
    Path(args.out).write_text(json.dumps({"seeds": args.seeds, "summary": json.loads(summary.to_json(orient="records")),
                                          "runs": json.loads(df.to_json(orient="records"))}, indent=1))


if __name__ == "__main__":
    main()
