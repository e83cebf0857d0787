"""Experiment-calibrated attribution: credits rescaled so that channels measured by a test match their lift.

An attribution splits conversions between channels by a model; an
experiment (a user holdout, a geo test) *measures* what a channel added.
:func:`calibrate` puts the two together, per method:

* the **pooled scale** ``k`` puts the model's credits on the experiments' incremental scale: with exact lifts
  (no standard error) ``k = sum(lift) / sum(credit)`` over the measured channels; with measured ones, the
  posterior mean of ``log k`` under ``lift ~ N(k * credit, std_error^2)`` and a wide normal prior around 0 (the
  model's own scale; standard deviation 2) — noisy tests leave the model's scale, and the
  scale stays above 0 when they come out negative;
* a **measured channel** gets the precision-weighted mean of the model's scaled credit ``k * credit`` (prior
  standard deviation ``prior_cv`` times it) and its lift (standard error ``std_error``): an exact lift is taken
  as it is, a noisy one moves the credit by what it can say (a holdout too small to measure a channel changes
  little); a channel whose result comes out below 0 is credited 0;
* a channel **without** a test is scaled by ``k`` (``unmeasured="pooled"``), its credit taken as right relative
  to the others — or left as it is (``unmeasured="keep"``).

Values move with the conversions (the value per credited conversion is kept; the method's average for a
channel it credited nothing). A measured channel the model credits nothing gets its lift. So a measured channel
can no longer be over-credited by retargeting (an ad shown to consumers about to buy anyway is credited its
measured lift, not their conversions), and a non-incremental method (last touch) is brought to the incremental
scale. What calibration cannot fix is the split among unmeasured channels: that stays the model's.

Intervals (:meth:`~marketing360.attribution.Attribution.conf_int`) resample the journeys as the method does and
draw each lift from a normal distribution with its standard error, so they carry both uncertainties.

Examples
--------
>>> import pandas as pd
>>> from marketing360.attribution import Attribution
>>> a = Attribution(pd.DataFrame({"method": "last_touch", "channel": ["search", "video", "email"],
...                               "conversions": [600.0, 100.0, 300.0], "value": [6000.0, 1000.0, 3000.0]}))
>>> lifts = pd.DataFrame({"channel": ["search", "video"], "conversions": [120.0, 180.0]})
>>> calibrate(a, lifts).table()[["channel", "conversions"]].round(2).values.tolist()
[['email', 128.57], ['search', 120.0], ['video', 180.0]]
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import ParameterError, SchemaError
from .result import Attribution, Bootstrap

__all__ = ["calibrate", "lifts_from_experiments"]

Unmeasured = Literal["pooled", "keep"]


def _lifts(lifts: Any) -> pd.DataFrame:
    if isinstance(lifts, pd.Series):
        lifts = lifts.rename("conversions").rename_axis("channel").reset_index()
    if not isinstance(lifts, pd.DataFrame):
        raise ParameterError(f"lifts must be a DataFrame (channel, conversions[, std_error]) or a Series; found "
                             f"{type(lifts).__name__}")
    missing = [c for c in ("channel", "conversions") if c not in lifts.columns]
    if missing:
        raise SchemaError(f"calibrate: lifts lack column(s) {missing}; found {list(lifts.columns)}",
                          table="lifts", column=missing[0])
    out = lifts.copy()
    out["channel"] = out["channel"].astype(str)
    if out["channel"].duplicated().any():
        raise SchemaError(f"calibrate: a channel has two lifts: {sorted(out.channel[out.channel.duplicated()])}",
                          table="lifts", column="channel")
    out["conversions"] = pd.to_numeric(out["conversions"], errors="coerce")
    out["std_error"] = pd.to_numeric(out["std_error"], errors="coerce") if "std_error" in out.columns else 0.0
    if out["conversions"].isna().any() or not np.isfinite(out["conversions"].to_numpy(float)).all():
        raise SchemaError("calibrate: lifts must be finite numbers", table="lifts", column="conversions")
    if (out["std_error"].fillna(0) < 0).any():
        raise SchemaError("calibrate: std_error must be >= 0", table="lifts", column="std_error")
    return out.fillna({"std_error": 0.0})


#: the log-normal prior of the pooled scale: median 1 (the model's scale), sd of log k 2 (a factor e^2 ~ 7 either
#: way at one sd): wide enough for a non-incremental method (last touch credits 3-5x the incremental conversions),
#: and it keeps the scale above 0 when noisy tests come out negative
_LOG_SCALE_SD = 2.0
_LOG_GRID = np.linspace(-12.0, 12.0, 4801)


def _pooled_scale(a: np.ndarray, lift: np.ndarray, var: np.ndarray) -> float:
    """The pooled scale ``k`` given ``lift ~ N(k * a, var)`` and ``log k ~ N(0, 2^2)``: ``exp`` of the posterior mean
    of ``log k`` (on a grid; 1 when the tests say nothing, where the mean of ``k`` would be ``e^2``)."""
    k = np.exp(_LOG_GRID)
    loglik = -0.5 * (((lift[None, :] - k[:, None] * a[None, :]) ** 2) / var[None, :]).sum(axis=1)
    logpost = loglik - 0.5 * (_LOG_GRID / _LOG_SCALE_SD) ** 2
    w = np.exp(logpost - logpost.max())
    return float(np.exp((w * _LOG_GRID).sum() / w.sum()))


def _value_per_conversion(conv: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Each channel's value per credited conversion; the method's average where it credits the channel nothing."""
    avg = value.sum() / conv.sum() if conv.sum() > 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(conv > 0, value / conv, avg)


