"""Readers of public marketing data formats into the canonical tables.

Each reader parses one public file layout and returns a table that has been
through :func:`marketing360.schema.validate`: the ``events``, ``outcomes``,
``users`` or ``paths`` table, or, for marketing-mix data, an :class:`MMMData`
bundle of a ``spend`` table, an ``outcomes`` table and a long frame of
control variables. A file that does not follow its layout raises a
:class:`~marketing360.errors.SchemaError` that names the offending column.

When ``path`` is omitted a reader opens its file in the shared folder of
public data sets (see :func:`marketing360.datasets.shared.shared_file`), and
raises :class:`~marketing360.datasets.shared.SharedDataMissing` when that
file is not on the machine.

========================================  =========  ==========================================
reader                                    table      default file (in the shared data folder)
========================================  =========  ==========================================
:func:`read_tianchi`                      events     ``tianchi_mobile_tiny/sample_user_behavior.csv``
:func:`read_channelattribution_paths`     paths      ``channelattribution_paths/Data.csv``
:func:`read_touch_journeys`               events     ``attribution_data_kaggle_subset/attribution_data.csv``
:func:`read_hillstrom`                    users      ``hillstrom/hillstrom.csv``
:func:`read_geolift`                      outcomes   ``geolift/GeoLift_Test.csv``
:func:`read_robyn`                        MMMData    ``robyn/dt_simulated_weekly.csv``
:func:`read_pymc_mmm`                     MMMData    ``pymc_marketing_mmm/mmm_example.csv``
:func:`read_meridian`                     MMMData    ``meridian/geo_media.csv`` / ``national_media.csv``
:func:`read_cdnow`                        events     ``cdnow/CDNOW_master.txt``
:func:`read_criteo_attribution`           events     ``criteo_attribution/criteo_attribution_dataset.tsv.gz``
:func:`read_rees46`                       events     ``rees46_tiny/2019-Oct-sample.csv``
========================================  =========  ==========================================
"""

from __future__ import annotations

import csv
import gzip
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence, Union

import numpy as np
import pandas as pd

from ..errors import ParameterError, SchemaError
from ..schema import normalize_path, validate
from .shared import shared_file

__all__ = [
    "MMMData",
    "read_tianchi",
    "read_channelattribution_paths",
    "write_channelattribution_paths",
    "read_touch_journeys",
    "read_hillstrom",
    "read_geolift",
    "read_robyn",
    "read_pymc_mmm",
    "read_meridian",
    "read_cdnow",
    "read_criteo_attribution",
    "read_rees46",
]

PathLike = Union[str, "os.PathLike[str]"]

#: Tianchi mobile-recommendation ``behavior_type`` codes.
TIANCHI_BEHAVIOR: dict[int, str] = {1: "browse", 2: "follow", 3: "cart", 4: "purchase"}
#: Taobao UserBehavior ``behavior_type`` names.
USERBEHAVIOR_BEHAVIOR: dict[str, str] = {"pv": "browse", "fav": "follow", "cart": "cart",
                                         "buy": "purchase"}
#: REES46 ``event_type`` names; ``None`` marks rows that are dropped.
REES46_EVENTS: dict[str, str | None] = {"view": "browse", "cart": "cart", "purchase": "purchase",
                                        "remove_from_cart": None}
#: Hillstrom ``segment`` to the arm name.
HILLSTROM_ARMS: dict[str, str] = {"Mens E-Mail": "mens", "Womens E-Mail": "womens",
                                  "No E-Mail": "control"}
#: Columns of the Criteo Attribution Modeling for Bidding data set, in file order.
CRITEO_COLUMNS: tuple[str, ...] = (
    "timestamp", "uid", "campaign", "conversion", "conversion_timestamp", "conversion_id",
    "attribution", "click", "click_pos", "click_nb", "cost", "cpo", "time_since_last_click",
    *(f"cat{i}" for i in range(1, 10)),
)
#: Default origin of the Criteo relative timestamps (the true start date is not published).
CRITEO_START = pd.Timestamp("2017-01-01")


# ------------------------------------------------------------------ helpers


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
    """ISO dates (``YYYY-MM-DD``) as midnight timestamps."""
    parsed = pd.to_datetime(s, errors="coerce", format="mixed")
    bad = parsed.isna()
    if bad.any():
        raise SchemaError(
            f"{source}: {int(bad.sum())} value(s) of {column!r} are not dates, e.g. "
            f"{list(pd.unique(s[bad].astype(str)))[:3]}", table="outcomes", column=column)
    return parsed.dt.normalize().astype("datetime64[us]")


# ------------------------------------------------------------------ Tianchi / Taobao


