"""Evaluate: what the campaign added, read from its own holdouts.

Per audience, the campaign's total effect (every consumer not held out
against the holdout), and per channel the effect of each dose arm against
the channel's own controls: incremental purchases and revenue per consumer
(:func:`~marketing360.incrementality.experiment`, CUPED-adjusted when a
pre-period is given), scaled to the arm's consumers; the monetised return
(MRR) of each channel; the 4A flows of the treated against the holdout
(the share of each stage that moved up by the end of the window); and the
measured lifts in the layout :func:`~marketing360.attribution.calibrate`
reads, so that an attribution of the campaign's consumers is calibrated on
the experiment (:meth:`CampaignReadout.calibrate`).

Examples
--------
>>> import pandas as pd
>>> from marketing360.datasets import simulate
>>> from marketing360.playbook import design_campaign, evaluate_campaign
>>> w0 = simulate(n_users=3000, n_days=42, seed=2, truth="none", n_brands=3, n_categories=1)
>>> plan = pd.DataFrame({"channel": ["display"], "audience": ["all"], "budget": [2000.0]})
>>> d = design_campaign(plan, {"all": w0.users.user_id}, min_size=500)
>>> w = simulate(n_users=3000, n_days=42, seed=2, truth="none", n_brands=3, n_categories=1,
...              campaign=d.campaign("Acme", "2025-01-22", "2025-02-04"))
>>> r = evaluate_campaign(w.events, d, brand="Acme", start="2025-01-22", end="2025-02-11",
...                       pre_start="2025-01-01")
>>> sorted(set(r.table().scope))
['campaign', 'channel']
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._days import as_day
from ..errors import ParameterError
from ..incrementality.effects import Effects
from ..incrementality.experiments import experiment
from ..incrementality.mrr import MRR, mrr
from ..inputs import as_table
from ..types import TableLike
from .design import CONTROL, HOLDOUT, CampaignDesign

__all__ = ["evaluate_campaign", "CampaignReadout"]


class CampaignReadout(Effects):
    """The campaign's measured effects: one row per ``scope`` (``"campaign"``: all channels against the holdout;
    ``"channel"``: a dose arm against the channel's controls), ``channel`` (``"all"`` for the campaign),
    ``audience`` and ``arm``.

    ``estimate`` is incremental purchases per consumer (``std_error``, ``lower``, ``upper``, ``p_value``);
    ``consumers``, ``budget``, ``spend_per_consumer`` (0 for the campaign rows); ``incremental_conversions``
    (estimate x consumers) with its bounds; ``revenue_per_consumer``, ``revenue_std_error`` and
    ``incremental_revenue``; ``control_variance`` (the variance of the control's mean, shared by the dose
    arms of one channel; ``revenue_control_variance`` the same for revenue).

    Attributes
    ----------
    flows : pandas.DataFrame
        Per audience and starting 4A stage: consumers and the share that moved up, treated against holdout,
        with the difference and its standard error.
    mrr : MRR
        The monetised return of each channel with a budget (incremental revenue over its budget; the
        standard error counts the control its dose arms share).
    brand, start, end : the measured brand and window
    design : CampaignDesign
    """

    title: ClassVar[str] = "campaign readout"
    keys = ("scope", "channel", "audience", "arm")

    def __init__(self, frame: pd.DataFrame, *, design: CampaignDesign, flows: pd.DataFrame, mrr: MRR, brand: str,
                 start: pd.Timestamp, end: pd.Timestamp, alpha: float) -> None:
        self.design, self.flows, self.mrr = design, flows, mrr
        self.brand, self.start, self.end = brand, start, end
        super().__init__(frame, alpha=alpha, notes=[
            f"{brand}, {start.date()} .. {end.date()}: incremental purchases per consumer, each arm against its "
            "controls (the holdout for the campaign, the channel's controls for a dose arm)"])

    def channels(self) -> pd.DataFrame:
        """Per plan row (channel and audience): budget, incremental conversions and revenue summed over its dose
        arms, with standard errors from the arms' variances and their shared control, and the row's MRR
        (incremental revenue over budget) with its interval."""
        return _row_totals(self.table(), self.alpha)

    def lifts(self, *, key: str = "channel") -> pd.DataFrame:
        """The measured incremental conversions as :func:`~marketing360.attribution.calibrate` reads them
        (``channel, conversions, std_error``): per channel, summed over its audiences and dose arms (``key=
        "channel"``), or per campaign row of the experiment, named as the simulator's events name them
        (``key="campaign"``: ``<name>-<channel>-<audience>/<channel>/<arm>``)."""
        if key == "channel":
            per = self.channels()
            g = per.assign(v=per.conversions_std_error ** 2).groupby("channel", sort=False)
            out = g.agg(conversions=("incremental_conversions", "sum"), v=("v", "sum")).reset_index()
            return pd.DataFrame({"channel": out.channel, "conversions": out.conversions,
                                 "std_error": np.sqrt(out.v)})
        if key == "campaign":
            t = self.table()
            t = t[t.scope == "channel"]
            names = [f"{self.design.name}-{r.channel}-{r.audience}/{r.channel}/{r.arm}" for r in t.itertuples()]
            return pd.DataFrame({"channel": names, "conversions": t.incremental_conversions.to_numpy(),
                                 "std_error": (t.std_error * t.consumers).to_numpy()})
        raise ParameterError(f"key must be 'channel' or 'campaign'; found {key!r}")

    def calibrate(self, attribution: Any, **kwargs: Any) -> Any:
        """An attribution of the campaign's consumers and window calibrated to the lifts this readout measured
        (:func:`~marketing360.attribution.calibrate`; keyword arguments go to it). The attribution's key (per
        channel or per campaign) picks the lifts."""
        from ..attribution import calibrate

        return calibrate(attribution, self.lifts(key=attribution.key), **kwargs)

    def plot(self, *, ax: Any = None, **kwargs: Any) -> Any:
        """Incremental purchases per consumer of each arm, with intervals, against spend per consumer."""
        from ..viz.playbook import plot_readout

        return plot_readout(self.table(), ax=ax, **kwargs)


def evaluate_campaign(events: TableLike, design: CampaignDesign, *, brand: str, start: Any, end: Any,
                      pre_start: Any = None, alpha: float = 0.05) -> CampaignReadout:
    """Read the campaign's effects out of its holdouts.

    Parameters
    ----------
    events : table
        Canonical events on any engine, covering ``start`` to ``end`` (and the pre-period).
    design : CampaignDesign
        The design that ran (:func:`~marketing360.playbook.design_campaign`).
    brand : str
        The advertised brand: only its purchases count.
    start, end : date
        The measurement window, both days included: the campaign's first day to some days after its last
        (the carry-over of the ads).
    pre_start : date, optional
        First day of a pre-period (to the day before ``start``) whose purchases adjust each comparison
        (CUPED); narrower intervals when purchases persist.
    alpha : float
        1 - the interval coverage.

    Returns
    -------
    CampaignReadout

    Raises
    ------
    ParameterError
        Not a design, an unknown brand, a reversed window.
    SchemaError
        Events without the canonical columns.
    """
    if not isinstance(design, CampaignDesign):
        raise ParameterError(f"design must be a CampaignDesign (playbook.design_campaign); found "
                             f"{type(design).__name__}")
    ev = as_table(events, "events", need=["brand"], what="evaluate_campaign")
    t0, t1 = as_day(start, "start", whole=True), as_day(end, "end", whole=True)
    if t1 < t0:
        raise ParameterError(f"end ({t1.date()}) is before start ({t0.date()})")
    from ..engine import fetch

    brands = set(fetch(ev.select("brand").distinct(), "pandas").brand.dropna())
    if brand not in brands:
        raise ParameterError(f"brand {brand!r} has no events; brands are {sorted(brands)[:20]}")
    kw = dict(start=t0, end=t1, pre_start=pre_start, cuped=pre_start is not None, metrics=("purchases", "revenue"),
              brand=brand, alpha=alpha, correction="none")
    arms = design.arms
    rows = []
    for a in design.audiences:
        asg = design.experiment_assignment(audience=a)
        if (asg.arm == HOLDOUT).any():
            rows += _rows(experiment(ev, asg, control=HOLDOUT, **kw), "campaign", "all", a, arms=None)
        for c in dict.fromkeys(design.table().query("audience == @a").channel):
            ex = experiment(ev, design.experiment_assignment(c, a), control=CONTROL, **kw)
            rows += _rows(ex, "channel", c, a, arms=arms[(arms.channel == c) & (arms.audience == a)])
    frame = pd.DataFrame(rows)
    per_row = _row_totals(frame, alpha).assign(v=lambda d: d.revenue_std_error ** 2)
    ch = per_row.groupby("channel", sort=False).agg(estimate=("incremental_revenue", "sum"), cost=("budget", "sum"),
                                                    v=("v", "sum")).reset_index()  # audiences are independent
    ch = ch[ch.cost > 0]
    money = mrr(ch.assign(std_error=np.sqrt(ch.v))[["channel", "estimate", "std_error", "cost"]])
    flows = _flows(ev, design, brand, t0, t1)
    return CampaignReadout(frame, design=design, flows=flows, mrr=money, brand=brand, start=t0, end=t1, alpha=alpha)


def _row_totals(t: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """:meth:`CampaignReadout.channels` from the readout's rows."""
    from scipy import stats

    t = t[t.scope == "channel"]
    q = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for (c, a), g in t.groupby(["channel", "audience"], sort=False):
        rev, rev_se = g.incremental_revenue.sum(), _total_se(g, "revenue_std_error", "revenue_control_variance")
        budget = g.budget.sum()
        rows.append({"channel": c, "audience": a, "budget": budget,
                     "incremental_conversions": g.incremental_conversions.sum(),
                     "conversions_std_error": _total_se(g, "std_error", "control_variance"),
                     "incremental_revenue": rev, "revenue_std_error": rev_se,
                     "mrr": rev / budget if budget > 0 else np.nan,
                     "mrr_lower": (rev - q * rev_se) / budget if budget > 0 else np.nan,
                     "mrr_upper": (rev + q * rev_se) / budget if budget > 0 else np.nan})
    return pd.DataFrame(rows)


