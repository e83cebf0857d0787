"""Uplift (heterogeneous treatment effect) learners for randomised tests, on any scikit-learn model.

Each learner estimates the individual uplift (the conditional average
treatment effect, CATE) ``tau(x) = E[Y | x, treated] - E[Y | x, control]``
from a randomised test:

* :class:`TLearner` — two outcome models, one per arm; ``tau(x) = mu1(x) - mu0(x)``;
* :class:`ClassTransformation` — one model of a transformed target: Jaskowski
  & Jaroszewicz's class ``Z = Y T + (1 - Y)(1 - T)`` (0/1 outcomes), or Athey
  & Imbens's transformed outcome (any outcome);
* :class:`XLearner` — Künzel et al.'s X-learner: outcome models, imputed
  individual effects, effect models, and a propensity-weighted blend.

They follow scikit-learn's contract: settings are keyword arguments of
``__init__``, ``fit(X, treatment, y)`` returns the learner, ``predict(X)`` the
uplift of each row. ``X`` is a numeric numpy array or a pandas, polars or
Arrow table (its columns are matched by name in ``predict``; encode
categories first, e.g. :func:`pandas.get_dummies`); ``treatment`` is 1/0
(or two arm labels with ``control=`` naming the control arm); ``y`` is a 0/1
outcome (models are then classifiers and predict probabilities) or any
number (regressors). Models are cloned with :func:`sklearn.base.clone`, so
the one passed in is never fitted. Score the predictions with
:mod:`~marketing360.incrementality.uplift_eval` (Qini and uplift curves,
uplift at k).

The default model is scikit-learn's histogram gradient boosting
(:class:`~sklearn.ensemble.HistGradientBoostingClassifier` for a 0/1
outcome, ``...Regressor`` otherwise), made conservative for the small
effects of marketing tests: 100 trees of at most 8 leaves, learning rate
0.05, at least 50 rows per leaf. It handles non-linear responses and
interactions without tuning and fits 50,000 rows in about a second on one core.

Examples
--------
>>> import numpy as np
>>> from sklearn.linear_model import LogisticRegression
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(2000, 2)); t = rng.integers(0, 2, 2000)
>>> y = (rng.random(2000) < 0.3 + 0.1 * t * (x[:, 0] > 0)).astype(int)
>>> u = TLearner(model=LogisticRegression()).fit(x, t, y).predict(x)
>>> bool(u[x[:, 0] > 0].mean() > u[x[:, 0] < 0].mean())
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._optional import import_optional
from ..errors import ParameterError, SchemaError
from ..estimators import Estimator, check_random_state
from ..types import UpliftTransform
from .uplift_eval import as_vector, is_binary

__all__ = ["TLearner", "ClassTransformation", "XLearner", "hillstrom_arrays", "UpliftTransform"]


_PURPOSE = "uplift learners"


def _sklearn_base() -> Any:
    return import_optional("sklearn.base", purpose=_PURPOSE)


def default_model(binary: bool, seed: int | None = None) -> Any:
    """The default model: conservative histogram gradient boosting (classifier for a 0/1 outcome)."""
    ensemble = import_optional("sklearn.ensemble", purpose=_PURPOSE)
    cls = ensemble.HistGradientBoostingClassifier if binary else ensemble.HistGradientBoostingRegressor
    return cls(learning_rate=0.05, max_iter=100, max_leaf_nodes=8, min_samples_leaf=50, random_state=seed)


# ------------------------------------------------------------------ inputs


def _as_frame(X: Any) -> Any:
    """A polars or Arrow table as a pandas DataFrame (rows in order); anything else as it is."""
    module = type(X).__module__
    if module.startswith("polars") and hasattr(X, "to_pandas"):
        return X.to_pandas()
    if module.startswith("pyarrow") and hasattr(X, "to_pandas") and hasattr(X, "column_names"):
        return X.to_pandas()
    if module.startswith("ibis") or module.startswith("pyspark"):
        raise ParameterError(f"X is a {module.split('.')[0]} table, whose rows have no fixed order to match "
                             "treatment and y; bring the features, treatment and outcome into memory together "
                             "(e.g. marketing360.engine.fetch(table, 'pandas')) and pass their columns")
    return X


def _features(X: Any, names: list[str] | None = None) -> tuple[np.ndarray, list[str] | None]:
    """``X`` as a 2-d float array (and its column names when a table), checked."""
    X = _as_frame(X)
    if isinstance(X, pd.DataFrame):
        cols = [str(c) for c in X.columns]
        if names is not None:
            missing = [c for c in names if c not in cols]
            if missing:
                raise SchemaError(f"X lacks the column(s) {missing} the learner was fitted on; found {cols}",
                                  column=missing[0])
            X = X.set_axis(cols, axis=1)[names]
            cols = list(names)
        bad = [c for c, dt in zip(cols, X.dtypes)
               if not (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt))]
        if bad:
            raise SchemaError(f"X columns {bad} are not numeric; encode categories first (e.g. pandas.get_dummies)",
                              column=bad[0])
        x = X.to_numpy(dtype=float, na_value=np.nan)
        label = cols
    else:
        x = np.asarray(X)
        if x.ndim != 2:
            raise ParameterError(f"X must be 2-d (rows x features); found shape {x.shape} (for one feature use "
                                 "X.reshape(-1, 1))")
        if x.dtype == bool:
            x = x.astype(float)
        if not np.issubdtype(x.dtype, np.number):
            raise ParameterError(f"X must be numeric; found values of type {x.dtype}")
        x = x.astype(float)
        label = [f"column {j}" for j in range(x.shape[1])]
        cols = None
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ParameterError(f"X is empty (shape {x.shape})")
    bad_cols = np.flatnonzero(~np.isfinite(x).all(axis=0))
    if len(bad_cols):
        where = [label[j] for j in bad_cols[:5]]
        raise ParameterError(f"X has missing or infinite values in {where}; drop or impute them first")
    return x, cols


def _arms(treatment: Any, control: Any) -> tuple[np.ndarray, Any, Any]:
    """1 for treated rows, 0 for control rows, and the two labels; from 0/1 or from two arm labels."""
    labels = np.asarray(treatment.to_numpy() if isinstance(treatment, pd.Series) else treatment, dtype=object)
    if labels.ndim != 1:
        raise ParameterError(f"treatment must be one-dimensional; found shape {labels.shape}")
    missing = pd.isna(labels)
    if missing.any():
        raise ParameterError(f"treatment has {int(missing.sum())} missing value(s); every row needs an arm")
    values = list(pd.unique(labels))
    if control is None:
        if not set(values) <= {0, 1}:  # True/False compare equal to 1/0
            raise ParameterError(f"treatment must be 1 (treated) / 0 (control), or arm labels with control= naming "
                                 f"the control arm; found values {values[:6]}")
        t = labels.astype(float)
        return t, 1, 0
    if control not in values:
        raise ParameterError(f"control={control!r} is not a treatment value; found {values[:6]}")
    others = [v for v in values if v != control]
    if len(others) != 1:
        raise ParameterError(f"treatment must hold the control arm and one treated arm; found {values[:6]} "
                             "(keep the rows of one treated arm and the control)")
    return (labels != control).astype(float), others[0], control


class _UpliftLearner(Estimator):
    """What the learners share: input checks, model cloning and seeding, outcome predictions."""

    control: Any
    random_state: Any

    def _data(self, X: Any, treatment: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x, names = _features(X)
        t, treated_label, control_label = _arms(treatment, self.control)
        yv = as_vector(y, "y")
        if not len(x) == len(t) == len(yv):
            raise ParameterError(f"X, treatment and y must have the same number of rows; found {len(x)}, "
                                 f"{len(t)} and {len(yv)}")
        for arm, name in ((1.0, "treated"), (0.0, "control")):
            if (t == arm).sum() < 2:
                raise ParameterError(f"the {name} arm has {int((t == arm).sum())} row(s); an uplift learner needs "
                                     "at least 2 rows in each arm")
        if np.all(yv == yv[0]):
            raise ParameterError(f"y is constant ({yv[0]:g} on every row): there is no uplift to learn")
        self._rng = check_random_state(self.random_state)
        self.n_features_in_ = x.shape[1]
        if names is not None:
            self.feature_names_in_ = np.array(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):  # refitted on an array: the names of an earlier fit no longer hold
            del self.feature_names_in_
        self.treated_label_, self.control_label_ = treated_label, control_label
        self.n_treated_, self.n_control_ = int(t.sum()), int(len(t) - t.sum())
        self.binary_outcome_ = is_binary(yv)
        return x, t, yv

    def _x(self, X: Any) -> np.ndarray:
        self._check_fitted()
        names = getattr(self, "feature_names_in_", None)
        X = _as_frame(X)
        x, _ = _features(X, list(names) if names is not None and isinstance(X, pd.DataFrame) else None)
        if x.shape[1] != self.n_features_in_:
            raise ParameterError(f"X has {x.shape[1]} feature(s); the learner was fitted on {self.n_features_in_}")
        return x

    def _seed(self) -> int | None:
        return None if self.random_state is None else int(self._rng.integers(2**31 - 1))

    def _model(self, template: Any, *, role: str, binary: bool, regressor: bool = False) -> Any:
        """A fresh, seeded copy of ``template`` (or the default model) for one role, checked against the outcome."""
        base = _sklearn_base()
        seed = self._seed()
        if template is None:
            return default_model(binary and not regressor, seed)
        try:
            est = base.clone(template)
        except TypeError as exc:
            raise ParameterError(f"{role} must be a scikit-learn estimator; found {type(template).__name__} "
                                 f"({exc})") from None
        if not hasattr(est, "fit") or not hasattr(est, "predict"):
            raise ParameterError(f"{role} must have fit and predict; {type(template).__name__} has not")
        if base.is_classifier(est):
            if regressor:
                raise ParameterError(f"{role} must be a regressor (it models a continuous effect); found the "
                                     f"classifier {type(template).__name__}")
            if not binary:
                raise ParameterError(f"{role} is the classifier {type(template).__name__} but the outcome is not "
                                     "0/1; pass a regressor")
            if not hasattr(est, "predict_proba"):
                raise ParameterError(f"{role}: the classifier {type(template).__name__} has no predict_proba")
        params = est.get_params(deep=False)
        if seed is not None and "random_state" in params and params["random_state"] is None:
            est.set_params(random_state=seed)
        return est

    @staticmethod
    def _fit_outcome(est: Any, x: np.ndarray, y: np.ndarray, arm: str, **fit_params: Any) -> Any:
        if _sklearn_base().is_classifier(est) and len(np.unique(y)) < 2:
            raise ParameterError(f"the outcome is {y[0]:g} on every {arm} row: a classifier cannot be fitted "
                                 "there (the uplift is not identified from these rows)")
        return est.fit(x, y, **fit_params)

    @staticmethod
    def _response(est: Any, x: np.ndarray) -> np.ndarray:
        """P(y = 1 | x) of a classifier, the prediction of a regressor."""
        if _sklearn_base().is_classifier(est):
            proba = est.predict_proba(x)
            return np.asarray(proba[:, list(est.classes_).index(1)], dtype=float)
        return np.asarray(est.predict(x), dtype=float).ravel()


def _propensity_value(propensity: Any, t: np.ndarray) -> float:
    """A constant treatment probability: ``propensity`` (a number in (0, 1)) or the treated share."""
    if propensity is None:
        return float(t.mean())
    if isinstance(propensity, bool) or not isinstance(propensity, (int, float, np.floating)) \
            or not 0 < propensity < 1:
        raise ParameterError(f"propensity must be a probability in (0, 1) or None (the treated share); found "
                             f"{propensity!r}")
    return float(propensity)


# ------------------------------------------------------------------ the learners


class TLearner(_UpliftLearner):
    """Two-model uplift: one outcome model per arm, uplift = treated prediction - control prediction.

    Parameters
    ----------
    model : scikit-learn estimator, optional
        Cloned once per arm: a classifier (its ``predict_proba``) for a 0/1
        outcome or a regressor. Default: the module's gradient boosting.
    control : optional
        The control label when ``treatment`` holds arm labels (None: 1/0).
    random_state : int, Generator or None
        Seeds the models whose own ``random_state`` is None.

    Attributes
    ----------
    model_treated_, model_control_ : fitted estimators
    n_treated_, n_control_, n_features_in_ : int
    binary_outcome_ : bool
    treated_label_, control_label_
        The arm labels (1 and 0 without ``control=``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=(500, 1)); t = rng.integers(0, 2, 500)
    >>> y = x[:, 0] + t * (1 + 2 * x[:, 0]) + rng.normal(0, 0.1, 500)
    >>> m = TLearner(model=LinearRegression()).fit(x, t, y)
    >>> np.round(m.predict(np.array([[0.0], [1.0]])), 1).tolist()
    [1.0, 3.0]
    """

    def __init__(self, *, model: Any = None, control: Any = None, random_state: Any = None) -> None:
        self.model = model
        self.control = control
        self.random_state = random_state

    def fit(self, X: Any, treatment: Any, y: Any) -> "TLearner":
        """Fit one outcome model on the treated rows and one on the control rows; returns self."""
        x, t, yv = self._data(X, treatment, y)
        binary = self.binary_outcome_
        m1 = self._model(self.model, role="model", binary=binary)
        m0 = self._model(self.model, role="model", binary=binary)
        self.model_treated_ = self._fit_outcome(m1, x[t == 1], yv[t == 1], "treated")
        self.model_control_ = self._fit_outcome(m0, x[t == 0], yv[t == 0], "control")
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The uplift of each row: treated minus control predicted outcome."""
        x = self._x(X)
        return self._response(self.model_treated_, x) - self._response(self.model_control_, x)


