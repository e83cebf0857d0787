"""How good is an uplift model: uplift and Qini curves, the areas under them, and the uplift in the top k.

Rank the rows of a randomised test by predicted uplift, best first, and
follow the treated and control rows among the first ``n``:

* the **uplift curve** is ``(mean_t(n) - mean_c(n)) * n``: the treated
  minus the control outcome rate among the first ``n`` rows, times ``n``
  (Rzepakowski & Jaroszewicz 2012; Devriendt et al. 2020);
* the **Qini curve** is ``Y_t(n) - Y_c(n) * N_t(n) / N_c(n)``: the treated
  outcomes among the first ``n`` rows minus the control outcomes scaled to
  the treated count (Radcliffe 2007).

The curves are taken at the end of each group of tied scores (a tie is
ranked as one block), start at ``(0, 0)``, and where one arm has no row yet
its term counts as 0. The **random** baseline is the straight line to the
curve's end (targeting at random); the **perfect** curve ranks the rows as
an oracle would (binary outcomes only): treated responders first, control
non-responders last ... (see :func:`uplift_curve`). The normalised score is
``(area - random area) / (perfect area - random area)``, areas by the
trapezoidal rule over ``n = 0 .. N``. Every number here is the one
scikit-uplift 0.5 computes for the same inputs (``uplift_curve``,
``qini_curve``, ``uplift_auc_score``, ``qini_auc_score``, ``uplift_at_k``).

Examples
--------
>>> y = [1, 0, 1, 0, 0, 1, 0, 0]
>>> t = [1, 1, 1, 1, 0, 0, 0, 0]
>>> s = [0.9, 0.8, 0.7, 0.1, 0.6, 0.2, 0.3, 0.4]
>>> c = qini_curve(y, s, t)
>>> c.curve.value.round(3).tolist()
[0.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 1.25, 1.0]
>>> round(qini_auc(y, s, t), 4), round(auuc(y, s, t), 4)
(0.8158, 0.6296)
>>> round(uplift_at_k(y, s, t, k=0.5), 4)
0.6667
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..results import Result
from ..types import AtKStrategy, CurveKind

__all__ = ["UpliftCurve", "QiniCurve", "uplift_curve", "qini_curve", "auuc", "qini_auc", "uplift_at_k",
           "CurveKind", "AtKStrategy"]


_ROWS_SHOWN = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


# ------------------------------------------------------------------ inputs


def as_vector(values: Any, name: str) -> np.ndarray:
    """``values`` as a 1-d float array without NaN or infinities, or a :class:`ParameterError` naming it."""
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise ParameterError(f"{name} must be one column; found a table of {values.shape[1]} columns")
        values = values.iloc[:, 0]
    a = np.asarray(values)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ParameterError(f"{name} must be one-dimensional; found an array of shape {a.shape}")
    if a.size == 0:
        raise ParameterError(f"{name} is empty")
    if a.dtype == bool:
        a = a.astype(float)
    if not np.issubdtype(a.dtype, np.number):
        raise ParameterError(f"{name} must be numeric; found values of type {a.dtype} (e.g. {a[0]!r})")
    a = a.astype(float)
    bad = ~np.isfinite(a)
    if bad.any():
        raise ParameterError(f"{name} has {int(bad.sum())} missing or infinite value(s) (first at row "
                             f"{int(np.flatnonzero(bad)[0])}); drop or fill them first")
    return a


def is_binary(y: np.ndarray) -> bool:
    """Whether every value of ``y`` is 0 or 1."""
    return bool(np.isin(y, (0.0, 1.0)).all())


def _check(y: Any, uplift: Any, treatment: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    yv, uv, tv = as_vector(y, "y"), as_vector(uplift, "uplift"), as_vector(treatment, "treatment")
    if not len(yv) == len(uv) == len(tv):
        raise ParameterError(f"y, uplift and treatment must have the same length; found {len(yv)}, {len(uv)} "
                             f"and {len(tv)}")
    if not is_binary(tv):
        raise ParameterError(f"treatment must be 1 (treated) or 0 (control); found values "
                             f"{np.unique(tv)[:6].tolist()}")
    n_t = int(tv.sum())
    if n_t == 0 or n_t == len(tv):
        arm = "treated" if n_t else "control"
        raise ParameterError(f"treatment: an uplift evaluation needs treated and control rows; all "
                             f"{len(tv):,} rows are {arm}")
    if np.all(yv == yv[0]):
        raise ParameterError(f"y is constant ({yv[0]:g} on every row): no uplift to measure")
    return yv, uv, tv


def _descending(uplift: np.ndarray) -> np.ndarray:
    """Row order by score, highest first; tied rows come later row first (as scikit-uplift ranks them)."""
    return np.argsort(uplift, kind="mergesort")[::-1]


# ------------------------------------------------------------------ the curves


def _cumulative(y: np.ndarray, score: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
    """Rows, treated rows, treated outcome and control outcome among the first n, at the end of each tie."""
    order = _descending(score)
    s, ys, ts = score[order], y[order], t[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    n = (last + 1).astype(float)
    return n, np.cumsum(ts)[last], np.cumsum(ys * ts)[last], np.cumsum(ys * (1.0 - ts))[last]


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(a), where=b != 0)


def _curve(kind: str, y: np.ndarray, score: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, n_t, y_t, y_c = _cumulative(y, score, t)
    n_c = n - n_t
    if kind == "uplift":
        value = (_ratio(y_t, n_t) - _ratio(y_c, n_c)) * n
    else:
        value = y_t - y_c * _ratio(n_t, n_c)
    return np.r_[0.0, n], np.r_[0.0, value]


def _perfect(kind: str, y: np.ndarray, t: np.ndarray, negative_effect: bool) -> tuple[np.ndarray, np.ndarray]:
    """The oracle's curve of a binary outcome."""
    if kind == "uplift":
        # treated responders, then control non-responders, then the larger of control responders and
        # treated non-responders before the other
        control_responders = np.sum((y == 1) & (t == 0))
        treated_nonresponders = np.sum((y == 0) & (t == 1))
        third = y if control_responders > treated_nonresponders else t
        return _curve(kind, y, 2.0 * (y == t) + third, t)
    if negative_effect:  # treated responders first, control responders last
        return _curve(kind, y, y * t - y * (1.0 - t), t)
    # without negative effects: the incremental responders first, then nothing more
    gain = y[t == 1].sum() - (t == 1).sum() * y[t == 0].sum() / (t == 0).sum()
    if gain <= 0:
        raise ParameterError(f"the perfect Qini curve without negative effects needs a positive overall effect; "
                             f"the treated gain over control is {gain:.4g} (use negative_effect=True)")
    return np.array([0.0, gain, float(len(y))]), np.array([0.0, gain, gain])


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.4g}"


