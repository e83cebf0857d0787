"""Difference-in-differences: TWFE and the event study against statsmodels' dummy regressions written here,
Callaway & Sant'Anna against hand-computed 2 x 2 comparisons, simulations with known effects and R ``did``.

References used below:

* the TWFE coefficient, its cluster-robust error, t interval and the pre-trend F test: statsmodels'
  ``smf.ols("y ~ D + C(unit) + C(time)").fit(cov_type="cluster", use_t=True)`` on the same rows;
* the canonical 2 x 2: the difference of the four means, by pandas;
* ATT(g, t): the 2 x 2 difference of mean changes of cohort g and its controls, by pandas, and its
  influence-function error: the two-sample error with population variances (``ddof=0``);
* simulations with heterogeneous, dynamic effects: their true ATT(g, t);
* R ``did`` 2.x on ``mpdta`` (run by the csdid project, d2cml-ai/csdid,
  csdid/test_csdid/r_ref/ref_attgt.csv, ref_aggte.csv and ref_pretest.csv, ``bstrap=FALSE``); the pre-test
  p-value 0.16812 is also the one printed in the did vignette
  (https://bcallaway11.github.io/did/articles/did-basics.html).
"""

from __future__ import annotations

import os
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from marketing360.errors import ParameterError, SchemaError
from marketing360.incrementality.did import DiDResult, EventStudy, did, event_study
from marketing360.incrementality.staggered import StaggeredDiD, staggered_did

matplotlib.use("Agg")


def staggered_panel(seed: int, *, sizes: dict[int, int], slopes: dict[int, float], n_periods: int = 12,
                    noise: float = 0.3, trend_treated: float = 0.0) -> pd.DataFrame:
    """Units of cohort g (0: never treated) with effect ``slope_g * (t - g + 1)`` from period g on (periods 1..T).

    ``trend_treated`` adds a linear trend to the ever-treated units (a parallel-trends violation).
    """
    rng = np.random.default_rng(seed)
    rows, unit = [], 0
    for g, m in sizes.items():
        for _ in range(m):
            a = rng.normal(0, 1)
            for t in range(1, n_periods + 1):
                tau = slopes.get(g, 0.0) * (t - g + 1) if g and t >= g else 0.0
                y = a + 0.5 * t + (trend_treated * t if g else 0.0) + tau + rng.normal(0, noise)
                rows.append((unit, t, g, y, tau))
            unit += 1
    return pd.DataFrame(rows, columns=["unit", "t", "g", "y", "tau"])


def cluster_fit(formula: str, df: pd.DataFrame, groups: pd.Series):
    return smf.ols(formula, df).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)


# ------------------------------------------------------------------------------------------------ TWFE
def test_did_2x2_is_the_difference_of_four_means_with_statsmodels_cluster_errors() -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame([(u, t) for u in range(30) for t in (0, 1)], columns=["store", "week"])
    df["promo"] = ((df.store < 12) & (df.week == 1)).astype(int)
    df["sales"] = 5 + 0.3 * df.store + df.week + 2.0 * df.promo + rng.normal(0, 1, len(df))
    r = did(df, unit="store", time="week", outcome="sales", treated="promo")
    assert isinstance(r, DiDResult)

    m = df.assign(tr=df.store < 12).groupby(["tr", "week"]).sales.mean()
    hand = (m[True, 1] - m[True, 0]) - (m[False, 1] - m[False, 0])
    assert r.att == pytest.approx(hand, abs=1e-10)

    ref = cluster_fit("sales ~ promo + C(store) + C(week)", df, df.store)
    row = r.table().iloc[0]
    assert row.effect == "ATT"
    assert row.estimate == pytest.approx(ref.params["promo"], abs=1e-10)
    assert row.std_error == pytest.approx(ref.bse["promo"], rel=1e-8)
    lo, hi = ref.conf_int(0.05).loc["promo"]
    assert (row.lower, row.upper) == (pytest.approx(lo, rel=1e-8), pytest.approx(hi, rel=1e-8))
    assert row.p_value == pytest.approx(ref.pvalues["promo"], rel=1e-6)
    assert (r.n_units, r.n_periods, r.n_clusters, r.dof, r.n_treated_units) == (30, 2, 30, 29, 12)
    ci90 = r.conf_int(0.10).iloc[0]
    assert ci90.lower == pytest.approx(ref.conf_int(0.10).loc["promo", 0], rel=1e-8)


