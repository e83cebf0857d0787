"""One parser for the days analyses take as arguments (a snapshot date, a window's ends)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .errors import ParameterError

__all__ = ["as_day"]

#: windows reach back up to 10,000 days and one day forward: every bound stays a valid timestamp
_EARLIEST, _LATEST = pd.Timestamp("1700-01-01"), pd.Timestamp("2200-12-31")


def as_day(value: Any, name: str, *, tz: str = "UTC", what: str | None = None, whole: bool = False) -> pd.Timestamp:
    """The calendar day ``value`` names in time zone ``tz``, as a naive midnight, or one :class:`ParameterError`
    naming ``name`` (and the analysis ``what``).

    A date with its own offset is converted to ``tz`` first. ``whole`` refuses a time of day (windows of whole
    days); otherwise the time is dropped.

    Examples
    --------
    >>> as_day("2025-03-01 10:00", "start")
    Timestamp('2025-03-01 00:00:00')
    >>> as_day("2025-03-01 02:00+08:00", "date")  # 18:00 UTC the day before
    Timestamp('2025-02-28 00:00:00')
    """
    label = f"{what}: " if what else ""
    bad = f"{label}{name} must be a date such as '2025-03-31'; found {value!r}"
    if value is None or isinstance(value, bool):
        raise ParameterError(bad)
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ParameterError(f"{bad} ({exc})") from None
    if ts is pd.NaT:
        raise ParameterError(bad)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(tz).tz_localize(None)
    if not _EARLIEST <= ts <= _LATEST:
        raise ParameterError(f"{label}{name} must lie between 1700 and 2200; found {value!r}")
    if whole and ts != ts.normalize():
        raise ParameterError(f"{label}{name} must be a day (windows are whole days, both ends included); found "
                             f"{value!r} with a time of day")
    return ts.normalize()
