"""The ground-truth simulator: determinism, consistency of its tables, and the incremental truth.

The incremental truth is held to worlds re-simulated by hand and to the
permutation definition of Shapley values; the true 4A stages are tested in
``test_simulator_stages.py``.
"""

from __future__ import annotations

import itertools
from math import factorial

import pandas as pd
import pytest

import marketing360 as m3
from marketing360.assets.rules import StageRules
from marketing360.datasets import simulate
from marketing360.datasets.simulator import SimulationResult
from marketing360.datasets.world import DEFAULT_CHANNELS, ChannelParams
from marketing360.errors import ParameterError


def test_same_seed_same_world_other_seed_other_world():
    a = simulate(n_users=300, n_days=20, seed=5, truth="incremental")
    b = simulate(n_users=300, n_days=20, seed=5, truth="incremental")
    c = simulate(n_users=300, n_days=20, seed=6, truth="incremental")
    for name in SimulationResult.TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    pd.testing.assert_frame_equal(a.truth.incremental, b.truth.incremental)
    pd.testing.assert_frame_equal(a.truth.stages, b.truth.stages)
    assert not a.events.equals(c.events)


def test_events_are_canonical_with_known_channels(small_world):
    ev = m3.validate(small_world.events)
    assert len(ev) == len(small_world.events)
    assert set(ev.event_type) <= set(m3.EVENT_TYPES)
    ads = ev[ev.event_type.isin(["impression", "click"])]
    assert set(ads.channel) <= set(small_world.channels)
    assert ads.campaign.notna().all() and ads.cost.notna().all()
    beh = ev[~ev.event_type.isin(["impression", "click"])]
    assert set(beh.channel) <= set(small_world.channels) | {"organic", "direct"}
    assert (ev.loc[ev.event_type == "purchase", "value"] > 0).all()
    assert ev.ts.between(pd.Timestamp("2025-01-01"), pd.Timestamp("2025-01-01") + pd.Timedelta(days=35)).all()


def test_spend_outcomes_and_totals_add_up_to_the_events(small_world):
    w = small_world
    ev = w.events
    purchases = ev[ev.event_type == "purchase"]
    # outcomes and truth totals count exactly the logged purchases
    assert w.outcomes.conversions.sum() == len(purchases) == w.truth.totals["conversions"]
    assert w.outcomes.revenue.sum() == pytest.approx(purchases.value.sum(), rel=1e-6)
    # spend is the cost of logged impressions and clicks, by channel
    cost = ev.groupby("channel").cost.sum()
    for ch, s in w.spend.groupby("channel").spend.sum().items():
        assert s == pytest.approx(cost.get(ch, 0.0), rel=1e-6, abs=1e-6)
    imps = ev[ev.event_type == "impression"].groupby("channel").size()
    delivered = w.spend.groupby("channel").impressions.sum()
    assert delivered.to_dict() == imps.reindex(delivered.index, fill_value=0).astype(float).to_dict()
    # spend and outcomes are valid canonical tables (unique keys, no negatives)
    m3.validate(w.spend, "spend")
    m3.validate(w.outcomes, "outcomes")
    m3.validate(w.users, "users")
    # by geo: the outcomes of a geo are the purchases of its consumers
    geo = purchases.merge(w.users[["user_id", "geo"]], on="user_id").groupby("geo").size()
    assert (w.outcomes.groupby("geo").conversions.sum().reindex(geo.index) == geo).all()


def test_incremental_truth_is_nonnegative_and_shapley_is_efficient(small_world):
    t = small_world.truth
    tot = t.totals
    assert (t.incremental.conversions >= 0).all() and (t.incremental.revenue >= -1e-9).all()
    assert (t.incremental_by_brand.conversions >= 0).all()
    assert (t.shapley.conversions >= -1e-9).all()
    # efficiency: the Shapley split sums to the total incremental conversions and revenue
    assert t.shapley.conversions.sum() == pytest.approx(tot["incremental_conversions"])
    assert t.shapley.revenue.sum() == pytest.approx(tot["incremental_revenue"])
    assert tot["incremental_conversions"] == tot["conversions"] - tot["baseline_conversions"]
    assert tot["incremental_conversions"] > 0
    # the observed world's conversions are the coalition of all channels
    co = t.coalitions.set_index("coalition")
    assert co.loc[" + ".join(small_world.channels), "conversions"] == tot["conversions"]
    assert co.loc["(none)", "conversions"] == tot["baseline_conversions"]


