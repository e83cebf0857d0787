"""Fixtures shared by the incrementality tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def salesandcost():
    # matched_markets' example (Apache-2.0, like this project): small enough to ship with the tests, see SOURCE.txt
    d = pd.read_csv(Path(__file__).parent / "data" / "matched_markets" / "example_data_for_post_analysis.csv")
    # 75 (date, geo) rows are absent: matched_markets sums the rows present per date and group, i.e. a
    # missing row counts 0 (trimmed_match's check_input_data fills them with 0 the same way)
    arms = d.groupby("geo")["assignment"].first()
    full = pd.MultiIndex.from_product([sorted(d["date"].unique()), arms.index], names=["date", "geo"]).to_frame(
        index=False)
    full["assignment"] = full["geo"].map(arms)
    return full.merge(d.drop(columns="assignment"), on=["date", "geo"], how="left").fillna(
        {"response": 0.0, "cost": 0.0})
