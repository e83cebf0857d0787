"""Trimmed Match: the package's published post-analysis figures, its own unit-test values, a brute-force
re-derivation of the estimator, coverage on simulated paired experiments, and refusals of bad designs."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from marketing360.errors import ParameterError, SchemaError
from marketing360.incrementality.geo.panel import geo_panel
from marketing360.incrementality.geo.trimmed_match import fit_trimmed_match, trimmed_match

TEST = ("2020-11-04", "2020-12-01")


@pytest.fixture(scope="module")
def example(need):
    return pd.read_csv(need("trimmed_match", "example_data_for_post_analysis.csv"))


# ------------------------------------------------------------------ the published post-analysis figures

def test_reproduces_the_post_analysis_colab_guide(example):
    # google/trimmed_match, trimmed_match/g3doc/Trimmed_Match_post_analysis_colab_guide.md (commit 0be8552),
    # "Cell 4": image_post_7.png prints, for example_data_for_post_analysis.csv with the colab's dates
    # (test 2020-11-04 .. 2020-12-01, notebook cell 3) and pairs_exclude "41,43" (image_post_1.png):
    #   estimate 0.212  std. error 0.093  trim_rate 0.20  ci_level 0.80  confidence interval [0.089, 0.352]
    #   cost = 187K   incremental response = 39.6K   treatment response = 79.3M   ... = 0.05%
    # the guide's 80% interval, with the package's normal critical value
    r = trimmed_match(example, test=TEST, exclude_pairs=[41, 43], alpha=0.2, inference="normal")
    t = r.table().set_index("metric")
    iroas = t.loc["iroas"]
    assert round(iroas["estimate"], 3) == 0.212
    assert round(iroas["std_error"], 3) == 0.093
    assert round(r.trim_rate, 2) == 0.20
    assert r.alpha == pytest.approx(0.2)  # the package's default confidence 0.80
    assert (round(iroas["lower"], 3), round(iroas["upper"], 3)) == (0.089, 0.352)
    assert round(r.incremental_cost / 1e3) == 187
    assert round(r.incremental_response / 1e2) == 396
    assert round(r.treatment_response / 1e5) == 793
    assert round(100 * r.incremental_response / r.treatment_response, 2) == 0.05
    # the test-period totals of the guide's image_post_2.png ("4 weeks test values")
    assert r.treatment_response == pytest.approx(79308458.10463902, rel=1e-12)
    assert r.incremental_cost == pytest.approx(186574.10402358978, rel=1e-12)
    # incremental response = iROAS x incremental cost, its bounds scaled alike (calculate_experiment_results)
    resp = t.loc["incremental_response"]
    assert resp["estimate"] == pytest.approx(iroas["estimate"] * r.incremental_cost)
    assert (resp["lower"], resp["upper"]) == pytest.approx((iroas["lower"] * r.incremental_cost,
                                                            iroas["upper"] * r.incremental_cost))
    assert t["pairs"].tolist() == [55, 55]
    # 11 of 55 pairs trimmed from each tail: the smallest and largest residuals dr - 0.212 dc
    eps = r.pairs["epsilon"].to_numpy()
    cut = np.sort(eps)[[10, 11, -12, -11]]
    assert r.pairs["trimmed"].sum() == 22
    assert (r.pairs.loc[r.pairs["trimmed"], "epsilon"].abs() >= min(abs(cut[0]), abs(cut[3]))).all()
    assert not r.pairs.loc[(eps > cut[1]) & (eps < cut[2]), "trimmed"].any()


def test_separate_pairs_table_gives_the_same_answer(example):
    design = example[["geo", "pair", "assignment"]].drop_duplicates()
    long = example[["date", "geo", "response", "cost"]]
    kw = {"test": TEST, "exclude_pairs": [41, 43], "inference": "normal"}
    a = trimmed_match(example, **kw)
    b = trimmed_match(long, pairs=design, **kw)
    c = trimmed_match(geo_panel(long, cost="cost"), pairs=design, **kw)
    for r in (b, c):
        pd.testing.assert_frame_equal(a.table(), r.table())


def test_pretest_responses_are_diagnostics_only(example):
    a = trimmed_match(example, test=TEST, exclude_pairs=[41, 43], inference="normal")
    b = trimmed_match(example, test=TEST, exclude_pairs=[41, 43], pre=("2020-09-03", "2020-10-01"),
                      inference="normal")
    pd.testing.assert_frame_equal(a.table(), b.table())
    d = pd.to_datetime(example["date"])
    pre = example[(d >= "2020-09-03") & (d <= "2020-10-01") & (example["pair"] == 30)]
    by_arm = pre.groupby("assignment")["response"].sum()
    row = b.pairs.set_index("pair").loc[30]
    assert (row["pre_treatment_response"], row["pre_control_response"]) == pytest.approx((by_arm[1], by_arm[2]))


def test_cooldown_adds_the_periods_after_the_test(example):
    # the colab's "Include the cooling down period": test + (test_end, cooldown_end]
    a = trimmed_match(example, test=TEST, cooldown_end="2020-12-16", exclude_pairs=[41, 43], inference="normal")
    b = trimmed_match(example, test=("2020-11-04", "2020-12-16"), exclude_pairs=[41, 43], inference="normal")
    pd.testing.assert_frame_equal(a.table(), b.table())


# ------------------------------------------------------------------ the package's own unit-test values

# google/trimmed_match, trimmed_match/core/estimator_test.cc (commit 0be8552), EstimatorInternalTest
DR1, DC1 = [1.0, 10.0, 3.0, 8.0], [1.0, 5.0, 2.0, 5.0]
DR2 = [552, -710, -961, -1218, -1293, -1824, 1816, 2073, -2416, -2559, 2603, 3073, 3288, 3137, 4016, 3905,
       4032, -4649, 5397, -6054, 6451, 7735, 8507, -9186, 9700, 9987, -11255, -13828, -14950, 20957, -38666, 43407]
DC2 = [89143, -111084, -163240, -201668, -213271, -311807, 313531, 350041, -425882, -439139, 431609, 509310,
       554237, 548335, 677060, 654552, 686768, -812570, 940149, -1019919, 1086827, 1333913, 1458086, -1550027,
       1676807, 1692128, -1927924, -2341819, -2533673, 3570161, -6614810, 7440206]
Z90 = 2 * (1 - stats.norm.cdf(1.64485363))  # the tests' normal quantile 1.64485363 -> alpha 0.1


def test_package_unit_test_small_example():
    f = fit_trimmed_match(DR1, DC1, trim_rate=0.0, alpha=Z90, inference="normal")  # TrimmedMatch1NoTrim
    assert (f.estimate, f.std_error, f.lower, f.upper) == pytest.approx((1.692, 0.138, 1.250, 1.905), abs=1e-3)
    f = fit_trimmed_match(DR1, DC1, trim_rate=0.25, alpha=Z90, inference="normal")  # TrimmedMatch1WithTrim
    assert (f.estimate, f.std_error, f.lower, f.upper) == pytest.approx((1.571, 0.041, -29.375, 1.619), abs=1e-3)
    # trimmed_match/estimator_test.py: the data-driven rate picks 0.25 from the candidates 0 and 0.25
    f = fit_trimmed_match(DR1, DC1, alpha=0.1, inference="normal")
    assert f.trim_rate == 0.25
    assert f.candidates.round(3).values.tolist() == [[0.0, 1.692, 0.138], [0.25, 1.571, 0.041]]
    assert sorted(np.flatnonzero(f.trimmed)) == [0, 1]


def test_package_unit_test_32_pairs():
    f = fit_trimmed_match(DR2, DC2, trim_rate=0.0, alpha=Z90, max_trim_rate=0.30,
                          inference="normal")  # TrimmedMatch2NoTrim
    assert (f.estimate, f.std_error, f.lower, f.upper) == pytest.approx(
        (0.005811, 0.000117, 0.005233, 0.006389), abs=1e-6)
    f = fit_trimmed_match(DR2, DC2, trim_rate=1 / 32, alpha=Z90, max_trim_rate=0.30,
                          inference="normal")  # TrimmedMatch2WithTrim
    assert (f.estimate, f.std_error, f.lower, f.upper) == pytest.approx(
        (0.005815, 0.000134, 0.005155, 0.006475), abs=1e-6)
    f = fit_trimmed_match(DR2, DC2, alpha=Z90, max_trim_rate=0.30, inference="normal")  # ...WithOptimTrim
    assert (f.estimate, f.std_error, f.trim_rate, f.lower, f.upper) == pytest.approx(
        (0.005833, 0.00003, 0.1875, 0.005684, 0.005982), abs=1e-6)
    expected = [0.00581123, 0.005815, 0.00582772, 0.00583428, 0.00583461, 0.00583399, 0.00583305,
                0.00583258, 0.005832, 0.00585823]
    assert f.candidates["iroas"].to_numpy() == pytest.approx(expected, abs=1e-6)
    assert f.candidates["trim_rate"].to_numpy() == pytest.approx(np.arange(10) / 32)


def test_package_tie_cases():
    # trimmed_match/estimator_test.py: tied spend, tied crossings, all equal; all-zero spend is refused
    assert fit_trimmed_match([1, 2, 3, 4, 5], [1, 1, 1, 1, 1]).estimate == pytest.approx(3.0)
    assert fit_trimmed_match([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]).estimate == pytest.approx(1.0)
    assert fit_trimmed_match([1, 1, 1, 1, 1], [1, 1, 1, 1, 1]).estimate == pytest.approx(1.0)
    with pytest.raises(ParameterError, match="iROAS .* is undefined"):
        fit_trimmed_match([1, 2, 3, 4, 5], [0, 0, 0, 0, 1e-15])
    # testTrimmedMatchCppError: no root when the untrimmed pairs' cost differences sum to 0
    with pytest.raises(ParameterError, match="no root at trim_rate 0.1"):
        fit_trimmed_match([1, 2, 3, 4], [-10, -1, 1, 10], trim_rate=0.1)


# ------------------------------------------------------------------ a brute-force re-derivation

def _trimmed_mean(theta, dr, dc, k):
    e = np.sort(dr - theta * dc)
    return e[k:len(e) - k].mean()


def _studentized(theta, dr, dc, k):
    e = np.sort(dr - theta * dc)
    n, m = len(e), len(e) - 2 * k
    w = np.clip(e, e[k], e[n - 1 - k])
    return e[k:n - k].mean() / np.sqrt(((w - w.mean()) ** 2).sum() / m / (m - 1))


def _reference(dr, dc, max_trim_rate, alpha, z=None):
    """Roots of the trimmed mean by evaluating it at every crossing (it is linear between them), the
    standard error of eq. 8.2 written out, the data-driven rate, and the interval by root-finding the
    studentised trimmed mean on a grid (against the normal quantile, or ``z``)."""
    rate, est, se, k = _choice(dr, dc, max_trim_rate)
    z = stats.norm.ppf(1 - alpha / 2) if z is None else z
    grid = np.linspace(est - 30 * se, est + 30 * se, 6001)
    ok = np.array([abs(_studentized(g, dr, dc, k)) <= z for g in grid])
    first, last = np.flatnonzero(ok)[[0, -1]]
    assert 0 < first and last < len(grid) - 1  # the region lies inside the grid
    g = lambda t: abs(_studentized(t, dr, dc, k)) - z  # noqa: E731
    lower = optimize.brentq(g, grid[first - 1], grid[first], xtol=1e-14)
    upper = optimize.brentq(g, grid[last], grid[last + 1], xtol=1e-14)
    return rate, est, se, lower, upper


def _choice(dr, dc, max_trim_rate):
    """The data-driven trim rate, its estimate, standard error and pairs trimmed per tail."""
    n = len(dr)
    i, j = np.triu_indices(n, 1)
    kinks = np.unique((dr[i] - dr[j]) / (dc[i] - dc[j]))
    span = kinks[-1] - kinks[0] + 1
    pts = np.concatenate([[kinks[0] - 1e3 * span], kinks, [kinks[-1] + 1e3 * span]])
    cands = []
    for k in range(int(np.floor(min(max_trim_rate, 0.5 - 1 / n) * n)) + 1):
        if k == 0:
            est = dr.sum() / dc.sum()
        else:
            vals = np.array([_trimmed_mean(p, dr, dc, k) for p in pts])
            roots = [p for p, v in zip(pts, vals) if v == 0]
            for a, b, va, vb in zip(pts[:-1], pts[1:], vals[:-1], vals[1:]):
                if va * vb < 0:
                    roots.append(a - va * (b - a) / (vb - va))
            norms = [np.abs(np.sort(dr - t * dc)[k:n - k] + np.sort(dr - t * dc)[::-1][k:n - k]).mean()
                     for t in roots]
            est = roots[int(np.argmin(norms))]
        res = dr - est * dc
        o = np.argsort(res)
        rs, cs = res[o], dc[o]
        win = np.clip(rs, rs[k], rs[n - 1 - k])
        se = np.sqrt((win ** 2).sum() / n) / (cs[k:n - k].sum() / n) / np.sqrt(n)
        cands.append((k / n, est, se, k))
    best = min(c[2] for c in cands)
    return next(c for c in cands if c[2] <= (1 + 0.25 / np.sqrt(n)) * best)


def _heavy_tailed_pairs(seed, n):
    """Pair differences of unequal sizes: iROAS 3, Student-t(3) noise."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0, 1, n)
    dc = size * rng.uniform(0.5, 1.5, n)
    return 3.0 * dc + size * rng.standard_t(3, n), dc


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_a_brute_force_rederivation(seed):
    n = 24
    dr, dc = _heavy_tailed_pairs(seed, n)
    f = fit_trimmed_match(dr, dc, alpha=0.2, inference="normal")
    rate, est, se, lower, upper = _reference(dr, dc, 0.25, 0.2)
    assert f.trim_rate == pytest.approx(rate)
    assert (f.estimate, f.std_error) == pytest.approx((est, se), rel=1e-9)
    assert (f.lower, f.upper) == pytest.approx((lower, upper), rel=1e-8)
    # another level: the test inverted again at 95% (the trim rate does not depend on the level)
    *_, lower95, upper95 = _reference(dr, dc, 0.25, 0.05)
    assert f.interval(0.05) == pytest.approx((lower95, upper95), rel=1e-8)
    # the p-value is the studentised trimmed mean's at iROAS = 0 (normal reference)
    k = round(f.trim_rate * n)
    assert f.p_value == pytest.approx(2 * stats.norm.sf(abs(_studentized(0.0, dr, dc, k))), rel=1e-9)


