"""Sessions and their paths on every engine against a plain-pandas reading of the definition."""

from __future__ import annotations

import pandas as pd
import pytest
from reference_paths import engine_named, on_engines, random_shopping_events, reference_sessions

from marketing360.errors import ParameterError, SchemaError
from marketing360.paths import sessions

COLUMNS = ["user_id", "brand", "session", "start_ts", "end_ts", "n_events", "n_steps", "path", "converted",
           "conversions", "value"]


@pytest.fixture(scope="module")
def events():
    return random_shopping_events(3)


def _compare(got: pd.DataFrame, ref: pd.DataFrame) -> None:
    got = got[COLUMNS].sort_values(["user_id", "brand", "session"], na_position="first").reset_index(drop=True)
    ref = ref[COLUMNS].sort_values(["user_id", "brand", "session"], na_position="first").reset_index(drop=True)
    assert len(got) == len(ref) > 0
    for c in COLUMNS:
        if c == "brand":
            assert got[c].fillna("-").tolist() == ref[c].fillna("-").tolist()
        elif c in ("start_ts", "end_ts"):
            assert (pd.to_datetime(got[c]) == pd.to_datetime(ref[c])).all(), c
        elif c == "value":
            assert got[c].to_numpy() == pytest.approx(ref[c].to_numpy())
        else:
            assert got[c].tolist() == ref[c].tolist(), c


CASES = [
    {},
    {"gap_minutes": 5},
    {"gap_minutes": None},
    {"gap_minutes": 30, "by_day": True},
    {"by": None, "level": "channel"},
    {"level": "channel", "collapse_repeats": True},
    {"event_types": ["browse", "search", "cart", "purchase"], "collapse_repeats": True},
    {"start_at": "browse"},
    {"end_at": "purchase", "gap_minutes": 120},
    {"start_at": "search", "end_at": "purchase", "gap_minutes": None},
    {"level": "event_type", "mapping": {"impression": "ad", "click": "ad", "follow": None}},
]


@pytest.mark.parametrize("engine_name,options", on_engines(CASES, spark=[3, 4, 5, 9, 10]))
def test_sessions_match_the_reference(request, engine_name, events, options):
    engine = engine_named(request, engine_name)
    got = sessions(engine.table(events), **options).table()
    _compare(got, reference_sessions(events, **options))


def test_the_gap_boundary_is_inclusive():
    ev = pd.DataFrame({"user_id": 1, "brand": "A", "event_type": ["browse", "cart", "purchase"],
                       "ts": ["2025-01-01 10:00:00", "2025-01-01 10:30:00", "2025-01-01 11:00:00.000001"]})
    t = sessions(ev, gap_minutes=30).table()
    # 30 minutes exactly stays in the session, one microsecond more starts a new one
    assert t.path.tolist() == ["browse > cart", "purchase"]
    assert t.n_events.tolist() == [2, 1]


def test_ties_follow_the_funnel_and_summary():
    ev = pd.DataFrame({"user_id": [1, 1, 1], "brand": "A", "event_type": ["purchase", "cart", "browse"],
                       "ts": "2025-01-01 10:00", "value": [12.0, None, None]})
    s = sessions(ev)
    assert s.table().path.tolist() == ["browse > cart > purchase"]
    tot = s.totals().iloc[0]
    assert (tot.sessions, tot.consumers, tot.converting, tot.events, tot.value) == (1, 1, 1, 3, 12.0)
    assert "a session ends after 30 minutes without an event" in str(s.summary())


@pytest.mark.parametrize("kwargs,match", [
    ({"gap_minutes": 0}, "gap_minutes"),
    ({"gap_minutes": "30"}, "gap_minutes"),
    ({"by": "channel"}, "by must be"),
    ({"level": "ts"}, "level must"),
    ({"conversion": "sale"}, "conversion"),
    ({"start_at": "visit"}, "start_at"),
    ({"event_types": ["browse"], "end_at": "purchase"}, "end_at 'purchase' is not among"),
    ({"event_types": ["pv"]}, "event_types"),
    ({"mapping": ["a"]}, "mapping"),
    ({"by_day": 1}, "by_day"),
])
def test_bad_parameters_are_named(kwargs, match):
    ev = pd.DataFrame({"user_id": [1], "ts": ["2025-01-01"], "event_type": ["browse"], "brand": "A"})
    with pytest.raises(ParameterError, match=match):
        sessions(ev, **kwargs)


def test_bad_tables_are_named():
    with pytest.raises(SchemaError, match="category"):
        sessions(pd.DataFrame({"user_id": [1], "ts": ["2025-01-01"], "event_type": ["browse"]}), level="category")
    with pytest.raises(SchemaError, match="ts"):
        sessions(pd.DataFrame({"user_id": [1], "ts": ["not a time"], "event_type": ["browse"]}))
    with pytest.raises(SchemaError, match="empty"):
        sessions(pd.DataFrame({"user_id": [], "ts": [], "event_type": []}))


@pytest.mark.parametrize("engine_name,options", on_engines([{}, {"collapse_repeats": True}], spark=[0]))
def test_many_step_labels_are_coded_by_a_join(request, engine_name, events, options):
    # more than 64 distinct labels: coded through a joined table instead of a CASE; ties still in label order
    engine = engine_named(request, engine_name)
    ev = events.assign(page=[None if i % 7 == 0 else f"page-{(i * 37) % 101:03d}" for i in range(len(events))])
    assert ev.page.nunique() > 64
    got = sessions(engine.table(ev), level="page", **options).table()
    _compare(got, reference_sessions(ev, level="page", **options))