def read_tianchi(
    path: PathLike | None = None,
    *,
    items_path: PathLike | None = None,
    layout: Literal["tianchi", "userbehavior"] = "tianchi",
    nrows: int | None = None,
) -> pd.DataFrame:
    """Read an Alibaba Tianchi / Taobao behaviour log as an ``events`` table.

    Two layouts are understood:

    ``layout="tianchi"`` (the mobile-recommendation competition, 2014)
        A CSV with a header ``user_id,item_id,behavior_type,user_geohash,
        item_category,time``; ``time`` is at hour resolution
        (``"2014-12-06 02"``, China local time, stored as is) and
        ``behavior_type`` is a code: 1 = click (``browse``), 2 = collect
        (``follow``), 3 = add to cart (``cart``), 4 = purchase.
    ``layout="userbehavior"`` (the Taobao ``UserBehavior.csv``, 2017)
        A CSV without a header, ``user_id,item_id,category_id,behavior_type,
        timestamp``; ``behavior_type`` is ``pv`` / ``fav`` / ``cart`` /
        ``buy`` and ``timestamp`` is unix seconds (UTC). A header row, if
        present, is skipped.

    The item category is the brand unit of these logs (items carry no brand),
    so ``brand`` is the category id as a string.

    Parameters
    ----------
    path : str or path-like, optional
        The log; defaults to the shared ``tianchi_mobile_tiny/
        sample_user_behavior.csv`` (``layout="tianchi"`` only; the
        UserBehavior file is not in the shared folder).
    items_path : str or path-like, optional
        The competition's item file (``item_id,item_geohash,item_category``,
        the item subset P that the competition scores on). When given, a
        bool column ``in_item_subset`` marks events on those items.
    layout : {"tianchi", "userbehavior"}
        Which file layout ``path`` has.
    nrows : int, optional
        Read only the first ``nrows`` rows (the full logs have 10^7 - 10^8).

    Returns
    -------
    pandas.DataFrame
        The canonical ``events`` table (``channel``, ``campaign``, ``value``
        and ``cost`` are null) with extra columns ``item_id`` and, for the
        Tianchi layout, ``user_geohash`` (and ``in_item_subset`` when
        ``items_path`` is given).

    Raises
    ------
    SchemaError
        A missing column, an unknown behaviour code or an unparseable time;
        the message names the column.

    Examples
    --------
    >>> ev = read_tianchi()  # doctest: +SKIP
    >>> ev["event_type"].value_counts()  # doctest: +SKIP
    """
    if layout not in ("tianchi", "userbehavior"):
        raise ParameterError(f"layout must be 'tianchi' or 'userbehavior'; found {layout!r}")
    source = f"{layout} log"
    if layout == "tianchi":
        p = _resolve(path, "tianchi_mobile_tiny", "sample_user_behavior.csv")
        raw = pd.read_csv(p, dtype={"user_geohash": "string", "time": "string"}, nrows=nrows,
                          compression=_compression(p))
        raw.columns = [str(c).strip() for c in raw.columns]
        _require(raw, ["user_id", "item_id", "behavior_type", "item_category", "time"],
                 table="events", source=source)
        codes = _numeric(raw["behavior_type"], table="events", column="behavior_type",
                         source=source)
        known = codes.isin(list(TIANCHI_BEHAVIOR))
        if not known.all():
            raise SchemaError(
                f"{source}: unknown behavior_type code(s) "
                f"{list(pd.unique(raw['behavior_type'][~known]))[:5]}; expected 1 = click, "
                "2 = collect, 3 = cart, 4 = purchase", table="events", column="behavior_type")
        ts = _parse_time(raw["time"].astype(str).str.strip(), "%Y-%m-%d %H", table="events",
                         column="time", source=source)
        df = pd.DataFrame({
            "user_id": raw["user_id"],
            "ts": ts,
            "brand": _category_as_brand(raw["item_category"], source),
            "event_type": codes.astype("int64"),
            "item_id": raw["item_id"],
        })
        if "user_geohash" in raw.columns:
            df["user_geohash"] = raw["user_geohash"].astype(object).where(
                raw["user_geohash"].notna(), None)
        event_map: Mapping[Any, str] = TIANCHI_BEHAVIOR
    else:
        if path is None:
            raise ParameterError("read_tianchi(layout='userbehavior') needs the path of "
                                 "UserBehavior.csv; it is not in the shared data folder")
        p = Path(path)
        names = ["user_id", "item_id", "category_id", "behavior_type", "timestamp"]
        first = _first_line(p).split(",")
        header = 0 if first and first[0].strip().lower() == "user_id" else None
        raw = pd.read_csv(p, header=header, names=None if header == 0 else names,
                          nrows=nrows, compression=_compression(p),
                          dtype={"behavior_type": "string"})
        raw.columns = [str(c).strip() for c in raw.columns]
        if header is None and raw.shape[1] != len(names):
            raise SchemaError(
                f"{source}: expected {len(names)} columns {names}; found {raw.shape[1]}",
                table="events", column=names[min(raw.shape[1], len(names) - 1)])
        _require(raw, names, table="events", source=source)
        beh = raw["behavior_type"].str.strip().str.lower()
        known = beh.isin(list(USERBEHAVIOR_BEHAVIOR))
        if not known.all():
            raise SchemaError(
                f"{source}: unknown behavior_type value(s) "
                f"{list(pd.unique(raw['behavior_type'][~known]))[:5]}; expected pv, fav, cart, buy",
                table="events", column="behavior_type")
        secs = _numeric(raw["timestamp"], table="events", column="timestamp", source=source)
        if secs.isna().any():
            raise SchemaError(f"{source}: {int(secs.isna().sum())} missing timestamp(s)",
                              table="events", column="timestamp")
        df = pd.DataFrame({
            "user_id": raw["user_id"],
            "ts": pd.to_datetime(secs.astype("int64"), unit="s").astype("datetime64[us]"),
            "brand": _category_as_brand(raw["category_id"], source, column="category_id"),
            "event_type": beh.astype(object),
            "item_id": raw["item_id"],
        })
        event_map = USERBEHAVIOR_BEHAVIOR
    if items_path is not None:
        items = pd.read_csv(items_path, usecols=lambda c: str(c).strip() == "item_id")
        _require(items, ["item_id"], table="events", source="tianchi item file")
        df["in_item_subset"] = df["item_id"].isin(items["item_id"])
    return validate(df, "events", event_type_map=event_map)


def _category_as_brand(s: pd.Series, source: str, column: str = "item_category") -> pd.Series:
    if s.isna().any():
        raise SchemaError(f"{source}: {int(s.isna().sum())} missing {column}",
                          table="events", column=column)
    if pd.api.types.is_float_dtype(s) and (s == np.floor(s)).all():
        s = s.astype("int64")
    return s.astype(str).str.strip().astype(object)


# ------------------------------------------------------------------ ChannelAttribution paths

_PATH_COLUMNS: dict[str, tuple[str, ...]] = {
    "path": ("path",),
    "conversions": ("total_conversions", "conversions", "total_conversion", "conversion"),
    "value": ("total_conversion_value", "value", "conversion_value", "total_value"),
    "nulls": ("total_null", "nulls", "total_nulls", "null"),
}


def _sniff_sep(path: Path) -> str:
    line = _first_line(path)
    counts = {c: line.count(c) for c in (";", "\t", ",", "|")}
    best = max(counts, key=lambda c: counts[c])
    if counts[best] == 0:
        try:
            return csv.Sniffer().sniff(line, delimiters=";\t,|").delimiter
        except csv.Error:
            raise SchemaError(
                f"channelattribution paths: cannot tell the separator of {path} from its header "
                f"{line[:80]!r}; pass sep=", table="paths", column="path") from None
    return best


