"""A simulated world as an object (:class:`SimulationResult`) and as a folder of parquet files.

``SimulationResult.write(path)`` writes every table as parquet plus a
``world.json`` (configuration, totals, the 4A stage rules and the list of the
files it wrote); ``SimulationResult.read(path)`` reads back exactly the files
that list names. The folder is written whole or not at all: it is filled
beside ``path`` under a temporary name and then renamed into place, so a
crash leaves the previous world (or none), and a world written over another
one keeps nothing of it.

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
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..assets.rules import StageRules
from ..errors import Marketing360Error, ParameterError
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
    #: the simulated world's parameters and random state (:func:`~marketing360.datasets.evaluate_campaigns`
    #: runs it again); not written: a world read from disk has none
    _world: Any = field(default=None, repr=False, compare=False)

    TABLES = ("events", "users", "brands", "campaigns", "spend", "outcomes",
              "ghost_impressions", "assignments")
    TRUTH_TABLES = ("stages", "incremental", "shapley", "incremental_by_brand",
                    "channel_params", "coalitions", "experiments", "geo_tests", "funnel", "campaign",
                    "campaign_users", "propensities")

    @property
    def channels(self) -> list[str]:
        """The ad channels, in the simulator's order."""
        return list(self.config["channels"])

    def experiment_assignment(self, channel: str) -> pd.DataFrame:
        """The assignment table of the channel's holdout experiment, as :func:`~marketing360.incrementality.experiment`
        reads it: ``user_id, arm`` (``"treatment"`` / ``"control"``) and ``exposed`` (the channel reached the
        consumer, or would have: its ghost impressions in the control arm).

        Raises
        ------
        ParameterError
            The channel had no holdout in this world.
        """
        a = self.assignments
        held = sorted(set(a.channel)) if len(a) else []
        if channel not in held:
            raise ParameterError(f"channel {channel!r} had no holdout in this world; channels with one: {held} "
                                 "(simulate(..., holdout={channel: share}))")
        a = a[a.channel == channel]
        if self.events is not None:
            ev = self.events
            reached = ev.loc[(ev.event_type == "impression") & (ev.channel == channel), "user_id"]
        else:
            import pyarrow.dataset as ds

            data = ds.dataset(str(self.events_path), format="parquet")
            reached = data.to_table(columns=["user_id"], filter=(ds.field("event_type") == "impression")
                                    & (ds.field("channel") == channel)).column("user_id").to_pandas()
        g = self.ghost_impressions
        seen = set(reached.unique()) | set(g.loc[g.channel == channel, "user_id"])
        return pd.DataFrame({"user_id": a.user_id.to_numpy(),
                             "arm": pd.Series(a.holdout.to_numpy()).map({True: "control", False: "treatment"}),
                             "exposed": a.user_id.isin(seen).to_numpy()})

    def write(self, path: str | Path) -> Path:
        """Write every table as parquet, plus ``world.json``, as the folder ``path``; returns it.

        The folder is filled under a temporary name beside ``path`` and renamed
        into place, replacing a world already there as a whole (nothing of it is
        kept). Events kept on disk (``out=``) are hard-linked (copied across
        file systems) into the new folder. ``world.json`` records which tables
        were written and where the events are; :meth:`read` trusts only that.

        Raises
        ------
        ParameterError
            ``path`` is a file, or a folder holding files that no world writes
            (it would be replaced: write to a new or empty folder instead).
        Marketing360Error
            The events folder of a world simulated with ``out=`` is gone.
        """
        root = Path(path)
        replace_folder(root, self._write_files)
        return root

    def _write_files(self, folder: Path) -> None:
        """Write the world's files into ``folder`` (which exists and is empty); :meth:`write` renames it.

        The record of what was written goes in ``world.json``, last.
        """
        folder = Path(folder)
        (folder / "truth").mkdir(exist_ok=True)
        tables = []
        for name in self.TABLES:
            df = getattr(self, name)
            if name != "events" and df is not None:
                write_frame(df, folder / f"{name}.parquet")
                tables.append(name)
        events: dict[str, Any] | None = None
        if self.events is not None:
            write_frame(self.events, folder / "events.parquet")
            events = {"file": "events.parquet", "rows": len(self.events)}
        elif self.events_path is not None:
            src = Path(self.events_path)
            if not src.is_dir():
                raise Marketing360Error(f"the events of this world were in {src}, which is gone")
            dst = folder / "events"
            dst.mkdir()
            parts = sorted(f.name for f in src.glob("*.parquet"))
            for name in parts:
                _link_or_copy(src / name, dst / name)
            events = {"folder": "events", "parts": parts, "rows": _parquet_rows(dst, parts)}
        truth = []
        for name in self.TRUTH_TABLES:
            df = getattr(self.truth, name)
            if df is not None:
                write_frame(df, folder / "truth" / f"{name}.parquet")
                truth.append(name)
        meta = {"config": self.config, "totals": self.truth.totals, "rules": self.truth.rules.to_dict(),
                "files": {"tables": tables, "truth": truth, "events": events}}
        atomic_bytes(folder / "world.json", json.dumps(meta, indent=1, default=str).encode())

    @classmethod
    def read(cls, path: str | Path) -> "SimulationResult":
        """Read a world written by :meth:`write` (events stay on disk if stored as a folder).

        Only the files that ``world.json`` lists are read. A folder written
        before ``world.json`` listed its files is read as before, except that
        truth tables its ``truth`` level does not make are left out.

        Raises
        ------
        Marketing360Error
            ``path`` holds no ``world.json``, or lacks a file it lists, or holds
            events that are not the ones it records.
        """
        root = Path(path)
        if not (root / "world.json").is_file():
            raise Marketing360Error(f"no simulated world at {root} (no world.json)")
        meta = json.loads((root / "world.json").read_text())
        if "rules" in meta:
            rules = StageRules.from_dict(meta["rules"])
        else:  # worlds written before the truth followed StageRules: JD's criteria, these windows
            rules = StageRules.with_windows(**{k: int(v) for k, v in meta.get("windows", {}).items()})
        files = meta.get("files")
        if files is None:
            return cls._read_unlisted(root, meta, rules)

        def table(p: Path) -> pd.DataFrame:
            if not p.is_file():
                raise Marketing360Error(f"the world in {root} is incomplete: world.json lists "
                                        f"{p.relative_to(root)}, which is missing")
            return decategorize(pd.read_parquet(p))

        events, events_path = None, None
        ev = files.get("events")
        if ev and "file" in ev:
            events = table(root / ev["file"])
            if len(events) != ev["rows"]:
                raise Marketing360Error(f"the events in {root / ev['file']} have {len(events):,} rows; "
                                        f"world.json records {ev['rows']:,}: they belong to another world")
        elif ev and "folder" in ev:
            events_path = root / ev["folder"]
            found = sorted(f.name for f in events_path.glob("*.parquet")) if events_path.is_dir() else []
            if found != sorted(ev["parts"]) or _parquet_rows(events_path, found) != ev["rows"]:
                raise Marketing360Error(
                    f"the events in {events_path} are not the ones world.json records ({len(ev['parts'])} "
                    f"files, {ev['rows']:,} rows): they were changed after the world was written (e.g. by "
                    "simulate(out=...) into the same folder); write the world again")
        truth = Truth(**{n: table(root / "truth" / f"{n}.parquet") if n in files["truth"] else None
                         for n in cls.TRUTH_TABLES}, totals=meta["totals"], rules=rules)
        return cls(events=events,
                   **{n: table(root / f"{n}.parquet") if n in files["tables"] else None
                      for n in cls.TABLES if n != "events"},
                   truth=truth, config=meta["config"], events_path=events_path)

    @classmethod
    def _read_unlisted(cls, root: Path, meta: dict[str, Any], rules: StageRules) -> "SimulationResult":
        """A world written before ``world.json`` listed its files: every file found, as far as it can belong."""

        def opt(p: Path) -> pd.DataFrame | None:
            return decategorize(pd.read_parquet(p)) if p.exists() else None

        level = meta.get("config", {}).get("truth", "full")
        made = {"none": {"stages", "channel_params"},
                "incremental": set(cls.TRUTH_TABLES) - {"shapley"}}.get(level, set(cls.TRUTH_TABLES))
        events = opt(root / "events.parquet")
        truth = Truth(**{n: opt(root / "truth" / f"{n}.parquet") if n in made else None
                         for n in cls.TRUTH_TABLES}, totals=meta["totals"], rules=rules)
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


