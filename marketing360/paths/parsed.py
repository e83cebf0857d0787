"""Path tables parsed into integer arrays: the in-memory form the path models (Markov, Shapley) compute on.

A path table is small next to the events behind it (one row per distinct
path), so it is fetched once from the engine, split with Arrow, and the
models work on integer codes: no Python loop over paths.

Examples
--------
>>> import pandas as pd
>>> p = parse_paths(pd.DataFrame({"path": ["b > a > a", "c"], "conversions": [1.0, 0.0],
...                               "value": [9.0, 0.0], "nulls": [2.0, 1.0]}))
>>> p.channels, p.codes.tolist(), p.offsets.tolist()
(['a', 'b', 'c'], [1, 0, 0, 2], [0, 3, 4])
>>> p.masks().tolist()
[3, 4]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ParameterError
from ..schema import PATH_SEP

__all__ = ["ParsedPaths", "parse_paths", "parse_journeys", "States", "chain_states"]


@dataclass
class ParsedPaths:
    """Distinct paths as channel codes.

    Attributes
    ----------
    channels : list of str
        Sorted channel names; code ``i`` is ``channels[i]``.
    codes : numpy.ndarray
        The channel code of every position of every path, paths one after another.
    offsets : numpy.ndarray
        Path ``p`` occupies ``codes[offsets[p]:offsets[p + 1]]``.
    paths : numpy.ndarray
        The path strings.
    conversions, nulls, value : numpy.ndarray
        The path table's counts per path.
    """

    channels: list[str]
    codes: np.ndarray
    offsets: np.ndarray
    paths: np.ndarray
    conversions: np.ndarray
    nulls: np.ndarray
    value: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def path_of(self) -> np.ndarray:
        """The path index of every position."""
        return np.repeat(np.arange(len(self.lengths)), self.lengths)

    def masks(self) -> np.ndarray:
        """The channel set of each path as a bit mask (bit ``i`` = ``channels[i]``); at most 63 channels."""
        if len(self.channels) > 63:
            raise ParameterError(f"{len(self.channels)} channels; channel-set masks hold at most 63 "
                                 "(group rare channels together first)")
        bits = np.left_shift(np.int64(1), self.codes.astype(np.int64))
        return np.bitwise_or.reduceat(bits, self.offsets[:-1]) if len(bits) else np.zeros(0, np.int64)

    def first_entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(path, channel code, entry position) of each distinct channel of each path, 1 = first to appear."""
        path = self.path_of()
        key = path.astype(np.int64) * max(len(self.channels), 1) + self.codes
        _, first = np.unique(key, return_index=True)  # the first position of each (path, channel)
        first = np.sort(first)  # in path order, then position order
        p = path[first]
        starts = np.r_[0, np.flatnonzero(np.diff(p)) + 1]
        rank = np.arange(len(first)) - np.repeat(starts, np.diff(np.r_[starts, len(first)]))
        return p, self.codes[first], rank + 1


def parse_paths(frame: pd.DataFrame) -> ParsedPaths:
    """Parse a canonical path table (``path, conversions, value, nulls``; paths joined by ``" > "``)."""
    if frame.empty:
        raise ParameterError("the path table is empty: the journeys have no touchpoints")
    parts = pc.split_pattern(pa.array(frame["path"].astype(str).to_numpy(), pa.string()), PATH_SEP)
    flat = parts.flatten()
    enc = pc.dictionary_encode(flat).combine_chunks() if isinstance(flat, pa.ChunkedArray) else \
        pc.dictionary_encode(flat)
    names = np.asarray(enc.dictionary.to_pylist(), dtype=object)
    order = np.argsort(names.astype(str), kind="stable")
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    codes = rank[np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)]
    offsets = np.asarray(parts.offsets.to_numpy(), dtype=np.int64)
    def col(name: str) -> np.ndarray:
        return frame[name].fillna(0.0).to_numpy(dtype=float) if name in frame else np.zeros(len(frame))
    return ParsedPaths([str(n) for n in names[order]], codes, offsets, frame["path"].to_numpy(),
                       col("conversions"), col("nulls"), col("value"))


def parse_journeys(journeys: Any, *, what: str) -> ParsedPaths:
    """The path table of ``journeys`` (paths of zero weight left out), fetched and parsed; ``what`` names the
    method in errors."""
    from .journeys import Journeys

    if not isinstance(journeys, Journeys):
        raise ParameterError(f"journeys must be a Journeys (from journeys() or from_paths()); "
                             f"found {type(journeys).__name__}")
    table = journeys.paths().table()
    table = table[(table.conversions + table.nulls) > 0]
    if table.empty:
        raise ParameterError(f"{what}: the journeys have no touchpoints")
    return parse_paths(table)


