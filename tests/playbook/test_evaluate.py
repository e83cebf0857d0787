"""Evaluate: the readout equals plain differences of means over the design's arms, on events built by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketing360.errors import ParameterError
from marketing360.playbook import CONTROL, HOLDOUT, design_campaign, evaluate_campaign

START, END = "2025-03-01", "2025-03-21"
PLAN = pd.DataFrame({"channel": ["display", "video"], "audience": ["aud", "aud"], "budget": [3000.0, 1000.0]})
LIFT = {("display", "dose 1"): 0.05, ("display", "dose 2"): 0.12, ("video", "dose 1"): 0.08, ("video", "dose 2"): 0.1}


@pytest.fixture(scope="module")
def world():
    ids = np.arange(12_000)
    design = design_campaign(PLAN, {"aud": ids}, holdout=0.1, min_size=100)
    a = design.assignment
    arm = {ch: a[a.channel == ch].set_index("user_id").arm.reindex(ids).to_numpy() for ch in ("display", "video")}
    lam = np.full(len(ids), 0.2)
    for (ch, name), lift in LIFT.items():
        lam += lift * (arm[ch] == name)
    rng = np.random.default_rng(5)
    n_buy = rng.poisson(lam)
    days = pd.date_range(START, END, freq="D")
    buyers = np.repeat(ids, n_buy)
    ev = pd.concat([
        pd.DataFrame({"user_id": ids, "ts": pd.Timestamp("2025-02-20 10:00"), "brand": "A", "event_type": "impression",
                      "value": np.nan}),
        pd.DataFrame({"user_id": buyers, "ts": days[rng.integers(0, len(days), len(buyers))] + pd.Timedelta(hours=15),
                      "brand": "A", "event_type": "purchase", "value": 10.0}),
        # another brand's purchases must not count
        pd.DataFrame({"user_id": ids[:3000], "ts": pd.Timestamp("2025-03-05 09:00"), "brand": "B",
                      "event_type": "purchase", "value": 99.0}),
    ], ignore_index=True)
    per_user = pd.Series(n_buy, index=ids)
    return design, ev, per_user, arm


@pytest.fixture(scope="module")
def readout(world):
    design, ev, _, _ = world
    return evaluate_campaign(ev, design, brand="A", start=START, end=END)


def _welch(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    return x.mean() - y.mean(), float(np.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y)))


def test_each_arm_is_its_mean_minus_its_controls_mean(world, readout):
    design, _, y, arm = world
    t = readout.table().set_index(["scope", "channel", "arm"])
    for ch in ("display", "video"):
        ctrl = y.to_numpy()[arm[ch] == CONTROL]
        for name in ("dose 1", "dose 2"):
            treated = y.to_numpy()[arm[ch] == name]
            est, se = _welch(treated, ctrl)
            row = t.loc[("channel", ch, name)]
            assert row.estimate == pytest.approx(est, rel=1e-9)
            assert row.std_error == pytest.approx(se, rel=1e-6)
            assert row.consumers == len(treated)
            assert row.incremental_conversions == pytest.approx(est * len(treated))
            assert row.revenue_per_consumer == pytest.approx(10 * est, rel=1e-9)
    held = arm["display"] == HOLDOUT
    est, se = _welch(y.to_numpy()[~held], y.to_numpy()[held])
    assert t.loc[("campaign", "all", "campaign")].estimate == pytest.approx(est, rel=1e-9)
    assert t.loc[("campaign", "all", "campaign")].std_error == pytest.approx(se, rel=1e-6)


def test_the_planted_lifts_are_inside_the_intervals(readout):
    t = readout.table().set_index(["channel", "arm"])
    for key, lift in LIFT.items():
        assert t.loc[key, "lower"] < lift < t.loc[key, "upper"]


def test_channel_totals_and_mrr(readout):
    t = readout.table()
    ch = readout.channels().set_index("channel")
    for c, budget in (("display", 3000.0), ("video", 1000.0)):
        arms = t[(t.scope == "channel") & (t.channel == c)]
        assert ch.loc[c, "incremental_conversions"] == pytest.approx(arms.incremental_conversions.sum())
        assert ch.loc[c, "budget"] == pytest.approx(budget)
        assert ch.loc[c, "mrr"] == pytest.approx(arms.incremental_revenue.sum() / budget)
        m = readout.mrr.table().set_index("channel")
        assert m.loc[c, "estimate"] == pytest.approx(ch.loc[c, "mrr"])
        assert m.loc[c, "std_error"] == pytest.approx(ch.loc[c, "revenue_std_error"] / budget)
        # the arms share their control: the total's variance exceeds the sum of the arms' own variances
        own = float(np.sqrt(((arms.consumers * arms.std_error) ** 2).sum()))
        assert ch.loc[c, "conversions_std_error"] > own


def test_flows_compare_who_moved_up_among_treated_and_holdout(world, readout):
    _, _, y, arm = world
    f = readout.flows.set_index("from_stage")
    held = arm["display"] == HOLDOUT
    bought = y.to_numpy() > 0  # an aware consumer who buys moves up to act
    assert f.loc["aware", "treated"] == (~held).sum() and f.loc["aware", "holdout"] == held.sum()
    assert f.loc["aware", "moved_up_treated"] == pytest.approx(bought[~held].mean())
    assert f.loc["aware", "moved_up_holdout"] == pytest.approx(bought[held].mean())


def test_bad_calls_are_refused(world):
    design, ev, _, _ = world
    with pytest.raises(ParameterError, match="CampaignDesign"):
        evaluate_campaign(ev, PLAN, brand="A", start=START, end=END)
    with pytest.raises(ParameterError, match="brand 'Z' has no events"):
        evaluate_campaign(ev, design, brand="Z", start=START, end=END)
    with pytest.raises(ParameterError, match="before start"):
        evaluate_campaign(ev, design, brand="A", start=END, end=START)


def test_lifts_feed_the_attribution_calibration(readout):
    from marketing360.attribution import Attribution, calibrate

    lifts = readout.lifts()
    ch = readout.channels().set_index("channel")
    assert lifts.set_index("channel").conversions.to_dict() == pytest.approx(ch.incremental_conversions.to_dict())
    assert lifts.set_index("channel").std_error.to_dict() == pytest.approx(ch.conversions_std_error.to_dict())
    per_arm = readout.lifts(key="campaign")
    assert len(per_arm) == 4 and per_arm.channel.str.startswith("4E-display-aud/display/dose").sum() == 2
    a = Attribution(pd.DataFrame({"method": "last_touch", "channel": ["display", "video", "search"],
                                  "conversions": [300.0, 100.0, 50.0], "value": [3000.0, 1000.0, 500.0]}))
    pd.testing.assert_frame_equal(readout.calibrate(a).table(), calibrate(a, lifts).table())
    with pytest.raises(ParameterError, match="key must be"):
        readout.lifts(key="brand")
