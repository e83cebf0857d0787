"""Canonical tables of marketing360 and their validation.

Every analysis reads one of a handful of canonical tables. They are defined
here, once, as :class:`TableSchema` objects, and :func:`validate` checks a
user's table against one of them, coercing the common variants (string or
unix timestamps, categorical codes, event-type synonyms) and raising a
:class:`~marketing360.errors.SchemaError` that names the column, what was
expected and what was found.

The tables
----------
``events``
    One long table of ad touchpoints and consumer behaviours: ``user_id``,
    ``ts`` (UTC), ``brand``, ``event_type`` (see :data:`EVENT_TYPES`),
    ``channel``, ``campaign``, ``value`` (purchase value, review rating),
    ``cost`` (media cost of an impression or click).
``spend``
    Media spend by ``date`` × ``geo`` × ``channel`` with ``spend`` and
    ``impressions``; the key (date, geo, channel) is unique.
``outcomes``
    Business outcomes by ``date`` × ``geo``: ``conversions`` and ``revenue``.
``users``
    One row per ``user_id`` with any attributes (geo, age band, ...).
``paths``
    Aggregated journeys in the ChannelAttribution layout: ``path``
    (``"A > B > C"``), ``conversions``, ``value``, ``nulls``. Rows are
    additive, as in ChannelAttribution: two rows with the same path count as
    one row with their sums.

Timestamps are stored as timezone-naive UTC (``datetime64[us]``); dates as
midnight timestamps (``datetime64[us]``). Columns not in the schema are kept,
after the canonical ones.

Examples
--------
>>> import pandas as pd
>>> from marketing360.schema import validate
>>> ev = pd.DataFrame({"user_id": [1, 1], "ts": [1700000000, 1700000060],
...                    "event_type": ["pv", "buy"], "value": [None, 25.0]})
>>> validate(ev, "events")[["user_id", "ts", "event_type"]]
   user_id                  ts event_type
0        1 2023-11-14 22:13:20     browse
1        1 2023-11-14 22:14:20   purchase
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import ParameterError, SchemaError

__all__ = [
    "EVENT_TYPES",
    "AD_EVENT_TYPES",
    "STAGES",
    "PATH_SEP",
    "normalize_path",
    "EVENT_TYPE_SYNONYMS",
    "Column",
    "TableSchema",
    "TABLES",
    "TableName",
    "validate",
    "describe",
    "to_pandas",
]

#: The canonical event types, in funnel order (ad touchpoints first).
EVENT_TYPES: tuple[str, ...] = (
    "impression",  # an ad was shown
    "click",  # an ad was clicked
    "browse",  # a product / brand page was viewed
    "search",  # the consumer searched for the brand or category
    "follow",  # follow / favourite / collect the brand or an item
    "cart",  # add to cart
    "ask",  # a question to customer service before buying
    "purchase",  # an order
    "review",  # a product review (value = rating, 1 to 5)
    "share",  # shared or recommended to others
    "service",  # after-sales service contact
)

#: Event types that are paid ad touchpoints.
AD_EVENT_TYPES: tuple[str, ...] = ("impression", "click")

#: The 4A consumer-asset stages in order; level 0 is "unaware" (not in the brand's assets).
STAGES: tuple[str, ...] = ("unaware", "aware", "appeal", "act", "advocate")

#: How the channels of a canonical path are joined (ChannelAttribution's layout).
PATH_SEP = " > "

#: Common spellings of event types in public logs, mapped to the canonical name.
EVENT_TYPE_SYNONYMS: dict[str, str] = {
    "view": "browse", "pv": "browse", "page_view": "browse", "pageview": "browse",
    "visit": "browse", "detail": "browse",
    "fav": "follow", "favourite": "follow", "favorite": "follow", "collect": "follow",
    "wishlist": "follow", "like": "follow",
    "add_to_cart": "cart", "addtocart": "cart", "add-to-cart": "cart", "add_cart": "cart",
    "buy": "purchase", "order": "purchase", "transaction": "purchase", "conversion": "purchase",
    "question": "ask", "consult": "ask",
    "comment": "review", "rating": "review",
    "recommend": "share", "referral": "share",
    "after_sales": "service", "after-sales": "service", "return": "service", "refund": "service",
    "exposure": "impression", "imp": "impression",
}

Kind = Literal["id", "string", "event_type", "timestamp", "date", "float", "int"]
TableName = Literal["events", "spend", "outcomes", "users", "paths"]


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    Parameters
    ----------
    name : str
        Column name.
    kind : {"id", "string", "event_type", "timestamp", "date", "float", "int"}
        ``id`` accepts integers or strings; ``event_type`` is a string limited
        to :data:`EVENT_TYPES`.
    required : bool
        Must be present; optional columns are added as all-null when absent.
    nullable : bool
        Whether missing values are allowed.
    nonnegative : bool
        Whether negative numbers are rejected.
    doc : str
        What the column means.
    """

    name: str
    kind: Kind
    required: bool = True
    nullable: bool = False
    nonnegative: bool = False
    doc: str = ""


