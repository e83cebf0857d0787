"""Reference outputs of the ChannelAttribution package on its own example data.

ChannelAttribution (https://channelattribution.io, PyPI name ``ChannelAttribution``)
is licensed GPL-3.0-or-later. It is NOT a dependency of marketing360 and none of
its code is used by marketing360: this script only runs it to produce reference
numbers, which are stored as plain CSV files under ``tests/attribution/reference/``.

Run it with the separate, git-ignored virtual environment ``benchmarks/.ca-venv``
(never with the project's ``.venv``)::

    python3 -m venv benchmarks/.ca-venv
    benchmarks/.ca-venv/bin/pip install ChannelAttribution==2.2.5 pandas numpy matplotlib
    benchmarks/.ca-venv/bin/python benchmarks/channelattribution_reference.py

(ChannelAttribution 2.2.5 imports matplotlib at import time without declaring it
as a dependency, hence the explicit ``matplotlib``.)

Input: ``/work/shared/data/channelattribution_paths/Data.csv`` (';'-separated,
columns path;total_conversions;total_conversion_value;total_null; 10,000 rows;
it is byte-identical to ``src/cypack/data/Data.csv`` of the 2.2.5 sdist). It is
read with pandas exactly as given: duplicated paths are NOT merged.

Outputs (in ``tests/attribution/reference/``):

* ``heuristic.csv``: ``heuristic_models(Data, "path", "total_conversions",
  var_value="total_conversion_value")``, one row per channel, the package's
  column names.
* ``markov_order{k}.csv`` for k = 1..4: ``markov_model(Data, "path",
  "total_conversions", var_value="total_conversion_value", var_null="total_null",
  order=k, out_more=True, seed=s)`` for seeds 0, 10, ..., 70 with the package's default
  simulation settings (nsim_start=1e5, max_step=None, ncore=1, nfold=10,
  conv_par=0.05, rate_step_sim=1.5); one row per (seed, channel) with the
  attributed conversions and value and the two removal effects.
* ``README.md``: versions, the exact calls, the wall time of every markov_model
  call (time.perf_counter) and 3 extra end-to-end timings of the order-1 call.

Floats are written with pandas' default (shortest repr that round-trips), i.e.
full double precision.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

with contextlib.redirect_stdout(io.StringIO()):  # the package prints a banner on import
    from ChannelAttribution import heuristic_models, markov_model

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path("/work/shared/data/channelattribution_paths/Data.csv")
DEFAULT_OUT = ROOT / "tests" / "attribution" / "reference"

HEURISTIC_CALL = 'heuristic_models(Data, "path", "total_conversions", var_value="total_conversion_value")'
MARKOV_CALL = ('markov_model(Data, "path", "total_conversions", var_value="total_conversion_value", '
               'var_null="total_null", order={order}, out_more=True, seed={seed})')
MARKOV_COLUMNS = ["seed", "channel_name", "total_conversions", "total_conversion_value",
                  "removal_effects_conversion", "removal_effects_conversion_value"]


def run_heuristic(data: pd.DataFrame) -> pd.DataFrame:
    with contextlib.redirect_stdout(io.StringIO()):
        res = heuristic_models(data, "path", "total_conversions", var_value="total_conversion_value")
    return res.sort_values("channel_name", kind="mergesort").reset_index(drop=True)


def run_markov(data: pd.DataFrame, order: int, seed: int) -> tuple[pd.DataFrame, float, str]:
    """One markov_model call: (per-channel frame, wall seconds, the package's verbose log)."""
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        t0 = time.perf_counter()
        res = markov_model(data, "path", "total_conversions", var_value="total_conversion_value",
                           var_null="total_null", order=order, out_more=True, seed=seed)
        wall = time.perf_counter() - t0
    out = res["result"].merge(res["removal_effects"], on="channel_name", how="outer", validate="1:1")
    out.insert(0, "seed", seed)
    out = out[MARKOV_COLUMNS].sort_values("channel_name", kind="mergesort").reset_index(drop=True)
    return out, wall, log.getvalue()


def _last_sims(log: str) -> str:
    """The package's verbose log, condensed: each 'Number of simulations: N - ...' line and the
    share of simulated paths that ended before the maximum number of steps."""
    keep = []
    for ln in log.splitlines():
        if ln.startswith("Number of simulations"):
            keep.append(ln.replace("Number of simulations: ", "nsim=").replace(" - ", ": "))
        elif ln.startswith("Percentage of simulated paths"):
            keep.append("ended before max steps " + ln.split("(", 1)[1].replace(") is reached: ", ": "))
    return "; ".join(keep)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--orders", type=int, nargs="+", default=[1, 2, 3, 4])
    # seeds 10 apart: ChannelAttribution seeds fold r with seed + r (10 folds), so nearer seeds share streams
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 10, 20, 30, 40, 50, 60, 70])
    ap.add_argument("--order1-repeats", type=int, default=3)
    args = ap.parse_args(argv)

    data = pd.read_csv(args.data, sep=";")
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"data: {args.data} rows={len(data)} conversions={data.total_conversions.sum()} "
          f"value={data.total_conversion_value.sum():.6f} nulls={data.total_null.sum()}", flush=True)

    heur = run_heuristic(data)
    heur.to_csv(args.out / "heuristic.csv", index=False)
    print("wrote heuristic.csv", flush=True)

    timings: list[tuple[int, int, float, str]] = []
    identical: dict[int, list[list[int]]] = {}
    for order in args.orders:
        frames = []
        for seed in args.seeds:
            frame, wall, log = run_markov(data, order, seed)
            frames.append(frame)
            timings.append((order, seed, wall, _last_sims(log)))
            print(f"order={order} seed={seed} wall={wall:.3f}s  {_last_sims(log)}", flush=True)
        pd.concat(frames, ignore_index=True).to_csv(args.out / f"markov_order{order}.csv", index=False)
        identical[order] = _identical_seed_groups(frames)
        print(f"wrote markov_order{order}.csv", flush=True)

    repeats: list[float] = []
    same_as_seed0 = []
    ref0 = pd.read_csv(args.out / "markov_order1.csv") if 1 in args.orders and 0 in args.seeds else None
    for _ in range(args.order1_repeats):
        frame, wall, _log = run_markov(data, 1, 0)
        repeats.append(wall)
        if ref0 is not None:
            again = pd.read_csv(io.StringIO(frame.to_csv(index=False)))
            same_as_seed0.append(again.equals(ref0[ref0.seed == 0].reset_index(drop=True)))
        print(f"order=1 seed=0 repeat wall={wall:.3f}s", flush=True)

    write_readme(args, data, timings, repeats, same_as_seed0, identical)
    print("wrote README.md", flush=True)
    return 0


