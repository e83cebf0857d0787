"""The one error hierarchy of marketing360.

Every error the package raises on purpose derives from
:class:`Marketing360Error`; errors about bad input also derive from the
built-in exception a user would reach for (``ValueError``, ``ImportError``),
so ``except ValueError`` keeps working.

Examples
--------
>>> from marketing360.errors import SchemaError
>>> issubclass(SchemaError, ValueError)
True
"""

from __future__ import annotations

__all__ = [
    "Marketing360Error",
    "SchemaError",
    "ParameterError",
    "EngineError",
    "MissingDependencyError",
    "NotFittedError",
]


class Marketing360Error(Exception):
    """Base class of every error raised by marketing360."""


class SchemaError(Marketing360Error, ValueError):
    """A table does not follow its canonical schema.

    Attributes
    ----------
    table : str
        Name of the canonical table being validated (``"events"`` ...).
    column : str or None
        The offending column, when one is to blame.
    """

    def __init__(self, message: str, *, table: str | None = None, column: str | None = None):
        super().__init__(message)
        self.table = table
        self.column = column


class ParameterError(Marketing360Error, ValueError):
    """A function argument is impossible (negative size, unknown option ...)."""


class EngineError(Marketing360Error, RuntimeError):
    """An engine cannot do what was asked (unsupported input, missing capability)."""


class MissingDependencyError(Marketing360Error, ImportError):
    """An optional dependency is not installed; the message says how to install it."""


class NotFittedError(Marketing360Error, AttributeError):
    """An estimator was used before ``fit``."""
