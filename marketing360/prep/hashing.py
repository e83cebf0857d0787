"""Feature hashing with Spark ML's ``FeatureHasher`` semantics: many columns into one sparse vector.

Examples
--------
>>> import pandas as pd
>>> from marketing360.prep import FeatureHasher
>>> df = pd.DataFrame({"price": [2.5, None], "brand": ["acme", "zeta"], "member": [True, False]})
>>> out = FeatureHasher(num_features=1 << 18).transform(df).to_pandas().sort_values("brand")
>>> out["features_index"].tolist(), out["features_value"].tolist()
([[201386, 216080, 47098], [201386, 160155, 64453]], [[2.5, 1.0, 1.0], [0.0, 1.0, 1.0]])
>>> murmur3_32("price=2.5".encode(), seed=42)
-2030860349
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
from ibis.expr.types import Table

from ..engine.columnstats import as_double
from ..errors import ParameterError, SchemaError
from ..types import TableLike
from ._base import ColumnTransformer

__all__ = ["FeatureHasher", "murmur3_32", "java_str"]

_M = 0xFFFFFFFF


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M


def murmur3_32(data: bytes, seed: int = 42) -> int:
    """MurmurHash3 (x86, 32-bit) of ``data`` as a signed int: Spark's ``Murmur3_x86_32.hashUnsafeBytes2``."""
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & _M
    n = len(data)
    body = n - n % 4
    for i in range(0, body, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (_rotl((k * c1) & _M, 15) * c2) & _M
        h = (_rotl(h ^ k, 13) * 5 + 0xE6546B64) & _M
    tail = data[body:]
    if tail:
        k = int.from_bytes(tail, "little")
        k = (_rotl((k * c1) & _M, 15) * c2) & _M
        h ^= k
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def java_str(value: Any) -> str:
    """A value as Scala's string interpolation writes it (``true``; ``1``; ``2.5``, ``1.0E-5``, ``1.23E8``).

    Examples
    --------
    >>> [java_str(v) for v in (True, 3, 2.5, 1e-5, 123456789.0, 0.001, 1e7)]
    ['true', '3', '2.5', '1.0E-5', '1.23456789E8', '0.001', '1.0E7']
    """
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        x = float(value)
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
        if x == 0 or 1e-3 <= abs(x) < 1e7:
            s = repr(x)
            if "e" in s:  # repr writes 1e-03 style for some in range: go positional
                s = np.format_float_positional(x, unique=True, trim="0")
            return s if "." in s else s + ".0"
        s = np.format_float_scientific(x, unique=True, trim="0", exp_digits=1)
        mant, exp = s.split("e")
        mant = mant if "." in mant and not mant.endswith(".") else mant.rstrip(".") + ".0"
        return f"{mant}E{int(exp)}"
    return str(value)


class FeatureHasher(ColumnTransformer):
    """Hash numeric, string and boolean columns into one sparse vector of ``num_features`` (Spark ML's
    ``FeatureHasher``; the hashing trick of Weinberger et al. 2009).

    A numeric column adds its value at index ``hash(name)``; a string or
    boolean column, or one named in ``categorical_columns``, adds 1 at index
    ``hash(name + "=" + value)``; the index is MurmurHash3 (x86, 32-bit, seed
    42) of the UTF-8 bytes modulo ``num_features``, as in Spark, so the same
    data gives Spark ML's vector on every engine. Nulls add nothing.

    The output is two array columns, ``{output}_index`` (int64) and
    ``{output}_value`` (float64), one entry per input column in the order
    of ``columns`` (a null value enters with 0; colliding indices appear
    twice and add up, as a sparse matrix built from them does). The distinct
    values of the categorical columns are hashed once, in Python, and joined
    back: the engine does the rest.

    Parameters
    ----------
    columns : list of str, optional
        Columns to hash; by default every numeric, string and boolean column.
    categorical_columns : list of str
        Numeric columns to treat as categories (their values are hashed).
    num_features : int
        Size of the vector (>= 1); a power of two spreads indices evenly.
    output : str
        Prefix of the two output columns.
    """

    def __init__(self, *, columns: Sequence[str] | None = None, categorical_columns: Sequence[str] = (),
                 num_features: int = 1 << 18, output: str = "features") -> None:
        self.columns = columns
        self.categorical_columns = categorical_columns
        self.num_features = num_features
        self.output = output

    def _check(self, table: Table) -> tuple[list[str], set[str]]:
        n = self.num_features
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 1 <= n <= 2**31 - 1:
            raise ParameterError(f"FeatureHasher: num_features must be an integer in [1, 2**31 - 1]; found {n!r}")
        if not isinstance(self.output, str) or not self.output:
            raise ParameterError(f"FeatureHasher: output must be a non-empty string; found {self.output!r}")
        schema = table.schema()
        usable = [c for c in schema.names if schema[c].is_numeric() or schema[c].is_string() or schema[c].is_boolean()]
        if self.columns is None:
            columns = usable
        elif isinstance(self.columns, str):
            raise ParameterError(f"FeatureHasher: columns must be a list of column names; found {self.columns!r}")
        else:
            columns = list(self.columns)
        if not columns:
            raise SchemaError("FeatureHasher: no column to hash (numeric, string or boolean)")
        for c in [*columns, *self.categorical_columns]:
            if c not in schema:
                raise SchemaError(f"FeatureHasher: no column {c!r}; found {list(schema.names)}", column=c)
            if c not in usable:
                raise SchemaError(f"FeatureHasher: column {c!r} must be numeric, string or boolean; found "
                                  f"{schema[c]}", column=c)
        extra = sorted(set(self.categorical_columns) - set(columns))
        if extra:
            raise ParameterError(f"FeatureHasher: categorical_columns {extra} are not among columns {columns}")
        cats = {c for c in columns if c in set(self.categorical_columns) or not schema[c].is_numeric()}
        for name in (f"{self.output}_index", f"{self.output}_value"):
            if name in schema:
                raise SchemaError(f"FeatureHasher: the table already has a column {name!r}; choose another output",
                                  column=name)
        return columns, cats

    def fit(self, data: TableLike | None = None, y: object = None) -> "FeatureHasher":
        """Check the settings (and, given data, the columns); nothing is learnt."""
        if data is not None:
            self._check(self._open(data)[0])
        self.fitted_ = True
        return self

    def _index(self, key: str) -> int:
        return murmur3_32(key.encode("utf-8")) % int(self.num_features)

    def transform(self, data: TableLike) -> Table:
        """``data`` with ``{output}_index`` and ``{output}_value`` (lazy after one query for the categories)."""
        table, engine = self._open(data)
        columns, cats = self._check(table)
        base = list(table.columns)
        keys: dict[str, Any] = {}
        if cats:
            order = [c for c in columns if c in cats]
            longer = table.select(**{c: table[c].cast("string") for c in order}).pivot_longer(order).distinct()
            found = engine.to_arrow(longer).to_pylist()
            types = table.schema()
            rows = []
            for r in found:
                if r["value"] is None:
                    continue
                typ = types[r["name"]]
                v = r["value"]
                shown = (v if typ.is_string() else java_str(v.lower() == "true") if typ.is_boolean()
                         else java_str(int(v)) if typ.is_integer() else java_str(float(v)))
                rows.append((r["name"], v, self._index(f"{r['name']}={shown}")))
            mapping = ibis.memtable(pa.table({"__m360_col": pa.array([r[0] for r in rows], pa.string()),
                                              "__m360_val": pa.array([r[1] for r in rows], pa.string()),
                                              "__m360_idx": pa.array([r[2] for r in rows], pa.int64())}))
            for i, c in enumerate(order):
                m = mapping.filter(mapping["__m360_col"] == c).select(
                    **{f"__m360_k{i}": mapping["__m360_val"], f"__m360_i{i}": mapping["__m360_idx"]})
                table = table.left_join(m, table[c].cast("string") == m[f"__m360_k{i}"]).drop(f"__m360_k{i}")
                keys[c] = i
        idx, val = [], []
        for c in columns:
            if c in cats:
                hit = table[f"__m360_i{keys[c]}"]
                idx.append(hit.fill_null(0).cast("int64"))
                val.append(ibis.ifelse(hit.isnull(), 0.0, 1.0).cast("float64"))
            else:
                idx.append(ibis.literal(self._index(c), "int64"))
                val.append(as_double(table[c]).fill_null(0.0))
        return table.select(*base, **{f"{self.output}_index": ibis.array(idx),
                                      f"{self.output}_value": ibis.array(val)})
