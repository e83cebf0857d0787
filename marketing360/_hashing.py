"""A uniform number per consumer fixed by a key: the hashed splits of holdouts, dose arms and validation folds
(the 4E playbook's campaign designs, the audience tags' validation fifth)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from .errors import ParameterError

__all__ = ["hash_unit"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def hash_unit(user_ids: Any, key: str) -> np.ndarray:
    """A uniform number in [0, 1) per user, fixed by ``key`` and the user id alone (SplitMix64).

    The same key and user always give the same number, on every machine;
    different keys give independent draws.

    Examples
    --------
    >>> hash_unit([1, 2, 3], "spring") .round(3).tolist() == hash_unit([1, 2, 3], "spring").round(3).tolist()
    True
    >>> bool((hash_unit(range(10_000), "a") < 0.1).mean().round(2) == 0.1)
    True
    """
    ids = np.asarray(user_ids)
    if ids.ndim != 1 or (len(ids) and not np.issubdtype(ids.dtype, np.integer)):
        raise ParameterError(f"user ids must be a list of integers; found dtype {ids.dtype}")
    seed = np.uint64(int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little"))
    with np.errstate(over="ignore"):
        z = ids.astype(np.int64).view(np.uint64) * _GOLDEN + seed
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)
