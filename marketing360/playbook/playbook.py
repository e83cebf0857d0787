"""The 4E steps chained for one brand and one campaign window, and their HTML report.

Examples
--------
>>> from marketing360.datasets import simulate
>>> w0 = simulate(n_users=2000, n_days=63, n_brands=3, n_categories=1, burn_in=30, seed=3, truth="none")
>>> pb = Playbook("Acme", start="2025-02-05", end="2025-02-18", channels=["display", "video"], budget=2000.0,
...               min_size=50)
>>> pb.evolve(w0.events).bottleneck in ("aware", "appeal", "act")
True
>>> pb.execute(w0.events).table()[["channel", "audience", "budget"]].values.tolist()
[['display', 'high', 500.0], ['video', 'high', 500.0], ['display', 'low', 500.0], ['video', 'low', 500.0]]

Then ``simulate(..., campaign=pb.campaign())`` runs it, ``pb.evaluate(events)`` reads it out and
``pb.enhance()`` gives the next budget (``tests/playbook/test_playbook.py`` runs the whole chain).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .._days import as_day
from ..errors import NotFittedError, ParameterError
from ..types import TableLike
from .design import CampaignDesign, design_campaign
from .enhance import Reallocation, reallocate
from .evaluate import CampaignReadout, evaluate_campaign
from .evolve import Diagnosis, diagnose
from .target import Targeting, score_audience

__all__ = ["Playbook"]


class Playbook:
    """Evolve, Execute, Evaluate, Enhance for one brand's campaign, each step kept as a result.

    Parameters
    ----------
    brand : str
    start, end : date
        The campaign's window (days included).
    channels : sequence of str
        The plan's channels; plan 0 spends ``budget`` evenly over channels x audience segments.
    budget : float
    stages : sequence of str
        The audience: the brand's consumers in these 4A stages on the eve of ``start``.
    segments : int
        Audience segments by propensity score (2: ``high`` and ``low``; 1: one audience).
    period : int
        Days of the Evolve diagnosis (up to the eve of ``start``).
    brands : table, optional
        ``brand, category`` for the category benchmark.
    name, holdout, channel_holdout, doses, min_size
        As in :func:`~marketing360.playbook.design_campaign`.
    bounds, n_draws
        As in :func:`~marketing360.playbook.reallocate`.

    Attributes
    ----------
    diagnosis_, targeting_, design_, readout_, reallocation_
        The results of the steps run so far.
    """

    def __init__(self, brand: str, *, start: Any, end: Any, channels: Sequence[str], budget: float,
                 stages: Sequence[str] = ("aware", "appeal"), segments: int = 2, period: int = 30,
                 brands: TableLike | None = None, name: str = "4E", holdout: float = 0.1,
                 channel_holdout: float = 1 / 3, doses: Sequence[float] = (0.5, 1.5), min_size: int = 1000,
                 bounds: tuple[float, float] = (0.5, 2.0), n_draws: int = 400) -> None:
        self.brand, self.channels, self.budget = brand, list(channels), float(budget)
        self.start, self.end = as_day(start, "start"), as_day(end, "end")
        if self.end < self.start:
            raise ParameterError(f"end ({self.end.date()}) is before start ({self.start.date()})")
        if not self.channels:
            raise ParameterError("channels must name at least one channel")
        self.stages, self.segments, self.period, self.brands = tuple(stages), segments, period, brands
        self.name, self.holdout, self.channel_holdout = name, holdout, channel_holdout
        self.doses, self.min_size, self.bounds, self.n_draws = tuple(doses), min_size, bounds, n_draws
        self.diagnosis_: Diagnosis | None = None
        self.targeting_: Targeting | None = None
        self.design_: CampaignDesign | None = None
        self.readout_: CampaignReadout | None = None
        self.reallocation_: Reallocation | None = None

    def _need(self, what: str, step: str) -> Any:
        value = getattr(self, what)
        if value is None:
            raise NotFittedError(f"run {step}() first")
        return value

    def evolve(self, events: TableLike) -> Diagnosis:
        """Diagnose the brand over the ``period`` days up to the eve of the campaign."""
        self.diagnosis_ = diagnose(events, self.brand, date=self.start - pd.Timedelta(days=1), period=self.period,
                                   brands=self.brands)
        return self.diagnosis_

    def execute(self, events: TableLike) -> CampaignDesign:
        """Score the audience, split it into segments and design plan 0 (an even split) with its holdouts."""
        self.targeting_ = score_audience(events, self.brand, date=self.start, stages=self.stages)
        audiences = self.targeting_.audiences(self.segments) if self.segments > 1 else \
            {"audience": self.targeting_.table().user_id.to_numpy()}
        rows = [(c, a) for a in audiences for c in self.channels]
        plan = pd.DataFrame({"channel": [c for c, _ in rows], "audience": [a for _, a in rows],
                             "budget": self.budget / len(rows)})
        self.design_ = design_campaign(plan, audiences, name=self.name, holdout=self.holdout,
                                       channel_holdout=self.channel_holdout, doses=self.doses,
                                       min_size=self.min_size)
        return self.design_

    def campaign(self) -> Any:
        """The designed campaign as the simulator runs it (:class:`~marketing360.datasets.Campaign`)."""
        return self._need("design_", "execute").campaign(self.brand, self.start, self.end)

    def evaluate(self, events: TableLike, *, end: Any = None) -> CampaignReadout:
        """Read the campaign out of its holdouts, from its first day to ``end`` (default: the events' last day)."""
        design = self._need("design_", "execute")
        if end is None:
            from ..engine import fetch
            from ..inputs import as_table

            ev = as_table(events, "events", what="Playbook.evaluate")
            end = pd.Timestamp(fetch(ev.ts.max())).normalize()
        self.readout_ = evaluate_campaign(events, design, brand=self.brand, start=self.start, end=end)
        return self.readout_

    def enhance(self, *, prior: pd.DataFrame | None = None, attribution: Any = None) -> Reallocation:
        """The next budget over the plan's rows, from the readout's response curves (``prior`` and
        ``attribution``, calibrated on the readout, as in :func:`~marketing360.playbook.reallocate`)."""
        self.reallocation_ = reallocate(self._need("readout_", "evaluate"), prior=prior, attribution=attribution,
                                        bounds=self.bounds, n_draws=self.n_draws)
        return self.reallocation_

    def report(self, path: str | Path, *, truth: pd.DataFrame | None = None) -> Path:
        """Write the steps run so far as one HTML page; ``truth`` (from the simulator) adds a section."""
        from .report import playbook_report

        return playbook_report(self, truth=truth).write(path)
