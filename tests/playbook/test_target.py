"""Execute: propensity features against pandas, labels against the simulator's true stages, scores against the
future the model never saw."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from marketing360.datasets import simulate
from marketing360.errors import ParameterError
from marketing360.playbook import EVENT_GROUPS, propensity_features, score_audience

DATE = pd.Timestamp("2025-03-31")  # day 89 of 120: 30 days of future to score against
LEVEL = {"aware": 1, "appeal": 2, "act": 3, "advocate": 4}


@pytest.fixture(scope="module")
def world():
    return simulate(n_users=4000, n_days=120, seed=9, n_brands=3, n_categories=1, truth="none", progress=False)


def _features(ev: pd.DataFrame, day: pd.Timestamp, windows=(7, 30)) -> pd.DataFrame:
    e = ev[(ev.brand == "Acme") & (ev.ts >= day - pd.Timedelta(days=max(windows))) & (ev.ts < day)]
    out = pd.DataFrame(index=pd.Index(sorted(e.user_id.unique()), name="user_id"))
    for g, types in EVENT_GROUPS.items():
        for w in windows:
            hit = e[e.event_type.isin(types) & (e.ts >= day - pd.Timedelta(days=w))]
            out[f"{g}_{w}d"] = hit.groupby("user_id").size().reindex(out.index, fill_value=0)
    out["days_since_last"] = (day - e.groupby("user_id").ts.max()).dt.total_seconds() / 86400
    return out


def _true_level(spells: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    s = spells[(spells.brand == "Acme") & (spells.start <= day) & (spells.end >= day)]
    return s.set_index("user_id").stage.map(LEVEL)


def test_features_equal_a_pandas_count(world):
    got = propensity_features(world.events, "Acme", DATE, lookback=(30, 7))
    got = got.execute().set_index("user_id").sort_index()
    ref = _features(world.events, DATE)
    level = _true_level(world.truth.stages, DATE - pd.Timedelta(days=1)).reindex(ref.index).fillna(0)
    pd.testing.assert_frame_equal(got.drop(columns="level")[ref.columns], ref, check_dtype=False)
    np.testing.assert_array_equal(got.level.to_numpy(), level.to_numpy())


@pytest.fixture(scope="module")
def targeting(world):
    return score_audience(world.events, "Acme", date=DATE, stages=("aware", "appeal"), lookback=(7, 30))


def test_labels_are_the_true_moves_and_the_model_is_sklearn_s(world, targeting):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    ref_day = DATE - pd.Timedelta(days=30)
    sp = world.truth.stages
    start = _true_level(sp, ref_day - pd.Timedelta(days=1))
    later = pd.concat([_true_level(sp, d) for d in pd.date_range(ref_day, DATE - pd.Timedelta(days=1))])
    best = later.groupby(level=0).max()
    train = targeting.training.set_index("user_id")
    assert set(train.index) == set(start[start.isin([1, 2])].index) & set(_features(world.events, ref_day).index)
    moved = (best.reindex(train.index).fillna(0) > start.reindex(train.index)).astype(int)
    np.testing.assert_array_equal(train.moved_up.to_numpy(), moved.to_numpy())
    X = _features(world.events, ref_day).loc[train.index].assign(level=start.reindex(train.index).to_numpy())
    ref = make_pipeline(FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression(max_iter=2000))
    ref.fit(X[targeting.features].to_numpy(float), moved.to_numpy())
    np.testing.assert_allclose(targeting.model[-1].coef_, ref[-1].coef_, rtol=1e-6)


def test_scores_rank_the_future_the_model_never_saw(world, targeting):
    t = targeting.table()
    sp = world.truth.stages
    now = _true_level(sp, DATE - pd.Timedelta(days=1)).reindex(t.user_id).fillna(0).to_numpy()
    future = pd.concat([_true_level(sp, d) for d in pd.date_range(DATE, DATE + pd.Timedelta(days=29))])
    up = future.groupby(level=0).max().reindex(t.user_id).fillna(0).to_numpy() > now
    assert roc_auc_score(up, t.score) > 0.6
    assert targeting.auc > 0.6
    aud = targeting.audiences(2)
    assert len(aud["high"]) + len(aud["low"]) == len(t) and up[: len(aud["high"])].mean() > up[len(aud["high"]):].mean()
    assert (t["rank"].to_numpy() == np.arange(1, len(t) + 1)).all() and t.score.is_monotonic_decreasing


def test_any_sklearn_classifier_and_bad_calls(world):
    from sklearn.ensemble import HistGradientBoostingClassifier

    t = score_audience(world.events, "Acme", date=DATE, stages=("appeal",), lookback=(7, 30),
                       estimator=HistGradientBoostingClassifier(max_iter=30, random_state=0))
    assert set(t.table().stage) == {"appeal"} and 0.5 < t.auc <= 1
    with pytest.raises(ParameterError, match="stages must be"):
        score_audience(world.events, "Acme", date=DATE, stages=("advocate",))
    with pytest.raises(ParameterError, match="horizon"):
        score_audience(world.events, "Acme", date=DATE, horizon=0)
    with pytest.raises(ParameterError, match="lookback"):
        propensity_features(world.events, "Acme", DATE, lookback=(0,))