def test_did_unbalanced_panel_with_covariate_and_coarser_clusters_matches_the_dummy_regression() -> None:
    rng = np.random.default_rng(7)
    df = pd.DataFrame([(u, t) for u in range(60) for t in range(8)], columns=["geo", "month"])
    df["region"] = df.geo // 4
    start = np.where(np.arange(60) < 30, rng.integers(3, 7, 60), 0)
    df["first"] = start[df.geo]
    df["on"] = ((df["first"] > 0) & (df.month >= df["first"])).astype(int)
    df["first"] = df["first"].where(df["first"] > 0)  # never treated: NaN, as 0 is a month here
    df["price"] = rng.normal(0, 1, len(df))
    df["y"] = df.geo % 5 + 0.2 * df.month + 1.5 * df.on - 0.7 * df.price + rng.normal(0, 1, len(df))
    df = df.sample(frac=0.85, random_state=1).reset_index(drop=True)  # unbalanced

    r = did(df, unit="geo", time="month", outcome="y", treated="on", covariates=["price"], cluster="region")
    ref = cluster_fit("y ~ on + price + C(geo) + C(month)", df, df.region)
    assert r.att == pytest.approx(ref.params["on"], abs=1e-8)
    assert r.table().std_error[0] == pytest.approx(ref.bse["on"], rel=1e-6)
    coefs = r.coefficients.set_index("term")
    assert coefs.loc["price", "estimate"] == pytest.approx(ref.params["price"], abs=1e-8)
    assert coefs.loc["price", "std_error"] == pytest.approx(ref.bse["price"], rel=1e-6)
    assert r.n_clusters == 15 and r.dof == 14
    # the same panel given by cohort instead of the 0/1 column
    r2 = did(df, unit="geo", time="month", outcome="y", cohort="first", covariates=["price"], cluster="region")
    assert r2.att == pytest.approx(r.att, abs=1e-10)


def test_event_study_matches_the_dummy_regression_and_its_f_test() -> None:
    df = staggered_panel(5, sizes={4: 15, 6: 15, 0: 20}, slopes={4: 1.0, 6: 1.0}, n_periods=9)
    es = event_study(df, unit="unit", time="t", outcome="y", cohort="g", window=(-3, 2))
    assert isinstance(es, EventStudy)
    # the reference: event-time dummies binned at -3 and 2, -1 left out, written with pandas
    e = np.where(df.g > 0, np.clip(df.t - df.g, -3, 2), -99)
    names = {k: f"e_m{-k}" if k < 0 else f"e_{k}" for k in (-3, -2, 0, 1, 2)}
    for k, name in names.items():
        df[name] = (e == k).astype(float)
    ref = cluster_fit("y ~ " + " + ".join(names.values()) + " + C(unit) + C(t)", df, df.unit)
    tab = es.table().set_index("event_time")
    assert list(tab.index) == [-3, -2, 0, 1, 2]
    for k, name in names.items():
        assert tab.loc[k, "estimate"] == pytest.approx(ref.params[name], abs=1e-9)
        assert tab.loc[k, "std_error"] == pytest.approx(ref.bse[name], rel=1e-7)
    ft = ref.f_test("e_m3 = 0, e_m2 = 0")
    assert es.pretrend is not None and es.pretrend.kind == "F"
    assert es.pretrend.statistic == pytest.approx(float(np.squeeze(ft.fvalue)), rel=1e-7)
    assert es.pretrend.p_value == pytest.approx(float(ft.pvalue), rel=1e-6)
    assert (es.pretrend.df, es.pretrend.df_denom) == (2, ft.df_denom) == (2, 49)
    ci, ref_ci = es.conf_int(alpha=0.10).set_index("event_time"), ref.conf_int(0.10)  # t(49) at another level
    for k, name in names.items():
        assert ci.loc[k, "lower"] == pytest.approx(ref_ci.loc[name, 0], rel=1e-7)
        assert ci.loc[k, "upper"] == pytest.approx(ref_ci.loc[name, 1], rel=1e-7)
    assert tab.loc[0, "n_units"] == 30


def test_event_study_recovers_dynamic_effects_and_its_pretrend_test_flags_a_violation() -> None:
    # one adoption date: the event study is unbiased; effect (e + 1) * 0.8 at event time e
    df = staggered_panel(11, sizes={6: 40, 0: 40}, slopes={6: 0.8}, n_periods=10)
    es = event_study(df, unit="unit", time="t", outcome="y", treated=None, cohort="g")
    tab = es.table().set_index("event_time")
    truth = {e: 0.8 * (e + 1) if e >= 0 else 0.0 for e in tab.index}
    for e, v in truth.items():
        assert abs(tab.loc[e, "estimate"] - v) < 4 * tab.loc[e, "std_error"]
    assert es.pretrend is not None and es.pretrend.p_value > 0.01
    bad = staggered_panel(11, sizes={6: 40, 0: 40}, slopes={6: 0.8}, n_periods=10, trend_treated=0.3)
    es_bad = event_study(bad, unit="unit", time="t", outcome="y", cohort="g")
    assert es_bad.pretrend is not None and es_bad.pretrend.p_value < 1e-6


# ------------------------------------------------------------------------------------------------ Callaway & Sant'Anna
def test_twfe_is_sign_flipped_under_staggered_dynamic_effects_while_callaway_santanna_recovers_the_truth() -> None:
    df = staggered_panel(0, sizes={3: 60, 7: 60, 0: 10}, slopes={3: 1.0, 7: 0.2})
    post = df[(df.g > 0) & (df.t >= df.g)]
    truth = post.tau.mean()  # equal cohorts: the cohort-size weighted mean of the true ATT(g, t)
    assert truth == pytest.approx(3.7)

    tw = did(df, unit="unit", time="t", outcome="y", cohort="g")
    tw_se = tw.table().std_error[0]
    assert tw.att < 0 < truth  # the wrong sign
    assert abs(tw.att - truth) > 10 * tw_se

    cs = staggered_did(df, unit="unit", time="t", outcome="y", cohort="g")
    assert isinstance(cs, StaggeredDiD)
    ov = cs.overall.table().set_index("aggregation")
    assert abs(ov.loc["simple", "estimate"] - truth) < 3 * ov.loc["simple", "std_error"]
    assert abs(cs.att - truth) < 0.15 * truth
    cells = cs.table()
    true_cells = df.groupby(["g", "t"]).tau.mean()
    err = cells.estimate.to_numpy() - true_cells.loc[list(zip(cells.cohort, cells.time))].to_numpy()
    assert np.all(np.abs(err) < 4 * cells.std_error.to_numpy())
    dyn = cs.dynamic.table().set_index("event_time")
    true_e = post.assign(e=post.t - post.g).groupby("e").tau.mean()  # equal cohorts
    for e_, v in true_e.items():
        assert abs(dyn.loc[e_, "estimate"] - v) < 4 * dyn.loc[e_, "std_error"]
    coh = cs.by_cohort.table().set_index("cohort")
    for g, part in post.groupby("g"):
        assert abs(coh.loc[g, "estimate"] - part.tau.mean()) < 4 * coh.loc[g, "std_error"]
    assert cs.pretrend is not None and cs.pretrend.kind == "chi2" and cs.pretrend.p_value > 0.01


