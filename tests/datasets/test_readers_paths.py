"""ChannelAttribution path tables: read (sniffed separators, normalised and summed paths) and written back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from reader_checks import assert_schema_error

from marketing360.datasets import readers as R
from marketing360.errors import SchemaError


@pytest.mark.shared_data
def test_shared_data_csv_repeated_paths_are_summed(need) -> None:
    f = need("channelattribution_paths", "Data.csv")
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


@pytest.mark.shared_data
def test_shared_data_csv_written_and_read_back_is_unchanged(need, tmp_path: Path) -> None:
    need("channelattribution_paths", "Data.csv")
    paths = R.read_channelattribution_paths()
    out = R.write_channelattribution_paths(paths, tmp_path / "paths.csv")
    assert out.read_text().splitlines()[0] == \
        "path;total_conversions;total_conversion_value;total_null"
    back = R.read_channelattribution_paths(out)
    pd.testing.assert_frame_equal(back, paths)


def test_separators_are_sniffed_and_paths_normalised(tmp_path: Path) -> None:
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


def test_path_sep_reads_other_channel_separators(tmp_path: Path) -> None:
    f = tmp_path / "pipes.csv"
    f.write_text("path;total_conversions\na|b|a;2\nb;1\na | b | a;1\n")
    paths = R.read_channelattribution_paths(f, path_sep="|")
    assert paths["path"].tolist() == ["a > b > a", "b"]
    assert paths["conversions"].tolist() == [3.0, 1.0]


def test_negative_counts_missing_columns_and_empty_channels_are_named(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("path;total_conversions;total_conversion_value;total_null\na > b;-1;2;3\n")
    with pytest.raises(SchemaError) as exc:
        R.read_channelattribution_paths(f)
    assert_schema_error(exc, "total_conversions")
    f.write_text("journey;total_conversions\na > b;1\n")
    with pytest.raises(SchemaError) as exc:
        R.read_channelattribution_paths(f)
    assert_schema_error(exc, "path")
    f.write_text("path;total_conversions\na > > b;1\n")
    with pytest.raises(SchemaError) as exc:
        R.read_channelattribution_paths(f)
    assert_schema_error(exc, "path")
