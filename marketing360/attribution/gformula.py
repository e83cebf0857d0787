"""Deconfounded multi-touch attribution by the g-formula: retargeting-proof credits from the events.

Retargeting shows more ads to consumers who already browse, search or add to cart, and these consumers
would often have bought anyway: a model of conversion given the ads credits the retargeted channels with
conversions the organic behaviour caused. Controlling for that behaviour fixes the confounding but blocks
the upper-funnel channels' effect, which runs *through* the behaviour (an ad makes a consumer browse, the
browse makes a purchase). Organic behaviour is both a confounder of later exposures and a mediator of
earlier ones: the case Robins' g-formula was made for (Robins 1986; Hernán & Robins, *Causal Inference:
What If*, ch. 21). :class:`DeconfoundedMTA` applies it to the consumer-brand pairs of an event log:

1. **A daily panel** per (consumer, brand): each channel's impressions and the deepest organic step of the
   day (0 nothing, 1 browse, 2 engage — search, follow, cart or ask —, 3 purchase, 4 purchase and a review
   or share), aggregated on the engine.
2. **The state** at the start of each day: the 4A stage that the organic events alone give under ``rules`` (the
   same rules as :mod:`marketing360.assets`; an impression's own "aware" counts as an ad effect, not a
   control), discounted counts of the past browse / engage / purchase days, each channel's exposure stock at
   several decay rates, the day's place in the window, the brand and the consumer's features.
3. **An outcome model** of the day's step given the state and the exposure stocks: a ladder of continuation
   steps whose cumulative hazards add an organic part (a neural network of the state: the deconfounding
   controls) and an ad part that cannot be negative (the additive-hazard view of ads of Zhang, Wei & Ren
   2014), with a gain per organic stage. Conditioning on the state removes retargeting's confounding; an
   ensemble of ``n_models`` networks trained from different seeds is averaged.
4. **An exposure model**: each channel's impressions are Poisson with a multiplicative consumer effect
   (reach), a brand-day effect (flights, budgets) and a **stage effect** (retargeting), fitted by iterative
   proportional fitting. It says how a consumer's exposures would change had the ads moved them to another
   stage.
5. **The g-formula**: every coalition of channels is simulated forward from the first day, the organic
   steps drawn from the outcome model and the other channels' exposures adapted to the simulated stage
   (the observed impressions thinned or topped up in the ratio of the fitted rates, so each consumer keeps
   their own reach and timing), with common random numbers across coalitions and ``n_draws`` paths per pair
   (antithetic pairs). A coalition's worth is its expected purchases; channels are credited their exact
   Shapley values over all ``2^C`` coalitions, as the simulator's truth is.

Assumptions: the ads a consumer sees depend on their past only through the observed state (sequential
exchangeability: no unobserved reason both targets them and makes them buy), every stage can be shown
each channel's ads (positivity), and the models are right. The credit is incremental (what the
channels added over no ads at all), not a split of every conversion. Where every consumer sees ads, the world
without any is far from the data and its organic baseline is extrapolated: the shares are more reliable than
the total (calibrate it with an experiment, :func:`~marketing360.attribution.calibrate`).

References
----------
Robins, J. (1986). A new approach to causal inference in mortality studies with a sustained exposure
period. *Mathematical Modelling* 7, 1393-1512.

Zhang, Y., Wei, Y. & Ren, J. (2014). Multi-touch attribution in online advertising with survival theory.
*IEEE ICDM*, 687-696.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._days import as_day
from .._optional import import_optional
from .._progress import Progress, show
from ..assets.rules import StageRules
from ..datasets.simcore import _poisson_inv
from ..datasets.truth import EventSource, StageTracker
from ..engine.base import fetch
from ..errors import ParameterError, SchemaError
from ..estimators import Estimator, check_random_state
from ..inputs import as_table
from ..models.shapley import exact_shapley
from .deep import _user_matrix
from .result import Attribution

__all__ = ["DeconfoundedMTA", "ORGANIC_STEPS"]

_WHAT = "DeconfoundedMTA"
#: the organic step each event type marks (the day's step is the deepest; advocacy counts on a purchase day)
ORGANIC_STEPS = {"browse": 1, "search": 2, "follow": 2, "cart": 2, "ask": 2, "purchase": 3, "review": 4, "share": 4}
_N_STEPS = 5
_BLOCK = 2048  # consumer-brand pairs simulated at a time
_N_STAGES = 5
#: most channels the exact Shapley over coalitions takes (2^C simulated worlds)
MAX_CHANNELS = 10


@dataclass
class _Panel:
    """The daily panel of the consumer-brand pairs with any event in the window."""

    users: np.ndarray  # (P,) user ids
    brands: list[str]
    brand: np.ndarray  # (P,) brand code
    channels: list[str]
    exposures: np.ndarray  # (D, C, P) int16 impressions
    step: np.ndarray  # (D, P) int8 organic step of the day
    value: np.ndarray  # (B,) mean purchase value per brand

    @property
    def n_days(self) -> int:
        return int(self.step.shape[0])


def _panel(events: Any, start: Any, end: Any, channels: list[str] | None) -> _Panel:
    """Aggregate the events to the daily panel on their engine, then lay it out as arrays."""
    ev = as_table(events, "events", need=["brand"], what=_WHAT)
    ev = ev.filter(ev.brand.notnull())
    if start is None or end is None:
        span = fetch(ev.aggregate(lo=ev.ts.min(), hi=ev.ts.max()))
        if span.empty or pd.isna(span.lo.iloc[0]):
            raise SchemaError(f"{_WHAT}: the events have no rows with a brand", table="events", column="brand")
    t0 = as_day(start if start is not None else span.lo.iloc[0], "start", what=_WHAT)
    t1 = as_day(end if end is not None else span.hi.iloc[0], "end", what=_WHAT) + pd.Timedelta(days=1)
    if t1 <= t0:
        raise ParameterError(f"{_WHAT}: end ({end}) must not be before start ({start})")
    ev = ev.filter((ev.ts >= t0) & (ev.ts < t1)
                   & ev.event_type.isin(["impression", *ORGANIC_STEPS]))
    day = ev.ts.truncate("D").name("day")
    grouped = ev.group_by(ev.user_id, ev.brand, day, ev.event_type, ev.channel).aggregate(
        n=ev.count(), value=ev.value.sum())
    # sorted: the pairs' order (and with it every random number drawn per pair) must not depend on the engine
    df = fetch(grouped).sort_values(["user_id", "brand", "day", "event_type", "channel"], ignore_index=True,
                                    na_position="first")
    if df.empty:
        raise SchemaError(f"{_WHAT}: no impressions or organic events between {t0.date()} and "
                          f"{(t1 - pd.Timedelta(days=1)).date()}", table="events")
    imp = df.event_type == "impression"
    seen = sorted(str(c) for c in df.loc[imp, "channel"].dropna().unique())
    if channels is None:
        channels = seen
    else:
        unknown = sorted(set(channels) - set(seen))
        if unknown:
            raise ParameterError(f"{_WHAT}: channels {unknown} have no impressions in the events; they have {seen}")
    if not channels:
        raise SchemaError(f"{_WHAT}: the events have no impressions with a channel: nothing to attribute",
                          table="events", column="channel")
    if len(channels) > MAX_CHANNELS:
        raise ParameterError(f"{_WHAT}: at most {MAX_CHANNELS} channels (2^C coalitions are simulated); found "
                             f"{len(channels)}: {channels}. Group them or pass channels=")
    pair_codes, pair_keys = pd.factorize(pd.MultiIndex.from_frame(df[["user_id", "brand"]].astype({"brand": str})))
    brands = sorted(pair_keys.get_level_values(1).unique())
    brand_of = pd.Index(brands).get_indexer(pair_keys.get_level_values(1))
    d = ((pd.to_datetime(df.day) - t0) // pd.Timedelta(days=1)).to_numpy()
    D, C, P = int((t1 - t0) // pd.Timedelta(days=1)), len(channels), len(pair_keys)
    exposures = np.zeros((D, C, P), np.int16)
    ci = pd.Index(channels).get_indexer(df.channel.astype(object))
    m = imp.to_numpy() & (ci >= 0)
    np.add.at(exposures, (d[m], ci[m], pair_codes[m]), np.minimum(df.n.to_numpy()[m], 30_000).astype(np.int16))
    step = np.zeros((D, P), np.int8)
    lvl = df.event_type.map(ORGANIC_STEPS).fillna(0).to_numpy().astype(np.int8)
    base = np.where(lvl < 4, lvl, 0).astype(np.int8)
    np.maximum.at(step, (d, pair_codes), base)
    adv = np.zeros((D, P), bool)
    adv[d[lvl == 4], pair_codes[lvl == 4]] = True
    step[(step == 3) & adv] = 4
    buy = (df.event_type == "purchase").to_numpy()
    value = np.zeros(len(brands))
    for b in range(len(brands)):
        sel = buy & (brand_of[pair_codes] == b)
        n = df.n.to_numpy()[sel].sum()
        value[b] = float(np.nansum(df.value.to_numpy()[sel]) / n) if n else 0.0
    return _Panel(users=pair_keys.get_level_values(0).to_numpy(), brands=brands, brand=brand_of.astype(np.int16),
                  channels=list(channels), exposures=exposures, step=step, value=value)


def _sources(step: np.ndarray, impressions: np.ndarray, counts: bool) -> dict[str, Any]:
    """A day's events as :class:`StageTracker` reads them, from the organic step and the impressions."""
    return {"impression": impressions.astype(np.int16) if counts else impressions > 0,
            "browse": step >= 1, "search": step >= 2, "cart": step >= 3,
            "purchase": EventSource("purchase", step >= 3), "share": step >= 4}