def arms_covariance(g: pd.DataFrame, se: str = "std_error", control_variance: str = "control_variance") -> np.ndarray:
    """Covariance of one plan row's dose-arm estimates (per consumer): each arm's own variance on the diagonal,
    the variance of the control they share off it."""
    cov = np.full((len(g), len(g)), float(g[control_variance].iloc[0]))
    np.fill_diagonal(cov, g[se].to_numpy(float) ** 2)
    return cov


def _total_se(g: pd.DataFrame, se: str, control_variance: str) -> float:
    """Standard error of the sum over dose arms of ``consumers x estimate``: the arms share their control."""
    n = g.consumers.to_numpy(float)
    return float(np.sqrt(n @ arms_covariance(g, se, control_variance) @ n))


def _rows(ex: Any, scope: str, channel: str, audience: str, arms: pd.DataFrame | None) -> list[dict[str, Any]]:
    t = ex.table()
    pur, rev = t[t.metric == "purchases"].set_index("arm"), t[t.metric == "revenue"].set_index("arm")
    raw = ex.arms[(ex.arms.metric == "purchases") & (ex.arms.arm == ex.control)].iloc[0]
    raw_rev = ex.arms[(ex.arms.metric == "revenue") & (ex.arms.arm == ex.control)].iloc[0]
    out = []
    for arm, r in pur.iterrows():
        n = int(r.n_treatment)
        if arms is not None:
            spec = arms.set_index("arm").loc[arm]
            budget, spc = float(spec.budget), float(spec.spend_per_consumer)
        else:
            budget, spc = 0.0, 0.0
        out.append({"scope": scope, "channel": channel, "audience": audience, "arm": arm,
                    "estimate": r.estimate, "std_error": r.std_error, "consumers": n, "budget": budget,
                    "spend_per_consumer": spc, "incremental_conversions": r.estimate * n,
                    "incremental_conversions_lower": r.lower * n, "incremental_conversions_upper": r.upper * n,
                    "revenue_per_consumer": rev.loc[arm, "estimate"], "revenue_std_error": rev.loc[arm, "std_error"],
                    "incremental_revenue": rev.loc[arm, "estimate"] * n,
                    "control_variance": float(raw["std"]) ** 2 / float(raw.units) * (1 - float(r.variance_reduction)),
                    "revenue_control_variance": float(raw_rev["std"]) ** 2 / float(raw_rev.units)
                    * (1 - float(rev.loc[arm, "variance_reduction"])),
                    "control_mean": r.control_mean})
    return out