@dataclass
class States:
    """The states of an order-``k`` Markov chain over parsed paths and where each path goes.

    A state is a window of ``k`` consecutive channels sliding one touch at a
    time (a path shorter than ``k`` is one state), and a state equal to the one
    before it is merged, as in ChannelAttribution.

    Attributes
    ----------
    names : list of str
        State names (channels joined by ``"\\x1f"`` for ``k > 1``); the start state is not listed.
    members : numpy.ndarray
        ``states x channels``: whether the state holds the channel.
    edge_from, edge_to : numpy.ndarray
        The distinct moves; ``len(names)`` stands for the start state.
    move_edge, move_path : numpy.ndarray
        Every move of every path: which edge it takes and which path it belongs to.
    last : numpy.ndarray
        The last state of each path (where it converts or ends).
    """

    names: list[str]
    members: np.ndarray
    edge_from: np.ndarray
    edge_to: np.ndarray
    move_edge: np.ndarray
    move_path: np.ndarray
    last: np.ndarray

    def edge_weights(self, per_path: np.ndarray) -> np.ndarray:
        """Each edge's total weight when path ``p`` weighs ``per_path[p]``."""
        return np.bincount(self.move_edge, per_path[self.move_path], len(self.edge_from))


#: key spaces up to this size are mapped with an array instead of a sort
_DENSE = 1 << 24


def _dense_ids(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)`` for non-negative keys below ``size``: sorted, without sorting."""
    if size <= _DENSE:
        seen = np.zeros(size, dtype=bool)
        seen[keys] = True
        uniq = np.flatnonzero(seen)
        ids = np.cumsum(seen) - 1
        return uniq, ids[keys]
    uniq, inverse = np.unique(keys, return_inverse=True)
    return uniq, inverse.ravel()


def chain_states(p: ParsedPaths, order: int, *, sep: str = "\x1f") -> States:
    """The order-``order`` states of every path and the moves between them (see :class:`States`)."""
    if (p.lengths == 0).any():
        raise ParameterError("a path has no channel")
    path = p.path_of()
    if order == 1:  # a state is a channel: no windows to build
        return _link(p, np.arange(len(p.channels), dtype=np.int64)[:, None], p.codes.astype(np.int64), path, sep)
    pos = np.arange(len(p.codes)) - p.offsets[path]
    length = p.lengths[path]
    keep = (pos >= order - 1) | ((length < order) & (pos == length - 1))
    at = np.flatnonzero(keep)
    # the window of `order` channels ending at each kept position (fewer for a path shorter than the
    # order), oldest first; -1 where the path has no channel that far back
    window = np.full((len(at), order), -1, dtype=np.int64)
    for m in range(order):
        ok = pos[at] >= m
        window[ok, order - 1 - m] = p.codes[at[ok] - m]
    wpath = path[at]
    base = len(p.channels) + 1
    if base ** order < 2 ** 62:  # one integer per window
        code = np.zeros(len(at), dtype=np.int64)
        for col in range(order):
            code = code * base + (window[:, col] + 1)
        ucode, sid = _dense_ids(code, base ** order)
        uniq = np.empty((len(ucode), order), dtype=np.int64)
        rest = ucode.copy()
        for col in range(order - 1, -1, -1):
            uniq[:, col] = rest % base - 1
            rest //= base
    else:
        uniq, sid = np.unique(window, axis=0, return_inverse=True)
        sid = sid.ravel()
    return _link(p, uniq, sid, wpath, sep)


def _link(p: ParsedPaths, uniq: np.ndarray, sid: np.ndarray, wpath: np.ndarray, sep: str) -> States:
    """The moves between the states ``sid`` of each path (``wpath``), states ``uniq`` (channel codes, -1 none)."""
    order = uniq.shape[1]
    # merge a state equal to the one before it in the same path
    same = np.r_[False, (sid[1:] == sid[:-1]) & (wpath[1:] == wpath[:-1])]
    sid, wpath = sid[~same], wpath[~same]
    first = np.r_[True, wpath[1:] != wpath[:-1]]
    start = len(uniq)
    prev = np.where(first, start, np.r_[start, sid[:-1]])
    edges, eid = _dense_ids(prev.astype(np.int64) * (start + 1) + sid, (start + 1) ** 2)
    last = sid[np.r_[wpath[1:] != wpath[:-1], True]]  # every path has a state, in path order
    members = np.zeros((len(uniq), len(p.channels)), dtype=bool)
    rows = np.repeat(np.arange(len(uniq)), order)
    flat = uniq.ravel()
    members[rows[flat >= 0], flat[flat >= 0]] = True
    names = [sep.join(p.channels[c] for c in row if c >= 0) for row in uniq]
    return States(names, members, edges // (start + 1), edges % (start + 1), eid, wpath, last)
