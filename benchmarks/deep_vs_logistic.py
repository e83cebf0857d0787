"""Issue 13, point 3: do the multi-task deep models beat a logistic baseline on the simulator's held-out days?

A world from ``m3.datasets.simulate(n_users, n_days=90, seed, truth="none", propensities=True)``; features from
``pair_features(events, 2025-01-31 .. 2025-03-31, users=, windows=[7, 30], channels=, same_day=True)`` joined to the
simulator's true daily chances (``truth.propensities``: ``p_visit``, ``p_purchase`` per user, brand and day). The
models train on the days before 2025-03-02 and are scored on the later ones (``--split consumers``: on held-out
consumers instead, below), per task (visit, purchase):

* AUC against the realised labels, next to the AUC of the true chances themselves (the ceiling);
* calibration against the truth: mean ``|p_hat - p_true|`` and a binned error (10 quantile bins of ``p_hat``,
  ``|mean p_hat - mean p_true|`` weighted by the bin's rows), split into the overall bias (``mean p_hat - mean
  p_true``: calibration in the large) and the binned error left once ``p_hat`` is scaled to the true mean (its shape);
* log loss against the realised labels; fit seconds (one torch thread).

Every model sees the SAME feature columns: categoricals brand, geo, age_band, gender, member_level and stage (the 4A
level as a category), and the numerics of ``PairFeatures.numeric`` through ``log1p`` (``level`` as it is). Models:
``constant``: each task's rate over the training rows for every test row (the level and nothing else; AUC 0.5);
logistic regression (scikit-learn; one-hot categoricals, standardised numerics, one model per task, lbfgs,
max_iter 2000; ``logistic`` with scikit-learn's ``C = 1``, ``logistic-cv`` with ``C`` chosen per task by log loss over
3 folds of consumers, as the audience tags choose theirs) and ``DeepClassifier`` with heads esmm / mmoe / shared on
tasks [next_visit, next_purchase] with the behaviour sequence (DIN, ``sequence_target="brand"``), plus esmm without
the sequence, and each head with Platt scaling on its validation rows (``-platt``: ``calibration="sigmoid"``);
``-last``: those rows are the latest 10% of the training rows by date (``validation_by="date"``), not random ones.
``-decay``: ``lr_decays=2``: at each of the first two plateaus of the validation loss, back to the best weights and
on with a step ten times smaller; the third plateau stops. ``-platt-mean``: Platt's scales, then each task's
shift set to match its rate over every training row (``calibration="sigmoid-mean"``). ``-grp``: the validation
rows are whole consumers (``validation_groups="user_id"``). ``-cf3``: cross-fitted (``folds=3``): three networks,
each trained on two thirds of the consumers and stopped on the third, Platt's scaling fitted on every training row's
held-out logits, the predictions their mean; ``-cf5``: the same with five networks, each on four fifths.
DeepClassifier's defaults otherwise, with ``epochs=10`` under its early stopping (10% validation rows, patience 2);
``--lr`` and ``--patience`` change Adam's step and the patience (defaults: DeepClassifier's, 3e-3 and 2).
``logistic-platt`` and ``logistic-platt-last``: logistic regression (``C = 1``) fitted on the other 90% and
Platt-scaled on the same held-out rows as DeepClassifier's (scikit-learn's ``CalibratedClassifierCV``). Each model
is compared with every logistic baseline in the run (``beats`` in the JSON).

``--consumer``: the features also hold the consumer's counts over every brand (``pair_features(consumer=True)``).

``--split consumers``: train on a random half of the consumers (drawn with the seed) over all 60 days and score the
other half over the same days, instead of the later days: calibration with nothing to extrapolate, as the date split
asks the models to carry the training days' relation onto a drifting future.

Run:  .venv/bin/python benchmarks/deep_vs_logistic.py [--quick]   (writes results/deep-vs-logistic[-quick].json)
      --quick: one seed, 1,500 users. Features are cached in ``--cache`` (default /tmp) per seed and size, built
      ten scoring days at a time: the same rows as one call over all 60 days, whose query peaks at 4.5 GiB for
      8,000 users and ran out of 24 GiB at 40,000. Each model's test predictions are saved beside them
      (``pred-<seed>-<users>-<model>.npz``, one array per task).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

CATEGORICAL = ["brand", "geo", "age_band", "gender", "member_level", "stage"]
TASKS = {"visit": ("next_visit", "p_visit"), "purchase": ("next_purchase", "p_purchase")}
SPLIT = "2025-03-02"
MODELS = ["constant", "logistic", "logistic-cv", "logistic-platt", "logistic-platt-last", "esmm", "mmoe", "shared",
          "esmm-noseq", "esmm-platt", "mmoe-platt", "shared-platt", "esmm-platt-last", "esmm-decay", "esmm-platt-decay",
          "esmm-platt-mean-decay", "esmm-platt-grp-decay", "esmm-platt-mean-grp-decay", "esmm-platt-cf3-grp-decay",
          "esmm-platt-mean-cf3-grp-decay", "esmm-platt-cf5-grp-decay"]
HOLDOUT = 0.1  # DeepClassifier's validation_fraction: the rows that choose the epoch and fit Platt's scaling
METRICS = ["auc", "auc_truth", "mae_truth", "binned_err_truth", "bias_truth", "shape_err_truth", "log_loss",
           "fit_seconds"]
#: post-visit conversion (ESMM's CVR): scored on the test rows with a visit, plus the gaps over every test row
EVAL = [*TASKS, "conversion"]
ENTIRE = ["mae_truth_all", "binned_err_truth_all"]


def features(seed: int, users: int, cache: Path, consumer: bool = False) -> tuple[pd.DataFrame, list[str], float]:
    """The pair features of one world with the true chances joined (cached as parquet), and the build seconds."""
    path = cache / f"feat-{seed}-{users}{'-consumer' if consumer else ''}.parquet"
    meta = path.with_name(path.name + ".json")
    t0 = time.perf_counter()
    if not (path.exists() and meta.exists()):
        import pyarrow.parquet as pq

        import marketing360 as m3
        from marketing360.models import pair_features

        cache.mkdir(parents=True, exist_ok=True)
        w = m3.datasets.simulate(n_users=users, n_days=90, seed=seed, truth="none", propensities=True,
                                 progress=False)
        truth = w.truth.propensities[["user_id", "brand", "date", "p_visit", "p_purchase"]]
        dates = pd.date_range("2025-01-31", "2025-03-31")
        writer, part = None, path.with_name(path.name + ".part")
        # ten scoring days at a time: a day's rows depend only on its own look-back (the query over all 60 days
        # ran out of 24 GiB at 40,000 consumers)
        for lo in range(0, len(dates), 10):
            fs = pair_features(w.events, dates[lo:lo + 10], users=w.users, windows=[7, 30], channels=w.channels,
                               same_day=True, consumer=consumer)
            numeric = fs.numeric
            f = fs.table().merge(truth, on=["user_id", "brand", "date"])
            f.attrs = {}
            t = pa.Table.from_pandas(f, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(part, t.schema)
            writer.write_table(t.cast(writer.schema))
            del fs, f, t
        assert writer is not None
        writer.close()
        part.rename(path)
        meta.write_text(json.dumps(numeric))
    f = pd.read_parquet(path)
    pa.default_memory_pool().release_unused()  # the Arrow buffers behind the frame: 4 GiB at 32,000 consumers
    numeric = json.loads(meta.read_text())
    f["sequence"] = f.sequence.map(list)
    for c in numeric:
        if c != "level":
            f[c] = np.log1p(f[c].astype(float))
    f["stage"] = f.level.astype(str)
    return f, numeric, time.perf_counter() - t0


def gaps(truth: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """The gaps of ``p`` to the true chances.

    ``mae_truth``: mean ``|p - truth|``; ``binned_err_truth``: 10 quantile bins of ``p``, ``|mean p - mean truth|``
    weighted by the bin's rows; ``bias_truth``: ``mean p - mean truth`` (calibration in the large, signed);
    ``shape_err_truth``: the binned gap once ``p`` is scaled to the true mean (the same bins: what is left of the
    binned gap without the overall bias).
    """
    p, truth = np.asarray(p, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    n = len(p)
    # pandas' qcut of rank(method="first") into 10 bins: rank r falls in the first bin whose upper edge >= r
    edges = np.quantile(np.arange(1, n + 1, dtype=np.float64), np.linspace(0, 1, 11))[1:]
    bins = np.empty(n, dtype=np.int64)
    bins[np.argsort(p, kind="stable")] = np.searchsorted(edges, np.arange(1, n + 1), side="left")
    rows = np.bincount(bins, minlength=10)
    full = rows > 0  # fewer than 10 rows leave bins empty
    rows = rows[full]
    mean_p, mean_t = np.bincount(bins, p, 10)[full] / rows, np.bincount(bins, truth, 10)[full] / rows
    scale = truth.mean() / p.mean()
    return {"mae_truth": float(np.mean(np.abs(p - truth))),
            "binned_err_truth": float(np.sum(np.abs(mean_p - mean_t) * rows) / n),
            "bias_truth": float(p.mean() - truth.mean()),
            "shape_err_truth": float(np.sum(np.abs(mean_p * scale - mean_t) * rows) / n)}


def clipped(p: np.ndarray) -> np.ndarray:
    """``p`` as float64 in [1e-7, 1 - 1e-7], as every score here reads a model's predictions (log loss needs it)."""
    return np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)


