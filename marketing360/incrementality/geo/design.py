"""Designing geo tests the GeoLift way: power by simulation on history, minimum detectable effect, market selection.

:func:`geo_power` (GeoLift's ``GeoLiftPower``) takes a candidate treated set,
test lengths and effect sizes; for each of the last ``lookback`` possible test
windows of the history it multiplies the treated locations' outcome in the
window by ``1 + effect``, fits the synthetic control on the periods before the
window, and runs the conformal test of no effect (:func:`synthetic_control`'s),
recording the p-value, the detected ATT and lift, and the pre-period fit. Power
is the share of windows whose p-value is below ``alpha``; the minimum
detectable effect (MDE) the smallest effect (in absolute value) whose power
exceeds ``power`` (GeoLift's rule: the smaller of the positive and negative
ones, the positive on ties).

:func:`market_selection` (``GeoLiftMarketSelection``) runs the same simulation
for many candidate treated sets — every location alone for single-market
designs, and for ``n`` markets each location with its ``n - 1`` most correlated
locations (GeoLift's deterministic search), or the designs given — and ranks
them as GeoLift does: the mean of the dense ranks of ``|MDE|``, of power and of
``|detected lift - MDE|``, ties sharing the best rank; the budget and holdout
filters re-rank. One deliberate difference: higher power ranks first here, while
GeoLift's code (``dense_rank(power)`` in ``GeoLiftMarketSelection``) ranks the
lower power first; they agree whenever the designs' powers at their MDE are equal
(all 1, as in GeoLift's walkthrough). The investment at the MDE is reported
positive, also for negative effects (GeoLift's step 10: the cost of the lift, or
of the conversions a holdout gives up).

Windows: the test of ``d`` periods in window ``k = 1 .. lookback`` ends ``k - 1``
periods before the end of the history (``k = 1``: the last ``d`` periods), and
later periods are left out, as in GeoLift's ``pvalueCalc``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> y = 100 + rng.normal(0, 3, (60, 8)).cumsum(axis=0) * 0.2 + rng.normal(0, 1, (60, 8))
>>> long = pd.DataFrame({"date": np.repeat(np.arange(1, 61), 8), "location": [f"g{i}" for i in range(8)] * 60,
...                      "Y": y.ravel()})
>>> pw = geo_power(long, treated=["g0", "g1"], durations=10, effect_sizes=[0.0, 0.1], random_state=0)
>>> pw.table()[["duration", "effect_size", "power"]].to_dict("records")
[{'duration': 10, 'effect_size': 0.0, 'power': 0.0}, {'duration': 10, 'effect_size': 0.1, 'power': 1.0}]
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...errors import ParameterError
from ...estimators import check_random_state
from ...results import Result
from ...types import ConformalType, DesignSide, SynthMethod, TableLike
from ..effects import check_alpha, check_count
from . import _scm
from .panel import GeoPanel
from .synth import MIN_PRE_PERIODS, check_series, load_panel, locations_of

__all__ = ["geo_power", "market_selection", "GeoPower", "MarketSelection", "minimum_detectable_effect",
           "POWER_EFFECTS", "SELECTION_EFFECTS"]


#: GeoLiftPower's default effect sizes (0 to 25% by 5%)
POWER_EFFECTS: tuple[float, ...] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25)
#: GeoLiftMarketSelection's default effect sizes (-20% to +20% by 5%)
SELECTION_EFFECTS: tuple[float, ...] = (-0.2, -0.15, -0.1, -0.05, 0.0, 0.05, 0.1, 0.15, 0.2)


# ---------------------------------------------------------------------------------------------- simulation
def _durations(durations: Any) -> list[int]:
    vals = [durations] if isinstance(durations, (int, np.integer)) else list(durations)
    if not vals or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in vals):
        raise ParameterError(f"durations must be positive integers (test lengths in periods); found {durations!r}")
    return sorted({int(d) for d in vals})


def _effects(effect_sizes: Any) -> np.ndarray:
    try:
        es = np.atleast_1d(np.asarray(effect_sizes, dtype=float))
    except (TypeError, ValueError):
        es = np.array([np.nan])
    if es.ndim != 1 or es.size == 0 or not np.isfinite(es).all() or (es <= -1).any():
        raise ParameterError(f"effect_sizes must be finite relative lifts above -1 (0.05 = +5%); "
                             f"found {effect_sizes!r}")
    return np.unique(es)


def _check_level(alpha: Any, power: Any, cpic: Any) -> float:
    """``alpha`` checked; ``power`` in (0, 1) and ``cpic`` a finite non-negative cost, or a ParameterError."""
    a = check_alpha(alpha)
    for name, v, ok in (("power", power, lambda x: 0 < x < 1), ("cpic", cpic, lambda x: np.isfinite(x) and x >= 0)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not ok(float(v)):
            allowed = "in (0, 1)" if name == "power" else "a finite cost per incremental unit, 0 or more"
            raise ParameterError(f"{name} must be {allowed}; found {v!r}")
    return a


def _check_common(panel: GeoPanel, durations: list[int], lookback: Any, side: Any, method: Any,
                  conformal_type: Any, n_permutations: Any) -> int:
    if isinstance(lookback, bool) or not isinstance(lookback, (int, np.integer)) or lookback < 1:
        raise ParameterError(f"lookback must be a positive integer (how many past test windows); found {lookback!r}")
    for name, v, allowed in (("side", side, ("two-sided", "one-sided")), ("method", method, ("scm", "ascm")),
                             ("conformal_type", conformal_type, ("iid", "block"))):
        if v not in allowed:
            raise ParameterError(f"{name} must be one of {list(allowed)}; found {v!r}")
    check_count(n_permutations, "n_permutations", 1)
    need = max(durations) + int(lookback) - 1 + MIN_PRE_PERIODS
    if panel.n_periods < need:
        raise ParameterError(f"the history has {panel.n_periods} periods; tests of {max(durations)} periods in "
                             f"{lookback} window(s) leave fewer than {MIN_PRE_PERIODS} pre-periods (need {need})")
    return int(lookback)


class _Simulator:
    """Runs GeoLift's ``pvalueCalc`` for designs of one panel, sharing the permutations across designs."""

    def __init__(self, panel: GeoPanel, *, method: str, fixed_effects: bool, side: str, conformal_type: str,
                 n_permutations: int, cpic: float, rng: np.random.Generator) -> None:
        self.panel = panel
        self.ascm = method == "ascm"
        self.fixed_effects = fixed_effects
        self.side = side
        self.conformal_type: ConformalType = "block" if conformal_type == "block" else "iid"
        self.ns = n_permutations
        self.cpic = cpic
        self.rng = rng
        self._perms: dict[tuple[int, int], np.ndarray] = {}

    def perms(self, n: int, post: int) -> np.ndarray:
        key = (n, post)
        if key not in self._perms:
            self._perms[key] = _scm.permutation_index(n, post, self.conformal_type, self.ns, self.rng)
        return self._perms[key]

    def run(self, treated: list[str], durations: list[int], effects: np.ndarray, lookback: int) -> list[dict[str, Any]]:
        p = self.panel
        ti = p.index_of(treated)
        donors = [i for i in range(p.n_locations) if i not in set(ti.tolist())]
        if not donors:
            raise ParameterError(f"design {treated}: every location is treated, no donors are left")
        name = ", ".join(sorted(treated))
        rows: list[dict[str, Any]] = []
        for d in durations:
            for k in range(1, lookback + 1):
                end = p.n_periods - k          # last test period (0-based), GeoLift's max_time - sim + 1
                t0 = end - d + 1               # first test period = number of pre-periods
                check_series(p, donors, t0, name, ridge=self.ascm, fixed_effects=self.fixed_effects)
                Y = p.y[: end + 1]
                x1 = Y[:, ti].mean(axis=1)
                yc = Y[:, donors]
                fit = _scm.fit_scm(x1, yc, t0, fixed_effects=self.fixed_effects, ridge=self.ascm)
                post = np.arange(end + 1) >= t0
                refit = _scm.Refitter(x1, yc, -(x1 * post), fixed_effects=self.fixed_effects, lam=fit.ridge_lambda)
                perms = self.perms(end + 1, d)
                post_idx = np.flatnonzero(post)
                obs_post = x1[post]
                cf_post = fit.synthetic[post]
                base = float(Y[post][:, ti].sum())
                for es in effects:
                    alt: _scm.Alternative = "two-sided" if self.side == "two-sided" else (
                        "greater" if es > 0 else "less")
                    resid = refit.residuals(float(es))
                    pval = _scm.conformal_pvalue(resid, post_idx, perms, _scm.stat_function(alt))
                    incr = float((obs_post * (1 + es)).sum() - cf_post.sum())
                    rows.append({"location": name, "n_markets": len(treated), "duration": d, "window": k,
                                 "treatment_start": p.dates[t0], "effect_size": float(es), "p_value": pval,
                                 "att": incr / d, "detected_lift": incr / float(cf_post.sum()),
                                 "scaled_l2_imbalance": fit.scaled_l2_imbalance,
                                 "investment": self.cpic * base * float(es)})
        return rows


