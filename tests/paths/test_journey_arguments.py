"""What journeys() does with its arguments at their edges: an early end, a brand-less split, separators in
names, a population of another id type."""

from __future__ import annotations

import pandas as pd
import pytest

from marketing360.errors import ParameterError, SchemaError
from marketing360.paths import journeys

EV = pd.DataFrame({
    "user_id": [1, 1, 1, 1],
    "ts": pd.to_datetime(["2025-03-01 08:00", "2025-03-02 10:00", "2025-03-05 09:00", "2025-03-06 10:00"]),
    "brand": "A",
    "event_type": ["impression", "purchase", "impression", "purchase"],
    "channel": ["tv", None, "search", None],
    "value": [None, 10.0, None, 20.0],
})


def test_events_after_end_are_left_out(engine):
    # was: the conversion of 6 March closed a journey after an end of 3 March, and the tail had -3.4 days
    j = journeys(engine.table(EV), end="2025-03-03").table().sort_values("journey")
    assert j.conversions.tolist() == [1, 0]
    assert j.value.tolist() == [10.0, 0.0]
    assert j.n_touches.tolist() == [1, 0]  # the tail has no touch before the end
    assert (j.window_days >= 0).all()
    # by hand: the tail runs from the conversion (2 March 10:00) to the end (3 March 00:00)
    tail = j[j.conversions == 0].iloc[0]
    assert tail.window_days == pytest.approx(14 / 24)


def test_by_is_the_brand_or_nothing():
    with pytest.raises(ParameterError, match="by must be 'brand'"):
        journeys(EV.assign(geo="x"), by="geo")  # was: IbisTypeError, Column 'brand' is not found


def test_a_channel_named_with_the_path_separator_is_refused(engine):
    # was: "search > brand" read as two channels, and Markov credited a channel 'brand' that does not exist
    for data in (EV.assign(channel=["tv", None, "search > brand", None]),
                 engine.table(EV.assign(channel=["tv", None, "search > brand", None]))):
        with pytest.raises(SchemaError, match="journeys: 1 channel name.s. contain the path separator"):
            journeys(data)


def test_lookback_must_be_finite():
    with pytest.raises(ParameterError, match="lookback_days must be a positive number"):
        journeys(EV, lookback_days=float("inf"))  # was: OverflowError


def test_a_population_with_ids_of_another_type_is_a_schema_error():
    with pytest.raises(SchemaError, match="journeys population: user_id is string but the events' user_id is int64"):
        journeys(EV, population=pd.DataFrame({"user_id": ["1"], "brand": ["A"]}))
