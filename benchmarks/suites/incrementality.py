"""Suite ``incrementality``: the speed goals of ``marketing360.incrementality`` (issue 9).

1. **Synthetic control** with conformal inference on a GeoLift-sized panel (40
   locations x 105 days: GeoLift's ``GeoLift_Test`` data from
   ``/work/shared/data/geolift`` when present, else a simulated panel of the
   same shape): ``synthetic_control(data, treated=["chicago", "portland"],
   start=91, end=105)`` from the long CSV (reading the panel included) and
   from a ``GeoPanel``, SCM and ASCM; goal under 2 s. Side by side: the SCM
   weights by a generic ``scipy.optimize.minimize(method="SLSQP")`` fit, which
   must give the package's weights to 1e-5.
2. **Power analysis** over every single-market design (40 candidates, GeoLift's
   market-selection effect sizes -20% .. +20%, tests of 10 and 15 days,
   lookback 1 and 5): ``market_selection`` from the long CSV; goal under 30 s.
   ``geo_power`` of one design must give the power curve the selection gave it.
3. **Experiment readout** from the >= 100M-event world of the ``assets`` suite
   on DuckDB: ``experiment(events, assignment, ...)`` end to end (the events'
   entry check included); goal under 60 s. Side by side: hand-written DuckDB
   SQL computing the same per-arm sufficient statistics over the same parquet
   files, then the same Welch / CUPED arithmetic in numpy; the estimates must
   agree to 1e-9 relative.

Every measurement runs in its own subprocess. With ``--quick`` the experiment
runs on the tiny cached world and the power analysis only with lookback 1:
it checks that everything runs and agrees, its timings mean nothing.
"""

from __future__ import annotations

import csv
import math
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness as h

NAME = "incrementality"
MEASURED = ("incrementality", "engine", "inputs.py", "results.py")
DEFAULTS = {"repeats": 3, "quick_repeats": 1, "seed": 0, "wait_quiet": 30.0}
OK_TEXT = ("GeoLift's published walkthrough figures reproduced, CSV = GeoPanel, SLSQP weights = ours to 1e-5, "
           "geo_power = the selection's power curve, hand-written DuckDB SQL + numpy = experiment() to 1e-9")

GEOLIFT = Path("/work/shared/data/geolift")
TREATED = ["chicago", "portland"]
START, END = 91, 105
SELECTION_EFFECTS = [-0.2, -0.15, -0.1, -0.05, 0.0, 0.05, 0.1, 0.15, 0.2]  # design.SELECTION_EFFECTS
GOALS_S = {"synth": 2.0, "power": 30.0, "experiment": 60.0}
#: GeoLift walkthrough (facebookincubator/GeoLift, vignettes/GeoLift_Walkthrough.md, commit 02c00ea): GeoLift()
#: on GeoLift_Test, chicago + portland, periods 91-105: ATT 155.556, incremental 4667, lift 5.4%; model="best"
#: (Ridge): ATT 156.805, incremental 4704, lift 5.5%; SCM weights cincinnati 0.2272, miami 0.2028, baton rouge 0.1335
PUBLISHED = {"scm": {"att": 155.556, "incremental": 4667, "percent_lift": 5.4},
             "ascm": {"att": 156.805, "incremental": 4704, "percent_lift": 5.5}}
PUBLISHED_WEIGHTS = {"cincinnati": 0.2272, "miami": 0.2028, "baton rouge": 0.1335}
#: the test is March (both ends included, as experiment() reads them), the pre-period January and February
EXPERIMENT = {"start": "2025-03-01", "end": "2025-03-31", "pre_start": "2025-01-01",
              "metrics": ["conversion", "purchases", "revenue"]}
#: the two weight fits run with one BLAS thread: on a busy 2-core machine OpenBLAS's second thread made SLSQP's
#: 0.015 s fit take 0.14-0.7 s (ours less so), so the ratio would measure the machine's load, not the methods
BLAS1 = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
HASH_MULT = 2654435761  # Knuth's multiplicative hash: exposed = (user_id * HASH_MULT mod 2^32) < 2^31
STAT_COLUMNS = ("estimate", "std_error", "dof", "p_value", "treatment_mean", "control_mean", "relative",
                "variance_reduction")


# ============================================================================ workers (in subprocesses)


def _timed(fn: Any, repeats: int) -> tuple[Any, float, list[float]]:
    """(last result, first call's seconds, the seconds of ``repeats`` further calls)."""
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, first, times


def _timed(call: Callable[[], Any], repeats: int) -> tuple[Any, float, list[float]]:
    """The last result of ``call``, the first call's seconds, and the seconds of all ``repeats`` calls."""
    t0 = time.perf_counter()
    out = call()
    first = time.perf_counter() - t0
    times = [first]
    for _ in range(repeats - 1):
        t0 = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - t0)
    return out, first, times


def _finish(res: dict[str, Any], first: float, times: list[float]) -> dict[str, Any]:
    import resource

    res.update(first_seconds=first, repeats=times, median=statistics.median(times) if times else first,
               self_maxrss_kb=h.maxrss_kb(resource.RUSAGE_SELF))
    return res


