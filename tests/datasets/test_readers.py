"""Readers of public formats: checked on the real shared files against plain pandas.

Tests that need ``../shared/data`` (or ``$M360_SHARED_DATA``) skip when it is
absent; the format tests write their own small files in ``tmp_path``.
"""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketing360.datasets import readers as R
from marketing360.datasets.shared import SharedDataMissing, shared_data_dir
from marketing360.testing import skip_or_fail
from marketing360.errors import ParameterError, SchemaError

pytestmark = pytest.mark.shared_data


@pytest.fixture
def shared() -> Path:
    """The shared data folder; skips the test when it is not on this machine."""
    root = shared_data_dir()
    if not root.is_dir():
        skip_or_fail(f"shared public data folder {root} is absent (set M360_SHARED_DATA)",
                     required_by="M360_REQUIRE_SHARED_DATA")
    return root


def _need(root: Path, *parts: str) -> Path:
    path = root.joinpath(*parts)
    if not path.exists():
        skip_or_fail(f"shared data file {path} is absent", required_by="M360_REQUIRE_SHARED_DATA")
    return path


def _schema_error(exc: pytest.ExceptionInfo, column: str) -> None:
    assert exc.value.column == column, (exc.value.column, str(exc.value))
    assert column in str(exc.value)


# ------------------------------------------------------------------ Tianchi


def test_tianchi_real(shared: Path) -> None:
    f = _need(shared, "tianchi_mobile_tiny", "sample_user_behavior.csv")
    raw = pd.read_csv(f)
    ev = R.read_tianchi()
    assert len(ev) == len(raw) == 1999
    assert ev["user_id"].nunique() == raw["user_id"].nunique() == 34
    codes = {1: "browse", 2: "follow", 3: "cart", 4: "purchase"}
    assert ev["event_type"].value_counts().to_dict() == {
        codes[k]: v for k, v in raw["behavior_type"].value_counts().items()}
    assert (ev["brand"] == raw["item_category"].astype(str)).all()
    assert (ev["item_id"] == raw["item_id"]).all()
    assert ev["user_geohash"].isna().sum() == raw["user_geohash"].isna().sum()
    assert ev.loc[0, "ts"] == pd.Timestamp("2014-12-06 02:00")
    assert ev.loc[0, "user_id"] == 98047837
    assert ev["ts"].min() == pd.Timestamp("2014-11-18 10:00")
    assert ev["ts"].max() == pd.Timestamp("2014-12-18 23:00")
    assert ev["value"].isna().all() and ev["channel"].isna().all()
    assert str(ev["ts"].dtype) == "datetime64[us]"


def test_tianchi_items(shared: Path) -> None:
    items_f = _need(shared, "tianchi_mobile_tiny", "sample_item_info.csv")
    raw = pd.read_csv(shared / "tianchi_mobile_tiny" / "sample_user_behavior.csv")
    items = pd.read_csv(items_f)
    ev = R.read_tianchi(items_path=items_f)
    assert ev["in_item_subset"].dtype == bool
    assert ev["in_item_subset"].sum() == raw["item_id"].isin(items["item_id"]).sum()


def _tianchi_file(tmp_path: Path, rows: list[str],
                  header: str = "user_id,item_id,behavior_type,user_geohash,item_category,time"
                  ) -> Path:
    f = tmp_path / "tianchi.csv"
    f.write_text("\n".join([header, *rows]) + "\n")
    return f


def test_tianchi_small_file(tmp_path: Path) -> None:
    f = _tianchi_file(tmp_path, ["1,10,1,abc,7,2014-12-01 00", "1,10,4,,7,2014-12-01 23",
                                 "2,11,2,,8,2014-12-02 05", "2,12,3,,9,2014-12-02 05"])
    ev = R.read_tianchi(f)
    assert ev["event_type"].tolist() == ["browse", "purchase", "follow", "cart"]
    assert ev["brand"].tolist() == ["7", "7", "8", "9"]
    assert ev["ts"].tolist() == [pd.Timestamp("2014-12-01 00:00"), pd.Timestamp("2014-12-01 23:00"),
                                 pd.Timestamp("2014-12-02 05:00"), pd.Timestamp("2014-12-02 05:00")]
    assert ev["user_geohash"].tolist() == ["abc", None, None, None]


