"""Suite ``incrementality-accuracy``: do the incrementality estimators' 95% intervals cover the simulator's truth?

The goal (issue 9): coverage of the 95% intervals between 90% and 99% over at
least 100 simulated experiments or geo tests, for each estimator. Every
estimator runs with its documented defaults, except ``alpha=0.05`` (and
``pointwise=False`` for synthetic control: it only skips the per-period tests,
the totals are the same); nothing is tuned on these worlds. The worlds were
fixed before any result was looked at:

**User holdouts** (``experiment``). 34 worlds, seeds 1000-1033:
``simulate(6,000 users, 35 days, the six default channels, holdout={"display":
0.3, "search": 0.3, "video": 0.3}, truth="incremental")``: three experiments per
world (one per held-out channel: retargeting 1, 8 and 0), 102 in all. The
readout is ``experiment(world.events, world.experiment_assignment(channel),
start=<first day>, end=<last day>, metrics=["conversion", "purchases",
"revenue"], exposed="exposed")`` (Welch t; both days included); each ``metric,
estimand`` row is scored against ``world.truth.experiments`` (the effect on the
treatment arm, ITT, or on its reached consumers, TOT). Every experiment is
also read out with ``interval="bootstrap"`` (2,000 Poisson bootstrap
replicates, the default; until 2026-11-30 only the first 17 worlds' 51).

**Geo design A, a few geos per test** (``synthetic_control`` SCM and ASCM,
``tbr``, ``did``, ``causal_impact``). 34 worlds, seeds 2000-2033:
``simulate(20,000 users, 84 days, burn_in=120, n_geos=20, freq="D",
truth="none")`` with three geo tests each, 102 in all: ``display``, ``social``
and ``video`` switched off in three geos each (disjoint; the 20 geos shuffled
by ``default_rng([seed, 7])``) on days 50-70: 49 pre-test days, a 21-day test.
The 120-day burn-in lets the consumers' 4A stages settle (a world that starts
cold climbs for about 90 days, and every estimator here assumes that treated
and control geos move alike, not that they all grow); the estimators see days
1-70 only. Each test is analysed on its own three geos and the 11 untreated
ones (the other tests' geos are left out: they are treated too). Truth:
``world.truth.geo_effect(test)``.

**Geo design B, randomised pairs** (``trimmed_match``, and the estimators of
design A on the same tests). 100 worlds, seeds 3000-3099, the same world size;
one test: ``display`` off in one geo of each of 10 pairs, days 50-70. The pairs
are formed before the test, as a Trimmed Match design is: the 20 geos sorted by
their pre-test (days 1-49) revenue in a 4,000-consumer pilot of the same world
(same seed: same geo sizes, campaigns and geo weights), neighbours paired; the
treated geo of each pair is drawn by ``default_rng([seed, 11])``. Response =
revenue, cost = display's spend by geo and day. A diagnostic row re-pairs the
same treated and control geos at random (``default_rng([seed, 13])``): what
Trimmed Match gives on pairs that were not matched.

**Geo design C, matched pairs in worlds whose demand moves by day** (the
estimators of design B). 100 worlds, seeds 4000-4099: design B exactly, pilot
included, with ``funnel=FunnelParams(weekday=(0.9, 0.95, 0.95, 1.0, 1.05, 1.1,
1.05), daily_sd=0.08)``: a mild weekday pattern and a shared daily demand shock
(sd 8%), which real daily sales have and designs A and B lack (there the
geos share no day-to-day movement, so the control series tell a regression
nothing about the treated geos' day). Fixed after design B's results and a
24-world diagnostic with another pattern (seeds 3000-3023, weekday 0.85-1.15,
sd 0.1), before any of its worlds was simulated.

**Geo design D, staggered adoption** (``staggered_did``, and ``did``'s TWFE on
the same panel). 100 worlds, seeds 5000-5099, the size of designs A-C (20,000
consumers, a 120-day burn-in, 84 observed days, of which the estimators see
days 1-70). ``display`` is switched off for good (until day 70, the end of
the analysis) in three cohorts of four geos, from days 36, 50 and 64; the other
eight geos never are (the 20 geos shuffled by ``default_rng([seed, 17])``).
Both estimators read the geo-day panel of conversions (day numbers as periods;
Callaway & Sant'Anna with never-treated controls, the ``simple`` aggregation,
analytic errors; TWFE with the 0/1 "display off" indicator, clustered by geo)
and are scored against minus the conversions the three cohorts lost over their
tests per treated geo-day. Fixed before any of its worlds was simulated.

Scored quantities (estimate and interval against the truth): synthetic
control's ``incremental`` row and TBR's ``incremental_response`` on daily
conversions against minus the conversions lost in the test geos over the test;
TBR on revenue with cost = the test channel's spend (``incremental_response``
against minus the revenue lost, ``iroas`` against the true iROAS = revenue lost /
spend saved); ``did`` (TWFE on the geo-day panel, treated = test geo x test
day, clustered by geo; and ``did (permutation)``, the same estimate with
``inference="permutation"``: the test geos reassigned over the analysed geos)
ATT against minus the conversions lost per treated geo-day; ``causal_impact``
on the treated geos' summed daily conversions with each control geo's series
as a regressor, cumulative effect against minus the conversions lost;
``trimmed_match`` iROAS against the true iROAS (default wild-bootstrap
critical value, seeded by the world's seed; ``trimmed_match (normal quantile)``
is the package's interval, ``inference="normal"``). The truth window and every
estimator's test window are the same days.

Per estimator and scored quantity: tests, coverage with its Wilson 95%
interval, mean truth, mean bias and RMSE (absolute and relative to the mean
|truth|), median interval width, the error sd over the sd the intervals imply
(width / 3.92: about 1 for calibrated normal intervals), the share of intervals
that exclude 0, and seconds per fit. ``--quick`` runs one tiny world of each
kind (3,000 users): it checks that everything runs, its coverage means nothing.

Worlds are cached under ``benchmarks/data/incrementality-accuracy/sim-<hash of
marketing360/datasets>/`` (re-simulated when the simulator changes, or with
``--fresh-data``). The worlds are split into shards, run by ``--incr-jobs``
(default 2) measured worker processes at once; the seconds per fit are
measured while the other worker runs.
"""

