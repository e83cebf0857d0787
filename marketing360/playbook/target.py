"""Execute, part 2: who to target, scored by the propensity to move up a 4A stage.

Features per consumer of the brand, computed on the engine from the events
before the scoring day: counts of ad contacts (impressions, clicks), page
views, engagements (search, follow, cart, ask) and purchases over each
look-back window, the days since the last event, and the 4A level on the
eve. The label: whether the consumer reached a higher stage within
``horizon`` days. The model is fitted on the consumers of the chosen stages
``horizon`` days before the scoring day (whose outcome is known) and scores
those of the scoring day: a logistic regression on standardised, log-scaled
features by default, or any scikit-learn classifier with ``predict_proba``.

Examples
--------
>>> from marketing360.datasets import simulate
>>> w = simulate(n_users=2000, n_days=90, seed=6, truth="none", n_brands=3, n_categories=1)
>>> t = score_audience(w.events, "Acme", date="2025-03-15", stages=("aware", "appeal"))
>>> sorted(t.audiences(2))
['high', 'low']
>>> 0.5 < t.auc < 1.0
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
from ..assets import snapshot, snapshots
from ..assets.rules import STAGE_LEVEL, STAGES, StageRules
from ..engine import fetch
from ..errors import ParameterError
from ..inputs import as_table
from ..models.tags import segments
from ..results import Result, Summary
from ..types import TableLike

__all__ = ["propensity_features", "score_audience", "Targeting", "EVENT_GROUPS"]

#: the event types counted together as one feature each
EVENT_GROUPS: dict[str, tuple[str, ...]] = {
    "ads": ("impression", "click"),
    "views": ("browse",),
    "engagements": ("search", "follow", "cart", "ask"),
    "purchases": ("purchase",),
}


def propensity_features(events: TableLike, brand: str, date: Any, *, lookback: Sequence[int] = (7, 30, 90),
                        rules: StageRules | None = None, tz: str = "UTC") -> Any:
    """Per consumer with an event of ``brand`` in the ``max(lookback)`` days before ``date``: one column per
    event group and look-back (``ads_7d`` ...), ``days_since_last`` and ``level`` (the 4A level on the eve of
    ``date``, 0 if none). An ibis table on the events' engine."""
    windows = sorted({int(x) for x in lookback})
    if not windows or windows[0] < 1:
        raise ParameterError(f"lookback must be whole numbers of days >= 1; found {list(lookback)}")
    ev = as_table(events, "events", need=["brand"], what="propensity_features")
    day = as_day(date, "date", tz=tz)
    first = day - pd.Timedelta(days=windows[-1])
    b = ev.filter(ev.brand == brand)
    recent = b.filter((b.ts >= first) & (b.ts < day))
    aggs: dict[str, Any] = {}
    for g, types in EVENT_GROUPS.items():
        for w in windows:
            hit = recent.event_type.isin(list(types)) & (recent.ts >= day - pd.Timedelta(days=w))
            aggs[f"{g}_{w}d"] = hit.cast("int64").sum()
    aggs["last_ts"] = recent.ts.max()
    feats = recent.group_by("user_id").aggregate(**aggs)
    secs = (ibis.literal(day).cast("timestamp").epoch_seconds() - feats.last_ts.epoch_seconds())
    feats = feats.mutate(days_since_last=secs.cast("float64") / 86400.0).drop("last_ts")
    eve = snapshot(b, day - pd.Timedelta(days=1), rules=rules, tz=tz).expr.select("user_id", "level")
    out = feats.left_join(eve, "user_id")
    return out.select(*[c for c in feats.columns], level=ibis.coalesce(out.level, 0).cast("int64"))


class Targeting(Result):
    """Consumers to target, best first: ``user_id, stage, score`` (the predicted chance of moving up a stage
    within the horizon) and ``rank``.

    Attributes
    ----------
    model : estimator
        The fitted classifier.
    auc : float
        Its area under the ROC curve on a hashed fifth of the training consumers it did not see.
    features : list of str
    training : pandas.DataFrame
        The training consumers' features and labels (``moved_up``).
    """

    title: ClassVar[str] = "targeting by propensity"
    keys = ("rank",)

    def __init__(self, frame: pd.DataFrame, *, model: Any, auc: float, features: list[str],
                 training: pd.DataFrame, date: pd.Timestamp, horizon: int) -> None:
        super().__init__(frame)
        self.model, self.auc, self.features, self.training = model, auc, features, training
        self.date, self.horizon = date, horizon

    def _notes(self) -> list[str]:
        t = self.training
        return [f"{len(self):,} consumers scored on {self.date.date()}; model fitted on {len(t):,} consumers "
                f"{self.horizon} days earlier ({t.moved_up.mean():.1%} moved up within {self.horizon} days)",
                f"validation AUC {self.auc:.3f} (a hashed fifth of the training consumers)"]

    def summary(self) -> Summary:
        return Summary(self.title, notes=self._notes(), tables=[("best scored", self.table().head(10))])

    def audiences(self, n: int = 2) -> dict[str, np.ndarray]:
        """The scored consumers in ``n`` segments of equal size by score: ``high`` and ``low`` for two,
        ``q1`` (best) .. ``qn`` otherwise; for :func:`~marketing360.playbook.design_campaign`."""
        return segments(self.table().user_id.to_numpy(), n)

    def top(self, k: int) -> np.ndarray:
        """The ``k`` best-scored consumers."""
        return self.table().user_id.to_numpy()[:k]


