"""The monetised advertising return rate (MRR): incremental margin per unit of media cost, against a benchmark.

Definition (one, used everywhere in the package)::

    MRR = incremental revenue x margin / cost

* *incremental revenue* is what the advertising caused — measured by an experiment, a geo test
  (``tbr``, ``trimmed_match``), a marketing-mix model (``MMM.roas()``) or an incremental / calibrated
  attribution — never attributed revenue of a rule such as last touch;
* *margin* is the share of revenue the brand keeps (gross margin, 0 < margin <= 1; 1 reads MRR as ROAS);
* *cost* is the media cost that bought the effect.

MRR > 1 means the advertising paid for itself out of the margin it added. ``vs_benchmark`` is MRR over a
category or industry benchmark MRR (a number, or one per channel / campaign): 1.2 is 20% more efficient than
the benchmark.

The interval is propagated from the estimator that produced the incremental revenue — its own interval, not a
new one: the normal / t interval of an experiment or an MMM, the bootstrap interval of Trimmed Match or of an
attribution. MRR is linear in the incremental revenue for a known cost, so its bounds are the revenue's bounds
times ``margin / cost``; where the cost is itself uncertain (a TBR with variable cost), the estimator's iROAS
interval, which accounts for it, is used. The p-value is that of MRR against the benchmark (against 1, break
even, without one), from the standard error.

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"campaign": ["spring", "summer"], "estimate": [12000.0, 3000.0],
...                   "std_error": [3000.0, 2000.0], "cost": [4000.0, 2500.0]})
>>> r = mrr(t, margin=0.4, benchmark=1.0)
>>> r.table()[["campaign", "estimate", "lower", "upper", "vs_benchmark"]].round(2).values.tolist()
[['spring', 1.2, 0.61, 1.79, 1.2], ['summer', 0.48, -0.15, 1.11, 0.48]]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ParameterError, SchemaError
from .effects import Effects, check_alpha

__all__ = ["MRR", "mrr"]


class MRR(Effects):
    """MRR per channel / campaign: ``estimate`` (the MRR), ``std_error``, ``lower``, ``upper``, ``p_value`` (against
    the benchmark, or 1), then ``incremental_revenue`` (with bounds), ``cost``, ``margin``, ``benchmark``,
    ``vs_benchmark`` (with bounds) and ``source`` (the estimator behind the incremental revenue)."""

    title: ClassVar[str] = "monetised advertising return rate (MRR)"
    interval_kind: ClassVar[str] = "propagated from the incremental-revenue estimator's interval"

    def _interval(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        df = self._computed()
        if np.isclose(alpha, self.alpha):
            return df["lower"].to_numpy(), df["upper"].to_numpy()
        raise ParameterError(f"MRR intervals come from the source estimator at its level ({1 - self.alpha:.0%}); "
                             "compute the source at another alpha and call mrr again")

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """MRR per row with its interval, the benchmark and break-even as lines."""
        from ..viz.mmm import plot_mrr

        return plot_mrr(self.table(), key=self.key_columns[0], ax=ax, **kwargs)


def _lookup(value: float | Mapping[str, float] | None, keys: pd.Series, name: str, default: float | None
            ) -> np.ndarray:
    if value is None:
        return np.full(len(keys), np.nan if default is None else default)
    if isinstance(value, Mapping):
        missing = sorted(set(keys.astype(str)) - {str(k) for k in value})
        if missing:
            raise ParameterError(f"{name}: no value for {missing}; given for {sorted(map(str, value))}")
        return np.array([float(value[str(k)]) for k in keys])
    return np.full(len(keys), float(value))


def _from_source(source: Any, cost: Any, alpha: float) -> tuple[pd.DataFrame, str, float]:
    """Rows of ``key, revenue, revenue_se, revenue_lower, revenue_upper, cost`` and the source's name and alpha."""
    from .geo.tbr import TBREffects
    from .geo.trimmed_match import TrimmedMatchEffects
    from .mmm.results import MMMChannels

    if isinstance(source, MMMChannels):
        if source.target != "revenue":
            raise ParameterError("mrr: an MMM of conversions gives no revenue; fit it with target='revenue'")
        t = source.table()
        return (pd.DataFrame({"channel": t["channel"], "revenue": t["contribution"],
                              "revenue_se": t["std_error"] * t["spend"],
                              "revenue_lower": t["lower"] * t["spend"], "revenue_upper": t["upper"] * t["spend"],
                              "cost": t["spend"]}), "MMM", source.alpha)
    if isinstance(source, (TBREffects, TrimmedMatchEffects)):
        t = source.table().set_index("metric")
        if "iroas" not in t.index:
            raise ParameterError(f"mrr: the {type(source).__name__} has no cost (no iROAS row); give the test's cost")
        spent = source.incremental_cost if cost is None else cost
        if spent is None:
            raise ParameterError(f"mrr: the {type(source).__name__} has no incremental cost; give cost=")
        c = float(spent)
        i = t.loc["iroas"]
        name = "trimmed_match" if isinstance(source, TrimmedMatchEffects) else "tbr"
        return (pd.DataFrame({"test": [name], "revenue": [i["estimate"] * c], "revenue_se": [i["std_error"] * abs(c)],
                              "revenue_lower": [min(i["lower"] * c, i["upper"] * c)],
                              "revenue_upper": [max(i["lower"] * c, i["upper"] * c)], "cost": [c]}), name, source.alpha)
    from ..attribution.result import Attribution

    if isinstance(source, Attribution):
        ci = source.conf_int(alpha)
        if ci["method"].nunique() != 1:
            raise ParameterError(f"mrr: give one attribution method; found {sorted(ci['method'].unique())}")
        keys = ci["channel"]
        z = stats.norm.ppf(1 - alpha / 2)
        return (pd.DataFrame({"channel": keys, "revenue": ci["value"],
                              "revenue_se": (ci["value_upper"] - ci["value_lower"]) / (2 * z),
                              "revenue_lower": ci["value_lower"], "revenue_upper": ci["value_upper"],
                              "cost": _costs(cost, keys)}),
                str(ci["method"].iloc[0]), alpha)
    if isinstance(source, (Effects, pd.DataFrame)):
        t = source.table() if isinstance(source, Effects) else source.copy()
        a = source.alpha if isinstance(source, Effects) else alpha
        if "estimate" not in t.columns:
            raise SchemaError(f"mrr: the incremental revenue goes in an 'estimate' column; found {list(t.columns)}",
                              column="estimate")
        key = next((c for c in t.columns if c not in ("estimate", "std_error", "lower", "upper", "p_value", "cost")
                    and not pd.api.types.is_float_dtype(t[c])), None)
        keys = t[key].astype(str) if key else pd.Series([f"row {i}" for i in range(len(t))])
        costs = t["cost"].to_numpy(float) if "cost" in t.columns and cost is None else _costs(cost, keys)
        se = t["std_error"].to_numpy(float) if "std_error" in t.columns else np.full(len(t), np.nan)
        q = stats.norm.ppf(1 - a / 2)
        lo = t["lower"].to_numpy(float) if "lower" in t.columns else t["estimate"].to_numpy(float) - q * se
        hi = t["upper"].to_numpy(float) if "upper" in t.columns else t["estimate"].to_numpy(float) + q * se
        if np.isnan(se).all() and not ("lower" in t.columns and "upper" in t.columns):
            raise SchemaError("mrr: the incremental revenue needs a std_error or lower / upper bounds",
                              column="std_error")
        se = np.where(np.isnan(se), (hi - lo) / (2 * q), se)
        return (pd.DataFrame({key or "row": keys, "revenue": t["estimate"].to_numpy(float), "revenue_se": se,
                              "revenue_lower": lo, "revenue_upper": hi, "cost": costs}),
                type(source).__name__ if isinstance(source, Effects) else "table", a)
    raise ParameterError(f"mrr: cannot read incremental revenue from a {type(source).__name__}; give MMM.roas(), a "
                         "tbr / trimmed_match result, an Attribution, an Effects or a DataFrame")


