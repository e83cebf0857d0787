"""Power, minimum detectable effect and sample size of a randomised experiment (normal approximation).

:func:`power_analysis` solves for whichever of ``n``, ``mde`` and ``power``
is left out, for a conversion rate (``baseline`` a rate, no ``sd``) or a
continuous metric (``baseline`` its mean and ``sd`` its standard deviation):

* proportions: the test of two proportions with the pooled variance under the
  null and the unpooled one under the alternative (Fleiss; R's
  ``power.prop.test`` with ``strict=TRUE``), generalised to unequal arms;
* means: the two-sample z test (statsmodels' ``NormalIndPower``), with the
  variance shrunk by ``variance_reduction`` (the share CUPED removes, the
  squared correlation of the metric with its pre-period value);
* several treatment arms against one control: the significance level is
  split over the comparisons (Bonferroni) with ``correct_arms``.

Examples
--------
>>> r = power_analysis(baseline=0.50, mde=0.25, power=0.90, relative=False)  # R: power.prop.test(.5, .75, .9)
>>> round(float(r.table().n_control.iloc[0]), 1)
76.7
>>> r = power_analysis(baseline=0.05, n=20_000)
>>> round(float(r.table().mde_relative.iloc[0]), 3)
0.126
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..errors import ParameterError
from ..results import Result
from ..types import Alternative
from .effects import check_alpha

__all__ = ["power_analysis", "PowerAnalysis", "Alternative"]



class PowerAnalysis(Result):
    """The design of an experiment: units per arm, the minimum detectable effect and the power.

    Columns: ``n_control, n_treatment`` (units per arm; not rounded, so they compare with other
    calculators: round up to plan), ``mde`` (absolute), ``mde_relative`` (over the baseline), ``power``,
    ``alpha`` (per comparison), ``baseline``, ``sd``.
    """

    title: ClassVar[str] = "power analysis"

    def __init__(self, frame: pd.DataFrame, *, settings: dict[str, Any]) -> None:
        self.settings = settings
        super().__init__(frame)

    def _notes(self) -> list[str]:
        s = self.settings
        kind = "conversion rate" if s["sd"] is None else f"mean with sd {s['sd']:g}"
        return [f"{kind}, baseline {s['baseline']:g}; alpha {s['alpha']:g} ({s['alternative']}), "
                f"treatment/control ratio {s['ratio']:g}, {s['arms']} treatment arm(s)"
                + (f", variance reduction {s['variance_reduction']:g}" if s["variance_reduction"] else "")]

    def curve(self, n: Any = None) -> pd.DataFrame:
        """Power at each control-arm size ``n`` (by default 20 sizes around the design's) for the design's MDE."""
        row = self._computed().iloc[0]
        if n is None:
            n = np.unique(np.geomspace(max(2.0, row.n_control / 8), row.n_control * 4, 40).round())
        n = np.asarray(n, dtype=float)
        s = self.settings
        p = [_power(float(row.mde), k, s) for k in n]
        return pd.DataFrame({"n_control": n, "power": p})

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """Power against units per control arm, with the design marked."""
        from ..viz.experiments import plot_power

        row = self._computed().iloc[0]
        return plot_power(self.curve(), n=float(row.n_control), power=float(row.power), mde=float(row.mde),
                          ax=ax, **kwargs)


def _alpha_per_test(s: dict[str, Any]) -> float:
    return s["alpha"] / s["arms"] if s["correct_arms"] else s["alpha"]


def _power(delta: float, n_c: float, s: dict[str, Any]) -> float:
    """Power to detect an absolute difference ``delta`` with ``n_c`` control units."""
    n_t = n_c * s["ratio"]
    a = _alpha_per_test(s)
    tails = 2 if s["alternative"] == "two-sided" else 1
    z = stats.norm.ppf(1 - a / tails)
    d = abs(delta)
    if s["sd"] is None:
        p1 = s["baseline"]
        p2 = p1 + delta
        if not 0 < p2 < 1:
            return float("nan")
        pbar = (n_c * p1 + n_t * p2) / (n_c + n_t)
        sd0 = np.sqrt(pbar * (1 - pbar) * (1 / n_c + 1 / n_t))
        sd1 = np.sqrt(p1 * (1 - p1) / n_c + p2 * (1 - p2) / n_t)
    else:
        sd0 = sd1 = s["sd"] * np.sqrt((1 - s["variance_reduction"]) * (1 / n_c + 1 / n_t))
    pw = stats.norm.cdf((d - z * sd0) / sd1)
    if tails == 2:
        pw += stats.norm.cdf((-d - z * sd0) / sd1)
    return float(pw)


def power_analysis(*, baseline: float, mde: float | None = None, n: float | None = None,
                   power: float | None = None, sd: float | None = None, relative: bool = True,
                   alpha: float = 0.05, ratio: float = 1.0, arms: int = 1, correct_arms: bool = True,
                   variance_reduction: float = 0.0, alternative: Alternative = "two-sided") -> PowerAnalysis:
    """Solve for the one of ``n``, ``mde`` and ``power`` left out (``power`` is 0.8 unless given or solved for).

    Parameters
    ----------
    baseline : float
        The control arm's conversion rate (in (0, 1), without ``sd``) or mean.
    mde : float, optional
        The effect to detect: relative to the baseline (``relative``, 0.05 = +5%) or absolute.
    n : float, optional
        Units in the control arm (each treatment arm has ``ratio * n``).
    power : float, optional
        Chance of a significant result when the effect is ``mde``.
    sd : float, optional
        Standard deviation of a continuous metric (per unit); None for a conversion rate.
    relative : bool
        Whether ``mde`` is relative to the baseline (and how the result reads it).
    alpha : float
        Significance level of the whole experiment.
    ratio : float
        Treatment units per control unit, in each treatment arm.
    arms : int
        Treatment arms compared with the one control.
    correct_arms : bool
        Split ``alpha`` over the arms (Bonferroni).
    variance_reduction : float
        Share of the metric's variance removed by CUPED (in [0, 1); continuous metrics).
    alternative : {"two-sided", "greater", "less"}
        A one-sided test looks for an increase (``greater``: ``mde`` positive) or a decrease (``less``).

    Returns
    -------
    PowerAnalysis
    """
    alpha = check_alpha(alpha)
    for name, v in (("baseline", baseline), ("mde", mde), ("n", n), ("power", power), ("sd", sd),
                    ("ratio", ratio), ("variance_reduction", variance_reduction)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating))
                              or not np.isfinite(v)):
            raise ParameterError(f"{name} must be a finite number; found {v!r}")
    given = {"n": n, "mde": mde, "power": power}
    if n is not None and mde is not None and power is not None:
        raise ParameterError("give two of n, mde and power: the third is solved for; leave one out")
    if power is None and (n is None) != (mde is None):
        power = 0.8
    missing = [k for k, v in {"n": n, "mde": mde, "power": power}.items() if v is None]
    if len(missing) != 1:
        raise ParameterError(f"give exactly two of n, mde and power (the third is solved for); found {given}")
    if alternative not in ("two-sided", "greater", "less"):
        raise ParameterError(f"alternative must be 'two-sided', 'greater' or 'less'; found {alternative!r}")
    for name, v, lo in (("ratio", ratio, 0.0), ("n", n, 1.0)):
        if v is not None and not (np.isfinite(v) and v > lo):
            raise ParameterError(f"{name} must be a number above {lo:g}; found {v!r}")
    if not isinstance(arms, (int, np.integer)) or arms < 1:
        raise ParameterError(f"arms must be a positive integer; found {arms!r}")
    if power is not None and not 0 < power < 1:
        raise ParameterError(f"power must be in (0, 1); found {power!r}")
    if not 0 <= variance_reduction < 1:
        raise ParameterError(f"variance_reduction must be in [0, 1); found {variance_reduction!r}")
    if sd is None:
        if not 0 < baseline < 1:
            raise ParameterError(f"baseline must be a conversion rate in (0, 1) when sd is not given; found "
                                 f"{baseline!r} (give sd= for a continuous metric)")
        if variance_reduction:
            raise ParameterError("variance_reduction applies to continuous metrics (give sd=)")
    elif not (np.isfinite(sd) and sd > 0):
        raise ParameterError(f"sd must be positive; found {sd!r}")
    if relative and baseline == 0:
        raise ParameterError("a relative mde needs a non-zero baseline; use relative=False")
    s = {"baseline": float(baseline), "sd": None if sd is None else float(sd), "alpha": alpha,
         "ratio": float(ratio), "arms": int(arms), "correct_arms": bool(correct_arms),
         "variance_reduction": float(variance_reduction), "alternative": alternative}
    scale = abs(baseline) if relative else 1.0
    delta = None if mde is None else float(mde) * scale
    if delta is not None:
        if delta == 0:
            raise ParameterError("mde must not be 0")
        if sd is None and not 0 < baseline + delta < 1:
            raise ParameterError(f"baseline + mde must be a rate in (0, 1); found {baseline + delta:g}")
        if (alternative == "greater" and delta < 0) or (alternative == "less" and delta > 0):
            way = ("an increase: mde must be positive" if alternative == "greater"
                   else "a decrease: mde must be negative")
            raise ParameterError(f"alternative={alternative!r} tests for {way}; found {mde!r}")
    if power is not None and power <= _alpha_per_test(s):
        raise ParameterError(f"power must exceed the significance level of each test ({_alpha_per_test(s):g}): "
                             f"a test has that power against no effect at all; found {power!r}")
    if missing == ["power"]:
        assert delta is not None and n is not None
        power = _power(delta, float(n), s)
    elif missing == ["n"]:
        assert delta is not None and power is not None
        target = power
        if _power(delta, 1e12, s) < target:
            raise ParameterError(f"no sample size reaches power {power:g} for mde {mde!r}")
        if _power(delta, 1.0 + 1e-9, s) >= target:
            raise ParameterError(f"one unit per arm already has power {_power(delta, 1.0 + 1e-9, s):.3g} >= {power:g} "
                                 f"for mde {mde!r}: the normal approximation cannot size such a test (check mde "
                                 "and sd)")
        n = optimize.brentq(lambda k: _power(delta, k, s) - target, 1.0 + 1e-9, 1e12, xtol=1e-10, rtol=1e-14)
    else:
        assert n is not None and power is not None
        top = (1 - baseline - 1e-12) if sd is None else max(abs(baseline), 1.0) * 1e6
        target = power
        if _power(top, float(n), s) < target:
            raise ParameterError(f"no effect up to {top:g} reaches power {power:g} with n={n!r}")
        delta = optimize.brentq(lambda d: _power(d, float(n), s) - target, 1e-15, top, xtol=1e-14, rtol=1e-12)
    frame = pd.DataFrame({"n_control": [float(n)], "n_treatment": [float(n) * ratio], "mde": [delta],
                          "mde_relative": [delta / baseline if baseline else np.nan], "power": [power],
                          "alpha": [_alpha_per_test(s)], "baseline": [baseline],
                          "sd": [np.nan if sd is None else sd]})
    return PowerAnalysis(frame, settings=s)
