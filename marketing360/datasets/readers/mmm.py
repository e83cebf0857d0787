"""Readers of marketing-mix (MMM) data: Robyn, PyMC-Marketing and Meridian, as one :class:`MMMData` bundle."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ...errors import ParameterError, SchemaError
from ...schema import validate
from ._common import PathLike, _compression, _dates, _numeric, _require, _resolve

__all__ = ["MMMData", "read_robyn", "read_pymc_mmm", "read_meridian"]

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

