"""Root pytest hooks and fixtures: markers that follow what a test needs, and skips when it is absent.

* Every test that uses the ``spark_engine`` fixture (directly, or through the
  ``engine`` fixture's Spark case) carries the ``spark`` marker, so
  ``pytest -m "not spark"`` never starts a JVM.
* Every test that uses the ``shared`` or ``need`` fixture (the public data
  sets in ../shared/data) carries the ``shared_data`` marker.
* A notebook declares what it needs in its metadata,
  ``{"marketing360": {"requires": ["spark", "shared_data"]}}`` (Java for Spark, the
  public data sets in ../shared/data): its cells get the ``spark`` / ``shared_data``
  markers. A notebook that calls ``load_sample(`` gets the ``slow`` marker (the
  sample world is built on first use, about two minutes).
* Any test marked ``shared_data`` (by hand or as above) is skipped when the data
  folder is absent, and so is every cell of a notebook that needs Spark when
  Java is absent. With ``M360_REQUIRE_SHARED_DATA`` / ``M360_REQUIRE_SPARK`` set
  (CI), nothing is skipped: a missing need fails where it is used.
* Notebook cells wait up to :data:`NOTEBOOK_OUTPUT_TIMEOUT` seconds for each output message (nbval: 5).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

_SHARED_FIXTURES = {"shared", "need"}
#: seconds nbval waits for each output message of a notebook cell once the cell has run (nbval's own: 5)
NOTEBOOK_OUTPUT_TIMEOUT = 60


def _notebook(path: Path, cache: dict[Path, tuple[list[str], bool]]) -> tuple[list[str], bool]:
    """What a notebook requires (its metadata), and whether it loads the sample world."""
    if path not in cache:
        nb = json.loads(path.read_text(encoding="utf-8"))
        requires = list(nb.get("metadata", {}).get("marketing360", {}).get("requires", []))
        sample = any("load_sample(" in "".join(c.get("source", [])) for c in nb.get("cells", [])
                     if c.get("cell_type") == "code")
        cache[path] = (requires, sample)
    return cache[path]


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from marketing360.datasets.shared import shared_data_dir
    from marketing360.engine.spark import java_available

    notebooks: dict[Path, tuple[list[str], bool]] = {}
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if "spark_engine" in fixtures and item.get_closest_marker("spark") is None:
            item.add_marker(pytest.mark.spark)
        if fixtures & _SHARED_FIXTURES and item.get_closest_marker("shared_data") is None:
            item.add_marker(pytest.mark.shared_data)
        path = Path(str(item.fspath))
        if path.suffix == ".ipynb":
            # nbval waits 5 s between a cell's output messages; a loaded 2-core machine (CI next to other jobs)
            # delivered a training cell's figure later than that and failed a cell that had run
            if hasattr(item, "output_timeout"):
                item.output_timeout = NOTEBOOK_OUTPUT_TIMEOUT
            requires, sample = _notebook(path, notebooks)
            for need in requires:
                item.add_marker(getattr(pytest.mark, need))
            if sample:
                item.add_marker(pytest.mark.slow)

    # with M360_REQUIRE_* set (CI), nothing is skipped: a missing need fails where it is used
    skip_data = None
    if not shared_data_dir().is_dir() and not os.environ.get("M360_REQUIRE_SHARED_DATA"):
        skip_data = pytest.mark.skip(reason=f"the public data sets are not in {shared_data_dir()} "
                                            "(set M360_SHARED_DATA)")
    skip_spark = None
    if not java_available() and not os.environ.get("M360_REQUIRE_SPARK"):
        skip_spark = pytest.mark.skip(reason="Java is not installed: this notebook runs Spark")
    for item in items:
        if skip_data is not None and item.get_closest_marker("shared_data") is not None:
            item.add_marker(skip_data)
        elif (skip_spark is not None and Path(str(item.fspath)).suffix == ".ipynb"
              and item.get_closest_marker("spark") is not None):
            item.add_marker(skip_spark)


# ------------------------------------------------------------------ the shared public data sets


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared data folder; skips the test (fails it under M360_REQUIRE_SHARED_DATA) when absent."""
    from marketing360.datasets.shared import shared_data_dir
    from marketing360.testing import skip_or_fail

    root = shared_data_dir()
    if not root.is_dir():
        skip_or_fail(f"shared public data folder {root} is absent (set M360_SHARED_DATA)",
                     required_by="M360_REQUIRE_SHARED_DATA")
    return root


@pytest.fixture(scope="session")
def need(shared: Path) -> Callable[..., Path]:
    """``need("folder", "file")``: a file of the shared data, or a skip (a failure in CI) when it is absent."""
    from marketing360.testing import skip_or_fail

    def _need(*parts: str) -> Path:
        path = shared.joinpath(*parts)
        if not path.exists():
            skip_or_fail(f"shared data file {path} is absent", required_by="M360_REQUIRE_SHARED_DATA")
        return path

    return _need