class UpliftCurve(Result):
    """An uplift curve with its random and perfect baselines: ``curve, n, fraction, value``.

    ``curve`` is ``"model"`` (ranked by the predicted uplift), ``"perfect"``
    (binary outcomes only) or ``"random"``; ``n`` the rows targeted (best
    first), ``fraction`` their share of all rows, ``value`` the curve there.

    Attributes
    ----------
    kind : {"uplift", "qini"}
    n_treated, n_control : int
    binary : bool
        Whether the outcome is 0/1 (only then is there a perfect curve and a normalised score).
    """

    title: ClassVar[str] = "uplift curve"
    keys = ("curve",)
    kind: ClassVar[CurveKind] = "uplift"

    def __init__(self, frame: pd.DataFrame, *, n_treated: int, n_control: int, binary: bool,
                 negative_effect: bool = True) -> None:
        super().__init__(frame)
        self.n_treated = n_treated
        self.n_control = n_control
        self.binary = binary
        self.negative_effect = negative_effect

    def _part(self, name: str) -> pd.DataFrame:
        df = self._computed()
        return df.loc[df["curve"] == name, ["n", "fraction", "value"]].reset_index(drop=True)

    @property
    def curve(self) -> pd.DataFrame:
        """The model's curve: ``n, fraction, value``."""
        return self._part("model")

    @property
    def perfect(self) -> pd.DataFrame | None:
        """The oracle's curve (None when the outcome is not binary)."""
        return self._part("perfect") if self.binary else None

    @property
    def random(self) -> pd.DataFrame:
        """The random-targeting line: ``(0, 0)`` to the curve's end."""
        return self._part("random")

    @staticmethod
    def _area(part: pd.DataFrame) -> float:
        return float(np.trapezoid(part["value"].to_numpy(float), part["n"].to_numpy(float)))

    @property
    def area(self) -> float:
        """Area under the model's curve (trapezoids over n = 0 .. N; outcome units times rows)."""
        return self._area(self.curve)

    @property
    def random_area(self) -> float:
        """Area under the random line."""
        return self._area(self.random)

    @property
    def perfect_area(self) -> float:
        """Area under the perfect curve; a :class:`ParameterError` when the outcome is not binary."""
        perfect = self.perfect
        if perfect is None:
            raise ParameterError(f"the perfect {self.kind} curve is defined for a 0/1 outcome only; this outcome "
                                 "is not binary (use the area, or normalize=False)")
        return self._area(perfect)

    def _score_or_none(self) -> float | None:
        """The normalised score, or None where it is undefined (an outcome that is not 0/1, or a perfect curve
        that is the random line)."""
        if not self.binary or self.perfect_area == self.random_area:
            return None
        return self.score

    @property
    def score(self) -> float:
        """``(area - random area) / (perfect area - random area)``: 0 random, 1 perfect (binary outcomes)."""
        perfect, rnd = self.perfect_area, self.random_area
        if perfect == rnd:
            raise ParameterError(f"the perfect {self.kind} curve is the random line: the normalised score is "
                                 "undefined (no room to rank these rows)")
        return (self.area - rnd) / (perfect - rnd)

    def _notes(self) -> list[str]:
        n = self.n_treated + self.n_control
        notes = [f"{n:,} rows ({self.n_treated:,} treated, {self.n_control:,} control), best predicted uplift first",
                 f"area under the curve {_num(self.area)} (random targeting {_num(self.random_area)})"]
        if self.binary:
            score = self._score_or_none()
            shown = "undefined (the perfect curve is the random line)" if score is None else f"{score:.4f}"
            notes.append(f"normalised score {shown} (0: random, 1: perfect; perfect area {_num(self.perfect_area)})")
        return notes

    def _summary_table(self) -> pd.DataFrame:
        model, rnd = self.curve, self.random
        at = np.floor(np.array(_ROWS_SHOWN) * float(model["n"].iloc[-1]))
        out = pd.DataFrame({"fraction": _ROWS_SHOWN, "n": at.astype("int64")})
        out[self.kind] = np.interp(at, model["n"], model["value"])
        out["random"] = np.interp(at, rnd["n"], rnd["value"])
        return out

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """The model's curve with the random line and (binary outcomes) the perfect curve; returns the figure.

        Keyword arguments go to :func:`marketing360.viz.uplift.plot_uplift_curve`
        (``label=``, ``baselines=``, ``title=``).
        """
        from ..viz.uplift import plot_uplift_curve

        return plot_uplift_curve(self.table(), kind=self.kind, score=self._score_or_none(), ax=ax, **kwargs)


