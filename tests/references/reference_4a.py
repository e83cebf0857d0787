"""Plain pandas readings of the 4A analyses: the references the engines are checked against."""

from __future__ import annotations

import pandas as pd

from marketing360.assets import STAGES, StageRules


def reference_snapshot(events: pd.DataFrame, date, rules: StageRules) -> pd.DataFrame:
    """Straightforward pandas: loop over the rules and criteria, count, take the highest stage."""
    d = pd.Timestamp(date).normalize()
    ev = events[events.brand.notna() & (events.ts < d + pd.Timedelta(days=1))].copy()
    ev["day"] = ev.ts.dt.normalize()
    best: dict[tuple, int] = {}
    for level, rule in enumerate(rules.rules, start=1):
        recent = ev[ev.day > d - pd.Timedelta(days=rule.window)]
        for crit in rule.criteria:
            hit = recent[recent.event_type.isin(crit.event_types)]
            if crit.min_value is not None:
                hit = hit[hit.value >= crit.min_value]
            counts = (hit.groupby(["user_id", "brand"]).day.nunique() if crit.count == "days"
                      else hit.groupby(["user_id", "brand"]).size())
            for key in counts[counts >= crit.min_count].index:
                best[key] = max(best.get(key, 0), level)
    rows = [(u, b, lv, STAGES[lv]) for (u, b), lv in best.items()]
    return pd.DataFrame(rows, columns=["user_id", "brand", "level", "stage"])


def reference_flows(events: pd.DataFrame, start, end, rules: StageRules) -> pd.DataFrame:
    a = reference_snapshot(events, start, rules)[["user_id", "brand", "level"]]
    b = reference_snapshot(events, end, rules)[["user_id", "brand", "level"]]
    j = a.merge(b, on=["user_id", "brand"], how="outer", suffixes=("_from", "_to")).fillna(0)
    j["from_stage"] = ["new" if lv == 0 else STAGES[int(lv)] for lv in j.level_from]
    j["to_stage"] = ["lost" if lv == 0 else STAGES[int(lv)] for lv in j.level_to]
    return j.groupby(["brand", "from_stage", "to_stage"]).size().rename("consumers").reset_index()