def test_group_time_cell_is_the_2x2_of_mean_changes_with_the_two_sample_error() -> None:
    df = staggered_panel(2, sizes={4: 25, 6: 20, 0: 30}, slopes={4: 0.5, 6: 1.0}, n_periods=7)
    cs = staggered_did(df, unit="unit", time="t", outcome="y", cohort="g")
    wide = df.pivot(index="unit", columns="t", values="y")
    g_of = df.groupby("unit").g.first()
    for g, t, b in ((4, 6, 3), (6, 3, 2), (4, 4, 3)):  # post (base g-1), pre (varying base t-1), first post
        dy = wide[t] - wide[b]
        d_t, d_c = dy[g_of == g], dy[g_of == 0]
        row = cs.table().set_index(["cohort", "time"]).loc[(g, t)]
        assert row.estimate == pytest.approx(d_t.mean() - d_c.mean(), abs=1e-12)
        se = np.sqrt(d_t.var(ddof=0) / len(d_t) + d_c.var(ddof=0) / len(d_c))
        assert row.std_error == pytest.approx(se, rel=1e-10)
        assert (row.base_time, row.n_treated, row.n_control) == (b, len(d_t), len(d_c))
    # intervals at another level: normal, estimate -/+ z(0.95) std_error
    tab, ci = cs.table(), cs.conf_int(alpha=0.10)
    np.testing.assert_allclose(ci.lower, tab.estimate - stats.norm.ppf(0.95) * tab.std_error, rtol=1e-12)
    np.testing.assert_allclose(ci.upper, tab.estimate + stats.norm.ppf(0.95) * tab.std_error, rtol=1e-12)
    # not yet treated: the controls of (4, 5) are the never treated and cohort 6
    ny = staggered_did(df, unit="unit", time="t", outcome="y", cohort="g", control="not_yet_treated")
    dy = wide[5] - wide[3]
    ctrl = dy[(g_of == 0) | (g_of == 6)]
    row = ny.table().set_index(["cohort", "time"]).loc[(4, 5)]
    assert row.estimate == pytest.approx(dy[g_of == 4].mean() - ctrl.mean(), abs=1e-12)
    assert row.n_control == 50
    # universal base: every cell against g - 1, the reference cell (g - 1) left out
    un = staggered_did(df, unit="unit", time="t", outcome="y", cohort="g", base_period="universal")
    cell = un.table().set_index(["cohort", "time"])
    dy = wide[2] - wide[5]
    assert cell.loc[(6, 2), "estimate"] == pytest.approx(dy[g_of == 6].mean() - dy[g_of == 0].mean(), abs=1e-12)
    assert (6, 5) not in cell.index and un.dynamic.reference == -1


def test_not_yet_treated_controls_without_never_treated_units() -> None:
    df = staggered_panel(4, sizes={3: 40, 6: 40, 9: 40}, slopes={3: 1.0, 6: 0.5, 9: 0.2}, n_periods=10)
    with pytest.raises(ParameterError, match="never_treated"):
        staggered_did(df, unit="unit", time="t", outcome="y", cohort="g")
    ny = staggered_did(df, unit="unit", time="t", outcome="y", cohort="g", control="not_yet_treated")
    cells = ny.table()
    # a cell has controls when another cohort is still untreated at max(t, base): the others are left out
    expect = {(g, t) for g in (3, 6, 9) for t in range(2, 11)
              if not any(h != g and h > max(t, g - 1 if t >= g else t - 1) for h in (3, 6, 9))}
    assert set(ny.skipped) == expect
    assert {(g, t) for g, t in expect if t >= g} == {(g, t) for g in (3, 6, 9) for t in (9, 10)}
    assert not expect & set(zip(cells.cohort, cells.time)) and len(cells) + len(expect) == 27
    true_cells = df.groupby(["g", "t"]).tau.mean()
    err = cells.estimate.to_numpy() - true_cells.loc[list(zip(cells.cohort, cells.time))].to_numpy()
    assert np.all(np.abs(err) < 4 * cells.std_error.to_numpy())
    # the simple aggregation is within 4 standard errors of the truth of the post-adoption cells it averages
    post = cells[cells.time >= cells.cohort]
    truth = float(np.average(true_cells.loc[list(zip(post.cohort, post.time))]))  # equal cohort sizes
    assert abs(ny.att - truth) < 4 * ny.overall.table().set_index("aggregation").std_error["simple"]


