"""In-process kernels of the shopping-path analyses: one sort and one pass over columns, compiled by numba.

DuckDB sorts the events once per window it evaluates, and a session number
needs two (a ``lag`` and a running sum): on 100M events that alone takes
40 s on 2 cores. These kernels read the events' columns once, pack each
event's time and tie order (and brand, when grouped by consumer) into one
int64 *word*, sort the words (a counting sort into a few thousand buckets of
consumer x brand pairs, then each bucket by numpy's vectorised sort of
(pair, word) keys: no pass writes at random over the whole table, so logs
stored in time order or in no order cost about what logs stored by consumer
do), and walk them once in memory order. The DuckDB engine serves the
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
>>> srt = sort_events(user, brand, ts, tie, n_users=2, n_brands=1)
>>> {k: v.tolist() for k, v in decode(srt).items()}
{'key': [0, 0, 1, 1], 'ts': [10, 10, 20, 50], 'tie': [1, 2, 0, 0]}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numba.core import types
from numba.extending import overload

__all__ = ["SortedEvents", "sort_events", "decode", "tie_order", "cut_sessions", "path_ids", "path_users",
           "funnel_levels", "user_codes"]

#: microseconds per day: a session with ``by_day`` ends at midnight (UTC)
_US_PER_DAY = 86_400_000_000
#: the sort's first pass writes into 2**_BUCKET_BITS buckets of groups (its writes then go to a few thousand
#: places at a time, which the caches hold), or up to 2**_MAX_BUCKET_BITS when its words are wide
_BUCKET_BITS = 12
_MAX_BUCKET_BITS = 16


@dataclass(frozen=True)
class SortedEvents:
    """Events sorted by (user, brand, ts, tie), as :func:`sort_events` returns them.

    Attributes
    ----------
    bounds : ndarray
        The events of group ``g`` lie at ``bounds[g]:bounds[g + 1]``; a group is a (user, brand) pair (``g =
        user * n_brands + brand``), or a user when ``mult`` > 1.
    word : ndarray
        Each event's brand part, time and tie packed in one int64 (or the rank of that triple), in order.
    mult : int
        An event's key ``user * n_brands + brand`` is ``g * mult`` + its brand part (0 when grouped by pair).
    layout : ndarray
        How a word reads back: ``[ranked, tie_bits, ts_bits, ts_offset, tie_offset]``.
    tables : tuple of ndarray or None
        For ranked words, the brand part, time and tie of each rank (None for packed words).
    values : ndarray
        The values of the events :func:`sort_events` was asked to keep, in their sorted order.
    """

    bounds: np.ndarray
    word: np.ndarray
    mult: int
    layout: np.ndarray
    tables: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    values: np.ndarray


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


def _fields(w: int, layout: np.ndarray, tables: Any) -> tuple[int, int, int]:  # pragma: no cover - compiled
    """A word's brand part, time and tie: the name numba's ``overload`` below implements, for compiled code
    only (Python reads words through :func:`decode`)."""
    raise NotImplementedError


@overload(_fields, inline="always")
def _fields_impl(w, layout, tables):  # pragma: no cover - compiled
    # one version per kind of word, chosen when compiling: a branch between the two inside the walks' loops
    # keeps LLVM from optimising them (a pass over 100M words took 8 s instead of 0.2 s)
    if isinstance(tables, types.NoneType):
        def packed(w, layout, tables):
            tb, tsb = layout[1], layout[2]
            one = np.int64(1)
            return w >> (tb + tsb), ((w >> tb) & ((one << tsb) - 1)) + layout[3], (w & ((one << tb) - 1)) + layout[4]
        return packed

    def ranked(w, layout, tables):
        return tables[0][w], tables[1][w], tables[2][w]
    return ranked


@numba.njit(cache=True)
def _pack(user: np.ndarray, brand: np.ndarray, ts: np.ndarray, tie: np.ndarray, n_brands: int, by_pair: bool,
          layout: np.ndarray, group: np.ndarray, word: np.ndarray) -> None:  # pragma: no cover - compiled
    tb, tsb, t0, lo = layout[1], layout[2], layout[3], layout[4]
    for i in range(len(user)):
        sub = np.int64(0)
        if by_pair:
            group[i] = user[i] * n_brands + brand[i]
        else:
            group[i] = user[i]
            sub = np.int64(brand[i])
        word[i] = (((sub << tsb) | (np.int64(ts[i]) - t0)) << tb) | (np.int64(tie[i]) - lo)


@numba.njit(cache=True)
def _bucket_edges(group: np.ndarray, n_groups: int, shift: int) -> np.ndarray:  # pragma: no cover - compiled
    """Where each bucket of ``2**shift`` consecutive groups starts in a stable counting sort (and the end)."""
    n_buckets = ((n_groups - 1) >> shift) + 1
    edge = np.zeros(n_buckets + 1, np.int64)
    for i in range(len(group)):
        edge[(group[i] >> shift) + 1] += 1
    for b in range(n_buckets):
        edge[b + 1] += edge[b]
    return edge


@numba.njit(cache=True)
def _buckets(group: np.ndarray, word: np.ndarray, n_groups: int, shift: int,
             bits: int) -> tuple:  # pragma: no cover - compiled
    """A stable counting sort into buckets of ``2**shift`` groups; each event's key is its group within the
    bucket and its word, side by side (``bits`` of word). Returns the keys and the buckets' bounds."""
    n = len(group)
    edge = _bucket_edges(group, n_groups, shift)
    fill = edge[:-1].copy()
    key = np.empty(n, np.int64)
    local = (np.int64(1) << shift) - 1
    for i in range(n):
        g = np.int64(group[i])
        at = g >> shift
        key[fill[at]] = ((g & local) << bits) | word[i]
        fill[at] += 1
    return key, edge