def _calibrated(credit: np.ndarray, measured: np.ndarray, lift: np.ndarray, se: np.ndarray,
                unmeasured: Unmeasured, prior_cv: float) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Calibrated credits per channel, the pooled scale (see the module: precision-weighted), and per measured
    channel the posterior standard error and the weight of the lift in the posterior mean (1: the lift alone)."""
    a, lv, s = credit[measured], lift[measured], se[measured]
    exact = s <= 0
    var = np.where(exact, 0.0, s ** 2)  # exact lifts (no standard error) are taken as they are
    k = 1.0
    if unmeasured == "pooled" and a.sum() > 0:
        if exact.any():  # exact lifts fix the scale: the ratio of their sums
            k = max(lv[exact].sum(), 0.0) / a[exact].sum() if a[exact].sum() > 0 else 1.0
        else:  # lift ~ N(k * credit, se^2) with a log-normal prior on k (median 1, the model's own scale)
            k = _pooled_scale(a, lv, var)
    out = credit * k if unmeasured == "pooled" else credit.copy()
    target = a * k
    with np.errstate(divide="ignore", invalid="ignore"):
        prior_var = (prior_cv * target) ** 2  # inf * 0: no prior information
        # no prior information (the model credits the channel nothing, or the scale is 0): the lift alone
        blended = (target / prior_var + lv / var) / (1 / prior_var + 1 / var)
        alone = exact | (prior_var <= 0) | ~np.isfinite(prior_var)
        post = np.where(alone, lv, blended)
        weight = np.where(alone, 1.0, prior_var / (prior_var + var))
    out[measured] = np.maximum(post, 0.0)
    return out, k, np.sqrt(weight * var), weight


def calibrate(result: Attribution, lifts: Any, *, unmeasured: Unmeasured = "pooled", prior_cv: float = 1.0,
              suffix: str = "_calibrated") -> Attribution:
    """Credits of every method of ``result`` calibrated to measured lifts (see the module).

    Parameters
    ----------
    result : Attribution
        One or more methods.
    lifts : DataFrame or Series
        Measured incremental conversions per channel (``channel, conversions`` and optionally
        ``std_error``), over the same consumers and period as the attribution (:func:`lifts_from_experiments`
        reads them from holdout experiments); a Series is channel -> conversions.
    unmeasured : {"pooled", "keep"}
        Scale channels without a lift by the measured channels' pooled factor, or keep their credits.
    prior_cv : float
        How far (relative standard deviation) a channel's true incremental conversions may lie from the model's
        credit scaled by the pooled factor; with it, a lift measured with a standard error is combined with the
        model by precision (a noisy test moves the credit little, a precise one pins it). ``np.inf`` trusts the
        lifts alone; a lift without a standard error (0) is taken as exact.
    suffix : str
        Appended to each method's name.

    Returns
    -------
    Attribution
        Methods ``<method><suffix>``; :attr:`~Attribution.params` records the factors and, under
        ``"posterior"``, each measured channel's ``std_error`` (of its calibrated conversions) and ``lift_weight``
        (the lift's share in the precision-weighted mean: 1 where the lift is taken alone).

    Raises
    ------
    ParameterError
        A lift for a channel the attribution does not credit, an unknown ``unmeasured``.
    SchemaError
        Lifts without ``channel`` / ``conversions``, a channel twice, non-finite values.
    """
    if not isinstance(result, Attribution):
        raise ParameterError(f"result must be an Attribution; found {type(result).__name__}")
    if unmeasured not in ("pooled", "keep"):
        raise ParameterError(f"unmeasured must be 'pooled' or 'keep'; found {unmeasured!r}")
    lf = _lifts(lifts)
    df = result.table()
    channels = sorted(set(df["channel"]))
    unknown = sorted(set(lf["channel"]) - set(channels))
    if unknown:
        raise ParameterError(f"calibrate: lift for channel(s) {unknown} the attribution does not credit; its "
                             f"channels are {channels}")
    if not (isinstance(prior_cv, (int, float)) and not isinstance(prior_cv, bool) and prior_cv > 0):
        raise ParameterError(f"prior_cv must be a positive number (np.inf: trust the lifts alone); found {prior_cv!r}")
    frames, params, boots = [], {}, {}
    measured = np.isin(channels, lf["channel"])
    lift = lf.set_index("channel")["conversions"].reindex(channels).fillna(0.0).to_numpy(float)
    se = lf.set_index("channel")["std_error"].reindex(channels).fillna(0.0).to_numpy(float)
    for m in result.methods:
        d = df[df.method == m].set_index("channel").reindex(channels).fillna(0.0)
        conv = d["conversions"].to_numpy(float)
        new, k, post_se, weight = _calibrated(conv, measured, lift, se, unmeasured, float(prior_cv))
        per = _value_per_conversion(conv, d["value"].to_numpy(float))
        name = f"{m}{suffix}"
        frames.append(pd.DataFrame({"method": name, "channel": channels, "conversions": new, "value": new * per}))
        params[name] = {**result.params.get(m, {}), "calibrated_on": sorted(lf["channel"]), "unmeasured": unmeasured,
                        "prior_cv": prior_cv, "pooled_scale": round(k, 6),
                        "posterior": pd.DataFrame({"std_error": post_se, "lift_weight": weight},
                                                  index=pd.Index(np.asarray(channels)[measured], name="channel"))}
        if m in result._bootstrap:
            boots[name] = _calibrated_bootstrap(result, m, channels, measured, lf, unmeasured, float(prior_cv))
    return Attribution(pd.concat(frames, ignore_index=True), key=result.key, params=params, bootstrap=boots)


def _calibrated_bootstrap(result: Attribution, method: str, channels: list[str], measured: np.ndarray,
                          lf: pd.DataFrame, unmeasured: Unmeasured, prior_cv: float) -> Any:
    """A bootstrap that re-runs the method on resampled journeys and draws each lift from N(lift, se)."""
    def make() -> Bootstrap:
        base = result._bootstrap[method]
        base = base() if callable(base) and not isinstance(base, Bootstrap) else base
        order = [base.channels.index(c) if c in base.channels else -1 for c in channels]
        mean = lf.set_index("channel")["conversions"].reindex(channels).fillna(0.0).to_numpy(float)
        se = lf.set_index("channel")["std_error"].reindex(channels).fillna(0.0).to_numpy(float)
        rng = np.random.default_rng(0)

        def statistic(conv: np.ndarray, nulls: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            c, v = base.statistic(conv, nulls, value)
            c = np.array([c[i] if i >= 0 else 0.0 for i in order])
            v = np.array([v[i] if i >= 0 else 0.0 for i in order])
            new, *_ = _calibrated(c, measured, mean + se * rng.standard_normal(len(mean)), se, unmeasured, prior_cv)
            return new, new * _value_per_conversion(c, v)

        return Bootstrap(channels=channels, conversions=base.conversions, nulls=base.nulls, value=base.value,
                         statistic=statistic, held_fixed=base.held_fixed)

    return make


def lifts_from_experiments(experiments: dict[str, Any], *, metric: str = "purchases") -> pd.DataFrame:
    """Measured incremental conversions per channel from holdout experiments (:func:`~marketing360.incrementality.
    experiment` results, one per channel): the intention-to-treat effect per treated consumer times the treated
    consumers, and its standard error likewise.

    Parameters
    ----------
    experiments : dict
        Channel -> its :class:`~marketing360.incrementality.Experiment`.
    metric : str
        The metric counted as conversions (``"purchases"``).
    """
    rows = []
    for channel, ex in experiments.items():
        t = ex.table()
        if "metric" not in t.columns or metric not in set(t["metric"]):
            raise ParameterError(f"lifts_from_experiments: the {channel!r} experiment has no {metric!r} metric")
        rows_m = t[t["metric"] == metric]
        if "estimand" in rows_m.columns and (rows_m["estimand"] == "itt").any():
            rows_m = rows_m[rows_m["estimand"] == "itt"]  # everyone assigned: the effect over all treated
        r = rows_m.iloc[0]
        n = _treated(ex, t)
        rows.append({"channel": str(channel), "conversions": float(r["estimate"]) * n,
                     "std_error": float(r["std_error"]) * n})
    return pd.DataFrame(rows)


def _treated(ex: Any, table: pd.DataFrame) -> float:
    for col in ("n_treatment", "treatment_units", "n_treated"):
        if col in table.columns:
            return float(table[col].max())
    n = getattr(ex, "n_treatment", None)
    if n is None:
        raise ParameterError("lifts_from_experiments: the experiment does not say how many consumers were treated")
    return float(n)