def _half_patterns(n):
    """Every sign pattern with the first sign +1."""
    return ([1.0, *rest] for rest in itertools.product([-1.0, 1.0], repeat=n - 1))


def _null(dr, dc, est, sign_rows, fixed_k=None):
    """|studentised trimmed mean| at ``est`` of each replicate ``est * dc + signs * eps`` at its own data-driven
    trim (or ``fixed_k``), by the brute-force functions above, sorted."""
    eps = dr - est * dc
    out = []
    for signs in sign_rows:
        star = est * dc + np.asarray(signs) * eps
        k = _choice(star, dc, 0.25)[3] if fixed_k is None else fixed_k
        out.append(abs(_studentized(est, star, dc, k)))
    return np.sort(out)


@pytest.mark.parametrize("seed", [0, 1])
def test_bootstrap_matches_a_brute_force_enumeration(seed):
    # the wild bootstrap written out: every sign pattern of the residuals at the estimate, each replicate's own
    # data-driven trim rate, its |studentised trimmed mean| at the estimate; the interval inverts the studentised
    # trimmed mean against the 90% quantile of those, the p-value counts those at least as large as the statistic
    # at iROAS = 0
    n = 8
    dr, dc = _heavy_tailed_pairs(seed, n)
    f = fit_trimmed_match(dr, dc, alpha=0.1)
    rate, est, se, k = _choice(dr, dc, 0.25)
    full = _null(dr, dc, est, itertools.product([-1.0, 1.0], repeat=n))
    # flipping every sign mirrors the fit around the estimate: each statistic comes twice, and the fit keeps
    # the half with the first sign +1
    half = _null(dr, dc, est, _half_patterns(n))
    assert full == pytest.approx(np.repeat(half, 2), rel=1e-9, abs=1e-12)
    assert f.exhaustive and f.null_statistics == pytest.approx(half, rel=1e-9, abs=1e-12)
    crit = half[int(np.ceil(0.9 * (len(half) - 1)))]  # the next replicate up from the 90% quantile
    assert f.critical_value == pytest.approx(crit, rel=1e-9)
    _, _, _, lower, upper = _reference(dr, dc, 0.25, 0.1, z=crit)
    assert (f.trim_rate, f.estimate) == pytest.approx((rate, est), rel=1e-9)
    assert (f.lower, f.upper) == pytest.approx((lower, upper), rel=1e-8)
    hits = np.sum(half >= abs(_studentized(0.0, dr, dc, k)) * (1 - 1e-12))
    assert f.p_value == pytest.approx((1 + hits) / (1 + len(half)))
    # another level: the same replicates' 70% quantile
    crit70 = half[int(np.ceil(0.7 * (len(half) - 1)))]
    *_, lower70, upper70 = _reference(dr, dc, 0.25, 0.3, z=crit70)
    assert f.interval(0.3) == pytest.approx((lower70, upper70), rel=1e-8)
    # a fixed trim rate: the replicates keep it
    g = fit_trimmed_match(dr, dc, alpha=0.1, trim_rate=0.0)
    fixed = _null(dr, dc, g.estimate, _half_patterns(n), 0)
    assert g.null_statistics == pytest.approx(fixed, rel=1e-9, abs=1e-12)


