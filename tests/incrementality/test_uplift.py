"""Uplift learners and their evaluation, against scikit-uplift, hand computations, simulations with a known
individual effect, and the published Hillstrom figures."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from marketing360.errors import NotFittedError, ParameterError, SchemaError
from marketing360.incrementality.uplift import ClassTransformation, TLearner, XLearner, hillstrom_arrays
from marketing360.incrementality.uplift_eval import (
    QiniCurve,
    UpliftCurve,
    auuc,
    qini_auc,
    qini_curve,
    uplift_at_k,
    uplift_curve,
)

# scikit-uplift 0.5.1 calls sklearn's deprecated stable_cumsum
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # the gradient boosting of the default model runs OpenMP threads, which spin (and crawl) on a busy shared
    # machine; one thread is steadier. Import it first: threadpoolctl limits the runtimes already loaded
    import sklearn.ensemble  # noqa: F401

    with threadpool_limits(1):
        yield


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _random_case(seed: int):
    """A randomised test with scores full of ties (or continuous), as in the comparisons with scikit-uplift."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 600))
    y = rng.integers(0, 2, n)
    t = rng.integers(0, 2, n)
    y[:2], t[:2] = [0, 1], [0, 1]  # both outcomes and both arms present
    if seed % 2:
        s = rng.integers(0, int(rng.integers(2, 12)), n) / 7.0  # heavy ties
    else:
        s = rng.normal(size=n)
    return y, s, t


# ------------------------------------------------------------------ curves and scores against scikit-uplift


