"""The 4E loop: Evolve (diagnose the brand), Execute (target, with holdouts), Evaluate (what the campaign added),
Enhance (the next budget).

* Evolve: :func:`diagnose` sets a brand's 4A volumes, penetration and stage moves against its category, finds
  the bottleneck stage and decomposes its growth (:class:`Diagnosis`);
* Execute: :func:`score_audience` ranks the consumers of a stage by their propensity to move up (features
  computed on the engine, a logistic regression or any scikit-learn classifier; :class:`Targeting`), and
  :func:`design_campaign` carves holdouts and dose arms out of a plan's audiences (deterministic
  hashes, :func:`hash_unit`); the :class:`CampaignDesign` exports its lists and runs on the simulator;
* Evaluate: :func:`evaluate_campaign` reads the campaign's and each channel's effect out of the holdouts
  (:class:`CampaignReadout`: per-consumer lifts, incremental conversions and revenue, MRR, 4A flows);
* Enhance: :func:`reallocate` fits a response curve per plan row through the measured arms (or the attribution
  calibrated on them; with priors on the curves' bends that :func:`mmm_prior` reads off a marketing-mix
  model's response curves) and spreads the budget where it adds most (:class:`Reallocation`, with the
  predicted gain and its interval);
* :class:`Playbook` chains the four steps for one brand's campaign and writes them as one HTML report
  (``python -m marketing360 playbook``);
* the loop closed on the simulator: :func:`closed_loop` runs plan after plan under the same random numbers and
  scores each predicted gain against the true one and each plan against a direct search (:func:`oracle_search`).
"""

from .design import CONTROL, HOLDOUT, CampaignDesign, design_campaign, hash_unit
from .enhance import Reallocation, fit_curve, reallocate, response
from .evaluate import CampaignReadout, evaluate_campaign
from .evolve import Diagnosis, diagnose
from .loop import LoopResult, closed_loop, oracle_search
from .playbook import Playbook
from .priors import mmm_prior
from .target import EVENT_GROUPS, Targeting, propensity_features, score_audience

__all__ = [
    "diagnose", "Diagnosis",
    "score_audience", "Targeting", "propensity_features", "EVENT_GROUPS",
    "design_campaign", "CampaignDesign", "hash_unit", "HOLDOUT", "CONTROL",
    "evaluate_campaign", "CampaignReadout",
    "reallocate", "Reallocation", "fit_curve", "response", "mmm_prior",
    "closed_loop", "LoopResult", "oracle_search", "Playbook",
]