def test_bootstrap_with_random_sign_patterns():
    # 12 pairs: 2048 patterns, more than n_bootstrap=300: 300 random ones, the first sign fixed, drawn from
    # random_state as numpy draws them
    rng = np.random.default_rng(4)
    size = rng.lognormal(0, 1, 12)
    dc = size * rng.uniform(0.5, 1.5, 12)
    dr = 2 * dc + size * rng.standard_normal(12)
    a, b = (fit_trimmed_match(dr, dc, n_bootstrap=300, random_state=3) for _ in range(2))
    assert not a.exhaustive and (a.lower, a.upper, a.p_value) == (b.lower, b.upper, b.p_value)
    rest = np.random.default_rng(3).choice([-1.0, 1.0], size=(300, 11))
    est = _choice(dr, dc, 0.25)[1]
    ref = _null(dr, dc, est, np.column_stack([np.ones(300), rest]))
    assert a.null_statistics == pytest.approx(ref, rel=1e-9, abs=1e-12)
    hits = np.sum(ref >= abs(_studentized(0.0, dr, dc, a.n_trim)) * (1 - 1e-12))
    assert a.p_value == pytest.approx((1 + hits) / 301)
    other = fit_trimmed_match(dr, dc, n_bootstrap=300, random_state=4)
    assert not np.array_equal(other.null_statistics, a.null_statistics)
    # and every pattern when n_bootstrap allows: the random critical value is near the exact one
    exact = fit_trimmed_match(dr, dc, n_bootstrap=2048)
    assert exact.exhaustive and len(exact.null_statistics) == 2048
    assert a.critical_value == pytest.approx(exact.critical_value, rel=0.25)