def minimum_detectable_effect(curve: pd.DataFrame, *, power: float = 0.8) -> float:
    """GeoLift's MDE of one power curve (``effect_size``, ``power``): the smallest positive and the largest negative
    effect with power above ``power``; the negative one when strictly smaller in absolute value. NaN when no
    non-zero effect of the curve reaches the power."""
    ok = curve.loc[curve["power"] > power, "effect_size"].to_numpy(float)
    pos = ok[ok > 0]
    neg = ok[ok < 0]
    best_pos = pos.min() if pos.size else np.inf
    best_neg = neg.max() if neg.size else -np.inf
    if not np.isfinite(best_pos) and not np.isfinite(best_neg):
        return float("nan")
    return float(best_neg) if best_pos > abs(best_neg) else float(best_pos)


def _aggregate(sims: pd.DataFrame, alpha: float) -> pd.DataFrame:
    s = sims.assign(significant=(sims["p_value"] < alpha).astype(float))
    g = s.groupby(["location", "n_markets", "duration", "effect_size"], sort=True)
    out = g.agg(power=("significant", "mean"), att=("att", "mean"), detected_lift=("detected_lift", "mean"),
                scaled_l2_imbalance=("scaled_l2_imbalance", "mean"), investment=("investment", "mean"),
                n_windows=("window", "size")).reset_index()
    return out


