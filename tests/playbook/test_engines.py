"""The playbook's relational steps give the same answer on every engine (DuckDB by default, Spark for real)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketing360.datasets import simulate
from marketing360.playbook import design_campaign, diagnose, evaluate_campaign, propensity_features

DATE = pd.Timestamp("2025-02-20")


@pytest.fixture(scope="module")
def world():
    return simulate(n_users=1200, n_days=50, seed=21, n_brands=3, n_categories=1, truth="none", progress=False)


def test_diagnosis_is_the_same_on_every_engine(engine, world):
    ref = diagnose(world.events, "Acme", date=DATE, brands=world.brands)
    got = diagnose(engine.table(world.events), "Acme", date=DATE, brands=world.brands)
    pd.testing.assert_frame_equal(got.table(), ref.table(), check_dtype=False)
    assert (got.bottleneck, got.growth) == (ref.bottleneck, ref.growth)


def test_features_are_the_same_on_every_engine(engine, world):
    ref = propensity_features(world.events, "Acme", DATE).execute().sort_values("user_id", ignore_index=True)
    got = propensity_features(engine.table(world.events), "Acme", DATE).execute()
    got = got.sort_values("user_id", ignore_index=True)
    pd.testing.assert_frame_equal(got, ref, check_dtype=False)


def test_readout_is_the_same_on_every_engine(engine, world):
    plan = pd.DataFrame({"channel": ["display"], "audience": ["all"], "budget": [1000.0]})
    d = design_campaign(plan, {"all": world.users.user_id.to_numpy()}, min_size=100)
    ref = evaluate_campaign(world.events, d, brand="Acme", start="2025-02-01", end=DATE)
    got = evaluate_campaign(engine.table(world.events), d, brand="Acme", start="2025-02-01", end=DATE)
    cols = ["scope", "channel", "arm", "estimate", "std_error", "consumers", "incremental_revenue"]
    pd.testing.assert_frame_equal(got.table()[cols], ref.table()[cols], check_dtype=False)
    np.testing.assert_allclose(got.flows.difference, ref.flows.difference)
