"""Helpers shared by the readers: file sniffing, column checks and parsing with clear errors.

Every helper raises :class:`~marketing360.errors.SchemaError` naming the
offending column, so that each reader reports a malformed file the same way.
"""

from __future__ import annotations

import gzip
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from ...errors import ParameterError, SchemaError
from ..shared import shared_file

PathLike = Union[str, "os.PathLike[str]"]

#: the key of ``DataFrame.attrs`` naming the time zone of the data's calendar days
TZ_ATTR = "tz"



def _resolve(path: PathLike | None, *parts: str) -> Path:
    """``path`` as a :class:`~pathlib.Path`, or the shared data file ``parts``."""
    return Path(shared_file(*parts)) if path is None else Path(path)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _compression(path: Path) -> str | None:
    return "gzip" if _is_gzip(path) else None


def _first_line(path: Path) -> str:
    opener = gzip.open if _is_gzip(path) else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:
        return fh.readline().rstrip("\r\n")


def _require(df: pd.DataFrame, columns: Sequence[str], *, table: str, source: str) -> None:
    """Raise a SchemaError naming the first of ``columns`` missing from ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{source}: missing column(s) {missing}; found columns {list(df.columns)}",
            table=table, column=missing[0],
        )


def _numeric(s: pd.Series, *, table: str, column: str, source: str) -> pd.Series:
    """``s`` as float64; non-numbers raise a SchemaError naming ``column``."""
    if pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna()
    if bad.any():
        raise SchemaError(
            f"{source}: column {column!r} must be numeric; found e.g. "
            f"{list(pd.unique(s[bad]))[:3]}", table=table, column=column)
    return num.astype("float64")


def _flag(s: pd.Series, *, table: str, column: str, source: str) -> pd.Series:
    """A 0/1 column as bool; anything else raises a SchemaError naming ``column``."""
    num = _numeric(s, table=table, column=column, source=source)
    bad = ~num.isin([0.0, 1.0])
    if bad.any():
        raise SchemaError(
            f"{source}: column {column!r} must be 0 or 1; found e.g. "
            f"{list(pd.unique(s[bad]))[:3]}", table=table, column=column)
    return num == 1.0


def _parse_time(s: pd.Series, fmt: str, *, table: str, column: str, source: str) -> pd.Series:
    """Parse strings with an explicit ``fmt``; failures raise a SchemaError naming ``column``."""
    parsed = pd.to_datetime(s, format=fmt, errors="coerce")
    bad = parsed.isna()
    if bad.any():
        raise SchemaError(
            f"{source}: {int(bad.sum())} value(s) of {column!r} do not match the format "
            f"{fmt!r}, e.g. {list(pd.unique(s[bad].astype(str)))[:3]}",
            table=table, column=column)
    return parsed.astype("datetime64[us]")


def _dates(s: pd.Series, *, column: str, source: str) -> pd.Series:
    """ISO 8601 dates (``YYYY-MM-DD``, a time of day allowed) as midnight timestamps.

    Every value is read with the one ISO format: ``01/02/2021`` is refused
    rather than read as 2 January in one row and, next to ``13/02/2021``, as
    1 February in another. Anything else raises a SchemaError naming ``column``.
    """
    try:
        with warnings.catch_warnings():  # offsets that differ from row to row: refused below
            warnings.simplefilter("ignore", FutureWarning)
            parsed = pd.to_datetime(s, errors="coerce", format="ISO8601")
    except (ValueError, TypeError):
        parsed = pd.Series(pd.NaT, index=s.index)
    if not pd.api.types.is_datetime64_any_dtype(parsed):
        parsed = pd.Series(pd.NaT, index=s.index)
    bad = parsed.isna()
    if bad.any():
        raise SchemaError(
            f"{source}: {int(bad.sum())} value(s) of {column!r} are not ISO dates (YYYY-MM-DD), e.g. "
            f"{list(pd.unique(s[bad].astype(str)))[:3]}", table="outcomes", column=column)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):  # dates with an offset: their own calendar day
        parsed = parsed.dt.tz_localize(None)
    return parsed.dt.normalize().astype("datetime64[us]")


def _check_tz(tz: str, *, parameter: str = "tz") -> str:
    """``tz`` if it is an IANA time-zone name, else a ParameterError naming ``parameter``."""
    if not isinstance(tz, str) or not tz:
        raise ParameterError(f"{parameter} must be an IANA time-zone name such as "
                             f"'Asia/Shanghai'; found {tz!r}")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ParameterError(f"{parameter} must be an IANA time-zone name such as "
                             f"'Asia/Shanghai'; found {tz!r}") from None
    return tz


def _local_to_utc(ts: pd.Series, tz: str, *, table: str, column: str, source: str) -> pd.Series:
    """Naive local wall-clock times in ``tz`` as naive UTC (``datetime64[us]``).

    A wall-clock time that does not exist in ``tz`` (skipped by a daylight-saving
    change) or exists twice raises a SchemaError naming ``column``.
    """
    if tz == "UTC":
        return ts.astype("datetime64[us]")
    try:
        aware = ts.dt.tz_localize(tz, nonexistent="raise", ambiguous="raise")
    except Exception as exc:  # pytz.NonExistentTimeError / AmbiguousTimeError, ValueError
        raise SchemaError(f"{source}: a local time of {column!r} does not exist or is ambiguous "
                          f"in {tz} ({exc})", table=table, column=column) from None
    return aware.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")


def _with_tz(df: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Record the zone of the data's calendar days in ``df.attrs["tz"]`` and return ``df``."""
    df.attrs[TZ_ATTR] = tz
    return df