@pytest.mark.parametrize("seed", range(12))
def test_curves_and_scores_equal_sklift(seed):
    from sklearn.metrics import auc
    from sklift import metrics as M

    y, s, t = _random_case(seed)
    for ours, theirs in ((uplift_curve, M.uplift_curve), (qini_curve, M.qini_curve)):
        c = ours(y, s, t)
        x_ref, v_ref = theirs(y, s, t)
        np.testing.assert_array_equal(c.curve["n"].to_numpy(), x_ref)
        np.testing.assert_allclose(c.curve["value"].to_numpy(), v_ref, rtol=0, atol=1e-9)
        assert c.area == pytest.approx(auc(x_ref, v_ref), abs=1e-9)
    for ours, theirs in ((uplift_curve(y, s, t), M.perfect_uplift_curve(y, t)),
                         (qini_curve(y, s, t), M.perfect_qini_curve(y, t))):
        np.testing.assert_allclose(ours.perfect["n"], theirs[0], atol=1e-9)
        np.testing.assert_allclose(ours.perfect["value"], theirs[1], atol=1e-9)
    assert auuc(y, s, t) == pytest.approx(M.uplift_auc_score(y, s, t), abs=1e-9)
    assert qini_auc(y, s, t) == pytest.approx(M.qini_auc_score(y, s, t), abs=1e-9)
    gain = y[t == 1].sum() - (t == 1).sum() * y[t == 0].mean()
    if gain > 0:
        assert qini_auc(y, s, t, negative_effect=False) == pytest.approx(
            M.qini_auc_score(y, s, t, negative_effect=False), abs=1e-9)
    for k in (0.3, 0.5, 7):
        for strategy in ("overall", "by_group"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # sklift returns NaN for an empty arm
                ref = M.uplift_at_k(y, s, t, strategy=strategy, k=k)
            if np.isnan(ref):
                with pytest.raises(ParameterError, match="no (treated|control) row"):
                    uplift_at_k(y, s, t, k=k, strategy=strategy)
            else:
                assert uplift_at_k(y, s, t, k=k, strategy=strategy) == pytest.approx(ref, abs=1e-9)


def test_curves_by_hand():
    # rows ranked by score: (y, t) = (1,1) (0,1) (0,0) (1,0); treated rate 1, 1/2, 1/2, 1/2 and control rate
    # -, -, 0, 1/2 among the first n rows
    y, s, t = [1, 0, 0, 1], [0.9, 0.5, 0.4, 0.1], [1, 1, 0, 0]
    assert uplift_curve(y, s, t).curve.value.tolist() == [0.0, 1 * 1, 0.5 * 2, 0.5 * 3, 0.0]
    assert qini_curve(y, s, t).curve.value.tolist() == [0.0, 1, 1, 1 - 0 * 2 / 1, 1 - 1 * 2 / 2]
    # the random line ends at (4, 0): its area is 0. Qini: area (0+1)/2 + (1+1)/2 + (1+1)/2 + (1+0)/2 = 3; the
    # perfect Qini ranking (treated responder; the treated non-responder and control non-responder tied; the
    # control responder) has points (1, 1), (3, 1), (4, 0) and area 0.5 + 2 + 0.5 = 3: normalised 1
    assert qini_auc(y, s, t, normalize=False) == 3.0
    assert qini_auc(y, s, t) == 1.0
    # uplift: area 0.5 + 1 + 1.25 + 0.75 = 3.5; the perfect ranking puts the control non-responder second (then
    # the treated non-responder, as control responders are not more numerous): values 1, 2, 1.5, 0, area 4.5
    assert auuc(y, s, t, normalize=False) == 3.5
    assert auuc(y, s, t) == pytest.approx(3.5 / 4.5)
    # ties form one block: two tied rows, one treated responder and one control non-responder
    c = uplift_curve([1, 0, 1, 0], [1, 1, 0, 0], [1, 0, 0, 1])
    assert c.curve.n.tolist() == [0, 2, 4] and c.curve.value.tolist() == [0.0, (1 - 0) * 2, (0.5 - 0.5) * 4]
    # uplift at k = 2 overall: the first two rows hold one treated (y=1) and one control (y=0) row
    assert uplift_at_k(y, [0.9, 0.5, 0.95, 0.1], t, k=2) == 1.0 - 0.0


def test_continuous_outcome_curve_equals_a_plain_loop():
    rng = np.random.default_rng(5)
    n = 300
    t = rng.integers(0, 2, n)
    y = rng.gamma(2.0, 10.0, n) * (rng.random(n) < 0.3)
    s = np.round(rng.normal(size=n), 1)  # ties
    c = uplift_curve(y, s, t)
    q = qini_curve(y, s, t)
    ref_u, ref_q = [0.0], [0.0]
    for cut in np.sort(np.unique(s))[::-1]:
        top = s >= cut
        n_t, n_c = (top & (t == 1)).sum(), (top & (t == 0)).sum()
        m_t = y[top & (t == 1)].mean() if n_t else 0.0
        m_c = y[top & (t == 0)].mean() if n_c else 0.0
        ref_u.append((m_t - m_c) * top.sum())
        ref_q.append(y[top & (t == 1)].sum() - y[top & (t == 0)].sum() * (n_t / n_c if n_c else 0.0))
    np.testing.assert_allclose(c.curve.value, ref_u, atol=1e-9)
    np.testing.assert_allclose(q.curve.value, ref_q, atol=1e-9)
    assert c.perfect is None and not c.binary
    assert c.random.value.tolist() == [0.0, pytest.approx(ref_u[-1])]
    assert auuc(y, s, t, normalize=False) == pytest.approx(np.trapezoid(ref_u, c.curve.n))
    with pytest.raises(ParameterError, match="0/1 outcome"):
        auuc(y, s, t)
    # uplift at k of a continuous outcome: the mean spend difference in the top 30% (ties: later row first)
    order = np.argsort(s, kind="mergesort")[::-1][: int(0.3 * n)]
    ref = y[order][t[order] == 1].mean() - y[order][t[order] == 0].mean()
    assert uplift_at_k(y, s, t, k=0.3) == pytest.approx(ref)


def test_curve_result_table_summary_and_plot():
    import matplotlib.pyplot as plt

    y, s, t = _random_case(2)
    c = qini_curve(y, s, t)
    assert isinstance(c, QiniCurve) and isinstance(uplift_curve(y, s, t), UpliftCurve)
    tab = c.table()
    assert list(tab.columns) == ["curve", "n", "fraction", "value"]
    assert tab.curve.unique().tolist() == ["model", "perfect", "random"]
    assert tab.fraction.max() == 1.0
    # the random line ends where the curve ends; the score is (area - random) / (perfect - random)
    assert c.random.value.iloc[-1] == pytest.approx(c.curve.value.iloc[-1])
    assert c.score == pytest.approx((c.area - c.random_area) / (c.perfect_area - c.random_area))
    text = str(c.summary())
    assert "Qini curve" in text and f"{c.score:.4f}" in text and f"{len(y):,} rows" in text
    fig = c.plot(label="t_learner")
    labels = [ln.get_label() for ln in fig.axes[0].get_lines() if not ln.get_label().startswith("_")]
    assert labels == [f"t_learner (score {c.score:.3f})", "perfect", "random"]
    plt.close(fig)


def test_summary_and_plot_when_the_perfect_curve_is_the_random_line():
    import matplotlib.pyplot as plt

    # one treated responder and one control non-responder: the perfect uplift curve (0, 0), (1, 1), (2, 2) is the
    # random line, so the normalised score is undefined; the table, summary and plot still work
    c = uplift_curve([1, 0], [0.2, 0.9], [1, 0])
    assert c.perfect.value.tolist() == [0.0, 1.0, 2.0] and c.random.value.tolist() == [0.0, 2.0]
    with pytest.raises(ParameterError, match="undefined"):
        auuc([1, 0], [0.2, 0.9], [1, 0])
    assert "normalised score undefined" in str(c.summary())
    fig = c.plot()
    assert [ln.get_label() for ln in fig.axes[0].get_lines() if not ln.get_label().startswith("_")] == [
        "model", "perfect", "random"]
    plt.close(fig)


@pytest.mark.parametrize("args, match", [
    (([1, 0, 1], [0.1, 0.2], [1, 0, 1]), "same length"),
    (([1, 0, np.nan, 1], [0.1, 0.2, 0.3, 0.4], [1, 0, 1, 0]), "y has 1 missing"),
    (([1, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], [1, 0, 2, 0]), "treatment must be 1"),
    (([1, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], [1, 1, 1, 1]), "all 4 rows are treated"),
    (([1, 1, 1, 1], [0.1, 0.2, 0.3, 0.4], [1, 0, 1, 0]), "y is constant"),
    (([1, 0, 1, 1], ["a", "b", "c", "d"], [1, 0, 1, 0]), "uplift must be numeric"),
])
def test_evaluation_input_errors(args, match):
    with pytest.raises(ParameterError, match=match):
        uplift_curve(*args)


def test_uplift_at_k_errors():
    y, s, t = [1, 0, 1, 0, 0, 1], [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 1, 1, 0, 0, 0]
    for k in (0, 1.0, 6, -2, True):
        with pytest.raises(ParameterError, match="k must be"):
            uplift_at_k(y, s, t, k=k)
    with pytest.raises(ParameterError, match="no control row"):
        uplift_at_k(y, s, t, k=0.5)  # the top 3 are all treated
    with pytest.raises(ParameterError, match="strategy"):
        uplift_at_k(y, s, t, strategy="both")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="more than the arm holds"):
        uplift_at_k(y, s, t, k=4, strategy="by_group")


