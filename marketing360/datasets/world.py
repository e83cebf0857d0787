"""The parameters of a simulated world: channels, funnel, names.

Everything the simulator's causal structure depends on lives here as plain
dataclasses with documented defaults, so a study can change one thing (a
channel's carryover, an upper-funnel channel's lift) and know the truth it
planted. The true 4A stages follow :class:`marketing360.assets.rules.StageRules`
(the ``rules=`` argument of :func:`~marketing360.datasets.simulate`).

Examples
--------
>>> FunnelParams().table().shape
(4, 5)
>>> with_channel(DEFAULT_CHANNELS, "video", theta=0.3)["video"].theta
0.3
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ParameterError
from ..schema import STAGES

if TYPE_CHECKING:
    pass

__all__ = ["ChannelParams", "FunnelParams", "GeoTest", "DEFAULT_CHANNELS", "CHANNELS",
           "STAGES", "CATEGORIES", "BRAND_NAMES", "GEOS"]



@dataclass(frozen=True)
class ChannelParams:
    """Causal and delivery parameters of one ad channel.

    Parameters
    ----------
    theta : float
        Geometric adstock carryover in [0, 1): ``A(t) = x(t) + theta * A(t-1)``.
    kappa, alpha : float
        Hill saturation ``A^alpha / (A^alpha + kappa^alpha)`` of the adstock.
    beta : tuple of 4 floats
        Lift of the saturated adstock on each funnel step's hazard:
        browse, engage (search / follow / cart / ask), purchase, advocate.
    rate : float
        Mean exposures per targeted consumer-brand pair and day on air.
    reach : float
        Share of consumers the channel can reach at all.
    retarget : float
        Extra exposure intensity for consumers at Appeal or above
        (``rate * (1 + retarget)``): intent-driven channels target the
        already-interested, which fools last-touch attribution.
    ctr : float
        Chance that a day's exposures of the channel lead to a click, per exposure.
    pricing : {"cpm", "cpc"}
        What is paid for: a thousand impressions or a click.
    price : float
        CPM or CPC in currency units.
    """

    theta: float
    kappa: float
    alpha: float
    beta: tuple[float, float, float, float]
    rate: float
    reach: float
    retarget: float
    ctr: float
    pricing: str
    price: float

    def __post_init__(self) -> None:
        if not 0 <= self.theta < 1:
            raise ParameterError(f"theta must be in [0, 1); found {self.theta}")
        if self.kappa <= 0 or self.alpha <= 0:
            raise ParameterError(f"kappa and alpha must be > 0; found {self.kappa}, {self.alpha}")
        if len(self.beta) != 4 or min(self.beta) < 0:
            raise ParameterError(f"beta must be 4 non-negative lifts; found {self.beta}")
        if self.rate < 0 or not 0 <= self.reach <= 1 or self.retarget < 0:
            raise ParameterError("rate and retarget must be >= 0 and reach in [0, 1]")
        if not 0 <= self.ctr <= 1:
            raise ParameterError(f"ctr must be in [0, 1]; found {self.ctr}")
        if self.pricing not in ("cpm", "cpc") or self.price < 0:
            raise ParameterError(f"pricing must be 'cpm' or 'cpc' with price >= 0; found "
                                 f"{self.pricing!r}, {self.price}")

    def saturation(self, adstock: np.ndarray) -> np.ndarray:
        """The Hill saturation of an adstock level (0 at 0, 1/2 at ``kappa``, to 1)."""
        a = np.power(np.asarray(adstock, dtype=np.float64) / self.kappa, self.alpha)
        return a / (1.0 + a)


#: default channels: three upper-funnel (display, social, video), three lower-funnel
DEFAULT_CHANNELS: dict[str, ChannelParams] = {
    "display": ChannelParams(theta=0.5, kappa=1.0, alpha=1.0, beta=(0.036, 0.018, 0.006, 0.0),
                             rate=0.30, reach=0.85, retarget=1.0, ctr=0.004, pricing="cpm", price=60.0),
    "search": ChannelParams(theta=0.2, kappa=0.5, alpha=1.5, beta=(0.006, 0.03, 0.036, 0.0),
                            rate=0.04, reach=0.6, retarget=8.0, ctr=0.06, pricing="cpc", price=8.0),
    "social": ChannelParams(theta=0.4, kappa=1.0, alpha=1.0, beta=(0.03, 0.024, 0.006, 0.024),
                            rate=0.25, reach=0.6, retarget=0.5, ctr=0.008, pricing="cpm", price=100.0),
    "video": ChannelParams(theta=0.7, kappa=0.8, alpha=1.2, beta=(0.06, 0.048, 0.018, 0.0),
                           rate=0.10, reach=0.5, retarget=0.0, ctr=0.002, pricing="cpm", price=240.0),
    "email": ChannelParams(theta=0.3, kappa=0.5, alpha=1.0, beta=(0.003, 0.012, 0.024, 0.018),
                           rate=0.05, reach=0.45, retarget=3.0, ctr=0.02, pricing="cpm", price=10.0),
    "affiliate": ChannelParams(theta=0.1, kappa=0.5, alpha=2.0, beta=(0.0, 0.012, 0.036, 0.0),
                               rate=0.03, reach=0.35, retarget=5.0, ctr=0.04, pricing="cpc", price=12.0),
}

CHANNELS: tuple[str, ...] = tuple(DEFAULT_CHANNELS)


@dataclass(frozen=True)
class FunnelParams:
    """Organic (no-ad) daily hazards of the funnel steps by current stage.

    Each row is indexed by the consumer's stage at the start of the day
    (unaware, aware, appeal, act, advocate) and must be non-decreasing:
    consumers further along are more likely to take each step.

    ``browse``: chance of a brand page view; ``engage``: of an engagement
    (search, follow, cart, ask) given a view; ``purchase``: of a purchase
    given an engagement; ``advocate``: of a positive review (rating 4 or 5)
    or a share on the day of a purchase.

    Purchases also have follow-ups some days later, which are organic (ads
    do not change them given the purchase):

    - a review with a rating from 1 to 5 (``review_ratings``), for a share
      ``review`` of purchases: a rating below 4 makes a pair Act (JD's rule)
      without making it Advocate;
    - an after-sales ``service`` contact, for a share ``service`` of purchases.

    A follow-up comes 1 to ``followup_days`` days (uniformly) after its
    purchase: on each day, a pair draws one delay ``d`` per kind of
    follow-up and follows up on its purchase of ``d`` days ago, if any, with
    the kind's chance. So each purchase has on average ``review`` reviews and
    ``service`` service contacts, and a world with more purchases has, pathwise,
    more follow-ups (the truth stays monotone in the active channels).

    Demand that moves every consumer alike from day to day (off by default):
    ``weekday`` multiplies every organic hazard on each day of the week
    (Monday first), and ``daily_sd`` adds a log-normal shock shared by all
    consumers, geos and brands on each simulated day (news, weather, paydays).
    Real daily sales have both; without them the geos of a world share no
    day-to-day movement, which estimators that learn from co-movement with
    control series (``tbr``, ``causal_impact``) rely on. Both are drawn once per
    world, the same in every counterfactual world of the truth.
    """

    browse: tuple[float, ...] = (0.010, 0.012, 0.05, 0.05, 0.08)
    engage: tuple[float, ...] = (0.10, 0.10, 0.20, 0.20, 0.25)
    purchase: tuple[float, ...] = (0.02, 0.02, 0.04, 0.05, 0.06)
    advocate: tuple[float, ...] = (0.05, 0.05, 0.05, 0.20, 0.35)
    #: log-normal sd of the consumer's organic propensity
    propensity_sd: float = 0.5
    #: gamma shape of the consumer's ad responsiveness (mean 1)
    responsiveness_shape: float = 2.0
    #: log-normal sd of a purchase's value around the brand's price
    value_sd: float = 0.35
    #: mean number of later reviews per purchase
    review: float = 0.15
    #: chances of the ratings 1 to 5 of a later review
    review_ratings: tuple[float, ...] = (0.08, 0.07, 0.15, 0.30, 0.40)
    #: mean number of after-sales service contacts per purchase
    service: float = 0.08
    #: follow-ups come 1 to this many days after the purchase (at most 31)
    followup_days: int = 14
    #: multipliers of the organic hazards on Monday ... Sunday
    weekday: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    #: log-normal sd of a daily demand shock shared by every consumer (0: none)
    daily_sd: float = 0.0

    def __post_init__(self) -> None:
        for name in ("review", "service"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v <= 1:
                raise ParameterError(f"FunnelParams.{name} must be a chance in [0, 1]; found {v!r}")
        r = tuple(self.review_ratings)
        if len(r) != 5 or min(r) < 0 or not math.isclose(sum(r), 1.0, abs_tol=1e-9):
            raise ParameterError("FunnelParams.review_ratings must be 5 chances (ratings 1 to 5) "
                                 f"summing to 1; found {self.review_ratings!r}")
        d = self.followup_days
        if not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= 31:
            raise ParameterError(f"FunnelParams.followup_days must be a whole number of days in "
                                 f"[1, 31]; found {d!r}")
        wk = tuple(self.weekday)
        if len(wk) != 7 or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 10
                               for v in wk):
            raise ParameterError(f"FunnelParams.weekday must be 7 multipliers in (0, 10] (Monday first); "
                                 f"found {self.weekday!r}")
        sd = self.daily_sd
        if isinstance(sd, bool) or not isinstance(sd, (int, float)) or not 0 <= sd <= 2:
            raise ParameterError(f"FunnelParams.daily_sd must be in [0, 2]; found {sd!r}")

    @property
    def moves_daily(self) -> bool:
        """Whether demand varies by weekday or by a daily shock."""
        return self.daily_sd > 0 or any(v != 1.0 for v in self.weekday)

    def table(self) -> np.ndarray:
        """The (4 steps x 5 stages) hazard table."""
        t = np.array([self.browse, self.engage, self.purchase, self.advocate], dtype=np.float64)
        if t.shape != (4, 5):
            raise ParameterError("each funnel step needs one hazard per stage (5 values)")
        if (t < 0).any() or (t >= 1).any():
            raise ParameterError("funnel hazards must be in [0, 1)")
        if (np.diff(t, axis=1) < 0).any():
            raise ParameterError("funnel hazards must not decrease along the stages")
        return t


CATEGORIES: dict[str, float] = {  # category -> typical price (currency units, CNY-like)
    "phones": 900.0, "laptops": 1800.0, "skincare": 120.0, "snacks": 25.0,
    "apparel": 150.0, "appliances": 600.0, "toys": 80.0, "coffee": 40.0,
}

BRAND_NAMES: tuple[str, ...] = (
    "Acme", "Bolt", "Cosmo", "Dynamo", "Echo", "Fable", "Gala", "Halo", "Iris", "Jade",
    "Kite", "Luna", "Mosaic", "Nova", "Orbit", "Pixel", "Quill", "Rally", "Sol", "Terra",
    "Umbra", "Vega", "Willow", "Xeno", "Yonder", "Zephyr",
)

GEOS: tuple[str, ...] = (
    "beijing", "shanghai", "guangzhou", "shenzhen", "chengdu", "hangzhou", "wuhan", "xian",
    "nanjing", "chongqing", "tianjin", "suzhou", "zhengzhou", "changsha", "shenyang",
    "qingdao", "dongguan", "ningbo", "kunming", "hefei",
)


@dataclass(frozen=True)
class GeoTest:
    """A geo holdout: ``channel`` switched off in ``geos`` from ``start`` to ``end`` (inclusive dates).

    The observed world runs with the channel off there (no exposures, no
    spend); the simulator also runs the world as planned, with the channel on,
    under the same random numbers, so the truth knows what the test cost:
    the conversions, revenue and spend the holdout geos would have had, day
    by day (see :attr:`Truth.geo_tests <marketing360.datasets.Truth>`).

    Examples
    --------
    >>> GeoTest("search", ("beijing", "wuhan"), "2025-02-01", "2025-02-28").name
    'search-off'
    """

    channel: str
    geos: tuple[str, ...]
    start: str
    end: str
    name: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.geos, str):
            object.__setattr__(self, "geos", (self.geos,))
        object.__setattr__(self, "geos", tuple(self.geos))
        if not self.name:
            object.__setattr__(self, "name", f"{self.channel}-off")


def resolve_channels(channels: Mapping[str, ChannelParams] | list[str] | tuple[str, ...] | None
                     ) -> dict[str, ChannelParams]:
    """Channel names -> parameters, from names of default channels or a full mapping."""
    if channels is None:
        return dict(DEFAULT_CHANNELS)
    if isinstance(channels, Mapping):
        out = dict(channels)
        bad = [k for k, v in out.items() if not isinstance(v, ChannelParams)]
        if bad:
            raise ParameterError(f"channels {bad} must map to ChannelParams")
    else:
        unknown = [c for c in channels if c not in DEFAULT_CHANNELS]
        if unknown:
            raise ParameterError(
                f"unknown channel name(s) {unknown}; default channels are {list(DEFAULT_CHANNELS)} "
                "(pass a mapping name -> ChannelParams for others)")
        out = {c: DEFAULT_CHANNELS[c] for c in channels}
    if not out:
        raise ParameterError("at least one ad channel is needed")
    for name in out:
        if name in ("organic", "direct"):
            raise ParameterError(f"{name!r} is the simulator's name for unpaid traffic; "
                                 "choose another channel name")
    if len(set(out)) != len(out):
        raise ParameterError("channel names must be unique")
    return out


def with_channel(channels: Mapping[str, ChannelParams], name: str, **changes: float
                 ) -> dict[str, ChannelParams]:
    """A copy of ``channels`` with some parameters of one channel changed."""
    out = dict(channels)
    out[name] = replace(out[name], **changes)  # type: ignore[arg-type]
    return out

