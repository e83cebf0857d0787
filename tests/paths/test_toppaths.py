"""Top paths and the coverage curve on every engine against a plain-pandas reading of the definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reference_paths import (
    engine_named,
    on_engines,
    random_shopping_events,
    reference_coverage,
    reference_sessions,
    reference_top_paths,
)

from marketing360.errors import ParameterError
from marketing360.paths import path_coverage, sessions, top_paths


@pytest.fixture(scope="module")
def events():
    ev = random_shopping_events(5, n_users=60)
    # a few events without a label (no channel): sessions with no steps at the channel level
    return ev


@pytest.mark.parametrize("engine_name,case", on_engines([(5, None, "event_type"), (3, 2, "event_type"),
                                                          (50, None, "channel"), (4, 1, "channel")], spark=[1, 3]))
def test_top_paths_match_the_reference(request, engine_name, events, case):
    engine = engine_named(request, engine_name)
    n, max_steps, level = case
    s = sessions(engine.table(events), level=level)
    got = top_paths(s, n=n, max_steps=max_steps)
    ref = reference_top_paths(reference_sessions(events, level=level), n=n, max_steps=max_steps)
    t = got.table()
    assert t["path"].tolist() == ref["path"].tolist()
    for c in ("sessions", "consumers", "converting"):
        assert t[c].tolist() == ref[c].tolist(), c
    assert t["value"].to_numpy() == pytest.approx(ref["value"].to_numpy())
    np.testing.assert_array_equal(t["rank"].to_numpy(), ref["rank"].to_numpy())
    # the rows add up to the totals exactly
    assert t.sessions.sum() == got.total_sessions == len(reference_sessions(events, level=level))
    assert t.conversion_rate.to_numpy() == pytest.approx((ref.converting / ref.sessions).to_numpy())
    assert got.total_consumers == events[events.brand.notna()].user_id.nunique()


@pytest.mark.parametrize("engine_name,case", on_engines([("consumers", None), ("sessions", None), ("consumers", 2)],
                                                        spark=[2]))
def test_coverage_matches_brute_force(request, engine_name, events, case):
    engine = engine_named(request, engine_name)
    unit, max_steps = case
    s = sessions(engine.table(events))
    cov = path_coverage(s, unit=unit, max_steps=max_steps, levels=(0.5, 0.8, 0.95, 1.0))
    ref = reference_coverage(reference_sessions(events), unit=unit, max_steps=max_steps)
    t = cov.table()
    assert t.coverage.to_numpy() == pytest.approx(np.array(ref))
    for q, k in cov.needed.items():  # the fewest paths reaching each level
        assert ref[k - 1] >= q - 1e-12 and (k == 1 or ref[k - 2] < q)
    assert cov.needed[1.0] <= len(t) and t.coverage.iloc[-1] == pytest.approx(1.0)


def test_hand_made_top_paths_and_no_steps():
    ev = pd.DataFrame({"user_id": [1, 1, 2, 3, 3, 3], "brand": "A",
                       "ts": pd.to_datetime(["2025-01-01 10:00", "2025-01-01 10:01", "2025-01-01 10:00",
                                             "2025-01-01 10:00", "2025-01-01 10:02", "2025-01-01 10:03"]),
                       "event_type": ["impression", "purchase", "browse", "impression", "click", "purchase"],
                       "channel": ["video", None, None, "video", "search", None], "value": [None, 9.0, None,
                                                                                        None, None, 4.0]})
    t = top_paths(sessions(ev, level="channel"), n=5).table()
    assert dict(zip(t.path, t.sessions)) == {"(no steps)": 1, "video": 1, "video > search": 1}
    assert dict(zip(t.path, t.value)) == {"(no steps)": 0.0, "video": 9.0, "video > search": 4.0}
    assert t["rank"].tolist() == [1.0, 2.0, 3.0]  # ties by path name
    assert "(other)" not in t.path.tolist()


def test_plots_draw_the_tables():
    ev = random_shopping_events(2, n_users=20)
    s = sessions(ev)
    fig = top_paths(s, n=4).plot()
    assert len(fig.axes[0].patches) == 4
    cov = path_coverage(s)
    assert cov.plot().axes[0].get_ylabel() == "share of consumers covered"
    assert "distinct paths cover" in str(cov.summary())


@pytest.mark.parametrize("call,match", [
    (lambda s: top_paths(s, n=0), "n must be"),
    (lambda s: top_paths(s, max_steps=1.5), "max_steps"),
    (lambda s: path_coverage(s, unit="users"), "unit must"),
    (lambda s: path_coverage(s, levels=(0.5, 1.5)), "levels"),
    (lambda s: path_coverage(s, levels=0.5), "levels"),
])
def test_bad_parameters_are_named(call, match):
    s = sessions(random_shopping_events(1, n_users=5))
    with pytest.raises(ParameterError, match=match):
        call(s)


def test_events_are_cut_with_the_defaults():
    ev = random_shopping_events(4, n_users=10)
    assert top_paths(ev, n=3).table().equals(top_paths(sessions(ev), n=3).table())
