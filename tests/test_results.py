"""One result protocol: every result of every module speaks it the same way."""

from __future__ import annotations

import datetime
import subprocess
import sys

import matplotlib
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import marketing360 as m3
from marketing360.results import Result, Summary


@pytest.fixture(scope="module")
def world():
    return m3.datasets.simulate(n_users=250, n_days=35, seed=3, truth="none")


@pytest.fixture(scope="module")
def results(world):
    ev = world.events
    day = pd.Timestamp(world.config["start"]) + pd.Timedelta(days=34)
    snap = m3.assets.snapshot(ev, day)
    j = m3.paths.journeys(ev, lookback_days=14)
    return {
        "stages": snap,
        "series": m3.assets.snapshots(ev, [day - pd.Timedelta(days=7), day]),
        "volumes": m3.assets.volumes(snap),
        "penetration": m3.assets.penetration(snap, world.users, brands=world.brands),
        "flows": m3.assets.flows(ev, day - pd.Timedelta(days=14), day),
        "audience": m3.assets.audience(ev, day - pd.Timedelta(days=20), "aware"),
        "journeys": j,
        "path table": j.paths(),
        "rules": m3.attribution.rule_based(j, rules=["first_touch", "linear"]),
        "markov": m3.attribution.markov(j),
        "shapley": m3.attribution.shapley(j),
    }


NAMES = ["stages", "series", "volumes", "penetration", "flows", "audience", "journeys", "path table", "rules",
         "markov", "shapley"]


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Dates (``datetime.date`` or any datetime unit) as nanosecond timestamps, to compare values."""
    out = df.copy()
    for c in out.columns:
        first = out[c].dropna().head(1).tolist()
        if pd.api.types.is_datetime64_any_dtype(out[c]) or (first and isinstance(first[0], datetime.date)):
            out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
    return out


@pytest.mark.parametrize("name", NAMES)
def test_every_result_has_the_protocol(results, name):
    r = results[name]
    assert isinstance(r, Result)
    t = r.table()
    assert isinstance(t, pd.DataFrame) and len(t) > 0
    assert isinstance(r.to_polars(), pl.DataFrame) and isinstance(r.to_arrow(), pa.Table)
    # polars and Arrow hold the table's values (converted back to pandas; categories compared as values)
    for other in (r.to_polars().to_pandas(), r.to_arrow().to_pandas()):
        pd.testing.assert_frame_equal(_plain(other), _plain(t), check_dtype=False, check_categorical=False,
                                      check_index_type=False)
    s = r.summary()
    assert isinstance(s, Summary) and s.title in str(s) and s.html.startswith("<div")
    text = repr(r)
    assert "\n" not in text and len(text) < 160  # was ~380 lines of ibis internals for Journeys
    assert r._repr_html_().startswith("<div")


def test_stage_results_count_the_simulator_s_true_stages(world, results):
    """The simulator's true stages on that day (they follow JD's rules) are an independent count."""
    day = pd.Timestamp(world.config["start"]) + pd.Timedelta(days=34)
    truth = world.truth.stages_on(day)
    assert len(results["stages"].table()) == len(truth) > 0
    got = results["volumes"].table().groupby(["brand", "stage"], observed=True).consumers.sum()
    want = truth.groupby(["brand", "stage"]).size()
    assert {k: int(v) for k, v in got.items() if v} == {k: int(v) for k, v in want.items()}


@pytest.mark.parametrize("name", ["stages", "series", "volumes", "penetration"])
def test_stages_are_ordered_and_counts_are_integers(results, name):
    t = results[name].table()
    assert isinstance(t.stage.dtype, pd.CategoricalDtype) and t.stage.dtype.ordered
    assert list(t.stage.dtype.categories[:4]) == ["aware", "appeal", "act", "advocate"]  # was act, appeal, aware
    for c in ("consumers", "population", "level"):
        if c in t:
            assert str(t[c].dtype) == "int64", c  # counts came back as floats


def test_flow_stages_are_ordered(results):
    t = results["flows"].table()
    assert list(t.from_stage.dtype.categories) == ["new", "aware", "appeal", "act", "advocate"]
    assert list(t.to_stage.dtype.categories) == ["aware", "appeal", "act", "advocate", "lost"]
    assert str(t.consumers.dtype) == "int64"
    assert list(results["flows"].net_growth().stage.dtype.categories) == ["aware", "appeal", "act", "advocate"]


@pytest.mark.parametrize("name", ["series", "volumes", "penetration", "flows", "rules", "markov"])
def test_plots_return_the_figure_and_draw_on_a_given_axis(results, name):
    import matplotlib.pyplot as plt

    fig = results[name].plot()
    assert isinstance(fig, matplotlib.figure.Figure)
    own_fig, ax = plt.subplots()
    assert results[name].plot(ax=ax) is own_fig
    plt.close("all")


def test_subpackages_are_reachable_lazily():
    code = ("import sys, marketing360 as m3; assert 'marketing360.attribution' not in sys.modules; "
            "print(m3.attribution.markov.__name__, m3.assets.snapshot.__name__, m3.viz.__name__, "
            "m3.overview.__name__, m3.paths.journeys.__name__, 'attribution' in dir(m3))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["markov", "snapshot", "marketing360.viz", "marketing360.overview", "journeys", "True"]