def read_channelattribution_paths(path: PathLike | None = None, *,
                                  sep: str | None = None, path_sep: str = ">") -> pd.DataFrame:
    """Read a path table in the ChannelAttribution layout as a ``paths`` table.

    ChannelAttribution (R / Python) stores aggregated customer journeys as a
    delimited file with a header ``path;total_conversions;
    total_conversion_value;total_null``: one row per channel path written
    ``"alpha > beta > alpha"``, the number of journeys along that path that
    converted, their conversion value and the number that did not convert.
    The package's example ``Data.csv`` is ``';'``-separated; copies elsewhere
    use ``','`` or tabs, hence the separator is sniffed from the header.

    Path separators are normalised to exactly ``" > "`` (``"a>b"`` and
    ``"a -> b"`` become ``"a > b"``) with channel names stripped. Rows with
    the same path after normalisation are **summed** into one (the canonical
    table is keyed by path): ChannelAttribution's own ``Data.csv`` repeats
    paths (10,000 rows, 5,408 distinct paths), and its models treat repeated
    rows as additive. Rows keep the order of each path's first appearance.

    Parameters
    ----------
    path : str or path-like, optional
        The file; defaults to the shared ``channelattribution_paths/Data.csv``.
    sep : str, optional
        Field separator; sniffed from the header (``;``, tab, ``,`` or ``|``)
        when omitted.
    path_sep : str
        Separator between the channels of a path (ChannelAttribution's ``sep``);
        see :func:`~marketing360.schema.normalize_path`.

    Returns
    -------
    pandas.DataFrame
        The canonical ``paths`` table: ``path``, ``conversions``, ``value``,
        ``nulls`` (``value`` / ``nulls`` are null when the file lacks them).

    Raises
    ------
    SchemaError
        A missing ``path`` or conversions column, non-numeric counts, a
        negative count or an empty channel name; the message names the column.

    See Also
    --------
    write_channelattribution_paths : the inverse.
    """
    p = _resolve(path, "channelattribution_paths", "Data.csv")
    sep = sep or _sniff_sep(p)
    raw = pd.read_csv(p, sep=sep, dtype={0: "string"}, compression=_compression(p),
                      keep_default_na=False, na_values=[""])
    raw.columns = [str(c).strip() for c in raw.columns]
    lower = {c.lower(): c for c in raw.columns}
    found: dict[str, str] = {}
    for canon, names in _PATH_COLUMNS.items():
        for n in names:
            if n in lower:
                found[canon] = lower[n]
                break
    source = "channelattribution paths"
    if "path" not in found:
        raise SchemaError(f"{source}: missing column 'path'; found columns {list(raw.columns)}",
                          table="paths", column="path")
    if "conversions" not in found:
        raise SchemaError(
            f"{source}: missing column 'total_conversions'; found columns {list(raw.columns)}",
            table="paths", column="total_conversions")
    df = pd.DataFrame({"path": normalize_path(raw[found["path"]].astype(object), path_sep=path_sep)})
    for canon in ("conversions", "value", "nulls"):
        if canon in found:
            col = found[canon]
            v = _numeric(raw[col], table="paths", column=col, source=source)
            if (v < 0).any() or (canon == "conversions" and v.isna().any()):
                raise SchemaError(f"{source}: column {col!r} has negative or missing values",
                                  table="paths", column=col)
            df[canon] = v
        else:
            df[canon] = np.nan
    # a path's value / nulls stay missing only when every row of it lacks them (min_count=1)
    agg = df.groupby("path", sort=False)[["conversions", "value", "nulls"]].sum(min_count=1).reset_index()
    agg["conversions"] = agg["conversions"].fillna(0.0)
    return validate(agg, "paths")


