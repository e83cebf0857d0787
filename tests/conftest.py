"""The engine harness every analysis test uses.

``engine`` is parametrized over DuckDB and Spark (markers ``duckdb`` / ``spark``:
``pytest -m "not spark"`` skips the JVM). One Spark session serves the whole run.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import marketing360 as m3
from marketing360.engine.spark import java_available
from marketing360.testing import skip_or_fail

# plain-Python references of the definitions, shared by the test folders
sys.path.insert(0, str(Path(__file__).parent / "references"))


@pytest.fixture(scope="session")
def duckdb_engine():
    eng = m3.connect()
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def spark_engine():
    if importlib.util.find_spec("pyspark") is None:
        skip_or_fail("pyspark is not installed (pip install 'marketing360[spark]')",
                     required_by="M360_REQUIRE_SPARK")
    if not java_available():
        skip_or_fail("Java is not installed: Spark tests need a JDK 17 or 21",
                     required_by="M360_REQUIRE_SPARK")
    eng = m3.connect("spark")
    yield eng
    eng.close()


@pytest.fixture(params=[pytest.param("duckdb", marks=pytest.mark.duckdb),
                        pytest.param("spark", marks=pytest.mark.spark)])
def engine(request):
    """Each engine in turn; compare its results with a plain pandas reference."""
    return request.getfixturevalue(f"{request.param}_engine")


@pytest.fixture(scope="session")
def small_world():
    """A small simulated world with full truth, shared by the tests that only read it."""
    return m3.datasets.simulate(n_users=600, n_days=35, seed=11, holdout={"video": 0.3})
