"""The one result protocol every analysis of marketing360 returns (after statsmodels' results).

A :class:`Result` holds a tidy table — computed on the engine once, on first
use, when the result is lazy — and speaks the same small language everywhere:

* :meth:`Result.table` — the tidy table as pandas (stage names an ordered
  categorical, counts integers); :meth:`~Result.to_pandas`,
  :meth:`~Result.to_polars`, :meth:`~Result.to_arrow` — the same table;
* :meth:`Result.summary` — a :class:`Summary` that prints as text and renders
  as HTML in a notebook;
* :meth:`Result.plot` — draws on ``ax`` (a new figure by default) and returns
  the figure;
* ``conf_int(alpha=)`` — where the method has sampling uncertainty;
* typed attributes for whatever else the method knows, and a one-line repr.

Lazy results keep their ibis expression in :attr:`Result.expr`, so it can be
composed further on the engine it runs on.

Examples
--------
>>> import pandas as pd
>>> class Volumes(Result):
...     title, keys = "volumes", ("stage",)
>>> r = Volumes(pd.DataFrame({"stage": ["act", "aware"], "consumers": [2.0, 5.0]}))
>>> r.table().dtypes.astype(str).tolist()
['category', 'int64']
>>> print(r.summary())
volumes
 stage  consumers
 aware          5
   act          2
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
from ibis.expr.types import Table

from .errors import ParameterError
from .schema import STAGES

__all__ = ["Result", "Summary", "tidy", "STAGE_COLUMNS", "COUNT_COLUMNS"]

#: columns holding 4A stage names, and their categories in order
STAGE_COLUMNS: dict[str, tuple[str, ...]] = {
    "stage": STAGES[1:],
    "from_stage": ("new", *STAGES[1:]),
    "to_stage": (*STAGES[1:], "lost"),
}
#: columns that hold counts of consumers, pairs, journeys or events: integers in every result
COUNT_COLUMNS: frozenset[str] = frozenset({
    "consumers", "population", "events", "users", "journeys", "touches", "n_touches", "impressions", "clicks",
    "pairs", "before", "after", "net_growth", "level", "n_journeys",
})


def tidy(df: pd.DataFrame, *, sort: Sequence[str] | None = None) -> pd.DataFrame:
    """Stage columns as ordered categoricals, whole-number count columns as int64, rows sorted.

    ``sort`` names the key columns (stage columns sort in funnel order); by
    default the frame keeps its row order.
    """
    out = df.copy()
    for c, cats in STAGE_COLUMNS.items():
        if c in out.columns and not isinstance(out[c].dtype, pd.CategoricalDtype):
            extra = sorted(set(out[c].dropna().astype(str)) - set(cats))
            out[c] = pd.Categorical(out[c], categories=[*cats, *extra], ordered=True)
    for c in out.columns:
        if c in COUNT_COLUMNS and pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c]):
            v = out[c]
            if v.notna().all() and np.all(np.asarray(v, dtype=float) == np.floor(np.asarray(v, dtype=float))):
                out[c] = v.astype("int64")
    if sort:
        keys = [k for k in sort if k in out.columns]
        if keys and len(out):
            out = out.sort_values(keys, kind="mergesort")
    return out.reset_index(drop=True)


class Summary:
    """The summary of a result: a title, notes and tables; text with ``print``, HTML in Jupyter.

    Attributes
    ----------
    title : str
    notes : list of str
        One line each (settings, totals, caveats).
    tables : list of (caption, DataFrame)
    """

    def __init__(self, title: str, *, notes: Sequence[str] = (),
                 tables: Sequence[tuple[str | None, pd.DataFrame]] = (), max_rows: int = 30) -> None:
        self.title = title
        self.notes = [str(n) for n in notes]
        self.tables = [(c, t) for c, t in tables]
        self.max_rows = max_rows

    @property
    def text(self) -> str:
        parts = [self.title, *self.notes]
        for caption, t in self.tables:
            if caption:
                parts.append(caption)
            parts.append(_text_table(t, self.max_rows))
        return "\n".join(parts)

    @property
    def html(self) -> str:
        parts = [f"<p><b>{html.escape(self.title)}</b></p>"]
        parts += [f"<p style='margin:0'>{html.escape(n)}</p>" for n in self.notes]
        for caption, t in self.tables:
            if caption:
                parts.append(f"<p style='margin:.4em 0 0 0'><i>{html.escape(caption)}</i></p>")
            parts.append(_html_table(t, self.max_rows))
        return "<div class='m360-summary'>" + "\n".join(parts) + "</div>"

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return self.html


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if not np.isfinite(x):
            return "" if np.isnan(x) else str(x)
        return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"
    return str(v)


def _shown(t: pd.DataFrame, max_rows: int) -> pd.DataFrame:
    df = t.reset_index() if not isinstance(t.index, pd.RangeIndex) else t
    return df.head(max_rows)


def _text_table(t: pd.DataFrame, max_rows: int) -> str:
    df = _shown(t, max_rows)
    body = df.to_string(index=False, na_rep="", formatters={c: _fmt for c in df.columns
                                                             if pd.api.types.is_float_dtype(df[c])})
    return body + (f"\n... {len(t) - max_rows:,} more rows" if len(t) > max_rows else "")


def _html_table(t: pd.DataFrame, max_rows: int) -> str:
    df = _shown(t, max_rows)
    body = df.to_html(index=False, border=0, na_rep="",
                      formatters={c: _fmt for c in df.columns if pd.api.types.is_float_dtype(df[c])})
    more = f"<p style='margin:0'>… {len(t) - max_rows:,} more rows</p>" if len(t) > max_rows else ""
    return body + more


class Result:
    """Base of every result: a tidy table, computed once, plus what the method knows.

    Parameters
    ----------
    data : pandas.DataFrame or ibis Table
        The tidy result, or the lazy expression that computes it on its engine.

    Attributes
    ----------
    expr : ibis Table or None
        The lazy expression of a result computed on an engine (None for
        results computed in memory).
    """

    #: what the result is, in words (title of its summary)
    title: ClassVar[str] = "result"
    #: the key columns of the tidy table, in sort order (a result may set its own)
    keys: tuple[str, ...] = ()
    #: whether a lazy result, once computed, keeps its rows for analyses composed on it (they read the
    #: rows, registered with the engine when first used, instead of running the query again)
    keep_on_engine: ClassVar[bool] = True

    expr: Table | None

    def __init__(self, data: pd.DataFrame | Table) -> None:
        self._frame: pd.DataFrame | None
        if isinstance(data, Table):
            self.expr = data
            self._frame = None
        elif isinstance(data, pd.DataFrame):
            self.expr = None
            self._frame = self._tidy(data)
        else:
            raise ParameterError(f"a result holds a pandas DataFrame or an ibis table; found {type(data).__name__}")

    # ------------------------------------------------------------------ the table
    def _tidy(self, df: pd.DataFrame) -> pd.DataFrame:
        return tidy(df, sort=self.keys)

    def _computed(self) -> pd.DataFrame:
        if self._frame is None:
            import ibis

            from .engine import fetch

            assert self.expr is not None
            rows = fetch(self.expr, "arrow")
            if self.keep_on_engine:  # analyses composed on this result then read these rows, not the query again
                self.expr = ibis.memtable(rows)
            self._frame = self._tidy(rows.to_pandas())
        return self._frame

    def table(self) -> pd.DataFrame:
        """The tidy result as a pandas DataFrame (a copy; computed on the engine once)."""
        return self._computed().copy()

    def to_pandas(self) -> pd.DataFrame:
        """The tidy table as pandas (same as :meth:`table`)."""
        return self.table()

    def to_polars(self) -> Any:
        """The tidy table as a polars DataFrame."""
        import polars as pl

        return pl.from_pandas(self._computed())

    def to_arrow(self) -> pa.Table:
        """The tidy table as an Arrow table."""
        return pa.Table.from_pandas(self._computed(), preserve_index=False)

    def __len__(self) -> int:
        return len(self._computed())

    # ------------------------------------------------------------------ showing it
    def summary(self) -> Summary:
        """Text and HTML summary: the title, what produced the result, and its table."""
        return Summary(self.title, notes=self._notes(), tables=[(None, self._summary_table())])

    def _notes(self) -> list[str]:
        return []

    def _summary_table(self) -> pd.DataFrame:
        return self._computed()

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """Draw the result on ``ax`` (a new figure by default) and return the matplotlib figure."""
        raise ParameterError(f"{type(self).__name__} has no plot")

    def _shape(self) -> str:
        # the same text before and after the first computation: a notebook saves it next to the HTML
        return "computed on its engine" if self.expr is not None else f"{len(self._computed()):,} rows"

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.title}; {self._shape()}>"

    def _repr_html_(self) -> str:
        return self.summary().html


def percentile_interval(replicates: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ``alpha``-level percentile bounds over the first axis of bootstrap replicates."""
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha must be in (0, 1); found {alpha!r}")
    lo, hi = np.nanquantile(replicates, [alpha / 2, 1 - alpha / 2], axis=0)
    return lo, hi
