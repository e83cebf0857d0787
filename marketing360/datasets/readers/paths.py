"""Path tables in ChannelAttribution's layout: read them as the canonical ``paths`` table, write them back.

Examples
--------
>>> import pathlib, tempfile
>>> f = pathlib.Path(tempfile.mkdtemp()) / "Data.csv"
>>> _ = f.write_text("path;total_conversions;total_conversion_value;total_null\\n"
...                  "a>b;1;2.5;3\\na > b;2;1.5;0\\n")
>>> read_channelattribution_paths(f)
    path  conversions  value  nulls
0  a > b          3.0    4.0    3.0
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...errors import SchemaError
from ...schema import normalize_path, validate
from ._common import PathLike, _compression, _first_line, _numeric, _resolve

__all__ = ["read_channelattribution_paths", "write_channelattribution_paths"]

_PATH_COLUMNS: dict[str, tuple[str, ...]] = {
    "path": ("path",),
    "conversions": ("total_conversions", "conversions", "total_conversion", "conversion"),
    "value": ("total_conversion_value", "value", "conversion_value", "total_value"),
    "nulls": ("total_null", "nulls", "total_nulls", "null"),
}


def _sniff_sep(path: Path) -> str:
    line = _first_line(path)
    counts = {c: line.count(c) for c in (";", "\t", ",", "|")}
    best = max(counts, key=lambda c: counts[c])
    if counts[best] == 0:
        try:
            return csv.Sniffer().sniff(line, delimiters=";\t,|").delimiter
        except csv.Error:
            raise SchemaError(
                f"channelattribution paths: cannot tell the separator of {path} from its header "
                f"{line[:80]!r}; pass sep=", table="paths", column="path") from None
    return best


def read_channelattribution_paths(path: PathLike | None = None, *,
                                  sep: str | None = None, path_sep: str = ">") -> pd.DataFrame:
    """Read a path table in the ChannelAttribution layout as a ``paths`` table.

    ChannelAttribution (R / Python) stores aggregated customer journeys as a
    delimited file with a header ``path;total_conversions;
    total_conversion_value;total_null``: one row per channel path written
    ``"alpha > beta > alpha"``, the number of journeys along that path that
    converted, their conversion value and the number that did not convert.
    The package's example ``Data.csv`` is ``';'``-separated; copies elsewhere
    use ``','`` or tabs, hence the separator is sniffed from the header.

    Path separators are normalised to exactly ``" > "`` (``"a>b"`` and
    ``"a -> b"`` become ``"a > b"``) with channel names stripped. Rows with
    the same path after normalisation are **summed** into one (the canonical
    table is keyed by path): ChannelAttribution's own ``Data.csv`` repeats
    paths (10,000 rows, 5,408 distinct paths), and its models treat repeated
    rows as additive. Rows keep the order of each path's first appearance.

    Parameters
    ----------
    path : str or path-like, optional
        The file; defaults to the shared ``channelattribution_paths/Data.csv``.
    sep : str, optional
        Field separator; sniffed from the header (``;``, tab, ``,`` or ``|``)
        when omitted.
    path_sep : str
        Separator between the channels of a path (ChannelAttribution's ``sep``);
        see :func:`~marketing360.schema.normalize_path`.

    Returns
    -------
    pandas.DataFrame
        The canonical ``paths`` table: ``path``, ``conversions``, ``value``,
        ``nulls`` (``value`` / ``nulls`` are null when the file lacks them).

    Raises
    ------
    SchemaError
        A missing ``path`` or conversions column, non-numeric counts, a
        negative count or an empty channel name; the message names the column.

    See Also
    --------
    write_channelattribution_paths : the inverse.
    """
    p = _resolve(path, "channelattribution_paths", "Data.csv")
    sep = sep or _sniff_sep(p)
    raw = pd.read_csv(p, sep=sep, dtype={0: "string"}, compression=_compression(p),
                      keep_default_na=False, na_values=[""])
    raw.columns = [str(c).strip() for c in raw.columns]
    lower = {c.lower(): c for c in raw.columns}
    found: dict[str, str] = {}
    for canon, names in _PATH_COLUMNS.items():
        for n in names:
            if n in lower:
                found[canon] = lower[n]
                break
    source = "channelattribution paths"
    if "path" not in found:
        raise SchemaError(f"{source}: missing column 'path'; found columns {list(raw.columns)}",
                          table="paths", column="path")
    if "conversions" not in found:
        raise SchemaError(
            f"{source}: missing column 'total_conversions'; found columns {list(raw.columns)}",
            table="paths", column="total_conversions")
    df = pd.DataFrame({"path": normalize_path(raw[found["path"]].astype(object), path_sep=path_sep)})
    for canon in ("conversions", "value", "nulls"):
        if canon in found:
            col = found[canon]
            v = _numeric(raw[col], table="paths", column=col, source=source)
            if (v < 0).any() or (canon == "conversions" and v.isna().any()):
                raise SchemaError(f"{source}: column {col!r} has negative or missing values",
                                  table="paths", column=col)
            df[canon] = v
        else:
            df[canon] = np.nan
    # a path's value / nulls stay missing only when every row of it lacks them (min_count=1)
    agg = df.groupby("path", sort=False)[["conversions", "value", "nulls"]].sum(min_count=1).reset_index()
    agg["conversions"] = agg["conversions"].fillna(0.0)
    return validate(agg, "paths")


def write_channelattribution_paths(paths_df: Any, path: PathLike, *, sep: str = ";") -> Path:
    """Write a ``paths`` table in ChannelAttribution's ``Data.csv`` layout.

    The header is ``path;total_conversions;total_conversion_value;total_null``
    (``';'``-separated by default). Whole-number counts are written without
    a decimal point, values at full precision, missing values as empty fields.

    Parameters
    ----------
    paths_df : DataFrame
        A ``paths`` table (validated first).
    path : str or path-like
        Where to write; a ``.gz`` suffix writes gzip.
    sep : str
        Field separator.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    df = validate(paths_df, "paths")
    out = pd.DataFrame({
        "path": df["path"],
        "total_conversions": _maybe_int(df["conversions"]),
        "total_conversion_value": df["value"],
        "total_null": _maybe_int(df["nulls"]),
    })
    dest = Path(path)
    out.to_csv(dest, sep=sep, index=False, na_rep="")
    return dest


def _maybe_int(s: pd.Series) -> pd.Series:
    v = s.dropna()
    if (v == np.floor(v)).all():
        return s.astype("Int64")
    return s

