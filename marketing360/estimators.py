"""scikit-learn's estimator contract, to the letter, for every estimator of marketing360.

* settings are keyword arguments of ``__init__`` with defaults, stored as
  they are, with no logic (checks happen in ``fit``);
* :meth:`Estimator.get_params` / :meth:`Estimator.set_params` read them from
  the ``__init__`` signature (so ``sklearn.base.clone`` works);
* ``fit`` returns ``self``; what it learns ends in ``_``;
* one not-fitted check, :meth:`Estimator._check_fitted`, raising
  :class:`~marketing360.errors.NotFittedError`;
* randomness comes from ``random_state`` (an int, a numpy ``Generator`` or None).

Examples
--------
>>> class Mean(Estimator):
...     def __init__(self, *, shrink: float = 0.0) -> None:
...         self.shrink = shrink
...     def fit(self, x):
...         self.mean_ = sum(x) / (len(x) + self.shrink)
...         return self
>>> m = Mean(shrink=1.0)
>>> m.get_params()
{'shrink': 1.0}
>>> m.set_params(shrink=2.0).fit([3, 3]).mean_
1.5
>>> Mean()._check_fitted()
Traceback (most recent call last):
...
marketing360.errors.NotFittedError: Mean is not fitted yet; call fit(...) first
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from .errors import NotFittedError, ParameterError

__all__ = ["Estimator", "check_random_state"]


class Estimator:
    """Base class: parameter handling, repr and the fitted check of scikit-learn."""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The settings given to ``__init__`` (``deep`` is accepted for scikit-learn's sake)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "Estimator":
        """Change settings; unknown names raise :class:`ParameterError` listing the valid ones."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ParameterError(f"{type(self).__name__} has no parameter {name!r}; parameters: {valid}")
            setattr(self, name, value)
        return self

    def _fitted(self) -> bool:
        return any(k.endswith("_") and not k.startswith("_") for k in vars(self))

    def __sklearn_is_fitted__(self) -> bool:
        return self._fitted()

    def _check_fitted(self) -> None:
        """Raise :class:`NotFittedError` unless ``fit`` has run."""
        if not self._fitted():
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit(...) first")

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        changed = []
        for name in self._param_names():
            default = sig.parameters[name].default
            value = getattr(self, name, default)
            try:
                same = value is default or bool(value == default) or _both_nan(value, default)
            except Exception:
                same = False
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"


def _both_nan(a: Any, b: Any) -> bool:
    return isinstance(a, float) and isinstance(b, float) and a != a and b != b


def check_random_state(random_state: Any) -> np.random.Generator:
    """A numpy Generator from ``random_state``: None (fresh entropy), an int seed, or a Generator.

    Examples
    --------
    >>> bool(check_random_state(3).integers(100) == check_random_state(3).integers(100))
    True
    """
    if random_state is None or (isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool)):
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    raise ParameterError(f"random_state must be None, an int or a numpy Generator; found {random_state!r}")
