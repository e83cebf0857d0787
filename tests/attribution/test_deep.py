"""The deep causal MTA model: training is deterministic, credits are the clipped Shapley split of the lift."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import marketing360 as m3  # noqa: E402
from marketing360.attribution import DeepMTA  # noqa: E402
from marketing360.errors import NotFittedError, ParameterError  # noqa: E402
from marketing360.paths import journey_sequences, journeys  # noqa: E402


@pytest.fixture(scope="module")
def world():
    return m3.datasets.simulate(n_users=500, n_days=40, seed=4, truth="none")


@pytest.fixture(scope="module")
def seq(world, duckdb_engine):
    ev = duckdb_engine.table(world.events)
    return journey_sequences(journeys(ev, lookback_days=14), max_len=12)


@pytest.fixture(scope="module")
def model(seq, world):
    return DeepMTA(epochs=2, hidden=8, embed=4, max_len=12, progress=False, random_state=3).fit(
        seq, user_features=world.users)


def test_sequences_hold_the_last_touches(seq):
    assert seq.tokens.shape == (len(seq), 12)
    assert (seq.lengths <= 12).all() and (seq.lengths == 0).any() and (seq.lengths == 12).any()
    valid = np.arange(12)[None, :] < seq.lengths[:, None]
    assert ((seq.tokens > 0) == valid).all()  # touches first, padding after
    # touch numbers increase along each row
    idx = np.where(valid, seq.touch_index, 0)
    assert (np.diff(idx, axis=1)[valid[:, 1:]] == 1).all()


def test_training_is_deterministic_and_round_trips(model, seq, world, tmp_path):
    again = DeepMTA(epochs=2, hidden=8, embed=4, max_len=12, progress=False, random_state=3).fit(
        seq, user_features=world.users)
    p1 = model.predict_proba(seq, world.users)
    np.testing.assert_array_equal(p1, again.predict_proba(seq, world.users))
    assert model.history_[1] < model.history_[0]
    path = model.save(tmp_path / "m.pt")
    loaded = DeepMTA.load(path)
    np.testing.assert_array_equal(p1, loaded.predict_proba(seq, world.users))
    assert loaded.channels_ == model.channels_


def _brute_force(model, seq, users, r):
    """Exact Shapley of v(S) = f(touches in S) over the journey's touches, from single predictions."""
    n = int(seq.lengths[r])
    u = torch.from_numpy(model._context(seq, users)[r:r + 1])

    def f(keep):
        kept = [i for i in range(n) if keep[i]]
        tok = np.zeros((1, 12), np.int64)
        hrs = np.zeros((1, 12), np.float32)
        tok[0, :len(kept)] = seq.tokens[r, kept]
        hrs[0, :len(kept)] = seq.hours[r, kept]
        with torch.no_grad():
            return float(torch.sigmoid(model.net_(torch.from_numpy(tok), torch.from_numpy(hrs),
                                                  torch.tensor([len(kept)]), u)))

    phi = np.zeros(n)
    for i in range(n):
        others = [k for k in range(n) if k != i]
        for size in range(n):
            for sub in itertools.combinations(others, size):
                keep = np.zeros(n, bool)
                keep[list(sub)] = True
                w = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                without = f(keep)
                keep[i] = True
                phi[i] += w * (f(keep) - without)
    return phi, f(np.ones(n, bool)), f(np.zeros(n, bool))


def test_touch_credit_is_the_clipped_rescaled_shapley_split(model, seq, world):
    rows = np.flatnonzero((seq.conversions > 0) & (seq.lengths >= 3) & (seq.lengths <= 5))[:3]
    assert len(rows) == 3
    for r in rows:
        exact = model.set_params(players="touch", exact_max=10)
        got = exact._credits(seq, model._context(seq, world.users), np.array([r]), np.random.default_rng(0))[0]
        phi, full, empty = _brute_force(model, seq, world.users, r)
        pos = np.clip(phi, 0, None)
        expect = pos / pos.sum() * max(full - empty, 0) / full if pos.sum() > 0 else np.zeros_like(pos)
        np.testing.assert_allclose(got[:len(phi)], expect, rtol=1e-5, atol=1e-9)
        assert got[len(phi):].sum() == 0


