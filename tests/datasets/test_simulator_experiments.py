"""The simulator runs experiments: user holdouts (ghost ads) and geo holdouts, with their true effects."""

from __future__ import annotations

import pandas as pd
import pytest

import marketing360 as m3
from marketing360.datasets import GeoTest, SimulationResult, sample_checksum, simulate
from marketing360.errors import ParameterError
from marketing360.incrementality.experiments import experiment

TEST = GeoTest("search", ("beijing", "wuhan"), "2025-01-22", "2025-02-04")


@pytest.fixture(scope="module")
def world():
    return simulate(n_users=4000, n_days=42, seed=5, holdout={"video": 0.5, "email": 0.3}, truth="incremental",
                    freq="D", geo_tests=[TEST])


def test_holdout_truth_agrees_with_switch_off_truth_and_events(world):
    ex = world.truth.experiments
    inc = world.truth.incremental.set_index("channel")
    for ch in ("video", "email"):
        purchases = ex[(ex.channel == ch) & (ex.metric == "purchases") & (ex.estimand == "itt")].iloc[0]
        # the control arm has the channel off in both worlds: the arm's total is the channel's switch-off truth
        assert purchases.incremental == inc.loc[ch, "conversions"]
        asg = world.assignments[world.assignments.channel == ch]
        assert purchases.units == int((~asg.holdout).sum())
        assert purchases.effect == pytest.approx(purchases.incremental / purchases.units)
        # who was reached: treated consumers with an impression of the channel in the events
        ev = world.events
        reached = set(ev.loc[(ev.event_type == "impression") & (ev.channel == ch), "user_id"])
        tot = ex[(ex.channel == ch) & (ex.metric == "purchases") & (ex.estimand == "tot")].iloc[0]
        assert tot.units == len(reached)
        assert reached <= set(asg.user_id[~asg.holdout])
        ghosts = world.ghost_impressions
        assert tot.control_reached == ghosts.loc[ghosts.channel == ch, "user_id"].nunique()
        revenue = ex[(ex.channel == ch) & (ex.metric == "revenue") & (ex.estimand == "itt")].iloc[0]
        assert revenue.incremental == pytest.approx(inc.loc[ch, "revenue"], abs=0.01)


def test_readout_recovers_the_true_effect(world, tmp_path):
    asg = world.experiment_assignment("video")
    ev = world.events
    reached = set(ev.loc[(ev.event_type == "impression") & (ev.channel == "video"), "user_id"]) | set(
        world.ghost_impressions.loc[world.ghost_impressions.channel == "video", "user_id"])
    assert set(asg.user_id[asg.exposed]) == reached
    assert (asg.arm == "control").sum() == world.assignments.query("channel == 'video'").holdout.sum()
    args = dict(n_users=800, n_days=14, seed=3, holdout={"video": 0.5}, truth="none")
    small, on_disk = simulate(**args), simulate(**args, out=tmp_path / "w")  # events in memory, or in a folder
    assert on_disk.events is None
    pd.testing.assert_frame_equal(on_disk.experiment_assignment("video"), small.experiment_assignment("video"))
    with pytest.raises(ParameterError, match="had no holdout"):
        world.experiment_assignment("search")
    r = experiment(ev, asg, start="2025-01-01", end="2025-02-11",  # the 42 simulated days
                   metrics=["purchases", "revenue"], exposed="exposed").table()
    truth = world.truth.experiments.query("channel == 'video'")
    both = r.merge(truth, on=["metric", "estimand"])
    assert len(both) == 4
    # within 3 standard errors (the readout's sampling error; a fixed seed, so no flakiness)
    assert ((both.estimate - both.effect).abs() < 3 * both.std_error).all(), both[["metric", "estimand",
                                                                                    "estimate", "effect"]]


def test_geo_test_switches_the_channel_off_and_knows_what_it_cost(world):
    g = world.truth.geo_tests
    assert set(g.test) == {"search-off"}
    # consumers outside the test geos are untouched (common random numbers)
    outside = g[~g.treated]
    assert (outside.conversions == outside.conversions_planned).all()
    assert (outside.spend == outside.spend_planned).all()
    # the observed world spent nothing on search in the test cells; the planned one did
    cells = g[g.active]
    assert set(cells.geo) == {"beijing", "wuhan"} and cells.date.min() == pd.Timestamp("2025-01-22")
    assert cells.spend.sum() == 0 and cells.spend_planned.sum() > 0
    sp = world.spend
    obs = sp[(sp.channel == "search") & sp.geo.isin(TEST.geos) & sp.date.between("2025-01-22", "2025-02-04")]
    assert obs.spend.sum() == 0
    # outcomes: the canonical outcomes table is the observed column of the truth
    oc = world.outcomes.set_index(["date", "geo"]).conversions
    obs_conv = g.set_index(["date", "geo"]).conversions
    assert (oc.reindex(obs_conv.index) == obs_conv).all()
    # the channel only adds conversions (pathwise monotone), before the test nothing differs
    inside = g[g.treated]
    assert (inside.conversions_planned >= inside.conversions).all()
    assert (inside[inside.date < "2025-01-22"].conversions_planned
            == inside[inside.date < "2025-01-22"].conversions).all()
    eff = world.truth.geo_effect()
    assert eff.spend.iloc[0] == pytest.approx(cells.spend_planned.sum())
    assert eff.conversions.iloc[0] == cells.conversions_planned.sum() - cells.conversions.sum()
    assert eff.iroas.iloc[0] == pytest.approx(eff.revenue.iloc[0] / eff.spend.iloc[0])
    later = world.truth.geo_effect(end="2025-02-12")
    assert later.conversions.iloc[0] >= eff.conversions.iloc[0]  # carry-over after the test


