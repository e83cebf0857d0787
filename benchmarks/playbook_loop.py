"""The 4E loop closed against the simulator's truth (issue 12): does the Enhance plan beat plan 0 and reach the oracle?

Worlds (fixed on 1 Dec 2026 before the loop was run on any of them; do not change them to suit a method):

* ``four-default``: the default channels; plan over display, social, video, search; 200,000 consumers, one
  category of three brands; the audience is the brand's Aware and Appeal consumers on the eve of the campaign;
* ``upper-vs-lower``: a long-carry upper-funnel video, a strongly purchase-driven search, a weak display; plan
  over those three;
* ``aware-only``: the default channels, plan over display, social, video, affiliate, the audience the Aware
  consumers only (a smaller audience: less power).

Each world: 70 observed days after a 60-day burn-in, the campaign from 5 to 25 February, measured to the last
day (11 March). Plan 0 splits the budget evenly; each round runs the plan as a measurable campaign (10%
holdout, a third of the rest per channel as its control, dose arms at 0.5x and 1.5x), reads it out, and
reallocates within 0.5x-2x of each channel's budget. The truth rolls each plan out to the whole audience
(no holdout) under the same random numbers. The oracle is the best split of the same budget found by a grid
over the channels (steps of 1/8 of the budget, then three rounds of half-steps around the best), with no
bounds.

Goals (the issue's): in every world the final plan's true incremental conversions exceed plan 0's, reach at
least 90% of the oracle's, and each round's predicted gain interval holds the true gain.

Each round draws its holdouts and arms afresh and fits the curves through every round's arms so far
(``closed_loop(pool=True)``, from 2 Dec 2026; the runs of 1 Dec kept plan 0's groups and read each round alone).

``--attribution last_touch`` (from 2 Dec 2026) reallocates through the last-touch attribution of each round's
campaign consumers calibrated on its readout, instead of the arms' own estimates.

Run:  nice .venv/bin/python benchmarks/playbook_loop.py [--worlds NAME ...] [--users N] [--rounds R]
      [--oracle-from results/playbook-loop.json] [--keys K ...] [--attribution RULE] [--merge]
      (20-40 minutes per world on 2 cores, of which the oracle's search takes two thirds: ``--oracle-from``
      reuses the oracles a previous run stored; writes results/playbook-loop.json)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def worlds() -> dict[str, dict]:
    """name -> loop arguments; fixed before any run."""
    from marketing360.datasets.world import DEFAULT_CHANNELS as d

    upper_lower = {
        "display": replace(d["display"], beta=(0.012, 0.006, 0.002, 0.0)),
        "video": replace(d["video"], theta=0.85, beta=(0.08, 0.05, 0.01, 0.0)),
        "search": replace(d["search"], beta=(0.004, 0.03, 0.06, 0.0)),
        "social": d["social"],
    }
    base = dict(n_days=70, n_brands=3, n_categories=1, burn_in=60)
    window = dict(brand="Acme", start="2025-02-05", end="2025-02-25")
    return {
        "four-default": dict(world=dict(base, seed=8101), channels=["display", "social", "video", "search"],
                             budget=200_000.0, audience_stages=("aware", "appeal"), **window),
        "upper-vs-lower": dict(world=dict(base, seed=8202, channels=upper_lower),
                               channels=["display", "video", "search"], budget=150_000.0,
                               audience_stages=("aware", "appeal"), **window),
        "aware-only": dict(world=dict(base, seed=8303), channels=["display", "social", "video", "affiliate"],
                           budget=120_000.0, audience_stages=("aware",), **window),
    }


def main() -> None:
    import pandas as pd

    from marketing360.playbook import closed_loop

    ap = argparse.ArgumentParser()
    ap.add_argument("--worlds", nargs="*", default=list(worlds()))
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(HERE / "results" / "playbook-loop.json"))
    ap.add_argument("--keys", nargs="*", default=["4E"], help="randomisations of each world (design keys); a key "
                    "other than 4E is stored as 'world (key)'")
    ap.add_argument("--oracle-from", help="reuse the oracles a previous run stored in this JSON (same worlds and "
                    "users) instead of searching again")
    ap.add_argument("--attribution", help="reallocate through this rule's attribution calibrated on each round "
                    "(closed_loop(attribution=...)); stored as 'world [rule]'")
    ap.add_argument("--merge", action="store_true", help="keep the other worlds already stored in --out")
    args = ap.parse_args()
    known = json.loads(Path(args.oracle_from).read_text()) if args.oracle_from else None
    if known is not None and known["users"] != args.users:
        raise SystemExit(f"{args.oracle_from} holds worlds of {known['users']} consumers, not {args.users}")
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    out = {"users": args.users, "rounds": args.rounds, "worlds": {}}
    if args.merge and Path(args.out).is_file():  # add to the worlds a previous run stored there
        out = json.loads(Path(args.out).read_text())
        if (out["users"], out["rounds"]) != (args.users, args.rounds):
            raise SystemExit(f"{args.out} holds runs of another size or number of rounds")
    for name, key in [(w, k) for w in args.worlds for k in args.keys]:
        spec = dict(worlds()[name])
        world = {**spec.pop("world"), "n_users": args.users}
        t0 = time.perf_counter()
        if known is not None:
            old = known["worlds"][name]
            loop = closed_loop(world, rounds=args.rounds, n_jobs=args.jobs, oracle_step=None, key=key,
                               attribution=args.attribution, **spec)
            oracle, searched = pd.DataFrame(old["oracle"]), old["plans_searched"]
            t = loop.table()
            best = float(oracle.incremental_conversions.iloc[0])
            t["share_of_oracle"], t["plan0_share_of_oracle"] = t.true_after / best, t.true_before / best
        else:
            loop = closed_loop(world, rounds=args.rounds, n_jobs=args.jobs, key=key, attribution=args.attribution,
                               **spec)
            oracle, searched, t = loop.oracle, len(loop.oracle), loop.table()
        name = (name if key == "4E" else f"{name} ({key})") + (f" [{args.attribution}]" if args.attribution else "")
        print(f"\n== {name} ({time.perf_counter() - t0:.0f} s)\n{t.to_string(index=False)}")
        print(oracle.head(5).to_string(index=False))
        final = t.iloc[-1]
        out["worlds"][name] = {
            "rounds": json.loads(t.to_json(orient="records")),
            "oracle": json.loads(oracle.head(10).to_json(orient="records")),
            "plans_searched": searched, "seconds": loop.seconds,
            **({"oracle_from": args.oracle_from} if known is not None else {}),
            "goals": {"beats_plan0": bool(final.true_after > t.iloc[0].true_before),
                      "share_of_oracle": float(final.share_of_oracle),
                      "reaches_90pct_of_oracle": bool(final.share_of_oracle >= 0.9),
                      "every_interval_covers": bool(t.covered.all())},
        }
        Path(args.out).write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v["goals"] for k, v in out["worlds"].items()}, indent=1))


if __name__ == "__main__":
    main()
