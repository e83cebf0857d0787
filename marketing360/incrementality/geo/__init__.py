"""Geo experiments: panels in the long ``date, location, Y`` layout, synthetic control, TBR, Trimmed Match."""

from .panel import GeoOutcomes, GeoPanel, geo_outcomes, geo_panel

__all__ = ["GeoPanel", "geo_panel", "GeoOutcomes", "geo_outcomes"]
