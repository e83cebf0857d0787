"""Evolve: the diagnosis against the simulator's true 4A stages, read in plain pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketing360.datasets import simulate
from marketing360.errors import ParameterError
from marketing360.playbook import diagnose

START, END = pd.Timestamp("2025-02-14"), pd.Timestamp("2025-03-16")
LEVEL = {"aware": 1, "appeal": 2, "act": 3, "advocate": 4}


@pytest.fixture(scope="module")
def world():
    return simulate(n_users=3000, n_days=75, seed=3, truth="none", progress=False)


def _levels(spells: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    on = spells[(spells.start <= day) & (spells.end >= day)]
    return on.set_index(["user_id", "brand"]).stage.map(LEVEL)


@pytest.fixture(scope="module")
def reference(world):
    """Volumes, move-up and loss rates, penetration and growth of every phone brand from the true stages."""
    peers = world.brands.brand[world.brands.category == "phones"].tolist()
    sp = world.truth.stages
    sp = sp[sp.brand.isin(peers)]
    a, b = _levels(sp, START), _levels(sp, END)
    both = pd.concat({"a": a, "b": b}, axis=1).fillna(0)
    ev = world.events
    shoppers = ev[ev.brand.isin(peers) & (ev.ts < END + pd.Timedelta(days=1))].user_id.nunique()
    rows = []
    for brand in peers:
        d = both.xs(brand, level="brand")
        for s, lvl in LEVEL.items():
            at = d[d.a == lvl]
            rows.append({"brand": brand, "stage": s, "consumers": int((d.b == lvl).sum()),
                         "penetration": (d.b == lvl).sum() / shoppers,
                         "up_rate": (at.b > lvl).mean() if len(at) and lvl < 4 else np.nan,
                         "lost_rate": (at.b == 0).mean() if len(at) else np.nan})
    ref = pd.DataFrame(rows)
    acme = both.xs("Acme", level="brand")
    growth = {"start": int((acme.a > 0).sum()), "end": int((acme.b > 0).sum()),
              "lost": int(((acme.a > 0) & (acme.b == 0)).sum()), "new": int(((acme.a == 0) & (acme.b > 0)).sum())}
    return ref, growth


@pytest.fixture(scope="module")
def diagnosis(world):
    return diagnose(world.events, "Acme", date=END, period=30, brands=world.brands)


def test_stages_rates_and_penetration_equal_the_truth(diagnosis, reference):
    ref, _ = reference
    mine = ref[ref.brand == "Acme"].set_index("stage")
    cat = ref.groupby("stage")[["penetration", "up_rate", "lost_rate"]].mean()
    got = diagnosis.table().set_index("stage")
    for s in LEVEL:
        assert got.loc[s, "consumers"] == mine.loc[s, "consumers"]
        assert got.loc[s, "penetration"] == pytest.approx(mine.loc[s, "penetration"])
        assert got.loc[s, "category_penetration"] == pytest.approx(cat.loc[s, "penetration"])
        assert got.loc[s, "lost_rate"] == pytest.approx(mine.loc[s, "lost_rate"], nan_ok=True)
        if s != "advocate":
            assert got.loc[s, "up_rate"] == pytest.approx(mine.loc[s, "up_rate"])
            assert got.loc[s, "category_up_rate"] == pytest.approx(cat.loc[s, "up_rate"])


def test_bottleneck_and_growth(diagnosis, reference):
    ref, growth = reference
    mine = ref[ref.brand == "Acme"].set_index("stage")
    cat = ref.groupby("stage").up_rate.mean()
    index = (mine.up_rate / cat).loc[["aware", "appeal", "act"]]
    assert diagnosis.bottleneck == index.idxmin()
    g = diagnosis.growth
    assert {k: g[k] for k in growth} == growth
    assert g["retained"] == g["start"] - g["lost"] and g["net"] == g["new"] - g["lost"]


def test_summary_plot_and_paths(world, diagnosis):
    text = str(diagnosis.summary())
    assert "bottleneck" in text and "Acme in phones" in text
    fig = diagnosis.plot()
    assert len(fig.axes) == 2
    with_paths = diagnose(world.events, "Acme", date=END, brands=world.brands, paths=True)
    assert with_paths.critical is not None and len(with_paths.critical) > 0
    assert "most critical path node" in str(with_paths.summary())


def test_bad_calls_are_refused(world):
    with pytest.raises(ParameterError, match="brand 'Nope' has no events"):
        diagnose(world.events, "Nope", date=END)
    with pytest.raises(ParameterError, match="period"):
        diagnose(world.events, "Acme", date=END, period=0)
    with pytest.raises(ParameterError, match="not in the brands table"):
        diagnose(world.events, "Acme", date=END, brands=world.brands[world.brands.brand != "Acme"])
