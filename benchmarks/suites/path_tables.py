"""Events -> ChannelAttribution path table, as a ChannelAttribution user would write it.

ChannelAttribution's ``markov_model`` needs a path table (``path,
total_conversions, total_conversion_value, total_null``); a user with touch
level events builds it first. The baselines below build it with the journey
definition of marketing360's ``journeys(events, lookback_days=...)``, so that
the table is exactly ours:

- the touches are ``impression`` and ``click`` events with a channel, the
  conversions ``purchase`` events; both per consumer and brand (events
  without a brand are left out);
- every conversion closes a journey: the touches since the consumer's
  previous conversion of the brand, at most ``lookback_days`` before it;
  touches at the same instant as a conversion belong to it, and of two
  conversions at the same instant the one of lower value comes first;
- the touches after the last conversion form one non-converting journey
  that ends at the last event of the data (all events), again within the
  look-back;
- a path is the journey's channels in time order (ties by channel name)
  joined by ``" > "``; journeys without touches are left out.

Each ``setup_*`` function does the imports and the connection (timed apart as
start-up) and returns the timed function ``events folder -> pandas DataFrame``
ordered by path. Only the standard library is imported at module level.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CA_COLUMNS = ("path", "total_conversions", "total_conversion_value", "total_null")
TOUCH_TYPES = ("impression", "click")
CONVERSION = "purchase"

PathTableFn = Callable[[str, float], Any]


def _seconds(lookback_days: float) -> int:
    return int(round(lookback_days * 86400))  # as marketing360.journeys does


# ---------------------------------------------------------------------------- marketing360


def setup_ours() -> PathTableFn:
    """marketing360: ``journeys(events, lookback_days=...).paths()`` on the DuckDB engine, to pandas."""
    import marketing360 as m3
    from suites import m3api

    eng = m3.connect()

    def run(events_dir: str, lookback_days: float) -> Any:
        return m3api.path_table(m3api.journeys(eng.table(events_dir), lookback_days=lookback_days))

    return run


# ---------------------------------------------------------------------------- DuckDB SQL

_SQL_EVENTS = """
ev AS (
  SELECT user_id, brand, ts, channel::VARCHAR AS channel, (event_type = '{conv}')::INTEGER AS conv,
         CASE WHEN event_type = '{conv}' THEN value END AS value
  FROM read_parquet('{glob}')
  WHERE brand IS NOT NULL
    AND ((event_type IN {touch_types} AND channel IS NOT NULL) OR event_type = '{conv}')
)"""

_SQL_PATHS = """
SELECT path, sum(converted::INTEGER) AS total_conversions, sum(value) AS total_conversion_value,
       sum((NOT converted)::INTEGER) AS total_null
FROM journeys GROUP BY path ORDER BY path
"""

#: journey numbers (conversions before each event), the conversions joined back to their touches
SQL_JOURNEY_NUMBERS = "WITH" + _SQL_EVENTS + """,
numbered AS (
  SELECT *, sum(conv) OVER (PARTITION BY user_id, brand ORDER BY ts, conv, value NULLS LAST, channel
                            ROWS UNBOUNDED PRECEDING) - conv AS journey
  FROM ev
), conversions AS (
  SELECT user_id, brand, journey, ts AS end_ts, coalesce(value, 0.0) AS value FROM numbered WHERE conv = 1
), touches AS (
  SELECT n.user_id, n.brand, n.journey, n.ts, n.channel, c.end_ts IS NOT NULL AS converted,
         coalesce(c.end_ts, (SELECT max(ts) FROM read_parquet('{glob}'))) AS end_ts,
         coalesce(c.value, 0.0) AS value
  FROM numbered AS n LEFT JOIN conversions AS c USING (user_id, brand, journey)
  WHERE n.conv = 0
), journeys AS (
  SELECT string_agg(channel, ' > ' ORDER BY ts, channel) AS path, any_value(converted) AS converted,
         any_value(value) AS value
  FROM touches WHERE ts >= end_ts - INTERVAL ({look}) SECOND
  GROUP BY user_id, brand, journey
)""" + _SQL_PATHS

#: no join: each touch finds its journey's conversion as the next conversion in a window
SQL_NEXT_CONVERSION = "WITH" + _SQL_EVENTS + """,
marked AS (
  SELECT *, first_value(CASE WHEN conv = 1 THEN ts END IGNORE NULLS) OVER w AS end_ts,
            first_value(CASE WHEN conv = 1 THEN coalesce(value, 0.0) END IGNORE NULLS) OVER w AS end_value
  FROM ev
  WINDOW w AS (PARTITION BY user_id, brand ORDER BY ts, conv, value NULLS LAST, channel
               ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)
), journeys AS (
  SELECT string_agg(channel, ' > ' ORDER BY ts, channel) AS path, end_ts IS NOT NULL AS converted,
         coalesce(any_value(end_value), 0.0) AS value
  FROM marked
  WHERE conv = 0
    AND ts >= coalesce(end_ts, (SELECT max(ts) FROM read_parquet('{glob}'))) - INTERVAL ({look}) SECOND
  GROUP BY user_id, brand, end_ts
)""" + _SQL_PATHS


def _sql(template: str, events_dir: str, lookback_days: float) -> str:
    types = "(" + ", ".join(f"'{t}'" for t in TOUCH_TYPES) + ")"
    return template.format(glob=f"{events_dir}/*.parquet", look=_seconds(lookback_days), conv=CONVERSION,
                           touch_types=types)


def _setup_duckdb(template: str) -> PathTableFn:
    import duckdb

    con = duckdb.connect()

    def run(events_dir: str, lookback_days: float) -> Any:
        return con.sql(_sql(template, events_dir, lookback_days)).df()

    return run


def setup_duckdb_sql() -> PathTableFn:
    """Plain DuckDB SQL: journey numbers by a running count of conversions, conversions joined back."""
    return _setup_duckdb(SQL_JOURNEY_NUMBERS)


def setup_duckdb_sql_window() -> PathTableFn:
    """Plain DuckDB SQL: each touch's conversion as the next one in a window (no join)."""
    return _setup_duckdb(SQL_NEXT_CONVERSION)