def test_monte_carlo_approaches_the_exact_values(model, seq, world):
    r = int(np.flatnonzero((seq.conversions > 0) & (seq.lengths >= 6))[0])
    u = model._context(seq, world.users)
    exact = model.set_params(players="touch", exact_max=16)._credits(seq, u, np.array([r]), np.random.default_rng(0))[0]
    mc = model.set_params(exact_max=0, n_permutations=2000)._credits(seq, u, np.array([r]), np.random.default_rng(1))[0]
    model.set_params(exact_max=10, n_permutations=64)
    assert exact.sum() == pytest.approx(mc.sum(), rel=0.05)
    np.testing.assert_allclose(mc, exact, atol=0.02 * max(exact.max(), 1e-3) + 1e-4)


def test_attribution_totals(model, seq, world):
    a = model.set_params(players="channel").attribute(seq, world.users)
    model.set_params(players="touch")
    f = a.table()
    p = model.predict_proba(seq, world.users)
    p0 = model.predict_proba(seq, world.users, no_ads=True)
    conv = (seq.conversions > 0) & (seq.lengths > 0)
    # the credits add up to the incremental part of each conversion, (f - f0)+ / f
    assert f.conversions.sum() == pytest.approx(float(np.sum(np.clip(p - p0, 0, None)[conv] / p[conv])), rel=1e-6)
    assert (f.conversions >= 0).all()
    t = a.touch_credit
    assert t.credit.sum() == pytest.approx(f.conversions.sum())
    assert set(t.columns) >= {"user_id", "brand", "journey", "touch", "channel", "credit", "credit_value"}


def test_attention_variant_and_errors(seq, world):
    with pytest.raises(NotFittedError):
        DeepMTA().attribute(seq)
    with pytest.raises(ParameterError, match="arch"):
        DeepMTA(arch="lstm").fit(seq)
    att = DeepMTA(arch="attention", epochs=1, hidden=8, embed=4, max_len=12, progress=False).fit(seq)
    a = att.attention_credit(seq).table()
    conv = (seq.conversions > 0) & (seq.lengths > 0)
    assert a.conversions.sum() == pytest.approx(seq.conversions[conv].sum(), rel=1e-5)
    with pytest.raises(ParameterError, match="user_features"):
        DeepMTA(epochs=1, max_len=12, progress=False).fit(seq, user_features=world.users).predict_proba(seq)
    with pytest.raises(ParameterError, match="players"):
        att.set_params(players="campaign").attribute(seq)


def test_mismatched_sequences_and_bad_settings(model, seq, world, duckdb_engine):
    other = journey_sequences(journeys(duckdb_engine.table(world.events), lookback_days=14), max_len=5)
    with pytest.raises(ParameterError, match="max_len"):
        model.attribute(other, world.users)
    with pytest.raises(ParameterError, match="n_permutations"):
        DeepMTA(n_permutations=0, progress=False).fit(seq)
    with pytest.raises(ParameterError, match="max_len"):
        DeepMTA(max_len=12, epochs=1, progress=False).fit(other)


def test_random_state_takes_a_generator_and_leaves_torchs_own_generator_alone(seq, world):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    DeepMTA(epochs=1, hidden=4, embed=2, max_len=12, progress=False, random_state=5).fit(seq)
    assert torch.equal(torch.rand(3), expected)  # was: fit reseeded torch's global generator
    a = DeepMTA(epochs=1, hidden=4, embed=2, max_len=12, progress=False,
                random_state=np.random.default_rng(0)).fit(seq)  # was: "random_state must be an int or None"
    b = DeepMTA(epochs=1, hidden=4, embed=2, max_len=12, progress=False,
                random_state=np.random.default_rng(0)).fit(seq)
    np.testing.assert_array_equal(a.predict_proba(seq), b.predict_proba(seq))  # same generator state, same model


def test_an_interrupted_fit_leaves_the_model_unfitted(seq, monkeypatch):
    from marketing360.attribution import deep

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(deep, "train_binary", interrupted)
    m = DeepMTA(epochs=1, hidden=4, embed=2, max_len=12, progress=False)
    with pytest.raises(KeyboardInterrupt):
        m.fit(seq)
    with pytest.raises(NotFittedError):  # was: AttributeError 'net_' (some fitted attributes were set)
        m.attribute()


def test_campaign_journeys_are_credited_to_campaigns(world, duckdb_engine):
    j = journeys(duckdb_engine.table(world.events), lookback_days=14, key="campaign")
    m = DeepMTA(epochs=1, hidden=4, embed=2, max_len=12, progress=False).fit(j)
    credit = m.attribute()
    assert credit.key == "campaign"  # was: always "channel"
    assert set(credit.table().channel) <= set(world.events.campaign.dropna())
