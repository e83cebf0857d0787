"""The 4A stage rules: which behaviours, how many, within which look-back window.

A :class:`StageRules` object holds one :class:`StageRule` per stage (Aware,
Appeal, Act, Advocate). A rule holds if *any* of its criteria holds within
its window; a consumer-brand pair is in the highest stage whose rule holds
(Advocate > Act > Appeal > Aware), and "unaware" otherwise.

The defaults follow JD's published definitions:

- Aware (30 days): saw the brand's ads (impression, click) or browsed it;
- Appeal (30 days): browsed it on two different days, or searched, followed /
  favourited, added to cart or asked customer service;
- Act (90 days): purchased (or reviewed, or used after-sales service);
- Advocate (180 days): purchased on two different days (a repurchase),
  reviewed positively (rating >= 4) or shared.

Examples
--------
>>> rules = StageRules()
>>> rules.appeal.window
30
>>> StageRules.with_windows(aware=7, appeal=14, act=60, advocate=120).act.window
60
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pandas as pd

from ..errors import ParameterError
from ..schema import AD_EVENT_TYPES, EVENT_TYPES, STAGES

__all__ = ["Criterion", "StageRule", "StageRules", "STAGES", "STAGE_LEVEL"]

STAGE_LEVEL: dict[str, int] = {s: i for i, s in enumerate(STAGES)}


@dataclass(frozen=True)
class Criterion:
    """One way to qualify for a stage: enough events of some types.

    Parameters
    ----------
    event_types : tuple of str
        Canonical event types that count.
    min_count : int
        How many are needed (within the stage's window).
    count : {"days", "events"}
        Count distinct days (robust to duplicated events; "repeated browsing"
        means browsing on two days) or individual events.
    min_value : float, optional
        Only events whose ``value`` is at least this count (a positive review
        is a review with ``value >= 4``).
    """

    event_types: tuple[str, ...]
    min_count: int = 1
    count: Literal["days", "events"] = "days"
    min_value: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "event_types", tuple(self.event_types))
        unknown = [e for e in self.event_types if e not in EVENT_TYPES]
        if unknown or not self.event_types:
            raise ParameterError(f"criterion event types must be among {list(EVENT_TYPES)}; "
                                 f"found {list(self.event_types)}")
        if not isinstance(self.min_count, int) or isinstance(self.min_count, bool) or self.min_count < 1:
            raise ParameterError(f"min_count must be a whole number >= 1; found {self.min_count!r}")
        if self.count not in ("days", "events"):
            raise ParameterError(f"count must be 'days' or 'events'; found {self.count!r}")


@dataclass(frozen=True)
class StageRule:
    """The rule of one stage: any of its criteria within ``window`` days (the snapshot day included)."""

    stage: str
    window: int
    criteria: tuple[Criterion, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "criteria", tuple(self.criteria))
        if self.stage not in STAGES[1:]:
            raise ParameterError(f"stage must be one of {list(STAGES[1:])}; found {self.stage!r}")
        if not isinstance(self.window, int) or isinstance(self.window, bool) or not 1 <= self.window <= 10_000:
            raise ParameterError(f"the {self.stage} window must be a whole number of days in "
                                 f"[1, 10000]; found {self.window!r}")
        if not self.criteria:
            raise ParameterError(f"the {self.stage} rule needs at least one criterion")


def _default(stage: str) -> StageRule:
    if stage == "aware":
        return StageRule("aware", 30, (Criterion((*AD_EVENT_TYPES, "browse")),))
    if stage == "appeal":
        return StageRule("appeal", 30, (Criterion(("browse",), min_count=2),
                                        Criterion(("search", "follow", "cart", "ask"))))
    if stage == "act":
        return StageRule("act", 90, (Criterion(("purchase", "review", "service")),))
    return StageRule("advocate", 180, (Criterion(("purchase",), min_count=2),
                                       Criterion(("review",), min_value=4.0),
                                       Criterion(("share",))))


@dataclass(frozen=True)
class StageRules:
    """The four stage rules (JD's definitions by default); change any with :func:`dataclasses.replace`."""

    aware: StageRule = field(default_factory=lambda: _default("aware"))
    appeal: StageRule = field(default_factory=lambda: _default("appeal"))
    act: StageRule = field(default_factory=lambda: _default("act"))
    advocate: StageRule = field(default_factory=lambda: _default("advocate"))

    def __post_init__(self) -> None:
        for name in STAGES[1:]:
            rule = getattr(self, name)
            if not isinstance(rule, StageRule) or rule.stage != name:
                raise ParameterError(f"StageRules.{name} must be a StageRule for stage {name!r}")

    @property
    def rules(self) -> tuple[StageRule, ...]:
        """The rules from Aware to Advocate."""
        return (self.aware, self.appeal, self.act, self.advocate)

    @property
    def max_window(self) -> int:
        return max(r.window for r in self.rules)

    def describe(self) -> pd.DataFrame:
        """One row per stage: its window and its criteria in words.

        Examples
        --------
        >>> StageRules().describe().to_dict("records")[2]
        {'stage': 'act', 'window_days': 90, 'any_of': 'purchase, review or service on 1 day'}
        """
        def words(c: Criterion) -> str:
            what = " or ".join([", ".join(c.event_types[:-1]), c.event_types[-1]] if len(c.event_types) > 1
                               else list(c.event_types))
            if c.min_value is not None:
                what += f" with value >= {c.min_value:g}"
            unit = "day" if c.count == "days" else "event"
            return f"{what} on {c.min_count} {unit}{'s' if c.min_count > 1 else ''}" if c.count == "days" else \
                f"{what}: {c.min_count} {unit}{'s' if c.min_count > 1 else ''}"
        return pd.DataFrame([{"stage": r.stage, "window_days": r.window,
                              "any_of": "; ".join(words(c) for c in r.criteria)} for r in self.rules])

    def __repr__(self) -> str:
        windows = ", ".join(f"{r.stage}={r.window}d" for r in self.rules)
        default = self == StageRules.with_windows(**{r.stage: r.window for r in self.rules})
        return f"StageRules({windows}{'' if default else '; custom criteria, see describe()'})"

    def _repr_html_(self) -> str:
        return "<b>4A stage rules</b>" + self.describe().to_html(index=False)

    def to_dict(self) -> dict[str, Any]:
        """The rules as plain JSON-able data; :meth:`from_dict` reads it back.

        Examples
        --------
        >>> d = StageRules().to_dict()
        >>> d["act"]["window"], d["act"]["criteria"][0]["event_types"]
        (90, ['purchase', 'review', 'service'])
        >>> StageRules.from_dict(d) == StageRules()
        True
        """
        return {r.stage: {"window": r.window,
                          "criteria": [{"event_types": list(c.event_types), "min_count": c.min_count,
                                        "count": c.count, "min_value": c.min_value} for c in r.criteria]}
                for r in self.rules}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "StageRules":
        """The rules written by :meth:`to_dict`."""
        try:
            return cls(**{stage: StageRule(stage, int(data[stage]["window"]),
                                           tuple(Criterion(tuple(c["event_types"]), int(c["min_count"]),
                                                           c["count"], c["min_value"])
                                                 for c in data[stage]["criteria"]))
                          for stage in STAGES[1:]})
        except (KeyError, TypeError) as exc:
            raise ParameterError(f"not a StageRules dictionary (to_dict's layout): {exc!r}") from None

    @classmethod
    def with_windows(cls, *, aware: int = 30, appeal: int = 30, act: int = 90, advocate: int = 180
                     ) -> "StageRules":
        """The default criteria with other look-back windows."""
        base = cls()
        return cls(replace(base.aware, window=aware), replace(base.appeal, window=appeal),
                   replace(base.act, window=act), replace(base.advocate, window=advocate))
