"""Models shared by the analyses: sparse linear models trained with vector-free L-BFGS, the exact Shapley kernel,
the sequence networks of the deep attribution models."""

from .linear import SparseLinearRegression, SparseLogisticRegression
from .logistic import LogisticFit, fit_logistic
from .shapley import exact_shapley, popcount
from .vlbfgs import minimize, two_loop_coefficients

__all__ = ["fit_logistic", "LogisticFit", "exact_shapley", "popcount", "SparseLogisticRegression",
           "SparseLinearRegression", "minimize", "two_loop_coefficients"]
