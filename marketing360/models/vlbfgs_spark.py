"""Vector-free L-BFGS on Spark: the model split in feature blocks over an RDD, only scalars reach the driver.

Chen, Wang & Zhou (NIPS 2014) observe that L-BFGS touches its vectors
through dot products and linear combinations alone. Here every vector the
optimiser holds (the point ``x``, gradients, the ``m`` pairs ``s`` / ``y``,
directions) is split into ``B`` contiguous blocks of coordinates (the
intercept, coordinate 0, first), and ONE state RDD holds, in partition
``b``, the dict ``name -> block b`` of every live vector:

* a linear operation (:meth:`SparkSpace.axpy`, ``sub``, ``combine``,
  ``align``, ``project``, ``pseudo_gradient``) adds a name to each block's
  dict with a lazy ``mapPartitions`` (pipelined until the next job);
* a dot product is one job that returns one small array per block; the
  driver adds them (``cross_dots`` returns its whole matrix in one pass);
* the state is persisted and locally checkpointed before a job when it
  holds a gradient not yet materialised (or after 8 operations), the
  previous persisted state then dropped, so the lineage does not grow with
  the iterations; the few numpy operations in between are rerun inside the
  job's own Python pass (persisting costs each task a second pass through
  Python); names the optimiser no longer holds (their
  :class:`SparkVector` handle was garbage collected) are dropped from the
  dicts.

The data (a Spark DataFrame of hashed features, the layout
:class:`~marketing360.prep.FeatureHasher` writes) is read once into CSR
arrays per data partition ``p`` (``D`` of them), checked, and cut into
pieces, one per (``p``, feature block ``b``); the ``D`` pieces of block
``b`` are cached in partition ``b`` of a pieces RDD, beside block ``b`` of
the state, and the labels / weights in partition ``p`` of a labels RDD.
One evaluation of the loss and gradient is:

1. the state zipped with the pieces (no shuffle: same partitions): block
   ``b`` of ``x`` gives each data partition's partial margins;
2. shuffle 1: the partial margins summed per data partition (in block
   order: deterministic), zipped with the labels: the loss and each row's
   residual. The loss, with ``|x|^2`` and ``|x|_1`` (for the penalties),
   comes back: three scalars per evaluation;
3. shuffle 2: each data partition's residuals sent to every block, zipped
   with the pieces: gradient block ``b``, added to the state (lazily: the
   next job computes it).

The worker functions are plain numpy, and this module is pickled by value,
so the workers never import :mod:`marketing360`.

Examples
--------
A sketch (needs a running SparkSession ``spark`` and a DataFrame ``sdf``
with ``features_index`` / ``features_value`` / ``label`` columns)::

    rows = SparkRows(sdf, loss="logistic")
    space = SparkSpace(spark.sparkContext, rows.n_features + 1, blocks=4)
    fun = rows.objective(space, l2=1e-3)
    res = minimize(fun, space.zeros(), space=space, memory=10)
    theta = space.to_numpy(res.x)
"""

from __future__ import annotations

import functools
import math
import pickle
import sys
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import numpy as np

from ..errors import ParameterError, SchemaError

__all__ = ["SparkSpace", "SparkVector", "SparkRows"]

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------- worker functions
# Everything below down to the classes runs on the Spark workers: numpy (and pyarrow for the first read) only.


def _ident(k: int) -> int:
    """The partitioner of the keyed RDDs here: key ``k`` goes to partition ``k``."""
    return k


def _zeros_block(b: int, key: str, bounds: list[int]) -> tuple[int, dict[str, np.ndarray]]:
    return b, {key: np.zeros(bounds[b + 1] - bounds[b])}


def _derive(it: Iterable[tuple[int, dict[str, np.ndarray]]], op: Callable[..., np.ndarray], out: str,
            drop: tuple[str, ...], args: tuple[Any, ...]) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Add ``out = op(b, block dict, *args)`` to each block's dict; forget the names in ``drop``."""
    for b, d in it:
        new = {k: v for k, v in d.items() if k not in drop}
        new[out] = op(b, d, *args)
        yield b, new


def _op_axpy(b: int, d: dict[str, np.ndarray], t: float, dk: str, xk: str) -> np.ndarray:
    return d[xk] + t * d[dk]


