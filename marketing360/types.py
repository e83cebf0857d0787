"""The option types of marketing360, in one place: ``Literal`` aliases for every string option.

Editors complete them and type checkers verify them; every public function
that takes a string option is annotated with one of these.

Examples
--------
>>> from typing import get_args
>>> get_args(Anchor)
('conversion', 'calendar')
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal, TypeAlias, Union

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    import pyarrow as pa
    import pyspark.sql
    from ibis.expr.types import Table

    from .results import Result

__all__ = [
    "TableLike", "EngineName", "Output", "TableName", "Stage", "Anchor", "Rule", "Worth", "CreditKey",
    "Architecture", "Players", "CountUnit", "ImputeStrategy", "HandleInvalid",
    "ExperimentMetric", "Correction", "IntervalKind", "Alternative", "DiDControl", "DiDInference", "BasePeriod",
    "MultiplierWeights",
    "ImpactModel", "ImpactEstimation", "UpliftTransform", "CurveKind", "AtKStrategy", "SynthMethod", "SynthInference",
    "TrimmedMatchInference",
    "ConformalType", "DesignSide", "TBRScenario", "TBRPanel", "TrimmedMatchPlot",
]

#: what every analysis takes as data: anything :meth:`Engine.table <marketing360.engine.Engine.table>`
#: opens (a frame, an Arrow table, a parquet / CSV path, an ibis table, a Spark DataFrame) or a result
TableLike: TypeAlias = Union["pd.DataFrame", "pl.DataFrame", "pl.LazyFrame", "pa.Table", "Table",
                             "pyspark.sql.DataFrame", "Result", str, "os.PathLike[str]"]
#: engines :func:`marketing360.connect` can open
EngineName = Literal["duckdb", "spark"]
#: the libraries results can be returned in
Output = Literal["pandas", "polars", "arrow"]
#: the canonical tables of :mod:`marketing360.schema`
TableName = Literal["events", "spend", "outcomes", "users", "paths"]
#: the 4A stages a consumer-brand pair can be in (``unaware`` is not listed in results)
Stage = Literal["aware", "appeal", "act", "advocate"]
#: how journeys are cut: at each conversion, or in calendar windows
Anchor = Literal["conversion", "calendar"]
#: rule-based attribution rules
Rule = Literal["first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based"]
#: the worth of a channel set in Shapley attribution
Worth = Literal["conversions", "rate"]
#: what a touchpoint is credited to
CreditKey = Literal["channel", "campaign"]
#: network architectures of the deep attribution model
Architecture = Literal["rnn", "attention"]
#: Shapley players of the deep attribution model
Players = Literal["touch", "channel"]
#: how a 4A criterion counts qualifying events
CountUnit = Literal["days", "events"]
#: statistics of the multi-column imputer
ImputeStrategy = Literal["mean", "median", "mode"]
#: what the bucketing transformers do with null and NaN values (Spark ML's ``handleInvalid``)
HandleInvalid = Literal["error", "skip", "keep"]
#: outcome metrics :func:`~marketing360.incrementality.experiment` builds per user from events
ExperimentMetric = Literal["conversion", "purchases", "revenue", "visit"]
#: multiplicity corrections of p-values over arms and metrics
Correction = Literal["holm", "bonferroni", "none"]
#: how an experiment readout makes its intervals
IntervalKind = Literal["normal", "bootstrap"]
#: the alternative hypothesis of a test (scipy's names)
Alternative = Literal["two-sided", "greater", "less"]
#: the clean controls of a cohort in staggered DiD
DiDControl = Literal["never_treated", "not_yet_treated"]
#: how ``did`` makes its interval: cluster-robust t, or randomisation inference (reassigning treatment paths)
DiDInference = Literal["cluster", "permutation"]
#: the base period of a pre-adoption ATT(g, t): before t, or before g
BasePeriod = Literal["varying", "universal"]
#: the weights of the multiplier bootstrap
MultiplierWeights = Literal["mammen", "rademacher"]
#: the trend of CausalImpact's structural time-series model
ImpactModel = Literal["local_level", "local_linear_trend"]
#: how CausalImpact's variances are estimated
ImpactEstimation = Literal["posterior", "mle"]
#: the target of the class-transformation uplift learner
UpliftTransform = Literal["class", "outcome"]
#: the two gain curves of uplift modelling
CurveKind = Literal["uplift", "qini"]
#: how uplift at k takes the top k: of all rows or of each arm
AtKStrategy = Literal["overall", "by_group"]
#: synthetic control, plain or ridge-augmented
SynthMethod = Literal["scm", "ascm"]
#: how a synthetic control is tested
SynthInference = Literal["conformal", "permutation", "none"]
#: how Trimmed Match makes its interval: a wild sign-flip bootstrap of the whole fit, or the package's normal quantile
TrimmedMatchInference = Literal["bootstrap", "normal"]
#: the permutations of the conformal test
ConformalType = Literal["iid", "block"]
#: the test a geo design is powered for (one-sided: in the direction of the effect)
DesignSide = Literal["two-sided", "one-sided"]
#: how TBR knows the incremental cost: the treatment's own spend, or a regression
TBRScenario = Literal["fixed", "variable"]
#: the panels of a TBR plot
TBRPanel = Literal["all", "counterfactual", "pointwise", "cumulative"]
#: what a Trimmed Match plot shows
TrimmedMatchPlot = Literal["pairs", "trim_rates"]