def _costs(cost: Any, keys: pd.Series) -> np.ndarray:
    if cost is None:
        raise ParameterError("mrr: give cost= (a number, or a Series / dict by channel or campaign)")
    if isinstance(cost, pd.Series):
        cost = cost.to_dict()
    return _lookup(cost, keys, "cost", None)


def mrr(source: Any, *, cost: Any = None, margin: float | Mapping[str, float] = 1.0,
        benchmark: float | Mapping[str, float] | None = None, alpha: float = 0.05) -> MRR:
    """The monetised advertising return rate of what ``source`` measured (see the module's definition).

    Parameters
    ----------
    source : MMMChannels, TBREffects, TrimmedMatchEffects, Attribution, Effects or DataFrame
        Where the incremental revenue comes from: ``MMM.roas()`` (per channel; cost = spend), a geo test
        (cost = its incremental cost), an incremental or calibrated attribution (cost per channel from
        ``cost``; bootstrap intervals), or a table of ``estimate`` (incremental revenue) with ``std_error`` or
        ``lower`` / ``upper`` and a ``cost`` column (or ``cost=``), keyed by its first column that is not a float.
    cost : float, dict or Series, optional
        Media cost, where the source does not carry it.
    margin : float or dict
        Share of revenue kept, in (0, 1] (one per key as a dict).
    benchmark : float or dict, optional
        Category or industry MRR to compare with.
    alpha : float
        Interval level for sources computed here (an attribution's bootstrap); other sources keep their own.

    Returns
    -------
    MRR

    Raises
    ------
    ParameterError
        An unreadable source, a missing cost, a cost <= 0, a margin outside (0, 1], a benchmark <= 0.
    """
    a = check_alpha(alpha)
    rows, name, src_alpha = _from_source(source, cost, a)
    key = rows.columns[0]
    keys = rows[key].astype(str)
    m = _lookup(margin, keys, "margin", 1.0)
    if not ((m > 0) & (m <= 1)).all():
        raise ParameterError(f"margin must be in (0, 1] (the share of revenue kept); found {margin!r}")
    c = rows["cost"].to_numpy(float)
    if not (np.isfinite(c) & (c > 0)).all():
        raise ParameterError(f"cost must be > 0 for every row; found {c.tolist()}")
    b = _lookup(benchmark, keys, "benchmark", None)
    if benchmark is not None and not (b > 0).all():
        raise ParameterError(f"benchmark MRR must be > 0; found {benchmark!r}")
    f = m / c
    est = rows["revenue"].to_numpy(float) * f
    se = rows["revenue_se"].to_numpy(float) * f
    lo, hi = rows["revenue_lower"].to_numpy(float) * f, rows["revenue_upper"].to_numpy(float) * f
    ref = np.where(np.isnan(b), 1.0, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, 2 * stats.norm.sf(np.abs(est - ref) / se), np.nan)
    frame = pd.DataFrame({key: rows[key], "estimate": est, "std_error": se, "lower": lo, "upper": hi, "p_value": p,
                          "incremental_revenue": rows["revenue"], "incremental_revenue_lower": rows["revenue_lower"],
                          "incremental_revenue_upper": rows["revenue_upper"], "cost": c, "margin": m,
                          "benchmark": b, "vs_benchmark": est / b, "vs_benchmark_lower": lo / b,
                          "vs_benchmark_upper": hi / b, "source": name})
    notes = [f"MRR = incremental revenue x margin / cost; incremental revenue from {name}",
             f"p-value against {'the benchmark' if benchmark is not None else 'break-even (MRR = 1)'}"]
    return MRR(frame, alpha=src_alpha, notes=notes)
