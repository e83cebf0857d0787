"""Enhance: response curves through the measured arms, and the budget that maximises the next round.

For each plan row (channel x audience) the readout gives incremental
purchases per consumer at a few spends per consumer: zero (the controls) and
one per dose arm. A saturating curve goes through them,

    y(s) = beta * s / (s + kappa)        (Hill with shape 1; kappa -> inf is a line)

fitted by weighted least squares (the arms' variances, and the covariance the
dose arms share through their control). Earlier rounds' readouts (``history``)
add their arms to the same curves: each round is its own randomisation, so
its arms are independent of the others' and the curves gain the precision of
every round run so far. Two more sources inform the curves: priors on each
row's bend ``kappa`` (``prior=``; :func:`~marketing360.playbook.mmm_prior` reads
them off a fitted marketing-mix model's response curves), a log-normal
penalty where two dose arms cannot place the bend; and the attribution
calibrated on the readout (``attribution=``): each arm's calibrated
conversions, the attribution's credit and the measured lift weighed by their
precision, stand in for its raw estimate. A row's response to a budget ``b``
rolled out to its whole audience of ``N`` consumers is ``N * y(b / N)``; the
optimiser of the marketing-mix model
(:func:`~marketing360.incrementality.mmm.optimize.allocate`) spreads the total
budget over the rows within bounds. The predicted gain of the new plan over
the old one is given with an interval from draws of the arms' estimates
(the curves refitted for each draw, the plan held fixed).

Examples
--------
>>> fit_curve(np.array([1.0, 3.0]), np.array([0.5, 0.75]), np.diag([1e-4, 1e-4]))[0].round(3).tolist()
[1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
from scipy import linalg, optimize

from ..errors import ParameterError
from ..estimators import check_random_state
from ..incrementality.mmm.optimize import allocate, budget_bounds
from ..results import Result, Summary
from .design import CampaignDesign
from .evaluate import CampaignReadout, arms_covariance

if TYPE_CHECKING:
    from ..attribution import Attribution

__all__ = ["reallocate", "Reallocation", "fit_curve", "response"]

#: the grid of half-saturation spends a curve is profiled over, in multiples of the largest arm's spend
_KAPPA_GRID = np.geomspace(1e-3, 1e3, 241)


def response(s: np.ndarray, beta: float, kappa: float) -> np.ndarray:
    """``beta * s / (s + kappa)``; ``kappa = inf`` is the line ``beta * s`` (``beta`` then a slope)."""
    s = np.asarray(s, dtype=float)
    return beta * s if np.isinf(kappa) else beta * s / (s + kappa)


def _slope(s: np.ndarray, beta: float, kappa: float) -> np.ndarray:
    s = np.asarray(s, dtype=float)
    return np.full_like(s, beta) if np.isinf(kappa) else beta * kappa / (s + kappa) ** 2


def fit_curve(s: np.ndarray, y: np.ndarray, cov: np.ndarray,
              prior: tuple[float, float] | None = None) -> tuple[np.ndarray, float]:
    """Fit ``y = beta * s / (s + kappa)`` (through the origin) to arms at spends ``s`` per consumer.

    Weighted least squares with the arms' covariance ``cov``: ``beta`` in closed form for each ``kappa`` on a
    log grid (and the straight line, ``kappa = inf``); ``beta >= 0``. A ``prior`` ``(kappa0, sd)`` adds
    ``((log kappa - log kappa0) / sd) ** 2`` to the loss (a log-normal prior on the half-saturation spend; the
    straight line is then ruled out). Returns ``([beta, kappa], loss)``, the loss with the prior's term.
    """
    w = np.linalg.pinv(cov)
    if prior is not None:
        k0, sd = float(prior[0]), float(prior[1])
        if not (np.isfinite(k0) and k0 > 0 and np.isfinite(sd) and sd > 0):
            raise ParameterError(f"a curve prior needs kappa > 0 and sd > 0 (finite); found {prior!r}")

    def penalty(kappa: float) -> float:
        return 0.0 if prior is None else float(((np.log(kappa) - np.log(k0)) / sd) ** 2)

    def solve(kappa: float) -> tuple[float, float]:
        g = s if np.isinf(kappa) else s / (s + kappa)
        den = float(g @ w @ g)
        beta = max(0.0, float(g @ w @ y) / den) if den > 0 else 0.0
        r = y - beta * g
        return beta, float(r @ w @ r) + (np.inf if np.isinf(kappa) and prior is not None else penalty(kappa))

    grid = _KAPPA_GRID * s.max()
    if prior is not None:  # the prior's own range, wherever it lies
        grid = np.unique(np.concatenate([grid, k0 * np.exp(np.linspace(-6 * sd, 6 * sd, 121))]))
    losses = [solve(k)[1] for k in grid]
    i = int(np.argmin(losses))
    beta_line, loss_line = solve(np.inf)
    if loss_line <= losses[i]:
        return np.array([beta_line, np.inf]), loss_line
    lo, hi = np.log(grid[max(i - 1, 0)]), np.log(grid[min(i + 1, len(grid) - 1)])
    res = optimize.minimize_scalar(lambda z: solve(float(np.exp(z)))[1], bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-10})
    kappa = float(np.exp(res.x)) if res.fun <= losses[i] else float(grid[i])
    beta, loss = solve(kappa)
    return np.array([beta, kappa]), loss


class Reallocation(Result):
    """The next plan: per ``channel, audience``: ``current`` and ``optimal`` budget, the bounds, the predicted
    response (incremental purchases) at each, and the marginal response per unit of spend.

    Attributes
    ----------
    gain, gain_lower, gain_upper : float
        Predicted extra incremental purchases of the new plan over the current one (rolled out to the whole
        audiences), with its interval.
    prob_gain : float
        Share of the draws of the arms' estimates in which the new plan beats the current one.
    curves : pandas.DataFrame
        ``channel, audience, consumers, beta, kappa``: each row's fitted curve, and the prior on its bend
        (``prior_kappa, prior_sd``; missing without one).
    points : pandas.DataFrame
        The arms the curves went through (``design`` names the round's randomisation; ``source`` says whether
        an arm's estimate is as measured, ``"arms"``, or the calibrated attribution's, ``"attribution"``).
    design : CampaignDesign
        The next round's design: the same audiences, holdouts and arms at the new budgets (its
        ``with_budgets({}, name=...)`` draws them afresh, for a round to pool with this one).
    """

    title: ClassVar[str] = "budget reallocation"
    keys = ("audience", "channel")

    def __init__(self, frame: pd.DataFrame, *, gain: float, gain_lower: float, gain_upper: float,
                 prob_gain: float, curves: pd.DataFrame, points: pd.DataFrame, design: CampaignDesign,
                 alpha: float) -> None:
        super().__init__(frame)
        self.gain, self.gain_lower, self.gain_upper, self.prob_gain = gain, gain_lower, gain_upper, prob_gain
        self.curves, self.points, self.design, self.alpha = curves, points, design, alpha

    def _notes(self) -> list[str]:
        t = self.table()
        return [f"total budget {t.optimal.sum():,.2f} (now {t.current.sum():,.2f})",
                f"predicted gain {self.gain:,.1f} incremental purchases "
                f"({1 - self.alpha:.0%} interval {self.gain_lower:,.1f} .. {self.gain_upper:,.1f}); the new plan wins "
                f"in {self.prob_gain:.0%} of the draws of the measured arms"]

    def summary(self) -> Summary:
        return Summary(self.title, notes=self._notes(), tables=[("plan", self.table()), ("curves", self.curves)])

    def plan(self) -> pd.DataFrame:
        """``channel, audience, budget`` of the new plan."""
        t = self.table()
        return pd.DataFrame({"channel": t.channel, "audience": t.audience, "budget": t.optimal})

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """Each row's response curve with its measured arms, and the current and new budgets on it."""
        from ..viz.playbook import plot_reallocation

        return plot_reallocation(self, ax=ax, **kwargs)