def write_channelattribution_paths(paths_df: Any, path: PathLike, *, sep: str = ";") -> Path:
    """Write a ``paths`` table in ChannelAttribution's ``Data.csv`` layout.

    The header is ``path;total_conversions;total_conversion_value;total_null``
    (``';'``-separated by default). Whole-number counts are written without
    a decimal point, values at full precision, missing values as empty fields.

    Parameters
    ----------
    paths_df : DataFrame
        A ``paths`` table (validated first).
    path : str or path-like
        Where to write; a ``.gz`` suffix writes gzip.
    sep : str
        Field separator.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    df = validate(paths_df, "paths")
    out = pd.DataFrame({
        "path": df["path"],
        "total_conversions": _maybe_int(df["conversions"]),
        "total_conversion_value": df["value"],
        "total_null": _maybe_int(df["nulls"]),
    })
    dest = Path(path)
    out.to_csv(dest, sep=sep, index=False, na_rep="")
    return dest


def _maybe_int(s: pd.Series) -> pd.Series:
    v = s.dropna()
    if (v == np.floor(v)).all():
        return s.astype("Int64")
    return s


# ------------------------------------------------------------------ touch-level journeys

_TOUCH_INTERACTIONS: dict[str, str] = {"impression": "impression", "click": "click",
                                       "conversion": "purchase"}


def read_touch_journeys(path: PathLike | None = None) -> pd.DataFrame:
    """Read a touch-level journey log (the Kaggle "attribution data") as ``events``.

    The layout is a CSV with a header ``customer_id,time,interaction,
    conversion,conversion_value,channel``, one row per interaction: ``time``
    is ISO 8601 UTC (``2018-07-22T20:40:41Z``), ``interaction`` is
    ``impression`` or ``conversion``. A conversion is its **own row**
    (``interaction == "conversion"``, ``conversion == 1``, with its
    ``conversion_value`` and a ``channel``); impression rows carry
    ``conversion == 0`` and ``conversion_value == 0``. Rows are not sorted by
    time within a customer.

    Each impression row becomes an ``impression`` event; each conversion row
    a ``purchase`` event with ``value = conversion_value``. The channel of a
    conversion row is kept as the file gives it (in the shared subset it is
    the previous touch's channel only about 1 time in 5, so it is not a
    last-touch label). Should a file flag ``conversion == 1`` on an
    impression row instead, that row yields both the impression and a
    purchase at the same time. ``click`` rows, if any, become ``click``
    events.

    Parameters
    ----------
    path : str or path-like, optional
        The file; defaults to the shared
        ``attribution_data_kaggle_subset/attribution_data.csv``.

    Returns
    -------
    pandas.DataFrame
        The canonical ``events`` table in file order (a purchase made from an
        impression row follows it), ``value`` set on purchases only.

    Raises
    ------
    SchemaError
        A missing column, an unknown ``interaction``, a conversion row with
        ``conversion == 0``, a bad timestamp; the message names the column.
    """
    p = _resolve(path, "attribution_data_kaggle_subset", "attribution_data.csv")
    source = "touch journeys"
    raw = pd.read_csv(p, dtype={"customer_id": "string", "time": "string",
                                "interaction": "string", "channel": "string"},
                      compression=_compression(p))
    raw.columns = [str(c).strip() for c in raw.columns]
    _require(raw, ["customer_id", "time", "interaction", "conversion", "conversion_value",
                   "channel"], table="events", source=source)
    inter = raw["interaction"].str.strip().str.lower()
    known = inter.isin(list(_TOUCH_INTERACTIONS))
    if not known.all():
        raise SchemaError(
            f"{source}: unknown interaction(s) {list(pd.unique(raw['interaction'][~known]))[:5]};"
            f" expected {list(_TOUCH_INTERACTIONS)}", table="events", column="interaction")
    conv = _flag(raw["conversion"], table="events", column="conversion", source=source)
    bad = (inter == "conversion") & ~conv
    if bad.any():
        raise SchemaError(f"{source}: {int(bad.sum())} conversion row(s) have conversion == 0",
                          table="events", column="conversion")
    cvalue = _numeric(raw["conversion_value"], table="events", column="conversion_value",
                      source=source)
    ts = pd.to_datetime(raw["time"], errors="coerce", utc=True, format="ISO8601")
    if ts.isna().any():
        bad_t = ts.isna()
        raise SchemaError(
            f"{source}: {int(bad_t.sum())} time value(s) are not ISO timestamps, e.g. "
            f"{list(pd.unique(raw['time'][bad_t].astype(str)))[:3]}", table="events",
            column="time")
    base = pd.DataFrame({
        "user_id": raw["customer_id"].astype(object),
        "ts": ts.dt.tz_localize(None),
        "channel": raw["channel"].astype(object).where(raw["channel"].notna(), None),
    })
    touch = inter != "conversion"
    touches = base[touch].assign(event_type=inter[touch].map(_TOUCH_INTERACTIONS),
                                 value=np.nan, _row=np.flatnonzero(touch), _k=0)
    purchases = base[conv].assign(event_type="purchase", value=cvalue[conv],
                                  _row=np.flatnonzero(conv), _k=1)
    df = pd.concat([touches, purchases], ignore_index=True)
    df = df.sort_values(["_row", "_k"], kind="stable").drop(columns=["_row", "_k"])
    return validate(df[["user_id", "ts", "event_type", "channel", "value"]], "events")


# ------------------------------------------------------------------ Hillstrom


def read_hillstrom(path: PathLike | None = None) -> pd.DataFrame:
    """Read the Hillstrom MineThatData e-mail experiment as a ``users`` table.

    Kevin Hillstrom's 2008 challenge file is a CSV of 64,000 customers
    randomised into three arms (a men's merchandise e-mail, a women's one, no
    e-mail) with columns ``recency, history_segment, history, mens, womens,
    zip_code, newbie, channel, segment, visit, conversion, spend``; the
    outcomes are measured over the two weeks after the campaign. (The file
    spells one ``zip_code`` level ``"Surburban"``; it is kept as is.)

    Parameters
    ----------
    path : str or path-like, optional
        The file; defaults to the shared ``hillstrom/hillstrom.csv``.

    Returns
    -------
    pandas.DataFrame
        The canonical ``users`` table, one row per customer in file order:
        ``user_id`` (the row number, 0 to n - 1), the pre-campaign attributes
        ``recency, history_segment, history, mens, womens, zip_code, newbie,
        channel`` as in the file, then ``arm`` (``"mens"``, ``"womens"`` or
        ``"control"``, from ``segment``), ``treated`` (bool: any e-mail), and
        the outcomes ``visit`` and ``conversion`` (int 0/1) and ``spend``
        (float).

    Raises
    ------
    SchemaError
        A missing column or an unknown ``segment``; the message names it.
    """
    p = _resolve(path, "hillstrom", "hillstrom.csv")
    source = "hillstrom"
    raw = pd.read_csv(p, compression=_compression(p))
    raw.columns = [str(c).strip() for c in raw.columns]
    _require(raw, ["segment", "visit", "conversion", "spend"], table="users", source=source)
    seg = raw["segment"].astype("string").str.strip()
    arm = seg.map(HILLSTROM_ARMS)
    if arm.isna().any():
        raise SchemaError(
            f"{source}: unknown segment(s) {list(pd.unique(raw['segment'][arm.isna()]))[:5]}; "
            f"expected {list(HILLSTROM_ARMS)}", table="users", column="segment")
    attrs = [c for c in raw.columns if c not in ("segment", "visit", "conversion", "spend")]
    df = pd.DataFrame({"user_id": np.arange(len(raw), dtype="int64")})
    for c in attrs:
        df[c] = raw[c].to_numpy()
    df["arm"] = arm.astype(object).to_numpy()
    df["treated"] = (arm != "control").to_numpy(dtype=bool)
    for c in ("visit", "conversion"):
        df[c] = _flag(raw[c], table="users", column=c, source=source).astype("int64").to_numpy()
    spend = _numeric(raw["spend"], table="users", column="spend", source=source)
    if (spend < 0).any():
        raise SchemaError(f"{source}: negative spend", table="users", column="spend")
    df["spend"] = spend.to_numpy()
    return validate(df, "users")


# ------------------------------------------------------------------ GeoLift


def read_geolift(path: PathLike | None = None) -> pd.DataFrame:
    """Read a GeoLift panel (Meta's geo-experiment example data) as ``outcomes``.

    GeoLift's examples are long CSVs ``location,Y,date``: one row per
    location and day, ``Y`` the daily conversions, ``date`` ISO
    (``2021-01-01``). ``GeoLift_Test.csv`` has 40 US cities over 105 days
    (the test runs on days 91 to 105 in two cities).

    Parameters
    ----------
    path : str or path-like, optional
        The file; defaults to the shared ``geolift/GeoLift_Test.csv``
        (``GeoLift_PreTest.csv`` and ``GeoLift_Test_MultiCell.csv`` have the
        same layout).

    Returns
    -------
    pandas.DataFrame
        The canonical ``outcomes`` table in file order: ``date``, ``geo`` (the
        location), ``conversions`` (``Y``); ``revenue`` is null.

    Raises
    ------
    SchemaError
        A missing column, a bad date, a negative ``Y`` or a repeated
        (location, date); the message names the column.
    """
    p = _resolve(path, "geolift", "GeoLift_Test.csv")
    source = "geolift"
    raw = pd.read_csv(p, dtype={"location": "string", "date": "string"},
                      compression=_compression(p))
    raw.columns = [str(c).strip() for c in raw.columns]
    _require(raw, ["location", "Y", "date"], table="outcomes", source=source)
    df = pd.DataFrame({
        "date": _dates(raw["date"], column="date", source=source),
        "geo": raw["location"].astype(object),
        "conversions": _numeric(raw["Y"], table="outcomes", column="Y", source=source),
    })
    return validate(df, "outcomes")


# ------------------------------------------------------------------ MMM frames


@dataclass(frozen=True)
class MMMData:
    """Marketing-mix data: spend, outcomes and controls, all long.

    Every frame is sorted by geo (in the order geos first appear in the
    file), then date. ``geo`` is ``"national"`` for national data.

    Attributes
    ----------
    spend : pandas.DataFrame
        The canonical ``spend`` table (``date, geo, channel, spend,
        impressions``), sorted by geo, date and channel (in the file's
        channel order).
    outcomes : pandas.DataFrame
        The canonical ``outcomes`` table (``date, geo, conversions,
        revenue``), sorted by geo and date.
    controls : pandas.DataFrame
        Control variables as a long frame ``date, geo, name, value`` (value
        float64), sorted by geo, date and name (in the file's order).
    meta : dict
        ``source``, ``path``, ``level`` (``"national"`` / ``"geo"``), ``geos``,
        ``channels``, ``controls``, ``exposure`` (channel -> the column its
        ``impressions`` come from) and ``notes``.
    """

    spend: pd.DataFrame
    outcomes: pd.DataFrame
    controls: pd.DataFrame
    meta: dict = field(default_factory=dict)

    @property
    def channels(self) -> list[str]:
        """The media channels, in the file's order."""
        return list(self.meta.get("channels", pd.unique(self.spend["channel"])))

    def spend_wide(self, value: str = "spend") -> pd.DataFrame:
        """``spend`` (or ``impressions``) as a date x channel frame (geos summed)."""
        wide = self.spend.pivot_table(index="date", columns="channel", values=value,
                                      aggfunc="sum", sort=False)
        return wide[[c for c in self.channels if c in wide.columns]]

    def controls_wide(self) -> pd.DataFrame:
        """Controls as a (date, geo) x name frame."""
        return self.controls.pivot_table(index=["date", "geo"], columns="name", values="value",
                                         sort=False)


def _long(
    frame: pd.DataFrame, columns: Mapping[str, str], *, value_name: str, key_name: str,
) -> pd.DataFrame:
    """Melt ``frame[[date, geo, *columns]]`` to date, geo, key, value (renamed by ``columns``)."""
    if not columns:
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[us]"),
                             "geo": pd.Series(dtype=object), key_name: pd.Series(dtype=object),
                             value_name: pd.Series(dtype="float64")})
    sub = frame[["date", "geo", *columns]].rename(columns=dict(columns))
    out = sub.melt(id_vars=["date", "geo"], var_name=key_name, value_name=value_name)
    order = {name: i for i, name in enumerate(columns.values())}
    out["_o"] = out[key_name].map(order)
    out["_g"] = _geo_rank(out["geo"], frame["geo"])
    out = out.sort_values(["_g", "date", "_o"], kind="stable").drop(columns=["_o", "_g"])
    return out.reset_index(drop=True)