# ---------------------------------------------------------------------------------------------- power
class GeoPower(Result):
    """Power of one geo design by simulation: per test length and effect size, ``power, att, detected_lift,
    scaled_l2_imbalance, investment, n_windows``.

    Attributes
    ----------
    treated : list of str
    alpha : float
    simulations : pandas.DataFrame
        One row per window, test length and effect size (p-value, detected ATT and lift, pre-period fit).
    mde : pandas.Series
        Minimum detectable effect per test length (NaN where no effect of the grid reaches ``power``).
    """

    title: ClassVar[str] = "geo test power"
    keys = ("duration", "effect_size")

    def __init__(self, frame: pd.DataFrame, *, treated: list[str], alpha: float, power: float,
                 simulations: pd.DataFrame, mde: pd.Series, notes: list[str]) -> None:
        super().__init__(frame)
        self.treated = treated
        self.alpha = alpha
        self.power = power
        self.simulations = simulations
        self.mde = mde
        self._notes_list = notes

    def _notes(self) -> list[str]:
        mdes = ", ".join(f"{d} periods: {'none' if np.isnan(m) else f'{100 * m:g}%'}" for d, m in self.mde.items())
        return [*self._notes_list, f"MDE (power > {self.power:g}): {mdes}"]

    def plot(self, *, title: str | None = None, ax: Any = None, **kwargs: Any) -> Any:
        """Power curves, one line per test length; returns the figure."""
        from ...viz.geo import plot_power_curve

        return plot_power_curve(self._computed(), alpha=self.alpha, ax=ax,
                                title=title or f"Power: {', '.join(self.treated)}", **kwargs)


