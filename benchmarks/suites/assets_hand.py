"""The hand-written PySpark jobs of the ``assets`` suite: the 4A rules written directly with
``pyspark.sql.functions``, independently of :mod:`marketing360.assets`.

- the literal translation (:func:`hand_volumes`, :func:`hand_flows`): per (user_id, brand) one
  ``count_distinct`` of days per criterion inside its stage window; flows = two such snapshots,
  a full outer join and a group-by;
- the tuned job (:func:`hand_volumes_fold`, :func:`hand_flows_fold`): the per-day fold, every
  date's levels from one aggregate, no join.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

#: the default 4A rules (JD's definitions), written out independently of marketing360.assets.rules
#: for the hand-written PySpark job: (stage, level, window days, [(event types, min distinct days,
#: min value)]); the worker checks that they equal ``StageRules()``
HAND_RULES: tuple[tuple[str, int, int, tuple[tuple[tuple[str, ...], int, float | None], ...]], ...] = (
    ("aware", 1, 30, ((("impression", "click", "browse"), 1, None),)),
    ("appeal", 2, 30, ((("browse",), 2, None), (("search", "follow", "cart", "ask"), 1, None))),
    ("act", 3, 90, ((("purchase", "review", "service"), 1, None),)),
    ("advocate", 4, 180, ((("purchase",), 2, None), (("review",), 1, 4.0), (("share",), 1, None))),
)
STAGE_NAMES = ("unaware", "aware", "appeal", "act", "advocate")
FLOW_FROM_NAMES = ("new", "aware", "appeal", "act", "advocate")
FLOW_TO_NAMES = ("lost", "aware", "appeal", "act", "advocate")


def rules_as_hand() -> tuple:
    """``StageRules()`` in the shape of :data:`HAND_RULES` (to check the hand-written job's rules)."""
    from marketing360.assets import STAGE_LEVEL, StageRules

    out = []
    for rule in StageRules().rules:
        if any(c.count != "days" for c in rule.criteria):
            return ("StageRules() counts events, not days, in", rule.stage)
        out.append((rule.stage, STAGE_LEVEL[rule.stage], rule.window,
                    tuple((tuple(c.event_types), c.min_count, c.min_value) for c in rule.criteria)))
    return tuple(out)


def hand_levels(df: Any, day: _dt.date) -> Any:
    """Hand-written PySpark: ``user_id, brand, level`` on ``day`` (level 0 = unaware included).

    One group-by per (user_id, brand) over the events of the longest window:
    per criterion, the distinct days with a qualifying event inside the
    criterion's stage window; the level is the highest stage with a criterion met.
    """
    from pyspark.sql import functions as F

    first = day - _dt.timedelta(days=max(w for _, _, w, _ in HAND_RULES) - 1)
    ev = (df.where(F.col("brand").isNotNull())
          .withColumn("day", F.to_date("ts"))
          .where((F.col("day") >= F.lit(first)) & (F.col("day") <= F.lit(day))))
    aggs, holds = [], {}
    for stage, level, window, crits in HAND_RULES:
        since = day - _dt.timedelta(days=window - 1)
        met = None
        for i, (types, min_days, min_value) in enumerate(crits):
            cond = F.col("event_type").isin(*types) & (F.col("day") >= F.lit(since))
            if min_value is not None:
                cond = cond & (F.col("value") >= min_value)
            name = f"{stage}_{i}"
            aggs.append(F.count_distinct(F.when(cond, F.col("day"))).alias(name))
            met = (F.col(name) >= min_days) if met is None else met | (F.col(name) >= min_days)
        holds[level] = met
    level = F.when(holds[4], 4).when(holds[3], 3).when(holds[2], 2).when(holds[1], 1).otherwise(0)
    return ev.groupBy("user_id", "brand").agg(*aggs).select("user_id", "brand", level.alias("level"))


def hand_volumes(df: Any, day: _dt.date) -> Any:
    """Hand-written PySpark: consumers per (brand, level) of the snapshot on ``day``."""
    from pyspark.sql import functions as F

    s = hand_levels(df, day).where(F.col("level") > 0)
    return s.groupBy("brand", "level").agg(F.count(F.lit(1)).alias("consumers"))


def hand_flows(df: Any, start: _dt.date, end: _dt.date) -> Any:
    """Hand-written PySpark: consumers per (brand, level on start, level on end); 0 = new / lost."""
    from pyspark.sql import functions as F

    a = hand_levels(df, start).where(F.col("level") > 0).withColumnRenamed("level", "from_level")
    b = hand_levels(df, end).where(F.col("level") > 0).withColumnRenamed("level", "to_level")
    j = a.join(b, ["user_id", "brand"], "full_outer").fillna(0, ["from_level", "to_level"])
    return j.groupBy("brand", "from_level", "to_level").agg(F.count(F.lit(1)).alias("consumers"))


def hand_fold_levels(df: Any, days: list[_dt.date]) -> Any:
    """Hand-written PySpark, tuned: ``user_id, brand, level_0, level_1, ...`` on each of ``days``.

    The plan of ``marketing360.assets.snapshots`` written by hand: fold the
    events to one row per (user_id, brand, day) with the count of each
    criterion's events, then one group-by per (user_id, brand) counts, per
    date and criterion, the days inside the stage window with such events.
    No distinct aggregates, one scan and two group-bys whatever the number
    of dates.
    """
    from pyspark.sql import functions as F

    first = min(days) - _dt.timedelta(days=max(w for _, _, w, _ in HAND_RULES) - 1)
    ev = (df.where(F.col("brand").isNotNull())
          .withColumn("day", F.to_date("ts"))
          .where((F.col("day") >= F.lit(first)) & (F.col("day") <= F.lit(max(days)))))
    crits = []
    for stage, level, window, cs in HAND_RULES:
        for i, (types, min_days, min_value) in enumerate(cs):
            cond = F.col("event_type").isin(*types)
            if min_value is not None:
                cond = cond & (F.col("value") >= min_value)
            crits.append((f"{stage}_{i}", level, window, min_days, cond))
    daily = ev.groupBy("user_id", "brand", "day").agg(
        *[F.sum(F.when(cond, 1).otherwise(0)).alias(name) for name, _, _, _, cond in crits])
    aggs, levels = [], []
    for k, day in enumerate(days):
        holds: dict[int, Any] = {}
        for name, level, window, min_days, _ in crits:
            since = day - _dt.timedelta(days=window - 1)
            inside = (F.col("day") >= F.lit(since)) & (F.col("day") <= F.lit(day)) & (F.col(name) > 0)
            aggs.append(F.sum(F.when(inside, 1).otherwise(0)).alias(f"d{k}_{name}"))
            met = F.col(f"d{k}_{name}") >= min_days
            holds[level] = met if level not in holds else holds[level] | met
        levels.append(F.when(holds[4], 4).when(holds[3], 3).when(holds[2], 2).when(holds[1], 1)
                      .otherwise(0).alias(f"level_{k}"))
    return daily.groupBy("user_id", "brand").agg(*aggs).select("user_id", "brand", *levels)


def hand_volumes_fold(df: Any, day: _dt.date) -> Any:
    from pyspark.sql import functions as F

    s = hand_fold_levels(df, [day]).where(F.col("level_0") > 0)
    return s.groupBy("brand", F.col("level_0").alias("level")).agg(F.count(F.lit(1)).alias("consumers"))


def hand_flows_fold(df: Any, start: _dt.date, end: _dt.date) -> Any:
    """Both dates' levels from one fold and one group-by: no join."""
    from pyspark.sql import functions as F

    s = hand_fold_levels(df, [start, end]).where((F.col("level_0") > 0) | (F.col("level_1") > 0))
    return s.groupBy("brand", F.col("level_0").alias("from_level"), F.col("level_1").alias("to_level")).agg(
        F.count(F.lit(1)).alias("consumers"))



def hand_rules_match_defaults() -> bool:
    """Whether :data:`HAND_RULES` equal the package's ``StageRules()`` defaults."""
    return rules_as_hand() == tuple(
        (s, lv, w, tuple((tuple(t), n, v) for t, n, v in c)) for s, lv, w, c in HAND_RULES)