def _op_sub(b: int, d: dict[str, np.ndarray], ak: str, bk: str) -> np.ndarray:
    return d[ak] - d[bk]


def _op_combine(b: int, d: dict[str, np.ndarray], coefs: list[float], keys: list[str]) -> np.ndarray:
    out = coefs[0] * d[keys[0]]
    for c, k in zip(coefs[1:], keys[1:]):
        if c:
            out += c * d[k]
    return out


def _op_pseudo_gradient(b: int, d: dict[str, np.ndarray], xk: str, gk: str, l1: float) -> np.ndarray:
    w, g = d[xk], d[gk]
    right, left = g + l1, g - l1
    pg = np.where(w > 0, right, np.where(w < 0, left, np.where(left > 0, left, np.where(right < 0, right, 0.0))))
    if b == 0 and len(pg):  # the intercept is not penalised
        pg[0] = g[0]
    return pg


def _op_align(b: int, d: dict[str, np.ndarray], dk: str, pgk: str) -> np.ndarray:
    v, pg = d[dk], d[pgk]
    return np.where(v * pg < 0, v, 0.0)


def _op_project(b: int, d: dict[str, np.ndarray], newk: str, xk: str, pgk: str) -> np.ndarray:
    x_new, x, pg = d[newk], d[xk], d[pgk]
    orthant = np.where(x != 0, np.sign(x), -np.sign(pg))
    out = np.where(np.sign(x_new) == orthant, x_new, 0.0)
    if b == 0 and len(out):
        out[0] = x_new[0]
    return out


def _block_cross_dots(kv: tuple[int, dict[str, np.ndarray]], left: list[str],
                      right: list[str]) -> np.ndarray:
    d = kv[1]
    return np.array([[float(d[a] @ d[c]) for c in right] for a in left]).reshape(len(left), len(right))


def _block_l1(kv: tuple[int, dict[str, np.ndarray]], key: str) -> float:
    b, d = kv
    v = d[key][1:] if b == 0 else d[key]
    return float(np.abs(v).sum())


def _block_of(kv: tuple[int, dict[str, np.ndarray]], key: str) -> tuple[int, np.ndarray]:
    return kv[0], kv[1][key]


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a + b


def _block_margins(pair: tuple[tuple[int, dict[str, np.ndarray]], tuple[int, list[dict[str, Any]]]], key: str,
                   l2: bool) -> list[tuple[int, tuple[int, np.ndarray]]]:
    """Block ``b`` of ``x`` against its pieces: each data partition's partial margins, tagged with ``b``.

    The last two numbers of each array are ``|x_b|^2`` (if ``l2``) and ``|x_b|_1``, the intercept left out,
    for partition 0, else 0: the penalties' norms ride with the margins.
    """
    (b, d), (_, pieces) = pair
    xb = d[key]
    v = xb[1:] if b == 0 else xb
    sq = float(v @ v) if l2 else 0.0
    l1 = float(np.abs(v).sum())
    out = []
    for piece in pieces:
        n = piece["n"]
        z = np.zeros(n + 2)
        z[:n] = np.bincount(piece["row"], weights=piece["val"] * xb[piece["col"]], minlength=n)
        if b == 0 and len(xb):
            z[:n] = xb[0] + z[:n]
        if piece["p"] == 0:
            z[n:] = sq, l1
        out.append((piece["p"], (b, z)))
    return out


def _sum_sorted(it: Iterable[tuple[int, tuple[int, np.ndarray]]]) -> Iterator[tuple[int, np.ndarray]]:
    """The parts of each key summed in the order of their tag (deterministic, whatever the shuffle's order)."""
    for k, parts in _gather(it):
        total = parts[0].copy()
        for v in parts[1:]:
            total += v
        yield k, total


def _gather(it: Iterable[tuple[int, tuple[int, Any]]]) -> Iterator[tuple[int, list[Any]]]:
    """The values of each key as a list, in the order of their tag."""
    groups: dict[int, list[tuple[int, Any]]] = {}
    for k, tagged in it:
        groups.setdefault(k, []).append(tagged)
    for k, parts in groups.items():
        parts.sort(key=lambda t: t[0])
        yield k, [v for _, v in parts]


