"""Randomisation inference for an estimate linear in a constant additive effect.

Reassign the units' treatment paths (who is treated when) over the units, as
a randomised design would have: the estimate under reassignment ``pi`` of the
outcome with a constant effect ``tau`` taken out of the treated cells is
``a[pi] - tau * b[pi]`` (the estimator is linear in the outcome, and ``b`` is
the estimate on the observed treatment itself, 1 for the observed
assignment). The p-value of ``tau`` is the share of reassignments whose
estimate is at least as far from 0 as the observed one (Fisher's exact test of
the sharp null "every treated cell gained ``tau``"), and the interval is
every ``tau`` with a p-value above ``alpha``: each comparison is a quadratic
inequality in ``tau``, so the set is found exactly between the roots.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np

__all__ = ["reassignments", "p_value", "invert"]


def reassignments(groups: np.ndarray, n_max: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Rows of unit indices: row ``r`` gives unit ``i`` the treatment path of unit ``rows[r, i]``.

    ``groups`` labels each unit's path (units with the same label are
    interchangeable). Every distinct assignment once when there are at most
    ``n_max`` of them (exact), else the observed one and ``n_max - 1`` random
    permutations. Returns the rows and whether they are exact.
    """
    n = len(groups)
    labels, counts = np.unique(groups, return_counts=True)
    total = math.factorial(n) // math.prod(math.factorial(int(c)) for c in counts)
    if total <= n_max:
        members = [np.flatnonzero(groups == g) for g in labels]
        rows = np.empty((total, n), dtype=np.int64)
        for r, parts in enumerate(_partitions(list(range(n)), [int(c) for c in counts])):
            for part, src in zip(parts, members):
                rows[r, list(part)] = src[0]  # a unit with the path of group g: any member carries it
        return rows, True
    rows = np.vstack([np.arange(n), np.array([rng.permutation(n) for _ in range(n_max - 1)])])
    return rows, False


def _partitions(items: list[int], sizes: list[int]) -> Iterator[list[tuple[int, ...]]]:
    """Every split of ``items`` into ordered groups of the given sizes."""
    if not sizes:
        yield []
        return
    for first in itertools.combinations(items, sizes[0]):
        rest = [i for i in items if i not in first]
        for tail in _partitions(rest, sizes[1:]):
            yield [first, *tail]


def _extreme(a: np.ndarray, b: np.ndarray, a_obs: float, tau: np.ndarray) -> np.ndarray:
    """Per ``tau``, how many reassignments are at least as extreme as the observed one."""
    out = np.empty(len(tau), dtype=np.int64)
    step = max(1, 4_000_000 // max(1, len(a)))
    for lo in range(0, len(tau), step):
        t = tau[lo:lo + step, None]
        gap = np.abs(a[None, :] - t * b[None, :])
        out[lo:lo + step] = (gap >= np.abs(a_obs - t) * (1 - 1e-12) - 1e-12 * (1 + np.abs(a_obs))).sum(axis=1)
    return out


def p_value(a: np.ndarray, b: np.ndarray, a_obs: float, tau: float = 0.0) -> float:
    """The randomisation p-value of the sharp null of a constant effect ``tau``."""
    return float(_extreme(a, b, a_obs, np.array([float(tau)]))[0] / len(a))


def invert(a: np.ndarray, b: np.ndarray, a_obs: float, alpha: float) -> tuple[float, float]:
    """The smallest interval holding every ``tau`` whose p-value exceeds ``alpha`` (infinite where unbounded)."""
    qa = b * b - 1.0
    qb = -2.0 * (a * b - a_obs)
    qc = a * a - a_obs * a_obs
    # |b| = 1 up to rounding (the observed assignment itself, or one giving the same estimate) is linear in tau
    eps = 1e-12 * (1.0 + np.abs(a_obs))
    flat = np.abs(qa) <= 1e-12
    lin = flat & (np.abs(qb) > eps)
    roots = [-qc[lin] / qb[lin]]
    quad = ~flat
    disc = qb[quad] ** 2 - 4 * qa[quad] * qc[quad]
    ok = disc >= 0
    sq = np.sqrt(disc[ok])
    for sign in (-1.0, 1.0):
        roots.append((-qb[quad][ok] + sign * sq) / (2 * qa[quad][ok]))
    r = np.unique(np.concatenate([*roots, [a_obs]]))
    r = r[np.isfinite(r)]
    span = 1.0 + np.abs(r).max()
    # one point inside each stretch between consecutive roots, and one beyond each end
    probe = np.concatenate([[r[0] - span], (r[:-1] + r[1:]) / 2, [r[-1] + span]])
    accepted = _extreme(a, b, a_obs, probe) / len(a) > alpha
    if not accepted.any():  # only the estimate itself passes (a p-value of 1 there)
        return a_obs, a_obs
    first, last = int(np.argmax(accepted)), len(accepted) - 1 - int(np.argmax(accepted[::-1]))
    lower = -np.inf if first == 0 else float(r[first - 1])
    upper = np.inf if last == len(accepted) - 1 else float(r[last])
    return lower, upper
