"""Rows of hashed sparse features, in memory or streamed from parquet, and the loss passes over them.

A *batch* is a CSR block: ``indptr`` (row starts), ``indices`` and
``values`` (the features of each row), the labels and the weights. The same
arrays come from a scipy CSR matrix or, without a copy, from the two list
columns :class:`~marketing360.prep.FeatureHasher` writes
(``features_index``, ``features_value``) in an Arrow table or a folder of
parquet files, read one row group at a time (out of core). The passes are
numba kernels that add into one gradient vector in place, so a model of
``10**8`` coefficients costs its own size once, not once per batch.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> rows = CsrRows(sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0]])), np.array([0.0, 1.0]))
>>> loss, grad = rows.loss_grad(np.zeros(3), "logistic")   # intercept first
>>> round(loss, 6), grad.tolist()
(0.693147, [0.0, 0.25, -0.5])
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from ..errors import ParameterError, SchemaError

__all__ = ["CsrRows", "ArrowRows", "ParquetRows", "rows_from", "LOSSES"]

#: the losses the passes know: logistic (y in {0, 1}) and squared error (halved)
LOSSES = ("logistic", "squared")


@numba.njit(cache=True, nogil=True)
def _pass(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, y: np.ndarray, w: np.ndarray,
          coef: np.ndarray, logistic: bool, grad: np.ndarray) -> float:  # pragma: no cover - compiled
    """Weighted loss of the rows at ``coef`` (``coef[0]`` the intercept); adds the loss gradient into ``grad``."""
    total = 0.0
    for r in range(len(indptr) - 1):
        z = coef[0]
        for p in range(indptr[r], indptr[r + 1]):
            z += coef[indices[p] + 1] * values[p]
        if logistic:
            if z > 0:
                total += w[r] * (z + math.log1p(math.exp(-z)) - y[r] * z)
                resid = 1.0 / (1.0 + math.exp(-z)) - y[r]
            else:
                ez = math.exp(z)
                total += w[r] * (math.log1p(ez) - y[r] * z)
                resid = ez / (1.0 + ez) - y[r]
        else:
            resid = z - y[r]
            total += w[r] * 0.5 * resid * resid
        resid *= w[r]
        grad[0] += resid
        for p in range(indptr[r], indptr[r + 1]):
            grad[indices[p] + 1] += resid * values[p]
    return total


@numba.njit(cache=True, nogil=True)
def _margins(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, coef: np.ndarray,
             out: np.ndarray) -> None:  # pragma: no cover - compiled
    for r in range(len(indptr) - 1):
        z = coef[0]
        for p in range(indptr[r], indptr[r + 1]):
            z += coef[indices[p] + 1] * values[p]
        out[r] = z


Batch = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class Rows:
    """Base of the row sources: iterate batches; the weighted loss and gradient of a linear model over them."""

    #: number of features (coefficients besides the intercept)
    n_features: int
    #: number of rows and the sum of their weights
    n_rows: int
    weight_sum: float
    #: every row's label, in order (checked once)
    labels: np.ndarray

    def batches(self) -> Iterator[Batch]:
        raise NotImplementedError

    def loss_grad(self, coef: np.ndarray, loss: str) -> tuple[float, np.ndarray]:
        """Mean weighted loss at ``coef`` (intercept first) and its gradient, in one pass."""
        grad = np.zeros(len(coef))
        total = 0.0
        logistic = loss == "logistic"
        for indptr, indices, values, y, w in self.batches():
            total += _pass(indptr, indices, values, y, w, coef, logistic, grad)
        grad /= self.weight_sum
        return total / self.weight_sum, grad

    def margins(self, coef: np.ndarray) -> np.ndarray:
        """``coef[0] + x . coef[1:]`` of every row, in order."""
        out = np.empty(self.n_rows)
        start = 0
        for indptr, indices, values, _, _ in self.batches():
            n = len(indptr) - 1
            _margins(indptr, indices, values, coef, out[start:start + n])
            start += n
        return out


def _check_labels(y: np.ndarray, loss: str, where: str) -> None:
    if not np.all(np.isfinite(y)):
        raise SchemaError(f"{where}: the labels hold null, NaN or infinite values")
    if loss == "logistic" and not np.isin(y, (0.0, 1.0)).all():
        bad = np.unique(y[~np.isin(y, (0.0, 1.0))])[:5].tolist()
        raise SchemaError(f"{where}: logistic regression needs labels in {{0, 1}}; found {bad}")


def _check_weights(w: np.ndarray, where: str) -> None:
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise SchemaError(f"{where}: sample weights must be finite and >= 0")


class CsrRows(Rows):
    """Rows of a scipy sparse matrix (or a dense array) with their labels and weights, in memory."""

    def __init__(self, x: Any, y: Any, w: Any = None, *, loss: str = "logistic") -> None:
        m = sp.csr_matrix(x, dtype=np.float64)
        m.sum_duplicates()
        y = np.asarray(y, dtype=np.float64).ravel()
        n = m.shape[0]
        w = np.ones(n) if w is None else np.asarray(w, dtype=np.float64).ravel()
        if len(y) != n or len(w) != n:
            raise ParameterError(f"x has {n} rows but y has {len(y)} and sample_weight {len(w)}")
        if n == 0:
            raise SchemaError("no rows to fit")
        if not np.all(np.isfinite(m.data)):
            raise SchemaError("the features hold NaN or infinite values")
        _check_labels(y, loss, "fit")
        _check_weights(w, "fit")
        self._batch = (m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data, y, w)
        self.n_features, self.n_rows, self.weight_sum = m.shape[1], n, float(w.sum())
        self.labels = y

    def batches(self) -> Iterator[Batch]:
        yield self._batch


def _csr_of(batch: pa.RecordBatch | pa.Table, index: str, value: str, label: str | None, weight: str | None,
            n_features: int | None, where: str) -> tuple[Batch, int]:
    """The CSR arrays of an Arrow batch's list columns (no copy where Arrow allows), and its largest index."""
    idx_col, val_col = batch.column(index), batch.column(value)
    if isinstance(idx_col, pa.ChunkedArray):
        idx_col, val_col = idx_col.combine_chunks(), val_col.combine_chunks()
    if idx_col.null_count or val_col.null_count:
        raise SchemaError(f"{where}: the feature lists {index!r} / {value!r} hold nulls")
    offsets = idx_col.offsets.to_numpy().astype(np.int64)
    if not np.array_equal(offsets, val_col.offsets.to_numpy()):
        raise SchemaError(f"{where}: {index!r} and {value!r} must hold lists of the same lengths, row by row")
    base = offsets[0]
    indices = idx_col.values.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)[base:offsets[-1]]
    values = val_col.values.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)[base:offsets[-1]]
    if len(indices) and indices.min() < 0:
        raise SchemaError(f"{where}: feature indices must be >= 0; found {int(indices.min())}")
    top = int(indices.max()) if len(indices) else -1
    if n_features is not None and top >= n_features:
        raise SchemaError(f"{where}: feature index {top} is beyond num_features = {n_features}")
    if not np.all(np.isfinite(values)):
        raise SchemaError(f"{where}: the feature values hold NaN or infinite values")
    n = len(batch)
    y = np.zeros(n) if label is None else _numeric(batch.column(label), label, where)
    w = np.ones(n) if weight is None else _numeric(batch.column(weight), weight, where)
    return (offsets - base, indices, values, y, w), top


