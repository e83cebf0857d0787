"""Readers of public marketing data formats into the canonical tables.

Each reader parses one public file layout and returns a table that has been
through :func:`marketing360.schema.validate`: the ``events``, ``outcomes``,
``users`` or ``paths`` table, or, for marketing-mix data, an :class:`MMMData`
bundle of a ``spend`` table, an ``outcomes`` table and a long frame of
control variables. A file that does not follow its layout raises a
:class:`~marketing360.errors.SchemaError` that names the offending column.

When ``path`` is omitted a reader opens its file in the shared folder of
public data sets (see :func:`marketing360.datasets.shared.shared_file`), and
raises :class:`~marketing360.datasets.shared.SharedDataMissing` when that
file is not on the machine.

Event logs carry their time stamps as true UTC; ``df.attrs["tz"]`` names the
zone whose calendar days the data lives in (see :mod:`.logs`).

========================================  =========  ====================================================  ===============
reader                                    table      default file (in the shared data folder)              ``attrs["tz"]``
========================================  =========  ====================================================  ===============
:func:`read_tianchi`                      events     ``tianchi_mobile_tiny/sample_user_behavior.csv``      Asia/Shanghai
:func:`read_rees46`                       events     ``rees46_tiny/2019-Oct-sample.csv``                   UTC
:func:`read_cdnow`                        events     ``cdnow/CDNOW_master.txt``                            UTC (dates)
:func:`read_olist_funnel`                 events     ``olist_marketing_funnel/`` (leads, closed deals)      UTC
:func:`read_criteo_attribution`           events     ``criteo_attribution/criteo_attribution_dataset.tsv.gz``  UTC
:func:`read_touch_journeys`               events     ``attribution_data_kaggle_subset/attribution_data.csv``   UTC
:func:`read_channelattribution_paths`     paths      ``channelattribution_paths/Data.csv``                 -
:func:`read_hillstrom`                    users      ``hillstrom/hillstrom.csv``                           -
:func:`read_geolift`                      outcomes   ``geolift/GeoLift_Test.csv``                          -
:func:`read_robyn`                        MMMData    ``robyn/dt_simulated_weekly.csv``                     -
:func:`read_pymc_mmm`                     MMMData    ``pymc_marketing_mmm/mmm_example.csv``                -
:func:`read_meridian`                     MMMData    ``meridian/geo_media.csv`` / ``national_media.csv``   -
========================================  =========  ====================================================  ===============

The modules group the readers by family: :mod:`.logs` (behaviour logs),
:mod:`.paths` (ChannelAttribution path tables), :mod:`.mmm` (marketing-mix
data) and :mod:`.experiments` (randomised and geo experiments).
"""

from __future__ import annotations

from ...schema import normalize_path
from .experiments import HILLSTROM_ARMS, read_geolift, read_hillstrom
from .logs import (
    CRITEO_COLUMNS,
    CRITEO_START,
    REES46_EVENTS,
    TIANCHI_BEHAVIOR,
    TIANCHI_TZ,
    USERBEHAVIOR_BEHAVIOR,
    read_cdnow,
    read_criteo_attribution,
    read_olist_funnel,
    read_rees46,
    read_tianchi,
    read_touch_journeys,
)
from .mmm import MMMData, read_meridian, read_pymc_mmm, read_robyn
from .paths import read_channelattribution_paths, write_channelattribution_paths

__all__ = [
    "MMMData",
    "read_tianchi",
    "read_channelattribution_paths",
    "write_channelattribution_paths",
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
    "TIANCHI_TZ",
    "TIANCHI_BEHAVIOR",
    "USERBEHAVIOR_BEHAVIOR",
    "REES46_EVENTS",
    "HILLSTROM_ARMS",
    "CRITEO_COLUMNS",
    "CRITEO_START",
    "normalize_path",
]