def scores(label: np.ndarray, truth: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import log_loss, roc_auc_score

    p = clipped(p)
    return {"auc": float(roc_auc_score(label, p)), "auc_truth": float(roc_auc_score(label, truth)),
            **gaps(truth, p), "log_loss": float(log_loss(label, p, labels=[0, 1]))}


def conversion_scores(te: pd.DataFrame, p: np.ndarray) -> dict[str, float]:
    """Post-visit conversion: ``p`` against the purchases of the test rows with a visit and the true
    ``p_purchase / p_visit`` there, and the gaps to that truth over every test row (ESMM's entire space)."""
    truth = (te.p_purchase / te.p_visit.where(te.p_visit > 0)).fillna(0.0).clip(0, 1).to_numpy(np.float64)
    p = clipped(p)
    seen = te.next_visit.to_numpy() == 1
    out = scores(te.next_purchase.to_numpy()[seen], truth[seen], p[seen])
    entire = gaps(truth, p)
    out["mae_truth_all"], out["binned_err_truth_all"] = entire["mae_truth"], entire["binned_err_truth"]
    return out


def holdout(rows: pd.DataFrame, last: bool) -> np.ndarray:
    """``PredefinedSplit``'s folds for Platt's scaling: ``HOLDOUT`` of the rows held out (0; -1 the rest) by
    DeepClassifier's own rule (its ``random_state=0``), at random or (``last``) the latest by date."""
    from marketing360.models.deep import _holdout, _order_key

    when = _order_key(rows.date, "date") if last else None
    val, _ = _holdout(np.random.default_rng(0), len(rows), int(round(HOLDOUT * len(rows))), when)
    fold = np.full(len(rows), -1)
    fold[val] = 0
    return fold


def fit_logistic(tr: pd.DataFrame, te: pd.DataFrame, numeric: list[str], cv: bool = False,
                 platt: str | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """One logistic regression per task, ``C = 1`` (scikit-learn's default), or with ``cv`` its ``C`` chosen by
    log loss over 3 folds of consumers (every row of a consumer in one fold), half a decade apart in 1e-4 .. 10.
    ``platt`` ("random" or "last"): as DeepClassifier's ``calibration="sigmoid"``, fitted on the other 90% of the
    rows and Platt-scaled on the held-out 10% (scikit-learn's ``CalibratedClassifierCV``, one predefined split)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.model_selection import GroupKFold, PredefinedSplit
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    out, info = {}, {}
    labels = {task: label for task, (label, _) in TASKS.items()} | {"conversion": TASKS["purchase"][0]}
    for task, label in labels.items():
        ct = ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
                                ("n", StandardScaler(), numeric)])
        rows = tr[tr.next_visit == 1] if task == "conversion" else tr  # ESMM's BASE: conversion on visitors
        if cv:
            folds = list(GroupKFold(n_splits=3).split(rows, groups=rows.user_id))
            model = LogisticRegressionCV(Cs=np.logspace(-4, 1, 11), cv=folds, scoring="neg_log_loss", max_iter=2000,
                                         l1_ratios=(0,), use_legacy_attributes=False)
        else:
            model = LogisticRegression(max_iter=2000, solver="lbfgs")
        if platt:
            split = PredefinedSplit(holdout(rows, platt == "last"))
            cal = CalibratedClassifierCV(make_pipeline(ct, model), method="sigmoid", cv=split).fit(rows, rows[label])
            out[task] = cal.predict_proba(te)[:, 1]
            one = cal.calibrated_classifiers_[0]
            m = one.estimator
            info[f"platt_{task}"] = [round(float(one.calibrators[0].a_), 4), round(float(one.calibrators[0].b_), 4)]
        else:
            m = make_pipeline(ct, model).fit(rows, rows[label])
            out[task] = m.predict_proba(te)[:, 1]
        info[f"n_iter_{task}"] = int(np.max(m[-1].n_iter_))
        if cv:
            info[f"C_{task}"] = float(m[-1].C_)
    return out, info


def fit_constant(tr: pd.DataFrame, te: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict]:
    """Each task's rate over the training rows, the same for every test row (conversion: purchases among the
    training rows with a visit): a model that knows the level and nothing else (AUC 0.5). Its ties fall into the 10
    bins of :func:`gaps` by row order; with all of them in one bin its binned gap would be ``|bias_truth|``."""
    visitors = tr[tr.next_visit == 1]
    rates = {task: float(tr[label].mean()) for task, (label, _) in TASKS.items()}
    rates["conversion"] = float(visitors[TASKS["purchase"][0]].mean())
    return {task: np.full(len(te), r) for task, r in rates.items()}, {"rates": rates}


def fit_deep(name: str, tr: pd.DataFrame, te: pd.DataFrame, numeric: list[str], epochs: int, lr: float = 3e-3,
             patience: int = 2) -> tuple[dict[str, np.ndarray], dict]:
    from marketing360.models import DeepClassifier

    head, *flags = name.split("-")
    seq = {} if "noseq" in flags else {"sequence": "sequence", "sequence_target": "brand"}
    m = DeepClassifier(tasks=[TASKS["visit"][0], TASKS["purchase"][0]], categorical=CATEGORICAL, numeric=numeric,
                       head=head, epochs=epochs, lr=lr, patience=patience, progress=False,
                       lr_decays=2 if "decay" in flags else 0,
                       validation_fraction=HOLDOUT, validation_by="date" if "last" in flags else None,
                       validation_groups="user_id" if "grp" in flags else None,
                       folds=next((int(f[2:]) for f in flags if f.startswith("cf")), 0),
                       calibration=("sigmoid-mean" if "mean" in flags else "sigmoid" if "platt" in flags else None),
                       **seq).fit(tr)
    p = m.predict_proba(te)
    preds = {task: p[label].to_numpy() for task, (label, _) in TASKS.items()}
    preds["conversion"] = np.clip(preds["purchase"] / np.maximum(preds["visit"], 1e-12), 0, 1)  # ESMM: its CVR step
    return (preds,
            {"best_epoch": m.best_epoch_ if m.folds else int(m.best_epoch_),
             "epochs_run": [len(h) for h in m.history_] if m.folds else len(m.history_),
             "calibration": {t: [round(v, 4) for v in m.calibration_.loc[label]] for t, (label, _) in TASKS.items()},
             "validation_history": ([[round(v, 6) for v in h] for h in m.validation_history_] if m.folds
                                    else [round(v, 6) for v in m.validation_history_])})


def scored_rows(f: pd.DataFrame, seed: int, split: str) -> np.ndarray:
    """The test rows of ``f``: a random half of the consumers, drawn with the seed (``split="consumers"``), or the
    days from ``SPLIT`` (``"date"``)."""
    if split == "consumers":
        users = np.sort(f.user_id.unique())
        held = np.random.default_rng([seed, 13]).permutation(users)[: len(users) // 2]
        return f.user_id.isin(held).to_numpy()
    return (f.date >= SPLIT).to_numpy()


def run_seed(seed: int, args: argparse.Namespace) -> dict[str, Any]:
    f, numeric, built = features(seed, args.users, Path(args.cache), args.consumer)
    scored = scored_rows(f, seed, args.split)
    tr, te = f[~scored], f[scored]
    del f  # the two halves are copies
    out: dict[str, Any] = {"seed": seed, "features_seconds": round(built, 1), "train_rows": len(tr),
                           "test_rows": len(te), "numeric_columns": numeric,
                           "base_rates_test": {t: float(te[lab].mean()) for t, (lab, _) in TASKS.items()},
                           "models": {}}
    print(f"seed {seed}: {len(tr):,} train rows, {len(te):,} test rows; features {built:.0f} s; test rates "
          + ", ".join(f"{t} {r:.4f}" for t, r in out["base_rates_test"].items()), flush=True)
    for name in args.models:
        t0 = time.perf_counter()
        if name.startswith("logistic"):
            platt = None if "platt" not in name else "last" if name.endswith("-last") else "random"
            preds, info = fit_logistic(tr, te, numeric, cv=name == "logistic-cv", platt=platt)
        elif name == "constant":
            preds, info = fit_constant(tr, te)
        else:
            preds, info = fit_deep(name, tr, te, numeric, args.epochs, args.lr, args.patience)
        secs = time.perf_counter() - t0
        tag = ("-consumer" if args.consumer else "") + ("-by-consumers" if args.split == "consumers" else "")
        np.savez(Path(args.cache) / f"pred-{seed}-{args.users}{tag}-{name}.npz", **preds)
        res = {t: {**scores(te[lab].to_numpy(), te[truth].to_numpy(), preds[t]), "fit_seconds": round(secs, 1)}
               for t, (lab, truth) in TASKS.items()}
        res["conversion"] = {**conversion_scores(te, preds["conversion"]), "fit_seconds": round(secs, 1)}
        out["models"][name] = {**res, "info": info}
        print(f"  {name:19s} purchase AUC {res['purchase']['auc']:.4f} (truth {res['purchase']['auc_truth']:.4f}) "
              f"MAE {res['purchase']['mae_truth']:.5f}; visit AUC {res['visit']['auc']:.4f}; {secs:.0f} s {info}",
              flush=True)
    return out


def seed_table(r: dict[str, Any]) -> str:
    lines = [f"seed {r['seed']} ({r['train_rows']:,} train / {r['test_rows']:,} test rows)",
             f"{'model':19s} | {'task':10s} | " + " | ".join(f"{m:>16s}" for m in METRICS)]
    for name, res in r["models"].items():
        for t in EVAL:
            lines.append(f"{name:19s} | {t:10s} | " + " | ".join(f"{res[t][m]:16.5f}" for m in METRICS))
    return "\n".join(lines)


def summarise(per_seed: list[dict[str, Any]], models: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    summary: dict[str, Any] = {}
    for name in models:
        summary[name] = {}
        for t in EVAL:
            summary[name][t] = {}
            for m in METRICS + (ENTIRE if t == "conversion" else []):
                v = np.array([r["models"][name][t][m] for r in per_seed])
                summary[name][t][m] = {"mean": float(v.mean()), "min": float(v.min()), "max": float(v.max()),
                                       "values": v.tolist()}
    def gain(base: str, name: str, task: str, metric: str, sign: int = 1, size: Any = float) -> list[float]:
        """Per seed, how much lower ``name``'s metric is than ``base``'s (``sign=-1``: how much higher)."""
        return [sign * (size(r["models"][base][task][metric]) - size(r["models"][name][task][metric]))
                for r in per_seed]

    beats: dict[str, Any] = {}
    for base in (m for m in models if m.startswith("logistic")):
        beats[base] = {}
        for name in (m for m in models if not m.startswith("logistic")):
            b = {"purchase_auc_gain": gain(base, name, "purchase", "auc", -1),
                 "purchase_mae_truth_reduction": gain(base, name, "purchase", "mae_truth"),
                 "purchase_binned_err_reduction": gain(base, name, "purchase", "binned_err_truth"),
                 "purchase_abs_bias_reduction": gain(base, name, "purchase", "bias_truth", size=abs),
                 "purchase_shape_err_reduction": gain(base, name, "purchase", "shape_err_truth")}
            for m in ("auc", "binned_err_truth", "binned_err_truth_all"):
                b[f"conversion_{m}_gain"] = gain(base, name, "conversion", m, -1 if m == "auc" else 1)
            beats[base][name] = {**b, **{k.replace("_gain", "_every_seed").replace("_reduction", "_every_seed"):
                                         bool(all(d > 0 for d in v)) for k, v in b.items()}}
    return summary, beats


def summary_table(summary: dict[str, Any], beats: dict[str, Any]) -> str:
    lines = ["mean [min - max] over seeds",
             f"{'model':19s} | {'task':10s} | " + " | ".join(f"{m:^27s}" for m in METRICS)]
    for name, per_task in summary.items():
        for t, s in per_task.items():
            cells = []
            for m in METRICS:
                d = 1 if m == "fit_seconds" else 5 if m.endswith("_truth") and m != "auc_truth" else 4
                cells.append(f"{s[m]['mean']:.{d}f} [{s[m]['min']:.{d}f}-{s[m]['max']:.{d}f}]".center(27))
            lines.append(f"{name:19s} | {t:10s} | " + " | ".join(cells))
    for base, against in beats.items():
        lines.append("")
        lines.append(f"beats {base} on purchase in EVERY seed:  AUC | mean|p-p_true| | binned error | |bias| | "
                     "binned error at the true mean")
        for name, b in against.items():
            lines.append(f"  {name:15s} {str(b['purchase_auc_every_seed']):5s} | "
                         f"{str(b['purchase_mae_truth_every_seed']):5s} | {str(b['purchase_binned_err_every_seed']):5s}"
                         f" | {str(b['purchase_abs_bias_every_seed']):5s} | {b['purchase_shape_err_every_seed']}"
                         f"   (AUC gain per seed {', '.join(f'{d:+.4f}' for d in b['purchase_auc_gain'])}; "
                         "binned error reduction "
                         f"{', '.join(f'{d:+.5f}' for d in b['purchase_binned_err_reduction'])})")
        lines.append(f"conversion after a visit, against {base}, in EVERY seed: AUC (visitors) | binned error "
                     "(visitors) | binned error (every row)")
        for name, b in against.items():
            cells = [f"{str(b[f'conversion_{m}_every_seed']):5s} ("
                     + ", ".join(f"{d:+.4f}" for d in b[f"conversion_{m}_gain"]) + ")"
                     for m in ("auc", "binned_err_truth", "binned_err_truth_all")]
            lines.append(f"  {name:15s} " + " | ".join(cells))
    return "\n".join(lines)


def results(args: argparse.Namespace, per_seed: list[dict[str, Any]], info: dict[str, Any],
            seconds: float) -> dict[str, Any]:
    """The JSON of a run: its settings, what the models saw, the metrics' meanings, the summary and every seed."""
    summary, beats = summarise(per_seed, args.models)
    return {"suite": args.name,
            "goal": "issue 13.3: multi-task deep models (esmm, mmoe, shared) vs a logistic baseline on held-out "
                    "conversions (AUC) and on the simulator's true propensities (calibration), over seeds",
            "config": {**vars(args), "split_date": SPLIT if args.split == "date" else None, "n_days": 90,
                       "truth": "none",
                       "feature_dates": ["2025-01-31", "2025-03-31"], "windows": [7, 30], "same_day": True},
            "features": {"categorical": CATEGORICAL,
                         "numeric": "PairFeatures.numeric, log1p-transformed except level (as is)",
                         "same_for_all_models": True,
                         "logistic": "one-hot categoricals + standardised numerics, one model per task, "
                                     "lbfgs max_iter 2000",
                         "deep": "DeepClassifier defaults, tasks [next_visit, next_purchase], epochs, lr and "
                                 "patience as given with early stopping; sequence='sequence', "
                                 "sequence_target='brand' except esmm-noseq (sequence=None); -platt: "
                                 "calibration='sigmoid'; -platt-mean: calibration='sigmoid-mean'; -grp: "
                                 "validation_groups='user_id'; -cfK: folds=K; -last: validation_by='date'; "
                                 "-decay: lr_decays=2",
                         "logistic-platt": "C = 1 fitted on 90% of the training rows, Platt-scaled on the other "
                                           "10% (DeepClassifier's held-out rows; -last: the latest by date) by "
                                           "CalibratedClassifierCV"},
            "metrics": {"auc": "ROC AUC vs the realised test labels", "auc_truth": "AUC of the true chance "
                        "(the ceiling)", "mae_truth": "mean |p_hat - p_true|", "binned_err_truth":
                        "10 quantile bins of p_hat, |mean p_hat - mean p_true| weighted by rows",
                        "bias_truth": "mean p_hat - mean p_true (calibration in the large)",
                        "shape_err_truth": "binned_err_truth with p_hat scaled to the mean of p_true (the same "
                                           "bins): the binned gap without the overall bias",
                        "log_loss": "vs the realised labels", "fit_seconds": "fit + predict, all tasks, one "
                        "torch thread"},
            "machine": info, "seconds": round(seconds, 1),
            "loadavg_at_end": list(os.getloadavg()),
            "summary": summary, "beats": beats, "per_seed": per_seed}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="one seed, 1,500 users: checks that the script runs")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--users", type=int, default=4_000)
    ap.add_argument("--epochs", type=int, default=10, help="DeepClassifier's epochs (under early stopping)")
    ap.add_argument("--lr", type=float, default=3e-3, help="DeepClassifier's Adam step size")
    ap.add_argument("--patience", type=int, default=2, help="epochs without a lower validation loss before stopping")
    ap.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    ap.add_argument("--consumer", action="store_true",
                    help="add the consumer's counts over every brand (pair_features(consumer=True))")
    ap.add_argument("--split", choices=["date", "consumers"], default="date",
                    help=f"score the days from {SPLIT} (date) or a random half of the consumers over every day")
    ap.add_argument("--cache", default="/tmp", help="folder of the cached feature tables")
    ap.add_argument("--name", default="deep-vs-logistic", help="results/<name>.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds, args.users = args.seeds[:1], 1_500

    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    from harness import machine_info, write_json

    t_start = time.perf_counter()
    info = machine_info()
    info["torch"] = torch.__version__
    info["torch_threads"] = [torch.get_num_threads(), torch.get_num_interop_threads()]
    per_seed = []
    for seed in args.seeds:
        r = run_seed(seed, args)
        per_seed.append(r)
        print()
        print(seed_table(r))
        print(flush=True)
        # written after every seed: a run stopped between seeds keeps the seeds it finished
        path = write_json(args.name, args.quick, results(args, per_seed, info, time.perf_counter() - t_start))
    summary, beats = summarise(per_seed, args.models)
    print(summary_table(summary, beats))
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
