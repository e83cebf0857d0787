"""Plain-Python references for journeys, rules, Markov and Shapley (loops and dense algebra)."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import numpy as np
import pandas as pd

import marketing360 as m3


def reference_journeys(events: pd.DataFrame, *, lookback_days: float = 30, conversion: str = "purchase",
                       touch_types=("impression", "click"), by: str | None = "brand",
                       end=None) -> list[dict]:
    """Each journey as a dict: user_id, brand, converted, value, touches [(ts, channel)], end."""
    ev = events.copy()
    is_touch = ev.event_type.isin(touch_types) & ev.channel.notna()
    ev = ev[is_touch | (ev.event_type == conversion)].copy()
    if by:
        ev = ev[ev[by].notna()]
    ev["is_conv"] = (ev.event_type == conversion).astype(int)
    ev["v"] = ev["value"].fillna(0.0) if "value" in ev else 0.0
    end = pd.Timestamp(end) if end is not None else events.ts.max()
    look = pd.Timedelta(seconds=round(lookback_days * 86400))
    out = []
    keys = ["user_id"] + ([by] if by else [])
    for key, g in ev.groupby(keys, sort=True):
        g = g.sort_values(["ts", "is_conv", "v", "channel"], kind="mergesort")
        pending: list = []
        for r in g.itertuples():
            if r.is_conv:
                touches = [(t.ts, t.channel, t.campaign) for t in pending if t.ts >= r.ts - look]
                out.append({"key": key, "converted": True, "value": r.v, "end": r.ts,
                            "touches": sorted(touches, key=lambda x: (x[0], x[1], str(x[2])))})
                pending = []
            else:
                pending.append(r)
        touches = [(t.ts, t.channel, t.campaign) for t in pending if end - look <= t.ts <= end]
        out.append({"key": key, "converted": False, "value": 0.0, "end": end,
                    "touches": sorted(touches, key=lambda x: (x[0], x[1], str(x[2])))})
    return out


def reference_paths(journeys: list[dict]) -> pd.DataFrame:
    """The ChannelAttribution path table of journeys with touches."""
    acc: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for j in journeys:
        if not j["touches"]:
            continue
        p = " > ".join(c for _, c, _ in j["touches"])
        a = acc[p]
        a[0] += j["converted"]
        a[1] += j["value"]
        a[2] += not j["converted"]
    return pd.DataFrame([{"path": p, "conversions": a[0], "value": a[1], "nulls": a[2]}
                         for p, a in sorted(acc.items())])


def rule_weights(channels: list[str], rule: str, hours: list[float] | None = None, *,
                 half_life_days: float = 7.0, first: float = 0.4, last: float = 0.4,
                 direct=("direct",)) -> list[float]:
    n = len(channels)
    if rule == "first_touch":
        return [1.0] + [0.0] * (n - 1)
    if rule == "last_touch":
        return [0.0] * (n - 1) + [1.0]
    if rule == "linear":
        return [1.0 / n] * n
    if rule == "last_non_direct":
        idx = max((i for i, c in enumerate(channels) if c not in direct), default=n - 1)
        return [1.0 if i == idx else 0.0 for i in range(n)]
    if rule == "position_based":
        if n == 1:
            return [1.0]
        if n == 2:
            return [first / (first + last), last / (first + last)]
        mid = (1 - first - last) / (n - 2)
        return [first] + [mid] * (n - 2) + [last]
    if rule == "time_decay":
        raw = [0.5 ** (h / (24 * half_life_days)) for h in hours]
        s = sum(raw)
        return [r / s for r in raw]
    raise ValueError(rule)


def reference_rules(paths: pd.DataFrame, rule: str, **kw) -> pd.DataFrame:
    """Per channel: credited conversions and value of a path table."""
    conv: dict[str, float] = defaultdict(float)
    val: dict[str, float] = defaultdict(float)
    for r in paths.itertuples():
        chans = r.path.split(" > ")
        for c, w in zip(chans, rule_weights(chans, rule, **kw)):
            conv[c] += w * r.conversions
            val[c] += w * (0.0 if pd.isna(r.value) else r.value)
    chans = sorted(c for c in conv if conv[c] != 0 or val[c] != 0)
    return pd.DataFrame({"channel": chans, "conversions": [conv[c] for c in chans],
                         "value": [val[c] for c in chans]})


def reference_markov(paths: pd.DataFrame, order: int = 1) -> pd.DataFrame:
    """Removal effects from a dense chain (ChannelAttribution's states); removed states' in-flows go to (null)."""
    counts: dict[tuple, dict[tuple, float]] = defaultdict(lambda: defaultdict(float))
    rewards: dict[tuple, float] = defaultdict(float)
    start, conv, null = ("<s>",), ("<c>",), ("<n>",)
    for r in paths.itertuples():
        ch = r.path.split(" > ")
        # windows of `order` consecutive channels (one state for a shorter path), repeats merged
        states = [tuple(ch[i - order + 1: i + 1]) for i in range(order - 1, len(ch))] or [tuple(ch)]
        states = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
        n_j = r.conversions + (0.0 if pd.isna(r.nulls) else r.nulls)
        prev = start
        for s in states:
            counts[prev][s] += n_j
            prev = s
        if r.conversions:
            counts[prev][conv] += r.conversions
            rewards[prev] += 0.0 if pd.isna(r.value) else r.value
        if not pd.isna(r.nulls) and r.nulls:
            counts[prev][null] += r.nulls
    states = sorted({s for s in counts} | {t for d in counts.values() for t in d} - {conv, null}, key=str)
    idx = {s: i for i, s in enumerate(states + [conv, null])}
    m = len(idx)

    def probs(removed: str | None) -> tuple[float, float]:
        p = np.zeros((m, m))
        reward = np.zeros(m)
        for s, d in counts.items():
            tot = sum(d.values())
            for t, c in d.items():
                target = null if (removed is not None and removed in t) else t
                p[idx[s], idx[target]] += c / tot
            reward[idx[s]] = rewards[s] / tot
        for s in states:  # removed states become absorbing nulls themselves
            if removed is not None and removed in s:
                p[idx[s]] = 0.0
                p[idx[s], idx[null]] = 1.0
                reward[idx[s]] = 0.0
        p[idx[conv], idx[conv]] = p[idx[null], idx[null]] = 1.0
        k = len(states)
        q = p[:k, :k]
        fundamental = np.linalg.inv(np.eye(k) - q)
        b = fundamental @ p[:k, k:]
        ev = fundamental @ reward[:k]
        return b[idx[start], 0], ev[idx[start]]

    base_c, base_v = probs(None)
    channels = sorted({c for s in states if s != start for c in s})
    rows = []
    for c in channels:
        pc, pv = probs(c)
        rows.append({"channel": c, "removal_effect": 1 - pc / base_c, "removal_effect_value": 1 - pv / base_v})
    return pd.DataFrame(rows)


def brute_force_shapley(worth: dict[frozenset, float], players: list[str]) -> dict[str, float]:
    """Shapley values of the game v(S) = sum of worth[T] for T within S, by the subset formula."""
    n = len(players)
    pos = {p: i for i, p in enumerate(players)}
    v = np.zeros(1 << n)
    for t, w in worth.items():
        v[sum(1 << pos[p] for p in t)] += w
    for i in range(n):  # zeta transform: v[S] = sum over subsets
        bit = 1 << i
        idx = np.arange(1 << n)
        has = (idx & bit) != 0
        v[idx[has]] += v[idx[has] ^ bit]
    size = np.array([bin(s).count("1") for s in range(1 << n)])
    weight = np.array([math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n) if k < n else 0.0
                       for k in range(n + 1)])
    out = {}
    all_idx = np.arange(1 << n)
    for p in players:
        bit = 1 << pos[p]
        without = all_idx[(all_idx & bit) == 0]
        out[p] = float(np.sum(weight[size[without]] * (v[without | bit] - v[without])))
    return out


def permutation_shapley(worth: dict[frozenset, float], players: list[str]) -> dict[str, float]:
    """Shapley values of v(S) = sum of worth[T] for T within S, over all orders (small games only)."""
    return shapley_of_game(lambda s: sum(w for t, w in worth.items() if t <= s), players)


def shapley_of_game(v, players: list[str]) -> dict[str, float]:
    """Shapley values of any game ``v(frozenset)`` by averaging over all orders of the players."""
    out = dict.fromkeys(players, 0.0)
    perms = list(itertools.permutations(players))
    for order in perms:
        s: frozenset = frozenset()
        for p in order:
            out[p] += v(s | {p}) - v(s)
            s = s | {p}
    return {p: x / len(perms) for p, x in out.items()}


def reference_calendar_journeys(events: pd.DataFrame, *, window_days: float = 10, conversion: str = "purchase",
                                touch_types=("impression", "click")) -> list[dict]:
    """Per consumer x brand and calendar window (from the first day): first conversion or none."""
    ev = events[(events.event_type.isin(touch_types) & events.channel.notna()) | (events.event_type == conversion)]
    ev = ev[ev.brand.notna()].copy()
    first = events.ts.min().normalize()
    stop = events.ts.max().normalize() + pd.Timedelta(days=1)
    span = pd.Timedelta(days=window_days)
    n = int((stop - first) // span)
    ev["k"] = ((ev.ts - first) // span).astype(int)
    ev = ev[ev.k < n]
    out = []
    for (u, b), g in ev.groupby(["user_id", "brand"]):
        for k in range(n):
            w = g[g.k == k]
            conv = w[w.event_type == conversion].sort_values(["ts", "value"])
            touches = w[w.event_type != conversion]
            if len(conv):
                end = conv.ts.iloc[0]
                touches = touches[touches.ts <= end]
                value = 0.0 if pd.isna(conv.value.iloc[0]) else conv.value.iloc[0]
            else:
                end, value = first + (k + 1) * span, 0.0
            out.append({"key": (u, b, k), "converted": bool(len(conv)), "value": value, "end": end,
                        "touches": sorted([(t.ts, t.channel, t.campaign) for t in touches.itertuples()],
                                          key=lambda x: (x[0], x[1], str(x[2])))})
    return out


def random_events(seed: int, n_users: int = 60, days: int = 25) -> pd.DataFrame:
    """Events with ties, several brands, missing channels and brands, purchases with and without value."""
    rng = np.random.default_rng(seed)
    n = n_users * 12
    types = rng.choice(["impression", "click", "browse", "purchase", "cart"], n, p=[.5, .15, .15, .12, .08])
    df = pd.DataFrame({
        "user_id": rng.integers(0, n_users, n),
        # hourly stamps over few days: many ties, also between a touch and a purchase
        "ts": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, days * 24, n), unit="h"),
        "brand": rng.choice(["A", "B", None], n, p=[.55, .4, .05]),
        "event_type": types,
        "channel": rng.choice(["search", "display", "video", "direct", None], n, p=[.3, .3, .2, .15, .05]),
        "campaign": rng.choice(["c1", "c2", "c3"], n),
        "value": np.where(types == "purchase", rng.choice([10.0, 25.0, np.nan], n), np.nan),
        "cost": np.where(np.isin(types, ["impression", "click"]), 0.5, np.nan),
    })
    return m3.validate(df, "events")