from __future__ import annotations

import math
import re
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import harness as h

NAME = "incrementality-accuracy"
MEASURED = ("incrementality", "datasets")
DEFAULTS = {"repeats": 1, "quick_repeats": 1, "seed": 0, "wait_quiet": 30.0}
OK_TEXT = ("every estimator ran on every world and gave an estimate and an interval (possibly infinite; coverage is "
           "judged in the goal table)")

START = "2025-01-01"
GOAL = (0.90, 0.99)
#: per design: worlds, first seed, consumers, days (tests run the second half), and the quick sizes
#: design C's demand that moves by day (fixed before any of its worlds was simulated): a mild weekday pattern
#: (Monday first) and a shared daily shock
DAILY_WEEKDAY = (0.9, 0.95, 0.95, 1.0, 1.05, 1.1, 1.05)
DAILY_SD = 0.08
#: (geo designs: a burn-in, then ``pre`` days before a ``test``-day test; the days after it are not analysed;
#: the key order is that of ``--incr-worlds``)
FULL = {"holdout": {"worlds": 34, "seed0": 1000, "users": 6_000, "days": 35, "bootstrap_worlds": 34},
        "geo": {"worlds": 34, "seed0": 2000, "users": 20_000, "days": 84, "burn_in": 120, "pre": 49, "test": 21},
        "paired": {"worlds": 100, "seed0": 3000, "users": 20_000, "days": 84, "burn_in": 120, "pre": 49,
                   "test": 21, "pilot_users": 4_000},
        "daily": {"worlds": 100, "seed0": 4000, "users": 20_000, "days": 84, "burn_in": 120, "pre": 49,
                  "test": 21, "pilot_users": 4_000, "weekday": DAILY_WEEKDAY, "daily_sd": DAILY_SD},
        "staggered": {"worlds": 100, "seed0": 5000, "users": 20_000, "days": 84, "burn_in": 120, "pre": 35,
                      "test": 35, "offsets": (0, 14, 28)}}
QUICK = {"holdout": {"worlds": 1, "seed0": 1000, "users": 2_000, "days": 21, "bootstrap_worlds": 1},
         "geo": {"worlds": 1, "seed0": 2000, "users": 3_000, "days": 42, "burn_in": 30, "pre": 21, "test": 14},
         "paired": {"worlds": 1, "seed0": 3000, "users": 3_000, "days": 42, "burn_in": 30, "pre": 21, "test": 14,
                    "pilot_users": 1_000},
         "daily": {"worlds": 1, "seed0": 4000, "users": 3_000, "days": 42, "burn_in": 30, "pre": 21, "test": 14,
                   "pilot_users": 1_000, "weekday": DAILY_WEEKDAY, "daily_sd": DAILY_SD},
         "staggered": {"worlds": 1, "seed0": 5000, "users": 3_000, "days": 42, "burn_in": 30, "pre": 14,
                       "test": 21, "offsets": (0, 7, 14)}}
HOLDOUT_CHANNELS = ("display", "search", "video")
GEO_TEST_CHANNELS = ("display", "social", "video")
GEOS_PER_TEST = 3
PAIRED_CHANNEL = "display"
STAGGERED_CHANNEL = "display"
GEOS_PER_COHORT = 4
METRICS = ("conversion", "purchases", "revenue")
SHARDS_PER_DESIGN = 4


# ============================================================================ worker: the worlds


def _dates(p: dict[str, Any]) -> tuple[Any, Any, Any]:
    """First observed day, first test day, last test day (a holdout's test is every observed day)."""
    import pandas as pd

    first = pd.Timestamp(START)
    if "pre" not in p:
        return first, first, first + pd.Timedelta(days=p["days"] - 1)
    t0 = first + pd.Timedelta(days=p["pre"])
    return first, t0, t0 + pd.Timedelta(days=p["test"] - 1)


def _cache_dir(spec: dict[str, Any]) -> Path:
    d = h.DATA / "incrementality-accuracy" / f"sim-{h.source_hash('datasets')}"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _cached(spec: dict[str, Any], key: str, make: Any) -> tuple[dict[str, Any], float, bool]:
    """The world's tables from the cache, or ``make()`` (then cached): (tables, seconds to make, from cache)."""
    import pandas as pd

    folder = _cache_dir(spec) / key
    done = folder / "done"
    if done.exists() and not spec["fresh"]:
        tables = pd.read_pickle(folder / "tables.pkl")
        if (folder / "events.parquet").exists():
            tables["events"] = pd.read_parquet(folder / "events.parquet")
        return tables, float(done.read_text()), True
    t0 = time.perf_counter()
    tables = make()
    seconds = time.perf_counter() - t0
    folder.mkdir(parents=True, exist_ok=True)
    done.unlink(missing_ok=True)
    rest = {k: v for k, v in tables.items() if k != "events"}
    pd.to_pickle(rest, folder / "tables.pkl")
    if "events" in tables:
        tables["events"].to_parquet(folder / "events.parquet", index=False)
    done.write_text(f"{seconds:.3f}")
    return tables, seconds, False


