"""The mining engine's audience tags: per consumer × brand, the propensity of its next 4A transition.

:func:`audience_tags` learns, for each transition (Aware → Appeal, Appeal →
Act, Act → Advocate), how likely a consumer-brand pair in the lower stage is
to reach a higher one within ``horizon`` days, from the pairs of a few
earlier days whose outcome the events already show (their stage over the
horizon, read with the stage rules), and scores the pairs of the scoring day
with the model of their stage. Features are :func:`pair_features` (counts per
behaviour and window, recencies, the consumers' attributes), computed on the
events' engine. The tags table (``user_id, brand, stage, next_stage, score,
rank, decile``) feeds :func:`marketing360.assets.audience` (``tags=``, the
top pairs of a stage) and the 4E Execute step
(:meth:`AudienceTags.audiences` → :func:`marketing360.playbook.design_campaign`).

:func:`lookalike` expands a seed audience: a classifier learns the seed
against every other consumer from their behaviour over all brands (and their
attributes), and ranks the others by how much they look like the seed.

Examples
--------
>>> from marketing360.datasets import simulate
>>> w = simulate(n_users=1500, n_days=75, seed=3, truth="none", n_brands=3, n_categories=1, progress=False)
>>> tags = audience_tags(w.events, "2025-03-10", horizon=14)
>>> sorted(tags.table().stage.unique())
['act', 'appeal', 'aware']
>>> v = tags.validation.set_index("stage")
>>> bool((v.auc > 0.6).all())
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import ibis
import numpy as np
import pandas as pd

from .._days import as_day
from .._hashing import hash_unit
from ..assets.rules import STAGE_LEVEL, STAGES, StageRules
from ..assets.stages import _events, _rules, _tz, snapshots
from ..engine import fetch
from ..errors import ParameterError
from ..inputs import open_table
from ..results import Result, Summary
from ..types import TableLike
from ._folds import stratified_group_folds
from .deep import DeepClassifier
from .features import _check_flag, _check_ints, _local_day, pair_features

__all__ = ["audience_tags", "AudienceTags", "lookalike", "Lookalike", "TRANSITIONS", "lift_at", "calibration_error",
           "segments"]

#: each stage's next one: the transitions tagged
TRANSITIONS: dict[str, str] = {"aware": "appeal", "appeal": "act", "act": "advocate"}
_LABEL = "moved_up"
_DECILES = 10
#: the default logistic regression's candidate C (inverse L2 strength), chosen per stage by log loss over folds
_CS = tuple(float(c) for c in np.logspace(-4, 1, 11))
_FOLDS = 5


def _whole(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ParameterError(f"{name} must be a whole number >= {low}; found {value!r}")
    return int(value)


def _split_key(user_ids: np.ndarray, key: str) -> np.ndarray:
    """A hashed fifth of the consumers (the same consumer always on the same side)."""
    codes = user_ids if np.issubdtype(np.asarray(user_ids).dtype, np.integer) else pd.factorize(
        pd.Series(user_ids).astype(str), sort=True)[0]
    return hash_unit(np.asarray(codes), key) < 0.2


def segments(ids: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Consumers ranked best first, cut into ``n`` segments of equal size: ``high`` and ``low`` for two, ``q1``
    (best) .. ``qn`` otherwise (the audiences :func:`~marketing360.playbook.design_campaign` takes).

    >>> {k: v.tolist() for k, v in segments(np.array([7, 3, 9, 1]), 2).items()}
    {'high': [7, 3], 'low': [9, 1]}
    """
    n = _whole("n", n, 1)
    names = ["high", "low"] if n == 2 else [f"q{i + 1}" for i in range(n)]
    return dict(zip(names, np.array_split(np.asarray(ids), n)))


def _attributes(df: pd.DataFrame, columns: Sequence[str]) -> tuple[list[str], list[str]]:
    """Consumers' attribute columns split into numeric and categorical ones; the categorical ones become strings
    in place (``"<missing>"`` where absent), one type for the one-hot encoder."""
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    categorical = [c for c in columns if c not in numeric]
    _as_categories(df, categorical)
    return numeric, categorical


def _as_categories(df: pd.DataFrame, columns: Sequence[str]) -> None:
    for c in columns:
        df[c] = df[c].astype("string").fillna("<missing>").astype(object)


