"""The closed loop on a small world: rounds chained on the simulator's truth, the oracle's search."""

from __future__ import annotations

import numpy as np
import pytest

from marketing360.datasets import evaluate_campaigns
from marketing360.errors import ParameterError
from marketing360.playbook import closed_loop

WORLD = dict(n_users=2000, n_days=49, n_brands=3, n_categories=1, burn_in=30, seed=5)
LOOP = dict(brand="Acme", channels=["display", "video"], budget=2000.0, start="2025-01-22", end="2025-02-04",
            min_size=50, n_draws=50)


@pytest.fixture(scope="module")
def loop():
    return closed_loop(WORLD, rounds=2, oracle_step=0.25, **LOOP)


def test_rounds_chain_on_the_truth(loop):
    t = loop.table()
    assert t["round"].tolist() == [1, 2]
    # each round starts from the plan the last one recommended, and the truth of a plan does not depend on
    # the round (or the randomisation) it was measured in: common random numbers
    assert t.plan.iloc[1] == t.next_plan.iloc[0]
    assert t.true_before.iloc[1] == t.true_after.iloc[0]
    assert (t.true_gain == t.true_after - t.true_before).all()
    assert (t.covered == ((t.gain_lower <= t.true_gain) & (t.true_gain <= t.gain_upper))).all()
    # round 2 drew its groups afresh and fitted its curves through both rounds' arms
    first, second = loop.rounds[0], loop.rounds[1]
    assert first["readout"].design.name != second["readout"].design.name
    assert sorted(set(second["reallocation"].points.design)) == sorted(
        {first["readout"].design.name, second["readout"].design.name})
    assert len(second["reallocation"].points) == 2 * len(first["reallocation"].points)


def test_the_oracle_is_the_best_plan_it_evaluated(loop):
    o = loop.oracle
    assert o.incremental_conversions.is_monotonic_decreasing
    assert np.allclose(o[["display", "video"]].sum(axis=1), 2000.0)
    # the grid (steps of a quarter) and the refinements around the best: at least the five grid plans
    assert len(o) >= 5 and {0.0, 500.0, 1000.0, 1500.0, 2000.0} <= set(o.display)
    t = loop.table()
    assert (t.share_of_oracle == t.true_after / o.incremental_conversions.iloc[0]).all()
    # a plan of the search, evaluated again on its own, gives the same truth
    from marketing360.datasets import simulate

    w = simulate(**WORLD, truth="none", progress=False)
    design = loop.rounds[0]["readout"].design
    best = o.iloc[0]
    again = evaluate_campaigns(w, [design.rollout("Acme", LOOP["start"], LOOP["end"],
                                                  {"display": best.display, "video": best.video})])
    assert again.incremental_conversions.iloc[0] == best.incremental_conversions


def test_without_the_oracle_and_bad_rounds():
    loop = closed_loop(WORLD, rounds=1, oracle_step=None, pool=False, **LOOP)
    assert loop.oracle.empty and loop.table().share_of_oracle.isna().all()
    assert "no oracle search ran" in str(loop.summary())
    with pytest.raises(ParameterError, match="rounds"):
        closed_loop(WORLD, rounds=0, **LOOP)


def test_the_loop_reallocates_through_the_calibrated_attribution():
    from marketing360.attribution import rule_based
    from marketing360.datasets import simulate
    from marketing360.paths import journeys
    from marketing360.playbook import reallocate

    loop = closed_loop(WORLD, rounds=1, oracle_step=None, attribution="last_touch", **LOOP)
    r = loop.rounds[0]
    readout, got = r["readout"], r["reallocation"]
    assert set(got.points.source) == {"attribution"}
    # the same steps by hand: the round's world, last touch per campaign of the campaign's consumers, calibrated
    w = simulate(**WORLD, truth="none", progress=False, campaign=readout.design.campaign("Acme", LOOP["start"],
                                                                                        LOOP["end"]))
    ev = w.events
    mine = ev[(ev.brand == "Acme") & (ev.ts >= LOOP["start"]) & ev.user_id.isin(readout.design.assignment.user_id)]
    lt = rule_based(journeys(mine, lookback_days=30, key="campaign"), rules=["last_touch"])
    ref = reallocate(readout, attribution=readout.calibrate(lt), n_draws=LOOP["n_draws"])
    assert got.table().equals(ref.table())
    with pytest.raises(ParameterError, match="attribution"):
        closed_loop(WORLD, rounds=1, oracle_step=None, attribution=3, **LOOP)
