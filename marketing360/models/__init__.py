"""Models shared by the analyses: weighted sparse logistic regression (L-BFGS), the exact Shapley kernel."""

from .logistic import LogisticFit, fit_logistic
from .shapley import exact_shapley, popcount

__all__ = ["fit_logistic", "LogisticFit", "exact_shapley", "popcount"]
