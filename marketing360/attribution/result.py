"""The result of an attribution: credited conversions and value per channel (and per method).

Every attribution method returns an :class:`Attribution`, whose tidy table is
``method, channel, conversions, value`` (one row per method and channel), so
methods compare by concatenation (:func:`compare`) and plot side by side.
:meth:`Attribution.conf_int` gives bootstrap intervals: the journeys (or the
paths and channel sets they aggregate into) are resampled with Poisson
weights and the method is re-run on each replicate.

Examples
--------
>>> import pandas as pd
>>> from marketing360.attribution import Attribution, compare
>>> a = Attribution(pd.DataFrame({"method": "last_touch", "channel": ["a", "b"],
...                               "conversions": [3.0, 1.0], "value": [30.0, 10.0]}))
>>> a.shares().round(2).tolist()
[0.75, 0.25]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..estimators import check_random_state
from ..results import Result, Summary, percentile_interval

__all__ = ["Attribution", "Bootstrap", "compare", "COLUMNS", "truth_series"]

COLUMNS = ("method", "channel", "conversions", "value")

#: a method's statistic: resampled (conversions, nulls, value) per unit -> (conversions, value) per channel
Statistic = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class Bootstrap:
    """How to resample one method: its units' counts and the statistic that re-runs the method.

    A unit is a journey, or a group of journeys that the method cannot tell
    apart (a distinct path for Markov, a channel set for Shapley). Each
    replicate draws ``conversions ~ Poisson(conversions)`` and ``nulls ~
    Poisson(nulls)`` per unit (the Poisson bootstrap: every journey weighted
    by an independent Poisson(1) count) and scales the unit's value with its
    conversions. ``held_fixed`` names what is not re-estimated (a fitted
    network, say), or is None when the method is re-run whole.
    """

    channels: list[str]
    conversions: np.ndarray
    nulls: np.ndarray
    value: np.ndarray
    statistic: Statistic
    held_fixed: str | None = None

    def replicates(self, n_boot: int, rng: np.random.Generator) -> np.ndarray:
        """``n_boot x channels x 2`` (conversions, value) credited on resampled data."""
        out = np.empty((n_boot, len(self.channels), 2))
        per_conv = np.divide(self.value, self.conversions, out=np.zeros_like(self.value),
                             where=self.conversions > 0)
        for b in range(n_boot):
            c = rng.poisson(self.conversions).astype(float)
            n = rng.poisson(self.nulls).astype(float)
            conv, val = self.statistic(c, n, c * per_conv)
            out[b, :, 0], out[b, :, 1] = conv, val
        return out


class Attribution(Result):
    """Conversions and value credited to each channel by one or more methods.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``method, channel, conversions, value``.
    key : {"channel", "campaign"}
        What the ``channel`` column holds.
    params : mapping, optional
        The settings of the method(s), by method name.
    bootstrap : mapping, optional
        Method name -> :class:`Bootstrap` (or a function making one, called on
        first use), for :meth:`conf_int`.

    Attributes
    ----------
    methods : list of str
    key : str
    params : dict
        Method name -> its settings.
    touch_credit : pandas.DataFrame or None
        Per-touchpoint credits, where the method computes them (deep models).
    scores : pandas.Series or None
        The per-channel score behind the split (probabilistic contributions,
        bagged coefficients), where there is one.
    baseline : float or None
        The estimated conversion probability without ads (causal methods).
    """

    title: ClassVar[str] = "attribution"
    keys = ("method", "channel")

    def __init__(self, frame: pd.DataFrame, *, key: str = "channel",
                 params: Mapping[str, Mapping[str, Any]] | None = None,
                 bootstrap: Mapping[str, Bootstrap | Callable[[], Bootstrap]] | None = None,
                 touch_credit: pd.DataFrame | None = None, scores: pd.Series | None = None,
                 baseline: float | None = None) -> None:
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise ParameterError(f"an attribution frame needs columns {list(COLUMNS)}; missing {missing}")
        df = frame[list(COLUMNS)].copy()
        df["method"] = df["method"].astype(str)
        df["channel"] = df["channel"].astype(str)
        df["conversions"] = df["conversions"].astype("float64")
        df["value"] = df["value"].astype("float64")
        self._order = list(dict.fromkeys(df["method"]))
        super().__init__(df)
        self.key = key
        self.params = {m: dict(p) for m, p in (params or {}).items()}
        self._bootstrap: dict[str, Any] = dict(bootstrap or {})
        self._replicates: dict[tuple[str, int, Any], np.ndarray] = {}
        self.touch_credit = touch_credit
        self.scores = scores
        self.baseline = baseline

    def _tidy(self, df: pd.DataFrame) -> pd.DataFrame:
        rank = {m: i for i, m in enumerate(dict.fromkeys(df["method"]))}
        out = df.assign(_r=df["method"].map(rank)).sort_values(["_r", "channel"], kind="mergesort")
        return out.drop(columns="_r").reset_index(drop=True)

    @property
    def methods(self) -> list[str]:
        return list(self._order)

    def wide(self, what: Literal["conversions", "value", "share"] = "conversions") -> pd.DataFrame:
        """Channels x methods: credited ``"conversions"``, ``"value"`` or ``"share"`` of the conversions."""
        df = self._computed()
        if what == "share":
            df = df.assign(share=df.conversions / df.groupby("method").conversions.transform("sum"))
        elif what not in ("conversions", "value"):
            raise ParameterError(f"what must be 'conversions', 'value' or 'share'; found {what!r}")
        out = df.pivot_table(index="channel", columns="method", values=what, aggfunc="sum", fill_value=0.0)
        out = out.reindex(columns=self.methods)
        out.columns.name = None
        return out

    def shares(self, method: str | None = None) -> pd.Series:
        """Each channel's share of the credited conversions of one method (the only one by default)."""
        method = self._one(method)
        df = self._computed()
        d = df[df.method == method].set_index("channel").conversions
        total = d.sum()
        return d / total if total > 0 else d * np.nan

    def _one(self, method: str | None) -> str:
        if method is None:
            if len(self.methods) != 1:
                raise ParameterError(f"name a method: this result holds {self.methods}")
            return self.methods[0]
        if method not in self.methods:
            raise ParameterError(f"no method {method!r} here; methods: {self.methods}")
        return method

    def renamed(self, name: str) -> "Attribution":
        """The same credits under another method name (a one-method result)."""
        method = self._one(None)
        df = self._computed().assign(method=name)
        out = self._copy(df)
        out.params = {name: self.params.get(method, {})}
        out._bootstrap = {name: self._bootstrap[method]} if method in self._bootstrap else {}
        out._order = [name]
        return out

    def _copy(self, df: pd.DataFrame) -> "Attribution":
        out = Attribution.__new__(Attribution)
        Attribution.__init__(out, df, key=self.key, params=self.params, bootstrap=self._bootstrap,
                             touch_credit=self.touch_credit, scores=self.scores, baseline=self.baseline)
        return out

    # ------------------------------------------------------------------ uncertainty
    def conf_int(self, alpha: float = 0.05, *, n_boot: int = 200, random_state: Any = 0) -> pd.DataFrame:
        """Bootstrap percentile intervals of each method's credits.

        Parameters
        ----------
        alpha : float
            1 - the coverage (0.05: 95% intervals).
        n_boot : int
            Bootstrap replicates (for an int ``random_state`` computed once per
            method and seed, then reused).
        random_state : int, Generator or None

        Returns
        -------
        pandas.DataFrame
            ``method, channel, conversions, conversions_lower, conversions_upper,
            value, value_lower, value_upper``.

        Raises
        ------
        ParameterError
            For a method without a bootstrap (a result built by hand).
        """
        if not (isinstance(n_boot, (int, np.integer)) and n_boot >= 2):
            raise ParameterError(f"n_boot must be an integer >= 2; found {n_boot!r}")
        missing = [m for m in self.methods if m not in self._bootstrap]
        if missing:
            raise ParameterError(f"no bootstrap for method(s) {missing}: intervals come with results of the "
                                 "attribution functions and estimators")
        rows = []
        df = self._computed()
        for m in self.methods:
            if not isinstance(self._bootstrap[m], Bootstrap):  # made on first use
                self._bootstrap[m] = self._bootstrap[m]()
            boot = self._bootstrap[m]
            if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
                key = (m, int(n_boot), int(random_state))  # a seed: the same replicates every time
                if key not in self._replicates:
                    self._replicates[key] = boot.replicates(int(n_boot), check_random_state(random_state))
                reps = self._replicates[key]
            else:  # None or a Generator: fresh draws
                reps = boot.replicates(int(n_boot), check_random_state(random_state))
            lo, hi = percentile_interval(reps, alpha)
            est = df[df.method == m].set_index("channel").reindex(boot.channels)
            rows.append(pd.DataFrame({
                "method": m, "channel": boot.channels,
                "conversions": est.conversions.to_numpy(), "conversions_lower": lo[:, 0], "conversions_upper": hi[:, 0],
                "value": est.value.to_numpy(), "value_lower": lo[:, 1], "value_upper": hi[:, 1]}))
        out = pd.concat(rows, ignore_index=True)
        return out[out.conversions.notna()].reset_index(drop=True)

    # ------------------------------------------------------------------ showing it
    def _notes(self) -> list[str]:
        notes = [f"credited to: {self.key}"]
        for m in self.methods:
            p = self.params.get(m)
            if p:
                notes.append(f"{m}: " + ", ".join(f"{k}={v}" for k, v in p.items() if not isinstance(v, pd.DataFrame)))
        return notes

    def summary(self) -> Summary:
        return Summary(self.title, notes=self._notes(), tables=[("conversions credited", self.wide().round(3))])

    def _shape(self) -> str:
        n = self._computed().channel.nunique()
        return f"{len(self.methods)} method(s) {', '.join(self.methods)}; {n} {self.key}s"

    def plot(self, what: Literal["conversions", "value", "share"] = "conversions", *, truth: Any = None,
             intervals: bool = False, ax: Any = None, **kwargs: Any) -> Any:
        """Bar chart: channels on the x axis, one bar per method; returns the figure.

        ``truth`` (a Series per channel, or a frame such as a simulator's
        ``truth.shapley``) is drawn as black markers; ``intervals=True`` adds
        95% bootstrap intervals (conversions or value).
        """
        from ..viz.attribution import plot_attribution

        t = None if truth is None else truth_series(truth, "conversions" if what == "share" else what)
        if t is not None and what == "share":
            t = t / t.sum()
        err = None
        if intervals:
            if what == "share":
                raise ParameterError("intervals are drawn for conversions or value, not shares")
            ci = self.conf_int()
            err = {b: ci.pivot_table(index="channel", columns="method", values=f"{what}_{b}")
                   for b in ("lower", "upper")}
        if err is not None:
            kwargs["intervals"] = err
        return plot_attribution(self.wide(what), ylabel=what, truth=t, ax=ax, **kwargs)

    def __add__(self, other: "Attribution") -> "Attribution":
        return compare(self, other)