def reallocate(readout: CampaignReadout, *, history: Sequence[CampaignReadout] = (), prior: pd.DataFrame | None = None,
               attribution: Attribution | None = None, budget: float | None = None,
               bounds: tuple[float, float] | Mapping[str, tuple[float, float]] = (0.5, 2.0), n_draws: int = 400,
               alpha: float = 0.05, random_state: Any = 0) -> Reallocation:
    """Spread the budget over the plan's rows where the fitted response curves say it adds most.

    Parameters
    ----------
    readout : CampaignReadout
        From :func:`~marketing360.playbook.evaluate_campaign`: each row needs at least one dose arm.
    history : sequence of CampaignReadout
        Readouts of earlier rounds on the same audiences, each from its own randomisation (a design of another
        name, :meth:`~marketing360.playbook.CampaignDesign.with_budgets`): their arms of the current plan's rows
        join the curves' fits (and the interval's draws). Rows they lack, and rows of theirs the plan lacks, are
        left out.
    prior : pandas.DataFrame, optional
        Prior curves: ``channel`` (and optionally ``audience``), ``kappa`` (the spend per consumer at which a row's
        response reaches half its maximum) and ``sd`` (the standard deviation of ``log kappa``), as
        :func:`~marketing360.playbook.mmm_prior` reads them off a fitted marketing-mix model's response curves.
        Each row's fit adds ``((log kappa - log prior kappa) / sd) ** 2`` to its loss: a guide where two dose
        arms cannot place the curve's bend. Rows without a prior are fitted by their arms alone.
    attribution : Attribution, optional
        An attribution of the campaign's consumers credited per campaign arm and calibrated on this readout
        (``readout.calibrate(attribution)``, one method): the curves go through each arm's calibrated
        conversions instead of its raw estimate (the attribution's credit and the measured lift weighed by their
        precision), with the posterior's variances; the arms of ``history`` stay as measured.
    budget : float, optional
        Total budget of the next round (default: the current one).
    bounds : (low, high) or dict
        Multiples of each row's current budget (every row), or a dict of channel -> ``(low, high)`` budget.
    n_draws : int
        Draws of the arms' estimates for the gain's interval.
    alpha : float
        1 - the interval coverage.
    random_state : int, Generator or None

    Returns
    -------
    Reallocation

    Raises
    ------
    ParameterError
        Not a readout, a row without a dose arm, impossible bounds or budget, a readout of the history from
        the same randomisation (design name) as another, or on audiences of other sizes; a prior without its
        columns, naming unknown channels or with kappa or sd not > 0; an attribution that is not calibrated
        on this readout, is not credited per campaign or holds several methods.
    """
    readouts = [readout, *([history] if isinstance(history, CampaignReadout) else history)]
    for r in readouts:
        if not isinstance(r, CampaignReadout):
            raise ParameterError(f"readout and history must be CampaignReadouts (playbook.evaluate_campaign); "
                                 f"found {type(r).__name__}")
    names = [r.design.name for r in readouts]
    if len(set(names)) < len(names):
        raise ParameterError(f"the readouts share a randomisation (design names {names}): their arms are not "
                             "independent; give each round's design its own name (CampaignDesign.with_budgets)")
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 20:
        raise ParameterError(f"n_draws must be a whole number >= 20; found {n_draws!r}")
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha must be in (0, 1); found {alpha!r}")
    design = readout.design
    plan = design.table()
    keys = list(zip(plan.channel, plan.audience))
    sizes = dict(zip(keys, plan.consumers))
    per_round = []  # each readout's dose arms and audience sizes, read once
    for r in readouts:
        t, d = r.table(), r.design.table()
        per_round.append((r, t[t.scope == "channel"], dict(zip(zip(d.channel, d.audience), d.consumers))))
    priors = _row_priors(prior, keys)
    if attribution is not None:  # the current round's arms, as the calibrated attribution credits them
        per_round[0] = (readout, _calibrated_arms(attribution, readout, per_round[0][1]), per_round[0][2])
    pts, covs, used = [], [], []
    for c, a in keys:
        blocks = []
        for r, arms, consumers in per_round:
            g = arms[(arms.channel == c) & (arms.audience == a)]
            if r is readout and g.empty:
                raise ParameterError(f"the readout has no dose arm of ({c}, {a}): each plan row needs one")
            if g.empty:
                continue
            if consumers[(c, a)] != sizes[(c, a)]:
                raise ParameterError(f"a readout of the history has {consumers[(c, a)]:,} consumers in ({c}, {a}), "
                                     f"the plan {sizes[(c, a)]:,}: the rounds must share their audiences")
            blocks.append((g, _arms_cov(g)))
            used.append(g.assign(design=r.design.name))
        pts.append((np.concatenate([g.spend_per_consumer.to_numpy(float) for g, _ in blocks]),
                    np.concatenate([g.estimate.to_numpy(float) for g, _ in blocks])))
        covs.append(linalg.block_diag(*[cov for _, cov in blocks]))  # rounds are independent randomisations
    n = plan.consumers.to_numpy(float)
    now = plan.budget.to_numpy(float)
    current = pd.Series(now, index=[f"{c}|{a}" for c, a in keys])
    if isinstance(bounds, Mapping):
        per_row = {f"{c}|{a}": bounds[c] for c, a in keys if c in bounds}
        unknown = sorted(set(bounds) - set(plan.channel))
        if unknown:
            raise ParameterError(f"bounds name channel(s) {unknown} that are not in the plan")
        lo, hi = budget_bounds(per_row, current)
    else:
        lo, hi = budget_bounds(bounds, current)
    total_budget = float(now.sum()) if budget is None else float(budget)
    if not np.isfinite(total_budget) or total_budget < 0:
        raise ParameterError(f"budget must be a non-negative number; found {budget!r}")
    if not lo.sum() - 1e-9 <= total_budget <= hi.sum() + 1e-9:
        raise ParameterError(f"budget {total_budget:,.2f} lies outside what the bounds allow "
                             f"({lo.sum():,.2f} .. {hi.sum():,.2f})")

    def fitted(ys: list[np.ndarray]) -> list[np.ndarray]:
        return [fit_curve(s, y, cov, pr)[0] for (s, _), y, cov, pr in zip(pts, ys, covs, priors)]

    params = fitted([y for _, y in pts])

    def total(b: np.ndarray, p: list[np.ndarray] = params) -> float:
        return float(sum(n[i] * response(b[i] / n[i], *p[i]) for i in range(len(n))))

    def grad(b: np.ndarray) -> np.ndarray:
        return np.array([_slope(b[i] / n[i], *params[i]) for i in range(len(n))], dtype=float)

    best = allocate(total, grad, total_budget, lo, hi, now)
    gain = total(best) - total(now)
    rng = check_random_state(random_state)
    draws = []
    for _ in range(int(n_draws)):
        ys = [rng.multivariate_normal(y, cov) for (_, y), cov in zip(pts, covs)]
        p = fitted(ys)
        draws.append(total(best, p) - total(now, p))
    g_lo, g_hi = np.quantile(draws, [alpha / 2, 1 - alpha / 2])

    def each(f: Any, b: np.ndarray) -> list[float]:
        return [float(f(b[i] / n[i], *params[i])) for i in range(len(n))]

    frame = pd.DataFrame({"channel": plan.channel, "audience": plan.audience, "consumers": plan.consumers,
                          "current": now, "optimal": best, "low": lo, "high": hi,
                          "response_current": n * each(response, now), "response_optimal": n * each(response, best),
                          "marginal_current": each(_slope, now), "marginal_optimal": each(_slope, best)})
    curves = pd.DataFrame({"channel": plan.channel, "audience": plan.audience, "consumers": plan.consumers,
                           "beta": [p[0] for p in params], "kappa": [p[1] for p in params],
                           "prior_kappa": [np.nan if pr is None else pr[0] for pr in priors],
                           "prior_sd": [np.nan if pr is None else pr[1] for pr in priors]})
    points = pd.concat(used, ignore_index=True)
    points["source"] = points["source"].fillna("arms") if "source" in points.columns else "arms"
    points = points[["design", "source", "channel", "audience", "arm", "spend_per_consumer", "estimate",
                     "std_error"]]
    nxt = design.with_budgets({k: float(b) for k, b in zip(keys, best)})
    return Reallocation(frame, gain=float(gain), gain_lower=float(g_lo), gain_upper=float(g_hi),
                        prob_gain=float(np.mean(np.asarray(draws) > 0)), curves=curves,
                        points=points, design=nxt, alpha=alpha)


