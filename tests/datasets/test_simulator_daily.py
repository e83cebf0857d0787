"""Demand that moves every consumer alike from day to day: a weekday pattern and a shared daily shock."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketing360.datasets import FunnelParams, sample_checksum, simulate
from marketing360.errors import ParameterError

ARGS = dict(n_users=3000, n_days=56, n_geos=10, freq="D", truth="none", seed=3)


def test_off_by_default_and_unchanged_when_flat():
    flat = FunnelParams(weekday=(1.0,) * 7, daily_sd=0.0)
    assert not flat.moves_daily and FunnelParams(daily_sd=0.1).moves_daily
    assert sample_checksum(simulate(**ARGS, funnel=flat)) == sample_checksum(simulate(**ARGS))


def test_weekday_multiplies_the_organic_hazards():
    # Mondays' organic hazards 1.3x: a purchase needs three organic steps (browse, engage, purchase), each 1.3x as
    # likely, so Monday's conversions rise by between 1.3x and 1.3^3 = 2.2x (ads are not multiplied)
    w = simulate(**ARGS, funnel=FunnelParams(weekday=(1.3, 1, 1, 1, 1, 1, 1)))
    daily = w.outcomes.groupby("date").conversions.sum()
    monday = daily.index.dayofweek == 0
    ratio = daily[monday].mean() / daily[~monday].mean()
    assert 1.3 < ratio < 2.2
    base = simulate(**ARGS).outcomes.groupby("date").conversions.sum()
    assert base[monday].mean() / base[~monday].mean() < 1.15  # without it, Monday is an ordinary day


def test_a_shared_daily_shock_makes_geos_move_together():
    def corr(funnel: FunnelParams | None) -> float:
        o = simulate(**ARGS, funnel=funnel).outcomes
        o = o[o.date >= pd.Timestamp("2025-01-29")]  # the second half: a cold start's climb left out
        half = o.geo.isin(sorted(o.geo.unique())[:5])
        a = o[half].groupby("date").conversions.sum()
        b = o[~half].groupby("date").conversions.sum()
        return float(np.corrcoef(a, b)[0, 1])

    assert corr(FunnelParams(daily_sd=0.3)) > 0.6
    assert corr(None) < 0.4


def test_bad_daily_parameters_are_named():
    with pytest.raises(ParameterError, match="weekday must be 7 multipliers"):
        FunnelParams(weekday=(1.0, 2.0))
    with pytest.raises(ParameterError, match="weekday must be 7 multipliers"):
        FunnelParams(weekday=(1, 1, 1, 1, 1, 1, 0))
    for bad in (-0.1, 3.0, True, "0.1"):
        with pytest.raises(ParameterError, match="daily_sd must be in"):
            FunnelParams(daily_sd=bad)