def geo_power(data: TableLike | GeoPanel, *, treated: str | Sequence[str], durations: int | Sequence[int] = 15,
              effect_sizes: Sequence[float] | np.ndarray = POWER_EFFECTS,
              lookback: int = 1, alpha: float = 0.05, power: float = 0.8, method: SynthMethod = "scm",
              fixed_effects: bool = True, side: DesignSide = "two-sided", conformal_type: ConformalType = "iid",
              n_permutations: int = 1000, cpic: float = 1.0, random_state: Any = None, date: str | None = None,
              location: str | None = None, y: str | None = None, nonnegative: bool = False) -> GeoPower:
    """Power of a geo test of ``treated`` by simulation on history (GeoLift's ``GeoLiftPower``).

    Parameters
    ----------
    data : table-like or GeoPanel
        The history, in the long ``date, location, Y`` layout (or a panel).
    treated : str or list of str
        The candidate treated locations (averaged into one treated series).
    durations : int or list of int, default 15
        Test lengths, in periods.
    effect_sizes : list of float
        Relative lifts injected into the treated locations during the window (``0.05`` = +5%).
    lookback : int, default 1
        How many past windows to simulate per test length (1: the most recent).
    alpha : float, default 0.05
        Level of the conformal test (GeoLift's walkthrough uses 0.1).
    power : float, default 0.8
        Power an effect must exceed to count for the MDE.
    method : {"scm", "ascm"}
    fixed_effects : bool, default True
    side : {"two-sided", "one-sided"}
        ``sum |x|``, or the one-sided statistic in the direction of the injected effect (GeoLift's
        ``side_of_test``).
    conformal_type : {"iid", "block"}
    n_permutations : int, default 1000
    cpic : float, default 1
        Cost per incremental unit: ``investment = cpic x effect x treated outcome in the window``.
    random_state : int, Generator or None
    date, location, y : str, optional
    nonnegative : bool

    Returns
    -------
    GeoPower
    """
    a = _check_level(alpha, power, cpic)
    panel = load_panel(data, date=date, location=location, y=y, nonnegative=nonnegative)
    locs = locations_of(panel, treated, what="treated")
    if len(locs) >= panel.n_locations:
        raise ParameterError(f"every location of the panel ({panel.n_locations}) is treated: no donors are left")
    ds = _durations(durations)
    es = _effects(effect_sizes)
    lb = _check_common(panel, ds, lookback, side, method, conformal_type, n_permutations)
    sim = _Simulator(panel, method=method, fixed_effects=fixed_effects, side=side, conformal_type=conformal_type,
                     n_permutations=int(n_permutations), cpic=float(cpic), rng=check_random_state(random_state))
    sims = pd.DataFrame(sim.run(locs, ds, es, lb))
    agg = _aggregate(sims, a).drop(columns=["location", "n_markets"])
    mde = pd.Series({d: minimum_detectable_effect(g, power=power) for d, g in agg.groupby("duration")},
                    name="mde").rename_axis("duration")
    notes = [f"treated: {', '.join(locs)}; {method.upper()}, {'with' if fixed_effects else 'without'} fixed effects",
             f"{lb} window(s) per test length; {side} conformal test at alpha={a:g} ({conformal_type})"]
    return GeoPower(agg, treated=locs, alpha=a, power=power, simulations=sims, mde=mde, notes=notes)