def _pair_of_vectors(y: Any, score: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    y, score = np.asarray(y, np.float64).ravel(), np.asarray(score, np.float64).ravel()
    if len(y) != len(score) or not len(y):
        raise ParameterError(f"{what}: outcomes and scores must be non-empty and of one length; found "
                             f"{len(y)} and {len(score)}")
    return y, score


def lift_at(y: Any, score: Any, share: float = 0.1) -> float:
    """The positive rate among the ``share`` best-scored rows over the overall rate (1: no better than chance).

    ``y`` may hold 0/1 outcomes or true probabilities.

    >>> lift_at(np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0]), np.arange(10, 0, -1), share=0.2)
    2.5
    """
    y, score = _pair_of_vectors(y, score, "lift_at")
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
        raise ParameterError(f"lift_at: share must be in (0, 1]; found {share!r}")
    k = max(1, int(round(share * len(y))))
    top = np.argsort(-score, kind="stable")[:k]
    return float(y[top].mean() / y.mean()) if y.mean() > 0 else float("nan")


def calibration_error(y: Any, p: Any, bins: int = 10) -> float:
    """Expected calibration error: the row-weighted mean of ``|mean(p) - mean(y)|`` over quantile bins of ``p``.

    ``y`` may hold 0/1 outcomes or true probabilities.

    >>> round(calibration_error(np.array([0, 0, 1, 1]), np.array([0.1, 0.1, 0.9, 0.7]), bins=2), 3)  # .1, .2
    0.15
    """
    y, p = _pair_of_vectors(y, p, "calibration_error")
    bins = _whole("bins", bins, 1)
    order = np.argsort(p, kind="stable")
    gaps = [abs(p[i].mean() - y[i].mean()) * len(i) for i in np.array_split(order, min(bins, len(p))) if len(i)]
    return float(np.sum(gaps) / len(p))


class AudienceTags(Result):
    """Per consumer-brand pair in Aware, Appeal or Act on the scoring day: ``user_id, brand, stage, next_stage,
    score`` (the chance of reaching a higher stage within the horizon), ``rank`` and ``decile`` (1 = the best
    tenth) among the brand's pairs of that stage.

    Attributes
    ----------
    date : pandas.Timestamp
        The scoring day (features from the events before it).
    horizon : int
    train_dates : list of pandas.Timestamp
        The days the models learned from.
    models : dict
        The fitted classifier of each stage (a scikit-learn pipeline over ``features``; a ``DeepClassifier``
        reads them with the numeric attributes through the pipeline's imputer: missing values filled by the
        training median, and flagged in ``missingindicator_<name>`` columns).
    features : list of str
        The columns the models read.
    validation : pandas.DataFrame
        Per stage: ``n_train``, ``moved_up`` (the share that moved up), ``auc``, ``lift_at_10`` and
        ``calibration_error`` of a model fitted without a hashed fifth of the consumers, on that fifth, and
        ``C``: the default logistic regression's inverse L2 strength (NaN for another estimator).
    held_out : pandas.DataFrame
        That fifth's ``stage, moved_up, score`` (for gains and reliability plots).
    rules : StageRules
    tz : str
        The stage rules and time zone the stages were read with.
    """

    title: ClassVar[str] = "audience tags"
    keys = ("stage", "brand", "rank")

    def __init__(self, frame: pd.DataFrame, *, date: pd.Timestamp, horizon: int, train_dates: list[pd.Timestamp],
                 models: dict[str, Any], features: list[str], validation: pd.DataFrame,
                 held_out: pd.DataFrame, rules: StageRules, tz: str) -> None:
        super().__init__(frame)
        self.date, self.horizon, self.train_dates, self.rules, self.tz = date, horizon, train_dates, rules, tz
        self.models, self.features, self.validation, self.held_out = models, features, validation, held_out

    def _tidy(self, df: pd.DataFrame) -> pd.DataFrame:
        order = {s: i for i, s in enumerate(STAGES)}
        return df.sort_values(["stage", "brand", "rank"], key=lambda c: c.map(order) if c.name == "stage" else c,
                              ignore_index=True)

    def _notes(self) -> list[str]:
        t = self.table()
        return [f"{len(t):,} pairs tagged on {self.date.date()} by their chance of a higher stage within "
                f"{self.horizon} days; learned from {len(self.train_dates)} day(s), "
                f"{self.train_dates[0].date()} to {self.train_dates[-1].date()}"]

    def summary(self) -> Summary:
        return Summary(self.title, notes=self._notes(), tables=[("held-out validation", self.validation)])

    def audiences(self, brand: str, stage: str, n: int = 2) -> dict[str, np.ndarray]:
        """The ``stage`` consumers of ``brand`` in ``n`` segments of equal size by score: ``high`` and ``low``
        for two, ``q1`` (best) .. ``qn`` otherwise; for :func:`~marketing360.playbook.design_campaign`."""
        t = self.table()
        if stage not in TRANSITIONS:
            raise ParameterError(f"stage must be one of {list(TRANSITIONS)}; found {stage!r}")
        if brand not in set(t.brand):
            raise ParameterError(f"no pair of brand {brand!r} is tagged; brands are {sorted(set(t.brand))}")
        return segments(t[(t.brand == brand) & (t.stage == stage)].user_id.to_numpy(), n)

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """Cumulative gains on the held-out fifth: the share of the movers found in the best-scored share of the
        pairs, per stage (the diagonal: chance); returns the figure."""
        from ..viz.playbook import plot_tag_gains

        return plot_tag_gains(self.held_out, horizon=self.horizon, ax=ax, **kwargs)


def _pipeline(classifier: Any, counts: list[str], numeric: list[str], categorical: list[str]) -> Any:
    """``classifier`` (cloned) after log-scaled, standardised counts,
    standardised numerics (missing ones imputed with the median, plus an indicator) and one-hot categoricals."""
    from sklearn.base import clone
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    parts = [("counts", make_pipeline(FunctionTransformer(np.log1p), StandardScaler()), counts)]
    if numeric:  # attributes may be missing (a consumer not in users=): the median and an indicator
        parts.append(("numeric", make_pipeline(_attribute_imputer(),
                                               StandardScaler()), numeric))
    if categorical:
        parts.append(("categorical", OneHotEncoder(handle_unknown="ignore"), categorical))
    return make_pipeline(ColumnTransformer(parts), clone(classifier))


def _logistic_cv(scoring: str, **kwargs: Any) -> Any:
    """The defaults' logistic regression: ``C`` among ``_CS`` by ``scoring`` over folds given at fit."""
    from sklearn.linear_model import LogisticRegressionCV

    return LogisticRegressionCV(Cs=_CS, l1_ratios=(0.0,), scoring=scoring, max_iter=3000,
                                use_legacy_attributes=False, **kwargs)


def _consumers_by_outcome(df: pd.DataFrame) -> pd.Series:
    """How many consumers have a pair that did not move up (index 0) and one that did (index 1)."""
    return df.groupby(_LABEL).user_id.nunique().reindex([0, 1], fill_value=0)


def _cv_folds(df: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
    """Up to 5 folds of ``df``'s rows, each consumer's rows in one fold, the outcomes spread evenly (scikit-learn's
    ``StratifiedGroupKFold``, compiled): a consumer appears on several training days, and folds by row would let
    the rows of one consumer choose ``C`` for the others."""
    k = min(_FOLDS, int(_consumers_by_outcome(df).min()))
    codes = pd.factorize(df.user_id.astype(str), sort=True)[0]
    return stratified_group_folds(df[_LABEL].to_numpy(), codes, k)


def _check_estimator(estimator: Any) -> None:
    if estimator is not None and not isinstance(estimator, DeepClassifier) and not (
            hasattr(estimator, "fit") and hasattr(estimator, "predict_proba")):
        raise ParameterError(f"estimator must have fit and predict_proba; found {type(estimator).__name__}")


def _attribute_imputer() -> Any:
    """Missing numeric attributes (a consumer not in ``users=``): the training median, plus an indicator column
    of the values that were missing (for the scikit-learn pipeline and the DeepClassifier alike)."""
    from sklearn.impute import SimpleImputer

    return SimpleImputer(strategy="median", add_indicator=True)


class _Learner:
    """One way to fit and score a frame: scikit-learn (a pipeline on the columns) or a DeepClassifier (its
    numeric attributes through the pipeline's imputer first: it takes no missing values)."""

    def __init__(self, estimator: Any, counts: list[str], numeric: list[str], categorical: list[str],
                 sequence: bool, C: float | None = None) -> None:
        from sklearn.base import clone
        from sklearn.linear_model import LogisticRegression

        categorical = ["brand", *categorical]  # brands differ in their base rates
        self.columns = [*counts, *numeric, *categorical, *(["sequence"] if sequence else [])]
        self.counts, self.attributes = counts, numeric
        self.imputer: Any = None
        # the default without a C: a user's own LogisticRegressionCV keeps its own folds
        self.cross_validated = estimator is None and C is None
        if isinstance(estimator, DeepClassifier):
            self.deep = True
            self.model = clone(estimator).set_params(
                tasks=(_LABEL,), categorical=categorical, sequence="sequence" if sequence else None,
                sequence_target="brand" if sequence else None)
        else:
            self.deep = False
            if estimator is None:  # the default: C given, or chosen by log loss over folds set at fit (_cv_folds)
                estimator = (LogisticRegression(C=C, max_iter=3000) if C is not None
                             else _logistic_cv("neg_log_loss"))
            self.model = _pipeline(estimator, counts, numeric, categorical)
        self.C = C

    def _deep_frame(self, df: pd.DataFrame, labels: bool = False) -> pd.DataFrame:
        """The columns the DeepClassifier reads, the attributes imputed (with their indicators)."""
        out = df[[c for c in self.columns if c not in self.attributes] + ([_LABEL] if labels else [])]
        if not self.attributes:
            return out
        filled = self.imputer.transform(df[self.attributes])
        names = list(self.imputer.get_feature_names_out())
        return pd.concat([out.reset_index(drop=True), pd.DataFrame(filled, columns=names)], axis=1)

    def fit(self, df: pd.DataFrame) -> "_Learner":
        if self.deep:
            names: list[str] = []
            if self.attributes:
                self.imputer = _attribute_imputer().fit(df[self.attributes])
                names = list(self.imputer.get_feature_names_out())
            self.model.set_params(numeric=[*self.counts, *names])
            self.model.fit(self._deep_frame(df, labels=True))
        else:
            y = df[_LABEL].to_numpy()
            if self.cross_validated:
                self.model.set_params(logisticregressioncv__cv=_cv_folds(df))
            self.model.fit(df[self.columns], y)
            if self.cross_validated:
                self.C = float(self.model[-1].C_)
        return self

    def score(self, df: pd.DataFrame) -> np.ndarray:
        if not len(df):
            return np.zeros(0)
        if self.deep:
            return self.model.predict_proba(self._deep_frame(df))[_LABEL].to_numpy(np.float64)
        return np.asarray(self.model.predict_proba(df[self.columns])[:, 1], dtype=np.float64)


def _moved_up(ev: Any, dates: list[pd.Timestamp], horizon: int, rules: StageRules, tz: str) -> pd.DataFrame:
    """The highest level each pair reaches on the days ``t .. t + horizon - 1`` of each ``t``, on the engine."""
    span = pd.date_range(dates[0], dates[-1] + pd.Timedelta(days=horizon - 1), freq="D")
    snap = snapshots(ev, span, rules=rules, tz=tz).expr
    cal = ibis.memtable(pd.DataFrame({"_t": [d.date() for d in dates],
                                      "_end": [(d + pd.Timedelta(days=horizon - 1)).date() for d in dates]}))
    day = snap.date.cast("date")
    j = snap.join(cal, (day >= cal._t) & (day <= cal._end))
    best = j.group_by([j._t, j.user_id, j.brand]).agg(_best=j.level.max())
    out = fetch(best, "pandas").rename(columns={"_t": "date"})
    return out.assign(date=pd.to_datetime(out["date"]))


def _features(ev: Any, dates: list[pd.Timestamp], *, users: Any, windows: Sequence[int], horizon: int,
              sequence: int, consumer: bool, rules: StageRules, tz: str) -> tuple[pd.DataFrame, list[str]]:
    pf = pair_features(ev, dates, users=users, windows=windows, horizon=horizon, sequence=sequence,
                       consumer=consumer, rules=rules, tz=tz)
    df = pf.table()
    return df[df.level.isin([STAGE_LEVEL[s] for s in TRANSITIONS])].reset_index(drop=True), pf.numeric


def audience_tags(events: TableLike, date: Any, *, horizon: int = 14, train_dates: Sequence[Any] | None = None,
                  windows: Sequence[int] = (7, 30, 90), users: TableLike | None = None, estimator: Any = None,
                  stages: Sequence[str] = ("aware", "appeal", "act"), sequence: int = 20,
                  consumer: bool = False, rules: StageRules | None = None, tz: str = "UTC") -> AudienceTags:
    """Tag every Aware, Appeal and Act pair with its chance of reaching a higher stage within ``horizon`` days.

    Parameters
    ----------
    events : table
        Canonical events on any engine, covering the look-back before the first training day to ``date``.
    date : date-like
        The scoring day: the pairs in a tagged stage at the end of the day before, their features from the
        events before it.
    horizon : int
        Days (from the day scored on) within which reaching a higher stage counts.
    train_dates : sequence of date-like, optional
        The days the models learn from; each one's horizon must end before ``date``. By default four days a
        week apart, the last ``horizon`` days before ``date``.
    windows : list of int
        Look-back windows of the counts (see :func:`pair_features`). The widest must reach as far back as
        the rules' window of every tagged stage (90 days for Act by default): a pair is tagged when it has an
        event in the widest window, and a pair in Act by a purchase 60 days ago must have one.
    users : table, optional
        Consumers' attributes (``user_id`` and any columns: numeric ones standardised, missing ones imputed,
        others one-hot).
    estimator : scikit-learn classifier or DeepClassifier, optional
        Cloned per stage. By default a logistic regression whose L2 strength is chosen per stage by log loss
        over up to 5 folds of consumers (``C`` among 10^-4 .. 10, half a decade apart; chosen on the four fifths
        left for validation, then fitted on all the pairs); ``benchmarks/audience_tags.py`` measures what it
        gains over a fixed ``C = 1``: Act tags rank closer to the true chances in every world tried, with the
        fewest pairs and the most to overfit. A scikit-learn classifier reads log-scaled,
        standardised counts, standardised numeric attributes and one-hot brands and attributes. A
        :class:`DeepClassifier` is given the same columns raw (it embeds and standardises them), the behaviour
        sequence when its ``sequence`` is set, and one task.
    stages : sequence of {"aware", "appeal", "act"}
        The stages tagged.
    sequence : int
        Behaviours in the sequence column a DeepClassifier with ``sequence`` reads.
    consumer : bool
        Also read the consumer's counts over every brand (``pair_features(consumer=True)``): they show the
        consumer's own propensity. ``benchmarks/audience_tags.py --consumer`` measures it against the
        simulator's true chances: Aware and Appeal tags rank better in every world tried, Act tags (few
        training pairs) no better (their AUC against the true chances within 0.01 either way); the tags take about
        1.5 times as long.
    rules : StageRules, optional
    tz : str

    Returns
    -------
    AudienceTags

    Raises
    ------
    ParameterError
        Unknown stages, a horizon or windows that are not whole numbers, windows that do not reach back the
        tagged stages' rule windows, a training day whose horizon reaches ``date`` or passes the events, a
        stage whose training pairs all moved up (or none did), or, for the default model, whose pairs that
        moved up (or did not) belong to fewer than 2 consumers.
    """
    ev = _events(events, "audience_tags")
    rules, tz = _rules(rules), _tz(tz)
    horizon = _whole("horizon", horizon, 1)
    sequence = _whole("sequence", sequence, 0)
    _check_flag("consumer", consumer)  # before the work that precedes pair_features
    if isinstance(stages, str) or not len(stages) or any(s not in TRANSITIONS for s in stages):
        raise ParameterError(f"stages must be some of {list(TRANSITIONS)}; found {stages!r}")
    wanted = [s for s in TRANSITIONS if s in set(stages)]
    windows = _check_ints("windows", windows, 1)
    reach = max(getattr(rules, s).window for s in wanted)
    if windows[-1] < reach:
        raise ParameterError(f"the widest of windows {windows} must reach back {reach} days, the rules' window "
                             f"of the stages tagged: a pair in such a stage by an event {windows[-1] + 1} or more "
                             f"days old would go untagged")
    day = as_day(date, "date", tz=tz)
    if train_dates is None:
        train = [day - pd.Timedelta(days=horizon + 7 * k) for k in range(3, -1, -1)]
    else:
        if isinstance(train_dates, (str, pd.Timestamp)) or not len(train_dates):
            raise ParameterError(f"train_dates must be a non-empty list of dates; found {train_dates!r}")
        train = sorted({as_day(d, "train_dates", tz=tz) for d in train_dates})
    late = [d.date() for d in train if d + pd.Timedelta(days=horizon) > day]
    if late:
        raise ParameterError(f"train_dates {late} are too late: their {horizon}-day horizon reaches the scoring "
                             f"day {day.date()} (the outcome is not known yet)")
    _check_estimator(estimator)
    seq = sequence if isinstance(estimator, DeepClassifier) and estimator.sequence is not None else 0

    end = fetch(ev.ts.max())
    last = None if end is None or pd.isna(end) else _local_day(pd.Timestamp(end), tz)
    if last is None or train[-1] + pd.Timedelta(days=horizon - 1) > last:
        raise ParameterError(f"the events end on {None if last is None else last.date()}, before the horizon of "
                             f"the training day {train[-1].date()}: the outcome is not known")
    fit_df, numeric = _features(ev, train, users=users, windows=windows, horizon=horizon, sequence=seq,
                                consumer=consumer, rules=rules, tz=tz)
    best = _moved_up(ev, train, horizon, rules, tz)
    fit_df = fit_df.merge(best, on=["date", "user_id", "brand"], how="left")
    fit_df[_LABEL] = (fit_df._best.fillna(0).to_numpy() > fit_df.level.to_numpy()).astype(np.int64)
    fit_df = fit_df.drop(columns="_best")

    counts = [c for c in numeric if c != "level"]
    label_cols = {c for c in fit_df.columns if c.startswith("next_")}
    extra = [c for c in fit_df.columns if c not in {"date", "user_id", "brand", "level", "sequence", _LABEL,
                                                    *numeric, *label_cols}]
    user_num, user_cat = _attributes(fit_df, extra)

    models: dict[str, Any] = {}
    rows, held_parts = [], []
    for stage in wanted:
        part = fit_df[fit_df.level == STAGE_LEVEL[stage]].reset_index(drop=True)
        if part.empty or part[_LABEL].nunique() < 2:
            what = "no pair was" if part.empty else ("every pair" if part[_LABEL].iloc[0] else "no pair")
            raise ParameterError(f"{stage}: {what} {'in this stage' if part.empty else 'moved up'} on the training "
                                 f"days {[d.date() for d in train]}: nothing to learn (other train_dates, a longer "
                                 f"horizon, or leave {stage!r} out of stages)")
        by_outcome = _consumers_by_outcome(part)
        if estimator is None and by_outcome.min() < 2:
            few = "moved" if by_outcome.idxmin() else "did not move"
            raise ParameterError(f"{stage}: fewer than 2 consumers have a pair that {few} up on the training days "
                                 f"{[d.date() for d in train]}: too few to choose the default model's regularisation "
                                 f"by cross-validation (other train_dates, pass an estimator, or leave {stage!r} "
                                 "out of stages)")
        held = _split_key(part.user_id.to_numpy(), f"tags|{stage}")
        row: dict[str, Any] = {"stage": stage, "next_stage": TRANSITIONS[stage], "n_train": len(part),
                               "moved_up": float(part[_LABEL].mean())}
        a, b = part[~held], part[held]
        C = None
        if b[_LABEL].nunique() == 2 and _consumers_by_outcome(a).min() >= (2 if estimator is None else 1):
            from sklearn.metrics import roc_auc_score

            first = _Learner(estimator, counts, user_num, user_cat, bool(seq)).fit(a)
            s, C = first.score(b), first.C
            y = b[_LABEL].to_numpy()
            row.update(auc=float(roc_auc_score(y, s)), lift_at_10=lift_at(y, s),
                       calibration_error=calibration_error(y, s))
            held_parts.append(pd.DataFrame({"stage": stage, _LABEL: y, "score": s}))
        else:  # a fifth (or the rest) with one class: nothing to validate on
            row.update(auc=float("nan"), lift_at_10=float("nan"), calibration_error=float("nan"))
        # the default's C, chosen on the four fifths, serves the fit on all the pairs (else chosen there)
        models[stage] = _Learner(estimator, counts, user_num, user_cat, bool(seq), C=C).fit(part)
        row["C"] = float("nan") if models[stage].C is None else models[stage].C
        rows.append(row)

    now, _ = _features(ev, [day], users=users, windows=windows, horizon=1, sequence=seq, consumer=consumer,
                       rules=rules, tz=tz)
    _as_categories(now, user_cat)
    parts = []
    for stage in wanted:
        g = now[now.level == STAGE_LEVEL[stage]]
        parts.append(pd.DataFrame({"user_id": g.user_id.to_numpy(), "brand": g.brand.to_numpy(), "stage": stage,
                                   "next_stage": TRANSITIONS[stage], "score": models[stage].score(g)}))
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.sort_values(["stage", "brand", "score", "user_id"], ascending=[True, True, False, True],
                              kind="mergesort", ignore_index=True)
    grp = frame.groupby(["stage", "brand"], sort=False)
    frame["rank"] = grp.cumcount() + 1
    size = grp.user_id.transform("size")
    frame["decile"] = ((frame["rank"] - 1) * _DECILES // size + 1).astype(np.int64)
    held_out = pd.concat(held_parts, ignore_index=True) if held_parts else pd.DataFrame(
        {"stage": [], _LABEL: [], "score": []})
    return AudienceTags(frame, date=day, horizon=horizon, train_dates=train,
                        models={s: m.model for s, m in models.items()}, features=models[wanted[0]].columns,
                        validation=pd.DataFrame(rows), held_out=held_out, rules=rules, tz=tz)


class Lookalike(Result):
    """Consumers outside the seed, most seed-like first: ``user_id, score`` (the classifier's score of "seed":
    a ranking, not a probability when the classes are reweighted) and ``rank``.

    Attributes
    ----------
    date : pandas.Timestamp
    n_seed : int
        Seed consumers with features (the positives).
    recovery_auc : float
        A hashed fifth of the seed left out of a second fit: how well that fit ranks them above the other
        consumers (1: all first, 0.5: chance); NaN when the seed is too small to spare them.
    model : estimator
    features : list of str
    """

    title: ClassVar[str] = "lookalike audience"
    keys = ("rank",)

    def __init__(self, frame: pd.DataFrame, *, date: pd.Timestamp, n_seed: int, recovery_auc: float, model: Any,
                 features: list[str]) -> None:
        super().__init__(frame)
        self.date, self.n_seed, self.recovery_auc, self.model, self.features = (date, n_seed, recovery_auc,
                                                                                model, features)

    def _notes(self) -> list[str]:
        return [f"{len(self):,} consumers ranked by their likeness to a seed of {self.n_seed:,} on "
                f"{self.date.date()}; hidden seed recovered with AUC {self.recovery_auc:.3f}"]

    def top(self, k: int) -> np.ndarray:
        """The ``k`` most seed-like consumers."""
        return self.table().user_id.to_numpy()[:_whole("k", k, 0)]


def _seed_ids(seed: Any) -> np.ndarray:
    if isinstance(seed, Result):
        seed = seed.table()
    if isinstance(seed, pd.DataFrame):
        if "user_id" not in seed.columns:
            raise ParameterError(f"lookalike: a seed table needs a user_id column; it has {list(seed.columns)}")
        seed = seed.user_id
    if isinstance(seed, (str, bytes)) or not hasattr(seed, "__iter__"):
        raise ParameterError(f"seed must be user ids, a frame with user_id or an Audience; found {seed!r}")
    ids = pd.unique(np.asarray(list(seed)))
    if len(ids) < 2:
        raise ParameterError(f"seed must hold at least 2 consumers; found {len(ids)}")
    return ids


def lookalike(events: TableLike, seed: Any, date: Any, *, brand: str | None = None,
              windows: Sequence[int] = (7, 30), users: TableLike | None = None, estimator: Any = None,
              rules: StageRules | None = None, tz: str = "UTC") -> Lookalike:
    """Rank the consumers outside ``seed`` by how much they look like it (positive-unlabelled learning).

    Every consumer active in the look-back before ``date`` (with ``users``: every consumer of ``users``,
    active or not, and only those) is described by its behaviour over all brands (the :func:`pair_features`
    counts summed over its brands: ``all_*``), its behaviour towards ``brand`` (``brand_*``, zero without any)
    and its attributes. A classifier learns the seed against all the others; its score ranks the others.

    Parameters
    ----------
    events : table
        Canonical events on any engine.
    seed : user ids, a frame with ``user_id`` or an Audience
        The seed audience (e.g. a brand's best customers). A seed defined by the brand's 4A stage is
        separable by ``brand_level`` alone: leave ``brand`` out then.
    date : date-like
        Features from the events before this day.
    brand : str, optional
        A brand whose own behaviour columns are added.
    windows : list of int
    users : table, optional
        Consumers' attributes; its consumers are all candidates, active or not.
    estimator : scikit-learn classifier, optional
        Cloned; it reads log-scaled, standardised counts and one-hot attributes. By default a class-balanced
        logistic regression whose L2 strength is chosen by the seed's AUC over up to 5 stratified folds (``C``
        among 10^-4 .. 10; ``model[-1].C_``): with a few dozen seed consumers against thousands, the former
        fixed ``C = 1`` overfits them (``benchmarks/audience_tags.py`` measures both).
    rules, tz
        As in :func:`pair_features`.

    Returns
    -------
    Lookalike

    Raises
    ------
    ParameterError
        A seed of fewer than 2 consumers with features, or one that covers every candidate.
    """
    ev = _events(events, "lookalike")
    rules, tz = _rules(rules), _tz(tz)
    day = as_day(date, "date", tz=tz)
    ids = _seed_ids(seed)
    if isinstance(estimator, DeepClassifier):
        raise ParameterError("lookalike takes a scikit-learn classifier; a DeepClassifier is for audience_tags")
    _check_estimator(estimator)
    pf = pair_features(ev, [day], windows=windows, horizon=1, sequence=0, rules=rules, tz=tz)
    df = pf.table()
    counts = [c for c in pf.numeric if c != "level" and not c.startswith("days_since")]
    per_user = df.groupby("user_id")[counts].sum().add_prefix("all_")
    per_user["all_brands"] = df.groupby("user_id").size()
    cols = list(per_user.columns)
    if brand is not None:
        if brand not in set(df.brand):
            raise ParameterError(f"no consumer was active with brand {brand!r} in the look-back; "
                                 f"brands are {sorted(set(df.brand))}")
        own = df[df.brand == brand].set_index("user_id")[[*counts, "level", "days_since_event"]].add_prefix("brand_")
        per_user = per_user.join(own, how="left")
        cols = list(per_user.columns)
    # a consumer without behaviour (towards the brand): no events, and the last one beyond the look-back
    fill: dict[str, float] = {c: 0.0 for c in cols}
    if brand is not None:
        fill["brand_days_since_event"] = max(pf.windows) + 1.0
    per_user = per_user.fillna(fill).reset_index()
    categorical: list[str] = []
    numeric: list[str] = []
    if users is not None:
        u = fetch(open_table(users, what="lookalike users"), "pandas")
        if "user_id" not in u.columns:
            raise ParameterError(f"lookalike: users needs a user_id column; it has {list(u.columns)}")
        per_user = u.merge(per_user, on="user_id", how="left").fillna(fill)
        numeric, categorical = _attributes(per_user, [c for c in u.columns if c != "user_id"])
    y = per_user.user_id.isin(ids).to_numpy().astype(np.int64)
    n_seed = int(y.sum())
    if n_seed < 2:
        raise ParameterError(f"only {n_seed} seed consumer(s) have features before {day.date()}: "
                             "a lookalike needs at least 2 (pass users= to describe inactive ones)")
    if n_seed == len(y):
        raise ParameterError("the seed covers every candidate consumer: nobody left to rank")
    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    default = estimator is None  # a user's own LogisticRegressionCV keeps its own folds
    if default:
        estimator = _logistic_cv("roc_auc", class_weight="balanced")
    template = _pipeline(estimator, cols, numeric, categorical)
    features = [*cols, *numeric, *categorical]

    def fit(rows: np.ndarray) -> Any:
        model = clone(template)
        if default:  # folds of the seed consumers among these rows
            model.set_params(logisticregressioncv__cv=StratifiedKFold(n_splits=min(_FOLDS, int(y[rows].sum()))))
        return model.fit(per_user.loc[rows, features], y[rows])

    hidden = (y == 1) & _split_key(per_user.user_id.to_numpy(), "lookalike")
    rest = y == 0
    auc = float("nan")
    if hidden.any() and y[~hidden].sum() >= 2:  # enough seed left to fit without the hidden fifth
        check = fit(~hidden)
        pool = hidden | rest
        auc = float(roc_auc_score(hidden[pool], check.predict_proba(per_user.loc[pool, features])[:, 1]))
    model = fit(np.ones(len(y), dtype=bool))
    cand = per_user[rest]
    frame = pd.DataFrame({"user_id": cand.user_id.to_numpy(),
                          "score": np.asarray(model.predict_proba(cand[features])[:, 1], np.float64)})
    frame = frame.sort_values(["score", "user_id"], ascending=[False, True], kind="mergesort", ignore_index=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return Lookalike(frame, date=day, n_seed=n_seed, recovery_auc=auc, model=model, features=features)