def test_multiplier_bootstrap_errors_and_simultaneous_bands() -> None:
    df = staggered_panel(9, sizes={4: 60, 7: 60, 0: 80}, slopes={4: 0.5, 7: 0.5}, n_periods=9)
    an = staggered_did(df, unit="unit", time="t", outcome="y", cohort="g")
    bs = staggered_did(df, unit="unit", time="t", outcome="y", cohort="g", n_boot=999, random_state=1)
    rel = bs.table().std_error / an.table().std_error
    assert rel.between(0.85, 1.15).all()
    assert bs.overall.table().std_error.to_numpy() == pytest.approx(an.overall.table().std_error.to_numpy(),
                                                                    rel=0.15)
    again = staggered_did(df, unit="unit", time="t", outcome="y", cohort="g", n_boot=999, random_state=1)
    pd.testing.assert_frame_equal(bs.table(), again.table())
    rad = staggered_did(df, unit="unit", time="t", outcome="y", cohort="g", n_boot=999, random_state=2,
                        multiplier="rademacher", uniform=True)
    assert (rad.table().std_error / an.table().std_error).between(0.85, 1.15).all()
    # simultaneous bands: the sup-t critical value exceeds the pointwise normal one
    t = rad.table()
    crit = ((t.upper - t.estimate) / t.std_error).to_numpy()
    assert np.allclose(crit, crit[0]) and crit[0] > stats.norm.ppf(0.975)
    dyn = rad.dynamic.table()
    assert ((dyn.upper - dyn.estimate) / dyn.std_error).iloc[0] > stats.norm.ppf(0.975)
    narrower = rad.conf_int(0.2)
    assert (narrower.upper < t.upper).all() and (narrower.lower > t.lower).all()
    assert "simultaneous" in str(rad.summary())


def test_cluster_by_a_coarser_column_sums_the_influence_functions_by_cluster() -> None:
    df = staggered_panel(6, sizes={4: 30, 0: 30}, slopes={4: 1.0}, n_periods=6)
    df["region"] = df.unit // 3
    cs = staggered_did(df, unit="unit", time="t", outcome="y", cohort="g", cluster="region")
    inf = cs.influence[:, 0]
    region_of_unit = df.groupby("unit").region.first().loc[cs.units].to_numpy()
    se = np.sqrt((pd.Series(inf).groupby(region_of_unit).sum() ** 2).sum()) / len(inf)
    assert cs.table().std_error[0] == pytest.approx(se, rel=1e-12)
    assert cs.n_clusters == 20