@dataclass(frozen=True)
class TableSchema:
    """A canonical table: its columns and, where rows must be unique, its key."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    doc: str = ""
    _by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> Column:
        return self._by_name[name]


TABLES: dict[str, TableSchema] = {
    "events": TableSchema(
        "events",
        (
            Column("user_id", "id", doc="consumer identifier (integer or string)"),
            Column("ts", "timestamp", doc="when it happened, UTC"),
            Column("brand", "string", required=False, nullable=True,
                   doc="brand the touchpoint or behaviour is about"),
            Column("event_type", "event_type", doc="one of EVENT_TYPES"),
            Column("channel", "string", required=False, nullable=True,
                   doc="ad channel of a touchpoint, or traffic source of a behaviour"),
            Column("campaign", "string", required=False, nullable=True, doc="campaign id"),
            Column("value", "float", required=False, nullable=True, nonnegative=True,
                   doc="purchase value; review rating for reviews"),
            Column("cost", "float", required=False, nullable=True, nonnegative=True,
                   doc="media cost of the touchpoint"),
        ),
        doc="ad touchpoints and consumer behaviours, one row per event",
    ),
    "spend": TableSchema(
        "spend",
        (
            Column("date", "date", doc="day (or week start) of the spend"),
            Column("geo", "string", doc="geography; 'national' when there is one"),
            Column("channel", "string", doc="media channel"),
            Column("spend", "float", nonnegative=True, doc="media spend"),
            Column("impressions", "float", required=False, nullable=True, nonnegative=True,
                   doc="impressions (or another exposure measure)"),
        ),
        key=("date", "geo", "channel"),
        doc="media spend by date, geo and channel",
    ),
    "outcomes": TableSchema(
        "outcomes",
        (
            Column("date", "date", doc="day (or week start)"),
            Column("geo", "string", doc="geography; 'national' when there is one"),
            Column("conversions", "float", required=False, nullable=True, nonnegative=True,
                   doc="number of conversions (orders, sign-ups ...)"),
            Column("revenue", "float", required=False, nullable=True, nonnegative=True,
                   doc="revenue (or another money outcome)"),
        ),
        key=("date", "geo"),
        doc="business outcomes by date and geo",
    ),
    "users": TableSchema(
        "users",
        (Column("user_id", "id", doc="consumer identifier"),),
        key=("user_id",),
        doc="one row per consumer with any attributes",
    ),
    "paths": TableSchema(
        "paths",
        (
            Column("path", "string", doc="channels in order, joined by ' > '"),
            Column("conversions", "float", nonnegative=True, doc="conversions of the path"),
            Column("value", "float", required=False, nullable=True, nonnegative=True,
                   doc="conversion value of the path"),
            Column("nulls", "float", required=False, nullable=True, nonnegative=True,
                   doc="journeys of the path that did not convert"),
        ),
        doc="aggregated journeys in the ChannelAttribution path-table layout (rows are additive)",
    ),
}


def describe(table: TableName) -> pd.DataFrame:
    """The columns of a canonical table as a frame (name, kind, required, ...).

    Examples
    --------
    >>> describe("spend")["name"].tolist()
    ['date', 'geo', 'channel', 'spend', 'impressions']
    """
    schema = _schema(table)
    return pd.DataFrame(
        [
            {"name": c.name, "kind": c.kind, "required": c.required, "nullable": c.nullable,
             "nonnegative": c.nonnegative, "key": c.name in schema.key, "doc": c.doc}
            for c in schema.columns
        ]
    )


def to_pandas(data: Any, *, what: str = "data") -> pd.DataFrame:
    """Turn a pandas / polars DataFrame or a pyarrow Table into pandas."""
    if isinstance(data, pd.DataFrame):
        return data
    mod = type(data).__module__.split(".")[0]
    if mod == "polars":
        return data.to_pandas()
    if mod == "pyarrow":
        return data.to_pandas()
    raise SchemaError(
        f"{what} must be a pandas or polars DataFrame or a pyarrow Table; "
        f"found {type(data).__name__}"
    )


def validate(
    data: Any,
    table: TableName = "events",
    *,
    ts_unit: Literal["s", "ms", "us", "ns"] | None = None,
    dayfirst: bool | None = None,
    ts_format: str | None = None,
    event_type_map: Mapping[Any, str] | None = None,
    path_sep: str = ">",
) -> pd.DataFrame:
    """Check ``data`` against a canonical table and return a coerced copy.

    Parameters
    ----------
    data : pandas.DataFrame, polars.DataFrame or pyarrow.Table
        The table to check; it is never modified.
    table : {"events", "spend", "outcomes", "users", "paths"}
        Which canonical table ``data`` should be.
    ts_unit : {"s", "ms", "us", "ns"}, optional
        Unit of numeric timestamps. By default it is inferred from their
        magnitude (seconds up to 1e11, then milliseconds, microseconds,
        nanoseconds).
    dayfirst : bool, optional
        How to read text dates written ``dd/mm/yyyy`` or ``mm/dd/yyyy`` (also
        with ``.`` or ``-``). By default the column decides: a value such as
        ``13/01/2025`` can only be day first, ``01/13/2025`` only month first,
        and the whole column is read that way; a column whose every such date
        could be either (``01/02/2025``), or that holds both kinds, raises
        rather than guess. ISO 8601 text (``2025-01-13 10:00``) is never ambiguous.
    ts_format : str, optional
        An explicit ``strftime`` format of text timestamps (``"%d/%m/%Y %H:%M"``);
        every value must match it.
    event_type_map : mapping, optional
        Codes of ``event_type`` to canonical names (for logs that store, say,
        ``1..4``); applied before the built-in synonyms.
    path_sep : str
        ``paths`` only: the separator between the channels of a path, as in
        ChannelAttribution (``">"``, which also reads ``"->"``); paths are
        rewritten with :data:`PATH_SEP` (see :func:`normalize_path`).

    Returns
    -------
    pandas.DataFrame
        Canonical columns first (optional ones added as null), then any
        extra columns, in their order.

    Raises
    ------
    SchemaError
        For a missing column, a wrong type, unparseable timestamps, an
        unknown event type, a negative amount, an empty table or duplicate
        keys. The message names the column.
    """
    schema = _schema(table)
    df = to_pandas(data, what=f"the {table} table")
    if len(df.columns) != len(set(map(str, df.columns))):
        dup = sorted({str(c) for c in df.columns if list(map(str, df.columns)).count(str(c)) > 1})
        raise SchemaError(f"{table}: column names must be unique; repeated: {dup}", table=table)
    missing = [c.name for c in schema.columns if c.required and c.name not in df.columns]
    if missing:
        raise SchemaError(
            f"{table}: missing required column(s) {missing}; found columns {list(df.columns)}",
            table=table, column=missing[0],
        )
    if len(df) == 0:
        raise SchemaError(f"{table}: the table is empty (0 rows)", table=table)

    out: dict[str, pd.Series] = {}
    for col in schema.columns:
        if col.name not in df.columns:
            out[col.name] = _null_column(col, len(df), df.index)
            continue
        s = df[col.name]
        if table == "paths" and col.name == "path":
            s = normalize_path(_coerce_string(s, table, col, None), path_sep=path_sep)
        elif col.kind == "event_type":
            s = _coerce_event_type(s, table, col, event_type_map)
        elif col.kind in ("timestamp", "date"):
            s = _COERCE[col.kind](s, table, col, ts_unit, dayfirst=dayfirst, ts_format=ts_format)
        else:
            s = _COERCE[col.kind](s, table, col, ts_unit)
        _check_nulls(s, table, col)
        if col.nonnegative:
            _check_nonnegative(s, table, col)
        out[col.name] = s
    result = pd.DataFrame(out, index=df.index)
    extras = [c for c in df.columns if c not in schema._by_name]
    for c in extras:
        result[c] = df[c]
    if schema.key:
        _check_unique(result, schema)
    return result.reset_index(drop=True)


def normalize_path(paths: pd.Series, *, path_sep: str = ">") -> pd.Series:
    """Channel paths rewritten with :data:`PATH_SEP` between channels, names stripped.

    With ``path_sep=">"`` (ChannelAttribution's default) ``"a>b"``, ``"a -> b"``
    and ``" a  >  b "`` all become ``"a > b"``; pass ``path_sep="|"`` (or
    ``","``, ``"/"``, ``"\\t"`` ...) for paths written ``"a|b"``.

    Raises
    ------
    SchemaError
        A missing path, an empty channel name (``"a >> b"``, ``"> a"``), or a
        table in which no path holds ``path_sep`` while some hold another
        common separator (``"a|b"`` read with the default): the message says
        which ``path_sep`` to pass.

    Examples
    --------
    >>> normalize_path(pd.Series(["a>b", "a -> b -> c", "c"])).tolist()
    ['a > b', 'a > b > c', 'c']
    >>> normalize_path(pd.Series(["a|b", "c"]), path_sep="|").tolist()
    ['a > b', 'c']
    """
    if not isinstance(path_sep, str) or not path_sep.strip(" "):
        raise ParameterError(f"path_sep must be a non-blank string such as '>' or '|'; found {path_sep!r}")
    missing = paths.isna()
    if missing.any():
        raise SchemaError(f"paths.path: {int(missing.sum())} missing path(s)", table="paths", column="path")
    s = paths.astype(str).str.strip()
    pattern = r"\s*(?:->|>)\s*" if path_sep.strip() == ">" else r"\s*" + re.escape(path_sep.strip(" ")) + r"\s*"
    split = s.str.split(pattern, regex=True)
    if split.map(len).max() == 1 and len(s):  # every path a single channel: another separator in use?
        for other in ("->", ">", "|", ",", ";", "/", "\t"):
            if other != path_sep.strip(" ") and s.str.contains(other, regex=False).mean() >= 0.5:
                raise SchemaError(
                    f"paths.path: no path contains the separator {path_sep!r} but "
                    f"{int(s.str.contains(other, regex=False).sum())} contain {other!r} (e.g. "
                    f"{s[s.str.contains(other, regex=False)].iloc[0]!r}); pass path_sep={other!r}",
                    table="paths", column="path")
    bad = split.map(lambda parts: any(p == "" for p in parts))
    if bad.any():
        raise SchemaError(
            f"paths.path: {int(bad.sum())} path(s) have an empty channel name, e.g. "
            f"{list(pd.unique(paths[bad]))[:3]}", table="paths", column="path")
    return split.map(PATH_SEP.join).astype(object)


# --------------------------------------------------------------------- helpers


def _schema(table: str) -> TableSchema:
    try:
        return TABLES[table]
    except KeyError:
        raise ParameterError(
            f"table must be one of {sorted(TABLES)}; found {table!r}"
        ) from None


def _null_column(col: Column, n: int, index: pd.Index) -> pd.Series:
    if col.kind in ("float", "int"):
        return pd.Series(np.full(n, np.nan), index=index, dtype="float64")
    if col.kind in ("timestamp", "date"):
        return pd.Series(pd.NaT, index=index, dtype="datetime64[us]")
    return pd.Series(np.full(n, None, dtype=object), index=index, dtype="object")


def _examples(values: pd.Series, k: int = 5) -> list[Any]:
    return [v.item() if hasattr(v, "item") else v for v in pd.unique(values)[:k]]


def _found(s: pd.Series) -> str:
    return str(s.dtype) if not isinstance(s.dtype, pd.CategoricalDtype) else "category"


def _decategorize(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.astype(s.cat.categories.dtype if len(s.cat.categories) else "object")
    return s


def _coerce_id(s: pd.Series, table: str, col: Column, _unit: Any) -> pd.Series:
    s = _decategorize(s)
    if pd.api.types.is_bool_dtype(s):
        raise SchemaError(f"{table}.{col.name}: expected integer or string ids; found bool",
                          table=table, column=col.name)
    if pd.api.types.is_integer_dtype(s):
        return s.astype("int64") if not s.isna().any() else s
    if pd.api.types.is_float_dtype(s):
        v = s.dropna()
        if (v != np.floor(v)).any():
            raise SchemaError(
                f"{table}.{col.name}: expected integer or string ids; found non-integral "
                f"numbers such as {_examples(v[v != np.floor(v)])}", table=table, column=col.name)
        return s.astype("int64") if not s.isna().any() else s.astype("Int64")
    if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        if inferred in ("string", "empty"):  # the common case, checked in C
            return s.astype(object).where(s.notna(), None)
        return s.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                     ).astype(object)
    raise SchemaError(f"{table}.{col.name}: expected integer or string ids; found {_found(s)}",
                      table=table, column=col.name)


def _coerce_string(s: pd.Series, table: str, col: Column, _unit: Any) -> pd.Series:
    """Strings as they are; integer codes as text; blank strings (``""``, ``"  "``) as missing."""
    s = _decategorize(s)
    if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
        if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):  # checked in C
            out = s.astype(object).where(s.notna(), None)
            blank = out.notna() & (out.astype(str).str.strip() == "")
            return out.where(~blank, None) if blank.any() else out
        bad = s.map(lambda v: not (v is None or isinstance(v, str) or (isinstance(v, float) and np.isnan(v))))
        if bad.any():
            raise SchemaError(
                f"{table}.{col.name}: expected strings; found values of type "
                f"{sorted({type(v).__name__ for v in s[bad]})}", table=table, column=col.name)
        return s.astype(object).where(s.notna(), None)
    if pd.api.types.is_integer_dtype(s):  # codes such as geo 101 -> "101"
        return s.map(lambda v: None if pd.isna(v) else str(v)).astype(object)
    raise SchemaError(f"{table}.{col.name}: expected strings; found {_found(s)}",
                      table=table, column=col.name)


def _coerce_event_type(s: pd.Series, table: str, col: Column,
                       mapping: Mapping[Any, str] | None) -> pd.Series:
    s = _decategorize(s)
    if mapping is not None:
        s = s.map(lambda v: mapping.get(v, v))
    if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        raise SchemaError(
            f"{table}.{col.name}: expected event type names {list(EVENT_TYPES)}; found "
            f"{_found(s)} values such as {_examples(s)} (pass event_type_map to decode codes)",
            table=table, column=col.name)
    canon = set(EVENT_TYPES)

    def norm(v: Any) -> Any:
        if not isinstance(v, str):
            return v
        k = v.strip().lower()
        return k if k in canon else EVENT_TYPE_SYNONYMS.get(k, v)

    uniq = pd.unique(s.dropna())
    lookup = {u: norm(u) for u in uniq}
    unknown = [u for u, n in lookup.items() if n not in canon]
    if unknown:
        raise SchemaError(
            f"{table}.{col.name}: unknown event type(s) {unknown[:5]}; allowed: {list(EVENT_TYPES)} "
            "(or a synonym such as 'pv', 'buy', 'fav', 'add_to_cart')", table=table, column=col.name)
    return s.map(lookup).astype(object)


def _infer_unit(v: pd.Series) -> str:
    mag = float(np.nanmedian(np.abs(v.to_numpy(dtype="float64"))))
    if mag < 1e11:
        return "s"
    if mag < 1e14:
        return "ms"
    if mag < 1e17:
        return "us"
    return "ns"


def _dayfirst(text: pd.Series, name: str, table: str, column: str, dayfirst: bool | None) -> bool:
    """Whether ``dd/mm`` dates come day first: the user's word, or the only reading the column allows."""
    m = text.str.extract(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})(?!\d)")
    has = m[0].notna()
    if not has.any():
        return bool(dayfirst)
    a, b = m.loc[has, 0].astype(int), m.loc[has, 1].astype(int)
    day_only, month_only = (a > 12) & (b <= 12), (b > 12) & (a <= 12)
    example = {True: text[has][day_only.to_numpy()], False: text[has][month_only.to_numpy()]}
    if dayfirst is None:
        if day_only.any() and month_only.any():
            raise SchemaError(
                f"{name}: dates are written both day first (e.g. {example[True].iloc[0]!r}) and month first "
                f"(e.g. {example[False].iloc[0]!r}) in one column; fix the data or pass ts_format=",
                table=table, column=column)
        if day_only.any() or month_only.any():
            return bool(day_only.any())
        both = (a != b)
        if both.any():
            raise SchemaError(
                f"{name}: dates such as {text[has][both.to_numpy()].iloc[0]!r} read as day/month or month/day "
                "and nothing in the column tells which; pass dayfirst=True (dd/mm/yyyy) or dayfirst=False "
                "(mm/dd/yyyy), or ts_format=", table=table, column=column)
        return False
    clash = example[not dayfirst]
    if len(clash):
        raise SchemaError(
            f"{name}: dayfirst={dayfirst} but {clash.iloc[0]!r} can only be read "
            f"{'month' if dayfirst else 'day'} first", table=table, column=column)
    return bool(dayfirst)