class _State:
    """The state of ``K`` worlds x ``P`` pairs walking forward one day at a time over ``n_days``.

    Features of a day (before its organic step): the 4A stage of the organic events alone (one-hot),
    discounted counts of the past days with a browse / engage / purchase (at the positive ``decays`` and 1:
    every day alike), the day's place in the window and the pair's static features; apart, each channel's
    exposure stock at every rate of ``decays`` (today's impressions included). ``stage`` is the stage with
    the impressions, the one retargeting reacts to.
    """

    def __init__(self, rules: StageRules, K: int, P: int, C: int, decays: tuple[float, ...], n_days: int) -> None:
        self.tracker = StageTracker(rules, K, P)
        self.organic_tracker = StageTracker(rules, K, P)  # the stage the organic events alone give
        self.counts_impressions = self.tracker.counts_events("impression")
        self.n_days = n_days
        self.organic_decays = np.asarray(sorted({d for d in decays if d > 0} | {1.0}), np.float32)
        self.organic = np.zeros((len(self.organic_decays), 3, K, P), np.float32)
        self.decays = np.asarray(decays, np.float32)
        self.stock = np.zeros((len(decays), C, K, P), np.float32)

    @property
    def stage(self) -> np.ndarray:
        return self.tracker.stage

    def features(self, t: int, impressions: np.ndarray, static: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Day ``t``'s rows given its impressions ``(C, K, P)`` (added to the stocks): the organic state
        ``(K * P, F)``, the ads ``(K * P, L * C)`` (log exposure stocks, >= 0) and the stage ``(K * P,)``."""
        self.stock *= self.decays[:, None, None, None]
        self.stock += impressions[None]
        K, P = self.stage.shape
        organic_stage = self.organic_tracker.stage
        stage = np.eye(_N_STAGES, dtype=np.float32)[organic_stage]  # (K, P, 5)
        parts = [stage.reshape(K * P, -1),
                 np.log1p(self.organic).reshape(-1, K * P).T,
                 np.full((K * P, 1), t / max(self.n_days - 1, 1), np.float32),
                 np.broadcast_to(static[None], (K, *static.shape)).reshape(K * P, -1)]
        return (np.concatenate(parts, axis=1, dtype=np.float32),
                np.ascontiguousarray(np.log1p(self.stock).reshape(-1, K * P).T),
                organic_stage.reshape(-1).astype(np.int64))

    def advance(self, t: int, step: np.ndarray, impressions: np.ndarray) -> None:
        """Take in day ``t``'s organic steps ``(K, P)`` and impressions ``(C, K, P)``."""
        self.organic *= self.organic_decays[:, None, None, None]
        for j in range(3):
            self.organic[:, j] += step >= j + 1
        self.tracker.update(t, _sources(step, impressions.sum(axis=0), self.counts_impressions))
        self.organic_tracker.update(t, _sources(step, np.zeros_like(step, np.int16), self.counts_impressions))


def _fit_exposures(exposures: np.ndarray, stage: np.ndarray, brand: np.ndarray, n_brands: int,
                   iterations: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson rates ``reach[c, p] * flight[c, b, t] * stage_effect[c, s]`` by iterative proportional fitting
    (the Poisson maximum likelihood of the log-linear model). ``exposures`` (D, C, P), ``stage`` (D, P): the
    stage at the start of each day. Stage effects are relative to the stage with the most exposures' days;
    a stage never seen keeps effect 1."""
    D, C, P = exposures.shape
    reach = np.ones((C, P))
    flight = np.ones((C, n_brands, D))
    effect = np.ones((C, _N_STAGES))
    onehot_b = np.eye(n_brands)[brand]  # (P, B)
    n = exposures.astype(np.float64)
    seen_stage = np.stack([(stage == s) for s in range(_N_STAGES)])  # (S, D, P)
    n_by_pair = n.sum(axis=0)  # (C, P)
    n_by_bday = np.einsum("dcp,pb->cbd", n, onehot_b)
    n_by_stage = np.einsum("dcp,sdp->cs", n, seen_stage)
    for _ in range(iterations):
        mult = effect[:, stage]  # (C, D, P)
        fb = flight[:, brand, :]  # (C, P, D)
        reach = n_by_pair / np.maximum(np.einsum("cpd,cdp->cp", fb, mult), 1e-12)
        flight = n_by_bday / np.maximum(np.einsum("cp,cdp,pb->cbd", reach, mult, onehot_b), 1e-12)
        fb = flight[:, brand, :]
        exposure_time = np.einsum("cp,cpd,sdp->cs", reach, fb, seen_stage)
        effect = np.where(exposure_time > 0, n_by_stage / np.maximum(exposure_time, 1e-12), 1.0)
    ref = np.argmax(seen_stage.sum(axis=(1, 2)))
    scale = np.where(effect[:, ref] > 0, effect[:, ref], 1.0)
    return reach * scale[:, None], flight, effect / scale[:, None]


def _binomial_quantile(u: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The ``u``-quantile of Binomial(``n``, ``p``), elementwise."""
    k = np.zeros(u.shape, np.int16)
    q = 1.0 - p
    with np.errstate(divide="ignore", invalid="ignore"):
        pmf = np.power(q, n)
        cdf = pmf.copy()
        for j in range(1, int(n.max(initial=0)) + 1):
            below = (u > cdf) & (j <= n)
            if not below.any():
                break
            k += below
            pmf = np.where(q > 0, pmf * (n - j + 1) / j * p / q, np.asarray(j == n, float))
            cdf = cdf + pmf
    return k


class DeconfoundedMTA(Estimator):
    """Deconfounded deep multi-touch attribution by the g-formula (see the module's notes).

    Parameters
    ----------
    rules : StageRules, optional
        The 4A stage rules of the state (and of retargeting's audiences); the package's defaults.
    decays : tuple of float
        Daily decay rates of the exposure stocks the outcome model sees (0: today's impressions only).
    hidden : tuple of int
        Hidden layer sizes of each network (``()``: a multinomial logit).
    n_models : int
        Networks in the ensemble, each from its own seed; their predicted probabilities are averaged.
    max_iter : int
        L-BFGS iterations of each network (full batch: deterministic given the seed).
    alpha : float
        L2 penalty on the networks' weights.
    negative_rate : float in (0, 1]
        Share of the pair-days with no organic step kept for training (weighted back up).
    n_draws : int
        Simulated paths per consumer-brand pair in the g-formula, drawn in antithetic pairs (the second of a pair
        uses ``1 - u`` for every uniform of the first); the coalitions' worths are their average. More draws
        shrink the simulation's Monte Carlo error (about as ``1 / sqrt(n_draws)``), not the training's; the
        simulation's time grows in proportion.
    random_state : int, numpy Generator or None
        Seeds the networks, the subsampling and the simulation's common random numbers: the same int gives the
        same credits (the networks train and predict on one thread, so that the sums do not depend on the
        machine's threads).
    progress : bool or "auto"

    Attributes
    ----------
    channels_, brands_ : list of str
    stage_effect_ : pandas.DataFrame
        Exposure rate by channel and 4A stage, relative to the commonest stage: retargeting's footprint.
    natural_course_ : pandas.Series
        Observed purchases next to the g-formula's prediction with every channel on (a check of the models);
        set by :meth:`attribute`.
    coalitions_ : pandas.DataFrame
        Expected purchases and revenue of every simulated coalition; set by :meth:`attribute`.
    history_ : list of list of float
        Training loss per epoch of each network.

    Examples
    --------
    >>> from marketing360.datasets import simulate
    >>> w = simulate(n_users=300, n_days=20, seed=3, truth="none")
    >>> m = DeconfoundedMTA(hidden=(), max_iter=20, progress=False).fit(w.events)
    >>> sorted(m.attribute().table().channel)[:2]
    ['affiliate', 'display']
    """

    def __init__(self, *, rules: StageRules | None = None, decays: tuple[float, ...] = (0.0, 0.5, 0.8, 0.95),
                 hidden: tuple[int, ...] = (16,), n_models: int = 1, max_iter: int = 200, alpha: float = 1e-5,
                 negative_rate: float = 0.1, n_draws: int = 2,
                 random_state: int | None = 0, progress: Progress = "auto") -> None:
        self.rules = rules
        self.decays = decays
        self.hidden = hidden
        self.n_models = n_models
        self.max_iter = max_iter
        self.alpha = alpha
        self.negative_rate = negative_rate
        self.n_draws = n_draws
        self.random_state = random_state
        self.progress = progress

    def _check_params(self) -> None:
        if self.rules is not None and not isinstance(self.rules, StageRules):
            raise ParameterError(f"rules must be a StageRules or None; found {type(self.rules).__name__}")
        d = tuple(self.decays) if isinstance(self.decays, (list, tuple)) else None
        if not d or not all(isinstance(x, (int, float)) and 0 <= x < 1 for x in d):
            raise ParameterError(f"decays must be a non-empty tuple of rates in [0, 1); found {self.decays!r}")
        h = tuple(self.hidden) if isinstance(self.hidden, (list, tuple)) else None
        if h is None or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in h):
            raise ParameterError(f"hidden must be a tuple of positive layer sizes (() for none); found {self.hidden!r}")
        for name in ("n_models", "max_iter", "n_draws"):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
                raise ParameterError(f"{name} must be a positive integer; found {v!r}")
        if not (isinstance(self.alpha, (int, float)) and self.alpha >= 0):
            raise ParameterError(f"alpha must be >= 0; found {self.alpha!r}")
        if not (isinstance(self.negative_rate, (int, float)) and 0 < self.negative_rate <= 1):
            raise ParameterError(f"negative_rate must lie in (0, 1]; found {self.negative_rate!r}")
        check_random_state(self.random_state)

    # ------------------------------------------------------------------ fitting
    def fit(self, events: Any, user_features: pd.DataFrame | None = None, *, start: Any = None, end: Any = None,
            channels: list[str] | None = None) -> "DeconfoundedMTA":
        """Build the daily panel, fit the exposure model and train the outcome networks.

        Parameters
        ----------
        events : table
            Canonical events (any table :func:`marketing360.inputs.as_table` opens) with ``brand``.
        user_features : pandas.DataFrame, optional
            ``user_id`` and consumer features (numbers standardised, categories one-hot).
        start, end : date, optional
            The window (whole days, both included); the events' first and last day by default.
        channels : list of str, optional
            The channels to credit; every channel with impressions by default.
        """
        torch = import_optional("torch", purpose="deconfounded attribution")
        self._check_params()
        rules = self.rules or StageRules()
        panel = _panel(events, start, end, None if channels is None else list(channels))
        if not (panel.step >= 3).any():
            raise SchemaError(f"{_WHAT}: the events have no purchase in the window: nothing to attribute",
                              table="events", column="event_type")
        users, spec = _user_matrix(user_features, panel.users, None)
        static = np.hstack([np.eye(len(panel.brands), dtype=np.float32)[panel.brand], users])
        rng = check_random_state(self.random_state)
        seed = int(rng.integers(2**31))
        D, C, P = panel.exposures.shape
        # the observed walk: the stage at the start of each day, and the training rows
        state = _State(rules, 1, P, C, tuple(self.decays), D)
        stage_obs = np.zeros((D, P), np.int8)
        xs, xas, ss, ys, ws = [], [], [], [], []
        keep_rng = np.random.default_rng(seed)
        for t in range(D):
            stage_obs[t] = state.stage[0]
            imp = panel.exposures[t][:, None, :]
            x, xa, st = state.features(t, imp, static)
            y = panel.step[t]
            keep = (y > 0) | (keep_rng.random(P) < self.negative_rate)
            xs.append(x[keep])
            xas.append(xa[keep])
            ss.append(st[keep])
            ys.append(y[keep])
            ws.append(np.where(y[keep] > 0, 1.0, 1.0 / self.negative_rate))
            state.advance(t, y[None], imp)
        X, XA, S = np.concatenate(xs), np.concatenate(xas), np.concatenate(ss)
        Y, W = np.concatenate(ys).astype(np.int64), np.concatenate(ws)
        mu, sd = X.mean(axis=0), X.std(axis=0)
        sd[sd < 1e-6] = 1.0
        reach, flight, effect = _fit_exposures(panel.exposures, stage_obs, panel.brand, len(panel.brands))
        nets, history = [], []
        for i in range(self.n_models):
            with _one_thread():
                net, h = _train(torch, ((X - mu) / sd, XA, S), Y, W, tuple(self.hidden), seed + i, self.max_iter,
                                self.alpha)
            nets.append(net)
            history.append(h)
        self.channels_, self.brands_, self.history_ = panel.channels, panel.brands, history
        self.stage_effect_ = pd.DataFrame(effect, index=pd.Index(panel.channels, name="channel"),
                                          columns=["unaware", "aware", "appeal", "act", "advocate"])
        self.user_spec_ = spec
        self._state = {"panel": panel, "static": static, "stage": stage_obs, "reach": reach, "flight": flight,
                        "effect": effect, "nets": nets, "mu": mu, "sd": sd, "rules": rules, "seed": seed}
        self._rollout: pd.DataFrame | None = None
        return self

    # ------------------------------------------------------------------ the g-formula
    def _simulate(self, draw: int = 0, bar: Any = None, block: int = _BLOCK) -> pd.DataFrame:
        """Expected purchases and revenue of every coalition of channels (row ``k`` has channel ``c`` on when bit
        ``c`` of ``k`` is set) on simulated path ``draw`` (odd draws mirror the uniforms of the draw before),
        ``block`` pairs at a time."""
        torch = import_optional("torch", purpose="deconfounded attribution")
        f = self._state
        panel: _Panel = f["panel"]
        D, C, P = panel.exposures.shape
        K = 1 << C
        on = ((np.arange(K)[:, None] >> np.arange(C)[None, :]) & 1).astype(bool)  # (K, C)
        conv = np.zeros(K)
        rev = np.zeros(K)
        mu = torch.from_numpy(f["mu"].astype(np.float32))
        sd = torch.from_numpy(f["sd"].astype(np.float32))
        nets = f["nets"]
        effect = f["effect"]
        channel_idx = np.arange(C)[:, None]
        seed = f["seed"]
        pair = [draw // 2] if draw >= 2 else []  # draw 0 keeps the seed sequence of a single draw
        for b0 in range(0, P, block):
            sl = slice(b0, min(P, b0 + block))
            Pb = sl.stop - sl.start
            state = _State(f["rules"], K, Pb, C, tuple(self.decays), D)
            static = f["static"][sl]
            reach = f["reach"][:, sl]  # (C, Pb)
            fl = f["flight"][:, panel.brand[sl], :]  # (C, Pb, D)
            value = panel.value[panel.brand[sl]]
            for t in range(D):
                rng = np.random.default_rng(np.random.SeedSequence([seed, b0, t, *pair]))
                u_exp = rng.random((C, Pb))
                u_step = rng.random(Pb)
                if draw % 2:
                    u_exp, u_step = 1.0 - u_exp, 1.0 - u_step
                n_obs = panel.exposures[t][:, sl].astype(np.int16)  # (C, Pb)
                s_obs = f["stage"][t, sl]
                s_cf = state.stage  # (K, Pb)
                n = np.repeat(n_obs[:, None, :], K, axis=1)  # (C, K, Pb)
                kk, pp = np.nonzero(s_cf != s_obs[None, :])  # pairs whose simulated stage is not the observed
                if len(kk):
                    scale = reach[:, pp] * fl[:, pp, t]
                    mu_obs = scale * effect[channel_idx, s_obs[pp][None, :]]  # (C, M)
                    mu_cf = scale * effect[channel_idx, s_cf[kk, pp][None, :]]
                    moved, u = n_obs[:, pp].copy(), u_exp[:, pp]
                    down = (mu_cf < mu_obs) & (moved > 0)
                    if down.any():
                        moved[down] = _binomial_quantile(u[down], moved[down], mu_cf[down] / mu_obs[down])
                    up = mu_cf > mu_obs
                    if up.any():
                        moved[up] += _poisson_inv(u[up], mu_cf[up] - mu_obs[up], kmax=40)
                    n[:, kk, pp] = moved
                n *= on.T[:, :, None]
                x, xa, st = state.features(t, n, static)
                with torch.no_grad():
                    inputs = ((torch.from_numpy(x) - mu) / sd, torch.from_numpy(xa), torch.from_numpy(st))
                    prob = sum(torch.exp(net(*inputs)) for net in nets) / len(nets)
                    prob = prob.reshape(K, Pb, _N_STEPS)
                    cum = torch.cumsum(prob, dim=2)[..., :-1]
                    step = (torch.from_numpy(u_step.astype(np.float32))[None, :, None] > cum).sum(dim=2)
                    step = step.numpy().astype(np.int8)
                    prob = prob.numpy()
                bought = prob[..., 3] + prob[..., 4]
                conv += bought.sum(axis=1)
                rev += bought @ value
                state.advance(t, step, n)
                if bar is not None:
                    bar.update(1)
        return pd.DataFrame({"channels": [
            " + ".join(c for c, o in zip(panel.channels, row) if o) or "(none)" for row in on],
            "purchases": conv, "revenue": rev})

    def attribute(self) -> Attribution:
        """Exact Shapley credit of every channel over the simulated coalitions (purchases and revenue)."""
        self._check_fitted()
        if self._rollout is None:
            with _one_thread():
                from tqdm.auto import tqdm

                P, D = self._state["panel"].exposures.shape[2], self._state["panel"].n_days
                with tqdm(total=self.n_draws * -(-P // _BLOCK) * D, disable=not show(self.progress),
                          desc=f"{_WHAT} g-formula", unit="day") as bar:
                    draws = [self._simulate(d, bar) for d in range(self.n_draws)]
                self._rollout = draws[0].assign(purchases=np.mean([d.purchases for d in draws], axis=0),
                                                revenue=np.mean([d.revenue for d in draws], axis=0))
        coal = self._rollout
        conv = exact_shapley(coal.purchases.to_numpy())
        rev = exact_shapley(coal.revenue.to_numpy())
        panel: _Panel = self._state["panel"]
        self.coalitions_ = coal
        self.natural_course_ = pd.Series({"observed_purchases": float((panel.step >= 3).sum()),
                                          "predicted_purchases": float(coal.purchases.iloc[-1])})
        frame = pd.DataFrame({"method": "deconfounded", "channel": self.channels_, "conversions": conv,
                              "value": rev})
        # no ``baseline``: Attribution's is a conversion probability; the no-ad purchases are in coalitions_
        return Attribution(frame, params={"deconfounded": self.get_params()})


@contextmanager
def _one_thread() -> Iterator[None]:
    """Torch on one thread inside the block: its multi-threaded sums change with the threads, and with them
    the L-BFGS path and the simulated worlds."""
    torch = import_optional("torch", purpose="deconfounded attribution")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _hazard_net(torch: Any, n_state: int, n_ads: int, hidden: tuple[int, ...]) -> Any:
    """The outcome network: log-probabilities of the day's organic step 0-4 as a ladder of continuation
    steps, each with cumulative hazard ``z_j = softplus(organic_j(state)) + gain_j(stage) * ads_j``.

    ``organic`` is a multilayer perceptron of the organic state (the deconfounding controls); ``ads_j`` is a
    non-negative combination of the exposure stocks (softplus weights: an ad never lowers a step's chance, the
    additive-hazard view of Zhang, Wei & Ren 2014), scaled by a positive gain per 4A stage. The chance of
    reaching step ``j`` from ``j - 1`` is ``1 - exp(-z_j)``.
    """
    nn = torch.nn

    class HazardNet(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = []
            width = n_state
            for h in hidden:
                layers += [nn.Linear(width, h), nn.Tanh()]
                width = h
            layers.append(nn.Linear(width, _N_STEPS - 1))
            self.organic = nn.Sequential(*layers)
            self.ad_weight = nn.Parameter(torch.full((_N_STEPS - 1, n_ads), -4.0))
            self.stage_gain = nn.Parameter(torch.zeros(_N_STAGES, _N_STEPS - 1))

        def forward(self, state: Any, ads: Any, stage: Any) -> Any:
            ad = (ads @ nn.functional.softplus(self.ad_weight).T) * torch.exp(self.stage_gain[stage])
            z = nn.functional.softplus(self.organic(state)) + ad  # (N, 4) cumulative hazards
            log_go = torch.log((-torch.expm1(-z)).clamp_min(1e-12))
            reach = torch.cumsum(log_go, dim=1)  # log P(step >= j), j = 1..4
            stop = torch.cat([torch.zeros_like(reach[:, :1]), reach[:, :-1]], dim=1) - z  # log P(step == j - 1)
            return torch.cat([stop, reach[:, -1:]], dim=1)

    return HazardNet()


def _train(torch: Any, inputs: tuple[np.ndarray, np.ndarray, np.ndarray], Y: np.ndarray, W: np.ndarray,
           hidden: tuple[int, ...], seed: int, max_iter: int, alpha: float) -> tuple[Any, list[float]]:
    """One outcome network (:func:`_hazard_net`): full-batch L-BFGS (strong Wolfe line search) on the weighted
    cross-entropy plus ``alpha`` times the squared organic weights, from an initialisation drawn from ``seed``
    with each step's organic hazard at its weighted continuation rate. Deterministic given the seed."""
    torch.manual_seed(seed)
    X, XA, S = inputs
    net = _hazard_net(torch, X.shape[1], XA.shape[1], hidden)
    reached = np.array([W[Y >= j].sum() for j in range(_N_STEPS)]) + 1.0
    go = np.clip(reached[1:] / reached[:-1], 1e-6, 1 - 1e-6)
    with torch.no_grad():  # softplus(bias) = -log(1 - go)
        net.organic[-1].bias.copy_(torch.from_numpy(np.log(np.expm1(-np.log1p(-go))).astype(np.float32)))
    xt = (torch.from_numpy(X.astype(np.float32)), torch.from_numpy(XA.astype(np.float32)), torch.from_numpy(S))
    yt = torch.from_numpy(Y)
    wt = torch.from_numpy((W / W.sum()).astype(np.float32))
    weights = [p for name, p in net.organic.named_parameters() if name.endswith("weight")]
    opt = torch.optim.LBFGS(net.parameters(), lr=1.0, max_iter=max_iter, history_size=20,
                            tolerance_grad=1e-7, tolerance_change=1e-10, line_search_fn="strong_wolfe")
    history: list[float] = []

    def closure() -> Any:
        opt.zero_grad()
        logp = net(*xt)
        loss = -(logp.gather(1, yt[:, None])[:, 0] * wt).sum() + alpha * sum((p ** 2).sum() for p in weights)
        loss.backward()
        history.append(float(loss.detach()))
        return loss

    opt.step(closure)
    net.eval()
    return net, history
