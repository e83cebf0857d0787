"""Data in: the ground-truth simulator, the sample world (built on first use), readers of public formats.

Examples
--------
>>> from marketing360.datasets import simulate
>>> w = simulate(n_users=200, n_days=14, seed=1, truth="none")
>>> w.truth.rules.act.window
90
"""

from __future__ import annotations

from .campaign import Campaign
from .jd_mta import JDMTAParams, JDMTAWorld, simulate_jd_mta
from .mmm_world import MMMTruth, MMMWorld, simulate_mmm
from .plans import evaluate_campaigns
from .readers import (
    TIANCHI_TZ,
    MMMData,
    read_cdnow,
    read_channelattribution_paths,
    read_criteo_attribution,
    read_geolift,
    read_hillstrom,
    read_meridian,
    read_olist_funnel,
    read_pymc_mmm,
    read_rees46,
    read_robyn,
    read_tianchi,
    read_touch_journeys,
    write_channelattribution_paths,
)
from .samples import SAMPLE_PARAMS, cache_dir, load_sample, sample_checksum, sample_dir, write_sample
from .shared import SharedDataMissing, shared_data_dir, shared_file
from .simulator import CHANNELS, SIMULATOR_VERSION, SimulationResult, simulate
from .truth import Truth
from .world import ChannelParams, FunnelParams, GeoTest

__all__ = [
    "simulate",
    "SimulationResult",
    "Campaign",
    "evaluate_campaigns",
    "simulate_mmm",
    "MMMWorld",
    "MMMTruth",
    "simulate_jd_mta",
    "JDMTAParams",
    "JDMTAWorld",
    "Truth",
    "CHANNELS",
    "ChannelParams",
    "FunnelParams",
    "GeoTest",
    "SIMULATOR_VERSION",
    "load_sample",
    "write_sample",
    "sample_dir",
    "cache_dir",
    "sample_checksum",
    "SAMPLE_PARAMS",
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
    "read_olist_funnel",
    "read_criteo_attribution",
    "read_rees46",
    "write_channelattribution_paths",
    "shared_data_dir",
    "shared_file",
    "SharedDataMissing",
]
