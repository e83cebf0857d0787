"""Econometric incrementality: experiments, uplift, difference-in-differences, time-series counterfactuals, geo tests.

Every estimator returns an :class:`Effects` result (or a subclass): a tidy
table of ``estimate, std_error, lower, upper, p_value`` per effect, with
``conf_int(alpha=)``, ``summary()`` and ``plot()``.
"""

from .effects import EFFECT_COLUMNS, Effects

__all__ = ["Effects", "EFFECT_COLUMNS"]
