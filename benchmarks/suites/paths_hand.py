"""The hand-written PySpark job of the ``paths`` suite: sessions, top paths and a plain windowFunnel written
directly with ``pyspark.sql.functions``, independently of :mod:`marketing360.paths`.

The definitions, as the package documents them:

- sessions per consumer and brand (events without a brand left out), in time order (ties by the event type's
  funnel order); a session ends when the next event comes more than 30 minutes later;
- a session's path: its event types joined by ``" > "``; converting when it holds a purchase, its value the
  purchases' values;
- the top ``n`` paths by sessions (ties by path) with their sessions, distinct consumers, converting
  sessions and value, and one ``(other)`` row for the rest;
- the funnel (ClickHouse's ``windowFunnel``, plain mode) per consumer and brand: a chain starts at an event of
  step 1, each later step must come within the window of the chain's start; the level is the deepest step
  reached, the minutes to step k those of the first event that reached it. Written the way one writes a
  stateful scan in Spark SQL by hand: each pair's (time, step) events sorted into one array and folded with
  ``aggregate``; the state keeps, per step, the latest start of a chain that reached it.
"""

from __future__ import annotations

from typing import Any

FUNNEL_ORDER = ("impression", "click", "browse", "search", "follow", "cart", "ask", "purchase", "review",
                "share", "service")
OTHER = "(other)"


def _funnel_rank(F: Any) -> Any:
    """The event type's place in the package's funnel order (``schema.EVENT_TYPES``), for ties."""
    rank = F.when(F.col("event_type") == FUNNEL_ORDER[0], 0)
    for i, t in enumerate(FUNNEL_ORDER[1:], 1):
        rank = rank.when(F.col("event_type") == t, i)
    return rank.otherwise(len(FUNNEL_ORDER))


def hand_top_paths(df: Any, n: int = 20, gap_minutes: int = 30) -> tuple[Any, dict[str, Any]]:
    """Sessions and top paths by hand: (the top ``n`` rows and ``(other)`` as pandas, the totals)."""
    import pandas as pd
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ev = (df.where(F.col("brand").isNotNull())
          .select("user_id", "brand", "ts", "event_type", "value", _funnel_rank(F).alias("fr")))
    w = Window.partitionBy("user_id", "brand").orderBy("ts", "fr")
    ev = ev.withColumn("prev", F.lag("ts").over(w)).withColumn("rk", F.row_number().over(w))
    new = (F.col("prev").isNull() | (F.col("ts") > F.col("prev") + F.expr(f"INTERVAL {gap_minutes} MINUTES")))
    ev = ev.withColumn("session", F.sum(new.cast("int")).over(w.rowsBetween(Window.unboundedPreceding, 0)))
    buy = F.col("event_type") == "purchase"
    sess = ev.groupBy("user_id", "brand", "session").agg(
        F.concat_ws(" > ", F.transform(F.array_sort(F.collect_list(F.struct("rk", "event_type"))),
                                       lambda x: x["event_type"])).alias("path"),
        F.max(buy.cast("int")).alias("converted"),
        F.sum(F.when(buy, F.coalesce(F.col("value"), F.lit(0.0))).otherwise(0.0)).alias("value"),
        F.count(F.lit(1)).alias("n_steps")).cache()
    per = sess.groupBy("path").agg(F.count(F.lit(1)).alias("sessions"), F.countDistinct("user_id").alias("consumers"),
                                   F.sum("converted").alias("converting"), F.sum("value").alias("value"),
                                   F.max("n_steps").alias("n_steps"))
    top = per.orderBy(F.desc("sessions"), "path").limit(n).toPandas()
    rest = sess.join(F.broadcast(sess.sparkSession.createDataFrame(top[["path"]])), "path", "left_anti")
    other = rest.agg(F.count(F.lit(1)).alias("sessions"), F.countDistinct("user_id").alias("consumers"),
                     F.sum("converted").alias("converting"), F.sum("value").alias("value")).toPandas().iloc[0]
    tot = sess.agg(F.count(F.lit(1)).alias("sessions"), F.countDistinct("user_id").alias("consumers"),
                   F.countDistinct("path").alias("paths")).toPandas().iloc[0]
    sess.unpersist()
    if int(other["sessions"]):
        top = pd.concat([top, pd.DataFrame([{"path": OTHER, **{k: other[k] for k in
                                                                ("sessions", "consumers", "converting", "value")}}])],
                        ignore_index=True)
    return top, {k: int(tot[k]) for k in ("sessions", "consumers", "paths")}


def hand_funnel(df: Any, steps: list[str], window_seconds: int) -> Any:
    """The plain windowFunnel by hand: per step, consumers (x brand) reaching it and quantiles of the minutes."""
    from pyspark.sql import functions as F

    n = len(steps)
    ev = df.where(F.col("brand").isNotNull() & F.col("event_type").isin(steps))
    k = F.lit(0)
    for i, s in enumerate(steps):
        k = F.when(F.col("event_type") == s, i + 1).otherwise(k)
    ev = ev.select("user_id", "brand", F.struct(F.unix_micros(F.col("ts").cast("timestamp")).alias("t"),
                                                k.alias("k")).alias("e"))
    pairs = ev.groupBy("user_id", "brand").agg(F.array_sort(F.collect_list("e")).alias("es"))
    span = window_seconds * 1_000_000
    # state: m1..mn (latest start of a chain that reached step j, -1 none), d1..dn (minutes at the first reach)
    init = "named_struct(" + ", ".join([f"'m{j}', CAST(-1 AS BIGINT)" for j in range(1, n + 1)]
                                       + [f"'d{j}', CAST(NULL AS DOUBLE)" for j in range(1, n + 1)]) + ")"
    fields = []
    for j in range(1, n + 1):
        if j == 1:
            ok = "x.k = 1"
            start = "x.t"
        else:
            ok = f"x.k = {j} AND acc.m{j - 1} >= 0 AND x.t <= acc.m{j - 1} + {span}"
            start = f"acc.m{j - 1}"
        fields.append(f"'m{j}', IF({ok}, GREATEST(acc.m{j}, {start}), acc.m{j})")
    for j in range(1, n + 1):
        ok = "x.k = 1" if j == 1 else f"x.k = {j} AND acc.m{j - 1} >= 0 AND x.t <= acc.m{j - 1} + {span}"
        minutes = "0.0D" if j == 1 else f"(x.t - acc.m{j - 1}) / 60000000.0D"
        fields.append(f"'d{j}', IF(acc.d{j} IS NULL AND {ok}, {minutes}, acc.d{j})")
    fold = f"aggregate(es, {init}, (acc, x) -> named_struct({', '.join(fields)}))"
    st = pairs.select(F.expr(fold).alias("s"))
    out = st.agg(*[F.count(F.col(f"s.d{j}")).alias(f"c{j}") for j in range(1, n + 1)],
                 *[F.percentile(F.col(f"s.d{j}"), 0.5).alias(f"q50_{j}") for j in range(1, n + 1)])
    return out.toPandas().iloc[0]