def test_bootstrap_with_two_pairs_gives_an_unbounded_interval():
    # two pairs, no trimming: the residuals are (a, -a); the pattern (+, +) has equal winsorised values, so an
    # infinite statistic, and the 95% quantile of {0, inf} is inf: no finite interval
    f = fit_trimmed_match([1.0, 3.0], [1.0, 2.0])
    assert f.critical_value == np.inf and (f.lower, f.upper) == (-np.inf, np.inf)
    assert f.p_value > 0


def test_bootstrap_covers_where_the_normal_quantile_does_not():
    # eight pairs with heavy-tailed pair noise: the package's normal critical value covers the true iROAS in
    # about 80% of the 90% intervals, the bootstrap of the whole fit (trim-rate choice included) in about 90%
    rng = np.random.default_rng(11)
    hits = {"normal": 0, "bootstrap": 0}
    n_sims = 150
    for _ in range(n_sims):
        size = rng.lognormal(3, 0.5, 8)
        dc = size * rng.uniform(0.05, 0.15, 8)
        dr = 2.0 * dc + 0.15 * size * rng.standard_t(3, 8)
        for inference in hits:
            f = fit_trimmed_match(dr, dc, alpha=0.1, inference=inference)
            hits[inference] += f.lower <= 2.0 <= f.upper
    assert hits["normal"] / n_sims < 0.85
    assert 0.86 <= hits["bootstrap"] / n_sims <= 0.97