def _flows(ev: Any, design: CampaignDesign, brand: str, t0: pd.Timestamp, t1: pd.Timestamp) -> pd.DataFrame:
    """Per audience and starting stage: the share of treated and held-out consumers that moved up."""
    from ..assets import snapshot
    from ..engine import fetch

    first, last = t0 - pd.Timedelta(days=1), t1
    b = ev.filter(ev.brand == brand)
    s0 = fetch(snapshot(b, first).expr.select("user_id", "level"), "pandas")
    s1 = fetch(snapshot(b, last).expr.select("user_id", "level"), "pandas").rename(columns={"level": "level_end"})
    rows = []
    for a in design.audiences:
        asg = design.experiment_assignment(audience=a)
        d = asg.merge(s0, on="user_id", how="left").merge(s1, on="user_id", how="left").fillna(
            {"level": 0, "level_end": 0})
        d["up"] = d.level_end > d.level
        for lvl, g in d.groupby("level"):
            tr, ho = g[g.arm != HOLDOUT], g[g.arm == HOLDOUT]
            if not len(tr) or not len(ho):
                continue
            p1, p0 = tr.up.mean(), ho.up.mean()
            rows.append({"audience": a, "from_level": int(lvl), "treated": len(tr), "holdout": len(ho),
                         "moved_up_treated": p1, "moved_up_holdout": p0, "difference": p1 - p0,
                         "std_error": float(np.sqrt(p1 * (1 - p1) / len(tr) + p0 * (1 - p0) / len(ho)))})
    out = pd.DataFrame(rows)
    if len(out):
        from ..schema import STAGES

        out.insert(1, "from_stage", [STAGES[i] for i in out.from_level])
    return out
