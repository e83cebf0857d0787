"""Asset volumes and penetration: how many consumers each brand holds in each 4A stage.

All functions take a stage table (from :func:`snapshot` or :func:`snapshots`)
and return results wrapping lazy ibis expressions.

Examples
--------
>>> import pandas as pd, marketing360 as m3
>>> from marketing360.assets import snapshot, volumes
>>> eng = m3.connect()
>>> ev = eng.table(m3.validate(pd.DataFrame({
...     "user_id": [1, 2, 2, 3], "ts": ["2025-03-01"] * 4, "brand": ["A", "A", "A", "B"],
...     "event_type": ["browse", "impression", "purchase", "impression"]})))
>>> volumes(snapshot(ev, "2025-03-01")).to_frame()[["brand", "stage", "consumers"]].values.tolist()
[['A', 'aware', 1], ['A', 'act', 1], ['B', 'aware', 1]]
"""

from __future__ import annotations

from typing import Any, Sequence

import ibis
import pandas as pd
from ibis.expr.types import Table

from ..errors import ParameterError, SchemaError
from ..results import Result
from .rules import STAGES

__all__ = ["volumes", "penetration", "shoppers", "AssetVolumes", "Penetration"]


def _check_stages(stages: Table, what: str) -> None:
    missing = [c for c in ("user_id", "brand", "level", "stage") if c not in stages.columns]
    if missing:
        raise SchemaError(f"{what}: expected a stage table from snapshot() or snapshots(); "
                          f"it lacks {missing}", column=missing[0])


def _order_stage(df: pd.DataFrame) -> pd.DataFrame:
    if "stage" in df.columns:
        df["stage"] = pd.Categorical(df["stage"], categories=list(STAGES[1:]), ordered=True)
        keys = [c for c in ("date", "category", "brand") if c in df.columns]
        keys += [c for c in df.columns if c not in keys and c not in
                 ("stage", "level", "consumers", "population", "penetration", "category_penetration",
                  "index")]
        df = df.sort_values(keys + ["stage"], kind="mergesort").reset_index(drop=True)
        df["stage"] = df["stage"].astype(str)
    return df


class AssetVolumes(Result):
    """Consumers per brand (and date, segment) and 4A stage."""

    title = "4A asset volumes"

    def _finish(self, df: pd.DataFrame) -> pd.DataFrame:
        return _order_stage(df)

    def wide(self) -> pd.DataFrame:
        """One column per stage."""
        df = self.to_frame()
        index = [c for c in df.columns if c not in ("stage", "level", "consumers")]
        out = df.pivot_table(index=index, columns="stage", values="consumers", aggfunc="sum",
                             fill_value=0, observed=True)
        return out.reindex(columns=[s for s in STAGES[1:] if s in out.columns])

    def plot(self, brand: str | None = None, **kw: Any) -> Any:
        from ..viz.assets import plot_volumes

        return plot_volumes(self.to_frame(), brand=brand, **kw)


def volumes(stages: Table, *, by: Sequence[str] = (), users: Any = None,
            brands: Any = None) -> AssetVolumes:
    """Consumers per brand and stage (per date too for a series), optionally by segment.

    Parameters
    ----------
    stages : ibis Table
        From :func:`snapshot` or :func:`snapshots`.
    by : sequence of str
        Consumer attributes (columns of ``users``) or ``"category"`` (from ``brands``)
        to break the volumes down by.
    users : ibis Table, optional
        Consumer attributes (``user_id`` plus columns), joined in for ``by``.
    brands : ibis Table, optional
        ``brand, category``: needed to group by category.
    """
    _check_stages(stages, "volumes")
    t = _join_attributes(stages, by, users, brands)
    keys = [c for c in ("date",) if c in t.columns] + ["brand", *by, "stage", "level"]
    return AssetVolumes(t.group_by(keys).agg(consumers=t.count()).order_by(keys), by=list(by))


def _join_attributes(stages: Table, by: Sequence[str], users: Any, brands: Any) -> Table:
    t = stages
    need_cat = "category" in by
    attrs = [c for c in by if c != "category"]
    if attrs:
        if users is None:
            raise ParameterError(f"by={list(by)} needs users= (a table of user_id and attributes)")
        missing = [c for c in ["user_id", *attrs] if c not in users.columns]
        if missing:
            raise SchemaError(f"users lacks column(s) {missing}", table="users", column=missing[0])
        u = users.select("user_id", *attrs)
        t = t.join(u, "user_id")
    if need_cat:
        if brands is None or "category" not in brands.columns:
            raise ParameterError("grouping by category needs brands= (a table of brand, category)")
        t = t.join(brands.select("brand", "category"), "brand")
    return t