def _default_model() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    return make_pipeline(FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression(max_iter=2000))


def score_audience(events: TableLike, brand: str, *, date: Any, stages: Sequence[str] = ("appeal",),
                   horizon: int = 30, lookback: Sequence[int] = (7, 30, 90), estimator: Any = None,
                   rules: StageRules | None = None, tz: str = "UTC") -> Targeting:
    """Score the brand's consumers in ``stages`` on ``date`` by their propensity to move up within ``horizon``.

    Parameters
    ----------
    events : table
        Canonical events on any engine, covering ``date - horizon - max(lookback)`` to ``date``.
    brand : str
    date : date-like
        The scoring day (features from the events before it).
    stages : sequence of {"aware", "appeal", "act"}
        The consumers scored (and trained on): those in these stages on the eve of the day.
    horizon : int
        Days within which moving up counts.
    lookback : sequence of int
        Look-back windows of the count features, in days.
    estimator : scikit-learn classifier, optional
        Any estimator with ``fit`` and ``predict_proba`` (cloned); a logistic regression by default.
    rules : StageRules, optional
    tz : str

    Returns
    -------
    Targeting

    Raises
    ------
    ParameterError
        Unknown stages, a horizon or look-back that is not a whole number >= 1, no training consumer, or a
        label that takes one value (nobody, or everybody, moved up).
    """
    bad = [s for s in stages if s not in STAGES[1:4]]
    if bad or not len(stages):
        raise ParameterError(f"stages must be some of ['aware', 'appeal', 'act']; found {list(stages)}")
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ParameterError(f"horizon must be a whole number of days >= 1; found {horizon!r}")
    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score

    ev = as_table(events, "events", need=["brand"], what="score_audience")
    day = as_day(date, "date", tz=tz)
    ref = day - pd.Timedelta(days=int(horizon))
    levels = [STAGE_LEVEL[s] for s in stages]
    train = fetch(propensity_features(ev, brand, ref, lookback=lookback, rules=rules, tz=tz), "pandas")
    train = train[train.level.isin(levels)].reset_index(drop=True)
    if train.empty:
        raise ParameterError(f"no consumer of {brand!r} was in {list(stages)} on {(ref - pd.Timedelta(days=1)).date()} "
                             "to train on: choose a later date or other stages")
    b = ev.filter(ev.brand == brand)
    later = snapshots(b, pd.date_range(ref, day - pd.Timedelta(days=1), freq="D"), rules=rules, tz=tz).expr
    best = fetch(later.group_by("user_id").aggregate(top=later.level.max()), "pandas").set_index("user_id").top
    train["moved_up"] = (best.reindex(train.user_id).fillna(0).to_numpy() > train.level.to_numpy()).astype(int)
    if train.moved_up.nunique() < 2:
        raise ParameterError(f"every training consumer {'moved up' if train.moved_up.iloc[0] else 'stayed'}: "
                             "nothing to learn (choose other stages or a longer horizon)")
    features = [c for c in train.columns if c not in ("user_id", "moved_up")]
    model = clone(estimator) if estimator is not None else _default_model()
    held = hash_unit(train.user_id.to_numpy(), f"propensity|{brand}") < 0.2
    part, val = train[~held], train[held]
    auc = float("nan")  # a validation fifth or its complement with one class only: no AUC
    if part.moved_up.nunique() == 2 and val.moved_up.nunique() == 2:
        check = clone(model).fit(part[features].to_numpy(float), part.moved_up.to_numpy())
        auc = float(roc_auc_score(val.moved_up, check.predict_proba(val[features].to_numpy(float))[:, 1]))
    model.fit(train[features].to_numpy(float), train.moved_up.to_numpy())  # the model used: every consumer
    now = fetch(propensity_features(ev, brand, day, lookback=lookback, rules=rules, tz=tz), "pandas")
    now = now[now.level.isin(levels)].reset_index(drop=True)
    score = model.predict_proba(now[features].to_numpy(float))[:, 1] if len(now) else np.zeros(0)
    frame = pd.DataFrame({"user_id": now.user_id.to_numpy(), "stage": [STAGES[int(v)] for v in now.level],
                          "score": score})
    frame = frame.sort_values(["score", "user_id"], ascending=[False, True], kind="mergesort", ignore_index=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return Targeting(frame, model=model, auc=auc, features=features, training=train, date=day, horizon=int(horizon))