def _holdout_world(spec: dict[str, Any], seed: int) -> tuple[dict[str, Any], float, bool]:
    from marketing360.datasets import simulate

    p = spec["sizes"]

    def make() -> dict[str, Any]:
        w = simulate(n_users=p["users"], n_days=p["days"], holdout={c: 0.3 for c in HOLDOUT_CHANNELS},
                     truth="incremental", seed=seed, progress=False)
        return {"events": w.events, "truth": w.truth.experiments,
                "assignment": {c: w.experiment_assignment(c) for c in HOLDOUT_CHANNELS}}

    return _cached(spec, f"holdout-u{p['users']}-d{p['days']}-s{seed}", make)


def _geo_sim(p: dict[str, Any], seed: int, users: int, tests: Any = (), funnel: Any = None) -> Any:
    """A 20-geo world of daily outcomes after the design's burn-in, without a truth run beyond its geo tests."""
    from marketing360.datasets import simulate

    return simulate(n_users=users, n_days=p["days"], burn_in=p["burn_in"], n_geos=20, freq="D", truth="none",
                    geo_tests=list(tests), seed=seed, funnel=funnel, progress=False)


def _shuffled_geos(seed: int, salt: int) -> list[str]:
    """The 20 geos in the order ``default_rng([seed, salt])`` permutes them."""
    import numpy as np

    from marketing360.datasets.world import GEOS

    return [GEOS[i] for i in np.random.default_rng([seed, salt]).permutation(20)]


def _geo_world(spec: dict[str, Any], seed: int) -> tuple[dict[str, Any], float, bool]:
    from marketing360.datasets import GeoTest

    p = spec["sizes"]
    _, t0, last = _dates(p)

    def make() -> dict[str, Any]:
        geos, n = _shuffled_geos(seed, 7), GEOS_PER_TEST
        tests = [GeoTest(ch, tuple(geos[k * n:(k + 1) * n]), str(t0.date()), str(last.date()), name=f"{ch}-off")
                 for k, ch in enumerate(GEO_TEST_CHANNELS)]
        w = _geo_sim(p, seed, p["users"], tests)
        return {"outcomes": w.outcomes, "spend": w.spend[w.spend.channel.isin(GEO_TEST_CHANNELS)],
                "truth": w.truth.geo_effect(), "tests": [(g.name, g.channel, list(g.geos)) for g in tests]}

    return _cached(spec, f"geo-u{p['users']}-b{p['burn_in']}-d{p['days']}-p{p['pre']}-t{p['test']}-s{seed}", make)


def _paired_world(spec: dict[str, Any], seed: int) -> tuple[dict[str, Any], float, bool]:
    import numpy as np

    from marketing360.datasets import FunnelParams, GeoTest

    p = spec["sizes"]
    first, t0, last = _dates(p)

    funnel = FunnelParams(weekday=p["weekday"], daily_sd=p["daily_sd"]) if "weekday" in p else None

    def make() -> dict[str, Any]:
        pilot = _geo_sim(p, seed, p["pilot_users"], funnel=funnel)
        o = pilot.outcomes
        pre = o[o.date < t0].groupby("geo").revenue.sum().sort_values(kind="stable")
        ranked = list(pre.index)
        coin = np.random.default_rng([seed, 11]).integers(0, 2, 10)
        pairs = [(k + 1, ranked[2 * k + coin[k]], ranked[2 * k + 1 - coin[k]]) for k in range(10)]  # pair, T, C
        test = GeoTest(PAIRED_CHANNEL, tuple(t for _, t, _ in pairs), str(t0.date()), str(last.date()),
                       name="paired")
        w = _geo_sim(p, seed, p["users"], [test], funnel)
        return {"outcomes": w.outcomes, "spend": w.spend[w.spend.channel == PAIRED_CHANNEL],
                "truth": w.truth.geo_effect(), "pairs": pairs}

    daily = f"-w{'_'.join(map(str, p['weekday']))}-sd{p['daily_sd']}" if funnel is not None else ""
    return _cached(spec, f"paired-u{p['users']}-p{p['pilot_users']}-b{p['burn_in']}-d{p['days']}-p{p['pre']}-"
                         f"t{p['test']}{daily}-s{seed}", make)


def _staggered_world(spec: dict[str, Any], seed: int) -> tuple[dict[str, Any], float, bool]:
    import pandas as pd

    from marketing360.datasets import GeoTest

    p = spec["sizes"]
    _, t0, last = _dates(p)

    def make() -> dict[str, Any]:
        geos, n = _shuffled_geos(seed, 17), GEOS_PER_COHORT
        tests = [GeoTest(STAGGERED_CHANNEL, tuple(geos[k * n:(k + 1) * n]),
                         str((t0 + pd.Timedelta(days=off)).date()), str(last.date()), name=f"cohort-{k + 1}")
                 for k, off in enumerate(p["offsets"])]
        w = _geo_sim(p, seed, p["users"], tests)
        return {"outcomes": w.outcomes, "truth": w.truth.geo_effect(),
                "tests": [(g.name, g.start, list(g.geos)) for g in tests]}

    offsets = "_".join(map(str, p["offsets"]))
    return _cached(spec, f"staggered-u{p['users']}-b{p['burn_in']}-d{p['days']}-p{p['pre']}-t{p['test']}-o{offsets}-"
                         f"s{seed}", make)


# ============================================================================ worker: the fits


