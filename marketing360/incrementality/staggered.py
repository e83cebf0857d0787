"""Staggered adoption: Callaway & Sant'Anna's (2021) group-time ATTs and their aggregations.

When units adopt a treatment at different times and its effect changes with
time since adoption, the two-way fixed effects regression compares late
adopters with early adopters that are already treated, and its coefficient
can be far from any average effect, even of the wrong sign (Goodman-Bacon,
2021). Callaway & Sant'Anna estimate instead, for each cohort ``g`` (the
units first treated in period ``g``) and period ``t``,

``ATT(g, t) = E[Y_t - Y_b | G = g] - E[Y_t - Y_b | C]``,

a 2 x 2 difference-in-differences of cohort ``g`` against a clean control
group ``C``: the never-treated units (``control="never_treated"``) or those
not yet treated by period ``max(t, b)`` (``"not_yet_treated"``). The base
period ``b`` is ``g - 1`` after adoption; before it, ``t - 1`` (``"varying"``,
R ``did``'s default) or ``g - 1`` (``"universal"``). This is the unconditional
estimator (no covariates), on a balanced panel.

The ATT(g, t) are aggregated as in R's ``aggte``: ``simple`` (post-adoption
cells weighted by cohort size), ``dynamic`` (by event time ``e = t - g``),
``group`` (by cohort) and ``calendar`` (by period), each with an overall
summary. Standard errors come from the influence functions (clustered by
unit, or by a coarser ``cluster=``), including the estimation of the
cohort-size weights; or from the multiplier bootstrap (Mammen or Rademacher
weights drawn per cluster), optionally with simultaneous (sup-t) bands.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> rows = [(u, t, g) for u, g in enumerate([3] * 30 + [5] * 30 + [0] * 40) for t in range(1, 7)]
>>> p = pd.DataFrame(rows, columns=["store", "week", "first_week"])
>>> on = (p.first_week > 0) & (p.week >= p.first_week)
>>> p["sales"] = p.store % 7 + 0.3 * p.week + np.where(on, 1 + (p.week - p.first_week), 0) + rng.normal(0, .1, len(p))
>>> r = staggered_did(p, unit="store", time="week", outcome="sales", cohort="first_week")
>>> r.dynamic.table().set_index("event_time").estimate.round(1).loc[0:3].to_dict()
{0: 1.0, 1: 2.0, 2: 3.0, 3: 4.0}
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, get_args

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ParameterError, SchemaError
from ..estimators import check_random_state
from ..types import BasePeriod, DiDControl, MultiplierWeights, TableLike
from ._panel import Panel, load_panel
from .did import FEW_CLUSTERS, EventStudy, WaldTest, band_interval, wald_test
from .effects import Effects, check_alpha

__all__ = ["staggered_did", "StaggeredDiD", "CohortEffects", "CalendarEffects", "OverallEffects",
           "DiDControl", "BasePeriod", "MultiplierWeights"]


_IQR_Z = float(stats.norm.ppf(0.75) - stats.norm.ppf(0.25))


class _Banded(Effects):
    """Effects whose intervals may be simultaneous bootstrap bands (``sup_t`` draws)."""

    def __init__(self, frame: pd.DataFrame, *, alpha: float, notes: list[str] | None = None,
                 sup_t: np.ndarray | None = None) -> None:
        self.sup_t = sup_t
        f = frame.copy()
        if sup_t is not None:
            f["lower"], f["upper"] = band_interval(f, sup_t, check_alpha(alpha), None)
        super().__init__(f, alpha=alpha, notes=notes)

    def _interval(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        return band_interval(self._computed(), self.sup_t, alpha, None)

    def _notes(self) -> list[str]:
        notes = super()._notes()
        if self.sup_t is not None:
            notes[-1] = f"{100 * (1 - self.alpha):g}% simultaneous bands (multiplier bootstrap, sup-t)"
        return notes


class CohortEffects(_Banded):
    """The ATT of each cohort: the mean of its post-adoption ATT(g, t)."""

    title: ClassVar[str] = "ATT by cohort (Callaway & Sant'Anna)"
    keys = ("cohort",)


class CalendarEffects(_Banded):
    """The ATT in each period: the cohort-size-weighted mean of the cohorts treated by then."""

    title: ClassVar[str] = "ATT by period (Callaway & Sant'Anna)"
    keys = ("time",)


class OverallEffects(Effects):
    """The overall summaries of the ATT(g, t), one row per aggregation (``simple`` is the headline)."""

    title: ClassVar[str] = "overall ATT (Callaway & Sant'Anna)"
    keys = ()  # the key is ``aggregation``; no sorting: the headline (``simple``) stays the first row


class StaggeredDiD(_Banded):
    """Callaway & Sant'Anna group-time effects ATT(g, t), one row per cohort and period, and their aggregations.

    Attributes
    ----------
    att : float
        The ``simple`` aggregation: the post-adoption ATT(g, t) weighted by cohort size.
    overall : OverallEffects
        ``aggregation`` in ``simple, group, dynamic, calendar``: the overall
        effect of each aggregation (``dynamic``: the mean over event times
        >= 0; ``group``: cohort effects weighted by cohort size; ``calendar``:
        the mean over periods).
    dynamic : EventStudy
        Effects by event time ``t - g`` (pre-adoption event times too), with
        the chi-square test that all leads are 0.
    by_cohort : CohortEffects
    calendar : CalendarEffects
    pretrend : WaldTest or None
        The chi-square test that every pre-adoption ATT(g, t) is 0 (R ``did``'s
        ``W`` / ``Wpval``); None when no pre-adoption cell exists.
    influence : numpy.ndarray
        Units x cells: the influence function of each ATT(g, t) (rows in the
        order of ``units``).
    units : numpy.ndarray
        The unit labels, in the rows' order of ``influence``.
    n_units, n_periods, n_clusters : int
    control : str
    base_period : str
    n_boot : int
        Multiplier bootstrap draws (0: analytic standard errors).
    skipped : list of (cohort, time)
        Cells without any control unit (not identified, left out).
    """

    title: ClassVar[str] = "group-time ATT (Callaway & Sant'Anna)"
    keys = ("cohort", "time")

    def __init__(self, frame: pd.DataFrame, *, alpha: float, notes: list[str], sup_t: np.ndarray | None,
                 parts: _Parts) -> None:
        super().__init__(frame, alpha=alpha, notes=notes, sup_t=sup_t)
        self.overall, self.dynamic = parts.overall, parts.dynamic
        self.by_cohort, self.calendar = parts.by_cohort, parts.calendar
        self.pretrend = parts.pretrend
        self.influence, self.units = parts.influence, parts.units
        self.n_units, self.n_periods, self.n_clusters = parts.n_units, parts.n_periods, parts.n_clusters
        self.control, self.base_period, self.n_boot = parts.control, parts.base_period, parts.n_boot
        self.skipped = parts.skipped

    @property
    def att(self) -> float:
        """The overall ATT (``simple`` aggregation)."""
        return float(self.overall.table().set_index("aggregation").loc["simple", "estimate"])

    def aggregate(self, kind: Literal["simple", "dynamic", "group", "calendar"] = "simple") -> Effects:
        """One aggregation: ``simple`` (the overall table), ``dynamic``, ``group`` (by cohort) or ``calendar``."""
        found: dict[str, Effects] = {"simple": self.overall, "dynamic": self.dynamic, "group": self.by_cohort,
                                     "calendar": self.calendar}
        if kind not in found:
            raise ParameterError(f"kind must be one of {list(found)}; found {kind!r}")
        return found[kind]

    def _notes(self) -> list[str]:
        notes = super()._notes()
        if self.pretrend is not None:
            notes.append(f"pre-trend test (all pre-adoption ATT(g,t) = 0): {self.pretrend}")
        return notes

    def plot(self, *, ax: Any = None, kind: Literal["dynamic", "group_time"] = "dynamic", **kwargs: Any) -> Any:
        """The event-study figure of the dynamic aggregation, or (``kind="group_time"``) the ATT(g, t) by cohort."""
        if kind == "dynamic":
            return self.dynamic.plot(ax=ax, **kwargs)
        if kind == "group_time":
            from ..viz.did import plot_group_time

            return plot_group_time(self.table(), ax=ax, **kwargs)
        raise ParameterError(f"kind must be 'dynamic' or 'group_time'; found {kind!r}")


@dataclass
class _Parts:
    overall: OverallEffects
    dynamic: EventStudy
    by_cohort: CohortEffects
    calendar: CalendarEffects
    pretrend: WaldTest | None
    influence: np.ndarray
    units: np.ndarray
    n_units: int
    n_periods: int
    n_clusters: int
    control: str
    base_period: str
    n_boot: int
    skipped: list[tuple[Any, Any]]


@dataclass
class _Agg:
    """An aggregation: its keys, estimates and influence functions (units x estimates)."""

    keys: list[Any]
    est: np.ndarray
    inf: np.ndarray


def _weight_inf(cohort_of_unit: np.ndarray, groups: np.ndarray, pg: np.ndarray) -> np.ndarray:
    """The influence function of the weights ``pg_k / sum(pg)`` estimated from cohort shares (units x cells)."""
    s = pg.sum()
    dev = (cohort_of_unit[:, None] == groups[None, :]).astype(float) - pg[None, :]
    return dev / s - dev.sum(axis=1, keepdims=True) * (pg / s**2)[None, :]


def _combine(att: np.ndarray, inf: np.ndarray, idx: np.ndarray, w: np.ndarray, wif: np.ndarray | None
             ) -> tuple[float, np.ndarray]:
    est = float(att[idx] @ w)
    out = inf[:, idx] @ w
    if wif is not None:
        out = out + wif @ att[idx]
    return est, out


def staggered_did(panel: TableLike, *, unit: str, time: str, outcome: str, cohort: str | None = None,
                  treated: str | None = None, control: DiDControl = "never_treated",
                  base_period: BasePeriod = "varying",
                  cluster: str | None = None, alpha: float = 0.05, n_boot: int = 0,
                  multiplier: MultiplierWeights = "mammen", uniform: bool = False,
                  random_state: Any = None) -> StaggeredDiD:
    """Callaway & Sant'Anna (2021) difference-in-differences for staggered adoption.

    Parameters
    ----------
    panel : table-like
        A balanced panel: one row per unit and period, every unit in every period.
    unit, time, outcome : str
        The unit, the period (numbers or dates, sorted) and the numeric outcome.
    cohort : str, optional
        Each unit's first treated period (the ``first.treat`` / ``gname`` of
        R ``did``): one of the panel's periods; NaN, 0 or inf for never
        treated; a period after the last counts as never treated.
    treated : str, optional
        Instead of ``cohort``: a 0/1 absorbing treatment column (the cohort
        is the first treated period).
    control : {"never_treated", "not_yet_treated"}, default "never_treated"
        The comparison units of each cell.
    base_period : {"varying", "universal"}, default "varying"
        Pre-adoption cells compare with the previous period, or all with ``g - 1``.
    cluster : str, optional
        A column constant within units to cluster by (a region, say); units by
        default. At least 2 clusters; fewer than 10 give a warning.
    alpha : float, default 0.05
    n_boot : int, default 0
        Multiplier bootstrap draws; 0 for analytic (influence function) errors.
    multiplier : {"mammen", "rademacher"}, default "mammen"
        The weights of the multiplier bootstrap, drawn once per cluster.
    uniform : bool, default False
        Simultaneous (sup-t) bands over the cells of each table (needs ``n_boot``).
    random_state : int, numpy Generator or None

    Returns
    -------
    StaggeredDiD
        The ATT(g, t) table (``cohort, time, estimate, std_error, lower, upper,
        p_value, event_time, base_time, n_treated, n_control``) with the
        aggregations ``overall``, ``dynamic``, ``by_cohort``, ``calendar`` and
        the ``pretrend`` test.

    Raises
    ------
    SchemaError
        An unbalanced panel, a cohort treated in the first period (no
        pre-period), repeated rows, NaN, a constant outcome, no treated unit.
    ParameterError
        No never-treated unit with ``control="never_treated"``, no cell with a
        control group, fewer than 2 clusters, unknown options.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"u": [1, 1, 2, 2, 3, 3], "t": [1, 2] * 3, "y": [1.0, 4, 2, 3, 0, 2],
    ...                   "g": [2, 2, 0, 0, 0, 0]})
    >>> r = staggered_did(p, unit="u", time="t", outcome="y", cohort="g")
    >>> round(r.att, 3)  # 3 - (1 + 2) / 2
    1.5
    """
    what = "staggered_did"
    a = check_alpha(alpha)
    for name, value, allowed in (("control", control, DiDControl), ("base_period", base_period, BasePeriod),
                                 ("multiplier", multiplier, MultiplierWeights)):
        if value not in get_args(allowed):
            raise ParameterError(f"{what}: {name} must be one of {list(get_args(allowed))}; found {value!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0 or 0 < n_boot < 50:
        raise ParameterError(f"{what}: n_boot must be 0 (analytic errors) or at least 50 bootstrap draws; "
                             f"found {n_boot!r}")
    if uniform and not n_boot:
        raise ParameterError(f"{what}: uniform (simultaneous) bands come from the bootstrap: set n_boot (e.g. 999)")
    p = load_panel(panel, unit=unit, time=time, outcome=outcome, treated=treated, cohort=cohort, cluster=cluster,
                   what=what, absorbing=True)
    _check(p, unit, time, cohort or treated or "", control, what)
    n, big_t = p.n_units, p.n_periods
    cl_unit = np.empty(n, dtype=np.int64)
    cl_unit[p.unit] = p.cluster
    if cluster is not None and (cl_unit[p.unit] != p.cluster).any():
        raise SchemaError(f"{what}: cluster column {cluster!r} must be constant within each unit", table="panel",
                          column=cluster)
    if p.n_clusters < 2:  # the influence functions sum to 0 over all units: one cluster would give 0 errors
        raise ParameterError(f"{what}: clustered standard errors need at least 2 clusters; column {cluster!r} has "
                             f"{p.n_clusters}")
    if cluster is not None and p.n_clusters < FEW_CLUSTERS:
        warnings.warn(f"{what}: only {p.n_clusters} clusters: cluster-robust standard errors are unreliable with "
                      f"fewer than {FEW_CLUSTERS} or so", UserWarning, stacklevel=2)

    cells, inf, skipped = _group_time(p, control, base_period)
    if not (cells["t"] >= cells["g"]).any():
        raise ParameterError(f"{what}: no post-adoption cohort-period has a control group ({control}); "
                             "nothing is identified")
    att = cells["estimate"].to_numpy(float)
    gs, ts = cells["g"].to_numpy(), cells["t"].to_numpy()
    e, post = ts - gs, ts >= gs
    dyn, grp, cal, summaries = _aggregate(att, inf, gs, ts, p.cohort)

    # standard errors: analytic from the cluster sums of the influence functions, or the multiplier bootstrap
    blocks = {"cells": inf, "dynamic": dyn.inf, "group": grp.inf, "calendar": cal.inf,
              "overall": np.column_stack([v[1] for v in summaries.values()])}
    n_cl = p.n_clusters
    sums = {k: np.stack([np.bincount(cl_unit, weights=v[:, j], minlength=n_cl) for j in range(v.shape[1])], 1)
            for k, v in blocks.items()}
    se = {k: np.sqrt((s**2).sum(axis=0)) / n for k, s in sums.items()}
    sup: dict[str, np.ndarray | None] = dict.fromkeys(blocks)
    if n_boot:
        se, boot_sup = _bootstrap(sums, n, int(n_boot), multiplier, check_random_state(random_state))
        if uniform:
            sup.update(boot_sup)
    n_boot_note = f"standard errors from {n_boot} multiplier bootstrap draws ({multiplier} weights, by cluster)" \
        if n_boot else "standard errors from the influence functions"
    lab = p.labels
    cluster_note = f"clustered by {cluster or unit} ({n_cl:,} clusters)"
    base_notes = [f"Callaway & Sant'Anna (2021), unconditional DiD; control: {control.replace('_', ' ')}; "
                  f"base period: {base_period}", f"{n:,} units x {big_t} periods; {n_boot_note}, {cluster_note}"]
    if skipped:
        base_notes.append(f"{len(skipped)} cohort-period cells have no control unit and are left out")

    cov_cells = sums["cells"].T @ sums["cells"] / n**2
    pre = np.flatnonzero(~post)
    pretrend = wald_test(att[pre], _block(cov_cells, pre), df_denom=None) if len(pre) else None
    if len(pre) and pretrend is None:
        base_notes.append("no pre-trend test: the covariance of the pre-adoption ATT(g,t) is singular")
    dyn_keys = np.array(dyn.keys)
    leads = np.flatnonzero(dyn_keys < 0)
    cov_dyn = sums["dynamic"].T @ sums["dynamic"] / n**2
    dyn_pre = wald_test(dyn.est[leads], _block(cov_dyn, leads), df_denom=None) if len(leads) else None
    n_at_e = [int(pd.unique(gs[e == k]).size) for k in dyn.keys]
    dynamic = EventStudy(pd.DataFrame({"event_time": dyn.keys, "estimate": dyn.est, "std_error": se["dynamic"],
                                       "n_cohorts": n_at_e}),
                         alpha=a, notes=[*base_notes, "effects by event time (dynamic aggregation)"],
                         reference=-1 if base_period == "universal" else None, pretrend=dyn_pre,
                         sup_t=sup["dynamic"])
    by_cohort = CohortEffects(pd.DataFrame({"cohort": lab(grp.keys), "estimate": grp.est, "std_error": se["group"],
                                            "n_units": [int((p.cohort == g).sum()) for g in grp.keys]}),
                              alpha=a, notes=base_notes, sup_t=sup["group"])
    calendar = CalendarEffects(pd.DataFrame({"time": lab(cal.keys), "estimate": cal.est,
                                             "std_error": se["calendar"]}),
                               alpha=a, notes=base_notes, sup_t=sup["calendar"])
    overall = OverallEffects(pd.DataFrame({"aggregation": list(summaries),
                                           "estimate": [v[0] for v in summaries.values()],
                                           "std_error": se["overall"]}), alpha=a, notes=base_notes)
    frame = pd.DataFrame({"cohort": lab(gs), "time": lab(ts), "estimate": att, "std_error": se["cells"],
                          "event_time": e, "base_time": lab(cells["b"].to_numpy()),
                          "n_treated": cells["n_treated"], "n_control": cells["n_control"]})
    parts = _Parts(overall=overall, dynamic=dynamic, by_cohort=by_cohort, calendar=calendar, pretrend=pretrend,
                   influence=inf, units=p.unit_labels, n_units=n, n_periods=big_t, n_clusters=n_cl, control=control,
                   base_period=base_period, n_boot=int(n_boot), skipped=skipped)
    return StaggeredDiD(frame, alpha=a, notes=base_notes, sup_t=sup["cells"], parts=parts)


def _group_time(p: Panel, control: str, base_period: str) -> tuple[pd.DataFrame, np.ndarray, list[tuple[Any, Any]]]:
    """Every identified ATT(g, t): the cells (``g, t, b`` as period positions, ``estimate``, counts), their
    influence functions (units x cells) and the cells left out for want of a control unit."""
    n, big_t = p.n_units, p.n_periods
    y = np.empty((n, big_t))
    y[p.unit, p.period] = p.y
    g_unit = p.cohort
    never = g_unit < 0
    g_cmp = np.where(never, np.iinfo(np.int64).max, g_unit)
    rows, infs, skipped = [], [], []
    for g in np.unique(g_unit[~never]):
        treat = g_unit == g
        for t in range(1 if base_period == "varying" else 0, big_t):
            b = g - 1 if (t >= g or base_period == "universal") else t - 1
            if t == b:
                continue
            ctrl = never if control == "never_treated" else never | ((g_cmp > max(t, b)) & (g_unit != g))
            if not ctrl.any():
                skipped.append((p.period_labels[g], p.period_labels[t]))
                continue
            dy = y[:, t] - y[:, b]
            mu_d, mu_c = dy[treat].mean(), dy[ctrl].mean()
            # ATT = E[D dy] / E[D] - E[C dy] / E[C]: its influence function over all n units
            infs.append(np.where(treat, (dy - mu_d) * n / treat.sum(), 0.0)
                        - np.where(ctrl, (dy - mu_c) * n / ctrl.sum(), 0.0))
            rows.append({"g": int(g), "t": t, "b": int(b), "estimate": mu_d - mu_c,
                         "n_treated": int(treat.sum()), "n_control": int(ctrl.sum())})
    cells = pd.DataFrame(rows, columns=["g", "t", "b", "estimate", "n_treated", "n_control"])
    return cells, (np.column_stack(infs) if infs else np.empty((n, 0))), skipped


def _aggregate(att: np.ndarray, inf: np.ndarray, gs: np.ndarray, ts: np.ndarray, g_unit: np.ndarray
               ) -> tuple[_Agg, _Agg, _Agg, dict[str, tuple[float, np.ndarray]]]:
    """R ``aggte``'s aggregations: by event time, by cohort, by period, and the four overall summaries.

    Cells are weighted by cohort size ``P(G = g)``, estimated, so the influence
    functions carry the estimation of the weights (except within a cohort,
    where the weights are equal).
    """
    e, post = ts - gs, ts >= gs
    pg_all = {int(g): float(np.mean(g_unit == g)) for g in np.unique(gs)}
    pg = np.array([pg_all[int(g)] for g in gs])

    def weighted(idx: np.ndarray) -> tuple[float, np.ndarray]:
        w = pg[idx] / pg[idx].sum()
        return _combine(att, inf, idx, w, _weight_inf(g_unit, gs[idx], pg[idx]))

    def mean_of(est: np.ndarray, infl: np.ndarray, keep: np.ndarray) -> tuple[float, np.ndarray]:
        idx = np.flatnonzero(keep)
        return _combine(est, infl, idx, np.full(len(idx), 1 / len(idx)), None)

    simple = weighted(np.flatnonzero(post))
    dyn = _collect([(int(k), weighted(np.flatnonzero(e == k))) for k in np.unique(e)])
    grp = _collect([(int(g), mean_of(att, inf, (gs == g) & post)) for g in np.unique(gs[post])])
    grp_pg = np.array([pg_all[g] for g in grp.keys])
    group_overall = _combine(grp.est, grp.inf, np.arange(len(grp.keys)), grp_pg / grp_pg.sum(),
                             _weight_inf(g_unit, np.array(grp.keys), grp_pg))
    cal = _collect([(int(t), weighted(np.flatnonzero(post & (ts == t)))) for t in np.unique(ts[post])])
    summaries = {"simple": simple, "group": group_overall,
                 "dynamic": mean_of(dyn.est, dyn.inf, np.array(dyn.keys) >= 0),
                 "calendar": mean_of(cal.est, cal.inf, np.ones(len(cal.keys), bool))}
    return dyn, grp, cal, summaries


def _block(cov: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The block of ``cov`` on ``idx``."""
    return cov[np.ix_(idx, idx)]


