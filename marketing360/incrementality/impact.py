"""Time-series counterfactuals: CausalImpact's structural time-series model, fitted with statsmodels.

:func:`causal_impact` estimates what an intervention (a campaign, a price
change, a launch) did to one time series, after Brodersen et al. (2015),
*Inferring causal impact using Bayesian structural time-series models*, and
Google's R package CausalImpact. A state-space model is fitted to the
pre-period only: a local level (or local linear trend), an optional seasonal
component and a static regression on control series the intervention did not
touch, plus noise. Its forecast of the post-period, given the controls, is the
counterfactual; the effect is what was observed minus that forecast.

The model is statsmodels' ``UnobservedComponents`` with the control
coefficients in the state vector (``mle_regression=False``), so the Kalman
filter integrates over them; ``y`` and the controls are standardised on the
pre-period, as R does (priors are relative to sd(y) and the initial states and
coefficients diffuse, so this changes no result: it keeps the numbers well
scaled, and there is no option to turn it off). The variances (``estimation=``):

* ``"posterior"`` (default): R CausalImpact's priors (the level's sd
  guessed at ``prior_level_sd`` x sd(y), worth 32 observations; with controls
  the residual variance guessed at (1 - R²) var(y), worth 50 observations, as
  bsts does; weak priors otherwise; bsts' upper limits), their posterior
  importance-sampled from a normal proposal at the mode of the log-variances.
  R fixes the expected R² at 0.8 (``expected_r2=0.8`` reproduces it); by
  default it is the pre-period's adjusted R² of y on the controls. With
  weak controls R's guess is too small a residual variance, worth as much
  as 50 days of data, and the intervals are too narrow: on stationary A/A
  series (49 pre-days, 21 post-days, 10 noisy controls;
  ``benchmarks/impact_prior_check.py``, two seeds of 60) the 95% intervals
  covered 82-85% with 0.8 (errors 1.33-1.34 x the sd the intervals imply)
  and 90-93% from the data (1.02-1.03 x). Either way, when the controls
  explain less than half of y over the pre-period beyond the model's own
  season and trend (a partial adjusted R² below ``WEAK_FIT_R2``), a warning
  says that the counterfactual then comes from y's own past, blind to a
  shift that the controls share;
* ``"mle"``: statsmodels' maximum likelihood, plugged in: the variances'
  uncertainty is ignored, and without R's priors the level variance, and so
  the forecast, can differ markedly from R's (p = 0.05 instead of R's 0.20 on
  tfcausalimpact's ``comparison_data``).

For each variance draw, post-period trajectories are simulated from the
predicted state at the end of the pre-period (coefficients included), noise
added. Every interval is a quantile of those trajectories, so the cumulative
interval carries the correlation of forecast errors over time. The p-value is
R's posterior tail-area probability: the share of simulated post-period sums
on the far side of the observed sum, one-sided.

R samples the same model by MCMC (bsts, 900 draws kept, with a spike-and-slab
prior choosing the controls; here every control enters) and tfcausalimpact by
variational inference or HMC, so figures differ by Monte Carlo noise and those
choices. On the data R results are published for (tfcausalimpact's
``comparison_data``, ``arma_data`` and VolksWagen examples; seeds 1-5)
predictions and effects agree with R's within 0.1 of R's posterior sd, sds
within 4%, interval ends within 0.25 sd (plus R's rounding) and the p-value
within 0.07 (0.14-0.17 here, 0.20 in R and 0.16 in tfcausalimpact's HMC on
``comparison_data``): about the difference between R and tfcausalimpact.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> x = 100 + np.cumsum(rng.normal(0, 1, 60))
>>> y = 1.2 * x + rng.normal(0, 1, 60)
>>> y[45:] += 10
>>> ci = causal_impact(pd.DataFrame({"y": y, "x": x}), pre_period=[0, 44], post_period=[45, 59],
...                    n_sims=200, random_state=1)
>>> row = ci.table().set_index("effect").loc["average"]
>>> bool(8 < row.estimate < 12), bool(row.lower > 0), ci.p_value < 0.01
(True, True, True)
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import ParameterError, SchemaError
from ..estimators import check_random_state
from ..results import Summary
from ..types import ImpactEstimation, ImpactModel, TableLike
from ._sts import _MODELS, _Data, _fit, _in_sample, _simulate, adjusted_r2
from .effects import Effects, check_alpha, check_count, warn_weak_fit

__all__ = ["CausalImpact", "causal_impact"]


_WHAT = "causal_impact"
_ESTIMATIONS = ("posterior", "mle")


# ------------------------------------------------------------------ reading the data


def _frame(data: Any, date: str | None) -> pd.DataFrame:
    """``data`` as pandas with its time axis in the index (dates, integer periods, or positions)."""
    if isinstance(data, pd.Series):
        data = data.to_frame(name=str(data.name) if data.name is not None else "y")
    if isinstance(data, pd.DataFrame):
        df = data.copy()
    elif type(data).__module__.split(".")[0] in ("polars", "pyarrow") and (hasattr(data, "to_pandas")
                                                                          or hasattr(data, "collect")):
        df = (data.collect() if hasattr(data, "collect") else data).to_pandas()
    else:
        from ..engine import fetch
        from ..inputs import open_table

        if date is None:
            raise ParameterError(f"{_WHAT}: a table read from an engine or a file has no row order; name its date "
                                 "column with date=...")
        df = fetch(open_table(data, what=_WHAT), "pandas")
    df.columns = [str(c) for c in df.columns]
    if df.columns.has_duplicates:
        raise SchemaError(f"{_WHAT}: the table repeats column name(s) "
                          f"{sorted(set(df.columns[df.columns.duplicated()]))}; give each column its own name")
    if df.empty:
        raise SchemaError(f"{_WHAT}: the table is empty")
    if date is not None:
        if date not in df.columns:
            raise SchemaError(f"{_WHAT}: date column {date!r} is not in the table; found {list(df.columns)}",
                              column=date)
        df = df.set_index(date)
        df.index = _time_axis(df.index, date)
        if df.index.has_duplicates:
            raise SchemaError(f"{_WHAT}: date column {date!r} repeats {df.index[df.index.duplicated()][0]}; give one "
                              "row per period", column=date)
        return df.sort_index()
    if isinstance(df.index, pd.PeriodIndex):
        df.index = df.index.to_timestamp()
    if isinstance(df.index, pd.DatetimeIndex):
        if df.index.tz is not None:
            df.index = df.index.tz_localize(None)
        if not df.index.is_monotonic_increasing or df.index.has_duplicates:
            raise SchemaError(f"{_WHAT}: the date index must increase strictly (sorted, one row per period)")
        return df
    return df.reset_index(drop=True)


def _time_axis(values: pd.Index, name: str) -> pd.Index:
    if pd.api.types.is_integer_dtype(values):
        return pd.Index(values.astype("int64"), name=name)
    try:
        out = pd.DatetimeIndex(pd.to_datetime(values, format="ISO8601"), name=name)
    except (TypeError, ValueError):
        raise SchemaError(f"{_WHAT}: date column {name!r} must hold dates (ISO 8601) or integer periods; found values "
                          f"such as {values[0]!r}", column=name) from None
    if out.isna().any():
        raise SchemaError(f"{_WHAT}: date column {name!r} has missing values", column=name)
    return out.tz_localize(None) if out.tz is not None else out  # the dates as written (local wall time)


def _columns(df: pd.DataFrame, y: str | None, x: Sequence[str] | None) -> tuple[str, list[str]]:
    cols = list(df.columns)
    if not cols:
        raise SchemaError(f"{_WHAT}: the table has no column besides the date")
    ycol = cols[0] if y is None else y
    if ycol not in cols:
        raise SchemaError(f"{_WHAT}: response column {ycol!r} is not in the table; found {cols}", column=ycol)
    if x is None:
        xcols = [c for c in cols if c != ycol]
        role = " (every column but the response and the date is a control unless x=... names the controls)"
    else:
        if isinstance(x, str):
            x = [x]
        xcols = [str(c) for c in x]
        missing = [c for c in xcols if c not in cols]
        if missing:
            raise SchemaError(f"{_WHAT}: control column(s) {missing} are not in the table; found {cols}",
                              column=missing[0])
        if ycol in xcols or len(set(xcols)) < len(xcols):
            raise ParameterError(f"{_WHAT}: x must name distinct columns other than the response {ycol!r}; "
                                 f"found {xcols}")
        role = ""
    for c in [ycol, *xcols]:
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            what = "response column" if c == ycol else "control column"
            hint = " (a date? name it with date=...)" if pd.api.types.is_datetime64_any_dtype(df[c]) or (
                df[c].dtype == object and _looks_like_dates(df[c])) else ("" if c == ycol else role)
            raise SchemaError(f"{_WHAT}: {what} {c!r} must be numeric; found {df[c].dtype}{hint}", column=c)
    return ycol, xcols


def _looks_like_dates(s: pd.Series) -> bool:
    try:
        return bool(len(pd.to_datetime(s.dropna().head(5), format="ISO8601")))
    except (TypeError, ValueError):
        return False


def _period(spec: Any, index: pd.Index, what: str) -> tuple[int, int]:
    """First and last row (positions) of a ``[start, end]`` period given as dates or integers (inclusive)."""
    if isinstance(spec, (str, bytes)) or not isinstance(spec, (Sequence, np.ndarray)) or len(spec) != 2:
        raise ParameterError(f"{_WHAT}: {what} must be [start, end]: two dates or two integer positions; "
                             f"found {spec!r}")
    start, end = spec
    ints = [isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (start, end)]
    if any(ints) and not all(ints):
        raise ParameterError(f"{_WHAT}: {what} mixes an integer and a date; found {list(spec)!r}")
    if all(ints) and isinstance(index, (pd.DatetimeIndex, pd.RangeIndex)):  # positions
        lo, hi = int(start), int(end)
        if not 0 <= lo <= hi < len(index):
            raise ParameterError(f"{_WHAT}: {what} {[lo, hi]} must be positions 0 <= start <= end <= {len(index) - 1}")
        return lo, hi
    if not all(ints):
        if not isinstance(index, pd.DatetimeIndex):
            raise ParameterError(f"{_WHAT}: {what} is given as dates {list(spec)!r} but the series has no dates; "
                                 "pass date=... (a date column), a DatetimeIndex, or integer positions")
        try:
            start, end = pd.Timestamp(start), pd.Timestamp(end)
        except (TypeError, ValueError):
            raise ParameterError(f"{_WHAT}: {what} must hold dates or integer positions; "
                                 f"found {list(spec)!r}") from None
    if start > end or start < index[0] or end > index[-1]:
        raise ParameterError(f"{_WHAT}: {what} [{_label(index, None, start)}, {_label(index, None, end)}] must lie "
                             f"within the data ({_label(index, 0)} .. {_label(index, -1)}) with start <= end")
    lo, hi = int(index.searchsorted(start, "left")), int(index.searchsorted(end, "right")) - 1
    if lo > hi:
        raise ParameterError(f"{_WHAT}: {what} [{_label(index, None, start)}, {_label(index, None, end)}] holds no "
                             "row of the data")
    return lo, hi


def _read(data: Any, *, y: str | None, x: Sequence[str] | None, date: str | None, pre_period: Any,
          post_period: Any) -> _Data:
    df = _frame(data, date)
    ycol, xcols = _columns(df, y, x)
    p0, p1 = _period(pre_period, df.index, "pre_period")
    q0, q1 = _period(post_period, df.index, "post_period")
    if p1 >= q0:
        raise ParameterError(f"{_WHAT}: the pre-period must end before the post-period starts; found pre-period "
                             f"{_label(df.index, p0)} .. {_label(df.index, p1)} and post-period "
                             f"{_label(df.index, q0)} .. {_label(df.index, q1)}")
    rows = df.iloc[p0:q1 + 1]
    yv = rows[ycol].to_numpy(dtype=float)
    xv = rows[xcols].to_numpy(dtype=float).reshape(len(rows), len(xcols))
    n_pre = p1 - p0 + 1
    for j, c in enumerate(xcols):
        if not np.isfinite(xv[:, j]).all():
            raise SchemaError(f"{_WHAT}: control column {c!r} has {int((~np.isfinite(xv[:, j])).sum())} missing or "
                              "infinite values; controls must be complete in the pre- and post-period", column=c)
        if np.ptp(xv[:n_pre, j]) == 0:
            raise SchemaError(f"{_WHAT}: control column {c!r} is constant in the pre-period; it cannot predict the "
                              "response: drop it", column=c)
    if np.isinf(yv).any():
        raise SchemaError(f"{_WHAT}: response column {ycol!r} has infinite values", column=ycol)
    post_nan = np.isnan(yv[q0 - p0:]).sum()
    if post_nan:
        raise SchemaError(f"{_WHAT}: response column {ycol!r} has {post_nan} missing value(s) in the post-period; "
                          "the effect needs every post-period observation", column=ycol)
    pre = yv[:n_pre][~np.isnan(yv[:n_pre])]
    if len(pre) and np.ptp(pre) == 0:
        raise SchemaError(f"{_WHAT}: response column {ycol!r} is constant in the pre-period ({pre[0]:g}); a "
                          "constant series gives the model nothing to learn", column=ycol)
    return _Data(y=yv, x=xv, index=rows.index, n_pre=n_pre, post_start=q0 - p0, y_name=ycol, x_names=xcols)


def _label(index: pd.Index, i: int | None, value: Any = None) -> str:
    v = index[i] if i is not None else value
    return str(v.date()) if isinstance(v, pd.Timestamp) and v == v.normalize() else str(v)


# ------------------------------------------------------------------ the summary


def _tail_probability(sums: np.ndarray, observed: float) -> float:
    """R's posterior tail-area probability: share of simulated sums (and the observed one) beyond the observed."""
    both = np.append(sums, observed)
    return float(min(np.sum(both >= observed), np.sum(both <= observed)) / (len(sums) + 1))


