"""The simulation core: build a world, then simulate each block of consumers day by day.

Everything random is drawn from generators keyed by (seed, block, day), and
every counterfactual world (a coalition of active channels) of a block is
simulated in the same arrays with the same draws: that is what makes the
truth exact under common random numbers (see :mod:`marketing360.datasets.simulator`).

Within a day, for every consumer-brand pair and world:

1. exposures per channel (Poisson quantiles of shared uniforms, higher for
   pairs at Appeal or above when the channel retargets), clicks;
2. adstock, Hill saturation, funnel hazards, and one uniform draw that says
   how far up the ladder browse < engage < purchase < advocate the pair gets;
3. the behaviours of that level (the engagement kind, the review or share of
   an advocate, the purchase's value are shared draws, so a higher level
   emits a superset of events), plus organic follow-ups of earlier purchases
   (later reviews with ratings 1 to 5, after-sales service contacts);
4. :class:`~marketing360.datasets.truth.StageTracker` reads the day's
   events with the stage rules and gives the stage at the end of the day.

Only world 0 (all channels on) emits events, spend and outcomes; every world
counts its conversions. Geo tests (a channel off in some geos for some days)
apply to world 0 and every coalition; one extra world per test runs as
planned (that test not applied) and records its daily conversions, revenue
and spend by geo. The observed world and the worlds with one channel with a
user holdout switched off also count each consumer's purchases, for the
truth of the holdout experiments.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.special import ndtri

from ..assets.rules import StageRules
from ..models.shapley import popcount
from .campaign import PlanArrays, count_campaign, plan_rates
from .emit import _E, EVENT_CODES, _emit_day, events_table
from .truth import EventSource, StageTracker
from .world import BRAND_NAMES, CATEGORIES, GEOS, ChannelParams, FunnelParams

__all__ = ["EVENT_CODES", "build_world", "block_job", "coalition_masks", "events_table"]

_ENGAGE_KINDS = np.array([_E["search"], _E["follow"], _E["cart"], _E["ask"]], np.int8)
_ENGAGE_CUM = np.array([0.35, 0.55, 0.90, 1.0])
#: the true daily chances recorded per pair and day (Truth.propensities), after the stage code
_CHANCES = ("p_click", "p_visit", "p_engage", "p_purchase", "p_advocate", "p_review")
_REVIEW_SHARE = 0.6  # an advocate's step is a review with this chance, else a share
_FIVE_STARS = 0.25  # ... a 5-star review when its uniform is below this, else 4 stars
_AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55+")
_MEMBER_LEVELS = ("regular", "silver", "gold", "plus")


# ============================================================================ the world


@dataclass
class _World:
    seed: int
    n_users: int
    n_days: int  # the simulated days that are observed (after the burn-in)
    start: pd.Timestamp  # the first observed day
    channels: list[str]
    params: list[ChannelParams]
    funnel: np.ndarray  # (4, 5)
    funnel_params: FunnelParams
    rules: StageRules
    block_users: int  # consumers per random-number block
    brands: pd.DataFrame  # brand, category, price
    brand_cat: np.ndarray  # (B,) category index
    cat_brands: list[np.ndarray]
    flight: np.ndarray  # (B, C, burn_in + D) on-air intensity (0 = off air)
    campaign_code: np.ndarray  # (B, C, burn_in + D) int32, -1 off air (or a flight over before the start)
    campaigns: pd.DataFrame
    geo_weight: np.ndarray  # (G, C, weeks of burn_in + D)
    geo_names: list[str]
    geo_p: np.ndarray  # population shares
    holdout: np.ndarray  # (C,) holdout share
    # channel arrays
    theta: np.ndarray
    kappa: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray  # (C, 4)
    rate: np.ndarray
    reach: np.ndarray
    retarget: np.ndarray
    ctr: np.ndarray
    cpm: np.ndarray  # cost per impression
    cpc: np.ndarray  # cost per click
    # geo tests: (J, C, D, G) True where test j switches channel c off on day d in geo g
    geo_off: np.ndarray | None = None
    burn_in: int = 0  # days simulated before ``start`` and not observed (internal day u = burn_in + t)
    daily: np.ndarray | None = None  # (burn_in + D,) multiplier of the organic hazards, shared by all; None: 1
    plan: PlanArrays | None = None  # a targeted campaign (:mod:`.campaign`); each world gives its rows a budget
    chances: bool = False  # record the observed world's true daily chances per pair (truth.propensities)


def build_world(seed: int, n_users: int, n_days: int, start: Any, channels: dict[str, ChannelParams],
                n_brands: int, n_categories: int, n_geos: int, holdout: np.ndarray,
                funnel: FunnelParams, rules: StageRules, block_users: int, burn_in: int = 0) -> _World:
    """Draw the world's brands, campaigns and geo weights (everything but the consumers).

    Campaigns and geo weights span the burn-in and the observed days alike
    (``burn_in + n_days`` days, drawn as one longer world would be); the
    campaigns table lists the flights on air on an observed day, their start
    clipped to ``start`` and their budget that of their observed days.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    names = list(channels)
    params = [channels[c] for c in names]
    C, D = len(names), burn_in + n_days
    cats = list(CATEGORIES)[:n_categories]
    # brands spread over categories, at least one each
    brand_cat = np.concatenate([np.arange(n_categories), rng.integers(0, n_categories, n_brands - n_categories)])
    brand_cat = np.sort(brand_cat)
    price = np.array([CATEGORIES[cats[k]] for k in brand_cat]) * rng.lognormal(0.0, 0.25, n_brands)
    brand_names = [BRAND_NAMES[i] if i < len(BRAND_NAMES) else f"Brand{i:03d}" for i in range(n_brands)]
    brands = pd.DataFrame({"brand": brand_names, "category": [cats[k] for k in brand_cat],
                           "price": np.round(price, 2)})
    cat_brands = [np.flatnonzero(brand_cat == k) for k in range(n_categories)]
    # campaigns: each brand x channel runs 1 to 3 flights; intensity varies by brand and flight
    flight = np.zeros((n_brands, C, D), dtype=np.float32)
    code = np.full((n_brands, C, D), -1, dtype=np.int32)
    rows: list[dict[str, Any]] = []
    start_ts = pd.Timestamp(start).normalize()
    first = start_ts - pd.Timedelta(days=burn_in)  # the first simulated day
    for b in range(n_brands):
        brand_mult = rng.lognormal(0.0, 0.4)
        for c in range(C):
            n_fl = int(rng.integers(1, 4))
            # flight boundaries: 2 * n_fl distinct days in 1..D (a flight may run to the last day)
            bounds = np.sort(rng.choice(np.arange(1, D + 1), size=2 * n_fl, replace=False)) \
                if D > 2 * n_fl else np.array([0, D])
            for f in range(len(bounds) // 2):
                a, z = int(bounds[2 * f]), int(bounds[2 * f + 1])
                if f == 0 and rng.random() < 0.5:
                    a = 0  # many campaigns are on air from day one
                if z <= a:
                    continue
                inten = float(brand_mult * rng.lognormal(0.0, 0.3))
                cid = len(rows)
                flight[b, c, a:z] = inten
                code[b, c, a:z] = cid
                rows.append({"campaign": f"{brand_names[b]}-{names[c]}-{f + 1}", "brand": brand_names[b],
                             "channel": names[c], "start": first + pd.Timedelta(days=max(a, burn_in)),
                             "end": first + pd.Timedelta(days=z - 1), "intensity": inten, "_seen": z > burn_in})
    campaigns = pd.DataFrame(rows)
    if burn_in:  # flights over before the first observed day: not in the table, their codes never emitted
        seen = campaigns.pop("_seen").to_numpy(bool)
        remap = np.full(len(campaigns) + 1, -1, np.int32)
        remap[np.flatnonzero(seen)] = np.arange(int(seen.sum()), dtype=np.int32)
        code = remap[code]  # code -1 reads remap[-1] = -1
        campaigns = campaigns[seen].reset_index(drop=True)
    else:
        campaigns = campaigns.drop(columns="_seen")
    G = n_geos
    W = (D + 6) // 7
    geo_weight = rng.lognormal(0.0, 0.35, size=(G, C, W)).astype(np.float32)
    geo_p = rng.dirichlet(np.full(G, 4.0))
    cpm = np.array([p.price / 1000.0 if p.pricing == "cpm" else 0.0 for p in params])
    cpc = np.array([p.price if p.pricing == "cpc" else 0.0 for p in params])
    world = _World(
        seed=seed, n_users=n_users, n_days=n_days, start=start_ts, channels=names, params=params,
        funnel=funnel.table(), funnel_params=funnel, rules=rules, block_users=block_users,
        brands=brands,
        brand_cat=brand_cat, cat_brands=cat_brands, flight=flight, campaign_code=code,
        campaigns=campaigns, geo_weight=geo_weight, geo_names=list(GEOS[:G]), geo_p=geo_p,
        holdout=holdout,
        theta=np.array([p.theta for p in params], np.float32),
        kappa=np.array([p.kappa for p in params], np.float32),
        alpha=np.array([p.alpha for p in params], np.float32),
        beta=np.array([p.beta for p in params], np.float32),
        rate=np.array([p.rate for p in params], np.float32),
        reach=np.array([p.reach for p in params]),
        retarget=np.array([p.retarget for p in params], np.float32),
        ctr=np.array([p.ctr for p in params], np.float32),
        cpm=cpm, cpc=cpc, burn_in=burn_in,
    )
    if funnel.moves_daily:  # drawn last, from its own stream: worlds without it keep every other draw
        days = np.arange(D)
        week = np.asarray(funnel.weekday, dtype=np.float64)[(first.dayofweek + days) % 7]
        shock = np.random.default_rng(np.random.SeedSequence([seed, 0xDA1])).normal(0.0, funnel.daily_sd, D)
        world.daily = (week * np.exp(shock)).astype(np.float32)
    # planned budget: expected delivered cost of each flight at the targeted audience's size
    world.campaigns["budget"] = _planned_budgets(world, n_users)
    world.campaigns = world.campaigns.drop(columns="intensity")
    return world


def _planned_budgets(w: _World, n_users: int) -> np.ndarray:
    n_cat = len(w.cat_brands)
    out = []
    for row in w.campaigns.itertuples():
        c = w.channels.index(row.channel)
        audience = n_users * 1.5 / n_cat * w.reach[c]  # consumers shop 1.5 categories on average
        days = (row.end - row.start).days + 1
        imps = audience * w.rate[c] * row.intensity * days * (1 - w.holdout[c])
        cost = imps * w.cpm[c] + imps * w.ctr[c] * w.cpc[c]
        out.append(round(float(cost), 2))
    return np.array(out)


@dataclass
class _Block:
    index: int
    user_id: np.ndarray  # (U,)
    users: pd.DataFrame
    pair_user: np.ndarray  # (P,) local user index
    pair_brand: np.ndarray  # (P,)
    pair_geo: np.ndarray  # (P,)
    h: np.ndarray  # (P,) organic propensity
    r: np.ndarray  # (P,) ad responsiveness
    reach: np.ndarray  # (P, C) exposure weight, 0 where unreachable
    holdout: np.ndarray  # (P, C) bool
    user_holdout: np.ndarray  # (U, C) bool
    value_scale: np.ndarray  # (P,) price of the brand
    n_draw: int = 0  # pairs the day's random draws are made for (all the block's, also when only some are kept)
    keep: np.ndarray | None = None  # the pairs kept (indices into the draws); None: all


def _focus(blk: _Block, brand: int) -> _Block:
    """The block restricted to one brand's pairs; the draws stay those of all pairs (common random numbers)."""
    keep = np.flatnonzero(blk.pair_brand == brand)
    return _Block(index=blk.index, user_id=blk.user_id, users=blk.users, pair_user=blk.pair_user[keep],
                  pair_brand=blk.pair_brand[keep], pair_geo=blk.pair_geo[keep], h=blk.h[keep], r=blk.r[keep],
                  reach=blk.reach[keep], holdout=blk.holdout[keep], user_holdout=blk.user_holdout,
                  value_scale=blk.value_scale[keep], n_draw=blk.n_draw, keep=keep)


def _build_block(w: _World, index: int) -> _Block:
    lo = index * w.block_users
    hi = min(w.n_users, lo + w.block_users)
    U = hi - lo
    C = len(w.channels)
    rng = np.random.default_rng(np.random.SeedSequence([w.seed, index, 0xB10C]))
    geo = rng.choice(len(w.geo_names), size=U, p=w.geo_p)
    age = rng.choice(len(_AGE_BANDS), size=U, p=[0.15, 0.30, 0.25, 0.18, 0.12])
    gender = rng.random(U) < 0.52
    member = rng.choice(len(_MEMBER_LEVELS), size=U, p=[0.55, 0.25, 0.13, 0.07])
    # heterogeneity, tied to attributes: members buy more, the young respond more to social/video
    fp = w.funnel_params
    h_user = rng.lognormal(-fp.propensity_sd ** 2 / 2, fp.propensity_sd, U) * (1.0 + 0.25 * member)
    r_user = rng.gamma(fp.responsiveness_shape, 1.0 / fp.responsiveness_shape, U)
    reach_u = (rng.random((U, C)) < w.reach[None, :]) * rng.lognormal(-0.125, 0.5, (U, C))
    young = (age <= 1).astype(np.float64)
    for c, name in enumerate(w.channels):
        if name in ("social", "video"):
            reach_u[:, c] *= 0.7 + 0.6 * young
        if name == "email":
            reach_u[:, c] *= 0.5 + 0.5 * (member > 0)
    user_holdout = rng.random((U, C)) < w.holdout[None, :]
    # categories of interest: one, or two with chance 1/2
    n_cat = len(w.cat_brands)
    first = rng.integers(0, n_cat, U)
    second = np.where(rng.random(U) < 0.5, (first + rng.integers(1, max(n_cat, 2), U)) % n_cat, -1)
    if n_cat == 1:
        second[:] = -1
    pu, pb = [], []
    for k in range(n_cat):
        members = np.flatnonzero((first == k) | (second == k))
        for b in w.cat_brands[k]:
            pu.append(members)
            pb.append(np.full(len(members), b, dtype=np.int32))
    pair_user = np.concatenate(pu) if pu else np.zeros(0, np.int64)
    pair_brand = np.concatenate(pb) if pb else np.zeros(0, np.int32)
    order = np.lexsort((pair_brand, pair_user))
    pair_user, pair_brand = pair_user[order], pair_brand[order]
    P = len(pair_user)
    brand_affinity = rng.lognormal(-0.08, 0.4, P)  # some brands suit a consumer more than others
    users = pd.DataFrame({
        "user_id": np.arange(lo, hi, dtype=np.int64),
        "geo": np.asarray(w.geo_names, dtype=object)[geo],
        "age_band": np.asarray(_AGE_BANDS, dtype=object)[age],
        "gender": np.where(gender, "f", "m").astype(object),
        "member_level": np.asarray(_MEMBER_LEVELS, dtype=object)[member],
    })
    return _Block(
        index=index, user_id=users.user_id.to_numpy(), users=users, pair_user=pair_user,
        pair_brand=pair_brand, pair_geo=geo[pair_user].astype(np.int32),
        h=(h_user[pair_user] * brand_affinity).astype(np.float32),
        r=r_user[pair_user].astype(np.float32),
        reach=reach_u[pair_user].astype(np.float32),
        holdout=user_holdout[pair_user], user_holdout=user_holdout,
        value_scale=w.brands.price.to_numpy()[pair_brand], n_draw=P,
    )




# ============================================================================ one block, all days


@dataclass
class _BlockOut:
    conv: np.ndarray  # (K, B)
    rev: np.ndarray  # (K, B)
    # the observed world's consumer-brand-days: expected number reaching each ladder level, and its variance
    funnel: np.ndarray  # (2, B, 4)
    users: pd.DataFrame | None = None
    events: pa.Table | None = None
    spells: pd.DataFrame | None = None
    ghosts: pd.DataFrame | None = None
    outcome_conv: np.ndarray | None = None  # (D, G)
    outcome_rev: np.ndarray | None = None
    spend: np.ndarray | None = None  # (D, G, C)
    imps: np.ndarray | None = None  # (D, G, C)
    # per consumer purchases and revenue, by world: "" the observed one, a channel name that channel off
    user_conv: dict[str, np.ndarray] | None = None  # (U,)
    user_rev: dict[str, np.ndarray] | None = None
    user_exposed: np.ndarray | None = None  # (U, C) delivered an exposure in the observed world
    user_ghost: np.ndarray | None = None  # (U, C) held out but would have been exposed
    # per geo test j (the world run as planned): daily conversions, revenue (D, G), spend (D, G, C)
    planned: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
    # with a campaign: per world, the campaign brand's conversions, revenue and ad spend from its first day on
    brand_conv: np.ndarray | None = None  # (K,)
    brand_rev: np.ndarray | None = None
    brand_spend: np.ndarray | None = None
    # ... and per consumer, for the worlds given a role ("with" / "without" the campaign): (conversions, revenue)
    campaign_users: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
    # the observed world's true chances per pair and observed day (``w.chances``): see Truth.propensities
    chances: pd.DataFrame | None = None


@dataclass
class _Day:
    """The behaviours of one day beyond ad exposures, per world (K, P) or per pair (P,)."""

    level: np.ndarray  # (K, P) int8: 0 none, 1 browse, 2 engage, 3 purchase, 4 advocate
    kind: np.ndarray  # (P,) event code of the engagement (search / follow / cart / ask)
    value: np.ndarray  # (P,) a purchase's value, rounded to cents
    is_review: np.ndarray  # (P,) an advocate's step is a review (else a share)
    rating: np.ndarray  # (P,) its rating (4 or 5)
    later_review: np.ndarray  # (K, P) bool: a review of an earlier purchase
    later_rating: np.ndarray  # (P,) its rating (1 to 5)
    service: np.ndarray  # (K, P) bool: an after-sales contact about an earlier purchase

    def sources(self, n_del: np.ndarray, clicks: np.ndarray, clicked: np.ndarray,
                counts: set[str]) -> dict[str, Any]:
        """The day's events by type, as :class:`StageTracker` reads them.

        ``n_del`` / ``clicks`` are (C, K, P) delivered exposures / clicks and
        ``clicked`` is (K, P) any click; ``counts`` names the event types some
        criterion counts one by one.
        """
        lv = self.level
        engaged = lv >= 2
        bought = lv >= 3
        adv = lv >= 4
        is_cart = self.kind == _E["cart"]
        out: dict[str, Any] = {
            "impression": n_del.sum(axis=0, dtype=np.int16) if "impression" in counts
            else np.logical_or.reduce(n_del > 0, axis=0),
            "click": clicks.sum(axis=0, dtype=np.int16) if "click" in counts else clicked,
            "browse": lv >= 1,
            # a purchase needs a cart: the engagement, or one more cart event that day
            "cart": (engaged & is_cart[None, :]) | (bought & ~is_cart[None, :]),
            "purchase": EventSource("purchase", bought, self.value),
            "review": [EventSource("review", adv & self.is_review[None, :], self.rating),
                       EventSource("review", self.later_review, self.later_rating)],
            "share": adv & ~self.is_review[None, :],
            "service": self.service,
        }
        for name in ("search", "follow", "ask"):
            out[name] = engaged & (self.kind == _E[name])[None, :]
        return out


def _poisson_inv(u: np.ndarray, lam: np.ndarray, kmax: int = 12) -> np.ndarray:
    """Poisson quantile of uniforms ``u`` (monotone in ``lam`` for a fixed ``u``; the shapes broadcast)."""
    p = np.exp(-lam)
    cdf = p.copy()
    n = np.zeros(np.broadcast_shapes(u.shape, lam.shape), dtype=np.int16)
    for k in range(1, kmax + 1):
        more = u > cdf
        if not more.any():
            break
        n += more
        p = p * lam / k
        cdf = cdf + p
    return n


def _run_block(w: _World, index: int, masks: np.ndarray, tests: np.ndarray, emit: bool,
               events_dir: str | None = None, rates: np.ndarray | None = None,
               roles: np.ndarray | None = None, focus: bool = False) -> _BlockOut:
    """Simulate all days of one block of consumers for K worlds: channel coalitions (rows of ``masks``)
    under the geo tests applied in each (rows of ``tests``) and with the campaign ``w.plan`` at the
    budgets of each, given as rates per unit of reach (``rates``, ``(K, rows)``; no campaign when None).

    ``roles`` names the worlds whose consumers' conversions of the campaign brand are kept (``"with"``,
    ``"without"``; ``""`` for none); ``focus`` simulates the campaign brand's pairs alone (the draws
    stay those of the whole block, so its worlds are the same as in a full run).

    World 0 is the observed one: only it emits events and stage spells.
    The ``w.burn_in`` days before the start are simulated the same way
    (holdouts and channel coalitions apply from the first of them) and
    nothing of them is counted or emitted: internal day ``u`` is observed day
    ``u - w.burn_in``.
    """
    blk = _build_block(w, index)
    pl = w.plan if rates is not None else None
    if focus:
        if pl is None:
            raise ValueError("focus needs a campaign")
        blk = _focus(blk, pl.brand)
    K, C = masks.shape
    P, D = len(blk.pair_user), w.n_days
    B, G = len(w.brands), len(w.geo_names)
    U = len(blk.user_id)
    conv = np.zeros((K, B))
    rev = np.zeros((K, B))
    funnel = np.zeros((2, B, 4))
    out = _BlockOut(conv=conv, rev=rev, funnel=funnel)
    # worlds whose consumers' purchases the holdout truth needs, and the worlds run as planned
    every_test: np.ndarray = np.asarray(tests.all(axis=1))
    track: dict[int, str] = {}
    for k in range(K):
        off = np.flatnonzero(~masks[k])
        if every_test[k] and len(off) == 0 and emit and k == 0:
            track[k] = ""
        elif every_test[k] and len(off) == 1 and w.holdout[off[0]] > 0:
            track[k] = w.channels[off[0]]
    planned = {k: int(np.flatnonzero(~tests[k])[0]) for k in range(K) if not every_test[k]}
    user_conv = {name: np.zeros(U) for name in track.values()}
    user_rev = {name: np.zeros(U) for name in track.values()}
    planned_out = {j: (np.zeros((D, G)), np.zeros((D, G)), np.zeros((D, G, C))) for j in planned.values()}
    user_exposed = np.zeros((U, C), bool)
    user_ghost = np.zeros((U, C), bool)
    out.user_conv, out.user_rev, out.planned = user_conv, user_rev, planned_out
    if emit:
        out.user_exposed, out.user_ghost = user_exposed, user_ghost
    plan_rate, plan_code, on_brand = None, None, np.zeros(P, bool)
    if pl is not None:
        on_brand = blk.pair_brand == pl.brand
        out.brand_conv, out.brand_rev, out.brand_spend = np.zeros(K), np.zeros(K), np.zeros(K)
        out.campaign_users = {str(r): (np.zeros(U), np.zeros(U)) for r in set(roles if roles is not None else ())
                              if r}
        plan_rate, plan_code = plan_rates(pl, blk, rates, C, on_brand)  # type: ignore[arg-type]
    if P == 0:
        return out
    fp = w.funnel_params
    # worlds that differ only by the campaign's budgets are one world until it starts: simulate that one, then
    # copy it into the K worlds (``Kr`` worlds run now)
    fork = focus and pl is not None and K > 1 and bool((masks == masks[0]).all() and (tests == tests[0]).all())
    Kr = 1 if fork else K
    tests_now = tests[:Kr]
    # arrays are channel-major, (C, K, P): each channel's slice is contiguous
    deliver = masks[:Kr].T[:, :, None] & ~blk.holdout.T[:, None, :]  # (C, K, P)
    ghost_mask = masks[0][:, None] & blk.holdout.T  # (C, P) world 0's undelivered exposures
    tracker = StageTracker(w.rules, Kr, P)
    counts = {e for e in ("impression", "click") if tracker.counts_events(e)}
    stage = tracker.stage
    bought_before = np.zeros((Kr, P), dtype=np.uint32)  # bit d-1: a purchase d days ago
    adstock = np.zeros((C, Kr, P), dtype=np.float32)
    sat = np.empty((C, Kr, P), dtype=np.float32)
    hz = w.funnel.astype(np.float32)  # (4, 5)
    lam_unit = (w.rate[:, None] * blk.reach.T).astype(np.float32)  # (C, P)
    # log(1 - ctr), with -0.0 standing for "never clicks" (ctr = 0 -> threshold +inf below)
    log_no_click = np.where(w.ctr > 0, np.log1p(-np.minimum(w.ctr, 1 - 1e-7)), -0.0).astype(np.float32)
    kappa_a = np.power(w.kappa, w.alpha)
    beta = w.beta.astype(np.float32)  # (C, 4)
    flight_t = np.ascontiguousarray(w.flight.transpose(2, 1, 0))  # (D, C, B)
    geo_w = np.ascontiguousarray(w.geo_weight.transpose(2, 1, 0))  # (W, C, G)
    rating_cut = np.cumsum(fp.review_ratings)[:-1]  # rating r + 1 when r cuts are below the uniform
    # a later review of the purchase of d days ago (d uniform on 1..F), positive (rating >= 4) with this chance
    positive_review = fp.review * float(fp.review_ratings[3] + fp.review_ratings[4]) / fp.followup_days
    recent_mask = np.uint32((1 << fp.followup_days) - 1)
    kind_cut = _ENGAGE_CUM[:-1]
    if emit:
        ev_parts: list[dict[str, np.ndarray]] = []
        sp_pair, sp_stage, sp_start, sp_end = [], [], [], []
        cur = np.zeros(P, dtype=np.int8)
        since = np.zeros(P, dtype=np.int32)
        gh_parts: list[tuple[np.ndarray, ...]] = []
        ch_parts: list[np.ndarray] = []  # per observed day: (7, P) stage, p_click, each level's, a later review
        pair_exposed = np.zeros((P, C), bool)
        pair_ghost = np.zeros((P, C), bool)
        oc = np.zeros((D, G))
        orv = np.zeros((D, G))
        spend = np.zeros((D, G, C))
        imps = np.zeros((D, G, C))
        day0 = int(w.start.value // 10**9)
    Pd, kept = blk.n_draw, blk.keep
    for u in range(w.burn_in + D):
        t = u - w.burn_in  # the observed day (negative in the burn-in)
        seen = t >= 0
        if fork and pl is not None and u == pl.first:  # the campaign starts: the worlds part here
            tracker.fork(K)
            stage = tracker.stage
            bought_before = np.repeat(bought_before, K, axis=0)
            adstock = np.repeat(adstock, K, axis=1)
            sat = np.empty((C, K, P), dtype=np.float32)
            deliver = masks.T[:, :, None] & ~blk.holdout.T[:, None, :]
            tests_now = tests
            conv[1:], rev[1:] = conv[0], rev[0]
            fork = False
        rng = np.random.default_rng(np.random.SeedSequence([w.seed, index, u]))
        u_exp = rng.random((C, Pd), dtype=np.float32)
        u_clk = rng.random((C, Pd), dtype=np.float32)
        u_lvl = rng.random(Pd, dtype=np.float32)
        u_val = rng.random(Pd)
        # the kind of what a pair does at each level, shared by all worlds
        u_kind, u_adv, u_rev, u_rating, u_svc = rng.random((5, Pd))
        lag_rev, lag_svc = rng.integers(1, fp.followup_days + 1, size=(2, Pd)).astype(np.uint32)
        if kept is not None:  # the focused pairs' draws
            u_exp, u_clk, lag_rev, lag_svc = u_exp[:, kept], u_clk[:, kept], lag_rev[kept], lag_svc[kept]
            u_lvl, u_val, u_kind, u_adv, u_rev, u_rating, u_svc = (
                x[kept] for x in (u_lvl, u_val, u_kind, u_adv, u_rev, u_rating, u_svc))
        # ---- exposures: two intensities (below / at-or-above Appeal), shared by all worlds, plus a campaign's
        lam_lo = lam_unit * flight_t[u][:, blk.pair_brand] * geo_w[u // 7][:, blk.pair_geo]  # (C, P)
        lam_hi = lam_lo * (1.0 + w.retarget[:, None])
        hi = stage >= 2  # (K, P)
        plan_share = None
        if plan_rate is not None and pl is not None and pl.first <= u <= pl.last:
            n = np.where(hi[None], _poisson_inv(u_exp[:, None, :], lam_hi[:, None, :] + plan_rate),
                         _poisson_inv(u_exp[:, None, :], lam_lo[:, None, :] + plan_rate))  # (C, K, P)
            if emit:  # the campaign's share of world 0's rate: which campaign a day's exposures belong to
                total0 = np.where(hi[0][None], lam_hi, lam_lo) + plan_rate[:, 0, :]
                with np.errstate(divide="ignore", invalid="ignore"):
                    plan_share = np.where(total0 > 0, plan_rate[:, 0, :] / total0, 0.0)
        else:
            n_lo = _poisson_inv(u_exp, lam_lo)
            n_hi = _poisson_inv(u_exp, lam_hi)
            n = np.where(hi[None], n_hi[:, None, :], n_lo[:, None, :])  # (C, K, P)
        n_del = n * deliver
        off0 = None  # (C, P) where a geo test applied in world 0 switches the channel off today
        if w.geo_off is not None and seen:
            for jt in np.flatnonzero(w.geo_off[:, :, t, :].any(axis=(1, 2))):
                off_cp = w.geo_off[jt][:, t, blk.pair_geo]  # (C, P)
                n_del = np.where(tests_now[None, :, jt, None] & off_cp[:, None, :], 0, n_del)
                if tests[0, jt]:
                    off0 = off_cp if off0 is None else off0 | off_cp
        # a click when u < 1 - (1 - ctr)^n, i.e. n > log(1 - u) / log(1 - ctr): one threshold per
        # pair and channel, shared by all worlds
        with np.errstate(divide="ignore", invalid="ignore"):
            click_at = np.log1p(-u_clk) / log_no_click[:, None]  # (C, P)
        click_at[log_no_click == 0] = np.inf
        clicks = n_del > click_at[:, None, :]
        clicked = np.logical_or.reduce(clicks, axis=0)  # (K, P)
        # ---- adstock and saturation
        adstock *= w.theta[:, None, None]
        adstock += n_del
        drive = np.zeros((4, stage.shape[0], P), dtype=np.float32)
        for c in range(C):
            a = adstock[c] if w.alpha[c] == 1 else np.power(adstock[c], w.alpha[c])
            np.divide(a, a + kappa_a[c], out=sat[c])
            for j in range(4):
                if beta[c, j]:
                    drive[j] += beta[c, j] * sat[c]
        drive *= blk.r[None, None, :]
        base = hz[:, stage] * blk.h[None, None, :]  # (4, K, P)
        if w.daily is not None:
            base *= w.daily[u]
        np.minimum(base, np.float32(0.95), out=base)
        # hazard of each funnel step, then how far up the ladder one uniform draw gets
        step = 1.0 - (1.0 - base) * np.exp(-drive)
        level = np.zeros(stage.shape, dtype=np.int8)
        reach_j = np.ones(stage.shape, dtype=np.float32)
        reach0 = np.empty((4, P))  # the observed world's chance of each level or higher: the planted funnel
        for j in range(4):
            reach_j *= step[j]
            level += u_lvl < reach_j
            reach0[j] = reach_j[0]
        if emit and seen and w.chances:
            # P(no click) = prod_c (1 - ctr_c)^n_c given the delivered exposures; a click lands on the brand page
            p_click = -np.expm1((n_del[:, 0, :] * log_no_click[:, None]).sum(axis=0, dtype=np.float64))
            # an organic positive review of a purchase of the last F days (ads do not move it)
            p_review = positive_review * popcount(bought_before[0] & recent_mask)
            ch_parts.append(np.vstack([stage[0], p_click, 1.0 - (1.0 - reach0[0]) * (1.0 - p_click), reach0[1:],
                                       p_review]))
        level = np.maximum(level, clicked.astype(np.int8))  # a click lands on the brand page
        reach0[0] = np.where(clicked[0], 1.0, reach0[0])
        # ---- the day's behaviours, then the stage they make
        value = np.round(blk.value_scale * np.exp(fp.value_sd * ndtri(u_val) - fp.value_sd ** 2 / 2), 2)
        # a follow-up of the purchase made lag days ago, if the pair made one
        later_review = ((bought_before >> (lag_rev - 1)) & 1).astype(bool) & (u_rev < fp.review)[None, :]
        later_rating = np.full(P, np.nan)
        rv = np.flatnonzero(np.logical_or.reduce(later_review, axis=0))
        later_rating[rv] = 1.0 + (u_rating[rv, None] >= rating_cut[None, :]).sum(axis=1)
        kind = np.full(P, _ENGAGE_KINDS[0])
        for cut, code in zip(kind_cut, _ENGAGE_KINDS[1:]):
            kind[u_kind >= cut] = code
        day = _Day(
            level=level, kind=kind, value=value,
            is_review=u_adv < _REVIEW_SHARE,
            rating=np.where(u_adv < _FIVE_STARS, 5.0, 4.0),
            later_review=later_review, later_rating=later_rating,
            service=((bought_before >> (lag_svc - 1)) & 1).astype(bool) & (u_svc < fp.service)[None, :],
        )
        b3 = level >= 3
        bought_before = (bought_before << np.uint32(1)) | b3
        stage = tracker.update(u, day.sources(n_del, clicks, clicked, counts))
        if not seen:
            continue
        # ---- conversions
        if pl is not None and t >= pl.t0:
            count_campaign(out, blk, b3, value, n_del, clicks, w, on_brand, roles)
        for k in range(b3.shape[0]):
            pk = b3[k]
            conv[k] += np.bincount(blk.pair_brand[pk], minlength=B)
            rev[k] += np.bincount(blk.pair_brand[pk], weights=value[pk], minlength=B)
            if k in track:
                user_conv[track[k]] += np.bincount(blk.pair_user[pk], minlength=U)
                user_rev[track[k]] += np.bincount(blk.pair_user[pk], weights=value[pk], minlength=U)
            if k in planned:
                p_oc, p_rev, p_sp = planned_out[planned[k]]
                p_oc[t] += np.bincount(blk.pair_geo[pk], minlength=G)
                p_rev[t] += np.bincount(blk.pair_geo[pk], weights=value[pk], minlength=G)
                cost_k = n_del[:, k, :].T * w.cpm[None, :] + clicks[:, k, :].T * w.cpc[None, :]
                for c in range(C):
                    p_sp[t, :, c] += np.bincount(blk.pair_geo, weights=cost_k[:, c], minlength=G)
        if emit:
            for j in range(4):
                funnel[0, :, j] += np.bincount(blk.pair_brand, weights=reach0[j], minlength=B)
                funnel[1, :, j] += np.bincount(blk.pair_brand, weights=reach0[j] * (1.0 - reach0[j]), minlength=B)
            erng = np.random.default_rng(np.random.SeedSequence([w.seed, index, u, 1]))
            nd0, ck0 = n_del[:, 0, :].T, clicks[:, 0, :].T  # (P, C)
            label = None if plan_share is None else (plan_share.T, plan_code.T)  # type: ignore[union-attr]
            ev_parts.append(_emit_day(w, blk, t, day0, nd0, ck0, day, erng, label))
            g_pur = blk.pair_geo[b3[0]]
            oc[t] += np.bincount(g_pur, minlength=G)
            orv[t] += np.bincount(g_pur, weights=value[b3[0]], minlength=G)
            cost = nd0 * w.cpm[None, :] + ck0 * w.cpc[None, :]
            for c in range(C):
                spend[t, :, c] += np.bincount(blk.pair_geo, weights=cost[:, c], minlength=G)
                imps[t, :, c] += np.bincount(blk.pair_geo, weights=nd0[:, c], minlength=G)
            # the held-out consumers' would-be exposures: none where a geo test has the channel off for everyone
            gm = (n[:, 0, :] * (ghost_mask if off0 is None else ghost_mask & ~off0)).T  # (P, C)
            pair_exposed |= nd0 > 0
            pair_ghost |= gm > 0
            gp, gc = np.nonzero(gm)
            if len(gp):
                gh_parts.append((blk.user_id[blk.pair_user[gp]], np.full(len(gp), t, np.int32),
                                 blk.pair_brand[gp], gc.astype(np.int16), gm[gp, gc]))
            changed = np.flatnonzero(stage[0] != cur)
            keep = changed[cur[changed] > 0]
            sp_pair.append(keep)
            sp_stage.append(cur[keep])
            sp_start.append(since[keep])
            sp_end.append(np.full(len(keep), t - 1, np.int32))
            cur[changed] = stage[0][changed]
            since[changed] = t
    if emit:
        keep = np.flatnonzero(cur > 0)
        sp_pair.append(keep)
        sp_stage.append(cur[keep])
        sp_start.append(since[keep])
        sp_end.append(np.full(len(keep), D - 1, np.int32))
        pairs = np.concatenate(sp_pair)
        out.spells = pd.DataFrame({
            "user_id": blk.user_id[blk.pair_user[pairs]],
            "brand_code": blk.pair_brand[pairs],
            "stage_code": np.concatenate(sp_stage),
            "start_day": np.concatenate(sp_start),
            "end_day": np.concatenate(sp_end),
        })
        if ch_parts:
            ch = np.stack(ch_parts, axis=1)  # (7, D, P)
            out.chances = pd.DataFrame({
                "user_id": np.tile(blk.user_id[blk.pair_user], D), "brand_code": np.tile(blk.pair_brand, D),
                "day": np.repeat(np.arange(D, dtype=np.int32), P), "stage_code": ch[0].ravel().astype(np.int8),
                **{name: ch[i].ravel().astype(np.float32) for i, name in enumerate(_CHANCES, start=1)}})
        events = events_table(w, ev_parts)
        if events_dir is not None:
            pq.write_table(events, os.path.join(events_dir, f"part-{index:05d}.parquet"),
                           row_group_size=1 << 20)
        else:
            out.events = events
        out.users = blk.users
        np.logical_or.at(user_exposed, blk.pair_user, pair_exposed)
        np.logical_or.at(user_ghost, blk.pair_user, pair_ghost)
        if gh_parts:
            cols = list(zip(*gh_parts))
            out.ghosts = pd.DataFrame({
                "user_id": np.concatenate(cols[0]), "day": np.concatenate(cols[1]),
                "brand_code": np.concatenate(cols[2]), "channel_code": np.concatenate(cols[3]),
                "impressions": np.concatenate(cols[4]).astype(np.int64)})
        out.outcome_conv, out.outcome_rev, out.spend, out.imps = oc, orv, spend, imps
        out.users = out.users.assign(**{f"_holdout_{w.channels[c]}": blk.user_holdout[:, c]
                                       for c in range(C) if w.holdout[c] > 0})
    return out


# ============================================================================ coalitions and jobs


def coalition_masks(C: int, truth: str, n_tests: int = 0) -> tuple[np.ndarray, list[int], np.ndarray]:
    """Worlds to simulate as channel masks; row 0 is the observed world (all on).

    Returns the masks, per coalition row the coalition as a bit mask, and per row the geo tests applied
    (``(K, n_tests)`` bool): every test in the coalitions, all but test ``j`` in the last ``n_tests`` rows
    (test ``j``'s world as planned, all channels on).
    """
    full = (1 << C) - 1
    if truth == "none":
        bits = [full]
    elif truth == "incremental":
        bits = [full] + [full & ~(1 << c) for c in range(C)] + [0]
    else:
        bits = [full] + [s for s in range(full)]
    masks = np.array([[(s >> c) & 1 for c in range(C)] for s in [*bits, *[full] * n_tests]], dtype=bool)
    tests = np.ones((len(masks), n_tests), dtype=bool)
    for j in range(n_tests):
        tests[len(bits) + j, j] = False
    return masks, bits, tests


def block_job(args: tuple) -> _BlockOut:
    """One block of consumers, all worlds (in chunks that fit in memory); world 0 emits unless ``focus``.

    ``args`` is ``(world, block, masks, tests, events_dir, chunk)``, then optionally ``(rates, roles,
    focus)`` for a campaign (see :func:`_run_block`).
    """
    w, index, masks, tests, events_dir, chunk = args[:6]
    rates, roles, focus = args[6:] if len(args) > 6 else (None, None, False)
    K = len(masks)
    parts = []
    for lo in range(0, K, chunk):
        part = slice(lo, lo + chunk)
        parts.append(_run_block(w, index, masks[part], tests[part], emit=(lo == 0 and not focus),
                                events_dir=events_dir, rates=None if rates is None else rates[part],
                                roles=None if roles is None else roles[part], focus=focus))
    head = parts[0]
    head.conv = np.concatenate([p.conv for p in parts])
    head.rev = np.concatenate([p.rev for p in parts])
    if rates is not None:
        for name in ("brand_conv", "brand_rev", "brand_spend"):
            setattr(head, name, np.concatenate([getattr(p, name) for p in parts]))
    for p in parts[1:]:
        head.user_conv.update(p.user_conv or {})  # type: ignore[union-attr]
        head.user_rev.update(p.user_rev or {})  # type: ignore[union-attr]
        head.planned.update(p.planned or {})  # type: ignore[union-attr]
        if head.campaign_users is not None:
            head.campaign_users.update(p.campaign_users or {})
    return head


