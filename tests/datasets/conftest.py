"""Fixtures of the dataset tests: the shared public data folder, skipped (or failed in CI) when absent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from marketing360.datasets.shared import shared_data_dir
from marketing360.testing import skip_or_fail


@pytest.fixture
def shared() -> Path:
    """The shared data folder; skips the test when it is not on this machine."""
    root = shared_data_dir()
    if not root.is_dir():
        skip_or_fail(f"shared public data folder {root} is absent (set M360_SHARED_DATA)",
                     required_by="M360_REQUIRE_SHARED_DATA")
    return root


@pytest.fixture
def need(shared: Path) -> Callable[..., Path]:
    """``need("folder", "file")``: a file of the shared data, or a skip when it is absent."""

    def _need(*parts: str) -> Path:
        path = shared.joinpath(*parts)
        if not path.exists():
            skip_or_fail(f"shared data file {path} is absent", required_by="M360_REQUIRE_SHARED_DATA")
        return path

    return _need