class Penetration(Result):
    """Stage counts over the population, per brand, with the category benchmark."""

    title = "4A penetration"

    def _finish(self, df: pd.DataFrame) -> pd.DataFrame:
        return _order_stage(df)

    def plot(self, stage: str = "act", **kw: Any) -> Any:
        from ..viz.assets import plot_penetration

        return plot_penetration(self.to_frame(), stage=stage, **kw)


def penetration(stages: Table, population: Any, *, brands: Any = None, by: Sequence[str] = ()
                ) -> Penetration:
    """Share of the population in each stage of each brand, and the brand's category benchmark.

    Parameters
    ----------
    stages : ibis Table
        From :func:`snapshot` or :func:`snapshots`.
    population : ibis Table or int
        The consumers counted in: a table with ``user_id`` (and the ``by``
        attributes), e.g. every known consumer or a category's shoppers; or
        just their number (no breakdown then).
    brands : ibis Table, optional
        ``brand, category``: adds ``category_penetration`` (the mean penetration
        of the category's brands in that stage) and ``index`` (brand / category).
    by : sequence of str
        Attributes of ``population`` to break penetration down by.

    Returns
    -------
    Penetration
        ``[date,] brand, [by...,] stage, consumers, population, penetration``
        (+ ``category, category_penetration, index`` with ``brands``).
    """
    _check_stages(stages, "penetration")
    keys_by = list(by)
    is_count = isinstance(population, int) and not isinstance(population, bool)
    if is_count:
        if population < 1:
            raise ParameterError(f"population must be >= 1 consumer; found {population}")
        if keys_by:
            raise ParameterError("a breakdown by attributes needs population as a table of consumers")
    elif not isinstance(population, Table):
        raise ParameterError(f"population must be an ibis table of consumers or a count; found "
                             f"{type(population).__name__}")
    elif "user_id" not in population.columns:
        raise SchemaError("population must have a user_id column", column="user_id")
    vol = volumes(stages, by=by, users=population if by else None).expr
    if is_count:
        pen = vol.mutate(population=ibis.literal(population, type="int64"))
    else:
        p = population.select("user_id", *keys_by).distinct()
        if keys_by:
            sizes = p.group_by(keys_by).agg(population=p.count())
            pen = vol.join(sizes, keys_by)
        else:
            pen = vol.cross_join(p.aggregate(population=p.count()))
    pen = pen.mutate(penetration=pen.consumers.cast("float64") / pen.population)
    if brands is not None:
        if "category" not in brands.columns:
            raise SchemaError("brands must have brand and category columns", column="category")
        b = brands.select("brand", "category")
        pen = pen.join(b, "brand")
        grp = [c for c in ("date",) if c in pen.columns] + ["category", *keys_by, "stage"]
        # the benchmark: the mean over every brand of the category (brands without consumers count as 0)
        n_brands = b.group_by("category").agg(n_brands=b.count())
        cat = pen.group_by(grp).agg(_sum=pen.penetration.sum()).join(n_brands, "category")
        cat = cat.mutate(category_penetration=cat._sum / cat.n_brands).drop("_sum", "n_brands")
        pen = pen.join(cat, grp)
        pen = pen.mutate(index=pen.penetration / pen.category_penetration)
    return Penetration(pen, by=keys_by)


def shoppers(events: Table, brands: Any = None, *, category: str | None = None) -> Table:
    """A population: the consumers with any event of any brand (or of one category's brands).

    Use it as ``penetration(..., population=shoppers(events, brands, category="phones"))``
    for penetration among a category's shoppers rather than among everyone known.
    """
    if "user_id" not in events.columns or "brand" not in events.columns:
        raise SchemaError("shoppers: the events table needs user_id and brand", table="events")
    ev = events.filter(events.brand.notnull())
    if category is not None:
        if brands is None or "category" not in brands.columns:
            raise ParameterError("shoppers of a category need brands= (a table of brand, category)")
        cat = brands.filter(brands.category == category).select("brand")
        ev = ev.semi_join(cat, "brand")
    return ev.select("user_id").distinct()

