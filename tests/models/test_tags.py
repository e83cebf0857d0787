"""Audience tags and lookalikes against the simulator's true next-stage chances, on both engines, and on CDNOW."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import roc_auc_score

from marketing360.assets import StageRules, audience, snapshots
from marketing360.datasets import read_cdnow, simulate
from marketing360.errors import ParameterError, SchemaError
from marketing360.models import AudienceTags, DeepClassifier, audience_tags, lookalike, pair_features
from marketing360.models.tags import _CS, _cv_folds, calibration_error, lift_at
from marketing360.playbook import design_campaign

DAY = pd.Timestamp("2025-03-02")


@pytest.fixture(scope="module")
def world():
    return simulate(n_users=3000, n_days=75, seed=21, truth="none", propensities=True, progress=False)


@pytest.fixture(scope="module")
def small():
    return simulate(n_users=1200, n_days=70, seed=4, truth="none", n_brands=3, n_categories=1, progress=False)


@pytest.fixture(scope="module")
def daily(world) -> AudienceTags:
    return audience_tags(world.events, DAY, horizon=1, train_dates=pd.date_range("2025-02-02", "2025-03-01"))


def _soft_auc(p: np.ndarray, score: np.ndarray) -> float:
    """Expected AUC when each pair moves up with its true chance p."""
    y = np.r_[np.ones(len(p)), np.zeros(len(p))]
    return float(roc_auc_score(y, np.r_[score, score], sample_weight=np.r_[p, 1 - p]))


def test_daily_tags_rank_and_calibrate_against_the_true_next_stage_chances(world, daily) -> None:
    truth = world.truth.next_stage_chances(world.events)
    f = pair_features(world.events, [DAY], sequence=0).table()
    recency = f.assign(h=-f.days_since_event + f.visit_7d / 1000.0)[["user_id", "brand", "h"]]
    m = daily.table().merge(truth[truth.date == DAY], on=["user_id", "brand", "stage"]).merge(
        recency, on=["user_id", "brand"])
    assert len(m) == len(daily.table())  # every tagged pair is in that true stage on the eve
    floor = {"aware": 0.74, "appeal": 0.66, "act": 0.60}  # 5-seed benchmark minima 0.782 / 0.718 / 0.633
    for stage, g in m.groupby("stage"):
        p, s = g.p_next.to_numpy(np.float64), g.score.to_numpy(np.float64)
        auc, ceiling, heur = _soft_auc(p, s), _soft_auc(p, p), _soft_auc(p, g.h.to_numpy(np.float64))
        assert floor[stage] < auc < ceiling, (stage, auc, ceiling)
        assert auc > heur + 0.05, (stage, auc, heur)  # better than ranking by recency
        assert lift_at(p, s) > 1.8, stage  # the top tenth's true chance against the stage's mean
        assert calibration_error(p, s) < 0.5 * p.mean(), (stage, calibration_error(p, s), p.mean())
    assert (daily.validation.auc > 0.55).all()  # realised one-day moves of a hashed fifth: noisy for act



def test_the_consumers_counts_over_every_brand_sharpen_the_early_stages(world, daily) -> None:
    truth = world.truth.next_stage_chances(world.events)
    more = audience_tags(world.events, DAY, horizon=1, train_dates=pd.date_range("2025-02-02", "2025-03-01"),
                         consumer=True)
    auc = {}
    for name, tags in (("pair", daily), ("consumer", more)):
        m = tags.table().merge(truth[truth.date == DAY], on=["user_id", "brand", "stage"])
        auc[name] = {st: _soft_auc(g.p_next.to_numpy(np.float64), g.score.to_numpy(np.float64))
                     for st, g in m.groupby("stage")}
    # the latent propensity is the consumer's: other brands' events show it. Gains on 8 worlds (5 of 4,000
    # consumers, 3 of 3,000): appeal +0.014 to +0.024, aware +0.0045 to +0.0096 (act: -0.016 to +0.002)
    assert auc["consumer"]["appeal"] > auc["pair"]["appeal"] + 0.008, auc
    assert auc["consumer"]["aware"] > auc["pair"]["aware"] + 0.002, auc


def test_the_default_chooses_each_stages_regularisation_on_folds_of_consumers(world, daily) -> None:
    truth = world.truth.next_stage_chances(world.events)
    fixed = audience_tags(world.events, DAY, horizon=1, train_dates=pd.date_range("2025-02-02", "2025-03-01"),
                          estimator=LogisticRegression(max_iter=3000))  # the former default, C = 1
    auc = {}
    for name, tags in (("cv", daily), ("fixed", fixed)):
        m = tags.table().merge(truth[truth.date == DAY], on=["user_id", "brand", "stage"])
        auc[name] = {st: _soft_auc(g.p_next.to_numpy(np.float64), g.score.to_numpy(np.float64))
                     for st, g in m.groupby("stage")}
    c = daily.validation.set_index("stage").C
    assert c.isin(_CS).all() and fixed.validation.C.isna().all()
    assert all(daily.models[s][-1].C == c[s] for s in c.index)  # the C chosen on four fifths fits the whole
    # act has the fewest training pairs: C = 1 overfits it. Gains on 8 worlds (5 of 4,000 consumers, 3 of 3,000):
    # act +0.003 to +0.028; aware within 0.001 and appeal within 0.006 either way. Here act +0.019
    assert auc["cv"]["act"] > auc["fixed"]["act"] + 0.01, auc
    assert all(auc["cv"][s] > auc["fixed"][s] - 0.006 for s in ("aware", "appeal")), auc


def test_the_cross_validation_folds_keep_each_consumer_whole_and_both_outcomes_in_each() -> None:
    rng = np.random.default_rng(0)
    users = rng.integers(0, 300, 3000)
    y = (rng.random(3000) < 0.05).astype(int)
    folds = _cv_folds(pd.DataFrame({"user_id": users.astype(str), "moved_up": y}))
    assert len(folds) == 5
    seen = np.zeros(3000, int)
    for train, test in folds:
        assert not set(users[train]) & set(users[test])
        assert set(y[test]) == {0, 1} and set(y[train]) == {0, 1}
        seen[test] += 1
    assert (seen == 1).all()
    # fewer consumers with one of the outcomes than five: as many folds as there are such consumers
    y2 = np.isin(users, [3, 7, 11]).astype(int)
    assert len(_cv_folds(pd.DataFrame({"user_id": users, "moved_up": y2}))) == 3


def test_fourteen_day_tags_find_the_pairs_that_move_up(world) -> None:
    tags = audience_tags(world.events, "2025-02-15", horizon=14)
    assert [d.date().isoformat() for d in tags.train_dates] == ["2025-01-11", "2025-01-18", "2025-01-25", "2025-02-01"]
    p = world.truth.propensities
    later = p[(p.date > pd.Timestamp("2025-02-15")) & (p.date <= pd.Timestamp("2025-03-01"))]
    level = {"unaware": 0, "aware": 1, "appeal": 2, "act": 3, "advocate": 4}
    best = later.assign(lv=later.stage.map(level)).groupby(["user_id", "brand"])["lv"].max().rename("best")
    t = tags.table().merge(best.reset_index(), on=["user_id", "brand"], how="left")
    y = (t.best.fillna(0) > t.stage.map(level)).to_numpy()
    # 5-seed benchmark minima (4,000 consumers) 0.698 / 0.709 / 0.646; here act has ~250 pairs (sd ~0.04)
    for stage, floor in (("aware", 0.65), ("appeal", 0.65), ("act", 0.55)):
        sel = (t.stage == stage).to_numpy()
        assert roc_auc_score(y[sel], t.score[sel]) > floor, stage
    # rank and decile within each brand and stage, best first
    g = t.groupby(["stage", "brand"])
    assert (g["rank"].min() == 1).all() and (g.decile.min() == 1).all() and (g.decile.max() == 10).all()
    assert (g.score.apply(lambda s: s.is_monotonic_decreasing)).all()


def test_tags_are_the_same_on_spark(spark_engine, duckdb_engine, small) -> None:
    a = audience_tags(duckdb_engine.table(small.events), "2025-03-01", horizon=7)
    b = audience_tags(spark_engine.table(small.events), "2025-03-01", horizon=7)
    pd.testing.assert_frame_equal(a.table(), b.table(), rtol=1e-9)
    pd.testing.assert_frame_equal(a.validation, b.validation, rtol=1e-9)
    ka = audience(duckdb_engine.table(small.events), "2025-02-28", "appeal", tags=a, top=25).table()
    kb = audience(spark_engine.table(small.events), "2025-02-28", "appeal", tags=b, top=25).table()
    pd.testing.assert_frame_equal(ka, kb)


def test_audience_takes_the_best_tagged_pairs_of_its_stage(small) -> None:
    tags = audience_tags(small.events, "2025-03-01", horizon=7)
    t = tags.table()
    want = t[(t.stage == "appeal") & (t.brand == "Acme")].nlargest(10, "score", keep="all")
    got = audience(small.events, "2025-02-28", "appeal", brand="Acme", tags=tags, top=np.int64(10)).table()
    assert got.score.is_monotonic_decreasing and got["rank"].tolist() == list(range(1, 11))  # best first
    np.testing.assert_allclose(got.score.to_numpy(), want.score.head(10).to_numpy())
    cut = float(want.score.iloc[4])
    kept = audience(small.events, "2025-02-28", "appeal", brand="Acme", tags=t[["user_id", "brand", "score"]],
                    min_score=cut).table()
    assert len(kept) == 5 and (kept.score >= cut).all()
    with pytest.raises(ParameterError, match="rank the stages of 2025-02-28"):
        audience(small.events, "2025-02-20", "appeal", tags=tags)
    with pytest.raises(ParameterError, match="Advocate has none"):
        audience(small.events, "2025-02-28", "advocate", tags=tags)
    with pytest.raises(ParameterError, match="pass tags= too"):
        audience(small.events, "2025-02-28", "appeal", top=3)
    with pytest.raises(ParameterError, match="missing \\['score'\\]"):
        audience(small.events, "2025-02-28", "appeal", tags=t[["user_id", "brand"]])
    # tags read with other stage rules or in another time zone rank other stages
    longer = StageRules(appeal=replace(StageRules().appeal, window=60))
    with pytest.raises(ParameterError, match="other stage rules or another time zone"):
        audience(small.events, "2025-02-28", "appeal", tags=tags, rules=longer)
    with pytest.raises(ParameterError, match="tz 'UTC', here 'Asia/Shanghai'"):
        audience(small.events, "2025-02-28", "appeal", tags=tags, tz="Asia/Shanghai")


def test_the_execute_step_designs_a_campaign_on_the_tags(small) -> None:
    tags = audience_tags(small.events, "2025-03-01", horizon=7)
    groups = tags.audiences("Acme", "appeal", 2)
    t = tags.table()
    best = t[(t.stage == "appeal") & (t.brand == "Acme")].user_id.to_numpy()
    np.testing.assert_array_equal(np.concatenate([groups["high"], groups["low"]]), best)
    plan = pd.DataFrame({"channel": ["display", "display"], "audience": ["high", "low"], "budget": [500.0, 100.0]})
    d = design_campaign(plan, groups, name="tags", holdout=0.2, min_size=10)
    assert set(d.assignment.user_id) == set(best)
    with pytest.raises(ParameterError, match="no pair of brand 'Nope'"):
        tags.audiences("Nope", "appeal")


def test_a_deep_classifier_can_tag(small) -> None:
    deep = DeepClassifier(epochs=3, batch_size=256, hidden=(16,), progress=False, sequence="x")
    tags = audience_tags(small.events, "2025-03-01", horizon=7, estimator=deep, stages=["aware"])
    assert set(tags.table().stage) == {"aware"}
    assert isinstance(tags.models["aware"], DeepClassifier) and tags.models["aware"].sequence == "sequence"
    assert 0.55 < tags.validation.auc.iloc[0] < 1.0
    fig = tags.plot()
    assert len(fig.axes[0].lines) == 2  # the stage's gains and the diagonal


def test_any_scikit_learn_classifier_can_tag_and_expand(small) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    hgb = HistGradientBoostingClassifier(max_iter=30, random_state=0)
    tags = audience_tags(small.events, "2025-03-01", horizon=7, estimator=hgb, stages=["aware", "appeal"])
    m = tags.models["appeal"]
    assert type(m.steps[-1][1]) is HistGradientBoostingClassifier and m.steps[-1][1] is not hgb  # cloned
    assert (tags.validation.auc > 0.55).all()  # 0.74 / 0.57 here: a small world, few purchases
    la = lookalike(small.events, [1, 2, 3, 4, 5, 6], "2025-03-01", estimator=hgb)
    assert type(la.model.steps[-1][1]) is HistGradientBoostingClassifier and len(la) > 1000
    # a user's own LogisticRegressionCV keeps its own folds (only the default's are set to folds of consumers)
    own = LogisticRegressionCV(Cs=[0.1, 1.0], cv=3, l1_ratios=(0.0,), scoring="neg_log_loss", max_iter=3000,
                               use_legacy_attributes=False)
    tags = audience_tags(small.events, "2025-03-01", horizon=7, estimator=own, stages=["aware"])
    assert tags.models["aware"][-1].cv == 3 and tags.validation.C.isna().all()
    la = lookalike(small.events, [1, 2, 3, 4, 5, 6], "2025-03-01", estimator=own)
    assert la.model[-1].cv == 3


def test_lookalike_finds_the_hidden_half_of_future_buyers(world) -> None:
    ev, start = world.events, pd.Timestamp("2025-02-01")
    buy = ev[(ev.event_type == "purchase") & (ev.brand == "Acme")]
    new = np.setdiff1d(buy[(buy.ts >= start) & (buy.ts < start + pd.Timedelta(days=30))].user_id.unique(),
                       buy[buy.ts < start].user_id.unique())
    rng = np.random.default_rng(0)
    rng.shuffle(new)
    seed, hidden = new[: len(new) // 2], new[len(new) // 2:]
    la = lookalike(ev, seed, start, brand="Acme", users=world.users)
    t = la.table()
    assert not t.user_id.isin(seed).any() and len(t) == 3000 - len(seed)
    y = t.user_id.isin(hidden).to_numpy()
    auc = roc_auc_score(y, t.score)
    assert auc > 0.7 and lift_at(y, t.score.to_numpy()) > 2.5
    assert la.recovery_auc > 0.6 and la.n_seed == len(seed)
    np.testing.assert_array_equal(la.top(5), t.user_id.to_numpy()[:5])
    # the default's C is chosen by the seed's AUC over folds; a fixed C = 1 (the former default) overfits a few
    # dozen seed consumers: over 8 worlds of the benchmark the hidden half's AUC gains +0.007 to +0.135; here +0.09
    assert la.model[-1].C_ in _CS and la.model[-1].C_ < 1
    fixed = lookalike(ev, seed, start, brand="Acme", users=world.users,
                      estimator=LogisticRegression(max_iter=3000, class_weight="balanced")).table()
    assert auc > roc_auc_score(fixed.user_id.isin(hidden), fixed.score) + 0.01


@pytest.mark.parametrize("kwargs, match", [
    ({"stages": ["advocate"]}, "stages must be some of"),
    ({"horizon": 0}, "horizon must be a whole number >= 1"),
    ({"train_dates": ["2025-02-27"]}, "too late"),
    ({"train_dates": []}, "non-empty list"),
    ({"estimator": object()}, "fit and predict_proba"),
    ({"windows": [0, 90]}, "windows must hold whole numbers >= 1"),
    ({"windows": [7, 30]}, "must reach back 90 days"),
    ({"windows": 30}, "non-empty list"),
    ({"tz": "Mars/Base"}, "IANA time zone"),
    ({"consumer": 1}, "consumer must be True or False; found 1"),
])
def test_bad_tag_requests_are_named(small, kwargs, match) -> None:
    with pytest.raises(ParameterError, match=match):
        audience_tags(small.events, "2025-03-01", **{"horizon": 7, **kwargs})


def test_an_act_pair_without_a_recent_event_is_tagged(small) -> None:
    # a consumer who bought 60 days before the scoring day and did nothing since: Act on the eve, tagged so
    quiet = pd.DataFrame({"user_id": [10**6], "brand": ["Acme"], "event_type": ["purchase"], "value": [20.0],
                          "ts": [pd.Timestamp("2024-12-31 10:00")]})
    ev = pd.concat([small.events, quiet], ignore_index=True)
    t = audience_tags(ev, "2025-03-01", horizon=7, stages=["act"]).table()
    assert t.loc[t.user_id == 10**6, "stage"].tolist() == ["act"]


def test_no_event_of_the_scoring_day_or_later_reaches_the_tags(small) -> None:
    day = pd.Timestamp("2025-03-01")
    a = audience_tags(small.events, day, horizon=7)
    before = small.events[small.events.ts < day]
    pairs = a.table()[["user_id", "brand"]]
    fake = pairs.assign(ts=day + pd.Timedelta(hours=12), event_type="purchase", value=10.0)
    b = audience_tags(pd.concat([before, fake], ignore_index=True), day, horizon=7)
    pd.testing.assert_frame_equal(a.table(), b.table())
    pd.testing.assert_frame_equal(a.validation, b.validation)


@pytest.mark.parametrize("deep", [False, True])
def test_missing_numeric_attributes_are_imputed(small, deep) -> None:
    users = small.users.assign(score_x=np.where(small.users.user_id % 3 == 0, np.nan, small.users.user_id % 7))
    users = users[users.user_id % 5 != 0]  # some consumers have no attributes at all
    est = DeepClassifier(epochs=2, progress=False, random_state=0) if deep else None
    tags = audience_tags(small.events, "2025-03-01", horizon=7, users=users, stages=["aware"], estimator=est)
    assert tags.table().score.notna().all() and 0.55 < tags.validation.auc.iloc[0] < 1
    if deep:  # the median filled in, with an indicator of the missing values
        assert {"score_x", "missingindicator_score_x"} <= set(tags.models["aware"].numeric)


def test_the_metrics_check_their_input() -> None:
    with pytest.raises(ParameterError, match="one length"):
        lift_at([1, 0, 1, 0, 0, 1], [0.3, 0.2, 0.1])
    with pytest.raises(ParameterError, match="non-empty"):
        calibration_error([], [])
    with pytest.raises(ParameterError, match="share must be in"):
        lift_at([1, 0], [0.5, 0.1], share=0)


def test_tags_need_known_outcomes_and_something_to_learn(small) -> None:
    early = small.events[small.events.ts < "2025-02-24"]
    with pytest.raises(ParameterError, match="the outcome is not known"):
        audience_tags(early, "2025-03-01", horizon=7)
    no_buy = small.events[~small.events.event_type.isin(["purchase", "review", "service"])]
    with pytest.raises(ParameterError, match="act: no pair was in this stage"):
        audience_tags(no_buy, "2025-03-01", horizon=7)
    with pytest.raises(SchemaError):
        audience_tags(small.events.drop(columns="brand"), "2025-03-01")
    ev = small.events
    late = ev.event_type.isin(["purchase", "review", "service", "share"]) & (ev.ts >= "2025-02-01")
    one = ev[~late | (ev.user_id == 21)]  # after the first training day only consumer 21 acts (buys Bolt on 12 Feb)
    with pytest.raises(ParameterError, match="appeal: fewer than 2 consumers have a pair that moved up"):
        audience_tags(one, "2025-03-01", horizon=7, stages=["appeal"])
    audience_tags(one, "2025-03-01", horizon=7, stages=["appeal"], estimator=LogisticRegression())  # no folds


def test_bad_lookalike_requests_are_named(small) -> None:
    ev = small.events
    with pytest.raises(ParameterError, match="at least 2"):
        lookalike(ev, [1], "2025-03-01")
    with pytest.raises(ParameterError, match="a DeepClassifier is for audience_tags"):
        lookalike(ev, [1, 2], "2025-03-01", estimator=DeepClassifier())
    with pytest.raises(ParameterError, match="only 0 seed consumer"):
        lookalike(ev, [10**9, 10**9 + 1], "2025-03-01")
    with pytest.raises(ParameterError, match="needs a user_id column"):
        lookalike(ev, pd.DataFrame({"id": [1, 2]}), "2025-03-01")
    with pytest.raises(ParameterError, match="no consumer was active with brand 'Nope'"):
        lookalike(ev, [1, 2, 3], "2025-03-01", brand="Nope")
    everyone = ev[ev.ts < "2025-03-01"].user_id.unique()
    with pytest.raises(ParameterError, match="covers every candidate"):
        lookalike(ev, everyone, "2025-03-01")
    tiny = lookalike(ev, [2, 12], "2025-03-01")  # a seed too small to spare a hidden fifth still expands
    assert len(tiny) > 1000 and (np.isnan(tiny.recovery_auc) or 0 <= tiny.recovery_auc <= 1)


def test_cdnow_repeat_purchase_tags_on_real_data(need) -> None:
    need("cdnow", "CDNOW_master.txt")
    ev = read_cdnow().assign(brand="CDNOW")
    for day, auc_min in (("1997-09-01", 0.55), ("1998-01-01", 0.55)):
        tags = audience_tags(ev, day, horizon=30, stages=["act"], windows=[30, 90, 180, 365])
        t = tags.table()
        assert set(t.stage) == {"act"} and len(t) > 1000
        s = snapshots(ev, pd.date_range(day, periods=30)).table()
        best = s.groupby("user_id")["level"].max()
        moved = best.reindex(t.user_id).fillna(0).to_numpy() > 3  # a second purchase day: Advocate
        assert 0.05 < moved.mean() < 0.25
        assert roc_auc_score(moved, t.score) > auc_min, day  # measured 0.567 and 0.576: weak, above chance
