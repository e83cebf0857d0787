"""The small sample world committed in ``data/samples/`` and the command that makes it.

The sample is produced by ``python -m marketing360 sample`` (the parameters are
:data:`SAMPLE_PARAMS`); it is deterministic, so running the command again
reproduces the committed files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import Marketing360Error
from .simulator import SimulationResult, simulate

__all__ = ["SAMPLE_DIR", "SAMPLE_PARAMS", "load_sample", "write_sample"]

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "samples" / "world"

#: the arguments of :func:`~marketing360.datasets.simulate` behind the committed sample
SAMPLE_PARAMS: dict[str, Any] = dict(
    n_users=12_000, n_days=90, n_brands=8, n_categories=3, n_geos=10,
    holdout={"video": 0.2, "display": 0.1}, truth="full", freq="W", seed=2026, start="2025-09-01",
)


def load_sample(path: str | Path | None = None) -> SimulationResult:
    """Load the committed sample world (events, tables and truth).

    Examples
    --------
    >>> w = load_sample()
    >>> w.config["n_users"], w.channels[:3]
    (12000, ['display', 'search', 'social'])
    """
    root = Path(path) if path is not None else SAMPLE_DIR
    if not (root / "world.json").exists():
        raise Marketing360Error(
            f"no sample world at {root}; make it with: python -m marketing360 sample"
        )
    return SimulationResult.read(root)


def write_sample(path: str | Path | None = None, *, progress: bool = False) -> Path:
    """Simulate the sample world with :data:`SAMPLE_PARAMS` and write it (parquet)."""
    world = simulate(**SAMPLE_PARAMS, progress=progress)
    return world.write(Path(path) if path is not None else SAMPLE_DIR)