def test_shapley_equals_the_permutation_definition(small_world):
    """Independent check: average marginal contribution over all orderings of the channels."""
    names = small_world.channels
    co = small_world.truth.coalitions
    value = {frozenset(c.split(" + ")) if c != "(none)" else frozenset(): v
             for c, v in zip(co.coalition, co.conversions)}
    phi = dict.fromkeys(names, 0.0)
    for order in itertools.permutations(names):
        seen: frozenset = frozenset()
        for ch in order:
            phi[ch] += value[seen | {ch}] - value[seen]
            seen = seen | {ch}
    n_perm = factorial(len(names))
    got = small_world.truth.shapley.set_index("channel").conversions
    for ch in names:
        assert got[ch] == pytest.approx(phi[ch] / n_perm)


def test_silent_channels_get_no_credit():
    silent = {n: ChannelParams(**{**vars(p), "rate": 0.0}) for n, p in DEFAULT_CHANNELS.items()}
    w = simulate(n_users=400, n_days=25, seed=3, channels=silent, truth="full")
    assert not w.events.event_type.isin(["impression", "click"]).any()
    assert (w.truth.incremental.conversions == 0).all()
    assert (w.truth.shapley.conversions == 0).all()
    assert w.truth.totals["incremental_conversions"] == 0
    assert w.truth.totals["conversions"] > 0  # organic purchases remain
    assert w.spend.spend.sum() == 0


def test_click_through_rates_of_zero_and_one():
    chans = dict(DEFAULT_CHANNELS)
    chans["display"] = ChannelParams(**{**vars(DEFAULT_CHANNELS["display"]), "ctr": 0.0})
    chans["video"] = ChannelParams(**{**vars(DEFAULT_CHANNELS["video"]), "ctr": 1.0})
    w = simulate(n_users=400, n_days=20, seed=12, channels=chans, truth="none")
    ev = w.events
    assert not ((ev.event_type == "click") & (ev.channel == "display")).any()
    # ctr 1: every consumer-day with a video exposure has exactly one video click
    day = ev.ts.dt.floor("D")
    vid = ev[ev.channel == "video"].assign(day=day)
    exposed = vid[vid.event_type == "impression"].groupby(["user_id", "brand", "day"]).size()
    clicked = vid[vid.event_type == "click"].groupby(["user_id", "brand", "day"]).size()
    assert len(exposed) > 0 and (clicked.reindex(exposed.index) == 1).all()


def test_incremental_truth_equals_a_world_without_the_channel():
    """Switching a channel off by hand (rate 0) reproduces the truth's counterfactual exactly."""
    w = simulate(n_users=500, n_days=30, seed=9, truth="incremental")
    off = dict(DEFAULT_CHANNELS)
    off["video"] = ChannelParams(**{**vars(DEFAULT_CHANNELS["video"]), "rate": 0.0})
    w_off = simulate(n_users=500, n_days=30, seed=9, channels=off, truth="none")
    lost = w.truth.totals["conversions"] - w_off.truth.totals["conversions"]
    assert w.truth.incremental.set_index("channel").conversions["video"] == lost


def test_holdout_groups_see_only_ghost_ads_at_the_same_rate():
    w = simulate(n_users=800, n_days=20, seed=2, holdout={"video": 0.5}, truth="none")
    held = set(w.assignments.query("channel == 'video' and holdout").user_id)
    assert 0.4 < len(held) / len(w.users) < 0.6
    video = w.events[(w.events.event_type == "impression") & (w.events.channel == "video")]
    assert not video.user_id.isin(held).any()
    assert len(w.ghost_impressions) > 0
    assert w.ghost_impressions.user_id.isin(held).all() and (w.ghost_impressions.channel == "video").all()
    # ghost exposures happen at the rate of real ones among comparable consumers
    real_rate = len(video) / (len(w.users) - len(held))
    ghost_rate = w.ghost_impressions.impressions.sum() / len(held)
    assert ghost_rate == pytest.approx(real_rate, rel=0.25)


