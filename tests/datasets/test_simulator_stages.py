"""The simulator's true 4A stages follow any StageRules, read as a plain pandas reading of the rules.

For JD's rules and for custom ones (short windows, ``count="events"``,
``min_count`` 2-3, ``min_value``) the truth on a day equals
``reference_rules.reference_levels`` on the emitted events; each criterion
(and each event type of Act) is shown to decide the stage of some pair; the
follow-ups the rules look at (reviews rated 1 to 5, after-sales service)
come exactly when their parameters say; and stages stay pathwise monotone in
the active channels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reference_rules import LEVELS, criterion_holds, reference_levels

from marketing360.assets.rules import Criterion, StageRule, StageRules
from marketing360.datasets import simulate
from marketing360.datasets.world import DEFAULT_CHANNELS, ChannelParams, FunnelParams
from marketing360.errors import ParameterError

JD = StageRules()
SHORT = StageRules.with_windows(aware=3, appeal=5, act=7, advocate=9)
#: counts events, needs 2-3 of them, and a purchase value
COUNTING = StageRules(
    aware=StageRule("aware", 5, (Criterion(("impression",), min_count=3, count="events"),
                                 Criterion(("click", "browse")))),
    appeal=StageRule("appeal", 8, (Criterion(("browse",), min_count=3),
                                   Criterion(("cart",), min_count=2, count="events"),
                                   Criterion(("search", "follow", "ask")))),
    act=StageRule("act", 6, (Criterion(("purchase",), min_value=150.0),
                             Criterion(("review", "service")))),
    advocate=StageRule("advocate", 15, (Criterion(("purchase",), min_count=2, count="events"),
                                        Criterion(("review",), min_value=5.0),
                                        Criterion(("share", "review"), min_count=2, count="events"))),
)
RULES = {"jd": JD, "short": SHORT, "counting": COUNTING}
DAYS = ["2025-01-04", "2025-01-12", "2025-01-23", "2025-02-05"]


@pytest.fixture(scope="module", params=list(RULES))
def ruled_world(request):
    rules = RULES[request.param]
    return request.param, rules, simulate(n_users=2500, n_days=40, seed=23, truth="none", rules=rules)


def _true_levels(world, day) -> pd.Series:
    t = world.truth.stages_on(day)
    return t.set_index(["user_id", "brand"]).stage.map(LEVELS).astype("int64").sort_index()


@pytest.mark.parametrize("day", DAYS)
def test_true_stages_equal_a_pandas_reading_of_the_rules(ruled_world, day):
    _, rules, world = ruled_world
    got = _true_levels(world, day)
    expected = reference_levels(world.events, day, rules)
    assert len(expected) > 300
    pd.testing.assert_series_equal(got, expected, check_names=False)


def _sole_reasons(events: pd.DataFrame, truth_levels: pd.Series, day, rules: StageRules) -> dict:
    """For each (stage, criterion index): pairs at that stage for which it is the only criterion holding."""
    out = {}
    for rule in rules.rules:
        level = LEVELS[rule.stage]
        at = set(truth_levels[truth_levels == level].index)
        holds = [set(criterion_holds(events, day, rule.window, c)) for c in rule.criteria]
        for i, h in enumerate(holds):
            others = set().union(*(o for j, o in enumerate(holds) if j != i))
            out[(rule.stage, i)] = (h & at) - others
    return out


def test_every_criterion_decides_the_stage_of_some_pair(ruled_world):
    name, rules, world = ruled_world
    found: dict = {}
    for day in pd.date_range("2025-01-03", "2025-02-09", freq="3D"):
        for key, pairs in _sole_reasons(world.events, _true_levels(world, day), day, rules).items():
            found[key] = found.get(key, 0) + len(pairs)
    missing = [k for k, n in found.items() if n == 0]
    assert not missing, f"{name}: criteria that never decide a stage: {missing}"


def test_act_through_a_service_contact_or_a_low_review_alone():
    """With a 7-day Act window, follow-ups 1-14 days after a purchase make pairs Act on their own."""
    w = simulate(n_users=1500, n_days=40, seed=23, truth="none", rules=SHORT,
                 funnel=FunnelParams(review=0.4, service=0.3))
    ev = w.events
    through = {"service": 0, "review below 4": 0}
    for day in DAYS[1:]:
        d = pd.Timestamp(day)
        truth = _true_levels(w, day)
        recent = ev[(ev.ts.dt.normalize() <= d) & (ev.ts.dt.normalize() > d - pd.Timedelta(days=7))]
        act_ev = recent[recent.event_type.isin(["purchase", "review", "service"])]
        kinds = act_ev.groupby(["user_id", "brand"]).event_type.agg(set)
        low = act_ev[act_ev.event_type == "review"].groupby(["user_id", "brand"]).value.max() < 4
        at_act = truth[truth == LEVELS["act"]].index
        only_service = kinds[kinds.apply(lambda s: s == {"service"})].index
        only_review = kinds[kinds.apply(lambda s: s == {"review"})].index
        through["service"] += len(at_act.intersection(only_service))
        through["review below 4"] += len(at_act.intersection(low[low].index).intersection(only_review))
    assert through["service"] > 0 and through["review below 4"] > 0, through


def test_reviews_are_rated_one_to_five():
    w = simulate(n_users=2000, n_days=40, seed=23, truth="none")
    ratings = w.events.loc[w.events.event_type == "review", "value"]
    assert set(ratings.unique()) == {1.0, 2.0, 3.0, 4.0, 5.0}


def test_follow_ups_come_the_day_after_each_purchase_with_lag_one():
    """review = service = 1, followup_days = 1, every later review rated 1: exactly one of each per purchase."""
    funnel = FunnelParams(review=1.0, service=1.0, followup_days=1, review_ratings=(1, 0, 0, 0, 0))
    w = simulate(n_users=1500, n_days=20, seed=5, truth="none", funnel=funnel)
    ev = w.events.assign(day=w.events.ts.dt.normalize())
    last = ev.day.max()
    key = ["user_id", "brand", "day"]
    buys = ev[ev.event_type == "purchase"][key].drop_duplicates()
    expected = buys.assign(day=buys.day + pd.Timedelta(days=1))
    expected = expected[expected.day <= pd.Timestamp("2025-01-20")]
    assert last <= pd.Timestamp("2025-01-20") and len(expected) > 50
    for etype, rows in (("service", ev[ev.event_type == "service"]),
                        ("review", ev[(ev.event_type == "review") & (ev.value == 1.0)])):
        assert not rows.duplicated(key).any(), etype
        got = rows[key].sort_values(key, ignore_index=True)
        pd.testing.assert_frame_equal(got, expected.sort_values(key, ignore_index=True), obj=etype,
                                      check_dtype=False)


def test_follow_ups_refer_to_a_purchase_within_followup_days():
    w = simulate(n_users=600, n_days=30, seed=8, truth="none",
                 funnel=FunnelParams(service=0.5, followup_days=3))
    ev = w.events.assign(day=w.events.ts.dt.normalize())
    buys = set(map(tuple, ev.loc[ev.event_type == "purchase", ["user_id", "brand", "day"]].to_numpy()))
    svc = ev[ev.event_type == "service"]
    assert len(svc) > 20
    for u, b, d in svc[["user_id", "brand", "day"]].to_numpy():
        assert any((u, b, d - pd.Timedelta(days=k)) in buys for k in (1, 2, 3)), (u, b, d)


def _levels_by_day(world) -> pd.Series:
    s = world.truth.stages
    n = (s.end - s.start).dt.days + 1
    rows = s.loc[s.index.repeat(n)]
    day = rows.start + pd.to_timedelta(rows.groupby(level=0).cumcount(), unit="D")
    return pd.Series(rows.stage.map(LEVELS).to_numpy(),
                     index=pd.MultiIndex.from_arrays([rows.user_id, rows.brand, day]))


@pytest.mark.parametrize("rules", [JD, COUNTING], ids=["jd", "counting"])
def test_stages_are_pathwise_monotone_in_the_active_channels(rules):
    """Switching a channel off (rate 0) never raises any pair's stage on any day."""
    off = dict(DEFAULT_CHANNELS)
    off["display"] = ChannelParams(**{**vars(DEFAULT_CHANNELS["display"]), "rate": 0.0})
    on_w = simulate(n_users=500, n_days=30, seed=9, truth="none", rules=rules)
    off_w = simulate(n_users=500, n_days=30, seed=9, truth="none", rules=rules, channels=off)
    on, off_ = _levels_by_day(on_w), _levels_by_day(off_w)
    both = on.to_frame("on").join(off_.to_frame("off"), how="outer").fillna(0)
    assert (both.on >= both.off).all()
    assert (both.on > both.off).sum() > 100  # display does raise stages


