"""Experiment readouts: against Hillstrom's published figures, scipy, statsmodels and hand computations."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import marketing360 as m3
from marketing360.errors import ParameterError, SchemaError
from marketing360.incrementality.experiments import ab_test, experiment


@pytest.fixture(scope="module")
def hillstrom(need) -> pd.DataFrame:
    return pd.read_csv(need("hillstrom", "hillstrom.csv"))


def test_hillstrom_published_segment_means(hillstrom):
    # Kevin Hillstrom's own summary of the challenge data (MineThatData blog, "The MineThatData E-Mail Analytics
    # And Data Mining Challenge", March 2008; repeated in scikit-uplift's Hillstrom tutorial): visit 18.3% /
    # 15.1% / 10.6%, conversion 1.25% / 0.88% / 0.57%, spend $1.42 / $1.08 / $0.65 for Mens / Womens / No E-Mail.
    r = ab_test(hillstrom, arm="segment", outcomes=["visit", "conversion", "spend"], control="No E-Mail")
    t = r.table().set_index(["metric", "arm"])
    published = {"visit": (0.183, 0.151, 0.106), "conversion": (0.0125, 0.0088, 0.0057),
                 "spend": (1.42, 1.08, 0.65)}
    for metric, (mens, womens, none) in published.items():
        digits = 3 if metric == "visit" else 4 if metric == "conversion" else 2
        assert round(t.loc[(metric, "Mens E-Mail"), "treatment_mean"], digits) == mens
        assert round(t.loc[(metric, "Womens E-Mail"), "treatment_mean"], digits) == womens
        assert round(t.loc[(metric, "Mens E-Mail"), "control_mean"], digits) == none
    # the lifts Hillstrom quotes: the men's e-mail adds 7.7 points of visits, the women's 4.5
    assert t.loc[("visit", "Mens E-Mail"), "estimate"] == pytest.approx(0.0766, abs=5e-4)
    assert t.loc[("visit", "Womens E-Mail"), "estimate"] == pytest.approx(0.0452, abs=5e-4)
    visit = t.loc["visit"]
    assert visit.n_treatment.sum() + visit.n_control.iloc[0] == 64_000


def test_welch_equals_scipy(hillstrom):
    r = ab_test(hillstrom, arm="segment", outcomes=["spend"], control="No E-Mail", correction="none")
    t = r.table().set_index("arm")
    for arm in ("Mens E-Mail", "Womens E-Mail"):
        a = hillstrom.loc[hillstrom.segment == arm, "spend"]
        b = hillstrom.loc[hillstrom.segment == "No E-Mail", "spend"]
        ref = stats.ttest_ind(a, b, equal_var=False)
        assert t.loc[arm, "estimate"] == pytest.approx(a.mean() - b.mean(), rel=1e-12)
        assert t.loc[arm, "estimate"] / t.loc[arm, "std_error"] == pytest.approx(ref.statistic, rel=1e-9)
        assert t.loc[arm, "p_value"] == pytest.approx(ref.pvalue, rel=1e-6)
        assert t.loc[arm, "dof"] == pytest.approx(ref.df, rel=1e-9)
        lo, hi = ref.confidence_interval(0.95)
        assert (t.loc[arm, "lower"], t.loc[arm, "upper"]) == pytest.approx((lo, hi), rel=1e-9)
    # another level recomputes the t interval
    ci = r.conf_int(0.1).set_index("arm")
    a = hillstrom.loc[hillstrom.segment == "Mens E-Mail", "spend"]
    b = hillstrom.loc[hillstrom.segment == "No E-Mail", "spend"]
    lo, hi = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.9)
    assert ci.loc["Mens E-Mail", "lower"] == pytest.approx(lo, rel=1e-9)


def _units(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.choice(["control", "a", "b"], n)
    pre = rng.gamma(2.0, 5.0, n)
    age = rng.normal(40, 10, n)
    y = 2 + 0.8 * pre + 0.05 * age + rng.normal(0, 3, n) + np.where(arm == "a", 1.0, 0.0)
    return pd.DataFrame({"arm": arm, "pre": pre, "age": age, "y": y})


def test_cuped_equals_ols_and_hand_computation():
    u = _units()
    r = ab_test(u, arm="arm", outcomes=["y"], covariates=["pre"], correction="none")
    t = r.table().set_index("arm")
    # OLS with arm dummies and the covariate: the within-arm pooled slope is CUPED's theta, so the arm
    # coefficients are the adjusted differences exactly
    ols = smf.ols("y ~ C(arm, Treatment('control')) + pre", data=u).fit()
    for arm in ("a", "b"):
        assert t.loc[arm, "estimate"] == pytest.approx(ols.params[f"C(arm, Treatment('control'))[T.{arm}]"],
                                                       rel=1e-9)
    # by hand: theta from pooled within-arm moments, y adjusted, Welch on the adjusted values
    dm = u.groupby("arm")[["y", "pre"]].transform(lambda s: s - s.mean())
    theta = (dm.y * dm.pre).sum() / (dm.pre ** 2).sum()
    adj = u.y - theta * (u.pre - u.pre.mean())
    for arm in ("a", "b"):
        ref = stats.ttest_ind(adj[u.arm == arm], adj[u.arm == "control"], equal_var=False)
        assert t.loc[arm, "std_error"] == pytest.approx((adj[u.arm == arm].mean() - adj[u.arm == "control"].mean())
                                                        / ref.statistic, rel=1e-9)
        raw = stats.ttest_ind(u.y[u.arm == arm], u.y[u.arm == "control"], equal_var=False)
        raw_se = (u.y[u.arm == arm].mean() - u.y[u.arm == "control"].mean()) / raw.statistic
        assert t.loc[arm, "variance_reduction"] == pytest.approx(1 - (t.loc[arm, "std_error"] / raw_se) ** 2,
                                                                 rel=1e-9)
        assert t.loc[arm, "variance_reduction"] == pytest.approx(32 / 41.25, abs=0.04)  # R² of pre in y
    # two covariates: OLS again
    r2 = ab_test(u, arm="arm", outcomes=["y"], covariates=["pre", "age"]).table().set_index("arm")
    ols2 = smf.ols("y ~ C(arm, Treatment('control')) + pre + age", data=u).fit()
    assert r2.loc["a", "estimate"] == pytest.approx(ols2.params["C(arm, Treatment('control'))[T.a]"], rel=1e-9)


def test_holm_by_hand_and_relative_lift():
    u = _units(seed=1)
    u["z"] = u.y * 2 + np.random.default_rng(5).normal(0, 40, len(u))
    r = ab_test(u, arm="arm", outcomes=["y", "z"], correction="holm").table()
    p = r.p_value.to_numpy()
    order = np.argsort(p)
    m = len(p)
    holm = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        holm[i] = running
    assert r.p_adjusted.to_numpy() == pytest.approx(holm, rel=1e-12)
    bonf = ab_test(u, arm="arm", outcomes=["y", "z"], correction="bonferroni").table()
    assert bonf.p_adjusted.to_numpy() == pytest.approx(np.minimum(1, 4 * p), rel=1e-12)
    row = r.set_index(["metric", "arm"]).loc[("y", "a")]
    yt, yc = u.y[u.arm == "a"], u.y[u.arm == "control"]
    assert row.relative == pytest.approx(yt.mean() / yc.mean() - 1, rel=1e-12)
    se = np.sqrt(yt.var() / len(yt) / yc.mean() ** 2 + yt.mean() ** 2 * yc.var() / len(yc) / yc.mean() ** 4)
    assert row.relative_upper - row.relative == pytest.approx(stats.norm.ppf(0.975) * se, rel=1e-9)


def test_bootstrap_close_to_welch_and_deterministic():
    u = _units(n=3000, seed=2)
    normal = ab_test(u, arm="arm", outcomes=["y"], covariates=["pre"]).table().set_index("arm")
    boot = ab_test(u, arm="arm", outcomes=["y"], covariates=["pre"], interval="bootstrap", n_boot=400,
                   random_state=3)
    b = boot.table().set_index("arm")
    width_n = normal.upper - normal.lower
    width_b = b.upper - b.lower
    assert ((width_b / width_n) - 1).abs().max() < 0.15
    again = ab_test(u, arm="arm", outcomes=["y"], covariates=["pre"], interval="bootstrap", n_boot=400,
                    random_state=3).table().set_index("arm")
    assert again.lower.equals(b.lower)
    half = boot.conf_int(0.5).set_index("arm")
    assert list(half.columns) == ["metric", "estimand", "lower", "upper"]
    assert ((half.upper - half.lower) < 0.5 * width_b).all()


def _toy_world():
    """Events and an assignment whose per-user metrics are easy to count by hand."""
    rng = np.random.default_rng(7)
    n = 600
    users = pd.DataFrame({"user_id": np.arange(n), "arm": rng.choice(["control", "treatment"], n)})
    users["exposed"] = rng.random(n) < 0.6
    rows = []
    for u, arm in zip(users.user_id, users.arm):
        for _ in range(rng.poisson(2.0 if arm == "treatment" else 1.6)):
            day = int(rng.integers(0, 40))
            kind = rng.choice(["browse", "purchase", "cart"], p=[0.5, 0.3, 0.2])
            rows.append((u, pd.Timestamp("2025-03-01") + pd.Timedelta(days=day, hours=int(rng.integers(24))), kind,
                         float(rng.gamma(2, 20)) if kind == "purchase" else None))
    ev = pd.DataFrame(rows, columns=["user_id", "ts", "event_type", "value"])
    return ev, users


def _reference_units(ev, users, start, end, pre_start):
    def per_user(lo, hi, prefix):
        w = ev[(ev.ts >= lo) & (ev.ts < hi)]
        buy = w[w.event_type == "purchase"]
        g = pd.DataFrame({f"{prefix}conversion": buy.groupby("user_id").size().gt(0).astype(float),
                          f"{prefix}revenue": buy.groupby("user_id").value.sum(),
                          f"{prefix}visit": w[w.event_type == "browse"].groupby("user_id").size().gt(0)
                          .astype(float)})
        return g.reindex(users.user_id).fillna(0.0).reset_index(drop=True)

    return pd.concat([users.reset_index(drop=True), per_user(pd.Timestamp(start), pd.Timestamp(end), ""),
                      per_user(pd.Timestamp(pre_start), pd.Timestamp(start), "pre_")], axis=1)


def test_experiment_on_engines_matches_pandas_reference(engine):
    ev, users = _toy_world()
    ref_units = _reference_units(ev, users, "2025-03-20", "2025-04-10", "2025-03-01")
    ref = ab_test(ref_units, arm="arm", outcomes=["conversion", "revenue", "visit"],
                  covariates={m: [f"pre_{m}"] for m in ("conversion", "revenue", "visit")}, exposed="exposed")
    # a pandas assignment next to events on the engine is read there
    # both ends included: the test runs on 2025-03-20 .. 2025-04-09, the reference's [start, end)
    got = experiment(engine.table(ev), users, start="2025-03-20", end="2025-04-09",
                     pre_start="2025-03-01", metrics=["conversion", "revenue", "visit"], exposed="exposed")
    cols = ["estimate", "std_error", "lower", "upper", "p_value", "treatment_mean", "control_mean",
            "variance_reduction", "n_treatment", "n_control"]
    pd.testing.assert_frame_equal(got.table()[cols], ref.table()[cols], rtol=1e-9)
    assert set(got.table().estimand) == {"itt", "tot"}
    # the effect on the exposed (ghost-ads design) is the readout of the exposed users alone
    exp_only = ab_test(ref_units[ref_units.exposed], arm="arm", outcomes=["revenue"],
                       covariates=["pre_revenue"]).table()
    tot = got.table().query("estimand == 'tot' and metric == 'revenue'")
    assert tot.estimate.iloc[0] == pytest.approx(exp_only.estimate.iloc[0], rel=1e-9)
    # string user ids; ids of two kinds, a pre-period without events and a brand without events are named
    named = experiment(engine.table(ev.assign(user_id="u" + ev.user_id.astype(str))),
                       engine.table(users.assign(user_id="u" + users.user_id.astype(str))), start="2025-03-20",
                       end="2025-04-10", pre_start="2025-03-01", metrics=["revenue"])
    assert named.table().estimate.iloc[0] == pytest.approx(
        ref.table().query("metric == 'revenue' and estimand == 'itt'").estimate.iloc[0], rel=1e-9)
    with pytest.raises(SchemaError, match="user_id is string in the assignment but int64 in the events"):
        experiment(engine.table(ev), users.assign(user_id=users.user_id.astype(str)), start="2025-03-20",
                   end="2025-04-10")
    with pytest.raises(SchemaError, match=r"pre-period \[2025-01-01, 2025-03-01\) .*cuped=False"):
        experiment(engine.table(ev), users, start="2025-03-01", end="2025-04-10", pre_start="2025-01-01",
                   metrics=["revenue"])
    if engine.name == "duckdb":  # the same empty join as the pre-period's: once is enough on the JVM
        with pytest.raises(SchemaError, match="outcome 'revenue' is constant"):
            experiment(engine.table(ev.assign(brand="acme")), users, start="2025-03-01", end="2025-04-10",
                       brand="zzz", metrics=["revenue"])


def test_centred_sums_on_engines(engine):
    # values around 1e8 with a spread of 1: the engines' centred covariances keep the variance that
    # sum(y^2) - n mean^2 loses entirely; the reference is numpy's two-pass variance
    rng = np.random.default_rng(5)
    n = 20_000
    arm = rng.choice(["control", "t"], n)
    exposed = rng.random(n) < 0.5
    pre = 1e8 + rng.normal(0, 1, n)
    y = pre + rng.normal(0, 1, n)
    u = pd.DataFrame({"arm": arm, "exposed": exposed, "y": y, "pre": pre})
    r = ab_test(engine.table(u), arm="arm", outcomes=["y"], covariates=["pre"], exposed="exposed").table()
    r = r.set_index("estimand")
    for estimand, sub in (("itt", u), ("tot", u[u.exposed])):
        t, c = (sub.arm == "t").to_numpy(), (sub.arm == "control").to_numpy()
        yy, xx = sub.y.to_numpy(), sub.pre.to_numpy()
        dy = yy - np.where(t, yy[t].mean(), yy[c].mean())
        dx = xx - np.where(t, xx[t].mean(), xx[c].mean())
        adj = yy - (dy * dx).sum() / (dx ** 2).sum() * xx
        se = np.sqrt(adj[t].var(ddof=1) / t.sum() + adj[c].var(ddof=1) / c.sum())
        assert r.loc[estimand, "std_error"] == pytest.approx(se, rel=1e-6)
        assert r.loc[estimand, "variance_reduction"] == pytest.approx(
            1 - se ** 2 / (yy[t].var(ddof=1) / t.sum() + yy[c].var(ddof=1) / c.sum()), rel=1e-5)


def _iv_sandwich(y: np.ndarray, d: np.ndarray, z: np.ndarray) -> tuple[float, float]:
    """Textbook just-identified IV (instrument z for d, with an intercept): the estimate and its
    heteroskedasticity-robust (HC0) sandwich standard error."""
    X = np.column_stack([np.ones_like(y), d])
    Z = np.column_stack([np.ones_like(y), z])
    b = np.linalg.solve(Z.T @ X, Z.T @ y)
    u = y - X @ b
    bread = np.linalg.inv(Z.T @ X)
    cov = bread @ (Z.T * u ** 2) @ Z @ bread.T
    return float(b[1]), float(np.sqrt(cov[1, 1]))


def _exposed_only_in_treatment(n: int = 6000, seed: int = 0) -> pd.DataFrame:
    # two treatment arms with their own reach; the reached are the more active consumers (exposure selects on
    # the outcome's level), and only the reached respond
    rng = np.random.default_rng(seed)
    arm = rng.choice(["control", "a", "b"], n)
    act = rng.normal(0, 1, n)
    reach = np.where(arm == "a", 0.35, 0.8)
    exposed = (arm != "control") & (rng.random(n) < 1 / (1 + np.exp(-(np.log(reach / (1 - reach)) + 1.5 * act))))
    pre = 5 + 2 * act + rng.normal(0, 1, n)
    y = 5 + 2 * act + rng.normal(0, 1, n) + exposed * np.where(arm == "a", 3.0, 5.0)
    return pd.DataFrame({"arm": arm, "exposed": exposed, "pre": pre, "y": y})


def test_wald_effect_on_treated_per_arm_with_the_delta_method_se():
    u = _exposed_only_in_treatment()
    r = ab_test(u, arm="arm", outcomes=["y"], exposed="exposed", control_exposure=False, correction="none")
    t = r.table().set_index(["estimand", "arm"])
    for arm in ("a", "b"):
        pair = u[u.arm.isin([arm, "control"])]
        z = (pair.arm == arm).to_numpy(float)
        # the effect on the treated of each arm is its own ITT over its own exposure rate (a mix-up of the arms'
        # rows gave arm a twice)
        rate = pair.exposed[z == 1].mean()
        assert t.loc[("tot", arm), "exposure_rate"] == pytest.approx(rate)
        assert t.loc[("tot", arm), "estimate"] == pytest.approx(t.loc[("itt", arm), "estimate"] / rate, rel=1e-12)
        # the standard error counts the exposure rate's sampling error: the two-stage least squares sandwich
        # (ITT / rate alone overstated it by 20-45% here, as the exposed are the active consumers)
        est, se = _iv_sandwich(pair.y.to_numpy(), pair.exposed.to_numpy(float), z)
        assert t.loc[("tot", arm), "estimate"] == pytest.approx(est, rel=1e-9)
        assert t.loc[("tot", arm), "std_error"] == pytest.approx(se, rel=2e-3)  # per-arm n - 1 against HC0's n
        assert t.loc[("tot", arm), "std_error"] < 0.85 * t.loc[("itt", arm), "std_error"] / rate
    # with CUPED: the same sandwich on the covariate-adjusted outcome (theta pooled within arms, held fixed)
    c = ab_test(u, arm="arm", outcomes=["y"], covariates=["pre"], exposed="exposed", control_exposure=False)
    ct = c.table().set_index(["estimand", "arm"])
    dm = u.groupby("arm")[["y", "pre"]].transform(lambda s: s - s.mean())
    theta = (dm.y * dm.pre).sum() / (dm.pre ** 2).sum()
    pair = u[u.arm.isin(["b", "control"])]
    adj = (pair.y - theta * pair.pre).to_numpy()
    est, se = _iv_sandwich(adj, pair.exposed.to_numpy(float), (pair.arm == "b").to_numpy(float))
    assert ct.loc[("tot", "b"), "estimate"] == pytest.approx(est, rel=1e-9)
    assert ct.loc[("tot", "b"), "std_error"] == pytest.approx(se, rel=2e-3)
    # intervals at another level use the same standard error and degrees of freedom
    ci = c.conf_int(0.1).set_index(["estimand", "arm"])
    q = stats.t.ppf(0.95, ct.loc[("tot", "b"), "dof"])
    assert ci.loc[("tot", "b"), "upper"] == pytest.approx(ct.loc[("tot", "b"), "estimate"]
                                                          + q * ct.loc[("tot", "b"), "std_error"], rel=1e-12)


def test_wald_from_events():
    ev, users = _toy_world()
    users.loc[users.arm == "control", "exposed"] = False  # exposure logged in treatment only
    r = experiment(ev, users, start="2025-03-01", end="2025-04-15", metrics=["revenue"], exposed="exposed",
                   control_exposure=False).table().set_index("estimand")
    ref = _reference_units(ev, users, "2025-03-01", "2025-04-15", "2025-02-01")
    est, se = _iv_sandwich(ref.revenue.to_numpy(), ref.exposed.to_numpy(float),
                           (ref.arm == "treatment").to_numpy(float))
    assert r.loc["tot", "exposure_rate"] == pytest.approx(users.loc[users.arm == "treatment", "exposed"].mean())
    assert r.loc["tot", "estimate"] == pytest.approx(est, rel=1e-9)
    assert r.loc["tot", "std_error"] == pytest.approx(se, rel=3e-3)
    users.loc[0, ["arm", "exposed"]] = ["control", True]
    with pytest.raises(SchemaError, match="control units are marked exposed"):
        experiment(ev, users, start="2025-03-01", end="2025-04-15", metrics=["revenue"], exposed="exposed",
                   control_exposure=False)


def test_large_values_with_a_small_spread_keep_their_variance():
    # revenue around 1e6 with a spread of 1: sum(y^2) - n mean^2 cancels all but a few digits, so the sums are
    # centred; the reference is numpy's two-pass variance
    rng = np.random.default_rng(0)
    n = 1_000_000
    arm = rng.choice(["control", "t"], n)
    pre = 1e6 + rng.normal(0, 1, n)
    y = pre + rng.normal(0, 1, n) + np.where(arm == "t", 0.01, 0.0)
    u = pd.DataFrame({"arm": arm, "y": y, "pre": pre})
    t, c = arm == "t", arm == "control"
    raw = ab_test(u, arm="arm", outcomes=["y"]).table().iloc[0]
    se = np.sqrt(y[t].var(ddof=1) / t.sum() + y[c].var(ddof=1) / c.sum())
    assert raw.std_error == pytest.approx(se, rel=1e-7)
    assert raw.estimate == pytest.approx(y[t].mean() - y[c].mean(), abs=1e-4 * se)
    cuped = ab_test(u, arm="arm", outcomes=["y"], covariates=["pre"]).table().iloc[0]
    dy, dx = y - np.where(t, y[t].mean(), y[c].mean()), pre - np.where(t, pre[t].mean(), pre[c].mean())
    theta = (dy * dx).sum() / (dx ** 2).sum()
    adj = y - theta * pre
    se = np.sqrt(adj[t].var(ddof=1) / t.sum() + adj[c].var(ddof=1) / c.sum())
    assert cuped.std_error == pytest.approx(se, rel=1e-7)
    assert cuped.estimate == pytest.approx(adj[t].mean() - adj[c].mean(), abs=1e-3 * se)
    assert cuped.variance_reduction == pytest.approx(1 - se ** 2 / raw.std_error ** 2, rel=1e-6)


def test_bootstrap_replicates_line_up_with_rows():
    # two outcomes, two treatment arms, ITT and ghost-ads rows: each row's effect is far from the others', so a
    # replicate column read against the wrong row would miss it
    rng = np.random.default_rng(4)
    n = 3000
    arm = rng.choice(["control", "a", "b"], n)
    exposed = rng.random(n) < 0.5
    pre = rng.normal(10, 2, n)
    lift = {"a": 1.0, "b": 3.0, "control": 0.0}
    y1 = pre + rng.normal(0, 1, n) + np.vectorize(lift.get)(arm) * (1 + 2 * exposed)
    y2 = rng.normal(50, 5, n) - 10 * np.vectorize(lift.get)(arm) * exposed
    u = pd.DataFrame({"arm": arm, "exposed": exposed, "pre": pre, "y1": y1, "y2": y2})
    kw = dict(arm="arm", outcomes=["y1", "y2"], covariates={"y1": ["pre"]}, exposed="exposed")
    normal = ab_test(u, **kw).table()
    boot = ab_test(u, **kw, interval="bootstrap", n_boot=300, random_state=1).table()
    assert list(boot[["metric", "estimand", "arm"]].itertuples(index=False)) == \
        list(normal[["metric", "estimand", "arm"]].itertuples(index=False))
    assert len(boot) == 8 and boot.estimate.round(1).nunique() == 8
    assert ((boot.lower < boot.estimate) & (boot.estimate < boot.upper)).all()
    width = (boot.upper - boot.lower) / (normal.upper - normal.lower)
    assert width.between(0.8, 1.2).all(), width


def test_arms_named_by_booleans_and_integers():
    rng = np.random.default_rng(3)
    y = rng.normal(10, 2, 400)
    g = rng.random(400) < 0.5
    y = y + g
    r = ab_test(pd.DataFrame({"g": g, "y": y}), arm="g", outcomes=["y"])
    row = r.table().iloc[0]
    assert row.arm is True or row.arm == True  # noqa: E712
    assert r.control is False  # the arm column's own value, so r.arms can be indexed by it
    assert r.arms.set_index("arm").loc[r.control, "mean"] == pytest.approx(y[~g].mean())
    assert row.estimate == pytest.approx(y[g].mean() - y[~g].mean(), rel=1e-12)
    k = ab_test(pd.DataFrame({"g": np.where(g, 2, 0), "y": y}), arm="g", outcomes=["y"])
    assert k.control == 0 and k.table().arm.iloc[0] == 2
    with pytest.raises(SchemaError, match="column 'g' has missing values"):
        ab_test(pd.DataFrame({"g": pd.Series(np.where(g, "t", "control"), dtype=object).where(y > 6, None),
                              "y": y}), arm="g", outcomes=["y"])
    with pytest.raises(SchemaError, match="exposed column 'e' has missing values"):
        ab_test(pd.DataFrame({"g": g, "y": y, "e": pd.array(np.where(y > 12, None, g), dtype="boolean")}),
                arm="g", outcomes=["y"], exposed="e")


def test_bad_input_is_named():
    u = _units(n=200)
    with pytest.raises(SchemaError, match=r"lacks column\(s\) \['nope'\]"):
        ab_test(u, arm="arm", outcomes=["nope"])
    with pytest.raises(ParameterError, match="control arm 'zzz' is not a value"):
        ab_test(u, arm="arm", outcomes=["y"], control="zzz")
    with pytest.raises(SchemaError, match="arm 'b' has 1 unit"):
        ab_test(pd.concat([u[u.arm != "b"], u[u.arm == "b"].head(1)]), arm="arm", outcomes=["y"])
    with pytest.raises(SchemaError, match="outcome 'k' is constant"):
        ab_test(u.assign(k=3.0), arm="arm", outcomes=["k"])
    with pytest.raises(SchemaError, match="negative values"):
        ab_test(u.assign(y=u.y - 100), arm="arm", outcomes=["y"], nonnegative=True)
    with pytest.raises(SchemaError, match="missing values"):
        ab_test(u.assign(y=np.where(u.index == 3, np.nan, u.y)), arm="arm", outcomes=["y"])
    with pytest.raises(SchemaError, match="must be numeric"):
        ab_test(u.assign(s="x"), arm="arm", outcomes=["s"])
    with pytest.raises(SchemaError, match="every unit is in arm"):
        ab_test(u.assign(arm="control"), arm="arm", outcomes=["y"])
    with pytest.raises(ParameterError, match="cannot tell the control arm"):
        ab_test(u.assign(arm=u.arm.replace({"control": "c"})), arm="arm", outcomes=["y"])
    with pytest.raises(ParameterError, match="alpha must be in"):
        ab_test(u, arm="arm", outcomes=["y"], alpha=1.5)
    ev, users = _toy_world()
    with pytest.raises(ParameterError, match="must be a day"):
        experiment(ev, users, start="2025-03-01 12:00", end="2025-04-01")
    with pytest.raises(ParameterError, match="end .* must not be before start"):
        experiment(ev, users, start="2025-04-01", end="2025-03-01")
    with pytest.raises(ParameterError, match="metrics must be"):
        experiment(ev, users, start="2025-03-01", end="2025-04-01", metrics=["clicks"])
    with pytest.raises(SchemaError, match="more than one row for user_id 0"):
        experiment(ev, pd.concat([users, users.head(1)]), start="2025-03-01", end="2025-04-01")
    with pytest.raises(SchemaError, match="missing required column"):
        experiment(ev.drop(columns="event_type"), users, start="2025-03-01", end="2025-04-01")
    with pytest.raises(ParameterError, match=r"assignment column\(s\) \['pre_revenue'\] have the names"):
        experiment(ev, users.assign(pre_revenue=users.user_id % 7), start="2025-03-20", end="2025-04-10",
                   pre_start="2025-03-01", metrics=["revenue"], covariates=["pre_revenue"])


def test_summary_and_plot():
    r = ab_test(_units(n=300), arm="arm", outcomes=["y"], covariates=["pre"])
    text = str(r.summary())
    assert "control arm 'control'" in text and "Welch t" in text
    fig = r.plot(relative=True)
    assert len(fig.axes[0].get_yticklabels()) == 2
    plt.close(fig)
    two = ab_test(_units(n=300).assign(z=lambda d: d.y * 3), arm="arm", outcomes=["y", "z"])
    fig = two.plot(metrics="z")
    assert [t.get_text().split(" · ")[0] for t in fig.axes[0].get_yticklabels()] == ["z", "z"]
    with pytest.raises(ParameterError, match=r"metrics \['w'\] are not in this readout"):
        two.plot(metrics=["w"])
    plt.close(fig)
    assert isinstance(m3.incrementality.Effects, type)