def test_mpdta_reproduces_r_did() -> None:
    # R did on mpdta (d2cml-ai/csdid, csdid/test_csdid/r_ref/ref_attgt.csv, scenario mpdta_nev_dr, xformla=~1).
    # mpdta ships with R's did package under the GPL-2, which this Apache-2.0 project cannot redistribute and
    # ../shared/data does not hold: point M360_MPDTA at a CSV copy (e.g. d2cml-ai/csdid data/mpdta.csv) to run it.
    path = os.environ.get("M360_MPDTA")
    if not path:
        pytest.skip("set M360_MPDTA to a CSV copy of R did's mpdta (GPL-2, not shipped) to check the R figures")
    df = pd.read_csv(path)
    cs = staggered_did(df, unit="countyreal", time="year", outcome="lemp", cohort="first.treat")
    cells = cs.table().set_index(["cohort", "time"])
    r_cells = {(2004, 2004): (-0.0105032462209624, 0.0232510363681664),
               (2004, 2007): (-0.100811363085404, 0.0343592258346732),
               (2006, 2004): (0.00652011242423301, 0.0233268051418047),
               (2007, 2006): (-0.0310871193896889, 0.0178775113133435)}
    for key, (att, se) in r_cells.items():
        assert cells.loc[key, "estimate"] == pytest.approx(att, abs=1e-12)
        assert cells.loc[key, "std_error"] == pytest.approx(se, rel=1e-9)
    # ref_aggte.csv: overall.att / overall.se of aggte(type = "simple", "group", "dynamic", "calendar")
    ov = cs.overall.table().set_index("aggregation")
    r_overall = {"simple": (-0.0399512751551763, 0.0120340127701854),
                 "group": (-0.0310182822287484, 0.0124460593209979),
                 "dynamic": (-0.0772398214573151, 0.0199649890618494),
                 "calendar": (-0.0417004321312822, 0.01597185188456)}
    for kind, (att, se) in r_overall.items():
        assert ov.loc[kind, "estimate"] == pytest.approx(att, abs=1e-12)
        assert ov.loc[kind, "std_error"] == pytest.approx(se, rel=1e-9)
    dyn = cs.dynamic.table().set_index("event_time")
    assert dyn.loc[-3, "estimate"] == pytest.approx(0.0305066555832928, abs=1e-12)
    assert dyn.loc[2, "std_error"] == pytest.approx(0.0364356642876865, rel=1e-9)
    assert cs.by_cohort.table().set_index("cohort").loc[2004, "std_error"] == pytest.approx(0.0263677994350273,
                                                                                           rel=1e-9)
    # ref_pretest.csv: W = 7.79123662720035, Wpval = 0.16812 (the vignette's "P-value for pre-test ... 0.16812")
    assert cs.pretrend is not None and cs.pretrend.df == 5
    assert cs.pretrend.statistic == pytest.approx(7.79123662720035, rel=1e-9)
    assert round(cs.pretrend.p_value, 5) == 0.16812
    # not yet treated (scenario mpdta_nyt_dr)
    ny = staggered_did(df, unit="countyreal", time="year", outcome="lemp", cohort="first.treat",
                       control="not_yet_treated")
    assert ny.att == pytest.approx(-0.0397636256230437, abs=1e-12)
    assert ny.overall.table().std_error[0] == pytest.approx(0.0120524247873419, rel=1e-9)  # simple: first row
    assert ny.table().set_index(["cohort", "time"]).loc[(2004, 2004), "estimate"] == pytest.approx(
        -0.0193723636759221, abs=1e-12)
    # d2cml-ai/csdid, csdid/test_csdid/r_ref/sim/ref_gaps.csv: R did with base_period = "universal" (scenario
    # "universal"), and with analytic errors clustered by state (scenario "clustered": clustervars = "clust", the
    # state, countyreal %/% 1000, in that folder's mpdta_extra.csv)
    un = staggered_did(df, unit="countyreal", time="year", outcome="lemp", cohort="first.treat",
                       base_period="universal").table().set_index(["cohort", "time"])
    for key, (att, se) in {(2006, 2003): (-0.0037692936737142, 0.0313420276018159),
                           (2007, 2004): (0.0338130122758051, 0.0211291749243127)}.items():
        assert un.loc[key, "estimate"] == pytest.approx(att, abs=1e-12)
        assert un.loc[key, "std_error"] == pytest.approx(se, rel=1e-9)
    assert (2006, 2005) not in un.index  # R reports the reference cell g - 1 as 0 with no error
    cl = staggered_did(df.assign(state=df.countyreal // 1000), unit="countyreal", time="year", outcome="lemp",
                       cohort="first.treat", cluster="state")
    cells = cl.table().set_index(["cohort", "time"])
    for key, se in {(2004, 2006): 0.0232019144104819, (2006, 2004): 0.0358483168279247,
                    (2007, 2007): 0.0143442032201854}.items():
        assert cells.loc[key, "std_error"] == pytest.approx(se, rel=1e-9)
    assert cl.n_clusters == 29


# ------------------------------------------------------------------------------------------------ inputs
def test_other_table_types_dates_and_late_cohorts() -> None:
    import polars as pl
    import pyarrow as pa

    df = staggered_panel(8, sizes={3: 20, 5: 20, 0: 20}, slopes={3: 1.0, 5: 1.0}, n_periods=6)
    base = staggered_did(df, unit="unit", time="t", outcome="y", cohort="g")
    for other in (pl.from_pandas(df), pa.Table.from_pandas(df)):
        r = staggered_did(other, unit="unit", time="t", outcome="y", cohort="g")
        pd.testing.assert_frame_equal(r.table(), base.table())
    # dates as periods, cohorts as dates, never treated as NaT
    dates = pd.date_range("2024-01-01", periods=6, freq="MS")
    dd = df.assign(t=dates[df.t - 1], g=pd.Series(dates[df.g.clip(lower=1) - 1]).where(df.g > 0))
    rd = staggered_did(dd, unit="unit", time="t", outcome="y", cohort="g")
    assert rd.att == pytest.approx(base.att, abs=1e-12)
    assert list(rd.by_cohort.table().cohort) == [dates[2], dates[4]]
    # a cohort after the last period is never treated within the panel (as R did)
    late = df.assign(g=df.g.replace(0, 99))
    assert staggered_did(late, unit="unit", time="t", outcome="y", cohort="g").att == pytest.approx(base.att)
    # treated= (absorbing 0/1) gives the cohorts
    on = df.assign(on=((df.g > 0) & (df.t >= df.g)).astype(int))
    assert staggered_did(on, unit="unit", time="t", outcome="y", treated="on").att == pytest.approx(base.att)
    # an ibis table on DuckDB
    import ibis

    on_engine = ibis.duckdb.connect().create_table("panel", df)
    pd.testing.assert_frame_equal(staggered_did(on_engine, unit="unit", time="t", outcome="y", cohort="g").table(),
                                  base.table())
    assert did(on_engine, unit="unit", time="t", outcome="y", cohort="g").att == pytest.approx(
        did(df, unit="unit", time="t", outcome="y", cohort="g").att, abs=1e-12)


def test_dates_as_timestamps_date_objects_or_strings_give_the_same_answer() -> None:
    df = staggered_panel(8, sizes={3: 20, 5: 20, 0: 20}, slopes={3: 1.0, 5: 1.0}, n_periods=6)
    base = staggered_did(df, unit="unit", time="t", outcome="y", cohort="g")
    dates = pd.date_range("2024-01-01", periods=6, freq="MS")
    stamps = df.assign(t=dates[df.t - 1], g=pd.Series(dates[df.g.clip(lower=1) - 1]).where(df.g > 0))
    variants = {
        "timestamps, cohorts as ISO strings": stamps.assign(g=stamps.g.dt.strftime("%Y-%m-%d")),
        "ISO strings, cohorts as timestamps": stamps.assign(t=stamps.t.dt.strftime("%Y-%m-%d")),
        "date objects, cohorts as timestamps": stamps.assign(t=stamps.t.dt.date),
        "date objects, cohorts as date objects": stamps.assign(t=stamps.t.dt.date, g=stamps.g.dt.date),
    }
    for name, d in variants.items():
        r = staggered_did(d, unit="unit", time="t", outcome="y", cohort="g")
        assert r.att == pytest.approx(base.att, abs=1e-12), name
        assert list(pd.to_datetime(r.by_cohort.table().cohort)) == [dates[2], dates[4]], name
    with pytest.raises(SchemaError, match="not a date"):
        staggered_did(stamps.assign(g=np.where(df.g > 0, "soon", None)), unit="unit", time="t", outcome="y",
                      cohort="g")


def test_ordered_categorical_periods_follow_their_categories_not_the_alphabet() -> None:
    import polars as pl

    # months as an ordered categorical: "Apr" < "Feb" < "Jan" alphabetically, which must not be the time order
    df = staggered_panel(3, sizes={3: 20, 4: 20, 0: 20}, slopes={3: 1.0, 4: 0.5}, n_periods=6)
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]
    cat = df.assign(t=pd.Categorical([months[i - 1] for i in df.t], categories=months, ordered=True),
                    g=[months[i - 1] if i else None for i in df.g])
    base = staggered_did(df, unit="unit", time="t", outcome="y", cohort="g")
    r = staggered_did(cat, unit="unit", time="t", outcome="y", cohort="g")
    tab, ref = r.table(), base.table()
    np.testing.assert_allclose(tab.estimate, ref.estimate, atol=1e-12)
    assert list(tab.time.astype(str)) == [months[t - 1] for t in ref.time]
    assert list(tab.base_time.astype(str)) == [months[t - 1] for t in ref.base_time]
    assert list(r.calendar.table().time.astype(str)) == ["Mar", "Apr", "May", "Jun"]
    assert r.att == pytest.approx(base.att, abs=1e-12)
    kw = {"unit": "unit", "time": "t", "outcome": "y", "cohort": "g"}
    assert did(cat, **kw).att == pytest.approx(did(df, **kw).att, abs=1e-12)
    es, es_ref = event_study(cat, window=(-2, 2), **kw), event_study(df, window=(-2, 2), **kw)
    np.testing.assert_allclose(es.table().estimate, es_ref.table().estimate, atol=1e-12)
    trends = did(cat, **kw).trends
    assert list(trends.time.astype(str).unique()) == months
    # a polars Enum is ordered too
    enum = pl.from_pandas(cat.assign(t=cat.t.astype(str))).with_columns(pl.col("t").cast(pl.Enum(months)))
    assert staggered_did(enum, **kw).att == pytest.approx(base.att, abs=1e-12)
    with pytest.raises(SchemaError, match="not a category"):
        staggered_did(cat.assign(g=cat.g.replace("Mar", "Dec")), **kw)