# ------------------------------------------------------------------ learners on data with a known effect


def _binary_world(seed: int, n: int = 6000, p: float = 0.5):
    """P(y=1) = sigmoid(-1 + 0.5 x2) untreated, + 0.5 + 0.8 x1 on the logit when treated: tau(x) known exactly."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    t = (rng.random(n) < p).astype(int)
    base = -1.0 + 0.5 * x[:, 1]
    p0, p1 = _sig(base), _sig(base + 0.5 + 0.8 * x[:, 0])
    y = (rng.random(n) < np.where(t == 1, p1, p0)).astype(int)
    return x, t, y, p1 - p0


def _continuous_world(seed: int, n: int = 4000):
    """y = x2 + 0.5 x3^2 + t (1 + x1) + noise: tau(x) = 1 + x1."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    t = rng.integers(0, 2, n)
    tau = 1.0 + x[:, 0]
    return x, t, x[:, 1] + 0.5 * x[:, 2] ** 2 + t * tau + rng.normal(0, 1, n), tau


# correlation of predicted with true uplift, with the default model: measured over seeds 0, 1, 2 (lowest shown)
# binary: T 0.854, class transformation 0.829, transformed outcome 0.759, X 0.890
# continuous: T 0.940, transformed outcome 0.832, X 0.974
_BINARY = {"t": (lambda s: TLearner(random_state=s), 0.75),
           "class": (lambda s: ClassTransformation(random_state=s), 0.7),
           "outcome": (lambda s: ClassTransformation(transform="outcome", random_state=s), 0.65),
           "x": (lambda s: XLearner(random_state=s), 0.8)}
