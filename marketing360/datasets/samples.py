"""The sample world: simulated on first use with :data:`SAMPLE_PARAMS`, then loaded from a cache.

:func:`load_sample` builds the world the first time it is called on a
machine (about a minute and a half on two cores), writes it to a cache
folder and loads it from there afterwards, so that an installed package
needs no data files. The cache folder is ``$M360_CACHE`` when set, else the
platform's user cache folder (``~/.cache/marketing360`` on Linux,
``~/Library/Caches/marketing360`` on macOS, ``%LOCALAPPDATA%\\marketing360\\Cache``
on Windows); the world goes in a sub-folder named after the simulator
version and a hash of the parameters (:func:`sample_dir`), so a new
simulator or new parameters never read an old world.

The cache is written atomically: the world is written to a temporary
folder beside it and renamed into place once complete, so a crash leaves no
half-written world that a later call would load (only a temporary folder,
removed by a later build).

The world is deterministic: :data:`SAMPLE_CHECKSUM` is the SHA-256 of a
canonical serialisation of its tables (:func:`sample_checksum`: every table
and the truth, rows sorted, floats rounded to 1e-6 (the planted funnel's
sums to 4 significant digits); not the parquet bytes, which vary with
pyarrow versions). A build whose checksum differs warns with
:class:`SampleMismatchWarning`, and a test builds the sample from scratch
and checks it.

Updating the checksum
---------------------
When a change of the simulator changes the sample world on purpose:

1. bump :data:`~marketing360.datasets.simulator.SIMULATOR_VERSION` (old
   caches are then left alone, and rebuilt under a new name);
2. run ``python -m marketing360 sample --checksum`` and paste the checksum
   it prints into :data:`SAMPLE_CHECKSUM`;
3. re-run the notebooks and refresh the README figures that quote the sample.

Examples
--------
>>> w = load_sample()  # doctest: +SKIP
>>> w.config["n_users"], w.channels[:3]  # doctest: +SKIP
(12000, ['display', 'search', 'social'])
>>> sample_dir().name.startswith(f"sample-world-v{SIMULATOR_VERSION}-")
True
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._progress import Progress, show
from ..errors import Marketing360Error, ParameterError
from .result import SimulationResult, atomic_bytes, check_world_target
from .simulator import SIMULATOR_VERSION, simulate

__all__ = ["SAMPLE_PARAMS", "SAMPLE_CHECKSUM", "CACHE_ENV", "SampleMismatchWarning", "cache_dir",
           "sample_dir", "load_sample", "write_sample", "sample_checksum"]

#: the arguments of :func:`~marketing360.datasets.simulate` behind the sample world
SAMPLE_PARAMS: dict[str, Any] = dict(
    n_users=12_000, n_days=90, n_brands=8, n_categories=3, n_geos=10,
    holdout={"video": 0.2, "display": 0.1}, truth="full", freq="W", seed=2026, start="2025-09-01",
)

#: :func:`sample_checksum` of the sample world that ``SAMPLE_PARAMS`` and this simulator make
#: (see "Updating the checksum" above)
SAMPLE_CHECKSUM = "7d43ed54ac147491fd70d333725e6f589468548ad635dce3ec3da258a628115a"

#: the environment variable naming the cache folder
CACHE_ENV = "M360_CACHE"
_MANIFEST = "sample.json"
_STALE_SECONDS = 6 * 3600  # temporary folders of crashed builds older than this are removed


class SampleMismatchWarning(UserWarning):
    """The sample world built here differs from the one whose checksum the package records."""


def cache_dir() -> Path:
    """The cache folder of marketing360: ``$M360_CACHE``, else the platform's user cache folder."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "marketing360" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "marketing360"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "marketing360"


