"""Critical nodes: removal effects against a dense absorbing-chain solve, odds ratios against statsmodels,
betweenness against networkx; DuckDB equals Spark."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from reference_paths import random_shopping_events
from statsmodels.stats.contingency_tables import Table2x2

from marketing360.errors import ParameterError
from marketing360.paths import critical_nodes, sessions, transition_matrix
from marketing360.paths.critical import betweenness


@pytest.fixture(scope="module")
def events():
    return random_shopping_events(11, n_users=80)


def _dense_conversion(paths: pd.DataFrame, removed: str | None = None) -> float:
    """P(conversion) of the first-order chain of a path table, by a dense linear solve (repeats merged)."""
    states = sorted({x for p in paths.path for x in p.split(" > ")})
    idx = {s: i for i, s in enumerate(states)}
    n = len(states)
    move = np.zeros((n + 1, n))  # rows: states then (start)
    conv = np.zeros(n + 1)
    out = np.zeros(n + 1)
    for p, c, nl in zip(paths.path, paths.conversions, paths.nulls):
        w = c + nl
        steps = [s for k, s in enumerate(p.split(" > ")) if k == 0 or s != p.split(" > ")[k - 1]]
        prev = n
        for s in steps:
            move[prev, idx[s]] += w
            out[prev] += w
            prev = idx[s]
        conv[prev] += c
        out[prev] += w
    q = move / np.where(out > 0, out, 1)[:, None]
    r = conv / np.where(out > 0, out, 1)
    keep = np.ones(n + 1, bool)
    if removed is not None:
        keep[idx[removed]] = False
    Q = np.zeros((n + 1, n + 1))
    Q[:, :n] = q
    Q = Q * keep[None, :] * keep[:, None]
    x = np.linalg.solve(np.eye(n + 1) - Q, r * keep)
    return float(x[n])


def test_removal_effects_odds_ratios_and_betweenness(engine, events):
    res = critical_nodes(sessions(engine.table(events), level="channel"))
    t = res.table().set_index("node")
    paths = res.paths
    base = _dense_conversion(paths)
    assert res.conversion_probability == pytest.approx(base)
    for node in t.index:
        assert t.loc[node, "removal_effect"] == pytest.approx(max(0.0, 1 - _dense_conversion(paths, node) / base))
        through = paths.path.str.split(" > ").map(lambda s, node=node: node in s)
        a, b = paths.conversions[through].sum(), paths.nulls[through].sum()
        c, d = paths.conversions[~through].sum(), paths.nulls[~through].sum()
        tab = Table2x2(np.array([[a, b], [c, d]]), shift_zeros=True)
        assert t.loc[node, "odds_ratio"] == pytest.approx(tab.oddsratio)
        assert (t.loc[node, "or_lower"], t.loc[node, "or_upper"]) == pytest.approx(tab.oddsratio_confint(0.05))
        assert t.loc[node, "sessions"] == a + b
    # betweenness of the first-order graph on -log probabilities, as networkx computes it
    tm = transition_matrix(sessions(engine.table(events), level="channel"))
    g = nx.DiGraph()
    g.add_nodes_from(t.index)
    for r in tm.itertuples():
        if r.from_state in t.index and r.to_state in t.index:
            g.add_edge(r.from_state, r.to_state, length=-np.log(r.probability))
    ref = nx.betweenness_centrality(g, weight="length", normalized=True)
    assert t.betweenness.to_dict() == pytest.approx(ref)
    assert t["rank"].tolist() == list(range(1, len(t) + 1))
    assert t.removal_effect.is_monotonic_decreasing


def test_engines_agree_and_higher_orders(duckdb_engine, spark_engine, events):
    a = critical_nodes(sessions(duckdb_engine.table(events)), order=2).table()
    b = critical_nodes(sessions(spark_engine.table(events)), order=2).table()
    pd.testing.assert_frame_equal(a, b)
    tm = transition_matrix(events, order=2)
    assert tm.groupby("from_state").probability.sum().to_numpy() == pytest.approx(1.0)
    assert any(" > " in s for s in tm.from_state if s != "(start)")


def test_betweenness_matches_networkx_on_a_random_graph():
    rng = np.random.default_rng(3)
    nodes = list("abcdefg")
    edges = [(f, t, float(rng.choice([1.0, 2.0, 0.5]))) for f in nodes for t in nodes if f != t and rng.random() < .35]
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_weighted_edges_from(edges, weight="length")
    mine = betweenness(pd.DataFrame(edges, columns=["from_state", "to_state", "length"]), nodes)
    assert mine == pytest.approx(nx.betweenness_centrality(g, weight="length", normalized=True))


def test_paths_through_and_errors(events):
    res = critical_nodes(events)
    top = res.table().node.iloc[0]
    p = res.paths_through(top, n=3)
    assert len(p) <= 3 and all(top in x.split(" > ") for x in p.path)
    assert p.sessions.is_monotonic_decreasing
    with pytest.raises(ParameterError, match="unknown node"):
        res.paths_through("nowhere")
    with pytest.raises(ParameterError, match="order"):
        critical_nodes(events, order=5)
    with pytest.raises(ParameterError, match="alpha"):
        critical_nodes(events, alpha=1.5)
    no_buy = events[events.event_type != "purchase"]
    with pytest.raises(ParameterError, match="no session converts"):
        critical_nodes(no_buy)
    assert res.plot().axes[0].get_xlabel().startswith("removal effect")