def _numeric(col: Any, name: str, where: str) -> np.ndarray:
    if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_boolean(col.type)):
        raise SchemaError(f"{where}: column {name!r} must be numeric; found {col.type}")
    if col.null_count:
        raise SchemaError(f"{where}: column {name!r} holds nulls")
    return np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


class ArrowRows(Rows):
    """Rows of an Arrow table in memory, with list columns ``{features}_index`` / ``{features}_value``."""

    def __init__(self, table: pa.Table, *, features: str = "features", label: str | None = "label",
                 weight: str | None = None, n_features: int | None = None, loss: str = "logistic",
                 batch_rows: int = 1 << 20) -> None:
        index, value = f"{features}_index", f"{features}_value"
        _need(table.schema.names, [index, value, *([label] if label else []), *([weight] if weight else [])], "fit")
        self._batches: list[Batch] = []
        top = -1
        for b in table.to_batches(max_chunksize=batch_rows):
            batch, t = _csr_of(b, index, value, label, weight, n_features, "fit")
            _check_labels(batch[3], loss, "fit")
            _check_weights(batch[4], "fit")
            self._batches.append(batch)
            top = max(top, t)
        self.n_rows = table.num_rows
        if not self.n_rows:
            raise SchemaError("fit: no rows to fit")
        self.weight_sum = float(sum(b[4].sum() for b in self._batches))
        self.n_features = n_features if n_features is not None else top + 1
        self.labels = np.concatenate([b[3] for b in self._batches])

    def batches(self) -> Iterator[Batch]:
        yield from self._batches