#: what :meth:`SimulationResult.write` (and the sample cache's manifest) put in a world folder
WORLD_ENTRIES = frozenset({"world.json", "sample.json", "truth", "events", "events.parquet",
                           *(f"{n}.parquet" for n in SimulationResult.TABLES)})


def check_world_target(root: Path) -> None:
    """Raise unless ``root`` is absent, an empty folder, or a folder that only holds a world's files.

    A world is written by replacing the whole folder, so a folder holding
    anything else (a user's files) is refused before anything is simulated
    or written.
    """
    root = Path(root)
    if not root.exists():
        return
    if not root.is_dir():
        raise ParameterError(f"path must be a folder; {root} is a file")
    foreign = sorted(p.name for p in root.iterdir() if p.name not in WORLD_ENTRIES)
    if foreign:
        raise ParameterError(
            f"{root} holds files that are not part of a simulated world ({', '.join(foreign[:5])}"
            f"{', ...' if len(foreign) > 5 else ''}); writing a world there would replace the folder: "
            "write it to a new or empty folder, or to one that holds a world")


def replace_folder(root: Path, fill: Callable[[Path], None]) -> None:
    """Make the folder ``root`` anew: ``fill`` a temporary sibling, then rename it into place.

    A folder already at ``root`` (checked by :func:`check_world_target`) is
    moved aside and removed once the new one is in place; a crash leaves the
    old folder or the new one at ``root`` (between the two renames: neither),
    and temporary siblings named ``.<name>.*.tmp``.
    """
    root = Path(os.path.abspath(root))
    check_world_target(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(root, "tmp")
    old: Path | None = None
    try:
        fill(tmp)
        if root.exists():
            old = _sibling(root, "old.tmp", create=False)
            os.rename(root, old)
        try:
            os.rename(tmp, root)
        except OSError:
            if old is not None:
                os.rename(old, root)
                old = None
            raise
    finally:
        for p in (tmp, old):
            if p is not None and p.exists():
                shutil.rmtree(p, ignore_errors=True)


def _sibling(root: Path, suffix: str, *, create: bool = True) -> Path:
    """A new, unused name ``.<root name>.<random>.<suffix>`` beside ``root`` (created as a folder)."""
    while True:
        p = root.with_name(f".{root.name}.{uuid.uuid4().hex[:12]}.{suffix}")
        if not p.exists():
            if create:
                p.mkdir()  # the user's umask applies (mkdtemp would make it private)
            return p


def _link_or_copy(src: Path, dst: Path) -> None:
    """``dst`` as a hard link to ``src`` (no copy: parquet files are never changed in place), else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _parquet_rows(folder: Path, names: list[str]) -> int:
    """Rows of the parquet files ``names`` in ``folder``, from their footers."""
    return sum(pq.ParquetFile(folder / n).metadata.num_rows for n in names)


def atomic_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` at ``path``, whole or not at all."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
