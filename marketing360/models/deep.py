"""Deep click-through and conversion models: DCN-V2, DIN attention, ESMM and MMoE, trained on the CPU.

:class:`DeepClassifier` learns one or more binary tasks (a click, a visit, a
purchase) from categorical columns, numeric columns and a behaviour sequence:

* the categorical columns are embedded, the numerics standardised, and the
  behaviour sequence (a list column) pooled by DIN's attention with the
  embedding of a target column as its query (Zhou et al., KDD 2018);
* a DCN-V2 cross network (Wang et al., WWW 2021: ``x_{l+1} = x_0 * (W x_l +
  b) + x_l``, full or low-rank ``W``) models the feature crosses explicitly,
  stacked before the deep part; ``cross_layers=0`` leaves a plain MLP;
* ``head`` ties the tasks together: ``"shared"`` (one tower, a logit per
  task), ``"esmm"`` (the tasks form a funnel, each probability the product of
  the conditional steps before it, every step learned on the entire space —
  Ma et al., SIGIR 2018) or ``"mmoe"`` (experts mixed by a gate per task — Ma
  et al., KDD 2018).

Training is Adam on the mean log loss of the tasks, deterministic given
``random_state``, with early stopping on held-out rows (``lr_decays``: first
back to the best weights with smaller steps, plateau after plateau). On those
same rows ``calibration="sigmoid"`` then refits each task's logit by Platt
scaling: a network stopped early can rank well while its probabilities of a
rare task are off by a constant factor, which a positive scale and a shift of
the logit put right without changing the order of the rows (on a network that
is already calibrated, the two fitted numbers only add the noise of the
held-out rows); ``calibration="sigmoid-mean"`` keeps Platt's scale and sets
the shift from every row fitted, ten times the rows for a rare task's mean.
``folds=k`` cross-fits: ``k`` networks, each stopped early on the one fold it
did not learn from, one calibration fitted on every row's logits from the
network that held the row out, and the mean of the networks served.
:meth:`DeepClassifier.save` / :meth:`~DeepClassifier.load`
keep a fitted model, and :meth:`DeepClassifier.export` writes it as a
``torch.export`` program for serving (the categorical vocabularies inside the file).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"ad": rng.choice(["a", "b", "c"], 600)})
>>> df["click"] = (rng.random(600) < np.where(df.ad == "a", 0.7, 0.1)).astype(int)
>>> df["buy"] = df.click * (rng.random(600) < 0.5)
>>> m = DeepClassifier(tasks=["click", "buy"], categorical=["ad"], head="esmm",
...                    epochs=60, batch_size=64, progress=False).fit(df)
>>> p = m.predict_proba(df)
>>> bool((p.buy <= p.click).all())       # a purchase needs a click: the funnel holds
True
>>> fitted, data = p.groupby(df.ad).click.mean(), df.groupby("ad").click.mean()
>>> bool((fitted - data).abs().max() < 0.02), fitted.round(1).to_dict()
(True, {'a': 0.7, 'b': 0.1, 'c': 0.1})
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from .._optional import import_optional
from .._progress import Progress, show
from ..errors import EngineError, ParameterError, SchemaError
from ..estimators import Estimator, check_random_state

__all__ = ["DeepClassifier"]

Head = Literal["shared", "esmm", "mmoe"]
Pooling = Literal["din", "mean"]
Calibration = Literal["sigmoid", "sigmoid-mean"] | None


class DeepClassifier(Estimator):
    """Binary tasks learned together by a DCN-V2 network with DIN attention over a behaviour sequence.

    Parameters
    ----------
    tasks : list of str
        Label columns (0 / 1), one per task; for ``head="esmm"`` in funnel
        order (a row positive for a task is positive for every earlier one).
    categorical, numeric : list of str
        Feature columns: any values (embedded; values unseen in ``fit`` and
        nulls share one "unknown" vector) and numbers (standardised; no nulls).
    sequence : str, optional
        A list column of past behaviours (the items of ``sequence_target``'s
        vocabulary when it is given, which then shares its embedding; otherwise
        their own vocabulary); the last ``max_sequence`` are kept.
    sequence_target : str, optional
        The categorical column whose embedding queries the behaviours (DIN's
        candidate item); required for ``pooling="din"``.
    pooling : {"din", "mean"}
        DIN's attention unit, or the plain average of the behaviours.
    head : {"shared", "esmm", "mmoe"}
        How the tasks share the network (see the module's description).
    embed : int
        Embedding size.
    cross_layers, cross_rank : int
        DCN-V2 cross layers (0: none) and the rank of their matrices (0: full).
    hidden : list of int
        The deep part's layers (each expert's, with ``mmoe``).
    experts, tower : int
        MMoE experts; hidden units of each task's tower.
    dropout, lr, weight_decay : float
        Dropout in the deep part; Adam's step size and L2 decay.
    epochs, batch_size : int
        At most ``epochs`` passes over the training rows.
    validation_fraction, patience : float, int
        Rows held out to stop early: training stops after ``patience`` epochs
        without a lower validation loss, and the weights of the best epoch are
        kept (``validation_fraction=0``: every epoch, the last weights).
    lr_decays, lr_factor : int, float
        Plateaus to step down from before stopping: at each of the first
        ``lr_decays`` plateaus (``patience`` epochs without a lower validation
        loss) training goes back to the best epoch's weights and carries on
        with Adam's step size multiplied by ``lr_factor``; the next plateau
        stops it. A constant step leaves the weights wandering around the
        optimum by the noise of the last batches; the smaller steps settle
        them. Needs validation rows.
    validation_by : str, optional
        A column of dates, times or numbers: the held-out rows are then the
        latest ``validation_fraction`` of the rows by it (ties at the boundary
        drawn at random) instead of rows drawn at random. For a model that
        scores days after its training data, the epoch and the calibration
        are then chosen on the most recent behaviour: in a world that drifts,
        a random hold-out calibrates to the average of the training period
        (``benchmarks/deep_vs_logistic.py`` measures the difference). Read in
        ``fit`` only; it may also be a feature.
    validation_groups : str, optional
        A column naming each row's group (a consumer): the held-out rows are
        then whole groups, drawn in the order of ``random_state``'s
        permutation of the sorted distinct values until they hold at least
        ``validation_fraction`` of the rows. Rows drawn one by one leave a
        consumer's other days in the training rows, so the epoch and the
        calibration are chosen on consumers the network has partly learned;
        whole groups score it as it will be used, on consumers it has not
        seen. Read in ``fit`` only; not with ``validation_by``.
    folds : int
        ``0``: one network. ``k >= 2``: cross-fitting: the rows are dealt to
        ``k`` folds (whole ``validation_groups`` when given, else rows, in the
        order of ``random_state``'s permutation of them), ``k`` networks are
        trained, each on the other folds and stopped early on its own, and the
        calibration is fitted once on every row's logits from the network that
        did not learn the row; the model predicts the mean of the ``k``
        calibrated networks' probabilities. A single hold-out calibrates on a
        tenth of the rows (a rare task's few positives), and the rows a
        network learned from look likelier to it than new ones; the folds give
        the calibration every row, scored as new. It costs ``k`` trainings on
        ``(k - 1) / k`` of the rows, and ``k`` networks per prediction.
        ``validation_fraction`` is then unused; not with ``validation_by``.
    calibration : {"sigmoid", "sigmoid-mean", None}
        ``"sigmoid"``: after training, a positive scale and a shift of each
        task's logit are fitted on the validation rows (the ones that chose the
        epoch) by minimising their log loss against Platt's smoothed targets
        (``(N+ + 1) / (N+ + 2)`` and ``1 / (N- + 2)``; Platt, 1999). Each
        task's order of the rows is kept, except ESMM's later tasks: there each
        step is rescaled (so the funnel still holds), and a product of
        rescaled steps can reorder. Needs validation rows holding both classes
        of every task. ``"sigmoid-mean"``: Platt's scales as ``"sigmoid"``,
        then each task's shift set so that its mean probability over every
        row fitted (training and validation) equals its rate there, as a
        logistic regression's intercept makes it (calibration in the large;
        for ESMM task after task, down the funnel). A rare task's validation
        rows hold few positives, and the mean Platt fits there carries their
        noise; the rows of the whole fit hold ten times more (though a
        network predicts the rows it learned from a little higher than new
        ones: in the benchmark below, by about 2% of a rare task's mean).
        ``None``: the network's own probabilities.
        ``benchmarks/deep_vs_logistic.py`` measures them: Platt repairs an
        ESMM's biased purchase probabilities and adds noise to visits that
        were calibrated already; ``"sigmoid-mean"`` halves Platt's bias on
        purchases on average, though not in every seed.
    max_sequence : int
        Behaviours kept per row (the most recent, last in the list).
    attention_hidden : int
        Hidden units of DIN's activation unit.
    random_state : int, numpy Generator or None
        Seeds the initial weights and the batches (the same seed, the same model).
    progress : bool or "auto"
        A progress bar over the batches ("auto": in a notebook).

    Attributes
    ----------
    net_ : torch.nn.Module
        The trained network (``forward(categorical, numeric, sequence)``
        returns the tasks' probabilities; with ``folds``, the mean of its
        ``members``).
    vocabularies_ : dict
        Per categorical column (and ``sequence`` when it has its own), value
        (as text) to id; id 0 is unknown.
    numeric_mean_, numeric_scale_ : numpy.ndarray
    history_ : list of float
        Mean training loss per epoch (with ``folds``, a list per network).
    validation_history_ : list of float
        Validation loss per epoch (empty without validation rows; with
        ``folds``, a list per network).
    best_epoch_ : int
        The epoch whose weights were kept (1-based; with ``folds``, a list).
    calibration_ : pandas.DataFrame
        Per task, the ``scale`` and ``shift`` applied to its logit (1 and 0
        without calibration).
    """

    def __init__(self, *, tasks: Sequence[str] = ("click",), categorical: Sequence[str] = (),
                 numeric: Sequence[str] = (), sequence: str | None = None, sequence_target: str | None = None,
                 pooling: Pooling = "din", head: Head = "shared", embed: int = 8, cross_layers: int = 2,
                 cross_rank: int = 0, hidden: Sequence[int] = (64, 32), experts: int = 4, tower: int = 16,
                 dropout: float = 0.0, epochs: int = 5, batch_size: int = 512, lr: float = 3e-3,
                 weight_decay: float = 1e-4, validation_fraction: float = 0.1, validation_by: str | None = None,
                 validation_groups: str | None = None, folds: int = 0,
                 patience: int = 2, lr_decays: int = 0, lr_factor: float = 0.1, calibration: Calibration = None,
                 max_sequence: int = 20, attention_hidden: int = 16, random_state: int | None = 0,
                 progress: Progress = "auto") -> None:
        self.tasks = tasks
        self.categorical = categorical
        self.numeric = numeric
        self.sequence = sequence
        self.sequence_target = sequence_target
        self.pooling = pooling
        self.head = head
        self.embed = embed
        self.cross_layers = cross_layers
        self.cross_rank = cross_rank
        self.hidden = hidden
        self.experts = experts
        self.tower = tower
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.validation_by = validation_by
        self.validation_groups = validation_groups
        self.folds = folds
        self.patience = patience
        self.lr_decays = lr_decays
        self.lr_factor = lr_factor
        self.calibration = calibration
        self.max_sequence = max_sequence
        self.attention_hidden = attention_hidden
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        name = type(self).__name__
        for key in ("tasks", "categorical", "numeric", "hidden"):
            v = getattr(self, key)
            if isinstance(v, (str, bytes)) or not isinstance(v, Sequence):
                raise ParameterError(f"{name}: {key} must be a list; found {v!r}")
        if not self.tasks:
            raise ParameterError(f"{name}: give at least one task (a 0 / 1 label column)")
        cols = [*self.tasks, *self.categorical, *self.numeric] + ([self.sequence] if self.sequence else [])
        if any(not isinstance(c, str) or not c for c in cols):
            raise ParameterError(f"{name}: column names must be non-empty strings; found {cols!r}")
        dup = sorted({c for c in cols if cols.count(c) > 1})
        if dup:
            raise ParameterError(f"{name}: each column may play one role only; {dup} appear more than once")
        if not self.categorical and not self.numeric and not self.sequence:
            raise ParameterError(f"{name}: give some features (categorical, numeric or a sequence)")
        if self.head not in ("shared", "esmm", "mmoe"):
            raise ParameterError(f"{name}: head must be 'shared', 'esmm' or 'mmoe'; found {self.head!r}")
        if self.pooling not in ("din", "mean"):
            raise ParameterError(f"{name}: pooling must be 'din' or 'mean'; found {self.pooling!r}")
        if self.sequence_target is not None and self.sequence_target not in self.categorical:
            raise ParameterError(f"{name}: sequence_target {self.sequence_target!r} must be one of the categorical "
                                 f"columns {list(self.categorical)}")
        if self.sequence and self.pooling == "din" and self.sequence_target is None:
            raise ParameterError(f"{name}: DIN attention needs a query: set sequence_target to a categorical "
                                 "column (the candidate item), or pooling='mean'")
        for key, low in (("embed", 1), ("cross_layers", 0), ("cross_rank", 0), ("experts", 1), ("tower", 1),
                         ("epochs", 1), ("patience", 1), ("lr_decays", 0), ("batch_size", 1), ("max_sequence", 1),
                         ("attention_hidden", 1)):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                raise ParameterError(f"{name}: {key} must be an integer >= {low}; found {v!r}")
        if not isinstance(self.folds, int) or isinstance(self.folds, bool) or self.folds < 0 or self.folds == 1:
            raise ParameterError(f"{name}: folds must be 0 (one network) or an integer >= 2; found {self.folds!r}")
        if any(not isinstance(h, int) or isinstance(h, bool) or h < 1 for h in self.hidden):
            raise ParameterError(f"{name}: hidden must list positive layer sizes; found {self.hidden!r}")
        for key, lo, hi in (("dropout", 0.0, 1.0), ("lr", 0.0, math.inf), ("weight_decay", 0.0, math.inf),
                            ("validation_fraction", 0.0, 0.5), ("lr_factor", 0.0, 1.0)):
            v = getattr(self, key)
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            positive = key in ("lr", "lr_factor")
            if not ok or not (lo <= v < hi) or (positive and v == 0):
                extra = " and > 0" if positive else ""
                raise ParameterError(f"{name}: {key} must be a number in [{lo}, {hi}){extra}; found {v!r}")
        for key, does in (("validation_by", "orders the validation rows"),
                          ("validation_groups", "holds whole groups out")):
            v = getattr(self, key)
            if v is None:
                continue
            if not isinstance(v, str) or not v:
                raise ParameterError(f"{name}: {key} must be a column name or None; found {v!r}")
            if self.validation_fraction == 0 and not self.folds:
                raise ParameterError(f"{name}: {key}={v!r} {does}, but validation_fraction=0 holds none out; "
                                     f"raise it or drop {key}")
        if self.validation_by is not None and self.validation_groups is not None:
            raise ParameterError(f"{name}: validation_by and validation_groups both choose the validation rows; "
                                 "give one")
        if self.validation_by is not None and self.folds:
            raise ParameterError(f"{name}: folds={self.folds} holds every row out once, so there is no latest "
                                 "hold-out for validation_by to choose; give one of them")
        if self.lr_decays and self.validation_fraction == 0 and not self.folds:
            raise ParameterError(f"{name}: lr_decays={self.lr_decays} steps down at plateaus of the validation loss, "
                                 "but validation_fraction=0 holds no rows out; raise it or set lr_decays=0")
        if self.calibration not in ("sigmoid", "sigmoid-mean", None):
            raise ParameterError(f"{name}: calibration must be 'sigmoid', 'sigmoid-mean' or None; "
                                 f"found {self.calibration!r}")
        check_random_state(self.random_state)
        show(self.progress)

    def _frame(self, data: Any, columns: list[str]) -> pd.DataFrame:
        """The columns as a pandas frame (any table the engines take), checked present."""
        from ..inputs import open_table

        t = data if isinstance(data, pd.DataFrame) else open_table(data, what=type(self).__name__)
        missing = [c for c in columns if c not in t.columns]
        if missing:
            raise SchemaError(f"{type(self).__name__}: the data lacks column(s) {missing}; it has {list(t.columns)}")
        df = t if isinstance(t, pd.DataFrame) else t.select(*columns).to_pandas()
        if len(df) == 0:
            raise ParameterError(f"{type(self).__name__}: the data has no rows")
        return df

    def _labels(self, df: pd.DataFrame) -> np.ndarray:
        name = type(self).__name__
        out = np.empty((len(df), len(self.tasks)), dtype=np.float32)
        for j, task in enumerate(self.tasks):
            y = df[task]
            if y.isna().any():
                raise ParameterError(f"{name}: label {task!r} has missing values")
            if not (pd.api.types.is_bool_dtype(y) or pd.api.types.is_numeric_dtype(y)):
                raise ParameterError(f"{name}: label {task!r} must hold 0 / 1; found dtype {y.dtype}")
            v = y.to_numpy(dtype=np.float64)
            wrong = ~np.isin(v, (0.0, 1.0))
            if wrong.any():
                raise ParameterError(f"{name}: label {task!r} must hold 0 / 1; found "
                                     f"{sorted(set(v[wrong].tolist()))[:5]}")
            out[:, j] = v
        if self.head == "esmm":
            for j in range(1, len(self.tasks)):
                bad = int((out[:, j] > out[:, j - 1]).sum())
                if bad:
                    raise ParameterError(f"{name}: with head='esmm' the tasks are a funnel, but {bad} rows are "
                                         f"positive for {self.tasks[j]!r} and not for {self.tasks[j - 1]!r}")
        for j, task in enumerate(self.tasks):
            if out[:, j].min() == out[:, j].max():
                raise ParameterError(f"{name}: label {task!r} has one class only ({int(out[0, j])})")
        return out

    # ------------------------------------------------------------------ encoding
    def _validation_key(self, df: pd.DataFrame) -> np.ndarray | None:
        """The ``validation_by`` column as numbers that sort like it (None without it), checked."""
        if self.validation_by is None:
            return None
        return _order_key(df[self.validation_by],
                          f"{type(self).__name__}: validation_by column {self.validation_by!r}")

    def _validation_groups(self, df: pd.DataFrame) -> np.ndarray | None:
        """The ``validation_groups`` column as group numbers 0 .. k-1 in the order of its sorted values (None without
        it), checked."""
        if self.validation_groups is None:
            return None
        col = df[self.validation_groups]
        if col.isna().any():
            raise ParameterError(f"{type(self).__name__}: validation_groups column {self.validation_groups!r} has "
                                 f"{int(col.isna().sum())} missing value(s); every row needs its group")
        codes, _ = pd.factorize(col, sort=True)
        return codes

    def _columns(self) -> list[str]:
        return [*self.categorical, *self.numeric] + ([self.sequence] if self.sequence else [])

    def _fit_vocabularies(self, df: pd.DataFrame) -> dict[str, dict[str, int]]:
        vocab: dict[str, dict[str, int]] = {}
        for c in self.categorical:
            vals = df[c].dropna().astype(str)
            extra = _flat_tokens(df[self.sequence]) if self.sequence and c == self.sequence_target else []
            uniq = sorted(set(vals.unique()) | set(extra))
            vocab[c] = {v: i + 1 for i, v in enumerate(uniq)}
        if self.sequence and self.sequence_target is None:
            vocab[self.sequence] = {v: i + 1 for i, v in enumerate(sorted(set(_flat_tokens(df[self.sequence]))))}
        return vocab

    def _numeric(self, df: pd.DataFrame) -> np.ndarray:
        name = type(self).__name__
        if not self.numeric:
            return np.empty((len(df), 0), dtype=np.float32)
        dtypes = df.dtypes
        for c in self.numeric:
            if not (pd.api.types.is_numeric_dtype(dtypes[c]) or pd.api.types.is_bool_dtype(dtypes[c])):
                raise ParameterError(f"{name}: numeric column {c!r} is not numeric (dtype {dtypes[c]})")
        v = np.column_stack([df[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in self.numeric])
        bad = ~np.isfinite(v).all(axis=0)
        if bad.any():
            c = self.numeric[int(np.flatnonzero(bad)[0])]
            raise ParameterError(f"{name}: numeric column {c!r} has missing or infinite values; impute them "
                                 "first (marketing360.prep.Imputer)")
        return v.astype(np.float32)

    def encode(self, data: Any) -> dict[str, np.ndarray]:
        """The network's inputs for ``data``: ``categorical`` ids, raw ``numeric`` values, padded ``sequence`` ids.

        What the model :meth:`export` writes takes, in that order (ids from
        :attr:`vocabularies_`; 0 for unknown values and padding).
        """
        self._check_fitted()
        return self._encode(self._frame(data, self._columns()), self.vocabularies_)

    def _encode(self, df: pd.DataFrame, vocab: dict[str, dict[str, int]]) -> dict[str, np.ndarray]:
        cached = getattr(self, "_lookup", None)
        if cached is None or cached[0] is not vocab:  # built once per vocabulary: serving one row stays cheap
            cached = self._lookup = (vocab, _lookups(vocab))
        lookup = cached[1]
        cat = np.zeros((len(df), len(self.categorical)), dtype=np.int64)
        for j, c in enumerate(self.categorical):
            cat[:, j] = _ids(df[c], lookup[c], vocab[c])
        num = self._numeric(df)
        if self.sequence:
            key = self.sequence_target or self.sequence
            seq = _pad_sequences(df[self.sequence], lookup[key], vocab[key], self.max_sequence, type(self).__name__,
                                 self.sequence)
        else:
            seq = np.zeros((len(df), 0), dtype=np.int64)
        return {"categorical": cat, "numeric": num, "sequence": seq}

    # ------------------------------------------------------------------ fitting
    def fit(self, data: Any, y: None = None) -> "DeepClassifier":
        """Train on a table holding the feature columns and one 0 / 1 label column per task."""
        torch = import_optional("torch", purpose="deep click-through and conversion models")

        from . import _torchnets as tn

        self._check_params()
        if y is not None:
            raise ParameterError(f"{type(self).__name__}: the labels are columns of the data (tasks=...); "
                                 "do not pass y")
        columns = self._columns() + list(self.tasks)
        extra = [c for c in (self.validation_by, self.validation_groups) if c and c not in columns]
        df = self._frame(data, columns + extra)
        labels = self._labels(df)
        when = self._validation_key(df)
        groups = self._validation_groups(df)
        vocab = self._fit_vocabularies(df)
        x = self._encode(df, vocab)
        num = x["numeric"]
        mean = num.mean(axis=0, dtype=np.float64) if len(self.numeric) else np.zeros(0)
        scale = num.std(axis=0, dtype=np.float64) if len(self.numeric) else np.zeros(0)
        scale = np.where(scale > 0, scale, 1.0)
        seed = self.random_state
        if not isinstance(seed, (int, np.integer)):
            seed = int(check_random_state(seed).integers(2**31))
        spec = self._spec(vocab, mean, scale)
        gen = np.random.default_rng(seed)
        if self.folds:
            splits = _folds(gen, len(df), self.folds, groups, type(self).__name__)
        else:
            splits = [_holdout(gen, len(df), int(round(self.validation_fraction * len(df))), when, groups)]
        held = np.concatenate([val for val, _ in splits])  # the rows that choose the epochs and the calibration
        if self.calibration is not None:
            _check_calibration_rows(labels[held], list(self.tasks), self.validation_fraction, type(self).__name__)
        if len(held) and len(splits[0][1]) == 0:
            raise ParameterError(f"{type(self).__name__}: no training rows left after the validation split")
        with torch.random.fork_rng(devices=[]), _no_denormals(torch):
            torch.manual_seed(int(seed))
            tensors = [torch.from_numpy(x["categorical"]), torch.from_numpy(x["numeric"]),
                       torch.from_numpy(x["sequence"])]
            yt = torch.from_numpy(labels)
            runs = [self._train(torch, _build(tn, torch, spec, self), tensors, yt, train, val, gen,
                                f" {j + 1}/{len(splits)}" if self.folds else "")
                    for j, (val, train) in enumerate(splits)]
            nets = [r[0] for r in runs]
            if self.calibration is not None:
                z = torch.cat([_raw_logits(torch, net, tensors, torch.from_numpy(val))
                               for net, (val, _) in zip(nets, splits)])
                scale_, shift = _fit_platt(torch, tn, z, yt[torch.from_numpy(held)], nets[0].esmm)
                if self.calibration == "sigmoid-mean":
                    # each row's logit from a network that did not learn it (folds), or from the one network
                    every = z if self.folds else _raw_logits(torch, nets[0], tensors, torch.arange(len(df)))
                    y_every = labels[held] if self.folds else labels
                    shift = _match_means(every.numpy() * scale_, y_every, nets[0].esmm)
                for net in nets:
                    net.calibration_scale.copy_(torch.from_numpy(scale_))
                    net.calibration_shift.copy_(torch.from_numpy(shift))
        self.vocabularies_, self.numeric_mean_, self.numeric_scale_ = vocab, mean, scale
        self.net_, self._spec_ = (tn.Ensemble(nets) if self.folds else nets[0]), spec
        _, history, val_history, best = (list(r) for r in zip(*runs))  # per network
        one = not self.folds
        self.history_ = history[0] if one else history
        self.validation_history_ = val_history[0] if one else val_history
        self.best_epoch_ = best[0] if one else best
        return self

    def _train(self, torch: Any, net: Any, tensors: list[Any], yt: Any, train: np.ndarray,
               val: np.ndarray, gen: np.random.Generator, label: str) -> tuple[Any, list[float], list[float], int]:
        """Adam over the ``train`` rows, stopped early (and stepped down) on the ``val`` rows; the network with its
        best epoch's weights, the training and validation losses per epoch, and the epoch kept (1-based)."""
        from tqdm.auto import tqdm

        opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        n, n_val = len(train), len(val)
        steps = math.ceil(n / self.batch_size)
        history: list[float] = []
        val_history: list[float] = []
        best, best_state, best_epoch, waited, decays = math.inf, None, self.epochs, 0, 0
        bar = tqdm(total=self.epochs * steps, disable=not show(self.progress),
                   desc=f"{type(self).__name__} ({self.head}){label}", unit="batch")
        for epoch in range(self.epochs):
            net.train()
            order = torch.from_numpy(train[gen.permutation(n)])
            total = 0.0
            for s in range(steps):
                b = order[s * self.batch_size:(s + 1) * self.batch_size]
                loss = _log_loss(net, tensors, yt, b)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(b)
                bar.update(1)
            history.append(total / n)
            if n_val:
                net.eval()
                with torch.no_grad():
                    v = sum(float(_log_loss(net, tensors, yt, b)) * len(b)
                            for b in torch.from_numpy(val).split(8192)) / n_val
                val_history.append(v)
                if v < best:
                    best, best_epoch, waited = v, epoch + 1, 0
                    best_state = {k: t.detach().clone() for k, t in net.state_dict().items()}
                else:
                    waited += 1
                bar.set_postfix(loss=f"{history[-1]:.4f}", validation=f"{v:.4f}")
                if waited >= self.patience:
                    if decays == self.lr_decays or best_state is None:
                        bar.update(bar.total - bar.n)
                        break
                    decays, waited = decays + 1, 0  # a plateau: back to the best weights, smaller steps
                    net.load_state_dict(best_state)
                    for group in opt.param_groups:
                        group["lr"] *= self.lr_factor
            else:
                bar.set_postfix(loss=f"{history[-1]:.4f}")
        bar.close()
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
        return net, history, val_history, best_epoch if n_val else len(history)

    def _spec(self, vocab: dict[str, dict[str, int]], mean: np.ndarray, scale: np.ndarray) -> dict[str, Any]:
        seq_vocab = 0
        if self.sequence:
            seq_vocab = len(vocab[self.sequence_target or self.sequence])
        return {"cardinalities": [len(vocab[c]) for c in self.categorical], "mean": mean.tolist(),
                "scale": scale.tolist(), "seq_vocab": seq_vocab,
                "target": list(self.categorical).index(self.sequence_target) if self.sequence_target else -1}

    # ------------------------------------------------------------------ predicting
    def predict_proba(self, data: Any, *, batch: int = 8192) -> pd.DataFrame:
        """Each task's probability per row of ``data``: a frame with one column per task (pandas' index kept)."""
        torch = self._torch()
        df = self._frame(data, self._columns())
        x = self._encode(df, self.vocabularies_)
        out = np.empty((len(df), len(self.tasks)), dtype=np.float64)
        with torch.inference_mode():
            for s in range(0, len(df), batch):
                sl = slice(s, s + batch)
                out[sl] = self.net_(torch.from_numpy(x["categorical"][sl]), torch.from_numpy(x["numeric"][sl]),
                                    torch.from_numpy(x["sequence"][sl])).numpy()
        return pd.DataFrame(out, columns=list(self.tasks), index=df.index)

    @property
    def calibration_(self) -> pd.DataFrame:
        self._check_fitted()
        return pd.DataFrame({"scale": self.net_.calibration_scale.numpy().astype(np.float64),
                             "shift": self.net_.calibration_shift.numpy().astype(np.float64)},
                            index=pd.Index(list(self.tasks), name="task"))

    def _torch(self) -> Any:
        self._check_fitted()
        return import_optional("torch", purpose="deep click-through and conversion models")

    # ------------------------------------------------------------------ persistence and serving
    def save(self, path: str | Path) -> Path:
        """Write the fitted model (settings, vocabularies, weights) to one file, atomically."""
        torch = self._torch()
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(p.suffix + ".tmp")
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()}
        torch.save({"params": params, "spec": self._spec_, "vocabularies": self.vocabularies_,
                    "history": self.history_, "state": self.net_.state_dict()}, tmp)
        tmp.replace(p)
        return p

    @classmethod
    def load(cls, path: str | Path) -> "DeepClassifier":
        """Read a model written by :meth:`save`."""
        torch = import_optional("torch", purpose="deep click-through and conversion models")
        from . import _torchnets as tn

        blob = torch.load(Path(path), weights_only=True)
        self = cls(**blob["params"])
        spec = blob["spec"]
        self.net_ = (tn.Ensemble([_build(tn, torch, spec, self) for _ in range(self.folds)]) if self.folds
                     else _build(tn, torch, spec, self))
        state = blob["state"]
        if not self.folds:  # files saved before calibration existed: the identity
            for key in ("calibration_scale", "calibration_shift"):
                state.setdefault(key, getattr(self.net_, key))
        self.net_.load_state_dict(state)
        self.net_.eval()
        self.vocabularies_, self.history_, self._spec_ = blob["vocabularies"], blob["history"], spec
        self.numeric_mean_, self.numeric_scale_ = np.asarray(spec["mean"]), np.asarray(spec["scale"])
        return self

    def export(self, path: str | Path, *, compiled: bool = False) -> Path:
        """Write the network for serving, readable without marketing360: a ``torch.export`` program (``.pt2``).

        The served module takes :meth:`encode`'s three tensors (any number of
        rows, and any number of behaviours when the model has a sequence) and
        returns the tasks' probabilities. ``torch.export.load(path).module()``
        serves the program; its extra file ``marketing360.json`` holds the
        tasks, the column roles and the vocabularies.

        ``compiled=True`` compiles it ahead of time with AOTInductor instead:
        a package holding a shared library for this machine's CPU (it needs a
        C++ compiler, ``$CXX`` or ``g++``, and takes tens of seconds), served
        by ``torch._inductor.aoti_load_package(path)`` from Python or by
        torch's ``AOTIModelPackageLoader`` from C++, several times faster per
        request than the program (``benchmarks/inference.py``); the same JSON
        is its metadata entry ``marketing360.json`` (``.get_metadata()``).
        Compile it on the kind of machine that serves it.

        Examples
        --------
        >>> import json, tempfile, torch
        >>> import numpy as np, pandas as pd
        >>> from marketing360.models import DeepClassifier
        >>> df = pd.DataFrame({"slot": ["top", "side"] * 50, "x": np.arange(100.0), "click": [0, 1] * 50})
        >>> m = DeepClassifier(tasks=["click"], categorical=["slot"], numeric=["x"], epochs=1,
        ...                    progress=False).fit(df)
        >>> extra = {"marketing360.json": ""}
        >>> served = torch.export.load(m.export(tempfile.mkdtemp() + "/m.pt2"), extra_files=extra).module()
        >>> json.loads(extra["marketing360.json"])["tasks"]
        ['click']
        >>> x = m.encode(df.head(3))
        >>> served(*(torch.from_numpy(x[k]) for k in ("categorical", "numeric", "sequence"))).shape
        torch.Size([3, 1])
        """
        torch = self._torch()
        cxx = os.environ.get("CXX", "g++") if compiled else None
        if cxx is not None and shutil.which(cxx) is None:
            raise EngineError(f"{type(self).__name__}.export(compiled=True) compiles the network with a C++ "
                              f"compiler, and {cxx!r} is not on the PATH; install one (or set $CXX), or export "
                              "with compiled=False")
        x = {k: torch.from_numpy(v) for k, v in _example(self).items()}
        rows = torch.export.Dim("rows")
        seq_dims = {0: rows, 1: torch.export.Dim("behaviours")} if self.sequence else {0: rows}
        self.net_.eval()
        with torch.no_grad():
            program = torch.export.export(self.net_, (x["categorical"], x["numeric"], x["sequence"]),
                                          dynamic_shapes=({0: rows}, {0: rows}, seq_dims))
        meta = json.dumps({"tasks": list(self.tasks), "categorical": list(self.categorical),
                           "numeric": list(self.numeric), "sequence": self.sequence,
                           "sequence_target": self.sequence_target, "max_sequence": self.max_sequence,
                           "vocabularies": self.vocabularies_})
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        # torch names an archive's entries after its file: written whole to memory, then moved in place
        buffer = io.BytesIO()
        if compiled:
            with warnings.catch_warnings():  # torch 2.13's own internals, nothing the caller can act on
                warnings.filterwarnings("ignore", r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning)
                warnings.filterwarnings("ignore", r"`torch\.jit\.script_method` is deprecated", DeprecationWarning)
                from torch import _inductor

                _inductor.aoti_compile_and_package(
                    program, package_path=buffer,
                    inductor_configs={"aot_inductor.metadata": {"marketing360.json": meta}})
        else:
            torch.export.save(program, buffer, extra_files={"marketing360.json": meta})
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_bytes(buffer.getvalue())
        tmp.replace(p)
        return p


