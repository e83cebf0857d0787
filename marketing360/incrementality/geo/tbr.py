"""Time-based regression (TBR): the cumulative effect and the iROAS of a geo experiment.

Kerman, Wang & Vaver (2017), "Estimating ad effectiveness using geo
experiments in a time-based regression framework", as Google's
``matched_markets`` package computes it (``methodology/tbr.py`` and
``tbr_iroas.py``):

1. the treatment and the control geos are summed to two series;
2. the treatment series is regressed on the control series over the
   pre-period (OLS with an intercept);
3. the regression predicts the treatment series had there been no
   experiment; the causal effect is observed minus predicted, cumulated
   over the test period (and the cooldown, where given);
4. the cumulative effect after ``t`` periods follows a Student t with the
   regression's residual degrees of freedom, location the cumulated effect
   and variance ``s' V s + t sigma^2``, where ``s`` sums the test periods'
   design rows ``(1, control)``, ``V`` is the covariance of the two
   coefficients and ``sigma^2`` the residual variance (the parameter
   uncertainty and the cumulated noise, eq. 5 of the paper).

With a cost column the same is done for the cost, and the iROAS is the
incremental response over the incremental cost:

* where nobody spends in the pre-period and the control geos spend nothing in
  the test (a "fixed cost" design: a heavy-up from zero, a holdback), the
  incremental cost is the treatment geos' spend and the iROAS distribution is
  the response's, rescaled by it;
* otherwise ("variable cost") the cost effect has its own TBR distribution
  (over the test period only) and the iROAS is summarised from draws of the
  ratio of the two (its mean as the estimate, percentiles as the interval), as
  ``TBRiROAS.summary`` does.

:meth:`TBREffects.posterior` gives the report of ``matched_markets`` (one-sided
lower bound at level 0.9 and the probability that the effect exceeds a
threshold, by default).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> base = 100 + 10 * np.sin(np.arange(60) / 3)
>>> rows = []
>>> for g in range(6):
...     y = base * (1 + g / 10) + rng.normal(0, 1, 60) + (5.0 * (np.arange(60) >= 45) if g < 3 else 0)
...     rows += [{"date": d, "geo": f"g{g}", "Y": v} for d, v in zip(range(60), y)]
>>> r = tbr(pd.DataFrame(rows), treatment=["g0", "g1", "g2"], pre=(0, 44), test=(45, 59))
>>> row = r.table().iloc[0]
>>> row["metric"], round(float(row["estimate"])), bool(row["lower"] < 225 < row["upper"])
('incremental_response', 238, True)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ...errors import ParameterError, SchemaError
from ...estimators import check_random_state
from ...types import TableLike, TBRPanel, TBRScenario
from ..effects import Effects, check_alpha, check_count, warn_weak_fit
from .panel import LOCATION_NAMES, GeoPanel, geo_panel, pick_column, resolve_locations

__all__ = ["TBREffects", "tbr", "TBRScenario", "TBRPanel"]


# matched_markets declares the cost "fixed" when the pre-period and control test spend sum below 1e-10
_ZERO_COST = 1e-10


# ---------------------------------------------------------------------------------------------- shared input checks
# (trimmed_match reads its data through these too)

def _as_panel(data: TableLike | GeoPanel, *, date: str | None, location: str | None, y: str | None,
              cost: str | None, what: str) -> GeoPanel:
    """The panel of ``data``: a :class:`GeoPanel` as it is, a long table through :func:`geo_panel`."""
    if isinstance(data, GeoPanel):
        if any(v is not None for v in (date, location, y)):
            raise ParameterError(f"{what}: date=, location= and y= name columns of a long table; the data is "
                                 "already a GeoPanel")
        return data
    return geo_panel(data, date=date, location=location, y=y, cost=cost)


def _geo_values(data: TableLike, *, location: str | None, columns: Sequence[str], what: str) -> pd.DataFrame:
    """One value per location of each per-geo column (``pair``, ``assignment``) of a long table.

    Returns a frame indexed by the location (as text) with one column per name in ``columns``.
    """
    from ...engine import fetch
    from ...inputs import open_table

    t = open_table(data, what=what)
    cols = list(t.columns)
    lcol = pick_column(cols, location, LOCATION_NAMES, "location", what=what)
    for c in columns:
        if c not in cols:
            raise SchemaError(f"{what}: column {c!r} is not in the table; found {cols}", column=c)
    sel = t.select(t[lcol].cast("string").name("_loc"), *[t[c] for c in columns]).distinct()
    df = fetch(sel, "pandas")
    for c in columns:
        if df[c].isna().any():
            loc = df.loc[df[c].isna(), "_loc"].iloc[0]
            raise SchemaError(f"{what}: column {c!r} has missing values (location {loc!r})", column=c)
    many = df["_loc"][df["_loc"].duplicated()].unique().tolist()
    if many:
        c = next(c for c in columns if df.groupby("_loc")[c].nunique().max() > 1)
        shown = df[df["_loc"] == many[0]][c].tolist()
        raise SchemaError(f"{what}: column {c!r} must hold one value per location; location {many[0]!r} has "
                          f"{shown} ({len(many)} location(s) have several)", column=c)
    return df.set_index("_loc")[list(columns)]


def _same(value: Any, label: Any) -> bool:
    """Whether a column value is the arm label (``1`` matches ``1.0`` and ``"1"``)."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        try:
            return bool(float(value) == float(label))
        except (TypeError, ValueError):
            return False
    return str(value) == str(label)


