"""The marketing360 calls of the attribution suites, in one place.

Journeys and path tables live in ``marketing360.paths``, the models in
``marketing360.attribution``; results are :class:`marketing360.results.Result`
objects (``.table()`` gives the tidy pandas frame). When an API the suites use
moves or changes, only this module changes (for a move of the journeys, the one
line :data:`JOURNEYS_MODULE`). Everything is imported lazily: the harness's
parent process stays light, and ChannelAttribution's venv never imports the
package.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

#: where ``journeys``, ``from_paths`` and ``journey_sequences`` live
JOURNEYS_MODULE = "marketing360.paths"
#: where the attribution models live
MODELS_MODULE = "marketing360.attribution"

#: ChannelAttribution's path-table columns for ours
CA_COLUMNS = {"conversions": "total_conversions", "value": "total_conversion_value", "nulls": "total_null"}


def paths_api() -> Any:
    """The module with ``journeys``, ``from_paths`` and ``journey_sequences``."""
    return importlib.import_module(JOURNEYS_MODULE)


def models_api() -> Any:
    """The module with ``markov``, ``shapley``, ``transitions``, ``DeepMTA``, ``score``, ..."""
    return importlib.import_module(MODELS_MODULE)


def frame(result: Any) -> Any:
    """The tidy pandas frame of a result object (or of a lazy ibis table)."""
    return result.table() if callable(getattr(result, "table", None)) else result.to_pandas()


def journeys(events: Any, lookback_days: float = 30, **kw: Any) -> Any:
    """marketing360's journeys of ``events`` (an ibis table)."""
    return paths_api().journeys(events, lookback_days=lookback_days, **kw)


def world_journeys(world: Any, lookback_days: float = 30) -> tuple[Any, Any]:
    """A simulated world's journeys on a fresh DuckDB engine, every consumer x brand in the population:
    conversion-anchored and calendar-anchored (what the causal models read), both cached on the engine."""
    import pandas as pd

    import marketing360 as m3

    eng = m3.connect()
    ev = eng.table(world.events)
    brands = sorted(world.events.brand.dropna().unique())
    pop = eng.table(world.users[["user_id"]].merge(pd.DataFrame({"brand": brands}), how="cross"))
    return (journeys(ev, lookback_days, population=pop).cache(),
            journeys(ev, lookback_days, population=pop, anchor="calendar").cache())


def path_table(j: Any) -> Any:
    """The journeys' ChannelAttribution path table as pandas, in ChannelAttribution's column names
    (``path, total_conversions, total_conversion_value, total_null``), ordered by path."""
    df = frame(j.paths())
    return df.rename(columns=CA_COLUMNS)[["path", *CA_COLUMNS.values()]]


def accepts_ca_columns() -> bool:
    """Whether ``from_paths`` takes a frame in ChannelAttribution's column names as it is (checked on
    a one-row frame); otherwise :func:`from_ca_frame` renames the columns first, as a user must."""
    import pandas as pd

    try:
        paths_api().from_paths(pd.DataFrame({"path": ["a > b"], "total_conversions": [1],
                                             "total_conversion_value": [1.0], "total_null": [1]})).paths()
        return True
    except Exception:  # noqa: BLE001 - a SchemaError when it does not
        return False


def from_ca_frame(df: Any, as_is: bool) -> Any:
    """Journeys from an in-memory ChannelAttribution path table (what its users already have)."""
    if not as_is:
        df = df.rename(columns={v: k for k, v in CA_COLUMNS.items()})
    return paths_api().from_paths(df)


def from_paths(table: Any) -> Any:
    return paths_api().from_paths(table)


def removal_effects(m: Any) -> dict[str, float]:
    """Channel -> removal effect (conversions) of a Markov result."""
    return {str(k): float(v) for k, v in m.removal_effects.set_index("channel").removal_effect.items()}


def credited(m: Any) -> dict[str, float]:
    """Channel -> credited conversions of an attribution result."""
    return {str(k): float(v) for k, v in frame(m).set_index("channel").conversions.items()}


def n_channels(m: Any) -> int:
    return len(frame(m))


def journey_counts(j: Any) -> dict[str, float]:
    """Journeys with touches, their touches and conversions."""
    s = j.totals()
    return {"journeys_with_touches": float(s.loc[s.has_touches, "journeys"].sum()),
            "touches": float(s.touches.sum()),
            "conversions": float(s.loc[s.has_touches, "conversions"].sum())}


def journey_sequences(j: Any, max_len: int = 30) -> Any:
    return paths_api().journey_sequences(j, max_len=max_len)


def deep_model(epochs: int, seed: int, players: str = "channel") -> Any:
    """An unfitted DeepMTA (GRU, default sizes) crediting ``players``."""
    return models_api().DeepMTA(epochs=epochs, progress=False, random_state=seed, players=players)


def deep_history(model: Any) -> list[float]:
    return list(model.history_)


def deep_one_journey(model: Any, seq: Any, users: Any) -> Callable[[int], Any]:
    """``f(row)``: the fitted model's conversion probability of one journey at batch size 1
    (sequence arrays and features in, probability out), as a served model computes it."""
    from marketing360.models.sequence import predict_proba

    context = model._context(seq, users)
    net, tok, hrs, lens = model.net_, seq.tokens, seq.hours, seq.lengths

    def one(r: int) -> Any:
        return predict_proba(net, tok[r:r + 1], hrs[r:r + 1], lens[r:r + 1], context[r:r + 1])

    return one
