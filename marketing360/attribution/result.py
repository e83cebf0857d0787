"""The result of an attribution: credited conversions and value per channel (and per method).

Every attribution method returns an :class:`Attribution`, a tidy table
``method, channel, conversions, value`` (one row per method and channel), so
methods compare by concatenation (:func:`compare`) and plot side by side.

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

from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError

__all__ = ["Attribution", "compare", "COLUMNS"]

COLUMNS = ("method", "channel", "conversions", "value")


class Attribution:
    """Conversions and value credited to each channel by one or more methods.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``method, channel, conversions, value``.
    **meta
        What produced it (method parameters, totals, the key credited ...).
    """

    title = "attribution"

    def __init__(self, frame: pd.DataFrame, **meta: Any) -> None:
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise ParameterError(f"an attribution frame needs columns {list(COLUMNS)}; missing {missing}")
        df = frame.copy()
        df["channel"] = df["channel"].astype(str)
        df["conversions"] = df["conversions"].astype("float64")
        df["value"] = df["value"].astype("float64")
        self._frame = df.sort_values(["method", "channel"], kind="mergesort").reset_index(drop=True)
        self.meta = meta

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(self._frame["method"]))

    def to_frame(self) -> pd.DataFrame:
        """The tidy table (a copy)."""
        return self._frame.copy()

    def table(self, what: str = "conversions") -> pd.DataFrame:
        """Channels x methods: ``what`` is ``"conversions"``, ``"value"`` or ``"share"``."""
        df = self._frame
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
        d = self._frame[self._frame.method == method].set_index("channel").conversions
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
        df = self._frame.assign(method=self._frame.method.replace({method: name}))
        return Attribution(df, **self.meta)

    def summary(self) -> str:
        return f"{self.title}\n{self.table().round(2).to_string()}"

    def __repr__(self) -> str:
        return f"<Attribution: {', '.join(self.methods)}; {self._frame.channel.nunique()} channels>"

    def _repr_html_(self) -> str:
        return f"<b>{self.title}</b> (conversions credited)" + self.table().to_html(float_format="{:,.2f}".format)

    def plot(self, what: str = "conversions", *, truth: Any = None, **kw: Any) -> Any:
        """Bar chart: channels on the x axis, one bar per method.

        ``truth`` (a Series per channel, or a frame such as a simulator's
        ``truth.shapley``) is drawn as black markers.
        """
        from ..viz.attribution import plot_attribution
        from .evaluate import _truth_series

        t = None if truth is None else _truth_series(truth, "conversions" if what == "share" else what)
        if t is not None and what == "share":
            t = t / t.sum()
        return plot_attribution(self.table(what), ylabel=what, truth=t, **kw)

    def __add__(self, other: "Attribution") -> "Attribution":
        return compare(self, other)


def compare(*results: Attribution) -> Attribution:
    """One :class:`Attribution` holding the methods of several results (names must differ)."""
    frames = [r.to_frame() for r in results]
    names = [m for r in results for m in r.methods]
    dup = sorted({m for m in names if names.count(m) > 1})
    if dup:
        raise ParameterError(f"methods appear twice: {dup}; rename with .renamed()")
    meta: dict[str, Any] = {}
    for r in results:
        meta.update(r.meta)
    return Attribution(pd.concat(frames, ignore_index=True), **meta)