def _collect(items: list[tuple[int, tuple[float, np.ndarray]]]) -> _Agg:
    return _Agg([k for k, _ in items], np.array([v[0] for _, v in items]),
                np.column_stack([v[1] for _, v in items]))


def _check(p: Panel, unit: str, time: str, cohort: str, control: str, what: str) -> None:
    """The panel a group-time DiD needs: balanced, no cohort treated from the first period, clean controls."""
    if not p.balanced:
        per_unit = np.bincount(p.unit, minlength=p.n_units)
        short = np.flatnonzero(per_unit < p.n_periods)
        raise SchemaError(f"{what}: the panel must be balanced (every unit in all {p.n_periods} periods); "
                          f"{len(short)} unit(s) miss some, e.g. {unit}={p.unit_labels[short[0]]!r} has "
                          f"{per_unit[short[0]]}: drop them or fill the missing periods", table="panel", column=time)
    first = p.cohort == 0
    if first.any():
        raise SchemaError(f"{what}: {int(first.sum())} unit(s) (e.g. {unit}={p.unit_labels[np.argmax(first)]!r}) are "
                          f"treated from the first period ({time}={p.period_labels[0]!r}): they have no pre-period; "
                          "drop them", table="panel", column=cohort)
    if control == "never_treated" and not (p.cohort < 0).any():
        raise ParameterError(f"{what}: control='never_treated' needs units that are never treated; every unit is "
                             "treated in the panel (use control='not_yet_treated')")


def _bootstrap(sums: dict[str, np.ndarray], n: int, n_boot: int, weights: str, rng: np.random.Generator
               ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Multiplier bootstrap by cluster: IQR-based standard errors and the sup-t draws of each block."""
    keys = list(sums)
    allsums = np.column_stack([sums[k] for k in keys])
    g = allsums.shape[0]
    draws = np.empty((n_boot, allsums.shape[1]))
    for start in range(0, n_boot, 200):
        b = min(200, n_boot - start)
        if weights == "rademacher":
            v = rng.choice(np.array([-1.0, 1.0]), size=(b, g))
        else:
            s5 = np.sqrt(5.0)
            v = np.where(rng.random((b, g)) < (s5 + 1) / (2 * s5), (1 - s5) / 2, (1 + s5) / 2)
        draws[start:start + b] = v @ allsums / n
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0)
    se_all = (q75 - q25) / _IQR_Z
    se, sup, col = {}, {}, 0
    for k in keys:
        m = sums[k].shape[1]
        s = se_all[col:col + m]
        se[k] = s
        ok = s > 0
        sup[k] = np.abs(draws[:, col:col + m][:, ok] / s[ok]).max(axis=1) if ok.any() else np.zeros(n_boot)
        col += m
    return se, sup