def compare(*results: Attribution) -> Attribution:
    """One :class:`Attribution` holding the methods of several results (names must differ)."""
    if not results or not all(isinstance(r, Attribution) for r in results):
        raise ParameterError("compare takes one or more Attribution results")
    names = [m for r in results for m in r.methods]
    dup = sorted({m for m in names if names.count(m) > 1})
    if dup:
        raise ParameterError(f"methods appear twice: {dup}; rename with .renamed()")
    keys = {r.key for r in results}
    if len(keys) > 1:
        raise ParameterError(f"these results credit different things {sorted(keys)}; compare like with like")
    params: dict[str, Any] = {}
    boots: dict[str, Any] = {}
    for r in results:
        params.update(r.params)
        boots.update(r._bootstrap)
    first = results[0]
    return Attribution(pd.concat([r.table() for r in results], ignore_index=True), key=first.key, params=params,
                       bootstrap=boots, touch_credit=first.touch_credit, scores=first.scores, baseline=first.baseline)


def truth_series(truth: Any, what: str) -> pd.Series:
    """A true amount per channel from a Series, or from a frame such as a simulator's ``truth.shapley``."""
    if isinstance(truth, pd.Series):
        s = truth
    elif isinstance(truth, pd.DataFrame):
        col = {"conversions": "conversions", "value": "revenue"}[what]
        if "channel" not in truth.columns or col not in truth.columns and what not in truth.columns:
            raise ParameterError(f"truth needs columns 'channel' and {col!r}; found {list(truth.columns)}")
        # a truth per channel and something else (brand ...) is summed per channel
        s = truth.groupby("channel")[col if col in truth.columns else what].sum()
    else:
        raise ParameterError(f"truth must be a Series (channel -> amount) or a DataFrame; found {type(truth).__name__}")
    if s.index.has_duplicates:
        raise ParameterError("truth lists a channel twice; give one amount per channel")
    s = s.astype(float)
    if s.isna().any() or (s < 0).any():
        raise ParameterError("truth amounts must be non-negative numbers")
    if s.sum() <= 0:
        raise ParameterError("truth amounts sum to zero: nothing to compare shares with")
    return s
