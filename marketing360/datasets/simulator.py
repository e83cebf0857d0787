"""The ground-truth simulator: a world of consumers, brands and ad channels with known causal truth.

How the world works
-------------------
Consumers (with geo, age band, gender, member level, an organic propensity
and an ad responsiveness) shop the brands of one or two categories. Every
day, for every consumer-brand pair:

1. each channel delivers ``Poisson(rate * reach * flight * geo_weight *
   (1 + retarget * [stage >= appeal]))`` exposures while its campaign is on
   air (consumers in a channel's randomised holdout get *ghost* exposures,
   logged apart and never delivered); a day's exposures lead to a click
   with chance ``1 - (1 - ctr)^n``;
2. exposures feed a geometric adstock per channel, ``A(t) = n(t) + theta *
   A(t-1)``, which saturates through a Hill curve;
3. the consumer climbs a ladder of four funnel steps: browse, engage
   (search / follow / cart / ask), purchase, advocate (review / share).
   The hazard of each step, given the previous one, is
   ``1 - (1 - h_i * base[step, stage]) * exp(-r_i * sum_c beta[c, step] * sat_c(A_c))``
   (organic baseline times a consumer propensity ``h_i``, plus each
   channel's saturated lift scaled by a responsiveness ``r_i``); one
   uniform draw decides how far up the ladder the consumer gets that day,
   and a click lands the consumer on the brand page (a browse);
4. the consumer's true 4A stage is the highest stage whose rule (see
   :class:`~marketing360.datasets.world.StageWindows`) holds on the
   behaviours so far.

Truth under common random numbers
---------------------------------
Every random draw is keyed by (seed, block of consumers, day) and shared by
every counterfactual world, and every step above is monotone in the set of
active channels. So re-simulating with channels switched off gives, pathwise,
no more exposures, stages or purchases: the true incremental conversions of
each channel are non-negative, the Shapley values (the exact split of the
total incremental conversions over channels, from all 2^C coalitions) are
non-negative and sum to ``conversions(all) - conversions(none)``.

Examples
--------
>>> from marketing360.datasets import simulate
>>> w = simulate(n_users=300, n_days=21, seed=7)
>>> sorted(w.events.event_type.unique())[:4]
['ask', 'browse', 'cart', 'click']
>>> bool((w.truth.incremental.conversions >= 0).all())
True
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.special import ndtri

from ..errors import ParameterError
from ..models.shapley import exact_shapley
from .world import (
    BRAND_NAMES,
    CATEGORIES,
    CHANNELS,
    GEOS,
    STAGES,
    ChannelParams,
    FunnelParams,
    StageWindows,
    resolve_channels,
)

__all__ = ["simulate", "SimulationResult", "Truth", "CHANNELS", "BLOCK_USERS"]

#: consumers per random-number block: the unit of determinism and of parallel work
BLOCK_USERS = 16_384
#: most channels for which exact Shapley values are computed (2^C re-simulations)
MAX_SHAPLEY_CHANNELS = 10
_FAR = np.int16(-30_000)  # "never happened" marker of last-event days
_EVENT_CODES = ("impression", "click", "browse", "search", "follow", "cart", "ask",
                "purchase", "review", "share")
_E = {name: np.int8(i) for i, name in enumerate(_EVENT_CODES)}
_ENGAGE_KINDS = (_E["search"], _E["follow"], _E["cart"], _E["ask"])
_ENGAGE_CUM = np.array([0.35, 0.55, 0.90, 1.0])
_AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55+")
_MEMBER_LEVELS = ("regular", "silver", "gold", "plus")

Truth_ = Literal["full", "incremental", "none"]


# ============================================================================ results


@dataclass
class Truth:
    """What the simulator knows and an analysis must recover.

    Attributes
    ----------
    stages : pandas.DataFrame
        True 4A stage spells: ``user_id, brand, stage, start, end`` (dates,
        ``end`` inclusive); a pair is ``unaware`` on days no spell covers.
    incremental : pandas.DataFrame
        Per channel: ``conversions`` and ``revenue`` lost when the channel
        alone is switched off (common random numbers).
    shapley : pandas.DataFrame or None
        Per channel: the exact Shapley split of the total incremental
        conversions and revenue (``truth="full"``, up to 10 channels).
    incremental_by_brand : pandas.DataFrame
        ``channel, brand, conversions, revenue`` as ``incremental`` per brand.
    channel_params : pandas.DataFrame
        The planted adstock, saturation, lift and delivery parameters.
    totals : dict
        ``conversions`` / ``revenue`` of the observed world, of the world
        with no ads (``baseline_*``) and their difference (``incremental_*``).
    coalitions : pandas.DataFrame or None
        Conversions and revenue of every simulated coalition of channels.
    """

    stages: pd.DataFrame | None
    incremental: pd.DataFrame | None
    shapley: pd.DataFrame | None
    incremental_by_brand: pd.DataFrame | None
    channel_params: pd.DataFrame
    totals: dict[str, float]
    coalitions: pd.DataFrame | None
    windows: StageWindows = field(default_factory=StageWindows)

    def stages_on(self, date: Any) -> pd.DataFrame:
        """True stage of every consumer-brand pair that is at least Aware on ``date``."""
        if self.stages is None:
            raise ParameterError("this world was simulated without stage truth")
        d = pd.Timestamp(date)
        s = self.stages
        return s.loc[(s.start <= d) & (s.end >= d), ["user_id", "brand", "stage"]].reset_index(drop=True)


@dataclass(repr=False)
class SimulationResult:
    """A simulated world: canonical tables plus the truth behind them.

    Attributes
    ----------
    events : pandas.DataFrame or None
        Canonical events (None when written to parquet: see ``events_path``).
    users, brands, campaigns : pandas.DataFrame
        Consumers with attributes; brands with category and price; campaigns
        with channel, flight dates and budget.
    spend, outcomes : pandas.DataFrame
        Canonical spend (date, geo, channel, spend, impressions) and
        outcomes (date, geo, conversions, revenue) by geo and ``freq``.
    ghost_impressions : pandas.DataFrame
        Exposures the holdout groups would have seen (user_id, date, brand,
        channel, impressions).
    assignments : pandas.DataFrame
        ``user_id, channel, holdout`` for channels with a holdout share.
    truth : Truth
    config : dict
        The arguments of :func:`simulate`.
    events_path : Path or None
        Folder of the events parquet files when ``out`` was given.
    """

    events: pd.DataFrame | None
    users: pd.DataFrame
    brands: pd.DataFrame
    campaigns: pd.DataFrame
    spend: pd.DataFrame
    outcomes: pd.DataFrame
    ghost_impressions: pd.DataFrame
    assignments: pd.DataFrame
    truth: Truth
    config: dict[str, Any]
    events_path: Path | None = None

    TABLES = ("events", "users", "brands", "campaigns", "spend", "outcomes",
              "ghost_impressions", "assignments")
    TRUTH_TABLES = ("stages", "incremental", "shapley", "incremental_by_brand",
                    "channel_params", "coalitions")

    @property
    def channels(self) -> list[str]:
        return list(self.config["channels"])

    def write(self, path: str | Path) -> Path:
        """Write every table as parquet, plus ``world.json``, under ``path``; returns it.

        Each file is written whole or not at all. Events kept on disk (``out=``)
        are copied unless they already are ``path/events``.
        """
        root = Path(path)
        (root / "truth").mkdir(parents=True, exist_ok=True)
        for name in self.TABLES:
            df = getattr(self, name)
            if df is not None:
                _write_frame(df, root / f"{name}.parquet")
        if self.events is None and self.events_path is not None:
            src, dst = Path(self.events_path).resolve(), (root / "events").resolve()
            if src != dst:
                dst.mkdir(exist_ok=True)
                for f in sorted(src.glob("*.parquet")):
                    _atomic_bytes(dst / f.name, f.read_bytes())
        for name in self.TRUTH_TABLES:
            df = getattr(self.truth, name)
            if df is not None:
                _write_frame(df, root / "truth" / f"{name}.parquet")
        meta = {"config": self.config, "totals": self.truth.totals,
                "windows": vars(self.truth.windows)}
        _atomic_bytes(root / "world.json", json.dumps(meta, indent=1, default=str).encode())
        return root

    @classmethod
    def read(cls, path: str | Path) -> "SimulationResult":
        """Read a world written by :meth:`write` (events stay on disk if stored as a folder)."""
        root = Path(path)
        meta = json.loads((root / "world.json").read_text())

        def opt(p: Path) -> pd.DataFrame | None:
            return _decategorize(pd.read_parquet(p)) if p.exists() else None

        events = opt(root / "events.parquet")
        truth = Truth(**{n: opt(root / "truth" / f"{n}.parquet") for n in cls.TRUTH_TABLES},
                      totals=meta["totals"], windows=StageWindows(**meta["windows"]))
        return cls(events=events,
                   **{n: opt(root / f"{n}.parquet") for n in cls.TABLES if n != "events"},
                   truth=truth, config=meta["config"],
                   events_path=(root / "events") if events is None else None)

    def __repr__(self) -> str:
        n_ev = f"{len(self.events):,} events" if self.events is not None else f"events in {self.events_path}"
        return (f"<SimulationResult: {len(self.users):,} consumers, {len(self.brands)} brands, "
                f"{len(self.channels)} channels, {self.config.get('n_days')} days, {n_ev}>")

    def _repr_html_(self) -> str:
        n_ev = f"{len(self.events):,}" if self.events is not None else f"on disk ({self.events_path})"
        t = self.truth.totals
        inc = t.get("incremental_conversions")
        return (f"<b>Simulated world</b>: {len(self.users):,} consumers, {len(self.brands)} brands, "
                f"{len(self.channels)} channels, {self.config['n_days']} days; events: {n_ev}<br>"
                f"conversions {t['conversions']:,.0f}"
                + (f", of which incremental to ads {inc:,.0f}" if inc is not None else ""))


# ============================================================================ the world


@dataclass
class _World:
    seed: int
    n_users: int
    n_days: int
    start: pd.Timestamp
    channels: list[str]
    params: list[ChannelParams]
    funnel: np.ndarray  # (4, 5)
    funnel_params: FunnelParams
    windows: StageWindows
    brands: pd.DataFrame  # brand, category, price
    brand_cat: np.ndarray  # (B,) category index
    cat_brands: list[np.ndarray]
    flight: np.ndarray  # (B, C, D) on-air intensity (0 = off air)
    campaign_code: np.ndarray  # (B, C, D) int32, -1 off air
    campaigns: pd.DataFrame
    geo_weight: np.ndarray  # (G, C, W)
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


def _build_world(seed: int, n_users: int, n_days: int, start: Any, channels: dict[str, ChannelParams],
                 n_brands: int, n_categories: int, n_geos: int, holdout: np.ndarray,
                 funnel: FunnelParams, windows: StageWindows) -> _World:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    names = list(channels)
    params = [channels[c] for c in names]
    C, D = len(names), n_days
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
    rows = []
    start_ts = pd.Timestamp(start).normalize()
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
                             "channel": names[c], "start": start_ts + pd.Timedelta(days=a),
                             "end": start_ts + pd.Timedelta(days=z - 1), "intensity": inten})
    campaigns = pd.DataFrame(rows)
    G = n_geos
    W = (D + 6) // 7
    geo_weight = rng.lognormal(0.0, 0.35, size=(G, C, W)).astype(np.float32)
    geo_p = rng.dirichlet(np.full(G, 4.0))
    cpm = np.array([p.price / 1000.0 if p.pricing == "cpm" else 0.0 for p in params])
    cpc = np.array([p.price if p.pricing == "cpc" else 0.0 for p in params])
    world = _World(
        seed=seed, n_users=n_users, n_days=D, start=start_ts, channels=names, params=params,
        funnel=funnel.table(), funnel_params=funnel, windows=windows, brands=brands,
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
        cpm=cpm, cpc=cpc,
    )
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


def _build_block(w: _World, index: int) -> _Block:
    lo = index * BLOCK_USERS
    hi = min(w.n_users, lo + BLOCK_USERS)
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
        value_scale=w.brands.price.to_numpy()[pair_brand],
    )


# ============================================================================ one block, all days


def _poisson_inv(u: np.ndarray, lam: np.ndarray, kmax: int = 12) -> np.ndarray:
    """Poisson quantile of uniforms ``u`` (monotone in ``lam`` for a fixed ``u``)."""
    p = np.exp(-lam)
    cdf = p.copy()
    n = np.zeros(u.shape, dtype=np.int16)
    for k in range(1, kmax + 1):
        more = u > cdf
        if not more.any():
            break
        n += more
        p = p * lam / k
        cdf = cdf + p
    return n


@dataclass
class _BlockOut:
    conv: np.ndarray  # (K, B)
    rev: np.ndarray  # (K, B)
    users: pd.DataFrame | None = None
    events: pa.Table | None = None
    spells: pd.DataFrame | None = None
    ghosts: pd.DataFrame | None = None
    outcome_conv: np.ndarray | None = None  # (D, G)
    outcome_rev: np.ndarray | None = None
    spend: np.ndarray | None = None  # (D, G, C)
    imps: np.ndarray | None = None  # (D, G, C)


def _run_block(w: _World, index: int, masks: np.ndarray, emit: bool,
               events_dir: str | None = None) -> _BlockOut:
    """Simulate all days of one block of consumers for K channel coalitions (rows of ``masks``).

    World 0 is the observed one: only it emits events and stage spells.
    """
    blk = _build_block(w, index)
    K, C = masks.shape
    P, D = len(blk.pair_user), w.n_days
    B, G = len(w.brands), len(w.geo_names)
    conv = np.zeros((K, B))
    rev = np.zeros((K, B))
    out = _BlockOut(conv=conv, rev=rev)
    if P == 0:
        return out
    # arrays are channel-major, (C, K, P): each channel's slice is contiguous
    deliver = masks.T[:, :, None] & ~blk.holdout.T[:, None, :]  # (C, K, P)
    ghost_mask = masks[0][:, None] & blk.holdout.T  # (C, P) world 0's undelivered exposures
    last = {k: np.full((K, P), _FAR, dtype=np.int16) for k in
            ("imp", "browse", "browse2", "eng", "pur", "pur2", "adv")}
    stage = np.zeros((K, P), dtype=np.int8)
    adstock = np.zeros((C, K, P), dtype=np.float32)
    sat = np.empty((C, K, P), dtype=np.float32)
    hz = w.funnel.astype(np.float32)  # (4, 5)
    win = w.windows
    lam_unit = (w.rate[:, None] * blk.reach.T).astype(np.float32)  # (C, P)
    # log(1 - ctr), with -0.0 standing for "never clicks" (ctr = 0 -> threshold +inf below)
    log_no_click = np.where(w.ctr > 0, np.log1p(-np.minimum(w.ctr, 1 - 1e-7)), -0.0).astype(np.float32)
    kappa_a = np.power(w.kappa, w.alpha)
    beta = w.beta.astype(np.float32)  # (C, 4)
    flight_t = np.ascontiguousarray(w.flight.transpose(2, 1, 0))  # (D, C, B)
    geo_w = np.ascontiguousarray(w.geo_weight.transpose(2, 1, 0))  # (W, C, G)
    if emit:
        ev_parts: list[dict[str, np.ndarray]] = []
        sp_pair, sp_stage, sp_start, sp_end = [], [], [], []
        cur = np.zeros(P, dtype=np.int8)
        since = np.zeros(P, dtype=np.int32)
        gh_parts: list[tuple[np.ndarray, ...]] = []
        oc = np.zeros((D, G))
        orv = np.zeros((D, G))
        spend = np.zeros((D, G, C))
        imps = np.zeros((D, G, C))
        day0 = int(w.start.value // 10**9)
    for t in range(D):
        rng = np.random.default_rng(np.random.SeedSequence([w.seed, index, t]))
        u_exp = rng.random((C, P), dtype=np.float32)
        u_clk = rng.random((C, P), dtype=np.float32)
        u_lvl = rng.random(P, dtype=np.float32)
        u_val = rng.random(P)
        # ---- exposures: two intensities (below / at-or-above Appeal), shared by all worlds
        lam_lo = lam_unit * flight_t[t][:, blk.pair_brand] * geo_w[t // 7][:, blk.pair_geo]  # (C, P)
        n_lo = _poisson_inv(u_exp, lam_lo)
        n_hi = _poisson_inv(u_exp, lam_lo * (1.0 + w.retarget[:, None]))
        hi = stage >= 2  # (K, P)
        n = np.where(hi[None], n_hi[:, None, :], n_lo[:, None, :])  # (C, K, P)
        n_del = n * deliver
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
        drive = np.zeros((4, K, P), dtype=np.float32)
        for c in range(C):
            a = adstock[c] if w.alpha[c] == 1 else np.power(adstock[c], w.alpha[c])
            np.divide(a, a + kappa_a[c], out=sat[c])
            for j in range(4):
                if beta[c, j]:
                    drive[j] += beta[c, j] * sat[c]
        drive *= blk.r[None, None, :]
        base = hz[:, stage] * blk.h[None, None, :]  # (4, K, P)
        np.minimum(base, np.float32(0.95), out=base)
        # hazard of each funnel step, then how far up the ladder one uniform draw gets
        step = 1.0 - (1.0 - base) * np.exp(-drive)
        level = np.zeros((K, P), dtype=np.int8)
        reach_j = np.ones((K, P), dtype=np.float32)
        for j in range(4):
            reach_j *= step[j]
            level += u_lvl < reach_j
        level = np.maximum(level, clicked.astype(np.int8))  # a click lands on the brand page
        # ---- behaviours update the last-event days
        tt = np.int16(t)
        imp_today = np.logical_or.reduce(n_del > 0, axis=0)
        last["imp"][imp_today] = tt
        b1 = level >= 1
        last["browse2"] = np.where(b1, last["browse"], last["browse2"])
        last["browse"][b1] = tt
        last["eng"][level >= 2] = tt
        b3 = level >= 3
        last["pur2"] = np.where(b3, last["pur"], last["pur2"])
        last["pur"][b3] = tt
        last["adv"][level >= 4] = tt
        stage = _stage_rule(last, t, win)
        # ---- conversions
        value = blk.value_scale * np.exp(w.funnel_params.value_sd * ndtri(u_val)
                                         - w.funnel_params.value_sd ** 2 / 2)
        for k in range(K):
            pk = b3[k]
            conv[k] += np.bincount(blk.pair_brand[pk], minlength=B)
            rev[k] += np.bincount(blk.pair_brand[pk], weights=value[pk], minlength=B)
        if emit:
            erng = np.random.default_rng(np.random.SeedSequence([w.seed, index, t, 1]))
            nd0, ck0 = n_del[:, 0, :].T, clicks[:, 0, :].T  # (P, C)
            ev_parts.append(_emit_day(w, blk, t, day0, nd0, ck0, level[0], value, erng))
            g_pur = blk.pair_geo[b3[0]]
            oc[t] += np.bincount(g_pur, minlength=G)
            orv[t] += np.bincount(g_pur, weights=value[b3[0]], minlength=G)
            cost = nd0 * w.cpm[None, :] + ck0 * w.cpc[None, :]
            for c in range(C):
                spend[t, :, c] += np.bincount(blk.pair_geo, weights=cost[:, c], minlength=G)
                imps[t, :, c] += np.bincount(blk.pair_geo, weights=nd0[:, c], minlength=G)
            gm = (n[:, 0, :] * ghost_mask).T  # (P, C)
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
        events = _events_table(w, ev_parts)
        if events_dir is not None:
            pq.write_table(events, os.path.join(events_dir, f"part-{index:05d}.parquet"),
                           row_group_size=1 << 20)
        else:
            out.events = events
        out.users = blk.users
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


def _stage_rule(last: dict[str, np.ndarray], t: int, win: StageWindows) -> np.ndarray:
    """The true 4A stage from the last-event days (the rule of :class:`StageWindows`).

    An event on day ``d`` counts on day ``t`` while ``t - d < window``, i.e. ``d > t - window``.
    """
    def recent(key: str, window: int) -> np.ndarray:
        return last[key] > np.int16(t - window)  # windows <= 10000 days keep this in int16

    stage = np.zeros(last["imp"].shape, dtype=np.int8)
    stage[recent("imp", win.aware) | recent("browse", win.aware)] = 1
    stage[recent("browse2", win.appeal) | recent("eng", win.appeal)] = 2
    stage[recent("pur", win.act)] = 3
    stage[recent("pur2", win.advocate) | recent("adv", win.advocate)] = 4
    return stage


def _emit_day(w: _World, blk: _Block, t: int, day0: int, n_del: np.ndarray, clicks: np.ndarray,
              level: np.ndarray, value: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The observed world's events of one day, as columns of codes."""
    C = len(w.channels)
    base = day0 + t * 86_400
    cols: dict[str, list[np.ndarray]] = {k: [] for k in
                                        ("pair", "ts", "etype", "channel", "campaign", "value", "cost")}

    def add(pair, ts, etype, channel, campaign, value, cost):
        m = len(pair)
        cols["pair"].append(pair)
        cols["ts"].append(ts.astype(np.int64))
        cols["etype"].append(np.full(m, etype, np.int8) if np.isscalar(etype) else etype.astype(np.int8))
        cols["channel"].append(channel.astype(np.int8))
        cols["campaign"].append(campaign.astype(np.int32))
        cols["value"].append(value)
        cols["cost"].append(cost)

    # ad impressions (a burst per pair and channel in the first 14 hours) and clicks
    pp, cc = np.nonzero(n_del)
    if len(pp):
        cnt = n_del[pp, cc].astype(np.int64)
        start = rng.integers(0, 14 * 3600, len(pp))
        gap = rng.integers(60, 1800, len(pp))
        rep = np.repeat(np.arange(len(pp)), cnt)
        j = np.arange(len(rep)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        camp = w.campaign_code[blk.pair_brand[pp], cc, t]
        add(pp[rep], base + start[rep] + j * gap[rep], _E["impression"], cc[rep], camp[rep],
            np.full(len(rep), np.nan), w.cpm[cc[rep]])
        ck = clicks[pp, cc]
        add(pp[ck], base + start[ck] + 20, _E["click"], cc[ck], camp[ck],
            np.full(int(ck.sum()), np.nan), w.cpc[cc[ck]])
    # behaviours from the afternoon on, in funnel order
    bp = np.flatnonzero(level >= 1)
    if len(bp):
        lv = level[bp]
        u = rng.random((len(bp), 3))
        t0 = base + 14 * 3600 + rng.integers(0, 9 * 3600, len(bp))
        clicked = clicks[bp].any(axis=1)
        src = np.where(clicked, clicks[bp].argmax(axis=1), np.where(u[:, 2] < 0.6, C, C + 1))
        none_c = np.full(len(bp), -1, np.int32)
        nan = np.full(len(bp), np.nan)
        add(bp, t0, _E["browse"], src, none_c, nan, nan)
        e = lv >= 2
        kind = np.asarray(_ENGAGE_KINDS, np.int8)[np.searchsorted(_ENGAGE_CUM, u[:, 0])]
        add(bp[e], t0[e] + 120, kind[e], src[e], none_c[e], nan[e], nan[e])
        p3 = lv >= 3
        extra_cart = p3 & ~(e & (kind == _E["cart"]))  # a purchase needs a cart event that day
        add(bp[extra_cart], t0[extra_cart] + 300, _E["cart"], src[extra_cart], none_c[extra_cart],
            nan[extra_cart], nan[extra_cart])
        add(bp[p3], t0[p3] + 600, _E["purchase"], src[p3], none_c[p3], np.round(value[bp[p3]], 2),
            nan[p3])
        p4 = lv >= 4
        review = u[p4, 1] < 0.6
        rating = np.where(u[p4, 1] < 0.25, 5.0, 4.0)
        add(bp[p4], t0[p4] + 900, np.where(review, _E["review"], _E["share"]), src[p4], none_c[p4],
            np.where(review, rating, np.nan), nan[p4])
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


_EMPTY = {"ts": np.zeros(0, np.int64), "etype": np.zeros(0, np.int8), "channel": np.zeros(0, np.int8),
          "campaign": np.zeros(0, np.int32), "value": np.zeros(0), "cost": np.zeros(0)}


def _events_table(w: _World, parts: list[dict[str, np.ndarray]]) -> pa.Table:
    """Canonical events as an Arrow table with dictionary-encoded strings."""
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else \
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
        "event_type": dict_col(cat["etype"], pa.array(_EVENT_CODES, pa.string())),
        "channel": dict_col(cat["channel"], channel_names),
        "campaign": dict_col(cat["campaign"], pa.array(w.campaigns.campaign.tolist(), pa.string())),
        "value": pa.array(value, pa.float64(), mask=np.isnan(value)),
        "cost": pa.array(cost, pa.float64(), mask=np.isnan(cost)),
    })


