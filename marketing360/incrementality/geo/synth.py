"""Synthetic control for geo experiments: GeoLift's estimator (augsynth's SCM / ridge ASCM) and its inference.

:func:`synthetic_control` reads the long ``date, location, Y`` table GeoLift
users already have (or a :class:`~marketing360.incrementality.geo.GeoPanel`),
averages the treated locations into one treated series (as GeoLift and
augsynth do), fits donor weights on the pre-period and reports, per cell:

* ``att`` — the average effect per period and per treated location (GeoLift's
  "Average ATT"),
* ``incremental`` — the total incremental outcome (``att x periods x locations``,
  GeoLift's "Incremental Y"),
* ``percent_lift`` — ``100 x (observed - synthetic) / |synthetic|`` summed over the
  test (GeoLift's "Percent Lift"),

each with the interval and p-value of the chosen inference:

* ``"conformal"`` (default, GeoLift's): the p-value of Chernozhukov, Wuthrich &
  Zhu (2021) as augsynth computes it, and the interval of constant effects the
  same test does not reject (GeoLift's ``ConfIntervals``); when no constant effect
  is accepted — the post-period is too uneven for any constant effect — the
  interval falls back, with a warning and ``interval_method = "jackknife+"`` in
  the table, to augsynth's time jackknife+, as GeoLift does;
* ``"permutation"``: each donor in turn as a placebo treated location (the other
  donors as its donors); the p-value is the rank of the treated post/pre RMSPE
  ratio (signed post/pre ratio for one-sided tests), the interval the constant
  effects whose ratio the placebos do not reject;
* ``"none"``: estimates only.

Periods: on a panel of dates, an ``int`` ``start`` / ``end`` is GeoLift's 1-based
period number (``start=91`` is the 91st period of the panel) and anything else (a
date string, a timestamp) a date of the panel; on a panel of integer periods an
``int`` is one of its periods (GeoLift's ``time`` counts from 1, so both read the
same there). Periods after ``end`` are dropped, as in GeoLift.

:meth:`SyntheticControl.conf_int` at another level inverts the same test again
at that level (the conformal test with the same permutations, or the placebo
ratios), falling back to the jackknife+ as the fit does.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> trend = np.sin(np.arange(40) / 4) * 10
>>> y = 100 + trend[:, None] * rng.uniform(0.5, 1.5, 6) + rng.normal(0, 1, (40, 6))
>>> y[30:, 0] += 5.0  # location "g0" gains 5 a period from period 31 on
>>> long = pd.DataFrame({"date": np.repeat(np.arange(1, 41), 6), "location": [f"g{i}" for i in range(6)] * 40,
...                      "Y": y.ravel()})
>>> sc = synthetic_control(long, treated="g0", start=31, random_state=0)
>>> sc.table()[["effect", "estimate", "lower", "upper"]].round(0)
         effect  estimate  lower  upper
0           att       5.0    3.0    7.0
1   incremental      53.0   34.0   73.0
2  percent_lift       5.0    3.0    7.0
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from ...errors import ParameterError, SchemaError
from ...estimators import check_random_state
from ...results import Summary
from ...types import Alternative, ConformalType, SynthInference, SynthMethod, TableLike
from ..effects import Effects, check_alpha, check_count
from . import _scm
from ._scm import Inversion
from .panel import GeoPanel, geo_panel, resolve_locations

__all__ = ["synthetic_control", "SyntheticControl", "SynthCell", "MIN_PRE_PERIODS"]


#: the fewest pre-periods a synthetic control is fitted on (GeoLift recommends 25 or more)
MIN_PRE_PERIODS = 5
_EFFECTS = ("att", "incremental", "percent_lift")


# ---------------------------------------------------------------------------------------------- inputs
def load_panel(data: TableLike | GeoPanel, *, date: str | None, location: str | None, y: str | None,
               nonnegative: bool) -> GeoPanel:
    """``data`` as a checked :class:`GeoPanel` (a panel is checked again: finite, non-negative if asked)."""
    if isinstance(data, GeoPanel):
        p = data
        if p.y.ndim != 2 or p.y.size == 0:
            raise SchemaError("the geo panel is empty", column=None)
        if not np.isfinite(p.y).all():
            raise SchemaError(f"the geo panel's outcome {p.outcome!r} has NaN or infinite values", column=p.outcome)
        if nonnegative and (p.y < 0).any():
            raise SchemaError(f"outcome {p.outcome!r} must be non-negative (nonnegative=True); found "
                              f"{float(p.y.min()):g}", column=p.outcome)
    else:
        p = geo_panel(data, date=date, location=location, y=y, nonnegative=nonnegative)
    _check_names(p)
    return p


def _check_names(panel: GeoPanel) -> None:
    """Refuse locations whose names differ only in case: treated names are matched case-insensitively (GeoLift
    lower-cases them all), so either spelling would silently pick one of the two."""
    if len(set(panel.locations)) != len(panel.locations):
        raise SchemaError(f"the geo panel repeats a location: {sorted(panel.locations)}", column="location")
    seen: dict[str, str] = {}
    for loc in panel.locations:
        other = seen.setdefault(loc.lower(), loc)
        if other != loc:
            raise SchemaError(f"locations {other!r} and {loc!r} differ only in case; locations are matched "
                              "case-insensitively (as GeoLift lower-cases them): merge or rename them",
                              column="location")


def window(panel: GeoPanel, start: Any, end: Any) -> tuple[int, int]:
    """Positions of the first and last test period.

    On a panel of dates, an ``int`` is GeoLift's 1-based period number and anything else a date; on a panel of
    integer periods, an ``int`` is one of those periods (GeoLift's ``time``, which counts from 1, reads the same).
    """
    dated = isinstance(panel.dates, pd.DatetimeIndex)

    def pos(v: Any, what: str) -> int:
        if isinstance(v, bool):
            raise ParameterError(f"{what} must be a period number or a date; found {v!r}")
        if isinstance(v, (int, np.integer)):
            return panel.position(int(v), what=what) if dated else panel.period_of(int(v), what=what)
        if not dated:
            raise ParameterError(f"{what} must be one of the panel's integer periods ({panel.dates[0]} .. "
                                 f"{panel.dates[-1]}); found {v!r}")
        return panel.period_of(v, what=what)

    t0 = pos(start, "start")
    t1 = panel.n_periods - 1 if end is None else pos(end, "end")
    if t1 < t0:
        raise ParameterError(f"end ({end!r}) is before start ({start!r})")
    if t0 < MIN_PRE_PERIODS:
        raise ParameterError(f"start={start!r} leaves {t0} pre-period(s); a synthetic control needs at least "
                             f"{MIN_PRE_PERIODS} (GeoLift recommends 25 or more)")
    return t0, t1


def locations_of(panel: GeoPanel, names: Any, *, what: str) -> list[str]:
    """The panel's spelling of ``names``: one name or a list of them; a name may be a number (a DMA code, a geo
    id), as the panel reads location columns as text."""
    if isinstance(names, (str, bytes, int, np.integer)) or not isinstance(names, Iterable):
        names = [names]
    vals = list(names)
    bad = [v for v in vals if isinstance(v, (bool, np.bool_, float, np.floating)) or v is None]
    if bad:
        raise ParameterError(f"{what} locations must be names (text or integer ids); found {bad}")
    return resolve_locations(panel, [str(v) for v in vals], what=what)


def cells_of(panel: GeoPanel, treated: Any) -> dict[str, list[str]]:
    """``treated`` (names, or ``{cell: names}``) as ``{cell: the panel's spelling}``, cells disjoint."""
    if isinstance(treated, Mapping):
        if not treated:
            raise ParameterError("treated: no cells given")
        if len({str(k) for k in treated}) < len(treated):
            raise ParameterError(f"treated: cell names must differ as text; found {list(treated)}")
        cells = {str(k): locations_of(panel, v, what=f"treated cell {k!r}") for k, v in treated.items()}
    else:
        cells = {"treated": locations_of(panel, treated, what="treated")}
    seen: dict[str, str] = {}
    for c, locs in cells.items():
        for loc in locs:
            if loc in seen:
                raise ParameterError(f"location {loc!r} is in cells {seen[loc]!r} and {c!r}; cells must be disjoint")
            seen[loc] = c
    if len(seen) >= panel.n_locations:
        raise ParameterError(f"every location of the panel ({panel.n_locations}) is treated: no donors are left")
    return cells


def check_series(panel: GeoPanel, donors: Sequence[int], t0: int, cell: str, *, ridge: bool = False,
                 fixed_effects: bool = True) -> None:
    """Refuse a pre-period where no donor moves (no synthetic control can be formed from constants), and a ridge
    augmentation whose donors do not differ from one another (its penalty cannot be chosen)."""
    pre = panel.y[:t0][:, list(donors)]
    if len(donors) == 0:
        raise ParameterError(f"cell {cell!r} has no donor locations")
    if np.all(pre.max(axis=0) - pre.min(axis=0) == 0):
        raise SchemaError(f"the outcome {panel.outcome!r} is constant over the pre-period for every donor of cell "
                          f"{cell!r}: a synthetic control cannot be fitted", column=panel.outcome)
    if ridge:
        X = pre - pre.mean(axis=0) if fixed_effects else pre
        if len(donors) < 2 or np.allclose(X, X.mean(axis=1, keepdims=True), rtol=0.0, atol=1e-12 * np.abs(X).max()):
            raise ParameterError(f"method='ascm' needs donors that differ from one another over the pre-period; "
                                 f"cell {cell!r} has {len(donors)} donor(s) "
                                 f"{'' if len(donors) < 2 else 'that all move alike '}(use method='scm')")


# ---------------------------------------------------------------------------------------------- intervals
@dataclass(frozen=True)
class AttInterval:
    """How the interval of a cell's average ATT was made, with what is needed to redo it at another level."""

    kind: str                                   # conformal / jackknife+ / permutation / none
    alternative: str
    inversion: Inversion | None = None
    jackknife: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # errors, estimates, observed post
    placebo: tuple[np.ndarray, float, float, float] | None = None        # stats, mean gap, gap variance, pre RMSPE

    def at(self, alpha: float) -> tuple[float, float, str]:
        if self.kind == "none":
            return float("nan"), float("nan"), "none"
        if self.kind == "permutation" and self.placebo is not None:
            lo, hi = _placebo_interval(*self.placebo, alpha, self.alternative)
            if not np.isnan(lo):
                return lo, hi, "permutation"
        if self.kind == "conformal" and self.inversion is not None:
            lo, hi = self.inversion.at(alpha)
            if not np.isnan(lo):
                return lo, hi, "conformal"
        if self.jackknife is None:  # pragma: no cover - every cell with an interval keeps its jackknife
            return float("nan"), float("nan"), "none"
        errors, estimates, observed = self.jackknife
        lo_all, hi_all = _scm.jackknife_bounds(observed, errors, estimates, alpha)
        return float(lo_all[-1]), float(hi_all[-1]), "jackknife+"


def _threshold(stats: np.ndarray, alpha: float) -> float:
    """The statistic a treated value may not exceed to keep ``(1 + #{placebo >= it}) / (n + 1) >= alpha``."""
    k = int(np.ceil(alpha * (stats.size + 1) - 1 - 1e-9))
    if k <= 0:
        return np.inf
    return float(np.sort(stats)[::-1][k - 1])


def _placebo_interval(stats: np.ndarray, gbar: float, var: float, pre: float, alpha: float, alternative: str
                      ) -> tuple[float, float]:
    thr = _threshold(stats, alpha)
    if not np.isfinite(thr):
        return -np.inf, np.inf
    if alternative == "greater":
        return gbar - thr * pre, np.inf
    if alternative == "less":
        return -np.inf, gbar + thr * pre
    room = (thr * pre) ** 2 - var
    if room < 0:
        return float("nan"), float("nan")
    return gbar - np.sqrt(room), gbar + np.sqrt(room)


# ---------------------------------------------------------------------------------------------- the result
@dataclass(frozen=True)
class SynthCell:
    """One cell's fit: what GeoLift prints for it, and its series.

    Attributes
    ----------
    name : str
    treated, donors : list of str
    weights : pandas.Series
        Donor weights by location (non-negative and summing to one for SCM;
        the ridge adjustment can make some negative).
    series : pandas.DataFrame
        Per period: ``observed`` (average of the treated locations), ``synthetic``,
        ``att``, its pointwise ``lower`` / ``upper`` and ``p_value`` (post-period),
        and ``post``.
    l2_imbalance, scaled_l2_imbalance : float
        augsynth's pre-period fit: the L2 norm of the pre-period gap, and that norm
        over the one of equal weights.
    pre_rmse : float
        Root mean squared pre-period gap.
    ridge_lambda, bias : float or None
        The ridge penalty and augsynth's mean estimated bias (ASCM only).
    placebos : pandas.DataFrame or None
        Permutation inference: each placebo's ``pre_rmspe``, ``post_rmspe`` and ``statistic``.
    p_value : float
        The test of no effect over the whole test (NaN with ``inference="none"``).
    """

    name: str
    treated: list[str]
    donors: list[str]
    weights: pd.Series
    series: pd.DataFrame
    l2_imbalance: float
    scaled_l2_imbalance: float
    pre_rmse: float
    ridge_lambda: float | None
    bias: float | None
    placebos: pd.DataFrame | None
    interval: AttInterval
    p_value: float

    @property
    def n_post(self) -> int:
        return int(self.series["post"].sum())

    def effect_bounds(self, lo: float, hi: float) -> dict[str, tuple[float, float]]:
        """ATT bounds carried to the incremental outcome and the percent lift."""
        n_post, n = self.n_post, len(self.treated)
        total = float(self.series.loc[self.series["post"], "observed"].sum())
        return {"att": (lo, hi), "incremental": (lo * n_post * n, hi * n_post * n),
                "percent_lift": (_lift(lo, total, n_post), _lift(hi, total, n_post))}


def _lift(h: float, total: float, n_post: int) -> float:
    """Percent lift of a constant effect ``h``: ``100 h T / (observed - h T)`` (-100 at -inf, inf past the total)."""
    if np.isnan(h):
        return float("nan")
    if total > 0:
        if h == -np.inf:
            return -100.0
        base = total - h * n_post
        return float(100.0 * h * n_post / base) if base > 0 else float("inf")
    return float(100.0 * h * n_post / abs(total - h * n_post)) if np.isfinite(h) else float("nan")


class SyntheticControl(Effects):
    """Effects of a geo test by synthetic control: rows ``att``, ``incremental``, ``percent_lift`` per cell.

    The table's ``interval_method`` says how each interval was made
    (``conformal``, ``jackknife+`` when the conformal set was empty,
    ``permutation`` or ``none``). Per-cell fits are in :attr:`cells`; the
    shortcuts :attr:`weights`, :attr:`series`, :attr:`l2_imbalance`,
    :attr:`scaled_l2_imbalance`, :attr:`pre_rmse` and :attr:`ridge_lambda`
    read the only cell of a single-cell test.
    """

    title: ClassVar[str] = "synthetic control"
    keys = ("cell", "effect")
    interval_kind: ClassVar[str] = "conformal / permutation test inversion"

    def __init__(self, frame: pd.DataFrame, *, alpha: float, cells: dict[str, SynthCell], method: str,
                 inference: str, alternative: str, fixed_effects: bool, notes: list[str] | None = None) -> None:
        super().__init__(frame, alpha=alpha, notes=notes)
        self.cells = cells
        self.method = method
        self.inference = inference
        self.alternative = alternative
        self.fixed_effects = fixed_effects

    def cell(self, name: str | None = None) -> SynthCell:
        """The fit of cell ``name`` (the only one when omitted)."""
        if name is None:
            if len(self.cells) > 1:
                raise ParameterError(f"this test has cells {list(self.cells)}: name one (cell=...)")
            return next(iter(self.cells.values()))
        if name not in self.cells:
            raise ParameterError(f"no cell {name!r}; cells: {list(self.cells)}")
        return self.cells[name]

    @property
    def weights(self) -> pd.Series:
        """Donor weights by location (single-cell tests; else ``cell(name).weights``)."""
        return self.cell().weights

    @property
    def series(self) -> pd.DataFrame:
        """Observed and synthetic treated series, ATT per period with pointwise intervals and p-values."""
        return self.cell().series

    @property
    def l2_imbalance(self) -> float:
        return self.cell().l2_imbalance

    @property
    def scaled_l2_imbalance(self) -> float:
        return self.cell().scaled_l2_imbalance

    @property
    def pre_rmse(self) -> float:
        return self.cell().pre_rmse

    @property
    def ridge_lambda(self) -> float | None:
        return self.cell().ridge_lambda

    def _interval(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        df = self._computed()
        lo = np.full(len(df), np.nan)
        hi = np.full(len(df), np.nan)
        fallback = []
        for name, c in self.cells.items():
            a, b, how = c.interval.at(alpha)
            if how == "jackknife+" and c.interval.kind != "jackknife+":
                fallback.append(name)
            bounds = c.effect_bounds(a, b)
            for i, row in enumerate(df.itertuples(index=False)):
                if getattr(row, "cell", name) == name:
                    lo[i], hi[i] = bounds[str(row.effect)]
        if fallback:
            warnings.warn(f"conf_int(alpha={alpha:g}): no constant effect passes the {self.inference} test at this "
                          f"level for {fallback}; their bounds are augsynth's time jackknife+", UserWarning,
                          stacklevel=3)
        return lo, hi

    def _notes(self) -> list[str]:
        kind = {"scm": "SCM", "ascm": "ridge-augmented SCM"}[self.method]
        fe = "with" if self.fixed_effects else "without"
        notes = [f"{kind} {fe} location fixed effects; {self.inference} inference ({self.alternative})",
                 f"{100 * (1 - self.alpha):g}% intervals"]
        for name, c in self.cells.items():
            lam = "" if c.ridge_lambda is None else f", ridge lambda {c.ridge_lambda:.4g}"
            notes.append(f"{name}: {', '.join(c.treated)}; {len(c.series) - c.n_post} pre / {c.n_post} test periods; "
                         f"L2 imbalance {c.l2_imbalance:.4g} (scaled {c.scaled_l2_imbalance:.4f}){lam}")
        return [*self._extra_notes, *notes]

    def summary(self) -> Summary:
        """The effects, then each cell's largest donor weights."""
        tables: list[tuple[str | None, pd.DataFrame]] = [(None, self._computed())]
        for name, c in self.cells.items():
            w = c.weights[c.weights.abs() >= 1e-4].sort_values(key=np.abs, ascending=False)
            tables.append((f"donor weights ({name})", w.round(4).rename("weight").to_frame()))
        return Summary(self.title, notes=self._notes(), tables=tables)

    def plot(self, *, cell: str | None = None, kind: Literal["both", "lift", "att"] = "both", title: str | None = None,
             ax: Any = None, **kwargs: Any) -> Any:
        """Observed vs synthetic with the test shaded (``lift``), the ATT per period with its band (``att``),
        or both; returns the figure (``title``: the treated locations by default)."""
        from ...viz.geo import plot_synthetic_control

        c = self.cell(cell)
        if title is None:
            names = ", ".join(c.treated)
            title = f"Observed vs synthetic: {names}" if len(self.cells) == 1 else f"{c.name}: {names}"
            title = title if kind != "att" else f"ATT: {names}"
        return plot_synthetic_control(c.series, kind=kind, title=title, level=1 - self.alpha, ax=ax, **kwargs)


# ---------------------------------------------------------------------------------------------- the estimator
def synthetic_control(data: TableLike | GeoPanel, *, treated: str | Sequence[str] | Mapping[str, Sequence[str]],
                      start: Any, end: Any = None, method: SynthMethod = "scm", ridge: float | None = None,
                      fixed_effects: bool = True, alpha: float = 0.05, inference: SynthInference = "conformal",
                      alternative: Alternative = "two-sided", conformal_type: ConformalType = "iid",
                      n_permutations: int = 1000, grid_size: int = 250, pointwise: bool = True,
                      random_state: Any = None, date: str | None = None, location: str | None = None,
                      y: str | None = None, nonnegative: bool = False) -> SyntheticControl:
    """Synthetic control of a geo test, GeoLift's way, with conformal or placebo inference.

    Parameters
    ----------
    data : table-like or GeoPanel
        Long ``date, location, Y`` table (GeoLift's ``location, Y, date``; trimmed_match's ``date, geo,
        response``) or a panel from :func:`~marketing360.incrementality.geo.geo_panel`.
    treated : str, list of str, or dict
        The treated location(s), averaged into one treated series; or ``{cell: locations}`` for a
        multi-cell test, each cell fitted without the other cells' locations among its donors.
    start, end : int or date
        First and last test period. On a panel of dates an ``int`` is GeoLift's 1-based period number and
        anything else a date of the panel; on a panel of integer periods an ``int`` is one of its periods.
        ``end`` defaults to the last period; later periods are dropped.
    method : {"scm", "ascm"}
        Synthetic control (simplex weights) or ridge-augmented SCM (Ben-Michael, Feller & Rothstein 2021).
    ridge : float, optional
        The ridge penalty of ``"ascm"``; chosen as augsynth does (leave-one-period-out CV, largest
        within one standard error of the best) when omitted.
    fixed_effects : bool, default True
        Remove each location's pre-period mean before fitting (GeoLift's default; augsynth's ``fixedeff``).
    alpha : float, default 0.05
        1 - the interval's coverage (95% intervals, as every estimator of the package; GeoLift reports 90%:
        ``alpha=0.1``).
    inference : {"conformal", "permutation", "none"}
    alternative : {"two-sided", "greater", "less"}
        GeoLift's ``stat_test`` ``"Total"`` (``sum |x|``), ``"Positive"`` (``sum x``), ``"Negative"``.
    conformal_type : {"iid", "block"}
        Conformal permutations: ``n_permutations`` random reorderings (GeoLift's default) or every cyclic
        shift (deterministic). Pointwise p-values use every position (exact).
    n_permutations : int, default 1000
    grid_size : int, default 250
        Grid of constant effects the interval is searched on (GeoLift's), refined at its edges.
    pointwise : bool, default True
        Also test each test period (``series``' ``lower, upper, p_value``); False saves most of the time of
        conformal inference when only the totals are needed.
    random_state : int, Generator or None
        Seeds the ``iid`` permutations.
    date, location, y : str, optional
        Column names, when ``data`` is a table (found by their usual names otherwise).
    nonnegative : bool
        Refuse negative outcomes.

    Returns
    -------
    SyntheticControl

    Raises
    ------
    ParameterError
        Unknown or repeated treated locations, every location treated, a window out of the panel or
        with fewer than ``MIN_PRE_PERIODS`` pre-periods, ``"ascm"`` with fewer than two distinct donors,
        a bad option.
    SchemaError
        A bad table (see :func:`geo_panel`), locations whose names differ only in case, or donors constant
        over the pre-period.
    """
    a = check_alpha(alpha)
    _check_choice("method", method, ("scm", "ascm"))
    _check_choice("inference", inference, ("conformal", "permutation", "none"))
    _check_choice("alternative", alternative, ("two-sided", "greater", "less"))
    _check_choice("conformal_type", conformal_type, ("iid", "block"))
    check_count(n_permutations, "n_permutations", 1)
    check_count(grid_size, "grid_size", 3)
    if ridge is not None and (method != "ascm" or isinstance(ridge, bool) or not isinstance(ridge, numbers.Real)
                              or not np.isfinite(ridge) or ridge <= 0):
        raise ParameterError(f"ridge is the positive penalty of method='ascm'; found ridge={ridge!r} with "
                             f"method={method!r}")
    panel = load_panel(data, date=date, location=location, y=y, nonnegative=nonnegative)
    t0, t1 = window(panel, start, end)
    cells = cells_of(panel, treated)
    rng = check_random_state(random_state)
    rows: list[dict[str, Any]] = []
    fits: dict[str, SynthCell] = {}
    warned: list[str] = []
    for name, locs in cells.items():
        others = {loc for c, ls in cells.items() if c != name for loc in ls}
        cell, used_jackknife = _fit_cell(panel, name, locs, others, t0, t1, method=method, ridge=ridge,
                                         fixed_effects=fixed_effects, alpha=a, inference=inference,
                                         alternative=alternative, conformal_type=conformal_type,
                                         n_permutations=int(n_permutations), grid_size=int(grid_size),
                                         pointwise=bool(pointwise), rng=rng)
        if used_jackknife:
            warned.append(name)
        fits[name] = cell
        rows.extend(_rows(cell, a))
    if warned:
        warnings.warn(f"synthetic_control: no constant effect passes the {inference} test at alpha={a:g} for "
                      f"{warned} (the effect varies too much over the test); their intervals are augsynth's "
                      f"time jackknife+, as GeoLift falls back to (interval_method='jackknife+')", UserWarning,
                      stacklevel=2)
    frame = pd.DataFrame(rows)
    if len(cells) == 1:
        frame = frame.drop(columns="cell")
    return SyntheticControl(frame, alpha=a, cells=fits, method=method, inference=inference,
                            alternative=alternative, fixed_effects=fixed_effects)


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ParameterError(f"{name} must be one of {list(allowed)}; found {value!r}")


def _rows(cell: SynthCell, alpha: float) -> list[dict[str, Any]]:
    post = cell.series[cell.series["post"]]
    att = float(post["att"].mean())
    total = float(post["observed"].sum())
    synth = float(post["synthetic"].sum())
    est = {"att": att, "incremental": att * len(post) * len(cell.treated),
           "percent_lift": 100.0 * (total - synth) / abs(synth) if synth != 0 else float("nan")}
    lo, hi, how = cell.interval.at(alpha)
    bounds = cell.effect_bounds(lo, hi)
    return [{"cell": cell.name, "effect": e, "estimate": est[e], "std_error": np.nan, "lower": bounds[e][0],
             "upper": bounds[e][1], "p_value": cell.p_value, "interval_method": how, "n_treated": len(cell.treated),
             "n_post": len(post)} for e in _EFFECTS]


def _fit_cell(panel: GeoPanel, name: str, locs: list[str], excluded: set[str], t0: int, t1: int, *, method: str,
              ridge: float | None, fixed_effects: bool, alpha: float, inference: str, alternative: Alternative,
              conformal_type: ConformalType, n_permutations: int, grid_size: int, pointwise: bool,
              rng: np.random.Generator) -> tuple[SynthCell, bool]:
    ti = panel.index_of(locs)
    donors = [i for i, loc in enumerate(panel.locations) if loc not in set(locs) and loc not in excluded]
    check_series(panel, donors, t0, name, ridge=method == "ascm", fixed_effects=fixed_effects)
    Y = panel.y[: t1 + 1]
    x1 = Y[:, ti].mean(axis=1)
    yc = Y[:, donors]
    ascm = method == "ascm"
    fit = _scm.fit_scm(x1, yc, t0, fixed_effects=fixed_effects, ridge=ascm, lam=ridge)
    lam = fit.ridge_lambda
    T = Y.shape[0]
    att = fit.att
    post_att = att[t0:]
    n_post = T - t0
    lower = np.full(T, np.nan)
    upper = np.full(T, np.nan)
    pvals = np.full(T, np.nan)
    placebos = None
    p_value = float("nan")
    interval = AttInterval("none", alternative)
    stat = _scm.stat_function(alternative)
    jackknife = None
    if inference != "none":
        jk = _scm.jackknife_plus(x1, yc, t0, fixed_effects=fixed_effects, lam=lam)
        jackknife = (jk[0], jk[1], x1[t0:].copy())
    if inference == "conformal":
        post = np.zeros(T, dtype=bool)
        post[t0:] = True
        refit = _scm.Refitter(x1, yc, post, fixed_effects=fixed_effects, lam=lam)
        perms = _scm.permutation_index(T, n_post, conformal_type, n_permutations, rng)
        pvalue = _scm.ConformalTest(refit, np.arange(t0, T), perms, alternative)
        p_value = pvalue(0.0)
        sd = float(np.sqrt(np.mean(post_att ** 2)))
        inv = _scm.invert(pvalue, float(post_att.mean()), 6 * sd, grid_size, alpha, alternative)
        interval = AttInterval("conformal", alternative, inversion=inv, jackknife=jackknife)
        for j in range(t0, T) if pointwise else ():
            lower[j], upper[j], pvals[j] = _pointwise(x1, yc, t0, j, float(att[j]), sd, fixed_effects, lam, alpha,
                                                      alternative, stat)
    elif inference == "permutation":
        placebos, interval, lower, upper, pvals, p_value = _placebo_test(
            fit, yc, t0, [panel.locations[i] for i in donors], fixed_effects=fixed_effects, ridge=ascm, lam=lam,
            alpha=alpha, alternative=alternative, jackknife=jackknife)
    used_jackknife = interval.at(alpha)[2] == "jackknife+"
    series = pd.DataFrame({"observed": fit.observed, "synthetic": fit.synthetic, "att": att, "lower": lower,
                           "upper": upper, "p_value": pvals, "post": np.arange(T) >= t0},
                          index=pd.Index(panel.dates[: t1 + 1], name="date"))
    weights = pd.Series(fit.weights, index=pd.Index([panel.locations[i] for i in donors], name="location"),
                        name="weight")
    cell = SynthCell(name=name, treated=list(locs), donors=list(weights.index), weights=weights, series=series,
                     l2_imbalance=fit.l2_imbalance, scaled_l2_imbalance=fit.scaled_l2_imbalance,
                     pre_rmse=fit.pre_rmse, ridge_lambda=lam, bias=fit.bias, placebos=placebos, interval=interval,
                     p_value=p_value)
    return cell, used_jackknife


def _pointwise(x1: np.ndarray, yc: np.ndarray, t0: int, j: int, att_j: float, sd: float, fixed_effects: bool,
               lam: float | None, alpha: float, alternative: Alternative, stat: Any) -> tuple[float, float, float]:
    """augsynth's pointwise conformal interval and p-value of period ``j`` (the pre-period plus ``j``, every
    position as a permutation)."""
    rows = np.r_[np.arange(t0), j]
    post = np.zeros(t0 + 1, dtype=bool)
    post[-1] = True
    refit = _scm.Refitter(x1[rows], yc[rows], post, fixed_effects=fixed_effects, lam=lam)
    perms = np.arange(t0 + 1)[:, None]
    last = np.array([t0])

    def pvalue(h: float) -> float:
        return _scm.conformal_pvalue(refit.residuals(h), last, perms, stat)

    inv = _scm.invert(pvalue, att_j, 2 * sd, 50, alpha, alternative, refine=8)
    return inv.lower, inv.upper, pvalue(0.0)


def _placebo_test(fit: _scm.ScmFit, yc: np.ndarray, t0: int, names: list[str], *, fixed_effects: bool, ridge: bool,
                  lam: float | None, alpha: float, alternative: str,
                  jackknife: tuple[np.ndarray, np.ndarray, np.ndarray] | None
                  ) -> tuple[pd.DataFrame, AttInterval, np.ndarray, np.ndarray, np.ndarray, float]:
    """Each donor as a placebo treated location, the other donors as its donors (the treated left out)."""
    n0 = yc.shape[1]
    if n0 < 2:
        raise ParameterError("permutation inference needs at least 2 donors (each placebo needs donors of its own)")
    gaps = np.empty((n0, yc.shape[0]))
    for j in range(n0):
        rest = np.r_[np.arange(j), np.arange(j + 1, n0)]
        pf = _scm.fit_scm(yc[:, j], yc[:, rest], t0, fixed_effects=fixed_effects, ridge=ridge, lam=lam)
        gaps[j] = pf.att
    g = fit.att
    pre_t = float(np.sqrt(np.mean(g[:t0] ** 2)))
    pre_p = np.sqrt(np.mean(gaps[:, :t0] ** 2, axis=1))
    if pre_t == 0 or np.any(pre_p == 0):
        raise SchemaError("permutation inference: a pre-period fit is exact (zero RMSPE), so post/pre ratios are "
                          "undefined; use inference='conformal'", column=None)
    post_t = float(np.sqrt(np.mean(g[t0:] ** 2)))
    post_p = np.sqrt(np.mean(gaps[:, t0:] ** 2, axis=1))
    sign = {"greater": 1.0, "less": -1.0}.get(alternative, 0.0)
    if sign == 0.0:
        stat_t, stats = post_t / pre_t, post_p / pre_p
    else:
        stat_t, stats = sign * g[t0:].mean() / pre_t, sign * gaps[:, t0:].mean(axis=1) / pre_p
    p_value = float((1 + np.sum(stats >= stat_t - 1e-12 * abs(stat_t))) / (n0 + 1))
    gpost = g[t0:]
    placebo = (stats, float(gpost.mean()), float(gpost.var()), pre_t)
    interval = AttInterval("permutation", alternative, placebo=placebo, jackknife=jackknife)
    T = g.size
    lower = np.full(T, np.nan)
    upper = np.full(T, np.nan)
    pvals = np.full(T, np.nan)
    for t in range(t0, T):
        r_t = g[t] / pre_t
        r_p = gaps[:, t] / pre_p
        s_t, s_p = (abs(r_t), np.abs(r_p)) if sign == 0.0 else (sign * r_t, sign * r_p)
        pvals[t] = (1 + np.sum(s_p >= s_t - 1e-12 * abs(s_t))) / (n0 + 1)
        thr = _threshold(s_p, alpha)
        if sign == 0.0:
            lower[t], upper[t] = g[t] - thr * pre_t, g[t] + thr * pre_t
        elif sign > 0:
            lower[t], upper[t] = g[t] - thr * pre_t, np.inf
        else:
            lower[t], upper[t] = -np.inf, g[t] + thr * pre_t
    frame = pd.DataFrame({"location": names, "pre_rmspe": pre_p, "post_rmspe": post_p, "statistic": stats})
    return frame, interval, lower, upper, pvals, p_value
