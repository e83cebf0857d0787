"""Models shared by the analyses: weighted sparse logistic regression (L-BFGS)."""

from .logistic import LogisticFit, fit_logistic

__all__ = ["fit_logistic", "LogisticFit"]
