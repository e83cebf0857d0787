"""The 4A consumer-asset model: stage rules and snapshots (flows, volumes and audiences to come)."""

from .rules import STAGE_LEVEL, STAGES, Criterion, StageRule, StageRules
from .snapshot import snapshot

__all__ = ["STAGES", "STAGE_LEVEL", "Criterion", "StageRule", "StageRules", "snapshot"]