def _arms(assignment: pd.Series, labels: tuple[Any, Any], *, column: str, what: str) -> tuple[list[str], list[str]]:
    """Treatment and control locations from a per-location assignment (``labels`` = (treatment, control))."""
    if not isinstance(labels, (tuple, list)) or len(labels) != 2 or _same(labels[0], labels[1]):
        raise ParameterError(f"{what}: labels must be two different values (treatment, control); found {labels!r}")
    is_t = assignment.map(lambda v: _same(v, labels[0])).astype(bool)
    is_c = assignment.map(lambda v: _same(v, labels[1])).astype(bool)
    other = sorted({str(v) for v in assignment[~(is_t | is_c)]})
    if other:
        raise SchemaError(f"{what}: column {column!r} holds values {other} besides treatment={labels[0]!r} and "
                          f"control={labels[1]!r}; drop those locations first or set labels=(treatment, control)",
                          column=column)
    treated, control = sorted(assignment.index[is_t]), sorted(assignment.index[is_c])
    for name, arm in (("treatment", treated), ("control", control)):
        if not arm:
            raise SchemaError(f"{what}: no location is assigned to {name} ({column!r} == "
                              f"{labels[0 if name == 'treatment' else 1]!r}); found values "
                              f"{sorted({str(v) for v in assignment})}", column=column)
    return treated, control


