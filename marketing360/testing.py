"""Helpers for tests: compare an engine's result with a plain pandas reference.

Examples
--------
>>> import pandas as pd
>>> from marketing360.testing import assert_frame_matches
>>> assert_frame_matches(pd.DataFrame({"a": [2, 1]}), pd.DataFrame({"a": [1.0, 2.0]}))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["assert_frame_matches", "normalize_frame"]


def normalize_frame(df: pd.DataFrame, sort_by: Sequence[str] | None = None) -> pd.DataFrame:
    """Put a result in a comparable form: columns sorted by name, rows sorted, plain dtypes.

    Integers become float64, timestamps lose their unit and time zone (UTC), strings and
    missing values become ``object`` with ``None``.
    """
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_any_dtype(s):
            s = s.astype("datetime64[ns]")
        elif pd.api.types.is_bool_dtype(s):
            s = s.astype(object).where(s.notna(), None)
        elif pd.api.types.is_numeric_dtype(s):
            s = s.astype("float64")
        else:
            s = s.astype(object).where(s.notna(), None)
        out[c] = s
    out = out[sorted(out.columns)]
    keys = list(sort_by) if sort_by is not None else list(out.columns)
    if len(out):
        out = out.sort_values(keys, na_position="last", kind="mergesort")
    return out.reset_index(drop=True)


def assert_frame_matches(result: pd.DataFrame, expected: pd.DataFrame, *,
                         sort_by: Sequence[str] | None = None, rtol: float = 1e-9,
                         atol: float = 1e-12) -> None:
    """Assert two frames hold the same rows, whatever their row order and dtypes.

    Parameters
    ----------
    result, expected : pandas.DataFrame
        Typically an engine's output and a pandas reference of the same analysis.
    sort_by : sequence of str, optional
        Columns that order the rows (all columns by default).
    rtol, atol : float
        Tolerances of numeric columns.

    Raises
    ------
    AssertionError
        Naming the column and the first differing row.
    """
    if set(result.columns) != set(expected.columns):
        raise AssertionError(
            f"columns differ: only in result {sorted(set(result.columns) - set(expected.columns))}, "
            f"only in expected {sorted(set(expected.columns) - set(result.columns))}")
    if len(result) != len(expected):
        raise AssertionError(f"row counts differ: result {len(result)}, expected {len(expected)}")
    a = normalize_frame(result, sort_by)
    b = normalize_frame(expected, sort_by)
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_float_dtype(x) and pd.api.types.is_float_dtype(y):
            xv, yv = x.to_numpy(), y.to_numpy()
            same = np.isclose(xv, yv, rtol=rtol, atol=atol) | (np.isnan(xv) & np.isnan(yv))
        else:
            same = np.array([(u is None and v is None) or (u is not None and v is not None and u == v)
                             or (u is pd.NaT and v is pd.NaT) for u, v in zip(x, y)], dtype=bool)
        if not same.all():
            i = int(np.argmin(same))
            raise AssertionError(
                f"column {c!r} differs at sorted row {i}: result {x.iloc[i]!r}, expected {y.iloc[i]!r}"
                f" ({int((~same).sum())} of {len(same)} rows differ)")


def skip_or_fail(reason: str, *, required_by: str) -> None:
    """Skip the current test, or fail it when the environment variable ``required_by`` is set.

    CI sets ``M360_REQUIRE_SPARK`` / ``M360_REQUIRE_SHARED_DATA`` so that a missing Java or
    data folder turns into a red run instead of silently skipped tests.
    """
    import os

    import pytest

    if os.environ.get(required_by):
        pytest.fail(f"{reason} (and {required_by} is set: this run requires it)", pytrace=False)
    pytest.skip(reason)