_CONTINUOUS = {"t": (lambda s: TLearner(random_state=s), 0.85),
               "outcome": (lambda s: ClassTransformation(transform="outcome", random_state=s), 0.72),
               "x": (lambda s: XLearner(random_state=s), 0.9)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learners_recover_a_known_binary_uplift(seed):
    x, t, y, tau = _binary_world(seed)
    for name, (make, floor) in _BINARY.items():
        u = make(seed).fit(x, t, y).predict(x)
        assert np.corrcoef(u, tau)[0, 1] > floor, name
        # mean predicted uplift within 0.045 (3.5 standard errors of a difference in means here) of the true
        # average effect 0.115-0.120; measured at most 0.030 off
        assert abs(u.mean() - tau.mean()) < 0.045, name


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learners_recover_a_known_continuous_uplift(seed):
    x, t, y, tau = _continuous_world(seed)
    for name, (make, floor) in _CONTINUOUS.items():
        u = make(seed).fit(x, t, y).predict(x)
        assert np.corrcoef(u, tau)[0, 1] > floor, name
        assert abs(u.mean() - tau.mean()) < 0.16, name  # measured at most 0.111 off (transformed outcome)


def test_class_transformation_reweights_an_unbalanced_test():
    from sklearn.linear_model import LogisticRegression

    # 30% treated: the plain class transformation 2 P(Z=1) - 1 is then biased (measured +0.12 on seeds 0-2);
    # with the rows reweighted to a 50/50 split it recovers the average effect
    for seed in (0, 1, 2):
        x, t, y, tau = _binary_world(seed, p=0.3)
        z = y * t + (1 - y) * (1 - t)
        plain = 2 * LogisticRegression().fit(x, z).predict_proba(x)[:, 1] - 1
        assert plain.mean() - tau.mean() > 0.09
        m = ClassTransformation(model=LogisticRegression()).fit(x, t, y)
        assert m.propensity_ == pytest.approx(t.mean())
        u = m.predict(x)
        assert abs(u.mean() - tau.mean()) < 0.03  # measured at most 0.012 off
        assert np.corrcoef(u, tau)[0, 1] > 0.9  # measured 0.963-0.977


def test_linear_learners_are_exact_on_a_noiseless_linear_world():
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 2))
    t = rng.integers(0, 2, 300)
    tau = 0.5 - 1.5 * x[:, 0] + 0.25 * x[:, 1]
    y = 2.0 + x @ np.array([1.0, -2.0]) + t * tau
    new = rng.normal(size=(20, 2))
    want = 0.5 - 1.5 * new[:, 0] + 0.25 * new[:, 1]
    np.testing.assert_allclose(TLearner(model=LinearRegression()).fit(x, t, y).predict(new), want, atol=1e-9)
    # X-learner: both effect models are exact, so any propensity blend is exact
    xl = XLearner(model=LinearRegression(), effect_model=LinearRegression(), propensity=0.2).fit(x, t, y)
    np.testing.assert_allclose(xl.predict(new), want, atol=1e-9)
    np.testing.assert_allclose(xl.propensity_score(new), 0.2)


def test_x_learner_blends_with_the_propensity():
    from sklearn.linear_model import LinearRegression, LogisticRegression

    x, t, y, _ = _continuous_world(3, n=800)
    m = XLearner(model=LinearRegression(), effect_model=LinearRegression(),
                 propensity=LogisticRegression()).fit(x, t, y)
    e = m.propensity_score(x)
    tau0 = m.effect_control_.predict(x)
    tau1 = m.effect_treated_.predict(x)
    np.testing.assert_allclose(m.predict(x), e * tau0 + (1 - e) * tau1)
    # stage 2 regresses the imputed effects: D1 = y - mu0(x) on treated rows, D0 = mu1(x) - y on control rows
    x1, x0 = x[t == 1], x[t == 0]
    d1 = y[t == 1] - m.outcome_control_.predict(x1)
    d0 = m.outcome_treated_.predict(x0) - y[t == 0]
    np.testing.assert_allclose(m.effect_treated_.predict(x), LinearRegression().fit(x1, d1).predict(x), atol=1e-9)
    np.testing.assert_allclose(m.effect_control_.predict(x), LinearRegression().fit(x0, d0).predict(x), atol=1e-9)


def test_transformed_outcome_by_hand():
    from sklearn.linear_model import LinearRegression

    x, t, y, _ = _continuous_world(4, n=500)
    p = 0.4
    m = ClassTransformation(model=LinearRegression(), transform="outcome", propensity=p).fit(x, t, y)
    ref = LinearRegression().fit(x, y * (t - p) / (p * (1 - p))).predict(x)
    np.testing.assert_allclose(m.predict(x), ref, atol=1e-9)