def _params_key(params: dict[str, Any]) -> str:
    blob = json.dumps({"params": params, "simulator_version": SIMULATOR_VERSION}, sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def sample_dir() -> Path:
    """The cache folder of the sample world (which may not exist yet).

    Its name holds the simulator version and a hash of :data:`SAMPLE_PARAMS`
    and of that version: ``sample-world-v<version>-<12 hex digits>``.
    """
    return cache_dir() / f"sample-world-v{SIMULATOR_VERSION}-{_params_key(SAMPLE_PARAMS)[:12]}"


def load_sample(path: str | Path | None = None, *, progress: Progress = "auto") -> SimulationResult:
    """The sample world (events, tables and truth), built on first use and cached.

    Parameters
    ----------
    path : str or Path, optional
        Load a world folder written by :func:`write_sample` (or
        ``python -m marketing360 sample --out DIR``) instead of the cache.
    progress : bool or "auto"
        Say that the world is being built (the first time only, about two minutes) and show a
        progress bar (``"auto"``: in a notebook).

    Returns
    -------
    SimulationResult

    Raises
    ------
    Marketing360Error
        ``path`` holds no world.

    Warns
    -----
    SampleMismatchWarning
        A world just built here differs from :data:`SAMPLE_CHECKSUM` (other
        numerical libraries, or a simulator change without a new checksum).

    Examples
    --------
    >>> w = load_sample()  # doctest: +SKIP
    >>> w.truth.shapley.conversions.sum() == w.truth.totals["incremental_conversions"]  # doctest: +SKIP
    True
    """
    if path is not None:
        root = Path(path)
        if not (root / "world.json").is_file():
            raise Marketing360Error(f"no sample world at {root}; write one with: "
                                    "python -m marketing360 sample --out DIR")
        return SimulationResult.read(root)
    root = sample_dir()
    if not (root / _MANIFEST).is_file():
        if show(progress):
            print(f"building the sample world once (about two minutes); it is cached in {root}", flush=True)
        _build_cache(root, progress=progress)
    return SimulationResult.read(root)


def write_sample(path: str | Path | None = None, *, progress: Progress = "auto") -> Path:
    """Simulate the sample world with :data:`SAMPLE_PARAMS` and write it (parquet) to ``path``.

    Without ``path``, fill the cache (:func:`sample_dir`) if it is empty.
    Returns the folder.
    """
    if path is None:
        root = sample_dir()
        if not (root / _MANIFEST).is_file():
            _build_cache(root, progress=progress)
        return root
    root = Path(path)
    check_world_target(root)  # before two minutes of simulation, not after
    world = simulate(**SAMPLE_PARAMS, progress=progress)
    world.write(root)
    _write_manifest(root, sample_checksum(world))
    return root


def _write_manifest(root: Path, checksum: str) -> None:
    from .. import __version__

    meta = {"params": SAMPLE_PARAMS, "simulator_version": SIMULATOR_VERSION, "checksum": checksum,
            "recorded_checksum": SAMPLE_CHECKSUM, "marketing360": __version__,
            "numpy": np.__version__, "pandas": pd.__version__}
    atomic_bytes(root / _MANIFEST, json.dumps(meta, indent=1, default=str).encode())


def _build_cache(root: Path, *, progress: Progress) -> None:
    """Simulate the sample into a temporary folder beside ``root``, then rename it into place."""
    parent = root.parent
    parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(parent, root.name)
    if root.is_dir() and not (root / _MANIFEST).is_file():  # not a build of ours: checked before simulating
        try:
            root.rmdir()  # an empty folder is no world: build in its place
        except OSError:
            raise Marketing360Error(
                f"the sample cache folder {root} exists but holds no {_MANIFEST}, so it is not a sample "
                f"world this package built (copied by hand, or from another program); remove it to "
                f"rebuild the sample there, or set {CACHE_ENV} to another cache folder") from None
    elif root.exists() and not root.is_dir():
        raise Marketing360Error(f"the sample cache path {root} is a file, not a folder: remove it, or set "
                                f"{CACHE_ENV} to another cache folder")
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".tmp", dir=parent))
    try:
        world = simulate(**SAMPLE_PARAMS, progress=progress)
        checksum = sample_checksum(world)
        world.write(tmp)
        _write_manifest(tmp, checksum)  # last: a folder with a manifest is complete
        try:
            os.rename(tmp, root)
        except OSError:
            if not (root / _MANIFEST).is_file():  # not another process's finished build
                raise
        if checksum != SAMPLE_CHECKSUM:
            warnings.warn(
                f"the sample world built in {root} has checksum {checksum[:16]}..., not the "
                f"recorded {SAMPLE_CHECKSUM[:16]}...: its figures may differ from the documented "
                "ones (other numerical libraries, or a simulator change; see "
                "marketing360.datasets.samples)", SampleMismatchWarning, stacklevel=3)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _remove_stale(parent: Path, name: str) -> None:
    """Remove temporary folders of builds of ``name`` that crashed long ago."""
    now = time.time()
    # ours, and those SimulationResult.write leaves beside ours when killed (".<ours>.<random>.tmp")
    for p in [*parent.glob(f".{name}.*.tmp"), *parent.glob(f"..{name}.*.tmp")]:
        try:
            if now - p.stat().st_mtime > _STALE_SECONDS:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


# ============================================================================ checksum


