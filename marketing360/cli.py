"""The command line: ``marketing360 demo | sample | simulate | playbook``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from .datasets import load_sample, sample_dir
    from .engine import connect
    from .report import build_report

    t0 = time.perf_counter()
    if args.world:
        print(f"loading the world in {args.world} ...", flush=True)
    elif not (sample_dir() / "sample.json").is_file():
        print(f"simulating the sample world on first use (a minute or two; cached in {sample_dir()}) ...",
              flush=True)
    else:
        print("loading the sample world ...", flush=True)
    world = load_sample(args.world, progress=not args.quiet)
    print(f"starting the {args.engine} engine ...", flush=True)
    chosen = None
    if args.sections:
        from .errors import ParameterError
        from .report import SECTIONS

        by_name = {f.__name__.removesuffix("_section"): f for f in SECTIONS}
        names = [n.strip() for n in args.sections.split(",") if n.strip()]
        unknown = [n for n in names if n not in by_name]
        if unknown or not names:
            raise ParameterError(f"--sections: unknown section(s) {unknown or names}; choose from {list(by_name)}")
        chosen = [f for n, f in by_name.items() if n in names]  # in the report's order
    with connect(args.engine) as engine:
        report = build_report(engine, world, progress=not args.quiet, sections=chosen)
        path = report.write(Path(args.out) / "report.html")
    print(f"wrote {path} in {time.perf_counter() - t0:.1f} s")
    return 0


def _sample(args: argparse.Namespace) -> int:
    import json

    from .datasets.samples import SAMPLE_CHECKSUM, SAMPLE_PARAMS, sample_dir, write_sample

    target = Path(args.out) if args.out else sample_dir()
    if args.out or not (target / "sample.json").is_file():
        print(f"simulating the sample world with {SAMPLE_PARAMS} ...", flush=True)
    t0 = time.perf_counter()
    path = write_sample(args.out, progress=True)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    print(f"the sample world is in {path} ({size / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s)")
    if args.checksum:
        checksum = json.loads((path / "sample.json").read_text())["checksum"]
        same = "the recorded one" if checksum == SAMPLE_CHECKSUM else \
            f"NOT the recorded {SAMPLE_CHECKSUM} (marketing360.datasets.samples.SAMPLE_CHECKSUM)"
        print(f"checksum {checksum}: {same}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from .datasets import simulate
    from .datasets.result import check_world_target

    check_world_target(Path(args.out))  # the world replaces the folder: refuse a user's folder before simulating
    t0 = time.perf_counter()
    world = simulate(n_users=args.users, n_days=args.days, truth=args.truth, seed=args.seed,
                     out=args.out, n_jobs=args.jobs, progress=True)
    world.write(args.out)
    el = time.perf_counter() - t0
    import pyarrow.parquet as pq

    n = sum(pq.ParquetFile(f).metadata.num_rows for f in Path(args.out, "events").glob("*.parquet"))
    print(f"{n:,} events for {args.users:,} consumers x {args.days} days in {el:.1f} s "
          f"({n / el:,.0f} events/s) under {Path(args.out) / 'events'}")
    return 0


def _playbook(args: argparse.Namespace) -> int:
    """The 4E loop on a simulated world: diagnose, target, run the campaign, read it out, reallocate, check."""
    import pandas as pd

    from .datasets import evaluate_campaigns, simulate
    from .playbook import Playbook

    t0 = time.perf_counter()
    out = Path(args.out)
    world = dict(n_users=args.users, n_days=args.days, n_brands=3, n_categories=1, burn_in=60, seed=args.seed,
                 truth="none", n_jobs=args.jobs, progress=False)
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    pb = Playbook(args.brand, start=args.start, end=args.end, channels=channels, budget=args.budget,
                  segments=args.segments, min_size=args.min_size, period=args.period)
    print(f"simulating {args.users:,} consumers x {args.days} days ...", flush=True)
    w0 = simulate(**world)
    ev = w0.events
    assert ev is not None
    before = ev[ev.ts < pb.start]
    print("Evolve:", pb.evolve(before).summary().notes[2], flush=True)
    design = pb.execute(before)
    lists = design.export(out / "audience_lists.parquet")
    print(f"Execute: {len(design.exported()):,} (consumer, channel) rows in {lists}", flush=True)
    w1 = simulate(**world, campaign=pb.campaign())
    readout = pb.evaluate(w1.events)
    camp = readout.table().query("scope == 'campaign'").incremental_conversions.sum()
    print(f"Evaluate: {camp:,.0f} incremental conversions among the treated", flush=True)
    nxt = pb.enhance()
    print(f"Enhance: predicted gain {nxt.gain:+,.0f} [{nxt.gain_lower:,.0f}, {nxt.gain_upper:,.0f}]", flush=True)
    roll = evaluate_campaigns(w1, [design.rollout(pb.brand, pb.start, pb.end),
                                   nxt.design.rollout(pb.brand, pb.start, pb.end)], n_jobs=args.jobs)
    truth = pd.concat([pd.DataFrame({"plan": ["plan 0 (even split)", "plan 1 (Enhance)"]}), roll], axis=1)
    gain = float(roll.incremental_conversions.iloc[1] - roll.incremental_conversions.iloc[0])
    print(f"truth: plan 1 adds {gain:+,.0f} incremental conversions over plan 0", flush=True)
    path = pb.report(out / "playbook.html", truth=truth)
    print(f"wrote {path} in {time.perf_counter() - t0:.1f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``marketing360`` command."""
    p = argparse.ArgumentParser(prog="marketing360", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="write the HTML report of the sample world to OUT/report.html")
    d.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    d.add_argument("--out", default="out")
    d.add_argument("--world", default=None,
                   help="a world folder (default: the sample world, simulated on first use and cached)")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.add_argument("--sections", default=None,
                   help="only these sections, comma-separated (world, truth, assets, attribution, incrementality, "
                        "mmm, paths; default: all)")
    d.set_defaults(fn=_demo)
    s = sub.add_parser("sample", help="build the sample world into the cache (or write it to --out DIR)")
    s.add_argument("--out", default=None, help="write the world to this folder instead of the cache")
    s.add_argument("--checksum", action="store_true",
                   help="print the world's checksum (to update SAMPLE_CHECKSUM after a simulator change)")
    s.set_defaults(fn=_sample)
    m = sub.add_parser("simulate", help="simulate a world and write its events as parquet")
    m.add_argument("--users", type=int, default=100_000)
    m.add_argument("--days", type=int, default=90)
    m.add_argument("--truth", choices=["none", "incremental", "full"], default="incremental")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--jobs", type=int, default=2)
    m.add_argument("--out", required=True)
    m.set_defaults(fn=_simulate)
    b = sub.add_parser("playbook", help="run the 4E loop on a simulated world and write OUT/playbook.html")
    b.add_argument("--brand", default="Acme")
    b.add_argument("--channels", default="display,video", help="comma-separated channels of the plan")
    b.add_argument("--budget", type=float, default=40_000.0)
    b.add_argument("--start", default="2025-02-05", help="the campaign's first day")
    b.add_argument("--end", default="2025-02-25", help="the campaign's last day")
    b.add_argument("--segments", type=int, default=2, help="audience segments by propensity score")
    b.add_argument("--users", type=int, default=40_000)
    b.add_argument("--days", type=int, default=70)
    b.add_argument("--seed", type=int, default=12)
    b.add_argument("--period", type=int, default=30, help="days of the Evolve diagnosis")
    b.add_argument("--jobs", type=int, default=2)
    b.add_argument("--min-size", type=int, default=1000, dest="min_size")
    b.add_argument("--out", default="out")
    b.set_defaults(fn=_playbook)
    args = p.parse_args(argv)
    from .errors import Marketing360Error

    try:
        return int(args.fn(args))
    except Marketing360Error as exc:
        print(f"marketing360: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
