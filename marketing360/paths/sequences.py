"""Journeys as padded sequences of touches (channel ids and hours before the end), for sequence models.

Examples
--------
>>> import pandas as pd
>>> from marketing360.paths import from_paths, journey_sequences
>>> s = journey_sequences(from_paths(pd.DataFrame({"path": ["a > b > a", "b"], "conversions": [2, 1],
...                                                "nulls": [1, 3]})), max_len=2)
>>> s.channels, s.tokens.tolist(), s.lengths.tolist()
(['a', 'b'], [[2, 1], [2, 0]], [2, 1])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ParameterError
from .journeys import JOURNEY_KEY, Journeys

__all__ = ["JourneySequences", "journey_sequences"]


@dataclass
class JourneySequences:
    """Journeys as padded arrays (most recent ``max_len`` touches, oldest first).

    ``tokens`` hold channel ids (``channels[i - 1]``; 0 = padding), ``hours``
    the log1p of hours before the journey's end, ``lengths`` the touches kept;
    ``conversions`` / ``nulls`` / ``value`` the journeys' outcomes, ``window``
    the days each journey had (0 when unknown), ``users`` their consumer ids,
    ``touch_index`` the touch number of each kept position.
    """

    channels: list[str]
    tokens: np.ndarray
    hours: np.ndarray
    lengths: np.ndarray
    conversions: np.ndarray
    nulls: np.ndarray
    value: np.ndarray
    window: np.ndarray
    users: np.ndarray
    keys: pd.DataFrame
    touch_index: np.ndarray
    key: str = "channel"  # what the tokens are: the journeys' credit key

    def __len__(self) -> int:
        return len(self.lengths)


def journey_sequences(journeys: Journeys, *, max_len: int = 30, channels: list[str] | None = None
                      ) -> JourneySequences:
    """Fetch journeys from their engine as padded sequences (see :class:`JourneySequences`)."""
    if not isinstance(journeys, Journeys):
        raise ParameterError(f"journeys must be a Journeys; found {type(journeys).__name__}")
    if not (isinstance(max_len, int) and max_len >= 1):
        raise ParameterError(f"max_len must be a positive integer; found {max_len!r}")
    key = list(JOURNEY_KEY)
    t = journeys.touches
    t = t.filter(t.touch > t.n_touches - max_len)
    jt, tp, row = journeys.fetch(t.select(*key, "touch", "n_touches", "channel", "hours"),
                                 "conversions", "nulls", "value", "window_days")
    known = sorted(tp.channel.astype(str).unique()) if channels is None else list(channels)
    unknown = sorted(set(tp.channel.astype(str)) - set(known))
    if unknown:
        raise ParameterError(f"channels {unknown} were not seen when the model was fitted; known: {known}")
    n = len(jt)
    first = np.maximum(tp.n_touches.to_numpy() - max_len, 0)
    pos = tp.touch.to_numpy() - 1 - first
    tokens = np.zeros((n, max_len), dtype=np.int64)
    hours = np.zeros((n, max_len), dtype=np.float32)
    index = np.zeros((n, max_len), dtype=np.int64)
    tokens[row, pos] = pd.Index(known).get_indexer(tp.channel.astype(str)) + 1
    h = tp.hours.to_numpy(float)
    hours[row, pos] = np.log1p(np.where(np.isfinite(h), h, 0.0))
    index[row, pos] = tp.touch.to_numpy()
    lengths = np.bincount(row, minlength=n).astype(np.int64)
    return JourneySequences(known, tokens, hours, lengths, jt.conversions.to_numpy(float),
                            jt.nulls.to_numpy(float), jt.value.fillna(0.0).to_numpy(float),
                            jt.window_days.fillna(0.0).to_numpy(float), jt.user_id.to_numpy(), jt[key], index,
                            key=journeys.key)
