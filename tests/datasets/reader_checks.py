"""Assertions shared by the reader tests."""

from __future__ import annotations

import pytest


def assert_schema_error(exc: pytest.ExceptionInfo, column: str) -> None:
    """The SchemaError names ``column`` in its attribute and in its message."""
    assert exc.value.column == column, (exc.value.column, str(exc.value))
    assert column in str(exc.value)