# ============================================================================ driver


def _coalition_masks(C: int, truth: str) -> tuple[np.ndarray, list[int]]:
    """Worlds to simulate as channel masks; row 0 is the observed world (all on).

    Returns the masks and, per row, the coalition as a bit mask.
    """
    full = (1 << C) - 1
    if truth == "none":
        bits = [full]
    elif truth == "incremental":
        bits = [full] + [full & ~(1 << c) for c in range(C)] + [0]
    else:
        bits = [full] + [s for s in range(full)]
    masks = np.array([[(s >> c) & 1 for c in range(C)] for s in bits], dtype=bool)
    return masks, bits


def _block_job(args: tuple) -> _BlockOut:
    w, index, masks, events_dir, chunk = args
    K = len(masks)
    parts = []
    for lo in range(0, K, chunk):
        parts.append(_run_block(w, index, masks[lo:lo + chunk], emit=(lo == 0), events_dir=events_dir))
    head = parts[0]
    head.conv = np.concatenate([p.conv for p in parts])
    head.rev = np.concatenate([p.rev for p in parts])
    return head


def simulate(
    n_users: int = 5_000,
    n_days: int = 60,
    *,
    n_brands: int = 8,
    n_categories: int = 3,
    n_geos: int = 10,
    channels: Sequence[str] | Mapping[str, ChannelParams] | None = None,
    start: str | pd.Timestamp = "2025-01-01",
    holdout: float | Mapping[str, float] = 0.0,
    truth: Truth_ = "full",
    freq: Literal["D", "W"] = "W",
    funnel: FunnelParams | None = None,
    windows: StageWindows | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    n_jobs: int = 1,
    progress: bool = False,
) -> SimulationResult:
    """Simulate a world of consumers, brands and ad channels with a known causal truth.

    Parameters
    ----------
    n_users, n_days : int
        Consumers and days.
    n_brands, n_categories, n_geos : int
        Brands (spread over the categories, at least one each), categories
        (up to 8) and geos (up to 20).
    channels : list of str or mapping of str to ChannelParams, optional
        Names of default channels (``display, search, social, video, email,
        affiliate``, all by default) or full parameters of your own.
    start : date
        First day.
    holdout : float or mapping of channel to float
        Share of consumers held out of each channel at random (ghost-ad
        control groups); a mapping sets it per channel.
    truth : {"full", "incremental", "none"}
        ``"incremental"`` re-simulates each channel switched off and all
        channels off; ``"full"`` re-simulates all 2^C coalitions for exact
        Shapley values (at most 10 channels); ``"none"`` skips the truth.
    freq : {"W", "D"}
        Time grain of the spend and outcome aggregates (weeks start on the
        first simulated day's weekday).
    funnel : FunnelParams, optional
        Organic hazards of the funnel steps.
    windows : StageWindows, optional
        Look-back windows of the true 4A stages.
    seed : int
        Everything is deterministic given the seed (and the arguments).
    out : str or Path, optional
        Write the events as parquet files ``out/events/part-*.parquet``
        (one per block of 16,384 consumers) instead of keeping them in memory.
    n_jobs : int
        Worker processes over blocks of consumers.
    progress : bool
        Show a progress bar.

    Returns
    -------
    SimulationResult
    """
    _check_positive(n_users=n_users, n_days=n_days, n_brands=n_brands, n_categories=n_categories,
                    n_geos=n_geos, n_jobs=n_jobs)
    if n_categories > len(CATEGORIES):
        raise ParameterError(f"n_categories must be at most {len(CATEGORIES)}; found {n_categories}")
    if n_brands < n_categories:
        raise ParameterError(f"n_brands ({n_brands}) must be at least n_categories ({n_categories})")
    if n_geos > len(GEOS):
        raise ParameterError(f"n_geos must be at most {len(GEOS)}; found {n_geos}")
    if n_days > 10_000:
        raise ParameterError(f"n_days must be at most 10000; found {n_days}")
    if truth not in ("full", "incremental", "none"):
        raise ParameterError(f"truth must be 'full', 'incremental' or 'none'; found {truth!r}")
    if freq not in ("D", "W"):
        raise ParameterError(f"freq must be 'D' or 'W'; found {freq!r}")
    chans = resolve_channels(list(channels) if isinstance(channels, (list, tuple)) else channels)
    names = list(chans)
    C = len(names)
    if truth == "full" and C > MAX_SHAPLEY_CHANNELS:
        raise ParameterError(f"exact Shapley truth needs at most {MAX_SHAPLEY_CHANNELS} channels "
                             f"(2^C re-simulations); found {C}: use truth='incremental'")
    hold = _holdout_vector(holdout, names)
    try:
        start_ts = pd.Timestamp(start)
    except (ValueError, TypeError):
        raise ParameterError(f"start must be a date; found {start!r}") from None
    funnel = funnel or FunnelParams()
    windows = windows or StageWindows()
    w = _build_world(int(seed), n_users, n_days, start_ts, chans, n_brands, n_categories, n_geos,
                     hold, funnel, windows)
    masks, bits = _coalition_masks(C, truth)
    n_blocks = (n_users + BLOCK_USERS - 1) // BLOCK_USERS
    events_dir = None
    if out is not None:
        events_dir = Path(out) / "events"
        _rmtree(events_dir)
        events_dir.mkdir(parents=True)
    # memory: keep (worlds x pairs x channels) float arrays within about 1.5 GB
    pairs_per_block = min(n_users, BLOCK_USERS) * 1.5 * n_brands / n_categories
    chunk = int(max(1, min(len(masks), 1.5e9 // max(1.0, pairs_per_block * C * 4 * 8))))
    jobs = [(w, b, masks, None if events_dir is None else str(events_dir), chunk) for b in range(n_blocks)]
    results = _run_jobs(jobs, n_jobs, progress)
    res = _assemble(w, results, masks, bits, truth, freq, events_dir, windows)
    res.config = {"n_users": n_users, "n_days": n_days, "n_brands": n_brands,
                  "n_categories": n_categories, "n_geos": n_geos, "channels": names,
                  "start": str(start_ts.date()), "holdout": dict(zip(names, hold.tolist())),
                  "truth": truth, "freq": freq, "seed": int(seed)}
    return res


def _run_jobs(jobs: list[tuple], n_jobs: int, progress: bool) -> list[_BlockOut]:
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="simulating blocks", unit="block")
    results: list[_BlockOut] = []
    if n_jobs == 1 or len(jobs) == 1:
        for j in jobs:
            results.append(_block_job(j))
            if bar:
                bar.update(1)
    else:
        import multiprocessing as mp

        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context("fork")) as ex:
            for r in ex.map(_block_job, jobs):
                results.append(r)
                if bar:
                    bar.update(1)
    if bar:
        bar.close()
    return results


def _assemble(w: _World, results: list[_BlockOut], masks: np.ndarray, bits: list[int], truth: str,
              freq: str, events_dir: Path | None, windows: StageWindows) -> SimulationResult:
    names = w.channels
    brands = w.brands.brand.to_numpy()
    day = lambda d: w.start + pd.to_timedelta(d, unit="D")  # noqa: E731
    users = pd.concat([r.users for r in results if r.users is not None], ignore_index=True)
    hold_cols = [c for c in users.columns if c.startswith("_holdout_")]
    assignments = pd.DataFrame({"user_id": np.repeat(users.user_id.to_numpy(), len(hold_cols)),
                                "channel": np.tile([c[len("_holdout_"):] for c in hold_cols], len(users)),
                                "holdout": users[hold_cols].to_numpy().ravel() if hold_cols else
                                np.zeros(0, bool)})
    users = users.drop(columns=hold_cols)
    events = None
    if events_dir is None:
        tables = [r.events for r in results if r.events is not None]
        events = _arrow_to_pandas(pa.concat_tables(tables))
    spells = pd.concat([r.spells for r in results if r.spells is not None], ignore_index=True)
    stages = pd.DataFrame({
        "user_id": spells.user_id.to_numpy(),
        "brand": brands[spells.brand_code.to_numpy()],
        "stage": np.asarray(STAGES, dtype=object)[spells.stage_code.to_numpy()],
        "start": day(spells.start_day.to_numpy()),
        "end": day(spells.end_day.to_numpy()),
    }).sort_values(["user_id", "brand", "start"], ignore_index=True)
    ghosts = [r.ghosts for r in results if r.ghosts is not None]
    if ghosts:
        g = pd.concat(ghosts, ignore_index=True)
        ghost_df = pd.DataFrame({"user_id": g.user_id, "date": day(g.day.to_numpy()),
                                 "brand": brands[g.brand_code.to_numpy()],
                                 "channel": np.asarray(names, dtype=object)[g.channel_code.to_numpy()],
                                 "impressions": g.impressions})
    else:
        ghost_df = pd.DataFrame({"user_id": pd.Series(dtype="int64"), "date": pd.Series(dtype="datetime64[ns]"),
                                 "brand": pd.Series(dtype=object), "channel": pd.Series(dtype=object),
                                 "impressions": pd.Series(dtype="int64")})
    oc = sum(r.outcome_conv for r in results if r.outcome_conv is not None)
    orv = sum(r.outcome_rev for r in results if r.outcome_rev is not None)
    sp = sum(r.spend for r in results if r.spend is not None)
    im = sum(r.imps for r in results if r.imps is not None)
    spend_df, outcomes_df = _aggregates(w, oc, orv, sp, im, freq)
    conv = sum(r.conv for r in results)  # (K, B)
    rev = sum(r.rev for r in results)
    truth_obj = _truth(w, conv, rev, masks, bits, truth, stages, windows)
    res = SimulationResult(events=events, users=users, brands=w.brands.copy(),
                           campaigns=w.campaigns.copy(), spend=spend_df, outcomes=outcomes_df,
                           ghost_impressions=ghost_df, assignments=assignments, truth=truth_obj,
                           config={}, events_path=events_dir)
    return res


def _arrow_to_pandas(t: pa.Table) -> pd.DataFrame:
    return _decategorize(t.to_pandas())


def _decategorize(df: pd.DataFrame) -> pd.DataFrame:
    """Dictionary-encoded string columns back to plain ``object`` strings with ``None``."""
    for c in df.columns:
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype(object).where(df[c].notna(), None)
    return df


def _aggregates(w: _World, oc: np.ndarray, orv: np.ndarray, sp: np.ndarray, im: np.ndarray,
                freq: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    D, G, C = sp.shape
    period = np.arange(D) // (7 if freq == "W" else 1)
    n_per = int(period.max()) + 1
    step = 7 if freq == "W" else 1
    dates = w.start + pd.to_timedelta(np.arange(n_per) * step, unit="D")

    def fold(x: np.ndarray) -> np.ndarray:
        out = np.zeros((n_per,) + x.shape[1:])
        np.add.at(out, period, x)
        return out

    spf, imf, ocf, orf = fold(sp), fold(im), fold(oc), fold(orv)
    P_, G_, C_ = np.meshgrid(np.arange(n_per), np.arange(G), np.arange(C), indexing="ij")
    spend = pd.DataFrame({"date": dates[P_.ravel()], "geo": np.asarray(w.geo_names, dtype=object)[G_.ravel()],
                          "channel": np.asarray(w.channels, dtype=object)[C_.ravel()],
                          "spend": np.round(spf.ravel(), 4), "impressions": imf.ravel()})
    P2, G2 = np.meshgrid(np.arange(n_per), np.arange(G), indexing="ij")
    outcomes = pd.DataFrame({"date": dates[P2.ravel()], "geo": np.asarray(w.geo_names, dtype=object)[G2.ravel()],
                             "conversions": ocf.ravel(), "revenue": np.round(orf.ravel(), 2)})
    for df in (spend, outcomes):
        df["date"] = df["date"].astype("datetime64[us]")
    return spend, outcomes


def _truth(w: _World, conv: np.ndarray, rev: np.ndarray, masks: np.ndarray, bits: list[int],
           truth: str, stages: pd.DataFrame, windows: StageWindows) -> Truth:
    names = w.channels
    C = len(names)
    brands = w.brands.brand.tolist()
    params = pd.DataFrame([{"channel": n, "theta": p.theta, "kappa": p.kappa, "alpha": p.alpha,
                            "beta_browse": p.beta[0], "beta_engage": p.beta[1],
                            "beta_purchase": p.beta[2], "beta_advocate": p.beta[3],
                            "rate": p.rate, "reach": p.reach, "retarget": p.retarget, "ctr": p.ctr,
                            "pricing": p.pricing, "price": p.price, "holdout": float(w.holdout[i])}
                           for i, (n, p) in enumerate(zip(names, w.params))])
    totals = {"conversions": float(conv[0].sum()), "revenue": float(rev[0].sum())}
    if truth == "none":
        return Truth(stages, None, None, None, params, totals, None, windows)
    idx = {b: k for k, b in enumerate(bits)}
    full = (1 << C) - 1
    none_k = idx[0]
    totals.update(baseline_conversions=float(conv[none_k].sum()), baseline_revenue=float(rev[none_k].sum()))
    totals.update(incremental_conversions=totals["conversions"] - totals["baseline_conversions"],
                  incremental_revenue=totals["revenue"] - totals["baseline_revenue"])
    loo = [idx[full & ~(1 << c)] for c in range(C)]
    inc_c = conv[0][None, :] - conv[loo]  # (C, B)
    inc_r = rev[0][None, :] - rev[loo]
    incremental = pd.DataFrame({"channel": names, "conversions": inc_c.sum(1), "revenue": inc_r.sum(1)})
    by_brand = pd.DataFrame({"channel": np.repeat(names, len(brands)), "brand": np.tile(brands, C),
                             "conversions": inc_c.ravel(), "revenue": inc_r.ravel()})
    coalitions = pd.DataFrame({"coalition": [" + ".join(n for c, n in enumerate(names) if (b >> c) & 1)
                                             or "(none)" for b in bits],
                               "n_channels": [bin(b).count("1") for b in bits],
                               "conversions": conv.sum(1), "revenue": rev.sum(1)})
    shapley = None
    if truth == "full":
        vc = np.zeros(1 << C)
        vr = np.zeros(1 << C)
        for b, k in idx.items():
            vc[b] = conv[k].sum()
            vr[b] = rev[k].sum()
        phi_c, phi_r = exact_shapley(vc), exact_shapley(vr)
        shapley = pd.DataFrame({"channel": names, "conversions": phi_c, "revenue": phi_r})
    return Truth(stages, incremental, shapley, by_brand, params, totals, coalitions, windows)


# ============================================================================ small helpers


def _check_positive(**kw: int) -> None:
    for k, v in kw.items():
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ParameterError(f"{k} must be a positive integer; found {v!r}")


def _holdout_vector(holdout: float | Mapping[str, float], names: list[str]) -> np.ndarray:
    if isinstance(holdout, Mapping):
        unknown = [k for k in holdout if k not in names]
        if unknown:
            raise ParameterError(f"holdout names unknown channel(s) {unknown}; channels are {names}")
        vec = np.array([float(holdout.get(n, 0.0)) for n in names])
    else:
        vec = np.full(len(names), float(holdout))
    if ((vec < 0) | (vec >= 1)).any():
        raise ParameterError(f"holdout shares must be in [0, 1); found {vec.tolist()}")
    return vec


def _write_frame(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    # low-cardinality strings as dictionaries: several times smaller on disk
    cats = {c: df[c].astype("category") for c in df.columns
            if df[c].dtype == object and df[c].nunique() < max(1000, len(df) // 100)}
    table = pa.Table.from_pandas(df.assign(**cats), preserve_index=False)
    pq.write_table(table, tmp, compression="zstd", compression_level=9)
    os.replace(tmp, path)


def _atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _rmtree(p: Path) -> None:
    import shutil

    if Path(p).exists():
        shutil.rmtree(p)
