"""Readers of consumer behaviour logs into the canonical ``events`` table.

- :func:`read_tianchi`: Alibaba Tianchi / Taobao logs, China local time
  (``attrs["tz"] == "Asia/Shanghai"``, :data:`TIANCHI_TZ`);
- :func:`read_rees46`: REES46 / Open CDP store logs, times given in UTC
  (``"UTC"``; the store's own zone is not published);
- :func:`read_cdnow`: CDNOW purchases, dates only (``"UTC"``: the dates are
  kept as midnight, so only ``tz="UTC"`` reads them as the file's days);
- :func:`read_criteo_attribution`: Criteo attribution, seconds from an
  unpublished origin (``"UTC"``);
- :func:`read_touch_journeys`: touch-level journeys, ISO 8601 UTC (``"UTC"``).

Time stamps
-----------
Every reader returns ``ts`` as **true UTC** (timezone-naive, as the canonical
schema stores it), converting a log's local wall-clock times where the log
has them, and records in ``df.attrs["tz"]`` the time zone whose calendar days
the data lives in: pass it to the day-based analyses (``snapshot(...,
tz=df.attrs["tz"])``) so that a day is the consumer's day. For instance the
Tianchi ``time`` ``"2014-12-06 02"`` is 02:00 in China (UTC+8), stored as
``2014-12-05 18:00`` UTC; counted in ``Asia/Shanghai`` it falls on 6 December
again.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ...errors import ParameterError, SchemaError
from ...schema import validate
from ._common import (
    PathLike,
    _check_tz,
    _compression,
    _first_line,
    _flag,
    _local_to_utc,
    _numeric,
    _parse_time,
    _require,
    _resolve,
    _with_tz,
)

__all__ = [
    "read_olist_funnel",
    "read_tianchi",
    "read_rees46",
    "read_cdnow",
    "read_criteo_attribution",
    "read_touch_journeys",
    "TIANCHI_TZ",
    "TIANCHI_BEHAVIOR",
    "USERBEHAVIOR_BEHAVIOR",
    "REES46_EVENTS",
    "CRITEO_COLUMNS",
    "CRITEO_START",
]

#: The time zone of the Tianchi / Taobao logs: China Standard Time (UTC+8, no daylight saving
#: since 1991). The Tianchi ``time`` column is wall-clock time there.
TIANCHI_TZ = "Asia/Shanghai"
#: Tianchi mobile-recommendation ``behavior_type`` codes.
TIANCHI_BEHAVIOR: dict[int, str] = {1: "browse", 2: "follow", 3: "cart", 4: "purchase"}
#: Taobao UserBehavior ``behavior_type`` names.
USERBEHAVIOR_BEHAVIOR: dict[str, str] = {"pv": "browse", "fav": "follow", "cart": "cart",
                                         "buy": "purchase"}
#: REES46 ``event_type`` names; ``None`` marks rows that are dropped.
REES46_EVENTS: dict[str, str | None] = {"view": "browse", "cart": "cart", "purchase": "purchase",
                                        "remove_from_cart": None}
#: Columns of the Criteo Attribution Modeling for Bidding data set, in file order.
CRITEO_COLUMNS: tuple[str, ...] = (
    "timestamp", "uid", "campaign", "conversion", "conversion_timestamp", "conversion_id",
    "attribution", "click", "click_pos", "click_nb", "cost", "cpo", "time_since_last_click",
    *(f"cat{i}" for i in range(1, 10)),
)
#: Default origin of the Criteo relative timestamps (the true start date is not published).
CRITEO_START = pd.Timestamp("2017-01-01")


# ------------------------------------------------------------------ Tianchi / Taobao


def read_tianchi(
    path: PathLike | None = None,
    *,
    items_path: PathLike | None = None,
    layout: Literal["tianchi", "userbehavior"] = "tianchi",
    tz: str = TIANCHI_TZ,
    nrows: int | None = None,
) -> pd.DataFrame:
    """Read an Alibaba Tianchi / Taobao behaviour log as an ``events`` table.

    Two layouts are understood:

    ``layout="tianchi"`` (the mobile-recommendation competition, 2014)
        A CSV with a header ``user_id,item_id,behavior_type,user_geohash,
        item_category,time``; ``time`` is at hour resolution
        (``"2014-12-06 02"``, wall-clock time in China, converted to UTC:
        ``2014-12-05 18:00``) and
        ``behavior_type`` is a code: 1 = click (``browse``), 2 = collect
        (``follow``), 3 = add to cart (``cart``), 4 = purchase.
    ``layout="userbehavior"`` (the Taobao ``UserBehavior.csv``, 2017)
        A CSV without a header, ``user_id,item_id,category_id,behavior_type,
        timestamp``; ``behavior_type`` is ``pv`` / ``fav`` / ``cart`` /
        ``buy`` and ``timestamp`` is unix seconds (already UTC). A header
        row, if present, is skipped.

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
    tz : str
        The time zone of the log (:data:`TIANCHI_TZ`, ``"Asia/Shanghai"``, by
        default): the Tianchi layout's wall-clock ``time`` is read in it, and
        both layouts record it in ``attrs["tz"]``.
    nrows : int, optional
        Read only the first ``nrows`` rows (the full logs have 10^7 - 10^8).

    Returns
    -------
    pandas.DataFrame
        The canonical ``events`` table (``channel``, ``campaign``, ``value``
        and ``cost`` are null) with extra columns ``item_id`` and, for the
        Tianchi layout, ``user_geohash`` (and ``in_item_subset`` when
        ``items_path`` is given). ``ts`` is UTC and ``attrs["tz"]`` is ``tz``.

    Raises
    ------
    SchemaError
        A missing column, an unknown behaviour code or an unparseable time;
        the message names the column.
    ParameterError
        An unknown ``layout`` or a ``tz`` that is not an IANA zone name.

    Notes
    -----
    China has kept UTC+8 all year since 1991, so a Tianchi hour ``h`` on day
    ``d`` is ``h - 8`` o'clock UTC (on ``d - 1`` before 08:00). Analyses that
    count calendar days should count them in ``attrs["tz"]``, e.g.
    ``snapshot(engine.table(ev), day, tz=ev.attrs["tz"])``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> log = pathlib.Path(tempfile.mkdtemp()) / "tianchi.csv"
    >>> _ = log.write_text("user_id,item_id,behavior_type,user_geohash,item_category,time\\n"
    ...                    "1,10,4,,7,2014-12-06 02\\n")
    >>> ev = read_tianchi(log)
    >>> ev.loc[0, ["ts", "brand", "event_type"]].tolist(), ev.attrs["tz"]
    ([Timestamp('2014-12-05 18:00:00'), '7', 'purchase'], 'Asia/Shanghai')
    """
    if layout not in ("tianchi", "userbehavior"):
        raise ParameterError(f"layout must be 'tianchi' or 'userbehavior'; found {layout!r}")
    tz = _check_tz(tz)
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
        local = _parse_time(raw["time"].astype(str).str.strip(), "%Y-%m-%d %H", table="events",
                            column="time", source=source)
        ts = _local_to_utc(local, tz, table="events", column="time", source=source)
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
    return _with_tz(validate(df, "events", event_type_map=event_map), tz)


def _category_as_brand(s: pd.Series, source: str, column: str = "item_category") -> pd.Series:
    if s.isna().any():
        raise SchemaError(f"{source}: {int(s.isna().sum())} missing {column}",
                          table="events", column=column)
    if pd.api.types.is_float_dtype(s) and (s == np.floor(s)).all():
        s = s.astype("int64")
    return s.astype(str).str.strip().astype(object)



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

    ``event_time`` is UTC (the files say so), and so is ``ts``; times without
    the ``" UTC"`` suffix are read as UTC too. The store's own time zone is not
    published, so ``attrs["tz"]`` is ``"UTC"``.

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
        ``user_session``; ``attrs["tz"] == "UTC"``.

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
    # " UTC" or nothing: both are UTC, row by row (concatenated months may mix the two)
    times = raw["event_time"].str.strip().str.removesuffix(" UTC")
    ts = _parse_time(times, "%Y-%m-%d %H:%M:%S", table="events", column="event_time", source=source)
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
    return _with_tz(validate(df.reset_index(drop=True), "events"), "UTC")


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

    The file has dates, not times: ``ts`` is the date at midnight and
    ``attrs["tz"]`` is ``"UTC"``, so that day-based analyses with
    ``tz="UTC"`` (the default) see each purchase on the file's date. (Another
    zone would move every purchase to the previous day: the shop's zone and
    the time of day are unknown.)

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
        (``number_of_cds``); ``attrs["tz"] == "UTC"``.

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
    return _with_tz(validate(df, "events"), "UTC")



def read_olist_funnel(leads_path: PathLike | None = None, deals_path: PathLike | None = None) -> pd.DataFrame:
    """Read Olist's marketing funnel (marketing-qualified leads, then closed deals) as ``events``.

    Olist's public B2B funnel (Kaggle ``olistbr/marketing-funnel-olist``, 2017-06-14..2018-05-31): 8,000
    marketing-qualified leads (MQL) of sellers, each with its first contact date, landing page and acquisition
    channel (``origin``), and the 842 that became sellers (closed deals, with the date won and the seller's
    business segment). Each lead is a consumer (``user_id`` = ``mql_id``): a ``browse`` at its first contact
    (``channel`` = origin, ``campaign`` = landing page) and, for a closed deal, a ``purchase`` when it was won
    (same channel and landing page, ``value`` = the seller's declared monthly revenue, often 0). ``brand`` is
    ``"olist"``; the deals' ``business_segment`` and ``lead_type`` are extra columns (null on leads).

    The shared copy of the leads lost its header (the columns are ``mql_id, first_contact_date,
    landing_page_id, origin``; both layouts are read), and its dates are days: ``ts`` is midnight UTC for
    contacts, the won time for deals; ``attrs["tz"]`` is ``"UTC"``. One deal is dated before its lead's first
    contact: it is kept as it is (``attrs["notes"]`` says so).

    Parameters
    ----------
    leads_path, deals_path : str or path-like, optional
        The two files; default to the shared ``olist_marketing_funnel`` folder.

    Returns
    -------
    pandas.DataFrame
        Canonical ``events`` sorted by ``user_id`` and ``ts``.

    Raises
    ------
    SchemaError
        A missing column, a date that does not parse, a deal whose lead is not in the leads file.
    """
    source = "olist"
    lp = _resolve(leads_path, "olist_marketing_funnel", "olist_marketing_qualified_leads_dataset.csv")
    dp = _resolve(deals_path, "olist_marketing_funnel", "olist_closed_deals_cleaned.csv")
    lead_cols = ["mql_id", "first_contact_date", "landing_page_id", "origin"]
    header = 0 if _first_line(lp).split(",")[0].strip() == "mql_id" else None
    leads = pd.read_csv(lp, header=header, names=None if header == 0 else lead_cols, dtype=str)
    _require(leads, lead_cols, table="events", source=source)
    deals = pd.read_csv(dp, dtype={"mql_id": str, "won_date": str, "business_segment": str, "lead_type": str})
    _require(deals, ["mql_id", "won_date", "business_segment", "lead_type", "declared_monthly_revenue"],
             table="events", source=source)
    lost = sorted(set(deals.mql_id) - set(leads.mql_id))
    if lost:
        raise SchemaError(f"{source}: {len(lost)} closed deal(s) with no lead in the leads file, e.g. {lost[:3]}",
                          table="events", column="mql_id")
    contact = _parse_time(leads.first_contact_date.str.slice(0, 19), "%Y-%m-%d %H:%M:%S", table="events",
                          column="first_contact_date", source=source) if leads.first_contact_date.str.len().max() > 10 \
        else _parse_time(leads.first_contact_date, "%Y-%m-%d", table="events", column="first_contact_date",
                         source=source)
    won = _parse_time(deals.won_date, "%Y-%m-%d %H:%M:%S", table="events", column="won_date", source=source)
    lead = leads.set_index("mql_id")
    rows = pd.concat([
        pd.DataFrame({"user_id": leads.mql_id, "ts": contact.to_numpy(), "event_type": "browse",
                      "channel": leads.origin, "campaign": leads.landing_page_id, "value": np.nan,
                      "business_segment": None, "lead_type": None}),
        pd.DataFrame({"user_id": deals.mql_id, "ts": won.to_numpy(), "event_type": "purchase",
                      "channel": lead.origin.reindex(deals.mql_id).to_numpy(),
                      "campaign": lead.landing_page_id.reindex(deals.mql_id).to_numpy(),
                      "value": _numeric(deals.declared_monthly_revenue, table="events",
                                        column="declared_monthly_revenue", source=source),
                      "business_segment": deals.business_segment, "lead_type": deals.lead_type}),
    ], ignore_index=True)
    rows.insert(2, "brand", "olist")
    rows = rows.sort_values(["user_id", "ts"], kind="mergesort").reset_index(drop=True)
    out = _with_tz(validate(rows, "events"), "UTC")
    early = won.to_numpy() < deals.mql_id.map(dict(zip(leads.mql_id, contact))).to_numpy()
    out.attrs["notes"] = [f"{int(early.sum())} deal(s) won before the lead's first contact"] if early.any() else []
    return out

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
    file order. Times are relative to an unpublished origin, so ``ts`` is
    ``start`` (read as UTC; an aware ``start`` is converted to UTC) plus the
    file's seconds, and ``attrs["tz"]`` is ``"UTC"``.

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
    return _with_tz(validate(df, "events"), "UTC")



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
    time within a customer. ``ts`` is that UTC time (an offset other than
    ``Z`` is converted to UTC) and ``attrs["tz"]`` is ``"UTC"``.

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
    return _with_tz(validate(df[["user_id", "ts", "event_type", "channel", "value"]], "events"), "UTC")

