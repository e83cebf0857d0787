"""Data in: the ground-truth simulator, the committed sample world, readers of public formats."""

from __future__ import annotations

from .readers import (
    TIANCHI_TZ,
    MMMData,
    read_cdnow,
    read_channelattribution_paths,
    read_criteo_attribution,
    read_geolift,
    read_hillstrom,
    read_meridian,
    read_pymc_mmm,
    read_rees46,
    read_robyn,
    read_tianchi,
    read_touch_journeys,
    write_channelattribution_paths,
)
from .shared import SharedDataMissing, shared_data_dir, shared_file
from .simulator import CHANNELS, SimulationResult, simulate
from .samples import SAMPLE_DIR, load_sample, write_sample

__all__ = [
    "simulate",
    "SimulationResult",
    "CHANNELS",
    "load_sample",
    "write_sample",
    "SAMPLE_DIR",
    "MMMData",
    "read_tianchi",
    "TIANCHI_TZ",
    "read_channelattribution_paths",
    "read_touch_journeys",
    "read_hillstrom",
    "read_geolift",
    "read_robyn",
    "read_pymc_mmm",
    "read_meridian",
    "read_cdnow",
    "read_criteo_attribution",
    "read_rees46",
    "write_channelattribution_paths",
    "shared_data_dir",
    "shared_file",
    "SharedDataMissing",
]