@numba.njit(cache=True)
def _unkey(key: np.ndarray, edge: np.ndarray, n_groups: int, shift: int,
           bits: int) -> np.ndarray:  # pragma: no cover - compiled
    """The words back from the sorted keys of :func:`_buckets` (in place), and the groups' bounds."""
    bounds = np.zeros(n_groups + 1, np.int64)
    mask = (np.int64(1) << bits) - 1
    for b in range(len(edge) - 1):
        base = b << shift
        for p in range(edge[b], edge[b + 1]):
            bounds[base + (key[p] >> bits) + 1] += 1
            key[p] &= mask
    for g in range(n_groups):
        bounds[g + 1] += bounds[g]
    return bounds


@numba.njit(cache=True)
def _scatter(group: np.ndarray, word: np.ndarray, n_groups: int, shift: int) -> tuple:  # pragma: no cover
    """A stable counting sort of ``word`` by ``group`` in two passes (first into buckets of ``2**shift`` groups,
    then within each bucket): the sorted words and the groups' bounds."""
    n = len(group)
    edge = _bucket_edges(group, n_groups, shift)
    tg = np.empty(n, group.dtype)
    tw = np.empty(n, np.int64)
    for i in range(n):
        b = group[i] >> shift
        tg[edge[b]], tw[edge[b]] = group[i], word[i]
        edge[b] += 1
    bounds = np.zeros(n_groups + 1, np.int64)
    for i in range(n):
        bounds[tg[i] + 1] += 1
    for g in range(n_groups):
        bounds[g + 1] += bounds[g]
    fill = bounds[:-1].copy()
    out = np.empty(n, np.int64)
    for i in range(n):
        g = tg[i]
        out[fill[g]] = tw[i]
        fill[g] += 1
    return out, bounds


@numba.njit(cache=True)
def _sort_groups(word: np.ndarray, bounds: np.ndarray) -> None:  # pragma: no cover - compiled
    for g in range(len(bounds) - 1):
        lo, hi = bounds[g], bounds[g + 1]
        for j in range(lo + 1, hi):
            if word[j - 1] > word[j]:
                if hi - lo > 48:
                    word[lo:hi].sort()
                else:  # a consumer's few events: in place, in the cache
                    for i in range(j, hi):
                        w = word[i]
                        k = i
                        while k > lo and word[k - 1] > w:
                            word[k] = word[k - 1]
                            k -= 1
                        word[k] = w
                break