def _work_synth(spec: dict[str, Any]) -> dict[str, Any]:
    """``synthetic_control`` from the long CSV or from a ``GeoPanel``: first call and ``repeats`` more."""
    import warnings

    t0 = time.perf_counter()
    from marketing360.incrementality.geo.panel import geo_panel
    from marketing360.incrementality.geo.synth import synthetic_control

    res: dict[str, Any] = {"import_seconds": time.perf_counter() - t0}
    panel_seconds = None
    data: Any = spec["path"]
    if spec["source"] == "panel":
        t0 = time.perf_counter()
        data = geo_panel(spec["path"])
        panel_seconds = time.perf_counter() - t0
    res["panel_seconds"] = panel_seconds
    caught: list[str] = []

    def call() -> Any:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            sc = synthetic_control(data, treated=spec["treated"], start=spec["start"], end=spec["end"],
                                   method=spec["method"], inference=spec["inference"], random_state=0)
            table = sc.table()
        caught[:] = sorted({str(x.message).split(";")[0] for x in w})
        return sc, table

    (sc, table), first, times = _timed(call, spec["repeats"])
    cols = [c for c in ("effect", "estimate", "lower", "upper", "p_value", "interval_method") if c in table.columns]
    res.update(table=table[cols].to_dict("records"), weights={str(k): float(v) for k, v in sc.weights.items()},
               scaled_l2_imbalance=float(sc.scaled_l2_imbalance), ridge_lambda=sc.ridge_lambda, warnings=caught)
    return _finish(res, first, times)


def _work_slsqp(spec: dict[str, Any]) -> dict[str, Any]:
    """The SCM weights as a generic constrained least-squares fit: pandas pivot + scipy SLSQP."""
    t0 = time.perf_counter()
    import numpy as np
    import pandas as pd
    from scipy.optimize import minimize

    res: dict[str, Any] = {"import_seconds": time.perf_counter() - t0}

    def read() -> tuple[Any, Any, list[str]]:
        df = pd.read_csv(spec["path"])
        wide = df.pivot_table(index="date", columns="location", values="Y", aggfunc="sum").sort_index()
        wide = wide.iloc[: spec["end"]]
        treated = wide[spec["treated"]].to_numpy(float).mean(axis=1)
        donors = [c for c in wide.columns if c not in spec["treated"]]
        return treated, wide[donors].to_numpy(float), donors

    def fit(x1: Any, yc: Any) -> Any:
        t0_ = spec["start"] - 1  # pre-periods: GeoLift's period 91 is the 91st
        X = yc[:t0_] - yc[:t0_].mean(axis=0)   # each location's pre-period mean removed (fixed effects)
        z = x1[:t0_] - x1[:t0_].mean()
        scale = float(z @ z)
        n = X.shape[1]
        out = minimize(lambda w: float((z - X @ w) @ (z - X @ w)) / scale, np.full(n, 1.0 / n),
                       jac=lambda w: -2.0 * X.T @ (z - X @ w) / scale, method="SLSQP",
                       bounds=[(0.0, 1.0)] * n, constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0,
                                                              "jac": lambda w: np.ones_like(w)}],
                       options={"ftol": 1e-15, "maxiter": 1000})
        return out

    (x1, yc, donors), read_first, read_times = _timed(read, spec["repeats"])
    out, first, times = _timed(lambda: fit(x1, yc), spec["repeats"])
    res.update(read_first_seconds=read_first, read_repeats=read_times, read_median=statistics.median(read_times)
               if read_times else read_first, weights=dict(zip(donors, map(float, out.x))),
               success=bool(out.success), iterations=int(out.nit), message=str(out.message))
    return _finish(res, first, times)


def _work_power(spec: dict[str, Any]) -> dict[str, Any]:
    """``market_selection`` over every single-market design, or ``geo_power`` of one design, from the CSV."""
    t0 = time.perf_counter()
    from marketing360.incrementality.geo.design import geo_power, market_selection

    res: dict[str, Any] = {"import_seconds": time.perf_counter() - t0}
    common = {"durations": spec["durations"], "lookback": spec["lookback"], "effect_sizes": spec["effects"],
              "method": spec["method"], "random_state": 0, **({"side": spec["side"]} if spec.get("side") else {})}

    def call() -> Any:
        if spec["what"] == "market_selection":
            return market_selection(spec["path"], n_markets=1, **common)
        return geo_power(spec["path"], treated=spec["treated"], **common)

    out, first, times = _timed(call, spec["repeats"])
    if spec["what"] == "market_selection":
        curves = out.power_curves
        res.update(designs=int(curves["location"].nunique()), simulations=len(out.simulations),
                   top=out.table().head(5)[["rank", "location", "duration", "effect_size", "power"]].to_dict("records"),
                   curves=curves[["location", "duration", "effect_size", "power", "att"]].to_dict("records"))
    else:
        res.update(simulations=len(out.simulations), mde={str(k): v for k, v in out.mde.items()},
                   curves=out.table()[["duration", "effect_size", "power", "att"]].to_dict("records"))
    return _finish(res, first, times)


