"""Issue 13's speed goals for vector-free L-BFGS.

Logistic regression with ``--dim`` hashed coefficients (10^8 by default) on one machine, within its
   memory: ``--rows`` rows of ``--nnz`` binary features each, indices uniform over the space (every coefficient is
   touched about ``rows * nnz / dim`` times), labels drawn from a sparse true model. Reports seconds per iteration,
   peak resident memory (this process) and what the vectors alone take (``(2m + 6) * dim * 8`` bytes).
The Spark side (the model in blocks on the executors, ``models/vlbfgs_spark.py``, against Spark ML's
``LogisticRegression``) is not measured here yet.

Run:  .venv/bin/python benchmarks/vlbfgs.py [--quick]     (writes results/vlbfgs.json; needs about 16 GiB free)
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes: checks that the script runs")
    ap.add_argument("--dim", type=int, default=10**8)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--nnz", type=int, default=50)
    ap.add_argument("--memory", type=int, default=5)
    ap.add_argument("--iters", type=int, default=10)
    args = ap.parse_args()
    if args.quick:
        args.dim, args.rows, args.iters = 10**5, 20_000, 5
    results: dict = {"args": vars(args)}
    results["local"] = run_local(args.dim, args.rows, args.nnz, args.memory, args.iters)
    name = "vlbfgs-quick.json" if args.quick else "vlbfgs.json"
    (HERE / "results" / name).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote results/{name}")


if __name__ == "__main__":
    main()
