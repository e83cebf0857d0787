"""Root pytest hooks: markers that follow what a test needs, and skips when it is absent.

* Every test that uses the ``spark_engine`` fixture (directly, or through the
  ``engine`` fixture's Spark case) carries the ``spark`` marker, so
  ``pytest -m "not spark"`` never starts a JVM.
* A notebook declares what it needs in its metadata,
  ``{"marketing360": {"requires": ["spark", "shared_data"]}}`` (Java for Spark, the
  public data sets in ../shared/data): its cells get the ``spark`` / ``shared_data``
  markers, and skip (or fail in CI) when the need is absent.
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


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from marketing360.datasets.shared import shared_data_dir
    from marketing360.engine.spark import java_available

    needs: dict[Path, list[str]] = {}
    for item in items:
        if "spark_engine" in getattr(item, "fixturenames", ()) and item.get_closest_marker("spark") is None:
            item.add_marker(pytest.mark.spark)
        path = Path(str(item.fspath))
        if path.suffix == ".ipynb":
            for need in _requires(path, needs):
                item.add_marker(getattr(pytest.mark, need))

    # with M360_REQUIRE_* set (CI), nothing is skipped: a missing need fails where it is used
    missing = {}
    if not java_available() and not os.environ.get("M360_REQUIRE_SPARK"):
        missing["spark"] = "Java is not installed: this notebook runs Spark"
    if not shared_data_dir().is_dir() and not os.environ.get("M360_REQUIRE_SHARED_DATA"):
        missing["shared_data"] = f"the public data sets are not in {shared_data_dir()}"
    if not missing:
        return
    cache: dict[Path, list[str]] = {}
    for item in items:
        path = Path(str(item.fspath))
        if path.suffix == ".ipynb":
            for need in _requires(path, cache):
                if need in missing:
                    item.add_marker(pytest.mark.skip(reason=missing[need]))
                    break