def sort_events(user: np.ndarray, brand: np.ndarray, ts: np.ndarray, tie: np.ndarray, *, n_users: int,
                n_brands: int = 1, value: np.ndarray | None = None,
                keep: np.ndarray | None = None) -> SortedEvents:
    """The events in (user, brand, ts, tie) order, as a :class:`SortedEvents` (read back by :func:`decode`).

    Each event becomes one int64 word: its brand (when grouped by user), its time from the earliest and its tie
    from the smallest, packed side by side when their bits fit in 63; otherwise the rank of the triple among the
    distinct ones (one global sort, for times spanning thousands of years or ties of many bits). Events are
    grouped by (user, brand) pair when there are not many more pairs than events, else by user. A stable
    counting sort puts them into buckets of consecutive groups, and numpy sorts each bucket's keys: group within
    the bucket and word side by side in one int64. Words too wide for that are sorted by a counting sort on the
    group and then each group's words (unless in order already).

    ``value`` (with ``keep``, a boolean mask of the events to keep): the values of those events, in the sorted
    order, as ``values`` (events equal in user, brand, time and tie come in any order among themselves).
    """
    n_users, n_brands = int(n_users), max(int(n_brands), 1)
    n = len(user)
    by_pair = n_users * n_brands <= max(4 * n, 1 << 22)
    n_groups = max(n_users * n_brands if by_pair else n_users, 1)
    group = np.empty(n, np.int32 if n_groups < 2**31 else np.int64)
    t0, lo, ts_bits, tie_bits = 0, 0, 0, 0
    if n:
        t0, lo = int(ts.min()), int(tie.min())
        ts_bits, tie_bits = (int(ts.max()) - t0).bit_length(), (int(tie.max()) - lo).bit_length()
    sub_bits = 0 if by_pair else (n_brands - 1).bit_length()
    if sub_bits + ts_bits + tie_bits <= 63:
        layout = np.array([0, tie_bits, ts_bits, t0, lo], np.int64)
        word = np.empty(n, np.int64)
        _pack(user, brand, ts, tie, n_brands, by_pair, layout, group, word)
        tables = None
    else:  # rank the distinct (brand part, time, tie) triples
        layout = np.array([1, 0, 0, 0, 0], np.int64)
        sub = np.zeros(n, np.int64) if by_pair else brand.astype(np.int64)
        group[:] = user * n_brands + brand if by_pair else user
        o = np.lexsort((tie, ts, sub))
        s, t, c = sub[o], ts[o].astype(np.int64), tie[o].astype(np.int64)
        new = np.ones(n, bool)
        new[1:] = (s[1:] != s[:-1]) | (t[1:] != t[:-1]) | (c[1:] != c[:-1])
        word = np.empty(n, np.int64)
        word[o] = np.cumsum(new) - 1
        tables = (s[new], t[new], c[new])
    values = np.zeros(0, np.float64)
    if value is not None:
        idx = np.arange(n) if keep is None else np.flatnonzero(keep)
        values = np.asarray(value, np.float64)[idx[np.lexsort((word[idx], group[idx]))]]
    del user, brand, ts, tie, value, keep  # the caller's last references to its columns may go now
    word_bits = sub_bits + ts_bits + tie_bits if tables is None else (len(tables[0]) - 1).bit_length()
    group_bits = (n_groups - 1).bit_length()
    bucket_bits = max(_BUCKET_BITS, group_bits - (63 - word_bits))
    if bucket_bits <= _MAX_BUCKET_BITS:
        # each bucket's keys (group within the bucket, word) sorted by numpy's vectorised sort
        shift = max(group_bits - bucket_bits, 0)
        out, edge = _buckets(group, word, n_groups, shift, word_bits)
        del group, word
        for a, b in zip(edge[:-1].tolist(), edge[1:].tolist()):
            if b - a > 1:
                out[a:b].sort()
        bounds = _unkey(out, edge, n_groups, shift, word_bits)
    else:  # words too wide to share an int64 with their group: a counting sort, then each group's words
        out, bounds = _scatter(group, word, n_groups, max(group_bits - _BUCKET_BITS, 0))
        del group, word
        _sort_groups(out, bounds)
    return SortedEvents(bounds, out, 1 if by_pair else n_brands, layout, tables, values)


