"""Exact Shapley values of a cooperative game given the worth of every coalition.

One kernel serves the simulator's truth, Dalessandro et al.'s causal
attribution and the deep model's per-journey credits.

Examples
--------
>>> import numpy as np
>>> exact_shapley(np.array([0.0, 1.0, 2.0, 4.0])).tolist()  # v(a)=1, v(b)=2, v(ab)=4
[1.5, 2.5]
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError

__all__ = ["exact_shapley", "popcount"]


def popcount(masks: np.ndarray) -> np.ndarray:
    """Number of set bits of each non-negative integer mask (vectorised).

    Examples
    --------
    >>> popcount(np.array([0, 1, 3, 255, 2**62])).tolist()
    [0, 1, 2, 8, 1]
    """
    m = np.asarray(masks, dtype=np.int64).astype(np.uint64)
    out = np.zeros(m.shape, dtype=np.int64)
    for shift in range(0, 64, 8):
        out += _BYTE_BITS[((m >> np.uint64(shift)) & np.uint64(0xFF)).astype(np.intp)]
    return out


_BYTE_BITS = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


def exact_shapley(values: np.ndarray) -> np.ndarray:
    """Shapley values of a game on ``m`` players given every coalition's worth.

    ``values[s]`` is the worth of the coalition whose members are the set bits
    of ``s`` (``len(values) == 2**m``); returns the ``m`` Shapley values,
    ``phi_i = sum over S without i of |S|! (m-|S|-1)! / m! * (v(S + i) - v(S))``.
    They sum to ``v(all) - v(empty)``.
    """
    values = np.asarray(values, dtype=float)
    m = int(len(values)).bit_length() - 1
    if len(values) != 1 << m:
        raise ParameterError(f"values must hold 2**m coalition worths; found {len(values)}")
    idx = np.arange(1 << m)
    size = popcount(idx)
    weight = np.array([math.factorial(k) * math.factorial(m - k - 1) / math.factorial(m) for k in range(m)])
    phi = np.zeros(m)
    for i in range(m):
        without = idx[(idx >> i & 1) == 0]
        phi[i] = np.sum(weight[size[without]] * (values[without | (1 << i)] - values[without]))
    return phi