def _loss_resid(pair: tuple[tuple[int, tuple[np.ndarray, np.ndarray]], tuple[int, np.ndarray]],
                logistic: bool) -> tuple[int, tuple[np.ndarray, np.ndarray]]:
    """A data partition's weighted loss (summed), its share of ``|x|^2``, ``|x|_1`` and residuals ``w dloss/dz``."""
    (p, (y, w)), (_, zs) = pair
    z = zs[:-2]
    if logistic:
        ez = np.exp(-np.abs(z))
        loss = np.maximum(z, 0.0) + np.log1p(ez) - y * z
        prob = np.where(z > 0, 1.0 / (1.0 + ez), ez / (1.0 + ez))
        resid = prob - y
    else:
        resid = z - y
        loss = 0.5 * resid * resid
    return p, (np.array([float(w @ loss), zs[-2], zs[-1]]), w * resid)


def _loss_part(kv: tuple[int, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    return kv[1][0]


def _fan_resid(kv: tuple[int, tuple[np.ndarray, np.ndarray]], blocks: int) -> list[tuple[int, tuple[int, Any]]]:
    p, (_, r) = kv
    return [(b, (p, r)) for b in range(blocks)]


def _block_grad(pair: tuple[tuple[int, list[dict[str, Any]]], tuple[int, list[np.ndarray]]]) -> tuple[int, Any]:
    """Gradient block ``b`` (unscaled): ``sum_rows r_i x_i`` over its coordinates, data partitions in order."""
    (b, pieces), (_, resids) = pair
    g = np.zeros(pieces[0]["size"])
    for piece, r in zip(pieces, resids):
        g += np.bincount(piece["col"], weights=piece["val"] * r[piece["row"]], minlength=piece["size"])
        if b == 0 and piece["size"]:
            g[0] += r.sum()
    return b, g


def _merge_grad(pair: tuple[tuple[int, dict[str, np.ndarray]], tuple[int, np.ndarray]], key: str, xkey: str,
                scale: float, l2: float, intercept: bool, drop: tuple[str, ...]) -> tuple[int, dict[str, np.ndarray]]:
    """Add the gradient block (mean loss gradient + L2 term, the intercept's zeroed when not fitted) to the state."""
    (b, d), (_, gb) = pair
    g = gb * scale
    if l2:
        x = d[xkey]
        if b == 0:
            g[1:] += l2 * x[1:]
        else:
            g += l2 * x
    if b == 0 and not intercept and len(g):
        g[0] = 0.0
    new = {k: v for k, v in d.items() if k not in drop}
    new[key] = g
    return b, new


def _read_arrow(batches: Iterable[Any], index: str, value: str, label: str, weight: str | None, logistic: bool,
                n_features: int | None) -> Iterator[Any]:
    """One data partition's rows as CSR arrays and their checks, pickled into one Arrow row (``key``, ``payload``).

    The checks mirror the local readers' (same messages); the first failure is reported, not raised, so that
    the driver raises it as the local path would.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyspark import TaskContext

    pid = TaskContext.get().partitionId()  # type: ignore[union-attr]
    lengths, idx_parts, val_parts, ys, ws = [], [], [], [], []
    error: str | None = None
    bad: set[float] = set()
    top = -1
    for batch in batches:
        if error is not None or not len(batch):
            continue
        ic, vc = batch.column(index), batch.column(value)
        if ic.null_count or vc.null_count or ic.values.null_count or vc.values.null_count:
            error = f"fit: the feature lists {index!r} / {value!r} hold nulls"
            continue
        io, vo = ic.offsets.to_numpy().astype(np.int64), vc.offsets.to_numpy().astype(np.int64)
        if not np.array_equal(np.diff(io), np.diff(vo)):
            error = f"fit: {index!r} and {value!r} must hold lists of the same lengths, row by row"
            continue
        ind = ic.values.to_numpy(zero_copy_only=False).astype(np.int64)[io[0]:io[-1]]
        val = vc.values.to_numpy(zero_copy_only=False).astype(np.float64)[vo[0]:vo[-1]]
        if len(ind) and ind.min() < 0:
            error = f"fit: feature indices must be >= 0; found {int(ind.min())}"
            continue
        t = int(ind.max()) if len(ind) else -1
        if n_features is not None and t >= n_features:
            error = f"fit: feature index {t} is beyond num_features = {n_features}"
            continue
        if not np.all(np.isfinite(val)):
            error = "fit: the feature values hold NaN or infinite values"
            continue
        cols = [(label, batch.column(label))] + ([(weight, batch.column(weight))] if weight else [])
        nums = []
        for name, col in cols:
            if col.null_count:
                error = f"fit: column {name!r} holds nulls"
                break
            nums.append(np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64))
        if error is not None:
            continue
        y = nums[0]
        w = nums[1] if weight else np.ones(len(y))
        if not np.all(np.isfinite(y)):
            error = "fit: the labels hold null, NaN or infinite values"
            continue
        if logistic and not np.isin(y, (0.0, 1.0)).all():
            bad.update(np.unique(y[~np.isin(y, (0.0, 1.0))])[:5].tolist())
            continue
        if not np.all(np.isfinite(w)) or (w < 0).any():
            error = "fit: sample weights must be finite and >= 0"
            continue
        top = max(top, t)
        lengths.append(np.diff(io))
        idx_parts.append(ind)
        val_parts.append(val)
        ys.append(y)
        ws.append(w)
    n_row = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
    y = np.concatenate(ys) if ys else np.zeros(0)
    w = np.concatenate(ws) if ws else np.zeros(0)
    out = {"n_row": n_row, "indices": np.concatenate(idx_parts) if idx_parts else np.zeros(0, np.int64),
           "values": np.concatenate(val_parts) if val_parts else np.zeros(0), "y": y, "w": w,
           "stats": {"error": error, "bad": sorted(bad)[:5], "rows": len(y), "wsum": float(w.sum()), "top": top,
                     "classes": sorted(set(np.unique(y).tolist())) if logistic else []}}
    yield pa.RecordBatch.from_pydict({"key": [pid], "payload": [pickle.dumps(out, protocol=5)]},
                                     schema=pa.schema([("key", pa.int64()), ("payload", pa.binary())]))


def _unpack(row: Any) -> tuple[int, dict[str, Any]]:
    return int(row[0]), pickle.loads(row[1])


def _stats_of(kv: tuple[int, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    return kv[0], kv[1]["stats"]


def _split_pieces(kv: tuple[int, dict[str, Any]], rank: dict[int, int],
                  bounds: list[int]) -> list[tuple[int, tuple[int, dict[str, Any]]]]:
    """A data partition's rows cut in one CSR piece per feature block, keyed by the block, tagged ``p``."""
    p = rank[kv[0]]
    raw = kv[1]
    n = len(raw["y"])
    rows = np.repeat(np.arange(n, dtype=np.int64), raw["n_row"])
    coord = raw["indices"] + 1  # coordinate 0 is the intercept
    blocks = len(bounds) - 1
    blk = np.searchsorted(np.asarray(bounds), coord, side="right") - 1
    order = np.argsort(blk, kind="stable")
    cuts = np.searchsorted(blk[order], np.arange(blocks + 1))
    out = []
    for b in range(blocks):
        sel = order[cuts[b]:cuts[b + 1]]
        size = bounds[b + 1] - bounds[b]
        small = np.int32 if max(n, size) < 2**31 else np.int64  # a third less to keep and to read at each pass
        out.append((b, (p, {"row": rows[sel].astype(small), "col": (coord[sel] - bounds[b]).astype(small),
                            "val": raw["values"][sel], "n": n, "b": b, "p": p, "size": size})))
    return out


def _labels_of(kv: tuple[int, dict[str, Any]], rank: dict[int, int]) -> tuple[int, tuple[np.ndarray, np.ndarray]]:
    return rank[kv[0]], (kv[1]["y"], kv[1]["w"])


# ---------------------------------------------------------------------------------------------- driver side


def _batched(rdd: Any) -> Any:
    """``rdd`` written in batches of 100 pickles: every RDD zipped here is, so no zip re-pickles its inputs."""
    from pyspark.serializers import BatchedSerializer, CPickleSerializer

    return rdd._reserialize(BatchedSerializer(CPickleSerializer(), 100))


def _pickle_here_by_value() -> None:
    """Ship this module's functions by value: the workers then need numpy, not marketing360 (a 2 s import)."""
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])