class _Scorer:
    """Collects the scored rows and the fits of one shard."""

    def __init__(self, design: str, seed: int) -> None:
        self.design, self.seed = design, seed
        self.rows: list[dict[str, Any]] = []
        self.fits: list[dict[str, Any]] = []

    def fit(self, estimator: str, test: str, fn: Any) -> Any:
        """Run one fit, timed, its warnings kept; None (and a failed fit) when it raises."""
        import warnings

        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("ignore", DeprecationWarning)  # the libraries' (ibis, duckdb), not the estimators'
            try:
                res = fn()
                err = None
            except Exception as exc:  # noqa: BLE001 - a failed fit is a finding: recorded, the run goes on
                res, err = None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
        msgs = sorted({f"{w.category.__name__}: {str(w.message).splitlines()[0][:160]}" for w in caught})
        self.fits.append({"design": self.design, "estimator": estimator, "seed": self.seed, "test": test,
                          "seconds": time.perf_counter() - t0, "error": err, "warnings": msgs})
        return res

    def score(self, estimator: str, target: str, test: str, truth: float, row: Any, **extra: Any) -> None:
        est, lo, hi, se = (float(row[k]) if row is not None and k in row.index else float("nan")
                           for k in ("estimate", "lower", "upper", "std_error"))
        self.rows.append({"design": self.design, "estimator": estimator, "target": target, "seed": self.seed,
                          "test": test, "truth": float(truth), "estimate": est, "lower": lo, "upper": hi,
                          "std_error": se, **extra})


def _fit_holdout(sc: _Scorer, w: dict[str, Any], spec: dict[str, Any], bootstrap: bool) -> None:
    from marketing360.incrementality import experiment

    first, _, last = _dates(spec["sizes"])
    truth = w["truth"]
    kinds = [("normal", "experiment (Welch t)")] + ([("bootstrap", "experiment (bootstrap)")] if bootstrap else [])
    for ch in HOLDOUT_CHANNELS:
        for interval, label in kinds:
            r = sc.fit(label, ch, lambda: experiment(  # noqa: B023 - called at once
                w["events"], w["assignment"][ch], start=first, end=last, metrics=list(METRICS), exposed="exposed",
                alpha=0.05, interval=interval))
            tab = r.table().set_index(["metric", "estimand"]) if r is not None else None
            for t in truth[truth.channel == ch].itertuples():
                row = tab.loc[(t.metric, t.estimand)] if tab is not None else None
                sc.score(label, f"{t.metric} {t.estimand}", ch, t.effect, row, channel=ch)


def _geo_fits(sc: _Scorer, test: str, outcomes: Any, spend: Any, channel: str, treated: list[str],
              controls: list[str], truth: Any, sizes: dict[str, Any], seed: int) -> None:
    """SCM, ASCM, TBR (conversions; revenue with cost), DiD and CausalImpact on one geo test."""
    import pandas as pd

    from marketing360.incrementality import causal_impact, did, synthetic_control, tbr

    first, t0, last = _dates(sizes)
    pre_end = t0 - pd.Timedelta(days=1)
    keep = treated + controls
    o = outcomes[outcomes.geo.isin(keep) & (outcomes.date <= last)].reset_index(drop=True)  # nothing after the test
    lost_c, lost_r, iroas = float(truth["conversions"]), float(truth["revenue"]), float(truth["iroas"])
    n_post = (last - t0).days + 1
    in_test = o.geo.isin(treated) & (o.date >= t0)
    obs_c = float(o.loc[in_test, "conversions"].sum())  # the treated geos' observed conversions over the test
    for method in ("scm", "ascm"):
        r = sc.fit(f"synthetic_control {method}", test, lambda: synthetic_control(  # noqa: B023
            o, treated=treated, start=t0, method=method, inference="conformal", alpha=0.05, pointwise=False,
            random_state=seed, date="date", location="geo", y="conversions"))
        row = r.table().set_index("effect").loc["incremental"] if r is not None else None
        sc.score(f"synthetic_control {method}", "incremental conversions", test, -lost_c, row, observed=obs_c,
                 interval_method=None if row is None else str(row.get("interval_method")))
    r = sc.fit("tbr", test, lambda: tbr(o, treatment=treated, control=controls, pre=(first, pre_end),
                                        test=(t0, last), alpha=0.05, date="date", location="geo", y="conversions"))
    row = r.table().set_index("metric").loc["incremental_response"] if r is not None else None
    sc.score("tbr", "incremental conversions", test, -lost_c, row, observed=obs_c)
    cost = spend[spend.channel == channel][["date", "geo", "spend"]].rename(columns={"spend": "cost"})
    rc = o[["date", "geo", "revenue"]].merge(cost, on=["date", "geo"], how="left").fillna({"cost": 0.0})
    r = sc.fit("tbr (revenue, cost)", test, lambda: tbr(
        rc, treatment=treated, control=controls, pre=(first, pre_end), test=(t0, last), cost="cost", alpha=0.05,
        random_state=seed, date="date", location="geo", y="revenue"))
    tab = r.table().set_index("metric") if r is not None else None
    sc.score("tbr", "incremental revenue", test, -lost_r, None if tab is None else tab.loc["incremental_response"])
    sc.score("tbr", "iroas", test, iroas, None if tab is None or "iroas" not in tab.index else tab.loc["iroas"])
    p = o[["date", "geo", "conversions"]].copy()
    p["treated"] = (p.geo.isin(treated) & (p.date >= t0)).astype(int)
    r = sc.fit("did", test, lambda: did(p, unit="geo", time="date", outcome="conversions", treated="treated",
                                        alpha=0.05))
    sc.score("did", "ATT per treated geo-day", test, -lost_c / (len(treated) * n_post),
             r.table().iloc[0] if r is not None else None)
    r = sc.fit("did (permutation)", test, lambda: did(p, unit="geo", time="date", outcome="conversions",
                                                      treated="treated", alpha=0.05, inference="permutation",
                                                      random_state=seed))
    sc.score("did (permutation)", "ATT per treated geo-day", test, -lost_c / (len(treated) * n_post),
             r.table().iloc[0] if r is not None else None)
    wide = o.pivot(index="date", columns="geo", values="conversions")
    # a control constant over the pre-period (no sale at all in a tiny world) is refused: drop it, as the error says
    moving = [g for g in controls if wide.loc[wide.index < t0, g].nunique() > 1]
    data = pd.concat([wide[treated].sum(axis=1).rename("y"), wide[moving].add_prefix("x_")], axis=1)
    data.index = pd.DatetimeIndex(data.index)
    r = sc.fit("causal_impact", test, lambda: causal_impact(data, pre_period=[first, pre_end], post_period=[t0, last],
                                                            alpha=0.05, random_state=seed))
    sc.score("causal_impact", "incremental conversions", test, -lost_c,
             r.table().set_index("effect").loc["cumulative"] if r is not None else None,
             controls_dropped=len(controls) - len(moving), observed=obs_c)


