"""Models shared by the analyses: sparse linear models trained with vector-free L-BFGS, deep click-through and
conversion models (DCN-V2, DIN, ESMM, MMoE) and the consumer-brand features they learn from, the exact Shapley
kernel, the sequence networks of the deep attribution models, and the mining engine's audience tags and lookalikes."""

from .deep import DeepClassifier
from .features import PairFeatures, pair_features
from .linear import SparseLinearRegression, SparseLogisticRegression
from .logistic import LogisticFit, fit_logistic
from .shapley import exact_shapley, popcount
from .tags import AudienceTags, Lookalike, audience_tags, lookalike
from .vlbfgs import minimize, two_loop_coefficients

__all__ = ["DeepClassifier", "pair_features", "PairFeatures", "fit_logistic", "LogisticFit", "exact_shapley",
           "popcount", "SparseLogisticRegression", "SparseLinearRegression", "minimize", "two_loop_coefficients",
           "audience_tags", "AudienceTags", "lookalike", "Lookalike"]
