"""Execute: deterministic holdouts, dose arms, exported lists and the campaign handed to the simulator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from marketing360.errors import ParameterError
from marketing360.playbook import CONTROL, HOLDOUT, design_campaign, hash_unit

IDS = np.arange(100_000, 130_000)
PLAN = pd.DataFrame({"channel": ["display", "video", "display"], "audience": ["stuck", "stuck", "lapsed"],
                     "budget": [3000.0, 1000.0, 500.0]})
AUD = {"stuck": IDS[:20_000], "lapsed": IDS[20_000:]}


def _splitmix(uid: int, key: str) -> float:
    """SplitMix64 of one id in plain Python integers (the reference for the vectorised hash)."""
    import hashlib

    m = (1 << 64) - 1
    seed = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
    z = (uid * 0x9E3779B97F4A7C15 + seed) & m
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    z ^= z >> 31
    return (z >> 11) / float(1 << 53)


def test_hash_is_splitmix64_and_uniform_and_independent_across_keys():
    ids = np.array([0, 1, 7, 123456789, 2**40 + 3])
    assert hash_unit(ids, "k").tolist() == [_splitmix(int(i), "k") for i in ids]
    u, v = hash_unit(IDS, "a"), hash_unit(IDS, "b")
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.03
    assert ((u >= 0) & (u < 1)).all()


@pytest.fixture(scope="module")
def design():
    return design_campaign(PLAN, AUD, holdout=0.1, channel_holdout=0.2, doses=(0.5, 1.5), min_size=1000)


def test_arms_have_their_shares_and_hold_every_consumer_once_per_channel(design):
    a = design.assignment
    for (aud, _), g in a.groupby(["audience", "channel"]):
        assert len(g) == len(AUD[aud]) and g.user_id.is_unique
        share = g.arm.value_counts(normalize=True)
        assert share[HOLDOUT] == pytest.approx(0.1, abs=0.01)
        assert share[CONTROL] == pytest.approx(0.9 * 0.2, abs=0.01)
        assert share["dose 1"] == pytest.approx(0.9 * 0.8 / 2, abs=0.015)
    # the holdout is one draw per audience: the same consumers for every channel
    s = a[a.audience == "stuck"]
    held = {ch: set(g.user_id[g.arm == HOLDOUT]) for ch, g in s.groupby("channel")}
    assert held["display"] == held["video"]


def test_budgets_split_by_dose_and_sum_to_the_plan(design):
    arms = design.arms
    for r in PLAN.itertuples():
        g = arms[(arms.channel == r.channel) & (arms.audience == r.audience)].set_index("arm")
        assert g.budget.sum() == pytest.approx(r.budget)
        assert g.loc["dose 2", "spend_per_consumer"] / g.loc["dose 1", "spend_per_consumer"] == pytest.approx(3.0)
        assert g.loc[[HOLDOUT, CONTROL], "budget"].sum() == 0
        n = design.assignment.query("channel == @r.channel and audience == @r.audience").arm.value_counts()
        assert g.consumers.to_dict() == {k: int(n.get(k, 0)) for k in g.index}


def test_a_rerun_gives_the_same_groups_and_other_budgets_keep_them(design):
    again = design_campaign(PLAN, AUD, holdout=0.1, channel_holdout=0.2, min_size=1000)
    pd.testing.assert_frame_equal(again.assignment, design.assignment)
    other = design.with_budgets({"video": 4000.0})
    pd.testing.assert_frame_equal(other.assignment, design.assignment)
    assert other.table().set_index(["channel", "audience"]).budget.to_dict() == {
        ("display", "lapsed"): 500.0, ("display", "stuck"): 3000.0, ("video", "stuck"): 4000.0}
    # a consumer's arm does not depend on who else is in the audience
    half = design_campaign(PLAN, {"stuck": AUD["stuck"][::2], "lapsed": AUD["lapsed"]}, holdout=0.1,
                           channel_holdout=0.2, min_size=100)
    m = half.assignment.merge(design.assignment, on=["user_id", "audience", "channel"])
    assert len(m) == 2 * 10_000 + len(AUD["lapsed"]) and (m.arm_x == m.arm_y).all()  # stuck: two channels


def test_exported_lists_hold_only_treated_consumers_and_respect_the_minimum(design, tmp_path):
    out = design.exported()
    held = set(design.assignment.user_id[design.assignment.arm == HOLDOUT])
    assert not held & set(out.user_id)
    assert (out.dose > 0).all() and out.groupby(["channel", "audience", "arm"]).size().min() >= 1000
    for fmt in ("csv", "parquet"):
        p = design.export(tmp_path / f"lists.{fmt}")
        back = pd.read_csv(p) if fmt == "csv" else pd.read_parquet(p)
        pd.testing.assert_frame_equal(back, out, check_dtype=False)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["lists.csv", "lists.parquet"]
    with pytest.raises(ParameterError, match="'csv' or 'parquet'"):
        design.export(tmp_path / "lists.xlsx")
    with pytest.raises(ParameterError, match="fewer than min_size=5,000"):
        design_campaign(PLAN, AUD, min_size=5000)


def test_experiment_assignments_and_the_simulator_campaign(design):
    camp = design.experiment_assignment(audience="stuck")
    assert set(camp.arm) == {HOLDOUT, "campaign"} and len(camp) == 20_000
    ch = design.experiment_assignment("display", "stuck")
    assert set(ch.arm) == {CONTROL, "dose 1", "dose 2"} and HOLDOUT not in set(ch.arm)
    c = design.campaign("Acme", "2025-01-10", "2025-01-20")
    assert len(c.plan) == 6 and c.total_budget == pytest.approx(4500.0)
    treated = design.exported()
    for r in c.plan.itertuples():
        aud, chan, arm = r.audience.split("/")
        assert chan == r.channel
        want = treated.query("audience == @aud and channel == @chan and arm == @arm").user_id.sort_values()
        np.testing.assert_array_equal(c.users(r.audience), want.to_numpy())
    roll = design.rollout("Acme", "2025-01-10", "2025-01-20")
    assert len(roll.users("stuck")) == 20_000 and roll.total_budget == pytest.approx(4500.0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(plan=PLAN.drop(columns="budget")), r"lacks column\(s\) \['budget'\]"),
    (dict(plan=PLAN.assign(budget=-1.0)), "non-negative"),
    (dict(plan=pd.concat([PLAN, PLAN])), "repeats"),
    (dict(audiences={"stuck": IDS}), r"audience\(s\) \['lapsed'\]"),
    (dict(audiences={"stuck": IDS[:20_000], "lapsed": IDS[10_000:]}), "overlap"),
    (dict(holdout=1.0), "holdout must be a share"),
    (dict(channel_holdout=-0.1), "channel_holdout must be a share"),
    (dict(doses=(0.5, 0.0)), "doses must be positive"),
    (dict(min_size=0), "min_size"),
    (dict(audiences={"stuck": ["a"], "lapsed": ["b"]}), "integer user ids"),
])
def test_bad_designs_are_refused(kwargs, match):
    args = dict(plan=PLAN, audiences=AUD, min_size=100) | kwargs
    with pytest.raises(ParameterError, match=match):
        design_campaign(**args)
