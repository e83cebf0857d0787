"""In-process kernels of the shopping-path analyses: one sort and one pass over columns, compiled by numba.

DuckDB sorts the events once per window it evaluates, and a session number
needs two (a ``lag`` and a running sum): on 100M events that alone takes
40 s on 2 cores. These kernels read the events' columns once, sort them in
memory (a counting sort by consumer x brand, then each pair's few events by
time and tie order unless they are in order already) and walk them once,
reading the sorted key and time in memory order; the DuckDB engine serves the
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
>>> sort_events(user, brand, ts, tie, n_users=2, n_brands=1)["order"].tolist()
[3, 1, 2, 0]
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

__all__ = ["sort_events", "tie_order", "cut_sessions", "path_ids", "path_users", "funnel_levels", "user_codes"]

#: microseconds per day: a session with ``by_day`` ends at midnight (UTC)
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
def _scatter(user: np.ndarray, brand: np.ndarray, ts: np.ndarray, tie: np.ndarray, n_brands: int, n_buckets: int,
             by_pair: bool) -> tuple:  # pragma: no cover - compiled
    n = len(user)
    bounds = np.zeros(n_buckets + 1, np.int64)
    for i in range(n):
        bounds[(user[i] * n_brands + brand[i] if by_pair else user[i]) + 1] += 1
    for g in range(n_buckets):
        bounds[g + 1] += bounds[g]
    fill = bounds[:-1].copy()
    order = np.empty(n, np.int64)
    key = np.empty(n, np.int64)
    sts = np.empty(n, np.int64)
    stie = np.empty(n, np.int64)
    for i in range(n):
        k = user[i] * n_brands + brand[i]
        g = k if by_pair else user[i]
        p = fill[g]
        fill[g] += 1
        order[p], key[p], sts[p], stie[p] = i, k, ts[i], tie[i]
    return order, key, sts, stie, bounds


@numba.njit(cache=True)
def _stable_by(idx: np.ndarray, col: np.ndarray, lo: int) -> np.ndarray:  # pragma: no cover - compiled
    k = np.empty(len(idx), np.int64)
    for j in range(len(idx)):
        k[j] = col[lo + idx[j]]
    return idx[np.argsort(k, kind="mergesort")]


@numba.njit(cache=True)
def _sort_groups(order: np.ndarray, key: np.ndarray, ts: np.ndarray, tie: np.ndarray, bounds: np.ndarray,
                 by_pair: bool, t0: int, tie_span: int, ties: bool) -> None:  # pragma: no cover - compiled
    for g in range(len(bounds) - 1):
        lo, hi = bounds[g], bounds[g + 1]
        if hi - lo < 2:
            continue
        in_order = True
        for j in range(lo + 1, hi):
            if key[j - 1] > key[j] or (key[j - 1] == key[j] and (
                    ts[j - 1] > ts[j] or (ties and ts[j - 1] == ts[j] and tie[j - 1] > tie[j]))):
                in_order = False
                break
        if in_order:
            continue
        m = hi - lo
        if by_pair and (tie_span > 0 or not ties):  # one key (equal keys are interchangeable: any order will do)
            k = np.empty(m, np.int64)
            for j in range(m):
                k[j] = (ts[lo + j] - t0) * tie_span + tie[lo + j] if ties else ts[lo + j]
            idx = np.argsort(k)
        else:  # stable sorts from the last key to the first
            idx = np.arange(m)
            if ties:
                idx = _stable_by(idx, tie, lo)
            idx = _stable_by(idx, ts, lo)
            idx = _stable_by(idx, key, lo)
        for col in (order, key, ts, tie):
            seg = col[lo:hi].copy()
            for j in range(m):
                col[lo + j] = seg[idx[j]]


def sort_events(user: np.ndarray, brand: np.ndarray, ts: np.ndarray, tie: np.ndarray, *, n_users: int,
                n_brands: int = 1, ties: bool = True) -> dict[str, np.ndarray]:
    """The events in (user, brand, ts, tie) order: ``order`` (their positions), ``key`` (``user * n_brands +
    brand``), ``ts`` and ``tie``, each in that order. With ``ties=False`` events at one instant come in any
    order (``tie`` is then only carried along: a payload the walk reads in memory order).

    A counting sort by (user, brand) pair when there are not many more pairs than events (else by user), then
    each group by the rest of the key unless it is in order already (one packed key where time and tie fit in
    one int64, else stable passes). The walks that follow read ``key`` and ``ts`` in memory order and fetch only
    their other columns through ``order``.
    """
    n_users, n_brands = int(n_users), max(int(n_brands), 1)
    by_pair = n_users * n_brands <= max(4 * len(user), 1 << 22)
    order, key, sts, stie, bounds = _scatter(user, brand, ts, tie, n_brands,
                                             n_users * n_brands if by_pair else n_users, by_pair)
    t0, tie_span = 0, 0
    if len(ts) and ties:  # time and tie in one int64 key when it fits
        t0, span = int(ts.min()), int(tie.max()) + 1
        if int(tie.min()) >= 0 and (int(ts.max()) - t0 + 1) * span < 2**62:
            tie_span = span
    _sort_groups(order, key, sts, stie, bounds, by_pair, t0, tie_span, bool(ties))
    return {"order": order, "key": key, "ts": sts, "tie": stie}


@numba.njit(cache=True)
def _ties(first: np.ndarray, second: np.ndarray, size: int) -> np.ndarray:  # pragma: no cover - compiled
    out = np.empty(len(first), np.int64)
    for i in range(len(first)):
        out[i] = first[i] * size + second[i] + 1
    return out


def tie_order(first: np.ndarray, second: np.ndarray, size: int) -> np.ndarray:
    """One integer that orders events by ``first``, then ``second`` (from -1 to ``size - 2``)."""
    return _ties(first, second, int(size))


@numba.njit(cache=True)
def _sessions(order: np.ndarray, key: np.ndarray, ts: np.ndarray, tie: np.ndarray, size: int, conversion: int,
              value: np.ndarray, gap: int, by_day: bool, bits: int,
              per_word: int) -> tuple:  # pragma: no cover - compiled
    n = len(order)
    start = np.empty(n, np.int64)
    s_key = np.empty(n, np.int64)
    word = np.empty(n, np.int64)
    steps = np.empty(n, np.int64)
    converted = np.empty(n, np.bool_)
    val = np.empty(n, np.float64)
    m = -1
    w, k, c, v = 0, 0, False, 0.0
    for j in range(n):
        new = j == 0
        if not new:
            if key[j] != key[j - 1]:
                new = True
            elif gap >= 0 and ts[j] - ts[j - 1] > gap:
                new = True
            elif by_day and ts[j] // _US_PER_DAY != ts[j - 1] // _US_PER_DAY:
                new = True
        if new:
            if m >= 0:
                word[m], steps[m], converted[m], val[m] = w, k, c, v
            m += 1
            start[m], s_key[m] = j, key[j]
            w, k, c, v = 0, 0, False, 0.0
        code = tie[j] % size - 1  # the tie is funnel place * size + code + 1
        if code >= 0:
            if k < per_word:
                w |= (code + 1) << (bits * k)
            k += 1
        if tie[j] // size == conversion:  # only a conversion's value is read through the order
            c = True
            v += value[order[j]]
    if m >= 0:
        word[m], steps[m], converted[m], val[m] = w, k, c, v
    m += 1
    return start[:m], s_key[:m], word[:m], steps[:m], converted[:m], val[:m]


def cut_sessions(sorted_: dict[str, np.ndarray], value: np.ndarray, *, conversion: int, gap: int | None,
                 by_day: bool, n_labels: int, n_brands: int) -> dict[str, np.ndarray]:
    """Sessions of the events sorted by :func:`sort_events` with the ties of :func:`tie_order` (funnel place,
    then label code): per session ``start`` (its first position), ``user``, ``steps`` (events with a label),
    ``word`` (the first steps' codes packed, ``bits`` each), ``converted`` (an event of funnel place
    ``conversion``), ``value`` (of those events), and ``bits`` / ``per_word``."""
    bits = max(int(n_labels).bit_length(), 1)  # codes + 1 in 1..n_labels; 0 ends a word
    per_word = 63 // bits
    start, key, word, steps, converted, val = _sessions(
        sorted_["order"], sorted_["key"], sorted_["ts"], sorted_["tie"], int(n_labels) + 1, int(conversion), value,
        -1 if gap is None else int(gap), bool(by_day), bits, per_word)
    return {"start": start, "user": key // max(int(n_brands), 1), "word": word, "steps": steps,
            "converted": converted, "value": val, "bits": np.int64(bits), "per_word": np.int64(per_word)}


def path_ids(sess: dict[str, np.ndarray], tie: np.ndarray, labels: list[str], sep: str,
             empty: str) -> tuple[np.ndarray, list[str]]:
    """Each session's path as an integer id, and the path string of each id (``empty`` for no steps).

    Paths of at most ``per_word`` steps are told apart by their packed word; longer ones by their whole code
    sequence (exact, no hashing), read off the sorted ``tie`` of :func:`cut_sessions`.
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
        starts = sess["start"]
        ends = np.append(starts[1:], len(tie))
        seen: dict[bytes, int] = {}
        long_ids = []
        for s in np.flatnonzero(long).tolist():
            c = tie[starts[s]:ends[s]] % (len(labels) + 1) - 1  # the sorted ties: funnel place, code + 1
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
def _funnel(key: np.ndarray, ts: np.ndarray, mask: np.ndarray, n: int, window: int) -> tuple:  # pragma: no cover
    total = len(key)
    pairs = 0
    for j in range(total):
        if j == 0 or key[j] != key[j - 1]:
            pairs += 1
    o_key = np.empty(pairs, np.int64)
    level = np.zeros(pairs, np.int64)
    minutes = np.full((pairs, n), np.nan)
    start = np.zeros(n, np.int64)  # per step: the latest start of a chain that reached it
    has = np.zeros(n, np.bool_)
    p = -1
    j = 0
    while j < total:
        if j == 0 or key[j] != key[j - 1]:
            p += 1
            o_key[p] = key[j]
            has[:] = False
        # the events at this instant: each step reads the chains as they stand after the earlier steps here
        t = ts[j]
        bits = np.int64(0)
        e = j
        while e < total and ts[e] == t and key[e] == key[j]:
            bits |= mask[e]
            e += 1
        for k in range(n):
            if not (bits >> k) & 1:
                continue
            if k == 0:
                start[0] = t if not has[0] else max(start[0], t)
                has[0] = True
                if np.isnan(minutes[p, 0]):
                    minutes[p, 0] = 0.0
                level[p] = max(level[p], 1)
            elif has[k - 1] and (window < 0 or t - start[k - 1] <= window):
                s = start[k - 1]
                start[k] = s if not has[k] else max(start[k], s)
                has[k] = True
                if np.isnan(minutes[p, k]):
                    minutes[p, k] = (t / 1e6 - s / 1e6) / 60.0
                    level[p] = max(level[p], k + 1)
        j = e
    return o_key, level, minutes


def funnel_levels(sorted_: dict[str, np.ndarray], *, n_steps: int, window: int | None,
                  n_brands: int) -> dict[str, np.ndarray]:
    """The plain ``windowFunnel`` of every (user, brand) pair of the events sorted by :func:`sort_events` with
    their step masks as ties (bit ``k``: the event matches step ``k + 1``; ``ties=False``): ``user``, ``brand``,
    ``level`` and ``minutes`` (pairs x steps; NaN where not reached); ``window`` in microseconds (None: no
    limit)."""
    key, level, minutes = _funnel(sorted_["key"], sorted_["ts"], sorted_["tie"], int(n_steps),
                                  -1 if window is None else int(window))
    nb = max(int(n_brands), 1)
    return {"user": key // nb, "brand": key % nb, "level": level, "minutes": minutes}