# ------------------------------------------------------------------ the scikit-learn contract and input checks


def test_arm_labels_frames_clone_and_seeds():
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    x, t, y, _ = _binary_world(0, n=1500)
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    arms = np.where(t == 1, "email", "holdout")
    lr = LogisticRegression()
    by_label = TLearner(model=lr, control="holdout").fit(frame, arms, y)
    assert not hasattr(lr, "coef_")  # the model passed in is cloned, never fitted
    assert (by_label.treated_label_, by_label.control_label_) == ("email", "holdout")
    assert (by_label.n_treated_, by_label.n_control_) == (int(t.sum()), int((1 - t).sum()))
    by_code = TLearner(model=lr).fit(x, pd.Series(t), pd.Series(y))
    np.testing.assert_allclose(by_label.predict(frame), by_code.predict(x))
    # columns are matched by name
    np.testing.assert_allclose(by_label.predict(frame[["d", "c", "b", "a"]]), by_code.predict(x))
    with pytest.raises(SchemaError, match=r"lacks the column\(s\) \['d'\]"):
        by_label.predict(frame[["a", "b", "c"]])
    with pytest.raises(ParameterError, match="3 feature"):
        by_code.predict(x[:, :3])
    # scikit-learn's clone and parameters
    xl = XLearner(model=lr, propensity=0.5, control="holdout", random_state=3)
    cloned = clone(xl)
    assert {k: v for k, v in cloned.get_params().items() if k != "model"} == {
        k: v for k, v in xl.get_params().items() if k != "model"}
    assert cloned.model is not lr and cloned.model.get_params() == lr.get_params()
    assert xl.set_params(random_state=4).random_state == 4
    # the same seed gives the same default models
    a = XLearner(random_state=1).fit(x, t, y).predict(x)
    b = XLearner(random_state=1).fit(x, t, y).predict(x)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(NotFittedError):
        TLearner().predict(x)


def test_settings_are_keyword_only():
    from sklearn.linear_model import LinearRegression, LogisticRegression

    # house rule: data first, every setting keyword-only (TLearner(LogisticRegression()) is refused)
    for cls, args in ((TLearner, (LogisticRegression(),)), (ClassTransformation, (LogisticRegression(),)),
                      (XLearner, (LinearRegression(), LinearRegression()))):
        with pytest.raises(TypeError, match="positional"):
            cls(*args)
    assert XLearner(model=LinearRegression(), effect_model=LinearRegression()).get_params()["effect_model"] is not None


def test_polars_and_arrow_features_are_matched_by_name_and_engine_tables_refused():
    import ibis
    import polars as pl
    import pyarrow as pa
    from sklearn.linear_model import LinearRegression

    x, t, y, _ = _continuous_world(6, n=400)
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    ref = TLearner(model=LinearRegression()).fit(frame, t, y)
    want = ref.predict(frame)
    for table in (pl.from_pandas(frame), pa.Table.from_pandas(frame)):
        m = TLearner(model=LinearRegression()).fit(table, t, y)
        assert list(m.feature_names_in_) == ["a", "b", "c", "d"]
        # columns in another order are matched by name, as for pandas
        np.testing.assert_allclose(m.predict(pl.from_pandas(frame[["d", "c", "b", "a"]])), want, atol=1e-9)
        np.testing.assert_allclose(m.predict(pa.Table.from_pandas(frame[["c", "a", "d", "b"]])), want, atol=1e-9)
    with pytest.raises(ParameterError, match="no fixed order"):
        TLearner(model=LinearRegression()).fit(ibis.memtable(frame), t, y)
    # refitted on an array, the learner forgets the names of the earlier fit (a frame is then read by position)
    m = TLearner(model=LinearRegression()).fit(frame, t, y).fit(x[:, ::-1], t, y)
    assert not hasattr(m, "feature_names_in_")
    np.testing.assert_allclose(m.predict(frame[["d", "c", "b", "a"]]), want, atol=1e-9)