def _need(names: list[str], wanted: list[str], where: str) -> None:
    missing = [c for c in wanted if c not in names]
    if missing:
        raise SchemaError(f"{where}: the table lacks column(s) {missing}; found {names}", column=missing[0])


class ParquetRows(Rows):
    """Rows streamed from parquet files one batch at a time on every pass: the data never sits in memory whole.

    A first pass checks every batch (labels, indices, weights) and counts the
    rows; later passes only read. Memory: one batch plus the model.
    """

    def __init__(self, path: str | Path, *, features: str = "features", label: str | None = "label",
                 weight: str | None = None, n_features: int | None = None, loss: str = "logistic",
                 batch_rows: int = 1 << 18) -> None:
        import pyarrow.dataset as ds

        self._dataset = ds.dataset(str(path), format="parquet")
        self._index, self._value = f"{features}_index", f"{features}_value"
        self._label, self._weight, self._batch_rows = label, weight, batch_rows
        self._columns = [self._index, self._value, *([label] if label else []), *([weight] if weight else [])]
        _need(self._dataset.schema.names, self._columns, "fit")
        self.n_rows, self.weight_sum, top = 0, 0.0, -1
        labels = []
        for b in self._dataset.to_batches(columns=self._columns, batch_size=batch_rows):
            batch, t = _csr_of(b, self._index, self._value, label, weight, n_features, "fit")
            _check_labels(batch[3], loss, "fit")
            _check_weights(batch[4], "fit")
            self.n_rows += len(b)
            self.weight_sum += float(batch[4].sum())
            top = max(top, t)
            labels.append(batch[3])
        if not self.n_rows:
            raise SchemaError(f"fit: no rows in {path}")
        self.n_features = n_features if n_features is not None else top + 1
        self.labels = np.concatenate(labels)

    def batches(self) -> Iterator[Batch]:
        for b in self._dataset.to_batches(columns=self._columns, batch_size=self._batch_rows):
            yield _csr_of(b, self._index, self._value, self._label, self._weight, None, "fit")[0]


def rows_from(x: Any, y: Any = None, sample_weight: Any = None, *, features: str = "features",
              label: str | None = "label", weight: str | None = None, n_features: int | None = None,
              loss: str = "logistic") -> Rows:
    """The row source for ``x``: a matrix (with ``y``), an Arrow table / pandas frame, or a parquet path / folder."""
    if isinstance(x, (str, Path)):
        if y is not None or sample_weight is not None:
            raise ParameterError("with a table, name the label and weight columns (label=, weight=) instead of "
                                 "passing y / sample_weight")
        return ParquetRows(x, features=features, label=label, weight=weight, n_features=n_features, loss=loss)
    if isinstance(x, pa.Table) or type(x).__module__.split(".")[0] in ("pandas", "polars", "ibis"):
        if y is not None or sample_weight is not None:
            raise ParameterError("with a table, name the label and weight columns (label=, weight=) instead of "
                                 "passing y / sample_weight")
        table = _arrow_of(x)
        return ArrowRows(table, features=features, label=label, weight=weight, n_features=n_features, loss=loss)
    if y is None:
        raise ParameterError("y is required with a feature matrix")
    rows = CsrRows(x, y, sample_weight, loss=loss)
    if n_features is not None and rows.n_features != n_features:
        raise ParameterError(f"x has {rows.n_features} columns but num_features is {n_features}")
    return rows


def _arrow_of(x: Any) -> pa.Table:
    if isinstance(x, pa.Table):
        return x
    mod = type(x).__module__.split(".")[0]
    if mod == "pandas":
        return pa.Table.from_pandas(x, preserve_index=False)
    if mod == "polars":
        return x.to_arrow()
    return x.to_pyarrow()