# ---------------------------------------------------------------------------------------------- market selection
def correlation_groups(panel: GeoPanel, n: int, candidates: Sequence[str]) -> list[list[str]]:
    """GeoLift's deterministic designs of ``n`` markets: each candidate with its ``n - 1`` most correlated
    candidates (Pearson correlation of the outcome over time), sorted, without repeats."""
    idx = panel.index_of(list(candidates), what="candidate")
    sub = panel.y[:, idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(sub, rowvar=False)
    corr = np.nan_to_num(np.atleast_2d(corr), nan=-np.inf)
    names = [panel.locations[i] for i in idx]
    groups: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    for i in range(len(names)):
        others = [j for j in np.argsort(-corr[i], kind="stable") if j != i][: n - 1]
        g = tuple(sorted([names[i], *[names[j] for j in others]]))
        if g not in seen:
            seen.add(g)
            groups.append(list(g))
    return groups


class MarketSelection(Result):
    """Candidate treated sets ranked as GeoLift ranks them, one row per design and test length.

    Columns: ``rank, location, n_markets, duration, effect_size`` (the MDE), ``power, scaled_l2_imbalance,
    investment`` (at the MDE, positive for negative effects too, as GeoLift reports it), ``att, detected_lift,
    proportion_total_y, abs_lift_in_zero, holdout, correlation``.

    Attributes
    ----------
    power_curves : pandas.DataFrame
        Power per design, test length and effect size (before ranking and filters).
    simulations : pandas.DataFrame
        Every simulated window.
    """

    title: ClassVar[str] = "geo market selection"
    keys = ("rank", "location", "duration")

    def __init__(self, frame: pd.DataFrame, *, power_curves: pd.DataFrame, simulations: pd.DataFrame, alpha: float,
                 notes: list[str]) -> None:
        super().__init__(frame)
        self.power_curves = power_curves
        self.simulations = simulations
        self.alpha = alpha
        self._notes_list = notes

    def _notes(self) -> list[str]:
        return list(self._notes_list)

    def plot(self, *, design: int = 1, title: str | None = None, ax: Any = None, **kwargs: Any) -> Any:
        """Power curves of the ``design``-th row of the ranking (1: the best); returns the figure."""
        from ...viz.geo import plot_power_curve

        df = self._computed()
        if not 1 <= design <= len(df):
            raise ParameterError(f"design must be a row number from 1 to {len(df)}; found {design!r}")
        loc = df["location"].iloc[design - 1]
        curves = self.power_curves[self.power_curves["location"] == loc]
        return plot_power_curve(curves, alpha=self.alpha, ax=ax, title=title or f"Power: {loc}", **kwargs)


def market_selection(data: TableLike | GeoPanel, *, n_markets: int | Sequence[int] = 1,
                     durations: int | Sequence[int] = 15,
                     effect_sizes: Sequence[float] | np.ndarray = SELECTION_EFFECTS,
                     lookback: int = 1, include: Sequence[str] = (), exclude: Sequence[str] = (),
                     candidates: Sequence[Sequence[str]] | None = None, cpic: float = 1.0,
                     budget: float | None = None, holdout: tuple[float, float] | None = None, alpha: float = 0.05,
                     power: float = 0.8, method: SynthMethod = "scm", fixed_effects: bool = True,
                     side: DesignSide = "two-sided", conformal_type: ConformalType = "iid", n_permutations: int = 1000,
                     random_state: Any = None, date: str | None = None, location: str | None = None,
                     y: str | None = None, nonnegative: bool = False) -> MarketSelection:
    """Rank candidate treated sets by simulated power (GeoLift's ``GeoLiftMarketSelection``).

    Parameters
    ----------
    data : table-like or GeoPanel
    n_markets : int or list of int, default 1
        Sizes of the treated sets to search: 1 = every location alone; ``n`` = each location with its
        ``n - 1`` most correlated ones.
    durations, effect_sizes, lookback, alpha, power, method, fixed_effects, side, conformal_type,
    n_permutations, random_state :
        As :func:`geo_power` (effect sizes default to -20% .. +20% by 5%, as GeoLift's).
    include : list of str
        Locations every design must contain.
    exclude : list of str
        Locations no design may contain (they stay donors).
    candidates : list of list of str, optional
        Explicit designs to evaluate instead of the correlation search.
    cpic : float, default 1
    budget : float, optional
        Drop designs whose investment at the MDE exceeds it.
    holdout : (float, float), optional
        Keep designs whose holdout share of the outcome lies in this range.

    Returns
    -------
    MarketSelection
    """
    a = _check_level(alpha, power, cpic)
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, numbers.Real)
                               or not np.isfinite(budget) or budget == 0):
        raise ParameterError(f"budget must be a finite, non-zero amount (or None); found {budget!r}")
    panel = load_panel(data, date=date, location=location, y=y, nonnegative=nonnegative)
    ds = _durations(durations)
    es = _effects(effect_sizes)
    lb = _check_common(panel, ds, lookback, side, method, conformal_type, n_permutations)
    inc = locations_of(panel, include, what="include") if _given(include) else []
    exc = locations_of(panel, exclude, what="exclude") if _given(exclude) else []
    if set(inc) & set(exc):
        raise ParameterError(f"include and exclude overlap: {sorted(set(inc) & set(exc))}")
    if holdout is not None and (len(holdout) != 2 or not 0 <= holdout[0] < holdout[1] <= 1):
        raise ParameterError(f"holdout must be (smallest, largest) shares with 0 <= smallest < largest <= 1; "
                             f"found {holdout!r}")
    designs = _designs(panel, n_markets, candidates, inc, exc)
    by_name = {", ".join(sorted(g)): g for g in designs}
    if len(by_name) < len(designs):
        raise ParameterError("two designs read the same once their locations are joined with ', ' (a location name "
                             "holds ', '); rename the locations")
    sim = _Simulator(panel, method=method, fixed_effects=fixed_effects, side=side, conformal_type=conformal_type,
                     n_permutations=int(n_permutations), cpic=float(cpic), rng=check_random_state(random_state))
    rows: list[dict[str, Any]] = []
    for g in designs:
        rows.extend(sim.run(g, ds, es, lb))
    sims = pd.DataFrame(rows)
    curves = _aggregate(sims, a)
    ranked = _rank(curves, panel, by_name, power, budget, holdout)
    notes = [f"{len(designs)} designs x {len(ds)} test length(s) x {len(es)} effect sizes x {lb} window(s); "
             f"{method.upper()}, {side} conformal test at alpha={a:g}",
             "rank: mean of the dense ranks of |MDE|, power (higher first) and |detected lift - MDE|"]
    return MarketSelection(ranked, power_curves=curves, simulations=sims, alpha=a, notes=notes)


def _given(names: Any) -> bool:
    """Whether ``include`` / ``exclude`` name anything (one name, or a non-empty list)."""
    return isinstance(names, (str, int, np.integer)) or len(names) > 0


