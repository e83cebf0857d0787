"""The simulator's truth: true 4A stages under any :class:`StageRules`, incremental conversions, Shapley values.

Two pieces live here:

- :class:`StageTracker` evaluates a :class:`~marketing360.assets.rules.StageRules`
  day by day on the behaviours the simulator produces, for every simulated
  world at once: each criterion (event types, ``min_count``, ``count="days"``
  or ``"events"``, ``min_value``, the stage's window) keeps the days of its
  ``min_count`` most recent qualifying units (days or events), and holds on
  day ``t`` while the oldest of them is within the window. This is exactly
  the reading of the rules that :func:`marketing360.assets.snapshot` makes on
  the emitted events.
- :func:`compute_truth` turns the conversions of the simulated coalitions of
  channels into the :class:`Truth`: incremental conversions per channel (and
  brand), exact Shapley values and totals.

Examples
--------
>>> import numpy as np
>>> from marketing360.assets.rules import StageRules
>>> tr = StageTracker(StageRules(), n_worlds=1, n_pairs=2)
>>> day = {"browse": np.array([[True, True]]), "cart": np.array([[False, True]])}
>>> tr.update(0, day).tolist()  # a browse -> aware; a browse and a cart -> appeal
[[1, 2]]
>>> tr.update(1, {"purchase": np.array([[True, False]])}).tolist()
[[3, 2]]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..assets.rules import Criterion, StageRules
from ..errors import ParameterError
from ..models.shapley import exact_shapley
from .world import ChannelParams

__all__ = ["Truth", "StageTracker", "EventSource", "compute_truth", "channel_params_frame", "experiment_truth",
           "campaign_truth", "geo_test_truth"]

_FAR = np.int16(-30_000)  # "never happened": older than any window (windows <= 10000 days)


# ============================================================================ the truth object


@dataclass
class Truth:
    """What the simulator knows and an analysis must recover.

    Attributes
    ----------
    stages : pandas.DataFrame
        True 4A stage spells: ``user_id, brand, stage, start, end`` (dates,
        ``end`` inclusive); a pair is ``unaware`` on days no spell covers.
        The stage of a day is the one :func:`marketing360.assets.snapshot`
        computes from the world's events with :attr:`rules` on that day.
    incremental : pandas.DataFrame
        Per channel: ``conversions`` and ``revenue`` lost when the channel
        alone is switched off (common random numbers).
    shapley : pandas.DataFrame or None
        Per channel: the exact Shapley split of the total incremental
        conversions and revenue (``truth="full"``, up to 10 channels).
    incremental_by_brand : pandas.DataFrame
        ``channel, brand, conversions, revenue`` as ``incremental`` per brand.
    channel_params : pandas.DataFrame
        The planted adstock, saturation, lift and delivery parameters.
    totals : dict
        ``conversions`` / ``revenue`` of the observed world, of the world
        with no ads (``baseline_*``) and their difference (``incremental_*``).
    coalitions : pandas.DataFrame or None
        Conversions and revenue of every simulated coalition of channels.
    rules : StageRules
        The 4A stage rules behind ``stages``.
    experiments, geo_tests : pandas.DataFrame or None
        The true effects of the holdout experiments and the geo tests.
    funnel : pandas.DataFrame or None
        The planted daily ladder of the observed world: per ``brand`` and ``step`` (1 browse, 2 engage:
        a search, follow, cart or ask, 3 purchase, 4 advocate: a review or share the same day), the
        ``expected`` number of consumer-brand-days that reach the step or beyond (the sum of their chances,
        a click counting as a browse), its ``variance`` (the sum of p(1 - p)), and ``rate``, the true
        step-conversion rate (expected over the previous step's). A funnel of consumer-days (browse, then
        engage, then purchase within the day) recovers it within sampling error.
    campaign : pandas.DataFrame or None
        With a campaign (``simulate(campaign=...)``): what it added to its
        brand from its first day to the last simulated day, under common
        random numbers. Row ``scope="campaign"`` is the whole campaign
        (the world minus the world without it); one row per channel of the
        plan is that channel's rows (the world minus the world without
        them). Columns ``conversions, revenue, spend`` (delivered ad spend
        on the brand's consumers, the brand's flights included, so a
        campaign that moves consumers to Appeal also moves retargeting),
        ``budget`` (planned), and ``with_conversions, with_revenue``,
        ``without_conversions, without_revenue``.
    campaign_users : pandas.DataFrame or None
        Per consumer of any audience of the campaign: ``user_id``, the
        brand's ``conversions`` and ``revenue`` from the campaign's first
        day with the campaign, and ``conversions_without``,
        ``revenue_without`` without it. A consumer held out of every
        audience is not exposed, so has no difference.
    propensities : pandas.DataFrame or None
        With ``simulate(..., propensities=True)``: the observed world's true
        chances, per consumer-brand pair and observed day (every pair of a
        consumer's categories, every day): ``user_id, brand, date``, ``stage``
        (the true stage entering the day, the one the day's chances depend
        on), ``p_click`` (a click on any of the day's delivered ads: ``1 -
        prod (1 - ctr)^impressions``), ``p_visit`` (a brand-page view or a
        click), ``p_engage`` (a search, follow, cart or ask), ``p_purchase``,
        ``p_advocate`` (a positive review or a share the same day),
        ``p_review`` (a later positive review, that day, of one of the pair's
        purchases of the last ``followup_days`` days: organic, ads do not
        move it). They
        condition on the consumer's latent propensity and responsiveness and
        on the day's delivered exposures, which no analysis sees: the best any
        model of the events can do is to approach them.
    """

    stages: pd.DataFrame | None
    incremental: pd.DataFrame | None
    shapley: pd.DataFrame | None
    incremental_by_brand: pd.DataFrame | None
    channel_params: pd.DataFrame
    totals: dict[str, float]
    coalitions: pd.DataFrame | None
    rules: StageRules = field(default_factory=StageRules)
    experiments: pd.DataFrame | None = None
    geo_tests: pd.DataFrame | None = None
    funnel: pd.DataFrame | None = None
    campaign: pd.DataFrame | None = None
    campaign_users: pd.DataFrame | None = None
    propensities: pd.DataFrame | None = None

    def geo_effect(self, test: str | None = None, *, start: Any = None, end: Any = None) -> pd.DataFrame:
        """The true effect of a geo test over its geos, from ``start`` to ``end`` (default: the test window).

        Returns one row per test: ``conversions, revenue`` lost (planned minus observed, so positive when the
        channel helped), ``spend`` saved, ``iroas`` (revenue lost per unit of spend saved), the observed and
        planned totals, and the window.
        """
        if self.geo_tests is None:
            raise ParameterError("this world was simulated without geo tests (geo_tests=)")
        g = self.geo_tests
        names = list(dict.fromkeys(g.test)) if test is None else [test]
        unknown = [n for n in names if n not in set(g.test)]
        if unknown:
            raise ParameterError(f"unknown geo test(s) {unknown}; tests are {list(dict.fromkeys(g.test))}")
        rows = []
        for n in names:
            d = g[(g.test == n) & g.treated]
            a = pd.Timestamp(start) if start is not None else d.loc[d.active, "date"].min()
            z = pd.Timestamp(end) if end is not None else d.loc[d.active, "date"].max()
            d = d[(d.date >= a) & (d.date <= z)]
            row = {"test": n, "start": a, "end": z}
            for m in ("conversions", "revenue", "spend"):
                row[f"{m}_observed"] = float(d[m].sum())
                row[f"{m}_planned"] = float(d[f"{m}_planned"].sum())
                row[m] = row[f"{m}_planned"] - row[f"{m}_observed"]
            row["iroas"] = row["revenue"] / row["spend"] if row["spend"] > 0 else float("nan")
            rows.append(row)
        return pd.DataFrame(rows)

    def stages_on(self, date: Any) -> pd.DataFrame:
        """True stage of every consumer-brand pair that is at least Aware on ``date``."""
        if self.stages is None:
            raise ParameterError("this world was simulated without stage truth")
        d = pd.Timestamp(date)
        s = self.stages
        return s.loc[(s.start <= d) & (s.end >= d), ["user_id", "brand", "stage"]].reset_index(drop=True)

    def next_stage_chances(self, events: pd.DataFrame) -> pd.DataFrame:
        """The true chance that each Aware, Appeal or Act pair ends the day a stage higher, per observed day.

        Derived from :attr:`propensities` under the default stage rules:

        - Aware: an engagement (``p_engage``), or a brand-page visit
          (``p_visit``) when the pair already browsed on another day of the
          Appeal window (the events before the day say whether it did);
        - Appeal: a purchase (``p_purchase``: reviews and service contacts
          only follow a purchase);
        - Act: a repurchase or the day's advocacy (``p_purchase``), or an
          organic positive review of a recent purchase (``p_review``), drawn
          independently: ``1 - (1 - p_purchase)(1 - p_review)``.

        Parameters
        ----------
        events : pandas.DataFrame
            The world's events (``SimulationResult.events``).

        Returns
        -------
        pandas.DataFrame
            ``user_id, brand, date, stage, next_stage, p_next`` for the days
            from ``appeal.window - 1`` days after the first observed one (the
            Aware formula needs the window's browsing, which the burn-in does
            not emit).

        Raises
        ------
        ParameterError
            A world without propensities, simulated under other stage rules or over fewer days than the
            Appeal window, or events that are not the world's.
        """
        if self.propensities is None:
            raise ParameterError("this world was simulated without propensities (simulate(..., propensities=True))")
        if self.rules != StageRules():
            raise ParameterError("next_stage_chances is derived for the default stage rules; this world has others")
        p = self.propensities
        window = self.rules.appeal.window
        first, last = p.date.min(), p.date.max()
        if (last - first).days + 1 < window:
            raise ParameterError(f"next_stage_chances needs {window} observed days (the Appeal window's browsing); "
                                 f"this world has {(last - first).days + 1}")
        if not {"user_id", "brand", "event_type", "ts"} <= set(events.columns) or not len(events):
            raise ParameterError("events must be the world's events (SimulationResult.events)")
        span = events.ts.min().normalize(), events.ts.max().normalize()
        if span[0] < first or span[1] > last or not set(events.brand.unique()) <= set(p.brand.unique()):
            raise ParameterError(f"events must be this world's events: they run {span[0].date()} to "
                                 f"{span[1].date()}, the world {first.date()} to {last.date()}")
        start = first + pd.Timedelta(days=window - 1)
        p = p[(p.date >= start) & p.stage.isin(["aware", "appeal", "act"])].reset_index(drop=True)
        # a browse on another day of the window [d - window + 1, d - 1]
        b = events.loc[events.event_type == "browse", ["user_id", "brand", "ts"]]
        days = b.assign(day=b.ts.dt.normalize().astype("datetime64[ns]")).drop_duplicates(["user_id", "brand", "day"])
        days = days.sort_values(["user_id", "brand", "day"])
        aware = p[p.stage == "aware"][["user_id", "brand", "date"]]
        aware = aware.assign(_before=(aware.date - pd.Timedelta(days=1)).astype("datetime64[ns]"))
        prior = pd.merge_asof(aware.sort_values("_before"),
                              days.rename(columns={"day": "_last"})[["user_id", "brand", "_last"]]
                              .sort_values("_last"),
                              left_on="_before", right_on="_last", by=["user_id", "brand"], direction="backward")
        prior["_was"] = prior._last >= prior.date - pd.Timedelta(days=window - 1)  # NaT: never
        was = p[["user_id", "brand", "date"]].merge(prior[["user_id", "brand", "date", "_was"]], how="left",
                                                    on=["user_id", "brand", "date"])._was.eq(True).to_numpy()
        pv, pe = p.p_visit.to_numpy(np.float64), p.p_engage.to_numpy(np.float64)
        pp, pr = p.p_purchase.to_numpy(np.float64), p.p_review.to_numpy(np.float64)
        chance = np.select([p.stage == "aware", p.stage == "appeal"],
                           [pe + was * (pv - pe), pp], 1.0 - (1.0 - pp) * (1.0 - pr))
        nxt = p.stage.map({"aware": "appeal", "appeal": "act", "act": "advocate"})
        return pd.DataFrame({"user_id": p.user_id, "brand": p.brand, "date": p.date, "stage": p.stage,
                             "next_stage": nxt, "p_next": chance})


# ============================================================================ true stages, day by day


@dataclass(frozen=True)
class EventSource:
    """One way the simulator produces events of one type on a day.

    ``units`` is a ``(worlds, pairs)`` array: a bool (at most one event) or
    an integer count of events of ``event_type`` that day. ``value`` is the
    events' ``value`` per pair (a purchase's amount, a review's rating), or
    None for events without one (they never pass a ``min_value``).
    """

    event_type: str
    units: np.ndarray
    value: np.ndarray | None = None


class StageTracker:
    """The true 4A stage of every (world, pair) under ``rules``, updated one day at a time.

    Parameters
    ----------
    rules : StageRules
        The stage rules; every criterion is evaluated as
        :func:`marketing360.assets.snapshot` reads it.
    n_worlds, n_pairs : int
        Shape of the state: simulated worlds x consumer-brand pairs.

    Notes
    -----
    A criterion with ``min_count = m`` keeps, per (world, pair), the days of
    its ``m`` most recent qualifying units (an event, or a day with at least
    one event for ``count="days"``), most recent first. It holds on day
    ``t`` when the ``m``-th of them is within the window, i.e. later than
    ``t - window``. Memory: ``2 * m`` bytes per (world, pair) and criterion.
    """

    def __init__(self, rules: StageRules, n_worlds: int, n_pairs: int) -> None:
        if not isinstance(rules, StageRules):
            raise ParameterError(f"rules must be a StageRules; found {type(rules).__name__}")
        self.rules = rules
        self._crit: list[tuple[int, int, Criterion]] = []  # (stage level, window, criterion)
        for level, rule in enumerate(rules.rules, start=1):
            for crit in rule.criteria:
                self._crit.append((level, rule.window, crit))
        self._recent = [np.full((c.min_count, n_worlds, n_pairs), _FAR, dtype=np.int16)
                        for _, _, c in self._crit]
        self.stage = np.zeros((n_worlds, n_pairs), dtype=np.int8)

    def fork(self, n_worlds: int) -> None:
        """Copy world 0's state into ``n_worlds`` worlds (worlds identical so far part from here)."""
        self._recent = [np.repeat(r[:, :1], n_worlds, axis=1) for r in self._recent]
        self.stage = np.repeat(self.stage[:1], n_worlds, axis=0)

    @property
    def event_types(self) -> set[str]:
        """The event types some criterion looks at."""
        return {e for _, _, c in self._crit for e in c.event_types}

    def counts_events(self, event_type: str) -> bool:
        """Whether some criterion counts individual events of ``event_type`` (not days)."""
        return any(c.count == "events" and event_type in c.event_types for _, _, c in self._crit)

    def update(self, t: int, day: Mapping[str, Any]) -> np.ndarray:
        """Take in day ``t``'s events and return the stage at the end of the day.

        Parameters
        ----------
        t : int
            The day (0, 1, ...); days must come in increasing order.
        day : mapping of str to array or EventSource or list of EventSource
            Per event type, the day's events: a ``(worlds, pairs)`` bool or
            count array (events without a value), or sources with values.
            Types not given did not happen.

        Returns
        -------
        numpy.ndarray
            ``(worlds, pairs)`` int8 levels: 0 unaware, 1 aware ... 4 advocate.
        """
        sources: dict[str, list[EventSource]] = {}
        for etype, v in day.items():
            if isinstance(v, EventSource):
                sources[etype] = [v]
            elif isinstance(v, (list, tuple)):
                sources[etype] = list(v)
            else:
                sources[etype] = [EventSource(etype, np.asarray(v))]
        stage = np.zeros_like(self.stage)
        today = np.int16(t)
        for (level, window, crit), recent in zip(self._crit, self._recent):  # levels ascending
            units = self._units(crit, sources)
            if units is not None:
                _push(recent, units, today, crit.min_count)
            np.copyto(stage, np.int8(level), where=recent[-1] > np.int16(t - window))
        self.stage = stage
        return stage

    @staticmethod
    def _units(crit: Criterion, sources: Mapping[str, list[EventSource]]) -> np.ndarray | None:
        """The day's qualifying units of one criterion: bool (days) or counts (events)."""
        total = None
        for etype in crit.event_types:
            for src in sources.get(etype, ()):
                u = src.units
                if crit.min_value is not None:
                    if src.value is None:
                        continue
                    u = u * (np.asarray(src.value) >= crit.min_value)[None, :]
                if crit.count == "days" and u.dtype != bool:
                    u = u > 0
                elif crit.count == "events" and u.dtype == bool:
                    u = u.astype(np.int16)
                total = u if total is None else (total | u if crit.count == "days" else total + u)
        return total


def _push(recent: np.ndarray, units: np.ndarray, t: np.int16, m: int) -> None:
    """Put ``min(units, m)`` new units of day ``t`` in front of the ``m`` most recent ones."""
    if units.dtype == bool:  # at most one new unit: shift by one where there is one
        for j in range(m - 1, 0, -1):
            np.copyto(recent[j], recent[j - 1], where=units)
        np.copyto(recent[0], t, where=units)
        return
    if m == 1:
        np.copyto(recent[0], t, where=units > 0)
        return
    u = np.minimum(units.astype(np.int16), m)
    old = recent.copy()
    for j in range(m):
        # slot j takes day t when u > j, else the old slot j - u
        val = old[j].copy()
        for s in range(1, j + 1):
            np.copyto(val, old[j - s], where=u == s)
        np.copyto(val, t, where=u > j)
        recent[j] = val


# ============================================================================ incremental truth


def channel_params_frame(names: list[str], params: list[ChannelParams], holdout: np.ndarray) -> pd.DataFrame:
    """The planted parameters of each channel, one row per channel."""
    return pd.DataFrame([{"channel": n, "theta": p.theta, "kappa": p.kappa, "alpha": p.alpha,
                          "beta_browse": p.beta[0], "beta_engage": p.beta[1],
                          "beta_purchase": p.beta[2], "beta_advocate": p.beta[3],
                          "rate": p.rate, "reach": p.reach, "retarget": p.retarget, "ctr": p.ctr,
                          "pricing": p.pricing, "price": p.price, "holdout": float(holdout[i])}
                         for i, (n, p) in enumerate(zip(names, params))])


def compute_truth(names: list[str], brands: list[str], params: pd.DataFrame, conv: np.ndarray,
                  rev: np.ndarray, bits: list[int], truth: str, stages: pd.DataFrame | None,
                  rules: StageRules) -> Truth:
    """The :class:`Truth` from the conversions of the simulated coalitions.

    Parameters
    ----------
    names, brands : list of str
        Channels and brands.
    params : pandas.DataFrame
        :func:`channel_params_frame` of the world.
    conv, rev : numpy.ndarray
        ``(coalitions, brands)`` conversions and revenue; row 0 is the observed world.
    bits : list of int
        The coalition of each row as a bit mask over ``names``.
    truth : {"full", "incremental", "none"}
        What was simulated (see :func:`~marketing360.datasets.simulate`).
    stages : pandas.DataFrame or None
        True stage spells.
    rules : StageRules
        The rules behind ``stages``.
    """
    C = len(names)
    totals = {"conversions": float(conv[0].sum()), "revenue": float(rev[0].sum())}
    if truth == "none":
        return Truth(stages, None, None, None, params, totals, None, rules)
    idx = {b: k for k, b in enumerate(bits)}
    full = (1 << C) - 1
    none_k = idx[0]
    totals.update(baseline_conversions=float(conv[none_k].sum()), baseline_revenue=float(rev[none_k].sum()))
    totals.update(incremental_conversions=totals["conversions"] - totals["baseline_conversions"],
                  incremental_revenue=totals["revenue"] - totals["baseline_revenue"])
    loo = [idx[full & ~(1 << c)] for c in range(C)]
    inc_c = conv[0][None, :] - conv[loo]  # (C, B)
    inc_r = rev[0][None, :] - rev[loo]
    incremental = pd.DataFrame({"channel": names, "conversions": inc_c.sum(1), "revenue": inc_r.sum(1)})
    by_brand = pd.DataFrame({"channel": np.repeat(names, len(brands)), "brand": np.tile(brands, C),
                             "conversions": inc_c.ravel(), "revenue": inc_r.ravel()})
    coalitions = pd.DataFrame({"coalition": [" + ".join(n for c, n in enumerate(names) if (b >> c) & 1)
                                             or "(none)" for b in bits],
                               "n_channels": [bin(b).count("1") for b in bits],
                               "conversions": conv.sum(1), "revenue": rev.sum(1)})
    shapley = None
    if truth == "full":
        vc = np.zeros(1 << C)
        vr = np.zeros(1 << C)
        for b, k in idx.items():
            vc[b] = conv[k].sum()
            vr[b] = rev[k].sum()
        shapley = pd.DataFrame({"channel": names, "conversions": exact_shapley(vc),
                                "revenue": exact_shapley(vr)})
    return Truth(stages, incremental, shapley, by_brand, params, totals, coalitions, rules)


# ============================================================================ experiments' truth


def experiment_truth(held: list[str], names: list[str], holdout: np.ndarray, user_conv: dict[str, np.ndarray],
                     user_rev: dict[str, np.ndarray], exposed: np.ndarray, ghost: np.ndarray) -> pd.DataFrame:
    """The true effect of each user holdout: the observed world against the world without its channel.

    ``held`` names the channels with a holdout (the columns of ``holdout``, ``(U, len(held))``);
    ``user_conv`` / ``user_rev`` hold each consumer's purchases and revenue in the observed world (key
    ``""``) and with each held channel off; ``exposed`` / ``ghost`` (``(U, channels)``) whether the
    consumer was reached, or would have been (held out).
    """
    rows = []
    obs_c, obs_r = user_conv[""], user_rev[""]
    for i, ch in enumerate(held):
        c = names.index(ch)
        treated = ~holdout[:, i]
        reached = treated & exposed[:, c]
        off_c, off_r = user_conv[ch], user_rev[ch]
        diffs = {"conversion": (obs_c > 0).astype(float) - (off_c > 0), "purchases": obs_c - off_c,
                 "revenue": obs_r - off_r}
        for metric, diff in diffs.items():
            for estimand, who in (("itt", treated), ("tot", reached)):
                units = int(who.sum())
                total = float(diff[who].sum())
                rows.append({"channel": ch, "metric": metric, "estimand": estimand,
                             "effect": total / units if units else float("nan"), "units": units,
                             "incremental": total, "control_units": int((~treated).sum()),
                             "control_reached": int((~treated & ghost[:, c]).sum())})
    return pd.DataFrame(rows)


def campaign_truth(campaign: Any, results: list[Any], extra: list[str], user_ids: pd.Series
                   ) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """:attr:`Truth.campaign` and :attr:`Truth.campaign_users` from the blocks' outputs.

    ``extra`` names the last worlds simulated (``"without"``, ``"without <channel>"``); world 0 is the
    observed one. Without them (``truth="none"``) both are None.
    """
    if not extra:
        return None, None
    conv = np.sum([r.brand_conv for r in results], axis=0)
    rev = np.sum([r.brand_rev for r in results], axis=0)
    spend = np.sum([r.brand_spend for r in results], axis=0)
    base = len(conv) - len(extra)
    plan = campaign.plan
    rows = []
    for i, name in enumerate(extra):
        k = base + i
        scope = "campaign" if name == "without" else name[len("without "):]
        budget = plan.budget.sum() if scope == "campaign" else plan.budget[plan.channel == scope].sum()
        rows.append({"scope": scope, "conversions": conv[0] - conv[k], "revenue": round(rev[0] - rev[k], 2),
                     "spend": round(spend[0] - spend[k], 4), "budget": float(budget),
                     "with_conversions": conv[0], "with_revenue": round(rev[0], 2),
                     "without_conversions": conv[k], "without_revenue": round(rev[k], 2)})
    ids = user_ids.to_numpy()
    parts = {role: [np.concatenate(x) for x in zip(*[r.campaign_users[role] for r in results
                                                      if r.campaign_users is not None])]
             for role in ("with", "without")}
    members = np.unique(np.concatenate([campaign.users(a) for a in dict.fromkeys(plan.audience)]))
    keep = np.isin(ids, members)
    users = pd.DataFrame({"user_id": ids[keep], "conversions": parts["with"][0][keep],
                          "revenue": np.round(parts["with"][1][keep], 2),
                          "conversions_without": parts["without"][0][keep],
                          "revenue_without": np.round(parts["without"][1][keep], 2)})
    return pd.DataFrame(rows), users


def geo_test_truth(tests: list[Any], planned: list[tuple[np.ndarray, ...]], oc: np.ndarray, orv: np.ndarray,
                   spend: np.ndarray, channels: list[str], geos: list[str], start: pd.Timestamp,
                   geo_off: np.ndarray | None) -> pd.DataFrame:
    """Per geo test, day and geo: the observed outcomes and spend next to those of the world as planned."""
    D, G = oc.shape
    dates = start + pd.to_timedelta(np.arange(D), unit="D")
    parts = []
    for j, g in enumerate(tests):
        p_oc, p_rev, p_sp = planned[j]
        c = channels.index(g.channel)
        assert geo_off is not None
        active = geo_off[j, c]  # (D, G)
        parts.append(pd.DataFrame({
            "test": g.name, "channel": g.channel, "date": np.repeat(dates, G), "geo": np.tile(geos, D),
            "treated": np.tile(np.isin(geos, list(g.geos)), D), "active": active.ravel(),
            "conversions": oc.ravel(), "conversions_planned": p_oc.ravel(),
            "revenue": np.round(orv.ravel(), 2), "revenue_planned": np.round(p_rev.ravel(), 2),
            "spend": np.round(spend[:, :, c].ravel(), 4), "spend_planned": np.round(p_sp[:, :, c].ravel(), 4)}))
    out = pd.concat(parts, ignore_index=True)
    out["date"] = out["date"].astype("datetime64[us]")
    return out


#: the ladder's steps, in order (:attr:`Truth.funnel`)
FUNNEL_STEPS = ("browse", "engage", "purchase", "advocate")


def funnel_truth(funnel: np.ndarray, brands: list[str]) -> pd.DataFrame:
    """:attr:`Truth.funnel` from the summed ``(2, B, 4)`` expected counts and variances of the blocks."""
    expected, variance = funnel
    rows = []
    for b, brand in enumerate(brands):
        for j, name in enumerate(FUNNEL_STEPS):
            prev = expected[b, j - 1] if j else np.nan
            rows.append({"brand": brand, "step": j + 1, "name": name, "expected": float(expected[b, j]),
                         "variance": float(variance[b, j]),
                         "rate": float(expected[b, j] / prev) if j and prev > 0 else np.nan})
    return pd.DataFrame(rows)