def test_tianchi_missing_behavior_type(tmp_path: Path) -> None:
    f = _tianchi_file(tmp_path, ["1,10,,7,2014-12-01 00"],
                      header="user_id,item_id,user_geohash,item_category,time")
    with pytest.raises(SchemaError) as exc:
        R.read_tianchi(f)
    _schema_error(exc, "behavior_type")


def test_tianchi_unknown_code(tmp_path: Path) -> None:
    f = _tianchi_file(tmp_path, ["1,10,1,,7,2014-12-01 00", "1,10,5,,7,2014-12-01 01"])
    with pytest.raises(SchemaError) as exc:
        R.read_tianchi(f)
    _schema_error(exc, "behavior_type")
    assert "5" in str(exc.value)


def test_tianchi_bad_time(tmp_path: Path) -> None:
    f = _tianchi_file(tmp_path, ["1,10,1,,7,2014-12-01 00", "1,10,1,,7,yesterday"])
    with pytest.raises(SchemaError) as exc:
        R.read_tianchi(f)
    _schema_error(exc, "time")


def test_userbehavior_layout(tmp_path: Path) -> None:
    f = tmp_path / "UserBehavior.csv"
    f.write_text("1,2268318,2520377,pv,1511544070\n"
                 "1,2333346,2520771,pv,1511561733\n"
                 "1,2576651,149192,fav,1511572885\n"
                 "100,3830808,4181361,cart,1511593493\n"
                 "100,4365585,2520377,buy,1511596146\n")
    ev = R.read_tianchi(f, layout="userbehavior")
    assert len(ev) == 5
    assert ev["event_type"].tolist() == ["browse", "browse", "follow", "cart", "purchase"]
    assert ev["brand"].tolist() == ["2520377", "2520771", "149192", "4181361", "2520377"]
    assert ev["ts"].iloc[0] == pd.Timestamp(1511544070, unit="s")
    assert ev["item_id"].tolist() == [2268318, 2333346, 2576651, 3830808, 4365585]
    assert ev["user_id"].tolist() == [1, 1, 1, 100, 100]
    # with a header line, and gzipped
    g = tmp_path / "ub.csv.gz"
    with gzip.open(g, "wt") as fh:
        fh.write("user_id,item_id,category_id,behavior_type,timestamp\n" + f.read_text())
    pd.testing.assert_frame_equal(R.read_tianchi(g, layout="userbehavior"), ev)
    # nrows
    assert len(R.read_tianchi(f, layout="userbehavior", nrows=2)) == 2


def test_userbehavior_errors(tmp_path: Path) -> None:
    f = tmp_path / "ub.csv"
    f.write_text("1,2,3,pv,1511544070\n1,2,3,like,1511544071\n")
    with pytest.raises(SchemaError) as exc:
        R.read_tianchi(f, layout="userbehavior")
    _schema_error(exc, "behavior_type")
    with pytest.raises(ParameterError):
        R.read_tianchi(layout="userbehavior")
    with pytest.raises(ParameterError):
        R.read_tianchi(f, layout="taobao")  # type: ignore[arg-type]


# ------------------------------------------------------------------ ChannelAttribution


