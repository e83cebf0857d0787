"""Data shared by the preprocessing tests: adversarial columns for quantiles and buckets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def mixed() -> pd.DataFrame:
    """Floats with nulls, NaN and infinities; integers; a float32 column; a string column."""
    rng = np.random.default_rng(3)
    n = 400
    x = rng.normal(10, 3, n).round(1)
    x[rng.choice(n, 30, replace=False)] = np.nan
    x[:3] = [np.inf, -np.inf, 50.0]
    a = pd.Series(x)
    a[rng.choice(n, 20, replace=False)] = None
    return pd.DataFrame({
        "a": a,
        "i": rng.integers(0, 7, n),
        "g": pd.Series(rng.gamma(2.0, 2.0, n).round(0), dtype="float32"),
        "name": rng.choice(["x", "y"], n),
    })