@contextmanager
def _no_denormals(torch: Any) -> Iterator[None]:
    """Flush denormal floats to zero while training: Adam's moments of rarely used embeddings decay into them,
    and the CPU computes with them many times slower (6x on the tests' models)."""
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def _order_key(col: pd.Series, what: str) -> np.ndarray:
    """Numbers that sort like ``col`` (dates, times or numbers), checked; ``what`` names the column in the errors."""
    if col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) in ("date", "datetime"):
        col = pd.to_datetime(col, utc=True)  # date / datetime objects (a DATE column read back), not text
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        if col.isna().any():
            raise ParameterError(f"{what} has missing times ({int(col.isna().sum())} rows)")
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            col = col.dt.tz_convert(None)
        return col.to_numpy(dtype="datetime64[ns]").view(np.int64)
    if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        hint = "" if pd.api.types.is_bool_dtype(col.dtype) else " (parse text dates first: pandas.to_datetime)"
        raise ParameterError(f"{what} must hold dates, times or numbers; found {col.dtype}{hint}")
    key = col.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(key).all():
        raise ParameterError(f"{what} has missing or infinite values ({int((~np.isfinite(key)).sum())} rows)")
    return key


def _holdout(gen: np.random.Generator, n: int, n_val: int, when: np.ndarray | None,
             groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the ``n_val`` validation rows and of the training rows (sorted): drawn at random, or the
    latest by ``when`` with the ties at the boundary drawn at random (one permutation of ``gen`` either way), or
    (``groups``: numbers 0 .. k-1) whole groups in the order of ``gen``'s permutation of them until they hold at
    least ``n_val`` rows (the validation rows then sorted too)."""
    if groups is not None:
        k = int(groups.max()) + 1
        order = gen.permutation(k)
        sizes = np.bincount(groups, minlength=k)[order]
        held = np.zeros(k, dtype=bool)
        if n_val > 0:
            held[order[: int(np.searchsorted(np.cumsum(sizes), n_val)) + 1]] = True
        mask = held[groups]
        return np.flatnonzero(mask), np.flatnonzero(~mask)
    perm = gen.permutation(n)
    if when is not None:  # descending by ``when``; a copy, as torch takes no negative strides
        perm = perm[np.argsort(when[perm], kind="stable")][::-1].copy()
    return perm[:n_val], np.sort(perm[n_val:])


def _folds(gen: np.random.Generator, n: int, k: int, groups: np.ndarray | None,
           label: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` pairs of (held-out, training) row positions, each sorted, every row held out once: whole groups
    (``groups``: numbers 0 .. g-1), or rows, dealt to the folds in the order of ``gen``'s permutation of them (the
    i-th to fold i mod k)."""
    units = n if groups is None else int(groups.max()) + 1
    if units < k:
        what = "rows" if groups is None else "groups"
        raise ParameterError(f"{label}: folds={k} needs at least {k} {what}; the data has {units}")
    fold_of = np.empty(units, dtype=np.int64)
    fold_of[gen.permutation(units)] = np.arange(units) % k
    fold = fold_of if groups is None else fold_of[groups]
    return [(np.flatnonzero(fold == j), np.flatnonzero(fold != j)) for j in range(k)]


def _check_calibration_rows(y: np.ndarray, tasks: list[str], fraction: float, label: str) -> None:
    """Platt scaling needs both classes of every task among the validation rows (before training, not after)."""
    if len(y) == 0:
        raise ParameterError(f"{label}: calibration is fitted on the validation rows, but validation_fraction="
                             f"{fraction} leaves none of these rows; raise it or set calibration=None")
    pos = y.sum(axis=0)
    for task, k in zip(tasks, pos):
        if k == 0 or k == len(y):
            raise ParameterError(f"{label}: calibration needs both classes of {task!r} among the {len(y)} "
                                 f"validation rows, which hold {int(k)} positive(s); raise validation_fraction "
                                 "or set calibration=None")


def _raw_logits(torch: Any, net: Any, tensors: list[Any], rows: Any) -> Any:
    """The network's logits before calibration on ``rows`` (positions), in float64."""
    with torch.no_grad():
        return torch.cat([net.raw_logits(*(t[b] for t in tensors)) for b in rows.split(8192)]).double()


def _fit_platt(torch: Any, tn: Any, z: Any, y: Any, esmm: bool) -> tuple[np.ndarray, np.ndarray]:
    """Platt scaling: the positive scale (the exp of a free number) and the shift of each task's logit ``z`` that
    minimise the log loss against Platt's smoothed targets of the labels ``y``, by L-BFGS from the identity (in
    float64), returned as the network's float32 buffers hold them."""
    with torch.no_grad():
        yb = y.double()
        pos = yb.sum(dim=0)
        target = torch.where(yb > 0, (pos + 1) / (pos + 2), 1 / (len(yb) - pos + 2))
    params = torch.zeros(2, z.shape[1], dtype=torch.float64, requires_grad=True)  # scale exp([0]), shift [1]
    opt = torch.optim.LBFGS([params], lr=1.0, max_iter=200, tolerance_grad=1e-8, tolerance_change=1e-12,
                            history_size=20, line_search_fn="strong_wolfe")

    def closure() -> Any:
        opt.zero_grad()
        log_p, log_q = tn.log_probs(z * params[0].exp() + params[1], esmm)
        loss = -(target * log_p + (1 - target) * log_q).mean()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return params[0].exp().float().numpy(), params[1].float().numpy()


def _match_means(z: np.ndarray, y: np.ndarray, esmm: bool) -> np.ndarray:
    """Calibration in the large: each task's shift of the (scaled) logits ``z`` such that the mean probability over
    the rows equals the task's rate in ``y``; for ESMM task after task, each a step of the funnel whose earlier
    steps are already set. The mean rises with the shift, so a bracketing root finder (Brent) solves it; when the
    earlier steps' mean is already at or below the rate (every visitor buys) the shift goes to the bracket's top."""
    from scipy.optimize import brentq
    from scipy.special import expit

    shifts = np.zeros(z.shape[1])
    prior: np.ndarray | float = 1.0  # ESMM: the chance of the funnel's earlier steps, row by row
    for j in range(z.shape[1]):
        rate = float(y[:, j].mean(dtype=np.float64))

        def gap(s: float, j: int = j, prior: np.ndarray | float = prior, rate: float = rate) -> float:
            return float(np.mean(prior * expit(z[:, j] + s))) - rate

        lo, hi = -60.0 - float(z[:, j].max()), 60.0 - float(z[:, j].min())
        shifts[j] = hi if gap(hi) <= 0 else brentq(gap, lo, hi, xtol=1e-12, rtol=1e-12)
        if esmm:
            prior = prior * expit(z[:, j] + shifts[j])
    return shifts


def _log_loss(net: Any, tensors: list[Any], y: Any, rows: Any) -> Any:
    """The mean log loss over the tasks of ``rows``."""
    log_p, log_q = net.log_probs(*(t[rows] for t in tensors))
    yb = y[rows]
    return -(yb * log_p + (1 - yb) * log_q).mean()


def _build(tn: Any, torch: Any, spec: dict[str, Any], m: DeepClassifier) -> Any:
    enc = tn.Encoder(spec["cardinalities"], torch.tensor(spec["mean"], dtype=torch.float32),
                     torch.tensor(spec["scale"], dtype=torch.float32), m.embed, spec["seq_vocab"], spec["target"],
                     share=m.sequence_target is not None, pooling=m.pooling, attention_hidden=m.attention_hidden)
    return tn.DeepNet(enc, m.cross_layers, m.cross_rank, list(m.hidden), m.head, len(m.tasks), m.experts, m.tower,
                      m.dropout)


def _example(m: DeepClassifier) -> dict[str, np.ndarray]:
    """Two rows of valid inputs (for export; two behaviours, as a length of 0 or 1 would be taken as fixed)."""
    seq_len = 2 if m.sequence else 0
    return {"categorical": np.ones((2, len(m.categorical)), dtype=np.int64),
            "numeric": np.tile(np.asarray(m.numeric_mean_, dtype=np.float32), (2, 1)).reshape(2, len(m.numeric)),
            "sequence": np.ones((2, seq_len), dtype=np.int64)}


def _flat_tokens(col: pd.Series) -> list[str]:
    arr = _list_array(col, "sequence", "")
    return pd.Series(arr.flatten().to_pandas()).dropna().astype(str).unique().tolist()


def _list_array(col: pd.Series, name: str, label: str) -> pa.ListArray:
    try:
        arr = pa.array(col.to_list())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        arr = None
    listed = arr is not None and (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)
                                  or pa.types.is_null(arr.type))
    if arr is None or not listed:
        raise ParameterError(f"{label}: the sequence column {name!r} must hold lists of behaviours (one list per row)")
    if pa.types.is_null(arr.type):
        arr = pa.array([[]] * len(col), type=pa.list_(pa.string()))
    return arr