def _when(panel: GeoPanel, value: Any, what: str) -> Any:
    if isinstance(panel.dates, pd.DatetimeIndex):
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return panel.dates[panel.position(int(value), what=what)]  # GeoLift's period numbers, from 1
        if isinstance(value, (float, np.floating)):
            raise ParameterError(f"{what} must be given as dates or period numbers from 1 (the panel's periods are "
                                 f"dates, {panel.dates[0].date()} .. {panel.dates[-1].date()}); found {value!r}")
        try:
            ts = pd.Timestamp(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{what} must be given as dates; found {value!r}") from None
        if ts is pd.NaT:
            raise ParameterError(f"{what} must be given as dates; found {value!r}")
        # the panel holds naive UTC times (geo_panel converts zoned dates the same way)
        return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    raise ParameterError(f"{what} must be given as integer periods (the panel's dates are integers); found {value!r}")


def _window(panel: GeoPanel, window: Any, what: str) -> np.ndarray:
    """Boolean mask of the panel's periods in the inclusive window ``(start, end)``."""
    if not isinstance(window, (tuple, list)) or len(window) != 2:
        raise ParameterError(f"{what} must be a (start, end) pair of dates (both included); found {window!r}")
    start, end = (_when(panel, w, what) for w in window)
    if start > end:
        raise ParameterError(f"{what} starts after it ends: {window!r}")
    first, last = panel.dates[0], panel.dates[-1]
    if start < first or end > last:
        raise ParameterError(f"{what} window {tuple(window)!r} is out of the panel's range {first} .. {last}")
    dates = panel.dates
    mask = np.asarray((dates >= start) & (dates <= end), dtype=bool)
    if not mask.any():
        raise ParameterError(f"{what} window {tuple(window)!r} holds no period of the panel")
    return mask


def _after(panel: GeoPanel, start_mask: np.ndarray, end: Any, what: str) -> np.ndarray:
    """The periods after the last of ``start_mask`` up to ``end`` (a cooldown after the test)."""
    last_test = panel.dates[np.flatnonzero(start_mask)[-1]]
    stop = _when(panel, end, what)
    if stop <= last_test:
        raise ParameterError(f"{what} {end!r} must come after the end of the test period ({last_test})")
    if stop > panel.dates[-1]:
        raise ParameterError(f"{what} {end!r} is out of the panel's range {panel.dates[0]} .. {panel.dates[-1]}")
    return np.asarray((panel.dates > last_test) & (panel.dates <= stop), dtype=bool)


# ---------------------------------------------------------------------------------------------- the regression

@dataclass(frozen=True)
class _Fit:
    """OLS of the treatment series on (1, control) over the pre-period, as statsmodels' pinv OLS."""

    coef: np.ndarray
    cov: np.ndarray
    sigma2: float
    dof: int

    def design(self, control: np.ndarray) -> np.ndarray:
        return np.column_stack([np.ones(len(control)), control])

    def predict(self, control: np.ndarray) -> np.ndarray:
        return self.design(control) @ self.coef

    def cumulative(self, treatment: np.ndarray, control: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Location and scale of the cumulative effect after each of the given periods (in order)."""
        x = self.design(control)
        s = np.cumsum(x, axis=0)
        t = np.arange(1, len(control) + 1)
        var = np.einsum("ti,ij,tj->t", s, self.cov, s) + t * self.sigma2
        return np.cumsum(treatment - x @ self.coef), np.sqrt(np.maximum(var, 0.0))

    def pointwise_scale(self, control: np.ndarray) -> np.ndarray:
        """Predictive scale of one period's treatment value (parameter uncertainty plus noise)."""
        x = self.design(control)
        return np.sqrt(np.maximum(np.einsum("ti,ij,tj->t", x, self.cov, x) + self.sigma2, 0.0))


def _ols(treatment: np.ndarray, control: np.ndarray) -> _Fit:
    x = np.column_stack([np.ones(len(control)), control])
    pinv = np.linalg.pinv(x)
    coef = pinv @ treatment
    resid = treatment - x @ coef
    dof = len(treatment) - int(np.linalg.matrix_rank(x))
    sigma2 = float(resid @ resid / dof)
    return _Fit(coef=coef, cov=sigma2 * (pinv @ pinv.T), sigma2=sigma2, dof=dof)


# ---------------------------------------------------------------------------------------------- t summaries

#: a metric summarised by a Student t: (location, scale, degrees of freedom); scale 0 is a known value
_TDist = tuple[float, float, float]


def _t_ppf(d: _TDist, q: float) -> float:
    loc, scale, dof = d
    return float(loc) if scale == 0 else float(stats.t.ppf(q, dof, loc=loc, scale=scale))


def _t_sf(d: _TDist, x: float) -> float:
    """P(metric > x)."""
    loc, scale, dof = d
    return float(loc > x) if scale == 0 else float(stats.t.sf(x, dof, loc=loc, scale=scale))


def _t_draws(d: _TDist, n: int, rng: np.random.Generator) -> np.ndarray:
    loc, scale, dof = d
    return np.full(n, float(loc)) if scale == 0 else stats.t.rvs(dof, loc=loc, scale=scale, size=n, random_state=rng)


# ---------------------------------------------------------------------------------------------- the result

class TBREffects(Effects):
    """Time-based regression: the cumulative incremental response and, with a cost, the iROAS.

    Rows (``metric``): ``incremental_response`` (the cumulated effect over the test and cooldown
    periods), and with a cost ``iroas`` and, where the cost is not fixed, ``incremental_cost``.
    Intervals are Student t with :attr:`dof` degrees of freedom (the incremental cost: those of the
    cost regression), except the iROAS of a variable-cost design (percentiles of :attr:`draws`).
    ``probability`` is the probability that the effect is above 0; ``relative_lift`` the incremental
    response over the counterfactual response (its bounds at :attr:`alpha`). A cost known exactly
    (no spend before the test: the counterfactual spend is 0) has a standard error of 0 and no p-value.

    Attributes
    ----------
    series : pandas.DataFrame
        One row per pre, test and cooldown period: ``date, period, treatment, control,
        counterfactual(_lower, _upper), effect(_lower, _upper), cumulative(_lower, _upper)``
        (intervals at :attr:`alpha`, pointwise; the cumulative columns are empty in the pre-period).
    coef : numpy.ndarray
        Intercept and slope of the pre-period regression of the treatment series on the control series.
    sigma : float
        Residual standard deviation of that regression.
    scenario : {"fixed", "variable"} or None
        How the incremental cost is known (None without a cost).
    incremental_cost : float or None
    observed : float
        Treatment response summed over the test (and cooldown) periods.
    draws : numpy.ndarray or None
        Simulated iROAS values (variable-cost designs).
    treatment, control : list of str
    """

    title: ClassVar[str] = "time-based regression (TBR)"
    keys = ("metric",)
    interval_kind: ClassVar[str] = ""

    def __init__(self, frame: pd.DataFrame, *, alpha: float, dof: int, notes: list[str],
                 dists: dict[str, _TDist | np.ndarray], series: pd.DataFrame, coef: np.ndarray,
                 sigma: float, scenario: TBRScenario | None, incremental_cost: float | None, observed: float,
                 treatment: list[str], control: list[str]) -> None:
        self._dists = dists
        super().__init__(frame, alpha=alpha, dof=float(dof), notes=notes)
        self.series = series
        self.coef = coef
        self.sigma = sigma
        self.scenario = scenario
        self.incremental_cost = incremental_cost
        self.observed = observed
        d = dists.get("iroas")
        self.draws = d if isinstance(d, np.ndarray) else None
        self.treatment = treatment
        self.control = control

    def _bounds(self, metric: str, lo_q: float, hi_q: float) -> tuple[float, float]:
        d = self._dists[metric]
        if isinstance(d, np.ndarray):
            lo, hi = np.percentile(d, [100 * lo_q, 100 * hi_q])
            return float(lo), float(hi)
        return _t_ppf(d, lo_q), _t_ppf(d, hi_q)

    def _interval(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        rows = [self._bounds(m, alpha / 2, 1 - alpha / 2) for m in self._computed()["metric"]]
        return np.array([r[0] for r in rows]), np.array([r[1] for r in rows])

    def posterior(self, level: float = 0.9, *, tails: Literal[1, 2] = 1, threshold: float = 0.0) -> pd.DataFrame:
        """The report of ``matched_markets`` (``TBRiROAS.summary``): per metric ``estimate, precision, lower,
        upper, probability, level, threshold``.

        ``tails=1`` gives the one-sided lower bound (``upper`` is infinite); ``precision`` is the distance
        from the lower bound to the median (to the estimate, for simulated iROAS); ``probability`` that the
        metric exceeds ``threshold``.
        """
        check_alpha(1 - level)
        if tails not in (1, 2):
            raise ParameterError(f"tails must be 1 or 2; found {tails!r}")
        a = (1 - level) / tails
        out = []
        for metric, est in zip(self._computed()["metric"], self._computed()["estimate"]):
            lo, hi = self._bounds(metric, a, 1 - a)
            d = self._dists[metric]
            if isinstance(d, np.ndarray):
                prob, precision = float(np.mean(d > threshold)), float(est - lo)
            else:
                prob, precision = _t_sf(d, threshold), float(abs(lo - _t_ppf(d, 0.5)))
            out.append({"metric": metric, "estimate": float(est), "precision": precision, "lower": lo,
                        "upper": np.inf if tails == 1 else hi, "probability": prob, "level": level,
                        "threshold": threshold})
        return pd.DataFrame(out)

    def plot(self, *, ax: Any = None, panel: TBRPanel = "all", **kwargs: Any) -> Any:
        """The TBR panels: observed vs counterfactual, pointwise effect, cumulative effect (with bands).

        ``panel="all"`` draws the three stacked (``ax``: None or three axes); any other panel draws
        that one on ``ax``.
        """
        from ...viz.geo_paired import plot_tbr

        return plot_tbr(self.series, panel=panel, level=1 - self.alpha, ax=ax, **kwargs)


# ---------------------------------------------------------------------------------------------- the estimator

def tbr(data: TableLike | GeoPanel, *, treatment: Sequence[str] | str | None = None,
        control: Sequence[str] | str | None = None, assignment: str | None = None,
        labels: tuple[Any, Any] = (1, 2), pre: tuple[Any, Any], test: tuple[Any, Any],
        cooldown_end: Any = None, cost: str | bool | None = None, date: str | None = None,
        location: str | None = None, y: str | None = None, alpha: float = 0.05, n_draws: int = 10_000,
        random_state: Any = None) -> TBREffects:
    """Time-based regression of a geo experiment: the cumulative incremental response and the iROAS.

    Parameters
    ----------
    data : table-like or GeoPanel
        The long ``date, location, Y`` layout (GeoLift's ``location, Y, date``; matched_markets'
        and trimmed_match's ``date, geo, response, cost, assignment``), or a :class:`GeoPanel`.
    treatment, control : str or list of str, optional
        The treatment and control locations, matched case-insensitively (control: all other
        locations, when omitted).
    assignment : str, optional
        Instead of ``treatment``: a per-location column of the long table with the arm of each
        location. Other values than the two ``labels`` are refused: drop those rows first.
    labels : (treatment, control), default (1, 2)
        The ``assignment`` values of the two arms (1 treatment, 2 control, as in the post-analysis
        example data of matched_markets and trimmed_match; ``1`` also matches ``1.0`` and ``"1"``).
    pre, test : (start, end)
        Pre-period (the regression) and test period, both ends included: dates, or integers (on a panel of
        dates, GeoLift's period numbers counted from 1, as in
        :func:`~marketing360.incrementality.geo.synthetic_control`).
    cooldown_end : date, optional
        Last period of a cooldown after the test: the response effect is cumulated over the test and
        the cooldown (the cost effect over the test only, as matched_markets does).
    cost : str or bool, optional
        The cost (spend) column of a long table (``True`` with a GeoPanel that holds a cost):
        adds the iROAS.
    date, location, y : str, optional
        Column names of the long table (found by their usual names when omitted).
    alpha : float, default 0.05
        Level of the two-sided ``lower`` / ``upper`` (95% intervals, as every estimator of the package;
        matched_markets reports 90%: ``alpha=0.1``).
    n_draws : int, default 10000
        Draws of the iROAS ratio in a variable-cost design.
    random_state : int, Generator or None
        Seed of those draws.

    Returns
    -------
    TBREffects

    Raises
    ------
    ParameterError
        No treatment given, unknown or overlapping locations, windows out of the panel's range or
        overlapping, fewer than 3 pre-periods.
    SchemaError
        A missing column, assignment values other than the two arms, a constant control or
        treatment series in the pre-period, a cost of zero over the test.
    """
    what = "tbr"
    a = check_alpha(alpha)
    check_count(n_draws, "n_draws", 100)
    rng = check_random_state(random_state)
    if isinstance(cost, bool) and not isinstance(data, GeoPanel):
        raise ParameterError(f"{what}: cost= names the cost column of a long table; found {cost!r}")
    cost_col = cost if isinstance(cost, str) else None
    panel = _as_panel(data, date=date, location=location, y=y, cost=cost_col, what=what)
    with_cost = bool(cost) if isinstance(data, GeoPanel) else cost is not None
    if with_cost and panel.cost is None:
        raise ParameterError(f"{what}: cost=True needs a GeoPanel read with a cost column (geo_panel(..., cost=))")

    # the arms
    if assignment is not None:
        if treatment is not None or control is not None:
            raise ParameterError(f"{what}: give either assignment= or treatment= / control=, not both")
        if isinstance(data, GeoPanel):
            raise ParameterError(f"{what}: assignment= names a column of a long table; with a GeoPanel give "
                                 "treatment= (and control=)")
        vals = _geo_values(data, location=location, columns=[assignment], what=what)[assignment]
        treated, controls = _arms(vals, labels, column=assignment, what=what)
    else:
        if treatment is None:
            raise ParameterError(f"{what}: give the treatment locations (treatment=[...]) or an assignment column "
                                 "(assignment='assignment')")
        treated = resolve_locations(panel, _names(treatment), what="treatment")
        if control is None:
            controls = [loc for loc in panel.locations if loc not in treated]
        else:
            controls = resolve_locations(panel, _names(control), what="control")
        both = sorted(set(treated) & set(controls))
        if both:
            raise ParameterError(f"{what}: locations {both} are in both the treatment and the control group")
        if not controls:
            raise ParameterError(f"{what}: no control location is left (every location of the panel is treated)")
    ti, ci = panel.index_of(treated, what="treatment"), panel.index_of(controls, what="control")

    # the periods
    pre_m = _window(panel, pre, "pre")
    test_m = _window(panel, test, "test")
    if np.flatnonzero(pre_m)[-1] >= np.flatnonzero(test_m)[0]:
        raise ParameterError(f"{what}: the pre-period {tuple(pre)!r} must end before the test {tuple(test)!r} "
                             "starts")
    cool_m = np.zeros_like(test_m) if cooldown_end is None else _after(panel, test_m, cooldown_end, "cooldown_end")
    eff_m = test_m | cool_m
    n_pre = int(pre_m.sum())
    if n_pre < 3:
        raise ParameterError(f"{what}: TBR fits an intercept and a slope on the pre-period: it needs at least 3 "
                             f"pre-periods; found {n_pre}")

    y_t, y_c = panel.y[:, ti].sum(axis=1), panel.y[:, ci].sum(axis=1)
    for arm, series in (("control", y_c), ("treatment", y_t)):
        if np.ptp(series[pre_m]) == 0:
            raise SchemaError(f"{what}: the {arm} series of {panel.outcome!r} is constant over the pre-period "
                              f"({series[pre_m][0]:g} every period): the regression has "
                              + ("no slope to learn" if arm == "control" else "no noise to measure the effect "
                                                                              "against"), column=panel.outcome)
    fit = _ols(y_t[pre_m], y_c[pre_m])
    r2 = float(np.corrcoef(y_t[pre_m], y_c[pre_m])[0, 1] ** 2)
    warn_weak_fit(what, r2)
    loc, scale = fit.cumulative(y_t[eff_m], y_c[eff_m])
    est, se = float(loc[-1]), float(scale[-1])
    observed = float(y_t[eff_m].sum())
    resp_d: _TDist = (est, se, float(fit.dof))
    dists: dict[str, _TDist | np.ndarray] = {"incremental_response": resp_d}
    lift = _lift(np.array([est, _t_ppf(resp_d, a / 2), _t_ppf(resp_d, 1 - a / 2)]), observed)
    rows = [{"metric": "incremental_response", "estimate": est, "std_error": se, "probability": _t_sf(resp_d, 0),
             "relative_lift": lift[0], "relative_lift_lower": lift[1], "relative_lift_upper": lift[2]}]

    scenario: TBRScenario | None = None
    incr_cost: float | None = None
    if with_cost:
        assert panel.cost is not None
        c_t, c_c = panel.cost[:, ti].sum(axis=1), panel.cost[:, ci].sum(axis=1)
        baseline = float(c_t[pre_m].sum() + c_c[pre_m].sum() + c_c[test_m].sum())
        if abs(baseline) < _ZERO_COST:
            scenario = "fixed"  # nobody spent before, the control spends nothing: the spend is the treatment's
            incr_cost = float(c_t[eff_m].sum())
            if abs(incr_cost) < _ZERO_COST:
                raise SchemaError(f"{what}: the treatment spends nothing in the test: the iROAS is undefined",
                                  column=cost_col)
            iroas_d: _TDist = (est / incr_cost, se / abs(incr_cost), float(fit.dof))
            dists["iroas"] = iroas_d
            rows.append({"metric": "iroas", "estimate": iroas_d[0], "std_error": iroas_d[1],
                         "probability": _t_sf(iroas_d, 0)})
        else:
            scenario = "variable"
            cfit = _ols(c_t[pre_m], c_c[pre_m])
            cloc, cscale = cfit.cumulative(c_t[test_m], c_c[test_m])
            incr_cost, cse = float(cloc[-1]), float(cscale[-1])
            if abs(incr_cost) < _ZERO_COST:
                raise SchemaError(f"{what}: the incremental cost over the test is 0: the iROAS is undefined",
                                  column=cost_col)
            # the cost fit has its own degrees of freedom (one more where the control spend is flat before)
            cost_d: _TDist = (incr_cost, cse, float(cfit.dof))
            dists["incremental_cost"] = cost_d
            rows.append({"metric": "incremental_cost", "estimate": incr_cost, "std_error": cse,
                         "probability": _t_sf(cost_d, 0)})
            draws = _t_draws(resp_d, n_draws, rng) / _t_draws(cost_d, n_draws, rng)
            dists["iroas"] = draws
            lo, hi = np.percentile(draws, [100 * a / 2, 100 * (1 - a / 2)])
            p_pos = float(np.mean(draws > 0))
            rows.append({"metric": "iroas", "estimate": float(np.mean(draws)), "std_error": float(np.std(draws)),
                         "lower": float(lo), "upper": float(hi), "p_value": min(1.0, 2 * min(p_pos, 1 - p_pos)),
                         "probability": p_pos})
    frame = pd.DataFrame(rows)
    frame = _fill_t(frame, dists, a)

    series = _series(panel, y_t, y_c, fit, pre_m, test_m, cool_m, a)
    notes = [f"TBR of {len(treated)} treatment on {len(controls)} control locations; {n_pre} pre-periods, "
             f"{int(test_m.sum())} test" + (f" and {int(cool_m.sum())} cooldown" if cool_m.any() else "")
             + " periods",
             f"pre-period fit: treatment = {fit.coef[0]:,.4g} + {fit.coef[1]:.4g} x control "
             f"(residual sd {np.sqrt(fit.sigma2):,.4g}, R² {r2:.3g})"]
    if scenario == "fixed":
        notes.append(f"fixed cost: the incremental cost is the treatment's spend, {incr_cost:,.4g}")
    elif scenario == "variable":
        notes.append(f"variable cost: iROAS from {n_draws:,} draws of the ratio of the two TBR effects "
                     "(mean and percentiles)")
    return TBREffects(frame, alpha=a, dof=fit.dof, notes=notes, dists=dists, series=series, coef=fit.coef,
                      sigma=float(np.sqrt(fit.sigma2)), scenario=scenario, incremental_cost=incr_cost,
                      observed=observed, treatment=treated, control=controls)


def _lift(delta: np.ndarray, observed: float) -> np.ndarray:
    """Incremental over counterfactual response (``delta / (observed - delta)``), NaN where undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        base = observed - delta
        return np.where(base > 0, delta / base, np.nan)


def _fill_t(frame: pd.DataFrame, dists: dict[str, _TDist | np.ndarray], alpha: float) -> pd.DataFrame:
    """Student t bounds and two-sided p-values (each metric with its own degrees of freedom) for the rows
    summarised by a t distribution; a known value (scale 0) has no p-value."""
    f = frame.copy()
    for c in ("lower", "upper", "p_value"):
        if c not in f.columns:
            f[c] = np.nan
    for i, m in enumerate(f["metric"]):
        d = dists[m]
        if isinstance(d, np.ndarray):
            continue
        loc, scale, dof = d
        f.loc[i, "lower"], f.loc[i, "upper"] = _t_ppf(d, alpha / 2), _t_ppf(d, 1 - alpha / 2)
        f.loc[i, "p_value"] = 2 * stats.t.sf(abs(loc / scale), dof) if scale > 0 else np.nan
    return f


def _names(locations: Any) -> list[Any]:
    """Location names as a list (one name, a string or a number, or an iterable of names)."""
    if isinstance(locations, (str, bytes)) or not isinstance(locations, Iterable):
        return [locations]
    return list(locations)


def _series(panel: GeoPanel, y_t: np.ndarray, y_c: np.ndarray, fit: _Fit, pre_m: np.ndarray, test_m: np.ndarray,
            cool_m: np.ndarray, alpha: float) -> pd.DataFrame:
    """The per-period frame the TBR plot draws."""
    keep = pre_m | test_m | cool_m
    q = stats.t.ppf(1 - alpha / 2, fit.dof)
    cf = fit.predict(y_c[keep])
    sc = fit.pointwise_scale(y_c[keep])
    period = np.where(pre_m, "pre", np.where(test_m, "test", "cooldown"))[keep]
    effect = y_t[keep] - cf
    cum = np.full(int(keep.sum()), np.nan)
    cum_sc = np.full_like(cum, np.nan)
    eff_m = test_m | cool_m
    loc, scale = fit.cumulative(y_t[eff_m], y_c[eff_m])
    cum[period != "pre"], cum_sc[period != "pre"] = loc, scale
    return pd.DataFrame({
        "date": panel.dates[keep], "period": period, "treatment": y_t[keep], "control": y_c[keep],
        "counterfactual": cf, "counterfactual_lower": cf - q * sc, "counterfactual_upper": cf + q * sc,
        "effect": effect, "effect_lower": effect - q * sc, "effect_upper": effect + q * sc,
        "cumulative": cum, "cumulative_lower": cum - q * cum_sc, "cumulative_upper": cum + q * cum_sc,
    })