def test_without_tests_the_world_is_unchanged():
    a = simulate(n_users=500, n_days=14, seed=2, truth="none")
    b = simulate(n_users=500, n_days=14, seed=2, truth="none", geo_tests=[])
    assert sample_checksum(a) == sample_checksum(b)
    c = simulate(n_users=500, n_days=14, seed=2, truth="incremental", holdout={"display": 0.2})
    d = simulate(n_users=500, n_days=14, seed=2, truth="incremental", holdout={"display": 0.2},
                 geo_tests=[GeoTest("display", ("beijing",), "2025-01-10", "2025-01-12")])
    # the test changes what consumers in beijing do, and no one else's behaviour (the time of day and the
    # referring channel of organic events are drawn per block and day, so they may move)
    keep = c.users.user_id[c.users.geo != "beijing"]

    def daily(x):
        e = x.events[x.events.user_id.isin(keep)]
        e = e.assign(day=e.ts.dt.floor("D"), channel=e.channel.where(e.event_type.isin(["impression", "click"])))
        return e.groupby(["user_id", "day", "brand", "event_type", "channel"], dropna=False).size().sort_index()

    pd.testing.assert_series_equal(daily(c), daily(d))
    beijing = c.users.user_id[c.users.geo == "beijing"]
    assert len(c.events[c.events.user_id.isin(beijing)]) > len(d.events[d.events.user_id.isin(beijing)])
    assert c.truth.geo_tests is None and d.truth.geo_tests is not None


def test_geo_test_on_a_held_out_channel_and_chunked_worlds(monkeypatch):
    import marketing360.datasets.simulator as sim

    test = GeoTest("search", ("beijing", "wuhan"), "2025-01-08", "2025-01-15")
    args = dict(n_users=1200, n_days=21, seed=5, holdout={"search": 0.5, "video": 0.3}, truth="incremental",
                freq="D", geo_tests=[test, GeoTest("video", ("shanghai",), "2025-01-05", "2025-01-08", name="v")])
    w = simulate(**args)
    # where the geo test has search off for everyone, a held-out consumer would not have been reached either:
    # no ghost impressions there (they were logged, so the ghost-ads control group took in consumers whom the
    # treatment arm could not reach)
    g = w.ghost_impressions.merge(w.users[["user_id", "geo"]], on="user_id")
    in_test = g[(g.channel == "search") & g.geo.isin(test.geos) & g.date.between(test.start, test.end)]
    assert len(in_test) == 0
    assert len(g[(g.channel == "search") & g.geo.isin(test.geos)]) > 0  # before and after the test they are
    ev = w.events.merge(w.users[["user_id", "geo"]], on="user_id")
    assert not ((ev.event_type == "impression") & (ev.channel == "search") & ev.geo.isin(test.geos)
                & (ev.ts >= test.start) & (ev.ts < pd.Timestamp(test.end) + pd.Timedelta(days=1))).any()
    # the worlds simulated one at a time (the memory-bound chunks of a large world) give the same truth
    run = sim._run_jobs
    monkeypatch.setattr(sim, "_run_jobs", lambda jobs, n_jobs, progress: run([(*j[:5], 1) for j in jobs], n_jobs,
                                                                               progress))
    one = simulate(**args)
    assert sample_checksum(one) == sample_checksum(w)
    for name in ("experiments", "geo_tests", "incremental"):
        pd.testing.assert_frame_equal(getattr(one.truth, name), getattr(w.truth, name))


def test_truth_round_trips_through_files(world, tmp_path):
    world.write(tmp_path / "w")
    back = SimulationResult.read(tmp_path / "w")
    pd.testing.assert_frame_equal(back.truth.experiments, world.truth.experiments)
    pd.testing.assert_frame_equal(back.truth.geo_effect(), world.truth.geo_effect())


def test_bad_geo_tests_are_named():
    with pytest.raises(ParameterError, match="unknown channel 'tv'"):
        simulate(n_users=50, n_days=7, geo_tests=[GeoTest("tv", ("beijing",), "2025-01-02", "2025-01-03")])
    with pytest.raises(ParameterError, match=r"unknown geo\(s\) \['paris'\]"):
        simulate(n_users=50, n_days=7, geo_tests=[GeoTest("search", ("paris",), "2025-01-02", "2025-01-03")])
    with pytest.raises(ParameterError, match="within the simulated days"):
        simulate(n_users=50, n_days=7, geo_tests=[GeoTest("search", ("beijing",), "2025-01-05", "2025-02-03")])
    with pytest.raises(ParameterError, match="names must be unique"):
        simulate(n_users=50, n_days=40, geo_tests=[TEST, TEST])
    with pytest.raises(ParameterError, match="without geo tests"):
        simulate(n_users=50, n_days=7, truth="none").truth.geo_effect()
    assert m3.datasets.GeoTest is GeoTest
