"""In-process kernels of the shopping-path analyses: one sort and one pass over columns, compiled by numba.

DuckDB sorts the events once per window it evaluates, and a session number
needs two (a ``lag`` and a running sum): on 100M events that alone takes
40 s on 2 cores. These kernels read the events' columns once, sort them in
memory (a counting sort by consumer, then each consumer's few events by brand,
time and tie order) and walk them once; the DuckDB engine serves the
``session_paths`` and ``funnel_levels`` capabilities with them
(:class:`~marketing360.engine.duckdb.DuckDBEngine`). Their definitions are
those of :mod:`marketing360.paths`, and the tests hold them equal to the
relational plan on every option they serve.

Inputs are integer codes: ``user`` (a dense code per consumer, 0 to
``n_users - 1``), ``brand`` (a code per brand, 0 when brands are pooled),
``ts`` (microseconds), ``tie`` (the order of events at the same instant).

Examples
--------
>>> import numpy as np
>>> user = np.array([1, 0, 1, 0]); brand = np.zeros(4, np.int64)
>>> ts = np.array([50, 10, 20, 10]); tie = np.array([0, 2, 0, 1])
>>> sort_events(user, brand, ts, tie, n_users=2, n_brands=1).tolist()
[3, 1, 2, 0]
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

__all__ = ["sort_events", "tie_order", "cut_sessions", "path_ids", "path_users", "funnel_levels", "user_codes"]

_US_PER_DAY = 86_400_000_000


def user_codes(values: Any) -> tuple[np.ndarray, Any]:
    """Dense-enough integer codes of consumer ids and the way back: ``(codes, uniques)`` with ``uniques[codes]``
    the ids. Integer ids in a range not much wider than their number are offset (no hashing); others are
    factorized."""
    import pandas as pd

    arr = np.asarray(values)
    if arr.dtype.kind in "iu" and len(arr):
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo < 2 * len(arr) + 1024:
            return (arr - lo).astype(np.int64), np.arange(lo, hi + 1, dtype=arr.dtype)
    codes, uniques = pd.factorize(arr)
    return codes.astype(np.int64), np.asarray(uniques)


@numba.njit(cache=True)
def _stable_by(seg: np.ndarray, key: np.ndarray) -> np.ndarray:
    k = np.empty(len(seg), np.int64)
    for j in range(len(seg)):
        k[j] = key[seg[j]]
    return seg[np.argsort(k, kind="mergesort")]


@numba.njit(cache=True)
def _counting_order(key: np.ndarray, n_keys: int) -> tuple:  # pragma: no cover - compiled
    bounds = np.zeros(n_keys + 1, np.int64)
    for i in range(len(key)):
        bounds[key[i] + 1] += 1
    for g in range(n_keys):
        bounds[g + 1] += bounds[g]
    fill = bounds[:-1].copy()
    order = np.empty(len(key), np.int64)
    for i in range(len(key)):
        g = key[i]
        order[fill[g]] = i
        fill[g] += 1
    return order, bounds


@numba.njit(cache=True)
def _sort_segments(order: np.ndarray, bounds: np.ndarray, brand: np.ndarray, ts: np.ndarray, tie: np.ndarray,
                   by_pair: bool, t0: int, tie_span: int) -> None:  # pragma: no cover - compiled
    for g in range(len(bounds) - 1):
        lo, hi = bounds[g], bounds[g + 1]
        if hi - lo < 2:
            continue
        in_time, in_brand = True, True  # already in (ts, tie) order; in (brand, ts, tie) order
        for j in range(lo + 1, hi):
            a, b = order[j - 1], order[j]
            later = ts[a] > ts[b] or (ts[a] == ts[b] and tie[a] > tie[b])
            if later:
                in_time = False
            if brand[a] > brand[b] or (brand[a] == brand[b] and later):
                in_brand = False
            if not in_time and not in_brand:
                break
        if in_brand:
            continue
        seg = order[lo:hi].copy()
        if not in_time:
            if tie_span > 0:  # one key (events with equal keys are interchangeable: any order of them will do)
                k = np.empty(len(seg), np.int64)
                for j in range(len(seg)):
                    k[j] = (ts[seg[j]] - t0) * tie_span + tie[seg[j]]
                seg = seg[np.argsort(k)]
            else:  # stable sorts from the last key to the first
                seg = _stable_by(seg, tie)
                seg = _stable_by(seg, ts)
        if not by_pair:
            seg = _stable_by(seg, brand)
        order[lo:hi] = seg


@numba.njit(cache=True)
def _pair_keys(user: np.ndarray, brand: np.ndarray, n_brands: int) -> np.ndarray:  # pragma: no cover
    key = np.empty(len(user), np.int64)
    for i in range(len(user)):
        key[i] = user[i] * n_brands + brand[i]
    return key


@numba.njit(cache=True)
def _ties(first: np.ndarray, second: np.ndarray, size: int) -> np.ndarray:  # pragma: no cover - compiled
    out = np.empty(len(first), np.int64)
    for i in range(len(first)):
        out[i] = first[i] * size + second[i] + 1
    return out


def tie_order(first: np.ndarray, second: np.ndarray, size: int) -> np.ndarray:
    """One integer that orders events by ``first``, then ``second`` (from -1 to ``size - 2``)."""
    return _ties(first, second, int(size))


def sort_events(user: np.ndarray, brand: np.ndarray, ts: np.ndarray, tie: np.ndarray, *, n_users: int,
                n_brands: int = 1) -> np.ndarray:
    """The positions of the events in (user, brand, ts, tie) order (a stable sort).

    A counting sort by (user, brand) pair when there are not many more pairs than events (else by user, each
    user's events then sorted by brand), then each group's events by time and tie unless already in order.
    """
    n_users, n_brands = int(n_users), max(int(n_brands), 1)
    by_pair = n_users * n_brands <= max(4 * len(user), 1 << 22)
    if by_pair:
        order, bounds = _counting_order(_pair_keys(user, brand, n_brands), n_users * n_brands)
    else:
        order, bounds = _counting_order(user, n_users)
    t0, tie_span = 0, 0
    if len(ts):  # time and tie in one int64 key when it fits
        t0, span = int(ts.min()), int(tie.max()) + 1
        if int(tie.min()) >= 0 and (int(ts.max()) - t0 + 1) * span < 2**62:
            tie_span = span
    _sort_segments(order, bounds, brand, ts, tie, by_pair, t0, tie_span)
    return order


@numba.njit(cache=True)
def _sessions(order: np.ndarray, user: np.ndarray, brand: np.ndarray, ts: np.ndarray, code: np.ndarray,
              conv: np.ndarray, value: np.ndarray, gap: int, by_day: bool, bits: int,
              per_word: int) -> tuple:  # pragma: no cover - compiled
    n = len(order)
    start = np.empty(n, np.int64)
    s_user = np.empty(n, np.int64)
    word = np.empty(n, np.int64)
    steps = np.empty(n, np.int64)
    converted = np.empty(n, np.bool_)
    val = np.empty(n, np.float64)
    m = -1
    w, k, c, v = 0, 0, False, 0.0
    for j in range(n):
        i = order[j]
        new = j == 0
        if not new:
            p = order[j - 1]
            if user[i] != user[p] or brand[i] != brand[p]:
                new = True
            elif gap >= 0 and ts[i] - ts[p] > gap:
                new = True
            elif by_day and ts[i] // 86_400_000_000 != ts[p] // 86_400_000_000:
                new = True
        if new:
            if m >= 0:
                word[m], steps[m], converted[m], val[m] = w, k, c, v
            m += 1
            start[m], s_user[m] = j, user[i]
            w, k, c, v = 0, 0, False, 0.0
        if code[i] >= 0:
            if k < per_word:
                w |= (code[i] + 1) << (bits * k)
            k += 1
        if conv[i]:
            c = True
            v += value[i]
    if m >= 0:
        word[m], steps[m], converted[m], val[m] = w, k, c, v
    m += 1
    return start[:m], s_user[:m], word[:m], steps[:m], converted[:m], val[:m]


def cut_sessions(order: np.ndarray, user: np.ndarray, brand: np.ndarray, ts: np.ndarray, code: np.ndarray,
                 conv: np.ndarray, value: np.ndarray, *, gap: int | None, by_day: bool,
                 n_labels: int) -> dict[str, np.ndarray]:
    """Sessions of the sorted events: per session ``start`` (its first position in ``order``), ``user``,
    ``steps`` (labelled events: ``code >= 0``), ``word`` (the first steps' codes packed, ``bits`` each),
    ``converted`` (a ``conv`` event), ``value`` (of the ``conv`` events), and ``bits`` / ``per_word``."""
    bits = max(int(n_labels).bit_length(), 1)  # codes + 1 in 1..n_labels; 0 ends a word
    per_word = 63 // bits
    out = _sessions(order, user, brand, ts, code, conv, value, -1 if gap is None else int(gap), bool(by_day),
                    bits, per_word)
    return {**dict(zip(("start", "user", "word", "steps", "converted", "value"), out)), "bits": np.int64(bits),
            "per_word": np.int64(per_word)}


def path_ids(sess: dict[str, np.ndarray], order: np.ndarray, code: np.ndarray,
             labels: list[str], sep: str, empty: str) -> tuple[np.ndarray, list[str]]:
    """Each session's path as an integer id, and the path string of each id (``empty`` for no steps).

    Paths of at most ``per_word`` steps are told apart by their packed word; longer ones by their whole code
    sequence (exact, no hashing).
    """
    import pandas as pd

    steps, word = sess["steps"], sess["word"]
    bits, per_word = int(sess["bits"]), int(sess["per_word"])
    long = steps > per_word
    ids = np.empty(len(steps), np.int64)
    short_ids, words = pd.factorize(word[~long])
    ids[~long] = short_ids
    names = []
    mask = (1 << bits) - 1
    for w in np.asarray(words, dtype=np.int64).tolist():
        parts = []
        while w:
            parts.append(labels[(w & mask) - 1])
            w >>= bits
        names.append(sep.join(parts) if parts else empty)
    if long.any():
        starts, n = sess["start"], len(order)
        ends = np.append(starts[1:], n)
        seen: dict[bytes, int] = {}
        long_ids = []
        for s in np.flatnonzero(long).tolist():
            c = code[order[starts[s]:ends[s]]]
            key = c[c >= 0].astype(np.int32).tobytes()
            if key not in seen:
                seen[key] = len(names)
                names.append(sep.join(labels[x] for x in np.frombuffer(key, np.int32).tolist()))
            long_ids.append(seen[key])
        ids[long] = long_ids
    return ids, names


@numba.njit(cache=True)
def _path_users(user: np.ndarray, path: np.ndarray, converted: np.ndarray, value: np.ndarray, steps: np.ndarray,
                n_paths: int) -> tuple:  # pragma: no cover - compiled
    m = len(user)
    last = np.full(n_paths, -1, np.int64)
    slot = np.zeros(n_paths, np.int64)
    o_path = np.empty(m, np.int64)
    o_user = np.empty(m, np.int64)
    o_sessions = np.empty(m, np.int64)
    o_conv = np.empty(m, np.int64)
    o_value = np.empty(m, np.float64)
    o_steps = np.empty(m, np.int64)
    rows = 0
    for s in range(m):
        p, u = path[s], user[s]
        if last[p] != u:
            last[p] = u
            slot[p] = rows
            o_path[rows], o_user[rows] = p, u
            o_sessions[rows], o_conv[rows], o_value[rows], o_steps[rows] = 0, 0, 0.0, 0
            rows += 1
        r = slot[p]
        o_sessions[r] += 1
        o_conv[r] += converted[s]
        o_value[r] += value[s]
        o_steps[r] = max(o_steps[r], steps[s])
    return o_path[:rows], o_user[:rows], o_sessions[:rows], o_conv[:rows], o_value[:rows], o_steps[:rows]


def path_users(sess: dict[str, np.ndarray], ids: np.ndarray, n_paths: int) -> dict[str, np.ndarray]:
    """One row per (path, user) of the sessions (which come grouped by user): ``path``, ``user``,
    ``sessions``, ``converting``, ``value``, ``n_steps``."""
    out = _path_users(sess["user"], ids, sess["converted"], sess["value"], sess["steps"], int(n_paths))
    return dict(zip(("path", "user", "sessions", "converting", "value", "n_steps"), out))


@numba.njit(cache=True)
def _funnel(order: np.ndarray, user: np.ndarray, brand: np.ndarray, ts: np.ndarray, mask: np.ndarray, n: int,
            window: int) -> tuple:  # pragma: no cover - compiled
    total = len(order)
    pairs = 0
    for j in range(total):
        if j == 0 or user[order[j]] != user[order[j - 1]] or brand[order[j]] != brand[order[j - 1]]:
            pairs += 1
    o_user = np.empty(pairs, np.int64)
    o_brand = np.empty(pairs, np.int64)
    level = np.zeros(pairs, np.int64)
    minutes = np.full((pairs, n), np.nan)
    start = np.zeros(n, np.int64)  # per step: the latest start of a chain that reached it
    has = np.zeros(n, np.bool_)
    p = -1
    j = 0
    while j < total:
        i = order[j]
        if j == 0 or user[i] != user[order[j - 1]] or brand[i] != brand[order[j - 1]]:
            p += 1
            o_user[p], o_brand[p] = user[i], brand[i]
            has[:] = False
        # the events at this instant: each step reads the chains as they stand after the earlier steps here
        t = ts[i]
        bits = np.int64(0)
        e = j
        while e < total and ts[order[e]] == t and user[order[e]] == user[i] and brand[order[e]] == brand[i]:
            bits |= mask[order[e]]
            e += 1
        for k in range(n):
            if not (bits >> k) & 1:
                continue
            if k == 0:
                start[0] = t if not has[0] else max(start[0], t)
                has[0] = True
                if np.isnan(minutes[p, 0]):
                    minutes[p, 0] = 0.0
            elif has[k - 1] and (window < 0 or t - start[k - 1] <= window):
                s = start[k - 1]
                start[k] = s if not has[k] else max(start[k], s)
                has[k] = True
                if np.isnan(minutes[p, k]):
                    minutes[p, k] = (t / 1e6 - s / 1e6) / 60.0
                    level[p] = max(level[p], k + 1)
            if k == 0:
                level[p] = max(level[p], 1)
        j = e
    return o_user, o_brand, level, minutes


def funnel_levels(order: np.ndarray, user: np.ndarray, brand: np.ndarray, ts: np.ndarray, mask: np.ndarray, *,
                  n_steps: int, window: int | None) -> dict[str, np.ndarray]:
    """The plain ``windowFunnel`` of every (user, brand) pair of the sorted events: ``user``, ``brand``,
    ``level`` and ``minutes`` (pairs x steps; NaN where not reached). ``mask`` holds bit ``k`` for an event
    of step ``k + 1``; ``window`` in microseconds (None: no limit)."""
    u, b, level, minutes = _funnel(order, user, brand, ts, mask, int(n_steps),
                                   -1 if window is None else int(window))
    return {"user": u, "brand": b, "level": level, "minutes": minutes}
