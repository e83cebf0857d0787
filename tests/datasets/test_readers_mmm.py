"""Readers of marketing-mix data (Robyn, PyMC-Marketing, Meridian).

The shared files are checked against plain pandas (``shared_data``); small files check the errors.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from reader_checks import assert_schema_error

from marketing360.datasets import readers as R
from marketing360.errors import SchemaError


@pytest.mark.shared_data
def test_robyn_spend_exposures_revenue_and_one_hot_events(need) -> None:
    f = need("robyn", "dt_simulated_weekly.csv")
    raw = pd.read_csv(f)
    mmm = R.read_robyn()
    assert isinstance(mmm, R.MMMData)
    chans = ["tv", "ooh", "print", "search", "facebook"]
    assert mmm.channels == chans
    assert len(mmm.spend) == 208 * 5 and len(mmm.outcomes) == 208
    assert (mmm.spend["geo"] == "national").all()
    by = mmm.spend.groupby("channel")
    for ch in chans:
        assert by["spend"].sum()[ch] == pytest.approx(raw[f"{ch}_S"].sum())
    assert by["impressions"].sum()["facebook"] == pytest.approx(raw["facebook_I"].sum())
    assert by["impressions"].sum()["search"] == pytest.approx(raw["search_clicks_P"].sum())
    assert mmm.spend.loc[mmm.spend["channel"] == "tv", "impressions"].isna().all()
    assert mmm.outcomes["revenue"].sum() == pytest.approx(raw["revenue"].sum())
    assert mmm.outcomes["conversions"].isna().all()
    assert mmm.outcomes["date"].iloc[0] == pd.Timestamp("2015-11-23")
    ctrl = mmm.controls.pivot(index="date", columns="name", values="value")
    assert set(ctrl.columns) == {"competitor_sales_B", "newsletter", "events_event1",
                                 "events_event2"}
    assert len(ctrl) == 208
    assert ctrl["events_event1"].sum() == (raw["events"] == "event1").sum() == 1
    assert ctrl["events_event2"].sum() == (raw["events"] == "event2").sum() == 1
    assert ctrl["competitor_sales_B"].to_numpy() == pytest.approx(
        raw["competitor_sales_B"].to_numpy())
    assert mmm.spend_wide()["tv"].to_numpy() == pytest.approx(raw["tv_S"].to_numpy())
    with pytest.raises(dataclasses.FrozenInstanceError):
        mmm.spend = mmm.spend  # type: ignore[misc]  # frozen


@pytest.mark.shared_data
def test_pymc_mmm_media_outcome_and_controls(need) -> None:
    f = need("pymc_marketing_mmm", "mmm_example.csv")
    raw = pd.read_csv(f)
    mmm = R.read_pymc_mmm()
    assert mmm.channels == ["x1", "x2"]
    assert len(mmm.outcomes) == len(raw) == 179
    assert mmm.outcomes["revenue"].to_numpy() == pytest.approx(raw["y"].to_numpy())
    assert mmm.spend["impressions"].isna().all()
    wide = mmm.spend_wide()
    assert wide["x1"].to_numpy() == pytest.approx(raw["x1"].to_numpy())
    assert wide["x2"].sum() == pytest.approx(raw["x2"].sum())
    assert list(pd.unique(mmm.controls["name"])) == ["event_1", "event_2", "dayofyear", "t"]
    assert len(mmm.controls) == 4 * 179
    assert mmm.controls.loc[mmm.controls["name"] == "t", "value"].tolist() == raw["t"].tolist()
    assert mmm.outcomes["date"].min() == pd.Timestamp("2018-04-02")


@pytest.mark.shared_data
def test_meridian_geo_level_revenue_is_conversions_times_price(need) -> None:
    f = need("meridian", "geo_media.csv")
    raw = pd.read_csv(f)
    mmm = R.read_meridian()
    assert mmm.meta["level"] == "geo"
    assert mmm.channels == ["Channel0", "Channel1", "Channel2", "Channel3"]
    assert len(mmm.outcomes) == len(raw) == 3120
    assert mmm.outcomes["geo"].nunique() == 20
    assert list(pd.unique(mmm.outcomes["geo"])) == list(pd.unique(raw["geo"]))
    assert mmm.outcomes["conversions"].sum() == pytest.approx(raw["conversions"].sum())
    assert mmm.outcomes["revenue"].sum() == pytest.approx(
        (raw["conversions"] * raw["revenue_per_conversion"]).sum())
    by = mmm.spend.groupby("channel")
    for ch in mmm.channels:
        assert by["spend"].sum()[ch] == pytest.approx(raw[f"{ch}_spend"].sum())
        assert by["impressions"].sum()[ch] == pytest.approx(raw[f"{ch}_impression"].sum())
    assert set(mmm.controls["name"]) == {"competitor_activity_score_control",
                                         "sentiment_score_control", "population"}
    pop = mmm.controls[mmm.controls["name"] == "population"]
    assert pop.groupby("geo")["value"].first()["Geo0"] == raw.loc[raw["geo"] == "Geo0",
                                                                  "population"].iloc[0]
    first = mmm.spend.iloc[0]
    assert (first["geo"], first["channel"], first["spend"]) == ("Geo0", "Channel0",
                                                                raw.loc[0, "Channel0_spend"])


@pytest.mark.shared_data
def test_meridian_national_level_refuses_a_geo_file(need) -> None:
    f = need("meridian", "national_media.csv")
    raw = pd.read_csv(f)
    mmm = R.read_meridian(level="national")
    assert (mmm.outcomes["geo"] == "national").all() and len(mmm.outcomes) == 156
    assert mmm.outcomes["conversions"].sum() == raw["conversions"].sum()
    assert mmm.spend["spend"].sum() == pytest.approx(
        raw[[f"Channel{i}_spend" for i in range(4)]].to_numpy().sum())
    assert set(mmm.controls["name"]) == {"competitor_activity_score_control",
                                         "sentiment_score_control"}
    with pytest.raises(SchemaError) as exc:
        R.read_meridian(need("meridian", "geo_media.csv"), level="national")
    assert_schema_error(exc, "geo")


def test_mmm_negative_spend_names_the_file_column(tmp_path: Path) -> None:
    f = tmp_path / "m.csv"
    f.write_text("date_week,y,x1,x2\n2020-01-06,1,0.5,0.1\n2020-01-13,2,-0.5,0.1\n")
    with pytest.raises(SchemaError) as exc:
        R.read_pymc_mmm(f)
    assert exc.value.column == "spend" and "x1" in str(exc.value)


def test_mmm_dates_that_read_two_ways_are_refused_naming_the_column(tmp_path: Path) -> None:
    f = tmp_path / "m.csv"
    f.write_text("date_week,y,x1,x2\n01/06/2020,1,0.5,0.1\n13/06/2020,2,0.5,0.1\n")
    with pytest.raises(SchemaError) as exc:
        R.read_pymc_mmm(f)
    assert exc.value.column == "date_week" and "01/06/2020" in str(exc.value)
