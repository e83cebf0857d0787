"""Spark ML's multi-column mean ``Imputer`` interpreted, compiled, and compiled with HotSpot's method-size guard.

Why: Spark interprets an operator wider than ``spark.sql.codegen.maxFields`` (100 fields); the partial aggregate
of a mean over K columns has 2K. ``marketing360``'s Spark engine raises the setting during its one-pass fit and caps
``spark.sql.codegen.hugeMethodLimit`` at 8000 bytes (HotSpot does not JIT-compile a larger method), see
``SparkEngine._wide_codegen``. This script measures the three settings side by side in one warm process, on K
double columns of ``--rows`` random rows (every other column 1/9 NaN) held in Spark's cache, so that the scan
costs little and the aggregation shows:

* ``interpreted``: maxFields 100 (Spark's default: the partial aggregate interpreted);
* ``compiled``: maxFields 2K, hugeMethodLimit 65535 (Spark's default);
* ``compiled, guarded``: maxFields 2K, hugeMethodLimit 8000 (what the engine does).

Each setting is fitted twice untimed (code generation, the JIT), then ``--rounds`` times in alternating order.
Prints every time and the medians; nothing is written.

    .venv/bin/python benchmarks/spark_wide_codegen.py --columns 100 150 --rows 1000000
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from marketing360.engine.spark import SparkEngine

SETTINGS = {"interpreted": lambda k: (100, 65535), "compiled": lambda k: (2 * k, 65535),
            "compiled, guarded": lambda k: (2 * k, 8000)}


def measure(eng: SparkEngine, columns: int, rows: int, rounds: int) -> dict[str, list[float]]:
    """Seconds per fit of Spark ML's mean Imputer over ``columns`` cached columns, per setting."""
    from pyspark.ml.feature import Imputer

    names = [f"c{i:03d}" for i in range(columns)]
    df = pd.DataFrame(np.random.default_rng(0).normal(size=(rows, columns)), columns=names)
    df.iloc[::9, ::2] = np.nan
    sdf = eng.session.createDataFrame(df).repartition(4).cache()
    sdf.count()
    imp = Imputer(inputCols=names, outputCols=[f"o{c}" for c in names])

    def fit(setting: str) -> float:
        wide, huge = SETTINGS[setting](columns)
        with eng._settings({"spark.sql.codegen.maxFields": str(wide),
                            "spark.sql.codegen.hugeMethodLimit": str(huge)}):
            t = time.perf_counter()
            imp.fit(sdf).surrogateDF.collect()
            return time.perf_counter() - t

    for s in SETTINGS:
        fit(s)
        fit(s)
    times: dict[str, list[float]] = {s: [] for s in SETTINGS}
    for r in range(rounds):
        for s in list(SETTINGS) if r % 2 == 0 else list(SETTINGS)[::-1]:
            times[s].append(fit(s))
    sdf.unpersist()
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--columns", type=int, nargs="+", default=[100, 150])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args(argv)
    if min(args.columns) < 1 or args.rows < 1 or args.rounds < 1:
        ap.error("--columns, --rows and --rounds must be positive")
    eng = SparkEngine()
    try:
        for k in args.columns:
            times = measure(eng, k, args.rows, args.rounds)
            med = {s: statistics.median(v) for s, v in times.items()}
            print(f"{k} columns x {args.rows:,} cached rows: "
                  + "; ".join(f"{s} {med[s]:.2f} s ({', '.join(f'{t:.2f}' for t in times[s])})" for s in SETTINGS)
                  + f"; interpreted / compiled, guarded {med['interpreted'] / med['compiled, guarded']:.2f}x",
                  flush=True)
    finally:
        eng.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
