"""Journeys as a sparse matrix of channel touch counts, one row per journey, with outcomes.

What the data-driven attribution models read (fetched from the engine once).

Examples
--------
>>> import pandas as pd
>>> from marketing360.paths import from_paths, journey_matrix
>>> m = journey_matrix(from_paths(pd.DataFrame({"path": ["a > b > a", "b"], "conversions": [2, 1],
...                                             "nulls": [1, 3]})))
>>> m.channels, m.counts.toarray().tolist(), m.conversions.tolist()
(['a', 'b'], [[2.0, 1.0], [0.0, 1.0]], [2.0, 1.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import ParameterError
from .journeys import JOURNEY_KEY, Journeys

__all__ = ["JourneyMatrix", "journey_matrix"]


@dataclass
class JourneyMatrix:
    """Journeys as touch counts: ``counts`` (journeys x ``channels``, sparse) with their outcomes.

    ``conversions`` / ``nulls`` are the journeys' weights as converted / not
    (0/1 for journeys built from events, counts for a path table).
    """

    channels: list[str]
    counts: sp.csr_matrix
    conversions: np.ndarray
    nulls: np.ndarray
    value: np.ndarray
    key: str = "channel"  # what the columns are: the journeys' credit key

    @property
    def presence(self) -> sp.csr_matrix:
        p = self.counts.copy()
        p.data = np.ones_like(p.data)
        return p

    def masks(self) -> np.ndarray:
        """Channel set of each journey as an integer bit mask (bit i = channels[i]); at most 63 channels."""
        if len(self.channels) > 63:
            raise ParameterError(f"{len(self.channels)} channels; channel-set masks hold at most 63 "
                                 "(group rare channels together first)")
        p = self.presence.tocoo()
        out = np.zeros(self.counts.shape[0], dtype=np.int64)
        np.bitwise_or.at(out, p.row, (np.int64(1) << p.col.astype(np.int64)))
        return out


def journey_matrix(journeys: Journeys) -> JourneyMatrix:
    """Fetch the journeys from their engine as a :class:`JourneyMatrix`."""
    if not isinstance(journeys, Journeys):
        raise ParameterError(f"journeys must be a Journeys; found {type(journeys).__name__}")
    t = journeys.touches
    jt, cnt, row = journeys.fetch(t.group_by([*JOURNEY_KEY, "channel"]).agg(n=t.count()),
                                  "conversions", "nulls", "value")
    channels = sorted(cnt.channel.astype(str).unique())
    col = pd.Index(channels).get_indexer(cnt.channel.astype(str))
    counts = sp.csr_matrix((cnt.n.to_numpy(float), (row, col)), shape=(len(jt), len(channels)))
    return JourneyMatrix(channels, counts, jt.conversions.to_numpy(float), jt.nulls.to_numpy(float),
                         jt.value.fillna(0.0).to_numpy(float), key=journeys.key)