def _designs(panel: GeoPanel, n_markets: Any, candidates: Sequence[Sequence[str]] | None, inc: list[str],
             exc: list[str]) -> list[list[str]]:
    if candidates is not None:
        if isinstance(candidates, str):
            raise ParameterError(f"candidates must be a list of designs (lists of locations); found {candidates!r}")
        designs = [locations_of(panel, c, what="candidate") for c in candidates]
        if not designs:
            raise ParameterError("candidates: no designs given")
        keys = [tuple(sorted(d)) for d in designs]
        if len(set(keys)) < len(keys):
            repeated = sorted({k for k in keys if keys.count(k) > 1})
            raise ParameterError(f"candidates repeat a design: {[list(k) for k in repeated]}")
    else:
        sizes = [n_markets] if isinstance(n_markets, (int, np.integer)) else list(n_markets)
        pool = [loc for loc in panel.locations if loc not in set(exc)]
        if not sizes or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n < len(pool)
                            for n in sizes):
            raise ParameterError(f"n_markets must be integers from 1 to {len(pool) - 1} (the candidate locations "
                                 f"less one); found {n_markets!r}")
        if inc and min(sizes) < len(inc):
            raise ParameterError(f"n_markets {sizes} is smaller than the {len(inc)} markets in include")
        designs = []
        for n in sorted(set(int(s) for s in sizes)):
            designs.extend(correlation_groups(panel, n, pool) if n > 1 else [[loc] for loc in pool])
    designs = [d for d in designs if set(inc) <= set(d) and not set(exc) & set(d)]
    if not designs:
        raise ParameterError("no design meets include / exclude; change them or n_markets")
    return designs


def _dense(values: pd.Series) -> pd.Series:
    return values.rank(method="dense").astype(int)


def _rank(curves: pd.DataFrame, panel: GeoPanel, designs: dict[str, list[str]], power: float,
          budget: float | None, holdout: tuple[float, float] | None) -> pd.DataFrame:
    """GeoLift's ranking of the designs (``designs``: each design's locations by its name in ``curves``)."""
    rows = []
    for _, g in curves.groupby(["location", "duration"], sort=True):
        mde = minimum_detectable_effect(g, power=power)
        if np.isnan(mde) or mde == 0:
            continue
        rows.append(g[g["effect_size"] == mde].iloc[0])
    cols = ["rank", "location", "n_markets", "duration", "effect_size", "power", "scaled_l2_imbalance", "investment",
            "att", "detected_lift", "proportion_total_y", "abs_lift_in_zero", "holdout", "correlation"]
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(rows).reset_index(drop=True)
    totals = panel.y.sum(axis=0)
    share = {loc: float(totals[panel.index_of(designs[loc])].sum() / totals.sum()) for loc in out["location"]}
    out["proportion_total_y"] = out["location"].map(share)
    out["abs_lift_in_zero"] = (out["detected_lift"] - out["effect_size"]).abs().round(3)
    score = (_dense(out["effect_size"].abs()) + _dense(-out["power"]) + _dense(out["abs_lift_in_zero"])) / 3
    out["rank"] = score.rank(method="min").astype(int)
    out["investment"] = out["investment"].abs()  # GeoLift step 10: a negative lift's (negative) investment negated
    if budget is not None:
        out = out[out["investment"].abs() < abs(budget)]
        out["rank"] = out["rank"].rank(method="min").astype(int)
    out["holdout"] = np.where(out["effect_size"] < 0, out["proportion_total_y"], 1 - out["proportion_total_y"])
    if holdout is not None:
        out = out[(out["holdout"] >= holdout[0]) & (out["holdout"] <= holdout[1])]
        out["rank"] = out["rank"].rank(method="min").astype(int)
    out["correlation"] = [_correlation(panel, designs[loc]) for loc in out["location"]]
    return out.sort_values(["rank", "location"], kind="mergesort")[cols].reset_index(drop=True)


def _correlation(panel: GeoPanel, locs: list[str]) -> float:
    """GeoLift's ``CorrelationCoefficient``: correlation over time of the test markets' total and the others'."""
    idx = panel.index_of(locs)
    mask = np.zeros(panel.n_locations, dtype=bool)
    mask[idx] = True
    test = panel.y[:, mask].sum(axis=1)
    rest = panel.y[:, ~mask].sum(axis=1)
    if test.std() == 0 or rest.std() == 0:
        return float("nan")
    return float(np.corrcoef(test, rest)[0, 1])
