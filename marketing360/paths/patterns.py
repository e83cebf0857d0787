"""Frequent sequential patterns of session paths (PrefixSpan): natively through Spark MLlib, in process elsewhere.

:func:`sequential_patterns` turns sessions (or each consumer's sessions end to
end) into sequences of itemsets, one itemset per step (or, with
``itemsets="instant"``, one per instant: the steps at the same time together),
and finds every pattern that at least ``min_support`` of the sequences
contain, up to ``max_pattern_length`` items. The engine does it with its
``prefixspan`` capability: Spark MLlib's ``PrefixSpan`` on Spark, this
package's implementation (:mod:`marketing360.engine.prefixspan`, the same
patterns and counts) on DuckDB. Sequences are the sessions with at least one
step.

Examples
--------
>>> import pandas as pd
>>> from marketing360.paths import sequential_patterns
>>> ev = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 3], "brand": "A",
...     "ts": pd.to_datetime(["2025-03-01 10:00", "2025-03-01 10:05", "2025-03-01 10:09", "2025-03-01 09:00",
...                           "2025-03-01 09:04", "2025-03-01 12:00"]),
...     "event_type": ["browse", "cart", "purchase", "browse", "cart", "search"]})
>>> sequential_patterns(ev, min_support=0.6).table()[["pattern", "length", "freq", "support"]]
          pattern  length  freq  support
0          browse       1     2      0.666667
1   browse > cart       2     2      0.666667
2            cart       1     2      0.666667
"""

from __future__ import annotations

from typing import Any, Literal

import ibis
import pandas as pd

from ..engine import engine_of
from ..engine.prefixspan import check_prefixspan_args, min_count
from ..errors import ParameterError
from ..results import Result
from ..schema import PATH_SEP
from ..types import TableLike
from .sessions import Sessions, as_sessions

__all__ = ["SequentialPatterns", "sequential_patterns", "pattern_text"]

PatternUnit = Literal["sessions", "consumers"]
ItemsetRule = Literal["steps", "instant"]


def pattern_text(pattern: list[list[Any]]) -> str:
    """A pattern as text: itemsets joined by ``" > "``, an itemset of several items in parentheses."""
    return PATH_SEP.join(str(its[0]) if len(its) == 1 else "(" + ", ".join(map(str, its)) + ")" for its in pattern)


class SequentialPatterns(Result):
    """Frequent sequential patterns: ``pattern`` (text), ``itemsets`` (the pattern as lists of items), ``length``
    (items), ``freq`` (sequences that contain it) and ``support`` (its share of the sequences); most frequent
    first.

    Attributes
    ----------
    n_sequences, min_count : int
        Sequences searched, and the fewest a frequent pattern needs (``ceil(min_support * n_sequences)``).
    min_support : float
    max_pattern_length : int
    unit : {"sessions", "consumers"}
    engine : str
        Where the patterns were found (``"spark"``: MLlib's PrefixSpan).
    """

    title = "sequential patterns"

    def __init__(self, frame: pd.DataFrame, *, n_sequences: int, min_support: float, max_pattern_length: int,
                 unit: PatternUnit, engine: str) -> None:
        super().__init__(frame)
        self.n_sequences = n_sequences
        self.min_support = min_support
        self.min_count = min_count(min_support, n_sequences)
        self.max_pattern_length = max_pattern_length
        self.unit = unit
        self.engine = engine

    def _notes(self) -> list[str]:
        return [f"{len(self._computed()):,} patterns in at least {self.min_count:,} of {self.n_sequences:,} "
                f"{self.unit} (min_support {self.min_support:g}), up to {self.max_pattern_length} items; PrefixSpan "
                f"on {self.engine}"]

    def _summary_table(self) -> pd.DataFrame:
        return self._computed().drop(columns="itemsets")


def sequential_patterns(data: Sessions | TableLike, *, min_support: float = 0.1, max_pattern_length: int = 10,
                        unit: PatternUnit = "sessions", itemsets: ItemsetRule = "steps") -> SequentialPatterns:
    """Every sequential pattern that at least ``min_support`` of the sessions' (or consumers') paths contain.

    Parameters
    ----------
    data : Sessions or table
        Sessions from :func:`~marketing360.paths.sessions`, or canonical events (cut with its defaults).
    min_support : float
        Share of the sequences in [0, 1].
    max_pattern_length : int
        Longest pattern, in items.
    unit : {"sessions", "consumers"}
        A sequence per session, or per consumer (x brand): their sessions end to end.
    itemsets : {"steps", "instant"}
        One itemset per step, or one per instant (steps at the same time as a set).

    Returns
    -------
    SequentialPatterns
    """
    check_prefixspan_args(min_support, max_pattern_length)
    if unit not in ("sessions", "consumers"):
        raise ParameterError(f"unit must be 'sessions' or 'consumers'; found {unit!r}")
    if itemsets not in ("steps", "instant"):
        raise ParameterError(f"itemsets must be 'steps' or 'instant'; found {itemsets!r}")
    s = as_sessions(data)
    st = s.steps
    key = ["user_id"] + (["brand"] if s.by else []) + (["session"] if unit == "sessions" else [])
    order = [st.session, st.step] if itemsets == "steps" else [st.session, st.ts]
    rank = ibis.row_number() if itemsets == "steps" else ibis.dense_rank()
    items = st.mutate(_set=rank.over(ibis.window(group_by=key, order_by=order)).cast("int64"))
    engine = engine_of(items)
    found, n = engine.capability("prefixspan")(items, key=key, itemset="_set", item="label",
                                               min_support=float(min_support),
                                               max_pattern_length=int(max_pattern_length))
    df = pd.DataFrame({"pattern": [pattern_text(p) for p in found["pattern"]], "itemsets": list(found["pattern"]),
                       "length": [sum(len(x) for x in p) for p in found["pattern"]],
                       "freq": found["freq"].astype("int64")})
    df["support"] = df["freq"] / n if n else float("nan")
    df = df.sort_values(["freq", "pattern"], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    return SequentialPatterns(df, n_sequences=n, min_support=float(min_support),
                              max_pattern_length=int(max_pattern_length), unit=unit, engine=engine.name)