# ---------------------------------------------------------------------------- polars


def setup_polars() -> PathTableFn:
    """polars, lazy: one sort; a journey starts at a consumer's first event or after a conversion."""
    import polars as pl

    def run(events_dir: str, lookback_days: float) -> Any:
        lf = pl.scan_parquet(f"{events_dir}/*.parquet")
        end = lf.select(pl.col("ts").max()).collect().item()
        conv = pl.col("event_type") == CONVERSION
        ev = (lf.filter(pl.col("brand").is_not_null()
                        & ((pl.col("event_type").is_in(TOUCH_TYPES) & pl.col("channel").is_not_null()) | conv))
              .select("user_id", pl.col("brand").cast(pl.String), "ts", pl.col("channel").cast(pl.String),
                      conv.cast(pl.Int8).alias("conv"), pl.when(conv).then(pl.col("value")).alias("value"))
              .sort(["user_id", "brand", "ts", "conv", "value", "channel"], nulls_last=True))
        first = ((pl.col("user_id") != pl.col("user_id").shift()) | (pl.col("brand") != pl.col("brand").shift())
                 | (pl.col("conv").shift() == 1)).fill_null(True)
        ev = ev.with_columns(journey=first.cum_sum())
        is_conv = pl.col("conv") == 1
        ev = ev.with_columns(end_ts=pl.col("ts").filter(is_conv).first().over("journey"),
                             end_value=pl.col("value").filter(is_conv).first().over("journey"))
        look = pl.duration(seconds=_seconds(lookback_days))
        per = (ev.filter((pl.col("conv") == 0) & (pl.col("ts") >= pl.col("end_ts").fill_null(end) - look))
               .group_by("journey")
               .agg(pl.col("channel").str.join(" > ").alias("path"),
                    pl.col("end_ts").first().is_not_null().alias("converted"),
                    pl.col("end_value").first().fill_null(0.0).alias("value")))
        out = (per.group_by("path")
               .agg(pl.col("converted").sum().alias("total_conversions"),
                    pl.col("value").sum().alias("total_conversion_value"),
                    (~pl.col("converted")).sum().alias("total_null"))
               .sort("path"))
        return out.collect().to_pandas()

    return run


# ---------------------------------------------------------------------------- pandas


