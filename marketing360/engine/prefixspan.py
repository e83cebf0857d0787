"""PrefixSpan in process: the frequent sequential patterns of sequences of itemsets, with Spark MLlib's semantics.

For the engines without a native PrefixSpan (DuckDB); Spark uses MLlib's. The
semantics are MLlib's (``pyspark.ml.fpm.PrefixSpan``): a pattern is a sequence
of itemsets; a sequence supports it when the pattern's itemsets are subsets of
its itemsets in order; a pattern is frequent when at least
``ceil(min_support * number of sequences)`` sequences support it (every
sequence counts, empty ones too); a pattern's length is its number of items,
at most ``max_pattern_length``. Items within an itemset are a set (sorted,
repeats dropped).

The algorithm is Pei et al.'s PrefixSpan with pseudo-projection: each
projected database holds, per supporting sequence, where the earliest match
of the prefix ends; a prefix grows by an item in a new itemset (any item after
that point) or by an item in its last itemset (an item after the match in the
same itemset, or in a later itemset that holds the whole last itemset).

Examples
--------
>>> seqs = [[["a"], ["b", "c"]], [["a"], ["c"]], [["b"]]]
>>> sorted((tuple(map(tuple, p)), f) for p, f in prefixspan(seqs, min_support=0.5, max_pattern_length=5))
[((('a',),), 2), ((('a',), ('c',)), 2), ((('b',),), 2), ((('c',),), 2)]
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import Any

from ..errors import ParameterError

__all__ = ["prefixspan", "check_prefixspan_args", "min_count", "sequences_of"]

Pattern = list[list[Any]]


def check_prefixspan_args(min_support: Any, max_pattern_length: Any) -> None:
    """Raise a clear error for a support outside [0, 1] or a maximal length below 1."""
    if isinstance(min_support, bool) or not isinstance(min_support, (int, float)) or not 0 <= min_support <= 1:
        raise ParameterError(f"min_support must be a share of sequences in [0, 1]; found {min_support!r}")
    if isinstance(max_pattern_length, bool) or not isinstance(max_pattern_length, int) or max_pattern_length < 1:
        raise ParameterError(f"max_pattern_length must be a whole number >= 1; found {max_pattern_length!r}")


def min_count(min_support: float, n_sequences: int) -> int:
    """The fewest supporting sequences of a frequent pattern, computed as MLlib does (same floating point)."""
    return 0 if min_support == 0 else math.ceil(min_support * n_sequences)


def prefixspan(sequences: Sequence[Sequence[Sequence[Hashable]]], *, min_support: float,
               max_pattern_length: int = 10) -> list[tuple[Pattern, int]]:
    """Every frequent sequential pattern of ``sequences`` (lists of itemsets) with its number of sequences.

    Returns
    -------
    list of (pattern, freq)
        Patterns as lists of itemsets (each a sorted list of items), in no particular order.
    """
    check_prefixspan_args(min_support, max_pattern_length)
    need = max(min_count(float(min_support), len(sequences)), 1)
    # items as integers in sorted order: itemsets are sorted tuples without repeats, empty itemsets dropped
    items = sorted({x for seq in sequences for its in seq for x in its}, key=_sort_key)
    code = {x: i for i, x in enumerate(items)}
    db = [tuple(tuple(sorted({code[x] for x in its})) for its in seq if len(its)) for seq in sequences]
    out: list[tuple[Pattern, int]] = []
    root = [(s, -1, -1) for s in range(len(db)) if db[s]]
    stack: list[tuple[tuple[tuple[int, ...], ...], list[tuple[int, int, int]], int]] = [((), root, 0)]
    while stack:
        prefix, projected, length = stack.pop()
        last = prefix[-1] if prefix else ()
        s_count: dict[int, int] = defaultdict(int)
        i_count: dict[int, int] = defaultdict(int)
        for sid, i, j in projected:
            seq = db[sid]
            s_seen: set[int] = set()
            i_seen: set[int] = set(seq[i][j + 1:]) if i >= 0 else set()
            for k in range(i + 1, len(seq)):
                its = seq[k]
                s_seen.update(its)
                if last and its[-1] > last[-1] and set(last).issubset(its):
                    i_seen.update(x for x in its if x > last[-1])
            for x in s_seen:
                s_count[x] += 1
            for x in i_seen:
                i_count[x] += 1
        for x, f in s_count.items():
            if f >= need:
                pattern = (*prefix, (x,))
                out.append((_decode(pattern, items), f))
                if length + 1 < max_pattern_length:
                    stack.append((pattern, _project_s(db, projected, x), length + 1))
        for x, f in i_count.items():
            if f >= need:
                pattern = (*prefix[:-1], (*last, x))
                out.append((_decode(pattern, items), f))
                if length + 1 < max_pattern_length:
                    stack.append((pattern, _project_i(db, projected, last, x), length + 1))
    return out


def sequences_of(sequence: Any, itemset: Any, item: Any) -> list[list[list[Any]]]:
    """Sequences of itemsets from three aligned arrays of item rows sorted by sequence, then itemset."""
    out: list[list[list[Any]]] = []
    prev_seq, prev_set = object(), object()
    for s, k, x in zip(sequence, itemset, item):
        if s != prev_seq:
            out.append([[x]])
            prev_seq, prev_set = s, k
        elif k != prev_set:
            out[-1].append([x])
            prev_set = k
        else:
            out[-1][-1].append(x)
    return out


def _sort_key(x: Any) -> tuple[str, Any]:
    return (type(x).__name__, x)


def _decode(pattern: tuple[tuple[int, ...], ...], items: list[Any]) -> Pattern:
    return [[items[x] for x in its] for its in pattern]


def _project_s(db: list[tuple[tuple[int, ...], ...]], projected: list[tuple[int, int, int]], x: int
               ) -> list[tuple[int, int, int]]:
    """Where the prefix grown by ``x`` in a new itemset first matches, per supporting sequence."""
    out = []
    for sid, i, _ in projected:
        seq = db[sid]
        for k in range(i + 1, len(seq)):
            if x in seq[k]:
                out.append((sid, k, seq[k].index(x)))
                break
    return out


def _project_i(db: list[tuple[tuple[int, ...], ...]], projected: list[tuple[int, int, int]], last: tuple[int, ...],
               x: int) -> list[tuple[int, int, int]]:
    """Where the prefix grown by ``x`` in its last itemset first matches, per supporting sequence."""
    out = []
    need = set(last)
    for sid, i, j in projected:
        seq = db[sid]
        if x in seq[i][j + 1:]:
            out.append((sid, i, seq[i].index(x)))
            continue
        for k in range(i + 1, len(seq)):
            its = seq[k]
            if x in its and need.issubset(its):
                out.append((sid, k, its.index(x)))
                break
    return out
