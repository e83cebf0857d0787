"""Econometric incrementality: experiments, uplift, difference-in-differences, time-series counterfactuals, geo tests.

Every estimator returns an :class:`Effects` result (or a subclass): a tidy
table of ``estimate, std_error, lower, upper, p_value`` per effect, with
``conf_int(alpha=)``, ``summary()`` and ``plot()``; the learners follow
scikit-learn's contract.

* experiments: :func:`ab_test` (a table of units), :func:`experiment` (canonical events and an
  assignment, aggregated on the engine), :func:`power_analysis`;
* uplift: :class:`TLearner`, :class:`ClassTransformation`, :class:`XLearner`; :func:`qini_curve`,
  :func:`uplift_curve`, :func:`auuc`, :func:`qini_auc`, :func:`uplift_at_k`;
* difference-in-differences: :func:`did`, :func:`event_study`, :func:`staggered_did` (Callaway & Sant'Anna);
* time series: :func:`causal_impact`;
* geo experiments (:mod:`marketing360.incrementality.geo`): :func:`synthetic_control`, :func:`tbr`,
  :func:`trimmed_match`, :func:`geo_power`, :func:`market_selection`, :func:`geo_panel`,
  :func:`geo_outcomes`;
* marketing-mix models (:mod:`marketing360.incrementality.mmm`): :class:`MMM` (ROAS, marginal ROAS,
  decomposition, response curves, budget optimiser), calibrated by :func:`lift_tests` / :func:`lift_test`;
* money: :func:`mrr` (the monetised advertising return rate, its interval from whichever estimator measured
  the incremental revenue).
"""

from . import geo, mmm
from .did import DiDResult, EventStudy, WaldTest, did, event_study
from .effects import EFFECT_COLUMNS, Effects
from .experiments import METRICS, Experiment, ab_test, experiment
from .geo import (
    GeoPanel,
    SyntheticControl,
    TBREffects,
    TrimmedMatchEffects,
    geo_outcomes,
    geo_panel,
    geo_power,
    market_selection,
    synthetic_control,
    tbr,
    trimmed_match,
)
from .impact import CausalImpact, causal_impact
from .mmm import MMM, lift_test, lift_tests
from .mrr import MRR, mrr
from .power import PowerAnalysis, power_analysis
from .staggered import StaggeredDiD, staggered_did
from .uplift import ClassTransformation, TLearner, XLearner, hillstrom_arrays
from .uplift_eval import QiniCurve, UpliftCurve, auuc, qini_auc, qini_curve, uplift_at_k, uplift_curve

__all__ = [
    "Effects", "EFFECT_COLUMNS",
    "ab_test", "experiment", "Experiment", "METRICS", "power_analysis", "PowerAnalysis",
    "TLearner", "ClassTransformation", "XLearner", "hillstrom_arrays",
    "uplift_curve", "qini_curve", "auuc", "qini_auc", "uplift_at_k", "UpliftCurve", "QiniCurve",
    "causal_impact", "CausalImpact",
    "did", "event_study", "staggered_did", "DiDResult", "EventStudy", "WaldTest", "StaggeredDiD",
    "geo", "geo_panel", "geo_outcomes", "GeoPanel", "synthetic_control", "SyntheticControl", "tbr", "TBREffects",
    "trimmed_match", "TrimmedMatchEffects", "geo_power", "market_selection",
    "mmm", "MMM", "lift_tests", "lift_test", "mrr", "MRR",
]
