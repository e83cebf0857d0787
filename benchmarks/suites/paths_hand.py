"""The hand-written jobs of the ``paths`` suite: sessions, top paths and a plain windowFunnel written directly,
independently of :mod:`marketing360.paths` -- once with ``pyspark.sql.functions`` (:func:`hand_top_paths`,
:func:`hand_funnel`) and once as DuckDB SQL (:func:`sql_top_paths`, :func:`sql_funnel`), each the fastest way
I could write it for its engine.

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

The DuckDB SQL takes other routes: a session's path is an integer (step ``i`` of the session adds
``(k + 1) << 4 * i``, ``k`` the event type's funnel place; the first 31 steps in a HUGEINT, later ones listed), so
sessions and paths are sums in hash aggregates, and only the top paths are ever written as strings; the funnel is
one ``ASOF JOIN`` per step: an event of step ``j`` takes the chain start of the latest event that reached step
``j - 1`` at or before it (the latest carries the largest start, since starts only grow), and reaches step ``j``
when it comes within the window of that start.
"""

from __future__ import annotations

from typing import Any

#: the funnel's quantiles of the minutes to each step (p25, median, p75, p90)
QUANTILES = (0.25, 0.5, 0.75, 0.9)
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


def _quantiles(values: Any) -> list[float]:
    return [float("nan")] * len(QUANTILES) if values is None else [float(v) for v in values]


def hand_funnel(df: Any, steps: list[str], window_seconds: int) -> dict[str, Any]:
    """The plain windowFunnel by hand: the population (consumer x brand pairs with events) and per step the
    pairs reaching it and the quantiles of their minutes: ``{"population": n, "steps": [(k, pairs, p25, median,
    p75, p90), ...]}``."""
    from pyspark.sql import functions as F

    n = len(steps)
    branded = df.where(F.col("brand").isNotNull())
    population = branded.select("user_id", "brand").distinct().count()
    ev = branded.where(F.col("event_type").isin(steps))
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
                 *[F.percentile(F.col(f"s.d{j}"), list(QUANTILES)).alias(f"q{j}") for j in range(1, n + 1)])
    row = out.toPandas().iloc[0]
    return {"population": int(population),
            "steps": [(j, int(row[f"c{j}"]), *_quantiles(row[f"q{j}"])) for j in range(1, n + 1)]}


#: the DuckDB SQL's path integer: 4 bits a step (``k + 1`` in 1..12, 12 for a type outside the funnel order), the
#: first 31 steps (shifts are exact, where DuckDB's ``**`` is a double and loses digits past 2**53)
_BITS, _PACKED = 4, 31


def _sql_rank(col: str = "event_type") -> str:
    return ("CASE " + " ".join(f"WHEN {col} = '{t}' THEN {i}" for i, t in enumerate(FUNNEL_ORDER))
            + f" ELSE {len(FUNNEL_ORDER)} END")


def _sql_path(key: Any, tail: Any) -> str:
    ks, key = [], int(key or 0)
    while key:
        ks.append((key & ((1 << _BITS) - 1)) - 1)
        key >>= _BITS
    ks += list(tail or [])
    if any(k >= len(FUNNEL_ORDER) for k in ks):
        raise ValueError("the events hold an event type outside the funnel order (not canonical events)")
    return " > ".join(FUNNEL_ORDER[k] for k in ks)


