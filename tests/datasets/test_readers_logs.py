"""Readers of behaviour logs (Tianchi / Taobao, REES46, CDNOW, Criteo, touch journeys).

The real shared files are checked against plain pandas readings of the same
file (marked ``shared_data``: they skip where ``../shared/data`` is absent);
the format and error tests write their own small files. Times are checked
against values computed by hand: every reader returns true UTC.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from reader_checks import assert_schema_error

from marketing360.assets import snapshot
from marketing360.datasets import readers as R
from marketing360.datasets.shared import SharedDataMissing
from marketing360.errors import ParameterError, SchemaError

# ------------------------------------------------------------------ Tianchi


@pytest.mark.shared_data
def test_tianchi_shared_sample_matches_the_raw_file_in_utc(need) -> None:
    f = need("tianchi_mobile_tiny", "sample_user_behavior.csv")
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
    # the file's first row says "2014-12-06 02": 02:00 in China is 18:00 UTC the day before
    assert raw.loc[0, "time"] == "2014-12-06 02"
    assert ev.loc[0, "ts"] == pd.Timestamp("2014-12-05 18:00")
    assert ev.loc[0, "user_id"] == 98047837
    # every row is the file's local hour minus 8 hours
    local = pd.to_datetime(raw["time"], format="%Y-%m-%d %H")
    assert (ev["ts"] == local - pd.Timedelta(hours=8)).all()
    assert ev["ts"].min() == pd.Timestamp("2014-11-18 02:00")  # 10:00 in China
    assert ev["ts"].max() == pd.Timestamp("2014-12-18 15:00")  # 23:00 in China
    assert ev["value"].isna().all() and ev["channel"].isna().all()
    assert str(ev["ts"].dtype) == "datetime64[us]"
    assert ev.attrs["tz"] == R.TIANCHI_TZ == "Asia/Shanghai"


@pytest.mark.shared_data
def test_tianchi_item_file_marks_the_scored_items(need) -> None:
    items_f = need("tianchi_mobile_tiny", "sample_item_info.csv")
    raw = pd.read_csv(need("tianchi_mobile_tiny", "sample_user_behavior.csv"))
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


def test_tianchi_codes_brands_and_china_time_to_utc(tmp_path: Path) -> None:
    f = _tianchi_file(tmp_path, ["1,10,1,abc,7,2014-12-01 00", "1,10,4,,7,2014-12-01 23",
                                 "2,11,2,,8,2014-12-02 05", "2,12,3,,9,2014-12-02 08"])
    ev = R.read_tianchi(f)
    assert ev["event_type"].tolist() == ["browse", "purchase", "follow", "cart"]
    assert ev["brand"].tolist() == ["7", "7", "8", "9"]
    # by hand: China is UTC+8, so 00:00 on 1 Dec is 16:00 UTC on 30 Nov, 08:00 is 00:00 UTC
    assert ev["ts"].tolist() == [pd.Timestamp("2014-11-30 16:00"), pd.Timestamp("2014-12-01 15:00"),
                                 pd.Timestamp("2014-12-01 21:00"), pd.Timestamp("2014-12-02 00:00")]
    assert ev["user_geohash"].tolist() == ["abc", None, None, None]
    assert ev.attrs["tz"] == "Asia/Shanghai"
    # another zone for a log kept elsewhere: read in UTC, the times stay as written
    utc = R.read_tianchi(f, tz="UTC")
    assert utc["ts"].iloc[0] == pd.Timestamp("2014-12-01 00:00") and utc.attrs["tz"] == "UTC"
    with pytest.raises(ParameterError, match="tz must be an IANA time-zone name.*'China'"):
        R.read_tianchi(f, tz="China")


def test_tianchi_days_counted_in_china_are_the_files_days(tmp_path: Path) -> None:
    """A purchase at 02:00 in China on 6 Dec is on 6 Dec for 4A in Asia/Shanghai, not 5 Dec."""
    f = _tianchi_file(tmp_path, ["1,10,4,,7,2014-12-06 02"])
    ev = R.read_tianchi(f)
    on_5th = snapshot(ev, "2014-12-05", tz=ev.attrs["tz"]).to_pandas()
    on_6th = snapshot(ev, "2014-12-06", tz=ev.attrs["tz"]).to_pandas()
    assert len(on_5th) == 0
    assert on_6th[["user_id", "brand", "stage"]].values.tolist() == [[1, "7", "act"]]


def test_tianchi_without_behavior_type_names_the_column(tmp_path: Path) -> None:
    f = _tianchi_file(tmp_path, ["1,10,,7,2014-12-01 00"],
                      header="user_id,item_id,user_geohash,item_category,time")
    with pytest.raises(SchemaError) as exc:
        R.read_tianchi(f)
    assert_schema_error(exc, "behavior_type")


def test_tianchi_unknown_code_is_named(tmp_path: Path) -> None:
    f = _tianchi_file(tmp_path, ["1,10,1,,7,2014-12-01 00", "1,10,5,,7,2014-12-01 01"])
    with pytest.raises(SchemaError) as exc:
        R.read_tianchi(f)
    assert_schema_error(exc, "behavior_type")
    assert "5" in str(exc.value)


def test_tianchi_unparseable_time_is_named(tmp_path: Path) -> None:
    f = _tianchi_file(tmp_path, ["1,10,1,,7,2014-12-01 00", "1,10,1,,7,yesterday"])
    with pytest.raises(SchemaError) as exc:
        R.read_tianchi(f)
    assert_schema_error(exc, "time")


def test_tianchi_local_time_skipped_by_daylight_saving_is_named(tmp_path: Path) -> None:
    # 02:00 on 30 March 2014 did not exist in Berlin (clocks went from 02:00 to 03:00)
    f = _tianchi_file(tmp_path, ["1,10,1,,7,2014-03-30 02"])
    with pytest.raises(SchemaError) as exc:
        R.read_tianchi(f, tz="Europe/Berlin")
    assert_schema_error(exc, "time")


def test_userbehavior_layout_unix_seconds_are_utc(tmp_path: Path) -> None:
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
    # 1511544070 s = 17,494 days (2017-11-24) + 62,470 s (17:21:10), in UTC:
    # 1511544070 == 17_494 * 86_400 + 17 * 3600 + 21 * 60 + 10
    assert ev["ts"].iloc[0] == pd.Timestamp("2017-11-24 17:21:10")
    assert ev.attrs["tz"] == "Asia/Shanghai"  # the data's days are China's, the times UTC
    assert ev["item_id"].tolist() == [2268318, 2333346, 2576651, 3830808, 4365585]
    assert ev["user_id"].tolist() == [1, 1, 1, 100, 100]
    # with a header line, and gzipped
    g = tmp_path / "ub.csv.gz"
    with gzip.open(g, "wt") as fh:
        fh.write("user_id,item_id,category_id,behavior_type,timestamp\n" + f.read_text())
    pd.testing.assert_frame_equal(R.read_tianchi(g, layout="userbehavior"), ev)
    # nrows
    assert len(R.read_tianchi(f, layout="userbehavior", nrows=2)) == 2


def test_userbehavior_bad_values_and_options_are_refused(tmp_path: Path) -> None:
    f = tmp_path / "ub.csv"
    f.write_text("1,2,3,pv,1511544070\n1,2,3,like,1511544071\n")
    with pytest.raises(SchemaError) as exc:
        R.read_tianchi(f, layout="userbehavior")
    assert_schema_error(exc, "behavior_type")
    with pytest.raises(ParameterError, match="needs the path of UserBehavior.csv"):
        R.read_tianchi(layout="userbehavior")
    with pytest.raises(ParameterError, match="layout must be 'tianchi' or 'userbehavior'; found 'taobao'"):
        R.read_tianchi(f, layout="taobao")  # type: ignore[arg-type]


# ------------------------------------------------------------------ touch journeys


@pytest.mark.shared_data
def test_touch_journeys_shared_file_one_event_per_row(need) -> None:
    f = need("attribution_data_kaggle_subset", "attribution_data.csv")
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
    assert raw.loc[0, "time"] == "2018-07-22T20:40:41Z"
    assert ev.loc[0, "ts"] == pd.Timestamp("2018-07-22 20:40:41")
    assert ev.loc[0, "user_id"] == "A000100"
    assert ev.attrs["tz"] == "UTC"
    first_conv = conv.index[0]
    assert ev.loc[first_conv, "event_type"] == "purchase"
    assert ev.loc[first_conv, "value"] == raw.loc[first_conv, "conversion_value"]


def test_touch_journeys_conversion_flag_on_an_impression_row(tmp_path: Path) -> None:
    f = tmp_path / "touch.csv"
    f.write_text("customer_id,time,interaction,conversion,conversion_value,channel\n"
                 "u1,2018-07-01T10:00:00Z,impression,0,0,Facebook\n"
                 "u1,2018-07-02T10:00:00+02:00,impression,1,5.5,Paid Search\n"
                 "u2,2018-07-03T10:00:00Z,conversion,1,4,Instagram\n")
    ev = R.read_touch_journeys(f)
    assert ev["event_type"].tolist() == ["impression", "impression", "purchase", "purchase"]
    # 10:00 at UTC+2 is 08:00 UTC
    assert ev["ts"].iloc[1] == ev["ts"].iloc[2] == pd.Timestamp("2018-07-02 08:00")
    assert ev["value"].iloc[2:].tolist() == [5.5, 4.0]
    f.write_text("customer_id,time,interaction,conversion,conversion_value,channel\n"
                 "u1,2018-07-01T10:00:00Z,visit,0,0,Facebook\n")
    with pytest.raises(SchemaError) as exc:
        R.read_touch_journeys(f)
    assert_schema_error(exc, "interaction")


# ------------------------------------------------------------------ CDNOW


@pytest.mark.shared_data
def test_cdnow_shared_file_matches_the_raw_file(need) -> None:
    f = need("cdnow", "CDNOW_master.txt")
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
    assert ev.attrs["tz"] == "UTC"


def test_cdnow_headerless_file_and_bad_date(tmp_path: Path) -> None:
    f = tmp_path / "cd.txt"
    f.write_text(" 00001 19970101  1   11.77\n 00002 19970112  5   77.00\n")
    ev = R.read_cdnow(f)
    assert ev["user_id"].tolist() == [1, 2]
    assert ev["value"].tolist() == [11.77, 77.0]
    assert ev["quantity"].tolist() == [1, 5]
    assert ev["ts"].tolist() == [pd.Timestamp("1997-01-01"), pd.Timestamp("1997-01-12")]
    f.write_text(" 00001 19971301  1   11.77\n")
    with pytest.raises(SchemaError) as exc:
        R.read_cdnow(f)
    assert_schema_error(exc, "date")


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


def test_criteo_impressions_clicks_and_deduplicated_conversions(tmp_path: Path) -> None:
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
    assert ev.attrs["tz"] == "UTC"
    # extras on impression rows only
    assert imp["cat1"].tolist() == [1] * 6
    assert imp["attribution"].tolist() == [1, 0, 1, 0, 0, 0]
    assert ev.loc[ev["event_type"] != "impression", "cat1"].isna().all()
    assert imp["conversion_id"].isna().sum() == 3
    assert str(ev["cat1"].dtype) == "Int64" and str(ev["conversion_id"].dtype) == "Int64"
    # gzipped, with another start; an aware start is converted to UTC
    g = _write_criteo(tmp_path / "criteo.tsv.gz", _criteo_rows(), gz=True)
    ev2 = R.read_criteo_attribution(g, start="2020-06-01")
    assert len(ev2) == 11
    assert ev2["ts"].min() == pd.Timestamp("2020-06-01")
    pd.testing.assert_frame_equal(ev2.drop(columns="ts"), ev.drop(columns="ts"))
    ev3 = R.read_criteo_attribution(g, start=pd.Timestamp("2020-06-01 08:00", tz="Asia/Shanghai"))
    assert ev3["ts"].min() == pd.Timestamp("2020-06-01 00:00")
    assert len(R.read_criteo_attribution(g, nrows=2)) == 2 + 1 + 1  # 2 imps, 1 click, 1 buy


def test_criteo_negative_cost_is_named(tmp_path: Path) -> None:
    rows = _criteo_rows()
    rows[1][10] = -0.5
    f = _write_criteo(tmp_path / "criteo.tsv", rows)
    with pytest.raises(SchemaError) as exc:
        R.read_criteo_attribution(f)
    assert_schema_error(exc, "cost")


def test_criteo_conversion_without_id_and_missing_columns_are_named(tmp_path: Path) -> None:
    rows = _criteo_rows()
    rows[3][5] = -1  # converted, no conversion_id
    f = _write_criteo(tmp_path / "criteo.tsv", rows)
    with pytest.raises(SchemaError) as exc:
        R.read_criteo_attribution(f)
    assert_schema_error(exc, "conversion_id")
    f.write_text("timestamp\tuid\tcampaign\n0\t1\t2\n")
    with pytest.raises(SchemaError) as exc:
        R.read_criteo_attribution(f)
    assert_schema_error(exc, "conversion")


def test_default_files_absent_from_the_shared_folder_raise_shared_data_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("M360_SHARED_DATA", str(tmp_path))
    with pytest.raises(SharedDataMissing, match="criteo_attribution_dataset.tsv.gz.*M360_SHARED_DATA"):
        R.read_criteo_attribution()
    with pytest.raises(SharedDataMissing, match="cdnow/CDNOW_master.txt"):
        R.read_cdnow()


# ------------------------------------------------------------------ REES46


@pytest.mark.shared_data
def test_rees46_shared_sample_matches_the_raw_file(need) -> None:
    f = need("rees46_tiny", "2019-Oct-sample.csv")
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
    assert raw.loc[0, "event_time"] == "2019-10-01 00:00:00 UTC"
    assert ev.loc[0, ["user_id", "ts", "brand", "event_type", "price"]].tolist() == [
        541312140, pd.Timestamp("2019-10-01 00:00:00"), "shiseido", "browse", 35.79]
    assert (ev["user_session"] == raw["user_session"]).all()
    assert ev["category_id"].tolist() == raw["category_id"].tolist()
    assert ev.attrs["tz"] == "UTC"


def test_rees46_drops_cart_removals_and_names_unknown_types(tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    head = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id," \
           "user_session\n"
    f.write_text(head + "2019-12-01 00:00:00 UTC,remove_from_cart,1,2,,b,3.5,7,s\n"
                        "2019-12-01 00:00:01 UTC,cart,1,2,,b,3.5,7,s\n"
                        "2019-12-01 23:30:02 UTC,purchase,1,2,,,3.5,7,s\n")
    ev = R.read_rees46(f)
    assert ev["event_type"].tolist() == ["cart", "purchase"]
    assert ev["ts"].tolist() == [pd.Timestamp("2019-12-01 00:00:01"), pd.Timestamp("2019-12-01 23:30:02")]
    assert ev["value"].isna().tolist() == [True, False]
    assert ev["brand"].tolist() == ["b", None]
    # times with and without " UTC" in one file (concatenated months), both UTC; was: refused
    f.write_text(head + "2019-12-01 00:00:01 UTC,cart,1,2,,b,3.5,7,s\n"
                        "2019-12-01 23:30:02,purchase,1,2,,b,3.5,7,s\n")
    assert R.read_rees46(f)["ts"].tolist() == [pd.Timestamp("2019-12-01 00:00:01"),
                                               pd.Timestamp("2019-12-01 23:30:02")]
    f.write_text(head + "2019-12-01 00:00:00 UTC,wish,1,2,,b,3.5,7,s\n")
    with pytest.raises(SchemaError) as exc:
        R.read_rees46(f)
    assert_schema_error(exc, "event_type")
    f.write_text(head + "2019-12-01 00:00:00 UTC,view,1,2,,b,-3.5,7,s\n")
    with pytest.raises(SchemaError) as exc:
        R.read_rees46(f)
    assert_schema_error(exc, "price")


@pytest.mark.shared_data
def test_olist_funnel_reads_leads_and_deals(need) -> None:
    lp = need("olist_marketing_funnel", "olist_marketing_qualified_leads_dataset.csv")
    dp = need("olist_marketing_funnel", "olist_closed_deals_cleaned.csv")
    leads = pd.read_csv(lp, header=None, names=["mql_id", "first_contact_date", "landing_page_id", "origin"])
    deals = pd.read_csv(dp)
    ev = R.read_olist_funnel()
    assert ev.event_type.value_counts().to_dict() == {"browse": len(leads), "purchase": len(deals)} == {
        "browse": 8000, "purchase": 842}
    assert ev.user_id.nunique() == 8000 and (ev.brand == "olist").all()
    buys = ev[ev.event_type == "purchase"].set_index("user_id")
    assert (buys.channel.fillna("-") == leads.set_index("mql_id").origin.reindex(buys.index).fillna("-")).all()
    assert buys.value.sum() == pytest.approx(deals.declared_monthly_revenue.sum())
    assert ev.attrs["notes"] == ["1 deal(s) won before the lead's first contact"]
    # the lead-to-deal funnel by channel equals a plain count: deals won within 365 days of the first contact
    from marketing360.paths import funnel

    seg = leads.rename(columns={"mql_id": "user_id"})[["user_id", "origin"]].fillna({"origin": "(missing)"})
    f = funnel(ev, ["browse", "purchase"], window="365D", segments=seg, segment="origin").table()
    j = deals.merge(leads, on="mql_id")
    lag = pd.to_datetime(j.won_date) - pd.to_datetime(j.first_contact_date)
    ok = j[(lag >= pd.Timedelta(0)) & (lag <= pd.Timedelta(days=365))].fillna({"origin": "(missing)"})
    got = f[f.step == 2].set_index("segment").consumers
    assert got.to_dict() == ok.origin.value_counts().reindex(got.index, fill_value=0).to_dict()
