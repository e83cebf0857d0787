"""A burn-in: days simulated before the start and not observed, so that a world need not start cold."""

from __future__ import annotations

import pandas as pd
import pytest

from marketing360.datasets import FunnelParams, GeoTest, simulate
from marketing360.errors import ParameterError

START = pd.Timestamp("2025-02-10")  # 40 days after the long world's first day
ARGS = dict(n_users=1500, seed=8, n_geos=6, freq="D", truth="incremental", holdout={"display": 0.3})
TEST = GeoTest("search", ("beijing", "shanghai"), "2025-02-20", "2025-03-01")


@pytest.fixture(scope="module", params=[None, FunnelParams(weekday=(1.2, 1, 1, 1, 1, 0.9, 0.8), daily_sd=0.2)],
                ids=["flat", "daily"])
def pair(request):
    """The same world twice: 61 days seen from 2025-01-01, and its last 21 days seen after a 40-day burn-in
    (with and without demand that moves by day: its weekdays and shocks follow the calendar)."""
    long = simulate(n_days=61, start="2025-01-01", geo_tests=[TEST], funnel=request.param, **ARGS)
    short = simulate(n_days=21, start=START, burn_in=40, geo_tests=[TEST], funnel=request.param, **ARGS)
    return long, short


def test_a_burn_in_world_is_the_tail_of_the_longer_world(pair):
    long, short = pair
    tail = long.events[long.events.ts >= START].reset_index(drop=True)
    got = short.events.reset_index(drop=True)
    assert len(got) > 10_000
    pd.testing.assert_frame_equal(got.astype({"campaign": str}), tail.astype({"campaign": str}))
    for name in ("outcomes", "spend"):
        a = getattr(long, name)
        pd.testing.assert_frame_equal(getattr(short, name), a[a.date >= START].reset_index(drop=True))
    g = long.ghost_impressions
    pd.testing.assert_frame_equal(short.ghost_impressions.sort_values(["user_id", "date", "brand"], ignore_index=True),
                                  g[g.date >= START].sort_values(["user_id", "date", "brand"], ignore_index=True))
    # the true stages carry the burn-in's history: the long world's spells seen from the start on
    s = long.truth.stages
    s = s[s.end >= START].assign(start=lambda d: d.start.clip(lower=START)).reset_index(drop=True)
    pd.testing.assert_frame_equal(short.truth.stages.reset_index(drop=True), s)
    # the geo test lies in the observed days: its truth is the long world's
    pd.testing.assert_frame_equal(short.truth.geo_effect(), long.truth.geo_effect())


def test_campaigns_and_truth_count_only_the_observed_days(pair):
    long, short = pair
    c = long.campaigns
    seen = c[c.end >= START]
    days_all = (seen.end - seen.start).dt.days + 1
    days_seen = (seen.end - seen.start.clip(lower=START)).dt.days + 1
    got = short.campaigns.set_index("campaign")
    assert list(got.index) == list(seen.campaign)
    assert (got.start >= START).all() and list(got.end) == list(seen.end)
    # a flight's planned budget is spread evenly over its days: the seen days' share of it
    assert got.budget.to_numpy() == pytest.approx((seen.budget * days_seen / days_all).to_numpy(), abs=0.011)
    # the truth's totals are the observed events' purchases and revenue
    ev = short.events[short.events.event_type == "purchase"]
    assert short.truth.totals["conversions"] == len(ev)
    assert short.truth.totals["revenue"] == pytest.approx(ev.value.sum())
    assert short.outcomes.conversions.sum() == len(ev)
    ex = short.truth.experiments
    itt = ex[(ex.channel == "display") & (ex.metric == "purchases") & (ex.estimand == "itt")].iloc[0]
    assert itt.incremental == short.truth.incremental.set_index("channel").loc["display", "conversions"]
    assert short.config["burn_in"] == 40


def test_bad_burn_in_is_named():
    for bad in (-1, 1.5, True, 9_995):
        with pytest.raises(ParameterError, match="burn_in must be a whole number of days"):
            simulate(n_users=50, n_days=7, burn_in=bad, truth="none")