def sql_top_paths(con: Any, source: str, n: int = 20, gap_minutes: int = 30) -> tuple[list[dict[str, Any]],
                                                                                      dict[str, int]]:
    """Sessions and top paths in DuckDB SQL over ``source`` (a ``read_parquet(...)``): (top rows, totals)."""
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE pu AS
    WITH e AS (
      SELECT user_id, brand, ts, {_sql_rank()} AS k, (event_type = 'purchase')::INT AS buy,
             CASE WHEN event_type = 'purchase' THEN coalesce(value, 0) ELSE 0 END AS v
      FROM {source} WHERE brand IS NOT NULL),
    a AS (
      SELECT user_id, brand, k, v, buy, row_number() OVER w AS rk,
             (lag(ts) OVER w IS NULL OR ts > lag(ts) OVER w + INTERVAL {gap_minutes} MINUTE)::INT AS new
      FROM e WINDOW w AS (PARTITION BY user_id, brand ORDER BY ts, k)),
    b AS (
      SELECT user_id, brand, k, v, buy, sum(new) OVER w2 AS s, rk - max(rk * new) OVER w2 AS pos
      FROM a WINDOW w2 AS (PARTITION BY user_id, brand ORDER BY rk ROWS UNBOUNDED PRECEDING)),
    sess AS (
      SELECT user_id, max(buy) AS conv, sum(v) AS val,
             coalesce(sum(CASE WHEN pos < {_PACKED} THEN (k + 1)::HUGEINT << ({_BITS} * pos)::INT END),
                      0) AS key,
             list(k ORDER BY pos) FILTER (WHERE pos >= {_PACKED}) AS tail
      FROM b GROUP BY user_id, brand, s)
    SELECT key, tail, user_id, count(*) AS n, sum(conv) AS conv, sum(val) AS val FROM sess GROUP BY ALL""")
    con.execute("""CREATE OR REPLACE TEMP TABLE per AS SELECT key, tail, sum(n) AS sessions, count(*) AS consumers,
                   sum(conv) AS converting, sum(val) AS value FROM pu GROUP BY ALL""")
    # every path with at least the n-th largest session count is decoded; ties go by the path string
    cut = con.sql(f"SELECT sessions FROM per ORDER BY sessions DESC LIMIT 1 OFFSET {n - 1}").fetchall()
    cand = con.sql(f"SELECT * FROM per WHERE sessions >= {cut[0][0] if cut else 0}").fetchall()
    ranked = sorted(((_sql_path(k, t), k, t, int(s), int(c), int(cv), float(v)) for k, t, s, c, cv, v in cand),
                    key=lambda r: (-r[3], r[0]))[:n]
    con.execute("CREATE OR REPLACE TEMP TABLE topk (key HUGEINT, tail BIGINT[])")
    con.executemany("INSERT INTO topk VALUES (?, ?)", [[str(r[1]), r[2]] for r in ranked])
    other = con.sql("""SELECT sum(n), count(DISTINCT user_id), sum(conv), sum(val) FROM pu
                       WHERE NOT EXISTS (SELECT 1 FROM topk WHERE topk.key = pu.key
                                         AND topk.tail IS NOT DISTINCT FROM pu.tail)""").fetchall()[0]
    tot = con.sql("SELECT sum(n), count(DISTINCT user_id), (SELECT count(*) FROM per) FROM pu").fetchall()[0]
    top = [{"path": p, "sessions": s, "consumers": c, "converting": cv, "value": round(v, 4)}
           for p, _, _, s, c, cv, v in ranked]
    if other[0]:
        top.append({"path": OTHER, "sessions": int(other[0]), "consumers": int(other[1]),
                    "converting": int(other[2]), "value": round(float(other[3]), 4)})
    return top, {"sessions": int(tot[0]), "consumers": int(tot[1]), "paths": int(tot[2])}


def sql_funnel(con: Any, source: str, steps: list[str], window_seconds: int) -> dict[str, Any]:
    """The plain windowFunnel in DuckDB SQL, the result of :func:`hand_funnel`."""
    k = "CASE " + " ".join(f"WHEN event_type = '{s}' THEN {i + 1}" for i, s in enumerate(steps)) + " END"
    names = ", ".join(f"'{s}'" for s in steps)
    population = con.sql(f"SELECT count(*) FROM (SELECT DISTINCT user_id, brand FROM {source} "
                         "WHERE brand IS NOT NULL)").fetchall()[0][0]
    con.execute(f"""CREATE OR REPLACE TEMP TABLE fe AS SELECT user_id, brand, ts, {k} AS k FROM {source}
                    WHERE brand IS NOT NULL AND event_type IN ({names})""")
    con.execute("CREATE OR REPLACE TEMP TABLE q1 AS SELECT user_id, brand, ts, ts AS start FROM fe WHERE k = 1")
    for j in range(2, len(steps) + 1):
        con.execute(f"""CREATE OR REPLACE TEMP TABLE q{j} AS
            SELECT e.user_id, e.brand, e.ts, q.start FROM (SELECT * FROM fe WHERE k = {j}) e
            ASOF JOIN q{j - 1} q ON e.user_id = q.user_id AND e.brand = q.brand AND e.ts >= q.ts
            WHERE e.ts <= q.start + INTERVAL {window_seconds} SECOND""")
    out = []
    for j in range(1, len(steps) + 1):
        c, q = con.sql(f"""WITH d AS (SELECT arg_min((epoch_us(ts) - epoch_us(start)) / 60000000.0, ts) AS m
                                      FROM q{j} GROUP BY user_id, brand)
                           SELECT count(*), quantile_cont(m, {list(QUANTILES)}) FROM d""").fetchall()[0]
        out.append((j, int(c), *_quantiles(q)))
    return {"population": int(population), "steps": out}