class SparkVector:
    """A vector of a :class:`SparkSpace`: the name of its blocks in the state RDD (the data stays on Spark).

    When the handle is garbage collected, the name is dropped from the state at the next operation.
    """

    __slots__ = ("key", "__weakref__")

    def __init__(self, key: str, dead: set[str]) -> None:
        self.key = key
        weakref.finalize(self, dead.add, key)

    def __repr__(self) -> str:
        return f"SparkVector({self.key!r})"


class SparkSpace:
    """The :class:`~marketing360.models.vlbfgs.VectorSpace` of vectors split in feature blocks over one RDD.

    Parameters
    ----------
    sc : pyspark.SparkContext
    size : int
        Length of the vectors (``n_features + 1``, the intercept first).
    blocks : int, optional
        Number of blocks ``B`` (the state RDD's partitions); by default the
        context's default parallelism, at most ``size``.

    Attributes
    ----------
    bounds : list of int
        Block ``b`` holds coordinates ``bounds[b]:bounds[b + 1]``.
    scalars : int
        Numbers the driver received from the vectors so far (dot products,
        L1 norms, losses); ``jobs``: Spark jobs run.
    """

    def __init__(self, sc: Any, size: int, *, blocks: int | None = None) -> None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ParameterError(f"SparkSpace: size must be an integer >= 1; found {size!r}")
        if blocks is None:
            blocks = max(1, int(sc.defaultParallelism))
        if not isinstance(blocks, int) or isinstance(blocks, bool) or blocks < 1:
            raise ParameterError(f"SparkSpace: blocks must be an integer >= 1 or None; found {blocks!r}")
        _pickle_here_by_value()
        self.sc = sc
        self.size = size
        self.blocks = min(blocks, size)
        self.bounds = [b * size // self.blocks for b in range(self.blocks + 1)]
        self.scalars = 0
        self.jobs = 0
        self._dead: set[str] = set()
        self._l1: dict[str, float] = {}  # |x|_1 of the points evaluated, computed with their loss
        self._count = 0
        self._state: Any = None
        self._garbage: list[Any] = []  # persisted RDDs to drop at the next fresh materialisation of the state
        self._pending: list[Any] = []  # residual RDDs a not yet materialised state still needs
        self._heavy = False  # the state holds a gradient not yet materialised
        self._ops = 0  # operations since the last persisted state

    # ------------------------------------------------------------------ the state

    def _new(self) -> SparkVector:
        self._count += 1
        return SparkVector(f"v{self._count}", self._dead)

    def _take_dead(self) -> tuple[str, ...]:
        drop = tuple(sorted(self._dead))
        for k in drop:
            self._l1.pop(k, None)
        self._dead.clear()
        return drop

    def _apply(self, op: Callable[..., np.ndarray], *args: Any) -> SparkVector:
        """A new vector ``op(b, block dict, *args)``, blockwise, lazily."""
        out = self._new()
        fn = functools.partial(_derive, op=op, out=out.key, drop=self._take_dead(), args=args)
        self._state = _batched(self._state.mapPartitions(fn, preservesPartitioning=True))
        self._ops += 1
        return out

    def _persist_state(self) -> bool:
        """Persist and locally checkpoint the state before a job, when it is worth it; whether it was done.

        It is, when the state holds a gradient not yet materialised (a pass over the data not to be run twice),
        or after many operations. Otherwise the few numpy operations since the last persisted state are rerun
        in the job's own Python pass: persisting costs every task a second pass through Python.
        """
        from pyspark import StorageLevel

        st = self._state
        if st.is_cached or not (self._heavy or self._ops >= 8):
            return False
        st.persist(StorageLevel.MEMORY_AND_DISK)
        st.localCheckpoint()
        self._heavy, self._ops = False, 0
        return True

    def _after_job(self, fresh: bool) -> None:
        """After a job that materialised a fresh state: drop the older state and the residuals it needed."""
        self.jobs += 1
        if fresh:
            for r in self._garbage + self._pending:
                r.unpersist(blocking=False)
            self._garbage, self._pending = [self._state], []

    def _action(self, job: Callable[[], T]) -> T:
        """Run a job on the state, persisting and locally checkpointing it first when worth it."""
        fresh = self._persist_state()
        out = job()
        self._after_job(fresh)
        return out

    def zeros(self) -> SparkVector:
        """The zero vector (made on the workers); it starts the state."""
        out = self._new()
        base = self.sc.parallelize(range(self.blocks), self.blocks)
        if self._state is None:
            self._state = _batched(base.map(functools.partial(_zeros_block, key=out.key, bounds=self.bounds)))
        else:
            self._state = _batched(self._state.map(functools.partial(_add_zeros, key=out.key,
                                                                     drop=self._take_dead()),
                                                   preservesPartitioning=True))
        return out

    def to_numpy(self, v: SparkVector) -> np.ndarray:
        """The whole vector on the driver (for the fitted model at the end, or tests)."""
        got = self._action(lambda: self._state.map(functools.partial(_block_of, key=v.key)).collect())
        return np.concatenate([blk for _, blk in sorted(got, key=lambda t: t[0])])

    def close(self) -> None:
        """Drop every persisted RDD of this space."""
        for r in [*self._garbage, *self._pending, *([self._state] if self._state is not None else [])]:
            if r.is_cached:
                r.unpersist(blocking=False)
        self._garbage, self._pending, self._state = [], [], None

    # ------------------------------------------------------------------ the VectorSpace protocol

    def dot(self, a: SparkVector, b: SparkVector) -> float:
        return float(self.cross_dots([a], [b])[0, 0])

    def dots(self, a: SparkVector, others: list[SparkVector]) -> np.ndarray:
        return self.cross_dots([a], others)[0]

    def cross_dots(self, left: list[SparkVector], right: list[SparkVector]) -> np.ndarray:
        """The matrix of dot products, in one job (each block's small matrix, added up)."""
        fn = functools.partial(_block_cross_dots, left=[v.key for v in left], right=[v.key for v in right])
        out = self._action(lambda: self._state.map(fn).reduce(_add))
        self.scalars += len(left) * len(right)
        return np.asarray(out, dtype=float)

    def combine(self, coefs: np.ndarray, vectors: list[SparkVector]) -> SparkVector:
        return self._apply(_op_combine, [float(c) for c in coefs], [v.key for v in vectors])

    def axpy(self, t: float, d: SparkVector, x: SparkVector) -> SparkVector:
        return self._apply(_op_axpy, float(t), d.key, x.key)

    def sub(self, a: SparkVector, b: SparkVector) -> SparkVector:
        return self._apply(_op_sub, a.key, b.key)

    def pseudo_gradient(self, x: SparkVector, g: SparkVector, l1: float) -> SparkVector:
        return self._apply(_op_pseudo_gradient, x.key, g.key, float(l1))

    def align(self, d: SparkVector, pg: SparkVector) -> SparkVector:
        return self._apply(_op_align, d.key, pg.key)

    def project(self, x_new: SparkVector, x: SparkVector, pg: SparkVector) -> SparkVector:
        return self._apply(_op_project, x_new.key, x.key, pg.key)

    def l1_norm(self, x: SparkVector) -> float:
        if x.key in self._l1:  # computed with the loss at x
            return self._l1[x.key]
        fn = functools.partial(_block_l1, key=x.key)
        out = self._action(lambda: self._state.map(fn).sum())
        self.scalars += 1
        return float(out)


def _add_zeros(kv: tuple[int, dict[str, np.ndarray]], key: str,
               drop: tuple[str, ...]) -> tuple[int, dict[str, np.ndarray]]:
    b, d = kv
    new = {k: v for k, v in d.items() if k not in drop}
    new[key] = np.zeros_like(next(iter(d.values()))) if d else np.zeros(0)
    return b, new


def _arrow_type_name(dtype: Any) -> str:
    try:
        from pyspark.sql.pandas.types import to_arrow_type

        return str(to_arrow_type(dtype))
    except Exception:  # noqa: BLE001 - a type Arrow cannot hold: Spark's own name
        return str(dtype.simpleString())


class SparkRows:
    """The rows of a Spark DataFrame of hashed features, checked once, ready to be split for a :class:`SparkSpace`.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        List columns ``{features}_index`` (integers) / ``{features}_value``
        (numbers), the ``label`` column and optionally the ``weight`` column.
    features, label, weight : str
        Column names.
    n_features : int, optional
        Size of the hashed feature space; by default the largest index + 1.
    loss : {"logistic", "squared"}

    Notes
    -----
    One pass reads each data partition into CSR arrays (cached) and checks
    it; the first problem found is raised here with the local readers'
    message. :meth:`objective` then cuts the cached rows in pieces per
    feature block of the space (one shuffle, once).
    """

    def __init__(self, df: Any, *, features: str = "features", label: str = "label", weight: str | None = None,
                 n_features: int | None = None, loss: str = "logistic") -> None:
        from pyspark import StorageLevel
        from pyspark.sql import types as T

        from .sparse import _need

        if loss not in ("logistic", "squared"):
            raise ParameterError(f"loss must be 'logistic' or 'squared'; found {loss!r}")
        if type(df).__module__.startswith("pyspark.sql.connect"):
            raise ParameterError("fitting on a Spark Connect DataFrame is not supported (the optimiser needs RDDs); "
                                 "use a classic SparkSession, or write the table as parquet and pass the folder")
        if not (hasattr(df, "schema") and hasattr(df, "mapInArrow")):
            raise ParameterError(f"expected a pyspark.sql.DataFrame; found {type(df).__module__}.{type(df).__name__} "
                                 "(for a pandas-on-Spark frame, pass frame.to_spark())")
        index, value = f"{features}_index", f"{features}_value"
        _need(list(df.columns), [index, value, label, *([weight] if weight else [])], "fit")
        schema = {f.name: f.dataType for f in df.schema.fields}
        integral = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)
        numeric = (*integral, T.FloatType, T.DoubleType, T.DecimalType, T.BooleanType)
        it, vt = schema[index], schema[value]
        if not (isinstance(it, T.ArrayType) and isinstance(it.elementType, integral)):
            raise SchemaError(f"fit: column {index!r} must hold lists of integers; found {it.simpleString()}",
                              column=index)
        if not (isinstance(vt, T.ArrayType) and isinstance(vt.elementType, numeric)):
            raise SchemaError(f"fit: column {value!r} must hold lists of numbers; found {vt.simpleString()}",
                              column=value)
        for name in [label, *([weight] if weight else [])]:
            if not isinstance(schema[name], numeric):
                raise SchemaError(f"fit: column {name!r} must be numeric; found {_arrow_type_name(schema[name])}",
                                  column=name)
        _pickle_here_by_value()
        self.sc = df.sparkSession.sparkContext
        self.loss = loss
        self._closed = False
        cols = [index, value, label, *([weight] if weight else [])]
        read = functools.partial(_read_arrow, index=index, value=value, label=label, weight=weight,
                                 logistic=loss == "logistic", n_features=n_features)
        self._raw = (df.select(*[f"`{c}`" for c in cols]).mapInArrow(read, "key long, payload binary").rdd
                     .map(_unpack).persist(StorageLevel.MEMORY_AND_DISK))
        stats = sorted(self._raw.map(_stats_of).collect(), key=lambda t: t[0])
        for _, s in stats:
            if s["error"]:
                self.close()
                raise SchemaError(s["error"])
        bad = sorted({v for _, s in stats for v in s["bad"]})[:5]
        if bad:
            self.close()
            raise SchemaError(f"fit: logistic regression needs labels in {{0, 1}}; found {bad}")
        self.n_rows = sum(s["rows"] for _, s in stats)
        if not self.n_rows:
            self.close()
            raise SchemaError("fit: no rows to fit")
        self.weight_sum = float(sum(s["wsum"] for _, s in stats))
        top = max(s["top"] for _, s in stats)
        self.n_features = n_features if n_features is not None else top + 1
        self.classes = sorted({c for _, s in stats for c in s["classes"]})
        #: data partition (Spark's id) -> its rank among the non-empty ones (0 .. D-1)
        self._rank = {k: i for i, k in enumerate(k for k, s in stats if s["rows"])}
        self.parts = len(self._rank)
        self._pieces: Any = None
        self._labels: Any = None
        self._bounds: list[int] | None = None

    def close(self) -> None:
        """Drop the cached rows and pieces."""
        self._closed = True
        for r in (self._raw, getattr(self, "_pieces", None), getattr(self, "_labels", None)):
            if r is not None and r.is_cached:
                r.unpersist(blocking=False)

    def _split(self, space: SparkSpace) -> None:
        from pyspark import StorageLevel

        if self._bounds == space.bounds:
            return
        if space.size != self.n_features + 1:
            raise ParameterError(f"the space holds vectors of {space.size} coordinates; the model has "
                                 f"{self.n_features + 1} (n_features + 1)")
        rank, parts, blocks = self._rank, self.parts, space.blocks
        raw = self._raw.filter(lambda kv: kv[0] in rank)
        if self._pieces is not None:
            self._pieces.unpersist(blocking=False)
            self._labels.unpersist(blocking=False)
        self._pieces = _batched(raw.flatMap(functools.partial(_split_pieces, rank=rank, bounds=space.bounds))
                                .partitionBy(blocks, _ident).mapPartitions(_gather, preservesPartitioning=True))
        self._pieces.persist(StorageLevel.MEMORY_AND_DISK)
        self._labels = _batched(raw.map(functools.partial(_labels_of, rank=rank)).partitionBy(parts, _ident))
        self._labels.persist(StorageLevel.MEMORY_AND_DISK)
        self._pieces.count()
        self._labels.count()
        self._raw.unpersist(blocking=False)
        self._bounds = list(space.bounds)

    def objective(self, space: SparkSpace, *, l2: float = 0.0,
                  fit_intercept: bool = True) -> Callable[[SparkVector], tuple[float, SparkVector]]:
        """``x -> (f(x), grad f(x))`` of the mean weighted loss plus ``l2 / 2 |x[1:]|^2``, ``x`` in ``space``.

        One call runs one job (the margins, shuffle 1 and the loss: three
        scalars come back, the loss and the norms ``|x[1:]|^2``, ``|x[1:]|_1``,
        the latter kept for OWL-QN's next :meth:`SparkSpace.l1_norm`); the
        gradient (shuffle 2) joins the state lazily and is computed by the
        next job.
        """
        from pyspark import StorageLevel

        if self._closed:
            raise ParameterError("these rows were closed")
        self._split(space)
        pieces, labels = self._pieces, self._labels
        parts, blocks = self.parts, space.blocks
        scale, logistic, l2 = 1.0 / self.weight_sum, self.loss == "logistic", float(l2)
        level = StorageLevel.MEMORY_AND_DISK
        resid_fan = functools.partial(_fan_resid, blocks=blocks)
        loss_resid = functools.partial(_loss_resid, logistic=logistic)

        def fun(x: SparkVector) -> tuple[float, SparkVector]:
            fresh = space._persist_state()  # before the RDDs below, so that they read it rather than recompute it
            st = space._state
            zparts = st.zip(pieces).flatMap(functools.partial(_block_margins, key=x.key, l2=bool(l2)))
            z = _batched(zparts.partitionBy(parts, _ident).mapPartitions(_sum_sorted))  # shuffle 1
            resid = labels.zip(z).map(loss_resid).persist(level)
            totals = resid.map(_loss_part).reduce(_add)
            space._after_job(fresh)
            space.scalars += 3
            space._l1[x.key] = float(totals[2])  # asked for next by OWL-QN: no job then
            space._pending.append(resid)
            rmsg = _batched(resid.flatMap(resid_fan).partitionBy(blocks, _ident).mapPartitions(_gather))  # shuffle 2
            grad = _batched(pieces.zip(rmsg).map(_block_grad))
            g = space._new()
            space._state = _batched(st.zip(grad).map(functools.partial(
                _merge_grad, key=g.key, xkey=x.key, scale=scale, l2=l2, intercept=fit_intercept,
                drop=space._take_dead())))
            space._heavy = True
            loss = float(totals[0]) * scale + 0.5 * l2 * float(totals[1])
            return (loss if math.isfinite(loss) else math.inf), g

        return fun
