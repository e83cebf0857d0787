"""PrefixSpan on 1M sequences: ours (in process, what DuckDB's capability runs) vs Spark MLlib's (issue 11).

Sequences of 1 to 8 single-item itemsets over 20 items with Zipf-like frequencies (seed 0), min_support 0.01,
max_pattern_length 5. Both run in this process one after the other (MLlib on a local[2] session, its input
cached and counted first, so its time is the mining and the collect); the patterns and counts must be equal.

Run:  nice .venv/bin/python benchmarks/prefixspan_side_by_side.py [--sequences 1000000]  (writes
results/prefixspan.json)
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from marketing360.engine.prefixspan import prefixspan

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sequences", type=int, default=1_000_000)
    ap.add_argument("--min-support", type=float, default=0.01)
    ap.add_argument("--max-length", type=int, default=5)
    ap.add_argument("--out", default=str(HERE / "results" / "prefixspan.json"))
    a = ap.parse_args()
    rng = random.Random(0)
    items = [f"i{k}" for k in range(20)]
    weights = [1 / (k + 1) for k in range(20)]
    seqs = [[[x] for x in rng.choices(items, weights=weights, k=rng.randint(1, 8))] for _ in range(a.sequences)]
    t0 = time.perf_counter()
    ours = prefixspan(seqs, min_support=a.min_support, max_pattern_length=a.max_length)
    ours_s = time.perf_counter() - t0
    print(f"ours: {ours_s:.1f} s, {len(ours)} patterns", flush=True)

    from pyspark.ml.fpm import PrefixSpan

    import marketing360 as m3

    eng = m3.connect("spark")
    df = eng.session.createDataFrame([(s,) for s in seqs], "sequence array<array<string>>").cache()
    df.count()
    t0 = time.perf_counter()
    found = PrefixSpan(minSupport=a.min_support, maxPatternLength=a.max_length).findFrequentSequentialPatterns(
        df).collect()
    mllib_s = time.perf_counter() - t0
    same = sorted((tuple(map(tuple, p)), f) for p, f in ours) == sorted(
        (tuple(tuple(sorted(x)) for x in r.sequence), int(r.freq)) for r in found)
    print(f"MLlib: {mllib_s:.1f} s, {len(found)} patterns; identical: {same}", flush=True)
    out = {"sequences": a.sequences, "min_support": a.min_support, "max_pattern_length": a.max_length,
           "patterns": len(ours), "ours_seconds": ours_s, "mllib_seconds": mllib_s, "ratio_ours_to_mllib":
           ours_s / mllib_s, "identical": same, "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    json.dump(out, open(a.out, "w"), indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
