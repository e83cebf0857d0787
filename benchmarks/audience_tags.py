"""Issue 13, point 4: audience tags and lookalikes against the simulator's truth, over seeds.

Worlds from ``m3.datasets.simulate(n_users, n_days=90, seed, truth="none", propensities=True)``; the truth of a
transition is ``truth.next_stage_chances(events)``: per Aware / Appeal / Act pair and day, the true chance that the
pair ends the day a stage higher (it conditions on the consumer's latent propensity and on the day's delivered
ads, which no model sees). On the scoring day 2025-03-15, per stage:

* **daily tags** (``audience_tags(horizon=1, train_dates=<the 28 days before>)``): the score is the chance of
  moving up that day, comparable to the truth: a weighted AUC against the truth (each pair a positive with weight
  ``p`` and a negative with ``1 - p``: the expected AUC over the truth's draws; the truth's own is the ceiling),
  lift at 10% in true chance (mean true chance of the top 10% over the mean), binned calibration error against the
  truth (10 quantile bins of the score) and the same for a constant at the true mean (what "no ranking" scores);
* **14-day tags** (``audience_tags(horizon=14)``, default training days): AUC and lift at 10% against what the pairs
  did over the next 14 days (a higher true stage on one of them), the weighted AUC against the day's truth;
* a **heuristic** beside both: pairs ranked by recency (days since their last event, then visits over 7 days);
* with ``--deep``, the 14-day tags again with ``estimator=DeepClassifier(sequence=..., epochs=8)`` (DCN-V2 with
  DIN over the consumer's last 20 behaviours, one torch thread), the same figures under ``horizon14_deep``;
* **lookalike**: the consumers who buy Acme for the first time in the 30 days from 2025-03-01 are split in two by
  a hash; the seed half is expanded with ``lookalike(events, seed, date, brand="Acme")``; AUC and lift at 10% of
  the hidden half among the ranked consumers.

Timing (``--scale N``): ``audience_tags(horizon=14)`` on one world of N consumers over 90 days (DuckDB, the default
engine): seconds, events, pairs tagged and training rows, and the process's peak resident memory.

With ``--consumer`` every tagger also reads the consumer's counts over every brand (``consumer=True``). With
``--fixed-c`` the logistic taggers are ``LogisticRegression(C=1)`` and the lookalike's is
``LogisticRegression(C=1, class_weight="balanced")`` (the defaults before 3 December) instead of the defaults' ``C``
chosen by cross-validation (per stage over folds of consumers; over folds of the seed).

Run:  .venv/bin/python benchmarks/audience_tags.py [--seeds 1 2 3 4 5] [--users 4000] [--deep] [--consumer]
      [--fixed-c] [--scale 40000] [--out PATH]   (writes results/audience-tags.json unless --out)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import marketing360 as m3
from marketing360.models import audience_tags, lookalike, pair_features
from marketing360.models.tags import calibration_error, lift_at

DAY = pd.Timestamp("2025-03-15")
LEVEL = {"unaware": 0, "aware": 1, "appeal": 2, "act": 3, "advocate": 4}


def soft_auc(p: np.ndarray, score: np.ndarray) -> float:
    """AUC with every row a positive of weight p and a negative of weight 1 - p."""
    y = np.r_[np.ones(len(p)), np.zeros(len(p))]
    return float(roc_auc_score(y, np.r_[score, score], sample_weight=np.r_[p, 1 - p]))


def heuristic(w: m3.datasets.SimulationResult) -> pd.DataFrame:
    f = pair_features(w.events, [DAY], windows=[7, 30], sequence=0).table()
    return f.assign(heuristic=-f.days_since_event + f.visit_7d / 1000.0)[["user_id", "brand", "heuristic"]]


def horizon_figures(tags: m3.models.AudienceTags, m: pd.DataFrame) -> dict:
    """AUC, lift and calibration of 14-day tags against the moves of the next 14 days (``m``: the pairs with
    ``moved``, ``p_next``, ``heuristic``)."""
    m = tags.table().merge(m, on=["user_id", "brand", "stage"], how="left")
    out = {}
    for stage, g in m.groupby("stage"):
        y, s, h = g.moved.to_numpy(), g.score.to_numpy(np.float64), g.heuristic.to_numpy(np.float64)
        gt = g.dropna(subset=["p_next"])
        out[stage] = {
            "pairs": len(g), "moved": float(y.mean()), "auc": float(roc_auc_score(y, s)),
            "auc_heuristic": float(roc_auc_score(y, h)), "lift10": lift_at(y, s), "lift10_heuristic": lift_at(y, h),
            "calibration_error": calibration_error(y, s),
            "auc_truth_daily": soft_auc(gt.p_next.to_numpy(np.float64), gt.score.to_numpy(np.float64)),
            "validation_auc": float(tags.validation.set_index("stage").auc[stage])}
    return out


def one_seed(seed: int, users: int, deep: bool, consumer: bool = False, fixed_c: bool = False) -> dict:
    w = m3.datasets.simulate(n_users=users, n_days=90, seed=seed, truth="none", propensities=True, progress=False)
    truth = w.truth.next_stage_chances(w.events)
    today = truth[truth.date == DAY]
    heur = heuristic(w)
    out: dict = {"seed": seed, "daily": {}}
    est = LogisticRegression(C=1.0, max_iter=3000) if fixed_c else None

    t0 = time.perf_counter()
    daily = audience_tags(w.events, DAY, horizon=1, consumer=consumer, estimator=est,
                          train_dates=pd.date_range(DAY - pd.Timedelta(days=28), DAY - pd.Timedelta(days=1)))
    out["daily_seconds"] = time.perf_counter() - t0
    m = daily.table().merge(today, on=["user_id", "brand", "stage"]).merge(heur, on=["user_id", "brand"])
    for stage, g in m.groupby("stage"):
        p, s = g.p_next.to_numpy(np.float64), g.score.to_numpy(np.float64)
        out["daily"][stage] = {
            "pairs": len(g), "true_mean": float(p.mean()), "score_mean": float(s.mean()),
            "auc_truth": soft_auc(p, s), "auc_ceiling": soft_auc(p, p),
            "auc_heuristic": soft_auc(p, g.heuristic.to_numpy(np.float64)),
            "lift10_truth": lift_at(p, s), "lift10_ceiling": lift_at(p, p),
            "lift10_heuristic": lift_at(p, g.heuristic.to_numpy(np.float64)),
            "calibration_error": calibration_error(p, s),
            "calibration_error_constant": calibration_error(p, np.full_like(p, p.mean())),
            "mae_truth": float(np.abs(p - s).mean())}

    t0 = time.perf_counter()
    tags = audience_tags(w.events, DAY, horizon=14, consumer=consumer, estimator=est)
    out["horizon14_seconds"] = time.perf_counter() - t0
    p = w.truth.propensities
    later = p[(p.date > DAY) & (p.date <= DAY + pd.Timedelta(days=14))]  # entering day d+1 = end of day d
    best = later.assign(level=later.stage.map(LEVEL)).groupby(["user_id", "brand"])["level"].max().rename("best")
    pairs = tags.table()[["user_id", "brand", "stage"]].merge(best.reset_index(), on=["user_id", "brand"], how="left")
    pairs = pairs.merge(today, on=["user_id", "brand", "stage"], how="left").merge(heur, on=["user_id", "brand"])
    pairs["moved"] = (pairs.best.fillna(0) > pairs.stage.map(LEVEL)).astype(int)
    pairs = pairs[["user_id", "brand", "stage", "moved", "p_next", "heuristic"]]
    out["horizon14"] = horizon_figures(tags, pairs)
    if deep:
        import torch

        torch.set_num_threads(1)
        t0 = time.perf_counter()
        dc = m3.models.DeepClassifier(sequence="sequence", epochs=8, batch_size=512, progress=False)
        deep_tags = audience_tags(w.events, DAY, horizon=14, estimator=dc, consumer=consumer)
        out["horizon14_deep_seconds"] = time.perf_counter() - t0
        out["horizon14_deep"] = horizon_figures(deep_tags, pairs)

    ev = w.events
    start = pd.Timestamp("2025-03-01")
    buy = ev[(ev.event_type == "purchase") & (ev.brand == "Acme")]
    fut = buy[(buy.ts >= start) & (buy.ts < start + pd.Timedelta(days=30))].user_id.unique()
    new = np.setdiff1d(fut, buy[buy.ts < start].user_id.unique())
    from marketing360.playbook.design import hash_unit

    half = hash_unit(new, f"lookalike-bench|{seed}") < 0.5
    seed_ids, hidden = new[half], new[~half]
    t0 = time.perf_counter()
    la = lookalike(ev, seed_ids, start, brand="Acme", users=w.users, estimator=LogisticRegression(
        C=1.0, max_iter=3000, class_weight="balanced") if fixed_c else None)
    ranked = la.table()
    yy = ranked.user_id.isin(hidden).to_numpy()
    out["lookalike"] = {"seed": int(len(seed_ids)), "hidden": int(len(hidden)), "auc": float(roc_auc_score(
        yy, ranked.score)), "lift10": lift_at(yy, ranked.score.to_numpy()), "recovery_auc": la.recovery_auc,
        "seconds": time.perf_counter() - t0}
    return out


def scale(users: int) -> dict:
    import resource

    w = m3.datasets.simulate(n_users=users, n_days=90, seed=1, truth="none", progress=False)
    t0 = time.perf_counter()
    tags = audience_tags(w.events, DAY, horizon=14)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    return {"users": users, "events": len(w.events), "seconds": seconds, "pairs_tagged": len(tags),
            "training_rows": int(tags.validation.n_train.sum()), "peak_rss_gib": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--users", type=int, default=4000)
    ap.add_argument("--deep", action="store_true", help="also tag with a DeepClassifier")
    ap.add_argument("--consumer", action="store_true",
                    help="tags also read the consumer's counts over every brand (audience_tags(consumer=True))")
    ap.add_argument("--fixed-c", action="store_true",
                    help="taggers and lookalike with C = 1 (the defaults before 3 December), not cross-validated")
    ap.add_argument("--scale", type=int, default=0, help="also time the tags on one world of this many consumers")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "audience-tags.json"))
    a = ap.parse_args()
    runs = []
    for s in a.seeds:
        r = one_seed(s, a.users, a.deep, a.consumer, a.fixed_c)
        runs.append(r)
        print(f"seed {s}: " + "; ".join(
            f"{k} daily AUC {v['auc_truth']:.3f}/{v['auc_ceiling']:.3f} (heur {v['auc_heuristic']:.3f}) "
            f"ECE {v['calibration_error']:.4f}" for k, v in r["daily"].items()), flush=True)
        print("        " + "; ".join(f"{k} 14d AUC {v['auc']:.3f} (heur {v['auc_heuristic']:.3f}) lift10 "
                                     f"{v['lift10']:.2f}" for k, v in r["horizon14"].items())
              + f"; lookalike AUC {r['lookalike']['auc']:.3f} lift10 {r['lookalike']['lift10']:.2f}", flush=True)
        if a.deep:
            print("   deep " + "; ".join(f"{k} 14d AUC {v['auc']:.3f} lift10 {v['lift10']:.2f}"
                                        for k, v in r["horizon14_deep"].items()), flush=True)
    timing = scale(a.scale) if a.scale else None
    if timing:
        print(f"scale: {timing}", flush=True)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps({"users": a.users, "day": str(DAY.date()), "deep": a.deep,
                                       "consumer": a.consumer, "fixed_c": a.fixed_c, "runs": runs,
                                       "scale": timing}, indent=1))
    print("wrote", a.out)


if __name__ == "__main__":
    main()