def test_channelattribution_real(shared: Path) -> None:
    f = _need(shared, "channelattribution_paths", "Data.csv")
    raw = pd.read_csv(f, sep=";")
    assert len(raw) == 10_000
    paths = R.read_channelattribution_paths()
    # the file repeats paths: the reader sums them, totals unchanged
    assert len(paths) == raw["path"].nunique() == 5408
    assert paths["path"].is_unique
    assert paths["conversions"].sum() == raw["total_conversions"].sum() == 19_785
    assert paths["value"].sum() == pytest.approx(74_802.97, abs=0.01)
    assert paths["value"].sum() == pytest.approx(raw["total_conversion_value"].sum())
    assert paths["nulls"].sum() == raw["total_null"].sum() == 68_602
    channels = set(" > ".join(paths["path"]).split(" > "))
    assert len(channels) == 12
    assert channels == {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
                        "iota", "kappa", "lambda", "mi"}
    by_path = raw.groupby("path").sum()
    row = paths.set_index("path").loc["iota > iota > iota > iota"]
    assert row["conversions"] == by_path.loc["iota > iota > iota > iota", "total_conversions"]
    assert row["nulls"] == by_path.loc["iota > iota > iota > iota", "total_null"]
    assert paths["path"].iloc[0] == raw["path"].iloc[0] == "eta > iota > alpha > eta"
    assert R.read_channelattribution_paths(f, sep=";").equals(paths)


def test_channelattribution_round_trip(tmp_path: Path, shared: Path) -> None:
    _need(shared, "channelattribution_paths", "Data.csv")
    paths = R.read_channelattribution_paths()
    out = R.write_channelattribution_paths(paths, tmp_path / "paths.csv")
    assert out.read_text().splitlines()[0] == \
        "path;total_conversions;total_conversion_value;total_null"
    back = R.read_channelattribution_paths(out)
    pd.testing.assert_frame_equal(back, paths)


def test_channelattribution_normalise_and_sniff(tmp_path: Path) -> None:
    f = tmp_path / "paths.csv"
    f.write_text("path,total_conversions,total_conversion_value,total_null\n"
                 "a>b,1,2.5,3\n"
                 " a  ->  b ,2,1.5,0\n"
                 "c > a > b,0,0,4\n"
                 "c,1,1,\n")
    paths = R.read_channelattribution_paths(f)
    assert paths["path"].tolist() == ["a > b", "c > a > b", "c"]
    assert paths["conversions"].tolist() == [3.0, 0.0, 1.0]
    assert paths["value"].tolist() == [4.0, 0.0, 1.0]
    assert paths["nulls"].tolist()[:2] == [3.0, 4.0] and np.isnan(paths["nulls"].iloc[2])
    t = tmp_path / "paths.tsv"
    t.write_text(f.read_text().replace(",", "\t"))
    pd.testing.assert_frame_equal(R.read_channelattribution_paths(t), paths)
    # written and read back, the missing null stays missing
    back = R.read_channelattribution_paths(R.write_channelattribution_paths(paths,
                                                                            tmp_path / "w.csv"))
    pd.testing.assert_frame_equal(back, paths)