def test_custom_rules_keep_the_incremental_truth_nonnegative_and_efficient():
    w = simulate(n_users=400, n_days=25, seed=3, truth="full", rules=COUNTING)
    t = w.truth
    assert (t.incremental.conversions >= 0).all() and (t.incremental_by_brand.conversions >= 0).all()
    assert (t.shapley.conversions >= -1e-9).all()
    assert t.shapley.conversions.sum() == pytest.approx(t.totals["conversions"] - t.totals["baseline_conversions"])
    assert t.rules == COUNTING


def test_rules_must_be_stage_rules():
    with pytest.raises(ParameterError, match="rules must be a StageRules"):
        simulate(n_users=50, n_days=5, rules={"aware": 3})


@pytest.mark.parametrize("kwargs,match", [
    ({"review": 1.5}, r"FunnelParams.review must be a chance in \[0, 1\]; found 1.5"),
    ({"service": -0.1}, r"FunnelParams.service must be a chance"),
    ({"review_ratings": (0.5, 0.5)}, "review_ratings must be 5 chances"),
    ({"review_ratings": (0.5, 0.5, 0.5, 0, 0)}, "summing to 1"),
    ({"followup_days": 0}, r"followup_days must be a whole number of days in \[1, 31\]; found 0"),
    ({"followup_days": 40}, "found 40"),
])
def test_impossible_follow_up_parameters_are_named(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        FunnelParams(**kwargs)


def test_stage_tracker_counts_events_within_the_window_by_hand():
    """3 impressions within 2 days make Aware: day 0 has 2, day 1 has 1 (3 in days 0-1), day 2 none (1 in 1-2)."""
    from marketing360.datasets.truth import EventSource, StageTracker

    rules = StageRules(aware=StageRule("aware", 2, (Criterion(("impression",), min_count=3, count="events"),)),
                       appeal=StageRule("appeal", 3, (Criterion(("browse",), min_count=2),)),
                       act=StageRule("act", 5, (Criterion(("purchase",), min_value=100.0),)),
                       advocate=StageRule("advocate", 5, (Criterion(("review",), min_value=4.0),)))
    tr = StageTracker(rules, n_worlds=1, n_pairs=3)
    imps = lambda *n: np.array([n], dtype=np.int16)  # noqa: E731
    assert tr.update(0, {"impression": imps(2, 3, 0)}).tolist() == [[0, 1, 0]]
    assert tr.update(1, {"impression": imps(1, 0, 0)}).tolist() == [[1, 1, 0]]
    assert tr.update(2, {"impression": imps(0, 0, 0)}).tolist() == [[0, 0, 0]]
    # browses on days 3 and 5 (window 3: days 3-5) -> appeal on day 5, gone on day 6
    tr.update(3, {"browse": np.array([[True, False, False]])})
    tr.update(4, {})
    assert tr.update(5, {"browse": np.array([[True, False, False]])}).tolist() == [[2, 0, 0]]
    assert tr.update(6, {}).tolist() == [[0, 0, 0]]
    # a purchase of 99.5 is not enough for act, 100 is; a review rated 3 is no advocacy, 4 is
    buy = EventSource("purchase", np.array([[True, True, False]]), np.array([99.5, 100.0, np.nan]))
    rev = EventSource("review", np.array([[True, False, True]]), np.array([3.0, np.nan, 4.0]))
    assert tr.update(7, {"purchase": buy, "review": [rev]}).tolist() == [[0, 3, 4]]