class QiniCurve(UpliftCurve):
    """A Qini curve with its random and perfect baselines (same table as :class:`UpliftCurve`)."""

    title: ClassVar[str] = "Qini curve"
    kind: ClassVar[CurveKind] = "qini"


def _build(kind: CurveKind, y: Any, uplift: Any, treatment: Any, negative_effect: bool) -> UpliftCurve:
    if not isinstance(negative_effect, bool):
        raise ParameterError(f"negative_effect must be True or False; found {negative_effect!r}")
    yv, uv, tv = _check(y, uplift, treatment)
    binary = is_binary(yv)
    x, v = _curve(kind, yv, uv, tv)
    parts = [("model", x, v)]
    end = v[-1]
    if binary:
        px, pv = _perfect(kind, yv, tv, negative_effect)
        parts.append(("perfect", px, pv))
        end = pv[-1]
    parts.append(("random", np.array([0.0, float(len(yv))]), np.array([0.0, end])))
    frame = pd.concat([pd.DataFrame({"curve": name, "n": px_, "fraction": px_ / len(yv), "value": pv_})
                       for name, px_, pv_ in parts], ignore_index=True)
    cls = UpliftCurve if kind == "uplift" else QiniCurve
    n_t = int(tv.sum())
    return cls(frame, n_treated=n_t, n_control=len(tv) - n_t, binary=binary, negative_effect=negative_effect)


def uplift_curve(y: Any, uplift: Any, treatment: Any) -> UpliftCurve:
    """The uplift curve of predicted ``uplift`` on a randomised test, with its random and perfect baselines.

    Parameters
    ----------
    y : array-like
        The observed outcome of each row (0/1, or any number: spend ...).
    uplift : array-like
        The predicted uplift (any score; higher means target first).
    treatment : array-like
        1 for treated rows, 0 for control rows (both must be present).

    Returns
    -------
    UpliftCurve
        ``curve, n, fraction, value`` for the model, the perfect ranking
        (0/1 outcomes: treated responders first, control non-responders next,
        then control responders before treated non-responders when there are
        more of them, else after) and random targeting; ``score`` the
        normalised area, ``area`` the raw one.

    Raises
    ------
    ParameterError
        Lengths differ, NaN, a treatment that is not 0/1, an arm without rows,
        or a constant outcome.

    Examples
    --------
    >>> c = uplift_curve([1, 0, 0, 1], [0.9, 0.5, 0.4, 0.1], [1, 1, 0, 0])
    >>> c.curve.value.tolist()
    [0.0, 1.0, 1.0, 1.5, 0.0]
    >>> round(c.score, 4)
    0.7778
    """
    return _build("uplift", y, uplift, treatment, True)


