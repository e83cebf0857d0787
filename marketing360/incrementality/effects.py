"""The result every incrementality estimator returns: effects with standard errors, intervals and p-values.

An :class:`Effects` result is a tidy table with one row per effect (an arm
against control, a period, a cohort, a geo ...): the key columns of the
estimator, then

``estimate, std_error, lower, upper, p_value``

(``lower`` / ``upper`` the ``1 - alpha`` interval the result was computed
at; a column is NaN where the method has no such quantity), then whatever
else the method reports (``control_mean``, ``relative``, ``n_treated`` ...).
:meth:`Effects.conf_int` gives the interval at any other level: from the
normal (or Student t with :attr:`Effects.dof` degrees of freedom) approximation
by default; estimators whose intervals come otherwise (bootstrap, conformal,
posterior draws) override :meth:`Effects._interval`.

Examples
--------
>>> import pandas as pd
>>> e = Effects(pd.DataFrame({"arm": ["b"], "estimate": [0.02], "std_error": [0.01]}))
>>> e.conf_int(0.05).round(4).to_dict("records")
[{'arm': 'b', 'lower': 0.0004, 'upper': 0.0396}]
>>> float(e.table().p_value.round(4).iloc[0])
0.0455
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ParameterError
from ..results import Result

__all__ = ["Effects", "EFFECT_COLUMNS", "normal_interval", "check_alpha", "check_count", "WEAK_FIT_R2",
           "warn_weak_fit"]

#: the columns every effects table has, after its keys
EFFECT_COLUMNS = ("estimate", "std_error", "lower", "upper", "p_value")
#: below this pre-period R² the control series barely inform a regression counterfactual (``tbr``,
#: ``causal_impact``): a warning says what follows
WEAK_FIT_R2 = 0.5


def warn_weak_fit(what: str, r2: float, measure: str = "R²") -> None:
    """Warn when the controls explain less than :data:`WEAK_FIT_R2` of the treated series over the pre-period.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_weak_fit("tbr", 0.1), warn_weak_fit("tbr", 0.9)
    (None, None)
    >>> [str(w.message)[:55] for w in caught]
    ['tbr: the controls explain R² = 0.10 of the treated seri']
    """
    if r2 < WEAK_FIT_R2:
        warnings.warn(
            f"{what}: the controls explain {measure} = {r2:.2f} of the treated series over the pre-period: the "
            "counterfactual then comes from the treated series' own past more than from the controls, and a level "
            "shift shared by treated and controls between the pre-period and the test (a trend, a season) biases "
            "the effect; check with a placebo test on the pre-period, or with did / synthetic_control, which "
            "follow the controls' level", UserWarning, stacklevel=3)


def check_alpha(alpha: Any) -> float:
    """``alpha`` as a float in (0, 1), or a :class:`ParameterError` naming it."""
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ParameterError(f"alpha must be a number in (0, 1); found {alpha!r}") from None
    if not 0 < a < 1:
        raise ParameterError(f"alpha must be in (0, 1) (0.05 for 95% intervals); found {alpha!r}")
    return a


def check_count(value: Any, name: str, minimum: int, *, what: str | None = None) -> int:
    """``value`` as an int of at least ``minimum`` (replicates, draws, permutations), or a :class:`ParameterError`
    naming it (booleans and floats are refused).

    Examples
    --------
    >>> check_count(200, "n_sims", 100)
    200
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        need = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ParameterError(f"{what + ': ' if what else ''}{name} must be {need}; found {value!r}")
    return int(value)


def normal_interval(estimate: Any, std_error: Any, alpha: float, dof: float | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower and upper bounds and the two-sided p-value of ``estimate`` against 0 (normal, or t with ``dof``)."""
    est = np.asarray(estimate, dtype=float)
    se = np.asarray(std_error, dtype=float)
    dist = stats.norm if dof is None or not np.isfinite(dof) else stats.t(dof)
    q = dist.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, est / se, np.nan)
    p = 2 * dist.sf(np.abs(z))
    return est - q * se, est + q * se, p


class Effects(Result):
    """Estimated effects, one row per effect: keys, ``estimate, std_error, lower, upper, p_value``, extras.

    Parameters
    ----------
    frame : pandas.DataFrame
        The keys, ``estimate`` and ``std_error`` at least; ``lower``,
        ``upper`` and ``p_value`` are filled from the normal (or t)
        approximation where absent.
    alpha : float
        Level of the ``lower`` / ``upper`` columns (0.05: 95% intervals).
    dof : float, optional
        Degrees of freedom of a Student t reference distribution (None: normal).
    notes : list of str
        What produced the result (method, settings), shown in the summary.
    """

    title: ClassVar[str] = "effects"
    #: how the intervals are made, in words, where not from the normal / t approximation ("bootstrap", ...)
    interval_kind: ClassVar[str] = ""

    def __init__(self, frame: pd.DataFrame, *, alpha: float = 0.05, dof: float | None = None,
                 notes: list[str] | None = None) -> None:
        self.alpha = check_alpha(alpha)
        self.dof = dof
        self._extra_notes = list(notes or [])
        missing = [c for c in ("estimate", "std_error") if c not in frame.columns]
        if missing:
            raise ParameterError(f"an effects table needs columns {missing}; found {list(frame.columns)}")
        f = frame.copy()
        lo, hi, p = normal_interval(f["estimate"], f["std_error"], self.alpha, dof)
        for c, v in (("lower", lo), ("upper", hi), ("p_value", p)):
            if c not in f.columns:
                f[c] = v
        keys = [c for c in f.columns if c not in EFFECT_COLUMNS and c in self._key_columns(f)]
        rest = [c for c in f.columns if c not in EFFECT_COLUMNS and c not in keys]
        super().__init__(f[[*keys, *EFFECT_COLUMNS, *rest]])

    def _key_columns(self, f: pd.DataFrame) -> list[str]:
        """The key columns: those named in :attr:`keys`, or else the non-numeric columns before ``estimate``."""
        if self.keys:
            return [k for k in self.keys if k in f.columns]
        before = list(f.columns[:list(f.columns).index("estimate")])
        return [c for c in before if not pd.api.types.is_float_dtype(f[c])]

    @property
    def key_columns(self) -> list[str]:
        """The columns that identify an effect."""
        df = self._computed()
        return list(df.columns[:list(df.columns).index("estimate")])

    def _interval(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        """Bounds at level ``alpha``; the normal / t approximation unless the estimator overrides it."""
        df = self._computed()
        lo, hi, _ = normal_interval(df["estimate"], df["std_error"], alpha, self.dof)
        return lo, hi

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """The keys and ``lower, upper`` of the ``1 - alpha`` interval of each effect."""
        a = check_alpha(alpha)
        df = self._computed()
        if np.isclose(a, self.alpha):
            lo, hi = df["lower"].to_numpy(), df["upper"].to_numpy()
        else:
            lo, hi = self._interval(a)
        out = df[self.key_columns].copy()
        out["lower"], out["upper"] = lo, hi
        return out

    @property
    def estimate(self) -> pd.Series:
        """The estimates, indexed by the key columns (a plain index when there is one key)."""
        df = self._computed()
        keys = self.key_columns
        return df.set_index(keys)["estimate"] if keys else df["estimate"]

    def _notes(self) -> list[str]:
        level = f"{100 * (1 - self.alpha):g}% intervals"
        ref = self.interval_kind or ("normal approximation" if self.dof is None
                                     else f"t with {self.dof:g} degrees of freedom")
        return [*self._extra_notes, f"{level} ({ref})"]