def _coerce_timestamp(s: pd.Series, table: str, col: Column, unit: str | None, *,
                      dayfirst: bool | None = None, ts_format: str | None = None) -> pd.Series:
    s = _decategorize(s)
    name = f"{table}.{col.name}"
    if pd.api.types.is_bool_dtype(s):
        raise SchemaError(f"{name}: expected timestamps; found bool", table=table, column=col.name)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        out = s.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(s):
        out = s
    elif pd.api.types.is_numeric_dtype(s):
        u = unit or _infer_unit(s.dropna()) if s.notna().any() else (unit or "s")
        try:
            out = pd.to_datetime(s, unit=u)
        except (ValueError, OverflowError) as exc:
            raise SchemaError(f"{name}: numeric timestamps out of range for unit {u!r}: {exc}",
                              table=table, column=col.name) from None
    elif pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
        if ts_format is not None:
            parsed = pd.to_datetime(s, errors="coerce", utc=True, format=ts_format)
        else:
            first = _dayfirst(s.dropna().astype(str), name, table, col.name, dayfirst)
            parsed = pd.to_datetime(s, errors="coerce", utc=True, format="mixed", dayfirst=first)
        bad = parsed.isna() & s.notna()
        if bad.any():
            raise SchemaError(
                f"{name}: {int(bad.sum())} value(s) are not parseable timestamps"
                f"{' in format ' + repr(ts_format) if ts_format else ''}, e.g. "
                f"{_examples(s[bad], 3)}", table=table, column=col.name)
        out = parsed.dt.tz_localize(None)
    else:
        raise SchemaError(f"{name}: expected timestamps; found {_found(s)}",
                          table=table, column=col.name)
    return out.astype("datetime64[us]")


