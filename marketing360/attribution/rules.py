"""Rule-based attribution: first touch, last touch, last non-direct, linear, time decay, position based.

Each rule gives every touchpoint of a converting journey a weight (the
weights of a journey sum to 1); a channel is credited the sum of its
touchpoints' weights times the journey's conversions (and value). The weights
are ibis expressions, so the rules run on the engine the journeys live on.

Examples
--------
>>> import pandas as pd
>>> from marketing360.attribution import rule_based
>>> from marketing360.paths import from_paths
>>> j = from_paths(pd.DataFrame({"path": ["a > b > c", "b"], "conversions": [2, 1],
...                              "value": [20.0, 5.0], "nulls": [0, 3]}))
>>> rule_based(j, rules=["first_touch", "last_touch", "linear"]).wide().round(3)
         first_touch  last_touch  linear
channel
a             2.0         0.0   0.667
b             1.0         1.0   1.667
c             0.0         2.0   0.667
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import ibis
import numpy as np
import pandas as pd
import scipy.sparse as sp
from ibis.expr.types import Table

from ..engine import fetch
from ..errors import ParameterError
from ..paths import JOURNEY_KEY, Journeys
from ..results import Result
from ..types import CreditKey, Rule
from .result import Attribution, Bootstrap

__all__ = ["rule_based", "RULES", "touch_credit", "TouchCredit"]
#: what touches without a campaign are credited to when crediting campaigns (a pseudo-channel: no cost)
NO_CAMPAIGN = "(no campaign)"
#: the rules, in the order they are usually shown
RULES: tuple[str, ...] = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay",
                          "position_based")


def _weight(t: Any, rule: str, *, half_life_days: float, first: float, last: float,
            direct: Sequence[str]) -> Any:
    n, i = t.n_touches, t.touch
    if rule == "first_touch":
        return (i == 1).cast("float64")
    if rule == "last_touch":
        return (i == n).cast("float64")
    if rule == "linear":
        return 1.0 / n.cast("float64")
    if rule == "last_non_direct":
        w = ibis.window(group_by=list(JOURNEY_KEY))
        last_nd = ibis.ifelse(t.channel.isin(list(direct)), ibis.null("int64"), i).max().over(w)
        return (i == ibis.coalesce(last_nd, n)).cast("float64")
    if rule == "position_based":
        middle = (1.0 - first - last) / (n - 2).cast("float64")
        two = ibis.ifelse(i == 1, first / (first + last), last / (first + last))
        return ibis.cases((n == 1, 1.0), (n == 2, two), (i == 1, first), (i == n, last), else_=middle)
    if rule == "time_decay":
        # relative to the journey's latest touch, so that the largest weight is 1 and nothing underflows to 0/0
        raw = 2.0 ** ((t._hmin - t.hours) / (24.0 * half_life_days))  # _hmin: see _converting_touches
        return raw / raw.sum().over(ibis.window(group_by=list(JOURNEY_KEY)))
    raise ParameterError(f"unknown rule {rule!r}; choose from {list(RULES)}")


def _check(journeys: Journeys, rules: Sequence[str], half_life_days: float, first: float, last: float) -> None:
    if not isinstance(journeys, Journeys):
        raise ParameterError(f"journeys must be a Journeys (from journeys() or from_paths()); "
                             f"found {type(journeys).__name__}")
    bad = [r for r in rules if r not in RULES]
    if bad or not rules:
        raise ParameterError(f"unknown rule(s) {bad or rules}; choose from {list(RULES)}")
    if "last_non_direct" in rules and journeys.key == "campaign":
        raise ParameterError("last_non_direct needs the touches' channels; these journeys were built with "
                             "key='campaign' (build them with key='channel' and credit campaigns with "
                             "rule_based(..., key='campaign'))")
    if "time_decay" in rules:
        if journeys.source == "paths":
            raise ParameterError("time_decay needs touch times; journeys from a path table have none "
                                 "(build them from events with journeys())")
        if not (isinstance(half_life_days, (int, float)) and half_life_days > 0):
            raise ParameterError(f"half_life_days must be positive; found {half_life_days!r}")
    if "position_based" in rules:
        if not (0 <= first and 0 <= last and first + last <= 1 and first + last > 0):
            raise ParameterError(f"position_based needs first, last >= 0 with 0 < first + last <= 1; "
                                 f"found first={first}, last={last}")


def _converting_touches(journeys: Journeys, rules: Sequence[str]) -> Any:
    """Touches of converting journeys; for time decay with each journey's smallest ``hours`` (``_hmin``)."""
    t = journeys.touches.filter(journeys.touches.conversions > 0)
    if "time_decay" not in rules:
        return t
    return t.mutate(_hmin=t.hours.min().over(ibis.window(group_by=list(JOURNEY_KEY))))


class TouchCredit(Result):
    """Every touchpoint of the converting journeys with its rule ``weight``, ``credit`` and ``credit_value``.

    Attributes
    ----------
    rule : str
    """

    expr: Table  # computed on an engine
    title = "credit per touchpoint"
    keys = JOURNEY_KEY + ("touch",)

    def __init__(self, expr: Table, *, rule: str) -> None:
        super().__init__(expr)
        self.rule = rule

    def _notes(self) -> list[str]:
        return [f"rule: {self.rule}; weights sum to 1 in each converting journey"]