def _geo_rank(geo: pd.Series, reference: pd.Series) -> np.ndarray:
    """Position of each geo in the order of first appearance in ``reference``."""
    return pd.Index(pd.unique(reference)).get_indexer(geo)


def _mmm(
    frame: pd.DataFrame,
    *,
    source: str,
    path: Path,
    spend_cols: Mapping[str, str],
    exposure_cols: Mapping[str, str],
    control_cols: Mapping[str, str],
    conversions: pd.Series | None,
    revenue: pd.Series | None,
    notes: str,
    extra_controls: pd.DataFrame | None = None,
) -> MMMData:
    """Build and validate an :class:`MMMData` from a wide frame with ``date`` and ``geo``."""
    for col in [*spend_cols, *exposure_cols, *control_cols]:
        frame[col] = _numeric(frame[col], table="spend", column=col, source=source)
    spend = _long(frame, spend_cols, value_name="spend", key_name="channel")
    if exposure_cols:
        imp = _long(frame, {c: spend_cols_name for c, spend_cols_name in exposure_cols.items()},
                    value_name="impressions", key_name="channel")
        spend = spend.merge(imp, on=["date", "geo", "channel"], how="left", sort=False)
    else:
        spend["impressions"] = np.nan
    try:
        spend = validate(spend, "spend")
    except SchemaError as exc:  # name the file's column, not the long one
        raise _renamed(exc, spend_cols, exposure_cols, source) from None
    out = pd.DataFrame({"date": frame["date"], "geo": frame["geo"]})
    out["conversions"] = np.nan if conversions is None else conversions.to_numpy()
    out["revenue"] = np.nan if revenue is None else revenue.to_numpy()
    out["_g"] = _geo_rank(out["geo"], frame["geo"])
    outcomes = validate(out.sort_values(["_g", "date"], kind="stable").drop(columns="_g"),
                        "outcomes")
    controls = _long(frame, control_cols, value_name="value", key_name="name")
    if extra_controls is not None and len(extra_controls):
        names = list(control_cols.values()) + list(pd.unique(extra_controls["name"]))
        controls = pd.concat([controls, extra_controls], ignore_index=True)
        controls["_o"] = controls["name"].map({n: i for i, n in enumerate(names)})
        controls["_g"] = _geo_rank(controls["geo"], frame["geo"])
        controls = controls.sort_values(["_g", "date", "_o"], kind="stable").drop(
            columns=["_o", "_g"])
    controls = controls.reset_index(drop=True)
    controls["date"] = controls["date"].astype("datetime64[us]")
    controls["geo"] = controls["geo"].astype(object)
    controls["name"] = controls["name"].astype(object)
    controls["value"] = controls["value"].astype("float64")
    geos = pd.unique(frame["geo"])
    meta = {
        "source": source,
        "path": str(path),
        "level": "national" if list(geos) == ["national"] else "geo",
        "geos": list(geos),
        "channels": list(spend_cols.values()),
        "controls": list(pd.unique(controls["name"])),
        "exposure": {v: k for k, v in exposure_cols.items()},
        "notes": notes,
    }
    return MMMData(spend=spend, outcomes=outcomes, controls=controls, meta=meta)


def _renamed(exc: SchemaError, spend_cols: Mapping[str, str], exposure_cols: Mapping[str, str],
             source: str) -> SchemaError:
    col = exc.column
    if col == "spend" and spend_cols:
        return SchemaError(f"{source}: {exc} (spend columns {list(spend_cols)})",
                           table="spend", column=col)
    if col == "impressions" and exposure_cols:
        return SchemaError(f"{source}: {exc} (exposure columns {list(exposure_cols)})",
                           table="spend", column=col)
    return SchemaError(f"{source}: {exc}", table="spend", column=col)


