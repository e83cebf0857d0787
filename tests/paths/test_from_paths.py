"""Path tables in: one check and one normalisation, whatever the container; duplicates summed everywhere."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import marketing360 as m3
from marketing360.attribution import markov, rule_based, shapley
from marketing360.errors import SchemaError
from marketing360.paths import from_paths
from marketing360.testing import assert_frame_matches

PATHS = pd.DataFrame({"path": ["a>b", "b", "a -> b", " c > a "], "conversions": [2.0, 1.0, 1.0, 0.0],
                      "value": [20.0, 5.0, 4.0, 0.0], "nulls": [1.0, 3.0, 0.0, 2.0]})
EXPECTED = pd.DataFrame({"path": ["a > b", "b", "c > a"], "conversions": [3.0, 1.0, 0.0],
                         "value": [24.0, 5.0, 0.0], "nulls": [1.0, 3.0, 2.0]})


def test_frames_and_engine_tables_are_normalised_and_summed_alike(engine):
    for data in (PATHS, engine.table(PATHS)):
        got = from_paths(data).paths().table()
        assert_frame_matches(got, EXPECTED, sort_by=["path"])  # duplicates summed, "a>b" is two channels


def test_bad_counts_are_refused_on_the_engine(engine):
    # was: negative conversions gave negative Shapley credit, Markov dropped the path silently
    with pytest.raises(SchemaError, match="paths.conversions: 1 negative"):
        shapley(from_paths(engine.table(PATHS.assign(conversions=[2.0, -1.0, 1.0, 0.0]))))
    # was: a missing count dropped the whole path with its nulls
    with pytest.raises(SchemaError, match="paths.conversions: 1 missing"):
        markov(from_paths(engine.table(PATHS.assign(conversions=[2.0, None, 1.0, 0.0]))))
    with pytest.raises(SchemaError, match="empty channel name"):
        from_paths(engine.table(PATHS.assign(path=["a >> b", "b", "a", "c"])))


@pytest.mark.parametrize("sep", ["|", ",", "/", "\t"])
def test_other_separators_need_path_sep_and_then_work(engine, sep):
    df = PATHS.assign(path=["a" + sep + "b", "b", "a" + sep + "b", "c" + sep + "a"])
    with pytest.raises(SchemaError, match=re.escape(f"pass path_sep={sep!r}")):  # was: one channel named "a|b"
        from_paths(engine.table(df))
    got = from_paths(engine.table(df), path_sep=sep).paths().table()
    assert_frame_matches(got, EXPECTED, sort_by=["path"])


def test_a_reader_table_and_a_frame_agree(tmp_path):
    path = tmp_path / "paths.csv"
    PATHS.rename(columns={"conversions": "total_conversions", "value": "total_conversion_value",
                          "nulls": "total_null"}).to_csv(path, sep=";", index=False)
    from_file = from_paths(m3.datasets.read_channelattribution_paths(path)).paths().table()
    assert_frame_matches(from_file, EXPECTED, sort_by=["path"])


def test_rules_need_conversions_like_every_other_method():
    j = from_paths(PATHS.assign(conversions=0.0))
    with pytest.raises(m3.ParameterError, match="nothing to attribute"):  # was an empty result
        rule_based(j, rules="linear")


def test_channelattribution_column_names_work_as_they_are():
    ca = PATHS.rename(columns={"conversions": "total_conversions", "value": "total_conversion_value",
                               "nulls": "total_null"})
    assert_frame_matches(from_paths(ca).paths().table(), EXPECTED, sort_by=["path"])