def _identical_seed_groups(frames: list[pd.DataFrame]) -> list[list[int]]:
    """Groups of seeds whose per-channel outputs are exactly equal (the seed column aside)."""
    groups: list[list[int]] = []
    reps: list[pd.DataFrame] = []
    for f in frames:
        body = f.drop(columns="seed").reset_index(drop=True)
        for g, r in zip(groups, reps):
            if body.equals(r):
                g.append(int(f.seed.iloc[0]))
                break
        else:
            groups.append([int(f.seed.iloc[0])])
            reps.append(body)
    return groups


def write_readme(args, data, timings, repeats, same_as_seed0, identical) -> None:
    v = metadata.version
    lines = [
        "# ChannelAttribution reference outputs",
        "",
        "Generated by `benchmarks/channelattribution_reference.py`, run with the separate, git-ignored",
        "virtual environment `benchmarks/.ca-venv`:",
        "",
        "```bash",
        "benchmarks/.ca-venv/bin/python benchmarks/channelattribution_reference.py",
        "```",
        "",
        "ChannelAttribution is GPL-3.0-or-later. It is **not** a dependency of marketing360 and none",
        "of its code is used here: these files are only its numerical outputs, kept as reference",
        "numbers for tests.",
        "",
        "## Versions",
        "",
        f"- ChannelAttribution {v('ChannelAttribution')} (built from the PyPI sdist)",
        f"- pandas {pd.__version__}, numpy {np.__version__}, Python {platform.python_version()}",
        f"- machine: {platform.machine()}, {platform.system()} {platform.release()}",
        "",
        "## Input",
        "",
        f"`{args.data}` read with `pd.read_csv(path, sep=\";\")`, as given (duplicated paths not",
        f"merged): {len(data)} rows, {int(data.total_conversions.sum())} conversions, total value",
        f"{data.total_conversion_value.sum():.6f}, {int(data.total_null.sum())} null paths.",
        "",
        "## Calls",
        "",
        "- `heuristic.csv`: `" + HEURISTIC_CALL + "`",
        "  (rows sorted by channel_name; the package's column names).",
        "- `markov_order{k}.csv`, k in " + ", ".join(map(str, args.orders)) + ", seeds "
        + ", ".join(map(str, args.seeds)) + ":",
        "  `" + MARKOV_CALL.format(order="k", seed="s") + "`",
        "  with all other arguments at their defaults (nsim_start=1e5, max_step=None, sep=\">\",",
        "  ncore=1, nfold=10, conv_par=0.05, rate_step_sim=1.5, verbose=True; the verbose output is",
        "  captured). Columns: seed, channel_name, total_conversions and total_conversion_value",
        "  (from `res['result']`), removal_effects_conversion and removal_effects_conversion_value",
        "  (from `res['removal_effects']`); rows sorted by (seed, channel_name).",
        "",
        "Floats are written with pandas' default formatting (shortest repr that round-trips).",
        "",
        "## Seeds are not independent replicates",
        "",
        "In 2.2.5, `markov_model` simulates `nfold`=10 folds, fold r with `std::mt19937(seed + r)`,",
        "and returns the single fold whose attributed conversions are closest to the fold-wise median",
        "(`functions.cpp`, `W_markov_model_1` and `markov_model_cpp`). Seeds s and s+1 therefore share",
        "9 of their 10 random streams and often return the very same fold. Seeds whose outputs are",
        "exactly equal, by order:",
        "",
    ]
    for order, groups in identical.items():
        lines.append(f"- order {order}: " + ", ".join("{" + ", ".join(map(str, g)) + "}" for g in groups)
                     + f" ({len(groups)} distinct result(s) from {sum(map(len, groups))} seeds)")
    lines += [
        "",
        "Seeds at least `nfold` apart (0, 10, 20, ...) use disjoint streams.",
        "",
        "## Wall time of each markov_model call (time.perf_counter, seconds)",
        "",
        "ncore=1; the machine had 2 cores shared with other work, so treat these as indicative.",
        "",
        "| order | seed | seconds | the package's verbose log (condensed) |",
        "|---|---|---|---|",
    ]
    for order, seed, wall, msg in timings:
        lines.append(f"| {order} | {seed} | {wall:.3f} | {msg} |")
    lines += [
        "",
        "## End-to-end timing of the order-1 call, repeated",
        "",
        "`" + MARKOV_CALL.format(order=1, seed=0) + "`, run "
        + f"{len(repeats)} more times after the runs above:",
        "",
        "| repeat | seconds |",
        "|---|---|",
    ]
    for i, wall in enumerate(repeats, 1):
        lines.append(f"| {i} | {wall:.3f} |")
    if repeats:
        lines += ["", f"min {min(repeats):.3f} s, median {float(np.median(repeats)):.3f} s, max {max(repeats):.3f} s."]
    if same_as_seed0:
        lines += ["", "Each repeat gave exactly the same numbers as the seed-0 rows of `markov_order1.csv`: "
                  + ("yes" if all(same_as_seed0) else "NO (" + str(same_as_seed0) + ")") + "."]
    lines.append("")
    (args.out / "README.md").write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
