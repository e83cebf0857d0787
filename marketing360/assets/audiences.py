"""Audiences for the 4E "Execute" step: the consumers in a stage, or stuck in one.

Examples
--------
>>> import pandas as pd, marketing360 as m3
>>> from marketing360.assets import audience
>>> eng = m3.connect()
>>> ev = eng.table(m3.validate(pd.DataFrame({
...     "user_id": [1, 2, 2, 3], "ts": ["2025-03-01", "2025-03-01", "2025-03-10", "2025-04-05"],
...     "brand": ["A"] * 4, "event_type": ["cart", "cart", "purchase", "browse"]})))
>>> eng.to_pandas(audience(ev, "2025-03-01", "appeal", not_reached="act", within=30))["user_id"].tolist()
[1]
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from ibis.expr.types import Table

from ..errors import ParameterError
from .rules import STAGE_LEVEL, STAGES, StageRules
from .stages import _day, snapshot, snapshots

__all__ = ["audience"]


def audience(events: Table, date: Any, stage: str, *, brand: str | None = None,
             not_reached: str | None = None, within: int = 30, rules: StageRules | None = None,
             tz: str = "UTC") -> Table:
    """Consumers of ``stage`` on ``date``, optionally those who did not reach ``not_reached`` within ``within`` days.

    Parameters
    ----------
    events : ibis Table
        Canonical events on any engine.
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
    rules : StageRules, optional
        The stage rules.
    tz : str
        Time zone of the calendar days (see :func:`snapshot`).

    Returns
    -------
    ibis Table
        ``user_id, brand`` (exportable with ``engine.to_pandas`` / ``to_polars``).
    """
    for name, value in (("stage", stage), ("not_reached", not_reached)):
        if value is not None and value not in STAGES[1:]:
            raise ParameterError(f"{name} must be one of {list(STAGES[1:])}; found {value!r}")
    d = _day(date)
    snap = snapshot(events, d, rules, tz=tz)
    pairs = snap.filter(snap.stage == stage)
    if brand is not None:
        pairs = pairs.filter(pairs.brand == brand)
    pairs = pairs.select("user_id", "brand")
    if not_reached is None:
        return pairs.order_by(["user_id", "brand"])
    if STAGE_LEVEL[not_reached] <= STAGE_LEVEL[stage]:
        raise ParameterError(f"not_reached ({not_reached}) must be a stage above {stage}")
    if not isinstance(within, int) or within < 1:
        raise ParameterError(f"within must be a whole number of days >= 1; found {within!r}")
    # pairs are judged over the whole follow-up: refuse one that runs past the data (censored pairs)
    last_ts = events.ts.max().to_pyarrow().as_py()
    if last_ts is not None and d + pd.Timedelta(days=within + 1) > pd.Timestamp(last_ts) + pd.Timedelta(days=1):
        raise ParameterError(
            f"date + within ({(d + pd.Timedelta(days=within)).date()}) runs past the last event "
            f"({pd.Timestamp(last_ts).date()}): pairs could still reach {not_reached} after the data ends; "
            "choose an earlier date or a shorter within")
    later = snapshots(events, pd.date_range(d + pd.Timedelta(days=1), periods=within, freq="D"), rules, tz=tz)
    reached = later.filter(later.level >= STAGE_LEVEL[not_reached]).select("user_id", "brand").distinct()
    return pairs.anti_join(reached, ["user_id", "brand"]).order_by(["user_id", "brand"])