def _summary_rows(y_post: np.ndarray, samples: np.ndarray, point: np.ndarray, alpha: float) -> pd.DataFrame:
    """The average and cumulative rows of R's summary table, from trajectories (n_sims x post) and the mean signal."""
    lo, hi = alpha / 2, 1 - alpha / 2
    n = len(y_post)
    rows = []
    sums = samples.sum(axis=1)
    rel = y_post.sum() / sums - 1  # R: the average and cumulative relative effects are the same
    p = _tail_probability(sums, float(y_post.sum()))
    for name, f in (("average", 1.0 / n), ("cumulative", 1.0)):
        pred = sums * f
        effect = y_post.sum() * f - pred
        rows.append({
            "effect": name,
            "estimate": y_post.sum() * f - point.sum() * f,
            "std_error": float(np.std(effect, ddof=1)),
            "lower": float(np.quantile(effect, lo)),
            "upper": float(np.quantile(effect, hi)),
            "p_value": p,
            "actual": y_post.sum() * f,
            "predicted": point.sum() * f,
            "predicted_std_error": float(np.std(pred, ddof=1)),
            "predicted_lower": float(np.quantile(pred, lo)),
            "predicted_upper": float(np.quantile(pred, hi)),
            "relative": float(np.mean(rel)),
            "relative_std_error": float(np.std(rel, ddof=1)),
            "relative_lower": float(np.quantile(rel, lo)),
            "relative_upper": float(np.quantile(rel, hi)),
        })
    return pd.DataFrame(rows)


