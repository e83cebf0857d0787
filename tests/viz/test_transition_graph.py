"""The Markov transition graph: the edge rule, labels on their edges, no label over another, up to 16+ channels."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Circle, FancyArrowPatch

from marketing360.viz import graph_edges, plot_transition_graph
from marketing360.viz.transition_graph import circle_order

NAMES = ["paid_search", "display", "social_facebook", "email", "affiliate", "video_youtube", "organic_search",
         "direct", "display_retargeting", "tiktok", "push_notification", "podcast", "influencer", "tv_connected",
         "sms", "referral"]


def _matrix(n: int, seed: int = 0) -> pd.DataFrame:
    """A random first-order chain over ``n`` channels, rows summing to 1."""
    rng = np.random.default_rng(seed)
    ch = NAMES[:n]
    rows = {"(start)": dict(zip(ch, rng.dirichlet(np.full(n, 0.6))))}
    for i, c in enumerate(ch):
        w = rng.dirichlet(np.full(n, 0.35)) * 0.5
        w[i] = 0.0
        conv = rng.uniform(0.005, 0.12)
        rows[c] = {**dict(zip(ch, w)), "(conversion)": conv, "(null)": 1 - conv - w.sum()}
    return pd.DataFrame(rows).T.fillna(0.0)[["(conversion)", "(null)", *ch]]


def test_graph_edges_keeps_the_likeliest_moves_between_channels():
    m = pd.DataFrame({"a": [0.5, 0.1, 0.3, 0.2], "b": [0.3, 0.6, 0.25, 0.0], "c": [0.2, 0.05, 0.0, 0.4],
                      "(conversion)": [0.0, 0.1, 0.2, 0.3], "(null)": [0.0, 0.15, 0.25, 0.1]},
                     index=["(start)", "a", "b", "c"])
    e = graph_edges(m, min_prob=0.1, max_edges=3)
    # by hand: moves between different channels a->b .6, a->c .05, b->a .3, c->a .2, c->b 0 (absent), b->c 0
    assert e.values.tolist() == [["a", "b", 0.6], ["b", "a", 0.3], ["c", "a", 0.2]]
    assert e.attrs == {"candidates": 4, "max_edges": 3}
    assert graph_edges(m, min_prob=0.25).values.tolist() == [["a", "b", 0.6], ["b", "a", 0.3]]
    assert graph_edges(m, min_prob=0.0, max_edges=None).attrs["max_edges"] == 6  # max(6, 1.5 x 3)
    assert len(graph_edges(_matrix(16), max_edges=None)) == 24  # 1.5 x 16
    with pytest.raises(ValueError, match="max_edges"):
        graph_edges(m, max_edges=-1)


def test_circle_order_puts_linked_channels_side_by_side():
    ch = list("abcdefgh")
    w = pd.DataFrame(0.0, index=ch, columns=ch)
    ring = ["a", "e", "b", "f", "c", "g", "d", "h"]  # a cycle unrelated to the alphabet
    for s, t in zip(ring, ring[1:] + ring[:1]):
        w.loc[s, t] = 0.8
    order = circle_order(w, ch, first="a")
    assert order in (ring, [ring[0], *ring[:0:-1]])
    assert circle_order(w, ch, first="a") == order  # deterministic
    assert circle_order(w.iloc[:3, :3], ch[:3]) == ch[:3]


def _arrows_and_labels(fig):
    ax = fig.axes[0]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch) and p.get_zorder() == 2]
    labels = [t for t in ax.texts if t.get_text().endswith("%") and t.get_bbox_patch() is not None]
    return ax, arrows, labels


@pytest.mark.parametrize("n", [4, 8, 12, 16])
def test_graph_is_readable_up_to_16_channels(n):
    m = _matrix(n, seed=n)
    edges = graph_edges(m)
    fig = plot_transition_graph(m)
    try:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        ax, arrows, labels = _arrows_and_labels(fig)
        # the rule is stated in the title
        title = ax.get_title()
        assert f"the {len(edges)} likeliest of the {edges.attrs['candidates']} moves" in title
        assert f"at most {edges.attrs['max_edges']} arrows, each with p ≥ 5%" in title
        # one arrow and one label per kept edge, with the edge's probability
        assert len(arrows) == len(labels) == len(edges)
        assert sorted(t.get_text() for t in labels) == sorted(f"{p:.0%}" for p in edges.probability)
        # each label sits on its arrow: within 2 pixels of the arrow's drawn path (get_path: data coordinates)
        for t in labels:
            xy = ax.transData.transform(t.get_position())
            near = min(np.hypot(*(ax.transData.transform(a.get_path().vertices) - xy).T).min() for a in arrows)
            assert near < 2.0, t.get_text()
        # channel names: one per channel, none overlapping another, all inside the figure
        names = [t for t in ax.texts if t.get_text() in set(NAMES[:n])]
        assert sorted(t.get_text() for t in names) == sorted(NAMES[:n])
        boxes = [t.get_window_extent(renderer) for t in names]
        for a, b in itertools.combinations(boxes, 2):
            assert not a.overlaps(b)
        fig_box = fig.bbox
        for t, b in zip(names, boxes):
            assert fig_box.x0 <= b.x0 and b.x1 <= fig_box.x1 and fig_box.y0 <= b.y0 and b.y1 <= fig_box.y1, t
        # names sit outside their nodes
        nodes = [p for p in ax.patches if isinstance(p, Circle) and p.get_zorder() == 4]
        assert len(nodes) == n
        for node in nodes:
            nb = node.get_window_extent(renderer)
            assert not any(nb.overlaps(b) for b in boxes)
    finally:
        plt.close(fig)


def test_node_colour_and_size_follow_conversion_and_start():
    m = _matrix(6, seed=1)
    ch = NAMES[:6]
    fig = plot_transition_graph(m)
    try:
        ax = fig.axes[0]
        nodes = [p for p in ax.patches if isinstance(p, Circle) and p.get_zorder() == 4]
        names = {t.get_text(): t for t in ax.texts if t.get_text() in ch}
        node = {}  # a channel's node lies in the direction of its name
        for c, t in names.items():
            a = np.arctan2(t.xy[1], t.xy[0])
            node[c] = min(nodes, key=lambda p: abs(np.angle(np.exp(1j * (np.arctan2(p.center[1], p.center[0]) - a)))))
        assert len({id(p) for p in node.values()}) == 6
        texts = {t.get_text() for t in ax.texts}
        start, conv = m.loc["(start)", ch], m.loc[ch, "(conversion)"]
        for c in ch:  # each label states the start share and the chance of converting next
            assert f"start {start[c]:.0%} · conv {conv[c]:.1%}" in texts
        # node area follows the start share (radius ratio = sqrt of the share ratio), floored at 0.35 x the largest
        r_top = max(p.radius for p in nodes)
        for c in ch:
            assert node[c].radius / r_top == pytest.approx(max(0.35, np.sqrt(start[c] / start.max())), rel=1e-9)
        # node colour darkens as the chance of converting next grows
        lum = {c: float(np.dot(node[c].get_facecolor()[:3], [0.299, 0.587, 0.114])) for c in ch}
        by_conv = sorted(ch, key=lambda c: conv[c])
        assert [lum[c] for c in by_conv] == sorted(lum.values(), reverse=True)
    finally:
        plt.close(fig)


# a>b (2 conversions, 1 null), b>a>c (1, 2), a (0, 3), c>b (1, 1); 11 journeys. By hand, first order:
# starts a 6/11, b 3/11, c 2/11; a -> b 3/9, a -> c 3/9, a -> (null) 3/9; b -> a 3/8, b -> (conversion) 3/8,
# b -> (null) 2/8; c -> b 2/5, c -> (conversion) 1/5, c -> (null) 2/5
_SMALL = pd.DataFrame({"path": ["a > b", "b > a > c", "a", "c > b"], "conversions": [2, 1, 0, 1],
                       "nulls": [1, 2, 3, 1]})


def _labels(fig) -> list[str]:
    return sorted(t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("start "))


@pytest.mark.parametrize("order", [2, 3])
def test_a_higher_order_chain_is_drawn_from_the_first_order_moves_of_its_journeys(order):
    # was: drawn by each history's last channel: b "started" 45% (true 27%), c 0% (true 18%), b converted
    # next 58% (true 38%), and the arrows a -> b and c -> b were missing
    from marketing360.attribution import markov
    from marketing360.paths import from_paths

    j = from_paths(_SMALL)
    fig = markov(j, order=order).plot_graph()
    ref = markov(j, order=1).plot_graph()
    try:
        assert _labels(fig) == ["start 18% · conv 20.0%", "start 27% · conv 37.5%", "start 55% · conv 0.0%"]
        assert _labels(fig) == _labels(ref)  # the first-order chain's own drawing
        _, _, texts = _arrows_and_labels(fig)
        assert sorted(t.get_text() for t in texts) == ["33%", "33%", "38%", "40%"]  # a>b, a>c, b>a, c>b
        assert f"order {order} chain: its journeys' first-order moves" in fig.axes[0].get_title()
    finally:
        plt.close(fig)
        plt.close(ref)


def test_first_order_moves_of_any_order_equal_the_first_order_chain():
    from marketing360.attribution import markov
    from marketing360.attribution.markov import _SEP
    from marketing360.paths import from_paths
    from marketing360.viz import first_order_matrix

    rng = np.random.default_rng(5)  # repeats (a > a > b) and paths shorter than the order included
    paths = [" > ".join(rng.choice(list("abcd"), size=rng.integers(1, 7))) for _ in range(300)]
    df = pd.DataFrame({"path": paths, "conversions": rng.integers(0, 3, 300), "nulls": rng.integers(0, 3, 300)})
    df = df.groupby("path", as_index=False).sum().query("conversions + nulls > 0")
    j = from_paths(df)
    ref = markov(j, order=1).transition_matrix()
    for order in (2, 3, 4):
        got = first_order_matrix(markov(j, order=order).transitions, sep=_SEP)
        assert sorted(got.index) == sorted(ref.index) and sorted(got.columns) == sorted(ref.columns)
        pd.testing.assert_frame_equal(got.loc[ref.index, ref.columns], ref, check_names=False, atol=1e-12)
    # and by hand on the small paths, from the order-2 counts
    got = first_order_matrix(markov(from_paths(_SMALL), order=2).transitions, sep=_SEP)
    assert got.loc["(start)", ["a", "b", "c"]].tolist() == pytest.approx([6 / 11, 3 / 11, 2 / 11])
    assert got.loc["b", ["a", "(conversion)", "(null)"]].tolist() == pytest.approx([3 / 8, 3 / 8, 2 / 8])
    assert got.loc["a", "b"] == pytest.approx(1 / 3)


def test_a_matrix_of_histories_is_refused():
    m = pd.DataFrame({"a,b": [0.5, 0.0, 0.0], "b,a": [0.0, 0.0, 0.6], "(conversion)": [0.0, 1.0, 0.4],
                      "(null)": [0.5, 0.0, 0.0]}, index=["(start)", "a,b", "b,a"])
    with pytest.raises(ValueError, match="first_order_matrix"):
        plot_transition_graph(m, order=2)


def test_a_matrix_without_channels_is_refused():
    with pytest.raises(ValueError, match="no channel state"):
        plot_transition_graph(pd.DataFrame({"(conversion)": [1.0]}, index=["(start)"]))


def test_no_edge_passing_the_rule_is_said_in_the_title():
    m = _matrix(4, seed=2)
    fig = plot_transition_graph(m, min_prob=0.99)
    try:
        assert "No arrows: none of the" in fig.axes[0].get_title()
    finally:
        plt.close(fig)
