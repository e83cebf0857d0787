"""The 4A consumer-asset model: stage rules, snapshots, volumes, penetration, flows and audiences.

Every analysis is an ibis expression over canonical events, so it runs
unchanged on DuckDB and Spark.
"""

from .audiences import Audience, audience
from .flows import FLOW_FROM, FLOW_TO, AssetFlows, flows
from .rules import STAGE_LEVEL, STAGES, Criterion, StageRule, StageRules
from .stages import Stages, snapshot, snapshots
from .volumes import AssetVolumes, Penetration, Population, penetration, shoppers, volumes

__all__ = [
    "STAGES", "STAGE_LEVEL", "Criterion", "StageRule", "StageRules",
    "snapshot", "snapshots", "volumes", "penetration", "shoppers", "flows", "audience",
    "Stages", "AssetVolumes", "Penetration", "Population", "AssetFlows", "Audience", "FLOW_FROM", "FLOW_TO",
]
