"""4A series, volumes, penetration, flows and audiences on every engine, against plain pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reference_4a import reference_flows, reference_snapshot

import marketing360 as m3
from marketing360.assets import STAGES, StageRules, audience, flows, penetration, snapshot, snapshots, volumes
from marketing360.errors import EngineError, ParameterError, SchemaError
from marketing360.testing import assert_frame_matches

DATES = pd.date_range("2025-01-08", "2025-02-05", freq="7D")


@pytest.fixture(scope="module")
def world():
    return m3.datasets.simulate(n_users=700, n_days=40, seed=31, truth="none")


def test_series_equals_one_snapshot_per_date(engine, world):
    t = engine.table(world.events)
    series = snapshots(t, DATES).table()
    assert set(series.date.astype(str)) == {str(d.date()) for d in DATES}
    for d in DATES:
        one = series[series.date.astype(str) == str(d.date())].drop(columns="date")
        assert_frame_matches(one, reference_snapshot(world.events, d, StageRules()),
                             sort_by=["user_id", "brand"])


def test_series_with_custom_rules_matches_the_truth(engine):
    rules = StageRules.with_windows(aware=5, appeal=9, act=15, advocate=25)
    world = m3.datasets.simulate(n_users=400, n_days=30, seed=5, truth="none", rules=rules)
    days = pd.date_range("2025-01-03", "2025-01-30", freq="3D")
    series = snapshots(engine.table(world.events), days, rules=rules).table()
    for d in days:
        truth = world.truth.stages_on(d).assign(level=lambda t: t.stage.map(STAGES.index))
        got = series[series.date.astype(str) == str(d.date())].drop(columns="date")
        assert_frame_matches(got, truth, sort_by=["user_id", "brand"])


def test_volumes_by_brand_category_and_attribute(engine, world):
    snap_df = reference_snapshot(world.events, "2025-02-05", StageRules())
    t = engine.table(world.events)
    snap = snapshot(t, "2025-02-05")
    got = volumes(snap).table()
    ref = snap_df.groupby(["brand", "stage", "level"]).size().rename("consumers").reset_index()
    assert_frame_matches(got, ref, sort_by=["brand", "stage"])
    by_geo = volumes(snap, by=["geo", "category"], users=engine.table(world.users),
                     brands=engine.table(world.brands)).table()
    ref2 = (snap_df.merge(world.users[["user_id", "geo"]], on="user_id")
            .merge(world.brands[["brand", "category"]], on="brand")
            .groupby(["brand", "geo", "category", "stage", "level"]).size().rename("consumers").reset_index())
    assert_frame_matches(by_geo, ref2, sort_by=["brand", "geo", "stage"])
    wide = volumes(snap).wide()
    assert list(wide.columns) == ["aware", "appeal", "act", "advocate"]
    assert wide.to_numpy().sum() == len(snap_df)


def test_penetration_with_category_benchmark(engine, world):
    snap_df = reference_snapshot(world.events, "2025-02-05", StageRules())
    t = engine.table(world.events)
    pen = penetration(snapshot(t, "2025-02-05"), engine.table(world.users),
                      brands=engine.table(world.brands)).table()
    n = world.users.user_id.nunique()
    ref = snap_df.groupby(["brand", "stage", "level"]).size().rename("consumers").reset_index()
    ref["population"] = n
    ref["penetration"] = ref.consumers / n
    ref = ref.merge(world.brands[["brand", "category"]], on="brand")
    n_brands = world.brands.groupby("category").size()
    cat = ref.groupby(["category", "stage"]).penetration.sum() / n_brands.reindex(
        ref.groupby(["category", "stage"]).penetration.sum().index.get_level_values(0)).to_numpy()
    ref["category_penetration"] = [cat[(c, s)] for c, s in zip(ref.category, ref.stage)]
    ref["index"] = ref.penetration / ref.category_penetration
    assert_frame_matches(pen, ref, sort_by=["brand", "stage"])


def test_penetration_by_attribute_and_with_a_count(engine, world):
    snap = snapshot(engine.table(world.events), "2025-02-05")
    users = engine.table(world.users)
    pen = penetration(snap, users, by=["member_level"]).table()
    snap_df = reference_snapshot(world.events, "2025-02-05", StageRules()).merge(
        world.users[["user_id", "member_level"]], on="user_id")
    sizes = world.users.groupby("member_level").size()
    ref = snap_df.groupby(["brand", "member_level", "stage", "level"]).size().rename("consumers").reset_index()
    ref["population"] = ref.member_level.map(sizes)
    ref["penetration"] = ref.consumers / ref.population
    assert_frame_matches(pen, ref, sort_by=["brand", "member_level", "stage"])
    as_count = penetration(snap, 1000).table()
    assert (as_count.penetration == as_count.consumers / 1000).all()
    with pytest.raises(ParameterError, match="population must be"):
        penetration(snap, 2.5)
    with pytest.raises(EngineError, match="no such file"):
        penetration(snap, "everyone")  # a path: a parquet or CSV file of consumers
    with pytest.raises(ParameterError, match="needs population as a table"):
        penetration(snap, 1000, by=["geo"])


def test_penetration_among_a_categorys_shoppers(engine, world):
    from marketing360.assets import shoppers

    t = engine.table(world.events)
    cat = world.brands.category.iloc[0]
    pop = shoppers(t, engine.table(world.brands), category=cat)
    in_cat = world.brands.loc[world.brands.category == cat, "brand"]
    ref_users = world.events.loc[world.events.brand.isin(in_cat), "user_id"].unique()
    assert sorted(pop.table().user_id) == sorted(ref_users)
    pen = penetration(snapshot(t, "2025-02-05"), pop).table()
    assert (pen.population == len(ref_users)).all()


def test_flows_and_net_growth(engine, world):
    t = engine.table(world.events)
    f = flows(t, "2025-01-15", "2025-02-05")
    ref = reference_flows(world.events, "2025-01-15", "2025-02-05", StageRules())
    assert_frame_matches(f.table(), ref, sort_by=["brand", "from_stage", "to_stage"])
    m = f.matrix()
    assert list(m.index) == ["new", "aware", "appeal", "act", "advocate"]
    assert list(m.columns) == ["aware", "appeal", "act", "advocate", "lost"]
    rates = f.matrix(rates=True)
    assert np.allclose(rates.sum(axis=1).dropna(), 1.0)
    # net growth = stage counts on the second date minus the first
    a = reference_snapshot(world.events, "2025-01-15", StageRules()).groupby(["brand", "stage"]).size()
    b = reference_snapshot(world.events, "2025-02-05", StageRules()).groupby(["brand", "stage"]).size()
    ng = f.net_growth().set_index(["brand", "stage"])
    for key in ng.index:
        assert ng.loc[key, "net_growth"] == b.get(key, 0) - a.get(key, 0)
    with pytest.raises(ParameterError, match="must be after"):
        flows(t, "2025-02-05", "2025-01-15")


def test_audiences(engine, world):
    t = engine.table(world.events)
    got = audience(t, "2025-01-15", "appeal", not_reached="act", within=14).table()
    start = reference_snapshot(world.events, "2025-01-15", StageRules())
    pairs = set(map(tuple, start.loc[start.stage == "appeal", ["user_id", "brand"]].to_numpy()))
    reached = set()
    for d in pd.date_range("2025-01-16", periods=14):
        s = reference_snapshot(world.events, d, StageRules())
        reached |= set(map(tuple, s.loc[s.level >= 3, ["user_id", "brand"]].to_numpy()))
    expected = pairs - reached
    assert 0 < len(expected) < len(pairs)
    assert set(map(tuple, got[["user_id", "brand"]].to_numpy())) == expected
    one = audience(t, "2025-01-15", "aware", brand="Acme").table()
    assert set(one.brand) == {"Acme"}
    assert len(one) == ((start.stage == "aware") & (start.brand == "Acme")).sum()
    with pytest.raises(ParameterError, match="must be a stage above"):
        audience(t, "2025-01-15", "act", not_reached="appeal")
    with pytest.raises(ParameterError, match="stage must be one of"):
        audience(t, "2025-01-15", "loyal")
    # the world ends on 2025-02-09: a follow-up past it would judge censored pairs
    with pytest.raises(ParameterError, match="runs past the last event"):
        audience(t, "2025-02-01", "appeal", not_reached="act", within=30)


def test_bad_stage_tables(world):
    eng = m3.connect()
    with pytest.raises(SchemaError, match="expected the stages of snapshot"):
        volumes(eng.table(world.users))
    snap = snapshot(eng.table(world.events), "2025-02-05")
    with pytest.raises(ParameterError, match="needs users"):
        volumes(snap, by=["geo"])
    with pytest.raises(ParameterError, match="needs brands"):
        volumes(snap, by=["category"])
    with pytest.raises(ParameterError, match="at least one day"):
        snapshots(eng.table(world.events), [])