def _fit_geo(sc: _Scorer, w: dict[str, Any], spec: dict[str, Any]) -> None:
    from marketing360.datasets.world import GEOS

    tests = w["tests"]
    treated_all = {g for _, _, geos in tests for g in geos}
    clean = [g for g in GEOS[:20] if g not in treated_all]
    truth = w["truth"].set_index("test")
    for name, ch, geos in tests:
        _geo_fits(sc, name, w["outcomes"], w["spend"], ch, list(geos), clean, truth.loc[name],
                  spec["sizes"], sc.seed)


def _fit_paired(sc: _Scorer, w: dict[str, Any], spec: dict[str, Any]) -> None:
    import numpy as np

    from marketing360.incrementality import trimmed_match

    _, t0, last = _dates(spec["sizes"])
    truth = w["truth"].set_index("test").loc["paired"]
    pairs = w["pairs"]
    treated, controls = [t for _, t, _ in pairs], [c for _, _, c in pairs]
    cost = w["spend"][["date", "geo", "spend"]].rename(columns={"spend": "cost"})
    long = (w["outcomes"][["date", "geo", "revenue"]].rename(columns={"revenue": "response"})
            .merge(cost, on=["date", "geo"], how="left").fillna({"cost": 0.0}))
    shuffled = [str(g) for g in np.random.default_rng([sc.seed, 13]).permutation(controls)]
    repaired = list(zip(range(1, 11), treated, shuffled))
    for label, design, inference in (("trimmed_match", pairs, "bootstrap"),
                                     ("trimmed_match (normal quantile)", pairs, "normal"),
                                     ("trimmed_match (random re-pairing)", repaired, "bootstrap")):
        geo_pair = {g: k for k, t, c in design for g in (t, c)}
        data = long.assign(pair=long.geo.map(geo_pair), assignment=np.where(long.geo.isin(treated), 1, 2))
        r = sc.fit(label, "paired", lambda: trimmed_match(data, test=(t0, last), alpha=0.05,  # noqa: B023
                                                          inference=inference, random_state=sc.seed))  # noqa: B023
        tab = r.table().set_index("metric") if r is not None else None
        sc.score(label, "iroas", "paired", float(truth["iroas"]), None if tab is None else tab.loc["iroas"],
                 trim_rate=None if tab is None else float(tab.loc["iroas", "trim_rate"]))
    _geo_fits(sc, "paired", w["outcomes"], w["spend"], PAIRED_CHANNEL, treated, controls, truth, spec["sizes"],
              sc.seed)


def _fit_staggered(sc: _Scorer, w: dict[str, Any], spec: dict[str, Any]) -> None:
    import pandas as pd

    from marketing360.incrementality import did, staggered_did

    first, _, last = _dates(spec["sizes"])
    o = w["outcomes"][w["outcomes"].date <= last]
    start = {g: (pd.Timestamp(s) - first).days + 1 for _, s, geos in w["tests"] for g in geos}
    p = pd.DataFrame({"geo": o.geo.to_numpy(), "day": (o.date - first).dt.days.to_numpy() + 1,
                      "conversions": o.conversions.to_numpy()})
    p["cohort"] = p.geo.map(start).fillna(0).astype(int)  # 0: never treated
    p["treated"] = ((p.cohort > 0) & (p.day >= p.cohort)).astype(int)
    truth = w["truth"].set_index("test")
    lost = sum(float(truth.loc[name, "conversions"]) for name, _, _ in w["tests"])
    geo_days = sum(len(geos) * ((last - pd.Timestamp(s)).days + 1) for _, s, geos in w["tests"])
    att = -lost / geo_days
    r = sc.fit("staggered_did", "staggered", lambda: staggered_did(p, unit="geo", time="day", outcome="conversions",
                                                                   cohort="cohort", alpha=0.05))
    sc.score("staggered_did", "ATT per treated geo-day", "staggered", att,
             r.overall.table().set_index("aggregation").loc["simple"] if r is not None else None)
    r = sc.fit("did", "staggered", lambda: did(p[["geo", "day", "conversions", "treated"]], unit="geo", time="day",
                                               outcome="conversions", treated="treated", alpha=0.05))
    sc.score("did", "ATT per treated geo-day", "staggered", att, r.table().iloc[0] if r is not None else None)


#: each design's world maker and (geo designs) its fits
WORLDS = {"holdout": _holdout_world, "geo": _geo_world, "paired": _paired_world, "daily": _paired_world,
          "staggered": _staggered_world}