#: truth tables added after sample checksums were first recorded (a campaign's)
_ADDED_LATER = ("campaign", "campaign_users", "propensities")


def sample_checksum(world: SimulationResult) -> str:
    """SHA-256 of a canonical serialisation of a world's tables and truth.

    Every table (events, users, brands, campaigns, spend, outcomes, ghost
    impressions, assignments) and every truth table (stages, incremental,
    Shapley, by brand, channel parameters, coalitions) plus the totals and
    the stage rules, each with its columns in name order and its rows
    sorted; times as integer microseconds, floats rounded to 1e-6 (the
    planted funnel's to 4 significant digits), strings as UTF-8. It does
    not depend on row order, dtypes (``int32`` or ``int64``, dictionary or
    plain strings) or the parquet writer.

    Examples
    --------
    >>> from marketing360.datasets import simulate
    >>> a = simulate(n_users=100, n_days=7, seed=1, truth="none")
    >>> b = simulate(n_users=100, n_days=7, seed=1, truth="none")
    >>> sample_checksum(a) == sample_checksum(b), len(sample_checksum(a))
    (True, 64)
    """

    if world.events is None:
        raise ParameterError("sample_checksum needs the events in memory (a world simulated "
                             "without out=, or read from a folder with events.parquet)")
    h = hashlib.sha256()
    for name in SimulationResult.TABLES:
        _hash_frame(h, name, getattr(world, name))
    for name in SimulationResult.TRUTH_TABLES:
        if name in _ADDED_LATER and getattr(world.truth, name) is None:
            continue  # absent, they leave the checksums recorded before them as they were
        _hash_frame(h, f"truth.{name}", getattr(world.truth, name), significant=_SIGNIFICANT.get(name))
    totals = {k: round(float(v), 6) for k, v in sorted(world.truth.totals.items())}
    h.update(json.dumps({"totals": totals, "rules": world.truth.rules.to_dict()},
                        sort_keys=True).encode())
    return h.hexdigest()


_NULL = np.iinfo(np.int64).min


#: truth tables whose floats are hashed to this many significant digits, not to 1e-6: the planted funnel's
#: expected counts are sums of float32 probabilities whose last bits depend on the CPU's vector units (numpy's
#: AVX-512 and AVX2 paths differ by 1.5e-10 relative in them; the events and every other table are the same)
_SIGNIFICANT = {"funnel": 4}


def _hash_frame(h: "hashlib._Hash", name: str, df: pd.DataFrame | None, *, significant: int | None = None) -> None:
    h.update(f"\x1e{name}\x1e".encode())
    if df is None:
        h.update(b"<none>")
        return
    cols = sorted(df.columns)
    keys: list[np.ndarray] = []
    payload: list[tuple[str, str, Any]] = []
    for c in cols:
        s = df[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object).where(s.notna(), None)
        if pd.api.types.is_datetime64_any_dtype(s):
            if isinstance(s.dtype, pd.DatetimeTZDtype):
                s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            v = s.to_numpy(dtype="datetime64[us]").astype(np.int64)
            v = np.where(s.isna().to_numpy(), _NULL, v)
            keys.append(v)
            payload.append((c, "t", v))
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s):
            v = s.to_numpy(dtype=np.int64, na_value=_NULL) if s.hasnans else s.to_numpy().astype(np.int64)
            keys.append(v)
            payload.append((c, "i", v))
        elif pd.api.types.is_float_dtype(s):
            x = s.to_numpy(dtype=np.float64)
            if significant is not None:
                x = np.array([float(f"{u:.{significant}g}") for u in x], dtype=np.float64)
            v = np.where(np.isnan(x), _NULL, np.round(np.nan_to_num(x) * 1e6)).astype(np.int64)
            keys.append(v)
            payload.append((c, "f", v))
        else:
            codes, uniques = pd.factorize(s.astype(object), sort=True)  # None -> -1
            keys.append(codes.astype(np.int64))
            payload.append((c, "s", (codes.astype(np.int64), [str(u) for u in uniques])))
    order = np.lexsort(keys[::-1]) if keys and len(df) else np.arange(len(df))
    h.update(f"{len(df)}\x1f{','.join(cols)}".encode())
    for c, kind, v in payload:
        h.update(f"\x1d{c}:{kind}".encode())
        if kind == "s":
            codes, uniques = v
            h.update("\x1f".join(uniques).encode("utf-8") + b"\x1d")
            h.update(np.ascontiguousarray(codes[order], dtype="<i8").tobytes())
        else:
            h.update(np.ascontiguousarray(v[order], dtype="<i8").tobytes())