@numba.njit(cache=True)
def _decode(word: np.ndarray, bounds: np.ndarray, mult: int, layout: np.ndarray,
            tables: Any) -> tuple:  # pragma: no cover - compiled
    n = len(word)
    key, ts, tie = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    for g in range(len(bounds) - 1):
        for j in range(bounds[g], bounds[g + 1]):
            s, t, c = _fields(word[j], layout, tables)
            key[j], ts[j], tie[j] = g * mult + s, t, c
    return key, ts, tie


@numba.njit(cache=True)
def _ties_of(word: np.ndarray, layout: np.ndarray, tables: Any) -> np.ndarray:  # pragma: no cover - compiled
    out = np.empty(len(word), np.int64)
    for j in range(len(word)):
        out[j] = _fields(word[j], layout, tables)[2]
    return out


def decode(srt: SortedEvents) -> dict[str, np.ndarray]:
    """The sorted events' ``key`` (``user * n_brands + brand``), ``ts`` and ``tie``, in their order."""
    return dict(zip(("key", "ts", "tie"), _decode(srt.word, srt.bounds, srt.mult, srt.layout, srt.tables)))


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
def _sessions(bounds: np.ndarray, word: np.ndarray, mult: int, layout: np.ndarray, tables: Any,
              tie0: int, code_of: np.ndarray, converts: np.ndarray, values: np.ndarray, gap: int,
              by_day: bool, bits: int, per_word: int) -> tuple:  # pragma: no cover - compiled
    n = len(word)
    start = np.empty(n, np.int64)
    s_key = np.empty(n, np.int64)
    path = np.empty(n, np.int64)
    steps = np.empty(n, np.int64)
    converted = np.empty(n, np.bool_)
    val = np.empty(n, np.float64)
    m = -1
    w, k, cv, v = 0, 0, False, 0.0
    nv = 0  # the next conversion's value
    for g in range(len(bounds) - 1):
        ps, pt = -1, 0
        for j in range(bounds[g], bounds[g + 1]):
            s, t, c = _fields(word[j], layout, tables)
            new = j == bounds[g] or s != ps
            if not new:
                if gap >= 0 and t - pt > gap:
                    new = True
                elif by_day and t // _US_PER_DAY != pt // _US_PER_DAY:
                    new = True
            if new:
                if m >= 0:
                    path[m], steps[m], converted[m], val[m] = w, k, cv, v
                m += 1
                start[m], s_key[m] = j, g * mult + s
                w, k, cv, v = 0, 0, False, 0.0
            code = code_of[c - tie0]
            if code >= 0:
                if k < per_word:
                    w |= (code + 1) << (bits * k)
                k += 1
            if converts[c - tie0]:
                cv = True
                v += values[nv]
                nv += 1
            ps, pt = s, t
    if m >= 0:
        path[m], steps[m], converted[m], val[m] = w, k, cv, v
    m += 1
    # views: the pages past m were never written, so they hold no memory
    return start[:m], s_key[:m], path[:m], steps[:m], converted[:m], val[:m]


def cut_sessions(srt: SortedEvents, *, conversion: int, gap: int | None, by_day: bool, n_labels: int,
                 n_brands: int) -> dict[str, np.ndarray]:
    """Sessions of the events sorted by :func:`sort_events` with the ties of :func:`tie_order` (funnel place,
    then label code) and the values of the conversions (the events of funnel place ``conversion``) kept: per
    session ``start`` (its first position), ``user``, ``steps`` (events with a label), ``word`` (the first
    steps' codes packed, ``bits`` each), ``converted``, ``value`` (of its conversions), and ``bits`` /
    ``per_word``."""
    bits = max(int(n_labels).bit_length(), 1)  # codes + 1 in 1..n_labels; 0 ends a word
    per_word = 63 // bits
    # each tie's label code and whether it converts (the tie is funnel place * size + code + 1): looked up, not
    # divided, per event
    size = int(n_labels) + 1
    if srt.tables is None:
        tie0, tie1 = int(srt.layout[4]), int(srt.layout[4]) + (1 << int(srt.layout[1])) - 1
    else:
        tie0, tie1 = int(srt.tables[2].min(initial=0)), int(srt.tables[2].max(initial=0))
    ties = np.arange(tie0, tie1 + 1)
    start, key, word, steps, converted, val = _sessions(
        srt.bounds, srt.word, srt.mult, srt.layout, srt.tables, tie0, ties % size - 1, ties // size == conversion,
        srt.values, -1 if gap is None else int(gap), bool(by_day), bits, per_word)
    return {"start": start, "user": key // max(int(n_brands), 1), "word": word, "steps": steps,
            "converted": converted, "value": val, "bits": np.int64(bits), "per_word": np.int64(per_word)}