def _coerce_date(s: pd.Series, table: str, col: Column, unit: str | None, *,
                 dayfirst: bool | None = None, ts_format: str | None = None) -> pd.Series:
    out = _coerce_timestamp(s, table, col, unit, dayfirst=dayfirst, ts_format=ts_format)
    off = out.notna() & (out != out.dt.normalize())
    if off.any():
        raise SchemaError(
            f"{table}.{col.name}: expected dates; found times of day, e.g. "
            f"{[str(v) for v in out[off][:3]]}", table=table, column=col.name)
    return out


def _coerce_number(s: pd.Series, table: str, col: Column, _unit: Any) -> pd.Series:
    s = _decategorize(s)
    name = f"{table}.{col.name}"
    if pd.api.types.is_bool_dtype(s):
        raise SchemaError(f"{name}: expected numbers; found bool", table=table, column=col.name)
    if not pd.api.types.is_numeric_dtype(s):
        if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
            num = pd.to_numeric(s, errors="coerce")
            bad = num.isna() & s.notna()
            if bad.any():
                raise SchemaError(
                    f"{name}: expected numbers; found {_found(s)} values that are not numbers, "
                    f"e.g. {_examples(s[bad], 3)}", table=table, column=col.name)
            s = num
        else:
            raise SchemaError(f"{name}: expected numbers; found {_found(s)}",
                              table=table, column=col.name)
    s = s.astype("float64")
    if col.kind == "int":
        v = s.dropna()
        if (v != np.floor(v)).any():
            raise SchemaError(f"{name}: expected whole numbers; found e.g. "
                              f"{_examples(v[v != np.floor(v)], 3)}", table=table, column=col.name)
    if np.isinf(s).any():
        raise SchemaError(f"{name}: infinite values are not allowed", table=table, column=col.name)
    return s