def touch_credit(journeys: Journeys, *, rule: Rule = "last_touch", half_life_days: float = 7.0,
                 first: float = 0.4, last: float = 0.4, direct: Sequence[str] = ("direct",)) -> TouchCredit:
    """Every touchpoint of the converting journeys with its rule weight and credit.

    Returns the touches with ``weight`` (sums to 1 in a journey), ``credit``
    (weight x the journey's conversions) and ``credit_value`` (weight x its
    value): what :func:`rule_based` sums per channel, for per-touchpoint or
    per-campaign reports.
    """
    _check(journeys, [rule], half_life_days, first, last)
    direct = [direct] if isinstance(direct, str) else list(direct)
    t = _converting_touches(journeys, [rule])
    w = _weight(t, rule, half_life_days=half_life_days, first=first, last=last, direct=direct)
    t = t.mutate(weight=w)
    t = t.mutate(credit=t.weight * t.conversions, credit_value=t.weight * t.value)
    return TouchCredit(t.drop("_hmin") if "_hmin" in t.columns else t, rule=rule)


def rule_based(journeys: Journeys, *, rules: Rule | Sequence[Rule] = ("first_touch", "last_touch", "linear"),
               half_life_days: float = 7.0, first: float = 0.4, last: float = 0.4,
               direct: Sequence[str] = ("direct",), key: CreditKey | None = None) -> Attribution:
    """Credit conversions with one or more rules.

    Parameters
    ----------
    journeys : Journeys
        From :func:`~marketing360.paths.journeys` or :func:`~marketing360.paths.from_paths`.
    rules : str or sequence of str
        Any of ``first_touch``, ``last_touch``, ``last_non_direct`` (the last
        touch whose channel is not in ``direct``; the last touch if all are),
        ``linear`` (equal shares), ``time_decay`` (weight halves every
        ``half_life_days`` before the conversion), ``position_based``
        (U-shaped: ``first`` to the first touch, ``last`` to the last, the rest
        split evenly among the others; two touches split ``first : last``).
    key : {"channel", "campaign"}, optional
        What to credit: the journeys' own key by default (what they were
        built with), or ``"campaign"`` for channel journeys built from events
        with campaigns; touches without a campaign are credited to
        ``"(no campaign)"``.

    Returns
    -------
    Attribution
        One method per rule; conversions of journeys without touches are not
        credited. :meth:`~Attribution.conf_int` resamples the converting journeys.

    Raises
    ------
    ParameterError
        An unknown rule or impossible weights, or journeys with no converting touchpoint.
    """
    rules = [rules] if isinstance(rules, str) else list(rules)
    _check(journeys, rules, half_life_days, first, last)
    direct = [direct] if isinstance(direct, str) else list(direct)
    key = journeys.key if key is None else key
    if key not in ("channel", "campaign"):
        raise ParameterError(f"key must be 'channel' or 'campaign'; found {key!r}")
    if journeys.key == "campaign" and key == "channel":
        raise ParameterError("these journeys were built with key='campaign': their touches carry campaigns, "
                             "not channels; build them with key='channel' to credit channels")
    if key == "campaign" and journeys.key == "channel" and not journeys.has_campaigns:
        raise ParameterError("key='campaign' needs journeys built from events with a campaign column")
    t = _converting_touches(journeys, rules)
    # the credited column: the journeys' key, or the touches' campaigns (a touch without one as a pseudo-campaign)
    credited = t.channel if key == journeys.key else t.campaign.fill_null(NO_CAMPAIGN)
    for r in rules:
        t = t.mutate(**{f"_w_{r}": _weight(t, r, half_life_days=half_life_days, first=first, last=last,
                                           direct=direct)})
    # per journey and credited key: each rule's weight sum (also what the bootstrap resamples)
    per = t.group_by([*JOURNEY_KEY, credited.name("channel")]).agg(
        _c=t.conversions.max(), _v=t.value.max(), **{f"w_{r}": t[f"_w_{r}"].sum() for r in rules})
    aggs = {}
    for r in rules:
        aggs[f"c_{r}"] = (per[f"w_{r}"] * per._c).sum()
        aggs[f"v_{r}"] = (per[f"w_{r}"] * per._v).sum()
    wide = fetch(per.group_by("channel").agg(**aggs).order_by("channel"))
    if wide.empty:
        raise ParameterError("rule_based: no journey with touchpoints converts; nothing to attribute")
    frames = [pd.DataFrame({"method": r, "channel": wide["channel"].astype(str), "conversions": wide[f"c_{r}"],
                            "value": wide[f"v_{r}"]}) for r in rules]
    settings: dict[str, dict[str, Any]] = {
        "first_touch": {}, "last_touch": {}, "linear": {}, "last_non_direct": {"direct": direct},
        "time_decay": {"half_life_days": half_life_days}, "position_based": {"first": first, "last": last}}
    channels = list(wide["channel"].astype(str))
    boots: dict[str, Any] = {r: partial(_journey_bootstrap, per, r, channels) for r in rules}
    return Attribution(pd.concat(frames, ignore_index=True), key=key,
                       params={r: settings[r] for r in rules}, bootstrap=boots)


def _journey_bootstrap(per: Table, rule: str, channels: list[str]) -> Bootstrap:
    """Converting journeys resampled; each journey's rule weights are fixed by its touches."""
    df = fetch(per.select(*JOURNEY_KEY, "channel", "_c", "_v", w=per[f"w_{rule}"]))
    codes, uniq = pd.factorize(pd.MultiIndex.from_frame(df[list(JOURNEY_KEY)].astype(str)))
    col = pd.Index(channels).get_indexer(df["channel"].astype(str))
    weights = sp.csr_matrix((df["w"].to_numpy(float), (codes, col)), shape=(len(uniq), len(channels)))
    first = pd.Series(np.arange(len(df))).groupby(codes).first().to_numpy()
    conv, value = df["_c"].to_numpy(float)[first], df["_v"].to_numpy(float)[first]
    wt = weights.T.tocsr()
    return Bootstrap(channels, conv, np.zeros(len(conv)), value, lambda c, n, v: (wt @ c, wt @ v))