GEO_FITS = {"geo": _fit_geo, "paired": _fit_paired, "daily": _fit_paired, "staggered": _fit_staggered}


def _work(spec: dict[str, Any]) -> dict[str, Any]:
    """One shard: its worlds (simulated or from the cache) and every fit on them."""
    import resource

    design = spec["design"]
    make = WORLDS[design]
    rows, fits, worlds = [], [], []
    for i, seed in zip(spec["indices"], spec["seeds"]):
        w, sim_seconds, cached = make(spec, seed)
        sc = _Scorer(design, seed)
        t0 = time.perf_counter()
        if design == "holdout":
            _fit_holdout(sc, w, spec, bootstrap=i < spec["sizes"]["bootstrap_worlds"])
        else:
            GEO_FITS[design](sc, w, spec)
        rows += sc.rows
        fits += sc.fits
        worlds.append({"design": design, "seed": seed, "simulate_seconds": sim_seconds, "from_cache": cached,
                       "fit_seconds": time.perf_counter() - t0})
        print(f"{design} seed {seed}: {'cached' if cached else f'simulated in {sim_seconds:.1f} s'}, "
              f"fits {time.perf_counter() - t0:.1f} s", flush=True)
    return {"rows": rows, "fits": fits, "worlds": worlds, "self_maxrss_kb": h.maxrss_kb(resource.RUSAGE_SELF)}


WORKERS = {"incr_accuracy": _work}


# ============================================================================ parent: the summary


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score 95% interval of a binomial proportion."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    r = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - r), min(1.0, c + r)


def _valid(r: dict[str, Any]) -> bool:
    """An estimate and an interval (infinite bounds allowed: such an interval covers everything)."""
    return (math.isfinite(r["estimate"]) and math.isfinite(r["truth"])
            and not (math.isnan(r["lower"]) or math.isnan(r["upper"])))


