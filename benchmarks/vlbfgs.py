"""Issue 13's speed goals for vector-free L-BFGS.

Logistic regression with ``--dim`` hashed coefficients (10^8 by default) on one machine, within its
   memory: ``--rows`` rows of ``--nnz`` binary features each, indices uniform over the space (every coefficient is
   touched about ``rows * nnz / dim`` times), labels drawn from a sparse true model. Reports seconds per iteration,
   peak resident memory (this process) and what the vectors alone take (``(2m + 6) * dim * 8`` bytes).
On Spark (``--spark``, local[2]): the model in blocks on the executors (``models/vlbfgs_spark.py``) against Spark ML's
   ``LogisticRegression(standardization=False)`` on the same ``--spark-rows`` rows of ``--spark-dim`` hashed features:
   seconds per iteration (a fit of ``1 + k`` iterations minus a fit of 1, so that reading and splitting the data
   count once) and the numbers the driver receives per iteration.

Run:  .venv/bin/python benchmarks/vlbfgs.py [--quick] [--spark] [--no-local]
      (writes results/vlbfgs.json; the local part needs about 16 GiB free)
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def hashed_rows(rows: int, nnz: int, dim: int, seed: int):
    """CSR arrays of binary hashed features and labels from a sparse true model (1% of coefficients non-zero)."""
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, dim, rows * nnz, dtype=np.int64)
    indptr = np.arange(0, rows * nnz + 1, nnz, dtype=np.int64)
    true_idx = rng.choice(dim, max(1, dim // 100), replace=False)
    true = np.zeros(dim, dtype=np.float32)
    true[true_idx] = rng.normal(0, 2, len(true_idx))
    z = true[indices].reshape(rows, nnz).sum(axis=1) - 0.5
    y = (rng.random(rows) < 1 / (1 + np.exp(-z))).astype(np.float64)
    del true
    return indptr, indices, y


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run_local(dim: int, rows: int, nnz: int, memory: int, iters: int) -> dict:
    import scipy.sparse as sp

    from marketing360.models import SparseLogisticRegression

    t0 = time.perf_counter()
    indptr, indices, y = hashed_rows(rows, nnz, dim, seed=1)
    x = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(rows, dim))
    made = time.perf_counter() - t0
    print(f"local: {rows:,} rows x {nnz} features over {dim:,} coefficients made in {made:.0f} s; "
          f"peak {peak_gib():.1f} GiB", flush=True)
    t0 = time.perf_counter()
    m = SparseLogisticRegression(l2=1.0 / rows, num_features=dim, memory=memory, max_iter=iters, tol=0,
                                 gtol=0).fit(x, y)
    secs = time.perf_counter() - t0
    out = {"dim": dim, "rows": rows, "nnz_per_row": nnz, "memory": memory, "iterations": m.n_iter_,
           "seconds": round(secs, 1), "seconds_per_iteration": round(secs / m.n_iter_, 2),
           "peak_rss_gib": round(peak_gib(), 2), "vectors_gib": round((2 * memory + 6) * dim * 8 / 2**30, 2),
           "objective_first_last": [round(m.history_[0], 6), round(m.history_[-1], 6)],
           "nonzero_coefficients": int(np.count_nonzero(m.coef_))}
    print(f"local: {out['iterations']} iterations in {secs:.0f} s ({out['seconds_per_iteration']} s each); "
          f"objective {out['objective_first_last']}; peak {out['peak_rss_gib']} GiB "
          f"(the {2 * memory + 6} vectors alone: {out['vectors_gib']} GiB)", flush=True)
    return out


def run_spark(rows: int, dim: int, nnz: int, memory: int, iters: int) -> dict:
    import pyarrow as pa

    import marketing360 as m3
    from marketing360.models import SparseLogisticRegression

    eng = m3.connect("spark")
    spark = eng.session
    indptr, indices, y = hashed_rows(rows, nnz, dim, seed=2)
    off = pa.array(indptr.astype(np.int32))
    tab = pa.table({"label": y, "features_index": pa.ListArray.from_arrays(off, pa.array(indices)),
                    "features_value": pa.ListArray.from_arrays(off, pa.array(np.ones(len(indices))))})
    sdf = spark.createDataFrame(tab).repartition(2).cache()
    sdf.count()
    l2 = 1e-4
    ours = {}
    SparseLogisticRegression(l2=l2, num_features=dim, max_iter=1).fit(sdf)  # warm-up: Python workers, JIT
    for k in (1, 1 + iters):
        t0 = time.perf_counter()
        m = SparseLogisticRegression(l2=l2, num_features=dim, memory=memory, max_iter=k, tol=0, gtol=0).fit(sdf)
        ours[k] = (time.perf_counter() - t0, m)
    per_iter = (ours[1 + iters][0] - ours[1][0]) / iters
    m = ours[1 + iters][1]
    print(f"spark (ours): {rows:,} rows x {nnz} features over {dim:,} coefficients; 1 iteration {ours[1][0]:.1f} s, "
          f"{1 + iters} iterations {ours[1 + iters][0]:.1f} s: {per_iter:.2f} s per iteration; the driver received "
          f"{m.driver_scalars_per_iter_:.1f} numbers per iteration ({m.scalars_per_iter_:.1f} dot products)",
          flush=True)

    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.linalg import SparseVector

    def vector(r: int) -> SparseVector:
        idx, counts = np.unique(indices[indptr[r]:indptr[r + 1]], return_counts=True)
        return SparseVector(dim, idx.tolist(), counts.astype(float).tolist())

    ml_df = spark.createDataFrame([(float(y[r]), vector(r)) for r in range(rows)], ["label", "features"])
    ml_df = ml_df.repartition(2).cache()
    ml_df.count()
    theirs = {}
    LogisticRegression(maxIter=1, regParam=l2, standardization=False).fit(ml_df)  # warm-up
    for k in (1, 1 + iters):
        lr = LogisticRegression(maxIter=k, regParam=l2, elasticNetParam=0.0, standardization=False, tol=0.0)
        t0 = time.perf_counter()
        lr.fit(ml_df)
        theirs[k] = time.perf_counter() - t0
    ml_per_iter = (theirs[1 + iters] - theirs[1]) / iters
    print(f"spark ML: 1 iteration {theirs[1]:.1f} s, {1 + iters} iterations {theirs[1 + iters]:.1f} s: "
          f"{ml_per_iter:.2f} s per iteration (ours / Spark ML: {per_iter / ml_per_iter:.1f}x)", flush=True)
    eng.close()
    return {"rows": rows, "dim": dim, "nnz_per_row": nnz, "memory": memory, "iterations": iters,
            "ours_seconds": {str(k): round(v[0], 2) for k, v in ours.items()},
            "ours_seconds_per_iteration": round(per_iter, 3),
            "driver_numbers_per_iteration": round(m.driver_scalars_per_iter_, 1),
            "dot_products_per_iteration": round(m.scalars_per_iter_, 1), "spark_jobs": m.spark_jobs_,
            "spark_ml_seconds": {str(k): round(v, 2) for k, v in theirs.items()},
            "spark_ml_seconds_per_iteration": round(ml_per_iter, 3),
            "ours_over_spark_ml": round(per_iter / ml_per_iter, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes: checks that the script runs")
    ap.add_argument("--dim", type=int, default=10**8)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--nnz", type=int, default=50)
    ap.add_argument("--memory", type=int, default=5)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--spark", action="store_true", help="also measure the Spark optimiser against Spark ML")
    ap.add_argument("--no-local", action="store_true", help="skip the local 10^8 run (keep its last figures)")
    ap.add_argument("--spark-rows", type=int, default=200_000)
    ap.add_argument("--spark-dim", type=int, default=1 << 18)
    ap.add_argument("--spark-nnz", type=int, default=20)
    ap.add_argument("--spark-iters", type=int, default=5)
    args = ap.parse_args()
    if args.quick:
        args.dim, args.rows, args.iters = 10**5, 20_000, 5
        args.spark_rows, args.spark_dim, args.spark_iters = 5_000, 1 << 12, 2
    name = "vlbfgs-quick.json" if args.quick else "vlbfgs.json"
    path = HERE / "results" / name
    results: dict = json.loads(path.read_text()) if path.exists() else {}
    results["args"] = vars(args)
    if not args.no_local:
        results["local"] = run_local(args.dim, args.rows, args.nnz, args.memory, args.iters)
    if args.spark:
        results["spark"] = run_spark(args.spark_rows, args.spark_dim, args.spark_nnz, 10, args.spark_iters)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote results/{name}")


if __name__ == "__main__":
    main()
