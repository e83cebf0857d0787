"""Marketing-mix models: adstock and saturation, a fast least-squares fit, lift-test calibration, budgets.

* :class:`MMM` — the model (national or geo level), with :meth:`~MMM.roas`, :meth:`~MMM.parameters`,
  :meth:`~MMM.contributions`, :meth:`~MMM.response_curves` and :meth:`~MMM.optimize_budget`;
* :func:`lift_tests`, :func:`lift_test` — experiments and geo tests as calibration data;
* :func:`mmm_panel` — the data as checked arrays;
* the transformations: :func:`adstock_weights`, :func:`adstock`, :func:`saturation`.
"""

from .calibration import LIFT_COLUMNS, lift_test, lift_tests
from .model import MMM
from .optimize import optimize_budget
from .panel import MMMPanel, mmm_panel
from .results import BudgetPlan, Decomposition, MMMChannels, MMMParameters, ResponseCurves
from .transforms import adstock, adstock_weights, saturation

__all__ = [
    "MMM", "MMMChannels", "MMMParameters", "Decomposition", "ResponseCurves", "BudgetPlan", "optimize_budget",
    "lift_tests", "lift_test", "LIFT_COLUMNS", "mmm_panel", "MMMPanel", "adstock", "adstock_weights", "saturation",
]
