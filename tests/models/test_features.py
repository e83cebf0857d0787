"""pair_features on both engines against a plain pandas reading of the events and the simulator's true stages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketing360.datasets import simulate
from marketing360.errors import ParameterError, SchemaError
from marketing360.models import pair_features

DATES = ["2025-01-20", "2025-02-03"]
WINDOWS = [3, 14]
KINDS = {"impression": ["impression"], "click": ["click"], "visit": ["browse", "click"],
         "engage": ["search", "follow", "cart", "ask"], "purchase": ["purchase"]}
SEQ_TYPES = ["browse", "click", "search", "follow", "cart", "ask", "purchase", "review", "share"]


@pytest.fixture(scope="module")
def world():
    return simulate(n_users=400, n_days=40, seed=5, truth="none", progress=False)


def _is(ev: pd.DataFrame, kind: str) -> pd.Series:
    if kind == "advocate":
        return (ev.event_type == "share") | ((ev.event_type == "review") & (ev.value >= 4))
    return ev.event_type.isin(KINDS[kind])


def _reference(world, date: str, horizon: int, seq_len: int) -> pd.DataFrame:
    """The definitions, row by row in pandas."""
    ev = world.events.assign(day=world.events.ts.dt.normalize())
    d = pd.Timestamp(date)
    look = ev[(ev.day < d) & (ev.day >= d - pd.Timedelta(days=max(WINDOWS)))]
    nxt_all = ev[(ev.day >= d) & (ev.day < d + pd.Timedelta(days=horizon))]
    nxt_by = {k: g for k, g in nxt_all.groupby(["user_id", "brand"])}
    empty = ev.iloc[:0]
    rows = []
    for (u, b), g in look.groupby(["user_id", "brand"]):
        r = {"date": d, "user_id": u, "brand": b}
        every = look[look.user_id == u]  # the consumer's events with every brand
        for w in WINDOWS:
            gw = g[g.day >= d - pd.Timedelta(days=w)]
            ew = every[every.day >= d - pd.Timedelta(days=w)]
            for k in [*KINDS, "advocate"]:
                r[f"consumer_{k}_{w}d"] = int(_is(ew, k).sum())
            r[f"consumer_spend_{w}d"] = float(ew.value[ew.event_type == "purchase"].sum())
            for k in [*KINDS, "advocate"]:
                r[f"{k}_{w}d"] = int(_is(gw, k).sum())
            r[f"spend_{w}d"] = float(gw.value[gw.event_type == "purchase"].sum())
            for c in ("search", "email"):
                r[f"impression_{c}_{w}d"] = int(((gw.event_type == "impression") & (gw.channel == c)).sum())
        for k, mask in (("visit", _is(g, "visit")), ("purchase", _is(g, "purchase")),
                        ("event", pd.Series(True, index=g.index))):
            r[f"days_since_{k}"] = int((d - g.day[mask].max()).days) if mask.any() else max(WINDOWS) + 1
        nxt = nxt_by.get((u, b), empty)
        r["impression_0d"] = int(((nxt.day == d) & (nxt.event_type == "impression")).sum())
        for k in ("visit", "engage", "purchase", "advocate"):
            r[f"next_{k}"] = int(_is(nxt, k).any())
        rows.append(r)
    out = pd.DataFrame(rows)
    stages = world.truth.stages_on(d - pd.Timedelta(days=1))
    level = {"aware": 1, "appeal": 2, "act": 3, "advocate": 4}
    out = out.merge(stages.assign(level=stages.stage.map(level))[["user_id", "brand", "level"]],
                    on=["user_id", "brand"], how="left")
    out["level"] = out.level.fillna(0).astype(int)
    beh = look[look.event_type.isin(SEQ_TYPES)].sort_values(["user_id", "ts", "event_type", "brand"])
    seqs = beh.groupby("user_id").brand.apply(lambda s: list(s)[-seq_len:])
    out["sequence"] = [seqs.get(u, []) for u in out.user_id]
    return out


@pytest.mark.parametrize("horizon", [1, 3])
def test_features_and_labels_match_a_pandas_reading_on_each_engine(engine, world, horizon) -> None:
    got = pair_features(engine.table(world.events), DATES, windows=WINDOWS, horizon=horizon, sequence=5,
                        channels=["search", "email"], same_day=True, consumer=True).table()
    want = pd.concat([_reference(world, d, horizon, 5) for d in DATES], ignore_index=True)
    assert len(got) == len(want) > 300
    got = got.set_index(["date", "user_id", "brand"]).sort_index()
    want = want.set_index(["date", "user_id", "brand"]).sort_index()
    for col in want.columns:
        if col == "sequence":
            assert got[col].tolist() == want[col].tolist()
        elif "spend_" in col:
            np.testing.assert_allclose(got[col].to_numpy(np.float64), want[col].to_numpy(np.float64), rtol=1e-9,
                                       err_msg=col)
        else:
            np.testing.assert_array_equal(got[col].to_numpy(np.int64), want[col].to_numpy(np.int64), err_msg=col)
    # the comparison means something
    assert want.next_visit.sum() > 20 and want.purchase_14d.sum() > 5 and want.spend_14d.sum() > 100
    assert (want.consumer_purchase_14d > want.purchase_14d).sum() > 5  # purchases with other brands count


def test_users_join_and_the_labels_past_the_data_are_null(world) -> None:
    last = world.events.ts.max().normalize()
    f = pair_features(world.events, [last - pd.Timedelta(days=1), last], users=world.users, windows=[7],
                      horizon=2, sequence=0)
    t = f.table()
    assert f.labelled == [last - pd.Timedelta(days=1)]  # the last day's horizon passes the data
    assert t.next_purchase[t.date == last].isna().all() and t.next_purchase[t.date < last].notna().all()
    assert {"geo", "age_band", "gender", "member_level"} <= set(t.columns) and "sequence" not in t.columns
    assert t.geo.notna().all()
    f1 = pair_features(world.events, [last - pd.Timedelta(days=1), last], windows=[7], horizon=1, sequence=0)
    lab = f1.table()
    assert f1.labelled == [last - pd.Timedelta(days=1), last] and lab.next_visit.notna().all()
    assert f1.numeric[:2] == ["level", "impression_7d"] and "days_since_event" in f1.numeric


@pytest.mark.parametrize("kwargs, match", [
    ({"dates": "2025-01-10"}, "dates must be a sequence"),
    ({"dates": []}, "at least one day"),
    ({"windows": []}, "windows must be a non-empty list"),
    ({"windows": [0]}, "windows must hold whole numbers >= 1"),
    ({"horizon": 0}, "horizon must be a whole number"),
    ({"sequence": -1}, "sequence must be a whole number"),
    ({"channels": "search"}, "channels must be a list of distinct"),
    ({"same_day": 1}, "same_day must be True or False"),
    ({"consumer": "yes"}, "consumer must be True or False; found 'yes'"),
    ({"users": pd.DataFrame({"id": [1]})}, "users needs a user_id column"),
    ({"users": pd.DataFrame({"user_id": [1], "level": [2]})}, r"users' column\(s\) \['level'\] clash"),
])
def test_bad_input_is_named(world, kwargs, match) -> None:
    args = {"dates": ["2025-01-20"], **kwargs}
    with pytest.raises(ParameterError, match=match):
        pair_features(world.events, **args)


def test_events_without_the_needed_columns_are_refused() -> None:
    with pytest.raises(SchemaError, match="brand"):
        pair_features(pd.DataFrame({"user_id": [1], "ts": [pd.Timestamp("2025-01-01")], "event_type": ["browse"]}),
                      ["2025-01-02"])
