"""Execute, part 1: a campaign plan with holdouts and dose arms carved out of every audience.

A plan is a table of ``channel x audience x budget``. :func:`design_campaign`
turns it into a measurable campaign:

* a **holdout** share of each audience is kept out of every channel (the
  campaign's total effect is read against it);
* of the rest, a **channel holdout** share is kept out of each channel on its
  own, drawn independently per channel (each channel's effect is read against
  its own controls, the other channels running as planned);
* the remaining consumers of a row are split into **dose arms** that get
  different exposure intensities (``doses``, relative per-consumer spend) at
  the row's budget, so the experiment measures each channel's response at
  more than one spend per consumer: the points the Enhance step fits its
  response curves through.

Every split is a deterministic hash of the campaign name, the audience (and
channel) and the user id (:func:`hash_unit`): a rerun with the same key gives
the same groups, a consumer's arm does not depend on who else is in the
audience, and the held-out consumers are never in the exported lists.

Examples
--------
>>> import numpy as np, pandas as pd
>>> plan = pd.DataFrame({"channel": ["display", "video"], "audience": ["stuck", "stuck"], "budget": [600.0, 400.0]})
>>> d = design_campaign(plan, {"stuck": np.arange(5000)}, min_size=100)
>>> arms = d.arms.set_index(["channel", "arm"])
>>> arms.loc["display", "consumers"].to_dict()  # 10% held out, then a third of the rest per channel
{'holdout': 445, 'control': 1563, 'dose 1': 1501, 'dose 2': 1491}
>>> float(arms.loc["display"].budget.sum())
600.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._hashing import hash_unit
from ..datasets.campaign import check_plan
from ..errors import ParameterError
from ..results import Result, Summary

__all__ = ["hash_unit", "design_campaign", "CampaignDesign", "HOLDOUT", "CONTROL"]

#: arm of the consumers kept out of every channel of the campaign
HOLDOUT = "holdout"
#: arm of the consumers kept out of one channel (they may get the others)
CONTROL = "control"


class CampaignDesign(Result):
    """A plan made measurable: the plan (``channel, audience, consumers, budget``) as its table.

    Attributes
    ----------
    name : str
        The campaign's name, the key of every hash.
    arms : pandas.DataFrame
        Per plan row and arm: ``channel, audience, arm`` (``"holdout"``, ``"control"`` or ``"dose i"``),
        ``dose`` (relative spend per consumer; 0 for the controls), ``consumers``, ``budget`` and
        ``spend_per_consumer``.
    assignment : pandas.DataFrame
        Per consumer of each audience and channel: ``user_id, audience, channel, arm, dose``.
    holdout, channel_holdout : float
    doses : tuple of float
    min_size : int
    """

    title: ClassVar[str] = "campaign plan"
    keys = ("audience", "channel")

    def __init__(self, plan: pd.DataFrame, *, name: str, arms: pd.DataFrame, assignment: pd.DataFrame,
                 audiences: dict[str, np.ndarray], holdout: float, channel_holdout: float,
                 doses: tuple[float, ...], min_size: int) -> None:
        super().__init__(plan)
        self.name, self.arms, self.assignment = name, arms, assignment
        self.audiences = audiences
        self.holdout, self.channel_holdout, self.doses, self.min_size = holdout, channel_holdout, doses, min_size

    def _notes(self) -> list[str]:
        return [f"campaign {self.name!r}: total budget {self.table().budget.sum():,.2f}",
                f"holdout {self.holdout:.0%} of each audience from every channel, then {self.channel_holdout:.0%} "
                f"per channel; dose arms at {', '.join(f'{d:g}x' for d in self.doses)} the spend per consumer",
                f"every exported list has at least {self.min_size:,} consumers"]

    def summary(self) -> Summary:
        return Summary(self.title, notes=self._notes(),
                       tables=[("plan", self.table()), ("arms", self.arms)])

    # ------------------------------------------------------------------ what goes out
    def exported(self) -> pd.DataFrame:
        """The lists sent to the channels: ``user_id, channel, audience, arm, dose`` of every treated consumer."""
        a = self.assignment
        return a[a.dose > 0].reset_index(drop=True)

    def export(self, path: str | Path, *, format: str | None = None) -> Path:
        """Write :meth:`exported` as CSV or parquet (by ``format`` or the file's suffix); returns the path.

        Missing folders are made; the file is written under a temporary name and renamed into place, so a
        failed write leaves no file behind.
        """
        p = Path(path)
        fmt = format or p.suffix.lstrip(".").lower()
        if fmt not in ("csv", "parquet"):
            raise ParameterError(f"export format must be 'csv' or 'parquet' (or a path ending in one); found {fmt!r}")
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.tmp")
        out = self.exported()
        try:
            if fmt == "csv":
                out.to_csv(tmp, index=False)
            else:
                out.to_parquet(tmp, index=False)
            tmp.replace(p)
        finally:
            tmp.unlink(missing_ok=True)
        return p

    def experiment_assignment(self, channel: str | None = None, audience: str | None = None) -> pd.DataFrame:
        """``user_id, arm`` for :func:`~marketing360.incrementality.experiment`.

        Without ``channel``: the campaign's own test, every consumer of the audiences (or of ``audience``), arm
        ``"holdout"`` or ``"campaign"``. With ``channel``: that channel's test among the consumers not in the
        holdout, arm ``"control"`` or a dose arm.
        """
        a = self.assignment
        if audience is not None:
            if audience not in self.audiences:
                raise ParameterError(f"unknown audience {audience!r}; audiences are {sorted(self.audiences)}")
            a = a[a.audience == audience]
        if channel is None:
            per = a.groupby("user_id", sort=True).arm.first()
            return pd.DataFrame({"user_id": per.index.to_numpy(),
                                 "arm": np.where(per.to_numpy() == HOLDOUT, HOLDOUT, "campaign")})
        if channel not in set(self.table().channel):
            raise ParameterError(f"channel {channel!r} is not in the plan; its channels are "
                                 f"{sorted(set(self.table().channel))}")
        a = a[(a.channel == channel) & (a.arm != HOLDOUT)]
        return a[["user_id", "arm"]].sort_values("user_id", ignore_index=True)

    # ------------------------------------------------------------------ for the simulator
    def campaign(self, brand: str, start: Any, end: Any) -> Any:
        """The experiment as the simulator runs it: one row per channel and dose arm (audience
        ``"<audience>/<channel>/<arm>"``), only its treated consumers."""
        from ..datasets import Campaign

        rows = self.arms[self.arms.dose > 0]
        a = self.assignment
        names = [f"{r.audience}/{r.channel}/{r.arm}" for r in rows.itertuples()]  # one audience per row
        audiences = {k: a.loc[(a.audience == r.audience) & (a.channel == r.channel) & (a.arm == r.arm),
                              "user_id"].to_numpy() for k, r in zip(names, rows.itertuples())}
        plan = pd.DataFrame({"channel": rows.channel.to_numpy(), "audience": names, "budget": rows.budget.to_numpy()})
        return Campaign(brand, start, end, plan=plan, audiences=audiences, name=self.name)

    def rollout(self, brand: str, start: Any, end: Any, budgets: Mapping[Any, float] | None = None) -> Any:
        """The plan rolled out to every consumer of its audiences, no holdout, one intensity (for the truth).

        ``budgets`` (channel, or ``(channel, audience)``, to budget) replaces the plan's.
        """
        from ..datasets import Campaign

        plan = self.table()[["channel", "audience", "budget"]]
        c = Campaign(brand, start, end, plan=plan, audiences=self.audiences, name=self.name)
        return c if budgets is None else c.with_budgets(budgets)

    def with_budgets(self, budgets: Mapping[Any, float], *, name: str | None = None) -> "CampaignDesign":
        """The same audiences, holdouts and arms with other budgets (channel or ``(channel, audience)`` to
        budget; rows not named keep theirs). Another ``name`` draws the holdouts and arms afresh (a new
        randomisation, for a round whose readout is pooled with this one's)."""
        plan = self.table()
        keys = list(zip(plan.channel, plan.audience))
        unknown = [k for k in budgets if k not in set(keys) | set(plan.channel)]
        if unknown:
            raise ParameterError(f"budgets name {unknown}, which are not rows of the plan {keys}")
        new = [float(budgets.get((c, a), budgets.get(c, b))) for (c, a), b in zip(keys, plan.budget)]
        return design_campaign(plan.assign(budget=new)[["channel", "audience", "budget"]], self.audiences,
                               name=self.name if name is None else name, holdout=self.holdout,
                               channel_holdout=self.channel_holdout, doses=self.doses, min_size=self.min_size)


def design_campaign(plan: pd.DataFrame, audiences: Mapping[str, Any], *, name: str = "4E", holdout: float = 0.1,
                    channel_holdout: float = 1 / 3, doses: Sequence[float] = (0.5, 1.5),
                    min_size: int = 1000) -> CampaignDesign:
    """Carve holdouts and dose arms out of a plan's audiences.

    Parameters
    ----------
    plan : pandas.DataFrame
        ``channel, audience, budget``: one row per channel and audience.
    audiences : mapping of str to user ids
        The consumers of each audience (disjoint audiences: a consumer belongs to one).
    name : str
        The campaign's name: the key of every hash (a rerun with the same name and audiences gives the same
        groups).
    holdout : float
        Share of each audience kept out of the whole campaign, in [0, 1).
    channel_holdout : float
        Share of the rest kept out of each channel on its own, in [0, 1).
    doses : sequence of float
        Relative spend per consumer of the dose arms (equal shares of the treated consumers); one dose gives
        one treated arm.
    min_size : int
        The fewest consumers any exported list (a channel's dose arm) may hold.

    Returns
    -------
    CampaignDesign

    Raises
    ------
    ParameterError
        A malformed plan (missing columns, negative budgets, repeated rows, unknown audiences), overlapping
        audiences, shares outside [0, 1), doses that are not positive, or an arm below ``min_size``.
    """
    plan, members = check_plan(plan, audiences, what="design_campaign:")
    for label, share in (("holdout", holdout), ("channel_holdout", channel_holdout)):
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share < 1:
            raise ParameterError(f"{label} must be a share in [0, 1); found {share!r}")
    dose = tuple(float(d) for d in doses)
    if not dose or any(not np.isfinite(d) or d <= 0 for d in dose):
        raise ParameterError(f"doses must be positive numbers (relative spend per consumer); found {list(doses)}")
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 1:
        raise ParameterError(f"min_size must be a whole number >= 1; found {min_size!r}")
    used = {a: members[a] for a in dict.fromkeys(plan.audience)}
    if len(used) > 1:
        every = np.concatenate(list(used.values()))
        if len(np.unique(every)) < len(every):
            raise ParameterError("audiences overlap: a consumer belongs to one audience (make them disjoint)")
    names = [f"dose {i + 1}" for i in range(len(dose))]
    parts, rows = [], []
    for a, ids in used.items():
        held = hash_unit(ids, f"{name}|{a}") < holdout  # one draw per audience: out of every channel
        for r in plan[plan.audience == a].itertuples():
            v = hash_unit(ids, f"{name}|{a}|{r.channel}")  # one draw per channel: its control, or a dose arm
            k = np.clip(((v - channel_holdout) / (1.0 - channel_holdout) * len(dose)).astype(np.int64), 0,
                        len(dose) - 1)
            out = held | (v < channel_holdout)
            arm = np.where(held, HOLDOUT, np.where(out, CONTROL, np.asarray(names, dtype=object)[k]))
            parts.append(pd.DataFrame({"user_id": ids, "audience": a, "channel": r.channel, "arm": arm,
                                       "dose": np.where(out, 0.0, np.asarray(dose)[k])}))
            rows += _arm_rows(r.channel, a, float(r.budget), arm, dict(zip(names, dose)), min_size)
    table = plan.assign(consumers=[len(members[a]) for a in plan.audience])[["channel", "audience", "consumers",
                                                                              "budget"]]
    assignment = pd.concat(parts, ignore_index=True).sort_values(["audience", "channel", "user_id"],
                                                                 ignore_index=True)
    arms = pd.DataFrame(rows).sort_values(["audience", "channel"], kind="stable", ignore_index=True)
    return CampaignDesign(table, name=name, arms=arms, assignment=assignment,
                          audiences=used, holdout=float(holdout), channel_holdout=float(channel_holdout),
                          doses=dose, min_size=int(min_size))


def _arm_rows(channel: str, audience: str, budget: float, arm: np.ndarray, doses: dict[str, float],
              min_size: int) -> list[dict[str, Any]]:
    """One plan row's arms: consumers, dose, and the budget split over the dose arms by consumers x dose."""
    counts = {k: int((arm == k).sum()) for k in (HOLDOUT, CONTROL, *doses)}
    weight = sum(counts[k] * d for k, d in doses.items())
    rows = []
    for k, n in counts.items():
        d = doses.get(k, 0.0)
        if d > 0 and n < min_size:
            raise ParameterError(f"the {k} arm of ({channel}, {audience}) holds {n:,} consumers, fewer than "
                                 f"min_size={min_size:,}: widen the audience, use fewer doses or smaller holdouts")
        b = budget * n * d / weight if weight > 0 else 0.0
        rows.append({"channel": channel, "audience": audience, "arm": k, "dose": d, "consumers": n, "budget": b,
                     "spend_per_consumer": b / n if n else 0.0})
    return rows