def test_cohort_zero_is_refused_when_zero_is_a_period_and_booleans_are_0_1() -> None:
    df = staggered_panel(2, sizes={3: 10, 0: 10}, slopes={3: 1.0}, n_periods=5)
    zero_based = df.assign(t=df.t - 1, g=(df.g - 1.0).where(df.g > 0))  # periods 0..4, never treated as NaN
    kw = {"unit": "unit", "time": "t", "outcome": "y", "cohort": "g"}
    assert did(zero_based, **kw).att == pytest.approx(did(df, **kw).att, abs=1e-12)
    # a unit treated from period 0 given as cohort 0 would silently join the never treated
    with pytest.raises(SchemaError, match="0 is also a period"):
        did(zero_based.assign(g=zero_based.g.where(zero_based.unit != 0, 0.0)), **kw)
    # a boolean outcome is a 0/1 outcome (a linear probability model)
    flag = df.assign(y=df.y > df.y.median())
    assert did(flag, **kw).att == pytest.approx(did(flag.assign(y=flag.y.astype(float)), **kw).att, abs=1e-12)


def _small() -> pd.DataFrame:
    return staggered_panel(1, sizes={4: 8, 0: 8}, slopes={4: 1.0}, n_periods=5)


@pytest.mark.parametrize("mutate, fn, kwargs, error, match", [
    (lambda d: d.drop(index=[3]), staggered_did, {}, SchemaError, "balanced"),
    (lambda d: pd.concat([d, d.iloc[[0]]]), did, {}, SchemaError, "repeated"),
    (lambda d: d.assign(g=np.where(d.g > 0, 1, 0)), staggered_did, {}, SchemaError, "first period"),
    (lambda d: d.assign(y=2.0), did, {}, SchemaError, "constant"),
    (lambda d: d.assign(y=d.y.where(d.index != 5)), did, {}, SchemaError, "missing value"),
    (lambda d: d.assign(g=0), did, {}, SchemaError, "no unit is ever treated"),
    (lambda d: d.assign(g=2.5), did, {}, SchemaError, "not one of the periods"),
    (lambda d: d.assign(g=np.where(d.t == 5, 4, d.g)), did, {}, SchemaError, "same on every row"),
    (lambda d: d.drop(columns="y"), did, {}, SchemaError, "lacks column"),
    (lambda d: d.iloc[:0], did, {}, SchemaError, "empty"),
    (lambda d: d.assign(c=1), did, {"cluster": "c"}, ParameterError, "at least 2 clusters"),
    (lambda d: d.assign(g=1), did, {}, SchemaError, "every row is treated"),
    (lambda d: d, staggered_did, {"control": "nevertreated"}, ParameterError, "control must be one of"),
    (lambda d: d, staggered_did, {"n_boot": 10}, ParameterError, "n_boot"),
    (lambda d: d, staggered_did, {"uniform": True}, ParameterError, "n_boot"),
    (lambda d: d, did, {"alpha": 1.5}, ParameterError, "alpha"),
    (lambda d: d, event_study, {"window": (1, 3)}, ParameterError, "window"),
    (lambda d: d, event_study, {"window": (-2, 2), "reference": -5}, ParameterError, "reference"),
    (lambda d: d, event_study, {"window": (-2, 2), "reference": True}, ParameterError, "reference"),
    (lambda d: d.assign(c=1), staggered_did, {"cluster": "c"}, ParameterError, "at least 2 clusters"),
    (lambda d: d, event_study, {"window": (-2, 5)}, ParameterError, "event time 2"),
])
def test_bad_input_raises_one_clear_error(mutate, fn, kwargs, error, match) -> None:
    d = mutate(_small())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(error, match=match):
            fn(d, unit="unit", time="t", outcome="y", cohort="g", **kwargs)