_COERCE: dict[str, Any] = {
    "id": _coerce_id,
    "string": _coerce_string,
    "timestamp": _coerce_timestamp,
    "date": _coerce_date,
    "float": _coerce_number,
    "int": _coerce_number,
}


def _check_nulls(s: pd.Series, table: str, col: Column) -> None:
    if not col.nullable:
        n = int(s.isna().sum())
        if n:
            raise SchemaError(f"{table}.{col.name}: {n} missing value(s); the column may not be null",
                              table=table, column=col.name)


def _check_nonnegative(s: pd.Series, table: str, col: Column) -> None:
    neg = s < 0
    if neg.any():
        raise SchemaError(
            f"{table}.{col.name}: {int(neg.sum())} negative value(s), e.g. {_examples(s[neg], 3)}; "
            f"{col.name} must be >= 0", table=table, column=col.name)


def _check_unique(df: pd.DataFrame, schema: TableSchema) -> None:
    dup = df.duplicated(list(schema.key), keep=False)
    if dup.any():
        first = df.loc[dup, list(schema.key)].iloc[0].to_dict()
        raise SchemaError(
            f"{schema.name}: key {list(schema.key)} must be unique; {int(dup.sum())} rows share a "
            f"key, e.g. {first}", table=schema.name, column=schema.key[0])