def test_channelattribution_bad(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("path;total_conversions;total_conversion_value;total_null\na > b;-1;2;3\n")
    with pytest.raises(SchemaError) as exc:
        R.read_channelattribution_paths(f)
    _schema_error(exc, "total_conversions")
    f.write_text("journey;total_conversions\na > b;1\n")
    with pytest.raises(SchemaError) as exc:
        R.read_channelattribution_paths(f)
    _schema_error(exc, "path")
    f.write_text("path;total_conversions\na > > b;1\n")
    with pytest.raises(SchemaError) as exc:
        R.read_channelattribution_paths(f)
    _schema_error(exc, "path")


# ------------------------------------------------------------------ touch journeys


def test_touch_journeys_real(shared: Path) -> None:
    f = _need(shared, "attribution_data_kaggle_subset", "attribution_data.csv")
    raw = pd.read_csv(f)
    ev = R.read_touch_journeys()
    conv = raw[raw["conversion"] == 1]
    # conversions are rows of their own: one event per row
    assert (conv["interaction"] == "conversion").all()
    assert len(ev) == len(raw) == 62_483
    assert (ev["event_type"] == "purchase").sum() == len(conv) == 1838
    assert (ev["event_type"] == "impression").sum() == (raw["interaction"] == "impression").sum()
    assert ev["user_id"].nunique() == raw["customer_id"].nunique() == 7896
    assert ev.loc[ev["event_type"] == "purchase", "value"].sum() == pytest.approx(
        conv["conversion_value"].sum())
    assert ev.loc[ev["event_type"] == "impression", "value"].isna().all()
    assert (ev["channel"].to_numpy() == raw["channel"].to_numpy()).all()
    assert ev.loc[0, "ts"] == pd.Timestamp("2018-07-22 20:40:41")
    assert ev.loc[0, "user_id"] == "A000100"
    first_conv = conv.index[0]
    assert ev.loc[first_conv, "event_type"] == "purchase"
    assert ev.loc[first_conv, "value"] == raw.loc[first_conv, "conversion_value"]


def test_touch_journeys_flag_on_impression(tmp_path: Path) -> None:
    f = tmp_path / "touch.csv"
    f.write_text("customer_id,time,interaction,conversion,conversion_value,channel\n"
                 "u1,2018-07-01T10:00:00Z,impression,0,0,Facebook\n"
                 "u1,2018-07-02T10:00:00Z,impression,1,5.5,Paid Search\n"
                 "u2,2018-07-03T10:00:00Z,conversion,1,4,Instagram\n")
    ev = R.read_touch_journeys(f)
    assert ev["event_type"].tolist() == ["impression", "impression", "purchase", "purchase"]
    assert ev["ts"].iloc[1] == ev["ts"].iloc[2] == pd.Timestamp("2018-07-02 10:00")
    assert ev["value"].iloc[2:].tolist() == [5.5, 4.0]
    f.write_text("customer_id,time,interaction,conversion,conversion_value,channel\n"
                 "u1,2018-07-01T10:00:00Z,visit,0,0,Facebook\n")
    with pytest.raises(SchemaError) as exc:
        R.read_touch_journeys(f)
    _schema_error(exc, "interaction")


# ------------------------------------------------------------------ Hillstrom


def test_hillstrom_real(shared: Path) -> None:
    f = _need(shared, "hillstrom", "hillstrom.csv")
    raw = pd.read_csv(f)
    users = R.read_hillstrom()
    assert len(users) == len(raw) == 64_000
    assert users["user_id"].tolist() == list(range(64_000))
    counts = raw["segment"].value_counts()
    assert users["arm"].value_counts().to_dict() == {
        "mens": counts["Mens E-Mail"], "womens": counts["Womens E-Mail"],
        "control": counts["No E-Mail"]}
    assert (users["arm"].value_counts(normalize=True) - 1 / 3).abs().max() < 0.01
    assert users["treated"].dtype == bool
    assert users["treated"].sum() == (raw["segment"] != "No E-Mail").sum()
    assert users["visit"].dtype == np.int64 and users["conversion"].dtype == np.int64
    assert users["spend"].dtype == np.float64
    assert users["visit"].sum() == raw["visit"].sum()
    assert users["conversion"].sum() == raw["conversion"].sum()
    assert users["spend"].sum() == pytest.approx(raw["spend"].sum())
    for c in ["recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie",
              "channel"]:
        assert (users[c].to_numpy() == raw[c].to_numpy()).all(), c
    assert users.loc[0, "arm"] == "womens" and users.loc[1, "arm"] == "control"


def test_hillstrom_bad_segment(tmp_path: Path) -> None:
    f = tmp_path / "h.csv"
    f.write_text("recency,segment,visit,conversion,spend\n1,Mens E-Mail,0,0,0\n2,SMS,1,0,0\n")
    with pytest.raises(SchemaError) as exc:
        R.read_hillstrom(f)
    _schema_error(exc, "segment")


# ------------------------------------------------------------------ GeoLift


def test_geolift_real(shared: Path) -> None:
    f = _need(shared, "geolift", "GeoLift_Test.csv")
    raw = pd.read_csv(f)
    out = R.read_geolift()
    assert len(out) == len(raw) == 4200
    assert out["geo"].nunique() == raw["location"].nunique() == 40
    assert out["conversions"].sum() == raw["Y"].sum()
    assert out["revenue"].isna().all()
    assert out.loc[0, "date"] == pd.Timestamp("2021-01-01")
    assert out.loc[0, "geo"] == "new york" and out.loc[0, "conversions"] == 3300
    assert out["date"].max() == pd.Timestamp("2021-04-15")
    pre = R.read_geolift(_need(shared, "geolift", "GeoLift_PreTest.csv"))
    assert len(pre) == 3600


def test_geolift_bad(tmp_path: Path) -> None:
    f = tmp_path / "g.csv"
    f.write_text("location,conversions,date\nx,1,2021-01-01\n")
    with pytest.raises(SchemaError) as exc:
        R.read_geolift(f)
    _schema_error(exc, "Y")


# ------------------------------------------------------------------ MMM


def test_robyn_real(shared: Path) -> None:
    f = _need(shared, "robyn", "dt_simulated_weekly.csv")
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


def test_pymc_mmm_real(shared: Path) -> None:
    f = _need(shared, "pymc_marketing_mmm", "mmm_example.csv")
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


def test_meridian_geo_real(shared: Path) -> None:
    f = _need(shared, "meridian", "geo_media.csv")
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


def test_meridian_national_real(shared: Path) -> None:
    f = _need(shared, "meridian", "national_media.csv")
    raw = pd.read_csv(f)
    mmm = R.read_meridian(level="national")
    assert (mmm.outcomes["geo"] == "national").all() and len(mmm.outcomes) == 156
    assert mmm.outcomes["conversions"].sum() == raw["conversions"].sum()
    assert mmm.spend["spend"].sum() == pytest.approx(
        raw[[f"Channel{i}_spend" for i in range(4)]].to_numpy().sum())
    assert set(mmm.controls["name"]) == {"competitor_activity_score_control",
                                         "sentiment_score_control"}
    with pytest.raises(SchemaError) as exc:
        R.read_meridian(shared / "meridian" / "geo_media.csv", level="national")
    _schema_error(exc, "geo")


def test_mmm_negative_spend(tmp_path: Path) -> None:
    f = tmp_path / "m.csv"
    f.write_text("date_week,y,x1,x2\n2020-01-06,1,0.5,0.1\n2020-01-13,2,-0.5,0.1\n")
    with pytest.raises(SchemaError) as exc:
        R.read_pymc_mmm(f)
    assert exc.value.column == "spend" and "x1" in str(exc.value)


# ------------------------------------------------------------------ CDNOW


def test_cdnow_real(shared: Path) -> None:
    f = _need(shared, "cdnow", "CDNOW_master.txt")
    raw = pd.read_csv(f, sep=r"\s+")
    ev = R.read_cdnow()
    assert len(ev) == len(raw) == 69_659
    assert ev["user_id"].nunique() == raw["customer_id"].nunique() == 23_570
    assert ev["value"].sum() == pytest.approx(raw["dollar_value"].sum())
    assert ev["quantity"].sum() == raw["number_of_cds"].sum()
    assert (ev["event_type"] == "purchase").all()
    assert ev.loc[0, ["user_id", "ts", "value", "quantity"]].tolist() == [
        1, pd.Timestamp("1997-01-01"), 11.77, 1]
    assert ev["ts"].min() == pd.Timestamp("1997-01-01")
    assert ev["ts"].max() == pd.Timestamp("1998-06-30")
    assert ev["user_id"].dtype == np.int64


def test_cdnow_headerless_and_bad(tmp_path: Path) -> None:
    f = tmp_path / "cd.txt"
    f.write_text(" 00001 19970101  1   11.77\n 00002 19970112  5   77.00\n")
    ev = R.read_cdnow(f)
    assert ev["user_id"].tolist() == [1, 2]
    assert ev["value"].tolist() == [11.77, 77.0]
    assert ev["quantity"].tolist() == [1, 5]
    f.write_text(" 00001 19971301  1   11.77\n")
    with pytest.raises(SchemaError) as exc:
        R.read_cdnow(f)
    _schema_error(exc, "date")


# ------------------------------------------------------------------ Criteo


CRITEO_HEADER = "\t".join(R.CRITEO_COLUMNS)


def _criteo_rows() -> list[list[object]]:
    cats = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    # timestamp uid campaign conversion conv_ts conv_id attribution click click_pos
    # click_nb cost cpo time_since_last_click cat1..cat9
    return [
        [0, 10, 500, 1, 100, 7001, 1, 1, 0, 2, 0.001, 0.2, -1, *cats],
        [30, 11, 501, 0, -1, -1, 0, 0, -1, -1, 0.002, 0.0, -1, *cats],
        [60, 10, 500, 1, 100, 7001, 1, 1, 1, 2, 0.003, 0.2, 60, *cats],
        [90, 12, 502, 1, 400, 7002, 0, 0, -1, -1, 0.004, 0.1, -1, *cats],
        [120, 13, 503, 0, -1, -1, 0, 0, -1, -1, 0.005, 0.0, -1, *cats],
        [150, 10, 500, 0, -1, -1, 0, 1, -1, -1, 0.006, 0.0, 90, *cats],
    ]


def _write_criteo(path: Path, rows: list[list[object]], gz: bool = False) -> Path:
    text = "\n".join([CRITEO_HEADER, *("\t".join(map(str, r)) for r in rows)]) + "\n"
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def test_criteo_small(tmp_path: Path) -> None:
    f = _write_criteo(tmp_path / "criteo.tsv", _criteo_rows())
    ev = R.read_criteo_attribution(f)
    # 6 impressions, 3 clicks (rows 0, 2, 5), 2 distinct conversions (7001 twice, 7002)
    assert ev["event_type"].value_counts().to_dict() == {"impression": 6, "click": 3,
                                                         "purchase": 2}
    assert len(ev) == 11
    start = pd.Timestamp("2017-01-01")
    imp = ev[ev["event_type"] == "impression"]
    assert imp["cost"].sum() == pytest.approx(0.021)
    assert imp["ts"].tolist() == [start + pd.Timedelta(seconds=s)
                                  for s in (0, 30, 60, 90, 120, 150)]
    assert imp["campaign"].tolist() == ["500", "501", "500", "502", "503", "500"]
    assert (ev["channel"] == "criteo").all()
    clicks = ev[ev["event_type"] == "click"]
    assert clicks["ts"].tolist() == [start, start + pd.Timedelta(seconds=60),
                                     start + pd.Timedelta(seconds=150)]
    assert clicks["cost"].isna().all()
    buys = ev[ev["event_type"] == "purchase"].set_index("conversion_id")
    assert sorted(buys.index.tolist()) == [7001, 7002]
    assert buys.loc[7001, "ts"] == start + pd.Timedelta(seconds=100)
    assert buys.loc[7002, "ts"] == start + pd.Timedelta(seconds=400)
    assert buys.loc[7001, "user_id"] == 10 and buys.loc[7002, "campaign"] == "502"
    assert buys["value"].isna().all()
    assert ev["ts"].is_monotonic_increasing
    # extras on impression rows only
    assert imp["cat1"].tolist() == [1] * 6
    assert imp["attribution"].tolist() == [1, 0, 1, 0, 0, 0]
    assert ev.loc[ev["event_type"] != "impression", "cat1"].isna().all()
    assert imp["conversion_id"].isna().sum() == 3
    assert str(ev["cat1"].dtype) == "Int64" and str(ev["conversion_id"].dtype) == "Int64"
    # gzipped, with another start
    g = _write_criteo(tmp_path / "criteo.tsv.gz", _criteo_rows(), gz=True)
    ev2 = R.read_criteo_attribution(g, start="2020-06-01")
    assert len(ev2) == 11
    assert ev2["ts"].min() == pd.Timestamp("2020-06-01")
    pd.testing.assert_frame_equal(ev2.drop(columns="ts"), ev.drop(columns="ts"))
    assert len(R.read_criteo_attribution(g, nrows=2)) == 2 + 1 + 1  # 2 imps, 1 click, 1 buy


def test_criteo_negative_cost(tmp_path: Path) -> None:
    rows = _criteo_rows()
    rows[1][10] = -0.5
    f = _write_criteo(tmp_path / "criteo.tsv", rows)
    with pytest.raises(SchemaError) as exc:
        R.read_criteo_attribution(f)
    _schema_error(exc, "cost")


def test_criteo_bad_conversion(tmp_path: Path) -> None:
    rows = _criteo_rows()
    rows[3][5] = -1  # converted, no conversion_id
    f = _write_criteo(tmp_path / "criteo.tsv", rows)
    with pytest.raises(SchemaError) as exc:
        R.read_criteo_attribution(f)
    _schema_error(exc, "conversion_id")
    f.write_text("timestamp\tuid\tcampaign\n0\t1\t2\n")
    with pytest.raises(SchemaError) as exc:
        R.read_criteo_attribution(f)
    _schema_error(exc, "conversion")


def test_criteo_default_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("M360_SHARED_DATA", str(tmp_path))
    with pytest.raises(SharedDataMissing):
        R.read_criteo_attribution()
    with pytest.raises(SharedDataMissing):
        R.read_cdnow()


# ------------------------------------------------------------------ REES46


def test_rees46_real(shared: Path) -> None:
    f = _need(shared, "rees46_tiny", "2019-Oct-sample.csv")
    raw = pd.read_csv(f)
    ev = R.read_rees46()
    assert len(ev) == len(raw) == 1000
    assert ev["user_id"].nunique() == raw["user_id"].nunique() == 330
    assert ev["event_type"].value_counts().to_dict() == {
        {"view": "browse"}.get(k, k): v for k, v in raw["event_type"].value_counts().items()}
    buys = raw[raw["event_type"] == "purchase"]
    assert ev["value"].sum() == pytest.approx(buys["price"].sum())
    assert ev["value"].notna().sum() == len(buys) == 10
    assert ev["price"].sum() == pytest.approx(raw["price"].sum())
    assert ev["brand"].isna().sum() == raw["brand"].isna().sum() == 143
    assert ev.loc[0, ["user_id", "ts", "brand", "event_type", "price"]].tolist() == [
        541312140, pd.Timestamp("2019-10-01 00:00:00"), "shiseido", "browse", 35.79]
    assert (ev["user_session"] == raw["user_session"]).all()
    assert ev["category_id"].tolist() == raw["category_id"].tolist()


def test_rees46_remove_from_cart_and_unknown(tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    head = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id," \
           "user_session\n"
    f.write_text(head + "2019-12-01 00:00:00 UTC,remove_from_cart,1,2,,b,3.5,7,s\n"
                        "2019-12-01 00:00:01 UTC,cart,1,2,,b,3.5,7,s\n"
                        "2019-12-01 00:00:02 UTC,purchase,1,2,,,3.5,7,s\n")
    ev = R.read_rees46(f)
    assert ev["event_type"].tolist() == ["cart", "purchase"]
    assert ev["value"].isna().tolist() == [True, False]
    assert ev["brand"].tolist() == ["b", None]
    f.write_text(head + "2019-12-01 00:00:00 UTC,wish,1,2,,b,3.5,7,s\n")
    with pytest.raises(SchemaError) as exc:
        R.read_rees46(f)
    _schema_error(exc, "event_type")
    f.write_text(head + "2019-12-01 00:00:00 UTC,view,1,2,,b,-3.5,7,s\n")
    with pytest.raises(SchemaError) as exc:
        R.read_rees46(f)
    _schema_error(exc, "price")