def test_treatment_given_twice_or_not_absorbing_is_refused() -> None:
    d = _small().assign(on=lambda f: ((f.g > 0) & (f.t >= f.g)).astype(int))
    with pytest.raises(ParameterError, match="exactly one"):
        did(d, unit="unit", time="t", outcome="y", cohort="g", treated="on")
    with pytest.raises(ParameterError, match="exactly one"):
        did(d, unit="unit", time="t", outcome="y")
    with pytest.raises(SchemaError, match="0/1"):
        did(d.assign(on=d.on * 2), unit="unit", time="t", outcome="y", treated="on")
    flicker = d.assign(on=np.where(d.t == 5, 0, d.on))
    with pytest.raises(SchemaError, match="absorbing"):
        event_study(flicker, unit="unit", time="t", outcome="y", treated="on")
    # did() itself accepts a treatment that switches off
    assert np.isfinite(did(flicker, unit="unit", time="t", outcome="y", treated="on").att)


def test_few_clusters_warn_and_too_few_for_the_pretrend_test_refuse() -> None:
    d = _small()
    with pytest.warns(UserWarning, match="clusters"):
        did(d.assign(c=d.unit % 4), unit="unit", time="t", outcome="y", cohort="g", cluster="c")
    with pytest.warns(UserWarning, match="clusters"):
        staggered_did(d.assign(c=d.unit % 4), unit="unit", time="t", outcome="y", cohort="g", cluster="c")
    with pytest.raises(ParameterError, match="pre-trend test of 2 leads needs at least 3 clusters"):
        event_study(d.assign(c=d.unit % 2), unit="unit", time="t", outcome="y", cohort="g", cluster="c")
    # every treated unit adopting at once with no untreated unit: TWFE cannot identify the effect
    all_treated = d.assign(g=4)
    with pytest.raises(ParameterError, match="does not vary"):
        did(all_treated, unit="unit", time="t", outcome="y", cohort="g")


# ------------------------------------------------------------------------------------------------ plots
def test_plots_draw_the_tables() -> None:
    import matplotlib.pyplot as plt

    df = staggered_panel(5, sizes={4: 15, 6: 15, 0: 20}, slopes={4: 1.0, 6: 1.0}, n_periods=9)
    es = event_study(df, unit="unit", time="t", outcome="y", cohort="g", window=(-3, 2))
    fig = es.plot()
    ax = fig.axes[0]
    tab = es.table()
    drawn = np.concatenate([line.get_ydata() for line in ax.lines if line.get_marker() == "o"
                            and line.get_markerfacecolor() != "white"])
    assert np.allclose(np.sort(drawn), np.sort(tab.estimate))
    assert any(line.get_linestyle() == "--" and list(line.get_xdata()) == [-0.5, -0.5] for line in ax.lines)
    assert any(list(line.get_ydata()) == [0.0, 0.0] for line in ax.lines)  # the zero line
    ref = [line for line in ax.lines if line.get_markerfacecolor() == "white"]
    assert len(ref) == 1 and list(ref[0].get_xdata()) == [-1]
    plt.close(fig)
    cs = staggered_did(df, unit="unit", time="t", outcome="y", cohort="g")
    for f in (cs.plot(), cs.plot(kind="group_time"), did(df, unit="unit", time="t", outcome="y", cohort="g").plot()):
        assert f.axes and f.axes[0].has_data()
        plt.close(f)
    fig, ax = plt.subplots()
    assert cs.plot(ax=ax) is fig
    plt.close(fig)
    assert "pre-trend test" in str(es.summary()) and "pre-trend test" in str(cs.summary())
    assert "binned" in str(es.summary())  # window=(-3, 2) bins the end points; without a window nothing is binned
    assert "binned" not in str(event_study(df, unit="unit", time="t", outcome="y", cohort="g").summary())


