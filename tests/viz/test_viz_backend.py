"""Notebook and script habits: plot functions keep the user's backend and leave their figures open."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from marketing360 import viz


def _frames() -> dict[str, pd.DataFrame]:
    dates = pd.date_range("2025-01-01", periods=4, freq="D")
    volumes = pd.DataFrame([(d, b, s, 10 * (i + 1) + j) for i, d in enumerate(dates) for j, b in enumerate("AB")
                            for s in ("aware", "appeal", "act", "advocate")],
                           columns=["date", "brand", "stage", "consumers"])
    return {
        "daily": pd.DataFrame({"date": np.repeat(dates, 2), "event_type": ["browse", "purchase"] * 4,
                               "events": [5, 1, 6, 0, 7, 2, 8, 1]}),
        "spend": pd.DataFrame({"date": np.repeat(dates, 2), "channel": ["search", "video"] * 4,
                               "spend": np.arange(8.0)}),
        "outcomes": pd.DataFrame({"date": dates, "revenue": [10.0, 12.0, 9.0, 14.0]}),
        "incremental": pd.DataFrame({"channel": ["search", "video"], "conversions": [30.0, 10.0]}),
        "volumes": volumes,
        "flows": pd.DataFrame([[5, 1], [2, 7]], index=["aware", "act"], columns=["aware", "act"]),
        "penetration": pd.DataFrame({"brand": ["A", "B"], "category": ["c", "c"], "stage": ["act", "act"],
                                     "penetration": [0.02, 0.03], "category_penetration": [0.025, 0.025]}),
        "attribution": pd.DataFrame({"markov": [3.0, 1.0], "shapley": [2.0, 2.0]}, index=["search", "video"]),
        "score": pd.DataFrame({"method": ["markov", "shapley"], "share_error": [0.12, 0.3]}),
        "transitions": pd.DataFrame({"search": [0.6, 0.0, 0.3], "video": [0.4, 0.5, 0.0],
                                     "(conversion)": [0.0, 0.1, 0.2], "(null)": [0.0, 0.4, 0.5]},
                                    index=["(start)", "search", "video"]),
    }


def _calls(f: dict[str, pd.DataFrame]) -> dict[str, object]:
    """Every public plot function, called on small hand-made frames (keyword ``ax`` added by the caller)."""
    return {
        "plot_daily_events": lambda **kw: viz.plot_daily_events(f["daily"], **kw),
        "plot_spend_outcomes": lambda **kw: viz.plot_spend_outcomes(f["spend"], f["outcomes"], **kw),
        "plot_truth": lambda **kw: viz.plot_truth(f["incremental"], f["incremental"], **kw),
        "plot_volumes": lambda **kw: viz.plot_volumes(f["volumes"], **kw),
        "plot_flows": lambda **kw: viz.plot_flows(f["flows"], **kw),
        "plot_penetration": lambda **kw: viz.plot_penetration(f["penetration"], **kw),
        "plot_attribution": lambda **kw: viz.plot_attribution(f["attribution"], **kw),
        "plot_score": lambda **kw: viz.plot_score(f["score"], **kw),
        "plot_transition_graph": lambda **kw: viz.plot_transition_graph(f["transitions"], **kw),
    }


def test_every_plot_function_is_covered():
    assert set(_calls(_frames())) == {n for n in viz.__all__ if n.startswith("plot_")}


@pytest.mark.parametrize("backend", ["svg", "pdf"])
def test_plots_keep_a_non_agg_backend_and_leave_their_figures_open(backend):
    """In a fresh interpreter with a non-Agg backend, the backend stays and every returned figure is open."""
    code = textwrap.dedent(f"""
        import json, sys
        import matplotlib
        matplotlib.use({backend!r})
        import matplotlib.pyplot as plt
        sys.path.insert(0, {str(__file__.rsplit('/', 1)[0])!r})
        from test_viz_backend import _calls, _frames
        out = {{}}
        for name, call in _calls(_frames()).items():
            fig = call()
            out[name] = {{"backend": matplotlib.get_backend(), "open": fig.number in plt.get_fignums()}}
        print(json.dumps(out))
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=300)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert len(out) == len(_calls(_frames()))
    for name, o in out.items():
        assert o["backend"] == backend, (name, o)
        assert o["open"], f"{name} closed the figure it returned"


def test_plots_draw_on_the_given_axes_and_return_its_figure():
    f = _frames()
    for name, call in _calls(f).items():
        fig, ax = plt.subplots()
        before = plt.get_fignums()
        try:
            got = call(ax=ax)
            assert got is fig, name
            assert plt.get_fignums() == before, f"{name} opened another figure"
            assert ax.has_data() or ax.patches or ax.texts, f"{name} drew nothing on the given axes"
        finally:
            plt.close(fig)


def test_plots_on_a_subfigure_return_the_top_level_figure():
    fig = plt.figure()
    try:
        sub = fig.subfigures(1, 2)[1]
        ax = sub.subplots()
        assert viz.plot_attribution(_frames()["attribution"], ax=ax) is fig
    finally:
        plt.close(fig)


def test_returned_figures_pickle():
    for name, call in _calls(_frames()).items():
        fig = call()
        try:
            again = pickle.loads(pickle.dumps(fig))
            assert len(again.axes) == len(fig.axes), name
            plt.close(again)
        finally:
            plt.close(fig)


def test_importing_viz_selects_no_backend():
    code = ("import matplotlib; import marketing360.viz, marketing360.report; "
            "import sys; print('matplotlib.pyplot' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


def test_the_current_backend_is_not_touched_in_process():
    before = matplotlib.get_backend()
    fig = viz.plot_flows(_frames()["flows"])
    try:
        assert matplotlib.get_backend() == before and fig.number in plt.get_fignums()
    finally:
        plt.close(fig)
