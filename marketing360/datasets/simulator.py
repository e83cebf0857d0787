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
   (search / follow / cart / ask), purchase, advocate (a positive review /
   a share).
   The hazard of each step, given the previous one, is
   ``1 - (1 - h_i * base[step, stage]) * exp(-r_i * sum_c beta[c, step] * sat_c(A_c))``
   (organic baseline times a consumer propensity ``h_i``, plus each
   channel's saturated lift scaled by a responsiveness ``r_i``); one
   uniform draw decides how far up the ladder the consumer gets that day,
   and a click lands the consumer on the brand page (a browse);
4. purchases have organic follow-ups some days later: reviews with ratings
   1 to 5 and after-sales service contacts (see
   :class:`~marketing360.datasets.world.FunnelParams`);
5. the consumer's true 4A stage is the highest stage whose rule holds on
   the events so far, under the :class:`~marketing360.assets.rules.StageRules`
   given as ``rules`` (JD's definitions by default), read exactly as
   :func:`marketing360.assets.snapshot` reads them.

Truth under common random numbers
---------------------------------
Every random draw is keyed by (seed, block of consumers, day) and shared by
every counterfactual world, and every step above is monotone in the set of
active channels (a higher funnel level emits a superset of events, and
every stage criterion counts events). So re-simulating with channels
switched off gives, pathwise, no more exposures, stages or purchases: the true incremental conversions of
each channel are non-negative, the Shapley values (the exact split of the
total incremental conversions over channels, from all 2^C coalitions) are
non-negative and sum to ``conversions(all) - conversions(none)``.

Examples
--------
>>> from marketing360.assets import StageRules
>>> from marketing360.datasets import simulate
>>> w = simulate(n_users=300, n_days=21, seed=7)
>>> sorted(w.events.event_type.unique())[:4]
['ask', 'browse', 'cart', 'click']
>>> w.truth.rules == StageRules()
True
>>> bool((w.truth.incremental.conversions >= 0).all())
True

Module layout
-------------
:mod:`.world` holds the parameters, :mod:`.simcore` the simulation of one
block of consumers, :mod:`.truth` the true stages and the incremental truth,
:mod:`.result` the :class:`SimulationResult` and its files; this module
checks the arguments, runs the blocks and assembles the result.
"""

from __future__ import annotations

import multiprocessing as mp
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from .._progress import Progress, show
from ..assets.rules import StageRules
from ..errors import ParameterError
from ..schema import STAGES
from .campaign import Campaign
from .plans import attach, campaign_worlds
from .result import SimulationResult, decategorize
from .simcore import _CHANCES, _BlockOut, _World, block_job, build_world, coalition_masks
from .truth import (
    Truth,
    campaign_truth,
    channel_params_frame,
    compute_truth,
    experiment_truth,
    funnel_truth,
    geo_test_truth,
)
from .world import CATEGORIES, CHANNELS, GEOS, ChannelParams, FunnelParams, GeoTest, resolve_channels

__all__ = ["simulate", "SimulationResult", "Truth", "CHANNELS", "BLOCK_USERS", "SIMULATOR_VERSION"]

#: consumers per random-number block: the unit of determinism and of parallel work
BLOCK_USERS = 16_384
#: most channels for which exact Shapley values are computed (2^C re-simulations)
MAX_SHAPLEY_CHANNELS = 10
#: Version of what :func:`simulate` makes from its arguments. Bump it whenever a change makes
#: the same arguments give another world (other draws, events, truth), so that caches keyed
#: by it (the sample world, :func:`~marketing360.datasets.load_sample`) are rebuilt.
SIMULATOR_VERSION = 4

Truth_ = Literal["full", "incremental", "none"]


def simulate(
    n_users: int = 5_000,
    n_days: int = 60,
    *,
    n_brands: int = 8,
    n_categories: int = 3,
    n_geos: int = 10,
    channels: Sequence[str] | Mapping[str, ChannelParams] | None = None,
    start: str | pd.Timestamp = "2025-01-01",
    burn_in: int = 0,
    holdout: float | Mapping[str, float] = 0.0,
    geo_tests: Sequence[GeoTest] = (),
    truth: Truth_ = "full",
    freq: Literal["D", "W"] = "W",
    funnel: FunnelParams | None = None,
    rules: StageRules | None = None,
    campaign: Campaign | None = None,
    propensities: bool = False,
    seed: int = 0,
    out: str | Path | None = None,
    n_jobs: int = 1,
    progress: Progress = "auto",
) -> SimulationResult:
    """Simulate a world of consumers, brands and ad channels with a known causal truth.

    Parameters
    ----------
    n_users, n_days : int
        Consumers and days.
    n_brands, n_categories, n_geos : int
        Brands (spread over the categories, at least one each), categories
        (up to 8) and geos (up to 20).
    channels : str, list of str or mapping of str to ChannelParams, optional
        Names of default channels (``display, search, social, video, email,
        affiliate``, all by default; one name alone is one channel) or full
        parameters of your own.
    start : date
        First day, a date without a time zone (the simulated calendar has
        none; a time-zone-aware timestamp is refused: pass its local date).
    burn_in : int
        Days simulated before ``start`` and not observed: no event, spend,
        outcome or truth counts them, but consumers enter ``start`` with the
        4A stages, adstock and purchase history they built. A world starts
        cold: every consumer unaware, so conversions climb for about as long
        as the stage windows (90 days for Act by default); ``burn_in=120``
        gives outcome series without that climb, which geo tests and
        marketing-mix models assume. Campaigns and geo weights are drawn over
        all ``burn_in + n_days`` days; holdouts and the channel coalitions
        of the truth apply from the first simulated day (a channel switched
        off never ran). The true stages in ``truth`` then carry the burn-in's
        history, which the events do not show: they equal
        :func:`~marketing360.assets.snapshot` of the events only from day
        ``rules.max_window`` on.
    holdout : float or mapping of channel to float
        Share of consumers held out of each channel at random (ghost-ad
        control groups); a mapping sets it per channel. The truth of each
        such experiment is in ``truth.experiments`` (with ``truth`` other
        than ``"none"``).
    geo_tests : sequence of GeoTest
        Geo holdouts: a channel switched off in some geos for some days
        (:class:`~marketing360.datasets.GeoTest`). Each costs one more
        simulated world (the world as planned); the truth is in
        ``truth.geo_tests``. Use ``freq="D"`` for daily outcomes.
    truth : {"full", "incremental", "none"}
        ``"incremental"`` re-simulates each channel switched off and all
        channels off; ``"full"`` re-simulates all 2^C coalitions for exact
        Shapley values (at most 10 channels); ``"none"`` skips the truth.
    freq : {"W", "D"}
        Time grain of the spend and outcome aggregates (weeks start on the
        first simulated day's weekday).
    funnel : FunnelParams, optional
        Organic hazards of the funnel steps, the follow-ups of purchases,
        and demand that moves every consumer alike by day (a weekday
        pattern, a shared daily shock; off by default).
    rules : StageRules, optional
        The 4A stage rules of the truth (JD's definitions, ``StageRules()``,
        by default): the true stage of a pair on a day is what
        :func:`marketing360.assets.snapshot` computes from the world's events
        with these rules. Every criterion is honoured (event types,
        ``min_count``, ``count="days"`` or ``"events"``, ``min_value``, each
        stage's window). They also set who is "at Appeal or above" for
        retargeting and the funnel hazards.
    campaign : Campaign, optional
        A targeted campaign of one brand (channel x audience x budget rows
        over a window; :class:`~marketing360.datasets.Campaign`), on air on
        top of the brand's flights in the observed world and in every
        coalition of the truth (a channel switched off takes its rows with
        it). With ``truth`` other than ``"none"`` the world also runs without
        the campaign and without each of its channels' rows, under the same
        random numbers: ``truth.campaign`` and ``truth.campaign_users`` hold
        what it added. :func:`~marketing360.datasets.evaluate_campaigns` runs
        the world with other plans.
    propensities : bool
        Record the observed world's true daily chances of a click, a visit, an
        engagement, a purchase and an advocacy per consumer-brand pair and day
        in ``truth.propensities`` (one row per pair and day: plan the memory).
        Nothing else changes: the events are the same with or without it.
    seed : int
        Everything is deterministic given the seed (and the arguments).
    out : str or Path, optional
        Write the events as parquet files ``out/events/part-*.parquet``
        (one per block of 16,384 consumers) instead of keeping them in memory.
        Events already in ``out/events`` are removed first, and with them a
        world written in ``out`` before (its ``world.json``): write the new
        world there with :meth:`SimulationResult.write`.
    n_jobs : int
        Worker processes over blocks of consumers (forked; where processes
        cannot be forked, as on Windows, the blocks run in this process, with
        a warning).
    progress : bool or "auto"
        Show a progress bar (``"auto"``: in a notebook).

    Returns
    -------
    SimulationResult

    Raises
    ------
    ParameterError
        An impossible argument; the message names it, what is allowed and
        what was given.

    Examples
    --------
    >>> from dataclasses import replace
    >>> from marketing360.assets import Criterion, StageRule
    >>> strict = replace(StageRules(), act=StageRule("act", 30, (Criterion(("purchase",), min_count=2),)))
    >>> w = simulate(n_users=200, n_days=30, seed=2, truth="none", rules=strict)
    >>> w.truth.rules.act.criteria[0].min_count
    2
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
    if not isinstance(burn_in, (int, np.integer)) or isinstance(burn_in, bool) or not 0 <= burn_in <= 10_000 - n_days:
        raise ParameterError(f"burn_in must be a whole number of days in [0, {10_000 - n_days}] (burn_in + n_days "
                             f"at most 10000); found {burn_in!r}")
    if truth not in ("full", "incremental", "none"):
        raise ParameterError(f"truth must be 'full', 'incremental' or 'none'; found {truth!r}")
    if freq not in ("D", "W"):
        raise ParameterError(f"freq must be 'D' or 'W'; found {freq!r}")
    if isinstance(channels, str):  # one channel: not its letters
        channels = [channels]
    chans = resolve_channels(channels if channels is None or isinstance(channels, Mapping) else list(channels))
    names = list(chans)
    C = len(names)
    if truth == "full" and C > MAX_SHAPLEY_CHANNELS:
        raise ParameterError(f"exact Shapley truth needs at most {MAX_SHAPLEY_CHANNELS} channels "
                             f"(2^C re-simulations); found {C}: use truth='incremental'")
    hold = _holdout_vector(holdout, names)
    tests = list(geo_tests)
    try:
        start_ts = pd.Timestamp(start)
    except (ValueError, TypeError):
        raise ParameterError(f"start must be a date; found {start!r}") from None
    if start_ts is pd.NaT:
        raise ParameterError(f"start must be a date; found {start!r}")
    if start_ts.tzinfo is not None:
        raise ParameterError(f"start must be a date without a time zone (the simulated calendar has none); "
                             f"found {start!r}: pass its local date, e.g. start.tz_localize(None)")
    funnel = funnel or FunnelParams()
    if not isinstance(funnel, FunnelParams):
        raise ParameterError(f"funnel must be a FunnelParams; found {type(funnel).__name__}")
    rules = _resolve_rules(rules)
    if not isinstance(propensities, bool):
        raise ParameterError(f"propensities must be True or False; found {propensities!r}")
    w = build_world(int(seed), n_users, n_days, start_ts, chans, n_brands, n_categories, n_geos,
                    hold, funnel, rules, BLOCK_USERS, burn_in=int(burn_in))
    w.geo_off = _geo_off(tests, w)
    w.chances = propensities
    masks, bits, applied = coalition_masks(C, truth, len(tests))
    budgets, roles, extra = None, None, []
    if campaign is not None:
        planned = campaign.plan.budget.to_numpy(float)
        more, extra = campaign_worlds(campaign, names) if truth != "none" else (np.zeros((0, len(planned))), [])
        masks = np.vstack([masks, np.ones((len(more), C), bool)])
        applied = np.vstack([applied, np.ones((len(more), len(tests)), bool)])
        budgets = attach(w, campaign, np.vstack([np.repeat(planned[None, :], len(masks) - len(more), axis=0),
                                                 more]))
        if extra:  # the per-consumer truth needs both worlds; without it nothing is counted per consumer
            roles = np.array(["with"] + [""] * (len(masks) - 1), dtype=object)
            roles[len(masks) - len(more)] = "without"
    n_blocks = (n_users + BLOCK_USERS - 1) // BLOCK_USERS
    events_dir = None
    if out is not None:
        events_dir = Path(out) / "events"
        for stale in ("world.json", "sample.json"):  # a world written there loses its events now
            (Path(out) / stale).unlink(missing_ok=True)
        _rmtree(events_dir)
        events_dir.mkdir(parents=True)
    # memory: keep (worlds x pairs x channels) float arrays within about 1.5 GB (the stage
    # tracker adds 2 bytes per world, pair and unit of min_count: small next to it)
    pairs_per_block = min(n_users, BLOCK_USERS) * 1.5 * n_brands / n_categories
    chunk = int(max(1, min(len(masks), 1.5e9 // max(1.0, pairs_per_block * C * 4 * 8))))
    jobs = [(w, b, masks, applied, None if events_dir is None else str(events_dir), chunk, budgets, roles, False)
            for b in range(n_blocks)]
    results = _run_jobs(jobs, n_jobs, show(progress))
    res = _assemble(w, results, bits, truth, freq, events_dir, tests)
    if campaign is not None:
        res.truth.campaign, res.truth.campaign_users = campaign_truth(campaign, results, extra, res.users.user_id)
        if res.truth.campaign is not None:
            total = res.truth.campaign.iloc[0]
            res.truth.totals.update(campaign_incremental_conversions=float(total.conversions),
                                    campaign_incremental_revenue=float(total.revenue))
    res._world = w
    res.config = {"n_users": n_users, "n_days": n_days, "n_brands": n_brands,
                  "n_categories": n_categories, "n_geos": n_geos, "channels": names,
                  "start": str(start_ts.date()), "burn_in": int(burn_in), "holdout": dict(zip(names, hold.tolist())),
                  "truth": truth, "freq": freq, "seed": int(seed),
                  "geo_tests": [{"name": g.name, "channel": g.channel, "geos": list(g.geos), "start": str(g.start),
                                 "end": str(g.end)} for g in tests],
                  "campaign": None if campaign is None else campaign.summary_row(), "propensities": propensities}
    return res


def _run_jobs(jobs: list[tuple], n_jobs: int, progress: bool) -> list[_BlockOut]:
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="simulating blocks", unit="block")
    results: list[_BlockOut] = []
    if n_jobs > 1 and len(jobs) > 1 and "fork" not in mp.get_all_start_methods():
        # spawned workers would re-import the caller's script (which may lack a __main__ guard)
        warnings.warn(f"n_jobs={n_jobs}: this platform cannot fork processes, so the {len(jobs)} blocks of "
                      "consumers run one after another in this process", RuntimeWarning, stacklevel=3)
        n_jobs = 1
    if n_jobs == 1 or len(jobs) == 1:
        for j in jobs:
            results.append(block_job(j))
            if bar:
                bar.update(1)
    else:
        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context("fork")) as ex:
            for r in ex.map(block_job, jobs):
                results.append(r)
                if bar:
                    bar.update(1)
    if bar:
        bar.close()
    return results


def _assemble(w: _World, results: list[_BlockOut], bits: list[int], truth: str, freq: str,
              events_dir: Path | None, tests: list[GeoTest]) -> SimulationResult:
    names = w.channels
    brands = w.brands.brand.to_numpy()
    day = lambda d: w.start + pd.to_timedelta(d, unit="D")  # noqa: E731
    users = pd.concat([r.users for r in results if r.users is not None], ignore_index=True)
    hold_cols = [c for c in users.columns if c.startswith("_holdout_")]
    users_holdout = users[hold_cols].to_numpy(bool)
    assignments = pd.DataFrame({"user_id": np.repeat(users.user_id.to_numpy(), len(hold_cols)),
                                "channel": np.tile([c[len("_holdout_"):] for c in hold_cols], len(users)),
                                "holdout": users[hold_cols].to_numpy().ravel() if hold_cols else
                                np.zeros(0, bool)})
    users = users.drop(columns=hold_cols)
    events = None
    if events_dir is None:
        tables = [r.events for r in results if r.events is not None]
        events = decategorize(pa.concat_tables(tables).to_pandas())
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
    oc: np.ndarray = sum(r.outcome_conv for r in results if r.outcome_conv is not None)  # type: ignore[assignment]
    orv: np.ndarray = sum(r.outcome_rev for r in results if r.outcome_rev is not None)  # type: ignore[assignment]
    sp: np.ndarray = sum(r.spend for r in results if r.spend is not None)  # type: ignore[assignment]
    im: np.ndarray = sum(r.imps for r in results if r.imps is not None)  # type: ignore[assignment]
    spend_df, outcomes_df = _aggregates(w, oc, orv, sp, im, freq)
    conv: np.ndarray = sum(r.conv for r in results)  # type: ignore[assignment]  # (K, B)
    rev: np.ndarray = sum(r.rev for r in results)  # type: ignore[assignment]
    params = channel_params_frame(names, w.params, w.holdout)
    truth_obj = compute_truth(names, w.brands.brand.tolist(), params, conv[:len(bits)], rev[:len(bits)], bits,
                              truth, stages, w.rules)
    if truth != "none" and hold_cols:
        emitted = [r for r in results if r.users is not None]
        truth_obj.experiments = experiment_truth(
            [c[len("_holdout_"):] for c in hold_cols], names, users_holdout,
            {k: np.concatenate([(r.user_conv or {})[k] for r in emitted]) for k in emitted[0].user_conv or {}},
            {k: np.concatenate([(r.user_rev or {})[k] for r in emitted]) for k in emitted[0].user_rev or {}},
            np.concatenate([r.user_exposed for r in emitted if r.user_exposed is not None]),
            np.concatenate([r.user_ghost for r in emitted if r.user_ghost is not None]))
    emitted_funnel = [r.funnel for r in results if r.users is not None]
    if emitted_funnel:
        truth_obj.funnel = funnel_truth(np.sum(emitted_funnel, axis=0), w.brands.brand.tolist())
    if tests:
        planned: list[tuple[np.ndarray, ...]] = [
            tuple(np.sum([(r.planned or {})[j][i] for r in results], axis=0) for i in range(3))
            for j in range(len(tests))]
        truth_obj.geo_tests = geo_test_truth(tests, planned, oc, orv, sp, w.channels, w.geo_names, w.start,
                                             w.geo_off)
    chances = [r.chances for r in results if r.chances is not None]
    if chances:
        c = pd.concat(chances, ignore_index=True)
        truth_obj.propensities = pd.DataFrame({
            "user_id": c.user_id.to_numpy(), "brand": brands[c.brand_code.to_numpy()],
            "date": day(c.day.to_numpy()), "stage": np.asarray(STAGES, dtype=object)[c.stage_code.to_numpy()],
            **{k: c[k].to_numpy() for k in _CHANCES}}).sort_values(["user_id", "brand", "date"], ignore_index=True)
    res = SimulationResult(events=events, users=users, brands=w.brands.copy(),
                           campaigns=w.campaigns.copy(), spend=spend_df, outcomes=outcomes_df,
                           ghost_impressions=ghost_df, assignments=assignments, truth=truth_obj,
                           config={}, events_path=events_dir)
    return res


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


def _geo_off(tests: list[GeoTest], w: _World) -> np.ndarray | None:
    """``(tests, channels, days, geos)``: where each geo test switches its channel off; checks the tests."""
    if not tests:
        return None
    off = np.zeros((len(tests), len(w.channels), w.n_days, len(w.geo_names)), dtype=bool)
    names = set()
    last = w.start + pd.Timedelta(days=w.n_days - 1)
    for j, g in enumerate(tests):
        if not isinstance(g, GeoTest):
            raise ParameterError(f"geo_tests must hold GeoTest objects; found {type(g).__name__}")
        if g.name in names:
            raise ParameterError(f"geo test names must be unique; {g.name!r} repeats (give name=...)")
        names.add(g.name)
        if g.channel not in w.channels:
            raise ParameterError(f"geo test {g.name!r}: unknown channel {g.channel!r}; channels are {w.channels}")
        unknown = [x for x in g.geos if x not in w.geo_names]
        if unknown or not g.geos:
            raise ParameterError(f"geo test {g.name!r}: unknown geo(s) {unknown or '(none given)'}; this world's "
                                 f"geos are {w.geo_names}")
        try:
            a, z = pd.Timestamp(g.start), pd.Timestamp(g.end)
        except (TypeError, ValueError):
            raise ParameterError(f"geo test {g.name!r}: start and end must be dates; found {g.start!r}, "
                                 f"{g.end!r}") from None
        if not (w.start <= a <= z <= last):
            raise ParameterError(f"geo test {g.name!r}: {a.date()} .. {z.date()} must be an ordered window within "
                                 f"the simulated days {w.start.date()} .. {last.date()}")
        c = w.channels.index(g.channel)
        d0, d1 = (a - w.start).days, (z - w.start).days
        for x in g.geos:
            off[j, c, d0:d1 + 1, w.geo_names.index(x)] = True
    return off


def _rmtree(p: Path) -> None:
    import shutil

    if Path(p).exists():
        shutil.rmtree(p)


def _resolve_rules(rules: StageRules | None) -> StageRules:
    if rules is None:
        return StageRules()
    if not isinstance(rules, StageRules):
        raise ParameterError(f"rules must be a StageRules (marketing360.assets.StageRules); "
                             f"found {type(rules).__name__}")
    return rules
