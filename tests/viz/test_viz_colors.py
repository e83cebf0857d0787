"""One colour per method and per 4A stage, whatever the panel, the call or the process."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from marketing360 import viz
from marketing360.viz import colors

KNOWN = ["first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based", "markov",
         "markov_2", "markov_3", "markov_4", "shapley", "shapley_rate", "bagged_logistic", "probabilistic",
         "causal_shapley", "deep_rnn", "deep_attention", "dnamta_attention"]


def _bar_colors(fig) -> dict[str, str]:
    """Method -> colour of its bars, read back from the drawn figure."""
    ax = fig.axes[0]
    out = {}
    for container in ax.containers:
        hexes = {mcolors.to_hex(p.get_facecolor()) for p in container}
        assert len(hexes) == 1  # every bar of one method has the same colour
        out[container.get_label()] = hexes.pop()
    return out


def test_every_known_method_has_its_own_fixed_colour():
    assert set(colors.METHOD_COLORS) == set(KNOWN)
    hexes = [mcolors.to_hex(c) for c in colors.METHOD_COLORS.values()]
    assert len(set(hexes)) == len(hexes)
    assert colors.method_color("markov") == "#9467bd" and colors.method_color("shapley") == "#2ca02c"


def test_unknown_names_get_a_hash_colour_outside_the_fixed_palette():
    fixed = set(colors.METHOD_COLORS.values())
    for name in ["my_model", "uplift_tree", "markov_5", "x"]:
        assert colors.method_color(name) not in fixed
    # pinned once: a name's colour must never change between releases (saved figures, docs)
    assert {n: colors.method_color(n) for n in ["my_model", "uplift_tree", "markov_5", "x"]} == {
        "my_model": "#393b79", "uplift_tree": "#6b6ecf", "markov_5": "#ce6dbd", "x": "#8c6d31"}


def test_colours_are_the_same_in_another_process():
    names = ["markov", "my_model", "uplift_tree"]
    code = f"from marketing360.viz import method_color; print([method_color(n) for n in {names!r}])"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str([colors.method_color(n) for n in names])


def test_a_method_keeps_its_colour_across_panels_and_calls():
    a = pd.DataFrame({"linear": [1.0, 2.0], "markov": [2.0, 1.0], "my_model": [1.5, 1.5]}, index=["s", "v"])
    b = pd.DataFrame({"my_model": [3.0], "shapley": [1.0], "markov": [2.0], "first_touch": [0.5]}, index=["s"])
    fig, (ax1, _) = plt.subplots(1, 2)
    try:
        c1 = _bar_colors(viz.plot_attribution(a, ax=ax1))
    finally:
        plt.close(fig)
    fig2 = viz.plot_attribution(b)  # another call, another figure, other neighbours, another order
    fig3 = viz.plot_attribution(a[["my_model", "markov"]])
    try:
        c2, c3 = _bar_colors(fig2), _bar_colors(fig3)
    finally:
        plt.close(fig2)
        plt.close(fig3)
    for m in ("markov", "my_model"):
        assert c1[m] == c2[m] == c3[m] == colors.method_color(m)
    assert c2["shapley"] == "#2ca02c" and c1["linear"] == "#c7c7c7" and c2["first_touch"] == "#9ecae1"


def test_the_attribution_result_plot_uses_the_same_colours():
    from marketing360.attribution import rule_based
    from marketing360.paths import from_paths

    j = from_paths(pd.DataFrame({"path": ["a > b", "b", "a"], "conversions": [2, 1, 0], "nulls": [1, 0, 3]}))
    fig = rule_based(j, rules=["first_touch", "linear"]).plot()
    try:
        assert _bar_colors(fig) == {"first_touch": "#9ecae1", "linear": "#c7c7c7"}
    finally:
        plt.close(fig)


def test_set_method_color_overrides_and_restores():
    try:
        colors.set_method_color("my_model", "red")
        assert colors.method_color("my_model") == "#ff0000"
        fig = viz.plot_attribution(pd.DataFrame({"my_model": [1.0]}, index=["s"]))
        assert _bar_colors(fig)["my_model"] == "#ff0000"
        plt.close(fig)
    finally:
        colors.set_method_color("my_model", None)
    assert colors.method_color("my_model") == "#393b79"  # its own colour again (pinned above)


def test_truth_markers_are_black():
    fig = viz.plot_attribution(pd.DataFrame({"markov": [1.0, 2.0]}, index=["s", "v"]),
                               truth=pd.Series({"s": 1.0, "v": 1.0}))
    try:
        truth = [c for c in fig.axes[0].collections if c.get_label() == "truth"]
        assert mcolors.to_hex(truth[0].get_facecolor()[0]) == "#000000"
    finally:
        plt.close(fig)


def _volumes(brands: str = "AB") -> pd.DataFrame:
    dates = pd.date_range("2025-01-01", periods=3, freq="7D")
    return pd.DataFrame([(d, b, s, 5 + i + k) for i, d in enumerate(dates) for b in brands
                         for k, s in enumerate(("aware", "appeal", "act", "advocate"))],
                        columns=["date", "brand", "stage", "consumers"])


@pytest.mark.parametrize("kind", ["series", "by_brand"])
def test_stages_have_their_colour_in_the_volume_plots(kind):
    v = _volumes() if kind == "series" else _volumes().drop(columns="date").groupby(
        ["brand", "stage"], as_index=False).consumers.sum()
    fig = viz.plot_volumes(v)
    try:
        ax = fig.axes[0]
        if kind == "series":
            got = {c.get_label(): mcolors.to_hex(c.get_facecolor()[0]) for c in ax.collections}
        else:
            got = {c.get_label(): mcolors.to_hex(c[0].get_facecolor()) for c in ax.containers}
        assert got == colors.STAGE_COLORS
    finally:
        plt.close(fig)


def test_penetration_bars_take_the_stage_colour():
    pen = pd.DataFrame({"brand": ["A"], "stage": ["appeal"], "penetration": [0.1]})
    fig = viz.plot_penetration(pen, stage="appeal")
    try:
        assert mcolors.to_hex(fig.axes[0].patches[0].get_facecolor()) == colors.STAGE_COLORS["appeal"]
    finally:
        plt.close(fig)


def test_volumes_summed_over_brands_count_consumer_brand_pairs():
    v = _volumes()
    for frame, brand, unit in [(v, None, "consumer-brand pairs"), (v, "A", "consumers"),
                               (_volumes("A"), None, "consumers")]:
        fig = viz.plot_volumes(frame, brand=brand)
        try:
            assert fig.axes[0].get_ylabel() == unit
        finally:
            plt.close(fig)
    fig = viz.plot_flows(pd.DataFrame([[1, 2], [3, 4]], index=["aware", "act"], columns=["aware", "act"]),
                         unit="consumer-brand pairs")
    try:
        assert "consumer-brand pairs" in fig.axes[0].get_title()
    finally:
        plt.close(fig)
