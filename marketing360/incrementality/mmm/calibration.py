"""Lift tests as calibration data for a marketing-mix model.

A lift test says: over ``start .. end`` (in ``geos``), the test changed the
channel's spend by ``delta_spend`` against business as usual (negative for
a holdout or go-dark test, positive for a heavy-up) and measured a change
``lift`` in the outcome (with its ``std_error``), the carry-over after the
window included. The model's own lift of the same change — its prediction
with the observed spend minus its prediction with business-as-usual spend,
``observed - delta_spend`` spread over the window — is fitted to the
measurement, weighed by its standard error (PyMC-Marketing's
``add_lift_test_measurements`` works the same way).

Where the observed spend in the window is positive the change is spread
like it; where the test removed all of it (go-dark), evenly over the window's
periods, and over the geos by their share of the channel's spend outside the
window.

:func:`lift_test` turns the result of an experiment or geo test of this
package (``tbr``, ``trimmed_match``, ``synthetic_control``, ``did`` ...) into
one such row.

Examples
--------
>>> rows = lift_tests([{"channel": "tv", "start": "2024-03-04", "end": "2024-03-25", "delta_spend": -4000.0,
...                     "lift": -9000.0, "std_error": 2500.0}])
>>> rows[["channel", "delta_spend", "lift", "std_error"]].to_dict("records")
[{'channel': 'tv', 'delta_spend': -4000.0, 'lift': -9000.0, 'std_error': 2500.0}]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ...errors import ParameterError, SchemaError

__all__ = ["LIFT_COLUMNS", "lift_tests", "lift_test"]

#: the columns of a table of lift tests (``geos`` optional: a list of geo names, or None for all)
LIFT_COLUMNS = ("channel", "start", "end", "delta_spend", "lift", "std_error", "geos")


def lift_tests(tests: Any) -> pd.DataFrame:
    """Lift tests (a DataFrame, a list of dicts, or one dict) as a checked table of :data:`LIFT_COLUMNS`.

    Raises
    ------
    ParameterError
        Something other than a table or a list of dicts.
    SchemaError
        A missing column, a non-numeric or non-finite value, a standard error <= 0, a zero spend change, a date
        that does not parse, an end before the start. (A lift of the opposite sign to the spend change is not an
        error: a channel may hurt.)
    """
    if isinstance(tests, pd.DataFrame):
        df = tests.copy()
    elif isinstance(tests, Mapping):
        df = pd.DataFrame([dict(tests)])
    elif isinstance(tests, Sequence) and not isinstance(tests, str):
        df = pd.DataFrame([dict(t) for t in tests])
    else:
        raise ParameterError(f"lift_tests: give a DataFrame or a list of dicts with {list(LIFT_COLUMNS[:-1])}; "
                             f"found {type(tests).__name__}")
    if df.empty:
        raise SchemaError("lift_tests: no lift test given", table="lift_tests", column=None)
    missing = [c for c in LIFT_COLUMNS[:-1] if c not in df.columns]
    if missing:
        raise SchemaError(f"lift_tests: missing column(s) {missing}; found {list(df.columns)}", table="lift_tests",
                          column=missing[0])
    if "geos" not in df.columns:
        df["geos"] = None
    for c in ("delta_spend", "lift", "std_error"):
        v = pd.to_numeric(df[c], errors="coerce")
        if v.isna().any() or not np.isfinite(v.to_numpy(float)).all():
            raise SchemaError(f"lift_tests: column {c!r} must hold finite numbers; found {df[c].tolist()}",
                              table="lift_tests", column=c)
        df[c] = v.astype(float)
    if (df["std_error"] <= 0).any():
        raise SchemaError("lift_tests: std_error must be > 0 (the lift's standard error)", table="lift_tests",
                          column="std_error")
    if (df["delta_spend"] == 0).any():
        raise SchemaError("lift_tests: delta_spend is 0 in some test: a test that changed no spend says nothing "
                          "about the channel's return", table="lift_tests", column="delta_spend")
    for c in ("start", "end"):
        try:
            df[c] = pd.to_datetime(df[c], format="ISO8601")
        except (ValueError, TypeError):
            raise SchemaError(f"lift_tests: column {c!r} must hold ISO dates; found {df[c].tolist()}",
                              table="lift_tests", column=c) from None
    if (df["end"] < df["start"]).any():
        raise SchemaError("lift_tests: a test ends before it starts", table="lift_tests", column="end")
    df["channel"] = df["channel"].astype(str)
    df["geos"] = [None if g is None or (not isinstance(g, (list, tuple, np.ndarray)) and pd.isna(g))
                  else ([g] if isinstance(g, str) else [str(x) for x in g]) for g in df["geos"]]
    return df[list(LIFT_COLUMNS)].reset_index(drop=True)


def lift_test(result: Any, *, channel: str, start: Any, end: Any, delta_spend: float | None = None,
              geos: Sequence[str] | None = None) -> pd.DataFrame:
    """One lift test, from the result of an experiment or a geo test of this package.

    The lift is the result's cumulative incremental outcome: its ``incremental_response`` row (``tbr``,
    ``trimmed_match``) or its ``incremental`` effect (``synthetic_control``); a result without one (an experiment,
    a DiD: effects per unit) is refused; its standard error is the row's, or — where the result gives only an interval
    (a bootstrap, a conformal band) — the interval's half-width over the normal quantile.

    Parameters
    ----------
    result : Effects
        The measured effect on the same outcome (units) as the model's.
    channel : str
        The channel the test varied.
    start, end : date
        The test window.
    delta_spend : float, optional
        The spend the test added (negative: removed) against business as usual; by default the result's
        ``incremental_cost`` (``tbr``, ``trimmed_match``).
    geos : list of str, optional
        The geos whose spend the test changed (the treated geos); all by default.

    Returns
    -------
    pandas.DataFrame
        One row of :data:`LIFT_COLUMNS`; concatenate several and pass them to ``MMM.fit(lift_tests=...)``.
    """
    if not callable(getattr(result, "table", None)):
        raise ParameterError(f"lift_test: give the result of a geo test (tbr, trimmed_match, synthetic_control); "
                             f"found {type(result).__name__} (build other rows with lift_tests([...]))")
    table = result.table()
    picks = [("metric", "incremental_response"), ("effect", "incremental")]
    rows = [table.loc[table[col] == val] for col, val in picks if col in table.columns and (table[col] == val).any()]
    if not rows:
        raise ParameterError(f"lift_test: the {type(result).__name__} has no cumulative incremental outcome (a row "
                             "metric='incremental_response' or effect='incremental'); an experiment's or a DiD's "
                             "effect is per unit: multiply it out and give the row to lift_tests([...])")
    row = rows[0].iloc[0]
    se = float(row["std_error"])
    if not np.isfinite(se) or se <= 0:
        level = 1 - float(getattr(result, "alpha", 0.05))
        se = float(row["upper"] - row["lower"]) / (2 * stats.norm.ppf(0.5 + level / 2))
    if delta_spend is None:
        delta_spend = getattr(result, "incremental_cost", None)
        if delta_spend is None:
            raise ParameterError(f"lift_test: {type(result).__name__} does not know the spend the test changed; "
                                 "give delta_spend=")
    return lift_tests([{"channel": channel, "start": start, "end": end, "delta_spend": float(delta_spend),
                        "lift": float(row["estimate"]), "std_error": se,
                        "geos": None if geos is None else list(geos)}])
