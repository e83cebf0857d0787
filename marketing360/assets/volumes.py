"""Asset volumes and penetration: how many consumers each brand holds in each 4A stage.

Both take the stages of :func:`snapshot` or :func:`snapshots` (a
:class:`~marketing360.assets.Stages` result or a table with its columns) and
return results computed on the engine.

Examples
--------
>>> import pandas as pd
>>> from marketing360.assets import snapshot, volumes
>>> ev = pd.DataFrame({"user_id": [1, 2, 2, 3], "ts": ["2025-03-01"] * 4, "brand": ["A", "A", "A", "B"],
...                    "event_type": ["browse", "impression", "purchase", "impression"]})
>>> volumes(snapshot(ev, "2025-03-01")).table()[["brand", "stage", "consumers"]].astype(str).values.tolist()
[['A', 'aware', '1'], ['A', 'act', '1'], ['B', 'aware', '1']]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import ibis
import pandas as pd
from ibis.expr.types import Table

from ..errors import ParameterError, SchemaError
from ..inputs import alongside, as_population, open_table, require_columns, require_unique
from ..results import Result
from ..schema import STAGES
from ..types import Stage, TableLike

__all__ = ["volumes", "penetration", "shoppers", "AssetVolumes", "Penetration", "Population"]


def _stages(stages: TableLike, what: str) -> Table:
    t = open_table(stages, what=what)
    missing = [c for c in ("user_id", "brand", "level", "stage") if c not in t.columns]
    if missing:
        raise SchemaError(f"{what}: expected the stages of snapshot() or snapshots(); they lack {missing}",
                          column=missing[0])
    return t


class AssetVolumes(Result):
    """Consumers per brand (and date, segment) and 4A stage: ``[date,] brand, [by...,] stage, level, consumers``.

    Attributes
    ----------
    by : list of str
        The breakdown columns.
    """

    expr: Table  # computed on an engine

    title: ClassVar[str] = "4A asset volumes"

    def __init__(self, expr: Table, *, by: Sequence[str] = ()) -> None:
        super().__init__(expr)
        self.by = list(by)
        self.keys = tuple(c for c in ("date", "category", "brand") if c in expr.columns) + \
            tuple(c for c in self.by if c != "category") + ("stage",)

    def wide(self) -> pd.DataFrame:
        """One column per stage, in funnel order."""
        df = self._computed()
        index = [c for c in df.columns if c not in ("stage", "level", "consumers")]
        out = df.pivot_table(index=index, columns="stage", values="consumers", aggfunc="sum",
                             fill_value=0, observed=True)
        out = out.reindex(columns=[s for s in STAGES[1:] if s in out.columns])
        out.columns = pd.CategoricalIndex(out.columns, categories=list(STAGES[1:]), ordered=True, name="stage")
        return out.astype("int64")

    def _summary_table(self) -> pd.DataFrame:
        return self.wide().reset_index()

    def plot(self, brand: str | None = None, *, ax: Any = None, **kwargs: Any) -> Any:
        """Stacked volumes (over time for a series; by brand otherwise); returns the figure."""
        from ..viz.assets import plot_volumes

        return plot_volumes(self.table(), brand=brand, ax=ax, **kwargs)


def volumes(stages: TableLike, *, by: Sequence[str] = (), users: TableLike | None = None,
            brands: TableLike | None = None) -> AssetVolumes:
    """Consumers per brand and stage (per date too for a series), optionally by segment.

    Parameters
    ----------
    stages : Stages or table
        From :func:`snapshot` or :func:`snapshots`.
    by : sequence of str
        Consumer attributes (columns of ``users``) or ``"category"`` (from ``brands``)
        to break the volumes down by.
    users : table, optional
        Consumer attributes (``user_id`` plus columns, one row per consumer),
        joined in for ``by``; staged consumers it lacks count under a missing
        (null) attribute.
    brands : table, optional
        ``brand, category`` (one row per brand): needed to group by category;
        brands it lacks count under a missing (null) category.

    Raises
    ------
    SchemaError
        A ``users`` or ``brands`` table without the columns ``by`` needs, or
        with two rows for one consumer or brand.
    """
    t = _stages(stages, "volumes")
    by = _by(by)
    t = _join_attributes(t, by, users, brands)
    keys = [c for c in ("date",) if c in t.columns] + ["brand", *by, "stage", "level"]
    return AssetVolumes(t.group_by(keys).agg(consumers=t.count()).order_by(keys), by=by)


def _by(by: Any) -> list[str]:
    if isinstance(by, str):
        return [by]
    if not all(isinstance(c, str) for c in by):
        raise ParameterError(f"by must name columns; found {by!r}")
    return list(by)


def _join_attributes(stages: Table, by: Sequence[str], users: Any, brands: Any) -> Table:
    t = stages
    attrs = [c for c in by if c != "category"]
    if attrs:
        if users is None:
            raise ParameterError(f"by={list(by)} needs users= (a table of user_id and attributes)")
        u = alongside(open_table(users, what="volumes users"), stages)
        require_columns(u, ["user_id", *attrs], what="volumes", table_name="users")
        require_unique(u, ["user_id"], what="volumes", table_name="users")
        t = t.left_join(u.select("user_id", *attrs), "user_id").drop("user_id_right")
    if "category" in by:
        t = t.left_join(alongside(_brands(brands, "grouping by category"), stages), "brand").drop("brand_right")
    return t


def _brands(brands: Any, what: str) -> Table:
    if brands is None:
        raise ParameterError(f"{what} needs brands= (a table of brand, category)")
    b = open_table(brands, what=what)
    require_columns(b, ["brand", "category"], what=what, table_name="brands")
    require_unique(b, ["brand"], what=what, table_name="brands")
    return b.select("brand", "category")


class Penetration(Result):
    """Stage counts over the population, per brand, with the category benchmark.

    ``[date,] brand, [by...,] stage, level, consumers, population, penetration``
    (+ ``category, category_penetration, index`` with brands).
    """

    expr: Table  # computed on an engine

    title: ClassVar[str] = "4A penetration"

    def __init__(self, expr: Table, *, by: Sequence[str] = ()) -> None:
        super().__init__(expr)
        self.by = list(by)
        self.keys = tuple(c for c in ("date", "category", "brand") if c in expr.columns) + tuple(self.by) + ("stage",)

    def plot(self, stage: Stage = "act", *, ax: Any = None, **kwargs: Any) -> Any:
        """Each brand's penetration in ``stage`` against its category's average; returns the figure."""
        from ..viz.assets import plot_penetration

        return plot_penetration(self.table(), stage=stage, ax=ax, **kwargs)


def penetration(stages: TableLike, population: TableLike | int, *, brands: TableLike | None = None,
                by: Sequence[str] = ()) -> Penetration:
    """Share of the population in each stage of each brand, and the brand's category benchmark.

    Parameters
    ----------
    stages : Stages or table
        From :func:`snapshot` or :func:`snapshots`.
    population : table or int
        The consumers counted in: a table with ``user_id`` (and the ``by``
        attributes), e.g. every known consumer or a category's shoppers
        (:func:`shoppers`); consumers outside it are not counted. Or just
        their number (no breakdown then, every staged consumer counted).
    brands : table, optional
        ``brand, category`` (one row per brand): adds ``category_penetration``
        (the mean penetration of the category's brands in that stage) and
        ``index`` (brand / category); a brand it lacks keeps its penetration
        with a missing category and benchmark.
    by : sequence of str
        Attributes of ``population`` to break penetration down by.

    Returns
    -------
    Penetration
    """
    t = _stages(stages, "penetration")
    keys_by = _by(by)
    if isinstance(population, (int,)) and not isinstance(population, bool):
        if population < 1:
            raise ParameterError(f"population must be >= 1 consumer; found {population}")
        if keys_by:
            raise ParameterError("a breakdown by attributes needs population as a table of consumers")
        vol = volumes(t).expr
        pen = vol.mutate(population=ibis.literal(population, type="int64"))
    else:
        if isinstance(population, (float, bool)) or population is None:
            raise ParameterError(f"population must be a table of consumers or a whole number; found {population!r}")
        p = alongside(as_population(population, ["user_id", *keys_by], what="penetration population"), t)
        # only the population's consumers count (a staged consumer outside it is not in the numerator)
        inside = t.semi_join(p.select("user_id"), "user_id")
        vol = volumes(inside, by=keys_by, users=p if keys_by else None).expr
        if keys_by:
            sizes = p.group_by(keys_by).agg(population=p.count())
            pen = vol.join(sizes, keys_by)
        else:
            pen = vol.cross_join(p.aggregate(population=p.count()))
    pen = pen.mutate(penetration=pen.consumers.cast("float64") / pen.population)
    if brands is not None:
        b = alongside(_brands(brands, "the category benchmark"), t)
        pen = pen.left_join(b, "brand").drop("brand_right")  # a brand without a category keeps no benchmark
        grp = [c for c in ("date",) if c in pen.columns] + ["category", *keys_by, "stage"]
        # the benchmark: the mean over every brand of the category (brands without consumers count as 0)
        n_brands = b.group_by("category").agg(n_brands=b.count())
        cat = pen.group_by(grp).agg(_sum=pen.penetration.sum()).join(n_brands, "category")
        cat = cat.mutate(category_penetration=cat._sum / cat.n_brands).drop("_sum", "n_brands")
        pen = pen.left_join(cat, grp).drop(*[f"{c}_right" for c in grp])
        pen = pen.mutate(index=pen.penetration / pen.category_penetration)
    return Penetration(pen, by=keys_by)


class Population(Result):
    """A population of consumers (``user_id``), e.g. a category's shoppers, for :func:`penetration`."""

    expr: Table  # computed on an engine

    title: ClassVar[str] = "population"
    keys = ("user_id",)


def shoppers(events: TableLike, brands: TableLike | None = None, *, category: str | None = None) -> Population:
    """A population: the consumers with any event of any brand (or of one category's brands).

    Use it as ``penetration(stages, shoppers(events, brands, category="phones"))``
    for penetration among a category's shoppers rather than among everyone known.
    """
    from ..inputs import as_table

    ev = as_table(events, "events", need=["brand"], what="shoppers")
    ev = ev.filter(ev.brand.notnull())
    if category is not None:
        cat = _brands(brands, "shoppers of a category")
        ev = ev.semi_join(cat.filter(cat.category == category).select("brand"), "brand")
    return Population(ev.select("user_id").distinct())
