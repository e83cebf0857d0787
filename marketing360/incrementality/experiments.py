"""Randomised experiments: A/B tests, holdouts, PSA and ghost ads, read out from canonical events on any engine.

Two entry points share one readout:

* :func:`ab_test` reads a table with one row per unit (an arm column, outcome
  columns, optional pre-period covariates) — Hillstrom's e-mail test, a
  user-level export;
* :func:`experiment` builds that table on the engine from canonical events
  and an assignment table (``user_id, arm``, optionally ``exposed`` and
  covariates): per user, the outcome metrics in the test window and the same
  metrics in a pre-period (the CUPED covariates). Users without events count
  as zeros.

Either way the engine returns **one row per arm** (counts, sums, sums of
squares and cross-products); every estimate is computed from those sufficient
statistics:

* the difference in means of each treatment arm against control, with
  Welch's standard error and t reference (it equals
  :func:`scipy.stats.ttest_ind` with ``equal_var=False`` when there are no
  covariates);
* **CUPED / regression adjustment** (Deng et al. 2013) with one or more
  covariates: ``y - theta' (x - mean x)`` with one ``theta`` pooled over the
  arms from the within-arm covariances (the ANCOVA slope: the arm coefficients
  of ``y ~ arm + x``; Lin's 2013 estimator would fit a slope per arm);
  ``variance_reduction`` says how much of the variance it removed;
* the **relative lift** against the control mean, with a delta-method interval;
* a multiplicity correction over all treatment arms and metrics (Holm by default);
* for exposed-only designs, the **effect on the treated** next to the
  intent-to-treat effect: with ghost ads or PSA (the control users who would
  have been exposed are flagged), the comparison of exposed users in both arms;
  with exposure logged only in treatment, the Wald (Bloom) estimator, the ITT
  divided by the treatment arm's exposure rate, with its delta-method standard
  error (that of two-stage least squares: the rate's sampling error counts).

Bootstrap intervals (``interval="bootstrap"``) resample units within each arm
(the Poisson bootstrap) and need the per-unit values: those come back from the engine (only the
columns the readout uses). They replace ``lower`` / ``upper``; p-values stay Welch's, and the relative
lift's interval stays the delta method's.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> units = pd.DataFrame({"arm": np.repeat(["control", "email"], 500), "pre": rng.normal(10, 2, 1000)})
>>> units["spend"] = units.pre + rng.normal(0, 1, 1000) + np.where(units.arm == "email", 0.5, 0.0)
>>> r = ab_test(units, arm="arm", outcomes=["spend"], covariates={"spend": ["pre"]})
>>> row = r.table().iloc[0]
>>> row.arm, round(float(row.estimate), 2), bool(row.variance_reduction > 0.7)
('email', 0.39, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import ibis
import numpy as np
import pandas as pd
from ibis.expr.types import Table
from scipy import stats

from .._days import as_day
from ..engine import fetch
from ..errors import ParameterError, SchemaError
from ..estimators import check_random_state
from ..inputs import alongside, as_table, open_table, require_columns, require_unique
from ..results import percentile_interval
from ..types import Correction, ExperimentMetric, IntervalKind, TableLike
from .effects import Effects, check_alpha, check_count

__all__ = ["ab_test", "experiment", "Experiment", "METRICS", "ExperimentMetric", "Correction", "IntervalKind"]

METRICS: tuple[str, ...] = ("conversion", "purchases", "revenue", "visit")

_WHAT = "experiment"


class Experiment(Effects):
    """The readout of a randomised experiment: one row per metric, estimand and treatment arm.

    Columns: ``metric, estimand, arm``; ``estimate`` (treatment mean minus
    control mean, covariate-adjusted when covariates were given),
    ``std_error, lower, upper, p_value``; ``p_adjusted`` (the multiplicity
    correction); ``treatment_mean, control_mean`` (adjusted);
    ``relative, relative_lower, relative_upper`` (lift over the control mean);
    ``n_treatment, n_control``; ``dof`` (Welch-Satterthwaite degrees of
    freedom); ``variance_reduction`` (share of the difference's variance the
    covariates removed, 0 without covariates); ``exposure_rate`` (TOT rows).

    Attributes
    ----------
    arms : pandas.DataFrame
        Per metric and arm: units and the raw mean and standard deviation.
    control : object
        The control arm, a value of the arm column as the table holds it (a string, ``False``, ``0`` ...).
    correction : str
    """

    title: ClassVar[str] = "experiment readout"
    keys = ("metric", "estimand", "arm")

    def __init__(self, frame: pd.DataFrame, *, arms: pd.DataFrame, control: Any, correction: str,
                 alpha: float, interval_kind: str, replicates: np.ndarray | None = None,
                 notes: list[str] | None = None) -> None:
        self.arms = arms
        self.control = control
        self.correction = correction
        self._kind = interval_kind
        self._replicates = replicates
        super().__init__(frame, alpha=alpha, notes=notes)

    @property
    def interval_kind(self) -> str:  # type: ignore[override]
        return "bootstrap percentiles" if self._kind == "bootstrap" else "Welch t"

    def _interval(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        df = self._computed()
        return _bounds(df, alpha, self._replicates)

    def plot(self, *, metrics: Sequence[str] | str | None = None, relative: bool = False, ax: Any = None,
             **kwargs: Any) -> Any:
        """Effects with their intervals, one row per metric, estimand and arm (relative lift with ``relative``);
        ``metrics`` keeps some metrics only (their scales differ: a rate and a revenue on one axis)."""
        from ..viz.experiments import plot_effects

        t = self.table()
        if metrics is not None:
            keep = [metrics] if isinstance(metrics, str) else list(metrics)
            unknown = [m for m in keep if m not in set(t.metric)]
            if unknown or not keep:
                raise ParameterError(f"metrics {unknown or keep} are not in this readout; its metrics are "
                                     f"{sorted(set(t.metric))}")
            t = t[t.metric.isin(keep)]
        return plot_effects(t, relative=relative, alpha=self.alpha, ax=ax, **kwargs)


# ============================================================================ entry points


def ab_test(data: TableLike, *, arm: str, outcomes: Sequence[str], control: str | None = None,
            covariates: Mapping[str, Sequence[str]] | Sequence[str] | None = None, exposed: str | None = None,
            control_exposure: bool = True, nonnegative: bool = False, alpha: float = 0.05,
            correction: Correction = "holm", interval: IntervalKind = "normal", n_boot: int = 2000,
            random_state: Any = 0) -> Experiment:
    """Read out a randomised experiment from a table with one row per unit.

    Parameters
    ----------
    data : table-like
        One row per unit: the ``arm`` column, the ``outcomes`` and any covariates.
    arm : str
        Column naming each unit's arm (strings, or booleans / 0-1 for treatment).
    outcomes : sequence of str
        Numeric (or boolean) outcome columns, each read out on its own.
    control : str, optional
        The control arm; by default ``"control"``, ``False`` / ``0`` for boolean and 0-1 arms, or the one arm
        whose name says control / holdout / no (``"No E-Mail"``).
    covariates : sequence of str, or mapping of outcome to sequence of str, optional
        Pre-treatment columns for CUPED / regression adjustment: the same for every outcome, or per outcome.
    exposed : str, optional
        Boolean column: the unit was exposed (treatment), or would have been (control: ghost ads or PSA, when
        ``control_exposure``). Adds ``estimand="tot"`` rows, the effect on the exposed.
    control_exposure : bool
        Whether ``exposed`` is recorded in the control arm too (ghost ads, PSA). When False only treatment
        exposure is known and the effect on the treated is the ITT divided by the treatment exposure rate.
    nonnegative : bool
        Refuse negative outcomes (counts, revenue).
    alpha : float
        1 - the interval coverage.
    correction : {"holm", "bonferroni", "none"}
        Multiplicity correction of the p-values over every treatment arm, metric and estimand (``p_adjusted``).
    interval : {"normal", "bootstrap"}
        Welch t intervals from the per-arm sums, or bootstrap percentile intervals (units resampled within
        arms, covariate adjustment re-estimated in each replicate; needs the per-unit rows; the p-values and
        the relative lift's interval stay those of the normal readout).
    n_boot : int
        Bootstrap replicates.
    random_state : int, Generator or None

    Returns
    -------
    Experiment
    """
    t = open_table(data, what="ab_test")
    cols = [arm, *outcomes]
    require_columns(t, cols, what="ab_test")
    return _readout(t, arm=arm, outcomes=list(outcomes), control=control, covariates=covariates, exposed=exposed,
                    control_exposure=control_exposure, nonnegative=nonnegative, alpha=alpha, correction=correction,
                    interval=interval, n_boot=n_boot, random_state=random_state, what="ab_test")


def experiment(events: TableLike, assignment: TableLike, *, start: Any, end: Any, pre_start: Any = None,
               metrics: Sequence[ExperimentMetric] = ("conversion", "revenue"), arm: str = "arm",
               control: str | None = None,
               brand: str | None = None, cuped: bool = True, covariates: Sequence[str] = (),
               exposed: str | None = None, control_exposure: bool = True, alpha: float = 0.05,
               correction: Correction = "holm", interval: IntervalKind = "normal", n_boot: int = 2000,
               random_state: Any = 0) -> Experiment:
    """Read out a randomised experiment from canonical events and an assignment table, on their engine.

    Parameters
    ----------
    events : table-like
        Canonical events (any engine; a pandas frame goes to DuckDB).
    assignment : table-like
        One row per user: ``user_id`` and the ``arm`` column, optionally the ``exposed`` column and numeric
        covariates. Users without events count as zeros. An in-memory table (pandas ...) is read on the
        events' engine.
    start, end : date
        The first and last day of the test, both included (whole days, UTC, as every window of the package),
        over which outcomes are measured.
    pre_start : date, optional
        First day of the pre-period, which runs to the day before ``start``: the same metrics measured there
        are the CUPED
        covariates (with ``cuped``).
    metrics : sequence of {"conversion", "purchases", "revenue", "visit"}
        Per user: bought at all (0/1), number of purchases, purchase value, browsed at all (0/1).
    arm, control, exposed, control_exposure, alpha, correction, interval, n_boot, random_state
        As in :func:`ab_test`.
    brand : str, optional
        Count only this brand's events.
    cuped : bool
        Adjust each metric for its own pre-period value (needs ``pre_start``).
    covariates : sequence of str
        Further numeric columns of ``assignment`` to adjust for.

    Returns
    -------
    Experiment

    Raises
    ------
    ParameterError
        Unknown metrics, an empty or reversed window, assignment columns named like the per-user metrics.
    SchemaError
        A missing column, repeated users, user ids of two kinds (strings against numbers), an arm with fewer
        than two users, a metric without variation (no events in the window, or of ``brand``), a pre-period
        in which a metric does not vary (pass ``cuped=False``), missing arms or exposure.
    """
    metrics_: list[str] = [metrics] if isinstance(metrics, str) else list(metrics)
    bad = [m for m in metrics_ if m not in METRICS]
    if bad or not metrics_:
        raise ParameterError(f"metrics must be a non-empty list of {list(METRICS)}; found {metrics!r}")
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    built = {*metrics_, *(f"pre_{m}" for m in metrics_ if pre_start is not None and cuped)}
    clash = [c for c in [arm, *([exposed] if exposed else []), *covariates] if c in built or c == "user_id"]
    if clash:
        raise ParameterError(f"{_WHAT}: assignment column(s) {clash} have the names of the per-user columns built "
                             f"from the events ({sorted(built)}, user_id); rename them")
    ev = as_table(events, "events", what=_WHAT)
    asg = alongside(open_table(assignment, what=_WHAT), ev)
    require_columns(asg, ["user_id", arm, *([exposed] if exposed else []), *covariates], what=_WHAT,
                    table_name="assignment")
    require_unique(asg, ["user_id"], what=_WHAT, table_name="assignment")
    ut, et = asg.user_id.type(), ev.user_id.type()
    if not ((ut.is_numeric() and et.is_numeric()) or (ut.is_string() and et.is_string())
            or ut.copy(nullable=True) == et.copy(nullable=True)):
        raise SchemaError(f"{_WHAT}: user_id is {ut} in the assignment but {et} in the events: they cannot be "
                          "matched; cast one of them", table="assignment", column="user_id")
    t0, t1 = as_day(start, "start", whole=True), as_day(end, "end", whole=True) + pd.Timedelta(days=1)
    if t1 <= t0:
        raise ParameterError(f"end ({end}) must not be before start ({start})")
    p0 = as_day(pre_start, "pre_start", whole=True) if pre_start is not None else None
    if p0 is not None and p0 >= t0:
        raise ParameterError(f"pre_start ({pre_start}) must be before start ({start})")
    if brand is not None:
        ev = ev.filter(ev.brand == brand)
    windows = [("", t0, t1), *([("pre_", p0, t0)] if p0 is not None and cuped else [])]
    per_user = _user_metrics(ev, windows, metrics_)
    keep = ["user_id", arm, *([exposed] if exposed else []), *covariates]
    units = asg.select(*keep).left_join(per_user, "user_id")
    units = units.select(*keep, **{c: ibis.coalesce(units[c], 0.0) for c in per_user.columns if c != "user_id"})
    covs: dict[str, list[str]] = {m: [*(([f"pre_{m}"]) if (p0 is not None and cuped) else []), *covariates]
                                  for m in metrics_}
    try:
        return _readout(units, arm=arm, outcomes=metrics_, control=control, covariates=covs, exposed=exposed,
                        control_exposure=control_exposure, nonnegative=True, alpha=alpha, correction=correction,
                        interval=interval, n_boot=n_boot, random_state=random_state, what=_WHAT)
    except SchemaError as e:
        col = e.column or ""
        if p0 is None or not cuped or not col.startswith("pre_") or col[4:] not in metrics_ or col in covariates:
            raise
        raise SchemaError(f"{_WHAT}: {col[4:]!r} takes one value for every user in the pre-period "
                          f"[{p0.date()}, {t0.date()}) (no events there?), so it cannot be the CUPED covariate "
                          f"({e}); pass cuped=False or an earlier pre_start", column=col) from None


def _user_metrics(ev: Table, windows: list[tuple[str, pd.Timestamp, pd.Timestamp]], metrics: list[str]) -> Table:
    """Per user, the metrics over each window ``(prefix, start, end)``, ``[start, end)``: one scan of the events
    and one aggregation on the engine (a conditional aggregate per window and metric)."""
    lo = min(w[1] for w in windows).to_pydatetime()
    hi = max(w[2] for w in windows).to_pydatetime()
    w = ev.filter((ev.ts >= lo) & (ev.ts < hi))
    buy = w.event_type == "purchase"
    browse = w.event_type == "browse"
    aggs: dict[str, Any] = {}
    for prefix, a, z in windows:
        inside = (w.ts >= a.to_pydatetime()) & (w.ts < z.to_pydatetime())
        for m in metrics:
            if m == "conversion":
                aggs[f"{prefix}{m}"] = (buy & inside).cast("int64").max().cast("float64")
            elif m == "purchases":
                aggs[f"{prefix}{m}"] = (buy & inside).cast("int64").sum().cast("float64")
            elif m == "revenue":
                aggs[f"{prefix}{m}"] = ibis.ifelse(buy & inside, w.value.fill_null(0.0), 0.0).sum().cast("float64")
            else:
                aggs[f"{prefix}{m}"] = (browse & inside).cast("int64").max().cast("float64")
    return w.group_by("user_id").aggregate(**aggs)


# ============================================================================ the readout


def _readout(t: Table, *, arm: str, outcomes: list[str], control: Any,
             covariates: Mapping[str, Sequence[str]] | Sequence[str] | None, exposed: str | None,
             control_exposure: bool, nonnegative: bool, alpha: float, correction: str, interval: str,
             n_boot: int, random_state: Any, what: str) -> Experiment:
    alpha = check_alpha(alpha)
    if correction not in ("holm", "bonferroni", "none"):
        raise ParameterError(f"correction must be 'holm', 'bonferroni' or 'none'; found {correction!r}")
    if interval not in ("normal", "bootstrap"):
        raise ParameterError(f"interval must be 'normal' or 'bootstrap'; found {interval!r}")
    if interval == "bootstrap":
        check_count(n_boot, "n_boot", 100)
    if interval == "bootstrap" and exposed is not None and not control_exposure:
        raise ParameterError(f"{what}: bootstrap intervals are not available for the Wald effect on the treated "
                             "(control_exposure=False); use interval='normal'")
    if not outcomes:
        raise ParameterError(f"{what}: outcomes must name at least one column")
    if len(set(outcomes)) != len(outcomes):
        raise ParameterError(f"{what}: outcomes repeat a name: {outcomes}")
    covs = _covariate_map(covariates, outcomes, what)
    needed = [arm, *outcomes, *{c for cs in covs.values() for c in cs}, *([exposed] if exposed else [])]
    require_columns(t, needed, what=what)
    for c in [*outcomes, *{c for cs in covs.values() for c in cs}]:
        ty = t[c].type()
        if not (ty.is_numeric() or ty.is_boolean()):
            raise SchemaError(f"{what}: column {c!r} must be numeric or boolean; found {ty}", column=c)
    if exposed is not None and not (t[exposed].type().is_boolean() or t[exposed].type().is_integer()):
        raise SchemaError(f"{what}: exposed column {exposed!r} must be boolean; found {t[exposed].type()}",
                          column=exposed)
    numeric = {c: t[c].cast("float64") for c in needed[1:] if c != exposed}
    base = t.select(_arm=t[arm], **numeric,
                    **({"_exposed": t[exposed].cast("boolean")} if exposed else {}))
    # ---- the checks and the sufficient statistics of every outcome, arm and exposure: one aggregation
    columns = list(dict.fromkeys([*outcomes, *(c for y in outcomes for c in covs.get(y, []))]))
    pairs = sorted({(columns.index(a), columns.index(b)) for y in outcomes for a in [y, *covs.get(y, [])]
                    for b in [y, *covs.get(y, [])] if columns.index(a) <= columns.index(b)})
    raw = _sufficient(base, columns, pairs, exposed is not None)
    if raw["_arm"].isna().any():
        raise SchemaError(f"{what}: column {arm!r} has missing values", column=arm)
    if exposed is not None and raw["_exposed"].isna().any():
        raise SchemaError(f"{what}: exposed column {exposed!r} has missing values", column=exposed)
    for i, c in enumerate(columns):
        if (raw[f"nn_{i}"] < raw["n"]).any():
            raise SchemaError(f"{what}: column {c!r} has missing values", column=c)
    names = list(dict.fromkeys(raw["_arm"].tolist()))
    ctrl = _control(names, control, arm, what)
    treat = sorted((a for a in names if a != ctrl), key=str)
    if not treat:
        raise SchemaError(f"{what}: every unit is in arm {ctrl!r}: an experiment needs a treatment arm too",
                          column=arm)
    rows: list[dict[str, Any]] = []
    replicates: list[np.ndarray] = []
    arms_rows = []
    estimands: list[tuple[str, Table, pd.DataFrame]] = [("itt", base, raw)]
    if exposed is not None and control_exposure:
        estimands.append(("tot", base.filter(base._exposed), raw[raw["_exposed"].astype(bool)]))
    exposed_by_arm = None
    if exposed is not None and not control_exposure:
        exp_raw = raw[raw["_exposed"].astype(bool)]
        n_exp = {a: int(exp_raw.loc[exp_raw["_arm"] == a, "n"].sum()) for a in [ctrl, *treat]}
        if n_exp[ctrl] > 0:
            raise SchemaError(f"{what}: {n_exp[ctrl]} control units are marked exposed but "
                              "control_exposure=False says exposure is logged only in treatment", column=exposed)
        for a in treat:
            if n_exp[a] == 0:
                raise SchemaError(f"{what}: no unit of arm {a!r} is exposed: the effect on the treated is "
                                  "undefined", column=exposed)
        exposed_by_arm = _by_arm(exp_raw)
    for estimand, tab, part in estimands:
        by_arm = _by_arm(part)
        for y in outcomes:
            xs = list(covs.get(y, []))
            stats_df = _view(by_arm, columns, y, xs)
            _check_stats(stats_df, y, ctrl, treat, estimand, nonnegative, what)
            arms_rows.append(_arm_summary(stats_df, y, estimand))
            itt_rows = [{"metric": y, "estimand": estimand, "arm": a, **_contrast(stats_df, a, ctrl)}
                        for a in treat]
            rows.extend(itt_rows)
            if exposed_by_arm is not None:
                exp_df = _view(exposed_by_arm, columns, y, xs)
                rows.extend(_wald(stats_df, exp_df, r, ctrl) for r in itt_rows)
        if interval == "bootstrap":
            # columns in the order of the rows just added: by outcome, then treatment arm
            replicates.append(_bootstrap(tab, outcomes, covs, ctrl, treat, n_boot, check_random_state(random_state)))
    df = pd.DataFrame(rows)
    df["p_value"] = 2 * stats.t.sf(np.abs(df.estimate / df.std_error), df.dof)
    reps = np.column_stack(replicates) if interval == "bootstrap" else None
    df["lower"], df["upper"] = _bounds(df, alpha, reps)
    qz = stats.norm.ppf(1 - alpha / 2)
    df["relative_lower"] = df.relative - qz * df.relative_se
    df["relative_upper"] = df.relative + qz * df.relative_se
    df["p_adjusted"] = _adjust(df.p_value.to_numpy(), correction)
    order = ["metric", "estimand", "arm", "estimate", "std_error", "lower", "upper", "p_value", "p_adjusted",
             "treatment_mean", "control_mean", "relative", "relative_lower", "relative_upper", "n_treatment",
             "n_control", "dof", "variance_reduction", "exposure_rate"]
    df = df.reindex(columns=order)
    notes = [f"control arm {ctrl!r}; {len(treat)} treatment arm(s); p-values adjusted: {correction}",
             "covariate-adjusted (CUPED): " + ", ".join(f"{y} ~ {covs[y]}" for y in outcomes if covs.get(y))
             if any(covs.get(y) for y in outcomes) else "no covariate adjustment"]
    arms = pd.concat(arms_rows, ignore_index=True)
    return Experiment(df, arms=arms, control=ctrl, correction=correction, alpha=alpha,
                      interval_kind=interval, replicates=np.column_stack(replicates) if replicates else None,
                      notes=notes)


def _bounds(df: pd.DataFrame, alpha: float, replicates: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The ``1 - alpha`` interval of each row: bootstrap percentiles of ``replicates`` (one column per row), or
    Welch t with each row's degrees of freedom."""
    if replicates is not None:
        return percentile_interval(replicates, alpha)
    q = stats.t.ppf(1 - alpha / 2, df["dof"].to_numpy(dtype=float))
    est, se = df["estimate"].to_numpy(dtype=float), df["std_error"].to_numpy(dtype=float)
    return est - q * se, est + q * se


def _covariate_map(covariates: Any, outcomes: list[str], what: str) -> dict[str, list[str]]:
    if covariates is None:
        return {}
    if isinstance(covariates, str):
        covariates = [covariates]
    if isinstance(covariates, Mapping):
        unknown = [k for k in covariates if k not in outcomes]
        if unknown:
            raise ParameterError(f"{what}: covariates name outcome(s) {unknown} that are not among {outcomes}")
        out = {k: list([v] if isinstance(v, str) else v) for k, v in covariates.items()}
    else:
        out = {y: list(covariates) for y in outcomes}
    for y, cs in out.items():
        if y in cs:
            raise ParameterError(f"{what}: outcome {y!r} cannot be its own covariate")
    return out


def _control(names: list[Any], control: Any, arm: str, what: str) -> Any:
    if control is not None:
        if control not in names:
            raise ParameterError(f"{what}: control arm {control!r} is not a value of {arm!r}; arms are "
                                 f"{sorted(map(str, names))}")
        return control
    for cand in ("control", False, 0):
        if any(n is cand or (type(n) is type(cand) and n == cand) for n in names):
            return next(n for n in names if type(n) is type(cand) and n == cand)
    hints = [n for n in names if isinstance(n, str) and any(k in n.lower() for k in ("control", "holdout", "no "))]
    if len(hints) == 1:
        return hints[0]
    raise ParameterError(f"{what}: cannot tell the control arm among {sorted(map(str, names))}; name it with "
                         "control=...")


def _sufficient(t: Table, columns: list[str], pairs: list[tuple[int, int]], exposed: bool) -> pd.DataFrame:
    """Per arm (and exposure): units, non-null counts, sums, minima, maxima and the centred cross-products of
    the ``pairs`` of ``columns``: one aggregation on the engine.

    The cross-products ``c_i_j`` are ``sum((x_i - mean x_i) (x_j - mean x_j))`` within the group, from the
    engine's population covariance (a one-pass algorithm that centres as it goes): ``sum(x_i x_j) - n mean
    x_i mean x_j`` would cancel catastrophically for large values with a small spread (revenue around 1e6).
    """
    aggs: dict[str, Any] = {"n": t.count()}
    for i, a in enumerate(columns):
        aggs[f"nn_{i}"] = t[a].count()
        aggs[f"s_{i}"] = t[a].sum()
        aggs[f"min_{i}"] = t[a].min()
        aggs[f"max_{i}"] = t[a].max()
    for i, j in pairs:
        aggs[f"c_{i}_{j}"] = t[columns[i]].cov(t[columns[j]], how="pop")
    keys = ["_arm", "_exposed"] if exposed else ["_arm"]
    df = fetch(t.group_by(keys).aggregate(**aggs), "pandas")
    for i, j in pairs:  # a one-unit group has no covariance (0 spread)
        df[f"c_{i}_{j}"] = df[f"c_{i}_{j}"].astype(float).fillna(0.0) * df["n"]
    return df


def _by_arm(raw: pd.DataFrame) -> pd.DataFrame:
    """The statistics of the exposure groups combined, one row per arm: sums add, minima and maxima combine,
    centred cross-products add with the spread of the groups' means around the arm's mean."""
    how = {c: ("min" if c.startswith("min_") else "max" if c.startswith("max_") else "sum")
           for c in raw.columns if c not in ("_arm", "_exposed")}
    out = raw.groupby("_arm", sort=False).agg(how)
    grouped = raw.groupby("_arm", sort=False)
    n_arm = grouped["n"].transform("sum")
    for c in [c for c in raw.columns if c.startswith("c_")]:
        i, j = c.split("_")[1:]
        di = raw[f"s_{i}"] / raw["n"] - grouped[f"s_{i}"].transform("sum") / n_arm
        dj = raw[f"s_{j}"] / raw["n"] - grouped[f"s_{j}"].transform("sum") / n_arm
        out[c] = (raw[c] + raw["n"] * di * dj).groupby(raw["_arm"], sort=False).sum()
    return out


def _view(by_arm: pd.DataFrame, columns: list[str], y: str, xs: list[str]) -> pd.DataFrame:
    """The statistics of ``[y, *xs]``, renumbered from 0 (``s_0`` is y's sum, ``c_0_1`` y's centred
    cross-product with xs[0] ...)."""
    idx = [columns.index(c) for c in [y, *xs]]
    out = pd.DataFrame({"n": by_arm["n"]}, index=by_arm.index)
    for new, old in enumerate(idx):
        for stat in ("s", "min", "max"):
            out[f"{stat}_{new}"] = by_arm[f"{stat}_{old}"]
        for new2, old2 in enumerate(idx[new:], start=new):
            lo, hi = min(old, old2), max(old, old2)
            out[f"c_{new}_{new2}"] = by_arm[f"c_{lo}_{hi}"]
    out.attrs["columns"] = [y, *xs]
    return out


def _check_stats(df: pd.DataFrame, y: str, ctrl: Any, treat: list[Any], estimand: str, nonnegative: bool,
                 what: str) -> None:
    label = "" if estimand == "itt" else " among exposed units"
    for a in [ctrl, *treat]:
        n = int(df.loc[a, "n"]) if a in df.index else 0
        if n < 2:
            raise SchemaError(f"{what}: arm {a!r} has {n} unit(s){label}; each arm needs at least 2")
    if not np.isfinite(df[[c for c in df.columns if c.startswith(("s_", "c_"))]].to_numpy(float)).all():
        raise SchemaError(f"{what}: outcome {y!r} or a covariate has infinite values", column=y)
    if float(df["min_0"].min()) == float(df["max_0"].max()):
        raise SchemaError(f"{what}: outcome {y!r} is constant ({float(df['min_0'].min()):g} for every unit"
                          f"{label}): no effect can be estimated", column=y)
    if nonnegative and float(df["min_0"].min()) < 0:
        raise SchemaError(f"{what}: outcome {y!r} has negative values (min {float(df['min_0'].min()):g}) where "
                          "only non-negative ones make sense", column=y)
    for i, x in enumerate(df.attrs["columns"][1:], start=1):
        if float(df[f"min_{i}"].min()) == float(df[f"max_{i}"].max()):
            raise SchemaError(f"{what}: covariate {x!r} is constant{label}: it cannot adjust {y!r}; drop it",
                              column=x)


def _moments(df: pd.DataFrame, a: Any) -> tuple[float, np.ndarray, np.ndarray]:
    """n, means and the (unscaled) centred cross-product matrix of ``[y, xs]`` in arm ``a``."""
    k = len(df.attrs["columns"])
    n = float(df.loc[a, "n"])
    m = np.array([float(df.loc[a, f"s_{i}"]) for i in range(k)]) / n
    cp = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            cp[i, j] = cp[j, i] = float(df.loc[a, f"c_{i}_{j}"])
    return n, m, cp


def _theta(df: pd.DataFrame) -> np.ndarray:
    """Pooled within-arm regression of y on the covariates (CUPED's theta)."""
    k = len(df.attrs["columns"])
    if k == 1:
        return np.zeros(0)
    pooled = np.sum([_moments(df, a)[2] for a in df.index], axis=0)
    sxx, sxy = pooled[1:, 1:], pooled[1:, 0]
    return np.linalg.lstsq(sxx, sxy, rcond=None)[0]


def _welch_dof(vt: float, vc: float, nt: float, nc: float) -> float:
    """Welch-Satterthwaite degrees of freedom of a difference whose two variances are ``vt`` and ``vc``."""
    return (vt + vc) ** 2 / (vt ** 2 / (nt - 1) + vc ** 2 / (nc - 1)) if vt + vc > 0 else np.inf


def _contrast(df: pd.DataFrame, a: Any, ctrl: Any) -> dict[str, float]:
    theta = _theta(df)
    nt, mt, cpt = _moments(df, a)
    nc, mc, cpc = _moments(df, ctrl)
    n_all = float(df["n"].sum())
    xbar = np.array([float(df[f"s_{i}"].sum()) for i in range(1, len(theta) + 1)]) / n_all
    g = np.concatenate([[1.0], -theta])  # y - theta'x

    def adj(n: float, m: np.ndarray, cp: np.ndarray) -> tuple[float, float, float]:
        mean = m[0] - (theta @ (m[1:] - xbar) if len(theta) else 0.0)
        var_adj = max(float(g @ cp @ g), 0.0) / (n - 1)
        return mean, var_adj / n, float(cp[0, 0]) / (n - 1) / n

    yt, vt, rt = adj(nt, mt, cpt)
    yc, vc, rc = adj(nc, mc, cpc)
    est = yt - yc
    se = float(np.sqrt(vt + vc))
    rel = est / yc if yc != 0 else np.nan
    rel_se = float(np.sqrt(vt / yc ** 2 + yt ** 2 * vc / yc ** 4)) if yc != 0 else np.nan
    return {"estimate": est, "std_error": se, "treatment_mean": yt, "control_mean": yc, "relative": rel,
            "relative_se": rel_se, "n_treatment": int(nt), "n_control": int(nc), "dof": _welch_dof(vt, vc, nt, nc),
            "variance_reduction": 1 - (vt + vc) / (rt + rc) if rt + rc > 0 else 0.0, "exposure_rate": np.nan}


def _wald(df: pd.DataFrame, exp_df: pd.DataFrame, itt: dict[str, Any], ctrl: Any) -> dict[str, Any]:
    """The effect on the treated when only the treatment arm's exposure is known: the Wald (Bloom) estimator,
    ITT / exposure rate, with its delta-method standard error.

    With ``A = y - theta'x`` (the covariate-adjusted outcome), ``e`` the exposure and ``beta`` the estimate,
    ``beta - true = (mean_t(A - beta e) - mean_c(A)) / rate`` to first order, so its variance is
    ``(var_t(A - beta e) / n_t + var_c(A) / n_c) / rate^2`` (the heteroskedasticity-robust standard error of
    two-stage least squares with the arm as the instrument): the rate's own sampling error is counted, and so is
    its covariance with the outcome. ``exp_df`` holds the statistics of the exposed units alone.
    """
    a = itt["arm"]
    theta = _theta(df)
    g = np.concatenate([[1.0], -theta])
    n, m, cp = _moments(df, a)
    nc, _, cpc = _moments(df, ctrl)
    n1 = float(exp_df.loc[a, "n"])
    m1 = np.array([float(exp_df.loc[a, f"s_{i}"]) for i in range(len(m))]) / n1
    rate = n1 / n
    beta = itt["estimate"] / rate
    cross = n1 * float(g @ (m1 - m))  # sum over the arm of (A - mean A)(e - mean e)
    ss = max(float(g @ cp @ g) - 2 * beta * cross + beta ** 2 * n1 * (1 - rate), 0.0)
    vt = ss / (n - 1) / n
    vc = max(float(g @ cpc @ g), 0.0) / (nc - 1) / nc
    r = dict(itt)
    r.update(estimand="tot", estimate=beta, std_error=float(np.sqrt(vt + vc)) / rate, treatment_mean=np.nan,
             control_mean=np.nan, exposure_rate=rate, dof=_welch_dof(vt, vc, n, nc), relative=np.nan,
             relative_se=np.nan)
    return r


def _arm_summary(df: pd.DataFrame, y: str, estimand: str) -> pd.DataFrame:
    out = []
    for a in df.index:
        n, m, cp = _moments(df, a)
        out.append({"metric": y, "estimand": estimand, "arm": a, "units": int(n), "mean": m[0],
                    "std": float(np.sqrt(cp[0, 0] / (n - 1)))})
    return pd.DataFrame(out)


def _adjust(p: np.ndarray, correction: str) -> np.ndarray:
    if correction == "none" or len(p) == 1:
        return p.copy()
    from statsmodels.stats.multitest import multipletests

    return multipletests(p, method=correction)[1]


def _bootstrap(t: Table, outcomes: list[str], covs: dict[str, list[str]], ctrl: Any, treat: list[Any],
               n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``n_boot x (outcomes x treatment arms)`` adjusted differences, the columns ordered by outcome, then arm
    (the order of the readout's rows). Units are resampled within each arm by the Poisson bootstrap (each unit
    weighted by an independent Poisson(1) count, the same weights for every outcome) and CUPED's theta is
    re-estimated in each replicate. The per-unit values come back from the engine once."""
    cols = list(dict.fromkeys(c for y in outcomes for c in [y, *covs.get(y, [])]))
    df = fetch(t.select("_arm", *cols), "pandas")
    groups = {a: df.loc[df["_arm"] == a, cols].to_numpy(float) for a in [ctrl, *treat]}
    index = {y: [cols.index(c) for c in [y, *covs.get(y, [])]] for y in outcomes}
    out = np.empty((n_boot, len(outcomes) * len(treat)))
    for b in range(n_boot):
        mom = {}
        with np.errstate(invalid="ignore", divide="ignore"):  # an arm drawn empty: NaN, left out of quantiles
            for a, v in groups.items():
                w = rng.poisson(1.0, len(v)).astype(float)
                m = w @ v / w.sum()
                c = v - m
                mom[a] = (m, (c * w[:, None]).T @ c)
            col = 0
            for y in outcomes:
                iy, ix = index[y][0], index[y][1:]
                theta = np.zeros(0)
                if ix:
                    pooled = sum(cp[np.ix_(index[y], index[y])] for _, cp in mom.values())
                    if np.isfinite(pooled).all():
                        theta = np.linalg.lstsq(pooled[1:, 1:], pooled[1:, 0], rcond=None)[0]
                    else:
                        theta = np.full(len(ix), np.nan)
                mc = mom[ctrl][0]
                for a in treat:
                    ma = mom[a][0]
                    out[b, col] = ma[iy] - mc[iy] - (theta @ (ma[ix] - mc[ix]) if ix else 0.0)
                    col += 1
    return out