def _arms_cov(g: pd.DataFrame) -> np.ndarray:
    """The arms' covariance: as measured, or the calibrated attribution's posterior (:func:`_calibrated_arms`)."""
    if "lift_weight" not in g.columns:
        return arms_covariance(g)
    wgt = g.lift_weight.to_numpy(float)
    cov = np.outer(wgt, wgt) * float(g.control_variance.iloc[0])
    np.fill_diagonal(cov, g.std_error.to_numpy(float) ** 2)
    return cov


def _calibrated_arms(attribution: Any, readout: CampaignReadout, arms: pd.DataFrame) -> pd.DataFrame:
    """The readout's dose arms with the calibrated attribution's conversions (per consumer) as estimates.

    Each arm's calibrated conversions are the precision-weighted mean of the attribution's scaled credit and the
    measured lift; their standard error is the posterior's. Arms of one row share their control: the covariance
    of two calibrated arms is taken as the product of the lifts' weights times the control's variance (the
    attribution's credits held fixed).
    """
    from ..attribution import Attribution

    if not isinstance(attribution, Attribution):
        raise ParameterError(f"attribution must be an Attribution; found {type(attribution).__name__}")
    if attribution.key != "campaign":
        raise ParameterError("attribution must credit campaigns (journeys(..., key='campaign')): the readout's arms "
                             f"are campaigns; it credits {attribution.key}s")
    if len(attribution.methods) != 1:
        raise ParameterError(f"attribution must hold one method; it holds {attribution.methods}")
    m = attribution.methods[0]
    post = attribution.params.get(m, {}).get("posterior")
    names = readout.lifts(key="campaign").channel.to_numpy()
    if not isinstance(post, pd.DataFrame) or not set(names) <= set(post.index):
        raise ParameterError(f"attribution {m!r} is not calibrated on this readout's arms: calibrate it first "
                             "(readout.calibrate(attribution))")
    credit = attribution.table().set_index("channel").conversions.reindex(names).fillna(0.0).to_numpy(float)
    n = arms.consumers.to_numpy(float)
    p = post.loc[names]
    return arms.assign(estimate=credit / n, std_error=p.std_error.to_numpy(float) / n,
                       lift_weight=p.lift_weight.to_numpy(float), source="attribution")


