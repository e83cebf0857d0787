"""Where the public data sets live, from a source checkout or an installed package.

The folder of public data sets (see ``../shared/data/README.md`` in the
project) is looked for, in this order:

1. ``$M360_SHARED_DATA``, when set (and then only there: a variable that
   names a missing folder is an error, not a hint to look elsewhere);
2. ``../shared/data`` beside a source checkout of marketing360 (the
   repository root is recognised by its ``pyproject.toml``);
3. a ``shared/data`` folder in the current directory or one of its parents.

Examples
--------
>>> import os, pathlib, tempfile
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> (root / "hillstrom").mkdir()
>>> _ = (root / "hillstrom" / "hillstrom.csv").write_text("recency\\n1\\n")
>>> saved = os.environ.get("M360_SHARED_DATA")
>>> os.environ["M360_SHARED_DATA"] = str(root)
>>> shared_file("hillstrom", "hillstrom.csv") == root / "hillstrom" / "hillstrom.csv"
True
>>> _ = os.environ.pop("M360_SHARED_DATA") if saved is None else os.environ.update(M360_SHARED_DATA=saved)
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import Marketing360Error

__all__ = ["shared_data_dir", "shared_file", "shared_data_candidates", "SharedDataMissing",
           "SHARED_DATA_ENV"]

#: the environment variable that names the folder of public data sets
SHARED_DATA_ENV = "M360_SHARED_DATA"


class SharedDataMissing(Marketing360Error, FileNotFoundError):
    """A public data file is not on this machine; the message says what to set."""


def _source_checkout() -> Path | None:
    """The repository root when marketing360 runs from a source checkout, else None."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "marketing360" / "__init__.py").is_file():
        return root
    return None


def shared_data_candidates() -> list[Path]:
    """The folders :func:`shared_data_dir` looks at, in order (existing or not).

    ``$M360_SHARED_DATA`` alone when it is set; otherwise ``../shared/data``
    beside a source checkout (if marketing360 runs from one), then
    ``shared/data`` in the current directory and each of its parents.
    """
    env = os.environ.get(SHARED_DATA_ENV)
    if env:
        return [Path(env).expanduser()]
    out: list[Path] = []
    repo = _source_checkout()
    if repo is not None:
        out.append(repo.parent / "shared" / "data")
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        cand = folder / "shared" / "data"
        if cand not in out:
            out.append(cand)
    return out


def shared_data_dir() -> Path:
    """The folder of public data sets: the first of :func:`shared_data_candidates` that exists.

    When none exists the first candidate is returned (so ``.is_dir()`` tells
    whether the data is here); :func:`shared_file` raises a clear error then.
    """
    cands = shared_data_candidates()
    for c in cands:
        if c.is_dir():
            return c
    return cands[0]


def shared_file(*parts: str) -> Path:
    """Path of a file of the public data sets.

    Raises
    ------
    SharedDataMissing
        The file is not in the data folder (or no data folder was found); the
        message names the places searched and ``M360_SHARED_DATA``.
    """
    folder = shared_data_dir()
    path = folder.joinpath(*parts)
    if path.exists():
        return path
    name = "/".join(parts)
    if os.environ.get(SHARED_DATA_ENV):
        where = f"{SHARED_DATA_ENV}={os.environ[SHARED_DATA_ENV]}"
        if not folder.is_dir():
            raise SharedDataMissing(f"{where} names no folder; set {SHARED_DATA_ENV} to the "
                                    f"folder of the public data sets (the one that holds {name})")
        raise SharedDataMissing(f"public data file {name} is not in {folder} ({where}); set "
                                f"{SHARED_DATA_ENV} to the folder that holds it, or pass path=")
    if folder.is_dir():
        raise SharedDataMissing(f"public data file {name} is not in {folder}; set "
                                f"{SHARED_DATA_ENV} to a folder that holds it, or pass path=")
    searched = ", ".join(str(c) for c in shared_data_candidates()[:3])
    raise SharedDataMissing(
        f"public data file {name} not found: no shared data folder (looked in {searched}, ...); "
        f"set {SHARED_DATA_ENV} to the folder of the public data sets, or pass path=")