def setup_pandas() -> PathTableFn:
    """pandas: one sort, journey numbers by a grouped cumulative sum, conversions merged back."""
    import pandas as pd

    def run(events_dir: str, lookback_days: float) -> Any:
        ev = pd.read_parquet(events_dir, columns=["user_id", "ts", "brand", "event_type", "channel", "value"])
        end = ev.ts.max()
        conv = ev.event_type == CONVERSION
        keep = ev.brand.notna() & ((ev.event_type.isin(TOUCH_TYPES) & ev.channel.notna()) | conv)
        ev, conv = ev[keep], conv[keep]
        # strings, not parquet's categoricals: ties sort by channel name, as in SQL
        ev = pd.DataFrame({"user_id": ev.user_id, "brand": ev.brand.astype(str), "ts": ev.ts,
                           "channel": ev.channel.astype(str), "conv": conv.astype("int64"),
                           "value": ev.value.where(conv)})
        ev = ev.sort_values(["user_id", "brand", "ts", "conv", "value", "channel"], na_position="last")
        ev["journey"] = ev.groupby(["user_id", "brand"], sort=False).conv.cumsum() - ev.conv
        key = ["user_id", "brand", "journey"]
        c = ev.loc[ev.conv == 1, [*key, "ts", "value"]].rename(columns={"ts": "end_ts"})
        t = ev.loc[ev.conv == 0, [*key, "ts", "channel"]].merge(c, on=key, how="left")
        t["converted"] = t.end_ts.notna()
        t["value"] = t.value.fillna(0.0)
        t = t[t.ts >= t.end_ts.fillna(end) - pd.Timedelta(seconds=_seconds(lookback_days))]
        per = t.groupby(key, sort=False).agg(path=("channel", " > ".join), converted=("converted", "first"),
                                             value=("value", "first"))
        per["null"] = ~per.converted
        out = per.groupby("path", as_index=False).agg(total_conversions=("converted", "sum"),
                                                      total_conversion_value=("value", "sum"),
                                                      total_null=("null", "sum"))
        return out.sort_values("path", ignore_index=True)

    return run


#: name -> (what it is, setup); "ours" is the reference the others must equal
IMPLEMENTATIONS: dict[str, tuple[str, Callable[[], PathTableFn]]] = {
    "ours": ("marketing360 `journeys(events).paths()` (DuckDB engine)", setup_ours),
    "duckdb-sql": ("DuckDB SQL: running count of conversions + join", setup_duckdb_sql),
    "duckdb-sql-window": ("DuckDB SQL: next conversion by a window, no join", setup_duckdb_sql_window),
    "polars": ("polars (lazy): one sort, journey starts, window first()", setup_polars),
    "pandas": ("pandas: sort, grouped cumsum, merge, groupby join", setup_pandas),
}
BASELINES = tuple(k for k in IMPLEMENTATIONS if k != "ours")


def compare(ref: Any, other: Any, value_rtol: float = 1e-9) -> dict[str, Any]:
    """Compare two path tables (pandas): the same paths, the same counts exactly, the values to
    ``value_rtol`` relative (sums of the same numbers in another order). Returns the problems found
    and the largest relative difference of the values."""
    import numpy as np

    a = ref.sort_values("path", ignore_index=True)
    b = other.sort_values("path", ignore_index=True)
    out: dict[str, Any] = {"rows": len(b), "reference_rows": len(a), "problems": []}
    if len(a) != len(b) or not (a.path.astype(str).to_numpy() == b.path.astype(str).to_numpy()).all():
        sa, sb = set(a.path.astype(str)), set(b.path.astype(str))
        out["problems"].append(f"{len(sb)} paths against {len(sa)}; only in the reference: "
                               f"{sorted(sa - sb)[:3]}, only here: {sorted(sb - sa)[:3]}")
        return out
    for col in ("total_conversions", "total_null"):
        x, y = a[col].to_numpy(float), b[col].to_numpy(float)
        if not (x == y).all():
            i = int(np.flatnonzero(x != y)[0])
            out["problems"].append(f"{col} differs on {int((x != y).sum())} paths, e.g. {a.path[i]!r}: "
                                   f"{y[i]} against {x[i]}")
    x, y = a.total_conversion_value.to_numpy(float), b.total_conversion_value.to_numpy(float)
    rel = np.abs(x - y) / np.maximum(np.maximum(np.abs(x), np.abs(y)), 1e-300)
    rel[(x == 0) & (y == 0)] = 0.0
    out["max_relative_value_difference"] = float(rel.max()) if len(rel) else 0.0
    out["values_bit_identical"] = bool((x == y).all())
    if out["max_relative_value_difference"] > value_rtol:
        i = int(rel.argmax())
        out["problems"].append(f"total_conversion_value differs by up to {rel[i]:.3g} relative "
                               f"({a.path[i]!r}: {y[i]!r} against {x[i]!r})")
    out["totals"] = {c: float(b[c].sum()) for c in CA_COLUMNS[1:]}
    return out