def _pointwise(d: _Data, signal: np.ndarray, samples: np.ndarray, pre: tuple[np.ndarray, ...],
               alpha: float) -> pd.DataFrame:
    lo, hi = alpha / 2, 1 - alpha / 2
    pre_mean, pre_lo, pre_hi = pre
    predicted = np.concatenate([pre_mean, signal.mean(axis=0)])
    p_lo = np.concatenate([pre_lo, np.quantile(samples, lo, axis=0)])
    p_hi = np.concatenate([pre_hi, np.quantile(samples, hi, axis=0)])
    n = len(d.y)
    period = np.array(["pre"] * d.n_pre + ["gap"] * (d.post_start - d.n_pre) + ["post"] * (n - d.post_start))
    cum, cum_lo, cum_hi = np.zeros(n), np.zeros(n), np.zeros(n)
    k = d.post_start - d.n_pre  # post-period columns of the trajectories start here
    y_post = d.y[d.post_start:]
    draws = np.cumsum(y_post - samples[:, k:], axis=1)
    cum[d.post_start:] = np.cumsum(y_post - predicted[d.post_start:])
    cum_lo[d.post_start:] = np.quantile(draws, lo, axis=0)
    cum_hi[d.post_start:] = np.quantile(draws, hi, axis=0)
    return pd.DataFrame({
        "date": d.index.to_numpy(), "period": period, "actual": d.y, "predicted": predicted,
        "predicted_lower": p_lo, "predicted_upper": p_hi, "point_effect": d.y - predicted,
        "point_effect_lower": d.y - p_hi, "point_effect_upper": d.y - p_lo,
        "cumulative_effect": cum, "cumulative_effect_lower": cum_lo, "cumulative_effect_upper": cum_hi,
    })


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.2f}" if abs(v) >= 1 or v == 0 else f"{v:.3g}"


