"""Multi-touch attribution: journeys, rules, Markov, Shapley, data-driven and causal deep models."""

from .datadriven import (BASELINE, BaggedLogisticAttribution, CausalAttribution, JourneyMatrix,
                         journey_matrix, probabilistic)
from .deep import DeepMTA, JourneySequences, journey_sequences
from .evaluate import score
from .journeys import JOURNEY_KEY, PATH_SEP, Journeys, from_paths, journeys
from .result import Attribution, compare
from .markov import MarkovAttribution, markov, transitions
from .shapley import MAX_CHANNELS, ShapleyAttribution, channel_sets, exact_shapley, shapley
from .money import channel_costs, returns
from .rules import RULES, rule_based, touch_credit

__all__ = [
    "journeys", "from_paths", "Journeys", "JOURNEY_KEY", "PATH_SEP",
    "Attribution", "compare", "score", "returns", "channel_costs",
    "rule_based", "touch_credit", "RULES",
    "markov", "transitions", "MarkovAttribution",
    "shapley", "channel_sets", "exact_shapley", "ShapleyAttribution", "MAX_CHANNELS",
    "journey_matrix", "JourneyMatrix", "BaggedLogisticAttribution", "probabilistic", "CausalAttribution",
    "BASELINE",
    "DeepMTA", "journey_sequences", "JourneySequences",
]