def qini_curve(y: Any, uplift: Any, treatment: Any, *, negative_effect: bool = True) -> QiniCurve:
    """The Qini curve of predicted ``uplift`` on a randomised test, with its random and perfect baselines.

    Parameters
    ----------
    y, uplift, treatment : array-like
        As in :func:`uplift_curve`.
    negative_effect : bool, default True
        The perfect curve (0/1 outcomes) ranks treated responders first and
        control responders last, so it counts the harm the treatment may do;
        with False it is the line up to the overall incremental responders
        and flat after (Radcliffe's curve without negative effects).

    Returns
    -------
    QiniCurve

    Examples
    --------
    >>> c = qini_curve([1, 0, 0, 1], [0.9, 0.5, 0.4, 0.1], [1, 1, 0, 0])
    >>> c.curve.value.tolist()
    [0.0, 1.0, 1.0, 1.0, 0.0]
    """
    return _build("qini", y, uplift, treatment, negative_effect)  # type: ignore[return-value]


def auuc(y: Any, uplift: Any, treatment: Any, *, normalize: bool = True) -> float:
    """Area under the uplift curve: normalised (0 random, 1 perfect; 0/1 outcomes) or raw.

    ``normalize=True`` is scikit-uplift's ``uplift_auc_score``; the raw area
    (``normalize=False``) is the trapezoidal area under the model's curve,
    for any outcome.

    Examples
    --------
    >>> round(auuc([1, 0, 0, 1], [0.9, 0.5, 0.4, 0.1], [1, 1, 0, 0]), 4)
    0.7778
    >>> auuc([1, 0, 0, 1], [0.9, 0.5, 0.4, 0.1], [1, 1, 0, 0], normalize=False)
    3.5
    """
    c = uplift_curve(y, uplift, treatment)
    return c.score if normalize else c.area


def qini_auc(y: Any, uplift: Any, treatment: Any, *, normalize: bool = True, negative_effect: bool = True) -> float:
    """Area under the Qini curve: normalised (the Qini coefficient; 0/1 outcomes) or raw.

    ``normalize=True`` is scikit-uplift's ``qini_auc_score``.

    Examples
    --------
    >>> qini_auc([1, 0, 0, 1], [0.9, 0.5, 0.4, 0.1], [1, 1, 0, 0])  # the perfect ranking
    1.0
    """
    c = qini_curve(y, uplift, treatment, negative_effect=negative_effect)
    return c.score if normalize else c.area


def uplift_at_k(y: Any, uplift: Any, treatment: Any, *, k: float = 0.3,
                strategy: AtKStrategy = "overall") -> float:
    """Treated minus control mean outcome among the rows with the k highest predicted uplifts.

    Parameters
    ----------
    y, uplift, treatment : array-like
        As in :func:`uplift_curve`.
    k : float or int, default 0.3
        A share in (0, 1) of the rows (rounded down), or a number of rows.
    strategy : {"overall", "by_group"}
        ``"overall"``: the top k of all rows, then the treated and control
        means among them; ``"by_group"``: the top k share (or k rows) of
        the treated rows and of the control rows, each ranked on its own.

    Returns
    -------
    float

    Raises
    ------
    ParameterError
        A ``k`` out of range, or a top k without a treated or a control row.

    Examples
    --------
    >>> float(uplift_at_k([1, 0, 0, 1], [0.9, 0.5, 0.4, 0.1], [1, 1, 0, 0], k=2, strategy="by_group"))
    0.0
    """
    yv, uv, tv = _check(y, uplift, treatment)
    if strategy not in ("overall", "by_group"):
        raise ParameterError(f"strategy must be 'overall' or 'by_group'; found {strategy!r}")
    n = len(yv)
    share = isinstance(k, (float, np.floating))
    whole = isinstance(k, (int, np.integer)) and not isinstance(k, bool)
    if not (share and 0 < k < 1) and not (whole and 0 < k < n):
        raise ParameterError(f"k must be a share in (0, 1) or a number of rows in [1, {n - 1}]; found {k!r}")
    order = _descending(uv)
    ys, ts = yv[order], tv[order]
    if strategy == "overall":
        size = int(n * k) if share else int(k)
        top_y, top_t = ys[:size], ts[:size]
        treated, control = top_y[top_t == 1], top_y[top_t == 0]
    else:
        n_t, n_c = int(tv.sum()), int(n - tv.sum())
        size_t, size_c = (int(n_t * k), int(n_c * k)) if share else (int(k), int(k))
        if size_t > n_t or size_c > n_c:
            raise ParameterError(f"k={k!r} rows per arm is more than the arm holds ({n_t:,} treated, "
                                 f"{n_c:,} control)")
        treated, control = ys[ts == 1][:size_t], ys[ts == 0][:size_c]
    if len(treated) == 0 or len(control) == 0:
        missing = "treated" if len(treated) == 0 else "control"
        raise ParameterError(f"the top k={k!r} rows ({strategy}) hold no {missing} row: the uplift there is "
                             "undefined; take a larger k")
    return float(treated.mean() - control.mean())
