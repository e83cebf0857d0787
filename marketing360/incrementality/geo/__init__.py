"""Geo experiments: panels in the long ``date, location, Y`` layout, synthetic control, TBR, Trimmed Match, design.

Every estimator reads any long table (GeoLift's ``location, Y, date``, trimmed_match's ``date, geo,
response, cost``, the canonical ``outcomes``, or :func:`geo_outcomes` built from events) through
:func:`geo_panel`, and returns an :class:`~marketing360.incrementality.Effects` subclass.
"""

from .design import (
    POWER_EFFECTS,
    SELECTION_EFFECTS,
    GeoPower,
    MarketSelection,
    geo_power,
    market_selection,
    minimum_detectable_effect,
)
from .panel import GeoOutcomes, GeoPanel, geo_outcomes, geo_panel
from .synth import SynthCell, SyntheticControl, synthetic_control
from .tbr import TBREffects, tbr
from .trimmed_match import TrimmedMatchEffects, TrimmedMatchFit, fit_trimmed_match, trimmed_match

__all__ = [
    "GeoPanel", "geo_panel", "GeoOutcomes", "geo_outcomes",
    "synthetic_control", "SyntheticControl", "SynthCell",
    "geo_power", "market_selection", "minimum_detectable_effect", "GeoPower", "MarketSelection",
    "POWER_EFFECTS", "SELECTION_EFFECTS",
    "tbr", "TBREffects",
    "trimmed_match", "fit_trimmed_match", "TrimmedMatchEffects", "TrimmedMatchFit",
]
