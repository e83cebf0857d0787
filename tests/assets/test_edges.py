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
