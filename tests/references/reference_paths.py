"""Plain-pandas references for shopping-path analysis: sessions and their paths, row by row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from marketing360.schema import EVENT_TYPES

FUNNEL = {t: i for i, t in enumerate(EVENT_TYPES)}


def random_shopping_events(seed: int, n_users: int = 40) -> pd.DataFrame:
    """Events with ties, gaps of exactly 30 minutes, several brands (and none), missing channels, midnights."""
    rng = np.random.default_rng(seed)
    rows = []
    types = ["impression", "click", "browse", "search", "cart", "purchase", "follow"]
    for u in range(1, n_users + 1):
        t = pd.Timestamp("2025-03-01 22:00") + pd.Timedelta(minutes=int(rng.integers(0, 600)))
        for _ in range(int(rng.integers(1, 25))):
            step = rng.choice([0, 1, 5, 29, 30, 31, 90, 600], p=[.12, .1, .25, .1, .13, .1, .1, .1])
            t = t + pd.Timedelta(minutes=int(step), seconds=int(rng.integers(0, 2)) * 0)
            et = str(rng.choice(types))
            rows.append({"user_id": u, "ts": t, "brand": rng.choice(["A", "B", None], p=[.5, .4, .1]),
                         "event_type": et,
                         "channel": rng.choice(["search", "video", "email", None], p=[.3, .3, .2, .2]),
                         "value": float(rng.integers(5, 50)) if et == "purchase" else None})
    return pd.DataFrame(rows)


def reference_sessions(events: pd.DataFrame, *, gap_minutes: float | None = 30, by_day: bool = False,
                       by: str | None = "brand", level: str = "event_type", mapping: dict | None = None,
                       event_types=None, conversion: str = "purchase", collapse_repeats: bool = False,
                       start_at: str | None = None, end_at: str | None = None) -> pd.DataFrame:
    """One row per session: user_id, brand, session, start_ts, end_ts, n_events, n_steps, path, converted,
    conversions, value; read off the definition with a loop per consumer."""
    ev = events.copy()
    ev["ts"] = pd.to_datetime(ev["ts"])
    if event_types is not None:
        ev = ev[ev.event_type.isin(event_types)]
    if by:
        ev = ev[ev[by].notna()]
    lab = ev[level].astype(object).where(ev[level].notna(), None).map(lambda v: None if v is None else str(v))
    if mapping:
        lab = lab.map(lambda v: mapping.get(v, v) if v is not None else None)
    ev["label"] = lab
    ev["funnel"] = ev.event_type.map(FUNNEL)
    ev["label_sort"] = ev["label"].fillna("")
    out = []
    keys = ["user_id"] + ([by] if by else [])
    for key, g in ev.groupby(keys, sort=True):
        g = g.sort_values(["ts", "funnel", "label_sort"], kind="mergesort")
        session, prev = 0, None
        per: dict[int, list] = {}
        for r in g.itertuples():
            new = prev is None
            if prev is not None and gap_minutes is not None and (r.ts - prev) > pd.Timedelta(minutes=gap_minutes):
                new = True
            if prev is not None and by_day and r.ts.date() != prev.date():
                new = True
            session += new
            per.setdefault(session, []).append(r)
            prev = r.ts
        for s, rs in per.items():
            steps = [(r.event_type, r.label) for r in rs if r.label is not None]
            if start_at:
                i = next((k for k, st in enumerate(steps) if st[0] == start_at), None)
                if i is None:
                    continue
                steps = steps[i:]
            if end_at:
                i = next((k for k, st in enumerate(steps) if st[0] == end_at), None)
                if i is None:
                    continue
                steps = steps[:i + 1]
            labels = [lb for _, lb in steps]
            if collapse_repeats:
                labels = [lb for k, lb in enumerate(labels) if k == 0 or lb != labels[k - 1]]
            conv = [r for r in rs if r.event_type == conversion]
            u = key if not isinstance(key, tuple) else key[0]
            out.append({"user_id": u, "brand": key[1] if by else None, "session": s,
                        "start_ts": rs[0].ts, "end_ts": rs[-1].ts, "n_events": len(rs), "n_steps": len(labels),
                        "path": " > ".join(labels), "converted": bool(conv), "conversions": len(conv),
                        "value": float(sum(r.value for r in conv if pd.notna(r.value)))})
    return pd.DataFrame(out)


def _truncated(s: pd.DataFrame, max_steps: int | None) -> pd.Series:
    def one(p: str) -> str:
        if not p:
            return "(no steps)"
        steps = p.split(" > ")
        return p if max_steps is None or len(steps) <= max_steps else " > ".join(steps[:max_steps] + ["..."])
    return s["path"].map(one)


def reference_top_paths(sess: pd.DataFrame, *, n: int, max_steps: int | None = None) -> pd.DataFrame:
    """rank, path, sessions, consumers, converting, value; the rest in '(other)'."""
    s = sess.assign(path=_truncated(sess, max_steps))
    per = s.groupby("path").size().rename("sessions").reset_index()
    per = per.sort_values(["sessions", "path"], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    top = list(per.path[:n])
    rows = []
    for i, p in enumerate(top, 1):
        g = s[s.path == p]
        rows.append({"rank": float(i), "path": p, "sessions": len(g), "consumers": g.user_id.nunique(),
                     "converting": int(g.converted.sum()), "value": float(g.value.sum())})
    rest = s[~s.path.isin(top)]
    if len(rest):
        rows.append({"rank": np.nan, "path": "(other)", "sessions": len(rest), "consumers": rest.user_id.nunique(),
                     "converting": int(rest.converted.sum()), "value": float(rest.value.sum())})
    return pd.DataFrame(rows)


def reference_coverage(sess: pd.DataFrame, *, unit: str, max_steps: int | None = None) -> list[float]:
    """Coverage by the top k paths, k = 1 .. distinct paths, by brute force over k."""
    s = sess.assign(path=_truncated(sess, max_steps))
    if unit == "sessions":
        w = s.groupby("path").size()
    else:
        w = s.groupby("path").user_id.nunique()
    order = sorted(w.index, key=lambda p: (-w[p], p))
    out = []
    for k in range(1, len(order) + 1):
        keep = set(order[:k])
        if unit == "sessions":
            out.append(s.path.isin(keep).sum() / len(s))
        else:
            out.append(s[s.path.isin(keep)].user_id.nunique() / s.user_id.nunique())
    return out


def reference_window_funnel(rows: list[tuple], conditions: list, window: float, *, strict_order: bool = False,
                            strict_deduplication: bool = False, times: dict | None = None) -> int:
    """ClickHouse's windowFunnel level for one consumer, read off its documented algorithm event by event.

    ``rows``: (timestamp in seconds, event dict); ``conditions``: predicates on the event dict; ``window`` None:
    no limit. ``times`` (a dict) receives, per level reached, the seconds from the chain's start to the event
    that first reached it.
    """
    pairs = []
    for ts, ev in rows:
        hit = [k for k, cond in enumerate(conditions, 1) if cond(ev)]
        pairs += [(ts, k) for k in hit]
        if strict_order and not hit:
            pairs.append((ts, 0))
    pairs.sort(key=lambda p: (p[0], p[1]))
    n = len(conditions)
    start: list = [None] * n  # the chain start that reached each level
    first = False
    for ts, k in pairs:
        i = k - 1
        if strict_order and i == -1:
            if first:
                break
            continue
        if i == 0:
            start[0], first = ts, True
            if times is not None:
                times.setdefault(1, 0.0)
        elif strict_deduplication and start[i] is not None:
            break
        elif strict_order and first and start[i - 1] is None:
            break
        elif start[i - 1] is not None and (window is None or ts <= start[i - 1] + window):
            start[i] = start[i - 1]
            if times is not None:
                times.setdefault(k, ts - start[i])
    return max((k + 1 for k in range(n) if start[k] is not None), default=0)


def on_engines(cases: list, spark: list[int]) -> list:
    """Parameters (engine name, case): every case on DuckDB, the cases at positions ``spark`` on Spark too
    (marked ``spark``), which keeps the JVM's share of the run small. Use with :func:`engine_named`."""
    import pytest

    out = [pytest.param("duckdb", c, id=f"duckdb-{c}", marks=pytest.mark.duckdb) for c in cases]
    out += [pytest.param("spark", cases[i], id=f"spark-{cases[i]}", marks=pytest.mark.spark) for i in spark]
    return out


def engine_named(request, name: str):
    """The session's engine fixture of that name."""
    return request.getfixturevalue(f"{name}_engine")
