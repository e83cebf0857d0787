"""Tables in: every public analysis opens and checks its data here, the same way.

:func:`as_table` accepts what :meth:`Engine.table <marketing360.engine.Engine.table>`
accepts — a pandas or polars DataFrame, an Arrow table, a parquet / CSV path
or glob, an ibis table, a Spark DataFrame — and returns an ibis table in the
canonical layout, checked against the canonical schema:

* in-memory frames go through :func:`~marketing360.schema.validate` (which
  coerces the common variants) and then to the default engine
  (:func:`~marketing360.engine.default_engine`, DuckDB);
* tables already on an engine are checked **on the engine**, in one
  aggregation (rows, nulls, NaN and infinite numbers, negative amounts,
  unknown event types, empty names) whose answer is remembered for that
  table, so a 100M-row table is never pulled into pandas and a second
  analysis of it costs nothing (a table registered under a name of your own
  is checked each time: it may be registered again with other data). Event
  type synonyms (``"pv"``, ``"buy"``) are mapped, empty brand / channel /
  campaign names and NaN amounts read as missing and time-zone-aware
  timestamps become naive UTC, as :func:`validate` does; optional columns
  that are absent are added as typed nulls. One difference: on an engine
  only the empty string is a blank name (trimming every name would cost a
  pass over the strings), while :func:`validate` also blanks names made of
  spaces. Tables with a key (spend, outcomes, users) get one more query for
  duplicate keys.

Bad input raises the :class:`~marketing360.errors.SchemaError` that
:func:`validate` raises for the same problem.

Examples
--------
>>> import pandas as pd
>>> from marketing360.inputs import as_table
>>> t = as_table(pd.DataFrame({"user_id": [1, 2], "ts": ["2025-03-01 10:00", "2025-03-02 11:00"],
...                            "event_type": ["pv", "buy"]}))
>>> sorted(t.event_type.to_pyarrow().to_pylist())
['browse', 'purchase']
>>> as_table(pd.DataFrame({"user_id": [1], "ts": ["2025-03-01"]}))
Traceback (most recent call last):
...
marketing360.errors.SchemaError: events: missing required column(s) ['event_type']; found columns ['user_id', 'ts']
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.operations as ops
import pandas as pd
import pyarrow as pa
from ibis.expr.types import Table

from .engine.base import AUTO_PREFIX, fetch
from .errors import ParameterError, SchemaError
from .schema import EVENT_TYPE_SYNONYMS, EVENT_TYPES, PATH_SEP, TABLES, Column, validate
from .types import TableLike, TableName

__all__ = ["as_table", "as_table_with_counts", "as_population", "open_table", "alongside", "require_columns",
           "require_unique", "column_counts"]


@dataclass(frozen=True)
class _Check:
    """What the check of a table found: the canonical table it was checked as, the columns it had before
    the fixes (so a needed column added as nulls still counts as missing), the fixes to apply, and the rows
    and non-null counts of its optional columns."""

    table: str
    raw_columns: tuple[str, ...]
    fixes: dict[str, Any]
    counts: dict[str, int]


#: the checks, by the table's expression (weakly: a table nobody uses is forgotten, and its data freed). Only
#: expressions over tables marketing360 or ibis named uniquely are remembered: a table a user registers under
#: their own name may be registered again with other data and compare equal, so it is checked every time.
_CHECKED: weakref.WeakKeyDictionary[Any, _Check] = weakref.WeakKeyDictionary()


def _remember(t: Table, check: _Check) -> None:
    if all(isinstance(leaf, ops.InMemoryTable)
           or (isinstance(leaf, ops.DatabaseTable) and leaf.name.startswith((AUTO_PREFIX, "ibis_")))
           for leaf in t.op().find(ops.PhysicalTable)):
        _CHECKED[t.op()] = check


def _recall(t: Table, table: str) -> _Check | None:
    check = _CHECKED.get(t.op())
    return check if check is not None and check.table == table else None


def require_columns(table: Table, columns: Sequence[str], *, what: str, table_name: str | None = None) -> None:
    """Raise :class:`SchemaError` naming the columns of ``columns`` that ``table`` lacks.

    Examples
    --------
    >>> import ibis
    >>> require_columns(ibis.table({"a": "int64"}, name="t"), ["a", "b"], what="my analysis")
    Traceback (most recent call last):
    ...
    marketing360.errors.SchemaError: my analysis: the table lacks column(s) ['b']; found ['a']
    """
    missing = [c for c in columns if c not in table.columns]
    if missing:
        label = f"the {table_name} table" if table_name else "the table"
        raise SchemaError(f"{what}: {label} lacks column(s) {missing}; found {list(table.columns)}",
                          table=table_name, column=missing[0])


def require_unique(table: Table, columns: Sequence[str], *, what: str, table_name: str) -> None:
    """Raise :class:`SchemaError` when two rows of ``table`` share ``columns`` (one small query).

    Examples
    --------
    >>> import pandas as pd
    >>> from marketing360.engine import default_engine
    >>> t = default_engine().table(pd.DataFrame({"user_id": [1, 2, 2], "gender": ["f", "m", "f"]}))
    >>> require_unique(t, ["user_id"], what="volumes", table_name="users")
    Traceback (most recent call last):
    ...
    marketing360.errors.SchemaError: volumes: the users table has more than one row for user_id 2
    """
    dup = fetch(table.group_by(list(columns)).agg(_n=table.count()).filter(ibis._._n > 1).limit(1))
    if len(dup):
        first = {c: dup[c].iloc[0] for c in columns}
        shown = ", ".join(f"{c} {v!r}" if isinstance(v, str) else f"{c} {v}" for c, v in first.items())
        raise SchemaError(f"{what}: the {table_name} table has more than one row for {shown}",
                          table=table_name, column=columns[0])


def as_table(data: TableLike, table: TableName = "events", *, need: Sequence[str] = (), what: str | None = None
             ) -> Table:
    """Open ``data`` as a checked ibis table in the layout of canonical table ``table``.

    Parameters
    ----------
    data : pandas / polars DataFrame, pyarrow Table, str or path-like, ibis Table, Spark DataFrame
        In-memory data goes to the default engine (DuckDB); an ibis table
        stays on its engine; a Spark DataFrame is opened by a Spark engine on
        its session.
    table : {"events", "spend", "outcomes", "users", "paths"}
        The canonical table ``data`` should be.
    need : sequence of str
        Optional canonical columns the analysis cannot do without (``brand``
        for 4A): they must be present, not added as nulls.
    what : str, optional
        The analysis, named in error messages.

    Returns
    -------
    ibis.expr.types.Table
        Canonical columns (optional ones added as null when absent), then the
        others.

    Raises
    ------
    SchemaError
        What :func:`~marketing360.schema.validate` raises for the same problem:
        a missing column, a wrong type, an empty table, nulls where none are
        allowed, a negative amount, an unknown event type.
    ParameterError
        ``data`` is not a table at all.
    """
    return as_table_with_counts(data, table, need=need, what=what)[0]


def as_table_with_counts(data: TableLike, table: TableName = "events", *, need: Sequence[str] = (),
                         what: str | None = None) -> tuple[Table, dict[str, int]]:
    """:func:`as_table`, and the counts its check found (those of :func:`column_counts`).

    For analyses that need the counts too: a table registered under a name of
    the user's own is not remembered, and :func:`column_counts` would scan it again.
    """
    if TABLES.get(table) is None:
        raise ParameterError(f"table must be one of {sorted(TABLES)}; found {table!r}")
    label = f"{what}: " if what else ""
    data = _unwrap(data)
    if _in_memory(data):
        from .engine import default_engine

        frame = _frame(data)
        raw = tuple(str(c) for c in (frame.column_names if isinstance(frame, pa.Table) else frame.columns))
        _need(list(raw), need, table, label)
        try:
            valid = validate(frame, table)
        except SchemaError as e:  # the same message as on an engine: the analysis first
            raise (SchemaError(f"{label}{e}", table=e.table, column=e.column) if label else e) from None
        t = default_engine().table(valid)
        counts = {"_rows": len(valid), **{c.name: int(valid[c.name].notna().sum())
                                          for c in TABLES[table].columns if c.nullable}}
        for name in _CREDIT_KEYS if table == "events" else ():
            counts[f"{name}{_WITH_SEP}"] = int(valid[name].astype("string").str.contains(PATH_SEP, regex=False)
                                               .fillna(False).sum())
        _remember(t, _Check(table, raw, {}, counts))
        return t, counts
    t = open_table(data, what=what)
    known = _recall(t, table)
    if known is not None:
        _need(list(known.raw_columns), need, table, label)
        return _apply(t, table, known.fixes), dict(known.counts)
    _need(list(t.columns), need, table, label)
    fixes, counts = _check_on_engine(t, table, label)
    checked = _apply(t, table, fixes)
    _remember(t, _Check(table, tuple(t.columns), fixes, counts))
    _remember(checked, _Check(table, tuple(t.columns), {}, counts))
    return checked, dict(counts)


def open_table(data: TableLike, *, what: str | None = None) -> Table:
    """Open any table-like ``data`` as an ibis table, without checking it against a schema.

    In-memory frames go to the default engine, ibis tables stay where they are,
    a Spark DataFrame is opened on its session.
    """
    data = _unwrap(data)
    if isinstance(data, Table):
        return data
    if _in_memory(data) or isinstance(data, (str, os.PathLike)):
        from .engine import default_engine

        return default_engine().table(_frame(data) if _in_memory(data) else data)
    if type(data).__module__.startswith("pyspark"):
        return _spark_engine(data).table(data)
    label = f"{what}: " if what else ""
    raise ParameterError(
        f"{label}expected a table (pandas or polars DataFrame, Arrow table, parquet/CSV path, ibis table "
        f"or Spark DataFrame); found a {type(data).__module__}.{type(data).__name__}")


def alongside(t: Table, other: Table) -> Table:
    """``t`` where ``other`` runs: an in-memory copy when the two are bound to different engines (a pandas
    table opened on the default DuckDB next to events on Spark, or on another DuckDB connection).

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> from marketing360.engine import default_engine
    >>> a = default_engine().table(pd.DataFrame({"x": [1]}))
    >>> alongside(a, a) is a
    True
    """
    try:
        mine, theirs = t._find_backend(), other._find_backend()
    except Exception:  # in-memory tables only (ibis.memtable): they run anywhere
        return t
    if mine is theirs:
        return t
    return ibis.memtable(fetch(t, "arrow"))


def as_population(data: TableLike, columns: Sequence[str], *, what: str) -> Table:
    """A population of consumers: the distinct rows of ``columns`` (``user_id`` first) of any table.

    Unlike the canonical ``users`` table a population may list a consumer
    several times (once per brand, say); the ids may not be null.
    """
    t = open_table(data, what=what)
    require_columns(t, columns, what=what, table_name="population")
    row = fetch(t.aggregate(n=t.count(), nulls=t.user_id.isnull().sum())).iloc[0]
    if not row["n"]:
        raise SchemaError(f"{what}: the population is empty (0 rows)", table="users")
    if row["nulls"]:
        raise SchemaError(f"{what}: the population has {row['nulls']} missing user_id(s)", table="users",
                          column="user_id")
    return t.select(*columns).distinct()


def column_counts(table: Table) -> dict[str, int]:
    """Rows (``"_rows"``) and non-null values of each optional canonical column of a checked events table
    (and, under ``"channel contains the separator"``, how many channel names contain the path separator;
    the same for campaigns).

    Known without a query for tables opened by :func:`as_table`.
    """
    known = _recall(table, "events")
    if known is not None:
        return dict(known.counts)
    names = [c.name for c in TABLES["events"].columns if c.nullable and c.name in table.columns]
    aggs = {c: table[c].count() for c in names}
    aggs.update({f"{c}{_WITH_SEP}": table[c].contains(PATH_SEP).sum() for c in _CREDIT_KEYS
                 if c in table.columns and table[c].type().is_string()})
    row = fetch(table.aggregate(_rows=table.count(), **aggs)).iloc[0]
    return {k: 0 if pd.isna(v) else int(v) for k, v in row.items()}


def _unwrap(data: TableLike) -> Any:
    from .results import Result

    if isinstance(data, Result):
        return data.expr if data.expr is not None else data.table()
    return data


def _in_memory(data: TableLike) -> bool:
    return isinstance(data, (pd.DataFrame, pa.Table, pa.RecordBatch)) or type(data).__module__.startswith("polars")


def _frame(data: TableLike) -> Any:
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if type(data).__module__.startswith("polars") and hasattr(data, "collect"):
        return data.collect()
    return data


def _need(columns: list[str], need: Sequence[str], table: str, label: str) -> None:
    schema = TABLES[table]
    required = [c.name for c in schema.columns if c.required] + [c for c in need]
    missing = list(dict.fromkeys(c for c in required if c not in columns))
    if missing:
        raise SchemaError(f"{label}{table}: missing required column(s) {missing}; found columns {columns}",
                          table=table, column=missing[0])


_SPARK_ENGINES: dict[int, Any] = {}


def _spark_engine(sdf: Any) -> Any:
    from .engine import connect

    session = sdf.sparkSession
    known = _SPARK_ENGINES.get(id(session))
    if known is None or known.closed:
        _SPARK_ENGINES[id(session)] = connect(session)
    return _SPARK_ENGINES[id(session)]


def _all_null_type(dtype: Any) -> bool:
    """A column type that holds only nulls (Arrow's ``null``, DuckDB's ``NULL`` from an all-null parquet column)."""
    return dtype.is_null() or (dtype.is_unknown() and "NULL" in str(dtype).upper())


def _type_ok(col: Column, dtype: Any) -> bool:
    if _all_null_type(dtype):
        return True
    if col.kind == "id":
        return dtype.is_integer() or dtype.is_string() or dtype.is_floating()  # floats: whole numbers only
    if col.kind in ("string", "event_type"):
        return dtype.is_string() or (col.kind == "string" and dtype.is_integer())
    if col.kind in ("timestamp", "date"):
        return dtype.is_timestamp() or dtype.is_date()
    return dtype.is_numeric() and not dtype.is_boolean()


_EXPECTED = {"id": "integer or string ids", "string": "strings", "event_type": "event type names",
             "timestamp": "timestamps", "date": "dates", "float": "numbers", "int": "whole numbers"}


def _null_of(col: Column) -> Any:
    kind = {"id": "string", "string": "string", "event_type": "string", "timestamp": "timestamp",
            "date": "timestamp", "float": "float64", "int": "float64"}[col.kind]
    return ibis.null(kind)


#: the columns journeys credit, whose names must not contain the path separator; their counts of such
#: names are kept under "<column> contains the separator"
_CREDIT_KEYS = ("channel", "campaign")
_WITH_SEP = " contains the separator"


def _infinite(x: Any) -> Any:
    """``x`` is +-inf (ibis 12 compiles ``isinf`` to FALSE on Spark; NaN sorts above every number there)."""
    return (x.abs() > ibis.literal(1.7976931348623157e308)) & ~x.isnan()


def _check_on_engine(t: Table, table: str, label: str) -> tuple[dict[str, Any], dict[str, int]]:
    """Types from the schema (free), then one aggregation for what only the data can tell.

    Returns the fixes to apply (column -> what to do, see :func:`_apply`) and the counts.
    """
    schema = TABLES[table]
    types = t.schema()
    fixes: dict[str, Any] = {}
    for col in schema.columns:
        if col.name not in types:
            fixes[col.name] = ("null",)
            continue
        dtype = types[col.name]
        if not _type_ok(col, dtype):
            hint = (" (open the data with marketing360.validate, which parses strings and unix times, "
                    "or cast it on the engine)" if col.kind in ("timestamp", "date") else "")
            raise SchemaError(f"{label}{table}.{col.name}: expected {_EXPECTED[col.kind]}; found {dtype}{hint}",
                              table=table, column=col.name)
        if col.kind in ("timestamp", "date") and dtype.is_date():
            fixes[col.name] = ("cast", "timestamp")
        elif col.kind in ("timestamp", "date") and dtype.is_timestamp() and dtype.timezone is not None:
            fixes[col.name] = ("cast", "timestamp")  # an instant -> naive UTC (the engines' sessions run in UTC)
        elif col.kind == "string" and dtype.is_integer():
            fixes[col.name] = ("cast", "string")
        elif col.kind == "id" and dtype.is_floating():
            fixes[col.name] = ("cast", "int64")
        elif _all_null_type(dtype):
            fixes[col.name] = ("null",)
    # one scan: a small group-by on the event type (a handful of keys) holds every other check as partial sums
    present = [c for c in schema.columns if c.name in types and not _all_null_type(types[c.name])]
    aggs: dict[str, Any] = {"_rows": t.count()}
    for col in present:
        x = t[col.name]
        floating = types[col.name].is_floating()
        if floating:  # NaN reads as missing (as in validate); an infinite amount or id is refused
            aggs[f"inf_{col.name}"] = _infinite(x).sum()
        if not col.nullable:  # (ibis counts NaN as null on Spark, not on DuckDB: say so for both)
            aggs[f"null_{col.name}"] = ((x.isnull() | x.isnan()) if floating else x.isnull()).sum()
        elif floating:
            aggs[f"nan_{col.name}"] = x.isnan().sum()
        if col.nonnegative:
            aggs[f"neg_{col.name}"] = (x < 0).sum()
        if col.kind == "date" and types[col.name].is_timestamp():
            aggs[f"tod_{col.name}"] = (x.truncate("D") != x).sum()
        if col.kind == "id" and floating:  # whole numbers within int64 (no cast here: it would fail on NaN)
            finite = x.notnull() & ~x.isnan() & ~_infinite(x)
            aggs[f"frac_{col.name}"] = (finite & (((x % 1) != 0) | (x.abs() >= 2.0**63))).sum()
        if col.kind == "string" and col.nullable and types[col.name].is_string():
            aggs[f"blank_{col.name}"] = (x == "").sum()  # on the engine: the empty string (validate also strips)
        if col.nullable:
            aggs[f"nonnull_{col.name}"] = x.count()
        if col.name in _CREDIT_KEYS and table == "events" and types[col.name].is_string():
            aggs[f"sep_{col.name}"] = x.contains(PATH_SEP).sum()
    kinds = {c.kind for c in present}
    by_type = "event_type" in kinds
    grouped = t.group_by("event_type").agg(**aggs) if by_type else t.aggregate(**aggs)
    parts = fetch(grouped, "arrow").to_pylist()
    row = {k: sum(int(p[k] or 0) for p in parts) for k in aggs}
    if not row["_rows"]:
        raise SchemaError(f"{label}{table}: the table is empty (0 rows)", table=table)
    for col in present:
        n = row.get(f"inf_{col.name}") or 0
        if n:
            raise SchemaError(f"{label}{table}.{col.name}: {n} infinite value(s); infinite values are not allowed",
                              table=table, column=col.name)
        nan = row.get(f"nan_{col.name}") or 0
        if nan:  # a nullable float (it has no other fix)
            fixes[col.name] = ("nan",)
            row[f"nonnull_{col.name}"] -= nan
        n = row.get(f"null_{col.name}") or 0
        if n:
            raise SchemaError(f"{label}{table}.{col.name}: {n} missing value(s); the column may not be null",
                              table=table, column=col.name)
        n = row.get(f"frac_{col.name}") or 0
        if n:
            raise SchemaError(f"{label}{table}.{col.name}: expected integer or string ids; found {n} non-integral "
                              "number(s)", table=table, column=col.name)
        n = row.get(f"neg_{col.name}") or 0
        if n:
            raise SchemaError(f"{label}{table}.{col.name}: {n} negative value(s); {col.name} must be >= 0",
                              table=table, column=col.name)
        n = row.get(f"tod_{col.name}") or 0
        if n:
            raise SchemaError(f"{label}{table}.{col.name}: expected dates; found {n} time(s) of day",
                              table=table, column=col.name)
        if row.get(f"blank_{col.name}"):
            fixes[col.name] = ("blank",)
            row[f"nonnull_{col.name}"] -= row[f"blank_{col.name}"]
    if by_type:
        names = [p["event_type"] for p in parts if p["event_type"] is not None]
        mapping = _event_type_map(names, table, label)
        if mapping:
            fixes["event_type"] = ("map", mapping)
    if schema.key:  # spend, outcomes, users: small tables, one more query
        require_unique(t, list(schema.key), what=label.rstrip(": ") or table, table_name=table)
    counts = {"_rows": int(row["_rows"]), **{c.name: int(row.get(f"nonnull_{c.name}") or 0)
                                             for c in schema.columns if c.nullable}}
    counts.update({f"{c}{_WITH_SEP}": int(row[f"sep_{c}"] or 0) for c in _CREDIT_KEYS if f"sep_{c}" in row})
    return fixes, counts


def _apply(t: Table, table: str, fixes: dict[str, Any]) -> Table:
    """``t`` in the canonical layout: absent optional columns as typed nulls, casts, blanks as nulls,
    event type synonyms mapped (the fixes :func:`_check_on_engine` found)."""
    if not fixes:
        return t
    schema = TABLES[table]
    exprs: dict[str, Any] = {}
    for name, (what, *arg) in fixes.items():
        if what == "null":
            exprs[name] = _null_of(schema[name])
        elif what == "cast":
            exprs[name] = t[name].cast(arg[0])
        elif what == "blank":
            exprs[name] = t[name].nullif("")
        elif what == "nan":
            exprs[name] = ibis.ifelse(t[name].isnan(), ibis.null("float64"), t[name])
        else:  # "map"
            exprs[name] = t[name].substitute(arg[0])
    order = [c.name for c in schema.columns] + [c for c in t.columns if c not in schema._by_name]
    return t.mutate(**exprs).select(*order)


_MAX_NAMES = 1000


def _event_type_map(names: Sequence[str], table: str, label: str) -> dict[str, str]:
    """The canonical name of each non-canonical event type among ``names`` (``"pv"``, ``"BUY"``); unknown ones
    raise."""
    values = [v for v in names if v not in EVENT_TYPES]
    if len(values) > _MAX_NAMES:
        raise SchemaError(f"{label}{table}.event_type: more than {_MAX_NAMES} distinct non-canonical event types; "
                          "map them with marketing360.validate(..., event_type_map=...) first",
                          table=table, column="event_type")
    mapping = {}
    for v in values:
        k = v.strip().lower()
        mapping[v] = k if k in EVENT_TYPES else EVENT_TYPE_SYNONYMS.get(k)
    unknown = [v for v, m in mapping.items() if m is None]
    if unknown:
        raise SchemaError(
            f"{label}{table}.event_type: unknown event type(s) {unknown[:5]}; allowed: {list(EVENT_TYPES)} "
            "(or a synonym such as 'pv', 'buy', 'fav', 'add_to_cart')", table=table, column="event_type")
    return {k: v for k, v in mapping.items() if v is not None}