def test_learner_input_errors():
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    x, t, y, _ = _binary_world(1, n=400)
    cases = [
        (TLearner(), (x[:10], t, y), ParameterError, "same number of rows"),
        (TLearner(), (x, np.where(t == 1, 2, 0), y), ParameterError, "1 \\(treated\\) / 0"),
        (TLearner(), (x, np.ones(400), y), ParameterError, "control arm has 0 row"),
        (TLearner(), (x, np.array(["a", "b", "c", "d"] * 100), y), ParameterError, "control="),
        (TLearner(control="c"), (x, np.array(["a", "b", "c", "d"] * 100), y), ParameterError, "one treated arm"),
        (TLearner(control="z"), (x, np.array(["a", "z"] * 200), np.zeros(400)), ParameterError, "y is constant"),
        (TLearner(), (x, t, np.where(np.arange(400) == 3, np.nan, y)), ParameterError, "y has 1 missing"),
        (TLearner(), (np.where(np.arange(400)[:, None] == 5, np.nan, x), t, y), ParameterError, "column 0"),
        (TLearner(), (x[:, 0], t, y), ParameterError, "2-d"),
        (TLearner(), (pd.DataFrame({"a": ["u"] * 400}), t, y), SchemaError, "not numeric"),
        (TLearner(model=LogisticRegression()), (x, t, y * 2.5), ParameterError, "classifier LogisticRegression but"),
        (TLearner(model=LogisticRegression()), (x, t, np.where(t == 1, 1, y)), ParameterError, "every treated row"),
        (TLearner(model="tree"), (x, t, y), ParameterError, "scikit-learn estimator"),
        (TLearner(random_state="x"), (x, t, y), ParameterError, "random_state"),
        (ClassTransformation(), (x, t, y * 3.0), ParameterError, "transform='outcome'"),
        (ClassTransformation(model=LinearRegression()), (x, t, y), ParameterError, "needs a classifier"),
        (ClassTransformation(model=KNeighborsClassifier(), propensity=0.3), (x, t, y), ParameterError, "sample_weight"),
        (ClassTransformation(propensity=1.5), (x, t, y), ParameterError, "propensity must be"),
        (ClassTransformation(), (x, t, t), ParameterError, "Z = Y T"),
        (ClassTransformation(transform="both"), (x, t, y), ParameterError, "transform must be"),
        (ClassTransformation(model=LogisticRegression(), transform="outcome"), (x, t, y), ParameterError, "regressor"),
        (XLearner(effect_model=LogisticRegression()), (x, t, y), ParameterError, "effect_model must be a regressor"),
        (XLearner(propensity=LinearRegression()), (x, t, y), ParameterError, "propensity must be"),
    ]
    for learner, args, error, match in cases:
        with pytest.raises(error, match=match):
            learner.fit(*args)
    # at a 50/50 split the class transformation needs no weights, so any classifier will do
    half = np.arange(400) % 2
    ClassTransformation(model=KNeighborsClassifier(), propensity=0.5).fit(x, half, y)


# ------------------------------------------------------------------ Hillstrom


@pytest.fixture(scope="module")
def hillstrom(need):
    return pd.read_csv(need("hillstrom", "hillstrom.csv"))


