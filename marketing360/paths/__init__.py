"""Journeys and path tables: what attribution, shopping-path analysis and the 4E playbook read.

* :func:`journeys` — converting and non-converting journeys from canonical
  events, on their engine (anchored at conversions or in calendar windows);
* :func:`from_paths` — journeys from a ChannelAttribution path table;
* :meth:`Journeys.paths` — the path table of journeys;
* :func:`sessions` — events cut into sessions at inactivity gaps, each with its path of steps;
* :func:`top_paths`, :func:`path_coverage` — the most frequent paths, and how many cover the consumers;
* :func:`funnel` — how far consumers get through ordered steps in a time window (``windowFunnel``);
* :func:`sequential_patterns` — frequent sequential patterns (PrefixSpan; MLlib's on Spark);
* :func:`critical_nodes`, :func:`transition_matrix` — removal effects, odds ratios and betweenness of steps;
* :func:`path_flows` — sessions flowing from step to step (a Sankey diagram);
* :func:`path_views` — top paths and flows per level, anchor and brand, for an ipywidgets explorer;
* :func:`journey_matrix`, :func:`journey_sequences` — journeys fetched as a
  sparse count matrix or as padded sequences, for the models.
"""

from ..schema import PATH_SEP
from .critical import CriticalNodes, critical_nodes, transition_matrix
from .explore import PathViews, path_views
from .flows import PathFlows, path_flows
from .funnels import Funnel, FunnelComparison, funnel
from .journeys import JOURNEY_KEY, Journeys, PathTable, journeys
from .matrix import JourneyMatrix, journey_matrix
from .pathtable import from_paths
from .patterns import SequentialPatterns, sequential_patterns
from .sequences import JourneySequences, journey_sequences
from .sessions import SESSION_KEY, Sessions, sessions
from .toppaths import PathCoverage, TopPaths, path_coverage, top_paths

__all__ = [
    "journeys", "from_paths", "Journeys", "PathTable", "JOURNEY_KEY", "PATH_SEP",
    "journey_matrix", "JourneyMatrix", "journey_sequences", "JourneySequences",
    "sessions", "Sessions", "SESSION_KEY", "top_paths", "TopPaths", "path_coverage", "PathCoverage",
    "funnel", "Funnel", "FunnelComparison", "sequential_patterns", "SequentialPatterns",
    "critical_nodes", "CriticalNodes", "transition_matrix", "path_flows", "PathFlows",
    "path_views", "PathViews",
]
