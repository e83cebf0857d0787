"""The observed world's events: one day's behaviours as columns of codes, and the canonical events table.

Only world 0 (the observed one) emits; :mod:`.simcore` calls :func:`_emit_day` once per day and block,
and :func:`events_table` once per block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from .simcore import _Block, _Day, _World

__all__ = ["EVENT_CODES", "events_table"]

#: the event types the simulator emits, in the order of their codes
EVENT_CODES = ("impression", "click", "browse", "search", "follow", "cart", "ask",
               "purchase", "review", "share", "service")
_E = {name: np.int8(i) for i, name in enumerate(EVENT_CODES)}


def _emit_day(w: _World, blk: _Block, t: int, day0: int, n_del: np.ndarray, clicks: np.ndarray,
              day: _Day, rng: np.random.Generator,
              label: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """The observed world's events of one day, as columns of codes: exactly ``day.sources`` of world 0.

    ``label``, on a day a campaign is on air, is ``(share, code)``, both ``(P, C)``: a pair's exposures of a
    channel that day (and its click) belong to the campaign row ``code`` with chance ``share`` (its share of
    the exposure rate), else to the brand's flight.
    """
    C = len(w.channels)
    base = day0 + t * 86_400
    cols: dict[str, list[np.ndarray]] = {k: [] for k in
                                        ("pair", "ts", "etype", "channel", "campaign", "value", "cost")}

    def add(pair, ts, etype, channel, campaign, value, cost):
        m = len(pair)
        cols["pair"].append(pair)
        cols["ts"].append(ts.astype(np.int64))
        cols["etype"].append(np.full(m, etype, np.int8) if np.isscalar(etype) else etype.astype(np.int8))
        cols["channel"].append(np.broadcast_to(np.asarray(channel, np.int8), (m,)))
        cols["campaign"].append(np.broadcast_to(np.asarray(campaign, np.int32), (m,)))
        cols["value"].append(np.broadcast_to(np.asarray(value, np.float64), (m,)))
        cols["cost"].append(np.broadcast_to(np.asarray(cost, np.float64), (m,)))

    # ad impressions (a burst per pair and channel in the first 14 hours) and clicks
    pp, cc = np.nonzero(n_del)
    if len(pp):
        cnt = n_del[pp, cc].astype(np.int64)
        start = rng.integers(0, 14 * 3600, len(pp))
        gap = rng.integers(60, 1800, len(pp))
        rep = np.repeat(np.arange(len(pp)), cnt)
        j = np.arange(len(rep)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        camp = w.campaign_code[blk.pair_brand[pp], cc, w.burn_in + t]
        if label is not None:
            share, code = label
            camp = np.where(rng.random(len(pp)) < share[pp, cc], code[pp, cc], camp)
        add(pp[rep], base + start[rep] + j * gap[rep], _E["impression"], cc[rep], camp[rep],
            np.nan, w.cpm[cc[rep]])
        ck = clicks[pp, cc]
        add(pp[ck], base + start[ck] + 20, _E["click"], cc[ck], camp[ck], np.nan, w.cpc[cc[ck]])
    # behaviours from the afternoon on, in funnel order
    level = day.level[0]
    bp = np.flatnonzero(level >= 1)
    if len(bp):
        lv = level[bp]
        t0 = base + 14 * 3600 + rng.integers(0, 9 * 3600, len(bp))
        clicked = clicks[bp].any(axis=1)
        organic = rng.random(len(bp)) < 0.6
        src = np.where(clicked, clicks[bp].argmax(axis=1), np.where(organic, C, C + 1))
        add(bp, t0, _E["browse"], src, -1, np.nan, np.nan)
        e = lv >= 2
        kind = day.kind[bp]
        add(bp[e], t0[e] + 120, kind[e], src[e], -1, np.nan, np.nan)
        p3 = lv >= 3
        extra_cart = p3 & (kind != _E["cart"])  # a purchase needs a cart event that day
        add(bp[extra_cart], t0[extra_cart] + 300, _E["cart"], src[extra_cart], -1, np.nan, np.nan)
        add(bp[p3], t0[p3] + 600, _E["purchase"], src[p3], -1, day.value[bp[p3]], np.nan)
        p4 = lv >= 4
        review = day.is_review[bp[p4]]
        add(bp[p4], t0[p4] + 900, np.where(review, _E["review"], _E["share"]), src[p4], -1,
            np.where(review, day.rating[bp[p4]], np.nan), np.nan)
    # follow-ups of earlier purchases: the consumer comes back directly, any time of the day
    for etype, mask, value in ((_E["review"], day.later_review[0], day.later_rating),
                               (_E["service"], day.service[0], None)):
        fp_ = np.flatnonzero(mask)
        if len(fp_):
            add(fp_, base + rng.integers(0, 86_400, len(fp_)), etype, C + 1, -1,
                np.nan if value is None else value[fp_], np.nan)
    if not cols["pair"]:
        return {"user": np.zeros(0, np.int64), "brand": np.zeros(0, np.int16),
                **{k: np.zeros(0, v.dtype) for k, v in _EMPTY.items()}}
    pair = np.concatenate(cols["pair"])
    return {
        "user": blk.user_id[blk.pair_user[pair]],
        "brand": blk.pair_brand[pair].astype(np.int16),
        "ts": np.concatenate(cols["ts"]),
        "etype": np.concatenate(cols["etype"]),
        "channel": np.concatenate(cols["channel"]),
        "campaign": np.concatenate(cols["campaign"]),
        "value": np.concatenate(cols["value"]),
        "cost": np.concatenate(cols["cost"]),
    }


_EMPTY: dict[str, np.ndarray] = {
    "ts": np.zeros(0, np.int64), "etype": np.zeros(0, np.int8), "channel": np.zeros(0, np.int8),
    "campaign": np.zeros(0, np.int32), "value": np.zeros(0), "cost": np.zeros(0)}


def events_table(w: _World, parts: list[dict[str, np.ndarray]]) -> pa.Table:
    """Canonical events as an Arrow table with dictionary-encoded strings."""
    cat: dict[str, np.ndarray] = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else \
        {"user": np.zeros(0, np.int64), "brand": np.zeros(0, np.int16), **_EMPTY}
    order = np.lexsort((cat["ts"], cat["user"]))  # per consumer, in time order
    cat = {k: v[order] for k, v in cat.items()}
    channel_names = pa.array(list(w.channels) + ["organic", "direct"], pa.string())

    def dict_col(codes: np.ndarray, names: pa.Array) -> pa.Array:
        idx = pa.array(codes.astype(np.int32), mask=codes < 0)
        return pa.DictionaryArray.from_arrays(idx, names)

    value, cost = cat["value"], cat["cost"]
    return pa.table({
        "user_id": pa.array(cat["user"], pa.int64()),
        "ts": pa.array(cat["ts"] * 1_000_000, pa.timestamp("us")),
        "brand": dict_col(cat["brand"], pa.array(w.brands.brand.tolist(), pa.string())),
        "event_type": dict_col(cat["etype"], pa.array(EVENT_CODES, pa.string())),
        "channel": dict_col(cat["channel"], channel_names),
        "campaign": dict_col(cat["campaign"], pa.array(w.campaigns.campaign.tolist(), pa.string())),
        "value": pa.array(value, pa.float64(), mask=np.isnan(value)),
        "cost": pa.array(cost, pa.float64(), mask=np.isnan(cost)),
    })
