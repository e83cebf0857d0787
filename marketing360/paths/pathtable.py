"""Journeys from a ChannelAttribution path table (``path, conversions, value, nulls``).

Examples
--------
>>> import pandas as pd
>>> from marketing360.paths import from_paths
>>> j = from_paths(pd.DataFrame({"path": ["a>b", "b", "a > b"], "conversions": [2, 1, 1],
...                              "value": [20.0, 5.0, 4.0], "nulls": [1, 3, 0]}))
>>> j.paths().table()
    path  conversions  value  nulls
0  a > b          3.0   24.0    1.0
1      b          1.0    5.0    3.0
"""

from __future__ import annotations

import re
from typing import Any

import ibis
from ibis.expr.types import Table

from ..engine import fetch
from ..errors import ParameterError, SchemaError
from ..inputs import as_table, open_table
from ..schema import PATH_SEP
from ..types import TableLike
from .journeys import JOURNEY_KEY, Journeys, PathTable

__all__ = ["from_paths"]

_OTHER_SEPARATORS = ("->", ">", "|", ",", ";", "/", "\t")
#: ChannelAttribution's column names -> ours
_CA_COLUMNS = {"total_conversions": "conversions", "total_conversion_value": "value", "total_null": "nulls"}


def from_paths(paths: TableLike, *, path_sep: str = ">") -> Journeys:
    """Journeys from a path table: one weighted journey per distinct path.

    Each distinct path becomes one journey whose touches are the path's
    channels (``user_id`` = the path's rank in path order, ``brand`` null)
    and whose ``conversions`` / ``nulls`` / ``value`` are the path's totals.
    Rows with the same path are summed first, as ChannelAttribution does.
    Touch times are unknown (``ts`` and ``hours`` are null), so time-decay
    attribution needs journeys built from events.

    Parameters
    ----------
    paths : table
        A canonical ``paths`` table — a frame (e.g. from
        :func:`~marketing360.datasets.read_channelattribution_paths`), a parquet
        file or an ibis table on any engine — with ``path`` and ``conversions``
        (``value`` and ``nulls`` optional; ChannelAttribution's names ``total_conversions``,
        ``total_conversion_value``, ``total_null`` work too). Checked and normalised on its engine.
    path_sep : str
        The separator between channels in ``path`` (ChannelAttribution's ``sep``):
        ``">"`` (also reads ``"->"``), or ``"|"``, ``","``, ``"/"``, ``"\\t"`` ...

    Returns
    -------
    Journeys

    Raises
    ------
    SchemaError
        A missing column, missing or negative counts, an empty channel name, a
        table written with another separator than ``path_sep`` (the message
        names the one to pass).
    """
    if not isinstance(path_sep, str) or not path_sep.strip(" "):
        raise ParameterError(f"path_sep must be a non-blank string such as '>' or '|'; found {path_sep!r}")
    t = open_table(paths, what="from_paths")
    # ChannelAttribution's own column names, as its users have them
    aliases = {c: canon for c, canon in _CA_COLUMNS.items() if c in t.columns and canon not in t.columns}
    if aliases:
        t = t.rename({canon: c for c, canon in aliases.items()})
    t = as_table(t, "paths", what="from_paths")
    norm = _normalised(t, path_sep.strip(" "))
    t = t.mutate(path=norm).group_by("path").agg(
        conversions=t.conversions.cast("float64").sum(),
        value=t.value.cast("float64").fill_null(0.0).sum(),
        nulls=t.nulls.cast("float64").fill_null(0.0).sum())
    table_of_paths = t.order_by("path")
    t = t.select(
        user_id=(ibis.row_number().over(order_by=t.path) + 1).cast("int64"),  # a short key: the path's rank
        brand=ibis.null("string"),
        journey=ibis.literal(0, "int64"),
        conversions=t.conversions, nulls=t.nulls, value=t.value,
        _ch=t.path.split(PATH_SEP),
    )
    n = t._ch.length().cast("int64")
    table = t.select(*JOURNEY_KEY, "conversions", "nulls", "value", n_touches=n,
                     start_ts=ibis.null("timestamp"), end_ts=ibis.null("timestamp"),
                     window_start=ibis.null("timestamp"), window_days=ibis.null("float64"), cost=ibis.null("float64"))
    u = t.mutate(n_touches=n).unnest("_ch", offset="_pos")
    touches = u.select(
        *JOURNEY_KEY, touch=(u._pos + 1).cast("int64"), n_touches=u.n_touches, ts=ibis.null("timestamp"),
        channel=u._ch, campaign=ibis.null("string"), event_type=ibis.null("string"),
        cost=ibis.null("float64"), hours=ibis.null("float64"),
        conversions=u.conversions, nulls=u.nulls, value=u.value)
    out = Journeys(table, touches, key="channel", by=None, source="paths")
    out._paths = PathTable(table_of_paths)  # the path models read this, not the unnested touches
    return out


def _empty_names(norm: Any) -> Any:
    """Paths written with :data:`PATH_SEP` that have an empty channel name: a separator at an end, or two in a row."""
    return (norm == "") | norm.startswith(PATH_SEP) | norm.endswith(PATH_SEP) | norm.contains(PATH_SEP + " >")


def _normalised(t: Table, sep: str) -> Any:
    """The ``path`` column rewritten with :data:`PATH_SEP`, checked, in one or two aggregations on the engine.

    Paths already written ``"a > b"`` (the common case) need no regular expression: a
    plain substring test finds the rows that do, and only then are they rewritten.
    """
    pattern = r"\s*(->|>)\s*" if sep == ">" else r"\s*" + re.escape(sep) + r"\s*"
    rewritten = t.path.strip().re_replace(pattern, PATH_SEP)
    if sep == ">":
        # canonical: every '>' is ' > ' with one non-blank name on each side, no blank at either end
        marked = t.path.replace(PATH_SEP, "\x1f")
        odd = marked.contains(">") | marked.contains("\x1f ") | marked.contains(" \x1f") | (t.path != t.path.strip())
    else:
        odd = t.path.notnull()  # another separator: always rewritten
    others = [o for o in _OTHER_SEPARATORS if o != sep and not (sep == ">" and o == "->")]
    aggs = {"odd": odd.sum(), "rows": t.count(), "empty": _empty_names(t.path).sum(),
            "with_sep": t.path.contains(PATH_SEP).sum(), **{f"o{i}": t.path.contains(o).sum()
                                                            for i, o in enumerate(others)}}
    row = fetch(t.aggregate(**aggs), "arrow").to_pylist()[0]
    norm = t.path
    if row["odd"]:  # some paths need rewriting: check the rewritten ones
        norm = rewritten
        again = fetch(t.aggregate(empty=_empty_names(norm).sum(), with_sep=norm.contains(PATH_SEP).sum()),
                      "arrow").to_pylist()[0]
        row.update(again)
    if row["empty"]:
        bad = fetch(t.filter(_empty_names(norm)).select("path").limit(3)).path.tolist()
        raise SchemaError(f"paths.path: {row['empty']} path(s) have an empty channel name, e.g. {bad}",
                          table="paths", column="path")
    if not row["with_sep"]:
        for i, o in enumerate(others):
            if row[f"o{i}"] * 2 >= row["rows"]:
                raise SchemaError(
                    f"paths.path: no path contains the separator {sep!r} but {row[f'o{i}']} contain {o!r}; "
                    f"pass path_sep={o!r}", table="paths", column="path")
    return norm