def test_parquet_output_and_parallel_blocks_give_the_same_world(tmp_path, monkeypatch):
    from marketing360.datasets import simulator

    monkeypatch.setattr(simulator, "BLOCK_USERS", 256)  # several blocks from a small world
    mem = simulate(n_users=700, n_days=15, seed=8, truth="incremental")
    disk = simulate(n_users=700, n_days=15, seed=8, truth="incremental", out=tmp_path, n_jobs=2)
    assert disk.events is None
    files = sorted((tmp_path / "events").glob("part-*.parquet"))
    assert len(files) == 3
    from_disk = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    for c in ("brand", "event_type", "channel", "campaign"):
        from_disk[c] = from_disk[c].astype(object).where(from_disk[c].notna(), None)
    pd.testing.assert_frame_equal(from_disk, mem.events)
    pd.testing.assert_frame_equal(disk.truth.incremental, mem.truth.incremental)


def test_written_world_reads_back_equal(small_world, tmp_path):
    small_world.write(tmp_path / "w")
    back = SimulationResult.read(tmp_path / "w")
    for name in SimulationResult.TABLES:
        a, b = getattr(small_world, name), getattr(back, name)
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b, check_dtype=False)
    pd.testing.assert_frame_equal(small_world.truth.shapley, back.truth.shapley)
    pd.testing.assert_frame_equal(small_world.truth.stages, back.truth.stages, check_dtype=False)
    assert back.truth.totals == small_world.truth.totals
    assert back.truth.rules == small_world.truth.rules == StageRules()


