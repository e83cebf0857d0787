"""Canonical tables: coercion of common variants and one clear SchemaError per kind of bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from marketing360 import EVENT_TYPES, SchemaError, validate
from marketing360.errors import ParameterError
from marketing360.schema import TABLES, describe


def events(**over):
    base = {
        "user_id": [1, 1, 2],
        "ts": ["2025-03-01 10:00:00", "2025-03-01 11:30:00", "2025-03-02 09:15:00"],
        "brand": ["Acme", "Acme", "Bolt"],
        "event_type": ["impression", "click", "purchase"],
        "channel": ["display", "display", None],
        "value": [None, None, 99.5],
        "cost": [0.02, 0.5, None],
    }
    base.update(over)
    return pd.DataFrame(base)


def spend(**over):
    base = {"date": ["2025-03-01", "2025-03-01", "2025-03-02"], "geo": ["north", "south", "north"],
            "channel": ["tv", "tv", "tv"], "spend": [100.0, 50.0, 80.0]}
    base.update(over)
    return pd.DataFrame(base)


# ------------------------------------------------------------------ coercion


def test_valid_events_keep_values_and_add_optional_columns():
    out = validate(events().drop(columns=["cost"]))
    assert list(out.columns[:8]) == [c.name for c in TABLES["events"].columns]
    assert out["ts"].tolist() == [pd.Timestamp("2025-03-01 10:00"), pd.Timestamp("2025-03-01 11:30"),
                                  pd.Timestamp("2025-03-02 09:15")]
    assert out["cost"].isna().all() and out["campaign"].isna().all()
    assert out.loc[2, "value"] == 99.5
    assert out["user_id"].dtype == np.int64


@pytest.mark.parametrize("ts,unit", [
    ([1740823200, 1740828600, 1740906900], None),  # unix seconds
    ([1740823200000, 1740828600000, 1740906900000], None),  # unix milliseconds
    ([1740823200, 1740828600, 1740906900], "s"),
])
def test_unix_timestamps_are_decoded(ts, unit):
    out = validate(events(ts=ts), ts_unit=unit)
    assert out["ts"].iloc[0] == pd.Timestamp("2025-03-01 10:00:00")
    assert out["ts"].iloc[2] == pd.Timestamp("2025-03-02 09:15:00")


def test_timezone_aware_timestamps_become_utc():
    ts = pd.to_datetime(["2025-03-01 18:00", "2025-03-01 19:30", "2025-03-02 17:15"]).tz_localize("Asia/Shanghai")
    out = validate(events(ts=ts))
    assert out["ts"].iloc[0] == pd.Timestamp("2025-03-01 10:00")  # Shanghai is UTC+8
    assert out["ts"].dt.tz is None


def test_string_timestamps_with_offsets_become_utc():
    out = validate(events(ts=["2025-03-01T10:00:00Z", "2025-03-01T12:30:00+01:00", "2025-03-02 09:15"]))
    assert out["ts"].tolist()[:2] == [pd.Timestamp("2025-03-01 10:00"), pd.Timestamp("2025-03-01 11:30")]


def test_event_type_synonyms_and_categoricals():
    ev = events(event_type=pd.Categorical(["PV", "fav", "buy"]))
    assert validate(ev)["event_type"].tolist() == ["browse", "follow", "purchase"]


def test_event_type_codes_with_a_map():
    out = validate(events(event_type=[1, 3, 4]), event_type_map={1: "browse", 3: "cart", 4: "purchase"})
    assert out["event_type"].tolist() == ["browse", "cart", "purchase"]


def test_string_ids_and_extra_columns_are_kept():
    out = validate(events(user_id=["a", "a", "b"], item=[10, 11, 12]))
    assert out["user_id"].tolist() == ["a", "a", "b"]
    assert out["item"].tolist() == [10, 11, 12]
    assert list(out.columns)[-1] == "item"


def test_polars_and_arrow_inputs():
    pdf = events()
    a = validate(pl.from_pandas(pdf))
    b = validate(pa.Table.from_pandas(pdf))
    c = validate(pdf)
    pd.testing.assert_frame_equal(a, c)
    pd.testing.assert_frame_equal(b, c)


def test_input_is_not_modified():
    ev = events(ts=[1740823200, 1740828600, 1740906900])
    before = ev.copy()
    validate(ev)
    pd.testing.assert_frame_equal(ev, before)


def test_spend_dates_and_numeric_strings():
    out = validate(spend(spend=["100", "50.5", "80"]), "spend")
    assert out["spend"].tolist() == [100.0, 50.5, 80.0]
    assert out["date"].iloc[2] == pd.Timestamp("2025-03-02")


def test_describe_lists_the_columns():
    d = describe("events")
    assert d["name"].tolist() == ["user_id", "ts", "brand", "event_type", "channel", "campaign", "value", "cost"]
    assert set(EVENT_TYPES) >= {"impression", "click", "browse", "search", "follow", "cart", "ask",
                                "purchase", "review", "share"}


# ------------------------------------------------------------------ one error per kind


def _raises(fn, column: str | None, *fragments: str) -> SchemaError:
    with pytest.raises(SchemaError) as exc:
        fn()
    err = exc.value
    assert isinstance(err, ValueError)
    assert err.column == column
    for f in fragments:
        assert f in str(err), (f, str(err))
    return err


def test_missing_column():
    _raises(lambda: validate(events().drop(columns=["event_type"])), "event_type",
            "missing required column", "event_type")


def test_wrong_type():
    _raises(lambda: validate(events(value=["a lot", None, "1"])), "value", "events.value",
            "expected numbers", "a lot")
    _raises(lambda: validate(events(ts=[True, False, True])), "ts", "expected timestamps", "bool")
    _raises(lambda: validate(spend(geo=[1.5, 2.5, 3.5]), "spend"), "geo", "expected strings")


def test_unparseable_timestamps():
    _raises(lambda: validate(events(ts=["2025-03-01", "yesterday", "2025-03-02"])), "ts",
            "not parseable timestamps", "yesterday")


def test_unknown_event_type():
    _raises(lambda: validate(events(event_type=["impression", "teleport", "purchase"])), "event_type",
            "unknown event type", "teleport")


def test_negative_spend_and_cost():
    _raises(lambda: validate(spend(spend=[100.0, -5.0, 80.0]), "spend"), "spend", "negative", "-5.0")
    _raises(lambda: validate(events(cost=[0.1, -0.2, None])), "cost", "negative")


def test_empty_table():
    _raises(lambda: validate(events().iloc[0:0]), None, "empty")


def test_duplicate_keys():
    _raises(lambda: validate(spend(geo=["north", "north", "north"], date=["2025-03-01"] * 3), "spend"),
            "date", "must be unique", "north")


def test_missing_values_where_not_allowed():
    _raises(lambda: validate(events(user_id=[1, None, 2])), "user_id", "missing value")


def test_dates_with_times_of_day_are_rejected():
    _raises(lambda: validate(spend(date=["2025-03-01 12:00", "2025-03-01", "2025-03-02"]), "spend"),
            "date", "times of day")


def test_not_a_table_and_unknown_table_name():
    with pytest.raises(SchemaError, match="DataFrame"):
        validate([1, 2, 3])
    with pytest.raises(ParameterError, match="table must be one of"):
        validate(events(), "nonsense")
