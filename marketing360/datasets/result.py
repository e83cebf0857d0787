"""A simulated world as an object (:class:`SimulationResult`) and as a folder of parquet files.

``SimulationResult.write(path)`` writes every table as parquet plus a
``world.json`` (configuration, totals and the 4A stage rules);
``SimulationResult.read(path)`` reads it back. Each file is written whole or
not at all (written beside, then renamed).

Examples
--------
>>> import tempfile
>>> from marketing360.datasets import simulate
>>> w = simulate(n_users=100, n_days=7, seed=3, truth="none")
>>> back = SimulationResult.read(w.write(tempfile.mkdtemp()))
>>> len(back.events) == len(w.events), back.truth.rules == w.truth.rules
(True, True)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..assets.rules import StageRules
from ..errors import Marketing360Error
from .truth import Truth

__all__ = ["SimulationResult"]


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
        The arguments of :func:`~marketing360.datasets.simulate`.
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
        """The ad channels, in the simulator's order."""
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
                write_frame(df, root / f"{name}.parquet")
        if self.events is None and self.events_path is not None:
            src, dst = Path(self.events_path).resolve(), (root / "events").resolve()
            if src != dst:
                dst.mkdir(exist_ok=True)
                for f in sorted(src.glob("*.parquet")):
                    atomic_bytes(dst / f.name, f.read_bytes())
        for name in self.TRUTH_TABLES:
            df = getattr(self.truth, name)
            if df is not None:
                write_frame(df, root / "truth" / f"{name}.parquet")
        meta = {"config": self.config, "totals": self.truth.totals,
                "rules": self.truth.rules.to_dict()}
        atomic_bytes(root / "world.json", json.dumps(meta, indent=1, default=str).encode())
        return root

    @classmethod
    def read(cls, path: str | Path) -> "SimulationResult":
        """Read a world written by :meth:`write` (events stay on disk if stored as a folder).

        Raises
        ------
        Marketing360Error
            ``path`` holds no ``world.json``.
        """
        root = Path(path)
        if not (root / "world.json").is_file():
            raise Marketing360Error(f"no simulated world at {root} (no world.json)")
        meta = json.loads((root / "world.json").read_text())

        def opt(p: Path) -> pd.DataFrame | None:
            return decategorize(pd.read_parquet(p)) if p.exists() else None

        if "rules" in meta:
            rules = StageRules.from_dict(meta["rules"])
        else:  # worlds written before the truth followed StageRules: JD's criteria, these windows
            rules = StageRules.with_windows(**{k: int(v) for k, v in meta.get("windows", {}).items()})
        events = opt(root / "events.parquet")
        truth = Truth(**{n: opt(root / "truth" / f"{n}.parquet") for n in cls.TRUTH_TABLES},
                      totals=meta["totals"], rules=rules)
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


# ============================================================================ files


def decategorize(df: pd.DataFrame) -> pd.DataFrame:
    """Dictionary-encoded string columns back to plain ``object`` strings with ``None``."""
    for c in df.columns:
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype(object).where(df[c].notna(), None)
    return df


def write_frame(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` as zstd parquet at ``path``, whole or not at all."""
    tmp = path.with_name(path.name + ".tmp")
    # low-cardinality strings as dictionaries: several times smaller on disk
    cats = {c: df[c].astype("category") for c in df.columns
            if df[c].dtype == object and df[c].nunique() < max(1000, len(df) // 100)}
    table = pa.Table.from_pandas(df.assign(**cats), preserve_index=False)
    pq.write_table(table, tmp, compression="zstd", compression_level=9)
    os.replace(tmp, path)


def atomic_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` at ``path``, whole or not at all."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
