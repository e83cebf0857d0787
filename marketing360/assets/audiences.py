"""Audiences for the 4E "Execute" step: the consumers in a stage, or stuck in one.

Examples
--------
>>> import pandas as pd
>>> from marketing360.assets import audience
>>> ev = pd.DataFrame({
...     "user_id": [1, 2, 2, 3], "ts": ["2025-03-01", "2025-03-01", "2025-03-10", "2025-04-05"],
...     "brand": ["A"] * 4, "event_type": ["cart", "cart", "purchase", "browse"]})
>>> audience(ev, "2025-03-01", "appeal", not_reached="act", within=30).table()["user_id"].tolist()
[1]
"""

from __future__ import annotations

from typing import Any, ClassVar

import ibis
import numpy as np
import pandas as pd
from ibis.expr.types import Table

from .._days import as_day
from ..engine import fetch
from ..errors import ParameterError
from ..inputs import alongside, open_table
from ..results import Result
from ..types import Stage, TableLike
from .rules import STAGE_LEVEL, STAGES, StageRules
from .stages import _events, _rules, _tz, snapshot, snapshots

__all__ = ["audience", "Audience"]


class Audience(Result):
    """Consumer-brand pairs to target: ``user_id, brand`` (export with ``to_pandas`` / ``to_polars``); drawn with
    tags, also ``score`` and ``rank``, best first."""

    expr: Table  # computed on an engine

    title: ClassVar[str] = "audience"
    keys: tuple[str, ...] = ("user_id", "brand")

    def __init__(self, expr: Table, *, description: str, ranked: bool = False) -> None:
        if ranked:
            self.keys = ("rank",)
        super().__init__(expr)
        self.description = description

    def _notes(self) -> list[str]:
        return [self.description]


def audience(events: TableLike, date: Any, stage: Stage, *, brand: str | None = None,
             not_reached: Stage | None = None, within: int = 30, tags: Any = None, top: int | None = None,
             min_score: float | None = None, rules: StageRules | None = None, tz: str = "UTC") -> Audience:
    """Consumers of ``stage`` on ``date``, optionally those who did not reach ``not_reached`` within ``within`` days.

    Parameters
    ----------
    events : table
        Canonical events, a frame or a table on any engine.
    date : date-like
        The day the audience is drawn on.
    stage : {"aware", "appeal", "act", "advocate"}
        Their stage on ``date``.
    brand : str, optional
        One brand (all brands by default).
    not_reached : {"appeal", "act", "advocate"}, optional
        Keep only the pairs whose stage stayed below this one on every day of
        ``date + 1`` to ``date + within`` (e.g. Appeal consumers who did not
        reach Act within 30 days). That period must end by the last event's day.
    within : int
        Days after ``date`` for ``not_reached``.
    tags : AudienceTags or table, optional
        Scores per pair (:func:`marketing360.models.audience_tags`, or any
        table with ``user_id, brand, score``): keep the tagged pairs, best
        first, with ``top`` and ``min_score``. Tags scored on ``date + 1``
        rank the stages of ``date``: an :class:`AudienceTags` of another day
        is refused.
    top : int, optional
        With ``tags``: the ``top`` best-scored pairs.
    min_score : float, optional
        With ``tags``: the pairs scored at least this.
    rules : StageRules, optional
        The stage rules.
    tz : str
        Time zone of the calendar days (see :func:`snapshot`).

    Returns
    -------
    Audience
        ``user_id, brand`` (with ``tags``: also ``score`` and ``rank``, best first).
    """
    for name, value in (("stage", stage), ("not_reached", not_reached)):
        if (value is not None or name == "stage") and value not in STAGES[1:]:
            raise ParameterError(f"{name} must be one of {list(STAGES[1:])}; found {value!r}")
    tz = _tz(tz)
    events = _events(events, "audience")
    d = as_day(date, "date", tz=tz)
    snap = snapshot(events, d, rules=rules, tz=tz).expr
    pairs = snap.filter(snap.stage == stage)
    if brand is not None:
        pairs = pairs.filter(pairs.brand == brand)
    pairs = pairs.select("user_id", "brand")
    what = f"{stage} pairs on {d.date()}" + (f" of {brand}" if brand else "")
    if tags is not None:
        if stage == "advocate":
            raise ParameterError("tags rank Aware, Appeal and Act pairs by their next stage; Advocate has none")
        if not_reached is not None:
            raise ParameterError("tags rank the pairs to target now; not_reached looks back at what they did: "
                                 "use one or the other")
        return _tagged(pairs, tags, d, top, min_score, what, _rules(rules), tz)
    if top is not None or min_score is not None:
        raise ParameterError("top and min_score select among tagged pairs: pass tags= too")
    if not_reached is None:
        return Audience(pairs.order_by(["user_id", "brand"]), description=what)
    if STAGE_LEVEL[not_reached] <= STAGE_LEVEL[stage]:
        raise ParameterError(f"not_reached ({not_reached}) must be a stage above {stage}")
    if not isinstance(within, int) or within < 1:
        raise ParameterError(f"within must be a whole number of days >= 1; found {within!r}")
    # pairs are judged over the whole follow-up: refuse one that runs past the data (censored pairs)
    last_ts = fetch(events.ts.max())
    # the last event's local calendar day (ts is UTC; d is a day in tz)
    last_day = None
    if last_ts is not None:
        last = pd.Timestamp(last_ts)
        last_day = (last if last.tzinfo else last.tz_localize("UTC")).tz_convert(tz).tz_localize(None).normalize()
    if last_day is not None and d + pd.Timedelta(days=within) > last_day:
        raise ParameterError(
            f"date + within ({(d + pd.Timedelta(days=within)).date()}) runs past the last event "
            f"({last_day.date()}, {tz}): pairs could still reach {not_reached} after the data ends; "
            "choose an earlier date or a shorter within")
    later = snapshots(events, pd.date_range(d + pd.Timedelta(days=1), periods=within, freq="D"), rules=rules,
                      tz=tz).expr
    reached = later.filter(later.level >= STAGE_LEVEL[not_reached]).select("user_id", "brand").distinct()
    return Audience(pairs.anti_join(reached, ["user_id", "brand"]).order_by(["user_id", "brand"]),
                    description=f"{what} that did not reach {not_reached} within {within} days")