def summarise(rows: list[dict[str, Any]], fits: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Per group of ``keys``: coverage (Wilson CI), bias, RMSE, widths, power, seconds per fit."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    secs: dict[tuple[str, str], list[float]] = {}
    for f in fits:
        secs.setdefault((f["design"], f["estimator"]), []).append(f["seconds"])
    out = []
    for key, rs in groups.items():
        # a test whose truth is undefined (an iROAS where the channel spent nothing in the test) is not scored
        undefined = sum(not math.isfinite(r["truth"]) for r in rs)
        first = rs[0]
        rs = [r for r in rs if math.isfinite(r["truth"])]
        ok = [r for r in rs if _valid(r)]
        n = len(ok)
        cover = sum(r["lower"] <= r["truth"] <= r["upper"] for r in ok)
        err = [r["estimate"] - r["truth"] for r in ok]
        width = [r["upper"] - r["lower"] for r in ok]
        scale = statistics.fmean(abs(r["truth"]) for r in ok) if ok else float("nan")
        lo, hi = wilson(cover, n)
        rec = dict(zip(keys, key))
        fit_key = (first["design"], _fit_name(first["estimator"], first["target"]))
        rec.update(
            n=n, failed=len(rs) - n, undefined_truth=undefined, covered=cover,
            coverage=cover / n if n else float("nan"),
            coverage_lo=lo, coverage_hi=hi,
            below=sum(r["truth"] < r["lower"] for r in ok), above=sum(r["truth"] > r["upper"] for r in ok),
            mean_truth=statistics.fmean(r["truth"] for r in ok) if ok else float("nan"), mean_abs_truth=scale,
            bias=statistics.fmean(err) if err else float("nan"),
            rmse=math.sqrt(statistics.fmean(e * e for e in err)) if err else float("nan"),
            error_sd=statistics.stdev(err) if len(err) > 1 else float("nan"),
            median_width=statistics.median(width) if width else float("nan"),
            excludes_zero=sum(not (r["lower"] <= 0 <= r["upper"]) for r in ok) / n if n else float("nan"),
            seconds_per_fit=statistics.fmean(secs[fit_key]) if secs.get(fit_key) else float("nan"))
        rec["relative_bias"] = rec["bias"] / scale if scale else float("nan")
        rec["relative_rmse"] = rec["rmse"] / scale if scale else float("nan")
        rec["sd_ratio"] = rec["error_sd"] / (rec["median_width"] / 3.92) if rec["median_width"] else float("nan")
        wide = [r["upper"] - r["lower"] > r["observed"] for r in ok if r.get("observed")]
        rec["wider_than_observed"] = sum(wide) / len(wide) if wide else None  # the interval spans more than all
        rec["goal_met"] = bool(n >= 100 and GOAL[0] <= rec["coverage"] <= GOAL[1])
        out.append(rec)
    return out


def _fit_name(estimator: str, target: str) -> str:
    """The fit a scored row came from (TBR's revenue rows come from its fit with a cost)."""
    if estimator == "tbr" and target != "incremental conversions":
        return "tbr (revenue, cost)"
    return estimator


def _num(x: float, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def _pct(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{100 * x:.1f}%"


DESIGN_TITLES = {"geo": "geo design A: three tests of three geos per world (display, social, video off)",
                 "paired": "geo design B: display off in one geo of each of 10 matched pairs",
                 "daily": "geo design C: design B in worlds whose demand moves by day (weekday pattern, shared shock)",
                 "staggered": "geo design D: staggered adoption (display off for good in three cohorts of four geos)",
                 "holdout": "user holdouts (display, search, video; 30% held out)"}


def markdown(summary: list[dict[str, Any]]) -> str:
    head = ["estimator", "scored against the truth", "tests", "coverage [Wilson 95% CI]", "in 90–99%",
            "mean truth", "bias (÷ mean abs. truth)", "RMSE (÷ mean abs. truth)", "median width",
            "error sd ÷ width/3.92", "intervals excluding 0", "s / fit"]
    out = []
    for design in DESIGN_TITLES:
        rs = [r for r in summary if r["design"] == design]
        if not rs:
            continue
        rows = []
        for r in rs:
            name = r["estimator"]
            fail = f" ({r['failed']} failed)" if r["failed"] else ""
            if r.get("undefined_truth"):
                fail += f" (+{r['undefined_truth']} without spend: no true iROAS)"
            rows.append((name, r["target"], f"{r['n']}{fail}",
                         f"{_pct(r['coverage'])} ({r['covered']}/{r['n']}) [{_pct(r['coverage_lo'])}, "
                         f"{_pct(r['coverage_hi'])}]",
                         "yes" if r["goal_met"] else ("– (< 100 tests)" if r["n"] < 100 else "**no**"),
                         _num(r["mean_truth"]),
                         f"{_num(r['bias'])} ({_num(r['relative_bias'], 2)})",
                         f"{_num(r['rmse'])} ({_num(r['relative_rmse'], 2)})", _num(r["median_width"]),
                         _num(r["sd_ratio"], 2), _pct(r["excludes_zero"]), _num(r["seconds_per_fit"], 2)))
        out += [f"**{DESIGN_TITLES[design]}**", "", h.md_table(head, rows, "ll" + "r" * 10)]
    return "\n".join(out)


def by_channel_markdown(summary: list[dict[str, Any]]) -> str:
    """Coverage of the Welch readout per held-out channel, metric and estimand."""
    rs = [r for r in summary if r["design"] == "holdout" and r["estimator"] == "experiment (Welch t)"]
    if not rs:
        return ""
    targets = sorted({r["target"] for r in rs}, key=lambda t: (METRICS.index(t.split()[0]), t))
    chans = [c for c in HOLDOUT_CHANNELS if any(r["channel"] == c for r in rs)]
    cell = {(r["channel"], r["target"]): r for r in rs}
    rows = [(c, *(f"{_pct(cell[(c, t)]['coverage'])} ({cell[(c, t)]['n']})" if (c, t) in cell else "–"
                  for t in targets)) for c in chans]
    return "Welch readout, coverage per held-out channel (experiments)\n\n" + h.md_table(["channel", *targets], rows)


# ============================================================================ the suite


def add_arguments(p: Any) -> None:
    p.add_argument("--incr-jobs", type=int, default=2,
                   help="incrementality-accuracy: worker processes at once (default 2)")
    p.add_argument("--incr-worlds", type=int, nargs=len(FULL), default=None, metavar=tuple(d.upper() for d in FULL),
                   help="incrementality-accuracy: worlds of each design (default 34 34 100 100 100; 1 each with "
                        "--quick)")


def check_arguments(a: Any) -> str | None:
    if a.suite in (NAME, "all"):
        if a.incr_jobs < 1:
            return "--incr-jobs must be at least 1"
        if a.incr_worlds is not None and min(a.incr_worlds) < 0:
            return "--incr-worlds must be >= 0"
    return None


def _shards(a: Any) -> list[dict[str, Any]]:
    sizes = QUICK if a.quick else FULL
    counts = dict(zip(FULL, a.incr_worlds or [sizes[d]["worlds"] for d in sizes]))
    specs = []
    for design, p in sizes.items():
        n = counts[design]
        idx = list(range(n))
        k = min(SHARDS_PER_DESIGN, n)
        for s in range(k):
            part = idx[s::k]
            if part:
                specs.append({"kind": "incr_accuracy", "design": design, "sizes": p, "indices": part,
                              "seeds": [p["seed0"] + 10_000 * a.seed + i for i in part], "fresh": a.fresh_data,
                              "name": f"incr-acc-{design}-{s}"})
    # the slowest shards first (a paired world costs a pilot, a world and seven fits)
    return sorted(specs, key=lambda s: {"paired": 0, "daily": 0, "staggered": 1, "geo": 1, "holdout": 2}[s["design"]])


def run(a: Any) -> tuple[dict[str, Any], bool]:
    specs = _shards(a)
    calm = h.wait_quiet(a.quiet) if a.quiet > 0 else {}
    print(f"  {len(specs)} shards, {a.incr_jobs} at a time"
          + (f" (waited {calm['waited_seconds']:.0f} s for a quiet machine)" if calm else ""), flush=True)
    t0 = time.perf_counter()
    results: list[dict[str, Any]] = []
    problems: list[str] = []

    def one(spec: dict[str, Any]) -> dict[str, Any] | None:
        try:
            res = h.run_case(spec["name"], spec, timeout=900 if a.quick else 3600)
        except h.CaseFailed as exc:
            problems.append(str(exc).splitlines()[0])
            return None
        print(f"  {spec['name']}: {len(spec['seeds'])} world(s) in {res['process_wall_seconds']:.0f} s", flush=True)
        return res

    with ThreadPoolExecutor(max_workers=a.incr_jobs) as ex:
        results = [r for r in ex.map(one, specs) if r is not None]
    rows = [r for res in results for r in res["rows"]]
    fits = [f for res in results for f in res["fits"]]
    worlds = [w for res in results for w in res["worlds"]]
    # a fit may rightly refuse a test with no true value to find (an iROAS where the channel spent nothing)
    undefined = {(r["design"], r["seed"], r["test"], r["estimator"]) for r in rows if not math.isfinite(r["truth"])}
    defined = {(r["design"], r["seed"], r["test"], r["estimator"]) for r in rows if math.isfinite(r["truth"])}
    refused = []
    for f in fits:
        key = (f["design"], f["seed"], f["test"], f["estimator"])
        if f["error"] and key in undefined and key not in defined:
            refused.append(f"{f['design']} seed {f['seed']} {f['test']} {f['estimator']}: {f['error']}")
        elif f["error"]:
            problems.append(f"{f['design']} seed {f['seed']} {f['test']} {f['estimator']}: {f['error']}")
    for r in rows:
        if math.isfinite(r["truth"]) and not _valid(r) and not any(
                f["error"] for f in fits if (f["design"], f["seed"], f["test"]) == (r["design"], r["seed"], r["test"])):
            problems.append(f"{r['design']} seed {r['seed']} {r['test']} {r['estimator']} {r['target']}: "
                            f"no estimate or interval ({r['estimate']}, [{r['lower']}, {r['upper']}])")
    order = {"synthetic_control scm": 0, "synthetic_control ascm": 1, "tbr": 2, "staggered_did": 3, "did": 3,
             "did (permutation)": 4,
             "causal_impact": 5, "trimmed_match": 6, "trimmed_match (normal quantile)": 7,
             "trimmed_match (random re-pairing)": 8}
    summary = summarise(rows, fits, ("design", "estimator", "target"))
    shown = list(DESIGN_TITLES)
    summary.sort(key=lambda r: (shown.index(r["design"]), order.get(r["estimator"], 9),
                                r["estimator"], r["target"]))
    per_channel = summarise([r for r in rows if r["design"] == "holdout"], fits,
                            ("design", "estimator", "channel", "target"))
    warned: dict[str, dict[str, int]] = {}
    for f in fits:
        # the same warning with other numbers in it counts as one ("R² = 0.01", "R² = 0.02" ...)
        for m in sorted({re.sub(r"-?\d+(\.\d+)?", "#", w) for w in f["warnings"]}):
            warned.setdefault(f"{f['design']} / {f['estimator']}", {}).setdefault(m, 0)
            warned[f"{f['design']} / {f['estimator']}"][m] += 1
    jack = {}
    for r in rows:
        if r.get("interval_method"):
            k = f"{r['design']} / {r['estimator']}"
            jack.setdefault(k, {}).setdefault(r["interval_method"], 0)
            jack[k][r["interval_method"]] += 1
    sim_s = sum(w["simulate_seconds"] for w in worlds if not w["from_cache"])
    text = markdown(summary) + "\n" + by_channel_markdown(per_channel)
    params = {"quick": a.quick, "sizes": QUICK if a.quick else FULL, "worlds": a.incr_worlds, "seed": a.seed,
              "jobs": a.incr_jobs, "wait_quiet": a.quiet, "holdout_channels": HOLDOUT_CHANNELS,
              "geo_test_channels": GEO_TEST_CHANNELS, "geos_per_test": GEOS_PER_TEST,
              "paired_channel": PAIRED_CHANNEL, "goal": GOAL}
    fit_seconds: dict[str, list[float]] = {}
    for f in fits:
        fit_seconds.setdefault(f"{f['design']} / {f['estimator']}", []).append(f["seconds"])
    payload = {"benchmark": NAME, "quick": a.quick, "parameters": params, "summary": summary,
               "per_channel": per_channel, "warnings": warned, "interval_methods": jack,
               "worlds": worlds, "rows": _columns(rows),
               "fit_seconds": {k: {"fits": len(v), "mean": statistics.fmean(v), "max": max(v)}
                               for k, v in fit_seconds.items()},
               "failed_fits": [f for f in fits if f["error"]], "refused_without_truth": refused, "calm": calm,
               "worlds_simulated": sum(not w["from_cache"] for w in worlds),
               "worlds_from_cache": sum(w["from_cache"] for w in worlds), "simulate_seconds": sim_s,
               "shards_wall_seconds": time.perf_counter() - t0,
               "maxrss_kb": max((r["maxrss_kb"] for r in results), default=0),
               "checks": {"ok": not problems, "problems": problems}, "table_markdown": text}
    return payload, not problems


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The scored rows column-wise (each name once), floats to 7 significant digits: the file stays small."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    return {k: [float(f"{v:.7g}") if isinstance(v, float) and math.isfinite(v) else v for v in (r.get(k) for r in rows)]
            for k in names}


def report(payload: dict[str, Any]) -> list[str]:
    s = payload["summary"]
    met = [r for r in s if r["goal_met"]]
    lines = [f"{payload['worlds_simulated']} world(s) simulated ({payload['simulate_seconds']:.0f} s), "
             f"{payload['worlds_from_cache']} from the cache; shards ran {payload['shards_wall_seconds']:.0f} s",
             f"coverage goal (90–99% over >= 100 tests) met by {len(met)} of {len(s)} scored rows"]
    for r in s:
        if r.get("wider_than_observed"):
            lines.append(f"{r['design']} / {r['estimator']} / {r['target']}: the interval is wider than the treated "
                         f"geos' observed total in {_pct(r['wider_than_observed'])} of the tests")
    for m in payload.get("refused_without_truth", []):
        lines.append(f"refused, rightly (the test has no true value): {m}")
    for k, v in payload["interval_methods"].items():
        lines.append(f"interval methods, {k}: {v}")
    for k, v in payload["warnings"].items():
        for m, n in sorted(v.items(), key=lambda kv: -kv[1])[:3]:
            lines.append(f"warning in {n} fit(s) of {k}: {m}")
    return lines
