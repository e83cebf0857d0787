"""pyproject.toml and environment.yml declare the same dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda name -> PyPI name
CONDA_ONLY = {"python", "pip", "openjdk"}


def _split(spec: str) -> tuple[str, str]:
    spec = spec.split(";")[0].strip()
    m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", spec)
    assert m, spec
    return m.group(1).lower(), m.group(3).replace(" ", "")


def pyproject_deps() -> dict[str, set[str]]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(meta["dependencies"])
    for deps in meta["optional-dependencies"].values():
        specs += [d for d in deps if not d.startswith("marketing360")]
    out: dict[str, set[str]] = {}
    for s in specs:
        name, ver = _split(s)
        out.setdefault(name, set()).add(ver)
    return out


def conda_deps() -> dict[str, set[str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out: dict[str, set[str]] = {}
    for d in env["dependencies"]:
        if not isinstance(d, str):
            continue
        name, ver = _split(d)
        if name in CONDA_ONLY:
            continue
        out.setdefault(CONDA_NAMES.get(name, name), set()).add(ver.lstrip("="))
    return out


def test_the_two_dependency_lists_agree():
    py, conda = pyproject_deps(), conda_deps()
    assert set(py) == set(conda), (set(py) ^ set(conda))
    for name, versions in py.items():
        # ibis-framework is listed once per extra with the same range
        assert conda[name] == versions, (name, conda[name], versions)


def test_torch_stays_on_the_cpu_wheel_range():
    assert pyproject_deps()["torch"] == {">=2.5,<2.14"}


def test_not_spark_deselects_every_test_that_starts_spark():
    import subprocess
    import sys

    def collected(marker: str) -> set[str]:
        out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                              "-m", marker, "tests/engine", "tests/test_report.py"],
                             cwd=ROOT, capture_output=True, text=True).stdout
        return {line for line in out.splitlines() if "::" in line}

    spark, other = collected("spark"), collected("not spark")
    # these use the spark_engine fixture directly; the hook marks them
    assert any("test_spark_dataframe_in" in t for t in spark)
    assert any("test_demo_on_spark" in t for t in spark)
    assert not any("spark" in t.lower() and "duckdb" not in t for t in other), sorted(other)