def _tagged(pairs: Table, tags: Any, d: pd.Timestamp, top: int | None, min_score: float | None,
            what: str, rules: StageRules, tz: str) -> Audience:
    """The pairs with a tag score, best first, cut by ``top`` and ``min_score``."""
    from ..models.tags import AudienceTags

    if isinstance(tags, AudienceTags):
        if tags.date != d + pd.Timedelta(days=1):
            raise ParameterError(f"the tags were scored on {tags.date.date()}: they rank the stages of "
                                 f"{(tags.date - pd.Timedelta(days=1)).date()}, not of {d.date()}")
        if tags.rules != rules or tags.tz != tz:
            raise ParameterError("the tags were made with other stage rules or another time zone (tz "
                                 f"{tags.tz!r}, here {tz!r}): the stages they rank are not these; pass the "
                                 "same rules= and tz= to both")
        tags = tags.table()
    t = alongside(open_table(tags, what="audience tags"), pairs)
    missing = [c for c in ("user_id", "brand", "score") if c not in t.columns]
    if missing:
        raise ParameterError(f"tags need the columns user_id, brand, score; missing {missing} "
                             f"(found {list(t.columns)})")
    if top is not None and (isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1):
        raise ParameterError(f"top must be a whole number >= 1; found {top!r}")
    if min_score is not None and (isinstance(min_score, bool) or not isinstance(min_score, (int, float, np.number))
                                  or not np.isfinite(min_score)):
        raise ParameterError(f"min_score must be a finite number; found {min_score!r}")
    t = t.select(_tu=t.user_id, _tb=t.brand, score=t.score.cast("float64"))
    t = t.filter(t.score.notnull() & ~t.score.isnan())  # a pair without a score is not ranked
    j = pairs.join(t, (pairs.user_id == t._tu) & (pairs.brand == t._tb)).select("user_id", "brand", "score")
    if min_score is not None:
        j = j.filter(j.score >= float(min_score))
        what += f", scored >= {min_score:g}"
    j = j.mutate(rank=ibis.row_number().over(order_by=[j.score.desc(), j.user_id, j.brand]) + 1)
    if top is not None:
        j = j.filter(j["rank"] <= int(top))
        what += f", the {int(top):,} best"
    return Audience(j, description=what + " by their tags", ranked=True)