def test_bootstrap_settings():
    rng = np.random.default_rng(4)
    dc = rng.uniform(1, 2, 12)
    dr = 2 * dc + rng.standard_normal(12)
    for bad in (99, 2.5, True, "many"):
        with pytest.raises(ParameterError, match="n_bootstrap must be an integer >= 100"):
            fit_trimmed_match(dr, dc, n_bootstrap=bad)
    with pytest.raises(ParameterError, match="inference must be 'bootstrap' or 'normal'; found 't'"):
        fit_trimmed_match(dr, dc, inference="t")
    with pytest.raises(ParameterError, match="random_state must be"):
        fit_trimmed_match(dr, dc, n_bootstrap=100, random_state="seed")


# ------------------------------------------------------------------ simulated paired experiments

def _paired_experiment(rng, n_pairs=20, iroas=2.0, days=28):
    rows = []
    for p in range(n_pairs):
        size = rng.lognormal(3, 1)
        spend = size * rng.uniform(0.05, 0.15)
        for arm, geo in ((1, f"t{p}"), (2, f"c{p}")):
            base = size * (1 + 0.1 * rng.standard_normal()) * (1 + 0.05 * rng.standard_normal(days))
            cost = np.full(days, spend / days) if arm == 1 else np.zeros(days)
            rows.append(pd.DataFrame({"date": pd.date_range("2024-01-01", periods=days), "geo": geo,
                                      "response": base + iroas * cost, "cost": cost, "pair": p, "assignment": arm}))
    return pd.concat(rows, ignore_index=True)


