"""Preprocessing with Spark ML's semantics on every engine: each fit is one pass over all columns.

Transformers follow scikit-learn's contract (``fit`` returns self, learnt
attributes end in ``_``) and take any table an engine takes; ``transform``
returns a lazy ibis table on the data's engine. On Spark the statistics come
from Spark ML itself (``Imputer``, ``approxQuantile``); on DuckDB from one
aggregation over every column.

* :class:`Imputer` — mean / median / mode of the values that are not missing;
* :func:`approx_quantile` — quantiles with the Greenwald-Khanna rank guarantee;
* :class:`Bucketizer` / :class:`QuantileDiscretizer` — buckets by given splits or at quantiles;
* :class:`StandardScaler` — scaling by the sample standard deviation;
* :class:`FeatureHasher` — the hashing trick, Spark's MurmurHash3 indices.
"""

from .buckets import Bucketizer, QuantileDiscretizer
from .hashing import FeatureHasher, murmur3_32
from .imputer import Imputer
from .quantiles import approx_quantile
from .scaler import StandardScaler

__all__ = ["Imputer", "approx_quantile", "Bucketizer", "QuantileDiscretizer", "StandardScaler", "FeatureHasher",
           "murmur3_32"]
