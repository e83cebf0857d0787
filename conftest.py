"""Root pytest hooks: notebooks that need Spark skip (or fail in CI) when Java is absent.

A notebook declares what it needs in its metadata: ``{"marketing360": {"requires": ["spark"]}}``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


def _requires(path: Path, cache: dict[Path, list[str]]) -> list[str]:
    if path not in cache:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        cache[path] = list(meta.get("marketing360", {}).get("requires", []))
    return cache[path]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from marketing360.engine.spark import java_available

    if java_available() or os.environ.get("M360_REQUIRE_SPARK"):
        return  # with M360_REQUIRE_SPARK set, a missing Java makes the notebook fail where it starts Spark
    cache: dict[Path, list[str]] = {}
    reason = "Java is not installed: this notebook runs Spark"
    for item in items:
        path = Path(str(item.fspath))
        if path.suffix == ".ipynb" and "spark" in _requires(path, cache):
            item.add_marker(pytest.mark.skip(reason=reason))