def test_recovers_a_known_iroas_and_covers_it():
    # delta response = iROAS x delta cost + pair noise: the 80% interval covers the truth about 80% of the time
    rng = np.random.default_rng(7)
    hits, ests = 0, []
    n_sims = 300
    for _ in range(n_sims):
        n = 20
        size = rng.lognormal(3, 1, n)
        dc = size * rng.uniform(0.05, 0.15, n)
        dr = 2.0 * dc + 0.15 * size * rng.standard_normal(n)
        f = fit_trimmed_match(dr, dc, alpha=0.2, inference="normal")
        hits += f.lower <= 2.0 <= f.upper
        ests.append(f.estimate)
    assert 0.70 <= hits / n_sims <= 0.90
    assert abs(np.median(ests) - 2.0) < 0.1


def test_long_table_of_a_simulated_experiment():
    data = _paired_experiment(np.random.default_rng(3), iroas=2.0)
    r = trimmed_match(data, test=("2024-01-01", "2024-01-28"), alpha=0.1, random_state=5)
    # by hand: the pair differences over the test, then the estimator on them
    g = data.groupby(["pair", "assignment"])[["response", "cost"]].sum().unstack()
    ref = fit_trimmed_match((g["response"][1] - g["response"][2]).to_numpy(),
                            (g["cost"][1] - g["cost"][2]).to_numpy(), alpha=0.1, random_state=5)
    iroas = r.table().set_index("metric").loc["iroas"]
    assert (iroas["estimate"], iroas["lower"], iroas["upper"]) == pytest.approx((ref.estimate, ref.lower, ref.upper))
    assert r.incremental_cost == pytest.approx(g["cost"][1].sum())
    assert len(r.fit.null_statistics) == 1000  # 20 pairs: 1000 random sign patterns
    # another level: the same bootstrap's 70% quantile, the test inverted against it (the normal version: the
    # interval recomputed at the same trim rate)
    ci = r.conf_int(0.3).set_index("metric")
    dr, dc = (g["response"][1] - g["response"][2]).to_numpy(), (g["cost"][1] - g["cost"][2]).to_numpy()
    null = r.fit.null_statistics
    *_, lo70, hi70 = _reference(dr, dc, 0.25, 0.3, z=null[int(np.ceil(0.7 * (len(null) - 1)))])
    assert (ci.loc["iroas", "lower"], ci.loc["iroas", "upper"]) == pytest.approx((lo70, hi70), rel=1e-8)
    assert ci.loc["incremental_response", "lower"] == pytest.approx(lo70 * r.incremental_cost)
    rn = trimmed_match(data, test=("2024-01-01", "2024-01-28"), alpha=0.1, inference="normal")
    ref70 = fit_trimmed_match((g["response"][1] - g["response"][2]).to_numpy(),
                              (g["cost"][1] - g["cost"][2]).to_numpy(), alpha=0.3, trim_rate=r.trim_rate,
                              inference="normal")
    assert rn.fit.interval(0.3) == pytest.approx((ref70.lower, ref70.upper))
    for kind in ("pairs", "trim_rates"):
        fig = r.plot(kind=kind)
        assert len(fig.axes) == 1
        plt.close(fig)


