"""Lazy import of optional dependencies with an install hint."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

#: optional module -> the extra of marketing360 that installs it
_EXTRAS = {
    "pyspark": "spark",
    "torch": "deep",
    "ipywidgets": "notebooks",
    "sklearn": "uplift",
}


def import_optional(module: str, *, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` saying how to get it.

    Examples
    --------
    >>> import_optional("numpy", purpose="arrays").__name__
    'numpy'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        extra = _EXTRAS.get(top)
        hint = f"pip install 'marketing360[{extra}]'" if extra else f"pip install {top}"
        raise MissingDependencyError(
            f"{purpose} needs the optional package {top!r}, which is not installed; "
            f"install it with: {hint}"
        ) from exc