def read_robyn(path: PathLike | None = None) -> MMMData:
    """Read Meta Robyn's ``dt_simulated_weekly`` MMM demo data.

    A weekly national CSV ``DATE, revenue, <channel>_S ..., <channel>_I /
    <channel>_..._P ..., competitor_sales_B, events, newsletter``. By Robyn's
    naming, ``_S`` columns are media spend (``tv_S, ooh_S, print_S,
    search_S, facebook_S``), ``_I`` impressions and ``_P`` other paid-media
    exposure (``search_clicks_P``: clicks), ``_B`` a baseline (context)
    variable; ``newsletter`` is an organic variable and ``events`` a
    categorical context variable (``"na"`` except two weeks ``event1`` and
    ``event2``).

    Channels are named by the spend columns without ``_S``. An exposure
    column ``<x>_I`` / ``<x>_P`` goes to the ``impressions`` of the channel
    whose name starts ``<x>`` (``facebook_I`` -> facebook, ``search_clicks_P``
    -> search, so search's "impressions" are clicks); other channels have
    null impressions. ``revenue`` is the outcome (``conversions`` null).
    Controls are every other numeric column under its own name
    (``competitor_sales_B``, ``newsletter``), plus ``events`` one-hot
    encoded: one control ``events_<level>`` per level other than ``"na"``,
    1.0 in the weeks of that level and 0.0 in every other week.

    Parameters
    ----------
    path : str or path-like, optional
        The file; defaults to the shared ``robyn/dt_simulated_weekly.csv``.

    Returns
    -------
    MMMData
        ``geo = "national"`` throughout.

    Raises
    ------
    SchemaError
        A missing ``DATE`` / ``revenue``, no ``_S`` column, non-numeric or
        negative spend; the message names the column.
    """
    p = _resolve(path, "robyn", "dt_simulated_weekly.csv")
    source = "robyn"
    raw = pd.read_csv(p, compression=_compression(p), keep_default_na=False,
                      na_values=["", "NA", "NaN", "nan"])
    raw.columns = [str(c).strip() for c in raw.columns]
    date_col = next((c for c in raw.columns if c.lower() in ("date", "ds")), None)
    if date_col is None:
        raise SchemaError(f"{source}: missing column 'DATE'; found {list(raw.columns)}",
                          table="spend", column="DATE")
    _require(raw, ["revenue"], table="outcomes", source=source)
    spend_cols = {c: c[:-2] for c in raw.columns if c.endswith("_S")}
    if not spend_cols:
        raise SchemaError(f"{source}: no spend column (name ending in _S); found "
                          f"{list(raw.columns)}", table="spend", column="spend")
    exposure_cols: dict[str, str] = {}
    for c in raw.columns:
        if c.endswith(("_I", "_P")):
            stem = c[:-2]
            match = [ch for ch in spend_cols.values() if stem == ch or stem.startswith(ch + "_")]
            if match:
                exposure_cols[c] = max(match, key=len)
    frame = raw.copy()
    frame["date"] = _dates(raw[date_col], column=date_col, source=source)
    frame["geo"] = "national"
    used = {date_col, "revenue", "events", *spend_cols, *exposure_cols}
    control_cols = {c: c for c in raw.columns if c not in used}
    extra = None
    notes = ("Robyn simulated weekly demo data; impressions of search are clicks "
             "(search_clicks_P); controls include the one-hot 'events' levels.")
    if "events" in raw.columns:
        ev = raw["events"].astype("string").fillna("na").str.strip()
        levels = [lv for lv in pd.unique(ev) if lv.lower() not in ("na", "")]
        parts = [pd.DataFrame({"date": frame["date"], "geo": "national",
                               "name": f"events_{lv}", "value": (ev == lv).astype("float64")})
                 for lv in levels]
        extra = pd.concat(parts, ignore_index=True) if parts else None
    return _mmm(frame, source=source, path=p, spend_cols=spend_cols,
                exposure_cols=exposure_cols, control_cols=control_cols, conversions=None,
                revenue=_numeric(raw["revenue"], table="outcomes", column="revenue",
                                 source=source),
                notes=notes, extra_controls=extra)


def read_pymc_mmm(path: PathLike | None = None) -> MMMData:
    """Read PyMC-Marketing's ``mmm_example.csv`` (simulated weekly MMM data).

    A weekly national CSV ``date_week, y, x1, x2, event_1, event_2,
    dayofyear, t``: ``y`` is a generic sales outcome, ``x1`` and ``x2`` are
    two media channels (spend-like, scaled to 0..1), ``event_1`` /
    ``event_2`` are event dummies, ``dayofyear`` and ``t`` (a trend index)
    are controls.

    ``y`` is put in ``outcomes.revenue`` (``conversions`` null): it is a
    money-like sales figure, not a count. ``x1`` and ``x2`` become the spend
    of channels ``"x1"`` and ``"x2"`` (impressions null); every other numeric
    column is a control under its own name.

    Parameters
    ----------
    path : str or path-like, optional
        The file; defaults to the shared ``pymc_marketing_mmm/mmm_example.csv``.

    Returns
    -------
    MMMData
        ``geo = "national"`` throughout.

    Raises
    ------
    SchemaError
        A missing column, bad dates, non-numeric or negative spend; the
        message names the column.
    """
    p = _resolve(path, "pymc_marketing_mmm", "mmm_example.csv")
    source = "pymc-marketing mmm"
    raw = pd.read_csv(p, compression=_compression(p))
    raw.columns = [str(c).strip() for c in raw.columns]
    _require(raw, ["date_week", "y"], table="outcomes", source=source)
    media = [c for c in raw.columns if re.fullmatch(r"x\d+", c)]
    if not media:
        raise SchemaError(f"{source}: no media column (x1, x2, ...); found {list(raw.columns)}",
                          table="spend", column="x1")
    frame = raw.copy()
    frame["date"] = _dates(raw["date_week"], column="date_week", source=source)
    frame["geo"] = "national"
    control_cols = {c: c for c in raw.columns if c not in ("date_week", "y", *media)}
    return _mmm(frame, source="pymc_marketing", path=p, spend_cols={c: c for c in media},
                exposure_cols={}, control_cols=control_cols, conversions=None,
                revenue=_numeric(raw["y"], table="outcomes", column="y", source=source),
                notes="PyMC-Marketing simulated example; y (generic sales) is stored as "
                      "revenue; x1, x2 are spend-like media variables scaled to 0..1.")


def read_meridian(
    path: PathLike | None = None, *, level: Literal["geo", "national"] = "geo",
) -> MMMData:
    """Read Google Meridian's simulated MMM data (geo or national level).

    Meridian's example CSVs have one row per (geo,) week: ``geo`` (geo level
    only), ``time`` (week start, ISO), ``<Channel>_impression`` and
    ``<Channel>_spend`` per paid channel, ``*_control`` control variables,
    ``conversions``, ``revenue_per_conversion`` and, at geo level,
    ``population``. An unnamed leading index column, if any, is dropped.

    ``outcomes.conversions`` is ``conversions`` and ``outcomes.revenue`` is
    ``conversions * revenue_per_conversion`` (or a ``revenue`` column when
    the file has one). Channels are the ``_spend`` columns without the
    suffix, their impressions the matching ``_impression`` column. Controls
    are every other numeric column under its own name (the ``*_control``
    columns, ``population``, and impressions of channels without spend,
    such as organic media).

    Parameters
    ----------
    path : str or path-like, optional
        The file; defaults to the shared ``meridian/geo_media.csv``
        (``level="geo"``) or ``meridian/national_media.csv``
        (``level="national"``).
    level : {"geo", "national"}
        ``"geo"`` needs a ``geo`` column; ``"national"`` sets ``geo =
        "national"`` (and rejects a file with a ``geo`` column).

    Returns
    -------
    MMMData

    Raises
    ------
    SchemaError
        A missing ``time`` / ``conversions`` / ``geo`` column, no ``_spend``
        column, negative spend or a repeated (geo, week); the message names
        the column.
    """
    if level not in ("geo", "national"):
        raise ParameterError(f"level must be 'geo' or 'national'; found {level!r}")
    default = "geo_media.csv" if level == "geo" else "national_media.csv"
    p = _resolve(path, "meridian", default)
    source = f"meridian ({level})"
    raw = pd.read_csv(p, compression=_compression(p))
    raw = raw.loc[:, [not str(c).startswith("Unnamed") for c in raw.columns]]
    raw.columns = [str(c).strip() for c in raw.columns]
    _require(raw, ["time", "conversions"], table="outcomes", source=source)
    frame = raw.copy()
    frame["date"] = _dates(raw["time"], column="time", source=source)
    if level == "geo":
        _require(raw, ["geo"], table="outcomes", source=source)
        frame["geo"] = raw["geo"].astype(str).astype(object)
    else:
        if "geo" in raw.columns:
            raise SchemaError(f"{source}: the file has a 'geo' column; read it with "
                              "level='geo'", table="outcomes", column="geo")
        frame["geo"] = "national"
    spend_cols = {c: c[: -len("_spend")] for c in raw.columns if c.endswith("_spend")}
    if not spend_cols:
        raise SchemaError(f"{source}: no spend column (name ending in _spend); found "
                          f"{list(raw.columns)}", table="spend", column="spend")
    exposure_cols = {f"{ch}_impression": ch for ch in spend_cols.values()
                     if f"{ch}_impression" in raw.columns}
    conversions = _numeric(raw["conversions"], table="outcomes", column="conversions",
                           source=source)
    if "revenue" in raw.columns:
        revenue = _numeric(raw["revenue"], table="outcomes", column="revenue", source=source)
    elif "revenue_per_conversion" in raw.columns:
        revenue = conversions * _numeric(raw["revenue_per_conversion"], table="outcomes",
                                         column="revenue_per_conversion", source=source)
    else:
        revenue = None
    used = {"geo", "time", "conversions", "revenue", "revenue_per_conversion", *spend_cols,
            *exposure_cols}
    control_cols = {c: c for c in raw.columns
                    if c not in used and pd.api.types.is_numeric_dtype(raw[c])}
    return _mmm(frame, source="meridian", path=p, spend_cols=spend_cols,
                exposure_cols=exposure_cols, control_cols=control_cols,
                conversions=conversions, revenue=revenue,
                notes="Google Meridian simulated data; revenue = conversions * "
                      "revenue_per_conversion.")


