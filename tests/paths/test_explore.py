"""Path views: each precomputed view equals the analysis run directly; the explorer's widgets."""

from __future__ import annotations

import pandas as pd
import pytest
from reference_paths import random_shopping_events

from marketing360.errors import ParameterError
from marketing360.paths import path_flows, path_views, sessions, top_paths


def test_views_equal_the_direct_analyses():
    ev = random_shopping_events(12, n_users=40)
    v = path_views(ev, levels=("event_type", "channel"), anchors=(None, "to:purchase", "from:browse"), n=5)
    assert v.segments == ["(all)", "A", "B"]
    assert len(v.keys()) == 2 * 3 * 3
    brand_a = ev[ev.brand == "A"]
    s = sessions(brand_a, level="channel", end_at="purchase")
    pd.testing.assert_frame_equal(v.top_paths("channel", "to:purchase", "A"), top_paths(s, n=5).table())
    s = sessions(ev, level="event_type", start_at="browse")
    pd.testing.assert_frame_equal(v.flows("event_type", "from:browse"), path_flows(s, max_steps=4, top=5).table())
    box = v.explorer()
    assert [w.description for w in box.children[0].children] == ["level", "anchor", "segment"]
    with pytest.raises(ParameterError, match="no view"):
        v.top_paths("campaign")


@pytest.mark.parametrize("kwargs,match", [({"anchors": ("before:purchase",)}, "anchor"),
                                          ({"levels": "channel"}, "levels"), ({"anchors": ()}, "anchors")])
def test_bad_views(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        path_views(random_shopping_events(1, n_users=5), **kwargs)
