"""Rule-based, Markov and Shapley attribution against independent references, on every engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reference_mta import (
    brute_force_shapley,
    permutation_shapley,
    random_events,
    reference_journeys,
    reference_markov,
    reference_paths,
    reference_rules,
    rule_weights,
)

from marketing360.attribution import RULES, compare, markov, rule_based, shapley, transitions
from marketing360.datasets import read_channelattribution_paths
from marketing360.errors import ParameterError
from marketing360.paths import from_paths, journeys
from marketing360.testing import assert_frame_matches


@pytest.fixture(scope="module")
def ca_paths(need):  # ../shared/data: a skip when absent, a failure in CI (the `need` fixture marks shared_data)
    return read_channelattribution_paths(need("channelattribution_paths", "Data.csv"))


@pytest.fixture(scope="module")
def events():
    return random_events(21, n_users=80)


# ------------------------------------------------------------------ rules

@pytest.mark.parametrize("rule", [r for r in RULES if r != "time_decay"])
def test_rules_on_the_channelattribution_paths(engine, ca_paths, rule):
    got = rule_based(from_paths(engine.table(ca_paths)), rules=rule, direct=("alpha",)).table()
    ref = reference_rules(ca_paths, rule, direct=("alpha",))
    assert got.conversions.sum() == pytest.approx(ca_paths.conversions.sum())
    assert_frame_matches(got[["channel", "conversions", "value"]], ref, sort_by=["channel"], rtol=1e-9)


def test_all_rules_on_event_journeys(engine, events):
    j = journeys(engine.table(events), lookback_days=4)
    got = rule_based(j, rules=list(RULES), half_life_days=1.5, first=0.3, last=0.5).table()
    ref_j = [r for r in reference_journeys(events, lookback_days=4) if r["converted"] and r["touches"]]
    for rule in RULES:
        conv: dict[str, float] = {}
        val: dict[str, float] = {}
        for r in ref_j:
            chans = [c for _, c, _ in r["touches"]]
            hours = [(r["end"] - ts).total_seconds() / 3600 for ts, _, _ in r["touches"]]
            for c, w in zip(chans, rule_weights(chans, rule, hours, half_life_days=1.5, first=0.3, last=0.5)):
                conv[c] = conv.get(c, 0.0) + w
                val[c] = val.get(c, 0.0) + w * r["value"]
        ref = pd.DataFrame({"channel": sorted(conv), "conversions": [conv[c] for c in sorted(conv)],
                            "value": [val[c] for c in sorted(conv)]})
        mine = got[got.method == rule][["channel", "conversions", "value"]]
        assert_frame_matches(mine, ref, sort_by=["channel"], rtol=1e-9)


def test_rules_by_campaign_sum_to_the_same_total(duckdb_engine, events):
    j = journeys(duckdb_engine.table(events))
    a = rule_based(j, rules="linear", key="campaign").table()
    b = rule_based(j, rules="linear").table()
    assert set(a.channel) == {"c1", "c2", "c3"}
    assert a.conversions.sum() == pytest.approx(b.conversions.sum())


def test_rule_errors(duckdb_engine, ca_paths):
    j = from_paths(duckdb_engine.table(ca_paths))
    with pytest.raises(ParameterError, match="unknown rule"):
        rule_based(j, rules="last_click")
    with pytest.raises(ParameterError, match="touch times"):
        rule_based(j, rules="time_decay")
    with pytest.raises(ParameterError, match="first"):
        rule_based(j, rules="position_based", first=0.8, last=0.4)
    with pytest.raises(ParameterError, match="key"):
        rule_based(j, rules="linear", key="brand")


# ------------------------------------------------------------------ Markov

@pytest.mark.parametrize("order", [1, 2, 3])
def test_markov_removal_effects_equal_a_dense_reference(engine, ca_paths, order):
    sub = ca_paths.iloc[:400] if order > 1 else ca_paths
    m = markov(from_paths(engine.table(sub)), order=order)
    ref = reference_markov(sub, order)
    assert_frame_matches(m.removal_effects, ref, sort_by=["channel"], rtol=1e-9, atol=1e-12)
    total = sub.conversions.sum()
    expect = total * ref.removal_effect / ref.removal_effect.sum()
    np.testing.assert_allclose(m.table().conversions.to_numpy(), expect.to_numpy(), rtol=1e-9)
    assert (m.table().conversions >= 0).all()


@pytest.mark.spark
def test_markov_transition_counts_agree_between_engines(duckdb_engine, spark_engine, events):
    for order in (1, 2, 4):
        a = transitions(journeys(duckdb_engine.table(events)), order=order)
        b = transitions(journeys(spark_engine.table(events)), order=order)
        assert_frame_matches(a, b, sort_by=["from_state", "to_state"])
        ref = reference_paths(reference_journeys(events))
        assert a[a.to_state == "(conversion)"].weight.sum() == ref.conversions.sum()


def test_markov_on_event_journeys_equals_the_reference(events, duckdb_engine):
    j = journeys(duckdb_engine.table(events), lookback_days=6)
    paths = reference_paths(reference_journeys(events, lookback_days=6))
    for order in (1, 2, 4):
        got = markov(j, order=order).removal_effects
        assert_frame_matches(got, reference_markov(paths, order), sort_by=["channel"], rtol=1e-9, atol=1e-12)


def test_markov_edge_cases(duckdb_engine):
    # a channel that never converts gets nothing; a single converting path gets everything
    df = pd.DataFrame({"path": ["a > b", "c", "c > c"], "conversions": [3, 0, 0], "nulls": [0, 5, 1],
                       "value": [30.0, 0, 0]})
    m = markov(from_paths(duckdb_engine.table(df)))
    f = m.table().set_index("channel")
    assert f.loc["c", "conversions"] == 0 and f.loc[["a", "b"], "conversions"].tolist() == [1.5, 1.5]
    assert m.removal_effects.set_index("channel").removal_effect.tolist() == [1.0, 1.0, 0.0]
    # tiny data: one path, one conversion, no nulls
    one = markov(from_paths(duckdb_engine.table(pd.DataFrame({"path": ["a"], "conversions": [1]}))))
    assert one.table().conversions.tolist() == [1.0] and one.conversion_probability == 1.0
    # order 4 on paths shorter than 4 works; rows of the matrix sum to 1
    m4 = markov(from_paths(duckdb_engine.table(df)), order=4)
    assert np.allclose(m4.transition_matrix().sum(axis=1), 1.0)
    with pytest.raises(ParameterError, match="no journey"):
        markov(from_paths(duckdb_engine.table(df.assign(conversions=0))))
    with pytest.raises(ParameterError, match="order"):
        markov(from_paths(duckdb_engine.table(df)), order=5)


# ------------------------------------------------------------------ Shapley

def _set_worths(paths: pd.DataFrame, worth: str = "conversions") -> dict[frozenset, float]:
    acc: dict[frozenset, list[float]] = {}
    for r in paths.itertuples():
        s = frozenset(r.path.split(" > "))
        a = acc.setdefault(s, [0.0, 0.0])
        a[0] += r.conversions
        a[1] += r.conversions + (0 if pd.isna(r.nulls) else r.nulls)
    return {s: (c if worth == "conversions" else (c / n if n else 0.0)) for s, (c, n) in acc.items()}


@pytest.mark.parametrize("worth", ["conversions", "rate"])
def test_shapley_equals_the_permutation_definition(engine, worth):
    rng = np.random.default_rng(3)
    chans = list("abcde")
    paths = pd.DataFrame({"path": [" > ".join(rng.choice(chans, rng.integers(1, 5))) for _ in range(60)]})
    paths = paths.drop_duplicates("path").reset_index(drop=True)
    paths["conversions"] = rng.integers(0, 5, len(paths)).astype(float)
    paths["nulls"] = rng.integers(1, 9, len(paths)).astype(float)
    paths["value"] = paths.conversions * 10
    got = shapley(from_paths(engine.table(paths)), worth=worth).table().set_index("channel").conversions
    ref = permutation_shapley(_set_worths(paths, worth), chans)
    scale = paths.conversions.sum() / sum(ref.values())
    for c in chans:
        assert got[c] == pytest.approx(ref[c] * scale, rel=1e-9)


def test_shapley_with_16_channels_equals_brute_force(duckdb_engine):
    rng = np.random.default_rng(16)
    chans = [f"ch{i:02d}" for i in range(16)]
    rows = {}
    for _ in range(3000):
        p = " > ".join(rng.choice(chans, rng.integers(1, 7)))
        rows[p] = (float(rng.integers(0, 3)), float(rng.integers(0, 6)))
    paths = pd.DataFrame([{"path": p, "conversions": c, "nulls": n} for p, (c, n) in rows.items()])
    a = shapley(from_paths(duckdb_engine.table(paths)), worth="rate")
    ref = brute_force_shapley(_set_worths(paths, "rate"), chans)
    scale = paths.conversions.sum() / sum(ref.values())
    got = a.table().set_index("channel").conversions
    np.testing.assert_allclose([got[c] for c in chans], [ref[c] * scale for c in chans], rtol=1e-9)
    assert len(a.table()) == 16


def test_ordered_shapley_sums_to_the_unordered_values(engine, ca_paths):
    s = shapley(from_paths(engine.table(ca_paths)), ordered=True)
    byp = s.by_position.groupby("channel")[["conversions", "value"]].sum()
    f = s.table().set_index("channel")
    np.testing.assert_allclose(byp.loc[f.index].to_numpy(), f[["conversions", "value"]].to_numpy(), rtol=1e-9)
    assert f.conversions.sum() == pytest.approx(ca_paths.conversions.sum())
    assert f.value.sum() == pytest.approx(ca_paths.value.sum())
    # worth = conversions equals the brute-force game on the real paths (12 channels)
    chans = sorted(f.index)
    ref = brute_force_shapley(_set_worths(ca_paths), chans)
    np.testing.assert_allclose(f.loc[chans, "conversions"], [ref[c] for c in chans], rtol=1e-9)


def test_compare_and_errors(duckdb_engine, ca_paths):
    j = from_paths(duckdb_engine.table(ca_paths))
    both = compare(rule_based(j, rules="last_touch"), markov(j), shapley(j))
    assert both.methods == ["last_touch", "markov", "shapley"]
    t = both.wide("share")
    np.testing.assert_allclose(t.sum().to_numpy(), 1.0)
    with pytest.raises(ParameterError, match="twice"):
        compare(markov(j), markov(j))
    assert compare(markov(j), markov(j, order=2)).methods == ["markov", "markov_2"]
    with pytest.raises(ParameterError, match="worth"):
        shapley(j, worth="value")


# ------------------------------------------------------------------ ChannelAttribution's own numbers

REFERENCE = __import__("pathlib").Path(__file__).parent / "reference"


def test_first_last_linear_reproduce_channelattribution_exactly(engine, ca_paths):
    """``heuristic_models`` of ChannelAttribution on Data.csv (benchmarks/channelattribution_reference.py)."""
    ref = pd.read_csv(REFERENCE / "heuristic.csv").set_index("channel_name")
    got = rule_based(from_paths(engine.table(ca_paths)), rules=["first_touch", "last_touch", "linear"])
    conv, val = got.wide("conversions"), got.wide("value")
    for ours, theirs in (("first_touch", "first_touch"), ("last_touch", "last_touch"), ("linear", "linear_touch")):
        np.testing.assert_allclose(conv.loc[ref.index, ours], ref[f"{theirs}_conversions"], rtol=1e-12)
        np.testing.assert_allclose(val.loc[ref.index, ours], ref[f"{theirs}_value"], rtol=1e-9)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_markov_agrees_with_channelattribution_within_its_simulation_noise(duckdb_engine, ca_paths, order):
    """ChannelAttribution simulates; 8 independent seeds give its mean and run-to-run spread."""
    ref = pd.read_csv(REFERENCE / f"markov_order{order}.csv")
    assert ref.seed.nunique() == 8
    g = ref.groupby("channel_name").agg(
        re=("removal_effects_conversion", "mean"), sd=("removal_effects_conversion", "std"),
        rev=("removal_effects_conversion_value", "mean"), sdv=("removal_effects_conversion_value", "std"))
    m = markov(from_paths(duckdb_engine.table(ca_paths)), order=order)
    ours = m.removal_effects.set_index("channel").loc[g.index]
    # within 3.5 single-run standard deviations (or 1e-3 where the spread is tiny)
    assert ((ours.removal_effect - g.re).abs() <= 3.5 * g.sd + 1e-3).all()
    assert ((ours.removal_effect_value - g.rev).abs() <= 3.5 * g.sdv + 1e-3).all()
    f = m.table()
    assert f.conversions.sum() == pytest.approx(ca_paths.conversions.sum())
    assert f.value.sum() == pytest.approx(ca_paths.value.sum())


def test_a_singular_chain_raises_a_clear_error():
    """A closed loop no walker leaves cannot come from journeys, but the solver says what is wrong."""
    import numpy as np

    from marketing360.attribution.markov import _solve
    from marketing360.errors import Marketing360Error

    rows, cols, probs = np.array([0, 1]), np.array([1, 0]), np.array([1.0, 1.0])  # 0 -> 1 -> 0 forever
    with pytest.raises(Marketing360Error, match="singular"):
        _solve(2, rows, cols, probs, np.zeros((2, 2)))


def test_a_tiny_half_life_gives_the_latest_touch_everything_without_underflow(duckdb_engine, events):
    j = journeys(duckdb_engine.table(events), lookback_days=30)
    td = rule_based(j, rules="time_decay", half_life_days=0.001).table()
    assert td.conversions.notna().all()
    assert td.conversions.sum() == pytest.approx(rule_based(j, rules="last_touch").table().conversions.sum())


def test_one_direct_channel_given_as_a_string_is_one_channel(duckdb_engine, events):
    j = journeys(duckdb_engine.table(events), lookback_days=30)
    assert rule_based(j, rules="last_non_direct", direct="direct").table().set_index("channel").conversions.get(
        "direct", 0.0) < rule_based(j, rules="last_touch").table().set_index("channel").conversions["direct"]


def test_campaign_credit_needs_journeys_with_campaigns(duckdb_engine, ca_paths):
    with pytest.raises(ParameterError, match="campaign"):
        rule_based(from_paths(duckdb_engine.table(ca_paths)), rules="linear", key="campaign")


def test_a_truth_per_channel_and_brand_is_summed_per_channel():
    from marketing360.attribution import Attribution, score

    a = Attribution(pd.DataFrame({"method": "m", "channel": ["x", "y"], "conversions": [4.0, 0.0], "value": 0.0}))
    truth = pd.DataFrame({"channel": ["x", "x", "y"], "brand": ["A", "B", "A"], "conversions": [1.0, 1.0, 2.0],
                          "revenue": 0.0})
    s = score(a, truth).table().iloc[0]
    assert s.credited == 4.0 and s.truth == 4.0 and s.abs_error == 4.0


def test_more_than_63_channels_is_a_clear_error(duckdb_engine):
    from marketing360.attribution import CausalAttribution

    paths = pd.DataFrame({"path": [f"c{i}" for i in range(70)], "conversions": 1.0, "nulls": 1.0})
    with pytest.raises(ParameterError, match="63"):
        CausalAttribution().fit(from_paths(duckdb_engine.table(paths)))
    with pytest.raises(ParameterError, match="63"):
        shapley(from_paths(duckdb_engine.table(paths)))