# ------------------------------------------------------------------ CDNOW


def read_cdnow(path: PathLike | None = None) -> pd.DataFrame:
    """Read the CDNOW purchase log (Fader & Hardie) as ``events``.

    ``CDNOW_master.txt`` is whitespace-separated, one row per transaction:
    ``customer_id`` (zero-padded, ``00001``), ``date`` (``yyyymmdd``),
    ``number_of_cds`` and ``dollar_value``; the copy shipped with the
    ``lifetimes`` package has a header line ``customer_id date number_of_cds
    dollar_value``, the original has none (both are read). It holds every
    purchase of a cohort of 23,570 first-time buyers of January-March 1997
    over 1997-01-01..1998-06-30; there are no views or ad touches.

    Parameters
    ----------
    path : str or path-like, optional
        The file; defaults to the shared ``cdnow/CDNOW_master.txt``.

    Returns
    -------
    pandas.DataFrame
        The canonical ``events`` table, one ``purchase`` per row in file
        order: ``user_id`` (int), ``ts`` (the day, midnight), ``value``
        (``dollar_value``), and an extra int column ``quantity``
        (``number_of_cds``).

    Raises
    ------
    SchemaError
        A missing column, a bad date, a negative amount; the message names
        the column.
    """
    p = _resolve(path, "cdnow", "CDNOW_master.txt")
    source = "cdnow"
    names = ["customer_id", "date", "number_of_cds", "dollar_value"]
    first = _first_line(p).split()
    header = 0 if first and not first[0].isdigit() else None
    raw = pd.read_csv(p, sep=r"\s+", header=header, names=None if header == 0 else names,
                      dtype={"customer_id": "string", "date": "string"},
                      compression=_compression(p))
    raw.columns = [str(c).strip() for c in raw.columns]
    _require(raw, names, table="events", source=source)
    uid = _numeric(raw["customer_id"], table="events", column="customer_id", source=source)
    if uid.isna().any():
        raise SchemaError(f"{source}: missing customer_id", table="events", column="customer_id")
    qty = _numeric(raw["number_of_cds"], table="events", column="number_of_cds", source=source)
    df = pd.DataFrame({
        "user_id": uid.astype("int64"),
        "ts": _parse_time(raw["date"].str.strip(), "%Y%m%d", table="events", column="date",
                          source=source),
        "event_type": "purchase",
        "value": _numeric(raw["dollar_value"], table="events", column="dollar_value",
                          source=source),
        "quantity": qty.astype("Int64") if qty.isna().any() else qty.astype("int64"),
    })
    return validate(df, "events")


# ------------------------------------------------------------------ Criteo attribution