def path_ids(sess: dict[str, np.ndarray], srt: SortedEvents, labels: list[str], sep: str,
             empty: str) -> tuple[np.ndarray, list[str]]:
    """Each session's path as an integer id, and the path string of each id (``empty`` for no steps).

    Paths of at most ``per_word`` steps are told apart by their packed word; longer ones by their whole code
    sequence (exact, no hashing), read off the sorted events' ties (:func:`cut_sessions`).
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
        ends = np.append(starts[1:], len(srt.word))
        seen: dict[bytes, int] = {}
        long_ids = []
        for s in np.flatnonzero(long).tolist():
            tie = _ties_of(srt.word[starts[s]:ends[s]], srt.layout, srt.tables)
            c = tie % (len(labels) + 1) - 1  # funnel place * size + code + 1
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
def _funnel(bounds: np.ndarray, word: np.ndarray, mult: int, layout: np.ndarray, tables: Any, n: int,
            window: int) -> tuple:  # pragma: no cover - compiled
    pairs = 0
    for g in range(len(bounds) - 1):
        ps = -1
        for j in range(bounds[g], bounds[g + 1]):
            s = _fields(word[j], layout, tables)[0]
            if j == bounds[g] or s != ps:
                pairs += 1
            ps = s
    o_key = np.empty(pairs, np.int64)
    level = np.zeros(pairs, np.int64)
    minutes = np.full((pairs, n), np.nan)
    start = np.zeros(n, np.int64)  # per step: the latest start of a chain that reached it
    has = np.zeros(n, np.bool_)
    p = -1
    for g in range(len(bounds) - 1):
        hi = bounds[g + 1]
        j = bounds[g]
        ps = -1
        while j < hi:
            s, t, c = _fields(word[j], layout, tables)
            if j == bounds[g] or s != ps:
                p += 1
                o_key[p] = g * mult + s
                has[:] = False
                ps = s
            # the events at this instant: each step reads the chains as they stand after the earlier steps here
            mask = c
            e = j + 1
            while e < hi:
                s2, t2, c2 = _fields(word[e], layout, tables)
                if s2 != s or t2 != t:
                    break
                mask |= c2
                e += 1
            for k in range(n):
                if not (mask >> k) & 1:
                    continue
                if k == 0:
                    start[0] = t if not has[0] else max(start[0], t)
                    has[0] = True
                    if np.isnan(minutes[p, 0]):
                        minutes[p, 0] = 0.0
                    level[p] = max(level[p], 1)
                elif has[k - 1] and (window < 0 or t - start[k - 1] <= window):
                    st = start[k - 1]
                    start[k] = st if not has[k] else max(start[k], st)
                    has[k] = True
                    if np.isnan(minutes[p, k]):
                        minutes[p, k] = (t / 1e6 - st / 1e6) / 60.0
                        level[p] = max(level[p], k + 1)
            j = e
    return o_key, level, minutes


def funnel_levels(srt: SortedEvents, *, n_steps: int, window: int | None, n_brands: int) -> dict[str, np.ndarray]:
    """The plain ``windowFunnel`` of every (user, brand) pair of the events sorted by :func:`sort_events` with
    their step masks as ties (bit ``k``: the event matches step ``k + 1``): ``user``, ``brand``, ``level`` and
    ``minutes`` (pairs x steps; NaN where not reached); ``window`` in microseconds (None: no limit)."""
    key, level, minutes = _funnel(srt.bounds, srt.word, srt.mult, srt.layout, srt.tables, int(n_steps),
                                  -1 if window is None else int(window))
    nb = max(int(n_brands), 1)
    return {"user": key // nb, "brand": key % nb, "level": level, "minutes": minutes}
