"""Suite ``mmm``: the marketing-mix model's speed goal (issue 10), side by side with PyMC-Marketing.

Goal: 3 years weekly x 10 channels x 50 geos fitted *with intervals* (``MMM(level="geo").fit`` then
``roas()`` and ``parameters()``) in under 10 s on 2 cores. Two datasets of that size:

* ``simulate_mmm(n_periods=156, channels=10, geos=50, seed=20261130)`` (this package's simulator);
* ``benchmarks/data/mmm-speed/geo_3y_10ch_50g.csv``, written by ``benchmarks/pymc_marketing_side_by_side.py``
  with a generating process of its own (and its truth in the JSON beside it), when present: the ROAS found
  there is scored against that truth too.

PyMC-Marketing runs in its own virtual environment (it does not install beside this package's pins):
``benchmarks/pymc_marketing_side_by_side.py`` times its default sampler on the same CSV and on its own example,
and writes ``benchmarks/results/pymc-marketing-side-by-side.json``; this suite reads that file and prints the
ratio. Both measurements ran on this 2-core machine, but not at the same moment: the ratio is indicative.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import harness as h

NAME = "mmm"
MEASURED = ("incrementality/mmm", "datasets/mmm_world.py", "engine", "inputs.py")
DEFAULTS = {"repeats": 3, "quick_repeats": 1, "seed": 20261130, "wait_quiet": 30.0}
OK_TEXT = "a 156 x 50 x 10 geo model fitted with intervals in under 10 s"
GOAL_S = 10.0
ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "benchmarks" / "data" / "mmm-speed" / "geo_3y_10ch_50g.csv"
PYMC_JSON = ROOT / "benchmarks" / "results" / "pymc-marketing-side-by-side.json"


def _long(csv: str) -> tuple[Any, Any, list[str]]:
    import pandas as pd

    wide = pd.read_csv(csv, parse_dates=["date"])
    chans = [c for c in wide.columns if c.startswith("spend_")]
    spend = wide.melt(id_vars=["date", "geo"], value_vars=chans, var_name="channel", value_name="spend")
    spend["channel"] = spend["channel"].str.removeprefix("spend_")
    outcomes = wide[["date", "geo"]].assign(revenue=wide["y"])
    return spend, outcomes, [c.removeprefix("spend_") for c in chans]


def _work(spec: dict[str, Any]) -> dict[str, Any]:
    """Read the data once, then time ``fit`` + ``roas()`` + ``parameters()`` ``repeats`` times."""
    import resource

    from marketing360.incrementality.mmm import MMM

    if spec["source"] == "simulate":
        from marketing360.datasets import simulate_mmm

        w = simulate_mmm(**spec["sim"], seed=spec["seed"])
        args: tuple[Any, ...] = (w.data,)
        kwargs: dict[str, Any] = {"controls": ["event", "price"]}
        truth = w.truth.roas.to_dict()
    else:
        spend, outcomes, chans = _long(spec["path"])
        args, kwargs = (spend, outcomes), {}
        meta = json.loads(Path(spec["path"]).with_suffix(".json").read_text())
        roas = meta.get("truth", meta).get("roas")
        truth = dict(zip(chans, roas, strict=True)) if isinstance(roas, list) else dict(roas or {})
    times, fit_times = [], []
    for _ in range(spec["repeats"]):
        t0 = time.perf_counter()
        m = MMM(level="geo", random_state=0).fit(*args, **kwargs)
        t1 = time.perf_counter()
        r = m.roas().table().set_index("channel")
        m.parameters()
        times.append(time.perf_counter() - t0)
        fit_times.append(t1 - t0)
    rel = {ch: float(r.loc[ch, "estimate"] / t - 1) for ch, t in truth.items()} if truth else {}
    cover = {ch: bool(r.loc[ch, "lower"] <= t <= r.loc[ch, "upper"]) for ch, t in truth.items()}
    return {"first_seconds": times[0], "repeats": times, "median": statistics.median(times),
            "fit_only_median": statistics.median(fit_times), "r2": m.r2_, "rel_error": rel, "covered": cover,
            "rows": int(m.panel_.y.size), "self_maxrss_kb": h.maxrss_kb(resource.RUSAGE_SELF)}


WORKERS = {"mmm_fit": _work}


def run(a: Any) -> tuple[dict[str, Any], bool]:
    problems: list[str] = []
    sim = {"n_periods": 156, "channels": 10, "geos": 50} if not a.quick else {"n_periods": 60, "channels": 3,
                                                                               "geos": 5}
    cases = {"simulate_mmm": {"kind": "mmm_fit", "source": "simulate", "sim": sim, "seed": a.seed}}
    if CSV.exists() and not a.quick:
        cases["pymc-script CSV"] = {"kind": "mmm_fit", "source": "csv", "path": str(CSV)}
    results: dict[str, Any] = {}
    for name, spec in cases.items():
        spec["repeats"] = a.repeats
        print(f"  {name} ...", flush=True)
        try:
            res = h.run_case(f"mmm-{name.split()[0]}", spec, timeout=1800, quiet=a.quiet)
        except h.CaseFailed as exc:
            problems.append(str(exc).splitlines()[0])
            continue
        results[name] = res
        print(f"    median {res['median']:.2f} s with intervals (fit {res['fit_only_median']:.2f} s); others used "
              f"{res['background_cores']:.2f} cores", flush=True)
        if not a.quick and res["median"] > GOAL_S:
            problems.append(f"{name}: {res['median']:.1f} s > {GOAL_S:.0f} s")
    pymc = json.loads(PYMC_JSON.read_text()) if PYMC_JSON.exists() else None
    rows = []
    for name, res in results.items():
        errs = [abs(v) for v in res["rel_error"].values()]
        rows.append([name, res["rows"], f"{res['median']:.2f} s", f"{res['fit_only_median']:.2f} s",
                     f"{res['r2']:.3f}", f"{statistics.median(errs):.1%}" if errs else "-",
                     f"{sum(res['covered'].values())}/{len(res['covered'])}" if res["covered"] else "-",
                     f"{res['background_cores']:.2f}"])
    table = h.md_table(["data (156 weeks x 50 geos x 10 channels)", "rows", "fit + intervals (median)", "fit only",
                        "R²", "median ROAS error", "ROAS in 95% interval", "other load (cores)"], rows)
    payload = {"results": results, "pymc_marketing": pymc, "table_markdown": table,
               "checks": {"ok": not problems, "problems": problems, "ok_text": OK_TEXT}}
    return payload, not problems


def report(payload: dict[str, Any]) -> list[str]:
    pymc = payload.get("pymc_marketing")
    if not pymc:
        return ["PyMC-Marketing: no side-by-side result (run benchmarks/pymc_marketing_side_by_side.py in its venv)"]
    lines = [f"PyMC-Marketing {pymc.get('versions', {}).get('pymc_marketing', '?')} (own venv, default sampler; "
             "measured by benchmarks/pymc_marketing_side_by_side.py, not in this run):"]
    ours = payload["results"].get("pymc-script CSV") or payload["results"].get("simulate_mmm")
    for key, val in (pymc.get("runs") or {}).items():
        secs = val.get("wall_s") if isinstance(val, dict) else None
        if isinstance(secs, (int, float)):
            ratio = f" = {secs / ours['median']:,.0f}x ours on the 50-geo data" if ours and "geo" in key else ""
            draws = f" ({val.get('chains')} chains x {val.get('draws')} draws, {val.get('tune')} tune)"
            lines.append(f"  {key}: {secs:,.0f} s{draws}{ratio}")
    return lines
