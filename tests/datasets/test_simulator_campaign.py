"""A targeted campaign in the simulator: delivery, spend, truth, and other plans under the same random numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketing360.datasets import Campaign, SimulationResult, evaluate_campaigns, simulate
from marketing360.datasets.campaign import FREQUENCY_CAP, _fill
from marketing360.errors import ParameterError

WORLD = dict(n_users=2500, n_days=40, n_brands=3, n_categories=1, seed=11, progress=False)
START, END = "2025-01-15", "2025-01-28"


def _plan(budgets=(400.0, 400.0)) -> pd.DataFrame:
    return pd.DataFrame({"channel": ["display", "video"], "audience": ["half", "half"], "budget": list(budgets)})


@pytest.fixture(scope="module")
def plain() -> SimulationResult:
    return simulate(truth="none", **WORLD)


@pytest.fixture(scope="module")
def audience(plain) -> np.ndarray:
    ids = plain.users.user_id.to_numpy()
    return ids[ids % 2 == 0]


@pytest.fixture(scope="module")
def campaign(audience) -> Campaign:
    return Campaign("Acme", START, END, plan=_plan(), audiences={"half": audience})


@pytest.fixture(scope="module")
def world(campaign) -> SimulationResult:
    return simulate(truth="incremental", campaign=campaign, **WORLD)


def test_events_before_the_campaign_are_the_world_without_it(plain, world):
    before = [e[e.ts < pd.Timestamp(START)].reset_index(drop=True) for e in (plain.events, world.events)]
    pd.testing.assert_frame_equal(before[0], before[1])
    assert len(world.events) > len(plain.events)


def test_campaign_exposures_reach_only_the_audience_in_the_window(world, audience):
    ev = world.events
    mine = ev[ev.campaign.fillna("").str.startswith("4E-")]
    assert set(mine.campaign) == {"4E-display-half", "4E-video-half"}
    assert set(mine.event_type) <= {"impression", "click"}
    assert mine.user_id.isin(audience).all()
    assert (mine.brand == "Acme").all()
    assert mine.ts.min() >= pd.Timestamp(START) and mine.ts.max() < pd.Timestamp(END) + pd.Timedelta(days=1)
    rows = world.campaigns.set_index("campaign").loc[["4E-display-half", "4E-video-half"]]
    assert rows.budget.tolist() == [400.0, 400.0] and (rows.channel.tolist() == ["display", "video"])


def test_spend_of_each_row_is_its_budget_in_expectation(world):
    ev = world.events
    spent = ev[ev.campaign.fillna("").str.startswith("4E-")].groupby("campaign").cost.sum()
    # expected cost = budget; the realised one is a sum of thousands of impressions' costs
    np.testing.assert_allclose(spent.to_numpy(), [400.0, 400.0], rtol=0.1)


def test_truth_is_pathwise_non_negative_and_adds_up(world):
    users = world.truth.campaign_users
    assert (users.conversions >= users.conversions_without).all()
    assert (users.revenue >= users.revenue_without - 1e-6).all()
    total = world.truth.campaign.set_index("scope")
    assert set(total.index) == {"campaign", "display", "video"}
    # the per-consumer truth and the world totals count the same purchases
    assert users.conversions.sum() - users.conversions_without.sum() == total.loc["campaign", "conversions"]
    assert total.loc["campaign", "conversions"] > 0
    assert world.truth.totals["campaign_incremental_conversions"] == total.loc["campaign", "conversions"]


def test_re_simulating_a_plan_gives_the_world_s_own_truth(world, campaign):
    """The focused re-run (the brand's pairs alone) equals the full simulation under the same draws."""
    out = evaluate_campaigns(world, [campaign, campaign.with_budgets({"video": 0.0}),
                                     campaign.with_budgets([0.0, 0.0])])
    truth = world.truth.campaign.set_index("scope")
    assert out.loc[0, "incremental_conversions"] == truth.loc["campaign", "conversions"]
    assert out.loc[0, "incremental_revenue"] == pytest.approx(truth.loc["campaign", "revenue"], abs=0.05)
    assert out.loc[0, "incremental_spend"] == pytest.approx(truth.loc["campaign", "spend"], abs=1e-3)
    # display alone is the world without video's rows
    assert out.loc[1, "incremental_conversions"] == truth.loc["campaign", "conversions"] - truth.loc["video",
                                                                                                     "conversions"]
    assert out.loc[2, ["incremental_conversions", "incremental_revenue", "incremental_spend"]].abs().sum() == 0
    assert out.budget.tolist() == [800.0, 400.0, 0.0]


def test_a_zero_budget_campaign_changes_nothing(plain, audience):
    c = Campaign("Acme", START, END, plan=_plan((0.0, 0.0)), audiences={"half": audience})
    w = simulate(truth="incremental", campaign=c, **WORLD)
    pd.testing.assert_frame_equal(w.events, plain.events)
    assert w.truth.campaign.conversions.abs().sum() == 0


def test_written_world_keeps_the_truth_but_cannot_run_again(world, campaign, tmp_path):
    back = SimulationResult.read(world.write(tmp_path / "w"))
    pd.testing.assert_frame_equal(back.truth.campaign, world.truth.campaign)
    assert back.config["campaign"]["audience_sizes"] == {"half": len(campaign.users("half"))}
    with pytest.raises(ParameterError, match="read from disk"):
        evaluate_campaigns(back, [campaign])


def test_frequency_cap_fills_like_water():
    reach = np.array([4.0, 2.0, 1.0, 1.0])
    assert _fill(reach, 6.0, 3.0) == pytest.approx(0.75)  # nobody at the cap: 6 / 8
    k = _fill(reach, 7.0, 3.0)  # the first consumer capped at 3, the rest share 4
    assert k == pytest.approx(1.0)
    assert np.minimum(k * reach, 3.0).sum() == pytest.approx(7.0)
    assert _fill(reach, 0.0, 3.0) == 0.0


def test_budget_beyond_the_audience_is_refused(plain):
    few = plain.users.user_id.to_numpy()[:20]
    c = Campaign("Acme", START, END, plan=_plan((1e6, 0.0)), audiences={"half": few})
    with pytest.raises(ParameterError, match=f"cannot spend a budget of 1,000,000.00.*{FREQUENCY_CAP:g} exposures"):
        simulate(truth="none", campaign=c, **WORLD)


@pytest.mark.parametrize("kwargs, match", [
    (dict(plan=pd.DataFrame({"channel": ["display"], "budget": [1.0]})), r"lacks column\(s\) \['audience'\]"),
    (dict(plan=_plan((-1.0, 2.0))), "finite and non-negative"),
    (dict(plan=_plan().iloc[:0]), "no rows"),
    (dict(plan=pd.concat([_plan(), _plan()])), "repeats"),
    (dict(audiences={"other": [1]}), r"audience\(s\) \['half'\]"),
    (dict(audiences={"half": ["a", "b"]}), "integer user ids"),
    (dict(start="2025-02-01", end="2025-01-01"), "before its start"),
    (dict(start="not a date"), "must be dates"),
])
def test_bad_campaigns_are_refused(kwargs, match):
    args = dict(brand="Acme", start=START, end=END, plan=_plan(), audiences={"half": [1, 2]}) | kwargs
    with pytest.raises(ParameterError, match=match):
        Campaign(**args)


@pytest.mark.parametrize("kwargs, match", [
    (dict(brand="Nope"), "not a brand of this world"),
    (dict(plan=pd.DataFrame({"channel": ["radio"], "audience": ["half"], "budget": [1.0]})), "unknown channel"),
    (dict(end="2025-03-01"), "within the simulated days"),
])
def test_campaigns_that_do_not_fit_the_world_are_refused(kwargs, match):
    args = dict(brand="Acme", start=START, end=END, plan=_plan(), audiences={"half": [0, 2]}) | kwargs
    with pytest.raises(ParameterError, match=match):
        simulate(truth="none", campaign=Campaign(**args), **WORLD)


def test_evaluate_campaigns_refuses_mixed_plans(world, campaign):
    other = Campaign("Bolt", START, END, plan=_plan(), audiences={"half": [0, 2]})
    with pytest.raises(ParameterError, match="one brand over one window"):
        evaluate_campaigns(world, [campaign, other])
    clash = Campaign("Acme", START, END, plan=_plan(), audiences={"half": [0, 2]})
    with pytest.raises(ParameterError, match="other consumers"):
        evaluate_campaigns(world, [campaign, clash])
    with pytest.raises(ParameterError, match="at least one"):
        evaluate_campaigns(world, [])