def _assignment(spec: dict[str, Any]) -> Any:
    """``user_id, arm, exposed``: arm by parity of the id, exposed (~50%) by a multiplicative hash."""
    import numpy as np
    import pandas as pd

    if spec.get("users_path"):
        ids = pd.read_parquet(spec["users_path"], columns=["user_id"])["user_id"].to_numpy(np.int64)
    else:
        ids = np.arange(spec["users"], dtype=np.int64)
    hashed = (ids.astype(np.uint64) * np.uint64(HASH_MULT)) % np.uint64(2 ** 32)
    return pd.DataFrame({"user_id": ids, "arm": np.where(ids % 2 == 1, "treatment", "control"),
                         "exposed": hashed < np.uint64(2 ** 31)})


def _records(df: Any) -> list[dict[str, Any]]:
    cols = ["metric", "estimand", "arm", *STAT_COLUMNS, "n_treatment", "n_control"]
    return [{k: (v if isinstance(v, str) else float(v)) for k, v in r.items()} for r in df[cols].to_dict("records")]


def _work_experiment(spec: dict[str, Any]) -> dict[str, Any]:
    """``experiment()`` on the DuckDB engine, from the parquet folder: ``repeats`` timed runs."""
    t0 = time.perf_counter()
    import marketing360 as m3
    from marketing360.incrementality.experiments import experiment

    res: dict[str, Any] = {"import_seconds": time.perf_counter() - t0}
    t0 = time.perf_counter()
    eng = m3.connect("duckdb")
    res["connect_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    asg = _assignment(spec)
    res["assignment_seconds"] = time.perf_counter() - t0
    e = spec["experiment"]

    def call() -> Any:  # the events opened (and checked) anew each time, as a user's call does
        r = experiment(eng.table(spec["path"]), eng.table(asg), start=e["start"], end=e["end"],
                       pre_start=e["pre_start"], metrics=e["metrics"], exposed="exposed")
        return r.table()

    table, first, times = _timed(call, spec["repeats"])
    res.update(table=_records(table), units=len(asg), exposed=int(asg["exposed"].sum()))
    eng.close()
    return _finish(res, first, times)


def _work_experiment_parts(spec: dict[str, Any]) -> dict[str, Any]:
    """Where ``experiment()``'s time goes: the events' entry check alone, the readout of an already checked
    table, and the same readout with the events narrowed to purchases first (every metric here reads only
    purchases; users without any still count as zeros). ``repeats`` rounds, the three in turn."""
    t0 = time.perf_counter()
    import statsmodels.stats.multitest  # noqa: F401 - the readout's first call imports it: kept out of the clock

    import marketing360 as m3
    from marketing360.incrementality.experiments import experiment
    from marketing360.inputs import as_table

    res: dict[str, Any] = {"import_seconds": time.perf_counter() - t0}
    eng = m3.connect("duckdb")
    asg = eng.table(_assignment(spec))
    e = spec["experiment"]
    kw = {"start": e["start"], "end": e["end"], "pre_start": e["pre_start"], "metrics": e["metrics"],
          "exposed": "exposed"}
    parts: dict[str, list[float]] = {"check": [], "readout": [], "readout_purchases_only": []}
    tables: dict[str, Any] = {}
    for _ in range(max(spec["repeats"], 1)):
        t0 = time.perf_counter()
        ev = as_table(eng.table(spec["path"]), "events")
        parts["check"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        tables["readout"] = experiment(ev, asg, **kw).table()
        parts["readout"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        tables["readout_purchases_only"] = experiment(ev.filter(ev.event_type == "purchase"), asg, **kw).table()
        parts["readout_purchases_only"].append(time.perf_counter() - t0)
    res.update(parts={k: {"repeats": v, "median": statistics.median(v)} for k, v in parts.items()},
               tables={k: _records(v) for k, v in tables.items()})
    eng.close()
    total = [sum(x) for x in zip(parts["check"], parts["readout"])]
    return _finish(res, total[0], total)


def hand_sql(glob: str, e: dict[str, Any]) -> str:
    """Per (arm, exposed): units, sums, sums of squares and the cross-products with the pre-period metric.

    One scan of the purchases from pre_start to the end of the day ``end`` gives both windows' metrics per
    user; every user of the assignment counts, those without purchases as zeros."""
    win, pre = f"ts >= TIMESTAMP '{e['start']}'", f"ts < TIMESTAMP '{e['start']}'"
    stats = []
    for i, _ in enumerate(("conversion", "purchases", "revenue")):
        y, x = f"y{i}", f"x{i}"
        stats += [f"sum({y}) AS s_{y}", f"sum({y} * {y}) AS ss_{y}", f"sum({x}) AS s_{x}",
                  f"sum({x} * {x}) AS ss_{x}", f"sum({y} * {x}) AS sp_{i}", f"min({y}) AS min_{y}",
                  f"max({y}) AS max_{y}"]
    return f"""
WITH per_user AS (
  SELECT user_id,
         max(CASE WHEN {win} THEN 1 ELSE 0 END)::DOUBLE AS y0,
         count(*) FILTER (WHERE {win})::DOUBLE AS y1,
         coalesce(sum(coalesce(value, 0.0)) FILTER (WHERE {win}), 0.0)::DOUBLE AS y2,
         max(CASE WHEN {pre} THEN 1 ELSE 0 END)::DOUBLE AS x0,
         count(*) FILTER (WHERE {pre})::DOUBLE AS x1,
         coalesce(sum(coalesce(value, 0.0)) FILTER (WHERE {pre}), 0.0)::DOUBLE AS x2
  FROM read_parquet('{glob}')
  WHERE event_type = 'purchase' AND ts >= TIMESTAMP '{e['pre_start']}'
    AND ts < TIMESTAMP '{e['end']}' + INTERVAL 1 DAY
  GROUP BY user_id),
units AS (
  SELECT a.arm, a.exposed,
         coalesce(u.y0, 0.0) AS y0, coalesce(u.y1, 0.0) AS y1, coalesce(u.y2, 0.0) AS y2,
         coalesce(u.x0, 0.0) AS x0, coalesce(u.x1, 0.0) AS x1, coalesce(u.x2, 0.0) AS x2
  FROM asg a LEFT JOIN per_user u USING (user_id))
SELECT arm, exposed, count(*) AS n, {', '.join(stats)}
FROM units GROUP BY arm, exposed ORDER BY arm, exposed"""


def welch_cuped(groups: dict[str, dict[str, float]], i: int, treatment: str, control: str) -> dict[str, float]:
    """The CUPED-adjusted Welch contrast of metric ``i`` (its pre-period value the covariate), from per-arm sums.

    theta pools the arms' within-arm (co)variances; each arm's mean is adjusted to the pooled covariate mean;
    standard errors, Welch-Satterthwaite degrees of freedom and the delta-method relative lift follow."""
    import numpy as np
    from scipy import stats

    def centred(g: dict[str, float]) -> tuple[float, float, float, float, float, float]:
        n = g["n"]
        my, mx = g[f"s_y{i}"] / n, g[f"s_x{i}"] / n
        return (n, my, mx, g[f"ss_y{i}"] - n * my * my, g[f"ss_x{i}"] - n * mx * mx,
                g[f"sp_{i}"] - n * my * mx)

    t, c = centred(groups[treatment]), centred(groups[control])
    sxx, sxy = t[4] + c[4], t[5] + c[5]
    theta = sxy / sxx
    xbar = (groups[treatment][f"s_x{i}"] + groups[control][f"s_x{i}"]) / (t[0] + c[0])

    def arm(a: tuple[float, ...]) -> tuple[float, float, float]:
        n, my, mx, syy, sxx_, sxy_ = a
        var = (syy - 2 * theta * sxy_ + theta ** 2 * sxx_) / (n - 1)
        return my - theta * (mx - xbar), var / n, syy / (n - 1) / n

    yt, vt, rt = arm(t)
    yc, vc, rc = arm(c)
    est, se = yt - yc, math.sqrt(vt + vc)
    dof = (vt + vc) ** 2 / (vt ** 2 / (t[0] - 1) + vc ** 2 / (c[0] - 1))
    return {"estimate": est, "std_error": se, "dof": dof, "p_value": float(2 * stats.t.sf(abs(est / se), dof)),
            "treatment_mean": yt, "control_mean": yc, "relative": est / yc,
            "variance_reduction": 1 - (vt + vc) / (rt + rc), "n_treatment": t[0], "n_control": c[0],
            "_rel_se": float(np.sqrt(vt / yc ** 2 + yt ** 2 * vc / yc ** 4))}


def _work_experiment_sql(spec: dict[str, Any]) -> dict[str, Any]:
    """The hand-written baseline: plain DuckDB SQL for the per-arm sums, numpy / scipy for the readout."""
    t0 = time.perf_counter()
    import duckdb
    import scipy.stats  # noqa: F401 - imported before the clock starts, as the package's is

    res: dict[str, Any] = {"import_seconds": time.perf_counter() - t0}
    t0 = time.perf_counter()
    con = duckdb.connect()
    res["connect_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    asg = _assignment(spec)
    res["assignment_seconds"] = time.perf_counter() - t0
    e = spec["experiment"]
    query = hand_sql(str(Path(spec["path"]) / "*.parquet"), e)
    metrics = e["metrics"]

    def call() -> list[dict[str, Any]]:
        con.register("asg", asg)
        cur = con.execute(query)
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
        con.unregister("asg")
        out = []
        for estimand, keep in (("itt", lambda r: True), ("tot", lambda r: bool(r["exposed"]))):
            groups: dict[str, dict[str, float]] = {}
            for r in rows:
                if keep(r):
                    g = groups.setdefault(r["arm"], {})
                    for k, v in r.items():
                        if k not in ("arm", "exposed"):
                            g[k] = g.get(k, 0.0) + float(v)
            for i, m in enumerate(metrics):
                out.append({"metric": m, "estimand": estimand, "arm": "treatment",
                            **welch_cuped(groups, i, "treatment", "control")})
        return out

    table, first, times = _timed(call, spec["repeats"])
    res.update(table=[{k: v for k, v in r.items() if not k.startswith("_")} for r in table], query=query)
    con.close()
    return _finish(res, first, times)


WORKERS = {"incr_synth": _work_synth, "incr_slsqp": _work_slsqp, "incr_power": _work_power,
           "incr_experiment": _work_experiment, "incr_experiment_sql": _work_experiment_sql,
           "incr_experiment_parts": _work_experiment_parts}


# ============================================================================ the suite (parent)


def geo_data(seed: int) -> dict[str, Any]:
    """GeoLift's test and pre-test panels when the shared data holds them, else simulated panels of their shape."""
    test, pre = GEOLIFT / "GeoLift_Test.csv", GEOLIFT / "GeoLift_PreTest.csv"
    if test.exists() and pre.exists():
        return {"test": str(test), "pretest": str(pre), "source": "GeoLift example data (GeoLift_Test, "
                "GeoLift_PreTest: 40 US cities, 105 / 90 days)", "real": True}
    path = simulate_panel(h.scratch("geo_panel.csv"), seed)
    return {"test": str(path), "pretest": str(path), "source": "simulated 40 x 105 panel (GeoLift data absent; "
            "the power analysis uses its first 90 days' shape: all 105)", "real": False}


def simulate_panel(path: Path, seed: int, locations: int = 40, days: int = 105) -> Path:
    """A long ``location, Y, date`` CSV: locations share two seasonal factors with their own loadings and
    noise; the treated locations (``chicago``, ``portland``) gain 5% from period 91 on. Standard library only."""
    import datetime as _dt

    rng = random.Random(seed)
    names = TREATED + [f"city{i:02d}" for i in range(locations - len(TREATED))]
    level = {n: rng.uniform(1000, 6000) for n in names}
    load = {n: (rng.uniform(0.5, 1.5), rng.uniform(0.0, 0.4)) for n in names}
    day0 = _dt.date(2021, 1, 1)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["location", "Y", "date"])
        for n in names:
            for t in range(days):
                f1 = 0.25 * math.sin(2 * math.pi * t / 7) + 0.001 * t
                f2 = math.sin(2 * math.pi * t / 30)
                y = level[n] * (1 + load[n][0] * f1 + load[n][1] * f2 + rng.gauss(0, 0.03))
                if n in TREATED and t >= START - 1:
                    y *= 1.05
                w.writerow([n, round(max(y, 0.0)), (day0 + _dt.timedelta(days=t)).isoformat()])
    return path


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def bench_incrementality(quick: bool, repeats: int, seed: int, quiet: float, fresh: bool,
                         min_events: int) -> tuple[dict[str, Any], bool]:
    from suites.assets import ASSETS_WORLD

    timeout = 600 if quick else 1800
    problems: list[str] = []
    notes: list[str] = []
    rows: list[dict[str, Any]] = []
    results: dict[str, dict[str, Any]] = {}

    def case(name: str, section: str, label: str, spec: dict[str, Any], *, goal: float | None = None,
             diagnostic: bool = False) -> dict[str, Any] | None:
        print(f"  {name} ...", flush=True)
        try:
            res = h.run_case(name, spec, timeout=timeout, quiet=quiet)
        except h.CaseFailed as exc:
            problems.append(str(exc).splitlines()[0])
            print(f"    FAILED: {str(exc).splitlines()[0]}", flush=True)
            return None
        print(f"    first {res['first_seconds']:.3f} s, median {res['median']:.3f} s over "
              f"{len(res['repeats'])} (peak RSS {h.mib(res['maxrss_kb'])}; others used "
              f"{res['background_cores']:.2f} cores)", flush=True)
        results[name] = res
        rows.append({"case": name, "section": section, "label": label, "goal_seconds": goal,
                     "diagnostic": diagnostic, "first_seconds": res["first_seconds"], "median": res["median"],
                     "runs": len(res["repeats"]) or 1, "maxrss_kb": res["maxrss_kb"],
                     "tree_peak_pss_kb_sampled": res["tree_peak_pss_kb_sampled"],
                     "background_cores": res["background_cores"]})
        return res

    # ---------------------------------------------------------------- 1. synthetic control
    geo = geo_data(seed)
    if not geo["real"]:
        notes.append(f"GeoLift's data was not found under {GEOLIFT}: {geo['source']}; the published-figure "
                     "checks are skipped")
    synth_common = {"kind": "incr_synth", "path": geo["test"], "treated": TREATED, "start": START, "end": END,
                    "repeats": repeats}
    for source in ("csv", "panel"):
        for method in ("scm", "ascm"):
            how = "the long CSV (reading included)" if source == "csv" else "a GeoPanel (built beforehand)"
            case(f"synth-{source}-{method}", "synth", f"`synthetic_control`, {method.upper()}, conformal, from {how}",
                 {**synth_common, "source": source, "method": method, "inference": "conformal"},
                 goal=GOALS_S["synth"])
    case("synth-panel-scm-permutation", "synth", "the same, SCM, placebo permutation inference (diagnostic)",
         {**synth_common, "source": "panel", "method": "scm", "inference": "permutation"}, diagnostic=True)
    # the weights side by side: tiny problems (milliseconds), 20 timed calls each, one BLAS thread (see BLAS1)
    case("synth-panel-scm-weights", "synth", "SCM weights only (`inference=\"none\"`), from a GeoPanel, "
         "1 BLAS thread", {**synth_common, "source": "panel", "method": "scm", "inference": "none", "env": BLAS1,
                          "repeats": max(repeats, 20)},
         diagnostic=True)
    case("synth-slsqp", "synth", "baseline: SCM weights by `scipy.optimize.minimize(method=\"SLSQP\")` "
         "(pandas pivot apart), 1 BLAS thread", {"kind": "incr_slsqp", "path": geo["test"], "treated": TREATED,
                                                "start": START, "end": END, "repeats": max(repeats, 20),
                                                "env": BLAS1},
         diagnostic=True)
    problems += synth_checks(results, geo["real"])

    # ---------------------------------------------------------------- 2. power analysis
    power_common = {"kind": "incr_power", "path": geo["pretest"], "durations": [10, 15],
                    "effects": SELECTION_EFFECTS, "repeats": repeats}
    lookbacks = [1] if quick else [1, 5]
    for lb in lookbacks:
        case(f"power-scm-lb{lb}", "power", f"`market_selection`, 40 single-market designs, SCM, lookback {lb}",
             {**power_common, "what": "market_selection", "lookback": lb, "method": "scm"}, goal=GOALS_S["power"])
    if not quick:
        for lb in lookbacks:
            case(f"power-ascm-lb{lb}", "power", f"the same with ASCM (ridge, lambda by CV), lookback {lb} "
                 "(diagnostic, one run)", {**power_common, "what": "market_selection", "lookback": lb,
                                           "method": "ascm", "repeats": 0}, diagnostic=True)
    case("power-geo-power-chicago", "power", "`geo_power` of the design chicago, SCM, lookback 1 (the check)",
         {**power_common, "what": "geo_power", "treated": ["chicago"] if geo["real"] else [TREATED[0]],
          "lookback": 1, "method": "scm"}, diagnostic=True)
    case("power-walkthrough", "power", "`geo_power` as GeoLift's walkthrough: chicago + portland, 15 days, "
         "lookback 10, effects -15% .. +15% by 1%, one-sided (diagnostic)",
         {**power_common, "what": "geo_power", "treated": TREATED, "durations": [15], "lookback": 10,
          "effects": [round(-0.15 + 0.01 * k, 2) for k in range(31)], "side": "one-sided", "method": "scm"},
         diagnostic=True)
    problems += power_checks(results, "chicago" if geo["real"] else TREATED[0])

    # ---------------------------------------------------------------- 3. experiment readout
    users, days = ASSETS_WORLD[quick]
    world = h.cached_world(users, days, seed, 0 if quick else min_events, fresh, tables=True)
    exp_common = {"path": world["path"], "users_path": world.get("users_path"), "users": world["users"],
                  "experiment": EXPERIMENT, "repeats": max(repeats, 1)}
    case("experiment-duckdb", "experiment", "`experiment()` on `m3.connect()`, events from the parquet folder, "
         "entry check included", {"kind": "incr_experiment", **exp_common}, goal=GOALS_S["experiment"])
    case("experiment-duckdb-sql", "experiment", "baseline: hand-written DuckDB SQL (per-arm sums) + numpy "
         "Welch / CUPED", {"kind": "incr_experiment_sql", **exp_common})
    parts = case("experiment-duckdb-parts", "experiment", "diagnostic, one process: the entry check, then the "
                 "readout of the checked table (rows below)", {"kind": "incr_experiment_parts", **exp_common},
                 diagnostic=True)
    if parts:
        for key, label in (("check", "… the events' entry check alone (`as_table`)"),
                           ("readout", "… the readout of the already checked events"),
                           ("readout_purchases_only", "… the same readout, the events narrowed to purchases "
                                                       "first (every metric reads only purchases)")):
            v = parts["parts"][key]
            rows.append({"case": f"experiment-parts: {key}", "section": "experiment", "label": label,
                         "goal_seconds": None, "diagnostic": True, "first_seconds": v["repeats"][0],
                         "median": v["median"], "runs": len(v["repeats"]), "maxrss_kb": None,
                         "tree_peak_pss_kb_sampled": None, "background_cores": parts["background_cores"]})
    problems += experiment_checks(results)

    goals = goal_rows(rows, results)
    table = incrementality_table(rows, goals, world, geo)
    params = {"quick": quick, "repeats": repeats, "seed": seed, "wait_quiet": quiet, "geo": geo,
              "treated": TREATED, "start": START, "end": END, "selection_effects": SELECTION_EFFECTS,
              "lookbacks": lookbacks, "world": world, "experiment": EXPERIMENT,
              "assignment": "arm = 'treatment' if user_id is odd else 'control'; exposed = "
                            f"(user_id * {HASH_MULT} mod 2^32) < 2^31",
              "timed": "per call, in a fresh process after its imports: the first call (cold) and --repeats "
                       "more (the experiment: --repeats calls, the first included); the CSV cases include "
                       "reading the panel, the GeoPanel ones start from the panel",
              "goals_seconds": GOALS_S}
    payload = {"benchmark": NAME, "quick": quick, "parameters": params, "notes": notes, "goals": goals,
               "checks": {"ok": not problems, "problems": problems}, "rows": rows, "results": results,
               "table_markdown": table}
    return payload, not problems


# ============================================================================ checks


def synth_checks(results: dict[str, dict[str, Any]], real: bool) -> list[str]:
    bad: list[str] = []
    for method in ("scm", "ascm"):
        a, b = results.get(f"synth-csv-{method}"), results.get(f"synth-panel-{method}")
        if not (a and b):
            continue
        for ra, rb in zip(a["table"], b["table"]):
            for k in ("estimate", "lower", "upper", "p_value"):
                if not (ra[k] == rb[k] or _rel(ra[k], rb[k]) <= 1e-12):
                    bad.append(f"synth {method}: {ra['effect']} {k} from the CSV {ra[k]!r} != from the panel {rb[k]!r}")
        if real:
            est = {r["effect"]: r["estimate"] for r in a["table"]}
            pub = PUBLISHED[method]
            got = {"att": round(est["att"], 3), "incremental": round(est["incremental"]),
                   "percent_lift": round(est["percent_lift"], 1)}
            for k, v in pub.items():
                if got[k] != v:
                    bad.append(f"synth {method}: {k} {got[k]} != GeoLift walkthrough's {v}")
    ours = results.get("synth-panel-scm-weights") or results.get("synth-panel-scm")
    base = results.get("synth-slsqp")
    if ours and base:
        if not base["success"]:
            bad.append(f"SLSQP did not converge: {base['message']}")
        diff = max(abs(ours["weights"][k] - base["weights"].get(k, float("nan"))) for k in ours["weights"])
        base["max_abs_weight_difference"] = diff
        if not diff <= 1e-5:
            bad.append(f"SCM weights: SLSQP differs from ours by up to {diff:.3g} (> 1e-5)")
        if real:
            for k, v in PUBLISHED_WEIGHTS.items():
                if round(ours["weights"][k], 4) != v:
                    bad.append(f"SCM weight of {k}: {ours['weights'][k]:.4f} != GeoLift walkthrough's {v}")
    return bad


def power_checks(results: dict[str, dict[str, Any]], design: str) -> list[str]:
    bad: list[str] = []
    sel, one = results.get("power-scm-lb1"), results.get("power-geo-power-chicago")
    if sel and one:
        if sel["designs"] != 40:
            bad.append(f"market_selection evaluated {sel['designs']} single-market designs, not 40")
        mine = {(r["duration"], r["effect_size"]): (r["power"], r["att"]) for r in sel["curves"]
                if r["location"] == design}
        theirs = {(r["duration"], r["effect_size"]): (r["power"], r["att"]) for r in one["curves"]}
        if set(mine) != set(theirs):
            bad.append(f"geo_power({design}) and market_selection's curve have different (duration, effect) cells")
        for k in sorted(set(mine) & set(theirs)):
            if mine[k][0] != theirs[k][0] or _rel(mine[k][1], theirs[k][1]) > 1e-9:
                bad.append(f"{design} {k}: market_selection power/ATT {mine[k]} != geo_power's {theirs[k]}")
    return bad


def experiment_checks(results: dict[str, dict[str, Any]]) -> list[str]:
    bad: list[str] = []
    ours, base = results.get("experiment-duckdb"), results.get("experiment-duckdb-sql")
    if not (ours and base):
        return bad
    a = {(r["metric"], r["estimand"], r["arm"]): r for r in ours["table"]}
    b = {(r["metric"], r["estimand"], r["arm"]): r for r in base["table"]}
    if set(a) != set(b):
        return [f"experiment rows differ: package {sorted(a)} vs hand-written {sorted(b)}"]
    worst = 0.0
    for k in sorted(a):
        for c in ("n_treatment", "n_control"):
            if a[k][c] != b[k][c]:
                bad.append(f"experiment {k} {c}: package {a[k][c]} != hand-written {b[k][c]}")
        for c in STAT_COLUMNS:
            r = _rel(a[k][c], b[k][c])
            worst = max(worst, r)
            if not r <= 1e-9:
                bad.append(f"experiment {k} {c}: package {a[k][c]!r} != hand-written {b[k][c]!r} (relative {r:.3g})")
    parts = results.get("experiment-duckdb-parts")
    for name, tab in (parts["tables"] if parts else {}).items():
        c = {(r["metric"], r["estimand"], r["arm"]): r for r in tab}
        for k in sorted(a):
            for col in STAT_COLUMNS:
                if k not in c or _rel(a[k][col], c[k][col]) > 1e-9:
                    bad.append(f"experiment parts ({name}) {k} {col}: {c.get(k, {}).get(col)!r} != "
                               f"end to end {a[k][col]!r}")
    itt = [r for r in ours["table"] if r["estimand"] == "itt"]
    if itt and itt[0]["n_treatment"] + itt[0]["n_control"] != ours["units"]:
        bad.append(f"experiment: {itt[0]['n_treatment'] + itt[0]['n_control']:.0f} units read out, "
                   f"{ours['units']} assigned")
    base["max_relative_difference"] = worst
    return bad


# ============================================================================ tables


def goal_rows(rows: list[dict[str, Any]], results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    by = {r["case"]: r for r in rows}
    out = []
    for r in rows:
        if r["goal_seconds"] is None:
            continue
        worst = max(r["first_seconds"], r["median"])
        out.append({"goal": r["label"], "target_seconds": r["goal_seconds"], "first_seconds": r["first_seconds"],
                    "median_seconds": r["median"], "ratio_to_goal": worst / r["goal_seconds"],
                    "met": worst < r["goal_seconds"]})
    w, s = by.get("synth-panel-scm-weights"), by.get("synth-slsqp")
    if w and s:
        out.append({"goal": "SLSQP weights / ours (weights only, from a GeoPanel)", "target_seconds": None,
                    "ratio": s["median"] / w["median"], "max_abs_weight_difference":
                        results["synth-slsqp"].get("max_abs_weight_difference")})
    e, q = by.get("experiment-duckdb"), by.get("experiment-duckdb-sql")
    if e and q:
        out.append({"goal": "experiment(): package / hand-written DuckDB SQL + numpy", "target_seconds": None,
                    "ratio": e["median"] / q["median"], "max_relative_difference":
                        results["experiment-duckdb-sql"].get("max_relative_difference")})
    return out


def _mem(kb: float | None) -> str:
    return "–" if kb is None else h.mib(kb)


def incrementality_table(rows: list[dict[str, Any]], goals: list[dict[str, Any]], world: dict[str, Any],
                         geo: dict[str, Any]) -> str:
    titles = {"synth": f"1. Synthetic control, {geo['source']}: chicago + portland, periods {START}-{END}",
              "power": "2. Power analysis / market selection (GeoLift_PreTest when present)",
              "experiment": f"3. Experiment readout, {world['events']:,} events ({world['users']:,} users × "
                            f"{world['days']} days), test {EXPERIMENT['start']} .. {EXPERIMENT['end']} "
                            f"(both included), pre-period from {EXPERIMENT['pre_start']}, "
                            f"metrics {', '.join(EXPERIMENT['metrics'])}"}
    out: list[str] = []
    for section in ("synth", "power", "experiment"):
        sec = [r for r in rows if r["section"] == section]
        if not sec:
            continue
        out += [f"**{titles[section]}**", "",
                h.md_table(["case", "what", "first call s", "median s (runs)", "goal", "vs goal", "peak RSS",
                            "peak PSS tree (sampled)", "others' CPU (cores)"],
                           [(r["case"], r["label"], h.fmt_s(r["first_seconds"]),
                             f"{h.fmt_s(r['median'])} ({r['runs']})",
                             f"< {r['goal_seconds']:g} s" if r["goal_seconds"] else "–",
                             f"{max(r['first_seconds'], r['median']) / r['goal_seconds']:.2f}×"
                             if r["goal_seconds"] else "–", _mem(r["maxrss_kb"]),
                             _mem(r["tree_peak_pss_kb_sampled"]), f"{r['background_cores']:.2f}") for r in sec],
                           "ll" + "r" * 7)]
    lines = []
    for g in goals:
        if g.get("target_seconds"):
            lines.append((g["goal"], f"< {g['target_seconds']:g} s",
                          f"{h.fmt_s(g['first_seconds'])} s first, {h.fmt_s(g['median_seconds'])} s median "
                          f"({g['ratio_to_goal']:.2f}× the goal)", "yes" if g["met"] else "NO"))
        else:
            agree = (f"; weights agree to {g['max_abs_weight_difference']:.1e}" if g.get("max_abs_weight_difference")
                     is not None else f"; estimates agree to {g['max_relative_difference']:.1e} relative"
                     if g.get("max_relative_difference") is not None else "")
            lines.append((g["goal"], "reported", f"{g['ratio']:.2f}×{agree}", "–"))
    out += ["Goals are judged on the slower of the first call and the median.", "",
            h.md_table(["goal", "target", "measured", "met"], lines, "llll")]
    return "\n".join(out)


# ============================================================================ command line


def run(a: Any) -> tuple[dict[str, Any], bool]:
    return bench_incrementality(a.quick, a.repeats, a.seed, a.quiet, a.fresh_data,
                                getattr(a, "assets_min_events", None) or 100_000_000)


def report(payload: dict[str, Any]) -> list[str]:
    w = payload["parameters"]["world"]
    return ([f"experiment data: {w['events']:,} events ({w['users']:,} users × {w['days']} days, {w['files']} "
             f"files, {w['bytes'] / 2**20:,.0f} MiB) at {w['path']}",
             "GeoLift reference (published, not measured here): see benchmarks/README.md"]
            + [f"NOTE: {n}" for n in payload["notes"]])
