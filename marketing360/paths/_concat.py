"""Ordered string aggregation on every engine: the one helper that writes paths."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ibis.expr.types import Table

from ..engine import compiles
from ..schema import PATH_SEP

__all__ = ["ordered_concat"]


def ordered_concat(t: Table, group: Sequence[str], order: str, value: str, /, *, sep: str = PATH_SEP,
                   name: str = "path", **aggs: Any) -> Table:
    """One row per ``group``: the ``value`` strings joined by ``sep`` in the order of integer column ``order``.

    ``aggs`` are further aggregates of the same group. Engines without an ordered string aggregate (Spark
    through ibis 12) collect ``order``-tagged values, sort and strip the tags instead (``order`` below 10^9; no
    lambdas: DuckDB and Spark disagree on their syntax).
    """
    per = t.group_by(list(group)).agg(**{name: t[value].group_concat(sep, order_by=t[order])}, **aggs)
    if compiles(per):
        return per
    tagged = t[order].cast("string").lpad(9, "0") + "\x1f" + t[value]
    per = t.group_by(list(group)).agg(_seq=tagged.collect(), **aggs)
    return per.mutate(**{name: per._seq.sort().join(sep).re_replace("[0-9]{9}\x1f", "")}).drop("_seq")