def _row_priors(prior: Any, keys: list[tuple[str, str]]) -> list[tuple[float, float] | None]:
    """Each plan row's ``(kappa, sd)`` from a prior table (the row's own audience first, then its channel's)."""
    if prior is None:
        return [None] * len(keys)
    if not isinstance(prior, pd.DataFrame):
        raise ParameterError(f"prior must be a DataFrame (channel, kappa, sd[, audience]); found "
                             f"{type(prior).__name__}")
    missing = [c for c in ("channel", "kappa", "sd") if c not in prior.columns]
    if missing:
        raise ParameterError(f"prior lacks column(s) {missing}; found {list(prior.columns)}")
    k, sd = (pd.to_numeric(prior[c], errors="coerce").to_numpy(float) for c in ("kappa", "sd"))
    if not (np.isfinite(k).all() and np.isfinite(sd).all() and (k > 0).all() and (sd > 0).all()):
        raise ParameterError(f"prior: kappa and sd must be finite numbers > 0; found kappa {k.tolist()}, "
                             f"sd {sd.tolist()}")
    unknown = sorted(set(prior.channel) - {c for c, _ in keys})
    if unknown:
        raise ParameterError(f"prior names channel(s) {unknown} that are not in the plan")
    aud = prior["audience"] if "audience" in prior.columns else pd.Series([None] * len(prior), index=prior.index)
    table: dict[tuple[str, str | None], tuple[float, float]] = {}
    for c, a, kk, ss in zip(prior.channel, aud, k, sd):
        key = (c, None if a is None or (not isinstance(a, str) and pd.isna(a)) else a)
        if key in table:
            raise ParameterError(f"prior gives {key} twice")
        table[key] = (float(kk), float(ss))
    return [table.get((c, a), table.get((c, None))) for c, a in keys]
