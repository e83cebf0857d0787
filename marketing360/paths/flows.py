"""Flows between the steps of the sessions' paths: what a Sankey diagram draws.

:func:`path_flows` counts, for each position ``k`` of the paths (1 to
``max_steps``), the sessions that go from the step at ``k`` to the step at
``k + 1``; a session whose path ends at ``k`` goes to ``(converted)`` or
``(left)``, one still going after ``max_steps`` to ``(continues)``. At each
position the ``top`` most frequent steps keep their names and the rest become
``(other)``, so every position's flows add up to the sessions that reached it.

Examples
--------
>>> import pandas as pd
>>> from marketing360.paths import path_flows
>>> ev = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "brand": "A",
...     "ts": pd.to_datetime(["2025-03-01 10:00", "2025-03-01 10:01", "2025-03-01 10:00", "2025-03-01 10:01",
...                           "2025-03-01 11:00"]),
...     "event_type": ["browse", "purchase", "browse", "cart", "search"]})
>>> path_flows(ev).table()[["position", "source", "target", "sessions"]]
   position    source       target  sessions
0         1    browse         cart         1
1         1    browse     purchase         1
2         1    search       (left)         1
3         2      cart       (left)         1
4         2  purchase  (converted)         1
"""

from __future__ import annotations

import numbers
from typing import Any

import ibis
import pandas as pd

from ..engine import fetch
from ..errors import ParameterError
from ..results import Result
from ..types import TableLike
from .sessions import Sessions, as_sessions

__all__ = ["PathFlows", "path_flows", "CONVERTED", "LEFT", "CONTINUES", "OTHER_STEP"]

CONVERTED, LEFT, CONTINUES, OTHER_STEP = "(converted)", "(left)", "(continues)", "(other)"


class PathFlows(Result):
    """Flows ``position, source, target, sessions`` (from the step at ``position`` to the step after it, or to
    an end state) and ``converted`` (those sessions that converted)."""

    title = "path flows"
    keys = ("position", "source", "target")

    def __init__(self, frame: pd.DataFrame, *, max_steps: int, top: int, level: str) -> None:
        super().__init__(frame)
        self.max_steps = max_steps
        self.top = top
        self.level = level

    def _notes(self) -> list[str]:
        return [f"steps ({self.level}) 1 to {self.max_steps}; the {self.top} most frequent per position named, the "
                f"rest {OTHER_STEP!r}"]

    def sankey(self, *, width: int = 900, height: int = 460) -> Any:
        """The flows as a Sankey diagram in SVG (hover a band for its count); shows itself in Jupyter and embeds
        in HTML as it is (:attr:`~marketing360.viz.paths.SankeyDiagram.svg`)."""
        from ..viz.paths import sankey

        return sankey(self.table(), width=width, height=height)

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """The same Sankey diagram drawn with matplotlib (for static figures and files)."""
        from ..viz.paths import plot_sankey

        return plot_sankey(self.table(), ax=ax, **kwargs)


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise ParameterError(f"{name} must be a whole number >= 1; found {value!r}")
    return int(value)


def path_flows(data: Sessions | TableLike, *, max_steps: int = 5, top: int = 6) -> PathFlows:
    """Sessions flowing between consecutive steps of their paths (see the module's description).

    Parameters
    ----------
    data : Sessions or table
        Sessions, or canonical events (cut with :func:`~marketing360.paths.sessions`' defaults).
    max_steps : int
        Positions drawn.
    top : int
        Steps named at each position (the others are ``(other)``).

    Returns
    -------
    PathFlows
    """
    max_steps, top = _whole(max_steps, "max_steps"), _whole(top, "top")
    s = as_sessions(data)
    key = ["user_id", "session"] + (["brand"] if s.by else [])
    st = s.steps.filter(ibis._.step <= max_steps)
    freq = st.group_by(["step", "label"]).agg(n=st.count())
    w = ibis.window(group_by=freq.step, order_by=[ibis.desc(freq.n), freq.label])
    freq = freq.mutate(_r=ibis.row_number().over(w))
    st = st.join(freq.select("step", "label", "_r"), ["step", "label"])
    st = st.mutate(name=ibis.ifelse(st._r < top, st.label, ibis.literal(OTHER_STEP)))
    nxt = st.select(*key, step=st.step - 1, _next=st.name)
    j = st.left_join(nxt, [*key, "step"])
    j = j.join(s.expr.select(*key, "n_steps", "converted"), key)
    end = ibis.ifelse(j.n_steps > max_steps, ibis.literal(CONTINUES),
                      ibis.ifelse(j.converted, ibis.literal(CONVERTED), ibis.literal(LEFT)))
    j = j.mutate(target=ibis.coalesce(j._next, end), source=j.name, position=j.step)
    g = j.group_by(["position", "source", "target"]).agg(sessions=j.count(),
                                                          converted=j.converted.cast("int64").sum())
    df = fetch(g)
    if df.empty:
        raise ParameterError("path_flows: no session has a step")
    df = df.astype({"position": "int64", "sessions": "int64", "converted": "int64"})
    return PathFlows(df, max_steps=max_steps, top=top, level=s.level)