def _pct(v: float) -> str:
    return f"{100 * v:.2f}%"


class _ImpactSummary(Summary):
    """R's summary layout: the table, then the tail-area probability lines."""

    def __init__(self, title: str, *, notes: Sequence[str], table: pd.DataFrame, footer: Sequence[str]) -> None:
        super().__init__(title, notes=notes, tables=[(None, table)])
        self.footer = list(footer)

    @property
    def text(self) -> str:
        return "\n".join([super().text, "", *self.footer])

    @property
    def html(self) -> str:
        import html as _html

        lines = "".join(f"<p style='margin:0'>{_html.escape(f)}</p>" for f in self.footer)
        head, _, tail = super().html.rpartition("</div>")
        return head + lines + "</div>" + tail


class CausalImpact(Effects):
    """The effect of an intervention on a time series: R CausalImpact's summary as an effects table.

    Rows ``effect`` = ``"average"`` (per post-period point) and ``"cumulative"``
    (summed over the post-period): ``estimate`` (actual minus predicted),
    ``std_error`` (posterior standard deviation), ``lower, upper`` (quantiles of
    the simulated effect), ``p_value`` (R's one-sided posterior tail-area
    probability, the same on both rows); then ``actual``, ``predicted``,
    ``predicted_std_error``, ``predicted_lower``, ``predicted_upper`` and the
    relative effect ``relative`` (actual over predicted, minus one; R's
    definition, the same on both rows) with ``relative_std_error``,
    ``relative_lower``, ``relative_upper``.

    Attributes
    ----------
    pointwise : pandas.DataFrame
        One row per period from the start of the pre-period to the end of the
        post-period: ``date, period`` (``pre``, ``gap``, ``post``), ``actual,
        predicted, predicted_lower, predicted_upper, point_effect`` (+ ``_lower,
        _upper``) and ``cumulative_effect`` (+ ``_lower, _upper``; zero before
        the post-period, as in R). Pre-period predictions are the smoothed fit.
    samples : numpy.ndarray
        Simulated counterfactual trajectories (``n_sims x`` post-period points).
    params : dict
        The variances at the posterior mode (or the maximum likelihood), on the
        scale of the standardised response.
    ess : float
        Effective sample size of the importance-sampled variance draws.
    response, controls : str, list of str
    """

    title: ClassVar[str] = "causal impact (structural time-series counterfactual)"
    keys = ("effect",)
    interval_kind: ClassVar[str] = "quantiles of simulated counterfactual trajectories"

    def __init__(self, frame: pd.DataFrame, *, pointwise: pd.DataFrame, samples: np.ndarray, y_post: np.ndarray,
                 point: np.ndarray, params: dict[str, float], ess: float, response: str, controls: list[str],
                 alpha: float, notes: list[str]) -> None:
        self.pointwise = pointwise
        self.samples = samples
        self.params = params
        self.ess = ess
        self.response = response
        self.controls = controls
        self._y_post = y_post
        self._point = point
        super().__init__(frame, alpha=alpha, notes=notes)

    @property
    def p_value(self) -> float:
        """R's posterior tail-area probability of the cumulative effect (one-sided)."""
        return float(self._computed()["p_value"].iloc[0])

    def _interval(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        rows = _summary_rows(self._y_post, self.samples, self._point, alpha).set_index("effect")
        order = self._computed()["effect"].astype(str)
        return rows.loc[order, "lower"].to_numpy(), rows.loc[order, "upper"].to_numpy()

    def _row(self, name: str) -> pd.Series:
        df = self._computed()
        return df.loc[df["effect"].astype(str) == name].iloc[0]

    def summary(self) -> Summary:
        """R's ``summary(impact)``: actual, prediction (s.d.), absolute and relative effect, each with its interval."""
        level = f"{100 * (1 - self.alpha):g}% CI"
        cols: dict[str, list[str]] = {}
        for name in ("average", "cumulative"):
            r = self._row(name)
            cols[name.capitalize()] = [
                _num(r.actual), f"{_num(r.predicted)} ({_num(r.predicted_std_error)})",
                f"[{_num(r.predicted_lower)}, {_num(r.predicted_upper)}]", "",
                f"{_num(r.estimate)} ({_num(r.std_error)})", f"[{_num(r.lower)}, {_num(r.upper)}]", "",
                f"{_pct(r.relative)} ({_pct(r.relative_std_error)})",
                f"[{_pct(r.relative_lower)}, {_pct(r.relative_upper)}]"]
        labels = ["Actual", "Prediction (s.d.)", level, "", "Absolute effect (s.d.)", level, "",
                  "Relative effect (s.d.)", level]
        table = pd.DataFrame({"": labels, **cols})
        p = self.p_value
        footer = [f"Posterior tail-area probability p: {p:.5g}",
                  f"Posterior prob. of a causal effect: {100 * (1 - p):.4g}%"]
        return _ImpactSummary(self.title, notes=self._notes(), table=table, footer=footer)

    def report(self) -> str:
        """A few sentences on the result, in the spirit of R's ``summary(impact, "report")``."""
        a, c = self._row("average"), self._row("cumulative")
        level = f"{100 * (1 - self.alpha):g}%"
        p = self.p_value
        up = a.estimate > 0
        sig = (a.lower > 0) or (a.upper < 0)
        text = [
            f"After the intervention, {self.response} averaged {_num(a.actual)} per period. Without it, the model "
            f"expects {_num(a.predicted)} ({level} interval {_num(a.predicted_lower)} to {_num(a.predicted_upper)}), "
            f"so the estimated effect is {_num(a.estimate)} per period ({level} interval {_num(a.lower)} to "
            f"{_num(a.upper)}).",
            f"Over the whole post-period that adds up to {_num(c.estimate)} ({level} interval {_num(c.lower)} to "
            f"{_num(c.upper)}) against an expected total of {_num(c.predicted)}; in relative terms "
            f"{'+' if a.relative > 0 else ''}{_pct(a.relative)} ({level} interval {_pct(a.relative_lower)} to "
            f"{_pct(a.relative_upper)}).",
        ]
        if sig:
            text.append(f"The {'increase' if up else 'decrease'} is unlikely to be chance: the probability of an "
                        f"effect at least this {'large' if up else 'negative'} without the intervention is {p:.3g} "
                        "(posterior tail area). Whether it matters depends on what the intervention was meant to "
                        "achieve and cost.")
        else:
            text.append(f"The interval includes zero: the effect is not distinguishable from the model's "
                        f"uncertainty (posterior tail area {p:.3g}). The intervention may have had no effect, or one "
                        "too small to detect over this post-period with these controls.")
        return "\n\n".join(text)

    def plot(self, *, ax: Any = None, panels: Sequence[str] = ("original", "pointwise", "cumulative"),
             **kwargs: Any) -> Any:
        """R's three panels: the series with its counterfactual band, the pointwise and the cumulative effect.

        ``ax``: one axes per panel (a new figure when omitted); ``panels`` picks and orders them.
        """
        from ..viz.impact import plot_impact

        return plot_impact(self.pointwise, panels=panels, ax=ax, **kwargs)


# ------------------------------------------------------------------ the entry point


def causal_impact(data: TableLike | pd.Series, *, pre_period: Sequence[Any], post_period: Sequence[Any],
                  y: str | None = None, x: Sequence[str] | None = None, date: str | None = None,
                  model: ImpactModel = "local_level", nseasons: int | None = None,
                  estimation: ImpactEstimation = "posterior", prior_level_sd: float = 0.01,
                  expected_r2: float | None = None, alpha: float = 0.05,
                  n_sims: int = 2000, random_state: Any = None) -> CausalImpact:
    """The causal effect of an intervention on a time series, from a structural time-series counterfactual.

    Parameters
    ----------
    data : table-like or pandas.Series
        One row per period: the response and the control series (series the
        intervention did not affect). A pandas DatetimeIndex is the time axis
        unless ``date`` names a column; otherwise rows are positions 0, 1, ...
        Tables read from an engine or a file need ``date``.
    pre_period, post_period : [start, end]
        Inclusive bounds: dates (with a date axis) or integer positions (or the
        values of an integer ``date`` column). The pre-period must end before
        the post-period starts; rows in between are forecast but not counted.
    y : str, optional
        The response column (default: the first column).
    x : list of str, optional
        The control columns (default: every other column; ``[]`` for none).
    date : str, optional
        A column of dates (ISO 8601) or integer periods. Time-zone-aware dates (in the column or the
        index) are read as the local dates and times they show; a PeriodIndex as its start dates.
    model : {"local_level", "local_linear_trend"}
        The trend: a random walk (R's model) or a random walk with a random-walk slope.
    nseasons : int, optional
        Add a stochastic seasonal component of this period (7 for a weekly cycle of daily data).
    estimation : {"posterior", "mle"}
        Variances under R's default priors, integrated over by importance sampling
        (default), or plugged in at statsmodels' maximum likelihood.
    prior_level_sd : float
        Prior guess of the level's standard deviation per period, as a share of sd(y) (R's ``prior.level.sd``).
    expected_r2 : float in (0, 1), optional
        The share of var(y) the controls are expected to explain: the prior
        guess of the residual variance is (1 - expected_r2) var(y) (with
        controls, ``estimation="posterior"``). Default: the adjusted R² of
        the pre-period least squares of y on the controls; R uses 0.8.
    alpha : float
        1 - alpha intervals (0.05: 95%).
    n_sims : int
        Counterfactual trajectories simulated (at least 100).
    random_state : int, numpy Generator or None

    Returns
    -------
    CausalImpact

    Raises
    ------
    SchemaError
        Missing or non-numeric columns, missing or infinite controls, a
        constant response or control in the pre-period, missing post-period responses.
    ParameterError
        Periods out of range, reversed or overlapping; a pre-period too short
        for the model; an unknown option.
    """
    if model not in _MODELS:
        raise ParameterError(f"{_WHAT}: model must be one of {list(_MODELS)}; found {model!r}")
    if estimation not in _ESTIMATIONS:
        raise ParameterError(f"{_WHAT}: estimation must be one of {list(_ESTIMATIONS)}; found {estimation!r}")
    if nseasons is not None and (not isinstance(nseasons, (int, np.integer)) or isinstance(nseasons, bool)
                                 or nseasons < 2):
        raise ParameterError(f"{_WHAT}: nseasons must be an integer >= 2 (or None for no season); found {nseasons!r}")
    check_count(n_sims, "n_sims", 100, what=_WHAT)
    if isinstance(prior_level_sd, bool) or not isinstance(prior_level_sd, numbers.Real) or not 0 < prior_level_sd <= 1:
        raise ParameterError(f"{_WHAT}: prior_level_sd must be in (0, 1] (R's default 0.01); found {prior_level_sd!r}")
    if expected_r2 is not None and (isinstance(expected_r2, bool) or not isinstance(expected_r2, numbers.Real)
                                    or not 0 < expected_r2 < 1):
        raise ParameterError(f"{_WHAT}: expected_r2 must be in (0, 1) (R's 0.8), or None for the pre-period's "
                             f"adjusted R²; found {expected_r2!r}")
    a = check_alpha(alpha)
    rng = check_random_state(random_state)
    d = _read(data, y=y, x=x, date=date, pre_period=pre_period, post_period=post_period)
    k_states = 1 + (model == "local_linear_trend") + ((nseasons or 1) - 1) + d.x.shape[1]
    n_obs = int(np.isfinite(d.y[:d.n_pre]).sum())
    need = max(3, k_states + 2)
    if n_obs < need:
        raise ParameterError(f"{_WHAT}: the pre-period has {n_obs} observed point(s); this model ({model}, "
                             f"{d.x.shape[1]} control(s){f', {nseasons} seasons' if nseasons else ''}) needs at "
                             f"least {need}")
    fit_r2 = float("nan")
    if d.x.shape[1]:
        y_pre, x_pre = d.y[:d.n_pre], d.x[:d.n_pre]
        fit_r2 = adjusted_r2(y_pre, x_pre)
        # what the controls explain besides the model's own season and trend
        t = np.arange(d.n_pre, dtype=float)
        own: dict[str, list[np.ndarray]] = {}
        if nseasons:
            own["season"] = [(t % nseasons == s).astype(float) for s in range(1, nseasons)]
        if model == "local_linear_trend":
            own["trend"] = [t]
        columns = [c for cols in own.values() for c in cols]
        beyond = adjusted_r2(y_pre, x_pre, np.column_stack(columns)) if own else fit_r2
        if np.isfinite(beyond):
            warn_weak_fit(_WHAT, beyond, "adjusted R²" + (f" (beyond the {' and '.join(own)})" if own else ""))
    r2 = float(expected_r2) if expected_r2 is not None else fit_r2
    fit = _fit(d, model=model, nseasons=nseasons, estimation=estimation,
               level_sd=float(prior_level_sd), expected_r2=r2, n_sims=int(n_sims), rng=rng)
    signal, samples = _simulate(fit, d, rng)
    k = d.post_start - d.n_pre
    y_post = d.y[d.post_start:]
    point = signal[:, k:].mean(axis=0)
    frame = _summary_rows(y_post, samples[:, k:], point, a)
    pointwise = _pointwise(d, signal, samples, _in_sample(fit, d, a), a)
    prior_r2 = "" if not d.x_names else (f", expected R² {r2:.3g}" + (" (the pre-period's adjusted R²)"
                                                                       if expected_r2 is None else ""))
    how = (f"variances under R CausalImpact's priors{prior_r2}, importance-sampled around the posterior mode"
           if estimation == "posterior" else "variances at statsmodels' maximum likelihood (plugged in)")
    season = f" + {nseasons} seasons" if nseasons else ""
    controls = ", ".join(d.x_names) if d.x_names else "none"
    regression = " + static regression" if d.x_names else ""
    notes = [f"response {d.y_name}; controls: {controls}",
             f"model: {model.replace('_', ' ')}{season}{regression}, {how}",
             f"pre-period {_label(d.index, 0)} .. {_label(d.index, d.n_pre - 1)} ({d.n_pre} points), post-period "
             f"{_label(d.index, d.post_start)} .. {_label(d.index, len(d.y) - 1)} ({len(y_post)} points); "
             f"{int(n_sims)} simulated trajectories" + (f" (importance sampling's effective sample size of the "
                                                         f"variances: {fit.ess:.0f})" if estimation == "posterior"
                                                         else "")]
    params = dict(zip(fit.model.param_names, map(float, fit.params)))
    return CausalImpact(frame, pointwise=pointwise, samples=samples[:, k:], y_post=y_post, point=point,
                        params=params, ess=fit.ess, response=d.y_name, controls=d.x_names, alpha=a, notes=notes)
