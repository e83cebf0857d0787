"""Numeric columns that break naive quantile sketches, shared by the preprocessing tests."""

from __future__ import annotations

import numpy as np


def adversarial(n: int = 5000) -> dict[str, np.ndarray]:
    """Columns that break naive quantile sketches: sorted, reversed, constant, heavy ties, NaN, ±inf."""
    rng = np.random.default_rng(7)
    ties = rng.choice([1.0, 2.0, 3.0], n, p=[0.7, 0.2, 0.1])
    spiky = rng.normal(0, 1, n)
    spiky[rng.choice(n, n // 10, replace=False)] = np.nan
    spiky[rng.choice(n, 50, replace=False)] = np.inf
    spiky[rng.choice(n, 50, replace=False)] = -np.inf
    return {"sorted": np.arange(n, dtype=float), "reversed": np.arange(n, 0, -1, dtype=float),
            "constant": np.full(n, 4.2), "ties": ties, "spiky": spiky,
            "heavy_tail": rng.pareto(0.8, n)}
