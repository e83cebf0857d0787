"""Multi-touch attribution: rules, Markov, Shapley, data-driven and causal deep models.

Every method reads :class:`~marketing360.paths.Journeys` (from
:func:`marketing360.paths.journeys` or :func:`marketing360.paths.from_paths`)
and returns an :class:`Attribution`; :class:`DeconfoundedMTA` reads the events themselves (it needs the
organic behaviour between the touches). Functions for the methods without
learned parameters (:func:`rule_based`, :func:`markov`, :func:`shapley`,
:func:`probabilistic`); scikit-learn-style estimators for the others
(``fit(journeys)`` then ``attribute()``).
"""

from .calibrate import calibrate, lifts_from_experiments
from .datadriven import BASELINE, BaggedLogisticAttribution, CausalAttribution, probabilistic
from .deep import DeepMTA
from .evaluate import Score, score
from .gformula import DeconfoundedMTA
from .markov import MarkovAttribution, markov, transitions
from .money import ChannelCosts, Returns, channel_costs, returns
from .result import Attribution, Bootstrap, compare
from .rules import RULES, TouchCredit, rule_based, touch_credit
from .shapley import MAX_CHANNELS, ShapleyAttribution, channel_sets, shapley

__all__ = [
    "Attribution", "Bootstrap", "compare", "score", "Score", "returns", "Returns", "channel_costs", "ChannelCosts",
    "rule_based", "touch_credit", "TouchCredit", "RULES",
    "markov", "transitions", "MarkovAttribution",
    "shapley", "channel_sets", "ShapleyAttribution", "MAX_CHANNELS",
    "BaggedLogisticAttribution", "probabilistic", "CausalAttribution", "BASELINE",
    "DeepMTA", "DeconfoundedMTA", "calibrate", "lifts_from_experiments",
]
