"""Readers of experiment data (Hillstrom, GeoLift).

The shared files are checked against plain pandas (``shared_data``); small files check the errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from reader_checks import assert_schema_error

from marketing360.datasets import readers as R
from marketing360.errors import SchemaError


@pytest.mark.shared_data
def test_hillstrom_shared_file_arms_and_outcomes(need) -> None:
    f = need("hillstrom", "hillstrom.csv")
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


def test_hillstrom_unknown_segment_is_named(tmp_path: Path) -> None:
    f = tmp_path / "h.csv"
    f.write_text("recency,segment,visit,conversion,spend\n1,Mens E-Mail,0,0,0\n2,SMS,1,0,0\n")
    with pytest.raises(SchemaError) as exc:
        R.read_hillstrom(f)
    assert_schema_error(exc, "segment")


# ------------------------------------------------------------------ GeoLift


@pytest.mark.shared_data
def test_geolift_shared_panels_match_the_raw_files(need) -> None:
    f = need("geolift", "GeoLift_Test.csv")
    raw = pd.read_csv(f)
    out = R.read_geolift()
    assert len(out) == len(raw) == 4200
    assert out["geo"].nunique() == raw["location"].nunique() == 40
    assert out["conversions"].sum() == raw["Y"].sum()
    assert out["revenue"].isna().all()
    assert out.loc[0, "date"] == pd.Timestamp("2021-01-01")
    assert out.loc[0, "geo"] == "new york" and out.loc[0, "conversions"] == 3300
    assert out["date"].max() == pd.Timestamp("2021-04-15")
    pre = R.read_geolift(need("geolift", "GeoLift_PreTest.csv"))
    assert len(pre) == 3600


def test_geolift_without_y_names_the_column(tmp_path: Path) -> None:
    f = tmp_path / "g.csv"
    f.write_text("location,conversions,date\nx,1,2021-01-01\n")
    with pytest.raises(SchemaError) as exc:
        R.read_geolift(f)
    assert_schema_error(exc, "Y")


def test_geolift_dates_are_iso_or_refused_naming_the_column(tmp_path: Path) -> None:
    # was: read one cell at a time: 01/02/2021 as 2 January, and 13/02/2021 next to it as 13 February
    f = tmp_path / "g.csv"
    f.write_text("location,Y,date\nx,1,01/02/2021\nx,2,13/02/2021\n")
    with pytest.raises(SchemaError, match="not ISO dates") as exc:
        R.read_geolift(f)
    assert_schema_error(exc, "date")
    f.write_text("location,Y,date\nx,1,2021-02-01\nx,2,2021-02-13\n")
    assert R.read_geolift(f)["date"].tolist() == [pd.Timestamp("2021-02-01"), pd.Timestamp("2021-02-13")]