def _entries(root):
    """Every file under ``root``, as paths relative to it."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


TWO = ["search", "video"]


def test_a_world_written_over_another_reads_back_as_the_second(tmp_path):
    # was: the first world's Shapley truth (the second has none) read back with the second world
    d = tmp_path / "w"
    a = simulate(n_users=200, n_days=14, seed=1, truth="full", channels=TWO)
    a.write(d)
    b = simulate(n_users=300, n_days=14, seed=2, truth="none", channels=TWO)
    b.write(d)
    assert _entries(d) == ["assignments.parquet", "brands.parquet", "campaigns.parquet", "events.parquet",
                           "ghost_impressions.parquet", "outcomes.parquet", "spend.parquet",
                           "truth/channel_params.parquet", "truth/funnel.parquet", "truth/stages.parquet",
                           "users.parquet", "world.json"]
    back = SimulationResult.read(d)
    assert back.config["truth"] == "none" and back.config["seed"] == 2
    assert back.truth.shapley is None and back.truth.incremental is None and back.truth.coalitions is None
    assert back.truth.incremental_by_brand is None
    pd.testing.assert_frame_equal(back.truth.funnel, b.truth.funnel, check_dtype=False)  # the second world's
    assert len(back.users) == 300 and back.users.user_id.tolist() == list(range(300))
    pd.testing.assert_frame_equal(back.events, b.events, check_dtype=False)
    assert [p.name for p in tmp_path.iterdir()] == ["w"]  # no temporary folder left beside it


def test_events_on_disk_written_over_a_world_with_events_in_memory(tmp_path, monkeypatch):
    # was: the old events.parquet (1,086 rows of the first world) read with the second world's 300 users
    from marketing360.datasets import simulator

    d = tmp_path / "w"
    simulate(n_users=200, n_days=14, seed=1, truth="full", channels=TWO).write(d)
    c = simulate(n_users=300, n_days=14, seed=3, truth="none", channels=TWO, out=tmp_path / "c")
    c.write(d)
    assert not (d / "events.parquet").exists()
    own = pd.concat([pd.read_parquet(f) for f in sorted((tmp_path / "c" / "events").glob("*.parquet"))])
    back = SimulationResult.read(d)
    assert back.events is None and back.events_path == d / "events"
    got = pd.concat([pd.read_parquet(f) for f in sorted(back.events_path.glob("*.parquet"))])
    assert len(got) == len(own) and set(got.user_id) <= set(range(300))
    # a smaller world over a bigger one keeps none of the bigger one's part files
    monkeypatch.setattr(simulator, "BLOCK_USERS", 100)
    big = simulate(n_users=500, n_days=7, seed=4, truth="none", channels=TWO, out=tmp_path / "big")
    big.write(d)
    assert len(list((d / "events").glob("*.parquet"))) == 5
    small = simulate(n_users=150, n_days=7, seed=5, truth="none", channels=TWO, out=tmp_path / "small")
    small.write(d)
    assert sorted(p.name for p in (d / "events").glob("*")) == ["part-00000.parquet", "part-00001.parquet"]
    assert len(SimulationResult.read(d).users) == 150


def test_simulating_into_a_world_s_folder_unmakes_that_world_until_written(tmp_path):
    d = tmp_path / "w"
    simulate(n_users=200, n_days=14, seed=1, truth="none", channels=TWO, out=d).write(d)
    assert len(SimulationResult.read(d).users) == 200
    again = simulate(n_users=120, n_days=14, seed=2, truth="none", channels=TWO, out=d)
    # its events are gone: the folder is no world (rather than 200 users with the new events)
    with pytest.raises(m3.Marketing360Error, match="no world.json"):
        SimulationResult.read(d)
    again.write(d)  # the events already there are the world's own
    back = SimulationResult.read(d)
    assert len(back.users) == 120 and back.events_path == d / "events"
    assert sum(len(pd.read_parquet(f)) for f in (d / "events").glob("*.parquet")) > 0


def test_events_changed_after_writing_are_refused(tmp_path):
    d = tmp_path / "w"
    simulate(n_users=200, n_days=14, seed=1, truth="none", channels=TWO, out=d).write(d)
    other = simulate(n_users=300, n_days=14, seed=2, truth="none", channels=TWO, out=tmp_path / "o")
    (d / "events" / "part-00000.parquet").unlink()
    (d / "events" / "part-00000.parquet").write_bytes((other.events_path / "part-00000.parquet").read_bytes())
    with pytest.raises(m3.Marketing360Error, match="not the ones world.json records"):
        SimulationResult.read(d)


def test_a_crash_while_writing_over_a_world_leaves_that_world(tmp_path, monkeypatch):
    from marketing360.datasets import result

    d = tmp_path / "w"
    a = simulate(n_users=200, n_days=14, seed=1, truth="incremental", channels=TWO)
    a.write(d)
    before = _entries(d)
    b = simulate(n_users=300, n_days=14, seed=2, truth="none", channels=TWO)
    real, calls = result.write_frame, []

    def crash(df, path):
        calls.append(path)
        if len(calls) == 4:
            raise OSError("disk full")
        real(df, path)

    monkeypatch.setattr(result, "write_frame", crash)
    with pytest.raises(OSError, match="disk full"):
        b.write(d)
    assert _entries(d) == before and len(SimulationResult.read(d).users) == 200
    assert [p.name for p in tmp_path.iterdir()] == ["w"]


def test_writing_a_world_over_a_folder_of_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    w = simulate(n_users=100, n_days=7, seed=1, truth="none", channels=TWO)
    with pytest.raises(ParameterError, match=r"notes\.txt.*new or empty folder"):
        w.write(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    with pytest.raises(ParameterError, match="is a file"):
        w.write(tmp_path / "notes.txt")


def test_a_folder_written_before_world_json_listed_its_files_reads_what_its_truth_makes(tmp_path):
    import json

    d = tmp_path / "w"
    simulate(n_users=200, n_days=14, seed=1, truth="full", channels=TWO).write(d)
    shapley = (d / "truth" / "shapley.parquet").read_bytes()
    simulate(n_users=300, n_days=14, seed=2, truth="none", channels=TWO).write(d)
    meta = json.loads((d / "world.json").read_text())
    del meta["files"]  # as written by marketing360 before it recorded its files
    (d / "world.json").write_text(json.dumps(meta))
    (d / "truth" / "shapley.parquet").write_bytes(shapley)  # a stale file, as the old write() left
    back = SimulationResult.read(d)
    assert back.truth.shapley is None and back.truth.stages is not None and len(back.users) == 300
    assert len(back.events) > 0


def test_the_command_line_simulates_twice_into_one_folder(tmp_path, capsys):
    from marketing360 import cli
    from marketing360.datasets import load_sample

    d = str(tmp_path / "w")
    for users, seed in ((200, 1), (120, 2)):
        assert cli.main(["simulate", "--users", str(users), "--days", "14", "--truth", "none", "--seed", str(seed),
                         "--jobs", "1", "--out", d]) == 0
        back = load_sample(d)
        assert len(back.users) == users and back.config["seed"] == seed
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    assert cli.main(["simulate", "--users", "100", "--days", "7", "--out", str(tmp_path / "mine")]) == 2
    assert "notes.txt" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]  # refused before simulating


def test_a_time_zone_aware_start_is_refused():
    # was: a pandas TypeError from deep inside, after the events had been computed
    with pytest.raises(ParameterError, match="start must be a date without a time zone"):
        simulate(n_users=50, n_days=5, start=pd.Timestamp("2025-01-01", tz="Asia/Shanghai"))


def test_one_channel_name_is_one_channel():
    # was: "unknown channel name(s) ['v', 'i', 'd', 'e', 'o']"
    w = simulate(n_users=100, n_days=7, seed=1, channels="video", truth="incremental")
    assert w.channels == ["video"] and w.truth.incremental.channel.tolist() == ["video"]
    ads = w.events[w.events.event_type.isin(["impression", "click"])]
    assert set(ads.channel) == {"video"}


def test_without_fork_the_blocks_run_in_this_process_with_a_warning(monkeypatch):
    import multiprocessing

    from marketing360.datasets import simulator

    monkeypatch.setattr(simulator, "BLOCK_USERS", 100)
    ref = simulate(n_users=250, n_days=7, seed=3, truth="none", channels=TWO)

    def no_fork(method=None):  # as on Windows
        if method == "fork":
            raise ValueError("cannot find context for 'fork'")
        return multiprocessing.get_context(method)

    monkeypatch.setattr(simulator.mp, "get_all_start_methods", lambda: ["spawn"])
    monkeypatch.setattr(simulator.mp, "get_context", no_fork)
    with pytest.warns(RuntimeWarning, match="cannot fork"):
        w = simulate(n_users=250, n_days=7, seed=3, truth="none", channels=TWO, n_jobs=2)
    pd.testing.assert_frame_equal(w.events, ref.events)


@pytest.mark.parametrize("kwargs,match", [
    ({"n_users": 0}, "n_users must be a positive integer"),
    ({"n_days": -3}, "n_days must be a positive integer"),
    ({"n_brands": 2, "n_categories": 3}, "at least n_categories"),
    ({"n_categories": 40}, "n_categories must be at most"),
    ({"channels": ["display", "radio"]}, "unknown channel name"),
    ({"holdout": 1.5}, "holdout shares must be in"),
    ({"holdout": {"tv": 0.1}}, "unknown channel"),
    ({"truth": "some"}, "truth must be"),
    ({"start": "not a date"}, "start must be a date"),
    ({"rules": {"aware": 3}}, "rules must be a StageRules .*found dict"),
    ({"funnel": {"review": 0.1}}, "funnel must be a FunnelParams; found dict"),
])
def test_impossible_parameters_are_named(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        simulate(**{"n_users": 50, "n_days": 5, **kwargs})


def test_channel_parameters_and_too_many_channels_are_refused():
    with pytest.raises(ParameterError, match="theta"):
        ChannelParams(**{**vars(DEFAULT_CHANNELS["video"]), "theta": 1.2})
    with pytest.raises(ParameterError, match="exact Shapley"):
        many = {f"c{i}": DEFAULT_CHANNELS["video"] for i in range(11)}
        simulate(n_users=50, n_days=5, channels=many, truth="full")


def test_exact_shapley_for_ten_channels():
    base = list(DEFAULT_CHANNELS.values())
    ten = {f"ch{i}": base[i % len(base)] for i in range(10)}
    w = simulate(n_users=200, n_days=14, seed=1, channels=ten, truth="full")
    assert len(w.truth.coalitions) == 2 ** 10
    assert (w.truth.shapley.conversions >= -1e-9).all()
    assert w.truth.shapley.conversions.sum() == pytest.approx(w.truth.totals["incremental_conversions"])
