"""The marketing-mix model: adstock, saturation and a baseline, fitted by non-linear least squares in seconds.

:class:`MMM` is a scikit-learn style estimator. ``fit`` reads spend and
outcomes (any table the engines accept, or an ``MMMData`` from the Robyn,
PyMC-Marketing and Meridian readers), national or per geo, optionally
calibrated by lift tests; what it learned then answers:

* :meth:`MMM.roas` — per channel: spend, contribution, ROAS, marginal ROAS and the cost per incremental
  unit, with intervals;
* :meth:`MMM.parameters` — adstock, saturation and effect parameters with intervals, in the data's units;
* :meth:`MMM.contributions` — the outcome decomposed per period (and geo) into baseline, trend, season,
  controls and channels;
* :meth:`MMM.response_curves` — the outcome per period at a steady spend, with bands;
* :meth:`MMM.optimize_budget` — the allocation that maximises the outcome within bounds, for a fixed
  budget or a target marginal ROAS.

Intervals come from the curvature of the least-squares fit (the Gauss-Newton
covariance ``sigma^2 (J'J)^-1`` at the optimum, lift tests included) and the
delta method, with Student t quantiles; their coverage is measured on
simulated worlds in ``benchmarks/`` (``mmm-accuracy``).

Examples
--------
>>> from marketing360.datasets import read_pymc_mmm
>>> mmm = MMM(saturation="logistic", random_state=0).fit(read_pymc_mmm(), controls=["event_1", "event_2"])
>>> mmm.parameters().table().query("parameter == 'theta'")[["channel", "estimate"]].round(2).values.tolist()
[['x1', 0.4], ['x2', 0.19]]
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ...errors import ParameterError
from ...estimators import Estimator, check_random_state
from ..effects import check_alpha, check_count
from ._fit import Lift, MediaModel, Spec, _partial, fit_model
from .calibration import lift_tests as _lift_tests
from .panel import Level, MMMPanel, Target, mmm_panel
from .results import BudgetPlan, Decomposition, MMMChannels, MMMParameters, ResponseCurves
from .transforms import ADSTOCK_PARAMS, SATURATION_PARAMS, adstock_weights, saturation, saturation_grad

__all__ = ["MMM"]

_DAYS_PER_YEAR = 365.25
#: spend correlation above which two channels are taken for one (the data cannot tell them apart)
_COLLINEAR = 0.999


class MMM(Estimator):
    """Marketing-mix model: ``outcome = baseline + sum over channels of beta * saturation(adstock(spend))``.

    Parameters
    ----------
    adstock : {"geometric", "weibull_cdf", "weibull_pdf"}
        The carry-over of spend over the following periods (see :mod:`~.transforms`).
    saturation : {"hill", "logistic"}
        The diminishing returns of the adstocked spend.
    l_max : int
        Periods an adstock reaches (the spend's own period included).
    normalize : bool
        Adstock weights sum to 1 (the adstock is in spend units; PyMC-Marketing's ``normalize=True``).
    level : {"national", "geo"}
        Sum geos into one series, or fit every geo with shared media curves on a per-capita scale (each geo's
        outcome and spend over its size: its ``population`` control where the data has one, else its mean
        outcome), an intercept per geo and a shared trend and season.
    target : {"revenue", "conversions"}
        The outcome. With conversions, ROAS reads "conversions per unit of spend" and the cost per
        incremental conversion is reported.
    trend : bool
        A linear trend in the baseline.
    seasonality : int
        Order of the yearly Fourier terms of the baseline (0: none).
    prior_sd : float, optional
        Regularise the saturation curves: log-normal penalties with this standard deviation pull ``half``
        towards the channel's mean positive spend, ``slope`` and the logistic ``lam`` (per mean positive
        spend) towards 1.5 — a weak prior where the data pin a curve down, a guide where they do not (a
        channel always on, or a short national series). None (the default) fits by least squares alone. On 15
        simulated 156-week national series, 0.5 cut the median ROAS error from 32% to 21%, but the intervals
        then covered 88% of the true ROAS instead of 92% (held-out figures: ``benchmarks/`` suite
        ``mmm-accuracy``).
    n_starts : int
        Random starts of the adstock / saturation parameters (each with its linear part solved exactly); the
        best three are refined by non-linear least squares.
    alpha : float
        Level of the reported intervals (0.05: 95%).
    random_state : int, numpy Generator or None
        Seeds the random starts.

    Attributes
    ----------
    panel_ : MMMPanel
        The data the model was fitted on.
    solution_ : Solution
        Parameters and covariance in scaled units, residual sd, degrees of freedom.
    r2_ : float
        Share of the outcome's variance the model explains (per geo and period).
    lift_tests_ : pandas.DataFrame or None
        The lift tests, with the model's own lift (``model_lift``) next to the measured one.

    Examples
    --------
    >>> MMM(l_max=4).get_params()["l_max"]
    4
    """

    def __init__(self, *, adstock: str = "geometric", saturation: str = "hill", l_max: int = 8,
                 normalize: bool = True, level: Level = "national", target: Target = "revenue", trend: bool = True,
                 seasonality: int = 2, prior_sd: float | None = None, n_starts: int = 24, alpha: float = 0.05,
                 random_state: Any = 0) -> None:
        self.adstock = adstock
        self.saturation = saturation
        self.l_max = l_max
        self.normalize = normalize
        self.level = level
        self.target = target
        self.trend = trend
        self.seasonality = seasonality
        self.prior_sd = prior_sd
        self.n_starts = n_starts
        self.alpha = alpha
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def _check_settings(self) -> Spec:
        if self.adstock not in ADSTOCK_PARAMS:
            raise ParameterError(f"adstock must be one of {sorted(ADSTOCK_PARAMS)}; found {self.adstock!r}")
        if self.saturation not in SATURATION_PARAMS:
            raise ParameterError(f"saturation must be one of {sorted(SATURATION_PARAMS)}; found "
                                 f"{self.saturation!r}")
        check_count(self.l_max, "l_max", 1, what="MMM")
        check_count(self.seasonality, "seasonality", 0, what="MMM")
        check_count(self.n_starts, "n_starts", 1, what="MMM")
        check_alpha(self.alpha)
        if self.prior_sd is not None and not (isinstance(self.prior_sd, (int, float)) and not
                                              isinstance(self.prior_sd, bool) and 0 < self.prior_sd < np.inf):
            raise ParameterError(f"MMM: prior_sd must be a positive number or None; found {self.prior_sd!r}")
        if not isinstance(self.trend, (bool, np.bool_)) or not isinstance(self.normalize, (bool, np.bool_)):
            raise ParameterError("MMM: trend and normalize must be True or False")
        return Spec(self.adstock, self.saturation, int(self.l_max), bool(self.normalize))

    def fit(self, spend: Any, outcomes: Any = None, *, controls: Any = None, lift_tests: Any = None) -> "MMM":
        """Fit the model.

        Parameters
        ----------
        spend : table-like or MMMData
            The canonical spend table (``date, geo, channel, spend``), or an ``MMMData`` bundle.
        outcomes : table-like, optional
            The canonical outcomes table (not with an ``MMMData``).
        controls : table-like or list of str, optional
            Controls, long (``date, geo, name, value``); with an ``MMMData``, the names of its controls to use
            (default: all of them).
        lift_tests : DataFrame or list of dict, optional
            Lift tests to calibrate with (:func:`~.calibration.lift_tests`): ``channel, start, end,
            delta_spend, lift, std_error`` and optionally ``geos``.

        Raises
        ------
        ParameterError
            A bad setting; a channel whose spend is zero throughout; channels whose spend moves together
            (the data cannot tell them apart); fewer periods than parameters; a lift test of an unknown
            channel or geo, outside the data's periods, or removing more spend than was spent.
        SchemaError
            Bad tables (see :func:`~.panel.mmm_panel`).
        """
        spec = self._check_settings()
        tests = None if lift_tests is None else _lift_tests(lift_tests)
        panel = mmm_panel(spend, outcomes, target=self.target, controls=controls, level=self.level)
        _check_spend(panel)
        size = panel.size[None, :]
        xpc = panel.x / size[:, :, None]
        positive = np.where(xpc > 0, xpc, np.nan)
        x_scale = np.nanmean(positive.reshape(-1, panel.x.shape[2]), axis=0)
        ypc = panel.y / size
        y_scale = float(np.mean(np.abs(ypc))) or 1.0
        Z, names = _baseline(panel, trend=bool(self.trend), order=int(self.seasonality))
        model = MediaModel(spec, xpc / x_scale, ypc / y_scale, Z, panel.size, y_scale)
        if model.T * model.G <= model.P + model.G + 2:
            raise ParameterError(f"MMM: {model.T * model.G} observations for {model.P + model.G} parameters; give more "
                                 "periods, fewer channels or controls, or a lower seasonality")
        _check_baseline(Z, names, model.T, model.G)
        if tests is not None:
            model.lifts = [_lift(panel, row, x_scale, spec) for row in tests.itertuples(index=False)]
        model.prior_sd = None if self.prior_sd is None else float(self.prior_sd)
        sol = fit_model(model, n_starts=int(self.n_starts), rng=check_random_state(self.random_state))
        self.panel_, self.spec_, self.model_, self.solution_ = panel, spec, model, sol
        self.x_scale_, self.y_scale_, self.baseline_names_ = x_scale, y_scale, names
        resid = ypc - model.predict(sol.p) * y_scale
        self.r2_ = float(1 - np.sum(resid ** 2) / np.sum((ypc - ypc.mean(axis=0)) ** 2))
        self.lift_tests_ = None
        if tests is not None:
            self.lift_tests_ = tests.assign(model_lift=[model.lift_of(sol.p, lt) for lt in model.lifts])
        self._warn_fit(resid)
        return self

    def _warn_fit(self, resid: np.ndarray) -> None:
        r = resid - resid.mean(axis=0)
        rho = float(np.sum(r[1:] * r[:-1]) / np.sum(r * r)) if len(r) > 2 else 0.0
        if rho > 0.5:
            warnings.warn(f"MMM: the residuals are autocorrelated (lag-1 correlation {rho:.2f}): the baseline "
                          "misses a slow movement (a trend, a season, a control), and the intervals are too narrow",
                          UserWarning, stacklevel=3)

    # ------------------------------------------------------------------ quantities with intervals
    def _delta(self, f: Any, idx: Sequence[int]) -> tuple[float, float]:
        """``f(p)`` at the estimate and its delta-method standard error over parameters ``idx``."""
        sol, m = self.solution_, self.model_
        p = sol.p
        g = np.array([_partial(f, p, j, m.lo[j], m.hi[j]) for j in idx])
        cov = sol.cov[np.ix_(idx, idx)]
        return float(f(p)), float(np.sqrt(max(g @ cov @ g, 0.0)))

    def _t(self, alpha: float | None = None) -> float:
        a = self.alpha if alpha is None else check_alpha(alpha)
        return float(stats.t.ppf(1 - a / 2, self.solution_.dof))

    def _channel_index(self, channel: str) -> int:
        chans = self.panel_.channels
        if channel not in chans:
            raise ParameterError(f"unknown channel {channel!r}; the model's channels are {chans}")
        return chans.index(channel)

    def contribution_of(self, p: np.ndarray, c: int) -> float:
        """Channel ``c``'s contribution to the outcome over the data's periods (original units)."""
        return float(self.y_scale_ * (self.model_.media(p, c) * self.panel_.size[None, :]).sum())

    def _shares(self, c: int) -> np.ndarray:
        """The channel's spend share by geo over the data (sizes where it never spent)."""
        tot = self.panel_.x[:, :, c].sum(axis=0)
        return tot / tot.sum() if tot.sum() > 0 else self.panel_.size / self.panel_.size.sum()

    def steady_response(self, p: np.ndarray, c: int, spend: np.ndarray | float, derivative: bool = False
                        ) -> np.ndarray:
        """Outcome per period from a steady ``spend`` per period of channel ``c`` (split over geos as in the
        data), or its derivative in the spend (original units)."""
        m, sp = self.model_, self.spec_
        s = m.channel_slice(c)
        beta, phi = p[s.start], m.phi(p, c)
        w_sum = adstock_weights(sp.adstock, {n: phi[n] for n in ADSTOCK_PARAMS[sp.adstock]},  # type: ignore
                                l_max=sp.l_max, normalize=sp.normalize).sum()
        size = self.panel_.size
        dper = self._shares(c) / (size * self.x_scale_[c])  # adstock per capita per unit of total spend
        per = np.asarray(spend, dtype=float)[..., None] * dper
        st = {n: phi[n] for n in SATURATION_PARAMS[sp.saturation]}
        if derivative:
            d_a = saturation_grad(sp.saturation, per * w_sum, st)[0]  # type: ignore[arg-type]
            return self.y_scale_ * beta * (d_a * w_sum * dper * size).sum(axis=-1)
        return self.y_scale_ * beta * (saturation(sp.saturation, per * w_sum, st) * size).sum(axis=-1)  # type: ignore

    def current_spend(self) -> pd.Series:
        """Mean spend per period of each channel over the data (all geos)."""
        self._check_fitted()
        return pd.Series(self.panel_.x.sum(axis=1).mean(axis=0), index=self.panel_.channels, name="spend")

    # ------------------------------------------------------------------ results
    def roas(self) -> MMMChannels:
        """Per channel: spend, contribution, ROAS, marginal ROAS and cost per incremental unit, with intervals.

        ``estimate`` is the ROAS: the channel's contribution over the data's periods per unit of its spend.
        ``mroas`` is the marginal ROAS at the channel's mean spend per period, spent steadily (the slope of
        its response curve there). ``cost_per_incremental`` is spend over contribution (a CPA where the
        outcome counts conversions); its bounds invert the ROAS bounds.
        """
        self._check_fitted()
        q, rows = self._t(), []
        mean = self.current_spend()
        for c, ch in enumerate(self.panel_.channels):
            idx = list(range(self.model_.channel_slice(c).start, self.model_.channel_slice(c).stop))
            spend = float(self.panel_.x[:, :, c].sum())
            contrib, se_c = self._delta(lambda p, c=c: self.contribution_of(p, c), idx)
            mroas, se_m = self._delta(lambda p, c=c, b=mean[ch]: float(self.steady_response(p, c, b, True)), idx)
            roas, se = contrib / spend, se_c / spend
            lo, hi = max(roas - q * se, 0.0), roas + q * se
            rows.append({"channel": ch, "spend": spend, "contribution": contrib,
                         "contribution_lower": max(contrib - q * se_c, 0.0), "contribution_upper": contrib + q * se_c,
                         "estimate": roas, "std_error": se, "lower": lo, "upper": hi,
                         "mroas": mroas, "mroas_lower": max(mroas - q * se_m, 0.0), "mroas_upper": mroas + q * se_m,
                         "cost_per_incremental": spend / contrib if contrib > 0 else np.inf,
                         "cost_per_incremental_lower": 1 / hi if hi > 0 else np.inf,
                         "cost_per_incremental_upper": 1 / lo if lo > 0 else np.inf})
        df = pd.DataFrame(rows)
        df["share_of_spend"] = df["spend"] / df["spend"].sum()
        df["share_of_effect"] = df["contribution"] / df["contribution"].sum()
        return MMMChannels(df, alpha=float(self.alpha), dof=float(self.solution_.dof), notes=self._notes(),
                           target=self.target)

    def parameters(self) -> MMMParameters:
        """Each channel's effect (``beta``: the outcome per period per unit of size at full saturation) and
        adstock / saturation parameters, with intervals, in the data's units (``half`` in spend per period
        per unit of size, ``lam`` per unit of spend); and the baseline's coefficients (channel ``(baseline)``:
        the trend over the whole data, each Fourier term, each control per unit of the control)."""
        self._check_fitted()
        sol, m, q = self.solution_, self.model_, self._t()
        rows = []
        sd = self._baseline_scale()
        for j, name in enumerate(self.baseline_names_):  # per period (per unit of size at geo level)
            est, se = sol.p[j] * self.y_scale_ / sd[j], float(np.sqrt(max(sol.cov[j, j], 0.0))) * self.y_scale_ / sd[j]
            rows.append({"channel": "(baseline)", "parameter": name, "estimate": est, "std_error": se,
                         "lower": est - q * se, "upper": est + q * se, "at_bound": False,
                         "bound_low": -np.inf, "bound_high": np.inf})
        for c, ch in enumerate(self.panel_.channels):
            s = m.channel_slice(c)
            for j, name in enumerate(("beta", *self.spec_.phi_names)):
                k = s.start + j
                unit = {"beta": self.y_scale_, "half": self.x_scale_[c], "lam": 1 / self.x_scale_[c]}.get(name, 1.0)
                est, se = sol.p[k] * unit, float(np.sqrt(max(sol.cov[k, k], 0.0))) * unit
                lo, hi = max(est - q * se, m.lo[k] * unit), min(est + q * se, m.hi[k] * unit)
                rows.append({"channel": ch, "parameter": name, "estimate": est, "std_error": se, "lower": lo,
                             "upper": hi, "at_bound": k in sol.at_bound, "bound_low": m.lo[k] * unit,
                             "bound_high": m.hi[k] * unit})
        return MMMParameters(pd.DataFrame(rows), alpha=float(self.alpha), dof=float(sol.dof), notes=self._notes())

    def _baseline_scale(self) -> np.ndarray:
        """What each baseline column was divided by (controls: their standard deviation; others: 1)."""
        out = np.ones(len(self.baseline_names_))
        for j, name in enumerate(self.baseline_names_):
            if name in self.panel_.control_names:
                out[j] = self.panel_.controls[:, :, self.panel_.control_names.index(name)].std()
        return out

    def lift(self, lift_tests: Any) -> pd.DataFrame:
        """The model's own lift of each lift test (``lift_tests`` as in :meth:`fit`), with its ``1 - alpha``
        interval: ``model_lift, model_lower, model_upper`` next to the test's columns. A model fitted without
        the tests predicts what they would measure; one fitted with them shows how close it came."""
        self._check_fitted()
        tests = _lift_tests(lift_tests)
        q, rows = self._t(), []
        for row in tests.itertuples(index=False):
            lt = _lift(self.panel_, row, self.x_scale_, self.spec_)
            s = self.model_.channel_slice(lt.channel)
            est, se = self._delta(lambda p, lt=lt: self.model_.lift_of(p, lt), list(range(s.start, s.stop)))
            rows.append({"model_lift": est, "model_lower": est - q * se, "model_upper": est + q * se})
        return pd.concat([tests, pd.DataFrame(rows)], axis=1)

    def contributions(self) -> Decomposition:
        """The fitted outcome per period (and geo), decomposed: ``baseline`` components and each channel."""
        self._check_fitted()
        p, m, pan = self.solution_.p, self.model_, self.panel_
        scale = self.y_scale_ * pan.size[None, :]
        parts: dict[str, np.ndarray] = {"intercept": np.broadcast_to(m.intercepts(p), (m.T, m.G)) * scale}
        for j, name in enumerate(self.baseline_names_):
            group = name.split(":")[0]
            val = (m.Z[:, j] * p[j]).reshape(m.T, m.G) * scale
            parts[group] = parts.get(group, 0) + val
        for c, ch in enumerate(pan.channels):
            parts[ch] = m.media(p, c) * scale
        dates = np.repeat(pan.dates.values, m.G)
        geos = np.tile(pan.geos, m.T)
        frames = [pd.DataFrame({"date": dates, "geo": geos, "component": k, "contribution": v.ravel()})
                  for k, v in parts.items()]
        df = pd.concat(frames, ignore_index=True)
        actual = pd.DataFrame({"date": dates, "geo": geos, "actual": pan.y.ravel()})
        return Decomposition(df, actual=actual, channels=list(pan.channels), target=self.target)

    def response_curves(self, *, channels: Sequence[str] | None = None, max_multiple: float = 2.0,
                        points: int = 41) -> ResponseCurves:
        """Outcome per period against a steady spend per period, from 0 to ``max_multiple`` times the current
        mean spend, with ``1 - alpha`` bands."""
        self._check_fitted()
        if not (isinstance(max_multiple, (int, float)) and not isinstance(max_multiple, bool)
                and 0 < max_multiple < np.inf):
            raise ParameterError(f"max_multiple must be a finite number > 0; found {max_multiple!r}")
        check_count(points, "points", 2, what="response_curves")
        if isinstance(channels, str):
            channels = [channels]
        chans = list(self.panel_.channels) if channels is None else [str(c) for c in channels]
        q, mean, rows = self._t(), self.current_spend(), []
        for ch in chans:
            c = self._channel_index(ch)
            idx = list(range(self.model_.channel_slice(c).start, self.model_.channel_slice(c).stop))
            for b in np.linspace(0, max_multiple * max(mean[ch], 1e-12), points):
                r, se = self._delta(lambda p, c=c, b=b: float(self.steady_response(p, c, np.array(b))), idx)
                rows.append({"channel": ch, "spend": float(b), "response": r, "lower": max(r - q * se, 0.0),
                             "upper": r + q * se, "current": bool(np.isclose(b, mean[ch]))})
        return ResponseCurves(pd.DataFrame(rows), current=mean[chans], alpha=float(self.alpha))

    def optimize_budget(self, budget: float | None = None, *, target_mroas: float | None = None,
                        bounds: Mapping[str, tuple[float, float]] | tuple[float, float] = (0.5, 2.0)) -> BudgetPlan:
        """The spend per period and channel that maximises the outcome (see :func:`~.optimize.optimize_budget`)."""
        from .optimize import optimize_budget

        self._check_fitted()
        return optimize_budget(self, budget=budget, target_mroas=target_mroas, bounds=bounds)

    def predict(self) -> pd.DataFrame:
        """The fitted outcome per period and geo (``date, geo, actual, fitted``)."""
        self._check_fitted()
        pan = self.panel_
        fitted = self.model_.predict(self.solution_.p) * self.y_scale_ * pan.size[None, :]
        return pd.DataFrame({"date": np.repeat(pan.dates.values, len(pan.geos)),
                             "geo": np.tile(pan.geos, pan.n_periods), "actual": pan.y.ravel(),
                             "fitted": fitted.ravel()})

    def _notes(self) -> list[str]:
        sp, sol = self.spec_, self.solution_
        notes = [f"{sp.adstock} adstock (l_max {sp.l_max}{', normalised' if sp.normalize else ''}), "
                 f"{sp.saturation} saturation; {self.panel_.target}, {self.level} level "
                 f"({len(self.panel_.geos)} geo(s) x {self.panel_.n_periods} periods); R² {self.r2_:.3f}",
                 f"non-linear least squares from {sol.starts} starts; intervals: Gauss-Newton covariance and the "
                 "delta method"]
        if self.model_.lifts:
            notes.append(f"calibrated with {len(self.model_.lifts)} lift test(s)")
        if self.prior_sd is not None:
            notes.append(f"saturation curves regularised (log-normal priors, sd {self.prior_sd:g})")
        return notes


# ---------------------------------------------------------------------------------------------- helpers
def _check_spend(panel: MMMPanel) -> None:
    """Refuse channels the data cannot identify: no spend at all, or spend moving with another channel's."""
    totals = panel.x.sum(axis=(0, 1))
    dead = [ch for ch, t in zip(panel.channels, totals, strict=True) if t <= 0]
    if dead:
        raise ParameterError(f"MMM: channel(s) {dead} have zero spend in every period: the data says nothing about "
                             "their effect; drop them")
    flat = panel.x.reshape(-1, panel.x.shape[2])
    if flat.shape[1] > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.corrcoef(flat, rowvar=False)
        for i in range(flat.shape[1]):
            for j in range(i + 1, flat.shape[1]):
                if np.isfinite(corr[i, j]) and corr[i, j] > _COLLINEAR:
                    raise ParameterError(f"MMM: channels {panel.channels[i]!r} and {panel.channels[j]!r} are "
                                         f"collinear (spend correlation {corr[i, j]:.4f}): the data cannot tell "
                                         "their effects apart; combine them into one channel or drop one")
        if np.linalg.matrix_rank(flat) < flat.shape[1]:
            raise ParameterError(f"MMM: the spend of channels {panel.channels} is linearly dependent (one channel's "
                                 "spend is a combination of others'): combine or drop channels")


def _baseline(panel: MMMPanel, *, trend: bool, order: int) -> tuple[np.ndarray, list[str]]:
    """The baseline design but the intercepts (rows: period-major, geo-minor): trend, Fourier terms, controls."""
    T, G = panel.y.shape
    cols: list[np.ndarray] = []
    names: list[str] = []
    if trend:
        cols.append(np.repeat(np.linspace(0.0, 1.0, T), G))
        names.append("trend")
    day = (panel.dates - pd.Timestamp("2000-01-01")).days.to_numpy(float)
    for k in range(1, order + 1):
        for fn, label in ((np.sin, "sin"), (np.cos, "cos")):
            cols.append(np.repeat(fn(2 * np.pi * k * day / _DAYS_PER_YEAR), G))
            names.append(f"season:{label}{k}")
    clash = [n for n in panel.control_names if n in panel.channels or n in ("trend", "intercept")
             or n.startswith("season:")]
    if clash:
        raise ParameterError(f"MMM: control(s) {clash} are named like a channel or a baseline term (trend, intercept, "
                             "season:...); rename them")
    for j, name in enumerate(panel.control_names):
        v = panel.controls[:, :, j].ravel()
        sd = v.std()
        if sd == 0:
            raise ParameterError(f"MMM: control {name!r} is constant: it cannot be told from the intercept; drop it")
        cols.append(v / sd)  # scaled, not centred: the decomposition keeps the control's own level
        names.append(f"{name}")
    Z = np.column_stack(cols) if cols else np.zeros((T * G, 0))
    return Z, names


def _check_baseline(Z: np.ndarray, names: list[str], T: int, G: int) -> None:
    """Refuse baseline terms that repeat one another (once the geos' intercepts are taken out)."""
    if Z.shape[1] == 0:
        return
    centred = (Z.reshape(T, G, -1) - Z.reshape(T, G, -1).mean(axis=0)).reshape(T * G, -1)
    if np.linalg.matrix_rank(centred) < Z.shape[1]:
        raise ParameterError(f"MMM: the baseline terms {names} are collinear (a control repeats the trend, the "
                             "season or another control, or the periods are too few for the seasonality's "
                             "order); drop one or lower seasonality")


def _lift(panel: MMMPanel, row: Any, x_scale: np.ndarray, spec: Spec) -> Lift:
    """A lift test row in the model's terms (see :mod:`~.calibration`)."""
    if row.channel not in panel.channels:
        raise ParameterError(f"lift test: unknown channel {row.channel!r}; the model's channels are "
                             f"{panel.channels}")
    c = panel.channels.index(row.channel)
    # a period counts when it overlaps the window (periods are dated by their first day)
    step = pd.Timedelta(days=panel.period_days)
    inside = np.flatnonzero((panel.dates <= row.end) & (panel.dates + step > row.start))
    if not len(inside):
        raise ParameterError(f"lift test of {row.channel!r}: its window {row.start.date()} .. {row.end.date()} "
                             f"holds no period of the data ({panel.dates[0].date()} .. {panel.dates[-1].date()})")
    t0, t1 = int(inside[0]), int(inside[-1])
    geos = np.ones(len(panel.geos), dtype=bool)
    if row.geos is not None and panel.geos != ["national"]:
        unknown = sorted(set(row.geos) - set(panel.geos))
        if unknown:
            raise ParameterError(f"lift test of {row.channel!r}: unknown geo(s) {unknown}")
        geos = np.isin(panel.geos, row.geos)
    x = panel.x[t0:t1 + 1, geos, c]
    if x.sum() > 0:
        pattern = x / x.sum()
    else:  # a go-dark window: evenly over periods, over geos by their share of the channel's spend elsewhere
        if row.delta_spend > 0:
            raise ParameterError(f"lift test of {row.channel!r}: delta_spend {row.delta_spend} is more than the "
                                 "spend in its window (0)")
        share = panel.x[:, geos, c].sum(axis=0)
        share = share / share.sum() if share.sum() > 0 else panel.size[geos] / panel.size[geos].sum()
        pattern = np.tile(share, (t1 - t0 + 1, 1)) / (t1 - t0 + 1)
    delta = row.delta_spend * pattern
    if (x - delta < -1e-9 * max(1.0, abs(row.delta_spend))).any():
        raise ParameterError(f"lift test of {row.channel!r}: delta_spend {row.delta_spend:g} is more than the "
                             f"{x.sum():g} spent in its window and geos (business as usual would be negative)")
    scaled = delta / (panel.size[geos][None, :] * x_scale[c])
    return Lift(channel=c, t0=t0, t1=t1, geos=geos, delta=scaled, lift=float(row.lift),
                std_error=float(row.std_error), label=f"{row.channel} {row.start.date()}")
