"""Readers of experiment data: a randomised e-mail test (Hillstrom) and a geo panel (GeoLift)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import SchemaError
from ...schema import validate
from ._common import PathLike, _compression, _dates, _flag, _numeric, _require, _resolve

__all__ = ["read_hillstrom", "read_geolift", "HILLSTROM_ARMS"]

#: Hillstrom ``segment`` to the arm name.
HILLSTROM_ARMS: dict[str, str] = {"Mens E-Mail": "mens", "Womens E-Mail": "womens",
                                  "No E-Mail": "control"}

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

