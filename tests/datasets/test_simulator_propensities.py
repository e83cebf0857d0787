"""The simulator's true daily chances (``truth.propensities``) against what its events show."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketing360.datasets import SimulationResult, simulate
from marketing360.errors import ParameterError

ENGAGE = ["search", "follow", "cart", "ask"]


@pytest.fixture(scope="module")
def world() -> SimulationResult:
    return simulate(n_users=2000, n_days=45, seed=11, truth="none", propensities=True, progress=False)


def _pair_days(w: SimulationResult, types: list[str]) -> int:
    ev = w.events[w.events.event_type.isin(types)]
    return len(ev.assign(date=ev.ts.dt.normalize()).groupby(["user_id", "brand", "date"]).size())


@pytest.mark.parametrize("chance, types", [("p_purchase", ["purchase"]), ("p_visit", ["browse", "click"]),
                                           ("p_click", ["click"]), ("p_engage", ENGAGE)])
def test_the_chances_add_up_to_the_pair_days_the_events_show(world: SimulationResult, chance: str,
                                                             types: list[str]) -> None:
    p = world.truth.propensities[chance].to_numpy(np.float64)
    expected, sd = p.sum(), np.sqrt((p * (1 - p)).sum())
    observed = _pair_days(world, types)
    assert observed > 200
    assert abs(observed - expected) < 4 * sd, (chance, observed, expected, sd)


def test_the_later_review_chance_adds_up_to_the_positive_reviews_of_days_without_a_purchase(
        world: SimulationResult) -> None:
    # a review on a day without a purchase is a later (organic) one: the same-day reviews come with a purchase
    ev = world.events.assign(date=world.events.ts.dt.normalize())
    keys = ["user_id", "brand", "date"]
    bought = ev.loc[ev.event_type == "purchase", keys].drop_duplicates()
    rev = ev.loc[(ev.event_type == "review") & (ev.value >= 4), keys].drop_duplicates()
    rev = rev.merge(bought, on=keys, how="left", indicator=True)
    observed = int((rev._merge == "left_only").sum())
    m = world.truth.propensities
    p = (m.p_review * (1 - m.p_purchase)).to_numpy(np.float64)  # independent draws
    expected, sd = p.sum(), np.sqrt((p * (1 - p)).sum())
    assert observed > 20
    assert abs(observed - expected) < 4 * sd, (observed, expected, sd)
    assert (m.p_review[m.stage.isin(["unaware", "aware", "appeal"])] == 0).all()  # no recent purchase


def test_the_later_review_chance_is_a_purchase_yesterday_when_every_purchase_is_reviewed_the_next_day() -> None:
    from marketing360.datasets import FunnelParams

    fp = FunnelParams(review=1.0, review_ratings=(0, 0, 0, 0, 1), followup_days=1)
    w = simulate(n_users=600, n_days=20, seed=2, truth="none", propensities=True, funnel=fp, progress=False)
    ev = w.events[w.events.event_type == "purchase"]
    bought = ev.assign(date=ev.ts.dt.normalize() + pd.Timedelta(days=1))[["user_id", "brand", "date"]]
    m = w.truth.propensities.merge(bought.drop_duplicates().assign(yesterday=1.0), how="left")
    m = m[m.date > m.date.min()]  # the first day's yesterday is in the burn-in
    assert m.yesterday.notna().sum() > 30
    np.testing.assert_array_equal(m.p_review.to_numpy(), m.yesterday.fillna(0.0).to_numpy())


@pytest.mark.parametrize("stage", ["aware", "appeal", "act"])
def test_the_next_stage_chances_add_up_to_the_moves_the_true_stages_make(world: SimulationResult, stage: str) -> None:
    q = world.truth.next_stage_chances(world.events)
    assert q.date.min() == pd.Timestamp("2025-01-01") + pd.Timedelta(days=29)  # the Appeal window's browsing seen
    level = {"unaware": 0, "aware": 1, "appeal": 2, "act": 3, "advocate": 4}
    p = world.truth.propensities
    after = p[["user_id", "brand", "date"]].assign(date=p.date - pd.Timedelta(days=1), after=p.stage.map(level))
    m = q[q.stage == stage].merge(after, on=["user_id", "brand", "date"])  # the stage entering the next day
    moved = int((m.after > level[stage]).sum())
    pr = m.p_next.to_numpy(np.float64)
    expected, sd = pr.sum(), np.sqrt((pr * (1 - pr)).sum())
    assert moved > 20
    assert abs(moved - expected) < 4 * sd, (stage, moved, expected, sd)
    assert (m.next_stage == {"aware": "appeal", "appeal": "act", "act": "advocate"}[stage]).all()


def test_the_next_stage_chances_need_the_propensities_a_month_and_the_worlds_events(world) -> None:
    w = simulate(n_users=50, n_days=3, seed=1, truth="none", progress=False)
    with pytest.raises(ParameterError, match="propensities=True"):
        w.truth.next_stage_chances(w.events)
    short = simulate(n_users=50, n_days=10, seed=1, truth="none", propensities=True, progress=False)
    with pytest.raises(ParameterError, match="needs 30 observed days"):
        short.truth.next_stage_chances(short.events)
    with pytest.raises(ParameterError, match="this world's events"):
        world.truth.next_stage_chances(short.events.assign(ts=short.events.ts + pd.Timedelta(days=60)))


def test_one_row_per_pair_and_day_with_the_stage_entering_the_day(world: SimulationResult) -> None:
    p = world.truth.propensities
    assert not p.duplicated(["user_id", "brand", "date"]).any()
    per_pair = p.groupby(["user_id", "brand"]).size()
    assert (per_pair == 45).all()
    for day in ("2025-01-20", "2025-02-10"):
        d = pd.Timestamp(day)
        today = p[p.date == d]
        before = world.truth.stages_on(d - pd.Timedelta(days=1))
        m = today.merge(before, on=["user_id", "brand"], how="left", suffixes=("", "_spell"))
        assert (m.stage == m.stage_spell.fillna("unaware")).all()
    assert set(p.stage) <= {"unaware", "aware", "appeal", "act", "advocate"}


def test_the_click_chance_is_one_minus_no_click_on_each_delivered_impression(world: SimulationResult) -> None:
    ctr = world.truth.channel_params.set_index("channel").ctr
    imp = world.events[world.events.event_type == "impression"]
    imp = imp.assign(date=imp.ts.dt.normalize(), log_no=np.log1p(-imp.channel.map(ctr).to_numpy(np.float64)))
    hand = (-np.expm1(imp.groupby(["user_id", "brand", "date"]).log_no.sum())).rename("hand")
    m = world.truth.propensities.merge(hand.reset_index(), on=["user_id", "brand", "date"], how="left")
    np.testing.assert_allclose(m.p_click, m.hand.fillna(0.0), rtol=2e-6, atol=1e-7)
    assert (m.p_visit >= m.p_click - 1e-7).all() and (m.p_engage >= m.p_purchase).all()
    assert (m.p_purchase >= m.p_advocate).all()


def test_recording_the_chances_changes_nothing_else() -> None:
    a = simulate(n_users=300, n_days=10, seed=3, truth="none", progress=False)
    b = simulate(n_users=300, n_days=10, seed=3, truth="none", propensities=True, progress=False)
    pd.testing.assert_frame_equal(a.events, b.events)
    assert a.truth.propensities is None and len(b.truth.propensities) > 0


def test_the_chances_survive_writing_the_world(tmp_path, world: SimulationResult) -> None:
    back = SimulationResult.read(world.write(tmp_path / "w"))
    pd.testing.assert_frame_equal(back.truth.propensities, world.truth.propensities, check_dtype=False)


def test_a_bad_flag_is_refused() -> None:
    with pytest.raises(ParameterError, match="propensities must be True or False"):
        simulate(n_users=10, n_days=2, propensities="yes", progress=False)  # type: ignore[arg-type]