class ClassTransformation(_UpliftLearner):
    """One model of a transformed target whose expectation gives the uplift.

    ``transform="class"`` (Jaskowski & Jaroszewicz 2012; 0/1 outcome): a
    classifier learns ``Z = Y T + (1 - Y)(1 - T)`` (1 for treated responders
    and control non-responders) and the uplift is ``2 P(Z = 1 | x) - 1``.
    That identity needs half the rows treated; with a treated share ``p``
    other than 1/2 the rows are weighted ``1 / (2p)`` (treated) and
    ``1 / (2(1 - p))`` (control), which makes the weighted share 1/2 and the
    identity exact again (the model must accept ``sample_weight``; at
    ``p = 1/2`` the weights are all 1 and are not passed).

    ``transform="outcome"`` (Athey & Imbens 2016; any outcome): a regressor
    learns ``Y* = Y (T - p) / (p (1 - p))``, whose conditional mean is the
    uplift for any ``p``.

    Both assume a randomised test with a constant treatment probability ``p``.

    Parameters
    ----------
    model : scikit-learn estimator, optional
        A classifier (``"class"``) or a regressor (``"outcome"``); default
        the module's gradient boosting.
    transform : {"class", "outcome"}
    propensity : float, optional
        The design's treatment probability; None uses the treated share of the data.
    control, random_state
        As in :class:`TLearner`.

    Attributes
    ----------
    model_ : fitted estimator
    transform_ : {"class", "outcome"}
        The transform the model was fitted on.
    propensity_ : float
        The ``p`` used.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(2)
    >>> x = rng.normal(size=(4000, 1)); t = (rng.random(4000) < 0.3).astype(int)
    >>> y = (rng.random(4000) < 0.2 + 0.2 * t * (x[:, 0] > 0)).astype(int)
    >>> u = ClassTransformation(model=LogisticRegression()).fit(x, t, y).predict(np.array([[-2.0], [2.0]]))
    >>> bool(u[1] > u[0])
    True
    """

    def __init__(self, *, model: Any = None, transform: UpliftTransform = "class", propensity: float | None = None,
                 control: Any = None, random_state: Any = None) -> None:
        self.model = model
        self.transform = transform
        self.propensity = propensity
        self.control = control
        self.random_state = random_state

    def fit(self, X: Any, treatment: Any, y: Any) -> "ClassTransformation":
        """Fit the model of the transformed target; returns self."""
        if self.transform not in ("class", "outcome"):
            raise ParameterError(f"transform must be 'class' or 'outcome'; found {self.transform!r}")
        x, t, yv = self._data(X, treatment, y)
        p = _propensity_value(self.propensity, t)
        self.propensity_ = p
        self.transform_ = self.transform
        if self.transform == "outcome":
            est = self._model(self.model, role="model", binary=False, regressor=True)
            self.model_ = est.fit(x, yv * (t - p) / (p * (1 - p)))
            return self
        if not self.binary_outcome_:
            raise ParameterError("the class transformation needs a 0/1 outcome; y has other values (e.g. "
                                 f"{yv[~np.isin(yv, (0.0, 1.0))][0]:g}); use transform='outcome' for any outcome")
        est = self._model(self.model, role="model", binary=True)
        if not _sklearn_base().is_classifier(est):
            raise ParameterError(f"transform='class' needs a classifier; found {type(est).__name__} (use "
                                 "transform='outcome' with a regressor)")
        z = yv * t + (1 - yv) * (1 - t)
        if np.all(z == z[0]):
            why = "responds and no control row does" if z[0] else "fails and every control row responds"
            raise ParameterError(f"the class Z = Y T + (1 - Y)(1 - T) is {z[0]:g} on every row (every treated row "
                                 f"{why}): a classifier of Z cannot be fitted")
        if p == 0.5:
            self.model_ = self._fit_outcome(est, x, z, "")
            return self
        has_weight = import_optional("sklearn.utils.validation", purpose=_PURPOSE).has_fit_parameter
        if not has_weight(est, "sample_weight"):
            raise ParameterError(f"with a treated share of {p:.3f} (not 1/2) the class transformation reweights the "
                                 f"rows, and {type(est).__name__}.fit takes no sample_weight; use another "
                                 "classifier or transform='outcome'")
        w = np.where(t == 1, 0.5 / p, 0.5 / (1 - p))
        self.model_ = self._fit_outcome(est, x, z, "", sample_weight=w)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The uplift of each row: ``2 P(Z = 1 | x) - 1``, or the transformed-outcome regression."""
        x = self._x(X)
        if self.transform_ == "outcome":
            return self._response(self.model_, x)
        return 2.0 * self._response(self.model_, x) - 1.0


class XLearner(_UpliftLearner):
    """Künzel et al.'s (2019) X-learner.

    1. Outcome models ``mu1`` (treated rows) and ``mu0`` (control rows), as in :class:`TLearner`.
    2. Imputed effects: ``D1 = Y - mu0(x)`` on treated rows, ``D0 = mu1(x) - Y`` on control rows.
    3. Effect models ``tau1`` (regress ``D1`` on treated rows) and ``tau0`` (``D0`` on control rows).
    4. ``tau(x) = e(x) tau0(x) + (1 - e(x)) tau1(x)`` with ``e`` the propensity score: where treated
       rows are plentiful (``e`` high), ``tau0`` weighs more, as its imputed effects rest on ``mu1``,
       fitted on those many treated rows (and conversely).

    Parameters
    ----------
    model : scikit-learn estimator, optional
        The outcome models (a classifier for a 0/1 outcome, or a regressor).
    effect_model : scikit-learn regressor, optional
        The effect models; default the module's gradient boosting regressor.
    propensity : float or scikit-learn classifier, optional
        The treatment probability: None (the treated share, as in a
        randomised test), a number in (0, 1), or a classifier fitted on
        ``(X, treatment)`` (its ``predict_proba``).
    control, random_state
        As in :class:`TLearner`.

    Attributes
    ----------
    outcome_treated_, outcome_control_, effect_treated_, effect_control_ : fitted estimators
    propensity_ : float or fitted classifier

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(3)
    >>> x = rng.normal(size=(600, 1)); t = rng.integers(0, 2, 600)
    >>> y = x[:, 0] + t * (1 + 2 * x[:, 0]) + rng.normal(0, 0.1, 600)
    >>> m = XLearner(model=LinearRegression(), effect_model=LinearRegression()).fit(x, t, y)
    >>> np.round(m.predict(np.array([[0.0], [1.0]])), 1).tolist()
    [1.0, 3.0]
    """

    def __init__(self, *, model: Any = None, effect_model: Any = None, propensity: Any = None,
                 control: Any = None, random_state: Any = None) -> None:
        self.model = model
        self.effect_model = effect_model
        self.propensity = propensity
        self.control = control
        self.random_state = random_state

    def fit(self, X: Any, treatment: Any, y: Any) -> "XLearner":
        """Fit the outcome, effect and (optionally) propensity models; returns self."""
        x, t, yv = self._data(X, treatment, y)
        binary = self.binary_outcome_
        x1, y1, x0, y0 = x[t == 1], yv[t == 1], x[t == 0], yv[t == 0]
        mu1 = self._fit_outcome(self._model(self.model, role="model", binary=binary), x1, y1, "treated")
        mu0 = self._fit_outcome(self._model(self.model, role="model", binary=binary), x0, y0, "control")
        d1 = y1 - self._response(mu0, x1)
        d0 = self._response(mu1, x0) - y0
        tau1 = self._model(self.effect_model, role="effect_model", binary=False, regressor=True).fit(x1, d1)
        tau0 = self._model(self.effect_model, role="effect_model", binary=False, regressor=True).fit(x0, d0)
        if self.propensity is None or isinstance(self.propensity, (int, float, np.floating)):
            prop: Any = _propensity_value(self.propensity, t)
        else:
            est = self._model(self.propensity, role="propensity", binary=True)
            if not _sklearn_base().is_classifier(est):
                raise ParameterError(f"propensity must be a number in (0, 1) or a classifier; found "
                                     f"{type(self.propensity).__name__}")
            prop = est.fit(x, t.astype(int))
        self.outcome_treated_, self.outcome_control_ = mu1, mu0
        self.effect_treated_, self.effect_control_ = tau1, tau0
        self.propensity_ = prop
        return self

    def propensity_score(self, X: Any) -> np.ndarray:
        """The treatment probability of each row used to blend the two effect models."""
        x = self._x(X)
        if isinstance(self.propensity_, float):
            return np.full(len(x), self.propensity_)
        return self._response(self.propensity_, x)

    def predict(self, X: Any) -> np.ndarray:
        """The uplift of each row: ``e(x) tau0(x) + (1 - e(x)) tau1(x)``."""
        x = self._x(X)
        e = self.propensity_score(X)
        tau1 = np.asarray(self.effect_treated_.predict(x), dtype=float).ravel()
        tau0 = np.asarray(self.effect_control_.predict(x), dtype=float).ravel()
        return e * tau0 + (1 - e) * tau1


# ------------------------------------------------------------------ Hillstrom


_HILLSTROM_NUMERIC = ("recency", "history", "mens", "womens", "newbie")
_HILLSTROM_CATEGORIES = ("zip_code", "channel", "history_segment")
_HILLSTROM_OUTCOMES = ("visit", "conversion", "spend")


def hillstrom_arrays(data: Any, *, treatment: str = "womens", outcome: str = "visit"
                     ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Features, treatment and outcome of one Hillstrom e-mail arm against no e-mail.

    Parameters
    ----------
    data : table-like
        The Hillstrom test: :func:`~marketing360.datasets.read_hillstrom`'s
        table (column ``arm``) or the challenge file as read (column ``segment``).
    treatment : str, default "womens"
        The e-mail arm: ``"mens"`` / ``"womens"`` or ``"Mens E-Mail"`` / ``"Womens E-Mail"``.
    outcome : {"visit", "conversion", "spend"}

    Returns
    -------
    (X, treatment, y)
        ``X`` a float DataFrame of ``recency, history, mens, womens, newbie``
        and one-hot ``zip_code``, ``channel``, ``history_segment`` (one column
        per level of the whole file); ``treatment`` 1 for the e-mail arm and 0
        for no e-mail; ``y`` the outcome. Rows of the third arm are left out;
        row order is kept.

    Raises
    ------
    SchemaError
        A missing column; ParameterError an unknown arm or outcome.
    """
    from ..datasets.readers.experiments import HILLSTROM_ARMS

    if isinstance(data, pd.DataFrame):
        df = data
    else:
        from ..engine.base import fetch
        from ..inputs import open_table

        df = fetch(open_table(data, what="hillstrom_arrays"), "pandas")
    if outcome not in _HILLSTROM_OUTCOMES:
        raise ParameterError(f"outcome must be one of {list(_HILLSTROM_OUTCOMES)}; found {outcome!r}")
    arm_name = HILLSTROM_ARMS.get(treatment, treatment)
    if arm_name not in ("mens", "womens"):
        raise ParameterError(f"treatment must be 'mens' or 'womens' (or 'Mens E-Mail' / 'Womens E-Mail'); found "
                             f"{treatment!r}")
    if "arm" in df.columns:
        arm = df["arm"].astype(object)
    elif "segment" in df.columns:
        arm = df["segment"].astype(str).str.strip().map(HILLSTROM_ARMS)
    else:
        raise SchemaError(f"hillstrom: needs an 'arm' or 'segment' column; found {list(df.columns)}",
                          column="segment")
    need = [*_HILLSTROM_NUMERIC, *_HILLSTROM_CATEGORIES, outcome]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise SchemaError(f"hillstrom: missing column(s) {missing}; found {list(df.columns)}", column=missing[0])
    keep = arm.isin([arm_name, "control"]).to_numpy()
    X = df.loc[keep, list(_HILLSTROM_NUMERIC)].astype(float).reset_index(drop=True)
    for c in _HILLSTROM_CATEGORIES:
        levels = sorted(df[c].astype(str).unique())
        col = pd.Categorical(df.loc[keep, c].astype(str), categories=levels)
        X = pd.concat([X, pd.get_dummies(col, prefix=c, dtype=float)], axis=1)
    t = (arm[keep] == arm_name).to_numpy(dtype=int)
    y = as_vector(df.loc[keep, outcome], outcome)
    return X, t, y
