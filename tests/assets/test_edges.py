"""4A at its edges: populations, impossible dates, dates with an offset, on every engine."""

from __future__ import annotations

import pandas as pd
import pytest

import marketing360 as m3
from marketing360.assets import StageRules, penetration, snapshot
from marketing360.errors import ParameterError, SchemaError

EVENTS = pd.DataFrame({
    "user_id": [1, 2, 3, 3],
    "ts": ["2025-03-01 10:00", "2025-03-01 11:00", "2025-03-01 12:00", "2025-03-01 17:30"],
    "brand": ["A", "A", "A", "A"],
    "event_type": ["browse", "browse", "impression", "browse"],
})


def test_penetration_counts_only_the_population(engine):
    snap = snapshot(engine.table(m3.validate(EVENTS)), "2025-03-01")
    pen = penetration(snap, engine.table(pd.DataFrame({"user_id": [2]}))).table()
    # was 3 consumers over a population of 1 (3.0): only consumer 2 is in the population
    assert pen[["stage", "consumers", "population", "penetration"]].astype(str).values.tolist() == [
        ["aware", "1", "1", "1.0"]]
    by_count = penetration(snap, 4).table()
    assert by_count.penetration.tolist() == [0.75]


def test_an_empty_population_is_one_clear_error(engine):
    snap = snapshot(engine.table(m3.validate(EVENTS)), "2025-03-01")
    empty = engine.table(pd.DataFrame({"user_id": pd.Series([], dtype="int64")}))
    with pytest.raises(SchemaError, match="the population is empty"):  # was inf on DuckDB and nan on Spark
        penetration(snap, empty).table()


@pytest.mark.parametrize("date", [None, "9999-12-31", "someday", pd.NaT, True])
def test_impossible_dates_are_parameter_errors(date):
    with pytest.raises(ParameterError, match="date must"):
        snapshot(EVENTS, date)


def test_a_date_with_its_own_offset_names_its_local_day(engine):
    ev = engine.table(m3.validate(EVENTS))
    # 01:00 on 2 March in Shanghai is 17:00 on 1 March UTC: the day meant is 2 March, local
    with_offset = snapshot(ev, "2025-03-02T01:00+08:00", tz="Asia/Shanghai").table()
    plain = snapshot(ev, "2025-03-02", tz="Asia/Shanghai").table()
    pd.testing.assert_frame_equal(with_offset, plain)
    assert snapshot(ev, "2025-03-02T01:00+08:00", tz="Asia/Shanghai").dates == [pd.Timestamp("2025-03-02")]


def test_bad_time_zones_and_rules_are_refused():
    with pytest.raises(ParameterError, match="tz must be an IANA time zone"):
        snapshot(EVENTS, "2025-03-01", tz="Mars/Olympus")
    with pytest.raises(ParameterError, match="aware window"):
        StageRules.with_windows(aware=True)  # was read as a 1-day window


SEGMENTED = pd.DataFrame({"user_id": [1, 2, 2, 3], "ts": ["2025-03-01"] * 4, "brand": ["A", "A", "A", "B"],
                          "event_type": ["browse", "impression", "purchase", "impression"]})


def test_breakdowns_keep_consumers_and_brands_their_tables_lack(engine):
    from marketing360.assets import volumes

    s = snapshot(engine.table(m3.validate(SEGMENTED)), "2025-03-01")
    users = engine.table(pd.DataFrame({"user_id": [1, 2], "gender": ["f", "m"]}))
    got = volumes(s, by="gender", users=users).table()
    # by hand: user 3 (brand B, aware) has no row in users; was: brand B vanished (inner join)
    assert got[["brand", "gender", "stage", "consumers"]].astype(str).values.tolist() == [
        ["A", "f", "aware", "1"], ["A", "m", "act", "1"], ["B", "None", "aware", "1"]]
    brands = engine.table(pd.DataFrame({"brand": ["A"], "category": ["x"]}))
    pen = penetration(s, 10, brands=brands).table().sort_values(["brand", "stage"])
    assert pen.brand.tolist() == ["A", "A", "B"]  # was: brand B vanished
    assert pen.category_penetration.isna().tolist() == [False, False, True]


def test_tables_with_two_rows_for_one_consumer_or_brand_are_refused():
    from marketing360.assets import volumes

    s = snapshot(SEGMENTED, "2025-03-01")
    twice = pd.DataFrame({"user_id": [1, 2, 2, 3], "gender": ["f", "m", "m", "f"]})
    with pytest.raises(SchemaError, match="the users table has more than one row for user_id 2"):
        volumes(s, by="gender", users=twice)  # was: user 2 counted twice
    with pytest.raises(SchemaError, match="the brands table has more than one row for brand 'A'"):
        penetration(s, 10, brands=pd.DataFrame({"brand": ["A", "A"], "category": ["x", "y"]}))


def test_a_log_without_brands_says_so():
    with pytest.raises(SchemaError, match="snapshot: no event has a brand"):
        snapshot(SEGMENTED.assign(brand=None), "2025-03-01")  # was: an empty result


def test_an_audience_needs_a_stage_and_judges_censoring_on_local_days():
    from marketing360.assets import audience

    with pytest.raises(ParameterError, match="stage must be one of"):
        audience(SEGMENTED, "2025-03-01", None)  # was: an empty audience
    # the last event, 2025-03-05 20:00 UTC, is 6 March in Shanghai: a 5-day follow-up from 1 March fits there
    ev = pd.concat([SEGMENTED, pd.DataFrame({"user_id": [9], "ts": ["2025-03-05 20:00"], "brand": ["A"],
                                             "event_type": ["browse"]})], ignore_index=True)
    audience(ev, "2025-03-01", "appeal", not_reached="act", within=5, tz="Asia/Shanghai")
    with pytest.raises(ParameterError, match="runs past the last event"):
        audience(ev, "2025-03-01", "appeal", not_reached="act", within=5)  # UTC: the data ends on 5 March
