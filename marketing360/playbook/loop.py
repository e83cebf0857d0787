"""The 4E loop closed against the truth: plan, run, measure, reallocate, run again, on the simulator.

Real data never shows what another plan would have done; the simulator does.
:func:`closed_loop` runs a world with plan 0 as a measurable campaign
(holdouts and dose arms), reads it out, reallocates the budget, and runs the
world again with the new plan under the same random numbers, for some rounds.
Each round draws its holdouts and arms afresh, and the Enhance step fits its
curves through the arms of every round so far.
Every plan is also rolled out (every consumer of its audiences, no holdout)
in the simulator to get its true incremental conversions, so each round's
predicted gain is set against the true one, and every plan against the best
split a direct search over the simulator finds (the oracle).

Examples
--------
>>> loop = closed_loop(dict(n_users=1500, n_days=49, n_brands=3, n_categories=1, burn_in=30, seed=5),
...                    brand="Acme", channels=["display", "video"], budget=1500.0, start="2025-01-22",
...                    end="2025-02-04", rounds=1, oracle_step=0.25, min_size=50, n_draws=50)
>>> loop.table().columns[:4].tolist()
['round', 'plan', 'next_plan', 'predicted_gain']
>>> len(loop.oracle) > 5  # splits of the budget the direct search ran in the simulator
True
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, cast

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..results import Result, Summary
from .design import design_campaign
from .enhance import reallocate
from .evaluate import CampaignReadout, evaluate_campaign

__all__ = ["closed_loop", "LoopResult", "oracle_search"]


class LoopResult(Result):
    """One row per round: the ``plan`` measured (channel budgets), the ``next_plan``, the ``predicted_gain``
    with ``gain_lower`` / ``gain_upper``, the true incremental conversions of both plans rolled out
    (``true_before``, ``true_after``), the ``true_gain`` and whether the interval ``covered`` it, and
    ``share_of_oracle`` (``true_after`` over the oracle's true incremental conversions).

    Attributes
    ----------
    oracle : pandas.DataFrame
        Every plan the direct search evaluated (channel budgets, true incremental conversions and revenue),
        best first.
    rounds : list of dict
        Per round the readout and the reallocation.
    seconds : dict
        Time spent simulating, evaluating and searching.
    """

    title: ClassVar[str] = "4E loop against the truth"
    keys = ("round",)

    def __init__(self, frame: pd.DataFrame, *, oracle: pd.DataFrame, rounds: list[dict[str, Any]],
                 seconds: dict[str, float]) -> None:
        super().__init__(frame)
        self.oracle, self.rounds, self.seconds = oracle, rounds, seconds

    def _notes(self) -> list[str]:
        if self.oracle.empty:
            return ["no oracle search ran"]
        best = self.oracle.iloc[0]
        return [f"oracle: {best.incremental_conversions:,.0f} true incremental conversions "
                f"({', '.join(f'{c} {best[c]:,.0f}' for c in self._channels())})"]

    def _channels(self) -> list[str]:
        return [c for c in self.oracle.columns if c not in ("incremental_conversions", "incremental_revenue")]

    def summary(self) -> Summary:
        return Summary(self.title, notes=self._notes(), tables=[("rounds", self.table()),
                                                                ("oracle, best plans", self.oracle.head(5))])


def _fmt(budgets: Mapping[str, float]) -> str:
    return ", ".join(f"{c} {b:,.0f}" for c, b in budgets.items())


def oracle_search(world: Any, design: Any, brand: str, start: Any, end: Any, budget: float, *, step: float = 0.125,
                  refine: int = 3, n_jobs: int = 1) -> pd.DataFrame:
    """The best split of ``budget`` over the design's channels by direct search over the simulator.

    Every split on a grid of ``step`` (shares of the budget) is rolled out in the world (same random numbers)
    and its true incremental conversions counted; then ``refine`` rounds of moving half a step between two
    channels around the best. Returns every plan evaluated, best first.
    """
    from ..datasets import evaluate_campaigns

    chans = list(dict.fromkeys(design.table().channel))
    if len(set(design.table().audience)) != 1:
        raise ParameterError("oracle_search searches over channels of one audience")
    n = int(round(1 / step))
    grid = [np.array(c) / n for c in itertools.product(range(n + 1), repeat=len(chans)) if sum(c) == n]
    seen: dict[tuple[float, ...], tuple[float, float]] = {}

    def run(shares: list[np.ndarray]) -> None:
        todo = [s for s in shares if tuple(np.round(s, 9)) not in seen]
        if not todo:
            return
        plans = [design.rollout(brand, start, end, dict(zip(chans, budget * s))) for s in todo]
        out = evaluate_campaigns(world, plans, n_jobs=n_jobs)
        for s, r in zip(todo, out.itertuples()):
            seen[tuple(np.round(s, 9))] = (r.incremental_conversions, r.incremental_revenue)

    run(grid)
    h = step
    for _ in range(refine):
        h /= 2
        best = np.array(max(seen, key=lambda k: seen[k][0]))
        moves = []
        for i, j in itertools.permutations(range(len(chans)), 2):
            s = best.copy()
            s[i] += h
            s[j] -= h
            if s[j] >= -1e-12:
                moves.append(np.clip(s, 0, 1))
        run(moves)
    rows = [{**dict(zip(chans, budget * np.array(k))), "incremental_conversions": v[0], "incremental_revenue": v[1]}
            for k, v in seen.items()]
    return pd.DataFrame(rows).sort_values("incremental_conversions", ascending=False, ignore_index=True)


def closed_loop(world: Mapping[str, Any], *, brand: str, channels: Sequence[str], budget: float, start: Any, end: Any,
                audience_stages: Sequence[str] = ("aware", "appeal"), rounds: int = 2,
                bounds: tuple[float, float] = (0.5, 2.0), holdout: float = 0.1, channel_holdout: float = 1 / 3,
                doses: Sequence[float] = (0.5, 1.5), min_size: int = 1000, oracle_step: float | None = 0.125,
                pool: bool = True, key: str = "4E", attribution: str | Callable[[Any], Any] | None = None,
                prior: pd.DataFrame | None = None, n_jobs: int = 1, n_draws: int = 400,
                random_state: int = 0) -> LoopResult:
    """Run the 4E loop on a simulated world and score each round against the truth.

    Parameters
    ----------
    world : mapping
        Arguments of :func:`~marketing360.datasets.simulate` (``truth`` is set to ``"none"``; the loop
        measures its own truth).
    brand : str
        The advertised brand.
    channels : sequence of str
        The plan's channels; plan 0 splits ``budget`` evenly over them.
    budget : float
        The campaign's total budget, the same in every round.
    start, end : date
        The campaign's window. Its effect is measured from ``start`` to the world's last day.
    audience_stages : sequence of str
        The audience: the brand's consumers in these 4A stages on the eve of ``start``.
    rounds : int
        Plans measured and reallocated in turn.
    bounds, n_draws, random_state
        As in :func:`~marketing360.playbook.reallocate`.
    holdout, channel_holdout, doses, min_size
        As in :func:`~marketing360.playbook.design_campaign`.
    pool : bool
        Randomise each round afresh (its own design name) and fit the curves through the arms of every round so
        far (``history`` of :func:`~marketing360.playbook.reallocate`); ``False`` keeps plan 0's groups and
        reads each round alone.
    key : str
        Names the designs (``"<key> round <r>"``): the key of their holdouts and arms; another key is another
        randomisation of the same world.
    attribution : str, callable or None
        Reallocate through the attribution calibrated on each round's readout
        (``reallocate(attribution=...)``): a rule of :func:`~marketing360.attribution.rule_based` (``"last_touch"``
        ...) or a function of the journeys (``journeys(..., key="campaign")`` of the brand's events of the
        campaign's consumers from ``start``, 30 days back) that returns an Attribution of one method.
    prior : pandas.DataFrame, optional
        Prior curves (``reallocate(prior=...)``, :func:`~marketing360.playbook.mmm_prior`).
    oracle_step : float or None
        Grid step (share of the budget) of the oracle's direct search; ``None`` skips the search (``oracle``
        empty, ``share_of_oracle`` missing), for a world whose oracle is already known.
    n_jobs : int
        Worker processes of the simulator.

    Returns
    -------
    LoopResult
    """
    from ..assets import snapshot
    from ..datasets import evaluate_campaigns, simulate

    if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) or rounds < 1:
        raise ParameterError(f"rounds must be a whole number >= 1; found {rounds!r}")
    if attribution is not None and not (isinstance(attribution, str) or callable(attribution)):
        raise ParameterError(f"attribution must be a rule name (e.g. 'last_touch') or a function of the journeys; "
                             f"found {attribution!r}")
    kw = {**dict(world), "truth": "none", "progress": False, "n_jobs": n_jobs}
    secs = {"simulate": 0.0, "measure": 0.0, "truth": 0.0, "oracle": 0.0}
    t = time.perf_counter()
    w = simulate(**kw)
    secs["simulate"] += time.perf_counter() - t
    events = w.events
    assert events is not None  # simulated in memory (no out=)
    eve = pd.Timestamp(start) - pd.Timedelta(days=1)
    snap = snapshot(events[events.brand == brand], eve).table()
    ids = snap.user_id[snap.stage.astype(str).isin(list(audience_stages))].to_numpy()
    plan = pd.DataFrame({"channel": list(channels), "audience": "audience", "budget": budget / len(channels)})
    design = design_campaign(plan, {"audience": ids}, name=f"{key} round 1", holdout=holdout,
                             channel_holdout=channel_holdout, doses=doses, min_size=min_size)
    last = events.ts.max().normalize()
    rows: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    measured: list[CampaignReadout] = []
    for r in range(1, int(rounds) + 1):
        t = time.perf_counter()
        wr = simulate(**kw, campaign=design.campaign(brand, start, end))
        secs["simulate"] += time.perf_counter() - t
        t = time.perf_counter()
        readout = evaluate_campaign(wr.events, design, brand=brand, start=start, end=last)
        calibrated = None if attribution is None else readout.calibrate(
            _attribute(wr.events, design, brand, start, attribution))
        nxt = reallocate(readout, history=measured if pool else (), prior=prior, attribution=calibrated,
                         bounds=bounds, n_draws=n_draws, random_state=random_state)
        measured.append(readout)
        secs["measure"] += time.perf_counter() - t
        t = time.perf_counter()
        truth = evaluate_campaigns(wr, [design.rollout(brand, start, end), nxt.design.rollout(brand, start, end)],
                                   n_jobs=n_jobs)
        secs["truth"] += time.perf_counter() - t
        before, after = truth.incremental_conversions.to_numpy(float)
        true_gain = after - before
        rows.append({"round": r, "plan": _fmt(dict(zip(design.table().channel, design.table().budget))),
                     "next_plan": _fmt(dict(zip(nxt.table().channel, nxt.table().optimal))),
                     "predicted_gain": nxt.gain, "gain_lower": nxt.gain_lower, "gain_upper": nxt.gain_upper,
                     "true_before": before, "true_after": after, "true_gain": true_gain,
                     "covered": bool(nxt.gain_lower <= true_gain <= nxt.gain_upper),
                     "audience": len(ids)})
        kept.append({"readout": readout, "reallocation": nxt})
        design = nxt.design.with_budgets({}, name=f"{key} round {r + 1}") if pool else nxt.design
    frame = pd.DataFrame(rows)
    if oracle_step is None:
        oracle = pd.DataFrame(columns=[*dict.fromkeys(design.table().channel), "incremental_conversions",
                                       "incremental_revenue"])
        best = np.nan
    else:
        t = time.perf_counter()
        oracle = oracle_search(w, design, brand, start, end, budget, step=oracle_step, n_jobs=n_jobs)
        secs["oracle"] = time.perf_counter() - t
        best = float(oracle.incremental_conversions.iloc[0])
    frame["share_of_oracle"] = frame.true_after / best
    frame["plan0_share_of_oracle"] = frame.true_before / best
    return LoopResult(frame, oracle=oracle, rounds=kept, seconds=secs)


def _attribute(events: pd.DataFrame, design: Any, brand: str, start: Any, how: str | Callable[[Any], Any]) -> Any:
    """An attribution, per campaign, of the brand's events of the design's consumers from ``start``."""
    from ..attribution import rule_based
    from ..paths import journeys

    mine = events[(events.brand == brand) & (events.ts >= pd.Timestamp(start))
                  & events.user_id.isin(design.assignment.user_id)]
    j = journeys(mine, lookback_days=30, key="campaign")
    return rule_based(j, rules=[cast(Any, how)]) if isinstance(how, str) else how(j)
