"""Difference-in-differences on a panel: two-way fixed effects and the event study, with clustered errors.

A *panel* is a long table with one row per unit (a store, a geo, a user) and
period: the unit, the period, the outcome, and the treatment, given either as

* ``treated=`` — a 0/1 column: the unit is treated in that period; or
* ``cohort=`` — the period in which the unit is first treated (Callaway &
  Sant'Anna's ``first.treat`` / ``gname``), the same on every row of a unit;
  ``NaN``, ``0`` or ``inf`` (``NaT`` for dates) for units never treated
  (``0`` is refused when it is also a period). A cohort after the panel's
  last period counts as never treated (as in R's ``did``). Its row is
  treated from the cohort's period on.

Periods are numbers, dates or an ordered categorical (in its categories'
order); strings sort as text.

:func:`did` fits the two-way fixed effects (TWFE) regression
``y_it = a_i + l_t + b * D_it (+ covariates) + e_it`` by OLS (statsmodels) on
the unit- and period-demeaned data, which gives the coefficient and residuals
of the regression with one dummy per unit and per period (Frisch-Waugh-Lovell)
in unbalanced panels too, and clusters standard errors by unit (or by
``cluster=``), with statsmodels' small-sample correction counting the fixed
effects and a Student t with ``G - 1`` degrees of freedom, ``G`` the clusters.
Cluster-robust t intervals are too narrow when few clusters are treated
(MacKinnon & Webb, 2017: three treated geos of 14 is such a case), and a
warning says so. Where the treated units were drawn at random, as in a geo
experiment, ``inference="permutation"`` gives exact intervals instead: the
treatment paths are reassigned over the units (every distinct assignment when
there are at most ``n_permutations``, else that many random ones), and the
interval holds every constant effect that Fisher's randomisation test does
not reject (see :mod:`~marketing360.incrementality._randomization`).

:func:`event_study` replaces ``D_it`` by leads and lags of the adoption (one
dummy per event time ``t - g`` in ``window``, the end points binned, the
``reference`` event time left out) and tests the pre-trends: the Wald F test
that all leads are zero.

Both are right when the effect is the same for every cohort and every period
since adoption. With staggered adoption and effects that change with time
since adoption, TWFE compares late adopters with early adopters that are
already treated and can be biased, even of the wrong sign: use
:func:`~marketing360.incrementality.staggered.staggered_did` (Callaway &
Sant'Anna, 2021) there.

Examples
--------
>>> import pandas as pd
>>> panel = pd.DataFrame([(g, w) for g in range(10) for w in (0, 1)], columns=["geo", "week"])
>>> panel["tv"] = (panel.geo >= 5) & (panel.week == 1)
>>> panel["sales"] = 10 + panel.geo + 2 * panel.week + 3 * panel.tv + 0.1 * (panel.geo % 3) * panel.week
>>> r = did(panel, unit="geo", time="week", outcome="sales", treated="tv")
>>> round(r.att, 3), r.n_clusters, r.dof  # 3 + 0.1 * (mean of geo % 3: 1.0 treated, 0.8 control)
(3.02, 10, 9)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ParameterError
from ..estimators import check_random_state
from ..types import DiDInference, TableLike
from . import _randomization as ri
from ._panel import Panel, load_panel
from .effects import Effects, check_alpha, check_count, normal_interval

__all__ = ["did", "event_study", "DiDResult", "EventStudy", "WaldTest"]

#: fewer clusters than this and cluster-robust errors are unreliable: a warning says so
FEW_CLUSTERS = 10


# ---------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class WaldTest:
    """A joint Wald test that several coefficients are all zero (the pre-trend test of an event study).

    Attributes
    ----------
    statistic : float
        The F statistic (``kind="F"``) or the chi-square statistic (``kind="chi2"``).
    df : int
        The number of restrictions (leads tested).
    df_denom : float or None
        The denominator degrees of freedom of an F test (clusters - 1); None for chi-square.
    p_value : float
    kind : str
        ``"F"`` or ``"chi2"``.
    """

    statistic: float
    df: int
    df_denom: float | None
    p_value: float
    kind: str

    def __str__(self) -> str:
        dfs = f"{self.df}, {self.df_denom:g}" if self.df_denom is not None else f"{self.df}"
        return f"{self.kind}({dfs}) = {self.statistic:.4g}, p = {self.p_value:.4g}"


def wald_test(est: np.ndarray, cov: np.ndarray, *, df_denom: float | None) -> WaldTest | None:
    """The Wald test of ``est == 0`` with covariance ``cov``: F with ``df_denom`` or chi-square; None if singular."""
    q = len(est)
    if q == 0:
        return None
    if np.linalg.matrix_rank(cov) < q:
        return None
    w = float(est @ np.linalg.solve(cov, est))
    if df_denom is None:
        return WaldTest(w, q, None, float(stats.chi2.sf(w, q)), "chi2")
    f = w / q
    return WaldTest(f, q, float(df_denom), float(stats.f.sf(f, q, df_denom)), "F")


def band_interval(frame: pd.DataFrame, sup_t: np.ndarray | None, alpha: float, dof: float | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Bounds at ``alpha``: simultaneous from bootstrap sup-t draws when given, else normal / t pointwise."""
    if sup_t is None:
        lo, hi, _ = normal_interval(frame["estimate"], frame["std_error"], alpha, dof)
        return lo, hi
    crit = float(np.quantile(sup_t, 1 - alpha))
    est, se = frame["estimate"].to_numpy(float), frame["std_error"].to_numpy(float)
    return est - crit * se, est + crit * se