# ---------------------------------------------------------------------------------------------- permutation inference
def _geo_panel(seed: int, n_geos: int = 9, n_treated: int = 3, effect: float = 0.0) -> pd.DataFrame:
    """Geos of very unequal size over 10 days, the last 4 with the first ``n_treated`` geos treated."""
    rng = np.random.default_rng(seed)
    size = 100 * rng.lognormal(0, 1.2, n_geos)
    rows = [(g, t, rng.poisson(size[g] * (1 + 0.05 * np.sin(t))) + effect * (g < n_treated and t >= 6),
             int(g < n_treated and t >= 6), rng.normal()) for g in range(n_geos) for t in range(10)]
    return pd.DataFrame(rows, columns=["geo", "day", "y", "tv", "x"])


def _brute_p(panel: pd.DataFrame, tau: float, covariates: str = "") -> float:
    """Fisher's p-value of a constant effect tau: every choice of 3 treated geos, the dummy regression refitted."""
    from itertools import combinations

    y0 = panel.y - tau * panel.tv
    formula = "y0 ~ d + C(geo) + C(day)" + (f" + {covariates}" if covariates else "")
    obs = smf.ols(formula, data=panel.assign(y0=y0, d=panel.tv)).fit().params["d"]
    hits = []
    for chosen in combinations(range(panel.geo.nunique()), 3):
        d = (panel.geo.isin(chosen) & (panel.day >= 6)).astype(int)
        hits.append(abs(smf.ols(formula, data=panel.assign(y0=y0, d=d)).fit().params["d"]) >= abs(obs) - 1e-9)
    return float(np.mean(hits))


@pytest.mark.parametrize("covariates", [(), ("x",)])
def test_permutation_inference_is_fishers_exact_test_inverted(covariates) -> None:
    panel = _geo_panel(1, effect=15.0)
    r = did(panel, unit="geo", time="day", outcome="y", treated="tv", covariates=covariates,
            inference="permutation")
    a, b, exact = r.permutations
    assert exact and len(a) == 84  # 9 choose 3 assignments, each once
    row = r.table().iloc[0]
    cov = " + ".join(covariates)
    assert row.p_value == pytest.approx(_brute_p(panel, 0.0, cov), abs=1e-12)
    assert row.std_error == pytest.approx(did(panel, unit="geo", time="day", outcome="y", treated="tv",
                                              covariates=covariates).table().std_error.iloc[0])
    # the bounds: just inside, the brute-force p-value exceeds alpha; just outside, it does not
    for bound, inward in ((row.lower, 1), (row.upper, -1)):
        assert np.isfinite(bound)
        assert _brute_p(panel, bound + inward * 1e-6, cov) > 0.05 >= _brute_p(panel, bound - inward * 1e-6, cov)
    # another level: the same inversion at 80%
    lo80, hi80 = r.conf_int(alpha=0.2)[["lower", "upper"]].iloc[0]
    assert row.lower < lo80 < row.estimate < hi80 < row.upper
    assert _brute_p(panel, hi80 - 1e-6, cov) > 0.2 >= _brute_p(panel, hi80 + 1e-6, cov)
    assert "randomisation inference" in str(r.summary())


def test_permutation_intervals_reject_a_true_null_at_most_at_their_level() -> None:
    # Fisher's test is exact under random assignment: over 200 panels of 3 treated geos among 12 (drawn at random)
    # and no effect, 0 falls outside the 95% interval with probability at most 5% each (Binomial(200, 0.05) is at
    # most 17 with probability 0.988 and below 2 with 0.0004; seeds 1000-1599 gave 4.5%, the cluster t 5.3%)
    outside = 0
    for seed in range(1000, 1200):
        panel = _geo_panel(seed, n_geos=12)
        chosen = np.random.default_rng([seed, 1]).choice(12, 3, replace=False)
        panel["tv"] = (panel.geo.isin(chosen) & (panel.day >= 6)).astype(int)
        row = did(panel, unit="geo", time="day", outcome="y", treated="tv", inference="permutation").table()
        outside += not bool(row.lower.iloc[0] <= 0 <= row.upper.iloc[0])
        assert (row.p_value.iloc[0] > 0.05) == bool(row.lower.iloc[0] <= 0 <= row.upper.iloc[0])
    assert 2 <= outside <= 17


def test_permutation_inference_refusals_and_random_reassignments() -> None:
    panel = _geo_panel(2, n_geos=16, n_treated=5)
    with pytest.warns(UserWarning, match="only 5 treated cluster"):
        did(panel, unit="geo", time="day", outcome="y", treated="tv")
    r = did(panel, unit="geo", time="day", outcome="y", treated="tv", inference="permutation", n_permutations=500,
            random_state=0)
    a, b, exact = r.permutations
    # 16 choose 5 = 4,368 assignments > 500: the observed one and 499 random ones
    assert not exact and len(a) == 500 and a[0] == pytest.approx(r.att) and b[0] == pytest.approx(1.0)
    assert "499 random reassignments" in str(r.summary())
    kw = dict(unit="geo", time="day", outcome="y", treated="tv")
    with pytest.raises(ParameterError, match="inference must be"):
        did(panel, **kw, inference="bootstrap")
    with pytest.raises(ParameterError, match="n_permutations must be an integer >= 100"):
        did(panel, **kw, inference="permutation", n_permutations=10)
    with pytest.raises(ParameterError, match="leave cluster=None"):
        did(panel.assign(region=panel.geo % 4), **kw, cluster="region", inference="permutation")
    with pytest.raises(ParameterError, match="needs a balanced panel"):
        did(panel.iloc[1:], **kw, inference="permutation")