# ------------------------------------------------------------------ refusals

@pytest.fixture(scope="module")
def small():
    return _paired_experiment(np.random.default_rng(11), n_pairs=6, days=10)


def test_pair_with_one_geo_is_refused(small):
    bad = small[small["geo"] != "c3"]
    with pytest.raises(SchemaError, match="exactly 2 geos"):
        trimmed_match(bad, test=("2024-01-01", "2024-01-10"))


def test_pair_with_both_geos_in_one_arm_is_refused(small):
    bad = small.assign(assignment=np.where(small["geo"] == "c2", 1, small["assignment"]))
    with pytest.raises(SchemaError, match="same arm"):
        trimmed_match(bad, test=("2024-01-01", "2024-01-10"))


def test_other_assignment_values_are_refused(small):
    bad = small.assign(assignment=np.where(small["pair"] == 0, -1, small["assignment"]))
    with pytest.raises(SchemaError, match=r"values \['-1'\] besides treatment=1 and control=2"):
        trimmed_match(bad, test=("2024-01-01", "2024-01-10"))
    # labels name the arms of another coding
    relabelled = small.assign(assignment=small["assignment"].map({1: "Treatment", 2: "Control"}))
    a = trimmed_match(relabelled, test=("2024-01-01", "2024-01-10"), labels=("Treatment", "Control"))
    b = trimmed_match(small, test=("2024-01-01", "2024-01-10"))
    pd.testing.assert_frame_equal(a.table(), b.table())


def test_geo_with_two_pairs_is_refused(small):
    bad = small.assign(pair=np.where((small["geo"] == "t1") & (small["date"] == small["date"].iloc[0]), 9,
                                     small["pair"]))
    with pytest.raises(SchemaError, match="one value per location"):
        trimmed_match(bad, test=("2024-01-01", "2024-01-10"))


def test_test_window_out_of_range_is_refused(small):
    with pytest.raises(ParameterError, match="out of the panel's range"):
        trimmed_match(small, test=("2024-01-05", "2024-02-10"))
    with pytest.raises(ParameterError, match="starts after it ends"):
        trimmed_match(small, test=("2024-01-08", "2024-01-02"))


def test_zero_cost_difference_everywhere_is_refused(small):
    with pytest.raises(SchemaError, match="iROAS is undefined"):
        trimmed_match(small.assign(cost=1.0), test=("2024-01-01", "2024-01-10"))


def test_missing_columns_and_bad_settings_are_refused(small):
    with pytest.raises(SchemaError, match="'pair'"):
        trimmed_match(small.drop(columns="pair"), test=("2024-01-01", "2024-01-10"))
    with pytest.raises(ParameterError, match="pairs="):
        trimmed_match(geo_panel(small, cost="cost"), test=("2024-01-01", "2024-01-10"))
    with pytest.raises(ParameterError, match="trim_rate must be in"):
        trimmed_match(small, test=("2024-01-01", "2024-01-10"), trim_rate=0.4)
    with pytest.raises(ParameterError, match="at least 2 pairs"):
        fit_trimmed_match([1.0], [1.0])


# ------------------------------------------------------------------ review fixes: edge inputs

def test_exclude_pairs_names_pairs_of_the_design(small):
    test = ("2024-01-01", "2024-01-10")
    one = trimmed_match(small, test=test, exclude_pairs=[3])
    assert one.table()["pairs"].tolist() == [5, 5] and 3 not in one.pairs["pair"].tolist()
    # one id alone, as a number or as text, is that pair (not the characters of a string)
    for alone in (3, "3", 3.0):
        pd.testing.assert_frame_equal(trimmed_match(small, test=test, exclude_pairs=alone).table(), one.table())
    with pytest.raises(ParameterError, match=r"exclude_pairs names pairs \['12'\] that are not in the design"):
        trimmed_match(small, test=test, exclude_pairs="12")  # pairs 0 .. 5: not pairs 1 and 2
    with pytest.raises(ParameterError, match=r"pairs \[99\] that are not in the design"):
        trimmed_match(small, test=test, exclude_pairs=[3, 99])
    assert "5 pairs (1 excluded)" in one.summary().notes[0]