class DiDResult(Effects):
    """The two-way fixed effects estimate of the ATT: one row (``effect="ATT"``) with cluster-robust errors.

    Attributes
    ----------
    att : float
        The estimate.
    permutations : tuple or None
        With ``inference="permutation"``: the estimates under every
        reassignment of the outcome (``a``) and of the observed treatment
        (``b``), and whether the reassignments are all of them (exact).
    n_units, n_periods, n_obs, n_clusters, n_treated_units : int
    dof : float
        ``n_clusters - 1``: the t distribution's degrees of freedom (as statsmodels).
    coefficients : pandas.DataFrame
        ``term, estimate, std_error`` of every regressor beside the fixed
        effects (the treatment and the covariates).
    trends : pandas.DataFrame
        ``time, group, outcome``: the mean outcome per period of the units
        ever treated and of those never treated (what :meth:`plot` draws).
    """

    title: ClassVar[str] = "difference-in-differences (two-way fixed effects)"
    keys = ("effect",)

    def __init__(self, frame: pd.DataFrame, *, alpha: float, dof: float, notes: list[str], counts: dict[str, int],
                 coefficients: pd.DataFrame, trends: pd.DataFrame,
                 permutations: tuple[np.ndarray, np.ndarray, bool] | None = None) -> None:
        self.permutations = permutations
        super().__init__(frame, alpha=alpha, dof=dof, notes=notes)
        self.n_units, self.n_periods = counts["n_units"], counts["n_periods"]
        self.n_obs, self.n_clusters = counts["n_obs"], counts["n_clusters"]
        self.n_treated_units = counts["n_treated_units"]
        self.coefficients = coefficients
        self.trends = trends

    @property
    def att(self) -> float:
        """The TWFE estimate of the average effect on the treated."""
        return float(self._computed()["estimate"].iloc[0])

    def _interval(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        if self.permutations is None:
            return super()._interval(alpha)
        a, b, _ = self.permutations
        lo, hi = ri.invert(a, b, self.att, alpha)
        return np.array([lo]), np.array([hi])

    def _notes(self) -> list[str]:
        notes = super()._notes()
        if self.permutations is not None:
            a, _, exact = self.permutations
            how = (f"all {len(a):,} distinct assignments" if exact
                   else f"the observed and {len(a) - 1:,} random reassignments")
            notes[-1] = (f"{100 * (1 - self.alpha):g}% interval and p-value by randomisation inference: the units' "
                         f"treatment paths reassigned ({how}); the test inverted for a constant effect")
        return notes

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """Mean outcome per period of the treated and the control units (:func:`~marketing360.viz.did.plot_trends`)."""
        from ..viz.did import plot_trends

        return plot_trends(self.trends, ax=ax, **kwargs)


class EventStudy(Effects):
    """Effects by event time (periods since adoption), with the pre-trend test; ``plot()`` draws the usual figure.

    Attributes
    ----------
    reference : int or None
        The event time left out (normalised to 0), drawn at 0 by :meth:`plot`.
    pretrend : WaldTest or None
        The joint test that every lead (event time < 0) is 0: F with
        ``(leads, clusters - 1)`` degrees of freedom for the TWFE event study,
        chi-square for the Callaway & Sant'Anna dynamic aggregation; None when
        there is no lead to test.
    sup_t : numpy.ndarray or None
        Bootstrap draws of the largest absolute t statistic over the event times,
        when the intervals are simultaneous bands (see ``staggered_did``).
    """

    title: ClassVar[str] = "event study"
    keys = ("event_time",)

    def __init__(self, frame: pd.DataFrame, *, alpha: float, dof: float | None = None, notes: list[str] | None = None,
                 reference: int | None = None, pretrend: WaldTest | None = None,
                 sup_t: np.ndarray | None = None) -> None:
        self.sup_t = sup_t
        f = frame.copy()
        if sup_t is not None:
            f["lower"], f["upper"] = band_interval(f, sup_t, check_alpha(alpha), dof)
        super().__init__(f, alpha=alpha, dof=dof, notes=notes)
        self.reference = reference
        self.pretrend = pretrend

    def _interval(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        return band_interval(self._computed(), self.sup_t, alpha, self.dof)

    def _notes(self) -> list[str]:
        notes = super()._notes()
        if self.sup_t is not None:
            notes[-1] = f"{100 * (1 - self.alpha):g}% simultaneous bands (multiplier bootstrap, sup-t)"
        if self.pretrend is not None:
            notes.append(f"pre-trend test (all leads = 0): {self.pretrend}")
        return notes

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """Coefficients with interval bars by event time, a zero line and a dashed line at the adoption."""
        from ..viz.did import plot_event_study

        return plot_event_study(self.table(), reference=self.reference, ax=ax, **kwargs)


# ---------------------------------------------------------------------------------------------- the fit
def absorb(cols: np.ndarray, panel: Panel, *, tol: float = 1e-13, max_iter: int = 10_000) -> np.ndarray:
    """Columns residualised on unit and period dummies: exact in one pass when balanced, else alternating projections.

    Raises
    ------
    ParameterError
        When the alternating projections do not converge in ``max_iter`` sweeps.
    """
    x = np.asarray(cols, dtype=float).reshape(len(panel.y), -1).copy()
    u, p = panel.unit, panel.period
    cu = np.bincount(u, minlength=panel.n_units).astype(float)
    cp = np.bincount(p, minlength=panel.n_periods).astype(float)

    def demean(z: np.ndarray, g: np.ndarray, counts: np.ndarray) -> np.ndarray:
        sums = np.stack([np.bincount(g, weights=z[:, j], minlength=len(counts)) for j in range(z.shape[1])], 1)
        return z - (sums / counts[:, None])[g]

    if panel.balanced:
        return demean(demean(x, u, cu), p, cp)
    scale = 1.0 + np.abs(x).max()
    for _ in range(max_iter):
        new = demean(demean(x, u, cu), p, cp)
        if np.abs(new - x).max() <= tol * scale:
            return new
        x = new
    raise ParameterError("difference-in-differences: removing the unit and period effects of this unbalanced panel "
                         f"did not converge in {max_iter} sweeps (are its units and periods poorly connected?)")


def twfe_fit(panel: Panel, design: np.ndarray, names: list[str], *, what: str) -> tuple[np.ndarray, np.ndarray]:
    """OLS of the outcome on ``design`` with unit and period effects; the estimates and their clustered covariance.

    The fit is statsmodels OLS on the demeaned data with cluster-robust
    errors; the covariance carries statsmodels' correction
    ``G / (G - 1) * (n - 1) / (n - K)`` with ``K`` counting the unit and
    period dummies, as the dummy regression ``y ~ D + C(unit) + C(time)`` does.
    """
    import statsmodels.api as sm

    g = panel.n_clusters
    if g < 2:
        raise ParameterError(f"{what}: cluster-robust errors need at least 2 clusters; found {g}")
    if g < FEW_CLUSTERS:
        warnings.warn(f"{what}: only {g} clusters: cluster-robust standard errors are unreliable with fewer than "
                      f"{FEW_CLUSTERS} or so", UserWarning, stacklevel=3)
    z = absorb(np.column_stack([panel.y, design]), panel)
    yt, xt = z[:, 0], z[:, 1:]
    for j, name in enumerate(names):
        if np.abs(xt[:, j]).max() <= 1e-9 * (1.0 + np.abs(design[:, j]).max()):
            raise ParameterError(f"{what}: {name} does not vary beyond the unit and period effects (for instance "
                                 "every treated unit adopts in the same period and no unit stays untreated), "
                                 "so its effect is not identified")
    if np.linalg.matrix_rank(xt) < xt.shape[1]:
        raise ParameterError(f"{what}: the regressors {names} are collinear once unit and period effects are removed "
                             "(with no never-treated unit, an event study needs a second reference period or "
                             "binned end points)")
    n = len(yt)
    k_full = panel.n_units + panel.n_periods - 1 + xt.shape[1]
    if n - k_full < 1:
        raise ParameterError(f"{what}: {n} rows leave no residual degrees of freedom for {k_full} parameters")
    res = sm.OLS(yt, xt).fit(cov_type="cluster", cov_kwds={"groups": panel.cluster, "use_correction": False},
                             use_t=True)
    cov = np.asarray(res.cov_params()) * (g / (g - 1)) * ((n - 1) / (n - k_full))
    return np.asarray(res.params, dtype=float), cov


def _trends(panel: Panel) -> pd.DataFrame:
    ever = (panel.cohort >= 0)[panel.unit] if (panel.cohort >= 0).any() else np.zeros(len(panel.y), bool)
    f = pd.DataFrame({"time": panel.labels(panel.period), "group": np.where(ever, "treated", "control"),
                      "outcome": panel.y})
    return f.groupby(["time", "group"], as_index=False, observed=True)["outcome"].mean()


def did(panel: TableLike, *, unit: str, time: str, outcome: str, treated: str | None = None,
        cohort: str | None = None, covariates: tuple[str, ...] | list[str] = (), cluster: str | None = None,
        alpha: float = 0.05, inference: DiDInference = "cluster", n_permutations: int = 2000,
        random_state: Any = None) -> DiDResult:
    """Difference-in-differences by two-way fixed effects, with cluster-robust standard errors.

    Fits ``y_it = a_i + l_t + b * D_it + x_it' c + e_it`` by OLS; ``b`` is the
    ATT when the effect is the same for all treated units and periods (the
    canonical 2 x 2 design: it is then exactly the difference of the four
    means). With staggered adoption and effects that vary, prefer
    :func:`~marketing360.incrementality.staggered.staggered_did`.

    Parameters
    ----------
    panel : table-like
        One row per unit and period (unbalanced panels are fine).
    unit, time, outcome : str
        The columns of the unit, the period and the numeric (or boolean)
        outcome. Periods are numbers, dates or timestamps, an (ordered)
        categorical (its categories' order is time order) or strings, which
        sort as text (ISO dates such as ``"2024-03-01"`` sort in time order).
    treated : str, optional
        A 0/1 column: the unit is treated in that period (it may switch off).
    cohort : str, optional
        Instead of ``treated``: each unit's first treated period (NaN, 0 or
        inf when never treated; 0 is refused when it is also a period);
        rows from that period on are treated. With dates as periods, the
        cohorts may be dates, timestamps or date strings.
    covariates : sequence of str, optional
        Time-varying numeric controls added to the regression.
    cluster : str, optional
        The column to cluster the errors by; the unit by default.
    alpha : float, default 0.05
        Level of the intervals (t with ``clusters - 1`` degrees of freedom).
    inference : {"cluster", "permutation"}
        Cluster-robust t intervals, or randomisation inference: for designs
        whose treated units were drawn at random, exact however few are
        treated (a balanced panel; the errors are not clustered, ``cluster``
        must be None). The ``std_error`` column stays the cluster-robust one.
    n_permutations : int, default 2000
        Reassignments for ``inference="permutation"`` (at least 100): all of
        them when there are no more distinct ones, else random ones.
    random_state : int, numpy Generator or None
        Draws the random reassignments.

    Returns
    -------
    DiDResult
        One row ``effect="ATT"``; ``n_units``, ``n_periods``, ``n_clusters``,
        ``dof``, ``coefficients`` and ``trends`` as attributes.

    Raises
    ------
    SchemaError
        Missing columns, NaN, repeated (unit, period) rows, non-0/1 treatment,
        a constant outcome, no treated or no untreated rows.
    ParameterError
        Both or neither of ``treated`` / ``cohort``; fewer than 2 clusters; a
        treatment that does not vary beyond the fixed effects; permutation
        inference on an unbalanced panel or with ``cluster``.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame([(g, w) for g in range(12) for w in range(4)], columns=["geo", "week"])
    >>> p["launch"] = (p.geo % 3 + 2).where(p.geo < 6)  # week 2, 3 or 4 (after the last week: never); NaN: never
    >>> p["sales"] = 5 + p.geo + p.week + 1.5 * (p.week >= p.launch) + 0.1 * (p.geo * p.week % 4)
    >>> r = did(p, unit="geo", time="week", outcome="sales", cohort="launch")
    >>> r.table()[["effect", "estimate", "n_treated_units"]].round(2)
      effect  estimate  n_treated_units
    0    ATT      1.48                4
    """
    a = check_alpha(alpha)
    what = "did"
    if inference not in ("cluster", "permutation"):
        raise ParameterError(f"{what}: inference must be 'cluster' or 'permutation'; found {inference!r}")
    if inference == "permutation":
        check_count(n_permutations, "n_permutations", 100, what=what)
        if cluster is not None:
            raise ParameterError(f"{what}: inference='permutation' reassigns the units' treatment paths and does "
                                 f"not cluster errors: leave cluster=None (found {cluster!r})")
    p = load_panel(panel, unit=unit, time=time, outcome=outcome, treated=treated, cohort=cohort, cluster=cluster,
                   covariates=covariates, what=what)
    names = ["ATT", *p.covariates]
    treated_units = np.bincount(p.unit, weights=p.d, minlength=p.n_units) > 0
    n_treated_clusters = len(np.unique(p.cluster[treated_units[p.unit]]))
    if inference == "cluster" and n_treated_clusters < FEW_CLUSTERS <= p.n_clusters:
        warnings.warn(f"{what}: only {n_treated_clusters} treated cluster(s): cluster-robust t intervals are too "
                      "narrow with few treated clusters (MacKinnon & Webb 2017); where the treated units were "
                      "drawn at random, inference='permutation' is exact", UserWarning, stacklevel=2)
    beta, cov = twfe_fit(p, np.column_stack([p.d, p.x]), names, what=what)
    se = np.sqrt(np.diag(cov))
    dof = p.n_clusters - 1
    counts = {"n_units": p.n_units, "n_periods": p.n_periods, "n_obs": len(p.y), "n_clusters": p.n_clusters,
              "n_treated_units": int(treated_units.sum())}
    frame = pd.DataFrame({"effect": ["ATT"], "estimate": beta[:1], "std_error": se[:1],
                          "n_treated_units": [counts["n_treated_units"]], "n_obs": [len(p.y)]})
    notes = [f"two-way fixed effects OLS: {p.n_units:,} units x {p.n_periods:,} periods "
             f"({len(p.y):,} rows{'' if p.balanced else ', unbalanced'})",
             f"errors clustered by {cluster or unit} ({p.n_clusters:,} clusters)"]
    perms = None
    if inference == "permutation":
        pa, pb, exact = _reassigned(p, int(n_permutations), check_random_state(random_state), what)
        perms = (pa, pb, exact)
        lo, hi = ri.invert(pa, pb, float(beta[0]), a)
        frame["lower"], frame["upper"] = [lo], [hi]
        frame["p_value"] = [ri.p_value(pa, pb, float(beta[0]))]
    coefs = pd.DataFrame({"term": names, "estimate": beta, "std_error": se})
    return DiDResult(frame, alpha=a, dof=dof, notes=notes, counts=counts, coefficients=coefs, trends=_trends(p),
                     permutations=perms)


def _reassigned(p: Panel, n_max: int, rng: np.random.Generator, what: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """The TWFE estimate of the outcome (``a``) and of the observed treatment (``b``) on every reassignment of the
    units' treatment paths; whether the reassignments are all the distinct ones."""
    if not p.balanced:
        raise ParameterError(f"{what}: inference='permutation' needs a balanced panel (every unit in every period); "
                             "this one is unbalanced")
    cell = np.empty((p.n_units, p.n_periods), dtype=np.int64)
    cell[p.unit, p.period] = np.arange(len(p.y))
    z = absorb(np.column_stack([p.y, p.d, p.x]), p)
    y_t, d_t, x_t = z[:, 0], z[:, 1], z[:, 2:]
    paths = p.d[cell]  # (units, periods)
    _, groups = np.unique(paths, axis=0, return_inverse=True)
    rows, exact = ri.reassignments(groups.ravel(), n_max, rng)
    # two-way demeaning commutes with a reassignment of whole unit rows in a balanced panel
    d_cells = d_t[cell]
    solve = np.linalg.pinv(x_t) if x_t.shape[1] else None
    a_out, b_out = np.empty(len(rows)), np.empty(len(rows))
    step = max(1, 5_000_000 // len(p.y))
    for lo in range(0, len(rows), step):
        dp = d_cells[rows[lo:lo + step]]  # (k, units, periods) in cell order
        r = np.zeros((len(dp), len(p.y)))
        r[:, cell.ravel()] = dp.reshape(len(dp), -1)
        if solve is not None:
            r -= (r @ solve.T) @ x_t.T  # partial the covariates out (Frisch-Waugh-Lovell)
        rr = np.einsum("ij,ij->i", r, r)
        if np.any(rr <= 1e-12 * max(1.0, float(d_t @ d_t))):
            raise ParameterError(f"{what}: a reassigned treatment does not vary beyond the fixed effects and "
                                 "covariates: permutation inference is not defined for this design")
        a_out[lo:lo + step] = (r @ y_t) / rr
        b_out[lo:lo + step] = (r @ d_t) / rr
    return a_out, b_out, exact


def event_study(panel: TableLike, *, unit: str, time: str, outcome: str, treated: str | None = None,
                cohort: str | None = None, window: tuple[int, int] | None = None, reference: int = -1,
                covariates: tuple[str, ...] | list[str] = (), cluster: str | None = None,
                alpha: float = 0.05) -> EventStudy:
    """The TWFE event study: effects by periods since adoption, with a joint pre-trend test.

    Regresses the outcome on unit and period effects and one dummy per event
    time ``e = t - g`` (``g`` the unit's adoption period, counted in periods of
    the panel) of the treated units, leaving out ``reference``. Event times
    outside ``window`` are binned into its end points. The pre-trend test is
    the Wald F test that all leads (``e < 0`` but the reference) are zero,
    with the clustered covariance and ``(leads, clusters - 1)`` degrees of freedom.

    Parameters
    ----------
    panel : table-like
        One row per unit and period; the treatment must be absorbing (once
        treated, always treated).
    unit, time, outcome, treated, cohort, covariates, cluster :
        As in :func:`did`.
    window : (int, int), optional
        The first and last event time with their own coefficient (e.g.
        ``(-4, 4)``); earlier / later event times are binned into them. By
        default every observed event time.
    reference : int, default -1
        The event time normalised to 0 (inside ``window``).
    alpha : float, default 0.05

    Returns
    -------
    EventStudy
        ``event_time, estimate, std_error, lower, upper, p_value, n_units``;
        the pre-trend test in ``pretrend``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> p = pd.DataFrame([(g, w) for g in range(40) for w in range(6)], columns=["geo", "week"])
    >>> p["launch"] = (2 + p.geo % 3).where(p.geo < 20)  # NaN: never treated
    >>> p["sales"] = p.geo + p.week + 2.0 * (p.week >= p.launch) + rng.normal(0, 0.02, len(p))
    >>> es = event_study(p, unit="geo", time="week", outcome="sales", cohort="launch", window=(-2, 2))
    >>> es.table().set_index("event_time").estimate.round(1).to_dict()
    {-2: 0.0, 0: 2.0, 1: 2.0, 2: 2.0}
    >>> es.pretrend.df, es.pretrend.df_denom
    (1, 39.0)
    """
    a = check_alpha(alpha)
    what = "event_study"
    p = load_panel(panel, unit=unit, time=time, outcome=outcome, treated=treated, cohort=cohort, cluster=cluster,
                   covariates=covariates, what=what, absorbing=True)
    treated_row = p.cohort[p.unit] >= 0
    e = np.where(treated_row, p.period - p.cohort[p.unit], 0)
    observed = np.unique(e[treated_row])
    lo, hi = (int(observed.min()), int(observed.max())) if window is None else _window(window, what)
    if isinstance(reference, bool) or not isinstance(reference, (int, np.integer)) or not lo <= reference <= hi:
        raise ParameterError(f"{what}: reference must be an event time inside the window [{lo}, {hi}]; "
                             f"found {reference!r}")
    binned = np.clip(e, lo, hi)
    bins = [b for b in range(lo, hi + 1) if b != reference]
    cols, n_units = [], []
    for b in bins:
        col = (treated_row & (binned == b)).astype(float)
        if not col.any():
            raise ParameterError(f"{what}: no treated unit is observed at event time {b} (window [{lo}, {hi}]); "
                                 f"observed event times run from {observed.min()} to {observed.max()}")
        cols.append(col)
        n_units.append(len(np.unique(p.unit[col > 0])))
    names = [f"event time {b}" for b in bins] + p.covariates
    leads = [i for i, b in enumerate(bins) if b < 0]
    if leads and p.n_clusters - 1 < len(leads):
        raise ParameterError(f"{what}: the pre-trend test of {len(leads)} leads needs at least {len(leads) + 1} "
                             f"clusters; found {p.n_clusters}")
    beta, cov = twfe_fit(p, np.column_stack([*cols, p.x]), names, what=what)
    k = len(bins)
    se = np.sqrt(np.diag(cov))[:k]
    dof = p.n_clusters - 1
    frame = pd.DataFrame({"event_time": bins, "estimate": beta[:k], "std_error": se, "n_units": n_units})
    pre = wald_test(beta[leads], cov[np.ix_(leads, leads)], df_denom=dof) if leads else None
    binned_note = " (end points binned)" if window is not None else ""
    notes = [f"TWFE event study: {p.n_units:,} units x {p.n_periods:,} periods; event times [{lo}, {hi}]"
             f"{binned_note}, reference {reference}",
             f"errors clustered by {cluster or unit} ({p.n_clusters:,} clusters)"]
    return EventStudy(frame, alpha=a, dof=dof, notes=notes, reference=int(reference), pretrend=pre)


def _window(window: Any, what: str) -> tuple[int, int]:
    try:
        lo, hi = (int(w) for w in window)
        ok = all(float(w) == int(w) for w in window)
    except (TypeError, ValueError):
        ok = False
    if not ok or not lo < 0 <= hi:
        raise ParameterError(f"{what}: window must be two whole event times (first, last) with first < 0 <= last, "
                             f"e.g. (-4, 4); found {window!r}")
    return lo, hi