def read_criteo_attribution(
    path: PathLike | None = None,
    *,
    start: pd.Timestamp | str = CRITEO_START,
    nrows: int | None = None,
) -> pd.DataFrame:
    """Read the Criteo Attribution Modeling for Bidding data set as ``events``.

    ``criteo_attribution_dataset.tsv.gz`` (Criteo AI Lab, 2017; 30 days of
    display traffic, 16.5 M impressions) is tab-separated, usually gzipped,
    with a header row and one row per impression: ``timestamp, uid,
    campaign, conversion, conversion_timestamp, conversion_id, attribution,
    click, click_pos, click_nb, cost, cpo, time_since_last_click,
    cat1..cat9``. ``timestamp`` and ``conversion_timestamp`` are integer
    seconds from the start of the data set (``conversion_timestamp`` and
    ``conversion_id`` are -1 when the impression led to no conversion within
    30 days); ``cost`` is a transformed price of the display and ``cpo`` a
    transformed cost per order.

    Events made (``channel = "criteo"``, ``campaign`` the campaign id as a
    string):

    * every row -> one ``impression`` at ``start + timestamp`` with
      ``cost = cost``, carrying the extra columns ``conversion_id``
      (nullable int, null for -1), ``attribution``, ``click_pos``,
      ``click_nb``, ``cpo``, ``time_since_last_click`` and ``cat1..cat9``
      (integers as nullable ``Int64``; null on the other event types, except
      ``conversion_id``, which purchases carry too);
    * ``click == 1`` -> also one ``click`` at the same time (cost null, so
      that cost is counted once);
    * ``conversion == 1`` -> one ``purchase`` per distinct ``conversion_id``
      at ``start + conversion_timestamp``, deduplicated across the
      impressions that share it (user and campaign of the first of them;
      ``value`` null: the data set has no order value).

    The result is sorted by time, then impression < click < purchase, then
    file order.

    Parameters
    ----------
    path : str or path-like, optional
        The file (gzipped or not); defaults to
        ``criteo_attribution/criteo_attribution_dataset.tsv.gz`` in the shared
        data folder, which is not there at present.
    start : Timestamp or str
        The time of second 0. Criteo does not publish the real start date;
        the default, 2017-01-01 00:00 UTC, is an arbitrary origin.
    nrows : int, optional
        Read only the first ``nrows`` impressions.

    Returns
    -------
    pandas.DataFrame
        The canonical ``events`` table.

    Raises
    ------
    SchemaError
        A missing column, a conversion without ``conversion_id`` or
        ``conversion_timestamp``, a negative ``cost``; the message names the
        column.
    """
    p = _resolve(path, "criteo_attribution", "criteo_attribution_dataset.tsv.gz")
    source = "criteo attribution"
    origin = pd.Timestamp(start)
    if origin.tzinfo is not None:
        origin = origin.tz_convert("UTC").tz_localize(None)
    first = _first_line(p).split("\t")
    header = 0 if first and first[0].strip() == "timestamp" else None
    raw = pd.read_csv(p, sep="\t", header=header,
                      names=None if header == 0 else list(CRITEO_COLUMNS), nrows=nrows,
                      compression=_compression(p))
    raw.columns = [str(c).strip() for c in raw.columns]
    required = ["timestamp", "uid", "campaign", "conversion", "conversion_timestamp",
                "conversion_id", "click", "cost"]
    _require(raw, required, table="events", source=source)
    num = {c: _numeric(raw[c], table="events", column=c, source=source)
           for c in ("timestamp", "conversion_timestamp", "conversion_id", "cost")}
    for c in ("timestamp",):
        if num[c].isna().any():
            raise SchemaError(f"{source}: missing {c}", table="events", column=c)
    click = _flag(raw["click"], table="events", column="click", source=source)
    conv = _flag(raw["conversion"], table="events", column="conversion", source=source)
    for c in ("conversion_id", "conversion_timestamp"):
        bad = conv & (num[c].isna() | (num[c] < 0))
        if bad.any():
            raise SchemaError(f"{source}: {int(bad.sum())} converted impression(s) have no "
                              f"{c} (-1)", table="events", column=c)
    ts = origin + pd.to_timedelta(num["timestamp"].to_numpy(), unit="s")
    campaign = raw["campaign"].astype(str).str.strip().astype(object)
    conv_id = num["conversion_id"].where(conv).round().astype("Int64")
    imp = pd.DataFrame({
        "user_id": raw["uid"],
        "ts": ts,
        "event_type": "impression",
        "channel": "criteo",
        "campaign": campaign,
        "cost": num["cost"],
        "_k": 0,
        "_row": np.arange(len(raw)),
        "conversion_id": conv_id,
    })
    keep = ["attribution", "click_pos", "click_nb", "cpo", "time_since_last_click",
            *(f"cat{i}" for i in range(1, 10))]
    for c in keep:  # nullable ints, so that they stay ints where other rows lack them
        if c in raw.columns:
            col = raw[c]
            imp[c] = col.astype("Int64") if pd.api.types.is_integer_dtype(col) else col
    clicks = imp.loc[click.to_numpy(), ["user_id", "ts", "event_type", "channel", "campaign",
                                        "_row"]].assign(event_type="click", _k=1)
    conv_rows = pd.DataFrame({
        "user_id": raw["uid"], "conversion_id": conv_id, "campaign": campaign,
        "_row": np.arange(len(raw)),
        "ts": origin + pd.to_timedelta(num["conversion_timestamp"].to_numpy(), unit="s"),
    })[conv.to_numpy()]
    purchases = conv_rows.drop_duplicates("conversion_id", keep="first").assign(
        event_type="purchase", channel="criteo", _k=2)
    df = pd.concat([imp, clicks, purchases], ignore_index=True)
    df = df.sort_values(["ts", "_k", "_row"], kind="stable").drop(columns=["_k", "_row"])
    return validate(df, "events")


# ------------------------------------------------------------------ REES46


def read_rees46(path: PathLike | None = None, *, nrows: int | None = None) -> pd.DataFrame:
    """Read a REES46 e-commerce behaviour log ("multi-category store") as ``events``.

    REES46 / Open CDP publish monthly CSVs (``2019-Oct.csv`` ...) with a
    header ``event_time, event_type, product_id, category_id, category_code,
    brand, price, user_id, user_session``: ``event_time`` is
    ``"2019-10-01 00:00:00 UTC"``, ``event_type`` is ``view``, ``cart`` or
    ``purchase`` (the cosmetics-shop files add ``remove_from_cart``).

    ``view`` becomes ``browse``; ``remove_from_cart`` rows are dropped (the
    canonical event types have no cart removal). ``brand`` is the file's
    brand (null where missing). ``value`` is the ``price`` of purchases only;
    ``price`` itself is kept for every event.

    Parameters
    ----------
    path : str or path-like, optional
        The file (may be gzipped); defaults to the shared
        ``rees46_tiny/2019-Oct-sample.csv``.
    nrows : int, optional
        Read only the first ``nrows`` rows (the monthly files have 10^7 - 10^8).

    Returns
    -------
    pandas.DataFrame
        The canonical ``events`` table in file order, with extra columns
        ``price``, ``product_id``, ``category_id``, ``category_code`` and
        ``user_session``.

    Raises
    ------
    SchemaError
        A missing column, an unknown ``event_type``, a bad ``event_time``, a
        negative price; the message names the column.
    """
    p = _resolve(path, "rees46_tiny", "2019-Oct-sample.csv")
    source = "rees46"
    raw = pd.read_csv(p, nrows=nrows, compression=_compression(p),
                      dtype={"event_time": "string", "event_type": "string",
                             "category_code": "string", "brand": "string",
                             "user_session": "string"})
    raw.columns = [str(c).strip() for c in raw.columns]
    _require(raw, ["event_time", "event_type", "product_id", "brand", "price", "user_id"],
             table="events", source=source)
    et = raw["event_type"].str.strip().str.lower()
    known = et.isin(list(REES46_EVENTS))
    if not known.all():
        raise SchemaError(
            f"{source}: unknown event_type(s) {list(pd.unique(raw['event_type'][~known]))[:5]}; "
            f"expected {list(REES46_EVENTS)}", table="events", column="event_type")
    keep = et != "remove_from_cart"
    raw, et = raw[keep], et[keep]
    times = raw["event_time"].str.strip()
    utc = times.str.endswith(" UTC")
    fmt = "%Y-%m-%d %H:%M:%S UTC" if utc.all() else "%Y-%m-%d %H:%M:%S"
    ts = _parse_time(times, fmt, table="events", column="event_time", source=source)
    price = _numeric(raw["price"], table="events", column="price", source=source)
    if (price < 0).any():
        raise SchemaError(f"{source}: negative price(s)", table="events", column="price")
    event_type = et.map(REES46_EVENTS)
    df = pd.DataFrame({
        "user_id": raw["user_id"],
        "ts": ts,
        "brand": raw["brand"].astype(object).where(raw["brand"].notna(), None),
        "event_type": event_type.astype(object),
        "value": price.where(event_type == "purchase"),
        "price": price,
        "product_id": raw["product_id"],
    })
    for c in ("category_id", "category_code", "user_session"):
        if c in raw.columns:
            col = raw[c]
            df[c] = col.astype(object).where(col.notna(), None) if pd.api.types.is_string_dtype(
                col) else col
    return validate(df.reset_index(drop=True), "events")
