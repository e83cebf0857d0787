"""MRR: the one definition, its interval carried over from each kind of estimator, and bad input named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketing360.attribution import rule_based
from marketing360.errors import ParameterError, SchemaError
from marketing360.incrementality import MMM, mrr, tbr
from marketing360.paths import from_paths

pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")


def test_table_source_by_hand():
    t = pd.DataFrame({"channel": ["tv", "search"], "estimate": [10_000.0, 6_000.0], "lower": [4_000.0, 5_000.0],
                      "upper": [16_000.0, 7_000.0]})
    r = mrr(t, cost={"tv": 5_000.0, "search": 2_000.0}, margin={"tv": 0.5, "search": 0.25},
            benchmark=1.5).table().set_index("channel")
    assert r.loc["tv", ["estimate", "lower", "upper"]].tolist() == [1.0, 0.4, 1.6]
    assert r.loc["search", ["estimate", "lower", "upper"]].tolist() == [0.75, 0.625, 0.875]
    assert r.loc["tv", "vs_benchmark"] == pytest.approx(1 / 1.5)
    # the standard error is the interval's half-width over the normal quantile, the p-value against the benchmark
    se = 0.6 / 1.959964
    assert r.loc["tv", "std_error"] == pytest.approx(se, rel=1e-5)
    from scipy import stats
    assert r.loc["tv", "p_value"] == pytest.approx(2 * stats.norm.sf(0.5 / se), rel=1e-5)


def test_from_the_mmm_is_roas_times_margin():
    from marketing360.datasets import read_pymc_mmm

    roas = MMM(saturation="logistic", n_starts=6, random_state=0).fit(read_pymc_mmm(),
                                                                      controls=["event_1", "event_2"]).roas()
    r = mrr(roas, margin=0.3).table().set_index("channel")
    t = roas.table().set_index("channel")
    np.testing.assert_allclose(r["estimate"], 0.3 * t["estimate"])
    np.testing.assert_allclose(r["lower"], 0.3 * t["lower"])
    np.testing.assert_allclose(r["upper"], 0.3 * t["upper"])
    np.testing.assert_allclose(r["cost"], t["spend"])
    assert (r["source"] == "MMM").all() and r["benchmark"].isna().all()
    with pytest.raises(ParameterError, match="intervals come from the source"):
        mrr(roas).conf_int(0.1)


def test_from_a_geo_test_keeps_its_interval(salesandcost):
    res = tbr(salesandcost, assignment="assignment", pre=("2015-01-05", "2015-02-15"),
              test=("2015-02-16", "2015-03-15"), cost="cost", alpha=0.1)
    r = mrr(res, margin=0.5).table().iloc[0]
    i = res.table().set_index("metric").loc["iroas"]
    assert r["estimate"] == pytest.approx(0.5 * i["estimate"])
    assert (r["lower"], r["upper"]) == pytest.approx((0.5 * i["lower"], 0.5 * i["upper"]))
    assert r["cost"] == pytest.approx(res.incremental_cost)
    assert mrr(res).alpha == 0.1


def test_from_an_attribution_uses_its_bootstrap():
    j = from_paths(pd.DataFrame({"path": ["a > b", "b", "a", "a > b", "b > a"], "conversions": [30, 10, 5, 8, 12],
                               "nulls": [20, 40, 30, 10, 5], "value": [3000.0, 900.0, 600.0, 700.0, 1300.0]}))
    att = rule_based(j, rules="last_touch")
    r = mrr(att, cost={"a": 1000.0, "b": 2000.0}, margin=0.5).table().set_index("channel")
    ci = att.conf_int(0.05).set_index("channel")
    np.testing.assert_allclose(r["estimate"], 0.5 * ci["value"] / [1000.0, 2000.0])
    np.testing.assert_allclose(r["upper"], 0.5 * ci["value_upper"] / [1000.0, 2000.0])
    assert (r["source"] == "last_touch").all()


def test_bad_input_is_named():
    t = pd.DataFrame({"campaign": ["x"], "estimate": [10.0], "std_error": [2.0], "cost": [5.0]})
    with pytest.raises(ParameterError, match="margin must be in"):
        mrr(t, margin=1.5)
    with pytest.raises(ParameterError, match="cost must be > 0"):
        mrr(t.assign(cost=0.0))
    with pytest.raises(ParameterError, match="benchmark MRR must be > 0"):
        mrr(t, benchmark=0)
    with pytest.raises(ParameterError, match=r"margin: no value for \['x'\]"):
        mrr(t, margin={"y": 0.5})
    with pytest.raises(ParameterError, match="give cost="):
        mrr(t.drop(columns="cost"))
    with pytest.raises(SchemaError, match="std_error or lower"):
        mrr(t.drop(columns="std_error"))
    with pytest.raises(SchemaError, match="'estimate' column"):
        mrr(t.rename(columns={"estimate": "lift"}))
    with pytest.raises(ParameterError, match="cannot read incremental revenue"):
        mrr(42)
