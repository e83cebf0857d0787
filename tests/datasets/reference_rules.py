"""A plain pandas reading of 4A stage rules on an events table: the reference the simulator's truth is held to."""

from __future__ import annotations

import pandas as pd

from marketing360.assets.rules import Criterion, StageRules

LEVELS = {"aware": 1, "appeal": 2, "act": 3, "advocate": 4}


def criterion_holds(events: pd.DataFrame, day, window: int, crit: Criterion) -> pd.Index:
    """The (user_id, brand) pairs for which ``crit`` holds at the end of ``day``.

    An event counts when its calendar day is in ``(day - window, day]``; with
    ``count="days"`` distinct days are counted, with ``"events"`` rows.
    """
    d = pd.Timestamp(day).normalize()
    ev = events[events.brand.notna()]
    ev_day = ev.ts.dt.normalize()
    hit = ev[(ev_day <= d) & (ev_day > d - pd.Timedelta(days=window))
             & ev.event_type.isin(crit.event_types)]
    if crit.min_value is not None:
        hit = hit[hit.value >= crit.min_value]
    g = hit.assign(day=hit.ts.dt.normalize()).groupby(["user_id", "brand"])
    n = g.day.nunique() if crit.count == "days" else g.size()
    return n[n >= crit.min_count].index


def reference_levels(events: pd.DataFrame, day, rules: StageRules) -> pd.Series:
    """The stage level (1 aware .. 4 advocate) of every pair at least Aware at the end of ``day``."""
    level = pd.Series(dtype="int64")
    for rule in rules.rules:
        for crit in rule.criteria:
            idx = criterion_holds(events, day, rule.window, crit)
            new = pd.Series(LEVELS[rule.stage], index=idx, dtype="int64")
            level = pd.concat([level, new]).groupby(level=[0, 1]).max() if len(level) else new
    level.index = level.index.set_names(["user_id", "brand"])
    return level.sort_index()
