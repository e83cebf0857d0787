"""Precomputed path views for interactive exploration: top paths and flows per level, anchor and segment.

Clicking through a dashboard should not re-run the analysis: :func:`path_views`
computes, once, the top paths and the flows (Sankey) of every combination of
step level, anchor (whole sessions, paths to or from an event type) and
segment (every brand, and all brands together); :meth:`PathViews.explorer`
shows them with ipywidgets (level, anchor and segment drop-downs), redrawing
only.

Examples
--------
>>> import pandas as pd
>>> from marketing360.paths import path_views
>>> ev = pd.DataFrame({"user_id": [1, 1, 2], "brand": ["A", "A", "B"], "channel": ["search", None, "video"],
...     "ts": pd.to_datetime(["2025-03-01 10:00", "2025-03-01 10:01", "2025-03-01 10:00"]),
...     "event_type": ["browse", "purchase", "browse"]})
>>> v = path_views(ev, levels=("event_type",), anchors=(None, "to:purchase"))
>>> v.keys()[:3]
[('event_type', None, '(all)'), ('event_type', 'to:purchase', '(all)'), ('event_type', None, 'A')]
>>> v.top_paths("event_type", "to:purchase", "A")[["path", "sessions"]]
                path  sessions
0  browse > purchase         1
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..engine import fetch
from ..errors import ParameterError
from ..inputs import as_table
from ..types import TableLike
from .flows import path_flows
from .sessions import sessions
from .toppaths import top_paths

__all__ = ["PathViews", "path_views", "ALL_SEGMENTS"]

#: the segment that pools every brand
ALL_SEGMENTS = "(all)"

Key = tuple[str, str | None, str]


def _anchor(anchor: str | None) -> tuple[str | None, str | None]:
    """(start_at, end_at) of an anchor."""
    if anchor is None:
        return None, None
    if not isinstance(anchor, str) or ":" not in anchor or anchor.split(":", 1)[0] not in ("to", "from"):
        raise ParameterError(f"an anchor is None, 'to:<event type>' or 'from:<event type>'; found {anchor!r}")
    side, event = anchor.split(":", 1)
    return (None, event) if side == "to" else (event, None)


class PathViews:
    """Top paths and flows per (level, anchor, segment), computed once (see :func:`path_views`)."""

    def __init__(self, views: dict[Key, tuple[pd.DataFrame, pd.DataFrame]], *, levels: Sequence[str],
                 anchors: Sequence[str | None], segments: Sequence[str]) -> None:
        self._views = views
        self.levels = list(levels)
        self.anchors = list(anchors)
        self.segments = list(segments)

    def keys(self) -> list[Key]:
        """The (level, anchor, segment) combinations with sessions."""
        return list(self._views)

    def _get(self, level: str, anchor: str | None, segment: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        try:
            return self._views[(level, anchor, segment)]
        except KeyError:
            raise ParameterError(f"no view for level {level!r}, anchor {anchor!r}, segment {segment!r}; the views "
                                 f"are {self.keys()}") from None

    def top_paths(self, level: str, anchor: str | None = None, segment: str = ALL_SEGMENTS) -> pd.DataFrame:
        """The top-paths table of one view (a copy)."""
        return self._get(level, anchor, segment)[0].copy()

    def flows(self, level: str, anchor: str | None = None, segment: str = ALL_SEGMENTS) -> pd.DataFrame:
        """The flows table of one view (a copy)."""
        return self._get(level, anchor, segment)[1].copy()

    def explorer(self) -> Any:
        """An ipywidgets explorer: level, anchor and segment drop-downs over the top paths and their Sankey."""
        from ..viz.paths import path_explorer

        return path_explorer(self)

    def __repr__(self) -> str:
        return (f"<PathViews: {len(self._views)} views over levels {self.levels}, anchors {self.anchors}, "
                f"{len(self.segments)} segments>")


def path_views(data: TableLike, *, levels: Sequence[str] = ("event_type", "channel"),
               anchors: Sequence[str | None] = (None, "to:purchase"), gap_minutes: float | None = 30,
               max_steps: int = 4, top: int = 5, n: int = 10) -> PathViews:
    """Top paths and flows of every (level, anchor, segment) of canonical events, computed once.

    Parameters
    ----------
    data : table
        Canonical events with a ``brand`` column (the segments: each brand, and ``(all)`` brands pooled).
    levels : sequence of str
        Step levels (see :func:`~marketing360.paths.sessions`).
    anchors : sequence
        ``None`` (whole sessions), ``"to:purchase"`` (paths up to the first purchase), ``"from:browse"`` (from the
        first browse) ...
    gap_minutes : float or None
        The sessions' inactivity gap.
    max_steps, top : int
        The flows' positions and named steps per position (:func:`~marketing360.paths.path_flows`).
    n : int
        Top paths per view.

    Returns
    -------
    PathViews
    """
    if isinstance(levels, str) or not levels:
        raise ParameterError(f"levels must be a list of step levels; found {levels!r}")
    if isinstance(anchors, str) or not anchors:
        raise ParameterError(f"anchors must be a list (None, 'to:<event>', 'from:<event>'); found {anchors!r}")
    cuts = {a: _anchor(a) for a in anchors}
    ev = as_table(data, "events", need=["brand"], what="path_views")
    brands = [str(b) for b in fetch(ev.select("brand").distinct().order_by("brand")).brand.dropna()]
    views: dict[Key, tuple[pd.DataFrame, pd.DataFrame]] = {}
    for segment in [ALL_SEGMENTS, *brands]:
        part = ev if segment == ALL_SEGMENTS else ev.filter(ev.brand == segment)
        for level in levels:
            for anchor, cut in cuts.items():
                s = sessions(part, gap_minutes=gap_minutes, level=level, start_at=cut[0], end_at=cut[1]).cache()
                if int(s.totals().sessions.iloc[0]) == 0:
                    continue
                views[(level, anchor, segment)] = (top_paths(s, n=n).table(),
                                                   path_flows(s, max_steps=max_steps, top=top).table())
    if not views:
        raise ParameterError("path_views: no session in any view")
    return PathViews(views, levels=levels, anchors=list(anchors), segments=[ALL_SEGMENTS, *brands])