def test_hillstrom_published_arm_means_and_effects(hillstrom, need):
    from scipy import stats

    from marketing360.datasets import read_hillstrom

    # visit rate per segment: scikit-uplift, notebooks/EDA_Hillstrom_dataset.ipynb (commit 3b7410a6, the
    # pd.crosstab(dataset.treatment, dataset.target, normalize='index') cell, around line 8310):
    # Mens E-Mail 0.182757, No E-Mail 0.106167, Womens E-Mail 0.151400
    visits = {}
    for arm in ("Mens E-Mail", "Womens E-Mail"):
        _, t, y = hillstrom_arrays(hillstrom, treatment=arm, outcome="visit")
        visits[arm] = y[t == 1].mean()
        visits["No E-Mail"] = y[t == 0].mean()
    assert visits["Mens E-Mail"] == pytest.approx(0.182757, abs=5e-7)
    assert visits["Womens E-Mail"] == pytest.approx(0.151400, abs=5e-7)
    assert visits["No E-Mail"] == pytest.approx(0.106167, abs=5e-7)
    # the effects on visits those rates imply: +7.66 and +4.52 points
    assert visits["Mens E-Mail"] - visits["No E-Mail"] == pytest.approx(0.182757 - 0.106167, abs=1e-6)
    assert visits["Womens E-Mail"] - visits["No E-Mail"] == pytest.approx(0.151400 - 0.106167, abs=1e-6)

    # Mens E-Mail against No E-Mail (the book "Kouka kensho nyumon", ch. 1, as reproduced in
    # ybenjo/cibook_by_python, ch1.py lines 16-17 and 27, commit 886ec8c9): conversion 0.01253109306800582 vs
    # 0.005726086548390125, spend 1.4226165110057738 vs 0.6527893551112363, and the pooled-variance t test of
    # spend, no e-mail minus mens, t = -5.300090294465472, p = 1.163200872605869e-07
    _, t, conv = hillstrom_arrays(hillstrom, treatment="mens", outcome="conversion")
    _, t2, spend = hillstrom_arrays(hillstrom, treatment="mens", outcome="spend")
    np.testing.assert_array_equal(t, t2)
    assert (int(t.sum()), int((1 - t).sum())) == (21307, 21306)
    assert conv[t == 1].mean() == pytest.approx(0.01253109306800582, rel=1e-12)
    assert conv[t == 0].mean() == pytest.approx(0.005726086548390125, rel=1e-12)
    assert spend[t == 1].mean() == pytest.approx(1.4226165110057738, rel=1e-12)
    assert spend[t == 0].mean() == pytest.approx(0.6527893551112363, rel=1e-12)
    test = stats.ttest_ind(spend[t == 0], spend[t == 1], equal_var=True)
    assert test.statistic == pytest.approx(-5.300090294465472, rel=1e-9)
    assert test.pvalue == pytest.approx(1.163200872605869e-07, rel=1e-6)

    # the package's reader gives the same arrays as the file read as is
    X_a, t_a, y_a = hillstrom_arrays(read_hillstrom(need("hillstrom", "hillstrom.csv")), treatment="womens")
    X_b, t_b, y_b = hillstrom_arrays(hillstrom, treatment="Womens E-Mail")
    pd.testing.assert_frame_equal(X_a, X_b)
    np.testing.assert_array_equal(t_a, t_b)
    np.testing.assert_array_equal(y_a, y_b)
    assert X_b.shape == (21387 + 21306, 18) and X_b.filter(like="zip_code_").sum(axis=1).eq(1).all()
    with pytest.raises(ParameterError, match="'mens' or 'womens'"):
        hillstrom_arrays(hillstrom, treatment="No E-Mail")
    with pytest.raises(SchemaError, match="history"):
        hillstrom_arrays(hillstrom.drop(columns="history"))
    # any table: polars, and an ibis table on DuckDB (rows in file order)
    import ibis
    import polars as pl

    for table in (pl.from_pandas(hillstrom), ibis.duckdb.connect().create_table("hillstrom", hillstrom)):
        X_c, t_c, y_c = hillstrom_arrays(table, treatment="Womens E-Mail")
        pd.testing.assert_frame_equal(X_c, X_b)
        np.testing.assert_array_equal(t_c, t_b)
        np.testing.assert_array_equal(y_c, y_b)


def test_hillstrom_t_learner_beats_random_targeting(hillstrom):
    # Womens E-Mail against No E-Mail, outcome visit: the T-learner (default model) is fitted on a random half and
    # scored on the other half, for three splits. Random scores on the same half give normalised Qini
    # coefficients of mean about 0 and spread about 0.011; the model's were 0.045-0.065
    # (AUUC 0.021-0.031, random spread 0.005).
    X, t, y = hillstrom_arrays(hillstrom, treatment="womens", outcome="visit")
    at_k, ates = [], []
    for seed in (0, 1, 2):
        test = np.random.default_rng(seed).permutation(len(y)) < len(y) // 2
        u = TLearner(random_state=seed).fit(X[~test], t[~test], y[~test]).predict(X[test])
        yt, tt = y[test], t[test]
        draws = np.random.default_rng(100 + seed).random((25, len(yt)))
        rand_q = np.array([qini_auc(yt, d, tt) for d in draws])
        q, a = qini_auc(yt, u, tt), auuc(yt, u, tt)
        assert abs(rand_q.mean()) < 0.01
        assert q > 0.03 and q > rand_q.max(), (seed, q, rand_q.max())
        assert a > 0.012, (seed, a)
        at_k.append(uplift_at_k(yt, u, tt, k=0.3))
        ates.append(yt[tt == 1].mean() - yt[tt == 0].mean())
    # targeting the top 30% by predicted uplift gains more visits per customer than the average effect
    # (measured 0.064 against 0.043 over the three splits)
    assert np.mean(at_k) > np.mean(ates) + 0.01