def test_the_fit_keeps_its_data_for_other_levels():
    # the interval at another level is the fit's own: no other data can be passed in
    f = fit_trimmed_match(DR1, DC1, trim_rate=0.0, alpha=Z90, inference="normal")
    assert f.interval(Z90) == pytest.approx((f.lower, f.upper), rel=1e-12)
    assert f.delta_response.tolist() == DR1 and f.delta_cost.tolist() == DC1
    # trimmed_match/core/estimator_test.cc, TrimmedMatch1NoTrim: [1.250, 1.905] at the quantile 1.64485363
    assert f.interval(Z90) == pytest.approx((1.250, 1.905), abs=1e-3)


def test_any_table_open_table_accepts(small):
    import ibis
    import polars as pl

    test = ("2024-01-01", "2024-01-10")
    ref = trimmed_match(small, test=test).table()
    con = ibis.duckdb.connect()
    design = small[["geo", "pair", "assignment"]].drop_duplicates()
    for data in (pl.from_pandas(small), con.create_table("tm_panel", small),
                 small.assign(date=small["date"].dt.strftime("%Y-%m-%d"))):
        pd.testing.assert_frame_equal(trimmed_match(data, test=test).table(), ref)
    long = con.create_table("tm_long", small[["date", "geo", "response", "cost"]])
    pd.testing.assert_frame_equal(trimmed_match(long, pairs=pl.from_pandas(design), test=test).table(), ref)
    # integer geo ids in the panel and text ids in the pairs table meet as text
    ids = {g: i for i, g in enumerate(sorted(small["geo"].unique()))}
    as_int = small.assign(geo=small["geo"].map(ids))
    as_text = design.assign(geo=design["geo"].map(ids).astype(str))
    pd.testing.assert_frame_equal(
        trimmed_match(as_int[["date", "geo", "response", "cost"]], pairs=as_text, test=test).table(), ref)


def test_errors_name_the_analysis(small):
    design = small[["geo", "pair", "assignment"]].drop_duplicates().rename(columns={"geo": "unit"})
    with pytest.raises(SchemaError, match=r"^trimmed_match pairs table: no location column"):
        trimmed_match(small[["date", "geo", "response", "cost"]], pairs=design, test=("2024-01-01", "2024-01-10"))
    with pytest.raises(ParameterError, match="kind must be 'pairs' or 'trim_rates'"):
        trimmed_match(small, test=("2024-01-01", "2024-01-10")).plot(kind="lines")


@pytest.mark.parametrize("n", [2, 3])
def test_two_or_three_pairs(n):
    # at most 0.5 - 1/n of the pairs may be trimmed from each tail: none with 2 or 3 pairs (the ratio estimator);
    # the interval still inverts the studentised mean (brute force above)
    dr, dc = np.array([1.0, 3.0, 2.5])[:n], np.array([1.0, 2.0, 1.5])[:n]
    f = fit_trimmed_match(dr, dc, alpha=0.2, inference="normal")
    rate, est, se, lower, upper = _reference(dr, dc, 0.25, 0.2)
    assert (f.trim_rate, rate) == (0.0, 0.0)
    assert f.estimate == pytest.approx(dr.sum() / dc.sum(), rel=1e-12)
    assert (f.std_error, f.lower, f.upper) == pytest.approx((se, lower, upper), rel=1e-8)
    with pytest.raises(ParameterError, match="trim_rate must be in"):
        fit_trimmed_match(dr, dc, trim_rate=0.2)


def test_a_missing_date_geo_row_is_named(small):
    # the package's check_input_data reads a missing row as 0; here the panel must be balanced, and says where not
    with pytest.raises(SchemaError, match=r"1 \(date, location\) cells have no row, e.g. \[\('2024-01-01"):
        trimmed_match(small.iloc[1:], test=("2024-01-01", "2024-01-10"))


def test_too_many_pairs_is_refused_before_memory_runs_out():
    from marketing360.incrementality.geo.trimmed_match import MAX_PAIRS, fit_trimmed_match

    n = MAX_PAIRS + 1
    with pytest.raises(ParameterError, match=f"at most {MAX_PAIRS:,} pairs"):
        fit_trimmed_match(np.ones(n), np.arange(n, dtype=float))
