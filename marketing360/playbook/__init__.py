"""The 4E loop: Evolve (diagnose the brand), Execute (target, with holdouts), Evaluate (what the campaign added),
Enhance (the next budget).

* Execute: :func:`design_campaign` carves holdouts and dose arms out of a plan's audiences (deterministic
  hashes, :func:`hash_unit`); the :class:`CampaignDesign` exports its lists and runs on the simulator;
* Evaluate: :func:`evaluate_campaign` reads the campaign's and each channel's effect out of the holdouts
  (:class:`CampaignReadout`: per-consumer lifts, incremental conversions and revenue, MRR, 4A flows);
* Enhance: :func:`reallocate` fits a response curve per plan row through the measured arms and spreads the
  budget where it adds most (:class:`Reallocation`, with the predicted gain and its interval).
"""

from .design import CONTROL, HOLDOUT, CampaignDesign, design_campaign, hash_unit
from .enhance import Reallocation, fit_curve, reallocate, response
from .evaluate import CampaignReadout, evaluate_campaign

__all__ = [
    "design_campaign", "CampaignDesign", "hash_unit", "HOLDOUT", "CONTROL",
    "evaluate_campaign", "CampaignReadout",
    "reallocate", "Reallocation", "fit_curve", "response",
]
