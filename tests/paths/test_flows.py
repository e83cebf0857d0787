"""Path flows (the Sankey's data) against a plain-pandas reading; the SVG and matplotlib drawings."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest
from reference_paths import engine_named, on_engines, random_shopping_events, reference_sessions

from marketing360.errors import ParameterError
from marketing360.paths import path_flows, sessions


def _reference(events, max_steps, top, **opts) -> pd.DataFrame:
    s = reference_sessions(events, **opts)
    paths = [p.split(" > ") if p else [] for p in s.path]
    names = {}
    for k in range(max_steps):
        c = Counter(p[k] for p in paths if len(p) > k)
        keep = [x for x, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
        names[k] = {x: x if x in keep else "(other)" for x in c}
    rows = Counter()
    conv = Counter()
    for p, converted in zip(paths, s.converted):
        for k in range(min(len(p), max_steps)):
            src = names[k][p[k]]
            if k + 1 < len(p) and k + 1 < max_steps:
                tgt = names[k + 1][p[k + 1]]
            elif len(p) > max_steps and k + 1 == max_steps:
                tgt = "(continues)"
            else:
                tgt = "(converted)" if converted else "(left)"
            rows[(k + 1, src, tgt)] += 1
            conv[(k + 1, src, tgt)] += int(converted)
    return pd.DataFrame([{"position": a, "source": b, "target": c, "sessions": n, "converted": conv[(a, b, c)]}
                         for (a, b, c), n in rows.items()]).sort_values(["position", "source", "target"])


CASES = [(4, 3, "event_type"), (3, 2, "channel"), (6, 10, "event_type")]


@pytest.mark.parametrize("engine_name,case", on_engines(CASES, spark=[1]))
def test_flows_match_the_reference(request, engine_name, case):
    engine = engine_named(request, engine_name)
    max_steps, top, level = case
    ev = random_shopping_events(8, n_users=50)
    got = path_flows(sessions(engine.table(ev), level=level), max_steps=max_steps, top=top).table()
    ref = _reference(ev, max_steps, top, level=level).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[ref.columns].reset_index(drop=True), ref, check_dtype=False)
    # each position's flows add up to the sessions that reached it
    s = reference_sessions(ev, level=level)
    for k, n in got.groupby("position").sessions.sum().items():
        assert n == (s.n_steps >= k).sum()


def test_drawings_and_errors():
    ev = random_shopping_events(2, n_users=30)
    f = path_flows(ev, max_steps=3, top=3)
    svg = f.sankey().svg
    assert svg.startswith("<svg") and svg.count("<path") == len(f.table())
    assert "sessions" in svg and "<title>" in svg
    assert f.plot().axes[0].get_title() == "path flows"
    with pytest.raises(ParameterError, match="max_steps"):
        path_flows(ev, max_steps=0)
    with pytest.raises(ParameterError, match="top"):
        path_flows(ev, top=1.5)