def _lookups(vocab: dict[str, dict[str, int]]) -> dict[str, pd.Index]:
    """Per column, an index of the values in id order (id = position + 1)."""
    return {c: pd.Index(sorted(v, key=v.__getitem__)) for c, v in vocab.items()}


#: up to this many rows, text values are looked up one by one in the vocabulary's dict (a served request is one
#: row, and pandas' vectorised lookup costs tens of microseconds a call); more rows go through ``pd.Index``
_FEW_ROWS = 64


def _texts(values: list[Any]) -> bool:
    return all(isinstance(v, str) for v in values)


def _ids(values: pd.Series, lookup: pd.Index, vocab: dict[str, int]) -> np.ndarray:
    """Ids of the values (as text): 0 for nulls and unseen values."""
    if len(values) <= _FEW_ROWS and values.dtype == object:
        few = values.tolist()
        if _texts(few):
            return np.fromiter((vocab.get(v, 0) for v in few), dtype=np.int64, count=len(few))
    ids = lookup.get_indexer(values.astype(str)) + 1
    ids[values.isna().to_numpy()] = 0
    return ids.astype(np.int64)


def _pad_few(col: pd.Series, vocab: dict[str, int], max_len: int) -> np.ndarray | None:
    """:func:`_pad_sequences` of a few rows whose lists hold text only, one by one (None: not such rows)."""
    out = np.zeros((len(col), max_len), dtype=np.int64)
    for i, behaviours in enumerate(col.tolist()):
        if behaviours is None:
            continue
        if not isinstance(behaviours, (list, tuple, np.ndarray)):
            return None
        last = list(behaviours[len(behaviours) - max_len:] if len(behaviours) > max_len else behaviours)
        if not _texts(last):
            return None
        if last:
            out[i, max_len - len(last):] = [vocab.get(v, 0) for v in last]
    return out


def _pad_sequences(col: pd.Series, lookup: pd.Index, vocab: dict[str, int], max_len: int, label: str,
                   name: str) -> np.ndarray:
    """The last ``max_len`` tokens of each list as ids, left-padded with 0 (nulls and unknown tokens: 0)."""
    if len(col) <= _FEW_ROWS and col.dtype == object:
        few = _pad_few(col, vocab, max_len)
        if few is not None:
            return few
    arr = _list_array(col, name, label)
    offsets = arr.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    if arr.null_count:
        valid = ~arr.is_null().to_numpy(zero_copy_only=False)
        lengths = np.where(valid, np.diff(offsets), 0)
    else:
        lengths = np.diff(offsets)
    ids = _ids(arr.values.to_pandas(), lookup, vocab)
    n = len(col)
    out = np.zeros((n, max_len), dtype=np.int64)
    keep = np.minimum(lengths, max_len)
    rows = np.repeat(np.arange(n), keep)
    pos = np.arange(int(keep.sum())) - np.repeat(np.cumsum(keep) - keep, keep)  # 0 .. keep-1 within each row
    src = np.repeat(offsets[1:] - keep, keep) + pos
    out[rows, max_len - np.repeat(keep, keep) + pos] = ids[src]
    return out
